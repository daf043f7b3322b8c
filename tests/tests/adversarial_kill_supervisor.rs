//! Adversarial: the program SIGKILLs the supervisor (its parent), then tries
//! to open the secret and an allowed file. Both must fail — the kernel
//! answers ENOSYS once the listener is gone — and the deny filter still
//! holds (`tests/c/adv_paths.c`, mode `kill_sup`).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use support::{assert_no_secret, prog, s, sandboxed_env, Checks, Layout, SecretRule, ALLOWED_READ};

#[test]
fn killing_the_supervisor_cuts_the_program_off() {
    let layout = Layout::new("adv-killsup", SecretRule::Hide);
    let program = prog("adv_paths");
    let out = sandboxed_env(
        layout.policy.as_os_str(),
        layout.dir.path(),
        &[],
        &[s(&program), "kill_sup", s(layout.dir.path())],
        Duration::from_secs(60),
    );
    assert_no_secret(&out, &layout.token);
    let mut c = Checks::new(&out);
    // Positive control: before the kill, the allowed file was served.
    c.eq("before: ok", ALLOWED_READ);
    c.eq("kill_sup", "OK");
    c.eq("reparented", "yes");
    for k in [
        "after.secret",
        "after.ok",
        "after.ok_creat",
        "after.etc_hostname",
        "after.openat2_secret",
        "after.creat_new",
    ] {
        c.eq(k, "ERR:ENOSYS");
    }
    c.eq("after.ptrace_traceme", "EPERM");
    c.eq("after.process_vm_readv", "EPERM");
    if !out.stdout.lines().any(|l| l == "kill_sup_done") {
        c.fail("the program did not finish (no \"kill_sup_done\")".to_owned());
    }
    // fdsup itself died of SIGKILL.
    if out.code != 137 {
        c.fail(format!(
            "fdsup's exit code {} (expected 137: killed)",
            out.code
        ));
    }
    let ok = std::fs::read_to_string(layout.dir.join("allowed/ok.txt")).unwrap_or_default();
    if ok != support::ALLOWED_TEXT {
        c.fail(format!(
            "allowed/ok.txt changed after the supervisor died: {ok:?}"
        ));
    }
    c.finish();
}

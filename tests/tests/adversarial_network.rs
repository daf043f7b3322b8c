//! Adversarial network requests (`tests/c/adv_net.c`): a thread rewrites
//! the `sockaddr` while `connect` is in flight; `sendmsg` and `sendmmsg`
//! name a denied destination among allowed ones; `SCM_RIGHTS` passes a
//! descriptor through an emulated `sendmsg`. Each has its positive control:
//! natively, the racing connect does reach the denied server.

mod network_support;
#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use network_support::*;

fn policy(dir: &std::path::Path, allowed: u16) -> std::path::PathBuf {
    write_policy(
        dir,
        "net.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "network": {{ "rules": [ {{ "connect": "127.0.0.1:{allowed}" }} ] }} }}"#
        ),
    )
}

/// `tests/c/adv_net.c`, compiled once for all the tests of this file (the
/// harness's compile is not safe against itself within one process), and
/// copied where `@default` lets it run (`${TMPDIR}`: exec needs read).
fn adv_net() -> std::path::PathBuf {
    static BIN: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| support::prog("adv_net")).clone()
}

/// `race allowed=N denied=M refused=K other=J` as numbers.
fn counts(stdout: &str) -> Option<[u64; 4]> {
    let line = stdout.lines().find(|l| l.starts_with("race "))?;
    let mut v = [0u64; 4];
    for (i, w) in line.split_whitespace().skip(1).take(4).enumerate() {
        v[i] = w.split_once('=')?.1.parse().ok()?;
    }
    Some(v)
}

#[test]
fn a_racing_thread_cannot_connect_to_a_denied_address() {
    let allowed = tcp_server(b"A", false);
    let denied = tcp_server(b"D", false);
    let dir = TempDir::new("adv-net-race");
    let p = policy(dir.path(), allowed);
    let prog = adv_net();
    let (a, d) = (allowed.to_string(), denied.to_string());
    let args = [prog.to_str().expect("utf-8"), "race", &a, &d, "3000"];
    let mut cmd = fdsup_cmd(
        ["run", "--policy", p.to_str().expect("utf-8"), "--"],
        dir.path(),
    );
    cmd.args(args);
    let out = run_cmd(&mut cmd, Duration::from_secs(120));
    out.expect_code(0);
    let [ok, bad, refused, other] =
        counts(&out.stdout).unwrap_or_else(|| panic!("no counters: {out:?}"));
    assert_eq!(bad, 0, "the denied server was reached: {out:?}");
    assert_eq!(other, 0, "{out:?}");
    assert!(ok > 0, "the allowed server was never reached: {out:?}");
    assert!(refused > 0, "the race never hit the denied port: {out:?}");
    // Positive control: natively the race reaches the denied server.
    let nat = native(dir.path(), &args);
    let [_, nat_bad, _, _] = counts(&nat.stdout).unwrap_or_else(|| panic!("{nat:?}"));
    assert!(
        nat_bad > 0,
        "natively the denied server was never reached: {nat:?}"
    );
}

#[test]
fn sendmsg_and_sendmmsg_to_a_denied_address() {
    let (ok_sock, allowed) = udp_server();
    let (bad_sock, denied) = udp_server();
    let dir = TempDir::new("adv-net-sendmsg");
    let p = policy(dir.path(), allowed);
    let prog = adv_net();
    let prog = prog.to_str().expect("utf-8");
    let (a, d) = (allowed.to_string(), denied.to_string());

    let out = sandboxed(&p, dir.path(), &[prog, "sendmsg", &d]);
    out.expect_code(0);
    assert!(out.stdout.contains("sendmsg EACCES"), "{out:?}");
    let out = sandboxed(&p, dir.path(), &[prog, "sendmsg", &a]);
    assert!(out.stdout.contains("sendmsg ok"), "{out:?}");
    assert_eq!(udp_recv(&ok_sock).as_deref(), Some(&b"hello"[..]));

    // Allowed, denied, allowed: the first is sent and counted (msg_len
    // written back), the call stops at the refusal as the kernel stops at
    // an error; the denied one alone fails with EACCES.
    let out = sandboxed(&p, dir.path(), &[prog, "sendmmsg", &a, &d]);
    out.expect_code(0);
    assert!(out.stdout.contains("sendmmsg 1 len0=5 len1=999"), "{out:?}");
    assert!(out.stdout.contains("sendmmsg-denied EACCES"), "{out:?}");
    assert_eq!(udp_recv(&ok_sock).as_deref(), Some(&b"hello"[..]));
    assert_eq!(
        udp_recv(&ok_sock),
        None,
        "the message after the refusal was sent"
    );
    assert_eq!(udp_recv(&bad_sock), None, "a denied datagram arrived");

    // Positive control: natively all three go.
    let nat = native(dir.path(), &[prog, "sendmmsg", &a, &d]);
    assert!(nat.stdout.contains("sendmmsg 3"), "{nat:?}");
    assert!(udp_recv(&bad_sock).is_some());
}

#[test]
fn scm_rights_pass_through_an_emulated_sendmsg() {
    let dir = TempDir::new("adv-net-rights");
    let p = policy(dir.path(), 1);
    let prog = adv_net();
    let out = sandboxed(&p, dir.path(), &[prog.to_str().expect("utf-8"), "rights"]);
    out.expect_code(0);
    assert!(out.stdout.contains("rights ok"), "{out:?}");
}

/// Numbers the program does not have, where the supervisor has its own
/// descriptors (the listener among them), fail with EBADF: fdsup never
/// sends a descriptor of its own.
#[test]
fn scm_rights_never_pass_the_supervisors_descriptors() {
    let dir = TempDir::new("adv-net-foreign");
    let p = policy(dir.path(), 1);
    let prog = adv_net();
    let out = sandboxed(&p, dir.path(), &[prog.to_str().expect("utf-8"), "foreign"]);
    out.expect_code(0);
    assert!(out.stdout.contains("foreign none"), "{out:?}");
}

/// `SCM_CREDENTIALS` are checked against the program, not against fdsup
/// (who sends them, and may be root): another uid fails with EPERM, as
/// natively for an unprivileged program, whether fdsup is root or not.
#[test]
fn scm_credentials_cannot_claim_another_identity() {
    if !is_root() {
        skip!("needs root (to run fdsup as uid 65534 with setpriv)");
    }
    let dir = TempDir::new("adv-net-creds");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let p = policy(dir.path(), 1);
    let prog = adv_net();
    // The compiled program must be reachable by uid 65534.
    let local = dir.join("adv_net");
    // By a child process, so that no writable descriptor of it is ever in
    // this process for a parallel test's fork to inherit (ETXTBSY).
    let st = std::process::Command::new("cp")
        .arg(&prog)
        .arg(&local)
        .status()
        .expect("cp");
    assert!(st.success());
    let mut cmd = std::process::Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(fdsup())
        .arg("run")
        .args(metadata_flags())
        .arg("--policy")
        .arg(&p)
        .arg("--")
        .arg(&local)
        .arg("creds")
        .current_dir(dir.path());
    let out = run_cmd(&mut cmd, Duration::from_secs(60));
    out.expect_code(0);
    // The program's own pass fdsup's check; the kernel then checks the pid
    // against fdsup, who sends, and an unprivileged fdsup may not send
    // another process's pid, so fdsup names its own (the peer learns
    // fdsup's pid: a documented limit). Until stop 20: EPERM.
    assert!(out.stdout.contains("creds own ok"), "{out:?}");
    assert!(out.stdout.contains("creds other EPERM"), "{out:?}");
    // Also under fdsup as root, for a root program claiming uid 1: refused
    // by fdsup where the kernel would allow a program with CAP_SETUID (the
    // documented, stricter answer).
    let out = sandboxed(&p, dir.path(), &[local.to_str().expect("utf-8"), "creds"]);
    assert!(out.stdout.contains("creds own ok"), "{out:?}");
    assert!(out.stdout.contains("creds other EPERM"), "{out:?}");
    // Positive control: natively as 65534, the same.
    let mut nat = std::process::Command::new("setpriv");
    nat.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&local)
        .arg("creds");
    let nat = run_cmd(&mut nat, Duration::from_secs(60));
    assert!(nat.stdout.contains("creds other EPERM"), "{nat:?}");
}

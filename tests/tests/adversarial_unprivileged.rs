//! Adversarial, unprivileged: a representative subset of the tricks with
//! fdsup itself run as uid/gid 65534 (`setpriv`), the scratch tree open to
//! everyone, so that only the sandbox — not file permissions — stands
//! between the program and the secret: a symlink to the secret, the
//! supervisor's /proc, and the deny filter's ptrace / process_vm_readv /
//! pidfd_getfd (all of which that user could use on its own processes).

#[path = "adversarial_support.rs"]
mod support;

use fdsup_tests::{is_root, skip};
use support::{
    assert_no_secret, prog, s, sandboxed_as_nobody, Checks, Layout, SecretRule, ALLOWED_READ,
};

/// Why the unprivileged tests cannot run here, if they cannot.
fn unavailable() -> Option<&'static str> {
    fdsup_tests::require("setpriv");
    if !is_root() {
        Some("not root: cannot run fdsup as uid 65534")
    } else {
        None
    }
}

#[test]
fn symlink_to_the_secret_is_refused_unprivileged() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let layout = Layout::new("adv-unpriv-link", SecretRule::Hide);
    layout.open_to_everyone();
    let program = prog("adv_paths");
    let out = sandboxed_as_nobody(
        &layout.policy,
        layout.dir.path(),
        &[s(&program), "static", s(layout.dir.path())],
    );
    assert_no_secret(&out, &layout.token);
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    c.eq("direct", "ERR:ENOENT");
    c.eq("make_symlink", "OK");
    for k in [
        "link_abs",
        "link_rel",
        "link_chain",
        "mylink",
        "dotdot1",
        "proc_self_root",
    ] {
        c.eq(k, "ERR:ENOENT");
    }
    // Positive controls.
    for k in ["ok", "link_ok", "mylink_ok", "dotdot_ok"] {
        c.eq(k, ALLOWED_READ);
    }
    c.finish();
}

#[test]
fn the_supervisors_proc_is_hidden_unprivileged() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let layout = Layout::new("adv-unpriv-sup", SecretRule::Hide);
    layout.open_to_everyone();
    let program = prog("adv_paths");
    let out = sandboxed_as_nobody(
        &layout.policy,
        layout.dir.path(),
        &[s(&program), "static", s(layout.dir.path())],
    );
    assert_no_secret(&out, &layout.token);
    let mut c = Checks::new(&out);
    for k in [
        "sup_environ",
        "sup_cmdline",
        "sup_status",
        "sup_mem",
        "sup_root_secret",
        "sup_via_self_dotdot",
        "init_environ",
    ] {
        c.eq(k, "ERR:ENOENT");
    }
    c.eq("sup_fd_n", "ENOENT");
    c.eq("sup_thread_scan", "ENOENT");
    c.starts("own_status", "READ:Name:");
    c.finish();
}

#[test]
fn the_deny_filter_holds_unprivileged() {
    if let Some(why) = unavailable() {
        skip!("{why}");
    }
    let layout = Layout::new("adv-unpriv-deny", SecretRule::Hide);
    layout.open_to_everyone();
    let program = prog("adv_deny_filter");
    let ok = layout.dir.join("allowed/ok.txt");
    let secret = layout.dir.join("secret");
    let out = sandboxed_as_nobody(
        &layout.policy,
        layout.dir.path(),
        &[s(&program), "all", s(&ok), s(&secret)],
    );
    assert_no_secret(&out, &layout.token);
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    c.eq("listener_inherited", "no");
    // Each of these works natively on one's own (same-uid) processes.
    for k in [
        "ptrace_traceme",
        "ptrace_attach_parent",
        "ptrace_attach_child",
        "ptrace_seize_child",
        "process_vm_readv_self",
        "process_vm_readv_parent",
        "process_vm_readv_child",
        "pidfd_getfd_self",
        "pidfd_getfd_parent",
        "unshare_newuser",
        "clone_newuser",
        "io_uring_setup",
        "userfaultfd",
        "ioctl_tiocsti",
    ] {
        c.eq(k, "EPERM");
    }
    c.eq("clone3_plain", "ENOSYS");
    for k in [
        "open_allowed",
        "fork",
        "pthread_create",
        "unshare_files",
        "socketpair_unix",
    ] {
        c.eq(k, "OK");
    }
    c.finish();
}

//! Adversarial: the always-enforced deny filter (SPEC.md "What is always
//! enforced"), tried by a C program from inside the sandbox
//! (`tests/c/adv_deny_filter.c`), with positive controls in the same run;
//! and the program's own Landlock (`tests/c/adv_landlock.c`), which fdsup
//! cannot honour and so refuses with ENOSYS.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::skip;
use fdsup_tests::TempDir;
use support::{assert_no_secret, prog, s, sandboxed_env, token, Checks};

/// The syscalls that must fail with EPERM, by the program's line names.
const EPERM: &[&str] = &[
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    "ptrace_traceme",
    "ptrace_attach_parent",
    "ptrace_seize_parent",
    "ptrace_attach_child",
    "ptrace_seize_child",
    "process_vm_readv_self",
    "process_vm_readv_parent",
    "process_vm_readv_child",
    "process_vm_writev_self",
    "process_vm_writev_parent",
    "pidfd_getfd_self",
    "pidfd_getfd_parent",
    "name_to_handle_at",
    "open_by_handle_at",
    "unshare_newuser",
    "unshare_newns",
    "unshare_newnet",
    "unshare_newpid",
    "unshare_newuts",
    "unshare_newipc",
    "unshare_newcgroup",
    "unshare_newtime",
    "unshare_newuser_newns",
    "clone_newuser",
    "clone_newns",
    "clone_newnet",
    "clone_newpid",
    "mount",
    "umount2",
    "chroot",
    "pivot_root",
    "setns",
    "open_tree",
    "move_mount",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "mount_setattr",
    "bpf",
    "userfaultfd",
    "kexec_load",
    "kexec_file_load",
    "init_module",
    "finit_module",
    "delete_module",
    "ioctl_tiocsti",
    "ioctl_tioclinux",
    "ioctl_tiocsti_high_bits",
    "ioctl_tioclinux_high_bits",
    "ioctl_fifreeze",
    "ioctl_fithaw",
    "ioctl_fs_shutdown",
    "ioctl_fs_setfslabel",
    "ioctl_fs_enable_verity",
    "ioctl_fs_set_encryption_policy",
    "ioctl_fifreeze_high_bits",
];

/// What the program is allowed to do, in the same run: a sandbox that
/// refused everything would fail these.
const OK: &[&str] = &[
    "open_allowed",
    "pidfd_open_self",
    "unshare_files",
    "unshare_fs",
    "clone_plain",
    "fork",
    "pthread_create",
    "ioctl_fionread",
    "socket_unix",
    "socketpair_unix",
];

/// Non-AF_UNIX sockets under a policy with no network at all (a `deny`
/// default, no rule, no `isolate`).
const EACCES: &[&str] = &[
    "socket_inet",
    "socket_inet_dgram",
    "socket_inet6",
    "socket_packet",
    "socket_netlink_audit",
    "socket_inet_high_bits",
    "socketpair_inet",
];

struct Scratch {
    dir: TempDir,
    token: String,
}

fn scratch() -> Scratch {
    let dir = TempDir::new("adv-deny");
    let token = token("SECRET");
    dir.write("allowed.txt", "allowed\n");
    dir.write("secret", format!("{token}\n"));
    Scratch { dir, token }
}

fn run(sc: &Scratch, args: &[&str]) -> fdsup_tests::Output {
    run_program(sc, "adv_deny_filter", args)
}

/// Runs `tests/c/NAME.c` with `args` under the policy of [`run`].
fn run_program(sc: &Scratch, name: &str, args: &[&str]) -> fdsup_tests::Output {
    let program = prog(name);
    let mut cmd = vec![s(&program)];
    cmd.extend_from_slice(args);
    let p = fdsup_tests::write_policy(
        sc.dir.path(),
        "no-network.json",
        r#"{ "version": 1, "include": ["@system"],
  "filesystem": { "rules": [ { "path": "${CWD}", "access": "rw" },
    { "path": "${TMPDIR}", "access": "rw" } ] },
  "network": { "default": "deny" } }"#,
    );
    sandboxed_env(
        p.as_os_str(),
        sc.dir.path(),
        &[],
        &cmd,
        Duration::from_secs(60),
    )
}

#[test]
fn forbidden_syscalls_fail_and_ordinary_ones_work() {
    let sc = scratch();
    let allowed = sc.dir.join("allowed.txt");
    let secret = sc.dir.join("secret");
    let out = run(&sc, &["all", s(&allowed), s(&secret)]);
    assert_no_secret(&out, &sc.token);
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    c.eq("listener_inherited", "no");
    c.all(EPERM, "EPERM");
    c.all(&["clone3_plain", "clone3_newuser"], "ENOSYS");
    c.all(OK, "OK");
    c.all(EACCES, "EACCES");
    // The request number of TIOCSTI is what is refused, not ioctl as such:
    // on /dev/null an ordinary terminal ioctl gets the kernel's ENOTTY.
    c.eq("ioctl_tcgets_devnull", "ENOTTY");
    if c.get("open_by_handle_at_read").is_some() {
        c.fail("open_by_handle_at read the secret's inode".to_owned());
    }
    if !out.stdout.lines().any(|l| l == "done") {
        c.fail("the program did not finish (no \"done\")".to_owned());
    }
    c.finish();
}

/// Runs a mode that must get the program killed by SIGSYS: fdsup exits with
/// 128 + 31, the program printed "before" (it ran) and nothing after.
fn assert_killed(sc: &Scratch, args: &[&str]) {
    let out = run(sc, args);
    assert_no_secret(&out, &sc.token);
    assert!(
        out.stdout.lines().any(|l| l == "before"),
        "positive control: the program did not start ({args:?})\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        !out.stdout.contains("survived"),
        "{args:?}: the foreign-ABI system call returned instead of killing the process\nstdout:\n{}",
        out.stdout
    );
    assert_eq!(
        out.code, 159,
        "{args:?}: expected the program killed by SIGSYS (159)\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
}

#[test]
fn x32_syscall_kills_the_process() {
    assert_killed(&scratch(), &["x32"]);
}

#[test]
fn x32_open_of_the_secret_kills_the_process() {
    let sc = scratch();
    let secret = sc.dir.join("secret");
    assert_killed(&sc, &["x32_open", s(&secret)]);
}

#[test]
fn i386_int80_syscall_kills_the_process() {
    assert_killed(&scratch(), &["int80"]);
}

#[test]
fn i386_int80_open_of_the_secret_kills_the_process() {
    let sc = scratch();
    let secret = sc.dir.join("secret");
    assert_killed(&sc, &["int80_open", s(&secret)]);
}

/// A program that confines its own reads with Landlock, natively and in the
/// sandbox. fdsup's workers open files for the program without its Landlock
/// domain, so a domain the kernel took would be ignored for every mediated
/// open (the program believing itself confined). Natively the program
/// restricts reading to `inside/` and `outside.txt` fails with EACCES (the
/// control that the check is meaningful); in the sandbox, whose policy lets
/// it read both, every `landlock_*` call fails with ENOSYS, as on a kernel
/// without Landlock: the program knows it is not confined.
#[test]
fn own_landlock_is_refused_not_silently_ignored() {
    let sc = scratch();
    let inside_dir = sc.dir.join("inside");
    std::fs::create_dir_all(&inside_dir).expect("create inside/");
    let inside = sc.dir.write("inside/in.txt", "in\n");
    let outside = sc.dir.write("outside.txt", "out\n");
    let program = prog("adv_landlock");
    let cmd = [s(&program), s(&inside_dir), s(&inside), s(&outside)];

    let native = fdsup_tests::native(sc.dir.path(), &cmd);
    let abi = support::parse(&native.stdout).get("abi").cloned();
    if abi.as_deref().is_none_or(|a| a.parse::<u32>().is_err()) {
        skip!("the kernel offers no Landlock natively (abi={abi:?})");
    }
    let mut c = Checks::new(&native);
    c.all(&["add_rule_badfd", "restrict_self_badfd"], "EBADF");
    c.all(
        &[
            "no_new_privs",
            "create_ruleset",
            "add_rule",
            "restrict_self",
            "open_inside",
            "seccomp_own_filter",
        ],
        "OK",
    );
    c.eq("confined", "yes");
    // The positive control: confined natively, the outside file is refused.
    c.eq("open_outside", "EACCES");
    c.finish();

    let out = run_program(&sc, "adv_landlock", &cmd[1..]);
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    c.all(
        &[
            "abi",
            "add_rule_badfd",
            "restrict_self_badfd",
            "create_ruleset",
        ],
        "ENOSYS",
    );
    c.eq("confined", "no");
    // Never a domain the kernel took and fdsup then ignored.
    if c.get("restrict_self") == Some("OK") && c.get("open_outside") == Some("OK") {
        c.fail("the program's own Landlock domain was accepted and ignored".to_owned());
    }
    // Controls: the policy allows both files, and the program's own
    // seccomp filter and ordinary calls still work.
    c.all(
        &[
            "open_inside",
            "open_outside",
            "seccomp_own_filter",
            "getpid",
        ],
        "OK",
    );
    if !out.stdout.lines().any(|l| l == "done") {
        c.fail("the program did not finish (no \"done\")".to_owned());
    }
    c.finish();
}

//! Adversarial: one-shot path tricks against a hidden or denied secret —
//! symlinks, `..`, the working directory, /proc magic links, reopening an
//! `O_PATH` descriptor for writing, the supervisor's and init's /proc — each
//! with a positive control reaching an allowed file the same way
//! (`tests/c/adv_paths.c`, mode `static`), from the program itself and from
//! an orphaned grandchild.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::Output;
use support::{
    assert_no_secret, prog, s, sandboxed_env, Checks, Layout, SecretRule, ALLOWED_READ, RO_TEXT,
};

/// The groups of lines `static` prints.
#[derive(Debug, Clone, Copy)]
enum Group {
    Direct,
    Symlinks,
    DotDot,
    WorkingDir,
    ProcMagic,
    RoReopen,
    Supervisor,
}

fn run(rule: SecretRule, mode: &str, tag: &str) -> (Layout, Output) {
    let layout = Layout::new(tag, rule);
    let program = prog("adv_paths");
    let out = sandboxed_env(
        layout.policy.as_os_str(),
        layout.dir.path(),
        &[],
        &[s(&program), mode, s(layout.dir.path())],
        Duration::from_secs(60),
    );
    assert_no_secret(&out, &layout.token);
    (layout, out)
}

/// Holds the lines of `group` (prefixed `pfx`) to what they must be.
fn check(c: &mut Checks<'_>, group: Group, pfx: &str, rule: SecretRule) {
    let k = |name: &str| format!("{pfx}{name}");
    let refused = |c: &mut Checks<'_>, names: &[&str]| {
        for n in names {
            c.eq(&k(n), rule.refused());
        }
    };
    let allowed = |c: &mut Checks<'_>, names: &[&str]| {
        for n in names {
            c.eq(&k(n), ALLOWED_READ);
        }
    };
    match group {
        Group::Direct => {
            refused(c, &["direct"]);
            c.eq(&k("direct_opath"), rule.errno());
            allowed(c, &["ok"]);
        }
        Group::Symlinks => {
            c.eq(&k("make_symlink"), "OK");
            refused(c, &["link_abs", "link_rel", "link_chain", "mylink"]);
            allowed(c, &["link_ok", "mylink_ok"]);
        }
        Group::DotDot => {
            c.eq(&k("allowed_dirfd"), "OK");
            refused(
                c,
                &[
                    "dotdot1",
                    "dotdot2",
                    "dotdot3",
                    "dotdot4",
                    "openat_dotdot",
                    "openat_sub_dotdot",
                    "openat2_abs",
                    "openat2_link_abs",
                ],
            );
            // RESOLVE_BENEATH refuses the escape itself, as the kernel does.
            c.eq(&k("openat2_beneath"), "ERR:EXDEV");
            allowed(c, &["dotdot_ok", "openat_ok", "openat2_ok"]);
        }
        Group::WorkingDir => {
            c.eq(&k("fchdir_allowed"), "OK");
            c.eq(&k("chdir_secret_dir"), "OK");
            refused(
                c,
                &[
                    "fchdir_dotdot",
                    "fchdir_proc_cwd_dotdot",
                    "chdir_rel",
                    "chdir_dot_rel",
                    "chdir_openat_cwd",
                    "proc_self_cwd",
                    "proc_thread_self_cwd",
                    "proc_pid_cwd",
                ],
            );
            allowed(
                c,
                &[
                    "fchdir_ok",
                    "fchdir_proc_cwd_ok",
                    "chdir_rel_ok",
                    "proc_self_cwd_ok",
                ],
            );
        }
        Group::ProcMagic => {
            refused(
                c,
                &[
                    "proc_self_root",
                    "proc_thread_self_root",
                    "proc_pid_root",
                    "proc_pid_task_root",
                    "proc_root_root",
                    "procfd_dotdot",
                    "procpidfd_dotdot",
                    "procthreadfd_dotdot",
                    "procfd_link_abs",
                    "opath_dirfd_dotdot",
                    "procfd_rd_dotdot",
                    "procpidfd_rd_dotdot",
                    "procfd_rd_link_abs",
                ],
            );
            // The secret's directory is under the default (deny): whether an
            // O_PATH of it is refused or not, nothing through it may reach
            // the secret.
            for n in [
                "secret_dir_openat",
                "secret_dir_procfd",
                "secret_dir_procpidfd",
            ] {
                c.not_read(&k(n));
            }
            // Positive controls: O_PATH of allowed objects, and reaching the
            // allowed file through the same magic links.
            c.eq(&k("allowed_dir_opath"), "OK");
            c.eq(&k("ok_opath"), "OK");
            allowed(
                c,
                &[
                    "proc_self_root_ok",
                    "procfd_rd_ok",
                    "procfd_ok",
                    "ok_opath_reopen",
                ],
            );
        }
        Group::RoReopen => {
            c.eq(&k("ro_opath"), "OK");
            c.eq(&k("ro_open_rdonly"), "OK");
            for n in [
                "ro_reopen_rdwr",
                "ro_reopen_wronly",
                "ro_reopen_trunc",
                "ro_reopen_append",
                "ro_reopen_pid_rdwr",
                "ro_rdfd_reopen_rdwr",
                "ro_rdfd_reopen_wronly",
                "ro_rdfd_reopen_trunc",
                "ro_rdfd_reopen_append",
                "ro_rdfd_reopen_thread_rdwr",
            ] {
                c.eq(&k(n), "ERR:EACCES");
            }
            let ro_read = format!("READ:{}", RO_TEXT.replace('\n', "|"));
            c.eq(&k("ro_reopen_rdonly"), &ro_read);
            c.eq(&k("ro_rdfd_reopen_rdonly"), &ro_read);
            c.eq(&k("ro_write_via_rdonly_fd"), "EBADF");
        }
        Group::Supervisor => {
            for n in [
                "sup_environ",
                "sup_cmdline",
                "sup_status",
                "sup_mem",
                "sup_root_secret",
                "sup_task_environ",
                "sup_via_self_dotdot",
                "init_environ",
                "init_root_secret",
            ] {
                c.eq(&k(n), "ERR:ENOENT");
            }
            c.eq(&k("sup_fd_dir"), "ENOENT");
            c.eq(&k("sup_fd_n"), "ENOENT");
            // Positive control: the program's own /proc is readable.
            c.starts(&k("own_status"), "READ:Name:");
            c.starts(&k("own_pid_status"), "READ:Name:");
        }
    }
}

fn static_run(rule: SecretRule, groups: &[Group]) {
    let (layout, out) = run(rule, "static", "adv-paths");
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    if !out.stdout.lines().any(|l| l == "static_done") {
        c.fail("the program did not finish (no \"static_done\")".to_owned());
    }
    for g in groups {
        check(&mut c, *g, "", rule);
    }
    let ro = std::fs::read_to_string(layout.dir.join("ro/file.txt")).unwrap_or_default();
    if ro != RO_TEXT {
        c.fail(format!("ro/file.txt changed: {ro:?}"));
    }
    c.finish();
}

#[test]
fn direct_opens_of_the_secret_are_refused_hide() {
    static_run(SecretRule::Hide, &[Group::Direct]);
}

#[test]
fn direct_opens_of_the_secret_are_refused_deny() {
    static_run(SecretRule::Deny, &[Group::Direct]);
}

#[test]
fn symlinks_to_the_secret_are_refused_hide() {
    static_run(SecretRule::Hide, &[Group::Symlinks]);
}

#[test]
fn symlinks_to_the_secret_are_refused_deny() {
    static_run(SecretRule::Deny, &[Group::Symlinks]);
}

#[test]
fn dotdot_traversal_to_the_secret_is_refused_hide() {
    static_run(SecretRule::Hide, &[Group::DotDot]);
}

#[test]
fn dotdot_traversal_to_the_secret_is_refused_deny() {
    static_run(SecretRule::Deny, &[Group::DotDot]);
}

#[test]
fn relative_opens_from_the_secrets_directory_are_refused_hide() {
    static_run(SecretRule::Hide, &[Group::WorkingDir]);
}

#[test]
fn relative_opens_from_the_secrets_directory_are_refused_deny() {
    static_run(SecretRule::Deny, &[Group::WorkingDir]);
}

#[test]
fn proc_magic_links_to_the_secret_are_refused_hide() {
    static_run(SecretRule::Hide, &[Group::ProcMagic]);
}

#[test]
fn proc_magic_links_to_the_secret_are_refused_deny() {
    static_run(SecretRule::Deny, &[Group::ProcMagic]);
}

#[test]
fn reopening_an_opath_of_a_ro_file_for_writing_is_refused() {
    static_run(SecretRule::Hide, &[Group::RoReopen]);
}

#[test]
fn the_supervisors_and_inits_proc_are_hidden() {
    let (_layout, out) = run(SecretRule::Hide, "static", "adv-paths-sup");
    let mut c = Checks::new(&out);
    check(&mut c, Group::Supervisor, "", SecretRule::Hide);
    // fdsup's threads are reachable as /proc/<tid> though not listed.
    c.eq("sup_thread_scan", "ENOENT");
    c.finish();
}

/// Not a security property: `openat2(dirfd, "/../../secret", RESOLVE_IN_ROOT)`
/// resolves inside `dirfd` (`DIR/allowed/secret`, which does not exist), so
/// the kernel answers ENOENT; fdsup must give the same answer.
#[test]
fn openat2_resolve_in_root_with_an_absolute_path_gives_the_kernels_answer() {
    let (_layout, out) = run(SecretRule::Hide, "static", "adv-paths-inroot");
    let mut c = Checks::new(&out);
    c.eq("openat2_in_root", "ERR:ENOENT");
    c.finish();
}

#[test]
fn an_orphaned_grandchild_is_refused_the_same_tricks() {
    let rule = SecretRule::Hide;
    let (layout, out) = run(rule, "grandchild", "adv-paths-gc");
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    c.eq("gc.ppid_is_sup", "yes");
    for l in ["gc.static_done", "grandchild_done"] {
        if !out.stdout.lines().any(|x| x == l) {
            c.fail(format!("line {l:?} missing"));
        }
    }
    for g in [
        Group::Direct,
        Group::Symlinks,
        Group::DotDot,
        Group::WorkingDir,
        Group::ProcMagic,
        Group::RoReopen,
        Group::Supervisor,
    ] {
        check(&mut c, g, "gc.", rule);
    }
    let ro = std::fs::read_to_string(layout.dir.join("ro/file.txt")).unwrap_or_default();
    if ro != RO_TEXT {
        c.fail(format!("ro/file.txt changed: {ro:?}"));
    }
    c.finish();
}

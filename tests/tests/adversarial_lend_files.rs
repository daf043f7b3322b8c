//! Adversarial: a root fdsup must not lend its credentials to a program
//! that gave them up (`tests/c/adv_lend_files.c`).
//!
//! fdsup opens, creates, renames and looks at files for the program, so
//! the kernel checks fdsup's permissions, not the program's. Under a root
//! fdsup, a program that dropped to uid 65534 (`setpriv --reuid`, a build
//! step run as `nobody`), or dropped its file capabilities while staying
//! root (`capset`; `setpriv --bounding-set`, which takes effect at the next
//! exec), read a 0600 file of another user, wrote, renamed and removed
//! files in a directory it may not write, changed their modes, owners and
//! times, and made files owned by root. Each call is made natively first
//! (the program drops its privileges itself, then tries), where the kernel
//! refuses it, then under fdsup with a policy that allows everything, where
//! the answer must be the same; the positive controls (a readable file, a
//! world-writable directory, whose new file must belong to the program's
//! uid; and a parent that stayed root, asking after its child dropped,
//! which must be served as root again) must pass on both sides.

#[path = "lend_tree.rs"]
mod lend_tree;
#[path = "adversarial_support.rs"]
mod support;

use std::path::Path;
use std::time::Duration;

use fdsup_tests::{is_root, run_cmd, skip, Output, TempDir, ALLOW_ALL};
use support::{parse, prog, Checks};

fn run(how: &str, sandboxed: bool) -> Output {
    run_with(how, sandboxed, ALLOW_ALL)
}

/// Allows everything, and decides each exec (where no policy decides
/// exec, a root fdsup traps it for the credentials alone).
const EXEC_DECIDED: &str = r#"{ "version": 1, "include": ["@allow-all"],
  "exec": { "default": "allow", "rules": [ { "path": "/usr/bin/sudo", "access": "deny" } ] } }"#;

fn run_with(how: &str, sandboxed: bool, policy: &str) -> Output {
    let dir = TempDir::new(&format!("adv-lend-{how}"));
    lend_tree::tree(dir.path());
    let program = prog("adv_lend_files");
    let out = if sandboxed {
        let policy = fdsup_tests::write_policy(dir.path(), "all.json", policy);
        let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
        c.arg(&policy)
            .arg("--")
            .arg(&program)
            .arg(how)
            .arg(dir.path());
        run_cmd(&mut c, Duration::from_secs(30))
    } else {
        let mut c = std::process::Command::new(&program);
        c.arg(how).arg(dir.path());
        run_cmd(&mut c, Duration::from_secs(30))
    };
    // Nothing the program was refused happened on disk.
    let file = std::fs::read_to_string(dir.join("q/file")).unwrap_or_default();
    assert_eq!(
        file,
        "theirs\n",
        "q/file was changed ({how}, {})",
        if sandboxed { "fdsup" } else { "native" }
    );
    out
}

const REFUSED: &[(&str, &str)] = &[
    ("read_secret", "ERR:EACCES"),
    ("stat_secret", "ERR:EACCES"),
    ("write_file", "ERR:EACCES"),
    ("create_in_q", "ERR:EACCES"),
    ("mkdir_in_q", "ERR:EACCES"),
    ("unlink_in_q", "ERR:EACCES"),
    ("rename_in_q", "ERR:EACCES"),
    ("chmod_file", "ERR:EPERM"),
    ("chown_file", "ERR:EPERM"),
    ("utimes_file", "ERR:EPERM"),
    ("fifo_write", "ERR:EACCES"),
    ("bind_in_q", "ERR:EACCES"),
];

fn check(how: &str, owner: &str) {
    check_with(how, owner, ALLOW_ALL);
}

fn check_with(how: &str, owner: &str, policy: &str) {
    let native = run(how, false);
    let mut n = Checks::new(&native);
    for (k, v) in REFUSED {
        n.eq(k, v);
    }
    n.eq("read_public", "OK")
        .eq("create_in_w", "OK")
        .eq("owner", owner)
        .eq("done", "1");
    // What a Unix peer learns (`SO_PEERCRED`, `SCM_CREDENTIALS`) is the
    // program's ids: a root fdsup connected and sent for a program that
    // had dropped to `nobody` as uid 0.
    // The program's `RLIMIT_FSIZE` holds for a `truncate` fdsup makes.
    n.eq("truncate_fsize", "ERR:EFBIG").eq("sigxfsz", "1");
    // (`exec` keeps a real uid of 0.)
    match how {
        "uid" | "name" | "self" => {
            n.eq("unix_peercred", "65534:65534")
                .eq("unix_scm", "65534:65534");
        }
        "exec" | "thread_exec" => {
            n.eq("unix_peercred", "65534:65534")
                .eq("unix_scm", "0:65534");
        }
        _ => {
            n.eq("unix_peercred", "0:0").eq("unix_scm", "0:0");
        }
    }
    if how == "self" || how == "exec" || how == "thread_exec" {
        n.eq("before_read_secret", "OK");
    }
    if how == "uid" {
        // The parent, still root, after its child dropped.
        n.eq("parent_read_secret", "OK")
            .eq("parent_create_in_q", "OK")
            .eq("parent_owner", "0")
            .eq("parent_unix_peercred", "0:0")
            .eq("parent_unix_scm", "0:0")
            .eq("parent_done", "1");
    }
    n.finish();

    let under = run_with(how, true, policy);
    // Line for line what the kernel said, spelled out above.
    same_as_native(&native, &under);
}

/// Every line the native run printed, the same under fdsup.
fn same_as_native(native: &Output, under: &Output) {
    let mut c = Checks::new(under);
    for (k, v) in parse(&native.stdout) {
        c.eq(&k, &v);
    }
    c.finish();
}

#[test]
fn a_program_that_dropped_to_nobody_gets_nothing_of_root_back() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("uid", "65534");
}

/// The credentials are read from `/proc/<tid>/status`, whose first line
/// is the task's name, the program's to choose: the kernel escapes a
/// newline in it but no other byte, so the text need not be UTF-8. A
/// status fdsup could not understand was once served with fdsup's own
/// credentials.
#[test]
fn a_name_that_is_not_utf8_lends_nothing() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("name", "65534");
}

/// fdsup remembers a task's credentials between its requests; a task that
/// asked as root and then dropped is answered as what it became.
#[test]
fn a_task_that_drops_after_asking_is_answered_as_what_it_became() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("self", "65534");
}

/// An exec changes credentials with no call fdsup traps as one (the
/// file-system uid becomes the effective one, a non-root task's
/// capabilities are dropped): what was learnt before it no longer holds.
#[test]
fn what_was_learnt_of_a_task_is_forgotten_at_its_exec() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("exec", "65534");
}

/// fdsup must look into a program that dropped its uid (its memory, its
/// `/proc/<tid>/fd`, its working directory), which the kernel then makes
/// non-dumpable, so it holds `CAP_SYS_PTRACE` for that: held for a whole
/// request, it was lent to the program, which read the `cwd`, `exe` and
/// `root` links of a root process's `/proc/<pid>`. The controls: the
/// program's own `/proc/self`, and the requests fdsup must look into it to
/// serve.
#[test]
fn a_program_that_dropped_cannot_look_into_roots_proc_through_fdsup() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    let native = run("proc", false);
    let mut n = Checks::new(&native);
    for k in [
        "parent_cwd",
        "parent_exe",
        "parent_root",
        "parent_fd/0",
        "parent_environ",
    ] {
        n.eq(k, "ERR:EACCES");
    }
    n.eq("parent_cwd_dir", "ERR:EACCES");
    // fdsup's own act for the program: the kernel's signal for its send.
    n.eq("send_closed", "ERR:EPIPE").eq("sigpipes", "1");
    // A non-dumpable task's `/proc` files are root's, and `environ` is 0400.
    n.eq("self_environ", "ERR:EACCES");
    // Searches are the program's: of its working directory (`stat(".")`
    // was answered), of a rename's source directory (its parent's `fd`,
    // whose descriptors were told apart by ENOENT; one on another mount
    // than the target was EXDEV).
    n.eq("stat_unsearchable_cwd", "ERR:EACCES")
        .eq("rename_parent_fd", "ERR:EACCES")
        .eq("rename_parent_nofd", "ERR:EACCES")
        .eq("rename_unsearchable", "ERR:EACCES");
    // Its `map_files` is guarded as its `fd` directory; a link by its
    // `/proc/self/fd` name needs no capability (it was made with
    // `AT_EMPTY_PATH`, which does).
    n.eq("self_map_files", "OK").eq("link_self_fd", "OK");
    // Reopening an `O_PATH` descriptor is decided on the reopener's
    // credentials.
    n.eq("self_fd_secret", "ERR:EACCES")
        .eq("self_fdinfo", "OK")
        .eq("self_fd_list", "OK")
        .eq("self_fd_entries", "many");
    for k in [
        "self_exe",
        "self_cwd",
        "self_maps",
        "self_fd_reopen",
        "own_task_cwd",
        "openat_dirfd",
        "fstatat_dirfd",
        "chdir_q",
        "open_relative",
    ] {
        n.eq(k, "OK");
    }
    n.eq("done", "1");
    n.finish();
    let under = run("proc", true);
    same_as_native(&native, &under);
}

/// The same where the policy decides each exec: the exec request itself
/// is served with the task's credentials (to decide on the file), and
/// what was learnt for it must not outlive the exec. It did: a task that
/// had dropped its effective and file-system uids with its capabilities
/// kept read another user's file and wrote a root-owned one after an exec
/// that cleared them (under `@default` too, which decides exec).
#[test]
fn what_was_learnt_to_decide_an_exec_is_forgotten_after_it() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check_with("exec", "65534", EXEC_DECIDED);
}

/// A second thread's exec makes it its process's leader, with the
/// leader's thread id and pidfd, while the old leader may still ask, with
/// the credentials from before the exec, until the exec ends it: what was
/// learnt of that id then was kept for the new program (4 of 6 runs read
/// the root-only file). A race: each policy is tried six times.
#[test]
fn a_second_threads_exec_leaves_nothing_learnt_of_the_leader() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    for _ in 0..6 {
        check_with("thread_exec", "65534", ALLOW_ALL);
        check_with("thread_exec", "65534", EXEC_DECIDED);
    }
}

/// A Unix peer learns the effective ids of the task that connects and the
/// real ids of the one that sends: fdsup's worker makes both calls, and
/// takes the program's effective ids for them (never its real ones: a
/// thread of another real uid could be signalled by any process of that
/// uid, which would kill fdsup) and names its real ids in the send, in
/// every piece of a stream send it makes in pieces.
#[test]
fn a_unix_peer_learns_the_programs_effective_and_real_ids() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    let native = run("split", false);
    let mut n = Checks::new(&native);
    n.eq("split_peercred", "65534:65534")
        .eq("split_scm", "1000:1000")
        .eq("split_stream_sent", "10485760")
        .eq("split_stream_got", "10485760")
        .eq("split_stream_cred0", "1000:1000")
        .eq("done", "1");
    n.finish();
    let under = run("split", true);
    same_as_native(&native, &under);
    // Line for line: no piece of the stream send named other ids (the
    // worker's real ones, uid 0, on what fdsup sent after its first
    // 4 MiB).
    assert_eq!(
        parse(&under.stdout),
        parse(&native.stdout),
        "{}",
        under.stderr
    );
}

#[test]
fn a_root_program_without_its_file_capabilities_gets_them_not_back() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("caps", "0");
}

#[test]
fn capabilities_dropped_from_the_bounding_set_stay_dropped_after_exec() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    check("bound", "0");
}

/// A `private` directory (`@system`'s `/dev/shm`) is one for every user
/// the program becomes, as the machine's is (mode 1777): made at the first
/// request with the credentials of whoever asked, root's (mode 0700)
/// refused a program that dropped to `nobody` its POSIX shared memory, and
/// one made by `nobody` first refused everyone else. The sticky bit holds
/// as natively: `nobody` may not remove root's file.
#[test]
fn a_private_dev_shm_serves_every_user_the_program_becomes() {
    if !is_root() {
        skip!("not root: nothing changes users");
    }
    if !Path::new("/usr/bin/setpriv").exists() {
        skip!("no setpriv");
    }
    let dir = TempDir::new("adv-lend-shm");
    let as_user = |uid: u32, cmd: &str| {
        format!("setpriv --reuid={uid} --regid={uid} --clear-groups -- sh -c '{cmd}'")
    };
    let script = format!(
        "echo root > /dev/shm/r && {} && {} && cat /dev/shm/r /dev/shm/n /dev/shm/t",
        as_user(
            65534,
            "echo nobody > /dev/shm/n && cat /dev/shm/n && rm -f /dev/shm/r; echo rm=$?"
        ),
        as_user(1000, "echo other > /dev/shm/t && cat /dev/shm/t"),
    );
    let mut c = fdsup_tests::fdsup_cmd(["run", "--"], dir.path());
    c.args(["sh", "-c", &script]);
    let out = run_cmd(&mut c, Duration::from_secs(30));
    assert_eq!(
        out.stdout, "nobody\nrm=1\nother\nroot\nnobody\nother\n",
        "stderr: {}",
        out.stderr
    );
    assert_eq!(out.code, 0, "stderr: {}", out.stderr);
}

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
    let dir = TempDir::new(&format!("adv-lend-{how}"));
    lend_tree::tree(dir.path());
    let program = prog("adv_lend_files");
    let out = if sandboxed {
        let policy = fdsup_tests::write_policy(dir.path(), "all.json", ALLOW_ALL);
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
    let native = run(how, false);
    let mut n = Checks::new(&native);
    for (k, v) in REFUSED {
        n.eq(k, v);
    }
    n.eq("read_public", "OK")
        .eq("create_in_w", "OK")
        .eq("owner", owner)
        .eq("done", "1");
    if how == "self" || how == "exec" {
        n.eq("before_read_secret", "OK");
    }
    if how == "uid" {
        // The parent, still root, after its child dropped.
        n.eq("parent_read_secret", "OK")
            .eq("parent_create_in_q", "OK")
            .eq("parent_owner", "0")
            .eq("parent_done", "1");
    }
    n.finish();

    let under = run(how, true);
    let mut c = Checks::new(&under);
    // Line for line what the kernel said, spelled out above.
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

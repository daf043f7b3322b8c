//! Adversarial: a root fdsup must not lend its real and effective ids to a
//! program that dropped them (`tests/c/adv_lend_fuse.c`).
//!
//! A FUSE file system mounted by root without `allow_other` lets in only
//! the tasks whose real, effective and saved uids and gids are all root's
//! (the kernel's `fuse_allow_current_process`), whatever the files' modes:
//! the file-system ids alone, which fdsup's worker takes from the program,
//! are not asked. Measured before: under a root fdsup, a program that had
//! dropped to uid 65534 read and stat'ed a file of such a mount, which the
//! kernel refuses it natively (EACCES). The controls: the same program as
//! root before its child dropped, and after, reads the file on both sides.

#[path = "adversarial_support.rs"]
mod support;

use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::PermissionsExt as _;
use std::process::{Command, Stdio};
use std::time::Duration;

use fdsup_tests::{is_root, run_cmd, skip, Output, TempDir, ALLOW_ALL};
use support::{parse, prog, Checks};

/// The FUSE server, mounted at `mnt` until dropped.
struct Fuse(std::process::Child);

impl Fuse {
    fn mount(mnt: &std::path::Path) -> Option<Self> {
        let mut child = Command::new(fdsup_tests::c_program("fuse_serve"))
            .arg(mnt)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .ok()?;
        let mut line = String::new();
        let out = child.stdout.take()?;
        let _ = BufReader::new(out).read_line(&mut line);
        if line.trim() != "ready" {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        Some(Self(child))
    }
}

impl Drop for Fuse {
    fn drop(&mut self) {
        // Its standard input closed: it unmounts and exits.
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

fn run(mnt: &std::path::Path, dir: &std::path::Path, sandboxed: bool) -> Output {
    let program = prog("adv_lend_fuse");
    if sandboxed {
        let policy = fdsup_tests::write_policy(dir, "all.json", ALLOW_ALL);
        let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir);
        c.arg(&policy).arg("--").arg(&program).arg(mnt);
        run_cmd(&mut c, Duration::from_secs(30))
    } else {
        let mut c = Command::new(&program);
        c.arg(mnt);
        run_cmd(&mut c, Duration::from_secs(30))
    }
}

#[test]
fn a_program_that_dropped_to_nobody_cannot_enter_roots_private_fuse_mount() {
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    let dir = TempDir::new("adv-lend-fuse");
    // Searchable by all: natively only the FUSE check refuses.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mnt = dir.join("mnt");
    std::fs::create_dir(&mnt).expect("mkdir mnt");
    let Some(fuse) = Fuse::mount(&mnt) else {
        skip!("no FUSE mount here (/dev/fuse, mount)");
    };

    let native = run(&mnt, dir.path(), false);
    let mut n = Checks::new(&native);
    n.eq("before", "OK")
        .eq("nobody_read", "ERR:EACCES")
        .eq("nobody_stat", "ERR:EACCES")
        .eq("nobody_send", "OK")
        .eq("nobody_read_after_send", "ERR:EACCES")
        .eq("root_after", "OK")
        .eq("done", "1");
    n.finish();

    let under = run(&mnt, dir.path(), true);
    let mut c = Checks::new(&under);
    for (k, v) in parse(&native.stdout) {
        c.eq(&k, &v);
    }
    c.finish();
    drop(fuse);
}

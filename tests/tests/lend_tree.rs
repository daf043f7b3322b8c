//! The tree `tests/c/adv_lend_files.c` tries, shared by
//! `adversarial_lend_files` and the agent's test of the same.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;

/// The tree the program tries (see the C file), owned by uid 1000.
pub fn tree(dir: &Path) {
    let mode = |p: &Path, m: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).expect("chmod");
    };
    let theirs = |p: &Path| chown(p, Some(1000), Some(1000)).expect("chown");
    mode(dir, 0o755);
    for (d, m) in [("p", 0o700), ("q", 0o755), ("w", 0o777)] {
        let p = dir.join(d);
        std::fs::create_dir(&p).expect("mkdir");
        mode(&p, m);
        if d != "w" {
            theirs(&p);
        }
    }
    for (f, m) in [("p/secret", 0o600), ("q/file", 0o644)] {
        let p = dir.join(f);
        std::fs::write(&p, "theirs\n").expect("write");
        mode(&p, m);
        theirs(&p);
    }
    let fifo = dir.join("q/fifo");
    let made = std::process::Command::new("mkfifo")
        .args(["-m", "600"])
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    assert!(made, "mkfifo {}", fifo.display());
    theirs(&fifo);
}

//! `fs.protected_symlinks` under fdsup, as natively. With the sysctl on,
//! the kernel follows a symbolic link in a sticky, world-writable directory
//! as the path's last component only for the link's owner, or where the
//! link belongs to the directory's owner; root is refused too
//! (`may_follow_link`), so a link another user plants in `/tmp` cannot lead
//! a program elsewhere. A link met on the way (`/tmp/link/file`) is
//! followed. fdsup's careful walk opens one component at a time, so every
//! link it met was the last of a one-step open, and the kernel refused the
//! links on the way too: `touch tmp/link/new` failed under fdsup and not
//! natively. Both halves are checked against a native run: the planted
//! links refused as the last component (`cat`, `stat -L`, `ls link/`, an
//! append), and followed on the way (a create, a read, a `stat`).
//!
//! The test turns the sysctl on for its length (it is global, and often 1
//! already: systemd's default) and puts back what it found; a file of its
//! own, so that no other test of this binary runs meanwhile.

use std::os::unix::fs::{symlink, PermissionsExt};

use fdsup_tests::{fdsup_run, native, skip, TempDir};

/// Puts the sysctl back as it was.
struct Sysctl(String);

impl Drop for Sysctl {
    fn drop(&mut self) {
        let _ = std::fs::write("/proc/sys/fs/protected_symlinks", &self.0);
    }
}

#[test]
fn planted_links_in_a_sticky_directory_are_followed_only_on_the_way() {
    if !rustix::process::geteuid().is_root() {
        skip!("needs root: to set fs.protected_symlinks and make a link of another user");
    }
    let was = std::fs::read_to_string("/proc/sys/fs/protected_symlinks").expect("read sysctl");
    std::fs::write("/proc/sys/fs/protected_symlinks", "1").expect("set sysctl");
    let _back = Sysctl(was);

    let dir = TempDir::new("adv-protsym");
    let p = dir.path();
    let sticky = p.join("tmp");
    std::fs::create_dir(&sticky).expect("mkdir");
    std::fs::set_permissions(&sticky, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    std::fs::write(p.join("target.txt"), "TARGET\n").expect("write");
    // Another user's link (65534), and the directory owner's (root's).
    symlink(p.join("target.txt"), sticky.join("planted")).expect("symlink");
    std::os::unix::fs::lchown(sticky.join("planted"), Some(65534), Some(65534)).expect("lchown");
    symlink(p.join("target.txt"), sticky.join("own")).expect("symlink");
    // Another user's link to a directory, met on the way.
    std::fs::create_dir(p.join("d")).expect("mkdir");
    symlink(p.join("d"), sticky.join("dl")).expect("symlink");
    std::os::unix::fs::lchown(sticky.join("dl"), Some(65534), Some(65534)).expect("lchown");

    let script = "stat -L -c %s tmp/planted 2>/dev/null || echo stat-refused; \
                  cat tmp/planted 2>/dev/null || echo cat-refused; \
                  (echo x >> tmp/planted) 2>/dev/null || echo append-refused; \
                  ls tmp/dl/ >/dev/null 2>&1 || echo ls-refused; \
                  touch tmp/dl/new && echo touch-ok; \
                  echo y > tmp/dl/new2 && echo create-ok; \
                  cat tmp/dl/new2; stat -c %n tmp/dl/.; cat tmp/own";
    let nat = native(p, &["/bin/sh", "-c", script]);
    let want = "stat-refused\ncat-refused\nappend-refused\nls-refused\ntouch-ok\ncreate-ok\ny\ntmp/dl/.\nTARGET\n";
    assert_eq!(nat.stdout, want, "native: {nat:?}");
    for f in ["new", "new2"] {
        std::fs::remove_file(p.join("d").join(f)).expect("clean up the native run's files");
    }
    // `@default` (the scratch directory is the working directory, rw):
    // every link is followed by fdsup's walk, which decides each step.
    let sbx = fdsup_run(["run", "--", "/bin/sh", "-c", script], p);
    assert_eq!(sbx.stdout, want, "under fdsup: {sbx:?}");
}

//! The program's umask at a create, applied by the kernel.
//!
//! The kernel takes a new file's umask off its mode only where the
//! directory has no default ACL (`vfs_prepare_mode`; with one, the ACL
//! decides, `posix_acl_create`), and looks at that ACL during the create
//! itself. fdsup applied the program's umask by hand until now, reading
//! the directory's ACL first (`getxattr`): one system call more per create,
//! a window in which the program could add or remove the ACL and get
//! another mode than natively, and a wrong mode on a file system that
//! stores the attribute without enforcing ACLs. Now a thread that creates
//! for a program takes the program's umask as its own ([`take`]) and passes
//! the mode as the program asked, so the kernel does what it does natively,
//! at the same moment, in every create: `open`'s `O_CREAT` and `O_TMPFILE`,
//! `mkdir`, `mknod`, and a Unix socket's `bind` (whose `unix_bind` takes the
//! umask off even under a default ACL, as it does natively).
//!
//! A umask belongs to the `fs_struct` that a process's threads share, so the
//! thread first takes one of its own (`unshare(CLONE_FS)`, once per thread:
//! a copy of the process's root, working directory and umask). fdsup's
//! other threads keep theirs, 0 since start-up (`supervise`), and the files
//! fdsup writes for the user are made 0600 whatever it is
//! (`crate::files`). A worker's umask changes only when the next program's
//! differs from the last it took, so a run whose processes keep one umask
//! pays the `umask` call once per worker.

use std::cell::Cell;
use std::io;

use crate::sys;

thread_local! {
    /// The calling thread's umask, where it has an `fs_struct` of its own;
    /// `None` until it took one.
    static OWN: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Makes `mask` (a program's umask; its permission bits count) the calling
/// thread's own, for the create that follows. Fails only where the thread
/// cannot take an `fs_struct` of its own (`ENOMEM`): nothing changed then.
pub fn take(mask: u32) -> io::Result<()> {
    let mask = mask & 0o777;
    match OWN.get() {
        Some(m) if m == mask => return Ok(()),
        Some(_) => {}
        None => sys::unshare_fs()?,
    }
    rustix::process::umask(rustix::fs::Mode::from_bits_truncate(mask));
    OWN.set(Some(mask));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A thread's umask is its own once taken: another thread's creates
    /// keep the process's.
    #[test]
    fn a_taken_umask_is_the_threads_alone() {
        let dir = std::env::temp_dir().join(format!("fdsup-umask-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mode_of = |name: &str| {
            std::fs::metadata(dir.join(name))
                .unwrap()
                .permissions()
                .mode()
                & 0o777
        };
        let d = dir.clone();
        std::thread::spawn(move || {
            take(0o077).unwrap();
            std::fs::write(d.join("mine"), b"").unwrap();
            take(0o077).unwrap();
            take(0o027).unwrap();
            std::fs::write(d.join("mine2"), b"").unwrap();
        })
        .join()
        .unwrap();
        assert_eq!(mode_of("mine"), 0o600);
        assert_eq!(mode_of("mine2"), 0o640);
        // This thread never took one: the process's umask, untouched.
        // Read, not set (the test's other threads share it).
        let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
        let process = u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap();
        std::fs::write(dir.join("theirs"), b"").unwrap();
        assert_eq!(mode_of("theirs"), 0o666 & !process);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

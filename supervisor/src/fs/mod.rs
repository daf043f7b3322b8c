//! Resolving and opening on the program's behalf.
//!
//! Two ways to the object a request names, both ending in "decide on the
//! canonical path, then open exactly that object":
//! - [`lexical`]: when the path has no `..` and no `/proc/self`, its
//!   normalised text *is* the canonical path of what an open with
//!   `RESOLVE_NO_SYMLINKS` reaches; the decision is made on the text before
//!   anything is opened, and the open then either reaches that very path or
//!   fails with `ELOOP` (a symbolic link on the way) and falls back to
//! - [`walk`]: component by component on descriptors, symbolic links and the
//!   program's `/proc` handled explicitly.
//!
//! Either way the program's path is read once, and the supervisor alone
//! resolves it: a racing thread or a swapped link changes nothing that has
//! already been decided.

pub mod lexical;
pub mod public;
pub mod walk;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::{self, OpenHow};
use crate::task::ProcPath;

/// Whether the supervisor runs as root, whom the kernel lets search any
/// directory: then a lexical path need not keep a component only there to be
/// searched (`.` as the working directory), since nothing could refuse it.
pub fn searches_anything() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(sys::euid_is_root)
}

/// An `O_PATH` descriptor of `/`, kept for the life of the supervisor.
///
/// The program's root is the supervisor's: the shim starts it in our root
/// and mount namespace, and `chroot`, `pivot_root`, `setns`, `unshare` and
/// `clone` of new mount namespaces are refused by the deny filter, so the
/// program can never change either; `/proc/<tid>/root` would only cost a
/// syscall per request to say the same.
pub fn open_root() -> io::Result<OwnedFd> {
    sys::openat(
        libc::AT_FDCWD,
        c"/",
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
}

/// Opens the object behind our descriptor `fd` anew, with `flags`
/// (`open("/proc/self/fd/N")`: a new open file description of the same
/// inode; how `O_PATH` descriptors are turned into real ones).
pub fn reopen(fd: BorrowedFd<'_>, flags: u64) -> io::Result<OwnedFd> {
    let p = ProcPath::with_prefix("/proc/self/fd/", fd.as_raw_fd(), "");
    let how = OpenHow {
        flags,
        mode: 0,
        resolve: 0,
    };
    sys::openat2(libc::AT_FDCWD, p.as_cstr(), &how)
}

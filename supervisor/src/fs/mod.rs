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
pub mod sticky;
pub mod umask;
pub mod walk;

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Arc;

use crate::sys::{self, OpenHow};
use crate::task::ProcPath;

/// Where one request's absolute paths start: the root of the task that
/// asked.
///
/// Under `fdsup run` that is fdsup's own root ([`Root::Own`], see
/// [`open_root`]): an absolute path is opened as it is, as fast as today.
/// A container's task has a root of its own ([`Root::Task`]:
/// `/proc/<tid>/root`, opened for the request before its `ID_VALID`
/// check, see [`open_task_root`]): absolute paths are opened beneath it
/// with `RESOLVE_IN_ROOT`, so `/etc/passwd` is the container's and no
/// symbolic link or `..` of the container leads out of it. The canonical
/// paths read back from descriptors (`/proc/self/fd/N`) are then the
/// container's too: the kernel writes a path from the root of the mount
/// namespace the object is in when ours does not reach it, and a task's
/// root is checked to be its namespace's root. [`Root::Nowhere`] stands
/// for a root that could not be had: everything fails with `EACCES`.
#[derive(Debug, Clone)]
pub enum Root<'a> {
    /// fdsup's own `/`.
    Own(BorrowedFd<'a>),
    /// The asking task's root.
    Task(Arc<OwnedFd>),
    /// None: every request fails closed.
    Nowhere,
}

impl Root<'_> {
    /// The root directory, if there is one.
    pub fn fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Root::Own(fd) => Some(*fd),
            Root::Task(fd) => Some(fd.as_fd()),
            Root::Nowhere => None,
        }
    }

    /// Where to open an absolute path that is canonical in this root, and
    /// the resolve flag that keeps the open beneath it: `(AT_FDCWD, 0)` for
    /// fdsup's own root, `(root, RESOLVE_IN_ROOT)` for a task's.
    pub fn at(&self) -> Result<(RawFd, u64), i32> {
        match self {
            Root::Own(_) => Ok((libc::AT_FDCWD, 0)),
            Root::Task(fd) => Ok((fd.as_raw_fd(), sys::RESOLVE_IN_ROOT)),
            Root::Nowhere => Err(libc::EACCES),
        }
    }

    /// `openat2` of `path` (absolute, in this root) with `how`.
    pub fn open(&self, path: &std::ffi::CStr, how: &OpenHow) -> io::Result<OwnedFd> {
        let (dir, resolve) = self.at().map_err(io::Error::from_raw_os_error)?;
        let how = OpenHow {
            resolve: how.resolve | resolve,
            ..*how
        };
        sys::openat2(dir, path, &how)
    }

    /// [`Root::open`] of a path the policy names as a target (a
    /// `redirect`'s), with no symbolic link followed on the way (`ELOOP`).
    /// The target is a path as the policy has it (`fdsup run` resolved its
    /// links when the policy was loaded; an agent's is matched as written,
    /// in the container): a link found there now was made since, by
    /// someone who may write where the target is, the program among them,
    /// and would send the rule to a file the policy hides or keeps
    /// read-only. Measured before: with a target in the working directory,
    /// a program replaced it by a link to `/etc/shadow` and read that
    /// through the redirected name (under `fdsup run`), or a container by
    /// one of its image's links (under the agent).
    pub fn open_target(&self, path: &std::ffi::CStr, how: &OpenHow) -> io::Result<OwnedFd> {
        let how = OpenHow {
            resolve: how.resolve | sys::RESOLVE_NO_SYMLINKS,
            ..*how
        };
        self.open(path, &how)
    }
}

/// The root directory of task `tid` (`/proc/<tid>/root`, through its
/// `/proc` entry in `procs`). The caller checks `ID_VALID` afterwards, as
/// for anything learnt through the task's number. Refused (`EXDEV`) unless
/// it is the root of the task's mount namespace: the paths the kernel
/// writes for the task's objects are then paths in that root (the agent's
/// profile refuses `chroot`, `pivot_root` and new mount namespaces, so a
/// container's program cannot make it otherwise).
pub fn open_task_root(tid: i32, procs: &mut crate::task::ProcDirs) -> io::Result<OwnedFd> {
    let fd = procs.with(tid, |dir| {
        sys::openat(
            dir,
            c"root",
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )
    })?;
    let mut path = Vec::with_capacity(64);
    crate::task::fd_path(fd.as_fd(), &mut path)?;
    if path != b"/" {
        return Err(io::Error::from_raw_os_error(libc::EXDEV));
    }
    Ok(fd)
}

/// Whether the calling thread searches any directory: the supervisor runs
/// as root, and the thread carries its credentials. Then a lexical path
/// need not keep a component only there to be searched (`.` as the working
/// directory), nor the walk check a directory it looks up in, since nothing
/// could refuse it. A worker that carries a program's credentials
/// ([`crate::creds`]) searches as the program: those checks are made (left
/// out, a dropped program had `stat(".")` of an unsearchable working
/// directory answered, and the names in an unsearchable directory told
/// apart by a rename's errno).
pub fn searches_anything() -> bool {
    static ROOT: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ROOT.get_or_init(sys::euid_is_root) && !crate::creds::switched()
}

/// Whether `fd`, whose path the kernel wrote as `path` (`/proc/self/fd/N`),
/// is an unlinked object (a deleted file or directory, an `O_TMPFILE` file,
/// a memfd): the kernel marks those with " (deleted)" after the name they
/// had, which decides nothing. A name may end so on its own (a file named
/// `x (deleted)`), and a file deleted under one name may still be linked
/// under another: only an object linked nowhere is unlinked. Costs a
/// `fstat` only for a path that ends with the mark.
pub fn unlinked(fd: BorrowedFd<'_>, path: &[u8]) -> bool {
    path.ends_with(DELETED) && sys::fstat_nlink(fd) == Some(0)
}

/// The kernel's mark after the path of an unlinked object.
pub const DELETED: &[u8] = b" (deleted)";

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

//! The kernel's protection of `O_CREAT` in sticky directories
//! (`may_create_in_sticky`, fs/namei.c), for the opens fdsup carries out
//! without `O_CREAT`.
//!
//! An `O_CREAT` open that finds an object already there, in a directory
//! with the sticky bit (`/tmp`), is refused with `EACCES` when the object
//! belongs neither to the directory's owner nor to the opener and the
//! directory is writable by others (or, for `fs.protected_regular=2` and
//! `fs.protected_fifos=2`, by its group). Regular files and FIFOs are
//! checked only as those two sysctls say; every other object (a socket, a
//! device) always is. It keeps a program from being tricked into writing a
//! file another user planted where it meant to create its own.
//!
//! When fdsup opens the object with the program's `O_CREAT`, the kernel
//! makes this check itself, with the worker's file-system uid, which is the
//! program's (`crate::creds`). When the path went through a
//! symbolic link, the careful walk finds the object first and opens it
//! without `O_CREAT`, and the kernel's check never runs: [`refuses`] makes
//! it with the program's uid. Found by the differential fuzzer: a `creat`
//! through a link to another user's socket in a world-writable sticky
//! directory answered `ENXIO` (the socket's open) where the kernel answers
//! `EACCES`.
//!
//! The same file holds the kernel's other rule about sticky directories,
//! `fs.protected_symlinks` (`may_follow_link`): a symbolic link in a sticky,
//! world-writable directory is followed, as the path's last component, only
//! by its owner or where it belongs to the directory's owner (root too is
//! refused); a link met on the way (`/tmp/link/file`) is always followed.
//! The careful walk opens one component at a time, so each link it met was
//! the last of that one-step open: the kernel refused the links on the way
//! as well (`touch /tmp/link/new` failed under fdsup and not natively). The
//! walk now takes that refusal as the link it is, follows it itself, and
//! makes the check ([`refuses_follow`], with the worker's file-system uid)
//! only where the link is the path's last component. It costs a `stat` of
//! the name only where an open was refused, and for the last link followed
//! an `fstat` of its directory (an `lstat` of the link in a sticky,
//! world-writable one); nothing when the sysctl is 0.
//!
//! The sysctls are read once, at their first use: a change while fdsup
//! runs is not seen.

use std::os::fd::{AsFd, BorrowedFd};
use std::sync::OnceLock;

use super::Root;
use crate::sys::{self, OpenHow};

/// `fs.protected_regular` and `fs.protected_fifos` (0 when unreadable, the
/// kernel's own default).
fn protected() -> (u32, u32) {
    static SYSCTLS: OnceLock<(u32, u32)> = OnceLock::new();
    *SYSCTLS.get_or_init(|| {
        let read = |name: &str| {
            std::fs::read_to_string(format!("/proc/sys/fs/{name}"))
                .ok()
                .and_then(|s| s.trim().parse().ok())
                .unwrap_or(0)
        };
        (read("protected_regular"), read("protected_fifos"))
    })
}

/// The kernel's rule, on the modes and owners: `dir` is the directory the
/// object was found in, `obj` the object, `fsuid` the opener's, and
/// `sysctls` `(protected_regular, protected_fifos)`.
pub fn rule(
    dir: (u32, u32),
    obj: (u32, u32),
    fsuid: impl FnOnce() -> Option<u32>,
    sysctls: (u32, u32),
) -> bool {
    let ((dir_mode, dir_uid), (mode, uid)) = (dir, obj);
    let (regular, fifos) = sysctls;
    let kind = mode & libc::S_IFMT;
    if dir_mode & libc::S_ISVTX == 0
        || (kind == libc::S_IFREG && regular == 0)
        || (kind == libc::S_IFIFO && fifos == 0)
        || uid == dir_uid
    {
        return false;
    }
    // An opener whose uid cannot be read is taken as the owner: this check
    // only ever refuses what the policy already allows.
    if fsuid().is_none_or(|me| me == uid) {
        return false;
    }
    if dir_mode & 0o002 != 0 {
        return true;
    }
    dir_mode & 0o020 != 0
        && ((fifos >= 2 && kind == libc::S_IFIFO) || (regular >= 2 && kind == libc::S_IFREG))
}

/// Whether the kernel would refuse an `O_CREAT` open of `obj`, found at
/// the canonical `path` (in `root`), by the program. Its file-system uid is
/// the calling worker's: the worker carries the program's credentials
/// where they are not fdsup's (`crate::creds`).
pub fn refuses(root: &Root<'_>, path: &[u8], obj: BorrowedFd<'_>) -> bool {
    let Ok(obj) = sys::fstat_mode_uid(obj) else {
        return false;
    };
    if obj.0 & libc::S_IFMT == libc::S_IFDIR {
        return false;
    }
    let Some(cut) = path.iter().rposition(|&c| c == b'/') else {
        return false;
    };
    let mut parent = Vec::with_capacity(cut + 2);
    parent.extend_from_slice(if cut == 0 { b"/" } else { &path[..cut] });
    parent.push(0);
    let Ok(parent) = std::ffi::CStr::from_bytes_with_nul(&parent) else {
        return false;
    };
    let how = OpenHow {
        flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
        mode: 0,
        resolve: sys::RESOLVE_NO_SYMLINKS,
    };
    let Ok(dir) = root.open(parent, &how) else {
        return false;
    };
    let Ok(dir) = sys::fstat_mode_uid(dir.as_fd()) else {
        return false;
    };
    rule(dir, obj, || sys::thread_fs_id(false), protected())
}

/// `fs.protected_symlinks` is on (not when unreadable: the kernel's own
/// default is 0).
fn symlinks_protected() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/fs/protected_symlinks")
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
            .is_some_and(|v| v != 0)
    })
}

/// The kernel's `may_follow_link`, on the modes and owners: `dir` is the
/// directory the link is in (mode, owner), `link` the link's owner,
/// `fsuid` the follower's. Refused: a sticky, world-writable directory,
/// and a link of neither the follower nor the directory's owner.
pub fn follow_rule(dir: (u32, u32), link: u32, fsuid: impl FnOnce() -> Option<u32>) -> bool {
    let (dir_mode, dir_uid) = dir;
    let sticky_world = libc::S_ISVTX | 0o002;
    if dir_mode & sticky_world != sticky_world || link == dir_uid {
        return false;
    }
    // A follower whose uid cannot be read is taken as the owner: this check
    // only ever refuses what the policy already allows.
    fsuid().is_some_and(|me| me != link)
}

/// Whether the kernel would refuse to follow the symbolic link `name` in
/// the directory `dir` (`fs.protected_symlinks`), for the program: its
/// file-system uid is the calling worker's (`crate::creds`).
pub fn refuses_follow(dir: BorrowedFd<'_>, name: &std::ffi::CStr) -> bool {
    if !symlinks_protected() {
        return false;
    }
    let Ok(d) = sys::fstat_mode_uid(dir) else {
        return false;
    };
    let sticky_world = libc::S_ISVTX | 0o002;
    if d.0 & sticky_world != sticky_world {
        return false;
    }
    let Ok(link) = rustix::fs::statat(dir, name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW) else {
        return false;
    };
    follow_rule(d, link.st_uid, || sys::thread_fs_id(false))
}

#[cfg(test)]
mod tests {
    use super::{follow_rule, rule};

    #[test]
    fn a_link_of_another_user_in_a_world_writable_sticky_directory_is_not_followed() {
        let sticky = libc::S_IFDIR | 0o1777;
        // Another's link, root's directory: refused, root included.
        assert!(follow_rule((sticky, 0), 65534, || Some(0)));
        assert!(follow_rule((sticky, 0), 65534, || Some(1000)));
        // The follower's own, or the directory owner's: followed.
        assert!(!follow_rule((sticky, 0), 65534, || Some(65534)));
        assert!(!follow_rule((sticky, 1000), 1000, || Some(0)));
        // Not sticky, or not writable by others: followed.
        assert!(!follow_rule((libc::S_IFDIR | 0o777, 0), 65534, || Some(0)));
        assert!(!follow_rule((libc::S_IFDIR | 0o1775, 0), 65534, || Some(0)));
        // An unreadable fsuid refuses nothing.
        assert!(!follow_rule((sticky, 0), 65534, || None));
    }

    const STICKY_777: u32 = libc::S_IFDIR | 0o1777;
    const SOCK: u32 = libc::S_IFSOCK | 0o755;
    const REG: u32 = libc::S_IFREG | 0o644;
    const FIFO: u32 = libc::S_IFIFO | 0o644;

    #[test]
    fn another_user_s_socket_in_a_world_writable_sticky_directory_is_refused() {
        // Whatever the sysctls: they speak of regular files and FIFOs only.
        assert!(rule((STICKY_777, 0), (SOCK, 3), || Some(0), (0, 0)));
        assert!(rule((STICKY_777, 0), (SOCK, 3), || Some(1000), (2, 2)));
    }

    #[test]
    fn the_owner_of_the_object_or_of_the_directory_passes() {
        assert!(!rule((STICKY_777, 0), (SOCK, 3), || Some(3), (0, 0)));
        assert!(!rule((STICKY_777, 3), (SOCK, 3), || Some(0), (0, 0)));
        assert!(!rule((STICKY_777, 0), (SOCK, 3), || None, (0, 0)));
    }

    #[test]
    fn without_the_sticky_bit_nothing_is_refused() {
        let dir = libc::S_IFDIR | 0o777;
        assert!(!rule((dir, 0), (SOCK, 3), || Some(0), (2, 2)));
    }

    #[test]
    fn regular_files_and_fifos_follow_their_sysctls() {
        assert!(!rule((STICKY_777, 0), (REG, 3), || Some(0), (0, 2)));
        assert!(rule((STICKY_777, 0), (REG, 3), || Some(0), (1, 0)));
        assert!(!rule((STICKY_777, 0), (FIFO, 3), || Some(0), (2, 0)));
        assert!(rule((STICKY_777, 0), (FIFO, 3), || Some(0), (0, 1)));
    }

    #[test]
    fn a_group_writable_sticky_directory_refuses_only_at_level_two() {
        let dir = libc::S_IFDIR | 0o1770;
        assert!(!rule((dir, 0), (REG, 3), || Some(5), (1, 1)));
        assert!(rule((dir, 0), (REG, 3), || Some(5), (2, 0)));
        assert!(rule((dir, 0), (FIFO, 3), || Some(5), (0, 2)));
        // Other objects: only a world-writable directory.
        assert!(!rule((dir, 0), (SOCK, 3), || Some(5), (2, 2)));
    }
}

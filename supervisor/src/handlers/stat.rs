//! Looking without changing: the `stat` family, `readlink`, `statfs`,
//! `getxattr`/`listxattr`, carried out by the supervisor on the object the
//! path resolves to; the result is written into the program's own buffer.
//!
//! A hidden path answers ENOENT and a denied one EACCES, as for opens; a
//! path served by a `content` rule looks like its memfd and one served by a
//! `redirect` like its target, so that a program sees the same file whether
//! it opens or stats it.
//!
//! `fstat` in glibc is `newfstatat(fd, "", AT_EMPTY_PATH)`: the filter cannot
//! tell that empty path from another, so it comes here too, and is answered
//! from the program's own descriptor with no decision (it holds the object).

use std::ffi::CString;
use std::os::fd::AsFd;

use super::path::{decide_obj, done, os_errno, read_string, resolve, write_out, Need, Obj};
use super::{Ctx, Reply, Scratch};
use crate::fs::walk::Scope;
use crate::limits::{XATTR_NAME_BYTES, XATTR_VALUE_BYTES};
use crate::notify::{Listener, Notif};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::{ProcDirs, ProcPath, Task};

/// `STATX__RESERVED`: mask bits userspace must not set.
const STATX_RESERVED: u32 = 0x8000_0000;
/// `AT_STATX_SYNC_TYPE`.
const AT_STATX_SYNC_TYPE: i32 = 0x6000;

/// Handles one notification of the family.
pub fn handle(ctx: &Ctx, listener: &Listener, n: &Notif, m: &Mediated, sc: &mut Scratch) -> Reply {
    let mut task = Task::new(n.pid);
    let a = n.data.args;
    let int = sys::low_i32;
    // (dirfd, path, follow, AT_EMPTY_PATH, NULL path allowed)
    let (dirfd, addr, follow, empty, null_ok) = match m.kind {
        Kind::Stat | Kind::Statfs => (libc::AT_FDCWD, a[0], true, false, false),
        Kind::Lstat => (libc::AT_FDCWD, a[0], false, false, false),
        // Their flags are checked below, after the `fstat` shortcut, which
        // the kernel takes without looking at them.
        Kind::Newfstatat => {
            let f = int(a[3]);
            let e = f & libc::AT_EMPTY_PATH != 0;
            (int(a[0]), a[1], f & libc::AT_SYMLINK_NOFOLLOW == 0, e, e)
        }
        Kind::Statx => {
            let f = int(a[2]);
            if f & AT_STATX_SYNC_TYPE == AT_STATX_SYNC_TYPE
                || sys::low_i32(a[3]).cast_unsigned() & STATX_RESERVED != 0
            {
                return Reply::Errno(libc::EINVAL);
            }
            let e = f & libc::AT_EMPTY_PATH != 0;
            (int(a[0]), a[1], f & libc::AT_SYMLINK_NOFOLLOW == 0, e, e)
        }
        Kind::Readlink => (libc::AT_FDCWD, a[0], false, false, false),
        Kind::Readlinkat => (int(a[0]), a[1], false, true, false),
        Kind::Getxattr | Kind::Listxattr => (libc::AT_FDCWD, a[0], true, false, false),
        Kind::Lgetxattr | Kind::Llistxattr => (libc::AT_FDCWD, a[0], false, false, false),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    if matches!(m.kind, Kind::Readlink | Kind::Readlinkat) {
        let size = if m.kind == Kind::Readlink { a[2] } else { a[3] };
        if sys::low_i32(size) <= 0 {
            return Reply::Errno(libc::EINVAL);
        }
    }
    // Arguments read before the resolution (which checks ID_VALID last).
    let xattr_name = match m.kind {
        Kind::Getxattr | Kind::Lgetxattr => {
            match read_string(&task, a[1], XATTR_NAME_BYTES, libc::ERANGE) {
                Ok(s) if s.as_bytes().is_empty() => return Reply::Errno(libc::ERANGE),
                Ok(s) => Some(s),
                Err(r) => return r,
            }
        }
        _ => None,
    };
    if empty && dirfd >= 0 && matches!(m.kind, Kind::Newfstatat | Kind::Statx) {
        // `fstat` (glibc's is `newfstatat(fd, "", AT_EMPTY_PATH)`): the
        // program's own descriptor, no decision. One syscall on the magic
        // link of the task's descriptor instead of fetching it.
        let mut first = [1u8];
        let is_empty = addr == 0 || task.read_exact(addr, &mut first).is_ok() && first[0] == 0;
        if is_empty {
            if let Some(r) = own_fd_stat(listener, n, &task, &mut sc.procs, m.kind, dirfd, a) {
                return r;
            }
        }
    }
    let flags_known = libc::AT_SYMLINK_NOFOLLOW
        | libc::AT_NO_AUTOMOUNT
        | libc::AT_EMPTY_PATH
        | AT_STATX_SYNC_TYPE;
    match m.kind {
        Kind::Newfstatat if int(a[3]) & !flags_known != 0 => return Reply::Errno(libc::EINVAL),
        Kind::Statx if int(a[2]) & !flags_known != 0 => return Reply::Errno(libc::EINVAL),
        _ => {}
    }
    let obj = match resolve(
        ctx, listener, n, &mut task, sc, dirfd, addr, follow, empty, null_ok,
    ) {
        Ok(o) => o,
        Err(r) => return r,
    };
    // readlinkat of an empty path: the descriptor itself, ENOENT if it is
    // not a symbolic link (a path to one that is not is EINVAL).
    let not_link = if matches!(obj, Obj::Found { held: true, .. }) {
        libc::ENOENT
    } else {
        libc::EINVAL
    };
    let readlink = matches!(m.kind, Kind::Readlink | Kind::Readlinkat);
    let unserved = readlink.then_some(libc::EINVAL);
    let fd = match decide_obj(ctx, &task, sc, m.name, obj, Need::Read, unserved, None) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    match m.kind {
        Kind::Stat | Kind::Lstat | Kind::Newfstatat => {
            let buf_addr = if m.kind == Kind::Newfstatat {
                a[2]
            } else {
                a[1]
            };
            let mut st = [0u8; sys::STAT_SIZE];
            match sys::fstat_bytes(fd.as_fd(), &mut st) {
                Ok(()) => write_out(&task, buf_addr, &st, Reply::Value(0)),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Statx => {
            let flags = int(a[2]) & (AT_STATX_SYNC_TYPE | libc::AT_NO_AUTOMOUNT);
            let mask = sys::low_i32(a[3]).cast_unsigned();
            let mut stx = [0u8; sys::STATX_SIZE];
            match sys::statx_bytes(fd.as_fd(), flags, mask, &mut stx) {
                Ok(()) => write_out(&task, a[4], &stx, Reply::Value(0)),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Statfs => {
            let mut st = [0u8; std::mem::size_of::<libc::statfs>()];
            match sys::fstatfs_bytes(fd.as_fd(), &mut st) {
                Ok(()) => write_out(&task, a[1], &st, Reply::Value(0)),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Readlink | Kind::Readlinkat => {
            let (buf, size) = if m.kind == Kind::Readlink {
                (a[1], a[2])
            } else {
                (a[2], a[3])
            };
            let size = usize::try_from(sys::low_i32(size)).unwrap_or(0);
            // The path is in `sc.walk.path` by now: `sc.lex` is free.
            let target = &mut sc.lex;
            target.clear();
            if let Some(t) = proc_self_target(&task, ctx.scope, &sc.walk.path) {
                // Our /proc/self names us: the program's names it.
                let Ok(t) = t else {
                    return Reply::Errno(libc::ENOENT);
                };
                let len = t.len().min(size);
                return write_out(&task, buf, &t.as_bytes()[..len], Reply::Value(len as i64));
            }
            target.resize(libc::PATH_MAX as usize + 1, 0);
            match sys::readlink_fd(fd.as_fd(), target) {
                Ok(len) => {
                    let len = len.min(size);
                    write_out(&task, buf, &target[..len], Reply::Value(len as i64))
                }
                // Not a symbolic link.
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Reply::Errno(not_link),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Getxattr | Kind::Lgetxattr => {
            let Some(name) = xattr_name else {
                return Reply::Errno(libc::EINVAL);
            };
            getxattr(&task, &fd, &name, a[2], a[3])
        }
        Kind::Listxattr | Kind::Llistxattr => listxattr(&task, &fd, a[1], a[2]),
        _ => done(Ok(())),
    }
}

/// What `/proc/self` and `/proc/thread-self` read as for the asking task
/// (`None` for any other path): its pid, or `pid/task/tid`, as its `/proc`
/// numbers them (a container's: its pid namespace's, see [`Scope`]).
fn proc_self_target(task: &Task, scope: Scope, path: &[u8]) -> Option<std::io::Result<String>> {
    let ids = || match scope {
        Scope::Tree(_) => task.tgid().map(|t| (t, task.tid())),
        Scope::PidNs => task.ns_ids(),
    };
    match path {
        b"/proc/self" => Some(ids().map(|(t, _)| t.to_string())),
        b"/proc/thread-self" => Some(ids().map(|(t, tid)| format!("{t}/task/{tid}"))),
        _ => None,
    }
}

/// `fstat` of the task's descriptor `fd` through `/proc/<tid>/fd/<fd>`;
/// `None` where that path cannot be used (a task that is not dumpable), so
/// that the caller fetches the descriptor instead.
fn own_fd_stat(
    listener: &Listener,
    n: &Notif,
    task: &Task,
    procs: &mut ProcDirs,
    kind: Kind,
    fd: i32,
    a: [u64; 6],
) -> Option<Reply> {
    let p = ProcPath::with_prefix("fd/", fd, "");
    let mut st = [0u8; sys::STAT_SIZE];
    let mut stx = [0u8; sys::STATX_SIZE];
    let r = if kind == Kind::Newfstatat {
        procs
            .with(task.tid(), |dir| sys::stat_at(dir, p.as_cstr(), 0, &mut st))
            .map(|()| (a[2], &st[..]))
    } else {
        let flags = sys::low_i32(a[2]) & (AT_STATX_SYNC_TYPE | libc::AT_NO_AUTOMOUNT);
        let mask = sys::low_i32(a[3]).cast_unsigned();
        procs
            .with(task.tid(), |dir| {
                sys::statx_at(dir, p.as_cstr(), flags, mask, &mut stx)
            })
            .map(|()| (a[4], &stx[..]))
    };
    if !listener.id_valid(n.id) {
        return Some(Reply::Gone);
    }
    match r {
        Ok((buf, bytes)) => Some(write_out(task, buf, bytes, Reply::Value(0))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(Reply::Errno(libc::EBADF)),
        Err(_) => None,
    }
}

fn getxattr(task: &Task, fd: &std::os::fd::OwnedFd, name: &CString, buf: u64, size: u64) -> Reply {
    let size = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(XATTR_VALUE_BYTES);
    let mut value = vec![0u8; size];
    match sys::getxattr_fd(fd.as_fd(), name, &mut value) {
        Ok(len) if size == 0 => Reply::Value(len as i64),
        Ok(len) => write_out(task, buf, &value[..len], Reply::Value(len as i64)),
        Err(e) => Reply::Errno(os_errno(&e)),
    }
}

fn listxattr(task: &Task, fd: &std::os::fd::OwnedFd, buf: u64, size: u64) -> Reply {
    let size = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(XATTR_VALUE_BYTES);
    let mut list = vec![0u8; size];
    match sys::listxattr_fd(fd.as_fd(), &mut list) {
        Ok(len) if size == 0 => Reply::Value(len as i64),
        Ok(len) => write_out(task, buf, &list[..len], Reply::Value(len as i64)),
        Err(e) => Reply::Errno(os_errno(&e)),
    }
}

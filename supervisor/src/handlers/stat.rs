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
use super::{Ctx, Program, Reply, Scratch};
use crate::fs::walk::Scope;
use crate::limits::{XATTR_NAME_BYTES, XATTR_VALUE_BYTES};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::{ProcDirs, ProcPath, Task};

/// `STATX__RESERVED`: mask bits userspace must not set.
const STATX_RESERVED: u32 = 0x8000_0000;
/// `AT_STATX_SYNC_TYPE`.
const AT_STATX_SYNC_TYPE: i32 = 0x6000;

/// Handles one notification of the family.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
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
            match read_string(p, a[1], XATTR_NAME_BYTES, libc::ERANGE) {
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
        let is_empty = addr == 0 || p.read_exact(addr, &mut first).is_ok() && first[0] == 0;
        if is_empty {
            if let Some(r) = own_fd_stat(p, &mut sc.procs, m.kind, dirfd, a) {
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
    let obj = match resolve(ctx, p, sc, dirfd, addr, follow, empty, null_ok) {
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
    let fd = match decide_obj(ctx, p.task(), sc, m.name, obj, Need::Read, unserved, None) {
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
                Ok(()) => write_out(p, buf_addr, &st, Reply::Value(0)),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Statx => {
            let flags = int(a[2]) & (AT_STATX_SYNC_TYPE | libc::AT_NO_AUTOMOUNT);
            let mask = sys::low_i32(a[3]).cast_unsigned();
            let mut stx = [0u8; sys::STATX_SIZE];
            match sys::statx_bytes(fd.as_fd(), flags, mask, &mut stx) {
                Ok(()) => write_out(p, a[4], &stx, Reply::Value(0)),
                Err(e) => Reply::Errno(os_errno(&e)),
            }
        }
        Kind::Statfs => {
            let mut st = [0u8; std::mem::size_of::<libc::statfs>()];
            match sys::fstatfs_bytes(fd.as_fd(), &mut st) {
                Ok(()) => write_out(p, a[1], &st, Reply::Value(0)),
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
            if let Some(t) = proc_self_target(p.task(), ctx.scope, &sc.walk.path) {
                // Our /proc/self names us: the program's names it.
                let Ok(t) = t else {
                    return Reply::Errno(libc::ENOENT);
                };
                let len = t.len().min(size);
                return write_out(p, buf, &t.as_bytes()[..len], Reply::Value(len as i64));
            }
            target.resize(libc::PATH_MAX as usize + 1, 0);
            match sys::readlink_fd(fd.as_fd(), target) {
                Ok(len) => {
                    let len = len.min(size);
                    write_out(p, buf, &target[..len], Reply::Value(len as i64))
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
            getxattr(p, &fd, &name, a[2], a[3])
        }
        Kind::Listxattr | Kind::Llistxattr => listxattr(p, &fd, a[1], a[2]),
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
fn own_fd_stat<P: Program>(
    p: &mut P,
    procs: &mut ProcDirs,
    kind: Kind,
    fd: i32,
    a: [u64; 6],
) -> Option<Reply> {
    let link = ProcPath::with_prefix("fd/", fd, "");
    let mut st = [0u8; sys::STAT_SIZE];
    let mut stx = [0u8; sys::STATX_SIZE];
    let r = if kind == Kind::Newfstatat {
        p.in_proc(procs, |dir| sys::stat_at(dir, link.as_cstr(), 0, &mut st))
            .map(|()| (a[2], &st[..]))
    } else {
        let flags = sys::low_i32(a[2]) & (AT_STATX_SYNC_TYPE | libc::AT_NO_AUTOMOUNT);
        let mask = sys::low_i32(a[3]).cast_unsigned();
        p.in_proc(procs, |dir| {
            sys::statx_at(dir, link.as_cstr(), flags, mask, &mut stx)
        })
        .map(|()| (a[4], &stx[..]))
    };
    if !p.vouch() {
        return Some(Reply::Gone);
    }
    match r {
        Ok((buf, bytes)) => Some(write_out(p, buf, bytes, Reply::Value(0))),
        Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Some(Reply::Errno(libc::EBADF)),
        Err(_) => None,
    }
}

fn getxattr<P: Program>(
    p: &P,
    fd: &std::os::fd::OwnedFd,
    name: &CString,
    buf: u64,
    size: u64,
) -> Reply {
    let size = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(XATTR_VALUE_BYTES);
    let mut value = vec![0u8; size];
    match sys::getxattr_fd(fd.as_fd(), name, &mut value) {
        Ok(len) if size == 0 => Reply::Value(len as i64),
        Ok(len) => write_out(p, buf, &value[..len], Reply::Value(len as i64)),
        Err(e) => Reply::Errno(os_errno(&e)),
    }
}

fn listxattr<P: Program>(p: &P, fd: &std::os::fd::OwnedFd, buf: u64, size: u64) -> Reply {
    let size = usize::try_from(size)
        .unwrap_or(usize::MAX)
        .min(XATTR_VALUE_BYTES);
    let mut list = vec![0u8; size];
    match sys::listxattr_fd(fd.as_fd(), &mut list) {
        Ok(len) if size == 0 => Reply::Value(len as i64),
        Ok(len) => write_out(p, buf, &list[..len], Reply::Value(len as i64)),
        Err(e) => Reply::Errno(os_errno(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, errno, Fake, Run};

    /// What a look answered: its return value, or an errno.
    fn value(r: &Reply) -> Result<i64, i32> {
        match r {
            Reply::Value(v) => Ok(*v),
            Reply::Errno(e) => Err(*e),
            other => panic!("neither a value nor an errno: {other:?}"),
        }
    }

    /// `st_size` and `st_mode` of the `struct stat` at `buf`.
    fn size_mode(p: &Fake, buf: u64) -> (u64, u32) {
        let st = p.peek(buf, sys::STAT_SIZE);
        let size = u64::from_ne_bytes(st[48..56].try_into().unwrap());
        let mode = u32::from_ne_bytes(st[24..28].try_into().unwrap());
        (size, mode)
    }

    /// `stat`/`lstat` of `D/rel`: (size, file type), or the errno.
    fn stat(r: &mut Run, p: &mut Fake, nr: i64, rel: &str) -> Result<(u64, u32), i32> {
        let path = p.put_cstr(&r.path(rel));
        let buf = p.buffer(sys::STAT_SIZE);
        value(&r.call(p, nr, &[path, buf]))?;
        let (size, mode) = size_mode(p, buf);
        Ok((size, mode & libc::S_IFMT))
    }

    /// (size, file type), or an errno.
    type Looked = Result<(u64, u32), i32>;

    const REG: u32 = libc::S_IFREG;
    const EACCES: Looked = Err(libc::EACCES);
    const ENOENT: Looked = Err(libc::ENOENT);

    #[test]
    fn stat_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let cases: &[(i64, &str, Looked)] = &[
            (libc::SYS_stat, "ro/f", Ok((2, REG))),
            (libc::SYS_stat, "rw/f", Ok((2, REG))),
            (libc::SYS_stat, "deny/f", EACCES),
            (libc::SYS_stat, "deny", EACCES),
            (libc::SYS_stat, "deny/missing", EACCES),
            (libc::SYS_stat, "hide/f", ENOENT),
            (libc::SYS_stat, "hide", ENOENT),
            (libc::SYS_stat, "hide/f/x", ENOENT),
            (libc::SYS_stat, "hide/missing", ENOENT),
            (libc::SYS_stat, "other", EACCES),
            (libc::SYS_stat, "ro/missing", ENOENT),
            (libc::SYS_stat, "rw/f/", Err(libc::ENOTDIR)),
            // A content rule looks like its memfd, a redirect like its target.
            (libc::SYS_stat, "content", Ok((7, REG))),
            (libc::SYS_stat, "redirect", Ok((6, REG))),
            // The link itself, or what it leads to.
            (libc::SYS_lstat, "rw/link", Ok((1, libc::S_IFLNK))),
            (libc::SYS_stat, "rw/link", Ok((2, REG))),
            (libc::SYS_stat, "rw/dangling", ENOENT),
            (libc::SYS_lstat, "rw/dangling", Ok((7, libc::S_IFLNK))),
            (libc::SYS_stat, "rw/sub", Ok((0, libc::S_IFDIR))),
            (libc::SYS_lstat, "hide/f", ENOENT),
            (libc::SYS_lstat, "deny/f", EACCES),
        ];
        for &(nr, rel, want) in cases {
            let mut got = stat(&mut r, &mut p, nr, rel);
            if let Ok((size, libc::S_IFDIR)) = &mut got {
                *size = 0;
            }
            assert_eq!(got, want, "syscall {nr} {rel}");
        }
    }

    #[test]
    fn newfstatat_and_statx_flags() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let path = p.put_cstr(&r.path("rw/f"));
        let buf = p.buffer(sys::STATX_SIZE);
        let cwd = arg(libc::AT_FDCWD);
        let fstatat = |r: &mut Run, p: &mut Fake, dirfd: u64, path: u64, flags: i32| {
            value(&r.call(p, libc::SYS_newfstatat, &[dirfd, path, buf, arg(flags)]))
        };
        assert_eq!(fstatat(&mut r, &mut p, cwd, path, 0), Ok(0));
        assert_eq!(size_mode(&p, buf).0, 2);
        // An unknown flag.
        assert_eq!(
            fstatat(&mut r, &mut p, cwd, path, 0x1_0000),
            Err(libc::EINVAL)
        );
        // `fstat`: the program's own descriptor, no decision (it holds it,
        // even where the policy now denies).
        p.open_fd(7, &r.dir.join("deny/f"));
        let empty = p.put_cstr(b"");
        assert_eq!(
            fstatat(&mut r, &mut p, 7, empty, libc::AT_EMPTY_PATH),
            Ok(0)
        );
        assert_eq!(size_mode(&p, buf).0, 4);
        // (the kernel takes that shortcut before looking at other flags)
        let flags = libc::AT_EMPTY_PATH | 0x1_0000;
        assert_eq!(fstatat(&mut r, &mut p, 7, empty, flags), Ok(0));
        // A descriptor it does not hold.
        assert_eq!(
            fstatat(&mut r, &mut p, 9, empty, libc::AT_EMPTY_PATH),
            Err(libc::EBADF)
        );
        // An empty path without AT_EMPTY_PATH.
        assert_eq!(fstatat(&mut r, &mut p, cwd, empty, 0), Err(libc::ENOENT));

        let statx = |r: &mut Run, p: &mut Fake, flags: i32, mask: u32| {
            let args = [cwd, path, arg(flags), u64::from(mask), buf];
            value(&r.call(p, libc::SYS_statx, &args))
        };
        assert_eq!(statx(&mut r, &mut p, 0, libc::STATX_BASIC_STATS), Ok(0));
        let stx = p.peek(buf, 48);
        assert_eq!(u64::from_ne_bytes(stx[40..48].try_into().unwrap()), 2);
        // Both sync types at once; a reserved mask bit.
        assert_eq!(
            statx(&mut r, &mut p, AT_STATX_SYNC_TYPE, 0),
            Err(libc::EINVAL)
        );
        assert_eq!(statx(&mut r, &mut p, 0, STATX_RESERVED), Err(libc::EINVAL));
        assert_eq!(statx(&mut r, &mut p, 0x1_0000, 0), Err(libc::EINVAL));
    }

    #[test]
    fn results_go_to_the_programs_buffer() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let path = p.put_cstr(&r.path("rw/f"));
        // A buffer that is not there, or too short.
        let got = r.call(&mut p, libc::SYS_stat, &[path, 8]);
        assert_eq!(errno(&got), Some(libc::EFAULT));
        let short = p.buffer(16);
        let got = r.call(&mut p, libc::SYS_stat, &[path, short]);
        assert_eq!(errno(&got), Some(libc::EFAULT));
        // A path that cannot be read.
        let buf = p.buffer(sys::STAT_SIZE);
        let got = r.call(&mut p, libc::SYS_stat, &[8, buf]);
        assert_eq!(errno(&got), Some(libc::EFAULT));
        // Gone before it is answered.
        p.die();
        let got = r.call(&mut p, libc::SYS_stat, &[path, buf]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }

    /// `readlink(D/rel, buf, size)`: the target, or the errno.
    fn readlink(r: &mut Run, p: &mut Fake, rel: &str, size: i32) -> Result<Vec<u8>, i32> {
        let path = p.put_cstr(&r.path(rel));
        let buf = p.buffer(64);
        let n = value(&r.call(p, libc::SYS_readlink, &[path, buf, arg(size)]))?;
        Ok(p.peek(buf, usize::try_from(n).unwrap()))
    }

    /// A link's target, or an errno.
    type Target = Result<&'static [u8], i32>;

    #[test]
    fn readlink_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        std::os::unix::fs::symlink("x", r.dir.join("hide/link")).unwrap();
        std::os::unix::fs::symlink("x", r.dir.join("deny/link")).unwrap();
        std::os::unix::fs::symlink("x", r.dir.join("ro/link")).unwrap();
        let cases: &[(&str, i32, Target)] = &[
            ("rw/link", 64, Ok(b"f")),
            ("rw/dangling", 64, Ok(b"nowhere")),
            ("rw/dangling", 3, Ok(b"now")),
            ("ro/link", 64, Ok(b"x")),
            ("rw/link", 0, Err(libc::EINVAL)),
            ("rw/link", -1, Err(libc::EINVAL)),
            ("rw/f", 64, Err(libc::EINVAL)),
            ("rw/missing", 64, Err(libc::ENOENT)),
            ("hide/link", 64, Err(libc::ENOENT)),
            ("deny/link", 64, Err(libc::EACCES)),
            // Served from elsewhere: there is no link to read.
            ("content", 64, Err(libc::EINVAL)),
            ("redirect", 64, Err(libc::EINVAL)),
        ];
        for &(rel, size, want) in cases {
            let got = readlink(&mut r, &mut p, rel, size);
            assert_eq!(got, want.map(<[u8]>::to_vec), "readlink {rel} {size}");
        }
    }

    #[test]
    fn statfs_and_xattrs_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let buf = p.buffer(4096);
        let name = p.put_cstr(b"user.fdsup-test");
        let empty = p.put_cstr(b"");
        let long = p.put_cstr(&[b'n'; XATTR_NAME_BYTES + 1]);
        for (rel, want) in [
            ("ro/f", None),
            ("deny/f", Some(libc::EACCES)),
            ("hide/f", Some(libc::ENOENT)),
            ("other", Some(libc::EACCES)),
        ] {
            let path = p.put_cstr(&r.path(rel));
            let statfs = r.call(&mut p, libc::SYS_statfs, &[path, buf]);
            assert_eq!(errno(&statfs), want, "statfs {rel}");
            let list = r.call(&mut p, libc::SYS_listxattr, &[path, buf, 4096]);
            assert_eq!(errno(&list), want, "listxattr {rel}");
            let get = r.call(&mut p, libc::SYS_getxattr, &[path, name, buf, 64]);
            // (none set: the kernel's ENODATA, or EOPNOTSUPP where the file
            // system has no user attributes)
            let e = errno(&get);
            match want {
                None => assert!(
                    matches!(e, Some(libc::ENODATA | libc::EOPNOTSUPP)),
                    "getxattr {rel}: {get:?}"
                ),
                Some(_) => assert_eq!(e, want, "getxattr {rel}"),
            }
            // A name that is empty or too long: ERANGE before the path.
            let get = r.call(&mut p, libc::SYS_getxattr, &[path, empty, buf, 64]);
            assert_eq!(errno(&get), Some(libc::ERANGE), "getxattr '' {rel}");
            let get = r.call(&mut p, libc::SYS_getxattr, &[path, long, buf, 64]);
            assert_eq!(errno(&get), Some(libc::ERANGE), "getxattr long {rel}");
        }
    }
}

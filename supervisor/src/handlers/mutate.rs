//! Changing the file system: `mkdir`, `mknod`, `symlink`, `unlink`,
//! `rmdir`, `chmod`, `chown`, the timestamps, `truncate` and the extended
//! attributes, each with its `*at`, `l*` and `f*` forms, carried out by the
//! supervisor on descriptors it resolved itself.
//!
//! Everything here needs `rw` (SPEC.md): under `ro` nothing changes, not even
//! a timestamp or a mode bit; a hidden path answers ENOENT and a denied one
//! EACCES. Names are created and removed in the parent directory the careful
//! walk resolved (the last component never followed), and existing objects
//! are changed through their `O_PATH` descriptor with the `AT_EMPTY_PATH`
//! forms, so a path swapped after the decision changes nothing. The `f*`
//! forms act on the program's own descriptor: they are mediated too, since a
//! read-only descriptor of an `ro` file would otherwise let its mode,
//! owner, times or attributes change. New files and directories get the
//! program's umask, or its directory's default ACL, from the kernel: the
//! worker takes the program's umask as its own first (`crate::fs::umask`).

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd};

use super::link::{read_arg, resolve_end, slash_errno, End, Last};
use super::path::{decide_obj, done, fetch, read_string, resolve, Need, Obj};
use super::{decide, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::walk::Asker;
use crate::limits::{PATH_BYTES, XATTR_NAME_BYTES, XATTR_VALUE_BYTES};
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::ReadError;

/// `UTIME_NOW`, `UTIME_OMIT`.
const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// Handles one notification of the family.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    match m.kind {
        Kind::Mkdir
        | Kind::Mkdirat
        | Kind::Mknod
        | Kind::Mknodat
        | Kind::Symlink
        | Kind::Symlinkat
        | Kind::Unlink
        | Kind::Unlinkat
        | Kind::Rmdir => names(ctx, p, a, m, sc),
        _ => objects(ctx, p, a, m, sc),
    }
}

/// What a name-changing request does.
enum NameOp {
    Mkdir(u32),
    Mknod(u32),
    Symlink(CString),
    Unlink(i32),
}

/// Requests that create or remove a name in a directory.
fn names<P: Program>(ctx: &Ctx, p: &mut P, a: [u64; 6], m: &Mediated, sc: &mut Scratch) -> Reply {
    let int = sys::low_i32;
    let mode_of = |v: u64| sys::low_i32(v).cast_unsigned();
    let (dirfd, addr, op) = match m.kind {
        Kind::Mkdir => (libc::AT_FDCWD, a[0], NameOp::Mkdir(mode_of(a[1]))),
        Kind::Mkdirat => (int(a[0]), a[1], NameOp::Mkdir(mode_of(a[2]))),
        Kind::Mknod => (libc::AT_FDCWD, a[0], NameOp::Mknod(mode_of(a[1]))),
        Kind::Mknodat => (int(a[0]), a[1], NameOp::Mknod(mode_of(a[2]))),
        Kind::Symlink | Kind::Symlinkat => {
            let target = match read_string(p, a[0], PATH_BYTES - 1, libc::ENAMETOOLONG) {
                Ok(t) if t.as_bytes().is_empty() => return Reply::Errno(libc::ENOENT),
                Ok(t) => t,
                Err(r) => return r,
            };
            if m.kind == Kind::Symlink {
                (libc::AT_FDCWD, a[1], NameOp::Symlink(target))
            } else {
                (int(a[1]), a[2], NameOp::Symlink(target))
            }
        }
        Kind::Unlink => (libc::AT_FDCWD, a[0], NameOp::Unlink(0)),
        Kind::Rmdir => (libc::AT_FDCWD, a[0], NameOp::Unlink(libc::AT_REMOVEDIR)),
        Kind::Unlinkat => {
            let f = int(a[2]);
            if f & !libc::AT_REMOVEDIR != 0 {
                return Reply::Errno(libc::EINVAL);
            }
            (int(a[0]), a[1], NameOp::Unlink(f))
        }
        _ => return Reply::Errno(libc::ENOSYS),
    };
    // The kernel's may_mknod, before the path: a directory is EPERM, an
    // unknown type EINVAL. (Devices and sockets, which fdsup never makes,
    // are refused later, where the kernel checks CAP_MKNOD.)
    if let NameOp::Mknod(mode) = op {
        match mode & libc::S_IFMT {
            0 | libc::S_IFREG | libc::S_IFIFO | libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK => {}
            libc::S_IFDIR => return Reply::Errno(libc::EPERM),
            _ => return Reply::Errno(libc::EINVAL),
        }
    }
    if let NameOp::Mkdir(_) | NameOp::Mknod(_) = op {
        // The program's umask, made this thread's: the kernel applies it,
        // or the directory's default ACL, as natively (`crate::fs::umask`).
        match p.umask() {
            Ok(u) => {
                if let Err(e) = crate::fs::umask::take(u) {
                    return Reply::Errno(sys::errno_of(&e));
                }
            }
            Err(_) => {
                return if p.vouch() {
                    Reply::Errno(libc::EACCES)
                } else {
                    Reply::Gone
                }
            }
        }
    }
    let arg = match read_arg(ctx, p, dirfd, addr, &mut sc.raw, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let root = ctx.root(&sc.task_root);
    let end = match resolve_end(&mut asker, &root, arg, &mut sc.walk) {
        Ok(e) => e,
        Err(e) => {
            return Reply::Errno(super::walk_error(
                ctx,
                &mut asker,
                &sc.walk.path,
                &mut sc.matched,
                e,
            ))
        }
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let slashed = slash_errno(&end);
    let End {
        dir,
        name,
        path,
        last,
        slash,
    } = end;
    let mut log = Log::new(ctx, m.name, p.tid(), &mut sc.line);
    let (action, rule) = decide(ctx, &mut asker, &path, &mut sc.matched);
    // Whether the name is taken; an error other than ENOENT (a name too
    // long for the file system) is the kernel's answer at that point.
    let lookup = || -> Result<bool, i32> {
        if last != Last::Norm {
            return Ok(true);
        }
        match sys::lstat_mode(dir.as_raw_fd(), &name) {
            Ok(_) => Ok(true),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(sys::errno_of(&e)),
        }
    };
    let read_only = || sys::on_read_only_mount(dir.as_fd());
    let refuse = |log: &mut Log<'_>, v: Verdict, e: i32| {
        log.write(&path, v, Some(e), rule);
        Reply::Errno(e)
    };
    match action {
        FsAction::Access(FsAccess::Hide) => return refuse(&mut log, Verdict::Hide, libc::ENOENT),
        FsAction::Access(FsAccess::Deny) => return refuse(&mut log, Verdict::Deny, libc::EACCES),
        _ => {}
    }
    // What the kernel finds before it would write anything, in its order:
    // what the last component is, whether it is there, a trailing slash,
    // and a read-only mount (EROFS: before the name is looked up when
    // removing, after when creating).
    match op {
        NameOp::Mkdir(_) | NameOp::Mknod(_) | NameOp::Symlink(_) => {
            match lookup() {
                Ok(true) => return Reply::Errno(libc::EEXIST),
                Ok(false) if sys::on_procfs(dir.as_fd()) => return Reply::Errno(libc::ENOENT),
                Ok(false) => {}
                Err(e) => return Reply::Errno(e),
            }
            if slash && !matches!(op, NameOp::Mkdir(_)) {
                return Reply::Errno(libc::ENOENT);
            }
            if read_only() {
                return Reply::Errno(libc::EROFS);
            }
        }
        NameOp::Unlink(f) if f & libc::AT_REMOVEDIR != 0 => match last {
            Last::Norm if read_only() => return Reply::Errno(libc::EROFS),
            Last::Norm => {}
            Last::Dot => return Reply::Errno(libc::EINVAL),
            Last::DotDot => return Reply::Errno(libc::ENOTEMPTY),
            Last::Root => return Reply::Errno(libc::EBUSY),
        },
        NameOp::Unlink(_) => {
            if last != Last::Norm {
                return Reply::Errno(libc::EISDIR);
            }
            if read_only() {
                return Reply::Errno(libc::EROFS);
            }
            if let Err(e) = lookup() {
                return Reply::Errno(e);
            }
            if let Some(e) = slashed {
                return Reply::Errno(e);
            }
        }
    }
    let exists = lookup().unwrap_or(false);
    if let NameOp::Mknod(mode) = op {
        if matches!(
            mode & libc::S_IFMT,
            libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK
        ) {
            // SPEC.md: rw makes regular files and FIFOs only.
            return refuse(&mut log, Verdict::Deny, libc::EPERM);
        }
    }
    if !matches!(action, FsAction::Access(FsAccess::Rw)) {
        // ro, or served from memory or elsewhere: nothing changes here.
        if matches!(op, NameOp::Unlink(_)) && !exists {
            return Reply::Errno(libc::ENOENT);
        }
        return refuse(&mut log, Verdict::Deny, libc::EACCES);
    }
    log.write(&path, Verdict::Allow, None, rule);
    let d = dir.as_raw_fd();
    done(match op {
        NameOp::Mkdir(mode) => sys::mkdirat(d, &name, mode & 0o7777),
        NameOp::Mknod(mode) => {
            let kind = if mode & libc::S_IFMT == 0 {
                libc::S_IFREG
            } else {
                mode & libc::S_IFMT
            };
            sys::mknodat(d, &name, kind | (mode & 0o7777))
        }
        NameOp::Symlink(target) => sys::symlinkat(&target, d, &name),
        NameOp::Unlink(flags) => sys::unlinkat(d, &name, flags),
    })
}

/// What an object-changing request does.
enum ObjOp {
    Chmod(u32),
    Chown(u32, u32),
    Times(Option<[libc::timespec; 2]>),
    Truncate(i64),
    Setxattr(CString, Vec<u8>, u32),
    Removexattr(CString),
    /// An `ioctl` request of [`crate::syscalls::SETATTR_IOCTLS`] and the
    /// bytes it reads.
    Ioctl(u32, [u8; 28]),
}

/// Requests that change an existing object.
fn objects<P: Program>(ctx: &Ctx, p: &mut P, a: [u64; 6], m: &Mediated, sc: &mut Scratch) -> Reply {
    let int = sys::low_i32;
    let u32_of = |v: u64| sys::low_i32(v).cast_unsigned();
    // Where the object is: (dirfd, path address, follow, AT_EMPTY_PATH, NULL ok),
    // or the program's descriptor (`f*` forms).
    enum Where {
        Path(i32, u64, bool, bool, bool),
        Fd(i32),
    }
    let nofollow = |f: i32| f & libc::AT_SYMLINK_NOFOLLOW != 0;
    let empty = |f: i32| f & libc::AT_EMPTY_PATH != 0;
    let mut out_of_range = None;
    let (place, op) = match m.kind {
        Kind::Chmod => (
            Where::Path(libc::AT_FDCWD, a[0], true, false, false),
            ObjOp::Chmod(u32_of(a[1])),
        ),
        Kind::Fchmod => (Where::Fd(int(a[0])), ObjOp::Chmod(u32_of(a[1]))),
        Kind::Fchmodat => (
            Where::Path(int(a[0]), a[1], true, false, false),
            ObjOp::Chmod(u32_of(a[2])),
        ),
        Kind::Fchmodat2 => {
            let f = int(a[3]);
            if f & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
                return Reply::Errno(libc::EINVAL);
            }
            (
                Where::Path(int(a[0]), a[1], !nofollow(f), empty(f), false),
                ObjOp::Chmod(u32_of(a[2])),
            )
        }
        Kind::Chown => (
            Where::Path(libc::AT_FDCWD, a[0], true, false, false),
            ObjOp::Chown(u32_of(a[1]), u32_of(a[2])),
        ),
        Kind::Lchown => (
            Where::Path(libc::AT_FDCWD, a[0], false, false, false),
            ObjOp::Chown(u32_of(a[1]), u32_of(a[2])),
        ),
        Kind::Fchown => (
            Where::Fd(int(a[0])),
            ObjOp::Chown(u32_of(a[1]), u32_of(a[2])),
        ),
        Kind::Fchownat => {
            let f = int(a[4]);
            if f & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
                return Reply::Errno(libc::EINVAL);
            }
            (
                Where::Path(int(a[0]), a[1], !nofollow(f), empty(f), false),
                ObjOp::Chown(u32_of(a[2]), u32_of(a[3])),
            )
        }
        Kind::Utime => match read_utimbuf(p, a[1]) {
            Ok(t) => (
                Where::Path(libc::AT_FDCWD, a[0], true, false, false),
                ObjOp::Times(t),
            ),
            Err(r) => return r,
        },
        Kind::Utimes => match read_timevals(p, a[1]) {
            Ok(t) => (
                Where::Path(libc::AT_FDCWD, a[0], true, false, false),
                ObjOp::Times(t),
            ),
            Err(r) => return r,
        },
        Kind::Futimesat => match read_timevals(p, a[2]) {
            // A NULL path is the descriptor itself (but AT_FDCWD's: EFAULT).
            Ok(t) if a[1] == 0 && int(a[0]) != libc::AT_FDCWD => {
                (Where::Fd(int(a[0])), ObjOp::Times(t))
            }
            Ok(t) => (
                Where::Path(int(a[0]), a[1], true, false, false),
                ObjOp::Times(t),
            ),
            Err(r) => return r,
        },
        Kind::Utimensat => {
            // As the kernel: the times are read (EFAULT); UTIME_OMIT twice
            // is done, nothing looked at; then the flags; then the object;
            // the times' values only once it is found (`out_of_range`).
            let times = match read_i64s_or_null::<4>(p, a[2]) {
                Ok(t) => t,
                Err(r) => return r,
            };
            if let Some([_, n0, _, n1]) = times {
                if n0 == UTIME_OMIT && n1 == UTIME_OMIT {
                    return Reply::Value(0);
                }
                let ok =
                    |n: i64| (0..1_000_000_000).contains(&n) || n == UTIME_NOW || n == UTIME_OMIT;
                if !ok(n0) || !ok(n1) {
                    out_of_range = Some(libc::EINVAL);
                }
            }
            let times = times.map(|[s0, n0, s1, n1]| [ts(s0, n0), ts(s1, n1)]);
            let f = int(a[3]);
            if a[1] == 0 && int(a[0]) != libc::AT_FDCWD {
                // futimens: the descriptor itself, and no flags at all.
                if f != 0 {
                    return Reply::Errno(libc::EINVAL);
                }
                (Where::Fd(int(a[0])), ObjOp::Times(times))
            } else {
                if f & !(libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
                    return Reply::Errno(libc::EINVAL);
                }
                // A NULL path with AT_FDCWD is read as a path: EFAULT.
                (
                    Where::Path(int(a[0]), a[1], !nofollow(f), empty(f), false),
                    ObjOp::Times(times),
                )
            }
        }
        Kind::Truncate => {
            let len = a[1] as i64;
            if len < 0 {
                return Reply::Errno(libc::EINVAL);
            }
            (
                Where::Path(libc::AT_FDCWD, a[0], true, false, false),
                ObjOp::Truncate(len),
            )
        }
        Kind::Setxattr | Kind::Lsetxattr | Kind::Fsetxattr => {
            // The flags before the name and the value, as the kernel.
            let flags = u32_of(a[4]);
            if flags & !(libc::XATTR_CREATE | libc::XATTR_REPLACE).cast_unsigned() != 0 {
                return Reply::Errno(libc::EINVAL);
            }
            let (name, value) = match read_xattr(p, a[1], a[2], a[3]) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let op = ObjOp::Setxattr(name, value, flags);
            match m.kind {
                Kind::Setxattr => (Where::Path(libc::AT_FDCWD, a[0], true, false, false), op),
                Kind::Lsetxattr => (Where::Path(libc::AT_FDCWD, a[0], false, false, false), op),
                // The kernel takes fsetxattr's AT_FDCWD as an empty path
                // from the working directory: the directory itself.
                _ if int(a[0]) == libc::AT_FDCWD => {
                    (Where::Path(libc::AT_FDCWD, 0, true, true, true), op)
                }
                _ => (Where::Fd(int(a[0])), op),
            }
        }
        Kind::Removexattr | Kind::Lremovexattr | Kind::Fremovexattr => {
            let name = match read_xattr_name(p, a[1]) {
                Ok(v) => v,
                Err(r) => return r,
            };
            let op = ObjOp::Removexattr(name);
            match m.kind {
                Kind::Removexattr => (Where::Path(libc::AT_FDCWD, a[0], true, false, false), op),
                Kind::Lremovexattr => (Where::Path(libc::AT_FDCWD, a[0], false, false, false), op),
                _ => (Where::Fd(int(a[0])), op),
            }
        }
        Kind::Ioctl => {
            let request = u32_of(a[1]);
            let Some(&(_, len)) = crate::syscalls::SETATTR_IOCTLS
                .iter()
                .find(|&&(r, _)| r == request)
            else {
                return Reply::Errno(libc::ENOSYS);
            };
            // Read first, as the kernel (`get_user`, `copy_from_user`).
            let mut arg = [0u8; 28];
            let Some(buf) = arg.get_mut(..len) else {
                return Reply::Errno(libc::EINVAL);
            };
            if let Err(e) = p.read_exact(a[2], buf) {
                return fault(e);
            }
            (Where::Fd(int(a[0])), ObjOp::Ioctl(request, arg))
        }
        _ => return Reply::Errno(libc::ENOSYS),
    };
    let obj = match place {
        Where::Path(dirfd, addr, follow, e, null_ok) => {
            match resolve(ctx, p, sc, dirfd, addr, follow, e, null_ok) {
                Ok(o) => o,
                Err(r) => return r,
            }
        }
        Where::Fd(fd) => {
            let f = match fetch(p, fd) {
                Ok(f) => f,
                Err(r) => return r,
            };
            if !p.vouch() {
                return Reply::Gone;
            }
            if crate::task::fd_path(f.as_fd(), &mut sc.walk.path).is_err() {
                return Reply::Errno(libc::EBADF);
            }
            // No path to decide on: a pipe or socket, a memfd, or a file no
            // longer linked anywhere (a change to it shows nowhere else).
            let p = &sc.walk.path;
            let pathless = p.first() != Some(&b'/')
                || (p.ends_with(b" (deleted)")
                    && (p.starts_with(b"/memfd:") || sys::fstat_nlink(f.as_fd()) == Some(0)));
            Obj::Found {
                fd: f,
                pathless,
                held: true,
            }
        }
    };
    let fd = match decide_obj(
        ctx,
        p.task(),
        sc,
        m.name,
        obj,
        Need::Write,
        None,
        out_of_range,
    ) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    let fd = fd.as_fd();
    done(match op {
        ObjOp::Chmod(mode) => sys::fchmod_path_fd(fd, mode & 0o7777),
        ObjOp::Chown(uid, gid) => sys::fchown_path_fd(fd, uid, gid),
        ObjOp::Times(t) => sys::utimens_path_fd(fd, t.as_ref()),
        ObjOp::Truncate(len) => truncate(fd, len, p.tid()),
        ObjOp::Setxattr(name, value, flags) => sys::setxattr_fd(fd, &name, &value, flags),
        ObjOp::Removexattr(name) => sys::removexattr_fd(fd, &name),
        ObjOp::Ioctl(request, arg) => sys::ioctl_in(fd, request, &arg),
    })
}

/// `truncate` of the object: a directory is EISDIR, anything but a regular
/// file EINVAL (never opened: a FIFO would wait), else opened for writing
/// (Unix permissions apply) and cut.
///
/// A file made longer than the program's `RLIMIT_FSIZE` is `EFBIG` and
/// raises `SIGXFSZ` in the task `tid`, as the kernel's `inode_newsize_ok`
/// does for the caller: the caller is fdsup, whose own limit the kernel
/// asks. Measured before: under `ulimit -f 4`, `truncate -s 1M` made a
/// file of a mebibyte under fdsup (natively `EFBIG`, the shell killed).
fn truncate(fd: std::os::fd::BorrowedFd<'_>, len: i64, tid: i32) -> std::io::Result<()> {
    let e = std::io::Error::from_raw_os_error;
    match sys::fstat_mode(fd)? & libc::S_IFMT {
        libc::S_IFDIR => return Err(e(libc::EISDIR)),
        libc::S_IFREG => {}
        _ => return Err(e(libc::EINVAL)),
    }
    // As the kernel: write permission (EACCES), then a read-only mount
    // (EROFS; access(2) checks them in this order), then the open for
    // writing (ETXTBSY).
    sys::faccessat2(
        fd.as_raw_fd(),
        c"",
        libc::W_OK,
        libc::AT_EMPTY_PATH | libc::AT_EACCESS,
    )?;
    if sys::on_read_only_mount(fd) {
        return Err(e(libc::EROFS));
    }
    let flags =
        (libc::O_WRONLY | libc::O_CLOEXEC | libc::O_NOCTTY | libc::O_NONBLOCK).unsigned_abs();
    let w = crate::fs::reopen(fd, u64::from(flags))?;
    let grows = rustix::fs::fstat(w.as_fd()).is_ok_and(|st| len > st.st_size);
    if grows && fsize_limit(tid).is_some_and(|limit| len.cast_unsigned() > limit) {
        if let Ok(tgid) = crate::task::Task::new(tid.unsigned_abs()).tgid() {
            // The kernel's signal, fdsup's act (`own_caps`).
            let _ = crate::own_caps::with(|| sys::tgkill(tgid, tid, libc::SIGXFSZ));
        }
        return Err(e(libc::EFBIG));
    }
    sys::ftruncate(w.as_fd(), len)
}

/// The soft `RLIMIT_FSIZE` of task `tid` (`/proc/<tid>/limits`, which
/// anyone may read); `None` where unlimited or not known.
fn fsize_limit(tid: i32) -> Option<u64> {
    let path = crate::task::ProcPath::new(tid, "/limits");
    let fd = sys::openat(
        libc::AT_FDCWD,
        path.as_cstr(),
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .ok()?;
    let text = std::io::read_to_string(std::fs::File::from(fd)).ok()?;
    let line = text.lines().find(|l| l.starts_with("Max file size"))?;
    line["Max file size".len()..]
        .split_ascii_whitespace()
        .next()?
        .parse()
        .ok()
}

fn fault(e: ReadError) -> Reply {
    e.reply(libc::EFAULT)
}

fn read_i64s<const N: usize>(p: &impl Program, addr: u64) -> Result<[i64; N], Reply> {
    let mut raw = [[0u8; 8]; N];
    p.read_exact(addr, raw.as_flattened_mut()).map_err(fault)?;
    Ok(raw.map(i64::from_ne_bytes))
}

fn ts(sec: i64, nsec: i64) -> libc::timespec {
    libc::timespec {
        tv_sec: sec,
        tv_nsec: nsec,
    }
}

/// `struct utimbuf` (`actime`, `modtime`), `NULL` for now.
fn read_utimbuf<P: Program>(p: &P, addr: u64) -> Result<Option<[libc::timespec; 2]>, Reply> {
    if addr == 0 {
        return Ok(None);
    }
    let [at, mt] = read_i64s::<2>(p, addr)?;
    Ok(Some([ts(at, 0), ts(mt, 0)]))
}

/// Two `struct timeval`, `NULL` for now.
fn read_timevals<P: Program>(p: &P, addr: u64) -> Result<Option<[libc::timespec; 2]>, Reply> {
    if addr == 0 {
        return Ok(None);
    }
    let [s0, u0, s1, u1] = read_i64s::<4>(p, addr)?;
    if !(0..1_000_000).contains(&u0) || !(0..1_000_000).contains(&u1) {
        return Err(Reply::Errno(libc::EINVAL));
    }
    Ok(Some([ts(s0, u0 * 1000), ts(s1, u1 * 1000)]))
}

/// `N` 64-bit words (two `struct timespec`), `None` for a NULL pointer.
fn read_i64s_or_null<const N: usize>(
    p: &impl Program,
    addr: u64,
) -> Result<Option<[i64; N]>, Reply> {
    if addr == 0 {
        return Ok(None);
    }
    read_i64s::<N>(p, addr).map(Some)
}

fn read_xattr_name<P: Program>(p: &P, addr: u64) -> Result<CString, Reply> {
    match read_string(p, addr, XATTR_NAME_BYTES, libc::ERANGE) {
        Ok(s) if s.as_bytes().is_empty() => Err(Reply::Errno(libc::ERANGE)),
        r => r,
    }
}

fn read_xattr<P: Program>(
    p: &P,
    name: u64,
    value: u64,
    size: u64,
) -> Result<(CString, Vec<u8>), Reply> {
    let name = read_xattr_name(p, name)?;
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size > XATTR_VALUE_BYTES {
        return Err(Reply::Errno(libc::E2BIG));
    }
    let mut v = vec![0u8; size];
    if size > 0 {
        p.read_exact(value, &mut v).map_err(fault)?;
    }
    Ok((name, v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, Fake, Run};
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    /// A change's answer: its value, or an errno.
    fn value(r: &Reply) -> Result<i64, i32> {
        match r {
            Reply::Value(v) => Ok(*v),
            Reply::Errno(e) => Err(*e),
            other => panic!("neither a value nor an errno: {other:?}"),
        }
    }

    /// A value, or an errno.
    type Answer = Result<i64, i32>;

    const OK: Answer = Ok(0);
    const EACCES: Answer = Err(libc::EACCES);
    const ENOENT: Answer = Err(libc::ENOENT);

    /// A request of the family on `D/rel`: `nr` with the path first, then
    /// `rest`.
    fn on(r: &mut Run, p: &mut Fake, nr: i64, rel: &str, rest: &[u64]) -> Result<i64, i32> {
        let path = p.put_cstr(&r.path(rel));
        let mut args = vec![path];
        args.extend_from_slice(rest);
        value(&r.call(p, nr, &args))
    }

    /// Checks each (syscall, path, rest of the arguments, answer), each on
    /// a fresh run.
    fn table(cases: &[(i64, &str, &[u64], Answer)]) {
        for &(nr, rel, rest, want) in cases {
            let mut r = Run::fixture();
            let mut p = r.program();
            assert_eq!(
                on(&mut r, &mut p, nr, rel, rest),
                want,
                "syscall {nr} {rel} {rest:?}"
            );
        }
    }

    #[test]
    fn names_by_access() {
        use libc::{SYS_mkdir, SYS_mknod, SYS_rmdir, SYS_unlink};
        let fifo = u64::from(libc::S_IFIFO | 0o644);
        let chr = u64::from(libc::S_IFCHR | 0o644);
        let dir = u64::from(libc::S_IFDIR | 0o755);
        table(&[
            (SYS_mkdir, "rw/new", &[0o755], OK),
            (SYS_mkdir, "ro/new", &[0o755], EACCES),
            (SYS_mkdir, "deny/new", &[0o755], EACCES),
            (SYS_mkdir, "hide/new", &[0o755], ENOENT),
            (SYS_mkdir, "new", &[0o755], EACCES),
            (SYS_mkdir, "rw/f", &[0o755], Err(libc::EEXIST)),
            // The kernel finds the name taken before it checks the right
            // to write; a denied or hidden one is refused first.
            (SYS_mkdir, "ro/f", &[0o755], Err(libc::EEXIST)),
            (SYS_mkdir, "deny/f", &[0o755], EACCES),
            (SYS_mkdir, "hide/f", &[0o755], ENOENT),
            (SYS_mkdir, "rw/missing/new", &[0o755], ENOENT),
            (SYS_mkdir, "rw/new/", &[0o755], OK),
            (SYS_mknod, "rw/fifo", &[fifo, 0], OK),
            (SYS_mknod, "rw/plain", &[0o644, 0], OK),
            (SYS_mknod, "ro/fifo", &[fifo, 0], EACCES),
            (SYS_mknod, "hide/fifo", &[fifo, 0], ENOENT),
            // rw makes regular files and FIFOs only; a directory or an
            // unknown type is refused before the path is looked at.
            (SYS_mknod, "rw/dev", &[chr, 0], Err(libc::EPERM)),
            (SYS_mknod, "rw/dir", &[dir, 0], Err(libc::EPERM)),
            (SYS_mknod, "hide/dir", &[dir, 0], Err(libc::EPERM)),
            (SYS_mknod, "rw/odd", &[0o170_644, 0], Err(libc::EINVAL)),
            (SYS_mknod, "rw/fifo/", &[fifo, 0], ENOENT),
            (SYS_unlink, "rw/f", &[], OK),
            (SYS_unlink, "ro/f", &[], EACCES),
            (SYS_unlink, "deny/f", &[], EACCES),
            (SYS_unlink, "hide/f", &[], ENOENT),
            (SYS_unlink, "other", &[], EACCES),
            (SYS_unlink, "rw/missing", &[], ENOENT),
            (SYS_unlink, "ro/missing", &[], ENOENT),
            (SYS_unlink, "rw/sub", &[], Err(libc::EISDIR)),
            (SYS_unlink, "rw/f/", &[], Err(libc::ENOTDIR)),
            (SYS_unlink, "rw/link", &[], OK),
            (SYS_rmdir, "rw/sub", &[], OK),
            (SYS_rmdir, "rw/sub/.", &[], Err(libc::EINVAL)),
            (SYS_rmdir, "rw/f", &[], Err(libc::ENOTDIR)),
            (SYS_rmdir, "rw/missing", &[], ENOENT),
            (SYS_rmdir, "ro", &[], EACCES),
            (SYS_rmdir, "deny", &[], EACCES),
            (SYS_rmdir, "hide", &[], ENOENT),
        ]);
    }

    #[test]
    fn names_are_made_and_removed_as_asked() {
        let mut r = Run::fixture();
        let mut p = r.program();
        p.set_umask(0o027);
        assert_eq!(on(&mut r, &mut p, libc::SYS_mkdir, "rw/new", &[0o777]), OK);
        let mode = std::fs::metadata(r.dir.join("rw/new"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o750);
        assert_eq!(on(&mut r, &mut p, libc::SYS_unlink, "ro/f", &[]), EACCES);
        assert!(r.dir.join("ro/f").exists());
        assert_eq!(on(&mut r, &mut p, libc::SYS_unlink, "rw/f", &[]), OK);
        assert!(!r.dir.join("rw/f").exists());
        // symlink(target, path): the target is text, never looked up.
        let target = p.put_cstr(b"../deny/f");
        let path = p.put_cstr(&r.path("rw/sl"));
        assert_eq!(
            value(&r.call(&mut p, libc::SYS_symlink, &[target, path])),
            OK
        );
        let t = std::fs::read_link(r.dir.join("rw/sl")).unwrap();
        assert_eq!(t.to_str(), Some("../deny/f"));
        let path = p.put_cstr(&r.path("ro/sl"));
        assert_eq!(
            value(&r.call(&mut p, libc::SYS_symlink, &[target, path])),
            EACCES
        );
        let path = p.put_cstr(&r.path("hide/sl"));
        assert_eq!(
            value(&r.call(&mut p, libc::SYS_symlink, &[target, path])),
            ENOENT
        );
        let empty = p.put_cstr(b"");
        let path = p.put_cstr(&r.path("rw/sl2"));
        assert_eq!(
            value(&r.call(&mut p, libc::SYS_symlink, &[empty, path])),
            ENOENT
        );
        // unlinkat: only AT_REMOVEDIR.
        let path = p.put_cstr(&r.path("rw/sub"));
        let cwd = arg(libc::AT_FDCWD);
        let got = r.call(&mut p, libc::SYS_unlinkat, &[cwd, path, 1]);
        assert_eq!(value(&got), Err(libc::EINVAL));
        let got = r.call(
            &mut p,
            libc::SYS_unlinkat,
            &[cwd, path, arg(libc::AT_REMOVEDIR)],
        );
        assert_eq!(value(&got), OK);
        // Gone before the change: nothing changes.
        p.die();
        let path = p.put_cstr(&r.path("rw/target"));
        assert!(matches!(
            r.call(&mut p, libc::SYS_unlink, &[path]),
            Reply::Gone
        ));
        assert!(r.dir.join("rw/target").exists());
    }

    #[test]
    fn objects_by_access() {
        use libc::{SYS_chmod, SYS_chown, SYS_removexattr, SYS_setxattr, SYS_truncate};
        let (uid, gid) = {
            let m = std::fs::metadata("/proc/self").unwrap();
            (u64::from(m.uid()), u64::from(m.gid()))
        };
        table(&[
            (SYS_chmod, "rw/f", &[0o600], OK),
            (SYS_chmod, "ro/f", &[0o600], EACCES),
            (SYS_chmod, "deny/f", &[0o600], EACCES),
            (SYS_chmod, "hide/f", &[0o600], ENOENT),
            (SYS_chmod, "other", &[0o600], EACCES),
            (SYS_chmod, "rw/missing", &[0o600], ENOENT),
            // Nothing there to refuse a change to.
            (SYS_chmod, "ro/missing", &[0o600], ENOENT),
            (SYS_chmod, "deny/missing", &[0o600], EACCES),
            (SYS_chmod, "content", &[0o600], EACCES),
            (SYS_chmod, "redirect", &[0o600], EACCES),
            (SYS_chmod, "ro", &[0o700], EACCES),
            (SYS_chown, "rw/f", &[uid, gid], OK),
            (SYS_chown, "ro/f", &[uid, gid], EACCES),
            (SYS_chown, "hide/f", &[uid, gid], ENOENT),
            (SYS_truncate, "rw/f", &[1], OK),
            (SYS_truncate, "ro/f", &[1], EACCES),
            (SYS_truncate, "hide/f", &[1], ENOENT),
            (SYS_truncate, "rw/sub", &[0], Err(libc::EISDIR)),
            (SYS_truncate, "rw/f", &[u64::MAX], Err(libc::EINVAL)),
            (SYS_truncate, "hide/f", &[u64::MAX], Err(libc::EINVAL)),
            (SYS_setxattr, "ro/f", &[0, 0, 0, 0], EFAULT_OR_FIRST),
            (SYS_removexattr, "ro/f", &[0], EFAULT_OR_FIRST),
        ]);
        let mut r = Run::fixture();
        let mut p = r.program();
        assert_eq!(on(&mut r, &mut p, SYS_chmod, "rw/f", &[0o640]), OK);
        let mode = std::fs::metadata(r.dir.join("rw/f"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
        assert_eq!(on(&mut r, &mut p, SYS_truncate, "rw/f", &[1]), OK);
        assert_eq!(std::fs::read(r.dir.join("rw/f")).unwrap(), b"r");
        assert_eq!(on(&mut r, &mut p, SYS_truncate, "ro/f", &[0]), EACCES);
        assert_eq!(std::fs::read(r.dir.join("ro/f")).unwrap(), b"ro");
    }

    /// (A null name faults, whatever the path.)
    const EFAULT_OR_FIRST: Result<i64, i32> = Err(libc::EFAULT);

    #[test]
    fn xattrs_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let name = p.put_cstr(b"user.fdsup-test");
        let value_at = p.put(b"v");
        let set = |r: &mut Run, p: &mut Fake, rel: &str, name: u64, size: u64, flags: i32| {
            on(
                r,
                p,
                libc::SYS_setxattr,
                rel,
                &[name, value_at, size, arg(flags)],
            )
        };
        let rw = set(&mut r, &mut p, "rw/f", name, 1, 0);
        assert!(matches!(rw, OK | Err(libc::EOPNOTSUPP)), "{rw:?}");
        assert_eq!(set(&mut r, &mut p, "ro/f", name, 1, 0), EACCES);
        assert_eq!(set(&mut r, &mut p, "deny/f", name, 1, 0), EACCES);
        assert_eq!(set(&mut r, &mut p, "hide/f", name, 1, 0), ENOENT);
        // The flags, then the name, then the value, before the path.
        assert_eq!(set(&mut r, &mut p, "hide/f", name, 1, 4), Err(libc::EINVAL));
        let empty = p.put_cstr(b"");
        assert_eq!(
            set(&mut r, &mut p, "hide/f", empty, 1, 0),
            Err(libc::ERANGE)
        );
        let long = p.put_cstr(&[b'n'; XATTR_NAME_BYTES + 1]);
        assert_eq!(set(&mut r, &mut p, "hide/f", long, 1, 0), Err(libc::ERANGE));
        let huge = (XATTR_VALUE_BYTES + 1) as u64;
        assert_eq!(
            set(&mut r, &mut p, "hide/f", name, huge, 0),
            Err(libc::E2BIG)
        );
        assert_eq!(set(&mut r, &mut p, "hide/f", name, 2, 0), Err(libc::EFAULT));
        let remove =
            |r: &mut Run, p: &mut Fake, rel: &str| on(r, p, libc::SYS_removexattr, rel, &[name]);
        assert_eq!(remove(&mut r, &mut p, "ro/f"), EACCES);
        assert_eq!(remove(&mut r, &mut p, "hide/f"), ENOENT);
        assert_eq!(remove(&mut r, &mut p, "deny/missing"), EACCES);
    }

    #[test]
    fn times_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let cwd = arg(libc::AT_FDCWD);
        let times = |p: &Fake, n0: i64, n1: i64| {
            let raw: Vec<u8> = [1_i64, n0, 2, n1]
                .iter()
                .flat_map(|v| v.to_ne_bytes())
                .collect();
            p.put(&raw)
        };
        let utimensat = |r: &mut Run, p: &mut Fake, rel: &str, t: u64, flags: i32| {
            let path = p.put_cstr(&r.path(rel));
            value(&r.call(p, libc::SYS_utimensat, &[cwd, path, t, arg(flags)]))
        };
        let good = times(&p, 0, 0);
        assert_eq!(utimensat(&mut r, &mut p, "rw/f", good, 0), OK);
        assert_eq!(std::fs::metadata(r.dir.join("rw/f")).unwrap().mtime(), 2);
        assert_eq!(utimensat(&mut r, &mut p, "rw/f", 0, 0), OK);
        assert_eq!(utimensat(&mut r, &mut p, "ro/f", good, 0), EACCES);
        assert_eq!(utimensat(&mut r, &mut p, "ro/f", 0, 0), EACCES);
        assert_eq!(utimensat(&mut r, &mut p, "hide/f", good, 0), ENOENT);
        assert_eq!(utimensat(&mut r, &mut p, "deny/f", good, 0), EACCES);
        // Out of range: EINVAL once the object is found, unless the policy
        // hides or denies it.
        let bad = times(&p, 1_000_000_000, 0);
        assert_eq!(utimensat(&mut r, &mut p, "rw/f", bad, 0), Err(libc::EINVAL));
        assert_eq!(utimensat(&mut r, &mut p, "ro/f", bad, 0), Err(libc::EINVAL));
        assert_eq!(utimensat(&mut r, &mut p, "hide/f", bad, 0), ENOENT);
        assert_eq!(utimensat(&mut r, &mut p, "deny/f", bad, 0), EACCES);
        // UTIME_OMIT twice: nothing to do, nothing looked at.
        let omit = times(&p, UTIME_OMIT, UTIME_OMIT);
        assert_eq!(utimensat(&mut r, &mut p, "hide/f", omit, 0), OK);
        // Unknown flags; times that cannot be read.
        assert_eq!(
            utimensat(&mut r, &mut p, "rw/f", good, 0x4),
            Err(libc::EINVAL)
        );
        assert_eq!(utimensat(&mut r, &mut p, "rw/f", 8, 0), Err(libc::EFAULT));
        // futimens: the program's descriptor, decided on its path.
        p.open_fd(7, &r.dir.join("ro/f"));
        p.open_fd(8, &r.dir.join("rw/f"));
        let fd = |n: u64, r: &mut Run, p: &mut Fake| {
            value(&r.call(p, libc::SYS_utimensat, &[n, 0, good, 0]))
        };
        assert_eq!(fd(7, &mut r, &mut p), EACCES);
        assert_eq!(fd(8, &mut r, &mut p), OK);
        assert_eq!(fd(9, &mut r, &mut p), Err(libc::EBADF));
        // fchmod likewise.
        let got = r.call(&mut p, libc::SYS_fchmod, &[7, 0o600]);
        assert_eq!(value(&got), EACCES);
        let got = r.call(&mut p, libc::SYS_fchmod, &[8, 0o600]);
        assert_eq!(value(&got), OK);
    }
}

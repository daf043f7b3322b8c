//! `link`, `linkat`, `rename`, `renameat`, `renameat2`: carried out by the
//! supervisor.
//!
//! Left to the kernel, a hard link or a rename would move a denied or hidden
//! file to a path the policy allows, and the next open would read it there.
//! So both paths are read once, the *directory* part of each is resolved by
//! the careful walk (the last component is never followed, as these calls
//! never follow it, except `linkat(AT_SYMLINK_FOLLOW)`), the policy decides
//! on both canonical paths (SPEC.md: a rename needs `rw` on both ends, a hard
//! link `rw` on the source, whose link count changes, and on the target's
//! directory), and the supervisor makes the call itself on the resolved
//! directory descriptors with the final names, so a path swapped afterwards
//! changes nothing.

use std::ffi::CString;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::{decide, Ctx, Log, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::walk::{walk, Asker, Start, WalkBufs, Walked};
use crate::notify::{Listener, Notif};
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::{RemoteFd, Task};

/// One path argument: where it starts and its text.
pub(super) struct Arg {
    pub(super) start: Start,
    pub(super) path: Vec<u8>,
}

/// A resolved end: the directory that holds it, the name in it, and the
/// canonical path.
pub(super) struct End {
    pub(super) dir: OwnedFd,
    pub(super) name: CString,
    pub(super) path: Vec<u8>,
}

/// Handles one link- or rename-family notification.
pub fn handle(ctx: &Ctx, listener: &Listener, n: &Notif, m: &Mediated, sc: &mut Scratch) -> Reply {
    let mut task = Task::new(n.pid);
    let a = n.data.args;
    let int = sys::low_i32;
    // (old dirfd, old path, new dirfd, new path, flags)
    let (odir, opath, ndir, npath, flags) = match m.kind {
        Kind::Link | Kind::Rename => (libc::AT_FDCWD, a[0], libc::AT_FDCWD, a[1], 0),
        Kind::Linkat => (int(a[0]), a[1], int(a[2]), a[3], int(a[4]).cast_unsigned()),
        Kind::Renameat => (int(a[0]), a[1], int(a[2]), a[3], 0),
        Kind::Renameat2 => (int(a[0]), a[1], int(a[2]), a[3], int(a[4]).cast_unsigned()),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    let is_link = matches!(m.kind, Kind::Link | Kind::Linkat);
    if is_link {
        let known = (libc::AT_SYMLINK_FOLLOW | libc::AT_EMPTY_PATH).cast_unsigned();
        if flags & !known != 0 {
            return Reply::Errno(libc::EINVAL);
        }
    }
    let old = match read_arg(ctx, &mut task, odir, opath, &mut sc.raw) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let new = match read_arg(ctx, &mut task, ndir, npath, &mut sc.raw) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // Everything learnt through the task's number is this request's only if
    // the request is still pending now.
    if !listener.id_valid(n.id) {
        return Reply::Gone;
    }
    let mut asker = Asker::with_policy(&task, ctx.sup_pid, &ctx.policy);
    let mut log = Log {
        ctx,
        syscall: m.name,
        tid: task.tid(),
        line: &mut sc.line,
    };

    let empty_path =
        is_link && flags & libc::AT_EMPTY_PATH.cast_unsigned() != 0 && old.path.is_empty();
    let follow = is_link && flags & libc::AT_SYMLINK_FOLLOW.cast_unsigned() != 0;
    let src = if empty_path || follow {
        // The source is an object, not a name: resolve it whole.
        match resolve_whole(&mut asker, ctx, old, empty_path, &mut sc.walk) {
            Ok(v) => v,
            Err(e) => {
                return Reply::Errno(super::walk_error(
                    ctx,
                    &mut asker,
                    &sc.walk.path,
                    &mut sc.matched,
                    e,
                ))
            }
        }
    } else {
        let dot = if is_link { libc::EPERM } else { libc::EBUSY };
        match resolve_end(&mut asker, ctx, old, dot, &mut sc.walk) {
            Ok(End { dir, name, path }) => Source::Named(End { dir, name, path }),
            Err(e) => {
                return Reply::Errno(super::walk_error(
                    ctx,
                    &mut asker,
                    &sc.walk.path,
                    &mut sc.matched,
                    e,
                ))
            }
        }
    };
    let dot = if is_link { libc::EEXIST } else { libc::EBUSY };
    let dst = match resolve_end(&mut asker, ctx, new, dot, &mut sc.walk) {
        Ok(v) => v,
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
    if !listener.id_valid(n.id) {
        return Reply::Gone;
    }

    // Decide: the source always needs rw; the target rw on its path, and a
    // link's also on its directory (SPEC.md asks for the directory; the
    // name itself must not be one the policy refuses either).
    let src_path = src.path().to_vec();
    match &src {
        Source::Object {
            unlinked: true,
            held,
            ..
        } => {
            // An unlinked file has no path to decide on. The kernel links
            // only an O_TMPFILE file (ENOENT for any other), which needs
            // write access to make: give it a name only if the program's
            // descriptor can write it, so that a descriptor of someone
            // else's deleted file, held read-only, gets no new name.
            if !matches!(*held, Some(libc::O_RDWR | libc::O_WRONLY)) {
                log.write(&src_path, Verdict::Deny, Some(libc::EACCES), None);
                return Reply::Errno(libc::EACCES);
            }
        }
        _ => {
            if let Err(r) = need_rw(ctx, &mut asker, &src_path, &mut sc.matched, &mut log) {
                return r;
            }
        }
    }
    if is_link {
        let dir = parent_of(&dst.path).to_vec();
        if let Err(r) = need_rw(ctx, &mut asker, &dir, &mut sc.matched, &mut log) {
            return r;
        }
    }
    if let Err(r) = need_rw(ctx, &mut asker, &dst.path, &mut sc.matched, &mut log) {
        return r;
    }
    if !is_link {
        // Moving a directory moves everything in it: refuse when a rule
        // protects something below either end (what is inside would leave
        // the rule's reach), with EXDEV, which `mv` and friends answer by
        // copying (each file then decided on its own).
        let exchange = flags & libc::RENAME_EXCHANGE != 0;
        let Source::Named(s) = &src else {
            return Reply::Errno(libc::EINVAL);
        };
        let mut ends: [Option<&[u8]>; 2] = [None, None];
        if is_dir_or_unknown(s) {
            ends[0] = Some(&s.path);
        }
        if exchange && is_dir_or_unknown(&dst) {
            ends[1] = Some(&dst.path);
        }
        for end in ends.into_iter().flatten() {
            if let Some(rule) = ctx.policy.fs_rule_below(end) {
                log.write(end, Verdict::Deny, Some(libc::EXDEV), Some(rule));
                return Reply::Errno(libc::EXDEV);
            }
        }
    }
    log.write(&src_path, Verdict::Allow, None, None);

    let r = if is_link {
        match &src {
            Source::Named(s) => sys::linkat(
                s.dir.as_raw_fd(),
                &s.name,
                dst.dir.as_raw_fd(),
                &dst.name,
                0,
            ),
            Source::Object { fd, .. } => sys::linkat(
                fd.as_raw_fd(),
                c"",
                dst.dir.as_raw_fd(),
                &dst.name,
                libc::AT_EMPTY_PATH,
            ),
        }
    } else {
        // Both ends were decided rw, which also covers RENAME_EXCHANGE.
        let Source::Named(s) = &src else {
            return Reply::Errno(libc::EINVAL);
        };
        sys::renameat2(
            s.dir.as_raw_fd(),
            &s.name,
            dst.dir.as_raw_fd(),
            &dst.name,
            flags,
        )
    };
    match r {
        Ok(()) => Reply::Value(0),
        Err(e) => Reply::Errno(e.raw_os_error().unwrap_or(libc::EIO)),
    }
}

/// Is the named object a directory (or can we not tell)?
fn is_dir_or_unknown(e: &End) -> bool {
    sys::lstat_mode(e.dir.as_raw_fd(), &e.name).map_or(true, |m| m & libc::S_IFMT == libc::S_IFDIR)
}

/// The source of a link or rename.
enum Source {
    /// A name in a directory (never followed).
    Named(End),
    /// A resolved object (`AT_SYMLINK_FOLLOW`, `AT_EMPTY_PATH`).
    Object {
        /// An `O_PATH` descriptor of it.
        fd: OwnedFd,
        /// Its canonical path.
        path: Vec<u8>,
        /// It has been unlinked (its path decides nothing).
        unlinked: bool,
        /// The access mode the program's descriptor of it has, if known.
        held: Option<i32>,
    },
}

impl Source {
    fn path(&self) -> &[u8] {
        match self {
            Source::Named(e) => &e.path,
            Source::Object { path, .. } => path,
        }
    }
}

/// Reads one path argument and learns where it starts (through the task's
/// number: the caller checks `ID_VALID` afterwards).
pub(super) fn read_arg(
    ctx: &Ctx,
    task: &mut Task,
    dirfd: i32,
    addr: u64,
    buf: &mut [u8],
) -> Result<Arg, Reply> {
    let len = task
        .read_cstr(addr, buf)
        .map_err(|e| e.reply(libc::ENAMETOOLONG))?;
    let len = ctx.privates.rewrite(buf, len).map_err(Reply::Errno)?;
    let path = buf[..len].to_vec();
    let start = if path.first() == Some(&b'/') {
        Start::Root
    } else if dirfd == libc::AT_FDCWD {
        Start::Dir(task.open_cwd().map_err(|_| Reply::Errno(libc::ENOENT))?)
    } else {
        let fd = RemoteFd::from_arg(u64::from(dirfd.unsigned_abs()))
            .filter(|_| dirfd >= 0)
            .ok_or(Reply::Errno(libc::EBADF))?;
        Start::Dir(task.get_fd(fd).map_err(|_| Reply::Errno(libc::EBADF))?)
    };
    Ok(Arg { start, path })
}

/// Resolves the directory part of `arg`; the last component stays a name.
pub(super) fn resolve_end(
    asker: &mut Asker<'_>,
    ctx: &Ctx,
    arg: Arg,
    dot_errno: i32,
    b: &mut WalkBufs,
) -> Result<End, i32> {
    if arg.path.is_empty() {
        return Err(libc::ENOENT);
    }
    let trimmed_len = arg
        .path
        .iter()
        .rposition(|&c| c != b'/')
        .map_or(0, |i| i + 1);
    if trimmed_len == 0 {
        // "/" itself: busy, as the kernel says for a mount point.
        return Err(libc::EBUSY);
    }
    let trimmed = &arg.path[..trimmed_len];
    let (dir_part, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (if i == 0 { b"/" } else { &trimmed[..i] }, &trimmed[i + 1..]),
        None => (b".", trimmed),
    };
    if name == b"." || name == b".." {
        return Err(dot_errno);
    }
    let walked = walk(asker, ctx.root.as_fd(), arg.start, dir_part, 0, true, b)?;
    let dir = match walked {
        Walked::Found {
            fd,
            pathless: false,
            ..
        } => fd,
        Walked::Found { .. } => return Err(libc::ENOTDIR),
        Walked::Missing { .. } | Walked::Absent => return Err(libc::ENOENT),
    };
    let mut path = b.path.clone();
    crate::fs::lexical::push_component(&mut path, name);
    let name = CString::new(name).map_err(|_| libc::EINVAL)?;
    if trimmed_len < arg.path.len() {
        // A trailing slash: the object must be a directory.
        if let Ok(m) = sys::lstat_mode(dir.as_raw_fd(), &name) {
            if m & libc::S_IFMT != libc::S_IFDIR {
                return Err(libc::ENOTDIR);
            }
        }
    }
    Ok(End { dir, name, path })
}

/// Resolves the whole of `arg` to an object (following a final symbolic
/// link), or takes the descriptor itself (`AT_EMPTY_PATH`).
fn resolve_whole(
    asker: &mut Asker<'_>,
    ctx: &Ctx,
    arg: Arg,
    empty: bool,
    b: &mut WalkBufs,
) -> Result<Source, i32> {
    if empty {
        let Start::Dir(fd) = arg.start else {
            return Err(libc::EBADF);
        };
        crate::task::fd_path(fd.as_fd(), &mut b.path).map_err(|_| libc::EBADF)?;
        if b.path.first() != Some(&b'/') {
            // A pipe, a socket: nothing a directory can hold.
            return Err(libc::EXDEV);
        }
        // Our copy shares the program's open file description.
        let held = sys::getfl(fd.as_fd())
            .ok()
            .filter(|f| f & libc::O_PATH == 0)
            .map(|f| f & libc::O_ACCMODE);
        return Ok(Source::Object {
            fd,
            unlinked: b.path.ends_with(b" (deleted)"),
            path: b.path.clone(),
            held,
        });
    }
    match walk(asker, ctx.root.as_fd(), arg.start, &arg.path, 0, true, b)? {
        Walked::Found { pathless: true, .. } => Err(libc::EXDEV),
        Walked::Found {
            fd, unlinked, held, ..
        } => Ok(Source::Object {
            fd,
            path: b.path.clone(),
            unlinked,
            held,
        }),
        Walked::Missing { .. } | Walked::Absent => Err(libc::ENOENT),
    }
}

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&c| c == b'/') {
        Some(0) | None => b"/",
        Some(i) => &path[..i],
    }
}

/// Refuses unless the policy gives `rw` on `path`.
fn need_rw(
    ctx: &Ctx,
    asker: &mut Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
    log: &mut Log<'_>,
) -> Result<(), Reply> {
    log.note_write(path);
    let (action, rule) = decide(ctx, asker, path, matched);
    let (verdict, errno) = match action {
        FsAction::Access(FsAccess::Rw) => return Ok(()),
        FsAction::Access(FsAccess::Hide) => (Verdict::Hide, libc::ENOENT),
        // ro, deny, and paths served from elsewhere or from memory.
        _ => (Verdict::Deny, libc::EACCES),
    };
    log.write(path, verdict, Some(errno), rule);
    Err(Reply::Errno(errno))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent_of(b"/a/b"), b"/a");
        assert_eq!(parent_of(b"/a"), b"/");
        assert_eq!(parent_of(b"/"), b"/");
    }
}

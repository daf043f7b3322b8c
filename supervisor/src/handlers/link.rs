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

use super::{decide, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::lexical::has_trailing_slash;
use crate::fs::walk::{walk, Asker, Start, WalkBufs, Walked};
use crate::fs::Root;
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::RemoteFd;

/// One path argument: where it starts and its text.
pub(super) struct Arg {
    pub(super) start: Start,
    pub(super) path: Vec<u8>,
}

/// What the last component of a path is (the kernel's `LAST_*`): each call
/// has its own errno for the three that name no entry, given only once the
/// directory part has been looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Last {
    /// A name.
    Norm,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// The path is `/` (or only slashes).
    Root,
}

/// A resolved end: the directory that holds it, the name in it, and the
/// canonical path (for `.`, `..` and `/`: the directory they name).
pub(super) struct End {
    pub(super) dir: OwnedFd,
    pub(super) name: CString,
    pub(super) path: Vec<u8>,
    /// What the last component is.
    pub(super) last: Last,
    /// The path ended in a slash (the caller applies what that means for
    /// its call).
    pub(super) slash: bool,
}

/// Handles one link- or rename-family notification.
///
/// In the kernel's order: the flags; the first path (read, its directory
/// descriptor, its directories looked up; a link's source whole); the
/// second; what the last components are; then existence and trailing
/// slashes. The policy's hide and deny are answered where the path they
/// cover is looked up (as if absent, or unreachable); `ro` where the kernel
/// would find a read-only mount, after all that.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
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
    } else {
        let (noreplace, exchange, whiteout) = (
            libc::RENAME_NOREPLACE,
            libc::RENAME_EXCHANGE,
            libc::RENAME_WHITEOUT,
        );
        if flags & !(noreplace | exchange | whiteout) != 0
            || (flags & (noreplace | whiteout) != 0 && flags & exchange != 0)
        {
            return Reply::Errno(libc::EINVAL);
        }
    }
    let empty_ok = is_link && flags & libc::AT_EMPTY_PATH.cast_unsigned() != 0;
    let old = match read_arg(ctx, p, odir, opath, &mut sc.raw, empty_ok) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let empty_path = empty_ok && old.path.is_empty();
    // A link's source with a trailing slash is followed, as with
    // AT_SYMLINK_FOLLOW (and must be a directory).
    let follow = is_link
        && (flags & libc::AT_SYMLINK_FOLLOW.cast_unsigned() != 0 || has_trailing_slash(&old.path));
    let root = ctx.root(&sc.task_root);
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let src = if empty_path || follow {
        // The source is an object, not a name: resolve it whole.
        resolve_whole(&mut asker, &root, old, empty_path, &mut sc.walk)
    } else {
        resolve_end(&mut asker, &root, old, &mut sc.walk).and_then(|e| {
            // A link's source is looked up whole (not followed): it must
            // be there, before anything about the target is known.
            if is_link && e.last == Last::Norm {
                sys::lstat_mode(e.dir.as_raw_fd(), &e.name).map_err(|err| errno_of(&err))?;
            }
            Ok(Source::Named(e))
        })
    };
    let src = match src {
        Ok(s) => s,
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
    // A link's source is looked up whole before the target: a hidden or
    // denied one is refused now (a rename's last component comes later).
    if is_link
        && !matches!(
            src,
            Source::Object { pathless: true, .. } | Source::Object { unlinked: true, .. }
        )
    {
        let mut log = Log::new(ctx, m.name, p.tid(), &mut sc.line);
        let p = src.path().to_vec();
        if let Err(r) = not_refused(ctx, &mut asker, &p, &mut sc.matched, &mut log) {
            return r;
        }
    }
    let new = match read_arg(ctx, p, ndir, npath, &mut sc.raw, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let dst = match resolve_end(&mut asker, &root, new, &mut sc.walk) {
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
    if !p.vouch() {
        return Reply::Gone;
    }
    let mut log = Log::new(ctx, m.name, p.tid(), &mut sc.line);

    // Hidden or denied ends: as if absent, or unreachable.
    let src_path = src.path().to_vec();
    let src_unlinked = matches!(
        src,
        Source::Object { unlinked: true, .. } | Source::Object { pathless: true, .. }
    );
    if !src_unlinked {
        if let Err(r) = not_refused(ctx, &mut asker, &src_path, &mut sc.matched, &mut log) {
            return r;
        }
    }
    if let Err(r) = not_refused(ctx, &mut asker, &dst.path, &mut sc.matched, &mut log) {
        return r;
    }

    // What the kernel finds before it would write anything, in its order.
    let exchange = flags & libc::RENAME_EXCHANGE != 0;
    let mount = |fd: &OwnedFd| sys::mount_id(fd.as_fd()).ok();
    if is_link {
        if dst.last != Last::Norm {
            return Reply::Errno(libc::EEXIST);
        }
        match sys::lstat_mode(dst.dir.as_raw_fd(), &dst.name) {
            Ok(_) => return Reply::Errno(libc::EEXIST),
            Err(e) if e.raw_os_error() != Some(libc::ENOENT) => return Reply::Errno(errno_of(&e)),
            // procfs answers a name it does not have with an error.
            Err(_) if sys::on_procfs(dst.dir.as_fd()) => return Reply::Errno(libc::ENOENT),
            Err(_) => {}
        }
        if dst.slash {
            return Reply::Errno(libc::ENOENT);
        }
        if sys::on_read_only_mount(dst.dir.as_fd()) {
            return Reply::Errno(libc::EROFS);
        }
        // The source's own mount (a mount point is on the mount it roots).
        let src_mount = match &src {
            Source::Named(s) => {
                let how = sys::OpenHow {
                    flags: u64::from(
                        (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC).unsigned_abs(),
                    ),
                    mode: 0,
                    resolve: 0,
                };
                sys::openat2(s.dir.as_raw_fd(), &s.name, &how)
                    .ok()
                    .and_then(|o| mount(&o))
            }
            Source::Object { fd, .. } => mount(fd),
        };
        if matches!(src, Source::Object { pathless: true, .. }) || src_mount != mount(&dst.dir) {
            return Reply::Errno(libc::EXDEV);
        }
    } else {
        let Source::Named(s) = &src else {
            return Reply::Errno(libc::EINVAL);
        };
        if mount(&s.dir) != mount(&dst.dir) {
            return Reply::Errno(libc::EXDEV);
        }
        if s.last != Last::Norm {
            return Reply::Errno(libc::EBUSY);
        }
        if dst.last != Last::Norm {
            return Reply::Errno(if flags & libc::RENAME_NOREPLACE != 0 {
                libc::EEXIST
            } else {
                libc::EBUSY
            });
        }
        if sys::on_read_only_mount(s.dir.as_fd()) {
            return Reply::Errno(libc::EROFS);
        }
        let old_mode = match sys::lstat_mode(s.dir.as_raw_fd(), &s.name) {
            Ok(m) => m,
            Err(e) => return Reply::Errno(errno_of(&e)),
        };
        let new_mode = match sys::lstat_mode(dst.dir.as_raw_fd(), &dst.name) {
            Ok(m) => Some(m),
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => None,
            Err(e) => return Reply::Errno(errno_of(&e)),
        };
        if flags & libc::RENAME_NOREPLACE != 0 && new_mode.is_some() {
            return Reply::Errno(libc::EEXIST);
        }
        if exchange && new_mode.is_none() {
            return Reply::Errno(libc::ENOENT);
        }
        let is_dir = |m: u32| m & libc::S_IFMT == libc::S_IFDIR;
        if !is_dir(old_mode) && (s.slash || (dst.slash && !exchange)) {
            return Reply::Errno(libc::ENOTDIR);
        }
        if exchange && dst.slash && !new_mode.is_some_and(is_dir) {
            return Reply::Errno(libc::ENOTDIR);
        }
    }

    // Decide: the source always needs rw; the target rw on its path, and a
    // link's also on its directory (SPEC.md asks for the directory; the
    // name itself must not be one the policy refuses either).
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
            // A name the program followed (`AT_SYMLINK_FOLLOW`, as of
            // `/proc/self/fd/N`) needs no capability, where `AT_EMPTY_PATH`
            // needs `CAP_DAC_READ_SEARCH`: our descriptor is linked by its
            // name in our `/proc/self/fd` the same way (through
            // `AT_EMPTY_PATH`, a program that had dropped its capabilities
            // was refused a link it makes natively).
            Source::Object {
                fd, followed: true, ..
            } => sys::linkat(
                libc::AT_FDCWD,
                crate::task::ProcPath::with_prefix("/proc/self/fd/", fd.as_raw_fd(), "").as_cstr(),
                dst.dir.as_raw_fd(),
                &dst.name,
                libc::AT_SYMLINK_FOLLOW,
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
        Err(e) => Reply::Errno(sys::errno_of(&e)),
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
        /// It has no path (a pipe, a socket): on another mount than any
        /// directory, so the link is EXDEV, once the target is looked at.
        pathless: bool,
        /// Its canonical path.
        path: Vec<u8>,
        /// It has been unlinked (its path decides nothing).
        unlinked: bool,
        /// The access mode the program's descriptor of it has, if known.
        held: Option<i32>,
        /// Reached by a name (`AT_SYMLINK_FOLLOW`), not the program's
        /// descriptor itself (`AT_EMPTY_PATH`).
        followed: bool,
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
/// number: the caller checks `ID_VALID` afterwards). An empty path is
/// ENOENT, before its directory descriptor is looked at, unless `empty_ok`
/// (`AT_EMPTY_PATH`).
pub(super) fn read_arg<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    dirfd: i32,
    addr: u64,
    buf: &mut [u8],
    empty_ok: bool,
) -> Result<Arg, Reply> {
    let len = p
        .read_cstr(addr, buf)
        .map_err(|e| e.reply(libc::ENAMETOOLONG))?;
    if len == 0 && !empty_ok {
        return Err(Reply::Errno(libc::ENOENT));
    }
    let len = ctx.privates.rewrite(buf, len).map_err(Reply::Errno)?;
    let path = buf[..len].to_vec();
    let start = if path.first() == Some(&b'/') {
        Start::Root
    } else if dirfd == libc::AT_FDCWD {
        Start::Dir(p.open_cwd().map_err(|_| Reply::Errno(libc::ENOENT))?)
    } else {
        let fd = RemoteFd::from_arg(u64::from(dirfd.unsigned_abs()))
            .filter(|_| dirfd >= 0)
            .ok_or(Reply::Errno(libc::EBADF))?;
        Start::Dir(p.get_fd(fd).map_err(|_| Reply::Errno(libc::EBADF))?)
    };
    Ok(Arg { start, path })
}

/// Resolves the directory part of `arg` (which must be a directory); the
/// last component stays a name, and what it is (a name, `.`, `..`, or none
/// for `/`) is the caller's to judge, after this, as the kernel does.
pub(super) fn resolve_end(
    asker: &mut Asker<'_>,
    root: &Root<'_>,
    arg: Arg,
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
    let slash = trimmed_len < arg.path.len();
    if trimmed_len == 0 {
        // "/" itself: no last component.
        let dir = root
            .fd()
            .ok_or(libc::EACCES)?
            .try_clone_to_owned()
            .map_err(|e| sys::errno_of(&e))?;
        b.path.clear();
        b.path.push(b'/');
        return Ok(End {
            dir,
            name: c".".into(),
            path: b"/".to_vec(),
            last: Last::Root,
            slash,
        });
    }
    let trimmed = &arg.path[..trimmed_len];
    let (dir_part, name): (&[u8], &[u8]) = match trimmed.iter().rposition(|&c| c == b'/') {
        Some(i) => (if i == 0 { b"/" } else { &trimmed[..i] }, &trimmed[i + 1..]),
        None => (b".", trimmed),
    };
    let walked = walk(asker, root, arg.start, dir_part, 0, true, b)?;
    let dir = match walked {
        Walked::Found {
            fd,
            pathless: false,
            ..
        } => fd,
        Walked::Found { .. } => return Err(libc::ENOTDIR),
        Walked::Missing { .. } | Walked::Absent => return Err(libc::ENOENT),
    };
    // `file/x`, `file/.`: the directory part must be one.
    if sys::fstat_mode(dir.as_fd()).map_err(|e| sys::errno_of(&e))? & libc::S_IFMT != libc::S_IFDIR
    {
        return Err(libc::ENOTDIR);
    }
    // And searchable, before its last component is anything (the kernel's
    // may_lookup, which the O_PATH descriptor did not need).
    if !crate::fs::searches_anything() {
        sys::faccessat2(
            dir.as_raw_fd(),
            c"",
            libc::X_OK,
            libc::AT_EMPTY_PATH | libc::AT_EACCESS,
        )
        .map_err(|e| e.raw_os_error().unwrap_or(libc::EACCES))?;
    }
    let last = match name {
        b"." => Last::Dot,
        b".." => Last::DotDot,
        _ => Last::Norm,
    };
    let mut path = b.path.clone();
    match last {
        Last::Norm => crate::fs::lexical::push_component(&mut path, name),
        Last::DotDot => {
            let up = parent_of(&path).len();
            path.truncate(up);
        }
        Last::Dot | Last::Root => {}
    }
    let name = CString::new(name).map_err(|_| libc::EINVAL)?;
    Ok(End {
        dir,
        name,
        path,
        last,
        slash,
    })
}

/// The errno for a trailing slash on the name `e` of a call that does not
/// make a directory there: none if it is one; else ENOENT if nothing is
/// there, ENOTDIR if something else is (`unlink("f/")`, `rename("f/", x)`).
pub(super) fn slash_errno(e: &End) -> Option<i32> {
    if !e.slash {
        return None;
    }
    match sys::lstat_mode(e.dir.as_raw_fd(), &e.name) {
        Err(_) => Some(libc::ENOENT),
        Ok(m) if m & libc::S_IFMT == libc::S_IFDIR => None,
        Ok(_) => Some(libc::ENOTDIR),
    }
}

/// Resolves the whole of `arg` to an object (following a final symbolic
/// link), or takes the descriptor itself (`AT_EMPTY_PATH`).
fn resolve_whole(
    asker: &mut Asker<'_>,
    root: &Root<'_>,
    arg: Arg,
    empty: bool,
    b: &mut WalkBufs,
) -> Result<Source, i32> {
    if empty {
        let Start::Dir(fd) = arg.start else {
            return Err(libc::EBADF);
        };
        crate::task::fd_path(fd.as_fd(), &mut b.path).map_err(|_| libc::EBADF)?;
        // Our copy shares the program's open file description.
        let held = sys::getfl(fd.as_fd())
            .ok()
            .filter(|f| f & libc::O_PATH == 0)
            .map(|f| f & libc::O_ACCMODE);
        let unlinked = crate::fs::unlinked(fd.as_fd(), &b.path);
        return Ok(Source::Object {
            // A pipe, a socket: nothing a directory can hold.
            pathless: b.path.first() != Some(&b'/'),
            fd,
            unlinked,
            path: b.path.clone(),
            held,
            followed: false,
        });
    }
    match walk(asker, root, arg.start, &arg.path, 0, true, b)? {
        Walked::Found {
            fd,
            pathless,
            unlinked,
            held,
            ..
        } => Ok(Source::Object {
            pathless,
            fd,
            path: b.path.clone(),
            unlinked,
            held,
            followed: true,
        }),
        Walked::Missing { .. } | Walked::Absent => Err(libc::ENOENT),
    }
}

use crate::sys::errno_of;

fn parent_of(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&c| c == b'/') {
        Some(0) | None => b"/",
        Some(i) => &path[..i],
    }
}

/// Refuses a path the policy hides (ENOENT) or denies (EACCES); anything
/// else is for [`need_rw`] to judge later.
fn not_refused(
    ctx: &Ctx,
    asker: &mut Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
    log: &mut Log<'_>,
) -> Result<(), Reply> {
    let (action, rule) = decide(ctx, asker, path, matched);
    let (verdict, errno) = match action {
        FsAction::Access(FsAccess::Hide) => (Verdict::Hide, libc::ENOENT),
        FsAction::Access(FsAccess::Deny) => (Verdict::Deny, libc::EACCES),
        _ => return Ok(()),
    };
    log.write(path, verdict, Some(errno), rule);
    Err(Reply::Errno(errno))
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

    use crate::handlers::testing::{arg, Fake, Run};

    /// `nr(D/from, D/to)` (`link`, `rename`): 0 or the errno.
    fn two(r: &mut Run, p: &mut Fake, nr: i64, from: &str, to: &str) -> Result<i64, i32> {
        let a = p.put_cstr(&r.path(from));
        let b = p.put_cstr(&r.path(to));
        match r.call(p, nr, &[a, b]) {
            Reply::Value(v) => Ok(v),
            Reply::Errno(e) => Err(e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn both_ends_by_access() {
        use libc::{SYS_link, SYS_rename};
        const OK: Result<i64, i32> = Ok(0);
        const EACCES: Result<i64, i32> = Err(libc::EACCES);
        const ENOENT: Result<i64, i32> = Err(libc::ENOENT);
        let cases: &[(i64, &str, &str, Result<i64, i32>)] = &[
            (SYS_rename, "rw/f", "rw/g", OK),
            // rw on both ends.
            (SYS_rename, "ro/f", "rw/g", EACCES),
            (SYS_rename, "rw/f", "ro/g", EACCES),
            (SYS_rename, "deny/f", "rw/g", EACCES),
            (SYS_rename, "rw/f", "deny/g", EACCES),
            (SYS_rename, "hide/f", "rw/g", ENOENT),
            (SYS_rename, "rw/f", "hide/g", ENOENT),
            (SYS_rename, "rw/f", "other", EACCES),
            (SYS_rename, "rw/missing", "rw/g", ENOENT),
            (SYS_rename, "rw/f", "rw/missing/g", ENOENT),
            (SYS_rename, "rw/f", "rw/sub", Err(libc::EISDIR)),
            // A hard link: rw on the source and the target's directory.
            (SYS_link, "rw/f", "rw/h", OK),
            (SYS_link, "ro/f", "rw/h", EACCES),
            (SYS_link, "deny/f", "rw/h", EACCES),
            (SYS_link, "hide/f", "rw/h", ENOENT),
            (SYS_link, "rw/f", "ro/h", EACCES),
            (SYS_link, "rw/f", "hide/h", ENOENT),
            (SYS_link, "rw/f", "rw/target", Err(libc::EEXIST)),
            (SYS_link, "rw/missing", "rw/h", ENOENT),
        ];
        for &(nr, from, to, want) in cases {
            let mut r = Run::fixture();
            let mut p = r.program();
            assert_eq!(two(&mut r, &mut p, nr, from, to), want, "{nr} {from} {to}");
        }
        // Nothing moved where it was refused.
        let mut r = Run::fixture();
        let mut p = r.program();
        assert_eq!(two(&mut r, &mut p, SYS_rename, "ro/f", "rw/g"), EACCES);
        assert!(r.dir.join("ro/f").exists() && !r.dir.join("rw/g").exists());
        assert_eq!(two(&mut r, &mut p, SYS_rename, "rw/f", "rw/g"), OK);
        assert!(!r.dir.join("rw/f").exists() && r.dir.join("rw/g").exists());
    }

    #[test]
    fn rename_flags() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let cwd = arg(libc::AT_FDCWD);
        let from = p.put_cstr(&r.path("rw/target"));
        let to = p.put_cstr(&r.path("rw/f"));
        let hidden = p.put_cstr(&r.path("hide/f"));
        let rename2 = |r: &mut Run, p: &mut Fake, a: u64, b: u64, flags: u32| match r.call(
            p,
            libc::SYS_renameat2,
            &[cwd, a, cwd, b, u64::from(flags)],
        ) {
            Reply::Value(v) => Ok(v),
            Reply::Errno(e) => Err(e),
            other => panic!("{other:?}"),
        };
        let (noreplace, exchange) = (libc::RENAME_NOREPLACE, libc::RENAME_EXCHANGE);
        // Unknown flags and NOREPLACE with EXCHANGE: before the paths.
        assert_eq!(
            rename2(&mut r, &mut p, from, hidden, 0x100),
            Err(libc::EINVAL)
        );
        let both = noreplace | exchange;
        assert_eq!(
            rename2(&mut r, &mut p, from, hidden, both),
            Err(libc::EINVAL)
        );
        assert_eq!(
            rename2(&mut r, &mut p, from, to, noreplace),
            Err(libc::EEXIST)
        );
        assert_eq!(
            rename2(&mut r, &mut p, from, hidden, exchange),
            Err(libc::ENOENT)
        );
        assert_eq!(rename2(&mut r, &mut p, from, to, exchange), Ok(0));
        assert_eq!(std::fs::read(r.dir.join("rw/f")).unwrap(), b"target");
        // linkat takes AT_SYMLINK_FOLLOW and AT_EMPTY_PATH only.
        let got = r.call(&mut p, libc::SYS_linkat, &[cwd, from, cwd, hidden, 0x1]);
        assert!(matches!(got, Reply::Errno(libc::EINVAL)), "{got:?}");
        // Gone before the change: nothing moves.
        p.die();
        let got = r.call(&mut p, libc::SYS_rename, &[from, to]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
        assert!(r.dir.join("rw/target").exists());
    }

    #[test]
    fn parents() {
        assert_eq!(parent_of(b"/a/b"), b"/a");
        assert_eq!(parent_of(b"/a"), b"/");
        assert_eq!(parent_of(b"/"), b"/");
    }
}

//! One path argument of a request that is not an open, resolved to the
//! object it names, with the policy's word on it: shared by the stat,
//! directory, mutation and watch handlers.
//!
//! As for opens, the path is read once, the starting point (working
//! directory, dirfd) is fetched through the task's number and vouched for by
//! `ID_VALID`, and the object is held by an `O_PATH` descriptor on which the
//! operation is then carried out, so a path swapped afterwards changes
//! nothing. The common case is one `openat2` with `RESOLVE_NO_SYMLINKS` on
//! the lexical path (which is then the canonical one); a symbolic link, a
//! `..`, `/proc/self` or a trailing slash sends it to the careful walk.

use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::{decide, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::lexical::{has_trailing_slash, is_proc_self, join_normal, proc_pid};
use crate::fs::walk::{walk, Asker, Start, Walked};
use crate::policy::{FsAccess, FsAction};
use crate::sys::{self, OpenHow};
use crate::task::{fd_path, ProcPath, RemoteFd, Task};

/// What a path argument names. Its canonical path is left in
/// `Scratch::walk.path`.
#[derive(Debug)]
pub(super) enum Obj {
    /// An existing object, held `O_PATH` (not followed if it is a final
    /// symbolic link the request does not follow).
    Found {
        fd: OwnedFd,
        /// It has no path (pipe, socket): there is nothing to decide on.
        pathless: bool,
        /// It is the program's own descriptor (`AT_EMPTY_PATH`, a `NULL`
        /// path): already held, no decision needed.
        held: bool,
    },
    /// Nothing there.
    Absent,
}

/// How much a request needs of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    /// Look: stat, readlink, list, watch, chdir (`ro` or `rw`).
    Read,
    /// Change (`rw`).
    Write,
}

/// Reads the path argument at `addr` and resolves it from `dirfd`.
/// `follow`: a final symbolic link is followed. `empty`: an empty path (or,
/// with `null_ok`, a null pointer) names `dirfd` itself (`AT_EMPTY_PATH`).
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    sc: &mut Scratch,
    dirfd: i32,
    addr: u64,
    follow: bool,
    empty: bool,
    null_ok: bool,
) -> Result<Obj, Reply> {
    let len = if addr == 0 && null_ok {
        0
    } else {
        p.read_cstr(addr, &mut sc.raw)
            .map_err(|e| e.reply(libc::ENAMETOOLONG))?
    };
    resolve_read(ctx, p, sc, dirfd, len, follow, empty)
}

/// [`resolve`] of a path already read: `Scratch::raw[..len]`, NUL after it
/// (a socket address's path, read with the rest of the address).
#[allow(clippy::too_many_arguments)]
pub(super) fn resolve_read<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    sc: &mut Scratch,
    dirfd: i32,
    len: usize,
    follow: bool,
    empty: bool,
) -> Result<Obj, Reply> {
    let len = ctx
        .privates
        .rewrite(&mut sc.raw, len)
        .map_err(Reply::Errno)?;
    if len == 0 {
        if !empty {
            return Err(Reply::Errno(libc::ENOENT));
        }
        let fd = if dirfd == libc::AT_FDCWD {
            p.open_cwd().map_err(|_| Reply::Errno(libc::ENOENT))?
        } else {
            fetch(p, dirfd)?
        };
        if !p.vouch() {
            return Err(Reply::Gone);
        }
        fd_path(fd.as_fd(), &mut sc.walk.path).map_err(|_| Reply::Errno(libc::EBADF))?;
        let pathless = sc.walk.path.first() != Some(&b'/');
        return Ok(Obj::Found {
            fd,
            pathless,
            held: true,
        });
    }
    let path = &sc.raw[..len];
    let absolute = path[0] == b'/';
    let root = ctx.root(&sc.task_root);

    // The base: fetched through the task's number.
    let mut base: Option<OwnedFd> = None;
    sc.lex.clear();
    let mut lexical = true;
    if absolute {
        sc.lex.push(b'/');
    } else if dirfd == libc::AT_FDCWD {
        if p.read_link(&mut sc.procs, c"cwd", &mut sc.lex).is_err() {
            lexical = false;
        }
    } else if dirfd < 0 {
        return Err(Reply::Errno(libc::EBADF));
    } else {
        // The directory's path through the task's /proc entry: one syscall
        // where fetching the descriptor takes four. The object is then
        // opened by that path, and decided on it; only the walk needs the
        // descriptor itself.
        let link = ProcPath::with_prefix("fd/", dirfd, "");
        if p.read_link(&mut sc.procs, link.as_cstr(), &mut sc.lex)
            .is_err()
        {
            let fd = fetch(p, dirfd)?;
            if fd_path(fd.as_fd(), &mut sc.lex).is_err() {
                lexical = false;
            }
            base = Some(fd);
        }
    }
    if !p.vouch() {
        return Err(Reply::Gone);
    }

    let lexical = lexical
        && sc.lex.first() == Some(&b'/')
        && !sc.lex.ends_with(b" (deleted)")
        && sc.lex.len() + len < libc::PATH_MAX as usize - 1
        && !has_trailing_slash(path)
        // `.` alone names the working directory, which the kernel must be
        // able to search (not only reach): checked by the walk, unless
        // nothing can refuse it.
        && join_normal(
            &mut sc.lex,
            path,
            dirfd != libc::AT_FDCWD || !crate::fs::searches_anything(),
        )
        && !is_proc_self(&sc.lex)
        && proc_pid(&sc.lex).is_none();
    if lexical {
        if ctx
            .privates
            .rewrite_lexical(&mut sc.lex)
            .map_err(Reply::Errno)?
        {
            // Opened by the rewritten path, not from a descriptor of the
            // host's directory.
            base = None;
        }
        // Relative to the fetched descriptor if there is one, else the
        // absolute lexical path itself (never our own working directory).
        let abs_len = sc.lex.len();
        sc.lex.push(0);
        let nul = if base.is_some() {
            &sc.raw[..=len]
        } else {
            &sc.lex[..]
        };
        let name =
            std::ffi::CStr::from_bytes_with_nul(nul).map_err(|_| Reply::Errno(libc::EINVAL))?;
        let (dir, in_root) = match &base {
            Some(fd) => (fd.as_raw_fd(), 0),
            None => root.at().map_err(Reply::Errno)?,
        };
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        let how = OpenHow {
            flags: u64::from((libc::O_PATH | libc::O_CLOEXEC | nofollow).unsigned_abs()),
            mode: 0,
            resolve: sys::RESOLVE_NO_SYMLINKS | in_root,
        };
        let opened = sys::openat2(dir, name, &how);
        sc.lex.truncate(abs_len);
        match opened {
            Ok(fd) => {
                sc.walk.path.clone_from(&sc.lex);
                return Ok(Obj::Found {
                    fd,
                    pathless: false,
                    held: false,
                });
            }
            // No symbolic link on the way to the missing component: the
            // lexical path is what the kernel would have looked up.
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                sc.walk.path.clone_from(&sc.lex);
                return Ok(virtual_or_absent(ctx, &sc.walk.path));
            }
            // A symbolic link, or an error the walk must place exactly.
            Err(_) => {}
        }
    }

    let start = if absolute {
        Start::Root
    } else if let Some(fd) = base {
        Start::Dir(fd)
    } else if dirfd != libc::AT_FDCWD {
        let fd = fetch(p, dirfd)?;
        if !p.vouch() {
            return Err(Reply::Gone);
        }
        Start::Dir(fd)
    } else {
        match p.open_cwd() {
            Ok(fd) => Start::Dir(fd),
            Err(_) => {
                return Err(if p.vouch() {
                    Reply::Errno(libc::ENOENT)
                } else {
                    Reply::Gone
                })
            }
        }
    };
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let walked = walk(
        &mut asker,
        &root,
        start,
        &sc.raw[..len],
        0,
        follow,
        &mut sc.walk,
    );
    if !p.vouch() {
        return Err(Reply::Gone);
    }
    match walked {
        Ok(Walked::Found {
            fd,
            pathless,
            unlinked,
            ..
        }) => Ok(Obj::Found {
            fd,
            pathless: pathless || unlinked,
            held: false,
        }),
        Ok(Walked::Missing { .. } | Walked::Absent) => Ok(virtual_or_absent(ctx, &sc.walk.path)),
        Err(e) => Err(Reply::Errno(super::walk_error(
            ctx,
            &mut asker,
            &sc.walk.path,
            &mut sc.matched,
            e,
        ))),
    }
}

/// Nothing at `path` on the host: the skeleton's directory if `path` is a
/// directory on the way to virtual files (`handlers::private`), else
/// absent.
fn virtual_or_absent(ctx: &Ctx, path: &[u8]) -> Obj {
    match ctx.privates.virtual_dir(path) {
        Some(fd) => Obj::Found {
            fd,
            pathless: false,
            held: false,
        },
        None => Obj::Absent,
    }
}

/// The program's descriptor `dirfd`, fetched.
pub(super) fn fetch<P: Program>(p: &mut P, fd: i32) -> Result<OwnedFd, Reply> {
    let rfd = RemoteFd::from_arg(u64::from(fd.unsigned_abs()))
        .filter(|_| fd >= 0)
        .ok_or(Reply::Errno(libc::EBADF))?;
    p.get_fd(rfd).map_err(|e| {
        Reply::Errno(if e.raw_os_error() == Some(libc::EBADF) {
            libc::EBADF
        } else {
            libc::EACCES
        })
    })
}

/// Decides `obj` (at `Scratch::walk.path`) for a request of `syscall` that
/// needs `need`, logs the decision, and gives the object to act on: the
/// object itself, or what a `content` or `redirect` rule serves in its place
/// (a look at what the program would see). `unserved` is the errno for a
/// request such rules cannot serve (`readlink`, `chdir`); `None` lets them
/// serve it. `found` is an errno the kernel gives once the object is found
/// and before any permission is checked (times out of range for
/// `utimensat`): given for an object the policy neither hides nor denies.
/// A refusal comes back as the reply to give.
#[allow(clippy::too_many_arguments)]
pub(super) fn decide_obj(
    ctx: &Ctx,
    task: &Task,
    sc: &mut Scratch,
    syscall: &'static str,
    obj: Obj,
    need: Need,
    unserved: Option<i32>,
    found: Option<i32>,
) -> Result<OwnedFd, Reply> {
    let root = ctx.root(&sc.task_root);
    let Scratch {
        walk,
        matched,
        line,
        ..
    } = sc;
    let path = &walk.path;
    let mut log = Log::new(ctx, syscall, task.tid(), line);
    let mut asker = Asker::with_policy(task, ctx.scope, &ctx.policy);
    let (fd, skip) = match obj {
        Obj::Found { fd, pathless, held } => (Some(fd), pathless || (held && need == Need::Read)),
        Obj::Absent => (None, false),
    };
    let (action, rule) = match &fd {
        _ if skip => (&super::ALLOW_RW, None),
        Some(f) => super::decide_found(ctx, &mut asker, path, matched, f.as_fd()),
        None => decide(ctx, &mut asker, path, matched),
    };
    let mut refuse = |v: Verdict, e: i32| {
        log.write(path, v, Some(e), rule);
        Err(Reply::Errno(e))
    };
    let (served, verdict) = match *action {
        // (`Private` never comes out of `decide`: it is the host's path.)
        FsAction::Access(FsAccess::Hide) | FsAction::Private => {
            return refuse(Verdict::Hide, libc::ENOENT)
        }
        FsAction::Access(FsAccess::Deny) => return refuse(Verdict::Deny, libc::EACCES),
        _ if fd.is_some() && found.is_some() => {
            return Err(Reply::Errno(found.unwrap_or(libc::EINVAL)))
        }
        // Nothing there to refuse a change to.
        FsAction::Access(FsAccess::Ro) if need == Need::Write && fd.is_none() => {
            return Err(Reply::Errno(libc::ENOENT))
        }
        FsAction::Access(FsAccess::Ro) if need == Need::Write => {
            return refuse(Verdict::Deny, libc::EACCES)
        }
        FsAction::Access(_) => (None, Verdict::Allow),
        _ if unserved.is_some() => return refuse(Verdict::Deny, unserved.unwrap_or(libc::EACCES)),
        FsAction::Content { .. } if need == Need::Write => {
            return refuse(Verdict::Deny, libc::EACCES)
        }
        FsAction::Content { .. } => {
            let memfd = rule
                .and_then(|i| ctx.contents.get(i))
                .and_then(Option::as_ref)
                .and_then(|m| m.try_clone().ok());
            (
                Some(memfd.ok_or(Reply::Errno(libc::EIO))?),
                Verdict::Content,
            )
        }
        FsAction::Redirect { writable, .. } if need == Need::Write && !writable => {
            return refuse(Verdict::Deny, libc::EACCES)
        }
        FsAction::Redirect { .. } => {
            let target = rule
                .and_then(|i| ctx.redirect_target(i))
                .ok_or(Reply::Errno(libc::EIO))?;
            let how = OpenHow {
                flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
                mode: 0,
                resolve: 0,
            };
            let t = root
                .open_target(target, &how)
                .map_err(|e| Reply::Errno(os_errno(&e)))?;
            (Some(t), Verdict::Redirect)
        }
    };
    match served.or(fd) {
        Some(fd) => {
            log.write(path, verdict, None, rule);
            Ok(fd)
        }
        None => {
            log.note_absent(path);
            Err(Reply::Errno(libc::ENOENT))
        }
    }
}

/// The errno of an `io::Error` from carrying out a request.
pub(super) use crate::sys::errno_of as os_errno;

/// `Ok` as a zero return, an error as its errno.
pub(super) fn done(r: std::io::Result<()>) -> Reply {
    match r {
        Ok(()) => Reply::Value(0),
        Err(e) => Reply::Errno(os_errno(&e)),
    }
}

/// Writes `data` to the program's buffer at `addr`; then `ok`.
pub(super) fn write_out<P: Program>(p: &P, addr: u64, data: &[u8], ok: Reply) -> Reply {
    match p.write(addr, data) {
        Ok(()) => ok,
        Err(e) => e.reply(libc::EFAULT),
    }
}

/// Reads a NUL-terminated string argument of at most `max` bytes (an
/// xattr name, a symlink target).
pub(super) fn read_string<P: Program>(
    p: &P,
    addr: u64,
    max: usize,
    too_long: i32,
) -> Result<std::ffi::CString, Reply> {
    let mut buf = vec![0u8; max + 1];
    let len = p.read_cstr(addr, &mut buf).map_err(|e| e.reply(too_long))?;
    buf.truncate(len);
    std::ffi::CString::new(buf).map_err(|_| Reply::Errno(libc::EINVAL))
}

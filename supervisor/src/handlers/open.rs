//! `open`, `openat`, `openat2`, `creat`: brokered opens.
//!
//! Per request: read the path (and `open_how`) from the program once; resolve
//! it in the supervisor; check `ID_VALID` after the last thing learnt through
//! the task's number; decide on the canonical path of the object the open
//! would reach; open exactly that object here; hand it back to the worker loop
//! to be installed with `ADDFD` + `SEND`. Nothing is ever let through with
//! `CONTINUE`.
//!
//! The common case (an absolute or working-directory path without `..`) costs
//! no syscall beyond the ones the open needs: the decision is made on the
//! lexical path, and the open itself runs with `RESOLVE_NO_SYMLINKS`, so it
//! reaches that very path or fails with `ELOOP` and the request goes to the
//! careful walk ([`crate::fs::walk`]).
//!
//! A FIFO opened without `O_NONBLOCK` waits for its other end: such an open
//! is looked at first (`fstatat`, no side effect: a probe open would be seen
//! by the FIFO's other end) and a FIFO is opened on a thread of its own
//! ([`Reply::Blocking`]), so the workers never wait for anyone.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::{Blocking, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::lexical::{has_trailing_slash, is_proc_self, join_normal};
use crate::fs::walk::{walk, Asker, Start, Walked};
use crate::fs::{reopen, Root};
use crate::policy::{FsAccess, FsAction};
use crate::sys::{self, OpenHow};
use crate::syscalls::{Kind, Mediated};
use crate::task::{fd_path, ProcPath, ReadError, Task};

/// The kernel's `O_LARGEFILE` (include/uapi/asm-generic/fcntl.h): libc's
/// is 0 on 64-bit targets, where the kernel sets the bit itself.
const O_LARGEFILE: i32 = 0o100000;

/// `VALID_OPEN_FLAGS` of include/linux/fcntl.h: what `openat` keeps of its
/// flags (it ignores the rest; `openat2` refuses them).
const VALID_OPEN_FLAGS: i32 = libc::O_ACCMODE
    | libc::O_CREAT
    | libc::O_EXCL
    | libc::O_NOCTTY
    | libc::O_TRUNC
    | libc::O_APPEND
    | libc::O_NONBLOCK
    | libc::O_SYNC
    | libc::O_DSYNC
    | libc::O_ASYNC
    | libc::O_DIRECT
    | O_LARGEFILE
    | libc::O_DIRECTORY
    | libc::O_NOFOLLOW
    | libc::O_NOATIME
    | libc::O_CLOEXEC
    | libc::O_PATH
    | libc::O_TMPFILE;
/// `O_PATH_FLAGS`: what `openat` keeps alongside `O_PATH`.
const O_PATH_FLAGS: i32 = libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_PATH | libc::O_CLOEXEC;

/// The request, decoded.
struct Req<'a> {
    syscall: &'static str,
    tid: i32,
    /// The path as the program wrote it.
    path: &'a [u8],
    /// The same with its NUL.
    path_nul: &'a [u8],
    how: OpenHow,
}

impl Req<'_> {
    fn flags(&self) -> i32 {
        sys::low_i32(self.how.flags)
    }
    fn opath(&self) -> bool {
        self.flags() & libc::O_PATH != 0
    }
    fn creat(&self) -> bool {
        !self.opath() && self.flags() & libc::O_CREAT != 0
    }
    fn excl(&self) -> bool {
        self.creat() && self.flags() & libc::O_EXCL != 0
    }
    fn tmpfile(&self) -> bool {
        !self.opath() && self.flags() & libc::O_TMPFILE == libc::O_TMPFILE
    }
    /// Does it change the object (beyond creating it)?
    fn writes(&self) -> bool {
        !self.opath()
            && (self.flags() & libc::O_ACCMODE != libc::O_RDONLY
                || self.flags() & libc::O_TRUNC != 0
                || self.tmpfile())
    }
    /// Does it ask for no more than access mode `held` gives?
    fn within(&self, held: i32) -> bool {
        let mode = self.flags() & libc::O_ACCMODE;
        // An O_PATH request is served as a read-only descriptor (deliver).
        let reads = self.opath() || mode != libc::O_WRONLY;
        let can_read = held == libc::O_RDONLY || held == libc::O_RDWR;
        let can_write = held == libc::O_WRONLY || held == libc::O_RDWR;
        (!reads || can_read) && (!self.writes() || can_write)
    }
    fn cloexec(&self) -> bool {
        self.flags() & libc::O_CLOEXEC != 0
    }
    /// What a `public` rule needs of the object's bits for others: read
    /// (an `O_PATH` request too, served as a readable descriptor; see
    /// [`deliver`]), write.
    fn needs_of_others(&self) -> (bool, bool) {
        let reads = self.opath() || self.flags() & libc::O_ACCMODE != libc::O_WRONLY;
        (reads, self.writes())
    }
    /// Whether the object behind `fd` (just opened, or held `O_PATH`) may
    /// be served under a `public` rule: see [`crate::fs::public`].
    fn others_may_open(&self, fd: BorrowedFd<'_>) -> bool {
        let (read, write) = self.needs_of_others();
        sys::fstat_mode(fd).is_ok_and(|m| crate::fs::public::others_may(m, read, write))
    }
    /// The flags for our own open of the object.
    fn open_flags(&self) -> u64 {
        // openat2 refuses anything but O_DIRECTORY/O_NOFOLLOW/O_CLOEXEC
        // beside O_PATH; a terminal must never become our controlling one.
        let extra = if self.opath() {
            libc::O_CLOEXEC
        } else {
            libc::O_CLOEXEC | libc::O_NOCTTY
        };
        u64::from((self.flags() | extra).unsigned_abs())
    }
}

/// Handles one open-family notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let int = sys::low_i32;
    let (dirfd, path_addr, how) = match m.kind {
        Kind::Open => (libc::AT_FDCWD, a[0], openat_how(int(a[1]), a[2])),
        Kind::Creat => (
            libc::AT_FDCWD,
            a[0],
            openat_how(libc::O_CREAT | libc::O_WRONLY | libc::O_TRUNC, a[1]),
        ),
        Kind::Openat => (int(a[0]), a[1], openat_how(int(a[2]), a[3])),
        Kind::Openat2 => match read_how(p, a[2], a[3], &mut sc.lex) {
            Ok(how) => (int(a[0]), a[1], how),
            Err(r) => return r,
        },
        _ => return Reply::Errno(libc::ENOSYS),
    };
    if let Err(e) = check_how(&how, m.kind == Kind::Openat2) {
        return Reply::Errno(e);
    }
    if creates(&how) {
        // The program's umask, read now (before the ID_VALID check below
        // vouches for it) and made this thread's, so that the kernel applies
        // it, or the directory's default ACL, as natively
        // (`crate::fs::umask`).
        match p.umask() {
            Ok(mask) => {
                if let Err(e) = crate::fs::umask::take(mask) {
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
    let len = match p.read_cstr(path_addr, &mut sc.raw) {
        Ok(len) => len,
        Err(e) => return e.reply(libc::ENAMETOOLONG),
    };
    let len = match ctx.privates.rewrite(&mut sc.raw, len) {
        Ok(len) => len,
        Err(e) => return Reply::Errno(e),
    };
    let root = ctx.root(&sc.task_root);
    let Scratch {
        raw,
        lex,
        walk: wb,
        matched,
        line,
        procs,
        searchable,
        ..
    } = sc;
    let req = Req {
        syscall: m.name,
        tid: p.tid(),
        path: &raw[..len],
        path_nul: &raw[..=len],
        how,
    };
    let mut out = Out {
        ctx,
        root,
        req: &req,
        matched,
        line,
    };

    if req.path.is_empty() {
        return Reply::Errno(libc::ENOENT);
    }
    #[cfg(debug_assertions)]
    super::test_hooks::maybe_panic(req.path);
    let absolute = req.path[0] == b'/';
    let trailing = has_trailing_slash(req.path);

    // The base directory, learnt through the task's number.
    let mut base: Option<OwnedFd> = None;
    let in_root = how.resolve & sys::RESOLVE_IN_ROOT != 0;
    lex.clear();
    if absolute && !in_root {
        lex.push(b'/');
    } else if dirfd == libc::AT_FDCWD {
        if p.read_link(procs, c"cwd", lex).is_err() {
            return if p.vouch() {
                Reply::Errno(libc::ENOENT)
            } else {
                Reply::Gone
            };
        }
    } else if dirfd < 0 {
        return Reply::Errno(libc::EBADF);
    } else {
        // The directory's path through the task's /proc entry (one syscall
        // where fetching the descriptor takes five): the fast path opens the
        // object by its absolute path, the very path it decides on. Only the
        // walk needs the descriptor itself, and fetches it then.
        let link = ProcPath::with_prefix("fd/", dirfd, "");
        if p.read_link(procs, link.as_cstr(), lex).is_err() {
            match fetch_dir(p, dirfd) {
                Ok(fd) => {
                    if fd_path(fd.as_fd(), lex).is_err() {
                        lex.clear();
                    }
                    base = Some(fd);
                }
                Err(r) => return r,
            }
        }
    }
    // Everything read through the number belongs to this request only if
    // the request is still pending now.
    if !p.vouch() {
        return Reply::Gone;
    }

    // O_CREAT with a trailing slash: the kernel looks up the directory part
    // and answers EISDIR, whatever the last component is (the walk below).
    let creat_slash = req.creat() && trailing;
    let lexical_ok = how.resolve == 0
        && !creat_slash
        && lex.first() == Some(&b'/')
        && lex.len() + req.path.len() < libc::PATH_MAX as usize - 1
        && !lex.ends_with(b" (deleted)")
        // `.` alone: see `path::resolve_read`.
        && join_normal(
            lex,
            req.path,
            dirfd != libc::AT_FDCWD || !crate::fs::searches_anything(),
        )
        && !is_proc_self(lex)
        // `/proc/<pid>` is decided on the directory, not the number (a pid
        // can be reused): the walk does that.
        && crate::fs::lexical::proc_pid(lex).is_none();
    if lexical_ok {
        match ctx.privates.rewrite_lexical(lex) {
            // Opened by the rewritten path, not from a descriptor of the
            // host's directory.
            Ok(true) => base = None,
            Ok(false) => {}
            Err(e) => return Reply::Errno(e),
        }
        if let Some(reply) = fast(&mut out, p.task(), base.as_ref(), lex, trailing, searchable) {
            return reply;
        }
    }

    // The careful walk.
    let start = if absolute && !in_root {
        Start::Root
    } else if let Some(fd) = base {
        Start::Dir(fd)
    } else if dirfd == libc::AT_FDCWD {
        match p.open_cwd() {
            Ok(fd) => Start::Dir(fd),
            Err(_) => {
                return if p.vouch() {
                    Reply::Errno(libc::ENOENT)
                } else {
                    Reply::Gone
                }
            }
        }
    } else {
        match fetch_dir(p, dirfd) {
            Ok(fd) => Start::Dir(fd),
            Err(r) => return r,
        }
    };
    let follow_final = req.flags() & libc::O_NOFOLLOW == 0 && !req.excl();
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    // Creating: a trailing slash on the last component is EISDIR, the walk
    // says where (also after a link whose target ends with one).
    let creating = if req.creat() {
        crate::fs::walk::WALK_CREATE
    } else {
        0
    };
    let walked = walk(
        &mut asker,
        &out.root,
        start,
        req.path,
        how.resolve | creating,
        follow_final,
        wb,
    );
    if !p.vouch() {
        return Reply::Gone;
    }
    let walked = match walked {
        Ok(w) => w,
        Err(e) => return Reply::Errno(super::walk_error(ctx, &mut asker, &wb.path, matched, e)),
    };
    let path = &wb.path;
    match walked {
        Walked::Found {
            fd,
            pathless,
            unlinked,
            symlink,
            held,
        } => {
            let (action, rule) = if pathless || held.is_some_and(|h| req.within(h)) {
                // Reached through the program's own /proc/<pid>/fd: it holds
                // this object already, with at least this access (or it has
                // no path to decide on: a pipe, a socket).
                (&super::ALLOW_RW, None)
            } else if unlinked {
                // An unlinked file or a memfd, asked for more than its
                // descriptor holds: its old path is no ground for more.
                return out.refuse(path, Verdict::Deny, libc::EACCES, None);
            } else {
                super::decide_found(ctx, &mut asker, path, out.matched, fd.as_fd())
            };
            let access = match out.plain_access(path, action, rule) {
                Ok(a) => a,
                Err(reply) => return reply,
            };
            if req.excl() {
                return Reply::Errno(libc::EEXIST);
            }
            // O_CREAT on a directory that exists: the kernel's EISDIR,
            // whatever the access mode.
            if req.creat()
                && !symlink
                && sys::fstat_mode(fd.as_fd()).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFDIR)
            {
                return Reply::Errno(libc::EISDIR);
            }
            // Opened below without O_CREAT: the kernel's check of O_CREAT in
            // a sticky directory is ours to make.
            if req.creat() && !symlink && crate::fs::sticky::refuses(&out.root, path, fd.as_fd()) {
                return Reply::Errno(libc::EACCES);
            }
            if req.writes() && access != FsAccess::Rw {
                return out.refuse(path, Verdict::Deny, libc::EACCES, rule);
            }
            if ctx.public_rule(rule)
                && !(searchable.reachable_in(&out.root, path) && req.others_may_open(fd.as_fd()))
            {
                return out.refuse(path, Verdict::Deny, libc::EACCES, rule);
            }
            if let Some(reply) = terminal(&mut out, p.task(), path, rule) {
                return reply;
            }
            out.allowed(path, rule);
            open_found(&req, fd, symlink)
        }
        Walked::Missing { .. } | Walked::Absent if !req.creat() && !req.writes() => {
            if let Some(fd) = ctx.privates.virtual_dir(path) {
                // A directory on the way to virtual files.
                out.allowed(path, None);
                return open_found(&req, fd, false);
            }
            let (action, rule) = out.decide(&mut asker, path);
            match out.plain_access(path, action, rule) {
                Ok(_) => {
                    out.absent(path);
                    Reply::Errno(libc::ENOENT)
                }
                Err(reply) => reply,
            }
        }
        Walked::Missing { parent, name_at } => {
            let (action, rule) = out.decide(&mut asker, path);
            let access = match out.plain_access(path, action, rule) {
                Ok(a) => a,
                Err(reply) => return reply,
            };
            if !req.creat() {
                out.absent(path);
                return Reply::Errno(libc::ENOENT);
            }
            if trailing {
                return Reply::Errno(libc::EISDIR);
            }
            if access != FsAccess::Rw {
                return out.refuse(path, Verdict::Deny, libc::EACCES, rule);
            }
            out.allowed(path, rule);
            let mut name = Vec::with_capacity(path.len() - name_at + 1);
            name.extend_from_slice(&path[name_at..]);
            name.push(0);
            let Ok(name) = CStr::from_bytes_with_nul(&name) else {
                return Reply::Errno(libc::EINVAL);
            };
            let flags = req.open_flags() | u64::from(libc::O_NOFOLLOW.unsigned_abs());
            let how = OpenHow {
                flags,
                mode: req.how.mode,
                resolve: 0,
            };
            fd_reply(&req, sys::openat2(parent.as_raw_fd(), name, &how))
        }
        Walked::Absent => {
            let (action, rule) = out.decide(&mut asker, path);
            match out.plain_access(path, action, rule) {
                Ok(_) => {
                    out.absent(path);
                    Reply::Errno(libc::ENOENT)
                }
                Err(reply) => reply,
            }
        }
    }
}

/// The kernel's checks of flags and mode (`build_open_flags`), made before
/// anything else so that every path (fast or walked) refuses what the
/// kernel would. `strict` is `openat2`'s: unknown flags, a mode without
/// `O_CREAT`/`O_TMPFILE` and extra flags beside `O_PATH` are errors there,
/// silently dropped by the older calls (see [`openat_how`]).
fn check_how(how: &OpenHow, strict: bool) -> Result<(), i32> {
    let flags = sys::low_i32(how.flags);
    if strict {
        if how.flags & !u64::from(VALID_OPEN_FLAGS.unsigned_abs()) != 0 {
            return Err(libc::EINVAL);
        }
        let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
        if how.mode & !0o7777 != 0 || (!creates && how.mode != 0) {
            return Err(libc::EINVAL);
        }
        if flags & libc::O_PATH != 0 && flags & !O_PATH_FLAGS != 0 {
            return Err(libc::EINVAL);
        }
    }
    if flags & libc::O_PATH != 0 {
        return Ok(());
    }
    // O_TMPFILE includes O_DIRECTORY; its own bit alone is an error, and a
    // file nobody could write is refused.
    let tmp_bit = libc::O_TMPFILE & !libc::O_DIRECTORY;
    if flags & tmp_bit != 0
        && (flags & libc::O_TMPFILE != libc::O_TMPFILE
            || flags & libc::O_CREAT != 0
            || flags & libc::O_ACCMODE == libc::O_RDONLY)
    {
        return Err(libc::EINVAL);
    }
    if flags & libc::O_CREAT != 0 && flags & libc::O_DIRECTORY != 0 {
        return Err(libc::EINVAL);
    }
    // RESOLVE_CACHED cannot create or truncate: EAGAIN before any lookup.
    if how.resolve & sys::RESOLVE_CACHED != 0
        && flags & (libc::O_TRUNC | libc::O_CREAT | (libc::O_TMPFILE & !libc::O_DIRECTORY)) != 0
    {
        return Err(libc::EAGAIN);
    }
    Ok(())
}

/// Does the request create a file (and so need the program's umask)?
fn creates(how: &OpenHow) -> bool {
    let f = sys::low_i32(how.flags);
    f & libc::O_PATH == 0 && (f & libc::O_CREAT != 0 || f & libc::O_TMPFILE == libc::O_TMPFILE)
}

/// The flags and mode `openat` would pass on (`build_open_how`).
fn openat_how(flags: i32, mode: u64) -> OpenHow {
    let mut flags = flags & VALID_OPEN_FLAGS;
    if flags & libc::O_PATH != 0 {
        flags &= O_PATH_FLAGS;
    }
    let creates = flags & libc::O_CREAT != 0 || flags & libc::O_TMPFILE == libc::O_TMPFILE;
    let mode = if creates && flags & libc::O_PATH == 0 {
        mode & 0o7777
    } else {
        0
    };
    OpenHow {
        flags: u64::from(flags.unsigned_abs()),
        mode,
        resolve: 0,
    }
}

/// Reads `openat2`'s `struct open_how` as the kernel would
/// (`copy_struct_from_user`): at least the first version, at most a page,
/// anything past what we know must be zero.
fn read_how<P: Program>(p: &P, addr: u64, size: u64, tmp: &mut Vec<u8>) -> Result<OpenHow, Reply> {
    let size = usize::try_from(size).unwrap_or(usize::MAX);
    if size < sys::OPEN_HOW_SIZE_VER0 {
        return Err(Reply::Errno(libc::EINVAL));
    }
    if size > crate::limits::OPEN_HOW_BYTES {
        return Err(Reply::Errno(libc::E2BIG));
    }
    tmp.clear();
    tmp.resize(size, 0);
    match p.read_exact(addr, tmp) {
        Ok(()) => {}
        Err(ReadError::Gone) => return Err(Reply::Gone),
        Err(_) => return Err(Reply::Errno(libc::EFAULT)),
    }
    if tmp[sys::OPEN_HOW_SIZE_VER0..].iter().any(|&b| b != 0) {
        return Err(Reply::Errno(libc::E2BIG));
    }
    let word = |i: usize| {
        let mut w = [0u8; 8];
        w.copy_from_slice(&tmp[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(w)
    };
    let how = OpenHow {
        flags: word(0),
        mode: word(1),
        resolve: word(2),
    };
    if how.flags > u64::from(u32::MAX) {
        return Err(Reply::Errno(libc::EINVAL));
    }
    let known = sys::RESOLVE_NO_XDEV
        | sys::RESOLVE_NO_MAGICLINKS
        | sys::RESOLVE_NO_SYMLINKS
        | sys::RESOLVE_BENEATH
        | sys::RESOLVE_IN_ROOT
        | sys::RESOLVE_CACHED;
    if how.resolve & !known != 0
        || how.resolve & sys::RESOLVE_BENEATH != 0 && how.resolve & sys::RESOLVE_IN_ROOT != 0
    {
        return Err(Reply::Errno(libc::EINVAL));
    }
    Ok(how)
}

/// Decisions, logging and serving, for one request.
struct Out<'a> {
    ctx: &'a Ctx,
    /// Where absolute paths start: the task's root.
    root: Root<'a>,
    req: &'a Req<'a>,
    matched: &'a mut Vec<u8>,
    line: &'a mut Vec<u8>,
}

impl<'a> Out<'a> {
    /// The policy's word on `path` ([`super::decide`]).
    fn decide(&mut self, asker: &mut Asker<'_>, path: &[u8]) -> (&'a FsAction, Option<usize>) {
        super::decide(self.ctx, asker, path, self.matched)
    }

    fn log(&mut self, path: &[u8], verdict: Verdict, errno: Option<i32>, rule: Option<usize>) {
        let req = self.req;
        Log::new(self.ctx, req.syscall, req.tid, self.line)
            .with_flags(req.how.flags)
            .write(path, verdict, errno, rule);
    }

    /// Finishes what is not a plain `ro`/`rw` decision (hidden, denied,
    /// served from memory or elsewhere) as `Err(reply)`; a plain one comes
    /// back as `Ok(access)` for the caller to carry out.
    fn plain_access(
        &mut self,
        path: &[u8],
        action: &FsAction,
        rule: Option<usize>,
    ) -> Result<FsAccess, Reply> {
        match *action {
            FsAction::Access(FsAccess::Hide) | FsAction::Private => {
                Err(self.refuse(path, Verdict::Hide, libc::ENOENT, rule))
            }
            FsAction::Access(FsAccess::Deny) => {
                Err(self.refuse(path, Verdict::Deny, libc::EACCES, rule))
            }
            FsAction::Content { .. } => Err(self.content(path, rule)),
            FsAction::Redirect { writable, .. } => Err(self.redirect(path, rule, writable)),
            FsAction::Access(a) => Ok(a),
        }
    }

    fn refuse(&mut self, path: &[u8], v: Verdict, errno: i32, rule: Option<usize>) -> Reply {
        self.log(path, v, Some(errno), rule);
        Reply::Errno(errno)
    }

    fn allowed(&mut self, path: &[u8], rule: Option<usize>) {
        self.log(path, Verdict::Allow, None, rule);
    }

    /// With `--learn`, records a lookup that found nothing ([`Log::note_absent`]).
    fn absent(&mut self, path: &[u8]) {
        Log::new(self.ctx, self.req.syscall, self.req.tid, self.line).note_absent(path);
    }

    /// Serves the request from the rule's sealed memfd, read-only.
    fn content(&mut self, path: &[u8], rule: Option<usize>) -> Reply {
        let req = self.req;
        let memfd = rule
            .and_then(|i| self.ctx.contents.get(i))
            .and_then(Option::as_ref);
        let Some(memfd) = memfd else {
            return Reply::Errno(libc::EIO);
        };
        if req.writes() || req.tmpfile() {
            return self.refuse(path, Verdict::Deny, libc::EACCES, rule);
        }
        if req.excl() {
            return Reply::Errno(libc::EEXIST);
        }
        if req.flags() & libc::O_DIRECTORY != 0 {
            return Reply::Errno(libc::ENOTDIR);
        }
        self.log(path, Verdict::Content, None, rule);
        let flags = libc::O_RDONLY | libc::O_CLOEXEC | (req.flags() & libc::O_PATH);
        fd_reply(req, reopen(memfd.as_fd(), u64::from(flags.unsigned_abs())))
    }

    /// Serves the request by opening the rule's target instead.
    fn redirect(&mut self, path: &[u8], rule: Option<usize>, writable: bool) -> Reply {
        let req = self.req;
        let target = rule.and_then(|i| self.ctx.redirect_target(i));
        let Some(target) = target else {
            return Reply::Errno(libc::EIO);
        };
        if req.writes() && !writable {
            return self.refuse(path, Verdict::Deny, libc::EACCES, rule);
        }
        let mode = if creates(&req.how) { req.how.mode } else { 0 };
        let mut how = OpenHow {
            flags: req.open_flags(),
            mode,
            resolve: 0,
        };
        if req.creat() && !writable {
            // A read-only target may be opened if it exists, never created.
            how.flags &= !u64::from((libc::O_CREAT | libc::O_EXCL).unsigned_abs());
            how.mode = 0;
            match self.root.open_target(target, &how) {
                Err(e) if e.raw_os_error() == Some(libc::ENOENT) => {
                    return self.refuse(path, Verdict::Deny, libc::EACCES, rule);
                }
                Ok(_) if req.excl() => return Reply::Errno(libc::EEXIST),
                r => {
                    self.log(path, Verdict::Redirect, None, rule);
                    return fd_reply(req, r);
                }
            }
        }
        self.log(path, Verdict::Redirect, None, rule);
        fd_reply(req, self.root.open_target(target, &how))
    }
}

/// The task's descriptor `dirfd`, fetched ([`super::path::fetch`]); a
/// failure is the request's answer.
fn fetch_dir<P: Program>(p: &mut P, dirfd: i32) -> Result<OwnedFd, Reply> {
    super::path::fetch(p, dirfd).map_err(|r| if p.vouch() { r } else { Reply::Gone })
}

/// The lexical fast path; `None` sends the request to the careful walk.
fn fast(
    out: &mut Out<'_>,
    task: &Task,
    base: Option<&OwnedFd>,
    lex: &mut Vec<u8>,
    trailing: bool,
    searchable: &mut crate::fs::public::Searchable,
) -> Option<Reply> {
    let req = out.req;
    let mut asker = Asker::new(task, out.ctx.scope);
    let (action, rule) = out.decide(&mut asker, lex);
    // A refusal on the lexical path is not final: the text may pass through
    // a symbolic link (`/lib` on merged-/usr systems) to somewhere allowed.
    // Only the walk knows; refusals are rare enough to pay for it.
    let access = match *action {
        FsAction::Access(FsAccess::Hide | FsAccess::Deny) | FsAction::Private => return None,
        FsAction::Content { .. } => return Some(out.content(lex, rule)),
        FsAction::Redirect { writable, .. } => return Some(out.redirect(lex, rule, writable)),
        FsAction::Access(a) => a,
    };
    if req.writes() && access != FsAccess::Rw {
        return None;
    }
    if let Some(reply) = terminal(out, task, lex, rule) {
        return Some(reply);
    }
    // A `public` rule: a directory on the way that others may not search
    // (or a symbolic link, which the walk resolves) is the walk's to judge.
    let public = out.ctx.public_rule(rule);
    if public && !searchable.reachable_in(&out.root, lex) {
        return None;
    }
    // The path to open: relative to the dirfd we fetched, else the absolute
    // lexical path (with its trailing slash, which means "a directory"), in
    // the task's root.
    let (dir, in_root, saved_len) = match base {
        Some(fd) => (fd.as_raw_fd(), 0, None),
        None => {
            let (dir, in_root) = match out.root.at() {
                Ok(at) => at,
                Err(e) => return Some(Reply::Errno(e)),
            };
            let n = lex.len();
            if trailing && n > 1 {
                lex.push(b'/');
            }
            lex.push(0);
            (dir, in_root, Some(n))
        }
    };
    let result = {
        let path = match saved_len {
            Some(_) => CStr::from_bytes_until_nul(lex).ok(),
            None => CStr::from_bytes_with_nul(req.path_nul).ok(),
        };
        let Some(path) = path else {
            return Some(Reply::Errno(libc::EINVAL));
        };
        let creat_ro = req.creat() && access != FsAccess::Rw;
        fast_open(req, dir, in_root, path, creat_ro, public)
    };
    if let Some(n) = saved_len {
        lex.truncate(n);
    }
    match result {
        FastOpen::Loop => None,
        // Nothing there, and perhaps a directory on the way to virtual
        // files: the walk knows.
        FastOpen::Done(Reply::Errno(libc::ENOENT))
            if !req.creat() && out.ctx.privates.virtual_dir(lex).is_some() =>
        {
            None
        }
        FastOpen::WouldCreate | FastOpen::NotPublic => {
            Some(out.refuse(lex, Verdict::Deny, libc::EACCES, rule))
        }
        FastOpen::Done(reply) => {
            out.allowed(lex, rule);
            Some(reply)
        }
    }
}

/// An allowed open of `/dev/pts/N` that is not a terminal fdsup was
/// started on: served with the slave of the master a sandboxed process
/// holds, never by the path ([`super::tty`]); `None` for any other path.
fn terminal(out: &mut Out<'_>, task: &Task, path: &[u8], rule: Option<usize>) -> Option<Reply> {
    let req = out.req;
    let served = if path == b"/dev/tty" {
        // `O_PATH` is the device node, which reaches no terminal.
        if req.opath() {
            return None;
        }
        super::tty::open_controlling(out.ctx, task, req.flags())?
    } else {
        let n = super::tty::pts_number(path)?;
        super::tty::open(out.ctx, task, n, req.flags())?
    };
    match served {
        Ok(fd) if req.opath() => {
            // Served as the object itself, which a device cannot be.
            drop(fd);
            Some(Reply::Errno(libc::ENXIO))
        }
        Ok(fd) => {
            out.allowed(path, rule);
            Some(deliver(req, fd))
        }
        Err(reply) => Some(reply),
    }
}

enum FastOpen {
    /// A symbolic link on the way: walk instead.
    Loop,
    /// `O_CREAT` under `ro` of a path that does not exist.
    WouldCreate,
    /// Under a `public` rule, an object others may not open so.
    NotPublic,
    /// Finished.
    Done(Reply),
}

/// Opens `path` (from `dir`, with `in_root` added to the resolve flags: see
/// [`Root::at`]) with the request's flags and no symbolic links; under a
/// `public` rule, only an object others may open so.
fn fast_open(
    req: &Req<'_>,
    dir: i32,
    in_root: u64,
    path: &CStr,
    creat_ro: bool,
    public: bool,
) -> FastOpen {
    let mut flags = req.open_flags();
    if creat_ro {
        // Only an existing file may be opened: drop O_CREAT, see what is there.
        flags &= !u64::from((libc::O_CREAT | libc::O_EXCL).unsigned_abs());
    }
    let flags_i = sys::low_i32(flags);
    // An open that waits for someone else (a FIFO opened for reading or
    // writing only, without O_NONBLOCK) must not run on a worker. Look before
    // opening: any probe open of a FIFO would be seen by its other end.
    let may_wait = !req.opath()
        && !req.tmpfile()
        && flags_i & (libc::O_NONBLOCK | libc::O_DIRECTORY) == 0
        && flags_i & libc::O_ACCMODE != libc::O_RDWR;
    // (In a task's root the look is the `O_PATH` open itself: `fstatat`
    // has no `RESOLVE_IN_ROOT`.)
    let fifo =
        |dir, path| sys::lstat_mode(dir, path).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFIFO);
    if may_wait && (in_root != 0 || fifo(dir, path)) {
        let opath = OpenHow {
            flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
            mode: 0,
            resolve: sys::RESOLVE_NO_SYMLINKS | in_root,
        };
        match sys::openat2(dir, path, &opath) {
            Ok(p) if public && !req.others_may_open(p.as_fd()) => return FastOpen::NotPublic,
            Ok(p) if is_fifo(p.as_fd()) => {
                if creat_ro && req.excl() {
                    return FastOpen::Done(Reply::Errno(libc::EEXIST));
                }
                return FastOpen::Done(blocking(req, p));
            }
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return FastOpen::Loop,
            // Nothing there (a task root's look is this open): the real
            // open below says what to.
            Err(e) if in_root != 0 && e.raw_os_error() == Some(libc::ENOENT) => {}
            Err(e) => return FastOpen::Done(Reply::Errno(sys::errno_of(&e))),
        }
    }
    let creating = !creat_ro && creates(&req.how);
    let how = OpenHow {
        flags,
        mode: if creating { req.how.mode } else { 0 },
        resolve: sys::RESOLVE_NO_SYMLINKS | in_root,
    };
    match sys::openat2(dir, path, &how) {
        Ok(fd) => {
            if creat_ro && req.excl() {
                return FastOpen::Done(Reply::Errno(libc::EEXIST));
            }
            // Opened without O_CREAT, which on a directory is EISDIR.
            if creat_ro
                && sys::fstat_mode(fd.as_fd()).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFDIR)
            {
                return FastOpen::Done(Reply::Errno(libc::EISDIR));
            }
            if public && !req.others_may_open(fd.as_fd()) {
                return FastOpen::NotPublic;
            }
            // Opens that cannot wait may still reach a FIFO, whose other end
            // must not see our copy after the program closed its own.
            let unseen = !may_wait && !req.opath() && flags_i & libc::O_DIRECTORY == 0;
            if unseen && is_fifo(fd.as_fd()) {
                return FastOpen::Done(Reply::FifoFd {
                    fd,
                    cloexec: req.cloexec(),
                });
            }
            FastOpen::Done(deliver(req, fd))
        }
        Err(e) => match sys::errno_of(&e) {
            libc::ELOOP => FastOpen::Loop,
            libc::ENOENT if creat_ro => FastOpen::WouldCreate,
            errno => FastOpen::Done(Reply::Errno(errno)),
        },
    }
}

fn is_fifo(fd: BorrowedFd<'_>) -> bool {
    sys::fstat_mode(fd).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFIFO)
}

fn blocking(req: &Req<'_>, fd: OwnedFd) -> Reply {
    let flags = req.open_flags()
        & !u64::from((libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW).unsigned_abs());
    Reply::Blocking(Blocking {
        fd,
        flags,
        cloexec: req.cloexec(),
    })
}

/// Opens an object the walk found, as the request asks.
fn open_found(req: &Req<'_>, fd: OwnedFd, symlink: bool) -> Reply {
    // A final symbolic link not followed: the kernel's O_DIRECTORY check
    // comes before its O_NOFOLLOW one (ELOOP).
    if symlink && req.flags() & libc::O_DIRECTORY != 0 {
        return Reply::Errno(libc::ENOTDIR);
    }
    if req.opath() {
        if req.flags() & libc::O_DIRECTORY != 0 && !symlink {
            match sys::fstat_mode(fd.as_fd()) {
                Ok(m) if m & libc::S_IFMT != libc::S_IFDIR => return Reply::Errno(libc::ENOTDIR),
                Err(e) => return Reply::Errno(sys::errno_of(&e)),
                _ => {}
            }
        }
        return deliver(req, fd);
    }
    if symlink {
        return Reply::Errno(libc::ELOOP);
    }
    let flags = req.open_flags()
        & !u64::from((libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW).unsigned_abs());
    if req.tmpfile() {
        let how = OpenHow {
            flags,
            mode: req.how.mode,
            resolve: 0,
        };
        return fd_reply(req, sys::openat2(fd.as_raw_fd(), c".", &how));
    }
    if is_fifo(fd.as_fd()) {
        if req.flags() & libc::O_NONBLOCK == 0 && req.flags() & libc::O_ACCMODE != libc::O_RDWR {
            return Reply::Blocking(Blocking {
                fd,
                flags,
                cloexec: req.cloexec(),
            });
        }
        return match reopen(fd.as_fd(), flags) {
            Ok(fd) => Reply::FifoFd {
                fd,
                cloexec: req.cloexec(),
            },
            Err(e) => Reply::Errno(sys::errno_of(&e)),
        };
    }
    fd_reply(req, reopen(fd.as_fd(), flags))
}

fn fd_reply(req: &Req<'_>, r: std::io::Result<OwnedFd>) -> Reply {
    match r {
        Ok(fd) => deliver(req, fd),
        Err(e) => Reply::Errno(sys::errno_of(&e)),
    }
}

/// The reply that hands `fd` to the program.
///
/// `SECCOMP_IOCTL_NOTIF_ADDFD` takes its file with `fget()`, which refuses
/// `O_PATH` files (`EBADF`): an `O_PATH` request is served with the least
/// capable real descriptor of the object instead, `O_RDONLY` (with
/// `O_DIRECTORY` for a directory). It does everything an `O_PATH`
/// descriptor does (`fstat`, `*at` base, `fchdir`, reopening) and reads too,
/// which the policy allows wherever `O_PATH` is allowed (both need `ro`);
/// Unix permissions still apply, since the supervisor has the program's
/// credentials. Symbolic links, FIFOs, sockets and devices cannot be served
/// so without an effect of the open itself: a symbolic link (only
/// `O_PATH|O_NOFOLLOW` reaches one) fails with `EOPNOTSUPP` — what glibc's
/// `lchmod` emulation, the common user of such an open, then reports
/// anyway — and the others with `ENXIO`.
fn deliver(req: &Req<'_>, fd: OwnedFd) -> Reply {
    if !req.opath() && req.flags() & libc::O_ACCMODE != libc::O_RDONLY {
        // Our writable copy must be closed before the program runs on: the
        // kernel refuses to exec a file open for writing (ETXTBSY), so a
        // program that writes a binary, closes it and runs it at once (a
        // compiler and `make`) would otherwise race our close.
        return Reply::FifoFd {
            fd,
            cloexec: req.cloexec(),
        };
    }
    if !req.opath() {
        return Reply::Fd {
            fd,
            cloexec: req.cloexec(),
        };
    }
    let flags = match sys::fstat_mode(fd.as_fd()).map(|m| m & libc::S_IFMT) {
        Ok(libc::S_IFDIR) => libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
        Ok(libc::S_IFREG) => libc::O_RDONLY | libc::O_CLOEXEC,
        Ok(libc::S_IFLNK) => return Reply::Errno(libc::EOPNOTSUPP),
        Ok(_) => return Reply::Errno(libc::ENXIO),
        Err(e) => return Reply::Errno(sys::errno_of(&e)),
    };
    match reopen(fd.as_fd(), u64::from(flags.unsigned_abs())) {
        Ok(real) => Reply::Fd {
            fd: real,
            cloexec: req.cloexec(),
        },
        Err(e) => Reply::Errno(sys::errno_of(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::handlers::testing::{arg, errno, fd_of, fl, Fake, Run};
    use std::os::unix::fs::PermissionsExt;

    fn run() -> Run {
        Run::fixture()
    }

    /// `openat(AT_FDCWD, D/rel, flags, 0o666)`.
    fn open(r: &mut Run, p: &mut Fake, rel: &str, flags: i32) -> Reply {
        let path = r.path(rel);
        let addr = p.put_cstr(&path);
        let args = [arg(libc::AT_FDCWD), addr, arg(flags), 0o666];
        r.call(p, libc::SYS_openat, &args)
    }

    /// An open's outcome: a descriptor (its access mode), or an errno.
    fn outcome(r: &Reply) -> Result<i32, i32> {
        match (errno(r), fd_of(r)) {
            (Some(e), _) => Err(e),
            (None, Some(fd)) => Ok(fl(fd) & libc::O_ACCMODE),
            _ => panic!("neither a descriptor nor an errno: {r:?}"),
        }
    }

    /// A descriptor's access mode, or an errno.
    type Outcome = Result<i32, i32>;

    const RO: Result<i32, i32> = Ok(libc::O_RDONLY);
    const WO: Result<i32, i32> = Ok(libc::O_WRONLY);
    const RW: Result<i32, i32> = Ok(libc::O_RDWR);
    const EACCES: Result<i32, i32> = Err(libc::EACCES);
    const ENOENT: Result<i32, i32> = Err(libc::ENOENT);

    /// Checks each (path, flags, outcome) on a fresh run.
    fn table(cases: &[(&str, i32, Result<i32, i32>)]) {
        for &(rel, flags, want) in cases {
            let mut r = run();
            let mut p = r.program();
            let got = outcome(&open(&mut r, &mut p, rel, flags));
            assert_eq!(got, want, "open {rel} flags {flags:#o}");
        }
    }

    #[test]
    fn flags_by_access() {
        use libc::{
            O_APPEND, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_PATH, O_RDONLY, O_RDWR, O_TRUNC,
            O_WRONLY,
        };
        table(&[
            // ro: reading only.
            ("ro/f", O_RDONLY, RO),
            ("ro/f", O_WRONLY, EACCES),
            ("ro/f", O_RDWR, EACCES),
            ("ro/f", O_RDONLY | O_TRUNC, EACCES),
            ("ro/f", O_WRONLY | O_APPEND, EACCES),
            ("ro/f", O_WRONLY | O_CREAT, EACCES),
            ("ro/f", O_RDONLY | O_CREAT, RO),
            ("ro/f", O_RDONLY | O_CREAT | O_EXCL, Err(libc::EEXIST)),
            ("ro/new", O_WRONLY | O_CREAT, EACCES),
            ("ro/new", O_RDONLY | O_CREAT, EACCES),
            ("ro/missing", O_RDONLY, ENOENT),
            ("ro/f", O_PATH, RO),
            ("ro", O_RDONLY | O_DIRECTORY, RO),
            ("ro", O_PATH | O_DIRECTORY, RO),
            ("ro/f", O_RDONLY | O_DIRECTORY, Err(libc::ENOTDIR)),
            // rw: everything.
            ("rw/f", O_RDONLY, RO),
            ("rw/f", O_WRONLY, WO),
            ("rw/f", O_RDWR, RW),
            ("rw/f", O_WRONLY | O_APPEND, WO),
            ("rw/f", O_RDWR | O_TRUNC, RW),
            ("rw/new", O_WRONLY | O_CREAT, WO),
            ("rw/new", O_RDWR | O_CREAT | O_EXCL, RW),
            ("rw/f", O_WRONLY | O_CREAT | O_EXCL, Err(libc::EEXIST)),
            ("rw/f", O_PATH, RO),
            ("rw/f", O_PATH | O_RDWR, RO),
            ("rw", O_RDONLY | O_DIRECTORY, RO),
            ("rw", O_WRONLY | O_CREAT, Err(libc::EISDIR)),
            ("rw", O_RDWR, Err(libc::EISDIR)),
            ("rw/f/", O_RDONLY, Err(libc::ENOTDIR)),
            ("rw/new/", O_WRONLY | O_CREAT, Err(libc::EISDIR)),
            ("rw/missing", O_RDONLY, ENOENT),
            ("rw/missing/x", O_WRONLY | O_CREAT, ENOENT),
            ("rw/link", O_RDONLY, RO),
            ("rw/link", O_RDONLY | O_NOFOLLOW, Err(libc::ELOOP)),
            ("rw/link", O_PATH | O_NOFOLLOW, Err(libc::EOPNOTSUPP)),
            (
                "rw/link",
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
                Err(libc::ENOTDIR),
            ),
            ("rw/dangling", O_RDONLY, ENOENT),
            (
                "rw/dangling",
                O_WRONLY | O_CREAT | O_EXCL,
                Err(libc::EEXIST),
            ),
            // deny: refused, there or not, whatever the flags.
            ("deny/f", O_RDONLY, EACCES),
            ("deny/f", O_WRONLY, EACCES),
            ("deny/f", O_PATH, EACCES),
            ("deny/missing", O_RDONLY, EACCES),
            ("deny/new", O_WRONLY | O_CREAT, EACCES),
            ("deny", O_RDONLY | O_DIRECTORY, EACCES),
            ("deny/f/x", O_RDONLY, EACCES),
            // hide: absent, whatever is under it and however asked.
            ("hide/f", O_RDONLY, ENOENT),
            ("hide/f", O_RDWR, ENOENT),
            ("hide/f", O_PATH, ENOENT),
            ("hide/new", O_WRONLY | O_CREAT, ENOENT),
            ("hide", O_RDONLY | O_DIRECTORY, ENOENT),
            ("hide/f/x", O_RDONLY, ENOENT),
            ("hide/missing", O_RDONLY, ENOENT),
            // The section's default.
            ("other", O_RDONLY, EACCES),
            ("missing", O_RDONLY, EACCES),
            ("missing", O_WRONLY | O_CREAT, EACCES),
        ]);
    }

    #[test]
    fn flags_the_kernel_refuses_first() {
        use libc::{O_CREAT, O_DIRECTORY, O_RDONLY, O_RDWR, O_TMPFILE, O_WRONLY};
        table(&[
            ("rw/new", O_CREAT | O_DIRECTORY, Err(libc::EINVAL)),
            ("rw", O_TMPFILE | O_RDONLY, Err(libc::EINVAL)),
            ("rw", (O_TMPFILE & !O_DIRECTORY) | O_RDWR, Err(libc::EINVAL)),
            ("rw", O_TMPFILE | O_RDWR, RW),
            ("rw", O_TMPFILE | O_WRONLY, WO),
            ("ro", O_TMPFILE | O_RDWR, EACCES),
            ("hide", O_TMPFILE | O_RDWR, ENOENT),
            // Unknown bits are dropped by `openat`.
            ("ro/f", O_RDONLY | 0x4000_0000, RO),
        ]);
    }

    #[test]
    fn arguments_that_cannot_be_read() {
        let mut r = run();
        let mut p = r.program();
        let open_at = |r: &mut Run, p: &mut Fake, dirfd: i32, addr: u64| {
            r.call(p, libc::SYS_openat, &[arg(dirfd), addr, 0, 0])
        };
        // A bad pointer.
        assert_eq!(
            errno(&open_at(&mut r, &mut p, libc::AT_FDCWD, 8)),
            Some(libc::EFAULT)
        );
        // An empty path.
        let empty = p.put_cstr(b"");
        assert_eq!(
            errno(&open_at(&mut r, &mut p, libc::AT_FDCWD, empty)),
            Some(libc::ENOENT)
        );
        // No NUL within PATH_MAX.
        let long = p.put(&[b'a'; crate::limits::PATH_BYTES + 16]);
        let got = open_at(&mut r, &mut p, libc::AT_FDCWD, long);
        assert_eq!(errno(&got), Some(libc::ENAMETOOLONG));
        // A path that runs into unmapped memory before its NUL.
        let cut = p.put(b"/etc/pass");
        assert_eq!(
            errno(&open_at(&mut r, &mut p, libc::AT_FDCWD, cut)),
            Some(libc::EFAULT)
        );
        // A negative directory descriptor, relative path: EBADF; absolute:
        // the descriptor is not looked at.
        let rel = p.put_cstr(b"rw/f");
        assert_eq!(errno(&open_at(&mut r, &mut p, -5, rel)), Some(libc::EBADF));
        let abs = p.put_cstr(&r.path("rw/f"));
        assert_eq!(outcome(&open_at(&mut r, &mut p, -5, abs)), RO);
        // A descriptor the program does not hold.
        assert_eq!(errno(&open_at(&mut r, &mut p, 9, rel)), Some(libc::EBADF));
    }

    #[test]
    fn relative_to_the_working_directory_and_a_dirfd() {
        let mut r = run();
        let mut p = r.program();
        let rel = |p: &Fake, s: &str| p.put_cstr(s.as_bytes());
        let at = |r: &mut Run, p: &mut Fake, dirfd: i32, addr: u64, flags: i32| {
            outcome(&r.call(p, libc::SYS_openat, &[arg(dirfd), addr, arg(flags), 0]))
        };
        let cwd = libc::AT_FDCWD;
        let a = rel(&p, "rw/f");
        assert_eq!(at(&mut r, &mut p, cwd, a, libc::O_RDWR), RW);
        let a = rel(&p, "ro/../rw/f");
        assert_eq!(at(&mut r, &mut p, cwd, a, libc::O_RDWR), RW);
        let a = rel(&p, "deny/f");
        assert_eq!(at(&mut r, &mut p, cwd, a, libc::O_RDONLY), EACCES);
        p.open_fd(7, &r.dir.join("rw"));
        let a = rel(&p, "f");
        assert_eq!(at(&mut r, &mut p, 7, a, libc::O_RDWR), RW);
        let a = rel(&p, "../ro/f");
        assert_eq!(at(&mut r, &mut p, 7, a, libc::O_RDWR), EACCES);
        assert_eq!(at(&mut r, &mut p, 7, a, libc::O_RDONLY), RO);
        let a = rel(&p, "../hide/f");
        assert_eq!(at(&mut r, &mut p, 7, a, libc::O_RDONLY), ENOENT);
    }

    #[test]
    fn a_request_no_longer_pending_gets_no_answer() {
        let mut r = run();
        let mut p = r.program();
        p.die();
        for rel in ["rw/f", "hide/f", "ro/f"] {
            let got = open(&mut r, &mut p, rel, libc::O_RDONLY);
            assert!(matches!(got, Reply::Gone), "{rel}: {got:?}");
        }
        // Relative: its working directory is no longer its own.
        let a = p.put_cstr(b"rw/f");
        let got = r.call(&mut p, libc::SYS_openat, &[arg(libc::AT_FDCWD), a, 0, 0]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
        // (Nothing is logged for it.)
        assert!(r.log().is_empty(), "{:?}", r.log());
    }

    #[test]
    fn created_files_take_the_programs_umask() {
        let mut r = run();
        let mut p = r.program();
        p.set_umask(0o077);
        let got = open(&mut r, &mut p, "rw/new", libc::O_WRONLY | libc::O_CREAT);
        assert_eq!(outcome(&got), WO);
        let mode = std::fs::metadata(r.dir.join("rw/new"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        // `creat` is `O_CREAT|O_WRONLY|O_TRUNC`.
        std::fs::write(r.dir.join("rw/f"), "old").unwrap();
        let a = p.put_cstr(&r.path("rw/f"));
        let got = r.call(&mut p, libc::SYS_creat, &[a, 0o644]);
        assert_eq!(outcome(&got), WO);
        assert_eq!(std::fs::read(r.dir.join("rw/f")).unwrap(), b"");
        let a = p.put_cstr(&r.path("ro/f"));
        assert_eq!(
            outcome(&r.call(&mut p, libc::SYS_creat, &[a, 0o644])),
            EACCES
        );
        assert_eq!(std::fs::read(r.dir.join("ro/f")).unwrap(), b"ro");
    }

    #[test]
    fn content_and_redirect() {
        use std::io::Read as _;
        let mut r = run();
        let mut p = r.program();
        let got = open(&mut r, &mut p, "content", libc::O_RDONLY);
        let mut f = std::fs::File::from(match got {
            Reply::Fd { fd, .. } => fd,
            other => panic!("{other:?}"),
        });
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        assert_eq!(text, "served\n");
        assert!(
            r.last_log().contains(r#""decision":"content""#),
            "{}",
            r.last_log()
        );
        let got = open(&mut r, &mut p, "content", libc::O_WRONLY);
        assert_eq!(outcome(&got), EACCES);
        let got = open(
            &mut r,
            &mut p,
            "content",
            libc::O_RDONLY | libc::O_DIRECTORY,
        );
        assert_eq!(outcome(&got), Err(libc::ENOTDIR));
        let got = open(
            &mut r,
            &mut p,
            "content",
            libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL,
        );
        assert_eq!(outcome(&got), Err(libc::EEXIST));

        let got = open(&mut r, &mut p, "redirect", libc::O_RDONLY);
        let mut f = std::fs::File::from(match got {
            Reply::Fd { fd, .. } => fd,
            other => panic!("{other:?}"),
        });
        text.clear();
        f.read_to_string(&mut text).unwrap();
        assert_eq!(text, "target");
        assert!(
            r.last_log().contains(r#""decision":"redirect""#),
            "{}",
            r.last_log()
        );
        // Not `writable`: read-only.
        let got = open(&mut r, &mut p, "redirect", libc::O_RDWR);
        assert_eq!(outcome(&got), EACCES);
    }

    #[test]
    fn the_log_says_what_was_decided_and_on_what() {
        let mut r = run();
        let mut p = r.program();
        let tid = p.tid();
        let d = r.dir.str().to_owned();
        let rest = |line: String| line.split_once(",\"pid\"").unwrap().1.to_owned();
        let _ = open(&mut r, &mut p, "deny/f", libc::O_RDONLY | libc::O_CLOEXEC);
        let line = rest(r.last_log());
        let want = format!(
            r#":{tid},"syscall":"openat","path":"{d}/deny/f","flags":["O_RDONLY","O_CLOEXEC"],"decision":"deny","errno":"EACCES","rule":""#
        );
        assert!(line.starts_with(&want), "{line}\n{want}");
        let _ = open(&mut r, &mut p, "hide/f", libc::O_WRONLY | libc::O_CREAT);
        let line = rest(r.last_log());
        let want = format!(
            r#":{tid},"syscall":"openat","path":"{d}/hide/f","flags":["O_WRONLY","O_CREAT"],"decision":"hide","errno":"ENOENT","rule":""#
        );
        assert!(line.starts_with(&want), "{line}\n{want}");
        let _ = open(&mut r, &mut p, "rw/f", libc::O_RDWR);
        let line = rest(r.last_log());
        let want = format!(
            r#":{tid},"syscall":"openat","path":"{d}/rw/f","flags":["O_RDWR"],"decision":"allow","rule":""#
        );
        assert!(line.starts_with(&want), "{line}\n{want}");
        let _ = open(&mut r, &mut p, "other", libc::O_RDONLY);
        let line = rest(r.last_log());
        assert!(
            line.ends_with(r#""decision":"deny","errno":"EACCES","rule":"default"}"#),
            "{line}"
        );
    }

    /// `openat2` with `how` (flags, mode, resolve) and `size`, on `D/rel`.
    fn openat2(r: &mut Run, p: &mut Fake, rel: &str, how: [u64; 3], size: usize) -> Reply {
        let mut raw: Vec<u8> = how.iter().flat_map(|w| w.to_ne_bytes()).collect();
        raw.resize(size.max(24), 0);
        let h = p.put(&raw);
        let path = p.put_cstr(&r.path(rel));
        r.call(
            p,
            libc::SYS_openat2,
            &[arg(libc::AT_FDCWD), path, h, size as u64],
        )
    }

    #[test]
    fn openat2_reads_its_struct_as_the_kernel() {
        let mut r = run();
        let mut p = r.program();
        let rdonly = [0, 0, 0];
        let cases: &[(&str, [u64; 3], usize, Outcome)] = &[
            ("rw/f", rdonly, 24, RO),
            // Too short, too long, a larger struct with a non-zero tail.
            ("rw/f", rdonly, 23, Err(libc::EINVAL)),
            ("rw/f", rdonly, 4097, Err(libc::E2BIG)),
            ("rw/f", rdonly, 32, RO),
            // Flags beyond 32 bits, unknown flags, a mode without O_CREAT.
            ("rw/f", [1 << 40, 0, 0], 24, Err(libc::EINVAL)),
            ("rw/f", [0x4000_0000, 0, 0], 24, Err(libc::EINVAL)),
            ("rw/f", [0, 0o644, 0], 24, Err(libc::EINVAL)),
            (
                "rw/new",
                [arg(libc::O_CREAT | libc::O_WRONLY), 0o10_644, 0],
                24,
                Err(libc::EINVAL),
            ),
            // O_PATH takes no other access flags here.
            (
                "rw/f",
                [arg(libc::O_PATH | libc::O_RDWR), 0, 0],
                24,
                Err(libc::EINVAL),
            ),
            // Resolve flags: unknown, or BENEATH with IN_ROOT.
            ("rw/f", [0, 0, 0x100], 24, Err(libc::EINVAL)),
            (
                "rw/f",
                [0, 0, sys::RESOLVE_BENEATH | sys::RESOLVE_IN_ROOT],
                24,
                Err(libc::EINVAL),
            ),
            // RESOLVE_CACHED cannot create.
            (
                "rw/new",
                [
                    arg(libc::O_CREAT | libc::O_WRONLY),
                    0o644,
                    sys::RESOLVE_CACHED,
                ],
                24,
                Err(libc::EAGAIN),
            ),
            // RESOLVE_NO_SYMLINKS refuses a link on the way.
            (
                "rw/link",
                [0, 0, sys::RESOLVE_NO_SYMLINKS],
                24,
                Err(libc::ELOOP),
            ),
            // The policy still decides.
            ("ro/f", [arg(libc::O_RDWR), 0, 0], 24, EACCES),
            ("hide/f", rdonly, 24, ENOENT),
        ];
        for &(rel, how, size, want) in cases {
            let got = outcome(&openat2(&mut r, &mut p, rel, how, size));
            assert_eq!(got, want, "openat2 {rel} {how:?} size {size}");
        }
        // A tail that is not zero.
        let mut raw = vec![0u8; 32];
        raw[30] = 1;
        let h = p.put(&raw);
        let path = p.put_cstr(&r.path("rw/f"));
        let got = r.call(
            &mut p,
            libc::SYS_openat2,
            &[arg(libc::AT_FDCWD), path, h, 32],
        );
        assert_eq!(errno(&got), Some(libc::E2BIG));
        // A struct that cannot be read.
        let got = r.call(
            &mut p,
            libc::SYS_openat2,
            &[arg(libc::AT_FDCWD), path, 8, 24],
        );
        assert_eq!(errno(&got), Some(libc::EFAULT));
    }

    #[test]
    fn kernel_o_largefile_is_a_valid_openat2_flag() {
        assert_eq!(O_LARGEFILE, 0x8000);
        let how = OpenHow {
            flags: u64::from((libc::O_WRONLY | libc::O_CREAT | O_LARGEFILE).unsigned_abs()),
            mode: 0o644,
            resolve: 0,
        };
        assert_eq!(check_how(&how, true), Ok(()));
    }

    #[test]
    fn openat_flags_are_filtered_like_the_kernel() {
        let how = openat_how(libc::O_RDONLY | 0x4000_0000, 0o644);
        assert_eq!(how.flags, 0);
        assert_eq!(how.mode, 0, "mode is ignored without O_CREAT");
        let how = openat_how(libc::O_PATH | libc::O_RDWR | libc::O_CLOEXEC, 0);
        assert_eq!(how.flags, (libc::O_PATH | libc::O_CLOEXEC) as u64);
        let how = openat_how(libc::O_CREAT | libc::O_WRONLY, 0o100_644);
        assert_eq!(how.mode, 0o644);
    }
}

//! The careful resolver: one component at a time, on descriptors.
//!
//! Used when the lexical fast path cannot be (a symbolic link on the way, a
//! `..`, `/proc/self`, `openat2` resolve flags). Each step opens the next
//! component with `O_PATH` and `RESOLVE_NO_SYMLINKS` relative to the directory
//! descriptor reached so far, so what is resolved is exactly what the walk
//! holds; symbolic links are read and followed here, as the kernel would; the
//! program's `/proc/self` and `/proc/thread-self` are replaced by its own pid
//! (the supervisor's would be wrong); `/proc/<pid>` of a process outside the
//! sandbox does not exist; magic links under a sandboxed `/proc/<pid>` are
//! followed by the kernel to the object itself, whose real path is then read
//! back (`/proc/self/fd/N`) so that a magic link can never reach an object
//! its canonical path would not. The walk ends holding an `O_PATH` descriptor
//! of the object and its canonical path, on which the policy decides.

use std::ffi::CStr;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;

use super::lexical::push_component;
use crate::limits::SYMLINK_FOLLOWS;
use crate::sys::{self, OpenHow};
use crate::task::{fd_path, in_sandbox, Task};

/// Not a `RESOLVE_*` flag: a bit of [`walk`]'s `resolve` saying the request
/// creates (`O_CREAT`), for which a trailing slash on the last component
/// (one that a followed link's target ends with included) is EISDIR, before
/// the component is looked up, as the kernel's `open_last_lookups` answers.
pub const WALK_CREATE: u64 = 1 << 63;

/// Where a relative path starts.
#[derive(Debug)]
pub enum Start {
    /// The root (absolute paths).
    Root,
    /// A directory: the task's working directory or a `dirfd` it passed.
    Dir(OwnedFd),
}

/// What the walk reached. The canonical path is left in `Scratch::path`;
/// after an error, the path where it failed (see `handlers::walk_error`).
#[derive(Debug)]
pub enum Walked {
    /// An existing object, held by an `O_PATH` descriptor.
    Found {
        /// The object.
        fd: OwnedFd,
        /// It has no path (a pipe, socket, anonymous inode, deleted file, memfd
        /// reached through a magic link): `Scratch::path` holds the kernel's
        /// name for it.
        pathless: bool,
        /// It was reached through a magic link and has been unlinked (or is
        /// a memfd): its old path decides nothing; `held` limits a reopen.
        unlinked: bool,
        /// It is a symbolic link (the final one, not followed).
        symlink: bool,
        /// Reached through `/proc/<pid>/fd/N` of a sandboxed process: the
        /// access mode (`O_RDONLY`, `O_WRONLY`, `O_RDWR`) that descriptor
        /// already has; `None` otherwise, or for an `O_PATH` descriptor.
        held: Option<i32>,
    },
    /// The last component does not exist; its parent does. `Scratch::path`
    /// is the parent's canonical path plus the name, which starts at
    /// `name_at`.
    Missing {
        /// The parent directory.
        parent: OwnedFd,
        /// Offset of the name in `Scratch::path`.
        name_at: usize,
    },
    /// A directory on the way does not exist. `Scratch::path` holds the path
    /// the request would have had (for rules that serve a path from memory or
    /// elsewhere, which need nothing on disk).
    Absent,
}

/// Buffers a worker keeps between requests, so that a walk allocates nothing
/// in the common case.
#[derive(Debug, Default)]
pub struct WalkBufs {
    /// The canonical path of what the walk holds.
    pub path: Vec<u8>,
    rest: Vec<u8>,
    tmp: Vec<u8>,
    name: Vec<u8>,
}

impl WalkBufs {
    /// Buffers with room for the longest paths.
    pub fn new() -> Self {
        let cap = 2 * (libc::PATH_MAX as usize + 1);
        Self {
            path: Vec::with_capacity(cap),
            rest: Vec::with_capacity(cap),
            tmp: Vec::with_capacity(cap),
            name: Vec::with_capacity(256 + 1),
        }
    }
}

/// The directory the walk is in.
enum Cur<'r> {
    Root(BorrowedFd<'r>),
    Fd(OwnedFd),
}

impl Cur<'_> {
    fn borrow(&self) -> BorrowedFd<'_> {
        match self {
            Cur::Root(fd) => *fd,
            Cur::Fd(fd) => fd.as_fd(),
        }
    }

    fn raw(&self) -> RawFd {
        match self {
            Cur::Root(fd) => fd.as_raw_fd(),
            Cur::Fd(fd) => fd.as_raw_fd(),
        }
    }

    fn into_owned(self) -> Result<OwnedFd, i32> {
        match self {
            Cur::Root(fd) => fd.try_clone_to_owned().map_err(|e| errno_of(&e)),
            Cur::Fd(fd) => Ok(fd),
        }
    }
}

use crate::sys::errno_of;

fn open_path(dir: RawFd, name: &CStr, resolve: u64, extra: i32) -> std::io::Result<OwnedFd> {
    let how = OpenHow {
        flags: u64::from((libc::O_PATH | libc::O_CLOEXEC | extra).unsigned_abs()),
        mode: 0,
        resolve,
    };
    sys::openat2(dir, name, &how)
}

fn cstr(buf: &mut Vec<u8>, bytes: &[u8]) -> Result<(), i32> {
    buf.clear();
    buf.extend_from_slice(bytes);
    buf.push(0);
    if bytes.contains(&0) {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// Which processes the asking task's `/proc` may show, and how it numbers
/// them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// `fdsup run`: the descendants of the supervisor (this pid), numbered
    /// as in fdsup's own pid namespace, which the program shares.
    Tree(i32),
    /// A container: the processes of the asking task's pid namespace,
    /// numbered as there (its `/proc` is the container's). A container
    /// that shares fdsup's pid namespace sees only the asking process.
    PidNs,
}

/// Who asks, for `/proc/self` and the sandbox boundary in `/proc`.
#[derive(Debug)]
pub struct Asker<'t> {
    /// The task.
    pub task: &'t Task,
    /// The policy, to stop `..` from leaving a hidden directory: that would
    /// confirm the directory exists.
    pub policy: Option<&'t crate::policy::Policy>,
    /// Which processes the task's `/proc` shows.
    pub scope: Scope,
    /// The task's (thread-group id, thread id) as its `/proc` names them.
    ids: Option<(i32, i32)>,
    /// `ns/pid` of the task ([`Scope::PidNs`]): its pid namespace.
    pidns: Option<Vec<u8>>,
}

impl<'t> Asker<'t> {
    /// For `task`, in `scope`.
    pub fn new(task: &'t Task, scope: Scope) -> Self {
        Self {
            task,
            scope,
            policy: None,
            ids: None,
            pidns: None,
        }
    }

    /// The same, with the policy that decides the request.
    pub fn with_policy(task: &'t Task, scope: Scope, policy: &'t crate::policy::Policy) -> Self {
        Self {
            task,
            scope,
            policy: Some(policy),
            ids: None,
            pidns: None,
        }
    }

    /// The errno for leaving directory `path` by `..`, if the policy hides
    /// it: `hidden/..` would otherwise confirm that `hidden` exists. (A
    /// denied directory is not secret: it answers EACCES whether it exists
    /// or not, and the default of most policies is to deny.)
    ///
    /// Decided as every look at `path` is (`handlers::decide_found`): a
    /// sandboxed process's `/proc/<pid>` as the policy spells it,
    /// `/proc/self`; and a directory that only the default hides, with a
    /// rule that shows something below it, is on the way and no secret
    /// (left out, `/proc/self/fd/..` and `proj/../..` of a project whose
    /// parent is on the way were ENOENT, though the very directories were
    /// there to open). Not the hot path: `..` only.
    fn refusal(&mut self, path: &[u8]) -> Option<i32> {
        use crate::policy::{FsAccess, FsAction};
        let policy = self.policy?;
        let spelt;
        let path = match crate::proc_path::proc_pid(path) {
            Some((pid, _)) if !self.sees_pid(pid) => return Some(libc::ENOENT),
            Some((_, rest)) => {
                spelt = [&b"/proc/self"[..], rest].concat();
                &spelt[..]
            }
            None => path,
        };
        let d = policy.decide_fs(path);
        match d.action {
            FsAction::Access(FsAccess::Hide) if d.rule.is_none() && policy.shows_below(path) => {
                None
            }
            FsAction::Access(FsAccess::Hide) => Some(libc::ENOENT),
            _ => None,
        }
    }

    /// The task's thread-group and thread ids, as its `/proc/self` and
    /// `/proc/thread-self` name them.
    fn ids(&mut self) -> Result<(i32, i32), i32> {
        if let Some(ids) = self.ids {
            return Ok(ids);
        }
        let ids = match self.scope {
            Scope::Tree(_) => (self.task.tgid().map_err(|_| libc::ESRCH)?, self.task.tid()),
            Scope::PidNs => self.task.ns_ids().map_err(|_| libc::ESRCH)?,
        };
        self.ids = Some(ids);
        Ok(ids)
    }

    fn tgid(&mut self) -> Result<i32, i32> {
        self.ids().map(|(tgid, _)| tgid)
    }

    /// Is process or thread `pid` inside the sandbox?
    pub fn sees_pid(&mut self, pid: i32) -> bool {
        match self.scope {
            Scope::Tree(sup) => {
                pid == self.task.tid()
                    || self.ids.map(|(tgid, _)| tgid) == Some(pid)
                    || in_sandbox(pid, sup)
            }
            Scope::PidNs => {
                if self.is_own(pid) {
                    return true;
                }
                // Through the task's root: its `/proc`, its numbers.
                let p = format!("/proc/{}/root/proc/{pid}", self.task.tid());
                let Ok(p) = std::ffi::CString::new(p) else {
                    return false;
                };
                let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
                match crate::own_caps::with(|| sys::openat(libc::AT_FDCWD, &p, flags, 0)) {
                    Ok(dir) => self.same_pidns(dir.as_fd()),
                    Err(_) => false,
                }
            }
        }
    }

    /// The same for the process whose `/proc/<pid>` is `dir` (see
    /// [`crate::task::in_sandbox_at`]). The asking task's own ids need no
    /// check: it is pinned by its pending request.
    pub fn sees_pid_at(&mut self, pid: i32, dir: BorrowedFd<'_>) -> bool {
        match self.scope {
            Scope::Tree(sup) => {
                pid == self.task.tid()
                    || self.ids.map(|(tgid, _)| tgid) == Some(pid)
                    || crate::task::in_sandbox_at(dir, sup)
            }
            Scope::PidNs => self.is_own(pid) || self.same_pidns(dir),
        }
    }

    /// Whether `pid` (as the walk's `/proc` numbers it) is a thread of the
    /// asking task's process, which may look into it whatever its
    /// credentials (the kernel's `same_thread_group`).
    fn owns(&mut self, pid: i32) -> bool {
        if self.is_own(pid) {
            return true;
        }
        let Ok(tgid) = self.tgid() else {
            return false;
        };
        let there = |p: String| {
            std::ffi::CString::new(p).is_ok_and(|p| sys::lstat_mode(libc::AT_FDCWD, &p).is_ok())
        };
        match self.scope {
            Scope::Tree(_) => there(format!("/proc/{tgid}/task/{pid}")),
            // Through the task's root: its `/proc`, its numbers (as
            // `sees_pid`), which a thread of its own is not counted
            // as by `is_own`. A `/proc/<pid>` the walk holds whose task
            // has gone answers nothing, so a number reused meanwhile
            // lends nothing.
            Scope::PidNs => {
                let p = format!("/proc/{}/root/proc/{tgid}/task/{pid}", self.task.tid());
                crate::own_caps::with(|| there(p))
            }
        }
    }

    /// [`Scope::PidNs`]: `pid` is the asking task or its process.
    fn is_own(&mut self, pid: i32) -> bool {
        self.ids()
            .is_ok_and(|(tgid, tid)| pid == tgid || pid == tid)
    }

    /// [`Scope::PidNs`]: the process of `/proc/<pid>` directory `dir` is in
    /// the asking task's pid namespace, which is not fdsup's own.
    fn same_pidns(&mut self, dir: BorrowedFd<'_>) -> bool {
        crate::own_caps::with(|| self.same_pidns_raised(dir))
    }

    /// [`Asker::same_pidns`], with whatever right to look fdsup has now.
    fn same_pidns_raised(&mut self, dir: BorrowedFd<'_>) -> bool {
        let mut theirs = Vec::with_capacity(32);
        if crate::task::read_link_at(dir.as_raw_fd(), c"ns/pid", &mut theirs).is_err() {
            return false;
        }
        if self.pidns.is_none() {
            let mut mine = Vec::with_capacity(32);
            let p = crate::task::ProcPath::new(self.task.tid(), "/ns/pid");
            if crate::task::read_link(p.as_cstr(), &mut mine).is_err() {
                return false;
            }
            self.pidns = Some(mine);
        }
        let mut ours = Vec::with_capacity(32);
        if crate::task::read_link(c"/proc/self/ns/pid", &mut ours).is_err() {
            return false;
        }
        self.pidns.as_deref() == Some(theirs.as_slice()) && ours != theirs
    }
}

/// Resolves `path` from `start` the way `openat2(start, path, O_PATH, resolve)`
/// would in the program, with the program's `/proc`. `follow_final` says
/// whether a symbolic link in the last component is followed.
///
/// Where the worker carries a program's lowered capabilities, it ends with
/// what the program may look at the object with raised
/// ([`crate::own_caps::for_program`]): in the program's own `/proc/<pid>`,
/// its `exe` link is read, its `fd` directory listed, as the kernel lets
/// the program natively whatever its credentials.
pub fn walk(
    asker: &mut Asker<'_>,
    root: &super::Root<'_>,
    start: Start,
    path: &[u8],
    resolve: u64,
    follow_final: bool,
    b: &mut WalkBufs,
) -> Result<Walked, i32> {
    let r = walk_steps(asker, root, start, path, resolve, follow_final, b);
    match &r {
        Ok(Walked::Found { .. }) => in_proc(asker, &b.path),
        _ => crate::own_caps::for_program(crate::own_caps::Proc::Elsewhere),
    }
    r
}

/// Tells [`crate::own_caps`] where in `/proc` `path` is, for the asking
/// process ([`crate::own_caps::Proc`]), where it needs to know.
fn in_proc(asker: &mut Asker<'_>, path: &[u8]) {
    use crate::own_caps::{for_program, lowered, Proc};
    if !lowered() {
        return;
    }
    let at = match crate::proc_path::proc_pid(path) {
        Some((pid, rest)) if asker.owns(pid) => {
            if is_fd_dir(rest) {
                Proc::OwnFds
            } else {
                Proc::Own
            }
        }
        _ => Proc::Elsewhere,
    };
    for_program(at);
}

/// Whether `rest` (below `/proc/<pid>`) is `/fd`, `/task/<tid>/fd` or
/// `/map_files`: the directories the kernel guards with
/// `proc_fd_permission` (root's, mode 0500, for a non-dumpable task; its
/// own threads pass whatever the mode). `map_files`'s entries need
/// `CAP_SYS_ADMIN` besides, which nothing here raises.
fn is_fd_dir(rest: &[u8]) -> bool {
    if rest == b"/fd" || rest == b"/map_files" {
        return true;
    }
    let Some(t) = rest.strip_prefix(b"/task/") else {
        return false;
    };
    t.strip_suffix(b"/fd")
        .is_some_and(|tid| !tid.is_empty() && tid.iter().all(u8::is_ascii_digit))
}

/// [`walk`]'s steps.
fn walk_steps(
    asker: &mut Asker<'_>,
    root: &super::Root<'_>,
    start: Start,
    path: &[u8],
    resolve: u64,
    follow_final: bool,
    b: &mut WalkBufs,
) -> Result<Walked, i32> {
    if path.is_empty() {
        return Err(libc::ENOENT);
    }
    let Some(root) = root.fd() else {
        return Err(libc::EACCES);
    };
    let beneath = resolve & sys::RESOLVE_BENEATH != 0;
    let in_root = resolve & sys::RESOLVE_IN_ROOT != 0;
    let step_resolve = sys::RESOLVE_NO_SYMLINKS | (resolve & sys::RESOLVE_NO_XDEV);

    // The anchor is where `/` and `..` stop under RESOLVE_IN_ROOT.
    let mut anchor: Option<(OwnedFd, Vec<u8>)> = None;
    let mut cur = match start {
        Start::Dir(fd) if path[0] != b'/' || in_root => {
            fd_path(fd.as_fd(), &mut b.path).map_err(|e| errno_of(&e))?;
            if outside(asker, &b.path) {
                // A working directory or dirfd in `/proc/<pid>` of a process
                // outside the sandbox (the program could `chdir` there before
                // chdir was mediated, or inherit one): nothing below it is
                // the program's to reach.
                return Err(libc::ENOENT);
            }
            Cur::Fd(fd)
        }
        _ => {
            if beneath {
                return Err(libc::EXDEV);
            }
            b.path.clear();
            b.path.push(b'/');
            Cur::Root(root)
        }
    };
    if let Cur::Fd(fd) = &cur {
        // A relative path from anything but a directory (a file, a memfd,
        // a socket): ENOTDIR, before anything else, as the kernel.
        if sys::fstat_mode(fd.as_fd()).map_err(|e| errno_of(&e))? & libc::S_IFMT != libc::S_IFDIR {
            return Err(libc::ENOTDIR);
        }
    }
    if b.path.first() != Some(&b'/') {
        // A directory without a path.
        return Err(libc::ENOTDIR);
    }
    if resolve & sys::RESOLVE_CACHED != 0 {
        // We never know what the kernel has cached: the program retries
        // without (after what the starting point alone decides, as there).
        return Err(libc::EAGAIN);
    }
    // A deleted directory (a working directory removed): nothing is in it,
    // but `.` and `..` still work, as in the kernel. It is decided on the
    // path it had. (A directory that is only named `x (deleted)` is
    // decided on that name: `x` may be another rule's.)
    if super::unlinked(cur.borrow(), &b.path) {
        strip_deleted(&mut b.path);
    }
    if in_root {
        let dup = match &cur {
            Cur::Fd(fd) => fd.try_clone().map_err(|e| errno_of(&e))?,
            Cur::Root(fd) => fd.try_clone_to_owned().map_err(|e| errno_of(&e))?,
        };
        anchor = Some((dup, b.path.clone()));
    }

    b.rest.clear();
    b.rest.extend_from_slice(path);
    let mut pos = 0usize;
    let mut depth = 0i32;
    let mut follows = 0u32;

    loop {
        // The program may look into its own process whatever its
        // credentials; its worker, another process, only with capabilities.
        in_proc(asker, &b.path);
        while pos < b.rest.len() && b.rest[pos] == b'/' {
            pos += 1;
        }
        if pos == b.rest.len() {
            return Ok(Walked::Found {
                fd: cur.into_owned()?,
                pathless: false,
                unlinked: false,
                symlink: false,
                held: None,
            });
        }
        let end = b.rest[pos..]
            .iter()
            .position(|&c| c == b'/')
            .map_or(b.rest.len(), |i| pos + i);
        let mut after = end;
        while after < b.rest.len() && b.rest[after] == b'/' {
            after += 1;
        }
        let last = after == b.rest.len();
        let trailing = last && end < b.rest.len();
        let (s, e) = (pos, end);
        pos = after;

        match &b.rest[s..e] {
            // `.` names the directory it is in, and only a directory: the
            // kernel answers ENOTDIR for `file/.` (and for `.` relative to
            // a file's descriptor).
            b"." => {
                sys::lstat_mode(cur.raw(), c".").map_err(|e| errno_of(&e))?;
                continue;
            }
            b".." => {
                let at_anchor = match &anchor {
                    Some((_, p)) => b.path == *p,
                    None => b.path == b"/",
                };
                if at_anchor {
                    continue;
                }
                // The directory must be searchable before `..` is anything
                // (the kernel's may_lookup comes first).
                if !super::searches_anything() {
                    // (A file is ENOTDIR first, as `file/..` in the kernel.)
                    if sys::fstat_mode(cur.borrow()).map_err(|e| errno_of(&e))? & libc::S_IFMT
                        != libc::S_IFDIR
                    {
                        return Err(libc::ENOTDIR);
                    }
                    sys::faccessat2(
                        cur.raw(),
                        c"",
                        libc::X_OK,
                        libc::AT_EMPTY_PATH | libc::AT_EACCESS,
                    )
                    .map_err(|e| errno_of(&e))?;
                }
                if beneath && depth == 0 {
                    return Err(libc::EXDEV);
                }
                if let Some(e) = asker.refusal(&b.path) {
                    return Err(e);
                }
                let up = open_path(
                    cur.raw(),
                    c"..",
                    resolve & sys::RESOLVE_NO_XDEV,
                    libc::O_DIRECTORY,
                )
                .map_err(|e| errno_of(&e))?;
                fd_path(up.as_fd(), &mut b.path).map_err(|e| errno_of(&e))?;
                if outside(asker, &b.path) {
                    return Err(libc::ENOENT);
                }
                cur = Cur::Fd(up);
                depth -= 1;
                continue;
            }
            _ => {}
        }

        if last && trailing && resolve & WALK_CREATE != 0 {
            // Once in a directory: `file/x/` is still ENOTDIR.
            let dir = sys::fstat_mode(cur.borrow()).map_err(|e| errno_of(&e))? & libc::S_IFMT
                == libc::S_IFDIR;
            return Err(if dir { libc::EISDIR } else { libc::ENOTDIR });
        }

        // `/proc/self` and `/proc/thread-self` are the program's, not ours.
        if b.path == b"/proc" && (&b.rest[s..e] == b"self" || &b.rest[s..e] == b"thread-self") {
            if last && !follow_final && !trailing {
                // The link itself (lstat, readlink): one inode for every
                // process, so ours is the program's; its target is the
                // caller's to give (`proc_self_target`).
                cstr(&mut b.name, &b.rest[s..e])?;
                let name = CStr::from_bytes_with_nul(&b.name).map_err(|_| libc::EINVAL)?;
                let fd =
                    open_path(cur.raw(), name, 0, libc::O_NOFOLLOW).map_err(|e| errno_of(&e))?;
                push_component(&mut b.path, &b.rest[s..e]);
                return Ok(Walked::Found {
                    fd,
                    pathless: false,
                    unlinked: false,
                    symlink: true,
                    held: None,
                });
            }
            if resolve & sys::RESOLVE_NO_SYMLINKS != 0 {
                return Err(libc::ELOOP);
            }
            follows += 1;
            if follows > SYMLINK_FOLLOWS {
                return Err(libc::ELOOP);
            }
            let tgid = asker.tgid()?;
            b.tmp.clear();
            if &b.rest[s..e] == b"self" {
                b.tmp.extend_from_slice(tgid.to_string().as_bytes());
            } else {
                let (_, tid) = asker.ids()?;
                b.tmp
                    .extend_from_slice(format!("{tgid}/task/{tid}").as_bytes());
            }
            b.tmp.extend_from_slice(&b.rest[e..]);
            std::mem::swap(&mut b.rest, &mut b.tmp);
            pos = 0;
            continue;
        }
        if b.path == b"/proc" {
            let name = &b.rest[s..e];
            if !name.is_empty() && name.iter().all(u8::is_ascii_digit) {
                let pid = std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                // Decided on the directory itself, opened first, so that a
                // pid reused between the check and the open cannot pass.
                let seen = cstr(&mut b.name, name).ok().and_then(|()| {
                    let n = CStr::from_bytes_with_nul(&b.name).ok()?;
                    let dir = open_path(cur.raw(), n, step_resolve, libc::O_DIRECTORY).ok()?;
                    asker.sees_pid_at(pid, dir.as_fd()).then_some(dir)
                });
                let Some(dir) = seen else {
                    // Outside the sandbox (or gone): never entered. The
                    // caller decides on the path (hidden), and logs it.
                    push_component(&mut b.path, &b.rest[s..e]);
                    return absent(b, pos);
                };
                push_component(&mut b.path, &b.rest[s..e]);
                cur = Cur::Fd(dir);
                depth += 1;
                if last {
                    return Ok(Walked::Found {
                        fd: cur.into_owned()?,
                        pathless: false,
                        unlinked: false,
                        symlink: false,
                        held: None,
                    });
                }
                continue;
            }
        }

        cstr(&mut b.name, &b.rest[s..e])?;
        let name = CStr::from_bytes_with_nul(&b.name).map_err(|_| libc::EINVAL)?;
        // With `fs.protected_symlinks` on, the kernel refuses another
        // user's link in a sticky, world-writable directory as the last
        // component of this one-step open (EACCES, before its ELOOP): this
        // walk decides itself whether the link is the path's last (the
        // only one the kernel checks, `sticky::refuses_follow`).
        let opened = match open_path(cur.raw(), name, step_resolve, 0) {
            Err(e) if e.raw_os_error() == Some(libc::EACCES) && is_symlink(cur.borrow(), name) => {
                Err(std::io::Error::from_raw_os_error(libc::ELOOP))
            }
            r => r,
        };
        match opened {
            Ok(fd) => {
                push_component(&mut b.path, &b.rest[s..e]);
                if trailing
                    && sys::fstat_mode(fd.as_fd()).map_err(|e| errno_of(&e))? & libc::S_IFMT
                        != libc::S_IFDIR
                {
                    return Err(libc::ENOTDIR);
                }
                cur = Cur::Fd(fd);
                depth += 1;
                if last {
                    return Ok(Walked::Found {
                        fd: cur.into_owned()?,
                        pathless: false,
                        unlinked: false,
                        symlink: false,
                        held: None,
                    });
                }
            }
            Err(err) if err.raw_os_error() == Some(libc::ELOOP) => {
                // A symbolic link (or a magic link).
                if last && !follow_final && !trailing {
                    let fd = open_path(cur.raw(), name, 0, libc::O_NOFOLLOW)
                        .map_err(|e| errno_of(&e))?;
                    push_component(&mut b.path, &b.rest[s..e]);
                    return Ok(Walked::Found {
                        fd,
                        pathless: false,
                        unlinked: false,
                        symlink: true,
                        held: None,
                    });
                }
                if resolve & sys::RESOLVE_NO_SYMLINKS != 0 {
                    return Err(libc::ELOOP);
                }
                follows += 1;
                if follows > SYMLINK_FOLLOWS {
                    return Err(libc::ELOOP);
                }
                if crate::proc_path::proc_pid(&b.path).is_some() {
                    // A magic link of a sandboxed process: let the kernel
                    // follow it, then read back what it reached.
                    if resolve & sys::RESOLVE_NO_MAGICLINKS != 0 {
                        return Err(libc::ELOOP);
                    }
                    if beneath || in_root {
                        return Err(libc::EXDEV);
                    }
                    let fd = open_path(cur.raw(), name, 0, 0).map_err(|e| errno_of(&e))?;
                    // Read after the open, and only trusted if it describes
                    // the very object opened: a descriptor swapped by `dup2`
                    // in between must not lend its access mode to another.
                    let held = held_access(asker, &b.path, cur.raw(), &b.rest[s..e], fd.as_fd());
                    fd_path(fd.as_fd(), &mut b.path).map_err(|e| errno_of(&e))?;
                    if outside(asker, &b.path) {
                        // e.g. the `cwd` of a sandboxed process that sits in
                        // the supervisor's `/proc/<pid>`.
                        return Err(libc::ENOENT);
                    }
                    // (Only an object linked nowhere: a name may end with
                    // the mark on its own.)
                    let deleted = super::unlinked(fd.as_fd(), &b.path);
                    let pathless = b.path.first() != Some(&b'/');
                    if last
                        && trailing
                        && sys::fstat_mode(fd.as_fd()).map_err(|e| errno_of(&e))? & libc::S_IFMT
                            != libc::S_IFDIR
                    {
                        // `link/` where the link reaches no directory.
                        return Err(libc::ENOTDIR);
                    }
                    if deleted && last && !pathless {
                        // An unlinked file (or a memfd) has no path to decide
                        // on: only a reopen within the access its descriptor
                        // already has is possible.
                        return Ok(Walked::Found {
                            fd,
                            pathless: false,
                            unlinked: true,
                            symlink: false,
                            held: Some(held.unwrap_or(NO_ACCESS)),
                        });
                    }
                    if deleted {
                        // Below a deleted file (a memfd): ENOTDIR; below a
                        // deleted directory, only `.` and `..` are there
                        // (the rest is ENOENT from the kernel).
                        let dir = sys::fstat_mode(fd.as_fd()).map_err(|e| errno_of(&e))?
                            & libc::S_IFMT
                            == libc::S_IFDIR;
                        if !dir {
                            return Err(libc::ENOTDIR);
                        }
                        strip_deleted(&mut b.path);
                    }
                    if last {
                        return Ok(Walked::Found {
                            fd,
                            pathless,
                            unlinked: false,
                            symlink: false,
                            held,
                        });
                    }
                    if pathless {
                        return Err(libc::ENOTDIR);
                    }
                    cur = Cur::Fd(fd);
                    continue;
                }
                // The kernel's `fs.protected_symlinks`, which it never
                // sees here (this walk follows the link): for the path's
                // last component only, as the kernel (`WALK_TRAILING`).
                if last && super::sticky::refuses_follow(cur.borrow(), name) {
                    return Err(libc::EACCES);
                }
                b.tmp.clear();
                b.tmp.resize(libc::PATH_MAX as usize + 1, 0);
                let n = sys::readlinkat(cur.raw(), name, &mut b.tmp).map_err(|e| errno_of(&e))?;
                b.tmp.truncate(n);
                if b.tmp.is_empty() {
                    return Err(libc::ENOENT);
                }
                if b.tmp[0] == b'/' {
                    if beneath {
                        return Err(libc::EXDEV);
                    }
                    if resolve & sys::RESOLVE_NO_XDEV != 0 {
                        // Jumping to the root crosses mounts unless the
                        // link is on the root's own mount.
                        let to = anchor.as_ref().map_or(root, |(fd, _)| fd.as_fd());
                        if sys::mount_id(cur.borrow()).ok() != sys::mount_id(to).ok() {
                            return Err(libc::EXDEV);
                        }
                    }
                    match &anchor {
                        Some((fd, p)) => {
                            cur = Cur::Fd(fd.try_clone().map_err(|e| errno_of(&e))?);
                            b.path.clone_from(p);
                        }
                        None => {
                            cur = Cur::Root(root);
                            b.path.clear();
                            b.path.push(b'/');
                        }
                    }
                    depth = 0;
                }
                // The rest of the path follows the link's target.
                b.tmp.extend_from_slice(&b.rest[e..]);
                std::mem::swap(&mut b.rest, &mut b.tmp);
                pos = 0;
            }
            Err(err) if err.raw_os_error() == Some(libc::ENOENT) => {
                let name_at = b.path.len() + usize::from(b.path.last() != Some(&b'/'));
                push_component(&mut b.path, &b.rest[s..e]);
                if last {
                    return Ok(Walked::Missing {
                        parent: cur.into_owned()?,
                        name_at,
                    });
                }
                return absent(b, pos);
            }
            Err(err) => {
                // Leave the failing path for the caller, who must not let a
                // hidden path's error (ENOTDIR, EACCES) confirm it exists.
                push_component(&mut b.path, &b.rest[s..e]);
                return Err(errno_of(&err));
            }
        }
    }
}

/// Whether `name` in `dir` is a symbolic link (not followed).
fn is_symlink(dir: BorrowedFd<'_>, name: &CStr) -> bool {
    sys::lstat_mode(dir.as_raw_fd(), name).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFLNK)
}

/// Removes the kernel's " (deleted)" from the path of a directory's
/// descriptor: the path it had.
fn strip_deleted(path: &mut Vec<u8>) {
    if path.ends_with(super::DELETED) {
        path.truncate(path.len() - super::DELETED.len());
    }
}

/// `Walked::Absent`, with `b.path` completed by the rest of the path from
/// `pos`: what the path would be, for rules that need nothing on disk.
fn absent(b: &mut WalkBufs, pos: usize) -> Result<Walked, i32> {
    b.tmp.clear();
    b.tmp.extend_from_slice(&b.rest[pos..]);
    let rest = std::mem::take(&mut b.tmp);
    let ok = super::lexical::join_normal(&mut b.path, &rest, false);
    b.tmp = rest;
    if !ok {
        return Err(libc::ENOENT);
    }
    Ok(Walked::Absent)
}

/// The access mode of an object reached through a magic link that may be
/// reopened only within what its descriptor holds, when there is no such
/// descriptor (or it is `O_PATH`): no mode at all, so that `within` refuses.
pub const NO_ACCESS: i32 = -1;

/// Is `path` in `/proc/<pid>` of a process outside the sandbox?
fn outside(asker: &mut Asker<'_>, path: &[u8]) -> bool {
    crate::proc_path::proc_pid(path).is_some_and(|(pid, _)| !asker.sees_pid(pid))
}

/// For `dir` = `/proc/<pid>/fd` (or `/proc/<pid>/task/<tid>/fd`) of a
/// sandboxed process and a descriptor number `name`: the access mode that
/// descriptor has, from its `fdinfo` (`None` for `O_PATH`, or when it cannot
/// be read). `opened` is what following the link gave us; the answer counts
/// only if the same `fdinfo` read names the same object (mount and inode),
/// since the program may swap the descriptor between our open and our read.
///
/// In a container ([`Scope::PidNs`]) the path is the container's, so
/// `fdinfo` is read beside `dir_fd` (the `fd` directory the walk holds, in
/// the container's `/proc`), never by the number through fdsup's own.
fn held_access(
    asker: &mut Asker<'_>,
    dir: &[u8],
    dir_fd: RawFd,
    name: &[u8],
    opened: BorrowedFd<'_>,
) -> Option<i32> {
    crate::own_caps::with(|| held_access_raised(asker, dir, dir_fd, name, opened))
}

/// [`held_access`], with whatever right to look fdsup has now.
fn held_access_raised(
    asker: &mut Asker<'_>,
    dir: &[u8],
    dir_fd: RawFd,
    name: &[u8],
    opened: BorrowedFd<'_>,
) -> Option<i32> {
    let base = dir.strip_suffix(b"/fd")?;
    let (pid, _) = crate::proc_path::proc_pid(base)?;
    if !asker.sees_pid(pid) || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let theirs = if asker.scope == Scope::PidNs {
        let mut rel = b"../fdinfo/".to_vec();
        rel.extend_from_slice(name);
        let rel = std::ffi::CString::new(rel).ok()?;
        let fd = sys::openat(dir_fd, &rel, libc::O_RDONLY | libc::O_CLOEXEC, 0).ok()?;
        let mut text = Vec::with_capacity(256);
        std::io::Read::read_to_end(&mut std::fs::File::from(fd), &mut text).ok()?;
        FdInfo::parse(&text)?
    } else {
        let mut p = base.to_vec();
        p.extend_from_slice(b"/fdinfo/");
        p.extend_from_slice(name);
        FdInfo::read(&p)?
    };
    let ours = FdInfo::read(format!("/proc/self/fdinfo/{}", opened.as_raw_fd()).as_bytes())?;
    if (theirs.mnt_id, theirs.ino) != (ours.mnt_id, ours.ino) {
        return None;
    }
    (theirs.flags & libc::O_PATH == 0).then_some(theirs.flags & libc::O_ACCMODE)
}

/// What one read of `/proc/<pid>/fdinfo/<n>` says.
#[derive(Debug, PartialEq, Eq)]
struct FdInfo {
    flags: i32,
    mnt_id: u64,
    ino: u64,
}

impl FdInfo {
    fn read(path: &[u8]) -> Option<FdInfo> {
        let text = std::fs::read(std::ffi::OsStr::from_bytes(path)).ok()?;
        FdInfo::parse(&text)
    }

    fn parse(text: &[u8]) -> Option<FdInfo> {
        let field = |key: &[u8]| {
            text.split(|&c| c == b'\n')
                .find_map(|l| l.strip_prefix(key))
                .and_then(|v| std::str::from_utf8(v).ok())
                .map(str::trim)
        };
        Some(FdInfo {
            flags: i32::from_str_radix(field(b"flags:")?, 8).ok()?,
            mnt_id: field(b"mnt_id:")?.parse().ok()?,
            ino: field(b"ino:")?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::path::PathBuf;

    #[test]
    fn fdinfo_is_parsed() {
        let text = b"pos:\t0\nflags:\t02100002\nmnt_id:\t25\nino:\t1234\n";
        assert_eq!(
            FdInfo::parse(text),
            Some(FdInfo {
                flags: 0o2100002,
                mnt_id: 25,
                ino: 1234
            })
        );
        assert_eq!(FdInfo::parse(b"pos:\t0\nflags:\t02\n"), None);
        // Our own descriptor's fdinfo names its file.
        let f = std::fs::File::open("/proc/self/status").expect("open");
        let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
        let info = FdInfo::read(format!("/proc/self/fdinfo/{fd}").as_bytes()).expect("fdinfo");
        assert_eq!(info.flags & libc::O_ACCMODE, libc::O_RDONLY);
    }

    /// A scratch tree, removed on drop; its path is canonical.
    struct Tree(PathBuf);

    impl Tree {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "fdsup-walk-{tag}-{}-{}",
                std::process::id(),
                sys::gettid()
            ));
            let _ = std::fs::remove_dir_all(&p);
            std::fs::create_dir_all(p.join("a/b")).expect("mkdir");
            std::fs::write(p.join("a/b/f"), "f").expect("write");
            std::fs::write(p.join("top"), "t").expect("write");
            symlink("b/f", p.join("a/rel")).expect("symlink");
            symlink(p.join("top"), p.join("a/abs")).expect("symlink");
            symlink("a/b", p.join("dirlink")).expect("symlink");
            symlink("nowhere", p.join("dangling")).expect("symlink");
            symlink("loop2", p.join("loop1")).expect("symlink");
            symlink("loop1", p.join("loop2")).expect("symlink");
            Self(std::fs::canonicalize(&p).expect("canonical"))
        }

        fn dir(&self) -> Start {
            let fd = sys::openat(
                libc::AT_FDCWD,
                &std::ffi::CString::new(self.0.as_os_str().as_encoded_bytes()).expect("cstr"),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                0,
            )
            .expect("open tree");
            Start::Dir(fd)
        }

        fn s(&self, rel: &str) -> String {
            format!("{}/{rel}", self.0.display())
        }
    }

    impl Drop for Tree {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Resolves and returns the canonical path, or the errno; `M:` prefixes a
    /// missing last component, `A:` an absent directory on the way.
    fn resolve(start: Start, path: &str, resolve: u64, follow: bool) -> Result<String, i32> {
        let task = Task::new(sys::gettid().unsigned_abs());
        let mut asker = Asker::new(&task, Scope::Tree(1));
        let root = crate::fs::open_root().expect("root");
        let mut b = WalkBufs::new();
        let w = walk(
            &mut asker,
            &crate::fs::Root::Own(root.as_fd()),
            start,
            path.as_bytes(),
            resolve,
            follow,
            &mut b,
        )?;
        let p = String::from_utf8_lossy(&b.path).into_owned();
        Ok(match w {
            Walked::Found { symlink: true, .. } => format!("L:{p}"),
            Walked::Found { .. } => p,
            Walked::Missing { .. } => format!("M:{p}"),
            Walked::Absent => format!("A:{p}"),
        })
    }

    #[test]
    fn follows_symlinks_as_the_kernel_does() {
        let t = Tree::new("follow");
        assert_eq!(resolve(t.dir(), "a/rel", 0, true), Ok(t.s("a/b/f")));
        assert_eq!(resolve(t.dir(), "a/abs", 0, true), Ok(t.s("top")));
        assert_eq!(resolve(t.dir(), "dirlink/f", 0, true), Ok(t.s("a/b/f")));
        assert_eq!(
            resolve(Start::Root, &t.s("dirlink/../rel"), 0, true),
            Ok(t.s("a/b/f"))
        );
        // `..` after a symlinked directory goes to the link target's parent.
        assert_eq!(
            resolve(t.dir(), "dirlink/../b/f", 0, true),
            Ok(t.s("a/b/f"))
        );
        assert_eq!(
            resolve(t.dir(), "a/rel", 0, false),
            Ok(format!("L:{}", t.s("a/rel")))
        );
    }

    #[test]
    fn missing_and_absent() {
        let t = Tree::new("missing");
        assert_eq!(
            resolve(t.dir(), "a/new", 0, true),
            Ok(format!("M:{}", t.s("a/new")))
        );
        assert_eq!(
            resolve(t.dir(), "dangling", 0, true),
            Ok(format!("M:{}", t.s("nowhere")))
        );
        assert_eq!(
            resolve(t.dir(), "x/y/z", 0, true),
            Ok(format!("A:{}", t.s("x/y/z")))
        );
        assert_eq!(resolve(t.dir(), "top/x", 0, true), Err(libc::ENOTDIR));
        assert_eq!(resolve(t.dir(), "top/", 0, true), Err(libc::ENOTDIR));
        assert_eq!(resolve(t.dir(), "", 0, true), Err(libc::ENOENT));
    }

    #[test]
    fn loops_and_resolve_flags() {
        let t = Tree::new("flags");
        assert_eq!(resolve(t.dir(), "loop1", 0, true), Err(libc::ELOOP));
        assert_eq!(
            resolve(t.dir(), "a/rel", sys::RESOLVE_NO_SYMLINKS, true),
            Err(libc::ELOOP)
        );
        assert_eq!(
            resolve(t.dir(), "../x", sys::RESOLVE_BENEATH, true),
            Err(libc::EXDEV)
        );
        assert_eq!(
            resolve(t.dir(), "a/abs", sys::RESOLVE_BENEATH, true),
            Err(libc::EXDEV)
        );
        assert_eq!(
            resolve(t.dir(), "a/b/../rel", sys::RESOLVE_BENEATH, true),
            Ok(t.s("a/b/f"))
        );
        // In root: `/` and `..` stop at the start directory.
        assert_eq!(
            resolve(t.dir(), "/top", sys::RESOLVE_IN_ROOT, true),
            Ok(t.s("top"))
        );
        assert_eq!(
            resolve(t.dir(), "../../top", sys::RESOLVE_IN_ROOT, true),
            Ok(t.s("top"))
        );
        assert_eq!(
            resolve(t.dir(), "top", sys::RESOLVE_CACHED, true),
            Err(libc::EAGAIN)
        );
    }

    #[test]
    fn proc_self_is_the_askers_and_magic_links_are_read_back() {
        let t = Tree::new("proc");
        let me = std::process::id();
        assert_eq!(
            resolve(Start::Root, "/proc/self", 0, true),
            Ok(format!("/proc/{me}"))
        );
        // Not followed (lstat, readlink): the link itself, even with
        // RESOLVE_NO_SYMLINKS (a final link left alone is no symlink walked).
        assert_eq!(
            resolve(Start::Root, "/proc/self", 0, false),
            Ok("L:/proc/self".into())
        );
        assert_eq!(
            resolve(
                Start::Root,
                "/proc/thread-self",
                sys::RESOLVE_NO_SYMLINKS,
                false
            ),
            Ok("L:/proc/thread-self".into())
        );
        // A trailing slash follows it.
        assert_eq!(
            resolve(Start::Root, "/proc/self/", 0, false),
            Ok(format!("/proc/{me}"))
        );
        let f = std::fs::File::open(t.0.join("a/b/f")).expect("open");
        let n = std::os::fd::AsRawFd::as_raw_fd(&f);
        assert_eq!(
            resolve(Start::Root, &format!("/proc/self/fd/{n}"), 0, true),
            Ok(t.s("a/b/f"))
        );
        assert_eq!(
            resolve(
                Start::Root,
                &format!("/proc/self/fd/{n}"),
                sys::RESOLVE_NO_MAGICLINKS,
                true
            ),
            Err(libc::ELOOP)
        );
        // Outside the sandbox (rooted at pid 1 here means: only ourselves).
        assert_eq!(
            resolve(Start::Root, "/proc/1/environ", 0, true),
            Ok("A:/proc/1/environ".into())
        );
    }
}

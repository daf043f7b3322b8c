//! One module per syscall family; [`handle`] dispatches by the table in
//! [`crate::syscalls`].
//!
//! Handlers borrow the request and return a [`Reply`] value; only the worker
//! loop (`supervise`) consumes the [`crate::notify::Pending`], so every
//! notification is answered exactly once there, and what the program is told
//! (an errno) is a value, not an error path.
//!
//! A handler sees the program through a [`Program`] ([`program`]): it reads
//! the program's memory and descriptors, and has what it read vouched for
//! (`ID_VALID`), through it, never through the listener. [`handle`] gives
//! it the [`Live`] program behind the notification; the unit tests give it a
//! fake one (`testing`), so a handler is tested as (request, program,
//! policy) → reply with no kernel notification. Every handler writes its
//! decisions through one [`Log`].

pub mod access;
pub mod dir;
pub mod exec;
pub mod link;
mod log;
pub mod memfd;
pub mod mutate;
pub mod net;
pub mod open;
mod path;
pub mod private;
pub mod program;
pub mod stat;
#[cfg(test)]
pub(crate) mod testing;
pub mod tty;
pub mod watch;

pub use log::Log;
pub use program::{Live, Memory, Program};

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, OwnedFd};

use std::sync::Arc;

use crate::audit::Audit;
use crate::fs::walk::{Scope, WalkBufs};
use crate::fs::Root;
use crate::notify::{Listener, Notif};
use crate::policy::{FsAction, Policy};
use crate::sys;
use crate::syscalls::{self, Kind};

/// What the supervisor knows for the whole run, shared by all workers.
#[derive(Debug)]
pub struct Ctx {
    /// The merged policy.
    pub policy: Policy,
    /// For each file-system rule, the sealed memfd of a `content` rule.
    pub contents: Vec<Option<OwnedFd>>,
    /// For each file-system rule, the target of a `redirect` rule.
    pub redirects: Vec<Option<CString>>,
    /// Where absolute paths start (see [`crate::fs::Root`]).
    pub roots: Roots,
    /// Which processes the program's `/proc` shows.
    pub scope: Scope,
    /// The supervisor's pid: the root of the sandbox's process tree.
    pub sup_pid: i32,
    /// Where decisions are written.
    pub audit: Audit,
    /// The exec side of the policy (see [`crate::landlock`]).
    pub exec: crate::landlock::ExecSet,
    /// With `--learn`: what the program uses is recorded here.
    pub learn: Option<crate::learn::Recorder>,
    /// The Unix sockets the sandbox bound itself.
    pub own: net::OwnSockets,
    /// The run's own directories of `private` rules.
    pub privates: private::Privates,
    /// The terminals fdsup was started on (see [`tty`]).
    pub terminals: tty::Terminals,
    /// Whose credentials the calls carry ([`crate::creds`]).
    pub creds: crate::creds::Creds,
    /// `execve` and `execveat` are trapped only so that what was learnt of
    /// the tasks' credentials is forgotten ([`crate::creds::Creds::note_exec`]):
    /// the exec itself is the kernel's.
    pub exec_for_creds: bool,
}

impl Ctx {
    /// Builds the run's context: seals one memfd per `content` rule.
    pub fn new(policy: Policy, audit: Audit) -> io::Result<Self> {
        let sup_pid = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        let mut contents = Vec::with_capacity(policy.fs.rules.len());
        let mut redirects = Vec::with_capacity(policy.fs.rules.len());
        for rule in &policy.fs.rules {
            contents.push(match &rule.action {
                FsAction::Content { text } => Some(sealed_memfd(text.as_bytes())?),
                _ => None,
            });
            redirects.push(match &rule.action {
                FsAction::Redirect { target, .. } => Some(
                    CString::new(target.as_bytes())
                        .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?,
                ),
                _ => None,
            });
        }
        Ok(Self {
            exec: crate::landlock::ExecSet::new(&policy),
            privates: private::Privates::new(&policy),
            policy,
            contents,
            redirects,
            roots: Roots::Own(crate::fs::open_root()?),
            scope: Scope::Tree(sup_pid),
            sup_pid,
            audit,
            learn: None,
            own: net::OwnSockets::new(),
            terminals: tty::Terminals::at_startup(),
            creds: crate::creds::Creds::new(false),
            exec_for_creds: false,
        })
    }
}

impl Ctx {
    /// The same context for a container's tasks (`fdsup agent`): each
    /// request's paths resolve in the asking task's root, and its `/proc`
    /// is its pid namespace's.
    ///
    /// What `fdsup run` makes of fdsup's own surroundings has no meaning
    /// there, and is left out: a `private` rule's path is served where it
    /// is, read-write (the container's own: runtimes mount a fresh tmpfs at
    /// each container's `/dev/shm`), not by a directory of fdsup's; no
    /// skeleton of virtual directories is made (a `content` rule's file is
    /// served, its missing directories stay missing); fdsup's terminals are
    /// none of the container's ([`tty`]).
    pub fn in_containers(mut self) -> Self {
        self.roots = Roots::PerTask;
        self.scope = Scope::PidNs;
        self.privates = private::Privates::default();
        self.terminals = tty::Terminals::default();
        self.creds = self.creds.check_always();
        self
    }

    /// The root of the request whose task root (if any) is `task_root`.
    pub fn root<'a>(&'a self, task_root: &Option<Arc<OwnedFd>>) -> Root<'a> {
        match (&self.roots, task_root) {
            (Roots::Own(fd), _) => Root::Own(fd.as_fd()),
            (Roots::PerTask, Some(fd)) => Root::Task(Arc::clone(fd)),
            (Roots::PerTask, None) => Root::Nowhere,
        }
    }

    /// Whether rule `i` is `public` (only what any user may read).
    pub fn public_rule(&self, rule: Option<usize>) -> bool {
        rule.and_then(|i| self.policy.fs.rules.get(i))
            .is_some_and(|r| r.public)
    }

    /// The target of redirect rule `i`.
    pub fn redirect_target(&self, i: usize) -> Option<&std::ffi::CStr> {
        self.redirects.get(i).and_then(Option::as_deref)
    }
}

/// Where the program's absolute paths start, for the whole session.
#[derive(Debug)]
pub enum Roots {
    /// fdsup's own root (`O_PATH` of `/`, see [`crate::fs::open_root`]),
    /// which is the program's under `fdsup run`.
    Own(OwnedFd),
    /// Each task's own (`/proc/<tid>/root`), opened per request
    /// ([`handle`]): a container's.
    PerTask,
}

/// A memfd holding `data`, sealed against every change: each request gets
/// its own read-only open of it, and nobody can alter what others read.
fn sealed_memfd(data: &[u8]) -> io::Result<OwnedFd> {
    let name =
        CString::new("fdsup-content").map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fd = memfd::sealable_noexec(&name)?;
    sys::write_all(fd.as_fd(), data)?;
    sys::add_seals(
        fd.as_fd(),
        libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE,
    )?;
    Ok(fd)
}

/// A worker's buffers, reused for every request so the common path does not
/// allocate.
#[derive(Debug)]
pub struct Scratch {
    /// The path as read from the program (NUL-terminated within).
    pub raw: Vec<u8>,
    /// The lexical canonical path of the fast path.
    pub lex: Vec<u8>,
    /// The walk's buffers.
    pub walk: WalkBufs,
    /// Where `/proc/<pid>/...` is rewritten as `/proc/self/...` for matching.
    pub matched: Vec<u8>,
    /// The audit line.
    pub line: Vec<u8>,
    /// `/proc/<tid>` of the tasks served last.
    pub procs: crate::task::ProcDirs,
    /// Directory records being filtered (grown to the largest listing asked
    /// for, never shrunk).
    pub listing: Vec<u8>,
    /// The worker's interrupt timer for a call that may block (made on first
    /// use, on the worker's own thread).
    pub timer: Option<crate::sys::timer::ThreadTimer>,
    /// The asking task's root, for a session whose tasks have their own
    /// ([`Roots::PerTask`]): opened for each request by [`handle`].
    pub task_root: Option<Arc<OwnedFd>>,
    /// Directories others may search, for `public` rules.
    pub searchable: crate::fs::public::Searchable,
}

impl Scratch {
    /// Buffers with room for the longest paths.
    pub fn new() -> Self {
        let cap = 2 * (libc::PATH_MAX as usize + 1);
        Self {
            raw: vec![0; crate::limits::PATH_BYTES],
            lex: Vec::with_capacity(cap),
            walk: WalkBufs::new(),
            matched: Vec::with_capacity(cap),
            line: Vec::with_capacity(cap + 512),
            procs: crate::task::ProcDirs::new(),
            listing: Vec::new(),
            timer: None,
            task_root: None,
            searchable: crate::fs::public::Searchable::new(),
        }
    }
}

impl Default for Scratch {
    fn default() -> Self {
        Self::new()
    }
}

/// A request that must wait for someone else (opening a FIFO): carried out
/// off the worker, so that the others are not stalled.
#[derive(Debug)]
pub struct Blocking {
    /// `O_PATH` (or non-blocking) descriptor of the FIFO, already decided.
    pub fd: OwnedFd,
    /// The open flags to reopen it with.
    pub flags: u64,
    /// `O_CLOEXEC` for the program's descriptor.
    pub cloexec: bool,
}

impl crate::task::ReadError {
    /// The answer to a request whose argument could not be read from the
    /// program: `EFAULT` for a bad pointer, `too_long` for a string with no
    /// NUL within its limit, none (the request is gone) when the task is.
    pub fn reply(self, too_long: i32) -> Reply {
        match self {
            Self::Fault => Reply::Errno(libc::EFAULT),
            Self::TooLong => Reply::Errno(too_long),
            Self::Gone => Reply::Gone,
        }
    }
}

/// What the program is to be told.
#[derive(Debug)]
pub enum Reply {
    /// The syscall fails with this errno.
    Errno(i32),
    /// The syscall returns this value.
    Value(i64),
    /// The syscall returns a new descriptor: this one, installed in the task.
    Fd {
        /// Our descriptor to install.
        fd: OwnedFd,
        /// `O_CLOEXEC` for the program's copy.
        cloexec: bool,
    },
    /// The same for an object that counts our copy (a FIFO's other end; a
    /// file open for writing, which the kernel will not exec): installed,
    /// our copy closed, then answered
    /// ([`crate::notify::Pending::inject_then_send`]).
    FifoFd {
        /// Our descriptor to install.
        fd: OwnedFd,
        /// `O_CLOEXEC` for the program's copy.
        cloexec: bool,
    },
    /// To be finished by a thread of its own.
    Blocking(Blocking),
    /// The kernel runs the syscall itself
    /// ([`crate::notify::Pending::continue_unchecked`]), for the two that no
    /// supervisor can carry out: `execve`/`execveat`, whose effect the kernel
    /// keeps within the policy whatever the arguments (Landlock, see
    /// [`exec`]), and `chdir`/`fchdir`, whose residue is documented in
    /// [`dir`].
    Continue,
    /// The notification is no longer valid (the task died or was
    /// interrupted): there is no one to answer.
    Gone,
    /// A descriptor installed over the program's own at `target`
    /// (`SECCOMP_ADDFD_FLAG_SETFD`), then the syscall answers `answer`
    /// ([`crate::notify::Pending::replace_then_reply`]): a brokered socket.
    Replace {
        /// Our descriptor to install.
        fd: OwnedFd,
        /// The program's number it replaces.
        target: crate::task::RemoteFd,
        /// `O_CLOEXEC` for the program's copy (as the replaced one had).
        cloexec: bool,
        /// What the syscall returns: a value (0 for `connect`, the bytes
        /// sent for a send), or a negative errno (`-EINPROGRESS`).
        answer: i64,
    },
    /// A request that may wait (a blocking `connect` or send), finished on a
    /// thread of its own so that no worker waits; see [`net::Deferred`].
    Deferred(net::Deferred),
}

/// Handles one notification.
pub fn handle(ctx: &Ctx, listener: &Listener, n: &Notif, sc: &mut Scratch) -> Reply {
    let Some(m) = syscalls::lookup(n.data.nr) else {
        // The filter traps only what the table lists; anything else is a bug
        // and fails closed.
        return Reply::Errno(libc::ENOSYS);
    };
    handle_as(ctx, &mut Live::new(listener, n), n.data.args, m, sc)
}

/// Handles request `m` with arguments `a` from program `p`.
pub fn handle_as<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &syscalls::Mediated,
    sc: &mut Scratch,
) -> Reply {
    if let Roots::PerTask = ctx.roots {
        // Learnt through the task's number: vouched for by the handler's
        // `ID_VALID` check, which comes after it and before any use.
        sc.task_root = match crate::fs::open_task_root(p.tid(), &mut sc.procs) {
            Ok(fd) => Some(Arc::new(fd)),
            Err(_) if !p.vouch() => return Reply::Gone,
            Err(_) => {
                sc.task_root = None;
                return Reply::Errno(libc::EACCES);
            }
        };
    }
    let exec = matches!(m.kind, Kind::Execve | Kind::Execveat);
    if exec {
        ctx.creds.note_thread_exec(p.tid());
    }
    if exec && ctx.exec_for_creds {
        // An exec sets new credentials: nothing learnt before still holds.
        ctx.creds.note_exec();
        return Reply::Continue;
    }
    if m.kind == Kind::Creds {
        // No path to decide: the kernel makes the call, and from now on
        // each request carries the asking task's credentials (unless the
        // call changes nothing).
        ctx.creds.note_call(p.tid(), m.nr, a);
        return Reply::Continue;
    }
    // The program's credentials for every call fdsup makes for it, where
    // they differ from fdsup's.
    if let Err(e) = ctx.creds.as_program(p.tid(), || p.vouch()) {
        return Reply::Errno(e);
    }
    if exec {
        // An exec sets new credentials: nothing learnt before still holds,
        // including what was just learnt for deciding it (learnt after
        // the forgetting, the credentials the task had before its exec
        // were kept for what it asked after: a task that had dropped to
        // uid 65534 with its capabilities kept got them lent again after
        // an exec that cleared them).
        ctx.creds.note_exec();
    }
    match m.kind {
        Kind::Creds => Reply::Continue,
        Kind::Open | Kind::Openat | Kind::Openat2 | Kind::Creat => open::handle(ctx, p, a, m, sc),
        Kind::Link | Kind::Linkat | Kind::Rename | Kind::Renameat | Kind::Renameat2 => {
            link::handle(ctx, p, a, m, sc)
        }
        Kind::Access | Kind::Faccessat | Kind::Faccessat2 => access::handle(ctx, p, a, m, sc),
        Kind::Stat
        | Kind::Lstat
        | Kind::Newfstatat
        | Kind::Statx
        | Kind::Statfs
        | Kind::Readlink
        | Kind::Readlinkat
        | Kind::Getxattr
        | Kind::Lgetxattr
        | Kind::Listxattr
        | Kind::Llistxattr => stat::handle(ctx, p, a, m, sc),
        Kind::Chdir | Kind::Fchdir | Kind::Getdents | Kind::Getdents64 => {
            dir::handle(ctx, p, a, m, sc)
        }
        Kind::InotifyAddWatch => watch::handle(ctx, p, a, m, sc),
        Kind::Bind | Kind::Connect | Kind::Sendmmsg | Kind::Sendmsg | Kind::Sendto => {
            net::handle(ctx, p, a, m, sc)
        }
        Kind::Mkdir
        | Kind::Mkdirat
        | Kind::Mknod
        | Kind::Mknodat
        | Kind::Symlink
        | Kind::Symlinkat
        | Kind::Unlink
        | Kind::Unlinkat
        | Kind::Rmdir
        | Kind::Chmod
        | Kind::Fchmod
        | Kind::Fchmodat
        | Kind::Fchmodat2
        | Kind::Chown
        | Kind::Lchown
        | Kind::Fchown
        | Kind::Fchownat
        | Kind::Utime
        | Kind::Utimes
        | Kind::Futimesat
        | Kind::Utimensat
        | Kind::Truncate
        | Kind::Setxattr
        | Kind::Lsetxattr
        | Kind::Fsetxattr
        | Kind::Removexattr
        | Kind::Lremovexattr
        | Kind::Fremovexattr
        | Kind::Ioctl => mutate::handle(ctx, p, a, m, sc),
        Kind::Execve | Kind::Execveat => exec::handle(ctx, p, a, m, sc),
        Kind::MemfdCreate => memfd::handle(ctx, p, a, m, sc),
    }
}

/// Actions that are no rule's own, answered by [`decide`] (a private
/// directory, a directory on the way, another's terminal) and by handlers
/// the policy leaves a request to: here, below `open`, `path` and `access`,
/// which all use them.
static HIDE: FsAction = FsAction::Access(crate::policy::FsAccess::Hide);
static ALLOW_RW: FsAction = FsAction::Access(crate::policy::FsAccess::Rw);
static ALLOW_RO: FsAction = FsAction::Access(crate::policy::FsAccess::Ro);

/// The policy's word on `path`. `/proc/<pid>` of a process outside the
/// sandbox does not exist; that of a sandboxed one is matched as
/// `/proc/self` (as the policy spells it).
pub fn decide<'p>(
    ctx: &'p Ctx,
    asker: &mut crate::fs::walk::Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
) -> (&'p FsAction, Option<usize>) {
    // A path in a private rule's own directory is decided on the name the
    // program used; the private rule's path on the host is hidden
    // ([`private`]).
    match ctx.privates.visible(path, matched) {
        Some(private::Own::Private(rule)) => {
            let d = ctx.policy.decide_fs(matched);
            return match d.action {
                FsAction::Private if d.rule == Some(rule) => (&ALLOW_RW, d.rule),
                FsAction::Private => (&HIDE, d.rule),
                a => (a, d.rule),
            };
        }
        // The skeleton of virtual directories stands for the names it
        // holds; it is never written (nothing in it is `rw`).
        Some(private::Own::Virtual) => {
            let d = ctx.policy.decide_fs(matched);
            return match d.action {
                FsAction::Access(crate::policy::FsAccess::Rw) => (&ALLOW_RO, d.rule),
                FsAction::Private => (&HIDE, d.rule),
                a => (a, d.rule),
            };
        }
        None => {}
    }
    // The host's directory of a private rule, and everything in it, is
    // hidden whatever a later rule below says: such a rule decides the
    // private directory's names (above), never the host's, where every
    // other program's shared memory lies. A container's is its own.
    if !matches!(ctx.roots, Roots::PerTask) {
        if let Some(rule) = ctx.privates.host_rule(path) {
            return (&HIDE, Some(rule));
        }
    }
    let (action, rule) = decide_host(ctx, asker, path, matched);
    match action {
        // A container's is its own already (see `Ctx::in_containers`).
        FsAction::Private if matches!(ctx.roots, Roots::PerTask) => (&ALLOW_RW, rule),
        FsAction::Private => (&HIDE, rule),
        // A terminal that is not the sandbox's own does not exist for it,
        // whatever the rules say ([`tty`]).
        FsAction::Access(crate::policy::FsAccess::Ro | crate::policy::FsAccess::Rw)
            if tty::pts_number(path).is_some_and(|n| !tty::own(ctx, asker.task, n)) =>
        {
            (&HIDE, rule)
        }
        a => (a, rule),
    }
}

/// [`decide`] of a path outside private directories.
fn decide_host<'p>(
    ctx: &'p Ctx,
    asker: &mut crate::fs::walk::Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
) -> (&'p FsAction, Option<usize>) {
    match crate::fs::lexical::proc_pid(path) {
        Some((pid, _)) if !asker.sees_pid(pid) => (&HIDE, None),
        Some((_, rest)) => {
            matched.clear();
            matched.extend_from_slice(b"/proc/self");
            matched.extend_from_slice(rest);
            let d = ctx.policy.decide_fs(matched);
            (d.action, d.rule)
        }
        None => {
            let d = ctx.policy.decide_fs(path);
            (d.action, d.rule)
        }
    }
}

/// The way to what the policy shows: a directory that only the section's
/// default would hide or deny (no rule matches it), with a rule that shows
/// something below it, is visible read-only — it can be stat'ed, entered and
/// listed (its listing shows only what is not hidden), as a sandbox that
/// binds `/usr` and the project shows `/` and the project's parents; so is
/// a symbolic link a rule was written through (`/bin` of a `/bin` rule that
/// resolved to `/usr/bin`).
///
/// [`decide`] for the existing object `fd` at `path`, with that relaxation
/// (`fd` must be the object itself: only a directory or a symbolic link
/// qualifies). Every request on an existing object decides through here.
pub fn decide_found<'p>(
    ctx: &'p Ctx,
    asker: &mut crate::fs::walk::Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
    fd: std::os::fd::BorrowedFd<'_>,
) -> (&'p FsAction, Option<usize>) {
    use crate::policy::FsAccess;
    let (action, rule) = decide(ctx, asker, path, matched);
    if rule.is_some() || !matches!(action, FsAction::Access(FsAccess::Hide | FsAccess::Deny)) {
        return (action, rule);
    }
    // A directory of the skeleton of virtual directories is judged by the
    // name it stands for.
    let path = match ctx.privates.visible(path, matched) {
        Some(private::Own::Virtual) => &matched[..],
        _ => path,
    };
    let on_the_way = match sys::fstat_mode(fd).map(|m| m & libc::S_IFMT) {
        Ok(libc::S_IFDIR) => ctx.policy.shows_below(path),
        // `/bin` -> `usr/bin` when a rule was written `/bin`.
        Ok(libc::S_IFLNK) => ctx.policy.shows_through(path),
        _ => false,
    };
    if on_the_way {
        (&ALLOW_RO, None)
    } else {
        (action, rule)
    }
}

/// The errno for a walk that failed with `e` at `path`: a path a rule hides
/// answers ENOENT, and one a rule denies EACCES, whatever the kernel said,
/// so that an error from under a hidden file (`ENOTDIR` for `secret/x`)
/// cannot confirm that it exists. A section default is not applied here: it
/// covers the directories on the way to everything allowed (`/`, `/proc`),
/// whose errors (`EXDEV`, `ELOOP` from resolve flags) are the kernel's.
pub fn walk_error(
    ctx: &Ctx,
    asker: &mut crate::fs::walk::Asker<'_>,
    path: &[u8],
    matched: &mut Vec<u8>,
    e: i32,
) -> i32 {
    match decide(ctx, asker, path, matched) {
        (FsAction::Access(crate::policy::FsAccess::Hide), Some(_)) => libc::ENOENT,
        (FsAction::Access(crate::policy::FsAccess::Deny), Some(_)) => libc::EACCES,
        _ => e,
    }
}

/// Test hooks, compiled into debug builds only: with the environment variable
/// `FDSUP_TEST_PANIC_PATH` set when fdsup starts, a request for exactly that
/// path panics in its handler, so the end-to-end tests can show that a panic
/// still ends in an answer.
#[cfg(debug_assertions)]
pub mod test_hooks {
    use std::sync::OnceLock;

    static PANIC_PATH: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    static SLOW_PATH: OnceLock<Option<Vec<u8>>> = OnceLock::new();
    static RECV_ERRORS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    fn var(name: &str) -> Option<Vec<u8>> {
        std::env::var_os(name)
            .map(|v| std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec())
    }

    /// Reads the hooks' settings (call once at start).
    pub fn init() {
        PANIC_PATH.get_or_init(|| var("FDSUP_TEST_PANIC_PATH"));
        SLOW_PATH.get_or_init(|| var("FDSUP_TEST_SLOW_PATH"));
        let errors = std::env::var("FDSUP_TEST_RECV_ERRORS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        RECV_ERRORS.store(errors, std::sync::atomic::Ordering::SeqCst);
    }

    /// True for the first `FDSUP_TEST_RECV_ERRORS` receives: the worker
    /// then takes `EINVAL` instead of receiving (an error the kernel
    /// documents but no outside event can cause).
    pub fn recv_fails() -> bool {
        RECV_ERRORS
            .fetch_update(
                std::sync::atomic::Ordering::SeqCst,
                std::sync::atomic::Ordering::SeqCst,
                |n| n.checked_sub(1),
            )
            .is_ok()
    }

    /// Panics if `path` is the panic hook's path; takes 3 s if it is the
    /// slow hook's (an open that waits, as on a device or a hung file
    /// system, holding its worker).
    pub fn maybe_panic(path: &[u8]) {
        if PANIC_PATH.get().and_then(Option::as_deref) == Some(path) {
            panic!("test hook: FDSUP_TEST_PANIC_PATH reached");
        }
        if SLOW_PATH.get().and_then(Option::as_deref) == Some(path) {
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
    }
}

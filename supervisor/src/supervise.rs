//! `fdsup run`: start-up, the event loop, shutdown; the listener is served
//! by a [`Session`] (its workers, pool and handlers), as the agent's are.
//!
//! Start-up follows DESIGN.md, except that the shim is a fork of this process
//! rather than a re-execution of this binary (which it remains when the
//! process is not single-threaded; see `run`), and that the Landlock
//! ruleset goes last: the shim sets `no_new_privs`, installs the deny and
//! notify filters while we build the ruleset and reports the listener's
//! *number*; we take the listener with `pidfd_getfd`, start the receiving
//! worker, and only then send the ruleset message, which is the go: the
//! shim restricts itself with the ruleset when the policy limits exec
//! ([`crate::landlock`]), installs the last filter (the program's own
//! Landlock calls refused: [`crate::filter`]) and execs the program, so no
//! mediated syscall can ever wait for a supervisor that is not listening
//! yet.
//!
//! Threads: the session's workers ([`crate::session`]: the receiver and
//! one spare at start-up, the other spares at the event loop's first
//! tick); the main thread runs a mio loop over the first process's pidfd
//! and a signalfd, follows job control ([`crate::jobs`]), and looks at the
//! session's pool every tick. When the first process exits, everything it
//! left behind is killed (we are a child subreaper, so every sandboxed
//! process is our descendant) and fdsup exits with its status.

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::audit::Audit;
use crate::handlers::Ctx;
use crate::notify::Listener;
use crate::policy::{self, NetAccess, Policy};
use crate::pool;
use crate::session::Session;
use crate::sys::signal::{SignalFd, SignalSet};
use crate::{doctor, filter, sys};
use fdsup_shim::protocol::ShimMessage;

/// How chatty fdsup is on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// Fatal errors only.
    Quiet,
    /// Diagnostics.
    Normal,
    /// Also one line per denied request.
    Verbose,
}

/// What `fdsup run` was asked.
#[derive(Debug)]
pub struct RunOptions {
    /// `--policy`: a file, or `@name`; `@default` when absent.
    pub policy: Option<String>,
    /// `--log`.
    pub log: Option<PathBuf>,
    /// `--learn`: run under `@allow-all` and write the learned policy here.
    pub learn: Option<PathBuf>,
    /// `-v` / `-q`.
    pub verbosity: Verbosity,
    /// `--metadata`: overrides the policy's `filesystem.metadata` for this
    /// run.
    pub metadata: Option<policy::Metadata>,
    /// The program and its arguments (`argv[0]` first).
    pub command: Vec<OsString>,
}

/// Why `fdsup run` could not run the program, each with its exit status.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A bad policy.
    #[error("{0}")]
    Policy(#[from] policy::PolicyError),
    /// A policy section this version does not enforce.
    #[error("{origin}: the \"{section}\" section has {what}, which this version of fdsup does not enforce yet; remove them or use \"default\" only")]
    Unenforced {
        /// Where the policy came from.
        origin: String,
        /// `network` or `exec`.
        section: &'static str,
        /// What it has.
        what: &'static str,
    },
    /// The kernel lacks something required.
    #[error("{0}")]
    Kernel(#[from] doctor::MissingFeature),
    /// The policy limits exec and the Landlock ruleset that enforces it
    /// could not be made (125).
    #[error("{origin}: the policy limits exec (its \"exec\" section, and exec only where the file system allows reading), which fdsup enforces with Landlock")]
    Exec {
        /// Where the policy came from.
        origin: String,
        /// Why.
        source: crate::landlock::LandlockError,
    },
    /// The program was not found (127).
    #[error("{0}: command not found")]
    NotFound(String),
    /// The program was found but cannot be executed (126).
    #[error("{0}: {1}")]
    NotExecutable(String, io::Error),
    /// The shim could not prepare the sandbox (125).
    #[error("{stage}: {source}")]
    Shim {
        /// The step that failed.
        stage: fdsup_shim::protocol::SetupStage,
        /// Why.
        source: io::Error,
    },
    /// The learned policy could not be written (125).
    #[error("{0}")]
    Learn(#[from] crate::learn::LearnError),
    /// Something in fdsup itself failed (125).
    #[error("{what}: {source}")]
    Setup {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: io::Error,
    },
}

impl RunError {
    /// The exit status SPEC.md gives this failure.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::NotFound(_) => 127,
            RunError::NotExecutable(..) => 126,
            _ => 125,
        }
    }
}

fn setup(what: &'static str) -> impl FnOnce(io::Error) -> RunError {
    move |source| RunError::Setup { what, source }
}

fn errno_err<E: Into<io::Error>>(what: &'static str) -> impl FnOnce(E) -> RunError {
    move |e| RunError::Setup {
        what,
        source: e.into(),
    }
}

/// Refuses a policy with rules this version cannot enforce: never a silent
/// ignore. Every network section is enforced (`handlers::net`), and the
/// exec section whole (by Landlock: see `prepare`).
/// (Kept as the one place where a section this version cannot enforce
/// would be refused; today every section is.)
pub fn check_enforceable(_p: &Policy, _origin: &str) -> Result<(), RunError> {
    Ok(())
}

/// Finds the program as a shell would, from outside the sandbox: a name
/// with a `/` as is, else every executable file of that name in `PATH`, in
/// order. All of them are handed to the shim, which tries them in turn
/// inside the sandbox (`execve`, as `execvp` does): an entry the policy
/// hides or denies is skipped there for the next one, as a shell in the
/// sandbox would skip it (issue 14: `python3` was "not found" when an
/// earlier `PATH` directory held one the policy hides). Entries that do not
/// exist or are not executable are left out here, so that trying them does
/// not log refusals of names no shell would have run.
pub fn find_program(name: &OsString) -> Result<Vec<PathBuf>, RunError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = name.to_string_lossy().into_owned();
    let executable = |p: &Path| -> Result<(), io::Error> {
        let md = std::fs::metadata(p)?;
        if md.is_dir() {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        if md.permissions().mode() & 0o111 == 0 {
            return Err(io::Error::from_raw_os_error(libc::EACCES));
        }
        Ok(())
    };
    if name.as_bytes().contains(&b'/') {
        let p = PathBuf::from(name);
        return match executable(&p) {
            Ok(()) => Ok(vec![p]),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(RunError::NotFound(shown)),
            Err(e) => Err(RunError::NotExecutable(shown, e)),
        };
    }
    if name.is_empty() {
        return Err(RunError::NotFound(shown));
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/local/bin:/usr/bin:/bin".into());
    let mut found = Vec::new();
    let mut denied = None;
    for dir in std::env::split_paths(&path) {
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let p = dir.join(name);
        match executable(&p) {
            Ok(()) => found.push(p),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOTDIR) => {}
            Err(e) => {
                if denied.is_none() && p.exists() && !p.is_dir() {
                    denied = Some(e);
                }
            }
        }
    }
    if !found.is_empty() {
        return Ok(found);
    }
    match denied {
        Some(e) => Err(RunError::NotExecutable(shown, e)),
        None => Err(RunError::NotFound(shown)),
    }
}

/// The signals fdsup forwards to the program ([`crate::jobs`] says when):
/// SPEC's six, and the job-control stops, so that `kill -TSTP` of fdsup
/// stops the program (and then fdsup: see `jobs`) rather than freezing
/// the supervisor under it.
const FORWARDED: [i32; 9] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
    libc::SIGTSTP,
    libc::SIGTTIN,
    libc::SIGTTOU,
];

/// The signal that interrupts a thread waiting on the program's behalf
/// (see `handlers::net::wait`).
use crate::handlers::net::WAKE_SIGNAL;

/// Runs the program under the policy; returns fdsup's exit status.
pub fn run(opts: RunOptions) -> Result<i32, RunError> {
    let Some(program) = opts.command.first() else {
        return Err(RunError::NotFound(String::new()));
    };
    let candidates = find_program(program)?;
    crate::timeline::mark("program found");
    if let Some(out) = &opts.learn {
        crate::learn::check_output(out)?;
    }
    let features = doctor::probe_without_seccomp();
    doctor::require(&features)?;
    crate::timeline::mark("kernel probed");

    // Any non-zero argument sets it (rustix takes it as a pid).
    rustix::process::set_child_subreaper(Some(rustix::process::Pid::INIT))
        .map_err(errno_err("becoming a child subreaper"))?;
    let (group_mode, tty) = crate::jobs::Jobs::choose();
    let mut mask = SignalSet::empty();
    for s in FORWARDED {
        mask.add(s);
    }
    mask.add(libc::SIGCHLD);
    mask.thread_block().map_err(errno_err("blocking signals"))?;
    let sigfd = SignalFd::new(&mask).map_err(errno_err("creating a signalfd"))?;
    sys::install_wake_handler(WAKE_SIGNAL).map_err(setup("installing a signal handler"))?;
    crate::timeline::mark("signals set up");

    // The hand-off socket: our end close-on-exec, the shim's end inherited.
    let (ours, theirs) = rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )
    .map_err(errno_err("creating the hand-off socket"))?;
    rustix::io::fcntl_setfd(&theirs, rustix::io::FdFlags::empty())
        .map_err(errno_err("preparing the hand-off socket"))?;
    // The shim starts now and waits for its filters: its start overlaps with
    // loading the policy. It runs nothing of the program's before "go", so a
    // bad policy still means the program never started.
    //
    // The shim is a fork of this process, which is single-threaded here:
    // that spares the re-execution of this binary (about 1 ms of loading
    // and relocating before the shim can take its filters, the longest step
    // of start-up). Should another thread exist, it is started as before,
    // by re-executing this binary in its hidden `__shim` mode.
    let mut shim_args: Vec<OsString> = vec![
        theirs.as_raw_fd().to_string().into(),
        candidates.len().to_string().into(),
    ];
    shim_args.extend(candidates.iter().map(|p| p.clone().into_os_string()));
    shim_args.extend(opts.command.iter().cloned());
    // The child must not keep our end of the hand-off socket: the shim
    // learns that we are gone from end-of-file on its own end.
    let forked = sys::fork_single_threaded(
        ours.as_raw_fd(),
        fdsup_shim::protocol::EXIT_SETUP_FAILED,
        move || fdsup_shim::main(shim_args),
    )
    .map_err(setup("starting the shim"))?;
    let child_pid = match forked {
        Some(pid) => pid,
        None => {
            let mut cmd = Command::new("/proc/self/exe");
            cmd.arg0("fdsup-shim")
                .arg("__shim")
                .arg(theirs.as_raw_fd().to_string())
                .arg(candidates.len().to_string())
                .args(&candidates)
                .args(&opts.command);
            let child = cmd.spawn().map_err(setup("starting the shim"))?;
            i32::try_from(child.id()).unwrap_or(i32::MAX)
        }
    };
    drop(theirs);
    // The shim (and so the program) keeps the descriptor limit it was
    // started with; fdsup takes the hard one as its own.
    raise_descriptor_limit();
    // The shim waits on the CPU we ran on, the first to run when it is
    // woken, while we go on on another: it makes the network namespace and
    // installs its filters while we build the filters and the ruleset (two
    // chains of some 0.6 ms each). Left together, the kernel runs the two
    // one after the other on one CPU. The shim, and so the program, keep
    // their affinity; ours is as it was too.
    sys::step_aside();
    crate::timeline::mark("shim forked");
    let pidfd = sys::pidfd_open(child_pid, 0).map_err(setup("opening a pidfd for the program"))?;
    let abandon = |e: RunError| {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::waitid_pidfd(pidfd.as_fd(), false);
        e
    };
    // The program's process group (and the terminal), before it runs.
    let mut jobs = crate::jobs::Jobs::start(group_mode, tty, child_pid);
    // From here the supervisor creates files for the program, each on a
    // worker that takes the program's umask as its own (crate::fs::umask);
    // the process's, which its other threads keep, adds nothing. (The files
    // fdsup writes for the user are 0600 whatever it is: crate::files.)
    rustix::process::umask(rustix::fs::Mode::empty());
    // The program's own IPC namespace, whatever the policy: asked for at
    // once, where we may (`ask_ipc_isolation`).
    let ipc = ask_ipc_isolation(&ours);
    // An embedded policy says whether it isolates before it is loaded: the
    // shim can start on the namespace now (see `prepare`).
    let source = opts.policy.as_deref().unwrap_or("@default");
    let asked = (opts.learn.is_none() && policy::embedded_isolates(source) == Some(true))
        .then(|| ask_isolation(&ours));
    let Prepared {
        mut ctx,
        filters,
        source,
        isolating,
    } = prepare(&opts, &ours, asked).map_err(abandon)?;
    crate::timeline::mark("filters built");

    // The filters next: the shim installs them (about 0.1 ms) while we
    // build the Landlock ruleset (about 0.3 ms), which goes with the go
    // (see fdsup_shim::protocol).
    let sent = ipc
        .and(isolating)
        .and_then(|()| send_filters(&ours, &filters, ctx.exec.broker_memfd));
    crate::timeline::mark("filters sent");
    let ruleset = match sent {
        Ok(()) => crate::landlock::prepare(
            &ctx.policy,
            &mut ctx.exec,
            opts.verbosity != Verbosity::Quiet,
        )
        .map_err(|e| RunError::Exec {
            origin: source,
            source: e,
        })
        .map_err(abandon)?,
        Err(_) => None,
    };
    crate::timeline::mark("landlock ruleset");
    let ctx = Arc::new(ctx);
    // The receiver's thread while the shim may still be installing its
    // filters; it starts receiving once the session exists, before "go".
    let receiver = Session::worker_ahead(0).map_err(setup("starting a worker thread"));
    crate::timeline::mark("receiver started");
    let listener = hand_off(&ours, &pidfd, sent).map_err(abandon)?;
    let receiver = receiver.map_err(abandon)?;
    crate::timeline::mark("listener taken");
    if !listener.supports_addfd_send() {
        let _ = sys::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
        let _ = sys::waitid_pidfd(pidfd.as_fd(), false);
        return Err(doctor::missing_addfd_send(&features.kernel_release).into());
    }
    // Best effort (Linux 6.6): only speed depends on it.
    let _ = listener.set_sync_wake_up();
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(errno_err("making fdsup non-dumpable"))?;
    let session = Session::new(Arc::clone(&ctx), listener, None);

    #[cfg(debug_assertions)]
    crate::handlers::test_hooks::init();
    // The CPUs we may run on (one syscall); the cgroup's quota, which
    // `available_parallelism` reads from a handful of files, refines it
    // below, off the start-up's path.
    session.pool().set_parallel(sys::affinity_cpus());
    // The receiver before "go"; the spares, parked at once, while the shim
    // execs the program (off the start-up's path; one that cannot start
    // only makes the pool smaller).
    receiver
        .start(&session)
        .map_err(setup("starting a worker thread"))?;
    crate::timeline::mark("session begun");

    // Go: the ruleset message; the shim restricts itself and execs the
    // program.
    let released = crate::landlock::send_ruleset(ours.as_fd(), ruleset.as_ref());
    released.map_err(setup("releasing the shim"))?;
    crate::timeline::mark("go sent");
    let cpus = std::thread::available_parallelism().map_or(2, usize::from);
    session.pool().set_parallel(cpus);
    // One spare now (for a second task asking at once); the others at the
    // event loop's first tick: each costs some 40 µs of this thread, which
    // a short program would pay while it starts, for spares it never needs.
    let workers = worker_count(cpus);
    let mut spawned = session.spawn_spares(1..workers.min(2));
    crate::timeline::mark("spares started");
    let mut buf = [0u8; 64];
    let n = loop {
        match rustix::io::read(&ours, &mut buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => break r.unwrap_or(0),
        }
    };
    crate::timeline::mark("program executed");
    // Closed only now that the shim has closed its copy: the last close
    // frees the ruleset (some 20 µs for the rules of `@default`), which is
    // then ours, not the shim's before its exec.
    drop(ruleset);
    if n > 0 {
        let status = sys::waitid_pidfd(pidfd.as_fd(), false).ok().flatten();
        return match ShimMessage::decode(&buf[..n]) {
            Some(ShimMessage::SetupFailed { errno, stage }) => Err(RunError::Shim {
                stage,
                source: io::Error::from_raw_os_error(errno),
            }),
            Some(ShimMessage::ExecFailed { errno }) => {
                let e = io::Error::from_raw_os_error(errno);
                let shown = program.to_string_lossy().into_owned();
                if errno == libc::ENOENT {
                    Err(RunError::NotFound(shown))
                } else {
                    Err(RunError::NotExecutable(shown, e))
                }
            }
            _ => Ok(exit_status(status.unwrap_or((125, 0)))),
        };
    }
    drop(ours);

    let later = || spawned = spawned.max(session.spawn_spares(spawned..workers));
    let status = event_loop(
        &pidfd,
        child_pid,
        &sigfd,
        &session,
        &mut jobs,
        ctx.sup_pid,
        later,
    )?;
    crate::timeline::mark("program exited");
    jobs.finish();
    kill_leftovers(ctx.sup_pid, session.listener());
    crate::timeline::mark("leftovers killed");
    ctx.privates.remove_all();
    ctx.audit.finish();
    crate::timeline::note(session.pool().report());
    if let (Some(out), Some(rec)) = (&opts.learn, &ctx.learn) {
        // The first program was executed by the shim, not asked for; under
        // `--learn` nothing is hidden, so it is the first candidate.
        if let Some(Ok(p)) = candidates.first().map(std::fs::canonicalize) {
            let who = p.file_name().map(|n| n.to_string_lossy().into_owned());
            rec.note_by(
                who.as_deref().unwrap_or("the program"),
                p.as_os_str().as_bytes(),
                crate::learn::READ | crate::learn::EXEC,
            );
        }
        crate::learn::finish(
            rec,
            out,
            &opts.command,
            ctx.policy.fs.metadata,
            opts.verbosity == Verbosity::Quiet,
        )?;
    }
    Ok(exit_status(status))
}

/// Raises fdsup's soft limit of descriptors to the hard one. Each request
/// waiting on a thread of its own holds a descriptor or two (up to
/// [`crate::limits::WAITING_REQUESTS`]), and the workers theirs: under the
/// usual soft limit of 1,024, a program with a thousand threads waiting in
/// opens of FIFOs ran fdsup out of descriptors, and its opens failed with
/// `EMFILE` where natively they wait (about half of them), as did any
/// other request meanwhile. fdsup uses no `select`, which is what the soft
/// limit protects. Best effort: without it, the limit is as it was.
fn raise_descriptor_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
    }
}

/// Loads the policy and builds what the run needs from it: the shared
/// context of the workers and the filters. A policy that isolates the
/// network has the shim (`sock`) make its namespace as soon as that is
/// known (here, once it is loaded, if not before): that takes the kernel
/// some 0.3 ms, the longest step of the shim's, and overlaps so with the
/// building of the filters and of the Landlock ruleset here.
///
/// `asked`: whether the namespace was asked for already, before the policy
/// was loaded (an embedded one says whether it isolates), and how that went.
fn prepare(
    opts: &RunOptions,
    sock: &OwnedFd,
    asked: Option<Result<(), (&'static str, io::Error)>>,
) -> Result<Prepared, RunError> {
    let source = opts.policy.clone().unwrap_or_else(|| "@default".to_owned());
    let vars = policy::Vars::from_env().map_err(setup("reading the environment for the policy"))?;
    let mut pol = match &opts.learn {
        Some(out) => crate::learn::run_policy(&vars, out, opts.log.as_deref())?,
        None => policy::load(&source, &vars)?,
    };
    crate::timeline::mark("policy loaded");
    if let Some(m) = opts.metadata {
        pol.fs.metadata = m;
    }
    check_enforceable(&pol, &source)?;
    let isolating = match (pol.network.isolate, asked) {
        (true, Some(sent)) => sent,
        (true, None) => ask_isolation(sock),
        (false, None) => Ok(()),
        // `policy::embedded_isolates` and the policy disagree: a bug (a
        // test holds them together), refused rather than run isolated.
        (false, Some(_)) => {
            return Err(RunError::Setup {
                what: "asking the shim for a network namespace",
                source: io::Error::other(format!("{source} does not isolate the network")),
            })
        }
    };
    crate::timeline::mark("isolation asked");
    // The network is always mediated: a Unix socket path is a path that
    // the file system rules decide, and every connection is logged. A
    // policy that denies the network outright (a `deny` default, no rule,
    // no `isolate`) refuses IP sockets themselves; one that mediates with a
    // `deny` default refuses the families no rule can name; one that allows
    // by default but keeps some IP addresses refuses the packets that name
    // their own.
    let deny = pol.network.default == NetAccess::Deny;
    let no_network = deny && !pol.network.has_rules_or_isolate();
    let keeps_ip = pol.network.keeps_ip_addresses();
    let audit = Audit::new(
        opts.log.as_deref(),
        pol.log.denied,
        pol.log.allowed,
        opts.verbosity == Verbosity::Verbose,
    )
    .map_err(|e| RunError::Setup {
        what: "opening the audit log",
        source: io::Error::other(e),
    })?;
    crate::timeline::mark("audit log");
    if pol.network.isolate {
        // The shim drops `CAP_NET_ADMIN` from the program under `isolate`
        // (`fdsup_shim`'s `isolate_network`); fdsup needs it for nothing it
        // does (what a send's control messages ask is checked against the
        // program's own set), so it gives it up too, before its own
        // credentials are read (`Ctx::new`): a root program's then equal
        // fdsup's, and its requests are served as fdsup's. Left with it,
        // every request of a root program was served as another's
        // (`crate::creds`: capabilities lowered and raised around each),
        // which measured `make -j2` of 40 files 20% slower (1,990 against
        // 1,653 ms, 9 interleaved runs).
        crate::creds::give_up_own(rustix::thread::CapabilitySet::NET_ADMIN);
    }
    let mut ctx = Ctx::new(pol, audit).map_err(setup("preparing the policy"))?;
    if ctx.creds.worth_watching() {
        // Made with fdsup's credentials whoever asks first, for any user the
        // program becomes (`crate::creds`, `handlers::private`).
        ctx.privates.set_shared();
        // An exec changes credentials unseen: trapped, it makes fdsup
        // forget what it learnt of them (`crate::creds::Creds::note_exec`).
        ctx.exec_for_creds = !(ctx.exec.mediated || opts.learn.is_some());
    }
    crate::timeline::mark("context");
    if opts.learn.is_some() {
        ctx.learn = Some(crate::learn::Recorder::new());
    }
    let filters = filter::build(&filter::FilterOptions {
        deny_network: no_network,
        // `--learn` traps exec too (with no ruleset: everything runs), to
        // learn what was run and the names a PATH search tried.
        mediate_exec: ctx.exec.mediated || opts.learn.is_some() || ctx.exec_for_creds,
        broker_memfd: ctx.exec.broker_memfd,
        watch_creds: ctx.creds.worth_watching(),
        mediate_network: true,
        deny_other_families: deny && !no_network,
        native_looks: filter::native_looks(&ctx.policy),
        deny_ip_options: may_route_ip(),
        // With a `deny` default those sockets are refused already
        // (`deny_other_families`, EACCES).
        deny_raw_packets: !deny && keeps_ip,
    })
    .map_err(|e| RunError::Setup {
        what: "building the seccomp filters",
        source: io::Error::other(e.to_string()),
    })?;
    Ok(Prepared {
        ctx,
        filters,
        source,
        isolating,
    })
}

/// Whether a program here could give a socket of fdsup's network namespace
/// a source route: fdsup can ([`sys::net::source_route_allowed`]). Under
/// `no_new_privs` the program never holds a capability fdsup lacks, so
/// what the kernel refuses fdsup it refuses the program. It allows it to a
/// process with `CAP_NET_RAW`, and to anyone on a kernel without the
/// restriction of source routes (before 2026).
fn may_route_ip() -> bool {
    crate::sys::net::source_route_allowed()
}

/// What [`prepare`] builds from the policy.
struct Prepared {
    /// The workers' shared context (its exec part completed by
    /// `landlock::prepare`).
    ctx: Ctx,
    /// The seccomp programs.
    filters: filter::Filters,
    /// Where the policy came from, for errors.
    source: String,
    /// Whether the request for a network namespace, if the policy isolates,
    /// reached the shim.
    isolating: Result<(), (&'static str, io::Error)>,
}

/// Asks the shim for an IPC namespace of the program's own
/// ([`fdsup_shim::protocol::ISOLATE_IPC`]) where we hold `CAP_SYS_ADMIN`
/// (the shim, our fork, holds what we hold): the program then reaches no
/// other program's System V shared memory, message queues or semaphores,
/// which it would otherwise attach by id (no policy rule names them), nor
/// its POSIX message queues. Nothing of fdsup's relies on sharing the
/// program's: the supervisor uses none of these, and the paths the
/// program names (`/dev/mqueue`, `/proc/sysvipc`) are decided by the
/// policy as any other. Without the capability, only `isolate`'s user
/// namespace brings an IPC namespace (`fdsup_shim::sys::isolate_network`);
/// one made for this alone would change the credentials fdsup's own code
/// sees the program with (README, Limits).
fn ask_ipc_isolation(sock: &OwnedFd) -> Result<(), (&'static str, io::Error)> {
    let may = rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
    });
    if !may {
        return Ok(());
    }
    sys::write_all(sock.as_fd(), &[fdsup_shim::protocol::ISOLATE_IPC])
        .map_err(|e| ("asking the shim for an IPC namespace", e))
}

/// Asks the shim for a network namespace (the policy isolates).
fn ask_isolation(sock: &OwnedFd) -> Result<(), (&'static str, io::Error)> {
    sys::write_all(sock.as_fd(), &[fdsup_shim::protocol::ISOLATE_NETWORK])
        .map_err(|e| ("asking the shim for a network namespace", e))
}

/// Sends the rest of the first part of the hand-off (the network namespace
/// request went ahead: see [`prepare`]): where the exec default denies,
/// the request to drop the capabilities that resolve `/proc/<pid>/map_files`
/// (see [`fdsup_shim::protocol::DROP_MAP_FILES_CAPS`]), then the three
/// filters.
fn send_filters(
    sock: &OwnedFd,
    filters: &filter::Filters,
    exec_default_denies: bool,
) -> Result<(), (&'static str, io::Error)> {
    let step = |what| move |e| (what, e);
    if exec_default_denies {
        sys::write_all(sock.as_fd(), &[fdsup_shim::protocol::DROP_MAP_FILES_CAPS])
            .map_err(step("asking the shim to drop CAP_SYS_ADMIN"))?;
    }
    sys::write_all(sock.as_fd(), &filter::to_bytes(&filters.deny))
        .map_err(step("sending the deny filter"))?;
    sys::write_all(sock.as_fd(), &filter::to_bytes(&filters.notify))
        .map_err(step("sending the notify filter"))?;
    sys::write_all(sock.as_fd(), &filter::to_bytes(&filters.last))
        .map_err(step("sending the last filter"))
}

/// Receives the listener's number and takes the listener. A failure to
/// send the filters (`sent`) is reported as such only if the shim says
/// nothing itself: a shim that failed and exited says why.
fn hand_off(
    sock: &OwnedFd,
    pidfd: &OwnedFd,
    sent: Result<(), (&'static str, io::Error)>,
) -> Result<Listener, RunError> {
    let fail = |what| move |e| RunError::Setup { what, source: e };
    if sent.is_err() {
        // The shim may be waiting for what we could not send: end-of-file
        // makes it fail and say so (or just exit) instead of waiting.
        let _ = rustix::net::shutdown(sock, rustix::net::Shutdown::Write);
    }
    let mut buf = [0u8; 64];
    let n = loop {
        match rustix::io::read(sock, &mut buf) {
            Err(rustix::io::Errno::INTR) => continue,
            r => {
                break r
                    .map_err(io::Error::from)
                    .map_err(fail("reading from the shim"))?
            }
        }
    };
    match ShimMessage::decode(&buf[..n]) {
        Some(ShimMessage::Listener { fd, .. }) => {
            if let Err((what, source)) = sent {
                return Err(RunError::Setup { what, source });
            }
            let l =
                sys::pidfd_getfd(pidfd.as_fd(), fd).map_err(fail("taking the seccomp listener"))?;
            Ok(Listener::new(l))
        }
        Some(ShimMessage::SetupFailed { errno, stage }) => Err(RunError::Shim {
            stage,
            source: io::Error::from_raw_os_error(errno),
        }),
        _ => Err(match sent {
            Err((what, source)) => RunError::Setup { what, source },
            Ok(()) => RunError::Setup {
                what: "starting the shim",
                source: io::Error::other("the shim exited before reporting its listener"),
            },
        }),
    }
}

fn worker_count(cpus: usize) -> usize {
    // Checked before the run starts (`main`): a bad value never gets here.
    if let Ok(Some(n)) = crate::limits::workers_from_env() {
        return n;
    }
    // One receives; the others are parked spares, which cost nothing until a
    // slow request or a burst wakes them.
    cpus.clamp(
        crate::limits::MIN_WORKERS,
        crate::limits::DEFAULT_MAX_WORKERS,
    )
}

const PIDFD: Token = Token(0);
const SIGNALS: Token = Token(1);

/// Waits for the first process to exit, forwarding signals (as
/// [`crate::jobs`] says), following its stops, and reaping orphans
/// meanwhile. Returns its (exit code, signal).
fn event_loop(
    pidfd: &OwnedFd,
    first: i32,
    sigfd: &SignalFd,
    session: &Session,
    jobs: &mut crate::jobs::Jobs,
    sup_pid: i32,
    first_tick: impl FnOnce(),
) -> Result<(i32, i32), RunError> {
    let mut first_tick = Some(first_tick);
    let started = Instant::now();
    let mut poll = Poll::new().map_err(setup("creating the event loop"))?;
    let pid_raw = pidfd.as_raw_fd();
    let sig_raw = sigfd.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&pid_raw), PIDFD, Interest::READABLE)
        .map_err(setup("watching the program"))?;
    poll.registry()
        .register(&mut SourceFd(&sig_raw), SIGNALS, Interest::READABLE)
        .map_err(setup("watching signals"))?;
    let mut events = Events::with_capacity(8);
    let mut first_status: Option<(i32, i32)> = None;
    let mut look = pool::Look::default();
    let mut active = true;
    loop {
        let tick = if active { pool::TICK } else { pool::IDLE_TICK };
        if let Err(e) = poll.poll(&mut events, Some(tick)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(RunError::Setup {
                    what: "waiting for events",
                    source: e,
                });
            }
        }
        for ev in events.iter() {
            if ev.token() == SIGNALS {
                while let Ok(Some(info)) = sigfd.read_signal() {
                    let signo = i32::try_from(info.signo).unwrap_or(0);
                    if signo == libc::SIGCHLD {
                        reap_orphans(first, &mut first_status);
                        if first_status.is_none() {
                            jobs.child_changed(pidfd.as_fd());
                        }
                        continue;
                    }
                    let sender = i32::try_from(info.pid).unwrap_or(0);
                    if jobs.forwards(info.code, sender, sup_pid) {
                        let _ = sys::pidfd_send_signal(pidfd.as_fd(), signo);
                    }
                }
            }
        }
        if first_status.is_none() {
            if let Ok(Some(st)) = sys::waitid_pidfd(pidfd.as_fd(), true) {
                first_status = Some(st);
            }
        }
        if let Some(st) = first_status {
            return Ok(st);
        }
        if started.elapsed() >= pool::TICK {
            if let Some(f) = first_tick.take() {
                f();
            }
        }
        active = session.check(&mut look);
    }
}

/// Reaps every child that has exited (orphans re-parented to us included).
fn reap_orphans(first: i32, first_status: &mut Option<(i32, i32)>) {
    while let Ok(Some((pid, status))) = sys::reap_any() {
        if pid == first {
            *first_status = Some(decode_wait_status(status));
        }
    }
}

fn decode_wait_status(status: i32) -> (i32, i32) {
    if libc::WIFSIGNALED(status) {
        (0, libc::WTERMSIG(status))
    } else {
        (libc::WEXITSTATUS(status), 0)
    }
}

/// Kills everything the program left in the sandbox and reaps it, until no
/// task uses the filter any more.
fn kill_leftovers(sup: i32, listener: &Listener) {
    if listener.hung_up() {
        // No task uses the filter: nothing of the sandbox is left.
        return;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = crate::task::descendants(sup);
        for &p in &left {
            let _ = sys::kill(p, libc::SIGKILL);
        }
        let mut none_left = false;
        loop {
            match sys::reap_any() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => {
                    none_left = true;
                    break;
                }
            }
        }
        if left.is_empty() && (none_left || listener.hung_up()) {
            return;
        }
        if Instant::now() > deadline {
            crate::diag!("fdsup: processes of the sandbox would not die: {left:?}");
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn exit_status((code, sig): (i32, i32)) -> i32 {
    if sig != 0 {
        128 + sig
    } else {
        code
    }
}

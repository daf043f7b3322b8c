//! `fdsup agent`: the seccomp agent of OCI runtimes (runc, crun): the
//! policies and brokered opens of `fdsup run`, for containers.
//!
//! A container's seccomp profile (`fdsup agent profile`) names the agent's
//! socket as its `listenerPath`. When the runtime installs the filter it
//! connects there and hands over the listener ([`conn`]); the agent makes
//! a [`Session`] of it — the same type `fdsup run` serves its program with,
//! its workers and handlers — with the policy `listenerMetadata` names,
//! and resolves the container's paths in the asking task's root
//! (`crate::fs::Root`). The front door adds one thing the handlers never
//! see: the requests of the runtime itself, before the container's program
//! runs, are answered as the kernel would ([`gate`]).
//!
//! One process serves every container: each connection is read on a
//! thread of its own (the runtime waits for the agent on every container's
//! start, so one slow runtime must not hold up the others), and the main
//! thread runs one event loop for the listening socket, the signals and
//! every session: each tick it looks at each session's pool, ends the
//! sessions whose filter nobody uses any more (`POLLHUP` on the listener)
//! and frees what they held once their threads are gone. Sessions are not
//! registered with the event loop: a seccomp listener wakes its pollers on
//! every notification, which would wake this thread for every request.
//!
//! SIGTERM (or SIGINT) stops accepting (the socket is removed), ends every
//! session — the workers finish the requests they hold and leave — and
//! exits once nothing runs, or after [`GRACE`]; the containers' mediated
//! requests then fail with ENOSYS (SPEC.md: they fail closed).
//!
//! The agent runs as root (it must read every container's `/proc` and
//! open in every container's root) and opens with its own credentials:
//! the policy, not the container's users and modes, decides what a
//! container's process may reach (README, "Containers").

pub mod conn;
pub mod gate;
pub mod names;
pub mod profile;

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::audit::Audit;
use crate::handlers::net::WAKE_SIGNAL;
use crate::handlers::Ctx;
use crate::notify::Listener;
use crate::policy::{self, Policy};
use crate::pool;
use crate::session::Session;
use crate::sys::signal::{SignalFd, SignalSet};
use crate::{doctor, sys};

/// How long SIGTERM waits for the sessions' threads before exiting anyway.
pub const GRACE: Duration = Duration::from_secs(5);

/// Workers per container: one receives, two spares (a container is one
/// program tree; `fdsup run` sizes its pool by CPUs for a build).
const WORKERS: usize = 3;

/// Connections read at once; beyond, a new one is closed at once (its
/// container fails to start, closed) and the agent says so.
const MAX_CONNECTIONS: usize = 256;

/// What `fdsup agent` was asked.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// `--socket`: where runtimes connect.
    pub socket: PathBuf,
    /// `--policies`: `NAME.json` for each `policy=NAME`.
    pub policies: PathBuf,
    /// `--log`: one audit log per container, `DIR/ID.jsonl`.
    pub log: Option<PathBuf>,
}

/// Why the agent could not start (exit 125).
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The kernel lacks something required.
    #[error("{0}")]
    Kernel(#[from] doctor::MissingFeature),
    /// A path given on the command line is unusable.
    #[error("{}: {what}", path.display())]
    Path {
        /// The path.
        path: PathBuf,
        /// What is wrong with it.
        what: String,
    },
    /// Something in fdsup itself failed.
    #[error("{what}: {source}")]
    Setup {
        /// What was being done.
        what: &'static str,
        /// Why it failed.
        source: io::Error,
    },
}

fn setup(what: &'static str) -> impl FnOnce(io::Error) -> AgentError {
    move |source| AgentError::Setup { what, source }
}

fn errno_err<E: Into<io::Error>>(what: &'static str) -> impl FnOnce(E) -> AgentError {
    move |e| AgentError::Setup {
        what,
        source: e.into(),
    }
}

/// What the connection threads share.
#[derive(Debug)]
struct Shared {
    opts: AgentOptions,
    /// The agent's own uid (the other one `SO_PEERCRED` accepts).
    uid: u32,
    cpus: usize,
    /// Connections being read.
    reading: AtomicUsize,
}

/// Serves runtimes until SIGTERM.
pub fn serve(opts: AgentOptions) -> Result<(), AgentError> {
    let features = doctor::probe_without_seccomp();
    doctor::require(&features)?;
    let policies = checked_dir(&opts.policies, "--policies")?;
    if policies.to_str().is_none() {
        return Err(AgentError::Path {
            path: policies,
            what: "--policies: the directory's path is not UTF-8".to_owned(),
        });
    }
    let log = match &opts.log {
        Some(d) => Some(checked_dir(d, "--log")?),
        None => None,
    };
    let opts = AgentOptions {
        socket: opts.socket.clone(),
        policies,
        log,
    };

    let mut mask = SignalSet::empty();
    mask.add(libc::SIGTERM);
    mask.add(libc::SIGINT);
    mask.thread_block().map_err(errno_err("blocking signals"))?;
    let sigfd = SignalFd::new(&mask).map_err(errno_err("creating a signalfd"))?;
    sys::install_wake_handler(WAKE_SIGNAL).map_err(setup("installing a signal handler"))?;

    let socket = listen(&opts.socket)?;
    let ours = std::fs::symlink_metadata(&opts.socket).map(|m| (m.dev(), m.ino()));
    // From here the agent creates files for the containers' programs with
    // their umask applied by hand (handlers::open), as `fdsup run` does.
    rustix::process::umask(rustix::fs::Mode::empty());
    rustix::process::set_dumpable_behavior(rustix::process::DumpableBehavior::NotDumpable)
        .map_err(errno_err("making fdsup non-dumpable"))?;
    #[cfg(debug_assertions)]
    crate::handlers::test_hooks::init();

    let shared = Arc::new(Shared {
        opts,
        uid: rustix::process::getuid().as_raw(),
        cpus: std::thread::available_parallelism().map_or(2, usize::from),
        reading: AtomicUsize::new(0),
    });
    crate::diag!(
        "fdsup: agent: serving on {} with the policies in {}",
        shared.opts.socket.display(),
        shared.opts.policies.display()
    );
    notify_ready();
    let result = event_loop(&shared, socket, &sigfd);
    // Whatever ended the loop, a socket nobody serves is removed, so that
    // runtimes fail at once (and only if it is still ours).
    if let Ok(ours) = ours {
        let same = std::fs::symlink_metadata(&shared.opts.socket)
            .is_ok_and(|m| (m.dev(), m.ino()) == ours);
        if same {
            let _ = std::fs::remove_file(&shared.opts.socket);
        }
    }
    result
}

/// `path`, canonical, if it is a directory.
fn checked_dir(path: &Path, what: &str) -> Result<PathBuf, AgentError> {
    let bad = |w: String| AgentError::Path {
        path: path.to_owned(),
        what: w,
    };
    let canonical = std::fs::canonicalize(path).map_err(|e| bad(format!("{what}: {e}")))?;
    if !canonical.is_dir() {
        return Err(bad(format!("{what}: not a directory")));
    }
    Ok(canonical)
}

/// Creates the listening socket at `path`: mode 0600, and there only once
/// it accepts (bound and listening under a temporary name, then renamed
/// into place). A stale socket is replaced; one an agent still listens on,
/// or anything but a socket, is refused.
fn listen(path: &Path) -> Result<UnixListener, AgentError> {
    let bad = |w: &str| AgentError::Path {
        path: path.to_owned(),
        what: w.to_owned(),
    };
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            if UnixStream::connect(path).is_ok() {
                return Err(bad("another agent is listening on this socket"));
            }
        }
        Ok(_) => return Err(bad("exists and is not a socket; refusing to replace it")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(bad(&e.to_string())),
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = dir.join(format!(".fdsup-agent-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    // Mode 0600 from the start: nobody else may connect even for a moment.
    // (Single-threaded here: the umask is the process's.)
    let old = rustix::process::umask(rustix::fs::Mode::from_bits_truncate(0o177));
    let bound = UnixListener::bind(&tmp);
    rustix::process::umask(old);
    let socket = bound.map_err(|e| AgentError::Path {
        path: tmp.clone(),
        what: format!("creating the socket: {e}"),
    })?;
    if let Err(e) = std::fs::rename(&tmp, path) {
        let _ = std::fs::remove_file(&tmp);
        return Err(bad(&format!("putting the socket in place: {e}")));
    }
    socket
        .set_nonblocking(true)
        .map_err(setup("making the socket non-blocking"))?;
    Ok(socket)
}

/// Tells a service manager that the agent is ready (`READY=1` to
/// `$NOTIFY_SOCKET`, as `sd_notify` does), if it asked.
fn notify_ready() {
    use std::os::linux::net::SocketAddrExt;
    use std::os::unix::net::{SocketAddr, UnixDatagram};
    let Some(target) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let bytes = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str());
    let addr = match bytes.strip_prefix(b"@") {
        Some(name) => SocketAddr::from_abstract_name(name),
        None => SocketAddr::from_pathname(&target),
    };
    let sent = addr.and_then(|a| UnixDatagram::unbound()?.send_to_addr(b"READY=1", &a));
    if let Err(e) = sent {
        crate::diag!("fdsup: agent: telling $NOTIFY_SOCKET that the agent is ready: {e}");
    }
}

const LISTEN: Token = Token(0);
const SIGNALS: Token = Token(1);
const WAKE: Token = Token(2);

/// One container's session, as the event loop keeps it.
struct Live {
    session: Session,
    look: pool::Look,
}

fn event_loop(
    shared: &Arc<Shared>,
    socket: UnixListener,
    sigfd: &SignalFd,
) -> Result<(), AgentError> {
    let mut poll = Poll::new().map_err(setup("creating the event loop"))?;
    let sock_raw = socket.as_raw_fd();
    let sig_raw = sigfd.as_raw_fd();
    poll.registry()
        .register(&mut SourceFd(&sock_raw), LISTEN, Interest::READABLE)
        .map_err(setup("watching the socket"))?;
    poll.registry()
        .register(&mut SourceFd(&sig_raw), SIGNALS, Interest::READABLE)
        .map_err(setup("watching signals"))?;
    let waker = Arc::new(Waker::new(poll.registry(), WAKE).map_err(setup("creating a waker"))?);
    let (tx, rx) = mpsc::channel::<Session>();
    let mut socket = Some(socket);
    let mut sessions: Vec<Live> = Vec::new();
    let mut events = Events::with_capacity(16);
    let mut stopping: Option<Instant> = None;
    let mut active = false;
    loop {
        let tick = if active { pool::TICK } else { pool::IDLE_TICK };
        if let Err(e) = poll.poll(&mut events, Some(tick)) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(AgentError::Setup {
                    what: "waiting for events",
                    source: e,
                });
            }
        }
        for ev in events.iter() {
            match ev.token() {
                LISTEN => {
                    if let Some(s) = &socket {
                        accept_all(shared, s, &tx, &waker);
                    }
                }
                SIGNALS => {
                    while let Ok(Some(_)) = sigfd.read_signal() {
                        if stopping.is_none() {
                            crate::diag!(
                                "fdsup: agent: stopping: no new containers; {} being served",
                                sessions.len()
                            );
                            stopping = Some(Instant::now());
                        }
                    }
                }
                _ => {}
            }
        }
        if stopping.is_some() {
            if let Some(s) = socket.take() {
                let raw = s.as_raw_fd();
                let _ = poll.registry().deregister(&mut SourceFd(&raw));
            }
        }
        while let Ok(session) = rx.try_recv() {
            sessions.push(Live {
                session,
                look: pool::Look::default(),
            });
        }
        active = false;
        for live in &mut sessions {
            let s = &live.session;
            if stopping.is_some() || s.is_closed() || s.listener().hung_up() {
                // Again each tick while workers remain: one about to enter
                // RECV when it was first interrupted may have missed it.
                s.close();
            } else {
                active |= s.check(&mut live.look);
            }
        }
        // A session whose threads are all gone holds nothing but what
        // dropping it frees: the listener, the context, the log; and the
        // memory its threads freed goes back to the kernel.
        let before = sessions.len();
        sessions.retain(|l| !l.session.is_closed() || l.session.running());
        if sessions.len() < before {
            sys::malloc_trim();
        }
        if let Some(t0) = stopping {
            let reading = shared.reading.load(Ordering::SeqCst);
            if (sessions.is_empty() && reading == 0) || t0.elapsed() > GRACE {
                if !sessions.is_empty() {
                    crate::diag!(
                        "fdsup: agent: exiting with {} sessions still busy after {GRACE:?}",
                        sessions.len()
                    );
                }
                return Ok(());
            }
        }
    }
}

/// Accepts every waiting connection, each read on a thread of its own.
fn accept_all(
    shared: &Arc<Shared>,
    socket: &UnixListener,
    tx: &mpsc::Sender<Session>,
    waker: &Arc<Waker>,
) {
    loop {
        let stream = match socket.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                crate::diag!("fdsup: agent: accepting a connection: {e}");
                return;
            }
        };
        if let Err(e) = conn::check_peer(&stream, shared.uid) {
            crate::diag!("fdsup: agent: {e}");
            continue;
        }
        let taken = shared
            .reading
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_CONNECTIONS).then_some(n + 1)
            })
            .is_ok();
        if !taken {
            crate::diag!(
                "fdsup: agent: {MAX_CONNECTIONS} connections are being read already; one closed"
            );
            continue;
        }
        let (shared2, tx, waker) = (Arc::clone(shared), tx.clone(), Arc::clone(waker));
        let spawned = std::thread::Builder::new()
            .name("fdsup-conn".to_owned())
            .spawn(move || {
                if let Some(s) = connection(&shared2, &stream) {
                    // The event loop gone (stopping) ends the session with it.
                    let _ = tx.send(s);
                    let _ = waker.wake();
                }
                shared2.reading.fetch_sub(1, Ordering::SeqCst);
            });
        if let Err(e) = spawned {
            shared.reading.fetch_sub(1, Ordering::SeqCst);
            crate::diag!("fdsup: agent: starting a thread for a connection: {e}");
        }
    }
}

/// Reads one runtime's message and starts the session of its listener.
fn connection(shared: &Shared, stream: &UnixStream) -> Option<Session> {
    let received = conn::receive(stream);
    // The runtime goes on as soon as the connection is closed.
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let (state, fd) = match received {
        Ok(conn::Received::Listener(state, fd)) => (state, fd),
        Ok(conn::Received::Nothing) => return None,
        Err(e) => {
            crate::diag!("fdsup: agent: {e}");
            return None;
        }
    };
    match start_session(shared, &state, fd) {
        Ok(s) => Some(s),
        Err(e) => {
            // The listener is closed with the error: the container's
            // mediated requests fail (ENOSYS), closed.
            crate::diag!("fdsup: agent: container {}: {e}", state.id.escape_debug());
            None
        }
    }
}

/// Makes the session of container `state.id`'s listener `fd` and starts its
/// workers. A policy that cannot be had makes a session that refuses
/// everything (EPERM), and the agent says why.
fn start_session(shared: &Shared, state: &conn::State, fd: OwnedFd) -> io::Result<Session> {
    // Anything else would never hang up, and its session never end.
    let mut what = Vec::with_capacity(64);
    crate::task::fd_path(std::os::fd::AsFd::as_fd(&fd), &mut what)?;
    if what != b"anon_inode:seccomp notify" {
        return Err(io::Error::other(format!(
            "the descriptor passed as \"seccompFd\" is not a seccomp listener ({})",
            String::from_utf8_lossy(&what)
        )));
    }
    let listener = Listener::new(fd);
    // Best effort (Linux 6.6): only speed depends on it.
    let _ = listener.set_sync_wake_up();
    let (ctx, gate) = match container_ctx(shared, state) {
        Ok(ctx) => {
            let visible = ctx.policy.fs.metadata == policy::Metadata::Visible;
            (ctx, gate::ContainerGate::new(visible))
        }
        Err(why) => {
            crate::diag!(
                "fdsup: agent: container {}: {why}; every request of the container fails with EPERM",
                state.id.escape_debug()
            );
            (refusing_ctx()?, gate::ContainerGate::refusing())
        }
    };
    let session = Session::new(Arc::new(ctx), listener, Some(Box::new(gate)));
    session.pool().set_parallel(shared.cpus);
    session.spawn_worker(0, false)?;
    session.spawn_spares(1..WORKERS);
    Ok(session)
}

/// The context of container `state`: its policy (`listenerMetadata`'s
/// `policy=NAME`, `DIR/NAME.json`, read now, so that a policy changed on
/// disk applies to the next container) and its log.
fn container_ctx(shared: &Shared, state: &conn::State) -> Result<Ctx, String> {
    let name = conn::policy_name(&state.metadata).map_err(|e| e.to_string())?;
    let file = shared.opts.policies.join(format!("{name}.json"));
    let file = file
        .to_str()
        .ok_or_else(|| format!("{}: not UTF-8", file.display()))?;
    let pol = load_agent_policy(file).map_err(|e| format!("policy {name:?}: {e}"))?;
    let log = shared
        .opts
        .log
        .as_ref()
        .map(|d| d.join(format!("{}.jsonl", conn::log_name(&state.id))));
    let audit = Audit::new(log.as_deref(), pol.log.denied, pol.log.allowed, false)
        .map_err(|e| format!("opening the audit log: {e}"))?;
    Ok(Ctx::new(pol, audit)
        .map_err(|e| format!("preparing the policy: {e}"))?
        .in_containers())
}

/// Loads an agent policy: paths are the container's (see
/// [`policy::Vars::agent`]), and what a container's runtime, not fdsup,
/// decides is refused: `isolate` (the container's network namespace is
/// the runtime's to make).
pub fn load_agent_policy(file: &str) -> Result<Policy, String> {
    let pol = policy::load(file, &policy::Vars::agent()).map_err(|e| crate::diag::chain(&e))?;
    if pol.network.isolate {
        return Err(format!(
            "{file}: \"network\": \"isolate\" is not available to containers: the runtime gives a container its network namespace"
        ));
    }
    Ok(pol)
}

/// The context of a session that refuses everything (its gate answers
/// before any handler; the context is never consulted).
fn refusing_ctx() -> io::Result<Ctx> {
    let pol = policy::load("@system", &policy::Vars::agent()).map_err(io::Error::other)?;
    let audit = Audit::new(None, false, false, false).map_err(io::Error::other)?;
    Ok(Ctx::new(pol, audit)?.in_containers())
}

/// `fdsup agent profile`: the `linux.seccomp` object, as pretty JSON.
pub fn profile_text(policy: &str, socket: &Path) -> Result<String, String> {
    conn::policy_name(&format!("policy={policy}")).map_err(|e| e.to_string())?;
    if !socket.is_absolute() {
        return Err(format!(
            "--socket {}: must be an absolute path (the runtime connects from the container's bundle)",
            socket.display()
        ));
    }
    let socket = socket
        .to_str()
        .ok_or_else(|| format!("--socket {}: not UTF-8", socket.display()))?;
    let p = profile::profile(policy, socket);
    serde_json::to_string_pretty(&p)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(name: &str) -> String {
        format!(
            "{}/../policies/agent/{name}.json",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// The ready agent policies load as agent policies, their paths as
    /// written (no host symbolic link resolved into them).
    #[test]
    fn the_ready_agent_policies_load() {
        for name in ["readonly-root", "fixed-dns"] {
            let p = load_agent_policy(&ready(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                p.decide_fs(b"/etc/shadow").action,
                &policy::FsAction::Access(policy::FsAccess::Hide),
                "{name}"
            );
            assert_eq!(
                p.decide_fs(b"/tmp/x").action,
                &policy::FsAction::Access(policy::FsAccess::Rw),
                "{name}"
            );
            assert_eq!(
                p.decide_fs(b"/usr/bin/sh").action,
                &policy::FsAction::Access(policy::FsAccess::Ro),
                "{name}"
            );
            // As written, even where the host has a link (/var/run -> /run).
            assert_eq!(
                p.decide_fs(b"/var/run/secrets/token").action,
                &policy::FsAction::Access(policy::FsAccess::Hide),
                "{name}"
            );
        }
        let p = load_agent_policy(&ready("fixed-dns")).unwrap();
        assert!(matches!(
            p.decide_fs(b"/etc/resolv.conf").action,
            policy::FsAction::Content { .. }
        ));
    }

    #[test]
    fn the_profile_command_checks_its_arguments() {
        assert!(profile_text("readonly-root", Path::new("/run/fdsup/agent.sock")).is_ok());
        assert!(profile_text("../x", Path::new("/run/fdsup/agent.sock")).is_err());
        assert!(profile_text("a b", Path::new("/run/fdsup/agent.sock")).is_err());
        assert!(profile_text("x", Path::new("agent.sock")).is_err());
        let text = profile_text("x", Path::new("/s")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["listenerMetadata"], "policy=x");
    }
}

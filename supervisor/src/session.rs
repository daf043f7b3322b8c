//! A session: one seccomp listener and everything that serves it — the
//! workers, their pool, the handlers' shared context and the threads of
//! requests that wait — as one value that `fdsup run` and `fdsup agent`
//! both use (DESIGN.md, "One session type, two front doors").
//!
//! `fdsup run` makes one session for the program it spawns; `fdsup agent`
//! makes one per listener a container runtime hands over, many at once in
//! one process. So nothing here is process-wide: each session owns its
//! context ([`Ctx`]), its listener, its pool and its count of waiting
//! requests, and the workers and waiting threads hold them through one
//! shared value that is freed when the last of them ends. The handlers see
//! only the context, the listener and the request: they cannot tell which
//! front door a request came through.
//!
//! Threads: one worker at a time blocks in `SECCOMP_IOCTL_NOTIF_RECV` on the
//! listener, handles what it receives and answers; spare workers wait parked
//! until the event loop sees a request hold up the others ([`crate::pool`]
//! says why one, and when more); the owner's event loop calls
//! [`Session::check`] every tick. Opens that wait for someone else (FIFOs)
//! and blocking connects and sends run on threads of their own, which end
//! when their request does.
//!
//! A session ends when no task uses its filter any more. The kernel does
//! not wake a worker blocked in `RECV` then (only `poll` reports
//! `POLLHUP`), so the owner, which polls the listener, calls
//! [`Session::close`]: the pool is closed (parked workers wake and leave)
//! and a worker in `RECV` is interrupted with [`WAKE_SIGNAL`] (its handler
//! has no `SA_RESTART`, so `RECV` fails with `EINTR`), and leaves. A worker
//! that finds the listener hung up itself closes the session the same way.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::handlers::net::{interrupted, until_done, Stop, Waiter, WAKE_SIGNAL};
use crate::handlers::{self, Blocking, Ctx, Reply, Scratch};
use crate::notify::{InjectError, Listener, Notif, Pending};
use crate::pool::{self, Pool};
use crate::sys;

use crate::limits::WAITING_REQUESTS as MAX_BLOCKED;

/// Decides, before any handler, whether a request is the container
/// runtime's own (answered `CONTINUE`): see `crate::agent`. `fdsup run`
/// has none.
pub trait Gate: Send + Sync + std::fmt::Debug {
    /// `Some(reply)` answers the request without a handler.
    fn before(&self, listener: &Listener, n: &Notif) -> Option<Reply>;
}

/// One listener and what serves it (see the module docs).
#[derive(Debug)]
pub struct Session {
    inner: Arc<Inner>,
}

/// What the workers and waiting threads of a session share.
#[derive(Debug)]
struct Inner {
    ctx: Arc<Ctx>,
    listener: Arc<Listener>,
    /// Who receives.
    pool: Pool,
    /// Requests waiting on threads of their own.
    blocked: AtomicUsize,
    /// Set once a worker has reported an unexpected receive error:
    /// reported once per session, however often it recurs.
    recv_warned: AtomicBool,
    /// The workers alive: thread id, and whether it is in (or about to
    /// enter) `RECV`, for [`Session::close`].
    workers: Mutex<Vec<(i32, Arc<AtomicBool>)>>,
    gate: Option<Box<dyn Gate>>,
}

impl Session {
    /// A session serving `listener` with `ctx`; no worker runs yet.
    pub fn new(ctx: Arc<Ctx>, listener: Listener, gate: Option<Box<dyn Gate>>) -> Self {
        Self {
            inner: Arc::new(Inner {
                ctx,
                listener: Arc::new(listener),
                pool: Pool::new(),
                blocked: AtomicUsize::new(0),
                recv_warned: AtomicBool::new(false),
                workers: Mutex::new(Vec::new()),
                gate,
            }),
        }
    }

    /// The listener.
    pub fn listener(&self) -> &Listener {
        &self.inner.listener
    }

    /// The pool (for its settings).
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// Starts worker `i` (named `fdsup-worker-i`); a `spare` starts parked.
    pub fn spawn_worker(&self, i: usize, spare: bool) -> io::Result<()> {
        let inner = Arc::clone(&self.inner);
        std::thread::Builder::new()
            .name(format!("fdsup-worker-{i}"))
            .spawn(move || worker(&inner, spare))
            .map(drop)
    }

    /// Starts worker thread `i` (a receiver, not a spare) before its
    /// session exists: it waits until [`Ahead::start`] hands it one, and
    /// ends if the [`Ahead`] is dropped first. Starting a thread costs
    /// `fdsup run` some 50 µs; this way it is spent while the shim installs
    /// its filters, not after.
    pub fn worker_ahead(i: usize) -> io::Result<Ahead> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Arc<Inner>>(1);
        std::thread::Builder::new()
            .name(format!("fdsup-worker-{i}"))
            .spawn(move || {
                if let Ok(inner) = rx.recv() {
                    worker(&inner, false);
                }
            })
            .map(|_| Ahead { tx })
    }

    /// Starts the spare workers numbered `which`, parked at once; returns the
    /// number after the last one started (a failure only makes the pool
    /// smaller, and is said once: `usize::MAX` then, so that no more are
    /// tried).
    pub fn spawn_spares(&self, which: std::ops::Range<usize>) -> usize {
        let mut next = which.start;
        for i in which {
            if let Err(e) = self.spawn_worker(i, true) {
                crate::diag!("fdsup: starting a spare worker thread: {e}");
                return usize::MAX;
            }
            next = i + 1;
        }
        next
    }

    /// The event loop's look at the pool, every tick (see
    /// [`Pool::check`]); returns whether anything happened since the last.
    pub fn check(&self, look: &mut pool::Look) -> bool {
        let listener = &self.inner.listener;
        self.inner.pool.check(look, || listener.waiting())
    }

    /// Ends the session: workers stop receiving, finish what they handle,
    /// and leave. A worker blocked in `RECV` is interrupted; one about to
    /// enter it may miss that, so the owner calls this again until
    /// [`Self::workers`] is 0. Requests waiting on threads of their own
    /// finish by themselves.
    pub fn close(&self) {
        self.inner.pool.close();
        let me = i32::try_from(std::process::id()).unwrap_or(i32::MAX);
        if let Ok(workers) = self.inner.workers.lock() {
            for (tid, receiving) in workers.iter() {
                if receiving.load(Ordering::SeqCst) {
                    let _ = sys::tgkill(me, *tid, WAKE_SIGNAL);
                }
            }
        }
    }

    /// Whether the session was closed.
    pub fn is_closed(&self) -> bool {
        self.inner.pool.is_closed()
    }

    /// Workers alive.
    pub fn workers(&self) -> usize {
        self.inner.workers.lock().map_or(0, |w| w.len())
    }

    /// Requests waiting on threads of their own.
    pub fn waiting_requests(&self) -> usize {
        self.inner.blocked.load(Ordering::SeqCst)
    }

    /// Whether anything of the session still runs: a worker, or a request
    /// on a thread of its own. Once not, dropping the session frees all it
    /// holds.
    pub fn running(&self) -> bool {
        self.workers() > 0 || self.waiting_requests() > 0 || Arc::strong_count(&self.inner) > 1
    }
}

/// A worker thread waiting for its session ([`Session::worker_ahead`]).
#[derive(Debug)]
pub struct Ahead {
    tx: std::sync::mpsc::SyncSender<Arc<Inner>>,
}

impl Ahead {
    /// Hands the waiting worker its session: it starts receiving.
    pub fn start(self, session: &Session) -> io::Result<()> {
        self.tx
            .send(Arc::clone(&session.inner))
            .map_err(|_| io::Error::other("the worker thread ended before its session began"))
    }
}

/// Removes a worker from the session when it leaves, however it leaves.
struct Leave<'a> {
    inner: &'a Inner,
    tid: i32,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if let Ok(mut w) = self.inner.workers.lock() {
            w.retain(|(t, _)| *t != self.tid);
        }
        self.inner.pool.left();
    }
}

/// One worker: receive, handle, answer, and again while no other worker
/// receives; a `spare` starts parked. Returns when the session ends.
fn worker(inner: &Arc<Inner>, spare: bool) {
    let pool = &inner.pool;
    let listener = &inner.listener;
    let ctx = &*inner.ctx;
    let tid = sys::gettid();
    let in_recv = Arc::new(AtomicBool::new(false));
    if let Ok(mut w) = inner.workers.lock() {
        w.push((tid, Arc::clone(&in_recv)));
    }
    pool.joined();
    let _leave = Leave { inner, tid };
    let mut sc = Scratch::new();
    let mut n = crate::notify::notif_buffer();
    let mut awake = Instant::now();
    if spare {
        pool.park_spare(&mut awake);
    }
    loop {
        let received = receive(
            || {
                in_recv.store(true, Ordering::SeqCst);
                pool.receiving();
                if pool.is_closed() {
                    in_recv.store(false, Ordering::SeqCst);
                    pool.received(false);
                    return Err(io::Error::from_raw_os_error(libc::ENOENT));
                }
                #[cfg(debug_assertions)]
                if handlers::test_hooks::recv_fails() {
                    in_recv.store(false, Ordering::SeqCst);
                    pool.received(false);
                    return Err(io::Error::from_raw_os_error(libc::EINVAL));
                }
                let r = listener.recv(&mut n);
                in_recv.store(false, Ordering::SeqCst);
                pool.received(r.is_ok());
                r
            },
            || pool.is_closed() || listener.hung_up(),
            &inner.recv_warned,
            std::thread::sleep,
        );
        let Some(pending) = received else {
            // No task uses the filter any more, or the session was closed:
            // nothing more comes for this session.
            pool.close();
            return;
        };
        pool.asked_by(n.pid);
        let reply = catch_unwind(AssertUnwindSafe(|| {
            match inner.gate.as_ref().and_then(|g| g.before(listener, &n)) {
                Some(r) => r,
                None => handlers::handle(ctx, listener, &n, &mut sc),
            }
        }));
        // Before the answer: with sync wake-up the program runs at once on
        // this CPU and may ask again while this worker still looks busy.
        pool.answered();
        match reply {
            Ok(reply) => finish(inner, pending, n.pid, reply),
            Err(_) => pending.deny(libc::EACCES),
        }
        pool.park_if_spare(&mut awake);
    }
}

/// What a worker does after `SECCOMP_IOCTL_NOTIF_RECV` failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RecvFailure {
    /// Receive again at once: a signal interrupted the wait (`EINTR`), or
    /// the task of the notification that woke us died before we took it
    /// (`ENOENT` while tasks remain).
    Retry,
    /// No task uses the filter any more: nothing can come; stop receiving
    /// (the kernel then answers every receive at once with `ENOENT`).
    HungUp,
    /// Anything else (the kernel documents `EFAULT` and `EINVAL`, which a
    /// zeroed buffer of ours should never see): reported once, then
    /// received again after a pause, so that the pool never loses its
    /// receiver and the program never waits for a worker that gave up.
    Unexpected,
}

/// Classifies a receive error (`errno`); `hung_up` is asked only when it
/// matters.
fn classify_recv_error(errno: Option<i32>, hung_up: impl FnOnce() -> bool) -> RecvFailure {
    if errno == Some(libc::EINTR) {
        return RecvFailure::Retry;
    }
    if hung_up() {
        return RecvFailure::HungUp;
    }
    if errno == Some(libc::ENOENT) {
        RecvFailure::Retry
    } else {
        RecvFailure::Unexpected
    }
}

/// The pause before receiving again after the `n`th unexpected error in a
/// row: 1 ms, doubling, at most 100 ms (a persistent error costs a wake-up
/// every 100 ms, not a spinning CPU).
fn recv_backoff(n: u32) -> Duration {
    Duration::from_millis((1u64 << n.saturating_sub(1).min(7)).min(100))
}

/// Receives until `recv` yields a request (`Some`) or the listener hangs up
/// (`None`), dealing with every error as [`RecvFailure`] says; `warned`
/// makes the report of an unexpected error once per session, `pause` sleeps.
fn receive<T>(
    mut recv: impl FnMut() -> io::Result<T>,
    hung_up: impl Fn() -> bool,
    warned: &AtomicBool,
    mut pause: impl FnMut(Duration),
) -> Option<T> {
    let mut unexpected = 0u32;
    loop {
        let e = match recv() {
            Ok(t) => return Some(t),
            Err(e) => e,
        };
        match classify_recv_error(e.raw_os_error(), &hung_up) {
            RecvFailure::Retry => unexpected = 0,
            RecvFailure::HungUp => return None,
            RecvFailure::Unexpected => {
                if !warned.swap(true, Ordering::Relaxed) {
                    crate::diag!(
                        "fdsup: receiving a request from the seccomp listener: {e}; receiving again"
                    );
                }
                unexpected = unexpected.saturating_add(1);
                pause(recv_backoff(unexpected));
            }
        }
    }
}

/// Answers a notification of task `tid` with what its handler decided.
fn finish(inner: &Arc<Inner>, pending: Pending, tid: u32, reply: Reply) {
    match reply {
        Reply::Errno(e) => pending.deny(e),
        Reply::Value(v) => pending.return_value(v),
        Reply::Continue => pending.continue_unchecked(),
        Reply::Fd { fd, cloexec } => inject(&inner.pool, pending, &fd, cloexec),
        Reply::FifoFd { fd, cloexec } => inject_fifo(pending, fd, cloexec),
        // Answering a notification that is gone is a no-op the kernel reports
        // with ENOENT; it is done anyway so that no path skips the answer.
        Reply::Gone => pending.deny(libc::EACCES),
        Reply::Replace {
            fd,
            target,
            cloexec,
            answer,
        } => match pending.replace_then_reply(fd.as_fd(), cloexec, target, answer) {
            Ok(()) | Err(InjectError::Gone) => {}
            Err(InjectError::Failed(p, e)) => p.deny(sys::errno_of(&e)),
        },
        Reply::Deferred(job) => off_worker(
            inner,
            pending,
            tid,
            "fdsup-net",
            libc::ENOBUFS,
            move |w| match job.run(w) {
                // A job never defers again; if it did, fail closed.
                Reply::Deferred(_) => Reply::Errno(libc::EIO),
                r => r,
            },
        ),
        // One thread per waiting request, as the program has one waiting
        // task per request; a bound keeps a flood from exhausting ours.
        Reply::Blocking(b) => {
            off_worker(inner, pending, tid, "fdsup-fifo", libc::ENFILE, move |w| {
                blocking_open(w, &b)
            })
        }
    }
}

fn inject(pool: &Pool, pending: Pending, fd: &OwnedFd, cloexec: bool) {
    pool.injecting();
    let t0 = Instant::now();
    let injected = pending.inject_and_send(fd.as_fd(), cloexec);
    pool.installed(t0.elapsed());
    match injected {
        Ok(_) | Err(InjectError::Gone) => {}
        Err(InjectError::Failed(p, e)) => p.deny(sys::errno_of(&e)),
    }
}

fn inject_fifo(pending: Pending, fd: OwnedFd, cloexec: bool) {
    match pending.inject_then_send(fd, cloexec) {
        Ok(_) | Err(InjectError::Gone) => {}
        Err(InjectError::Failed(p, e)) => p.deny(sys::errno_of(&e)),
    }
}

/// Opens a FIFO, waiting for its other end (on a thread of its own, see
/// [`off_worker`]), until the request dies or a signal would have
/// interrupted the program's own open.
fn blocking_open(w: &mut Waiter<'_>, b: &Blocking) -> Reply {
    match until_done(w, || crate::fs::reopen(b.fd.as_fd(), b.flags)) {
        Ok(Ok(fd)) => Reply::FifoFd {
            fd,
            cloexec: b.cloexec,
        },
        Ok(Err(e)) => Reply::Errno(sys::errno_of(&e)),
        Err(Stop::Gone) => Reply::Gone,
        // No deadline was set: no timeout.
        Err(Stop::Signal | Stop::Timeout) => interrupted(false),
    }
}

/// Runs `work` for a request of task `tid` that may wait for someone else
/// (a FIFO open, a connect, a send) on a thread of its own, so that the
/// workers never wait, and answers with what it returns. The thread's
/// [`Waiter`] interrupts its wait every so often to look whether the
/// request died or a signal came (`handlers::net::wait`). Beyond
/// [`MAX_BLOCKED`] waiting requests, a new one fails with `full`. A panic
/// in `work` answers EIO; a thread that cannot start drops `pending`, which
/// answers EACCES.
fn off_worker<F>(inner: &Arc<Inner>, pending: Pending, tid: u32, name: &str, full: i32, work: F)
where
    F: FnOnce(&mut Waiter<'_>) -> Reply + Send + 'static,
{
    use std::sync::atomic::Ordering::SeqCst;
    let taken = inner
        .blocked
        .fetch_update(SeqCst, SeqCst, |b| (b < MAX_BLOCKED).then_some(b + 1))
        .is_ok();
    if !taken {
        pending.deny(full);
        return;
    }
    let mine = Arc::clone(inner);
    // A new thread has its creator's credentials ([`crate::creds`]).
    let carried = crate::creds::carried();
    let spawned = std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(move || {
            crate::creds::adopt(carried);
            let valid = || pending.is_valid();
            let tid_i = i32::try_from(tid).unwrap_or(i32::MAX);
            // This thread makes the call: with the program's credentials,
            // as the worker had them.
            let as_program = mine.ctx.creds.as_program(tid_i, valid);
            let reply = match (as_program, Waiter::new(&valid, tid_i)) {
                (Err(e), _) => Ok(Reply::Errno(e)),
                (Ok(()), Some(mut w)) => catch_unwind(AssertUnwindSafe(|| work(&mut w))),
                // No timer to end the wait with: do not wait.
                (Ok(()), None) => Ok(Reply::Errno(full)),
            };
            mine.blocked.fetch_sub(1, SeqCst);
            match reply {
                Ok(reply) => finish(&mine, pending, tid, reply),
                Err(_) => pending.deny(libc::EIO),
            }
        });
    if let Err(e) = spawned {
        inner.blocked.fetch_sub(1, SeqCst);
        crate::diag!("fdsup: starting a thread ({name}): {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(errno: i32) -> io::Error {
        io::Error::from_raw_os_error(errno)
    }

    #[test]
    fn receive_errors_are_classified() {
        use RecvFailure::*;
        let alive = || false;
        let gone = || true;
        assert_eq!(classify_recv_error(Some(libc::EINTR), alive), Retry);
        assert_eq!(classify_recv_error(Some(libc::EINTR), gone), Retry);
        assert_eq!(classify_recv_error(Some(libc::ENOENT), alive), Retry);
        assert_eq!(classify_recv_error(Some(libc::ENOENT), gone), HungUp);
        for e in [libc::EFAULT, libc::EINVAL, libc::EBADF, libc::ENOMEM] {
            assert_eq!(classify_recv_error(Some(e), alive), Unexpected, "{e}");
            assert_eq!(classify_recv_error(Some(e), gone), HungUp, "{e}");
        }
        assert_eq!(classify_recv_error(None, alive), Unexpected);
    }

    /// Unexpected errors never end receiving: the worker pauses (bounded),
    /// reports once, and takes the next request.
    #[test]
    fn a_worker_keeps_receiving_through_unexpected_errors() {
        let mut script = vec![
            Err(err(libc::EINVAL)),
            Err(err(libc::EFAULT)),
            Err(err(libc::EINTR)),
            Err(err(libc::ENOENT)),
            Err(err(libc::EBADF)),
            Ok(7),
            Err(err(libc::EINVAL)),
            Ok(8),
        ]
        .into_iter();
        let warned = AtomicBool::new(false);
        let mut pauses = Vec::new();
        let mut next = || script.next().unwrap_or(Err(err(libc::ENOENT)));
        let got = receive(&mut next, || false, &warned, |d| pauses.push(d));
        assert_eq!(got, Some(7));
        assert!(warned.load(Ordering::Relaxed));
        // EINVAL, EFAULT back to back (1, 2 ms); EINTR and ENOENT reset;
        // EBADF starts again at 1 ms.
        assert_eq!(
            pauses,
            [1, 2, 1].map(Duration::from_millis).to_vec(),
            "a pause per unexpected error only"
        );
        let got = receive(&mut next, || false, &warned, |d| pauses.push(d));
        assert_eq!(got, Some(8));
    }

    #[test]
    fn a_hung_up_listener_ends_receiving() {
        let warned = AtomicBool::new(false);
        let got: Option<()> = receive(
            || Err(err(libc::ENOENT)),
            || true,
            &warned,
            |_| panic!("no pause"),
        );
        assert_eq!(got, None);
        assert!(!warned.load(Ordering::Relaxed));
    }

    #[test]
    fn the_backoff_is_bounded() {
        assert_eq!(recv_backoff(1), Duration::from_millis(1));
        assert_eq!(recv_backoff(2), Duration::from_millis(2));
        for n in [8, 9, 64, u32::MAX] {
            assert_eq!(recv_backoff(n), Duration::from_millis(100));
        }
    }
}

//! Requests that may wait for someone else — a `connect` in progress, a
//! send into a full socket, a FIFO open — carried out on a thread of their
//! own ([`Deferred`]), in a wait that ends the way the kernel's would.
//!
//! The thread makes the blocking call itself, on the program's own socket
//! (the same open file description, fetched with `pidfd_getfd`): the
//! program's `O_NONBLOCK` and `SO_SNDTIMEO` apply as they are, and none of
//! the program's file status flags is ever changed (another thread of the
//! program shares them). A [`Waiter`] arms a timer that interrupts the
//! thread's call every so often (starting at [`FIRST_LOOK`], backing off to
//! [`LAST_LOOK`]); at each interruption the thread looks whether the
//! request is still pending (`ID_VALID`: the task was not killed) and
//! whether a signal would have interrupted the program's own call by now
//! ([`crate::interrupt`]), and if neither, calls again.
//!
//! Why this is sound with `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`: once a
//! notification is received, the kernel lets only a fatal signal end the
//! program's wait, so nothing else can end the request behind our back (a
//! file created for an open is never orphaned by a restart), and the
//! answer is always ours to give. For a request that blocks, ours is then
//! what the kernel's own wait would have ended with: `-ERESTARTSYS` when a
//! signal came before anything was done (the kernel restarts the call under
//! `SA_RESTART`, or fails it with `EINTR`, or stops the task and restarts
//! after `SIGCONT`), `-EINTR` for a socket with a send timeout (the kernel's
//! `sock_intr_errno`), or the bytes sent so far once some were. The price
//! is latency: a signal is seen within the current look interval (at most
//! [`LAST_LOOK`]), where natively it interrupts at once.
//!
//! Each call again starts the kernel's own wait afresh, and with it the
//! socket's send timeout (`SO_SNDTIMEO`), which the interruptions would
//! then never let expire. A wait on a socket with one keeps its deadline
//! itself ([`Waiter::time_out_after`], from the timeout read once when the
//! wait starts): the timer fires at the deadline at the latest, and the
//! wait ends there with [`Stop::Timeout`], which the caller answers as the
//! kernel's own timeout would (`EAGAIN`, the bytes sent so far, or a
//! connect's `EINPROGRESS`).

use std::time::{Duration, Instant};

use super::super::Reply;
use crate::sys::timer::ThreadTimer;

/// The signal that interrupts a waiting thread (its handler is installed
/// without `SA_RESTART`, so a blocking call fails with `EINTR`).
pub const WAKE_SIGNAL: i32 = libc::SIGURG;

/// The first interval between two looks.
pub const FIRST_LOOK: Duration = Duration::from_millis(1);
/// The longest interval between two looks.
pub const LAST_LOOK: Duration = Duration::from_millis(50);

/// A request finished off the worker.
pub struct Deferred(Box<Job>);

/// The work of a [`Deferred`].
type Job = dyn FnOnce(&mut Waiter<'_>) -> Reply + Send;

impl Deferred {
    /// Wraps the work.
    pub fn new(job: impl FnOnce(&mut Waiter<'_>) -> Reply + Send + 'static) -> Self {
        Self(Box::new(job))
    }

    /// Runs the job.
    pub fn run(self, w: &mut Waiter<'_>) -> Reply {
        (self.0)(w)
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred")
    }
}

/// Why a wait must end before its call finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The request is gone (the task was killed): no one to answer.
    Gone,
    /// A signal would have interrupted the program's call.
    Signal,
    /// The socket's send timeout passed (only after
    /// [`Waiter::time_out_after`]).
    Timeout,
}

/// The waiting thread's view of its request; see the module docs.
pub struct Waiter<'a> {
    valid: &'a dyn Fn() -> bool,
    tid: i32,
    timer: ThreadTimer,
    every: Duration,
    /// When the timer fires next at the latest: `every`, or less before
    /// a deadline.
    armed: Duration,
    /// When the program's own call would have timed out.
    deadline: Option<Instant>,
}

impl<'a> Waiter<'a> {
    /// A waiter for the request of task `tid`, on the calling thread; `valid`
    /// says whether the request still waits for its answer. The timer is
    /// armed at once. `None` when no timer can be made: the caller must
    /// then not wait at all.
    pub fn new(valid: &'a dyn Fn() -> bool, tid: i32) -> Option<Self> {
        let timer = ThreadTimer::new(WAKE_SIGNAL).ok()?;
        timer.set(FIRST_LOOK).ok()?;
        Some(Self {
            valid,
            tid,
            timer,
            every: FIRST_LOOK,
            armed: FIRST_LOOK,
            deadline: None,
        })
    }

    /// Ends the wait with [`Stop::Timeout`] once `after` has passed from
    /// now (the socket's send timeout; zero: none), unless a deadline was
    /// set already (a wait that goes on from another keeps the first's).
    pub fn time_out_after(&mut self, after: Duration) {
        if self.deadline.is_none() {
            self.time_out_again(after);
        }
    }

    /// [`Self::time_out_after`] from now, whatever was set before: after
    /// progress, where the kernel's own wait starts its timeout again.
    pub fn time_out_again(&mut self, after: Duration) {
        self.deadline = if after.is_zero() {
            None
        } else {
            Instant::now().checked_add(after)
        };
        self.arm();
    }

    /// Sets the timer to the look interval, or to the deadline if that
    /// comes first (re-armed only when that changes).
    fn arm(&mut self) {
        let mut next = self.every;
        if let Some(d) = self.deadline {
            // At least FIRST_LOOK: zero would disarm it, and a shorter
            // period would flood the thread once the deadline is past.
            let left = d.saturating_duration_since(Instant::now());
            next = next.min(left.max(FIRST_LOOK));
        }
        if next != self.armed && self.timer.set(next).is_ok() {
            self.armed = next;
        }
    }

    /// After the thread's call was interrupted: why to stop waiting, if
    /// the request should; otherwise the next look comes later.
    pub fn check(&mut self) -> Option<Stop> {
        if !(self.valid)() {
            return Some(Stop::Gone);
        }
        if crate::interrupt::signal_interrupts(self.tid) {
            return Some(Stop::Signal);
        }
        if self.deadline.is_some_and(|d| Instant::now() >= d) {
            return Some(Stop::Timeout);
        }
        self.every = (self.every * 2).min(LAST_LOOK);
        self.arm();
        None
    }

    /// Whether the request still waits for its answer.
    pub fn valid(&self) -> bool {
        (self.valid)()
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        let _ = self.timer.set(Duration::ZERO);
    }
}

/// The answer to a request a signal ended before anything was done:
/// `EINTR` where the kernel says so for a socket with a send timeout,
/// otherwise `-ERESTARTSYS` (see the module docs).
pub fn interrupted(send_timeout: bool) -> Reply {
    if send_timeout {
        Reply::Errno(libc::EINTR)
    } else {
        Reply::Errno(crate::interrupt::ERESTARTSYS)
    }
}

/// What a blocking `connect` answers when its send timeout passes: a Unix
/// one `EAGAIN` (`unix_stream_connect`: the listener's backlog is still
/// full, and the socket stays unconnected), any other `EINPROGRESS` (the
/// connection goes on, as after a non-blocking `connect`). A second
/// blocking `connect` while one is in progress says `EALREADY` instead
/// (`handlers::net::connect` looks at the TCP state first).
pub fn connect_timed_out(domain: i32) -> Reply {
    Reply::Errno(if domain == libc::AF_UNIX {
        libc::EAGAIN
    } else {
        libc::EINPROGRESS
    })
}

/// Runs `call` until it finishes, retrying when the waiter's timer
/// interrupts it; `Err(stop)` when the wait must end first.
pub fn until_done<T>(
    w: &mut Waiter<'_>,
    mut call: impl FnMut() -> std::io::Result<T>,
) -> Result<std::io::Result<T>, Stop> {
    loop {
        match call() {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                if let Some(stop) = w.check() {
                    return Err(stop);
                }
            }
            r => return Ok(r),
        }
    }
}

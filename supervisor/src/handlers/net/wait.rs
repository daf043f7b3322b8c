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

use std::time::Duration;

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
}

/// The waiting thread's view of its request; see the module docs.
pub struct Waiter<'a> {
    valid: &'a dyn Fn() -> bool,
    tid: i32,
    timer: ThreadTimer,
    every: Duration,
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
        })
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
        if self.every < LAST_LOOK {
            self.every = (self.every * 2).min(LAST_LOOK);
            let _ = self.timer.set(self.every);
        }
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

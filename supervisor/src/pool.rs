//! The workers: one receives at a time, the others wait parked.
//!
//! The listener's wait queue is not exclusive: every thread blocked in
//! `SECCOMP_IOCTL_NOTIF_RECV` is woken for every notification, and all but
//! one go back to sleep empty-handed. With `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`
//! the kernel switches straight to a receiver on the program's CPU; a second
//! receiver only adds a wake-up (often of the other CPU) to every request.
//! Measured on the 2-CPU machines here: a stat round trip costs 15.9 µs with
//! one receiver and 19.5 µs with two; the C floor shows the same (8.3 µs
//! against 10.3 µs).
//!
//! So a single-threaded program is served by exactly one worker: it
//! receives, handles, answers and receives again, and the others are parked.
//! Requests of several tasks (threads such as git's parallel index refresh,
//! a pipeline, `make -j`) could come at once and would wait for each other:
//! a request from another task than the last one wakes a spare at once
//! ([`Pool::asked_by`]), up to one awake worker per CPU. While installs are
//! slow (an idle other CPU), a worker about to install a descriptor wakes a
//! spare for one request ([`Pool::injecting`] says why). Two more things
//! need a spare, and the event loop looks for them every [`TICK`] (every
//! [`IDLE_TICK`] while nothing happens) in [`Pool::check`]:
//! - a request that takes long (an open on a slow file system or a device
//!   that waits in open; FIFO opens and connects already run on threads of
//!   their own) would hold up every other request: when no worker is
//!   receiving and none has finished a request since the last look, a spare
//!   is unparked to receive in its place;
//! - a program whose threads ask faster than one worker answers, or a
//!   receiver lost: when two looks in a row find notifications waiting to be
//!   received (while a worker is busy, or while none receives), a spare is
//!   unparked too. (One look is not enough: with sync wake-up the program
//!   runs and asks again the moment it is answered, so a notification waits
//!   for a moment after nearly every answer.)
//!
//! A worker that finishes a request while another is receiving parks again,
//! once it has been awake for [`LINGER`], so the pool shrinks back to one
//! receiver by itself. A session that ends closes its pool ([`Pool::close`]):
//! parked workers wake and leave, and none parks again. On the request path this costs a few atomic
//! operations (and a lock only when a spare is to be woken), plus two clock
//! reads per install.

use std::sync::atomic::{
    AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed, Ordering::SeqCst,
};
use std::sync::Mutex;
use std::thread::Thread;
use std::time::{Duration, Instant};

/// How often the event loop looks at the pool while requests come in.
pub const TICK: Duration = Duration::from_millis(10);
/// How often it looks while none has come in since the last look.
pub const IDLE_TICK: Duration = Duration::from_millis(100);
/// How long an unparked worker stays a receiver before it may park again.
pub const LINGER: Duration = Duration::from_millis(50);

/// The pool's shared state.
#[derive(Debug)]
pub struct Pool {
    /// Workers in, or about to enter, `SECCOMP_IOCTL_NOTIF_RECV`.
    receiving: AtomicUsize,
    /// Workers handling a request.
    busy: AtomicUsize,
    /// Requests finished, ever.
    handled: AtomicU64,
    /// Parked workers.
    spares: Mutex<Vec<Thread>>,
    /// Workers started.
    workers: AtomicUsize,
    /// At most this many awake at once for [`Pool::asked_by`].
    parallel: AtomicUsize,
    /// The task whose request was received last.
    last_tid: AtomicU32,
    /// Spares woken by [`Pool::injecting`] that have not yet woken: they
    /// receive one request and do not linger.
    brief: AtomicUsize,
    /// How long a one-step install takes, in ns: a moving average.
    inject_ns: AtomicU64,
    /// The session ended: workers leave instead of parking.
    closed: AtomicBool,
    /// Spares woken, by cause (for `FDSUP_TIMES`, [`Pool::report`]):
    /// another task asked, an install, the event loop's look.
    woken_task: AtomicU64,
    woken_inject: AtomicU64,
    woken_look: AtomicU64,
}

/// Above this average install time (ns), [`Pool::injecting`] is worth a
/// spare's wake-up.
const SLOW_INJECT_NS: u64 = 20_000;

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

/// What the event loop remembers between two looks at the pool.
#[derive(Debug, Default)]
pub struct Look {
    handled: u64,
    /// Consecutive looks that found notifications waiting.
    waiting: u32,
}

impl Pool {
    /// An empty pool.
    pub const fn new() -> Self {
        Self {
            receiving: AtomicUsize::new(0),
            busy: AtomicUsize::new(0),
            handled: AtomicU64::new(0),
            spares: Mutex::new(Vec::new()),
            workers: AtomicUsize::new(0),
            parallel: AtomicUsize::new(2),
            last_tid: AtomicU32::new(0),
            brief: AtomicUsize::new(0),
            inject_ns: AtomicU64::new(0),
            closed: AtomicBool::new(false),
            woken_task: AtomicU64::new(0),
            woken_inject: AtomicU64::new(0),
            woken_look: AtomicU64::new(0),
        }
    }

    /// Ends the pool: every parked worker is woken, and none parks again
    /// (each looks at [`Self::is_closed`] after parking and leaves).
    pub fn close(&self) {
        self.closed.store(true, SeqCst);
        let parked = self
            .spares
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        for t in parked {
            t.unpark();
        }
    }

    /// Whether [`Self::close`] was called.
    pub fn is_closed(&self) -> bool {
        self.closed.load(SeqCst)
    }

    /// A worker leaves (the session ended).
    pub fn left(&self) {
        self.workers.fetch_sub(1, SeqCst);
    }

    /// Sets how many workers may be awake for requests of several tasks
    /// (the CPUs there are; at least 2).
    pub fn set_parallel(&self, n: usize) {
        self.parallel.store(n.max(2), SeqCst);
    }

    /// A worker starts.
    pub fn joined(&self) {
        self.workers.fetch_add(1, SeqCst);
    }

    /// A worker received a request of task `tid`. When the request before
    /// came from another task, requests of several tasks may come at once
    /// (threads, a pipeline, `make -j`), and one receiver would serve them
    /// one after the other: a spare is woken at once (it lingers for
    /// [`LINGER`]), up to one awake worker per CPU. A single-threaded program
    /// never pays this.
    pub fn asked_by(&self, tid: u32) {
        let prev = self.last_tid.swap(tid, Relaxed);
        if prev == tid || prev == 0 {
            return;
        }
        self.wake_within_limit(false);
    }

    /// Wakes a spare unless one worker per CPU is awake already; a `brief`
    /// one may park again after one request.
    fn wake_within_limit(&self, brief: bool) {
        let Ok(mut spares) = self.spares.lock() else {
            return;
        };
        let awake = self.workers.load(SeqCst).saturating_sub(spares.len());
        if awake >= self.parallel.load(SeqCst) {
            return;
        }
        if let Some(t) = spares.pop() {
            if brief {
                self.brief.fetch_add(1, SeqCst);
                self.woken_inject.fetch_add(1, Relaxed);
            } else {
                self.woken_task.fetch_add(1, Relaxed);
            }
            drop(spares);
            t.unpark();
        }
    }

    /// A worker is about to install a descriptor in the program and answer
    /// in one step (`ADDFD` with `SEND`), which returns only once the
    /// program has run to install it: meanwhile the program, answered, may
    /// ask again. If no other worker is receiving, a spare is woken to
    /// receive that request instead of the program waiting for this worker
    /// to come back. The spare does not linger: it parks after that request
    /// if this worker is receiving again, so that stats, which need no
    /// second receiver, do not pay for one.
    ///
    /// Only where installs are slow ([`Self::installed`]): the kernel wakes
    /// the program for `ADDFD` with a plain wake-up, and on a machine whose
    /// other CPU is idle that wake-up and this worker's own after the
    /// install each cross CPUs, which in the virtual machines here costs
    /// tens of µs at times: an open round trip then takes 31 µs with the
    /// spare and 65 µs without. When wake-ups are cheap (an install in a few
    /// µs), the spare's own wake-up costs more than it saves (25 µs against
    /// 18 µs), so it is not woken.
    pub fn injecting(&self) {
        if self.inject_ns.load(Relaxed) < SLOW_INJECT_NS || self.receiving.load(SeqCst) > 0 {
            return;
        }
        self.wake_within_limit(true);
    }

    /// A one-step install took `took` (from the `ADDFD` call to its return).
    pub fn installed(&self, took: Duration) {
        let ns = u64::try_from(took.as_nanos())
            .unwrap_or(u64::MAX)
            .min(10_000_000);
        let avg = self.inject_ns.load(Relaxed);
        self.inject_ns.store(avg - avg / 8 + ns / 8, Relaxed);
    }

    /// Parks the calling worker until [`Self::unpark_one`] takes it off the
    /// list (`park` may return early; that is not a wake-up).
    fn park_listed(&self) {
        let me = std::thread::current().id();
        loop {
            std::thread::park();
            let listed = self
                .spares
                .lock()
                .is_ok_and(|s| s.iter().any(|t| t.id() == me));
            if !listed || self.is_closed() {
                return;
            }
        }
    }

    /// Parks a worker that starts as a spare.
    pub fn park_spare(&self, awake: &mut Instant) {
        if let Ok(mut spares) = self.spares.lock() {
            // Under the lock, so that `close` either sees us listed or we
            // see it closed.
            if self.is_closed() {
                return;
            }
            spares.push(std::thread::current());
        }
        self.park_listed();
        *awake = self.woken();
    }

    /// A worker is about to receive.
    pub fn receiving(&self) {
        self.receiving.fetch_add(1, SeqCst);
    }

    /// A worker got a request (or gave up receiving, `got == false`).
    pub fn received(&self, got: bool) {
        if got {
            self.busy.fetch_add(1, SeqCst);
        }
        self.receiving.fetch_sub(1, SeqCst);
    }

    /// A worker answered its request.
    pub fn answered(&self) {
        self.handled.fetch_add(1, SeqCst);
        self.busy.fetch_sub(1, SeqCst);
    }

    /// Called by a worker between requests: parks it while another worker is
    /// receiving, unless it was woken less than [`LINGER`] ago. `awake` is
    /// when it was last woken (updated here).
    pub fn park_if_spare(&self, awake: &mut Instant) {
        if self.receiving.load(SeqCst) == 0 || awake.elapsed() < LINGER {
            return;
        }
        let Ok(mut spares) = self.spares.lock() else {
            return;
        };
        // Under the lock, so that `check` cannot miss us: it either sees us
        // in the list or we see its receiver gone (and `close` either sees
        // us or we see it closed).
        if self.receiving.load(SeqCst) == 0 || self.is_closed() {
            return;
        }
        spares.push(std::thread::current());
        drop(spares);
        self.park_listed();
        *awake = self.woken();
    }

    /// When a worker woken now may park again: at once if it was woken for
    /// one request ([`Self::injecting`]), else after [`LINGER`].
    fn woken(&self) -> Instant {
        let now = Instant::now();
        let brief = self
            .brief
            .fetch_update(SeqCst, SeqCst, |b| b.checked_sub(1))
            .is_ok();
        if brief {
            now.checked_sub(LINGER).unwrap_or(now)
        } else {
            now
        }
    }

    /// The event loop's look: unparks a spare when a request holds up the
    /// others, or when `waiting` says notifications wait to be received.
    /// Returns whether anything happened since the last look (to choose the
    /// next tick).
    pub fn check(&self, last: &mut Look, waiting: impl FnOnce() -> bool) -> bool {
        let handled = self.handled.load(SeqCst);
        let busy = self.busy.load(SeqCst);
        let receiving = self.receiving.load(SeqCst);
        let progressed = handled != last.handled;
        last.handled = handled;
        let stuck = busy > 0 && receiving == 0 && !progressed;
        // Notifications wait for a moment after every answer (the program
        // asks again before the worker is back in RECV): only a second look
        // in a row that finds them waiting means the worker cannot keep up.
        // Nobody busy and nobody receiving while notifications wait would
        // mean a worker was lost: that wakes a spare too.
        last.waiting = if (busy > 0 || receiving == 0) && waiting() {
            last.waiting + 1
        } else {
            0
        };
        if (stuck || last.waiting >= 2) && self.unpark_one() {
            self.woken_look.fetch_add(1, Relaxed);
            last.waiting = 0;
            return true;
        }
        progressed || busy > 0
    }

    /// Unparks one spare, if there is one.
    fn unpark_one(&self) -> bool {
        let spare = self.spares.lock().ok().and_then(|mut s| s.pop());
        match spare {
            Some(t) => {
                t.unpark();
                true
            }
            None => false,
        }
    }

    /// What the pool did, one line (requests, spares woken by cause, the
    /// install time's average), for `FDSUP_TIMES` (see `crate::timeline`).
    pub fn report(&self) -> String {
        format!(
            "fdsup: times: pool: {} requests; spares woken: {} for another task, {} for an install, {} by the event loop; install average {} ns",
            self.handled.load(SeqCst),
            self.woken_task.load(Relaxed),
            self.woken_inject.load(Relaxed),
            self.woken_look.load(Relaxed),
            self.inject_ns.load(Relaxed),
        )
    }

    /// Parked workers (for tests).
    pub fn parked(&self) -> usize {
        self.spares.lock().map_or(0, |s| s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
        let t0 = Instant::now();
        while !f() {
            assert!(t0.elapsed() < Duration::from_secs(5), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn a_worker_parks_only_while_another_receives() {
        let pool = Arc::new(Pool::new());
        let long_ago = Instant::now() - LINGER * 2;
        // Nobody receives: no parking.
        let mut awake = long_ago;
        pool.park_if_spare(&mut awake);
        assert_eq!(pool.parked(), 0);
        // Someone receives: a worker past its linger parks, and is unparked
        // by a look that finds the receiver stuck.
        pool.receiving();
        let p = Arc::clone(&pool);
        let h = std::thread::spawn(move || {
            let mut awake = long_ago;
            p.park_if_spare(&mut awake);
        });
        wait_until("the spare parks", || pool.parked() == 1);
        let mut look = Look::default();
        // The receiver gets a request and holds it: no progress since the
        // last look and nobody receiving, so the look unparks the spare.
        pool.received(true);
        assert!(pool.check(&mut look, || false));
        wait_until("the spare is unparked", || pool.parked() == 0);
        h.join().unwrap();
        pool.answered();
    }

    #[test]
    fn a_freshly_woken_worker_lingers() {
        let pool = Pool::new();
        pool.receiving();
        let mut awake = Instant::now();
        pool.park_if_spare(&mut awake);
        assert_eq!(pool.parked(), 0);
        pool.received(false);
    }

    #[test]
    fn waiting_notifications_wake_a_spare() {
        let pool = Arc::new(Pool::new());
        pool.receiving();
        let p = Arc::clone(&pool);
        let h = std::thread::spawn(move || {
            let mut awake = Instant::now() - LINGER * 2;
            p.park_if_spare(&mut awake);
        });
        wait_until("the spare parks", || pool.parked() == 1);
        let mut look = Look::default();
        pool.received(true);
        pool.answered();
        pool.receiving();
        pool.received(true);
        // Progress was made (no stuck request), but notifications wait: at
        // one look that may be a moment's, at two in a row it is a backlog.
        assert!(pool.check(&mut look, || true));
        assert_eq!(pool.parked(), 1, "one look is not enough");
        pool.answered();
        pool.receiving();
        pool.received(true);
        assert!(pool.check(&mut look, || true));
        wait_until("the spare is unparked", || pool.parked() == 0);
        h.join().unwrap();
    }

    #[test]
    fn requests_of_another_task_wake_a_spare_up_to_the_limit() {
        let pool = Arc::new(Pool::new());
        pool.set_parallel(2);
        pool.joined();
        pool.joined();
        pool.joined();
        let mut handles = Vec::new();
        for _ in 0..2 {
            let p = Arc::clone(&pool);
            handles.push(std::thread::spawn(move || {
                let mut awake = Instant::now();
                p.park_spare(&mut awake);
            }));
        }
        wait_until("both spares park", || pool.parked() == 2);
        pool.asked_by(10);
        pool.asked_by(10);
        assert_eq!(pool.parked(), 2, "one task: no spare");
        pool.asked_by(11);
        wait_until("a spare wakes", || pool.parked() == 1);
        pool.asked_by(10);
        pool.asked_by(11);
        assert_eq!(pool.parked(), 1, "two awake already: the limit");
        pool.unpark_one();
        for h in handles {
            h.join().unwrap();
        }
    }

    #[test]
    fn an_inject_wakes_a_spare_for_one_request_only() {
        let pool = Arc::new(Pool::new());
        pool.joined();
        pool.joined();
        let p = Arc::clone(&pool);
        let (tx, rx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            let mut awake = Instant::now();
            p.park_spare(&mut awake);
            tx.send(awake).unwrap();
        });
        wait_until("the spare parks", || pool.parked() == 1);
        // Someone receives: no need.
        pool.receiving();
        pool.injecting();
        assert_eq!(pool.parked(), 1);
        pool.received(true);
        // Nobody receives, but installs are fast: no spare.
        pool.injecting();
        assert_eq!(pool.parked(), 1);
        // Installs are slow: the spare is woken, and may park again at once.
        for _ in 0..32 {
            pool.installed(Duration::from_micros(60));
        }
        pool.injecting();
        let awake = rx.recv_timeout(Duration::from_secs(5)).expect("woken");
        assert!(awake.elapsed() >= LINGER, "a brief wake must not linger");
        h.join().unwrap();
        assert_eq!(pool.brief.load(SeqCst), 0);
    }

    #[test]
    fn an_idle_pool_reports_nothing() {
        let pool = Pool::new();
        let mut look = Look::default();
        assert!(!pool.check(&mut look, || true));
    }
}

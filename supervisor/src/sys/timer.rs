//! A timer that interrupts one thread: `timer_create(CLOCK_MONOTONIC)`
//! with `SIGEV_THREAD_ID`, so that its signal goes to the thread that
//! created it and nowhere else. A thread that waits in a blocking system
//! call on behalf of the program arms one to be woken every so often and
//! look whether it should still wait (see `handlers::net::wait`).

use std::io;
use std::time::Duration;

/// A per-thread interval timer; deleted when dropped.
#[derive(Debug)]
pub struct ThreadTimer {
    id: libc::timer_t,
}

impl ThreadTimer {
    /// A disarmed timer whose expiries send `sig` to the calling thread.
    pub fn new(sig: i32) -> io::Result<Self> {
        // SAFETY: sigevent is plain data; all-zero is a valid start.
        let mut ev: libc::sigevent = unsafe { std::mem::zeroed() };
        ev.sigev_notify = libc::SIGEV_THREAD_ID;
        ev.sigev_signo = sig;
        ev.sigev_notify_thread_id = super::gettid();
        let mut id: libc::timer_t = std::ptr::null_mut();
        // SAFETY: `ev` is initialised and `id` is a valid out-pointer.
        let r = unsafe { libc::timer_create(libc::CLOCK_MONOTONIC, &mut ev, &mut id) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self { id })
    }

    /// Fires after `every`, then every `every` (zero disarms).
    pub fn set(&self, every: Duration) -> io::Result<()> {
        let ts = libc::timespec {
            tv_sec: libc::time_t::try_from(every.as_secs()).unwrap_or(libc::time_t::MAX),
            tv_nsec: libc::c_long::from(every.subsec_nanos()),
        };
        let spec = libc::itimerspec {
            it_interval: ts,
            it_value: ts,
        };
        // SAFETY: `self.id` is a live timer of this process; `spec` is valid.
        let r = unsafe { libc::timer_settime(self.id, 0, &spec, std::ptr::null_mut()) };
        if r != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for ThreadTimer {
    fn drop(&mut self) {
        // SAFETY: `self.id` is a live timer that nothing else deletes.
        unsafe { libc::timer_delete(self.id) };
    }
}

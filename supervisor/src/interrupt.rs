//! Whether a signal would interrupt the system call a task is waiting in.
//!
//! With `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`, a task whose notification
//! has been received waits killably: only a fatal signal ends the wait. That
//! is what keeps an open that created a file from being interrupted after
//! the supervisor created it (and then restarted into `EEXIST`). But a
//! request that can block for long — a `connect`, a send into a full
//! socket, a FIFO open — would then ignore every other signal for as long as
//! it waits, where natively the signal interrupts it at once (`EINTR`, or a
//! restart under `SA_RESTART`).
//!
//! So the thread that carries out such a request for the program looks,
//! every so often while it waits, at the task's signal state in
//! `/proc/<tid>/status` and ends the request itself when the kernel would
//! have: the answer is then `-ERESTARTSYS`, which the kernel turns into
//! `EINTR` or a restart exactly as for its own interrupted waits (the
//! seccomp answer becomes the syscall's return value, and the signal code
//! on the way back to user space sees `-ERESTARTSYS` with the signal
//! pending). This module decides "would have":
//!
//! - a signal pending for the thread itself, not blocked, and caught (a
//!   handler) or stopping (`SIGSTOP`, or `SIGTSTP`/`SIGTTIN`/`SIGTTOU` left
//!   at their default);
//! - a signal pending for the whole process, likewise, when the kernel
//!   would have chosen this thread to take it: it is the thread-group
//!   leader (the kernel's first choice when it does not block the signal),
//!   or every other thread blocks it. Otherwise another thread takes it,
//!   and natively this thread's call is not interrupted either.
//!
//! A fatal signal needs nothing from us: it ends the killable wait itself.
//! An ignored or blocked signal interrupts nothing, natively or here.

use std::io;

/// `ERESTARTSYS` (include/linux/errno.h, kernel-internal): "interrupted;
/// restart if `SA_RESTART`, else `EINTR`".
pub const ERESTARTSYS: i32 = 512;

const fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// Signals whose default action stops the process.
const STOPPING: u64 = bit(libc::SIGTSTP) | bit(libc::SIGTTIN) | bit(libc::SIGTTOU);

/// The signal fields of one `/proc/<tid>/status`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SigState {
    /// Thread id.
    pub pid: i32,
    /// Thread-group id.
    pub tgid: i32,
    /// Pending for this thread.
    pub thread: u64,
    /// Pending for the process.
    pub shared: u64,
    /// Blocked by this thread.
    pub blocked: u64,
    /// Ignored (process-wide).
    pub ignored: u64,
    /// Caught (process-wide).
    pub caught: u64,
}

impl SigState {
    /// Parses the fields out of a status file's text.
    pub fn parse(text: &[u8]) -> Option<Self> {
        let mut s = SigState::default();
        let mut seen = 0u8;
        for line in text.split(|&c| c == b'\n') {
            let Some(colon) = line.iter().position(|&c| c == b':') else {
                continue;
            };
            let (key, val) = (&line[..colon], trim(&line[colon + 1..]));
            let hex = || {
                std::str::from_utf8(val)
                    .ok()
                    .and_then(|v| u64::from_str_radix(v, 16).ok())
            };
            let dec = || {
                std::str::from_utf8(val)
                    .ok()
                    .and_then(|v| v.parse::<i32>().ok())
            };
            match key {
                b"Pid" => s.pid = dec()?,
                b"Tgid" => s.tgid = dec()?,
                b"SigPnd" => s.thread = hex()?,
                b"ShdPnd" => s.shared = hex()?,
                b"SigBlk" => s.blocked = hex()?,
                b"SigIgn" => s.ignored = hex()?,
                b"SigCgt" => s.caught = hex()?,
                _ => continue,
            }
            seen += 1;
        }
        (seen == 7).then_some(s)
    }

    /// The pending signals of `set` that would end a wait of this thread,
    /// were it the one to take them.
    fn effective(&self, set: u64) -> u64 {
        let acting = self.caught | bit(libc::SIGSTOP) | (STOPPING & !self.ignored);
        set & !self.blocked & acting
    }

    /// Signals pending for the thread itself that interrupt it.
    pub fn own(&self) -> u64 {
        self.effective(self.thread)
    }

    /// Process-wide pending signals this thread would take, were it the
    /// one chosen.
    pub fn shared_candidates(&self) -> u64 {
        self.effective(self.shared)
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    &b[start..end]
}

fn status(path: &str) -> io::Result<SigState> {
    let text = std::fs::read(path)?;
    SigState::parse(&text).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Whether a signal would have interrupted task `tid`'s system call by now
/// (see the module docs). An unreadable status (the task is gone) is no.
pub fn signal_interrupts(tid: i32) -> bool {
    let Ok(me) = status(&format!("/proc/{tid}/status")) else {
        return false;
    };
    if me.own() != 0 {
        return true;
    }
    let shared = me.shared_candidates();
    if shared == 0 {
        return false;
    }
    // A group stop stops every thread, this one included.
    if shared & bit(libc::SIGSTOP) != 0 || me.pid == me.tgid {
        return true;
    }
    // Another thread takes it unless every other one blocks all of it.
    let Ok(dir) = std::fs::read_dir(format!("/proc/{}/task", me.tgid)) else {
        return false;
    };
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(other) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if other == tid {
            continue;
        }
        match status(&format!("/proc/{}/task/{other}/status", me.tgid)) {
            Ok(o) if shared & !o.blocked != 0 => return false,
            _ => {}
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &[u8] = b"Name:\tpython3\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t100\nNgid:\t0\nPid:\t100\nPPid:\t1\nSigQ:\t0/1000\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000002000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000001001000\nSigCgt:\t0000000100002002\n";

    #[test]
    fn parses_the_signal_fields() {
        let s = SigState::parse(STATUS).unwrap();
        assert_eq!((s.pid, s.tgid), (100, 100));
        assert_eq!(s.shared, 0x2000);
        assert_eq!(s.caught, 0x1_0000_2002);
        assert!(SigState::parse(b"Pid:\t1\n").is_none());
        assert!(SigState::parse(
            b"Pid:\tx\nTgid:\t1\nSigPnd:\t0\nShdPnd:\t0\nSigBlk:\t0\nSigIgn:\t0\nSigCgt:\t0\n"
        )
        .is_none());
    }

    #[test]
    fn caught_unblocked_signals_interrupt() {
        // SIGALRM (14) pending for the process and caught.
        let s = SigState::parse(STATUS).unwrap();
        assert_eq!(s.shared_candidates(), bit(libc::SIGALRM));
        // Blocked: no.
        let blocked = SigState {
            blocked: bit(libc::SIGALRM),
            ..s
        };
        assert_eq!(blocked.shared_candidates(), 0);
        // Not caught (default: fatal, or ignored): nothing for us to do.
        let uncaught = SigState { caught: 0, ..s };
        assert_eq!(uncaught.shared_candidates(), 0);
    }

    #[test]
    fn stop_signals_interrupt_unless_ignored() {
        let s = SigState {
            thread: bit(libc::SIGSTOP) | bit(libc::SIGTSTP),
            ..SigState::default()
        };
        assert_eq!(s.own(), bit(libc::SIGSTOP) | bit(libc::SIGTSTP));
        let ign = SigState {
            ignored: bit(libc::SIGTSTP),
            ..s
        };
        assert_eq!(ign.own(), bit(libc::SIGSTOP));
    }

    #[test]
    fn the_running_test_has_no_pending_signal() {
        assert!(!signal_interrupts(crate::sys::gettid()));
        assert!(!signal_interrupts(i32::MAX));
    }
}

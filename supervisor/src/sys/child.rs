//! Forked children that make raw system calls only: the seccomp probe of
//! `fdsup doctor` (a filter can never be removed, so it is tried in a
//! child) and, for the tests, a child that installs filters or a Landlock
//! ruleset and then makes the calls it is given.
//!
//! The child of a multi-threaded process may only make async-signal-safe
//! calls (no allocation, no locks). All the code that runs in these
//! children is here: raw system calls on memory prepared before the fork.
//! Callers pass data (the steps), never code, which is what makes these
//! wrappers safe to call from anywhere, threads or not.

use std::io;
use std::os::fd::BorrowedFd;

use rustix::process::{Pid, WaitOptions};

/// `fork()`; the child runs `child` and `_exit`s with what it returns; the
/// parent waits for it and gets its wait status.
///
/// # Safety
///
/// `child` must make async-signal-safe calls only (raw system calls, no
/// allocation, no locks, no panics), on memory prepared before the fork.
unsafe fn fork_wait(child: impl FnOnce() -> i32) -> io::Result<i32> {
    // SAFETY: the child runs `child`, which the caller vouches for, and
    // `_exit`s; it never returns into the frames it shares with the parent.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let status = child();
        // SAFETY: ends the child at once, running nothing of the parent's
        // (no atexit handlers, no destructors).
        unsafe { libc::_exit(status) }
    }
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::from_raw_os_error(libc::ECHILD))?;
    loop {
        match rustix::process::waitpid(Some(pid), WaitOptions::empty()) {
            Ok(Some((_, status))) => return Ok(status.as_raw()),
            Ok(None) => return Err(io::Error::from_raw_os_error(libc::ECHILD)),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// The errno of the system call that just failed, read without allocating.
fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// What the seccomp probe found: the listener features of the kernel.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ListenerFeatures {
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19).
    pub wait_killable_recv: bool,
    /// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6).
    pub sync_wake_up: bool,
    /// `SECCOMP_ADDFD_FLAG_SEND` (Linux 5.14).
    pub addfd_send: bool,
}

/// In a forked child: no_new_privs, an allow-all filter with a listener
/// (`WAIT_KILLABLE_RECV` if the kernel takes it), then the listener ioctls.
/// The child cannot trap itself: its filter returns ALLOW for everything.
/// `None` when the child did not get as far as a listener.
pub fn seccomp_listener_probe() -> Option<ListenerFeatures> {
    // Exit status bits of the child. `DONE` marks a child that got as far
    // as a listener; anything without it failed earlier.
    const DONE: i32 = 0x40;
    const WAIT_KILLABLE: i32 = 1;
    const SYNC_WAKE_UP: i32 = 2;
    const ADDFD_SEND: i32 = 4;
    let allow = [libc::sock_filter {
        code: 0x06, // BPF_RET | BPF_K
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    }];
    let prog = libc::sock_fprog {
        len: 1,
        filter: allow.as_ptr().cast_mut(),
    };
    let child = || {
        if rustix::thread::set_no_new_privs(true).is_err() {
            return 1;
        }
        // SAFETY: `prog` points to a live one-instruction program, which
        // the kernel only reads.
        let seccomp = |flags: libc::c_ulong| unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog,
            )
        };
        let mut bits = DONE;
        let mut fd = seccomp(
            libc::SECCOMP_FILTER_FLAG_NEW_LISTENER | libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        );
        if fd >= 0 {
            bits |= WAIT_KILLABLE;
        } else if errno() == libc::EINVAL {
            fd = seccomp(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
        }
        let Ok(fd) = libc::c_int::try_from(fd) else {
            return 2;
        };
        if fd < 0 {
            return 2;
        }
        // SAFETY: the listener is open in this child (it is never closed
        // before `_exit`) and only passed to the kernel.
        let listener = unsafe { BorrowedFd::borrow_raw(fd) };
        if super::notif_set_flags(listener, super::SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP).is_ok() {
            bits |= SYNC_WAKE_UP;
        }
        // No notification has this id: a kernel that knows the SEND flag
        // gets as far as looking it up (ENOENT); an older one refuses the
        // flag (EINVAL). Any open descriptor will do; the listener is one.
        let addfd = super::SeccompNotifAddfd {
            id: 12345,
            flags: super::SECCOMP_ADDFD_FLAG_SEND,
            srcfd: fd.unsigned_abs(),
            newfd: 0,
            newfd_flags: 0,
        };
        if super::notif_addfd(listener, &addfd)
            .is_err_and(|e| e.raw_os_error() == Some(libc::ENOENT))
        {
            bits |= ADDFD_SEND;
        }
        bits
    };
    // SAFETY: the child makes raw system calls only (rustix's are direct
    // system calls too), on `prog` and locals; it neither allocates nor
    // panics (`io::Error` from an errno does not allocate).
    let status = unsafe { fork_wait(child) }.ok()?;
    if !libc::WIFEXITED(status) {
        return None;
    }
    let bits = libc::WEXITSTATUS(status);
    (bits & DONE != 0).then_some(ListenerFeatures {
        wait_killable_recv: bits & WAIT_KILLABLE != 0,
        sync_wake_up: bits & SYNC_WAKE_UP != 0,
        addfd_send: bits & ADDFD_SEND != 0,
    })
}

/// A child for the tests: steps taken in order (filters, a Landlock
/// ruleset, an exec, raw calls with the errno each must give).
#[cfg(test)]
pub mod testing {
    use std::ffi::CStr;
    use std::io;
    use std::os::fd::{AsFd, AsRawFd, BorrowedFd};

    use super::{errno, fork_wait};

    /// An argument of a raw system call a test child makes: an integer, or the
    /// address of a static C string (the only memory a test call may name).
    #[derive(Debug, Clone, Copy)]
    pub enum Arg {
        Int(i64),
        Str(&'static CStr),
    }

    /// One step of a test child, taken in order; the child stops at the first
    /// that fails.
    #[derive(Debug, Clone, Copy)]
    pub enum Step<'a> {
        /// `prctl(PR_SET_NO_NEW_PRIVS, 1)`.
        NoNewPrivs,
        /// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`; a listener it
        /// returns is closed at once (as if its supervisor had died).
        Seccomp {
            prog: &'a [libc::sock_filter],
            flags: libc::c_ulong,
        },
        /// `landlock_restrict_self(ruleset, 0)`.
        LandlockRestrictSelf(BorrowedFd<'a>),
        /// `execve(path, [path], [])`: on success the program's exit status is
        /// the child's.
        Exec(&'a CStr),
        /// A raw system call of up to three arguments and the errno it must
        /// fail with (`None`: it must succeed). An integer the kernel takes
        /// for an address could write into the child's memory: this is why
        /// the step runner exists in tests only.
        Call {
            nr: libc::c_long,
            args: [Arg; 3],
            errno: Option<i32>,
        },
    }

    /// How a child of [`run_steps`] ended.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Outcome {
        /// Every step succeeded, and the child (or the program it executed)
        /// exited with this status.
        Exited(i32),
        /// Step `step` (from 0) failed with `errno`; for a `Call`, `errno` is
        /// what it gave (0 for a success that should have failed).
        Failed { step: usize, errno: i32 },
        /// The child, or the program it executed, was killed by this signal.
        Killed(i32),
    }

    /// Runs `steps` in a forked child and reports how it ended.
    pub fn run_steps(steps: &[Step<'_>]) -> io::Result<Outcome> {
        use rustix::pipe::{pipe_with, PipeFlags};
        // The child writes the failed step and its errno here; close-on-exec,
        // so that a program it executes does not hold it.
        let (report_r, report_w) = pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK)?;
        let report = report_w.as_fd();
        let child = || {
            for (i, step) in steps.iter().enumerate() {
                if let Some(errno) = take(step) {
                    let mut msg = [0u8; 12];
                    msg[..8].copy_from_slice(&(i as u64).to_ne_bytes());
                    msg[8..].copy_from_slice(&errno.to_ne_bytes());
                    let _ = rustix::io::write(report, &msg);
                    return 1;
                }
            }
            0
        };
        // SAFETY: the child runs `take` on the steps, raw system calls on
        // memory prepared before the fork, and one `write`.
        let status = unsafe { fork_wait(child) }?;
        drop(report_w);
        // The child has exited: a report it wrote is whole in the pipe.
        let mut msg = [0u8; 12];
        if rustix::io::read(&report_r, &mut msg).is_ok_and(|n| n == msg.len()) {
            let mut step = [0u8; 8];
            step.copy_from_slice(&msg[..8]);
            let mut errno = [0u8; 4];
            errno.copy_from_slice(&msg[8..]);
            return Ok(Outcome::Failed {
                step: usize::try_from(u64::from_ne_bytes(step)).unwrap_or(usize::MAX),
                errno: i32::from_ne_bytes(errno),
            });
        }
        if libc::WIFSIGNALED(status) {
            return Ok(Outcome::Killed(libc::WTERMSIG(status)));
        }
        Ok(Outcome::Exited(libc::WEXITSTATUS(status)))
    }

    /// Takes one step in the child: `None` when it went as it should, else the
    /// errno to report.
    fn take(step: &Step<'_>) -> Option<i32> {
        let failed = |r: libc::c_long| (r < 0).then(errno);
        match *step {
            Step::NoNewPrivs => rustix::thread::set_no_new_privs(true)
                .err()
                .map(|e| e.raw_os_error()),
            Step::Seccomp { prog, flags } => {
                let Ok(len) = u16::try_from(prog.len()) else {
                    return Some(libc::EINVAL);
                };
                let fprog = libc::sock_fprog {
                    len,
                    filter: prog.as_ptr().cast_mut(),
                };
                // SAFETY: `fprog` points to a live program of `len`
                // instructions, which the kernel only reads.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_seccomp,
                        libc::SECCOMP_SET_MODE_FILTER,
                        flags,
                        &fprog,
                    )
                };
                if r < 0 {
                    return Some(errno());
                }
                if flags & libc::SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
                    let fd = libc::c_int::try_from(r).ok()?;
                    // SAFETY: closes the listener just returned, which nothing
                    // else in this child holds.
                    if unsafe { libc::close(fd) } != 0 {
                        return Some(errno());
                    }
                }
                None
            }
            Step::LandlockRestrictSelf(ruleset) => {
                // SAFETY: integer arguments.
                failed(unsafe {
                    libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0)
                })
            }
            Step::Exec(path) => {
                let argv = [path.as_ptr(), std::ptr::null()];
                let envp = [std::ptr::null()];
                // SAFETY: NUL-terminated strings in NULL-terminated arrays that
                // live across the call; on success it does not return.
                unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
                Some(errno())
            }
            Step::Call {
                nr,
                args,
                errno: want,
            } => {
                let arg = |a: Arg| match a {
                    Arg::Int(v) => v,
                    Arg::Str(s) => i64::try_from(s.as_ptr().addr()).unwrap_or(0),
                };
                let [a, b, c] = args;
                // SAFETY: the arguments are integers or addresses of static C
                // strings, which the kernel only reads; this runs in the child
                // of a test only (see `Step::Call`).
                let got = failed(unsafe { libc::syscall(nr, arg(a), arg(b), arg(c)) });
                (got != want).then_some(got.unwrap_or(0))
            }
        }
    }
}

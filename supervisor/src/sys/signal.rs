//! Signal masks and the signalfd: the main loops of `fdsup run` and the
//! agent block the signals they handle and read them from a signalfd
//! (rustix has neither a safe signal mask nor a signalfd).
//!
//! The masks are the kernel's (`rt_sigprocmask`, `signalfd4`): 64 bits,
//! bit `n - 1` for signal `n`, with no libc `sigset_t` in between.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use super::{cvt, owned};

/// The size of the kernel's signal set (`_NSIG / 8`).
const SIGSET_BYTES: usize = 8;

/// A set of signals, as the kernel takes it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SignalSet(u64);

impl SignalSet {
    /// No signal.
    pub const fn empty() -> Self {
        Self(0)
    }

    /// Adds signal `sig` (1 to 64; any other number is ignored).
    pub fn add(&mut self, sig: i32) {
        if let Some(bit) = u32::try_from(sig).ok().and_then(|s| s.checked_sub(1)) {
            if bit < 64 {
                self.0 |= 1 << bit;
            }
        }
    }

    /// `rt_sigprocmask(SIG_BLOCK, set)` for the calling thread.
    pub fn thread_block(&self) -> io::Result<()> {
        self.sigprocmask(libc::SIG_BLOCK)
    }

    /// `rt_sigprocmask(SIG_UNBLOCK, set)` for the calling thread.
    pub fn thread_unblock(&self) -> io::Result<()> {
        self.sigprocmask(libc::SIG_UNBLOCK)
    }

    fn sigprocmask(&self, how: i32) -> io::Result<()> {
        // SAFETY: the kernel reads one set of SIGSET_BYTES from `self.0`;
        // the old set is not asked for (NULL).
        let r = unsafe {
            libc::syscall(
                libc::SYS_rt_sigprocmask,
                how,
                &self.0,
                std::ptr::null_mut::<u64>(),
                SIGSET_BYTES,
            )
        };
        cvt(r).map(drop)
    }
}

/// What a signalfd says of one signal (the fields of `struct
/// signalfd_siginfo` the main loops read).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignalInfo {
    /// `ssi_signo`.
    pub signo: u32,
    /// `ssi_code` (`SI_USER`, `SI_KERNEL`, ...).
    pub code: i32,
    /// `ssi_pid`: the sender, for a signal sent by a process.
    pub pid: u32,
}

/// `sizeof(struct signalfd_siginfo)`.
const SIGINFO_BYTES: usize = 128;

/// A non-blocking, close-on-exec signalfd.
#[derive(Debug)]
pub struct SignalFd(OwnedFd);

impl SignalFd {
    /// `signalfd4(-1, mask, SFD_NONBLOCK | SFD_CLOEXEC)`.
    pub fn new(mask: &SignalSet) -> io::Result<Self> {
        // SAFETY: the kernel reads one set of SIGSET_BYTES from `mask.0`.
        let r = unsafe {
            libc::syscall(
                libc::SYS_signalfd4,
                -1,
                &mask.0,
                SIGSET_BYTES,
                libc::SFD_NONBLOCK | libc::SFD_CLOEXEC,
            )
        };
        owned(cvt(r)?).map(Self)
    }

    /// The next pending signal; `None` when there is none (EAGAIN).
    pub fn read_signal(&self) -> io::Result<Option<SignalInfo>> {
        let mut b = [0u8; SIGINFO_BYTES];
        match rustix::io::read(&self.0, &mut b) {
            Ok(n) if n == SIGINFO_BYTES => {}
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::EIO)),
            Err(rustix::io::Errno::AGAIN) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let word = |at: usize| {
            let mut w = [0u8; 4];
            w.copy_from_slice(&b[at..at + 4]);
            w
        };
        // ssi_signo at 0, ssi_errno at 4, ssi_code at 8, ssi_pid at 12.
        Ok(Some(SignalInfo {
            signo: u32::from_ne_bytes(word(0)),
            code: i32::from_ne_bytes(word(8)),
            pid: u32::from_ne_bytes(word(12)),
        }))
    }
}

impl AsFd for SignalFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.0.as_fd()
    }
}

impl AsRawFd for SignalFd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_the_kernels_bits() {
        let mut s = SignalSet::empty();
        s.add(libc::SIGINT);
        s.add(libc::SIGCHLD);
        s.add(0);
        s.add(65);
        s.add(-3);
        assert_eq!(s.0, (1 << (libc::SIGINT - 1)) | (1 << (libc::SIGCHLD - 1)));
    }

    #[test]
    fn the_siginfo_layout_is_the_kernels() {
        assert_eq!(std::mem::size_of::<libc::signalfd_siginfo>(), SIGINFO_BYTES);
        assert_eq!(std::mem::offset_of!(libc::signalfd_siginfo, ssi_signo), 0);
        assert_eq!(std::mem::offset_of!(libc::signalfd_siginfo, ssi_code), 8);
        assert_eq!(std::mem::offset_of!(libc::signalfd_siginfo, ssi_pid), 12);
    }

    /// A signal blocked on this thread and raised at it arrives through
    /// the signalfd, with its sender.
    #[test]
    fn a_blocked_signal_is_read_from_the_signalfd() {
        // On a thread of its own: the mask is the thread's.
        std::thread::spawn(|| {
            let mut mask = SignalSet::empty();
            mask.add(libc::SIGUSR2);
            mask.thread_block().expect("block");
            let fd = SignalFd::new(&mask).expect("signalfd");
            assert_eq!(fd.read_signal().expect("read"), None);
            let me = crate::sys::gettid();
            crate::sys::tgkill(pid(), me, libc::SIGUSR2).expect("tgkill");
            let info = fd.read_signal().expect("read").expect("a signal");
            assert_eq!(info.signo, libc::SIGUSR2.unsigned_abs());
            assert_eq!(info.code, libc::SI_TKILL);
            assert_eq!(info.pid, pid().unsigned_abs());
            mask.thread_unblock().expect("unblock");
        })
        .join()
        .expect("thread");
    }

    fn pid() -> i32 {
        i32::try_from(std::process::id()).expect("pid")
    }
}

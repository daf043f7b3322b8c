//! The seccomp listener and the one type that answers its notifications.
//!
//! [`Listener::recv`] yields a [`Pending`]: a notification that must be
//! answered exactly once. Its finishers consume it; dropping it unanswered
//! replies `EACCES` (fail closed), so an early return or a panic in a handler
//! cannot leave the program blocked. This is the kernel's own discipline for
//! descriptors (reserve early, install last) carried into user space: the
//! descriptor to inject is made completely first, then `inject_and_send`
//! installs it and answers in one ioctl (`SECCOMP_ADDFD_FLAG_SEND`), after
//! which nothing can fail. `SECCOMP_USER_NOTIF_FLAG_CONTINUE` is offered only
//! as [`Pending::continue_unchecked`], for the few syscalls that cannot be
//! emulated and whose outcome does not rest on the arguments read: `execve`
//! (the kernel enforces the decision itself, with Landlock) and `chdir`
//! (see `handlers::dir`). No decision about arguments the program can still
//! change is ever carried out this way.

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::Arc;

use crate::sys;

/// The seccomp user-notification listener of one sandbox.
#[derive(Debug)]
pub struct Listener {
    fd: OwnedFd,
}

/// What a notification asks: the kernel's `struct seccomp_notif`, read-only.
pub type Notif = sys::SeccompNotif;

/// A zeroed notification, the buffer [`Listener::recv`] fills.
pub const fn notif_buffer() -> Notif {
    sys::notif_zeroed()
}

impl Listener {
    /// Takes ownership of a listener descriptor.
    pub fn new(fd: OwnedFd) -> Self {
        Self { fd }
    }

    /// Asks the kernel to wake the receiving worker on the CPU of the task
    /// that made the syscall (`SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, Linux 6.6).
    pub fn set_sync_wake_up(&self) -> io::Result<()> {
        sys::notif_set_flags(self.fd.as_fd(), sys::SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP)
    }

    /// Blocks until a notification arrives. The buffer is zeroed first (the
    /// kernel requires it) and filled with the request. The [`Pending`]
    /// holds the listener: it may be answered on another thread, after the
    /// session that received it has let go of the listener.
    pub fn recv(self: &Arc<Self>, buf: &mut Notif) -> io::Result<Pending> {
        sys::notif_recv(self.fd.as_fd(), buf)?;
        Ok(Pending {
            listener: Some(Arc::clone(self)),
            id: buf.id,
        })
    }

    /// Is notification `id` still waiting for its answer? When true, the task
    /// that sent it is alive and still in the syscall, so its pid has not been
    /// reused and what was read from its memory belonged to this request.
    pub fn id_valid(&self, id: u64) -> bool {
        sys::notif_id_valid(self.fd.as_fd(), id).is_ok()
    }

    /// Does the kernel know `SECCOMP_ADDFD_FLAG_SEND` (Linux 5.14)? Asked
    /// with an id that cannot exist: the flags are checked first (`EINVAL`
    /// when unknown), then the id (`ENOENT`).
    pub fn supports_addfd_send(&self) -> bool {
        let Ok(srcfd) = u32::try_from(self.fd.as_raw_fd()) else {
            return false;
        };
        let probe = sys::SeccompNotifAddfd {
            id: u64::MAX,
            flags: sys::SECCOMP_ADDFD_FLAG_SEND,
            srcfd,
            newfd: 0,
            newfd_flags: 0,
        };
        !matches!(
            sys::notif_addfd(self.fd.as_fd(), &probe),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL)
        )
    }

    /// True once no task uses the filter any more.
    pub fn hung_up(&self) -> bool {
        sys::listener_hung_up(self.fd.as_fd())
    }

    /// True when notifications wait for a worker to receive them.
    pub fn waiting(&self) -> bool {
        sys::listener_waiting(self.fd.as_fd())
    }

    fn send(&self, id: u64, val: i64, error: i32) {
        self.send_flags(id, val, error, 0);
    }

    fn send_flags(&self, id: u64, val: i64, error: i32, flags: u32) {
        let resp = sys::SeccompNotifResp {
            id,
            val,
            error,
            flags,
        };
        if let Err(e) = sys::notif_send(self.fd.as_fd(), &resp) {
            // ENOENT: the task was killed or interrupted meanwhile; there is
            // nobody left to answer, which is normal.
            if e.raw_os_error() != Some(libc::ENOENT) {
                crate::diag!("fdsup: answering notification {id}: {e}");
            }
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// A notification received on a [`Listener`] and not answered yet.
///
/// # Invariants
/// `id` came from `SECCOMP_IOCTL_NOTIF_RECV` on `listener` and has not been
/// answered: every path out of this value answers it exactly once — a
/// finisher, or `Drop` with `EACCES`. `listener` is `Some` until then:
/// [`Pending::disarm`] alone takes it (a value that owns its listener can
/// be answered on any thread; taking it out of an `Option` is how a
/// consuming finisher moves it out of a type with a destructor).
#[must_use = "a notification must be answered, or the program waits forever"]
#[derive(Debug)]
pub struct Pending {
    listener: Option<Arc<Listener>>,
    id: u64,
}

/// Why [`Pending::inject_and_send`] did not answer.
#[derive(Debug)]
pub enum InjectError {
    /// The notification is gone (task killed or interrupted): nothing was
    /// installed and nothing is left to answer.
    Gone,
    /// Installing failed (for instance `EMFILE` in the task); the
    /// notification is handed back so that it can still be answered.
    Failed(Pending, io::Error),
}

impl Pending {
    /// The notification id.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// See [`Listener::id_valid`].
    pub fn is_valid(&self) -> bool {
        self.listener.as_ref().is_some_and(|l| l.id_valid(self.id))
    }

    /// Answers: the syscall fails with `errno`.
    pub fn deny(self, errno: i32) {
        if let (Some(listener), id) = self.disarm() {
            listener.send(id, 0, -errno.abs());
        }
    }

    /// Answers: the kernel runs the syscall itself
    /// (`SECCOMP_USER_NOTIF_FLAG_CONTINUE`), with arguments the program may
    /// have changed since they were read. Only for a syscall whose effect the
    /// kernel itself keeps within the policy whatever the arguments (see the
    /// module docs); never to carry out a decision on what was read.
    pub fn continue_unchecked(self) {
        if let (Some(listener), id) = self.disarm() {
            listener.send_flags(id, 0, 0, sys::SECCOMP_USER_NOTIF_FLAG_CONTINUE);
        }
    }

    /// Answers: the syscall returns `val`.
    pub fn return_value(self, val: i64) {
        if let (Some(listener), id) = self.disarm() {
            listener.send(id, val, 0);
        }
    }

    /// Installs `fd` in the task and answers with its number, in one step
    /// (`SECCOMP_ADDFD_FLAG_SEND`). `cloexec` sets `O_CLOEXEC` on the new
    /// descriptor. After success nothing can fail: the program has its
    /// descriptor and its answer.
    pub fn inject_and_send(self, fd: BorrowedFd<'_>, cloexec: bool) -> Result<i32, InjectError> {
        self.addfd(fd, cloexec, None)
    }

    /// Installs `fd` in the task, closes our copy, then answers with the new
    /// number: two steps, for objects whose other end counts our copy (a
    /// FIFO: a reader the program has already closed must not still exist
    /// when it runs on). Only `SIGKILL` can end the request between the two
    /// steps when the filter waits killably, and then the task is gone with
    /// its descriptor.
    pub fn inject_then_send(self, fd: OwnedFd, cloexec: bool) -> Result<i32, InjectError> {
        match self.addfd_ioctl(fd.as_fd(), cloexec, None, false) {
            Ok(n) => {
                drop(fd);
                self.return_value(i64::from(n));
                Ok(n)
            }
            Err(e) => Err(self.not_installed(e)),
        }
    }

    /// Like [`Pending::inject_and_send`], at a chosen number in the task
    /// (`SECCOMP_ADDFD_FLAG_SETFD`): replaces whatever was there.
    pub fn inject_at_and_send(
        self,
        fd: BorrowedFd<'_>,
        cloexec: bool,
        target: crate::task::RemoteFd,
    ) -> Result<i32, InjectError> {
        self.addfd(fd, cloexec, Some(target))
    }

    /// Installs `fd` at `target` in the task (`SECCOMP_ADDFD_FLAG_SETFD`,
    /// replacing the program's descriptor there), then answers `answer`
    /// as the kernel would: a negative errno, or the value to return. Two steps, because
    /// `SECCOMP_ADDFD_FLAG_SEND` would make the syscall return the
    /// descriptor's number, and a `connect` returns 0 (or `EINPROGRESS`).
    /// Between the two steps only `SIGKILL` can end the request when the
    /// filter waits killably, and then the task is gone with its descriptor.
    /// The price: `ADDFD` is carried out by the waiting task itself, which the
    /// kernel wakes for it, so the request costs one more pair of context
    /// switches than an `ADDFD` with `SEND`.
    pub fn replace_then_reply(
        self,
        fd: BorrowedFd<'_>,
        cloexec: bool,
        target: crate::task::RemoteFd,
        answer: i64,
    ) -> Result<(), InjectError> {
        match self.addfd_ioctl(fd, cloexec, Some(target), false) {
            Ok(_) if answer >= 0 => {
                self.return_value(answer);
                Ok(())
            }
            Ok(_) => {
                self.deny(i32::try_from(-answer).unwrap_or(libc::EIO));
                Ok(())
            }
            Err(e) => Err(self.not_installed(e)),
        }
    }

    /// Installs and answers in one step (`SECCOMP_ADDFD_FLAG_SEND`).
    fn addfd(
        self,
        fd: BorrowedFd<'_>,
        cloexec: bool,
        target: Option<crate::task::RemoteFd>,
    ) -> Result<i32, InjectError> {
        match self.addfd_ioctl(fd, cloexec, target, true) {
            Ok(n) => {
                let _ = self.disarm();
                Ok(n)
            }
            Err(e) => Err(self.not_installed(e)),
        }
    }

    /// `SECCOMP_IOCTL_NOTIF_ADDFD` of `fd` for this notification: at
    /// `target` (`SECCOMP_ADDFD_FLAG_SETFD`) or the lowest free number, and
    /// answering with that number at once if `send`.
    fn addfd_ioctl(
        &self,
        fd: BorrowedFd<'_>,
        cloexec: bool,
        target: Option<crate::task::RemoteFd>,
        send: bool,
    ) -> io::Result<i32> {
        let srcfd =
            u32::try_from(fd.as_raw_fd()).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
        let mut flags = if send {
            sys::SECCOMP_ADDFD_FLAG_SEND
        } else {
            0
        };
        let newfd = match target {
            Some(t) => {
                flags |= sys::SECCOMP_ADDFD_FLAG_SETFD;
                t.as_u32()
            }
            None => 0,
        };
        let Some(listener) = &self.listener else {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        };
        let addfd = sys::SeccompNotifAddfd {
            id: self.id,
            flags,
            srcfd,
            newfd,
            newfd_flags: if cloexec {
                libc::O_CLOEXEC.unsigned_abs()
            } else {
                0
            },
        };
        sys::notif_addfd(listener.as_fd(), &addfd)
    }

    /// What a failed `ADDFD` leaves: nothing to answer when the request is
    /// gone (`ENOENT`), else the request, still to be answered.
    fn not_installed(self, e: io::Error) -> InjectError {
        if e.raw_os_error() == Some(libc::ENOENT) {
            let _ = self.disarm();
            InjectError::Gone
        } else {
            InjectError::Failed(self, e)
        }
    }

    /// The only place the destructor is skipped: the caller answers.
    fn disarm(mut self) -> (Option<Arc<Listener>>, u64) {
        (self.listener.take(), self.id)
    }
}

impl Drop for Pending {
    /// Answers first: the program must never wait on a diagnostic (which
    /// cannot fail either, see [`crate::diag`]).
    fn drop(&mut self) {
        if let Some(listener) = self.listener.take() {
            listener.send(self.id, 0, -libc::EACCES);
            crate::diag!("fdsup: notification {} left unanswered; denied it", self.id);
        }
    }
}

//! What the network handlers read of the program's socket and its
//! descriptor: its type, its file status flags, its send timeout, whether
//! the descriptor is close-on-exec. Apart from [`super::connect`] so that
//! `connect`, `broker` and `send`, which all ask, depend on it and not on
//! each other.

use std::os::fd::BorrowedFd;
use std::time::Duration;

use crate::sys::{self, net as sn};
use crate::task::{RemoteFd, Task};

/// The socket's type (`SO_TYPE`: `SOCK_STREAM`, `SOCK_DGRAM`, ...); 0 if
/// unknown.
pub(super) fn sock_type(sock: BorrowedFd<'_>) -> i32 {
    sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_TYPE).unwrap_or(0)
}

/// Whether the socket's open file is non-blocking (`O_NONBLOCK`).
pub(super) fn nonblocking(sock: BorrowedFd<'_>) -> bool {
    sys::getfl(sock).is_ok_and(|f| f & libc::O_NONBLOCK != 0)
}

/// The socket's send timeout (`SO_SNDTIMEO`; zero: none), read where a
/// wait starts: the wait ends there ([`super::wait::Waiter::time_out_after`]),
/// and a socket with one answers an interrupted wait `EINTR` rather than
/// restart it.
pub(super) fn send_timeout(sock: BorrowedFd<'_>) -> Duration {
    sn::send_timeout(sock).unwrap_or_default()
}

/// Whether the program's descriptor `fd` is close-on-exec
/// (`/proc/<tid>/fdinfo/<fd>`, `flags:` in octal).
pub(super) fn fd_cloexec(task: &Task, fd: RemoteFd) -> bool {
    let path = format!("/proc/{}/fdinfo/{}", task.tid(), fd.get());
    let Ok(text) = crate::own_caps::with(|| std::fs::read(path)) else {
        return false;
    };
    text.split(|&c| c == b'\n')
        .find_map(|l| l.strip_prefix(b"flags:"))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .is_some_and(|f| f & libc::O_CLOEXEC.unsigned_abs() != 0)
}

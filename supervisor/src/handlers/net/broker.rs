//! Under `isolate`, the program lives in an empty network namespace; an
//! allowed `connect` of an IP or abstract Unix address is **brokered**: the
//! supervisor makes a socket of the same domain, type and protocol in its
//! own namespace (with the program's `O_NONBLOCK` and a few options
//! copied), connects it, and installs it over the program's descriptor at
//! the same number (`SECCOMP_ADDFD_FLAG_SETFD`, with the program's
//! close-on-exec flag), then answers 0 or `EINPROGRESS`. The first send
//! with an address from a datagram socket the program has not bound is
//! brokered the same way ([`DatagramTwin`]: the twin sends it, waiting
//! for room if the program's socket is blocking, and the answer is the
//! byte count). A socket already in fdsup's namespace
//! (brokered before) is used as it is.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::super::Reply;
use super::addr::{is_loopback, SUN_PATH};
use super::errno_of;
use super::socket::{fd_cloexec, nonblocking, send_timeout};
use super::wait::{connect_timed_out, interrupted, Deferred, Stop, Waiter};
use crate::sys::{self, net as sn};
use crate::task::RemoteFd;

/// Options copied from the program's socket to a brokered one, before it
/// connects: those that change how a connection is made or behaves.
const COPIED: &[(i32, i32)] = &[
    (libc::SOL_SOCKET, libc::SO_REUSEADDR),
    (libc::SOL_SOCKET, libc::SO_REUSEPORT),
    (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
    (libc::SOL_SOCKET, libc::SO_BROADCAST),
    (libc::SOL_SOCKET, libc::SO_OOBINLINE),
    (libc::SOL_SOCKET, libc::SO_PASSCRED),
    (libc::SOL_SOCKET, libc::SO_SNDBUF),
    (libc::SOL_SOCKET, libc::SO_RCVBUF),
    (libc::IPPROTO_TCP, libc::TCP_NODELAY),
    (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
];

/// How long a worker waits for a brokered loopback connection before the
/// rest of the wait goes to a thread of its own.
const INLINE_WAIT_MS: i32 = 2;

/// Whether `sock` belongs to fdsup's own network namespace: a socket
/// brokered before (or passed in from outside), on which requests are
/// carried out as they are without isolation.
pub(super) fn in_our_netns(sock: BorrowedFd<'_>) -> bool {
    // By the namespaces' cookies, which need no privilege (a socket of our
    // own, made once, gives ours); by `SIOCGSKNS` where the kernel has
    // none (before 5.14).
    // A failure to learn ours is not kept (it may be a passing EMFILE).
    static COOKIE: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let ours = COOKIE.get().copied().or_else(|| {
        let c = sn::socket(libc::AF_UNIX, libc::SOCK_DGRAM, 0)
            .and_then(|s| sn::netns_cookie(s.as_fd()))
            .ok()?;
        Some(*COOKIE.get_or_init(|| c))
    });
    if let (Some(a), Ok(b)) = (ours, sn::netns_cookie(sock)) {
        return a == b;
    }
    static OURS: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata("/proc/self/ns/net")
            .ok()
            .map(|m| (m.dev(), m.ino()))
    });
    let theirs = sn::socket_netns(sock).and_then(|ns| sn::dev_ino(ns.as_fd()));
    matches!((ours, theirs), (Some(a), Ok(b)) if *a == b)
}

/// A socket like the program's `p` (domain, type, protocol, the options of
/// [`COPIED`], its send timeout) made in fdsup's namespace, non-blocking
/// whatever `p` is; with whether `p` is non-blocking, and its send timeout
/// (zero: none).
fn twin(p: BorrowedFd<'_>, domain: i32) -> Result<(OwnedFd, bool, Duration), Reply> {
    let opt = |o| sn::getsockopt_int(p, libc::SOL_SOCKET, o);
    let (Ok(ty), Ok(proto)) = (opt(libc::SO_TYPE), opt(libc::SO_PROTOCOL)) else {
        return Err(Reply::Errno(libc::ENOTSOCK));
    };
    let nb = nonblocking(p);
    let ours = sn::socket(domain, ty | libc::SOCK_NONBLOCK, proto)
        .map_err(|e| Reply::Errno(errno_of(&e)))?;
    for &(level, name) in COPIED {
        // Copied where they differ from a new socket's (the kernel
        // doubles a buffer size set, so one is set as half of what it
        // reads back).
        let (Ok(v), Ok(fresh)) = (
            sn::getsockopt_int(p, level, name),
            sn::getsockopt_int(ours.as_fd(), level, name),
        ) else {
            continue;
        };
        if v != fresh {
            let v = if matches!(name, libc::SO_SNDBUF | libc::SO_RCVBUF) {
                v / 2
            } else {
                v
            };
            let _ = sn::setsockopt_int(ours.as_fd(), level, name, v);
        }
    }
    let timeout = send_timeout(p);
    if !timeout.is_zero() {
        let _ = sn::set_send_timeout(ours.as_fd(), timeout);
    }
    Ok((ours, nb, timeout))
}

/// Sets our `fd` blocking (the program's socket was), before it becomes
/// the program's.
fn set_blocking(fd: BorrowedFd<'_>) -> Result<(), Reply> {
    let fl = sys::getfl(fd).unwrap_or(libc::O_RDWR);
    sn::setfl(fd, fl & !libc::O_NONBLOCK).map_err(|e| Reply::Errno(errno_of(&e)))
}

/// The answer that installs `fd` over the program's `rfd` and returns
/// `answer` (a value, or a negative errno).
fn installed(fd: OwnedFd, rfd: RemoteFd, cloexec: bool, nb: bool, answer: i64) -> Reply {
    if !nb {
        if let Err(r) = set_blocking(fd.as_fd()) {
            return r;
        }
    }
    Reply::Replace {
        fd,
        target: rfd,
        cloexec,
        answer,
    }
}

/// Brokers an allowed `connect`: a socket made and connected in the
/// supervisor's namespace replaces the program's.
pub(super) fn broker(
    prog: OwnedFd,
    rfd: RemoteFd,
    domain: i32,
    addr: Vec<u8>,
    cloexec: bool,
) -> Reply {
    let p = prog.as_fd();
    if sn::has_peer(p) {
        return Reply::Errno(libc::EISCONN);
    }
    // A listener is not replaced: its `connect` fails, TCP's with
    // `EISCONN`, a Unix one's with `EINVAL` (found in review: a listening
    // socket's connect to an allowed address outside was brokered and the
    // listener closed).
    if sn::getsockopt_int(p, libc::SOL_SOCKET, libc::SO_ACCEPTCONN).is_ok_and(|v| v != 0) {
        return Reply::Errno(if domain == libc::AF_UNIX {
            libc::EINVAL
        } else {
            libc::EISCONN
        });
    }
    let (ours, nb, timeout) = match twin(p, domain) {
        Ok(t) => t,
        Err(r) => return r,
    };
    drop(prog);
    match sn::connect(ours.as_fd(), &addr) {
        Ok(()) => installed(ours, rfd, cloexec, nb, 0),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) && nb => {
            installed(ours, rfd, cloexec, nb, -i64::from(libc::EINPROGRESS))
        }
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            if is_loopback(&addr) {
                if let Ok(true) = sn::poll_out(ours.as_fd(), INLINE_WAIT_MS) {
                    return match so_error(ours.as_fd()) {
                        0 => installed(ours, rfd, cloexec, nb, 0),
                        e => Reply::Errno(e),
                    };
                }
            }
            Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
                // The program's timeout, which the poll does not know.
                w.time_out_after(timeout);
                match wait_connected(w, ours.as_fd()) {
                    Ok(0) => installed(ours, rfd, cloexec, nb, 0),
                    Ok(e) => Reply::Errno(e),
                    Err(Stop::Gone) => Reply::Gone,
                    Err(Stop::Signal) => interrupted(!timeout.is_zero()),
                    // The connection goes on, on the socket the program
                    // gets, as its own would have.
                    Err(Stop::Timeout) => {
                        installed(ours, rfd, cloexec, nb, -i64::from(libc::EINPROGRESS))
                    }
                }
            }))
        }
        // An abstract Unix listener with a full backlog: a blocking connect
        // waits for room.
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && !nb => {
            Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
                if let Err(r) = set_blocking(ours.as_fd()) {
                    return r;
                }
                w.time_out_after(timeout);
                match super::wait::until_done(w, || sn::connect(ours.as_fd(), &addr)) {
                    Ok(Ok(())) => installed(ours, rfd, cloexec, nb, 0),
                    Ok(Err(e)) => Reply::Errno(errno_of(&e)),
                    Err(Stop::Gone) => Reply::Gone,
                    Err(Stop::Signal) => interrupted(!timeout.is_zero()),
                    // Still full: the program's socket stays unconnected.
                    Err(Stop::Timeout) => connect_timed_out(domain),
                }
            }))
        }
        Err(e) => Reply::Errno(errno_of(&e)),
    }
}

/// Waits for the connection our non-blocking `sock` has in progress: its
/// outcome (0 or an errno).
fn wait_connected(w: &mut Waiter<'_>, sock: BorrowedFd<'_>) -> Result<i32, Stop> {
    loop {
        match sn::poll_out(sock, -1) {
            Ok(true) => return Ok(so_error(sock)),
            Ok(false) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {
                if let Some(stop) = w.check() {
                    return Err(stop);
                }
            }
            Err(e) => return Ok(errno_of(&e)),
        }
    }
}

/// The outcome of a finished connect (`SO_ERROR`): 0 or an errno.
fn so_error(sock: BorrowedFd<'_>) -> i32 {
    match sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(e) => e,
        Err(e) => errno_of(&e),
    }
}

/// A twin made for a datagram socket that is still the program's own,
/// unbound and unconnected (a UDP client that does not `connect`), when it
/// first sends to an allowed address: the twin, in fdsup's namespace,
/// sends instead and then replaces the program's socket
/// ([`DatagramTwin::install`]). Replies then reach the program on it.
pub(super) struct DatagramTwin {
    /// Ours, to send on.
    pub fd: OwnedFd,
    rfd: RemoteFd,
    cloexec: bool,
    nb: bool,
    /// The program's send timeout (zero: none), which the twin has too.
    pub timeout: Duration,
}

impl DatagramTwin {
    /// Makes the twin blocking, as the program's socket is, so that a send
    /// on it waits for room (on a thread of its own).
    pub fn to_blocking(&self) -> Result<(), Reply> {
        set_blocking(self.fd.as_fd())
    }

    /// Installs the twin over the program's socket; the syscall returns
    /// `answer`.
    pub fn install(self, answer: usize) -> Reply {
        installed(
            self.fd,
            self.rfd,
            self.cloexec,
            self.nb,
            i64::try_from(answer).unwrap_or(i64::MAX),
        )
    }
}

/// The [`DatagramTwin`] for the program's `sock` (of type `ty`), if it is
/// such a socket;
/// `None` when it is not (bound, connected, a stream, brokered before).
pub(super) fn datagram_twin(
    task: &crate::task::Task,
    sock: BorrowedFd<'_>,
    rfd: RemoteFd,
    domain: i32,
    ty: i32,
) -> Option<Result<DatagramTwin, Reply>> {
    if ty != libc::SOCK_DGRAM || in_our_netns(sock) || sn::has_peer(sock) {
        return None;
    }
    // Bound (a port, or a Unix name): its address would be lost.
    let name = sn::local_name(sock).ok()?;
    let unbound = match domain {
        libc::AF_INET | libc::AF_INET6 => name.get(2..4) == Some(&[0, 0]),
        libc::AF_UNIX => name.len() <= SUN_PATH,
        _ => false,
    };
    if !unbound {
        return None;
    }
    let cloexec = fd_cloexec(task, rfd);
    Some(twin(sock, domain).map(|(fd, nb, timeout)| DatagramTwin {
        fd,
        rfd,
        cloexec,
        nb,
        timeout,
    }))
}

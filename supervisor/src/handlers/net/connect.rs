//! `connect` and `bind`, carried out on the program's own socket or, under
//! `isolate`, brokered by a socket made in fdsup's namespace.
//!
//! A blocking `connect` is made as a blocking call, never by setting
//! `O_NONBLOCK` on the program's socket (its file status flags are shared
//! with its other threads, which would see spurious `EAGAIN`): the worker
//! makes it with a short interrupt timer armed ([`INLINE_WAIT`]); a loopback
//! connection is made by then, and one that is not (a remote host, a full
//! listen backlog) goes on on a thread of its own ([`super::wait`]), where
//! calling `connect` again waits for the connection in progress, as the
//! kernel's own restart of an interrupted `connect` does.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use super::super::{Program, Reply, Scratch};
use super::addr::{is_loopback, read_addr, SUN_PATH};
use super::decide::{decide_bind, decide_dest, log_inside, BindPlan, Route};
use super::socket::{fd_cloexec, nonblocking, send_timeout, sock_type};
use super::wait::{
    connect_timed_out, interrupted, until_done, Deferred, Stop, Waiter, WAKE_SIGNAL,
};
use super::{errno_of, Req};
use crate::sys::{net as sn, timer::ThreadTimer};
use crate::task::RemoteFd;

/// How long a worker waits in a blocking `connect` before the rest of the
/// wait goes to a thread of its own.
pub const INLINE_WAIT: Duration = Duration::from_millis(2);

/// The program's socket `fd`, fetched; its domain.
pub(super) fn fetch_socket<P: Program>(
    req: &mut Req<'_, P>,
    fd: u64,
) -> Result<(RemoteFd, OwnedFd, i32), Reply> {
    let rfd = RemoteFd::from_arg(fd).ok_or(Reply::Errno(libc::EBADF))?;
    let sock = req.p.get_fd(rfd).map_err(|e| {
        Reply::Errno(if e.raw_os_error() == Some(libc::EBADF) {
            libc::EBADF
        } else {
            libc::ESRCH
        })
    })?;
    let domain = sn::getsockopt_int(sock.as_fd(), libc::SOL_SOCKET, libc::SO_DOMAIN)
        .map_err(|e| Reply::Errno(errno_of(&e)))?;
    Ok((rfd, sock, domain))
}

/// After fdsup bound an `AF_UNIX` socket: the abstract name it now holds is
/// the sandbox's own.
fn note_bound_name<P: Program>(req: &Req<'_, P>, sock: BorrowedFd<'_>, domain: i32) {
    if domain != libc::AF_UNIX {
        return;
    }
    if let Ok(name) = sn::local_name(sock) {
        if name.len() > SUN_PATH && name[SUN_PATH] == 0 {
            req.ctx.own.add_name(sock, &name[SUN_PATH + 1..]);
        }
    }
}

/// Whether an `AF_UNIX` socket has no name yet (before a send that may
/// autobind it). Only such a socket's name after the send is its own: an
/// accepted socket reports its listener's name, which it does not hold
/// (found in review: a listener closed, its name taken by an outside
/// server, then "own" through the accepted socket's send).
pub(super) fn unnamed(sock: BorrowedFd<'_>, domain: i32) -> bool {
    domain == libc::AF_UNIX && sn::local_name(sock).is_ok_and(|n| n.len() <= SUN_PATH)
}

/// After a send on an `AF_UNIX` socket that was [`unnamed`]: the abstract
/// name the kernel's autobind gave it is the sandbox's own.
pub(super) fn note_autobind<P: Program>(req: &Req<'_, P>, sock: BorrowedFd<'_>, was_unnamed: bool) {
    if was_unnamed {
        note_bound_name(req, sock, libc::AF_UNIX);
    }
}

pub(super) fn bind<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    fd: u64,
    ptr: u64,
    len: u64,
) -> Reply {
    let a = match read_addr(&*req.p, ptr, len) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (_, sock, domain) = match fetch_socket(req, fd) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if !req.valid() {
        return Reply::Gone;
    }
    let inside = req.ctx.policy.network.isolate && !super::broker::in_our_netns(sock.as_fd());
    let plan = match decide_bind(req, sc, &a, domain, inside) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let r = match plan {
        BindPlan::Plain(bytes) => {
            let tid = req.p.task().tid();
            if let Err(r) = super::lend::bind_port(tid, sock.as_fd(), domain, &bytes) {
                return r;
            }
            // The capabilities read were the task's only if it still asks.
            if !req.valid() {
                return Reply::Gone;
            }
            if domain == libc::AF_NETLINK {
                match super::lend::as_program(tid, sock.as_fd()) {
                    Ok(_caps) => sn::bind(sock.as_fd(), &bytes),
                    Err(e) => return Reply::Errno(e),
                }
            } else {
                sn::bind(sock.as_fd(), &bytes)
            }
        }
        BindPlan::UnixPath {
            dir,
            name,
            path,
            asked,
        } => {
            let umask = match req.p.umask() {
                Ok(m) => m,
                Err(_) => return Reply::Errno(libc::EACCES),
            };
            // Made this thread's, for the plain way's `bind`: the kernel's
            // `unix_bind` applies it as natively (`crate::fs::umask`).
            if let Err(e) = crate::fs::umask::take(umask) {
                return Reply::Errno(crate::sys::errno_of(&e));
            }
            // The binder resolves the canonical path in fdsup's own mount
            // namespace, where a container's directory is not: a container's
            // socket is bound the plain way (the name recorded is then
            // `/proc/self/fd/N/name`, see `binder`).
            let own_root = matches!(req.ctx.roots, super::super::Roots::Own(_));
            let r = super::binder::bind_path(
                sock.as_fd(),
                dir.as_fd(),
                &name,
                &path,
                &asked,
                umask,
                own_root,
            );
            if r.is_ok() {
                req.ctx.own.bound_file(
                    sock.as_fd(),
                    super::broker::in_our_netns(sock.as_fd()),
                    std::os::fd::AsRawFd::as_raw_fd(&dir),
                    &name,
                );
            }
            r
        }
    };
    if r.is_ok() {
        note_bound_name(req, sock.as_fd(), domain);
    }
    super::super::path::done(r)
}

pub(super) fn connect<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    fd: u64,
    ptr: u64,
    len: u64,
) -> Reply {
    let a = match read_addr(&*req.p, ptr, len) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (rfd, sock, domain) = match fetch_socket(req, fd) {
        Ok(s) => s,
        Err(r) => return r,
    };
    if domain == libc::AF_NETLINK {
        // Nothing to decide (the kernel or another port): connected with
        // the program's capabilities (`lend::AsProgram`).
        let tid = req.p.task().tid();
        let caps = match super::lend::as_program(tid, sock.as_fd()) {
            Ok(c) => c,
            Err(e) => return Reply::Errno(e),
        };
        if !req.valid() {
            return Reply::Gone;
        }
        let r = sn::connect(sock.as_fd(), a.bytes());
        drop(caps);
        return super::super::path::done(r);
    }
    let isolate = req.ctx.policy.network.isolate;
    let cloexec = if isolate {
        fd_cloexec(req.p.task(), rfd)
    } else {
        false
    };
    if !req.valid() {
        return Reply::Gone;
    }
    let ty = sock_type(sock.as_fd());
    let target = match decide_dest(req, sc, &a, sock.as_fd(), domain, ty) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let ours = isolate && super::broker::in_our_netns(sock.as_fd());
    let dgram = ty == libc::SOCK_DGRAM;
    // A blocking connect while one is in progress waits for it, and says
    // `EALREADY` when its send timeout passes first.
    let again = ty == libc::SOCK_STREAM && connecting(sock.as_fd());
    match target.route {
        // A datagram socket brokered before connects again as it is; a
        // stream socket brokered before is connected already (`EISCONN`),
        // or failed and is brokered afresh.
        Route::Broker if !(ours && dgram) => {
            return super::broker::broker(sock, rfd, domain, target.bytes, cloexec);
        }
        // Only inside the program's namespace, which this socket has left.
        Route::Local if ours => {
            if let Some(inside) = &target.refused {
                log_inside(req, sc, inside, true, libc::ECONNREFUSED);
            }
            return Reply::Errno(libc::ECONNREFUSED);
        }
        Route::InsideFirst if !ours => {
            let tried = try_connect(sc, sock.as_fd(), &target.bytes, true);
            return match tried {
                // Nothing of the sandbox's listens there: out, as allowed.
                Tried::Refused | Tried::RefusedPending => {
                    super::broker::broker(sock, rfd, domain, target.bytes, cloexec)
                }
                // The inside try could not finish at once (a loaded
                // machine): it goes on on a thread, and out from there if
                // refused.
                Tried::Wait => Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
                    let timeout = send_timeout(sock.as_fd());
                    w.time_out_after(timeout);
                    match until_done(w, || {
                        crate::creds::as_peer(|| sn::connect(sock.as_fd(), &target.bytes))
                    }) {
                        Ok(Err(e)) if e.raw_os_error() == Some(libc::ECONNREFUSED) => {
                            match super::broker::broker(sock, rfd, domain, target.bytes, cloexec) {
                                // Already on a thread of its own: wait here.
                                Reply::Deferred(job) => job.run(w),
                                r => r,
                            }
                        }
                        r => waited(r, domain, timeout, again),
                    }
                })),
                tried => finish_tried(tried, sock, domain, target.bytes, target.hold, again),
            };
        }
        _ => {}
    }
    let tried = try_connect(sc, sock.as_fd(), &target.bytes, target.refused.is_some());
    if let Some(inside) = &target.refused {
        // Carried inside only: refused by the kernel unless one of the
        // sandbox's own servers took it.
        let refused = matches!(tried, Tried::Refused | Tried::RefusedPending);
        log_inside(req, sc, inside, refused, libc::ECONNREFUSED);
    }
    finish_tried(tried, sock, domain, target.bytes, target.hold, again)
}

/// Whether a TCP connection is in progress on `sock` (`SYN_SENT` or
/// `SYN_RECV`): a `connect` now is a second one. The first bytes of
/// `TCP_INFO` are the state; any other socket answers an error: no.
fn connecting(sock: BorrowedFd<'_>) -> bool {
    const TCP_SYN_SENT: i32 = 2;
    const TCP_SYN_RECV: i32 = 3;
    sn::getsockopt_int(sock, libc::IPPROTO_TCP, libc::TCP_INFO)
        .is_ok_and(|v| matches!(v & 0xff, TCP_SYN_SENT | TCP_SYN_RECV))
}

/// What a first try of a `connect` gave.
enum Tried {
    /// `ECONNREFUSED`: nothing listens there.
    Refused,
    /// A non-blocking connect in progress, already refused: nothing
    /// listens there, and the program finds `ECONNREFUSED` pending on its
    /// socket, as natively.
    RefusedPending,
    /// The answer.
    Answer(Reply),
    /// A blocking connect that goes on: it is waited for on a thread.
    Wait,
}

/// Connects the program's `sock` to `addr` as its own `connect` would, as
/// far as can be done without waiting: at once when non-blocking, else
/// blocking for [`INLINE_WAIT`] on the worker. With `probe`, a
/// non-blocking loopback connection in progress is looked at for a moment
/// (`poll`, which leaves the socket's pending error where it is) so that a
/// refusal is known; without, nothing is looked at.
fn try_connect(sc: &mut Scratch, sock: BorrowedFd<'_>, addr: &[u8], probe: bool) -> Tried {
    let refused = |e: &std::io::Error| e.raw_os_error() == Some(libc::ECONNREFUSED);
    if nonblocking(sock) {
        return match crate::creds::as_peer(|| sn::connect(sock, addr)) {
            Err(e) if refused(&e) => Tried::Refused,
            Err(e) if probe && e.raw_os_error() == Some(libc::EINPROGRESS) && is_loopback(addr) => {
                // Refused or not, the error stays pending: the program
                // learns the outcome itself, as natively.
                match sn::poll_out_err(sock, 1) {
                    Ok(Some(true)) => Tried::RefusedPending,
                    _ => Tried::Answer(Reply::Errno(libc::EINPROGRESS)),
                }
            }
            r => Tried::Answer(super::super::path::done(r)),
        };
    }
    match with_inline_timer(sc, || crate::creds::as_peer(|| sn::connect(sock, addr))) {
        Some(Err(e)) if e.raw_os_error() == Some(libc::EINTR) => Tried::Wait,
        Some(Err(e)) if refused(&e) => Tried::Refused,
        Some(r) => Tried::Answer(super::super::path::done(r)),
        // No timer: wait on a thread from the start.
        None => Tried::Wait,
    }
}

/// The answer to a tried `connect`: as it came, or the rest of a blocking
/// one waited for on a thread of its own, where calling `connect` again
/// waits for the connection in progress.
fn finish_tried(
    tried: Tried,
    sock: OwnedFd,
    domain: i32,
    addr: Vec<u8>,
    hold: Option<OwnedFd>,
    again: bool,
) -> Reply {
    match tried {
        Tried::Refused => Reply::Errno(libc::ECONNREFUSED),
        Tried::RefusedPending => Reply::Errno(libc::EINPROGRESS),
        Tried::Answer(r) => r,
        Tried::Wait => Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
            let timeout = send_timeout(sock.as_fd());
            w.time_out_after(timeout);
            let r = until_done(w, || {
                crate::creds::as_peer(|| sn::connect(sock.as_fd(), &addr))
            });
            drop(hold);
            waited(r, domain, timeout, again)
        })),
    }
}

/// The answer to a blocking `connect` waited for on a socket of `domain`
/// with send timeout `timeout` (zero: none); `again`: a connection was in
/// progress when it was called.
fn waited(
    r: Result<std::io::Result<()>, Stop>,
    domain: i32,
    timeout: Duration,
    again: bool,
) -> Reply {
    // The send timeout passed: a first connect's connection goes on
    // ([`connect_timed_out`]); a second one, called while a connection was in
    // progress, answers the `EALREADY` that `__inet_stream_connect` set
    // before it waited.
    let timed_out = || {
        if again {
            Reply::Errno(libc::EALREADY)
        } else {
            connect_timed_out(domain)
        }
    };
    match r {
        // A call again on a connection in progress says `EALREADY` when its
        // own wait timed out (the deadline came late): the program's one
        // call timed out.
        Ok(Err(e)) if e.raw_os_error() == Some(libc::EALREADY) && !timeout.is_zero() => timed_out(),
        Ok(r) => super::super::path::done(r),
        Err(Stop::Gone) => Reply::Gone,
        Err(Stop::Signal) => interrupted(!timeout.is_zero()),
        Err(Stop::Timeout) => timed_out(),
    }
}

/// Runs `call` on the worker with its interrupt timer armed for
/// [`INLINE_WAIT`], so that a call that would block longer fails with
/// `EINTR`. `None` when the worker has no timer.
fn with_inline_timer<T>(sc: &mut Scratch, call: impl FnOnce() -> T) -> Option<T> {
    if sc.timer.is_none() {
        sc.timer = ThreadTimer::new(WAKE_SIGNAL).ok();
    }
    let t = sc.timer.as_ref()?;
    t.set(INLINE_WAIT).ok()?;
    let r = call();
    // A tick that came meanwhile is delivered (to an empty handler) at the
    // latest when this call returns: it cannot interrupt a later one.
    let _ = t.set(Duration::ZERO);
    Some(r)
}

//! Network requests: `connect`, `bind`, and every send with a destination
//! address (`sendto`, `sendmsg`, `sendmmsg`; TCP Fast Open is a send with an
//! address), for `AF_INET`, `AF_INET6` and `AF_UNIX` (path and abstract).
//!
//! They are trapped whatever the policy says: a Unix socket path is a path,
//! which the file system rules decide even where the network section allows
//! everything ([`decide`]), and `--log` sees every connection.
//!
//! Each request is read once — the address, and for `sendmsg` the
//! `msghdr`, its iovecs and their bytes, its control messages — then
//! `ID_VALID` vouches for what was read, the address is decided
//! ([`decide`]: the network rules, last matching rule wins; for a Unix path
//! the file system rules first), and the request is **carried out by the
//! supervisor** on the program's own socket, fetched with `pidfd_getfd` (the
//! same open file description), with the copied bytes.
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE` is never used here: a racing thread
//! that rewrites the `sockaddr` after it was read changes nothing, since the
//! kernel never looks at the program's copy.
//!
//! The parts:
//! - [`addr`]: reading and parsing addresses;
//! - [`decide`]: the policy's word, and where a request is carried out;
//! - [`own`]: the Unix sockets the sandbox bound itself; [`inside`]: its
//!   own listeners in its own namespace under `isolate`;
//! - [`connect`]: `connect` and `bind`; [`binder`] binds a Unix path under
//!   the name the program gave;
//! - [`broker`]: connections made from fdsup's namespace under `isolate`;
//! - [`send`]: the sends and their control messages;
//! - [`wait`]: requests that wait, on threads of their own, ended by a
//!   signal as the kernel would end them.
//!
//! A denied `connect` fails with `ECONNREFUSED`, every other denial with
//! `EACCES`. `redirect` replaces the address (an IPv4 target on an IPv6
//! socket is written v4-mapped); the target must be of the socket's family,
//! or the request fails with `EAFNOSUPPORT`.
//!
//! What the kernel learns of the peer is the supervisor's: a Unix socket
//! connected or sent on by fdsup carries fdsup's credentials
//! (`SO_PEERCRED`, `SCM_CREDENTIALS` added by `SO_PASSCRED`), since the
//! kernel takes them from the task that makes the call (README, limits).

mod addr;
mod binder;
mod broker;
mod connect;
mod decide;
mod inside;
mod own;
mod send;
mod wait;

pub use binder::{binder_main, is_binder};
pub use own::OwnSockets;
pub use wait::{interrupted, until_done, Deferred, Stop, Waiter, WAKE_SIGNAL};

use super::{Ctx, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::syscalls::{Kind, Mediated};
use crate::task::Task;

/// Handles one network notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let mut req = Req {
        ctx,
        p,
        syscall: m.name,
    };
    // `MSG_CMSG_COMPAT` is the kernel's own mark of a 32-bit caller: from a
    // 64-bit one, `sendmsg` and `sendmmsg` refuse it before anything else.
    let compat = |f: u64| crate::sys::low_i32(f).cast_unsigned() & MSG_CMSG_COMPAT != 0;
    match m.kind {
        Kind::Sendmsg if compat(a[2]) => return Reply::Errno(libc::EINVAL),
        Kind::Sendmmsg if compat(a[3]) => return Reply::Errno(libc::EINVAL),
        _ => {}
    }
    let (reply, flags) = match m.kind {
        Kind::Connect => return connect::connect(&mut req, sc, a[0], a[1], a[2]),
        Kind::Bind => return connect::bind(&mut req, sc, a[0], a[1], a[2]),
        Kind::Sendto => (send::sendto(&mut req, sc, a), a[3]),
        Kind::Sendmsg => (
            send::sendmmsg(&mut req, sc, a[0], a[1], 1, a[2], false),
            a[2],
        ),
        Kind::Sendmmsg => (
            send::sendmmsg(&mut req, sc, a[0], a[1], a[2], a[3], true),
            a[3],
        ),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    if crate::sys::low_i32(flags) & libc::MSG_NOSIGNAL != 0 {
        return reply;
    }
    sigpipe_on_epipe(reply, req.p.tid())
}

/// A send that fails with `EPIPE` (the other end is closed) raises
/// `SIGPIPE` in the thread that asked, as the kernel does for the sender
/// unless `MSG_NOSIGNAL` says not to: the send was fdsup's, so the kernel
/// raised it in fdsup (which ignores it), and the program's default
/// disposition (it ends) or handler must see it instead.
fn sigpipe_on_epipe(reply: Reply, tid: i32) -> Reply {
    let raise = move || {
        if let Ok(tgid) = Task::new(tid.unsigned_abs()).tgid() {
            let _ = crate::sys::tgkill(tgid, tid, libc::SIGPIPE);
        }
    };
    match reply {
        Reply::Errno(libc::EPIPE) => {
            raise();
            reply
        }
        Reply::Deferred(job) => Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
            let r = job.run(w);
            // Raised only while the request still waits: the thread is
            // alive, so its number is its own.
            if matches!(r, Reply::Errno(libc::EPIPE)) && w.valid() {
                raise();
            }
            r
        })),
        r => r,
    }
}

/// `MSG_CMSG_COMPAT` (include/linux/socket.h), which libc does not name.
const MSG_CMSG_COMPAT: u32 = 0x8000_0000;

/// One request being handled.
struct Req<'a, P> {
    ctx: &'a Ctx,
    /// The program that asked.
    p: &'a mut P,
    syscall: &'static str,
}

impl<P: Program> Req<'_, P> {
    /// `ID_VALID`: what was read belongs to this request, which still waits.
    fn valid(&self) -> bool {
        self.p.vouch()
    }

    /// Writes one network decision (and, with `--learn`, notes an address
    /// reached).
    fn log(
        &self,
        sc: &mut Scratch,
        addr: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        rule: Option<&crate::policy::Origin>,
    ) {
        super::Log::new(self.ctx, self.syscall, self.p.tid(), &mut sc.line)
            .write_addr(addr, verdict, errno, rule);
    }
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

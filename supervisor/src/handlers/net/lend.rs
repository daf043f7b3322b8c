//! What fdsup must not lend: the capability checks the kernel makes of the
//! task that makes a call, where fdsup makes it for the program.
//!
//! fdsup binds and sends on the program's own socket itself, so the kernel
//! asks fdsup, not the program, for `CAP_NET_BIND_SERVICE` (a port below
//! `net.ipv4.ip_unprivileged_port_start`), for the capabilities some
//! control messages need ([`super::ipcontrol`]), and for netlink's. A
//! program run by a root fdsup that dropped root (a build step that runs
//! as `nobody`) would get them back. For IP sockets each such check is made
//! again here against the program's own effective set (`capget` of the
//! asking thread), and refused with the kernel's errno; it costs a system
//! call only where a privilege is needed. Netlink, which asks in too many
//! places to copy, is called with this thread's capabilities lowered to
//! the program's ([`AsProgram`]).

use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use rustix::process::Pid;
use rustix::thread::{capabilities, set_capabilities, CapabilitySet, CapabilitySets};

use std::os::fd::AsFd;

use super::super::Reply;
use super::broker::in_our_netns;
use crate::sys::net as sn;

/// The effective capabilities of thread `tid` (none if they cannot be
/// read: a request that needs one is then refused, as for a program
/// without it).
pub(super) fn effective(tid: i32) -> CapabilitySet {
    Pid::from_raw(tid)
        .and_then(|p| capabilities(Some(p)).ok())
        .map_or(CapabilitySet::empty(), |c| c.effective)
}

/// Whether thread `tid` holds one of `caps` over the network namespace of
/// `sock`, as the kernel's `ns_capable(sock_net(sk)->user_ns, ...)` asks:
/// its effective set counts only in its own user namespace, so that
/// namespace must own the socket's (a container in a user namespace of
/// its own sharing the host's network holds nothing over it). Unknown: no.
pub(super) fn holds_over(tid: i32, sock: BorrowedFd<'_>, caps: CapabilitySet) -> bool {
    held_over(tid, sock).intersects(caps)
}

/// The capabilities thread `tid` holds over the network namespace of
/// `sock` ([`holds_over`]): its effective set, or none. Its own user
/// namespace is looked up only when the set has something in it.
pub(super) fn held_over(tid: i32, sock: BorrowedFd<'_>) -> CapabilitySet {
    let e = effective(tid);
    if e.is_empty() || !counts_over(tid, sock) {
        return CapabilitySet::empty();
    }
    e
}

/// Whether thread `tid`'s user namespace owns the network namespace of
/// `sock`, so that its effective set counts there.
fn counts_over(tid: i32, sock: BorrowedFd<'_>) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    // The socket's namespace: fdsup's, or else the program's own (under
    // `isolate`); named by `/proc`, which needs no privilege (`SIOCGSKNS`
    // needs `CAP_NET_ADMIN`, which an unprivileged fdsup lacks).
    let ns = if in_our_netns(sock) {
        "/proc/self/ns/net".to_owned()
    } else {
        format!("/proc/{tid}/ns/net")
    };
    // fdsup's own looks into the task (`own_caps`).
    let (owner, theirs) = crate::own_caps::with(|| {
        let owner = std::fs::File::open(ns)
            .and_then(|ns| sn::ns_owner(ns.as_fd()))
            .and_then(|u| sn::dev_ino(u.as_fd()));
        let theirs = std::fs::metadata(format!("/proc/{tid}/ns/user")).map(|m| (m.dev(), m.ino()));
        (owner, theirs)
    });
    matches!((owner, theirs), (Ok(a), Ok(b)) if a == b)
}

/// The calling thread's effective capabilities lowered to those thread
/// `tid` holds over the socket's network namespace, for one system call
/// fdsup makes for it; raised again when dropped.
///
/// Linux keeps capabilities per thread, and netlink asks the calling task
/// alone in many places: `netlink_allowed` (sending to a port or groups,
/// connecting, binding to groups), the families' bind hooks, a message sent
/// with an address (`NETLINK_SKB_DST`: rtnetlink, audit, ...), and
/// `sock_diag`'s `SOCK_DESTROY` whatever the address (found in review: an
/// unprivileged `ss -K` under a root fdsup killed a host's connection, and
/// a socket opened as root, kept after dropping root, added an address).
/// Made with the program's capabilities, the call meets exactly the
/// kernel's own checks, with nothing to copy of them.
#[derive(Debug)]
pub(super) struct AsProgram {
    saved: Option<CapabilitySets>,
}

impl Drop for AsProgram {
    fn drop(&mut self) {
        if let Some(s) = self.saved.take() {
            // A failure leaves this thread with less: it refuses more.
            let _ = set_capabilities(None, s);
        }
    }
}

/// Lowers this thread's capabilities as [`AsProgram`] says; EPERM if they
/// cannot be lowered (the call is then not made).
pub(super) fn as_program(tid: i32, sock: BorrowedFd<'_>) -> Result<AsProgram, i32> {
    let Ok(ours) = capabilities(None) else {
        return Err(libc::EPERM);
    };
    if ours.effective.is_empty() {
        return Ok(AsProgram { saved: None });
    }
    let want = ours.effective & held_over(tid, sock);
    if want == ours.effective {
        return Ok(AsProgram { saved: None });
    }
    let lowered = CapabilitySets {
        effective: want,
        permitted: ours.permitted,
        inheritable: ours.inheritable,
    };
    set_capabilities(None, lowered).map_err(|_| libc::EPERM)?;
    Ok(AsProgram { saved: Some(ours) })
}

/// The kernel's default `ip_unprivileged_port_start`, which a network
/// namespace fdsup made for the program (`isolate`) starts with.
const DEFAULT_UNPRIVILEGED_PORT_START: u16 = 1024;

/// `net.ipv4.ip_unprivileged_port_start` of fdsup's own namespace, read
/// once (the default if it cannot be read).
fn our_unprivileged_start() -> u16 {
    static START: OnceLock<u16> = OnceLock::new();
    *START.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/ipv4/ip_unprivileged_port_start")
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(DEFAULT_UNPRIVILEGED_PORT_START)
    })
}

/// Refuses (EACCES, as `__inet_bind` does) a bind of `addr`, an IP socket
/// address about to be bound on `sock` for thread `tid`, to a port that
/// needs `CAP_NET_BIND_SERVICE` the program does not hold.
pub(super) fn bind_port(
    tid: i32,
    sock: BorrowedFd<'_>,
    domain: i32,
    addr: &[u8],
) -> Result<(), Reply> {
    if domain != libc::AF_INET && domain != libc::AF_INET6 {
        return Ok(());
    }
    // sin_port and sin6_port are both at offset 2, in network order.
    let Some(port) = addr
        .get(2..4)
        .and_then(|p| <[u8; 2]>::try_from(p).ok())
        .map(u16::from_be_bytes)
    else {
        return Ok(());
    };
    let bound = our_unprivileged_start().max(DEFAULT_UNPRIVILEGED_PORT_START);
    if port == 0 || port >= bound {
        return Ok(());
    }
    let start = if in_our_netns(sock) {
        our_unprivileged_start()
    } else {
        DEFAULT_UNPRIVILEGED_PORT_START
    };
    if port >= start || holds_over(tid, sock, CapabilitySet::NET_BIND_SERVICE) {
        return Ok(());
    }
    Err(Reply::Errno(libc::EACCES))
}

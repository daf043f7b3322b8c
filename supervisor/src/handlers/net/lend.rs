//! What fdsup must not lend: the capability checks the kernel makes of the
//! task that makes a call, where fdsup makes it for the program.
//!
//! fdsup binds and sends on the program's own socket itself, so the kernel
//! asks fdsup, not the program, for `CAP_NET_BIND_SERVICE` (a port below
//! `net.ipv4.ip_unprivileged_port_start`) and for the capabilities some
//! control messages need ([`super::ipcontrol`]). A program run by a root
//! fdsup that dropped root (a build step that runs as `nobody`) would get
//! them back. Each such check is made again here against the program's
//! own effective set (`capget` of the asking thread), and refused with the
//! kernel's errno; it costs a system call only where a privilege is
//! needed.

use std::os::fd::BorrowedFd;
use std::sync::OnceLock;

use rustix::process::Pid;
use rustix::thread::{capabilities, CapabilitySet};

use super::super::Reply;
use super::broker::in_our_netns;

/// The effective capabilities of thread `tid` (none if they cannot be
/// read: a request that needs one is then refused, as for a program
/// without it).
pub(super) fn effective(tid: i32) -> CapabilitySet {
    Pid::from_raw(tid)
        .and_then(|p| capabilities(Some(p)).ok())
        .map_or(CapabilitySet::empty(), |c| c.effective)
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
    if port >= start || effective(tid).contains(CapabilitySet::NET_BIND_SERVICE) {
        return Ok(());
    }
    Err(Reply::Errno(libc::EACCES))
}

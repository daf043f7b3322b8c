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
    use std::os::unix::fs::MetadataExt as _;
    if !effective(tid).intersects(caps) {
        return false;
    }
    // The socket's namespace: fdsup's, or else the program's own (under
    // `isolate`); named by `/proc`, which needs no privilege (`SIOCGSKNS`
    // needs `CAP_NET_ADMIN`, which an unprivileged fdsup lacks).
    let ns = if in_our_netns(sock) {
        "/proc/self/ns/net".to_owned()
    } else {
        format!("/proc/{tid}/ns/net")
    };
    let owner = std::fs::File::open(ns)
        .and_then(|ns| sn::ns_owner(ns.as_fd()))
        .and_then(|u| sn::dev_ino(u.as_fd()));
    let theirs = std::fs::metadata(format!("/proc/{tid}/ns/user")).map(|m| (m.dev(), m.ino()));
    matches!((owner, theirs), (Ok(a), Ok(b)) if a == b)
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

/// A netlink send with address `addr` on `sock` by thread `tid`: whether
/// fdsup may send it with that address (`Ok(true)`), must send it without
/// (`Ok(false)`: the same destination), or must refuse it.
///
/// A message sent with an address is marked `NETLINK_SKB_DST`, and the
/// kernel then asks for a privilege (`netlink_net_capable`: routing,
/// addresses, firewall) of the task that sends alone, which is fdsup; sent
/// without, of the socket's opener too, which is the program. iproute2
/// names the kernel (`{AF_NETLINK, 0, 0}`) on every request: a program
/// that dropped root changed the host's addresses and routes through a
/// root fdsup (found in review). So a message to the kernel on a socket
/// whose peer is the kernel (unconnected, or connected to it) goes without
/// its address; to the kernel from a socket connected elsewhere it needs
/// the program's own `CAP_NET_ADMIN`; to a port or groups as [`netlink`]
/// says. A malformed address is left to the kernel, which refuses it
/// before it sends.
pub(super) fn netlink_send(tid: i32, sock: BorrowedFd<'_>, addr: &[u8]) -> Result<bool, Reply> {
    let word = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let family = addr.get(..2).map(|f| u16::from_ne_bytes([f[0], f[1]]));
    let (Some(pid), Some(groups)) = (word(addr, 4), word(addr, 8)) else {
        return Ok(true);
    };
    if family != Some(AF_NETLINK) {
        return Ok(true);
    }
    if pid != 0 || groups != 0 {
        netlink(tid, sock, NetlinkOp::Send, addr)?;
        return Ok(true);
    }
    let peer = sn::peer_name(sock).unwrap_or_default();
    if word(&peer, 4).unwrap_or(0) == 0 && word(&peer, 8).unwrap_or(0) == 0 {
        return Ok(false);
    }
    if holds_over(tid, sock, CapabilitySet::NET_ADMIN) {
        Ok(true)
    } else {
        Err(Reply::Errno(libc::EPERM))
    }
}

/// `AF_NETLINK` as the address family field holds it.
const AF_NETLINK: u16 = 16;

/// `NETLINK_USERSOCK`: its messages may go to any socket, from anyone.
const NETLINK_USERSOCK: i32 = 2;

/// What a netlink request may ask of the kernel's `netlink_allowed` and
/// the families' bind hooks, which look at the calling task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NetlinkOp {
    /// `connect`, or a send with an address: to a port or multicast groups.
    Send,
    /// `bind` to multicast groups.
    Bind,
}

/// Refuses (EPERM, as `netlink_sendmsg`, `netlink_connect` and
/// `netlink_bind` do) a netlink request of thread `tid` on `sock` (of
/// `proto`) with address `addr` that needs a capability the program does
/// not hold: sending to another port or to groups needs `CAP_NET_ADMIN`
/// (anyone, on `NETLINK_USERSOCK`); listening to groups other than those
/// anyone may (routing netlink's, but its multicast-routing reports; the
/// usersock, uevent and SELinux families') needs it too, with
/// `CAP_AUDIT_READ` for audit's and `CAP_SYS_ADMIN` for generic netlink's.
/// Another family's groups need these here whatever its own rules, which
/// may ask less (a refusal in excess, never a lend; joining with
/// `NETLINK_ADD_MEMBERSHIP`, a socket option the program sets itself, is
/// the kernel's alone).
pub(super) fn netlink(
    tid: i32,
    sock: BorrowedFd<'_>,
    op: NetlinkOp,
    addr: &[u8],
) -> Result<(), Reply> {
    // struct sockaddr_nl: family, pad, nl_pid, nl_groups.
    let word = |i: usize| {
        addr.get(i..i + 4)
            .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
    };
    let (pid, groups) = (word(4), word(8));
    let proto = sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_PROTOCOL).unwrap_or(-1);
    let admin = CapabilitySet::NET_ADMIN;
    // Each capability listed is needed.
    let needs: &[CapabilitySet] = match op {
        NetlinkOp::Send if (pid != 0 || groups != 0) && proto != NETLINK_USERSOCK => &[admin],
        NetlinkOp::Send => &[],
        NetlinkOp::Bind if groups == 0 => &[],
        NetlinkOp::Bind => {
            // RTNLGRP_IPV4_MROUTE_R (30) and RTNLGRP_IPV6_MROUTE_R (31):
            // group n is bit n - 1.
            const MROUTE_R: u32 = (1 << 29) | (1 << 30);
            match proto {
                libc::NETLINK_ROUTE if groups & MROUTE_R == 0 => &[],
                NETLINK_USERSOCK | libc::NETLINK_KOBJECT_UEVENT | libc::NETLINK_SELINUX => &[],
                // audit_multicast_bind asks for CAP_AUDIT_READ (of the
                // caller: `capable`); a generic netlink group may ask for
                // CAP_SYS_ADMIN (GENL_MCAST_CAP_SYS_ADMIN), which fdsup
                // cannot tell from here: both, beside CAP_NET_ADMIN.
                libc::NETLINK_AUDIT => &[admin, CapabilitySet::AUDIT_READ],
                libc::NETLINK_GENERIC => &[admin, CapabilitySet::SYS_ADMIN],
                _ => &[admin],
            }
        }
    };
    if needs.iter().any(|&c| !holds_over(tid, sock, c)) {
        return Err(Reply::Errno(libc::EPERM));
    }
    Ok(())
}

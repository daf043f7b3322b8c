//! Whether one of the sandbox's own sockets is bound at a loopback address
//! in the program's network namespace (under `isolate`), for a datagram,
//! which has no answer to try with (a stream connect is simply tried
//! inside first: `super::decide`).
//!
//! The program's namespace is read from `/proc/<tid>/net/{udp,udp6}`
//! (or `tcp`): it lists that namespace's sockets only, but the kernel walks
//! its whole hash table to print them, about a millisecond here, so this is
//! asked only for a datagram to a refused loopback address.

use std::net::{IpAddr, SocketAddr};

/// `TCP_LISTEN` in `/proc/net/tcp`'s `st` column.
const LISTEN: &str = "0A";

/// Whether a socket of `ty` (`SOCK_STREAM`, `SOCK_DGRAM`, ...) of task
/// `tid`'s namespace is bound at `sa` (or at the wildcard on its port).
pub(super) fn inet(tid: i32, sa: SocketAddr, ty: i32) -> bool {
    let stream = ty == libc::SOCK_STREAM;
    let files: [&str; 2] = if stream {
        ["tcp", "tcp6"]
    } else {
        ["udp", "udp6"]
    };
    files.iter().any(|f| {
        crate::own_caps::with(|| std::fs::read_to_string(format!("/proc/{tid}/net/{f}")))
            .is_ok_and(|t| t.lines().skip(1).any(|l| entry_matches(l, sa, stream)))
    })
}

/// One line of `/proc/net/{tcp,udp}{,6}`: its local address is `sa`'s port
/// at `sa`'s address or the wildcard (and, for a stream, it listens).
fn entry_matches(line: &str, sa: SocketAddr, stream: bool) -> bool {
    let mut f = line.split_whitespace();
    let (Some(_), Some(local), Some(_), Some(st)) = (f.next(), f.next(), f.next(), f.next()) else {
        return false;
    };
    if stream && st != LISTEN {
        return false;
    }
    let Some((addr, port)) = local.split_once(':') else {
        return false;
    };
    if u16::from_str_radix(port, 16).ok() != Some(sa.port()) {
        return false;
    }
    match parse_hex_ip(addr) {
        Some(ip) => ip.is_unspecified() || same_ip(ip, sa.ip()),
        None => false,
    }
}

/// The address of `/proc/net/tcp{,6}`: 8 or 32 hex digits, each 32-bit word
/// in the host's (little-endian) order.
fn parse_hex_ip(hex: &str) -> Option<IpAddr> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_le_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::from(word(0)?)),
        32 => {
            let mut b = [0u8; 16];
            for i in 0..4 {
                b[i * 4..i * 4 + 4].copy_from_slice(&word(i)?);
            }
            Some(IpAddr::from(b))
        }
        _ => None,
    }
}

fn same_ip(a: IpAddr, b: IpAddr) -> bool {
    let canon = |ip: IpAddr| match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    };
    canon(a) == canon(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_net_lines() {
        let sa: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        let l = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1183 1";
        assert!(entry_matches(l, sa, true));
        let wild = "   0: 00000000:1F90 00000000:0000 0A 0 0 0 0 0 1";
        assert!(entry_matches(wild, sa, true));
        let other_port = "   0: 0100007F:1F91 00000000:0000 0A 0 0 0 0 0 1";
        assert!(!entry_matches(other_port, sa, true));
        let established = "   1: 0100007F:1F90 0100007F:D61E 01 0 0 0 0 0 1";
        assert!(!entry_matches(established, sa, true));
        assert!(entry_matches(established, sa, false), "a bound datagram");
        let v6 = "   0: 00000000000000000000000001000000:1F90 00000000000000000000000000000000:0000 0A 0";
        assert!(entry_matches(v6, "[::1]:8080".parse().unwrap(), true));
        assert!(!entry_matches(v6, sa, true));
        let mapped = "   0: 0000000000000000FFFF00000100007F:1F90 0:0 0A 0";
        assert!(entry_matches(mapped, sa, true));
        assert!(!entry_matches("garbage", sa, true));
    }

    #[test]
    fn finds_a_listener_of_this_process() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sa = l.local_addr().unwrap();
        let me = i32::try_from(std::process::id()).unwrap();
        assert!(inet(me, sa, libc::SOCK_STREAM));
        drop(l);
        assert!(!inet(me, sa, libc::SOCK_STREAM));
        let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        assert!(inet(me, u.local_addr().unwrap(), libc::SOCK_DGRAM));
    }
}

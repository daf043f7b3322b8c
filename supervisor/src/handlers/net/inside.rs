//! Whether something of the sandbox's own listens at a loopback address
//! or an abstract name, in the program's network namespace (under
//! `isolate`).
//!
//! An isolated program has a loopback of its own, where its processes
//! serve each other, and fdsup's namespace has the host's, where allowed
//! connections are brokered. Natively one address names one socket; here
//! it could name one in each. The sandbox's own wins: a connect or send to
//! a loopback address or abstract name where one of its sockets is bound
//! (a listening stream socket, any bound datagram socket) is carried out
//! in its namespace, whatever the rules say (it reaches nothing outside);
//! otherwise the rules decide, and an allowed one is brokered out. So a
//! test suite's own server on `127.0.0.1:8000` is reached under
//! `@default` with `@network-loopback`, and the host's database on
//! `127.0.0.1:5432` too.
//!
//! The program's namespace is read from `/proc/<tid>/net/` (tcp, tcp6,
//! udp, udp6, unix), which lists its own sockets only: a handful, so the
//! read is cheap, and it is made only for loopback and abstract
//! destinations under `isolate`.

use std::net::{IpAddr, SocketAddr};

/// `TCP_LISTEN` in `/proc/net/tcp`'s `st` column.
const LISTEN: &str = "0A";

/// `__SO_ACCEPTCON` in `/proc/net/unix`'s flags: a listening socket.
const ACCEPTCON: u32 = 1 << 16;

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
        std::fs::read_to_string(format!("/proc/{tid}/net/{f}"))
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

/// Whether a Unix socket of task `tid`'s namespace holds the abstract
/// `name` (listening, for a stream; bound, for a datagram).
pub(super) fn abstract_name(tid: i32, name: &[u8], ty: i32) -> bool {
    let Ok(text) = std::fs::read(format!("/proc/{tid}/net/unix")) else {
        return false;
    };
    // The kernel shows the name's NUL bytes as '@', after a leading '@'.
    let mut want = Vec::with_capacity(name.len() + 1);
    want.push(b'@');
    want.extend(name.iter().map(|&c| if c == 0 { b'@' } else { c }));
    text.split(|&c| c == b'\n').skip(1).any(|l| {
        let mut f = l.split(|&c| c == b' ').filter(|x| !x.is_empty());
        let (Some(_), Some(_), Some(_), Some(flags), Some(kind), Some(_), Some(_), Some(path)) = (
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
            f.next(),
        ) else {
            return false;
        };
        let flags = std::str::from_utf8(flags)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .unwrap_or(0);
        let kind = std::str::from_utf8(kind)
            .ok()
            .and_then(|s| u32::from_str_radix(s, 16).ok())
            .unwrap_or(0);
        let listening = flags & ACCEPTCON != 0 || ty == libc::SOCK_DGRAM;
        path == want.as_slice() && listening && i64::from(kind) == i64::from(ty)
    })
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
        let u = std::os::unix::net::UnixListener::bind_addr(
            &std::os::linux::net::SocketAddrExt::from_abstract_name(b"fdsup-inside-test").unwrap(),
        )
        .unwrap();
        assert!(abstract_name(me, b"fdsup-inside-test", libc::SOCK_STREAM));
        assert!(!abstract_name(me, b"fdsup-inside-other", libc::SOCK_STREAM));
        drop(u);
    }
}

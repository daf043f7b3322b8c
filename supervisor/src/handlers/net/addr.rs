//! Socket addresses as the program wrote them: read once, parsed as the
//! kernel parses them, and written back in the forms the kernel takes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use super::super::Reply;
use crate::handlers::Memory;
use crate::sys::{self, net as sn};

/// `offsetof(struct sockaddr_un, sun_path)`.
pub(super) const SUN_PATH: usize = 2;

/// The address as the program wrote it.
pub(super) struct Addr {
    buf: [u8; sn::SOCKADDR_MAX],
    len: usize,
}

impl Addr {
    pub(super) fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    pub(super) fn family(&self) -> Option<i32> {
        (self.len >= 2).then(|| i32::from(u16::from_ne_bytes([self.buf[0], self.buf[1]])))
    }

    #[cfg(test)]
    pub(super) fn from_bytes(b: &[u8]) -> Self {
        let mut a = Addr {
            buf: [0; sn::SOCKADDR_MAX],
            len: b.len().min(sn::SOCKADDR_MAX),
        };
        a.buf[..a.len].copy_from_slice(&b[..a.len]);
        a
    }
}

/// Reads `len` bytes of address at `ptr` (the kernel's
/// `move_addr_to_kernel`: a negative length or more than a
/// `sockaddr_storage` is EINVAL).
pub(super) fn read_addr(task: &impl Memory, ptr: u64, len: u64) -> Result<Addr, Reply> {
    let len = usize::try_from(sys::low_i32(len)).map_err(|_| Reply::Errno(libc::EINVAL))?;
    if len > sn::SOCKADDR_MAX {
        return Err(Reply::Errno(libc::EINVAL));
    }
    let mut a = Addr {
        buf: [0; sn::SOCKADDR_MAX],
        len,
    };
    if len > 0 {
        task.read_exact(ptr, &mut a.buf[..len])
            .map_err(|e| e.reply(libc::EFAULT))?;
    }
    Ok(a)
}

/// What an address names, as the policy sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dest {
    /// IPv4 or IPv6.
    Inet(SocketAddr),
    /// `AF_UNIX` with a path (bytes `SUN_PATH..end` of the address).
    UnixPath(usize),
    /// `AF_UNIX` abstract (bytes `SUN_PATH + 1..len`).
    UnixAbstract,
    /// Nothing to decide: `AF_UNSPEC` (a disconnect), an empty address, an
    /// `AF_UNIX` address with no name (autobind), a routing netlink address.
    Nothing,
    /// A family the rules cannot name: the section default decides.
    Other,
}

/// Parses the address; a malformed one is refused as the kernel would.
pub(super) fn parse(a: &Addr) -> Result<Dest, Reply> {
    let b = a.bytes();
    let Some(fam) = a.family() else {
        return Ok(Dest::Nothing);
    };
    match fam {
        libc::AF_UNSPEC => Ok(Dest::Nothing),
        libc::AF_INET => {
            if b.len() < std::mem::size_of::<libc::sockaddr_in>() {
                return Err(Reply::Errno(libc::EINVAL));
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
            Ok(Dest::Inet(SocketAddr::V4(SocketAddrV4::new(ip, port))))
        }
        libc::AF_INET6 => {
            // SIN6_LEN_RFC2133: the kernel accepts the address without the
            // scope id.
            if b.len() < 24 {
                return Err(Reply::Errno(libc::EINVAL));
            }
            let port = u16::from_be_bytes([b[2], b[3]]);
            let mut ip = [0u8; 16];
            ip.copy_from_slice(&b[8..24]);
            Ok(Dest::Inet(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                0,
            ))))
        }
        libc::AF_UNIX => {
            if b.len() <= SUN_PATH {
                return Ok(Dest::Nothing);
            }
            if b[SUN_PATH] == 0 {
                return Ok(Dest::UnixAbstract);
            }
            // The kernel ends the path at the first NUL, or at the length.
            let end = b[SUN_PATH..]
                .iter()
                .position(|&c| c == 0)
                .map_or(b.len(), |z| SUN_PATH + z);
            Ok(Dest::UnixPath(end))
        }
        // Routing netlink talks to the kernel, not the network (glibc's
        // `getaddrinfo` and `if_nameindex` bind and send to it); no other
        // netlink socket exists under a `deny` default (the deny filter).
        libc::AF_NETLINK => Ok(Dest::Nothing),
        _ => Ok(Dest::Other),
    }
}

/// What a request does with its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Use {
    /// `connect`.
    Connect,
    /// A send's destination.
    Send,
    /// `bind`.
    Bind,
}

/// What the address `a` names for a request that uses it as `use_` on a
/// socket of `domain`: the kernel reads an address by the socket's family,
/// not by the family the bytes claim, so that is what is decided.
///
/// - An IPv4 socket takes `AF_UNSPEC` as `AF_INET` for a datagram's
///   destination (`udp_sendmsg`) and for a bind to `INADDR_ANY`
///   (`inet_bind`'s compatibility rule): decided as that IPv4 address (a
///   send to any address, or a bind to any port, that would otherwise pass
///   undecided). For `connect`, `AF_UNSPEC` disconnects.
/// - An IPv6 socket takes `AF_INET` (v4-mapped, for datagrams).
/// - Any other mismatch the kernel refuses before using the address
///   (`EAFNOSUPPORT`, `EINVAL`): passed undecided, so it answers as
///   natively ([`Dest::Nothing`]).
/// - A socket of another family than IPv4, IPv6, Unix and netlink reads
///   its own address format, whatever the bytes claim: the default decides
///   ([`Dest::Other`]).
pub(super) fn dest_for(a: &Addr, domain: i32, use_: Use) -> Result<Dest, Reply> {
    let Some(fam) = a.family() else {
        return Ok(Dest::Nothing);
    };
    match domain {
        // `unix_validate_addr`: a Unix address past a `sockaddr_un` is
        // EINVAL (an `AF_UNSPEC` one, a disconnect, is not validated).
        libc::AF_UNIX
            if fam == libc::AF_UNIX
                && a.bytes().len() > std::mem::size_of::<libc::sockaddr_un>() =>
        {
            return Err(Reply::Errno(libc::EINVAL))
        }
        libc::AF_INET | libc::AF_INET6 | libc::AF_UNIX | libc::AF_NETLINK => {}
        _ => return Ok(Dest::Other),
    }
    if fam == domain || (domain == libc::AF_INET6 && fam == libc::AF_INET) {
        return parse(a);
    }
    let b = a.bytes();
    if domain == libc::AF_INET
        && fam == libc::AF_UNSPEC
        && b.len() >= std::mem::size_of::<libc::sockaddr_in>()
    {
        let port = u16::from_be_bytes([b[2], b[3]]);
        let ip = Ipv4Addr::new(b[4], b[5], b[6], b[7]);
        let any = ip.is_unspecified();
        return Ok(match use_ {
            Use::Send => Dest::Inet(SocketAddr::V4(SocketAddrV4::new(ip, port))),
            Use::Bind if any => Dest::Inet(SocketAddr::V4(SocketAddrV4::new(ip, port))),
            Use::Bind | Use::Connect => Dest::Nothing,
        });
    }
    Ok(Dest::Nothing)
}

/// The address a connect or send to the unspecified address (`0.0.0.0`,
/// `::`, `::ffff:0.0.0.0`) reaches, written over it: the kernel takes it
/// as this host — the socket's bound IPv4 address if it has one, else
/// `127.0.0.1` (`ip_route_output_key_hash_rcu`), and `::1` for `::`
/// (`::ffff:127.0.0.1` for a connect of a socket bound v4-mapped:
/// `tcp_v6_connect`, `ip6_datagram_connect`; `udpv6_sendmsg`). Decided and
/// passed to the kernel as that address, so that `0.0.0.0:PORT` is
/// refused where `127.0.0.1:PORT` is, and the kernel never chooses
/// another (a source named by `IP_PKTINFO` would be its choice). `None`:
/// not unspecified, `a` as it is.
pub(super) fn unspecified_reached(
    a: &Addr,
    dest: Dest,
    sock: std::os::fd::BorrowedFd<'_>,
    use_: Use,
) -> Option<(Addr, Dest)> {
    let Dest::Inet(sa) = dest else { return None };
    let v4 = match sa.ip() {
        IpAddr::V4(ip) => Some(ip),
        IpAddr::V6(ip) => ip.to_ipv4_mapped(),
    };
    let unspecified = match sa.ip() {
        IpAddr::V6(ip) if v4.is_none() => ip.is_unspecified(),
        _ => v4.is_some_and(|ip| ip.is_unspecified()),
    };
    if !unspecified || use_ == Use::Bind {
        return None;
    }
    // The socket's own address, as an IPv4 one where it is one.
    let local = sn::local_name(sock).ok().and_then(|b| {
        let fam = i32::from(u16::from_ne_bytes([*b.first()?, *b.get(1)?]));
        match fam {
            libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7]))),
            libc::AF_INET6 => {
                let mut o = [0u8; 16];
                o.copy_from_slice(b.get(8..24)?);
                let ip = Ipv6Addr::from(o);
                Some(ip.to_ipv4_mapped().map_or(IpAddr::V6(ip), IpAddr::V4))
            }
            _ => None,
        }
    });
    let local_v4 = match local {
        Some(IpAddr::V4(ip)) => Some(ip),
        _ => None,
    };
    let ip = match v4 {
        Some(_) => IpAddr::V4(
            local_v4
                .filter(|ip| !ip.is_unspecified())
                .unwrap_or(Ipv4Addr::LOCALHOST),
        ),
        None if use_ == Use::Connect && local_v4.is_some() => {
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped())
        }
        None => IpAddr::V6(Ipv6Addr::LOCALHOST),
    };
    let mut out = Addr {
        buf: a.buf,
        len: a.len,
    };
    // Written where the bytes hold it: a `sockaddr_in6`, or an IPv4 one
    // (`AF_INET`, or `AF_UNSPEC` read as it).
    if a.family() == Some(libc::AF_INET6) {
        let ip6 = match ip {
            IpAddr::V4(v) => v.to_ipv6_mapped(),
            IpAddr::V6(v) => v,
        };
        out.buf[8..24].copy_from_slice(&ip6.octets());
    } else {
        let IpAddr::V4(v) = ip else { return None };
        out.buf[4..8].copy_from_slice(&v.octets());
    }
    Some((out, Dest::Inet(SocketAddr::new(ip, sa.port()))))
}

/// Whether `ip` is a loopback address (v4, v6, or v4-mapped v6).
pub(super) fn is_loopback_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// `sockaddr_in`/`sockaddr_in6` bytes for `sa`, in the socket's `domain`
/// (an IPv4 address on an IPv6 socket is written v4-mapped).
pub(super) fn inet_bytes(sa: SocketAddr, domain: i32) -> Result<Vec<u8>, i32> {
    let v6 = |ip: Ipv6Addr, port: u16, scope: u32| {
        let mut b = vec![0u8; 28];
        b[..2].copy_from_slice(&u16::try_from(libc::AF_INET6).unwrap_or(10).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[8..24].copy_from_slice(&ip.octets());
        b[24..28].copy_from_slice(&scope.to_ne_bytes());
        b
    };
    match (sa, domain) {
        (SocketAddr::V4(a), libc::AF_INET) => {
            let mut b = vec![0u8; 16];
            b[..2].copy_from_slice(&u16::try_from(libc::AF_INET).unwrap_or(2).to_ne_bytes());
            b[2..4].copy_from_slice(&a.port().to_be_bytes());
            b[4..8].copy_from_slice(&a.ip().octets());
            Ok(b)
        }
        (SocketAddr::V4(a), libc::AF_INET6) => Ok(v6(a.ip().to_ipv6_mapped(), a.port(), 0)),
        (SocketAddr::V6(a), libc::AF_INET6) => Ok(v6(*a.ip(), a.port(), a.scope_id())),
        (SocketAddr::V6(a), libc::AF_INET) => match a.ip().to_ipv4_mapped() {
            Some(ip) => inet_bytes(SocketAddr::new(IpAddr::V4(ip), a.port()), domain),
            None => Err(libc::EAFNOSUPPORT),
        },
        _ => Err(libc::EAFNOSUPPORT),
    }
}

/// `sockaddr_un` bytes with `path` (a path, or `\0name` for abstract).
pub(super) fn unix_bytes(path: &[u8], abstract_name: bool) -> Result<Vec<u8>, i32> {
    let mut b = Vec::with_capacity(SUN_PATH + path.len() + 2);
    b.extend_from_slice(&u16::try_from(libc::AF_UNIX).unwrap_or(1).to_ne_bytes());
    let full = std::mem::size_of::<libc::sockaddr_un>();
    if abstract_name {
        b.push(0);
        b.extend_from_slice(path);
    } else {
        b.extend_from_slice(path);
        // A path that fills `sun_path` has no room for its NUL, and needs
        // none: the kernel ends it at the address's length.
        if b.len() < full {
            b.push(0);
        }
    }
    if b.len() > full {
        return Err(libc::ENAMETOOLONG);
    }
    Ok(b)
}

/// The address shown in the log and on `-v`.
pub(super) fn shown(dest: &Dest, a: &Addr, canonical: &[u8], out: &mut Vec<u8>) {
    use std::io::Write as _;
    out.clear();
    match dest {
        Dest::Inet(sa) => {
            let _ = write!(out, "{sa}");
        }
        Dest::UnixPath(_) => {
            out.extend_from_slice(b"unix:");
            out.extend_from_slice(canonical);
        }
        Dest::UnixAbstract => {
            out.extend_from_slice(b"unix:@");
            out.extend_from_slice(a.bytes().get(SUN_PATH + 1..).unwrap_or_default());
        }
        Dest::Nothing => out.extend_from_slice(b"(none)"),
        Dest::Other => {
            let _ = write!(out, "family {}", a.family().unwrap_or(0));
        }
    }
}

/// Whether `addr` (a `sockaddr` as given to the kernel) is on this
/// machine's loopback, where a connection is made in microseconds.
pub(super) fn is_loopback(addr: &[u8]) -> bool {
    let fam = addr
        .get(..2)
        .map(|b| i32::from(u16::from_ne_bytes([b[0], b[1]])));
    match fam {
        Some(libc::AF_INET) => addr.get(4) == Some(&127),
        Some(libc::AF_INET6) => addr.get(8..24).is_some_and(|ip| {
            let mut o = [0u8; 16];
            o.copy_from_slice(ip);
            is_loopback_ip(IpAddr::V6(Ipv6Addr::from(o)))
        }),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: &[u8]) -> Addr {
        Addr::from_bytes(b)
    }

    #[test]
    fn parses_and_writes_inet() {
        let v4 = inet_bytes("127.0.0.1:8080".parse().unwrap(), libc::AF_INET).unwrap();
        assert_eq!(
            parse(&addr(&v4)).ok(),
            Some(Dest::Inet("127.0.0.1:8080".parse().unwrap()))
        );
        let mapped = inet_bytes("127.0.0.1:80".parse().unwrap(), libc::AF_INET6).unwrap();
        match parse(&addr(&mapped)) {
            Ok(Dest::Inet(SocketAddr::V6(sa))) => {
                assert_eq!(sa.ip().to_ipv4_mapped(), Some(Ipv4Addr::LOCALHOST));
            }
            _ => panic!("not inet6"),
        }
        assert!(inet_bytes("[::1]:80".parse().unwrap(), libc::AF_INET).is_err());
        assert!(matches!(
            parse(&addr(&v4[..15])),
            Err(Reply::Errno(libc::EINVAL))
        ));
        assert!(matches!(
            parse(&addr(&mapped[..23])),
            Err(Reply::Errno(libc::EINVAL))
        ));
    }

    #[test]
    fn parses_unix() {
        let p = unix_bytes(b"/run/x.sock", false).unwrap();
        assert_eq!(parse(&addr(&p)).ok(), Some(Dest::UnixPath(13)));
        // Without the NUL: the length ends it.
        assert_eq!(
            parse(&addr(&p[..p.len() - 1])).ok(),
            Some(Dest::UnixPath(13))
        );
        let a = unix_bytes(b"name", true).unwrap();
        assert_eq!(parse(&addr(&a)).ok(), Some(Dest::UnixAbstract));
        assert_eq!(parse(&addr(&a[..2])).ok(), Some(Dest::Nothing));
        assert!(unix_bytes(&[b'a'; 200], false).is_err());
        // 108 bytes fill sun_path: no NUL, still a path.
        assert_eq!(unix_bytes(&[b'a'; 108], false).map(|b| b.len()), Ok(110));
        assert!(unix_bytes(&[b'a'; 109], false).is_err());
        // A full sun_path without a NUL: the length ends it.
        let mut full = vec![0u8; 110];
        full[..2].copy_from_slice(&1u16.to_ne_bytes());
        full[2..].fill(b'a');
        assert_eq!(parse(&addr(&full)).ok(), Some(Dest::UnixPath(110)));
    }

    #[test]
    fn loopback_addresses() {
        let b = |s: &str, d| inet_bytes(s.parse().unwrap(), d).unwrap();
        assert!(is_loopback(&b("127.0.0.1:1", libc::AF_INET)));
        assert!(is_loopback(&b("127.9.0.1:1", libc::AF_INET6)));
        assert!(is_loopback(&b("[::1]:1", libc::AF_INET6)));
        assert!(!is_loopback(&b("10.0.0.1:1", libc::AF_INET)));
        assert!(!is_loopback(&b("[2001:db8::1]:1", libc::AF_INET6)));
        assert!(!is_loopback(&unix_bytes(b"/x", false).unwrap()));
        assert!(!is_loopback(&[2]));
    }

    #[test]
    fn the_sockets_family_reads_the_address() {
        let mut unspec = inet_bytes("10.0.0.1:53".parse().unwrap(), libc::AF_INET).unwrap();
        unspec[..2].copy_from_slice(&0u16.to_ne_bytes());
        let a = addr(&unspec);
        // An IPv4 datagram goes to it: decided as that address.
        assert_eq!(
            dest_for(&a, libc::AF_INET, Use::Send).ok(),
            Some(Dest::Inet("10.0.0.1:53".parse().unwrap()))
        );
        // connect: a disconnect; bind: only INADDR_ANY binds.
        assert_eq!(
            dest_for(&a, libc::AF_INET, Use::Connect).ok(),
            Some(Dest::Nothing)
        );
        assert_eq!(
            dest_for(&a, libc::AF_INET, Use::Bind).ok(),
            Some(Dest::Nothing)
        );
        let mut any = unspec.clone();
        any[4..8].fill(0);
        assert_eq!(
            dest_for(&addr(&any), libc::AF_INET, Use::Bind).ok(),
            Some(Dest::Inet("0.0.0.0:53".parse().unwrap()))
        );
        // An IPv6 socket ignores it.
        assert_eq!(
            dest_for(&a, libc::AF_INET6, Use::Send).ok(),
            Some(Dest::Nothing)
        );
        // A Unix path on an IP socket: refused by the kernel, not decided.
        let u = unix_bytes(b"/nope", false).unwrap();
        assert_eq!(
            dest_for(&addr(&u), libc::AF_INET, Use::Connect).ok(),
            Some(Dest::Nothing)
        );
        // IPv4 on an IPv6 socket: used (datagrams), so decided.
        let v4 = inet_bytes("10.0.0.1:53".parse().unwrap(), libc::AF_INET).unwrap();
        assert_eq!(
            dest_for(&addr(&v4), libc::AF_INET6, Use::Send).ok(),
            Some(Dest::Inet("10.0.0.1:53".parse().unwrap()))
        );
        // A packet socket reads its own format: the default decides.
        assert_eq!(
            dest_for(&addr(&v4), libc::AF_PACKET, Use::Send).ok(),
            Some(Dest::Other)
        );
    }

    #[test]
    fn other_families_are_other() {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&u16::try_from(libc::AF_PACKET).unwrap().to_ne_bytes());
        assert_eq!(parse(&addr(&b)).ok(), Some(Dest::Other));
        b[..2].copy_from_slice(&0u16.to_ne_bytes());
        assert_eq!(parse(&addr(&b)).ok(), Some(Dest::Nothing));
        b[..2].copy_from_slice(&u16::try_from(libc::AF_NETLINK).unwrap().to_ne_bytes());
        assert_eq!(parse(&addr(&b)).ok(), Some(Dest::Nothing));
        // One byte: no family at all.
        assert_eq!(parse(&addr(&[1])).ok(), Some(Dest::Nothing));
    }
}

//! The control messages of a send on an IP socket, vetted before fdsup
//! sends them.
//!
//! fdsup sends the program's messages itself (`super::send`), so the kernel
//! checks their control messages against fdsup's credentials, not the
//! program's. Two kinds must not pass as they are:
//!
//! - **Source routes.** An `IP_RETOPTS` message with a loose or strict
//!   source route (`IPOPT_LSRR`, `IPOPT_SSRR`), and an `IPV6_RTHDR` (or
//!   RFC 2292 `IPV6_2292RTHDR`) routing header, send the datagram to the
//!   route's first hop: the address fdsup decided becomes a later hop, so
//!   a denied host could be reached. Refused with EPERM whoever the program
//!   is (the `setsockopt` forms are refused by the deny filter:
//!   `filter::ip_options_denial`, `filter::always_denied`).
//! - **What needs a privilege the program does not hold.** `SO_MARK`, an
//!   `SO_PRIORITY` above 6 (`CAP_NET_RAW` or `CAP_NET_ADMIN`), the IPv6
//!   hop-by-hop and destination options, and IP options other
//!   than the no-operation, record-route, timestamp and router-alert ones
//!   (`CAP_NET_RAW`). A supervisor running as root would otherwise lend the
//!   program its capabilities. They are refused with the errno the kernel
//!   gives a program without the capability (measured: EPERM, and EINVAL
//!   for IP options), and passed when the program holds it.
//!
//! The walk is the kernel's ([`super::cmsg`]); a malformed header ends it,
//! and the kernel then refuses the whole message (EINVAL) before it sends
//! anything.
//! The program's capabilities are read ([`super::lend::held_over`]) only
//! when a message needs one, so an ordinary send costs nothing more.

use rustix::thread::CapabilitySet;

use std::os::fd::BorrowedFd;

use super::super::Reply;
use super::cmsg::Walk;
#[cfg(test)]
use super::cmsg::CMSG_HDR;
use super::lend::held_over;

/// IP options (include/uapi/linux/ip.h).
const IPOPT_END: u8 = 0;
const IPOPT_NOOP: u8 = 1;
const IPOPT_RR: u8 = 7;
const IPOPT_TIMESTAMP: u8 = 68;
const IPOPT_LSRR: u8 = 131;
const IPOPT_SSRR: u8 = 137;
const IPOPT_RA: u8 = 148;

/// The most option bytes `ip_cmsg_send` takes from an `IP_RETOPTS` message.
const MAX_IP_OPTIONS: usize = 40;

/// RFC 2292 and RFC 3542 IPv6 control messages (include/uapi/linux/in6.h).
const IPV6_2292HOPOPTS: i32 = 3;
const IPV6_2292DSTOPTS: i32 = 4;
const IPV6_2292RTHDR: i32 = 5;
const IPV6_HOPOPTS: i32 = 54;
const IPV6_RTHDRDSTOPTS: i32 = 55;
const IPV6_RTHDR: i32 = 57;
const IPV6_DSTOPTS: i32 = 59;

/// The highest `SO_PRIORITY` a program may set without a capability
/// (`TC_PRIO_INTERACTIVE`).
const MAX_FREE_PRIORITY: u32 = 6;

/// What one control message needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Nothing: the kernel decides.
    Nothing,
    /// Refused whoever asks: it routes.
    Never,
    /// `CAP_NET_RAW` or `CAP_NET_ADMIN`, else EPERM.
    RawOrAdmin,
    /// `CAP_NET_RAW`, else this errno.
    Raw(i32),
}

/// Vets `control`, the control messages of a send on a socket of `domain`
/// (`AF_INET` or `AF_INET6`) `sock` by thread `tid`.
pub(super) fn vet(
    tid: i32,
    sock: BorrowedFd<'_>,
    domain: i32,
    control: &[u8],
) -> Result<(), Reply> {
    let mut caps: Option<CapabilitySet> = None;
    let mut walk = Walk::default();
    // A malformed header ends the walk: the kernel refuses the message.
    while let Some(Ok(c)) = walk.next(control) {
        let body = &control[c.body()..c.end];
        match need(domain, c.level, c.ty, body) {
            Need::Nothing => {}
            Need::Never => return Err(Reply::Errno(libc::EPERM)),
            need => {
                let raw = CapabilitySet::NET_RAW;
                let admin = CapabilitySet::NET_ADMIN;
                let held = *caps.get_or_insert_with(|| held_over(tid, sock));
                let (ok, errno) = match need {
                    Need::RawOrAdmin => (held.intersects(raw | admin), libc::EPERM),
                    Need::Raw(e) => (held.contains(raw), e),
                    Need::Nothing | Need::Never => (true, 0),
                };
                if !ok {
                    return Err(Reply::Errno(errno));
                }
            }
        }
    }
    Ok(())
}

fn need(domain: i32, level: i32, ty: i32, body: &[u8]) -> Need {
    match (level, ty) {
        (libc::SOL_SOCKET, libc::SO_MARK) => Need::RawOrAdmin,
        (libc::SOL_SOCKET, libc::SO_PRIORITY) => match <[u8; 4]>::try_from(body) {
            Ok(b) if u32::from_ne_bytes(b) > MAX_FREE_PRIORITY => Need::RawOrAdmin,
            _ => Need::Nothing,
        },
        (libc::SOL_IP, libc::IP_RETOPTS) => {
            // As `ip_options_get`: at most 40 bytes, padded with
            // `IPOPT_END` to a multiple of 4 before they are parsed (an
            // option may reach into the padding).
            let n = body.len().min(MAX_IP_OPTIONS);
            let mut padded = [IPOPT_END; MAX_IP_OPTIONS];
            padded[..n].copy_from_slice(&body[..n]);
            ip_options(&padded[..(n + 3) & !3])
        }
        (libc::SOL_IPV6, IPV6_RTHDR | IPV6_2292RTHDR) if domain == libc::AF_INET6 => Need::Never,
        (
            libc::SOL_IPV6,
            IPV6_HOPOPTS | IPV6_2292HOPOPTS | IPV6_DSTOPTS | IPV6_2292DSTOPTS | IPV6_RTHDRDSTOPTS,
        ) if domain == libc::AF_INET6 => Need::Raw(libc::EPERM),
        _ => Need::Nothing,
    }
}

/// IP options, walked as `ip_options_compile` walks them: a source route
/// is never passed, an option other than the no-operation, record-route,
/// timestamp and router-alert ones needs `CAP_NET_RAW` (EINVAL without),
/// a malformed one is left to the kernel's EINVAL.
fn ip_options(opts: &[u8]) -> Need {
    let mut need = Need::Nothing;
    let mut at = 0usize;
    while let Some(&kind) = opts.get(at) {
        match kind {
            IPOPT_END => break,
            IPOPT_NOOP => {
                at += 1;
                continue;
            }
            _ => {}
        }
        let left = opts.len() - at;
        let Some(&optlen) = opts.get(at + 1) else {
            break;
        };
        let optlen = usize::from(optlen);
        if left < 2 || optlen < 2 || optlen > left {
            break;
        }
        match kind {
            IPOPT_LSRR | IPOPT_SSRR => return Need::Never,
            IPOPT_RR | IPOPT_TIMESTAMP | IPOPT_RA => {}
            _ => need = Need::Raw(libc::EINVAL),
        }
        at += optlen;
    }
    need
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    /// [`vet`]'s answer for this process, as an errno (0: passed).
    fn vet_errno(tid: i32, domain: i32, control: &[u8]) -> Result<(), i32> {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        vet(tid, sock.as_fd(), domain, control).map_err(|r| match r {
            Reply::Errno(e) => e,
            other => panic!("{other:?}"),
        })
    }

    fn cmsg(level: i32, ty: i32, body: &[u8]) -> Vec<u8> {
        let len = CMSG_HDR + body.len();
        let mut c = (len as u64).to_ne_bytes().to_vec();
        c.extend(level.to_ne_bytes());
        c.extend(ty.to_ne_bytes());
        c.extend(body);
        c.resize((len + 7) & !7, 0);
        c
    }

    #[test]
    fn source_routes_are_never_passed() {
        assert_eq!(
            ip_options(&[IPOPT_NOOP, IPOPT_LSRR, 7, 4, 10, 0, 0, 1]),
            Need::Never
        );
        assert_eq!(ip_options(&[IPOPT_SSRR, 7, 4, 10, 0, 0, 1, 0]), Need::Never);
        // After a harmless option, and whoever sends.
        let rr_then_lsrr = [IPOPT_RR, 7, 4, 0, 0, 0, 0, IPOPT_LSRR, 7, 4, 10, 0, 0, 1];
        assert_eq!(ip_options(&rr_then_lsrr), Need::Never);
        let c = cmsg(libc::SOL_IP, libc::IP_RETOPTS, &rr_then_lsrr);
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &c),
            Err(libc::EPERM)
        );
        let rh = cmsg(libc::SOL_IPV6, IPV6_RTHDR, &[0, 2, 4, 0, 0, 0, 0, 0]);
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET6, &rh),
            Err(libc::EPERM)
        );
        // An IPv4 socket ignores IPv6 messages.
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &rh),
            Ok(())
        );
    }

    #[test]
    fn a_route_that_reaches_into_the_padding_is_seen() {
        // A no-op, then a loose source route of length 11 in 10 bytes: the
        // kernel pads to 12 with IPOPT_END and takes it (found in review).
        let body = [IPOPT_NOOP, IPOPT_LSRR, 11, 4, 127, 0, 0, 2, 127, 0];
        let c = cmsg(libc::SOL_IP, libc::IP_RETOPTS, &body);
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &c),
            Err(libc::EPERM)
        );
        // A security option hidden the same way still needs CAP_NET_RAW.
        assert_eq!(
            need(
                libc::AF_INET,
                libc::SOL_IP,
                libc::IP_RETOPTS,
                &[IPOPT_NOOP, 130, 3]
            ),
            Need::Raw(libc::EINVAL)
        );
    }

    #[test]
    fn harmless_options_and_the_kernel_s_own_refusals_pass() {
        assert_eq!(ip_options(&[IPOPT_RR, 7, 4, 0, 0, 0, 0, 0]), Need::Nothing);
        assert_eq!(
            ip_options(&[IPOPT_TIMESTAMP, 8, 5, 0, 0, 0, 0, 0]),
            Need::Nothing
        );
        assert_eq!(ip_options(&[IPOPT_RA, 4, 0, 0]), Need::Nothing);
        assert_eq!(
            ip_options(&[IPOPT_NOOP, IPOPT_NOOP, IPOPT_END, IPOPT_LSRR]),
            Need::Nothing
        );
        // Malformed: the kernel refuses the message (a length that runs
        // past the end hides what follows from it too).
        assert_eq!(
            ip_options(&[IPOPT_RR, 1, IPOPT_LSRR, 7, 4, 10, 0, 0, 1]),
            Need::Nothing
        );
        assert_eq!(ip_options(&[IPOPT_RR]), Need::Nothing);
        // Security options need CAP_NET_RAW.
        assert_eq!(ip_options(&[130, 4, 0, 0]), Need::Raw(libc::EINVAL));
        // Only the first 40 bytes count: a route beyond them is not read by
        // the kernel either.
        let mut long = vec![IPOPT_NOOP; MAX_IP_OPTIONS];
        long.extend([IPOPT_LSRR, 7, 4, 10, 0, 0, 1]);
        let c = cmsg(libc::SOL_IP, libc::IP_RETOPTS, &long);
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &c),
            Ok(())
        );
    }

    #[test]
    fn a_malformed_header_ends_the_walk_and_priorities_up_to_6_are_free() {
        let mut c = cmsg(libc::SOL_SOCKET, libc::SO_PRIORITY, &6u32.to_ne_bytes());
        c.extend(cmsg(libc::SOL_IP, libc::IP_TTL, &64i32.to_ne_bytes()));
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &c),
            Ok(())
        );
        let mut bad = cmsg(libc::SOL_IP, libc::IP_TTL, &[0; 4]);
        bad[..8].copy_from_slice(&u64::MAX.to_ne_bytes());
        bad.extend(cmsg(
            libc::SOL_IP,
            libc::IP_RETOPTS,
            &[IPOPT_LSRR, 7, 4, 10, 0, 0, 1, 0],
        ));
        assert_eq!(
            vet_errno(std::process::id() as i32, libc::AF_INET, &bad),
            Ok(())
        );
        assert_eq!(
            need(
                libc::AF_INET,
                libc::SOL_SOCKET,
                libc::SO_PRIORITY,
                &7u32.to_ne_bytes()
            ),
            Need::RawOrAdmin
        );
        assert_eq!(
            need(libc::AF_INET6, libc::SOL_SOCKET, libc::SO_MARK, &[0; 4]),
            Need::RawOrAdmin
        );
        assert_eq!(
            need(libc::AF_INET6, libc::SOL_IPV6, IPV6_HOPOPTS, &[0; 8]),
            Need::Raw(libc::EPERM)
        );
    }
}

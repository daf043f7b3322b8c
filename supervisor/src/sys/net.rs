//! The socket system calls of `handlers::net` and `netns`: sockets are
//! passed as descriptors, addresses as the raw `sockaddr` bytes the program
//! wrote (never re-encoded on the way to the kernel).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::{cvt, cvt_int, owned};

/// `sizeof(struct sockaddr_storage)`: the kernel refuses longer addresses.
pub const SOCKADDR_MAX: usize = 128;

/// `UIO_MAXIOV` (include/uapi/linux/uio.h): the most iovecs or messages one
/// call takes.
pub const UIO_MAXIOV: usize = 1024;

/// `sizeof(struct msghdr)` on x86_64.
pub const MSGHDR_SIZE: usize = 56;

/// `sizeof(struct mmsghdr)` on x86_64.
pub const MMSGHDR_SIZE: usize = 64;

fn addr_len(addr: &[u8]) -> io::Result<libc::socklen_t> {
    if addr.len() > SOCKADDR_MAX {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    libc::socklen_t::try_from(addr.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The bytes of a `struct sockaddr_storage`, aligned as it is, so that the
/// kernel reads an address aligned and we fill and read it as bytes.
#[repr(C, align(8))]
struct Storage([u8; SOCKADDR_MAX]);

impl Storage {
    const fn new() -> Self {
        Self([0; SOCKADDR_MAX])
    }

    fn as_ptr(&self) -> *const libc::sockaddr {
        std::ptr::from_ref(self).cast()
    }

    fn as_mut_ptr(&mut self) -> *mut libc::sockaddr {
        std::ptr::from_mut(self).cast()
    }
}

/// A `sockaddr_storage` holding `addr` (so the kernel can read it aligned).
fn storage(addr: &[u8]) -> Storage {
    let mut ss = Storage::new();
    let n = addr.len().min(SOCKADDR_MAX);
    ss.0[..n].copy_from_slice(&addr[..n]);
    ss
}

/// `socket(domain, ty | SOCK_CLOEXEC, proto)`.
pub fn socket(domain: i32, ty: i32, proto: i32) -> io::Result<OwnedFd> {
    use rustix::net::{AddressFamily, Protocol, SocketFlags, SocketType};
    // A family past 16 bits is past the kernel's last (EAFNOSUPPORT).
    let domain =
        u16::try_from(domain).map_err(|_| io::Error::from_raw_os_error(libc::EAFNOSUPPORT))?;
    let proto = std::num::NonZeroU32::new(proto.cast_unsigned()).map(Protocol::from_raw);
    Ok(rustix::net::socket_with(
        AddressFamily::from_raw(domain),
        SocketType::from_raw(ty.cast_unsigned()),
        SocketFlags::CLOEXEC,
        proto,
    )?)
}

/// `connect(fd, addr, len)`.
pub fn connect(fd: BorrowedFd<'_>, addr: &[u8]) -> io::Result<()> {
    let len = addr_len(addr)?;
    let ss = storage(addr);
    // SAFETY: `ss` holds at least `len` bytes.
    cvt_int(unsafe { libc::connect(fd.as_raw_fd(), ss.as_ptr(), len) }).map(drop)
}

/// `bind(fd, addr, len)`.
pub fn bind(fd: BorrowedFd<'_>, addr: &[u8]) -> io::Result<()> {
    let len = addr_len(addr)?;
    let ss = storage(addr);
    // SAFETY: `ss` holds at least `len` bytes.
    cvt_int(unsafe { libc::bind(fd.as_raw_fd(), ss.as_ptr(), len) }).map(drop)
}

/// What the kernel does to a Unix socket before it looks for the peer of a
/// `connect` or of a datagram send (`unix_stream_connect`,
/// `unix_dgram_connect`, `unix_dgram_sendmsg`): one that passes
/// credentials (`SO_PASSCRED`, `SO_PASSPIDFD`) and has no name yet is
/// autobound (given an abstract name of its own), whatever the lookup then
/// finds. For a request fdsup answers without the kernel's lookup (a path
/// that is absent, hidden or refused). Best effort, as the kernel's own
/// failure to autobind (no free name) is its answer too.
pub fn autobind_if_passing_credentials(fd: BorrowedFd<'_>) {
    let on = |opt| getsockopt_int(fd, libc::SOL_SOCKET, opt).is_ok_and(|v| v != 0);
    if !(on(libc::SO_PASSCRED) || on(libc::SO_PASSPIDFD)) {
        return;
    }
    // Unbound: the name is the family alone.
    if local_name(fd).is_ok_and(|n| n.len() <= std::mem::size_of::<libc::sa_family_t>()) {
        let family = libc::sa_family_t::try_from(libc::AF_UNIX).unwrap_or_default();
        let _ = bind(fd, &family.to_ne_bytes());
    }
}

/// A `struct msghdr` with the name (if any) and nothing else yet.
fn msghdr(name: Option<&Storage>, name_len: libc::socklen_t) -> libc::msghdr {
    libc::msghdr {
        msg_name: name.map_or(std::ptr::null_mut(), |ss| ss.as_ptr().cast_mut().cast()),
        msg_namelen: if name.is_some() { name_len } else { 0 },
        msg_iov: std::ptr::null_mut(),
        msg_iovlen: 0,
        msg_control: std::ptr::null_mut(),
        msg_controllen: 0,
        msg_flags: 0,
    }
}

/// `sendmsg(fd, {name, [data], control}, flags)`: bytes sent.
pub fn sendmsg(
    fd: BorrowedFd<'_>,
    name: Option<&[u8]>,
    data: &[u8],
    control: &mut [u8],
    flags: i32,
) -> io::Result<usize> {
    let ss = name.map(storage);
    let name_len = match name {
        Some(n) => addr_len(n)?,
        None => 0,
    };
    if let (Some(ss), 0, true) = (&ss, name_len, control.is_empty()) {
        // An address of length 0 (`sendto` with one): `sendmsg` would drop
        // it, `sendto` gives it to the protocol as it is.
        // SAFETY: `data` is readable for its length and `ss` a valid
        // sockaddr buffer (of length 0).
        let r = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                flags,
                ss.as_ptr(),
                0,
            )
        };
        return Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0));
    }
    let mut iov = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let mut msg = msghdr(ss.as_ref(), name_len);
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !control.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
    }
    // SAFETY: every pointer in `msg` points to live memory of the length
    // given; the kernel only reads through them.
    let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// `sendmsg(fd, {name, [data, NULL of tail bytes], control}, flags)`: a
/// send whose bytes after `data` cannot be read, so that the kernel copies
/// `data`, then meets a fault where the program's own buffer faults, and
/// answers as it would have answered the program: the count it sent before
/// the fault (a stream), or `EFAULT` (a datagram, or nothing sent), or any
/// error it checks before copying. With no `data`, it is a probe that sends
/// nothing: its answer is the first error the kernel would give a send
/// whose buffers fault. `tail` must not be 0 (nothing would fault).
pub fn sendmsg_faulting(
    fd: BorrowedFd<'_>,
    name: Option<&[u8]>,
    data: &[u8],
    tail: usize,
    control: &mut [u8],
    flags: i32,
) -> io::Result<usize> {
    if tail == 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    let ss = name.map(storage);
    let name_len = match name {
        Some(n) => addr_len(n)?,
        None => 0,
    };
    let mut iov = [
        libc::iovec {
            iov_base: data.as_ptr().cast_mut().cast(),
            iov_len: data.len(),
        },
        libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: tail,
        },
    ];
    let mut msg = msghdr(ss.as_ref(), name_len);
    msg.msg_iov = iov.as_mut_ptr();
    msg.msg_iovlen = iov.len();
    if !control.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = control.len();
    }
    // SAFETY: the name, the data and the control point to live memory of
    // their lengths; the second iovec is null, which the kernel reads
    // through its user-copy routines (a fault), never dereferenced here.
    let r = unsafe { libc::sendmsg(fd.as_raw_fd(), &msg, flags) };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// Whether this process may give an IPv4 socket of its network namespace
/// a loose source route (`setsockopt(IP_OPTIONS)` with `IPOPT_LSRR`, asked
/// of a socket made for the question). The kernel refuses it without
/// `CAP_NET_RAW` since the change that restricted source routes; before,
/// anyone could.
pub fn source_route_allowed() -> bool {
    let Ok(s) = socket(libc::AF_INET, libc::SOCK_DGRAM, 0) else {
        // No IPv4: nothing to route.
        return false;
    };
    // A no-op, then a loose source route through 192.0.2.1 (TEST-NET-1).
    let opts: [u8; 8] = [1, 131, 7, 4, 192, 0, 2, 1];
    let len = libc::socklen_t::try_from(opts.len()).unwrap_or(8);
    // SAFETY: `opts` is readable for `len` bytes; the socket is ours.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_OPTIONS,
            opts.as_ptr().cast(),
            len,
        )
    };
    r == 0
}

/// `getsockopt(fd, level, opt)` of an `int` option.
pub fn getsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32) -> io::Result<i32> {
    let mut v: libc::c_int = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: `v` and `len` are valid out-pointers of the size given.
    cvt_int(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            std::ptr::addr_of_mut!(v).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// `setsockopt(fd, level, opt, &v)` of an `int` option.
pub fn setsockopt_int(fd: BorrowedFd<'_>, level: i32, opt: i32, v: i32) -> io::Result<()> {
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::c_int>()).unwrap_or(4);
    // SAFETY: `v` is readable for `len` bytes.
    cvt_int(unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            level,
            opt,
            std::ptr::addr_of!(v).cast(),
            len,
        )
    })
    .map(drop)
}

/// `getpeername(fd)`: whether the socket has a peer (is connected).
pub fn has_peer(fd: BorrowedFd<'_>) -> bool {
    rustix::net::getpeername(fd).is_ok()
}

/// `poll([fd, POLLOUT], timeout_ms)`: whether it became writable (a
/// non-blocking connect finished) before the timeout.
pub fn poll_out(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<bool> {
    Ok(poll_out_err(fd, timeout_ms)?.is_some())
}

/// `poll([fd, POLLOUT], timeout_ms)`: `None` if not ready in time, else
/// whether it is ready with an error (`POLLERR`: a connect refused), which
/// is left pending for whoever reads `SO_ERROR`.
pub fn poll_out_err(fd: BorrowedFd<'_>, timeout_ms: i32) -> io::Result<Option<bool>> {
    use rustix::event::{PollFd, PollFlags, Timespec};
    let mut p = [PollFd::new(&fd, PollFlags::OUT)];
    // A negative timeout waits for ever, as poll's does.
    let timeout = (timeout_ms >= 0).then(|| Timespec {
        tv_sec: i64::from(timeout_ms / 1000),
        tv_nsec: i64::from(timeout_ms % 1000) * 1_000_000,
    });
    let n = rustix::event::poll(&mut p, timeout.as_ref())?;
    Ok((n > 0).then(|| p[0].revents().contains(PollFlags::ERR)))
}

/// `SIOCGSKNS` (include/uapi/linux/sockios.h): the socket's network namespace.
pub const SIOCGSKNS: libc::c_ulong = 0x894C;

/// `ioctl(fd, SIOCGSKNS)`: the network namespace the socket belongs to.
pub fn socket_netns(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // SAFETY: SIOCGSKNS takes no argument and returns a new descriptor.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCGSKNS) };
    owned(libc::c_long::from(cvt_int(r)?))
}

/// `getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE)`: the cookie of the
/// socket's network namespace (Linux 5.14), which, unlike [`socket_netns`]
/// (`CAP_NET_ADMIN`), anyone may ask.
pub fn netns_cookie(fd: BorrowedFd<'_>) -> io::Result<u64> {
    const SO_NETNS_COOKIE: libc::c_int = 71;
    let mut v: u64 = 0;
    let mut len = libc::socklen_t::try_from(std::mem::size_of::<u64>()).unwrap_or(8);
    // SAFETY: `v` and `len` are valid out-pointers of the size given.
    cvt_int(unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            SO_NETNS_COOKIE,
            std::ptr::addr_of_mut!(v).cast(),
            &mut len,
        )
    })?;
    Ok(v)
}

/// `ioctl(ns, NS_GET_USERNS)`: the user namespace that owns namespace
/// `ns`.
pub fn ns_owner(ns: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    // _IO(0xb7, 0x1), include/uapi/linux/nsfs.h.
    const NS_GET_USERNS: libc::c_ulong = 0xb701;
    // SAFETY: NS_GET_USERNS takes no argument and returns a new descriptor.
    let r = unsafe { libc::ioctl(ns.as_raw_fd(), NS_GET_USERNS) };
    owned(libc::c_long::from(cvt_int(r)?))
}

/// `fstat(fd)`: device and inode (to compare namespaces).
pub fn dev_ino(fd: BorrowedFd<'_>) -> io::Result<(u64, u64)> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_dev, st.st_ino))
}

/// `getsockname(fd)`: the socket's own address, as the kernel writes it.
pub fn local_name(fd: BorrowedFd<'_>) -> io::Result<Vec<u8>> {
    let mut ss = Storage::new();
    let mut len = libc::socklen_t::try_from(SOCKADDR_MAX).unwrap_or(128);
    // SAFETY: `ss` and `len` are valid out-pointers of the size given.
    cvt_int(unsafe { libc::getsockname(fd.as_raw_fd(), ss.as_mut_ptr(), &mut len) })?;
    let n = usize::try_from(len).unwrap_or(0).min(SOCKADDR_MAX);
    Ok(ss.0[..n].to_vec())
}

/// `fcntl(fd, F_SETFL, flags)`: sets the file status flags.
pub fn setfl(fd: BorrowedFd<'_>, flags: i32) -> io::Result<()> {
    let flags = rustix::fs::OFlags::from_bits_retain(flags.cast_unsigned());
    Ok(rustix::fs::fcntl_setfl(fd, flags)?)
}

/// `recvmsg(fd)` of one message with descriptors (`SCM_RIGHTS`, made
/// close-on-exec): its length and the descriptors, now ours. ENOBUFS when
/// the message had more descriptors than the room for 8 (those that came
/// are closed).
pub fn recv_with_fds(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    use rustix::net::{RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, ReturnFlags};
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(8))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let msg = rustix::net::recvmsg(fd, &mut iov, &mut control, RecvFlags::CMSG_CLOEXEC)?;
    let mut fds = Vec::new();
    for c in control.drain() {
        if let RecvAncillaryMessage::ScmRights(v) = c {
            fds.extend(v);
        }
    }
    if msg.flags.contains(ReturnFlags::CTRUNC) {
        return Err(io::Error::from_raw_os_error(libc::ENOBUFS));
    }
    Ok((msg.bytes, fds))
}

/// Takes ownership of descriptor `fd`, inherited from the parent that
/// passed its number (the binder's end of its socket): checked to be open.
pub fn inherited(fd: std::os::fd::RawFd) -> io::Result<OwnedFd> {
    if fd <= 2 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_GETFD only reads the descriptor's flags.
    cvt_int(unsafe { libc::fcntl(fd, libc::F_GETFD) })?;
    // SAFETY: the descriptor is open (checked above), and by the protocol
    // with the parent nothing else in this fresh process owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `SO_SNDTIMEO` of the socket (zero: none).
pub fn send_timeout(fd: BorrowedFd<'_>) -> io::Result<std::time::Duration> {
    let t = rustix::net::sockopt::socket_timeout(fd, rustix::net::sockopt::Timeout::Send)?;
    Ok(t.unwrap_or_default())
}

/// Sets `SO_SNDTIMEO` of the socket (zero: none).
pub fn set_send_timeout(fd: BorrowedFd<'_>, t: std::time::Duration) -> io::Result<()> {
    let t = (!t.is_zero()).then_some(t);
    Ok(rustix::net::sockopt::set_socket_timeout(
        fd,
        rustix::net::sockopt::Timeout::Send,
        t,
    )?)
}

/// What `sock_diag` says of one Unix socket (`UNIX_DIAG_NAME`,
/// `UNIX_DIAG_VFS`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixDiag {
    /// Its address's `sun_path` bytes as bound (an abstract name starts
    /// with a NUL); empty when unbound.
    pub name: Vec<u8>,
    /// The socket file's device (as `stat` gives `st_dev`) and inode, for
    /// a socket bound to a path.
    pub vfs: Option<(u64, u64)>,
}

/// A `NETLINK_SOCK_DIAG` socket in the caller's network namespace, for
/// [`unix_diag`].
///
/// Connected to the kernel (port 0): the kernel then drops what any other
/// port sends it, so that a program with `CAP_NET_ADMIN` cannot queue
/// answers of its own making (found in review).
pub fn sock_diag_socket() -> io::Result<OwnedFd> {
    use rustix::net::{netlink, AddressFamily, SocketFlags, SocketType};
    let s = rustix::net::socket_with(
        AddressFamily::NETLINK,
        SocketType::DGRAM,
        SocketFlags::CLOEXEC,
        Some(netlink::SOCK_DIAG),
    )?;
    let mut kernel = [0u8; 12];
    kernel[..2].copy_from_slice(&16u16.to_ne_bytes());
    connect(std::os::fd::AsFd::as_fd(&s), &kernel)?;
    // The kernel answers at once; should it not, a worker (which asks under
    // a lock) must not wait for ever: the question fails, and the socket is
    // then not the sandbox's own (a refusal in excess).
    rustix::net::sockopt::set_socket_timeout(
        &s,
        rustix::net::sockopt::Timeout::Recv,
        Some(std::time::Duration::from_secs(1)),
    )?;
    Ok(s)
}

/// Asks `diag` (a [`sock_diag_socket`]) about the Unix socket whose sockfs
/// inode is `ino`: `None` if no socket of its namespace has it (closed).
pub fn unix_diag(diag: BorrowedFd<'_>, ino: u32) -> io::Result<Option<UnixDiag>> {
    use rustix::net::{RecvFlags, SendFlags};
    const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLM_F_REQUEST: u16 = 1;
    const NLMSG_ERROR: u16 = 2;
    const UDIAG_SHOW_NAME: u32 = 1;
    const UDIAG_SHOW_VFS: u32 = 2;
    const UNIX_DIAG_NAME: u16 = 0;
    const UNIX_DIAG_VFS: u16 = 1;
    const HDR: usize = 16;
    const MSG: usize = 16;
    const REQ_LEN: u32 = 16 + 24;
    const AF_UNIX_BYTE: u8 = 1;
    const _: () = assert!(libc::AF_UNIX == 1);
    if ino == 0 {
        return Ok(None);
    }
    // nlmsghdr, then unix_diag_req (every state; no cookie to check).
    let mut req = [0u8; HDR + 24];
    req[0..4].copy_from_slice(&REQ_LEN.to_ne_bytes());
    req[4..6].copy_from_slice(&SOCK_DIAG_BY_FAMILY.to_ne_bytes());
    req[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
    req[HDR] = AF_UNIX_BYTE;
    req[HDR + 4..HDR + 8].copy_from_slice(&u32::MAX.to_ne_bytes());
    req[HDR + 8..HDR + 12].copy_from_slice(&ino.to_ne_bytes());
    req[HDR + 12..HDR + 16].copy_from_slice(&(UDIAG_SHOW_NAME | UDIAG_SHOW_VFS).to_ne_bytes());
    req[HDR + 16..HDR + 24].copy_from_slice(&[0xff; 8]);
    // What an earlier question left (an answer after an error) goes first;
    // the answer is the one with this question's sequence number.
    static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    req[8..12].copy_from_slice(&seq.to_ne_bytes());
    let mut buf = [0u8; 1024];
    while rustix::net::recv(diag, &mut buf[..], RecvFlags::DONTWAIT).is_ok() {}
    rustix::net::send(diag, &req, SendFlags::empty())?;
    let mut got: &[u8] = &[];
    for _ in 0..8 {
        let (n, _) = rustix::net::recv(diag, &mut buf[..], RecvFlags::empty())?;
        if buf.get(8..12) == Some(&seq.to_ne_bytes()[..]) {
            got = buf.get(..n).unwrap_or_default();
            break;
        }
    }
    let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|x| u16::from_ne_bytes([x[0], x[1]]));
    let u32_at = |b: &[u8], i: usize| {
        b.get(i..i + 4)
            .map(|x| u32::from_ne_bytes([x[0], x[1], x[2], x[3]]))
    };
    let bad = || io::Error::from_raw_os_error(libc::EPROTO);
    let len = u32_at(got, 0).ok_or_else(bad)? as usize;
    let ty = u16_at(got, 4).ok_or_else(bad)?;
    let msg = got.get(..len.min(got.len())).ok_or_else(bad)?;
    if ty == NLMSG_ERROR {
        let e = u32_at(msg, HDR).map(|v| v as i32).ok_or_else(bad)?;
        return match -e {
            0 | libc::ENOENT => Ok(None),
            e => Err(io::Error::from_raw_os_error(e)),
        };
    }
    if ty != SOCK_DIAG_BY_FAMILY || u32_at(msg, HDR + 4) != Some(ino) {
        return Err(bad());
    }
    let mut out = UnixDiag::default();
    let mut at = HDR + MSG;
    while let (Some(alen), Some(aty)) = (u16_at(msg, at), u16_at(msg, at + 2)) {
        let alen = usize::from(alen);
        let Some(body) = msg.get(at + 4..at + alen.max(4)) else {
            break;
        };
        match aty {
            UNIX_DIAG_NAME => out.name = body.to_vec(),
            UNIX_DIAG_VFS => {
                if let (Some(vino), Some(vdev)) = (u32_at(body, 0), u32_at(body, 4)) {
                    // The kernel's dev_t (major << 20 | minor), as stat
                    // encodes it.
                    let dev = libc::makedev(vdev >> 20, vdev & 0xf_ffff);
                    out.vfs = Some((dev, u64::from(vino)));
                }
            }
            _ => {}
        }
        if alen < 4 {
            break;
        }
        at += (alen + 3) & !3;
    }
    Ok(Some(out))
}

/// The sockfs inode of socket `fd` (what `sock_diag` knows it by).
pub fn socket_ino(fd: BorrowedFd<'_>) -> io::Result<u64> {
    Ok(rustix::fs::fstat(fd)?.st_ino)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<libc::sockaddr_storage>(), SOCKADDR_MAX);
        assert_eq!(std::mem::size_of::<Storage>(), SOCKADDR_MAX);
        assert!(std::mem::align_of::<Storage>() >= std::mem::align_of::<libc::sockaddr_storage>());
        assert_eq!(std::mem::size_of::<libc::msghdr>(), MSGHDR_SIZE);
        assert_eq!(std::mem::size_of::<libc::mmsghdr>(), MMSGHDR_SIZE);
        // _IO(0x89, 0x4c) is just the number: sockios are not _IOC-encoded.
        assert_eq!(SIOCGSKNS, 0x894C);
    }
}

//! Network requests: `connect`, `bind`, and every send with a destination
//! address (`sendto`, `sendmsg`, `sendmmsg`; TCP Fast Open is a send with an
//! address), for `AF_INET`, `AF_INET6` and `AF_UNIX` (path and abstract).
//!
//! Each request is read once — the address, and for `sendmsg` the
//! `msghdr`, its iovecs and their bytes, its control messages — then
//! `ID_VALID` vouches for what was read, the address is decided by the
//! network rules (SPEC.md: last matching rule wins; `unix:/path` on the
//! canonical path), and the request is **carried out by the supervisor** on
//! the program's own socket, fetched with `pidfd_getfd` (the same open file
//! description), with the copied bytes. `SECCOMP_USER_NOTIF_FLAG_CONTINUE` is
//! never used here: a racing thread that rewrites the `sockaddr` after it was
//! read changes nothing, since the kernel never looks at the program's copy.
//!
//! - A denied `connect` fails with `ECONNREFUSED`, every other denial with
//!   `EACCES`. `redirect` replaces the address (an IPv4 target on an IPv6
//!   socket is written v4-mapped); the target must be of the socket's
//!   family, or the request fails with `EAFNOSUPPORT`.
//! - `AF_UNIX` paths are resolved as the file-system handlers resolve paths
//!   (from the program's working directory, symbolic links followed by
//!   hand), decided on the canonical path, and reached through the `O_PATH`
//!   descriptor of the socket file (`/proc/self/fd/N`), so a path swapped
//!   after the decision reaches nothing else. A `bind` creates the socket
//!   file through the `O_PATH` descriptor of its canonical parent
//!   (`/proc/self/fd/N/name`) and applies the program's umask.
//! - Blocking: the program's `O_NONBLOCK` is its socket's, so a non-blocking
//!   `connect` answers `EINPROGRESS` exactly as natively. A blocking
//!   `connect` is started with `O_NONBLOCK` set on the socket for the one
//!   syscall (the program's thread is waiting in this very request) and
//!   waited for with `poll`: for a loopback address on the worker for at
//!   most `INLINE_WAIT_MS` (the connection is made by then), else on a
//!   thread of its own ([`Deferred`]), never blocking a worker; the event
//!   loop interrupts that thread if the request dies. A send on a blocking
//!   socket is first tried with `MSG_DONTWAIT`; what did not fit then waits
//!   for room on such a thread, and the answer is the total, as natively.
//! - `sendmsg` cannot be filtered on `msg_name` (it is in memory), so every
//!   `sendmsg` is trapped once the network is mediated, and each is
//!   emulated, with or without an address: the data is copied (at most
//!   [`MAX_DATA`] bytes: a stream socket sends that much and reports it, a
//!   datagram larger than that fails with `EMSGSIZE`), `SCM_RIGHTS`
//!   descriptors are fetched from the program and passed as ours (the
//!   receiver gets the same files), `SCM_CREDENTIALS` must name the program
//!   itself (else `EPERM`: the kernel would check them against fdsup), other
//!   control messages are passed as they are. `sendmmsg` sends message by message and stops at the first
//!   refusal or error, answering the count sent (or the error if none was),
//!   with each sent message's `msg_len` written back, as the kernel does.
//! - Under `isolate`, the program lives in an empty network namespace. An
//!   allowed `connect` of an IP or abstract Unix socket is **brokered**
//!   (`broker`): the supervisor makes a socket of the same domain, type
//!   and protocol in its own namespace (with the program's `O_NONBLOCK` and
//!   a few options copied), connects it, and installs it over the program's
//!   descriptor at the same number (`SECCOMP_ADDFD_FLAG_SETFD`, with the
//!   program's close-on-exec flag), then answers 0 or `EINPROGRESS`. The
//!   first send with an address from a datagram socket the program has not
//!   bound is brokered the same way (`broker_datagram`: the twin sends it,
//!   and the answer is the byte count). A socket already in fdsup's
//!   namespace (brokered before) is used as it is. Binds, and sends from a
//!   socket the program bound, are carried out on the program's own socket
//!   in its empty namespace.
//!
//! What the kernel learns of the peer is the supervisor's: a Unix socket
//! connected or sent on by fdsup carries fdsup's credentials
//! (`SO_PEERCRED`, `SCM_CREDENTIALS` added by `SO_PASSCRED`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::path::{resolve_read, Obj};
use super::{Ctx, Reply, Scratch};
use crate::audit::{Record, Verdict};
use crate::notify::{Listener, Notif};
use crate::policy::{NetAccess, NetOp, NetTarget, RedirectTarget};
use crate::sys::{self, net as sn};
use crate::syscalls::{Kind, Mediated};
use crate::task::{ReadError, RemoteFd, Task};

/// The most bytes one emulated send copies from the program.
pub const MAX_DATA: usize = 4 << 20;

/// The most control-message bytes one send takes (the kernel's own limit,
/// `optmem_max`, is smaller by default).
const MAX_CONTROL: usize = 64 << 10;

/// `offsetof(struct sockaddr_un, sun_path)`.
const SUN_PATH: usize = 2;

/// A request finished off the worker: a blocking `connect` or send. `run`
/// is given a check that the request is still waiting for its answer.
pub struct Deferred(Box<Job>);

/// The work of a [`Deferred`].
type Job = dyn FnOnce(&dyn Fn() -> bool) -> Reply + Send;

impl Deferred {
    /// Runs the job; `valid` says whether the request still waits.
    pub fn run(self, valid: &dyn Fn() -> bool) -> Reply {
        (self.0)(valid)
    }
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Deferred")
    }
}

/// Handles one network notification.
pub fn handle(ctx: &Ctx, listener: &Listener, n: &Notif, m: &Mediated, sc: &mut Scratch) -> Reply {
    let mut req = Req {
        ctx,
        listener,
        n,
        task: Task::new(n.pid),
        syscall: m.name,
    };
    let a = n.data.args;
    match m.kind {
        Kind::Connect | Kind::Bind => {
            let op = if m.kind == Kind::Connect {
                NetOp::Connect
            } else {
                NetOp::Bind
            };
            connect_or_bind(&mut req, sc, op, a[0], a[1], a[2])
        }
        Kind::Sendto => sendto(&mut req, sc, a),
        Kind::Sendmsg => sendmmsg(&mut req, sc, a[0], a[1], 1, a[2], false),
        Kind::Sendmmsg => sendmmsg(&mut req, sc, a[0], a[1], a[2], a[3], true),
        _ => Reply::Errno(libc::ENOSYS),
    }
}

struct Req<'a> {
    ctx: &'a Ctx,
    listener: &'a Listener,
    n: &'a Notif,
    task: Task,
    syscall: &'static str,
}

impl Req<'_> {
    fn valid(&self) -> bool {
        self.listener.id_valid(self.n.id)
    }

    fn log(
        &self,
        sc: &mut Scratch,
        addr: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        rule: Option<&crate::policy::Origin>,
    ) {
        if let Some(l) = &self.ctx.learn {
            // `--learn`: every address the program reached becomes a
            // `connect` rule (a bind is not one: it is left to the default).
            if !verdict.is_refusal() && self.syscall != "bind" {
                l.note_connect(self.task.tid(), &String::from_utf8_lossy(addr));
            }
        }
        if !self.ctx.audit.wants(verdict) {
            return;
        }
        let rec = Record {
            pid: self.task.tid(),
            syscall: self.syscall,
            path: addr,
            flags: None,
            verdict,
            errno,
            rule,
        };
        self.ctx.audit.record_addr(&rec, &mut sc.line);
    }
}

fn read_err(e: ReadError) -> Reply {
    e.reply(libc::EFAULT)
}

fn errno_of(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// The address as the program wrote it.
struct Addr {
    buf: [u8; sn::SOCKADDR_MAX],
    len: usize,
}

impl Addr {
    fn bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    fn family(&self) -> Option<i32> {
        (self.len >= 2).then(|| i32::from(u16::from_ne_bytes([self.buf[0], self.buf[1]])))
    }
}

/// Reads `len` bytes of address at `ptr` (the kernel's
/// `move_addr_to_kernel`: more than a `sockaddr_storage` is EINVAL).
fn read_addr(task: &Task, ptr: u64, len: u64) -> Result<Addr, Reply> {
    let len = usize::try_from(sys::low_i32(len)).map_err(|_| Reply::Errno(libc::EINVAL))?;
    if len > sn::SOCKADDR_MAX {
        return Err(Reply::Errno(libc::EINVAL));
    }
    let mut a = Addr {
        buf: [0; sn::SOCKADDR_MAX],
        len,
    };
    if len > 0 {
        task.read_exact(ptr, &mut a.buf[..len]).map_err(read_err)?;
    }
    Ok(a)
}

/// What an address names, as the policy sees it.
enum Dest {
    /// IPv4 or IPv6.
    Inet(SocketAddr),
    /// `AF_UNIX` with a path (bytes `SUN_PATH..end` of the address).
    UnixPath(usize),
    /// `AF_UNIX` abstract (bytes `SUN_PATH + 1..len`).
    UnixAbstract,
    /// Nothing to decide: `AF_UNSPEC` (a disconnect), an empty address, an
    /// `AF_UNIX` address with no name (autobind), a netlink address.
    Nothing,
    /// A family the rules cannot name: the section default decides.
    Other,
}

/// Parses the address; a malformed one is refused as the kernel would.
fn parse(a: &Addr) -> Result<Dest, Reply> {
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

/// `sockaddr_in`/`sockaddr_in6` bytes for `sa`, in the socket's `domain`
/// (an IPv4 address on an IPv6 socket is written v4-mapped).
fn inet_bytes(sa: SocketAddr, domain: i32) -> Result<Vec<u8>, i32> {
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
fn unix_bytes(path: &[u8], abstract_name: bool) -> Result<Vec<u8>, i32> {
    let mut b = Vec::with_capacity(SUN_PATH + path.len() + 2);
    b.extend_from_slice(&u16::try_from(libc::AF_UNIX).unwrap_or(1).to_ne_bytes());
    if abstract_name {
        b.push(0);
        b.extend_from_slice(path);
    } else {
        b.extend_from_slice(path);
        b.push(0);
    }
    if b.len() > std::mem::size_of::<libc::sockaddr_un>() {
        return Err(libc::ENAMETOOLONG);
    }
    Ok(b)
}

/// The address shown in the log and on `-v`.
fn shown(dest: &Dest, a: &Addr, canonical: &[u8], out: &mut Vec<u8>) {
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
            out.extend_from_slice(&a.bytes()[SUN_PATH + 1..]);
        }
        Dest::Nothing => out.extend_from_slice(b"(none)"),
        Dest::Other => {
            let _ = write!(out, "family {}", a.family().unwrap_or(0));
        }
    }
}

/// What a decided address becomes: the bytes to give the kernel, and what
/// must stay open until it has used them.
struct Target {
    /// `None`: no address (the request had none).
    bytes: Option<Vec<u8>>,
    /// The `O_PATH` descriptor a `/proc/self/fd/N` address names.
    _hold: Option<OwnedFd>,
    /// A brokerable destination under `isolate` (IP or abstract Unix).
    brokerable: bool,
}

/// Reads nothing more: decides the address `a` for `op` on a socket of
/// `domain`, logs, and gives the address to carry the request out with.
fn decide(
    req: &mut Req<'_>,
    sc: &mut Scratch,
    op: NetOp,
    a: &Addr,
    domain: i32,
) -> Result<Target, Reply> {
    let dest = parse(a)?;
    let refuse = if op == NetOp::Connect && req.syscall == "connect" {
        libc::ECONNREFUSED
    } else {
        libc::EACCES
    };
    let mut canonical = Vec::new();
    let mut hold = None;
    if let Dest::UnixPath(end) = dest {
        let path = &a.bytes()[SUN_PATH..end];
        if path.len() >= sc.raw.len() {
            return Err(Reply::Errno(libc::ENAMETOOLONG));
        }
        sc.raw[..path.len()].copy_from_slice(path);
        sc.raw[path.len()] = 0;
        // connect and send follow a final symbolic link; bind creates.
        let follow = op == NetOp::Connect;
        match resolve_read(
            req.ctx,
            req.listener,
            req.n,
            &mut req.task,
            sc,
            libc::AT_FDCWD,
            path.len(),
            follow,
            false,
        )? {
            Obj::Found { fd, .. } => hold = Some(fd),
            Obj::Absent => {}
        }
        canonical.clone_from(&sc.walk.path);
    }
    let decision = match &dest {
        Dest::Nothing => None,
        Dest::Inet(sa) => Some(req.ctx.policy.decide_inet(op, *sa)),
        Dest::UnixPath(_) => Some(
            req.ctx
                .policy
                .decide_net(op, NetTarget::UnixPath(&canonical)),
        ),
        Dest::UnixAbstract => Some(
            req.ctx
                .policy
                .decide_net(op, NetTarget::UnixAbstract(&a.bytes()[SUN_PATH + 1..])),
        ),
        Dest::Other => Some(crate::policy::NetDecision {
            access: req.ctx.policy.network.default,
            rule: None,
        }),
    };
    let mut text = Vec::new();
    let Some(decision) = decision else {
        return Ok(Target {
            bytes: Some(a.bytes().to_vec()),
            _hold: None,
            brokerable: false,
        });
    };
    let origin = decision.rule.map(|r| &r.origin);
    if decision.access == NetAccess::Deny {
        shown(&dest, a, &canonical, &mut text);
        req.log(sc, &text, Verdict::Deny, Some(refuse), origin);
        return Err(Reply::Errno(refuse));
    }
    let redirect = decision.rule.and_then(|r| r.redirect.as_ref());
    let verdict = if redirect.is_some() {
        Verdict::Redirect
    } else {
        Verdict::Allow
    };
    if req.ctx.audit.wants(verdict) || req.ctx.learn.is_some() {
        shown(&dest, a, &canonical, &mut text);
        req.log(sc, &text, verdict, None, origin);
    }
    if op == NetOp::Connect {
        if let Some(r) = redirect {
            let (bytes, brokerable) = match r {
                RedirectTarget::Inet(sa) => (inet_bytes(*sa, domain), true),
                RedirectTarget::UnixPath(p) if domain == libc::AF_UNIX => {
                    (unix_bytes(p.as_bytes(), false), false)
                }
                RedirectTarget::UnixAbstract(nm) if domain == libc::AF_UNIX => {
                    (unix_bytes(nm.as_bytes(), true), true)
                }
                _ => (Err(libc::EAFNOSUPPORT), false),
            };
            return Ok(Target {
                bytes: Some(bytes.map_err(Reply::Errno)?),
                _hold: None,
                brokerable,
            });
        }
    }
    match dest {
        Dest::UnixPath(_) => unix_path_target(op, hold, &canonical),
        Dest::Inet(_) | Dest::UnixAbstract => Ok(Target {
            bytes: Some(a.bytes().to_vec()),
            _hold: None,
            brokerable: true,
        }),
        _ => Ok(Target {
            bytes: Some(a.bytes().to_vec()),
            _hold: None,
            brokerable: false,
        }),
    }
}

/// The address that reaches exactly the decided socket file: its `O_PATH`
/// descriptor, or for a `bind` its canonical parent's plus the name.
fn unix_path_target(op: NetOp, hold: Option<OwnedFd>, canonical: &[u8]) -> Result<Target, Reply> {
    use std::io::Write as _;
    let mut p = Vec::with_capacity(64);
    if op == NetOp::Bind {
        if hold.is_some() {
            return Err(Reply::Errno(libc::EADDRINUSE));
        }
        let slash = canonical
            .iter()
            .rposition(|&c| c == b'/')
            .ok_or(Reply::Errno(libc::ENOENT))?;
        let (dir, name) = (&canonical[..slash.max(1)], &canonical[slash + 1..]);
        let dir = std::ffi::CString::new(dir).map_err(|_| Reply::Errno(libc::EINVAL))?;
        let how = sys::OpenHow {
            flags: u64::from((libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC).unsigned_abs()),
            mode: 0,
            resolve: sys::RESOLVE_NO_SYMLINKS,
        };
        let dfd =
            sys::openat2(libc::AT_FDCWD, &dir, &how).map_err(|e| Reply::Errno(errno_of(&e)))?;
        let _ = write!(p, "/proc/self/fd/{}/", dfd.as_raw_fd());
        p.extend_from_slice(name);
        return Ok(Target {
            bytes: Some(unix_bytes(&p, false).map_err(Reply::Errno)?),
            _hold: Some(dfd),
            brokerable: false,
        });
    }
    // Nothing there: as natively.
    let Some(fd) = hold else {
        return Err(Reply::Errno(libc::ENOENT));
    };
    let _ = write!(p, "/proc/self/fd/{}", fd.as_raw_fd());
    Ok(Target {
        bytes: Some(unix_bytes(&p, false).map_err(Reply::Errno)?),
        _hold: Some(fd),
        brokerable: false,
    })
}

/// The program's socket `fd`, fetched; its domain.
fn fetch_socket(req: &mut Req<'_>, fd: u64) -> Result<(RemoteFd, OwnedFd, i32), Reply> {
    let rfd = RemoteFd::from_arg(fd).ok_or(Reply::Errno(libc::EBADF))?;
    let sock = req.task.get_fd(rfd).map_err(|e| {
        Reply::Errno(if e.raw_os_error() == Some(libc::EBADF) {
            libc::EBADF
        } else {
            libc::ESRCH
        })
    })?;
    let domain = match sn::getsockopt_int(sock.as_fd(), libc::SOL_SOCKET, libc::SO_DOMAIN) {
        Ok(d) => d,
        Err(e) if e.raw_os_error() == Some(libc::ENOTSOCK) => {
            return Err(Reply::Errno(libc::ENOTSOCK))
        }
        Err(e) => return Err(Reply::Errno(errno_of(&e))),
    };
    Ok((rfd, sock, domain))
}

fn nonblocking(sock: BorrowedFd<'_>) -> bool {
    sys::getfl(sock).is_ok_and(|f| f & libc::O_NONBLOCK != 0)
}

fn connect_or_bind(
    req: &mut Req<'_>,
    sc: &mut Scratch,
    op: NetOp,
    fd: u64,
    ptr: u64,
    len: u64,
) -> Reply {
    let a = match read_addr(&req.task, ptr, len) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let (rfd, sock, domain) = match fetch_socket(req, fd) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let cloexec = if op == NetOp::Connect && req.ctx.policy.network.isolate {
        fd_cloexec(&req.task, rfd)
    } else {
        false
    };
    if !req.valid() {
        return Reply::Gone;
    }
    let target = match decide(req, sc, op, &a, domain) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let Some(bytes) = target.bytes.as_deref() else {
        return Reply::Errno(libc::EINVAL);
    };
    if op == NetOp::Bind {
        let r = sn::bind(sock.as_fd(), bytes);
        if let (Ok(()), Some(dir)) = (&r, target._hold.as_ref()) {
            // Created by us with no umask: give it the program's.
            apply_umask(&req.task, dir.as_fd(), bytes);
        }
        return super::path::done(r);
    }
    // A datagram socket brokered before connects again as it is; a stream
    // socket brokered before is connected already (`EISCONN`), or failed
    // and is brokered afresh.
    if req.ctx.policy.network.isolate
        && target.brokerable
        && !(is_datagram(sock.as_fd()) && in_our_netns(sock.as_fd()))
    {
        return broker(sock, rfd, domain, bytes.to_vec(), cloexec);
    }
    let flags = sys::getfl(sock.as_fd()).unwrap_or(0);
    if flags & libc::O_NONBLOCK != 0 {
        return super::path::done(sn::connect(sock.as_fd(), bytes));
    }
    // A blocking connect: started non-blocking (the flag is the program's
    // socket's, set for the length of one syscall while the program waits
    // in this very request), and waited for here briefly, so that a
    // loopback connection costs no thread; a slow one is waited for on a
    // thread of its own.
    let _ = sn::setfl(sock.as_fd(), flags | libc::O_NONBLOCK);
    let r = sn::connect(sock.as_fd(), bytes);
    let _ = sn::setfl(sock.as_fd(), flags);
    match r {
        Ok(()) => Reply::Value(0),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            finish_connect(sock, is_loopback(bytes), |r| r)
        }
        // A Unix socket whose listener's backlog is full: a blocking
        // connect waits for room.
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) => {
            let bytes = bytes.to_vec();
            let hold = target._hold;
            Reply::Deferred(Deferred(Box::new(move |valid| {
                let r = blocking_connect(sock.as_fd(), &bytes, valid);
                drop(hold);
                r
            })))
        }
        Err(e) => Reply::Errno(errno_of(&e)),
    }
}

/// Gives the socket file a `bind` just created in `dir` (the address
/// `bytes` is `/proc/self/fd/N/name`) the mode the program's umask would:
/// the name is opened without following a symbolic link and changed only
/// if it is a socket, so that a program that swaps the name for a link
/// meanwhile cannot have fdsup change the mode of anything else.
fn apply_umask(task: &Task, dir: BorrowedFd<'_>, bytes: &[u8]) {
    let Ok(mask) = task.umask() else { return };
    let path = &bytes[SUN_PATH..bytes.len().saturating_sub(1)];
    let name = path.rsplit(|&c| c == b'/').next().unwrap_or_default();
    let Ok(name) = std::ffi::CString::new(name) else {
        return;
    };
    let Ok(fd) = sys::openat(
        dir.as_raw_fd(),
        &name,
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    ) else {
        return;
    };
    if sys::fstat_mode(fd.as_fd()).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFSOCK) {
        let _ = sys::fchmod_path_fd(fd.as_fd(), 0o777 & !mask);
    }
}

/// How long a worker waits for a connection in progress before handing
/// the wait to a thread of its own.
const INLINE_WAIT_MS: i32 = 2;

/// Whether `addr` (a `sockaddr` as given to the kernel) is on this
/// machine's loopback, where a connection is made in microseconds.
fn is_loopback(addr: &[u8]) -> bool {
    let fam = addr
        .get(..2)
        .map(|b| i32::from(u16::from_ne_bytes([b[0], b[1]])));
    match fam {
        Some(libc::AF_INET) => addr.get(4) == Some(&127),
        Some(libc::AF_INET6) => addr.get(8..24).is_some_and(|ip| {
            let mut o = [0u8; 16];
            o.copy_from_slice(ip);
            let ip = Ipv6Addr::from(o);
            ip.is_loopback() || ip.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }),
        _ => false,
    }
}

/// Waits for the connection `sock` has in progress: for a loopback one on
/// the worker for at most [`INLINE_WAIT_MS`], otherwise (or then) on a
/// thread of its own. `done` turns the outcome (`Value(0)` or an errno)
/// into the answer.
fn finish_connect(
    sock: OwnedFd,
    local: bool,
    done: impl FnOnce(Reply) -> Reply + Send + 'static,
) -> Reply {
    if local {
        if let Ok(true) = sn::poll_out(sock.as_fd(), INLINE_WAIT_MS) {
            return done(so_error(sock.as_fd()));
        }
    }
    Reply::Deferred(Deferred(Box::new(move |valid| loop {
        if !valid() {
            return Reply::Gone;
        }
        match sn::poll_out(sock.as_fd(), 200) {
            Ok(true) => return done(so_error(sock.as_fd())),
            Ok(false) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            Err(e) => return Reply::Errno(errno_of(&e)),
        }
    })))
}

/// The outcome of a finished connect (`SO_ERROR`).
fn so_error(sock: BorrowedFd<'_>) -> Reply {
    match sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => Reply::Value(0),
        Ok(e) => Reply::Errno(e),
        Err(e) => Reply::Errno(errno_of(&e)),
    }
}

/// A blocking `connect` of `sock` to `addr`: interrupted (EINTR) only by
/// the event loop when the request died, or by a stray signal, after which
/// it waits for the connection the kernel goes on making.
fn blocking_connect(sock: BorrowedFd<'_>, addr: &[u8], valid: &dyn Fn() -> bool) -> Reply {
    match sn::connect(sock, addr) {
        Ok(()) => Reply::Value(0),
        Err(e) if e.raw_os_error() == Some(libc::EINTR) => loop {
            if !valid() {
                return Reply::Gone;
            }
            match sn::poll_out(sock, 200) {
                Ok(true) => return so_error(sock),
                Ok(false) => {}
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
                Err(e) => return Reply::Errno(errno_of(&e)),
            }
        },
        Err(e) => Reply::Errno(errno_of(&e)),
    }
}

/// Whether the program's descriptor `fd` is close-on-exec
/// (`/proc/<tid>/fdinfo/<fd>`, `flags:` in octal).
fn fd_cloexec(task: &Task, fd: RemoteFd) -> bool {
    let path = crate::task::ProcPath::with_prefix("/proc/", task.tid(), "/fdinfo/");
    let mut p = path.as_cstr().to_bytes().to_vec();
    p.extend_from_slice(fd.get().to_string().as_bytes());
    let Ok(p) = std::ffi::CString::new(p) else {
        return false;
    };
    let Ok(f) = sys::openat(libc::AT_FDCWD, &p, libc::O_RDONLY | libc::O_CLOEXEC, 0) else {
        return false;
    };
    let mut buf = [0u8; 256];
    let Ok(n) = sys::read(f.as_fd(), &mut buf) else {
        return false;
    };
    buf[..n]
        .split(|&c| c == b'\n')
        .find_map(|l| l.strip_prefix(b"flags:"))
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
        .is_some_and(|f| f & libc::O_CLOEXEC.unsigned_abs() != 0)
}

/// Options copied from the program's socket to a brokered one, before it
/// connects: those that change how a connection is made or behaves.
const COPIED: &[(i32, i32)] = &[
    (libc::SOL_SOCKET, libc::SO_REUSEADDR),
    (libc::SOL_SOCKET, libc::SO_REUSEPORT),
    (libc::SOL_SOCKET, libc::SO_KEEPALIVE),
    (libc::SOL_SOCKET, libc::SO_BROADCAST),
    (libc::SOL_SOCKET, libc::SO_OOBINLINE),
    (libc::IPPROTO_TCP, libc::TCP_NODELAY),
    (libc::IPPROTO_IPV6, libc::IPV6_V6ONLY),
];

/// Brokers an allowed `connect` under `isolate`: a socket made and
/// connected in the supervisor's namespace replaces the program's.
/// Whether `sock` belongs to fdsup's own network namespace: a socket
/// brokered before (or passed in from outside), on which requests are
/// carried out as they are without isolation.
fn in_our_netns(sock: BorrowedFd<'_>) -> bool {
    static OURS: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();
    let ours = OURS.get_or_init(|| {
        use std::os::unix::fs::MetadataExt as _;
        std::fs::metadata("/proc/self/ns/net")
            .ok()
            .map(|m| (m.dev(), m.ino()))
    });
    let theirs = sn::socket_netns(sock).and_then(|ns| sn::dev_ino(ns.as_fd()));
    matches!((ours, theirs), (Some(a), Ok(b)) if *a == b)
}

/// A socket like the program's `p` (domain, type, protocol, the options of
/// [`COPIED`]) made in fdsup's namespace, non-blocking whatever `p` is (a
/// blocking connect is waited for by `finish_connect`); with whether `p`
/// is non-blocking.
fn twin(p: BorrowedFd<'_>, domain: i32) -> Result<(OwnedFd, bool), Reply> {
    let opt = |o| sn::getsockopt_int(p, libc::SOL_SOCKET, o);
    let (Ok(ty), Ok(proto)) = (opt(libc::SO_TYPE), opt(libc::SO_PROTOCOL)) else {
        return Err(Reply::Errno(libc::ENOTSOCK));
    };
    let nb = nonblocking(p);
    let ours = sn::socket(domain, ty | libc::SOCK_NONBLOCK, proto)
        .map_err(|e| Reply::Errno(errno_of(&e)))?;
    for &(level, name) in COPIED {
        // All of them are off on a new socket.
        if let Ok(v) = sn::getsockopt_int(p, level, name) {
            if v != 0 {
                let _ = sn::setsockopt_int(ours.as_fd(), level, name, v);
            }
        }
    }
    Ok((ours, nb))
}

/// Sets `fd` blocking (the program's socket was).
fn set_blocking(fd: BorrowedFd<'_>) -> Result<(), Reply> {
    let fl = sys::getfl(fd).unwrap_or(libc::O_RDWR);
    sn::setfl(fd, fl & !libc::O_NONBLOCK).map_err(|e| Reply::Errno(errno_of(&e)))
}

/// Under `isolate`, a datagram with an allowed destination sent from a
/// socket that is still the program's own and unbound (a UDP client that
/// does not `connect`): the socket is brokered as a connect's would be —
/// a twin in fdsup's namespace sends the datagram and replaces it, and the
/// answer is the bytes sent. Replies then reach the program on it. `None`
/// when the request is not such a send.
fn broker_datagram(
    task: &Task,
    sock: BorrowedFd<'_>,
    rfd: RemoteFd,
    domain: i32,
    m: &mut Msg,
    flags: i32,
) -> Option<Reply> {
    if !is_datagram(sock) || in_our_netns(sock) {
        return None;
    }
    // Bound (a port, or a Unix name): its address would be lost.
    let name = sn::local_name(sock).ok()?;
    let unbound = match domain {
        libc::AF_INET | libc::AF_INET6 => name.get(2..4) == Some(&[0, 0]),
        libc::AF_UNIX => name.len() <= SUN_PATH,
        _ => false,
    };
    if !unbound {
        return None;
    }
    let cloexec = fd_cloexec(task, rfd);
    let (ours, nb) = match twin(sock, domain) {
        Ok(t) => t,
        Err(r) => return Some(r),
    };
    let n = match send_one(ours.as_fd(), m, flags | libc::MSG_DONTWAIT) {
        Ok(n) => n,
        Err(e) => return Some(Reply::Errno(e)),
    };
    if !nb {
        if let Err(r) = set_blocking(ours.as_fd()) {
            return Some(r);
        }
    }
    Some(Reply::Replace {
        fd: ours,
        target: rfd,
        cloexec,
        answer: i64::try_from(n).unwrap_or(i64::MAX),
    })
}

fn broker(prog: OwnedFd, rfd: RemoteFd, domain: i32, addr: Vec<u8>, cloexec: bool) -> Reply {
    let p = prog.as_fd();
    if sn::has_peer(p) {
        return Reply::Errno(libc::EISCONN);
    }
    let (ours, nb) = match twin(p, domain) {
        Ok(t) => t,
        Err(r) => return r,
    };
    drop(prog);
    let r = sn::connect(ours.as_fd(), &addr);
    let installed = move |fd: OwnedFd, errno: i32| {
        let answer = -i64::from(errno);
        if !nb {
            if let Err(r) = set_blocking(fd.as_fd()) {
                return r;
            }
        }
        Reply::Replace {
            fd,
            target: rfd,
            cloexec,
            answer,
        }
    };
    match r {
        Ok(()) => installed(ours, 0),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) && nb => {
            installed(ours, libc::EINPROGRESS)
        }
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {
            // `finish_connect` hands the socket on; a second reference is
            // kept for the install.
            let Ok(keep) = ours.try_clone() else {
                return Reply::Errno(libc::EMFILE);
            };
            finish_connect(ours, is_loopback(&addr), move |r| match r {
                Reply::Value(_) => installed(keep, 0),
                other => other,
            })
        }
        // An abstract Unix listener with a full backlog.
        Err(e) if e.raw_os_error() == Some(libc::EAGAIN) && !nb => {
            Reply::Deferred(Deferred(Box::new(move |valid| {
                let _ = set_blocking(ours.as_fd());
                match blocking_connect(ours.as_fd(), &addr, valid) {
                    Reply::Value(_) => installed(ours, 0),
                    other => other,
                }
            })))
        }
        Err(e) => Reply::Errno(errno_of(&e)),
    }
}

/// One message to send, read and decided.
struct Msg {
    target: Option<Target>,
    data: Vec<u8>,
    control: Vec<u8>,
    /// The descriptors `SCM_RIGHTS` passes, fetched from the program.
    _fds: Vec<OwnedFd>,
}

fn sendto(req: &mut Req<'_>, sc: &mut Scratch, a: [u64; 6]) -> Reply {
    let addr = match read_addr(&req.task, a[4], a[5]) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let len = usize::try_from(a[2]).unwrap_or(usize::MAX);
    let flags = sys::low_i32(a[3]);
    let (rfd, sock, domain) = match fetch_socket(req, a[0]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let data = match read_data(&req.task, sock.as_fd(), &[(a[1], len)]) {
        Ok(d) => d,
        Err(r) => return r,
    };
    if !req.valid() {
        return Reply::Gone;
    }
    let target = match decide(req, sc, NetOp::Connect, &addr, domain) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let brokerable = target.brokerable;
    let mut m = Msg {
        target: Some(target),
        data,
        control: Vec::new(),
        _fds: Vec::new(),
    };
    if req.ctx.policy.network.isolate && brokerable {
        if let Some(r) = broker_datagram(&req.task, sock.as_fd(), rfd, domain, &mut m, flags) {
            return r;
        }
    }
    send_msgs(sock, vec![m], flags, None, None)
}

/// Whether the socket is a datagram (UDP, Unix datagram) socket.
fn is_datagram(sock: BorrowedFd<'_>) -> bool {
    sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_TYPE).is_ok_and(|t| t == libc::SOCK_DGRAM)
}

/// Whether the socket keeps message boundaries (a datagram cannot be sent
/// in part).
fn is_stream(sock: BorrowedFd<'_>) -> bool {
    sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_TYPE).is_ok_and(|t| t == libc::SOCK_STREAM)
}

/// Copies the program's buffers (`(address, length)` pairs), at most
/// [`MAX_DATA`] bytes in all.
fn read_data(task: &Task, sock: BorrowedFd<'_>, iov: &[(u64, usize)]) -> Result<Vec<u8>, Reply> {
    let total = iov
        .iter()
        .try_fold(0usize, |t, (_, l)| t.checked_add(*l))
        .filter(|t| isize::try_from(*t).is_ok())
        .ok_or(Reply::Errno(libc::EINVAL))?;
    if total > MAX_DATA && !is_stream(sock) {
        return Err(Reply::Errno(libc::EMSGSIZE));
    }
    let mut data = vec![0u8; total.min(MAX_DATA)];
    let mut at = 0;
    for &(ptr, len) in iov {
        let take = len.min(data.len() - at);
        if take == 0 {
            continue;
        }
        task.read_exact(ptr, &mut data[at..at + take])
            .map_err(read_err)?;
        at += take;
    }
    Ok(data)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_ne_bytes(x)
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut x = [0u8; 4];
    x.copy_from_slice(&b[at..at + 4]);
    u32::from_ne_bytes(x)
}

/// A message as read: its address, data, control bytes and the
/// descriptors those pass.
type ReadMsg = (Option<Addr>, Vec<u8>, Vec<u8>, Vec<OwnedFd>);

/// Reads one `msghdr` at `ptr` and everything it points to.
fn read_msg(req: &mut Req<'_>, sock: BorrowedFd<'_>, ptr: u64) -> Result<ReadMsg, Reply> {
    let mut h = [0u8; sn::MSGHDR_SIZE];
    req.task.read_exact(ptr, &mut h).map_err(read_err)?;
    let (name, namelen) = (u64_at(&h, 0), u64::from(u32_at(&h, 8)));
    let (iov_ptr, iovlen) = (u64_at(&h, 16), u64_at(&h, 24));
    let (ctl_ptr, ctl_len) = (u64_at(&h, 32), u64_at(&h, 40));
    let addr = if name == 0 {
        None
    } else {
        Some(read_addr(&req.task, name, namelen)?)
    };
    let iovlen = usize::try_from(iovlen).unwrap_or(usize::MAX);
    if iovlen > sn::UIO_MAXIOV {
        return Err(Reply::Errno(libc::EMSGSIZE));
    }
    let mut raw = vec![0u8; iovlen * 16];
    if iovlen > 0 {
        req.task.read_exact(iov_ptr, &mut raw).map_err(read_err)?;
    }
    let iov: Vec<(u64, usize)> = raw
        .chunks_exact(16)
        .map(|c| {
            (
                u64_at(c, 0),
                usize::try_from(u64_at(c, 8)).unwrap_or(usize::MAX),
            )
        })
        .collect();
    let data = read_data(&req.task, sock, &iov)?;
    let ctl_len = usize::try_from(ctl_len).unwrap_or(usize::MAX);
    if ctl_len > MAX_CONTROL {
        return Err(Reply::Errno(libc::ENOBUFS));
    }
    let mut control = vec![0u8; if ctl_ptr == 0 { 0 } else { ctl_len }];
    if !control.is_empty() {
        req.task
            .read_exact(ctl_ptr, &mut control)
            .map_err(read_err)?;
    }
    let fds = translate_rights(&mut req.task, &mut control)?;
    Ok((addr, data, control, fds))
}

/// Replaces the program's descriptor numbers in `SCM_RIGHTS` messages by
/// ours (fetched with `pidfd_getfd`; the receiver gets the same files).
///
/// The walk is the kernel's own (`__scm_send`: `CMSG_FIRSTHDR`,
/// `CMSG_OK` or `EINVAL`, `CMSG_NXTHDR`), so that no `SCM_RIGHTS` message
/// the kernel will read can be skipped here: an untranslated number would
/// name one of the supervisor's own descriptors.
fn translate_rights(task: &mut Task, control: &mut [u8]) -> Result<Vec<OwnedFd>, Reply> {
    const HDR: usize = 16; // sizeof(struct cmsghdr) on x86_64
    let mut fds = Vec::new();
    let mut at = 0;
    while at + HDR <= control.len() {
        let len = usize::try_from(u64_at(control, at)).unwrap_or(usize::MAX);
        if len < HDR || at + len > control.len() {
            return Err(Reply::Errno(libc::EINVAL));
        }
        let level = i32::from_ne_bytes(control[at + 8..at + 12].try_into().unwrap_or([0; 4]));
        let ty = i32::from_ne_bytes(control[at + 12..at + 16].try_into().unwrap_or([0; 4]));
        if level == libc::SOL_SOCKET && ty == libc::SCM_CREDENTIALS {
            // The kernel checks these against the sender, which is fdsup:
            // check them against the program, as it would for the program
            // (its own pid, one of its uids and gids), so that a program
            // cannot claim another identity with fdsup's privileges.
            if len < HDR + 12 || !own_credentials(task, &control[at + HDR..at + HDR + 12]) {
                return Err(Reply::Errno(libc::EPERM));
            }
        }
        if level == libc::SOL_SOCKET && ty == libc::SCM_RIGHTS {
            for c in (at + HDR..at + len).step_by(4) {
                if c + 4 > at + len {
                    break;
                }
                let n = i32::from_ne_bytes(control[c..c + 4].try_into().unwrap_or([0; 4]));
                let rfd = RemoteFd::from_arg(u64::from(n.unsigned_abs()))
                    .filter(|_| n >= 0)
                    .ok_or(Reply::Errno(libc::EBADF))?;
                let ours = task.get_fd(rfd).map_err(|_| Reply::Errno(libc::EBADF))?;
                control[c..c + 4].copy_from_slice(&ours.as_raw_fd().to_ne_bytes());
                fds.push(ours);
            }
        }
        // CMSG_ALIGN
        at += (len + 7) & !7;
    }
    Ok(fds)
}

/// Whether `ucred` (pid, uid, gid) names the program itself: its thread
/// group's pid, one of its real, effective and saved uids and gids
/// (`/proc/<tid>/status`). Stricter than the kernel for a program with
/// `CAP_SYS_ADMIN`, `CAP_SETUID` or `CAP_SETGID`, which may claim others.
fn own_credentials(task: &Task, ucred: &[u8]) -> bool {
    let num = |i: usize| u32::from_ne_bytes(ucred[i..i + 4].try_into().unwrap_or([0xff; 4]));
    let (pid, uid, gid) = (num(0), num(4), num(8));
    let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", task.tid())) else {
        return false;
    };
    let field = |key: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = |key: &str, v: u32| field(key).iter().take(3).any(|x| *x == v);
    field("Tgid:").first() == Some(&pid) && ids("Uid:", uid) && ids("Gid:", gid)
}

fn sendmmsg(
    req: &mut Req<'_>,
    sc: &mut Scratch,
    fd: u64,
    ptr: u64,
    vlen: u64,
    flags: u64,
    many: bool,
) -> Reply {
    let flags = sys::low_i32(flags);
    let (rfd, sock, domain) = match fetch_socket(req, fd) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let vlen = usize::try_from(sys::low_i32(vlen).unsigned_abs())
        .unwrap_or(0)
        .min(sn::UIO_MAXIOV);
    let stride = if many { sn::MMSGHDR_SIZE } else { 0 };
    let mut read = Vec::with_capacity(vlen);
    let mut first_err = None;
    for i in 0..vlen {
        match read_msg(req, sock.as_fd(), ptr + (i * stride) as u64) {
            Ok(m) => read.push(m),
            Err(r) => {
                first_err = Some(r);
                break;
            }
        }
    }
    if !req.valid() {
        return Reply::Gone;
    }
    let mut msgs = Vec::with_capacity(read.len());
    for (addr, data, control, fds) in read {
        let target = match addr {
            None => None,
            Some(a) => match decide(req, sc, NetOp::Connect, &a, domain) {
                Ok(t) => Some(t),
                Err(r) => {
                    first_err = Some(r);
                    break;
                }
            },
        };
        msgs.push(Msg {
            target,
            data,
            control,
            _fds: fds,
        });
    }
    if msgs.is_empty() {
        return first_err.unwrap_or(Reply::Value(0));
    }
    if !many && req.ctx.policy.network.isolate {
        if let [m] = msgs.as_mut_slice() {
            if m.target.as_ref().is_some_and(|t| t.brokerable) {
                if let Some(r) = broker_datagram(&req.task, sock.as_fd(), rfd, domain, m, flags) {
                    return r;
                }
            }
        }
    }
    let lens = many.then_some((req.task.tid(), ptr));
    send_msgs(sock, msgs, flags, lens, first_err)
}

/// Sends `msgs` in order on `sock`; `lens` = (tid, array) for `sendmmsg`'s
/// `msg_len` fields; `then` is the answer after the last one if it stopped
/// early (a refusal, a fault).
fn send_msgs(
    sock: OwnedFd,
    msgs: Vec<Msg>,
    flags: i32,
    lens: Option<(i32, u64)>,
    then: Option<Reply>,
) -> Reply {
    let nb = flags & libc::MSG_DONTWAIT != 0 || nonblocking(sock.as_fd());
    let fastopen = flags & libc::MSG_FASTOPEN != 0;
    let many = lens.is_some();
    if nb || !fastopen {
        // A Fast Open send on a blocking socket waits for the handshake:
        // it goes straight to a thread (below).
        // Non-blocking as asked, or a first try that must not wait.
        let mut sent = 0usize;
        let mut msgs = msgs;
        let mut rest = Vec::new();
        for (i, mut m) in std::mem::take(&mut msgs).into_iter().enumerate() {
            if !rest.is_empty() {
                rest.push(m);
                continue;
            }
            match send_one(sock.as_fd(), &mut m, flags | libc::MSG_DONTWAIT) {
                Ok(n) if !many && !nb && n < m.data.len() && is_stream(sock.as_fd()) => {
                    // A blocking stream send sends everything: the rest
                    // waits for room on a thread of its own.
                    m.data.drain(..n);
                    return defer_rest(sock, m.data, flags, n);
                }
                Ok(n) => {
                    write_len(lens, i, n);
                    sent += 1;
                    if !many {
                        return Reply::Value(i64::try_from(n).unwrap_or(i64::MAX));
                    }
                }
                Err(libc::EAGAIN) if !nb => rest.push(m),
                Err(e) => {
                    return if sent > 0 {
                        count(sent)
                    } else {
                        Reply::Errno(e)
                    }
                }
            }
        }
        if rest.is_empty() {
            return then.filter(|_| sent == 0).unwrap_or_else(|| count(sent));
        }
        if sent > 0 {
            // What went without waiting is the answer; the caller sends the
            // rest again, as after a short native sendmmsg.
            return count(sent);
        }
        return defer_sends(sock, rest, flags, lens, then);
    }
    defer_sends(sock, msgs, flags, lens, then)
}

/// The rest of a blocking stream send whose first `done` bytes went
/// without waiting: sent on a thread of its own, answered with the total
/// (or, if it fails or the request dies on the way, with what was sent, as
/// a native send interrupted after some bytes answers).
fn defer_rest(sock: OwnedFd, data: Vec<u8>, flags: i32, done: usize) -> Reply {
    Reply::Deferred(Deferred(Box::new(move |valid| {
        let mut at = 0;
        while at < data.len() && valid() {
            match sn::sendmsg(sock.as_fd(), None, &data[at..], &mut [], flags) {
                Ok(n) => at += n,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) && valid() => {}
                Err(_) => break,
            }
        }
        count(done + at)
    })))
}

fn count(n: usize) -> Reply {
    Reply::Value(i64::try_from(n).unwrap_or(i64::MAX))
}

/// Blocking sends on a thread of their own.
fn defer_sends(
    sock: OwnedFd,
    msgs: Vec<Msg>,
    flags: i32,
    lens: Option<(i32, u64)>,
    then: Option<Reply>,
) -> Reply {
    Reply::Deferred(Deferred(Box::new(move |valid| {
        let many = lens.is_some();
        let mut sent = 0usize;
        for (i, mut m) in msgs.into_iter().enumerate() {
            let r = loop {
                match send_one(sock.as_fd(), &mut m, flags) {
                    Err(libc::EINTR) if valid() => {}
                    r => break r,
                }
            };
            match r {
                Ok(n) => {
                    write_len(lens, i, n);
                    sent += 1;
                    if !many {
                        return count(n);
                    }
                }
                Err(_) if !valid() => return Reply::Gone,
                Err(e) => {
                    return if sent > 0 {
                        count(sent)
                    } else {
                        Reply::Errno(e)
                    }
                }
            }
        }
        match then {
            Some(r) if sent == 0 => r,
            _ => count(sent),
        }
    })))
}

fn send_one(sock: BorrowedFd<'_>, m: &mut Msg, flags: i32) -> Result<usize, i32> {
    let name = m.target.as_ref().and_then(|t| t.bytes.as_deref());
    sn::sendmsg(sock, name, &m.data, &mut m.control, flags).map_err(|e| errno_of(&e))
}

/// Writes `msg_len` of message `i` of a `sendmmsg` array.
fn write_len(lens: Option<(i32, u64)>, i: usize, n: usize) {
    if let Some((tid, arr)) = lens {
        let at = arr + (i * sn::MMSGHDR_SIZE + sn::MSGHDR_SIZE) as u64;
        let v = u32::try_from(n).unwrap_or(u32::MAX);
        let _ = Task::new(tid.unsigned_abs()).write(at, &v.to_ne_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(b: &[u8]) -> Addr {
        let mut a = Addr {
            buf: [0; sn::SOCKADDR_MAX],
            len: b.len(),
        };
        a.buf[..b.len()].copy_from_slice(b);
        a
    }

    #[test]
    fn parses_and_writes_inet() {
        let v4 = inet_bytes("127.0.0.1:8080".parse().unwrap(), libc::AF_INET).unwrap();
        match parse(&addr(&v4)) {
            Ok(Dest::Inet(sa)) => assert_eq!(sa, "127.0.0.1:8080".parse().unwrap()),
            _ => panic!("not inet"),
        }
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
        assert!(matches!(parse(&addr(&p)), Ok(Dest::UnixPath(13))));
        // Without the NUL: the length ends it.
        assert!(matches!(
            parse(&addr(&p[..p.len() - 1])),
            Ok(Dest::UnixPath(13))
        ));
        let a = unix_bytes(b"name", true).unwrap();
        assert!(matches!(parse(&addr(&a)), Ok(Dest::UnixAbstract)));
        assert!(matches!(parse(&addr(&a[..2])), Ok(Dest::Nothing)));
        assert!(unix_bytes(&[b'a'; 200], false).is_err());
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
    }

    #[test]
    fn other_families_are_other() {
        let mut b = [0u8; 16];
        b[..2].copy_from_slice(&u16::try_from(libc::AF_PACKET).unwrap().to_ne_bytes());
        assert!(matches!(parse(&addr(&b)), Ok(Dest::Other)));
        b[..2].copy_from_slice(&0u16.to_ne_bytes());
        assert!(matches!(parse(&addr(&b)), Ok(Dest::Nothing)));
        b[..2].copy_from_slice(&u16::try_from(libc::AF_NETLINK).unwrap().to_ne_bytes());
        assert!(matches!(parse(&addr(&b)), Ok(Dest::Nothing)));
    }
}

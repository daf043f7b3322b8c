//! The sends: `sendto` with an address, `sendmsg` and `sendmmsg` (which a
//! filter cannot inspect: `msg_name` is in memory, so every one is trapped
//! and emulated, with or without an address).
//!
//! Each message is read, decided and sent before the next is read, so a
//! request holds at most one message's bytes:
//! - a datagram (or a `SOCK_SEQPACKET` record) is read whole, at most
//!   [`MAX_DATA`] bytes (`EMSGSIZE` beyond, which is also more than the
//!   kernel takes in one datagram by default);
//! - a stream send is read and sent in pieces of at most [`MAX_DATA`],
//!   each read vouched for by `ID_VALID` before it is sent, so a blocking
//!   send of any size sends everything (or stops where the kernel would:
//!   an error, a signal, the socket's send timeout) and answers the total,
//!   as natively, while fdsup holds one piece.
//!
//! Control messages are walked as the kernel's `__scm_send` walks them
//! (`CMSG_FIRSTHDR`, `CMSG_OK` or `EINVAL`, `CMSG_NXTHDR`), with checked
//! arithmetic on every length the program gave: `SCM_RIGHTS` descriptors
//! are fetched from the program and passed as ours (the receiver gets the
//! same files; at most `SCM_MAX_FD` per message, as the kernel allows),
//! `SCM_CREDENTIALS` must name the program itself (else `EPERM`: the kernel
//! would check them against fdsup); on an IP socket, source routes and what
//! needs a capability the program lacks are refused ([`super::ipcontrol`]);
//! other control messages are passed as they are. The control buffer is at most the kernel's `optmem_max`
//! (`ENOBUFS` beyond, as natively).
//!
//! A send that would block is tried first without waiting (`MSG_DONTWAIT`,
//! never by changing the program's `O_NONBLOCK`), and what did not fit
//! waits on a thread of its own ([`super::wait`]), a datagram sent by a
//! twin too (`twin_waits`: the twin replaces the program's socket once it
//! is sent). `sendmmsg` sends message
//! by message and stops at the first refusal, error, or message that would
//! wait after at least one was sent, answering the count sent, with each
//! sent message's `msg_len` written back (after a fresh `ID_VALID` when it
//! is written after a wait).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::super::{Memory, Program, Reply, Scratch};
use super::addr::{read_addr, Addr};
use super::broker::{datagram_twin, in_our_netns, DatagramTwin};
use super::cmsg::{Malformed, Walk};
use super::connect::{fetch_socket, note_autobind, unnamed};
use super::decide::{decide_dest, log_inside, Route, Target};
use super::socket::{nonblocking, send_timeout, sock_type};
use super::wait::{interrupted, until_done, Deferred, Stop, Waiter};
use super::{errno_of, Req};
use crate::sys::{self, net as sn};
use crate::task::{ReadError, RemoteFd, Task};

use crate::limits::{
    CONTROL_BYTES as MAX_CONTROL, PASSED_FDS as SCM_MAX_FD, SEND_BYTES as MAX_DATA,
    WAITING_SEND_BYTES as MAX_WAITING_DATA,
};

/// Bytes held by waiting sends now.
static WAITING: AtomicUsize = AtomicUsize::new(0);

/// A share of [`MAX_WAITING_DATA`], given back when dropped.
struct Held(usize);

impl Held {
    fn take(n: usize) -> Option<Self> {
        WAITING
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |w| {
                w.checked_add(n).filter(|t| *t <= MAX_WAITING_DATA)
            })
            .ok()
            .map(|_| Self(n))
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        WAITING.fetch_sub(self.0, Ordering::SeqCst);
    }
}

/// The kernel's limit on one send's control buffer.
fn max_control() -> usize {
    static MAX: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *MAX.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/net/core/optmem_max")
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(20480)
            .min(MAX_CONTROL)
    })
}

/// One message to send, read and decided.
pub(super) struct Msg {
    pub target: Option<Target>,
    pub data: Vec<u8>,
    pub control: Vec<u8>,
    /// The descriptors `SCM_RIGHTS` passes, fetched from the program.
    pub fds: Vec<OwnedFd>,
    /// Bytes of the program's buffers after `data` that fault (0: none):
    /// given to the kernel as an unreadable tail, so that it meets the
    /// fault where the program's send would have, and answers the same.
    pub tail: usize,
    /// A netlink send: sent with the capabilities of this thread of the
    /// program ([`super::lend::AsProgram`]).
    pub as_of: Option<i32>,
}

pub(super) fn send_one(sock: BorrowedFd<'_>, m: &mut Msg, flags: i32) -> Result<usize, i32> {
    let _caps = match m.as_of {
        Some(tid) => Some(super::lend::as_program(tid, sock)?),
        None => None,
    };
    let name = m.target.as_ref().map(|t| t.bytes.as_slice());
    // A Unix peer that passes credentials learns the sender's.
    let r = crate::creds::as_peer(|| {
        if m.tail > 0 {
            sn::sendmsg_faulting(sock, name, &m.data, m.tail, &mut m.control, flags)
        } else {
            sn::sendmsg(sock, name, &m.data, &mut m.control, flags)
        }
    });
    r.map_err(|e| errno_of(&e))
}

fn count(n: usize) -> Reply {
    Reply::Value(i64::try_from(n).unwrap_or(i64::MAX))
}

/// The program's buffers of one message: `(address, length)` pairs.
#[derive(Debug, Clone, Default)]
struct Iov {
    parts: Vec<(u64, usize)>,
    /// The next byte to read: part, offset in it.
    at: (usize, usize),
    /// Bytes in all (the kernel's `import_iovec` total).
    total: usize,
    /// A stream's read stopped at a byte that faults: what came before it
    /// is all there is to read.
    faulted: bool,
    /// Bytes read so far.
    read: usize,
}

/// The highest user-space address on x86_64 with 4-level paging
/// (`TASK_SIZE_MAX`): a buffer must end below it (`access_ok`), even an
/// empty one, or the call fails with `EFAULT` before anything is read.
const USER_END: u64 = (1 << 47) - 4096;

/// Whether `[ptr, ptr + len)` lies in user space, as `access_ok` checks.
fn user_range(ptr: u64, len: usize) -> bool {
    ptr.checked_add(len as u64)
        .is_some_and(|end| end <= USER_END)
}

/// `MAX_RW_COUNT` (include/linux/fs.h): what one call moves at most.
const MAX_RW_COUNT: usize = 0x7fff_f000;

impl Iov {
    /// The kernel's `import_iovec`: a negative length is `EINVAL`, the total
    /// is cut at `MAX_RW_COUNT`.
    fn new(raw: Vec<(u64, u64)>) -> Result<Self, Reply> {
        let mut parts = Vec::with_capacity(raw.len());
        for &(ptr, len) in &raw {
            let len = usize::try_from(i64::try_from(len).map_err(|_| Reply::Errno(libc::EINVAL))?)
                .map_err(|_| Reply::Errno(libc::EINVAL))?;
            parts.push((ptr, len));
        }
        // Then, buffer by buffer, that it lies in user space (`access_ok`)
        // and the total's cap.
        let mut total = 0usize;
        for part in &mut parts {
            if !user_range(part.0, part.1) {
                return Err(Reply::Errno(libc::EFAULT));
            }
            part.1 = part.1.min(MAX_RW_COUNT - total);
            total += part.1;
        }
        Ok(Self {
            parts,
            at: (0, 0),
            total,
            faulted: false,
            read: 0,
        })
    }

    /// One buffer (`sendto`'s `import_ubuf`: the length is cut at
    /// `MAX_RW_COUNT`, then the range must lie in user space).
    fn single(ptr: u64, len: u64) -> Result<Self, Reply> {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(MAX_RW_COUNT);
        if !user_range(ptr, len) {
            return Err(Reply::Errno(libc::EFAULT));
        }
        Ok(Self {
            parts: vec![(ptr, len)],
            at: (0, 0),
            total: len,
            faulted: false,
            read: 0,
        })
    }

    /// Reads the next at most `max` bytes into `out` (cleared first). A
    /// fault fails the read, unless `partial` (a stream) and some bytes came
    /// before it: those are the read, and nothing follows them.
    fn read_next(
        &mut self,
        task: &impl Memory,
        max: usize,
        out: &mut Vec<u8>,
        partial: bool,
    ) -> Result<(), Reply> {
        out.clear();
        while out.len() < max && !self.faulted {
            let Some(&(ptr, len)) = self.parts.get(self.at.0) else {
                break;
            };
            let left = len - self.at.1;
            if left == 0 {
                self.at = (self.at.0 + 1, 0);
                continue;
            }
            let take = left.min(max - out.len());
            let start = out.len();
            out.resize(start + take, 0);
            let addr = ptr.wrapping_add(self.at.1 as u64);
            let got = match task.read_some(addr, &mut out[start..]) {
                Ok(n) => n,
                Err(ReadError::Fault) => 0,
                Err(e) => return Err(e.reply(libc::EFAULT)),
            };
            self.at.1 += got;
            self.read += got;
            if got < take {
                out.truncate(start + got);
                if !partial || out.is_empty() {
                    return Err(Reply::Errno(libc::EFAULT));
                }
                self.faulted = true;
            }
        }
        Ok(())
    }

    /// The unreadable rest of a read that faulted (0 if none).
    fn tail(&self) -> usize {
        if self.faulted {
            self.total - self.read
        } else {
            0
        }
    }

    fn done(&self) -> bool {
        self.faulted
            || self.parts[self.at.0.min(self.parts.len())..]
                .iter()
                .enumerate()
                .all(|(i, &(_, len))| if i == 0 { self.at.1 >= len } else { len == 0 })
    }
}

pub(super) fn sendto<P: Program>(req: &mut Req<'_, P>, sc: &mut Scratch, a: [u64; 6]) -> Reply {
    let (rfd, sock, domain) = match fetch_socket(req, a[0]) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let addr = match read_addr(&*req.p, a[4], a[5]) {
        Ok(x) => x,
        Err(r) => return r,
    };
    // The kernel takes the length as a size_t and cuts it at MAX_RW_COUNT.
    let iov = match Iov::single(a[1], a[2]) {
        Ok(i) => i,
        Err(r) => return r,
    };
    let flags = sys::low_i32(a[3]);
    let one = One {
        addr: Some(addr),
        iov,
        control: Vec::new(),
        fds: Vec::new(),
    };
    send_single(req, sc, sock, rfd, domain, one, flags)
}

/// One message as read from its `msghdr`, its data not read yet.
struct One {
    addr: Option<Addr>,
    iov: Iov,
    control: Vec<u8>,
    fds: Vec<OwnedFd>,
}

/// Reads the `msghdr` at `ptr` and what it points to but the data: the
/// checks in the order of the kernel's `____sys_sendmsg`.
fn read_msghdr<P: Program>(req: &mut Req<'_, P>, ptr: u64) -> Result<One, Reply> {
    let mut h = [0u8; sn::MSGHDR_SIZE];
    req.p
        .read_exact(ptr, &mut h)
        .map_err(|e| e.reply(libc::EFAULT))?;
    let u64_at = |at: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&h[at..at + 8]);
        u64::from_ne_bytes(x)
    };
    let (name, iov_ptr, iovlen, ctl_ptr, ctl_len) =
        (u64_at(0), u64_at(16), u64_at(24), u64_at(32), u64_at(40));
    // No name: no length either (before the length is checked, as the
    // kernel's `__copy_msghdr`).
    let namelen = if name == 0 {
        0
    } else {
        i32::from_ne_bytes([h[8], h[9], h[10], h[11]])
    };
    if namelen < 0 {
        return Err(Reply::Errno(libc::EINVAL));
    }
    let iovlen = usize::try_from(iovlen).unwrap_or(usize::MAX);
    if iovlen > sn::UIO_MAXIOV {
        return Err(Reply::Errno(libc::EMSGSIZE));
    }
    // A name of length 0 is no name (`__copy_msghdr`: the kernel then
    // sends to the connected peer, as without one).
    let addr = if name == 0 || namelen == 0 {
        None
    } else {
        // A longer name is cut to a sockaddr_storage, as the kernel does.
        let len = u64::from(namelen.unsigned_abs()).min(sn::SOCKADDR_MAX as u64);
        Some(read_addr(&*req.p, name, len)?)
    };
    let mut raw = vec![0u8; iovlen * 16];
    if iovlen > 0 {
        req.p
            .read_exact(iov_ptr, &mut raw)
            .map_err(|e| e.reply(libc::EFAULT))?;
    }
    let pairs = raw
        .chunks_exact(16)
        .map(|c| {
            let mut p = [0u8; 8];
            let mut l = [0u8; 8];
            p.copy_from_slice(&c[..8]);
            l.copy_from_slice(&c[8..]);
            (u64::from_ne_bytes(p), u64::from_ne_bytes(l))
        })
        .collect();
    let iov = Iov::new(pairs)?;
    let ctl_len = usize::try_from(ctl_len).unwrap_or(usize::MAX);
    if ctl_len > i32::MAX as usize || ctl_len > max_control() {
        return Err(Reply::Errno(libc::ENOBUFS));
    }
    let mut control = vec![0u8; ctl_len];
    if ctl_len > 0 {
        req.p
            .read_exact(ctl_ptr, &mut control)
            .map_err(|e| e.reply(libc::EFAULT))?;
    }
    Ok(One {
        addr,
        iov,
        control,
        fds: Vec::new(),
    })
}

/// The answer to a send that failed with `ours` before the kernel saw it
/// (its buffers fault, a control message is refused, the datagram is too
/// large), where the kernel would first have checked something else: the
/// socket's state, the address, the size. The kernel is asked with a send
/// that faults at its first byte ([`sn::sendmsg_faulting`]): anything but
/// `EFAULT` is what it would have said first. Not asked for a Fast Open
/// send (it would connect) or an empty one (nothing would fault).
///
/// The address is decided first, as for any send: a refused one is
/// answered by the refusal and never reaches the kernel (the probe would
/// bind a UDP socket and look up a route toward it, and an SCTP one sends
/// its `INIT` before it copies anything). Nor is the kernel asked about an
/// allowed one that a twin would carry out of an isolated program's
/// namespace ([`Route::Broker`]: the program's socket there has no route
/// to it), nor about a refused one carried inside only (`target.refused`:
/// whether one of the sandbox's sockets is there is learnt only by
/// sending): those answer `ours`.
fn kernel_first(
    sock: BorrowedFd<'_>,
    target: Option<&Target>,
    len: usize,
    flags: i32,
    ours: Reply,
) -> Reply {
    if len == 0 || flags & libc::MSG_FASTOPEN != 0 {
        return ours;
    }
    let name = match target {
        None => None,
        Some(t) if t.refused.is_some() => return ours,
        Some(t) if t.route == Route::Broker && !in_our_netns(sock) => return ours,
        Some(t) => Some(t.bytes.as_slice()),
    };
    probe(sock, name, len, flags, ours)
}

/// [`kernel_first`]'s question to the kernel, with `name` as the address.
fn probe(sock: BorrowedFd<'_>, name: Option<&[u8]>, len: usize, flags: i32, ours: Reply) -> Reply {
    if len == 0 || flags & libc::MSG_FASTOPEN != 0 {
        return ours;
    }
    let probe = flags | libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL;
    match sn::sendmsg_faulting(sock, name, &[], len, &mut [], probe) {
        Err(e) => match e.raw_os_error() {
            // Nothing earlier, or only that it would wait.
            Some(libc::EFAULT | libc::EAGAIN) | None => ours,
            Some(e) => Reply::Errno(e),
        },
        // Nothing can be copied from null: not reached.
        Ok(_) => ours,
    }
}

/// Fetches the descriptors of `one`'s control messages (a Unix socket
/// reads its control messages first, so a refusal comes first too), or
/// vets an IP socket's ([`super::ipcontrol`]).
fn take_rights<P: Program>(
    req: &mut Req<'_, P>,
    sock: BorrowedFd<'_>,
    domain: i32,
    one: &mut One,
) -> Result<(), Reply> {
    // An IP socket ignores descriptors and credentials in its control
    // messages (`__sock_cmsg_send`: they are Unix's): its numbers name
    // nothing and go to the kernel as they are. Every other family (Unix,
    // and netlink, whose `scm_send` would take them from fdsup's own table)
    // gets the program's files, fetched.
    if domain == libc::AF_INET || domain == libc::AF_INET6 {
        return super::ipcontrol::vet(req.p.task().tid(), sock, domain, &one.control);
    }
    one.fds = translate_rights(&mut *req.p, &mut one.control)?;
    if domain == libc::AF_UNIX {
        // A peer that passes credentials learns the sender's real ids,
        // the worker's: the program's are named instead, where they
        // differ from fdsup's (`crate::creds::as_peer`).
        if let Some((uid, gid)) = crate::creds::peer_real() {
            super::cmsg::append_credentials(&mut one.control, std::process::id(), uid, gid);
        }
    }
    Ok(())
}

/// Replaces the program's descriptor numbers in `SCM_RIGHTS` messages by
/// ours (fetched with `pidfd_getfd`; the receiver gets the same files).
///
/// The walk is the kernel's own ([`super::cmsg`]), so that no
/// `SCM_RIGHTS` message the kernel will read can be skipped here: an
/// untranslated number would name one of the supervisor's own descriptors.
pub(super) fn translate_rights(
    p: &mut impl Program,
    control: &mut [u8],
) -> Result<Vec<OwnedFd>, Reply> {
    let mut fds = Vec::new();
    let mut walk = Walk::default();
    while let Some(c) = walk.next(control) {
        let c = c.map_err(|Malformed| Reply::Errno(libc::EINVAL))?;
        if c.level == libc::SOL_SOCKET && c.ty == libc::SCM_CREDENTIALS {
            // The kernel checks these against the sender, which is fdsup:
            // check them against the program, as it would for the program
            // (its own pid, one of its uids and gids), so that a program
            // cannot claim another identity with fdsup's privileges.
            let body = control.get(c.body()..c.end).unwrap_or_default();
            // `__scm_send`: anything but a `struct ucred` is EINVAL.
            if body.len() != 12 {
                return Err(Reply::Errno(libc::EINVAL));
            }
            if !own_credentials(p.task(), body) {
                return Err(Reply::Errno(libc::EPERM));
            }
            // The kernel accepts another pid than the sender's own with
            // `CAP_SYS_ADMIN` only, which an unprivileged fdsup, or a worker
            // that carries a program's credentials, lacks: the program's
            // own pid is then named as fdsup's (the pid a peer learns of
            // fdsup's sends anyway: README, limits), not refused (`EPERM`).
            if !holds_sys_admin() {
                let at = c.body();
                control[at..at + 4].copy_from_slice(&std::process::id().to_ne_bytes());
            }
        }
        if c.level == libc::SOL_SOCKET && c.ty == libc::SCM_RIGHTS {
            let num = (c.end - c.body()) / 4;
            if fds.len() + num > SCM_MAX_FD {
                return Err(Reply::Errno(libc::EINVAL));
            }
            for k in 0..num {
                let at = c.body() + 4 * k;
                let mut b = [0u8; 4];
                b.copy_from_slice(&control[at..at + 4]);
                let n = i32::from_ne_bytes(b);
                let rfd = RemoteFd::from_arg(u64::from(n.unsigned_abs()))
                    .filter(|_| n >= 0)
                    .ok_or(Reply::Errno(libc::EBADF))?;
                let ours = p.get_fd(rfd).map_err(|_| Reply::Errno(libc::EBADF))?;
                control[at..at + 4].copy_from_slice(&ours.as_raw_fd().to_ne_bytes());
                fds.push(ours);
            }
        }
    }
    Ok(fds)
}

/// Whether the calling thread holds `CAP_SYS_ADMIN` now.
fn holds_sys_admin() -> bool {
    rustix::thread::capabilities(None).is_ok_and(|c| {
        c.effective
            .contains(rustix::thread::CapabilitySet::SYS_ADMIN)
    })
}

/// Whether `ucred` (pid, uid, gid) names the program itself: its thread
/// group's pid, one of its real, effective and saved uids and gids
/// (`/proc/<tid>/status`). Stricter than the kernel for a program with
/// `CAP_SYS_ADMIN`, `CAP_SETUID` or `CAP_SETGID`, which may claim others.
fn own_credentials(task: &Task, ucred: &[u8]) -> bool {
    let num = |i: usize| u32::from_ne_bytes([ucred[i], ucred[i + 1], ucred[i + 2], ucred[i + 3]]);
    let (pid, uid, gid) = (num(0), num(4), num(8));
    // Read as bytes: the first line is the task's name, which need not be
    // UTF-8 (a name that was not made every send of credentials EPERM).
    let Ok(status) = std::fs::read(format!("/proc/{}/status", task.tid())) else {
        return false;
    };
    let field = |key: &[u8]| -> Vec<u32> {
        crate::task::status_field(&status, key)
            .and_then(|v| std::str::from_utf8(v).ok())
            .map(|v| {
                v.split_whitespace()
                    .filter_map(|x| x.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let ids = |key: &[u8], v: u32| field(key).iter().take(3).any(|x| *x == v);
    field(b"Tgid:").first() == Some(&pid) && ids(b"Uid:", uid) && ids(b"Gid:", gid)
}

/// Whether the kernel never uses a send's address on this socket, so that
/// there is nothing to decide: a Unix stream socket answers `EISCONN` or
/// `EOPNOTSUPP` for any, a Unix `SOCK_SEQPACKET` one drops it, a Unix
/// datagram sent with `MSG_OOB` is refused (`EOPNOTSUPP`) before its
/// address is looked at, a TCP one ignores it but for Fast Open
/// (`MSG_FASTOPEN`). It is passed to the kernel as it is, which answers as
/// natively (before any lookup).
fn address_unused(sock: BorrowedFd<'_>, domain: i32, ty: i32, flags: i32) -> bool {
    match domain {
        libc::AF_UNIX => {
            ty == libc::SOCK_STREAM || ty == libc::SOCK_SEQPACKET || flags & libc::MSG_OOB != 0
        }
        libc::AF_INET | libc::AF_INET6 => {
            ty == libc::SOCK_STREAM
                && flags & libc::MSG_FASTOPEN == 0
                && sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_PROTOCOL)
                    .is_ok_and(|p| p == libc::IPPROTO_TCP)
        }
        _ => false,
    }
}

/// Decides a message's address (if it has one): the target, or the
/// refusal. A destination only the program's own namespace may reach is
/// refused on a socket brokered into fdsup's.
fn target_of<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    addr: Option<&Addr>,
    sock: BorrowedFd<'_>,
    domain: i32,
    ty: i32,
    flags: i32,
) -> Result<Option<Target>, Reply> {
    let Some(a) = addr else { return Ok(None) };
    if address_unused(sock, domain, ty, flags) {
        return Ok(Some(Target::passed(a.bytes().to_vec())));
    }
    let t = decide_dest(req, sc, a, sock, domain, ty)?;
    if t.route == Route::Local && req.ctx.policy.network.isolate && in_our_netns(sock) {
        return Err(Reply::Errno(libc::EACCES));
    }
    Ok(Some(t))
}

/// `sendto` or `sendmsg`: one message.
fn send_single<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    sock: OwnedFd,
    rfd: RemoteFd,
    domain: i32,
    one: One,
    flags: i32,
) -> Reply {
    let mut one = one;
    if let Err(r) = take_rights(req, sock.as_fd(), domain, &mut one) {
        return r;
    }
    let was_unnamed = unnamed(sock.as_fd(), domain);
    let One {
        addr,
        mut iov,
        control,
        fds,
    } = one;
    // The type is read once per request: a socket's type never changes.
    let ty = sock_type(sock.as_fd());
    let stream = ty == libc::SOCK_STREAM;
    let mut data = Vec::new();
    // fdsup's own error, answered once the address is decided.
    let ours = if !stream && iov.total > MAX_DATA {
        Some(Reply::Errno(libc::EMSGSIZE))
    } else {
        iov.read_next(&*req.p, MAX_DATA, &mut data, stream).err()
    };
    if !req.valid() {
        return Reply::Gone;
    }
    let ours = match (ours, domain) {
        // A Unix datagram's data is copied before its address is looked up
        // (`unix_dgram_sendmsg`): the kernel's answer comes before any
        // decision, and the probe reaches no one.
        (Some(o), libc::AF_UNIX) => {
            return probe(
                sock.as_fd(),
                addr.as_ref().map(Addr::bytes),
                iov.total,
                flags,
                o,
            )
        }
        (o, _) => o,
    };
    let target = match target_of(req, sc, addr.as_ref(), sock.as_fd(), domain, ty, flags) {
        Ok(t) => t,
        Err(r) => return r,
    };
    if let Some(ours) = ours {
        return kernel_first(sock.as_fd(), target.as_ref(), iov.total, flags, ours);
    }
    let mut target = target;
    let route = target.as_ref().map(|t| t.route);
    let refused = target.as_mut().and_then(|t| t.refused.take());
    let mut m = Msg {
        target,
        data,
        control,
        fds,
        tail: iov.tail(),
        as_of: (domain == libc::AF_NETLINK).then(|| req.p.task().tid()),
    };
    let nb = flags & libc::MSG_DONTWAIT != 0 || nonblocking(sock.as_fd());
    let mut brokerable = route == Some(Route::Broker);
    if route == Some(Route::InsideFirst) && !stream {
        // One of the sandbox's own sockets there takes it; if none does,
        // it goes out, as allowed.
        match send_one(sock.as_fd(), &mut m, flags | libc::MSG_DONTWAIT) {
            Err(libc::ECONNREFUSED) => brokerable = true,
            Ok(n) => return count(n),
            Err(libc::EAGAIN) if !nb => {}
            Err(e) => return Reply::Errno(e),
        }
    }
    let mut flags = flags;
    // A refusal met later, waiting, is the policy's (EACCES).
    let mut denied_if_refused = false;
    if let Some(inside) = refused {
        // Carried inside only: refused unless one of the sandbox's own
        // sockets took it.
        let mut r = send_one(sock.as_fd(), &mut m, flags | libc::MSG_DONTWAIT);
        if r == Err(libc::EINPROGRESS) && flags & libc::MSG_FASTOPEN != 0 && !nb {
            // A blocking Fast Open send began a connection inside and sent
            // nothing: its outcome is the answer, not the try's
            // EINPROGRESS. The rest is a plain send on the connection.
            r = fastopen_outcome(sock.as_fd());
            flags &= !libc::MSG_FASTOPEN;
            m.target = None;
            denied_if_refused = true;
        }
        let was_refused = r == Err(libc::ECONNREFUSED);
        log_inside(req, sc, &inside, was_refused, libc::EACCES);
        if was_refused {
            return Reply::Errno(libc::EACCES);
        }
        match r {
            Ok(n) => return count(n),
            Err(libc::EAGAIN) if !nb => {}
            Err(e) => return Reply::Errno(e),
        }
    }
    if brokerable {
        if let Some(twin) = datagram_twin(req.p.task(), sock.as_fd(), rfd, domain, ty) {
            let twin = match twin {
                Ok(t) => t,
                Err(r) => return r,
            };
            return match send_one(twin.fd.as_fd(), &mut m, flags | libc::MSG_DONTWAIT) {
                Ok(n) => twin.install(n),
                Err(libc::EAGAIN) if !nb => twin_waits(twin, m, flags, |_, n| Ok(n)),
                Err(e) => Reply::Errno(e),
            };
        }
    }
    let fastopen = flags & libc::MSG_FASTOPEN != 0;
    let mut sent = 0usize;
    // A Fast Open send on a blocking socket waits for the handshake: it
    // goes straight to a thread.
    if nb || !fastopen {
        loop {
            match send_one(sock.as_fd(), &mut m, flags | libc::MSG_DONTWAIT) {
                Ok(n) => {
                    sent += n;
                    // What goes with the first bytes is sent with them;
                    // the credentials go with every piece, as natively.
                    m.control = super::cmsg::credentials_only(&m.control);
                    m.fds.clear();
                    m.target = None;
                    if !stream || (n == m.data.len() && iov.done()) || (n < m.data.len() && nb) {
                        note_autobind(req, sock.as_fd(), was_unnamed);
                        return count(sent);
                    }
                    if n < m.data.len() {
                        // A blocking stream send sends everything: the rest
                        // waits for room.
                        m.data.drain(..n);
                        break;
                    }
                    // The next piece of a stream send.
                    if let Err(r) = iov.read_next(&*req.p, MAX_DATA, &mut m.data, true) {
                        return if sent > 0 { count(sent) } else { r };
                    }
                    m.tail = iov.tail();
                    if !req.valid() {
                        return Reply::Gone;
                    }
                }
                Err(libc::EAGAIN) if !nb => break,
                Err(e) => {
                    return if sent > 0 {
                        count(sent)
                    } else {
                        Reply::Errno(e)
                    };
                }
            }
        }
    }
    note_autobind(req, sock.as_fd(), was_unnamed);
    let Some(held) = Held::take(m.data.len()) else {
        return if sent > 0 {
            count(sent)
        } else {
            Reply::Errno(libc::ENOBUFS)
        };
    };
    let tid = req.p.tid();
    Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
        let _held = held;
        let timeout = send_timeout(sock.as_fd());
        w.time_out_after(timeout);
        let task = Task::new(tid.unsigned_abs());
        let mut sent = sent;
        loop {
            while !m.data.is_empty() {
                match until_done(w, || {
                    send_one(sock.as_fd(), &mut m, flags & !libc::MSG_DONTWAIT)
                        .map_err(std::io::Error::from_raw_os_error)
                }) {
                    Ok(Ok(n)) => {
                        sent += n;
                        if !stream {
                            return count(sent);
                        }
                        m.data.drain(..n.min(m.data.len()));
                        m.control = super::cmsg::credentials_only(&m.control);
                        m.fds.clear();
                        m.target = None;
                        // A Unix stream send waits for each buffer with
                        // the whole timeout (`sock_alloc_send_pskb`); TCP
                        // with what is left of it (`sk_stream_wait_memory`).
                        if n > 0 && domain == libc::AF_UNIX {
                            w.time_out_again(timeout);
                        }
                    }
                    Ok(Err(e)) => {
                        return match errno_of(&e) {
                            _ if sent > 0 => count(sent),
                            libc::ECONNREFUSED if denied_if_refused => Reply::Errno(libc::EACCES),
                            e => Reply::Errno(e),
                        };
                    }
                    Err(Stop::Gone) => return Reply::Gone,
                    Err(Stop::Signal | Stop::Timeout) if sent > 0 => return count(sent),
                    Err(Stop::Signal) => return interrupted(!timeout.is_zero()),
                    Err(Stop::Timeout) => return Reply::Errno(libc::EAGAIN),
                }
            }
            if !stream || iov.done() {
                return count(sent);
            }
            if iov.read_next(&task, MAX_DATA, &mut m.data, true).is_err() || !w.valid() {
                return if w.valid() { count(sent) } else { Reply::Gone };
            }
            m.tail = iov.tail();
        }
    }))
}

/// How long a blocking Fast Open send carried inside waits on the worker
/// for its handshake: on loopback the answer is there at once.
const FASTOPEN_INLINE_MS: i32 = 2;

/// The outcome of the connection a blocking Fast Open send on `sock`
/// began inside the program's namespace (the try answered `EINPROGRESS`,
/// nothing sent): `ECONNREFUSED` if refused (the socket's error taken, as
/// the blocking send would have), else `EAGAIN`: connected, or not yet
/// known, the data goes as a blocking send, which waits for the
/// connection.
fn fastopen_outcome(sock: BorrowedFd<'_>) -> Result<usize, i32> {
    match sn::poll_out_err(sock, FASTOPEN_INLINE_MS) {
        Ok(Some(true)) => match sn::getsockopt_int(sock, libc::SOL_SOCKET, libc::SO_ERROR) {
            Ok(0) | Err(_) => Err(libc::EAGAIN),
            Ok(e) => Err(e),
        },
        _ => Err(libc::EAGAIN),
    }
}

/// A datagram that did not fit at once into the receiver a twin sends
/// to, from a blocking program socket: sent on a thread of its own, which
/// waits for room as the program's send would have (a signal, the send
/// timeout, the task's death end it, see [`super::wait`]); once sent, the
/// twin replaces the program's socket and the call answers `done(n)` of
/// the `n` bytes sent. Nothing replaces the program's socket if it is not
/// sent.
fn twin_waits(
    twin: DatagramTwin,
    mut m: Msg,
    flags: i32,
    done: impl FnOnce(&Waiter<'_>, usize) -> Result<usize, Reply> + Send + 'static,
) -> Reply {
    let Some(held) = Held::take(m.data.len()) else {
        return Reply::Errno(libc::ENOBUFS);
    };
    Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
        let _held = held;
        if let Err(r) = twin.to_blocking() {
            return r;
        }
        w.time_out_after(twin.timeout);
        let r = until_done(w, || {
            send_one(twin.fd.as_fd(), &mut m, flags & !libc::MSG_DONTWAIT)
                .map_err(std::io::Error::from_raw_os_error)
        });
        match r {
            Ok(Ok(n)) => match done(w, n) {
                Ok(v) => twin.install(v),
                Err(r) => r,
            },
            Ok(Err(e)) => Reply::Errno(errno_of(&e)),
            Err(Stop::Gone) => Reply::Gone,
            Err(Stop::Signal) => interrupted(!twin.timeout.is_zero()),
            Err(Stop::Timeout) => Reply::Errno(libc::EAGAIN),
        }
    }))
}

pub(super) fn sendmmsg<P: Program>(
    req: &mut Req<'_, P>,
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
    if !many {
        let one = match read_msghdr(req, ptr) {
            Ok(o) => o,
            Err(r) => return r,
        };
        return send_single(req, sc, sock, rfd, domain, one, flags);
    }
    // The kernel takes vlen as an unsigned int, cut at UIO_MAXIOV.
    let vlen = usize::try_from(sys::low_i32(vlen).cast_unsigned())
        .unwrap_or(0)
        .min(sn::UIO_MAXIOV);
    let nb = flags & libc::MSG_DONTWAIT != 0 || nonblocking(sock.as_fd());
    let ty = sock_type(sock.as_fd());
    let stream = ty == libc::SOCK_STREAM;
    let was_unnamed = unnamed(sock.as_fd(), domain);
    let tid = req.p.tid();
    let mut sent = 0usize;
    // Under `isolate`, a UDP client's first datagram to an allowed address
    // makes a twin that sends them all and then replaces its socket.
    let mut twin: Option<super::broker::DatagramTwin> = None;
    let answer = |twin: Option<super::broker::DatagramTwin>, r: Reply| match (twin, r) {
        (Some(t), Reply::Value(v)) => t.install(usize::try_from(v).unwrap_or(0)),
        (_, r) => r,
    };
    for i in 0..vlen {
        let stop = |r: Reply| if sent > 0 { count(sent) } else { r };
        let at = ptr.wrapping_add((i * sn::MMSGHDR_SIZE) as u64);
        let mut one = match read_msghdr(req, at) {
            Ok(o) => o,
            Err(r) => return stop(r),
        };
        let on = twin.as_ref().map_or(sock.as_fd(), |t| t.fd.as_fd());
        if let Err(r) = take_rights(req, on, domain, &mut one) {
            return answer(twin, stop(r));
        }
        let One {
            addr,
            mut iov,
            control,
            fds,
        } = one;
        let mut data = Vec::new();
        // fdsup's own error, answered once the address is decided.
        let ours = if !stream && iov.total > MAX_DATA {
            Some(Reply::Errno(libc::EMSGSIZE))
        } else {
            iov.read_next(&*req.p, MAX_DATA, &mut data, stream).err()
        };
        if !req.valid() {
            return Reply::Gone;
        }
        let ours = match (ours, domain) {
            (Some(o), libc::AF_UNIX) => {
                let r = probe(on, addr.as_ref().map(Addr::bytes), iov.total, flags, o);
                return answer(twin, stop(r));
            }
            (o, _) => o,
        };
        let target = match target_of(req, sc, addr.as_ref(), on, domain, ty, flags) {
            Ok(t) => t,
            Err(r) => return answer(twin, stop(r)),
        };
        if let Some(ours) = ours {
            let r = kernel_first(on, target.as_ref(), iov.total, flags, ours);
            return answer(twin, stop(r));
        }
        let out = |t: &Target| matches!(t.route, Route::Broker | Route::InsideFirst);
        if sent == 0 && twin.is_none() && target.as_ref().is_some_and(out) {
            match datagram_twin(req.p.task(), sock.as_fd(), rfd, domain, ty) {
                Some(Ok(t)) => twin = Some(t),
                Some(Err(r)) => return r,
                None => {}
            }
        }
        let on = twin.as_ref().map_or(sock.as_fd(), |t| t.fd.as_fd());
        let mut target = target;
        let refused = target.as_mut().and_then(|t| t.refused.take());
        let mut m = Msg {
            target,
            data,
            control,
            fds,
            tail: iov.tail(),
            as_of: (domain == libc::AF_NETLINK).then(|| req.p.task().tid()),
        };
        let r = send_one(on, &mut m, flags | libc::MSG_DONTWAIT);
        if let Some(inside) = refused {
            let was_refused = r == Err(libc::ECONNREFUSED);
            log_inside(req, sc, &inside, was_refused, libc::EACCES);
            if was_refused {
                return answer(twin, stop(Reply::Errno(libc::EACCES)));
            }
        }
        match r {
            Ok(n) => {
                write_len(&*req.p, ptr, i, n);
                sent += 1;
                note_autobind(req, on, was_unnamed);
                // A stream message not sent whole: the caller sends the
                // rest again, as after a short native sendmmsg.
                if n < m.data.len() || iov.total > m.data.len() {
                    return count(sent);
                }
            }
            Err(libc::EAGAIN) if !nb && sent == 0 && twin.is_some() => {
                let Some(twin) = twin else {
                    return Reply::Errno(libc::EAGAIN);
                };
                return twin_waits(twin, m, flags, move |w, n| {
                    // Written only while the request is still pending, as
                    // below.
                    if !w.valid() {
                        return Err(Reply::Gone);
                    }
                    write_len(&Task::new(tid.unsigned_abs()), ptr, 0, n);
                    Ok(1)
                });
            }
            Err(e) if twin.is_some() => return answer(twin, stop(Reply::Errno(e))),
            Err(libc::EAGAIN) if sent > 0 => return count(sent),
            Err(libc::EAGAIN) if !nb && sent == 0 => {
                let Some(held) = Held::take(m.data.len()) else {
                    return Reply::Errno(libc::ENOBUFS);
                };
                return Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
                    let _held = held;
                    let timeout = send_timeout(sock.as_fd());
                    w.time_out_after(timeout);
                    let r = until_done(w, || {
                        send_one(sock.as_fd(), &mut m, flags)
                            .map_err(std::io::Error::from_raw_os_error)
                    });
                    match r {
                        Ok(Ok(n)) => {
                            // Written only while the request is still
                            // pending: the task, and so its memory, is
                            // still the one that asked.
                            if !w.valid() {
                                return Reply::Gone;
                            }
                            write_len(&Task::new(tid.unsigned_abs()), ptr, 0, n);
                            Reply::Value(1)
                        }
                        Ok(Err(e)) => Reply::Errno(errno_of(&e)),
                        Err(Stop::Gone) => Reply::Gone,
                        Err(Stop::Signal) => interrupted(!timeout.is_zero()),
                        Err(Stop::Timeout) => Reply::Errno(libc::EAGAIN),
                    }
                }));
            }
            Err(e) => return stop(Reply::Errno(e)),
        }
    }
    answer(twin, count(sent))
}

/// Writes `msg_len` of message `i` of a `sendmmsg` array at `arr`.
fn write_len(task: &impl Memory, arr: u64, i: usize, n: usize) {
    let Some(off) = i
        .checked_mul(sn::MMSGHDR_SIZE)
        .and_then(|o| o.checked_add(sn::MSGHDR_SIZE))
    else {
        return;
    };
    let at = arr.wrapping_add(off as u64);
    let v = u32::try_from(n).unwrap_or(u32::MAX);
    let _ = task.write(at, &v.to_ne_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::Fake;

    fn cmsg(len: u64, level: i32, ty: i32, body: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&len.to_ne_bytes());
        b.extend_from_slice(&level.to_ne_bytes());
        b.extend_from_slice(&ty.to_ne_bytes());
        b.extend_from_slice(body);
        while b.len() % 8 != 0 {
            b.push(0);
        }
        b
    }

    /// A program holding `/dev/null` as its descriptor 5.
    fn program() -> Fake {
        let mut p = Fake::new(std::path::Path::new("/"));
        let null = std::fs::File::open("/dev/null").unwrap();
        p.give_fd(5, null.into(), std::path::Path::new("/dev/null"));
        p
    }

    fn walk(control: &mut [u8]) -> Result<usize, i32> {
        match translate_rights(&mut program(), control) {
            Ok(v) => Ok(v.len()),
            Err(Reply::Errno(e)) => Err(e),
            Err(_) => Err(-1),
        }
    }

    #[test]
    fn hostile_control_lengths_end_the_walk() {
        // Lengths that overflow, point past the end, or are below a header.
        for len in [u64::MAX, u64::MAX - 7, 1 << 40, 17 << 20, 0, 15] {
            let mut c = cmsg(len, libc::SOL_SOCKET, 99, &[0; 8]);
            assert_eq!(walk(&mut c), Err(libc::EINVAL), "len {len:#x}");
        }
        // A header's worth of bytes and no more: one empty message.
        let mut c = cmsg(16, 0, 0, &[]);
        assert_eq!(walk(&mut c), Ok(0));
        // Short of a header: nothing to walk.
        assert_eq!(walk(&mut [0u8; 15]), Ok(0));
        assert_eq!(walk(&mut []), Ok(0));
        // Two messages, the second malformed.
        let mut two = cmsg(20, libc::IPPROTO_IP, 1, &[0; 4]);
        two.extend(cmsg(9, libc::IPPROTO_IP, 1, &[]));
        assert_eq!(walk(&mut two), Err(libc::EINVAL));
    }

    #[test]
    fn rights_pass_our_copies_and_are_bounded() {
        let n = 5i32;
        let mut body = Vec::new();
        body.extend_from_slice(&n.to_ne_bytes());
        body.extend_from_slice(&n.to_ne_bytes());
        let mut c = cmsg(16 + 8, libc::SOL_SOCKET, libc::SCM_RIGHTS, &body);
        assert_eq!(walk(&mut c), Ok(2));
        let mut bad = cmsg(
            20,
            libc::SOL_SOCKET,
            libc::SCM_RIGHTS,
            &(-1i32).to_ne_bytes(),
        );
        assert_eq!(walk(&mut bad), Err(libc::EBADF));
        let many: Vec<u8> = (0..=SCM_MAX_FD).flat_map(|_| n.to_ne_bytes()).collect();
        let mut too_many = cmsg(
            16 + many.len() as u64,
            libc::SOL_SOCKET,
            libc::SCM_RIGHTS,
            &many,
        );
        assert_eq!(walk(&mut too_many), Err(libc::EINVAL));
    }

    #[test]
    fn iovec_lengths_are_the_kernels() {
        assert!(matches!(
            Iov::new(vec![(0, u64::MAX)]),
            Err(Reply::Errno(libc::EINVAL))
        ));
        let iov = Iov::new(vec![(0, 0x7fff_ffff), (0, 0x7fff_ffff)]).unwrap();
        assert_eq!(iov.total, MAX_RW_COUNT);
        assert!(Iov::new(vec![]).unwrap().done());
        // Outside user space, even empty: EFAULT (after every length is
        // known to be valid: a negative one is EINVAL first).
        assert!(matches!(
            Iov::new(vec![(u64::MAX - 4, 0)]),
            Err(Reply::Errno(libc::EFAULT))
        ));
        assert!(matches!(
            Iov::new(vec![(1 << 63, 1), (0, u64::MAX)]),
            Err(Reply::Errno(libc::EINVAL))
        ));
        assert!(matches!(
            Iov::single(0xffff_8000_0000_0000, 0),
            Err(Reply::Errno(libc::EFAULT))
        ));
        assert!(Iov::single(0x1000, 16).is_ok());
        assert!(Iov::new(vec![(0, 0), (0, 0)]).unwrap().done());
        assert!(!Iov::new(vec![(0, 0), (0, 1)]).unwrap().done());
    }

    #[test]
    fn waiting_bytes_are_bounded() {
        let a = Held::take(MAX_WAITING_DATA).unwrap();
        assert!(Held::take(1).is_none());
        drop(a);
        assert!(Held::take(1).is_some());
    }
}

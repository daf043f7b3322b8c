//! Network requests: `connect`, `bind`, and every send with a destination
//! address (`sendto`, `sendmsg`, `sendmmsg`; TCP Fast Open is a send with an
//! address), for `AF_INET`, `AF_INET6` and `AF_UNIX` (path and abstract).
//!
//! They are trapped whatever the policy says: a Unix socket path is a path,
//! which the file system rules decide even where the network section allows
//! everything ([`decide`]), and `--log` sees every connection.
//!
//! Each request is read once — the address, and for `sendmsg` the
//! `msghdr`, its iovecs and their bytes, its control messages — then
//! `ID_VALID` vouches for what was read, the address is decided
//! ([`decide`]: the network rules, last matching rule wins; for a Unix path
//! the file system rules first), and the request is **carried out by the
//! supervisor** on the program's own socket, fetched with `pidfd_getfd` (the
//! same open file description), with the copied bytes.
//! `SECCOMP_USER_NOTIF_FLAG_CONTINUE` is never used here: a racing thread
//! that rewrites the `sockaddr` after it was read changes nothing, since the
//! kernel never looks at the program's copy.
//!
//! The parts:
//! - [`addr`]: reading and parsing addresses;
//! - [`decide`]: the policy's word, and where a request is carried out;
//! - [`own`]: the Unix sockets the sandbox bound itself; [`inside`]: its
//!   own listeners in its own namespace under `isolate`;
//! - [`connect`]: `connect` and `bind`; [`binder`] binds a Unix path under
//!   the name the program gave;
//! - [`broker`]: connections made from fdsup's namespace under `isolate`;
//! - [`send`]: the sends and their control messages;
//! - [`socket`]: what they read of the program's socket (type, flags,
//!   send timeout, close-on-exec);
//! - [`wait`]: requests that wait, on threads of their own, ended by a
//!   signal as the kernel would end them.
//!
//! A denied `connect` fails with `ECONNREFUSED`, every other denial with
//! `EACCES`. `redirect` replaces the address (an IPv4 target on an IPv6
//! socket is written v4-mapped); the target must be of the socket's family,
//! or the request fails with `EAFNOSUPPORT`.
//!
//! What the kernel learns of the peer is the task's that makes the call: a
//! Unix socket connected or sent on by fdsup carries fdsup's pid
//! (`SO_PEERCRED`, `SCM_CREDENTIALS` added by `SO_PASSCRED`; README,
//! limits), and the program's uids and gids, which the worker takes for
//! the call where they differ from fdsup's ([`crate::creds::as_peer`]).

mod addr;
mod binder;
mod broker;
mod cmsg;
mod connect;
mod decide;
mod inside;
mod ipcontrol;
mod lend;
mod own;
mod send;
mod socket;
mod wait;

pub use binder::binder_main;
pub use own::OwnSockets;
pub use wait::{interrupted, until_done, Deferred, Stop, Waiter, WAKE_SIGNAL};

use super::{Ctx, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::syscalls::{Kind, Mediated};
use crate::task::Task;

/// Handles one network notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let mut req = Req {
        ctx,
        p,
        syscall: m.name,
    };
    // `MSG_CMSG_COMPAT` is the kernel's own mark of a 32-bit caller: from a
    // 64-bit one, `sendmsg` and `sendmmsg` refuse it before anything else.
    let compat = |f: u64| crate::sys::low_i32(f).cast_unsigned() & MSG_CMSG_COMPAT != 0;
    match m.kind {
        Kind::Sendmsg if compat(a[2]) => return Reply::Errno(libc::EINVAL),
        Kind::Sendmmsg if compat(a[3]) => return Reply::Errno(libc::EINVAL),
        _ => {}
    }
    // A Unix socket's peer learns the ids of the task that connects or
    // sends, fdsup's worker: it takes the program's for those calls.
    let peer = match ctx.creds.peer_ids(req.p.tid()) {
        Ok(p) => p,
        Err(e) => return Reply::Errno(e),
    };
    let _peer = crate::creds::PeerScope::enter(peer);
    let (reply, flags) = match m.kind {
        Kind::Connect => {
            return as_peer_after(connect::connect(&mut req, sc, a[0], a[1], a[2]), peer)
        }
        Kind::Bind => return connect::bind(&mut req, sc, a[0], a[1], a[2]),
        Kind::Sendto => (send::sendto(&mut req, sc, a), a[3]),
        Kind::Sendmsg => (
            send::sendmmsg(&mut req, sc, a[0], a[1], 1, a[2], false),
            a[2],
        ),
        Kind::Sendmmsg => (
            send::sendmmsg(&mut req, sc, a[0], a[1], a[2], a[3], true),
            a[3],
        ),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    let reply = as_peer_after(reply, peer);
    if crate::sys::low_i32(flags) & libc::MSG_NOSIGNAL != 0 {
        return reply;
    }
    sigpipe_on_epipe(reply, req.p.tid())
}

/// A request that goes on on a thread of its own connects or sends there
/// with the program's ids too ([`crate::creds::as_peer`]).
fn as_peer_after(reply: Reply, peer: Option<crate::creds::PeerIds>) -> Reply {
    match reply {
        Reply::Deferred(job) if peer.is_some() => {
            Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
                let _peer = crate::creds::PeerScope::enter(peer);
                job.run(w)
            }))
        }
        r => r,
    }
}

/// A send that fails with `EPIPE` (the other end is closed) raises
/// `SIGPIPE` in the thread that asked, as the kernel does for the sender
/// unless `MSG_NOSIGNAL` says not to: the send was fdsup's, so the kernel
/// raised it in fdsup (which ignores it), and the program's default
/// disposition (it ends) or handler must see it instead.
fn sigpipe_on_epipe(reply: Reply, tid: i32) -> Reply {
    let raise = move || {
        if let Ok(tgid) = Task::new(tid.unsigned_abs()).tgid() {
            // The kernel's signal, fdsup's act (`own_caps`).
            let _ = crate::own_caps::with(|| crate::sys::tgkill(tgid, tid, libc::SIGPIPE));
        }
    };
    match reply {
        Reply::Errno(libc::EPIPE) => {
            raise();
            reply
        }
        Reply::Deferred(job) => Reply::Deferred(Deferred::new(move |w: &mut Waiter<'_>| {
            let r = job.run(w);
            // Raised only while the request still waits: the thread is
            // alive, so its number is its own.
            if matches!(r, Reply::Errno(libc::EPIPE)) && w.valid() {
                raise();
            }
            r
        })),
        r => r,
    }
}

/// `MSG_CMSG_COMPAT` (include/linux/socket.h), which libc does not name.
const MSG_CMSG_COMPAT: u32 = 0x8000_0000;

/// One request being handled.
struct Req<'a, P> {
    ctx: &'a Ctx,
    /// The program that asked.
    p: &'a mut P,
    syscall: &'static str,
}

impl<P: Program> Req<'_, P> {
    /// `ID_VALID`: what was read belongs to this request, which still waits.
    fn valid(&self) -> bool {
        self.p.vouch()
    }

    /// Writes one network decision (and, with `--learn`, notes an address
    /// reached).
    fn log(
        &self,
        sc: &mut Scratch,
        addr: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        rule: Option<&crate::policy::Origin>,
    ) {
        super::Log::new(self.ctx, self.syscall, self.p.tid(), &mut sc.line)
            .write_addr(addr, verdict, errno, rule);
    }
}

use crate::sys::errno_of;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, Fake, Run};
    use std::os::fd::{AsFd, OwnedFd};
    use std::path::Path;

    /// The run of these tests: the file-system fixture, and a network
    /// section that allows 127.0.0.1 port 9, denies 127.0.0.2 explicitly,
    /// allows one abstract name and a socket path in `rw` (anything else:
    /// the default, deny).
    fn run() -> Run {
        Run::fixture_with_network(
            r#""default": "deny", "rules": [
                {"connect": "127.0.0.1:9"},
                {"connect": "127.0.0.2:*", "access": "deny"},
                {"connect": "[::1]:9"},
                {"connect": "unix:@fdsup-test-allowed"},
                {"connect": "unix:${D}/rw/sock"},
                {"connect": "unix:${D}/ro/sock"},
                {"connect": "unix:${D}/hide/sock"},
                {"bind": "127.0.0.1:*"}
            ]"#,
        )
    }

    /// A program holding `fd` as its descriptor 5.
    fn holding(r: &Run, fd: impl Into<OwnedFd>) -> Fake {
        let mut p = r.program();
        p.give_fd(5, fd.into(), Path::new("socket:[0]"));
        p
    }

    fn udp() -> std::net::UdpSocket {
        std::net::UdpSocket::bind("127.0.0.1:0").unwrap()
    }

    /// `sockaddr_in` of `ip:port`.
    fn v4(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = vec![0u8; 16];
        b[..2].copy_from_slice(&u16::try_from(libc::AF_INET).unwrap().to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        b
    }

    /// `sockaddr_un` with `path` as given (no NUL added), `AF_UNIX`.
    fn un(path: &[u8]) -> Vec<u8> {
        let mut b = u16::try_from(libc::AF_UNIX).unwrap().to_ne_bytes().to_vec();
        b.extend_from_slice(path);
        b
    }

    fn answer(r: &Reply) -> Result<i64, i32> {
        match r {
            Reply::Value(v) => Ok(*v),
            Reply::Errno(e) => Err(*e),
            other => panic!("neither a value nor an errno: {other:?}"),
        }
    }

    /// `connect(5, addr, len)`.
    fn connect(r: &mut Run, p: &mut Fake, addr: &[u8], len: u64) -> Result<i64, i32> {
        let a = p.put(addr);
        answer(&r.call(p, libc::SYS_connect, &[5, a, len]))
    }

    #[test]
    fn inet_addresses_by_policy() {
        let cases: &[(Vec<u8>, Result<i64, i32>)] = &[
            (v4([127, 0, 0, 1], 9), Ok(0)),
            (v4([127, 0, 0, 1], 10), Err(libc::ECONNREFUSED)),
            (v4([127, 0, 0, 2], 9), Err(libc::ECONNREFUSED)),
            (v4([127, 0, 0, 3], 9), Err(libc::ECONNREFUSED)),
            // Short of a `sockaddr_in`.
            (v4([127, 0, 0, 1], 9)[..15].to_vec(), Err(libc::EINVAL)),
            (v4([127, 0, 0, 1], 9)[..3].to_vec(), Err(libc::EINVAL)),
            // AF_UNSPEC: a disconnect, nothing to decide.
            ([0u8; 16].to_vec(), Ok(0)),
            // Another family on an IPv4 socket: passed undecided, the
            // kernel refuses it (its length first).
            (un(b"/x\0"), Err(libc::EINVAL)),
            (un(b"/x\0\0\0\0\0\0\0\0\0\0\0\0"), Err(libc::EAFNOSUPPORT)),
        ];
        for (addr, want) in cases {
            let mut r = run();
            let mut p = holding(&r, udp());
            let got = connect(&mut r, &mut p, addr, addr.len() as u64);
            assert_eq!(got, *want, "connect {addr:?}");
        }
    }

    #[test]
    fn address_lengths_and_pointers() {
        let mut r = run();
        let mut p = holding(&r, udp());
        let ok = v4([127, 0, 0, 1], 9);
        let a = p.put(&ok);
        let call = |r: &mut Run, p: &mut Fake, fd: u64, a: u64, len: u64| {
            answer(&r.call(p, libc::SYS_connect, &[fd, a, len]))
        };
        // More than a `sockaddr_storage`, a negative length.
        assert_eq!(call(&mut r, &mut p, 5, a, 129), Err(libc::EINVAL));
        assert_eq!(call(&mut r, &mut p, 5, a, arg(-1)), Err(libc::EINVAL));
        // Longer than what is there to read; a bad pointer.
        assert_eq!(call(&mut r, &mut p, 5, a, 128), Err(libc::EFAULT));
        assert_eq!(call(&mut r, &mut p, 5, 8, 16), Err(libc::EFAULT));
        // No address at all: the kernel's EINVAL.
        assert_eq!(call(&mut r, &mut p, 5, 0, 0), Err(libc::EINVAL));
        // A descriptor it does not hold; one that is no socket.
        assert_eq!(call(&mut r, &mut p, 6, a, 16), Err(libc::EBADF));
        let file = std::fs::File::open(r.dir.join("rw/f")).unwrap();
        p.give_fd(6, file.into(), &r.dir.join("rw/f"));
        assert_eq!(call(&mut r, &mut p, 6, a, 16), Err(libc::ENOTSOCK));
        assert_eq!(call(&mut r, &mut p, 5, a, 16), Ok(0));
        // Gone: no connection made.
        p.die();
        let got = r.call(&mut p, libc::SYS_connect, &[5, a, 16]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }

    #[test]
    fn the_log_names_the_address() {
        let mut r = run();
        let mut p = holding(&r, udp());
        let tid = p.tid();
        let _ = connect(&mut r, &mut p, &v4([127, 0, 0, 2], 9), 16);
        let line = r.last_log();
        let rest = line.split_once(",\"pid\"").unwrap().1;
        let want = format!(
            r#":{tid},"syscall":"connect","addr":"127.0.0.2:9","decision":"deny","errno":"ECONNREFUSED","rule":""#
        );
        assert!(rest.starts_with(&want), "{rest}\n{want}");
        let _ = connect(&mut r, &mut p, &v4([127, 0, 0, 3], 9), 16);
        assert!(
            r.last_log().ends_with(r#""rule":"default"}"#),
            "{}",
            r.last_log()
        );
        let _ = connect(&mut r, &mut p, &v4([127, 0, 0, 1], 9), 16);
        assert!(r
            .last_log()
            .contains(r#""addr":"127.0.0.1:9","decision":"allow""#));
    }

    fn unix_dgram() -> std::os::unix::net::UnixDatagram {
        std::os::unix::net::UnixDatagram::unbound().unwrap()
    }

    #[test]
    fn unix_addresses_by_policy() {
        let abs = |name: &[u8]| {
            let mut b = un(b"\0");
            b.extend_from_slice(name);
            b
        };
        let path = |r: &Run, rel: &str, nul: bool| {
            let mut b = un(&r.path(rel));
            if nul {
                b.push(0);
            }
            b
        };
        for (what, nul) in [("with its NUL", true), ("without", false)] {
            let cases = [
                // Nothing listens there: the kernel's answer once allowed.
                ("rw/sock", Err(libc::ENOENT)),
                // Decided as a file first.
                ("hide/sock", Err(libc::ENOENT)),
                ("deny/x", Err(libc::EACCES)),
                ("other", Err(libc::EACCES)),
                // The file rules allow reaching it, the network rules do
                // not.
                ("rw/f", Err(libc::ECONNREFUSED)),
            ];
            for (rel, want) in cases {
                let mut r = run();
                let mut p = holding(&r, unix_dgram());
                let a = path(&r, rel, nul);
                assert_eq!(
                    connect(&mut r, &mut p, &a, a.len() as u64),
                    want,
                    "{rel} {what}"
                );
            }
        }
        let mut r = run();
        let mut p = holding(&r, unix_dgram());
        // An abstract name: allowed (nothing there), or the default.
        let a = abs(b"fdsup-test-allowed");
        assert_eq!(
            connect(&mut r, &mut p, &a, a.len() as u64),
            Err(libc::ECONNREFUSED)
        );
        assert!(r
            .last_log()
            .contains(r#""addr":"unix:@fdsup-test-allowed","decision":"allow""#));
        let a = abs(b"fdsup-test-other");
        assert_eq!(
            connect(&mut r, &mut p, &a, a.len() as u64),
            Err(libc::ECONNREFUSED)
        );
        assert!(
            r.last_log().contains(r#""decision":"deny""#),
            "{}",
            r.last_log()
        );
        // Family only: nothing to decide (the kernel's EINVAL for a
        // datagram connect without a name).
        let a = un(b"");
        assert_eq!(connect(&mut r, &mut p, &a, 2), Err(libc::EINVAL));
        // Past a `sockaddr_un`: EINVAL, before anything is looked up.
        let mut long = path(&r, "hide/sock", true);
        long.resize(111, b'a');
        assert_eq!(connect(&mut r, &mut p, &long, 111), Err(libc::EINVAL));
        // A path that fills `sun_path`: the length ends it.
        let mut full = un(b"/");
        full.resize(110, b'a');
        assert_eq!(connect(&mut r, &mut p, &full, 110), Err(libc::EACCES));
    }

    /// `sendto(5, data, flags, addr, len)` with `data` "hi".
    fn sendto(r: &mut Run, p: &mut Fake, flags: i32, addr: &[u8]) -> Result<i64, i32> {
        let data = p.put(b"hi");
        let a = if addr.is_empty() { 0 } else { p.put(addr) };
        let args = [5, data, 2, arg(flags), a, addr.len() as u64];
        answer(&r.call(p, libc::SYS_sendto, &args))
    }

    #[test]
    fn sends_are_decided_by_their_address() {
        let mut r = run();
        let mut p = holding(&r, udp());
        let nosig = libc::MSG_NOSIGNAL;
        assert_eq!(sendto(&mut r, &mut p, nosig, &v4([127, 0, 0, 1], 9)), Ok(2));
        assert_eq!(
            sendto(&mut r, &mut p, nosig, &v4([127, 0, 0, 1], 10)),
            Err(libc::EACCES)
        );
        assert_eq!(
            sendto(&mut r, &mut p, nosig, &v4([127, 0, 0, 2], 9)),
            Err(libc::EACCES)
        );
        let short = &v4([127, 0, 0, 1], 9)[..8];
        assert_eq!(sendto(&mut r, &mut p, nosig, short), Err(libc::EINVAL));
        // AF_UNSPEC on an IPv4 datagram socket is read as AF_INET: decided.
        let mut unspec = v4([127, 0, 0, 3], 9);
        unspec[..2].fill(0);
        assert_eq!(sendto(&mut r, &mut p, nosig, &unspec), Err(libc::EACCES));
        // An address of no length (a null one is never trapped): the
        // kernel's answer.
        let none = p.put(&[0u8; 16]);
        let args = [5, p.put(b"hi"), 2, arg(nosig), none, 0];
        assert_eq!(
            answer(&r.call(&mut p, libc::SYS_sendto, &args)),
            Err(libc::EINVAL)
        );
        // A buffer that cannot be read.
        let a = p.put(&v4([127, 0, 0, 1], 9));
        let got = r.call(&mut p, libc::SYS_sendto, &[5, 8, 2, arg(nosig), a, 16]);
        assert_eq!(answer(&got), Err(libc::EFAULT));
        // MSG_CMSG_COMPAT, a 32-bit caller's mark: refused first.
        let h = p.buffer(56);
        let compat = u64::from(MSG_CMSG_COMPAT);
        let got = r.call(&mut p, libc::SYS_sendmsg, &[5, h, compat]);
        assert_eq!(answer(&got), Err(libc::EINVAL));
    }

    /// A `msghdr`: (name, namelen, iov, iovlen, control, controllen).
    fn msghdr(
        p: &Fake,
        name: u64,
        namelen: i32,
        iov: u64,
        iovlen: u64,
        ctl: u64,
        ctl_len: u64,
    ) -> u64 {
        let mut h = Vec::with_capacity(56);
        h.extend_from_slice(&name.to_ne_bytes());
        h.extend_from_slice(&namelen.to_ne_bytes());
        h.extend_from_slice(&[0; 4]);
        h.extend_from_slice(&iov.to_ne_bytes());
        h.extend_from_slice(&iovlen.to_ne_bytes());
        h.extend_from_slice(&ctl.to_ne_bytes());
        h.extend_from_slice(&ctl_len.to_ne_bytes());
        h.extend_from_slice(&[0; 8]);
        p.put(&h)
    }

    /// One control message: (len, level, type) then `body`, padded to 8.
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

    fn rights(fds: &[i32]) -> Vec<u8> {
        let body: Vec<u8> = fds.iter().flat_map(|f| f.to_ne_bytes()).collect();
        cmsg(
            16 + body.len() as u64,
            libc::SOL_SOCKET,
            libc::SCM_RIGHTS,
            &body,
        )
    }

    #[test]
    fn control_messages_as_the_kernel_reads_them() {
        let (ours, theirs) = std::os::unix::net::UnixDatagram::pair().unwrap();
        let mut r = run();
        let mut p = holding(&r, ours);
        p.open_fd(6, &r.dir.join("rw/f"));
        let data = p.put(b"hi");
        let mut iov = data.to_ne_bytes().to_vec();
        iov.extend_from_slice(&2u64.to_ne_bytes());
        let iov = p.put(&iov);
        let send = |r: &mut Run, p: &mut Fake, control: &[u8]| {
            let ctl = if control.is_empty() {
                0
            } else {
                p.put(control)
            };
            let h = msghdr(p, 0, 0, iov, 1, ctl, control.len() as u64);
            answer(&r.call(p, libc::SYS_sendmsg, &[5, h, arg(libc::MSG_NOSIGNAL)]))
        };
        // A descriptor passed: ours goes, the receiver gets the file.
        assert_eq!(send(&mut r, &mut p, &rights(&[6])), Ok(2));
        let mut buf = [0u8; 8];
        let (_, got) = crate::sys::net::recv_with_fds(theirs.as_fd(), &mut buf).unwrap();
        assert_eq!(got.len(), 1, "{got:?}");
        // A number it does not hold, or a negative one.
        assert_eq!(send(&mut r, &mut p, &rights(&[9])), Err(libc::EBADF));
        assert_eq!(send(&mut r, &mut p, &rights(&[-1])), Err(libc::EBADF));
        // More than the kernel passes in one message, in one control
        // message or spread over two.
        let many = vec![6; SCM_MAX_FD_TEST + 1];
        assert_eq!(send(&mut r, &mut p, &rights(&many)), Err(libc::EINVAL));
        let mut two = rights(&many[..SCM_MAX_FD_TEST / 2 + 1]);
        two.extend(rights(&many[..SCM_MAX_FD_TEST / 2 + 1]));
        assert_eq!(send(&mut r, &mut p, &two), Err(libc::EINVAL));
        // Lengths that overflow, run past the buffer, or are short of a
        // header; a second message cut short.
        for len in [u64::MAX, u64::MAX - 7, 1 << 40, 64, 15, 0] {
            let c = cmsg(len, libc::SOL_SOCKET, libc::SCM_RIGHTS, &6i32.to_ne_bytes());
            assert_eq!(
                send(&mut r, &mut p, &c),
                Err(libc::EINVAL),
                "cmsg_len {len:#x}"
            );
        }
        let mut cut = rights(&[6]);
        cut.extend(cmsg(
            40,
            libc::SOL_SOCKET,
            libc::SCM_RIGHTS,
            &6i32.to_ne_bytes(),
        ));
        assert_eq!(send(&mut r, &mut p, &cut), Err(libc::EINVAL));
        // Credentials of someone else.
        let mut cred = Vec::new();
        for v in [1u32, 0, 0] {
            cred.extend_from_slice(&v.to_ne_bytes());
        }
        let c = cmsg(28, libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &cred);
        assert_eq!(send(&mut r, &mut p, &c), Err(libc::EPERM));
        // Short of a header: nothing to walk.
        assert_eq!(send(&mut r, &mut p, &[0u8; 8]), Ok(2));
        // The msghdr itself: bad pointer, negative name length, too many
        // iovecs, a negative iovec length, a control buffer past optmem.
        let got = r.call(&mut p, libc::SYS_sendmsg, &[5, 8, 0]);
        assert_eq!(answer(&got), Err(libc::EFAULT));
        let some = p.put(&[0u8; 16]);
        let h = msghdr(&p, some, -1, iov, 1, 0, 0);
        assert_eq!(
            answer(&r.call(&mut p, libc::SYS_sendmsg, &[5, h, 0])),
            Err(libc::EINVAL)
        );
        let h = msghdr(&p, 0, 0, iov, 1025, 0, 0);
        assert_eq!(
            answer(&r.call(&mut p, libc::SYS_sendmsg, &[5, h, 0])),
            Err(libc::EMSGSIZE)
        );
        let mut bad_iov = data.to_ne_bytes().to_vec();
        bad_iov.extend_from_slice(&u64::MAX.to_ne_bytes());
        let bad_iov = p.put(&bad_iov);
        let h = msghdr(&p, 0, 0, bad_iov, 1, 0, 0);
        assert_eq!(
            answer(&r.call(&mut p, libc::SYS_sendmsg, &[5, h, 0])),
            Err(libc::EINVAL)
        );
        let h = msghdr(&p, 0, 0, iov, 1, some, 1 << 31);
        assert_eq!(
            answer(&r.call(&mut p, libc::SYS_sendmsg, &[5, h, 0])),
            Err(libc::ENOBUFS)
        );
    }

    /// `SCM_MAX_FD`.
    const SCM_MAX_FD_TEST: usize = 253;
}

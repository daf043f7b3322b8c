//! The executor: runs a seed's sequence in the scratch tree and prints a
//! transcript, one line per operation, that a second run on the same tree
//! must reproduce exactly.
//!
//! Each line is `INDEX OPERATION = RESULT [| DRAINED]`: the operation as
//! generated (arguments by description, so the line reproduces it), the
//! return value or errno name, and what the call wrote that must match
//! (stat fields but inode numbers and times, link targets, listed names,
//! attribute values, fds and types of opened descriptors). After every
//! network call, every socket the executor owns is drained and what arrived
//! is printed (data, the types of descriptors passed, credentials but the
//! pid).
//!
//! What cannot match by design is excluded here, symmetrically on both
//! sides, and printed as `X(class)` (see [`crate::EXCLUSIONS`]): then the
//! executor also undoes what the call did, so that the runs stay in step.
//! The executor runs the same natively and under `fdsup run`; only the
//! undoing knows which side it is on.

use std::fmt::Write as _;
use std::os::fd::RawFd;

use crate::gen::{self, MARK, SLOTS};
use crate::model::*;
use crate::sys::{self, Arena, END_ZONES, MAIN, ZONE};

/// Which side a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The kernel alone.
    Native,
    /// Under `fdsup run`.
    Fdsup,
}

/// The executor's command line.
#[derive(Debug, Clone)]
pub struct Config {
    /// The seed.
    pub seed: u64,
    /// How many operations.
    pub calls: usize,
    /// The scratch tree (the working directory is set to it).
    pub scratch: Vec<u8>,
    /// Native or under fdsup.
    pub side: Side,
    /// Run only these indices (the minimiser), else all.
    pub keep: Option<Vec<usize>>,
    /// Distinguishes this worker's abstract socket names from others'.
    pub tag: String,
    /// Run the racing phase after the sequence.
    pub race: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File,
    Sock(SockKind),
    Listener,
    Other,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    fd: RawFd,
    open: bool,
    opath: bool,
    kind: Kind,
}

/// The executor's own sockets that calls are aimed at.
#[derive(Debug, Default)]
struct Anchors {
    tcp4_listen: u16,
    tcp4_refused: u16,
    udp4: u16,
    tcp6_listen: u16,
    tcp6_refused: u16,
    udp6: u16,
    /// Sockets drained after every network call.
    drain: Vec<(String, RawFd)>,
    /// Listeners whose connections are accepted.
    listeners: Vec<RawFd>,
}

/// The running executor.
pub struct Exec {
    arena: Arena,
    slots: Vec<Slot>,
    anchors: Anchors,
    /// Accepted connections, and whether each is TCP.
    accepted: Vec<(RawFd, bool)>,
    tag: String,
    /// Next free offset in the arena's main zone for this call.
    next: usize,
    /// Next end zone for this call.
    zone: usize,
    /// How far into the main zone this call wrote.
    high: usize,
    /// The length of the last address built (for [`Arg::AddrLen`]).
    addr_len: u64,
    /// The last call may have written into the arena.
    dirty: bool,
    /// The last call made a TCP connection to one of our listeners.
    await_tcp: bool,
    /// `st_dev` of `/proc`, whose root's link count is the number of
    /// processes on the machine.
    proc_dev: u64,
}

/// Runs the executor; returns its exit status.
pub fn main(cfg: &Config) -> i32 {
    // The calls are hostile (renames, chmods, `..` out of the tree, as
    // root): only ever inside the driver's sandbox, where everything but the
    // scratch tree is a read-only mount.
    if !sys::read_only(c"/") && std::env::var_os("FDSUP_FUZZ_ANYWHERE").is_none() {
        eprintln!(
            "fdsup-fuzz exec: / is writable: the executor runs only inside the driver's sandbox (fdsup-fuzz, repro)"
        );
        return 2;
    }
    sys::close_from(3);
    sys::ignore_sigpipe();
    sys::umask(0o022);
    let mut ex = match Exec::new(cfg.tag.clone()) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("fdsup-fuzz exec: cannot map the arena: {e}");
            return 2;
        }
    };
    let mut scratch = cfg.scratch.clone();
    scratch.push(0);
    let r = ex.raw_call(libc::SYS_chdir, &scratch);
    println!("start chdir={}", result(r));
    ex.make_anchors();
    let ops = gen::sequence(cfg.seed, cfg.calls, &cfg.scratch);
    for (i, op) in ops.iter().enumerate() {
        if cfg
            .keep
            .as_ref()
            .is_some_and(|k| k.binary_search(&i).is_err())
        {
            continue;
        }
        if std::env::var_os("FDSUP_FUZZ_DEBUG_ARENA").is_some() {
            println!("arena {i} {:016x}", crate::fnv(&ex.arena.read(0, MAIN)));
        }
        let out = ex.op(op);
        println!("{i} {op} = {out}");
    }
    println!("alive {}", ex.alive());
    if cfg.race {
        crate::race::run(cfg, &mut ex.arena);
        println!("alive-after-race {}", ex.alive());
    }
    println!("end");
    0
}

/// A result as text: the value or the errno's name.
pub fn result(r: Result<i64, i32>) -> String {
    match r {
        Ok(v) => v.to_string(),
        Err(e) => errno_name(e),
    }
}

impl Exec {
    fn new(tag: String) -> std::io::Result<Self> {
        Ok(Self {
            arena: Arena::new_at(0x2000_0000_0000)?,
            slots: (0..SLOTS)
                .map(|i| Slot {
                    fd: 900 + i32::from(i),
                    open: false,
                    opath: false,
                    kind: Kind::Other,
                })
                .collect(),
            anchors: Anchors::default(),
            accepted: Vec::new(),
            tag,
            next: 0,
            high: 0,
            zone: 0,
            addr_len: 0,
            dirty: false,
            await_tcp: false,
            proc_dev: std::fs::metadata("/proc")
                .map_or(u64::MAX, |m| std::os::unix::fs::MetadataExt::dev(&m)),
        })
    }

    /// A syscall with one string argument, outside the fuzzed sequence.
    fn raw_call(&mut self, nr: i64, s: &[u8]) -> Result<i64, i32> {
        self.arena.write(0, s);
        self.high = self.high.max(s.len());
        sys::raw(nr, [self.arena.addr(0), 0, 0, 0, 0, 0])
    }

    /// The sockets calls are aimed at: TCP listening and refusing, UDP, in
    /// both families, and unix stream and datagram sockets by path and
    /// abstract name. Their setup is printed (the binds are mediated too).
    fn make_anchors(&mut self) {
        let mut line = String::from("anchors");
        let lo4 = |port: u16| inet4([127, 0, 0, 1], port);
        let lo6 = |port: u16| inet6(std::net::Ipv6Addr::LOCALHOST.octets(), port, 0);
        let mut mk = |domain: i32, ty: i32, addr: Vec<u8>, listen: bool| -> (RawFd, u16) {
            let fd = sys::socket(domain, ty | libc::SOCK_CLOEXEC, 0).unwrap_or(-1);
            let b = sys::bind_bytes(fd, &addr);
            let l = if listen {
                sys::listen(fd).map(|_| ())
            } else {
                Ok(())
            };
            let _ = write!(line, " {}/{}", b.is_ok(), l.is_ok());
            (fd, sys::local_port(fd).unwrap_or(0))
        };
        let (l4, p) = mk(libc::AF_INET, libc::SOCK_STREAM, lo4(0), true);
        self.anchors.tcp4_listen = p;
        let (_, p) = mk(libc::AF_INET, libc::SOCK_STREAM, lo4(0), false);
        self.anchors.tcp4_refused = p;
        // UDP on the refusing TCP socket's number: TCP and UDP numbers are
        // apart, so no other listener of the machine's can own the port a
        // TCP connect to "the UDP port" meets (ours refuses it).
        let (u4, p) = mk(
            libc::AF_INET,
            libc::SOCK_DGRAM,
            lo4(self.anchors.tcp4_refused),
            false,
        );
        self.anchors.udp4 = p;
        let (l6, p) = mk(libc::AF_INET6, libc::SOCK_STREAM, lo6(0), true);
        self.anchors.tcp6_listen = p;
        let (_, p) = mk(libc::AF_INET6, libc::SOCK_STREAM, lo6(0), false);
        self.anchors.tcp6_refused = p;
        let (u6, p) = mk(
            libc::AF_INET6,
            libc::SOCK_DGRAM,
            lo6(self.anchors.tcp6_refused),
            false,
        );
        self.anchors.udp6 = p;
        let (us, _) = mk(
            libc::AF_UNIX,
            libc::SOCK_STREAM,
            unix_path(b"sock-s", true),
            true,
        );
        let (ud, _) = mk(
            libc::AF_UNIX,
            libc::SOCK_DGRAM,
            unix_path(b"sock-d", true),
            false,
        );
        let abs = |tag: &str, n: &[u8]| abstract_addr(tag, n);
        let (as_, _) = mk(libc::AF_UNIX, libc::SOCK_STREAM, abs(&self.tag, b"s"), true);
        let (ad, _) = mk(libc::AF_UNIX, libc::SOCK_DGRAM, abs(&self.tag, b"d"), false);
        println!("{line}");
        self.anchors.drain = vec![
            ("udp4".into(), u4),
            ("udp6".into(), u6),
            ("sock-d".into(), ud),
            ("@d".into(), ad),
        ];
        self.anchors.listeners = vec![l4, l6, us, as_];
    }

    /// A known-good request at the end: the supervisor still answers.
    fn alive(&mut self) -> String {
        let r = self.raw_call(libc::SYS_open, b"/etc/passwd\0");
        match r {
            Ok(fd) => {
                let fd = i32::try_from(fd).unwrap_or(-1);
                let t = sys::fd_type(fd).map_or("?", crate::tree::type_name);
                sys::close(fd);
                format!("open=ok type={t}")
            }
            Err(e) => format!("open={}", errno_name(e)),
        }
    }

    fn slot(&self, s: u8) -> Slot {
        self.slots[usize::from(s)]
    }

    fn fd_of(&self, a: FdArg) -> u64 {
        match a {
            FdArg::Slot(s) => i64::from(self.slot(s).fd) as u64,
            FdArg::Cwd => libc::AT_FDCWD as i64 as u64,
            FdArg::Raw(v) => v,
        }
    }

    /// The open slot holding number `fd` (as the kernel reads an int).
    fn holder(&self, fd: u64) -> Option<Slot> {
        let n = fd as u32 as i32;
        self.slots.iter().copied().find(|s| s.open && s.fd == n)
    }

    /// Stores a new descriptor in slot `s`, closing what it held.
    fn store(&mut self, s: u8, fd: RawFd, opath: bool, kind: Kind) {
        let old = self.slot(s);
        if old.open
            && old.fd != fd
            && !self
                .slots
                .iter()
                .enumerate()
                .any(|(i, o)| i != usize::from(s) && o.open && o.fd == old.fd)
        {
            sys::close(old.fd);
        }
        self.slots[usize::from(s)] = Slot {
            fd,
            open: true,
            opath,
            kind,
        };
    }

    /// Marks number `fd` closed in every slot that holds it.
    fn forget(&mut self, fd: RawFd) {
        for s in &mut self.slots {
            if s.fd == fd {
                s.open = false;
            }
        }
    }

    // ---- memory ----------------------------------------------------------

    fn alloc(&mut self, len: usize, align: usize) -> usize {
        let align = align.max(1);
        let start = self.next.div_ceil(align) * align;
        let len = len.min(MAIN / 2);
        if start + len > MAIN {
            // Out of room (a call with absurd arguments): start over.
            self.next = len;
            self.high = self.high.max(len);
            self.arena.write(0, &vec![0; len]);
            return 0;
        }
        self.next = start + len;
        self.high = self.high.max(self.next);
        self.arena.write(start, &vec![0; len]);
        start
    }

    /// Puts `bytes` in memory as `loc` says and returns the address.
    fn place(&mut self, bytes: &[u8], loc: &Loc, slack: usize) -> u64 {
        match loc {
            Loc::Bad(b) => self.arena.bad(*b),
            Loc::AtEnd if self.zone < END_ZONES && bytes.len() <= ZONE => {
                let z = self.zone;
                self.zone += 1;
                let off = self.arena.zone_end(z) - bytes.len();
                self.arena.write(off, bytes);
                self.arena.addr(off)
            }
            _ => {
                let off = self.alloc(bytes.len() + slack, 16);
                self.arena.write(off, bytes);
                self.arena.addr(off)
            }
        }
    }

    fn path_bytes(&self, p: &PathArg) -> Vec<u8> {
        let mut v = Vec::with_capacity(p.bytes.len() + 1);
        let mut i = 0;
        while i < p.bytes.len() {
            if p.bytes[i] == MARK && i + 1 < p.bytes.len() {
                let s = p.bytes[i + 1].min(SLOTS - 1);
                v.extend_from_slice(self.slot(s).fd.to_string().as_bytes());
                i += 2;
            } else {
                v.push(p.bytes[i]);
                i += 1;
            }
        }
        if p.nul {
            v.push(0);
        }
        v
    }

    fn port(&self, p: Port, v6: bool) -> u16 {
        let a = &self.anchors;
        match (p, v6) {
            (Port::Listen, false) => a.tcp4_listen,
            (Port::Listen, true) => a.tcp6_listen,
            (Port::Refused, false) => a.tcp4_refused,
            (Port::Refused, true) => a.tcp6_refused,
            (Port::Udp, false) => a.udp4,
            (Port::Udp, true) => a.udp6,
            (Port::Fixed(n), _) => n,
        }
    }

    fn addr_body(&self, body: &AddrBody) -> Vec<u8> {
        match body {
            AddrBody::Unix { path, nul } => unix_path(path, *nul),
            AddrBody::Abstract(n) => abstract_addr(&self.tag, n),
            AddrBody::Inet { ip, port } => inet4(*ip, self.port(*port, false)),
            AddrBody::Inet6 { ip, port, scope } => inet6(*ip, self.port(*port, true), *scope),
            AddrBody::Raw { family, bytes } => {
                let mut v = family.to_ne_bytes().to_vec();
                v.extend_from_slice(bytes);
                v
            }
        }
    }

    /// An address: its pointer and length.
    fn addr(&mut self, a: &Addr) -> (u64, u64) {
        match a {
            Addr::Null(l) => (0, *l),
            Addr::Bad(b, l) => (self.arena.bad(*b), *l),
            Addr::Built { body, len, at_end } => {
                let bytes = self.addr_body(body);
                let n = bytes.len() as u64;
                let len = match len {
                    AddrLen::Exact => n,
                    AddrLen::Raw(v) => *v,
                    AddrLen::Delta(d) => (n as i64 + i64::from(*d)).max(0) as u64,
                };
                let loc = if *at_end { Loc::AtEnd } else { Loc::Normal };
                // Room for what the kernel may read, zeroed, up to 4 KiB.
                let slack = usize::try_from(len.min(4096)).unwrap_or(0);
                (self.place(&bytes, &loc, slack), len)
            }
        }
    }

    fn iovs(&mut self, v: &Iovs) -> (u64, u64) {
        match v {
            Iovs::Bad(b, n) => (self.arena.bad(*b), *n),
            Iovs::List { iov, count } => {
                let mut arr = Vec::with_capacity(iov.len() * 16);
                for e in iov {
                    let (base, len) = match e {
                        Iov::Data(d) => (self.place(d, &Loc::Normal, 0), d.len() as u64),
                        Iov::Bad(b, l) => (self.arena.bad(*b), *l),
                        Iov::Long(l) => {
                            // 64 valid bytes, then the guard.
                            let chunk = [b'L'; 64];
                            (self.place(&chunk, &Loc::AtEnd, 0), *l)
                        }
                    };
                    arr.extend_from_slice(&base.to_ne_bytes());
                    arr.extend_from_slice(&len.to_ne_bytes());
                }
                let n = count.unwrap_or(iov.len() as u64);
                let slack = usize::try_from(n.min(1024) * 16).unwrap_or(0);
                (self.place(&arr, &Loc::Normal, slack), n)
            }
        }
    }

    fn control(&mut self, c: &Control) -> (u64, u64) {
        match c {
            Control::Null(l) => (0, *l),
            Control::Bad(b, l) => (self.arena.bad(*b), *l),
            Control::Built {
                msgs,
                len,
                misalign,
                at_end,
            } => {
                let mut buf = Vec::new();
                for m in msgs {
                    let data = match &m.data {
                        CmsgData::Fds(v) => v
                            .iter()
                            .flat_map(|f| (self.fd_of(*f) as u32).to_ne_bytes())
                            .collect::<Vec<u8>>(),
                        CmsgData::Creds { own, pid, uid, gid } => {
                            let (p, u, g) = if *own { sys::ids() } else { (*pid, *uid, *gid) };
                            let mut v = p.to_ne_bytes().to_vec();
                            v.extend_from_slice(&u.to_ne_bytes());
                            v.extend_from_slice(&g.to_ne_bytes());
                            v
                        }
                        CmsgData::Bytes(b) => b.clone(),
                    };
                    let exact = 16 + data.len() as u64;
                    let l = match m.len {
                        CmsgLen::Exact => exact,
                        CmsgLen::Raw(v) => v,
                        CmsgLen::Delta(d) => (exact as i64).wrapping_add(i64::from(d)) as u64,
                    };
                    buf.extend_from_slice(&l.to_ne_bytes());
                    buf.extend_from_slice(&m.level.to_ne_bytes());
                    buf.extend_from_slice(&m.ty.to_ne_bytes());
                    buf.extend_from_slice(&data);
                    while buf.len() % 8 != 0 {
                        buf.push(0);
                    }
                }
                let n = len.unwrap_or(buf.len() as u64);
                if *at_end {
                    return (self.place(&buf, &Loc::AtEnd, 0), n);
                }
                let slack = usize::try_from(n.min(65536)).unwrap_or(0);
                let mis = usize::from(*misalign);
                let off = self.alloc(buf.len() + slack + mis, 16) + mis;
                self.arena.write(off, &buf);
                (self.arena.addr(off), n)
            }
        }
    }

    fn msghdr(&mut self, m: &Msg) -> [u8; 56] {
        let (name, namelen) = self.addr(&m.name);
        let (iov, iovlen) = self.iovs(&m.iov);
        let (ctl, ctllen) = self.control(&m.control);
        let mut h = [0u8; 56];
        h[0..8].copy_from_slice(&name.to_ne_bytes());
        h[8..12].copy_from_slice(&(namelen as u32).to_ne_bytes());
        h[16..24].copy_from_slice(&iov.to_ne_bytes());
        h[24..32].copy_from_slice(&iovlen.to_ne_bytes());
        h[32..40].copy_from_slice(&ctl.to_ne_bytes());
        h[40..48].copy_from_slice(&ctllen.to_ne_bytes());
        h[48..52].copy_from_slice(&m.flags.to_ne_bytes());
        h
    }

    /// One argument's register value; an output buffer is noted in `outs`.
    fn arg(
        &mut self,
        a: &Arg,
        outs: &mut Vec<(usize, usize)>,
        mmsg: &mut Option<(usize, usize)>,
    ) -> u64 {
        match a {
            Arg::Int(v) => *v,
            Arg::Fd(f) => self.fd_of(*f),
            Arg::Path(p) => {
                let b = self.path_bytes(p);
                self.place(&b, &p.loc, 0)
            }
            Arg::Blob { bytes, loc } => self.place(bytes, loc, 64),
            Arg::Out { room, loc } => {
                let addr = match loc {
                    Loc::Bad(b) => self.arena.bad(*b),
                    Loc::AtEnd if self.zone < END_ZONES => {
                        let z = self.zone;
                        self.zone += 1;
                        let off = self.arena.zone_end(z) - (*room).min(ZONE);
                        self.arena.write(off, &vec![0; (*room).min(ZONE)]);
                        self.arena.addr(off)
                    }
                    _ => {
                        let off = self.alloc(*room, 16);
                        self.arena.addr(off)
                    }
                };
                if let Some(off) = self.arena.offset_of(addr) {
                    outs.push((off, *room));
                }
                addr
            }
            Arg::Addr(ad) => {
                let (p, l) = self.addr(ad);
                self.addr_len = l;
                p
            }
            Arg::AddrLen => self.addr_len,
            Arg::Msg(Err(b)) | Arg::Msgs(Err(b)) => self.arena.bad(*b),
            Arg::Msg(Ok(m)) => {
                let h = self.msghdr(m);
                self.place(&h, &Loc::Normal, 0)
            }
            Arg::Msgs(Ok(v)) => {
                let mut arr = Vec::with_capacity(v.len() * 64);
                for m in v {
                    let h = self.msghdr(m);
                    arr.extend_from_slice(&h);
                    arr.extend_from_slice(&[0; 8]);
                }
                // Zeroed room for as many as the kernel may read.
                let addr = self.place(&arr, &Loc::Normal, 1024 * 64);
                if let Some(off) = self.arena.offset_of(addr) {
                    *mmsg = Some((off, v.len()));
                }
                addr
            }
        }
    }

    // ---- operations ------------------------------------------------------

    /// Runs one operation; returns what it printed after `=`.
    pub fn op(&mut self, op: &Op) -> String {
        // Between calls the arena is all zero: a call that reads past its
        // own arguments (a send of a huge length) must read the same bytes
        // in both runs, and earlier arguments differ (ports are ephemeral).
        if self.dirty {
            // The kernel (or fdsup) may have written anywhere an output
            // buffer's claimed size reached.
            self.arena.zero_all();
            self.dirty = false;
        } else {
            self.arena.zero(self.high, self.zone);
        }
        self.next = 0;
        self.high = 0;
        self.zone = 0;
        match op {
            Op::Call { sc, args, save } => self.call(*sc, args, *save),
            Op::Close(s) => {
                let sl = self.slot(*s);
                let r = sys::raw(libc::SYS_close, [sl.fd as u64, 0, 0, 0, 0, 0]);
                if r.is_ok() {
                    self.forget(sl.fd);
                }
                result(r)
            }
            Op::Write(s, d) => {
                let sl = self.slot(*s);
                if self.holder(sl.fd as u64).is_some_and(|h| h.opath) {
                    return "X(opath-fd)".into();
                }
                // Never wait: a full socket or pipe would block both runs.
                if !sys::ready(sl.fd, libc::POLLOUT) {
                    return "not-ready".into();
                }
                result(sys::write(sl.fd, d))
            }
            Op::Read(s, n) => {
                let sl = self.slot(*s);
                if self.holder(sl.fd as u64).is_some_and(|h| h.opath) {
                    return "X(opath-fd)".into();
                }
                if !sys::ready(sl.fd, libc::POLLIN) {
                    return "not-ready".into();
                }
                match sys::read(sl.fd, usize::from(*n)) {
                    Ok(v) => format!("{} {}", v.len(), Quoted(&v)),
                    Err(e) => errno_name(e),
                }
            }
            Op::Rewind(s) => {
                let sl = self.slot(*s);
                if self.holder(sl.fd as u64).is_some_and(|h| h.opath) {
                    return "X(opath-fd)".into();
                }
                result(sys::rewind(sl.fd))
            }
            Op::Umask(m) => {
                sys::umask(*m);
                "0".into()
            }
            Op::Socket(k, s) => {
                let (d, t) = sock_kind(*k);
                match sys::socket(d, t, 0) {
                    Ok(fd) => {
                        self.store(*s, fd, false, Kind::Sock(*k));
                        format!("fd{fd}")
                    }
                    Err(e) => errno_name(e),
                }
            }
            Op::Pair(k, a, b) => {
                let (_, t) = sock_kind(*k);
                match sys::socketpair(t) {
                    Ok((x, y)) => {
                        self.store(*a, x, false, Kind::Sock(*k));
                        self.store(*b, y, false, Kind::Sock(*k));
                        format!("fd{x},fd{y}")
                    }
                    Err(e) => errno_name(e),
                }
            }
            Op::Listen(s) => {
                let sl = self.slot(*s);
                if self.holder(sl.fd as u64).is_some_and(|h| h.opath) {
                    return "X(opath-fd)".into();
                }
                let r = sys::listen(sl.fd);
                if r.is_ok() {
                    if let Some(i) = self.slots.iter().position(|o| o.open && o.fd == sl.fd) {
                        self.slots[i].kind = Kind::Listener;
                    }
                }
                result(r)
            }
            Op::PassCred(s) => {
                let sl = self.slot(*s);
                if self.holder(sl.fd as u64).is_some_and(|h| h.opath) {
                    return "X(opath-fd)".into();
                }
                result(sys::sockopt_on(sl.fd, libc::SO_PASSCRED))
            }
            Op::Inotify(s) => match sys::inotify() {
                Ok(fd) => {
                    self.store(*s, fd, false, Kind::Other);
                    format!("fd{fd}")
                }
                Err(e) => errno_name(e),
            },
            Op::Dup(a, b) => {
                let sl = self.slot(*a);
                // What the number holds now (the slot may be stale).
                let src = self.holder(sl.fd as u64).unwrap_or(sl);
                match sys::dup(sl.fd) {
                    Ok(fd) => {
                        self.store(*b, fd, src.opath, src.kind);
                        format!("fd{fd}")
                    }
                    Err(e) => errno_name(e),
                }
            }
        }
    }

    fn call(&mut self, sc: Sc, args: &[Arg], save: Option<u8>) -> String {
        use Sc::*;
        // Calls that act on a descriptor which, under fdsup, is the
        // read-only descriptor that serves an O_PATH open (README, Limits).
        let fd_arg = |i: usize| match args.get(i) {
            Some(Arg::Fd(f)) => Some(self.fd_of(*f)),
            _ => None,
        };
        let null_path = |i: usize| {
            matches!(
                args.get(i),
                Some(Arg::Path(PathArg {
                    loc: Loc::Bad(Bad::Null),
                    ..
                }))
            )
        };
        let on_fd = match sc {
            Fchmod | Fchown | Fsetxattr | Fremovexattr | Getdents | Getdents64
            | InotifyAddWatch | Connect | Bind | Sendto | Sendmsg | Sendmmsg => fd_arg(0),
            Utimensat | Futimesat if null_path(1) => fd_arg(0),
            _ => None,
        };
        if on_fd.and_then(|f| self.holder(f)).is_some_and(|s| s.opath) {
            return "X(opath-fd)".into();
        }
        // An unlinked file reopened through its magic link: fdsup allows no
        // more than the descriptor holds, O_PATH ones hold nothing (README).
        if matches!(sc, Open | Openat | Openat2) {
            let magic = args.iter().find_map(|a| match a {
                Arg::Path(p) => p.bytes.windows(2).find(|w| w[0] == MARK).map(|w| w[1]),
                _ => None,
            });
            if let Some(h) = magic.and_then(|s| self.holder(self.slot(s.min(SLOTS - 1)).fd as u64))
            {
                if h.opath || sys::unlinked(h.fd) {
                    return "X(unlinked-reopen)".into();
                }
            }
        }
        // The magic link of an O_PATH descriptor shows its open mode.
        if matches!(sc, Stat | Lstat | Newfstatat | Statx)
            && args.iter().any(|a| match a {
                Arg::Path(p) => p.bytes.windows(2).any(|w| {
                    w[0] == MARK
                        && self.slot(w[1].min(SLOTS - 1)).opath
                        && self.slot(w[1].min(SLOTS - 1)).open
                }),
                _ => false,
            })
        {
            return "X(opath-fd)".into();
        }
        // /proc lists only the sandbox's processes under fdsup (SPEC).
        if matches!(sc, Getdents | Getdents64)
            && fd_arg(0).is_some_and(|f| sys::is_proc_root(f as u32 as i32, self.proc_dev))
        {
            return "X(proc-listing)".into();
        }
        // Sends on netlink sockets could reconfigure the network.
        if matches!(sc, Sendto | Sendmsg | Sendmmsg) {
            if let Some(s) = fd_arg(0).and_then(|f| self.holder(f)) {
                if s.kind == Kind::Sock(SockKind::Netlink) {
                    return "X(netlink-send)".into();
                }
            }
        }
        let foreign_creds = args.iter().any(|a| match a {
            Arg::Msg(Ok(m)) => foreign(m),
            Arg::Msgs(Ok(v)) => v.iter().any(foreign),
            _ => false,
        });

        self.dirty = args
            .iter()
            .any(|a| matches!(a, Arg::Out { .. } | Arg::Msgs(_) | Arg::Msg(_)));
        let mut outs = Vec::new();
        let mut mmsg = None;
        let mut regs = [0u64; 6];
        for (i, a) in args.iter().enumerate().take(6) {
            let a = match (sc, i, a) {
                // Never block: a FIFO's open would wait for its other end
                // (and under fdsup only SIGKILL ends that wait).
                (Openat2, 2, Arg::Blob { bytes, loc }) if bytes.len() >= 8 => {
                    let mut b = bytes.clone();
                    let f = u64::from_ne_bytes(b[..8].try_into().unwrap_or([0; 8]))
                        | libc::O_NONBLOCK as u64;
                    b[..8].copy_from_slice(&f.to_ne_bytes());
                    &Arg::Blob {
                        bytes: b,
                        loc: loc.clone(),
                    }
                }
                _ => a,
            };
            regs[i] = self.arg(a, &mut outs, &mut mmsg);
        }
        let nonblock = libc::O_NONBLOCK as u64;
        let dontwait = (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as u64;
        match sc {
            Open => regs[1] |= nonblock,
            Openat => regs[2] |= nonblock,
            Sendto | Sendmmsg => regs[3] |= dontwait,
            Sendmsg => regs[2] |= dontwait,
            _ => {}
        }
        // A device, socket or FIFO made natively is removed again (see
        // EXCLUSIONS); its directory's times are put back too, since under
        // fdsup it never changed.
        let special_parent = match sc {
            Mknod | Mknodat => {
                let (dir, path, mode) = if sc == Mknod {
                    (libc::AT_FDCWD, args.first(), regs[1])
                } else {
                    (
                        self.fd_of(match args.first() {
                            Some(Arg::Fd(f)) => *f,
                            _ => FdArg::Cwd,
                        }) as u32 as i32,
                        args.get(1),
                        regs[2],
                    )
                };
                let special = matches!(
                    mode as u32 & libc::S_IFMT,
                    libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK | libc::S_IFIFO
                );
                match path {
                    Some(Arg::Path(p)) if special && p.nul && !matches!(p.loc, Loc::Bad(_)) => {
                        let mut b = self.path_bytes(p);
                        b.pop();
                        let parent = match b.iter().rposition(|&c| c == b'/') {
                            Some(0) => b"/".to_vec(),
                            Some(i) => b[..i].to_vec(),
                            None => b".".to_vec(),
                        };
                        std::ffi::CString::new(parent)
                            .ok()
                            .and_then(|c| sys::times_of(dir, &c).map(|t| (dir, c, t)))
                    }
                    _ => None,
                }
            }
            _ => None,
        };
        let mut r = sys::raw(sc.nr(), regs);
        // A scoped `..` (RESOLVE_BENEATH, RESOLVE_IN_ROOT) is EAGAIN when any
        // rename ran meanwhile anywhere on the machine (openat2(2)): retried.
        if sc == Openat2 && r == Err(libc::EAGAIN) && scoped(args) {
            for _ in 0..8 {
                r = sys::raw(sc.nr(), regs);
                if r != Err(libc::EAGAIN) {
                    break;
                }
            }
        }
        let mut out = String::new();

        match (sc, r) {
            // RESOLVE_CACHED: whatever a lookup meets, fdsup answers EAGAIN
            // (see EXCLUSIONS); only argument errors are compared.
            (Openat2, r)
                if resolve_cached(args)
                    && !matches!(
                        r,
                        Err(libc::E2BIG | libc::EFAULT | libc::EBADF | libc::ENAMETOOLONG)
                    ) =>
            {
                if let Ok(fd) = r {
                    sys::close(i32::try_from(fd).unwrap_or(-1));
                }
                return "X(resolve-cached)".into();
            }
            (Open | Openat | Openat2 | Creat | MemfdCreate, Ok(v)) => {
                let fd = i32::try_from(v).unwrap_or(-1);
                let ty = sys::fd_type(fd).unwrap_or(0);
                let opath = opath_flag(sc, args, &regs);
                if opath && !matches!(ty, libc::S_IFREG | libc::S_IFDIR) {
                    // Served as EOPNOTSUPP / ENXIO under fdsup (README).
                    sys::close(fd);
                    return "X(opath-special)".into();
                }
                let _ = write!(out, "fd{v} {}", crate::tree::type_name(ty));
                match save {
                    Some(s) => self.store(s, fd, opath, Kind::File),
                    None => sys::close(fd),
                }
            }
            (Open | Openat | Openat2, Err(e))
                if (e == libc::EOPNOTSUPP || e == libc::ENXIO) && opath_flag(sc, args, &regs) =>
            {
                return "X(opath-special)".into();
            }
            (Mknod | Mknodat, r) => {
                let mode_at = if sc == Mknod { 1 } else { 2 };
                let ty = regs[mode_at] as u32 & libc::S_IFMT;
                let special = matches!(
                    ty,
                    libc::S_IFCHR | libc::S_IFBLK | libc::S_IFSOCK | libc::S_IFIFO
                );
                if special && (r.is_ok() || r == Err(libc::EPERM)) {
                    if r.is_ok() {
                        // Undo it (see EXCLUSIONS).
                        let (dir, path) = if sc == Mknod {
                            (libc::AT_FDCWD as i64 as u64, regs[0])
                        } else {
                            (regs[0], regs[1])
                        };
                        let _ = sys::raw(libc::SYS_unlinkat, [dir, path, 0, 0, 0, 0]);
                        if let Some((d, p, t)) = &special_parent {
                            sys::set_times(*d, p, t);
                        }
                    }
                    return "X(mknod-special)".into();
                }
                out = result(r);
            }
            (_, Err(e)) => out = errno_name(e),
            (_, Ok(v)) => {
                let _ = write!(out, "{v}");
                self.decode(sc, v, &regs, &outs, mmsg, &mut out);
            }
        }
        if sc.is_net() {
            // A TCP connection made to a listener of ours: wait for it to
            // be queued (loopback completes it asynchronously).
            let first_fd = match args.first() {
                Some(Arg::Fd(f)) => Some(self.fd_of(*f)),
                _ => None,
            };
            let tcp_slot = first_fd
                .and_then(|f| self.holder(f))
                .is_some_and(|h| matches!(h.kind, Kind::Sock(SockKind::Tcp4 | SockKind::Tcp6)));
            self.await_tcp = r.is_ok()
                && tcp_slot
                && (sc == Connect
                    || regs[if sc == Sendmsg { 2 } else { 3 }] & libc::MSG_FASTOPEN as u64 != 0)
                && matches!(sc, Connect | Sendto | Sendmsg)
                && args.iter().any(|a| {
                    let addr = match a {
                        Arg::Addr(ad) => Some(ad),
                        Arg::Msg(Ok(m)) => Some(&m.name),
                        _ => None,
                    };
                    matches!(
                        addr,
                        Some(Addr::Built {
                            body: AddrBody::Inet {
                                port: Port::Listen,
                                ..
                            } | AddrBody::Inet6 {
                                port: Port::Listen,
                                ..
                            },
                            ..
                        })
                    )
                });
            let d = self.drain();
            if foreign_creds {
                // Foreign credentials: the kernel checks them against the
                // sender, which under fdsup is fdsup (README, Limits).
                return "X(foreign-credentials)".into();
            }
            if !d.is_empty() {
                let _ = write!(out, " | {d}");
            }
        }
        out
    }

    /// What a successful call wrote that must match.
    fn decode(
        &self,
        sc: Sc,
        v: i64,
        regs: &[u64; 6],
        outs: &[(usize, usize)],
        mmsg: Option<(usize, usize)>,
        out: &mut String,
    ) {
        use Sc::*;
        let n = usize::try_from(v).unwrap_or(0);
        let first = outs.first().copied();
        let buf = |len: usize| {
            first
                .map(|(off, _)| self.arena.read(off, len))
                .unwrap_or_default()
        };
        match sc {
            Stat | Lstat | Newfstatat => {
                let b = buf(144);
                if b.len() == 144 {
                    let u64_at =
                        |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
                    let u32_at =
                        |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
                    // The root of /proc counts the machine's processes.
                    let proc_root = u64_at(0) == self.proc_dev && u64_at(8) == 1;
                    let _ = write!(
                        out,
                        " dev={:#x} mode={:o} nlink={} uid={} gid={} rdev={:#x} size={} blksize={} blocks={}",
                        u64_at(0),
                        u32_at(24),
                        if proc_root { 0 } else { u64_at(16) },
                        u32_at(28),
                        u32_at(32),
                        u64_at(40),
                        u64_at(48),
                        u64_at(56),
                        u64_at(64)
                    );
                    // Sockets, FIFOs and devices: times the kernel keeps loosely.
                    let timed = matches!(
                        u32_at(24) & libc::S_IFMT,
                        libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK
                    );
                    if let Some(t) = crate::tree::shown_time(u64_at(88) as i64).filter(|_| timed) {
                        let _ = write!(out, " mtime={t}.{}", u64_at(96));
                    }
                }
            }
            Statx => {
                let b = buf(256);
                if b.len() == 256 {
                    let u64_at =
                        |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
                    let u32_at =
                        |o: usize| u32::from_ne_bytes(b[o..o + 4].try_into().unwrap_or([0; 4]));
                    let _ = write!(
                        out,
                        " mask={:#x} blksize={} attr={:#x} nlink={} uid={} gid={} mode={:o} size={} blocks={} attrmask={:#x} rdev={}:{} dev={}:{} mnt={}",
                        u32_at(0),
                        u32_at(4),
                        u64_at(8),
                        if u64_at(32) == 1 && u32_at(136) == 0 && u32_at(140) == (self.proc_dev & 0xff) as u32 {
                            0
                        } else {
                            u32_at(16)
                        },
                        u32_at(20),
                        u32_at(24),
                        u16::from_ne_bytes([b[28], b[29]]),
                        u64_at(40),
                        u64_at(48),
                        u64_at(56),
                        u32_at(128),
                        u32_at(132),
                        u32_at(136),
                        u32_at(140),
                        u64_at(144)
                    );
                    let timed = matches!(
                        u32::from(u16::from_ne_bytes([b[28], b[29]])) & libc::S_IFMT,
                        libc::S_IFREG | libc::S_IFDIR | libc::S_IFLNK
                    );
                    if let Some(t) = crate::tree::shown_time(u64_at(112) as i64).filter(|_| timed) {
                        let _ = write!(out, " mtime={t}.{}", u32_at(120));
                    }
                    let _ = write!(out, " rest={}", Quoted(&b[152..]));
                }
            }
            Statfs => {
                let b = buf(120);
                if b.len() == 120 {
                    let u64_at =
                        |o: usize| u64::from_ne_bytes(b[o..o + 8].try_into().unwrap_or([0; 8]));
                    let _ = write!(
                        out,
                        " type={:#x} bsize={} blocks={} namelen={} frsize={} flags={:#x}",
                        u64_at(0),
                        u64_at(8),
                        u64_at(16),
                        u64_at(64),
                        u64_at(72),
                        u64_at(80)
                    );
                }
            }
            Readlink | Readlinkat | Getxattr | Lgetxattr | Listxattr | Llistxattr => {
                let size_at = match sc {
                    Readlink => 2,
                    Readlinkat | Getxattr | Lgetxattr => 3,
                    _ => 2,
                };
                if regs[size_at] != 0 {
                    let b = buf(n);
                    // /proc/self and /proc/thread-self read as pids.
                    let pidlike = !b.is_empty()
                        && matches!(sc, Readlink | Readlinkat)
                        && b.iter().all(|c| c.is_ascii_digit() || b"/task".contains(c));
                    if pidlike {
                        // Its length too: the two runs' pids may have
                        // different numbers of digits.
                        out.clear();
                        let _ = write!(out, "n <pid>");
                    } else if b.starts_with(b"/proc/") {
                        // A descriptor of /proc/self/...: pids and tids in
                        // its path.
                        let mut n = Vec::with_capacity(b.len());
                        for (i, &c) in b.iter().enumerate() {
                            if !c.is_ascii_digit() {
                                n.push(c);
                            } else if i == 0 || !b[i - 1].is_ascii_digit() {
                                n.push(b'N');
                            }
                        }
                        let _ = write!(out, " {}", Quoted(&n));
                    } else if let Some(i) = b.iter().position(|&c| c == b'[') {
                        // socket:[INODE], pipe:[INODE]: inode numbers.
                        let _ = write!(out, " {}[<ino>]", Quoted(&b[..i]));
                    } else {
                        let _ = write!(out, " {}", Quoted(&b));
                    }
                }
            }
            Getdents | Getdents64 => {
                let b = buf(n);
                let _ = write!(out, " {}", dirents(&b, sc == Getdents64));
            }
            Sendmmsg => {
                if let Some((off, _)) = mmsg {
                    out.push_str(" lens=");
                    for i in 0..n.min(1024) {
                        let b = self.arena.read(off + i * 64 + 56, 4);
                        let l = u32::from_ne_bytes(b.try_into().unwrap_or([0; 4]));
                        let _ = write!(out, "{l},");
                    }
                }
            }
            _ => {}
        }
    }

    /// Receives everything queued on the executor's sockets and accepts
    /// pending connections; returns what arrived.
    fn drain(&mut self) -> String {
        let mut out = String::new();
        let mut fds: Vec<(String, RawFd)> = self
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.open && matches!(s.kind, Kind::Sock(_)))
            .map(|(i, s)| (format!("slot{i}"), s.fd))
            .collect();
        fds.dedup_by_key(|x| x.1);
        fds.extend(self.anchors.drain.iter().cloned());
        fds.extend(
            self.accepted
                .iter()
                .enumerate()
                .map(|(i, (fd, tcp))| (format!("{}{i}", if *tcp { "tcp" } else { "acc" }), *fd)),
        );
        for (name, fd) in fds {
            // TCP delivers in chunks of its own timing: read, not shown.
            let quiet = name.starts_with("tcp")
                || self
                    .holder(fd as u64)
                    .is_some_and(|h| matches!(h.kind, Kind::Sock(SockKind::Tcp4 | SockKind::Tcp6)));
            for _ in 0..64 {
                let Ok(m) = sys::recv(fd) else { break };
                if quiet {
                    for f in &m.fds {
                        sys::close(*f);
                    }
                    if m.data.is_empty() {
                        break;
                    }
                    continue;
                }
                let _ = write!(out, "{name}<-{}", Quoted(&m.data));
                if !m.fds.is_empty() {
                    out.push_str(" fds=");
                    for f in &m.fds {
                        let t = sys::fd_type(*f).map_or("?", crate::tree::type_name);
                        let _ = write!(out, "{t},");
                        sys::close(*f);
                    }
                }
                for (u, g) in &m.creds {
                    let _ = write!(out, " cred={u}:{g}");
                }
                if m.flags != 0 {
                    let _ = write!(out, " flags={:#x}", m.flags);
                }
                out.push(';');
                // A zero-length stream read is EOF: nothing more comes.
                if m.data.is_empty() && m.fds.is_empty() && m.creds.is_empty() {
                    break;
                }
            }
        }
        let mut listeners = self.anchors.listeners.clone();
        listeners.extend(
            self.slots
                .iter()
                .filter(|s| s.open && s.kind == Kind::Listener)
                .map(|s| s.fd),
        );
        let tcp = [self.anchors.listeners[0], self.anchors.listeners[1]];
        for l in listeners {
            let mut wait = if self.await_tcp && tcp.contains(&l) {
                300
            } else {
                0
            };
            while let Some(a) = sys::accept(l, wait) {
                wait = 0;
                self.await_tcp = false;
                let _ = write!(out, "accepted;");
                self.accepted.push((a, tcp.contains(&l)));
                if self.accepted.len() > 16 {
                    sys::close(self.accepted.remove(0).0);
                }
            }
        }
        out
    }
}

/// Whether a message carries credentials other than the sender's own.
fn foreign(m: &Msg) -> bool {
    let Control::Built { msgs, .. } = &m.control else {
        return false;
    };
    msgs.iter().any(|c| {
        c.level == libc::SOL_SOCKET
            && c.ty == libc::SCM_CREDENTIALS
            && !matches!(c.data, CmsgData::Creds { own: true, .. })
    })
}

/// Whether an `openat2` asked for a scoped resolution (not cached).
fn scoped(args: &[Arg]) -> bool {
    match args.get(2) {
        Some(Arg::Blob { bytes, .. }) if bytes.len() >= 24 => {
            let r = u64::from_ne_bytes(bytes[16..24].try_into().unwrap_or([0; 8]));
            r & (0x08 | 0x10) != 0 && r & 0x20 == 0
        }
        _ => false,
    }
}

/// Whether an `openat2` asked for `RESOLVE_CACHED`.
fn resolve_cached(args: &[Arg]) -> bool {
    match args.get(2) {
        Some(Arg::Blob { bytes, .. }) if bytes.len() >= 24 => {
            u64::from_ne_bytes(bytes[16..24].try_into().unwrap_or([0; 8])) & 0x20 != 0
        }
        _ => false,
    }
}

/// Whether an open asked for `O_PATH` (as the kernel reads its flags).
fn opath_flag(sc: Sc, args: &[Arg], regs: &[u64; 6]) -> bool {
    let o_path = libc::O_PATH as u64;
    match sc {
        Sc::Open => regs[1] & o_path != 0,
        Sc::Openat => regs[2] & o_path != 0,
        Sc::Openat2 => match args.get(2) {
            Some(Arg::Blob { bytes, .. }) if bytes.len() >= 8 => {
                u64::from_ne_bytes(bytes[..8].try_into().unwrap_or([0; 8])) & o_path != 0
            }
            _ => false,
        },
        _ => false,
    }
}

fn sock_kind(k: SockKind) -> (i32, i32) {
    let c = libc::SOCK_CLOEXEC;
    match k {
        SockKind::UnixStream => (libc::AF_UNIX, libc::SOCK_STREAM | c),
        SockKind::UnixDgram => (libc::AF_UNIX, libc::SOCK_DGRAM | c),
        SockKind::UnixSeqpacket => (libc::AF_UNIX, libc::SOCK_SEQPACKET | c),
        SockKind::Tcp4 => (libc::AF_INET, libc::SOCK_STREAM | c),
        SockKind::Udp4 => (libc::AF_INET, libc::SOCK_DGRAM | c),
        SockKind::Tcp6 => (libc::AF_INET6, libc::SOCK_STREAM | c),
        SockKind::Udp6 => (libc::AF_INET6, libc::SOCK_DGRAM | c),
        SockKind::Netlink => (libc::AF_NETLINK, libc::SOCK_RAW | c),
    }
}

fn unix_path(path: &[u8], nul: bool) -> Vec<u8> {
    let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(path);
    if nul {
        v.push(0);
    }
    v
}

fn abstract_addr(tag: &str, name: &[u8]) -> Vec<u8> {
    let mut v = (libc::AF_UNIX as u16).to_ne_bytes().to_vec();
    v.push(0);
    v.extend_from_slice(b"fdsupfuzz-");
    v.extend_from_slice(tag.as_bytes());
    v.push(b'-');
    v.extend_from_slice(name);
    v
}

fn inet4(ip: [u8; 4], port: u16) -> Vec<u8> {
    let mut v = (libc::AF_INET as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&ip);
    v.extend_from_slice(&[0; 8]);
    v
}

fn inet6(ip: [u8; 16], port: u16, scope: u32) -> Vec<u8> {
    let mut v = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
    v.extend_from_slice(&port.to_be_bytes());
    v.extend_from_slice(&[0; 4]);
    v.extend_from_slice(&ip);
    v.extend_from_slice(&scope.to_ne_bytes());
    v
}

/// Directory records as `name/type` items (inode numbers and offsets left
/// out).
fn dirents(b: &[u8], is64: bool) -> String {
    let mut out = String::from("[");
    let mut at = 0usize;
    while at + 19 <= b.len() {
        let reclen = usize::from(u16::from_ne_bytes([b[at + 16], b[at + 17]]));
        if reclen < 19 || at + reclen > b.len() {
            let _ = write!(out, "bad-record@{at}");
            break;
        }
        let rec = &b[at..at + reclen];
        let (name, ty) = if is64 {
            let name = &rec[19..];
            (name, rec[18])
        } else {
            (&rec[18..reclen - 1], rec[reclen - 1])
        };
        let end = name.iter().position(|&c| c == 0).unwrap_or(name.len());
        let _ = write!(out, "{}/{ty} ", Quoted(&name[..end]));
        at += reclen;
    }
    out.push(']');
    out
}

/// The errno's symbolic name.
pub fn errno_name(e: i32) -> String {
    let n = match e {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EINTR => "EINTR",
        libc::EIO => "EIO",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EBADF => "EBADF",
        libc::EAGAIN => "EAGAIN",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EBUSY => "EBUSY",
        libc::EEXIST => "EEXIST",
        libc::EXDEV => "EXDEV",
        libc::ENODEV => "ENODEV",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EINVAL => "EINVAL",
        libc::ENFILE => "ENFILE",
        libc::EMFILE => "EMFILE",
        libc::ENOTTY => "ENOTTY",
        libc::ETXTBSY => "ETXTBSY",
        libc::EFBIG => "EFBIG",
        libc::ENOSPC => "ENOSPC",
        libc::ESPIPE => "ESPIPE",
        libc::EROFS => "EROFS",
        libc::EMLINK => "EMLINK",
        libc::EPIPE => "EPIPE",
        libc::ERANGE => "ERANGE",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTEMPTY => "ENOTEMPTY",
        libc::ELOOP => "ELOOP",
        libc::ENODATA => "ENODATA",
        libc::EOVERFLOW => "EOVERFLOW",
        libc::ENOTSOCK => "ENOTSOCK",
        libc::EDESTADDRREQ => "EDESTADDRREQ",
        libc::EMSGSIZE => "EMSGSIZE",
        libc::EPROTOTYPE => "EPROTOTYPE",
        libc::ENOPROTOOPT => "ENOPROTOOPT",
        libc::EPROTONOSUPPORT => "EPROTONOSUPPORT",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EAFNOSUPPORT => "EAFNOSUPPORT",
        libc::EADDRINUSE => "EADDRINUSE",
        libc::EADDRNOTAVAIL => "EADDRNOTAVAIL",
        libc::ENETDOWN => "ENETDOWN",
        libc::ENETUNREACH => "ENETUNREACH",
        libc::ECONNABORTED => "ECONNABORTED",
        libc::ECONNRESET => "ECONNRESET",
        libc::ENOBUFS => "ENOBUFS",
        libc::EISCONN => "EISCONN",
        libc::ENOTCONN => "ENOTCONN",
        libc::ETIMEDOUT => "ETIMEDOUT",
        libc::ECONNREFUSED => "ECONNREFUSED",
        libc::EHOSTUNREACH => "EHOSTUNREACH",
        libc::EALREADY => "EALREADY",
        libc::EINPROGRESS => "EINPROGRESS",
        libc::EDQUOT => "EDQUOT",
        libc::EBADMSG => "EBADMSG",
        libc::EBADFD => "EBADFD",
        libc::ENOKEY => "ENOKEY",
        libc::ENOMEDIUM => "ENOMEDIUM",
        _ => return format!("E#{e}"),
    };
    n.to_owned()
}

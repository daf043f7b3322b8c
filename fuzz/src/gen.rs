//! The generator: a seed (and the scratch tree's path) to a sequence of
//! [`Op`]s with hostile arguments.
//!
//! It never looks at results, so call `i` of seed `s` is the same whatever
//! ran before it: a difference is named by seed and index, and the
//! minimiser can drop calls and replay the rest. Descriptors are slots of
//! the executor's table; slots 0-7 receive opened files and directories,
//! 8-11 sockets, 12-13 inotify instances and memfds, so that calls on
//! descriptors often meet the kind of object they are for (and sometimes
//! not).

use crate::model::*;
use crate::rng::Rng;

/// Slots in the executor's descriptor table.
pub const SLOTS: u8 = 14;
/// The first socket slot.
const SOCK: u8 = 8;
/// The inotify / memfd slots.
const MISC: u8 = 12;

/// Marks a slot's descriptor number inside a path: the executor replaces
/// `MARK, slot` with the number in decimal (`/proc/self/fd/N`).
pub const MARK: u8 = 0x01;

/// Names the scratch tree starts with ([`crate::tree::populate`]), names
/// that do not exist yet, and names that are trouble.
const NAMES: &[&[u8]] = &[
    b"f1", b"f2", b"x1", b"d1", b"d2", b"d3", b"f3", b"f4", b"l1", b"l2", b"l3", b"l4", b"l5",
    b"l6", b"l7", b"l8", b"l9", b"n1", b"n2", b"n3", b"n4", b"ro", b"deny", b"hide", b"data",
    b"sub", b"file", b".", b"..", b"lc1", b"s1", b"sock-s", b"sock-d",
];

/// Paths outside the scratch tree: looked at, never changed (they are on a
/// read-only mount when the driver runs the executor).
const OUTSIDE: &[&[u8]] = &[
    b"/",
    b"/etc",
    b"/etc/passwd",
    b"/nonexistent",
    b"/nonexistent/x",
    b"/proc/self/exe",
    b"/proc/self/root/etc/hostname",
    b"/proc/self",
    b"/proc/thread-self",
    b"/dev/null",
    b"/dev/zero",
    b"/proc",
    b"/usr/bin/env",
    b"/etc/passwd/",
    b"/etc/passwd/x",
    b"/proc/self/fd",
    b"/proc/self/fd/0",
    b"/proc/self/ns/net",
    b"/sys/kernel",
];

/// The generator for one seed.
pub struct Gen<'a> {
    r: Rng,
    scratch: &'a [u8],
}

/// The sequence of `n` operations of `seed` for a scratch tree at `scratch`.
pub fn sequence(seed: u64, n: usize, scratch: &[u8]) -> Vec<Op> {
    let mut g = Gen {
        r: Rng::new(seed, 0),
        scratch,
    };
    let mut ops = Vec::with_capacity(n);
    // A few sockets first, so that network calls meet sockets.
    let kinds = [
        SockKind::UnixDgram,
        SockKind::Udp4,
        SockKind::Tcp4,
        SockKind::UnixStream,
    ];
    for (i, k) in kinds.iter().enumerate() {
        if ops.len() < n {
            ops.push(Op::Socket(*k, SOCK + i as u8));
        }
    }
    while ops.len() < n {
        let op = g.op();
        ops.push(op);
    }
    ops
}

impl Gen<'_> {
    fn op(&mut self) -> Op {
        let r = self.r.below(100);
        if r < 78 {
            self.call()
        } else {
            self.helper()
        }
    }

    fn slot(&mut self) -> u8 {
        self.r.below(u64::from(SLOTS)) as u8
    }

    fn file_slot(&mut self) -> u8 {
        self.r.below(u64::from(SOCK)) as u8
    }

    fn sock_slot(&mut self) -> u8 {
        if self.r.chance(9, 10) {
            SOCK + self.r.below(u64::from(MISC - SOCK)) as u8
        } else {
            self.slot()
        }
    }

    fn helper(&mut self) -> Op {
        match self.r.below(14) {
            0 | 1 => Op::Close(self.slot()),
            2 | 3 => {
                let n = self.r.index(40);
                let d = self.r.bytes(n);
                Op::Write(self.file_slot(), d)
            }
            4 => Op::Read(self.file_slot(), self.r.below(128) as u16),
            5 => Op::Rewind(self.file_slot()),
            6 => Op::Umask(*self.r.pick(&[0o022, 0o077, 0o000, 0o777, 0o027])),
            7 | 8 => {
                let k = *self.r.pick(&[
                    SockKind::UnixStream,
                    SockKind::UnixDgram,
                    SockKind::UnixSeqpacket,
                    SockKind::Tcp4,
                    SockKind::Udp4,
                    SockKind::Tcp6,
                    SockKind::Udp6,
                    SockKind::Netlink,
                ]);
                Op::Socket(k, SOCK + self.r.below(u64::from(MISC - SOCK)) as u8)
            }
            9 => {
                let k = *self.r.pick(&[
                    SockKind::UnixStream,
                    SockKind::UnixDgram,
                    SockKind::UnixSeqpacket,
                ]);
                let a = SOCK + self.r.below(u64::from(MISC - SOCK)) as u8;
                let b = SOCK + self.r.below(u64::from(MISC - SOCK)) as u8;
                Op::Pair(k, a, b)
            }
            10 => Op::Listen(self.sock_slot()),
            11 => Op::PassCred(self.sock_slot()),
            12 => Op::Inotify(MISC + self.r.below(2) as u8),
            _ => Op::Dup(self.slot(), self.slot()),
        }
    }

    // ---- arguments -------------------------------------------------------

    fn bad(&mut self) -> Bad {
        *self.r.pick(&[
            Bad::Null,
            Bad::One,
            Bad::Low,
            Bad::Guard,
            Bad::Kernel,
            Bad::NonCanonical,
            Bad::Top,
            Bad::ReadOnly,
        ])
    }

    fn fd(&mut self) -> FdArg {
        match self.r.below(20) {
            0..=12 => FdArg::Slot(self.slot()),
            13..=16 => FdArg::Cwd,
            _ => FdArg::Raw(*self.r.pick(&[
                u64::MAX,                   // -1
                -2i64 as u64,               // -2
                i64::from(i32::MIN) as u64, // INT_MIN
                0,
                1,
                2,
                1023,
                65536,
                i32::MAX as u64,
                0xffff_ffff,               // -1 as an int
                0xffff_ff9c,               // AT_FDCWD in the low 32 bits only
                0x1_0000_0003,             // 3, with a high bit the kernel drops
                0xdead_beef_0000_0000 | 4, // 4 likewise
                -100i64 as u64,            // AT_FDCWD
                0x8000_0000_0000_0000,
            ])),
        }
    }

    /// A descriptor argument that is usually a directory slot or the cwd.
    fn dirfd(&mut self) -> FdArg {
        if self.r.chance(1, 2) {
            FdArg::Cwd
        } else {
            self.fd()
        }
    }

    fn name(&mut self) -> Vec<u8> {
        match self.r.below(40) {
            0 => b"a\nb".to_vec(),
            1 => vec![0xff, 0xfe],
            2 => b" ".to_vec(),
            3 => b"-".to_vec(),
            4 => vec![b'n'; 255],
            5 => vec![b'n'; 256],
            6 => b"...".to_vec(),
            _ => self.r.pick(NAMES).to_vec(),
        }
    }

    fn rel(&mut self) -> Vec<u8> {
        let k = 1 + self.r.index(4);
        let mut p = Vec::new();
        for i in 0..k {
            if i > 0 {
                p.push(b'/');
                if self.r.chance(1, 20) {
                    p.push(b'/');
                }
            }
            let n = self.name();
            p.extend_from_slice(&n);
        }
        if self.r.chance(1, 12) {
            p.push(b'/');
        }
        p
    }

    fn path_bytes(&mut self) -> Vec<u8> {
        match self.r.below(40) {
            0..=21 => self.rel(),
            22..=26 => {
                let mut p = self.scratch.to_vec();
                if self.r.chance(9, 10) {
                    p.push(b'/');
                    p.extend(self.rel());
                }
                p
            }
            27 => {
                let mut p = self
                    .r
                    .pick(&[&b"/proc/self/cwd"[..], b"/proc/thread-self/cwd"])
                    .to_vec();
                if self.r.chance(4, 5) {
                    p.push(b'/');
                    p.extend(self.rel());
                }
                p
            }
            28 | 29 => {
                let mut p = b"/proc/self/fd/".to_vec();
                p.push(MARK);
                p.push(self.slot());
                if self.r.chance(1, 2) {
                    p.push(b'/');
                    p.extend(self.rel());
                }
                p
            }
            30 => {
                let mut p = b"/proc/self/root".to_vec();
                p.extend_from_slice(self.scratch);
                p.push(b'/');
                p.extend(self.rel());
                p
            }
            31 | 32 => self.r.pick(OUTSIDE).to_vec(),
            33 => Vec::new(),
            34 | 35 => self.long_path(),
            36 => {
                let mut p = b"lc1".to_vec();
                if self.r.chance(1, 2) {
                    p = b"lc5".to_vec();
                }
                if self.r.chance(1, 3) {
                    p.extend_from_slice(b"/x");
                }
                p
            }
            37 => {
                let n = 1 + self.r.index(24);
                self.r
                    .bytes(n)
                    .into_iter()
                    .map(|b| if b == 0 || b == MARK { b'z' } else { b })
                    .collect()
            }
            38 => {
                // Up and down again: `..` at the scratch root leaves it.
                let mut p = Vec::new();
                for _ in 0..1 + self.r.index(3) {
                    p.extend_from_slice(b"../");
                }
                p.extend(self.rel());
                p
            }
            _ => {
                let mut p = b"d1/../".to_vec();
                p.extend(self.rel());
                p
            }
        }
    }

    /// Paths around `PATH_MAX` and `NAME_MAX`, and far beyond.
    fn long_path(&mut self) -> Vec<u8> {
        let total = *self.r.pick(&[4094usize, 4095, 4096, 4097, 8192, 70000]);
        match self.r.below(5) {
            0 => {
                // "./././.../f1"
                let mut p = Vec::with_capacity(total);
                while p.len() + 2 < total.saturating_sub(2) {
                    p.extend_from_slice(b"./");
                }
                p.extend_from_slice(b"f1");
                while p.len() < total {
                    p.insert(0, b'/');
                }
                p
            }
            1 => {
                // More than 4096 components ("a/a/a/...").
                let mut p = Vec::with_capacity(total);
                while p.len() + 2 <= total {
                    p.extend_from_slice(b"d/");
                }
                p
            }
            2 => {
                // d1/../d1/../...f1
                let mut p = Vec::new();
                while p.len() + 6 < total.saturating_sub(2) {
                    p.extend_from_slice(b"d1/../");
                }
                p.extend_from_slice(b"f1");
                p
            }
            3 => vec![b'n'; *self.r.pick(&[255usize, 256, 4095, 4096])],
            _ => {
                let mut p = self.scratch.to_vec();
                p.push(b'/');
                while p.len() + 3 < total {
                    p.extend_from_slice(b"/./");
                }
                p.extend_from_slice(b"f1");
                p
            }
        }
    }

    fn loc(&mut self) -> Loc {
        match self.r.below(40) {
            0 | 1 => Loc::AtEnd,
            2 | 3 => Loc::Bad(self.bad()),
            _ => Loc::Normal,
        }
    }

    fn path(&mut self) -> Arg {
        let bytes = self.path_bytes();
        let loc = self.loc();
        let nul = !(matches!(loc, Loc::AtEnd) && self.r.chance(1, 2));
        Arg::Path(PathArg { bytes, nul, loc })
    }

    /// A path, or sometimes `NULL` (the calls that take a `NULL` path to
    /// mean the descriptor).
    fn path_or_null(&mut self) -> Arg {
        if self.r.chance(1, 6) {
            Arg::Path(PathArg {
                bytes: Vec::new(),
                nul: true,
                loc: Loc::Bad(Bad::Null),
            })
        } else {
            self.path()
        }
    }

    fn target(&mut self) -> Arg {
        let bytes = match self.r.below(12) {
            0..=3 => self.rel(),
            4 => self.scratch.to_vec(),
            5 => b"/etc".to_vec(),
            6 => b"../..".to_vec(),
            7 => Vec::new(),
            8 => vec![b't'; *self.r.pick(&[4095usize, 4096, 5000])],
            9 => b"/proc/self/cwd".to_vec(),
            _ => self.path_bytes(),
        };
        let loc = self.loc();
        let nul = !(matches!(loc, Loc::AtEnd) && self.r.chance(1, 2));
        Arg::Path(PathArg { bytes, nul, loc })
    }

    fn int(&mut self, common: &[u64]) -> Arg {
        if self.r.chance(1, 8) {
            Arg::Int(self.r.edgy())
        } else {
            Arg::Int(*self.r.pick(common))
        }
    }

    /// Flags: a common set with optional bits, sometimes an odd bit more.
    fn flags(&mut self, base: &[u64], bits: &[u64]) -> u64 {
        let mut f = *self.r.pick(base);
        for &b in bits {
            if self.r.chance(1, 5) {
                f |= b;
            }
        }
        if self.r.chance(1, 10) {
            f |= 1u64 << self.r.below(64);
        }
        f
    }

    fn mode(&mut self) -> u64 {
        if self.r.chance(1, 10) {
            return self.r.edgy();
        }
        *self.r.pick(&[
            0o644, 0o755, 0o600, 0o777, 0o000, 0o4755, 0o2755, 0o1777, 0o444, 0o7777, 0o17777,
        ])
    }

    fn open_flags(&mut self) -> u64 {
        let bits = [
            libc::O_CREAT,
            libc::O_EXCL,
            libc::O_TRUNC,
            libc::O_APPEND,
            libc::O_DIRECTORY,
            libc::O_NOFOLLOW,
            libc::O_CLOEXEC,
            libc::O_NOCTTY,
            libc::O_SYNC,
            libc::O_DSYNC,
            libc::O_DIRECT,
            libc::O_NOATIME,
            libc::O_ASYNC,
            libc::O_LARGEFILE,
        ];
        let bits: Vec<u64> = bits.iter().map(|b| u64::from(b.unsigned_abs())).collect();
        let mut f = self.flags(&[0, 1, 2, 3], &bits);
        if self.r.chance(1, 10) {
            f |= u64::from(libc::O_PATH.unsigned_abs());
        }
        if self.r.chance(1, 20) {
            f |= u64::from(libc::O_TMPFILE.unsigned_abs());
        }
        f
    }

    fn out(&mut self, room: usize) -> Arg {
        let loc = self.loc();
        // Sometimes less room than the kernel will write, at the guard.
        let room = if matches!(loc, Loc::AtEnd) && self.r.chance(1, 2) {
            self.r.index(room.max(1))
        } else {
            room
        };
        Arg::Out { room, loc }
    }

    fn blob(&mut self, bytes: Vec<u8>) -> Arg {
        let loc = self.loc();
        Arg::Blob { bytes, loc }
    }

    fn uid(&mut self) -> Arg {
        self.int(&[
            u64::from(u32::MAX),
            0,
            1000,
            65534,
            4_294_967_294,
            0xffff_ffff_0000_0000,
        ])
    }

    fn xattr_name(&mut self) -> Arg {
        let bytes: Vec<u8> = match self.r.below(14) {
            0..=4 => self
                .r
                .pick(&[&b"user.a"[..], b"user.b", b"user.c"])
                .to_vec(),
            5 => b"trusted.t".to_vec(),
            6 => b"security.s".to_vec(),
            7 => b"system.posix_acl_access".to_vec(),
            8 => b"bogus".to_vec(),
            9 => Vec::new(),
            10 => {
                let mut v = b"user.".to_vec();
                v.extend(std::iter::repeat_n(
                    b'x',
                    *self.r.pick(&[250usize, 251, 300]),
                ));
                v
            }
            11 => b"user.".to_vec(),
            _ => b"user.a\xff".to_vec(),
        };
        let loc = self.loc();
        let nul = !(matches!(loc, Loc::AtEnd) && self.r.chance(1, 2));
        Arg::Path(PathArg { bytes, nul, loc })
    }

    fn times(&mut self, size: usize, nsec: bool) -> Vec<u8> {
        // Two (sec, sub-second) pairs of 8 bytes each (utimbuf: two secs).
        let mut v = Vec::new();
        let n = size / 8;
        for i in 0..n {
            let x: i64 = if i % 2 == 1 && size > 16 {
                match self.r.below(8) {
                    0 => (1 << 30) - 1, // UTIME_NOW
                    1 => (1 << 30) - 2, // UTIME_OMIT
                    2 => -1,
                    3 => 1_000_000_000,
                    4 => 1_000_000,
                    _ => self.r.below(if nsec { 1_000_000_000 } else { 1_000_000 }) as i64,
                }
            } else {
                match self.r.below(6) {
                    0 => -1,
                    1 => i64::MAX,
                    _ => self.r.below(1_000_000) as i64,
                }
            };
            v.extend_from_slice(&x.to_ne_bytes());
        }
        v
    }

    fn times_arg(&mut self, size: usize, nsec: bool) -> Arg {
        if self.r.chance(1, 5) {
            return Arg::Blob {
                bytes: Vec::new(),
                loc: Loc::Bad(Bad::Null),
            };
        }
        let t = self.times(size, nsec);
        self.blob(t)
    }

    fn at_flags(&mut self, bits: &[u64]) -> Arg {
        Arg::Int(self.flags(&[0], bits))
    }

    // ---- network ---------------------------------------------------------

    fn port(&mut self) -> Port {
        match self.r.below(8) {
            0..=2 => Port::Listen,
            3 | 4 => Port::Refused,
            5 | 6 => Port::Udp,
            _ => Port::Fixed(0),
        }
    }

    fn addr_body(&mut self) -> AddrBody {
        match self.r.below(20) {
            0..=4 => {
                let path = match self.r.below(8) {
                    0 | 1 => b"sock-s".to_vec(),
                    2 | 3 => b"sock-d".to_vec(),
                    4 => {
                        let mut p = self.scratch.to_vec();
                        p.extend_from_slice(b"/sock-d");
                        p
                    }
                    5 => vec![b's'; 108],
                    6 => b"/proc/self/cwd/sock-s".to_vec(),
                    _ => self.rel(),
                };
                let nul = self.r.chance(7, 8);
                AddrBody::Unix { path, nul }
            }
            5..=7 => {
                let name = self.r.pick(&[&b"s"[..], b"d", b"none", b""]).to_vec();
                AddrBody::Abstract(name)
            }
            8..=12 => {
                let ip = *self.r.pick(&[
                    [127, 0, 0, 1],
                    [127, 0, 0, 1],
                    [127, 0, 0, 2],
                    [0, 0, 0, 0],
                    [255, 255, 255, 255],
                    [224, 0, 0, 1],
                ]);
                AddrBody::Inet {
                    ip,
                    port: self.port(),
                }
            }
            13..=16 => {
                let mut ip = [0u8; 16];
                match self.r.below(4) {
                    0 | 1 => ip[15] = 1, // ::1
                    2 => {
                        // ::ffff:127.0.0.1
                        ip[10] = 0xff;
                        ip[11] = 0xff;
                        ip[12] = 127;
                        ip[15] = 1;
                    }
                    _ => {} // ::
                }
                AddrBody::Inet6 {
                    ip,
                    port: self.port(),
                    scope: if self.r.chance(1, 8) { 999 } else { 0 },
                }
            }
            _ => {
                let family = *self.r.pick(&[
                    libc::AF_UNSPEC as u16,
                    libc::AF_NETLINK as u16,
                    libc::AF_PACKET as u16,
                    5,  // AF_APPLETALK
                    46, // AF_MAX
                    255,
                    0xffff,
                    libc::AF_INET as u16,
                    libc::AF_INET6 as u16,
                    libc::AF_UNIX as u16,
                ]);
                let n = self.r.index(40);
                AddrBody::Raw {
                    family,
                    bytes: self.r.bytes(n),
                }
            }
        }
    }

    fn addr(&mut self) -> Addr {
        match self.r.below(20) {
            0 => Addr::Null(*self.r.pick(&[0u64, 16, 0xffff_ffff])),
            1 => {
                let b = self.bad();
                Addr::Bad(b, *self.r.pick(&[16u64, 110, 0]))
            }
            _ => {
                let body = self.addr_body();
                let len = match self.r.below(10) {
                    0 => AddrLen::Raw(*self.r.pick(&[
                        0u64,
                        1,
                        2,
                        3,
                        16,
                        28,
                        110,
                        128,
                        129,
                        4096,
                        0xffff_ffff,
                        0x1_0000_0010,
                        0x8000_0000,
                    ])),
                    1 => AddrLen::Delta(*self.r.pick(&[-3i8, -1, 1, 2, 40])),
                    _ => AddrLen::Exact,
                };
                Addr::Built {
                    body,
                    len,
                    at_end: self.r.chance(1, 15),
                }
            }
        }
    }

    fn iovs(&mut self) -> Iovs {
        if self.r.chance(1, 20) {
            let b = self.bad();
            return Iovs::Bad(b, *self.r.pick(&[1u64, 0, 1024, 1025]));
        }
        let n = *self.r.pick(&[0usize, 1, 1, 1, 2, 3, 8]);
        let iov = (0..n)
            .map(|_| match self.r.below(12) {
                0 => {
                    let b = self.bad();
                    Iov::Bad(b, *self.r.pick(&[0u64, 1, 16, 0x7fff_ffff]))
                }
                1 => Iov::Long(*self.r.pick(&[
                    1u64 << 20,
                    1u64 << 40,
                    u64::MAX,
                    0x7fff_ffff,
                    (1 << 22) + 1,
                ])),
                _ => {
                    let k = self.r.index(64);
                    Iov::Data(self.r.bytes(k))
                }
            })
            .collect();
        let count = if self.r.chance(1, 12) {
            Some(
                *self
                    .r
                    .pick(&[0u64, 1025, 1024, 0xffff_ffff_ffff, u64::MAX, 2]),
            )
        } else {
            None
        };
        Iovs::List { iov, count }
    }

    fn cmsg(&mut self) -> Cmsg {
        let (level, ty, data) = match self.r.below(10) {
            0..=3 => {
                let n = *self.r.pick(&[0usize, 1, 1, 2, 3, 254]);
                let fds = (0..n).map(|_| self.fd()).collect();
                (libc::SOL_SOCKET, libc::SCM_RIGHTS, CmsgData::Fds(fds))
            }
            4 | 5 => {
                let own = self.r.chance(3, 4);
                (
                    libc::SOL_SOCKET,
                    libc::SCM_CREDENTIALS,
                    CmsgData::Creds {
                        own,
                        pid: *self.r.pick(&[0, 1, -1, 999_999]),
                        uid: *self.r.pick(&[0, 65534, u32::MAX]),
                        gid: *self.r.pick(&[0, 65534, u32::MAX]),
                    },
                )
            }
            6 => (
                libc::IPPROTO_IP,
                libc::IP_TTL,
                CmsgData::Bytes(vec![64, 0, 0, 0]),
            ),
            7 => (libc::SOL_SOCKET, 77, CmsgData::Bytes(self.r.bytes(4))),
            _ => {
                let n = self.r.index(24);
                (
                    *self.r.pick(&[libc::SOL_SOCKET, 0, 41, 17, -1, 0x7fff_ffff]),
                    self.r.below(64) as i32,
                    CmsgData::Bytes(self.r.bytes(n)),
                )
            }
        };
        let len = match self.r.below(12) {
            0 => CmsgLen::Raw(*self.r.pick(&[
                0u64,
                1,
                15,
                16,
                17,
                u64::MAX,
                u64::MAX - 7,
                0x7fff_ffff,
                0xffff_ffff,
                1 << 32,
            ])),
            1 => CmsgLen::Delta(*self.r.pick(&[-1i32, -4, 1, 3, 8, 64, 4096])),
            _ => CmsgLen::Exact,
        };
        Cmsg {
            len,
            level,
            ty,
            data,
        }
    }

    fn control(&mut self) -> Control {
        match self.r.below(12) {
            0..=4 => Control::Null(0),
            5 => Control::Null(*self.r.pick(&[16u64, 0xffff_ffff])),
            6 => {
                let b = self.bad();
                Control::Bad(b, *self.r.pick(&[16u64, 24, 4096]))
            }
            _ => {
                let n = *self.r.pick(&[1usize, 1, 2, 3]);
                let msgs = (0..n).map(|_| self.cmsg()).collect();
                let len = if self.r.chance(1, 8) {
                    Some(
                        *self
                            .r
                            .pick(&[0u64, 8, 15, 16, 20, 1 << 20, u64::MAX, 0x7fff_ffff]),
                    )
                } else {
                    None
                };
                Control::Built {
                    msgs,
                    len,
                    misalign: if self.r.chance(1, 10) {
                        1 + self.r.below(7) as u8
                    } else {
                        0
                    },
                    at_end: self.r.chance(1, 10),
                }
            }
        }
    }

    fn msg(&mut self) -> Msg {
        let name = if self.r.chance(1, 2) {
            Addr::Null(0)
        } else {
            self.addr()
        };
        Msg {
            name,
            iov: self.iovs(),
            control: self.control(),
            flags: if self.r.chance(1, 10) {
                self.r.next_u64() as u32
            } else {
                0
            },
        }
    }

    fn send_flags(&mut self) -> Arg {
        Arg::Int(self.flags(
            &[0],
            &[
                libc::MSG_OOB as u64,
                libc::MSG_CONFIRM as u64,
                libc::MSG_MORE as u64,
                libc::MSG_EOR as u64,
                libc::MSG_DONTROUTE as u64,
                libc::MSG_FASTOPEN as u64,
            ],
        ))
    }

    // ---- calls -----------------------------------------------------------

    fn call(&mut self) -> Op {
        use Sc::*;
        const WEIGHTED: &[(Sc, u64)] = &[
            (Open, 4),
            (Openat, 8),
            (Openat2, 5),
            (Creat, 2),
            (Stat, 3),
            (Lstat, 2),
            (Newfstatat, 4),
            (Statx, 4),
            (Statfs, 1),
            (Access, 2),
            (Faccessat, 1),
            (Faccessat2, 2),
            (Readlink, 2),
            (Readlinkat, 2),
            (Getdents, 2),
            (Getdents64, 3),
            (Chdir, 2),
            (Fchdir, 2),
            (Mkdir, 3),
            (Mkdirat, 2),
            (Mknod, 2),
            (Mknodat, 1),
            (Symlink, 3),
            (Symlinkat, 2),
            (Unlink, 2),
            (Unlinkat, 2),
            (Rmdir, 2),
            (Rename, 3),
            (Renameat, 1),
            (Renameat2, 3),
            (Link, 2),
            (Linkat, 2),
            (Chmod, 2),
            (Fchmod, 1),
            (Fchmodat, 1),
            (Fchmodat2, 2),
            (Chown, 1),
            (Lchown, 1),
            (Fchown, 1),
            (Fchownat, 1),
            (Utime, 1),
            (Utimes, 1),
            (Futimesat, 1),
            (Utimensat, 2),
            (Truncate, 2),
            (Setxattr, 2),
            (Lsetxattr, 1),
            (Fsetxattr, 1),
            (Getxattr, 2),
            (Lgetxattr, 1),
            (Listxattr, 1),
            (Llistxattr, 1),
            (Removexattr, 1),
            (Lremovexattr, 1),
            (Fremovexattr, 1),
            (InotifyAddWatch, 2),
            (MemfdCreate, 1),
            (Connect, 4),
            (Bind, 3),
            (Sendto, 4),
            (Sendmsg, 6),
            (Sendmmsg, 3),
        ];
        let total: u64 = WEIGHTED.iter().map(|w| w.1).sum();
        let mut x = self.r.below(total);
        let mut sc = Open;
        for &(s, w) in WEIGHTED {
            if x < w {
                sc = s;
                break;
            }
            x -= w;
        }
        self.call_of(sc)
    }

    /// A call of `sc` with generated arguments.
    pub fn call_of(&mut self, sc: Sc) -> Op {
        use Sc::*;
        let mut save = None;
        let stat_flags = [
            libc::AT_SYMLINK_NOFOLLOW as u64,
            libc::AT_EMPTY_PATH as u64,
            libc::AT_NO_AUTOMOUNT as u64,
        ];
        let args = match sc {
            Open => {
                save = Some(self.file_slot());
                vec![
                    self.path(),
                    Arg::Int(self.open_flags()),
                    Arg::Int(self.mode()),
                ]
            }
            Openat => {
                save = Some(self.file_slot());
                vec![
                    Arg::Fd(self.dirfd()),
                    self.path(),
                    Arg::Int(self.open_flags()),
                    Arg::Int(self.mode()),
                ]
            }
            Openat2 => {
                save = Some(self.file_slot());
                let flags = self.open_flags();
                let mode = if self.r.chance(1, 2)
                    || flags & u64::from(libc::O_CREAT.unsigned_abs()) != 0
                {
                    self.mode()
                } else {
                    0
                };
                let resolve = self.flags(&[0], &[1, 2, 4, 8, 0x10, 0x20]);
                let mut how = Vec::new();
                how.extend_from_slice(&flags.to_ne_bytes());
                how.extend_from_slice(&mode.to_ne_bytes());
                how.extend_from_slice(&resolve.to_ne_bytes());
                let size = match self.r.below(12) {
                    0 => *self.r.pick(&[0u64, 8, 16, 23, 25, 4097, u64::MAX, 1 << 32]),
                    1 => {
                        // Larger than the struct: zeros are fine, anything
                        // else is E2BIG.
                        how.extend_from_slice(&[0; 8]);
                        if self.r.chance(1, 2) {
                            how[26] = 1;
                        }
                        32
                    }
                    _ => 24,
                };
                vec![
                    Arg::Fd(self.dirfd()),
                    self.path(),
                    self.blob(how),
                    Arg::Int(size),
                ]
            }
            Creat => {
                save = Some(self.file_slot());
                vec![self.path(), Arg::Int(self.mode())]
            }
            Stat | Lstat => vec![self.path(), self.out(144)],
            Newfstatat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.out(144),
                self.at_flags(&stat_flags),
            ],
            Statx => {
                let mut bits = stat_flags.to_vec();
                bits.extend([0x2000, 0x4000]); // AT_STATX_FORCE_SYNC, DONT_SYNC
                vec![
                    Arg::Fd(self.dirfd()),
                    self.path_or_null(),
                    self.at_flags(&bits),
                    self.int(&[0x7ff, 0xfff, 0, 0x8000_0000, 0x1, 0x3fff]),
                    self.out(256),
                ]
            }
            Statfs => vec![self.path(), self.out(120)],
            Access => vec![self.path(), self.int(&[0, 1, 2, 4, 7, 8])],
            Faccessat => vec![
                Arg::Fd(self.dirfd()),
                self.path(),
                self.int(&[0, 1, 2, 4, 7, 8]),
            ],
            Faccessat2 => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.int(&[0, 1, 2, 4, 7]),
                self.at_flags(&[0x200, 0x100, 0x1000]),
            ],
            Readlink => vec![
                self.path(),
                self.out(256),
                self.int(&[256, 1, 0, 4, 4096, u64::MAX, 0x8000_0000]),
            ],
            Readlinkat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.out(256),
                self.int(&[256, 1, 0, 4, 4096, u64::MAX]),
            ],
            Getdents | Getdents64 => vec![
                Arg::Fd(FdArg::Slot(self.file_slot())),
                self.out(4096),
                self.int(&[4096, 4096, 1, 20, 24, 64, 0, 1 << 20, u64::MAX, 0x8000_0000]),
            ],
            Chdir => {
                if self.r.chance(1, 2) {
                    vec![Arg::Path(PathArg {
                        bytes: self.scratch.to_vec(),
                        nul: true,
                        loc: Loc::Normal,
                    })]
                } else {
                    vec![self.path()]
                }
            }
            Fchdir => vec![Arg::Fd(self.fd())],
            Mkdir => vec![self.path(), Arg::Int(self.mode())],
            Mkdirat => vec![Arg::Fd(self.dirfd()), self.path(), Arg::Int(self.mode())],
            Mknod | Mknodat => {
                let ty = *self.r.pick(&[
                    0u64,
                    libc::S_IFREG.into(),
                    libc::S_IFREG.into(),
                    libc::S_IFIFO.into(),
                    libc::S_IFCHR.into(),
                    libc::S_IFBLK.into(),
                    libc::S_IFSOCK.into(),
                    libc::S_IFDIR.into(),
                    libc::S_IFLNK.into(),
                    0o170000,
                ]);
                let mode = Arg::Int(ty | (self.mode() & 0o7777));
                let dev = self.int(&[0, 0x0103, 0x0801]);
                if sc == Mknod {
                    vec![self.path(), mode, dev]
                } else {
                    vec![Arg::Fd(self.dirfd()), self.path(), mode, dev]
                }
            }
            Symlink => vec![self.target(), self.path()],
            Symlinkat => vec![self.target(), Arg::Fd(self.dirfd()), self.path()],
            Unlink | Rmdir => vec![self.path()],
            Unlinkat => vec![
                Arg::Fd(self.dirfd()),
                self.path(),
                self.at_flags(&[libc::AT_REMOVEDIR as u64]),
            ],
            Rename | Link => vec![self.path(), self.path()],
            Renameat => vec![
                Arg::Fd(self.dirfd()),
                self.path(),
                Arg::Fd(self.dirfd()),
                self.path(),
            ],
            Renameat2 => vec![
                Arg::Fd(self.dirfd()),
                self.path(),
                Arg::Fd(self.dirfd()),
                self.path(),
                self.at_flags(&[1, 2, 4]),
            ],
            Linkat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                Arg::Fd(self.dirfd()),
                self.path(),
                self.at_flags(&[libc::AT_SYMLINK_FOLLOW as u64, libc::AT_EMPTY_PATH as u64]),
            ],
            Chmod => vec![self.path(), Arg::Int(self.mode())],
            Fchmod => vec![Arg::Fd(self.fd()), Arg::Int(self.mode())],
            Fchmodat => vec![Arg::Fd(self.dirfd()), self.path(), Arg::Int(self.mode())],
            Fchmodat2 => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                Arg::Int(self.mode()),
                self.at_flags(&[libc::AT_SYMLINK_NOFOLLOW as u64, libc::AT_EMPTY_PATH as u64]),
            ],
            Chown | Lchown => vec![self.path(), self.uid(), self.uid()],
            Fchown => vec![Arg::Fd(self.fd()), self.uid(), self.uid()],
            Fchownat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.uid(),
                self.uid(),
                self.at_flags(&[libc::AT_SYMLINK_NOFOLLOW as u64, libc::AT_EMPTY_PATH as u64]),
            ],
            Utime => vec![self.path(), self.times_arg(16, false)],
            Utimes => vec![self.path(), self.times_arg(32, false)],
            Futimesat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.times_arg(32, false),
            ],
            Utimensat => vec![
                Arg::Fd(self.dirfd()),
                self.path_or_null(),
                self.times_arg(32, true),
                self.at_flags(&[libc::AT_SYMLINK_NOFOLLOW as u64, libc::AT_EMPTY_PATH as u64]),
            ],
            Truncate => vec![
                self.path(),
                self.int(&[0, 5, 4096, 1 << 20, u64::MAX, 1 << 62, 1 << 43]),
            ],
            Setxattr | Lsetxattr | Fsetxattr => {
                let first = if sc == Fsetxattr {
                    Arg::Fd(self.fd())
                } else {
                    self.path()
                };
                let n = *self.r.pick(&[0usize, 1, 5, 16, 100]);
                let value = self.r.bytes(n);
                let size = if self.r.chance(1, 6) {
                    *self.r.pick(&[0u64, 65536, 65537, u64::MAX, 1 << 32])
                } else {
                    n as u64
                };
                let value = if self.r.chance(1, 10) {
                    Arg::Blob {
                        bytes: Vec::new(),
                        loc: Loc::Bad(Bad::Null),
                    }
                } else {
                    self.blob(value)
                };
                vec![
                    first,
                    self.xattr_name(),
                    value,
                    Arg::Int(size),
                    self.int(&[0, 1, 2, 3, 4]),
                ]
            }
            Getxattr | Lgetxattr => vec![
                self.path(),
                self.xattr_name(),
                self.out(128),
                self.int(&[128, 0, 1, 2, 65536, u64::MAX]),
            ],
            Listxattr | Llistxattr => vec![
                self.path(),
                self.out(256),
                self.int(&[256, 0, 1, 6, 65536, u64::MAX]),
            ],
            Removexattr | Lremovexattr => vec![self.path(), self.xattr_name()],
            Fremovexattr => vec![Arg::Fd(self.fd()), self.xattr_name()],
            InotifyAddWatch => vec![
                Arg::Fd(if self.r.chance(3, 4) {
                    FdArg::Slot(MISC + self.r.below(2) as u8)
                } else {
                    self.fd()
                }),
                self.path(),
                Arg::Int(self.flags(
                    &[0xfff, 0x2, 0x100, 0],
                    &[
                        0x0100_0000,
                        0x0200_0000,
                        0x2000_0000,
                        0x1000_0000,
                        0x8000_0000,
                    ],
                )),
            ],
            MemfdCreate => {
                save = Some(MISC + self.r.below(2) as u8);
                let name = {
                    let bytes = match self.r.below(6) {
                        0 => vec![b'm'; *self.r.pick(&[249usize, 250, 4096])],
                        1 => b"a/b".to_vec(),
                        _ => b"fuzz".to_vec(),
                    };
                    let loc = self.loc();
                    let nul = !(matches!(loc, Loc::AtEnd) && self.r.chance(1, 2));
                    Arg::Path(PathArg { bytes, nul, loc })
                };
                vec![
                    name,
                    Arg::Int(self.flags(&[0, 1, 2, 3], &[0x4, 0x8, 0x10, 0x10 | 0x4])),
                ]
            }
            Connect | Bind => vec![
                Arg::Fd(FdArg::Slot(self.sock_slot())),
                Arg::Addr(self.addr()),
                Arg::AddrLen,
            ],
            Sendto => {
                let data = match self.r.below(10) {
                    0 => Arg::Blob {
                        bytes: Vec::new(),
                        loc: Loc::Bad(self.bad()),
                    },
                    _ => {
                        let n = self.r.index(48);
                        let b = self.r.bytes(n);
                        self.blob(b)
                    }
                };
                let len = match &data {
                    Arg::Blob { bytes, .. } if self.r.chance(5, 6) => Arg::Int(bytes.len() as u64),
                    _ => self.int(&[0, 1, 1 << 20, u64::MAX, 0x7fff_ffff]),
                };
                let addr = if self.r.chance(1, 8) {
                    Addr::Null(*self.r.pick(&[0u64, 16]))
                } else {
                    self.addr()
                };
                vec![
                    Arg::Fd(FdArg::Slot(self.sock_slot())),
                    data,
                    len,
                    self.send_flags(),
                    Arg::Addr(addr),
                    Arg::AddrLen,
                ]
            }
            Sendmsg => vec![
                Arg::Fd(FdArg::Slot(self.sock_slot())),
                Arg::Msg(if self.r.chance(1, 25) {
                    Err(self.bad())
                } else {
                    Ok(Box::new(self.msg()))
                }),
                self.send_flags(),
            ],
            Sendmmsg => {
                let n = *self.r.pick(&[0usize, 1, 2, 3, 5]);
                let msgs = if self.r.chance(1, 20) {
                    Err(self.bad())
                } else {
                    Ok((0..n).map(|_| self.msg()).collect::<Vec<_>>())
                };
                let vlen = match &msgs {
                    Ok(v) if self.r.chance(5, 6) => v.len() as u64,
                    _ => *self.r.pick(&[0u64, 1, 1024, 1025, u64::MAX, 1 << 32]),
                };
                vec![
                    Arg::Fd(FdArg::Slot(self.sock_slot())),
                    Arg::Msgs(msgs),
                    Arg::Int(vlen),
                    self.send_flags(),
                ]
            }
        };
        Op::Call { sc, args, save }
    }
}

#[cfg(test)]
mod tests {
    use super::sequence;

    #[test]
    fn a_seed_gives_one_sequence() {
        let a = sequence(42, 500, b"/s");
        let b = sequence(42, 500, b"/s");
        assert_eq!(a, b);
        assert_ne!(a, sequence(43, 500, b"/s"));
        // A prefix of a longer run is the shorter run.
        assert_eq!(&sequence(42, 800, b"/s")[..500], &a[..]);
    }
}

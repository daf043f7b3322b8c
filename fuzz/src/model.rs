//! What a generated call is made of: the syscall and a description of each
//! argument, independent of the addresses and descriptor numbers it will
//! have when it runs.
//!
//! The generator ([`crate::gen`]) makes these from a seed alone, never from
//! results, so a sequence can be replayed in part (the minimiser drops
//! calls) and any call is named by seed and index. The executor
//! ([`crate::exec`]) turns each into raw syscall arguments in its arena.

use std::fmt;

/// A bad address: never mapped in the executor, so the kernel (and fdsup)
/// must answer `EFAULT` (or whatever the syscall says first).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// 0.
    Null,
    /// 1: unaligned, in the never-mapped first page.
    One,
    /// 0x1000: below `mmap_min_addr`.
    Low,
    /// The `PROT_NONE` page right after the arena.
    Guard,
    /// A kernel address.
    Kernel,
    /// A non-canonical address.
    NonCanonical,
    /// `u64::MAX - 0xff`: wraps when a length is added.
    Top,
    /// A readable page of 4,096 `'a'` bytes with no NUL, followed by the
    /// guard: readable, but a string there is too long (or runs into the
    /// guard), and writing there faults.
    ReadOnly,
}

/// Where an argument that lives in memory is put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    /// In the arena, with room after it.
    Normal,
    /// Ending exactly at the guard page: one byte more faults.
    AtEnd,
    /// At a bad address instead (the contents are not written anywhere).
    Bad(Bad),
}

/// A path argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathArg {
    /// The bytes (without a NUL).
    pub bytes: Vec<u8>,
    /// A NUL follows the bytes (false: the bytes end at the guard page).
    pub nul: bool,
    /// Where they are.
    pub loc: Loc,
}

/// A descriptor argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FdArg {
    /// The descriptor in slot N of the executor's table (a stale number if
    /// the slot was closed: it may have been reused since).
    Slot(u8),
    /// `AT_FDCWD`.
    Cwd,
    /// A raw 64-bit value (negative, huge, or with high bits the kernel
    /// ignores).
    Raw(u64),
}

/// Which of the executor's own sockets a port is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// The listening TCP socket.
    Listen,
    /// A bound TCP socket that does not listen: connections are refused.
    Refused,
    /// The bound UDP socket.
    Udp,
    /// A literal port.
    Fixed(u16),
}

/// A socket address argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A null pointer with this length.
    Null(u64),
    /// A bad pointer with this length.
    Bad(Bad, u64),
    /// An address built in the arena; `len` is what the call is told (it may
    /// be shorter or longer than what was built, or absurd).
    Built {
        /// What is built.
        body: AddrBody,
        /// The length argument.
        len: AddrLen,
        /// Built so that it ends at the guard page.
        at_end: bool,
    },
}

/// The length given with an address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddrLen {
    /// Exactly what was built.
    Exact,
    /// A literal value (as `socklen_t`, or the full 64-bit register).
    Raw(u64),
    /// What was built, plus or minus a few bytes.
    Delta(i8),
}

/// What an address holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddrBody {
    /// `AF_UNIX` with these `sun_path` bytes (NUL-terminated if `nul`).
    Unix { path: Vec<u8>, nul: bool },
    /// `AF_UNIX`, abstract: `\0` then the executor's tag and this name.
    Abstract(Vec<u8>),
    /// `AF_INET`.
    Inet { ip: [u8; 4], port: Port },
    /// `AF_INET6`.
    Inet6 {
        ip: [u8; 16],
        port: Port,
        scope: u32,
    },
    /// A family and raw bytes after it.
    Raw { family: u16, bytes: Vec<u8> },
}

/// One `iovec`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iov {
    /// These bytes.
    Data(Vec<u8>),
    /// A bad base with this length.
    Bad(Bad, u64),
    /// A valid base in the arena with this length, which runs past the end
    /// of the arena if large.
    Long(u64),
}

/// The `iovec` array of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Iovs {
    /// These entries; `count` overrides how many the message claims.
    List { iov: Vec<Iov>, count: Option<u64> },
    /// A bad array pointer with this count.
    Bad(Bad, u64),
}

/// A control-message header's length field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmsgLen {
    /// `CMSG_LEN(data)`.
    Exact,
    /// This literal value.
    Raw(u64),
    /// `CMSG_LEN(data)` plus this (may be negative).
    Delta(i32),
}

/// What a control message carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmsgData {
    /// `SCM_RIGHTS`-shaped: descriptors.
    Fds(Vec<FdArg>),
    /// `SCM_CREDENTIALS`-shaped; `own` fills the executor's pid, uid, gid.
    Creds {
        own: bool,
        pid: i32,
        uid: u32,
        gid: u32,
    },
    /// Anything.
    Bytes(Vec<u8>),
}

/// One control message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cmsg {
    /// `cmsg_len`.
    pub len: CmsgLen,
    /// `cmsg_level`.
    pub level: i32,
    /// `cmsg_type`.
    pub ty: i32,
    /// The data.
    pub data: CmsgData,
}

/// The control buffer of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    /// `NULL`, with this length.
    Null(u64),
    /// A bad pointer with this length.
    Bad(Bad, u64),
    /// These messages, laid out as `CMSG_NXTHDR` would (each padded to 8);
    /// `len` overrides `msg_controllen`; `misalign` shifts the buffer's
    /// start by that many bytes; `at_end` ends it at the guard page.
    Built {
        /// The messages.
        msgs: Vec<Cmsg>,
        /// `msg_controllen` if not the built length.
        len: Option<u64>,
        /// Start offset from an 8-aligned address.
        misalign: u8,
        /// Ends at the guard page.
        at_end: bool,
    },
}

/// A `msghdr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// `msg_name`/`msg_namelen`.
    pub name: Addr,
    /// `msg_iov`/`msg_iovlen`.
    pub iov: Iovs,
    /// `msg_control`/`msg_controllen`.
    pub control: Control,
    /// `msg_flags` (ignored by the kernel on send).
    pub flags: u32,
}

/// One argument of a syscall.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    /// A number, passed as is in the 64-bit register.
    Int(u64),
    /// A descriptor.
    Fd(FdArg),
    /// A path (or any string: a symlink target, an xattr or memfd name).
    Path(PathArg),
    /// Bytes the call reads (an xattr value, an `open_how`, times).
    Blob { bytes: Vec<u8>, loc: Loc },
    /// A buffer the call writes into, with this much room.
    Out { room: usize, loc: Loc },
    /// A socket address (pointer; its length is the next argument, which
    /// the generator writes as [`Arg::AddrLen`]).
    Addr(Addr),
    /// The length of the previous [`Arg::Addr`].
    AddrLen,
    /// A `msghdr` pointer (good or bad).
    Msg(Result<Box<Msg>, Bad>),
    /// An `mmsghdr` array pointer.
    Msgs(Result<Vec<Msg>, Bad>),
}

/// The syscalls the executor makes directly; the names are the table's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Sc {
    Open,
    Openat,
    Openat2,
    Creat,
    Stat,
    Lstat,
    Newfstatat,
    Statx,
    Statfs,
    Access,
    Faccessat,
    Faccessat2,
    Readlink,
    Readlinkat,
    Getdents,
    Getdents64,
    Chdir,
    Fchdir,
    Mkdir,
    Mkdirat,
    Mknod,
    Mknodat,
    Symlink,
    Symlinkat,
    Unlink,
    Unlinkat,
    Rmdir,
    Rename,
    Renameat,
    Renameat2,
    Link,
    Linkat,
    Chmod,
    Fchmod,
    Fchmodat,
    Fchmodat2,
    Chown,
    Lchown,
    Fchown,
    Fchownat,
    Utime,
    Utimes,
    Futimesat,
    Utimensat,
    Truncate,
    Setxattr,
    Lsetxattr,
    Fsetxattr,
    Getxattr,
    Lgetxattr,
    Listxattr,
    Llistxattr,
    Removexattr,
    Lremovexattr,
    Fremovexattr,
    InotifyAddWatch,
    MemfdCreate,
    Connect,
    Bind,
    Sendto,
    Sendmsg,
    Sendmmsg,
}

impl Sc {
    /// Its x86_64 number.
    pub fn nr(self) -> i64 {
        use Sc::*;
        match self {
            Open => libc::SYS_open,
            Openat => libc::SYS_openat,
            Openat2 => libc::SYS_openat2,
            Creat => libc::SYS_creat,
            Stat => libc::SYS_stat,
            Lstat => libc::SYS_lstat,
            Newfstatat => libc::SYS_newfstatat,
            Statx => libc::SYS_statx,
            Statfs => libc::SYS_statfs,
            Access => libc::SYS_access,
            Faccessat => libc::SYS_faccessat,
            Faccessat2 => libc::SYS_faccessat2,
            Readlink => libc::SYS_readlink,
            Readlinkat => libc::SYS_readlinkat,
            Getdents => libc::SYS_getdents,
            Getdents64 => libc::SYS_getdents64,
            Chdir => libc::SYS_chdir,
            Fchdir => libc::SYS_fchdir,
            Mkdir => libc::SYS_mkdir,
            Mkdirat => libc::SYS_mkdirat,
            Mknod => libc::SYS_mknod,
            Mknodat => libc::SYS_mknodat,
            Symlink => libc::SYS_symlink,
            Symlinkat => libc::SYS_symlinkat,
            Unlink => libc::SYS_unlink,
            Unlinkat => libc::SYS_unlinkat,
            Rmdir => libc::SYS_rmdir,
            Rename => libc::SYS_rename,
            Renameat => libc::SYS_renameat,
            Renameat2 => libc::SYS_renameat2,
            Link => libc::SYS_link,
            Linkat => libc::SYS_linkat,
            Chmod => libc::SYS_chmod,
            Fchmod => libc::SYS_fchmod,
            Fchmodat => libc::SYS_fchmodat,
            Fchmodat2 => libc::SYS_fchmodat2,
            Chown => libc::SYS_chown,
            Lchown => libc::SYS_lchown,
            Fchown => libc::SYS_fchown,
            Fchownat => libc::SYS_fchownat,
            Utime => libc::SYS_utime,
            Utimes => libc::SYS_utimes,
            Futimesat => libc::SYS_futimesat,
            Utimensat => libc::SYS_utimensat,
            Truncate => libc::SYS_truncate,
            Setxattr => libc::SYS_setxattr,
            Lsetxattr => libc::SYS_lsetxattr,
            Fsetxattr => libc::SYS_fsetxattr,
            Getxattr => libc::SYS_getxattr,
            Lgetxattr => libc::SYS_lgetxattr,
            Listxattr => libc::SYS_listxattr,
            Llistxattr => libc::SYS_llistxattr,
            Removexattr => libc::SYS_removexattr,
            Lremovexattr => libc::SYS_lremovexattr,
            Fremovexattr => libc::SYS_fremovexattr,
            InotifyAddWatch => libc::SYS_inotify_add_watch,
            MemfdCreate => libc::SYS_memfd_create,
            Connect => libc::SYS_connect,
            Bind => libc::SYS_bind,
            Sendto => libc::SYS_sendto,
            Sendmsg => libc::SYS_sendmsg,
            Sendmmsg => libc::SYS_sendmmsg,
        }
    }

    /// Its name, lower case (as in the audit log).
    pub fn name(self) -> String {
        let s = format!("{self:?}");
        let mut out = String::with_capacity(s.len() + 4);
        for (i, c) in s.chars().enumerate() {
            if c.is_ascii_uppercase() && i > 0 && s.starts_with("Inotify") {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        }
        if out == "memfdcreate" {
            out = "memfd_create".to_owned();
        }
        out
    }

    /// A network call.
    pub fn is_net(self) -> bool {
        matches!(
            self,
            Sc::Connect | Sc::Bind | Sc::Sendto | Sc::Sendmsg | Sc::Sendmmsg
        )
    }
}

/// A socket the executor can make (not mediated).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum SockKind {
    UnixStream,
    UnixDgram,
    UnixSeqpacket,
    Tcp4,
    Udp4,
    Tcp6,
    Udp6,
    Netlink,
}

/// One step of a sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// A mediated syscall; a returned descriptor goes to slot `save`.
    Call {
        /// Which.
        sc: Sc,
        /// Its arguments, in order.
        args: Vec<Arg>,
        /// The slot for a returned descriptor.
        save: Option<u8>,
    },
    /// `close` of a slot (its number stays, stale).
    Close(u8),
    /// `write` of bytes to a slot.
    Write(u8, Vec<u8>),
    /// `read` of up to N bytes from a slot (printed).
    Read(u8, u16),
    /// `lseek(slot, 0, SEEK_SET)`.
    Rewind(u8),
    /// `umask`.
    Umask(u32),
    /// `socket` into a slot.
    Socket(SockKind, u8),
    /// `socketpair(AF_UNIX, type)` into two slots.
    Pair(SockKind, u8, u8),
    /// `listen` on a slot.
    Listen(u8),
    /// `SO_PASSCRED` on a slot.
    PassCred(u8),
    /// `inotify_init1` into a slot.
    Inotify(u8),
    /// `dup` of a slot into another.
    Dup(u8, u8),
}

/// Renders bytes as a quoted string with escapes (paths, data).
pub struct Quoted<'a>(pub &'a [u8]);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 96;
        f.write_str("\"")?;
        let b = self.0;
        // Long runs are summarised so transcripts stay readable.
        let head = &b[..b.len().min(SHOWN)];
        for &c in head {
            match c {
                b'"' => f.write_str("\\\"")?,
                b'\\' => f.write_str("\\\\")?,
                0x20..=0x7e => write!(f, "{}", c as char)?,
                _ => write!(f, "\\x{c:02x}")?,
            }
        }
        f.write_str("\"")?;
        if b.len() > SHOWN {
            write!(f, "...({} bytes, fnv {:016x})", b.len(), crate::fnv(b))?;
        }
        Ok(())
    }
}

impl fmt::Display for FdArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FdArg::Slot(s) => write!(f, "slot{s}"),
            FdArg::Cwd => f.write_str("AT_FDCWD"),
            FdArg::Raw(v) => write!(f, "{:#x}", v),
        }
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Normal => Ok(()),
            Loc::AtEnd => f.write_str("@end"),
            Loc::Bad(b) => write!(f, "@{b:?}"),
        }
    }
}

impl fmt::Display for PathArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Loc::Bad(b) = self.loc {
            return write!(f, "{b:?}");
        }
        write!(f, "{}", Quoted(&self.bytes))?;
        if !self.nul {
            f.write_str("(no NUL)")?;
        }
        write!(f, "{}", self.loc)
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Addr::Null(l) => write!(f, "NULL/{l:#x}"),
            Addr::Bad(b, l) => write!(f, "{b:?}/{l:#x}"),
            Addr::Built { body, len, at_end } => {
                match body {
                    AddrBody::Unix { path, nul } => write!(
                        f,
                        "unix:{}{}",
                        Quoted(path),
                        if *nul { "" } else { "(no NUL)" }
                    )?,
                    AddrBody::Abstract(n) => write!(f, "unix:@{}", Quoted(n))?,
                    AddrBody::Inet { ip, port } => {
                        write!(f, "{}.{}.{}.{}:{port:?}", ip[0], ip[1], ip[2], ip[3])?
                    }
                    AddrBody::Inet6 { ip, port, scope } => {
                        write!(f, "[{}]:{port:?}%{scope}", std::net::Ipv6Addr::from(*ip))?
                    }
                    AddrBody::Raw { family, bytes } => write!(f, "af{family}:{}", Quoted(bytes))?,
                }
                match len {
                    AddrLen::Exact => {}
                    AddrLen::Raw(l) => write!(f, "/{l:#x}")?,
                    AddrLen::Delta(d) => write!(f, "/{d:+}")?,
                }
                if *at_end {
                    f.write_str("@end")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Msg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{name={}, iov=", self.name)?;
        match &self.iov {
            Iovs::Bad(b, n) => write!(f, "{b:?}x{n}")?,
            Iovs::List { iov, count } => {
                f.write_str("[")?;
                for (i, v) in iov.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match v {
                        Iov::Data(d) => write!(f, "{}", d.len())?,
                        Iov::Bad(b, l) => write!(f, "{b:?}/{l:#x}")?,
                        Iov::Long(l) => write!(f, "long/{l:#x}")?,
                    }
                }
                f.write_str("]")?;
                if let Some(c) = count {
                    write!(f, "x{c:#x}")?;
                }
            }
        }
        f.write_str(", ctl=")?;
        match &self.control {
            Control::Null(l) => write!(f, "NULL/{l:#x}")?,
            Control::Bad(b, l) => write!(f, "{b:?}/{l:#x}")?,
            Control::Built {
                msgs,
                len,
                misalign,
                at_end,
            } => {
                f.write_str("[")?;
                for (i, c) in msgs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    write!(f, "{}/{}/", c.level, c.ty)?;
                    match c.len {
                        CmsgLen::Exact => {}
                        CmsgLen::Raw(l) => write!(f, "len={l:#x}/")?,
                        CmsgLen::Delta(d) => write!(f, "len{d:+}/")?,
                    }
                    match &c.data {
                        CmsgData::Fds(v) => {
                            f.write_str("fds(")?;
                            for (j, d) in v.iter().enumerate() {
                                if j > 0 {
                                    f.write_str(" ")?;
                                }
                                write!(f, "{d}")?;
                            }
                            f.write_str(")")?;
                        }
                        CmsgData::Creds { own, pid, uid, gid } => {
                            if *own {
                                f.write_str("creds(own)")?
                            } else {
                                write!(f, "creds({pid},{uid},{gid})")?
                            }
                        }
                        CmsgData::Bytes(b) => write!(f, "{}B", b.len())?,
                    }
                }
                f.write_str("]")?;
                if let Some(l) = len {
                    write!(f, "/{l:#x}")?;
                }
                if *misalign != 0 {
                    write!(f, "+{misalign}")?;
                }
                if *at_end {
                    f.write_str("@end")?;
                }
            }
        }
        write!(f, ", flags={:#x}}}", self.flags)
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Int(v) => write!(f, "{v:#x}"),
            Arg::Fd(d) => write!(f, "{d}"),
            Arg::Path(p) => write!(f, "{p}"),
            Arg::Blob { bytes, loc } => {
                if let Loc::Bad(b) = loc {
                    return write!(f, "{b:?}");
                }
                write!(f, "blob{}{}", Quoted(bytes), loc)
            }
            Arg::Out { room, loc } => {
                if let Loc::Bad(b) = loc {
                    return write!(f, "out@{b:?}");
                }
                write!(f, "out[{room}]{loc}")
            }
            Arg::Addr(a) => write!(f, "{a}"),
            Arg::AddrLen => f.write_str("len"),
            Arg::Msg(Ok(m)) => write!(f, "{m}"),
            Arg::Msg(Err(b)) | Arg::Msgs(Err(b)) => write!(f, "{b:?}"),
            Arg::Msgs(Ok(v)) => {
                f.write_str("[")?;
                for (i, m) in v.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{m}")?;
                }
                f.write_str("]")
            }
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Call { sc, args, save } => {
                write!(f, "{}(", sc.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{a}")?;
                }
                f.write_str(")")?;
                if let Some(s) = save {
                    write!(f, "->slot{s}")?;
                }
                Ok(())
            }
            Op::Close(s) => write!(f, "close(slot{s})"),
            Op::Write(s, d) => write!(f, "write(slot{s}, {})", Quoted(d)),
            Op::Read(s, n) => write!(f, "read(slot{s}, {n})"),
            Op::Rewind(s) => write!(f, "lseek(slot{s}, 0)"),
            Op::Umask(m) => write!(f, "umask({m:#o})"),
            Op::Socket(k, s) => write!(f, "socket({k:?})->slot{s}"),
            Op::Pair(k, a, b) => write!(f, "socketpair({k:?})->slot{a},slot{b}"),
            Op::Listen(s) => write!(f, "listen(slot{s})"),
            Op::PassCred(s) => write!(f, "SO_PASSCRED(slot{s})"),
            Op::Inotify(s) => write!(f, "inotify_init1()->slot{s}"),
            Op::Dup(a, b) => write!(f, "dup(slot{a})->slot{b}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Sc;

    #[test]
    fn names_are_the_tables() {
        assert_eq!(Sc::InotifyAddWatch.name(), "inotify_add_watch");
        assert_eq!(Sc::MemfdCreate.name(), "memfd_create");
        assert_eq!(Sc::Faccessat2.name(), "faccessat2");
        assert_eq!(Sc::Openat.name(), "openat");
    }
}

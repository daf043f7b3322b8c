//! Every raw system call the shim makes.
//!
//! The shim runs between fork and exec with filters half installed, so these
//! wrappers are deliberately thin: one system call each, `EINTR` retried, no
//! allocation, nothing that could open a file. Once the notify filter is in
//! place only [`write_message`], [`recv_with_fds`], [`landlock_restrict_self`],
//! [`install_filter`] (the last filter), [`default_sigpipe`],
//! [`Exec::execve`] and [`exit`] are used, none of which is mediated.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::raw::c_char;

/// Retries `f` while it fails with `EINTR`; `f` returns -1 and sets errno on failure.
fn retry<T: Copy + PartialEq + From<i8>>(mut f: impl FnMut() -> T) -> io::Result<T> {
    loop {
        let r = f();
        if r != T::from(-1) {
            return Ok(r);
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Takes ownership of the inherited socket `raw` and marks it close-on-exec,
/// so that a successful exec closes it and the supervisor reads end-of-file.
pub fn claim_socket(raw: RawFd) -> io::Result<OwnedFd> {
    // SAFETY: F_SETFD with an int argument touches only the descriptor flags;
    // an invalid `raw` is reported as EBADF.
    retry(|| unsafe { libc::fcntl(raw, libc::F_SETFD, libc::FD_CLOEXEC) })?;
    // SAFETY: fcntl just proved `raw` is open. The supervisor passed it to us
    // alone, and nothing else in this process knows its number, so the
    // `OwnedFd` is its only owner.
    Ok(unsafe { OwnedFd::from_raw_fd(raw) })
}

/// `recv(2)` of one packet into `buf`; returns its length (0: peer gone).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is valid for writes of `buf.len()` bytes for the whole call.
    let n = retry(|| unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) })?;
    usize::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EIO))
}

/// The length of the next packet, without taking it (`recv` with
/// `MSG_PEEK | MSG_TRUNC` and no buffer); 0: peer gone.
pub fn next_packet_len(fd: BorrowedFd<'_>) -> io::Result<usize> {
    // SAFETY: a zero-length buffer: the kernel writes nothing.
    let n = retry(|| unsafe {
        libc::recv(
            fd.as_raw_fd(),
            std::ptr::null_mut(),
            0,
            libc::MSG_PEEK | libc::MSG_TRUNC,
        )
    })?;
    usize::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EIO))
}

/// `recvmsg(2)` of one packet into `buf`, taking the descriptors passed
/// with it (`SCM_RIGHTS`, received close-on-exec). Returns its length (0:
/// peer gone) and the descriptors; more than [`MAX_PASSED_FDS`], or a
/// truncated packet, is `EINVAL` (whatever came is closed).
pub fn recv_with_fds(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<(usize, Vec<OwnedFd>)> {
    // Room for the cmsghdr and MAX_PASSED_FDS ints, aligned as cmsghdr wants.
    let mut control = [0u64; 8];
    let space = std::mem::size_of_val(&control);
    let mut iov = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    // SAFETY: all-zero is a valid msghdr (null pointers, zero lengths).
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = space;
    // SAFETY: `msg` points to `iov` (valid for `buf.len()` writable bytes)
    // and `control` (valid for `space` writable bytes), all of which outlive
    // the call.
    let n = retry(|| unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, libc::MSG_CMSG_CLOEXEC) })?;
    let n = usize::try_from(n).map_err(|_| io::Error::from_raw_os_error(libc::EIO))?;
    let mut fds = Vec::new();
    // SAFETY: `msg` was filled in by a successful recvmsg; CMSG_FIRSTHDR and
    // CMSG_NXTHDR stay within `msg_controllen` bytes of `control`.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points into `control` (above).
        let (level, kind, len) =
            unsafe { ((*cmsg).cmsg_level, (*cmsg).cmsg_type, (*cmsg).cmsg_len) };
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            // SAFETY: CMSG_LEN(0) is a constant computation.
            let header = usize::try_from(unsafe { libc::CMSG_LEN(0) }).unwrap_or(usize::MAX);
            let count = len.saturating_sub(header) / std::mem::size_of::<libc::c_int>();
            // SAFETY: the kernel wrote `count` ints after the header, within
            // `control`; they may be unaligned, so they are read unaligned.
            let data = unsafe { libc::CMSG_DATA(cmsg) }.cast::<libc::c_int>();
            for i in 0..count {
                // SAFETY: `i < count` ints lie within the message (above).
                let raw = unsafe { data.add(i).read_unaligned() };
                if raw >= 0 {
                    // SAFETY: SCM_RIGHTS installed this new descriptor in our
                    // table for us alone.
                    fds.push(unsafe { OwnedFd::from_raw_fd(raw) });
                }
            }
        }
        // SAFETY: as for CMSG_FIRSTHDR.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    if msg.msg_flags & (libc::MSG_CTRUNC | libc::MSG_TRUNC) != 0 || fds.len() > MAX_PASSED_FDS {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    Ok((n, fds))
}

/// The most descriptors one hand-off message carries (the Landlock ruleset).
pub const MAX_PASSED_FDS: usize = 1;

/// `landlock_restrict_self(ruleset, 0)`: from now on this thread (the only
/// one) and what it execs run under the ruleset. Needs `no_new_privs`.
pub fn landlock_restrict_self(ruleset: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: integer arguments only.
    let r = unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset.as_raw_fd(), 0u32) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `write(2)` of one whole message. A plain `write`, not `sendmsg`: the
/// latter may be mediated, and would then wait for a supervisor that has no
/// listener yet.
pub fn write_message(fd: BorrowedFd<'_>, msg: &[u8]) -> io::Result<()> {
    // SAFETY: `msg` is valid for reads of `msg.len()` bytes for the whole call.
    let n = retry(|| unsafe { libc::write(fd.as_raw_fd(), msg.as_ptr().cast(), msg.len()) })?;
    // A packet socket writes all or nothing; anything else is a broken peer.
    if usize::try_from(n).ok() == Some(msg.len()) {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::EIO))
    }
}

/// Unblocks every signal: a signal mask survives exec, and the supervisor may
/// have blocked signals it reads with a signalfd.
pub fn empty_signal_mask() -> io::Result<()> {
    // SAFETY: an all-zero sigset_t is a valid value; sigemptyset then sets it
    // to the empty set properly.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: `set` is a valid, writable sigset_t.
    if unsafe { libc::sigemptyset(&mut set) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `set` is initialised; a null old-set pointer is allowed.
    let r = unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(r))
    }
}

/// Restores the default action of `SIGPIPE`. The Rust runtime of the shim
/// (the `fdsup` binary) ignores it, and an ignored signal stays ignored
/// across exec: `yes | head` in the program would then loop on EPIPE.
pub fn default_sigpipe() -> io::Result<()> {
    // SAFETY: `signal` with SIG_DFL installs no handler, so no code of ours can
    // run in signal context.
    if unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) } == libc::SIG_ERR {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// `prctl(PR_SET_NO_NEW_PRIVS, 1)`: lets an unprivileged process install
/// seccomp filters, and keeps the program from gaining privileges by exec.
pub fn set_no_new_privs() -> io::Result<()> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes integer arguments only.
    let r = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `CAP_SYS_ADMIN` (include/uapi/linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;
/// `CAP_CHECKPOINT_RESTORE` (include/uapi/linux/capability.h, Linux 5.9).
const CAP_CHECKPOINT_RESTORE: u32 = 40;

/// `CAP_NET_ADMIN` (include/uapi/linux/capability.h).
const CAP_NET_ADMIN: u32 = 12;

/// Drops `CAP_SYS_ADMIN` and `CAP_CHECKPOINT_RESTORE` for good
/// ([`crate::protocol::DROP_MAP_FILES_CAPS`]).
pub fn drop_map_files_caps() -> io::Result<()> {
    drop_caps(&[CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE])
}

/// Drops `caps` for good: from the bounding set where we may
/// (`CAP_SETPCAP`; a kernel that does not know one says `EINVAL`), and from
/// the effective, permitted and inheritable sets (and so the ambient one),
/// which lowering always may. With `no_new_privs`, no later exec gives them
/// back.
fn drop_caps(caps: &[u32]) -> io::Result<()> {
    for &cap in caps {
        // SAFETY: PR_CAPBSET_DROP takes integer arguments only.
        let r = unsafe { libc::prctl(libc::PR_CAPBSET_DROP, libc::c_ulong::from(cap), 0, 0, 0) };
        if r != 0 {
            let e = io::Error::last_os_error();
            if !matches!(e.raw_os_error(), Some(libc::EPERM | libc::EINVAL)) {
                return Err(e);
            }
        }
    }
    // `struct __user_cap_header_struct` and two `__user_cap_data_struct`s
    // (_LINUX_CAPABILITY_VERSION_3: 64 capabilities).
    let mut header = [0x2008_0522u32, 0];
    let mut data = [[0u32; 3]; 2];
    // SAFETY: the header and two data structs, of the kernel's layout
    // (three u32 each: effective, permitted, inheritable), outlive the call.
    let r = unsafe { libc::syscall(libc::SYS_capget, header.as_mut_ptr(), data.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    for &cap in caps {
        let (word, bit) = ((cap / 32) as usize, 1u32 << (cap % 32));
        for set in &mut data[word] {
            *set &= !bit;
        }
    }
    header[1] = 0;
    // SAFETY: as for capget; the kernel only reads them.
    let r = unsafe { libc::syscall(libc::SYS_capset, header.as_mut_ptr(), data.as_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `seccomp(SECCOMP_SET_MODE_FILTER, flags, prog)`; returns the raw result.
fn seccomp_filter(prog: &[libc::sock_filter], flags: libc::c_ulong) -> io::Result<libc::c_long> {
    let len = u16::try_from(prog.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let fprog = libc::sock_fprog {
        len,
        // The kernel only reads through this pointer.
        filter: prog.as_ptr().cast_mut(),
    };
    // SAFETY: `fprog` points to `len` valid instructions that outlive the call;
    // the kernel copies and verifies the program before it returns.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            libc::SECCOMP_SET_MODE_FILTER,
            flags,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Installs a filter without a listener.
pub fn install_filter(prog: &[libc::sock_filter]) -> io::Result<()> {
    seccomp_filter(prog, 0).map(drop)
}

/// Installs a filter with `SECCOMP_FILTER_FLAG_NEW_LISTENER` and returns the
/// listener (the kernel opens it close-on-exec). With `wait_killable`, also
/// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19).
pub fn install_notify_filter(
    prog: &[libc::sock_filter],
    wait_killable: bool,
) -> io::Result<OwnedFd> {
    let mut flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
    if wait_killable {
        flags |= libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
    }
    let fd = seccomp_filter(prog, flags)?;
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: with NEW_LISTENER the kernel returns a new descriptor that no one
    // else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Everything `execve` needs, built before the filters go in so that exec
/// itself allocates nothing.
pub struct Exec {
    /// The paths to try, in order (at least one).
    paths: Vec<CString>,
    // The pointer arrays point into these; they must not move or drop first.
    _argv: Vec<CString>,
    _envp: Vec<CString>,
    argv_ptrs: Vec<*const c_char>,
    envp_ptrs: Vec<*const c_char>,
}

fn null_terminated(strings: &[CString]) -> Vec<*const c_char> {
    strings
        .iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}

impl Exec {
    /// Prepares `execve(path, argv, envp)` for each of `paths` in turn.
    pub fn new(paths: Vec<CString>, argv: Vec<CString>, envp: Vec<CString>) -> Self {
        // Moving a CString does not move its heap buffer, so the pointers
        // stay valid when `argv` and `envp` move into the struct.
        let argv_ptrs = null_terminated(&argv);
        let envp_ptrs = null_terminated(&envp);
        Self {
            paths,
            _argv: argv,
            _envp: envp,
            argv_ptrs,
            envp_ptrs,
        }
    }

    /// `execve(2)` of each path in turn, as `execvp(3)` goes through
    /// `PATH`: a path the sandbox hides or denies (ENOENT, EACCES), or that
    /// is gone or unreachable meanwhile (ENOTDIR, ESTALE, ENODEV,
    /// ETIMEDOUT), is skipped for the next; any other error ends the
    /// search. Returns only on failure: EACCES if any path gave it (the
    /// program exists but could not be run), else the last error.
    pub fn execve(&self) -> io::Error {
        let mut denied = false;
        let mut last = io::Error::from_raw_os_error(libc::ENOENT);
        for path in &self.paths {
            // SAFETY: `path` is NUL-terminated; both pointer arrays are
            // NUL-terminated and point to NUL-terminated strings owned by
            // `self`, which outlives the call.
            unsafe {
                libc::execve(
                    path.as_ptr(),
                    self.argv_ptrs.as_ptr(),
                    self.envp_ptrs.as_ptr(),
                )
            };
            last = io::Error::last_os_error();
            match last.raw_os_error() {
                Some(libc::EACCES) => denied = true,
                Some(
                    libc::ENOENT | libc::ENOTDIR | libc::ESTALE | libc::ENODEV | libc::ETIMEDOUT,
                ) => {}
                _ => return last,
            }
        }
        if denied {
            io::Error::from_raw_os_error(libc::EACCES)
        } else {
            last
        }
    }
}

/// `_exit(2)`: ends the shim without running destructors or atexit handlers,
/// which could do who knows what system calls.
pub fn exit(status: i32) -> ! {
    // SAFETY: `_exit` is always safe to call; it does not return.
    unsafe { libc::_exit(status) }
}

/// The descriptor number, for the message to the supervisor.
pub fn number(fd: &impl AsFd) -> RawFd {
    fd.as_fd().as_raw_fd()
}

/// Moves the shim (and so the program) into a new IPC namespace
/// ([`crate::protocol::ISOLATE_IPC`]): no other program's System V IPC
/// objects nor POSIX message queues in it. Needs `CAP_SYS_ADMIN`.
pub fn isolate_ipc() -> io::Result<()> {
    // SAFETY: integer arguments only.
    if unsafe { libc::unshare(libc::CLONE_NEWIPC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the shim (and so the program) into a new, empty network namespace
/// with its loopback interface up: `unshare(CLONE_NEWNET)` where the shim
/// may (root), else `unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWIPC)`
/// with the shim's own uid and gid mapped to themselves (so that the
/// program keeps its identity and, not being uid 0 there, has no
/// capability after exec): the user namespace, made anyway, brings the
/// IPC namespace that [`isolate_ipc`] makes where the shim may (a shim
/// that may not make a network namespace without one was not asked for
/// an IPC one either). Runs before any filter, so the files it writes are
/// not mediated.
///
/// Then `CAP_NET_ADMIN` is dropped for good ([`drop_caps`]): where the
/// shim is root, the new namespace belongs to the machine's user namespace
/// as fdsup's does, so the capability would count in fdsup's namespace too,
/// on every socket brokered out of it (found in review: a root program's
/// `ioctl`s on a brokered socket set the MTU of the machine's `eth0` and
/// got fdsup's namespace with `SIOCGSKNS`; routes, ARP entries, tunnels,
/// interface addresses and flags were as open). Under a user namespace of
/// its own the program holds it over nothing of fdsup's; dropped as well,
/// so that the rule is one. The program's own namespace has only `lo`,
/// which is up.
pub fn isolate_network() -> io::Result<()> {
    // SAFETY: integer arguments only.
    if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EPERM) {
            return Err(e);
        }
        // SAFETY: getuid/getgid cannot fail.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNET | libc::CLONE_NEWIPC;
        // SAFETY: integer arguments only.
        if unsafe { libc::unshare(flags) } != 0 {
            return Err(io::Error::last_os_error());
        }
        write_file(c"/proc/self/setgroups", b"deny")?;
        write_file(c"/proc/self/uid_map", format!("{uid} {uid} 1").as_bytes())?;
        write_file(c"/proc/self/gid_map", format!("{gid} {gid} 1").as_bytes())?;
    }
    loopback_up()?;
    drop_caps(&[CAP_NET_ADMIN])
}

fn write_file(path: &std::ffi::CStr, data: &[u8]) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated.
    let fd = retry(|| unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) })?;
    // SAFETY: `fd` was just opened by us and is owned here only.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: `data` is readable for its length.
    let n = retry(|| unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) })?;
    if usize::try_from(n).ok() != Some(data.len()) {
        return Err(io::Error::from_raw_os_error(libc::EIO));
    }
    Ok(())
}

/// `ioctl(SIOCSIFFLAGS, "lo" | IFF_UP)`: the new namespace's loopback is
/// down; up, the program can talk to itself (and to nothing else).
fn loopback_up() -> io::Result<()> {
    // SAFETY: integer arguments only.
    let s =
        retry(|| unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `s` was just created by us and is owned here only.
    let s = unsafe { OwnedFd::from_raw_fd(s) };
    // SAFETY: ifreq is plain data; all-zero is valid.
    let mut ifr: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, c) in ifr.ifr_name.iter_mut().zip(b"lo\0") {
        *d = c_char::from_ne_bytes([*c]);
    }
    // SAFETY: `ifr` is a valid ifreq for SIOCGIFFLAGS to fill.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCGIFFLAGS, &mut ifr) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: SIOCGIFFLAGS filled the flags member of the union.
    let flags = unsafe { ifr.ifr_ifru.ifru_flags };
    ifr.ifr_ifru.ifru_flags = flags | libc::c_short::try_from(libc::IFF_UP).unwrap_or(1);
    // SAFETY: `ifr` is a valid ifreq naming "lo" with the new flags.
    if unsafe { libc::ioctl(s.as_raw_fd(), libc::SIOCSIFFLAGS, &ifr) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

//! Every raw system call of the supervisor, and the kernel ABI it needs that
//! `libc` lacks.
//!
//! This is the only module of the `fdsup` crate allowed `unsafe`; past it,
//! descriptors are `OwnedFd`/`BorrowedFd` and memory is slices. Each wrapper
//! starts with the syscall it makes. Constants are defined once, with the
//! header they come from, and pinned by the tests at the bottom.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

pub mod net;
pub mod timer;

// ---- linux/seccomp.h -------------------------------------------------------

/// `SECCOMP_IOCTL_NOTIF_RECV` = `_IOWR('!', 0, struct seccomp_notif)`.
pub const SECCOMP_IOCTL_NOTIF_RECV: u64 = 0xc050_2100;
/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: the kernel runs the syscall.
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = 1;

/// `SECCOMP_IOCTL_NOTIF_SEND` = `_IOWR('!', 1, struct seccomp_notif_resp)`.
pub const SECCOMP_IOCTL_NOTIF_SEND: u64 = 0xc018_2101;
/// `SECCOMP_IOCTL_NOTIF_ID_VALID` = `_IOW('!', 2, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_ID_VALID: u64 = 0x4008_2102;
/// `SECCOMP_IOCTL_NOTIF_ADDFD` = `_IOW('!', 3, struct seccomp_notif_addfd)`.
pub const SECCOMP_IOCTL_NOTIF_ADDFD: u64 = 0x4018_2103;
/// `SECCOMP_IOCTL_NOTIF_SET_FLAGS` = `_IOW('!', 4, __u64)`.
pub const SECCOMP_IOCTL_NOTIF_SET_FLAGS: u64 = 0x4008_2104;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6).
pub const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
/// `SECCOMP_ADDFD_FLAG_SETFD`: install at `newfd`.
pub const SECCOMP_ADDFD_FLAG_SETFD: u32 = 1 << 0;
/// `SECCOMP_ADDFD_FLAG_SEND`: install and answer in one step (Linux 5.14).
pub const SECCOMP_ADDFD_FLAG_SEND: u32 = 1 << 1;

// ---- linux/pidfd.h, linux/openat2.h, linux/stat.h ---------------------------

/// `PIDFD_THREAD` (= `O_EXCL`, Linux 6.9): a pidfd for a thread, not a process.
pub const PIDFD_THREAD: u32 = 0o200;
/// `RESOLVE_NO_XDEV`.
pub const RESOLVE_NO_XDEV: u64 = 0x01;
/// `RESOLVE_NO_MAGICLINKS`.
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
/// `RESOLVE_NO_SYMLINKS`.
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
/// `RESOLVE_BENEATH`.
pub const RESOLVE_BENEATH: u64 = 0x08;
/// `RESOLVE_IN_ROOT`.
pub const RESOLVE_IN_ROOT: u64 = 0x10;
/// `RESOLVE_CACHED`.
pub const RESOLVE_CACHED: u64 = 0x20;
/// `OPEN_HOW_SIZE_VER0`: the first published size of `struct open_how`.
pub const OPEN_HOW_SIZE_VER0: usize = 24;

/// `struct seccomp_data`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub instruction_pointer: u64,
    pub args: [u64; 6],
}

/// `struct seccomp_notif`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompNotif {
    pub id: u64,
    pub pid: u32,
    pub flags: u32,
    pub data: SeccompData,
}

/// `struct seccomp_notif_resp`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompNotifResp {
    pub id: u64,
    pub val: i64,
    pub error: i32,
    pub flags: u32,
}

/// `struct seccomp_notif_addfd`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct SeccompNotifAddfd {
    pub id: u64,
    pub flags: u32,
    pub srcfd: u32,
    pub newfd: u32,
    pub newfd_flags: u32,
}

/// `struct open_how` (linux/openat2.h).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// The low 32 bits of a syscall argument, as the kernel reads an `int`
/// (the upper half of the register is ignored for `int` parameters).
#[allow(clippy::cast_possible_truncation)]
pub fn low_i32(v: u64) -> i32 {
    v as u32 as i32
}

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn cvt_int(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// Wraps a descriptor number the kernel just returned to us.
fn owned(fd: libc::c_long) -> io::Result<OwnedFd> {
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: `fd` was just returned by a successful syscall that creates a
    // new descriptor in our table; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

// ---- seccomp listener ioctls -------------------------------------------------

/// `ioctl(SECCOMP_IOCTL_NOTIF_RECV)`: blocks until a notification arrives.
pub fn notif_recv(listener: BorrowedFd<'_>, buf: &mut SeccompNotif) -> io::Result<()> {
    *buf = SeccompNotif::default();
    // SAFETY: `buf` is a valid, writable `struct seccomp_notif` of the size the
    // ioctl number encodes; the listener is a live descriptor.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_RECV as _,
            buf as *mut SeccompNotif,
        )
    };
    cvt_int(r).map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_SEND)`: answers a notification.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &SeccompNotifResp) -> io::Result<()> {
    let mut r = *resp;
    // SAFETY: `r` is a valid `struct seccomp_notif_resp`; the kernel reads it.
    let rc = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_SEND as _,
            &mut r as *mut _,
        )
    };
    cvt_int(rc).map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID)`: is the notification still pending
/// (and so its task alive and its pid not reused)?
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> io::Result<()> {
    let mut id = id;
    // SAFETY: the ioctl reads one u64 from the pointer, which is valid.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_ID_VALID as _,
            &mut id as *mut u64,
        )
    };
    cvt_int(r).map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_ADDFD)`: installs `addfd.srcfd` in the task;
/// returns the number it got there.
pub fn notif_addfd(listener: BorrowedFd<'_>, addfd: &SeccompNotifAddfd) -> io::Result<i32> {
    let mut a = *addfd;
    // SAFETY: `a` is a valid `struct seccomp_notif_addfd`; the kernel reads it.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_ADDFD as _,
            &mut a as *mut _,
        )
    };
    cvt_int(r)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS)`.
pub fn notif_set_flags(listener: BorrowedFd<'_>, flags: u64) -> io::Result<()> {
    // SAFETY: this ioctl takes its argument by value.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            SECCOMP_IOCTL_NOTIF_SET_FLAGS as _,
            flags,
        )
    };
    cvt_int(r).map(drop)
}

/// `poll(listener, POLLIN, 0)`: the events it reports now (0 for none).
fn listener_poll(listener: BorrowedFd<'_>) -> i16 {
    let mut p = libc::pollfd {
        fd: listener.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd, count 1.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    if r > 0 {
        p.revents
    } else {
        0
    }
}

/// True when no task uses the filter any more (POLLHUP).
pub fn listener_hung_up(listener: BorrowedFd<'_>) -> bool {
    listener_poll(listener) & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0
}

/// True when notifications wait to be received (POLLIN).
pub fn listener_waiting(listener: BorrowedFd<'_>) -> bool {
    listener_poll(listener) & libc::POLLIN != 0
}

// ---- pidfds ------------------------------------------------------------------

/// The number of threads of this process (`/proc/self/stat`, field 20).
fn thread_count() -> io::Result<u64> {
    let stat = std::fs::read("/proc/self/stat")?;
    let after = stat
        .iter()
        .rposition(|&b| b == b')')
        .map_or(&stat[..], |i| &stat[i + 1..]);
    std::str::from_utf8(after)
        .ok()
        .and_then(|t| t.split_ascii_whitespace().nth(17))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| io::Error::other("cannot read the thread count in /proc/self/stat"))
}

/// `fork()`, only while this process has one thread: the child closes
/// `close_in_child`, runs `child` (which never returns) with an empty signal
/// mask, and exits with `panic_status` should `child` panic; the parent gets
/// the child's pid. `Ok(None)` when other threads exist (or the count cannot
/// be read): a child of a multi-threaded process may only make
/// async-signal-safe calls, and the caller then starts its child another way.
pub fn fork_single_threaded<F: FnOnce() -> std::convert::Infallible>(
    close_in_child: RawFd,
    panic_status: i32,
    child: F,
) -> io::Result<Option<i32>> {
    if thread_count().ok() != Some(1) {
        return Ok(None);
    }
    // SAFETY: this process has a single thread (checked above, and only this
    // thread could start another), so the child is a complete copy in which
    // any code may run. It never returns into the frames it shares with the
    // parent: `child` does not return, and a panic in it is caught and ends
    // the child with `_exit`.
    let pid = unsafe { libc::fork() };
    match pid {
        -1 => Err(io::Error::last_os_error()),
        0 => {
            // SAFETY: `set` is a valid signal set for sigemptyset to fill;
            // sigprocmask only reads it. `close_in_child` is the parent's
            // descriptor, which this copy must not keep (the child's end of
            // a socket would never see end-of-file otherwise).
            unsafe {
                libc::close(close_in_child);
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut());
            }
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(child));
            // SAFETY: ends this process at once, running nothing of the
            // parent's (no atexit handlers, no destructors).
            unsafe { libc::_exit(panic_status) }
        }
        pid => Ok(Some(pid)),
    }
}

/// `pidfd_open(pid, flags)`.
pub fn pidfd_open(pid: i32, flags: u32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, flags) };
    owned(cvt(r)?)
}

/// `pidfd_getfd(pidfd, targetfd, 0)`: a duplicate of another task's descriptor.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, targetfd: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscall with integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), targetfd, 0) };
    owned(cvt(r)?)
}

/// How many CPUs this thread may run on (`sched_getaffinity`), at least 1;
/// 2 if that cannot be known.
pub fn affinity_cpus() -> usize {
    // SAFETY: `cpu_set_t` is plain data, all-zero a valid (empty) set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: the kernel writes at most `size_of::<cpu_set_t>()` bytes into
    // `set`, which is that large.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r != 0 {
        return 2;
    }
    // SAFETY: `CPU_COUNT` only reads the set.
    let n = unsafe { libc::CPU_COUNT(&set) };
    usize::try_from(n).unwrap_or(2).max(1)
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: i32) -> io::Result<()> {
    // SAFETY: a NULL siginfo is allowed; the other arguments are integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    cvt(r).map(drop)
}

/// `waitid(P_PIDFD, pidfd, WEXITED)`: the exit status as `Ok((code, signal))`
/// where exactly one is meaningful (`signal` is 0 for a normal exit).
pub fn waitid_pidfd(pidfd: BorrowedFd<'_>, nohang: bool) -> io::Result<Option<(i32, i32)>> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | if nohang { libc::WNOHANG } else { 0 };
    let idtype = 3; // P_PIDFD (linux/wait.h)
                    // SAFETY: `info` is valid for writes; the rusage pointer may be NULL.
    let r = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            idtype,
            pidfd.as_raw_fd(),
            &mut info as *mut libc::siginfo_t,
            flags,
            std::ptr::null::<libc::rusage>(),
        )
    };
    cvt(r)?;
    // SAFETY: after a successful waitid the kernel filled si_pid/si_status.
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    if info.si_code == libc::CLD_EXITED {
        Ok(Some((status, 0)))
    } else {
        Ok(Some((0, status)))
    }
}

/// `waitid(P_PIDFD, pidfd, WSTOPPED | WNOHANG)`: the signal that stopped
/// the child, if it stopped since last asked (each stop is reported once).
pub fn stopped_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let idtype = 3; // P_PIDFD (linux/wait.h)
                    // SAFETY: `info` is valid for writes; the rusage pointer may be NULL.
    let r = unsafe {
        libc::syscall(
            libc::SYS_waitid,
            idtype,
            pidfd.as_raw_fd(),
            &mut info as *mut libc::siginfo_t,
            libc::WSTOPPED | libc::WNOHANG,
            std::ptr::null::<libc::rusage>(),
        )
    };
    cvt(r)?;
    // SAFETY: the kernel filled `info` (si_pid 0: nothing to report).
    let (pid, status) = unsafe { (info.si_pid(), info.si_status()) };
    Ok((pid != 0 && info.si_code == libc::CLD_STOPPED).then_some(status))
}

/// `waitpid(-1, WNOHANG)`: reaps one child; `Ok(None)` when none is ready,
/// `Err(ECHILD)` when there are none at all.
pub fn reap_any() -> io::Result<Option<(i32, i32)>> {
    let mut status = 0;
    // SAFETY: `status` is a valid out-pointer.
    let pid = unsafe { libc::waitpid(-1, &mut status, libc::WNOHANG) };
    match pid {
        p if p < 0 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        p => Ok(Some((p, status))),
    }
}

// ---- memory of another task ----------------------------------------------------

/// The other task's `[addr..addr+len]`, as an iovec for `process_vm_*`.
fn remote_iovec(addr: u64, len: usize) -> libc::iovec {
    libc::iovec {
        iov_base: usize::try_from(addr).unwrap_or(usize::MAX) as *mut libc::c_void,
        iov_len: len,
    }
}

/// `process_vm_readv(pid, [buf], [addr..addr+len])`: bytes read.
pub fn read_remote(pid: i32, addr: u64, buf: &mut [u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: buf.as_mut_ptr().cast(),
        iov_len: buf.len(),
    };
    let remote = remote_iovec(addr, buf.len());
    // SAFETY: `local` describes our own writable buffer; the remote iovec is
    // only interpreted in the other process, where the kernel checks it.
    let r = unsafe { libc::process_vm_readv(pid, &local, 1, &remote, 1, 0) };
    let n = cvt(r as libc::c_long)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

// ---- files ---------------------------------------------------------------------

/// `openat2(dirfd, path, how, sizeof how)`.
pub fn openat2(dirfd: RawFd, path: &CStr, how: &OpenHow) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated, `how` a valid open_how of the size given.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dirfd,
            path.as_ptr(),
            how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    owned(cvt(r)?)
}

/// `openat(dirfd, path, flags, mode)`.
pub fn openat(dirfd: RawFd, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    // SAFETY: `path` is NUL-terminated; the rest are integers.
    let r = unsafe { libc::openat(dirfd, path.as_ptr(), flags, mode) };
    owned(libc::c_long::from(cvt_int(r)?))
}

/// `readlinkat(dirfd, path, buf)`: bytes written (not NUL-terminated).
/// A result that fills `buf` is reported as ENAMETOOLONG.
pub fn readlinkat(dirfd: RawFd, path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length, `path` NUL-terminated.
    let r = unsafe { libc::readlinkat(dirfd, path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    let n = usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0);
    if n >= buf.len() {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    Ok(n)
}

/// `fstat(fd)`: the file mode bits (`st_mode`).
pub fn fstat_mode(fd: BorrowedFd<'_>) -> io::Result<u32> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    cvt_int(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok(st.st_mode)
}

/// `fstat(fd)`: the mode and, for a device, its number.
pub fn fstat_mode_rdev(fd: BorrowedFd<'_>) -> io::Result<(u32, u64)> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    cvt_int(unsafe { libc::fstat(fd.as_raw_fd(), &mut st) })?;
    Ok((st.st_mode, st.st_rdev))
}

/// `ioctl(fd, TIOCGPTN)`: the number of the pseudo-terminal whose master
/// `fd` is.
pub fn pty_number(fd: BorrowedFd<'_>) -> io::Result<u32> {
    let mut n: libc::c_uint = 0;
    // SAFETY: TIOCGPTN writes one unsigned int through the pointer.
    cvt_int(unsafe { libc::ioctl(fd.as_raw_fd(), libc::TIOCGPTN, &mut n) })?;
    Ok(n)
}

/// `ioctl(master, TIOCGPTPEER, flags)`: a new open of the slave side of
/// the pseudo-terminal whose master is `master`, reached without a path.
pub fn pty_peer(master: BorrowedFd<'_>, flags: i32) -> io::Result<OwnedFd> {
    // SAFETY: TIOCGPTPEER takes its flags as the integer argument and
    // returns a new descriptor.
    let r = unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCGPTPEER, flags) };
    owned(libc::c_long::from(cvt_int(r)?))
}

/// `fstat(fd)`: the link count, if it can be read.
pub fn fstat_nlink(fd: BorrowedFd<'_>) -> Option<u64> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), &mut st) };
    (r == 0).then_some(st.st_nlink)
}

/// `fcntl(fd, F_GETFL)`: the file status flags and access mode.
pub fn getfl(fd: BorrowedFd<'_>) -> io::Result<i32> {
    // SAFETY: F_GETFL takes no argument and touches no memory.
    cvt_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFL) })
}

/// `fstatat(dirfd, path, AT_SYMLINK_NOFOLLOW)`: the file mode bits.
pub fn lstat_mode(dirfd: RawFd, path: &CStr) -> io::Result<u32> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    cvt_int(unsafe { libc::fstatat(dirfd, path.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok(st.st_mode)
}

/// `fstatat(dirfd, path, AT_SYMLINK_NOFOLLOW)`: device and inode.
pub fn lstat_dev_ino(dirfd: RawFd, path: &CStr) -> io::Result<(u64, u64)> {
    // SAFETY: stat is plain data; all-zero is valid.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` a valid out-pointer.
    cvt_int(unsafe { libc::fstatat(dirfd, path.as_ptr(), &mut st, libc::AT_SYMLINK_NOFOLLOW) })?;
    Ok((st.st_dev, st.st_ino))
}

/// `faccessat2(dirfd, path, mode, flags)`.
pub fn faccessat2(dirfd: RawFd, path: &CStr, mode: i32, flags: i32) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated; the rest are integers.
    cvt(unsafe { libc::syscall(libc::SYS_faccessat2, dirfd, path.as_ptr(), mode, flags) }).map(drop)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`.
pub fn linkat(od: RawFd, old: &CStr, nd: RawFd, new: &CStr, flags: i32) -> io::Result<()> {
    // SAFETY: both paths are NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::linkat(od, old.as_ptr(), nd, new.as_ptr(), flags) }).map(drop)
}

/// `renameat2(olddirfd, old, newdirfd, new, flags)`.
pub fn renameat2(od: RawFd, old: &CStr, nd: RawFd, new: &CStr, flags: u32) -> io::Result<()> {
    // SAFETY: both paths are NUL-terminated; the rest are integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_renameat2,
            od,
            old.as_ptr(),
            nd,
            new.as_ptr(),
            flags,
        )
    };
    cvt(r).map(drop)
}

/// `read(fd, buf)` once.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length.
    let r = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// `write(fd, buf)` once; short writes are returned as is.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is readable for its length.
    let r = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// Writes all of `buf`, retrying on EINTR and short writes.
pub fn write_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match write(fd, buf) {
            Ok(0) => return Err(io::Error::from_raw_os_error(libc::EIO)),
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// `memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)`.
pub fn memfd_sealable(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: `name` is NUL-terminated.
    let r =
        unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    owned(libc::c_long::from(cvt_int(r)?))
}

/// `fcntl(fd, F_ADD_SEALS, seals)`.
pub fn add_seals(fd: BorrowedFd<'_>, seals: i32) -> io::Result<()> {
    // SAFETY: F_ADD_SEALS takes an integer.
    cvt_int(unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }).map(drop)
}

// ---- threads and signals ---------------------------------------------------------

/// `malloc_trim(0)` (glibc): returns the free memory of every malloc
/// arena to the kernel. The allocator keeps what threads freed in their
/// arenas for reuse; a long-running process whose threads come and go (the
/// agent's sessions) gives it back when they are gone.
pub fn malloc_trim() {
    // SAFETY: takes an integer, touches only the allocator's own state,
    // which it locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// `gettid()`.
pub fn gettid() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::gettid() }
}

extern "C" fn wake_handler(_: libc::c_int) {}

/// Installs an empty handler for `sig` without `SA_RESTART`, so that
/// `pthread_kill(t, sig)` makes a blocking syscall in `t` fail with EINTR.
pub fn install_wake_handler(sig: i32) -> io::Result<()> {
    // SAFETY: sigaction is plain data; zeroed is a valid starting value.
    let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
    sa.sa_sigaction = wake_handler as extern "C" fn(libc::c_int) as usize;
    sa.sa_flags = 0;
    // SAFETY: `sa.sa_mask` is a valid sigset to initialise.
    unsafe { libc::sigemptyset(&mut sa.sa_mask) };
    // SAFETY: `sa` is fully initialised; the handler is async-signal-safe (empty).
    cvt_int(unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) }).map(drop)
}

/// `getpgid(pid)`.
pub fn getpgid(pid: i32) -> io::Result<i32> {
    // SAFETY: integer argument.
    cvt_int(unsafe { libc::getpgid(pid) })
}

/// `getpgrp()`.
pub fn getpgrp() -> i32 {
    // SAFETY: no arguments, cannot fail.
    unsafe { libc::getpgrp() }
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: integer arguments.
    cvt_int(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `tgkill(tgid, tid, sig)`: a signal for one thread.
pub fn tgkill(tgid: i32, tid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: integer arguments.
    let r = unsafe { libc::syscall(libc::SYS_tgkill, tgid, tid, sig) };
    cvt(r).map(drop)
}

/// `strerror`-like name for an errno value, as the audit log writes it.
pub fn errno_name(e: i32) -> &'static str {
    match e {
        libc::EACCES => "EACCES",
        libc::ENOENT => "ENOENT",
        libc::EPERM => "EPERM",
        libc::EROFS => "EROFS",
        libc::ELOOP => "ELOOP",
        libc::EEXIST => "EEXIST",
        libc::ENOTDIR => "ENOTDIR",
        libc::EISDIR => "EISDIR",
        libc::EXDEV => "EXDEV",
        libc::EAGAIN => "EAGAIN",
        libc::EINVAL => "EINVAL",
        libc::EFAULT => "EFAULT",
        libc::ENAMETOOLONG => "ENAMETOOLONG",
        libc::EMFILE => "EMFILE",
        libc::ENXIO => "ENXIO",
        libc::E2BIG => "E2BIG",
        libc::EIO => "EIO",
        libc::EINTR => "EINTR",
        libc::ECONNREFUSED => "ECONNREFUSED",
        _ => "EOTHER",
    }
}

// ---- more of the file system: what the mediated path syscalls carry out ------

/// `process_vm_writev(pid, [data], [addr..addr+len])`: bytes written.
pub fn write_remote(pid: i32, addr: u64, data: &[u8]) -> io::Result<usize> {
    let local = libc::iovec {
        iov_base: data.as_ptr().cast_mut().cast(),
        iov_len: data.len(),
    };
    let remote = remote_iovec(addr, data.len());
    // SAFETY: `local` describes our own buffer, which the kernel only reads;
    // the remote iovec is interpreted in the other process, where the kernel
    // checks it.
    let r = unsafe { libc::process_vm_writev(pid, &local, 1, &remote, 1, 0) };
    let n = cvt(r as libc::c_long)?;
    Ok(usize::try_from(n).unwrap_or(0))
}

/// Size of the kernel's `struct stat` on x86_64 (what `newfstatat` writes).
pub const STAT_SIZE: usize = std::mem::size_of::<libc::stat>();
/// Size of `struct statx`.
pub const STATX_SIZE: usize = 256;

/// `newfstatat(fd, "", AT_EMPTY_PATH)`: the kernel's `struct stat` of the
/// object `fd` refers to, as bytes.
pub fn fstat_bytes(fd: BorrowedFd<'_>, out: &mut [u8; STAT_SIZE]) -> io::Result<()> {
    stat_at(fd.as_raw_fd(), c"", libc::AT_EMPTY_PATH, out)
}

/// `newfstatat(dirfd, path, flags)` as bytes.
pub fn stat_at(dirfd: RawFd, path: &CStr, flags: i32, out: &mut [u8; STAT_SIZE]) -> io::Result<()> {
    // SAFETY: `out` has room for one `struct stat`; `path` is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_newfstatat,
            dirfd,
            path.as_ptr(),
            out.as_mut_ptr(),
            flags,
        )
    };
    cvt(r).map(drop)
}

/// `statx(dirfd, path, flags, mask)` as bytes.
pub fn statx_at(
    dirfd: RawFd,
    path: &CStr,
    flags: i32,
    mask: u32,
    out: &mut [u8; STATX_SIZE],
) -> io::Result<()> {
    // SAFETY: `out` has room for one `struct statx`; `path` is
    // NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_statx,
            dirfd,
            path.as_ptr(),
            flags,
            mask,
            out.as_mut_ptr(),
        )
    };
    cvt(r).map(drop)
}

/// `statx(fd, "", AT_EMPTY_PATH | flags, mask)` as bytes.
pub fn statx_bytes(
    fd: BorrowedFd<'_>,
    flags: i32,
    mask: u32,
    out: &mut [u8; STATX_SIZE],
) -> io::Result<()> {
    statx_at(fd.as_raw_fd(), c"", flags | libc::AT_EMPTY_PATH, mask, out)
}

/// `geteuid() == 0`.
pub fn euid_is_root() -> bool {
    // SAFETY: no memory involved.
    unsafe { libc::geteuid() == 0 }
}

/// The mount `fd` is on (`statx` `STATX_MNT_ID`): two objects on different
/// mounts cannot be linked or renamed into each other (EXDEV).
pub fn mount_id(fd: BorrowedFd<'_>) -> io::Result<u64> {
    /// `STATX_MNT_ID` (include/uapi/linux/stat.h).
    const STATX_MNT_ID: u32 = 0x1000;
    let mut out = [0u8; STATX_SIZE];
    statx_bytes(fd, 0, STATX_MNT_ID, &mut out)?;
    // `stx_mnt_id` is the u64 at offset 144 of `struct statx`.
    let mut id = [0u8; 8];
    id.copy_from_slice(&out[144..152]);
    Ok(u64::from_ne_bytes(id))
}

/// Whether `fd` is on procfs (`fstatfs` `PROC_SUPER_MAGIC`), whose
/// directories answer a lookup of a name they do not have with ENOENT
/// (an error, not an absent name that could be made).
pub fn on_procfs(fd: BorrowedFd<'_>) -> bool {
    /// `PROC_SUPER_MAGIC` (include/uapi/linux/magic.h).
    const PROC_SUPER_MAGIC: i64 = 0x9fa0;
    // SAFETY: statfs is plain data; all-zero is valid.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) };
    r == 0 && st.f_type == PROC_SUPER_MAGIC
}

/// Whether `fd` is on a read-only mount (`fstatvfs` `ST_RDONLY`): the
/// kernel's EROFS comes before some errors of the last component.
pub fn on_read_only_mount(fd: BorrowedFd<'_>) -> bool {
    // SAFETY: statvfs is plain data; all-zero is valid.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a valid out-pointer.
    let r = unsafe { libc::fstatvfs(fd.as_raw_fd(), &mut st) };
    r == 0 && st.f_flag & libc::ST_RDONLY != 0
}

/// `fstatfs(fd)` as bytes (works on `O_PATH` descriptors).
pub fn fstatfs_bytes(
    fd: BorrowedFd<'_>,
    out: &mut [u8; std::mem::size_of::<libc::statfs>()],
) -> io::Result<()> {
    // SAFETY: `out` has room for one `struct statfs`.
    let r = unsafe { libc::syscall(libc::SYS_fstatfs, fd.as_raw_fd(), out.as_mut_ptr()) };
    cvt(r).map(drop)
}

/// `readlinkat(fd, "")` of an `O_PATH` descriptor of a symbolic link.
pub fn readlink_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is writable for its length; the path is a valid empty
    // C string.
    let r = unsafe {
        libc::readlinkat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// `mkdirat(dirfd, name, mode)`.
pub fn mkdirat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::mkdirat(dirfd, name.as_ptr(), mode) }).map(drop)
}

/// `mknodat(dirfd, name, mode, 0)` (regular files and FIFOs only).
pub fn mknodat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::mknodat(dirfd, name.as_ptr(), mode, 0) }).map(drop)
}

/// `unlinkat(dirfd, name, flags)`.
pub fn unlinkat(dirfd: RawFd, name: &CStr, flags: i32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::unlinkat(dirfd, name.as_ptr(), flags) }).map(drop)
}

/// `symlinkat(target, dirfd, name)`.
pub fn symlinkat(target: &CStr, dirfd: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: both strings are NUL-terminated.
    cvt_int(unsafe { libc::symlinkat(target.as_ptr(), dirfd, name.as_ptr()) }).map(drop)
}

/// `fchmodat2(fd, "", mode, AT_EMPTY_PATH)` (Linux 6.6): the object itself.
pub fn fchmod_path_fd(fd: BorrowedFd<'_>, mode: u32) -> io::Result<()> {
    // SAFETY: the path is a valid empty C string; the rest are integers.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fchmodat2,
            fd.as_raw_fd(),
            c"".as_ptr(),
            mode,
            libc::AT_EMPTY_PATH,
        )
    };
    cvt(r).map(drop)
}

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)`: the object itself.
pub fn fchown_path_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: the path is a valid empty C string; the rest are integers.
    cvt_int(unsafe { libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH) })
        .map(drop)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH)`: the object itself; `None`
/// sets both times to now.
pub fn utimens_path_fd(fd: BorrowedFd<'_>, times: Option<&[libc::timespec; 2]>) -> io::Result<()> {
    let p = times.map_or(std::ptr::null(), |t| t.as_ptr());
    // SAFETY: `p` is null or points to two timespecs; the path is a valid
    // empty C string.
    cvt_int(unsafe { libc::utimensat(fd.as_raw_fd(), c"".as_ptr(), p, libc::AT_EMPTY_PATH) })
        .map(drop)
}

/// `ftruncate(fd, len)`.
pub fn ftruncate(fd: BorrowedFd<'_>, len: i64) -> io::Result<()> {
    // SAFETY: integers only.
    cvt_int(unsafe { libc::ftruncate(fd.as_raw_fd(), len) }).map(drop)
}

/// The path `/proc/self/fd/N` of our descriptor `fd`, NUL-terminated in
/// `buf`. Followed, it is the object `fd` holds itself, even a symbolic link
/// (the kernel does not follow what a magic link jumps to): the way to the
/// path-only calls (`getxattr` and friends refuse `O_PATH` descriptors,
/// and so do the `*xattrat` calls with an empty path).
fn fd_magic<'b>(fd: BorrowedFd<'_>, buf: &'b mut [u8; 32]) -> &'b CStr {
    use std::io::Write as _;
    let mut cur = std::io::Cursor::new(&mut buf[..]);
    let _ = write!(cur, "/proc/self/fd/{}\0", fd.as_raw_fd());
    CStr::from_bytes_until_nul(buf).unwrap_or(c"/proc/self/fd/-1")
}

/// `getxattr` of the object `fd` holds: the value's length (with an empty
/// `buf`, the size it needs).
pub fn getxattr_fd(fd: BorrowedFd<'_>, name: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let mut p = [0u8; 32];
    let path = fd_magic(fd, &mut p);
    // SAFETY: `buf` is writable for its length; the strings are
    // NUL-terminated.
    let r = unsafe {
        libc::getxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// `listxattr` of the object `fd` holds.
pub fn listxattr_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut p = [0u8; 32];
    let path = fd_magic(fd, &mut p);
    // SAFETY: `buf` is writable for its length; the path is NUL-terminated.
    let r = unsafe { libc::listxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    Ok(usize::try_from(cvt(r as libc::c_long)?).unwrap_or(0))
}

/// `setxattr` of the object `fd` holds.
pub fn setxattr_fd(fd: BorrowedFd<'_>, name: &CStr, value: &[u8], flags: u32) -> io::Result<()> {
    let mut p = [0u8; 32];
    let path = fd_magic(fd, &mut p);
    // SAFETY: `value` is readable for its length; the strings are
    // NUL-terminated.
    let r = unsafe {
        libc::setxattr(
            path.as_ptr(),
            name.as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            flags.cast_signed(),
        )
    };
    cvt_int(r).map(drop)
}

/// `removexattr` of the object `fd` holds.
pub fn removexattr_fd(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    let mut p = [0u8; 32];
    let path = fd_magic(fd, &mut p);
    // SAFETY: both strings are NUL-terminated.
    cvt_int(unsafe { libc::removexattr(path.as_ptr(), name.as_ptr()) }).map(drop)
}

/// `lseek(fd, 0, SEEK_CUR)`: where a descriptor is.
pub fn lseek_cur(fd: BorrowedFd<'_>) -> io::Result<i64> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), 0, libc::SEEK_CUR) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(r)
}

/// `lseek(fd, at, SEEK_SET)`.
pub fn lseek_set(fd: BorrowedFd<'_>, at: i64) -> io::Result<()> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::lseek(fd.as_raw_fd(), at, libc::SEEK_SET) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `getdents64(fd, buf)` (`old` = the old `getdents` and its `struct
/// linux_dirent`): bytes of directory entries read.
pub fn getdents(fd: BorrowedFd<'_>, buf: &mut [u8], old: bool) -> io::Result<usize> {
    let nr = if old {
        libc::SYS_getdents
    } else {
        libc::SYS_getdents64
    };
    // SAFETY: `buf` is writable for its length.
    let r = unsafe { libc::syscall(nr, fd.as_raw_fd(), buf.as_mut_ptr(), buf.len()) };
    Ok(usize::try_from(cvt(r)?).unwrap_or(0))
}

/// `inotify_add_watch(fd, path, mask)`: the watch descriptor.
pub fn inotify_add_watch(fd: BorrowedFd<'_>, path: &CStr, mask: u32) -> io::Result<i32> {
    // SAFETY: `path` is NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn struct_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<SeccompData>(), 64);
        assert_eq!(std::mem::size_of::<SeccompNotif>(), 80);
        assert_eq!(std::mem::size_of::<SeccompNotifResp>(), 24);
        assert_eq!(std::mem::size_of::<SeccompNotifAddfd>(), 24);
        assert_eq!(std::mem::size_of::<OpenHow>(), OPEN_HOW_SIZE_VER0);
    }

    /// The ioctl numbers follow `_IOC(dir, '!', nr, size)`.
    #[test]
    fn ioctl_numbers_are_encoded_as_the_header_says() {
        fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
            (dir << 30) | ((size as u64) << 16) | (u64::from(b'!') << 8) | nr
        }
        let (w, rw) = (1, 3);
        assert_eq!(SECCOMP_IOCTL_NOTIF_RECV, ioc(rw, 0, 80));
        assert_eq!(SECCOMP_IOCTL_NOTIF_SEND, ioc(rw, 1, 24));
        assert_eq!(SECCOMP_IOCTL_NOTIF_ID_VALID, ioc(w, 2, 8));
        assert_eq!(SECCOMP_IOCTL_NOTIF_ADDFD, ioc(w, 3, 24));
        assert_eq!(SECCOMP_IOCTL_NOTIF_SET_FLAGS, ioc(w, 4, 8));
    }

    #[test]
    fn pidfd_thread_is_o_excl() {
        assert_eq!(PIDFD_THREAD, libc::O_EXCL as u32);
    }
}

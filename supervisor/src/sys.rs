//! The system calls of the supervisor that want more than a plain rustix
//! call: the wrappers the handlers share (with the errno values the kernel
//! gives, which the handlers pass on to the program), and every raw call.
//!
//! This is the only module of the `fdsup` crate allowed `unsafe`; past it,
//! descriptors are `OwnedFd`/`BorrowedFd` and memory is slices. Each wrapper
//! starts with the syscall it makes. The bodies are rustix's calls where
//! rustix has the call with the same semantics; the rest are raw calls on
//! libc's definitions (README, "Dependencies", says which and why). The
//! kernel ABI is libc's, re-exported under the names the handlers use and
//! pinned by the tests at the bottom.
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use rustix::process::{waitid, Pid, PidfdFlags, WaitId, WaitIdOptions, WaitOptions};

pub mod child;
pub mod net;
pub mod signal;
pub mod timer;

// ---- kernel ABI: libc's definitions ----------------------------------------

pub use libc::{
    seccomp_data as SeccompData, seccomp_notif as SeccompNotif,
    seccomp_notif_addfd as SeccompNotifAddfd, seccomp_notif_resp as SeccompNotifResp,
    RESOLVE_BENEATH, RESOLVE_CACHED, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
    RESOLVE_NO_XDEV,
};

/// `SECCOMP_USER_NOTIF_FLAG_CONTINUE`: the kernel runs the syscall.
#[allow(clippy::cast_possible_truncation)]
pub const SECCOMP_USER_NOTIF_FLAG_CONTINUE: u32 = libc::SECCOMP_USER_NOTIF_FLAG_CONTINUE as u32;
/// `SECCOMP_ADDFD_FLAG_SETFD`: install at `newfd`.
#[allow(clippy::cast_possible_truncation)]
pub const SECCOMP_ADDFD_FLAG_SETFD: u32 = libc::SECCOMP_ADDFD_FLAG_SETFD as u32;
/// `SECCOMP_ADDFD_FLAG_SEND`: install and answer in one step (Linux 5.14).
#[allow(clippy::cast_possible_truncation)]
pub const SECCOMP_ADDFD_FLAG_SEND: u32 = libc::SECCOMP_ADDFD_FLAG_SEND as u32;
/// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (linux/seccomp.h, Linux 6.6;
/// not in `libc`).
pub const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: u64 = 1;
/// `PIDFD_THREAD` (= `O_EXCL`, Linux 6.9): a pidfd for a thread, not a process.
pub const PIDFD_THREAD: u32 = libc::PIDFD_THREAD;
/// `OPEN_HOW_SIZE_VER0` (linux/openat2.h; not in `libc`): the first
/// published size of `struct open_how`.
pub const OPEN_HOW_SIZE_VER0: usize = 24;

/// A zeroed `struct seccomp_notif`, as `SECCOMP_IOCTL_NOTIF_RECV` wants it.
pub const fn notif_zeroed() -> SeccompNotif {
    SeccompNotif {
        id: 0,
        pid: 0,
        flags: 0,
        data: SeccompData {
            nr: 0,
            arch: 0,
            instruction_pointer: 0,
            args: [0; 6],
        },
    }
}

/// What `openat2` is asked (the fields of `struct open_how`, which is
/// `libc::open_how` in the kernel's layout; this is the value the handlers
/// build and compare, passed to rustix's `openat2` field by field).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpenHow {
    pub flags: u64,
    pub mode: u64,
    pub resolve: u64,
}

/// The errno of an error from a system call (EIO for one that has none:
/// an error made in Rust, which a program must still get as an errno).
pub fn errno_of(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// The low 32 bits of a syscall argument, as the kernel reads an `int`
/// (the upper half of the register is ignored for `int` parameters).
#[allow(clippy::cast_possible_truncation)]
pub fn low_i32(v: u64) -> i32 {
    v as u32 as i32
}

/// A directory descriptor number (or `AT_FDCWD`) as rustix's borrowed
/// descriptor, for one call. The path wrappers take `RawFd` so that
/// `AT_FDCWD` and the descriptors the handlers hold can be passed alike.
fn at<R>(dirfd: RawFd, f: impl FnOnce(BorrowedFd<'_>) -> R) -> R {
    // `-1` is not a valid `BorrowedFd`; the kernel answers any number that
    // is not open (or AT_FDCWD) alike, so it stands in for it.
    let dirfd = if dirfd == -1 { RawFd::MIN } else { dirfd };
    // SAFETY: the descriptor is only passed to the kernel by this one call,
    // while the caller still holds it (every caller passes a descriptor it
    // owns, or AT_FDCWD); a number that is not open gives EBADF, as the
    // raw system call would.
    f(unsafe { BorrowedFd::borrow_raw(dirfd) })
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

/// Runs the listener ioctl `f` again while a signal interrupts it
/// (`EINTR`). Every listener ioctl but `RECV` takes the listener's lock
/// interruptibly, and `ADDFD` then waits interruptibly for the task to
/// install the descriptor; interrupted, none has done anything (an `ADDFD`
/// whose install completed meanwhile returns its result, not `EINTR`), so
/// asking again is the same question. A thread of fdsup's that has a timer
/// of its own (one waiting on the program's behalf, `handlers::net::wait`)
/// is interrupted so whenever the lock is contended: an `EINTR` taken as
/// the answer made a waiting request look gone (answered `EACCES`), or lost
/// an answer.
fn ioctl_retrying(mut f: impl FnMut() -> libc::c_int) -> io::Result<libc::c_int> {
    loop {
        match cvt_int(f()) {
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => {}
            r => return r,
        }
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
    *buf = notif_zeroed();
    // SAFETY: `buf` is a valid, writable `struct seccomp_notif` of the size the
    // ioctl number encodes; the listener is a live descriptor.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_RECV,
            buf as *mut SeccompNotif,
        )
    };
    cvt_int(r).map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_SEND)`: answers a notification.
pub fn notif_send(listener: BorrowedFd<'_>, resp: &SeccompNotifResp) -> io::Result<()> {
    let mut r = *resp;
    ioctl_retrying(|| {
        // SAFETY: `r` is a valid `struct seccomp_notif_resp`; the kernel
        // reads it.
        unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut r as *mut _,
            )
        }
    })
    .map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_ID_VALID)`: is the notification still pending
/// (and so its task alive and its pid not reused)?
pub fn notif_id_valid(listener: BorrowedFd<'_>, id: u64) -> io::Result<()> {
    let mut id = id;
    ioctl_retrying(|| {
        // SAFETY: the ioctl reads one u64 from the pointer, which is valid.
        unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_ID_VALID,
                &mut id as *mut u64,
            )
        }
    })
    .map(drop)
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_ADDFD)`: installs `addfd.srcfd` in the task;
/// returns the number it got there.
pub fn notif_addfd(listener: BorrowedFd<'_>, addfd: &SeccompNotifAddfd) -> io::Result<i32> {
    let mut a = *addfd;
    ioctl_retrying(|| {
        // SAFETY: `a` is a valid `struct seccomp_notif_addfd`; the kernel
        // reads it.
        unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_ADDFD,
                &mut a as *mut _,
            )
        }
    })
}

/// `ioctl(SECCOMP_IOCTL_NOTIF_SET_FLAGS)`.
pub fn notif_set_flags(listener: BorrowedFd<'_>, flags: u64) -> io::Result<()> {
    // SAFETY: this ioctl takes its argument by value.
    let r = unsafe {
        libc::ioctl(
            listener.as_raw_fd(),
            libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS,
            flags,
        )
    };
    cvt_int(r).map(drop)
}

/// `poll(listener, POLLIN, 0)`: the events it reports now (empty for none).
fn listener_poll(listener: BorrowedFd<'_>) -> PollFlags {
    let mut p = [PollFd::new(&listener, PollFlags::IN)];
    match poll(&mut p, Some(&Timespec::default())) {
        Ok(n) if n > 0 => p[0].revents(),
        _ => PollFlags::empty(),
    }
}

/// True when no task uses the filter any more (POLLHUP).
pub fn listener_hung_up(listener: BorrowedFd<'_>) -> bool {
    listener_poll(listener).intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
}

/// True when notifications wait to be received (POLLIN).
pub fn listener_waiting(listener: BorrowedFd<'_>) -> bool {
    listener_poll(listener).contains(PollFlags::IN)
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
    let Some(pid) = Pid::from_raw(pid.max(0)) else {
        // pid 0 or negative: the kernel's own answer.
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    Ok(rustix::process::pidfd_open(
        pid,
        PidfdFlags::from_bits_retain(flags),
    )?)
}

/// `pidfd_getfd(pidfd, targetfd, 0)`: a duplicate of another task's descriptor.
pub fn pidfd_getfd(pidfd: BorrowedFd<'_>, targetfd: i32) -> io::Result<OwnedFd> {
    Ok(rustix::process::pidfd_getfd(
        pidfd,
        targetfd,
        rustix::process::PidfdGetfdFlags::empty(),
    )?)
}

/// How many CPUs this thread may run on (`sched_getaffinity`), at least 1;
/// 2 if that cannot be known.
pub fn affinity_cpus() -> usize {
    rustix::thread::sched_getaffinity(None).map_or(2, |set| set.count().max(1) as usize)
}

/// Moves this thread off the CPU it runs on, onto the next one it may run
/// on, and leaves its affinity as it was (the scheduler stays free to move
/// it again). Whether it moved: not where it may run on one CPU only, or
/// where the kernel refuses.
pub fn step_aside() -> bool {
    use rustix::thread::{sched_getaffinity, sched_getcpu, sched_setaffinity, CpuSet};
    let Ok(all) = sched_getaffinity(None) else {
        return false;
    };
    if all.count() < 2 {
        return false;
    }
    let here = sched_getcpu();
    let Some(other) = (here.saturating_add(1)..CpuSet::MAX_CPU)
        .chain(0..here.min(CpuSet::MAX_CPU))
        .find(|&i| all.is_set(i))
    else {
        return false;
    };
    let mut one = CpuSet::new();
    one.set(other);
    if sched_setaffinity(None, &one).is_err() {
        return false;
    }
    // Back to what it was; the thread stays where it now runs. Should this
    // fail (the cpuset changed meanwhile), the thread would stay on one CPU:
    // correct, if slower.
    let _ = sched_setaffinity(None, &all);
    true
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
    let mut flags = WaitIdOptions::EXITED;
    if nohang {
        flags |= WaitIdOptions::NOHANG;
    }
    // `None`: si_pid 0, nothing to report yet.
    let Some(st) = waitid(WaitId::PidFd(pidfd), flags)? else {
        return Ok(None);
    };
    Ok(Some(match st.exit_status() {
        Some(code) => (code, 0),
        None => (0, st.terminating_signal().unwrap_or(0)),
    }))
}

/// `waitid(P_PIDFD, pidfd, WSTOPPED | WNOHANG)`: the signal that stopped
/// the child, if it stopped since last asked (each stop is reported once).
pub fn stopped_pidfd(pidfd: BorrowedFd<'_>) -> io::Result<Option<i32>> {
    let st = waitid(
        WaitId::PidFd(pidfd),
        WaitIdOptions::STOPPED | WaitIdOptions::NOHANG,
    )?;
    Ok(st.and_then(|st| st.stopping_signal()))
}

/// `waitpid(-1, WNOHANG)`: reaps one child; `Ok(None)` when none is ready,
/// `Err(ECHILD)` when there are none at all.
pub fn reap_any() -> io::Result<Option<(i32, i32)>> {
    let r = rustix::process::wait(WaitOptions::NOHANG)?;
    Ok(r.map(|(pid, status)| (pid.as_raw_pid(), status.as_raw())))
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

/// `LANDLOCK_RULE_PATH_BENEATH` (include/uapi/linux/landlock.h).
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;

/// `struct landlock_path_beneath_attr`, packed as the kernel declares it.
#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, {access,
/// beneath}, 0)`: grants `access` (`LANDLOCK_ACCESS_FS_*`) beneath the file
/// or directory `beneath` (an `O_PATH` descriptor will do).
pub fn landlock_add_path_beneath(
    ruleset: BorrowedFd<'_>,
    beneath: BorrowedFd<'_>,
    access: u64,
) -> io::Result<()> {
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: beneath.as_raw_fd(),
    };
    // SAFETY: `attr` is a valid, initialised landlock_path_beneath_attr that
    // outlives the call; the kernel only reads it. The descriptors are
    // borrowed, so open for the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_PATH_BENEATH,
            std::ptr::from_ref(&attr),
            0u32,
        )
    };
    cvt(r).map(drop)
}

// ---- files ---------------------------------------------------------------------

/// `openat2(dirfd, path, how, sizeof how)`.
pub fn openat2(dirfd: RawFd, path: &CStr, how: &OpenHow) -> io::Result<OwnedFd> {
    // The kernel refuses flags or a mode past 32 bits before anything else.
    let (Ok(flags), Ok(mode)) = (u32::try_from(how.flags), u32::try_from(how.mode)) else {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    };
    at(dirfd, |d| {
        Ok(rustix::fs::openat2(
            d,
            path,
            OFlags::from_bits_retain(flags),
            Mode::from_bits_retain(mode),
            ResolveFlags::from_bits_retain(how.resolve),
        )?)
    })
}

/// `openat(dirfd, path, flags, mode)`.
pub fn openat(dirfd: RawFd, path: &CStr, flags: i32, mode: u32) -> io::Result<OwnedFd> {
    at(dirfd, |d| {
        Ok(rustix::fs::openat(
            d,
            path,
            OFlags::from_bits_retain(flags.cast_unsigned()),
            Mode::from_bits_retain(mode),
        )?)
    })
}

/// `readlinkat(dirfd, path, buf)`: bytes written (not NUL-terminated).
/// A result that fills `buf` is reported as ENAMETOOLONG.
pub fn readlinkat(dirfd: RawFd, path: &CStr, buf: &mut [u8]) -> io::Result<usize> {
    let len = buf.len();
    let n = at(dirfd, |d| rustix::fs::readlinkat_raw(d, path, &mut *buf))?;
    if n >= len {
        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
    }
    Ok(n)
}

/// `fstat(fd)`: the file mode bits (`st_mode`).
pub fn fstat_mode(fd: BorrowedFd<'_>) -> io::Result<u32> {
    Ok(rustix::fs::fstat(fd)?.st_mode)
}

/// `fstatat(dirfd, path, AT_SYMLINK_NOFOLLOW)`: device and inode.
pub fn lstat_id(dirfd: RawFd, path: &CStr) -> io::Result<(u64, u64)> {
    let st = at(dirfd, |d| {
        rustix::fs::statat(d, path, AtFlags::SYMLINK_NOFOLLOW)
    })?;
    Ok((st.st_dev, st.st_ino))
}

/// `stat(path)` following a final symbolic (or magic) link: device and
/// inode, in one system call where opening and `fstat` take three.
pub fn stat_id(path: &CStr) -> io::Result<(u64, u64)> {
    let st = rustix::fs::statat(rustix::fs::CWD, path, AtFlags::empty())?;
    Ok((st.st_dev, st.st_ino))
}

/// `fstat(fd)`: device, inode, mode and link count.
pub fn fstat_id(fd: BorrowedFd<'_>) -> io::Result<(u64, u64, u32, u64)> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_dev, st.st_ino, st.st_mode, st.st_nlink))
}

/// `openat(dirfd, path, O_PATH | O_NOFOLLOW | O_CLOEXEC)`: the object at
/// `path` itself, a symbolic link not followed.
pub fn open_path_nofollow(dirfd: RawFd, path: &CStr) -> io::Result<OwnedFd> {
    openat(
        dirfd,
        path,
        libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        0,
    )
}

/// `fstat(fd)`: the mode and the owner.
pub fn fstat_mode_uid(fd: BorrowedFd<'_>) -> io::Result<(u32, u32)> {
    let st = rustix::fs::fstat(fd)?;
    Ok((st.st_mode, st.st_uid))
}

/// `fstat(fd)`: the mode and, for a device, its number.
pub fn fstat_mode_rdev(fd: BorrowedFd<'_>) -> io::Result<(u32, u64)> {
    let st = rustix::fs::fstat(fd)?;
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
    Ok(rustix::pty::ioctl_tiocgptpeer(
        master,
        rustix::pty::OpenptFlags::from_bits_retain(flags.cast_unsigned()),
    )?)
}

/// `fstat(fd)`: the link count, if it can be read.
pub fn fstat_nlink(fd: BorrowedFd<'_>) -> Option<u64> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_nlink)
}

/// `setresuid(real, effective, -1)` (or `setresgid`, `group`) for the
/// calling thread only: the raw system call (glibc's wrappers change every
/// thread of the process). The saved id is left as it is, and so is the
/// real one where `real` is `u32::MAX` (-1).
pub fn set_thread_ids(real: u32, effective: u32, group: bool) -> io::Result<()> {
    let nr = if group {
        libc::SYS_setresgid
    } else {
        libc::SYS_setresuid
    };
    // SAFETY: integer arguments only; the call cannot fault.
    let r = unsafe {
        libc::syscall(
            nr,
            libc::c_long::from(real),
            libc::c_long::from(effective),
            -1 as libc::c_long,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// `setfsuid(uid)` (or `setfsgid`, `group`) for the calling thread only:
/// the raw system call (glibc's wrappers are per thread too, but say
/// nothing of failure). The call answers the previous value whether or not
/// it changed anything, so success is checked by asking again (`-1` is no
/// id and changes nothing).
pub fn set_thread_fs_id(id: u32, group: bool) -> io::Result<()> {
    let nr = if group {
        libc::SYS_setfsgid
    } else {
        libc::SYS_setfsuid
    };
    // SAFETY: integer arguments only; the call cannot fault.
    unsafe { libc::syscall(nr, libc::c_long::from(id)) };
    if thread_fs_id(group) == Some(id) {
        Ok(())
    } else {
        Err(io::Error::from_raw_os_error(libc::EPERM))
    }
}

/// The calling thread's file-system uid (or gid, `group`): `setfsuid(-1)`,
/// which changes nothing (-1 is no id) and answers the current value.
pub fn thread_fs_id(group: bool) -> Option<u32> {
    let nr = if group {
        libc::SYS_setfsgid
    } else {
        libc::SYS_setfsuid
    };
    // SAFETY: integer arguments only; the call cannot fault.
    u32::try_from(unsafe { libc::syscall(nr, -1 as libc::c_long) }).ok()
}

/// `fcntl(fd, F_GETFL)`: the file status flags and access mode.
pub fn getfl(fd: BorrowedFd<'_>) -> io::Result<i32> {
    Ok(rustix::fs::fcntl_getfl(fd)?.bits().cast_signed())
}

/// `fstatat(dirfd, path, AT_SYMLINK_NOFOLLOW)`: the file mode bits.
pub fn lstat_mode(dirfd: RawFd, path: &CStr) -> io::Result<u32> {
    let st = at(dirfd, |d| {
        rustix::fs::statat(d, path, AtFlags::SYMLINK_NOFOLLOW)
    })?;
    Ok(st.st_mode)
}

/// `faccessat2(dirfd, path, mode, flags)`.
pub fn faccessat2(dirfd: RawFd, path: &CStr, mode: i32, flags: i32) -> io::Result<()> {
    // SAFETY: `path` is NUL-terminated; the rest are integers.
    cvt(unsafe { libc::syscall(libc::SYS_faccessat2, dirfd, path.as_ptr(), mode, flags) }).map(drop)
}

/// `linkat(olddirfd, old, newdirfd, new, flags)`.
pub fn linkat(od: RawFd, old: &CStr, nd: RawFd, new: &CStr, flags: i32) -> io::Result<()> {
    let flags = AtFlags::from_bits_retain(flags.cast_unsigned());
    Ok(at(od, |od| {
        at(nd, |nd| rustix::fs::linkat(od, old, nd, new, flags))
    })?)
}

/// `renameat2(olddirfd, old, newdirfd, new, flags)`.
pub fn renameat2(od: RawFd, old: &CStr, nd: RawFd, new: &CStr, flags: u32) -> io::Result<()> {
    let flags = rustix::fs::RenameFlags::from_bits_retain(flags);
    Ok(at(od, |od| {
        at(nd, |nd| rustix::fs::renameat_with(od, old, nd, new, flags))
    })?)
}

/// `read(fd, buf)` once.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    Ok(rustix::io::read(fd, buf)?)
}

/// `write(fd, buf)` once; short writes are returned as is.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    Ok(rustix::io::write(fd, buf)?)
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
    use rustix::fs::MemfdFlags;
    Ok(rustix::fs::memfd_create(
        name,
        MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
    )?)
}

/// `fcntl(fd, F_ADD_SEALS, seals)`.
pub fn add_seals(fd: BorrowedFd<'_>, seals: i32) -> io::Result<()> {
    let seals = rustix::fs::SealFlags::from_bits_retain(seals.cast_unsigned());
    Ok(rustix::fs::fcntl_add_seals(fd, seals)?)
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
    rustix::thread::gettid().as_raw_pid()
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
    if pid < 0 {
        // No task has a negative pid: the kernel's answer.
        return Err(io::Error::from_raw_os_error(libc::ESRCH));
    }
    Ok(rustix::process::getpgid(Pid::from_raw(pid))?.as_raw_pid())
}

/// `getpgrp()`.
pub fn getpgrp() -> i32 {
    rustix::process::getpgrp().as_raw_pid()
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) -> io::Result<()> {
    // SAFETY: integer arguments.
    cvt_int(unsafe { libc::kill(pid, sig) }).map(drop)
}

/// `unshare(CLONE_FS)`: the calling thread takes a copy of the process's
/// root, working directory and umask as its own (`crate::fs::umask`).
pub fn unshare_fs() -> io::Result<()> {
    // SAFETY: CLONE_FS alone: this thread's own root, working directory and
    // umask, equal to the process's at the call; memory and the descriptor
    // table stay shared, so every descriptor Rust code holds is untouched.
    cvt_int(unsafe { libc::unshare(libc::CLONE_FS) }).map(drop)
}

/// `unshare(flags)` of namespaces (`CLONE_NEW*` only: rustix's is unsafe
/// for the sake of `CLONE_FILES`, which this refuses).
pub fn unshare(flags: i32) -> io::Result<()> {
    const NAMESPACES: i32 = libc::CLONE_NEWNS
        | libc::CLONE_NEWUSER
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWCGROUP;
    if flags & !NAMESPACES != 0 {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: new namespaces for this thread only; the descriptor table,
    // and so every descriptor Rust code holds, stays shared.
    cvt_int(unsafe { libc::unshare(flags) }).map(drop)
}

/// The home directory of user `uid` in `/etc/passwd`, if it has an entry
/// there.
///
/// Read directly, not through `getpwuid_r`: the `fdsup` binary is linked
/// statically (`scripts/rustc-wrapper`), and a static glibc's NSS loads the
/// shared modules of `nsswitch.conf` (`libnss_systemd`, `sssd`, LDAP) into
/// the process, which crashed it (found in review: HOME unset, a user not
/// in `/etc/passwd`). A user known only to another database must set
/// `HOME` for `${HOME}`.
pub fn home_of(uid: u32) -> Option<Vec<u8>> {
    let text = std::fs::read("/etc/passwd").ok()?;
    passwd_home(&text, uid)
}

/// The home field of `uid`'s line in passwd(5) text.
fn passwd_home(text: &[u8], uid: u32) -> Option<Vec<u8>> {
    text.split(|&b| b == b'\n').find_map(|line| {
        let f: Vec<&[u8]> = line.split(|&b| b == b':').collect();
        let id = std::str::from_utf8(f.get(2)?).ok()?.parse::<u32>().ok()?;
        (f.len() >= 7 && id == uid).then(|| f[5].to_vec())
    })
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
    rustix::process::geteuid().is_root()
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
    rustix::fs::fstatfs(fd).is_ok_and(|st| st.f_type == rustix::fs::PROC_SUPER_MAGIC)
}

/// Whether `fd` is on a read-only mount (`fstatfs` `ST_RDONLY`, as
/// `fstatvfs` reads it): the kernel's EROFS comes before some errors of the
/// last component.
pub fn on_read_only_mount(fd: BorrowedFd<'_>) -> bool {
    rustix::fs::fstatvfs(fd)
        .is_ok_and(|st| st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY))
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
    Ok(rustix::fs::readlinkat_raw(fd, c"", buf)?)
}

/// `mkdirat(dirfd, name, mode)`.
pub fn mkdirat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    Ok(at(dirfd, |d| {
        rustix::fs::mkdirat(d, name, Mode::from_bits_retain(mode))
    })?)
}

/// `mknodat(dirfd, name, mode, 0)` (regular files and FIFOs only).
pub fn mknodat(dirfd: RawFd, name: &CStr, mode: u32) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated; the rest are integers.
    cvt_int(unsafe { libc::mknodat(dirfd, name.as_ptr(), mode, 0) }).map(drop)
}

/// `unlinkat(dirfd, name, flags)`.
pub fn unlinkat(dirfd: RawFd, name: &CStr, flags: i32) -> io::Result<()> {
    let flags = AtFlags::from_bits_retain(flags.cast_unsigned());
    Ok(at(dirfd, |d| rustix::fs::unlinkat(d, name, flags))?)
}

/// `symlinkat(target, dirfd, name)`.
pub fn symlinkat(target: &CStr, dirfd: RawFd, name: &CStr) -> io::Result<()> {
    Ok(at(dirfd, |d| rustix::fs::symlinkat(target, d, name))?)
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

/// `fchownat(fd, "", uid, gid, AT_EMPTY_PATH)`: the object itself (`-1`
/// leaves that id as it is).
pub fn fchown_path_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> io::Result<()> {
    let uid = (uid != u32::MAX).then(|| rustix::fs::Uid::from_raw(uid));
    let gid = (gid != u32::MAX).then(|| rustix::fs::Gid::from_raw(gid));
    Ok(rustix::fs::chownat(fd, c"", uid, gid, AtFlags::EMPTY_PATH)?)
}

/// `utimensat(fd, "", times, AT_EMPTY_PATH)`: the object itself; `None`
/// sets both times to now (`UTIME_NOW` twice, which the kernel takes as
/// it takes a NULL `times`).
pub fn utimens_path_fd(fd: BorrowedFd<'_>, times: Option<&[libc::timespec; 2]>) -> io::Result<()> {
    use rustix::fs::{Timestamps, UTIME_NOW};
    let ts = |t: &libc::timespec| Timespec {
        tv_sec: t.tv_sec,
        tv_nsec: t.tv_nsec,
    };
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: UTIME_NOW,
    };
    let times = match times {
        Some([a, m]) => Timestamps {
            last_access: ts(a),
            last_modification: ts(m),
        },
        None => Timestamps {
            last_access: now,
            last_modification: now,
        },
    };
    Ok(rustix::fs::utimensat(fd, c"", &times, AtFlags::EMPTY_PATH)?)
}

/// `ftruncate(fd, len)`.
pub fn ftruncate(fd: BorrowedFd<'_>, len: i64) -> io::Result<()> {
    // A negative length goes to the kernel as it is (EINVAL there).
    Ok(rustix::fs::ftruncate(fd, len.cast_unsigned())?)
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
    // rustix answers an empty buffer with 0, not the kernel's size.
    if buf.is_empty() {
        return Ok(rustix::fs::getxattr_query(path, name)?);
    }
    Ok(rustix::fs::getxattr(path, name, buf)?)
}

/// `listxattr` of the object `fd` holds: the list's length (with an empty
/// `buf`, the size it needs).
pub fn listxattr_fd(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    let mut p = [0u8; 32];
    let path = fd_magic(fd, &mut p);
    if buf.is_empty() {
        return Ok(rustix::fs::listxattr_query(path)?);
    }
    Ok(rustix::fs::listxattr(path, buf)?)
}

/// `setxattr` of the object `fd` holds.
pub fn setxattr_fd(fd: BorrowedFd<'_>, name: &CStr, value: &[u8], flags: u32) -> io::Result<()> {
    let mut p = [0u8; 32];
    let flags = rustix::fs::XattrFlags::from_bits_retain(flags);
    Ok(rustix::fs::setxattr(
        fd_magic(fd, &mut p),
        name,
        value,
        flags,
    )?)
}

/// `ioctl(fd, request, arg)` for a request that only reads its argument
/// (an `_IOW` one), from `arg`: EINVAL where `arg` is shorter than the
/// size the request's number encodes, so that the kernel never reads past
/// it.
pub fn ioctl_in(fd: BorrowedFd<'_>, request: u32, arg: &[u8]) -> io::Result<()> {
    let size = usize::try_from((request >> 16) & 0x3fff).unwrap_or(usize::MAX);
    if size > arg.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `arg` is valid for reading at least the size the request
    // encodes (checked above), which bounds what an `_IOW` request reads;
    // nothing is written through the pointer.
    let r = unsafe { libc::ioctl(fd.as_raw_fd(), libc::c_ulong::from(request), arg.as_ptr()) };
    cvt_int(r).map(drop)
}

/// `removexattr` of the object `fd` holds.
pub fn removexattr_fd(fd: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    let mut p = [0u8; 32];
    Ok(rustix::fs::removexattr(fd_magic(fd, &mut p), name)?)
}

/// `lseek(fd, 0, SEEK_CUR)`: where a descriptor is.
pub fn lseek_cur(fd: BorrowedFd<'_>) -> io::Result<i64> {
    let at = rustix::fs::seek(fd, rustix::fs::SeekFrom::Current(0))?;
    Ok(at.cast_signed())
}

/// `lseek(fd, at, SEEK_SET)`.
pub fn lseek_set(fd: BorrowedFd<'_>, at: i64) -> io::Result<()> {
    // A negative offset goes to the kernel as it is (EINVAL there).
    rustix::fs::seek(fd, rustix::fs::SeekFrom::Start(at.cast_unsigned()))?;
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
    let mask = rustix::fs::inotify::WatchFlags::from_bits_retain(mask);
    Ok(rustix::fs::inotify::add_watch(fd, path, mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_home_reads_the_sixth_field_of_the_uid_s_line() {
        let text =
            b"root:x:0:0:root:/root:/bin/bash\n# comment\nbad\nu:x:1000:1000::/home/u:/bin/sh\n";
        assert_eq!(passwd_home(text, 1000).as_deref(), Some(&b"/home/u"[..]));
        assert_eq!(passwd_home(text, 0).as_deref(), Some(&b"/root"[..]));
        assert_eq!(passwd_home(text, 7), None);
    }

    #[test]
    fn struct_sizes_match_the_kernel() {
        assert_eq!(std::mem::size_of::<SeccompData>(), 64);
        assert_eq!(std::mem::size_of::<SeccompNotif>(), 80);
        assert_eq!(std::mem::size_of::<SeccompNotifResp>(), 24);
        assert_eq!(std::mem::size_of::<SeccompNotifAddfd>(), 24);
        assert_eq!(std::mem::size_of::<libc::open_how>(), OPEN_HOW_SIZE_VER0);
    }

    /// libc's ioctl numbers follow `_IOC(dir, '!', nr, size)`.
    #[test]
    fn ioctl_numbers_are_encoded_as_the_header_says() {
        fn ioc(dir: u64, nr: u64, size: usize) -> u64 {
            (dir << 30) | ((size as u64) << 16) | (u64::from(b'!') << 8) | nr
        }
        let (w, rw) = (1, 3);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_RECV, ioc(rw, 0, 80));
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_SEND, ioc(rw, 1, 24));
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_ID_VALID, ioc(w, 2, 8));
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_ADDFD, ioc(w, 3, 24));
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, ioc(w, 4, 8));
    }

    /// The home directory read through NSS is the one `/etc/passwd` gives
    /// (where the user is there), and a uid nobody has has none.
    #[test]
    fn home_of_reads_the_user_database() {
        let uid = rustix::process::getuid().as_raw();
        let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
        let listed = passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 5 && f[2] == uid.to_string()).then(|| f[5].as_bytes().to_vec())
        });
        if let Some(dir) = listed {
            assert_eq!(home_of(uid), Some(dir));
        }
        assert_eq!(home_of(u32::MAX - 7), None);
    }

    #[test]
    fn pidfd_thread_is_o_excl() {
        assert_eq!(PIDFD_THREAD, libc::O_EXCL.unsigned_abs());
    }
}

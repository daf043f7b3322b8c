//! The task that made a request: its memory, its descriptors, its `/proc` entry.
//!
//! A notification names its task by thread id. A number can be reused once the
//! task is gone, so nothing learnt through the number is trusted until the
//! notification is checked with `ID_VALID` *after* the last access by number
//! (the caller's job: see `handlers::open`). The pidfd is opened only when a
//! request names one of the program's descriptors (`pidfd_getfd`), and once it
//! is open and checked it pins the task; opens by absolute path never need it,
//! which keeps that path at one `process_vm_readv` and one `ID_VALID`.

use std::ffi::CStr;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicI32, Ordering};

use crate::limits::PROC_DIRS_PER_WORKER;
use crate::own_caps;
use crate::sys;

/// A descriptor number in the program's table: never to be used as ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteFd(i32);

impl RemoteFd {
    /// From the (int) syscall argument; `None` for negative values.
    pub fn from_arg(arg: u64) -> Option<Self> {
        let v = crate::sys::low_i32(arg);
        (v >= 0).then_some(Self(v))
    }

    /// The number.
    pub fn get(self) -> i32 {
        self.0
    }

    /// The number as the ADDFD ABI wants it.
    pub fn as_u32(self) -> u32 {
        self.0.unsigned_abs()
    }
}

/// A small stack buffer for `/proc/<n>/...` paths.
pub struct ProcPath {
    buf: [u8; 96],
}

impl ProcPath {
    /// `/proc/<pid><suffix>` (suffix starts with `/`, or is empty).
    pub fn new(pid: i32, suffix: &str) -> Self {
        Self::with_prefix("/proc/", pid, suffix)
    }

    /// `<prefix><n><suffix>`.
    pub fn with_prefix(prefix: &str, n: i32, suffix: &str) -> Self {
        let mut buf = [0u8; 96];
        let mut w = &mut buf[..95];
        // Cannot fail: the longest use is well under 95 bytes.
        let _ = write!(w, "{prefix}{n}{suffix}");
        Self { buf }
    }

    /// `/proc/<tid>/fd/<fd>`: the magic link of a task's descriptor.
    pub fn task_fd(tid: i32, fd: i32) -> Self {
        let mut buf = [0u8; 96];
        let mut w = &mut buf[..95];
        // Cannot fail: at most 36 bytes.
        let _ = write!(w, "/proc/{tid}/fd/{fd}");
        Self { buf }
    }

    /// As a C string.
    pub fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_until_nul(&self.buf).unwrap_or(c"/")
    }
}

/// The task behind one notification.
#[derive(Debug)]
pub struct Task {
    tid: i32,
    pidfd: Option<OwnedFd>,
}

/// Why reading the program's memory failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadError {
    /// The program passed a bad pointer: it gets `EFAULT`, as natively.
    Fault,
    /// No NUL within the limit: `ENAMETOOLONG`.
    TooLong,
    /// The task is gone or cannot be read.
    Gone,
}

impl Task {
    /// The task with thread id `tid` (from `seccomp_notif.pid`).
    pub fn new(tid: u32) -> Self {
        Self {
            tid: i32::try_from(tid).unwrap_or(i32::MAX),
            pidfd: None,
        }
    }

    /// Its thread id.
    pub fn tid(&self) -> i32 {
        self.tid
    }

    /// Reads exactly `buf.len()` bytes at `addr`.
    pub fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        match own_caps::with(|| sys::read_remote(self.tid, addr, buf)) {
            Ok(n) if n == buf.len() => Ok(()),
            Ok(_) => Err(ReadError::Fault),
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Err(ReadError::Fault),
            Err(_) => Err(ReadError::Gone),
        }
    }

    /// Reads what it can of `buf.len()` bytes at `addr`: the bytes before
    /// the first that faults (`Fault` if none could be read).
    pub fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        match own_caps::with(|| sys::read_remote(self.tid, addr, buf)) {
            Ok(0) if !buf.is_empty() => Err(ReadError::Fault),
            Ok(n) => Ok(n),
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Err(ReadError::Fault),
            Err(_) => Err(ReadError::Gone),
        }
    }

    /// Writes `data` at `addr` in the task's memory: the answer to a request
    /// that returns something through a buffer the program passed.
    pub fn write(&self, addr: u64, data: &[u8]) -> Result<(), ReadError> {
        if data.is_empty() {
            return Ok(());
        }
        match own_caps::with(|| sys::write_remote(self.tid, addr, data)) {
            Ok(n) if n == data.len() => Ok(()),
            Ok(_) => Err(ReadError::Fault),
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Err(ReadError::Fault),
            Err(_) => Err(ReadError::Gone),
        }
    }

    /// Writes as much of `data` at `addr` as the program's memory takes
    /// (up to the first page it cannot write); returns how much that was.
    pub fn write_prefix(&self, addr: u64, data: &[u8]) -> Result<usize, ReadError> {
        if data.is_empty() {
            return Ok(0);
        }
        match own_caps::with(|| sys::write_remote(self.tid, addr, data)) {
            Ok(n) => Ok(n),
            Err(e) if e.raw_os_error() == Some(libc::EFAULT) => Ok(0),
            Err(_) => Err(ReadError::Gone),
        }
    }

    /// Reads a NUL-terminated string at `addr` into `buf`, never asking for a
    /// page it does not need (a path at the end of a mapping must not fail
    /// because the next page is unmapped). Returns its length without the NUL.
    pub fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        own_caps::with(|| self.read_cstr_raised(addr, buf))
    }

    /// [`Task::read_cstr`], with whatever right to look fdsup has now.
    fn read_cstr_raised(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        const PAGE: u64 = 4096;
        let max = buf.len();
        let mut got = 0usize;
        while got < max {
            let a = addr.wrapping_add(got as u64);
            let mut chunk = usize::try_from(PAGE - (a & (PAGE - 1))).unwrap_or(4096);
            if got == 0 {
                chunk = chunk.min(256);
            }
            chunk = chunk.min(max - got);
            let n = match sys::read_remote(self.tid, a, &mut buf[got..got + chunk]) {
                Ok(0) => return Err(ReadError::Fault),
                Ok(n) => n,
                Err(e) if e.raw_os_error() == Some(libc::EFAULT) => return Err(ReadError::Fault),
                Err(_) => return Err(ReadError::Gone),
            };
            if let Some(z) = buf[got..got + n].iter().position(|&b| b == 0) {
                return Ok(got + z);
            }
            got += n;
        }
        Err(ReadError::TooLong)
    }

    /// A pidfd for the task (a thread pidfd where the kernel has
    /// `PIDFD_THREAD`, else one for its thread group). The caller must check
    /// `ID_VALID` after this before trusting it.
    pub fn pidfd(&mut self) -> io::Result<&OwnedFd> {
        if self.pidfd.is_none() {
            let fd = match sys::pidfd_open(self.tid, sys::PIDFD_THREAD) {
                Ok(fd) => fd,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    sys::pidfd_open(self.tgid()?, 0)?
                }
                Err(e) => return Err(e),
            };
            self.pidfd = Some(fd);
        }
        self.pidfd
            .as_ref()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
    }

    /// A duplicate of the program's descriptor `fd` (`pidfd_getfd`): the same
    /// open file description.
    pub fn get_fd(&mut self, fd: RemoteFd) -> io::Result<OwnedFd> {
        let pidfd = self.pidfd()?;
        own_caps::with(|| sys::pidfd_getfd(pidfd.as_fd(), fd.get()))
    }

    /// Reads the task's working directory path (`/proc/<tid>/cwd`) into `out`.
    pub fn cwd_path(&self, out: &mut Vec<u8>) -> io::Result<()> {
        own_caps::with(|| read_link(ProcPath::new(self.tid, "/cwd").as_cstr(), out))
    }

    /// Opens the task's working directory (`O_PATH`).
    pub fn open_cwd(&self) -> io::Result<OwnedFd> {
        own_caps::with(|| {
            sys::openat(
                libc::AT_FDCWD,
                ProcPath::new(self.tid, "/cwd").as_cstr(),
                libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
                0,
            )
        })
    }

    /// The task's umask, from `/proc/<tid>/status`.
    pub fn umask(&self) -> io::Result<u32> {
        let mut buf = [0u8; 2048];
        let fd = sys::openat(
            libc::AT_FDCWD,
            ProcPath::new(self.tid, "/status").as_cstr(),
            libc::O_RDONLY | libc::O_CLOEXEC,
            0,
        )?;
        let n = sys::read(fd.as_fd(), &mut buf)?;
        let text = &buf[..n];
        let line = status_field(text, b"Umask:")
            .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        let s =
            std::str::from_utf8(line).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        u32::from_str_radix(s.trim(), 8).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
    }

    /// The task's thread-group id and thread id as its own pid namespace
    /// numbers them (the last of `NStgid:` and `NSpid:` in
    /// `/proc/<tid>/status`): what its `/proc/self` is in a container.
    pub fn ns_ids(&self) -> io::Result<(i32, i32)> {
        let status = std::fs::read(format!("/proc/{}/status", self.tid))?;
        let last = |key: &[u8]| -> Option<i32> {
            std::str::from_utf8(status_field(&status, key)?)
                .ok()?
                .split_ascii_whitespace()
                .last()?
                .parse()
                .ok()
        };
        match (last(b"NStgid:"), last(b"NSpid:")) {
            (Some(tgid), Some(tid)) => Ok((tgid, tid)),
            _ => Err(io::Error::from_raw_os_error(libc::ESRCH)),
        }
    }

    /// The thread-group id (process id) of the task, from `/proc/<tid>/status`.
    pub fn tgid(&self) -> io::Result<i32> {
        let status = std::fs::read(format!("/proc/{}/status", self.tid))?;
        field_after(&status, b"Tgid:").ok_or_else(|| io::Error::from_raw_os_error(libc::ESRCH))
    }
}

/// Descriptors of `/proc/<tid>` for the tasks a worker served last, so that
/// a task's working directory and descriptors are read relative to its
/// directory: `readlinkat(dir, "fd/3")` costs half of
/// `readlink("/proc/<tid>/fd/3")` here (2.2 against 4.7 µs), which looks up
/// the task and checks access on every call.
///
/// A descriptor of `/proc/<tid>` is bound to the task it was opened for, not
/// to the number: once that task is gone, lookups under it fail with ENOENT
/// even if a new task got the number, so a failure through a cached
/// directory is retried once through a fresh one, and a cached directory can
/// never answer for another task.
#[derive(Debug)]
pub struct ProcDirs {
    slots: [(i32, Option<OwnedFd>); PROC_DIRS_PER_WORKER],
    next: usize,
}

impl Default for ProcDirs {
    fn default() -> Self {
        Self::new()
    }
}

impl ProcDirs {
    /// An empty cache.
    pub fn new() -> Self {
        Self {
            slots: std::array::from_fn(|_| (0, None)),
            next: 0,
        }
    }

    /// `/proc/<tid>`, and whether it was just opened.
    fn dir(&mut self, tid: i32) -> io::Result<(RawFd, bool)> {
        if let Some((_, Some(fd))) = self.slots.iter().find(|(t, fd)| *t == tid && fd.is_some()) {
            return Ok((fd.as_raw_fd(), false));
        }
        let fd = sys::openat(
            libc::AT_FDCWD,
            ProcPath::new(tid, "").as_cstr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )?;
        let raw = fd.as_raw_fd();
        let i = self.next;
        self.next = (i + 1) % PROC_DIRS_PER_WORKER;
        self.slots[i] = (tid, Some(fd));
        Ok((raw, true))
    }

    /// Forgets `tid`'s directory.
    fn forget(&mut self, tid: i32) {
        for slot in &mut self.slots {
            if slot.0 == tid {
                *slot = (0, None);
            }
        }
    }

    /// `f(dir)` with `/proc/<tid>` as `dir`, retried once through a freshly
    /// opened directory when a cached one fails.
    pub fn with<T>(&mut self, tid: i32, f: impl FnMut(RawFd) -> io::Result<T>) -> io::Result<T> {
        own_caps::with(|| self.with_raised(tid, f))
    }

    /// [`ProcDirs::with`], with whatever right to look fdsup has now.
    fn with_raised<T>(
        &mut self,
        tid: i32,
        mut f: impl FnMut(RawFd) -> io::Result<T>,
    ) -> io::Result<T> {
        let (dir, fresh) = self.dir(tid)?;
        match f(dir) {
            Err(_) if !fresh => {
                self.forget(tid);
                let (dir, _) = self.dir(tid)?;
                f(dir)
            }
            r => r,
        }
    }

    /// `readlinkat(/proc/<tid>, rel)` into `out`, as [`read_link`].
    pub fn read_link(&mut self, tid: i32, rel: &CStr, out: &mut Vec<u8>) -> io::Result<()> {
        self.with(tid, |dir| read_link_at(dir, rel, out))
    }
}

/// `readlink(path)` into `out` (cleared first), without allocating when `out`
/// has room for `PATH_MAX` bytes.
pub fn read_link(path: &CStr, out: &mut Vec<u8>) -> io::Result<()> {
    read_link_at(libc::AT_FDCWD, path, out)
}

/// `readlinkat(dir, path)` into `out`, as [`read_link`].
pub fn read_link_at(dir: RawFd, path: &CStr, out: &mut Vec<u8>) -> io::Result<()> {
    out.clear();
    out.resize(libc::PATH_MAX as usize + 1, 0);
    match sys::readlinkat(dir, path, out) {
        Ok(n) => {
            out.truncate(n);
            Ok(())
        }
        Err(e) => {
            out.clear();
            Err(e)
        }
    }
}

/// The path of one of our own descriptors, as the kernel spells it
/// (`readlink /proc/self/fd/N`).
pub fn fd_path(fd: std::os::fd::BorrowedFd<'_>, out: &mut Vec<u8>) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    read_link(
        ProcPath::with_prefix("/proc/self/fd/", fd.as_raw_fd(), "").as_cstr(),
        out,
    )
}

/// The value of field `key` (`Tgid:`, ...) of a `/proc/<tid>/status` text:
/// the rest of the line that starts with it. Only at a line's start: the
/// first line is `Name:\t<comm>`, which the program sets itself
/// (`PR_SET_NAME`), so a search anywhere would find a `Tgid: 1` of its
/// making (the kernel escapes a newline in the name, not the rest).
pub(crate) fn status_field<'t>(text: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    text.split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(key))
}

fn field_after(text: &[u8], key: &[u8]) -> Option<i32> {
    std::str::from_utf8(status_field(text, key)?)
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// The parent pid of process or thread `pid`, from `/proc/<pid>/stat`.
pub fn parent_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    parent_in_stat(&stat)
}

/// The pid in the text of a `/proc/<pid>/stat` (its first field).
fn pid_in_stat(stat: &[u8]) -> Option<i32> {
    let end = stat.iter().position(|&b| b == b' ')?;
    std::str::from_utf8(&stat[..end]).ok()?.parse().ok()
}

/// The parent pid in the text of a `/proc/<pid>/stat`.
fn parent_in_stat(stat: &[u8]) -> Option<i32> {
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let mut fields = std::str::from_utf8(&stat[close + 1..])
        .ok()?
        .split_ascii_whitespace();
    let _state = fields.next()?;
    fields.next()?.parse().ok()
}

/// The pid of the binder (`handlers::net`'s helper that binds Unix socket
/// paths), once started (0 before): our child, but not part of the sandbox.
/// Kept here, where the sandbox's processes are told apart, so that `task`
/// does not reach up into the handlers.
static BINDER_PID: AtomicI32 = AtomicI32::new(0);

/// Records the binder's pid (see [`in_sandbox`]).
pub fn set_binder(pid: i32) {
    BINDER_PID.store(pid, Ordering::Relaxed);
}

/// Whether `pid` is the binder.
pub fn is_binder(pid: i32) -> bool {
    pid != 0 && BINDER_PID.load(Ordering::Relaxed) == pid
}

/// Is `pid` (a process or thread id in our pid namespace) inside the sandbox,
/// that is a descendant of the supervisor `sup`? Every sandboxed process
/// descends from the shim, our child, and orphans are re-parented to us (we
/// are a child subreaper), so the parent chain of a sandboxed process always
/// reaches `sup`, and that of any other process never does.
pub fn in_sandbox(pid: i32, sup: i32) -> bool {
    if pid <= 0 || pid == sup {
        return false;
    }
    let mut p = pid;
    for _ in 0..4096 {
        match parent_of(p) {
            // fdsup's own helper is its child too, but not the sandbox's.
            Some(pp) if pp == sup => return !is_binder(p),
            Some(pp) if pp > 1 => p = pp,
            _ => return false,
        }
    }
    false
}

/// [`in_sandbox`] for the process whose `/proc/<pid>` directory `dir` holds
/// open. A pid alone can be reused between a check and the open it
/// vouches for; a directory of `/proc/<pid>` stays that process's (reads
/// fail once it is gone), so the first step, the only one a reused pid
/// could fool, is read through it. (An ancestor that dies re-parents its
/// children to the supervisor, a child subreaper: the rest of the chain
/// cannot lead outside to inside.)
pub fn in_sandbox_at(dir: std::os::fd::BorrowedFd<'_>, sup: i32) -> bool {
    use std::io::Read as _;
    use std::os::fd::AsRawFd;
    let Ok(fd) = crate::sys::openat(
        dir.as_raw_fd(),
        c"stat",
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    ) else {
        return false;
    };
    let mut stat = Vec::with_capacity(512);
    if std::fs::File::from(fd).read_to_end(&mut stat).is_err() {
        return false;
    }
    match parent_in_stat(&stat) {
        Some(pp) if pp == sup => !pid_in_stat(&stat).is_some_and(is_binder),
        Some(pp) if pp > 1 => in_sandbox(pp, sup),
        _ => false,
    }
}

/// All processes that descend from `sup` (not `sup` itself), from a scan of
/// `/proc`. Used at shutdown to kill what the program left behind.
pub fn descendants(sup: i32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut parents = Vec::new();
    for e in dir.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if let Some(pp) = parent_of(pid) {
            parents.push((pid, pp));
        }
    }
    // Children by parent: one pass, not one over every process for each
    // (a program that left 25,000 processes behind made each look take
    // seconds, and the kill gives up after ten).
    let mut children: std::collections::HashMap<i32, Vec<i32>> =
        std::collections::HashMap::with_capacity(parents.len());
    for &(c, pp) in &parents {
        if c != sup {
            children.entry(pp).or_default().push(c);
        }
    }
    let mut out: Vec<i32> = Vec::new();
    let mut frontier = vec![sup];
    while let Some(p) = frontier.pop() {
        // Each process has one parent: taken once, none is seen twice.
        for c in children.remove(&p).unwrap_or_default() {
            out.push(c);
            frontier.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_paths_format_without_allocation() {
        assert_eq!(ProcPath::new(42, "/cwd").as_cstr(), c"/proc/42/cwd");
        assert_eq!(
            ProcPath::with_prefix("/proc/self/fd/", 7, "").as_cstr(),
            c"/proc/self/fd/7"
        );
    }

    #[test]
    fn status_fields_are_read_at_a_line_start_only() {
        // A name of the program's making that looks like fields.
        let forged = b"Name:\tTgid: 1 Umask: 0777\nUmask:\t0022\nState:\tR\nTgid:\t4242\nNgid:\t0\nPid:\t4243\nNStgid:\t4242\t7\n";
        assert_eq!(field_after(forged, b"Tgid:"), Some(4242));
        assert_eq!(status_field(forged, b"Umask:"), Some(&b"\t0022"[..]));
        assert_eq!(status_field(forged, b"NStgid:"), Some(&b"\t4242\t7"[..]));
        assert_eq!(field_after(b"Name:\tTgid:\t1\n", b"Tgid:"), None);
    }

    /// The live check: this thread renamed `Tgid: 1` still reads as its
    /// own process, and its umask is its own.
    #[test]
    fn a_forged_name_does_not_change_what_status_says() {
        let t = std::thread::spawn(|| {
            rustix::thread::set_name(c"Tgid: 1 Umask:").expect("PR_SET_NAME");
            let task = Task::new(sys::gettid().cast_unsigned());
            (task.tgid().ok(), task.umask().is_ok())
        });
        let (tgid, umask) = t.join().expect("thread");
        assert_eq!(tgid, Some(std::process::id().cast_signed()));
        assert!(umask);
    }

    #[test]
    fn remote_fd_rejects_negative_numbers() {
        assert!(RemoteFd::from_arg(u64::from((-100i32).cast_unsigned())).is_none());
        assert_eq!(RemoteFd::from_arg(3).map(RemoteFd::get), Some(3));
        // Only the low 32 bits of an int argument count.
        assert_eq!(
            RemoteFd::from_arg(0xffff_ffff_0000_0005).map(RemoteFd::get),
            Some(5)
        );
    }

    #[test]
    fn proc_dirs_read_through_the_task_and_never_answer_for_a_dead_one() {
        let mut dirs = ProcDirs::new();
        let me = sys::gettid();
        let mut out = Vec::new();
        dirs.read_link(me, c"cwd", &mut out).expect("own cwd");
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(out, cwd.as_os_str().as_encoded_bytes());
        // Cached now: a second read goes through the same directory.
        dirs.read_link(me, c"cwd", &mut out)
            .expect("own cwd, cached");
        assert_eq!(out, cwd.as_os_str().as_encoded_bytes());
        // A child's directory, cached while it lives, answers nothing once
        // it is gone (even retried through a fresh open).
        let mut child = std::process::Command::new("/bin/sleep")
            .arg("30")
            .current_dir("/")
            .spawn()
            .expect("sleep");
        let pid = i32::try_from(child.id()).expect("pid");
        dirs.read_link(pid, c"cwd", &mut out).expect("child cwd");
        assert_eq!(out, b"/");
        child.kill().expect("kill");
        child.wait().expect("wait");
        assert!(dirs.read_link(pid, c"cwd", &mut out).is_err());
        // Many tasks: the cache stays bounded and correct.
        for _ in 0..2 * PROC_DIRS_PER_WORKER {
            dirs.read_link(me, c"cwd", &mut out).expect("own cwd");
        }
        assert!(
            dirs.slots
                .iter()
                .filter(|(t, fd)| *t == me && fd.is_some())
                .count()
                <= 1
        );
    }

    #[test]
    fn reads_own_umask() {
        let t = Task::new(sys::gettid().unsigned_abs());
        let mask = t.umask().expect("umask");
        assert!(mask <= 0o777);
    }

    #[test]
    fn reads_own_memory_and_cwd() {
        let t = Task::new(sys::gettid().unsigned_abs());
        let s = b"hello\0world";
        let mut buf = [0u8; 64];
        let n = t.read_cstr(s.as_ptr() as u64, &mut buf).expect("read");
        assert_eq!(&buf[..n], b"hello");
        let mut cwd = Vec::new();
        t.cwd_path(&mut cwd).expect("cwd");
        assert_eq!(
            cwd,
            std::env::current_dir()
                .expect("cwd")
                .as_os_str()
                .as_encoded_bytes()
        );
        assert_eq!(
            t.tgid().expect("tgid"),
            i32::try_from(std::process::id()).expect("pid")
        );
        // In our own pid namespace, the namespace's numbers are ours.
        assert_eq!(
            t.ns_ids().expect("ns ids"),
            (
                i32::try_from(std::process::id()).expect("pid"),
                sys::gettid()
            )
        );
    }

    #[test]
    fn own_parent_is_not_in_our_sandbox() {
        let me = i32::try_from(std::process::id()).expect("pid");
        assert!(!in_sandbox(1, me));
        assert!(!in_sandbox(me, me));
    }
}

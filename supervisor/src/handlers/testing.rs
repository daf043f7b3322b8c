//! A program and a run for the handlers' unit tests, with no kernel
//! notification and no sandboxed process: a [`Fake`] program whose memory
//! is a few byte regions at made-up addresses (anything else faults),
//! whose working directory and descriptors are what the test gives it, and
//! whose notification stays valid until the test says it died; what is
//! learnt of it by number in `/proc` (its ids, its `/proc/self`) is the
//! test thread's. A [`Run`] is a policy over a scratch directory, with its
//! audit log, that hands a request to [`super::handle_as`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::CString;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use super::program::{Memory, Program};
use super::{Ctx, Reply, Scratch};
use crate::audit::Audit;
use crate::task::{ProcDirs, ReadError, RemoteFd, Task};

/// A directory removed when dropped.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    /// A fresh, empty directory (canonical path).
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join(format!(
            "fdsup-handler-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        Self(std::fs::canonicalize(&base).unwrap())
    }

    /// `self/rel`.
    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel)
    }

    /// The path as text.
    pub fn str(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Where the fake program's memory starts; each region is put a page
/// apart from the last, so that one never runs into the next.
const FIRST_ADDR: u64 = 0x10_0000;

/// The fake program.
pub struct Fake {
    task: Task,
    /// (address, bytes): its memory.
    mem: RefCell<Vec<(u64, Vec<u8>)>>,
    next: Cell<u64>,
    /// Its `/proc/<tid>`: a directory with `cwd` and `fd/N` symbolic links.
    proc: ScratchDir,
    cwd: PathBuf,
    fds: HashMap<i32, OwnedFd>,
    umask: u32,
    valid: Cell<bool>,
}

impl Fake {
    /// A program whose working directory is `cwd`.
    pub fn new(cwd: &Path) -> Self {
        let proc = ScratchDir::new("proc");
        std::fs::create_dir(proc.join("fd")).unwrap();
        std::os::unix::fs::symlink(cwd, proc.join("cwd")).unwrap();
        let tid = u32::try_from(crate::sys::gettid()).unwrap();
        Self {
            task: Task::new(tid),
            mem: RefCell::new(Vec::new()),
            next: Cell::new(FIRST_ADDR),
            proc,
            cwd: cwd.to_path_buf(),
            fds: HashMap::new(),
            umask: 0o022,
            valid: Cell::new(true),
        }
    }

    /// Puts `bytes` in its memory; returns their address.
    pub fn put(&self, bytes: &[u8]) -> u64 {
        let at = self.next.get();
        let span = (bytes.len() as u64).div_ceil(4096) * 4096 + 4096;
        self.next.set(at + span);
        self.mem.borrow_mut().push((at, bytes.to_vec()));
        at
    }

    /// Puts `s` and its NUL.
    pub fn put_cstr(&self, s: &[u8]) -> u64 {
        let mut v = s.to_vec();
        v.push(0);
        self.put(&v)
    }

    /// A zeroed buffer of `len` bytes.
    pub fn buffer(&self, len: usize) -> u64 {
        self.put(&vec![0; len])
    }

    /// The `len` bytes at `addr` (a test's look at what a handler wrote).
    pub fn peek(&self, addr: u64, len: usize) -> Vec<u8> {
        let mut v = vec![0; len];
        self.read_exact(addr, &mut v).unwrap();
        v
    }

    /// Gives it descriptor `n` for `path` (opened `O_PATH`, as held).
    pub fn open_fd(&mut self, n: i32, path: &Path) {
        let c = CString::new(path.as_os_str().as_bytes()).unwrap();
        let fd = crate::sys::openat(libc::AT_FDCWD, &c, libc::O_PATH | libc::O_CLOEXEC, 0).unwrap();
        self.give_fd(n, fd, path);
    }

    /// Gives it `fd` as its descriptor `n`, which `/proc` shows as `path`.
    pub fn give_fd(&mut self, n: i32, fd: OwnedFd, path: &Path) {
        let link = self.proc.join(&format!("fd/{n}"));
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(path, link).unwrap();
        self.fds.insert(n, fd);
    }

    /// Its umask.
    pub fn set_umask(&mut self, mask: u32) {
        self.umask = mask;
    }

    /// From now on, its notification is no longer valid (it died).
    pub fn die(&self) {
        self.valid.set(false);
    }

    /// The region holding `[addr, addr + len)`, and the offset in it.
    fn find(&self, addr: u64) -> Option<(usize, usize)> {
        let mem = self.mem.borrow();
        mem.iter().enumerate().find_map(|(i, (at, bytes))| {
            let off = addr.checked_sub(*at)?;
            (off < bytes.len() as u64).then(|| (i, usize::try_from(off).unwrap()))
        })
    }
}

impl Memory for Fake {
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        if buf.is_empty() {
            return Ok(());
        }
        let n = self.read_some(addr, buf)?;
        if n == buf.len() {
            Ok(())
        } else {
            Err(ReadError::Fault)
        }
    }

    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        let (i, off) = self.find(addr).ok_or(ReadError::Fault)?;
        let mem = self.mem.borrow();
        let src = &mem[i].1[off..];
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        Ok(n)
    }

    fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        let (i, off) = self.find(addr).ok_or(ReadError::Fault)?;
        let mem = self.mem.borrow();
        let src = &mem[i].1[off..];
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        match buf[..n].iter().position(|&b| b == 0) {
            Some(z) => Ok(z),
            None if n == buf.len() => Err(ReadError::TooLong),
            None => Err(ReadError::Fault),
        }
    }

    fn write(&self, addr: u64, data: &[u8]) -> Result<(), ReadError> {
        if data.is_empty() {
            return Ok(());
        }
        let (i, off) = self.find(addr).ok_or(ReadError::Fault)?;
        let mut mem = self.mem.borrow_mut();
        let dst = &mut mem[i].1[off..];
        if dst.len() < data.len() {
            return Err(ReadError::Fault);
        }
        dst[..data.len()].copy_from_slice(data);
        Ok(())
    }

    fn write_prefix(&self, addr: u64, data: &[u8]) -> Result<usize, ReadError> {
        let Some((i, off)) = self.find(addr) else {
            return Ok(0);
        };
        let mut mem = self.mem.borrow_mut();
        let dst = &mut mem[i].1[off..];
        let n = dst.len().min(data.len());
        dst[..n].copy_from_slice(&data[..n]);
        Ok(n)
    }
}

impl Program for Fake {
    fn task(&self) -> &Task {
        &self.task
    }

    fn umask(&self) -> io::Result<u32> {
        Ok(self.umask)
    }

    fn in_proc<T>(
        &mut self,
        _procs: &mut ProcDirs,
        mut f: impl FnMut(RawFd) -> io::Result<T>,
    ) -> io::Result<T> {
        let c = CString::new(self.proc.0.as_os_str().as_bytes()).unwrap();
        let dir = crate::sys::openat(
            libc::AT_FDCWD,
            &c,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )?;
        f(dir.as_raw_fd())
    }

    fn open_cwd(&self) -> io::Result<OwnedFd> {
        let c = CString::new(self.cwd.as_os_str().as_bytes())
            .map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        crate::sys::openat(
            libc::AT_FDCWD,
            &c,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        )
    }

    fn get_fd(&mut self, fd: RemoteFd) -> io::Result<OwnedFd> {
        match self.fds.get(&fd.get()) {
            Some(f) => f.as_fd().try_clone_to_owned(),
            None => Err(io::Error::from_raw_os_error(libc::EBADF)),
        }
    }

    fn vouch(&self) -> bool {
        self.valid.get()
    }
}

/// A policy over a scratch directory, and what handles requests under it.
pub struct Run {
    /// The scratch directory (`${D}` in the rules).
    pub dir: ScratchDir,
    /// The run's context.
    pub ctx: Ctx,
    /// The worker's buffers.
    pub sc: Scratch,
    log: PathBuf,
    _logdir: ScratchDir,
}

impl Run {
    /// A run whose file-system section is `default` and `rules` (JSON
    /// objects, `${D}` standing for the scratch directory), and whose
    /// `network` section has `network` (its members; none if empty);
    /// every decision is logged.
    pub fn with_network(default: &str, rules: &str, network: &str) -> Self {
        let network = if network.is_empty() {
            String::new()
        } else {
            format!("\"network\": {{{network}}}")
        };
        Self::with_sections(default, rules, &network)
    }

    /// The same with other top-level sections: `sections` are JSON object
    /// members (`"exec": {...}`), `${D}` standing for the scratch
    /// directory.
    pub fn with_sections(default: &str, rules: &str, sections: &str) -> Self {
        let dir = ScratchDir::new("run");
        let logdir = ScratchDir::new("log");
        let rules = rules.replace("${D}", dir.str());
        let sections = sections.replace("${D}", dir.str());
        let sections = if sections.is_empty() {
            String::new()
        } else {
            format!(", {sections}")
        };
        let text = format!(
            "{{\"version\": 1, \"filesystem\": {{\"default\": \"{default}\", \"rules\": [{rules}]}}{sections}}}"
        );
        let file = logdir.join("policy.json");
        std::fs::write(&file, text).unwrap();
        let vars = crate::policy::Vars {
            cwd: dir.str().into(),
            home: "/nonexistent-home".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        };
        let policy = crate::policy::load(file.to_str().unwrap(), &vars).unwrap();
        let log = logdir.join("audit.jsonl");
        let audit = Audit::new(Some(&log), true, true, false).unwrap();
        let ctx = Ctx::new(policy, audit).unwrap();
        Self {
            dir,
            ctx,
            sc: Scratch::new(),
            log,
            _logdir: logdir,
        }
    }

    /// The run most handler tests use: a scratch directory `D`, unruled
    /// (the section's default denies), with a directory per access and a
    /// file `f` in each holding its name; `D/other`; a `content` and a
    /// `redirect` (to `D/rw/target`) rule; `rw/link` -> `f`,
    /// `rw/dangling` -> nowhere, and `rw/sub/`.
    pub fn fixture() -> Self {
        Self::fixture_with_sections("")
    }

    /// [`Run::fixture`] with a `network` section (its members).
    pub fn fixture_with_network(network: &str) -> Self {
        Self::fixture_with_sections(&format!("\"network\": {{{network}}}"))
    }

    /// [`Run::fixture`] with other top-level sections (see
    /// [`Run::with_sections`]).
    pub fn fixture_with_sections(sections: &str) -> Self {
        let r = Self::with_sections(
            "deny",
            r#"{"path": "${D}/ro", "access": "ro"},
            {"path": "${D}/rw", "access": "rw"},
            {"path": "${D}/deny", "access": "deny"},
            {"path": "${D}/hide", "access": "hide"},
            {"path": "${D}/content", "content": "served\n"},
            {"path": "${D}/redirect", "redirect": "${D}/rw/target"}"#,
            sections,
        );
        for d in ["ro", "rw", "deny", "hide"] {
            std::fs::create_dir(r.dir.join(d)).unwrap();
            std::fs::write(r.dir.join(&format!("{d}/f")), d).unwrap();
        }
        std::fs::write(r.dir.join("other"), "other").unwrap();
        std::fs::write(r.dir.join("rw/target"), "target").unwrap();
        std::fs::create_dir(r.dir.join("rw/sub")).unwrap();
        std::os::unix::fs::symlink("f", r.dir.join("rw/link")).unwrap();
        std::os::unix::fs::symlink("nowhere", r.dir.join("rw/dangling")).unwrap();
        r
    }

    /// Handles syscall `nr` with arguments `args` from `p`.
    pub fn call(&mut self, p: &mut Fake, nr: i64, args: &[u64]) -> Reply {
        let m = crate::syscalls::lookup(i32::try_from(nr).unwrap()).unwrap();
        let mut a = [0u64; 6];
        a[..args.len()].copy_from_slice(args);
        super::handle_as(&self.ctx, p, a, m, &mut self.sc)
    }

    /// A program in the scratch directory.
    pub fn program(&self) -> Fake {
        Fake::new(&self.dir.0)
    }

    /// The path `rel` in the scratch directory, as bytes.
    pub fn path(&self, rel: &str) -> Vec<u8> {
        if rel.is_empty() {
            return self.dir.0.as_os_str().as_bytes().to_vec();
        }
        self.dir.join(rel).as_os_str().as_bytes().to_vec()
    }

    /// The audit log's lines so far.
    pub fn log(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// The last line of the audit log.
    pub fn last_log(&self) -> String {
        self.log().pop().unwrap_or_default()
    }
}

/// The errno of a refusal, or `None` (and what else it was) for anything
/// else.
pub fn errno(r: &Reply) -> Option<i32> {
    match r {
        Reply::Errno(e) => Some(*e),
        _ => None,
    }
}

/// The descriptor a reply hands over, if any.
pub fn fd_of(r: &Reply) -> Option<std::os::fd::BorrowedFd<'_>> {
    match r {
        Reply::Fd { fd, .. } | Reply::FifoFd { fd, .. } => Some(fd.as_fd()),
        _ => None,
    }
}

/// The status flags of `fd` (`F_GETFL`).
pub fn fl(fd: std::os::fd::BorrowedFd<'_>) -> i32 {
    rustix::fs::fcntl_getfl(fd).unwrap().bits().cast_signed()
}

/// An `int` argument as the kernel passes it (sign-extended).
pub fn arg(x: i32) -> u64 {
    i64::from(x).cast_unsigned()
}

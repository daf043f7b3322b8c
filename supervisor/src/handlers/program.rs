//! The asking program as a handler sees it: its memory, its descriptors,
//! its working directory, and the step that vouches for what was read.
//!
//! Everything a handler learns of the program through the task's number
//! (its memory, `/proc/<tid>/cwd`, `/proc/<tid>/fd/N`, `pidfd_getfd`) might
//! belong to another task by the time it is read, if the asking one died
//! and its number was reused: it counts only once [`Program::vouch`]
//! (`SECCOMP_IOCTL_NOTIF_ID_VALID`) says the notification is still pending.
//! Handlers get all of it through this trait, so the reading and the
//! vouching are steps of the request, not calls on the listener, and a
//! handler is a function of (request, program, policy) → reply: [`Live`]
//! is the real program behind a notification, and the unit tests give the
//! handlers a fake one (`handlers::testing`), with no kernel notification
//! and no sandboxed process.
//!
//! Handlers take `impl Program` (static dispatch): [`Live`]'s methods are
//! the [`Task`] calls they replace, inlined.

use std::ffi::CStr;
use std::io;
use std::os::fd::{OwnedFd, RawFd};

use crate::notify::{Listener, Notif};
use crate::task::{ProcDirs, ReadError, RemoteFd, Task};

/// The program's memory: what a handler reads its arguments from and
/// writes its results to. A [`Task`] is one (a deferred job reads and
/// writes through a task of its own, vouched for by its waiter).
pub trait Memory {
    /// Reads exactly `buf.len()` bytes at `addr` ([`Task::read_exact`]).
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError>;

    /// Reads what it can at `addr` ([`Task::read_some`]).
    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError>;

    /// Reads a NUL-terminated string at `addr` ([`Task::read_cstr`]).
    fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError>;

    /// Writes `data` at `addr` ([`Task::write`]).
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), ReadError>;

    /// Writes what the memory takes of `data` at `addr`
    /// ([`Task::write_prefix`]).
    fn write_prefix(&self, addr: u64, data: &[u8]) -> Result<usize, ReadError>;
}

impl Memory for Task {
    #[inline]
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        Task::read_exact(self, addr, buf)
    }

    #[inline]
    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        Task::read_some(self, addr, buf)
    }

    #[inline]
    fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        Task::read_cstr(self, addr, buf)
    }

    #[inline]
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), ReadError> {
        Task::write(self, addr, data)
    }

    #[inline]
    fn write_prefix(&self, addr: u64, data: &[u8]) -> Result<usize, ReadError> {
        Task::write_prefix(self, addr, data)
    }
}

/// The program behind one request.
pub trait Program: Memory {
    /// The task, for what is learnt of it by number in `/proc` (its ids,
    /// its `/proc/self`, its terminals).
    fn task(&self) -> &Task;

    /// Its thread id.
    fn tid(&self) -> i32 {
        self.task().tid()
    }

    /// Its umask ([`Task::umask`]).
    fn umask(&self) -> io::Result<u32>;

    /// `f(dir)` with its `/proc/<tid>` as `dir` ([`ProcDirs::with`]).
    fn in_proc<T>(
        &mut self,
        procs: &mut ProcDirs,
        f: impl FnMut(RawFd) -> io::Result<T>,
    ) -> io::Result<T>;

    /// `readlinkat(/proc/<tid>, rel)` into `out`: its working directory
    /// (`cwd`), the path of its descriptor (`fd/N`).
    fn read_link(&mut self, procs: &mut ProcDirs, rel: &CStr, out: &mut Vec<u8>) -> io::Result<()> {
        self.in_proc(procs, |dir| crate::task::read_link_at(dir, rel, out))
    }

    /// Opens its working directory, `O_PATH` ([`Task::open_cwd`]).
    fn open_cwd(&self) -> io::Result<OwnedFd>;

    /// A duplicate of its descriptor `fd` ([`Task::get_fd`]).
    fn get_fd(&mut self, fd: RemoteFd) -> io::Result<OwnedFd>;

    /// `ID_VALID`: the notification is still pending, so everything read
    /// so far was the asking task's.
    fn vouch(&self) -> bool;
}

/// The program behind a notification received on a listener.
#[derive(Debug)]
pub struct Live<'a> {
    listener: &'a Listener,
    id: u64,
    task: Task,
}

impl<'a> Live<'a> {
    /// The task that sent `n`, received on `listener`.
    pub fn new(listener: &'a Listener, n: &Notif) -> Self {
        Self {
            listener,
            id: n.id,
            task: Task::new(n.pid),
        }
    }
}

impl Memory for Live<'_> {
    #[inline]
    fn read_exact(&self, addr: u64, buf: &mut [u8]) -> Result<(), ReadError> {
        self.task.read_exact(addr, buf)
    }

    #[inline]
    fn read_some(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.task.read_some(addr, buf)
    }

    #[inline]
    fn read_cstr(&self, addr: u64, buf: &mut [u8]) -> Result<usize, ReadError> {
        self.task.read_cstr(addr, buf)
    }

    #[inline]
    fn write(&self, addr: u64, data: &[u8]) -> Result<(), ReadError> {
        self.task.write(addr, data)
    }

    #[inline]
    fn write_prefix(&self, addr: u64, data: &[u8]) -> Result<usize, ReadError> {
        self.task.write_prefix(addr, data)
    }
}

impl Program for Live<'_> {
    #[inline]
    fn task(&self) -> &Task {
        &self.task
    }

    #[inline]
    fn umask(&self) -> io::Result<u32> {
        self.task.umask()
    }

    #[inline]
    fn in_proc<T>(
        &mut self,
        procs: &mut ProcDirs,
        f: impl FnMut(RawFd) -> io::Result<T>,
    ) -> io::Result<T> {
        procs.with(self.task.tid(), f)
    }

    #[inline]
    fn open_cwd(&self) -> io::Result<OwnedFd> {
        self.task.open_cwd()
    }

    #[inline]
    fn get_fd(&mut self, fd: RemoteFd) -> io::Result<OwnedFd> {
        self.task.get_fd(fd)
    }

    #[inline]
    fn vouch(&self) -> bool {
        self.listener.id_valid(self.id)
    }
}

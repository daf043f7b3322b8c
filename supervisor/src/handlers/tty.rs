//! Terminals under `/dev/pts`: the sandbox's own, and no other.
//!
//! A pseudo-terminal's slave side, `/dev/pts/N`, is a window into
//! somebody's session: whoever opens it reads what is typed there. Under
//! every policy, `/dev/pts/N` exists for the sandbox only if it is its own
//! (a decision that no rule can widen, as for `/proc/<pid>` of other
//! processes):
//!
//! - the terminal fdsup was started on: its standard input, output or
//!   error, or its controlling terminal. fdsup keeps them open for the
//!   whole run, so the number cannot pass to another terminal meanwhile;
//! - a terminal whose master a sandboxed process holds (one it made by
//!   opening `/dev/ptmx`, as `openpty`, `script` and Python's `pty` do).
//!   Its slave is then opened with `TIOCGPTPEER` on that very master, never
//!   by the path, so a number freed and given to another session in
//!   between cannot be reached.
//!
//! Any other number is hidden (`ENOENT`), from opens, looks and listings.

use std::os::fd::{AsFd, OwnedFd};

use super::{Ctx, Reply};
use crate::sys;
use crate::task::Task;

/// `UNIX98_PTY_SLAVE_MAJOR`: slaves 0..255 are (136, N); the next
/// thousands continue on majors 137..143.
const PTS_MAJOR: u32 = 136;

/// The terminals fdsup was started on.
#[derive(Debug, Default)]
pub struct Terminals {
    /// Their device numbers.
    startup: Vec<u64>,
    /// fdsup's controlling terminal, which its own open of `/dev/tty`
    /// reaches.
    ctty: Option<u64>,
}

impl Terminals {
    /// The terminals among our standard descriptors, and the controlling
    /// terminal.
    pub fn at_startup() -> Self {
        let mut startup = Vec::new();
        let (i, o, e) = (std::io::stdin(), std::io::stdout(), std::io::stderr());
        // A closed one fails fstat and counts for nothing.
        for fd in [i.as_fd(), o.as_fd(), e.as_fd()] {
            if let Ok((mode, rdev)) = sys::fstat_mode_rdev(fd) {
                if mode & libc::S_IFMT == libc::S_IFCHR && !startup.contains(&rdev) {
                    startup.push(rdev);
                }
            }
        }
        let ctty = std::fs::read("/proc/self/stat")
            .ok()
            .and_then(|s| controlling_terminal(&s));
        if let Some(rdev) = ctty {
            if !startup.contains(&rdev) {
                startup.push(rdev);
            }
        }
        Self { startup, ctty }
    }

    /// Whether `/dev/pts/n` is one of them.
    pub fn is_startup(&self, n: u32) -> bool {
        self.startup.contains(&pts_rdev(n))
    }
}

/// The device number of `/dev/pts/n`: the minor is the number itself
/// (20 bits: `/dev/pts/299` is 136:299, measured), not spread over the
/// majors 136-143 as the old 8-bit minors were.
fn pts_rdev(n: u32) -> u64 {
    libc::makedev(PTS_MAJOR, n)
}

/// `tty_nr` of a `/proc/<pid>/stat`: the controlling terminal, if any.
fn controlling_terminal(stat: &[u8]) -> Option<u64> {
    let after = &stat[stat.iter().rposition(|&b| b == b')')? + 1..];
    // state ppid pgrp session tty_nr
    let field = after
        .split(u8::is_ascii_whitespace)
        .filter(|f| !f.is_empty())
        .nth(4)?;
    let tty_nr: u64 = std::str::from_utf8(field).ok()?.parse().ok()?;
    if tty_nr == 0 {
        return None;
    }
    // The kernel's encoding: minor bits 0-7 and 20-31, major bits 8-19.
    let major = (tty_nr >> 8) & 0xfff;
    let minor = (tty_nr & 0xff) | ((tty_nr >> 12) & 0xfff00);
    Some(libc::makedev(
        u32::try_from(major).ok()?,
        u32::try_from(minor).ok()?,
    ))
}

/// `n` if `path` is `/dev/pts/n`.
pub fn pts_number(path: &[u8]) -> Option<u32> {
    let rest = path.strip_prefix(b"/dev/pts/")?;
    if rest.is_empty() || rest.len() > 9 || !rest.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(rest).ok()?.parse().ok()
}

/// Whether `/dev/pts/n` is the sandbox's own (module docs); `task` asks.
pub fn own(ctx: &Ctx, task: &Task, n: u32) -> bool {
    ctx.terminals.is_startup(n) || held_master(ctx, task, n).is_some()
}

/// The master of pseudo-terminal `n` as a sandboxed process holds it
/// (the asking one's process first, then every other), duplicated.
fn held_master(ctx: &Ctx, task: &Task, n: u32) -> Option<OwnedFd> {
    let first = task.tgid().ok();
    // A container's other processes are not fdsup's descendants: only the
    // asking process's own masters count there.
    let others = match ctx.scope {
        crate::fs::walk::Scope::Tree(sup) => crate::task::descendants(sup),
        crate::fs::walk::Scope::PidNs => Vec::new(),
    };
    first
        .into_iter()
        .chain(others.into_iter().filter(|p| Some(*p) != first))
        .find_map(|pid| crate::own_caps::with(|| master_in(pid, n)))
}

/// The master of `n` among the descriptors of process `pid`.
fn master_in(pid: i32, n: u32) -> Option<OwnedFd> {
    let dir = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?;
    let mut pidfd = None;
    for e in dir.flatten() {
        let Ok(target) = std::fs::read_link(e.path()) else {
            continue;
        };
        if target.as_os_str() != "/dev/ptmx" && target.as_os_str() != "/dev/pts/ptmx" {
            continue;
        }
        let Some(num) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pidfd.is_none() {
            pidfd = sys::pidfd_open(pid, 0).ok();
        }
        let Some(p) = &pidfd else {
            return None;
        };
        let Ok(fd) = sys::pidfd_getfd(p.as_fd(), num) else {
            continue;
        };
        if sys::pty_number(fd.as_fd()).is_ok_and(|m| m == n) {
            return Some(fd);
        }
    }
    None
}

/// Serves an open of `/dev/pts/n` that the policy allows: `None` for a
/// terminal fdsup was started on (opened by its path as any file), else
/// the slave of the master a sandboxed process holds (`TIOCGPTPEER`), or
/// `ENOENT`. `flags` are the request's open flags.
pub fn open(ctx: &Ctx, task: &Task, n: u32, flags: i32) -> Option<Result<OwnedFd, Reply>> {
    if ctx.terminals.is_startup(n) {
        return None;
    }
    let Some(master) = held_master(ctx, task, n) else {
        return Some(Err(Reply::Errno(libc::ENOENT)));
    };
    // Never our controlling terminal; the program's close-on-exec is set
    // when it is installed.
    let peer_flags =
        (flags & (libc::O_ACCMODE | libc::O_NONBLOCK)) | libc::O_NOCTTY | libc::O_CLOEXEC;
    Some(sys::pty_peer(master.as_fd(), peer_flags).map_err(|e| Reply::Errno(sys::errno_of(&e))))
}

/// Serves an open of `/dev/tty` (not `O_PATH`) that the policy allows:
/// the controlling terminal of the asking process, as the kernel's own
/// open would be, never fdsup's. `None` where they are the same (opened by
/// the path as any file); else that terminal as [`open`] serves
/// `/dev/pts/n`, where it is the sandbox's own; `ENXIO` where the process
/// has none (after `setsid`), or one that is not the sandbox's own.
pub fn open_controlling(ctx: &Ctx, task: &Task, flags: i32) -> Option<Result<OwnedFd, Reply>> {
    let mut buf = [0u8; 1024];
    let stat = sys::openat(
        libc::AT_FDCWD,
        crate::task::ProcPath::new(task.tid(), "/stat").as_cstr(),
        libc::O_RDONLY | libc::O_CLOEXEC,
        0,
    )
    .and_then(|fd| sys::read(fd.as_fd(), &mut buf));
    let none = Some(Err(Reply::Errno(libc::ENXIO)));
    let Ok(n) = stat else {
        return none;
    };
    let Some(rdev) = controlling_terminal(&buf[..n]) else {
        return none;
    };
    if ctx.terminals.ctty == Some(rdev) {
        return None;
    }
    let (major, minor) = (libc::major(rdev), libc::minor(rdev));
    if !(PTS_MAJOR..PTS_MAJOR + 8).contains(&major) {
        return none;
    }
    if ctx.terminals.is_startup(minor) {
        let path = format!("/dev/pts/{minor}\0");
        let path = std::ffi::CStr::from_bytes_with_nul(path.as_bytes()).ok()?;
        let flags =
            (flags & (libc::O_ACCMODE | libc::O_NONBLOCK)) | libc::O_NOCTTY | libc::O_CLOEXEC;
        return Some(
            sys::openat(libc::AT_FDCWD, path, flags, 0)
                .map_err(|e| Reply::Errno(sys::errno_of(&e))),
        );
    }
    match open(ctx, task, minor, flags) {
        Some(Err(_)) | None => none,
        served => served,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(pts_number(b"/dev/pts/0"), Some(0));
        assert_eq!(pts_number(b"/dev/pts/12"), Some(12));
        assert_eq!(pts_number(b"/dev/pts/ptmx"), None);
        assert_eq!(pts_number(b"/dev/pts/"), None);
        assert_eq!(pts_number(b"/dev/pts/1/x"), None);
        assert_eq!(pts_number(b"/dev/pts/99999999999"), None);
        assert_eq!(pts_rdev(3), libc::makedev(136, 3));
        assert_eq!(pts_rdev(300), libc::makedev(136, 300));
    }

    #[test]
    fn controlling_terminals() {
        // tty_nr 34817 is 136:1; a name with ") " in it changes nothing.
        let stat = b"42 (a) b) S 1 42 42 34817 42 4194560";
        assert_eq!(controlling_terminal(stat), Some(libc::makedev(136, 1)));
        assert_eq!(controlling_terminal(b"42 (x) S 1 42 42 0 -1"), None);
        assert_eq!(controlling_terminal(b"42 (x"), None);
        assert_eq!(controlling_terminal(b""), None);
    }
}

//! Whose credentials fdsup's calls carry: the program's, where they differ
//! from fdsup's.
//!
//! fdsup opens, creates, renames and looks at files for the program, and
//! the kernel checks the permissions of the task that makes the call: a
//! root fdsup lent root to a program that had dropped it. Measured: under a
//! root fdsup, `setpriv --reuid=65534 --regid=65534 --clear-groups sh`
//! appended to a root-owned 0644 file, read a 0600 one in a 0700
//! directory, and created root-owned files in a directory only root may
//! write, all refused natively. (The network side, where the kernel asks
//! for capabilities, is `handlers::net::lend`.)
//!
//! Linux keeps credentials per thread, so the worker that serves a request
//! takes the program's for it ([`AsProgram`]): its file-system uid and gid
//! (`setfsuid`, `setfsgid`: what the kernel's permission checks and new
//! files' owners use), its supplementary groups, and its effective
//! capabilities (a capability counts only if the program's user namespace
//! is fdsup's; under another it holds only over its own namespace's files,
//! which fdsup cannot express, so none is kept). One capability of fdsup's
//! stays: `CAP_SYS_PTRACE`, without which fdsup could not read the memory
//! and `/proc` entries of a program that changed its uid (the kernel makes
//! such a task non-dumpable); it grants no file access that the policy
//! does not decide first. Setting the file-system uid to one that is not 0
//! clears the file capabilities from the effective set by itself; setting
//! it back raises them again, and the saved set is then written back whole.
//!
//! **When.** A program starts with fdsup's credentials (the shim is a fork
//! of fdsup, and `no_new_privs` keeps set-user-ID files from changing
//! them), and only the calls that change credentials (`setuid` and its
//! family, `setgroups`, `capset`) can make them differ, or make the next
//! exec grant less (`prctl` dropping from the bounding set, or setting
//! `SECBIT_NOROOT`: `setpriv --bounding-set -dac_override`). Where fdsup holds
//! capabilities (without any, the program can change nothing that
//! matters), `fdsup run` traps those calls ([`Kind::Creds`]), notes that
//! credentials may now differ and lets them run (`CONTINUE`: they have no
//! path to decide). From then on every request reads the asking task's
//! `/proc/<tid>/status` (three system calls) and, where it differs, pays
//! thirteen more to switch and switch back (each file-system id is set,
//! then asked again: the call says nothing of failure); a program that
//! never changes its
//! credentials pays nothing. The agent serves containers whose processes
//! run as any user from the start, so it checks every request.
//!
//! [`Kind::Creds`]: crate::syscalls::Kind::Creds

use std::cell::Cell;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::Gid;
use rustix::thread::CapabilitySets;
use rustix::thread::{capabilities, set_capabilities, set_thread_groups, CapabilitySet};

use crate::sys;
use crate::task::ProcPath;

thread_local! {
    /// This thread carries a program's credentials ([`AsProgram`]).
    static SWITCHED: Cell<bool> = const { Cell::new(false) };
}

/// Whether the calling thread carries a program's credentials now: work
/// handed to another process of fdsup's (the Unix socket binder) would
/// carry fdsup's own, so it is done on this thread instead.
pub fn switched() -> bool {
    SWITCHED.with(Cell::get)
}

/// At most this many supplementary groups are read (the kernel's
/// `NGROUPS_MAX`).
const MAX_GROUPS: usize = 65_536;

/// What the credentials of a task are, as far as files go.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileCreds {
    fsuid: u32,
    fsgid: u32,
    /// Sorted.
    groups: Vec<u32>,
    /// The effective set, as `CapEff:` shows it.
    effective: u64,
}

/// fdsup's own, and whether the program's may differ.
#[derive(Debug)]
pub struct Creds {
    /// Ours, read at the start; `None` when they could not be read (then
    /// nothing is switched: as before this module).
    own: Option<(FileCreds, CapabilitySets)>,
    /// Credentials may differ: a credential call was seen, or (the agent)
    /// always.
    changed: AtomicBool,
}

impl Creds {
    /// fdsup's credentials, read now; `always`: check every request.
    pub fn new(always: bool) -> Self {
        let own = read_status(c"/proc/thread-self/status")
            .ok()
            .and_then(|f| Some((f, capabilities(None).ok()?)));
        Self {
            own,
            changed: AtomicBool::new(always),
        }
    }

    /// Whether fdsup holds capabilities, so that a program could hold less
    /// than fdsup and credential calls are worth trapping.
    pub fn worth_watching(&self) -> bool {
        self.own
            .as_ref()
            .is_some_and(|(_, c)| !c.effective.is_empty())
    }

    /// A credential call was made: from now on each request is checked.
    pub fn note_change(&self) {
        self.changed.store(true, Ordering::Release);
    }

    /// Checks every request from now on (the agent: containers run as any
    /// user).
    pub fn check_always(self) -> Self {
        self.note_change();
        self
    }

    /// The calling thread with task `tid`'s credentials, until the guard is
    /// dropped; `None` where they are fdsup's (or never changed). EPERM
    /// where they differ and cannot be taken: the request is then refused,
    /// not made with fdsup's.
    pub fn as_program(&self, tid: i32) -> Result<Option<AsProgram>, i32> {
        if !self.changed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let Some((own, own_caps)) = &self.own else {
            return Ok(None);
        };
        let status = ProcPath::new(tid, "/status");
        let Ok(mut theirs) = read_status(status.as_cstr()) else {
            // Refused, never made with fdsup's: a task that is gone hears
            // nothing, and one whose credentials cannot be read (fdsup out
            // of descriptors, a status text not understood) may hold less.
            return Err(libc::EACCES);
        };
        if theirs.effective != 0 && !same_user_ns(tid) {
            theirs.effective = 0;
        }
        if theirs == *own {
            return Ok(None);
        }
        let keep = own_caps.effective & CapabilitySet::SYS_PTRACE;
        let effective =
            own_caps.effective & (CapabilitySet::from_bits_retain(theirs.effective) | keep);
        let theirs_caps = CapabilitySets {
            effective,
            ..*own_caps
        };
        // Made before the first change: dropped on an error below, it
        // restores whatever was changed.
        let guard = AsProgram {
            own: own.clone(),
            caps: *own_caps,
            theirs: (theirs.clone(), theirs_caps),
        };
        SWITCHED.with(|s| s.set(true));
        apply(&theirs, theirs_caps, *own_caps).map_err(|_| libc::EPERM)?;
        guard.note();
        Ok(Some(guard))
    }
}

/// Gives the calling thread file credentials `to` and capabilities `caps`;
/// `full` are fdsup's own. Its capabilities are raised to `full` first, as
/// `setgroups`, `setfsgid` and `setfsuid` to another's ids need
/// `CAP_SETGID` and `CAP_SETUID`, which a program's set may lack; setting a
/// file-system uid then raises (to 0) or clears (from 0) the file
/// capabilities by itself, so `caps` are written last, whole.
fn apply(to: &FileCreds, caps: CapabilitySets, full: CapabilitySets) -> io::Result<()> {
    set_capabilities(None, full)?;
    let gids: Vec<Gid> = to.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    set_thread_groups(&gids)?;
    sys::set_thread_fs_id(to.fsgid, true)?;
    sys::set_thread_fs_id(to.fsuid, false)?;
    set_capabilities(None, caps)?;
    Ok(())
}

/// The calling thread with a program's credentials ([`Creds::as_program`]);
/// fdsup's again when dropped.
#[derive(Debug)]
pub struct AsProgram {
    own: FileCreds,
    caps: CapabilitySets,
    /// The program's, for [`as_fdsup`] to take back.
    theirs: (FileCreds, CapabilitySets),
}

impl Drop for AsProgram {
    fn drop(&mut self) {
        // A failure leaves the thread with less, which refuses more.
        let _ = apply(&self.own, self.caps, self.caps);
        SWITCHED.with(|s| s.set(false));
        CURRENT.with(|c| c.take());
    }
}

thread_local! {
    /// While this thread carries a program's credentials: fdsup's and the
    /// program's ([`as_fdsup`]).
    static CURRENT: std::cell::RefCell<Option<Swap>> = const { std::cell::RefCell::new(None) };
}

/// fdsup's credentials and the program's a thread carries.
#[derive(Debug, Clone)]
struct Swap {
    own: (FileCreds, CapabilitySets),
    theirs: (FileCreds, CapabilitySets),
}

impl AsProgram {
    /// Notes on this thread what [`as_fdsup`] switches between.
    fn note(&self) {
        let swap = Swap {
            own: (self.own.clone(), self.caps),
            theirs: self.theirs.clone(),
        };
        CURRENT.with(|c| *c.borrow_mut() = Some(swap));
    }
}

/// Runs `f` with fdsup's own credentials where this thread carries a
/// program's ([`Creds::as_program`]), and takes the program's back after:
/// for what fdsup makes for the whole run at a request's moment (the run's
/// private directories, made at the first request that needs one, must be
/// fdsup's, not those of whichever user asked first). Where fdsup's cannot
/// be taken, `f` runs with the program's.
pub fn as_fdsup<T>(f: impl FnOnce() -> T) -> T {
    let Some(swap) = CURRENT.with(|c| c.borrow().clone()) else {
        return f();
    };
    let (own, own_caps) = &swap.own;
    let as_own = apply(own, *own_caps, *own_caps).is_ok();
    if as_own {
        let out = f();
        back_to(&swap);
        out
    } else {
        back_to(&swap);
        f()
    }
}

/// The program's credentials again on this thread; where that fails, no
/// effective capability at all (never more than the program's).
fn back_to(swap: &Swap) {
    let (theirs, theirs_caps) = &swap.theirs;
    if apply(theirs, *theirs_caps, swap.own.1).is_err() {
        let none = CapabilitySets {
            effective: CapabilitySet::empty(),
            ..swap.own.1
        };
        let _ = set_capabilities(None, none);
    }
}

/// Whether task `tid` is in fdsup's user namespace.
fn same_user_ns(tid: i32) -> bool {
    let id = |p: &std::ffi::CStr| {
        sys::openat(libc::AT_FDCWD, p, libc::O_PATH | libc::O_CLOEXEC, 0)
            .and_then(|fd| sys::fstat_id(fd.as_fd()))
            .map(|(dev, ino, _, _)| (dev, ino))
    };
    let theirs = ProcPath::new(tid, "/ns/user");
    matches!(
        (id(c"/proc/thread-self/ns/user"), id(theirs.as_cstr())),
        (Ok(a), Ok(b)) if a == b
    )
}

/// The file credentials in a `/proc/<tid>/status`.
fn read_status(path: &std::ffi::CStr) -> io::Result<FileCreds> {
    let fd = sys::openat(libc::AT_FDCWD, path, libc::O_RDONLY | libc::O_CLOEXEC, 0)?;
    // Enough for the lines up to `CapEff:` with a few hundred groups; more
    // groups are read on.
    let mut buf = vec![0u8; 4096];
    let mut len = 0;
    loop {
        if len == buf.len() {
            if buf.len() >= 1 << 20 {
                break;
            }
            buf.resize(buf.len() * 2, 0);
        }
        let n = sys::read(fd.as_fd(), &mut buf[len..])?;
        if n == 0 {
            break;
        }
        len += n;
    }
    parse(&buf[..len]).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Parses `Uid:`, `Gid:`, `Groups:` and `CapEff:` of a status text (each at
/// a line's start: the first line, `Name:`, is the program's to choose).
/// Read as bytes: the kernel escapes a newline in the name but passes any
/// other byte, so the text need not be UTF-8 (`prctl(PR_SET_NAME, "\xff")`).
fn parse(text: &[u8]) -> Option<FileCreds> {
    let field = |key: &[u8]| -> Option<&str> {
        let value = text
            .split(|&b| b == b'\n')
            .find_map(|l| l.strip_prefix(key))?;
        std::str::from_utf8(value).ok()
    };
    let fourth =
        |key: &[u8]| -> Option<u32> { field(key)?.split_ascii_whitespace().nth(3)?.parse().ok() };
    let mut groups = Vec::new();
    for g in field(b"Groups:")?.split_ascii_whitespace() {
        if groups.len() == MAX_GROUPS {
            return None;
        }
        groups.push(g.parse().ok()?);
    }
    groups.sort_unstable();
    groups.dedup();
    Some(FileCreds {
        fsuid: fourth(b"Uid:")?,
        fsgid: fourth(b"Gid:")?,
        groups,
        effective: u64::from_str_radix(field(b"CapEff:")?.trim(), 16).ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n\
        Uid:\t0\t65534\t0\t1000\nGid:\t0\t0\t0\t65534\nFDSize:\t64\nGroups:\t27 4 27 \n\
        CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000000000\n";

    #[test]
    fn the_file_system_ids_groups_and_effective_set_are_read() {
        let c = parse(STATUS.as_bytes()).expect("parsed");
        assert_eq!(
            c,
            FileCreds {
                fsuid: 1000,
                fsgid: 65534,
                groups: vec![4, 27],
                effective: 0,
            }
        );
    }

    #[test]
    fn a_name_cannot_forge_the_fields() {
        let forged = format!("Name:\tUid:\t0\t0\t0\t0\n{}", &STATUS[9..]);
        assert_eq!(parse(forged.as_bytes()).map(|c| c.fsuid), Some(1000));
    }

    #[test]
    fn a_name_that_is_not_utf8_changes_nothing() {
        let mut text = b"Name:\t\xff\xfe\n".to_vec();
        text.extend_from_slice(&STATUS.as_bytes()[9..]);
        assert_eq!(parse(&text).map(|c| c.fsuid), Some(1000));
    }

    #[test]
    fn a_malformed_status_is_none() {
        assert!(parse(b"Uid:\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\nCapEff:\t0\n").is_none());
        assert!(parse(b"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\tx\nCapEff:\t0\n").is_none());
        assert!(parse(b"Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nGroups:\n").is_none());
    }

    #[test]
    fn fdsup_s_own_are_read_and_equal_a_fresh_read() {
        let a = read_status(c"/proc/thread-self/status").expect("own status");
        let b = read_status(c"/proc/thread-self/status").expect("own status");
        assert_eq!(a, b);
    }
}

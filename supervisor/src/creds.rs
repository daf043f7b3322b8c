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
//! takes the program's for it ([`Creds::as_program`]): its file-system uid and gid
//! (`setfsuid`, `setfsgid`: what the kernel's permission checks and new
//! files' owners use), its effective uid and gid (which a few checks ask
//! instead: a FUSE mount without `allow_other`; the real and saved ids stay
//! fdsup's, [`as_peer`]), its supplementary groups, and its effective
//! capabilities (a capability counts only if the program's user namespace
//! is fdsup's; under another it holds only over its own namespace's files,
//! which fdsup cannot express, so none is kept). fdsup's own acts on the
//! program (reading its memory and `/proc` entries, which the kernel
//! guards for a task that changed its uid; raising its `SIGPIPE`) take
//! back the capabilities they need for their length alone
//! ([`crate::own_caps`]). Setting the file-system uid to one that is not 0
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
//! path to decide). A program that never changes its credentials pays one
//! atomic load per request.
//!
//! **Cost, once they may differ.** Each request makes sure of the asking
//! task's identity (a pidfd of it and its inode: three system calls, as a
//! thread id can be recycled). What a worker learnt of a task's
//! credentials (`/proc/<tid>/status`) it keeps until any credential call
//! or exec is made ([`EPOCH`]: an exec recomputes credentials, so where the
//! policy does not trap exec it is trapped for this alone); and it keeps
//! the credentials it carries between
//! requests (nothing it does between them needs fdsup's), so that it
//! switches only when the next task's differ: thirteen system calls (each
//! file-system id is set, then asked again: the call says nothing of
//! failure). Measured with `micro_open` (open and close, 20,000 times):
//! 6-8 µs per open as root, 8 µs after `setpriv --reuid=65534`; reading the
//! status at every request made it 30 µs, for each install then waited
//! five times as long. The agent serves containers whose processes run as
//! any user from the start and change credentials unseen (its profile lets
//! the calls run), so it reads the status at every request.
//!
//! [`Kind::Creds`]: crate::syscalls::Kind::Creds

use std::cell::RefCell;
use std::io;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::process::Gid;
use rustix::thread::CapabilitySets;
use rustix::thread::{capabilities, set_capabilities, set_thread_groups, CapabilitySet};

use crate::own_caps;
use crate::sys;
use crate::task::ProcPath;

thread_local! {
    /// What the calling thread carries: fdsup's credentials, a program's, or
    /// not known (a switch failed halfway: the next one is made in full).
    static CARRIES: RefCell<Carries> = const { RefCell::new(Carries::Own) };
}

/// What a thread carries ([`CARRIES`]).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Carries {
    Own,
    Theirs(FileCreds, CapabilitySets),
    Unknown,
}

/// What the calling thread carries, for a thread it starts to know
/// ([`adopt`]): a new thread has its creator's credentials.
#[derive(Debug, Clone)]
pub struct Carried(Carries);

/// What the calling thread carries now.
pub fn carried() -> Carried {
    Carried(CARRIES.with(|c| c.borrow().clone()))
}

/// Notes in a thread just started what it carries: its creator's.
pub fn adopt(c: Carried) {
    // The creator may have been looking into its program (`CAP_SYS_PTRACE`
    // raised, `own_caps`): the new thread starts with the program's set.
    if let (Carries::Theirs(_, caps), Some((_, own_caps))) = (&c.0, own()) {
        if set_capabilities(None, *caps).is_err() {
            CARRIES.with(|mine| *mine.borrow_mut() = Carries::Unknown);
            return;
        }
        own_caps::carrying(*caps, *own_caps);
    }
    CARRIES.with(|mine| *mine.borrow_mut() = c.0);
}

/// Whether the calling thread carries another's credentials than fdsup's:
/// work handed to another process of fdsup's (the Unix socket binder) would
/// carry fdsup's own, so it is done on this thread instead.
pub fn switched() -> bool {
    CARRIES.with(|c| *c.borrow() != Carries::Own)
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
    /// What else the kernel asks of a task in calls fdsup makes for it.
    other: Other,
}

/// The ids and capabilities beyond a task's file credentials that some of
/// the calls fdsup makes for it depend on: `access` (the real ids, and the
/// permitted set of a real root: [`real_of`]) and a Unix peer (the real
/// and effective ids: [`PeerIds`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Other {
    /// Real, effective.
    uid: [u32; 2],
    /// Real, effective.
    gid: [u32; 2],
    /// The permitted set, as `CapPrm:` shows it.
    permitted: u64,
}

/// Whether the program's credentials may differ from fdsup's ([`own`]).
#[derive(Debug)]
pub struct Creds {
    /// Credentials may differ: a credential call was seen, or (the agent)
    /// always.
    changed: AtomicBool,
    /// What was learnt of a task is kept until the next credential call
    /// ([`EPOCH`]): only where every call that changes credentials is
    /// trapped. The agent's containers make theirs unseen (its profile lets
    /// them run), so it reads the credentials at every request.
    keep_learnt: bool,
}

impl Creds {
    /// fdsup's credentials, read now; `always`: check every request.
    pub fn new(always: bool) -> Self {
        let _ = own();
        Self {
            changed: AtomicBool::new(always),
            keep_learnt: !always,
        }
    }

    /// Whether fdsup holds capabilities, so that a program could hold less
    /// than fdsup and credential calls are worth trapping.
    pub fn worth_watching(&self) -> bool {
        own().is_some_and(|(_, c)| !c.effective.is_empty())
    }

    /// A credential call was made: from now on each request is checked,
    /// and what was learnt of any task's credentials is forgotten.
    pub fn note_change(&self) {
        EPOCH.fetch_add(1, Ordering::AcqRel);
        self.changed.store(true, Ordering::Release);
    }

    /// A credential call `nr` with arguments `a` that task `tid` is about to
    /// make (the kernel makes it after this): from now on each request is
    /// checked, unless the call leaves the task's ids as they are while they
    /// are fdsup's. GNU make calls `seteuid` to its own uid around every
    /// child it starts; checking every request from then on cost a build of
    /// 40 files a tenth of its time.
    pub fn note_call(&self, tid: i32, nr: i64, a: [u64; 6]) {
        if self.changed.load(Ordering::Acquire) || !self.leaves_as_is(tid, nr, a) {
            self.note_change();
        }
    }

    /// Whether the `setuid`-family call `nr` with arguments `a` changes
    /// nothing for task `tid`, whose credentials are fdsup's now: every id
    /// it sets is the one there already (or -1, "unchanged"). With the ids
    /// unchanged, the capabilities are too (the kernel changes them only as
    /// a uid goes to or from 0). Any other call may change something.
    fn leaves_as_is(&self, tid: i32, nr: i64, a: [u64; 6]) -> bool {
        let Some((own, _)) = own() else {
            return false;
        };
        let status = ProcPath::new(tid, "/status");
        let Ok(text) = read_text(status.as_cstr()) else {
            return false;
        };
        let (Some(now), Some((uids, gids))) = (parse(&text), parse_ids(&text)) else {
            return false;
        };
        if now != *own {
            return false;
        }
        // The kernel reads `uid_t` and `gid_t`: the low 32 bits.
        let arg = |i: usize| sys::low_i32(a[i]).cast_unsigned();
        let same = |v: u32, cur: u32| v == u32::MAX || v == cur;
        let all = |ids: [u32; 4], v: u32| ids.iter().all(|&i| i == v);
        // ids: real, effective, saved, file-system.
        let [r, e, s, fs] = uids;
        let [rg, eg, sg, fsg] = gids;
        match nr {
            libc::SYS_setuid => all(uids, arg(0)),
            libc::SYS_setgid => all(gids, arg(0)),
            // setre*id may set the saved id to the new effective one, and
            // the file-system id follows the effective one.
            libc::SYS_setreuid => same(arg(0), r) && same(arg(1), e) && s == e && fs == e,
            libc::SYS_setregid => same(arg(0), rg) && same(arg(1), eg) && sg == eg && fsg == eg,
            libc::SYS_setresuid => same(arg(0), r) && same(arg(1), e) && same(arg(2), s) && fs == e,
            libc::SYS_setresgid => {
                same(arg(0), rg) && same(arg(1), eg) && same(arg(2), sg) && fsg == eg
            }
            libc::SYS_setfsuid => same(arg(0), fs),
            libc::SYS_setfsgid => same(arg(0), fsg),
            _ => false,
        }
    }

    /// Checks every request from now on, reading the task's credentials
    /// each time (the agent: containers run as any user, and their
    /// credential calls are not trapped).
    pub fn check_always(mut self) -> Self {
        self.note_change();
        self.keep_learnt = false;
        self
    }

    /// The flags for fdsup's `faccessat2` that answers task `tid`'s
    /// `access` (or `faccessat` with `flags`), the calling thread having
    /// taken its credentials ([`Creds::as_program`]). Without
    /// `AT_EACCESS`, the kernel checks with the caller's real ids, and the
    /// caller is fdsup's worker, whose real ids are fdsup's: where the
    /// program's may differ, the worker takes the program's real ids as
    /// its file-system ones (and the capabilities `access` would have) and
    /// asks with `AT_EACCESS`. Measured before: a program that had dropped
    /// to `nobody` was told it may read and write a root-only directory.
    pub fn access_flags(&self, tid: i32, flags: i32) -> Result<i32, i32> {
        if flags & libc::AT_EACCESS != 0 || !self.changed.load(Ordering::Acquire) {
            return Ok(flags);
        }
        let Some((own, own_caps)) = own() else {
            return Ok(flags);
        };
        // What the worker carries for this request ([`Creds::as_program`]),
        // read from the status already: the real view is made of it.
        let carried = CARRIES.with(|c| c.borrow().clone());
        let mut view = match carried {
            Carries::Own if real_of(own) == *own => return Ok(flags),
            Carries::Own => real_of(own),
            Carries::Theirs(fc, _) if real_of(&fc) == fc => return Ok(flags | libc::AT_EACCESS),
            Carries::Theirs(fc, _) => real_of(&fc),
            Carries::Unknown => {
                let status = ProcPath::new(tid, "/status");
                read_text(status.as_cstr())
                    .ok()
                    .and_then(|t| real_view(&t))
                    .ok_or(libc::EACCES)?
            }
        };
        if view.effective != 0 && !same_user_ns(tid) {
            view.effective = 0;
        }
        carry(&wanted(view, own, *own_caps), own, *own_caps).map_err(|_| libc::EPERM)?;
        Ok(flags | libc::AT_EACCESS)
    }

    /// The real and effective ids a Unix socket's peer must learn of task
    /// `tid` where fdsup connects or sends for it ([`as_peer`]): `None`
    /// where they are fdsup's (or never changed), `EACCES` where they cannot
    /// be read (the request is then refused, never made as fdsup).
    pub fn peer_ids(&self, tid: i32) -> Result<Option<PeerIds>, i32> {
        if !self.changed.load(Ordering::Acquire) {
            return Ok(None);
        }
        let Some(own) = own_ids() else {
            return Ok(None);
        };
        // What the worker carries for this request ([`Creds::as_program`]).
        let carried = CARRIES.with(|c| match &*c.borrow() {
            Carries::Own => Some(None),
            Carries::Theirs(fc, _) => Some(Some(fc.other)),
            Carries::Unknown => None,
        });
        let other = match carried {
            Some(None) => return Ok(None),
            Some(Some(o)) => o,
            None => {
                let status = ProcPath::new(tid, "/status");
                let text = read_text(status.as_cstr()).map_err(|_| libc::EACCES)?;
                parse(&text).ok_or(libc::EACCES)?.other
            }
        };
        let theirs = PeerIds::of(other);
        Ok((theirs != own).then_some(theirs))
    }

    /// Task `tid` is about to exec: where it is not its process's leader,
    /// the exec makes it the leader, with the leader's thread id and pidfd
    /// (the kernel swaps them), and ends the leader, which may still ask
    /// until then with the credentials from before the exec. What is learnt
    /// of that thread id is not kept until the exec is done: its thread id
    /// gone (or the exec failed and the thread ended). Measured before: a
    /// second thread's exec, the first asking meanwhile, left the
    /// credentials from before the exec to the new program (a task that
    /// exec dropped to `nobody` read a root-only file in 4 of 6 runs).
    /// Call before [`Creds::note_exec`].
    pub fn note_thread_exec(&self, tid: i32) {
        if !self.changed.load(Ordering::Acquire) || !self.keep_learnt {
            return;
        }
        let status = ProcPath::new(tid, "/status");
        let Ok(text) = read_text(status.as_cstr()) else {
            return;
        };
        let tgid = crate::task::status_field(&text, b"Tgid:")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<i32>().ok());
        // Not known (0): every task is read afresh until the exec is done.
        let entry = match tgid {
            Some(tgid) if tgid == tid => return,
            Some(tgid) => (tgid, tid),
            None => (0, tid),
        };
        let mut p = PENDING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if !p.contains(&entry) {
            p.push(entry);
            PENDING_N.store(p.len(), Ordering::Release);
        }
    }

    /// Task `tid` is about to exec (the kernel makes the call after this):
    /// an exec sets new credentials by itself (the file-system ids to the
    /// effective ones; capabilities recomputed: a non-root task's dropped,
    /// a root one's raised), so what was learnt of any task is forgotten.
    /// A task makes no request between the call and the new program's
    /// first.
    pub fn note_exec(&self) {
        if self.changed.load(Ordering::Acquire) {
            EPOCH.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// Gives the calling thread task `tid`'s credentials for its request,
    /// or fdsup's where they are fdsup's (or never changed). The thread
    /// keeps them after the request (nothing it does between requests
    /// needs fdsup's: receiving, answering, installing), so that a run of
    /// requests with the same credentials switches once; the next request
    /// sets what it needs. EPERM where they differ and cannot be taken, and
    /// EACCES where they cannot be read: the request is then refused, never
    /// made with fdsup's. `valid` says whether the request is still pending
    /// (`ID_VALID`): asked only before keeping what was read.
    pub fn as_program(&self, tid: i32, valid: impl FnOnce() -> bool) -> Result<(), i32> {
        if !self.changed.load(Ordering::Acquire) {
            return Ok(());
        }
        let Some((own, own_caps)) = own() else {
            return Ok(());
        };
        // What this thread learnt of the task, if it is still the same task
        // (a thread id can be recycled) and no credential call was made
        // since: reading the status costs 4 µs, and measured, a status read
        // per request made each install wait five times as long (30 µs
        // against 6 per open).
        let epoch = EPOCH.load(Ordering::Acquire);
        // (After the epoch: a mark is made before the epoch it belongs to.)
        let ino = if self.keep_learnt && !exec_pending(tid) {
            let ino = identity(tid).map_err(|_| libc::EACCES)?;
            if let Some(carried) = carry_known(tid, ino, epoch, own, *own_caps) {
                return carried.map_err(|_| libc::EPERM);
            }
            Some(ino)
        } else {
            None
        };
        let status = ProcPath::new(tid, "/status");
        let Ok(mut theirs) = read_status(status.as_cstr()) else {
            // A task that is gone hears nothing, and one whose credentials
            // cannot be read (fdsup out of descriptors, a status text not
            // understood) may hold less than fdsup.
            return Err(libc::EACCES);
        };
        if theirs.effective != 0 && !same_user_ns(tid) {
            theirs.effective = 0;
        }
        let want = wanted(theirs, own, *own_caps);
        // Kept only if the request is still pending after the read: then the
        // task is alive and blocked in it, and its credentials are what was
        // read. A request of a thread ended meanwhile may have read the
        // status of another task with its number, the one an exec made its
        // process's leader, whose credentials the exec had not changed yet
        // (the kernel swaps the thread ids before it installs the new
        // credentials): seen in 1 of about 20 runs of `thread_exec`.
        if let Some(ino) = ino {
            if valid() {
                learn(tid, ino, epoch, &want);
            }
        }
        carry(&want, own, *own_caps).map_err(|_| libc::EPERM)
    }
}

/// What a thread must carry for a task of credentials `theirs`: fdsup's
/// own where they are the same, else theirs with the capabilities of
/// fdsup's they hold.
fn wanted(theirs: FileCreds, own: &FileCreds, own_caps: CapabilitySets) -> Carries {
    if theirs == *own {
        return Carries::Own;
    }
    let effective = own_caps.effective & CapabilitySet::from_bits_retain(theirs.effective);
    Carries::Theirs(
        theirs,
        CapabilitySets {
            effective,
            ..own_caps
        },
    )
}

/// Execs by a thread that is not its process's leader, not known to be
/// done ([`Creds::note_thread_exec`]): (process id, the thread's id), or
/// (0, id) where the process was not known (then every thread id).
static PENDING: std::sync::Mutex<Vec<(i32, i32)>> = std::sync::Mutex::new(Vec::new());

/// How many entries [`PENDING`] has: one load per request when none.
static PENDING_N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Whether a request of thread `tid` must be answered from its status
/// alone: `tid` is the leader of a process one of whose other threads is
/// execing ([`Creds::note_thread_exec`]). An exec is done once its
/// thread's id is gone from the process (`/proc/<pid>/task/<tid>`): the
/// exec swapped it for the leader's and the old leader ended, or the
/// thread did.
fn exec_pending(tid: i32) -> bool {
    if PENDING_N.load(Ordering::Acquire) == 0 {
        return false;
    }
    let mut p = PENDING
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let concerns = |&(pid, _): &(i32, i32)| pid == tid || pid == 0;
    if !p.iter().any(concerns) {
        return false;
    }
    // Only this task's entries are looked at (and the done ones dropped).
    p.retain(|e| {
        let (pid, t) = *e;
        if !concerns(e) {
            return true;
        }
        let path = if pid == 0 {
            format!("/proc/{t}")
        } else {
            format!("/proc/{pid}/task/{t}")
        };
        std::ffi::CString::new(path).is_ok_and(|c| sys::lstat_mode(libc::AT_FDCWD, &c).is_ok())
    });
    PENDING_N.store(p.len(), Ordering::Release);
    p.iter().any(concerns)
}

/// The credentials `access` and `faccessat` (without `AT_EACCESS`) check
/// with, as the kernel's `access_override_creds` makes them: the real uid
/// and gid as the file-system ones, the supplementary groups, and the
/// permitted set as the effective one for a real uid of 0, no capability
/// otherwise.
fn real_view(text: &[u8]) -> Option<FileCreds> {
    parse(text).map(|fc| real_of(&fc))
}

/// [`real_view`] of credentials already read.
fn real_of(fc: &FileCreds) -> FileCreds {
    let o = fc.other;
    FileCreds {
        fsuid: o.uid[0],
        fsgid: o.gid[0],
        groups: fc.groups.clone(),
        effective: if o.uid[0] == 0 { o.permitted } else { 0 },
        other: o,
    }
}

/// Bumped by every credential call ([`Creds::note_change`]): what was
/// learnt before it is stale.
static EPOCH: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Tasks whose credentials a thread learnt last.
const KNOWN_PER_THREAD: usize = 8;

/// A task's credentials as learnt: its thread id, the inode of a pidfd of
/// it (unique to the task: a recycled id gets another), the [`EPOCH`] then.
type Known = (i32, u64, u64, Carries);

thread_local! {
    static KNOWN: RefCell<Vec<Known>> = const { RefCell::new(Vec::new()) };
}

/// The task `tid`'s identity: the inode of a pidfd of it (pidfs gives each
/// task its own, never reused while fdsup runs).
fn identity(tid: i32) -> io::Result<u64> {
    let fd = sys::pidfd_open(tid, sys::PIDFD_THREAD)?;
    sys::fstat_id(fd.as_fd()).map(|(_, ino, _, _)| ino)
}

/// Gives the calling thread what it learnt of task `tid` of identity `ino`
/// in `epoch` ([`carry`]); `None` if it learnt nothing.
fn carry_known(
    tid: i32,
    ino: u64,
    epoch: u64,
    own: &FileCreds,
    own_caps: CapabilitySets,
) -> Option<io::Result<()>> {
    KNOWN.with(|k| {
        k.borrow()
            .iter()
            .find(|(t, i, e, _)| *t == tid && *i == ino && *e == epoch)
            .map(|(_, _, _, want)| carry(want, own, own_caps))
    })
}

/// Remembers `want` for task `tid` of identity `ino` in `epoch`.
fn learn(tid: i32, ino: u64, epoch: u64, want: &Carries) {
    KNOWN.with(|k| {
        let mut k = k.borrow_mut();
        k.retain(|(t, _, e, _)| *t != tid && *e == epoch);
        if k.len() == KNOWN_PER_THREAD {
            k.remove(0);
        }
        k.push((tid, ino, epoch, want.clone()));
    });
}

/// Gives the calling thread what `want` says, unless it carries that
/// already; `own` and `own_caps` are fdsup's.
fn carry(want: &Carries, own: &FileCreds, own_caps: CapabilitySets) -> io::Result<()> {
    CARRIES.with(|c| {
        let mut c = c.borrow_mut();
        if *c == *want && *want != Carries::Unknown {
            own_caps::settle();
            return Ok(());
        }
        *c = Carries::Unknown;
        own_caps::carrying(own_caps, own_caps);
        match want {
            Carries::Theirs(to, caps) => {
                apply(to, *caps, own_caps)?;
                own_caps::carrying(*caps, own_caps);
            }
            Carries::Own | Carries::Unknown => apply(own, own_caps, own_caps)?,
        }
        *c = match want {
            Carries::Unknown => Carries::Own,
            w => w.clone(),
        };
        Ok(())
    })
}

/// Gives the calling thread file credentials `to` and capabilities `caps`;
/// `full` are fdsup's own. Its capabilities are raised to `full` first, as
/// `setgroups`, `setresgid`, `setfsgid` and `setfsuid` to another's ids
/// need `CAP_SETGID` and `CAP_SETUID`, which a program's set may lack; the
/// effective uid and gid are the program's too (the real and saved ones
/// stay fdsup's: [`as_peer`]), as some of the kernel's checks ask them
/// rather than the file-system ones: a FUSE mount made without
/// `allow_other` lets in only the tasks whose real, effective and saved ids
/// are all its owner's (`fuse_allow_current_process`). Measured before:
/// under a root fdsup, a program that had dropped to `nobody` read a file
/// of root's such mount, refused natively. Setting an effective uid (and
/// then a file-system one) raises (to 0) or clears (from 0) the effective
/// capabilities by itself, so `full` is raised again before the
/// file-system ids, and `caps` are written last, whole.
fn apply(to: &FileCreds, caps: CapabilitySets, full: CapabilitySets) -> io::Result<()> {
    set_capabilities(None, full)?;
    let gids: Vec<Gid> = to.groups.iter().map(|&g| Gid::from_raw(g)).collect();
    set_thread_groups(&gids)?;
    let unchanged = u32::MAX;
    sys::set_thread_ids(unchanged, to.other.gid[1], true)?;
    sys::set_thread_ids(unchanged, to.other.uid[1], false)?;
    set_capabilities(None, full)?;
    sys::set_thread_fs_id(to.fsgid, true)?;
    sys::set_thread_fs_id(to.fsuid, false)?;
    set_capabilities(None, caps)?;
    Ok(())
}

/// Gives up `caps` from the calling thread's effective, permitted and
/// inheritable sets (the main thread's, before [`Creds::new`] reads them
/// and before the workers, which inherit them, start): capabilities the
/// program is made to lack and fdsup has no use for, so that a program
/// that otherwise has fdsup's credentials is served as fdsup. Nothing
/// changes where they cannot be read or set.
pub fn give_up_own(caps: CapabilitySet) {
    if let Ok(mut sets) = capabilities(None) {
        sets.effective &= !caps;
        sets.permitted &= !caps;
        sets.inheritable &= !caps;
        let _ = set_capabilities(None, sets);
    }
}

/// fdsup's own credentials, read once (by [`Creds::new`], on the main
/// thread, before any worker switches); `None` when they cannot be read:
/// nothing is switched then.
fn own() -> Option<&'static (FileCreds, CapabilitySets)> {
    static OWN: std::sync::OnceLock<Option<(FileCreds, CapabilitySets)>> =
        std::sync::OnceLock::new();
    OWN.get_or_init(|| {
        let f = read_status(c"/proc/thread-self/status").ok()?;
        Some((f, capabilities(None).ok()?))
    })
    .as_ref()
}

/// Runs `f` with fdsup's own credentials where the calling thread carries a
/// program's ([`Creds::as_program`]), and takes the program's back after:
/// for what fdsup makes for the whole run at a request's moment (the run's
/// private directories, made at the first request that needs one, must be
/// fdsup's, not those of whichever user asked first). Where fdsup's cannot
/// be taken, `f` runs with the program's.
pub fn as_fdsup<T>(f: impl FnOnce() -> T) -> T {
    let Some((own, own_caps)) = own() else {
        return f();
    };
    let before = CARRIES.with(|c| c.borrow().clone());
    if before == Carries::Own || carry(&Carries::Own, own, *own_caps).is_err() {
        return f();
    }
    let out = f();
    if let Carries::Theirs(..) = before {
        if carry(&before, own, *own_caps).is_err() {
            no_capability(*own_caps);
        }
    }
    out
}

/// The real and effective uids and gids of a program's task, which the
/// kernel gives a Unix socket's peer from the task that connects
/// (`SO_PEERCRED`: the effective ones) or sends (`SCM_CREDENTIALS` added by
/// `SO_PASSCRED`: the real ones); fdsup makes those calls for the program,
/// and its worker's real ids stay fdsup's whatever credentials it carries
/// (its effective ones are the program's effective ones: [`apply`]). Measured before: a program that had dropped to
/// `nobody` under a root fdsup connected to a root server as uid 0 (a
/// D-Bus system bus takes that for root). The pid the peer learns stays
/// fdsup's (README, limits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerIds {
    /// Real, effective.
    uid: [u32; 2],
    gid: [u32; 2],
}

impl PeerIds {
    fn of(o: Other) -> Self {
        Self {
            uid: o.uid,
            gid: o.gid,
        }
    }
}

thread_local! {
    /// The ids of the task whose network request the calling thread
    /// serves ([`PeerScope`]), where they differ from fdsup's.
    static PEER: std::cell::Cell<Option<PeerIds>> = const { std::cell::Cell::new(None) };
}

/// fdsup's own real and effective ids (of [`own`]).
fn own_ids() -> Option<PeerIds> {
    own().map(|(f, _)| PeerIds::of(f.other))
}

/// While it lives, the calling thread's connects and sends ([`as_peer`])
/// are made with `ids`.
pub struct PeerScope(Option<PeerIds>);

impl PeerScope {
    pub fn enter(ids: Option<PeerIds>) -> Self {
        Self(PEER.with(|p| p.replace(ids)))
    }
}

impl Drop for PeerScope {
    fn drop(&mut self) {
        PEER.with(|p| p.set(self.0));
    }
}

/// Runs `f` (a `connect` or a send fdsup makes for the program) with the
/// program's effective ids where the calling thread serves one whose ids
/// differ from fdsup's ([`PeerScope`]): a Unix peer learns them
/// (`SO_PEERCRED`). The real and saved ids stay fdsup's: a thread whose
/// real uid were the program's could be signalled, and so the whole of
/// fdsup killed, by any process of that uid on the machine (the kernel's
/// `kill_ok_by_cred` matches the target's real and saved uids). The real
/// ids a peer that passes credentials learns from a send are named in an
/// `SCM_CREDENTIALS` message instead ([`peer_real`]), which the kernel
/// accepts with `CAP_SETUID` and `CAP_SETGID`, raised for the call (they
/// matter to nothing else a connect or send does). Its file credentials
/// and capabilities are put back after. `EPERM` where the ids cannot be
/// taken: nothing is then made as fdsup.
pub fn as_peer<T>(f: impl FnOnce() -> io::Result<T>) -> io::Result<T> {
    let Some(ids) = PEER.with(std::cell::Cell::get) else {
        return f();
    };
    let (Some(own), Some((_, own_caps))) = (own_ids(), own()) else {
        return f();
    };
    let before = capabilities(None)?;
    let fs = (sys::thread_fs_id(false), sys::thread_fs_id(true));
    let (Some(fsuid), Some(fsgid)) = fs else {
        return Err(io::Error::from_raw_os_error(libc::EPERM));
    };
    let during = CapabilitySets {
        effective: before.effective
            | own_caps.effective & (CapabilitySet::SETUID | CapabilitySet::SETGID),
        ..before
    };
    // `setresuid` sets the file-system id to the effective one and, from an
    // effective uid of 0, clears the effective set: both are put back.
    let unchanged = u32::MAX;
    let switch = |to: &PeerIds, caps: CapabilitySets| -> io::Result<()> {
        set_capabilities(None, *own_caps)?;
        sys::set_thread_ids(unchanged, to.gid[1], true)?;
        sys::set_thread_ids(unchanged, to.uid[1], false)?;
        set_capabilities(None, *own_caps)?;
        sys::set_thread_fs_id(fsgid, true)?;
        sys::set_thread_fs_id(fsuid, false)?;
        set_capabilities(None, caps)?;
        Ok(())
    };
    // The effective ids are put back as they were: the program's where the
    // thread carries its credentials ([`apply`]), else fdsup's.
    let back = PeerIds {
        uid: [own.uid[0], rustix::process::geteuid().as_raw()],
        gid: [own.gid[0], rustix::process::getegid().as_raw()],
    };
    let out = match switch(&ids, during) {
        Ok(()) => f(),
        Err(_) => Err(io::Error::from_raw_os_error(libc::EPERM)),
    };
    if switch(&back, before).is_err() {
        // Left with what it could: the next request sets everything again,
        // and never with more than the program's capabilities meanwhile.
        CARRIES.with(|c| *c.borrow_mut() = Carries::Unknown);
        no_capability(*own_caps);
    }
    out
}

/// Leaves the calling thread with no effective capability, where taking
/// back what it carried failed: never with more than the program's.
fn no_capability(own_caps: CapabilitySets) {
    let none = CapabilitySets {
        effective: CapabilitySet::empty(),
        ..own_caps
    };
    if set_capabilities(None, none).is_ok() {
        own_caps::carrying(none, own_caps);
    }
}

/// The real uid and gid of the program whose request the calling thread
/// serves ([`PeerScope`]), where they differ from fdsup's: what a Unix
/// peer that passes credentials must learn of a send fdsup makes for it,
/// named in an `SCM_CREDENTIALS` message ([`as_peer`]). The pid in it
/// stays fdsup's, which the kernel accepts without a capability.
pub fn peer_real() -> Option<(u32, u32)> {
    let ids = PEER.with(std::cell::Cell::get)?;
    let own = own_ids()?;
    let theirs = (ids.uid[0], ids.gid[0]);
    (theirs != (own.uid[0], own.gid[0])).then_some(theirs)
}

/// Whether task `tid` is in fdsup's user namespace.
fn same_user_ns(tid: i32) -> bool {
    // The namespace's own inode, behind the magic link (one `stat`: the
    // agent asks at every request of a task holding capabilities).
    let id = |p: &std::ffi::CStr| sys::stat_id(p).ok();
    // fdsup's own, once: its threads never change namespace.
    static OURS: std::sync::OnceLock<Option<(u64, u64)>> = std::sync::OnceLock::new();
    let ours = *OURS.get_or_init(|| id(c"/proc/thread-self/ns/user"));
    let theirs = ProcPath::new(tid, "/ns/user");
    ours.is_some() && ours == own_caps::with(|| id(theirs.as_cstr()))
}

/// The file credentials in a `/proc/<tid>/status`.
fn read_status(path: &std::ffi::CStr) -> io::Result<FileCreds> {
    let text = read_text(path)?;
    parse(&text).ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))
}

/// The four uids and four gids (real, effective, saved, file-system) of a
/// status text.
fn parse_ids(text: &[u8]) -> Option<([u32; 4], [u32; 4])> {
    let four = |key: &[u8]| -> Option<[u32; 4]> {
        let mut it = field(text, key)?.split_ascii_whitespace();
        let mut out = [0u32; 4];
        for v in &mut out {
            *v = it.next()?.parse().ok()?;
        }
        Some(out)
    };
    Some((four(b"Uid:")?, four(b"Gid:")?))
}

/// Field `key` of a status text, at a line's start
/// ([`crate::task::status_field`]), as text.
fn field<'t>(text: &'t [u8], key: &[u8]) -> Option<&'t str> {
    std::str::from_utf8(crate::task::status_field(text, key)?).ok()
}

/// A `/proc/<tid>/status` text.
fn read_text(path: &std::ffi::CStr) -> io::Result<Vec<u8>> {
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
    buf.truncate(len);
    Ok(buf)
}

/// Parses `Uid:`, `Gid:`, `Groups:` and `CapEff:` of a status text (each at
/// a line's start: the first line, `Name:`, is the program's to choose).
/// Read as bytes: the kernel escapes a newline in the name but passes any
/// other byte, so the text need not be UTF-8 (`prctl(PR_SET_NAME, "\xff")`).
fn parse(text: &[u8]) -> Option<FileCreds> {
    let (uids, gids) = parse_ids(text)?;
    let mut groups = Vec::new();
    for g in field(text, b"Groups:")?.split_ascii_whitespace() {
        if groups.len() == MAX_GROUPS {
            return None;
        }
        groups.push(g.parse().ok()?);
    }
    groups.sort_unstable();
    groups.dedup();
    let cap = |key: &[u8]| u64::from_str_radix(field(text, key)?.trim(), 16).ok();
    Some(FileCreds {
        fsuid: uids[3],
        fsgid: gids[3],
        groups,
        effective: cap(b"CapEff:")?,
        other: Other {
            uid: [uids[0], uids[1]],
            gid: [gids[0], gids[1]],
            permitted: cap(b"CapPrm:")?,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS: &str = "Name:\tsh\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t42\n\
        Uid:\t0\t65534\t0\t1000\nGid:\t0\t0\t0\t65534\nFDSize:\t64\nGroups:\t27 4 27 \n\
        CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t0000000000000000\n";

    /// The real and effective ids and the permitted set of [`STATUS`].
    const OTHER: Other = Other {
        uid: [0, 65534],
        gid: [0, 0],
        permitted: 0x1ff_ffff_ffff,
    };

    #[test]
    fn access_checks_with_the_real_ids_and_roots_permitted_set() {
        let c = real_view(STATUS.as_bytes()).expect("parsed");
        assert_eq!(
            c,
            FileCreds {
                fsuid: 0,
                fsgid: 0,
                groups: vec![4, 27],
                effective: 0x1ff_ffff_ffff,
                other: OTHER,
            }
        );
        let other = STATUS.replace("Uid:\t0\t65534", "Uid:\t7\t65534");
        let c = real_view(other.as_bytes()).expect("parsed");
        assert_eq!((c.fsuid, c.effective), (7, 0), "no capability but root's");
    }

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
                other: OTHER,
            }
        );
    }

    #[test]
    fn a_task_of_our_own_user_namespace_is_seen_so() {
        let tid = rustix::thread::gettid().as_raw_nonzero().get();
        assert!(same_user_ns(tid));
        assert!(!same_user_ns(i32::MAX), "no such task");
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
    fn the_four_ids_are_read() {
        assert_eq!(
            parse_ids(STATUS.as_bytes()),
            Some(([0, 65534, 0, 1000], [0, 0, 0, 65534]))
        );
        assert_eq!(parse_ids(b"Uid:\t0\t0\t0\nGid:\t0\t0\t0\t0\n"), None);
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

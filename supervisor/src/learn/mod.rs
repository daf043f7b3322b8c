//! `fdsup run --learn FILE`: record what the program used, then write a
//! policy that allows exactly that, generalised (SPEC.md, "Learning").
//!
//! The run itself is an ordinary run under `@allow-all` (every request
//! allowed *and mediated*), with a [`Recorder`] in the workers' context and
//! the output file (and the audit log) hidden from the program
//! ([`run_policy`]). The handlers tell the recorder about every request they
//! allow, on the canonical path they decided on: nothing else about the run
//! changes, so what is learnt is what the program does under fdsup. At
//! exit, `generalise` turns the observations into rules and
//! [`write_policy`] writes them (refusing to replace an existing file).
//!
//! It lives apart from the audit log (which DESIGN.md first meant to own
//! learning) because it needs what the log does not keep: the lookups that
//! found nothing (no allowed line is written for them, yet under a policy
//! that hides them they are refusals) and both ends of a rename.
//!
//! The hooks are all in `handlers::Log`, the one place handlers log:
//! `Log::write` (every allowed decision: read, and write when the syscall
//! or the open flags change the path, see [`used`]); `Log::note_write`
//! where a change is decided without an allowed line of its own (the other
//! end of a rename or link, `access(W_OK)`); `Log::note_absent` where a
//! lookup found nothing.
//!
//! Network requests are mediated while learning (even under `@allow-all`),
//! and the network handlers report each address reached (`Log::write_addr`,
//! [`Recorder::note_connect`]; a `bind` is left to the default). `execve` is
//! not trapped under `@allow-all`: a program is seen through the lookups
//! that find it (reading a file is what lets it run, SPEC.md), and the
//! first program is recorded by `supervise::run`.

mod generalise;
mod output;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use crate::limits::{LEARNED_CONNECTS, LEARNED_PATHS, LEARNED_PATH_BYTES, LEARNED_USERS};
use crate::policy::{FsAccess, FsAction, FsRule, Origin, Pattern, Policy, PolicyError, Vars};

pub use generalise::{generalise, Learned, LearnedRule, Roots};
pub use output::{render, write_policy, LearnError};

/// The path was looked at or read (stat, open for reading, list, chdir).
pub const READ: u8 = 1;
/// The path was changed or created.
pub const WRITE: u8 = 2;
/// The path was executed.
pub const EXEC: u8 = 4;

/// What was used of one path, and by which programs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Use {
    /// [`READ`], [`WRITE`], [`EXEC`], or'ed.
    pub how: u8,
    /// The `comm` of the programs that used it (a few).
    pub by: BTreeSet<String>,
}

/// Everything the program used, collected by the workers during the run.
#[derive(Debug)]
pub struct Recorder {
    paths: Mutex<HashMap<Vec<u8>, Use>>,
    connects: Mutex<BTreeMap<String, BTreeSet<String>>>,
    /// At most this many paths ([`LEARNED_PATHS`]) and addresses
    /// ([`LEARNED_CONNECTS`]) are recorded.
    max_paths: usize,
    max_connects: usize,
    /// At most this many bytes of paths ([`LEARNED_PATH_BYTES`]), and the
    /// bytes held (changed under the lock of `paths`).
    max_bytes: usize,
    bytes: AtomicUsize,
    /// A path or address was not recorded for those limits.
    full: AtomicBool,
}

impl Default for Recorder {
    fn default() -> Self {
        Self::with_limits(LEARNED_PATHS, LEARNED_CONNECTS)
    }
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty recorder keeping at most `max_paths` paths and
    /// `max_connects` addresses.
    fn with_limits(max_paths: usize, max_connects: usize) -> Self {
        Self {
            paths: Mutex::default(),
            connects: Mutex::default(),
            max_paths,
            max_connects,
            max_bytes: LEARNED_PATH_BYTES,
            bytes: AtomicUsize::new(0),
            full: AtomicBool::new(false),
        }
    }

    /// Records that task `tid` used `path` (canonical, as decided on) as
    /// `how` says.
    pub fn note(&self, tid: i32, path: &[u8], how: u8) {
        // The program's own /proc/<pid>, as the policy spells it (other
        // processes' are hidden, never allowed, so never recorded).
        let rewritten;
        let path = match crate::proc_path::proc_pid(path) {
            Some((_, rest)) => {
                rewritten = [&b"/proc/self"[..], rest].concat();
                &rewritten[..]
            }
            None => path,
        };
        if path.ends_with(b" (deleted)") {
            // An unlinked file reached through a descriptor: no path.
            return;
        }
        let who = comm(tid);
        let Ok(mut paths) = self.paths.lock() else {
            return;
        };
        let held = self.bytes.load(Ordering::Relaxed);
        let full =
            paths.len() >= self.max_paths || held.saturating_add(path.len()) > self.max_bytes;
        let entry = match paths.get_mut(path) {
            Some(e) => e,
            None if full => {
                self.full.store(true, Ordering::Relaxed);
                return;
            }
            None => {
                self.bytes
                    .store(held.saturating_add(path.len()), Ordering::Relaxed);
                paths.entry(path.to_vec()).or_default()
            }
        };
        entry.how |= how;
        if entry.by.len() < LEARNED_USERS {
            if let Some(w) = who {
                entry.by.insert(w);
            }
        }
    }

    /// Records that `who` used `path` (for what fdsup sees outside a
    /// request: the first program, executed by the shim).
    pub fn note_by(&self, who: &str, path: &[u8], how: u8) {
        if let Ok(mut paths) = self.paths.lock() {
            let e = paths.entry(path.to_vec()).or_default();
            e.how |= how;
            e.by.insert(who.to_owned());
        }
    }

    /// Records a connect (or a send with an address) to `addr`, written as
    /// a policy's `connect` field would be (`127.0.0.1:8080`,
    /// `unix:/run/x.sock`). Called by the network handlers.
    pub fn note_connect(&self, tid: i32, addr: &str) {
        let who = comm(tid);
        if let Ok(mut c) = self.connects.lock() {
            if c.len() >= self.max_connects && !c.contains_key(addr) {
                self.full.store(true, Ordering::Relaxed);
                return;
            }
            let by = c.entry(addr.to_owned()).or_default();
            if by.len() < LEARNED_USERS {
                if let Some(w) = who {
                    by.insert(w);
                }
            }
        }
    }

    /// What was recorded, sorted by path.
    pub fn paths(&self) -> BTreeMap<Vec<u8>, Use> {
        self.paths
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }

    /// Whether a path or address went unrecorded for the limits.
    pub fn was_full(&self) -> bool {
        self.full.load(Ordering::Relaxed)
    }

    /// The connects recorded, with who made them.
    pub fn connects(&self) -> BTreeMap<String, BTreeSet<String>> {
        self.connects.lock().map(|c| c.clone()).unwrap_or_default()
    }
}

/// The policy a learning run runs under: `@allow-all`, with the file the
/// policy will be written to (and the audit log) hidden from the program,
/// so that it can neither plant one nor read what is being learnt.
pub fn run_policy(vars: &Vars, out: &Path, log: Option<&Path>) -> Result<Policy, PolicyError> {
    let mut p = crate::policy::load("@allow-all", vars)?;
    for f in std::iter::once(out).chain(log) {
        let abs = std::path::absolute(f).unwrap_or_else(|_| f.to_path_buf());
        let Some(text) = abs.to_str() else { continue };
        let Ok(normal) = crate::policy::normalize(text) else {
            continue;
        };
        let canonical = crate::policy::canonicalize_prefix(&normal);
        if let Ok(pattern) = Pattern::new(&canonical) {
            p.fs.rules.push(FsRule::new(
                pattern,
                FsAction::Access(FsAccess::Hide),
                Origin::new("--learn", 0),
            ));
        }
    }
    Ok(p)
}

/// Refuses to start learning into a file that exists.
pub fn check_output(out: &Path) -> Result<(), LearnError> {
    match std::fs::symlink_metadata(out) {
        Ok(m) if m.file_type().is_symlink() => Err(LearnError::Symlink {
            path: out.to_owned(),
        }),
        Ok(_) => Err(LearnError::Exists {
            path: out.to_owned(),
        }),
        Err(_) => Ok(()),
    }
}

/// After the run: generalises what `rec` saw, writes the policy to `out`
/// and says on stderr (unless `quiet`) what was written and what the user
/// should know. `command` is the program and its arguments.
pub fn finish(
    rec: &Recorder,
    out: &Path,
    command: &[std::ffi::OsString],
    metadata: crate::policy::Metadata,
    quiet: bool,
) -> Result<(), LearnError> {
    let vars = Vars::from_env().map_err(|source| LearnError::Write {
        path: out.to_owned(),
        source,
    })?;
    let root = |s: &str| {
        crate::policy::normalize(s)
            .map(|n| crate::policy::canonicalize_prefix(&n))
            .unwrap_or_default()
    };
    let roots = Roots {
        cwd: root(&vars.cwd),
        tmpdir: root(&vars.tmpdir),
        home: root(&vars.home),
    };
    let system = crate::policy::load("@system", &vars).map_err(|e| LearnError::Write {
        path: out.to_owned(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let learned = generalise(&rec.paths(), &roots, &system);
    let shown: Vec<String> = command
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let connects = rec.connects();
    let text = render(&learned, &shown.join(" "), &connects, metadata);
    write_policy(out, &text)?;
    if !quiet {
        for n in &learned.notes {
            crate::diag!("fdsup: learn: {n}");
        }
        if rec.was_full() {
            crate::diag!(
                "fdsup: learn: the program used more than {LEARNED_PATHS} paths (or {} MiB of them) or {LEARNED_CONNECTS} addresses; those beyond were not recorded, and the policy does not allow them",
                LEARNED_PATH_BYTES >> 20
            );
        }
        crate::diag!(
            "fdsup: learned {} file-system rules and {} connect rules into {}",
            learned.rules.len(),
            connects.len(),
            out.display()
        );
    }
    Ok(())
}

/// What an allowed request of `syscall` (with open `flags`, for opens)
/// does with its path: [`READ`], or [`READ`] | [`WRITE`].
pub fn used(syscall: &str, flags: Option<u64>) -> u8 {
    if changes(syscall, flags) {
        READ | WRITE
    } else {
        READ
    }
}

/// Whether an allowed request of `syscall` (with open `flags`, for opens)
/// changes its path.
pub fn changes(syscall: &str, flags: Option<u64>) -> bool {
    if let Some(f) = flags {
        let f = crate::sys::low_i32(f);
        return f & libc::O_ACCMODE != libc::O_RDONLY
            || f & (libc::O_CREAT | libc::O_TRUNC) != 0
            || f & libc::O_TMPFILE == libc::O_TMPFILE;
    }
    CHANGING.binary_search(&syscall).is_ok()
}

/// The mediated syscalls that change their path (sorted).
const CHANGING: &[&str] = &[
    "chmod",
    "chown",
    "creat",
    "fchmod",
    "fchmodat",
    "fchmodat2",
    "fchown",
    "fchownat",
    "fremovexattr",
    "fsetxattr",
    "futimesat",
    "lchown",
    "link",
    "linkat",
    "lremovexattr",
    "lsetxattr",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "rmdir",
    "setxattr",
    "symlink",
    "symlinkat",
    "truncate",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimes",
];

/// The command name of task `tid` (`/proc/<tid>/comm`), read when the
/// request is made: after an exec it names the new program.
fn comm(tid: i32) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{tid}/comm")).ok()?;
    let s = s.trim_end_matches('\n');
    (!s.is_empty()).then(|| s.to_owned())
}

#[cfg(test)]
mod tests {

    /// Beyond its limits the recorder keeps what it has, records nothing
    /// new, and says so; what it has can still be used.
    #[test]
    fn the_recorder_is_bounded() {
        let r = Recorder::with_limits(2, 1);
        r.note(0, b"/a", READ);
        r.note(0, b"/b", READ);
        r.note(0, b"/a", WRITE);
        assert!(!r.was_full());
        r.note(0, b"/c", READ);
        assert!(r.was_full());
        let p = r.paths();
        assert_eq!(
            p.keys().cloned().collect::<Vec<_>>(),
            [b"/a".to_vec(), b"/b".to_vec()]
        );
        assert_eq!(p[&b"/a".to_vec()].how, READ | WRITE);

        let r = Recorder::with_limits(2, 1);
        r.note_connect(0, "127.0.0.1:1");
        r.note_connect(0, "127.0.0.1:1");
        assert!(!r.was_full());
        r.note_connect(0, "127.0.0.1:2");
        assert!(r.was_full());
        assert_eq!(r.connects().len(), 1);

        // Bytes too: a path is up to 4 KiB.
        let mut r = Recorder::with_limits(10, 1);
        r.max_bytes = 5;
        r.note(0, b"/a", READ);
        r.note(0, b"/bcd", READ);
        assert!(r.was_full());
        r.note(0, b"/e", READ);
        r.note(0, b"/a", WRITE);
        assert_eq!(r.paths().len(), 2);
    }
    use super::*;

    #[test]
    fn changing_is_sorted_and_known() {
        assert!(CHANGING.windows(2).all(|w| w[0] < w[1]));
        for name in CHANGING {
            assert!(
                crate::syscalls::MEDIATED.iter().any(|m| m.name == *name),
                "{name} is not mediated"
            );
        }
    }

    #[test]
    fn what_changes() {
        let f = |x: i32| Some(u64::from(x.unsigned_abs()));
        assert!(!changes("openat", f(libc::O_RDONLY | libc::O_CLOEXEC)));
        assert!(!changes("openat", f(libc::O_PATH)));
        assert!(changes("openat", f(libc::O_WRONLY)));
        assert!(changes("openat", f(libc::O_RDONLY | libc::O_CREAT)));
        assert!(changes("openat", f(libc::O_RDWR | libc::O_TMPFILE)));
        assert!(changes("unlinkat", None));
        assert!(!changes("newfstatat", None));
        assert!(!changes("getdents64", None));
    }

    #[test]
    fn records_and_merges() {
        let r = Recorder::new();
        let me = i32::try_from(std::process::id()).unwrap();
        r.note(me, b"/a", READ);
        r.note(me, b"/a", WRITE);
        r.note(me, b"/b", READ);
        let p = r.paths();
        assert_eq!(p[&b"/a"[..]].how, READ | WRITE);
        assert_eq!(p[&b"/b"[..]].how, READ);
        assert_eq!(p[&b"/a"[..]].by.len(), 1);
    }
}

//! The comparison driver: the same seed natively and under `fdsup run` with
//! each policy, transcripts and trees compared, differences reported with
//! what reproduces them.
//!
//! Everything runs in a sandbox of the driver's own ([`Sandbox::enter`]):
//! a private mount namespace in which the whole file system is read-only
//! but for fresh tmpfs mounts (one scratch tree per worker, `nodev`), and a
//! private network namespace with only loopback. The executor is hostile on
//! purpose (`..` out of the scratch tree, renames, chmods as root): whatever
//! it does outside its tree fails with `EROFS` on both sides, and nothing on
//! the machine can change.
//!
//! Policies: `allow-all` (`@allow-all`), `net` (`@allow-all` plus a network
//! section whose rules allow everything, so the network calls are trapped
//! too) and `ro` (the scratch tree `rw` but `ro/` read-only, `deny/` denied,
//! `hide/` hidden). The first two must give the native transcript and tree
//! exactly. `ro` is compared with the native run up to the first call that
//! could reach a protected subtree; after it, the calls whose path plainly
//! names one are checked against what SPEC says, and the protected
//! subtrees must be unchanged.

use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::model::*;
use crate::sys;

/// A policy to run under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// `@allow-all`.
    AllowAll,
    /// `@allow-all` with network rules allowing everything.
    Net,
    /// Scratch `rw`, `ro/` `ro`, `deny/` `deny`, `hide/` `hide`, with the
    /// network section of `Net` (unix addresses into the subtrees decided).
    Ro,
    /// The same without a network section (file-system handlers only).
    RoFs,
}

impl Policy {
    /// Its name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Policy::AllowAll => "allow-all",
            Policy::Net => "net",
            Policy::Ro => "ro",
            Policy::RoFs => "ro-fs",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "allow-all" => Some(Policy::AllowAll),
            "net" => Some(Policy::Net),
            "ro" => Some(Policy::Ro),
            "ro-fs" => Some(Policy::RoFs),
            _ => None,
        }
    }
}

/// The driver's settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// The `fdsup` binary.
    pub fdsup: PathBuf,
    /// Stop after this many calls under fdsup (all policies together).
    pub calls: u64,
    /// The first seed.
    pub seed: u64,
    /// Operations per seed.
    pub per_seed: usize,
    /// The policies.
    pub policies: Vec<Policy>,
    /// Parallel workers.
    pub workers: usize,
    /// Run the racing phase every N seeds (0: never).
    pub race_every: u64,
    /// Minimise each difference.
    pub minimise: bool,
    /// Print one line per seed.
    pub verbose: bool,
}

/// The private namespaces and the scratch mounts.
#[derive(Debug)]
pub struct Sandbox {
    /// The tmpfs holding one directory per worker.
    pub base: PathBuf,
    /// The scratch trees (each a tmpfs mount of its own).
    pub scratch: Vec<PathBuf>,
    /// A writable directory for policy files.
    pub cfg: PathBuf,
    /// `/tmp` of the original namespace, to remove the mount point at the end.
    host_tmp: Option<std::fs::File>,
    name: String,
}

impl Sandbox {
    /// Enters new mount and network namespaces (call while the process has
    /// one thread): everything read-only, `workers` scratch mounts.
    pub fn enter(workers: usize) -> std::io::Result<Self> {
        let name = format!("fdsup-fuzz-{}", std::process::id());
        let host_tmp = std::fs::File::open("/tmp")?;
        let base = Path::new("/tmp").join(&name);
        std::fs::create_dir(&base)?;
        let ns = libc::CLONE_NEWNS | libc::CLONE_NEWNET;
        if sys::unshare(ns).is_err() {
            // Without privileges: inside a user namespace mapping us to us.
            let (uid, gid) = {
                let (_, u, g) = sys::ids();
                (u, g)
            };
            sys::unshare(ns | libc::CLONE_NEWUSER)?;
            std::fs::write("/proc/self/setgroups", "deny")?;
            std::fs::write("/proc/self/uid_map", format!("{uid} {uid} 1"))?;
            std::fs::write("/proc/self/gid_map", format!("{gid} {gid} 1"))?;
        }
        let c = |s: &str| std::ffi::CString::new(s).unwrap_or_default();
        let none = c("none");
        sys::mount(&none, &c("/"), None, libc::MS_REC | libc::MS_PRIVATE, None)?;
        sys::rdonly_recursive(&c("/"))?;
        let path_c =
            |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap_or_default();
        let tmpfs = c("tmpfs");
        sys::mount(
            &tmpfs,
            &path_c(&base),
            Some(&tmpfs),
            libc::MS_NODEV | libc::MS_NOSUID,
            Some(&c("mode=0755,size=512m")),
        )?;
        // Three levels down, so that the generator's `../../..` stays on
        // mounts of ours (the host's /tmp changes under other processes).
        let deep = base.join("x").join("y");
        std::fs::create_dir_all(&deep)?;
        let mut scratch = Vec::new();
        for i in 0..workers.max(1) {
            let w = deep.join(format!("w{i}"));
            std::fs::create_dir(&w)?;
            sys::mount(
                &tmpfs,
                &path_c(&w),
                Some(&tmpfs),
                libc::MS_NODEV | libc::MS_NOSUID,
                Some(&c("mode=0755,size=256m")),
            )?;
            scratch.push(w);
        }
        let cfg = base.join("cfg");
        std::fs::create_dir(&cfg)?;
        sys::mount(
            &tmpfs,
            &path_c(&cfg),
            Some(&tmpfs),
            libc::MS_NODEV | libc::MS_NOSUID,
            Some(&c("mode=0755,size=16m")),
        )?;
        // The base itself read-only: `..` from a scratch tree meets EROFS.
        sys::mount(
            &none,
            &path_c(&base),
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY,
            None,
        )?;
        sys::loopback_up()?;
        Ok(Self {
            base,
            scratch,
            cfg,
            host_tmp: Some(host_tmp),
            name,
        })
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        use std::os::fd::AsRawFd as _;
        // A mount point of this namespace cannot be removed from any.
        if let Ok(b) = std::ffi::CString::new(self.base.as_os_str().as_bytes()) {
            sys::umount_detach(&b);
        }
        if let (Some(t), Ok(n)) = (&self.host_tmp, std::ffi::CString::new(self.name.clone())) {
            let _ = sys::rmdir_at(t.as_raw_fd(), &n);
        }
    }
}

/// What one executor run gave.
#[derive(Debug, Default)]
pub struct Run {
    /// The transcript.
    pub lines: Vec<String>,
    /// Its standard error (the executor's and fdsup's).
    pub stderr: String,
    /// Exit code (128 + N for signal N).
    pub code: i32,
    /// Killed at the time limit.
    pub hung: bool,
    /// The tree afterwards (without `race/`).
    pub digest: Vec<String>,
    /// `race/`'s entries.
    pub race_names: Vec<String>,
}

/// One worker's place.
#[derive(Debug, Clone)]
pub struct Place {
    /// The scratch tree.
    pub scratch: PathBuf,
    /// Where its policy files are.
    pub cfg: PathBuf,
    /// Its tag (abstract socket names).
    pub tag: String,
}

impl Place {
    /// Writes the policy files for this place; returns the `--policy`
    /// argument of each policy.
    pub fn policy_arg(&self, p: Policy) -> std::io::Result<String> {
        let net_rules = r#"
    "default": "allow",
    "rules": [
      { "connect": "0.0.0.0/0:*" }, { "connect": "[::/0]:*" },
      { "connect": "unix:/**" }, { "bind": "0.0.0.0/0:*" },
      { "bind": "[::/0]:*" }, { "bind": "unix:/**" }
    ]"#;
        let s = self.scratch.display();
        let text = match p {
            Policy::AllowAll => return Ok("@allow-all".to_owned()),
            Policy::Net => format!(
                "{{\n  \"version\": 1,\n  \"include\": [\"@allow-all\"],\n  \"network\": {{{net_rules}\n  }}\n}}\n"
            ),
            Policy::RoFs => format!(
                "{{\n  \"version\": 1,\n  \"include\": [\"@allow-all\"],\n  \"filesystem\": {{\n    \"default\": \"rw\",\n    \"rules\": [\n      {{ \"path\": \"{s}\", \"access\": \"rw\" }},\n      {{ \"path\": \"{s}/ro\", \"access\": \"ro\" }},\n      {{ \"path\": \"{s}/deny\", \"access\": \"deny\" }},\n      {{ \"path\": \"{s}/hide\", \"access\": \"hide\" }}\n    ]\n  }}\n}}\n"
            ),
            Policy::Ro => format!(
                "{{\n  \"version\": 1,\n  \"include\": [\"@allow-all\"],\n  \"filesystem\": {{\n    \"default\": \"rw\",\n    \"rules\": [\n      {{ \"path\": \"{s}\", \"access\": \"rw\" }},\n      {{ \"path\": \"{s}/ro\", \"access\": \"ro\" }},\n      {{ \"path\": \"{s}/deny\", \"access\": \"deny\" }},\n      {{ \"path\": \"{s}/hide\", \"access\": \"hide\" }}\n    ]\n  }},\n  \"network\": {{{net_rules}\n  }}\n}}\n"
            ),
        };
        let f = self.cfg.join(format!("{}-{}.json", self.tag, p.name()));
        std::fs::write(&f, text)?;
        Ok(f.display().to_string())
    }
}

/// Runs the executor once: natively (`policy` None) or under fdsup.
#[allow(clippy::too_many_arguments)]
pub fn run_exec(
    fdsup: &Path,
    place: &Place,
    policy: Option<Policy>,
    seed: u64,
    calls: usize,
    keep: Option<&[usize]>,
    race: bool,
) -> std::io::Result<Run> {
    crate::tree::wipe(&place.scratch)?;
    crate::tree::populate(&place.scratch)?;
    let me = std::env::current_exe()?;
    let mut args: Vec<String> = vec![
        "exec".into(),
        "--seed".into(),
        seed.to_string(),
        "--calls".into(),
        calls.to_string(),
        "--scratch".into(),
        place.scratch.display().to_string(),
        "--tag".into(),
        place.tag.clone(),
        "--side".into(),
        if policy.is_some() { "fdsup" } else { "native" }.into(),
    ];
    if let Some(k) = keep {
        args.push("--keep".into());
        args.push(
            k.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if race {
        args.push("--race".into());
    }
    let mut cmd = match policy {
        None => {
            let mut c = Command::new(&me);
            c.args(&args);
            c
        }
        Some(p) => {
            let mut c = Command::new(fdsup);
            c.arg("run")
                .arg("--policy")
                .arg(place.policy_arg(p)?)
                .arg("--")
                .arg(&me)
                .args(&args);
            c
        }
    };
    cmd.current_dir(&place.scratch)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let limit = Duration::from_secs(10) + Duration::from_millis(3 * calls as u64);
    let mut child = cmd.spawn()?;
    let pgid = i32::try_from(child.id()).unwrap_or(0);
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut s);
        }
        s
    });
    let start = Instant::now();
    let mut hung = false;
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if start.elapsed() > limit {
            hung = true;
            sys::kill(-pgid, libc::SIGKILL);
            break child.wait()?;
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // Whatever the program left behind in its group goes too.
    sys::kill(-pgid, libc::SIGKILL);
    let stdout = t_out.join().unwrap_or_default();
    let stderr = t_err.join().unwrap_or_default();
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    let digest = crate::tree::digest(&place.scratch, Some("race"));
    let race_names = race_entries(&place.scratch.join("race"));
    Ok(Run {
        lines: String::from_utf8_lossy(&stdout)
            .lines()
            .map(str::to_owned)
            .collect(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
        code,
        hung,
        digest,
        race_names,
    })
}

fn race_entries(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    fn walk(d: &Path, rel: &str, v: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(d) else { return };
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            let r = if rel.is_empty() {
                n.clone()
            } else {
                format!("{rel}/{n}")
            };
            if e.file_type().is_ok_and(|t| t.is_dir()) && rel.split('/').count() < 8 {
                walk(&e.path(), &r, v);
            }
            v.push(r);
        }
    }
    walk(dir, "", &mut v);
    v
}

/// A difference found.
#[derive(Debug, Clone)]
pub struct Finding {
    /// The seed.
    pub seed: u64,
    /// The policy.
    pub policy: Policy,
    /// Operations in the run.
    pub calls: usize,
    /// The index of the first differing call, if it is a call.
    pub index: Option<usize>,
    /// What kind of difference.
    pub what: String,
    /// The native side.
    pub native: String,
    /// The fdsup side.
    pub fdsup: String,
    /// A smaller set of indices that still shows it.
    pub keep: Option<Vec<usize>>,
}

impl Finding {
    /// A short signature to group findings: the syscall and both results.
    pub fn signature(&self) -> String {
        let name = |l: &str| {
            l.split_once(' ')
                .map(|(_, r)| r)
                .unwrap_or(l)
                .split('(')
                .next()
                .unwrap_or("")
                .to_owned()
        };
        let res = |l: &str| {
            l.rsplit_once(" = ")
                .map(|(_, r)| r.split([' ', '|']).next().unwrap_or("").to_owned())
                .unwrap_or_else(|| "-".into())
        };
        format!(
            "{} [{}] {}: native {} / fdsup {}",
            self.what,
            self.policy.name(),
            name(&self.native),
            res(&self.native),
            res(&self.fdsup)
        )
    }

    /// The full report.
    pub fn report(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "DIFFERENCE ({}) seed={} policy={} index={}",
            self.what,
            self.seed,
            self.policy.name(),
            self.index.map_or_else(|| "-".into(), |i| i.to_string())
        );
        let _ = writeln!(s, "  native: {}", cut(&self.native, 2000));
        let _ = writeln!(s, "  fdsup:  {}", cut(&self.fdsup, 2000));
        let _ = write!(
            s,
            "  reproduce: fdsup-fuzz repro --seed {} --calls {} --policy {}",
            self.seed,
            self.calls,
            self.policy.name()
        );
        if let Some(k) = &self.keep {
            let _ = write!(
                s,
                " --keep {}",
                k.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            );
        }
        s.push('\n');
        s
    }
}

fn cut(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

/// Whether two transcript lines differ only in which error a network call
/// that failed on both sides reported: where a call has several faults
/// (a bad buffer and a closed peer, say), fdsup may report another one
/// than the kernel (README Limits), so that is not compared.
fn same_but_fault_order(a: &str, b: &str) -> bool {
    const NET: [&str; 5] = ["connect(", "bind(", "sendto(", "sendmsg(", "sendmmsg("];
    let split = |l: &str| -> Option<(String, String, String)> {
        let (head, rest) = l.rsplit_once(" = ")?;
        let (result, tail) = rest.split_once(" | ").unwrap_or((rest, ""));
        let call = head.split_once(' ')?.1;
        NET.iter()
            .any(|n| call.starts_with(n))
            .then(|| (head.to_owned(), result.to_owned(), tail.to_owned()))
    };
    let err = |r: &str| {
        r.starts_with('E')
            && r.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    match (split(a), split(b)) {
        (Some((ha, ra, ta)), Some((hb, rb, tb))) => ha == hb && ta == tb && err(&ra) && err(&rb),
        _ => false,
    }
}

/// The index a transcript line is about.
fn line_index(l: &str) -> Option<usize> {
    l.split_once(' ').and_then(|(i, _)| i.parse().ok())
}

/// Compares a run under fdsup with the native run of the same seed.
/// `upto`: compare call lines below this index only (the `ro` policy).
fn compare(
    native: &Run,
    fdsup: &Run,
    upto: Option<usize>,
    exact_tree: bool,
) -> Option<(String, Option<usize>, String, String)> {
    if fdsup.hung {
        let last = fdsup.lines.last().cloned().unwrap_or_default();
        return Some((
            "hang".into(),
            line_index(&last).map(|i| i + 1),
            format!("finished ({} lines)", native.lines.len()),
            format!("killed at the time limit after: {last}"),
        ));
    }
    if fdsup.stderr.contains("panicked") || fdsup.stderr.contains("RUST_BACKTRACE") {
        return Some((
            "panic".into(),
            None,
            String::new(),
            cut(&fdsup.stderr, 4000),
        ));
    }
    if let Some(u) = upto {
        let by_index: std::collections::HashMap<usize, &String> = fdsup
            .lines
            .iter()
            .filter_map(|l| line_index(l).map(|i| (i, l)))
            .collect();
        for a in &native.lines {
            match line_index(a) {
                Some(i) if i < u => {
                    let b = by_index
                        .get(&i)
                        .map_or_else(|| "(missing)".to_owned(), |b| (*b).clone());
                    if *a != b && !same_but_fault_order(a, &b) {
                        return Some(("transcript".into(), Some(i), a.clone(), b));
                    }
                }
                Some(_) => {}
                None => {
                    let key = a.split(' ').next().unwrap_or("");
                    if key == "start" || key == "anchors" {
                        let b = fdsup
                            .lines
                            .iter()
                            .find(|l| l.split(' ').next() == Some(key))
                            .cloned()
                            .unwrap_or_default();
                        if *a != b {
                            return Some(("transcript".into(), None, a.clone(), b));
                        }
                    }
                }
            }
        }
        return None;
    }
    for (i, (a, b)) in native.lines.iter().zip(&fdsup.lines).enumerate() {
        if a != b && !same_but_fault_order(a, b) {
            let idx = line_index(a);
            let _ = i;
            return Some(("transcript".into(), idx, a.clone(), b.clone()));
        }
    }
    if native.lines.len() != fdsup.lines.len() || fdsup.code != native.code {
        let n = native.lines.len().min(fdsup.lines.len());
        return Some((
            "exit".into(),
            None,
            format!(
                "exit {} after {} lines: {}",
                native.code,
                native.lines.len(),
                native.lines.get(n).cloned().unwrap_or_default()
            ),
            format!(
                "exit {} after {} lines: {} / stderr: {}",
                fdsup.code,
                fdsup.lines.len(),
                fdsup.lines.get(n).cloned().unwrap_or_default(),
                cut(&fdsup.stderr, 1000)
            ),
        ));
    }
    if exact_tree && native.digest != fdsup.digest {
        let (a, b) = first_diff(&native.digest, &fdsup.digest);
        return Some(("tree".into(), None, a, b));
    }
    for n in &fdsup.race_names {
        if !n.split('/').all(|c| crate::race::NAMES.contains(&c)) {
            return Some((
                "race-invariant".into(),
                None,
                "race/ holds the phase's names only".into(),
                format!("race/{n}"),
            ));
        }
    }
    None
}

fn first_diff(a: &[String], b: &[String]) -> (String, String) {
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).cloned().unwrap_or_else(|| "(none)".into());
        let y = b.get(i).cloned().unwrap_or_else(|| "(none)".into());
        if x != y {
            return (x, y);
        }
    }
    (String::new(), String::new())
}

// ---- the `ro` policy's oracle ----------------------------------------------

const PROTECTED: [&[u8]; 3] = [b"ro", b"deny", b"hide"];

/// Which positions of a call's arguments are paths that are looked up
/// (not symlink targets, xattr or memfd names).
fn lookup_paths(sc: Sc) -> &'static [usize] {
    use Sc::*;
    match sc {
        Open | Creat | Stat | Lstat | Statfs | Access | Readlink | Chdir | Mkdir | Mknod
        | Unlink | Rmdir | Chmod | Chown | Lchown | Utime | Utimes | Truncate | Setxattr
        | Lsetxattr | Getxattr | Lgetxattr | Listxattr | Llistxattr | Removexattr
        | Lremovexattr => &[0],
        Openat | Newfstatat | Statx | Faccessat | Faccessat2 | Readlinkat | Mkdirat | Mknodat
        | Unlinkat | Fchmodat | Fchmodat2 | Fchownat | Futimesat | Utimensat | InotifyAddWatch
        | Symlink => &[1],
        Symlinkat => &[2],
        Rename | Link => &[0, 1],
        Renameat | Renameat2 | Linkat => &[1, 3],
        _ => &[],
    }
}

/// The path's components relative to the scratch tree, if it is plainly
/// in it (relative from the scratch tree, or absolute under it).
fn rel_components<'a>(bytes: &'a [u8], scratch: &[u8]) -> Option<Vec<&'a [u8]>> {
    let rel = if bytes.first() == Some(&b'/') {
        let rest = bytes.strip_prefix(scratch)?;
        if !rest.is_empty() && rest[0] != b'/' {
            return None;
        }
        rest
    } else {
        bytes
    };
    Some(
        rel.split(|&c| c == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
            .collect(),
    )
}

/// Every path-like byte string of an operation (looked up or not).
fn all_paths(op: &Op) -> Vec<&[u8]> {
    let mut v = Vec::new();
    if let Op::Call { args, .. } = op {
        for a in args {
            match a {
                Arg::Path(p) if !matches!(p.loc, Loc::Bad(_)) => v.push(&p.bytes[..]),
                Arg::Addr(Addr::Built {
                    body: AddrBody::Unix { path, .. },
                    ..
                }) => v.push(&path[..]),
                Arg::Msg(Ok(m)) => {
                    if let Addr::Built {
                        body: AddrBody::Unix { path, .. },
                        ..
                    } = &m.name
                    {
                        v.push(&path[..]);
                    }
                }
                Arg::Msgs(Ok(ms)) => {
                    for m in ms {
                        if let Addr::Built {
                            body: AddrBody::Unix { path, .. },
                            ..
                        } = &m.name
                        {
                            v.push(&path[..]);
                        }
                    }
                }
                _ => {}
            }
        }
    }
    v
}

/// Could the operation reach a protected subtree (or make a later one
/// reach it)? From the first such operation on, the `ro` run is no longer
/// compared with the native one call by call.
fn touches(op: &Op, scratch: &[u8]) -> bool {
    let Op::Call { sc, .. } = op else {
        return false;
    };
    if matches!(
        sc,
        Sc::Getdents | Sc::Getdents64 | Sc::InotifyAddWatch | Sc::Fchdir
    ) {
        return true;
    }
    let risky: [&[u8]; 6] = [b"ro", b"deny", b"hide", b"..", b"l6", b"l9"];
    for p in all_paths(op) {
        if p.contains(&crate::gen::MARK) || p.starts_with(b"/proc") {
            return true;
        }
        if p.split(|&c| c == b'/').any(|c| risky.contains(&c)) {
            return true;
        }
        // Renaming the scratch tree itself: EXDEV by design (it holds the
        // protected subtrees), something else natively.
        if matches!(sc, Sc::Rename | Sc::Renameat | Sc::Renameat2)
            && rel_components(p, scratch).is_some_and(|c| c.is_empty())
        {
            return true;
        }
    }
    if let (Sc::Chdir, Op::Call { args, .. }) = (sc, op) {
        return !matches!(args.first(), Some(Arg::Path(p)) if p.bytes == scratch && p.loc == Loc::Normal);
    }
    false
}

/// Does the operation change what its path at `pos` names?
fn mutates(sc: Sc, args: &[Arg], pos: usize) -> bool {
    use Sc::*;
    let int = |i: usize| match args.get(i) {
        Some(Arg::Int(v)) => *v,
        _ => 0,
    };
    let open_writes = |f: u64| {
        let f = f as u32 as i32;
        f & libc::O_PATH == 0
            && (f & libc::O_ACCMODE != 0
                || f & (libc::O_CREAT | libc::O_TRUNC) != 0
                || f & libc::O_TMPFILE == libc::O_TMPFILE)
    };
    match sc {
        Open => open_writes(int(1)),
        Openat => open_writes(int(2)),
        Openat2 => match args.get(2) {
            Some(Arg::Blob { bytes, .. }) if bytes.len() >= 8 => {
                open_writes(u64::from_ne_bytes(bytes[..8].try_into().unwrap_or([0; 8])))
            }
            _ => false,
        },
        Creat | Mkdir | Mkdirat | Mknod | Mknodat | Symlink | Symlinkat | Unlink | Unlinkat
        | Rmdir | Rename | Renameat | Renameat2 | Link | Linkat | Chmod | Fchmodat | Fchmodat2
        | Chown | Lchown | Fchownat | Utime | Utimes | Futimesat | Utimensat | Truncate
        | Setxattr | Lsetxattr | Removexattr | Lremovexattr => {
            let _ = pos;
            true
        }
        _ => false,
    }
}

/// What SPEC says of one call whose path plainly names a protected
/// subtree, given its result token; `Some(why)` if it is broken.
fn oracle(
    op: &Op,
    result: &str,
    scratch: &[u8],
    dirfd_cwd: &dyn Fn(&[Arg], usize) -> bool,
) -> Option<String> {
    let Op::Call { sc, args, .. } = op else {
        return None;
    };
    if result.starts_with('X') {
        return None;
    }
    // Answers the kernel gives before it looks at the path: mknod of a
    // directory (EPERM), an empty symlink target (ENOENT), O_CREAT with a
    // trailing slash (EISDIR, the last component never looked up).
    let early = match (sc, result) {
        (Sc::Mknod | Sc::Mknodat, "EPERM") => true,
        // UTIME_OMIT twice: done, no path looked at.
        (Sc::Utimensat, "0") => matches!(args.get(2), Some(Arg::Blob { bytes, .. })
            if bytes.len() >= 32
                && bytes[8..16] == ((1i64 << 30) - 2).to_ne_bytes()
                && bytes[24..32] == ((1i64 << 30) - 2).to_ne_bytes()),
        (Sc::Symlink | Sc::Symlinkat, "ENOENT") => {
            matches!(args.first(), Some(Arg::Path(p)) if p.bytes.is_empty())
        }
        (Sc::Open | Sc::Openat | Sc::Openat2 | Sc::Creat, "EISDIR") => args
            .iter()
            .any(|a| matches!(a, Arg::Path(p) if p.bytes.last() == Some(&b'/'))),
        _ => false,
    };
    if early {
        return None;
    }
    let mut hits: Vec<(&[u8], bool, usize)> = Vec::new();
    for &pos in lookup_paths(*sc) {
        let Some(Arg::Path(p)) = args.get(pos) else {
            continue;
        };
        if !p.nul || matches!(p.loc, Loc::Bad(_)) {
            continue;
        }
        if p.bytes.first() != Some(&b'/') && !dirfd_cwd(args, pos) {
            continue;
        }
        let Some(comps) = rel_components(&p.bytes, scratch) else {
            continue;
        };
        if comps.iter().any(|c| *c == b"..") {
            continue;
        }
        if let Some(first) = comps.first() {
            if let Some(t) = PROTECTED.iter().find(|t| *t == first) {
                hits.push((t, mutates(*sc, args, pos), pos));
            }
        }
    }
    if hits.is_empty() {
        return None;
    }
    let ok = !result.starts_with('E') && !result.starts_with('X');
    let hidden = hits.iter().any(|h| h.0 == b"hide");
    let denied = hits.iter().any(|h| h.0 == b"deny");
    let ro_write = hits.iter().any(|h| h.0 == b"ro" && h.1);
    if ok && (hidden || denied || ro_write) {
        return Some(format!("succeeded on a protected path ({result})"));
    }
    // Where two paths are looked up, an error about the other one may come
    // first (and reveals nothing); a link's source is looked up whole before
    // the target, so a refusal of the source comes first.
    let two_paths = lookup_paths(*sc).len() > 1;
    let first_is_hit =
        hits.len() == 1 && matches!(sc, Sc::Link | Sc::Linkat) && hits[0].2 == lookup_paths(*sc)[0];
    let only = hits.len() == 1 && (!two_paths || first_is_hit);
    let reveals = [
        "EEXIST",
        "ENOTEMPTY",
        "EISDIR",
        "ENOTDIR",
        "ENODATA",
        "ELOOP",
    ];
    if only && hidden && (reveals.contains(&result) || result == "EACCES" || result == "EPERM") {
        return Some(format!("a hidden path answered {result}, not ENOENT"));
    }
    if only && denied && (reveals.contains(&result) || result == "ENOENT") {
        return Some(format!("a denied path answered {result}, not EACCES"));
    }
    None
}

/// Checks a run under the `ro` policy: the native transcript up to the
/// first call that may reach a protected subtree, SPEC's answers for plain
/// paths into them, the subtrees unchanged, the supervisor alive.
fn check_ro(
    native: &Run,
    run: &Run,
    ops: &[Op],
    scratch: &[u8],
    before: &[String],
) -> Option<(String, Option<usize>, String, String)> {
    let stop = ops
        .iter()
        .position(|o| touches(o, scratch))
        .unwrap_or(ops.len());
    if let Some(d) = compare(native, run, Some(stop), false) {
        return Some(d);
    }
    let prot = |d: &[String]| -> Vec<String> {
        d.iter()
            .filter(|l| {
                PROTECTED.iter().any(|p| {
                    let q = format!("\"{}", String::from_utf8_lossy(p));
                    l.starts_with(&(q.clone() + "\"")) || l.starts_with(&(q + "/"))
                })
            })
            .cloned()
            .collect()
    };
    if prot(before) != prot(&run.digest) {
        let (a, b) = first_diff(&prot(before), &prot(&run.digest));
        return Some(("protected-subtree-changed".into(), None, a, b));
    }
    // Per call, where the path is plain.
    let mut cwd_known = true;
    let mut results = std::collections::HashMap::new();
    for l in &run.lines {
        if let (Some(i), Some((_, r))) = (line_index(l), l.rsplit_once(" = ")) {
            results.insert(i, r.split([' ', '|']).next().unwrap_or("").to_owned());
        }
    }
    for (i, op) in ops.iter().enumerate() {
        if let Op::Call { sc, args, .. } = op {
            let cwd_ok = cwd_known;
            let dirfd_cwd = |args: &[Arg], pos: usize| -> bool {
                if !cwd_ok {
                    return false;
                }
                let dir_at = match (sc, pos) {
                    (Sc::Symlinkat, 2) => Some(1),
                    (Sc::Renameat | Sc::Renameat2 | Sc::Linkat, 1) => Some(0),
                    (Sc::Renameat | Sc::Renameat2 | Sc::Linkat, 3) => Some(2),
                    (_, 1) => Some(0),
                    _ => None,
                };
                match dir_at {
                    None => true,
                    Some(d) => matches!(args.get(d), Some(Arg::Fd(FdArg::Cwd))),
                }
            };
            if let Some(r) = results.get(&i) {
                if let Some(why) = oracle(op, r, scratch, &dirfd_cwd) {
                    let line = run
                        .lines
                        .iter()
                        .find(|l| line_index(l) == Some(i))
                        .cloned()
                        .unwrap_or_default();
                    return Some(("spec".into(), Some(i), why, line));
                }
            }
            if *sc == Sc::Fchdir
                || (*sc == Sc::Chdir
                    && !matches!(args.first(), Some(Arg::Path(p)) if p.bytes == scratch && p.loc == Loc::Normal))
            {
                cwd_known = false;
            } else if *sc == Sc::Chdir {
                cwd_known = true;
            }
        }
    }
    let alive = |r: &Run| {
        r.lines
            .iter()
            .filter(|l| l.starts_with("alive"))
            .cloned()
            .collect::<Vec<_>>()
    };
    if alive(run) != alive(native)
        || run.code != 0
        || run.lines.last().map(String::as_str) != Some("end")
    {
        return Some((
            "not-alive".into(),
            None,
            format!("{:?}", alive(native)),
            format!(
                "{:?} exit {} last {:?} stderr {}",
                alive(run),
                run.code,
                run.lines.last(),
                cut(&run.stderr, 1000)
            ),
        ));
    }
    None
}

// ---- seeds, minimising, the benchmark ---------------------------------------

/// Runs one seed under one policy (given the native run); a finding if any.
#[allow(clippy::too_many_arguments)]
pub fn check_seed(
    fdsup: &Path,
    place: &Place,
    policy: Policy,
    seed: u64,
    calls: usize,
    native: &Run,
    keep: Option<&[usize]>,
    race: bool,
) -> std::io::Result<(Run, Option<Finding>)> {
    let run = run_exec(fdsup, place, Some(policy), seed, calls, keep, race)?;
    let d = match policy {
        Policy::AllowAll | Policy::Net => compare(native, &run, None, true),
        Policy::Ro | Policy::RoFs => {
            let scratch = place.scratch.as_os_str().as_bytes();
            let mut ops = crate::gen::sequence(seed, calls, scratch);
            if let Some(k) = keep {
                for (i, o) in ops.iter_mut().enumerate() {
                    if k.binary_search(&i).is_err() {
                        *o = Op::Umask(0o022);
                    }
                }
            }
            crate::tree::wipe(&place.scratch)?;
            crate::tree::populate(&place.scratch)?;
            let before = crate::tree::digest(&place.scratch, Some("race"));
            check_ro(native, &run, &ops, scratch, &before)
        }
    };
    let f = d.map(|(what, index, n, f)| Finding {
        seed,
        policy,
        calls,
        index,
        what,
        native: n,
        fdsup: f,
        keep: None,
    });
    Ok((run, f))
}

/// Looks for a small set of calls that still gives the difference: for a
/// call's answer, calls before it (the call itself kept) whose removal keeps
/// a difference at that call; for a tree, any calls whose removal keeps the
/// same first differing entry. At most `budget` pairs of runs.
pub fn minimise(fdsup: &Path, place: &Place, f: &Finding, budget: usize) -> Option<Vec<usize>> {
    let (k, calls) = match f.what.as_str() {
        "transcript" | "spec" => {
            let k = f.index?;
            (Some(k), k + 1)
        }
        "tree" | "protected-subtree-changed" => (None, f.calls),
        _ => return None,
    };
    let still = |keep: &[usize]| -> bool {
        let Ok(n) = run_exec(fdsup, place, None, f.seed, calls, Some(keep), false) else {
            return false;
        };
        let Ok((_, d)) = check_seed(fdsup, place, f.policy, f.seed, calls, &n, Some(keep), false)
        else {
            return false;
        };
        d.is_some_and(|d| match k {
            Some(k) => d.index == Some(k),
            None => d.what == f.what && d.native == f.native && d.fdsup == f.fdsup,
        })
    };
    let mut cur: Vec<usize> = (0..k.unwrap_or(calls)).collect();
    let with_k = |c: &[usize]| -> Vec<usize> {
        let mut v = c.to_vec();
        if let Some(k) = k {
            v.push(k);
        }
        v
    };
    let mut n = 2usize;
    let mut spent = 0;
    while !cur.is_empty() && spent < budget {
        let chunk = cur.len().div_ceil(n);
        let mut reduced = false;
        let parts = n;
        for i in 0..parts {
            let lo = i * chunk;
            if lo >= cur.len() {
                break;
            }
            let hi = (lo + chunk).min(cur.len());
            let cand: Vec<usize> = cur[..lo].iter().chain(&cur[hi..]).copied().collect();
            spent += 1;
            if still(&with_k(&cand)) {
                cur = cand;
                n = (n - 1).max(2);
                reduced = true;
                break;
            }
            if spent >= budget {
                break;
            }
        }
        if !reduced {
            if n >= cur.len() {
                break;
            }
            n = (n * 2).min(cur.len());
        }
    }
    Some(with_k(&cur))
}

/// Totals of a benchmark run.
#[derive(Debug, Default)]
pub struct Totals {
    /// Calls run under fdsup, per policy.
    pub calls: Mutex<Vec<(Policy, u64)>>,
    /// Native calls.
    pub native: AtomicU64,
    /// Racing calls (under fdsup).
    pub race: AtomicU64,
    /// Seeds done.
    pub seeds: AtomicU64,
    /// Findings.
    pub findings: Mutex<Vec<Finding>>,
}

/// The benchmark: seeds from `opts.seed` on, across `opts.workers`
/// workers, until `opts.calls` calls ran under fdsup. Prints findings as
/// they come and a summary; returns the number of differences.
pub fn bench(opts: &Options, sandbox: &Sandbox) -> usize {
    let start = Instant::now();
    let totals = Totals::default();
    *totals.calls.lock().unwrap_or_else(|e| e.into_inner()) =
        opts.policies.iter().map(|p| (*p, 0)).collect();
    let next_seed = AtomicU64::new(opts.seed);
    let done_calls = AtomicU64::new(0);
    let print = Mutex::new(());
    let places: Vec<Place> = sandbox
        .scratch
        .iter()
        .enumerate()
        .map(|(i, s)| Place {
            scratch: s.clone(),
            cfg: sandbox.cfg.clone(),
            tag: format!("w{i}-{}", std::process::id()),
        })
        .collect();
    std::thread::scope(|s| {
        for place in &places {
            let totals = &totals;
            let next_seed = &next_seed;
            let done_calls = &done_calls;
            let print = &print;
            s.spawn(move || {
                // A network namespace per worker (the namespace is a
                // thread's): no worker's ephemeral ports meet another's.
                if sys::unshare(libc::CLONE_NEWNET).is_err() || sys::loopback_up().is_err() {
                    eprintln!(
                        "fdsup-fuzz: no network namespace of the worker's own; workers share one"
                    );
                }
                while done_calls.load(Ordering::Relaxed) < opts.calls {
                    let seed = next_seed.fetch_add(1, Ordering::Relaxed);
                    let race = opts.race_every > 0 && seed.is_multiple_of(opts.race_every);
                    let native =
                        match run_exec(&opts.fdsup, place, None, seed, opts.per_seed, None, race) {
                            Ok(n) => n,
                            Err(e) => {
                                eprintln!("fdsup-fuzz: seed {seed}: native run: {e}");
                                return;
                            }
                        };
                    totals
                        .native
                        .fetch_add(opts.per_seed as u64, Ordering::Relaxed);
                    let mut seed_line = format!("seed {seed}:");
                    for &p in &opts.policies {
                        let (_, f) = match check_seed(
                            &opts.fdsup,
                            place,
                            p,
                            seed,
                            opts.per_seed,
                            &native,
                            None,
                            race,
                        ) {
                            Ok(x) => x,
                            Err(e) => {
                                eprintln!("fdsup-fuzz: seed {seed} {}: {e}", p.name());
                                return;
                            }
                        };
                        done_calls.fetch_add(opts.per_seed as u64, Ordering::Relaxed);
                        if race {
                            totals.race.fetch_add(800, Ordering::Relaxed);
                        }
                        if let Some(c) = totals
                            .calls
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .iter_mut()
                            .find(|c| c.0 == p)
                        {
                            c.1 += opts.per_seed as u64;
                        }
                        let _ = write!(
                            seed_line,
                            " {}={}",
                            p.name(),
                            if f.is_some() { "DIFF" } else { "ok" }
                        );
                        if let Some(mut f) = f {
                            if opts.minimise {
                                f.keep = minimise(&opts.fdsup, place, &f, 60);
                            }
                            let _g = print.lock();
                            println!("{}", f.report());
                            totals
                                .findings
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .push(f);
                        }
                    }
                    totals.seeds.fetch_add(1, Ordering::Relaxed);
                    if opts.verbose {
                        let _g = print.lock();
                        println!("{seed_line}");
                    }
                }
            });
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let findings = totals.findings.lock().unwrap_or_else(|e| e.into_inner());
    let calls = totals.calls.lock().unwrap_or_else(|e| e.into_inner());
    let total: u64 = calls.iter().map(|c| c.1).sum();
    println!("---");
    println!(
        "calls run under fdsup: {total} ({}), natively: {}, racing (unchecked, under fdsup): {}",
        calls
            .iter()
            .map(|(p, n)| format!("{}: {n}", p.name()))
            .collect::<Vec<_>>()
            .join(", "),
        totals.native.load(Ordering::Relaxed),
        totals.race.load(Ordering::Relaxed)
    );
    println!(
        "seeds: {} (from {}), {} operations each",
        totals.seeds.load(Ordering::Relaxed),
        opts.seed,
        opts.per_seed
    );
    let mut sigs: Vec<String> = findings.iter().map(Finding::signature).collect();
    sigs.sort();
    let mut grouped: Vec<(String, usize)> = Vec::new();
    for s in sigs {
        match grouped.last_mut() {
            Some(g) if g.0 == s => g.1 += 1,
            _ => grouped.push((s, 1)),
        }
    }
    println!(
        "differences found: {} ({} distinct)",
        findings.len(),
        grouped.len()
    );
    for (s, n) in &grouped {
        println!("  {n}x {s}");
    }
    println!(
        "time: {secs:.1} s ({:.0} calls/s under fdsup)",
        total as f64 / secs.max(0.001)
    );
    findings.len()
}

#[cfg(test)]
mod tests {
    use super::same_but_fault_order;

    #[test]
    fn only_two_errors_of_one_network_call_pass() {
        let n = "7 sendto(slot9, One, 0x1, 0x0, 127.0.0.1:Udp, len) = EPIPE | slot8<-\"\"";
        let f = "7 sendto(slot9, One, 0x1, 0x0, 127.0.0.1:Udp, len) = EFAULT | slot8<-\"\"";
        assert!(same_but_fault_order(n, f));
        // Success against failure, or what arrived, still differ.
        let ok = "7 sendto(slot9, One, 0x1, 0x0, 127.0.0.1:Udp, len) = 1 | slot8<-\"\"";
        assert!(!same_but_fault_order(n, ok));
        let other_tail =
            "7 sendto(slot9, One, 0x1, 0x0, 127.0.0.1:Udp, len) = EFAULT | slot8<-\"x\"";
        assert!(!same_but_fault_order(n, other_tail));
        // Not a network call: compared exactly.
        let open_a = "3 openat(AT_FDCWD, \"x\", 0x0, 0o0) = ENOENT";
        let open_b = "3 openat(AT_FDCWD, \"x\", 0x0, 0o0) = EACCES";
        assert!(!same_but_fault_order(open_a, open_b));
    }
}

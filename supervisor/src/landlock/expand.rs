//! From the executable set to Landlock paths: the planner.
//!
//! Starting at `/`, each path is classified by the rules that can matter for
//! it and what lies below it (the rules that match it, or can match
//! something strictly below it: [`Pattern::reaches_below`]):
//!
//! - its whole tree is executable: one grant;
//! - nothing in its tree is executable: nothing;
//! - else, a directory is listed and each child classified the same way,
//!   with only the rules still relevant to it; a file (nothing below it) is
//!   granted alone if it is executable itself.
//!
//! Symbolic links are never granted nor followed (what they point to is
//! decided at its own canonical path), nor are devices, FIFOs and sockets
//! (they cannot be executed); `/proc` and `/sys` are never listed (nothing
//! there can be executed). Directories are opened on descriptors, one
//! component at a time without following symbolic links, so a name swapped
//! meanwhile cannot lead the walk elsewhere.
//!
//! The walk is bounded by [`Limits`]. A directory whose listing would pass
//! them is *left out* ([`LeftOut`]): nothing below it is granted (grants made
//! below it so far are taken back), so the plan only ever grants less than
//! the policy allows, never more.

use std::ffi::CStr;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::fs::FileType;

use super::{readable, ExecSet};
use crate::fs::lexical::push_component;
use crate::policy::{ExecAccess, Pattern, Policy};

/// Bounds of the walk.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Directory entries listed in all.
    pub max_listed: usize,
    /// Grants (Landlock rules) in all.
    pub max_grants: usize,
    /// Components below `/` of a directory that may still be listed.
    pub max_depth: usize,
}

impl Default for Limits {
    /// Some tens of milliseconds of work at most; far above what `@default`
    /// needs (a listing of `/etc` and `/etc/ssh`, about 140 entries and 135
    /// rules: under a millisecond).
    fn default() -> Self {
        Self {
            max_listed: 20_000,
            max_grants: 4_096,
            max_depth: 40,
        }
    }
}

/// One path beneath which exec is granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// Its canonical path.
    pub path: Vec<u8>,
    /// The whole tree below it is executable. When false, it was decided as
    /// a single file (rules decide below it differently) and must not be
    /// granted if it has become a directory.
    pub tree: bool,
}

/// Why a directory was left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeftOut {
    /// Its listing would pass [`Limits`].
    TooMany,
    /// It lies deeper than [`Limits::max_depth`].
    TooDeep,
    /// It could not be opened or listed (this errno).
    Unreadable(i32),
}

/// The result of the walk.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Where exec is granted.
    pub grants: Vec<Grant>,
    /// Directories under which nothing is granted though the policy may
    /// allow something there.
    pub left_out: Vec<(Vec<u8>, LeftOut)>,
    /// Entries listed.
    pub listed: usize,
}

/// What the rules say about one path and its tree.
#[derive(Debug, Clone, Copy)]
struct Look {
    /// The file system lets the program read the path.
    readable: bool,
    /// The exec section allows the path.
    exec: bool,
    /// Everything below it is decided as it is by the file system.
    fs_uniform: bool,
    /// And by the exec section.
    ex_uniform: bool,
}

impl Look {
    /// The path itself is executable.
    fn allowed(self) -> bool {
        self.readable && self.exec
    }

    /// Everything below it is as executable as it is.
    fn uniform(self) -> bool {
        // Alike by both sections, or refused all through by one of them.
        (self.fs_uniform && (self.ex_uniform || !self.readable)) || (self.ex_uniform && !self.exec)
    }
}

/// A grant would pass [`Limits::max_grants`].
struct Overflow;

struct Planner<'a> {
    policy: &'a Policy,
    exec: &'a ExecSet,
    limits: Limits,
    plan: Plan,
}

/// Plans the grants for `policy` and its exec set (see the module docs).
pub fn plan(policy: &Policy, exec: &ExecSet, limits: Limits) -> Plan {
    let mut p = Planner {
        policy,
        exec,
        limits,
        plan: Plan::default(),
    };
    let fs_all: Vec<usize> = (0..policy.fs.rules.len()).collect();
    let ex_all: Vec<usize> = (0..exec.rules.len()).collect();
    let mut fs_rel = Vec::new();
    let mut ex_rel = Vec::new();
    let look = p.look(b"/", &fs_all, &ex_all, &mut fs_rel, &mut ex_rel);
    if look.uniform() {
        if look.allowed() {
            p.plan.grants.push(Grant {
                path: b"/".to_vec(),
                tree: true,
            });
        }
    } else {
        match crate::sys::openat(
            libc::AT_FDCWD,
            c"/",
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        ) {
            Ok(root) => p.expand(b"/".to_vec(), root, look, &fs_rel, &ex_rel, 0),
            Err(e) => p.leave_out(b"/", LeftOut::Unreadable(errno(&e))),
        }
    }
    p.plan
}

use crate::sys::errno_of as errno;

impl Planner<'_> {
    fn leave_out(&mut self, path: &[u8], why: LeftOut) {
        self.plan.left_out.push((path.to_vec(), why));
    }

    /// Classifies `path` by the rules in `fs_in` and `ex_in` (indices, in
    /// order: those that can decide it or its tree), and leaves in `fs_out`
    /// and `ex_out` those that can still decide something below it.
    fn look(
        &self,
        path: &[u8],
        fs_in: &[usize],
        ex_in: &[usize],
        fs_out: &mut Vec<usize>,
        ex_out: &mut Vec<usize>,
    ) -> Look {
        let fs = &self.policy.fs.rules;
        let (readable_here, fs_uniform) = relevant(
            fs_in,
            |i| fs[i].pattern.matches(path),
            |i| reaches_below(&fs[i].pattern, path),
            |i| readable(&fs[i].action),
            readable(self.policy.fs.default_action()),
            fs_out,
        );
        let ex = &self.exec.rules;
        let (exec_here, ex_uniform) = relevant(
            ex_in,
            |i| ex[i].pattern.matches(path),
            |i| reaches_below(&ex[i].pattern, path),
            |i| ex[i].access == ExecAccess::Allow,
            self.exec.default == ExecAccess::Allow,
            ex_out,
        );
        Look {
            readable: readable_here,
            exec: exec_here,
            fs_uniform,
            ex_uniform,
        }
    }

    /// Classifies each child of the directory `path` (open at `dir`, decided
    /// as `here`). Where the directory itself is not executable and every
    /// rule that could make something below it executable is a literal
    /// path, only the children those rules name are looked at; otherwise the
    /// directory is listed.
    fn expand(
        &mut self,
        path: Vec<u8>,
        dir: OwnedFd,
        here: Look,
        fs_rel: &[usize],
        ex_rel: &[usize],
        depth: usize,
    ) {
        if depth > self.limits.max_depth {
            self.leave_out(&path, LeftOut::TooDeep);
            return;
        }
        // Nothing on these can be executed, and /proc is large.
        if let Ok(st) = rustix::fs::fstatfs(dir.as_fd()) {
            if st.f_type == libc::PROC_SUPER_MAGIC || st.f_type == libc::SYSFS_MAGIC {
                return;
            }
        }
        let entries = match self.named_children(&path, here, fs_rel, ex_rel) {
            Some(names) => names,
            None => match self.list(&path, dir.as_fd()) {
                Some(e) => e,
                None => return,
            },
        };
        let mark = self.plan.grants.len();
        let left_mark = self.plan.left_out.len();
        let mut child = path.clone();
        let mut fs_out = Vec::new();
        let mut ex_out = Vec::new();
        let mut name = Vec::with_capacity(256);
        for e in entries {
            child.truncate(path.len());
            push_component(&mut child, &e.name);
            let look = self.look(&child, fs_rel, ex_rel, &mut fs_out, &mut ex_out);
            if look.uniform() && !look.allowed() {
                continue;
            }
            name.clear();
            name.extend_from_slice(&e.name);
            name.push(0);
            let Ok(cname) = CStr::from_bytes_with_nul(&name) else {
                continue;
            };
            let kind = match e.kind {
                FileType::Unknown => kind_of(dir.as_fd(), cname),
                k => k,
            };
            let r = match (kind, look.uniform()) {
                (FileType::Directory | FileType::RegularFile, true) => self.grant(&child, true),
                (FileType::RegularFile, false) if look.allowed() => self.grant(&child, false),
                (FileType::Directory, false) => {
                    match open_dir(dir.as_fd(), cname) {
                        Ok(fd) => {
                            self.expand(child.clone(), fd, look, &fs_out, &ex_out, depth + 1);
                        }
                        Err(e) => self.leave_out(&child, LeftOut::Unreadable(errno(&e))),
                    }
                    Ok(())
                }
                // Symbolic links, devices, FIFOs, sockets; non-executable files.
                _ => Ok(()),
            };
            if r.is_err() {
                // Too many rules: nothing of this directory is granted.
                self.plan.grants.truncate(mark);
                self.plan.left_out.truncate(left_mark);
                self.leave_out(&path, LeftOut::TooMany);
                return;
            }
        }
    }

    /// Lists `dir`, within the bound on entries listed; `None` if it is left
    /// out.
    fn list(&mut self, path: &[u8], dir: BorrowedFd<'_>) -> Option<Vec<Entry>> {
        let room = self.limits.max_listed.saturating_sub(self.plan.listed);
        let opened = crate::sys::openat(
            std::os::fd::AsRawFd::as_raw_fd(&dir),
            c".",
            libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC,
            0,
        );
        match opened.and_then(|d| read_dir(d, room)) {
            Ok(e) => {
                self.plan.listed += e.len();
                Some(e)
            }
            Err(e) if e.raw_os_error() == Some(libc::E2BIG) => {
                self.leave_out(path, LeftOut::TooMany);
                None
            }
            Err(e) => {
                self.leave_out(path, LeftOut::Unreadable(errno(&e)));
                None
            }
        }
    }

    /// The children of `path` that literal rules name, when only they can
    /// hold something executable: `path` is not executable, and every rule
    /// below it that could change that (a readable file-system rule where
    /// it is not readable, else an allowing exec rule) is a literal path.
    /// A child no such rule names is decided as `path` is, and so is its
    /// whole tree. `None` when the directory must be listed.
    fn named_children(
        &self,
        path: &[u8],
        here: Look,
        fs_rel: &[usize],
        ex_rel: &[usize],
    ) -> Option<Vec<Entry>> {
        let fs = &self.policy.fs.rules;
        let ex = &self.exec.rules;
        let patterns: Vec<&crate::policy::Pattern> = if !here.readable {
            fs_rel
                .iter()
                .filter(|&&i| readable(&fs[i].action) && !fs[i].pattern.matches(path))
                .map(|&i| &fs[i].pattern)
                .collect()
        } else if !here.exec {
            ex_rel
                .iter()
                .filter(|&&i| ex[i].access == ExecAccess::Allow && !ex[i].pattern.matches(path))
                .map(|&i| &ex[i].pattern)
                .collect()
        } else {
            return None;
        };
        let mut names: Vec<Vec<u8>> = Vec::with_capacity(patterns.len());
        for pat in patterns {
            if pat.has_glob() {
                return None;
            }
            let text = pat.as_str().as_bytes();
            let rest = if path == b"/" {
                text.strip_prefix(b"/")?
            } else {
                text.strip_prefix(path)?.strip_prefix(b"/")?
            };
            let name = rest
                .split(|&c| c == b'/')
                .next()
                .filter(|n| !n.is_empty())?;
            names.push(name.to_vec());
        }
        names.sort_unstable();
        names.dedup();
        Some(
            names
                .into_iter()
                .map(|name| Entry {
                    name,
                    kind: FileType::Unknown,
                })
                .collect(),
        )
    }

    fn grant(&mut self, path: &[u8], tree: bool) -> Result<(), Overflow> {
        if self.plan.grants.len() >= self.limits.max_grants {
            return Err(Overflow);
        }
        self.plan.grants.push(Grant {
            path: path.to_vec(),
            tree,
        });
        Ok(())
    }
}

/// For one section: whether the path is allowed (`class` of its deciding
/// rule, else `default`), and whether everything below it is decided
/// alike. Rules before the deciding one are overridden for the whole tree
/// (the deciding rule matches all of it), so `out` keeps only the deciding
/// rule and the later ones that reach below the path.
fn relevant(
    rules: &[usize],
    matches: impl Fn(usize) -> bool,
    reaches_below: impl Fn(usize) -> bool,
    class: impl Fn(usize) -> bool,
    default: bool,
    out: &mut Vec<usize>,
) -> (bool, bool) {
    out.clear();
    let mut decider = None;
    for &i in rules.iter().rev() {
        if matches(i) {
            decider = Some(i);
            out.push(i);
            break;
        }
        if reaches_below(i) {
            out.push(i);
        }
    }
    out.reverse();
    let here = decider.map_or(default, &class);
    let uniform = out.iter().all(|&i| Some(i) == decider || class(i) == here);
    (here, uniform)
}

/// [`Pattern::reaches_below`], without its allocations for a literal
/// pattern (most rules): its path lies strictly below `path`.
fn reaches_below(pattern: &Pattern, path: &[u8]) -> bool {
    if pattern.has_glob() {
        return pattern.reaches_below(path);
    }
    let text = pattern.as_str().as_bytes();
    let rest = if path == b"/" {
        text.strip_prefix(b"/")
    } else {
        text.strip_prefix(path).and_then(|r| r.strip_prefix(b"/"))
    };
    rest.is_some_and(|r| !r.is_empty())
}

/// The type from `fstatat` (no symbolic link followed), for names not
/// listed (or file systems that do not fill in `d_type`).
fn kind_of(dir: BorrowedFd<'_>, name: &CStr) -> FileType {
    crate::sys::lstat_mode(std::os::fd::AsRawFd::as_raw_fd(&dir), name)
        .map_or(FileType::Unknown, FileType::from_raw_mode)
}

/// One directory entry: its name and type.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// The name (no NUL).
    name: Vec<u8>,
    /// `d_type`; [`FileType::Unknown`] where the file system does not say
    /// (or for a name not listed but named by a rule).
    kind: FileType,
}

/// Every entry of the directory open for reading at `dir`, without `.`
/// and `..`. Fails with `E2BIG` past `max` entries.
fn read_dir(dir: OwnedFd, max: usize) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut entries = rustix::fs::Dir::new(dir)?;
    while let Some(e) = entries.read() {
        let e = e?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        if out.len() >= max {
            return Err(io::Error::from_raw_os_error(libc::E2BIG));
        }
        out.push(Entry {
            name: name.to_vec(),
            kind: e.file_type(),
        });
    }
    Ok(out)
}

/// Opens the directory `name` in `dir` (`O_PATH`: listing it reopens it),
/// never through a symbolic link.
fn open_dir(dir: BorrowedFd<'_>, name: &CStr) -> io::Result<OwnedFd> {
    let how = crate::sys::OpenHow {
        flags: u64::from(
            (libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC | libc::O_NOFOLLOW).unsigned_abs(),
        ),
        mode: 0,
        resolve: crate::sys::RESOLVE_NO_SYMLINKS,
    };
    crate::sys::openat2(std::os::fd::AsRawFd::as_raw_fd(&dir), name, &how)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_dir_lists_names_and_types_within_the_bound() {
        let d = std::env::temp_dir().join(format!("fdsup-ll-readdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("f"), "x").expect("write");
        let open = || OwnedFd::from(std::fs::File::open(&d).expect("open dir"));
        let mut got = read_dir(open(), 10).expect("read_dir");
        got.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, b"f");
        assert!(matches!(
            got[0].kind,
            FileType::RegularFile | FileType::Unknown
        ));
        assert_eq!(got[1].name, b"sub");
        let e = read_dir(open(), 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
        let _ = std::fs::remove_dir_all(&d);
    }
}

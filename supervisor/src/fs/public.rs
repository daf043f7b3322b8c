//! `"public": true` rules: only what any user of the system may read.
//!
//! The supervisor opens with the credentials of the user who runs fdsup,
//! so under root a plain `ro` rule for `/etc` serves `/etc/shadow-` and
//! `/etc/ssl/private/*` too: a list of names to hide always misses one.
//! A public rule instead serves an object only if an unprivileged user
//! could open it as asked: the object's permission bits for *others*
//! allow the access (read for a read or a listing, write for a write,
//! nothing for `O_PATH`), and every directory from `/` down to its parent
//! lets others search it. That is the kernel's own check for a user who
//! is neither the owner nor in the group, made on the descriptor fdsup
//! opened (the object itself, not a path that could change) and on the
//! canonical path's directories.
//!
//! Cost, on the hot path of every build (opens under `/usr`): one `fstat`
//! of the opened object; the directories' answers are kept per worker for
//! [`FRESH`] (a directory's mode is the administrator's, and changes that
//! rarely; the program cannot change it under an `ro` rule), so a run
//! pays one `stat` per directory per second at most.
//!
//! Setting the worker's file-system identity to an unprivileged user
//! (`setfsuid`) would let the kernel check instead, but costs four
//! credential changes per open (about 2.3 µs measured, a fifth of a
//! brokered open), works only for root, and not in a user namespace
//! without that user.

use std::collections::HashMap;
use std::ffi::CStr;
use std::os::fd::{AsFd, RawFd};
use std::time::{Duration, Instant};

use crate::sys;

/// How long a directory's "others may search it" is trusted.
pub const FRESH: Duration = Duration::from_secs(1);

/// Directories remembered per worker; beyond, the memory starts afresh.
const REMEMBERED: usize = 4096;

/// Whether the mode bits of an object let others open it for `read`
/// and/or `write` (neither: an `O_PATH` open, which needs nothing of the
/// object itself).
pub fn others_may(mode: u32, read: bool, write: bool) -> bool {
    (!read || mode & libc::S_IROTH != 0) && (!write || mode & libc::S_IWOTH != 0)
}

/// One worker's memory of directories others may search.
#[derive(Debug, Default)]
pub struct Searchable {
    /// Directory path -> when it (and every directory above it) was last
    /// found searchable by others.
    seen: HashMap<Box<[u8]>, Instant>,
    /// A NUL-terminated copy of the path being looked at.
    buf: Vec<u8>,
}

impl Searchable {
    /// An empty memory.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether others may reach `path` (absolute, canonical, in fdsup's own
    /// root): every directory from `/` down to its parent lets others
    /// search it (and is a directory: something else on the way fails
    /// closed).
    pub fn reachable(&mut self, path: &[u8]) -> bool {
        self.reachable_at((libc::AT_FDCWD, 0), path)
    }

    /// [`reachable`](Self::reachable) for `path` in `root` (a container's
    /// paths are looked at in the container; a worker's memory serves one
    /// session, whose tasks share their root).
    pub fn reachable_in(&mut self, root: &super::Root<'_>, path: &[u8]) -> bool {
        match root.at() {
            Ok(at) => self.reachable_at(at, path),
            Err(_) => false,
        }
    }

    /// `from`: where absolute paths start and the resolve flag that keeps
    /// them there (see [`super::Root::at`]).
    fn reachable_at(&mut self, from: (RawFd, u64), path: &[u8]) -> bool {
        let now = Instant::now();
        let Some(parent_end) = parent_end(path) else {
            // `/` itself, or not absolute.
            return path == b"/";
        };
        // The deepest directory known fresh, from the parent upwards.
        let mut end = parent_end;
        let mut known = false;
        loop {
            if self.fresh(&path[..end.max(1)], now) {
                known = true;
                break;
            }
            if end <= 1 {
                break;
            }
            end = parent_end_of(path, end);
        }
        // Then each directory below it, down to the parent.
        let mut at = if known { end } else { 0 };
        if !known {
            if !self.check(from, b"/", now) {
                return false;
            }
            at = 1;
        }
        while at < parent_end {
            let next = path[at + 1..parent_end]
                .iter()
                .position(|&b| b == b'/')
                .map_or(parent_end, |i| at + 1 + i);
            if !self.check(from, &path[..next], now) {
                return false;
            }
            at = next;
        }
        true
    }

    fn fresh(&self, dir: &[u8], now: Instant) -> bool {
        self.seen
            .get(dir)
            .is_some_and(|t| now.saturating_duration_since(*t) < FRESH)
    }

    /// Looks at directory `dir` (whose parents are searchable) and
    /// remembers it if others may search it.
    fn check(&mut self, at: (RawFd, u64), dir: &[u8], now: Instant) -> bool {
        self.buf.clear();
        self.buf.extend_from_slice(dir);
        self.buf.push(0);
        let Ok(c) = CStr::from_bytes_with_nul(&self.buf) else {
            return false;
        };
        let mode = match at {
            (dir, 0) => sys::lstat_mode(dir, c),
            // `fstatat` has no RESOLVE_IN_ROOT: the look is an `O_PATH` open.
            (root, in_root) => sys::openat2(
                root,
                c,
                &sys::OpenHow {
                    flags: u64::from(
                        (libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC).unsigned_abs(),
                    ),
                    mode: 0,
                    resolve: in_root | sys::RESOLVE_NO_SYMLINKS,
                },
            )
            .and_then(|fd| sys::fstat_mode(fd.as_fd())),
        };
        let ok = mode.is_ok_and(|m| m & libc::S_IFMT == libc::S_IFDIR && m & libc::S_IXOTH != 0);
        if ok {
            if self.seen.len() >= REMEMBERED {
                self.seen.clear();
            }
            self.seen.insert(dir.into(), now);
        }
        ok
    }
}

/// The length of `path`'s parent (`/a/b/c` -> 4, the end of `/a/b`; `/a`
/// -> 1, `/`); `None` for `/` or a path that is not absolute.
fn parent_end(path: &[u8]) -> Option<usize> {
    if path.first() != Some(&b'/') || path.len() < 2 {
        return None;
    }
    let trimmed = path.strip_suffix(b"/").unwrap_or(path);
    Some(trimmed.iter().rposition(|&b| b == b'/').unwrap_or(0).max(1))
}

/// The end of the parent of `path[..end]`.
fn parent_end_of(path: &[u8], end: usize) -> usize {
    path[..end]
        .iter()
        .rposition(|&b| b == b'/')
        .unwrap_or(0)
        .max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents() {
        assert_eq!(parent_end(b"/a/b/c"), Some(4));
        assert_eq!(parent_end(b"/a"), Some(1));
        assert_eq!(parent_end(b"/a/"), Some(1));
        assert_eq!(parent_end(b"/"), None);
        assert_eq!(parent_end(b"a/b"), None);
        assert_eq!(parent_end_of(b"/a/b/c", 4), 2);
        assert_eq!(parent_end_of(b"/a/b/c", 2), 1);
    }

    #[test]
    fn bits_for_others() {
        assert!(others_may(0o644, true, false));
        assert!(!others_may(0o640, true, false));
        assert!(!others_may(0o644, true, true));
        assert!(others_may(0o600, false, false), "O_PATH needs nothing");
        assert!(others_may(0o666, true, true));
    }

    /// Real directories: a 0700 one stops others, its parent does not, and
    /// the answer is remembered only for what others may search.
    #[test]
    fn directories_on_the_way() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("fdsup-public-{}", std::process::id()));
        let open = base.join("open");
        let closed = base.join("closed");
        std::fs::create_dir_all(open.join("sub")).unwrap();
        std::fs::create_dir_all(closed.join("sub")).unwrap();
        std::fs::set_permissions(&base, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o751)).unwrap();
        std::fs::set_permissions(&closed, std::fs::Permissions::from_mode(0o750)).unwrap();
        let p = |q: &std::path::Path, rest: &str| {
            let mut v = q.as_os_str().as_encoded_bytes().to_vec();
            v.extend_from_slice(rest.as_bytes());
            v
        };
        // The temporary directory is searchable by everyone (1777).
        let mut s = Searchable::new();
        assert!(s.reachable(&p(&base, "/x")), "{base:?} is reachable");
        assert!(s.reachable(&p(&open, "/sub/file")));
        assert!(s.reachable(&p(&open, "/file")));
        assert!(!s.reachable(&p(&closed, "/file")));
        assert!(!s.reachable(&p(&closed, "/sub/file")));
        // Asked again: the same answers (from memory for the open one).
        assert!(s.reachable(&p(&open, "/sub/file")));
        assert!(!s.reachable(&p(&closed, "/sub/file")));
        assert!(s.reachable(b"/"), "/ itself");
        let _ = std::fs::remove_dir_all(&base);
    }
}

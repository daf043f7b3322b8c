//! `"private": true` rules: a directory of the run's own in place of the
//! host's (`@system`'s `/dev/shm`).
//!
//! POSIX shared memory and semaphores (`shm_open`, `sem_open`, Python's
//! `multiprocessing.Lock()`) live in `/dev/shm`, which holds what every
//! other program of the machine shares there: the sandbox must not reach
//! it, and must have one. So the rule's path is served by a directory fdsup
//! creates for the run (mode 0700, in `$TMPDIR`, at the first request
//! that needs it) and removes with everything in it when the run ends.
//!
//! **A program that changes user.** Where fdsup holds capabilities, the
//! program may drop them or become another user, and fdsup's calls then
//! carry its credentials (`crate::creds`): a directory made at its first
//! request would belong to whoever asked first, and one of root's, mode
//! 0700, refuses `nobody` (natively `/dev/shm` is mode 1777). So there
//! ([`Privates::set_shared`]) the directories are made with fdsup's own
//! credentials whoever asks (`crate::creds::as_fdsup`), still at the first
//! request that needs one (made at the start, they cost every run a
//! directory made and removed: 0.1-0.3 ms of start-up and exit), and each
//! private one is a directory mode 1777 with a random name inside one of
//! mode 0711 (any user of the program may use it as `/dev/shm`; the
//! machine's other users, who cannot list the outer one, cannot find it);
//! the skeleton's root is mode 0711.
//!
//! How: a path the program writes under the rule's path (`/dev/shm/sem.x`,
//! absolute, as `shm_open` and `sem_open` write them) is rewritten to the
//! real directory as soon as it is read, before it is resolved; so every
//! request (open, stat, link, unlink, rename, listing, socket bind) is
//! carried out on the real directory as on any other. Decisions on a path
//! inside the real directory are made on the name the program used
//! (`/dev/shm/sem.x`), so a later rule for a name below still wins, and the
//! private rule itself allows read-write. The host's directory, reached
//! any other way (a symbolic link, a relative path from a working
//! directory there), is hidden: the rule's path matched on the host
//! decides `hide`.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::policy::{FsAction, Policy};

/// One private rule's directory.
#[derive(Debug)]
struct PrivateDir {
    /// The rule's index in the policy.
    rule: usize,
    /// The rule's path: what the program names.
    visible: Vec<u8>,
    /// The real directory, once made (`None` if it could not be).
    real: OnceLock<Option<Vec<u8>>>,
}

/// The private directories of a run.
#[derive(Debug, Default)]
pub struct Privates {
    dirs: Vec<PrivateDir>,
    /// Where they are made (`$TMPDIR`, canonical).
    base: PathBuf,
    /// Made for any user of the program ([`Privates::set_shared`]).
    shared: bool,
    /// The directories that lead to virtual files (`content` and
    /// `redirect` rules) and do not exist: see [`Virtual`].
    virt: Virtual,
}

/// Directories on the way to virtual files.
///
/// A `content` rule for `/run/fdsup/hello` serves a file where nothing
/// exists on disk, and `/run/fdsup` does not exist either: a listing of it
/// would fail with `ENOENT` while the file reads fine. So the directories
/// that lead to the paths of `content` and `redirect` rules are made, once
/// and when first asked for, in a skeleton of the run's own (a directory
/// in `$TMPDIR` holding `run/fdsup/hello`, the file empty), and a read-only
/// open or a look at such a directory that does not exist on the host is
/// served by the skeleton's. Everything in the skeleton is decided on the
/// name it stands for (`<skeleton>/run/fdsup/hello` is `/run/fdsup/hello`,
/// served by its rule), so its listing shows exactly the virtual files,
/// and nothing put there some other way is served.
#[derive(Debug, Default)]
struct Virtual {
    /// The directories (visible paths, strictly above a virtual file).
    dirs: Vec<Vec<u8>>,
    /// The virtual files.
    files: Vec<Vec<u8>>,
    /// The skeleton's root, once made.
    root: OnceLock<Option<Vec<u8>>>,
    /// Made for any user of the program: its root mode 0711, not 0700.
    shared: bool,
}

/// Where a path in one of the run's own directories stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    /// In the directory of private rule `usize`.
    Private(usize),
    /// In the skeleton of virtual directories.
    Virtual,
}

impl Privates {
    /// One (not yet made) directory per private rule of `policy`.
    pub fn new(policy: &Policy) -> Self {
        let dirs: Vec<PrivateDir> = policy
            .fs
            .rules
            .iter()
            .enumerate()
            .filter(|(_, r)| r.action == FsAction::Private)
            .map(|(rule, r)| PrivateDir {
                rule,
                visible: r.pattern.as_str().as_bytes().to_vec(),
                real: OnceLock::new(),
            })
            .collect();
        let virt = Virtual::new(policy);
        let base = if dirs.is_empty() && virt.dirs.is_empty() {
            PathBuf::new()
        } else {
            let tmp = std::env::var_os("TMPDIR")
                .filter(|t| t.as_bytes().first() == Some(&b'/'))
                .unwrap_or_else(|| OsString::from("/tmp"));
            std::fs::canonicalize(&tmp).unwrap_or_else(|_| PathBuf::from(tmp))
        };
        Self {
            dirs,
            base,
            shared: false,
            virt,
        }
    }

    /// The directories are for any user of the program (see the module's
    /// documentation): where fdsup holds capabilities.
    pub fn set_shared(&mut self) {
        self.shared = true;
        self.virt.shared = true;
    }

    /// The real directory of `d`, made now if it is not yet.
    fn real<'a>(&self, d: &'a PrivateDir) -> Option<&'a [u8]> {
        d.real
            .get_or_init(|| {
                crate::creds::as_fdsup(|| {
                    if !self.shared {
                        return make_dir(&self.base, &d.visible, 0o700);
                    }
                    let outer = make_dir(&self.base, &d.visible, 0o711)?;
                    let outer = std::ffi::OsStr::from_bytes(&outer);
                    let inner = make_dir(std::path::Path::new(outer), &d.visible, 0o1777);
                    if inner.is_none() {
                        let _ = std::fs::remove_dir(outer);
                    }
                    inner
                })
            })
            .as_deref()
    }

    /// If `buf[..len]` (a path as the program wrote it) names a private
    /// rule's path or something below it, rewrites it in place to the real
    /// directory and returns the new length (the NUL after it is written
    /// too); `Err(errno)` if it cannot be (too long, the directory could
    /// not be made); `Ok(len)` unchanged otherwise.
    pub fn rewrite(&self, buf: &mut [u8], len: usize) -> Result<usize, i32> {
        if self.dirs.is_empty() || buf.first() != Some(&b'/') {
            return Ok(len);
        }
        let Some(d) = self.dirs.iter().find(|d| below(&buf[..len], &d.visible)) else {
            return Ok(len);
        };
        let real = self.real(d).ok_or(libc::EACCES)?;
        let rest = len - d.visible.len();
        let new_len = real.len().checked_add(rest).ok_or(libc::ENAMETOOLONG)?;
        if new_len >= buf.len() {
            return Err(libc::ENAMETOOLONG);
        }
        buf.copy_within(d.visible.len()..len, real.len());
        buf[..real.len()].copy_from_slice(real);
        buf[new_len] = 0;
        Ok(new_len)
    }

    /// [`rewrite`](Self::rewrite) of an absolute lexical path (the working
    /// directory joined with a relative path: a program that changed into
    /// the rule's path, where the kernel put it in the host's directory,
    /// is served the private one by relative paths too).
    /// Returns whether it rewrote it: the path must then be opened as
    /// written, never relative to a descriptor of the host's directory.
    pub fn rewrite_lexical(&self, path: &mut Vec<u8>) -> Result<bool, i32> {
        if self.dirs.is_empty() {
            return Ok(false);
        }
        let Some(d) = self.dirs.iter().find(|d| below(path, &d.visible)) else {
            return Ok(false);
        };
        let real = self.real(d).ok_or(libc::EACCES)?;
        if real.len() + path.len() - d.visible.len() >= crate::limits::PATH_BYTES {
            return Err(libc::ENAMETOOLONG);
        }
        path.splice(..d.visible.len(), real.iter().copied());
        Ok(true)
    }

    /// If `path` (canonical) lies in one of the run's own directories
    /// already made, writes the name the program knows it by into `out`
    /// and says which.
    pub fn visible(&self, path: &[u8], out: &mut Vec<u8>) -> Option<Own> {
        for d in &self.dirs {
            let Some(Some(real)) = d.real.get() else {
                continue;
            };
            if below(path, real) {
                out.clear();
                out.extend_from_slice(&d.visible);
                out.extend_from_slice(&path[real.len()..]);
                return Some(Own::Private(d.rule));
            }
        }
        if let Some(Some(root)) = self.virt.root.get() {
            if below(path, root) {
                out.clear();
                out.extend_from_slice(&path[root.len()..]);
                if out.is_empty() {
                    out.push(b'/');
                }
                return Some(Own::Virtual);
            }
        }
        None
    }

    /// The private rule whose path `path` (canonical, on the host) is or
    /// lies below: the host's directory there, which no rule can show (a
    /// later rule for a name below it decides the private one's names).
    pub fn host_rule(&self, path: &[u8]) -> Option<usize> {
        self.dirs
            .iter()
            .find(|d| below(path, &d.visible))
            .map(|d| d.rule)
    }

    /// An `O_PATH` descriptor of the skeleton's directory for `path`, if
    /// `path` is a directory on the way to a virtual file ([`Virtual`]);
    /// the caller has found nothing at `path` on the host.
    pub fn virtual_dir(&self, path: &[u8]) -> Option<std::os::fd::OwnedFd> {
        if !self.virt.dirs.iter().any(|d| d == path) {
            return None;
        }
        let root = self
            .virt
            .root
            .get_or_init(|| crate::creds::as_fdsup(|| self.virt.make(&self.base)))
            .as_deref()?;
        let mut p = root.to_vec();
        p.extend_from_slice(path);
        p.push(0);
        let c = std::ffi::CStr::from_bytes_with_nul(&p).ok()?;
        crate::sys::openat(
            libc::AT_FDCWD,
            c,
            libc::O_PATH | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC,
            0,
        )
        .ok()
    }

    /// Removes every directory made, with what is in it (at the end of the
    /// run, when nothing of the sandbox is left).
    pub fn remove_all(&self) {
        if let Some(Some(root)) = self.virt.root.get() {
            let _ = std::fs::remove_dir_all(PathBuf::from(OsString::from_vec(root.clone())));
        }
        for d in &self.dirs {
            if let Some(Some(real)) = d.real.get() {
                let mut p = PathBuf::from(OsString::from_vec(real.clone()));
                if self.shared {
                    // The outer directory, with the inner one.
                    p.pop();
                }
                if let Err(e) = std::fs::remove_dir_all(&p) {
                    crate::diag!(
                        "fdsup: removing the private directory {} (for {}): {e}",
                        p.display(),
                        String::from_utf8_lossy(&d.visible)
                    );
                }
            }
        }
    }
}

impl Virtual {
    /// The directories on the way to the paths of `content` and `redirect`
    /// rules (without a `*`) that do not exist on the host now.
    fn new(policy: &Policy) -> Self {
        let mut v = Virtual::default();
        for r in &policy.fs.rules {
            if !matches!(
                r.action,
                FsAction::Content { .. } | FsAction::Redirect { .. }
            ) || r.pattern.has_glob()
            {
                continue;
            }
            let file = r.pattern.as_str().as_bytes().to_vec();
            let mut end = file.len();
            while let Some(i) = file[..end].iter().rposition(|&b| b == b'/') {
                if i == 0 {
                    break;
                }
                let dir = &file[..i];
                if std::fs::symlink_metadata(std::ffi::OsStr::from_bytes(dir)).is_ok() {
                    break;
                }
                if !v.dirs.iter().any(|d| d == dir) {
                    v.dirs.push(dir.to_vec());
                }
                end = i;
            }
            if end < file.len() && !v.files.contains(&file) {
                v.files.push(file);
            }
        }
        v
    }

    /// Makes the skeleton in `base`: its directories, and an empty file for
    /// each virtual file below them.
    fn make(&self, base: &std::path::Path) -> Option<Vec<u8>> {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        let root = make_dir(base, b"/virtual", if self.shared { 0o711 } else { 0o700 })?;
        let at = |p: &[u8]| {
            let mut full = root.clone();
            full.extend_from_slice(p);
            PathBuf::from(OsString::from_vec(full))
        };
        for d in &self.dirs {
            // fdsup's umask is 0: the modes are said in full.
            let made = std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o755)
                .create(at(d));
            if let Err(e) = made {
                crate::diag!(
                    "fdsup: making the directory on the way to a virtual file, {}: {e}",
                    String::from_utf8_lossy(d)
                );
            }
        }
        for f in &self.files {
            let _ = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o444)
                .open(at(f));
        }
        Some(root)
    }
}

/// Whether `path` is `dir` or lies below it.
fn below(path: &[u8], dir: &[u8]) -> bool {
    path.starts_with(dir) && (path.len() == dir.len() || path[dir.len()] == b'/')
}

/// Makes a fresh directory, of `mode`, in `base` for the private rule of
/// `visible`: `fdsup-<pid>-<name>-<random>`.
fn make_dir(base: &std::path::Path, visible: &[u8], mode: u32) -> Option<Vec<u8>> {
    use std::os::unix::fs::DirBuilderExt;
    let name: String = visible
        .rsplit(|&b| b == b'/')
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(16)
        .collect();
    for _ in 0..16 {
        let mut r = [0u8; 8];
        if getrandom(&mut r).is_err() {
            return None;
        }
        let p = base.join(format!(
            "fdsup-{}-{name}-{:016x}",
            std::process::id(),
            u64::from_ne_bytes(r)
        ));
        match std::fs::DirBuilder::new().mode(mode).create(&p) {
            Ok(()) => {
                // The mode in full, whatever the umask (fdsup's is 0; a
                // test's is not).
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode));
                return Some(p.into_os_string().into_vec());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                crate::diag!(
                    "fdsup: making the private directory for {} in {}: {e}",
                    String::from_utf8_lossy(visible),
                    base.display()
                );
                return None;
            }
        }
    }
    None
}

fn getrandom(buf: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn privates(tmp: &std::path::Path) -> Privates {
        let vars = crate::policy::Vars {
            cwd: "/w".into(),
            home: "/h".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        };
        let p = crate::policy::load("@system", &vars).unwrap();
        let mut pr = Privates::new(&p);
        pr.base = tmp.to_path_buf();
        pr
    }

    #[test]
    fn paths_are_rewritten_and_mapped_back() {
        let tmp = std::env::temp_dir().join(format!("fdsup-private-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let pr = privates(&tmp);
        let mut buf = vec![0u8; 4096];
        let put = |buf: &mut Vec<u8>, s: &[u8]| {
            buf[..s.len()].copy_from_slice(s);
            buf[s.len()] = 0;
            s.len()
        };
        // Not below: unchanged, and nothing made.
        let n = put(&mut buf, b"/dev/shmx/a");
        assert_eq!(pr.rewrite(&mut buf, n), Ok(n));
        assert!(pr.dirs[0].real.get().is_none());
        let n = put(&mut buf, b"/dev/shm/sem.x");
        let m = pr.rewrite(&mut buf, n).unwrap();
        let real = pr.dirs[0].real.get().unwrap().clone().unwrap();
        assert!(real.starts_with(tmp.as_os_str().as_bytes()));
        assert_eq!(&buf[..m], [&real[..], b"/sem.x"].concat().as_slice());
        assert_eq!(buf[m], 0);
        let mut out = Vec::new();
        assert_eq!(
            pr.visible(&buf[..m], &mut out),
            Some(Own::Private(pr.dirs[0].rule))
        );
        assert_eq!(out, b"/dev/shm/sem.x");
        assert!(pr.visible(b"/dev/shm/sem.x", &mut out).is_none());
        let md = std::fs::metadata(std::ffi::OsStr::from_bytes(&real)).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(md.permissions().mode() & 0o777, 0o700);
        // Too long for the buffer: ENAMETOOLONG, never a panic.
        let mut small = vec![0u8; 12];
        small[..9].copy_from_slice(b"/dev/shm/");
        assert_eq!(pr.rewrite(&mut small, 9), Err(libc::ENAMETOOLONG));
        pr.remove_all();
        assert!(std::fs::metadata(std::ffi::OsStr::from_bytes(&real)).is_err());
        let _ = std::fs::remove_dir_all(&tmp);
    }

    /// Shared: a 1777 directory inside a 0711 one, both removed at the
    /// end.
    #[test]
    fn shared_directories_are_made_for_any_user() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = std::env::temp_dir().join(format!("fdsup-shared-test-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let mut pr = privates(&tmp);
        pr.set_shared();
        let real = pr.real(&pr.dirs[0]).unwrap().to_vec();
        let real = std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&real));
        let mode =
            |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&real), 0o1777);
        let outer = real.parent().unwrap();
        assert_eq!(mode(outer), 0o711);
        assert_eq!(outer.parent().unwrap(), tmp);
        pr.remove_all();
        assert!(std::fs::metadata(outer).is_err());
        let _ = std::fs::remove_dir_all(&tmp);
    }
}

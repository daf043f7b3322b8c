//! The files fdsup writes for the user: the audit log, a learned policy (and
//! the agent's logs), as SPEC.md's "Files fdsup writes" says. They are
//! created mode 0600, whatever the umask (the supervisor runs with none, see
//! `supervise::run`), never through a symbolic link (`O_NOFOLLOW` on the
//! final component: a link planted at the path is refused with an error
//! that says so, and its target is never touched), and an existing file is
//! never rewritten in place: a log is appended to (`O_APPEND`; an existing
//! log keeps its mode), and a whole file is written as a new file in the
//! same directory (`O_EXCL`), synced, and renamed into place.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write as _};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// The mode of every file fdsup creates for the user.
pub const MODE: u32 = 0o600;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The path is a symbolic link.
    #[error("{}: is a symbolic link; fdsup never writes through one (remove it or choose another name)", path.display())]
    Symlink {
        /// The path.
        path: PathBuf,
    },
    /// The file is there already (for [`write_new`]).
    #[error("{}: already exists", path.display())]
    Exists {
        /// The path.
        path: PathBuf,
    },
    /// Anything else.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

impl FileError {
    fn io(path: &Path, source: io::Error) -> Self {
        Self::Io {
            path: path.to_owned(),
            source,
        }
    }
}

fn is_symlink(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

/// An open that failed on `path` (with `O_NOFOLLOW`): a symbolic link there
/// is named as such.
fn open_error(path: &Path, e: io::Error) -> FileError {
    if e.raw_os_error() == Some(libc::ELOOP) && is_symlink(path) {
        FileError::Symlink {
            path: path.to_owned(),
        }
    } else {
        FileError::io(path, e)
    }
}

/// Opens a log for appending: created mode [`MODE`] if absent, else the
/// existing file as it is (its contents kept, its mode left alone); a
/// symbolic link at `path` is refused.
pub fn open_log(path: &Path) -> Result<File, FileError> {
    // Created, or opened as it is; a file removed between the two tries is
    // created again (a bounded number of times: someone racing us forever
    // gets an error, not a loop).
    for _ in 0..8 {
        match OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        {
            Ok(f) => {
                f.set_permissions(Permissions::from_mode(MODE))
                    .map_err(|e| FileError::io(path, e))?;
                return Ok(f);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(open_error(path, e)),
        }
        match OpenOptions::new()
            .append(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        {
            Ok(f) => return Ok(f),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(open_error(path, e)),
        }
    }
    Err(FileError::io(
        path,
        io::Error::other("it keeps appearing and disappearing"),
    ))
}

/// Writes `bytes` to `path`, which must not exist: into a new file (mode
/// [`MODE`]) beside it, synced, then renamed to `path` without replacing
/// anything (`RENAME_NOREPLACE`, or a hard link where the file system lacks
/// it). A file or symbolic link at `path` is refused and left untouched.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    if is_symlink(path) {
        return Err(FileError::Symlink {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| FileError::io(path, io::Error::from_raw_os_error(libc::EISDIR)))?;
    static SERIAL: AtomicU32 = AtomicU32::new(0);
    let (tmp, mut f) = loop {
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(
            ".fdsup-{}-{}",
            std::process::id(),
            SERIAL.fetch_add(1, Ordering::Relaxed)
        ));
        let tmp = dir.join(tmp_name);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(MODE)
            .custom_flags(libc::O_NOFOLLOW)
            .open(&tmp)
        {
            Ok(f) => break (tmp, f),
            // A name of ours left by an earlier run with our pid: the next.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(FileError::io(path, e)),
        }
    };
    let written = f
        .set_permissions(Permissions::from_mode(MODE))
        .and_then(|()| f.write_all(bytes))
        .and_then(|()| f.sync_all())
        .map_err(|e| FileError::io(path, e))
        .and_then(|()| rename_noreplace(&tmp, path));
    drop(f);
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    // The rename is durable once the directory is (best effort).
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Renames `from` to `to` unless something is at `to`.
fn rename_noreplace(from: &Path, to: &Path) -> Result<(), FileError> {
    let exists = |to: &Path| {
        if is_symlink(to) {
            FileError::Symlink {
                path: to.to_owned(),
            }
        } else {
            FileError::Exists {
                path: to.to_owned(),
            }
        }
    };
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    use rustix::io::Errno;
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => return Ok(()),
        Err(Errno::EXIST) => return Err(exists(to)),
        // The file system (or kernel) lacks RENAME_NOREPLACE: a hard link
        // fails the same way if `to` exists, and never follows one there.
        Err(Errno::INVAL | Errno::NOSYS) => {}
        Err(e) => return Err(FileError::io(to, e.into())),
    }
    match std::fs::hard_link(from, to) {
        Ok(()) => {
            let _ = std::fs::remove_file(from);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(exists(to)),
        Err(e) => Err(FileError::io(to, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn scratch(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "fdsup-files-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn mode(p: &Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o7777
    }

    #[test]
    fn a_new_log_is_0600_and_an_old_one_is_appended_to_as_it_is() {
        let d = scratch("log");
        let new = d.join("new.jsonl");
        writeln!(open_log(&new).unwrap(), "one").unwrap();
        assert_eq!(mode(&new), 0o600);
        let old = d.join("old.jsonl");
        std::fs::write(&old, "kept\n").unwrap();
        std::fs::set_permissions(&old, Permissions::from_mode(0o640)).unwrap();
        writeln!(open_log(&old).unwrap(), "added").unwrap();
        assert_eq!(std::fs::read_to_string(&old).unwrap(), "kept\nadded\n");
        assert_eq!(mode(&old), 0o640, "an existing log keeps its mode");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_symlink_is_never_written_through() {
        let d = scratch("link");
        let target = d.join("target");
        std::fs::write(&target, "untouched\n").unwrap();
        for (name, to) in [("live", target.clone()), ("dangling", d.join("none"))] {
            let link = d.join(name);
            std::os::unix::fs::symlink(&to, &link).unwrap();
            assert!(matches!(open_log(&link), Err(FileError::Symlink { .. })));
            assert!(matches!(
                write_new(&link, b"x"),
                Err(FileError::Symlink { .. })
            ));
        }
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "untouched\n");
        assert!(!d.join("none").exists());
        let msg = open_log(&d.join("live")).unwrap_err().to_string();
        assert!(
            msg.contains("symbolic link") && msg.contains("live"),
            "{msg}"
        );
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_new_file_is_0600_renamed_into_place_and_never_replaces() {
        let d = scratch("new");
        let p = d.join("learned.json");
        write_new(&p, b"{}\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
        assert_eq!(mode(&p), 0o600);
        assert!(matches!(
            write_new(&p, b"other"),
            Err(FileError::Exists { .. })
        ));
        assert_eq!(std::fs::read(&p).unwrap(), b"{}\n");
        // Nothing but the file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(&d)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, [std::ffi::OsString::from("learned.json")]);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

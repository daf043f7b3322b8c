//! The raw system calls of [`crate::landlock`]: the three Landlock calls,
//! `getdents64` and `fstatfs`.
//!
//! Kept apart from `crate::sys` so that the exec work stays in files of its
//! own; the same rules hold: one system call per wrapper, a `SAFETY` comment
//! on every block, descriptors as `OwnedFd`/`BorrowedFd` past this module.
//! Constants come from include/uapi/linux/landlock.h and are pinned by the
//! tests below.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// `LANDLOCK_ACCESS_FS_EXECUTE` (Linux 5.13): "Execute a file".
pub const LANDLOCK_ACCESS_FS_EXECUTE: u64 = 1 << 0;
/// `LANDLOCK_RULE_PATH_BENEATH`: the rule type of [`PathBeneathAttr`].
pub const LANDLOCK_RULE_PATH_BENEATH: u32 = 1;
/// `LANDLOCK_CREATE_RULESET_VERSION`: ask for the ABI version.
pub const LANDLOCK_CREATE_RULESET_VERSION: u32 = 1 << 0;

/// `struct landlock_ruleset_attr`, first field only: the kernel takes a
/// shorter (older) struct and treats the rest as zero, so only the file
/// system is handled (no network, no scoping).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct RulesetAttr {
    /// `handled_access_fs`.
    pub handled_access_fs: u64,
}

/// `struct landlock_path_beneath_attr` (`__attribute__((packed))`).
#[repr(C, packed)]
#[derive(Debug, Clone, Copy, Default)]
pub struct PathBeneathAttr {
    /// `allowed_access`.
    pub allowed_access: u64,
    /// `parent_fd`.
    pub parent_fd: i32,
}

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `landlock_create_ruleset(&attr, sizeof attr, 0)`: a new ruleset (the
/// kernel makes it close-on-exec).
pub fn create_ruleset(attr: &RulesetAttr) -> io::Result<OwnedFd> {
    // SAFETY: `attr` is a live, initialised struct whose size is passed
    // along; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            attr as *const RulesetAttr,
            std::mem::size_of::<RulesetAttr>(),
            0u32,
        )
    };
    let fd = RawFd::try_from(cvt(r)?).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the call just returned this new descriptor; nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `landlock_create_ruleset(NULL, 0, LANDLOCK_CREATE_RULESET_VERSION)`: the
/// ABI version, or why Landlock cannot be used (`ENOSYS`: not built in;
/// `EOPNOTSUPP`: disabled at boot).
pub fn abi_version() -> io::Result<u32> {
    // SAFETY: a null attr with size 0 is the documented version query.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(cvt(r)?).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, &attr, 0)`:
/// `access` on `parent` and everything beneath it (on the file alone if it
/// is not a directory).
pub fn add_path_beneath(
    ruleset: BorrowedFd<'_>,
    parent: BorrowedFd<'_>,
    access: u64,
) -> io::Result<()> {
    let attr = PathBeneathAttr {
        allowed_access: access,
        parent_fd: parent.as_raw_fd(),
    };
    // SAFETY: `attr` is a live, initialised struct of the layout the rule
    // type names; the kernel only reads it. Both descriptors are borrowed for
    // the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_add_rule,
            ruleset.as_raw_fd(),
            LANDLOCK_RULE_PATH_BENEATH,
            &attr as *const PathBeneathAttr,
            0u32,
        )
    };
    cvt(r).map(drop)
}

/// `fstatfs(fd).f_type`: the file system's magic number.
pub fn fs_type(fd: BorrowedFd<'_>) -> io::Result<i64> {
    // SAFETY: all-zero is a valid statfs (integers only).
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `st` is a live, writable statfs.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st.f_type)
}

/// One directory entry: its name (no NUL) and `d_type`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The name.
    pub name: Vec<u8>,
    /// `DT_DIR`, `DT_REG`, `DT_LNK`, ... or `DT_UNKNOWN`.
    pub kind: u8,
}

/// Every entry of the directory open at `dir` (read with `getdents64`),
/// without `.` and `..`. Stops with `E2BIG` past `max` entries.
pub fn read_dir(dir: BorrowedFd<'_>, max: usize) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    // 8 KiB: `/etc` in one call, larger directories in a few; each page of
    // a larger zeroed buffer would be one more fault at every start.
    let mut buf = vec![0u8; 8 * 1024];
    loop {
        // SAFETY: `buf` is writable for its length for the whole call.
        let r = unsafe {
            libc::syscall(
                libc::SYS_getdents64,
                dir.as_raw_fd(),
                buf.as_mut_ptr(),
                buf.len(),
            )
        };
        let n = usize::try_from(cvt(r)?).unwrap_or(0);
        if n == 0 {
            return Ok(out);
        }
        // struct linux_dirent64 { u64 d_ino; i64 d_off; u16 d_reclen;
        // u8 d_type; char d_name[]; }: parsed from the bytes, no casts of
        // unaligned pointers.
        let mut at = 0usize;
        while at + 19 <= n {
            let reclen = usize::from(u16::from_ne_bytes([buf[at + 16], buf[at + 17]]));
            if reclen < 19 || at + reclen > n {
                return Err(io::Error::from_raw_os_error(libc::EIO));
            }
            let kind = buf[at + 18];
            let raw = &buf[at + 19..at + reclen];
            let name = &raw[..raw.iter().position(|&b| b == 0).unwrap_or(raw.len())];
            if name != b"." && name != b".." {
                if out.len() >= max {
                    return Err(io::Error::from_raw_os_error(libc::E2BIG));
                }
                out.push(Entry {
                    name: name.to_vec(),
                    kind,
                });
            }
            at += reclen;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_and_constants_match_the_header() {
        assert_eq!(std::mem::size_of::<PathBeneathAttr>(), 12);
        assert_eq!(std::mem::size_of::<RulesetAttr>(), 8);
        assert_eq!(LANDLOCK_ACCESS_FS_EXECUTE, 1);
        assert_eq!(LANDLOCK_RULE_PATH_BENEATH, 1);
        assert_eq!(LANDLOCK_CREATE_RULESET_VERSION, 1);
    }

    #[test]
    fn read_dir_lists_names_and_types() {
        let d = std::env::temp_dir().join(format!("fdsup-ll-readdir-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("sub")).expect("mkdir");
        std::fs::write(d.join("f"), "x").expect("write");
        let dir = std::fs::File::open(&d).expect("open dir");
        let fd = std::os::fd::AsFd::as_fd(&dir);
        let mut got = read_dir(fd, 10).expect("read_dir");
        got.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, b"f");
        assert!(matches!(got[0].kind, libc::DT_REG | libc::DT_UNKNOWN));
        assert_eq!(got[1].name, b"sub");
        let again = std::fs::File::open(&d).expect("open dir");
        let e = read_dir(std::os::fd::AsFd::as_fd(&again), 1).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::E2BIG));
        let _ = std::fs::remove_dir_all(&d);
    }
}

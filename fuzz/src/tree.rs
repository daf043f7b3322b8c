//! The scratch tree: what it holds before a run ([`populate`]) and what is
//! compared after one ([`digest`]).
//!
//! The digest lists every entry with what a second run on the same tree
//! must reproduce: its name, type, permission bits, owner, size, link count,
//! link target, contents (data segments, so that huge sparse files cost
//! nothing) and extended attributes. Inode numbers and times are left out
//! (they differ by design), except modification times the program set
//! explicitly to a small value, which must come out the same.

use std::ffi::CString;
use std::fmt::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::Path;

/// The symbolic-link chain `lc1` -> `lc2` -> ... -> `lc45` -> `f1`: from
/// `lc1` and `lc5` it is longer than the kernel follows (40), from `lc6` it
/// is exactly that long.
const CHAIN: usize = 45;

/// Creates the starting tree in the empty directory `root`.
pub fn populate(root: &Path) -> std::io::Result<()> {
    use std::fs;
    use std::os::unix::fs::symlink;
    let file = |rel: &str, data: &[u8], mode: u32| -> std::io::Result<()> {
        let p = root.join(rel);
        fs::write(&p, data)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
    };
    let dir = |rel: &str, mode: u32| -> std::io::Result<()> {
        let p = root.join(rel);
        fs::create_dir(&p)?;
        fs::set_permissions(&p, fs::Permissions::from_mode(mode))
    };
    file("f1", b"hello\n", 0o644)?;
    file("f2", b"", 0o600)?;
    file("x1", b"#!/bin/sh\nexit 0\n", 0o755)?;
    dir("d1", 0o755)?;
    file("d1/f3", b"three\n", 0o644)?;
    dir("d1/d2", 0o700)?;
    file("d1/d2/f4", b"four\n", 0o640)?;
    dir("d3", 0o755)?;
    symlink("f1", root.join("l1"))?;
    symlink("d1", root.join("l2"))?;
    symlink("missing", root.join("l3"))?;
    symlink("l4", root.join("l4"))?;
    symlink("d1/d2/../f3", root.join("l5"))?;
    symlink("..", root.join("l6"))?;
    symlink("/etc", root.join("l7"))?;
    symlink(root.join("d1"), root.join("l8"))?;
    symlink("/proc/self/cwd", root.join("l9"))?;
    for i in 1..=CHAIN {
        let target = if i == CHAIN {
            "f1".to_owned()
        } else {
            format!("lc{}", i + 1)
        };
        symlink(target, root.join(format!("lc{i}")))?;
    }
    // The subtrees a policy may make read-only, denied or hidden: plain
    // files and directories only, so that a path into them stays in them.
    for top in ["ro", "deny", "hide"] {
        dir(top, 0o755)?;
        file(&format!("{top}/data"), top.as_bytes(), 0o644)?;
        dir(&format!("{top}/sub"), 0o755)?;
        file(&format!("{top}/sub/file"), b"x", 0o644)?;
    }
    dir("race", 0o755)?;
    Ok(())
}

/// Empties `root` (a directory the driver owns) for the next run, and
/// gives it back its mode, owner and (no) extended attributes: the runs
/// change the root too.
pub fn wipe(root: &Path) -> std::io::Result<()> {
    std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755))?;
    let (_, uid, gid) = crate::sys::ids();
    std::os::unix::fs::chown(root, Some(uid), Some(gid))?;
    if let Ok(c) = CString::new(root.as_os_str().as_bytes()) {
        for n in crate::sys::llistxattr(&c) {
            if let Ok(n) = CString::new(n) {
                crate::sys::lremovexattr(&c, &n);
            }
        }
    }
    for e in std::fs::read_dir(root)? {
        let e = e?;
        let p = e.path();
        let ft = e.file_type()?;
        if ft.is_dir() {
            make_writable(&p);
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// Makes every directory under `p` searchable and writable, so it can be
/// removed without privileges.
fn make_writable(p: &Path) {
    let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                make_writable(&e.path());
            }
        }
    }
}

/// One line per entry under `root` (sorted, `root` itself first, the
/// subtree `skip` left out), as described in the module docs.
pub fn digest(root: &Path, skip: Option<&str>) -> Vec<String> {
    let mut out = Vec::new();
    entry(root, b".", &mut out);
    walk(root, b"", skip, &mut out);
    out
}

fn walk(dir: &Path, rel: &[u8], skip: Option<&str>, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        out.push(format!("{} unreadable", crate::model::Quoted(rel)));
        return;
    };
    let mut names: Vec<_> = rd.flatten().map(|e| e.file_name()).collect();
    names.sort();
    for n in names {
        let mut r = rel.to_vec();
        if !r.is_empty() {
            r.push(b'/');
        }
        r.extend_from_slice(n.as_bytes());
        if skip.is_some_and(|s| s.as_bytes() == r) {
            continue;
        }
        let p = dir.join(&n);
        entry(&p, &r, out);
        if std::fs::symlink_metadata(&p).is_ok_and(|m| m.is_dir()) {
            walk(&p, &r, skip, out);
        }
    }
}

/// A modification time shown in digests and stat output: only one set
/// explicitly to a small value is the same in two runs.
pub fn shown_time(sec: i64) -> Option<i64> {
    (sec.abs() < 1_000_000_000).then_some(sec)
}

fn entry(p: &Path, rel: &[u8], out: &mut Vec<String>) {
    let mut line = String::new();
    let _ = write!(line, "{}", crate::model::Quoted(rel));
    let Ok(m) = std::fs::symlink_metadata(p) else {
        line.push_str(" vanished");
        out.push(line);
        return;
    };
    let ty = m.mode() & libc::S_IFMT;
    let _ = write!(
        line,
        " {} {:o} {}:{} nlink={}",
        type_name(ty),
        m.mode() & 0o7777,
        m.uid(),
        m.gid(),
        m.nlink()
    );
    if ty != libc::S_IFDIR {
        let _ = write!(line, " size={}", m.size());
    }
    if let Some(t) = shown_time(m.mtime()) {
        let _ = write!(line, " mtime={t}.{}", m.mtime_nsec());
    }
    match ty {
        libc::S_IFLNK => {
            if let Ok(t) = std::fs::read_link(p) {
                let _ = write!(
                    line,
                    " -> {}",
                    crate::model::Quoted(t.as_os_str().as_bytes())
                );
            }
        }
        libc::S_IFREG => {
            let _ = write!(line, " data={}", crate::sys::data_digest(p));
        }
        libc::S_IFCHR | libc::S_IFBLK => {
            let _ = write!(line, " rdev={:#x}", m.rdev());
        }
        _ => {}
    }
    if let Ok(c) = CString::new(p.as_os_str().as_bytes()) {
        let mut names = crate::sys::llistxattr(&c);
        names.sort();
        for n in names {
            let v = CString::new(n.clone())
                .ok()
                .and_then(|nc| crate::sys::lgetxattr(&c, &nc));
            let _ = write!(
                line,
                " xattr:{}={}",
                crate::model::Quoted(&n),
                v.map_or_else(
                    || "?".to_owned(),
                    |v| format!("{}", crate::model::Quoted(&v))
                )
            );
        }
    }
    out.push(line);
}

/// A short name of a file type.
pub fn type_name(ty: u32) -> &'static str {
    match ty {
        libc::S_IFREG => "reg",
        libc::S_IFDIR => "dir",
        libc::S_IFLNK => "lnk",
        libc::S_IFIFO => "fifo",
        libc::S_IFSOCK => "sock",
        libc::S_IFCHR => "chr",
        libc::S_IFBLK => "blk",
        _ => "?",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn populated_trees_digest_alike_and_changes_show() {
        let base = std::env::temp_dir().join(format!("fdsup-fuzz-tree-{}", std::process::id()));
        let (a, b) = (base.join("a"), base.join("b"));
        std::fs::create_dir_all(&a).unwrap();
        std::fs::create_dir_all(&b).unwrap();
        populate(&a).unwrap();
        populate(&b).unwrap();
        // Absolute link targets name the tree: compare what does not.
        let strip = |v: Vec<String>| -> Vec<String> {
            v.into_iter().filter(|l| !l.starts_with("\"l8\"")).collect()
        };
        assert_eq!(strip(digest(&a, None)), strip(digest(&b, None)));
        std::fs::write(b.join("d1/f3"), b"changed").unwrap();
        assert_ne!(strip(digest(&a, None)), strip(digest(&b, None)));
        wipe(&a).unwrap();
        assert_eq!(digest(&a, None).len(), 1);
        let _ = std::fs::remove_dir_all(&base);
    }
}

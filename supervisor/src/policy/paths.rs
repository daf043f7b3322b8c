//! Turning a rule path as written into the path it is matched on.
//!
//! Requests are decided on canonical paths (symlinks resolved), so a rule
//! must be canonical too, or `/lib` would never match on a merged-/usr
//! system and a symlinked `$TMPDIR` would match nothing. At load time, then,
//! a rule path is expanded, normalised lexically ([`normalize`]) and its
//! leading part without `*` is resolved against the file system
//! ([`canonicalize_prefix`]).
//!
//! Resolution is done here, component by component, rather than with
//! `std::fs::canonicalize`, for two reasons: a path that does not exist yet
//! keeps its existing part resolved (a rule for a file to be created under a
//! symlinked directory still matches), and nothing under `/proc` is ever
//! resolved. The supervisor maps the program's `/proc/self` and
//! `/proc/<pid>` to the literal `/proc/self` before deciding, whereas
//! resolving here would give fdsup's own pid or follow its own magic links
//! (`/dev/stdin` -> `/proc/self/fd/0` -> fdsup's terminal). A rule whose
//! resolution reaches `/proc` keeps the rest of its path as text.

use std::fs;
use std::path::Path;

/// How many symbolic links one path may traverse, as the kernel's ELOOP.
const MAX_SYMLINKS: u32 = 40;

/// Normalises an absolute path lexically: collapses `//`, drops `.` and a
/// trailing `/`. A relative path or a `..` component is an error (whether
/// `..` undoes a symlink or a directory cannot be known from the text).
pub fn normalize(path: &str) -> Result<String, String> {
    if !path.starts_with('/') {
        return Err(format!("path must be absolute, got {path:?}"));
    }
    let mut out = String::with_capacity(path.len());
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => return Err(format!("\"..\" is not allowed in a path, got {path:?}")),
            c => {
                out.push('/');
                out.push_str(c);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Ok(out)
}

/// Resolves the symbolic links in the leading part of `normal` (a
/// [`normalize`]d path) that has no `*`, as far as that part exists, and
/// never anything under `/proc`. A nonexistent tail, a glob tail, an
/// unreadable link or a link loop leave the rest as written.
pub fn canonicalize_prefix(normal: &str) -> String {
    let comps: Vec<&str> = normal.split('/').filter(|c| !c.is_empty()).collect();
    let literal = comps
        .iter()
        .position(|c| c.contains('*'))
        .unwrap_or(comps.len());
    let (head, tail) = comps.split_at(literal);
    let Some(mut resolved) = resolve(head) else {
        return normal.to_owned();
    };
    resolved.extend(tail.iter().map(|c| (*c).to_owned()));
    join(&resolved)
}

fn join(comps: &[String]) -> String {
    if comps.is_empty() {
        return "/".to_owned();
    }
    let mut out = String::new();
    for c in comps {
        out.push('/');
        out.push_str(c);
    }
    out
}

/// Resolves `comps` (absolute, no `..`) component by component. Returns the
/// resolved components, or `None` to keep the path as written.
fn resolve(comps: &[&str]) -> Option<Vec<String>> {
    let mut done: Vec<String> = Vec::new();
    // Still to do, next first (reversed so that pushing a link's target in
    // front of the rest is cheap).
    let mut todo: Vec<String> = comps.iter().rev().map(|c| (*c).to_owned()).collect();
    let mut links = 0u32;
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => continue,
            ".." => {
                done.pop();
                continue;
            }
            _ => {}
        }
        if done.is_empty() && c == "proc" {
            done.push(c);
            append_literally(&mut done, todo);
            return Some(done);
        }
        let candidate = join(&done) + if done.is_empty() { "" } else { "/" } + &c;
        let Ok(meta) = fs::symlink_metadata(&candidate) else {
            done.push(c);
            append_literally(&mut done, todo);
            return Some(done);
        };
        if !meta.file_type().is_symlink() {
            done.push(c);
            continue;
        }
        links += 1;
        if links > MAX_SYMLINKS {
            return None;
        }
        let target = fs::read_link(&candidate)
            .ok()?
            .into_os_string()
            .into_string()
            .ok()?;
        if Path::new(&target).is_absolute() {
            done.clear();
        }
        todo.extend(target.split('/').rev().map(str::to_owned));
    }
    Some(done)
}

/// Appends the components still to do (next last) without resolving them;
/// a `..` among them (from a link's target) removes the previous one.
fn append_literally(done: &mut Vec<String>, mut todo: Vec<String>) {
    while let Some(c) = todo.pop() {
        match c.as_str() {
            "" | "." => {}
            ".." => {
                done.pop();
            }
            _ => done.push(c),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// A fresh, canonical scratch directory, removed when dropped.
    pub(crate) struct Scratch(String);

    impl std::fmt::Display for Scratch {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(&self.0)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    pub(crate) fn scratch() -> Scratch {
        static N: AtomicU32 = AtomicU32::new(0);
        let base = std::env::temp_dir().join(format!(
            "fdsup-policy-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&base);
        fs::create_dir_all(&base).unwrap();
        Scratch(
            fs::canonicalize(&base)
                .unwrap()
                .into_os_string()
                .into_string()
                .unwrap(),
        )
    }

    #[test]
    fn normalize_cleans_and_refuses() {
        assert_eq!(normalize("/").unwrap(), "/");
        assert_eq!(normalize("//").unwrap(), "/");
        assert_eq!(normalize("/a//b/./c/").unwrap(), "/a/b/c");
        assert_eq!(normalize("/./").unwrap(), "/");
        assert!(normalize("a/b").unwrap_err().contains("must be absolute"));
        assert!(normalize("").unwrap_err().contains("must be absolute"));
        assert!(normalize("/a/../b").unwrap_err().contains("\"..\""));
        assert!(normalize("/a/..").is_err());
        assert_eq!(normalize("/a/..b/c..").unwrap(), "/a/..b/c..");
    }

    #[test]
    fn resolves_symlinked_directories() {
        let d = scratch();
        fs::create_dir_all(format!("{d}/real/sub")).unwrap();
        symlink(format!("{d}/real"), format!("{d}/abs")).unwrap();
        symlink("real", format!("{d}/rel")).unwrap();
        symlink("real/../real/sub", format!("{d}/dotdot")).unwrap();
        assert_eq!(
            canonicalize_prefix(&format!("{d}/abs/sub")),
            format!("{d}/real/sub")
        );
        assert_eq!(
            canonicalize_prefix(&format!("{d}/rel/sub")),
            format!("{d}/real/sub")
        );
        assert_eq!(
            canonicalize_prefix(&format!("{d}/dotdot")),
            format!("{d}/real/sub")
        );
        assert_eq!(
            canonicalize_prefix(&format!("{d}/rel")),
            format!("{d}/real")
        );
    }

    #[test]
    fn keeps_nonexistent_tail_and_globs() {
        let d = scratch();
        fs::create_dir_all(format!("{d}/real")).unwrap();
        symlink("real", format!("{d}/link")).unwrap();
        assert_eq!(
            canonicalize_prefix(&format!("{d}/link/new/file")),
            format!("{d}/real/new/file")
        );
        assert_eq!(
            canonicalize_prefix(&format!("{d}/link/*.txt")),
            format!("{d}/real/*.txt")
        );
        assert_eq!(
            canonicalize_prefix(&format!("{d}/link/**/x")),
            format!("{d}/real/**/x")
        );
        // A `*` stops resolution even if a later component exists.
        assert_eq!(
            canonicalize_prefix(&format!("{d}/*/link")),
            format!("{d}/*/link")
        );
        assert_eq!(
            canonicalize_prefix("/nonexistent-fdsup/x"),
            "/nonexistent-fdsup/x"
        );
        assert_eq!(canonicalize_prefix("/"), "/");
    }

    #[test]
    fn link_loops_stay_as_written() {
        let d = scratch();
        symlink("b", format!("{d}/a")).unwrap();
        symlink("a", format!("{d}/b")).unwrap();
        assert_eq!(canonicalize_prefix(&format!("{d}/a/x")), format!("{d}/a/x"));
    }

    #[test]
    fn never_resolves_under_proc() {
        assert_eq!(canonicalize_prefix("/proc/self"), "/proc/self");
        assert_eq!(canonicalize_prefix("/proc/self/fd/0"), "/proc/self/fd/0");
        assert_eq!(canonicalize_prefix("/proc"), "/proc");
        let d = scratch();
        symlink("/proc/self/fd", format!("{d}/fd")).unwrap();
        assert_eq!(canonicalize_prefix(&format!("{d}/fd/3")), "/proc/self/fd/3");
    }
}

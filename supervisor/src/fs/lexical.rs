//! Lexical path work: joining and normalising without touching the file system.
//!
//! Only sound where no symbolic link is crossed: the open handler uses a
//! lexical path for its decision only together with `RESOLVE_NO_SYMLINKS` on
//! the open itself, and never for paths with `..` (a directory renamed
//! mid-walk would make `..` lead somewhere else than the text says).

// Where the handlers take them from; they live in `crate::proc_path`, which
// the policy and `--learn` use too.
pub use crate::proc_path::{is_proc_self, proc_pid};

/// Appends the normalised form of `path` to `out`, which holds an absolute,
/// normalised base (`/` or `/a/b`): `//` and `.` collapse, a trailing `/` is
/// dropped. An absolute `path` replaces the base. Returns `false` (leaving
/// `out` unspecified) where the text alone cannot stand for the path:
/// - a `..` component;
/// - a final `.` whose directory the join would not check: `name/.` names
///   `name` only if it is a directory (else the kernel says `ENOTDIR`), and
///   a relative path of nothing but `.` names its base, which is a
///   directory for the root or a working directory but not always for a
///   descriptor (`base_is_fd`). Every other component the kernel checks
///   itself when the joined path is opened.
pub fn join_normal(out: &mut Vec<u8>, path: &[u8], base_is_fd: bool) -> bool {
    let absolute = path.first() == Some(&b'/');
    if absolute {
        out.clear();
        out.push(b'/');
    }
    // (a name seen, the last component a `.`)
    let (mut named, mut dot_last) = (false, false);
    for comp in path.split(|&b| b == b'/') {
        match comp {
            b"" => {}
            b"." => dot_last = true,
            b".." => return false,
            name => {
                push_component(out, name);
                (named, dot_last) = (true, false);
            }
        }
    }
    !(dot_last && (named || (base_is_fd && !absolute)))
}

/// Appends one component to an absolute normalised path.
pub fn push_component(out: &mut Vec<u8>, name: &[u8]) {
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(name);
}

#[cfg(test)]
mod dot_tests {
    use super::join_normal;

    fn joins(path: &[u8], base_is_fd: bool) -> bool {
        join_normal(&mut b"/base".to_vec(), path, base_is_fd)
    }

    #[test]
    fn a_final_dot_after_a_name_or_on_a_descriptor_needs_a_directory() {
        for p in [&b"a/."[..], b"a/./", b"a/.//.", b"/etc/passwd/.", b"./a/."] {
            assert!(!joins(p, false), "{}", String::from_utf8_lossy(p));
        }
        for p in [&b"."[..], b"./", b"/.", b"a", b"./a", b"a/./b", b"a/", b""] {
            assert!(joins(p, false), "{}", String::from_utf8_lossy(p));
        }
        assert!(!joins(b".", true));
        assert!(!joins(b"./", true));
        assert!(joins(b"a", true));
        assert!(joins(b"/.", true));
    }
}

/// Does `path` end with a `/` (so its last component must be a directory)?
pub fn has_trailing_slash(path: &[u8]) -> bool {
    path.len() > 1 && path.last() == Some(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(base: &str, path: &str) -> Option<String> {
        let mut out = base.as_bytes().to_vec();
        join_normal(&mut out, path.as_bytes(), false).then(|| String::from_utf8(out).expect("utf8"))
    }

    #[test]
    fn joins_and_normalises() {
        assert_eq!(joined("/", "etc/passwd").as_deref(), Some("/etc/passwd"));
        assert_eq!(
            joined("/home/u", "a//b/./c/").as_deref(),
            Some("/home/u/a/b/c")
        );
        assert_eq!(joined("/home/u", "/etc//x").as_deref(), Some("/etc/x"));
        assert_eq!(joined("/home/u", ".").as_deref(), Some("/home/u"));
        assert_eq!(joined("/", "/").as_deref(), Some("/"));
        assert_eq!(joined("/a", "b/../c"), None);
        assert_eq!(joined("/a", ".."), None);
        assert_eq!(joined("/a", "..."), Some("/a/...".to_owned()));
    }

    #[test]
    fn trailing_slash() {
        assert!(has_trailing_slash(b"a/"));
        assert!(!has_trailing_slash(b"/"));
        assert!(!has_trailing_slash(b"a"));
    }
}

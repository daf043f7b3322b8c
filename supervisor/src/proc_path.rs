//! Which `/proc` paths name a process, read from the text alone: shared by
//! the resolver and the handlers (`/proc/<pid>` of the program, the
//! program's `/proc/self`), `fdsup explain` and `--learn` (which write
//! `/proc/<pid>/...` as `/proc/self/...`). A leaf: it depends on nothing in
//! the crate, so the policy can use it without depending on `fs`.

/// If `path` is `/proc/<digits>` or below, the number and the rest (starting
/// with `/`, or empty).
pub fn proc_pid(path: &[u8]) -> Option<(i32, &[u8])> {
    let rest = path.strip_prefix(b"/proc/")?;
    let end = rest.iter().position(|&b| b == b'/').unwrap_or(rest.len());
    let digits = &rest[..end];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let pid = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((pid, &rest[end..]))
}

/// Is `path` `/proc/self` or `/proc/thread-self`, or below them?
pub fn is_proc_self(path: &[u8]) -> bool {
    let Some(rest) = path.strip_prefix(b"/proc/") else {
        return false;
    };
    for name in [&b"self"[..], b"thread-self"] {
        if let Some(after) = rest.strip_prefix(name) {
            if after.is_empty() || after[0] == b'/' {
                return true;
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_proc_pids() {
        assert_eq!(proc_pid(b"/proc/12/fd/3"), Some((12, &b"/fd/3"[..])));
        assert_eq!(proc_pid(b"/proc/12"), Some((12, &b""[..])));
        assert_eq!(proc_pid(b"/proc/self/fd"), None);
        assert_eq!(proc_pid(b"/proc/cpuinfo"), None);
        assert_eq!(proc_pid(b"/proc/"), None);
        assert_eq!(proc_pid(b"/procx/1"), None);
    }

    #[test]
    fn recognises_proc_self() {
        assert!(is_proc_self(b"/proc/self"));
        assert!(is_proc_self(b"/proc/self/fd/1"));
        assert!(is_proc_self(b"/proc/thread-self/fd"));
        assert!(!is_proc_self(b"/proc/selfish"));
        assert!(!is_proc_self(b"/proc/1/fd"));
    }
}

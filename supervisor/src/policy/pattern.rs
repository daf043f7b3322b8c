//! Rule paths compiled for matching, and the matcher itself.
//!
//! A rule path matches that path and everything below it, component by
//! component (`/usr` matches `/usr/lib` but not `/usrx`). Within a
//! component `*` matches any run of characters, possibly empty; a component
//! that is exactly `**` matches zero or more whole components. The root `/`
//! matches every path.
//!
//! Matching runs for every mediated open, so patterns are split into
//! components once, at load time, and [`Pattern::matches`] walks the
//! candidate path in place: no allocation, no system call.

use std::fmt;

/// A compiled rule path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    /// The path matched on: expanded, normalised and canonicalised.
    text: Box<str>,
    /// The path as written in the policy (before variables and symlinks).
    written: Box<str>,
    /// The path after variables but before symbolic links were resolved,
    /// where that differs from `text` (`/bin` for `/usr/bin`).
    through_link: Option<Box<str>>,
    comps: Box<[Comp]>,
    /// [`first_key`] of the first component when it is a literal: a path
    /// whose first component has another key cannot match, which
    /// [`Pattern::matches_keyed`] sees without touching `comps`.
    first: Option<u64>,
}

/// A key of a path's first component (FNV-1a of its bytes), `None` for
/// `/`: computed once per decision and compared with each rule's
/// ([`Pattern::matches_keyed`]). Equal components have equal keys.
pub fn first_key(path: &[u8]) -> Option<u64> {
    next_component(path).map(|(c, _)| fnv1a(c))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Comp {
    /// A component without `*`: compared byte for byte.
    Literal(Box<[u8]>),
    /// A component with `*` in it (but not exactly `**`).
    Glob(Box<[u8]>),
    /// `**`: zero or more whole components.
    AnyDepth,
}

impl Pattern {
    /// Compiles an absolute path (`/`, `/a/b`, `/etc/ssh/*key*`). The path is
    /// normalised lexically first: `//`, `.` and a trailing `/` are dropped;
    /// `..` and relative paths are refused.
    pub fn new(path: &str) -> Result<Pattern, String> {
        let normal = super::paths::normalize(path)?;
        Ok(Pattern::compile(&normal, path))
    }

    /// Compiles `normal`, which must already be normalised; `written` is
    /// kept for messages.
    pub(crate) fn compile(normal: &str, written: &str) -> Pattern {
        let mut comps: Vec<Comp> = Vec::new();
        for c in normal.split('/').filter(|c| !c.is_empty()) {
            let comp = if c == "**" {
                // `/a/**/**/b` is `/a/**/b`.
                if comps.last() == Some(&Comp::AnyDepth) {
                    continue;
                }
                Comp::AnyDepth
            } else if c.contains('*') {
                Comp::Glob(c.as_bytes().into())
            } else {
                Comp::Literal(c.as_bytes().into())
            };
            comps.push(comp);
        }
        let first = match comps.first() {
            Some(Comp::Literal(lit)) => Some(fnv1a(lit)),
            _ => None,
        };
        Pattern {
            text: normal.into(),
            written: written.into(),
            through_link: None,
            comps: comps.into(),
            first,
        }
    }

    /// Records the path as it was before symbolic links were resolved
    /// (kept only if it differs).
    pub(crate) fn with_link_path(mut self, before: &str) -> Pattern {
        if before != &*self.text {
            self.through_link = Some(before.into());
        }
        self
    }

    /// Whether `path` is a symbolic link on the way this pattern was written
    /// (`/bin` for a rule written `/bin` and resolved to `/usr/bin`).
    pub fn written_through(&self, path: &[u8]) -> bool {
        self.through_link.as_deref().is_some_and(|w| {
            let w = w.as_bytes();
            w == path || (w.starts_with(path) && w.get(path.len()) == Some(&b'/'))
        })
    }

    /// The path matched on (expanded and canonicalised).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path as written in the policy.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// Whether the pattern has a `*` anywhere.
    pub fn has_glob(&self) -> bool {
        self.comps.iter().any(|c| !matches!(c, Comp::Literal(_)))
    }

    /// Whether `path` (absolute, canonical, as bytes) is this pattern's path
    /// or lies below it. Allocates nothing.
    pub fn matches(&self, path: &[u8]) -> bool {
        match_from(&self.comps, path)
    }

    /// [`Pattern::matches`] for a path whose [`first_key`] is `key`: a rule
    /// that starts with another literal component is passed over at once.
    pub fn matches_keyed(&self, path: &[u8], key: Option<u64>) -> bool {
        if self.first.is_some() && self.first != key {
            return false;
        }
        match_from(&self.comps, path)
    }

    /// Whether the pattern matches some path strictly below `path` without
    /// matching `path` itself: a rule that can decide differently for what a
    /// directory holds than for the directory. Conservative for globs (any
    /// name can be chosen below `path`). Not on the hot path: it allocates.
    pub fn reaches_below(&self, path: &[u8]) -> bool {
        // The set of pattern positions reachable after `path`'s components,
        // as a nondeterministic automaton over components.
        let n = self.comps.len();
        let mut live = vec![false; n + 1];
        let mut next = vec![false; n + 1];
        live[0] = true;
        self.close(&mut live);
        let mut at = path;
        while let Some((c, after)) = next_component(at) {
            at = after;
            next.iter_mut().for_each(|b| *b = false);
            for p in 0..=n {
                if !live[p] {
                    continue;
                }
                match self.comps.get(p) {
                    // Matched already: everything below matches too.
                    None => next[n] = true,
                    Some(Comp::AnyDepth) => next[p] = true,
                    Some(Comp::Literal(lit)) => next[p + 1] |= c == &**lit,
                    Some(Comp::Glob(g)) => next[p + 1] |= glob_match(g, c),
                }
            }
            self.close(&mut next);
            std::mem::swap(&mut live, &mut next);
        }
        // `path` itself is matched: the rule decides the directory too.
        !live[n] && live.iter().any(|&b| b)
    }

    /// Adds the positions reachable by letting a `**` match nothing.
    fn close(&self, set: &mut [bool]) {
        for p in 0..self.comps.len() {
            if set[p] && self.comps[p] == Comp::AnyDepth {
                set[p + 1] = true;
            }
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Splits the next component off `path`: skips leading `/`s, returns the
/// component and what follows it, or `None` at the end.
fn next_component(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let start = path.iter().position(|&b| b != b'/')?;
    let path = &path[start..];
    let end = path.iter().position(|&b| b == b'/').unwrap_or(path.len());
    Some(path.split_at(end))
}

// Work done by the matcher on this thread, in bytes of path touched, for
// the test that keeps matching linear.
#[cfg(test)]
thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// Counts `n` steps of matching work (tests only; nothing otherwise).
#[inline(always)]
fn steps(n: usize) {
    #[cfg(test)]
    STEPS.with(|s| s.set(s.get() + n as u64));
    #[cfg(not(test))]
    let _ = n;
}

/// Whether `comps` match a leading run of the components of `path`.
///
/// The wildcard algorithm with a single backtrack point, over components:
/// `**` is the star, a literal or glob component matches one component,
/// and the end of the pattern matches any rest (the path is below the
/// rule). Only the last `**` ever needs to be extended, so this is
/// O(pattern x path) whatever the number of `**`, where plain backtracking
/// would let a deep path make a pattern with several `**` exponential.
fn match_from(comps: &[Comp], path: &[u8]) -> bool {
    let mut p = 0;
    let mut at = path;
    // The last `**` seen, and where in the path its match ends so far.
    let mut star: Option<(usize, &[u8])> = None;
    loop {
        let Some(comp) = comps.get(p) else {
            // Every pattern component matched: the path is here or below.
            return true;
        };
        if *comp == Comp::AnyDepth {
            star = Some((p, at));
            p += 1;
            continue;
        }
        if let Some((c, after)) = next_component(at) {
            steps(c.len() + 1);
            let hit = match comp {
                Comp::Literal(lit) => c == &**lit,
                Comp::Glob(glob) => glob_match(glob, c),
                Comp::AnyDepth => false,
            };
            if hit {
                p += 1;
                at = after;
                continue;
            }
        }
        // Mismatch: let the last `**` take one more component, or fail.
        let Some((sp, star_at)) = star else {
            return false;
        };
        let Some((_, after)) = next_component(star_at) else {
            return false;
        };
        p = sp + 1;
        at = after;
        star = Some((sp, after));
    }
}

/// Whether `name` matches `pat`, in which `*` matches any run of bytes.
/// Iterative with one backtrack point: linear in practice, no recursion.
fn glob_match(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and where in `name` its match ends so far.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        steps(1);
        match pat.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
            }
            Some(&c) if c == name[n] => {
                p += 1;
                n += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    p = sp + 1;
                    n = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    pat[p..].iter().all(|&b| b == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern).unwrap().matches(path.as_bytes())
    }

    fn below(pattern: &str, path: &str) -> bool {
        Pattern::new(pattern)
            .unwrap()
            .reaches_below(path.as_bytes())
    }

    #[test]
    fn reaches_below_sees_rules_inside_a_directory() {
        assert!(below("/w/data/secret", "/w/data"));
        assert!(below("/w/data/secret", "/w"));
        assert!(below("/w/*/secret", "/w/data"));
        assert!(below("/w/**/*.key", "/w/data"));
        assert!(below("/w/**/*.key", "/w"));
        assert!(below("/**/x", "/a/b"));
        assert!(below("/w/d*", "/w"));
        // Matching the directory itself decides it and all below alike.
        assert!(!below("/w", "/w/data"));
        assert!(!below("/w/data", "/w/data"));
        assert!(!below("/", "/w"));
        assert!(!below("/w/**", "/w/data"));
        assert!(!below("/w/**/*.key", "/w/a.key"));
        // Elsewhere.
        assert!(!below("/w/other/secret", "/w/data"));
        assert!(!below("/v/**/x", "/w"));
        assert!(!below("/w/*.key", "/w/data"));
    }

    /// The keyed match is the match: a different first component's key
    /// only ever turns away a path that could not match anyway.
    #[test]
    fn keyed_match_agrees() {
        let patterns = [
            "/",
            "/usr",
            "/usr/lib",
            "/etc/ssh/*key*",
            "/etc/sudoers*",
            "/*",
            "/**",
            "/**/x",
            "/u*/lib",
            "/proc/self",
            "/a/**/b",
        ];
        let paths = [
            "/",
            "/usr",
            "/usr/",
            "//usr/lib",
            "/usr//lib/x",
            "/usrx",
            "/us",
            "/etc/ssh/a_key",
            "/etc/sudoers.d/x",
            "/x",
            "/a/x",
            "/a/b",
            "/a/c/b",
            "/proc/self/fd",
            "/u/lib",
            "/uu/lib/z",
            "",
        ];
        for pat in patterns {
            let p = Pattern::new(pat).unwrap();
            for path in paths {
                let key = first_key(path.as_bytes());
                assert_eq!(
                    p.matches_keyed(path.as_bytes(), key),
                    p.matches(path.as_bytes()),
                    "{pat} on {path:?}"
                );
            }
        }
        assert_eq!(first_key(b"//usr/lib"), first_key(b"/usr"));
        assert_eq!(first_key(b"/"), None);
    }

    #[test]
    fn root_matches_everything() {
        for p in ["/", "/a", "/a/b/c", "/.hidden"] {
            assert!(m("/", p), "{p}");
        }
    }

    #[test]
    fn literal_matches_itself_and_below() {
        assert!(m("/usr", "/usr"));
        assert!(m("/usr", "/usr/"));
        assert!(m("/usr", "/usr/lib"));
        assert!(m("/usr", "/usr/lib/x/y.so"));
        assert!(m("/usr/lib", "/usr/lib/x"));
        assert!(!m("/usr/lib", "/usr"));
        assert!(!m("/usr", "/"));
        assert!(!m("/usr", "/var/usr"));
    }

    #[test]
    fn prefix_is_not_a_component() {
        assert!(!m("/usr", "/usrx"));
        assert!(!m("/usr", "/usr.d/x"));
        assert!(!m("/usr/lib", "/usr/lib64"));
        assert!(!m("/usrx", "/usr"));
    }

    #[test]
    fn normalisation_of_the_pattern() {
        assert!(m("//usr//lib/./", "/usr/lib/x"));
        assert_eq!(Pattern::new("/usr/").unwrap().as_str(), "/usr");
        assert_eq!(Pattern::new("/").unwrap().as_str(), "/");
        assert!(Pattern::new("usr").is_err());
        assert!(Pattern::new("/usr/../etc").is_err());
    }

    #[test]
    fn star_within_a_component() {
        assert!(m("/etc/sudoers*", "/etc/sudoers"));
        assert!(m("/etc/sudoers*", "/etc/sudoers.d"));
        assert!(m("/etc/sudoers*", "/etc/sudoers.d/README"));
        assert!(!m("/etc/sudoers*", "/etc/sudo"));
        assert!(m("/etc/ssh/*key*", "/etc/ssh/ssh_host_rsa_key"));
        assert!(m("/etc/ssh/*key*", "/etc/ssh/ssh_host_rsa_key.pub"));
        assert!(m("/etc/ssh/*key*", "/etc/ssh/key"));
        assert!(!m("/etc/ssh/*key*", "/etc/ssh/sshd_config"));
        assert!(!m("/etc/ssh/*key*", "/etc/ssh"));
        assert!(m("/a/*", "/a/b"));
        assert!(m("/a/*", "/a/b/c"));
        assert!(!m("/a/*", "/a"));
        assert!(m("/a/*.so", "/a/x.so"));
        assert!(m("/a/*.so", "/a/.so"));
        assert!(!m("/a/*.so", "/a/x.so.1"));
        assert!(m("/a/*.so*", "/a/x.so.1"));
    }

    #[test]
    fn star_does_not_cross_slashes() {
        assert!(!m("/a*c", "/ab/c"));
        assert!(!m("/a/*/d", "/a/b/c/d"));
        assert!(m("/a/*/d", "/a/b/d/e"));
    }

    #[test]
    fn star_backtracks() {
        assert!(glob_match(b"*a*b", b"xaxxab"));
        assert!(glob_match(b"a*a*a", b"aaa"));
        assert!(!glob_match(b"a*a*a", b"aa"));
        assert!(glob_match(b"**", b""));
        assert!(glob_match(b"*", b""));
        assert!(glob_match(b"x**y", b"xy"));
        assert!(!glob_match(b"abc", b"ab"));
        assert!(!glob_match(b"ab", b"abc"));
    }

    #[test]
    fn double_star_at_the_start() {
        assert!(m("/**/x", "/x"));
        assert!(m("/**/x", "/a/b/x"));
        assert!(m("/**/x", "/a/b/x/y"));
        assert!(!m("/**/x", "/a/b/xy"));
        assert!(!m("/**/x", "/"));
    }

    #[test]
    fn double_star_in_the_middle() {
        assert!(m("/a/**/b", "/a/b"));
        assert!(m("/a/**/b", "/a/x/b"));
        assert!(m("/a/**/b", "/a/x/y/b/z"));
        assert!(!m("/a/**/b", "/a/x/y"));
        assert!(!m("/a/**/b", "/b"));
        assert!(m("/a/**/*.rs", "/a/src/main.rs"));
        assert!(m("/a/**/**/b", "/a/b"));
        assert!(m("/a/**/b/**/c", "/a/1/b/2/3/c"));
        assert!(!m("/a/**/b/**/c", "/a/1/b/2/3/d"));
    }

    #[test]
    fn double_star_at_the_end() {
        assert!(m("/a/**", "/a"));
        assert!(m("/a/**", "/a/b/c"));
        assert!(!m("/a/**", "/ab"));
        assert!(m("/**", "/"));
        assert!(m("/**", "/anything"));
    }

    #[test]
    fn odd_candidate_paths() {
        assert!(m("/a/b", "/a//b"));
        assert!(!m("/a", ""));
        assert!(m("/", ""));
    }

    #[test]
    fn many_double_stars_stay_fast() {
        let deep = "/a".repeat(2000);
        let p = Pattern::new("/**/a/**/a/**/a/**/a/**/a/**/b").unwrap();
        let start = std::time::Instant::now();
        assert!(!p.matches(deep.as_bytes()));
        assert!(p.matches(format!("{deep}/b/c").as_bytes()));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));
    }

    /// A plain backtracking matcher, the definition of the contract (a
    /// rule matches its path and everything below it; `*` within one
    /// component, `**` zero or more whole components), that the
    /// single-backtrack [`match_from`] must agree with.
    fn reference(pat: &[&[u8]], path: &[&[u8]]) -> bool {
        fn glob(p: &[u8], n: &[u8]) -> bool {
            match p.split_first() {
                None => n.is_empty(),
                Some((b'*', rest)) => (0..=n.len()).any(|k| glob(rest, &n[k..])),
                Some((c, rest)) => n.first() == Some(c) && glob(rest, &n[1..]),
            }
        }
        match pat.split_first() {
            None => true,
            Some((&b"**", rest)) => (0..=path.len()).any(|k| reference(rest, &path[k..])),
            Some((c, rest)) => path
                .split_first()
                .is_some_and(|(first, after)| glob(c, first) && reference(rest, after)),
        }
    }

    /// Every pattern of up to four components over a small alphabet (with
    /// `*`, `**` and globs), against every path of up to five components:
    /// the matcher agrees with the reference.
    #[test]
    fn agrees_with_backtracking_reference() {
        let pcomps: [&[u8]; 7] = [b"a", b"b", b"*", b"**", b"a*", b"*b", b"*a*"];
        let names: [&[u8]; 4] = [b"a", b"b", b"ab", b"ba"];
        let mut patterns: Vec<Vec<&[u8]>> = vec![vec![]];
        for _ in 0..4 {
            let longer: Vec<Vec<&[u8]>> = patterns
                .iter()
                .filter(|p| p.len() == patterns.last().map_or(0, Vec::len))
                .flat_map(|p| pcomps.iter().map(move |c| [p.clone(), vec![*c]].concat()))
                .collect();
            patterns.extend(longer);
        }
        let mut paths: Vec<Vec<&[u8]>> = vec![vec![]];
        for _ in 0..5 {
            let longer: Vec<Vec<&[u8]>> = paths
                .iter()
                .filter(|p| p.len() == paths.last().map_or(0, Vec::len))
                .flat_map(|p| names.iter().map(move |c| [p.clone(), vec![*c]].concat()))
                .collect();
            paths.extend(longer);
        }
        let text = |cs: &[&[u8]]| {
            let mut t = Vec::new();
            for c in cs {
                t.push(b'/');
                t.extend_from_slice(c);
            }
            if t.is_empty() {
                t.push(b'/');
            }
            t
        };
        for pat in &patterns {
            let written = String::from_utf8(text(pat)).unwrap();
            let compiled = Pattern::new(&written).unwrap();
            for path in &paths {
                let bytes = text(path);
                assert_eq!(
                    compiled.matches(&bytes),
                    reference(pat, path),
                    "{written} on {}",
                    String::from_utf8_lossy(&bytes)
                );
            }
        }
    }

    /// The program chooses the path of every request: one of thousands of
    /// components, or of long names built to make each `*` try every
    /// split, costs work linear in its length. The work is counted (bytes
    /// of path touched, [`steps`]), so the bound holds on a loaded machine:
    /// a path eight times as long costs at most ten times as much (a
    /// quadratic matcher: 64). The time is bounded too, loosely.
    #[test]
    fn matching_is_linear_in_the_path() {
        use std::time::{Duration, Instant};
        let patterns = [
            "/**/a/**/a/**/a/**/a/**/a/**/b",
            "/**/*a*a*a*a*b/**/*a*a*a*b",
            "/**/*/*/*/*/*/*/b",
            "/home/u/**/**/*.key",
            "/**/a/a/a/a/a/a/a/b",
            "/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/a/**/b",
        ];
        // Components of `a`, of `a/b` alternating, and of 200 `a`s (names
        // near NAME_MAX, for the `*`s within a component).
        let long = "a".repeat(200);
        let shapes: [(&str, usize); 3] = [("/a", 512), ("/a/b", 256), (&format!("/{long}"), 16)];
        for pat in patterns {
            let p = Pattern::new(pat).unwrap();
            for (unit, n) in shapes {
                let cost = |count: usize| {
                    let path = unit.repeat(count).into_bytes();
                    STEPS.with(|s| s.set(0));
                    let start = Instant::now();
                    std::hint::black_box(p.matches(std::hint::black_box(&path)));
                    (
                        STEPS.with(std::cell::Cell::get),
                        start.elapsed(),
                        path.len(),
                    )
                };
                let (short, _, _) = cost(n);
                let (long, took, len) = cost(8 * n);
                assert!(
                    long <= 10 * short.max(1),
                    "{pat} on {len} bytes of {unit:.8}...: {short} steps for an eighth of it, {long} for it"
                );
                assert!(took < Duration::from_millis(500), "{pat}: {took:?}");
            }
        }
    }

    /// Names are bytes, compared as such: `[`, `?`, `\\`, non-UTF-8 bytes and
    /// a literal `*` in a path are ordinary characters, and a rule matches
    /// below itself only at a `/`.
    #[test]
    fn odd_names_in_paths() {
        let ssh = Pattern::new("/home/u/.ssh").unwrap();
        assert!(ssh.matches(b"/home/u/.ssh"));
        assert!(ssh.matches(b"/home/u/.ssh/"));
        assert!(ssh.matches(b"/home/u/.ssh//id_rsa"));
        assert!(!ssh.matches(b"/home/u/.sshx"));
        assert!(!ssh.matches(b"/home/u/.ssh\\id"));
        assert!(!ssh.matches(b"/home/u/.ssh\xff"));
        assert!(!ssh.matches(b"/home/u/.ss*"));
        assert!(!ssh.matches(b"/home/u/**"));
        assert!(!ssh.matches(b"/home/u/*/id_rsa"));
        assert!(!ssh.matches(b"/home/u/.ssh\0/x"));
        // `[` and `?` are no wildcards.
        assert!(!m("/a/[bc]", "/a/b"));
        assert!(m("/a/[bc]", "/a/[bc]"));
        assert!(!m("/a/?", "/a/b"));
        assert!(!m("/a\\*", "/ab"));
        assert!(m("/a\\*", "/a\\b"));
        // Non-UTF-8 bytes are matched by `*` like any other.
        let p = Pattern::new("/d/*.key").unwrap();
        assert!(p.matches(b"/d/\xff\xfe.key"));
        assert!(!p.matches(b"/d/\xff/x.key"));
    }

    #[test]
    fn has_glob() {
        assert!(!Pattern::new("/a/b").unwrap().has_glob());
        assert!(Pattern::new("/a/*").unwrap().has_glob());
        assert!(Pattern::new("/a/**").unwrap().has_glob());
    }
}

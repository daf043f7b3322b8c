//! From what the program used to the rules of a policy.
//!
//! The steps, each deliberate about what it may widen:
//!
//! 0. A path a policy cannot name as itself is left out, with a note: not
//!    UTF-8, or holding `${` (a variable) or `*` (a wildcard: `${HOME}/*`
//!    would be the whole home directory).
//! 1. What `@system` (which the learned policy includes) already allows as
//!    used is dropped, and so are directories that are only on the way to
//!    what it shows (`/`, `/proc`, `/dev`: visible read-only anyway). What
//!    `@system` hides (`/etc/shadow`, host keys) is never learnt: it is left
//!    out with a note. A change to something `@system` has read-only (a
//!    program run as root writing under `/etc`) is kept as an exact rule,
//!    with a note.
//! 2. If the program changed anything in `$TMPDIR` (outside the working
//!    directory), one `${TMPDIR}` rule, read-write, stands for all its
//!    temporary files, whose names change from run to run.
//! 3. The rest is generalised to directories, twice: once over everything
//!    used (giving `ro` rules), once over what was changed (giving `rw`
//!    rules). A directory becomes one rule when its contents were used
//!    widely (at least two of its entries, and at least half of those it
//!    holds), or, for changes, when the program made and removed entries
//!    in it (lock and temporary files, whose names change).
//!    No directory is ever generalised to if it is `/`, a top-level
//!    directory, `$HOME` or above it, above the working or temporary
//!    directory, under `/proc`, `/sys`, `/dev` (but `/dev/shm` itself) or
//!    `/run`, or if it holds
//!    (or is) something `@system` hides or a well-known store of secrets
//!    (`~/.ssh`, `~/.gnupg`, ...).
//! 4. Paths are written with `${CWD}`, `${TMPDIR}` or `${HOME}` where they
//!    lie below one (the longest), rules sorted so that a directory comes
//!    before the exceptions below it, each with a comment naming the
//!    programs that used it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::{Use, EXEC, READ, WRITE};
use crate::policy::{FsAccess, FsAction, Policy};

/// Secret stores below `$HOME` that no generalisation may reach into or
/// above (they may still be learnt exactly, if the program used them).
const HOME_SECRETS: &[&str] = &[
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".password-store",
    ".netrc",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    ".pki",
    ".mozilla",
    ".config/gcloud",
    ".config/gh",
    ".config/chromium",
    ".config/google-chrome",
    ".local/share/keyrings",
    ".cargo/credentials.toml",
];

/// Pseudo-file systems and run-time state: learnt exactly, never
/// generalised (their contents are per boot, per process)...
const NEVER_GENERALISED: &[&str] = &["/proc", "/sys", "/dev", "/run"];

/// ... except these directories themselves, where programs make files with
/// names that change from run to run (POSIX shared memory and semaphores:
/// `sem.mp-XXXX` of Python's multiprocessing).
const GENERALISED_EXCEPTIONALLY: &[&str] = &["/dev/shm"];

/// A directory with at least this many entries used is generalised to
/// whatever else it holds.
const WIDE: usize = 2;

/// The directories that paths are written relative to, canonical.
#[derive(Debug, Clone)]
pub struct Roots {
    /// `${CWD}`.
    pub cwd: String,
    /// `${TMPDIR}`.
    pub tmpdir: String,
    /// `${HOME}` (empty if unknown).
    pub home: String,
}

/// One learned file-system rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnedRule {
    /// The path as written in the policy (with `${CWD}` and friends).
    pub path: String,
    /// The same, expanded.
    pub expanded: String,
    /// `ro` or `rw`.
    pub access: FsAccess,
    /// What used it.
    pub comment: String,
}

/// The outcome: rules and notes for the user.
#[derive(Debug, Clone, Default)]
pub struct Learned {
    /// The file-system rules, in policy order.
    pub rules: Vec<LearnedRule>,
    /// Things the user should know (left out, kept exactly, not seen).
    pub notes: Vec<String>,
}

/// A candidate rule while generalising: the programs that used it, what
/// they did, how many paths it stands for.
#[derive(Debug, Clone, Default)]
struct Node {
    how: u8,
    by: BTreeSet<String>,
    paths: usize,
}

impl Node {
    fn absorb(&mut self, other: &Node) {
        self.how |= other.how;
        self.by.extend(other.by.iter().cloned());
        self.paths += other.paths;
    }
}

/// Whether any user may read `path` now (a `public` rule serves it; see
/// [`crate::fs::public`]); what no longer exists is not a secret.
fn public_now(searchable: &mut crate::fs::public::Searchable, path: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let Ok(md) = std::fs::metadata(path) else {
        return true;
    };
    searchable.reachable(path.as_bytes())
        && crate::fs::public::others_may(md.permissions().mode(), true, false)
}

/// Generalises the observations `seen` (canonical paths) into rules, given
/// the `@system` policy the learned one includes.
pub fn generalise(seen: &BTreeMap<Vec<u8>, Use>, roots: &Roots, system: &Policy) -> Learned {
    let mut out = Learned::default();
    let secrets = SecretMap::new(roots, system);
    let mut cands: BTreeMap<String, Node> = BTreeMap::new();
    let mut exact_rw: BTreeMap<String, Node> = BTreeMap::new();
    let mut searchable = crate::fs::public::Searchable::new();

    // 1. What @system decides.
    for (raw, u) in seen {
        let Ok(path) = std::str::from_utf8(raw) else {
            out.notes.push(format!(
                "left out {}: not UTF-8, which a policy cannot name",
                String::from_utf8_lossy(raw)
            ));
            continue;
        };
        if !path.starts_with('/') {
            continue;
        }
        if path.contains("${") {
            out.notes.push(format!(
                "left out {path}: \"${{\" in a path would be read as a variable"
            ));
            continue;
        }
        if path.contains('*') {
            // No syntax makes a `*` literal: `${HOME}/*` would be all of the
            // home directory, a `**` component every depth.
            out.notes.push(format!(
                "left out {path}: \"*\" in a path would be read as a wildcard (matching more than this name); add a rule by hand if the program really needs it"
            ));
            continue;
        }
        let node = Node {
            how: u.how,
            by: u.by.clone(),
            paths: 1,
        };
        let d = system.decide_fs(raw);
        match (d.action, d.rule) {
            (FsAction::Access(FsAccess::Hide | FsAccess::Deny), Some(_)) => {
                out.notes.push(format!(
                    "left out {path}: @system hides it (a secret), and learning never allows one; add a rule by hand if the program really needs it"
                ));
            }
            (FsAction::Access(FsAccess::Rw), Some(_)) => {}
            (FsAction::Access(FsAccess::Ro), Some(i))
                if system.fs.rules[i].public && !public_now(&mut searchable, path) =>
            {
                out.notes.push(format!(
                    "left out {path}: @system serves only what any user of the system may read, and this is not (a secret to others); learning never allows one; add a rule by hand if the program really needs it"
                ));
            }
            (FsAction::Access(FsAccess::Ro), Some(_)) => {
                if u.how & WRITE != 0 {
                    let p = proc_tasks_any(path);
                    out.notes.push(format!(
                        "kept {p} read-write as used: @system has it read-only"
                    ));
                    exact_rw.entry(p).or_default().absorb(&node);
                }
            }
            (_, Some(_)) => {}
            (_, None) => {
                if u.how & WRITE == 0 && system.shows_below(raw) {
                    // On the way to what @system shows: visible anyway.
                    continue;
                }
                cands.entry(proc_tasks_any(path)).or_default().absorb(&node);
            }
        }
    }

    // 2. Temporary files.
    let mut rules: Vec<LearnedRule> = Vec::new();
    let tmp = &roots.tmpdir;
    let tmp_ok = secrets.may_hold_temporaries(tmp);
    let in_tmp = |p: &str| tmp_ok && under(p, tmp) && !under(p, &roots.cwd);
    if cands.iter().any(|(p, n)| in_tmp(p) && n.how & WRITE != 0) {
        let mut all = Node::default();
        cands.retain(|p, n| {
            if in_tmp(p) {
                all.absorb(n);
                false
            } else {
                true
            }
        });
        rules.push(LearnedRule {
            path: "${TMPDIR}".to_owned(),
            expanded: tmp.clone(),
            access: FsAccess::Rw,
            comment: format!("Temporary files ({} paths) of {}.", all.paths, who(&all.by)),
        });
    }

    // 3. Directories.
    let read = collapse(&cands, READ | WRITE | EXEC, &secrets);
    let writes: BTreeMap<String, Node> = cands
        .iter()
        .filter(|(_, n)| n.how & WRITE != 0)
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    let mut written = collapse(&writes, WRITE, &secrets);
    for (p, n) in exact_rw {
        written.entry(p).or_default().absorb(&n);
    }
    for (p, n) in &written {
        rules.push(rule(p, n, FsAccess::Rw, roots));
    }
    let mut lone_dirs = Vec::new();
    let covered = below_any(read.keys(), written.keys());
    for (p, n) in &read {
        if covered.contains(p.as_str()) {
            continue;
        }
        if n.paths == 1 && is_dir(p) {
            // A directory only looked at (stat, listed, entered): a rule
            // for it would open everything below.
            lone_dirs.push((p, n));
            continue;
        }
        rules.push(rule(p, n, FsAccess::Ro, roots));
    }
    // Deepest first: a directory above another one only looked at is on
    // the way to it.
    lone_dirs.sort_by_key(|(p, _)| std::cmp::Reverse(p.matches('/').count()));
    let mut ruled: BTreeSet<ByPath> = rules.iter().map(|r| ByPath(r.expanded.clone())).collect();
    for (p, n) in lone_dirs {
        // What lies at or below `p` follows it without a gap in this order.
        let at_or_below = ruled
            .range(ByPath(p.clone())..)
            .next()
            .is_some_and(|r| under(&r.0, p));
        if at_or_below {
            // On the way to a rule: visible read-only without one.
            continue;
        }
        let mut r = rule(p, n, FsAccess::Ro, roots);
        r.comment = format!(
            "{} The directory itself only: what it holds stays hidden (next rule).",
            r.comment
        );
        let hide = LearnedRule {
            path: format!("{}/*", r.path),
            expanded: format!("{p}/*"),
            access: FsAccess::Hide,
            comment: format!("Only {} itself was used.", r.path),
        };
        ruled.insert(ByPath(r.expanded.clone()));
        ruled.insert(ByPath(hide.expanded.clone()));
        rules.push(r);
        rules.push(hide);
    }
    // The policy must mean the same where the variables have other values
    // (the project in /tmp today, in ~/src tomorrow): rules are grouped by
    // the variable they are written with, absolute paths first, then the
    // variables outermost first (as nested here; where they are not, $HOME,
    // then $TMPDIR, then $CWD: the usual nesting), and within a group a
    // directory comes before the exceptions below it.
    let order = variable_order(roots);
    let mut grouped: Vec<(Option<usize>, LearnedRule)> = rules
        .into_iter()
        .map(|r| (order.iter().position(|v| *v == variable(&r.path)), r))
        .collect();
    grouped.sort_by(|(ga, a), (gb, b)| ga.cmp(gb).then_with(|| path_cmp(&a.expanded, &b.expanded)));
    // A rule below one of the same access (its nearest above) adds nothing,
    // unless it is written from another variable: `${CWD}` inside
    // `${TMPDIR}` today may be elsewhere tomorrow. In this order the rules
    // of a group below a directory follow it without a gap, so the kept
    // rules of the group above the one at hand are a chain, outermost
    // first (`above`, indices into `kept`), and the nearest is its last:
    // one that is another group's is written from another variable.
    let mut kept: Vec<LearnedRule> = Vec::with_capacity(grouped.len());
    let mut above: Vec<usize> = Vec::new();
    let mut group = None;
    for (g, r) in grouped {
        if group != Some(g) {
            group = Some(g);
            above.clear();
        }
        while let Some(&i) = above.last() {
            if kept.get(i).is_some_and(|k| under(&r.expanded, &k.expanded)) {
                break;
            }
            above.pop();
        }
        let nearest = above
            .iter()
            .rev()
            .filter_map(|&i| kept.get(i))
            .find(|k| k.expanded != r.expanded);
        if nearest.is_some_and(|k| k.access == r.access && variable(&k.path) == variable(&r.path)) {
            continue;
        }
        above.push(kept.len());
        kept.push(r);
    }
    out.rules = kept;
    out
}

/// Collapses the paths of `set` whose node has a bit of `mask` into
/// directory rules where a directory's contents were used widely.
fn collapse(set: &BTreeMap<String, Node>, mask: u8, secrets: &SecretMap) -> BTreeMap<String, Node> {
    let mut cur: BTreeMap<String, Node> = set
        .iter()
        .filter(|(_, n)| n.how & mask != 0)
        .map(|(p, n)| (p.clone(), n.clone()))
        .collect();
    // The directories that may become a rule, deepest first: those with
    // two used entries or more (where two used paths part, in the order of
    // `path_cmp`, next to each other in it), and those holding a used path
    // (one made and removed may be all it held). Any other directory above
    // a used path has one entry used, and that entry is a directory: it is
    // neither wide nor churned, and is not looked at (every directory above
    // every used path was: 300 paths of 2,000 components each made some 600,000
    // directories of 2 KiB on average, 1.2 GiB, and more than ten minutes).
    let mut todo: BTreeSet<(std::cmp::Reverse<usize>, String)> = BTreeSet::new();
    let mut add = |d: &str| {
        if !d.is_empty() {
            todo.insert((std::cmp::Reverse(d.matches('/').count()), d.to_owned()));
        }
    };
    let mut sorted: Vec<&str> = cur.keys().map(String::as_str).collect();
    sorted.sort_by(|a, b| path_cmp(a, b));
    for (i, p) in sorted.iter().enumerate() {
        add(parent(p));
        if let Some(next) = sorted.get(i + 1) {
            add(parting(p, next));
        }
    }
    while let Some((_, d)) = todo.pop_first() {
        if !secrets.may_generalise(&d) {
            continue;
        }
        // The entries of `d` used, directly or below, and whether any of
        // them is gone (made and removed by the program).
        let prefix = format!("{d}/");
        let mut used: BTreeSet<&str> = BTreeSet::new();
        let mut gone_written = false;
        for (p, n) in cur.range(prefix.clone()..) {
            let Some(rest) = p.strip_prefix(&prefix) else {
                break;
            };
            let child = rest.split('/').next().unwrap_or(rest);
            used.insert(child);
            if child == rest && n.how & WRITE != 0 && !exists(p) {
                gone_written = true;
            }
        }
        if used.is_empty() {
            continue;
        }
        let existing_used = used
            .iter()
            .filter(|c| exists(&format!("{prefix}{c}")))
            .count();
        let total = std::fs::read_dir(&d).map_or(existing_used, Iterator::count);
        let wide = existing_used >= WIDE && 2 * existing_used >= total;
        let churn = mask == WRITE && gone_written;
        if !(wide || churn) {
            continue;
        }
        let below: Vec<String> = cur
            .range(prefix.clone()..)
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(p, _)| p.clone())
            .collect();
        let mut node = cur.remove(&d).unwrap_or_default();
        for p in below {
            if let Some(n) = cur.remove(&p) {
                node.absorb(&n);
            }
        }
        // `d` is a used path now: its directory may hold it alone.
        let up = parent(&d);
        if !up.is_empty() {
            todo.insert((std::cmp::Reverse(up.matches('/').count()), up.to_owned()));
        }
        cur.insert(d, node);
    }
    cur
}

/// The order of paths by their components: byte by byte, `/` before any
/// other byte. A directory comes right before everything below it, which
/// follows it without a gap.
fn path_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let key = |c: &u8| if *c == b'/' { 0 } else { *c };
    a.as_bytes()
        .iter()
        .map(key)
        .cmp(b.as_bytes().iter().map(key))
}

/// A path ordered by [`path_cmp`].
#[derive(Debug, PartialEq, Eq)]
struct ByPath(String);

impl Ord for ByPath {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        path_cmp(&self.0, &other.0)
    }
}

impl PartialOrd for ByPath {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// The paths of `paths` that lie at or below one of `dirs`, found in one
/// pass over both in [`path_cmp`] order (a look at every directory for
/// every path took minutes for some ten thousand of each).
fn below_any<'a>(
    paths: impl Iterator<Item = &'a String>,
    dirs: impl Iterator<Item = &'a String>,
) -> std::collections::HashSet<&'a str> {
    let mut all: Vec<(&str, bool)> = dirs
        .map(|d| (d.as_str(), true))
        .chain(paths.map(|p| (p.as_str(), false)))
        .collect();
    // A directory before a path that is the same.
    all.sort_by(|(a, da), (b, db)| path_cmp(a, b).then(db.cmp(da)));
    let mut out = std::collections::HashSet::new();
    // The directories above the one at hand, outermost first.
    let mut above: Vec<&str> = Vec::new();
    for (p, is_dir) in all {
        while above.last().is_some_and(|d| !under(p, d)) {
            above.pop();
        }
        if is_dir {
            above.push(p);
        } else if !above.is_empty() {
            out.insert(p);
        }
    }
    out
}

/// The directory of `p` ("" for `/x` and `/`).
fn parent(p: &str) -> &str {
    p.rfind('/').map_or("", |i| &p[..i])
}

/// The deepest directory that `a` and `b` (two different paths) both lie
/// at or below; "" for `/`.
fn parting<'a>(a: &'a str, b: &str) -> &'a str {
    let n = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let ends = |s: &str| s.len() == n || s.as_bytes().get(n) == Some(&b'/');
    if ends(a) && ends(b) {
        a.get(..n).unwrap_or("")
    } else {
        // (Cut at a `/`: `n` may fall inside a character.)
        let slash = a
            .as_bytes()
            .get(..n)
            .and_then(|s| s.iter().rposition(|&c| c == b'/'));
        slash.and_then(|i| a.get(..i)).unwrap_or("")
    }
}

/// Where generalising is not allowed.
struct SecretMap<'p> {
    roots: &'p Roots,
    system: &'p Policy,
    home_secrets: Vec<String>,
}

impl<'p> SecretMap<'p> {
    fn new(roots: &'p Roots, system: &'p Policy) -> Self {
        let home_secrets = if roots.home.is_empty() || roots.home == "/" {
            Vec::new()
        } else {
            HOME_SECRETS
                .iter()
                .map(|s| format!("{}/{s}", roots.home))
                .collect()
        };
        Self {
            roots,
            system,
            home_secrets,
        }
    }

    /// Whether `dir` (`$TMPDIR`) may become one read-write rule for the
    /// program's temporary files: not `/`, not `$HOME` or above, nothing
    /// secret in it. (It may lie above the working directory: `@default`
    /// gives both.)
    fn may_hold_temporaries(&self, dir: &str) -> bool {
        let r = self.roots;
        dir != "/"
            && (r.home.is_empty() || !under(&r.home, dir))
            && !self.home_secrets.iter().any(|s| under(s, dir))
            && !self.system_hides_in(dir)
    }

    fn system_hides_in(&self, dir: &str) -> bool {
        self.system.fs.rules.iter().any(|rule| {
            matches!(
                rule.action,
                FsAction::Access(FsAccess::Hide | FsAccess::Deny)
            ) && (rule.pattern.matches(dir.as_bytes())
                || rule.pattern.reaches_below(dir.as_bytes()))
        })
    }

    /// Whether `dir` may become one rule for everything below it.
    fn may_generalise(&self, dir: &str) -> bool {
        let r = self.roots;
        if dir == "/" {
            return false;
        }
        if dir.matches('/').count() < 2 && dir != r.cwd && dir != r.tmpdir {
            return false;
        }
        if NEVER_GENERALISED.iter().any(|n| under(dir, n))
            && !GENERALISED_EXCEPTIONALLY.contains(&dir)
        {
            return false;
        }
        let above = |d: &str, p: &str| !p.is_empty() && under(p, d);
        if above(dir, &r.home) {
            return false;
        }
        if (above(dir, &r.cwd) && dir != r.cwd) || (above(dir, &r.tmpdir) && dir != r.tmpdir) {
            return false;
        }
        if self.home_secrets.iter().any(|s| under(s, dir)) {
            return false;
        }
        // Nothing @system hides or denies may lie in it.
        !self.system_hides_in(dir)
    }
}

fn rule(path: &str, n: &Node, access: FsAccess, roots: &Roots) -> LearnedRule {
    let what = match (access, n.how & WRITE != 0) {
        (FsAccess::Rw, _) => "Changed",
        _ if n.how & EXEC != 0 => "Run",
        _ => "Read",
    };
    let comment = if n.paths > 1 {
        format!("{what} by {} ({} paths used below).", who(&n.by), n.paths)
    } else if !exists(path) {
        format!("{what} by {} (absent when learnt).", who(&n.by))
    } else {
        format!("{what} by {}.", who(&n.by))
    };
    LearnedRule {
        path: written(path, roots),
        expanded: path.to_owned(),
        access,
        comment,
    }
}

/// `path` written with the variable of the longest root it lies below; a
/// final symbolic link as `name*` (a rule path is resolved when loaded, so
/// the link itself would otherwise be matched by no rule).
fn written(path: &str, roots: &Roots) -> String {
    let mut best: Option<(&str, &str)> = None;
    for (var, root) in [
        ("${CWD}", &roots.cwd),
        ("${TMPDIR}", &roots.tmpdir),
        ("${HOME}", &roots.home),
    ] {
        if root.is_empty() || root == "/" || !under(path, root) {
            continue;
        }
        if best.is_none_or(|(_, b)| root.len() > b.len()) {
            best = Some((var, root));
        }
    }
    let mut text = match best {
        Some((var, root)) => format!("{var}{}", &path[root.len()..]),
        None => path.to_owned(),
    };
    let is_link = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
    if is_link && !path.starts_with("/proc/") {
        text.push('*');
    }
    text
}

/// `/proc/self/task/<tid>/...` with the thread id as `*`: thread ids
/// change from run to run.
fn proc_tasks_any(path: &str) -> String {
    const TASK: &str = "/proc/self/task/";
    match path.strip_prefix(TASK) {
        Some(rest) => {
            let (id, tail) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
                format!("{TASK}*{tail}")
            } else {
                path.to_owned()
            }
        }
        None => path.to_owned(),
    }
}

/// The order of the rule groups: "" (absolute paths), then the variables,
/// each after those whose directory holds its own.
fn variable_order(roots: &Roots) -> Vec<&'static str> {
    let vars = [
        ("${HOME}", roots.home.as_str()),
        ("${TMPDIR}", roots.tmpdir.as_str()),
        ("${CWD}", roots.cwd.as_str()),
    ];
    // Outermost first; among the free ones, the usual order.
    let mut left: Vec<(&'static str, &str)> = vars.to_vec();
    let mut out = vec![""];
    while !left.is_empty() {
        let free = left
            .iter()
            .position(|(_, root)| {
                !left
                    .iter()
                    .any(|(_, r)| !r.is_empty() && r != root && under(root, r))
            })
            .unwrap_or(0);
        out.push(left.remove(free).0);
    }
    out
}

/// The variable a written path starts with (`${CWD}`), or "".
fn variable(written: &str) -> &str {
    if written.starts_with("${") {
        written.find('}').map_or("", |i| &written[..=i])
    } else {
        ""
    }
}

fn who(by: &BTreeSet<String>) -> String {
    if by.is_empty() {
        "the program".to_owned()
    } else {
        by.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// Whether `p` is `dir` or lies below it.
fn under(p: &str, dir: &str) -> bool {
    dir == "/" || p == dir || (p.starts_with(dir) && p.as_bytes().get(dir.len()) == Some(&b'/'))
}

fn is_dir(p: &str) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir())
}

fn exists(p: &str) -> bool {
    !p.contains('*') && std::fs::symlink_metadata(Path::new(p)).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, Vars};

    #[test]
    fn paths_are_ordered_by_their_components() {
        let mut v = vec!["/a/b-x", "/a/b/c", "/a", "/a/b", "/a-b", "/a/b/*", "/ab"];
        v.sort_by(|a, b| path_cmp(a, b));
        let mut by_components = v.clone();
        by_components.sort_by_key(|p| p.split('/').filter(|c| !c.is_empty()).collect::<Vec<_>>());
        assert_eq!(v, by_components);
        assert_eq!(
            v,
            ["/a", "/a/b", "/a/b/*", "/a/b/c", "/a/b-x", "/a-b", "/ab"]
        );
    }

    #[test]
    fn where_paths_part() {
        assert_eq!(parting("/a/bc", "/a/bd"), "/a");
        assert_eq!(parting("/a/b", "/a/b/c"), "/a/b");
        assert_eq!(parting("/x", "/y"), "");
        assert_eq!(parting("/d/\u{e9}", "/d/\u{e8}"), "/d");
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "");
    }

    #[test]
    fn paths_below_directories_are_found_in_one_pass() {
        let s = |v: &[&str]| v.iter().map(|p| (*p).to_owned()).collect::<Vec<String>>();
        let paths = s(&["/a", "/a/b", "/a-b/c", "/w/x/y", "/w/xy", "/z"]);
        let dirs = s(&["/a", "/w/x"]);
        let mut got: Vec<&str> = below_any(paths.iter(), dirs.iter()).into_iter().collect();
        got.sort_unstable();
        assert_eq!(got, ["/a", "/a/b", "/w/x/y"]);
        let naive: Vec<&str> = paths
            .iter()
            .filter(|p| dirs.iter().any(|d| under(p, d)))
            .map(String::as_str)
            .collect();
        assert_eq!(got, naive);
    }

    struct Fixture {
        dir: std::path::PathBuf,
        roots: Roots,
        system: Policy,
    }

    impl Fixture {
        fn new(tag: &str) -> Self {
            let dir =
                std::env::temp_dir().join(format!("fdsup-learn-unit-{tag}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for d in [
                "cwd/src",
                "cwd/out",
                "tmp",
                "home/.ssh",
                "home/.config/app",
                "data/a",
            ] {
                std::fs::create_dir_all(dir.join(d)).unwrap();
            }
            let dir = std::fs::canonicalize(&dir).unwrap();
            let s = |p: &str| dir.join(p).to_str().unwrap().to_owned();
            let roots = Roots {
                cwd: s("cwd"),
                tmpdir: s("tmp"),
                home: s("home"),
            };
            let vars = Vars {
                cwd: roots.cwd.clone(),
                home: roots.home.clone(),
                tmpdir: roots.tmpdir.clone(),
                uid: 0,
                resolve_links: true,
            };
            let system = load("@system", &vars).unwrap();
            Fixture { dir, roots, system }
        }

        fn touch(&self, rel: &str) -> String {
            let p = self.dir.join(rel);
            std::fs::write(&p, "x").unwrap();
            p.to_str().unwrap().to_owned()
        }

        fn path(&self, rel: &str) -> String {
            self.dir.join(rel).to_str().unwrap().to_owned()
        }
    }

    impl Drop for Fixture {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    fn seen(items: &[(&str, u8)]) -> BTreeMap<Vec<u8>, Use> {
        items
            .iter()
            .map(|(p, how)| {
                (
                    p.as_bytes().to_vec(),
                    Use {
                        how: *how,
                        by: ["prog".to_owned()].into(),
                    },
                )
            })
            .collect()
    }

    fn shown(l: &Learned) -> Vec<(String, &'static str)> {
        l.rules
            .iter()
            .map(|r| (r.path.clone(), r.access.as_str()))
            .collect()
    }

    #[test]
    fn system_paths_are_not_repeated_and_secrets_never_learnt() {
        let f = Fixture::new("system");
        let l = generalise(
            &seen(&[
                ("/usr/lib/x", READ),
                ("/etc/passwd", READ),
                ("/", READ),
                ("/proc", READ),
                ("/etc/shadow", READ),
                ("/dev/null", WRITE),
            ]),
            &f.roots,
            &f.system,
        );
        assert!(l.rules.is_empty(), "{:?}", l.rules);
        assert!(l.notes.iter().any(|n| n.contains("/etc/shadow")));
    }

    #[test]
    fn working_directory_widely_used_becomes_one_rule() {
        let f = Fixture::new("cwd");
        let a = f.touch("cwd/src/a.c");
        let b = f.touch("cwd/src/b.c");
        let mk = f.touch("cwd/Makefile");
        let o = f.touch("cwd/out/a.o");
        let l = generalise(
            &seen(&[
                (&a, READ),
                (&b, READ),
                (&mk, READ),
                (&f.path("cwd/out"), READ | WRITE),
                (&o, WRITE),
            ]),
            &f.roots,
            &f.system,
        );
        assert_eq!(
            shown(&l),
            [("${CWD}".to_owned(), "ro"), ("${CWD}/out".to_owned(), "rw")]
        );
    }

    #[test]
    fn groups_follow_the_nesting_of_the_variables() {
        let r = |cwd: &str, tmpdir: &str, home: &str| Roots {
            cwd: cwd.into(),
            tmpdir: tmpdir.into(),
            home: home.into(),
        };
        assert_eq!(
            variable_order(&r("/tmp/p", "/tmp", "/root")),
            ["", "${HOME}", "${TMPDIR}", "${CWD}"]
        );
        assert_eq!(
            variable_order(&r("/home/u/p", "/home/u/p/tmp", "/home/u")),
            ["", "${HOME}", "${CWD}", "${TMPDIR}"]
        );
        assert_eq!(
            variable_order(&r("/srv/x", "/tmp/h/t", "/tmp/h")),
            ["", "${HOME}", "${TMPDIR}", "${CWD}"]
        );
        assert_eq!(
            variable_order(&r("/", "/tmp", "/root")),
            ["", "${CWD}", "${HOME}", "${TMPDIR}"]
        );
    }

    #[test]
    fn temporary_files_become_one_tmpdir_rule() {
        let f = Fixture::new("tmp");
        let l = generalise(
            &seen(&[
                (&f.path("tmp/ccA1.s"), WRITE | READ),
                (&f.path("tmp/ccB2.o"), WRITE),
            ]),
            &f.roots,
            &f.system,
        );
        assert_eq!(shown(&l), [("${TMPDIR}".to_owned(), "rw")]);
    }

    #[test]
    fn churn_makes_a_directory_writable() {
        let f = Fixture::new("churn");
        let keep = f.touch("cwd/out/result");
        f.touch("cwd/out/other");
        f.touch("cwd/out/third");
        let l = generalise(
            &seen(&[(&keep, WRITE), (&f.path("cwd/out/result.lock"), WRITE)]),
            &f.roots,
            &f.system,
        );
        assert_eq!(shown(&l), [("${CWD}/out".to_owned(), "rw")]);
    }

    #[test]
    fn never_above_home_or_into_secrets() {
        let f = Fixture::new("home");
        let a = f.touch("home/.profile");
        let b = f.touch("home/.bashrc");
        let k = f.touch("home/.ssh/config");
        let c = f.touch("home/.config/app/x");
        let d = f.touch("home/.config/app/y");
        let l = generalise(
            &seen(&[(&a, READ), (&b, READ), (&k, READ), (&c, READ), (&d, READ)]),
            &f.roots,
            &f.system,
        );
        let rules = shown(&l);
        assert!(
            rules.contains(&("${HOME}/.profile".to_owned(), "ro")),
            "{rules:?}"
        );
        assert!(
            rules.contains(&("${HOME}/.ssh/config".to_owned(), "ro")),
            "{rules:?}"
        );
        assert!(
            rules.contains(&("${HOME}/.config/app".to_owned(), "ro")),
            "{rules:?}"
        );
        assert!(!rules.iter().any(|(p, _)| p == "${HOME}"), "{rules:?}");
    }

    /// A name with a `*` in it cannot be written in a policy as itself: as
    /// a rule path it is a wildcard (`${HOME}/*` is everything in the home
    /// directory, secrets included; a `**` component is every depth). Such
    /// a path is left out, with a note, as a name with `${` is.
    #[test]
    fn names_with_a_star_are_left_out_never_wildcards() {
        let f = Fixture::new("star");
        std::fs::create_dir_all(f.dir.join("home/**")).unwrap();
        let star = f.touch("home/*");
        let deep = f.touch("home/**/x");
        let mid = f.touch("cwd/a*b");
        let plain = f.touch("cwd/src/plain.c");
        let l = generalise(
            &seen(&[(&star, READ), (&deep, WRITE), (&mid, READ), (&plain, READ)]),
            &f.roots,
            &f.system,
        );
        let vars = Vars {
            cwd: f.roots.cwd.clone(),
            home: f.roots.home.clone(),
            tmpdir: f.roots.tmpdir.clone(),
            uid: 0,
            resolve_links: true,
        };
        let secret = f.path("home/.ssh/id_rsa");
        let sibling = f.path("cwd/aXb");
        for r in &l.rules {
            let p = crate::policy::Pattern::new(&vars.expand(&r.path).unwrap()).unwrap();
            assert!(!p.matches(secret.as_bytes()), "{} reaches {secret}", r.path);
            assert!(
                !p.matches(sibling.as_bytes()),
                "{} reaches {sibling}",
                r.path
            );
        }
        assert!(
            shown(&l).contains(&("${CWD}/src/plain.c".to_owned(), "ro")),
            "{:?}",
            l.rules
        );
        for p in [&star, &deep, &mid] {
            assert!(
                l.notes
                    .iter()
                    .any(|n| n.contains(&format!("left out {p}:"))),
                "{p}: {:?}",
                l.notes
            );
        }
    }

    #[test]
    fn outside_everything_only_below_top_level() {
        let f = Fixture::new("data");
        let a = f.touch("data/a/1");
        let b = f.touch("data/a/2");
        let l = generalise(&seen(&[(&a, READ), (&b, READ)]), &f.roots, &f.system);
        assert_eq!(shown(&l), [(f.path("data/a"), "ro")]);
        // Directories only looked at: themselves, not their contents; the
        // one above another is on the way to it.
        let l = generalise(
            &seen(&[(&f.path("data"), READ), (&f.path("data/a"), READ)]),
            &f.roots,
            &f.system,
        );
        let a = f.path("data/a");
        assert_eq!(shown(&l), [(a.clone(), "ro"), (format!("{a}/*"), "hide")]);
        assert_eq!(
            proc_tasks_any("/proc/self/task/123/comm"),
            "/proc/self/task/*/comm"
        );
        assert_eq!(proc_tasks_any("/proc/self/status"), "/proc/self/status");
        // Semaphores made and removed in /dev/shm, a terminal: @system
        // serves both (a private /dev/shm, the sandbox's own terminals),
        // so nothing is learnt for them; the rest of /dev exactly.
        let l = generalise(
            &seen(&[
                ("/dev/shm/sem.mp-fdsup-unit-gone", WRITE),
                ("/dev/pts/0", READ | WRITE),
                ("/dev/fuse", READ | WRITE),
            ]),
            &f.roots,
            &f.system,
        );
        assert_eq!(shown(&l), [("/dev/fuse".to_owned(), "rw")]);
    }
}

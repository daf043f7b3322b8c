//! What `fdsup check` warns about in a policy that loads: rules that can
//! never win, paths that do not exist, and, under `"metadata": "visible"`,
//! rules that serve a path the looks (answered by the kernel) do not see
//! served.
//!
//! A rule can never win when a later rule matches every path it matches
//! (the last match wins). For a rule without `*` that is exact: a later rule
//! that matches its path matches everything below it too. For a rule with
//! `*`, only a later rule without `*` that matches the rule's literal
//! leading part is counted: a conservative answer (a warning is never
//! wrong, though one may be missed).
//!
//! Rules of the embedded policies shadowed by other embedded rules (the
//! `@default` repeats `@system`'s hidden files on purpose) are not reported:
//! the user can do nothing about them. Paths are checked for rules that
//! show something (`ro`, `rw`, a redirect and its target): a `hide` or
//! `deny` rule for something absent is a normal precaution.

use std::path::Path;

use super::model::{FsAction, FsRule, Metadata, Policy};
use super::net::NetAddr;
use super::FsAccess;

/// One warning about a loaded policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// `file:line` of the rule it is about.
    pub origin: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "warning: {}: {}", self.origin, self.message)
    }
}

impl Policy {
    /// The warnings `fdsup check` prints, in rule order.
    pub fn warnings(&self) -> Vec<Warning> {
        let mut out = Vec::new();
        let rules = &self.fs.rules;
        for (i, r) in rules.iter().enumerate() {
            if let Some(later) = rules[i + 1..].iter().rev().find(|l| covers(l, r)) {
                let both_embedded =
                    r.origin.file.starts_with('@') && later.origin.file.starts_with('@');
                if !both_embedded {
                    out.push(Warning {
                        origin: r.origin.to_string(),
                        message: format!(
                            "{} can never win: the later rule at {} ({}) matches everything it does",
                            r.pattern, later.origin, later.pattern
                        ),
                    });
                }
            }
            if r.origin.file.starts_with('@') {
                continue;
            }
            let shows = match &r.action {
                FsAction::Access(a) => matches!(a, FsAccess::Ro | FsAccess::Rw),
                FsAction::Redirect { .. } | FsAction::Content { .. } | FsAction::Private => false,
            };
            if shows && !exists_prefix(r.pattern.as_str()) {
                out.push(Warning {
                    origin: r.origin.to_string(),
                    message: format!("{} does not exist (yet)", r.pattern),
                });
            }
            let serves = matches!(
                r.action,
                FsAction::Redirect { .. } | FsAction::Content { .. } | FsAction::Private
            );
            if serves && self.fs.metadata == Metadata::Visible {
                out.push(Warning {
                    origin: r.origin.to_string(),
                    message: format!(
                        "with metadata visible, a look at {} (stat, access, a listing) is the kernel's and sees what is really there; only opens are served by this rule",
                        r.pattern
                    ),
                });
            }
            if let FsAction::Redirect { target, .. } = &r.action {
                if std::fs::metadata(target).is_err() {
                    out.push(Warning {
                        origin: r.origin.to_string(),
                        message: format!("the redirect target {target} does not exist"),
                    });
                }
            }
        }
        let net = &self.network.rules;
        for (i, r) in net.iter().enumerate() {
            let shadowed = net[i + 1..].iter().rev().find(|l| {
                l.op == r.op
                    && match (&l.addr, &r.addr) {
                        (
                            NetAddr::Inet { net: ln, port: lp },
                            NetAddr::Inet { net: rn, port: rp },
                        ) => {
                            ln.prefix() <= rn.prefix()
                                && ln.contains(rn.addr())
                                && (*lp == super::Port::Any || lp == rp)
                        }
                        (NetAddr::UnixAbstract(a), NetAddr::UnixAbstract(b)) => a == b,
                        (NetAddr::UnixPath(a), NetAddr::UnixPath(b)) => {
                            !a.has_glob() && !b.has_glob() && a.matches(b.as_str().as_bytes())
                        }
                        _ => false,
                    }
            });
            if let Some(later) = shadowed {
                if !(r.origin.file.starts_with('@') && later.origin.file.starts_with('@')) {
                    out.push(Warning {
                        origin: r.origin.to_string(),
                        message: format!(
                            "{} {} can never win: the later rule at {} ({} {}) matches everything it does",
                            r.op.as_str(),
                            r.addr,
                            later.origin,
                            later.op.as_str(),
                            later.addr
                        ),
                    });
                }
            }
        }
        out
    }
}

/// Whether `later` matches every path `rule` matches.
fn covers(later: &FsRule, rule: &FsRule) -> bool {
    if !rule.pattern.has_glob() {
        return later.pattern.matches(rule.pattern.as_str().as_bytes());
    }
    !later.pattern.has_glob()
        && later
            .pattern
            .matches(literal_prefix(rule.pattern.as_str()).as_bytes())
}

/// The components of `path` before the first one with `*`.
fn literal_prefix(path: &str) -> String {
    let mut out = String::new();
    for c in path.split('/').filter(|c| !c.is_empty()) {
        if c.contains('*') {
            break;
        }
        out.push('/');
        out.push_str(c);
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Whether the literal leading part of `path` exists (a pattern's `*`
/// parts can match names that come later).
fn exists_prefix(path: &str) -> bool {
    let p = literal_prefix(path);
    // /proc/self is the program's, not ours: it always exists.
    p.starts_with("/proc/self") || std::fs::symlink_metadata(Path::new(&p)).is_ok()
}

#[cfg(test)]
mod tests {
    use crate::policy::{load, Vars};

    fn check(json: &str) -> Vec<String> {
        let dir = std::env::temp_dir().join(format!("fdsup-lint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(format!("p{}.json", json.len()));
        std::fs::write(&file, json).unwrap();
        let vars = Vars {
            cwd: dir.to_str().unwrap().to_owned(),
            home: "/root".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        };
        let p = load(file.to_str().unwrap(), &vars).unwrap();
        let _ = std::fs::remove_file(&file);
        p.warnings().iter().map(|w| w.message.clone()).collect()
    }

    #[test]
    fn shadowed_rules_and_missing_paths() {
        let w = check(
            r#"{ "version": 1, "include": ["@default"], "filesystem": { "rules": [
                { "path": "/usr/share/doc", "access": "hide" },
                { "path": "/usr", "access": "ro" },
                { "path": "/srv/fdsup-no-such-dir", "access": "ro" },
                { "path": "/etc/*.conf", "access": "hide" },
                { "path": "/etc", "access": "ro" },
                { "path": "/srv/fdsup-no-such-dir/x", "access": "hide" }
            ] } }"#,
        );
        assert!(
            w.iter()
                .any(|m| m.starts_with("/usr/share/doc can never win")),
            "{w:#?}"
        );
        // The user's /etc uncovers what @system hides in it: said.
        assert!(
            w.iter().any(|m| m.starts_with("/etc/shadow can never win")),
            "{w:#?}"
        );
        assert!(
            !w.iter().any(|m| m.contains("/srv/fdsup-no-such-dir/x")),
            "{w:#?}"
        );
        // @system's /usr, shadowed by this file's: reported (one side is
        // the user's).
        assert!(
            w.iter().any(|m| m.starts_with("/usr can never win")),
            "{w:#?}"
        );
        assert!(
            w.iter().any(|m| m.starts_with("/etc/*.conf can never win")),
            "{w:#?}"
        );
        assert!(
            w.iter()
                .any(|m| m == "/srv/fdsup-no-such-dir does not exist (yet)"),
            "{w:#?}"
        );
    }

    #[test]
    fn served_paths_under_visible_metadata() {
        let rules = r#"[
                { "path": "/run/fdsup-hello", "content": "hi\n" },
                { "path": "/etc/hostname", "redirect": "/etc/hosts" }
            ]"#;
        let policy =
            |m: &str| format!(r#"{{ "version": 1, "filesystem": {{ {m} "rules": {rules} }} }}"#);
        let w = check(&policy(r#""metadata": "visible","#));
        for path in ["/run/fdsup-hello", "/etc/hostname"] {
            assert!(
                w.iter()
                    .any(|m| m.starts_with(&format!("with metadata visible, a look at {path} "))),
                "{w:#?}"
            );
        }
        let w = check(&policy(""));
        assert!(!w.iter().any(|m| m.contains("metadata")), "{w:#?}");
    }

    #[test]
    fn embedded_policies_are_quiet() {
        let vars = Vars::from_env().unwrap();
        for name in crate::policy::embedded_names() {
            let p = load(name, &vars).unwrap();
            assert_eq!(p.warnings(), vec![], "{name}");
        }
    }
}

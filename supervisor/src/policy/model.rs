//! The loaded policy, merged and expanded, and the decisions made on it.
//!
//! Everything here is final: variables are expanded, paths canonicalised,
//! includes merged (included rules first), defaults resolved. The decision
//! functions are on the hot path of every mediated request: they walk the
//! rules from the last to the first (the last match wins) and allocate
//! nothing.

use std::fmt;
use std::net::SocketAddr;

use super::net::{NetAccess, NetOp, NetRule, NetTarget};
use super::origin::Origin;
use super::pattern::Pattern;

/// File-system access levels (`access` of a rule, `default` of the section).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsAccess {
    /// Read, list, stat, execute.
    Ro,
    /// Also every change.
    Rw,
    /// Every request fails with EACCES.
    Deny,
    /// Every request fails with ENOENT, and the entry is left out of listings.
    Hide,
}

impl FsAccess {
    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            FsAccess::Ro => "ro",
            FsAccess::Rw => "rw",
            FsAccess::Deny => "deny",
            FsAccess::Hide => "hide",
        }
    }
}

impl fmt::Display for FsAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who answers the looks at paths (`filesystem.metadata`): `stat` and its
/// forms, `access`, `readlink`, `statfs`, `chdir` and listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Metadata {
    /// The rules decide every look, as every other request (the default).
    #[default]
    Policy,
    /// The kernel answers the looks, unmediated: names and metadata of every
    /// path are visible; opens, changes, exec and the network stay decided.
    Visible,
}

impl Metadata {
    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Metadata::Policy => "policy",
            Metadata::Visible => "visible",
        }
    }
}

impl fmt::Display for Metadata {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a file-system rule (or the default) does with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsAction {
    /// Serve (or refuse) the request on the path itself.
    Access(FsAccess),
    /// Serve it by opening `target` instead; read-only unless `writable`.
    Redirect {
        /// Absolute, normalised path of what is opened instead.
        target: String,
        /// `"access": "rw"` was given with the redirect.
        writable: bool,
    },
    /// Serve it with a sealed, read-only memfd holding `text`.
    Content {
        /// The file's contents.
        text: String,
    },
    /// `"private": true`: the path (a directory) is served by a directory
    /// of the run's own, empty at first, read-write, removed when the run
    /// ends; the host's is never reached (see `handlers::private`).
    Private,
}

/// One file-system rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsRule {
    /// The path it applies to (and everything below).
    pub pattern: Pattern,
    /// What it does.
    pub action: FsAction,
    /// Where it was written.
    pub origin: Origin,
    /// `"public": true` (an `ro` rule only): it serves only what any user
    /// of the system may read, whoever runs fdsup — an object whose
    /// permission bits for others allow the open, below directories that
    /// all allow others to search them. Anything else fails with `EACCES`,
    /// as it would for an unprivileged user (see [`crate::fs::public`]).
    pub public: bool,
}

impl FsRule {
    /// A rule without `public`.
    pub fn new(pattern: Pattern, action: FsAction, origin: Origin) -> FsRule {
        FsRule {
            pattern,
            action,
            origin,
            public: false,
        }
    }
}

/// The `filesystem` section, merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsSection {
    /// Applies where no rule matches (`deny` unless set).
    pub default: FsAccess,
    /// All rules, included policies' first.
    pub rules: Vec<FsRule>,
    /// Who answers the looks (`policy` unless set).
    pub metadata: Metadata,
}

impl FsSection {
    /// The default as an action, borrowed for as long as a decision needs.
    pub fn default_action(&self) -> &'static FsAction {
        static RO: FsAction = FsAction::Access(FsAccess::Ro);
        static RW: FsAction = FsAction::Access(FsAccess::Rw);
        static DENY: FsAction = FsAction::Access(FsAccess::Deny);
        static HIDE: FsAction = FsAction::Access(FsAccess::Hide);
        match self.default {
            FsAccess::Ro => &RO,
            FsAccess::Rw => &RW,
            FsAccess::Deny => &DENY,
            FsAccess::Hide => &HIDE,
        }
    }
}

/// A file-system decision: the action, and which rule gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsDecision<'p> {
    /// What to do.
    pub action: &'p FsAction,
    /// Index in [`FsSection::rules`]; `None` when the default decided.
    pub rule: Option<usize>,
    /// Where the deciding rule was written; `None` for the default.
    pub origin: Option<&'p Origin>,
}

/// `allow` or `deny` for exec.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecAccess {
    /// The exec goes ahead (if the file system allows reading the file).
    Allow,
    /// The exec fails with EACCES.
    Deny,
}

impl ExecAccess {
    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ExecAccess::Allow => "allow",
            ExecAccess::Deny => "deny",
        }
    }
}

impl fmt::Display for ExecAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One exec rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecRule {
    /// The executable path (or directory) it applies to.
    pub pattern: Pattern,
    /// Allowed or denied.
    pub access: ExecAccess,
    /// Where it was written.
    pub origin: Origin,
}

/// The `exec` section, merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecSection {
    /// Applies where no rule matches (`allow` unless set).
    pub default: ExecAccess,
    /// All rules, included policies' first.
    pub rules: Vec<ExecRule>,
}

/// The `network` section, merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetSection {
    /// Applies where no rule matches (`deny` unless set).
    pub default: NetAccess,
    /// Run the program in a new, empty network namespace and broker.
    pub isolate: bool,
    /// All rules, included policies' first.
    pub rules: Vec<NetRule>,
}

impl NetSection {
    /// Whether the section is more than a default: it has rules or asks for
    /// isolation. When it is not, every network request gets `default` and
    /// nothing needs to be looked at per request.
    pub fn has_rules_or_isolate(&self) -> bool {
        !self.rules.is_empty() || self.isolate
    }

    /// Whether some IP address is kept from the program by a rule: one
    /// that denies it, or redirects it elsewhere. Then a packet whose
    /// addresses are the program's own (a raw IP header, a packet socket's
    /// frame) could reach what a decided destination cannot
    /// ([`crate::filter::FilterOptions::deny_raw_packets`]).
    pub fn keeps_ip_addresses(&self) -> bool {
        self.rules.iter().any(|r| {
            matches!(r.addr, super::net::NetAddr::Inet { .. })
                && (r.access == NetAccess::Deny || r.redirect.is_some())
        })
    }
}

/// A network decision: allow or deny, and the rule that said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NetDecision<'p> {
    /// Allowed or denied.
    pub access: NetAccess,
    /// The deciding rule (its `redirect` says where an allowed connect
    /// goes); `None` when the default decided.
    pub rule: Option<&'p NetRule>,
}

/// The `log` section: which decisions the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Record refused requests (default true).
    pub denied: bool,
    /// Record allowed requests (default false).
    pub allowed: bool,
}

impl Default for LogSettings {
    fn default() -> LogSettings {
        LogSettings {
            denied: true,
            allowed: false,
        }
    }
}

/// A loaded policy: merged, expanded, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The `filesystem` section.
    pub fs: FsSection,
    /// The `network` section.
    pub network: NetSection,
    /// The `exec` section.
    pub exec: ExecSection,
    /// The `log` section.
    pub log: LogSettings,
}

impl Policy {
    /// Decides a file-system request on `path`, an absolute canonical path
    /// (with the program's `/proc/<pid>` already written `/proc/self`). The
    /// last matching rule wins; the default applies if none matches.
    ///
    /// Hot path: no allocation, no system call.
    pub fn decide_fs(&self, path: &[u8]) -> FsDecision<'_> {
        let key = super::pattern::first_key(path);
        let found = self
            .fs
            .rules
            .iter()
            .enumerate()
            .rev()
            .find(|(_, r)| r.pattern.matches_keyed(path, key));
        match found {
            Some((i, r)) => FsDecision {
                action: &r.action,
                rule: Some(i),
                origin: Some(&r.origin),
            },
            None => FsDecision {
                action: self.fs.default_action(),
                rule: None,
                origin: None,
            },
        }
    }

    /// The first rule that can decide a path strictly below `path`
    /// differently from `rw` (see [`crate::policy::Pattern::reaches_below`]):
    /// moving the directory `path` would carry what that rule protects to
    /// where it no longer applies. `None` if everything below `path` is
    /// decided as `path` is, or by `rw` rules.
    pub fn fs_rule_below(&self, path: &[u8]) -> Option<usize> {
        self.fs.rules.iter().position(|r| {
            r.action != FsAction::Access(FsAccess::Rw) && r.pattern.reaches_below(path)
        })
    }

    /// Whether a rule that does not hide can decide some path strictly
    /// below `path` (which it does not match itself): `path` is then a
    /// directory on the way to something the policy shows.
    pub fn shows_below(&self, path: &[u8]) -> bool {
        self.fs
            .rules
            .iter()
            .any(|r| r.action != FsAction::Access(FsAccess::Hide) && r.pattern.reaches_below(path))
    }

    /// Whether `path` is a symbolic link a rule that does not hide was
    /// written through (see [`crate::policy::Pattern::written_through`]).
    pub fn shows_through(&self, path: &[u8]) -> bool {
        self.fs.rules.iter().any(|r| {
            r.action != FsAction::Access(FsAccess::Hide) && r.pattern.written_through(path)
        })
    }

    /// Decides an exec of `path` (absolute, canonical): the access and the
    /// origin of the deciding rule (`None` for the default).
    pub fn decide_exec(&self, path: &[u8]) -> (ExecAccess, Option<&Origin>) {
        match self
            .exec
            .rules
            .iter()
            .rev()
            .find(|r| r.pattern.matches(path))
        {
            Some(r) => (r.access, Some(&r.origin)),
            None => (self.exec.default, None),
        }
    }

    /// Decides a network request: `op` on `target`.
    pub fn decide_net(&self, op: NetOp, target: NetTarget<'_>) -> NetDecision<'_> {
        match self
            .network
            .rules
            .iter()
            .rev()
            .find(|r| r.matches(op, target))
        {
            Some(r) => NetDecision {
                access: r.access,
                rule: Some(r),
            },
            None => NetDecision {
                access: self.network.default,
                rule: None,
            },
        }
    }

    /// [`decide_net`](Self::decide_net) for an IP socket address.
    pub fn decide_inet(&self, op: NetOp, addr: SocketAddr) -> NetDecision<'_> {
        self.decide_net(op, NetTarget::Inet(addr))
    }
}

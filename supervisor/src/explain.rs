//! `fdsup explain`: which rule decides one request, and why.
//!
//! The request is decided exactly as the supervisor decides it (the same
//! [`Policy::decide_fs`], [`Policy::decide_exec`], [`Policy::decide_net`],
//! on the path canonicalised the way rule paths are), and the answer names
//! the deciding rule with its origin and its `comment`, the outcome the
//! program would see, and the other rules that match but lose to it (the
//! last match wins), so that a surprising answer can be traced to the rule
//! that causes it.
//!
//! Comments are not part of the loaded model (nothing at run time needs
//! them): they are read back from the rule's file at its origin line
//! ([`crate::policy::comment`]).
//!
//! A module of its own above the handlers, not part of [`crate::policy`]:
//! it tells what the supervisor would do, which takes more than the policy
//! (the handlers' terminals, [`crate::fs::public`]'s check), and the policy
//! sits below all of them.

use std::fmt::Write as _;

use crate::policy::{
    canonicalize_prefix, comment, metadata_text, normalize, parse_redirect, ExecAccess, FsAccess,
    FsAction, Metadata, NetAccess, NetOp, NetTarget, Policy, RedirectTarget,
};

/// What is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    /// Reading (open for reading, list).
    Read,
    /// A look: stat, access, readlink, chdir, a listing. Decided like a
    /// read under `"metadata": "policy"`, answered by the kernel under
    /// `visible`.
    Look,
    /// Any change (`rw` needed).
    Write,
    /// Executing.
    Exec,
    /// Connecting to (or sending to) an address.
    Connect(String),
}

/// An explanation: the text, and whether the request would be allowed
/// (`fdsup explain` exits 0 if so, 1 if it would be refused, as `test`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What `fdsup explain` prints.
    pub text: String,
    /// The program would get what it asked for (an allowed, redirected or
    /// served request; a look the kernel answers).
    pub allowed: bool,
}

/// The explanation of `ask` on `path` (ignored for a connect) under
/// `policy`; `cwd` resolves a relative path. An error is a bad path or
/// address.
pub fn explain(
    policy: &Policy,
    path: Option<&str>,
    ask: &Ask,
    cwd: &str,
) -> Result<Explanation, String> {
    let mut out = String::new();
    if let Ask::Connect(addr) = ask {
        let allowed = connect(policy, addr, &mut out)?;
        return Ok(Explanation { text: out, allowed });
    }
    let path = path.ok_or("a path is needed")?;
    let canonical = canonical(path, cwd)?;
    let what = match ask {
        Ask::Read => "read",
        Ask::Look => "look",
        Ask::Write => "write",
        _ => "exec",
    };
    let _ = write!(out, "request: {what} {canonical}");
    if canonical != path {
        let _ = write!(out, " (asked as {path})");
    }
    out.push('\n');
    let visible = policy.fs.metadata == Metadata::Visible;
    let _ = writeln!(
        out,
        "metadata: {} ({})",
        policy.fs.metadata,
        metadata_text(policy.fs.metadata)
    );
    if *ask == Ask::Look && visible {
        out.push_str(
            "decided by: the kernel (metadata: visible): looks are not mediated\n\
             result: answered by the kernel as outside the sandbox: the name and metadata (type, size, times, owner, mode, link target) are visible whatever the rules say\n\
             an open of it is still decided by the rules:\n",
        );
        let mut open = String::new();
        decide_path(policy, &canonical, &Ask::Read, &mut open);
        for line in open.lines() {
            let _ = writeln!(out, "  {line}");
        }
        return Ok(Explanation {
            text: out,
            allowed: true,
        });
    }
    let allowed = decide_path(policy, &canonical, ask, &mut out);
    if *ask == Ask::Read && visible {
        out.push_str("note: looks at it (stat, access, readlink, its listing) are answered by the kernel (metadata: visible)\n");
    }
    Ok(Explanation { text: out, allowed })
}

/// The rule that decides `ask` on `canonical`, the outcome, and the rules
/// that lose to it; returns whether it is allowed.
fn decide_path(policy: &Policy, canonical: &str, ask: &Ask, out: &mut String) -> bool {
    let d = policy.decide_fs(canonical.as_bytes());
    let on_the_way = d.rule.is_none()
        && matches!(policy.fs.default, FsAccess::Hide | FsAccess::Deny)
        && std::fs::metadata(canonical).is_ok_and(|m| m.is_dir())
        && policy.shows_below(canonical.as_bytes());
    match d.rule {
        Some(i) => {
            let r = &policy.fs.rules[i];
            let _ = writeln!(
                out,
                "decided by: {}  {}  {}",
                r.origin,
                r.pattern,
                action_text(&r.action, r.public)
            );
            if r.pattern.written() != r.pattern.as_str() {
                let _ = writeln!(out, "  (written {})", r.pattern.written());
            }
            if let Some(c) = comment(&r.origin) {
                let _ = writeln!(out, "  why: {c}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "decided by: the filesystem default ({}): no rule matches",
                policy.fs.default
            );
        }
    }
    let (allowed, result) = if on_the_way {
        let writes = *ask == Ask::Write;
        (
            !writes,
            if writes {
                "refused (EACCES): a directory on the way to what a rule shows is visible read-only, not writable".to_owned()
            } else {
                match policy.fs.metadata {
                    Metadata::Policy => "allowed read-only: a directory on the way to what a rule shows below it (only what is not hidden is listed)",
                    Metadata::Visible => "allowed read-only: a directory on the way to what a rule shows below it",
                }.to_owned()
            },
        )
    } else {
        outcome(d.action, ask, policy.fs.metadata)
    };
    // A terminal: only the sandbox's own exists for it, whatever the rule.
    let (allowed, result) = match crate::handlers::tty::pts_number(canonical.as_bytes()) {
        Some(_) if allowed => (
            true,
            format!("{result}, if it is the sandbox's own terminal (the one fdsup is started on, or one whose master a sandboxed process holds); any other terminal is hidden (ENOENT) whatever the rules say"),
        ),
        _ => (allowed, result),
    };
    let public = d.rule.is_some_and(|i| policy.fs.rules[i].public);
    let (allowed, result) = match public_refusal(public && allowed, canonical, ask) {
        Some(why) => (false, why),
        None if public && allowed && *ask != Ask::Look => (
            true,
            format!("{result}; public: any user of the system may read it"),
        ),
        None => (allowed, result),
    };
    let _ = writeln!(out, "result: {result}");
    let mut allowed = allowed;
    if *ask == Ask::Exec && allowed {
        let (access, origin) = policy.decide_exec(canonical.as_bytes());
        match origin {
            Some(o) => {
                let _ = writeln!(out, "exec: {access} by the exec rule at {o}");
                if let Some(c) = comment(o) {
                    let _ = writeln!(out, "  why: {c}");
                }
            }
            None => {
                let _ = writeln!(out, "exec: {access} (the exec section's default)");
            }
        }
        if access == ExecAccess::Deny {
            let _ = writeln!(out, "result: refused (EACCES) by the exec rules");
            allowed = false;
        }
    }
    let losers: Vec<_> = policy
        .fs
        .rules
        .iter()
        .enumerate()
        .filter(|(i, r)| Some(*i) != d.rule && r.pattern.matches(canonical.as_bytes()))
        .collect();
    if !losers.is_empty() {
        out.push_str("also matching, but earlier (the last matching rule wins):\n");
        for (_, r) in losers {
            let _ = writeln!(
                out,
                "  {}  {}  {}",
                r.origin,
                r.pattern,
                action_text(&r.action, r.public)
            );
        }
    }
    allowed
}

/// Explains a connect to `addr`; returns whether it is allowed.
/// Why an open under a `public` rule would be refused here (as the
/// supervisor checks it: [`crate::fs::public`]), if it would; `check` is
/// false when there is nothing to check. Looks and exec are not concerned.
fn public_refusal(check: bool, canonical: &str, ask: &Ask) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    if !check || !matches!(ask, Ask::Read) {
        return None;
    }
    let prefix = "refused (EACCES): public: only what any user of the system may read is served";
    if !crate::fs::public::Searchable::new().reachable(canonical.as_bytes()) {
        return Some(format!(
            "{prefix}, and a directory on the way does not let others search it"
        ));
    }
    let mode = std::fs::metadata(canonical).ok()?.permissions().mode();
    if crate::fs::public::others_may(mode, true, false) {
        None
    } else {
        Some(format!(
            "{prefix}, and its mode {:04o} does not let others read it",
            mode & 0o7777
        ))
    }
}

fn connect(policy: &Policy, addr: &str, out: &mut String) -> Result<bool, String> {
    let target = parse_redirect(addr, |p| normalize(p).map(|n| canonicalize_prefix(&n)))?;
    let t = match &target {
        RedirectTarget::Inet(sa) => NetTarget::Inet(reached(*sa)),
        RedirectTarget::UnixPath(p) => NetTarget::UnixPath(p.as_bytes()),
        RedirectTarget::UnixAbstract(n) => NetTarget::UnixAbstract(n.as_bytes()),
    };
    let _ = writeln!(out, "request: connect {target}");
    if let NetTarget::Inet(to) = t {
        if RedirectTarget::Inet(to) != target {
            let _ = writeln!(
                out,
                "  which reaches {to} (this host), decided as that (a socket not bound)"
            );
        }
    }
    let d = policy.decide_net(NetOp::Connect, t);
    match d.rule {
        Some(r) => {
            let _ = writeln!(
                out,
                "decided by: {}  connect {}  {}",
                r.origin, r.addr, r.access
            );
            if let Some(c) = comment(&r.origin) {
                let _ = writeln!(out, "  why: {c}");
            }
        }
        None => {
            let _ = writeln!(
                out,
                "decided by: the network default ({}): no rule matches",
                policy.network.default
            );
        }
    }
    let result = match (d.access, d.rule.and_then(|r| r.redirect.as_ref())) {
        (NetAccess::Allow, Some(to)) => format!("allowed, redirected to {to}"),
        (NetAccess::Allow, None) => "allowed".to_owned(),
        (NetAccess::Deny, _) => "refused (ECONNREFUSED for connect, EACCES for a send)".to_owned(),
    };
    let _ = writeln!(out, "result: {result}");
    Ok(d.access == NetAccess::Allow)
}

/// The address a connect to `sa` reaches from a socket not bound: the
/// unspecified address is this host's loopback, as the kernel takes it
/// (and as `handlers::net` decides it).
fn reached(sa: std::net::SocketAddr) -> std::net::SocketAddr {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let ip = match sa.ip() {
        IpAddr::V4(v) if v.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(v) if v.to_ipv4_mapped().is_some_and(|m| m.is_unspecified()) => {
            IpAddr::V6(Ipv4Addr::LOCALHOST.to_ipv6_mapped())
        }
        IpAddr::V6(v) if v.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    std::net::SocketAddr::new(ip, sa.port())
}

/// What the program sees for `ask` under `action`: (allowed, text).
fn outcome(action: &FsAction, ask: &Ask, metadata: Metadata) -> (bool, String) {
    let writes = *ask == Ask::Write;
    match action {
        FsAction::Access(FsAccess::Rw) => (true, "allowed (rw: read and change)".into()),
        FsAction::Access(FsAccess::Ro) if writes => (
            false,
            "refused (EACCES): ro allows reading, listing and executing only".into(),
        ),
        FsAction::Access(FsAccess::Ro) => (true, "allowed (ro)".into()),
        FsAction::Access(FsAccess::Deny) => (false, "refused (EACCES)".into()),
        FsAction::Access(FsAccess::Hide) if metadata == Metadata::Visible => (
            false,
            "refused (ENOENT): hidden, as if absent (its name still shows in its directory's listing: metadata is visible)"
                .into(),
        ),
        FsAction::Access(FsAccess::Hide) => (
            false,
            "refused (ENOENT): hidden, as if absent, and left out of its directory's listing"
                .into(),
        ),
        FsAction::Redirect { target, writable } => {
            if writes && !writable {
                (
                    false,
                    format!("refused (EACCES): served read-only from {target}"),
                )
            } else {
                (true, format!("allowed: served from {target} instead"))
            }
        }
        FsAction::Private => (
            true,
            "allowed (rw): served from a directory of this run's own, empty when the run starts and removed when it ends; the host's is never reached".into(),
        ),
        FsAction::Content { .. } => {
            if writes {
                (
                    false,
                    "refused (EACCES): served read-only from memory".into(),
                )
            } else {
                (
                    true,
                    "allowed: served from memory (the rule's content), read-only".into(),
                )
            }
        }
    }
}

fn action_text(a: &FsAction, public: bool) -> String {
    match a {
        FsAction::Access(a) if public => format!("{a} public"),
        FsAction::Access(a) => a.to_string(),
        FsAction::Redirect { target, writable } => {
            format!(
                "redirect{} -> {target}",
                if *writable { " (rw)" } else { "" }
            )
        }
        FsAction::Content { text } => format!("content ({} bytes)", text.len()),
        FsAction::Private => "private".to_owned(),
    }
}

/// The path as a rule path would be matched: absolute, normalised, symbolic
/// links of its existing part resolved, `/proc/<pid>` as `/proc/self`.
fn canonical(path: &str, cwd: &str) -> Result<String, String> {
    let abs = if path.starts_with('/') {
        path.to_owned()
    } else {
        format!("{cwd}/{path}")
    };
    let normal = match normalize(&abs) {
        Ok(n) => n,
        // `..`: resolvable only on what exists.
        Err(e) => std::fs::canonicalize(&abs)
            .ok()
            .and_then(|p| p.to_str().map(str::to_owned))
            .ok_or(e)?,
    };
    let c = canonicalize_prefix(&normal);
    Ok(match crate::proc_path::proc_pid(c.as_bytes()) {
        Some((_, rest)) => format!("/proc/self{}", String::from_utf8_lossy(rest)),
        None => c,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{load, Vars};

    fn vars() -> Vars {
        Vars {
            cwd: "/work/p".into(),
            home: "/home/u".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        }
    }

    #[test]
    fn names_the_rule_its_comment_and_the_losers() {
        let p = load("@default", &vars()).unwrap();
        let text = explain(&p, Some("/etc/shadow"), &Ask::Read, "/")
            .unwrap()
            .text;
        assert!(text.contains("decided by: @default:"), "{text}");
        assert!(text.contains("why: Stays hidden"), "{text}");
        assert!(text.contains("result: refused (ENOENT)"), "{text}");
        assert!(text.contains("@system:14  /etc  ro"), "{text}");
        assert!(text.contains("@system:15  /etc/shadow  hide"), "{text}");

        let text = explain(&p, Some("/etc/passwd"), &Ask::Write, "/")
            .unwrap()
            .text;
        assert!(text.contains("result: refused (EACCES): ro"), "{text}");
        assert!(text.contains("why: System configuration"), "{text}");

        let text = explain(&p, Some("x/y"), &Ask::Write, "/work/p")
            .unwrap()
            .text;
        assert!(text.contains("request: write /work/p/x/y"), "{text}");
        assert!(text.contains("result: allowed (rw"), "{text}");
    }

    #[test]
    fn directories_on_the_way_are_read_only() {
        let p = load("@system", &vars()).unwrap();
        let text = explain(&p, Some("/"), &Ask::Read, "/").unwrap().text;
        assert!(
            text.contains("result: allowed read-only: a directory on the way"),
            "{text}"
        );
        let text = explain(&p, Some("/"), &Ask::Write, "/").unwrap().text;
        assert!(text.contains("result: refused (EACCES)"), "{text}");
        let text = explain(&p, Some("/proc/self/status"), &Ask::Read, "/")
            .unwrap()
            .text;
        assert!(text.contains("decided by: @system:"), "{text}");
        assert!(text.contains("/proc/self  ro"), "{text}");
    }

    #[test]
    fn states_the_metadata_mode_and_who_answers_a_look() {
        let mut p = load("@default", &vars()).unwrap();
        let text = explain(&p, Some("/etc/shadow"), &Ask::Look, "/")
            .unwrap()
            .text;
        assert!(text.contains("request: look /etc/shadow"), "{text}");
        assert!(
            text.contains("metadata: policy (the rules decide"),
            "{text}"
        );
        assert!(text.contains("result: refused (ENOENT)"), "{text}");
        assert!(!text.contains("kernel"), "{text}");

        p.fs.metadata = Metadata::Visible;
        let text = explain(&p, Some("/etc/shadow"), &Ask::Look, "/")
            .unwrap()
            .text;
        assert!(
            text.contains("metadata: visible (the kernel answers"),
            "{text}"
        );
        assert!(
            text.contains("decided by: the kernel (metadata: visible)"),
            "{text}"
        );
        assert!(text.contains("result: answered by the kernel"), "{text}");
        // What still holds: the open is the rules'.
        assert!(text.contains("an open of it is still decided"), "{text}");
        assert!(text.contains("  result: refused (ENOENT)"), "{text}");
        assert!(text.contains("its name still shows"), "{text}");

        let text = explain(&p, Some("/etc/shadow"), &Ask::Read, "/")
            .unwrap()
            .text;
        assert!(text.contains("result: refused (ENOENT)"), "{text}");
        assert!(
            text.contains("note: looks at it (stat, access, readlink, its listing) are answered by the kernel"),
            "{text}"
        );
        let text = explain(&p, Some("/etc/passwd"), &Ask::Write, "/")
            .unwrap()
            .text;
        assert!(text.contains("result: refused (EACCES): ro"), "{text}");
        assert!(!text.contains("note: looks"), "{text}");
    }

    #[test]
    fn default_and_connect() {
        let p = load("@system", &vars()).unwrap();
        let text = explain(&p, Some("/srv/nothing"), &Ask::Read, "/")
            .unwrap()
            .text;
        assert!(text.contains("the filesystem default (hide)"), "{text}");
        let text = explain(&p, None, &Ask::Connect("127.0.0.1:80".into()), "/")
            .unwrap()
            .text;
        assert!(text.contains("the network default (deny)"), "{text}");
        let p = load("@network-loopback", &vars()).unwrap();
        let text = explain(&p, None, &Ask::Connect("127.0.0.1:80".into()), "/")
            .unwrap()
            .text;
        assert!(text.contains("result: allowed"), "{text}");
        assert!(text.contains("why: Connect to IPv4 loopback"), "{text}");
        assert!(explain(&p, None, &Ask::Connect("nonsense".into()), "/").is_err());
        // The unspecified address is decided as the loopback it reaches.
        let text = explain(&p, None, &Ask::Connect("0.0.0.0:80".into()), "/")
            .unwrap()
            .text;
        assert!(text.contains("which reaches 127.0.0.1:80"), "{text}");
        assert!(text.contains("result: allowed"), "{text}");
        let text = explain(&p, None, &Ask::Connect("[::]:80".into()), "/")
            .unwrap()
            .text;
        assert!(text.contains("which reaches [::1]:80"), "{text}");
    }
}

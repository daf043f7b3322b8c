//! The merged policy as text, for `fdsup check` and `fdsup explain`.
//!
//! One line per section default and per rule, each rule led by its origin
//! (`file:line`), in the order they are matched (the last match wins), so
//! the output reads like the policy a user would have written by hand
//! with every include spelled out.
//!
//! Also a rule's `comment`, read back from its file at its origin ([`comment`]):
//! here, with the rest of the policy's text, for `fdsup explain`
//! ([`crate::explain`]), which sits above the handlers and so outside
//! `policy`.

use std::fmt::Write as _;

use super::json::{self, Kind, Value};
use super::model::{FsAction, Metadata, Policy};
use super::origin::Origin;

/// Longest content shown in full; longer ones are cut.
const CONTENT_SHOWN: usize = 48;

impl Policy {
    /// The merged, expanded rules with their origins, one per line.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        // `write!` to a String cannot fail; the results are ignored.
        let _ = writeln!(out, "filesystem default: {}", self.fs.default);
        let _ = writeln!(
            out,
            "filesystem metadata: {} ({})",
            self.fs.metadata,
            metadata_text(self.fs.metadata)
        );
        let w = width(self.fs.rules.iter().map(|r| &r.origin));
        for r in &self.fs.rules {
            let action = match &r.action {
                FsAction::Access(a) if r.public => format!("{a} public"),
                FsAction::Access(a) => a.to_string(),
                FsAction::Redirect { target, writable } => {
                    let rw = if *writable { " (rw)" } else { "" };
                    format!("redirect{rw} -> {target}")
                }
                FsAction::Content { text } => content(text),
                FsAction::Private => {
                    "private (a directory of the run's own, read-write)".to_owned()
                }
            };
            let _ = write!(
                out,
                "  {:<w$}  {}  {action}",
                r.origin.to_string(),
                r.pattern
            );
            written(&mut out, r.pattern.written(), r.pattern.as_str());
        }

        let _ = writeln!(out, "network default: {}", self.network.default);
        let _ = writeln!(
            out,
            "network isolate: {}{}",
            self.network.isolate,
            if self.network.isolate {
                " (an empty network namespace; allowed connects are made by fdsup and installed over the program's socket)"
            } else {
                ""
            }
        );
        let w = width(self.network.rules.iter().map(|r| &r.origin));
        for r in &self.network.rules {
            let _ = write!(
                out,
                "  {:<w$}  {} {}  ",
                r.origin.to_string(),
                r.op.as_str(),
                r.addr
            );
            match &r.redirect {
                Some(target) => {
                    let _ = writeln!(out, "redirect -> {target}");
                }
                None => {
                    let _ = writeln!(out, "{}", r.access);
                }
            }
        }

        let _ = writeln!(out, "exec default: {}", self.exec.default);
        let w = width(self.exec.rules.iter().map(|r| &r.origin));
        for r in &self.exec.rules {
            let _ = write!(
                out,
                "  {:<w$}  {}  {}",
                r.origin.to_string(),
                r.pattern,
                r.access
            );
            written(&mut out, r.pattern.written(), r.pattern.as_str());
        }

        let _ = writeln!(
            out,
            "log: denied={} allowed={}",
            self.log.denied, self.log.allowed
        );
        out
    }
}

/// What a metadata mode means, in one clause (shared with `explain`).
pub fn metadata_text(m: Metadata) -> &'static str {
    match m {
        Metadata::Policy => "the rules decide every look: stat, access, readlink, statfs, chdir, listings",
        Metadata::Visible => "the kernel answers the looks (stat, access, readlink, statfs, chdir, listings): every path's name and metadata are visible, denied and hidden ones included; opens, changes, exec and the network are decided by the rules",
    }
}

/// The widest origin, so that the paths line up.
fn width<'a>(origins: impl Iterator<Item = &'a Origin>) -> usize {
    origins
        .map(|o| o.to_string().chars().count())
        .max()
        .unwrap_or(0)
}

/// Ends a rule line, saying how the path was written if expansion or
/// symlinks changed it.
fn written(out: &mut String, written: &str, matched: &str) {
    if written == matched {
        out.push('\n');
    } else {
        let _ = writeln!(out, "  (written {written})");
    }
}

fn content(text: &str) -> String {
    let len = text.len();
    if text.chars().count() <= CONTENT_SHOWN {
        format!("content {text:?}")
    } else {
        let head: String = text.chars().take(CONTENT_SHOWN).collect();
        format!("content {head:?}... ({len} bytes)")
    }
}

/// The `comment` of the rule written at `origin`, read back from its file.
pub fn comment(origin: &Origin) -> Option<String> {
    let text = match super::embedded(&origin.file) {
        Some(t) if origin.file.starts_with('@') => t.to_owned(),
        _ => std::fs::read_to_string(&*origin.file).ok()?,
    };
    let root = json::parse(&text).ok()?;
    find_comment(&root, origin.line)
}

fn find_comment(v: &Value, line: u32) -> Option<String> {
    match &v.kind {
        Kind::Object(members) => {
            let is_rule = members
                .iter()
                .any(|m| matches!(m.key.as_str(), "path" | "connect" | "bind"));
            if v.pos.line == line && is_rule {
                return members.iter().find(|m| m.key == "comment").and_then(|m| {
                    match &m.value.kind {
                        Kind::String(s) => Some(s.clone()),
                        _ => None,
                    }
                });
            }
            members.iter().find_map(|m| find_comment(&m.value, line))
        }
        Kind::Array(items) => items.iter().find_map(|i| find_comment(i, line)),
        _ => None,
    }
}

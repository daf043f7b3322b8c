//! One policy file's JSON tree, checked and converted to typed rules.
//!
//! Conversion is by hand, on the positioned tree of `json.rs` (which says
//! why not serde), so that every rule keeps its origin and every refusal
//! (unknown or repeated field, wrong type, bad value, bad path) is located
//! at the exact key or value and names its field path. The result of one file is a
//! [`Layer`]: its rules and the settings it sets explicitly (`None` when it
//! leaves them to its includes or the built-in defaults). The loader stacks
//! layers in include order and [`Layer::finish`] turns the stack into a
//! [`Policy`].

use std::fmt::Display;
use std::sync::Arc;

use super::error::PolicyError;
use super::json::{Kind, Member, Pos, Value};
use super::model::{
    ExecAccess, ExecRule, ExecSection, FsAccess, FsAction, FsRule, FsSection, LogSettings,
    Metadata, NetSection, Policy,
};
use super::net::{self, NetAccess, NetOp, NetRule};
use super::origin::Origin;
use super::paths;
use super::pattern::Pattern;
use super::vars::Vars;

type Result<T> = std::result::Result<T, PolicyError>;

const FS_ACCESS: &[(&str, FsAccess)] = &[
    ("ro", FsAccess::Ro),
    ("rw", FsAccess::Rw),
    ("deny", FsAccess::Deny),
    ("hide", FsAccess::Hide),
];
const METADATA: &[(&str, Metadata)] =
    &[("policy", Metadata::Policy), ("visible", Metadata::Visible)];
const NET_ACCESS: &[(&str, NetAccess)] = &[("allow", NetAccess::Allow), ("deny", NetAccess::Deny)];
const EXEC_ACCESS: &[(&str, ExecAccess)] =
    &[("allow", ExecAccess::Allow), ("deny", ExecAccess::Deny)];

/// The field path of member `key` inside the value at `parent`
/// (`""` is the top level): `filesystem`, `filesystem.rules`.
fn field_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// The field path of element `index` (0-based) of the array at `parent`.
fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// What one file contributes, before merging.
#[derive(Debug, Default)]
pub struct Layer {
    pub fs_default: Option<FsAccess>,
    pub fs_rules: Vec<FsRule>,
    pub fs_metadata: Option<Metadata>,
    pub net_default: Option<NetAccess>,
    pub isolate: Option<bool>,
    pub net_rules: Vec<NetRule>,
    pub exec_default: Option<ExecAccess>,
    pub exec_rules: Vec<ExecRule>,
    pub log_denied: Option<bool>,
    pub log_allowed: Option<bool>,
}

impl Layer {
    /// Stacks `later` on top of `self`: its rules come after, and each
    /// setting it sets overrides.
    pub fn absorb(&mut self, later: Layer) {
        fn over<T>(mine: &mut Option<T>, later: Option<T>) {
            if later.is_some() {
                *mine = later;
            }
        }
        over(&mut self.fs_default, later.fs_default);
        self.fs_rules.extend(later.fs_rules);
        over(&mut self.fs_metadata, later.fs_metadata);
        over(&mut self.net_default, later.net_default);
        over(&mut self.isolate, later.isolate);
        self.net_rules.extend(later.net_rules);
        over(&mut self.exec_default, later.exec_default);
        self.exec_rules.extend(later.exec_rules);
        over(&mut self.log_denied, later.log_denied);
        over(&mut self.log_allowed, later.log_allowed);
    }

    /// The final policy, with built-in defaults for anything never set:
    /// file system deny with looks decided by the rules (`metadata`
    /// `policy`), network deny, exec allow, log denied only.
    pub fn finish(self) -> Policy {
        let log = LogSettings::default();
        Policy {
            fs: FsSection {
                default: self.fs_default.unwrap_or(FsAccess::Deny),
                rules: self.fs_rules,
                metadata: self.fs_metadata.unwrap_or_default(),
            },
            network: NetSection {
                default: self.net_default.unwrap_or(NetAccess::Deny),
                isolate: self.isolate.unwrap_or(false),
                rules: self.net_rules,
            },
            exec: ExecSection {
                default: self.exec_default.unwrap_or(ExecAccess::Allow),
                rules: self.exec_rules,
            },
            log: LogSettings {
                denied: self.log_denied.unwrap_or(log.denied),
                allowed: self.log_allowed.unwrap_or(log.allowed),
            },
        }
    }
}

/// An `include` entry, located for errors.
#[derive(Debug, Clone)]
pub struct Include {
    /// `@name` or a path relative to the including file's directory.
    pub name: String,
    /// Where the string is.
    pub pos: Pos,
    /// Its field path (`include[1]`).
    pub field: String,
}

/// What a file's rules are read against.
pub struct Ctx<'a> {
    /// The file's name as shown in errors and origins.
    pub file: Arc<str>,
    /// The directory relative redirect targets are resolved in: the policy
    /// file's, canonical. `None` for embedded policies.
    pub base_dir: Option<String>,
    /// The variables.
    pub vars: &'a Vars,
}

/// The members of an object, with the object's position.
struct Fields<'v> {
    members: &'v [Member],
    pos: Pos,
}

impl<'v> Fields<'v> {
    fn member(&self, key: &str) -> Option<&'v Member> {
        self.members.iter().find(|m| m.key == key)
    }

    fn get(&self, key: &str) -> Option<&'v Value> {
        self.member(key).map(|m| &m.value)
    }
}

/// Converts one file's tree: its includes (in order) and its own layer.
pub fn parse_file(root: &Value, ctx: &Ctx<'_>) -> Result<(Vec<Include>, Layer)> {
    let top = ctx.object(root, "")?;
    // The version first: a file of another version is refused as such, not
    // for the fields that version may have added.
    match top.get("version") {
        None => return Err(ctx.err(top.pos, "version", "required field is missing")),
        Some(Value {
            kind: Kind::Number(n),
            pos,
        }) => {
            if n != "1" {
                return Err(ctx.err(
                    *pos,
                    "version",
                    format!("unsupported version {n}, expected 1"),
                ));
            }
        }
        Some(v) => return Err(ctx.type_err(v, "version", "the number 1")),
    }
    ctx.only(
        &top,
        "",
        &[
            "version",
            "include",
            "filesystem",
            "network",
            "exec",
            "log",
            "comment",
            "$schema",
        ],
    )?;
    if let Some(v) = top.get("$schema") {
        ctx.string(v, "$schema")?;
    }

    let mut includes = Vec::new();
    if let Some(v) = top.get("include") {
        for (i, item) in ctx.array(v, "include")?.iter().enumerate() {
            let field = index_path("include", i);
            let name = ctx.string(item, &field)?;
            if name.is_empty() {
                return Err(ctx.err(item.pos, &field, "empty include"));
            }
            includes.push(Include {
                name: name.to_owned(),
                pos: item.pos,
                field,
            });
        }
    }

    let mut layer = Layer::default();
    if let Some(v) = top.get("filesystem") {
        ctx.filesystem(v, &mut layer)?;
    }
    if let Some(v) = top.get("network") {
        ctx.network(v, &mut layer)?;
    }
    if let Some(v) = top.get("exec") {
        ctx.exec(v, &mut layer)?;
    }
    if let Some(v) = top.get("log") {
        let f = ctx.object(v, "log")?;
        ctx.only(&f, "log", &["denied", "allowed", "comment"])?;
        if let Some(v) = f.get("denied") {
            layer.log_denied = Some(ctx.boolean(v, "log.denied")?);
        }
        if let Some(v) = f.get("allowed") {
            layer.log_allowed = Some(ctx.boolean(v, "log.allowed")?);
        }
    }
    Ok((includes, layer))
}

impl Ctx<'_> {
    fn err(&self, pos: Pos, field: &str, message: impl Display) -> PolicyError {
        let message = if field.is_empty() {
            message.to_string()
        } else {
            format!("{field}: {message}")
        };
        PolicyError::at(&self.file, pos, message)
    }

    fn type_err(&self, v: &Value, field: &str, expected: &str) -> PolicyError {
        self.err(
            v.pos,
            field,
            format!("expected {expected}, got {}", v.kind.describe()),
        )
    }

    fn object<'v>(&self, v: &'v Value, field: &str) -> Result<Fields<'v>> {
        match &v.kind {
            Kind::Object(members) => Ok(Fields {
                members,
                pos: v.pos,
            }),
            _ => Err(self.type_err(v, field, "an object")),
        }
    }

    /// Refuses keys outside `allowed`, a key given twice (at the second),
    /// and a `comment` that is not a string. The keys before a member are
    /// distinct and allowed, so looking back costs at most `allowed.len()`
    /// comparisons whatever the file.
    fn only(&self, f: &Fields<'_>, field: &str, allowed: &[&str]) -> Result<()> {
        for (i, m) in f.members.iter().enumerate() {
            // The field's path is made only for an error (loading the
            // embedded policies would otherwise format one per member).
            if !allowed.contains(&m.key.as_str()) {
                let expected = allowed.join(", ");
                return Err(self.err(
                    m.key_pos,
                    &field_path(field, &m.key),
                    format!("unknown field (expected one of {expected})"),
                ));
            }
            if f.members[..i].iter().any(|earlier| earlier.key == m.key) {
                return Err(self.err(m.key_pos, &field_path(field, &m.key), "duplicate key"));
            }
            if m.key == "comment" && !matches!(m.value.kind, Kind::String(_)) {
                self.string(&m.value, &field_path(field, &m.key))?;
            }
        }
        Ok(())
    }

    fn required<'v>(&self, f: &Fields<'v>, field: &str, key: &str) -> Result<&'v Value> {
        f.get(key)
            .ok_or_else(|| self.err(f.pos, &field_path(field, key), "required field is missing"))
    }

    fn string<'v>(&self, v: &'v Value, field: &str) -> Result<&'v str> {
        match &v.kind {
            Kind::String(s) => Ok(s),
            _ => Err(self.type_err(v, field, "a string")),
        }
    }

    fn boolean(&self, v: &Value, field: &str) -> Result<bool> {
        match v.kind {
            Kind::Bool(b) => Ok(b),
            _ => Err(self.type_err(v, field, "true or false")),
        }
    }

    fn array<'v>(&self, v: &'v Value, field: &str) -> Result<&'v [Value]> {
        match &v.kind {
            Kind::Array(items) => Ok(items),
            _ => Err(self.type_err(v, field, "an array")),
        }
    }

    fn choice<T: Copy>(&self, v: &Value, field: &str, options: &[(&str, T)]) -> Result<T> {
        let names = || {
            options
                .iter()
                .map(|(n, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let s = match &v.kind {
            Kind::String(s) => s,
            _ => return Err(self.type_err(v, field, &format!("one of {}", names()))),
        };
        options
            .iter()
            .find(|(n, _)| n == s)
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                self.err(
                    v.pos,
                    field,
                    format!("expected one of {}, got {s:?}", names()),
                )
            })
    }

    fn origin(&self, v: &Value) -> Origin {
        Origin {
            file: Arc::clone(&self.file),
            line: v.pos.line,
        }
    }

    /// A rule path: expanded, normalised, canonicalised, compiled.
    fn pattern(&self, raw: &str) -> std::result::Result<Pattern, String> {
        let expanded = self.vars.expand(raw)?;
        let normal = paths::normalize(&expanded).map_err(|e| {
            if expanded == raw {
                e
            } else {
                format!("{e} (expanded from {raw:?})")
            }
        })?;
        let canonical = if self.vars.resolve_links {
            paths::canonicalize_prefix(&normal)
        } else {
            normal.clone()
        };
        Ok(Pattern::compile(&canonical, raw).with_link_path(&normal))
    }

    fn rule_path(&self, v: &Value, field: &str) -> Result<Pattern> {
        let raw = self.string(v, field)?;
        self.pattern(raw).map_err(|e| self.err(v.pos, field, e))
    }

    /// A redirect target path: expanded, made absolute against the policy
    /// file's directory, normalised, and, where rule paths are
    /// (`fdsup run`), its links resolved now: it is opened with no link
    /// followed (`fs::Root::open_target`); no glob.
    fn target_path(&self, raw: &str) -> std::result::Result<String, String> {
        let expanded = self.vars.expand(raw)?;
        let absolute = if expanded.starts_with('/') {
            expanded
        } else {
            match &self.base_dir {
                // An agent policy's target is in the container.
                Some(dir) if self.vars.resolve_links => format!("{dir}/{expanded}"),
                _ => return Err(format!("target must be an absolute path, got {expanded:?}")),
            }
        };
        let normal = paths::normalize(&absolute)?;
        if normal.contains('*') {
            return Err(format!(
                "a target is one path, \"*\" is not allowed, got {raw:?}"
            ));
        }
        Ok(if self.vars.resolve_links {
            paths::canonicalize_prefix(&normal)
        } else {
            normal
        })
    }

    fn filesystem(&self, v: &Value, layer: &mut Layer) -> Result<()> {
        let f = self.object(v, "filesystem")?;
        self.only(
            &f,
            "filesystem",
            &["default", "metadata", "rules", "comment"],
        )?;
        if let Some(v) = f.get("default") {
            layer.fs_default = Some(self.choice(v, "filesystem.default", FS_ACCESS)?);
        }
        if let Some(v) = f.get("metadata") {
            layer.fs_metadata = Some(self.choice(v, "filesystem.metadata", METADATA)?);
        }
        if let Some(v) = f.get("rules") {
            for (i, rule) in self.array(v, "filesystem.rules")?.iter().enumerate() {
                layer
                    .fs_rules
                    .push(self.fs_rule(rule, &index_path("filesystem.rules", i))?);
            }
        }
        Ok(())
    }

    fn fs_rule(&self, v: &Value, field: &str) -> Result<FsRule> {
        let f = self.object(v, field)?;
        self.only(
            &f,
            field,
            &[
                "path", "access", "redirect", "content", "public", "private", "comment",
            ],
        )?;
        let path_field = field_path(field, "path");
        let pattern = self.rule_path(self.required(&f, field, "path")?, &path_field)?;
        if let Some(m) = f.member("private") {
            let private_field = field_path(field, "private");
            if self.boolean(&m.value, &private_field)? {
                return self.private_rule(&f, field, pattern, v);
            }
        }
        let access_field = field_path(field, "access");
        let access = match f.get("access") {
            Some(v) => Some((self.choice(v, &access_field, FS_ACCESS)?, v.pos)),
            None => None,
        };
        let action = match (access, f.member("redirect"), f.member("content")) {
            (_, Some(_), Some(c)) => {
                return Err(self.err(
                    c.key_pos,
                    &field_path(field, "content"),
                    "a rule has either redirect or content, not both",
                ))
            }
            (None, None, None) => {
                return Err(self.err(f.pos, field, "needs one of access, redirect, content"))
            }
            (Some((access, _)), None, None) => FsAction::Access(access),
            (access, Some(r), None) => {
                let writable = match access {
                    None | Some((FsAccess::Ro, _)) => false,
                    Some((FsAccess::Rw, _)) => true,
                    Some((other, pos)) => {
                        return Err(self.err(
                            pos,
                            &access_field,
                            format!(
                                "with redirect, access is ro or rw, got {:?}",
                                other.as_str()
                            ),
                        ))
                    }
                };
                let redirect_field = field_path(field, "redirect");
                let raw = self.string(&r.value, &redirect_field)?;
                let target = self
                    .target_path(raw)
                    .map_err(|e| self.err(r.value.pos, &redirect_field, e))?;
                FsAction::Redirect { target, writable }
            }
            (access, None, Some(c)) => {
                if let Some((other, pos)) = access.filter(|(a, _)| *a != FsAccess::Ro) {
                    return Err(self.err(
                        pos,
                        &access_field,
                        format!(
                            "content is read-only, access is ro if given, got {:?}",
                            other.as_str()
                        ),
                    ));
                }
                let text = self.string(&c.value, &field_path(field, "content"))?;
                FsAction::Content {
                    text: text.to_owned(),
                }
            }
        };
        let public = match f.member("public") {
            None => false,
            Some(m) => {
                let public_field = field_path(field, "public");
                let public = self.boolean(&m.value, &public_field)?;
                if public && action != FsAction::Access(FsAccess::Ro) {
                    return Err(self.err(
                        m.key_pos,
                        &public_field,
                        "public applies to rules with \"access\": \"ro\" only",
                    ));
                }
                public
            }
        };
        Ok(FsRule {
            pattern,
            action,
            origin: self.origin(v),
            public,
        })
    }

    /// A `"private": true` rule: a plain path, and nothing else said of it.
    fn private_rule(
        &self,
        f: &Fields<'_>,
        field: &str,
        pattern: Pattern,
        v: &Value,
    ) -> Result<FsRule> {
        for key in ["access", "redirect", "content", "public"] {
            if let Some(m) = f.member(key) {
                return Err(self.err(
                    m.key_pos,
                    &field_path(field, key),
                    "a private rule has no access, redirect, content or public: its directory is the run's own, read-write",
                ));
            }
        }
        if pattern.as_str().contains('*') || pattern.as_str() == "/" {
            let pos = f.get("path").map_or(f.pos, |p| p.pos);
            return Err(self.err(
                pos,
                &field_path(field, "path"),
                "a private rule names one directory: no \"*\", not /",
            ));
        }
        Ok(FsRule {
            pattern,
            action: FsAction::Private,
            origin: self.origin(v),
            public: false,
        })
    }

    fn network(&self, v: &Value, layer: &mut Layer) -> Result<()> {
        let f = self.object(v, "network")?;
        self.only(&f, "network", &["default", "isolate", "rules", "comment"])?;
        if let Some(v) = f.get("default") {
            layer.net_default = Some(self.choice(v, "network.default", NET_ACCESS)?);
        }
        if let Some(v) = f.get("isolate") {
            layer.isolate = Some(self.boolean(v, "network.isolate")?);
        }
        if let Some(v) = f.get("rules") {
            for (i, rule) in self.array(v, "network.rules")?.iter().enumerate() {
                layer
                    .net_rules
                    .push(self.net_rule(rule, &index_path("network.rules", i))?);
            }
        }
        Ok(())
    }

    fn net_rule(&self, v: &Value, field: &str) -> Result<NetRule> {
        let f = self.object(v, field)?;
        self.only(
            &f,
            field,
            &["connect", "bind", "access", "redirect", "comment"],
        )?;
        let (op, addr_member) = match (f.member("connect"), f.member("bind")) {
            (Some(c), Some(b)) => {
                let second = if c.key_pos.line < b.key_pos.line
                    || (c.key_pos.line == b.key_pos.line && c.key_pos.col < b.key_pos.col)
                {
                    b
                } else {
                    c
                };
                return Err(self.err(
                    second.key_pos,
                    &field_path(field, &second.key),
                    "a rule has either connect or bind, not both",
                ));
            }
            (Some(c), None) => (NetOp::Connect, c),
            (None, Some(b)) => (NetOp::Bind, b),
            (None, None) => return Err(self.err(f.pos, field, "needs connect or bind")),
        };
        let addr_field = field_path(field, op.as_str());
        let text = self.string(&addr_member.value, &addr_field)?;
        let addr = net::parse_addr(text, |p| self.pattern(p))
            .map_err(|e| self.err(addr_member.value.pos, &addr_field, e))?;
        let access = match f.get("access") {
            Some(v) => self.choice(v, &field_path(field, "access"), NET_ACCESS)?,
            None => NetAccess::Allow,
        };
        let redirect = match f.get("redirect") {
            None => None,
            Some(r) => {
                let redirect_field = field_path(field, "redirect");
                if op != NetOp::Connect {
                    return Err(self.err(r.pos, &redirect_field, "only a connect rule redirects"));
                }
                if access == NetAccess::Deny {
                    return Err(self.err(
                        r.pos,
                        &redirect_field,
                        "a denied connection cannot be redirected",
                    ));
                }
                let text = self.string(r, &redirect_field)?;
                let target = net::parse_redirect(text, |p| self.target_path(p))
                    .map_err(|e| self.err(r.pos, &redirect_field, e))?;
                Some(target)
            }
        };
        Ok(NetRule {
            op,
            addr,
            access,
            redirect,
            origin: self.origin(v),
        })
    }

    fn exec(&self, v: &Value, layer: &mut Layer) -> Result<()> {
        let f = self.object(v, "exec")?;
        self.only(&f, "exec", &["default", "rules", "comment"])?;
        if let Some(v) = f.get("default") {
            layer.exec_default = Some(self.choice(v, "exec.default", EXEC_ACCESS)?);
        }
        if let Some(v) = f.get("rules") {
            for (i, rule) in self.array(v, "exec.rules")?.iter().enumerate() {
                let field = index_path("exec.rules", i);
                let f = self.object(rule, &field)?;
                self.only(&f, &field, &["path", "access", "comment"])?;
                let pattern = self.rule_path(
                    self.required(&f, &field, "path")?,
                    &field_path(&field, "path"),
                )?;
                let access = self.choice(
                    self.required(&f, &field, "access")?,
                    &field_path(&field, "access"),
                    EXEC_ACCESS,
                )?;
                layer.exec_rules.push(ExecRule {
                    pattern,
                    access,
                    origin: self.origin(rule),
                });
            }
        }
        Ok(())
    }
}

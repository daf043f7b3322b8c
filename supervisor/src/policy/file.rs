//! The policy file format as Rust types: the source of `policies/schema.json`
//! (JSON Schema, via schemars, in test builds only: the schema is a file in
//! the repository, which the test `schema_is_current` keeps equal to what
//! these types generate, so the binary carries no schemars) and what
//! `fdsup run --learn` writes (via serde).
//!
//! Reading does not go through these types: `parse` reads by hand so that
//! each rule keeps its origin (file:line) and every refusal is located at
//! its key or value, which serde cannot give (`json.rs` says more). The two
//! must describe the same format; the schema test in `tests.rs` (every
//! ready policy and every embedded one validates against the schema, and
//! bad ones the parser refuses are refused by it too where a schema can say
//! so) keeps them together.

use serde::Serialize;

/// A policy file (SPEC.md, "Policy files").
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(
    test,
    schemars(
        rename = "Policy",
        title = "fdsup policy",
        description = "A policy for `fdsup run --policy FILE`: what the sandboxed program may reach. The last matching rule wins; where none matches, the section's default applies."
    )
)]
pub struct PolicyFile {
    /// For editors: the schema this file follows. Ignored by fdsup.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// The format version; must be 1.
    #[cfg_attr(test, schemars(range(min = 1, max = 1)))]
    pub version: u32,
    /// Free text for people. Ignored by fdsup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Policies merged before this one, in order: `@system`, `@default`,
    /// `@network-loopback`, `@allow-all`, or a file path relative to this
    /// file. Their rules come first, so this file's rules win.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include: Vec<String>,
    /// File-system requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filesystem: Option<FsSectionFile>,
    /// Network requests (connect, send with an address, bind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<NetSectionFile>,
    /// Program execution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exec: Option<ExecSectionFile>,
    /// Which decisions `--log` writes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<LogFile>,
}

/// File-system access levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, schemars(rename = "FsAccess"))]
pub enum FsAccessFile {
    /// Read, list, stat, execute.
    Ro,
    /// Also every change: create, write, delete, rename, chmod, ...
    Rw,
    /// Every request fails with EACCES.
    Deny,
    /// Every request fails with ENOENT, as if absent; left out of listings.
    Hide,
}

/// Who answers the looks at paths (`stat` and its forms, `access`,
/// `readlink`, `statfs`, `chdir`, listings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[cfg_attr(test, schemars(rename = "Metadata"))]
pub enum MetadataFile {
    /// The rules decide every look, as every other request.
    Policy,
    /// The kernel answers the looks, at native speed: the names and
    /// metadata of every path are visible, denied and hidden ones included.
    /// Opens, changes, exec and the network stay decided by the rules.
    Visible,
}

/// The `filesystem` section.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(rename = "FilesystemSection"))]
pub struct FsSectionFile {
    /// Where no rule matches (`deny` unless an include sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<FsAccessFile>,
    /// Who answers the looks at paths: `policy` (the rules, the default
    /// unless an include sets it) or `visible` (the kernel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<MetadataFile>,
    /// Free text for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Rules, matched last to first: the last one that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<FsRuleFile>,
}

/// One file-system rule: a `path` with one of `access` (with `public` for
/// `ro`), `redirect` (with an optional `access` of `ro` or `rw`), `content`
/// or `private`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(extend("anyOf" = [
    { "required": ["private"], "properties": { "private": { "const": true } }, "not": { "anyOf": [ { "required": ["access"] }, { "required": ["redirect"] }, { "required": ["content"] }, { "required": ["public"] } ] } },
    { "required": ["access"], "not": { "anyOf": [ { "required": ["redirect"] }, { "required": ["content"] } ] }, "if": { "required": ["public"], "properties": { "public": { "const": true } } }, "then": { "properties": { "access": { "const": "ro" } } } },
    { "required": ["redirect"], "not": { "anyOf": [ { "required": ["content"] }, { "required": ["public"] } ] }, "properties": { "access": { "enum": ["ro", "rw"] } } },
    { "required": ["content"], "not": { "anyOf": [ { "required": ["redirect"] }, { "required": ["public"] } ] }, "properties": { "access": { "const": "ro" } } }
])))]
#[cfg_attr(test, schemars(rename = "FilesystemRule"))]
pub struct FsRuleFile {
    /// An absolute path after variables (`${CWD}`, `${HOME}`, `${TMPDIR}`,
    /// `${UID}`); matches that path and everything below it. `*` matches
    /// within one component, `**` zero or more components.
    #[cfg_attr(test, schemars(regex(pattern = r"^(/|\$\{(CWD|HOME|TMPDIR|UID)\})")))]
    pub path: String,
    /// What requests for the path get.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<FsAccessFile>,
    /// Serve the path by opening this file instead (read-only unless
    /// `access` is `rw`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Serve the path from memory with this text, read-only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// With `"access": "ro"` only: serve only what any user of the system
    /// may read, whoever runs fdsup (root included): a file or directory
    /// whose permission bits let others read it, below directories that
    /// all let others search them; anything else fails with EACCES, as for
    /// an unprivileged user. `@system` says it for the system's trees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public: Option<bool>,
    /// Serve the path (one directory, no `*`) by a directory of the run's
    /// own: empty when the run starts, read-write, removed with everything
    /// in it when the run ends. The host's directory there is never
    /// reached. `@system` says it for `/dev/shm`. Alone with `path`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// Why the rule is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// `allow` or `deny`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum AllowDeny {
    /// Allowed.
    Allow,
    /// Refused.
    Deny,
}

/// The `network` section.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(rename = "NetworkSection"))]
pub struct NetSectionFile {
    /// Where no rule matches (`deny` unless an include sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<AllowDeny>,
    /// Run the program in a new, empty network namespace; allowed
    /// connections are brokered by fdsup.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub isolate: Option<bool>,
    /// Free text for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Rules, matched last to first: the last one that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<NetRuleFile>,
}

/// One network rule: exactly one of `connect` and `bind`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(extend("oneOf" = [ { "required": ["connect"] }, { "required": ["bind"] } ])))]
#[cfg_attr(test, schemars(rename = "NetworkRule"))]
pub struct NetRuleFile {
    /// Decides `connect` and sends with a destination address:
    /// `IP:PORT`, `[IPv6]:PORT`, `CIDR:PORT` (`PORT` may be `*`),
    /// `unix:/path`, `unix:@name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connect: Option<String>,
    /// Decides `bind`, in the same address forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bind: Option<String>,
    /// `allow` (the default for a rule) or `deny`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access: Option<AllowDeny>,
    /// Send the connection to this address instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect: Option<String>,
    /// Why the rule is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `exec` section.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(rename = "ExecSection"))]
pub struct ExecSectionFile {
    /// Where no rule matches (`allow` unless an include sets it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<AllowDeny>,
    /// Free text for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Rules, matched last to first: the last one that matches wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<ExecRuleFile>,
}

/// One exec rule.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(rename = "ExecRule"))]
pub struct ExecRuleFile {
    /// The executable (or a directory of them), as for file-system rules.
    #[cfg_attr(test, schemars(regex(pattern = r"^(/|\$\{(CWD|HOME|TMPDIR|UID)\})")))]
    pub path: String,
    /// `allow` or `deny`.
    pub access: AllowDeny,
    /// Why the rule is there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The `log` section.
#[derive(Debug, Clone, Default, Serialize)]
#[cfg_attr(test, derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
#[cfg_attr(test, schemars(rename = "LogSection"))]
pub struct LogFile {
    /// Record refused requests (default true).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub denied: Option<bool>,
    /// Record allowed requests (default false).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed: Option<bool>,
    /// Free text for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// The JSON Schema of a policy file, as `policies/schema.json` holds it
/// (pretty-printed, with a final newline).
#[cfg(test)]
pub fn schema_json() -> String {
    let schema = schemars::schema_for!(PolicyFile);
    let mut value = schema.to_value();
    no_null(&mut value);
    let mut s = serde_json::to_string_pretty(&value).unwrap_or_default();
    s.push('\n');
    s
}

/// Takes `null` out of the schema: an optional field is left out, never
/// `null` (the parser refuses `null`), but schemars describes `Option<T>` as
/// "T or null".
#[cfg(test)]
fn no_null(v: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = v else {
        if let Value::Array(items) = v {
            items.iter_mut().for_each(no_null);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            map.insert("type".to_owned(), only);
        }
    }
    let is_null = |s: &Value| s.get("type").is_some_and(|t| t == "null");
    if let Some(Value::Array(alts)) = map.get("anyOf") {
        if alts.len() == 2 && alts.iter().any(is_null) {
            let kept = alts.iter().find(|s| !is_null(s)).cloned();
            map.remove("anyOf");
            if let Some(Value::Object(kept)) = kept {
                map.extend(kept);
            }
        }
    }
    map.values_mut().for_each(no_null);
}

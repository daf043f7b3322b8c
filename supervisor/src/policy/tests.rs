//! Tests of whole-policy loading: errors located to the column, includes,
//! merging, decisions, the embedded policies.

use std::fs;
use std::os::unix::fs::symlink;

use super::json::{self, Kind, Value};
use super::*;

fn vars() -> Vars {
    Vars {
        cwd: "/work/project".into(),
        home: "/home/u".into(),
        tmpdir: "/tmp".into(),
        uid: 1000,
        resolve_links: true,
    }
}

use super::paths::tests::scratch;

/// Writes `files` (name, text) into a scratch directory and loads the first.
fn load_files(files: &[(&str, &str)]) -> (String, Result<Policy, PolicyError>) {
    let dir = scratch();
    for (name, text) in files {
        let path = format!("{dir}/{name}");
        if let Some(parent) = std::path::Path::new(&path).parent() {
            fs::create_dir_all(parent).unwrap();
        }
        fs::write(path, text).unwrap();
    }
    let main = format!("{dir}/{}", files[0].0);
    // The directory goes when this returns: a policy never reads its files
    // after loading.
    (dir.to_string(), load(&main, &vars()))
}

fn load_text(text: &str) -> Result<Policy, PolicyError> {
    load_files(&[("p.json", text)]).1
}

/// The error's `LINE:COL: message`, without the scratch file name.
fn error(text: &str) -> String {
    let e = load_text(text).unwrap_err();
    assert!(e.file.ends_with("/p.json"), "{}", e.file);
    format!("{}:{}: {}", e.line, e.col, e.message)
}

fn fs_text(rules: &str) -> String {
    format!("{{\"version\": 1, \"filesystem\": {{\"rules\": [\n{rules}\n]}}}}")
}

// ---- errors, each located to the column ---------------------------------

#[test]
fn bad_value_names_the_field() {
    let text = r#"{
  "version": 1,
  "filesystem": {
    "rules": [
      { "path": "/a", "access": "ro" },
      { "path": "/b", "access": "rw" },
      { "path": "/c", "access": "rx" }
    ]
  }
}"#;
    assert_eq!(
        error(text),
        "7:33: filesystem.rules[2].access: expected one of ro, rw, deny, hide, got \"rx\""
    );
    let e = load_text(text).unwrap_err();
    assert!(e.to_string().ends_with(
        "/p.json:7:33: filesystem.rules[2].access: expected one of ro, rw, deny, hide, got \"rx\""
    ));
}

#[test]
fn bad_defaults() {
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"default": "allow"}}"#),
        "1:42: filesystem.default: expected one of ro, rw, deny, hide, got \"allow\""
    );
    assert_eq!(
        error(r#"{"version": 1, "network": {"default": "ro"}}"#),
        "1:39: network.default: expected one of allow, deny, got \"ro\""
    );
    assert_eq!(
        error(r#"{"version": 1, "exec": {"default": 1}}"#),
        "1:36: exec.default: expected one of allow, deny, got a number"
    );
}

#[test]
fn unknown_fields() {
    assert_eq!(
        error("{\"version\": 1,\n \"filesytem\": {}}"),
        "2:2: filesytem: unknown field (expected one of version, include, filesystem, network, \
         exec, log, comment, $schema)"
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/a", "acess": "ro"}"#)),
        "2:16: filesystem.rules[0].acess: unknown field (expected one of path, access, \
         redirect, content, public, private, comment)"
    );
    // `$schema` only at the top level.
    assert_eq!(
        error(r#"{"version": 1, "log": {"$schema": "x"}}"#),
        "1:24: log.$schema: unknown field (expected one of denied, allowed, comment)"
    );
}

#[test]
fn comments_and_schema_are_strings() {
    assert!(load_text(
        r#"{"$schema": "s", "comment": "c", "version": 1, "log": {"comment": "x"}}"#
    )
    .is_ok());
    assert_eq!(
        error(r#"{"version": 1, "comment": 5}"#),
        "1:27: comment: expected a string, got a number"
    );
    assert_eq!(
        error(&fs_text(
            r#"{"path": "/a", "access": "ro", "comment": ["x"]}"#
        )),
        "2:43: filesystem.rules[0].comment: expected a string, got an array"
    );
    assert_eq!(
        error(r#"{"version": 1, "$schema": null}"#),
        "1:27: $schema: expected a string, got null"
    );
}

#[test]
fn duplicate_keys() {
    assert_eq!(
        error(&fs_text(
            "{\"path\": \"/a\", \"access\": \"ro\",\n \"access\": \"rw\"}"
        )),
        "3:2: filesystem.rules[0].access: duplicate key"
    );
    assert_eq!(
        error("{\"version\": 1, \"version\": 1}"),
        "1:16: version: duplicate key"
    );
    // Equal after decoding is equal.
    assert_eq!(
        error(r#"{"version": 1, "log": {"denied": true, "\u0064enied": false}}"#),
        "1:40: log.denied: duplicate key"
    );
}

#[test]
fn wrong_types() {
    assert_eq!(
        error(r#"{"version": 1, "filesystem": []}"#),
        "1:30: filesystem: expected an object, got an array"
    );
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"rules": {}}}"#),
        "1:40: filesystem.rules: expected an array, got an object"
    );
    assert_eq!(
        error(&fs_text(r#""/usr""#)),
        "2:1: filesystem.rules[0]: expected an object, got a string"
    );
    assert_eq!(
        error(&fs_text(r#"{"path": 7, "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: expected a string, got a number"
    );
    assert_eq!(
        error(r#"{"version": 1, "network": {"isolate": "yes"}}"#),
        "1:39: network.isolate: expected true or false, got a string"
    );
    assert_eq!(
        error(r#"{"version": 1, "log": {"denied": 1}}"#),
        "1:34: log.denied: expected true or false, got a number"
    );
    assert_eq!(
        error(r#"{"version": 1, "include": "@system"}"#),
        "1:27: include: expected an array, got a string"
    );
    assert_eq!(
        error(r#"{"version": 1, "include": [1]}"#),
        "1:28: include[0]: expected a string, got a number"
    );
    assert_eq!(error("[1]"), "1:1: expected an object, got an array");
}

#[test]
fn versions() {
    assert_eq!(
        error("{\n  \"filesystem\": {}\n}"),
        "1:1: version: required field is missing"
    );
    assert_eq!(
        error(r#"{"version": 2, "filesystem": {"new": 1}}"#),
        "1:13: version: unsupported version 2, expected 1"
    );
    assert_eq!(
        error(r#"{"version": 1.0}"#),
        "1:13: version: unsupported version 1.0, expected 1"
    );
    assert_eq!(
        error(r#"{"version": "1"}"#),
        "1:13: version: expected the number 1, got a string"
    );
}

#[test]
fn syntax_errors_are_located() {
    assert_eq!(
        error("{\"version\": 1,\n}"),
        "2:1: expected a key in quotes, found '}'"
    );
    assert_eq!(
        error("{\"version\": 1} {}"),
        "1:16: unexpected text after the end of the JSON value"
    );
}

#[test]
fn rule_shape_errors() {
    assert_eq!(
        error(&fs_text(r#"{"access": "ro"}"#)),
        "2:1: filesystem.rules[0].path: required field is missing"
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/a"}"#)),
        "2:1: filesystem.rules[0]: needs one of access, redirect, content"
    );
    assert_eq!(
        error(&fs_text(
            r#"{"path": "/a", "redirect": "/b", "content": "x"}"#
        )),
        "2:34: filesystem.rules[0].content: a rule has either redirect or content, not both"
    );
    assert_eq!(
        error(&fs_text(
            r#"{"path": "/a", "redirect": "/b", "access": "deny"}"#
        )),
        "2:44: filesystem.rules[0].access: with redirect, access is ro or rw, got \"deny\""
    );
    assert_eq!(
        error(&fs_text(
            r#"{"path": "/a", "content": "x", "access": "rw"}"#
        )),
        "2:42: filesystem.rules[0].access: content is read-only, access is ro if given, got \"rw\""
    );
    for rule in [
        r#"{"path": "/a", "access": "rw", "public": true}"#,
        r#"{"path": "/a", "access": "hide", "public": true}"#,
        r#"{"path": "/a", "redirect": "/b", "public": true}"#,
        r#"{"path": "/a", "content": "x", "public": true}"#,
    ] {
        let e = error(&fs_text(rule));
        assert!(
            e.contains(
                "filesystem.rules[0].public: public applies to rules with \"access\": \"ro\" only"
            ),
            "{rule}: {e}"
        );
    }
    assert_eq!(
        error(&fs_text(
            r#"{"path": "/a", "access": "ro", "public": "yes"}"#
        )),
        "2:42: filesystem.rules[0].public: expected true or false, got a string"
    );
    for rule in [
        r#"{"path": "/a", "private": true, "access": "rw"}"#,
        r#"{"path": "/a", "private": true, "content": "x"}"#,
        r#"{"path": "/a", "private": true, "redirect": "/b"}"#,
    ] {
        let e = error(&fs_text(rule));
        assert!(e.contains("a private rule has no access"), "{rule}: {e}");
    }
    for rule in [
        r#"{"path": "/a/*", "private": true}"#,
        r#"{"path": "/", "private": true}"#,
    ] {
        let e = error(&fs_text(rule));
        assert!(
            e.contains("a private rule names one directory"),
            "{rule}: {e}"
        );
    }
    let p = load_text(&fs_text(r#"{"path": "/dev/shm", "private": true}"#)).unwrap();
    assert_eq!(p.fs.rules[0].action, FsAction::Private);
    assert!(
        p.describe().contains("/dev/shm  private"),
        "{}",
        p.describe()
    );
    let p = load_text(&fs_text(
        r#"{"path": "/a", "access": "ro", "public": true}, {"path": "/b", "access": "ro", "public": false}, {"path": "/c", "access": "ro"}"#,
    ))
    .unwrap();
    let public: Vec<bool> = p.fs.rules.iter().map(|r| r.public).collect();
    assert_eq!(public, [true, false, false]);
    assert!(p.describe().contains("/a  ro public"), "{}", p.describe());
    assert_eq!(
        error(&fs_text(r#"{"path": "/a", "content": 1}"#)),
        "2:27: filesystem.rules[0].content: expected a string, got a number"
    );
    assert_eq!(
        error(r#"{"version": 1, "exec": {"rules": [{"path": "/x"}]}}"#),
        "1:35: exec.rules[0].access: required field is missing"
    );
}

#[test]
fn path_errors() {
    assert_eq!(
        error(&fs_text(r#"{"path": "${NOPE}/x", "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: unknown variable ${NOPE} (known: ${CWD}, ${HOME}, \
         ${TMPDIR}, ${UID})"
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/a/${HOME", "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: unterminated \"${\" in \"/a/${HOME\""
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "usr/lib", "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: path must be absolute, got \"usr/lib\""
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "${UID}/x", "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: path must be absolute, got \"1000/x\" (expanded from \
         \"${UID}/x\")"
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/usr/../etc", "access": "ro"}"#)),
        "2:10: filesystem.rules[0].path: \"..\" is not allowed in a path, got \"/usr/../etc\""
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/a", "redirect": "/b/../c"}"#)),
        "2:28: filesystem.rules[0].redirect: \"..\" is not allowed in a path, got \"/b/../c\""
    );
    assert_eq!(
        error(&fs_text(r#"{"path": "/a", "redirect": "/b/*"}"#)),
        "2:28: filesystem.rules[0].redirect: a target is one path, \"*\" is not allowed, got \
         \"/b/*\""
    );
    assert_eq!(
        error(r#"{"version": 1, "exec": {"rules": [{"path": "${X}", "access": "deny"}]}}"#),
        "1:44: exec.rules[0].path: unknown variable ${X} (known: ${CWD}, ${HOME}, ${TMPDIR}, \
         ${UID})"
    );
}

#[test]
fn network_errors() {
    let net = |rules: &str| {
        error(&format!(
            "{{\"version\": 1, \"network\": {{\"rules\": [\n{rules}\n]}}}}"
        ))
    };
    assert_eq!(
        net(r#"{"connect": "10.0.0.0/33:*"}"#),
        "2:13: network.rules[0].connect: bad address \"10.0.0.0/33:*\": prefix length 33 is more \
         than 32"
    );
    assert_eq!(
        net(r#"{"bind": "::1:80"}"#),
        "2:10: network.rules[0].bind: bad address \"::1:80\": an IPv6 address goes in brackets, \
         as [::1]:80"
    );
    assert_eq!(
        net(r#"{"connect": "1.2.3.4:1", "bind": "1.2.3.4:1"}"#),
        "2:26: network.rules[0].bind: a rule has either connect or bind, not both"
    );
    assert_eq!(
        net(r#"{"access": "deny"}"#),
        "2:1: network.rules[0]: needs connect or bind"
    );
    assert_eq!(
        net(r#"{"bind": "1.2.3.4:1", "redirect": "1.2.3.4:2"}"#),
        "2:35: network.rules[0].redirect: only a connect rule redirects"
    );
    assert_eq!(
        net(r#"{"connect": "1.2.3.4:1", "access": "deny", "redirect": "1.2.3.4:2"}"#),
        "2:56: network.rules[0].redirect: a denied connection cannot be redirected"
    );
    assert_eq!(
        net(r#"{"connect": "1.2.3.4:1", "redirect": "1.2.3.4:*"}"#),
        "2:38: network.rules[0].redirect: bad redirect \"1.2.3.4:*\": the port must be a number, \
         not *"
    );
    assert_eq!(
        net(r#"{"connect": "unix:${NOPE}/s"}"#),
        "2:13: network.rules[0].connect: unknown variable ${NOPE} (known: ${CWD}, ${HOME}, \
         ${TMPDIR}, ${UID})"
    );
    assert_eq!(
        net(r#"{"connect": "unix:/a/../s"}"#),
        "2:13: network.rules[0].connect: \"..\" is not allowed in a path, got \"/a/../s\""
    );
    assert_eq!(
        net(r#"{"connect": "1.2.3.4:1", "access": "maybe"}"#),
        "2:36: network.rules[0].access: expected one of allow, deny, got \"maybe\""
    );
}

#[test]
fn include_errors() {
    let (_, r) = load_files(&[(
        "p.json",
        "{\"version\": 1,\n \"include\": [\"@system\", \"nope.json\"]}",
    )]);
    let e = r.unwrap_err();
    assert!(e.file.ends_with("/p.json"));
    assert_eq!((e.line, e.col), (2, 25));
    assert!(
        e.message.starts_with("include[1]: cannot read \""),
        "{}",
        e.message
    );
    assert!(e.message.ends_with("/nope.json\""), "{}", e.message);
    assert_eq!(
        e.io_error().map(std::io::Error::kind),
        Some(std::io::ErrorKind::NotFound)
    );
    assert!(std::error::Error::source(&e).is_some());

    assert_eq!(
        error(r#"{"version": 1, "include": ["@nosuch"]}"#),
        "1:28: include[0]: no embedded policy named \"@nosuch\" (there are @system, @default, \
         @allow-all, @network-loopback)"
    );
    assert_eq!(
        error(r#"{"version": 1, "include": [""]}"#),
        "1:28: include[0]: empty include"
    );

    // An error inside an included file is located in that file.
    let (dir, r) = load_files(&[
        ("p.json", r#"{"version": 1, "include": ["sub/q.json"]}"#),
        ("sub/q.json", "{\"version\": 1,\n\"log\": {\"x\": 1}}"),
    ]);
    let e = r.unwrap_err();
    assert_eq!(e.file, format!("{dir}/sub/q.json"));
    assert_eq!((e.line, e.col), (2, 9));
}

#[test]
fn include_cycles() {
    let (dir, r) = load_files(&[
        ("a.json", r#"{"version": 1, "include": ["b.json"]}"#),
        (
            "b.json",
            "{\"version\": 1,\n \"include\": [\"@system\", \"./a.json\"]}",
        ),
    ]);
    let e = r.unwrap_err();
    assert_eq!(e.file, format!("{dir}/b.json"));
    assert_eq!((e.line, e.col), (2, 25));
    assert_eq!(
        e.message,
        format!("include[1]: include cycle: {dir}/a.json -> {dir}/b.json -> {dir}/./a.json")
    );

    let (dir, r) = load_files(&[("self.json", r#"{"version": 1, "include": ["self.json"]}"#)]);
    let e = r.unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "{dir}/self.json:1:28: include[0]: include cycle: {dir}/self.json -> {dir}/self.json"
        )
    );
}

#[test]
fn diamond_includes_are_not_cycles() {
    let (_, r) = load_files(&[
        (
            "p.json",
            r#"{"version": 1, "include": ["q.json", "q.json"]}"#,
        ),
        (
            "q.json",
            r#"{"version": 1, "filesystem": {"rules": [{"path": "/q", "access": "ro"}]}}"#,
        ),
    ]);
    assert_eq!(r.unwrap().fs.rules.len(), 2);
}

#[test]
fn file_errors() {
    let e = load("/nonexistent-fdsup/p.json", &vars()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "/nonexistent-fdsup/p.json: cannot read policy file"
    );
    assert!(e.io_error().is_some());
    let e = load("@nosuch", &vars()).unwrap_err();
    assert!(e
        .to_string()
        .starts_with("@nosuch: no embedded policy named \"@nosuch\""));

    let dir = scratch();
    let path = format!("{dir}/bad.json");
    fs::write(&path, b"{\"version\": 1,\n \"comment\": \"\xe9\"}").unwrap();
    let e = load(&path, &vars()).unwrap_err();
    assert_eq!(e.to_string(), format!("{path}:2:14: not valid UTF-8"));
}

// ---- merging and deciding --------------------------------------------------

fn decide(p: &Policy, path: &str) -> (FsAction, Option<String>) {
    let d = p.decide_fs(path.as_bytes());
    (
        d.action.clone(),
        d.rule.map(|i| p.fs.rules[i].origin.to_string()),
    )
}

#[test]
fn last_match_wins() {
    let p = load_text(&fs_text(
        r#"{"path": "/data", "access": "ro"},
{"path": "/data/out", "access": "rw"},
{"path": "/data/out/secret", "access": "hide"},
{"path": "/data", "access": "deny"},
{"path": "/data/pub", "access": "ro"}"#,
    ))
    .unwrap();
    let ro = FsAction::Access(FsAccess::Ro);
    let deny = FsAction::Access(FsAccess::Deny);
    assert_eq!(p.decide_fs(b"/data/out/x").action, &deny);
    assert_eq!(p.decide_fs(b"/data/out/x").rule, Some(3));
    assert_eq!(p.decide_fs(b"/data/pub/x").action, &ro);
    assert_eq!(p.decide_fs(b"/data/pub/x").rule, Some(4));
    assert_eq!(p.decide_fs(b"/other").action, &deny);
    assert_eq!(p.decide_fs(b"/other").rule, None);
    assert_eq!(p.decide_fs(b"/other").origin, None);
    let d = p.decide_fs(b"/data/out/secret/x");
    assert_eq!(d.action, &deny);
    assert_eq!(d.origin, Some(&p.fs.rules[3].origin));
    assert_eq!(p.decide_fs(b"/data-x").action, &deny);
    assert_eq!(p.decide_fs(b"/data-x").rule, None);
    assert!(decide(&p, "/data/pub").1.unwrap().ends_with("p.json:6"));
}

#[test]
fn merge_order_and_default_override() {
    let (dir, r) = load_files(&[
        (
            "main.json",
            r#"{
  "version": 1,
  "include": ["one.json", "two.json"],
  "filesystem": {
    "default": "hide",
    "rules": [
      { "path": "/x", "access": "rw" }
    ]
  },
  "log": { "allowed": true }
}"#,
        ),
        (
            "one.json",
            r#"{
  "version": 1,
  "filesystem": { "default": "ro", "rules": [ { "path": "/x", "access": "deny" },
    { "path": "/y", "access": "ro" } ] },
  "network": { "default": "allow", "isolate": true },
  "exec": { "default": "deny" },
  "log": { "denied": false }
}"#,
        ),
        (
            "two.json",
            r#"{
  "version": 1,
  "filesystem": { "rules": [ { "path": "/y", "access": "hide" } ] },
  "network": { "default": "deny" }
}"#,
        ),
    ]);
    let p = r.unwrap();
    let origins: Vec<String> = p.fs.rules.iter().map(|r| r.origin.to_string()).collect();
    assert_eq!(
        origins,
        vec![
            format!("{dir}/one.json:3"),
            format!("{dir}/one.json:4"),
            format!("{dir}/two.json:3"),
            format!("{dir}/main.json:7"),
        ]
    );
    // The includer's default overrides; a later include overrides an earlier one.
    assert_eq!(p.fs.default, FsAccess::Hide);
    assert_eq!(p.network.default, NetAccess::Deny);
    // Set by an include only: kept.
    assert!(p.network.isolate);
    assert_eq!(p.exec.default, ExecAccess::Deny);
    // Log fields merge one by one.
    assert_eq!(
        p.log,
        LogSettings {
            denied: false,
            allowed: true
        }
    );
    assert_eq!(p.decide_fs(b"/x/1").action, &FsAction::Access(FsAccess::Rw));
    assert_eq!(
        p.decide_fs(b"/y/1").action,
        &FsAction::Access(FsAccess::Hide)
    );
    assert_eq!(p.decide_fs(b"/z").action, &FsAction::Access(FsAccess::Hide));
}

// ---- filesystem.metadata ---------------------------------------------------

#[test]
fn metadata_values_are_strict() {
    let p = load_text(r#"{"version": 1, "filesystem": {"metadata": "visible"}}"#).unwrap();
    assert_eq!(p.fs.metadata, Metadata::Visible);
    let p = load_text(r#"{"version": 1, "filesystem": {"metadata": "policy"}}"#).unwrap();
    assert_eq!(p.fs.metadata, Metadata::Policy);
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"metadata": "Visible"}}"#),
        "1:43: filesystem.metadata: expected one of policy, visible, got \"Visible\""
    );
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"metadata": "native"}}"#),
        "1:43: filesystem.metadata: expected one of policy, visible, got \"native\""
    );
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"metadata": true}}"#),
        "1:43: filesystem.metadata: expected one of policy, visible, got a boolean"
    );
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"metadata": null}}"#),
        "1:43: filesystem.metadata: expected one of policy, visible, got null"
    );
    assert_eq!(
        error("{\"version\": 1, \"filesystem\": {\"metadata\": \"policy\",\n \"metadata\": \"visible\"}}"),
        "2:2: filesystem.metadata: duplicate key"
    );
    // Only in the filesystem section.
    assert_eq!(
        error(r#"{"version": 1, "metadata": "visible"}"#),
        "1:16: metadata: unknown field (expected one of version, include, filesystem, network, \
         exec, log, comment, $schema)"
    );
    assert_eq!(
        error(r#"{"version": 1, "filesystem": {"metdata": "visible"}}"#),
        "1:31: filesystem.metdata: unknown field (expected one of default, metadata, rules, comment)"
    );
}

/// `metadata` merges as `default` does: a file that sets it overrides its
/// includes, a later include overrides an earlier one, and a file that
/// leaves it unset takes what its includes say (`policy` if none does).
#[test]
fn metadata_merges_like_default() {
    let files = |main_fs: &str, one: &str, two: &str| {
        let main = format!(
            r#"{{"version": 1, "include": ["one.json", "two.json"], "filesystem": {{ {main_fs} }}}}"#
        );
        let one = format!(r#"{{"version": 1, "filesystem": {{ {one} }}}}"#);
        let two = format!(r#"{{"version": 1, "filesystem": {{ {two} }}}}"#);
        let (_, r) = load_files(&[("main.json", &main), ("one.json", &one), ("two.json", &two)]);
        r.unwrap().fs.metadata
    };
    let (v, p) = (r#""metadata": "visible""#, r#""metadata": "policy""#);
    assert_eq!(files("", "", ""), Metadata::Policy);
    assert_eq!(files("", v, ""), Metadata::Visible);
    assert_eq!(files("", v, p), Metadata::Policy);
    assert_eq!(files("", p, v), Metadata::Visible);
    assert_eq!(files(p, v, v), Metadata::Policy);
    assert_eq!(files(v, p, p), Metadata::Visible);
    // The embedded policies leave it unset: what includes them decides.
    for name in super::embedded::names() {
        assert_eq!(
            load(name, &vars()).unwrap().fs.metadata,
            Metadata::Policy,
            "{name}"
        );
        let text = format!(
            r#"{{"version": 1, "include": ["{name}"], "filesystem": {{"metadata": "visible"}}}}"#
        );
        assert_eq!(load_text(&text).unwrap().fs.metadata, Metadata::Visible);
    }
}

#[test]
fn builtin_defaults() {
    let p = load_text(r#"{"version": 1}"#).unwrap();
    assert_eq!(p.fs.default, FsAccess::Deny);
    assert_eq!(p.fs.metadata, Metadata::Policy);
    assert_eq!(p.network.default, NetAccess::Deny);
    assert!(!p.network.isolate);
    assert!(!p.network.has_rules_or_isolate());
    assert_eq!(p.exec.default, ExecAccess::Allow);
    assert_eq!(p.log, LogSettings::default());
    assert!(p.log.denied && !p.log.allowed);
}

#[test]
fn redirect_and_content_rules() {
    let (dir, r) = load_files(&[(
        "demo/p.json",
        &fs_text(
            r#"{"path": "/etc/hostname", "redirect": "/srv/fake//hostname"},
{"path": "/etc/hosts", "redirect": "fake/hosts", "access": "ro"},
{"path": "/var/out", "redirect": "${HOME}/out", "access": "rw"},
{"path": "/run/fdsup/hello", "content": "hello from the supervisor\n"},
{"path": "/run/fdsup/ro", "content": "", "access": "ro"}"#,
        ),
    )]);
    let p = r.unwrap();
    let actions: Vec<&FsAction> = p.fs.rules.iter().map(|r| &r.action).collect();
    assert_eq!(
        actions,
        vec![
            &FsAction::Redirect {
                target: "/srv/fake/hostname".into(),
                writable: false
            },
            &FsAction::Redirect {
                target: format!("{dir}/demo/fake/hosts"),
                writable: false
            },
            &FsAction::Redirect {
                target: "/home/u/out".into(),
                writable: true
            },
            &FsAction::Content {
                text: "hello from the supervisor\n".into()
            },
            &FsAction::Content {
                text: String::new()
            },
        ]
    );
}

#[test]
fn variables_and_canonical_paths() {
    let dir = scratch();
    fs::create_dir_all(format!("{dir}/real/tmp")).unwrap();
    symlink(format!("{dir}/real"), format!("{dir}/link")).unwrap();
    let v = Vars {
        cwd: format!("{dir}/link"),
        home: "/home/u".into(),
        tmpdir: format!("{dir}/link/tmp/"),
        uid: 42,
        resolve_links: true,
    };
    let path = format!("{dir}/p.json");
    fs::write(
        &path,
        fs_text(
            r#"{"path": "${CWD}", "access": "rw"},
{"path": "${TMPDIR}/new/${UID}", "access": "ro"},
{"path": "${HOME}/.ssh", "access": "hide"},
{"path": "/proc/self/fd", "access": "ro"}"#,
        ),
    )
    .unwrap();
    let p = load(&path, &v).unwrap();
    let texts: Vec<&str> = p.fs.rules.iter().map(|r| r.pattern.as_str()).collect();
    assert_eq!(
        texts,
        vec![
            format!("{dir}/real").as_str(),
            format!("{dir}/real/tmp/new/42").as_str(),
            "/home/u/.ssh",
            "/proc/self/fd",
        ]
    );
    assert_eq!(p.fs.rules[0].pattern.written(), "${CWD}");
    assert_eq!(
        p.decide_fs(format!("{dir}/real/x").as_bytes()).action,
        &FsAction::Access(FsAccess::Rw)
    );
}

#[test]
fn origin_line_is_the_opening_brace() {
    let p = load_text(
        "{\"version\": 1,\n\"filesystem\": {\"rules\": [\n\n  {\n \"path\": \"/a\",\n \
         \"access\": \"ro\"}, {\"path\": \"/b\", \"access\": \"ro\"}]}}",
    )
    .unwrap();
    assert_eq!(p.fs.rules[0].origin.line, 4);
    assert_eq!(p.fs.rules[1].origin.line, 6);
}

#[test]
fn network_rules_are_typed() {
    let p = load_text(
        r#"{
  "version": 1,
  "network": {
    "default": "deny",
    "rules": [
      { "connect": "127.0.0.1:8080" },
      { "connect": "10.0.0.0/8:*", "access": "deny" },
      { "connect": "192.0.2.10:80", "redirect": "127.0.0.1:8080" },
      { "connect": "unix:/run//app.sock" },
      { "bind": "[::1]:*", "comment": "x" },
      { "connect": "unix:@${UID}" }
    ]
  }
}"#,
    )
    .unwrap();
    assert!(p.network.has_rules_or_isolate());
    let rules = &p.network.rules;
    assert_eq!(rules.len(), 6);
    assert_eq!(rules[0].op, NetOp::Connect);
    assert_eq!(rules[1].access, NetAccess::Deny);
    assert_eq!(
        rules[2].redirect,
        Some(RedirectTarget::Inet("127.0.0.1:8080".parse().unwrap()))
    );
    assert_eq!(rules[3].addr.to_string(), "unix:/run/app.sock");
    assert_eq!(rules[4].op, NetOp::Bind);
    assert_eq!(rules[4].addr.to_string(), "[::1]:*");
    // Variables are plain text in abstract names: no expansion there.
    assert_eq!(rules[5].addr, NetAddr::UnixAbstract("${UID}".into()));

    let d = p.decide_inet(NetOp::Connect, "192.0.2.10:80".parse().unwrap());
    assert_eq!(d.access, NetAccess::Allow);
    assert_eq!(d.rule.map(|r| r.origin.line), Some(8));
    let d = p.decide_inet(NetOp::Connect, "10.1.2.3:80".parse().unwrap());
    assert_eq!(d.access, NetAccess::Deny);
    let d = p.decide_inet(NetOp::Connect, "8.8.8.8:53".parse().unwrap());
    assert_eq!((d.access, d.rule), (NetAccess::Deny, None));
    let d = p.decide_net(NetOp::Connect, NetTarget::UnixPath(b"/run/app.sock"));
    assert_eq!(d.access, NetAccess::Allow);
    let d = p.decide_inet(NetOp::Bind, "[::1]:9".parse().unwrap());
    assert_eq!(d.access, NetAccess::Allow);
}

#[test]
fn network_isolate_without_rules() {
    let p = load_text(r#"{"version": 1, "network": {"isolate": true}}"#).unwrap();
    assert!(p.network.has_rules_or_isolate());
}

#[test]
fn exec_rules() {
    let p = load_text(
        r#"{"version": 1, "exec": {"default": "allow", "rules": [
  {"path": "/usr/bin", "access": "deny"},
  {"path": "/usr/bin/make", "access": "allow", "comment": "the build"}
]}}"#,
    )
    .unwrap();
    let (a, o) = p.decide_exec(b"/usr/bin/sudo");
    assert_eq!((a, o.map(|o| o.line)), (ExecAccess::Deny, Some(2)));
    let (a, o) = p.decide_exec(b"/usr/bin/make");
    assert_eq!((a, o.map(|o| o.line)), (ExecAccess::Allow, Some(3)));
    assert_eq!(p.decide_exec(b"/opt/x"), (ExecAccess::Allow, None));
}

// ---- the embedded policies -------------------------------------------------

#[test]
fn embedded_policies_load() {
    for name in embedded_names() {
        let p = load(name, &vars()).unwrap_or_else(|e| panic!("{e}"));
        for r in &p.fs.rules {
            assert!(r.origin.file.starts_with('@'), "{}", r.origin);
        }
    }
    assert!(embedded("@system").is_some());
    assert!(embedded("system").is_some());
    assert!(embedded("@nope").is_none());
}

/// `fdsup run` asks the shim for a network namespace before loading an
/// embedded policy, on the word of `embedded_isolates`: it must be what
/// loading says, for every embedded policy.
#[test]
fn embedded_isolation_is_known_before_loading() {
    for name in embedded_names() {
        let p = load(name, &vars()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(embedded_isolates(name), Some(p.network.isolate), "{name}");
    }
    assert_eq!(embedded_isolates("/etc/fdsup.json"), None);
    assert_eq!(embedded_isolates("@nope"), None);
}

/// Every rule object of every embedded policy says why, and every object
/// the policy has (but for rule lists) carries a comment too.
#[test]
fn embedded_rules_have_comments() {
    fn walk(name: &str, v: &Value, in_rules: bool) {
        match &v.kind {
            Kind::Object(members) => {
                if in_rules {
                    assert!(
                        members.iter().any(|m| m.key == "comment"),
                        "{name}:{}: rule without a comment",
                        v.pos.line
                    );
                }
                for m in members {
                    walk(name, &m.value, false);
                }
            }
            Kind::Array(items) => {
                for i in items {
                    walk(name, i, true);
                }
            }
            _ => {}
        }
    }
    for name in embedded_names() {
        let tree = json::parse(embedded(name).unwrap()).unwrap();
        walk(name, &tree, false);
    }
}

#[test]
fn system_policy_decisions() {
    let p = load("@system", &vars()).unwrap();
    let access = |path: &str| match p.decide_fs(path.as_bytes()).action {
        FsAction::Access(a) => *a,
        other => panic!("{other:?}"),
    };
    assert_eq!(p.fs.default, FsAccess::Hide);
    // Canonicalised: on merged-/usr systems /lib is /usr/lib; either way the
    // canonical path of a library is read-only.
    let libc = fs::canonicalize("/lib").map(|p| p.to_string_lossy().into_owned());
    if let Ok(lib) = libc {
        assert_eq!(access(&format!("{lib}/x.so")), FsAccess::Ro);
    }
    assert_eq!(access("/usr/bin/env"), FsAccess::Ro);
    assert_eq!(access("/etc/passwd"), FsAccess::Ro);
    let etc = fs::canonicalize("/etc")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    for hidden in [
        "shadow",
        "gshadow",
        "sudoers",
        "sudoers.d/x",
        "ssh/ssh_host_ed25519_key",
    ] {
        assert_eq!(
            access(&format!("{etc}/{hidden}")),
            FsAccess::Hide,
            "{hidden}"
        );
    }
    assert_eq!(access(&format!("{etc}/ssh/sshd_config")), FsAccess::Ro);
    assert_eq!(access("/proc/self/maps"), FsAccess::Ro);
    assert_eq!(access("/proc/cpuinfo"), FsAccess::Ro);
    assert_eq!(access("/proc/1/maps"), FsAccess::Hide);
    assert_eq!(access("/proc/kcore"), FsAccess::Hide);
    assert_eq!(access("/dev/null"), FsAccess::Rw);
    assert_eq!(access("/dev/sda"), FsAccess::Hide);
    assert_eq!(access("/home/u/.ssh/id_rsa"), FsAccess::Hide);
    assert_eq!(access("/"), FsAccess::Hide);
    // Only the file system is said.
    assert!(p.network.rules.is_empty() && p.exec.rules.is_empty());
}

#[test]
fn default_policy() {
    let dir = scratch();
    let v = Vars {
        cwd: dir.to_string(),
        ..vars()
    };
    let p = load("@default", &v).unwrap();
    assert_eq!(
        p.decide_fs(format!("{dir}/src/main.rs").as_bytes()).action,
        &FsAction::Access(FsAccess::Rw)
    );
    let tmp = fs::canonicalize("/tmp")
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        p.decide_fs(format!("{tmp}/x").as_bytes()).action,
        &FsAction::Access(FsAccess::Rw)
    );
    assert_eq!(
        p.decide_fs(b"/usr/bin/make").action,
        &FsAction::Access(FsAccess::Ro)
    );
    let last = p.fs.rules.last().unwrap();
    assert_eq!(last.origin.file.as_ref(), "@default");
    assert_eq!(p.fs.rules[0].origin.to_string(), "@system:8");
    assert_eq!(p.network.default, NetAccess::Deny);
    // No network outside: a namespace of its own, and binds of Unix
    // sockets in the read-write places.
    assert!(p.network.isolate);
    assert_eq!(p.network.rules.len(), 2);
}

#[test]
fn allow_all_and_loopback() {
    let p = load("@allow-all", &vars()).unwrap();
    assert_eq!(p.fs.default, FsAccess::Rw);
    assert_eq!(p.network.default, NetAccess::Allow);
    assert_eq!(p.exec.default, ExecAccess::Allow);
    assert!(p.fs.rules.is_empty() && p.network.rules.is_empty());

    let p = load("@network-loopback", &vars()).unwrap();
    let ok = |op, a: &str| p.decide_inet(op, a.parse().unwrap()).access == NetAccess::Allow;
    assert!(ok(NetOp::Connect, "127.0.0.1:5432"));
    assert!(ok(NetOp::Bind, "127.0.0.2:0"));
    assert!(ok(NetOp::Connect, "[::1]:80"));
    assert!(ok(NetOp::Bind, "[::1]:8080"));
    assert!(!ok(NetOp::Connect, "192.168.1.1:80"));
    assert!(!ok(NetOp::Bind, "0.0.0.0:80"));
    assert!(!ok(NetOp::Bind, "[::]:80"));
}

#[test]
fn user_file_can_include_embedded() {
    let p = load_text(
        r#"{"version": 1, "include": ["@default", "@network-loopback"],
  "filesystem": {"rules": [{"path": "/etc/hostname", "redirect": "/srv/fake/hostname"}]}}"#,
    )
    .unwrap();
    assert_eq!(p.network.rules.len(), 6);
    assert_eq!(p.network.default, NetAccess::Deny);
    assert!(matches!(
        p.fs.rules.last().unwrap().action,
        FsAction::Redirect { .. }
    ));
}

// ---- describe --------------------------------------------------------------

#[test]
fn describe_lists_everything() {
    let (dir, r) = load_files(&[(
        "p.json",
        r#"{
  "version": 1,
  "include": ["@network-loopback"],
  "filesystem": {
    "default": "deny",
    "rules": [
      { "path": "/usr", "access": "ro" },
      { "path": "/etc/hostname", "redirect": "/srv/fake/hostname" },
      { "path": "/data", "redirect": "/srv/data", "access": "rw" },
      { "path": "/run/hello", "content": "hello\n" },
      { "path": "${HOME}/x", "access": "hide" }
    ]
  },
  "network": { "rules": [ { "connect": "192.0.2.10:80", "redirect": "127.0.0.1:8080" } ] },
  "exec": { "rules": [ { "path": "/usr/bin/sudo", "access": "deny" } ] }
}"#,
    )]);
    let p = r.unwrap();
    let f = format!("{dir}/p.json");
    let pad = " ".repeat(f.len() + 5 - "@network-loopback:6".len());
    let usr = p.fs.rules[0].pattern.as_str().to_owned();
    let want = format!(
        "filesystem default: deny
filesystem metadata: policy (the rules decide every look: stat, access, readlink, statfs, chdir, listings)
  {f}:7  {usr}  ro
  {f}:8  /etc/hostname  redirect -> /srv/fake/hostname
  {f}:9  /data  redirect (rw) -> /srv/data
  {f}:10  /run/hello  content \"hello\\n\"
  {f}:11  /home/u/x  hide  (written ${{HOME}}/x)
network default: deny
network isolate: false
  @network-loopback:6{pad}connect 127.0.0.0/8:*  allow
  @network-loopback:7{pad}bind 127.0.0.0/8:*  allow
  @network-loopback:8{pad}connect [::1]:*  allow
  @network-loopback:9{pad}bind [::1]:*  allow
  {f}:14  connect 192.0.2.10:80  redirect -> 127.0.0.1:8080
exec default: allow
  {f}:15  /usr/bin/sudo  deny
log: denied=true allowed=false
"
    );
    // The file-system origins are padded to the widest.
    let want = want.replace(&format!("{f}:7  "), &format!("{f}:7   "));
    let want = want.replace(&format!("{f}:8  "), &format!("{f}:8   "));
    let want = want.replace(&format!("{f}:9  "), &format!("{f}:9   "));
    assert_eq!(p.describe(), want);
}

#[test]
fn describe_cuts_long_content() {
    let long = "x".repeat(100);
    let p = load_text(&fs_text(&format!(
        r#"{{"path": "/a", "content": "{long}"}}"#
    )))
    .unwrap();
    let d = p.describe();
    assert!(
        d.contains(&format!("content \"{}\"... (100 bytes)", "x".repeat(48))),
        "{d}"
    );
}

/// `policies/schema.json` is what the file-format types generate; with
/// `FDSUP_BLESS=1` the test rewrites it instead.
#[test]
fn schema_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/schema.json");
    let want = super::file::schema_json();
    if std::env::var_os("FDSUP_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(path, &want).expect("writing policies/schema.json");
        return;
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "policies/schema.json is out of date: run `FDSUP_BLESS=1 cargo test -p fdsup schema_is_current`"
    );
}

/// A variable's value is a path, not a pattern: `$HOME` (or the directory
/// fdsup starts in, or `$TMPDIR`) holding a `*` or a `**` component would
/// turn `${HOME}` rw into a rule for every sibling (`/home/*`) or every
/// depth. Such a value is refused where it is used, located at the string.
#[test]
fn a_variable_with_a_star_is_refused_not_a_wildcard() {
    for (home, cwd) in [
        ("/home/*", "/w"),
        ("/**", "/w"),
        ("/h", "/w/a*b"),
        ("/h", "/w/**"),
    ] {
        let v = Vars {
            home: home.into(),
            cwd: cwd.into(),
            ..vars()
        };
        let dir = scratch();
        let main = format!("{dir}/p.json");
        fs::write(
            &main,
            fs_text(
                "{\"path\": \"/usr\", \"access\": \"ro\"},\n  {\"path\": \"${HOME}/.cache\", \"access\": \"rw\"},\n  {\"path\": \"${CWD}\", \"access\": \"rw\"}",
            ),
        )
        .unwrap();
        let e = load(&main, &v).expect_err(&format!("HOME={home} CWD={cwd}"));
        let (line, col) = if home.contains('*') { (3, 12) } else { (4, 12) };
        assert_eq!((e.line, e.col), (line, col), "{e}");
        assert!(e.message.contains("\"*\""), "{e}");
        // Not used, no error: the variable is refused only where it is used.
        fs::write(&main, fs_text("{\"path\": \"/usr\", \"access\": \"ro\"}")).unwrap();
        load(&main, &v).unwrap();
    }
}

/// A byte that is not UTF-8 is located as the JSON reader locates
/// everything: a byte-order mark (skipped) takes no column.
#[test]
fn invalid_utf8_is_located_alike_with_a_bom() {
    let dir = scratch();
    let body = b"{\"version\": 1, \"comment\": \"a\xffb\"}";
    for bom in [&b""[..], b"\xef\xbb\xbf"] {
        let path = format!("{dir}/p.json");
        fs::write(&path, [bom, &body[..]].concat()).unwrap();
        let e = load(&path, &vars()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 29), "BOM {bom:?}: {e}");
        assert!(e.message.contains("UTF-8"), "{e}");
        // The same column as a JSON error at that place.
        fs::write(
            &path,
            [bom, &b"{\"version\": 1, \"comment\": \"a"[..], b"\x01\"}"].concat(),
        )
        .unwrap();
        let e = load(&path, &vars()).unwrap_err();
        assert_eq!((e.line, e.col), (1, 29), "BOM {bom:?}: {e}");
    }
}

/// Includes that fan out (each file including the next ten times, eight
/// deep: ten million loads from a few hundred bytes) are refused at once,
/// located at an include, rather than loading for ever into memory.
#[test]
fn include_fan_out_is_bounded() {
    let dir = scratch();
    for i in 0..8 {
        let incs = vec![format!("\"l{}.json\"", i + 1); 10].join(", ");
        fs::write(
            format!("{dir}/l{i}.json"),
            format!("{{\"version\": 1, \"include\": [{incs}]}}"),
        )
        .unwrap();
    }
    fs::write(
        format!("{dir}/l8.json"),
        fs_text("{\"path\": \"/leaf\", \"access\": \"ro\"}"),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let e = load(&format!("{dir}/l0.json"), &vars()).unwrap_err();
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
    assert!(e.line > 0 && e.col > 0, "{e}");
    assert!(e.message.contains("include["), "{e}");
    assert!(e.message.contains("files"), "{e}");
    // A few levels of it are fine (a diamond is not a cycle).
    let p = load(&format!("{dir}/l6.json"), &vars()).unwrap();
    assert_eq!(p.fs.rules.len(), 100);
}

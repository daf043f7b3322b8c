//! The policies built into fdsup, named `@system`, `@default`,
//! `@allow-all` and `@network-loopback`.
//!
//! They are ordinary policy files (`embedded/*.json`, each rule with a
//! `comment` saying why) compiled in with `include_str!`, so they go through
//! the same parser and checks as a user's file and `fdsup check @default`
//! shows them like any other. Their origin in messages and the audit log is
//! their `@name`.

/// Every embedded policy: its `@name` and its text.
const POLICIES: &[(&str, &str)] = &[
    ("@system", include_str!("embedded/system.json")),
    ("@default", include_str!("embedded/default.json")),
    ("@allow-all", include_str!("embedded/allow-all.json")),
    (
        "@network-loopback",
        include_str!("embedded/network-loopback.json"),
    ),
];

/// The text of the embedded policy `name` (`@system`, or `system`).
pub fn embedded(name: &str) -> Option<&'static str> {
    let bare = name.strip_prefix('@').unwrap_or(name);
    POLICIES
        .iter()
        .find(|(n, _)| n.strip_prefix('@') == Some(bare))
        .map(|(_, text)| *text)
}

/// Whether each embedded policy, run alone, isolates the network (its
/// `network.isolate` once loaded, which no variable changes). Known without
/// loading it so that `fdsup run` can have the shim start making the
/// network namespace at once, while the policy loads (issue 11); a test
/// holds this table to what loading says.
const ISOLATES: &[(&str, bool)] = &[
    ("@system", false),
    ("@default", true),
    ("@allow-all", false),
    ("@network-loopback", false),
];

/// Whether running with `source` isolates the network, where that is known
/// before loading it: for an embedded policy (`@name`) only.
pub fn isolates(source: &str) -> Option<bool> {
    ISOLATES
        .iter()
        .find(|(n, _)| *n == source)
        .map(|(_, isolates)| *isolates)
}

/// The `@names` of the embedded policies.
pub fn names() -> impl Iterator<Item = &'static str> {
    POLICIES.iter().map(|(n, _)| *n)
}

/// Embedded policies that are parts to include, not policies to run with:
/// `@network-loopback` has only network rules, so alone its file-system
/// default (`deny`) refuses everything, the program itself included.
const INCLUDE_ONLY: &[&str] = &["@network-loopback"];

/// Why `fdsup run --policy NAME` refuses `NAME`, if it is an embedded
/// policy meant only to be included (see [`INCLUDE_ONLY`]): the message
/// says what to write instead.
pub fn include_only(name: &str) -> Option<String> {
    let bare = name.strip_prefix('@')?;
    let full = INCLUDE_ONLY
        .iter()
        .find(|n| n.strip_prefix('@') == Some(bare))?;
    Some(format!(
        "{full} is meant to be included, not run alone: it has only network rules, \
         and its file-system default (deny) would refuse everything, the program \
         itself included; write a policy file with \
         {{ \"version\": 1, \"include\": [\"@default\", \"{full}\"] }} and run with --policy FILE"
    ))
}

//! The learned policy as a file: version 1, `@system` included, one rule a
//! line (as the ready policies are written), each with its comment.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Learned;
use crate::policy::file::{
    AllowDeny, FsAccessFile, FsRuleFile, FsSectionFile, MetadataFile, NetRuleFile, NetSectionFile,
    PolicyFile,
};
use crate::policy::{FsAccess, Metadata};

/// Why the learned policy could not be written.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// The file is there already: learning never replaces a policy.
    #[error("{}: already exists; fdsup run --learn never replaces a file (remove it or choose another name)", path.display())]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A symbolic link is there: never written through.
    #[error("{}: is a symbolic link; fdsup never writes through one (remove it or choose another name)", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// Writing failed.
    #[error("writing the learned policy to {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// The policy file for `learned`: `command` (as run) and `connects` (the
/// addresses connected to, with who did) go into comments and rules.
/// `metadata` is the mode the run was in: learnt with the looks left to the
/// kernel, the looks were not seen, so the policy must keep them there.
pub fn render(
    learned: &Learned,
    command: &str,
    connects: &BTreeMap<String, BTreeSet<String>>,
    metadata: Metadata,
) -> String {
    let rules = learned
        .rules
        .iter()
        .map(|r| FsRuleFile {
            path: r.path.clone(),
            access: Some(match r.access {
                FsAccess::Rw => FsAccessFile::Rw,
                FsAccess::Ro => FsAccessFile::Ro,
                FsAccess::Deny => FsAccessFile::Deny,
                FsAccess::Hide => FsAccessFile::Hide,
            }),
            redirect: None,
            content: None,
            public: None,
            private: None,
            comment: Some(r.comment.clone()),
        })
        .collect();
    let net_rules: Vec<NetRuleFile> = connects
        .iter()
        .map(|(addr, by)| NetRuleFile {
            connect: Some(addr.clone()),
            bind: None,
            access: None,
            redirect: None,
            comment: Some(format!(
                "Connected to by {}.",
                by.iter().cloned().collect::<Vec<_>>().join(", ")
            )),
        })
        .collect();
    let net_comment = if net_rules.is_empty() {
        "No connection was seen while learning."
    } else {
        "The addresses the program connected to while learning."
    };
    // A long command line is cut: the comment is for a person.
    let command = if command.chars().count() > 200 {
        format!("{}...", command.chars().take(200).collect::<String>())
    } else {
        command.to_owned()
    };
    let policy = PolicyFile {
        schema: None,
        version: 1,
        comment: Some(format!(
            "Learned by `fdsup run --learn` from: {command}. It allows what the program used in that run; review it before relying on it."
        )),
        include: vec!["@system".to_owned()],
        filesystem: Some(FsSectionFile {
            default: None,
            metadata: (metadata == Metadata::Visible).then_some(MetadataFile::Visible),
            comment: Some(match metadata {
                Metadata::Policy => {
                    "What the program used beyond @system (whose default hides the rest).".to_owned()
                }
                Metadata::Visible => "What the program used beyond @system (whose default hides the rest). Learnt with --metadata visible: the looks (stat, listings) were answered by the kernel and not seen, so they stay with it.".to_owned(),
            }),
            rules,
        }),
        network: Some(NetSectionFile {
            default: Some(AllowDeny::Deny),
            isolate: None,
            comment: Some(net_comment.to_owned()),
            rules: net_rules,
        }),
        exec: None,
        log: None,
    };
    layout(&policy)
}

/// Pretty JSON with every rule on one line.
fn layout(policy: &PolicyFile) -> String {
    let value = serde_json::to_value(policy).unwrap_or_default();
    let mut out = String::from("{\n");
    let serde_json::Value::Object(top) = value else {
        return out;
    };
    // serde_json's map is sorted; write the fields in the policy's order.
    let order = [
        "$schema",
        "version",
        "comment",
        "include",
        "filesystem",
        "network",
        "exec",
        "log",
    ];
    let fields: Vec<(&str, &serde_json::Value)> = order
        .iter()
        .filter_map(|k| top.get(*k).map(|v| (*k, v)))
        .collect();
    for (i, (k, v)) in fields.iter().enumerate() {
        let comma = if i + 1 < fields.len() { "," } else { "" };
        let key = serde_json::to_string(k).unwrap_or_default();
        match v {
            serde_json::Value::Object(section) => {
                out.push_str(&format!("  {key}: {{\n"));
                let inner: Vec<(&String, &serde_json::Value)> =
                    ["default", "metadata", "isolate", "comment", "rules"]
                        .iter()
                        .filter_map(|f| section.get_key_value(*f))
                        .collect();
                for (j, (f, val)) in inner.iter().enumerate() {
                    let c = if j + 1 < inner.len() { "," } else { "" };
                    let fk = serde_json::to_string(f).unwrap_or_default();
                    match val {
                        serde_json::Value::Array(rules) if *f == "rules" => {
                            out.push_str(&format!("    {fk}: [\n"));
                            for (n, r) in rules.iter().enumerate() {
                                let rc = if n + 1 < rules.len() { "," } else { "" };
                                out.push_str(&format!("      {}{rc}\n", one_line(r)));
                            }
                            out.push_str(&format!("    ]{c}\n"));
                        }
                        other => out.push_str(&format!(
                            "    {fk}: {}{c}\n",
                            serde_json::to_string(other).unwrap_or_default()
                        )),
                    }
                }
                out.push_str(&format!("  }}{comma}\n"));
            }
            other => out.push_str(&format!(
                "  {key}: {}{comma}\n",
                serde_json::to_string(other).unwrap_or_default()
            )),
        }
    }
    out.push_str("}\n");
    out
}

/// A rule as `{ "path": ..., "access": ..., "comment": ... }`, in that order.
fn one_line(rule: &serde_json::Value) -> String {
    let serde_json::Value::Object(m) = rule else {
        return rule.to_string();
    };
    let order = [
        "path", "connect", "bind", "access", "redirect", "content", "comment",
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|k| {
            m.get(*k).map(|v| {
                format!(
                    "{}: {}",
                    serde_json::to_string(k).unwrap_or_default(),
                    serde_json::to_string(v).unwrap_or_default()
                )
            })
        })
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

/// Writes `text` to `path`, which must not exist: a new file beside it
/// (mode 0600), synced, renamed into place without replacing anything
/// ([`crate::files::write_new`]).
pub fn write_policy(path: &Path, text: &str) -> Result<(), LearnError> {
    use crate::files::{write_new, FileError};
    write_new(path, text.as_bytes()).map_err(|e| match e {
        FileError::Exists { path } => LearnError::Exists { path },
        FileError::Symlink { path } => LearnError::Symlink { path },
        FileError::Io { path, source } => LearnError::Write { path, source },
    })
}

#[cfg(test)]
mod tests {
    use super::super::LearnedRule;
    use super::*;

    #[test]
    fn renders_a_policy_the_parser_reads() {
        let learned = Learned {
            rules: vec![
                LearnedRule {
                    path: "${CWD}".into(),
                    expanded: "/w".into(),
                    access: FsAccess::Ro,
                    comment: "Read by make (\"quoted\").".into(),
                },
                LearnedRule {
                    path: "${CWD}/out".into(),
                    expanded: "/w/out".into(),
                    access: FsAccess::Rw,
                    comment: "Changed by cc1.".into(),
                },
            ],
            notes: vec![],
        };
        let text = render(&learned, "make all", &BTreeMap::new(), Metadata::Policy);
        let v: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["version"], 1);
        assert_eq!(v["include"][0], "@system");
        assert_eq!(v["filesystem"]["rules"][1]["access"], "rw");
        assert!(text.contains("\n      { \"path\": \"${CWD}\", \"access\": \"ro\", \"comment\": "));
        let dir = std::env::temp_dir().join(format!("fdsup-learn-render-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("p.json");
        let _ = std::fs::remove_file(&file);
        write_policy(&file, &text).unwrap();
        assert!(matches!(
            write_policy(&file, &text),
            Err(LearnError::Exists { .. })
        ));
        let vars = crate::policy::Vars {
            cwd: "/w".into(),
            home: "/h".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        };
        let p = crate::policy::load(file.to_str().unwrap(), &vars).expect("loads");
        assert_eq!(p.fs.rules.last().unwrap().pattern.as_str(), "/w/out");

        // Connects (recorded once the network is mediated) become rules.
        let connects: BTreeMap<String, BTreeSet<String>> = [(
            "127.0.0.1:8080".to_owned(),
            ["curl".to_owned()].into_iter().collect(),
        )]
        .into_iter()
        .collect();
        let text = render(&learned, "curl", &connects, Metadata::Policy);
        assert!(
            text.contains(
                "{ \"connect\": \"127.0.0.1:8080\", \"comment\": \"Connected to by curl.\" }"
            ),
            "{text}"
        );
        let file = dir.join("n.json");
        std::fs::write(&file, &text).unwrap();
        let p = crate::policy::load(file.to_str().unwrap(), &vars).expect("loads");
        assert_eq!(p.network.rules.len(), 1);
        assert_eq!(p.fs.metadata, Metadata::Policy);

        // Learnt with the looks left to the kernel: the policy keeps them there.
        let text = render(&learned, "make", &BTreeMap::new(), Metadata::Visible);
        assert!(
            text.contains("\n    \"metadata\": \"visible\",\n"),
            "{text}"
        );
        let file = dir.join("v.json");
        std::fs::write(&file, &text).unwrap();
        let p = crate::policy::load(file.to_str().unwrap(), &vars).expect("loads");
        assert_eq!(p.fs.metadata, Metadata::Visible);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

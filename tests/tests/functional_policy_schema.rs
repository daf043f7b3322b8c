//! `policies/schema.json` against the policies: every ready policy and every
//! embedded one validates (with Debian's python3-jsonschema, Draft 2020-12,
//! which `.ci/run` installs), and bad policies that `fdsup check` refuses
//! the schema refuses too, so that an editor flags what fdsup would.

mod functional_common;

use functional_common::*;
use std::path::PathBuf;

const VALIDATE: &str = r#"
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
for f in sys.argv[2:]:
    errs = list(v.iter_errors(json.load(open(f))))
    print("%s %s" % ("valid" if not errs else "invalid", f))
"#;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs the validator on `files`; `None` when python3-jsonschema is missing.
fn validate(files: &[PathBuf]) -> Option<Vec<String>> {
    let probe = native(&root(), &[PY, "-c", "import jsonschema"]);
    if probe.code != 0 {
        return None;
    }
    let schema = root().join("policies/schema.json");
    let mut args: Vec<String> = vec![
        PY.into(),
        "-c".into(),
        VALIDATE.into(),
        schema.to_str().unwrap().into(),
    ];
    args.extend(files.iter().map(|f| f.to_str().unwrap().to_owned()));
    let out = native(&root(), &args);
    assert_eq!(out.code, 0, "{}", show(&out));
    Some(out.stdout.lines().map(str::to_owned).collect())
}

#[test]
fn ready_and_embedded_policies_validate_against_the_schema() {
    let mut files: Vec<PathBuf> = Vec::new();
    for dir in [
        "policies",
        "policies/agent",
        "supervisor/src/policy/embedded",
    ] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "json")
                && p.file_name().is_some_and(|n| n != "schema.json")
            {
                files.push(p);
            }
        }
    }
    assert!(files.len() >= 10, "{files:?}");
    let Some(lines) = validate(&files) else {
        require("jsonschema");
        unreachable!("python3-jsonschema is installed but cannot be imported");
    };
    for l in &lines {
        assert!(l.starts_with("valid "), "{l}");
    }
    assert_eq!(lines.len(), files.len());
}

#[test]
fn what_fdsup_check_refuses_the_schema_refuses() {
    let t = TempDir::new("schema-bad");
    let bad = [
        r#"{"version": 2}"#,
        r#"{"version": 1, "bogus": true}"#,
        r#"{"version": 1, "filesystem": {"rules": [{"path": "/x"}]}}"#,
        r#"{"version": 1, "filesystem": {"rules": [{"path": "/x", "access": "rx"}]}}"#,
        r#"{"version": 1, "filesystem": {"rules": [{"path": "x", "access": "ro"}]}}"#,
        r#"{"version": 1, "filesystem": {"rules": [{"path": "/x", "redirect": "/y", "content": "z"}]}}"#,
        r#"{"version": 1, "filesystem": {"rules": [{"path": "/x", "content": "z", "access": "rw"}]}}"#,
        r#"{"version": 1, "filesystem": {"default": null}}"#,
        r#"{"version": 1, "network": {"rules": [{"connect": "1.2.3.4:5", "bind": "1.2.3.4:5"}]}}"#,
        r#"{"version": 1, "exec": {"rules": [{"path": "/x"}]}}"#,
        r#"{"version": 1, "log": {"denied": "yes"}}"#,
        r#"{"version": 1, "filesystem": {"metadata": "Visible"}}"#,
        r#"{"version": 1, "filesystem": {"metadata": null}}"#,
        r#"{"version": 1, "filesystem": {"metadata": true}}"#,
        r#"{"version": 1, "metadata": "visible"}"#,
    ];
    let mut files = Vec::new();
    for (i, text) in bad.iter().enumerate() {
        let p = write_policy(t.path(), &format!("bad{i}.json"), text);
        let out = fdsup_run(["check", p.to_str().unwrap()], t.path());
        assert_eq!(out.code, 1, "fdsup check accepts {text}\n{}", show(&out));
        files.push(p);
    }
    let Some(lines) = validate(&files) else {
        require("jsonschema");
        unreachable!("python3-jsonschema is installed but cannot be imported");
    };
    for (l, text) in lines.iter().zip(bad) {
        assert!(l.starts_with("invalid "), "the schema accepts {text}");
    }
}

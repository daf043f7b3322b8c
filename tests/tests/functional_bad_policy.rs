//! Bad policies: `fdsup run` exits 125, names FILE:LINE:COL and what is
//! wrong, and never starts the program (which would have left a marker
//! file). `fdsup check` prints a good policy's rules with their origins
//! (exit 0) and a bad one's located error (exit 1).

mod functional_common;

use functional_common::*;
use std::path::Path;

/// Runs a program that would create `marker` under `policy` and asserts the
/// refusal: exit 125, the program never ran, and stderr holds every one of
/// `needles`.
#[track_caller]
fn assert_refused(cwd: &TempDir, policy: &Path, needles: &[String]) -> Output {
    let out = run_with(
        Some(policy.to_str().expect("utf-8 path")),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 125, "a bad policy must give 125:\n{}", show(&out));
    assert!(
        !cwd.join("marker").exists(),
        "the program ran despite the bad policy:\n{}",
        show(&out)
    );
    for n in needles {
        assert!(
            out.stderr.contains(n.as_str()),
            "stderr should contain {n:?}:\n{}",
            show(&out)
        );
    }
    assert!(
        out.stderr.lines().all(|l| l.starts_with("fdsup:")),
        "fdsup's diagnostics are prefixed 'fdsup:':\n{}",
        show(&out)
    );
    out
}

/// Asserts that stderr holds `PATH:LINE:COL` with the given line and some
/// column.
#[track_caller]
fn assert_located(out: &Output, policy: &Path, line: u32) {
    let prefix = format!("{}:{line}:", policy.display());
    let located = out.stderr.match_indices(&prefix).any(|(i, _)| {
        out.stderr[i + prefix.len()..]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_digit())
    });
    assert!(
        located,
        "stderr should locate the error as {prefix}COL:\n{}",
        show(out)
    );
}

/// One bad policy: its text, the line of the error, and words the message
/// must contain.
fn case(name: &str, json: &str, line: u32, needles: &[&str]) {
    let cwd = TempDir::new("fn-badpol");
    let pdir = TempDir::new("fn-badpol-policy");
    let p = write_policy(pdir.path(), &format!("{name}.json"), json);
    let needles: Vec<String> = needles.iter().map(ToString::to_string).collect();
    let out = assert_refused(&cwd, &p, &needles);
    assert_located(&out, &p, line);

    // `fdsup check` reports the same error with exit 1.
    let chk = fdsup_run(["check", p.to_str().expect("utf-8")], cwd.path());
    assert_eq!(chk.code, 1, "check of a bad policy:\n{}", show(&chk));
    assert_located(&chk, &p, line);
}

#[test]
fn unknown_field() {
    case(
        "unknown-field",
        r#"{
  "version": 1,
  "filesystem": {
    "rules": [
      { "path": "/usr", "access": "ro", "acess": "rw" }
    ]
  }
}"#,
        5,
        &["acess"],
    );
}

#[test]
fn unknown_top_level_field() {
    case(
        "unknown-top",
        r#"{
  "version": 1,
  "filesytem": {}
}"#,
        3,
        &["filesytem"],
    );
}

#[test]
fn duplicate_key() {
    case(
        "duplicate-key",
        r#"{
  "version": 1,
  "filesystem": {
    "default": "deny",
    "default": "rw"
  }
}"#,
        5,
        &["default", "duplicate"],
    );
}

#[test]
fn wrong_type() {
    case(
        "wrong-type",
        r#"{
  "version": 1,
  "filesystem": {
    "rules": [
      { "path": 42, "access": "ro" }
    ]
  }
}"#,
        5,
        &["path"],
    );
}

#[test]
fn wrong_type_version_string() {
    case(
        "version-string",
        r#"{
  "version": "1"
}"#,
        2,
        &["version"],
    );
}

#[test]
fn bad_access_value() {
    case(
        "bad-access",
        r#"{
  "version": 1,
  "filesystem": {
    "rules": [
      { "path": "/usr", "access": "ro" },
      { "path": "/opt", "access": "readonly" }
    ]
  }
}"#,
        6,
        &["access", "readonly"],
    );
}

#[test]
fn bad_default_value() {
    case(
        "bad-default",
        r#"{
  "version": 1,
  "filesystem": {
    "default": "allow"
  }
}"#,
        4,
        &["default", "allow"],
    );
}

#[test]
fn unknown_variable() {
    case(
        "unknown-variable",
        r#"{
  "version": 1,
  "filesystem": {
    "rules": [
      { "path": "${CWD}", "access": "rw" },
      { "path": "${PROJECT}/build", "access": "rw" }
    ]
  }
}"#,
        6,
        &["PROJECT"],
    );
}

#[test]
fn missing_version() {
    case(
        "missing-version",
        r#"{
  "include": ["@default"]
}"#,
        1,
        &["version"],
    );
}

#[test]
fn unsupported_version() {
    case(
        "version-2",
        r#"{
  "version": 2
}"#,
        2,
        &["version"],
    );
}

#[test]
fn json_syntax_error() {
    case(
        "syntax",
        r#"{
  "version": 1,
  "include": ["@default"],
}"#,
        4,
        &[],
    );
}

#[test]
fn unknown_embedded_policy() {
    case(
        "unknown-embedded",
        r#"{
  "version": 1,
  "include": ["@default", "@everything"]
}"#,
        3,
        &["@everything"],
    );
}

#[test]
fn include_cycle() {
    let cwd = TempDir::new("fn-badpol-cycle");
    let pdir = TempDir::new("fn-badpol-cycle-policy");
    let a = write_policy(
        pdir.path(),
        "a.json",
        "{\n  \"version\": 1,\n  \"include\": [\"@system\", \"b.json\"]\n}\n",
    );
    write_policy(
        pdir.path(),
        "b.json",
        "{\n  \"version\": 1,\n  \"include\": [\"a.json\"]\n}\n",
    );
    let out = assert_refused(&cwd, &a, &["cycle".to_string()]);
    // Either end of the cycle may be the place named; it is located.
    let b = pdir.join("b.json");
    let named_b = out.stderr.contains(&format!("{}:3:", b.display()));
    let named_a = out.stderr.contains(&format!("{}:3:", a.display()));
    assert!(
        named_a || named_b,
        "the cycle should be located at the include entry:\n{}",
        show(&out)
    );
    let chk = fdsup_run(["check", a.to_str().expect("utf-8")], cwd.path());
    assert_eq!(chk.code, 1, "{}", show(&chk));
    assert!(chk.stderr.contains("cycle"), "{}", show(&chk));
}

#[test]
fn self_include() {
    let cwd = TempDir::new("fn-badpol-self");
    let pdir = TempDir::new("fn-badpol-self-policy");
    let a = write_policy(
        pdir.path(),
        "self.json",
        "{\n  \"version\": 1,\n  \"include\": [\"./self.json\"]\n}\n",
    );
    let out = assert_refused(&cwd, &a, &["cycle".to_string()]);
    assert_located(&out, &a, 3);
}

#[test]
fn missing_include_file() {
    let cwd = TempDir::new("fn-badpol-missing");
    let pdir = TempDir::new("fn-badpol-missing-policy");
    let p = write_policy(
        pdir.path(),
        "main.json",
        "{\n  \"version\": 1,\n  \"include\": [\"@system\",\n    \"not-there.json\"]\n}\n",
    );
    let out = assert_refused(&cwd, &p, &["not-there.json".to_string()]);
    assert_located(&out, &p, 4);
}

#[test]
fn error_inside_an_included_file_names_that_file() {
    let cwd = TempDir::new("fn-badpol-inner");
    let pdir = TempDir::new("fn-badpol-inner-policy");
    std::fs::create_dir(pdir.join("sub")).expect("mkdir");
    let main = write_policy(
        pdir.path(),
        "main.json",
        "{\n  \"version\": 1,\n  \"include\": [\"sub/inner.json\"]\n}\n",
    );
    let inner = write_policy(
        &pdir.join("sub"),
        "inner.json",
        "{\n  \"version\": 1,\n  \"filesystem\": {\n    \"rules\": [ { \"path\": \"/usr\", \"access\": \"r\" } ]\n  }\n}\n",
    );
    let out = assert_refused(&cwd, &main, &["access".to_string()]);
    assert_located(&out, &inner, 4);
}

#[test]
fn policy_file_missing() {
    let cwd = TempDir::new("fn-badpol-nofile");
    let p = cwd.join("no-such-policy.json");
    assert_refused(&cwd, &p, &["no-such-policy.json".to_string()]);
}

#[test]
fn unknown_embedded_name_on_command_line() {
    let cwd = TempDir::new("fn-badpol-atname");
    let out = run_with(
        Some("@nonsense"),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 125, "{}", show(&out));
    assert!(out.stderr.contains("@nonsense"), "{}", show(&out));
    assert!(!cwd.join("marker").exists());
}

/// Network rules and `isolate` are enforced (tests/tests/functional_network.rs),
/// so a policy with them runs the program.
#[test]
fn network_rules_are_accepted() {
    let cwd = TempDir::new("fn-badpol-net");
    let pdir = TempDir::new("fn-badpol-net-policy");
    let p = write_policy(
        pdir.path(),
        "net.json",
        r#"{
  "version": 1,
  "include": ["@default", "@network-loopback"],
  "network": {
    "default": "deny",
    "rules": [ { "connect": "127.0.0.1:8080" } ]
  }
}"#,
    );
    let out = run_with(
        Some(p.to_str().expect("utf-8")),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(cwd.join("marker").exists());
}

/// Exec rules are enforced now (with Landlock: `functional_exec.rs`), no
/// longer refused with 125.
#[test]
fn exec_rules_are_enforced_not_refused() {
    let cwd = TempDir::new("fn-badpol-exec");
    let pdir = TempDir::new("fn-badpol-exec-policy");
    let p = write_policy(
        pdir.path(),
        "exec.json",
        r#"{
  "version": 1,
  "include": ["@default"],
  "exec": { "default": "allow", "rules": [ { "path": "/usr/bin/sudo", "access": "deny" } ] }
}"#,
    );
    let out = run_with(
        Some(p.to_str().expect("utf-8")),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(cwd.join("marker").exists(), "{}", show(&out));
}

/// Positive control for the refusals above: the same program runs, and a
/// `comment` anywhere and `$schema` at the top are accepted, as is an
/// include relative to the including file.
#[test]
fn good_policy_runs_the_program() {
    let cwd = TempDir::new("fn-goodpol");
    let pdir = TempDir::new("fn-goodpol-policy");
    std::fs::create_dir(pdir.join("parts")).expect("mkdir");
    write_policy(
        &pdir.join("parts"),
        "base.json",
        r#"{ "version": 1, "comment": "base", "include": ["@system"] }"#,
    );
    let p = write_policy(
        pdir.path(),
        "good.json",
        r#"{
  "$schema": "https://example.invalid/fdsup-policy.json",
  "version": 1,
  "comment": "a good policy",
  "include": ["parts/base.json"],
  "filesystem": {
    "comment": "the project",
    "default": "deny",
    "rules": [ { "path": "${CWD}", "access": "rw", "comment": "here" } ]
  },
  "network": { "default": "deny", "comment": "none" },
  "exec": { "default": "allow" },
  "log": { "denied": true, "allowed": false, "comment": "quiet" }
}"#,
    );
    let out = run_with(
        Some(p.to_str().expect("utf-8")),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(
        std::fs::read_to_string(cwd.join("marker")).expect("marker"),
        "ran\n"
    );
}

#[test]
fn check_prints_rules_with_origins() {
    let cwd = TempDir::new("fn-check");
    let pdir = TempDir::new("fn-check-policy");
    let p = write_policy(
        pdir.path(),
        "check.json",
        r#"{
  "version": 1,
  "include": ["@system"],
  "filesystem": {
    "default": "deny",
    "rules": [
      { "path": "${CWD}", "access": "rw" },
      { "path": "${CWD}/secret", "access": "hide" }
    ]
  }
}"#,
    );
    let out = fdsup_run(["check", p.to_str().expect("utf-8")], cwd.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    let cwd_s = cwd.path().display().to_string();
    let rule_line = |origin: &str, path: &str, access: &str| {
        out.stdout.lines().any(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            words.iter().any(|w| w.ends_with(origin))
                && words.contains(&path)
                && words.contains(&access)
        })
    };
    assert!(
        rule_line("check.json:7", &cwd_s, "rw"),
        "the ${{CWD}} rule with origin check.json:7:\n{}",
        show(&out)
    );
    assert!(
        rule_line("check.json:8", &format!("{cwd_s}/secret"), "hide"),
        "the hide rule with origin check.json:8:\n{}",
        show(&out)
    );
    assert!(
        out.stdout
            .lines()
            .any(|l| l.contains("@system:") && l.contains("/etc/shadow") && l.contains("hide")),
        "@system's rules with their origins:\n{}",
        show(&out)
    );
    // Included rules come first: @system's before the file's own.
    let first_own = out.stdout.find("check.json:").expect("own rules");
    let last_system = out.stdout.rfind("@system:").expect("system rules");
    assert!(
        last_system < first_own,
        "included rules come first:\n{}",
        out.stdout
    );
}

#[test]
fn check_accepts_embedded_names() {
    let cwd = TempDir::new("fn-check-embedded");
    for name in ["@system", "@default", "@allow-all"] {
        let out = fdsup_run(["check", name], cwd.path());
        assert_eq!(out.code, 0, "check {name}:\n{}", show(&out));
        assert!(!out.stdout.is_empty(), "check {name} printed nothing");
    }
}

/// Issue 15.6: `@network-loopback` is a part to include (network rules
/// only; alone its file-system default would refuse the program itself).
/// Run alone it is refused before anything starts, with exit 125 and a
/// message that says how to include it; included after `@default`, the
/// same program runs (the positive control).
#[test]
fn include_only_embedded_policy_is_refused_alone() {
    let cwd = TempDir::new("fn-badpol-inconly");
    {
        let name = "@network-loopback";
        let out = run_with(
            Some(name),
            cwd.path(),
            &["/bin/sh", "-c", "echo ran > marker"],
        );
        assert_eq!(out.code, 125, "{name}: {}", show(&out));
        assert!(!cwd.join("marker").exists(), "{name}: {}", show(&out));
        for needle in ["@network-loopback", "meant to be included", "\"@default\""] {
            assert!(
                out.stderr.contains(needle),
                "{name}: {needle:?} in\n{}",
                show(&out)
            );
        }
    }
    let pdir = TempDir::new("fn-badpol-inconly-policy");
    let p = write_policy(
        pdir.path(),
        "loopback.json",
        r#"{ "version": 1, "include": ["@default", "@network-loopback"] }"#,
    );
    let out = run_with(
        Some(p.to_str().expect("utf-8")),
        cwd.path(),
        &["/bin/sh", "-c", "echo ran > marker"],
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(cwd.join("marker").exists(), "{}", show(&out));
    // Every other embedded policy runs a program alone.
    for name in ["@default", "@system", "@allow-all"] {
        let out = run_with(Some(name), cwd.path(), &["/bin/true"]);
        assert_eq!(out.code, 0, "{name}: {}", show(&out));
    }
}

/// Runs `fdsup ARGS` in `cwd`, killing it after ten seconds: `None` if it
/// was still running (it hung).
fn run_bounded(args: &[&str], cwd: &Path) -> Option<(i32, String)> {
    let mut child = fdsup_cmd(args, cwd)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn fdsup");
    match wait_timeout(&mut child, std::time::Duration::from_secs(10)) {
        Some(st) => {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            Some((st.code().unwrap_or(-1), err))
        }
        None => {
            let _ = child.kill();
            let _ = child.wait();
            None
        }
    }
}

/// An include names a FIFO nobody writes to, a character device or a
/// directory: a clear error located at the include, never a hang (opening
/// a FIFO for reading waits for a writer) nor a read without end. A named
/// FIFO on the command line (nobody writing) is an empty policy, refused,
/// while a pipe with a policy in it (`--policy <(cat p.json)`) works.
#[test]
fn include_of_a_fifo_or_device_is_refused_without_hanging() {
    let cwd = TempDir::new("fn-badpol-fifo");
    let pdir = TempDir::new("fn-badpol-fifo-policy");
    let fifo = pdir.join("f.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for (name, target) in [
        ("fifo.json", "f.fifo"),
        ("zero.json", "/dev/zero"),
        ("null.json", "/dev/null"),
        ("dir.json", "."),
    ] {
        let p = write_policy(
            pdir.path(),
            name,
            &format!(
                "{{\n  \"version\": 1,\n  \"include\": [\"@system\",\n    \"{target}\"]\n}}\n"
            ),
        );
        let ps = p.to_str().expect("utf-8");
        let Some((code, err)) = run_bounded(&["check", ps], cwd.path()) else {
            panic!("fdsup check hung on an include of {target}");
        };
        assert_eq!(code, 1, "include of {target}: {err}");
        assert!(
            err.contains(&format!("{ps}:4:5: include[1]: ")) && err.contains("not a regular file"),
            "include of {target} should be refused at it: {err}"
        );
        let Some((code, err)) =
            run_bounded(&["run", "--policy", ps, "--", "/bin/true"], cwd.path())
        else {
            panic!("fdsup run hung on an include of {target}");
        };
        assert_eq!(code, 125, "include of {target}: {err}");
    }
    // The FIFO itself on the command line, nobody writing: an empty file.
    let Some((code, err)) = run_bounded(&["check", fifo.to_str().expect("utf-8")], cwd.path())
    else {
        panic!("fdsup check hung on a FIFO nobody writes to");
    };
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("expected a JSON value"), "{err}");
    // A pipe with a policy in it is read.
    let out = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg("echo '{\"version\": 1}' | \"$0\" check /dev/stdin")
        .arg(fdsup())
        .output()
        .expect("sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

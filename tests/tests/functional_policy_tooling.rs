//! The policy tooling around `fdsup run`: `fdsup check` warnings (rules
//! that can never win, paths that do not exist) and its located errors,
//! `fdsup explain` for reads, writes, execs and connects, and the manual
//! pages and completions generated from the command line
//! (`scripts/install-docs`).

mod functional_common;

use functional_common::*;
use std::process::Command;

#[test]
fn check_warns_about_rules_that_never_win_and_missing_paths() {
    let t = TempDir::new("tool-check");
    let p = write_policy(
        t.path(),
        "p.json",
        r#"{
  "version": 1,
  "include": ["@system"],
  "filesystem": {
    "rules": [
      { "path": "${CWD}/build", "access": "ro" },
      { "path": "${CWD}", "access": "rw" },
      { "path": "${CWD}/missing", "access": "ro" },
      { "path": "/etc", "access": "ro" }
    ]
  }
}
"#,
    );
    let out = fdsup_run(["check", p.to_str().unwrap()], t.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    let file = p.to_str().unwrap();
    let has = |s: &str| out.stdout.lines().any(|l| l.contains(s));
    assert!(
        has(&format!(
            "warning: {file}:6: {}/build can never win: the later rule at {file}:7",
            t.path().display()
        )),
        "{}",
        show(&out)
    );
    assert!(
        has(&format!(
            "warning: {file}:8: {}/missing does not exist (yet)",
            t.path().display()
        )),
        "{}",
        show(&out)
    );
    // This file's /etc uncovers what @system hides in it.
    assert!(
        has("warning: @system:15: /etc/shadow can never win"),
        "{}",
        show(&out)
    );
    // The rules themselves are still listed with their origins.
    assert!(has(&format!("{file}:7")), "{}", show(&out));

    // A bad policy: exit 1 and a located error, as before.
    let bad = write_policy(t.path(), "bad.json", "{ \"version\": 1, \"filesystem\": { \"rules\": [ { \"path\": \"/x\", \"access\": \"rx\" } ] } }\n");
    let out = fdsup_run(["check", bad.to_str().unwrap()], t.path());
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(out.stderr.contains("bad.json:1:"), "{}", show(&out));
    assert!(
        out.stderr.contains("filesystem.rules[0].access"),
        "{}",
        show(&out)
    );
}

#[test]
fn explain_names_the_deciding_rule_and_why() {
    let t = TempDir::new("tool-explain");
    let policy = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/git.json");
    let out = fdsup_run(
        [
            "explain",
            "--policy",
            policy,
            ".git/hooks/pre-commit",
            "--write",
        ],
        t.path(),
    );
    assert_eq!(out.code, 1, "refused: exit 1\n{}", show(&out));
    let want = [
        format!(
            "request: write {}/.git/hooks/pre-commit",
            t.path().display()
        ),
        "metadata: visible".to_owned(),
        "decided by: ".to_owned() + policy + ":12",
        "why: Hooks run the next time git runs".to_owned(),
        "result: refused (EACCES)".to_owned(),
        "also matching, but earlier".to_owned(),
    ];
    for w in &want {
        assert!(
            out.stdout.contains(w.as_str()),
            "missing {w:?}\n{}",
            show(&out)
        );
    }

    // Refused: exit 1, as test(1) says false.
    let out = fdsup_run(["explain", "--policy", "@default", "/etc/shadow"], t.path());
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(
        out.stdout.contains("result: refused (ENOENT)"),
        "{}",
        show(&out)
    );

    // A look: decided by the rules in policy mode (@default's), answered
    // by the kernel in visible mode, with what an open would get.
    let out = fdsup_run(
        ["explain", "--policy", "@default", "--look", "/etc/shadow"],
        t.path(),
    );
    assert_eq!(out.code, 1, "{}", show(&out));
    for w in ["metadata: policy", "result: refused (ENOENT)"] {
        assert!(out.stdout.contains(w), "missing {w:?}\n{}", show(&out));
    }
    let out = fdsup_run(
        [
            "explain",
            "--policy",
            "@default",
            "--metadata",
            "visible",
            "--look",
            "/etc/shadow",
        ],
        t.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    for w in [
        "metadata: visible",
        "decided by: the kernel (metadata: visible)",
        "result: answered by the kernel",
        "an open of it is still decided by the rules",
        "  result: refused (ENOENT)",
    ] {
        assert!(out.stdout.contains(w), "missing {w:?}\n{}", show(&out));
    }
    let out = fdsup_run(
        ["explain", "--policy", "@default", "--metadata", "seen", "/"],
        t.path(),
    );
    assert_ne!(out.code, 0, "{}", show(&out));

    let out = fdsup_run(
        ["explain", "--policy", "@default", "/usr/bin/sh", "--exec"],
        t.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        out.stdout.contains("result: allowed (ro)"),
        "{}",
        show(&out)
    );
    assert!(out.stdout.contains("exec: allow"), "{}", show(&out));
    let out = fdsup_run(
        ["explain", "--policy", "@default", "/etc/passwd", "--write"],
        t.path(),
    );
    assert_eq!(out.code, 1, "{}", show(&out));
    let out = fdsup_run(
        [
            "explain",
            "--policy",
            "@default",
            "--connect",
            "192.0.2.1:80",
        ],
        t.path(),
    );
    assert_eq!(out.code, 1, "{}", show(&out));
    assert!(out.stdout.contains("result: refused"), "{}", show(&out));

    let out = fdsup_run(
        [
            "explain",
            "--policy",
            "@network-loopback",
            "--connect",
            "127.0.0.1:5432",
        ],
        t.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(out.stdout.contains("result: allowed"), "{}", show(&out));
    assert!(
        out.stdout
            .contains("why: Connect to IPv4 loopback services."),
        "{}",
        show(&out)
    );

    // Could not tell: exit 2.
    let out = fdsup_run(["explain", "--policy", "nope.json", "/x"], t.path());
    assert_eq!(out.code, 2, "{}", show(&out));
    assert!(out.stderr.starts_with("fdsup: nope.json"), "{}", show(&out));
}

#[test]
fn man_pages_and_completions_install_with_the_documented_command() {
    let prefix = TempDir::new("tool-docs");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/install-docs");
    let out = run_cmd(
        Command::new("bash")
            .arg(script)
            .arg(prefix.path())
            .env("FDSUP", fdsup()),
        TIMEOUT,
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    for page in [
        "fdsup",
        "fdsup-run",
        "fdsup-check",
        "fdsup-explain",
        "fdsup-doctor",
    ] {
        let p = prefix.join(format!("share/man/man1/{page}.1"));
        let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert!(text.contains(".TH"), "{page}");
    }
    let run = std::fs::read_to_string(prefix.join("share/man/man1/fdsup-run.1")).unwrap();
    assert!(run.contains("learn"), "fdsup-run.1 lacks --learn");
    let bash =
        std::fs::read_to_string(prefix.join("share/bash-completion/completions/fdsup")).unwrap();
    assert!(
        bash.contains("--learn") && bash.contains("explain"),
        "{bash}"
    );
    let check = run_cmd(
        Command::new("bash")
            .arg("-n")
            .arg(prefix.join("share/bash-completion/completions/fdsup")),
        TIMEOUT,
    );
    assert_eq!(check.code, 0, "{}", show(&check));
    assert!(prefix.join("share/zsh/site-functions/_fdsup").exists());
    assert!(prefix
        .join("share/fish/vendor_completions.d/fdsup.fish")
        .exists());
}

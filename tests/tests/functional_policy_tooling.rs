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
    assert!(
        prefix.join("share/man/man5/fdsup-policy.5").exists(),
        "the policy format's page is installed in section 5"
    );
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

/// Issue 15.8: the manual pages are real pages. `man -l` renders each
/// without a warning from groff; fdsup(1) has the exit status, signals,
/// environment (`FDSUP_WORKERS`, `TMPDIR`), files and examples besides the
/// option lists; fdsup-policy(5) documents the whole format: every field
/// the JSON Schema knows appears in it. `fdsup man --page NAME` prints one.
#[test]
fn manual_pages_are_real_pages() {
    require("python3");
    let t = TempDir::new("tool-man");
    let out = fdsup_run(["man", t.path().to_str().expect("utf-8")], t.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    let page =
        |rel: &str| std::fs::read_to_string(t.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let groff_clean = |rel: &str| {
        let p = t.join(rel);
        let out = run_cmd(
            Command::new("sh")
                .arg("-c")
                .arg("groff -man -ww -z \"$1\" 2>&1; MANWIDTH=80 man -l \"$1\" 2>&1 >/dev/null")
                .arg("sh")
                .arg(&p),
            TIMEOUT,
        );
        assert_eq!(out.stdout, "", "{rel}: groff/man warnings:\n{}", out.stdout);
        let text = run_cmd(
            Command::new("man")
                .args(["-l", "-P", "cat"])
                .arg(&p)
                .env("MANWIDTH", "80"),
            TIMEOUT,
        );
        assert_eq!(text.code, 0, "{rel}: {}", show(&text));
        text.stdout
    };
    let main = groff_clean("man1/fdsup.1");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "SUBCOMMANDS",
        "RUN OPTIONS",
        "EXIT STATUS",
        "SIGNALS",
        "ENVIRONMENT",
        "FILES",
        "EXAMPLES",
        "SEE ALSO",
    ] {
        assert!(
            main.lines().any(|l| l == section),
            "fdsup(1) lacks the section {section}:\n{main}"
        );
    }
    for word in [
        "FDSUP_WORKERS",
        "TMPDIR",
        "125",
        "126",
        "127",
        "SIGINT",
        "SIGTSTP",
        "--learn",
        "--metadata",
    ] {
        assert!(main.contains(word), "fdsup(1) does not mention {word}");
    }
    for sub in ["run", "check", "explain", "doctor", "man", "completions"] {
        let rel = format!("man1/fdsup-{sub}.1");
        let text = groff_clean(&rel);
        assert!(text.contains("fdsup(1)"), "{rel} points to fdsup(1)");
    }
    let policy = groff_clean("man5/fdsup-policy.5");
    for section in [
        "NAME",
        "SYNOPSIS",
        "DESCRIPTION",
        "THE FILESYSTEM SECTION",
        "THE NETWORK SECTION",
        "THE EXEC SECTION",
        "THE LOG SECTION",
        "EMBEDDED POLICIES",
        "EXAMPLES",
    ] {
        assert!(
            policy.lines().any(|l| l == section),
            "fdsup-policy(5) lacks {section}"
        );
    }
    // Every field the schema has is documented.
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/schema.json");
    let fields = run_cmd(
        Command::new(PY).args([
            "-c",
            "import json,sys\nd=json.load(open(sys.argv[1]))\nout=set()\ndef walk(v):\n  if isinstance(v,dict):\n    for k,x in v.get('properties',{}).items(): out.add(k)\n    for x in v.values(): walk(x)\n  elif isinstance(v,list):\n    for x in v: walk(x)\nwalk(d)\nprint('\\n'.join(sorted(out)))",
            schema,
        ]),
        TIMEOUT,
    );
    assert_eq!(fields.code, 0, "{}", show(&fields));
    let fields: Vec<&str> = fields.stdout.lines().collect();
    assert!(fields.len() > 15, "{fields:?}");
    for f in fields {
        assert!(
            policy.contains(f),
            "fdsup-policy(5) does not document the field {f:?}"
        );
    }
    // One page on standard output, the default being fdsup(1).
    let out = fdsup_run(["man", "--page", "fdsup-policy"], t.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, page("man5/fdsup-policy.5"));
    let out = fdsup_run(["man"], t.path());
    assert_eq!(out.stdout, page("man1/fdsup.1"));
    let out = fdsup_run(["man", "--page", "nonsense"], t.path());
    assert_eq!(out.code, 1, "{}", show(&out));
}

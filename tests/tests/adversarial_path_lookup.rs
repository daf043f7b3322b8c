//! The program's `PATH` lookup follows what the sandboxed program can see
//! (issue 14, finding 8): an earlier `PATH` directory the policy hides or
//! denies is skipped for the next, as a shell inside the sandbox would skip
//! it. On 32f61e4 fdsup looked the name up outside the sandbox, took the
//! hidden one, and the run failed with 127 (hidden) or 126 (denied).
//!
//! Each hidden or denied directory holds a decoy of the same name that would
//! leave a marker file if it ever ran: it must not run, the real one must.
//! Positive control: without the rule the decoy, first in `PATH`, does run.

use std::path::Path;

use fdsup_tests::{run_cmd, Output, TempDir, TIMEOUT};

/// A scratch tree: `decoys/NAME` (a decoy that leaves `ran-decoy`),
/// `real/NAME` (prints REAL), and the policy with `rule` for `decoys`.
struct Lookup {
    dir: TempDir,
    name: &'static str,
}

impl Lookup {
    fn new(tag: &str, name: &'static str, real: bool) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let dir = TempDir::new(tag);
        let decoy = dir.write(
            &format!("decoys/{name}"),
            format!(
                "#!/bin/sh\necho DECOY\n: > '{}'\n",
                dir.join("ran-decoy").display()
            ),
        );
        let mut exes = vec![decoy];
        if real {
            exes.push(dir.write(&format!("real/{name}"), "#!/bin/sh\necho REAL\n"));
        }
        for p in exes {
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod +x");
        }
        Self { dir, name }
    }

    /// Runs `NAME ARGS...` under `@default` plus `access` on `decoys`
    /// (none: `@default` alone), with `PATH=decoys:real:/usr/bin:/bin`.
    fn run(&self, access: Option<&str>, args: &[&str]) -> Output {
        let rules = match access {
            Some(a) => format!(
                r#"{{ "path": "{}", "access": "{a}" }}"#,
                self.dir.join("decoys").display()
            ),
            None => String::new(),
        };
        let policy = self.dir.write(
            "policy.json",
            format!(
                r#"{{ "version": 1, "include": ["@default"], "filesystem": {{ "rules": [ {rules} ] }} }}"#
            ),
        );
        let path = format!(
            "{}:{}:/usr/bin:/bin",
            self.dir.join("decoys").display(),
            self.dir.join("real").display()
        );
        let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], self.dir.path());
        c.arg(&policy)
            .arg("--")
            .arg(self.name)
            .args(args)
            .env("PATH", path);
        run_cmd(&mut c, TIMEOUT)
    }

    fn decoy_ran(&self) -> bool {
        Path::new(&self.dir.join("ran-decoy")).exists()
    }

    fn forget_decoy(&self) {
        let _ = std::fs::remove_file(self.dir.join("ran-decoy"));
    }
}

/// `python3` with a hidden directory holding a decoy `python3` before
/// `/usr/bin` (the issue's `~/.pyenv/shims` under `@default`).
#[test]
fn a_hidden_path_entry_is_skipped_for_the_next() {
    let l = Lookup::new("path-hidden", "python3", false);
    let args = ["-c", "print('REAL')"];
    // Positive control: the decoy is first in PATH and runs if visible.
    let out = l.run(None, &args);
    out.expect_code(0);
    assert_eq!(
        out.stdout, "DECOY\n",
        "positive control: the decoy runs when visible"
    );
    assert!(
        l.decoy_ran(),
        "positive control: the decoy leaves its marker"
    );
    l.forget_decoy();

    let out = l.run(Some("hide"), &args);
    assert!(
        !l.decoy_ran(),
        "the hidden decoy ran; stdout:\n{}",
        out.stdout
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "REAL\n", "the real python3 must run");
}

/// A denied directory holding a decoy before the real program.
#[test]
fn a_denied_path_entry_is_skipped_for_the_next() {
    let l = Lookup::new("path-denied", "fdsup-path-tool", true);
    let out = l.run(None, &[]);
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "DECOY\n"),
        "positive control: the decoy runs when visible; stderr:\n{}",
        out.stderr
    );
    l.forget_decoy();

    let out = l.run(Some("deny"), &[]);
    assert!(
        !l.decoy_ran(),
        "the denied decoy ran; stdout:\n{}",
        out.stdout
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "REAL\n", "the real program must run");
}

/// With no real program after it, the status says what a shell in the
/// sandbox would say: hidden is "not found" (127), denied is "cannot be
/// executed" (126); the decoy never runs.
#[test]
fn nothing_visible_to_run_is_127_or_126() {
    let l = Lookup::new("path-none", "fdsup-path-tool", false);
    let out = l.run(Some("hide"), &[]);
    out.expect_code(127);
    assert!(out.stderr.contains("command not found"), "{}", out.stderr);
    let out = l.run(Some("deny"), &[]);
    out.expect_code(126);
    assert!(!l.decoy_ran(), "the decoy ran");
}

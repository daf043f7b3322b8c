//! Details of the command line a new user meets (issue 15.9): `-v` says
//! each refusal once, a bad `FDSUP_WORKERS` is refused before anything
//! runs, and the subcommands that print survive a reader that goes away
//! (`| head`).

mod functional_common;

use functional_common::*;
use std::process::{Command, Stdio};

/// `-v` prints a refusal once per kind and directory: three shells that
/// run the same command, each `PATH` search probing the same
/// hidden directory, shows one line for it, and says at the end how many
/// repeats it left out. The log still has every one (the control: the
/// probes happened).
#[test]
fn verbose_says_each_refusal_once() {
    let cwd = TempDir::new("cli-verbose");
    let hidden = TempDir::new("cli-verbose-hidden-bin");
    std::fs::write(hidden.join("placeholder"), "").expect("write");
    let path = format!("{}:/usr/bin:/bin", hidden.path().display());
    let log = cwd.join("log.jsonl");
    let out = run_cmd(
        fdsup_cmd(
            [
                "run",
                "-v",
                "--log",
                log.to_str().expect("utf-8"),
                "--",
                "/bin/sh",
                "-c",
                "for i in 1 2 3; do sh -c 'ls >/dev/null'; done; cat /etc/shadow; cat /etc/shadow; echo done",
            ],
            cwd.path(),
        )
        .env("PATH", &path)
        // The hidden directory lies in the system's temporary directory:
        // the sandbox's $TMPDIR is elsewhere, so it is hidden.
        .env("TMPDIR", cwd.path())
        .env_remove("LD_LIBRARY_PATH"),
        TIMEOUT,
    );
    out.expect_code(0);
    assert!(out.stdout.contains("done"), "{}", show(&out));
    let probe = format!("{}/ls", hidden.path().display());
    let count = |needle: &str| out.stderr.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(
        count(&format!(
            "fdsup: hide newfstatat {}/",
            hidden.path().display()
        )),
        1,
        "one line for the hidden PATH directory\n{}",
        show(&out)
    );
    assert_eq!(
        count("fdsup: hide openat /etc/shadow "),
        1,
        "one line for the repeated refusal\n{}",
        show(&out)
    );
    assert!(
        out.stderr.contains("more refusals like those shown above"),
        "the repeats are counted\n{}",
        show(&out)
    );
    let logged = std::fs::read_to_string(&log).expect("log");
    let probes = logged
        .lines()
        .filter(|l| l.contains(&format!("\"path\":\"{probe}\"")))
        .count();
    assert!(probes >= 3, "the log keeps every refusal:\n{logged}");
    assert_eq!(
        logged
            .lines()
            .filter(|l| l.contains("\"path\":\"/etc/shadow\""))
            .count(),
        2,
        "{logged}"
    );
}

/// `FDSUP_WORKERS` that is not a number from 1 to 64 is refused with exit
/// 125 and a message naming it, before the program runs; a good value and
/// an empty one run it.
#[test]
fn bad_worker_count_is_refused() {
    let cwd = TempDir::new("cli-workers");
    for bad in ["abc", "0", "65", "-3", "2x"] {
        let out = run_cmd(
            fdsup_cmd(
                ["run", "--", "/bin/sh", "-c", "echo ran > marker"],
                cwd.path(),
            )
            .env("FDSUP_WORKERS", bad),
            TIMEOUT,
        );
        assert_eq!(out.code, 125, "FDSUP_WORKERS={bad}\n{}", show(&out));
        assert!(
            out.stderr.contains(&format!("FDSUP_WORKERS=\"{bad}\""))
                && out.stderr.contains("1 to 64"),
            "{}",
            show(&out)
        );
        assert!(
            !cwd.join("marker").exists(),
            "FDSUP_WORKERS={bad}: the program ran"
        );
    }
    for good in ["1", "7", ""] {
        let out = run_cmd(
            fdsup_cmd(["run", "--", "/bin/echo", "ran"], cwd.path()).env("FDSUP_WORKERS", good),
            TIMEOUT,
        );
        out.expect_code(0);
        assert_eq!(out.stdout, "ran\n", "FDSUP_WORKERS={good:?}");
    }
}

/// The printing subcommands write to a pipe whose reader has gone
/// (`| head -1`) without a panic or an error message.
#[test]
fn printing_subcommands_survive_a_closed_pipe() {
    let cwd = TempDir::new("cli-pipe");
    for args in [
        "check @default",
        "explain --policy @default /etc/passwd",
        "man",
        "completions bash",
        "completions zsh",
        "doctor",
        "--help",
    ] {
        let script = format!(
            "'{}' {args} | head -c 1 >/dev/null; echo \"status=${{PIPESTATUS[0]}}\"",
            fdsup().display()
        );
        let out = run_cmd(
            Command::new("bash")
                .arg("-c")
                .arg(&script)
                .current_dir(cwd.path())
                .stdin(Stdio::null()),
            TIMEOUT,
        );
        out.expect_code(0);
        assert!(
            !out.stderr.contains("panicked") && !out.stderr.contains("Broken pipe"),
            "fdsup {args} | head:\n{}",
            show(&out)
        );
        // A reader that leaves early may or may not beat the writer; either
        // way fdsup ends by its own status, never by a panic (101).
        assert!(
            out.stdout.contains("status=0") || out.stdout.contains("status=1"),
            "fdsup {args} | head:\n{}",
            show(&out)
        );
    }
}

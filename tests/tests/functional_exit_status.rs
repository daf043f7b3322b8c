//! Exit statuses (SPEC.md "Exit status"): the program's own, 128+N for a
//! signal death, 127 for a program not found, 126 for one found but not
//! executable, 0 for --help and --version; PROGRAM is looked up in PATH as a
//! shell would.

mod functional_common;

use functional_common::*;
use std::os::unix::fs::PermissionsExt;

fn sh(cwd: &TempDir, script: &str) -> Output {
    run_with(None, cwd.path(), &["/bin/sh", "-c", script])
}

#[test]
fn the_programs_own_status() {
    let cwd = TempDir::new("fn-exit-own");
    for code in [0, 1, 7, 42, 125, 126, 127, 255] {
        let out = sh(&cwd, &format!("exit {code}"));
        assert_eq!(out.code, code, "sh -c 'exit {code}':\n{}", show(&out));
        assert_eq!(
            out.stderr,
            "",
            "fdsup adds nothing on a normal run:\n{}",
            show(&out)
        );
    }
    let out = run_with(None, cwd.path(), &["/bin/false"]);
    assert_eq!(out.code, 1, "{}", show(&out));
}

#[test]
fn killed_by_a_signal_is_128_plus_n() {
    let cwd = TempDir::new("fn-exit-signal");
    for (sig, n) in [
        ("TERM", 15),
        ("KILL", 9),
        ("INT", 2),
        ("HUP", 1),
        ("USR1", 10),
    ] {
        let out = sh(&cwd, &format!("kill -{sig} $$; sleep 5"));
        assert_eq!(
            out.code,
            128 + n,
            "sh killing itself with SIG{sig}:\n{}",
            show(&out)
        );
    }
    // A core-dumping signal, raised by the kernel.
    let out = run_with(
        None,
        cwd.path(),
        &[PY, "-c", "import ctypes; ctypes.string_at(0)"],
    );
    assert_eq!(out.code, 128 + 11, "a segfaulting python3:\n{}", show(&out));
}

#[test]
fn missing_program_is_127() {
    let cwd = TempDir::new("fn-exit-missing");
    for prog in [
        "fdsup-test-no-such-program",
        "./no-such-file",
        "/no/such/path",
    ] {
        let out = run_with(None, cwd.path(), &[prog]);
        assert_eq!(out.code, 127, "{prog}:\n{}", show(&out));
        assert!(
            out.stderr.contains(prog.trim_start_matches("./")),
            "the error should name {prog}:\n{}",
            show(&out)
        );
        assert!(
            out.stderr.lines().all(|l| l.starts_with("fdsup:")),
            "fdsup's diagnostics are prefixed:\n{}",
            show(&out)
        );
    }
}

#[test]
fn non_executable_is_126() {
    let cwd = TempDir::new("fn-exit-noexec");
    let f = cwd.write("script", "#!/bin/sh\necho should not run > ran\n");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::create_dir(cwd.join("adir")).expect("mkdir");
    for prog in ["./script", "./adir"] {
        let out = run_with(None, cwd.path(), &[prog]);
        assert_eq!(out.code, 126, "{prog}:\n{}", show(&out));
        assert!(
            out.stderr.contains(prog.trim_start_matches("./")),
            "the error should name {prog}:\n{}",
            show(&out)
        );
    }
    assert!(!cwd.join("ran").exists());
    // The same as natively (sh reports 126 too).
    let nat = native(cwd.path(), &["/bin/sh", "-c", "./script"]);
    assert_eq!(nat.code, 126, "native sh: {}", show(&nat));
}

#[test]
fn help_and_version_exit_0() {
    let cwd = TempDir::new("fn-exit-help");
    let out = fdsup_run(["--help"], cwd.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    for word in ["run", "check", "doctor"] {
        assert!(
            out.stdout.contains(word),
            "--help should mention {word}:\n{}",
            show(&out)
        );
    }
    let out = fdsup_run(["--version"], cwd.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(out.stdout.starts_with("fdsup "), "{}", show(&out));
    assert!(
        out.stdout
            .trim()
            .split(' ')
            .nth(1)
            .is_some_and(|v| v.split('.').all(|n| n.parse::<u32>().is_ok())),
        "--version prints 'fdsup X.Y.Z':\n{}",
        show(&out)
    );
    let out = fdsup_run(["run", "--help"], cwd.path());
    assert_eq!(out.code, 0, "{}", show(&out));
}

#[test]
fn usage_errors_are_125_and_start_nothing() {
    let cwd = TempDir::new("fn-exit-usage");
    let out = fdsup_run(["run"], cwd.path());
    assert_eq!(out.code, 125, "run without a program:\n{}", show(&out));
    let out = fdsup_run(["no-such-subcommand"], cwd.path());
    assert_eq!(out.code, 125, "unknown subcommand:\n{}", show(&out));
    let out = fdsup_run(["run", "--policy"], cwd.path());
    assert_eq!(out.code, 125, "--policy without a value:\n{}", show(&out));
    // --metadata takes visible or policy, nothing else (the strictness of
    // the policy field it overrides). Not through fdsup_cmd, which may add
    // a --metadata of its own.
    for bad in ["Visible", "native", ""] {
        let mut c = std::process::Command::new(fdsup());
        c.args([
            "run",
            "--metadata",
            bad,
            "--",
            "/bin/sh",
            "-c",
            "echo ran > marker",
        ])
        .current_dir(cwd.path());
        let out = run_cmd(&mut c, TIMEOUT);
        assert_eq!(out.code, 125, "--metadata {bad:?}:\n{}", show(&out));
        assert!(out.stderr.contains("--metadata"), "{}", show(&out));
        assert!(!cwd.join("marker").exists());
    }
}

/// A mistyped option before `--` is a usage error, not a program name.
#[test]
fn unknown_option_before_dashdash_is_a_usage_error() {
    let cwd = TempDir::new("fn-exit-usage-opt");
    let out = fdsup_run(
        [
            "run",
            "--no-such-option",
            "--",
            "/bin/sh",
            "-c",
            "echo ran > marker",
        ],
        cwd.path(),
    );
    assert_eq!(out.code, 125, "unknown option:\n{}", show(&out));
    assert!(!cwd.join("marker").exists());
}

#[test]
fn program_is_looked_up_in_path() {
    let cwd = TempDir::new("fn-exit-path");
    // Earlier in PATH: a non-executable file of the same name, which a
    // shell skips; later: the real one.
    let a = cwd.write("a/hello-fdsup", "#!/bin/sh\necho from a\n");
    std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let b = cwd.write("b/hello-fdsup", "#!/bin/sh\necho from b \"$@\"\n");
    std::fs::set_permissions(&b, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}:{}",
        cwd.join("a").display(),
        cwd.join("b").display(),
        std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
    );
    let mut cmd = fdsup_cmd(["run", "--", "hello-fdsup", "x", "y"], cwd.path());
    cmd.env("PATH", &path);
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "from b x y\n", "{}", show(&out));

    // Natively, sh finds the same one.
    let mut nat = std::process::Command::new("/bin/sh");
    nat.args(["-c", "hello-fdsup x y"])
        .env("PATH", &path)
        .current_dir(cwd.path());
    assert_eq!(run_cmd(&mut nat, TIMEOUT).stdout, "from b x y\n");

    // Only the non-executable one: 126, as a shell says.
    let mut cmd = fdsup_cmd(["run", "--", "hello-fdsup"], cwd.path());
    cmd.env("PATH", cwd.join("a"));
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 126, "{}", show(&out));

    // An ordinary program by name.
    let out = run_with(None, cwd.path(), &["echo", "by", "name"]);
    assert_eq!(out.stdout, "by name\n", "{}", show(&out));
}

#[test]
fn arguments_and_environment_reach_the_program() {
    let cwd = TempDir::new("fn-exit-args");
    let args = [
        "printf", "[%s]\\n", "a b", "", "-v", "--", "--policy", "ünï",
    ];
    let out = run_with(None, cwd.path(), &args);
    let nat = native(cwd.path(), &args);
    assert_same_output("printf with awkward arguments", &nat, &out);
    let mut cmd = fdsup_cmd(
        ["run", "--", "/bin/sh", "-c", "echo \"$FDSUP_TEST_VAR\""],
        cwd.path(),
    );
    cmd.env("FDSUP_TEST_VAR", "value with spaces");
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.stdout, "value with spaces\n", "{}", show(&out));
}

#[test]
fn stdin_is_the_programs_own() {
    use std::io::Write as _;
    use std::process::Stdio;
    let cwd = TempDir::new("fn-exit-stdin");
    let mut child = fdsup_cmd(["run", "--", "/usr/bin/wc", "-c"], cwd.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn fdsup");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(&[b'x'; 100_000]).expect("write stdin");
    drop(stdin);
    let out = child.wait_with_output().expect("wait");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "100000",
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success());
}

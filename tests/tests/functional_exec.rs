//! Functional: the exec section at work. Exec rules are enforced (no longer
//! refused with 125); `"default": "deny"` with `/usr/bin` allowed runs
//! ordinary shell pipelines and refuses a copied binary; a script runs when
//! its interpreter may; the program itself is decided like any exec; exec
//! decisions are logged; and where every readable file is executable,
//! exec is not even trapped.

mod functional_common;

use std::path::Path;

use functional_common::*;

fn copy_echo(dir: &Path, name: &str) {
    std::fs::copy("/bin/echo", dir.join(name)).expect("copy /bin/echo");
}

fn policy(dir: &TempDir, exec: &str) -> String {
    let json = format!(r#"{{ "version": 1, "include": ["@default"], "exec": {exec} }}"#);
    let pdir = dir.join(".policy");
    std::fs::create_dir_all(&pdir).expect("mkdir");
    write_policy(&pdir, "p.json", &json)
        .to_str()
        .expect("utf-8")
        .to_owned()
}

#[test]
fn a_denied_copy_fails_with_eacces_and_an_allowed_one_runs() {
    let cwd = TempDir::new("fn-exec-rule");
    copy_echo(cwd.path(), "denied-echo");
    copy_echo(cwd.path(), "echo-ok");
    let d = cwd.path().display();
    let p = policy(
        &cwd,
        &format!(r#"{{ "rules": [ {{ "path": "{d}/denied-echo", "access": "deny" }} ] }}"#),
    );
    let out = run_with(
        Some(&p),
        cwd.path(),
        &[
            "/bin/sh",
            "-c",
            "./denied-echo BAD; echo rc=$?; ./echo-ok good; echo rc=$?",
        ],
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(!out.stdout.contains("BAD"), "{}", show(&out));
    assert!(out.stdout.contains("rc=126\n"), "{}", show(&out));
    assert!(out.stdout.contains("good\nrc=0\n"), "{}", show(&out));
    assert!(out.stderr.contains("Permission denied"), "{}", show(&out));

    // The program itself: refused as fdsup's own exec (126), and not run.
    let out = run_with(Some(&p), cwd.path(), &["./denied-echo", "BAD"]);
    assert_eq!(out.code, 126, "{}", show(&out));
    assert!(!out.stdout.contains("BAD"), "{}", show(&out));
}

#[test]
fn exec_default_deny_with_usr_bin_allowed_runs_shell_pipelines() {
    let cwd = TempDir::new("fn-exec-default-deny");
    cwd.write("sub/a.txt", "a\n");
    copy_echo(cwd.path(), "my-echo");
    let p = policy(
        &cwd,
        r#"{ "default": "deny", "rules": [ { "path": "/usr/bin", "access": "allow" } ] }"#,
    );
    let script = "ls sub; echo hello | tr a-z A-Z; x=$(uname -s); echo \"$x\"; \
                  env sh -c 'echo nested'; ./my-echo BAD; echo rc=$?";
    let out = run_with(Some(&p), cwd.path(), &["sh", "-c", script]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(
        out.stdout,
        "a.txt\nHELLO\nLinux\nnested\nrc=126\n",
        "{}",
        show(&out)
    );
}

#[test]
fn a_script_runs_where_its_interpreter_may() {
    let cwd = TempDir::new("fn-exec-script");
    let d = cwd.path().display();
    let script = cwd.write("bin/hello.sh", "#!/bin/sh\necho \"hello from $0\"\n");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let p = policy(
        &cwd,
        &format!(
            r#"{{ "default": "deny", "rules": [
                 {{ "path": "/usr/bin", "access": "allow" }},
                 {{ "path": "{d}/bin", "access": "allow" }} ] }}"#
        ),
    );
    let out = run_with(Some(&p), cwd.path(), &["./bin/hello.sh"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "hello from ./bin/hello.sh\n", "{}", show(&out));

    // The same script, its interpreter denied: the kernel refuses it.
    let p = policy(
        &cwd,
        &format!(
            r#"{{ "default": "deny", "rules": [ {{ "path": "{d}/bin", "access": "allow" }} ] }}"#
        ),
    );
    let out = run_with(Some(&p), cwd.path(), &["./bin/hello.sh"]);
    assert_eq!(out.code, 126, "{}", show(&out));
    assert_eq!(out.stdout, "", "{}", show(&out));
}

#[test]
fn exec_decisions_are_logged() {
    let cwd = TempDir::new("fn-exec-log");
    copy_echo(cwd.path(), "denied-echo");
    let d = cwd.path().display();
    let pdir = cwd.join(".policy");
    std::fs::create_dir_all(&pdir).expect("mkdir");
    let p = write_policy(
        &pdir,
        "p.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "exec": {{ "rules": [
    {{ "path": "{d}/denied-echo", "access": "deny" }} ] }},
  "log": {{ "allowed": true }} }}"#
        ),
    );
    let log = cwd.join("audit.jsonl");
    let out = fdsup_run(
        [
            "run".as_ref(),
            "--policy".as_ref(),
            p.as_os_str(),
            "--log".as_ref(),
            log.as_os_str(),
            "--".as_ref(),
            "/bin/sh".as_ref(),
            "-c".as_ref(),
            "/bin/true; ./denied-echo x".as_ref(),
        ],
        cwd.path(),
    );
    assert_eq!(out.code, 126, "{}", show(&out));
    let text = std::fs::read_to_string(&log).expect("log");
    let denied = format!(
        r#""syscall":"execve","path":"{d}/denied-echo","decision":"deny","errno":"EACCES","rule":"{}:3""#,
        p.display()
    );
    assert!(text.contains(&denied), "want {denied}\n--- log ---\n{text}");
    assert!(
        text.contains(
            r#""syscall":"execve","path":"/usr/bin/true","decision":"allow","rule":"default""#
        ),
        "{text}"
    );
}

/// Under `@allow-all` every readable file is executable: no ruleset, and
/// exec costs no round trip (nothing to log even with `allowed`).
#[test]
fn allow_all_does_not_trap_exec() {
    let cwd = TempDir::new("fn-exec-allow-all");
    let pdir = cwd.join(".policy");
    std::fs::create_dir_all(&pdir).expect("mkdir");
    let p = write_policy(
        &pdir,
        "p.json",
        r#"{ "version": 1, "include": ["@allow-all"], "log": { "allowed": true } }"#,
    );
    let log = cwd.join("audit.jsonl");
    let out = fdsup_run(
        [
            "run".as_ref(),
            "--policy".as_ref(),
            p.as_os_str(),
            "--log".as_ref(),
            log.as_os_str(),
            "--".as_ref(),
            "/bin/sh".as_ref(),
            "-c".as_ref(),
            "/bin/true && cat /etc/hostname >/dev/null".as_ref(),
        ],
        cwd.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    let text = std::fs::read_to_string(&log).expect("log");
    assert!(
        text.contains(r#""syscall":"openat""#),
        "opens are logged: {text}"
    );
    assert!(!text.contains("execve"), "exec was trapped: {text}");
}

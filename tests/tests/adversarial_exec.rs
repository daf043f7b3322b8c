//! Adversarial: the exec section. A program tries every route to run a
//! binary the policy denies (`tests/c/adv_exec.c`): by path, through a
//! symbolic link, `execveat(AT_EMPTY_PATH)` of an `O_PATH` or read
//! descriptor, `/proc/self/fd/N`, an unlinked copy, a memfd copy (by
//! descriptor and by `/proc/self/fd`, with `MFD_EXEC`, after `fchmod`), and
//! as the interpreter of a script; and a racing thread rewrites the path
//! buffer of `execve` between an allowed and a denied binary thousands of
//! times. The denied binary leaves a marker file when it runs: it must never
//! exist. Positive controls: the allowed copy runs by the same routes.

#[path = "adversarial_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use fdsup_tests::{is_root, skip, Output, TempDir};
use support::{prog, s, sandboxed_as_nobody, sandboxed_env, Checks};

/// The scratch tree `adv_exec attempts DIR` expects, and a policy.
struct Layout {
    dir: TempDir,
    driver: PathBuf,
}

impl Layout {
    fn new(tag: &str) -> Self {
        let dir = TempDir::new(tag);
        let marker = prog("exec_marker");
        let driver = prog("adv_exec");
        for d in ["allowed", "denied"] {
            std::fs::create_dir_all(dir.join(d)).expect("mkdir");
            std::fs::copy(&marker, dir.join(d).join("m")).expect("copy marker");
        }
        std::fs::copy(&driver, dir.join("allowed/drv")).expect("copy driver");
        std::os::unix::fs::symlink("../denied/m", dir.join("allowed/link_denied"))
            .expect("symlink");
        std::os::unix::fs::symlink("m", dir.join("allowed/link_ok")).expect("symlink");
        let script = |name: &str, text: String| {
            use std::os::unix::fs::PermissionsExt;
            let p = dir.write(&format!("allowed/{name}"), text);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        };
        script("s.sh", "#!/bin/sh\necho script-ran\nexit 3\n".into());
        script("bad.sh", format!("#!{}\n", dir.join("denied/m").display()));
        let driver = dir.join("allowed/drv");
        Self { dir, driver }
    }

    fn policy(&self, exec: &str) -> PathBuf {
        let json = format!(r#"{{ "version": 1, "include": ["@default"], "exec": {exec} }}"#);
        fdsup_tests::write_policy(self.dir.path(), "policy.json", &json)
    }

    /// `@default`, exec allowed but in `denied/`.
    fn deny_rule_policy(&self) -> PathBuf {
        self.policy(&format!(
            r#"{{ "rules": [ {{ "path": "{}/denied", "access": "deny" }} ] }}"#,
            self.dir.path().display()
        ))
    }

    /// `@default`, exec denied but in /usr/bin and `allowed/`.
    fn default_deny_policy(&self) -> PathBuf {
        self.policy(&format!(
            r#"{{ "default": "deny", "rules": [
                 {{ "path": "/usr/bin", "access": "allow" }},
                 {{ "path": "{}/allowed", "access": "allow" }} ] }}"#,
            self.dir.path().display()
        ))
    }

    fn denied_ran(&self) -> bool {
        self.dir.join("denied/m.ran").exists()
    }

    fn attempts(&self, policy: &Path) -> Output {
        sandboxed_env(
            policy.as_os_str(),
            self.dir.path(),
            &[],
            &[s(&self.driver), "attempts", s(self.dir.path())],
            Duration::from_secs(60),
        )
    }
}

/// What every policy of these tests refuses, and what it allows.
fn common(c: &mut Checks<'_>) {
    let denied = [
        "direct_denied",
        "symlink_denied",
        "opath_denied",
        "fd_denied",
        "procfd_denied",
        "deleted_denied",
        "deleted_procfd_denied",
        "script_denied_interpreter",
    ];
    c.all(&denied, "ERR:EACCES");
    c.eq("nofollow_link", "ERR:ELOOP");
    // Positive controls: the same routes to the allowed copy.
    c.all(
        &["direct_ok", "symlink_ok", "opath_ok", "procfd_ok"],
        "RAN:42",
    );
    c.eq("script_ok", "RAN:3");
}

#[test]
fn a_denied_binary_runs_by_no_route() {
    let l = Layout::new("adv-exec-rule");
    let out = l.attempts(&l.deny_rule_policy());
    let mut c = Checks::new(&out);
    common(&mut c);
    c.eq("deleted_ok", "RAN:42");
    // Exec default allow: a memfd has no path and follows it (SPEC.md).
    c.all(&["memfd_at", "memfd_procfd"], "RAN:42");
    if out.code != 0 {
        c.fail(format!("exit code {}", out.code));
    }
    if l.denied_ran() {
        c.fail("the denied binary ran (its marker exists)".into());
    }
    if !out.stdout.contains("script-ran") {
        c.fail("the script's output is missing".into());
    }
    c.finish();
}

#[test]
fn under_exec_default_deny_no_memfd_can_be_executed() {
    let l = Layout::new("adv-exec-default");
    let out = l.attempts(&l.default_deny_policy());
    let mut c = Checks::new(&out);
    common(&mut c);
    // The supervisor makes the program's memfds with MFD_NOEXEC_SEAL.
    c.all(
        &["memfd_at", "memfd_procfd", "memfd_mfd_exec"],
        "ERR:EACCES",
    );
    // Sealed: the execute bits cannot be added back.
    c.eq("memfd_chmod", "ERR:EPERM");
    if out.code != 0 {
        c.fail(format!("exit code {}", out.code));
    }
    if l.denied_ran() {
        c.fail("the denied binary ran (its marker exists)".into());
    }
    c.finish();
}

/// The race: `execve` of a buffer another thread rewrites between the two
/// paths. The supervisor's check may see either; Landlock re-checks the
/// file the kernel opens, so the denied copy never runs.
#[test]
fn rewriting_the_exec_path_buffer_never_runs_the_denied_binary() {
    const N: u64 = 3000;
    let l = Layout::new("adv-exec-race");
    let policy = l.deny_rule_policy();
    let (ok, denied) = (l.dir.join("allowed/m"), l.dir.join("denied/m"));
    let n = N.to_string();
    let out = sandboxed_env(
        policy.as_os_str(),
        l.dir.path(),
        &[],
        &[s(&l.driver), "race", s(&ok), s(&denied), &n],
        Duration::from_secs(240),
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("race "))
        .unwrap_or_else(|| panic!("no race line\n{}\n{}", out.stdout, out.stderr))
        .to_owned();
    let count = |k: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {line}"))
    };
    eprintln!("{line}");
    assert!(!l.denied_ran(), "THE DENIED BINARY RAN: {line}");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        count("ran") + count("eacces") + count("enoent") + count("other"),
        N
    );
    // Positive controls: the allowed copy ran, and the denied path was
    // tried (and refused) too, so the race was a race.
    assert!(count("ran") > 0, "the allowed binary never ran: {line}");
    assert!(l.dir.join("allowed/m.ran").exists());
    assert!(
        count("eacces") > 0,
        "the denied path was never tried: {line}"
    );
}

/// The same as the program's own user, nobody (uid 65534), whom only the
/// sandbox stops.
#[test]
fn a_denied_binary_runs_by_no_route_unprivileged() {
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    fdsup_tests::require("setpriv");
    let l = Layout::new("adv-exec-nobody");
    let policy = l.deny_rule_policy();
    let st = std::process::Command::new("chmod")
        .args(["-R", "a+rwX"])
        .arg(l.dir.path())
        .status()
        .expect("chmod");
    assert!(st.success());
    let out = sandboxed_as_nobody(
        &policy,
        l.dir.path(),
        &[s(&l.driver), "attempts", s(l.dir.path())],
    );
    let mut c = Checks::new(&out);
    common(&mut c);
    if out.code != 0 {
        c.fail(format!("exit code {}", out.code));
    }
    if l.denied_ran() {
        c.fail("the denied binary ran (its marker exists)".into());
    }
    c.finish();
}

/// Under `"default": "deny"`, a root program races `execve` between an
/// allowed binary and a copy of itself in shared anonymous memory, named
/// by `/proc/self/map_files/START-END`. That file (shmem, like a memfd) has
/// no path and Landlock does not check it, so the supervisor's refusal of
/// that path was all that stood in the way: a buffer rewritten after it
/// ran the copy. The kernel resolves `map_files` only for a holder of
/// `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE`, which the program must not
/// have where the exec default denies.
#[test]
fn anonymous_shared_memory_never_runs_under_exec_default_deny() {
    if !is_root() {
        skip!("not root: /proc/self/map_files needs CAP_SYS_ADMIN");
    }
    const N: u64 = 3000;
    let l = Layout::new("adv-exec-anon");
    let policy = l.default_deny_policy();
    let ok = l.dir.join("allowed/m");
    let n = N.to_string();
    let out = sandboxed_env(
        policy.as_os_str(),
        l.dir.path(),
        &[],
        &[s(&l.driver), "race_anon", s(&ok), &n],
        Duration::from_secs(240),
    );
    let line = out
        .stdout
        .lines()
        .find(|l| l.starts_with("race "))
        .unwrap_or_else(|| panic!("no race line\n{}\n{}", out.stdout, out.stderr))
        .to_owned();
    let count = |k: &str| -> u64 {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {k} in {line}"))
    };
    eprintln!("{line}");
    assert_eq!(count("anon"), 0, "THE ANONYMOUS COPY RAN: {line}");
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    // Positive controls: the allowed binary ran, and the anonymous path
    // was tried and refused.
    assert!(count("ran") > 0, "the allowed binary never ran: {line}");
    assert!(
        count("eacces") + count("other") > 0,
        "the anonymous path was never tried: {line}"
    );
}

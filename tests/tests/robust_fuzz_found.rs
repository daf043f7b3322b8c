//! What the differential fuzzer (`fdsup-fuzz`) found, pinned: each line of
//! `tests/c/fuzz_found.c` is one call whose answer under fdsup must be the
//! kernel's (mostly the order in which arguments are checked: flags before
//! paths, the first path before the second, a path's directory before what
//! its last component is). The program runs natively and under
//! `@allow-all`, each in a fresh directory, and every line must match.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{native, TempDir};
use support::{parse, prog, s, sandboxed_env};

#[test]
fn every_call_the_fuzzer_found_answers_as_the_kernel_does() {
    let program = prog("fuzz_found");
    let a = TempDir::new("fuzz-found-native");
    let b = TempDir::new("fuzz-found-fdsup");
    let n = native(a.path(), &[s(&program)]);
    assert_eq!(n.code, 0, "native run failed:\n{}\n{}", n.stdout, n.stderr);
    let f = sandboxed_env(
        "@allow-all".as_ref(),
        b.path(),
        &[],
        &[s(&program)],
        Duration::from_secs(60),
    );
    let (nl, fl) = (parse(&n.stdout), parse(&f.stdout));
    let mut failures = Vec::new();
    for (k, v) in &nl {
        match fl.get(k) {
            Some(w) if w == v => {}
            w => failures.push(format!("{k}: the kernel says {v}, fdsup {w:?}")),
        }
    }
    if f.code != 0 || !f.stdout.contains("done") {
        failures.push(format!("exit code {} (expected 0, to the end)", f.code));
    }
    assert!(
        failures.is_empty(),
        "{} difference(s):\n  {}\nfdsup stderr:\n{}",
        failures.len(),
        failures.join("\n  "),
        f.stderr
    );
    // Spelled out, not only "as natively".
    for (k, v) in [
        ("mknod_chr_exists", "EEXIST"),
        ("mknod_missing_slash", "ENOENT"),
        ("rmdir_dotdot", "ENOTEMPTY"),
        ("rename_old_missing_new_bad", "ENOENT"),
        ("link_old_missing_new_bad", "ENOENT"),
        ("lstat_proc_self", "lnk"),
        ("readlink_proc_self", "ok"),
        ("creat_link_sticky_socket", "EACCES"),
        ("creat_outer_link_sticky_socket", "EACCES"),
    ] {
        assert_eq!(fl.get(k).map(String::as_str), Some(v), "{k}\n{}", f.stdout);
    }
}

/// Under a policy: a hard link's source that the policy hides or denies is
/// refused (ENOENT, EACCES) before anything about the target is known, as
/// the kernel looks the source up whole first; natively (the positive
/// control) the same calls fail on the target instead. And `O_CREAT` on a
/// directory the policy makes read-only is EISDIR, as on any directory
/// (fdsup opened it).
#[test]
fn a_refused_link_source_answers_before_the_target() {
    let program = prog("fuzz_found");
    let dir = TempDir::new("fuzz-found-policy");
    let (native_dir, work) = (dir.join("native"), dir.join("work"));
    for d in [&native_dir, &work] {
        for sub in ["hidden", "denied", "readonly"] {
            std::fs::create_dir_all(d.join(sub)).expect("create dirs");
        }
        std::fs::write(d.join("file"), "").expect("create file");
    }
    let n = native(&native_dir, &[s(&program), "policy"]);
    assert_eq!(
        parse(&n.stdout)
            .get("link_hidden_source_bad_target")
            .map(String::as_str),
        Some("ENOTDIR"),
        "{}",
        n.stdout
    );
    let policy = fdsup_tests::write_policy(
        dir.path(),
        "policy.json",
        &format!(
            r#"{{ "version": 1, "include": ["@allow-all"], "filesystem": {{ "default": "rw", "rules": [
                {{ "path": "{w}/hidden", "access": "hide" }},
                {{ "path": "{w}/denied", "access": "deny" }},
                {{ "path": "{w}/readonly", "access": "ro" }} ] }} }}"#,
            w = work.display()
        ),
    );
    let f = sandboxed_env(
        policy.as_ref(),
        &work,
        &[],
        &[s(&program), "policy"],
        Duration::from_secs(60),
    );
    let fl = parse(&f.stdout);
    for (k, v) in [
        ("link_hidden_source_bad_target", "ENOENT"),
        ("link_denied_source_bad_target", "EACCES"),
        ("link_hidden_source_bad_pointer", "ENOENT"),
        ("open_creat_readonly_dir", "EISDIR"),
        ("open_creat_readonly_dir_abs", "EISDIR"),
    ] {
        assert_eq!(
            fl.get(k).map(String::as_str),
            Some(v),
            "{k}\n{}\n{}",
            f.stdout,
            f.stderr
        );
    }
}

/// The same calls without privileges (uid 65534), natively and under
/// fdsup: where the kernel checks search and write permission (a `..` or
/// `.` in a directory that cannot be searched, truncate of a file that
/// cannot be written) fdsup answers the same, though its lexical paths and
/// `O_PATH` descriptors need no such permission.
#[test]
fn without_privileges_every_call_answers_as_the_kernel_does() {
    if !fdsup_tests::is_root() {
        fdsup_tests::skip!("needs root to run the program as uid 65534");
    }
    use std::os::unix::fs::PermissionsExt as _;
    let program = prog("fuzz_found");
    let dir = TempDir::new("fuzz-found-nobody");
    let (a, b) = (dir.join("native"), dir.join("fdsup"));
    for d in [dir.path(), &a, &b] {
        std::fs::create_dir_all(d).expect("dirs");
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o777)).expect("open them");
    }
    let mut c = std::process::Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&program)
        .current_dir(&a);
    let n = fdsup_tests::run_cmd(&mut c, Duration::from_secs(60));
    let policy = fdsup_tests::write_policy(dir.path(), "allow.json", fdsup_tests::ALLOW_ALL);
    let f = support::sandboxed_as_nobody(&policy, &b, &[s(&program)]);
    let (nl, fl) = (parse(&n.stdout), parse(&f.stdout));
    assert_eq!(
        nl.get("unpriv_stat_unsearchable_dotdot")
            .map(String::as_str),
        Some("EACCES"),
        "the native run must be unprivileged:\n{}",
        n.stdout
    );
    let diffs: Vec<String> = nl
        .iter()
        .filter(|(k, v)| fl.get(*k) != Some(v))
        .map(|(k, v)| format!("{k}: the kernel says {v}, fdsup {:?}", fl.get(k)))
        .collect();
    assert!(
        diffs.is_empty() && f.stdout.contains("done"),
        "{}\nfdsup stdout:\n{}\nstderr:\n{}",
        diffs.join("\n"),
        f.stdout,
        f.stderr
    );
}

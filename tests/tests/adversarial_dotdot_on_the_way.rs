//! Adversarial (and faithful): `..` out of a directory the policy shows only
//! as the way to something below it (no rule names it; the default hides),
//! and out of the program's own `/proc/<pid>`. Those directories are there
//! to open and stat, so `..` out of them must work as natively
//! (`proj/../..`, `/proc/self/fd/..`); `..` out of a hidden directory must
//! still say ENOENT, and nothing hidden becomes reachable by the detour.
//! Every attempt is made by `tests/c/fn_probe.c`.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::TempDir;
use support::{bin_rule, prog, s, sandboxed_as_nobody, sandboxed_env};

fn layout() -> (TempDir, std::path::PathBuf, std::path::PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    let tmp = TempDir::new("adv-dotdot-way");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical scratch");
    for d in ["way/proj/sub", "hidden", "unnamed"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
    }
    std::fs::write(dir.join("way/proj/file"), "PROJ\n").expect("write");
    std::fs::write(dir.join("hidden/secret"), "SECRET\n").expect("write");
    std::fs::write(dir.join("unnamed/secret"), "SECRET\n").expect("write");
    for d in ["", "way", "way/proj", "way/proj/sub", "hidden", "unnamed"] {
        let p = dir.join(d);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    for f in ["way/proj/file", "hidden/secret", "unnamed/secret"] {
        let p = dir.join(f);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    }
    let d = dir.display();
    let policy = fdsup_tests::write_policy(
        &dir,
        "policy.json",
        &format!(
            r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "rules": [
      {bin}
      {{ "path": "{d}/way/proj", "access": "rw" }},
      {{ "path": "{d}/hidden", "access": "hide" }}
    ]
  }}
}}
"#,
            bin = bin_rule()
        ),
    );
    (tmp, dir, policy)
}

fn check(out: &fdsup_tests::Output, dir: &std::path::Path) {
    let d = dir.display();
    let want = [
        // Out of the project into directories on the way, and back.
        format!("d {d}/way/proj/sub/../..: ok"),
        format!("d {d}/way/proj/../..: ok"),
        format!("r {d}/way/proj/sub/../../../way/proj/file: ok read=PROJ|"),
        // Out of the program's own /proc/<pid>.
        "r /proc/self/fd/../status: ok".to_string(),
        "d /proc/self/task/..: ok".to_string(),
        "d /proc/self/fd/../..: ok".to_string(),
        // What is hidden stays so, whatever the detour.
        format!("r {d}/way/proj/../../hidden/secret: ENOENT"),
        format!("r {d}/way/proj/../../unnamed/secret: ENOENT"),
        format!("d {d}/hidden/..: ENOENT"),
        format!("d {d}/unnamed/..: ENOENT"),
        format!("d {d}/hidden/../way: ENOENT"),
        format!("r {d}/policy.json: ENOENT"),
    ];
    let lines: Vec<&str> = out.stdout.lines().collect();
    let mut bad = Vec::new();
    for w in &want {
        let (key, _) = w.split_once(": ").expect("a key");
        let got = lines.iter().find(|l| l.starts_with(&format!("{key}: ")));
        match got {
            Some(g) if g.starts_with(w.as_str()) => {}
            g => bad.push(format!("  {key}: expected {w:?}, got {g:?}")),
        }
    }
    assert!(
        bad.is_empty(),
        "{} check(s) failed:\n{}\nstdout:\n{}\nstderr:\n{}",
        bad.len(),
        bad.join("\n"),
        out.stdout,
        out.stderr
    );
}

fn args(dir: &std::path::Path) -> Vec<String> {
    let d = dir.display();
    let mut v = vec![s(&prog("fn_probe")).to_string()];
    for (op, p) in [
        ("d", format!("{d}/way/proj/sub/../..")),
        ("d", format!("{d}/way/proj/../..")),
        ("r", format!("{d}/way/proj/sub/../../../way/proj/file")),
        ("r", "/proc/self/fd/../status".to_string()),
        ("d", "/proc/self/task/..".to_string()),
        ("d", "/proc/self/fd/../..".to_string()),
        ("r", format!("{d}/way/proj/../../hidden/secret")),
        ("r", format!("{d}/way/proj/../../unnamed/secret")),
        ("d", format!("{d}/hidden/..")),
        ("d", format!("{d}/unnamed/..")),
        ("d", format!("{d}/hidden/../way")),
        ("r", format!("{d}/policy.json")),
    ] {
        v.push(op.to_string());
        v.push(p);
    }
    v
}

#[test]
fn dotdot_out_of_directories_on_the_way() {
    let (_tmp, dir, policy) = layout();
    let out = sandboxed_env(
        policy.as_os_str(),
        &dir.join("way/proj"),
        &[],
        &args(&dir),
        Duration::from_secs(60),
    );
    check(&out, &dir);
}

#[test]
fn dotdot_out_of_directories_on_the_way_unprivileged() {
    if !fdsup_tests::is_root() {
        return;
    }
    let (_tmp, dir, policy) = layout();
    let out = sandboxed_as_nobody(&policy, &dir.join("way/proj"), &args(&dir));
    check(&out, &dir);
}

//! Denials: a policy with a read-only directory, a denied directory, a
//! hidden file and a hidden directory, and the default (deny) for a
//! directory no rule names. Every attempt is made by tests/c/fn_probe.c (or
//! sh, or python3), which prints the errno of each open; the files must be
//! byte-for-byte unchanged afterwards and no new file may appear. Each run
//! also has a positive control that must succeed.

mod functional_common;

use functional_common::*;
use std::collections::BTreeMap;
use std::path::Path;

const POLICY: &str = r#"{
  "version": 1,
  "include": ["@system"],
  "filesystem": {
    "default": "deny",
    "rules": [
      { "path": "${CWD}", "access": "rw" },
      { "path": "${CWD}/ro", "access": "ro" },
      { "path": "${CWD}/deny", "access": "deny" },
      { "path": "${CWD}/secret.txt", "access": "hide" },
      { "path": "${CWD}/hidden", "access": "hide" },
      { "path": "${CWD}/ghost.txt", "access": "hide", "comment": "does not exist on disk" }
    ]
  }
}"#;

/// The scratch layout: the program's directory, a directory no rule names,
/// and the policy (kept apart from both).
struct Fixture {
    cwd: TempDir,
    other: TempDir,
    _pdir: TempDir,
    policy: String,
    probe: String,
}

fn fixture() -> Fixture {
    let cwd = TempDir::new("fn-deny");
    cwd.write("rw/keep.txt", "rw data\n");
    cwd.write("ro/file.txt", "ro data\n");
    cwd.write("ro/sub/deep.txt", "deep\n");
    cwd.write("deny/file.txt", "deny data\n");
    cwd.write("secret.txt", "top secret\n");
    cwd.write("hidden/inner.txt", "hidden inner\n");
    for (link, target) in [
        ("link-to-deny", "deny/file.txt"),
        ("link-to-secret", "secret.txt"),
        ("link-to-ro", "ro/file.txt"),
        ("link-to-hidden-dir", "hidden"),
    ] {
        std::os::unix::fs::symlink(target, cwd.join(link)).expect("symlink");
    }
    let other = TempDir::new("fn-deny-other");
    other.write("other.txt", "elsewhere\n");
    let pdir = TempDir::new("fn-deny-policy");
    let policy = write_policy(pdir.path(), "policy.json", POLICY)
        .display()
        .to_string();
    let probe = install_c("fn_probe", cwd.path()).display().to_string();
    Fixture {
        cwd,
        other,
        _pdir: pdir,
        policy,
        probe,
    }
}

impl Fixture {
    /// Runs fn_probe with OP PATH pairs under the policy.
    fn probe(&self, pairs: &[(&str, &str)]) -> Output {
        let mut cmd = vec![self.probe.clone()];
        for (op, path) in pairs {
            cmd.push((*op).to_string());
            cmd.push((*path).to_string());
        }
        run_with(Some(&self.policy), self.cwd.path(), &cmd)
    }

    /// Everything on disk (both directories), to compare before and after.
    fn disk(&self) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        (snapshot(self.cwd.path()), snapshot(self.other.path()))
    }
}

/// Asserts each `OP PATH: RESULT` line, in order, showing the whole run on
/// failure.
#[track_caller]
fn assert_lines(out: &Output, expected: &[String]) {
    let got: Vec<&str> = out.stdout.lines().collect();
    let want: Vec<&str> = expected.iter().map(String::as_str).collect();
    if got != want {
        let mut s = String::new();
        for i in 0..got.len().max(want.len()) {
            let g = got.get(i).copied().unwrap_or("<none>");
            let w = want.get(i).copied().unwrap_or("<none>");
            if g != w {
                s.push_str(&format!("  expected: {w}\n  got:      {g}\n"));
            }
        }
        panic!("unexpected results:\n{s}\nwhole run:\n{}", show(out));
    }
}

/// Asserts that nothing changed on disk except the entries in `added`
/// (relative to the program's directory).
#[track_caller]
fn assert_unchanged_except(
    f: &Fixture,
    before: &(BTreeMap<String, String>, BTreeMap<String, String>),
    added: &[&str],
) {
    let after = f.disk();
    let mut changed = Vec::new();
    for (k, v) in &after.0 {
        match before.0.get(k) {
            Some(b) if b == v => {}
            Some(b) => changed.push(format!("{k} changed: was {b}, now {v}")),
            None if added.contains(&k.as_str()) => {}
            None => changed.push(format!("{k} appeared: {v}")),
        }
    }
    for k in before.0.keys() {
        if !after.0.contains_key(k) {
            changed.push(format!("{k} disappeared"));
        }
    }
    if before.1 != after.1 {
        changed.push(format!(
            "the unlisted directory changed: was {:?}, now {:?}",
            before.1, after.1
        ));
    }
    for a in added {
        if !after.0.contains_key(*a) {
            changed.push(format!("{a} (positive control) was not created"));
        }
    }
    assert!(
        changed.is_empty(),
        "the file system changed:\n{}",
        changed.join("\n")
    );
}

fn line(op: &str, path: &str, result: &str) -> String {
    format!("{op} {path}: {result}")
}

#[test]
fn ro_dir_reads_work_and_every_write_fails_eacces() {
    let f = fixture();
    let before = f.disk();
    let out = f.probe(&[
        ("r", "rw/keep.txt"),
        ("r", "ro/file.txt"),
        ("r", "ro/sub/deep.txt"),
        ("o2", "ro/file.txt"),
        ("r", "link-to-ro"),
        ("size", "ro/file.txt"),
        ("w", "ro/file.txt"),
        ("rw", "ro/file.txt"),
        ("c", "ro/file.txt"),
        ("a", "ro/file.txt"),
        ("t", "ro/file.txt"),
        ("rt", "ro/file.txt"),
        ("creat", "ro/file.txt"),
        ("w", "link-to-ro"),
        ("t", "rw/../ro/file.txt"),
        ("c", "ro/new.txt"),
        ("cx", "ro/new2.txt"),
        ("creat", "ro/new3.txt"),
        ("o2w", "ro/new4.txt"),
        ("c", "ro/sub/new5.txt"),
        ("tmp", "ro"),
        ("c", "rw/new.txt"),
    ]);
    assert_lines(
        &out,
        &[
            line("r", "rw/keep.txt", "ok read=rw data|"),
            line("r", "ro/file.txt", "ok read=ro data|"),
            line("r", "ro/sub/deep.txt", "ok read=deep|"),
            line("o2", "ro/file.txt", "ok read=ro data|"),
            line("r", "link-to-ro", "ok read=ro data|"),
            line("size", "ro/file.txt", "ok size=8"),
            line("w", "ro/file.txt", "EACCES"),
            line("rw", "ro/file.txt", "EACCES"),
            line("c", "ro/file.txt", "EACCES"),
            line("a", "ro/file.txt", "EACCES"),
            line("t", "ro/file.txt", "EACCES"),
            line("rt", "ro/file.txt", "EACCES"),
            line("creat", "ro/file.txt", "EACCES"),
            line("w", "link-to-ro", "EACCES"),
            line("t", "rw/../ro/file.txt", "EACCES"),
            line("c", "ro/new.txt", "EACCES"),
            line("cx", "ro/new2.txt", "EACCES"),
            line("creat", "ro/new3.txt", "EACCES"),
            line("o2w", "ro/new4.txt", "EACCES"),
            line("c", "ro/sub/new5.txt", "EACCES"),
            line("tmp", "ro", "EACCES"),
            line("c", "rw/new.txt", "ok wrote=1"),
        ],
    );
    assert_unchanged_except(&f, &before, &["rw/new.txt"]);
    assert_eq!(
        std::fs::read(f.cwd.join("ro/file.txt")).expect("read"),
        b"ro data\n"
    );
}

#[test]
fn ro_dir_shell_and_python_writes_fail() {
    let f = fixture();
    let before = f.disk();
    let script = r#"
try() { if eval "$1" 2>/dev/null; then echo "$1: ok"; else echo "$1: failed"; fi; }
try 'echo x > ro/file.txt'
try 'echo x >> ro/file.txt'
try 'echo x > ro/new.txt'
try 'cat ro/file.txt > /dev/null'
try 'echo x > rw/sh-new.txt'
"#;
    let out = run_with(Some(&f.policy), f.cwd.path(), &["/bin/sh", "-c", script]);
    assert_eq!(
        out.stdout,
        "echo x > ro/file.txt: failed\n\
         echo x >> ro/file.txt: failed\n\
         echo x > ro/new.txt: failed\n\
         cat ro/file.txt > /dev/null: ok\n\
         echo x > rw/sh-new.txt: ok\n",
        "{}",
        show(&out)
    );
    let py = r#"
import errno
for path, mode in [("ro/file.txt", "w"), ("ro/file.txt", "a"), ("ro/file.txt", "r+"),
                   ("ro/py-new.txt", "w"), ("ro/py-new.txt", "x"), ("ro/file.txt", "r"),
                   ("rw/py-new.txt", "w")]:
    try:
        with open(path, mode) as fh:
            if mode == "r":
                fh.read()
            else:
                fh.write("py")
        print(path, mode, "ok")
    except OSError as e:
        print(path, mode, errno.errorcode[e.errno])
"#;
    let out = run_with(Some(&f.policy), f.cwd.path(), &[PY, "-c", py]);
    assert_eq!(
        out.stdout,
        "ro/file.txt w EACCES\n\
         ro/file.txt a EACCES\n\
         ro/file.txt r+ EACCES\n\
         ro/py-new.txt w EACCES\n\
         ro/py-new.txt x EACCES\n\
         ro/file.txt r ok\n\
         rw/py-new.txt w ok\n",
        "{}",
        show(&out)
    );
    assert_unchanged_except(&f, &before, &["rw/sh-new.txt", "rw/py-new.txt"]);
}

#[test]
fn deny_dir_refuses_reads_too() {
    let f = fixture();
    let before = f.disk();
    let out = f.probe(&[
        ("r", "rw/keep.txt"),
        ("r", "deny/file.txt"),
        ("o2", "deny/file.txt"),
        ("size", "deny/file.txt"),
        ("d", "deny"),
        ("r", "deny/missing.txt"),
        ("w", "deny/file.txt"),
        ("a", "deny/file.txt"),
        ("t", "deny/file.txt"),
        ("rt", "deny/file.txt"),
        ("c", "deny/new.txt"),
        ("cx", "deny/new.txt"),
        ("tmp", "deny"),
        ("r", "link-to-deny"),
        ("r", "rw/../deny/file.txt"),
        ("r", "./deny/../deny/./file.txt"),
        ("r", "/proc/self/cwd/deny/file.txt"),
        ("r", "rw/keep.txt"),
    ]);
    let eacces = |op, p| line(op, p, "EACCES");
    assert_lines(
        &out,
        &[
            line("r", "rw/keep.txt", "ok read=rw data|"),
            eacces("r", "deny/file.txt"),
            eacces("o2", "deny/file.txt"),
            eacces("size", "deny/file.txt"),
            eacces("d", "deny"),
            eacces("r", "deny/missing.txt"),
            eacces("w", "deny/file.txt"),
            eacces("a", "deny/file.txt"),
            eacces("t", "deny/file.txt"),
            eacces("rt", "deny/file.txt"),
            eacces("c", "deny/new.txt"),
            eacces("cx", "deny/new.txt"),
            eacces("tmp", "deny"),
            eacces("r", "link-to-deny"),
            eacces("r", "rw/../deny/file.txt"),
            eacces("r", "./deny/../deny/./file.txt"),
            eacces("r", "/proc/self/cwd/deny/file.txt"),
            line("r", "rw/keep.txt", "ok read=rw data|"),
        ],
    );
    assert_unchanged_except(&f, &before, &[]);
    // The shell sees the same thing.
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &["/bin/sh", "-c", "cat deny/file.txt; echo rc=$?"],
    );
    assert!(
        out.stdout.ends_with("rc=1\n") && out.stderr.contains("Permission denied"),
        "cat of a denied file should fail with 'Permission denied':\n{}",
        show(&out)
    );
}

#[test]
fn hidden_paths_are_enoent_even_for_create_exclusive() {
    let f = fixture();
    let before = f.disk();
    let out = f.probe(&[
        ("r", "rw/keep.txt"),
        ("r", "secret.txt"),
        ("o2", "secret.txt"),
        ("size", "secret.txt"),
        ("w", "secret.txt"),
        ("a", "secret.txt"),
        ("t", "secret.txt"),
        ("rt", "secret.txt"),
        ("c", "secret.txt"),
        ("cx", "secret.txt"),
        ("creat", "secret.txt"),
        ("r", "link-to-secret"),
        ("r", "rw/../secret.txt"),
        ("r", "/proc/self/cwd/secret.txt"),
        ("r", "hidden/inner.txt"),
        ("d", "hidden"),
        ("c", "hidden/new.txt"),
        ("cx", "hidden/new.txt"),
        ("tmp", "hidden"),
        ("r", "link-to-hidden-dir/inner.txt"),
        ("r", "ghost.txt"),
        ("cx", "ghost.txt"),
        ("c", "ghost.txt"),
        ("o2w", "ghost.txt"),
        ("c", "rw/new.txt"),
    ]);
    let enoent = |op, p| line(op, p, "ENOENT");
    assert_lines(
        &out,
        &[
            line("r", "rw/keep.txt", "ok read=rw data|"),
            enoent("r", "secret.txt"),
            enoent("o2", "secret.txt"),
            enoent("size", "secret.txt"),
            enoent("w", "secret.txt"),
            enoent("a", "secret.txt"),
            enoent("t", "secret.txt"),
            enoent("rt", "secret.txt"),
            enoent("c", "secret.txt"),
            enoent("cx", "secret.txt"),
            enoent("creat", "secret.txt"),
            enoent("r", "link-to-secret"),
            enoent("r", "rw/../secret.txt"),
            enoent("r", "/proc/self/cwd/secret.txt"),
            enoent("r", "hidden/inner.txt"),
            enoent("d", "hidden"),
            enoent("c", "hidden/new.txt"),
            enoent("cx", "hidden/new.txt"),
            enoent("tmp", "hidden"),
            enoent("r", "link-to-hidden-dir/inner.txt"),
            enoent("r", "ghost.txt"),
            enoent("cx", "ghost.txt"),
            enoent("c", "ghost.txt"),
            enoent("o2w", "ghost.txt"),
            line("c", "rw/new.txt", "ok wrote=1"),
        ],
    );
    assert_unchanged_except(&f, &before, &["rw/new.txt"]);
    assert!(!f.cwd.join("ghost.txt").exists(), "ghost.txt was created");
}

#[test]
fn unlisted_dir_gets_the_default_deny() {
    let f = fixture();
    let before = f.disk();
    let other = f.other.path().display().to_string();
    let file = format!("{other}/other.txt");
    let missing = format!("{other}/missing.txt");
    let new = format!("{other}/new.txt");
    let out = f.probe(&[
        ("r", "rw/keep.txt"),
        ("r", &file),
        ("d", &other),
        ("r", &missing),
        ("w", &file),
        ("t", &file),
        ("c", &new),
        ("cx", &new),
        ("tmp", &other),
        ("r", "/root/.profile"),
        ("r", "/var/log/nonexistent-fdsup-test.log"),
        ("size", "/etc/passwd"),
    ]);
    let eacces = |op, p: &str| line(op, p, "EACCES");
    let passwd_len = std::fs::metadata("/etc/passwd").expect("stat").len();
    assert_lines(
        &out,
        &[
            line("r", "rw/keep.txt", "ok read=rw data|"),
            eacces("r", &file),
            eacces("d", &other),
            eacces("r", &missing),
            eacces("w", &file),
            eacces("t", &file),
            eacces("c", &new),
            eacces("cx", &new),
            eacces("tmp", &other),
            eacces("r", "/root/.profile"),
            eacces("r", "/var/log/nonexistent-fdsup-test.log"),
            line("size", "/etc/passwd", &format!("ok size={passwd_len}")),
        ],
    );
    assert_unchanged_except(&f, &before, &[]);
}

#[test]
fn o_path_follows_the_same_decisions() {
    let f = fixture();
    let out = f.probe(&[
        ("p", "ro/file.txt"),
        ("p", "rw/keep.txt"),
        ("p", "deny/file.txt"),
        ("p", "secret.txt"),
        ("p", "hidden"),
    ]);
    assert_lines(
        &out,
        &[
            line("p", "ro/file.txt", "ok"),
            line("p", "rw/keep.txt", "ok"),
            line("p", "deny/file.txt", "EACCES"),
            line("p", "secret.txt", "ENOENT"),
            line("p", "hidden", "ENOENT"),
        ],
    );
}

/// The policy's own directory does not matter: `${CWD}` is where fdsup was
/// started, and a relative `--policy` path is taken from there too.
#[test]
fn relative_policy_path_and_cwd_variable() {
    let f = fixture();
    let rel = Path::new(&f.policy);
    std::fs::copy(rel, f.cwd.join("rw/policy.json")).expect("copy policy");
    let out = run_with(
        Some("rw/policy.json"),
        f.cwd.path(),
        &[f.probe.as_str(), "r", "ro/file.txt", "w", "ro/file.txt"],
    );
    assert_lines(
        &out,
        &[
            line("r", "ro/file.txt", "ok read=ro data|"),
            line("w", "ro/file.txt", "EACCES"),
        ],
    );
}

//! Coreutils under the default policy and under a policy file, in a scratch
//! directory used as the current directory: each step's stdout and exit
//! code are those of the same step run natively in a twin directory, and
//! files appear and disappear on disk as they do natively.

mod functional_common;

use functional_common::*;
/// The same starting files in each twin directory.
fn populate(t: &TempDir) {
    t.write("a.txt", "zebra\napple\nmango\napple\n");
    t.write("b.txt", "second file\n");
    t.write("sub/c.txt", "in sub\n");
    t.write("sub/deeper/d.txt", "deeper\n");
    let bin: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    t.write("bin.dat", bin);
    t.write(".hidden", "dot file\n");
    // The same times in both twins (`tar` records them; two twins made a
    // moment apart can straddle a second).
    let out = fdsup_tests::run_cmd(
        std::process::Command::new("find").arg(t.path()).args([
            "-exec",
            "touch",
            "-h",
            "-d",
            "@1700000000",
            "{}",
            "+",
        ]),
        std::time::Duration::from_secs(30),
    );
    out.expect_code(0);
}

/// The lines of `ls -la --time-style=+` without the `..` entry (the
/// parent, shared with other tests, changes under us).
fn ls_lines(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter(|l| !l.ends_with(" .."))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The names `ls -la` lists, sorted.
fn ls_names(stdout: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().last().map(String::from))
        .collect();
    v.sort();
    v
}

/// Runs each step natively in one twin and sandboxed in the other,
/// comparing each step's stdout and exit code, then the trees.
fn compare_steps(policy: Option<&str>, steps: &[&[&str]]) {
    let nat_dir = TempDir::new("fn-coreutils-native");
    let sbx_dir = TempDir::new("fn-coreutils-sandbox");
    populate(&nat_dir);
    populate(&sbx_dir);
    for step in steps {
        let nat = native(nat_dir.path(), step);
        let sbx = run_with(policy, sbx_dir.path(), step);
        let what = format!("{step:?} under {}", policy.unwrap_or("the default policy"));
        if step.first() == Some(&"ls") {
            assert_eq!(nat.code, 0, "{what} natively:\n{}", show(&nat));
            assert_eq!(sbx.code, 0, "{what}:\n{}", show(&sbx));
            assert_eq!(
                ls_names(&nat.stdout),
                ls_names(&sbx.stdout),
                "{what}: names differ\nnative:\n{}\nsandboxed:\n{}",
                show(&nat),
                show(&sbx)
            );
            assert_eq!(
                ls_lines(&nat.stdout),
                ls_lines(&sbx.stdout),
                "{what}: listing differs\nnative:\n{}\nsandboxed:\n{}",
                show(&nat),
                show(&sbx)
            );
        } else {
            assert_same_output(&what, &nat, &sbx);
        }
        assert_same_tree(&what, nat_dir.path(), sbx_dir.path());
    }
}

const LS: &[&str] = &["ls", "-la", "--time-style=+"];

const STEPS: &[&[&str]] = &[
    LS,
    &["cat", "a.txt", "b.txt", "sub/c.txt"],
    &["cat", "bin.dat"],
    &["cp", "a.txt", "copy.txt"],
    &["cp", "-p", "bin.dat", "bin2.dat"],
    &["cp", "-r", "sub", "subcopy"],
    &["mkdir", "-p", "x/y/z"],
    &["mkdir", "-p", "x/y/z"],
    &["cp", "a.txt", "sub/c.txt", "x/y/"],
    &["ls", "-la", "--time-style=+", "x/y"],
    &["mv", "b.txt", "x/y/z/moved.txt"],
    &["ln", "-s", "a.txt", "sym"],
    &["cat", "sym"],
    &["touch", "newfile"],
    &["sort", "a.txt", "-o", "sorted.txt"],
    &["uniq", "-c", "sorted.txt"],
    &["dd", "if=bin.dat", "of=dd.out", "bs=7", "status=none"],
    &["split", "-b", "300", "bin.dat", "part-"],
    &["sha256sum", "bin.dat", "a.txt", "dd.out"],
    &["wc", "a.txt", "bin.dat"],
    &["head", "-n", "2", "a.txt"],
    &["tail", "-c", "5", "sorted.txt"],
    &["find", ".", "-name", "*.txt", "-newer", "/etc/passwd"],
    &["du", "-a", "--apparent-size", "-b", "sub"],
    &["tar", "cf", "arch.tar", "sub"],
    &["tar", "tf", "arch.tar"],
    &["rm", "-r", "subcopy"],
    &["rm", "copy.txt", "part-aa"],
    &["rm", "-r", "x"],
    &["cat", "no-such-file"],
    &["cp", "no-such-file", "target"],
    &["rmdir", "sub"],
    LS,
];

#[test]
fn coreutils_under_default_policy_as_natively() {
    compare_steps(None, STEPS);
}

#[test]
fn coreutils_under_a_policy_file_as_natively() {
    let pdir = TempDir::new("fn-coreutils-policy");
    let p = write_policy(
        pdir.path(),
        "project.json",
        r#"{
  "version": 1,
  "include": ["@system"],
  "filesystem": {
    "default": "deny",
    "rules": [ { "path": "${CWD}", "access": "rw", "comment": "the project" } ]
  }
}"#,
    );
    compare_steps(Some(p.to_str().expect("utf-8")), STEPS);
}

/// The brief's own words: `ls -la` shows the same names; `cp`, `mkdir -p`
/// and `rm -r` make files appear and disappear on disk.
#[test]
fn files_appear_and_disappear_on_disk() {
    let cwd = TempDir::new("fn-coreutils-disk");
    populate(&cwd);
    let run = |argv: &[&str]| {
        let out = run_with(None, cwd.path(), argv);
        assert_eq!(out.code, 0, "{argv:?}:\n{}", show(&out));
        out
    };
    let out = run(&["cat", "a.txt"]);
    assert_eq!(out.stdout, "zebra\napple\nmango\napple\n");
    run(&["cp", "a.txt", "copy.txt"]);
    assert_eq!(
        std::fs::read(cwd.join("copy.txt")).expect("copy exists"),
        std::fs::read(cwd.join("a.txt")).expect("a.txt")
    );
    run(&["mkdir", "-p", "one/two/three"]);
    assert!(cwd.join("one/two/three").is_dir());
    run(&["cp", "a.txt", "one/two/three/"]);
    assert!(cwd.join("one/two/three/a.txt").is_file());
    run(&["rm", "-r", "one"]);
    assert!(!cwd.join("one").exists());
    run(&["rm", "copy.txt"]);
    assert!(!cwd.join("copy.txt").exists());
    let out = run(LS);
    let nat = native(cwd.path(), LS);
    assert_eq!(ls_names(&out.stdout), ls_names(&nat.stdout));
    assert!(ls_names(&out.stdout).contains(&".hidden".to_string()));
}

/// Outside the current directory the default policy is read-only: the
/// same coreutils that work in the project fail to write elsewhere.
#[test]
fn coreutils_cannot_write_outside_the_project() {
    let cwd = TempDir::new("fn-coreutils-outside");
    // Not under /tmp: the default policy makes $TMPDIR (or /tmp) writable.
    let outside = std::path::PathBuf::from(format!(
        "/var/tmp/fdsup-functional-outside-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&outside);
    std::fs::create_dir_all(&outside).expect("mkdir outside");
    std::fs::write(outside.join("f"), "outside\n").expect("write");
    let f = outside.join("f");
    let out = run_with(
        None,
        cwd.path(),
        &["cp", "/etc/passwd", f.to_str().expect("utf-8")],
    );
    let unchanged = std::fs::read_to_string(&f).expect("read");
    let _ = std::fs::remove_dir_all(&outside);
    assert_ne!(out.code, 0, "{}", show(&out));
    assert_eq!(unchanged, "outside\n");
    let out = run_with(None, cwd.path(), &["cat", "/etc/passwd"]);
    assert_eq!(out.code, 0, "reading /etc is allowed:\n{}", show(&out));
}

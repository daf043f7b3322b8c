//! `access`/`faccessat`/`faccessat2` answer what an open would: a hidden path
//! does not exist, a denied one is refused, `W_OK` on `ro` is refused, and
//! what the policy allows gets the kernel's own answer. Plus the reason it
//! matters: `git status` under `@default` (git asks `access()` before it opens
//! its config files and treats an open that then fails as fatal).
//!
//! Mode-specific: in visible mode `access` is the kernel's (SPEC.md,
//! `metadata`), so with `FDSUP_TEST_METADATA=visible` the first test asserts
//! the kernel's answers and the second the limit README states (git under
//! `@default` with a hidden `~/.gitconfig` stops; `policies/git.json`, which
//! shows git its configuration, works).

use fdsup_tests::*;

const PY: &str = "/usr/bin/python3";

#[test]
fn access_answers_as_the_open_would() {
    let t = TempDir::new("access");
    t.write("ro/file", "r");
    t.write("rw/file", "w");
    t.write("secret/s", "s");
    t.write("deny/d", "d");
    let policy = write_policy(
        t.path(),
        "p.json",
        &format!(
            r#"{{"version": 1, "include": ["@system"], "filesystem": {{ "rules": [
                {{"path": "{d}/ro", "access": "ro"}},
                {{"path": "{d}/rw", "access": "rw"}},
                {{"path": "{d}/secret", "access": "hide"}},
                {{"path": "{d}/deny", "access": "deny"}} ]}} }}"#,
            d = t.path().display()
        ),
    );
    let script = r#"
import os, sys
d = sys.argv[1]
def e(p, m):
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    r = libc.access(os.path.join(d, p).encode(), m)
    return "0" if r == 0 else os.strerror(ctypes.get_errno())
for p, m in [("ro/file", os.R_OK), ("ro/file", os.W_OK), ("rw/file", os.W_OK),
             ("secret/s", os.F_OK), ("secret/none", os.F_OK), ("deny/d", os.R_OK),
             ("rw/none", os.F_OK)]:
    print(p, m, e(p, m))
"#;
    let out = sandboxed(
        &policy,
        t.path(),
        &[PY, "-c", script, t.path().to_str().expect("utf-8")],
    );
    out.expect_code(0);
    let want = if visible_forced() {
        // The kernel's answers (the test runs as root, or owns the files).
        [
            "ro/file 4 0",
            "ro/file 2 0",
            "rw/file 2 0",
            "secret/s 0 0",
            "secret/none 0 No such file or directory",
            "deny/d 4 0",
            "rw/none 0 No such file or directory",
        ]
    } else {
        [
            "ro/file 4 0",
            "ro/file 2 Permission denied",
            "rw/file 2 0",
            "secret/s 0 No such file or directory",
            "secret/none 0 No such file or directory",
            "deny/d 4 Permission denied",
            "rw/none 0 No such file or directory",
        ]
    };
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, want, "stderr:\n{}", out.stderr);
}

#[test]
fn git_status_works_under_the_default_policy() {
    require("git");
    let t = TempDir::new("git");
    // A home of its own with a ~/.gitconfig, which @default hides (the
    // sandboxed runs' TMPDIR is the work tree, below).
    let home = TempDir::new("git-home");
    home.write(".gitconfig", "[user]\n\tname = fdsup test\n");
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        c.args(args).current_dir(t.path()).env("HOME", home.path());
        run_cmd(&mut c, TIMEOUT).expect_code(0).stdout.clone()
    };
    git(&["init", "-q", "."]);
    t.write("a.txt", "a\n");
    let native = git(&["status", "--short"]);
    let sandboxed = |policy: &str| {
        let mut c = fdsup_cmd(
            ["run", "--policy", policy, "--", "git", "status", "--short"],
            t.path(),
        );
        // ${TMPDIR} is the work tree too, so that the home is outside
        // every rw rule of @default.
        c.env("HOME", home.path()).env("TMPDIR", t.path());
        run_cmd(&mut c, TIMEOUT)
    };
    let out = sandboxed("@default");
    if visible_forced() {
        // README, Limits: access() is the kernel's, so git sees the hidden
        // ~/.gitconfig, then cannot open it, and stops.
        assert_ne!(out.code, 0, "stdout:\n{}", out.stdout);
        assert!(
            out.stderr.contains("configuration files"),
            "stderr:\n{}",
            out.stderr
        );
        let git_json = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/git.json");
        let out = sandboxed(git_json);
        out.expect_code(0);
        assert_eq!(out.stdout, native, "stderr:\n{}", out.stderr);
        return;
    }
    out.expect_code(0);
    assert_eq!(out.stdout, native, "stderr:\n{}", out.stderr);
}

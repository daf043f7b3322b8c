//! `access`/`faccessat`/`faccessat2` answer what an open would: a hidden path
//! does not exist, a denied one is refused, `W_OK` on `ro` is refused, and
//! what the policy allows gets the kernel's own answer. Plus the reason it
//! matters: `git status` under `@default` (git asks `access()` before it opens
//! its config files and treats an open that then fails as fatal).

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
    let want = [
        "ro/file 4 0",
        "ro/file 2 Permission denied",
        "rw/file 2 0",
        "secret/s 0 No such file or directory",
        "secret/none 0 No such file or directory",
        "deny/d 4 Permission denied",
        "rw/none 0 No such file or directory",
    ];
    let got: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(got, want, "stderr:\n{}", out.stderr);
}

#[test]
fn git_status_works_under_the_default_policy() {
    if std::process::Command::new("git")
        .arg("--version")
        .output()
        .is_err()
    {
        skip!("git is not installed");
    }
    let t = TempDir::new("git");
    let git = |args: &[&str]| {
        let mut c = std::process::Command::new("git");
        c.args(args).current_dir(t.path());
        run_cmd(&mut c, TIMEOUT).expect_code(0).stdout.clone()
    };
    git(&["init", "-q", "."]);
    t.write("a.txt", "a\n");
    let native = git(&["status", "--short"]);
    let out = fdsup_run(["run", "--", "git", "status", "--short"], t.path());
    out.expect_code(0);
    assert_eq!(out.stdout, native, "stderr:\n{}", out.stderr);
}

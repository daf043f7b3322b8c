//! The ready policies in `policies/` (python, build, git, shell, strict):
//! each loads with `fdsup check`, references the schema, has a comment on
//! every rule, and its program works under it, while what it keeps out
//! stays out. Those for look-heavy tools (build, git, python) leave the
//! looks to the kernel (`"metadata": "visible"`) and say why; the others
//! keep them decided.

mod functional_common;

use functional_common::*;
use std::path::PathBuf;

fn ready(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../policies")
        .join(format!("{name}.json"))
}

const READY: [&str; 6] = ["python", "build", "git", "shell", "strict", "project"];

/// Runs `COMMAND` under the ready policy `name` in `dir`.
fn under(name: &str, dir: &TempDir, command: &[&str]) -> Output {
    let policy = ready(name);
    let mut args = vec!["run", "--policy", policy.to_str().unwrap(), "--"];
    args.extend_from_slice(command);
    let mut cmd = fdsup_cmd(&args, dir.path());
    cmd.env_remove("PYTHONDONTWRITEBYTECODE");
    run_cmd(&mut cmd, TIMEOUT)
}

#[test]
fn every_ready_policy_loads_references_the_schema_and_comments_every_rule() {
    let t = TempDir::new("ready-shape");
    for name in READY {
        let path = ready(name);
        let text = std::fs::read_to_string(&path).unwrap();
        let out = fdsup_run(["check", path.to_str().unwrap()], t.path());
        assert_eq!(out.code, 0, "{name}: {}", show(&out));
        assert!(
            !out.stdout.contains("would refuse"),
            "{name}: {}",
            show(&out)
        );
        // The structure, read with Debian's python3 (no JSON crate here).
        let check = format!(
            r#"
import json, sys
p = json.load(open({path:?}))
assert p.get("$schema") == "./schema.json", "no $schema"
assert p.get("comment"), "no top-level comment"
for section in ("filesystem", "network", "exec"):
    for r in p.get(section, {{}}).get("rules", []):
        assert r.get("comment"), "a rule without a comment: %r" % r
fs = p.get("filesystem", {{}})
visible = {visible}
assert fs.get("metadata", "policy") == ("visible" if visible else "policy"), fs.get("metadata")
if visible:
    assert "metadata visible" in fs.get("comment", ""), "the filesystem comment does not say why"
print("ok")
"#,
            path = path.to_str().unwrap(),
            visible = if ["build", "git", "python"].contains(&name) {
                "True"
            } else {
                "False"
            },
        );
        let mode = if ["build", "git", "python"].contains(&name) {
            "filesystem metadata: visible"
        } else {
            "filesystem metadata: policy"
        };
        assert!(out.stdout.contains(mode), "{name}: {}", show(&out));
        let out = native(t.path(), &[PY, "-c", &check]);
        assert_eq!(out.stdout, "ok\n", "{name}: {}", show(&out));
        assert!(text.ends_with('\n'));
    }
}

#[test]
fn python_policy_runs_a_script_that_writes_the_working_directory() {
    let t = TempDir::new("ready-python");
    t.write("pkg/__init__.py", "");
    t.write("pkg/m.py", "def f(x):\n    return x + 1\n");
    t.write(
        "script.py",
        r#"import json, os, socket, tempfile
from pkg.m import f
os.makedirs("out", exist_ok=True)
json.dump({"v": f(41)}, open("out/r.json", "w"))
with tempfile.NamedTemporaryFile("w") as tf:
    tf.write("x")
try:
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    print("network: yes")
except OSError:
    print("network: no")
print("ssh:", os.path.exists(os.path.expanduser("~/.ssh/id_test")))
for f in ("/etc/shadow", os.path.expanduser("~/.ssh/id_test")):
    try:
        open(f)
        print("read")
    except OSError as e:
        print(type(e).__name__)
print(open("out/r.json").read())
"#,
    );
    // A home of its own, with a key, outside every rule of the policy.
    let home = TempDir::new("ready-python-home");
    home.write(".ssh/id_test", "KEY\n");
    let tmp = TempDir::new("ready-python-tmp");
    let policy = ready("python");
    let mut cmd = fdsup_cmd(
        [
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--",
            PY,
            "script.py",
        ],
        t.path(),
    );
    cmd.env_remove("PYTHONDONTWRITEBYTECODE")
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path());
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 0, "{}", show(&out));
    // python.json leaves the looks to the kernel (metadata visible): the
    // key's name shows, its contents do not (nor in policy mode, forced).
    let seen = if forced_metadata() == Some("policy") {
        "False"
    } else {
        "True"
    };
    assert_eq!(
        out.stdout,
        format!("network: no\nssh: {seen}\nFileNotFoundError\nFileNotFoundError\n{{\"v\": 42}}\n"),
        "{}",
        show(&out)
    );
    assert!(t.join("pkg/__pycache__").is_dir());
}

#[test]
fn build_policy_runs_make_and_gcc_and_keeps_the_repository_read_only() {
    let t = TempDir::new("ready-build");
    t.write("util.h", "int twice(int x);\n");
    t.write(
        "util.c",
        "#include \"util.h\"\nint twice(int x) { return 2 * x; }\n",
    );
    t.write(
        "main.c",
        "#include <stdio.h>\n#include \"util.h\"\nint main(void) { printf(\"%d\\n\", twice(21)); return 0; }\n",
    );
    t.write(
        "Makefile",
        "all: hello\nhello: main.o util.o\n\tcc -o $@ $^\n%.o: %.c util.h\n\tgcc -c -O2 -o $@ $<\nplant:\n\techo evil > .git/hooks/pre-commit\n",
    );
    t.write(".git/HEAD", "ref: refs/heads/main\n");
    std::fs::create_dir_all(t.join(".git/hooks")).unwrap();
    let out = under("build", &t, &["make"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(native(t.path(), &["./hello"]).stdout, "42\n");
    let out = under("build", &t, &["make", "plant"]);
    assert_ne!(out.code, 0, "{}", show(&out));
    assert!(!t.join(".git/hooks/pre-commit").exists());
}

#[test]
fn git_policy_commits_branches_and_merges_but_plants_no_hook() {
    let t = TempDir::new("ready-git");
    // The repository exists already (git init writes hooks and config,
    // which the policy keeps read-only).
    let init = native(t.path(), &["git", "init", "-q", "-b", "main", "."]);
    assert_eq!(init.code, 0, "{}", show(&init));
    t.write("a.txt", "one\n");
    let script = r#"set -e
export GIT_AUTHOR_NAME=T GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=T GIT_COMMITTER_EMAIL=t@example.com
git add a.txt
git commit -q -m first
git checkout -q -b topic
echo two >> a.txt
git commit -q -am second
git checkout -q main
git merge -q topic
git log --oneline | wc -l
if echo evil > .git/hooks/pre-commit 2>/dev/null; then echo planted; else echo refused; fi
if git config core.fsmonitor evil 2>/dev/null; then echo configured; else echo refused; fi
"#;
    let out = under("git", &t, &["sh", "-c", script]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "2\nrefused\nrefused\n", "{}", show(&out));
    assert!(!t.join(".git/hooks/pre-commit").exists());
}

#[test]
fn shell_policy_confines_changes_to_the_working_directory() {
    let t = TempDir::new("ready-shell");
    let outside = TempDir::new("ready-shell-outside");
    outside.write("keep.txt", "keep\n");
    let home = TempDir::new("ready-shell-home");
    home.write(".bashrc", "alias ll='ls -l'\n");
    home.write("secret.txt", "secret\n");
    let tmp = TempDir::new("ready-shell-tmp");
    let script = format!(
        r#"mkdir sub && cd sub && echo hi > f && cat f
cat <<EOF
here-document
EOF
head -c 4 /etc/passwd; echo
rm -f {o}/keep.txt 2>/dev/null; if [ -e {o}/keep.txt ]; then echo outside-visible; else echo outside-hidden; fi
if [ -e "$HOME/secret.txt" ]; then echo home-visible; else echo home-hidden; fi
cat "$HOME/secret.txt" 2>/dev/null || echo home-unreadable
head -c 5 "$HOME/.bashrc"; echo
"#,
        o = outside.path().display()
    );
    // An interactive shell reads its commands from standard input.
    let policy = ready("shell");
    let mut cmd = fdsup_cmd(
        [
            "run",
            "--policy",
            policy.to_str().unwrap(),
            "--",
            "sh",
            "-s",
        ],
        t.path(),
    );
    cmd.stdin(std::process::Stdio::piped())
        .env("HOME", home.path())
        .env("TMPDIR", tmp.path());
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // `[ -e ]` is a stat: the kernel's with visible mode forced (shell.json
    // itself is in policy mode), so the names show; nothing opens.
    let seen = if visible_forced() {
        "visible"
    } else {
        "hidden"
    };
    assert_eq!(
        stdout,
        format!("hi\nhere-document\nroot\noutside-{seen}\nhome-{seen}\nhome-unreadable\nalias\n"),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        outside.join("keep.txt").exists(),
        "a file outside was removed"
    );
    assert!(t.join("sub/f").exists());
}

const STRICT_PROBE: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
static const char *try_open(const char *p, int flags) {
    int fd = open(p, flags, 0644);
    if (fd < 0) return errno == ENOENT ? "ENOENT" : errno == EACCES ? "EACCES" : "other";
    close(fd);
    return "ok";
}
int main(void) {
    char buf[64] = {0};
    int fd = open("input.txt", O_RDONLY);
    if (fd < 0 || read(fd, buf, sizeof buf - 1) < 0) return 1;
    printf("input: %s", buf);
    printf("write cwd: %s\n", try_open("out.txt", O_WRONLY | O_CREAT));
    printf("read /etc/passwd: %s\n", try_open("/etc/passwd", O_RDONLY));
    printf("read /usr/bin/sh: %s\n", try_open("/usr/bin/sh", O_RDONLY));
    printf("write tmp: %s\n", try_open("/tmp/fdsup-strict-probe", O_WRONLY | O_CREAT));
    printf("inet socket: %s\n", socket(AF_INET, SOCK_STREAM, 0) < 0 ? "refused" : "made");
    return 0;
}
"#;

#[test]
fn strict_policy_starts_an_unknown_binary_and_lets_it_change_nothing() {
    let t = TempDir::new("ready-strict");
    let bin = compile_c("ready_strict_probe", STRICT_PROBE, &[]);
    std::fs::copy(&bin, t.join("tool")).unwrap();
    t.write("input.txt", "hello\n");
    let out = under("strict", &t, &["./tool"]);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(
        out.stdout,
        "input: hello\nwrite cwd: EACCES\nread /etc/passwd: ENOENT\nread /usr/bin/sh: ENOENT\nwrite tmp: ENOENT\ninet socket: refused\n",
        "{}",
        show(&out)
    );
    assert!(!t.join("out.txt").exists());
}

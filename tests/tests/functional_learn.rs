//! `fdsup run --learn FILE` (SPEC.md, "Learning"): a program run once under
//! learning, then again, in a fresh twin directory, under the policy it
//! wrote, does the same with no refusal in the audit log. For a python3
//! script, a gcc + make build and a git workflow. Also: the learned policy
//! loads with `fdsup check`, includes `@system` without repeating it, has a
//! comment on every rule, never allows what `@system` hides, and an
//! existing file is never replaced.

mod functional_common;

use functional_common::*;
use std::path::Path;
use std::time::Duration;

/// Runs `COMMAND` under `--learn` in `dir`, returning the policy's text.
fn learn(dir: &TempDir, policy: &Path, command: &[&str]) -> String {
    learn_env(dir, policy, command, &[])
}

/// [`learn`] with extra environment variables.
fn learn_env(dir: &TempDir, policy: &Path, command: &[&str], env: &[(&str, &Path)]) -> String {
    let mut args = vec!["run", "--learn", policy.to_str().unwrap(), "--"];
    args.extend_from_slice(command);
    let mut cmd = fdsup_cmd(&args, dir.path());
    cmd.env_remove("PYTHONDONTWRITEBYTECODE");
    // cargo's LD_LIBRARY_PATH (the build tree) is the test runner's, not
    // the program's: with the build tree under $TMPDIR its probes would be
    // learnt as rules the ${TMPDIR} rule shadows.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.envs(env.iter().copied());
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 0, "learning run failed:\n{}", show(&out));
    assert!(
        out.stderr.contains("fdsup: learned"),
        "no summary on stderr:\n{}",
        show(&out)
    );
    std::fs::read_to_string(policy).expect("the learned policy was written")
}

/// Runs `COMMAND` in `dir` under `policy` with an audit log; returns the run
/// and the log's refusals.
fn rerun(dir: &TempDir, policy: &Path, command: &[&str]) -> (Output, Vec<String>) {
    rerun_env(dir, policy, command, &[])
}

/// [`rerun`] with extra environment variables.
fn rerun_env(
    dir: &TempDir,
    policy: &Path,
    command: &[&str],
    env: &[(&str, &Path)],
) -> (Output, Vec<String>) {
    let log = dir.path().with_extension("log");
    let _ = std::fs::remove_file(&log);
    let mut args = vec![
        "run",
        "--policy",
        policy.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
        "--",
    ];
    args.extend_from_slice(command);
    let mut cmd = fdsup_cmd(&args, dir.path());
    cmd.env_remove("PYTHONDONTWRITEBYTECODE");
    // cargo's LD_LIBRARY_PATH (the build tree) is the test runner's, not
    // the program's: with the build tree under $TMPDIR its probes would be
    // learnt as rules the ${TMPDIR} rule shadows.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.envs(env.iter().copied());
    let out = run_cmd(&mut cmd, TIMEOUT);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let _ = std::fs::remove_file(&log);
    let refused = text
        .lines()
        .filter(|l| l.contains("\"decision\":\"deny\"") || l.contains("\"decision\":\"hide\""))
        .map(str::to_owned)
        .collect();
    (out, refused)
}

/// What every learned policy must be: version 1, `@system` included, every
/// rule commented, no rule for what `@system` already allows, and loadable.
fn check_shape(policy: &Path, text: &str, cwd: &Path) {
    let v = text;
    assert!(v.contains("\"version\": 1"), "{v}");
    assert!(v.contains("\"include\": [\"@system\"]"), "{v}");
    // Learnt with the looks left to the kernel (FDSUP_TEST_METADATA=visible),
    // they were not seen: the policy keeps them there.
    assert_eq!(
        v.contains("\"metadata\": \"visible\""),
        visible_forced(),
        "{v}"
    );
    for line in v
        .lines()
        .filter(|l| l.trim_start().starts_with("{ \"path\""))
    {
        assert!(
            line.contains("\"comment\": \""),
            "a rule without a comment: {line}"
        );
        for sys in [
            "\"/usr",
            "\"/etc",
            "\"/lib",
            "\"/bin",
            "\"/proc/self\"",
            "\"/dev/null",
        ] {
            assert!(
                !line.contains(&format!("\"path\": {sys}")),
                "a rule @system covers: {line}"
            );
        }
        assert!(!line.contains("/etc/shadow"), "a secret was learnt: {line}");
    }
    let out = fdsup_run(["check", policy.to_str().unwrap()], cwd);
    assert_eq!(out.code, 0, "fdsup check refuses it:\n{}", show(&out));
    assert!(
        !out.stdout.contains("can never win"),
        "a learned rule is shadowed:\n{}",
        show(&out)
    );
}

fn python_project(t: &TempDir) {
    t.write("data.json", r#"{"n": [3, 1, 2]}"#);
    t.write("pkg/__init__.py", "");
    t.write("pkg/helper.py", "def double(x):\n    return 2 * x\n");
    t.write(
        "script.py",
        r#"import json, os, tempfile, sqlite3
from pkg.helper import double
with open("data.json") as f:
    d = json.load(f)
os.makedirs("out", exist_ok=True)
with open("out/result.txt", "w") as f:
    f.write(str([double(x) for x in sorted(d["n"])]))
with tempfile.TemporaryDirectory() as t:
    db = sqlite3.connect(os.path.join(t, "x.db"))
    db.execute("create table t (x)")
    db.commit()
    db.close()
print(open("out/result.txt").read())
"#,
    );
}

#[test]
fn python_script_reruns_under_its_learned_policy() {
    let store = TempDir::new("learn-py-policy");
    let policy = store.join("learned.json");
    // Each run has a temporary directory of its own: the learned policy
    // names it ${TMPDIR}, whatever it is.
    let tmp_a = TempDir::new("learn-py-tmp-a");
    let tmp_b = TempDir::new("learn-py-tmp-b");
    let first = TempDir::new("learn-py-a");
    python_project(&first);
    let text = learn_env(
        &first,
        &policy,
        &[PY, "script.py"],
        &[("TMPDIR", tmp_a.path())],
    );
    check_shape(&policy, &text, first.path());
    assert!(text.contains("\"path\": \"${CWD}"), "{text}");
    assert!(
        text.contains("\"path\": \"${TMPDIR}\", \"access\": \"rw\""),
        "{text}"
    );

    let second = TempDir::new("learn-py-b");
    python_project(&second);
    let (out, refused) = rerun_env(
        &second,
        &policy,
        &[PY, "script.py"],
        &[("TMPDIR", tmp_b.path())],
    );
    assert_eq!(out.code, 0, "{}\npolicy:\n{text}", show(&out));
    assert_eq!(out.stdout.trim(), "[2, 4, 6]");
    assert!(
        refused.is_empty(),
        "refusals: {refused:#?}\npolicy:\n{text}"
    );
}

fn c_project(t: &TempDir) {
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
        "hello: main.o util.o\n\tcc -o $@ $^\n%.o: %.c util.h\n\tgcc -c -O2 -o $@ $<\n",
    );
}

#[test]
fn gcc_and_make_build_reruns_under_its_learned_policy() {
    let store = TempDir::new("learn-cc-policy");
    let policy = store.join("learned.json");
    let first = TempDir::new("learn-cc-a");
    c_project(&first);
    let text = learn(&first, &policy, &["make"]);
    check_shape(&policy, &text, first.path());
    assert!(first.join("hello").exists());

    let second = TempDir::new("learn-cc-b");
    c_project(&second);
    let (out, refused) = rerun(&second, &policy, &["make"]);
    assert_eq!(out.code, 0, "{}\npolicy:\n{text}", show(&out));
    assert!(
        refused.is_empty(),
        "refusals: {refused:#?}\npolicy:\n{text}"
    );
    let hello = native(second.path(), &["./hello"]);
    assert_eq!(hello.stdout, "42\n");
}

const GIT_WORK: &str = r#"set -e
git init -q -b main .
git config user.email tester@example.com
git config user.name Tester
echo one > a.txt
mkdir -p src && echo 'int x;' > src/x.c
git add .
git commit -q -m first
echo two >> a.txt
git commit -q -am second
git checkout -q -b topic
echo three > b.txt
git add b.txt && git commit -q -m third
git checkout -q main
git merge -q --no-edit topic
git log --oneline | wc -l
git status --short
"#;

#[test]
fn git_workflow_reruns_under_its_learned_policy() {
    let store = TempDir::new("learn-git-policy");
    let policy = store.join("learned.json");
    let script = store.write("work.sh", GIT_WORK);
    let script = script.to_str().unwrap();
    let first = TempDir::new("learn-git-a");
    let text = learn(&first, &policy, &["sh", script]);
    check_shape(&policy, &text, first.path());

    let second = TempDir::new("learn-git-b");
    let (out, refused) = rerun(&second, &policy, &["sh", script]);
    assert_eq!(out.code, 0, "{}\npolicy:\n{text}", show(&out));
    assert_eq!(out.stdout.trim(), "3");
    assert!(
        refused.is_empty(),
        "refusals: {refused:#?}\npolicy:\n{text}"
    );
}

/// Learning with `--metadata visible` sees no look (the kernel answers
/// them), so the policy it writes says `"metadata": "visible"`, and the
/// program reruns under it, in its own mode, with no refusal.
#[test]
fn a_policy_learnt_in_visible_mode_keeps_the_looks_visible() {
    let t = TempDir::new("learn-visible");
    t.write("data.txt", "DATA\n");
    let policy = t.path().with_extension("json");
    let _ = std::fs::remove_file(&policy);
    let script = "ls /usr/share >/dev/null && test -e /etc/shadow && cat data.txt";
    let mut cmd = std::process::Command::new(fdsup());
    cmd.args(["run", "--metadata", "visible", "--learn"])
        .arg(&policy)
        .args(["--", "/bin/sh", "-c", script])
        .current_dir(t.path());
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "DATA\n", "{}", show(&out));
    let text = std::fs::read_to_string(&policy).expect("the learned policy");
    assert!(text.contains("\"metadata\": \"visible\""), "{text}");
    // Its own mode: no --metadata, whatever the suite forces.
    let mut cmd = std::process::Command::new(fdsup());
    cmd.args(["run", "--policy"])
        .arg(&policy)
        .args(["--", "/bin/sh", "-c", script])
        .current_dir(t.path());
    let out = run_cmd(&mut cmd, TIMEOUT);
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "DATA\n", "{}", show(&out));
    let _ = std::fs::remove_file(&policy);
}

#[test]
fn an_existing_file_is_never_replaced_and_the_program_does_not_run() {
    let t = TempDir::new("learn-exists");
    let policy = t.write("learned.json", "mine");
    let out = fdsup_run(
        [
            "run",
            "--learn",
            policy.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "touch ran",
        ],
        t.path(),
    );
    assert_eq!(out.code, 125, "{}", show(&out));
    assert!(out.stderr.contains("already exists"), "{}", show(&out));
    assert_eq!(std::fs::read_to_string(&policy).unwrap(), "mine");
    assert!(!t.join("ran").exists(), "the program ran");
}

#[test]
fn secrets_are_never_learnt_and_the_output_is_hidden_while_learning() {
    let t2 = TempDir::new("learn-secret-2");
    t2.write("data.txt", "hello\n");
    let policy2 = t2.join("learned.json");
    let out = fdsup_run(
        [
            "run",
            "--learn",
            policy2.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "cat /etc/shadow >/dev/null; test -e learned.json && echo seen; cat data.txt",
        ],
        t2.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stdout, "hello\n", "{}", show(&out));
    assert!(
        out.stderr.contains("left out /etc/shadow"),
        "{}",
        show(&out)
    );
    let text = std::fs::read_to_string(&policy2).unwrap();
    let rules: Vec<&str> = text.lines().filter(|l| l.contains("{ \"path\"")).collect();
    assert!(!rules.iter().any(|l| l.contains("shadow")), "{text}");
    assert!(text.contains("\"${CWD}/data.txt\""), "{text}");
}

#[test]
fn learn_takes_no_policy_and_quiet_says_nothing() {
    let t = TempDir::new("learn-cli");
    let policy = t.join("learned.json");
    let out = fdsup_run(
        [
            "run",
            "--learn",
            policy.to_str().unwrap(),
            "--policy",
            "@default",
            "--",
            "true",
        ],
        t.path(),
    );
    assert_eq!(out.code, 125, "{}", show(&out));
    assert!(!policy.exists());
    let out = fdsup_run(
        [
            "run",
            "-q",
            "--learn",
            policy.to_str().unwrap(),
            "--",
            "true",
        ],
        t.path(),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    assert_eq!(out.stderr, "", "{}", show(&out));
    let text = std::fs::read_to_string(&policy).unwrap();
    assert!(text.contains("\"include\": [\"@system\"]"), "{text}");
    let out = fdsup_run(["check", policy.to_str().unwrap()], t.path());
    assert_eq!(out.code, 0, "{}", show(&out));
}

/// A script that connects to a loopback server: the address is learnt as a
/// `connect` rule, and the rerun reaches the server with no refusal. The
/// server (a thread of this test) counts the connections it accepted: one
/// while learning, one in the rerun.
#[test]
fn connects_are_learnt_and_the_rerun_reaches_the_server() {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let mut served = 0;
        for _ in 0..2 {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.write_all(b"hello\n");
                    served += 1;
                }
                Err(_) => break,
            }
        }
        served
    });
    let script = format!(
        "import socket\n\
         s = socket.create_connection(('127.0.0.1', {port}))\n\
         print(s.recv(100).decode().strip())\n"
    );
    let dir = TempDir::new("learn-net");
    dir.write("client.py", &script);
    let pdir = TempDir::new("learn-net-policy");
    let policy = pdir.join("learned.json");
    let text = learn(&dir, &policy, &["/usr/bin/python3", "client.py"]);
    assert!(
        text.contains(&format!("\"connect\": \"127.0.0.1:{port}\"")),
        "the connect was not learnt:\n{text}"
    );
    check_shape(&policy, &text, dir.path());
    let twin = TempDir::new("learn-net-rerun");
    twin.write("client.py", &script);
    let (out, refused) = rerun(&twin, &policy, &["/usr/bin/python3", "client.py"]);
    assert_eq!(out.code, 0, "rerun failed:\n{}", show(&out));
    assert_eq!(out.stdout.trim(), "hello", "{}", show(&out));
    assert!(refused.is_empty(), "refusals: {refused:#?}");
    assert_eq!(server.join().expect("server"), 2);
}

/// Learns `learn_many_paths DIR COUNT SHAPE` (distinct absent paths) and
/// returns the run, how long it took and the policy learnt.
fn learn_many(count: usize, shape: &str, timeout: Duration) -> (Output, Duration, String) {
    let dir = TempDir::new("learn-many");
    let policy = dir.path().join("learned.json");
    let program = c_program("learn_many_paths");
    let count = count.to_string();
    let mut cmd = fdsup_cmd(
        [
            "run",
            "--learn",
            policy.to_str().unwrap(),
            "--",
            program.to_str().unwrap(),
            dir.path().to_str().unwrap(),
            &count,
            shape,
        ],
        dir.path(),
    );
    let t0 = std::time::Instant::now();
    let out = run_cmd(&mut cmd, timeout);
    let took = t0.elapsed();
    (
        out,
        took,
        std::fs::read_to_string(&policy).unwrap_or_default(),
    )
}

/// A program that looks up many long, distinct paths cannot make fdsup
/// take minutes and gigabytes to write what it learnt: every directory
/// above every path was a candidate rule, built as a string of its own (300
/// paths of 2,000 components: more than ten minutes and 1.2 GiB, then
/// killed), and every rule was compared with every other (50,000 paths:
/// five minutes). The positive control: a few such paths are learnt the
/// same way, quickly.
#[test]
fn learning_many_long_paths_ends_promptly() {
    let (few, _, learnt) = learn_many(3, "deep", TIMEOUT);
    assert_eq!(few.code, 0, "{}", show(&few));
    assert!(few.stdout.contains("looked_up=3"), "{}", show(&few));
    assert!(learnt.contains("${CWD}/x000002/a/a/"), "{learnt}");
    let limit = Duration::from_secs(90);
    for (count, shape) in [(200, "deep"), (30_000, "wide")] {
        let (out, took, learnt) = learn_many(count, shape, limit);
        assert_eq!(out.code, 0, "{count} {shape} paths: {}", show(&out));
        let last = format!("${{CWD}}/x{:06}", count - 1);
        assert!(learnt.contains(&last), "{count} {shape} paths: no {last}");
        assert!(took < limit, "{count} {shape} paths took {took:?}");
    }
}

/// A name with `*` is a pattern in a policy, and a policy has no way to
/// escape it: a program that looked up `$HOME/**` and `/**` (absent: no
/// file of that name is needed) had them learnt as rules, and under the
/// learned policy read everything in `$HOME` (and everything `@system`
/// does not hide). Such names are left out, with a note. The positive
/// control: what the program really read is learnt and read again.
#[test]
fn a_name_with_a_star_is_not_learnt_as_a_pattern() {
    let dir = TempDir::new("learn-star");
    let home = TempDir::new("learn-star-home");
    dir.write("used.txt", "used\n");
    let secret = home.write("secret.txt", "not to be learnt\n");
    let policy = dir.path().join("learned.json");
    let env = [("HOME", home.path())];
    let text = learn_env(
        &dir,
        &policy,
        &[
            "sh",
            "-c",
            "test -e \"$HOME/**\"; test -e '/**'; cat used.txt",
        ],
        &env,
    );
    let starred = text
        .lines()
        .any(|l| l.contains("\"path\":") && l.contains("/**"));
    assert!(!starred, "a pattern was learnt:\n{text}");
    let (ok, _) = rerun_env(&dir, &policy, &["cat", "used.txt"], &env);
    assert_eq!(ok.code, 0, "positive control: {}", show(&ok));
    assert_eq!(ok.stdout, "used\n");
    let (out, _) = rerun_env(&dir, &policy, &["cat", secret.to_str().unwrap()], &env);
    assert_ne!(out.code, 0, "the secret was read: {}", show(&out));
    assert!(!out.stdout.contains("not to be learnt"), "{}", show(&out));
}

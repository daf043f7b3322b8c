//! Adversarial: the tree changes under the sandboxed program from outside.
//! While the program (`tests/c/adv_outside.c`) stats and opens in a loop,
//! through a directory descriptor it holds and by path, this test (another
//! process, outside the sandbox) moves that directory into a hidden tree
//! and puts a new directory, or a symbolic link to the moved one, at its
//! name; or moves an ancestor of it. From the moment the move is done, the
//! program must see nothing through its old descriptor (the directory now
//! lies in the hidden tree), must find the new file by path, and nothing
//! through the link. Whatever the supervisor remembers between requests
//! (directories, paths, decisions) must follow. Positive controls: the old
//! file is read through the descriptor before the move, the new one by path
//! after it.

#[path = "adversarial_support.rs"]
mod support;

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fdsup_tests::{fdsup_cmd, visible_forced, TempDir};
use support::{bin_rule, prog, s};

/// The rounds, one per move (see the C program).
const MODES: [&str; 9] = [
    "dir", "link", "up", "dir", "link", "up", "dir", "link", "up",
];

fn wait_for(path: &Path, what: &str, child: &mut std::process::Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the program ended ({status}) before {what}");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

/// The scratch tree (`allowed`, `hidden`) and its policy.
struct Tree {
    _tmp: TempDir,
    dir: std::path::PathBuf,
    policy: std::path::PathBuf,
}

fn tree(tag: &str) -> Tree {
    let tmp = TempDir::new(tag);
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical scratch");
    std::fs::create_dir_all(dir.join("allowed")).expect("mkdir allowed");
    std::fs::create_dir_all(dir.join("hidden")).expect("mkdir hidden");
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
      {{ "path": "{d}/allowed", "access": "rw" }},
      {{ "path": "{d}/hidden", "access": "hide" }}
    ]
  }}
}}
"#,
            bin = bin_rule()
        ),
    );
    Tree {
        _tmp: tmp,
        dir,
        policy,
    }
}

/// Runs the rounds of `modes` against the program started by `cmd` (its
/// output piped), making each move when the program is ready; returns its
/// exit status and output.
fn drive(
    mut cmd: std::process::Command,
    dir: &Path,
    modes: &[&str],
) -> (Option<i32>, String, String) {
    let allowed = dir.join("allowed");
    let hidden = dir.join("hidden");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the program");
    for (r, mode) in modes.iter().enumerate() {
        let marker = |name: &str| allowed.join(format!("{name}.{r}"));
        let held = if *mode == "up" {
            allowed.join("up/d")
        } else {
            allowed.join("d")
        };
        write(&held.join("f"), &format!("OLD-{r}\n"));
        write(&marker("go"), "");
        wait_for(&marker("ready"), &format!("ready.{r}"), &mut child);
        // Let the program loop over the old directory for a while.
        std::thread::sleep(Duration::from_millis(20));
        match *mode {
            "dir" => {
                std::fs::rename(&held, hidden.join(format!("d{r}"))).expect("move d");
                let fresh = allowed.join(format!(".new{r}"));
                write(&fresh.join("f"), &format!("NEW-{r}\n"));
                std::fs::rename(&fresh, &held).expect("new d");
            }
            "link" => {
                std::fs::rename(&held, hidden.join(format!("d{r}"))).expect("move d");
                std::os::unix::fs::symlink(format!("../hidden/d{r}"), &held).expect("link d");
            }
            _ => {
                std::fs::rename(allowed.join("up"), hidden.join(format!("up{r}")))
                    .expect("move up");
                write(&held.join("f"), &format!("NEW-{r}\n"));
            }
        }
        write(&marker("moved"), "");
        wait_for(&marker("done"), &format!("done.{r}"), &mut child);
        // Clear the name for the next round.
        match *mode {
            "link" => std::fs::remove_file(&held).expect("remove the link"),
            "dir" => std::fs::remove_dir_all(&held).expect("remove d"),
            _ => std::fs::remove_dir_all(allowed.join("up")).expect("remove up"),
        }
    }
    let out = child.wait_with_output().expect("wait for the program");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn moves_from_outside_are_seen_at_once() {
    let t = tree("outside");
    // Looks are the kernel's with metadata visible: only opens are checked.
    let stats = if visible_forced() { "0" } else { "1" };
    let program = prog("adv_outside");
    let mut args = vec![
        "run".to_owned(),
        "--policy".to_owned(),
        s(&t.policy).to_owned(),
        "--".to_owned(),
        s(&program).to_owned(),
        s(&t.dir).to_owned(),
        stats.to_owned(),
    ];
    args.extend(MODES.iter().map(|m| (*m).to_owned()));
    let (code, stdout, stderr) = drive(fdsup_cmd(&args, &t.dir), &t.dir, &MODES);
    let context = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(code, Some(0), "exit status\n{context}");
    let rounds: Vec<&str> = stdout.lines().filter(|l| l.starts_with("round ")).collect();
    assert_eq!(rounds.len(), MODES.len(), "one line per round\n{context}");
    assert!(
        !stdout.lines().any(|l| l.starts_with("violation:")),
        "the program saw what it must not\n{context}"
    );
    for (line, mode) in rounds.iter().zip(MODES) {
        eprintln!("{line}");
        assert_eq!(field(line, "violations"), 0, "{line}\n{context}");
        assert!(
            field(line, "old_via_fd") > 0,
            "the old file was never read through the descriptor before the move: {line}"
        );
        assert!(field(line, "refused") > 0, "{line}");
        if mode != "link" {
            assert!(
                field(line, "new_by_path") > 0,
                "the new file was never read after the move: {line}"
            );
        }
    }
}

/// The checks can fail: run natively, the program reads the moved
/// directory's file through its descriptor after the move, and follows the
/// link into the hidden tree.
#[test]
fn the_checks_see_a_program_without_sandbox() {
    let t = tree("outside-native");
    let program = prog("adv_outside");
    let mut cmd = std::process::Command::new(&program);
    cmd.args([s(&t.dir), "1", "dir", "link"])
        .current_dir(&t.dir);
    let (code, stdout, stderr) = drive(cmd, &t.dir, &["dir", "link"]);
    assert_eq!(code, Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for line in stdout.lines().filter(|l| l.starts_with("round ")) {
        assert!(field(line, "violations") > 0, "{line}\n{stdout}");
    }
}

fn field(line: &str, name: &str) -> u64 {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name)?.strip_prefix('=')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

//! The files fdsup writes for the user (SPEC.md, "Files fdsup writes";
//! issue 14, finding 9): the audit log and a learned policy are created
//! mode 0600 whatever the umask (here 022, under which 32f61e4 made the log
//! 0644 and the learned policy 0666), never through a symbolic link (one
//! planted at the path is refused with an error that says so, and its
//! target is left untouched), and never rewritten in place: a log is
//! appended to (an existing one keeps its contents and mode), a learned
//! policy is renamed into place and never replaces anything, even a link
//! the program plants there while it is being learnt.

use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::Path;

use fdsup_tests::{run_cmd, Output, TempDir, TIMEOUT};

/// Runs `fdsup ARGS...` in `dir` with umask 022 (as a login shell has it).
fn fdsup_umask_022(dir: &Path, args: &[&str]) -> Output {
    let mut c = std::process::Command::new("/bin/sh");
    c.args(["-c", "umask 022; exec \"$0\" \"$@\""])
        .arg(fdsup_tests::fdsup())
        .args(args)
        .current_dir(dir);
    run_cmd(&mut c, TIMEOUT)
}

fn mode(p: &Path) -> u32 {
    std::fs::symlink_metadata(p)
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
        .mode()
        & 0o7777
}

/// A run that makes one refused request (`/etc/shadow` is hidden under
/// `@default`), so that the log gets a line.
const REFUSED: [&str; 4] = [
    "--",
    "/bin/sh",
    "-c",
    "cat /etc/shadow 2>/dev/null; echo ran",
];

#[test]
fn a_new_audit_log_is_0600() {
    let dir = TempDir::new("files-log-mode");
    let log = dir.join("audit.jsonl");
    let mut args = vec!["run", "--log", log.to_str().expect("utf-8")];
    args.extend(REFUSED);
    let out = fdsup_umask_022(dir.path(), &args);
    out.expect_code(0);
    assert_eq!(out.stdout, "ran\n");
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(text.contains("/etc/shadow"), "log:\n{text}");
    assert_eq!(mode(&log), 0o600, "the audit log's mode");
}

#[test]
fn an_existing_audit_log_is_appended_to_and_keeps_its_mode() {
    let dir = TempDir::new("files-log-append");
    let log = dir.write("audit.jsonl", "{\"earlier\":true}\n");
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let mut args = vec!["run", "--log", log.to_str().expect("utf-8")];
    args.extend(REFUSED);
    fdsup_umask_022(dir.path(), &args).expect_code(0);
    let text = std::fs::read_to_string(&log).expect("the log");
    assert!(
        text.starts_with("{\"earlier\":true}\n") && text.contains("/etc/shadow"),
        "the earlier line kept, the new one appended; log:\n{text}"
    );
    assert_eq!(mode(&log), 0o640, "an existing log keeps its mode");
}

/// A link at the log path, live or dangling: refused before the program
/// starts (125), with an error naming it; its target untouched or absent.
#[test]
fn a_symlink_at_the_log_path_is_refused() {
    let dir = TempDir::new("files-log-link");
    let target = dir.write("target", "untouched\n");
    let ran = dir.join("ran");
    for (name, to) in [
        ("live.jsonl", target.clone()),
        ("dangling.jsonl", dir.join("absent")),
    ] {
        let link = dir.join(name);
        symlink(&to, &link).expect("plant the link");
        let out = fdsup_umask_022(
            dir.path(),
            &[
                "run",
                "--log",
                link.to_str().expect("utf-8"),
                "--",
                "/bin/sh",
                "-c",
                &format!(": > '{}'", ran.display()),
            ],
        );
        out.expect_code(125);
        assert!(
            out.stderr.contains("symbolic link") && out.stderr.contains(name),
            "the error must say the log path is a symbolic link; stderr:\n{}",
            out.stderr
        );
        assert!(!ran.exists(), "the program ran despite the refused log");
    }
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "untouched\n"
    );
    assert!(
        !dir.join("absent").exists(),
        "the dangling link's target was created"
    );
}

/// What is in `dir` besides `keep`: a learned policy's temporary file must
/// not be left behind.
fn others(dir: &Path, keep: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

#[test]
fn a_learned_policy_is_0600() {
    let dir = TempDir::new("files-learn-mode");
    let out_dir = dir.join("out");
    std::fs::create_dir(&out_dir).expect("mkdir");
    let learned = out_dir.join("learned.json");
    let out = fdsup_umask_022(
        dir.path(),
        &[
            "run",
            "--learn",
            learned.to_str().expect("utf-8"),
            "--",
            "/bin/true",
        ],
    );
    out.expect_code(0);
    assert!(std::fs::read_to_string(&learned)
        .expect("learned")
        .contains("\"version\": 1"));
    assert_eq!(mode(&learned), 0o600, "the learned policy's mode");
    assert_eq!(others(&out_dir, &["learned.json"]), Vec::<String>::new());
}

/// A link at the learn path before the run: refused (125, the error says
/// it is a link), the program not run, the target untouched.
#[test]
fn a_symlink_at_the_learn_path_is_refused() {
    let dir = TempDir::new("files-learn-link");
    let target = dir.write("target", "untouched\n");
    let link = dir.join("learned.json");
    symlink(&target, &link).expect("plant the link");
    let ran = dir.join("ran");
    let out = fdsup_umask_022(
        dir.path(),
        &[
            "run",
            "--learn",
            link.to_str().expect("utf-8"),
            "--",
            "/bin/sh",
            "-c",
            &format!(": > '{}'", ran.display()),
        ],
    );
    out.expect_code(125);
    assert!(
        out.stderr.contains("symbolic link"),
        "the error must say the learn path is a symbolic link; stderr:\n{}",
        out.stderr
    );
    assert!(!ran.exists(), "the program ran");
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "untouched\n"
    );
}

/// A link planted at the learn path while the program runs (after fdsup
/// checked the path; from outside the sandbox, since the program itself
/// cannot see the path: `--learn` hides it): the policy is written neither
/// through it nor over it (125, the error says it is a link), the target is
/// untouched, and no temporary file is left.
#[test]
fn a_symlink_planted_during_learning_is_not_written_through() {
    use std::time::{Duration, Instant};
    let dir = TempDir::new("files-learn-race");
    let target = dir.write("target", "untouched\n");
    let link = dir.join("learned.json");
    let ready = dir.join("ready");
    let mut child = std::process::Command::new("/bin/sh")
        .args(["-c", "umask 022; exec \"$0\" \"$@\""])
        .arg(fdsup_tests::fdsup())
        .args(["run", "--learn"])
        .arg(&link)
        .args(["--", "/bin/sh", "-c"])
        .arg(format!(
            ": > '{}'.started; while [ ! -e '{}' ]; do sleep 0.01; done",
            ready.display(),
            ready.display()
        ))
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start fdsup");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !dir.join("ready.started").exists() {
        assert!(Instant::now() < deadline, "the program never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    symlink(&target, &link).expect("plant the link");
    std::fs::write(&ready, "").expect("release the program");
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("fdsup did not finish");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    assert_eq!(
        status.code(),
        Some(125),
        "fdsup's status; stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("symbolic link"),
        "the error must say the learn path is a symbolic link; stderr:\n{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "untouched\n"
    );
    assert!(
        std::fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink()),
        "the planted link was replaced"
    );
    assert_eq!(
        others(
            dir.path(),
            &["target", "learned.json", "ready", "ready.started", "stderr"]
        ),
        Vec::<String>::new()
    );
}

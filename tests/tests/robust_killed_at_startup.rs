//! Robustness: a supervisor killed while it starts leaves nothing behind.
//!
//! fdsup forks its shim before it loads the policy. Here the policy is a
//! FIFO nobody writes, so fdsup waits in loading it while the shim waits for
//! its filters; fdsup is then killed with SIGKILL. The shim must notice
//! (end-of-file on its hand-off socket) and exit without running the
//! program. The positive control: the same FIFO, once written, lets the run
//! go through.

use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use fdsup_tests::TempDir;

fn children_of(pid: u32) -> Vec<u32> {
    let path = format!("/proc/{pid}/task/{pid}/children");
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn alive(pid: u32) -> bool {
    // A zombie has exited: only a running or sleeping process counts.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next().map(str::to_owned))
        })
        .is_some_and(|state| state != "Z" && state != "X")
}

fn mkfifo(path: &std::path::Path) {
    let st = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo");
    assert!(st.success());
}

/// `fdsup run --policy FIFO -- touch MARKER` in `dir`, in a process group
/// of its own: fdsup then waits for the policy. Returns the FIFO's and the
/// marker's paths.
fn start(dir: &TempDir) -> (Child, PathBuf, PathBuf) {
    let fifo = dir.join("policy.json");
    mkfifo(&fifo);
    let marker = dir.join("ran");
    let sup = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path())
        .arg(&fifo)
        .args(["--", "/usr/bin/touch"])
        .arg(&marker)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("fdsup");
    (sup, fifo, marker)
}

#[test]
fn a_supervisor_killed_while_starting_leaves_no_shim_behind() {
    let dir = TempDir::new("rob-startkill");
    let (mut sup, _fifo, marker) = start(&dir);
    // Wait for the shim to exist (fdsup forks it before loading the policy).
    let t0 = Instant::now();
    let shim = loop {
        if let Some(&c) = children_of(sup.id()).first() {
            break c;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no shim appeared");
        std::thread::sleep(Duration::from_millis(10));
    };
    sup.kill().expect("kill fdsup");
    sup.wait().expect("wait fdsup");
    let t0 = Instant::now();
    while alive(shim) {
        if t0.elapsed() > Duration::from_secs(5) {
            // Not left running (it holds the test's output open).
            let _ = std::process::Command::new("kill")
                .args(["-9", &shim.to_string()])
                .status();
            panic!("the shim {shim} was still running 5 s after its supervisor was killed");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!marker.exists(), "the program ran without a supervisor");
}

#[test]
fn positive_control_the_same_fifo_policy_once_written_runs_the_program() {
    let dir = TempDir::new("rob-startkill-ok");
    let (mut sup, fifo, marker) = start(&dir);
    let mut w = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open fifo");
    w.write_all(br#"{ "version": 1, "include": ["@default"] }"#)
        .expect("write policy");
    drop(w);
    let st = sup.wait().expect("wait fdsup");
    assert!(st.success(), "fdsup failed: {st}");
    assert!(marker.exists(), "the program did not run");
}

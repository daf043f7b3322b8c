//! Robustness: opens that wait for someone else. A FIFO opened with no
//! writer blocks only its own thread (the supervisor serves it off its
//! workers), so other opens go on; and FIFOs between two sandboxed processes
//! carry their data (`tests/c/rob_fifo_nostall.c`, `sh`).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::TempDir;
use support::{prog, s, sandboxed_env, Checks};

fn no_stall(workers: Option<&str>) {
    let dir = TempDir::new("rob-fifo");
    let file = dir.write("ok.txt", "ok\n");
    let program = prog("rob_fifo_nostall");
    let envs: Vec<(&str, &str)> = workers.map(|w| ("FDSUP_WORKERS", w)).into_iter().collect();
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &envs,
        &[s(&program), s(dir.path()), "4", "1000", s(&file)],
        Duration::from_secs(60),
    );
    let mut c = Checks::new(&out);
    if out.code == 128 + libc::SIGALRM {
        c.fail("the program hung (its 30 s watchdog fired)".to_owned());
    } else if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    if !out
        .stdout
        .lines()
        .any(|l| l.starts_with("opens_ok=1000 of 1000"))
    {
        c.fail("the 1,000 ordinary opens did not all succeed while the readers waited".to_owned());
    }
    // Else the readers were not waiting and the test proves nothing.
    c.eq("readers_done_before_release", "0");
    c.eq("readers_ok", "4 of 4");
    c.finish();
}

#[test]
fn waiting_fifo_opens_do_not_stall_other_opens() {
    no_stall(None);
}

#[test]
fn waiting_fifo_opens_do_not_stall_other_opens_with_one_worker() {
    no_stall(Some("1"));
}

fn sh(script: &str) -> fdsup_tests::Output {
    let dir = TempDir::new("rob-fifo-sh");
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[],
        &["sh", "-c", script],
        Duration::from_secs(30),
    );
    drop(dir);
    out
}

#[test]
fn a_fifo_between_two_processes_carries_data_reader_first() {
    let out = sh("mkfifo f && { cat f & echo hi > f; wait; }");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "hi\n"),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn a_fifo_between_two_processes_carries_data_writer_first() {
    let out = sh("mkfifo f && { (echo hi > f) & sleep 0.2; cat f; wait; }");
    assert_eq!(
        (out.code, out.stdout.as_str()),
        (0, "hi\n"),
        "stderr:\n{}",
        out.stderr
    );
}

#[test]
fn a_fifo_between_two_processes_carries_bulk_data() {
    let out = sh("mkfifo f && { seq 1 20000 > f & wc -l < f; wait; }");
    assert_eq!(
        (out.code, out.stdout.trim()),
        (0, "20000"),
        "stdout:\n{}\nstderr:\n{}",
        out.stdout,
        out.stderr
    );
}

#[test]
fn a_killed_fifo_reader_leaves_no_reader_behind() {
    let dir = TempDir::new("rob-fifo-phantom");
    let fifo = dir.join("f");
    nix_mkfifo(&fifo);
    let program = prog("rob_fifo_phantom");
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[],
        &[s(&program), s(&fifo)],
        Duration::from_secs(60),
    );
    let mut c = Checks::new(&out);
    c.eq("after_killed_reader", "ERR:ENXIO");
    c.eq("with_waiting_reader", "OK");
    c.finish();
}

fn nix_mkfifo(p: &std::path::Path) {
    let out = fdsup_tests::run_cmd(
        std::process::Command::new("mkfifo").arg(p),
        Duration::from_secs(10),
    );
    out.expect_code(0);
}

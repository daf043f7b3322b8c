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

/// Runs `rob_fifo_crowd` with `n` readers of one FIFO, sandboxed or not.
fn crowd(n: usize, sandbox: bool) -> fdsup_tests::Output {
    let dir = TempDir::new("rob-fifo-crowd");
    let fifo = dir.path().join("f");
    nix_mkfifo(&fifo);
    let program = prog("rob_fifo_crowd");
    let n = n.to_string();
    let args = [s(&program), s(&fifo), &n];
    if sandbox {
        sandboxed_env(
            "@default".as_ref(),
            dir.path(),
            &[],
            &args,
            Duration::from_secs(90),
        )
    } else {
        fdsup_tests::run_cmd(
            std::process::Command::new(args[0]).args(&args[1..]),
            Duration::from_secs(90),
        )
    }
}

/// A thousand opens wait at once on one FIFO (under the bound of waiting
/// requests), each on a thread of fdsup's own that looks every so often
/// whether its request is still there; then a writer comes. Every reader
/// gets its descriptor, as natively: a look at the request interrupted by
/// the thread's own timer is not a request gone (it was: some readers got
/// EACCES, answered for a task that was waiting all along).
#[test]
fn a_crowd_of_waiting_fifo_opens_all_succeed() {
    // Positive control: natively, every reader gets its descriptor.
    let native = crowd(1000, false);
    assert!(
        native.stdout.contains("readers_ok=1000 of 1000"),
        "natively:\n{}",
        native.stdout
    );
    for _ in 0..3 {
        let out = crowd(1000, true);
        let errors: Vec<&str> = out
            .stdout
            .lines()
            .filter(|l| l.starts_with("reader_err"))
            .collect();
        assert!(
            out.code == 0 && out.stdout.contains("readers_ok=1000 of 1000"),
            "code {}; failures: {errors:?}\nstderr: {}",
            out.code,
            out.stderr
        );
    }
}

/// The same crowd under the usual soft limit of 1,024 descriptors (the
/// hard one higher): fdsup holds a descriptor for each waiting open, and
/// ran out of its own (about half the readers got EMFILE, which natively
/// they do not). fdsup raises its own soft limit; the program keeps the
/// one it was given.
#[test]
fn a_crowd_of_waiting_fifo_opens_does_not_exhaust_fdsups_descriptors() {
    let dir = TempDir::new("rob-fifo-nofile");
    let fifo = dir.path().join("f");
    nix_mkfifo(&fifo);
    let program = prog("rob_fifo_crowd");
    let fdsup = fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path());
    let mut c = std::process::Command::new("sh");
    c.current_dir(dir.path())
        .arg("-c")
        .arg("ulimit -Sn 1024 && exec \"$@\"")
        .arg("sh")
        .arg(fdsup.get_program())
        .args(fdsup.get_args())
        .arg(&program)
        .arg(&fifo)
        .arg("1000");
    let out = fdsup_tests::run_cmd(&mut c, Duration::from_secs(90));
    let errors: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("reader_err"))
        .collect();
    assert!(
        out.stdout.contains("nofile_soft=1024\n"),
        "the program's limit is not the one it was given:\n{}\n{}",
        out.stdout,
        out.stderr
    );
    assert!(
        out.code == 0 && out.stdout.contains("readers_ok=1000 of 1000"),
        "code {}; {} failures: {:?}\nstderr: {}",
        out.code,
        errors.len(),
        errors.first(),
        out.stderr
    );
}

//! Load: many tasks asking at once (issue 14, "Load and faults"). Each test
//! says what it bounds; the supervisor is sampled from `/proc/<pid>` every
//! 5 ms while the program runs (`tests/c/rob_load.c`).

mod load_support;
#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::TempDir;
use load_support::{max_supervisor_fds, run_sampled, MAX_SUPERVISOR_THREADS};
use support::{prog, s, Checks};

/// Bounds: 1,000 threads, released at once by a barrier, each opening and
/// reading a file 20 times (20,000 opens, up to 1,000 waiting in the
/// supervisor at once): every open succeeds, the run ends within 120 s, and
/// fdsup never has more than [`MAX_SUPERVISOR_THREADS`] threads or
/// [`max_supervisor_fds`] descriptors.
#[test]
fn a_thousand_threads_open_at_once() {
    let dir = TempDir::new("load-threads");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let out = run_sampled(
        fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path()).args([
            s(&program),
            "threads",
            "1000",
            s(&file),
            "20",
        ]),
        Duration::from_secs(120),
    );
    let o = fdsup_tests::Output {
        code: out.code,
        stdout: out.stdout.clone(),
        stderr: out.stderr.clone(),
    };
    let mut c = Checks::new(&o);
    c.eq("threads", "1000").eq("ok", "20000").eq("fail", "0");
    if out.code != 0 {
        c.fail(format!("exit code {}", out.code));
    }
    let (threads, fds, rss) = (
        out.max(|h| h.threads),
        out.max(|h| h.fds),
        out.max(|h| h.rss_kib),
    );
    if threads > MAX_SUPERVISOR_THREADS {
        c.fail(format!(
            "fdsup had {threads} threads (bound {MAX_SUPERVISOR_THREADS})"
        ));
    }
    if fds > max_supervisor_fds() {
        c.fail(format!(
            "fdsup held {fds} descriptors (bound {})",
            max_supervisor_fds()
        ));
    }
    c.finish();
    eprintln!(
        "1000 threads x 20 opens: {:?}, fdsup at most {threads} threads, {fds} fds, {rss} KiB RSS ({} samples)",
        out.took,
        out.samples.len()
    );
}

/// Bounds: 3 rounds of 200 processes alive at once, each an exec (decided
/// by the supervisor) that opens and reads a file: all 600 succeed, the
/// run ends within 120 s, and fdsup never has more than
/// [`MAX_SUPERVISOR_THREADS`] threads or [`max_supervisor_fds`] descriptors
/// (nothing kept per process: exited ones are reaped, not tracked).
#[test]
fn two_hundred_processes_fork_and_exec_at_once() {
    let dir = TempDir::new("load-procs");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let out = run_sampled(
        fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path()).args([
            s(&program),
            "procs",
            "200",
            "3",
            s(&file),
        ]),
        Duration::from_secs(120),
    );
    let o = fdsup_tests::Output {
        code: out.code,
        stdout: out.stdout.clone(),
        stderr: out.stderr.clone(),
    };
    let mut c = Checks::new(&o);
    c.eq("procs", "600")
        .eq("ok", "600")
        .eq("fail", "0")
        .eq("fork", "none");
    if out.code != 0 {
        c.fail(format!("exit code {}", out.code));
    }
    let (threads, fds, rss) = (
        out.max(|h| h.threads),
        out.max(|h| h.fds),
        out.max(|h| h.rss_kib),
    );
    if threads > MAX_SUPERVISOR_THREADS {
        c.fail(format!(
            "fdsup had {threads} threads (bound {MAX_SUPERVISOR_THREADS})"
        ));
    }
    if fds > max_supervisor_fds() {
        c.fail(format!(
            "fdsup held {fds} descriptors (bound {})",
            max_supervisor_fds()
        ));
    }
    c.finish();
    eprintln!(
        "3 x 200 processes: {:?}, fdsup at most {threads} threads, {fds} fds, {rss} KiB RSS ({} samples)",
        out.took,
        out.samples.len()
    );
}

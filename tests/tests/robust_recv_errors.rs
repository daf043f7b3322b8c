//! Robustness: the only worker survives unexpected receive errors (issue 14,
//! finding 7). The debug build of fdsup makes its first
//! `FDSUP_TEST_RECV_ERRORS` receives fail with EINVAL (read at start; no
//! outside event can make the kernel do so); with one worker
//! (`FDSUP_WORKERS=1`) the program is then served only if that worker
//! receives again. On 32f61e4 it parked forever on any such error. The
//! classification itself is unit-tested in `supervise.rs`.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{skip, TempDir};
use support::{prog, s, sandboxed_env};

/// Bounds: 10 failed receives in a row delay the run by the backoff (1 ms
/// doubling to 100 ms: under half a second) and end nothing: 100 opens
/// succeed, the run ends within 30 s, and the error is reported once.
#[test]
fn the_only_worker_receives_again_after_unexpected_errors() {
    if fdsup_tests::fdsup().to_string_lossy().contains("/release/") {
        skip!("the FDSUP_TEST_RECV_ERRORS hook exists in debug builds only");
    }
    let dir = TempDir::new("rob-recv-errors");
    let file = dir.write("file", "x\n");
    let program = prog("rob_open_once");
    let mut command = vec![s(&program)];
    command.extend(std::iter::repeat_n(s(&file), 100));
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[("FDSUP_WORKERS", "1"), ("FDSUP_TEST_RECV_ERRORS", "10")],
        &command,
        Duration::from_secs(30),
    );
    out.expect_code(0);
    let want: String = (1..=100).map(|i| format!("open{i}=OK\n")).collect();
    assert_eq!(out.stdout, want);
    let reports = out
        .stderr
        .matches("receiving a request from the seccomp listener")
        .count();
    assert_eq!(
        reports, 1,
        "the unexpected error must be reported once; stderr:\n{}",
        out.stderr
    );
}

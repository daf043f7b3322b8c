//! Robustness: one request that takes long does not hold up the others.
//!
//! fdsup keeps one worker receiving (`supervisor/src/pool.rs`); a request
//! whose handling waits (here the debug build's `FDSUP_TEST_SLOW_PATH` hook:
//! an open of that path takes 3 s in the supervisor, as on a device or a
//! hung file system) must make the event loop wake a spare, so that another
//! thread's requests are answered meanwhile. The slow open itself must still
//! succeed (the positive control that the hook ran and nothing was refused).
//!
//! Two shapes: the slow open as its thread's first request (a request from
//! another task than the last wakes a spare at once), and after a run of
//! that thread's own requests, so that the pool is back to one receiver and
//! only the event loop's look at a stuck request can wake a spare.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{skip, TempDir};
use support::{s, sandboxed_env};

/// Opens `slow` on a thread of its own while the main thread stats and
/// opens `ok`. With a `warm` of N seconds (the third argument), that thread
/// first makes requests of its own for N seconds, so that the pool is back
/// to one receiver and the slow open comes from the task that asked last.
const PROGRAM: &str = r#"
import os, sys, threading, time
slow, ok, warm = sys.argv[1], sys.argv[2], float(sys.argv[3])
got = {}
def opener():
    t1 = time.monotonic()
    while time.monotonic() - t1 < warm:
        os.stat(ok)
    t0 = time.monotonic()
    with open(slow) as f:
        got["slow"] = f.read().strip()
    got["slow_s"] = time.monotonic() - t0
t = threading.Thread(target=opener)
t.start()
time.sleep(warm + 0.3)
t0 = time.monotonic()
for _ in range(200):
    os.stat(ok)
with open(ok) as f:
    got["ok"] = f.read().strip()
got["others_s"] = time.monotonic() - t0
t.join()
print("slow=%s slow_s=%.2f ok=%s others_s=%.2f" % (got["slow"], got["slow_s"], got["ok"], got["others_s"]))
"#;

#[test]
fn a_slow_request_does_not_hold_up_another_threads_requests() {
    check("0");
}

#[test]
fn a_slow_request_of_the_last_asker_does_not_hold_up_the_others() {
    check("0.3");
}

fn check(warm: &str) {
    if fdsup_tests::fdsup().to_string_lossy().contains("/release/") {
        skip!("the FDSUP_TEST_SLOW_PATH hook exists in debug builds only");
    }
    let dir = TempDir::new("rob-slow");
    let slow = dir.write("slow.txt", "slow\n");
    let ok = dir.write("ok.txt", "ok\n");
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[("FDSUP_TEST_SLOW_PATH", s(&slow))],
        &["/usr/bin/python3", "-c", PROGRAM, s(&slow), s(&ok), warm],
        Duration::from_secs(60),
    );
    let stdout = &out.stdout;
    assert_eq!(out.code, 0, "python failed: {out:?}");
    let field = |k: &str| {
        stdout
            .split_whitespace()
            .find_map(|w| w.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in {stdout:?}"))
            .to_owned()
    };
    assert_eq!(field("slow"), "slow", "the slow open must succeed");
    assert_eq!(field("ok"), "ok");
    let slow_s: f64 = field("slow_s").parse().unwrap();
    let others_s: f64 = field("others_s").parse().unwrap();
    assert!(
        slow_s >= 2.5,
        "the hook did not hold the open ({slow_s:.2} s): the test proves nothing"
    );
    assert!(
        others_s < 1.5,
        "200 stats and an open by another thread took {others_s:.2} s while one open was slow: \
         they waited for it"
    );
}

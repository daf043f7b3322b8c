//! Short seeded runs of the fuzzer against the built (debug) `fdsup`, a few
//! seconds each: the mediated calls natively and under `@allow-all` and the
//! `ro`/`deny`/`hide` policy (file system only: the network handlers are
//! run by the benchmark, `cargo run --release -p fdsup-fuzz`), and the
//! policy loader fed mutated policies. Any difference fails the test with
//! the seed and index that reproduce it.

use std::process::Command;
use std::time::Duration;

use fdsup_tests::{run_cmd, skip};

fn fuzz() -> Command {
    Command::new(env!("CARGO_BIN_EXE_fdsup-fuzz"))
}

#[test]
fn a_short_seeded_run_finds_no_difference() {
    let mut c = fuzz();
    c.args([
        "--calls",
        "6000",
        "--per-seed",
        "500",
        "--seed",
        "1",
        "--policies",
        "allow-all,ro-fs",
        "--workers",
        "1",
        "--race-every",
        "2",
        "--no-minimise",
        "--fdsup",
    ])
    .arg(fdsup_tests::fdsup());
    let out = run_cmd(&mut c, Duration::from_secs(300));
    if out.code == 2 && out.stderr.contains("sandbox:") {
        skip!(
            "no private mount and network namespace for the fuzzer: {}",
            out.stderr.trim()
        );
    }
    assert!(
        out.code == 0 && out.stdout.contains("differences found: 0 "),
        "exit {}\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    // It did run: calls under both policies, and the racing phase.
    assert!(
        out.stdout.contains("allow-all: 3000") && out.stdout.contains("ro-fs: 3000"),
        "{}",
        out.stdout
    );
    assert!(
        !out.stdout.contains("racing (unchecked, under fdsup): 0"),
        "{}",
        out.stdout
    );
}

#[test]
fn mutated_policies_get_located_errors_and_no_panic() {
    let mut c = fuzz();
    c.args(["policy", "--iterations", "300", "--seed", "1", "--fdsup"])
        .arg(fdsup_tests::fdsup());
    let out = run_cmd(&mut c, Duration::from_secs(300));
    assert!(
        out.code == 0 && out.stdout.contains("broken answers: 0"),
        "exit {}\n{}\n{}",
        out.code,
        out.stdout,
        out.stderr
    );
    // Both kinds of answer were seen: the mutants are not all valid or all
    // broken beyond parsing.
    assert!(!out.stdout.contains("(valid 0,"), "{}", out.stdout);
    assert!(!out.stdout.contains("located error 0)"), "{}", out.stdout);
}

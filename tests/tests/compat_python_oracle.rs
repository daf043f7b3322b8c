//! Python's own regression tests as a compatibility oracle: `test_os`,
//! `test_shutil`, `test_tempfile` and `test_pathlib` of Debian's
//! /usr/bin/python3 give the same per-test results under
//! `fdsup run --policy @allow-all` as natively (same tests pass, fail and
//! skip), except the differences `scripts/compat-oracle` lists as following
//! from a documented limit. So do, with the network mediated (`--network`:
//! connect, bind and the sends carried out by fdsup; the script checks that
//! its policy does mediate), `test_socket`, `test_socketserver`,
//! `test_selectors`, `test_asyncio` (one sub-module at a time),
//! `test_logging`, `test_subprocess`, `test_signal`, `test_eintr`,
//! `test_httplib`, `test_urllib2_localnet` and `test_ssl`, with every
//! regrtest resource that stays on the machine. A test that hangs fails
//! with the test it hung in and what each thread was doing.
//!
//! The script does the work (runs, parses, compares); each module is its own
//! test so that a failure names it and the harness runs them side by side.
//! The regression tests are Debian's `libpython3.X-testsuite`
//! (`scripts/install-test-deps` installs it); without them the test fails
//! with the command that installs them.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fdsup_tests::*;

const PY: &str = "/usr/bin/python3";

/// A module's two runs take a few seconds each; this allows for a loaded
/// machine, a debug build and a hang (the script gives up on a run after
/// 180 s without output, or [`RUN_TIMEOUT`]).
const ORACLE_TIMEOUT: Duration = Duration::from_secs(900);

/// The script's limit per run (`--timeout`): two of them fit in
/// [`ORACLE_TIMEOUT`], so that the script, not this test, reports a hang.
const RUN_TIMEOUT: &str = "400";

/// test_asyncio's 31 sub-modules, each run twice, each with its own limits.
const PACKAGE_TIMEOUT: Duration = Duration::from_secs(3600);

fn oracle(module: &str) {
    run_oracle(module, false, ORACLE_TIMEOUT);
}

/// The network configuration (`scripts/compat-oracle --network`).
fn network(module: &str, timeout: Duration) {
    run_oracle(module, true, timeout);
}

fn run_oracle(module: &str, network: bool, timeout: Duration) {
    let probe = run_cmd(
        Command::new(PY).args(["-c", &format!("import test.{module}")]),
        TIMEOUT,
    );
    if probe.code != 0 {
        // Missing: a prerequisite, never a skip (the test would pass
        // having shown nothing).
        require("python-testsuite");
        panic!(
            "{PY} cannot import test.{module}, though its test package is installed: {}",
            probe.stderr.trim()
        );
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/compat-oracle");
    let mut cmd = Command::new(PY);
    cmd.arg(&script)
        .arg("--fdsup")
        .arg(fdsup())
        .arg("--python")
        .arg(PY)
        .args(["--timeout", RUN_TIMEOUT])
        .args(forced_metadata().map(|m| format!("--metadata={m}")));
    if network {
        cmd.arg("--network");
    }
    let out = run_cmd(cmd.arg(module), timeout);
    assert!(
        out.code == 0,
        "{module}: {}\n{}{}",
        match out.code {
            1 => "results differ under fdsup from the native run",
            _ => "the oracle could not compare the runs",
        },
        out.stdout,
        out.stderr
    );
    // Shown with --nocapture: the counts, and any allowed differences.
    println!("{}", out.stdout);
}

#[test]
fn test_os() {
    oracle("test_os");
}

#[test]
fn test_shutil() {
    oracle("test_shutil");
}

#[test]
fn test_tempfile() {
    oracle("test_tempfile");
}

#[test]
fn test_pathlib() {
    oracle("test_pathlib");
}

#[test]
fn network_test_socket() {
    network("test_socket", ORACLE_TIMEOUT);
}

#[test]
fn network_test_socketserver() {
    network("test_socketserver", ORACLE_TIMEOUT);
}

#[test]
fn network_test_selectors() {
    network("test_selectors", ORACLE_TIMEOUT);
}

#[test]
fn network_test_asyncio() {
    network("test_asyncio", PACKAGE_TIMEOUT);
}

#[test]
fn network_test_logging() {
    network("test_logging", ORACLE_TIMEOUT);
}

#[test]
fn network_test_subprocess() {
    network("test_subprocess", ORACLE_TIMEOUT);
}

#[test]
fn network_test_signal() {
    network("test_signal", ORACLE_TIMEOUT);
}

#[test]
fn network_test_eintr() {
    network("test_eintr", ORACLE_TIMEOUT);
}

#[test]
fn network_test_httplib() {
    network("test_httplib", ORACLE_TIMEOUT);
}

#[test]
fn network_test_urllib2_localnet() {
    network("test_urllib2_localnet", ORACLE_TIMEOUT);
}

#[test]
fn network_test_ssl() {
    network("test_ssl", ORACLE_TIMEOUT);
}

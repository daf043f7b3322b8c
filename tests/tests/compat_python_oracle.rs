//! Python's own regression tests as a compatibility oracle: `test_os`,
//! `test_shutil`, `test_tempfile` and `test_pathlib` of Debian's
//! /usr/bin/python3 give the same per-test results under
//! `fdsup run --policy @allow-all` as natively (same tests pass, fail and
//! skip), except the differences `scripts/compat-oracle` lists as following
//! from a documented limit.
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
/// machine and a debug build.
const ORACLE_TIMEOUT: Duration = Duration::from_secs(900);

fn oracle(module: &str) {
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
    let out = run_cmd(
        Command::new(PY)
            .arg(&script)
            .arg("--fdsup")
            .arg(fdsup())
            .arg("--python")
            .arg(PY)
            .args(forced_metadata().map(|m| format!("--metadata={m}")))
            .arg(module),
        ORACLE_TIMEOUT,
    );
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

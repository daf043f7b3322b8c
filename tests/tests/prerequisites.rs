//! The README's test command on a fresh machine: every program the
//! end-to-end tests run besides fdsup is installed, or this test fails
//! with the one command that installs all that is missing (the same list
//! as `scripts/install-test-deps`). The tests that use a prerequisite fail
//! the same way (`fdsup_tests::require`): none passes by skipping it.

use fdsup_tests::{install_command, PREREQS};

#[test]
fn every_prerequisite_is_installed() {
    let missing: Vec<_> = PREREQS.iter().filter(|p| !p.present()).collect();
    if missing.is_empty() {
        return;
    }
    let names: Vec<&str> = missing.iter().map(|p| p.name).collect();
    let packages: Vec<String> = missing.iter().map(|p| p.package()).collect();
    panic!(
        "the end-to-end tests need {} which {} not installed; install with:\n    {}",
        names.join(", "),
        if names.len() == 1 { "is" } else { "are" },
        install_command(&packages)
    );
}

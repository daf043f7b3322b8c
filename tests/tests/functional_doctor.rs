//! `fdsup doctor`: exits 0 on this kernel and reports every feature SPEC.md
//! lists, each by name.

mod functional_common;

use functional_common::*;

#[test]
fn doctor_reports_every_feature() {
    let cwd = TempDir::new("fn-doctor");
    let out = fdsup_run(["doctor"], cwd.path());
    assert_eq!(out.code, 0, "{}", show(&out));
    for feature in [
        "ADDFD",
        "SEND",
        "WAIT_KILLABLE_RECV",
        "SYNC_WAKE_UP",
        "PIDFD_THREAD",
        "pidfd_getfd",
        "openat2",
        "Landlock",
    ] {
        assert!(
            out.stdout.contains(feature),
            "doctor should mention {feature}:\n{}",
            show(&out)
        );
    }
    // Each required feature is reported on a line of its own with its
    // kernel version.
    for feature in ["ADDFD", "pidfd_getfd", "openat2"] {
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(feature))
            .unwrap_or_default();
        assert!(
            line.contains("Linux "),
            "the {feature} line names the kernel version that has it:\n{}",
            show(&out)
        );
    }
}

/// The doctor needs no policy and starts no program; it works from any
/// directory, including one the default policy would not let a program
/// write.
#[test]
fn doctor_runs_anywhere() {
    let out = fdsup_run(["doctor"], std::path::Path::new("/"));
    assert_eq!(out.code, 0, "{}", show(&out));
}

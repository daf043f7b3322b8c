//! Robustness: opens with bad pointers, over-long paths and malformed
//! `openat2` arguments get exactly the kernel's answer, and the program goes
//! on (`tests/c/rob_badargs.c`, run natively and under fdsup, compared line
//! by line).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{native, Output, TempDir};
use support::{parse, prog, s, sandboxed_env};

struct Runs {
    _dir: TempDir,
    native: Output,
    sandboxed: Output,
}

fn runs() -> Runs {
    let dir = TempDir::new("rob-badargs");
    let ok = dir.write("ok.txt", "ok\n");
    let program = prog("rob_badargs");
    let cmd = [s(&program), s(&ok)];
    let native = native(dir.path(), &cmd);
    assert_eq!(
        native.code, 0,
        "native run failed:\n{}\n{}",
        native.stdout, native.stderr
    );
    let sandboxed = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[],
        &cmd,
        Duration::from_secs(60),
    );
    Runs {
        _dir: dir,
        native,
        sandboxed,
    }
}

/// The lines named in `keys` must be the same in both runs; the program must
/// have gone on after each (no "allowed open failed" line) and to the end.
fn compare(r: &Runs, keys: &[&str]) {
    let n = parse(&r.native.stdout);
    let sb = parse(&r.sandboxed.stdout);
    let mut failures = Vec::new();
    for k in keys {
        match (n.get(*k), sb.get(*k)) {
            (Some(a), Some(b)) if a == b => {}
            (a, b) => failures.push(format!("{k}: the kernel says {a:?}, under fdsup {b:?}")),
        }
    }
    for l in r
        .sandboxed
        .stdout
        .lines()
        .filter(|l| l.contains("allowed open failed"))
    {
        failures.push(format!("the program was not served afterwards: {l}"));
    }
    if sb.get("alive opens").map(String::as_str) != Some("100") {
        failures.push("the program did not finish with 100 ordinary opens".to_owned());
    }
    if r.sandboxed.code != 0 {
        failures.push(format!("exit code {} (expected 0)", r.sandboxed.code));
    }
    assert!(
        failures.is_empty(),
        "{}\nnative stdout:\n{}\nsandboxed stdout:\n{}\nsandboxed stderr:\n{}",
        failures.join("\n"),
        r.native.stdout,
        r.sandboxed.stdout,
        r.sandboxed.stderr
    );
}

#[test]
fn bad_path_pointers_get_efault_and_the_program_goes_on() {
    let r = runs();
    compare(
        &r,
        &[
            "ptr_one",
            "ptr_kernel",
            "ptr_noncanonical",
            "ptr_prot_none",
            "creat_prot_none",
            "no_nul_before_hole",
            "openat2_bad_path_ptr",
        ],
    );
    // Spelled out, not only "as natively".
    let sb = parse(&r.sandboxed.stdout);
    for k in ["ptr_one", "ptr_prot_none", "no_nul_before_hole"] {
        assert_eq!(
            sb.get(k).map(String::as_str),
            Some("EFAULT"),
            "{k}\n{}",
            r.sandboxed.stdout
        );
    }
}

#[test]
fn paths_longer_than_path_max_get_enametoolong() {
    let r = runs();
    compare(
        &r,
        &["huge_path_70000", "path_4096", "no_nul_page_before_hole"],
    );
    let sb = parse(&r.sandboxed.stdout);
    for k in ["huge_path_70000", "path_4096"] {
        assert_eq!(
            sb.get(k).map(String::as_str),
            Some("ENAMETOOLONG"),
            "{k}\n{}",
            r.sandboxed.stdout
        );
    }
}

#[test]
fn long_components_and_empty_paths_get_the_kernels_answer() {
    compare(
        &runs(),
        &[
            "path_4095_one_component",
            "component_300",
            "component_300_creat",
            "empty_path",
            "empty_path_creat",
        ],
    );
}

/// A relative path shorter than PATH_MAX is the kernel's to judge, however
/// long the working directory joined to it would be.
#[test]
fn relative_paths_just_under_path_max_get_the_kernels_answer() {
    compare(
        &runs(),
        &["path_4095_components", "path_4095_components_creat"],
    );
}

#[test]
fn bad_directory_descriptors_get_the_kernels_answer() {
    compare(
        &runs(),
        &[
            "openat_bad_dirfd",
            "openat_negative_dirfd",
            "openat_file_dirfd",
            "openat_file_dirfd_abs",
        ],
    );
}

#[test]
fn malformed_openat2_arguments_get_the_kernels_answer() {
    compare(
        &runs(),
        &[
            "openat2_how_bad_ptr",
            "openat2_how_prot_none",
            "openat2_size_small",
            "openat2_size_zero",
            "openat2_size_page_zeroes",
            "openat2_size_too_big",
            "openat2_size_nonzero_tail",
            "openat2_unknown_resolve",
            "openat2_flags_high",
            "openat2_mode_without_creat",
            "openat2_beneath_and_in_root",
        ],
    );
}

//! Robustness: a panic in the open handler still ends in an answer. The
//! debug build of fdsup panics in the handler when the path opened equals
//! `FDSUP_TEST_PANIC_PATH` (read at start); that open must fail with EACCES,
//! the program must go on being served, and fdsup must exit with the
//! program's own status (`tests/c/rob_panic.c`).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{skip, TempDir};
use support::{prog, s, sandboxed_env, Checks};

#[test]
fn a_panicking_handler_answers_eacces_and_the_program_goes_on() {
    if fdsup_tests::fdsup().to_string_lossy().contains("/release/") {
        skip!("the FDSUP_TEST_PANIC_PATH hook exists in debug builds only");
    }
    let dir = TempDir::new("rob-panic");
    // The panic path is an allowed, existing file: without the hook its
    // open would succeed.
    let boom = dir.write("boom", "boom\n");
    let ok = dir.write("ok.txt", "ok\n");
    let program = prog("rob_panic");
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[("FDSUP_TEST_PANIC_PATH", s(&boom)), ("RUST_BACKTRACE", "0")],
        &[s(&program), s(&boom), s(&ok)],
        Duration::from_secs(60),
    );
    let mut c = Checks::new(&out);
    if (0..20).all(|i| c.get(&format!("boom{i}")) == Some("OK")) {
        c.fail(
            "the FDSUP_TEST_PANIC_PATH hook is missing: the panic path was opened normally"
                .to_owned(),
        );
    }
    for i in 0..20 {
        c.eq(&format!("boom{i}"), "EACCES");
        c.eq(&format!("after{i}"), "READ");
    }
    c.eq("thread_opens", "800");
    if out.code != 7 {
        c.fail(format!(
            "fdsup exit code {} (expected the program's 7)",
            out.code
        ));
    }
    c.finish();
}

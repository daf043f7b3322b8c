//! Adversarial: `fchdir` on a descriptor number another thread swaps
//! (`tests/c/adv_fchdir.c`), issue 14 finding 5. fdsup decides `fchdir` on
//! the descriptor it fetched and looks at the number again just before the
//! kernel runs it; an inherited descriptor of a hidden directory is
//! refused. The residue (a swap in the last instant lands the working
//! directory in a directory the program holds a descriptor of) gives
//! nothing: every request from there is decided on canonical paths, so
//! the hidden directory's `key` is never read — while the allowed
//! directory's is (the positive control).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{run_cmd, TempDir};
use support::{assert_no_secret, prog, token, Checks};

#[test]
fn a_swapped_fchdir_number_reaches_nothing_hidden() {
    let dir = TempDir::new("adv-fchdir");
    let secret = token("SECRET");
    dir.write("hidden/key", format!("{secret}\n"));
    dir.write("allowed/key", "ALLOWED\n");
    let d = dir.path().display();
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin}
    {{ "path": "{d}", "access": "ro" }},
    {{ "path": "{d}/hidden", "access": "hide" }} ] }} }}"#,
        bin = support::bin_rule()
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let program = prog("adv_fchdir");
    let script = format!(
        "exec 3<'{d}/hidden'; exec '{}' run --policy '{}' -- '{}' '{d}/allowed'",
        fdsup_tests::fdsup().display(),
        p.display(),
        program.display()
    );
    let out = run_cmd(
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&script)
            .current_dir(dir.join("allowed")),
        Duration::from_secs(120),
    );
    assert_no_secret(&out, &secret);
    let mut c = Checks::new(&out);
    c.eq("fchdir3", "ENOENT");
    c.eq("read_secret", "0");
    if c.get("read_allowed").is_none_or(|v| v == "0") {
        c.fail("the allowed directory's key was never read".to_owned());
    }
    if !out.stdout.lines().any(|l| l == "fchdir_done") {
        c.fail("the program did not finish".to_owned());
    }
    c.finish();
    eprintln!(
        "landed in the hidden directory {} times of 3000",
        c.get("landed_hidden").unwrap_or("?")
    );
}

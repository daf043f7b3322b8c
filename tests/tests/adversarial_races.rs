//! Adversarial: races against the supervisor's resolution. A thread of the
//! program swaps a symlink (or a directory symlink) between an allowed file
//! and the hidden secret, rewrites the path buffer between the two, or moves
//! the working directory between their directories, while another thread
//! opens it 20,000 times (`tests/c/adv_paths.c`). The secret must never be
//! read; the allowed file must sometimes be (else the race proves nothing).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use support::{assert_no_secret, prog, s, sandboxed_env, Layout, SecretRule};

/// The counters a race mode prints: `NAME allowed=N other=M ERRNO=K...`.
fn counters(stdout: &str, name: &str) -> Option<(u64, u64, String)> {
    let line = stdout
        .lines()
        .find(|l| l.starts_with(&format!("{name} ")))?;
    let mut allowed = None;
    let mut other = None;
    for w in line.split_whitespace().skip(1) {
        match w.split_once('=') {
            Some(("allowed", v)) => allowed = v.parse().ok(),
            Some(("other", v)) => other = v.parse().ok(),
            _ => {}
        }
    }
    Some((allowed?, other?, line.to_owned()))
}

fn race(mode: &str, rule: SecretRule) {
    let layout = Layout::new(mode, rule);
    let program = prog("adv_paths");
    let out = sandboxed_env(
        layout.policy.as_os_str(),
        layout.dir.path(),
        &[],
        &[s(&program), mode, s(layout.dir.path())],
        Duration::from_secs(90),
    );
    assert_no_secret(&out, &layout.token);
    let Some((allowed, other, line)) = counters(&out.stdout, mode) else {
        panic!(
            "no counters from {mode} (exit {})\nstdout:\n{}\nstderr:\n{}",
            out.code, out.stdout, out.stderr
        );
    };
    assert_eq!(
        other, 0,
        "{mode}: opens read something other than the allowed file: {line}\nstdout:\n{}",
        out.stdout
    );
    assert!(
        allowed > 0,
        "{mode}: the allowed file was never read, the race proves nothing: {line}"
    );
    assert_eq!(
        out.code, 0,
        "{mode}: exit code\nstdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    eprintln!("{line}");
}

#[test]
fn swapping_a_symlink_never_reaches_the_secret() {
    race("race_symlink", SecretRule::Hide);
}

#[test]
fn swapping_a_directory_symlink_never_reaches_the_secret() {
    race("race_dirswap", SecretRule::Deny);
}

#[test]
fn rewriting_the_path_buffer_never_reaches_the_secret() {
    race("race_path", SecretRule::Hide);
}

#[test]
fn moving_the_working_directory_never_reaches_the_secret() {
    race("race_cwd", SecretRule::Deny);
}

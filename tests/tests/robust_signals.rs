//! Robustness: opens under a storm of signals (an interval timer firing every
//! 50 µs) are answered exactly once: with `SA_RESTART` all 20,000 succeed;
//! without it each succeeds or fails with EINTR; in both cases no injected
//! descriptor is left over (`tests/c/rob_signals.c`).

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{Output, TempDir};
use support::{prog, s, sandboxed_env, Checks};

const ITER: u64 = 20_000;

fn run(mode: &str) -> (TempDir, Output) {
    let dir = TempDir::new("rob-signals");
    let file = dir.write("ok.txt", "the allowed file\n");
    let program = prog("rob_signals");
    let iter = ITER.to_string();
    let out = sandboxed_env(
        "@default".as_ref(),
        dir.path(),
        &[],
        &[s(&program), mode, s(&file), &iter],
        Duration::from_secs(90),
    );
    (dir, out)
}

/// The counters of the result line, by name.
fn counters(out: &Output) -> std::collections::BTreeMap<String, String> {
    out.stdout
        .lines()
        .filter(|l| l.starts_with("ok="))
        .flat_map(|l| l.split_whitespace())
        .filter_map(|w| w.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn num(m: &std::collections::BTreeMap<String, String>, k: &str) -> u64 {
    m.get(k).and_then(|v| v.parse().ok()).unwrap_or(u64::MAX)
}

fn common(c: &mut Checks<'_>, out: &Output, m: &std::collections::BTreeMap<String, String>) {
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    if m.is_empty() {
        c.fail("no result line".to_owned());
        return;
    }
    if num(m, "other") != 0 {
        c.fail(format!(
            "{} opens failed with something else than EINTR ({})",
            num(m, "other"),
            m.get("other_errno").map_or("?", String::as_str)
        ));
    }
    if num(m, "bad_content") != 0 {
        c.fail(format!(
            "{} opens returned a descriptor of something else",
            num(m, "bad_content")
        ));
    }
    if m.get("fd_start") != m.get("fd_end") {
        c.fail(format!(
            "descriptors leaked: {} open at the start, {} at the end",
            m.get("fd_start").map_or("?", String::as_str),
            m.get("fd_end").map_or("?", String::as_str)
        ));
    }
    // Else the storm did not happen and the test proves nothing.
    if num(m, "signals") < 1000 {
        c.fail(format!("only {} signals were delivered", num(m, "signals")));
    }
}

#[test]
fn with_sa_restart_every_open_succeeds_and_nothing_leaks() {
    let (_dir, out) = run("restart");
    let m = counters(&out);
    let mut c = Checks::new(&out);
    common(&mut c, &out, &m);
    if num(&m, "ok") != ITER || num(&m, "eintr") != 0 {
        c.fail(format!(
            "expected all {ITER} opens to succeed with SA_RESTART: ok={} eintr={}",
            num(&m, "ok"),
            num(&m, "eintr")
        ));
    }
    eprintln!("{}", out.stdout.trim());
    c.finish();
}

#[test]
fn without_sa_restart_opens_succeed_or_fail_with_eintr_and_nothing_leaks() {
    let (_dir, out) = run("norestart");
    let m = counters(&out);
    let mut c = Checks::new(&out);
    common(&mut c, &out, &m);
    if num(&m, "ok") == 0 || num(&m, "ok").saturating_add(num(&m, "eintr")) != ITER {
        c.fail(format!(
            "expected ok + eintr = {ITER} with some ok: ok={} eintr={}",
            num(&m, "ok"),
            num(&m, "eintr")
        ));
    }
    eprintln!("{}", out.stdout.trim());
    c.finish();
}

//! Where `fdsup run`'s start-up and shutdown go: with `FDSUP_TIMES=1` in
//! its environment, fdsup notes the time at each step and prints one line
//! per step on stderr when it exits (`fdsup: times: ...`), for profiling.
//!
//! Off (the default), a mark costs one relaxed atomic load. The environment
//! variable, not `-v`, turns it on: SPEC.md gives `-v` one line per denied
//! request and nothing else.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

static ON: AtomicBool = AtomicBool::new(false);
static MARKS: Mutex<Vec<(&'static str, Instant)>> = Mutex::new(Vec::new());
static NOTES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Turns the timeline on if `FDSUP_TIMES` is set to something other than
/// `0` or empty, and marks the start.
pub fn start_from_env() {
    let on = std::env::var_os("FDSUP_TIMES").is_some_and(|v| !v.is_empty() && v != "0");
    if on {
        ON.store(true, Ordering::Relaxed);
        mark("main");
    }
}

/// Notes that step `what` ends now.
pub fn mark(what: &'static str) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    let now = Instant::now();
    if let Ok(mut m) = MARKS.lock() {
        m.push((what, now));
    }
}

/// Adds a line (already prefixed) to print after the steps; nothing when
/// off.
pub fn note(line: String) {
    if !ON.load(Ordering::Relaxed) {
        return;
    }
    if let Ok(mut n) = NOTES.lock() {
        n.push(line);
    }
}

/// The steps so far, one line each: its time since the previous mark and
/// since the first, in microseconds. Empty when off.
pub fn report() -> String {
    let mut out = String::new();
    if !ON.load(Ordering::Relaxed) {
        return out;
    }
    let Ok(m) = MARKS.lock() else { return out };
    let Some(&(_, first)) = m.first() else {
        return out;
    };
    let mut prev = first;
    for &(what, t) in m.iter() {
        let step = t.saturating_duration_since(prev).as_micros();
        let total = t.saturating_duration_since(first).as_micros();
        let _ = writeln!(out, "fdsup: times: {what:<28} +{step:>6} us  {total:>7} us");
        prev = t;
    }
    if let Ok(n) = NOTES.lock() {
        for line in n.iter() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

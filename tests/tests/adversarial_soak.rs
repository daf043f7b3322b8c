//! Soak (issue 14, "Load and faults"): 60 seconds of mixed requests from
//! four threads (opens and reads, stats, listings, creates and unlinks,
//! renames there and back, connects to a loopback listener of the
//! program's own), with the supervisor's memory and descriptors sampled
//! from `/proc/<pid>` every 250 ms (`tests/c/rob_load.c`, mode `soak`).
//!
//! Its own test binary, so that it runs beside the other tests rather than
//! after them.

mod load_support;
#[path = "adversarial_support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fdsup_tests::TempDir;
use load_support::{
    code, held, is_proc_dir, max_supervisor_fds, settled_fd_list, workers, Held, Interactive,
    MAX_SUPERVISOR_THREADS, PROC_DIRS_PER_WORKER,
};
use support::{prog, s};

/// Seconds of warm-up before the first look.
const WARM: u32 = 10;
/// Seconds in all.
const TOTAL: u32 = 60;
/// How much fdsup's resident memory may grow between the two looks.
const RSS_GROWTH_KIB: u64 = 2048;

/// What fdsup holds at a checkpoint, where every thread of the program that
/// asks is idle.
#[derive(Debug)]
struct Look {
    held: Held,
    /// Its descriptors but the workers' `/proc/<tid>` caches.
    own: Vec<String>,
    /// The cached `/proc/<tid>` directories.
    proc_dirs: usize,
}

fn look(pid: u32) -> Look {
    let list = settled_fd_list(pid);
    let proc_dirs = list.iter().filter(|l| is_proc_dir(l)).count();
    Look {
        held: held(pid).expect("fdsup is running"),
        own: list.into_iter().filter(|l| !is_proc_dir(l)).collect(),
        proc_dirs,
    }
}

/// Bounds, between the look after the 10 s warm-up and the look at the end
/// (both with the program's asking threads idle): fdsup's RSS grows by less
/// than [`RSS_GROWTH_KIB`] KiB, its descriptors are the same ones (the
/// workers' `/proc/<tid>` caches aside, which stay within their bound of
/// `PROC_DIRS_PER_WORKER` a worker) and its threads as many; at no sample
/// does it exceed `MAX_SUPERVISOR_THREADS` threads or `max_supervisor_fds`
/// descriptors; no request of the program fails; the run ends in time.
#[test]
fn sixty_seconds_of_mixed_requests_hold_memory_and_descriptors_flat() {
    let dir = TempDir::new("soak");
    let work = dir.join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::write(work.join("file"), "x\n").expect("file");
    let policy = dir.write(
        "policy.json",
        r#"{ "version": 1, "include": ["@default", "@network-loopback"] }"#,
    );
    let program = prog("rob_load");
    let warm = WARM.to_string();
    let total = TOTAL.to_string();
    let t0 = Instant::now();
    let mut run = Interactive::start(
        fdsup_tests::fdsup_cmd(["run", "--policy", s(&policy), "--"], dir.path()).args([
            s(&program),
            "soak",
            s(&work),
            &warm,
            &total,
        ]),
        std::fs::File::create(dir.join("stderr")).expect("stderr file"),
    );
    let pid = run.pid();
    let stop = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(Mutex::new(Vec::<Held>::new()));
    let sampler = {
        let (stop, samples) = (Arc::clone(&stop), Arc::clone(&samples));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(h) = held(pid) {
                    samples.lock().expect("samples").push(h);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
    };
    let margin = Duration::from_secs(60);
    let first = run.until("idle=1", Duration::from_secs(u64::from(WARM)) + margin);
    let a = look(pid);
    run.send("go");
    let second = run.until(
        "idle=2",
        Duration::from_secs(u64::from(TOTAL - WARM)) + margin,
    );
    let b = look(pid);
    run.send("go");
    let st = run.finish(Duration::from_secs(20));
    let took = t0.elapsed();
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let samples = samples.lock().expect("samples").clone();
    let stderr = std::fs::read_to_string(dir.join("stderr")).unwrap_or_default();

    let mut failures = Vec::new();
    if code(st) != 0 {
        failures.push(format!("exit code {}", code(st)));
    }
    for line in first.iter().chain(&second) {
        if line.starts_with("fail_") && !line.ends_with("=0") {
            failures.push(format!("the program's requests failed: {line}"));
        }
    }
    let growth = b.held.rss_kib.saturating_sub(a.held.rss_kib);
    if growth >= RSS_GROWTH_KIB {
        failures.push(format!(
            "RSS grew by {growth} KiB from {WARM} s to the end (bound {RSS_GROWTH_KIB} KiB)"
        ));
    }
    if b.own != a.own {
        failures.push(format!(
            "descriptors changed from {WARM} s to the end:\n  at {WARM} s: {:?}\n  at the end: {:?}",
            a.own, b.own
        ));
    }
    let proc_bound = PROC_DIRS_PER_WORKER * workers();
    if a.proc_dirs.max(b.proc_dirs) > proc_bound {
        failures.push(format!(
            "{} /proc/<tid> directories cached (bound {proc_bound})",
            a.proc_dirs.max(b.proc_dirs)
        ));
    }
    if b.held.threads != a.held.threads {
        failures.push(format!(
            "threads: {} at {WARM} s, {} at the end",
            a.held.threads, b.held.threads
        ));
    }
    let max_threads = samples.iter().map(|h| h.threads).max().unwrap_or(0);
    let max_fds = samples.iter().map(|h| h.fds).max().unwrap_or(0);
    let max_rss = samples.iter().map(|h| h.rss_kib).max().unwrap_or(0);
    if max_threads > MAX_SUPERVISOR_THREADS {
        failures.push(format!(
            "{max_threads} threads at a sample (bound {MAX_SUPERVISOR_THREADS})"
        ));
    }
    if max_fds > max_supervisor_fds() {
        failures.push(format!(
            "{max_fds} descriptors at a sample (bound {})",
            max_supervisor_fds()
        ));
    }
    let ops = |lines: &[String]| {
        lines
            .iter()
            .find_map(|l| l.strip_prefix("ops="))
            .unwrap_or("?")
            .to_owned()
    };
    let figures = format!(
        "soak {took:?}: {} rounds by {WARM} s, {} in all; fdsup RSS {} KiB at {WARM} s, {} KiB at the end (max {max_rss}); descriptors {} and {} ({} and {} of them /proc/<tid>; max {max_fds}); threads {} and {} (max {max_threads}); {} samples",
        ops(&first),
        ops(&second),
        a.held.rss_kib,
        b.held.rss_kib,
        a.held.fds,
        b.held.fds,
        a.proc_dirs,
        b.proc_dirs,
        a.held.threads,
        b.held.threads,
        samples.len()
    );
    assert!(
        failures.is_empty(),
        "{}\n{figures}\nstderr:\n{stderr}",
        failures.join("\n")
    );
    eprintln!("{figures}");
}

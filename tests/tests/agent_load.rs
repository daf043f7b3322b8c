//! `fdsup agent` under load, with real runtimes: 20 containers started at
//! once all run under their policy, and once they are deleted the agent
//! holds what it held before: descriptors and threads exactly, memory
//! within what the allocator keeps for reuse (the agent gives freed memory
//! back with `malloc_trim`, but glibc keeps one arena per thread that ran
//! at once, up to 8 per CPU, and caches exited threads' stacks: a bounded
//! residue, which later rounds reuse instead of growing).

mod agent_support;

use std::time::{Duration, Instant};

use agent_support::{
    container_id, held, runtimes, threads, Agent, Bundle, Runtime, POLICY, SERVED,
};
use fdsup_tests::skip;

const CONTAINERS: usize = 20;

/// Memory the agent may keep after its first round of sessions (the
/// allocator's arenas and thread-stack cache, see the module docs).
const RSS_RESIDUE_KIB: u64 = 3072;
/// Growth allowed from one round to a later one (measurement noise; a leak
/// of 25 KiB per session would be 1 MiB over two rounds).
const RSS_GROWTH_KIB: u64 = 1024;
const ROUNDS: usize = 3;

fn concurrent_round(rt: Runtime, profile: &str, round: usize) {
    let bundles: Vec<Bundle> = (0..CONTAINERS)
        .map(|i| {
            let script = format!(
                "read l < /etc/resolv.conf; echo \"resolv:$l\"; cat /etc/shadow; echo \"n={i} shadow rc=$?\"; echo {i} > /tmp/mine; cat /tmp/mine"
            );
            Bundle::new("agent-load", &["sh", "-c", &script], Some(profile))
        })
        .collect();
    let handles: Vec<_> = bundles
        .iter()
        .map(|b| {
            let mut cmd = b.runtime(rt, &["run", &container_id(&format!("load{round}"))]);
            std::thread::spawn(move || fdsup_tests::run_cmd(&mut cmd, Duration::from_secs(120)))
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let out = h.join().expect("runtime thread");
        assert_eq!(out.code, 0, "{} container {i}: {out:?}", rt.name());
        assert!(
            out.stdout.contains(&format!("resolv:{SERVED}"))
                && out.stdout.contains(&format!("n={i} shadow rc=1"))
                && out.stdout.contains(&format!("\n{i}\n"))
                && !out.stdout.contains("SECRET-HASH"),
            "{} container {i} ran under its policy: {out:?}",
            rt.name()
        );
        assert_eq!(
            std::fs::read_to_string(bundles[i].rootfs().join("tmp/mine")).unwrap_or_default(),
            format!("{i}\n"),
            "each container wrote its own /tmp"
        );
    }
}

#[test]
fn twenty_containers_at_once_and_nothing_left_after() {
    let rts = match runtimes() {
        Ok(r) => r,
        Err(why) => skip!("{why}"),
    };
    for rt in rts {
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let pid = agent.pid();
        let idle_threads = threads(pid);
        // One container first: what the first session allocates once (the
        // allocator's arenas for the worker threads) is not a leak.
        let warm = Bundle::new("agent-warm", &["true"], Some(&profile));
        assert_eq!(warm.run(rt, &container_id("warm")).code, 0);
        let settle = || {
            agent_support::wait_until("the sessions to end", Duration::from_secs(20), || {
                threads(pid) == idle_threads
            });
            std::thread::sleep(Duration::from_millis(300));
            held(pid)
        };
        let (rss0, fds0) = settle();
        let mut peak = (0u64, 0usize);
        let mut first_after = None;
        for round in 0..ROUNDS {
            let t0 = Instant::now();
            let sampler = {
                let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
                let s = std::sync::Arc::clone(&stop);
                let h = std::thread::spawn(move || {
                    let mut peak = (0u64, 0usize, 0usize);
                    while !s.load(std::sync::atomic::Ordering::Relaxed) {
                        if std::fs::metadata(format!("/proc/{pid}")).is_ok() {
                            let (r, f) = held(pid);
                            peak = (peak.0.max(r), peak.1.max(f), peak.2.max(threads(pid)));
                        }
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    peak
                });
                (stop, h)
            };
            concurrent_round(rt, &profile, round);
            sampler.0.store(true, std::sync::atomic::Ordering::Relaxed);
            let (prss, pfds, pthreads) = sampler.1.join().unwrap();
            peak = (peak.0.max(prss), peak.1.max(pfds));
            let (rss, fds) = settle();
            eprintln!(
                "{} round {round}: {CONTAINERS} containers in {:?}; agent before: {rss0} KiB, {fds0} fds, {idle_threads} threads; peak {prss} KiB, {pfds} fds, {pthreads} threads; after: {rss} KiB, {fds} fds, {} threads",
                rt.name(),
                t0.elapsed(),
                threads(pid)
            );
            assert_eq!(
                fds,
                fds0,
                "{}: every descriptor of the sessions is closed",
                rt.name()
            );
            assert_eq!(
                threads(pid),
                idle_threads,
                "{}: every session's thread is gone",
                rt.name()
            );
            assert!(
                rss <= rss0 + RSS_RESIDUE_KIB,
                "{}: the agent's memory returns: {rss0} KiB before, {rss} KiB after",
                rt.name()
            );
            let first = *first_after.get_or_insert(rss);
            assert!(
                rss <= first + RSS_GROWTH_KIB,
                "{}: no growth from round to round: {first} KiB after the first, {rss} KiB after round {round}",
                rt.name()
            );
        }
        assert!(
            peak.1 > fds0,
            "{}: the sessions held descriptors meanwhile",
            rt.name()
        );
    }
}

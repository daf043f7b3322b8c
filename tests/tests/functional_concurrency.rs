//! Concurrency: many threads and many processes opening at once, every
//! open answered correctly (tests/c/fn_threads.c, tests/c/fn_forks.c).

mod functional_common;

use functional_common::*;
use std::time::{Duration, Instant};

#[test]
fn sixteen_threads_times_two_thousand_opens() {
    let cwd = TempDir::new("fn-threads");
    for k in 0..16 {
        cwd.write(&format!("t{k}"), format!("file {k}\n"));
    }
    let bin = install_c("fn_threads", cwd.path());
    let cmd = [bin.to_str().expect("utf-8"), "16", "2000"];
    let nat = native(cwd.path(), &cmd);
    assert_eq!(nat.stdout, "total=32000\n", "native:\n{}", show(&nat));
    let start = Instant::now();
    let out = run_with(None, cwd.path(), &cmd);
    let took = start.elapsed();
    assert_eq!(out.stdout, "total=32000\n", "{}", show(&out));
    assert_eq!(out.code, 0, "{}", show(&out));
    assert!(
        took < Duration::from_secs(60),
        "32,000 opens took {took:?} under fdsup"
    );
}

#[test]
fn threads_under_allow_all_policy_file() {
    let cwd = TempDir::new("fn-threads-allow");
    let pdir = TempDir::new("fn-threads-allow-policy");
    let p = write_policy(pdir.path(), "allow.json", ALLOW_ALL);
    for k in 0..16 {
        cwd.write(&format!("t{k}"), format!("file {k}\n"));
    }
    let bin = install_c("fn_threads", cwd.path());
    let out = sandboxed(&p, cwd.path(), &[bin.to_str().expect("utf-8"), "8", "500"]);
    assert_eq!(out.stdout, "total=4000\n", "{}", show(&out));
    assert_eq!(out.code, 0, "{}", show(&out));
}

#[test]
fn a_hundred_forked_children_all_succeed() {
    let cwd = TempDir::new("fn-forks");
    cwd.write("input.txt", "shared input\n");
    let bin = install_c("fn_forks", cwd.path());
    let out = run_with(None, cwd.path(), &[bin.to_str().expect("utf-8"), "100"]);
    assert_eq!(out.stdout, "ok=100 of 100\n", "{}", show(&out));
    assert_eq!(out.code, 0, "{}", show(&out));
    for n in 0..100 {
        let p = cwd.join(format!("child-{n}.txt"));
        assert_eq!(
            std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
            format!("child {n}\n")
        );
    }
}

/// Twenty shell pipelines at once, each in a background subshell: every
/// process's opens (reads, `>` redirections) are answered.
#[test]
fn shell_pipeline_fan_out() {
    let cwd = TempDir::new("fn-fanout");
    for k in 0..20 {
        cwd.write(&format!("in{k}.txt"), format!("{k}\n").repeat(100));
    }
    let script = "for k in $(seq 0 19); do (sort -n in$k.txt | uniq -c > out$k.txt) & done; wait; \
                  cat out*.txt | wc -l";
    let out = run_with(None, cwd.path(), &["/bin/sh", "-c", script]);
    assert_eq!(out.stdout.trim(), "20", "{}", show(&out));
    for k in 0..20 {
        let got = std::fs::read_to_string(cwd.join(format!("out{k}.txt"))).expect("out file");
        assert_eq!(
            got.split_whitespace().collect::<Vec<_>>(),
            ["100", &k.to_string()]
        );
    }
}

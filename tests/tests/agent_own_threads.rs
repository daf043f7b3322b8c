//! `fdsup agent` and a container process's own threads: natively a task
//! may look into its own thread group whatever its credentials (the
//! kernel's `same_thread_group`, before any ptrace or mode check), by a
//! thread's own `/proc/<tid>` as well as by `/proc/self/task/<tid>`.
//! Found in review: a non-dumpable process (one that changed its uid, or
//! said so with `prctl`) was refused `/proc/<tid>/fd`, `maps` and `cwd` of
//! its other thread through the agent, whose worker lowers
//! `CAP_SYS_PTRACE` outside the asking process's own `/proc/<pid>` and
//! counted only the asking thread and its leader as that. The same
//! program (`tests/c/agent_own_threads.c`) runs natively and under the
//! agent in a busybox container, as root with the bundle's reduced
//! capabilities; every line must match, and natively a non-dumpable child
//! is refused (so that the comparison tests something).

mod agent_support;

use std::collections::BTreeMap;

use agent_support::{container_id, runtimes, Agent, Bundle};
use fdsup_tests::{c_source, compile_c, skip};

fn lines(s: &str) -> BTreeMap<String, String> {
    s.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[test]
fn a_container_process_looks_into_its_own_threads_as_natively() {
    let rts = match runtimes() {
        Ok(r) => r,
        Err(why) => skip!("{why}"),
    };
    let program = compile_c(
        "agent_own_threads",
        &c_source("agent_own_threads"),
        &["-static"],
    );
    for rt in rts {
        let name = rt.name();
        let native = Bundle::new("agent-threads-native", &["/bin/own_threads"], None);
        std::fs::copy(&program, native.rootfs().join("bin/own_threads")).unwrap();
        let out = native.run(rt, &container_id("threads-native"));
        let native = lines(&out.stdout);
        for (k, v) in [
            ("self_fd", "OK"),
            ("fd", "OK"),
            ("maps", "OK"),
            ("cwd", "OK"),
            ("access_fd", "OK"),
            ("child_maps", "ERR:13"),
            ("child_cwd", "ERR:13"),
            ("done", "1"),
        ] {
            assert_eq!(
                native.get(k).map(String::as_str),
                Some(v),
                "{name}: native {k}: {out:?}"
            );
        }

        let agent = Agent::start(&[(
            "rw",
            r#"{ "version": 1, "filesystem": { "default": "rw" } }"#,
        )]);
        let profile = agent.profile("rw");
        let b = Bundle::new("agent-threads", &["/bin/own_threads"], Some(&profile));
        std::fs::copy(&program, b.rootfs().join("bin/own_threads")).unwrap();
        let out = b.run(rt, &container_id("threads"));
        let served = lines(&out.stdout);
        for (k, v) in &native {
            assert_eq!(served.get(k), Some(v), "{name}: {k}: natively {v}\n{out:?}");
        }
    }
}

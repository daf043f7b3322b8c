//! Helpers of the load and fault tests (`adversarial_closed_stderr`,
//! `adversarial_load`, `adversarial_faults`, `adversarial_soak`): start
//! fdsup with the standard streams a test chooses, wait for it with a
//! bound, and sample what the supervisor holds from `/proc/<pid>`.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The write end of a pipe whose read end is already closed: a write to it
/// fails with EPIPE (or raises SIGPIPE), as stderr does in
/// `fdsup run ... 2>&1 | head -1` once `head` has exited.
pub fn closed_pipe() -> std::io::PipeWriter {
    let (r, w) = std::io::pipe().expect("create a pipe");
    drop(r);
    w
}

/// Exit code as a shell shows it (128 + signal for a signal death).
pub fn code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

/// Waits up to `bound` for `child`; `None` if it is still running then.
pub fn wait_bounded(child: &mut Child, bound: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(st) = child.try_wait().expect("wait for the child") {
            return Some(st);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Kills `child` (SIGKILL) and reaps it; for a test that already failed.
pub fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// What `/proc/<pid>` says a process holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    /// Resident set size, KiB (`VmRSS`).
    pub rss_kib: u64,
    /// Threads (`Threads`).
    pub threads: u64,
    /// Open descriptors (entries of `/proc/<pid>/fd`).
    pub fds: usize,
}

/// Samples `pid`; `None` once it is gone.
pub fn held(pid: u32) -> Option<Held> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count();
    Some(Held {
        rss_kib: field("VmRSS:")?,
        threads: field("Threads:")?,
        fds,
    })
}

/// The descriptors `pid` holds, as `N -> target` lines (for messages).
pub fn fd_list(pid: u32) -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let mut v: Vec<String> = dir
        .flatten()
        .map(|e| {
            let target = std::fs::read_link(e.path())
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            format!("{} -> {target}", e.file_name().to_string_lossy())
        })
        .collect();
    v.sort();
    v
}

/// Is `pid` alive and not a zombie?
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => {
            let state = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().next());
            !matches!(state, Some("Z" | "X") | None)
        }
        Err(_) => false,
    }
}

/// Live processes (other than the test) whose command line mentions
/// `needle`: what a run left behind.
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in dir.flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || !alive(pid) {
            continue;
        }
        if let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) {
            let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
            if cmd.contains(needle) {
                found.push((pid, cmd));
            }
        }
    }
    found
}

/// Waits up to `bound` until nothing mentioning `needle` is alive; returns
/// what is left (killed, so that one failure does not disturb other tests).
pub fn left_behind(needle: &str, bound: Duration) -> Vec<(u32, String)> {
    let deadline = Instant::now() + bound;
    loop {
        let left = processes_mentioning(needle);
        if left.is_empty() {
            return left;
        }
        if Instant::now() > deadline {
            for (p, _) in &left {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
            return left;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The direct children of `pid` (from `/proc/<pid>/task/*/children`).
pub fn children(pid: u32) -> Vec<u32> {
    let mut v = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return v;
    };
    for t in tasks.flatten() {
        if let Ok(s) = std::fs::read_to_string(t.path().join("children")) {
            v.extend(s.split_whitespace().filter_map(|w| w.parse::<u32>().ok()));
        }
    }
    v
}

/// Waits up to `bound` for `pid` to have a child (the program fdsup ran).
pub fn first_child(pid: u32, bound: Duration) -> Option<u32> {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(&c) = children(pid).first() {
            return Some(c);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The contents of a file a run wrote (empty if absent).
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// Are `prlimit` and `setpriv` (util-linux) there?
pub fn util_linux() -> bool {
    ["prlimit", "setpriv"].iter().all(|t| {
        ["/usr/bin", "/bin"]
            .iter()
            .any(|d| Path::new(d).join(t).exists())
    })
}

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

/// A finished sampled run: what it printed, how it ended, what fdsup held.
#[derive(Debug)]
pub struct Sampled {
    /// Exit code (128 + signal for a signal death).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
    /// How long it ran.
    pub took: Duration,
    /// fdsup's samples, every few milliseconds while it ran.
    pub samples: Vec<Held>,
}

impl Sampled {
    /// The largest of `f` over the samples (0 without samples).
    pub fn max<T: Ord + Default + Copy>(&self, f: impl Fn(&Held) -> T) -> T {
        self.samples.iter().map(f).max().unwrap_or_default()
    }
}

/// Runs `cmd` (an fdsup command line) with its output captured, sampling
/// fdsup's `/proc` every 5 ms; panics if it runs longer than `bound`.
pub fn run_sampled(cmd: &mut Command, bound: Duration) -> Sampled {
    use std::io::Read as _;
    use std::process::Stdio;
    let t0 = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fdsup");
    let pid = child.id();
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut samples = Vec::new();
    let status = loop {
        if let Some(st) = child.try_wait().expect("wait for fdsup") {
            break st;
        }
        if t0.elapsed() > bound {
            kill(&mut child);
            panic!("{cmd:?} did not finish within {bound:?}");
        }
        if let Some(h) = held(pid) {
            samples.push(h);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = t0.elapsed();
    let text = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();
    Sampled {
        code: code(status),
        stdout: text(t_out.join().unwrap_or_default()),
        stderr: text(t_err.join().unwrap_or_default()),
        took,
        samples,
    }
}

/// The most threads fdsup may have: its main thread, at most 16 workers
/// (README: `FDSUP_WORKERS`), and a margin for the threads of requests
/// that wait (none in these tests). Never one per task of the program.
pub const MAX_SUPERVISOR_THREADS: u64 = 24;

/// How many workers fdsup starts here (as `supervise::worker_count`: the
/// CPUs, at least 4, at most 16).
pub fn workers() -> usize {
    std::thread::available_parallelism()
        .map_or(2, usize::from)
        .clamp(4, 16)
}

/// Descriptors of `/proc/<tid>` a worker keeps for the tasks it served last
/// (`task::ProcDirs`, `limits::PROC_DIRS_PER_WORKER`).
pub const PROC_DIRS_PER_WORKER: usize = 8;

/// The most descriptors fdsup may hold at any moment of these runs: its
/// own few (listener, pidfd, signalfd, epoll, waker, the root, standard
/// streams: under 16), and per worker its `/proc/<tid>` cache and one or two
/// for the request in hand. Never one per task or per request waiting.
pub fn max_supervisor_fds() -> usize {
    16 + workers() * (PROC_DIRS_PER_WORKER + 2)
}

/// Is this descriptor (a `fd_list` line) one of the workers' `/proc/<tid>`
/// directories?
pub fn is_proc_dir(line: &str) -> bool {
    line.split_once(" -> ")
        .and_then(|(_, t)| t.strip_prefix("/proc/"))
        .map(|t| t.trim_end_matches(" (deleted)"))
        .is_some_and(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
}

/// fdsup running a program that answers commands on stdin with one line
/// each on stdout (`rob_load phases`, `rob_load soak`).
pub struct Interactive {
    /// fdsup.
    pub child: Child,
    stdin: Option<std::process::ChildStdin>,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Interactive {
    /// Starts `cmd` with stdin and stdout piped (stderr to `stderr`).
    pub fn start(cmd: &mut Command, stderr: std::fs::File) -> Self {
        use std::io::BufRead as _;
        use std::process::Stdio;
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start fdsup");
        let stdin = child.stdin.take();
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in std::io::BufReader::new(out).lines() {
                let Ok(l) = l else { break };
                if tx.send(l).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    /// fdsup's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends one command line.
    pub fn send(&mut self, line: &str) {
        use std::io::Write as _;
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write a command to the program");
        stdin.flush().expect("flush");
    }

    /// The next line, within `bound` (panics otherwise, killing fdsup).
    pub fn line(&mut self, bound: Duration) -> String {
        match self.lines.recv_timeout(bound) {
            Ok(l) => l,
            Err(e) => {
                kill(&mut self.child);
                panic!("no answer from the program within {bound:?} ({e})");
            }
        }
    }

    /// Lines until one starting with `prefix` (returned with those before).
    pub fn until(&mut self, prefix: &str, bound: Duration) -> Vec<String> {
        let mut v = Vec::new();
        loop {
            let l = self.line(bound);
            let done = l.starts_with(prefix);
            v.push(l);
            if done {
                return v;
            }
        }
    }

    /// Closes the program's stdin (end-of-file) and waits up to `bound`.
    pub fn finish(mut self, bound: Duration) -> ExitStatus {
        drop(self.stdin.take());
        match wait_bounded(&mut self.child, bound) {
            Some(st) => st,
            None => {
                kill(&mut self.child);
                panic!("fdsup did not exit within {bound:?} of the program's end");
            }
        }
    }
}

/// Sets the soft `RLIMIT_NOFILE` of process `pid` (with `prlimit --pid`).
pub fn set_nofile(pid: u32, soft: usize) {
    let st = Command::new("prlimit")
        .args(["--pid", &pid.to_string(), &format!("--nofile={soft}:")])
        .status()
        .expect("run prlimit");
    assert!(st.success(), "prlimit --pid {pid} --nofile={soft}: failed");
}

/// `fd_list(pid)` once it has settled: a worker closes its copy of a
/// descriptor it handed over just after the program has it, so a look at a
/// quiet moment waits until two looks 50 ms apart agree (at most 5 s).
pub fn settled_fd_list(pid: u32) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut last = fd_list(pid);
    loop {
        std::thread::sleep(Duration::from_millis(50));
        let now = fd_list(pid);
        if now == last || Instant::now() > deadline {
            return now;
        }
        last = now;
    }
}

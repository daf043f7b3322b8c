//! Robustness: the program is SIGKILLed while the supervisor holds its open
//! (a FIFO with no writer, opened by the program and by a child of it).
//! fdsup must notice at once, exit with 128 + 9, and leave no process of
//! the sandbox behind (`tests/c/rob_fifo_kill.c`).

#[path = "adversarial_support.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fdsup_tests::TempDir;
use support::{prog, s, tail};

/// Is `pid` a live (not zombie) process?
fn alive(pid: u32) -> bool {
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

/// The system call `pid` is blocked in (first field of /proc/PID/syscall).
fn blocked_in(pid: u32) -> Option<String> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    s.split_whitespace().next().map(str::to_owned)
}

/// Processes whose command line mentions `needle`.
fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
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

fn read_pids(pidfile: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(pidfile).ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<u32>().ok());
    Some((it.next()??, it.next()??))
}

#[test]
fn killing_the_program_mid_request_ends_fdsup_promptly_and_cleanly() {
    let dir = TempDir::new("rob-killmid");
    let fifo = dir.join("fifo");
    let pidfile = dir.join("pids");
    let mk = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(mk.success(), "mkfifo failed");
    let program = prog("rob_fifo_kill");
    let stdout = std::fs::File::create(dir.join("stdout")).expect("stdout file");
    let stderr = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut fdsup = fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path())
        .arg(&program)
        .arg(&pidfile)
        .arg(&fifo)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .spawn()
        .expect("start fdsup");
    let output = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();

    // Wait until both processes wait on the FIFO inside the supervisor.
    let deadline = Instant::now() + Duration::from_secs(20);
    let (pid, child) = loop {
        if let Some(p) = read_pids(&pidfile) {
            let openat = libc::SYS_openat.to_string();
            if blocked_in(p.0).as_deref() == Some(openat.as_str())
                && blocked_in(p.1).as_deref() == Some(openat.as_str())
            {
                break p;
            }
        }
        if Instant::now() > deadline {
            let _ = fdsup.kill();
            let _ = fdsup.wait();
            panic!(
                "the program never blocked in its open\nstdout:\n{}\nstderr:\n{}",
                output("stdout"),
                output("stderr")
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    // Settle: the requests have reached the supervisor's FIFO threads.
    std::thread::sleep(Duration::from_millis(100));

    let killed_at = Instant::now();
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -KILL {pid} failed");
    let status = loop {
        if let Some(st) = fdsup.try_wait().expect("wait for fdsup") {
            break Some(st);
        }
        if killed_at.elapsed() > Duration::from_secs(5) {
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let took = killed_at.elapsed();
    let Some(status) = status else {
        let _ = Command::new("kill")
            .args(["-KILL", &child.to_string()])
            .status();
        let _ = fdsup.kill();
        let _ = fdsup.wait();
        panic!(
            "fdsup did not exit within 5 s of the program's death\nstderr:\n{}",
            tail(&output("stderr"), 4000)
        );
    };
    assert_eq!(
        status.code(),
        Some(137),
        "fdsup's status after the program was killed: {status:?} (after {took:?})\nstdout:\n{}\nstderr:\n{}",
        output("stdout"),
        tail(&output("stderr"), 4000)
    );

    // Nothing of the sandbox is left: neither the program, nor its child
    // still waiting on the FIFO, nor anything else started from the scratch
    // directory. (A zombie is given a moment to be reaped by init.)
    let needle = s(dir.path()).to_owned();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let left = processes_mentioning(&needle);
        if left.is_empty() && !alive(pid) && !alive(child) {
            break;
        }
        if Instant::now() > deadline {
            for (p, _) in &left {
                let _ = Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
            panic!(
                "processes left behind after fdsup exited: {left:?} (program {pid} alive: {}, child {child} alive: {})",
                alive(pid),
                alive(child)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("fdsup exited {took:?} after the program was killed");
}

//! Helpers shared by the `functional_*` end-to-end tests, on top of the
//! `fdsup_tests` harness: run under an embedded policy, compare a sandboxed
//! run with a native one (stdout, exit code, and the resulting files), copy a
//! compiled C program into the scratch directory (so that it runs from a
//! place the policy lets it read), and wait for spawned processes with a
//! time limit.
//!
//! Each test binary uses only part of this module.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

pub use fdsup_tests::*;

/// Debian's python3 (the `python3` on PATH may be a pyenv one under /root,
/// which the default policy does not let the program read).
pub const PY: &str = "/usr/bin/python3";

/// Everything about a run, for failure messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit code {}\n--- stdout ---\n{}--- stderr ---\n{}--------------",
        out.code, out.stdout, out.stderr
    )
}

/// Runs `fdsup run [--policy POLICY] -- COMMAND...` in `cwd`; `None` uses
/// the embedded default (no `--policy`).
pub fn run_with<S: AsRef<OsStr>>(policy: Option<&str>, cwd: &Path, command: &[S]) -> Output {
    let mut args: Vec<&OsStr> = vec!["run".as_ref()];
    if let Some(p) = policy {
        args.push("--policy".as_ref());
        args.push(p.as_ref());
    }
    args.push("--".as_ref());
    args.extend(command.iter().map(AsRef::as_ref));
    fdsup_run(args, cwd)
}

/// Asserts that a sandboxed run printed the same stdout and exited with the
/// same code as the native one.
#[track_caller]
pub fn assert_same_output(what: &str, native: &Output, sandboxed: &Output) {
    assert_eq!(
        native.code,
        sandboxed.code,
        "{what}: exit code differs from the native run\nnative:\n{}\nsandboxed:\n{}",
        show(native),
        show(sandboxed)
    );
    if native.stdout != sandboxed.stdout {
        panic!(
            "{what}: stdout differs from the native run\n{}\nnative:\n{}\nsandboxed:\n{}",
            line_diff(&native.stdout, &sandboxed.stdout),
            show(native),
            show(sandboxed)
        );
    }
}

/// The lines that differ between two outputs, for failure messages.
pub fn line_diff(a: &str, b: &str) -> String {
    let a: Vec<&str> = a.lines().collect();
    let b: Vec<&str> = b.lines().collect();
    let mut s = String::from("first differing lines (native | sandboxed):\n");
    let mut n = 0;
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or("<none>");
        let y = b.get(i).copied().unwrap_or("<none>");
        if x != y {
            s.push_str(&format!("  - {x}\n  + {y}\n"));
            n += 1;
            if n == 20 {
                break;
            }
        }
    }
    s
}

/// A description of every entry under `dir` (relative path → kind, mode,
/// owner, size and contents or link target), to compare the effect of a
/// sandboxed run on the file system with that of a native one.
pub fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
            .map(|e| e.expect("dir entry").path())
            .collect();
        entries.sort();
        for p in entries {
            let rel = p
                .strip_prefix(root)
                .expect("inside root")
                .display()
                .to_string();
            let md = std::fs::symlink_metadata(&p).expect("lstat");
            let mode = md.permissions().mode() & 0o7777;
            let ft = md.file_type();
            let desc = if ft.is_symlink() {
                let t = std::fs::read_link(&p).expect("readlink");
                format!("symlink -> {}", t.display())
            } else if ft.is_dir() {
                format!("dir {mode:o} uid={} gid={}", md.uid(), md.gid())
            } else if ft.is_file() {
                let data = std::fs::read(&p).expect("read file");
                let shown = if data.len() <= 256 {
                    format!("{:?}", String::from_utf8_lossy(&data))
                } else {
                    format!("{} bytes, hash {:016x}", data.len(), fnv(&data))
                };
                format!(
                    "file {mode:o} uid={} gid={} nlink={} {shown}",
                    md.uid(),
                    md.gid(),
                    md.nlink()
                )
            } else {
                format!("other {mode:o} {:?}", ft)
            };
            out.insert(rel, desc);
            if ft.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn fnv(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Asserts two directory trees hold the same entries with the same
/// contents and modes.
#[track_caller]
pub fn assert_same_tree(what: &str, native: &Path, sandboxed: &Path) {
    let a = snapshot(native);
    let b = snapshot(sandboxed);
    if a != b {
        let mut s = String::new();
        for k in a.keys().chain(b.keys().filter(|k| !a.contains_key(*k))) {
            let x = a.get(k).map_or("<absent>", String::as_str);
            let y = b.get(k).map_or("<absent>", String::as_str);
            if x != y {
                s.push_str(&format!("  {k}:\n    native:    {x}\n    sandboxed: {y}\n"));
            }
        }
        panic!("{what}: the files differ from the native run's:\n{s}");
    }
}

/// Compiles `tests/c/NAME.c` once per test binary. The harness's
/// `compile_c` names its temporary output after the process only, so two
/// threads compiling the same program at once would race on it.
pub fn compiled(name: &str) -> PathBuf {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    c_program(name)
}

/// Compiles `tests/c/NAME.c` and copies the binary into `dir/.bin/NAME`, so
/// that it runs from inside the directory the policy makes readable (not
/// from the build tree, which no policy of these tests allows).
pub fn install_c(name: &str, dir: &Path) -> PathBuf {
    let bin = compiled(name);
    let d = dir.join(".bin");
    std::fs::create_dir_all(&d).expect("create .bin");
    let dst = d.join(name);
    // Copied by a child process: a writable descriptor of the new file in
    // this (multi-threaded) test process could be inherited by another
    // test's fork, and exec would then fail with ETXTBSY.
    let st = std::process::Command::new("cp")
        .arg(&bin)
        .arg(&dst)
        .status()
        .expect("cp");
    assert!(st.success(), "copying the compiled program failed");
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    dst
}

/// Waits for `child` up to `limit`; `None` if it is still running.
pub fn wait_timeout(child: &mut Child, limit: Duration) -> Option<ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(st) = child.try_wait().expect("wait") {
            return Some(st);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Polls until `cond` holds or `limit` passes; returns whether it held.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends a signal (by name, e.g. "TERM") to one process, with kill(1).
pub fn send_signal(pid: u32, sig: &str) {
    let st = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -{sig} {pid} failed");
}

/// The state letter of a process from /proc/PID/stat (`Z` for a zombie),
/// with its command name, or `None` if there is no such process.
pub fn proc_state(pid: u32) -> Option<(String, char)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let state = stat[close + 1..].trim_start().chars().next()?;
    Some((comm, state))
}

//! Signals and cleanup: signals sent to fdsup reach the program (which may
//! handle them and choose its exit status); when the program exits, what it
//! left behind in the sandbox is killed, fdsup exits promptly, and nothing
//! is left over, not even a zombie.

mod functional_common;

use functional_common::*;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Starts `fdsup run -- COMMAND...` in `cwd` without waiting. Standard
/// output and error go to files in `logs` so that nothing a leftover
/// process holds can block the test.
fn spawn(cwd: &Path, logs: &TempDir, command: &[&str]) -> Child {
    let mut args = vec!["run", "--"];
    args.extend_from_slice(command);
    fdsup_cmd(args, cwd)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(logs.join("stdout")).expect("stdout file"))
        .stderr(std::fs::File::create(logs.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("spawn fdsup")
}

fn logs(logs: &TempDir) -> String {
    format!(
        "--- stdout ---\n{}--- stderr ---\n{}",
        std::fs::read_to_string(logs.join("stdout")).unwrap_or_default(),
        std::fs::read_to_string(logs.join("stderr")).unwrap_or_default()
    )
}

/// Waits for `file` to appear (the program's "ready" signal).
#[track_caller]
fn wait_for_file(child: &mut Child, file: &Path, l: &TempDir) {
    let ok = wait_until(Duration::from_secs(20), || {
        file.exists() || child.try_wait().ok().flatten().is_some()
    });
    if !ok || !file.exists() {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the program never wrote {}:\n{}", file.display(), logs(l));
    }
}

/// Waits for fdsup to exit; kills it and fails if it does not.
#[track_caller]
fn finish(child: &mut Child, limit: Duration, l: &TempDir) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match wait_timeout(child, limit) {
        Some(st) => st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)),
        None => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("fdsup did not exit within {limit:?}:\n{}", logs(l));
        }
    }
}

#[test]
fn sigterm_to_fdsup_reaches_a_shell_that_traps_it() {
    let cwd = TempDir::new("fn-sig-sh");
    let l = TempDir::new("fn-sig-sh-logs");
    let script = "trap 'echo term > marker; exit 3' TERM\n\
                  echo $$ > ready\n\
                  while :; do sleep 0.05; done";
    let mut child = spawn(cwd.path(), &l, &["/bin/sh", "-c", script]);
    wait_for_file(&mut child, &cwd.join("ready"), &l);
    send_signal(child.id(), "TERM");
    let code = finish(&mut child, Duration::from_secs(20), &l);
    assert_eq!(code, 3, "the program's own exit status:\n{}", logs(&l));
    assert_eq!(
        std::fs::read_to_string(cwd.join("marker")).unwrap_or_default(),
        "term\n",
        "{}",
        logs(&l)
    );
}

#[test]
fn sigterm_to_fdsup_reaches_python() {
    let cwd = TempDir::new("fn-sig-py");
    let l = TempDir::new("fn-sig-py-logs");
    let py = "import signal, sys, time\n\
              def h(sig, frame):\n\
              \x20   open('marker', 'w').write('got %d' % sig)\n\
              \x20   sys.exit(3)\n\
              signal.signal(signal.SIGTERM, h)\n\
              open('ready', 'w').close()\n\
              while True:\n\
              \x20   time.sleep(0.05)\n";
    let mut child = spawn(cwd.path(), &l, &[PY, "-c", py]);
    wait_for_file(&mut child, &cwd.join("ready"), &l);
    send_signal(child.id(), "TERM");
    let code = finish(&mut child, Duration::from_secs(20), &l);
    assert_eq!(code, 3, "{}", logs(&l));
    assert_eq!(
        std::fs::read_to_string(cwd.join("marker")).unwrap_or_default(),
        "got 15",
        "{}",
        logs(&l)
    );
}

/// INT, HUP, QUIT, USR1 and USR2 are forwarded too, one at a time, and the
/// program keeps running between them.
#[test]
fn every_forwarded_signal_arrives() {
    let cwd = TempDir::new("fn-sig-all");
    let l = TempDir::new("fn-sig-all-logs");
    let py = "import signal, sys, time\n\
              def h(sig, frame):\n\
              \x20   with open('got', 'a') as f:\n\
              \x20       f.write(signal.Signals(sig).name + '\\n')\n\
              \x20   if sig == signal.SIGTERM:\n\
              \x20       sys.exit(4)\n\
              for s in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1,\n\
              \x20         signal.SIGUSR2, signal.SIGTERM):\n\
              \x20   signal.signal(s, h)\n\
              open('ready', 'w').close()\n\
              while True:\n\
              \x20   time.sleep(0.02)\n";
    let mut child = spawn(cwd.path(), &l, &[PY, "-c", py]);
    wait_for_file(&mut child, &cwd.join("ready"), &l);
    let mut expected = String::new();
    for sig in ["INT", "HUP", "QUIT", "USR1", "USR2"] {
        send_signal(child.id(), sig);
        expected.push_str(&format!("SIG{sig}\n"));
        let arrived = wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(cwd.join("got")).unwrap_or_default() == expected
        });
        if !arrived {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "SIG{sig} sent to fdsup did not reach the program; it saw {:?}\n{}",
                std::fs::read_to_string(cwd.join("got")).unwrap_or_default(),
                logs(&l)
            );
        }
    }
    send_signal(child.id(), "TERM");
    let code = finish(&mut child, Duration::from_secs(20), &l);
    assert_eq!(code, 4, "{}", logs(&l));
    assert_eq!(
        std::fs::read_to_string(cwd.join("got")).unwrap_or_default(),
        format!("{expected}SIGTERM\n")
    );
}

/// A program that does not handle SIGTERM dies of it: 143.
#[test]
fn unhandled_sigterm_gives_143() {
    let cwd = TempDir::new("fn-sig-unhandled");
    let l = TempDir::new("fn-sig-unhandled-logs");
    let mut child = spawn(
        cwd.path(),
        &l,
        &[
            PY,
            "-c",
            "import time\nopen('ready','w').close()\ntime.sleep(60)",
        ],
    );
    wait_for_file(&mut child, &cwd.join("ready"), &l);
    send_signal(child.id(), "TERM");
    let code = finish(&mut child, Duration::from_secs(20), &l);
    assert_eq!(code, 143, "{}", logs(&l));
}

/// Reads the pids a script printed, one a line.
fn pids_printed(out: &Output) -> Vec<u32> {
    out.stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect()
}

/// Asserts that none of `pids` (processes named `comm`) still exists, not
/// even as a zombie, allowing a moment for the kernel to finish reaping.
/// Kills any survivor so that nothing outlives the test.
#[track_caller]
fn assert_gone(pids: &[u32], comm: &str, out: &Output) {
    let mine = |pid: u32| proc_state(pid).filter(|(c, _)| c == comm);
    let all_gone = wait_until(Duration::from_secs(3), || {
        pids.iter().all(|p| mine(*p).is_none())
    });
    if !all_gone {
        let survivors: Vec<String> = pids
            .iter()
            .filter_map(|p| mine(*p).map(|(c, s)| format!("{p} ({c}, state {s})")))
            .collect();
        for p in pids {
            if mine(*p).is_some() {
                let _ = std::process::Command::new("kill")
                    .args(["-KILL", &p.to_string()])
                    .status();
            }
        }
        panic!(
            "processes left behind by the program survived fdsup: {}\n{}",
            survivors.join(", "),
            show(out)
        );
    }
}

#[test]
fn background_process_is_killed_when_the_program_exits() {
    let cwd = TempDir::new("fn-sig-orphan");
    let start = Instant::now();
    let out = run_with(
        None,
        cwd.path(),
        &[
            "/bin/sh",
            "-c",
            "sleep 300 >/dev/null 2>&1 </dev/null & echo $!; exit 5",
        ],
    );
    let took = start.elapsed();
    assert_eq!(out.code, 5, "{}", show(&out));
    let pids = pids_printed(&out);
    assert_eq!(
        pids.len(),
        1,
        "the script prints the sleep's pid:\n{}",
        show(&out)
    );
    assert!(
        took < Duration::from_secs(10),
        "fdsup took {took:?} to exit after the program did:\n{}",
        show(&out)
    );
    assert_gone(&pids, "sleep", &out);
}

/// Leftovers that ignore SIGTERM and SIGHUP, that started their own
/// session, or that sit two forks deep are killed all the same.
#[test]
fn stubborn_and_detached_leftovers_are_killed() {
    let cwd = TempDir::new("fn-sig-stubborn");
    let script = "(trap '' TERM HUP INT; exec sleep 301) >/dev/null 2>&1 </dev/null & echo $!\n\
                  setsid sleep 302 >/dev/null 2>&1 </dev/null & echo $!\n\
                  (sleep 303 >/dev/null 2>&1 </dev/null & echo $!) \n\
                  exit 0";
    let start = Instant::now();
    let out = run_with(None, cwd.path(), &["/bin/sh", "-c", script]);
    let took = start.elapsed();
    assert_eq!(out.code, 0, "{}", show(&out));
    let pids = pids_printed(&out);
    assert_eq!(
        pids.len(),
        3,
        "the script prints three pids:\n{}",
        show(&out)
    );
    assert!(
        took < Duration::from_secs(10),
        "fdsup took {took:?} to exit:\n{}",
        show(&out)
    );
    assert_gone(&pids, "sleep", &out);
}

/// The program's exit status still wins when leftovers are killed, and the
/// leftovers' output does not hold fdsup's standard output open.
#[test]
fn leftover_holding_stdout_does_not_hang_fdsup() {
    let cwd = TempDir::new("fn-sig-stdout");
    let start = Instant::now();
    // The sleep keeps the stdout pipe: run_cmd reads until every writer is
    // gone, so this returns only once the leftover is dead.
    let out = run_with(
        None,
        cwd.path(),
        &["/bin/sh", "-c", "sleep 304 & echo $!; exit 9"],
    );
    let took = start.elapsed();
    assert_eq!(out.code, 9, "{}", show(&out));
    assert!(
        took < Duration::from_secs(10),
        "took {took:?}: the leftover kept running:\n{}",
        show(&out)
    );
    assert_gone(&pids_printed(&out), "sleep", &out);
}

/// Many children, all waited for by the program, and orphans re-parented
/// inside the sandbox: none is left a zombie of fdsup while the program
/// still runs.
#[test]
fn no_zombies_after_many_short_children() {
    let cwd = TempDir::new("fn-sig-zombies");
    let l = TempDir::new("fn-sig-zombies-logs");
    let script = "for i in $(seq 1 50); do /bin/true & done; wait\n\
                  for i in $(seq 1 20); do (sleep 0.01 &) ; done\n\
                  echo done > ready\n\
                  while [ ! -e stop ]; do sleep 0.05; done";
    let mut child = spawn(cwd.path(), &l, &["/bin/sh", "-c", script]);
    wait_for_file(&mut child, &cwd.join("ready"), &l);
    let fdsup_pid = child.id().to_string();
    let zombies_of_fdsup = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .expect("/proc")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
                    return false;
                };
                let Some(close) = stat.rfind(')') else {
                    return false;
                };
                let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
                fields.first() == Some(&"Z") && fields.get(1) == Some(&fdsup_pid.as_str())
            })
            .collect()
    };
    // Reaping may lag a little; zombies that stay are the failure.
    let mut zombies = Vec::new();
    let reaped = wait_until(Duration::from_secs(5), || {
        zombies = zombies_of_fdsup();
        zombies.is_empty()
    });
    std::fs::write(cwd.join("stop"), "").expect("write stop");
    let code = finish(&mut child, Duration::from_secs(20), &l);
    assert_eq!(code, 0, "{}", logs(&l));
    assert!(
        reaped,
        "zombie children of fdsup while the program ran: {zombies:?}"
    );
}

//! Issue 15.2: every signal reaches the program exactly once, whether it
//! is sent to fdsup, to a process group (from outside, or by the terminal),
//! or by the program itself — fdsup and the program no longer share the
//! process group that such signals are sent to (see `supervisor/src/jobs.rs`).
//! A SIGINT counter (`tests/c/fn_sigcount.c`) waits 400 ms after the first
//! signal for a duplicate; each case runs repeatedly, since a duplicate is
//! a race. Through a pseudo-terminal, an interactive bash runs fdsup as a
//! job: Ctrl-C, Ctrl-Z then `fg`, a read from the terminal, a pipeline,
//! and the terminal is the shell's again after each.

mod functional_common;

use functional_common::*;
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::CommandExt as _;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

const ROUNDS: usize = 8;

/// The counter's "ready" line: (pid, pgid, ppid).
fn ready(out: &mut BufReader<ChildStdout>, child: &mut Child) -> (i32, i32, i32) {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("the counter never said ready");
        }
        if let Some(rest) = line.trim().strip_prefix("ready ") {
            let v: Vec<i32> = rest
                .split(' ')
                .filter_map(|kv| kv.split_once('=').and_then(|(_, v)| v.parse().ok()))
                .collect();
            assert_eq!(v.len(), 3, "{line}");
            return (v[0], v[1], v[2]);
        }
    }
}

/// The counter's final count.
fn count(out: &mut BufReader<ChildStdout>, child: &mut Child) -> u32 {
    let mut line = String::new();
    loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            let _ = child.kill();
            panic!("the counter never said its count");
        }
        if let Some(n) = line.trim().strip_prefix("count=") {
            let n = n.parse().expect("count");
            let st = wait_timeout(child, Duration::from_secs(20)).expect("fdsup exits");
            assert!(st.success(), "fdsup: {st:?}");
            return n;
        }
    }
}

fn kill(target: i32, sig: i32) {
    // SAFETY-free: libc::kill through a tiny FFI-free path: kill(1).
    let st = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg("--")
        .arg(target.to_string())
        .status()
        .expect("kill");
    assert!(st.success(), "kill -{sig} -- {target}");
}

fn spawn(cmd: &mut Command) -> (Child, BufReader<ChildStdout>) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let out = BufReader::new(child.stdout.take().expect("stdout"));
    (child, out)
}

/// fdsup started as the leader of a process group of its own (as a shell
/// starts a job, without a terminal): SIGINT to fdsup, to its group and to
/// the program's group each arrive once; so does the program's own
/// `killpg(0, SIGINT)`.
#[test]
fn fdsup_leading_its_group() {
    let cwd = TempDir::new("sig1-own");
    let counter = install_c("fn_sigcount", cwd.path());
    let c = counter.to_str().expect("utf-8");
    for round in 0..ROUNDS {
        for how in ["fdsup", "fdsup's group", "the program's group", "itself"] {
            let mut cmd = fdsup_cmd(["run", "--", c], cwd.path());
            if how == "itself" {
                cmd.arg("self");
            }
            cmd.process_group(0);
            let (mut child, mut out) = spawn(&mut cmd);
            let fdsup_pid = i32::try_from(child.id()).expect("pid");
            let (_pid, pgid, ppid) = ready(&mut out, &mut child);
            assert_eq!(ppid, fdsup_pid, "fdsup is the program's parent");
            assert_ne!(pgid, fdsup_pid, "the program has a group of its own");
            match how {
                "fdsup" => kill(fdsup_pid, libc::SIGINT),
                "fdsup's group" => kill(-fdsup_pid, libc::SIGINT),
                "the program's group" => kill(-pgid, libc::SIGINT),
                _ => {}
            }
            let n = count(&mut out, &mut child);
            assert_eq!(n, 1, "round {round}: SIGINT to {how} arrived {n} times");
        }
    }
}

/// fdsup started by a script in the script's process group (as make, a
/// test runner or `timeout` start it): the program stays in that group and
/// fdsup steps out of it, so SIGINT to the group arrives once, as does
/// SIGINT to fdsup and the program's own `killpg(0, SIGINT)`.
#[test]
fn fdsup_started_by_a_script() {
    let cwd = TempDir::new("sig1-aside");
    let counter = install_c("fn_sigcount", cwd.path());
    let c = counter.to_str().expect("utf-8");
    let f = fdsup();
    for round in 0..ROUNDS {
        for how in ["the group", "fdsup", "itself"] {
            let arg = if how == "itself" { " self" } else { "" };
            // The shell ignores SIGINT itself (so it stays to wait): the
            // program sets its own handler.
            let script = format!(
                "trap '' INT; '{}' run -- '{c}'{arg}; echo shell-done",
                f.display()
            );
            let mut cmd = Command::new("/bin/sh");
            cmd.args(["-c", &script])
                .current_dir(cwd.path())
                .process_group(0);
            let (mut child, mut out) = spawn(&mut cmd);
            let sh = i32::try_from(child.id()).expect("pid");
            let (_pid, pgid, ppid) = ready(&mut out, &mut child);
            assert_eq!(pgid, sh, "the program stays in the script's group");
            assert_ne!(ppid, sh, "fdsup is the program's parent");
            match how {
                "the group" => kill(-sh, libc::SIGINT),
                "fdsup" => kill(ppid, libc::SIGINT),
                _ => {}
            }
            let n = count(&mut out, &mut child);
            assert_eq!(n, 1, "round {round}: SIGINT to {how} arrived {n} times");
        }
    }
}

/// An interactive bash on a pseudo-terminal runs fdsup as a job, as a user
/// at a terminal does: Ctrl-C reaches the program once; the program's own
/// `killpg(0, ...)`, SIGINT to fdsup and to the job's group from outside
/// too; Ctrl-Z stops the job and `fg` continues it; the program reads the
/// terminal; in a pipeline (`| cat`) Ctrl-C still arrives once; and after
/// each, the shell has its terminal back (its prompt answers).
#[test]
fn through_a_pseudo_terminal() {
    require("bash");
    let cwd = TempDir::new("sig1-pty");
    let counter = install_c("fn_sigcount", cwd.path());
    let driver = r#"
import os, pty, re, select, signal, sys, time
buf = b""
fdsup, counter, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
def on_alarm(*_):
    print("ALARM: the session took too long; last output %r" % buf[-600:], flush=True)
    os._exit(4)
signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(400)
pid, fd = pty.fork()
if pid == 0:
    env = dict(os.environ, PS1="OUTER> ", TERM="dumb")
    os.execvpe("bash", ["bash", "--norc", "--noprofile", "-i"], env)
buf = b""
def expect(pat, timeout=30, fatal=True):
    global buf
    deadline = time.time() + timeout
    while True:
        m = re.search(pat, buf)
        if m:
            buf = buf[m.end():]
            return m
        left = deadline - time.time()
        r, _, _ = select.select([fd], [], [], max(0, left))
        if not r:
            if not fatal:
                return None
            print("TIMEOUT in step %r waiting for %r after %r" % (step, pat, buf[-400:]))
            sys.exit(3)
        try:
            d = os.read(fd, 4096)
        except OSError:
            print("EOF waiting for %r after %r" % (pat, buf[-400:]))
            sys.exit(3)
        buf += d
def send(b):
    os.write(fd, b)
def ready():
    m = expect(rb"ready pid=(\d+) pgid=(\d+) ppid=(\d+)")
    return [int(x) for x in m.groups()]
step = "start"
nsync = 0
def sync():
    # A marker typed and seen, then the prompt: the session is in step.
    global nsync
    nsync += 1
    send(b"echo SYNC%d\n" % nsync)
    expect(rb"\nSYNC%d\r?\n" % nsync)
    expect(rb"OUTER> ")
expect(rb"OUTER> ")
run = "'%s' run -- '%s'" % (fdsup, counter)
def counted(label):
    m = expect(rb"count=(\d+)")
    print(label, m.group(1).decode(), flush=True)
    sync()
for i in range(rounds):
    step = "round %d" % i
    send((run + "\n").encode()); ready(); send(b"\x03"); counted("ctrl-c")
    send((run + " self\n").encode()); ready(); counted("self")
    send((run + "\n").encode()); p, g, f = ready(); os.kill(f, signal.SIGINT); counted("kill-fdsup")
    send((run + "\n").encode()); p, g, f = ready(); os.killpg(os.getpgid(f), signal.SIGINT); counted("kill-job-group")
    send((run + "\n").encode()); p, g, f = ready(); os.killpg(g, signal.SIGINT); counted("kill-program-group")
    send((run + " | (trap '' INT; exec cat)\n").encode()); ready(); send(b"\x03"); counted("pipeline-ctrl-c")
step = "ctrl-z fg"
# Ctrl-Z, then fg: the job stops and goes on, and still counts one SIGINT.
send((run + "\n").encode()); ready(); send(b"\x1a"); expect(rb"Stopped"); sync()
send(b"fg\n"); time.sleep(0.5); send(b"\x03"); counted("after-ctrl-z")
step = "read"
# The program reads the terminal.
send(("'%s' run -- /bin/sh -c 'echo reading; read x; echo got=$x'\n" % fdsup).encode())
expect(rb"\nreading"); time.sleep(0.3); send(b"typed\n"); expect(rb"got=typed"); sync()
print("read ok", flush=True)
step = "pipeline ctrl-z"
# Job control: a pipeline stopped and continued; a job started in the
# background stops when it reads the terminal, and reads it once in the
# foreground; a stopped job goes on in the background.
# (Programs that do not fork: a shell stopped in the middle of a vfork
# waits for its child and never stops, natively too.)
send(("'%s' run -- /usr/bin/python3 -c \"import time; print('started', flush=True); time.sleep(1); print('slept', flush=True); print('piped=' + input())\" | cat\n" % fdsup).encode())
expect(rb"\nstarted"); send(b"\x1a"); expect(rb"Stopped"); sync()
send(b"fg\n"); expect(rb"slept"); time.sleep(0.3); send(b"abc\n"); expect(rb"piped=abc"); sync()
print("pipeline job ok", flush=True)
step = "background read"
send(("'%s' run -- /bin/sh -c 'read x; echo bg=$x' &\n" % fdsup).encode())
# bash says a background job stopped when it next reads a command line.
for _ in range(30):
    send(b"\n")
    if expect(rb"Stopped", timeout=1, fatal=False):
        break
else:
    print("TIMEOUT: the background job never stopped on its read: %r" % buf[-400:])
    sys.exit(3)
sync()
send(b"fg\n"); time.sleep(0.5); send(b"xyz\n"); expect(rb"bg=xyz"); sync()
print("background job ok", flush=True)
step = "bg"
send(("'%s' run -- /usr/bin/python3 -c \"import time; print('started', flush=True); time.sleep(1); print('went-on')\"\n" % fdsup).encode())
expect(rb"\nstarted"); send(b"\x1a"); expect(rb"Stopped"); sync()
send(b"bg\n"); expect(rb"went-on"); sync()
print("bg ok", flush=True)
step = "inner shell"
# An interactive shell in the sandbox does job control of its own.
send(("PS1='INNER> ' '%s' run -- bash --norc --noprofile -i\n" % fdsup).encode()); expect(rb"INNER> ")
send(b"sleep 30\n"); time.sleep(0.5); send(b"\x03"); expect(rb"INNER> ")
send(b"sleep 30\n"); time.sleep(0.5); send(b"\x1a"); expect(rb"Stopped"); expect(rb"INNER> ")
send(b"kill -9 %1; wait\n"); expect(rb"INNER> ")
# A second exit, should bash still see a job ("There are stopped jobs"),
# on a machine slow enough that the kill came late.
send(b"exit\n")
if not expect(rb"OUTER> ", timeout=10, fatal=False):
    send(b"exit\n")
sync()
print("inner shell ok", flush=True)
send(b"echo shell-has-the-terminal\n"); expect(rb"shell-has-the-terminal\r?\n"); expect(rb"OUTER> ")
print("prompt ok", flush=True)
send(b"exit\n")
deadline = time.time() + 30
while time.time() < deadline:
    if os.waitpid(pid, os.WNOHANG)[0]:
        break
    try:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            buf += os.read(fd, 4096)
    except OSError:
        time.sleep(0.1)
else:
    def st(p):
        try:
            return open("/proc/%d/stat" % p).read().split(")")[1].split()[0] + " " + open("/proc/%d/wchan" % p).read()
        except OSError as e:
            return str(e)
    kids = [int(x) for x in os.listdir("/proc") if x.isdigit() and open("/proc/%s/stat" % x).read().split(")")[1].split()[1] == str(pid)]
    print("bash did not exit: %r; bash %s; its children %s" % (buf[-400:], st(pid), [(k, open("/proc/%d/cmdline" % k).read().replace("\0", " "), st(k)) for k in kids]), flush=True)
    os.kill(pid, signal.SIGKILL)
    sys.exit(5)
"#;
    let out = run_cmd(
        Command::new(PY)
            .args(["-c", driver])
            .arg(fdsup())
            .arg(&counter)
            .arg(ROUNDS.to_string())
            .current_dir(cwd.path()),
        Duration::from_secs(600),
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    let mut seen = 0;
    for line in out.stdout.lines() {
        let (label, n) = line.rsplit_once(' ').expect("label n");
        if n == "ok" {
            continue;
        }
        assert_eq!(n, "1", "{label}: SIGINT arrived {n} times\n{}", show(&out));
        seen += 1;
    }
    assert_eq!(seen, ROUNDS * 6 + 1, "{}", show(&out));
    for step in [
        "read ok",
        "pipeline job ok",
        "background job ok",
        "bg ok",
        "inner shell ok",
        "prompt ok",
    ] {
        assert!(out.stdout.contains(step), "{step}\n{}", show(&out));
    }
}

//! Issue 15.4: what ordinary programs need at run time works under
//! `@default`: POSIX shared memory and semaphores in a `/dev/shm` of the
//! run's own (Python's `multiprocessing`), pseudo-terminals (`tty` under
//! `script`, Python's `pty`), `/proc/uptime` and its neighbours (`uptime`,
//! `ps`), while the host's `/dev/shm` and other sessions' terminals stay
//! out of reach. And (issue 15.9) a directory that exists only on the way
//! to a `content` file lists it.

mod functional_common;

use functional_common::*;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// A scratch `$TMPDIR` for one run, so that what fdsup makes there (the
/// private `/dev/shm`) can be seen to be gone afterwards.
fn run_in(cwd: &TempDir, tmp: &TempDir, args: &[&str]) -> Output {
    let mut cmd = fdsup_cmd(["run"].iter().chain(args.iter()), cwd.path());
    cmd.env("TMPDIR", tmp.path());
    run_cmd(&mut cmd, TIMEOUT)
}

fn leftovers(tmp: &TempDir) -> Vec<String> {
    std::fs::read_dir(tmp.path())
        .expect("read tmp")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

/// `multiprocessing.Lock()` (a POSIX semaphore in `/dev/shm`), a pool, a
/// queue and a named shared-memory block work; the host's `/dev/shm` is
/// neither seen nor written; the private directory is gone after the run.
#[test]
fn python_multiprocessing_uses_a_private_dev_shm() {
    let cwd = TempDir::new("rt-shm");
    let tmp = TempDir::new("rt-shm-tmp");
    let host = format!("/dev/shm/fdsup-test-host-{}", std::process::id());
    std::fs::write(&host, "the host's\n").expect("write host shm file");
    let name = format!("fdsup-test-{}", std::process::id());
    let script = format!(
        r#"
import multiprocessing as mp, os
from multiprocessing import shared_memory
lock = mp.Lock()
with lock:
    print("lock ok")
with mp.Pool(2) as p:
    print("pool", p.map(abs, [-1, -2, -3]))
q = mp.Queue(); q.put("queued"); print(q.get())
m = shared_memory.SharedMemory(create=True, size=16, name="{name}")
m.buf[:2] = b"hi"
print("listed", "{name}" in os.listdir("/dev/shm"))
print("host seen", any(n.startswith("fdsup-test-host") for n in os.listdir("/dev/shm")))
try:
    open("{host}").read(); print("host read")
except FileNotFoundError:
    print("host hidden")
m.close(); m.unlink()
print("after unlink", os.listdir("/dev/shm"))
"#
    );
    let out = run_in(&cwd, &tmp, &["--", PY, "-c", &script]);
    let _ = std::fs::remove_file(&host);
    out.expect_code(0);
    for want in [
        "lock ok",
        "pool [1, 2, 3]",
        "queued",
        "listed True",
        "host seen False",
        "host hidden",
        "after unlink []",
    ] {
        assert!(
            out.stdout.contains(want),
            "missing {want:?}\n{}",
            show(&out)
        );
    }
    assert!(
        !std::path::Path::new(&format!("/dev/shm/{name}")).exists(),
        "the sandbox wrote into the host's /dev/shm"
    );
    assert_eq!(
        leftovers(&tmp),
        Vec::<String>::new(),
        "the private /dev/shm is removed at the end"
    );
}

/// What a file left in the private `/dev/shm` does not survive the run,
/// and the next run starts with an empty one; a shell that changes into
/// `/dev/shm` works there too.
#[test]
fn private_dev_shm_is_per_run() {
    let cwd = TempDir::new("rt-shm-run");
    let tmp = TempDir::new("rt-shm-run-tmp");
    let out = run_in(
        &cwd,
        &tmp,
        &[
            "--",
            "/bin/sh",
            "-c",
            "echo kept > /dev/shm/left && cat /dev/shm/left && cd /dev/shm && echo there > here && ls && cat here",
        ],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "kept\nhere\nleft\nthere\n", "{}", show(&out));
    let out = run_in(&cwd, &tmp, &["--", "/bin/ls", "-A", "/dev/shm"]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "",
        "a new run's /dev/shm is empty\n{}",
        show(&out)
    );
    assert_eq!(leftovers(&tmp), Vec::<String>::new());
}

/// `uptime`, `ps` and the `/proc` files runtimes read work.
#[test]
fn uptime_ps_and_proc_files_work() {
    require("uptime");
    require("ps");
    let cwd = TempDir::new("rt-proc");
    let out = run_with(None, cwd.path(), &["uptime"]);
    out.expect_code(0);
    assert!(out.stdout.contains("load average"), "{}", show(&out));
    let out = run_with(None, cwd.path(), &["ps", "-o", "pid,comm"]);
    out.expect_code(0);
    assert!(out.stdout.contains("ps"), "{}", show(&out));
    let out = run_with(
        None,
        cwd.path(),
        &[
            "/bin/sh",
            "-c",
            "cat /proc/uptime /proc/loadavg /proc/version /proc/sys/kernel/pid_max \
             /proc/sys/kernel/ngroups_max /proc/sys/vm/overcommit_memory \
             /proc/sys/fs/file-max /proc/sys/net/core/somaxconn >/dev/null && echo read",
        ],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "read\n", "{}", show(&out));
    let out = run_with(
        None,
        cwd.path(),
        &[
            PY,
            "-c",
            "import os; print(len(os.getloadavg()), os.cpu_count() > 0)",
        ],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "3 True\n", "{}", show(&out));
}

/// Under `script` (a pseudo-terminal), `tty` names it; a program makes
/// pseudo-terminals of its own (`os.openpty`, `pty.fork`) and uses them.
#[test]
fn pseudo_terminals_of_the_program_work() {
    require("script");
    let cwd = TempDir::new("rt-pty");
    let fd = fdsup();
    let out = run_cmd(
        Command::new("script")
            .args([
                "-qec",
                &format!("'{}' run -- tty", fd.display()),
                "/dev/null",
            ])
            .current_dir(cwd.path()),
        TIMEOUT,
    );
    out.expect_code(0);
    assert!(
        out.stdout.trim_end().starts_with("/dev/pts/"),
        "tty under script:\n{}",
        show(&out)
    );
    let script = r#"
import os, pty
m, s = os.openpty()
print("name", os.ttyname(s).startswith("/dev/pts/"))
os.write(m, b"typed\n")
print("read", os.read(s, 16))
pid, fd = pty.fork()
if pid == 0:
    os.execv("/usr/bin/tty", ["tty"])
out = b""
while True:
    try:
        b = os.read(fd, 100)
    except OSError:
        break
    if not b:
        break
    out += b
os.waitpid(pid, 0)
print("child", out.strip().decode().startswith("/dev/pts/"))
"#;
    let out = run_with(None, cwd.path(), &[PY, "-c", script]);
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "name True\nread b'typed\\n'\nchild True\n",
        "{}",
        show(&out)
    );
}

/// Another session's terminal does not exist for the sandbox, under
/// `@default` and `@allow-all` alike: not to open, not to stat, not in a
/// listing of `/dev/pts`. The control: the same run opens a terminal of
/// its own.
#[test]
fn other_sessions_terminals_are_hidden() {
    let cwd = TempDir::new("rt-pty-other");
    // A terminal of this test process (not of the sandbox): its master
    // stays open here, in a helper that holds it while the runs go.
    let mut holder = Command::new(PY)
        .args([
            "-c",
            "import os, sys, time\nm, s = os.openpty()\nprint(os.ttyname(s), flush=True)\ntime.sleep(60)",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn the terminal holder");
    let mut line = String::new();
    {
        use std::io::BufRead as _;
        let stdout = holder.stdout.take().expect("stdout");
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the terminal's name");
    }
    let other = line.trim().to_owned();
    assert!(other.starts_with("/dev/pts/"), "{other:?}");
    let n = other.trim_start_matches("/dev/pts/").to_owned();
    let script = format!(
        r#"
import os
for what, f in (("open", lambda: os.open("{other}", os.O_RDWR | os.O_NOCTTY)), ("stat", lambda: os.stat("{other}"))):
    try:
        f(); print(what, "reached")
    except FileNotFoundError:
        print(what, "hidden")
print("listed", "{n}" in os.listdir("/dev/pts"))
m, s = os.openpty()
mine = os.path.basename(os.ttyname(s))
print("mine listed", mine in os.listdir("/dev/pts"))
os.stat(os.ttyname(s)); print("mine stat")
"#
    );
    for policy in [None, Some("@allow-all")] {
        let out = run_with(policy, cwd.path(), &[PY, "-c", &script]);
        out.expect_code(0);
        assert_eq!(
            out.stdout,
            "open hidden\nstat hidden\nlisted False\nmine listed True\nmine stat\n",
            "{policy:?}\n{}",
            show(&out)
        );
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

/// As an unprivileged user, the private `/dev/shm` works the same.
#[test]
fn multiprocessing_lock_as_nobody() {
    require("setpriv");
    if !is_root() {
        skip!("needs root to become uid 65534");
    }
    let cwd = TempDir::new("rt-shm-nobody");
    std::fs::set_permissions(cwd.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let mut cmd = Command::new("setpriv");
    cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(fdsup())
        .arg("run")
        .args(metadata_flags())
        .args([
            "--",
            PY,
            "-c",
            "import multiprocessing as mp; l = mp.Lock(); l.acquire(); l.release(); print('ok')",
        ])
        .current_dir(cwd.path())
        .env("HOME", cwd.path())
        .env_remove("TMPDIR");
    let out = run_cmd(&mut cmd, TIMEOUT);
    out.expect_code(0);
    assert_eq!(out.stdout, "ok\n", "{}", show(&out));
}

/// Issue 15.9: `/run/fdsup` exists only on the way to a `content` file;
/// it lists it (`ls`, Python's `listdir`, a descriptor of it), and nothing
/// can be added there. The control: the file itself reads.
#[test]
fn directories_on_the_way_to_virtual_files_list_them() {
    let cwd = TempDir::new("rt-virtual");
    let pol = write_policy(
        cwd.path(),
        "p.json",
        r#"{ "version": 1, "include": ["@default"], "filesystem": { "rules": [
            { "path": "/run/fdsup-test-virtual/a/hello", "content": "hello\n" },
            { "path": "/run/fdsup-test-virtual/a/b/deeper", "content": "deep\n" } ] } }"#,
    );
    assert!(!std::path::Path::new("/run/fdsup-test-virtual").exists());
    let script = r#"
import os
print(sorted(os.listdir("/run/fdsup-test-virtual")))
print(sorted(os.listdir("/run/fdsup-test-virtual/a")))
print(sorted(os.listdir("/run/fdsup-test-virtual/a/b")))
d = os.open("/run/fdsup-test-virtual/a", os.O_RDONLY | os.O_DIRECTORY)
print(open(os.open("hello", os.O_RDONLY, dir_fd=d)).read(), end="")
print(os.path.isdir("/run/fdsup-test-virtual/a/b"))
try:
    open("/run/fdsup-test-virtual/a/new", "w"); print("created")
except OSError as e:
    print("refused", e.errno != 0)
print(sorted(os.listdir("/run/fdsup-test-virtual/a")))
"#;
    let out = run_with(
        Some(pol.to_str().expect("utf-8")),
        cwd.path(),
        &[PY, "-c", script],
    );
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "['a']\n['b', 'hello']\n['deeper']\nhello\nTrue\nrefused True\n['b', 'hello']\n",
        "{}",
        show(&out)
    );
    let out = run_with(
        Some(pol.to_str().expect("utf-8")),
        cwd.path(),
        &["/bin/ls", "/run/fdsup-test-virtual/a/"],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "b\nhello\n", "{}", show(&out));
    assert!(!std::path::Path::new("/run/fdsup-test-virtual").exists());
}

//! Faults (issue 14, "Load and faults"): the supervisor at its own
//! descriptor limit, the program at its descriptor limit, a full file
//! system, the program killed with many requests in flight, and the program
//! stopped and continued while it asks. Each test says what it bounds and
//! fails when the bound is crossed (`tests/c/rob_load.c`). Stderr a closed
//! pipe: `adversarial_closed_stderr.rs`.

mod load_support;
#[path = "adversarial_support.rs"]
mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fdsup_tests::{is_root, native, skip, TempDir};
use load_support::{
    alive, code, first_child, is_proc_dir, kill, left_behind, set_nofile, settled_fd_list,
    wait_bounded, Interactive,
};
use support::{prog, s};

/// How long one answer may take in these tests.
const ANSWER: Duration = Duration::from_secs(20);

/// The descriptors fdsup holds, without the workers' `/proc/<tid>` caches
/// (bounded separately), at a quiet moment, for comparing before and after.
fn own_fds(pid: u32) -> Vec<String> {
    settled_fd_list(pid)
        .into_iter()
        .filter(|l| !is_proc_dir(l))
        .collect()
}

/// The lowest descriptor number `pid` does not use (at a quiet moment).
fn lowest_free_fd(pid: u32) -> usize {
    let used: std::collections::BTreeSet<usize> = settled_fd_list(pid)
        .iter()
        .filter_map(|l| l.split_once(" -> ").and_then(|(n, _)| n.parse().ok()))
        .collect();
    (0..).find(|n| !used.contains(n)).unwrap_or(0)
}

/// Bounds: with fdsup's own `RLIMIT_NOFILE` lowered (from outside, with
/// `prlimit --pid`) to the descriptors it holds, each of 20 opens is
/// answered within [`ANSWER`] with an error (EMFILE or ENFILE: it cannot
/// open the file to hand over), none hangs; once the limit is raised again,
/// 20 opens succeed, fdsup holds what it held before, and the run ends with
/// the program's status. Positive control: 20 opens succeed before.
#[test]
fn the_supervisor_at_its_descriptor_limit_answers_errors_and_recovers() {
    fdsup_tests::require("prlimit");
    let dir = TempDir::new("faults-sup-nofile");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let stderr = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut run = Interactive::start(
        fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path()).args([
            s(&program),
            "phases",
            s(&file),
        ]),
        stderr,
    );
    let pid = run.pid();
    run.send("open 20");
    assert_eq!(
        run.line(ANSWER),
        "ok=20 err=0 errno=none",
        "positive control"
    );
    let before = own_fds(pid);
    // A new descriptor takes the lowest free number, which the limit must
    // not exceed: that number is the limit at which nothing more opens.
    let n = lowest_free_fd(pid);
    set_nofile(pid, n);
    run.send("open 20");
    let at_limit = run.line(ANSWER);
    let (ok, rest) = at_limit.split_once(' ').unwrap_or_default();
    assert!(
        ok == "ok=0" && (rest == "err=20 errno=EMFILE" || rest == "err=20 errno=ENFILE"),
        "at its limit fdsup must answer every open with EMFILE or ENFILE, got {at_limit:?}"
    );
    set_nofile(pid, 1024);
    run.send("open 20");
    assert_eq!(
        run.line(ANSWER),
        "ok=20 err=0 errno=none",
        "fdsup must recover once descriptors are free"
    );
    let after = own_fds(pid);
    assert_eq!(
        after, before,
        "fdsup's descriptors before and after the limit"
    );
    let st = run.finish(ANSWER);
    assert_eq!(
        code(st),
        0,
        "stderr:\n{}",
        std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
    );
    eprintln!("at its limit of {n} descriptors fdsup answered {at_limit}");
}

/// Bounds: a program that lowers its own `RLIMIT_NOFILE` to 32 and opens
/// until it fails gets EMFILE after as many opens as natively (a failed
/// install answers EMFILE, as the kernel would), three times over, and
/// fdsup holds exactly the descriptors it held before the first round
/// (nothing kept from a failed install).
#[test]
fn the_program_at_its_descriptor_limit_gets_emfile_and_nothing_leaks() {
    let dir = TempDir::new("faults-prog-nofile");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let commands = "limit 32\nhold\nhold\nhold\n";
    // Natively, the same commands.
    let want = {
        let mut c = Command::new(&program);
        c.args(["phases", s(&file)])
            .current_dir(dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = c.spawn().expect("start the program natively");
        {
            use std::io::Write as _;
            let mut stdin = child.stdin.take().expect("stdin");
            stdin
                .write_all(commands.as_bytes())
                .expect("write commands");
        }
        let out = child.wait_with_output().expect("native run");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(
        want.contains("errno=EMFILE"),
        "native control: the program must reach its limit; it printed:\n{want}"
    );
    let stderr = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut run = Interactive::start(
        fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path()).args([
            s(&program),
            "phases",
            s(&file),
        ]),
        stderr,
    );
    let pid = run.pid();
    let mut got = String::new();
    run.send("limit 32");
    got.push_str(&run.line(ANSWER));
    got.push('\n');
    run.send("open 1");
    assert_eq!(run.line(ANSWER), "ok=1 err=0 errno=none", "warm-up open");
    let before = own_fds(pid);
    let procs_before = settled_fd_list(pid).len() - before.len();
    for _ in 0..3 {
        run.send("hold");
        got.push_str(&run.line(ANSWER));
        got.push('\n');
    }
    let after = own_fds(pid);
    let procs_after = settled_fd_list(pid).len() - after.len();
    let st = run.finish(ANSWER);
    assert_eq!(code(st), 0);
    assert_eq!(
        got, want,
        "the program's opens at its limit, against native"
    );
    assert_eq!(after, before, "fdsup's descriptors before and after");
    assert_eq!(
        procs_after, procs_before,
        "the /proc/<tid> caches (one task)"
    );
}

/// A tmpfs mounted for one test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: PathBuf, options: &str) -> Option<Self> {
        std::fs::create_dir_all(&at).expect("mount point");
        let st = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&at)
            .status()
            .ok()?;
        st.success().then_some(Self(at))
    }

    /// Empties it (between the native and the sandboxed run).
    fn clear(&self) {
        for e in std::fs::read_dir(&self.0).expect("list tmpfs").flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Fills a small file system: bytes until ENOSPC, then files, a directory,
/// a symbolic link and a FIFO once no inode is left, and a rename that
/// needs none. Prints each outcome.
const FILL: &str = r#"
import errno, os, sys
d = sys.argv[1]
def err(e):
    return errno.errorcode.get(e.errno, str(e.errno))
fd = os.open(os.path.join(d, "big"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
n = 0
try:
    while True:
        n += os.write(fd, b"x" * 4096)
except OSError as e:
    print("write", n, err(e))
os.close(fd)
os.unlink(os.path.join(d, "big"))
files = 0
try:
    while True:
        os.close(os.open(os.path.join(d, "f%d" % files), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        files += 1
except OSError as e:
    print("create", files, err(e))
for what, f in [
    ("mkdir", lambda: os.mkdir(os.path.join(d, "dir"))),
    ("symlink", lambda: os.symlink("f0", os.path.join(d, "link"))),
    ("mkfifo", lambda: os.mkfifo(os.path.join(d, "fifo"))),
    ("open_trunc", lambda: os.close(os.open(os.path.join(d, "f0"), os.O_WRONLY | os.O_TRUNC))),
    ("rename", lambda: os.rename(os.path.join(d, "f0"), os.path.join(d, "g0"))),
]:
    try:
        f()
        print(what, "ok")
    except OSError as e:
        print(what, err(e))
"#;

/// Bounds: on a full tmpfs (256 KiB, 16 inodes; mounted by the test, as
/// root) every request that needs space or an inode gets ENOSPC exactly as
/// natively, after exactly as many bytes and files as natively, and one
/// that needs none still succeeds; the run ends within 60 s.
#[test]
fn a_full_file_system_answers_enospc_as_natively() {
    if !is_root() {
        skip!("not root: cannot mount a tmpfs");
    }
    let dir = TempDir::new("faults-enospc");
    let Some(fs) = Tmpfs::mount(dir.join("small"), "size=256k,nr_inodes=16,mode=0777") else {
        skip!("mount -t tmpfs failed");
    };
    let script = dir.write("fill.py", FILL);
    let args = ["/usr/bin/python3", s(&script), s(&fs.0)];
    let want = native(dir.path(), &args);
    assert_eq!(want.code, 0, "native run: {}", want.stderr);
    assert!(
        want.stdout.contains("create") && want.stdout.contains("ENOSPC"),
        "native control: the file system must fill up; it printed:\n{}",
        want.stdout
    );
    fs.clear();
    let t0 = Instant::now();
    let got = fdsup_tests::fdsup_run(
        ["run", "--policy", "@default", "--"]
            .iter()
            .copied()
            .chain(args.iter().copied()),
        dir.path(),
    );
    let took = t0.elapsed();
    assert_eq!(got.code, 0, "sandboxed run; stderr:\n{}", got.stderr);
    assert_eq!(
        got.stdout, want.stdout,
        "a full file system, against native"
    );
    assert!(took < Duration::from_secs(60), "took {took:?}");
    drop(fs);
}

/// Bounds: the program (16 threads) and 4 children of it (4 threads each)
/// hammer opens and stats, so that many requests are in flight; SIGKILL of
/// the program makes fdsup exit with 137 within 5 s, leaving no process of
/// the sandbox behind (its children killed) within 2 s more.
#[test]
fn killing_the_program_with_many_requests_in_flight() {
    let dir = TempDir::new("faults-kill-flight");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let stderr = std::fs::File::create(dir.join("stderr")).expect("stderr file");
    let mut run = Interactive::start(
        fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path()).args([
            s(&program),
            "hammer",
            s(&file),
        ]),
        stderr,
    );
    assert_eq!(run.line(ANSWER), "started=1");
    let pid = first_child(run.pid(), ANSWER).expect("the program");
    // Let the requests flow.
    std::thread::sleep(Duration::from_millis(300));
    let killed_at = Instant::now();
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success());
    let status = wait_bounded(&mut run.child, Duration::from_secs(5));
    let took = killed_at.elapsed();
    let Some(status) = status else {
        kill(&mut run.child);
        let left = left_behind(s(&file), Duration::ZERO);
        panic!("fdsup did not exit within 5 s of the program's death; left: {left:?}");
    };
    assert_eq!(code(status), 137, "fdsup's status (after {took:?})");
    let left = left_behind(s(&file), Duration::from_secs(2));
    assert!(left.is_empty(), "processes left behind: {left:?}");
    assert!(!alive(pid));
    eprintln!("fdsup exited {took:?} after the program was killed mid-request");
}

/// The state letter of `pid` (`/proc/<pid>/stat`).
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .next()?
        .chars()
        .next()
}

/// Bounds: the program (8 threads, 80,000 open+read+stat rounds) is
/// stopped (SIGSTOP) for 200 ms and continued (SIGCONT) five times while it
/// asks; it completes normally (every request succeeds, exit 0) within
/// 120 s, and fdsup neither exits nor reports it while it is stopped.
/// Positive control: the program is seen stopped (state T) each time.
#[test]
fn stopping_and_continuing_the_program_while_it_asks() {
    let dir = TempDir::new("faults-stopcont");
    let file = dir.write("file", "x\n");
    let program = prog("rob_load");
    let out_path = dir.join("stdout");
    let mut fdsup = fdsup_tests::fdsup_cmd(["run", "--policy", "@default", "--"], dir.path())
        .args([s(&program), "stopcont", s(&file), "10000"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(dir.join("stderr")).expect("stderr file"))
        .spawn()
        .expect("start fdsup");
    let pid = first_child(fdsup.id(), ANSWER).expect("the program");
    let signal = |sig: &str| {
        let _ = Command::new("kill").args([sig, &pid.to_string()]).status();
    };
    let mut stopped_seen = 0;
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(50));
        if !alive(pid) {
            break;
        }
        signal("-STOP");
        let t0 = Instant::now();
        while state(pid) != Some('T') && t0.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(1));
        }
        if state(pid) == Some('T') {
            stopped_seen += 1;
        }
        std::thread::sleep(Duration::from_millis(200));
        let still = fdsup.try_wait().expect("wait").is_none();
        signal("-CONT");
        assert!(still, "fdsup exited while the program was stopped");
    }
    let Some(st) = wait_bounded(&mut fdsup, Duration::from_secs(120)) else {
        signal("-CONT");
        kill(&mut fdsup);
        panic!("the program did not complete within 120 s after being continued");
    };
    let out = std::fs::read_to_string(&out_path).unwrap_or_default();
    assert_eq!(
        (code(st), out.as_str()),
        (0, "ok=80000\nfail=0\nerrno=none\n"),
        "the program must complete normally; stderr:\n{}",
        std::fs::read_to_string(dir.join("stderr")).unwrap_or_default()
    );
    assert!(
        stopped_seen >= 3,
        "positive control: the program was seen stopped only {stopped_seen} times (it ended too soon?)"
    );
}

//! Helpers shared by the end-to-end tests: find the built `fdsup`, make
//! scratch directories, compile small C programs, run commands with a time
//! limit, and skip with a printed reason (a failure under
//! `FDSUP_REQUIRE_KERNEL=1`).
//!
//! The tests drive the real `fdsup` binary (built by `cargo build
//! --workspace`, which the README's test command runs first) against real
//! programs and assert on exit status, stdout and the file system.
#![deny(unsafe_code)]

use std::ffi::OsStr;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Skips the current test with a reason — for what this machine cannot
/// give (a kernel feature, root, a debug build's hook), never for a missing
/// tool (that is [`require`]'s) — or fails it when
/// `FDSUP_REQUIRE_KERNEL=1` or `CI` is set ([`must_not_skip`]), so that
/// nothing passes by skipping there.
#[macro_export]
macro_rules! skip {
    ($($arg:tt)*) => {{
        let reason = format!($($arg)*);
        if $crate::must_not_skip() {
            panic!("required feature missing (no test may skip under FDSUP_REQUIRE_KERNEL=1 or CI): {reason}");
        }
        eprintln!("skipped: {reason}");
        return;
    }};
}

/// Whether a test must fail rather than skip: `FDSUP_REQUIRE_KERNEL=1`, or
/// `CI` set to anything but empty, `0` or `false` (what CI services set).
pub fn must_not_skip() -> bool {
    std::env::var_os("FDSUP_REQUIRE_KERNEL").is_some_and(|v| v == "1")
        || std::env::var("CI").is_ok_and(|v| !matches!(v.as_str(), "" | "0" | "false"))
}

/// A program or Python module the end-to-end tests run, and the Debian
/// package that has it. `scripts/install-test-deps` installs the same.
#[derive(Debug, Clone, Copy)]
pub struct Prereq {
    /// What it is called in [`require`].
    pub name: &'static str,
    /// The package (`libpython3.X-testsuite`'s `X` is filled in).
    pub package: &'static str,
    probe: Probe,
}

#[derive(Debug, Clone, Copy)]
enum Probe {
    /// An executable: an absolute path, or a name looked up in `PATH`.
    Exe(&'static str),
    /// An administrator's executable: looked up in `PATH` and in the sbin
    /// and bin directories (a user's `PATH` may lack /usr/sbin).
    Admin(&'static str),
    /// A module /usr/bin/python3 imports.
    PyModule(&'static str),
}

impl Probe {
    fn present(self) -> bool {
        let in_path = |name: &str| {
            std::env::var_os("PATH")
                .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(name).exists()))
        };
        match self {
            Probe::Exe(p) if p.starts_with('/') => Path::new(p).exists(),
            Probe::Exe(name) => in_path(name),
            Probe::Admin(name) => {
                in_path(name) || ADMIN_DIRS.iter().any(|d| Path::new(d).join(name).exists())
            }
            Probe::PyModule(m) => Command::new("/usr/bin/python3")
                .args(["-c", &format!("import {m}")])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success()),
        }
    }
}

/// Where [`Probe::Admin`] looks besides `PATH`.
pub const ADMIN_DIRS: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Everything the end-to-end tests run besides fdsup.
pub const PREREQS: &[Prereq] = &[
    Prereq {
        name: "gcc",
        package: "gcc libc6-dev",
        probe: Probe::Exe("gcc"),
    },
    Prereq {
        name: "make",
        package: "make",
        probe: Probe::Exe("make"),
    },
    Prereq {
        name: "git",
        package: "git",
        probe: Probe::Exe("git"),
    },
    Prereq {
        name: "python3",
        package: "python3",
        probe: Probe::Exe("/usr/bin/python3"),
    },
    Prereq {
        name: "jsonschema",
        package: "python3-jsonschema",
        probe: Probe::PyModule("jsonschema"),
    },
    Prereq {
        name: "python-testsuite",
        package: "libpython3.X-testsuite",
        probe: Probe::PyModule("test.test_os"),
    },
    Prereq {
        name: "setpriv",
        package: "util-linux",
        probe: Probe::Exe("setpriv"),
    },
    Prereq {
        name: "ss",
        package: "iproute2",
        probe: Probe::Exe("ss"),
    },
    Prereq {
        name: "prlimit",
        package: "util-linux",
        probe: Probe::Exe("prlimit"),
    },
    Prereq {
        name: "script",
        package: "bsdutils",
        probe: Probe::Exe("script"),
    },
    Prereq {
        name: "ps",
        package: "procps",
        probe: Probe::Exe("ps"),
    },
    Prereq {
        name: "uptime",
        package: "procps",
        probe: Probe::Exe("uptime"),
    },
    Prereq {
        name: "curl",
        package: "curl",
        probe: Probe::Exe("/usr/bin/curl"),
    },
    Prereq {
        name: "wget",
        package: "wget",
        probe: Probe::Exe("/usr/bin/wget"),
    },
    Prereq {
        name: "bash",
        package: "bash",
        probe: Probe::Exe("bash"),
    },
    // The fdsup agent tests (tests/tests/agent_*.rs): the container
    // runtimes and the containers' root file system.
    Prereq {
        name: "runc",
        package: "runc",
        probe: Probe::Admin("runc"),
    },
    Prereq {
        name: "crun",
        package: "crun",
        probe: Probe::Admin("crun"),
    },
    Prereq {
        name: "busybox",
        package: "busybox-static",
        probe: Probe::Exe("/bin/busybox"),
    },
];

impl Prereq {
    /// Whether it is there.
    pub fn present(&self) -> bool {
        self.probe.present()
    }

    /// Its package, with the Python version filled in.
    pub fn package(&self) -> String {
        if !self.package.contains("3.X") {
            return self.package.to_owned();
        }
        let ver = Command::new("/usr/bin/python3")
            .args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"])
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "3.X".to_owned());
        self.package.replace("3.X", &ver)
    }
}

/// The command that installs `packages`, as the user should type it.
pub fn install_command(packages: &[String]) -> String {
    let mut v: Vec<&str> = packages.iter().flat_map(|p| p.split(' ')).collect();
    v.dedup();
    let sudo = if is_root() { "" } else { "sudo " };
    format!(
        "{sudo}apt-get install -y {} (or: scripts/install-test-deps)",
        v.join(" ")
    )
}

/// Fails the test, whatever the environment, when the prerequisite
/// `name` (one of [`PREREQS`]) is missing, with the exact command that
/// installs it: a test that cannot run its program has shown nothing.
#[track_caller]
pub fn require(name: &str) {
    let p = PREREQS
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("require({name:?}): not in PREREQS"));
    if !p.present() {
        panic!(
            "missing test prerequisite {name}: install it with: {}",
            install_command(&[p.package()])
        );
    }
}

/// The directory holding the test binaries' sibling build products
/// (`target/<profile>`).
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test-binary>
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile>")
        .to_path_buf()
}

/// The built `fdsup` binary.
pub fn fdsup() -> PathBuf {
    if let Some(p) = std::env::var_os("FDSUP_BIN") {
        return PathBuf::from(p);
    }
    let p = target_dir().join("fdsup");
    assert!(
        p.exists(),
        "{} is missing: build it first with `cargo build --workspace` (the README's test command does)",
        p.display()
    );
    p
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A scratch directory, removed when dropped. Its path is canonical.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new, empty directory under the system's temporary directory.
    pub fn new(tag: &str) -> Self {
        let base = std::env::temp_dir();
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path = base.join(format!(
            "fdsup-test-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&path).expect("create scratch dir");
        let path = std::fs::canonicalize(&path).expect("canonical scratch dir");
        Self { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside it.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path.join(rel)
    }

    /// Writes a file inside it (creating parents) and returns its path.
    pub fn write(&self, rel: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&p, contents).expect("write file");
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Files may have been made read-only by a test; make them writable.
        let _ = Command::new("chmod")
            .arg("-R")
            .arg("u+rwX")
            .arg(&self.path)
            .status();
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// What a finished command did.
#[derive(Debug)]
pub struct Output {
    /// Exit code, or 128 + signal for a signal death (as a shell reports it).
    pub code: i32,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl Output {
    /// Panics with everything shown unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// The default time limit for one command.
pub const TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `cmd` to completion (killed after `timeout`), capturing its output.
pub fn run_cmd(cmd: &mut Command, timeout: Duration) -> Output {
    use std::os::unix::process::ExitStatusExt;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    if cmd.get_program() != OsStr::new("") {
        cmd.stdin(Stdio::null());
    }
    // A program copied a moment ago by another test thread can be briefly
    // "busy": a child forked elsewhere in this process, not yet exec'd,
    // still holds the copy's descriptor open for writing (ETXTBSY). That
    // passes within milliseconds; anything else is a real failure.
    let mut tries = 0;
    let mut child = loop {
        match cmd.spawn() {
            Ok(c) => break c,
            Err(e) if e.raw_os_error() == Some(libc::ETXTBSY) && tries < 100 => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("spawning {cmd:?}: {e}"),
        }
    };
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
    // Waited for on a pidfd (readable when the child exits): the moment it
    // ends, not the next tick of a polling loop, so that timings taken
    // around this call (start-up bounds) are not rounded up to the tick.
    let pid = rustix::process::Pid::from_raw(i32::try_from(child.id()).expect("pid")).expect("pid");
    let pidfd = rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::empty())
        .expect("pidfd_open of a child");
    let deadline = Instant::now() + timeout;
    let status = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ts = rustix::event::Timespec::try_from(left).expect("timeout");
        let mut fds = [rustix::event::PollFd::new(
            &pidfd,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(e) => panic!("polling the pidfd of {cmd:?}: {e}"),
        }
        if let Some(st) = child.try_wait().expect("wait") {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
    };
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap_or_default()).into_owned();
    let code = status
        .code()
        .unwrap_or_else(|| 128 + status.signal().unwrap_or(0));
    Output {
        code,
        stdout,
        stderr,
    }
}

/// The metadata mode the whole suite is forced to, from
/// `FDSUP_TEST_METADATA` (`visible` or `policy`; unset or empty: each
/// policy's own). Any other value fails the test that asks, loudly.
pub fn forced_metadata() -> Option<&'static str> {
    match std::env::var("FDSUP_TEST_METADATA").as_deref() {
        Err(_) | Ok("") => None,
        Ok("visible") => Some("visible"),
        Ok("policy") => Some("policy"),
        Ok(other) => panic!("FDSUP_TEST_METADATA={other:?}: expected visible or policy"),
    }
}

/// Whether the suite runs with `--metadata visible` forced: tests that
/// assert on a look being decided by the rules (a `stat` of a hidden path
/// failing, a hidden name missing from a listing, `access(W_OK)` refused on
/// a read-only path) check the visible behaviour instead, or say that they
/// are for policy mode only.
pub fn visible_forced() -> bool {
    forced_metadata() == Some("visible")
}

/// The flags to put after `fdsup run` for [`forced_metadata`]: none, or
/// `--metadata MODE`. Every test that starts `fdsup run` itself (through
/// `setpriv`, a shell) adds them; [`fdsup_cmd`] does it for the others.
pub fn metadata_flags() -> Vec<&'static str> {
    forced_metadata().map_or_else(Vec::new, |m| vec!["--metadata", m])
}

/// A `Command` for `fdsup ARGS...` started in `cwd`; `fdsup run` gets
/// [`metadata_flags`] right after `run`.
pub fn fdsup_cmd<I, S>(args: I, cwd: &Path) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = Command::new(fdsup());
    let mut args = args.into_iter();
    if let Some(first) = args.next() {
        let run = first.as_ref() == "run";
        c.arg(first);
        if run {
            c.args(metadata_flags());
        }
    }
    c.args(args).current_dir(cwd);
    c
}

/// Runs `fdsup ARGS...` in `cwd`.
pub fn fdsup_run<I, S>(args: I, cwd: &Path) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_cmd(&mut fdsup_cmd(args, cwd), TIMEOUT)
}

/// Runs `fdsup run --policy POLICY -- COMMAND...` in `cwd`.
pub fn sandboxed<S: AsRef<OsStr>>(policy: &Path, cwd: &Path, command: &[S]) -> Output {
    let mut args: Vec<&OsStr> = vec![
        "run".as_ref(),
        "--policy".as_ref(),
        policy.as_os_str(),
        "--".as_ref(),
    ];
    args.extend(command.iter().map(AsRef::as_ref));
    fdsup_run(args, cwd)
}

/// Runs COMMAND... natively in `cwd`, for comparison.
pub fn native<S: AsRef<OsStr>>(cwd: &Path, command: &[S]) -> Output {
    let mut c = Command::new(command[0].as_ref());
    c.args(&command[1..]).current_dir(cwd);
    run_cmd(&mut c, TIMEOUT)
}

/// Writes a policy file into `dir` and returns its path.
pub fn write_policy(dir: &Path, name: &str, json: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, json).expect("write policy");
    p
}

/// Compiles `tests/c/NAME.c` (or the given source) with gcc into a cache
/// under the target directory, once per content, and returns the binary.
pub fn compile_c(name: &str, source: &str, extra_flags: &[&str]) -> PathBuf {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    source.hash(&mut h);
    extra_flags.hash(&mut h);
    let dir = target_dir().join("fdsup-test-c");
    std::fs::create_dir_all(&dir).expect("create C cache dir");
    let bin = dir.join(format!("{name}-{:016x}", h.finish()));
    if bin.exists() {
        return bin;
    }
    // Names of this process and call of its own: two tests (threads of
    // one process, or processes) may compile the same program at once.
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let me = format!(
        "{}-{}",
        std::process::id(),
        CALLS.fetch_add(1, Ordering::Relaxed)
    );
    let src = dir.join(format!("{name}-{:016x}.{me}.c", h.finish()));
    std::fs::write(&src, source).expect("write C source");
    let tmp = dir.join(format!("{name}-{:016x}.tmp{me}", h.finish()));
    let out = run_cmd(
        Command::new("gcc")
            .args(["-O2", "-Wall", "-pthread", "-o"])
            .arg(&tmp)
            .arg(&src)
            .args(extra_flags),
        TIMEOUT,
    );
    assert_eq!(out.code, 0, "gcc failed for {name}:\n{}", out.stderr);
    let _ = std::fs::remove_file(&src);
    std::fs::rename(&tmp, &bin).expect("install compiled binary");
    bin
}

/// The source of `tests/c/NAME.c`.
pub fn c_source(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("c")
        .join(format!("{name}.c"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

/// Compiles `tests/c/NAME.c`.
pub fn c_program(name: &str) -> PathBuf {
    compile_c(name, &c_source(name), &[])
}

/// A policy that allows everything but keeps every open mediated.
pub const ALLOW_ALL: &str = r#"{ "version": 1, "include": ["@allow-all"] }"#;

/// Is the test running as root (so it can also run things as uid 65534)?
pub fn is_root() -> bool {
    nix_like_geteuid() == 0
}

fn nix_like_geteuid() -> u32 {
    // /proc/self/status "Uid:" line: real, effective, saved, fs.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(u32::MAX)
}

//! Helpers of the `fdsup agent` tests: a busybox bundle from scratch, the
//! real runtimes (runc, crun), and the agent itself.
//!
//! A bundle is `rootfs/` with `/bin/busybox` (Debian's busybox-static) and
//! a link per applet, plus a `config.json` written here (the fields
//! `runc spec` writes, without a terminal) with the profile
//! `fdsup agent profile` prints. Each test uses its own runtime state
//! directory (`--root`) and container ids, so that nothing clashes with
//! other containers on the machine. On a host with hybrid cgroups (v1 with
//! `/sys/fs/cgroup/unified`) crun refuses to run; it is then run in a
//! private mount namespace with `unified` unmounted there, as README says.
#![allow(dead_code)]

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use fdsup_tests::{fdsup, Output, TempDir};

/// A runtime under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Runtime {
    /// runc.
    Runc,
    /// crun.
    Crun,
}

impl Runtime {
    /// Its name (and binary).
    pub fn name(self) -> &'static str {
        match self {
            Runtime::Runc => "runc",
            Runtime::Crun => "crun",
        }
    }

    /// The binary, if installed.
    pub fn binary(self) -> Option<PathBuf> {
        fdsup_tests::ADMIN_DIRS
            .iter()
            .map(|d| Path::new(d).join(self.name()))
            .find(|p| p.exists())
    }

    /// `RUNTIME --root STATE ARGS...` (crun in a private mount namespace
    /// without `/sys/fs/cgroup/unified` on a hybrid host).
    pub fn cmd(self, state: &Path, args: &[&str]) -> Command {
        let bin = self.binary().expect("runtime installed");
        if self == Runtime::Crun && hybrid_cgroups() {
            let mut c = Command::new("unshare");
            c.args(["-m", "--propagation", "private", "sh", "-c"])
                .arg("umount /sys/fs/cgroup/unified && exec \"$0\" \"$@\"")
                .arg(bin)
                .arg("--root")
                .arg(state)
                .args(args);
            c
        } else {
            let mut c = Command::new(bin);
            c.arg("--root").arg(state).args(args);
            c
        }
    }
}

/// Whether cgroup v1 is mounted with a v2 hierarchy at
/// `/sys/fs/cgroup/unified` (crun refuses that mode).
pub fn hybrid_cgroups() -> bool {
    std::fs::read_to_string("/proc/self/mountinfo").is_ok_and(|m| {
        m.lines().any(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            f.get(4) == Some(&"/sys/fs/cgroup/unified") && l.contains(" - cgroup2 ")
        })
    })
}

/// The runtimes to test, or the reason there are none (not root: the test
/// skips with it, and fails under FDSUP_REQUIRE_KERNEL=1). A runtime or
/// busybox that is not installed fails the test with the command that
/// installs it (`fdsup_tests::require`): none passes by skipping.
pub fn runtimes() -> Result<Vec<Runtime>, String> {
    if !fdsup_tests::is_root() {
        return Err("the container tests run runc and crun as root".to_owned());
    }
    for name in ["busybox", "runc", "crun"] {
        fdsup_tests::require(name);
    }
    Ok(vec![Runtime::Runc, Runtime::Crun])
}

static IDS: AtomicU32 = AtomicU32::new(0);

/// A container id unique to this test process.
pub fn container_id(tag: &str) -> String {
    format!(
        "fdsup-{tag}-{}-{}",
        std::process::id(),
        IDS.fetch_add(1, Ordering::Relaxed)
    )
}

/// An OCI bundle: a busybox root file system and a `config.json`.
pub struct Bundle {
    /// Holds the bundle and the runtime's state directory.
    pub dir: TempDir,
}

impl Bundle {
    /// A bundle running `args` with `seccomp` (the `linux.seccomp` object,
    /// or `None` for none).
    pub fn new(tag: &str, args: &[&str], seccomp: Option<&str>) -> Self {
        let dir = TempDir::new(tag);
        let rootfs = dir.join("bundle/rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "data"] {
            std::fs::create_dir_all(rootfs.join(d)).expect("rootfs dirs");
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).expect("copy busybox");
        let list = Command::new("/bin/busybox")
            .arg("--list")
            .output()
            .expect("busybox --list");
        for applet in String::from_utf8_lossy(&list.stdout).lines() {
            if applet != "busybox" && !applet.is_empty() && !applet.contains('/') {
                let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
            }
        }
        let files = [
            (
                "etc/passwd",
                "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
            ),
            ("etc/group", "root:x:0:\nnobody:x:65534:\n"),
            ("etc/shadow", "root:SECRET-HASH:19000:0:99999:7:::\n"),
            (
                "etc/resolv.conf",
                "nameserver 203.0.113.1 # the image's own\n",
            ),
            ("etc/hostname", "fdsup-test\n"),
            ("data/readme", "the container's data\n"),
        ];
        for (p, text) in files {
            std::fs::write(rootfs.join(p), text).expect("rootfs file");
        }
        std::fs::create_dir_all(dir.join("state")).expect("state dir");
        let b = Bundle { dir };
        b.configure(args, seccomp);
        b
    }

    /// The bundle directory.
    pub fn path(&self) -> PathBuf {
        self.dir.join("bundle")
    }

    /// The root file system, seen from the host.
    pub fn rootfs(&self) -> PathBuf {
        self.dir.join("bundle/rootfs")
    }

    /// The runtime's state directory (`--root`).
    pub fn state(&self) -> PathBuf {
        self.dir.join("state")
    }

    /// Rewrites `config.json` for `args` and `seccomp`.
    pub fn configure(&self, args: &[&str], seccomp: Option<&str>) {
        let args = args
            .iter()
            .map(|a| json_str(a))
            .collect::<Vec<_>>()
            .join(", ");
        let seccomp = seccomp.map_or(String::new(), |s| format!(",\n    \"seccomp\": {s}"));
        let config = format!(
            r#"{{
  "ociVersion": "1.0.2",
  "process": {{
    "terminal": false,
    "user": {{ "uid": 0, "gid": 0 }},
    "args": [{args}],
    "env": ["PATH=/bin", "HOME=/root"],
    "cwd": "/",
    "capabilities": {{
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    }},
    "rlimits": [{{ "type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024 }}],
    "noNewPrivileges": true
  }},
  "root": {{ "path": "rootfs", "readonly": false }},
  "hostname": "fdsup-test",
  "mounts": [
    {{ "destination": "/proc", "type": "proc", "source": "proc" }},
    {{ "destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"] }},
    {{ "destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"] }},
    {{ "destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"] }},
    {{ "destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"] }}
  ],
  "linux": {{
    "namespaces": [{{ "type": "pid" }}, {{ "type": "network" }}, {{ "type": "ipc" }}, {{ "type": "uts" }}, {{ "type": "mount" }}],
    "maskedPaths": ["/proc/kcore", "/proc/keys", "/proc/timer_list", "/sys/firmware"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]{seccomp}
  }}
}}
"#
        );
        std::fs::write(self.path().join("config.json"), config).expect("config.json");
    }

    /// `RUNTIME --root STATE ARGS` in the bundle directory.
    pub fn runtime(&self, rt: Runtime, args: &[&str]) -> Command {
        let mut c = rt.cmd(&self.state(), args);
        c.current_dir(self.path());
        c
    }

    /// `RUNTIME run ID` to completion.
    pub fn run(&self, rt: Runtime, id: &str) -> Output {
        fdsup_tests::run_cmd(&mut self.runtime(rt, &["run", id]), Duration::from_secs(60))
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        // Containers a failed test left: killed and deleted, so that their
        // mounts do not keep the scratch directory busy.
        for rt in [Runtime::Runc, Runtime::Crun] {
            if rt.binary().is_none() {
                continue;
            }
            let list = rt.cmd(&self.state(), &["list", "-q"]).output();
            let Ok(list) = list else { continue };
            for id in String::from_utf8_lossy(&list.stdout).lines() {
                let _ = rt
                    .cmd(&self.state(), &["delete", "--force", id])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status();
            }
        }
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The policy most tests use: the container read-only, `/tmp` read-write,
/// `/etc/shadow` hidden, `/etc/resolv.conf` served from memory.
pub const POLICY: &str = r#"{
  "version": 1,
  "filesystem": {
    "default": "ro",
    "rules": [
      { "path": "/tmp", "access": "rw" },
      { "path": "/dev", "access": "rw" },
      { "path": "/etc/shadow", "access": "hide" },
      { "path": "/etc/resolv.conf", "content": "nameserver 192.0.2.53 # from the agent's policy\n" }
    ]
  },
  "network": { "default": "allow" },
  "log": { "denied": true, "allowed": false }
}
"#;

/// The content rule's text.
pub const SERVED: &str = "nameserver 192.0.2.53 # from the agent's policy";

/// A running `fdsup agent`.
pub struct Agent {
    /// The process.
    pub child: Child,
    /// Its socket.
    pub socket: PathBuf,
    /// Its policies.
    pub policies: PathBuf,
    /// Its log directory.
    pub logs: PathBuf,
    /// Holds the above.
    pub dir: TempDir,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Agent {
    /// Starts an agent with `policies` (name, JSON), waiting for its
    /// readiness message (`READY=1` to `$NOTIFY_SOCKET`).
    pub fn start(policies: &[(&str, &str)]) -> Agent {
        let dir = TempDir::new("agent");
        let pol = dir.join("policies");
        let logs = dir.join("logs");
        std::fs::create_dir_all(&pol).expect("policies dir");
        std::fs::create_dir_all(&logs).expect("logs dir");
        for (name, json) in policies {
            std::fs::write(pol.join(format!("{name}.json")), json).expect("policy");
        }
        let socket = dir.join("agent.sock");
        let notify = dir.join("notify.sock");
        let ready = std::os::unix::net::UnixDatagram::bind(&notify).expect("notify socket");
        ready
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        let mut child = Command::new(fdsup())
            .arg("agent")
            .arg("--socket")
            .arg(&socket)
            .arg("--policies")
            .arg(&pol)
            .arg("--log")
            .arg(&logs)
            .env("NOTIFY_SOCKET", &notify)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start fdsup agent");
        let mut err = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let mut buf = [0u8; 64];
        let got = ready.recv(&mut buf);
        let agent = Agent {
            child,
            socket,
            policies: pol,
            logs,
            dir,
            stderr: Some(stderr),
        };
        match got {
            Ok(n) => assert_eq!(&buf[..n], b"READY=1", "the readiness message"),
            Err(e) => panic!("no READY=1 from the agent: {e}"),
        }
        assert!(
            agent.socket.exists(),
            "the socket exists once the agent is ready"
        );
        agent
    }

    /// The `linux.seccomp` object for `policy`, from `fdsup agent profile`.
    pub fn profile(&self, policy: &str) -> String {
        let out = Command::new(fdsup())
            .args(["agent", "profile", "--policy", policy, "--socket"])
            .arg(&self.socket)
            .output()
            .expect("fdsup agent profile");
        assert!(out.status.success(), "fdsup agent profile: {out:?}");
        String::from_utf8(out.stdout).expect("UTF-8 profile")
    }

    /// Its pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills it with `sig` and returns what it wrote on stderr.
    pub fn stop(&mut self, sig: i32) -> String {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        let pid = rustix::process::Pid::from_raw(pid).expect("a child's pid");
        let signal = rustix::process::Signal::from_named_raw(sig).expect("a named signal");
        // Our own child, which has not been reaped.
        let _ = rustix::process::kill_process(pid, signal);
        let t0 = Instant::now();
        while self.child.try_wait().expect("wait").is_none() {
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "the agent did not exit after signal {sig}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// The audit log of container `id`.
    pub fn log(&self, id: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{id}.jsonl"))).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set (KiB) and descriptors of process `pid`.
pub fn held(pid: u32) -> (u64, usize) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS");
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .count();
    (rss, fds)
}

/// Threads of process `pid`.
pub fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(Iterator::count)
        .unwrap_or(0)
}

/// Waits until `f` holds (at most `bound`).
pub fn wait_until(what: &str, bound: Duration, mut f: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !f() {
        assert!(t0.elapsed() < bound, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

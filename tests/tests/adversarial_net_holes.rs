//! Adversarial: the network holes of issue 14 (`tests/c/adv_net_holes.c`),
//! each beside a positive control, as root and as uid 65534:
//!
//! - a Unix socket path is a path: `bind` in a read-only, hidden or denied
//!   directory is refused (and creates nothing), `connect` and `sendto` to
//!   a hidden socket answer ENOENT (not ECONNREFUSED, which would confirm
//!   it exists), to a denied one EACCES, through a symbolic link too —
//!   whatever the network section says (checked with a `deny` and an
//!   `allow` default); the program's own socket in its working directory
//!   binds under its own name and connects, and a socket of the outside
//!   follows the network default;
//! - control messages whose lengths overflow or point past the buffer fail
//!   with EINVAL at once (a wrapped offset made the worker spin in release
//!   builds), and a good one still passes its descriptor;
//! - `sendmmsg` of 1024 messages of 4 MiB each, from four threads, leaves
//!   the supervisor's peak memory bounded (it read every message before
//!   deciding any: up to 4 GiB per request);
//! - an address whose family says `AF_UNSPEC`, which an IPv4 socket sends
//!   to (and binds to, for `INADDR_ANY`) as `AF_INET`, is decided as that
//!   IPv4 address: a send to a denied port is refused and arrives nowhere,
//!   a bind no rule allows is refused, while a send to an allowed port
//!   arrives (found while checking the fuzzer's network differences: a
//!   way round the network rules on 32f61e4);
//! - a blocking `connect` never shows `O_NONBLOCK` to the program's other
//!   threads (it was set on the shared socket for the call), and one
//!   waiting for a full backlog ends with EINTR when `SIGALRM` comes.

#[path = "adversarial_support.rs"]
mod support;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fdsup_tests::{is_root, run_cmd, skip, Output, TempDir};
use support::{prog, s, Checks};

struct Tree {
    dir: TempDir,
    _listeners: Vec<UnixListener>,
}

fn tree(tag: &str) -> Tree {
    let dir = TempDir::new(tag);
    for d in ["work", "ro", "hidden", "denied"] {
        std::fs::create_dir_all(dir.join(d)).expect("mkdir");
        std::fs::set_permissions(dir.join(d), std::fs::Permissions::from_mode(0o777))
            .expect("chmod");
    }
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut listeners = Vec::new();
    for p in ["hidden/s.sock", "denied/s.sock", "work/outside.sock"] {
        let l = UnixListener::bind(dir.join(p)).expect("listen");
        std::fs::set_permissions(dir.join(p), std::fs::Permissions::from_mode(0o777))
            .expect("chmod socket");
        listeners.push(l);
    }
    Tree {
        dir,
        _listeners: listeners,
    }
}

fn policy(t: &Tree, network_default: &str) -> std::path::PathBuf {
    let d = t.dir.path().display();
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{d}", "access": "ro" }},
      {{ "path": "{d}/work", "access": "rw" }},
      {{ "path": "{d}/ro", "access": "ro" }},
      {{ "path": "{d}/hidden", "access": "hide" }},
      {{ "path": "{d}/denied", "access": "deny" }}
    ]
  }},
  "network": {{ "default": "{network_default}",
    "rules": [ {{ "bind": "unix:{d}/**", "comment": "binds follow the rules; the file system refuses most" }} ] }}
}}
"#,
        bin = support::bin_rule()
    );
    fdsup_tests::write_policy(
        t.dir.path(),
        &format!("policy-{network_default}.json"),
        &json,
    )
}

fn finished(c: &mut Checks<'_>, out: &Output, mark: &str) {
    if !out.stdout.lines().any(|l| l == mark) {
        c.fail(format!("the program did not finish (no {mark:?})"));
    }
}

fn check_unix(out: &Output, network_default: &str, ro_dir: &Path) {
    let mut c = Checks::new(out);
    c.eq("bind_ro", "ERR:EACCES");
    c.eq("bind_hidden", "ERR:ENOENT");
    c.eq("bind_denied", "ERR:EACCES");
    c.eq("connect_hidden", "ERR:ENOENT");
    c.eq("sendto_hidden", "ERR:ENOENT");
    c.eq("connect_hidden_absent", "ERR:ENOENT");
    c.eq("connect_denied", "ERR:EACCES");
    c.eq("symlink", "OK");
    c.eq("connect_via_link", "ERR:ENOENT");
    c.eq("bind_own", "OK");
    c.eq("listen_own", "OK");
    c.eq("own_name", "own.sock");
    c.eq("connect_own", "OK");
    c.eq("connect_own_abs", "OK");
    c.eq(
        "connect_outside",
        if network_default == "allow" {
            "OK"
        } else {
            "ERR:ECONNREFUSED"
        },
    );
    c.eq("ro_created", "0");
    finished(&mut c, out, "unix_done");
    if ro_dir.join("x.sock").exists() {
        c.fail("a socket file was created in the read-only directory".to_owned());
    }
    c.finish();
}

fn run_unix(nobody: bool, network_default: &str) {
    let t = tree(&format!("adv-net-unix-{network_default}-{nobody}"));
    let p = policy(&t, network_default);
    let program = prog("adv_net_holes");
    let work = t.dir.join("work");
    let out = if nobody {
        support::sandboxed_as_nobody(&p, &work, &[s(&program), "unix", s(t.dir.path())])
    } else {
        let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], &work);
        c.arg(&p)
            .arg("--")
            .arg(&program)
            .arg("unix")
            .arg(t.dir.path());
        run_cmd(&mut c, Duration::from_secs(60))
    };
    check_unix(&out, network_default, &t.dir.join("ro"));
}

#[test]
fn unix_socket_paths_are_decided_as_paths() {
    for net in ["deny", "allow"] {
        run_unix(false, net);
    }
}

#[test]
fn unix_socket_paths_are_decided_as_paths_unprivileged() {
    fdsup_tests::require("setpriv");
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    for net in ["deny", "allow"] {
        run_unix(true, net);
    }
}

/// Everything allowed, the network through rules (so that a build that
/// mediated the network only for a policy with rules mediates it too).
fn allow_all(dir: &Path) -> std::path::PathBuf {
    fdsup_tests::write_policy(
        dir,
        "all.json",
        r#"{ "version": 1, "include": ["@allow-all"], "network": { "rules": [
            { "connect": "0.0.0.0/0:*" }, { "connect": "unix:/**" } ] } }"#,
    )
}

#[test]
fn hostile_control_message_lengths_fail_at_once() {
    let dir = TempDir::new("adv-net-cmsg");
    let p = allow_all(dir.path());
    let program = prog("adv_net_holes");
    let t0 = Instant::now();
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p).arg("--").arg(&program).arg("cmsg");
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let mut k = Checks::new(&out);
    for name in [
        "cmsg_max",
        "cmsg_wrap",
        "cmsg_wrap2",
        "cmsg_past_end",
        "cmsg_short",
        "cmsg_second_bad",
        "cmsg_wrap_second",
    ] {
        k.eq(name, "ERR:EINVAL");
    }
    k.eq("cmsg_good", "OK");
    k.eq("cmsg_fd_works", "1");
    finished(&mut k, &out, "cmsg_done");
    if t0.elapsed() > Duration::from_secs(15) {
        k.fail(format!("took {:?}", t0.elapsed()));
    }
    k.finish();
}

/// The supervisor's peak resident memory (`VmHWM`, KiB).
fn peak_kib(pid: u32) -> Option<u64> {
    let st = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    st.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Bound: the supervisor's peak memory stays under 64 MiB while four
/// threads each ask it to send 1024 messages of 4 MiB eight times.
#[test]
fn sendmmsg_memory_is_bounded() {
    let dir = TempDir::new("adv-net-mmsg");
    let p = allow_all(dir.path());
    let program = prog("adv_net_holes");
    let mut child = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path())
        .arg(&p)
        .arg("--")
        .arg(&program)
        .arg("mmsg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start fdsup");
    let pid = child.id();
    let mut stdout = child.stdout.take().expect("stdout");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut text = String::new();
    let mut buf = [0u8; 256];
    while !text.contains("mmsg_done") {
        use std::io::Read as _;
        assert!(Instant::now() < deadline, "no mmsg_done in time: {text}");
        match stdout.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => text.push_str(&String::from_utf8_lossy(&buf[..n])),
            Err(_) => break,
        }
    }
    let peak = peak_kib(pid);
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"");
    }
    let status = child.wait().expect("wait");
    assert!(
        text.contains("mmsg_done"),
        "the program did not finish: {text}"
    );
    assert!(status.success(), "fdsup: {status:?}");
    let peak = peak.expect("read the supervisor's VmHWM");
    assert!(
        peak < 64 * 1024,
        "supervisor peak memory {peak} KiB >= 64 MiB"
    );
}

#[test]
fn a_blocking_connect_never_shows_o_nonblock_and_a_signal_ends_it() {
    let dir = TempDir::new("adv-net-nonblock");
    std::fs::create_dir_all(dir.join("work")).expect("mkdir");
    let d = dir.path().display();
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "rules": [ {{ "connect": "127.0.0.1:*" }}, {{ "bind": "127.0.0.1:*" }},
    {{ "bind": "unix:{d}/**" }} ] }} }}"#,
        bin = support::bin_rule()
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let program = prog("adv_net_holes");
    let mut c = Command::new(fdsup_tests::fdsup());
    c.current_dir(dir.join("work"))
        .arg("run")
        .arg("--policy")
        .arg(&p)
        .arg("--")
        .arg(&program)
        .arg("nonblock")
        .arg(dir.path());
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let mut k = Checks::new(&out);
    k.eq("connect_eintr", "5");
    k.eq("connect_other", "0");
    k.eq("tcp_ok", "500");
    k.eq("nonblock_seen", "0");
    finished(&mut k, &out, "nonblock_done");
    k.finish();
}

#[test]
fn an_unspec_family_is_decided_as_the_ipv4_address_it_reaches() {
    let dir = TempDir::new("adv-net-unspec");
    let ok = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let bad = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    for s in [&ok, &bad] {
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .expect("timeout");
    }
    let (okp, badp) = (
        ok.local_addr().expect("addr").port(),
        bad.local_addr().expect("addr").port(),
    );
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "deny", "rules": [ {{ "connect": "127.0.0.1:{okp}" }} ] }} }}"#,
        bin = support::bin_rule(),
        d = dir.path().display()
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let program = prog("adv_net_holes");
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(&program)
        .args(["unspec", &okp.to_string(), &badp.to_string()]);
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let mut k = Checks::new(&out);
    k.eq("unspec_allowed", "OK");
    k.eq("unspec_denied", "ERR:EACCES");
    k.eq("unspec_bind", "ERR:EACCES");
    finished(&mut k, &out, "unspec_done");
    let mut buf = [0u8; 16];
    if ok.recv(&mut buf).is_err() {
        k.fail("the allowed datagram did not arrive".to_owned());
    }
    if bad.recv(&mut buf).is_ok() {
        k.fail("the denied datagram arrived".to_owned());
    }
    k.finish();
}

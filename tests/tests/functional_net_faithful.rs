//! Network mediation as faithful as the file system (issue 16): each
//! script runs natively and under fdsup, with the network mediated (now
//! under every policy, `@allow-all` included), and must print the same.
//!
//! - A Unix socket bound through fdsup reports the name the program gave
//!   (`getsockname`, the peer's `getpeername`, `accept`'s and
//!   `recvfrom`'s addresses), so a client can connect to it.
//! - A blocking send, `connect` or FIFO open carried out by fdsup ends when
//!   a signal comes, as natively: interrupted (the handler raises), or
//!   restarted under `SA_RESTART` (and then completes).
//! - Descriptors passed with a control buffer too small to take them
//!   arrive truncated (`MSG_CTRUNC`), and the run ends.
//! - `--log` under `@allow-all` shows the connection.

mod network_support;

use std::path::Path;
use std::time::{Duration, Instant};

use network_support::*;

/// Runs `script` natively and under `@allow-all` in a scratch directory;
/// both must exit 0 and print the same. Returns the sandboxed output.
fn same(tag: &str, script: &str) -> Output {
    assert!(have_python(), "these tests need /usr/bin/python3");
    let dir = TempDir::new(tag);
    let (n, f) = (dir.join("native"), dir.join("fdsup"));
    std::fs::create_dir_all(&n).expect("mkdir");
    std::fs::create_dir_all(&f).expect("mkdir");
    let p = write_policy(dir.path(), "all.json", fdsup_tests::ALLOW_ALL);
    let nat = py_native(&n, script, &[]);
    nat.expect_code(0);
    let t0 = Instant::now();
    let out = py(&p, &f, script, &[]);
    assert!(
        t0.elapsed() < Duration::from_secs(30),
        "took {:?}",
        t0.elapsed()
    );
    out.expect_code(0);
    assert_eq!(out.stdout, nat.stdout, "native vs fdsup:\n{nat:?}\n{out:?}");
    out
}

#[test]
fn a_unix_socket_bound_through_fdsup_reports_its_own_name() {
    // The issue's snippet, and the other places the name shows.
    same(
        "faithful-name",
        r#"
import os, socket, tempfile
fn = tempfile.mktemp(dir=os.getcwd()); s = socket.socket(socket.AF_UNIX); s.bind(fn); s.listen()
print(s.getsockname() == fn)
c = socket.socket(socket.AF_UNIX); c.connect(s.getsockname()); print("connected")
print(c.getpeername() == fn)
a, peer = s.accept(); print("accepted", repr(peer))
# Relative, in a subdirectory.
os.mkdir("sub")
r = socket.socket(socket.AF_UNIX); r.bind("sub/rel.sock"); r.listen()
print(r.getsockname())
k = socket.socket(socket.AF_UNIX); k.bind("client.sock"); k.connect("sub/rel.sock")
b, peer = r.accept(); print("peer", peer, b.getpeername(), k.getpeername())
# Datagrams: the source address is the sender's own name.
d1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d1.bind("d1.sock")
d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); d2.bind(os.path.join(os.getcwd(), "d2.sock"))
d2.sendto(b"hi", "d1.sock")
data, src = d1.recvfrom(16); print(data, src == os.path.join(os.getcwd(), "d2.sock"))
d1.sendto(b"back", src); print(d2.recvfrom(16)[0])
"#,
    );
}

#[test]
fn a_blocking_send_ends_when_a_signal_comes() {
    // The issue's snippet: interrupted after 0.2 s (the handler raises).
    let out = same(
        "faithful-intr",
        r#"
import socket, signal, time
a, b = socket.socketpair()
a.setblocking(False)
try:
    while True: a.send(b"x" * 65536)
except BlockingIOError: pass
a.setblocking(True)
class Alarm(Exception): pass
def h(*x): raise Alarm()
signal.signal(signal.SIGALRM, h)
signal.setitimer(signal.ITIMER_REAL, 0.2)
t = time.time()
try:
    a.sendmsg([b"y" * 65536])
    print("sent")
except Alarm:
    print("interrupted", round(time.time() - t, 1) < 1.0)
"#,
    );
    assert!(out.stdout.contains("interrupted True"), "{out:?}");
}

#[test]
fn a_blocking_send_restarts_under_sa_restart() {
    // SA_RESTART: the signal's handler runs and the send goes on waiting,
    // until another thread makes room; every byte is sent once.
    let out = same(
        "faithful-restart",
        r#"
import socket, signal, threading, time
a, b = socket.socketpair()
a.setblocking(False)
n = 0
try:
    while True: n += a.send(b"x" * 65536)
except BlockingIOError: pass
a.setblocking(True)
hits = []
signal.signal(signal.SIGALRM, lambda *x: hits.append(1))
signal.siginterrupt(signal.SIGALRM, False)
signal.setitimer(signal.ITIMER_REAL, 0.2)
total = [0]
def drain():
    time.sleep(0.6)
    while True:
        d = b.recv(1 << 20)
        if not d: break
        total[0] += len(d)
t = threading.Thread(target=drain); t.start()
sent = a.send(b"y" * 65536)
a.close(); t.join()
print("sent", sent, "handler ran", len(hits), "total", total[0] == n + sent)
"#,
    );
    assert!(out.stdout.contains("handler ran 1 total True"), "{out:?}");
}

#[test]
fn a_blocking_connect_and_a_fifo_open_end_when_a_signal_comes() {
    same(
        "faithful-connect-fifo",
        r#"
import os, socket, signal, time
class Alarm(Exception): pass
def h(*x): raise Alarm()
signal.signal(signal.SIGALRM, h)
# A listener whose backlog is full: a blocking connect waits.
l = socket.socket(socket.AF_UNIX); l.bind("full.sock"); l.listen(0)
fill = []
for i in range(4):
    f = socket.socket(socket.AF_UNIX); f.setblocking(False)
    try: f.connect("full.sock")
    except BlockingIOError: pass
    fill.append(f)
c = socket.socket(socket.AF_UNIX)
signal.setitimer(signal.ITIMER_REAL, 0.2)
t = time.time()
try:
    c.connect("full.sock"); print("connected")
except Alarm:
    print("connect interrupted", round(time.time() - t, 1) < 1.0)
# A FIFO with no writer: a blocking open for reading waits.
os.mkfifo("fifo")
signal.setitimer(signal.ITIMER_REAL, 0.2)
t = time.time()
try:
    open("fifo").close(); print("opened")
except Alarm:
    print("open interrupted", round(time.time() - t, 1) < 1.0)
"#,
    );
}

#[test]
fn descriptors_passed_into_a_truncated_control_buffer() {
    // test_socket's RecvmsgIntoSCMRightsStreamTest.testCmsgTrunc0 and its
    // kin: no room, room for a header only, room for one of two.
    same(
        "faithful-ctrunc",
        r#"
import socket, array, tempfile
a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
for space in (0, socket.CMSG_LEN(0), socket.CMSG_LEN(4), socket.CMSG_SPACE(8)):
    f1 = tempfile.TemporaryFile(); f2 = tempfile.TemporaryFile()
    fds = array.array("i", [f1.fileno(), f2.fileno()])
    print("sent", a.sendmsg([b"Mary had a little lamb"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, fds)]))
    msg, anc, flags, addr = b.recvmsg(100, space)
    n = sum(len(d) // 4 for l, t, d in anc)
    print(space, msg, n, bool(flags & socket.MSG_CTRUNC))
"#,
    );
}

#[test]
fn allow_all_logs_connections() {
    require("python3");
    let port = tcp_server(b"hi", false);
    let dir = TempDir::new("faithful-allow-all-log");
    let log = dir.join("log.jsonl");
    let out = py_connect_logged(
        Path::new("@allow-all"),
        &log,
        dir.path(),
        "127.0.0.1",
        &port.to_string(),
    );
    out.expect_code(0);
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let want = format!("\"addr\":\"127.0.0.1:{port}\"");
    assert!(
        text.lines()
            .any(|l| l.contains("\"syscall\":\"connect\"") && l.contains(&want)),
        "no connect line for {want} in {text:?}"
    );
}

/// Under `@default` (isolated, its own loopback) with `@network-loopback`
/// (the host's loopback allowed): the program's own server is reached at
/// its address, a server of the host's at another is reached through
/// fdsup, and under `@default` alone the host's is refused (logged as a
/// denial) while the program's own still answers.
#[test]
fn an_isolated_program_reaches_its_own_loopback_first() {
    assert!(have_python(), "these tests need /usr/bin/python3");
    let host = tcp_server(b"H", false);
    let dir = TempDir::new("faithful-own-loopback");
    let both = write_policy(
        dir.path(),
        "both.json",
        r#"{ "version": 1, "include": ["@default", "@network-loopback"] }"#,
    );
    let script = r#"
import socket, sys, threading
own = socket.socket(); own.bind(("127.0.0.1", 0)); own.listen()
def serve():
    c, _ = own.accept(); c.send(b"O"); c.close()
threading.Thread(target=serve, daemon=True).start()
for port in (own.getsockname()[1], int(sys.argv[1])):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); print(s.recv(1).decode())
    except OSError as e:
        print("ERR", e.errno)
"#;
    let out = py(&both, dir.path(), script, &[&host.to_string()]);
    out.expect_code(0);
    assert_eq!(out.stdout, "O\nH\n", "{out:?}");
    let log = dir.join("log.jsonl");
    let mut c = fdsup_tests::fdsup_cmd(["run", "--log"], dir.path());
    c.arg(&log)
        .args([
            "--policy",
            "@default",
            "--",
            "/usr/bin/python3",
            "-c",
            script,
        ])
        .arg(host.to_string());
    let out = fdsup_tests::run_cmd(&mut c, Duration::from_secs(60));
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        format!("O\nERR {}\n", libc::ECONNREFUSED),
        "{out:?}"
    );
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let want = format!("\"addr\":\"127.0.0.1:{host}\"");
    assert!(
        text.lines()
            .any(|l| l.contains(&want) && l.contains("\"decision\":\"deny\"")),
        "no denial for {want} in {text:?}"
    );
}

//! Network calls carried out by fdsup answer as the kernel answers them
//! natively: what Python's regression tests (`scripts/compat-oracle
//! --network`) do not reach. Each case runs one small program natively (the
//! positive control: it must print what the kernel does) and under
//! `@allow-all` with network rules (every policy mediates the network; the
//! rules make the decisions go through the rule matcher too), and compares
//! exit status and output. A case that hangs under fdsup is
//! killed after [`LIMIT`] and fails.

mod network_support;

use std::process::Command;
use std::time::Duration;

use network_support::*;

/// A case runs in well under a second natively.
const LIMIT: Duration = Duration::from_secs(20);

/// `@allow-all`, its network decided by rules.
const MEDIATED: &str = r#"{ "version": 1, "include": ["@allow-all"],
  "network": { "default": "allow", "rules": [
    { "connect": "0.0.0.0/0:*" }, { "bind": "0.0.0.0/0:*" },
    { "connect": "[::/0]:*" }, { "bind": "[::/0]:*" },
    { "connect": "unix:/**" }, { "bind": "unix:/**" } ] } }"#;

/// Runs `argv` natively, checks that it prints `want`, then under fdsup,
/// and asserts the same exit status and output; the native exit status.
fn same(tag: &str, argv: &[&str], want: &str) -> i32 {
    let dir = TempDir::new(tag);
    let policy = write_policy(dir.path(), "net.json", MEDIATED);
    // Each run in a directory of its own: the names it binds stay there.
    let (here, there) = (dir.join("native"), dir.join("fdsup"));
    std::fs::create_dir(&here).expect("mkdir");
    std::fs::create_dir(&there).expect("mkdir");
    let native = run_cmd(
        Command::new(argv[0]).args(&argv[1..]).current_dir(&here),
        LIMIT,
    );
    assert_eq!(
        native.stdout, want,
        "{tag}: the native run (positive control): {native:?}"
    );
    let mut args: Vec<&str> = vec!["run", "--policy"];
    let p = policy.to_string_lossy().into_owned();
    args.push(&p);
    args.push("--");
    args.extend_from_slice(argv);
    let under = run_cmd(&mut fdsup_cmd(&args, &there), LIMIT);
    assert_eq!(
        (under.code, under.stdout.as_str()),
        (native.code, native.stdout.as_str()),
        "{tag}: under fdsup (stderr: {})",
        under.stderr
    );
    native.code
}

fn python(tag: &str, script: &str, want: &str) {
    if !have_python() {
        skip!("no /usr/bin/python3");
    }
    same(tag, &[PY, "-c", script], want);
}

/// `getsockname`, `getpeername`, `accept`'s and `recvfrom`'s addresses are
/// the bytes the program bound, as it gave them: relative, through a
/// symbolic link.
#[test]
fn unix_names_read_as_bound() {
    python(
        "net-names",
        r#"
import os, socket
U = socket.AF_UNIX
os.mkdir("real"); os.symlink("real", "ln")
s = socket.socket(U); s.bind("rel"); print(s.getsockname())
s = socket.socket(U); s.bind("ln/s"); print(s.getsockname())
l = socket.socket(U); l.bind("l"); l.listen()
c = socket.socket(U); c.bind("c"); c.connect("l")
conn, peer = l.accept(); print(peer, c.getpeername(), conn.getsockname())
r = socket.socket(U, socket.SOCK_DGRAM); r.bind("r")
w = socket.socket(U, socket.SOCK_DGRAM); w.bind("w"); w.sendto(b"x", "r")
print(r.recvfrom(10)[1])
"#,
        "rel\nln/s\nc l l\nw\n",
    );
}

/// A name that fits `sun_path` binds whatever fdsup's own spelling of the
/// directory would add to it.
#[test]
fn long_unix_name_binds() {
    python(
        "net-long-name",
        r#"
import socket
s = socket.socket(socket.AF_UNIX); s.bind("n" * 100); print(len(s.getsockname()))
"#,
        "100\n",
    );
}

/// An address on a connected Unix stream socket is refused for being
/// connected (`EISCONN`) before it is looked up.
#[test]
fn sendto_on_a_connected_unix_stream_is_eisconn() {
    python(
        "net-eisconn",
        r#"
import os, socket
a, b = socket.socketpair(socket.AF_UNIX)
try: a.sendto(b"x", os.path.abspath("nothing-here"))
except OSError as e: print(e.errno == 106)
"#,
        "True\n",
    );
}

/// A blocking stream `sendmsg` sends all of its bytes (more than fdsup's
/// 4 MiB copy) before it returns.
#[test]
fn blocking_sendmsg_sends_everything() {
    python(
        "net-big-send",
        r#"
import socket, threading
a, b = socket.socketpair(socket.AF_UNIX)
got = []
def rd():
    n = 0
    while True:
        d = b.recv(1 << 20)
        if not d: break
        n += len(d)
    got.append(n)
t = threading.Thread(target=rd); t.start()
n = a.sendmsg([b"x" * (6 << 20)]); a.close(); t.join()
print(n, got[0])
"#,
        "6291456 6291456\n",
    );
}

/// A blocking `connect` waiting for room in a Unix listener's backlog is
/// interrupted by a signal whose handler raises.
#[test]
fn blocking_connect_is_interrupted_by_a_signal() {
    python(
        "net-intr-connect",
        r#"
import signal, socket
s = socket.socket(socket.AF_UNIX); s.bind("l"); s.listen(0)
held = []
while True:
    c = socket.socket(socket.AF_UNIX); c.setblocking(False)
    try: c.connect("l"); held.append(c)
    except BlockingIOError: break
class Alarm(Exception): pass
def h(*_): raise Alarm
signal.signal(signal.SIGALRM, h); signal.setitimer(signal.ITIMER_REAL, 0.2)
try: socket.socket(socket.AF_UNIX).connect("l"); print("connected")
except Alarm: print("interrupted")
"#,
        "interrupted\n",
    );
}

/// `sendmsg` on a stream whose peer is gone raises `SIGPIPE` in the
/// program (its default action ends it), unless `MSG_NOSIGNAL`.
#[test]
fn sendmsg_to_a_closed_peer_raises_sigpipe() {
    let prog = compile_c(
        "net_sigpipe",
        r#"
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>
int main(void) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv)) return 2;
    close(sv[1]);
    struct iovec iov = { "x", 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
    printf("%zd\n", sendmsg(sv[0], &m, MSG_NOSIGNAL));
    fflush(stdout);
    sendmsg(sv[0], &m, 0);
    printf("survived\n");
    return 0;
}
"#,
        &[],
    );
    let p = prog.to_string_lossy().into_owned();
    let native = same("net-sigpipe", &[&p], "-1\n");
    assert_eq!(native, 128 + libc::SIGPIPE, "natively: killed by SIGPIPE");
}

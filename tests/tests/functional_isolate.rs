//! `"isolate": true`: the program runs in a new, empty network namespace,
//! and allowed connects are brokered — made in fdsup's namespace and
//! installed over the program's socket at the same number
//! (`SECCOMP_ADDFD_FLAG_SETFD`). The program reaches exactly the allowed
//! addresses; what it does on its own sockets reaches nothing.

mod network_support;

use network_support::*;

fn isolated(dir: &std::path::Path, rules: &str) -> std::path::PathBuf {
    write_policy(
        dir,
        "iso.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "network": {{ "isolate": true, "rules": [ {rules} ] }} }}"#
        ),
    )
}

#[test]
fn brokered_connect_keeps_the_number_and_flags() {
    require("python3");
    let ok = tcp_server(HTTP_OK, true);
    let dir = TempDir::new("iso-broker");
    let p = isolated(dir.path(), &format!(r#"{{ "connect": "127.0.0.1:{ok}" }}"#));
    let script = r#"
import fcntl, http.client, os, socket, sys
port = int(sys.argv[1])
s = socket.socket()
fd = s.fileno()
ino = os.fstat(fd).st_ino
s.connect(("127.0.0.1", port))
print("same-number", s.fileno() == fd)
print("replaced", os.fstat(fd).st_ino != ino)
print("cloexec", bool(fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC))
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
print("reply", s.recv(100).split(b"\r\n")[0].decode())
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
c.request("GET", "/"); print("http", c.getresponse().status)
n = socket.socket(); n.setblocking(False)
print("nonblocking", n.connect_ex(("127.0.0.1", port)))
"#;
    let out = py(&p, dir.path(), script, &[&ok.to_string()]);
    out.expect_code(0);
    for want in [
        "same-number True",
        "replaced True",
        "cloexec True",
        "reply HTTP/1.0 200 OK",
        "http 200",
    ] {
        assert!(out.stdout.contains(want), "{want}: {out:?}");
    }
    let nb = out
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("nonblocking "))
        .unwrap_or("?");
    assert!(
        nb == "0" || nb == libc::EINPROGRESS.to_string(),
        "non-blocking connect answered {nb}: {out:?}"
    );
}

#[test]
fn the_program_has_no_network_of_its_own() {
    require("python3");
    let (udp, uport) = udp_server();
    let ok = tcp_server(b"A", false);
    let other = tcp_server(b"O", false);
    let dir = TempDir::new("iso-empty");
    let p = write_policy(
        dir.path(),
        "iso.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "network": {{ "isolate": true, "rules": [
    {{ "connect": "127.0.0.1:{ok}" }}, {{ "connect": "127.0.0.1:{uport}" }},
    {{ "bind": "127.0.0.1:*" }} ] }} }}"#
        ),
    );
    // Its namespace has only lo; a datagram to an allowed address from a
    // socket it bound itself (so not brokered) is sent from its own
    // namespace, where it has nowhere to go but its own loopback; a denied
    // connect is refused.
    let script = r#"
import socket, sys
print("ifaces", sorted(l.split(":")[0].strip() for l in open("/proc/self/net/dev").readlines()[2:]))
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 0))
u.sendto(b"leak", ("127.0.0.1", int(sys.argv[1])))
s = socket.socket()
print("denied", s.connect_ex(("127.0.0.1", int(sys.argv[2]))))
"#;
    let out = py(
        &p,
        dir.path(),
        script,
        &[&uport.to_string(), &other.to_string()],
    );
    out.expect_code(0);
    assert!(out.stdout.contains("ifaces ['lo']"), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("denied {}", libc::ECONNREFUSED)),
        "{out:?}"
    );
    assert_eq!(udp_recv(&udp), None, "a datagram left the empty namespace");
    // Positive control: the brokered connect in the same kind of run works.
    let out = py(&p, dir.path(), PY_CONNECT, &["127.0.0.1", &ok.to_string()]);
    assert!(out.stdout.contains("GOT A"), "{out:?}");
}

#[test]
fn curl_through_the_broker() {
    require("curl");
    let curl = tool("curl").expect("curl");
    let ok = tcp_server(HTTP_OK, true);
    let dir = TempDir::new("iso-curl");
    let p = isolated(dir.path(), &format!(r#"{{ "connect": "127.0.0.1:{ok}" }}"#));
    let out = sandboxed(
        &p,
        dir.path(),
        &[curl.as_str(), "-sS", &format!("http://127.0.0.1:{ok}/")],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "hello from lo\n");
}

#[test]
fn check_shows_isolate() {
    let dir = TempDir::new("iso-check");
    let p = isolated(dir.path(), r#"{ "connect": "127.0.0.1:80" }"#);
    let out = fdsup_run(["check".as_ref(), p.as_os_str()], dir.path());
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("network isolate: true (an empty network namespace"),
        "{out:?}"
    );
}

/// Unix sockets under isolate: a path socket is reached through the file
/// system (carried out on the program's own socket), an abstract one —
/// whose names belong to the network namespace — is brokered.
#[test]
fn unix_sockets_under_isolate() {
    require("python3");
    let dir = TempDir::new("iso-unix");
    let path = dir.join("srv.sock");
    unix_server(&path, b"P");
    let name = format!("fdsup-iso-{}", std::process::id());
    let l = std::os::unix::net::UnixListener::bind_addr(
        &<std::os::unix::net::SocketAddr as std::os::linux::net::SocketAddrExt>::from_abstract_name(
            name.as_bytes(),
        )
        .expect("abstract name"),
    )
    .expect("bind abstract");
    std::thread::spawn(move || {
        use std::io::Write as _;
        for mut c in l.incoming().flatten() {
            let _ = c.write_all(b"Z");
        }
    });
    let p = isolated(
        dir.path(),
        &format!(
            r#"{{ "connect": "unix:{}" }}, {{ "connect": "unix:@{name}" }}"#,
            path.display()
        ),
    );
    let script = r#"
import socket, sys
for a in sys.argv[1:]:
    s = socket.socket(socket.AF_UNIX)
    try:
        s.connect(a.replace("@", "\0", 1) if a.startswith("@") else a)
        print(a, "GOT", s.recv(1).decode())
    except OSError as e:
        print(a, "ERR", e.errno)
"#;
    let abs = format!("@{name}");
    let out = py(&p, dir.path(), script, &["srv.sock", &abs]);
    out.expect_code(0);
    assert!(out.stdout.contains("srv.sock GOT P"), "{out:?}");
    assert!(out.stdout.contains(&format!("{abs} GOT Z")), "{out:?}");
}

/// A UDP client that sends without connecting: its first datagram to an
/// allowed address brokers the socket (a twin in fdsup's namespace sends it
/// and replaces the program's, at the same number), so the reply comes
/// back; a datagram to a denied address is refused.
#[test]
fn an_unconnected_udp_client_is_brokered() {
    require("python3");
    let (udp, uport) = udp_server();
    let (denied_sock, denied) = udp_server();
    // The reply thread waits as long as the program may take to start and
    // send (udp_server's 300 ms is for datagrams that must not arrive; under
    // a loaded CI machine python's start alone can take longer).
    udp.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        if let Ok((n, from)) = udp.recv_from(&mut buf) {
            let mut reply = b"pong:".to_vec();
            reply.extend_from_slice(&buf[..n]);
            let _ = udp.send_to(&reply, from);
        }
    });
    let dir = TempDir::new("iso-udp");
    let p = isolated(
        dir.path(),
        &format!(r#"{{ "connect": "127.0.0.1:{uport}" }}"#),
    );
    let script = r#"
import os, socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fd = u.fileno(); before = os.fstat(fd).st_ino
try:
    u.sendto(b"x", ("127.0.0.1", int(sys.argv[2])))
except OSError as e:
    print("denied", e.errno)
print("sent", u.sendto(b"ping", ("127.0.0.1", int(sys.argv[1]))))
print("same-number", u.fileno() == fd, "replaced", os.fstat(fd).st_ino != before)
u.settimeout(5)
print("reply", u.recvfrom(64)[0].decode())
"#;
    let out = py(
        &p,
        dir.path(),
        script,
        &[&uport.to_string(), &denied.to_string()],
    );
    out.expect_code(0);
    for want in [
        format!("denied {}", libc::EACCES),
        "sent 4".to_owned(),
        "same-number True replaced True".to_owned(),
        "reply pong:ping".to_owned(),
    ] {
        assert!(out.stdout.contains(&want), "{want}: {out:?}");
    }
    assert_eq!(udp_recv(&denied_sock), None);
}

/// A `connect` of a listening TCP socket fails with `EISCONN`, brokered or
/// not: the listener stays the program's (it was replaced by a brokered
/// connection to an allowed address outside, and closed).
#[test]
fn a_listener_is_not_replaced_by_a_brokered_connection() {
    require("python3");
    // An address of this machine that is not loopback (a connect to
    // loopback is tried inside first, where the kernel answers).
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").expect("udp");
    let ip = match probe
        .connect("192.0.2.1:9")
        .and_then(|()| probe.local_addr())
    {
        Ok(a) if !a.ip().is_loopback() && !a.ip().is_unspecified() => a.ip(),
        _ => {
            eprintln!("skipped: no address but loopback");
            return;
        }
    };
    let l = std::net::TcpListener::bind((ip, 0)).expect("listen outside");
    let port = l.local_addr().expect("addr").port();
    let dir = TempDir::new("iso-listener");
    let p = isolated(
        dir.path(),
        &format!(r#"{{ "connect": "{ip}:{port}" }}, {{ "bind": "127.0.0.1:*" }}"#),
    );
    let script = r#"
import os, socket, sys
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
ino = os.fstat(s.fileno()).st_ino
try:
    s.connect((ip, port)); print("listener_connect OK")
except OSError as e:
    print("listener_connect", e.errno)
print("same", os.fstat(s.fileno()).st_ino == ino)
c = socket.socket()
c.connect((ip, port)); print("control OK")
"#;
    let out = py(
        &p,
        dir.path(),
        script,
        &[&ip.to_string(), &port.to_string()],
    );
    out.expect_code(0);
    assert!(out.stdout.contains("control OK"), "{out:?}");
    assert!(
        out.stdout
            .contains(&format!("listener_connect {}", libc::EISCONN)),
        "{out:?}"
    );
    assert!(out.stdout.contains("same True"), "{out:?}");
}

/// Under `isolate` (`@default`), a root program's capabilities are
/// fdsup's own: the shim takes `CAP_NET_ADMIN` from the program, and fdsup
/// gives it up too, so that the program's requests are served as fdsup's
/// and not as another's (`creds`: capabilities lowered and raised around
/// every request; `make -j2` of 40 files was 20% slower with the two
/// apart). Read from both sides while the program runs.
#[test]
fn a_root_program_under_isolate_has_fdsups_own_capabilities() {
    if !rustix::process::geteuid().is_root() {
        fdsup_tests::skip!("fdsup as root: a root program's capabilities");
    }
    let dir = fdsup_tests::TempDir::new("fn-isolate-caps");
    let mut child = fdsup_tests::fdsup_cmd(
        [
            "run",
            "-q",
            "--",
            "/bin/sh",
            "-c",
            "grep -E '^Cap(Eff|Prm):' /proc/self/status; read x",
        ],
        dir.path(),
    )
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .spawn()
    .expect("spawn fdsup");
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut program = String::new();
    for _ in 0..2 {
        std::io::BufRead::read_line(&mut out, &mut program).expect("read");
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).expect("status");
    let fdsup: String = status
        .lines()
        .filter(|l| l.starts_with("CapEff:") || l.starts_with("CapPrm:"))
        .map(|l| format!("{l}\n"))
        .collect();
    drop(child.stdin.take());
    let _ = child.wait();
    let sorted = |s: &str| {
        let mut v: Vec<String> = s
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        sorted(&program),
        sorted(&fdsup),
        "the program's capabilities (left) differ from fdsup's (right)"
    );
    // CAP_NET_ADMIN (12) is not the program's.
    let eff = program
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .expect("CapEff");
    assert_eq!(
        eff & (1 << 12),
        0,
        "the program kept CAP_NET_ADMIN: {program}"
    );
}

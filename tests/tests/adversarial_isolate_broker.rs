//! Attacks on the `isolate` broker: what a program does with a socket that
//! fdsup brokered, which lives in fdsup's network namespace, must reach
//! nothing the rules refuse there.

mod network_support;

use network_support::*;
use std::os::linux::net::SocketAddrExt as _;

/// The program's side: a socket brokered out (a UDP or Unix datagram
/// socket connected to an allowed address), disconnected (`AF_UNSPEC`),
/// then bound to an address no rule allows. Natively the disconnect leaves
/// the socket free to bind anew; under `isolate` the socket is in fdsup's
/// namespace, so a bind allowed there would make it a server outside.
const BROKERED_BIND: &str = r#"
import ctypes, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
unspec = struct.pack("H14x", 0)
def disconnect(s):
    r = libc.connect(s.fileno(), unspec, len(unspec))
    return "OK" if r == 0 else "ERR:%d" % ctypes.get_errno()
def bind(s, a):
    try:
        s.bind(a); return "OK"
    except OSError as e:
        return "ERR:%d" % e.errno
allowed, free, abstract, squat = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
# Positive control: a fresh socket binds the same port inside its own
# namespace (no rule allows it, none denies it).
c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("inside_bind", bind(c, ("0.0.0.0", free)), flush=True)
c.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", allowed))
u.send(b"brokered")
print("udp_disconnect", disconnect(u), flush=True)
print("udp_bind", bind(u, ("0.0.0.0", free)), flush=True)
u.settimeout(1.5)
try:
    print("udp_got", u.recvfrom(100)[0].decode(), flush=True)
except OSError as e:
    print("udp_got none", flush=True)
d = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d.connect("\0" + abstract)
d.send(b"brokered")
print("unix_disconnect", disconnect(d), flush=True)
print("unix_bind", bind(d, "\0" + squat), flush=True)
print("done", flush=True)
"#;

#[test]
fn a_brokered_socket_binds_nothing_outside_that_no_rule_allows() {
    require("python3");
    let (udp, allowed) = udp_server();
    // A port free now, for the program to try.
    let free = std::net::UdpSocket::bind("0.0.0.0:0")
        .expect("a free port")
        .local_addr()
        .expect("addr")
        .port();
    let pid = std::process::id();
    let abstract_name = format!("fdsup-adv-iso-allowed-{pid}");
    let squat = format!("fdsup-adv-iso-squat-{pid}");
    let abs_server = std::os::unix::net::UnixDatagram::bind_addr(
        &std::os::unix::net::SocketAddr::from_abstract_name(abstract_name.as_bytes())
            .expect("abstract"),
    )
    .expect("bind abstract server");
    abs_server
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .expect("timeout");
    let dir = TempDir::new("adv-iso-bind");
    let p = write_policy(
        dir.path(),
        "iso.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "network": {{ "isolate": true, "rules": [
    {{ "connect": "127.0.0.1:{allowed}" }},
    {{ "connect": "unix:@{abstract_name}" }} ] }} }}"#
        ),
    );
    // From outside, while the program waits: a datagram to the port.
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(700));
        let s = std::net::UdpSocket::bind("127.0.0.1:0").expect("sender");
        let _ = s.send_to(b"from-outside", ("127.0.0.1", free));
    });
    let out = py(
        &p,
        dir.path(),
        BROKERED_BIND,
        &[
            &allowed.to_string(),
            &free.to_string(),
            &abstract_name,
            &squat,
        ],
    );
    sender.join().expect("sender");
    out.expect_code(0);
    let line = |k: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or("?")
            .to_string()
    };
    assert!(out.stdout.lines().any(|l| l == "done"), "{out:?}");
    // Positive controls: the brokered sends arrived; a bind inside works.
    assert_eq!(udp_recv(&udp).as_deref(), Some(&b"brokered"[..]), "{out:?}");
    let mut buf = [0u8; 64];
    assert_eq!(
        abs_server.recv(&mut buf).ok().map(|n| buf[..n].to_vec()),
        Some(b"brokered".to_vec()),
        "{out:?}"
    );
    assert_eq!(line("inside_bind"), "OK", "{out:?}");
    assert_eq!(line("udp_disconnect"), "OK", "{out:?}");
    assert_eq!(line("unix_disconnect"), "OK", "{out:?}");
    // The attack: refused as the rules refuse a bind outside.
    let eacces = format!("ERR:{}", libc::EACCES);
    assert_eq!(line("udp_bind"), eacces, "{out:?}");
    assert_eq!(line("udp_got"), "none", "{out:?}");
    assert_eq!(line("unix_bind"), eacces, "{out:?}");
    // The name is free outside.
    std::os::unix::net::UnixDatagram::bind_addr(
        &std::os::unix::net::SocketAddr::from_abstract_name(squat.as_bytes()).expect("abstract"),
    )
    .expect("the squatted name is free in fdsup's namespace");
}

/// The program's side: the requests a socket's network namespace answers
/// for a holder of `CAP_NET_ADMIN` there, on its own socket (its empty
/// namespace) and on one brokered out (fdsup's): `SIOCGSKNS` (a descriptor
/// of the namespace, for `setns` or netlink's `IFLA_NET_NS_FD`) and
/// `SIOCSIFMTU` on `lo` (set to the MTU it has, so that nothing changes).
const BROKERED_IOCTL: &str = r#"
import errno, fcntl, socket, struct, sys
def skns(s):
    try:
        fd = fcntl.ioctl(s.fileno(), 0x894C)
        return "OK"
    except OSError as e:
        return "ERR:%d" % e.errno
def mtu(s):
    try:
        r = fcntl.ioctl(s.fileno(), 0x8921, struct.pack("16si12x", b"lo", 0))
        m = struct.unpack("16si", r[:20])[1]
        fcntl.ioctl(s.fileno(), 0x8922, struct.pack("16si12x", b"lo", m))
        return "OK"
    except OSError as e:
        return "ERR:%d" % e.errno
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
print("own_ifaces", [n for _, n in socket.if_nameindex()], flush=True)
u.connect(("127.0.0.1", int(sys.argv[1])))
u.send(b"brokered")
print("skns", skns(u), flush=True)
print("mtu", mtu(u), flush=True)
print("done", flush=True)
"#;

/// Under `isolate` a root program's `CAP_NET_ADMIN` must not count in
/// fdsup's namespace, which its brokered sockets belong to: with it, an
/// `ioctl` on one reconfigured the machine's interfaces (measured: MTU of
/// the host's `eth0` set), routes and ARP table, or gave the namespace
/// itself (`SIOCGSKNS`).
#[test]
fn a_brokered_socket_configures_nothing_of_fdsups_namespace() {
    require("python3");
    if !is_root() {
        eprintln!("skipped: needs root (CAP_NET_ADMIN to lend)");
        return;
    }
    let (udp, allowed) = udp_server();
    let dir = TempDir::new("adv-iso-ioctl");
    let p = write_policy(
        dir.path(),
        "iso.json",
        &format!(
            r#"{{ "version": 1, "include": ["@default"],
  "network": {{ "isolate": true, "rules": [ {{ "connect": "127.0.0.1:{allowed}" }} ] }} }}"#
        ),
    );
    let out = py(&p, dir.path(), BROKERED_IOCTL, &[&allowed.to_string()]);
    out.expect_code(0);
    let line = |k: &str| {
        out.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{k} ")))
            .unwrap_or("?")
            .to_string()
    };
    assert!(out.stdout.lines().any(|l| l == "done"), "{out:?}");
    // Positive control: the connection was brokered out.
    assert_eq!(udp_recv(&udp).as_deref(), Some(&b"brokered"[..]), "{out:?}");
    assert_eq!(line("own_ifaces"), "['lo']", "{out:?}");
    let eperm = format!("ERR:{}", libc::EPERM);
    assert_eq!(line("skns"), eperm, "{out:?}");
    assert_eq!(line("mtu"), eperm, "{out:?}");
}

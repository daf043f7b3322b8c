//! Adversarial: source routes and borrowed privileges on IP sockets
//! (`tests/c/adv_source_route.c`).
//!
//! A loose source route (`IP_OPTIONS`, an `IP_RETOPTS` control message)
//! or an IPv6 routing header (`IPV6_RTHDR`, RFC 2292 sticky options, an
//! `IPV6_RTHDR` control message) makes the kernel send to the route's
//! first hop, not to the address fdsup decided: a way to a host the rules
//! deny. And fdsup sends a program's `sendmsg` itself, so a control
//! message the kernel refuses an unprivileged program (`SO_MARK`, a high
//! `SO_PRIORITY`, security IP options, IPv6 hop-by-hop options) would pass
//! on a root supervisor's capabilities; so would a bind to a port below
//! 1024, which fdsup makes for the program, and routing netlink's sends to
//! groups and binds to its multicast-routing reports. Each trick is shown
//! to work natively (so that the test exercises something), refused under
//! fdsup,
//! beside the positive controls: a plain send, a record-route option and a
//! free priority still pass.

#[path = "adversarial_support.rs"]
mod support;

use std::net::UdpSocket;
use std::path::Path;
use std::time::Duration;

use fdsup_tests::{is_root, run_cmd, skip, Output, TempDir};
use support::{prog, s, Checks};

fn policy(dir: &Path) -> std::path::PathBuf {
    fdsup_tests::write_policy(
        dir,
        "net.json",
        r#"{ "version": 1, "include": ["@allow-all"], "network": { "rules": [
            { "connect": "127.0.0.1/32:*" }, { "connect": "[::1/128]:*" },
            { "bind": "127.0.0.1/32:*" }, { "bind": "[::1/128]:*" } ] } }"#,
    )
}

fn port(sink: &UdpSocket) -> String {
    sink.local_addr().expect("bound").port().to_string()
}

/// A port below 1024 free for TCP and UDP on both loopbacks (root only).
fn low_port() -> String {
    (600u16..1024)
        .find(|&p| {
            std::net::TcpListener::bind(("127.0.0.1", p)).is_ok()
                && UdpSocket::bind(("127.0.0.1", p)).is_ok()
                && std::net::TcpListener::bind(("::1", p)).is_ok()
        })
        .expect("a free port below 1024")
        .to_string()
}

fn native(args: &[&str]) -> Output {
    let mut c = std::process::Command::new(prog("adv_source_route"));
    c.args(args);
    run_cmd(&mut c, Duration::from_secs(30))
}

fn sandboxed(dir: &Path, args: &[&str]) -> Output {
    let program = prog("adv_source_route");
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir);
    c.arg(policy(dir)).arg("--").arg(&program).args(args);
    run_cmd(&mut c, Duration::from_secs(30))
}

/// The lines every run shares: the routes refused, the controls passing.
fn routes_refused(c: &mut Checks<'_>) {
    c.eq("done", "1");
    c.eq("plain_send", "OK").eq("plain_send6", "OK");
    c.eq("cmsg_rr", "OK")
        .eq("cmsg_prio6", "OK")
        .eq("tclass", "OK");
    for k in [
        "cmsg_lsrr",
        "cmsg_lsrr_pad",
        "cmsg_rthdr",
        "ip_options_lsrr",
        "rthdr",
        "pktoptions",
        "flowlabel",
    ] {
        c.eq(k, "ERR:EPERM");
    }
    for k in ["ip_options_lsrr_send", "rthdr_send"] {
        if c.get(k).is_some() {
            c.fail(format!("{k}: a source-routed socket was left to send"));
        }
    }
}

#[test]
fn source_routes_are_refused() {
    if !is_root() {
        skip!("not root: the kernel refuses IPv4 source routes to this user itself");
    }
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let p = port(&sink);
    // Natively the tricks work: the routes are taken and sent on.
    let low = low_port();
    let out = native(&[&p, &low]);
    let mut n = Checks::new(&out);
    n.eq("cmsg_lsrr", "OK").eq("cmsg_lsrr_pad", "OK");
    n.eq("ip_options_lsrr_send", "OK").eq("flowlabel", "OK");
    n.eq("rthdr", "OK").eq("rthdr_send", "OK").finish();

    let dir = TempDir::new("adv-srcroute");
    let out = sandboxed(dir.path(), &[&p, &low]);
    let mut c = Checks::new(&out);
    routes_refused(&mut c);
    // Root keeps what root may do, but for IP options (any may route).
    c.eq("ip_options_rr", "ERR:EPERM");
    for k in [
        "cmsg_sec",
        "cmsg_mark",
        "cmsg_prio7",
        "cmsg_hopopts",
        "bind_low_tcp",
        "bind_low_udp",
        "bind_low_tcp6",
        "nl_bind_mroute",
        "nl_send_group",
        "nl_connect_group",
    ] {
        c.eq(k, "OK");
    }
    c.finish();
}

#[test]
fn a_root_supervisor_lends_no_privilege() {
    if !is_root() {
        skip!("not root: the program cannot drop to uid 65534");
    }
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let p = port(&sink);
    // Natively, what the kernel refuses a program that dropped root.
    let low = low_port();
    let out = native(&[&p, &low, "drop"]);
    let mut n = Checks::new(&out);
    dropped(&mut n);
    n.eq("cmsg_prio6", "OK").finish();

    let dir = TempDir::new("adv-srcroute-drop");
    let out = sandboxed(dir.path(), &[&p, &low, "drop"]);
    let added = std::process::Command::new("ip")
        .args(["addr", "del", "198.18.99.77/32", "dev", "lo"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let mut c = Checks::new(&out);
    routes_refused(&mut c);
    dropped(&mut c);
    c.eq("nl_newaddr", "EPERM");
    if added {
        c.fail("the program added an address to lo through fdsup".to_owned());
    }
    c.finish();
}

/// What the kernel refuses a program without capabilities.
fn dropped(c: &mut Checks<'_>) {
    c.eq("cmsg_sec", "ERR:EINVAL").eq("cmsg_mark", "ERR:EPERM");
    c.eq("cmsg_prio7", "ERR:EPERM")
        .eq("cmsg_hopopts", "ERR:EPERM");
    for k in ["bind_low_tcp", "bind_low_udp", "bind_low_tcp6"] {
        c.eq(k, "ERR:EACCES");
    }
    c.eq("nl_bind_link", "OK");
    for k in ["nl_bind_mroute", "nl_send_group", "nl_connect_group"] {
        c.eq(k, "ERR:EPERM");
    }
}

#[test]
fn source_routes_are_refused_unprivileged() {
    fdsup_tests::require("setpriv");
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let p = port(&sink);
    let dir = TempDir::new("adv-srcroute-nobody");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let pol = policy(dir.path());
    let program = prog("adv_source_route");
    let low = low_port();
    let out = support::sandboxed_as_nobody(&pol, dir.path(), &[s(&program), &p, &low]);
    let mut c = Checks::new(&out);
    routes_refused(&mut c);
    // Where the kernel itself refuses source routes to a user without
    // CAP_NET_RAW (since 2026), fdsup leaves IP options to it, and the
    // harmless ones stay: ping -R's record route. On an older kernel it
    // refuses them all.
    let mut native = std::process::Command::new("setpriv");
    native
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(&program)
        .args([p.as_str(), low.as_str()]);
    let n = fdsup_tests::run_cmd(&mut native, Duration::from_secs(30));
    let kernel_refuses = support::parse(&n.stdout)
        .get("ip_options_lsrr")
        .is_some_and(|v| v == "ERR:EPERM");
    c.eq(
        "ip_options_rr",
        if kernel_refuses { "OK" } else { "ERR:EPERM" },
    );
    dropped(&mut c);
    c.finish();
}

/// The positive control of the privilege checks: a capability the program
/// holds (here ambient `CAP_NET_BIND_SERVICE`, given to an unprivileged
/// fdsup and so to the program) is honoured. The check once asked the
/// kernel which namespace the socket is in with an ioctl that needs
/// `CAP_NET_ADMIN`, and refused such a bind (found in review).
#[test]
fn a_capability_the_program_holds_is_honoured() {
    fdsup_tests::require("setpriv");
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534 with a capability");
    }
    let sink = UdpSocket::bind("127.0.0.1:0").expect("bind");
    let p = port(&sink);
    let low = low_port();
    let dir = TempDir::new("adv-srcroute-ambient");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let pol = policy(dir.path());
    let program = prog("adv_source_route");
    let mut c = std::process::Command::new("setpriv");
    c.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=+net_bind_service",
        "--ambient-caps=+net_bind_service",
        "--",
    ])
    .arg(fdsup_tests::fdsup())
    .arg("run")
    .args(fdsup_tests::metadata_flags())
    .arg("--policy")
    .arg(&pol)
    .arg("--")
    .arg(&program)
    .args([p.as_str(), low.as_str()])
    .current_dir(dir.path());
    let out = run_cmd(&mut c, Duration::from_secs(30));
    let mut k = Checks::new(&out);
    k.eq("done", "1");
    for key in ["bind_low_tcp", "bind_low_udp", "bind_low_tcp6"] {
        k.eq(key, "OK");
    }
    k.finish();
}

/// Netlink asks the calling task alone in many places, and fdsup makes the
/// calls: `sock_diag`'s `SOCK_DESTROY` (`ss -K`) by a program without
/// privilege killed a host's connection under a root fdsup, and a routing
/// socket opened as root and kept after dropping root added an address
/// (found in review). Now netlink is called with the program's
/// capabilities; natively both are refused.
#[test]
fn netlink_is_called_with_the_program_s_capabilities() {
    use std::io::{Read as _, Write as _};
    fdsup_tests::require("setpriv");
    fdsup_tests::require("ss");
    if !is_root() {
        skip!("not root: nothing to lend");
    }
    let dir = TempDir::new("adv-nl-caps");
    let all = fdsup_tests::write_policy(
        dir.path(),
        "all.json",
        r#"{ "version": 1, "include": ["@allow-all"] }"#,
    );
    // A connection of the host's, on loopback.
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = l.local_addr().expect("addr").port().to_string();
    let mut c = std::net::TcpStream::connect(l.local_addr().expect("addr")).expect("connect");
    let (mut a, _) = l.accept().expect("accept");
    let mut ss = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    ss.arg(&all).args([
        "--",
        "setpriv",
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
        "ss",
        "-K",
        "dst",
        "127.0.0.1",
        "dport",
        "=",
        &port,
    ]);
    let out = run_cmd(&mut ss, Duration::from_secs(30));
    c.write_all(b"x")
        .expect("the connection was killed through fdsup");
    let mut b = [0u8; 1];
    a.read_exact(&mut b)
        .expect("the connection was killed through fdsup");
    assert!(
        out.stderr.contains("Operation not permitted"),
        "ss was not refused: {out:?}"
    );
    // A routing socket opened as root, kept after dropping root.
    let script = r#"
import socket, os, struct
s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0)
os.setgroups([]); os.setresgid(65534, 65534, 65534); os.setresuid(65534, 65534, 65534)
body = struct.pack("BBBBI", socket.AF_INET, 32, 0, 0, 1) + struct.pack("HH4s", 8, 2, socket.inet_aton("198.18.99.78"))
s.sendto(struct.pack("IHHII", 16 + len(body), 20, 0x605, 1, 0) + body, (0, 0))
print("errno=%d" % -struct.unpack("i", s.recv(4096)[16:20])[0])
"#;
    let mut py = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    py.arg(&all).args(["--", "/usr/bin/python3", "-c", script]);
    let out = run_cmd(&mut py, Duration::from_secs(30));
    let added = std::process::Command::new("ip")
        .args(["addr", "del", "198.18.99.78/32", "dev", "lo"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(!added, "the program added an address to lo: {out:?}");
    assert!(
        out.stdout.contains(&format!("errno={}", 1)),
        "the kernel's EPERM: {out:?}"
    );
}

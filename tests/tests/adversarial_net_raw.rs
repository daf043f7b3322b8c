//! Adversarial: packets that carry their own addresses
//! (`tests/c/adv_net_raw.c`), under a network section that allows by
//! default and denies some addresses, with and without `isolate`.
//!
//! A program with `CAP_NET_RAW` (root here) can send through a raw socket
//! with `IP_HDRINCL` (or `IPPROTO_RAW`, which implies it) an IP header of
//! its own, whose destination need not be the address fdsup decided; a
//! raw UDP socket sends the UDP header, with its port, that it is given;
//! a packet socket sends whole frames with no address to decide. Natively
//! each of the program's datagrams reaches the denied port; under fdsup
//! those sockets and the option are refused with EPERM (as the kernel
//! does without `CAP_NET_RAW`), while ping (raw ICMP, whose destination is
//! the decided address) goes on working, decided.

#[path = "adversarial_support.rs"]
mod support;

use std::net::UdpSocket;
use std::time::Duration;

use fdsup_tests::{run_cmd, TempDir};
use support::{prog, Checks};

/// What each of `sock` received (read until quiet).
fn received(sock: &UdpSocket) -> Vec<String> {
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    while let Ok(n) = sock.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got.sort();
    got
}

/// Two UDP receivers on 127.0.0.1: the denied one and the allowed one.
fn receivers() -> (UdpSocket, UdpSocket) {
    let ud = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let ua = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for s in [&ud, &ua] {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
    }
    (ud, ua)
}

fn port(s: &UdpSocket) -> String {
    s.local_addr().expect("addr").port().to_string()
}

fn run(isolate: bool) {
    if !fdsup_tests::is_root() {
        eprintln!("skipped: needs root (CAP_NET_RAW)");
        return;
    }
    let dir = TempDir::new("adv-net-raw");
    let program = prog("adv_net_raw");

    // Natively, the tricks work: the denied port receives each datagram.
    let (ud, ua) = receivers();
    let native = run_cmd(
        std::process::Command::new(&program).args([port(&ud), port(&ua)]),
        Duration::from_secs(30),
    );
    let n = Checks::new(&native);
    if n.get("ipproto_raw_socket") != Some("OK") {
        eprintln!("skipped: no raw sockets here ({:?})", native.stdout);
        return;
    }
    let native_denied = received(&ud);
    for m in ["hdrincl-denied", "rawudp-denied", "sockopt-denied"] {
        assert!(
            native_denied.iter().any(|g| g == m),
            "natively, {m} should reach the port: got {native_denied:?}"
        );
    }
    drop((ud, ua));
    // The native run's address of this host off loopback, for the
    // isolated run (whose namespace has none).
    let outer = n.get("outer").map(str::to_owned);

    let (ud, ua) = receivers();
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "allow", "isolate": {isolate}, "rules": [
    {{ "connect": "127.0.0.1:{udp}", "access": "deny" }},
    {{ "connect": "127.0.0.2:*", "access": "deny" }} ] }} }}"#,
        bin = support::bin_rule(),
        d = dir.path().display(),
        udp = port(&ud),
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(&program)
        .args([port(&ud), port(&ua)])
        .args(outer);
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let mut k = Checks::new(&out);
    k.all(
        &[
            "ipproto_raw_socket",
            "ip_hdrincl",
            "raw_udp_socket",
            "packet_socket",
            "sock_packet_socket",
            "ipproto_raw6_socket",
            "ipv6_hdrincl",
        ],
        "ERR:EPERM",
    );
    if k.get("connected_raw_socket") != Some("SKIP") {
        k.eq("connected_raw_socket", "ERR:EPERM");
    }
    // Ping stays, decided by its destination.
    k.all(&["ping_allowed", "raw_icmp6_socket", "udp_allowed"], "OK");
    // Under `isolate` a denied loopback address is the sandbox's own.
    k.eq("ping_denied", if isolate { "OK" } else { "ERR:EACCES" });
    k.eq("done", "1");
    let denied = received(&ud);
    if !denied.is_empty() {
        k.fail(format!("the denied port received {denied:?}"));
    }
    let allowed = received(&ua);
    if allowed != ["udp-allowed"] {
        k.fail(format!("the allowed port received {allowed:?}"));
    }
    k.finish();
}

#[test]
fn packets_with_their_own_addresses_are_refused_where_addresses_are_denied() {
    run(false);
}

#[test]
fn packets_with_their_own_addresses_are_refused_where_addresses_are_denied_isolated() {
    run(true);
}

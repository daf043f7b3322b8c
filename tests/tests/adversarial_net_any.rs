//! Adversarial: other spellings of a denied address
//! (`tests/c/adv_net_any.c`), each beside a positive control, with and
//! without `isolate`.
//!
//! The kernel connects and sends to the unspecified address (`0.0.0.0`,
//! `::`, `::ffff:0.0.0.0`) as to the loopback one, or to the socket's bound
//! address (`ip_route_output_key_hash_rcu`, `tcp_v6_connect`,
//! `udpv6_sendmsg`): a policy that denies `127.0.0.1:PORT` must refuse
//! `0.0.0.0:PORT` too (it reached the denied listener). Also held here:
//! IPv4-mapped IPv6, `sendmmsg` with a denied destination among allowed
//! ones, a connected UDP socket sending to a denied address, TCP Fast
//! Open.

#[path = "adversarial_support.rs"]
mod support;

use std::net::{TcpListener, UdpSocket};
use std::time::Duration;

use fdsup_tests::{run_cmd, TempDir};
use support::{prog, Checks};

fn run(isolate: bool) {
    let dir = TempDir::new("adv-net-any");
    // Dual stack: each takes 127.0.0.1 and ::1.
    let td = TcpListener::bind("[::]:0").expect("listen");
    let ta = TcpListener::bind("[::]:0").expect("listen");
    let ud = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let ua = UdpSocket::bind("127.0.0.1:0").expect("udp");
    for s in [&ud, &ua] {
        s.set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
    }
    let port = |p: u16| p.to_string();
    let (tdp, tap) = (
        td.local_addr().expect("addr").port(),
        ta.local_addr().expect("addr").port(),
    );
    let (udp, uap) = (
        ud.local_addr().expect("addr").port(),
        ua.local_addr().expect("addr").port(),
    );
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "allow", "isolate": {isolate}, "rules": [
    {{ "connect": "127.0.0.1:{tdp}", "access": "deny" }},
    {{ "connect": "[::1]:{tdp}", "access": "deny" }},
    {{ "connect": "127.0.0.1:{udp}", "access": "deny" }},
    {{ "connect": "[::1]:{udp}", "access": "deny" }} ] }} }}"#,
        bin = support::bin_rule(),
        d = dir.path().display()
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let program = prog("adv_net_any");
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(&program)
        .args([port(tdp), port(tap), port(udp), port(uap)]);
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let mut k = Checks::new(&out);
    k.all(
        &[
            "tcp4_any_allowed",
            "tcp6_any_allowed",
            "udp4_any_allowed",
            "tcp6_mapped_allowed",
            "udp_connect_allowed",
        ],
        "OK",
    );
    k.all(
        &[
            "tcp4_any_denied",
            "tcp6_any_denied",
            "tcp6_mapped_any_denied",
            "tcp4_bound_any_denied",
            "tcp6_mapped_denied",
            "tfo_connect_denied",
        ],
        "ERR:ECONNREFUSED",
    );
    k.all(
        &[
            "udp4_any_denied",
            "udp6_mapped_any_denied",
            "udp6_mapped_denied",
            "mmsg_denied_first",
            "udp_connected_sendto_denied",
        ],
        "ERR:EACCES",
    );
    // A blocking Fast Open send: under `isolate`, one refused is tried
    // inside only, where nothing listens: EACCES, not the EINPROGRESS of
    // the try.
    k.all(&["tfo_any_denied", "tfo_denied"], "ERR:EACCES");
    if isolate {
        // The sandbox's own listener on the denied address takes it.
        k.eq("tfo_inside", "OK").eq("tfo_inside_got", "x");
    } else {
        k.eq("tfo_inside", "SKIP");
        // Under `isolate` a Fast Open send is not brokered out (README,
        // Limits): this control holds in the plain run.
        k.eq("tfo_allowed", "OK");
    }
    k.eq("mmsg_count", "1");
    k.eq("done", "1");
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while let Ok(n) = ua.recv(&mut buf) {
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    got.sort();
    if got != ["any-allowed", "mm-1"] {
        k.fail(format!("the allowed port received {got:?}"));
    }
    if let Ok(n) = ud.recv(&mut buf) {
        k.fail(format!(
            "the denied port received {:?}",
            String::from_utf8_lossy(&buf[..n])
        ));
    }
    // Nothing connected to the denied listener.
    td.set_nonblocking(true).expect("nonblocking");
    if let Ok((_, from)) = td.accept() {
        k.fail(format!(
            "the denied listener accepted a connection from {from}"
        ));
    }
    k.finish();
}

#[test]
fn the_unspecified_address_is_decided_as_the_address_it_reaches() {
    run(false);
}

#[test]
fn the_unspecified_address_is_decided_as_the_address_it_reaches_isolated() {
    run(true);
}

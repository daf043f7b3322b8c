//! Under `isolate`, the first datagram an unbound socket sends to an
//! allowed address outside goes through a twin (a socket fdsup makes in its
//! own namespace, which then replaces the program's). That send was always
//! made with `MSG_DONTWAIT`: a blocking program socket whose receiver's
//! queue was full got `EAGAIN` at once. It now waits as the program's own
//! send would: until there is room, or until its send timeout passes.
//!
//! `tests/c/net_twin_wait.c` fills the queue of an abstract Unix datagram
//! socket of the test (which reads nothing until the program creates
//! `go`), then sends from fresh blocking sockets: with a send timeout of
//! 200 ms (`sendto`, `sendmmsg`: `EAGAIN` after it), and without one (sent
//! once the test reads). Natively, under `isolate` (the twin) and without
//! it (the program's own socket); every line must match the native run.

#[path = "adversarial_support.rs"]
mod support;

use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::{Path, PathBuf};
use std::time::Duration;

use fdsup_tests::{native, write_policy, TempDir};
use support::{bin_rule, parse, prog, s, sandboxed_env};

/// Binds the abstract datagram name `name`, reads nothing until `go`
/// exists, then reads all that comes, for the rest of the test process.
fn receiver(name: &str, go: PathBuf) {
    let addr = SocketAddr::from_abstract_name(name).expect("an abstract address");
    let r = UnixDatagram::bind_addr(&addr).expect("bind the receiver");
    std::thread::spawn(move || {
        while !go.exists() {
            std::thread::sleep(Duration::from_millis(10));
        }
        r.set_read_timeout(Some(Duration::from_millis(100)))
            .expect("read timeout");
        let mut buf = [0u8; 1024];
        loop {
            let _ = r.recv(&mut buf);
        }
    });
}

fn policy(dir: &Path, name: &str, isolate: bool) -> PathBuf {
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "deny", "isolate": {isolate}, "rules": [ {{ "connect": "unix:@{name}" }} ] }}
}}
"#,
        bin = bin_rule(),
        d = dir.display()
    );
    write_policy(dir, "policy.json", &json)
}

#[test]
fn a_blocking_datagram_through_a_twin_waits_for_room() {
    let program = prog("net_twin_wait");
    let mut failures = Vec::new();
    let mut native_lines = None;
    for how in ["native", "isolate", "plain"] {
        let dir = TempDir::new(&format!("twin-wait-{how}"));
        let name = format!("fdsup-twin-wait-{}-{how}", std::process::id());
        receiver(&name, dir.join("go"));
        let cmd = [s(&program), name.as_str()];
        let out = if how == "native" {
            native(dir.path(), &cmd)
        } else {
            let p = policy(dir.path(), &name, how == "isolate");
            sandboxed_env(
                p.as_os_str(),
                dir.path(),
                &[],
                &cmd,
                Duration::from_secs(60),
            )
        };
        let lines = parse(&out.stdout);
        for (k, v) in [
            ("fill", "OK"),
            ("timeout_sendto", "ERR:EAGAIN"),
            ("timeout_sendto_time", "OK"),
            ("timeout_sendmmsg", "ERR:EAGAIN"),
            ("timeout_sendmmsg_time", "OK"),
            ("blocking_sendto", "OK"),
            ("blocking_sendto_time", "OK"),
        ] {
            if lines.get(k).map(String::as_str) != Some(v) {
                failures.push(format!("{how}: {k} is {:?}, expected {v:?}", lines.get(k)));
            }
        }
        if out.code != 0 || !out.stdout.lines().any(|l| l == "done") {
            failures.push(format!(
                "{how}: exit {} (expected 0, to the end)\n{}\n{}",
                out.code, out.stdout, out.stderr
            ));
        }
        match &native_lines {
            None => native_lines = Some(lines),
            Some(n) if *n != lines => {
                failures.push(format!("{how}: differs from native:\n{n:?}\n{lines:?}"));
            }
            Some(_) => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

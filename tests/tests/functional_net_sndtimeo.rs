//! A send timeout (`SO_SNDTIMEO`) ends a mediated blocking send or connect
//! as it ends the program's own (`tests/c/net_sndtimeo.c`): after 200 ms,
//! to a peer that never reads or never accepts, the call answers what the
//! kernel answers — the count sent if some bytes went, else `EAGAIN`; a
//! TCP connect `EINPROGRESS`, a Unix one `EAGAIN`. fdsup's waiting thread
//! interrupts its blocking call every few milliseconds to look for signals,
//! and each call again started the kernel's timeout afresh: such a call
//! waited until a signal came (here the program's alarm after 5 s).
//!
//! Each case runs natively, under a policy that allows the peer, and under
//! the same policy with `isolate` (where the TCP and abstract connects are
//! brokered: fdsup's own socket waits, with the program's timeout). Every
//! line must match the native run and the values spelled out; the time is
//! held to a bound (150 ms to 2 s), not an equality.

#[path = "adversarial_support.rs"]
mod support;

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use fdsup_tests::{native, write_policy, TempDir};
use support::{bin_rule, parse, prog, s, sandboxed_env};

/// A listener of `net_sndtimeo listen`, run natively: a backlog of 0,
/// never accepting; ends when dropped.
struct Listener {
    child: Child,
    port: u16,
}

impl Listener {
    fn new(what: &str) -> Self {
        let mut child = Command::new(prog("net_sndtimeo"))
            .args(["listen", what])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start the listener");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("its stdout"))
            .read_line(&mut line)
            .expect("read the listener's port");
        let port = line
            .trim()
            .strip_prefix("port=")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the listener said {line:?}"));
        Self { child, port }
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An abstract name of this run's own.
fn name() -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "fdsup-sndtimeo-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// A policy that allows 127.0.0.1:`port`, the abstract `name` and Unix
/// sockets in `dir` (binds too), nothing else.
fn policy(dir: &Path, port: u16, name: &str, isolate: bool) -> PathBuf {
    let d = dir.display();
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "deny", "isolate": {isolate}, "rules": [
    {{ "connect": "127.0.0.1:{port}" }},
    {{ "connect": "unix:@{name}" }},
    {{ "connect": "unix:{d}/**" }},
    {{ "bind": "unix:{d}/**" }}
  ] }}
}}
"#,
        bin = bin_rule()
    );
    write_policy(dir, &format!("policy-{isolate}.json"), &json)
}

/// What the case must print (besides `name_time=OK` for each, and `done`).
type Expected<'a> = &'a [(&'a str, &'a str)];

/// Runs `net_sndtimeo MODE [ARG]` natively and under fdsup (plain and
/// isolated), each against a fresh listener when `listen` names one
/// (`tcp`, or `abstract` for a fresh abstract name); `arg` picks what the
/// program is given: the port or the name.
fn case(tag: &str, mode: &str, listen: Option<&str>, expected: Expected<'_>) {
    let program = prog("net_sndtimeo");
    let mut failures = Vec::new();
    let mut native_lines = None;
    for how in ["native", "plain", "isolate"] {
        let dir = TempDir::new(&format!("sndtimeo-{tag}-{how}"));
        let name = name();
        let listener = listen.map(|l| Listener::new(if l == "tcp" { "tcp" } else { &name }));
        let port = listener.as_ref().map_or(0, |l| l.port);
        let arg = match listen {
            Some("tcp") => port.to_string(),
            Some(_) => name.clone(),
            None => String::new(),
        };
        let mut cmd = vec![s(&program).to_owned(), mode.to_owned()];
        if listen.is_some() {
            cmd.push(arg);
        }
        let out = if how == "native" {
            native(dir.path(), &cmd)
        } else {
            let p = policy(dir.path(), port, &name, how == "isolate");
            sandboxed_env(
                p.as_os_str(),
                dir.path(),
                &[],
                &cmd,
                Duration::from_secs(60),
            )
        };
        drop(listener);
        let lines = parse(&out.stdout);
        let mut want: Vec<(String, String)> = expected
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        for (k, _) in expected {
            want.push((format!("{k}_time"), "OK".to_owned()));
        }
        for (k, v) in &want {
            if lines.get(k) != Some(v) {
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

#[test]
fn a_unix_stream_send_times_out_with_its_count_then_eagain() {
    case(
        "unix-stream",
        "unix_stream",
        None,
        &[
            ("unix_stream_first", "PARTIAL"),
            ("unix_stream_full", "ERR:EAGAIN"),
        ],
    );
}

#[test]
fn a_unix_datagram_send_to_a_full_queue_times_out() {
    case(
        "unix-dgram",
        "unix_dgram",
        None,
        &[
            ("unix_dgram_full", "ERR:EAGAIN"),
            ("unix_dgram_mmsg", "ERR:EAGAIN"),
        ],
    );
}

#[test]
fn a_unix_connect_to_a_full_backlog_times_out_with_eagain() {
    case(
        "unix-connect",
        "unix_connect",
        None,
        &[("unix_connect_full", "ERR:EAGAIN")],
    );
}

#[test]
fn a_tcp_send_to_a_peer_that_never_reads_times_out() {
    case(
        "tcp",
        "tcp",
        Some("tcp"),
        &[("tcp_first", "PARTIAL"), ("tcp_full", "ERR:EAGAIN")],
    );
}

#[test]
fn a_tcp_connect_that_gets_no_answer_times_out_in_progress() {
    case(
        "tcp-connect",
        "tcp_connect",
        Some("tcp"),
        &[
            ("tcp_connect_full", "ERR:EINPROGRESS"),
            ("tcp_connect_again", "ERR:EALREADY"),
        ],
    );
}

#[test]
fn an_abstract_connect_to_a_full_backlog_times_out_with_eagain() {
    case(
        "abstract-connect",
        "abstract_connect",
        Some("abstract"),
        &[("abstract_connect_full", "ERR:EAGAIN")],
    );
}

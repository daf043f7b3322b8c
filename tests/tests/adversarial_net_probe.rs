//! Adversarial: a send that fdsup fails itself before the kernel sees it
//! (its buffer faults, its datagram is larger than fdsup reads) asks the
//! kernel which error would have come first, with a send that faults at
//! its first byte. That probe took the program's destination as it was,
//! before fdsup had decided it: a UDP socket was bound and a route looked
//! up toward a denied address (an SCTP socket would have sent its INIT
//! there). The address is now decided first, as for any send.
//!
//! `tests/c/adv_net_probe.c` sends from fresh unbound UDP sockets to an
//! allowed and a denied port of 127.0.0.1 with `sendto`, `sendmsg` and
//! `sendmmsg`; the kernel binds a socket (autobind) before it looks at the
//! buffer, so a socket left bound shows that the send reached the kernel.
//! - to the denied port: the policy's refusal (EACCES, as SPEC.md says for
//!   a denied send), and the socket stays unbound;
//! - to the allowed port (the positive control): what the kernel answers
//!   natively (EFAULT, EMSGSIZE, or EOPNOTSUPP for `MSG_OOB`, which UDP
//!   checks before it copies: the probe still runs), and bound as natively.
//!
//! As root and as uid 65534.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{is_root, native, skip, write_policy, TempDir};
use support::{bin_rule, parse, prog, s, sandboxed_as_nobody, sandboxed_env};

const ALLOWED: u16 = 40101;
const DENIED: u16 = 40102;

const KINDS: &[&str] = &[
    "sendto_fault",
    "sendmsg_fault",
    "sendmmsg_fault",
    "sendto_huge",
    "sendmsg_huge",
    "sendto_oob_fault",
    "sendmmsg_oob_fault",
];

fn run(nobody: bool) {
    let program = prog("adv_net_probe");
    let dir = TempDir::new(&format!("adv-net-probe-{nobody}"));
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "deny", "rules": [ {{ "connect": "127.0.0.1:{ALLOWED}" }} ] }}
}}
"#,
        bin = bin_rule(),
        d = dir.path().display()
    );
    let policy = write_policy(dir.path(), "policy.json", &json);
    let (a, d) = (ALLOWED.to_string(), DENIED.to_string());
    let cmd = [s(&program), &a, &d];
    let nat = native(dir.path(), &cmd);
    assert_eq!(nat.code, 0, "native run failed:\n{nat:?}");
    let out = if nobody {
        sandboxed_as_nobody(&policy, dir.path(), &cmd)
    } else {
        sandboxed_env(
            policy.as_os_str(),
            dir.path(),
            &[],
            &cmd,
            Duration::from_secs(60),
        )
    };
    let (n, f) = (parse(&nat.stdout), parse(&out.stdout));
    let mut failures = Vec::new();
    let mut want = |key: String, value: Option<&str>| {
        if f.get(&key).map(String::as_str) != value {
            failures.push(format!(
                "{key}: fdsup says {:?}, expected {value:?}",
                f.get(&key)
            ));
        }
    };
    for k in KINDS {
        // The positive control: as natively, the probe included.
        for key in [format!("allowed_{k}"), format!("allowed_{k}_port")] {
            want(key.clone(), n.get(&key).map(String::as_str));
        }
        want(format!("denied_{k}"), Some("ERR:EACCES"));
        want(format!("denied_{k}_port"), Some("0"));
    }
    // Spelled out: the kernel's answers, and that it binds (so that the
    // unbound socket above means something).
    for (key, value) in [
        ("allowed_sendto_fault", "ERR:EFAULT"),
        ("allowed_sendmmsg_fault", "ERR:EFAULT"),
        ("allowed_sendmsg_huge", "ERR:EMSGSIZE"),
        ("allowed_sendto_oob_fault", "ERR:EOPNOTSUPP"),
        ("allowed_sendmmsg_oob_fault", "ERR:EOPNOTSUPP"),
        ("allowed_sendto_fault_port", "bound"),
        ("denied_sendto_fault_port", "bound"),
    ] {
        assert_eq!(n.get(key).map(String::as_str), Some(value), "native {key}");
    }
    if out.code != 0 || !out.stdout.lines().any(|l| l == "done") {
        failures.push(format!("exit {} (expected 0, to the end)", out.code));
    }
    assert!(
        failures.is_empty(),
        "{}\nnative:\n{}\nfdsup:\n{}\n{}",
        failures.join("\n"),
        nat.stdout,
        out.stdout,
        out.stderr
    );
}

#[test]
fn a_probe_never_takes_a_denied_address_to_the_kernel() {
    run(false);
}

#[test]
fn a_probe_never_takes_a_denied_address_to_the_kernel_unprivileged() {
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    run(true);
}

//! Robustness: hostile lengths and counts in the network calls fdsup
//! carries out itself — `msg_iovlen`, `msg_namelen`, `msg_controllen`,
//! `cmsg_len` (0, short, misaligned, huge, a truncated last header),
//! `SCM_CREDENTIALS` of the wrong size, `sendmmsg`'s `vlen`, `addrlen`,
//! flags with high bits — get exactly the kernel's answer, and the
//! supervisor lives through them (`tests/c/rob_net_hostile.c`, run natively
//! and under fdsup, compared line by line).

#[path = "adversarial_support.rs"]
mod support;

use fdsup_tests::{native, sandboxed, TempDir};
use support::{parse, prog, s};

#[test]
fn hostile_send_arguments_get_the_kernels_answers() {
    let dir = TempDir::new("rob-net-hostile");
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "rules": [ {bin} {{ "path": "{d}", "access": "rw" }} ] }},
  "network": {{ "default": "allow", "rules": [ {{ "connect": "0.0.0.0/0:*" }} ] }} }}"#,
        bin = support::bin_rule(),
        d = dir.path().display()
    );
    let p = fdsup_tests::write_policy(dir.path(), "p.json", &json);
    let program = prog("rob_net_hostile");
    let cmd = [s(&program)];
    let n = native(dir.path(), &cmd);
    assert_eq!(n.code, 0, "native run failed: {n:?}");
    let sb = sandboxed(&p, dir.path(), &cmd);
    let (nl, sl) = (parse(&n.stdout), parse(&sb.stdout));
    assert_eq!(nl.get("done").map(String::as_str), Some("1"), "{n:?}");
    let mut failures = Vec::new();
    for (k, v) in &nl {
        match sl.get(k) {
            Some(w) if w == v => {}
            w => failures.push(format!("{k}: the kernel says {v}, under fdsup {w:?}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{}\nunder fdsup: {sb:?}",
        failures.join("\n")
    );
}

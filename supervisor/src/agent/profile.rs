//! `fdsup agent profile`: the OCI `linux.seccomp` object that hands a
//! container to the agent.
//!
//! Made from the same tables as `fdsup run`'s filters, so that the two
//! cannot drift: the always-enforced denials ([`crate::filter::always_denied`])
//! as `SCMP_ACT_ERRNO` with their errnos, every mediated system call
//! ([`crate::syscalls::MEDIATED`], `execve` and `execveat` included: the
//! agent learns from them when the container's program starts) as
//! `SCMP_ACT_NOTIFY`, `listenerPath` and `listenerMetadata`.
//!
//! The profile is written before the policy is known (its name is all it
//! carries), so it traps everything a policy may decide; a policy that
//! leaves the looks to the kernel has them continued by the agent.
//!
//! `architectures` is `["SCMP_ARCH_X86_64"]` alone, and that is what kills
//! the other ABIs: libseccomp answers a system call of an architecture the
//! filter was not built for with its bad-architecture action, which kills
//! the process (found with runc 1.1.5 and crun 1.8.1, libseccomp 2.5.4: an
//! `int 0x80` getpid and an x32 getpid die with SIGSYS). Listing
//! `SCMP_ARCH_X86` or `SCMP_ARCH_X32` would do the opposite: their calls
//! would then be filtered by these rules, translated, and allowed by the
//! default action.
//!
//! The names are the kernel's. A runtime whose libseccomp does not know a
//! name skips it: runc then answers calls above the highest number it
//! knows with ENOSYS (its "-ENOSYS stub"), crun lets them through, which
//! on a kernel newer than its libseccomp leaves the newest calls
//! (`fchmodat2` for libseccomp 2.5.4, the `*xattrat` calls) to the kernel:
//! README ("Containers") says so.

use serde_json::{json, Value};

use crate::filter::{always_denied, Denial};
use crate::syscalls::{Kind, MEDIATED};

/// The `linux.seccomp` object for policy `policy` and the agent at `socket`.
pub fn profile(policy: &str, socket: &str) -> Value {
    let mut syscalls: Vec<Value> = Vec::new();
    let denied = always_denied();
    for errno in [libc::EPERM, libc::ENOSYS] {
        let names: Vec<&str> = denied
            .iter()
            .filter(|d| d.errno == errno && d.when.is_none())
            .map(|d| d.name)
            .collect();
        if !names.is_empty() {
            syscalls.push(errno_rule(&names, errno, None));
        }
    }
    for d in denied.iter().filter(|d| d.when.is_some()) {
        syscalls.push(errno_rule(&[d.name], d.errno, Some(d)));
    }
    let notified: Vec<&str> = MEDIATED
        .iter()
        .filter(|m| m.kind != Kind::Sendto)
        .map(|m| m.name)
        .collect();
    syscalls.push(json!({ "names": notified, "action": "SCMP_ACT_NOTIFY" }));
    // `send()` is `sendto` without an address: nothing to decide (as in
    // `fdsup run`'s notify program).
    syscalls.push(json!({
        "names": ["sendto"],
        "action": "SCMP_ACT_NOTIFY",
        "args": [{ "index": 4, "value": 0, "op": "SCMP_CMP_NE" }],
    }));
    json!({
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64"],
        "listenerPath": socket,
        "listenerMetadata": format!("policy={policy}"),
        "syscalls": syscalls,
    })
}

fn errno_rule(names: &[&str], errno: i32, cond: Option<&Denial>) -> Value {
    let mut rule = json!({
        "names": names,
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": errno,
    });
    if let Some(m) = cond.and_then(|d| d.when) {
        rule["args"] = json!([{
            "index": m.arg,
            "value": m.mask,
            "valueTwo": m.value,
            "op": "SCMP_CMP_MASKED_EQ",
        }]);
    }
    rule
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn names(p: &Value, action: &str) -> BTreeSet<String> {
        p["syscalls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["action"] == action)
            .flat_map(|r| r["names"].as_array().unwrap().clone())
            .map(|n| n.as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn carries_the_listener_and_only_the_native_abi() {
        let p = profile("readonly-root", "/run/fdsup/agent.sock");
        assert_eq!(p["listenerPath"], "/run/fdsup/agent.sock");
        assert_eq!(p["listenerMetadata"], "policy=readonly-root");
        assert_eq!(p["defaultAction"], "SCMP_ACT_ALLOW");
        assert_eq!(p["architectures"], json!(["SCMP_ARCH_X86_64"]));
    }

    #[test]
    fn notifies_every_mediated_call_and_denies_the_rest_as_fdsup_run_does() {
        let p = profile("x", "/s");
        let notify = names(&p, "SCMP_ACT_NOTIFY");
        for m in MEDIATED {
            assert!(notify.contains(m.name), "{} is notified", m.name);
        }
        assert!(notify.contains("execve") && notify.contains("execveat"));
        let errno = names(&p, "SCMP_ACT_ERRNO");
        for d in always_denied() {
            assert!(errno.contains(d.name), "{} is denied", d.name);
        }
        assert!(
            notify.is_disjoint(&errno),
            "{:?}",
            notify.intersection(&errno)
        );
        for n in [
            "ptrace",
            "mount",
            "chroot",
            "setns",
            "bpf",
            "io_uring_setup",
        ] {
            assert!(errno.contains(n), "{n}");
        }
        // Each errno as fdsup run's deny program has it.
        let errno_of = |name: &str| {
            p["syscalls"]
                .as_array()
                .unwrap()
                .iter()
                .find(|r| r["names"].as_array().unwrap().iter().any(|n| n == name))
                .map(|r| r["errnoRet"].as_i64().unwrap())
        };
        assert_eq!(errno_of("ptrace"), Some(i64::from(libc::EPERM)));
        assert_eq!(errno_of("clone3"), Some(i64::from(libc::ENOSYS)));
    }

    #[test]
    fn argument_rules_keep_to_the_low_32_bits() {
        let p = profile("x", "/s");
        let rules = p["syscalls"].as_array().unwrap();
        let ioctl: Vec<&Value> = rules
            .iter()
            .filter(|r| r["names"] == json!(["ioctl"]))
            .collect();
        assert_eq!(ioctl.len(), 2);
        for r in ioctl {
            assert_eq!(r["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
            assert_eq!(r["args"][0]["value"], u64::from(u32::MAX));
            assert_eq!(r["args"][0]["index"], 1);
        }
        let clone = rules
            .iter()
            .filter(|r| r["names"] == json!(["clone"]))
            .count();
        assert_eq!(clone, 7, "every CLONE_NEW* but CLONE_NEWTIME");
    }
}

//! `fdsup agent profile`: the OCI `linux.seccomp` object that hands a
//! container to the agent.
//!
//! Made from the same tables as `fdsup run`'s filters, so that the two
//! cannot drift: the always-enforced denials ([`crate::filter::always_denied`],
//! and [`crate::filter::last_denied`]: the container's own Landlock, which
//! the agent's opens would ignore as `fdsup run`'s do)
//! as `SCMP_ACT_ERRNO` with their errnos, every mediated system call
//! ([`crate::syscalls::MEDIATED`], `execve` and `execveat` included: the
//! agent learns from them when the container's program starts) as
//! `SCMP_ACT_NOTIFY`, `listenerPath` and `listenerMetadata`.
//!
//! The profile is written before the policy is known (its name is all it
//! carries), so it traps everything a policy may decide; a policy that
//! leaves the looks to the kernel has them continued by the agent.
//!
//! The default action refuses (`SCMP_ACT_ERRNO`, ENOSYS) and every other
//! call is allowed by name ([`super::names`] says why: a name the
//! runtime's libseccomp does not know is skipped, and under
//! `SCMP_ACT_ALLOW` that call would run unfiltered). A call denied only
//! for some argument values (`clone` and `unshare` of a new namespace,
//! `ioctl`'s `TIOCSTI`) is allowed for exactly the other values
//! ([`complement`]): libseccomp lets an unconditional rule override the
//! conditional ones of the same call, so "allow `ioctl`" beside "deny
//! `ioctl` `TIOCSTI`" would allow it (libseccomp 2.5.4, checked with
//! `seccomp_export_pfc`). `sendto` with an address is notified and without
//! one allowed, the same way.
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
//! name skips it, so such a call falls to the default and fails with
//! ENOSYS, whatever the rule that named it: a mediated one (`fchmodat2`
//! for libseccomp 2.5.4) then makes libc fall back to an older call that
//! is mediated, and an allowed one is missing as on an older kernel.
//!
//! The Landlock calls are refused from the start here, where `fdsup run`
//! refuses them only once its shim has restricted itself: the runtime
//! loads the container's seccomp profile as its last step before exec
//! (runc 1.1.5 and crun 1.8.1 make no Landlock call after it, nor at all),
//! so a runtime that confined the container with Landlock would have done
//! so before.

use serde_json::{json, Value};

use super::names::X86_64;
use crate::filter::{always_denied, ip_options_denial, last_denied, Denial};
use crate::syscalls::{Kind, MEDIATED, SETATTR_IOCTLS};

/// The `linux.seccomp` object for policy `policy` and the agent at `socket`.
pub fn profile(policy: &str, socket: &str) -> Value {
    let mut syscalls: Vec<Value> = Vec::new();
    // A container's program often holds `CAP_NET_RAW` (Docker's default
    // set has it), and the profile cannot know: IP options are refused.
    let mut denied = always_denied();
    // Not the file-system `ioctl`s: their cost to every container start
    // (`filter::is_file_system_ioctl`).
    denied.retain(|d| !crate::filter::is_file_system_ioctl(d));
    denied.push(ip_options_denial());
    denied.extend(last_denied());
    for errno in [libc::EPERM, libc::ENOSYS] {
        let names: Vec<&str> = denied
            .iter()
            .filter(|d| d.errno == errno && d.when.is_empty())
            .map(|d| d.name)
            .collect();
        if !names.is_empty() {
            syscalls.push(errno_rule(&names, errno, None));
        }
    }
    for d in denied.iter().filter(|d| !d.when.is_empty()) {
        syscalls.push(errno_rule(&[d.name], d.errno, Some(d)));
    }
    let notified: Vec<&str> = MEDIATED
        .iter()
        .filter(|m| !matches!(m.kind, Kind::Sendto | Kind::Creds | Kind::Ioctl))
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
    syscalls.push(json!({
        "names": ["sendto"],
        "action": "SCMP_ACT_ALLOW",
        "args": [{ "index": 4, "value": 0, "op": "SCMP_CMP_EQ" }],
    }));
    // `ioctl` for the requests that change an inode only (the others are
    // allowed below, with the requests denied always).
    for &(request, _) in &SETATTR_IOCTLS {
        syscalls.push(json!({
            "names": ["ioctl"],
            "action": "SCMP_ACT_NOTIFY",
            "args": [{
                "index": 1,
                "value": u32::MAX,
                "valueTwo": request,
                "op": "SCMP_CMP_MASKED_EQ",
            }],
        }));
    }
    // Everything else by name; a call denied for some argument values, for
    // the others.
    // The credential calls are not notified: the agent takes each asking
    // task's credentials on every request anyway (`crate::creds`).
    let ruled = |name: &str| {
        MEDIATED
            .iter()
            .any(|m| m.name == name && !matches!(m.kind, Kind::Creds | Kind::Ioctl))
            || denied.iter().any(|d| d.name == name)
    };
    let allowed: Vec<&str> = X86_64
        .iter()
        .map(|&(_, name)| name)
        .filter(|name| !ruled(name))
        .collect();
    syscalls.push(json!({ "names": allowed, "action": "SCMP_ACT_ALLOW" }));
    let mut conditional: Vec<&str> = denied
        .iter()
        .filter(|d| !d.when.is_empty())
        .map(|d| d.name)
        .collect();
    conditional.sort_unstable();
    conditional.dedup();
    for name in conditional {
        let mut cubes: Vec<Cube> = denied
            .iter()
            .filter(|d| d.name == name)
            .map(|d| {
                let mut c = [(0, 0); ARGS];
                for m in &d.when {
                    if let Some(slot) = c.get_mut(usize::from(m.arg)) {
                        *slot = (m.mask, m.value & m.mask);
                    }
                }
                c
            })
            .collect();
        if name == "ioctl" {
            // Neither the requests notified above.
            cubes.extend(SETATTR_IOCTLS.iter().map(|&(request, _)| {
                let mut c = [(0, 0); ARGS];
                c[1] = (u32::MAX, request);
                c
            }));
        }
        for part in complement(&cubes) {
            let args: Vec<Value> = part
                .iter()
                .enumerate()
                .filter(|(_, &(mask, _))| mask != 0)
                .map(|(index, &(mask, value))| {
                    json!({
                        "index": index,
                        "value": mask,
                        "valueTwo": value,
                        "op": "SCMP_CMP_MASKED_EQ",
                    })
                })
                .collect();
            syscalls.push(json!({
                "names": [name],
                "action": "SCMP_ACT_ALLOW",
                "args": args,
            }));
        }
    }
    json!({
        "defaultAction": "SCMP_ACT_ERRNO",
        "defaultErrnoRet": libc::ENOSYS,
        "architectures": ["SCMP_ARCH_X86_64"],
        "listenerPath": socket,
        "listenerMetadata": format!("policy={policy}"),
        "syscalls": syscalls,
    })
}

/// The number of system-call arguments.
const ARGS: usize = 6;

/// A set of argument values: per argument, `(mask, value)`, which holds
/// when `arg & mask == value` (mask 0: any value). The low 32 bits only,
/// as the kernel reads these arguments (`int` flags, levels and options,
/// an `unsigned int` request): the high bits are in no mask.
pub type Cube = [(u32, u32); ARGS];

/// The argument values that none of `cubes` matches, as disjoint cubes,
/// each a conjunction of `SCMP_CMP_MASKED_EQ`s, one per argument it
/// constrains (libseccomp compares an argument once per rule). Built by
/// splitting on the cubes' bits, argument by argument and highest bit
/// first: a part inside a cube is dropped, a part that meets none is kept
/// whole.
pub fn complement(cubes: &[Cube]) -> Vec<Cube> {
    let mut bits = [0u32; ARGS];
    for c in cubes {
        for (b, &(m, _)) in bits.iter_mut().zip(c) {
            *b |= m;
        }
    }
    let mut out = Vec::new();
    let all: Vec<&Cube> = cubes.iter().collect();
    split(&all, &bits, [(0, 0); ARGS], &mut out);
    out
}

fn split(cubes: &[&Cube], bits: &[u32; ARGS], part: Cube, out: &mut Vec<Cube>) {
    let pairs = |c: &Cube| {
        c.iter()
            .zip(part.iter())
            .map(|(&a, &b)| (a, b))
            .collect::<Vec<_>>()
    };
    let inside = |c: &&Cube| {
        pairs(c)
            .iter()
            .all(|&((m, v), (pm, pv))| m & !pm == 0 && pv & m == v)
    };
    if cubes.iter().any(inside) {
        return;
    }
    let live: Vec<&Cube> = cubes
        .iter()
        .copied()
        .filter(|c| {
            pairs(c)
                .iter()
                .all(|&((m, v), (pm, pv))| (pv ^ v) & pm & m == 0)
        })
        .collect();
    let open = (0..ARGS).find(|&a| bits[a] & !part[a].0 != 0);
    let (Some(arg), false) = (open, live.is_empty()) else {
        out.push(part);
        return;
    };
    let free = bits[arg] & !part[arg].0;
    let bit = 1u32 << (31 - free.leading_zeros());
    for set in [0, bit] {
        let mut next = part;
        next[arg] = (part[arg].0 | bit, part[arg].1 | set);
        split(&live, bits, next, out);
    }
}

fn errno_rule(names: &[&str], errno: i32, cond: Option<&Denial>) -> Value {
    let mut rule = json!({
        "names": names,
        "action": "SCMP_ACT_ERRNO",
        "errnoRet": errno,
    });
    if let Some(d) = cond {
        let args: Vec<Value> = d
            .when
            .iter()
            .map(|m| {
                json!({
                    "index": m.arg,
                    "value": m.mask,
                    "valueTwo": m.value,
                    "op": "SCMP_CMP_MASKED_EQ",
                })
            })
            .collect();
        rule["args"] = json!(args);
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
        assert_eq!(p["defaultAction"], "SCMP_ACT_ERRNO");
        assert_eq!(p["defaultErrnoRet"], libc::ENOSYS);
        assert_eq!(p["architectures"], json!(["SCMP_ARCH_X86_64"]));
    }

    #[test]
    fn notifies_every_mediated_call_and_denies_the_rest_as_fdsup_run_does() {
        let p = profile("x", "/s");
        let notify = names(&p, "SCMP_ACT_NOTIFY");
        let allow = names(&p, "SCMP_ACT_ALLOW");
        for m in MEDIATED {
            if m.kind == Kind::Creds {
                // Checked on every request instead.
                assert!(!notify.contains(m.name), "{} is not notified", m.name);
                assert!(allow.contains(m.name), "{} is allowed", m.name);
            } else {
                assert!(notify.contains(m.name), "{} is notified", m.name);
            }
        }
        assert!(notify.contains("execve") && notify.contains("execveat"));
        let errno = names(&p, "SCMP_ACT_ERRNO");
        for d in always_denied() {
            assert!(errno.contains(d.name), "{} is denied", d.name);
        }
        // ioctl is notified for some requests and denied for others
        // (`conditional_denials_allow_exactly_the_other_values`).
        let both: Vec<&str> = notify.intersection(&errno).map(String::as_str).collect();
        assert_eq!(both, ["ioctl"]);
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
        // The container's own Landlock, which the agent's opens would
        // ignore: refused as on a kernel without it.
        for d in last_denied() {
            assert!(errno.contains(d.name), "{} is denied", d.name);
            assert!(!allow.contains(d.name), "{} is not allowed", d.name);
            assert_eq!(
                errno_of(d.name),
                Some(i64::from(libc::ENOSYS)),
                "{}",
                d.name
            );
        }
        for n in [
            "landlock_create_ruleset",
            "landlock_add_rule",
            "landlock_restrict_self",
            // The kernel's keyrings, which no policy governs.
            "keyctl",
            "add_key",
            "request_key",
        ] {
            assert_eq!(errno_of(n), Some(i64::from(libc::ENOSYS)), "{n}");
            assert!(!allow.contains(n), "{n} is not allowed");
        }
    }

    #[test]
    fn argument_rules_keep_to_the_low_32_bits() {
        let p = profile("x", "/s");
        let rules = p["syscalls"].as_array().unwrap();
        let denial = |r: &&Value| r["action"] == "SCMP_ACT_ERRNO";
        let ioctl: Vec<&Value> = rules
            .iter()
            .filter(|r| r["names"] == json!(["ioctl"]))
            .filter(denial)
            .collect();
        assert_eq!(
            ioctl.len(),
            2,
            "TIOCSTI and TIOCLINUX (not the file-system ones)"
        );
        for r in ioctl {
            assert_eq!(r["args"][0]["op"], "SCMP_CMP_MASKED_EQ");
            assert_eq!(r["args"][0]["value"], u64::from(u32::MAX));
            assert_eq!(r["args"][0]["index"], 1);
        }
        let clone = rules
            .iter()
            .filter(|r| r["names"] == json!(["clone"]))
            .filter(denial)
            .count();
        assert_eq!(clone, 7, "every CLONE_NEW* but CLONE_NEWTIME");
    }

    /// The action a profile's rules give `name` with argument `arg` at
    /// `index` (rules of different actions must not overlap).
    fn action(p: &Value, name: &str, index: u64, arg: u64) -> String {
        action2(p, name, &[(index, arg)])
    }

    /// The action the profile's rules give `name` called with `args`
    /// (index, value; the other arguments 0), as libseccomp would
    /// (at most one action may match).
    fn action2(p: &Value, name: &str, args: &[(u64, u64)]) -> String {
        let arg_of = |i: u64| args.iter().find(|a| a.0 == i).map_or(0, |a| a.1);
        let mut hits = Vec::new();
        for r in p["syscalls"].as_array().unwrap() {
            if !r["names"].as_array().unwrap().iter().any(|n| n == name) {
                continue;
            }
            let ok = match r["args"].as_array() {
                None => true,
                Some(conds) => conds.iter().all(|a| {
                    let arg = arg_of(a["index"].as_u64().unwrap());
                    let v = a["value"].as_u64().unwrap();
                    match a["op"].as_str().unwrap() {
                        "SCMP_CMP_MASKED_EQ" => arg & v == a["valueTwo"].as_u64().unwrap(),
                        "SCMP_CMP_EQ" => arg == v,
                        "SCMP_CMP_NE" => arg != v,
                        op => panic!("{op}"),
                    }
                }),
            };
            if ok {
                hits.push(r["action"].as_str().unwrap().to_owned());
            }
        }
        hits.dedup();
        assert!(
            hits.len() <= 1,
            "{name} {args:?}: rules of two actions: {hits:?}"
        );
        hits.pop().unwrap_or_else(|| "default".to_owned())
    }

    #[test]
    fn every_known_call_has_one_rule_and_the_rest_fail_closed() {
        let p = profile("x", "/s");
        let allow = names(&p, "SCMP_ACT_ALLOW");
        let notify = names(&p, "SCMP_ACT_NOTIFY");
        let errno = names(&p, "SCMP_ACT_ERRNO");
        for &(_, name) in X86_64 {
            assert!(
                allow.contains(name) || notify.contains(name) || errno.contains(name),
                "{name} has a rule"
            );
        }
        for n in [
            "read",
            "write",
            "mmap",
            "futex",
            "exit_group",
            "rt_sigreturn",
        ] {
            assert!(allow.contains(n), "{n}");
        }
        // Unconditional allows never name a call that has other rules
        // (libseccomp would let them override those).
        for r in p["syscalls"].as_array().unwrap() {
            if r["action"] == "SCMP_ACT_ALLOW" && r["args"].is_null() {
                for n in r["names"].as_array().unwrap() {
                    let n = n.as_str().unwrap();
                    assert!(!notify.contains(n) && !errno.contains(n), "{n}");
                }
            }
        }
        // Numbers in order, names once.
        assert!(X86_64.windows(2).all(|w| w[0].0 < w[1].0));
        let mut seen = BTreeSet::new();
        assert!(X86_64.iter().all(|&(_, n)| seen.insert(n)));
        for m in MEDIATED {
            assert!(X86_64.contains(&(m.nr, m.name)), "{}", m.name);
        }
        for d in always_denied().into_iter().chain(last_denied()) {
            assert!(X86_64.contains(&(d.nr, d.name)), "{}", d.name);
        }
    }

    #[test]
    fn conditional_denials_allow_exactly_the_other_values() {
        let p = profile("x", "/s");
        let newns = u64::try_from(libc::CLONE_NEWNS).unwrap();
        let newnet = u64::try_from(libc::CLONE_NEWNET).unwrap();
        let newtime = u64::try_from(libc::CLONE_NEWTIME).unwrap();
        let thread = u64::try_from(libc::CLONE_VM | libc::CLONE_THREAD).unwrap();
        assert_eq!(action(&p, "clone", 0, thread), "SCMP_ACT_ALLOW");
        assert_eq!(action(&p, "clone", 0, 17), "SCMP_ACT_ALLOW");
        assert_eq!(action(&p, "clone", 0, newtime | 17), "SCMP_ACT_ALLOW");
        assert_eq!(action(&p, "clone", 0, thread | newns), "SCMP_ACT_ERRNO");
        assert_eq!(action(&p, "unshare", 0, 0), "SCMP_ACT_ALLOW");
        assert_eq!(action(&p, "unshare", 0, newtime), "SCMP_ACT_ERRNO");
        assert_eq!(action(&p, "unshare", 0, newns | newnet), "SCMP_ACT_ERRNO");
        let sti = libc::TIOCSTI;
        let linux = libc::TIOCLINUX;
        assert_eq!(action(&p, "ioctl", 1, sti), "SCMP_ACT_ERRNO");
        assert_eq!(action(&p, "ioctl", 1, linux), "SCMP_ACT_ERRNO");
        // High bits the kernel drops do not make it another request.
        assert_eq!(action(&p, "ioctl", 1, sti | 1 << 40), "SCMP_ACT_ERRNO");
        for req in [
            0,
            1,
            sti - 1,
            sti + 1,
            linux - 1,
            linux + 1,
            0x5401,
            0x8004_5401,
            u64::from(u32::MAX),
        ] {
            assert_eq!(action(&p, "ioctl", 1, req), "SCMP_ACT_ALLOW", "{req:#x}");
        }
        for &(request, _) in &SETATTR_IOCTLS {
            let r = u64::from(request);
            assert_eq!(action(&p, "ioctl", 1, r), "SCMP_ACT_NOTIFY", "{r:#x}");
            assert_eq!(action(&p, "ioctl", 1, r | 1 << 40), "SCMP_ACT_NOTIFY");
            for other in [r - 1, r + 1] {
                assert_eq!(
                    action(&p, "ioctl", 1, other),
                    "SCMP_ACT_ALLOW",
                    "{other:#x}"
                );
            }
        }
        assert_eq!(action(&p, "sendto", 4, 0), "SCMP_ACT_ALLOW");
        assert_eq!(action(&p, "sendto", 4, 0x7fff_0000), "SCMP_ACT_NOTIFY");
    }

    /// A cube on argument 0.
    fn on0(m: u32, v: u32) -> Cube {
        let mut c = [(0, 0); ARGS];
        c[0] = (m, v);
        c
    }

    fn holds(c: &Cube, x: &[u32; ARGS]) -> bool {
        c.iter().zip(x).all(|(&(m, v), &a)| a & m == v)
    }

    #[test]
    fn complement_is_exact() {
        // Every 10-bit value, against sets of cubes on those bits.
        let sets: [&[(u32, u32)]; 5] = [
            &[(0xff, 0x12), (0xff, 0x1c)],
            &[(0x01, 0x01), (0x10, 0x10), (0x80, 0x80)],
            &[(0x0f, 0x05)],
            &[(0x03, 0x01), (0x0c, 0x08), (0xff, 0x00)],
            &[],
        ];
        for set in sets {
            let cubes: Vec<Cube> = set.iter().map(|&(m, v)| on0(m, v)).collect();
            let parts = complement(&cubes);
            for x in 0u32..=0x3ff {
                let x = [x, 0, 0, 0, 0, 0];
                let denied = cubes.iter().any(|c| holds(c, &x));
                let kept = parts.iter().filter(|c| holds(c, &x)).count();
                assert_eq!(kept, usize::from(!denied), "{set:?} {x:?}: {parts:?}");
            }
        }
        assert_eq!(complement(&[on0(1, 1), on0(2, 2)]), vec![on0(3, 0)]);
    }

    #[test]
    fn complement_of_conjunctions_on_two_arguments_is_exact() {
        // setsockopt's shape: (level, option) pairs, 6 bits each here.
        let pair = |a: u32, b: u32| {
            let mut c = [(0, 0); ARGS];
            c[1] = (0x3f, a);
            c[2] = (0x3f, b);
            c
        };
        let cubes = [pair(0, 4), pair(41, 57), pair(41, 6)];
        let parts = complement(&cubes);
        for a in 0u32..64 {
            for b in 0u32..64 {
                let x = [0, a, b, 0, 0, 0];
                let denied = cubes.iter().any(|c| holds(c, &x));
                let kept = parts.iter().filter(|c| holds(c, &x)).count();
                assert_eq!(kept, usize::from(!denied), "({a}, {b}): {parts:?}");
            }
        }
    }

    #[test]
    fn source_route_options_are_refused_and_other_options_allowed() {
        let p = profile("x", "/s");
        let v4 = |opt: u64| [(1, 0), (2, opt)];
        let v6 = |opt: u64| [(1, 41), (2, opt)];
        assert_eq!(action2(&p, "setsockopt", &v4(4)), "SCMP_ACT_ERRNO");
        assert_eq!(action2(&p, "setsockopt", &v6(57)), "SCMP_ACT_ERRNO");
        assert_eq!(action2(&p, "setsockopt", &v6(6)), "SCMP_ACT_ERRNO");
        assert_eq!(action2(&p, "setsockopt", &v6(32)), "SCMP_ACT_ERRNO");
        // High bits are not read by the kernel: still refused.
        assert_eq!(
            action2(&p, "setsockopt", &[(1, 1 << 32), (2, 4)]),
            "SCMP_ACT_ERRNO"
        );
        for (level, opt) in [(0, 1), (0, 5), (41, 4), (41, 67), (1, 4), (6, 57), (6, 4)] {
            assert_eq!(
                action2(&p, "setsockopt", &[(1, level), (2, opt)]),
                "SCMP_ACT_ALLOW",
                "{level} {opt}"
            );
        }
    }
}

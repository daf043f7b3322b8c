//! The three seccomp BPF programs the shim installs.
//!
//! The kernel allows one listener per filter, so there are two programs
//! (DESIGN.md "Start-up"), and a third that must come after the shim's own
//! last steps:
//!
//! - the **deny** program: the always-enforced list of SPEC.md ("What is
//!   always enforced") -> `ERRNO`, everything else allowed. It does not depend
//!   on the policy except for [`FilterOptions::deny_network`];
//! - the **notify** program: every syscall of [`crate::syscalls::MEDIATED`]
//!   -> `SECCOMP_RET_USER_NOTIF`, everything else allowed; the exec family
//!   and `memfd_create` only where [`FilterOptions`] asks for them;
//! - the **last** program: the calls the shim itself makes after the two
//!   others are in place but the program may not, [`last_denied`] -> `ERRNO`
//!   (the Landlock calls: the shim restricts itself with fdsup's exec
//!   ruleset, then installs this program, then execs; see `fdsup_shim`).
//!
//! The kernel runs all and applies the strictest result, so a denied syscall
//! never reaches the supervisor.
//!
//! **Shape.** Each program is a list of [`Piece`]s (an action, and the
//! syscalls it applies to, each always or under any of its rules, a rule
//! being conditions on the arguments that must all hold), compiled here
//! ([`compile`]) into: a guard that kills x32 calls (`nr >= 0x40000000`,
//! which the arch check below cannot see; it also kills `syscall(-1)`, which
//! does nothing but fail with ENOSYS), an arch check that kills every ABI
//! but x86_64 (i386 included), then a **binary search over the syscall
//! numbers**: a handful of comparisons reach a leaf that returns the action
//! of a syscall without conditions at once, or jumps to the block of one
//! with conditions (its pieces' rules in order, then the default).
//!
//! Why a search and not a chain of comparisons (seccompiler's shape, used
//! before): when a filter is installed, the kernel runs it once for every
//! syscall number of both ABIs to learn which are always allowed
//! (`seccomp_cache_prepare`), with interrupts off. Through chains of some
//! 60 comparisons that took about 120 steps per number, and the two
//! programs 370 µs to install on the start-up's critical path (the shim
//! waits on it); through the search about 15 steps, 90 µs. Every syscall
//! the cache cannot answer (those with conditions, and the trapped ones)
//! also runs the shorter path.
//!
//! The numbers are x86_64's, the only architecture fdsup supports.

use std::collections::{BTreeMap, BTreeSet};

#[cfg(not(target_arch = "x86_64"))]
compile_error!("fdsup's filters are written for x86_64 (syscall numbers, audit arch, x32 guard)");

use crate::syscalls::{Kind, Mediated, MEDIATED};

/// Policy-dependent switches of the programs.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilterOptions {
    /// `socket()`/`socketpair()` of every family but `AF_UNIX` fail with
    /// EACCES. `AF_NETLINK` with protocol `NETLINK_ROUTE` (0) stays allowed:
    /// glibc makes harmless routing queries with it (`getaddrinfo`,
    /// `if_nameindex`).
    pub deny_network: bool,
    /// Trap `execve` and `execveat` (a Landlock ruleset limits exec: see
    /// [`crate::landlock`]); without one every exec the file system allows
    /// is allowed, and costs no round trip.
    pub mediate_exec: bool,
    /// Trap `memfd_create` (brokered where the exec default is `deny`).
    pub broker_memfd: bool,
    /// Trap the calls that change credentials ([`crate::creds`]): fdsup
    /// holds capabilities a program could drop.
    pub watch_creds: bool,
    /// The network section has rules or isolates: `connect`, `bind`,
    /// `sendmsg`, `sendmmsg` and `sendto` with an address are trapped and
    /// decided per request (`handlers::net`). Without it they are not in the
    /// notify program at all, so `@default` and `@allow-all` pay nothing.
    pub mediate_network: bool,
    /// With [`Self::mediate_network`] and a `deny` default: `socket()` of a
    /// family the supervisor cannot decide (packet, raw IP, SCTP, anything but
    /// `AF_UNIX`, `AF_INET`, `AF_INET6` and routing netlink) fails with
    /// EACCES.
    pub deny_other_families: bool,
    /// `"metadata": "visible"`: the looks ([`crate::syscalls::is_look`]:
    /// the stat family, access, readlink, statfs, chdir, listings) are not
    /// trapped and run in the kernel. Opens of every form, changes, exec
    /// and the network are trapped as without it.
    pub native_looks: bool,
    /// The program may hold `CAP_NET_RAW`: `setsockopt(IP_OPTIONS)` fails
    /// with EPERM ([`ip_options_denial`]).
    pub deny_ip_options: bool,
    /// With an `allow` default, some IP addresses are denied or redirected:
    /// the sockets and options whose packets carry addresses of the
    /// program's own, which no decision of a destination holds (packet
    /// sockets, raw IP sockets but ICMP's, `IP_HDRINCL`, `IPV6_HDRINCL`),
    /// fail with EPERM ([`raw_packet_rules`]).
    pub deny_raw_packets: bool,
}

/// [`FilterOptions::native_looks`] of a policy: its `filesystem.metadata`
/// (after any `--metadata` override) is `visible`.
pub fn native_looks(policy: &crate::policy::Policy) -> bool {
    policy.fs.metadata == crate::policy::Metadata::Visible
}

/// Whether the notify program traps `m` under `opts`: every table entry
/// does, but those that only an option asks for and the looks that
/// [`FilterOptions::native_looks`] leaves to the kernel.
pub fn traps(m: &Mediated, opts: &FilterOptions) -> bool {
    match m.kind {
        Kind::Execve | Kind::Execveat => opts.mediate_exec,
        Kind::MemfdCreate => opts.broker_memfd,
        Kind::Creds => opts.watch_creds,
        k if crate::syscalls::is_network(k) => opts.mediate_network,
        k if crate::syscalls::is_look(k) => !opts.native_looks,
        _ => true,
    }
}

/// The three compiled programs, ready for [`to_bytes`].
#[derive(Debug, Clone)]
pub struct Filters {
    /// The always-enforced deny list: `ERRNO` or allow.
    pub deny: Vec<libc::sock_filter>,
    /// The mediated syscalls: `USER_NOTIF` or allow.
    pub notify: Vec<libc::sock_filter>,
    /// [`last_denied`]: `ERRNO` or allow; installed by the shim just before
    /// exec.
    pub last: Vec<libc::sock_filter>,
}

/// Why a program could not be built. These are bugs in fdsup, not user errors.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// A syscall number outside what a filter can see.
    #[error("the {filter} filter: syscall number {nr} is out of range")]
    BadNumber { filter: &'static str, nr: i64 },
    /// The conditions of one syscall need a jump longer than classic BPF's.
    #[error("the {filter} filter: the conditions of syscall {nr} are too long")]
    TooFar { filter: &'static str, nr: u32 },
    /// The program is longer than the kernel accepts.
    #[error("the {filter} filter has {len} instructions, more than the kernel's {max}")]
    TooLong {
        filter: &'static str,
        len: usize,
        max: usize,
    },
}

/// Builds the three programs.
pub fn build(opts: &FilterOptions) -> Result<Filters, FilterError> {
    Ok(Filters {
        deny: build_deny(opts)?,
        notify: build_notify(opts)?,
        last: build_last()?,
    })
}

/// The wire form sent to the shim (8 bytes per instruction, native layout).
pub fn to_bytes(prog: &[libc::sock_filter]) -> Vec<u8> {
    fdsup_shim::protocol::encode_program(prog)
}

/// `BPF_MAXINSNS`.
const MAX_INSNS: usize = fdsup_shim::protocol::MAX_INSNS;

// Classic BPF opcodes (include/uapi/linux/bpf_common.h).
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_ALU_AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_RET_K: u16 = 0x06;

/// `__X32_SYSCALL_BIT` (arch/x86/include/uapi/asm/unistd.h).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;
/// `AUDIT_ARCH_X86_64` (include/uapi/linux/audit.h).
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// Offsets in `struct seccomp_data`.
const DATA_NR: u32 = 0;
const DATA_ARCH: u32 = 4;
const DATA_ARGS: u32 = 16;

/// At most this many syscalls in a leaf of the search, compared one by one.
const LEAF: usize = 4;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn jump(code: u16, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

/// Which bits of an argument a condition compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Width {
    /// The low 32 bits (the kernel reads an `int` or `unsigned int`).
    Low32,
    /// All 64 bits.
    Full64,
}

/// The comparison of a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    /// `arg & mask == value & mask`.
    MaskedEq(u64),
}

/// A condition on one argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cond {
    arg: u8,
    width: Width,
    op: Op,
    value: u64,
}

/// Holds when all its conditions hold.
type Rule = Vec<Cond>;

/// One action and where it applies: syscall number -> the rules under any
/// of which it applies (none: always).
#[derive(Debug, Clone)]
struct Piece {
    action: u32,
    rules: BTreeMap<i64, Vec<Rule>>,
}

/// `arg`'s low 32 bits compared with `value`.
fn cond(arg: u8, op: Op, value: u64) -> Cond {
    Cond {
        arg,
        width: Width::Low32,
        op,
        value,
    }
}

/// Appends the test of `c`: falls through when it holds, else jumps to
/// `fail` (an index into `out`, after the rule, which the caller places).
/// Jumps are recorded relative to the end of the rule by [`rule_code`].
fn cond_code(c: &Cond, out: &mut Vec<(libc::sock_filter, Fail)>) {
    let lo_off = DATA_ARGS + 8 * u32::from(c.arg);
    let hi_off = lo_off + 4;
    let split = |v: u64| ((v >> 32) as u32, (v & 0xffff_ffff) as u32);
    let (vhi, vlo) = split(c.value);
    let none = Fail::No;
    match (c.width, c.op) {
        (Width::Low32, Op::Eq) => {
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vlo, 0, 0), Fail::OnFalse));
        }
        (Width::Low32, Op::Ne) => {
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vlo, 0, 0), Fail::OnTrue));
        }
        (Width::Low32, Op::MaskedEq(m)) => {
            let (_, mlo) = split(m);
            let (_, want) = split(c.value & m);
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((stmt(BPF_ALU_AND_K, mlo), none));
            out.push((jump(BPF_JMP_JEQ_K, want, 0, 0), Fail::OnFalse));
        }
        (Width::Full64, Op::Eq) => {
            out.push((stmt(BPF_LD_W_ABS, hi_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vhi, 0, 0), Fail::OnFalse));
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vlo, 0, 0), Fail::OnFalse));
        }
        (Width::Full64, Op::Ne) => {
            // Holds if either half differs: a different high half skips
            // the test of the low one.
            out.push((stmt(BPF_LD_W_ABS, hi_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vhi, 0, 2), none));
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((jump(BPF_JMP_JEQ_K, vlo, 0, 0), Fail::OnTrue));
        }
        (Width::Full64, Op::MaskedEq(m)) => {
            let (mhi, mlo) = split(m);
            let (whi, wlo) = split(c.value & m);
            out.push((stmt(BPF_LD_W_ABS, hi_off), none));
            out.push((stmt(BPF_ALU_AND_K, mhi), none));
            out.push((jump(BPF_JMP_JEQ_K, whi, 0, 0), Fail::OnFalse));
            out.push((stmt(BPF_LD_W_ABS, lo_off), none));
            out.push((stmt(BPF_ALU_AND_K, mlo), none));
            out.push((jump(BPF_JMP_JEQ_K, wlo, 0, 0), Fail::OnFalse));
        }
    }
}

/// Which branch of a conditional jump leaves the rule (its conditions do
/// not all hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    No,
    OnTrue,
    OnFalse,
}

/// One rule: its conditions, then `RET action`; a failed condition jumps
/// past the `RET`, to whatever follows the rule.
fn rule_code(
    rule: &Rule,
    action: u32,
    nr: u32,
    filter: &'static str,
) -> Result<Vec<libc::sock_filter>, FilterError> {
    let mut code = Vec::with_capacity(rule.len() * 6 + 1);
    for c in rule {
        cond_code(c, &mut code);
    }
    code.push((stmt(BPF_RET_K, action), Fail::No));
    let len = code.len();
    code.into_iter()
        .enumerate()
        .map(|(i, (mut insn, fail))| {
            if fail != Fail::No {
                // From instruction i to `len` (just past the RET).
                let off =
                    u8::try_from(len - i - 1).map_err(|_| FilterError::TooFar { filter, nr })?;
                if fail == Fail::OnTrue {
                    insn.jt = off;
                } else {
                    insn.jf = off;
                }
            }
            Ok(insn)
        })
        .collect()
}

/// What one syscall does: the first piece that names it without rules
/// decides at once (`Always`); else its block.
enum Leaf {
    Always(u32),
    Block(usize),
}

/// An instruction of the search, or a jump to the block `b` to be placed.
enum Item {
    Insn(libc::sock_filter),
    ToBlock(usize),
}

/// The binary search over `nrs` (sorted), each resolved by `leaf`.
fn search(nrs: &[(u32, Leaf)], default: u32) -> Vec<Item> {
    if nrs.len() <= LEAF {
        let mut out = Vec::with_capacity(2 * nrs.len() + 1);
        for (nr, leaf) in nrs {
            out.push(Item::Insn(jump(BPF_JMP_JEQ_K, *nr, 0, 1)));
            out.push(match leaf {
                Leaf::Always(action) => Item::Insn(stmt(BPF_RET_K, *action)),
                Leaf::Block(b) => Item::ToBlock(*b),
            });
        }
        out.push(Item::Insn(stmt(BPF_RET_K, default)));
        return out;
    }
    let mid = nrs.len() / 2;
    let pivot = nrs[mid].0;
    let left = search(&nrs[..mid], default);
    let right = search(&nrs[mid..], default);
    let mut out = Vec::with_capacity(left.len() + right.len() + 2);
    match u8::try_from(left.len()) {
        // nr >= pivot: over the left half.
        Ok(skip) => out.push(Item::Insn(jump(BPF_JMP_JGE_K, pivot, skip, 0))),
        Err(_) => {
            out.push(Item::Insn(jump(BPF_JMP_JGE_K, pivot, 0, 1)));
            out.push(Item::Insn(stmt(
                BPF_JMP_JA,
                u32::try_from(left.len()).unwrap_or(u32::MAX),
            )));
        }
    }
    out.extend(left);
    out.extend(right);
    out
}

/// Compiles `pieces` (checked in order) with `default` where none applies.
fn compile(
    pieces: &[Piece],
    default: u32,
    filter: &'static str,
) -> Result<Vec<libc::sock_filter>, FilterError> {
    let mut nrs = BTreeSet::new();
    for p in pieces {
        for &nr in p.rules.keys() {
            let n = u32::try_from(nr)
                .ok()
                .filter(|n| *n < X32_SYSCALL_BIT)
                .ok_or(FilterError::BadNumber { filter, nr })?;
            nrs.insert((n, nr));
        }
    }
    let mut blocks: Vec<Vec<libc::sock_filter>> = Vec::new();
    let mut leaves = Vec::with_capacity(nrs.len());
    for &(n, nr) in &nrs {
        let mut named = pieces
            .iter()
            .filter_map(|p| p.rules.get(&nr).map(|r| (p.action, r)));
        let leaf = match named.clone().next() {
            Some((action, rules)) if rules.is_empty() => Leaf::Always(action),
            _ => {
                let mut block = Vec::new();
                let mut decided = false;
                for (action, rules) in named.by_ref() {
                    if rules.is_empty() {
                        block.push(stmt(BPF_RET_K, action));
                        decided = true;
                        break;
                    }
                    for rule in rules {
                        block.extend(rule_code(rule, action, n, filter)?);
                    }
                }
                if !decided {
                    block.push(stmt(BPF_RET_K, default));
                }
                blocks.push(block);
                Leaf::Block(blocks.len() - 1)
            }
        };
        leaves.push((n, leaf));
    }
    let mut prog = vec![
        stmt(BPF_LD_W_ABS, DATA_NR),
        jump(BPF_JMP_JGE_K, X32_SYSCALL_BIT, 0, 1),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, DATA_ARCH),
        jump(BPF_JMP_JEQ_K, AUDIT_ARCH_X86_64, 1, 0),
        stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS),
        stmt(BPF_LD_W_ABS, DATA_NR),
    ];
    let items = search(&leaves, default);
    let blocks_at = prog.len() + items.len();
    let mut starts = Vec::with_capacity(blocks.len());
    let mut at = blocks_at;
    for b in &blocks {
        starts.push(at);
        at += b.len();
    }
    if at > MAX_INSNS {
        return Err(FilterError::TooLong {
            filter,
            len: at,
            max: MAX_INSNS,
        });
    }
    for item in items {
        let insn = match item {
            Item::Insn(i) => i,
            Item::ToBlock(b) => {
                let here = prog.len();
                let to = starts.get(b).copied().unwrap_or(here + 1);
                // `JA k` continues at here + 1 + k.
                stmt(BPF_JMP_JA, u32::try_from(to - here - 1).unwrap_or(0))
            }
        };
        prog.push(insn);
    }
    for b in blocks {
        prog.extend(b);
    }
    Ok(prog)
}

/// The arguments under which the notify program traps `m` (none: always).
fn notify_rules(m: &Mediated) -> Vec<Rule> {
    if m.kind == Kind::Sendto {
        // `send()` is `sendto` with no address: nothing to decide, and by
        // far the most frequent socket write.
        vec![vec![Cond {
            arg: 4,
            width: Width::Full64,
            op: Op::Ne,
            value: 0,
        }]]
    } else if m.kind == Kind::Ioctl {
        // Only the requests that change the inode (an ioctl is mostly a
        // terminal's or a socket's, and frequent).
        crate::syscalls::SETATTR_IOCTLS
            .iter()
            .map(|&(request, _)| {
                vec![Cond {
                    arg: 1,
                    width: Width::Low32,
                    op: Op::Eq,
                    value: u64::from(request),
                }]
            })
            .collect()
    } else if m.nr == libc::SYS_prctl {
        // Only the options that lower what the next exec grants: a bounding
        // set without a capability, or `SECBIT_NOROOT`.
        PRCTL_CREDS
            .iter()
            .map(|&option| {
                vec![Cond {
                    arg: 0,
                    width: Width::Low32,
                    op: Op::Eq,
                    value: u64::from(option),
                }]
            })
            .collect()
    } else {
        Vec::new()
    }
}

/// The `prctl` options trapped as credential calls
/// ([`crate::syscalls::Kind::Creds`]).
pub const PRCTL_CREDS: [u32; 2] = [
    libc::PR_CAPBSET_DROP.unsigned_abs(),
    libc::PR_SET_SECUREBITS.unsigned_abs(),
];

fn build_notify(opts: &FilterOptions) -> Result<Vec<libc::sock_filter>, FilterError> {
    let mut rules = BTreeMap::new();
    for m in MEDIATED {
        if !traps(m, opts) {
            continue;
        }
        rules.insert(m.nr, notify_rules(m));
    }
    let piece = Piece {
        action: libc::SECCOMP_RET_USER_NOTIF,
        rules,
    };
    compile(&[piece], libc::SECCOMP_RET_ALLOW, "notify")
}
/// Syscalls that always fail with EPERM, whatever their arguments.
const DENY_EPERM: &[(i64, &str)] = &[
    // io_uring opens, connects and reads behind the notify filter's back.
    (libc::SYS_io_uring_setup, "io_uring_setup"),
    (libc::SYS_io_uring_enter, "io_uring_enter"),
    (libc::SYS_io_uring_register, "io_uring_register"),
    // Other processes' memory and descriptors, the supervisor's included.
    (libc::SYS_ptrace, "ptrace"),
    (libc::SYS_process_vm_readv, "process_vm_readv"),
    (libc::SYS_process_vm_writev, "process_vm_writev"),
    (libc::SYS_pidfd_getfd, "pidfd_getfd"),
    // Opening by handle skips path resolution, hence the policy.
    (libc::SYS_open_by_handle_at, "open_by_handle_at"),
    (libc::SYS_name_to_handle_at, "name_to_handle_at"),
    // The kernel itself.
    (libc::SYS_kexec_load, "kexec_load"),
    (libc::SYS_kexec_file_load, "kexec_file_load"),
    (libc::SYS_init_module, "init_module"),
    (libc::SYS_finit_module, "finit_module"),
    (libc::SYS_delete_module, "delete_module"),
    (libc::SYS_bpf, "bpf"),
    // Stalls the kernel at will inside a copy from user memory.
    (libc::SYS_userfaultfd, "userfaultfd"),
    // Changing what paths mean under the supervisor's resolution.
    (libc::SYS_mount, "mount"),
    (libc::SYS_umount2, "umount2"),
    (libc::SYS_pivot_root, "pivot_root"),
    (libc::SYS_chroot, "chroot"),
    (libc::SYS_fsopen, "fsopen"),
    (libc::SYS_fsconfig, "fsconfig"),
    (libc::SYS_fsmount, "fsmount"),
    (libc::SYS_fspick, "fspick"),
    (libc::SYS_open_tree, "open_tree"),
    (libc::SYS_move_mount, "move_mount"),
    (libc::SYS_mount_setattr, "mount_setattr"),
    // Entering other namespaces (new ones: clone/unshare rules below).
    (libc::SYS_setns, "setns"),
    (SYS_OPEN_TREE_ATTR, "open_tree_attr"),
    // Path-taking calls with no place in a sandbox: watching a whole mount
    // or file system, accounting, swap and quota files (the last three need
    // privileges a sandboxed program has no business using anyway).
    (libc::SYS_fanotify_mark, "fanotify_mark"),
    (libc::SYS_acct, "acct"),
    (libc::SYS_swapon, "swapon"),
    (libc::SYS_swapoff, "swapoff"),
    (libc::SYS_quotactl, "quotactl"),
    (libc::SYS_quotactl_fd, "quotactl_fd"),
];

/// `open_tree_attr` (Linux 6.15), not in the libc crate yet.
const SYS_OPEN_TREE_ATTR: i64 = 467;

/// Syscalls that fail with ENOSYS, as on a kernel without them.
/// Path-taking calls fdsup does not mediate: the `*xattrat` calls (Linux
/// 6.13) and `file_getattr`/`file_setattr` (6.17), which libc does not use
/// yet and which programs answer by falling back to the calls that are
/// mediated; `uselib` (a.out libraries, usually not built in). And the
/// kernel's keyrings (`keyctl`, `add_key`, `request_key`), which no policy
/// governs: through them a program read the keys of the user's session
/// and user keyrings (Kerberos `KEYRING:` caches, ecryptfs and other
/// secrets) and left its own there, for the user's later programs. Docker's
/// default seccomp profile refuses them too; a program falls back as on a
/// kernel built without keys (Kerberos to a file cache, say).
const DENY_ENOSYS: &[(i64, &str)] = &[
    (libc::SYS_uselib, "uselib"),
    (libc::SYS_keyctl, "keyctl"),
    (libc::SYS_add_key, "add_key"),
    (libc::SYS_request_key, "request_key"),
    (463, "setxattrat"),
    (464, "getxattrat"),
    (465, "listxattrat"),
    (466, "removexattrat"),
    (468, "file_getattr"),
    (469, "file_setattr"),
];

/// The program's own Landlock, which fails with ENOSYS as on a kernel
/// without Landlock. fdsup performs the program's opens (and its other
/// mediated calls) in its own threads, which do not carry the program's
/// Landlock domain, and cannot evaluate one: a domain the kernel accepted
/// would restrict the program's unmediated calls and exec but be ignored
/// for every brokered open, so a program (or a build tool confining its
/// children) would believe itself confined where it is not. With ENOSYS it
/// knows it is not (libraries take it for "not supported"). In the last
/// program, not the deny program: the shim makes `landlock_restrict_self`
/// itself, after the deny and notify filters are in place.
const DENY_LANDLOCK: &[(i64, &str)] = &[
    (libc::SYS_landlock_create_ruleset, "landlock_create_ruleset"),
    (libc::SYS_landlock_add_rule, "landlock_add_rule"),
    (libc::SYS_landlock_restrict_self, "landlock_restrict_self"),
];

/// Every `CLONE_NEW*` flag (include/uapi/linux/sched.h).
const CLONE_NEW_FLAGS: [libc::c_int; 8] = [
    libc::CLONE_NEWNS,
    libc::CLONE_NEWCGROUP,
    libc::CLONE_NEWUTS,
    libc::CLONE_NEWIPC,
    libc::CLONE_NEWUSER,
    libc::CLONE_NEWPID,
    libc::CLONE_NEWNET,
    libc::CLONE_NEWTIME,
];

fn int(v: libc::c_int) -> u64 {
    // Flags, families and protocols are non-negative; a negative one would be
    // a bug in libc and is mapped to a value that matches nothing useful.
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// `ioctl` requests refused with EPERM: typing into the terminal (SPEC.md).
const DENY_IOCTLS: [libc::c_ulong; 2] = [libc::TIOCSTI, libc::TIOCLINUX];

/// `ioctl` requests refused with EPERM too (under `fdsup run`): those that
/// change a whole file system or make a lasting change to a file through
/// any descriptor of it, a read-only one included (the kernel asks for a
/// capability or ownership, not for a writable descriptor or mount, and
/// fdsup mounts nothing read-only). A root program reading one file of the
/// root file system could otherwise freeze it or shut it down; an owner
/// could make a `ro` file's contents final (fs-verity) or give an empty
/// `ro` directory an encryption policy. The inode's attributes (`chattr`'s
/// requests, ext4's generation) are decided by the policy instead
/// ([`crate::syscalls::SETATTR_IOCTLS`]).
const FILE_SYSTEM_IOCTLS: [libc::c_ulong; 6] = [
    // FIFREEZE, _IOWR('X', 119, int)
    0xc004_5877,
    // FITHAW, _IOWR('X', 120, int)
    0xc004_5878,
    // FS_IOC_SHUTDOWN (ext4's, xfs's GOINGDOWN), _IOR('X', 125, __u32)
    0x8004_587d,
    // FS_IOC_SETFSLABEL, _IOW(0x94, 50, char[256])
    0x4100_9432,
    // FS_IOC_ENABLE_VERITY, _IOW('f', 133, struct fsverity_enable_arg)
    0x4080_6685,
    // FS_IOC_SET_ENCRYPTION_POLICY, _IOR('f', 19, struct fscrypt_policy_v1)
    0x800c_6613,
];

/// Whether `d` is the denial of one of the [`FILE_SYSTEM_IOCTLS`], which
/// the agent's profile leaves out:
/// each value a profile keeps from `ioctl`'s allowed ones costs it some
/// twenty disjoint masked comparisons, which the runtime compiles at every
/// container start (with them, runc's start under the agent measured
/// 19-23 ms over a start without, against the 20 ms it must keep to; 11-18
/// without), and in a container four of the six need `CAP_SYS_ADMIN`,
/// which Docker's default set does not hold, while the other two act on
/// the container's own files.
pub fn is_file_system_ioctl(d: &Denial) -> bool {
    d.nr == libc::SYS_ioctl
        && FILE_SYSTEM_IOCTLS
            .iter()
            .any(|&r| d.when.first().is_some_and(|w| u64::from(w.value) == r))
}

/// One always-enforced denial (SPEC.md, "What is always enforced"): the
/// deny program is compiled from these, and `fdsup agent profile` writes
/// them as the profile's `SCMP_ACT_ERRNO` rules, so the two cannot differ.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denial {
    /// The x86_64 system-call number.
    pub nr: i64,
    /// Its name (as libseccomp and the OCI profile spell it).
    pub name: &'static str,
    /// The errno it fails with.
    pub errno: i32,
    /// Only when all of these match, each on its own argument (none:
    /// always).
    pub when: Vec<ArgMatch>,
}

/// `(arg & mask) == value`, on the low 32 bits of argument `arg` (the
/// kernel reads these arguments as `int`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArgMatch {
    /// The argument's index.
    pub arg: u8,
    /// The bits compared.
    pub mask: u32,
    /// What they must be.
    pub value: u32,
}

impl ArgMatch {
    /// The whole low 32 bits equal `value`.
    fn eq(arg: u8, value: libc::c_int) -> ArgMatch {
        ArgMatch {
            arg,
            mask: u32::MAX,
            value: u32::from_ne_bytes(value.to_ne_bytes()),
        }
    }
}

/// `setsockopt` options that route a socket's packets through hops of the
/// program's choosing: the first hop is where the kernel sends them, not
/// the address fdsup decided (`fl6_update_dst`, `udp_sendmsg`'s
/// `ipc.opt->opt.faddr`). `IPV6_RTHDR` takes a type 2 or segment-routing
/// (type 4) header without privileges; `IPV6_2292PKTOPTIONS` sets the same
/// header among its sticky options. Refused with EPERM in every run; the
/// control-message forms are refused by the send handlers
/// (`handlers::net::send`). `IP_OPTIONS` is in [`ip_options_denial`].
const DENY_SOCKOPTS_IPV6: [libc::c_int; 3] = [
    libc::IPV6_RTHDR,
    libc::IPV6_2292PKTOPTIONS,
    // A flow label may carry options, a routing header among them
    // (`ip6_datagram_send_ctl` takes a type 2 one without privileges where
    // Mobile IPv6 is built), which every send naming the label then uses.
    libc::IPV6_FLOWLABEL_MGR,
];

/// `setsockopt(IPPROTO_IP, IP_OPTIONS)`, refused with EPERM when the
/// program may hold `CAP_NET_RAW`: with it, the options may carry a loose
/// or strict source route (the kernel refuses those to a program without
/// it, so an unprivileged run keeps the harmless options, `ping -R`'s
/// record route among them). fdsup cannot read the options in a filter;
/// refusing them all is what keeps a privileged program's traffic at the
/// hosts the policy allows.
pub fn ip_options_denial() -> Denial {
    Denial {
        nr: libc::SYS_setsockopt,
        name: "setsockopt",
        errno: libc::EPERM,
        when: vec![
            ArgMatch::eq(1, libc::IPPROTO_IP),
            ArgMatch::eq(2, libc::IP_OPTIONS),
        ],
    }
}

/// The always-enforced denials: the [`DENY_EPERM`] calls, `unshare` and
/// `clone` of each new namespace, the [`DENY_IOCTLS`], the [`FILE_SYSTEM_IOCTLS`] and the
/// [`DENY_SOCKOPTS_IPV6`] (EPERM), then
/// `clone3` and the [`DENY_ENOSYS`] calls (ENOSYS).
pub fn always_denied() -> Vec<Denial> {
    let mut out: Vec<Denial> = DENY_EPERM
        .iter()
        .map(|&(nr, name)| Denial {
            nr,
            name,
            errno: libc::EPERM,
            when: Vec::new(),
        })
        .collect();
    let flag = |nr, name, f: libc::c_int| {
        let f = u32::try_from(f).unwrap_or(0);
        Denial {
            nr,
            name,
            errno: libc::EPERM,
            when: vec![ArgMatch {
                arg: 0,
                mask: f,
                value: f,
            }],
        }
    };
    out.extend(
        CLONE_NEW_FLAGS
            .iter()
            .map(|&f| flag(libc::SYS_unshare, "unshare", f)),
    );
    // clone(2) drops the low byte of its flags (CSIGNAL, the exit signal),
    // which is where CLONE_NEWTIME lives: that bit is not a namespace there.
    out.extend(
        CLONE_NEW_FLAGS
            .iter()
            .filter(|&&f| f != libc::CLONE_NEWTIME)
            .map(|&f| flag(libc::SYS_clone, "clone", f)),
    );
    // The request is an `unsigned int` in the kernel: the low 32 bits.
    out.extend(
        DENY_IOCTLS
            .iter()
            .chain(&FILE_SYSTEM_IOCTLS)
            .map(|&req| Denial {
                nr: libc::SYS_ioctl,
                name: "ioctl",
                errno: libc::EPERM,
                when: vec![ArgMatch {
                    arg: 1,
                    mask: u32::MAX,
                    value: u32::try_from(req).unwrap_or(u32::MAX),
                }],
            }),
    );
    out.extend(DENY_SOCKOPTS_IPV6.iter().map(|&opt| Denial {
        nr: libc::SYS_setsockopt,
        name: "setsockopt",
        errno: libc::EPERM,
        when: vec![ArgMatch::eq(1, libc::IPPROTO_IPV6), ArgMatch::eq(2, opt)],
    }));
    // clone3 passes its flags in memory a filter cannot read; ENOSYS makes
    // libc fall back to clone(2), whose flags the rules above check.
    out.push(Denial {
        nr: libc::SYS_clone3,
        name: "clone3",
        errno: libc::ENOSYS,
        when: Vec::new(),
    });
    out.extend(DENY_ENOSYS.iter().map(|&(nr, name)| Denial {
        nr,
        name,
        errno: libc::ENOSYS,
        when: Vec::new(),
    }));
    out
}

/// The denials of the last program ([`DENY_LANDLOCK`], ENOSYS): always
/// enforced like [`always_denied`], but from the program's exec on (the
/// shim makes these calls itself before). `fdsup agent profile` writes them
/// among its `SCMP_ACT_ERRNO` rules too.
pub fn last_denied() -> Vec<Denial> {
    DENY_LANDLOCK
        .iter()
        .map(|&(nr, name)| Denial {
            nr,
            name,
            errno: libc::ENOSYS,
            when: Vec::new(),
        })
        .collect()
}

/// The rules of `denied`'s denials with errno `errno` (a call without
/// rules: always).
fn denial_rules(denied: &[Denial], errno: i32) -> BTreeMap<i64, Vec<Rule>> {
    let mut rules: BTreeMap<i64, Vec<Rule>> = BTreeMap::new();
    for d in denied.iter().filter(|d| d.errno == errno) {
        let entry = rules.entry(d.nr).or_default();
        if !d.when.is_empty() {
            let rule = d
                .when
                .iter()
                .map(|m| {
                    let op = if m.mask == u32::MAX {
                        Op::Eq
                    } else {
                        Op::MaskedEq(u64::from(m.mask))
                    };
                    cond(m.arg, op, u64::from(m.value))
                })
                .collect();
            entry.push(rule);
        }
    }
    rules
}

/// `socket`/`socketpair` with a family other than `AF_UNIX` or
/// `AF_NETLINK`+`NETLINK_ROUTE`.
fn network_rules() -> BTreeMap<i64, Vec<Rule>> {
    let rules = || {
        vec![
            vec![
                cond(0, Op::Ne, int(libc::AF_UNIX)),
                cond(0, Op::Ne, int(libc::AF_NETLINK)),
            ],
            vec![
                cond(0, Op::Eq, int(libc::AF_NETLINK)),
                cond(2, Op::Ne, int(libc::NETLINK_ROUTE)),
            ],
        ]
    };
    [(libc::SYS_socket, rules()), (libc::SYS_socketpair, rules())]
        .into_iter()
        .collect()
}

/// `SOCK_PACKET` (include/linux/net.h), the obsolete packet socket type of
/// `AF_INET` (libc marks it deprecated).
const SOCK_PACKET: libc::c_int = 10;

/// `socket`/`socketpair` of what [`crate::handlers::net`] cannot decide:
/// families other than `AF_UNIX`, `AF_INET`, `AF_INET6` and routing
/// netlink, raw or packet sockets of `AF_INET`/`AF_INET6` (their packets
/// carry their own headers, whatever address a send names) and SCTP.
fn other_family_rules() -> BTreeMap<i64, Vec<Rule>> {
    let rules = || {
        let mut v = vec![
            vec![
                cond(0, Op::Ne, int(libc::AF_UNIX)),
                cond(0, Op::Ne, int(libc::AF_NETLINK)),
                cond(0, Op::Ne, int(libc::AF_INET)),
                cond(0, Op::Ne, int(libc::AF_INET6)),
            ],
            vec![
                cond(0, Op::Eq, int(libc::AF_NETLINK)),
                cond(2, Op::Ne, int(libc::NETLINK_ROUTE)),
            ],
        ];
        for fam in [libc::AF_INET, libc::AF_INET6] {
            for ty in [libc::SOCK_RAW, SOCK_PACKET] {
                v.push(vec![
                    cond(0, Op::Eq, int(fam)),
                    cond(1, Op::MaskedEq(0xf), int(ty)),
                ]);
            }
            // SCTP names its peers in places no handler decides: the
            // addresses of `sctp_connectx` (a `setsockopt`) and of
            // `SCTP_DSTADDRV4`/`V6` control messages. Protocol 0 takes the
            // first protocol of the type, and SCTP is the only one of
            // `SOCK_SEQPACKET`: that type is refused whatever the protocol.
            v.push(vec![
                cond(0, Op::Eq, int(fam)),
                cond(2, Op::Eq, int(libc::IPPROTO_SCTP)),
            ]);
            v.push(vec![
                cond(0, Op::Eq, int(fam)),
                cond(1, Op::MaskedEq(0xf), int(libc::SOCK_SEQPACKET)),
            ]);
        }
        v
    };
    [(libc::SYS_socket, rules()), (libc::SYS_socketpair, rules())]
        .into_iter()
        .collect()
}

/// `socket`/`socketpair` and `setsockopt` of what sends packets whose
/// addresses are the program's own, not the destination a send or
/// `connect` names (which is what [`crate::handlers::net`] decides):
/// - packet sockets (`AF_PACKET`, and `AF_INET`'s obsolete `SOCK_PACKET`,
///   which the kernel makes one): whole frames, no address at all;
/// - raw IP sockets but ICMP's (`IPPROTO_ICMP` of `AF_INET`,
///   `IPPROTO_ICMPV6` of `AF_INET6`): `IPPROTO_RAW` implies `IP_HDRINCL`,
///   the program's IP header goes out as it is (`raw_send_hdrinc`), and a
///   raw UDP or TCP socket writes the transport header, its port, itself;
/// - `setsockopt` of `IP_HDRINCL` and `IPV6_HDRINCL`, which make any raw
///   socket, ICMP's too, take the program's IP header.
///
/// A raw ICMP socket without them (ping) sends to the decided address;
/// ICMP has no ports. All need `CAP_NET_RAW`, without which the kernel
/// answers EPERM: the answer here.
fn raw_packet_rules() -> BTreeMap<i64, Vec<Rule>> {
    let rules = || {
        let mut v = vec![vec![cond(0, Op::Eq, int(libc::AF_PACKET))]];
        for (fam, icmp) in [
            (libc::AF_INET, libc::IPPROTO_ICMP),
            (libc::AF_INET6, libc::IPPROTO_ICMPV6),
        ] {
            v.push(vec![
                cond(0, Op::Eq, int(fam)),
                cond(1, Op::MaskedEq(0xf), int(SOCK_PACKET)),
            ]);
            v.push(vec![
                cond(0, Op::Eq, int(fam)),
                cond(1, Op::MaskedEq(0xf), int(libc::SOCK_RAW)),
                cond(2, Op::Ne, int(icmp)),
            ]);
        }
        v
    };
    let sockopt = vec![
        vec![
            cond(1, Op::Eq, int(libc::IPPROTO_IP)),
            cond(2, Op::Eq, int(libc::IP_HDRINCL)),
        ],
        vec![
            cond(1, Op::Eq, int(libc::IPPROTO_IPV6)),
            cond(2, Op::Eq, int(libc::IPV6_HDRINCL)),
        ],
    ];
    [
        (libc::SYS_socket, rules()),
        (libc::SYS_socketpair, rules()),
        (libc::SYS_setsockopt, sockopt),
    ]
    .into_iter()
    .collect()
}

/// Adds `more` to `rules`, a piece's: a call denied always (no rules)
/// stays so.
fn merge_rules(rules: &mut BTreeMap<i64, Vec<Rule>>, more: BTreeMap<i64, Vec<Rule>>) {
    for (nr, r) in more {
        match rules.get_mut(&nr) {
            Some(have) if have.is_empty() => {}
            Some(have) => have.extend(r),
            None => {
                rules.insert(nr, r);
            }
        }
    }
}

/// The pieces of the deny program, checked in this order.
fn deny_pieces(opts: &FilterOptions) -> Vec<Piece> {
    let errno = |e: libc::c_int| libc::SECCOMP_RET_ERRNO | u32::try_from(e).unwrap_or(0);
    let mut denied = always_denied();
    if opts.deny_ip_options {
        denied.push(ip_options_denial());
    }
    let mut eperm = denial_rules(&denied, libc::EPERM);
    if opts.deny_raw_packets {
        merge_rules(&mut eperm, raw_packet_rules());
    }
    let mut pieces = vec![
        Piece {
            action: errno(libc::EPERM),
            rules: eperm,
        },
        Piece {
            action: errno(libc::ENOSYS),
            rules: denial_rules(&denied, libc::ENOSYS),
        },
    ];
    if opts.deny_network || opts.deny_other_families {
        pieces.push(Piece {
            action: errno(libc::EACCES),
            rules: if opts.deny_network {
                network_rules()
            } else {
                other_family_rules()
            },
        });
    }
    pieces
}

fn build_deny(opts: &FilterOptions) -> Result<Vec<libc::sock_filter>, FilterError> {
    compile(&deny_pieces(opts), libc::SECCOMP_RET_ALLOW, "deny")
}

/// The pieces of the last program.
fn last_pieces() -> Vec<Piece> {
    let errno = libc::SECCOMP_RET_ERRNO | u32::try_from(libc::ENOSYS).unwrap_or(0);
    vec![Piece {
        action: errno,
        rules: denial_rules(&last_denied(), libc::ENOSYS),
    }]
}

fn build_last() -> Result<Vec<libc::sock_filter>, FilterError> {
    compile(&last_pieces(), libc::SECCOMP_RET_ALLOW, "last")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::syscalls::SETATTR_IOCTLS;
    use std::collections::BTreeSet;

    // ---- a classic BPF interpreter for seccomp programs ----

    const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
    const AUDIT_ARCH_I386: u32 = 0x4000_0003;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const NOTIF: u32 = libc::SECCOMP_RET_USER_NOTIF;

    fn errno(e: libc::c_int) -> u32 {
        libc::SECCOMP_RET_ERRNO | u32::try_from(e).expect("errno is positive")
    }

    /// `struct seccomp_data` in native layout.
    fn data(arch: u32, nr: u32, args: [u64; 6]) -> [u8; 64] {
        let mut d = [0u8; 64];
        d[0..4].copy_from_slice(&nr.to_ne_bytes());
        d[4..8].copy_from_slice(&arch.to_ne_bytes());
        d[8..16].copy_from_slice(&0x7fff_1234_5678u64.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            d[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        d
    }

    /// Runs `prog` like the kernel would; panics on anything seccomp's
    /// checker would refuse or that this subset does not know.
    fn run(prog: &[libc::sock_filter], d: &[u8; 64]) -> u32 {
        run_counted(prog, d).0
    }

    /// [`run`], and how many instructions ran.
    fn run_counted(prog: &[libc::sock_filter], d: &[u8; 64]) -> (u32, usize) {
        assert!(!prog.is_empty() && prog.len() <= MAX_INSNS);
        let mut a: u32 = 0;
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            let i = prog
                .get(pc)
                .unwrap_or_else(|| panic!("pc {pc} ran off the end"));
            let jump = |cond: bool| pc + 1 + usize::from(if cond { i.jt } else { i.jf });
            pc = match i.code {
                0x20 => {
                    // LD W ABS: aligned 32-bit load inside seccomp_data
                    let off = usize::try_from(i.k).expect("offset");
                    assert!(off % 4 == 0 && off + 4 <= d.len(), "bad load offset {off}");
                    a = u32::from_ne_bytes([d[off], d[off + 1], d[off + 2], d[off + 3]]);
                    pc + 1
                }
                0x54 => {
                    a &= i.k; // ALU AND K
                    pc + 1
                }
                0x05 => pc + 1 + usize::try_from(i.k).expect("ja offset"), // JA
                0x15 => jump(a == i.k),                                    // JEQ K
                0x25 => jump(a > i.k),                                     // JGT K
                0x35 => jump(a >= i.k),                                    // JGE K
                0x45 => jump(a & i.k != 0),                                // JSET K
                0x06 => return (i.k, steps),                               // RET K
                code => panic!("opcode {code:#x} at {pc} not in the interpreter"),
            };
        }
    }

    fn call(prog: &[libc::sock_filter], nr: i64, args: [u64; 6]) -> u32 {
        let nr = u32::try_from(nr).expect("x86_64 syscall number");
        run(prog, &data(AUDIT_ARCH_X86_64, nr, args))
    }

    fn deny(deny_network: bool) -> Vec<libc::sock_filter> {
        build(&FilterOptions {
            deny_network,
            ..FilterOptions::default()
        })
        .expect("filters build")
        .deny
    }

    fn last() -> Vec<libc::sock_filter> {
        build(&FilterOptions::default())
            .expect("filters build")
            .last
    }

    /// Every option that adds a trapped syscall on.
    const ALL_TRAPS: FilterOptions = FilterOptions {
        deny_network: false,
        mediate_exec: true,
        broker_memfd: true,
        watch_creds: true,
        mediate_network: true,
        deny_other_families: false,
        native_looks: false,
        deny_ip_options: true,
        deny_raw_packets: false,
    };

    fn notify_with(opts: &FilterOptions) -> Vec<libc::sock_filter> {
        build(opts).expect("filters build").notify
    }

    fn notify() -> Vec<libc::sock_filter> {
        notify_with(&ALL_TRAPS)
    }

    fn flag(f: libc::c_int) -> u64 {
        int(f)
    }

    // ---- the compiler ----

    /// A program of one piece: `action` for each number under its rules.
    fn one(action: u32, rules: &[(i64, Vec<Rule>)]) -> Vec<libc::sock_filter> {
        let piece = Piece {
            action,
            rules: rules.iter().cloned().collect(),
        };
        compile(&[piece], ALLOW, "t").expect("compiles")
    }

    #[test]
    fn the_search_finds_every_number_and_only_those() {
        // Enough numbers for a left half longer than a short jump (255),
        // sparse so that misses fall between them.
        for count in [0i64, 1, 2, 4, 5, 9, 60, 300, 700] {
            let nrs: Vec<i64> = (0..count).map(|i| 3 * i + 1).collect();
            let rules: Vec<(i64, Vec<Rule>)> = nrs.iter().map(|n| (*n, Vec::new())).collect();
            let prog = one(errno(1), &rules);
            for nr in 0..=3 * count + 10 {
                let want = if nrs.contains(&nr) { errno(1) } else { ALLOW };
                assert_eq!(call(&prog, nr, [0; 6]), want, "count {count}, nr {nr}");
            }
        }
    }

    #[test]
    fn conditions_compare_as_asked() {
        let big = 0x1234_5678_9abc_def0u64;
        let full = |op, value| Cond {
            arg: 2,
            width: Width::Full64,
            op,
            value,
        };
        let cases: Vec<(Cond, Vec<(u64, bool)>)> = vec![
            (
                cond(2, Op::Eq, 7),
                vec![(7, true), (8, false), (7 | 1 << 40, true), (0, false)],
            ),
            (
                cond(2, Op::Ne, 7),
                vec![(7, false), (8, true), (7 | 1 << 40, false)],
            ),
            (
                cond(2, Op::MaskedEq(0xf0), 0x30),
                vec![
                    (0x3f, true),
                    (0x130, true),
                    (0x40, false),
                    (0x30 | 1 << 40, true),
                ],
            ),
            (
                full(Op::Eq, big),
                vec![(big, true), (big ^ 1, false), (big ^ 1 << 40, false)],
            ),
            (
                full(Op::Ne, big),
                vec![
                    (big, false),
                    (big ^ 1, true),
                    (big ^ 1 << 40, true),
                    (0, true),
                ],
            ),
            (
                full(Op::MaskedEq(0xff00_0000_00ff), big),
                vec![
                    (big, true),
                    (big ^ 1 << 9, true),
                    (big ^ 1 << 41, false),
                    (big ^ 1, false),
                ],
            ),
        ];
        for (c, checks) in cases {
            let prog = one(errno(2), &[(5, vec![vec![c]])]);
            for (v, holds) in checks {
                let want = if holds { errno(2) } else { ALLOW };
                let args = [0, 0, v, 0, 0, 0];
                assert_eq!(call(&prog, 5, args), want, "{c:?} with {v:#x}");
                assert_eq!(call(&prog, 6, args), ALLOW);
            }
        }
    }

    #[test]
    fn rules_are_ored_and_pieces_checked_in_order() {
        let a = Piece {
            action: errno(1),
            rules: [
                (
                    10,
                    vec![
                        vec![cond(0, Op::Eq, 1), cond(1, Op::Eq, 2)],
                        vec![cond(0, Op::Eq, 3)],
                    ],
                ),
                (11, Vec::new()),
            ]
            .into_iter()
            .collect(),
        };
        let b = Piece {
            action: errno(2),
            rules: [
                (10, Vec::new()),
                (11, Vec::new()),
                (12, vec![vec![cond(0, Op::Eq, 1)]]),
            ]
            .into_iter()
            .collect(),
        };
        let prog = compile(&[a, b], ALLOW, "t").expect("compiles");
        assert_eq!(call(&prog, 10, [1, 2, 0, 0, 0, 0]), errno(1));
        assert_eq!(call(&prog, 10, [3, 0, 0, 0, 0, 0]), errno(1));
        assert_eq!(call(&prog, 10, [1, 3, 0, 0, 0, 0]), errno(2), "next piece");
        assert_eq!(call(&prog, 11, [0; 6]), errno(1), "the first piece wins");
        assert_eq!(call(&prog, 12, [1, 0, 0, 0, 0, 0]), errno(2));
        assert_eq!(call(&prog, 12, [2, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&prog, 13, [1, 0, 0, 0, 0, 0]), ALLOW);
    }

    #[test]
    fn compile_refuses_what_it_cannot_express() {
        let piece = |rules: Vec<(i64, Vec<Rule>)>| Piece {
            action: errno(1),
            rules: rules.into_iter().collect(),
        };
        for nr in [-1, i64::from(X32_SYSCALL_BIT), i64::MAX] {
            let got = compile(&[piece(vec![(nr, Vec::new())])], ALLOW, "t");
            assert!(
                matches!(got, Err(FilterError::BadNumber { nr: n, .. }) if n == nr),
                "{nr}"
            );
        }
        // A rule whose failure jump passes 255 instructions.
        let long: Rule = (0..50)
            .map(|i| Cond {
                arg: 0,
                width: Width::Full64,
                op: Op::MaskedEq(1),
                value: i,
            })
            .collect();
        let got = compile(&[piece(vec![(1, vec![long])])], ALLOW, "t");
        assert!(matches!(got, Err(FilterError::TooFar { nr: 1, .. })));
        let all = (0..i64::try_from(MAX_INSNS).unwrap())
            .map(|n| (n, Vec::new()))
            .collect();
        let got = compile(&[piece(all)], ALLOW, "t");
        assert!(matches!(got, Err(FilterError::TooLong { .. })));
    }

    /// The pieces of the notify program, as `build_notify` makes them.
    fn notify_piece(opts: &FilterOptions) -> Piece {
        let mut rules = BTreeMap::new();
        for m in MEDIATED.iter().filter(|m| traps(m, opts)) {
            rules.insert(m.nr, notify_rules(m));
        }
        Piece {
            action: NOTIF,
            rules,
        }
    }

    /// Argument values worth trying against `pieces`: every constant of
    /// their conditions, its neighbours, with high bits set, inverted.
    fn constants(pieces: &[Piece]) -> Vec<u64> {
        let mut out: BTreeSet<u64> = [0, 1, u64::MAX, 1 << 40, 0x7fff_0000].into();
        for c in pieces
            .iter()
            .flat_map(|p| p.rules.values())
            .flatten()
            .flatten()
        {
            let m = match c.op {
                Op::MaskedEq(m) => m,
                _ => u64::MAX,
            };
            for v in [c.value, c.value & m, m] {
                out.extend([
                    v,
                    v.wrapping_add(1),
                    v.wrapping_sub(1),
                    v | 0xdead_0000_0000_0000,
                    !v,
                ]);
            }
        }
        out.into_iter().collect()
    }

    /// Both programs decide every syscall number, under arguments made of
    /// the constants their conditions use, exactly as seccompiler's linear
    /// programs of the same rules ([`reference`]), used before.
    #[test]
    fn programs_agree_with_seccompiler() {
        let option_sets = [
            FilterOptions::default(),
            ALL_TRAPS,
            FilterOptions {
                deny_network: true,
                ..ALL_TRAPS
            },
            FilterOptions {
                native_looks: true,
                ..ALL_TRAPS
            },
            FilterOptions {
                deny_other_families: true,
                ..ALL_TRAPS
            },
            FilterOptions {
                mediate_exec: true,
                ..FilterOptions::default()
            },
        ];
        for opts in option_sets {
            let built = build(&opts).expect("builds");
            let pairs = [
                (&built.notify, vec![notify_piece(&opts)]),
                (&built.deny, deny_pieces(&opts)),
            ];
            for (ours, pieces) in pairs {
                let theirs = reference::compile(&pieces);
                let constants = constants(&pieces);
                let conditional: BTreeSet<i64> = pieces
                    .iter()
                    .flat_map(|p| p.rules.iter())
                    .filter(|(_, r)| !r.is_empty())
                    .map(|(nr, _)| *nr)
                    .collect();
                let same = |nr: i64, args: [u64; 6]| {
                    assert_eq!(
                        call(ours, nr, args),
                        call(&theirs, nr, args),
                        "{opts:?} nr {nr} {args:x?}"
                    );
                };
                for nr in 0..=600i64 {
                    for args in [[0; 6], [u64::MAX; 6], [1, 2, 3, 4, 5, 6]] {
                        same(nr, args);
                    }
                }
                for &nr in &conditional {
                    for (i, &a) in constants.iter().enumerate() {
                        let c = constants[(i * 7 + 3) % constants.len()];
                        for &b in &constants {
                            same(nr, [a, b, c, 0, c, 0]);
                            same(nr, [b, a, a, 0, a, 0]);
                            same(nr, [a, c, b, 0, 0, 0]);
                        }
                    }
                }
                for arch in [AUDIT_ARCH_I386, 0xc000_00b7] {
                    for nr in [0u32, 2, 59, 0x3fff_ffff] {
                        let d = data(arch, nr, [0; 6]);
                        assert_eq!(run(ours, &d), run(&theirs, &d));
                    }
                }
            }
        }
    }

    /// Few instructions run for a number without conditions: what the
    /// kernel pays per number when it builds its cache at install (a number
    /// with conditions stops that at its first argument), and every trapped
    /// call at run time.
    #[test]
    fn a_number_costs_few_steps() {
        let deny_net = FilterOptions {
            deny_network: true,
            ..ALL_TRAPS
        };
        for opts in [ALL_TRAPS, deny_net] {
            let f = build(&opts).expect("builds");
            let pieces = [vec![notify_piece(&opts)], deny_pieces(&opts)];
            for (prog, pieces) in [&f.notify, &f.deny].into_iter().zip(pieces) {
                let conditional = |nr: u32| {
                    pieces
                        .iter()
                        .any(|p| p.rules.get(&i64::from(nr)).is_some_and(|r| !r.is_empty()))
                };
                let worst = (0..=600u32)
                    .filter(|nr| !conditional(*nr))
                    .map(|nr| run_counted(prog, &data(AUDIT_ARCH_X86_64, nr, [0; 6])).1)
                    .max()
                    .unwrap_or(0);
                assert!(worst <= 20, "worst {worst} steps of {} insns", prog.len());
            }
        }
    }

    /// The header: the x32 guard, then the arch check, then the number.
    #[test]
    fn header_guards_x32_then_the_arch() {
        for prog in [notify(), deny(true), last()] {
            let h: Vec<_> = prog[..7]
                .iter()
                .map(|i| (i.code, i.jt, i.jf, i.k))
                .collect();
            assert_eq!(
                h,
                [
                    (BPF_LD_W_ABS, 0, 0, DATA_NR),
                    (BPF_JMP_JGE_K, 0, 1, X32_SYSCALL_BIT),
                    (BPF_RET_K, 0, 0, KILL),
                    (BPF_LD_W_ABS, 0, 0, DATA_ARCH),
                    (BPF_JMP_JEQ_K, 1, 0, AUDIT_ARCH_X86_64),
                    (BPF_RET_K, 0, 0, KILL),
                    (BPF_LD_W_ABS, 0, 0, DATA_NR),
                ]
            );
        }
    }

    // ---- both programs ----

    #[test]
    fn returns_only_kill_allow_notify_or_errno() {
        for prog in [notify(), deny(false), deny(true), last()] {
            for i in prog.iter().filter(|i| i.code == BPF_RET_K) {
                let action = i.k & libc::SECCOMP_RET_ACTION_FULL;
                assert!(
                    [KILL, ALLOW, NOTIF, libc::SECCOMP_RET_ERRNO].contains(&action),
                    "return {:#x}",
                    i.k
                );
            }
        }
    }

    #[test]
    fn foreign_abis_are_killed() {
        for prog in [notify(), deny(false), deny(true), last()] {
            for nr in (0..=600u32).chain([0x3fff_ffff, u32::MAX]) {
                assert_eq!(
                    run(&prog, &data(AUDIT_ARCH_I386, nr, [0; 6])),
                    KILL,
                    "i386 {nr}"
                );
                let x32 = nr | X32_SYSCALL_BIT;
                assert_eq!(
                    run(&prog, &data(AUDIT_ARCH_X86_64, x32, [0; 6])),
                    KILL,
                    "x32 {nr}"
                );
            }
            assert_eq!(run(&prog, &data(0xc000_00b7, 0, [0; 6])), KILL, "aarch64");
        }
    }

    /// The table and the BPF agree: exactly the mediated syscalls notify,
    /// with the optional ones exactly when their option is on.
    #[test]
    fn notify_traps_exactly_the_mediated_table() {
        let none = FilterOptions::default();
        let exec_only = FilterOptions {
            mediate_exec: true,
            ..none
        };
        let visible = FilterOptions {
            native_looks: true,
            ..ALL_TRAPS
        };
        for opts in [ALL_TRAPS, none, exec_only, visible] {
            let prog = notify_with(&opts);
            let want: BTreeSet<i64> = MEDIATED
                .iter()
                .filter(|m| traps(m, &opts))
                .map(|m| m.nr)
                .collect();
            let mut got = BTreeSet::new();
            for nr in 0..=1023i64 {
                // prctl is trapped for two options only, ioctl for the
                // requests that change an inode.
                let args = if nr == libc::SYS_prctl {
                    [u64::from(PRCTL_CREDS[0]), 0, 0, 0, 0, 0]
                } else if nr == libc::SYS_ioctl {
                    [3, u64::from(SETATTR_IOCTLS[0].0), 0, 0, 0, 0]
                } else {
                    [u64::MAX; 6]
                };
                match call(&prog, nr, args) {
                    NOTIF => {
                        got.insert(nr);
                    }
                    ALLOW => {}
                    other => panic!("nr {nr}: unexpected action {other:#x}"),
                }
            }
            assert_eq!(got, want, "{opts:?}");
        }
        // All options on: the whole table.
        let all: BTreeSet<i64> = MEDIATED.iter().map(|m| m.nr).collect();
        let on: BTreeSet<i64> = MEDIATED
            .iter()
            .filter(|m| traps(m, &ALL_TRAPS))
            .map(|m| m.nr)
            .collect();
        assert_eq!(on, all);
        // Off: no exec, no memfd_create; everything else still.
        let off = |nr| !MEDIATED.iter().any(|m| m.nr == nr && traps(m, &none));
        assert!(off(libc::SYS_execve) && off(libc::SYS_execveat) && off(libc::SYS_memfd_create));
        assert_eq!(
            MEDIATED.iter().filter(|m| !traps(m, &none)).count(),
            3 + MEDIATED
                .iter()
                .filter(|m| {
                    crate::syscalls::is_network(m.kind) || m.kind == crate::syscalls::Kind::Creds
                })
                .count(),
            "only the exec family, memfd_create, the credential calls and the network calls \
             are optional"
        );
    }

    /// `prctl` notifies for the two options that lower what the next exec
    /// grants (the kernel reads the option as an `int`: high bits change
    /// nothing), never for the others (`PR_SET_NAME` is common); the
    /// credential calls only with [`FilterOptions::watch_creds`].
    #[test]
    fn credential_calls_are_trapped_only_where_asked() {
        let prog = notify_with(&ALL_TRAPS);
        let nr = libc::SYS_prctl;
        for o in PRCTL_CREDS {
            let o = u64::from(o);
            assert_eq!(call(&prog, nr, [o, 0, 0, 0, 0, 0]), NOTIF, "{o}");
            assert_eq!(call(&prog, nr, [o | 1 << 32, 0, 0, 0, 0, 0]), NOTIF, "{o}");
        }
        for o in [
            libc::PR_SET_NAME,
            libc::PR_GET_NAME,
            libc::PR_SET_KEEPCAPS,
            libc::PR_CAP_AMBIENT,
            libc::PR_CAPBSET_READ,
            libc::PR_GET_SECUREBITS,
        ] {
            let o = u64::from(o.unsigned_abs());
            assert_eq!(call(&prog, nr, [o, 0, 0, 0, 0, 0]), ALLOW, "{o}");
        }
        assert_eq!(call(&prog, libc::SYS_setuid, [65534, 0, 0, 0, 0, 0]), NOTIF);
        let off = notify_with(&FilterOptions {
            watch_creds: false,
            ..ALL_TRAPS
        });
        for nr in [libc::SYS_setuid, libc::SYS_capset, libc::SYS_setgroups] {
            assert_eq!(call(&off, nr, [0; 6]), ALLOW, "{nr}");
        }
        let o = u64::from(PRCTL_CREDS[0]);
        assert_eq!(call(&off, libc::SYS_prctl, [o, 0, 0, 0, 0, 0]), ALLOW);
    }

    /// The pair (policy, filter): the policy's `metadata` decides, through
    /// [`native_looks`] alone, whether exactly the looks SPEC.md names are
    /// trapped; every open form, change, exec, memfd and network call is
    /// trapped in both modes.
    #[test]
    fn metadata_visible_leaves_exactly_the_looks_to_the_kernel() {
        use crate::policy::{load, Metadata, Vars};
        let looks = [
            "access",
            "chdir",
            "faccessat",
            "faccessat2",
            "fchdir",
            "getdents",
            "getdents64",
            "lstat",
            "newfstatat",
            "readlink",
            "readlinkat",
            "stat",
            "statfs",
            "statx",
        ];
        let table_looks: Vec<&str> = MEDIATED
            .iter()
            .filter(|m| crate::syscalls::is_look(m.kind))
            .map(|m| m.name)
            .collect();
        assert_eq!(table_looks, looks);
        let vars = Vars {
            cwd: "/work/p".into(),
            home: "/home/u".into(),
            tmpdir: "/tmp".into(),
            uid: 0,
            resolve_links: true,
        };
        let ready =
            |name: &str| concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/").to_owned() + name;
        let mut overridden = load("@default", &vars).expect("@default loads");
        overridden.fs.metadata = Metadata::Visible;
        let cases = [
            (load("@default", &vars).expect("@default loads"), false),
            (load("@allow-all", &vars).expect("@allow-all loads"), false),
            (overridden, true),
            (
                load(&ready("build.json"), &vars).expect("build.json loads"),
                true,
            ),
            (
                load(&ready("git.json"), &vars).expect("git.json loads"),
                true,
            ),
        ];
        for (policy, visible) in cases {
            assert_eq!(native_looks(&policy), visible, "{:?}", policy.fs.metadata);
            let opts = FilterOptions {
                native_looks: native_looks(&policy),
                ..ALL_TRAPS
            };
            let prog = notify_with(&opts);
            for m in MEDIATED {
                let want = if visible && looks.contains(&m.name) {
                    ALLOW
                } else {
                    NOTIF
                };
                // An address for sendto, so that it is trapped when mediated;
                // a credential option for prctl; an inode's request for
                // ioctl.
                let args = if m.nr == libc::SYS_prctl {
                    [u64::from(PRCTL_CREDS[1]), 0, 0, 0, 0, 0]
                } else if m.nr == libc::SYS_ioctl {
                    [3, u64::from(SETATTR_IOCTLS[1].0), 0, 0, 0, 0]
                } else {
                    [3, 0, 0, 0, 0x7fff_0000, 16]
                };
                assert_eq!(
                    call(&prog, m.nr, args),
                    want,
                    "{} (visible {visible})",
                    m.name
                );
            }
            let trapped = |nr| call(&prog, nr, [0; 6]) == NOTIF;
            for nr in [
                libc::SYS_open,
                libc::SYS_openat,
                libc::SYS_openat2,
                libc::SYS_creat,
                libc::SYS_getxattr,
                libc::SYS_lgetxattr,
                libc::SYS_listxattr,
                libc::SYS_llistxattr,
                libc::SYS_inotify_add_watch,
                libc::SYS_rename,
                libc::SYS_unlink,
                libc::SYS_execve,
                libc::SYS_memfd_create,
                libc::SYS_connect,
            ] {
                assert!(trapped(nr), "nr {nr} (visible {visible})");
            }
            // Descriptor-based looks were never trapped: the descriptor was
            // decided when it was opened.
            for nr in [libc::SYS_fstat, libc::SYS_fstatfs, libc::SYS_fgetxattr] {
                assert_eq!(call(&prog, nr, [0; 6]), ALLOW);
            }
        }
    }

    /// An `ioctl` makes a round trip only for the requests that change the
    /// inode behind the descriptor (in both modes: a change, not a look),
    /// compared on the low 32 bits, as the kernel reads the request.
    #[test]
    fn ioctl_is_trapped_only_for_inode_changes() {
        for native_looks in [false, true] {
            let prog = notify_with(&FilterOptions {
                native_looks,
                ..ALL_TRAPS
            });
            let nr = libc::SYS_ioctl;
            for &(request, _) in &SETATTR_IOCTLS {
                let r = u64::from(request);
                assert_eq!(call(&prog, nr, [3, r, 0x1000, 0, 0, 0]), NOTIF);
                assert_eq!(call(&prog, nr, [3, r | 1 << 40, 0x1000, 0, 0, 0]), NOTIF);
            }
            for request in [libc::TCGETS, libc::FIONREAD, 0x8008_6601] {
                assert_eq!(call(&prog, nr, [3, request, 0x1000, 0, 0, 0]), ALLOW);
            }
        }
    }

    /// `send()` (no address) never makes a round trip; `sendto` with one does.
    #[test]
    fn sendto_is_trapped_only_with_an_address() {
        let prog = notify();
        let nr = libc::SYS_sendto;
        assert_eq!(call(&prog, nr, [3, 0x1000, 10, 0, 0, 0]), ALLOW);
        assert_eq!(call(&prog, nr, [3, 0x1000, 10, 0, 0x7fff_0000, 16]), NOTIF);
        // A pointer above 4 GiB with zero low bits still counts.
        assert_eq!(call(&prog, nr, [3, 0, 0, 0, 1 << 40, 16]), NOTIF);
    }

    #[test]
    fn packets_with_their_own_addresses_are_refused_when_asked() {
        let opts = FilterOptions {
            mediate_network: true,
            deny_raw_packets: true,
            deny_ip_options: true,
            ..FilterOptions::default()
        };
        let prog = build(&opts).expect("filters build").deny;
        let eperm = errno(libc::EPERM);
        let at =
            |fam: libc::c_int, ty: libc::c_int, proto: u64| [flag(fam), flag(ty), proto, 0, 0, 0];
        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
            for ty in [libc::SOCK_DGRAM, libc::SOCK_RAW, libc::SOCK_STREAM] {
                assert_eq!(call(&prog, nr, at(libc::AF_PACKET, ty, 0)), eperm);
            }
            for (fam, icmp) in [(libc::AF_INET, 1), (libc::AF_INET6, 58)] {
                let raw = libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
                for proto in [0, 6, 17, 255, 255 | (1 << 32)] {
                    assert_eq!(call(&prog, nr, at(fam, raw, proto)), eperm);
                }
                assert_eq!(call(&prog, nr, at(fam, SOCK_PACKET, 768)), eperm);
                // Ping, and everything not raw.
                assert_eq!(call(&prog, nr, at(fam, raw, flag(icmp))), ALLOW);
                assert_eq!(call(&prog, nr, at(fam, libc::SOCK_DGRAM, 0)), ALLOW);
                assert_eq!(
                    call(&prog, nr, at(fam, libc::SOCK_DGRAM, flag(icmp))),
                    ALLOW
                );
                assert_eq!(call(&prog, nr, at(fam, libc::SOCK_STREAM, 6)), ALLOW);
            }
            assert_eq!(call(&prog, nr, at(libc::AF_UNIX, libc::SOCK_RAW, 0)), ALLOW);
            assert_eq!(
                call(&prog, nr, at(libc::AF_NETLINK, libc::SOCK_RAW, 0)),
                ALLOW
            );
        }
        let so = libc::SYS_setsockopt;
        let opt = |level: libc::c_int, name: libc::c_int| [3, flag(level), flag(name), 0, 0, 0];
        assert_eq!(
            call(&prog, so, opt(libc::IPPROTO_IP, libc::IP_HDRINCL)),
            eperm
        );
        assert_eq!(
            call(&prog, so, opt(libc::IPPROTO_IPV6, libc::IPV6_HDRINCL)),
            eperm
        );
        // The ones refused before still are.
        assert_eq!(
            call(&prog, so, opt(libc::IPPROTO_IP, libc::IP_OPTIONS)),
            eperm
        );
        assert_eq!(
            call(&prog, so, opt(libc::IPPROTO_IPV6, libc::IPV6_RTHDR)),
            eperm
        );
        assert_eq!(call(&prog, so, opt(libc::IPPROTO_IP, libc::IP_TTL)), ALLOW);
        // Without the option, nothing of it.
        let prog = build(&FilterOptions {
            deny_raw_packets: false,
            ..opts
        })
        .expect("filters build")
        .deny;
        assert_eq!(
            call(&prog, so, opt(libc::IPPROTO_IP, libc::IP_HDRINCL)),
            ALLOW
        );
        assert_eq!(
            call(
                &prog,
                libc::SYS_socket,
                at(libc::AF_INET, libc::SOCK_RAW, 255)
            ),
            ALLOW
        );
    }

    #[test]
    fn other_families_are_refused_when_mediating_with_deny() {
        let prog = build(&FilterOptions {
            mediate_network: true,
            deny_other_families: true,
            ..FilterOptions::default()
        })
        .expect("filters build")
        .deny;
        let eacces = errno(libc::EACCES);
        let at =
            |fam: libc::c_int, ty: libc::c_int, proto: u64| [flag(fam), flag(ty), proto, 0, 0, 0];
        let nr = libc::SYS_socket;
        for fam in [libc::AF_UNIX, libc::AF_INET, libc::AF_INET6] {
            assert_eq!(call(&prog, nr, at(fam, libc::SOCK_STREAM, 0)), ALLOW);
            let dgram = libc::SOCK_DGRAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK;
            assert_eq!(call(&prog, nr, at(fam, dgram, 0)), ALLOW);
        }
        assert_eq!(
            call(&prog, nr, at(libc::AF_NETLINK, libc::SOCK_RAW, 0)),
            ALLOW
        );
        assert_eq!(
            call(&prog, nr, at(libc::AF_NETLINK, libc::SOCK_RAW, 9)),
            eacces
        );
        for fam in [libc::AF_INET, libc::AF_INET6] {
            assert_eq!(call(&prog, nr, at(fam, libc::SOCK_RAW, 1)), eacces);
            let raw = libc::SOCK_RAW | libc::SOCK_CLOEXEC;
            assert_eq!(call(&prog, nr, at(fam, raw, 1)), eacces);
            assert_eq!(call(&prog, nr, at(fam, SOCK_PACKET, 0)), eacces);
            // SCTP, whatever the type, and SOCK_SEQPACKET (SCTP's alone)
            // whatever the protocol; TCP and UDP by number pass.
            let sctp = flag(libc::IPPROTO_SCTP);
            for ty in [libc::SOCK_STREAM, libc::SOCK_SEQPACKET] {
                assert_eq!(call(&prog, nr, at(fam, ty, sctp)), eacces);
            }
            let seqpacket = libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC;
            assert_eq!(call(&prog, nr, at(fam, seqpacket, 0)), eacces);
            assert_eq!(call(&prog, nr, at(fam, libc::SOCK_STREAM, 6)), ALLOW);
            assert_eq!(call(&prog, nr, at(fam, libc::SOCK_DGRAM, 17)), ALLOW);
        }
        // A Unix socket's protocol 132 is no SCTP.
        assert_eq!(
            call(&prog, nr, at(libc::AF_UNIX, libc::SOCK_STREAM, 132)),
            ALLOW
        );
        for fam in [libc::AF_PACKET, libc::AF_VSOCK, libc::AF_BLUETOOTH, 0, 45] {
            assert_eq!(call(&prog, nr, at(fam, libc::SOCK_DGRAM, 0)), eacces);
        }
    }

    #[test]
    fn deny_list_is_eperm() {
        let prog = deny(false);
        for (nr, name) in DENY_EPERM {
            assert_eq!(call(&prog, *nr, [0; 6]), errno(libc::EPERM), "{name}");
            assert_eq!(
                call(&prog, *nr, [u64::MAX; 6]),
                errno(libc::EPERM),
                "{name}"
            );
        }
        assert_eq!(call(&prog, libc::SYS_clone3, [0; 6]), errno(libc::ENOSYS));
        for (nr, name) in DENY_ENOSYS {
            assert_eq!(call(&prog, *nr, [0; 6]), errno(libc::ENOSYS), "{name}");
        }
    }

    /// The last program refuses the Landlock calls (ENOSYS, whatever the
    /// arguments) and nothing else, whatever the options; the deny and
    /// notify programs let them through, since the shim makes
    /// `landlock_restrict_self` with both in place.
    #[test]
    fn landlock_is_refused_by_the_last_program_only() {
        let landlock: BTreeSet<i64> = DENY_LANDLOCK.iter().map(|(nr, _)| *nr).collect();
        assert_eq!(
            landlock,
            BTreeSet::from([
                libc::SYS_landlock_create_ruleset,
                libc::SYS_landlock_add_rule,
                libc::SYS_landlock_restrict_self,
            ])
        );
        let prog = last();
        for nr in 0..=1023i64 {
            for args in [[0; 6], [u64::MAX; 6], [3, 0, 1, 0, 0, 0]] {
                let want = if landlock.contains(&nr) {
                    errno(libc::ENOSYS)
                } else {
                    ALLOW
                };
                assert_eq!(call(&prog, nr, args), want, "nr {nr}");
            }
        }
        for opts in [FilterOptions::default(), ALL_TRAPS] {
            let f = build(&opts).expect("filters build");
            // The shim installs the last program with the other two in place.
            for nr in landlock.iter().copied().chain([libc::SYS_seccomp]) {
                assert_eq!(call(&f.deny, nr, [3, 0, 0, 0, 0, 0]), ALLOW, "{nr}");
                assert_eq!(call(&f.notify, nr, [3, 0, 0, 0, 0, 0]), ALLOW, "{nr}");
            }
        }
        assert!(last_denied()
            .iter()
            .all(|d| d.errno == libc::ENOSYS && d.when.is_empty()));
        assert!(always_denied().iter().all(|d| !landlock.contains(&d.nr)));
    }

    #[test]
    fn deny_allows_everything_else() {
        let listed: BTreeSet<i64> = DENY_EPERM
            .iter()
            .chain(DENY_ENOSYS)
            .map(|(nr, _)| *nr)
            .collect();
        for deny_network in [false, true] {
            let prog = deny(deny_network);
            for nr in (0..=1023i64).filter(|nr| !listed.contains(nr) && *nr != libc::SYS_clone3) {
                // AF_UNIX (1), protocol 0; no flags; no tty request.
                let args = [1, 0, 0, 0, 0, 0];
                assert_eq!(
                    call(&prog, nr, args),
                    ALLOW,
                    "nr {nr}, deny_network {deny_network}"
                );
            }
            for nr in [
                libc::SYS_read,
                libc::SYS_write,
                libc::SYS_openat,
                libc::SYS_execve,
            ] {
                assert_eq!(call(&prog, nr, [u64::MAX; 6]), ALLOW);
            }
        }
    }

    #[test]
    fn clone_of_namespaces_is_eperm() {
        let prog = deny(false);
        let nr = libc::SYS_clone;
        let thread = flag(
            libc::CLONE_VM
                | libc::CLONE_FS
                | libc::CLONE_FILES
                | libc::CLONE_SIGHAND
                | libc::CLONE_THREAD
                | libc::CLONE_SYSVSEM
                | libc::CLONE_SETTLS
                | libc::CLONE_PARENT_SETTID
                | libc::CLONE_CHILD_CLEARTID,
        );
        assert_eq!(call(&prog, nr, [thread, 0, 0, 0, 0, 0]), ALLOW);
        assert_eq!(call(&prog, nr, [flag(libc::SIGCHLD), 0, 0, 0, 0, 0]), ALLOW);
        // Exit signals up to 64 never touch a namespace bit.
        assert_eq!(call(&prog, nr, [64, 0, 0, 0, 0, 0]), ALLOW);
        for f in CLONE_NEW_FLAGS
            .into_iter()
            .filter(|f| *f != libc::CLONE_NEWTIME)
        {
            let args = [flag(f) | flag(libc::SIGCHLD), 0, 0, 0, 0, 0];
            assert_eq!(call(&prog, nr, args), errno(libc::EPERM), "flag {f:#x}");
            assert_eq!(
                call(&prog, nr, [thread | flag(f), 0, 0, 0, 0, 0]),
                errno(libc::EPERM)
            );
        }
        assert_eq!(
            call(&prog, nr, [flag(libc::CLONE_NEWUSER), 0, 0, 0, 0, 0]),
            errno(libc::EPERM)
        );
    }

    #[test]
    fn unshare_of_namespaces_is_eperm() {
        let prog = deny(false);
        let nr = libc::SYS_unshare;
        for f in [libc::CLONE_FILES, libc::CLONE_FS, libc::CLONE_SYSVSEM, 0] {
            assert_eq!(
                call(&prog, nr, [flag(f), 0, 0, 0, 0, 0]),
                ALLOW,
                "flag {f:#x}"
            );
        }
        for f in CLONE_NEW_FLAGS {
            let args = [flag(f) | flag(libc::CLONE_FILES), 0, 0, 0, 0, 0];
            assert_eq!(call(&prog, nr, args), errno(libc::EPERM), "flag {f:#x}");
        }
        assert_eq!(
            call(&prog, nr, [flag(libc::CLONE_NEWNS), 0, 0, 0, 0, 0]),
            errno(libc::EPERM)
        );
    }

    #[test]
    fn terminal_injection_is_eperm() {
        let prog = deny(false);
        let nr = libc::SYS_ioctl;
        for req in [libc::TIOCSTI, libc::TIOCLINUX] {
            assert_eq!(call(&prog, nr, [0, req, 0, 0, 0, 0]), errno(libc::EPERM));
            // The kernel reads an unsigned int: garbage above does not help.
            let high = 0xdead_beef_0000_0000 | req;
            assert_eq!(call(&prog, nr, [0, high, 0, 0, 0, 0]), errno(libc::EPERM));
        }
        for req in [libc::TCGETS, libc::TIOCGWINSZ, libc::FIONREAD] {
            assert_eq!(call(&prog, nr, [0, req, 0, 0, 0, 0]), ALLOW);
        }
    }

    #[test]
    fn source_route_options_are_eperm() {
        let nr = libc::SYS_setsockopt;
        let opt = |level: libc::c_int, name: libc::c_int| [3, flag(level), flag(name), 0, 8, 0];
        let eperm = errno(libc::EPERM);
        for prog in [deny(false), deny(true)] {
            for o in [
                libc::IPV6_RTHDR,
                libc::IPV6_2292PKTOPTIONS,
                libc::IPV6_FLOWLABEL_MGR,
            ] {
                assert_eq!(call(&prog, nr, opt(libc::IPPROTO_IPV6, o)), eperm);
                // The kernel reads ints: garbage above does not help.
                let mut high = opt(libc::IPPROTO_IPV6, o);
                high[1] |= 0xdead_0000_0000_0000;
                high[2] |= 0x1_0000_0000;
                assert_eq!(call(&prog, nr, high), eperm);
            }
            for (level, o) in [
                (libc::IPPROTO_IPV6, libc::IPV6_2292RTHDR),
                (libc::IPPROTO_IPV6, libc::IPV6_TCLASS),
                (libc::IPPROTO_IP, libc::IP_TTL),
                (libc::SOL_SOCKET, libc::SO_REUSEADDR),
                (libc::IPPROTO_TCP, libc::IPV6_RTHDR),
            ] {
                assert_eq!(call(&prog, nr, opt(level, o)), ALLOW, "{level} {o}");
            }
        }
        // IP_OPTIONS only when the program may hold CAP_NET_RAW.
        let ip_options = opt(libc::IPPROTO_IP, libc::IP_OPTIONS);
        assert_eq!(call(&deny(false), nr, ip_options), ALLOW);
        let privileged = build(&FilterOptions {
            deny_ip_options: true,
            ..FilterOptions::default()
        })
        .expect("filters build")
        .deny;
        assert_eq!(call(&privileged, nr, ip_options), eperm);
        assert_eq!(
            call(&privileged, nr, opt(libc::IPPROTO_IP, libc::IP_TTL)),
            ALLOW
        );
    }

    #[test]
    fn network_families() {
        let unix = flag(libc::AF_UNIX);
        let netlink = flag(libc::AF_NETLINK);
        let denying = deny(true);
        let allowing = deny(false);
        for nr in [libc::SYS_socket, libc::SYS_socketpair] {
            let at = |fam: u64, proto: u64| [fam, flag(libc::SOCK_STREAM), proto, 0, 0, 0];
            let eacces = errno(libc::EACCES);
            assert_eq!(call(&denying, nr, at(unix, 0)), ALLOW);
            assert_eq!(
                call(&denying, nr, at(0xffff_ffff_0000_0000 | unix, 0)),
                ALLOW
            );
            assert_eq!(call(&denying, nr, at(netlink, 0)), ALLOW);
            assert_eq!(call(&denying, nr, at(netlink, 9)), eacces, "NETLINK_AUDIT");
            assert_eq!(call(&denying, nr, at(netlink, 0xffff_ffff)), eacces);
            for fam in [
                libc::AF_INET,
                libc::AF_INET6,
                libc::AF_PACKET,
                libc::AF_VSOCK,
                0,
                45,
            ] {
                assert_eq!(call(&denying, nr, at(flag(fam), 0)), eacces, "family {fam}");
                assert_eq!(call(&allowing, nr, at(flag(fam), 0)), ALLOW, "family {fam}");
            }
            assert_eq!(call(&allowing, nr, at(netlink, 9)), ALLOW);
        }
    }

    #[test]
    fn wire_form_round_trips() {
        for prog in [notify(), deny(true)] {
            let bytes = to_bytes(&prog);
            assert_eq!(bytes.len(), prog.len() * 8);
            let back = fdsup_shim::protocol::decode_program(&bytes).expect("decodes");
            assert!(prog
                .iter()
                .zip(&back)
                .all(|(a, b)| (a.code, a.jt, a.jf, a.k) == (b.code, b.jt, b.jf, b.k)));
        }
    }
}

/// The same programs as seccompiler compiles them (chains of comparisons,
/// the shape fdsup used before [`compile`]): the reference the search is
/// tested against.
#[cfg(test)]
mod reference {
    use super::{Cond, Op, Piece, Width, MAX_INSNS, X32_SYSCALL_BIT};
    use seccompiler::{
        SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
        SeccompRule, TargetArch,
    };

    /// A `TRACE` action standing for "not matched here, try the next piece"
    /// (fdsup never uses TRACE).
    const NEXT: u32 = 0xfd6;

    fn stmt(code: u16, k: u32) -> libc::sock_filter {
        libc::sock_filter {
            code,
            jt: 0,
            jf: 0,
            k,
        }
    }

    fn condition(c: &Cond) -> SeccompCondition {
        let len = match c.width {
            Width::Low32 => SeccompCmpArgLen::Dword,
            Width::Full64 => SeccompCmpArgLen::Qword,
        };
        let op = match c.op {
            Op::Eq => SeccompCmpOp::Eq,
            Op::Ne => SeccompCmpOp::Ne,
            Op::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
        };
        SeccompCondition::new(c.arg, len, op, c.value).expect("valid condition")
    }

    /// One piece: its action on a match, `RET TRACE(NEXT)` otherwise.
    fn piece(p: &Piece) -> Vec<libc::sock_filter> {
        let rules = p
            .rules
            .iter()
            .map(|(nr, rules)| {
                let rules = rules
                    .iter()
                    .map(|r| SeccompRule::new(r.iter().map(condition).collect()).expect("rule"))
                    .collect();
                (*nr, rules)
            })
            .collect();
        let on_match = if p.action == libc::SECCOMP_RET_USER_NOTIF {
            SeccompAction::Trace(0xfd5)
        } else {
            SeccompAction::Errno(p.action & libc::SECCOMP_RET_DATA)
        };
        let prog: seccompiler::BpfProgram = SeccompFilter::new(
            rules,
            SeccompAction::Trace(NEXT),
            on_match,
            TargetArch::x86_64,
        )
        .and_then(TryInto::try_into)
        .expect("seccompiler compiles");
        prog.into_iter()
            .map(|i| libc::sock_filter {
                code: i.code,
                jt: i.jt,
                jf: i.jf,
                k: if i.code == 0x06 && i.k == u32::from(SeccompAction::Trace(0xfd5)) {
                    libc::SECCOMP_RET_USER_NOTIF
                } else {
                    i.k
                },
            })
            .collect()
    }

    /// The pieces joined (each `RET next` a jump to the following piece,
    /// `ALLOW` after the last), behind the x32 guard.
    pub fn compile(pieces: &[Piece]) -> Vec<libc::sock_filter> {
        let next = u32::from(SeccompAction::Trace(NEXT));
        let mut out = vec![
            stmt(0x20, 0),
            libc::sock_filter {
                code: 0x35,
                jt: 0,
                jf: 1,
                k: X32_SYSCALL_BIT,
            },
            stmt(0x06, libc::SECCOMP_RET_KILL_PROCESS),
        ];
        for p in pieces {
            let code = piece(p);
            let len = code.len();
            for (i, insn) in code.into_iter().enumerate() {
                if insn.code == 0x06 && insn.k == next {
                    out.push(stmt(0x05, u32::try_from(len - i - 1).expect("short")));
                } else {
                    out.push(insn);
                }
            }
        }
        out.push(stmt(0x06, libc::SECCOMP_RET_ALLOW));
        assert!(out.len() <= MAX_INSNS);
        out
    }
}

/// The programs as the kernel sees them, in a forked child: the kernel's
/// checker accepts them and the errnos come out as the interpreter says.
#[cfg(test)]
mod kernel_tests {
    use super::*;
    use crate::sys::child::testing::{run_steps, Arg, Outcome, Step};

    /// Makes `checks` in a forked child with the three filters installed
    /// as the shim installs them (the listener closed at once, as if the
    /// supervisor had died): 0 if every check gave its errno, else the
    /// number of the first that did not, or 100+ if set-up failed.
    fn in_sandboxed_child(native_looks: bool, checks: &[Step<'static>]) -> i32 {
        let filters = build(&FilterOptions {
            deny_network: true,
            native_looks,
            ..FilterOptions::default()
        })
        .expect("filters build");
        let mut steps = vec![
            Step::NoNewPrivs,
            Step::Seccomp {
                prog: &filters.deny,
                flags: 0,
            },
            Step::Seccomp {
                prog: &filters.notify,
                flags: libc::SECCOMP_FILTER_FLAG_NEW_LISTENER,
            },
            // `seccomp` is not mediated: the shim installs this one with
            // the notify filter in place.
            Step::Seccomp {
                prog: &filters.last,
                flags: 0,
            },
        ];
        steps.extend_from_slice(checks);
        match run_steps(&steps).expect("fork") {
            Outcome::Exited(status) => status,
            // A refused program (EINVAL) is a bug; no seccomp at all a skip.
            Outcome::Failed { step: 0, .. } => 101,
            Outcome::Failed { step, errno } if step <= 3 => {
                let skip = if errno == libc::ENOSYS { 110 } else { 102 };
                skip + i32::try_from(step).expect("small") - 1
            }
            Outcome::Failed { step, .. } => i32::try_from(step - 3).expect("small"),
            Outcome::Killed(sig) => panic!("child killed by signal {sig}"),
        }
    }

    /// A raw system call with up to three arguments and the errno it must
    /// give (`None`: success).
    fn call(nr: libc::c_long, args: [Arg; 3], errno: Option<i32>) -> Step<'static> {
        Step::Call { nr, args, errno }
    }

    fn int(v: impl TryInto<i64>) -> Arg {
        Arg::Int(v.try_into().unwrap_or(-1))
    }

    const S: fn(&'static std::ffi::CStr) -> Arg = Arg::Str;
    const Z: Arg = Arg::Int(0);

    /// Each check fails with its number.
    fn checks() -> Vec<Step<'static>> {
        use libc::*;
        vec![
            call(SYS_unshare, [int(CLONE_NEWUSER), Z, Z], Some(EPERM)),
            call(SYS_unshare, [int(CLONE_FILES), Z, Z], None),
            call(
                SYS_socket,
                [int(AF_INET), int(SOCK_STREAM), Z],
                Some(EACCES),
            ),
            call(SYS_socket, [int(AF_UNIX), int(SOCK_STREAM), Z], None),
            call(SYS_clone3, [Z, Z, Z], Some(ENOSYS)),
            call(SYS_ioctl, [Z, int(TIOCSTI), S(c"x")], Some(EPERM)),
            call(SYS_ptrace, [int(PTRACE_TRACEME), Z, Z], Some(EPERM)),
            // The last program: Landlock is not there for the program
            // (`landlock_create_ruleset(NULL, 0, VERSION)`, the ABI query).
            call(SYS_landlock_create_ruleset, [Z, Z, int(1)], Some(ENOSYS)),
            call(SYS_landlock_add_rule, [int(-1), int(1), Z], Some(ENOSYS)),
            call(SYS_landlock_restrict_self, [int(-1), Z, Z], Some(ENOSYS)),
            // Mediated, and no listener: fails closed, never allowed.
            call(SYS_openat, [int(AT_FDCWD), S(c"/"), Z], Some(ENOSYS)),
            call(SYS_getpid, [Z, Z, Z], None),
        ]
    }

    /// The looks and a few of what stays mediated, with the listener gone:
    /// a look that runs in the kernel succeeds, a mediated call fails closed
    /// (ENOSYS). `visible` says which the looks are.
    fn look_checks(visible: bool) -> Vec<Step<'static>> {
        use libc::*;
        let look = if visible { None } else { Some(ENOSYS) };
        vec![
            call(SYS_access, [S(c"/"), int(F_OK), Z], look),
            call(SYS_faccessat, [int(AT_FDCWD), S(c"/"), int(R_OK)], look),
            call(SYS_chdir, [S(c"/"), Z, Z], look),
            // Opens of every form stay mediated: failed closed.
            call(SYS_openat, [int(AT_FDCWD), S(c"/"), Z], Some(ENOSYS)),
            call(
                SYS_openat,
                [int(AT_FDCWD), S(c"/"), int(O_PATH)],
                Some(ENOSYS),
            ),
            call(SYS_open, [S(c"/"), int(O_DIRECTORY), Z], Some(ENOSYS)),
            call(SYS_mkdir, [S(c"/nonexistent-fdsup"), Z, Z], Some(ENOSYS)),
            // An attribute's value is not a look: mediated (a null buffer
            // of size 0 asks only for the size).
            call(SYS_listxattr, [S(c"/"), Z, Z], Some(ENOSYS)),
        ]
    }

    fn require_or_skip(status: i32) -> bool {
        if status == 110 || status == 111 {
            let require = std::env::var_os("FDSUP_REQUIRE_KERNEL").is_some_and(|v| v == "1");
            assert!(!require, "kernel lacks seccomp filters (status {status})");
            eprintln!("skipped: kernel lacks seccomp filters (status {status})");
            return true;
        }
        false
    }

    #[test]
    fn kernel_agrees() {
        let status = in_sandboxed_child(false, &checks());
        if require_or_skip(status) {
            return;
        }
        assert_eq!(status, 0, "check {status} failed in the sandboxed child");
    }

    #[test]
    fn kernel_runs_the_looks_only_in_visible_mode() {
        for visible in [false, true] {
            let status = in_sandboxed_child(visible, &look_checks(visible));
            if require_or_skip(status) {
                return;
            }
            assert_eq!(
                status, 0,
                "check {status} failed in the sandboxed child (visible {visible})"
            );
        }
    }
}

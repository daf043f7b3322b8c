//! The two seccomp BPF programs the shim installs, built with seccompiler.
//!
//! The kernel allows one listener per filter and a seccompiler filter has one
//! match action, so there are two programs (DESIGN.md "Start-up"):
//!
//! - the **deny** program: the always-enforced list of SPEC.md ("What is
//!   always enforced") -> `ERRNO`, everything else allowed. It does not depend
//!   on the policy except for [`FilterOptions::deny_network`];
//! - the **notify** program: every syscall of [`crate::syscalls::MEDIATED`]
//!   -> `SECCOMP_RET_USER_NOTIF`, everything else allowed; the exec family
//!   and `memfd_create` only where [`FilterOptions`] asks for them.
//!
//! The kernel runs both and applies the stricter result, so a denied syscall
//! never reaches the supervisor.
//!
//! Three things seccompiler does not do are done here, each in one small
//! function with its own tests:
//! - it has no `USER_NOTIF` action: the notify program is compiled with a
//!   sentinel `TRACE` action that `rewrite_returns` turns into
//!   `SECCOMP_RET_USER_NOTIF`;
//! - a filter has one match action, but the deny program needs three errnos:
//!   each errno is compiled as its own piece whose mismatch action is another
//!   sentinel, and `chain` turns those returns into jumps to the next piece,
//!   so the pieces form one program that allows only at its very end;
//! - it checks the audit arch (killing on i386 and any foreign arch) but not
//!   the x32 bit: `with_x32_guard` prepends `nr >= 0x40000000 -> KILL`.
//!   Prepending is safe because classic BPF jumps are relative and forward.
//!   (This also kills `syscall(-1)`, which does nothing but fail with ENOSYS.)
//!
//! The numbers are x86_64's, the only architecture fdsup supports.

use std::collections::BTreeMap;

use seccompiler::{
    BackendError, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

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
    /// The network section has rules or isolates: `connect`, `bind`,
    /// `sendmsg`, `sendmmsg` and `sendto` with an address are trapped and
    /// decided per request (`handlers::net`). Without it they are not in the
    /// notify program at all, so `@default` and `@allow-all` pay nothing.
    pub mediate_network: bool,
    /// With [`Self::mediate_network`] and a `deny` default: `socket()` of a
    /// family the supervisor cannot decide (packet, raw IP, anything but
    /// `AF_UNIX`, `AF_INET`, `AF_INET6` and routing netlink) fails with
    /// EACCES.
    pub deny_other_families: bool,
    /// `"metadata": "visible"`: the looks ([`crate::syscalls::is_look`]:
    /// the stat family, access, readlink, statfs, chdir, listings) are not
    /// trapped and run in the kernel. Opens of every form, changes, exec
    /// and the network are trapped as without it.
    pub native_looks: bool,
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
        k if crate::syscalls::is_network(k) => opts.mediate_network,
        k if crate::syscalls::is_look(k) => !opts.native_looks,
        _ => true,
    }
}

/// The two compiled programs, ready for [`to_bytes`].
#[derive(Debug, Clone)]
pub struct Filters {
    /// The always-enforced deny list: `ERRNO` or allow.
    pub deny: Vec<libc::sock_filter>,
    /// The mediated syscalls: `USER_NOTIF` or allow.
    pub notify: Vec<libc::sock_filter>,
}

/// Why a program could not be built. These are bugs in fdsup, not user errors.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// seccompiler refused the rules.
    #[error("cannot compile the {filter} filter")]
    Compile {
        filter: &'static str,
        #[source]
        source: BackendError,
    },
    /// A compiled program had no return with the expected sentinel action.
    #[error("the {filter} filter has no return with sentinel action {sentinel:#x}")]
    NoSentinel { filter: &'static str, sentinel: u32 },
    /// The program is longer than the kernel accepts.
    #[error("the {filter} filter has {len} instructions, more than the kernel's {max}")]
    TooLong {
        filter: &'static str,
        len: usize,
        max: usize,
    },
}

/// Builds both programs.
pub fn build(opts: &FilterOptions) -> Result<Filters, FilterError> {
    Ok(Filters {
        deny: build_deny(opts)?,
        notify: build_notify(opts)?,
    })
}

/// The wire form sent to the shim (8 bytes per instruction, native layout).
pub fn to_bytes(prog: &[libc::sock_filter]) -> Vec<u8> {
    fdsup_shim::protocol::encode_program(prog)
}

/// `BPF_MAXINSNS`.
const MAX_INSNS: usize = fdsup_shim::protocol::MAX_INSNS;

// Sentinel `SECCOMP_RET_TRACE` data values. fdsup never uses TRACE, and the
// tests check that no TRACE return survives, so a collision would show.
/// Stands for `SECCOMP_RET_USER_NOTIF` in the notify program.
const NOTIFY_SENTINEL: u32 = 0xfd5;
/// Stands for "not matched here, try the next piece" in the deny program.
const NEXT_PIECE_SENTINEL: u32 = 0xfd6;

/// The return value of a sentinel action.
fn sentinel(data: u32) -> u32 {
    u32::from(SeccompAction::Trace(data))
}

// Classic BPF opcodes (include/uapi/linux/bpf_common.h), as seccompiler emits them.
const BPF_LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JGE_K: u16 = 0x05 | 0x30;
const BPF_RET_K: u16 = 0x06;

/// `__X32_SYSCALL_BIT` (arch/x86/include/uapi/asm/unistd.h).
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

fn stmt(code: u16, k: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: 0,
        jf: 0,
        k,
    }
}

fn is_ret(insn: &libc::sock_filter, k: u32) -> bool {
    insn.code == BPF_RET_K && insn.k == k
}

/// Rewrites every `RET sentinel` instruction into `RET action` and nothing
/// else (a comparison whose operand happens to equal `sentinel` stays).
/// Returns how many were rewritten; none is an error, since it means the
/// sentinel never made it into the program.
fn rewrite_returns(
    prog: &mut [libc::sock_filter],
    sentinel: u32,
    action: u32,
    filter: &'static str,
) -> Result<usize, FilterError> {
    let mut n = 0;
    for insn in prog.iter_mut().filter(|i| is_ret(i, sentinel)) {
        insn.k = action;
        n += 1;
    }
    if n == 0 {
        return Err(FilterError::NoSentinel { filter, sentinel });
    }
    Ok(n)
}

/// Joins pieces compiled with the mismatch action `sentinel(NEXT_PIECE_SENTINEL)`
/// into one program: in each piece, every `RET next-piece` becomes a jump to
/// the first instruction of the following piece, and after the last piece
/// comes `RET last`. A piece's own matches still return at once.
fn chain(
    pieces: Vec<Vec<libc::sock_filter>>,
    last: u32,
    filter: &'static str,
) -> Result<Vec<libc::sock_filter>, FilterError> {
    let next = sentinel(NEXT_PIECE_SENTINEL);
    let mut out = Vec::with_capacity(pieces.iter().map(Vec::len).sum::<usize>() + 1);
    for piece in pieces {
        let len = piece.len();
        if !piece.iter().any(|i| is_ret(i, next)) {
            return Err(FilterError::NoSentinel {
                filter,
                sentinel: next,
            });
        }
        for (i, insn) in piece.into_iter().enumerate() {
            if is_ret(&insn, next) {
                // `JA k` continues at pc + 1 + k: the next piece starts at
                // local index `len`.
                let k = u32::try_from(len - i - 1).map_err(|_| FilterError::TooLong {
                    filter,
                    len,
                    max: MAX_INSNS,
                })?;
                out.push(stmt(BPF_JMP_JA, k));
            } else {
                out.push(insn);
            }
        }
    }
    out.push(stmt(BPF_RET_K, last));
    Ok(out)
}

/// Prepends `LD nr; JGE X32_SYSCALL_BIT ? RET KILL_PROCESS : next` and checks
/// the kernel's length limit.
fn with_x32_guard(
    prog: Vec<libc::sock_filter>,
    filter: &'static str,
) -> Result<Vec<libc::sock_filter>, FilterError> {
    let mut out = Vec::with_capacity(prog.len() + 3);
    out.push(stmt(BPF_LD_W_ABS, 0)); // seccomp_data.nr
    out.push(libc::sock_filter {
        code: BPF_JMP_JGE_K,
        jt: 0,
        jf: 1,
        k: X32_SYSCALL_BIT,
    });
    out.push(stmt(BPF_RET_K, libc::SECCOMP_RET_KILL_PROCESS));
    out.extend(prog);
    if out.len() > MAX_INSNS {
        return Err(FilterError::TooLong {
            filter,
            len: out.len(),
            max: MAX_INSNS,
        });
    }
    Ok(out)
}

/// Compiles one seccompiler filter for x86_64 and converts it to libc's type.
fn compile(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    on_match: SeccompAction,
    filter: &'static str,
) -> Result<Vec<libc::sock_filter>, FilterError> {
    let err = |source| FilterError::Compile { filter, source };
    let prog: seccompiler::BpfProgram =
        SeccompFilter::new(rules, mismatch, on_match, TargetArch::x86_64)
            .and_then(TryInto::try_into)
            .map_err(err)?;
    Ok(prog
        .into_iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect())
}

fn build_notify(opts: &FilterOptions) -> Result<Vec<libc::sock_filter>, FilterError> {
    const NAME: &str = "notify";
    let err = |source| FilterError::Compile {
        filter: NAME,
        source,
    };
    let mut rules = BTreeMap::new();
    for m in MEDIATED {
        if !traps(m, opts) {
            continue;
        }
        let conds = if m.kind == crate::syscalls::Kind::Sendto {
            // `send()` is `sendto` with no address: nothing to decide, and
            // by far the most frequent socket write.
            vec![SeccompRule::new(vec![SeccompCondition::new(
                4,
                SeccompCmpArgLen::Qword,
                SeccompCmpOp::Ne,
                0,
            )
            .map_err(err)?])
            .map_err(err)?]
        } else {
            Vec::new()
        };
        rules.insert(m.nr, conds);
    }
    let mut prog = compile(
        rules,
        SeccompAction::Allow,
        SeccompAction::Trace(NOTIFY_SENTINEL),
        NAME,
    )?;
    rewrite_returns(
        &mut prog,
        sentinel(NOTIFY_SENTINEL),
        libc::SECCOMP_RET_USER_NOTIF,
        NAME,
    )?;
    with_x32_guard(prog, NAME)
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

/// Path-taking syscalls fdsup does not mediate, which fail with ENOSYS, as
/// on a kernel without them: the `*xattrat` calls (Linux 6.13) and
/// `file_getattr`/`file_setattr` (6.17), which libc does not use yet and
/// which programs answer by falling back to the calls that are mediated;
/// `uselib` (a.out libraries, usually not built in).
const DENY_ENOSYS: &[(i64, &str)] = &[
    (libc::SYS_uselib, "uselib"),
    (463, "setxattrat"),
    (464, "getxattrat"),
    (465, "listxattrat"),
    (466, "removexattrat"),
    (468, "file_getattr"),
    (469, "file_setattr"),
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

/// `arg` (low 32 bits) `== value`, `!= value` or has all bits of `mask` set.
fn cond(arg: u8, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, BackendError> {
    SeccompCondition::new(arg, SeccompCmpArgLen::Dword, op, value)
}

fn int(v: libc::c_int) -> u64 {
    // Flags, families and protocols are non-negative; a negative one would be
    // a bug in libc and is mapped to a value that matches nothing useful.
    u64::try_from(v).unwrap_or(u64::MAX)
}

/// `ioctl` requests refused with EPERM: typing into the terminal.
const DENY_IOCTLS: [libc::c_ulong; 2] = [libc::TIOCSTI, libc::TIOCLINUX];

/// One always-enforced denial (SPEC.md, "What is always enforced"): the
/// deny program is compiled from these, and `fdsup agent profile` writes
/// them as the profile's `SCMP_ACT_ERRNO` rules, so the two cannot differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Denial {
    /// The x86_64 system-call number.
    pub nr: i64,
    /// Its name (as libseccomp and the OCI profile spell it).
    pub name: &'static str,
    /// The errno it fails with.
    pub errno: i32,
    /// Only when the low 32 bits of an argument match (`None`: always).
    pub when: Option<ArgMatch>,
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

/// The always-enforced denials: the [`DENY_EPERM`] calls, `unshare` and
/// `clone` of each new namespace and the [`DENY_IOCTLS`] (EPERM), then
/// `clone3` and the [`DENY_ENOSYS`] calls (ENOSYS).
pub fn always_denied() -> Vec<Denial> {
    let mut out: Vec<Denial> = DENY_EPERM
        .iter()
        .map(|&(nr, name)| Denial {
            nr,
            name,
            errno: libc::EPERM,
            when: None,
        })
        .collect();
    let flag = |nr, name, f: libc::c_int| {
        let f = u32::try_from(f).unwrap_or(0);
        Denial {
            nr,
            name,
            errno: libc::EPERM,
            when: Some(ArgMatch {
                arg: 0,
                mask: f,
                value: f,
            }),
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
    out.extend(DENY_IOCTLS.iter().map(|&req| Denial {
        nr: libc::SYS_ioctl,
        name: "ioctl",
        errno: libc::EPERM,
        when: Some(ArgMatch {
            arg: 1,
            mask: u32::MAX,
            value: u32::try_from(req).unwrap_or(u32::MAX),
        }),
    }));
    // clone3 passes its flags in memory a filter cannot read; ENOSYS makes
    // libc fall back to clone(2), whose flags the rules above check.
    out.push(Denial {
        nr: libc::SYS_clone3,
        name: "clone3",
        errno: libc::ENOSYS,
        when: None,
    });
    out.extend(DENY_ENOSYS.iter().map(|&(nr, name)| Denial {
        nr,
        name,
        errno: libc::ENOSYS,
        when: None,
    }));
    out
}

/// The seccompiler rules of the denials with errno `errno`.
fn denial_rules(errno: i32) -> Result<BTreeMap<i64, Vec<SeccompRule>>, BackendError> {
    let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
    for d in always_denied().into_iter().filter(|d| d.errno == errno) {
        let entry = rules.entry(d.nr).or_default();
        if let Some(m) = d.when {
            let op = if m.mask == u32::MAX {
                SeccompCmpOp::Eq
            } else {
                SeccompCmpOp::MaskedEq(u64::from(m.mask))
            };
            entry.push(SeccompRule::new(vec![cond(
                m.arg,
                op,
                u64::from(m.value),
            )?])?);
        }
    }
    Ok(rules)
}

/// `socket`/`socketpair` with a family other than `AF_UNIX` or
/// `AF_NETLINK`+`NETLINK_ROUTE`.
fn network_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, BackendError> {
    let rules = || -> Result<Vec<SeccompRule>, BackendError> {
        Ok(vec![
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Ne, int(libc::AF_UNIX))?,
                cond(0, SeccompCmpOp::Ne, int(libc::AF_NETLINK))?,
            ])?,
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Eq, int(libc::AF_NETLINK))?,
                cond(2, SeccompCmpOp::Ne, int(libc::NETLINK_ROUTE))?,
            ])?,
        ])
    };
    Ok([
        (libc::SYS_socket, rules()?),
        (libc::SYS_socketpair, rules()?),
    ]
    .into_iter()
    .collect())
}

/// `SOCK_PACKET` (include/linux/net.h), the obsolete packet socket type of
/// `AF_INET` (libc marks it deprecated).
const SOCK_PACKET: libc::c_int = 10;

/// `socket`/`socketpair` of what [`crate::handlers::net`] cannot decide:
/// families other than `AF_UNIX`, `AF_INET`, `AF_INET6` and routing
/// netlink, and raw or packet sockets of `AF_INET`/`AF_INET6` (their
/// packets carry their own headers, whatever address a send names).
fn other_family_rules() -> Result<BTreeMap<i64, Vec<SeccompRule>>, BackendError> {
    let rules = || -> Result<Vec<SeccompRule>, BackendError> {
        let mut v = vec![
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Ne, int(libc::AF_UNIX))?,
                cond(0, SeccompCmpOp::Ne, int(libc::AF_NETLINK))?,
                cond(0, SeccompCmpOp::Ne, int(libc::AF_INET))?,
                cond(0, SeccompCmpOp::Ne, int(libc::AF_INET6))?,
            ])?,
            SeccompRule::new(vec![
                cond(0, SeccompCmpOp::Eq, int(libc::AF_NETLINK))?,
                cond(2, SeccompCmpOp::Ne, int(libc::NETLINK_ROUTE))?,
            ])?,
        ];
        for fam in [libc::AF_INET, libc::AF_INET6] {
            for ty in [libc::SOCK_RAW, SOCK_PACKET] {
                v.push(SeccompRule::new(vec![
                    cond(0, SeccompCmpOp::Eq, int(fam))?,
                    cond(1, SeccompCmpOp::MaskedEq(0xf), int(ty))?,
                ])?);
            }
        }
        Ok(v)
    };
    Ok([
        (libc::SYS_socket, rules()?),
        (libc::SYS_socketpair, rules()?),
    ]
    .into_iter()
    .collect())
}

fn build_deny(opts: &FilterOptions) -> Result<Vec<libc::sock_filter>, FilterError> {
    const NAME: &str = "deny";
    let err = |source| FilterError::Compile {
        filter: NAME,
        source,
    };
    let next = || SeccompAction::Trace(NEXT_PIECE_SENTINEL);
    let errno = |e: libc::c_int| SeccompAction::Errno(u32::try_from(e).unwrap_or(0));

    let mut pieces = vec![
        compile(
            denial_rules(libc::EPERM).map_err(err)?,
            next(),
            errno(libc::EPERM),
            NAME,
        )?,
        compile(
            denial_rules(libc::ENOSYS).map_err(err)?,
            next(),
            errno(libc::ENOSYS),
            NAME,
        )?,
    ];
    if opts.deny_network || opts.deny_other_families {
        let rules = if opts.deny_network {
            network_rules()
        } else {
            other_family_rules()
        };
        pieces.push(compile(
            rules.map_err(err)?,
            next(),
            errno(libc::EACCES),
            NAME,
        )?);
    }
    with_x32_guard(chain(pieces, libc::SECCOMP_RET_ALLOW, NAME)?, NAME)
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(!prog.is_empty() && prog.len() <= MAX_INSNS);
        let mut a: u32 = 0;
        let mut pc = 0usize;
        loop {
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
                0x06 => return i.k,                                        // RET K
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

    /// Every option that adds a trapped syscall on.
    const ALL_TRAPS: FilterOptions = FilterOptions {
        deny_network: false,
        mediate_exec: true,
        broker_memfd: true,
        mediate_network: true,
        deny_other_families: false,
        native_looks: false,
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

    // ---- rewrite_returns, chain, x32 guard ----

    #[test]
    fn rewrite_returns_rewrites_all_sentinel_returns_and_nothing_else() {
        let s = sentinel(NOTIFY_SENTINEL);
        let mut prog = vec![
            stmt(BPF_LD_W_ABS, 0),
            libc::sock_filter {
                code: 0x15,
                jt: 0,
                jf: 1,
                k: s,
            }, // JEQ with the same k
            stmt(BPF_RET_K, s),
            stmt(BPF_RET_K, ALLOW),
            stmt(BPF_RET_K, s),
            stmt(BPF_RET_K, s + 1),
        ];
        let before = prog.clone();
        assert_eq!(rewrite_returns(&mut prog, s, NOTIF, "t").expect("found"), 2);
        for (i, (b, a)) in before.iter().zip(&prog).enumerate() {
            if i == 2 || i == 4 {
                assert_eq!((a.code, a.jt, a.jf, a.k), (BPF_RET_K, 0, 0, NOTIF));
            } else {
                assert_eq!(
                    (a.code, a.jt, a.jf, a.k),
                    (b.code, b.jt, b.jf, b.k),
                    "insn {i}"
                );
            }
        }
    }

    #[test]
    fn rewrite_returns_without_sentinel_is_an_error() {
        let mut prog = vec![stmt(BPF_RET_K, ALLOW)];
        let err = rewrite_returns(&mut prog, sentinel(NOTIFY_SENTINEL), NOTIF, "t").unwrap_err();
        assert!(
            matches!(err, FilterError::NoSentinel { filter: "t", .. }),
            "{err}"
        );
        assert_eq!(prog[0].k, ALLOW);
    }

    #[test]
    fn chain_jumps_to_the_next_piece() {
        let next = sentinel(NEXT_PIECE_SENTINEL);
        let piece = |nr: u32, ret: u32| {
            vec![
                stmt(BPF_LD_W_ABS, 0),
                libc::sock_filter {
                    code: 0x15,
                    jt: 0,
                    jf: 1,
                    k: nr,
                },
                stmt(BPF_RET_K, ret),
                stmt(BPF_RET_K, next),
            ]
        };
        let prog = chain(vec![piece(1, errno(1)), piece(2, errno(2))], ALLOW, "t").expect("chain");
        assert_eq!(prog.len(), 9);
        assert_eq!(run(&prog, &data(AUDIT_ARCH_X86_64, 1, [0; 6])), errno(1));
        assert_eq!(run(&prog, &data(AUDIT_ARCH_X86_64, 2, [0; 6])), errno(2));
        assert_eq!(run(&prog, &data(AUDIT_ARCH_X86_64, 3, [0; 6])), ALLOW);
        assert!(!prog.iter().any(|i| is_ret(i, next)));
        let err = chain(vec![vec![stmt(BPF_RET_K, ALLOW)]], ALLOW, "t").unwrap_err();
        assert!(matches!(err, FilterError::NoSentinel { .. }), "{err}");
    }

    #[test]
    fn x32_guard_kills_x32_and_keeps_the_rest() {
        let prog = with_x32_guard(vec![stmt(BPF_RET_K, ALLOW)], "t").expect("guard");
        assert_eq!(run(&prog, &data(AUDIT_ARCH_X86_64, 0, [0; 6])), ALLOW);
        assert_eq!(
            run(&prog, &data(AUDIT_ARCH_X86_64, 0x3fff_ffff, [0; 6])),
            ALLOW
        );
        assert_eq!(
            run(&prog, &data(AUDIT_ARCH_X86_64, 0x4000_0000, [0; 6])),
            KILL
        );
        assert_eq!(run(&prog, &data(AUDIT_ARCH_X86_64, u32::MAX, [0; 6])), KILL);
        let long = vec![stmt(BPF_RET_K, ALLOW); MAX_INSNS - 2];
        assert!(matches!(
            with_x32_guard(long, "t"),
            Err(FilterError::TooLong { .. })
        ));
    }

    // ---- both programs ----

    /// The code seccompiler emits right after our guard: its arch check.
    #[test]
    fn seccompiler_arch_check_follows_the_guard() {
        for prog in [notify(), deny(true)] {
            let arch = &prog[3..6];
            assert_eq!(
                (arch[0].code, arch[0].k),
                (BPF_LD_W_ABS, 4),
                "load seccomp_data.arch"
            );
            assert_eq!((arch[1].code, arch[1].jt, arch[1].jf), (0x15, 1, 0));
            assert_eq!(arch[1].k, AUDIT_ARCH_X86_64);
            assert_eq!((arch[2].code, arch[2].k), (BPF_RET_K, KILL));
        }
    }

    #[test]
    fn no_sentinel_or_trace_survives() {
        for prog in [notify(), deny(false), deny(true)] {
            for i in prog.iter().filter(|i| i.code == BPF_RET_K) {
                let action = i.k & libc::SECCOMP_RET_ACTION_FULL;
                assert_ne!(action, libc::SECCOMP_RET_TRACE, "TRACE return {:#x}", i.k);
            }
        }
    }

    #[test]
    fn foreign_abis_are_killed() {
        for prog in [notify(), deny(false), deny(true)] {
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
                match call(&prog, nr, [u64::MAX; 6]) {
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
                .filter(|m| crate::syscalls::is_network(m.kind))
                .count(),
            "only the exec family, memfd_create and the network calls are optional"
        );
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
                // An address for sendto, so that it is trapped when mediated.
                let args = [3, 0, 0, 0, 0x7fff_0000, 16];
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
        }
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

/// The programs as the kernel sees them, in a forked child: the kernel's
/// checker accepts them and the errnos come out as the interpreter says.
#[cfg(test)]
#[allow(unsafe_code)]
mod kernel_tests {
    use super::*;

    /// Runs `checks` in a forked child with both filters installed (the
    /// listener closed at once, as if the supervisor had died). The child
    /// makes raw system calls only and exits with the number of the first
    /// failed check, 0 if all passed, or 100+ if set-up failed.
    fn in_sandboxed_child(native_looks: bool, checks: fn() -> u8) -> i32 {
        let filters = build(&FilterOptions {
            deny_network: true,
            native_looks,
            ..FilterOptions::default()
        })
        .expect("filters build");
        let fprog = |p: &[libc::sock_filter]| libc::sock_fprog {
            len: u16::try_from(p.len()).expect("short program"),
            filter: p.as_ptr().cast_mut(),
        };
        let (deny, notify) = (fprog(&filters.deny), fprog(&filters.notify));
        // SAFETY: the child only makes raw system calls (async-signal-safe)
        // on memory prepared before the fork, then `_exit`s.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            // SAFETY: raw system calls whose pointer arguments (`deny`,
            // `notify`) point to live programs; `_exit` does not return.
            unsafe {
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                    libc::_exit(101);
                }
                // A refused program (EINVAL) is a bug; no seccomp at all a skip.
                let failed = || match *libc::__errno_location() {
                    libc::ENOSYS => 110,
                    _ => 102,
                };
                if libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &deny) != 0 {
                    libc::_exit(failed());
                }
                let flags = libc::SECCOMP_FILTER_FLAG_NEW_LISTENER;
                let fd = libc::syscall(
                    libc::SYS_seccomp,
                    libc::SECCOMP_SET_MODE_FILTER,
                    flags,
                    &notify,
                );
                if fd < 0 {
                    libc::_exit(failed() + 1);
                }
                let Ok(fd) = libc::c_int::try_from(fd) else {
                    libc::_exit(104)
                };
                if libc::close(fd) != 0 {
                    libc::_exit(104);
                }
                libc::_exit(i32::from(checks()));
            }
        }
        let mut status = 0;
        // SAFETY: waits for our own child; `status` is writable.
        while unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
            assert_eq!(
                std::io::Error::last_os_error().raw_os_error(),
                Some(libc::EINTR)
            );
        }
        assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
        libc::WEXITSTATUS(status)
    }

    /// A raw system call with up to three arguments: `None` on success, else
    /// the errno. Pointers are passed as their address.
    fn sys(nr: libc::c_long, a: libc::c_long, b: libc::c_long, c: libc::c_long) -> Option<i32> {
        // SAFETY: the checks below pass integers or pointers to static,
        // NUL-terminated strings, which the kernel only reads.
        let r = unsafe { libc::syscall(nr, a, b, c) };
        (r < 0).then(|| std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    }

    fn ptr(s: &'static std::ffi::CStr) -> libc::c_long {
        libc::c_long::try_from(s.as_ptr().addr()).unwrap_or(0)
    }

    fn long(v: impl TryInto<libc::c_long>) -> libc::c_long {
        v.try_into().unwrap_or(-1)
    }

    /// Each check returns its number on failure.
    fn checks() -> u8 {
        use libc::*;
        let expect = [
            (sys(SYS_unshare, long(CLONE_NEWUSER), 0, 0), Some(EPERM)),
            (sys(SYS_unshare, long(CLONE_FILES), 0, 0), None),
            (
                sys(SYS_socket, long(AF_INET), long(SOCK_STREAM), 0),
                Some(EACCES),
            ),
            (sys(SYS_socket, long(AF_UNIX), long(SOCK_STREAM), 0), None),
            (sys(SYS_clone3, 0, 0, 0), Some(ENOSYS)),
            (sys(SYS_ioctl, 0, long(TIOCSTI), ptr(c"x")), Some(EPERM)),
            (sys(SYS_ptrace, long(PTRACE_TRACEME), 0, 0), Some(EPERM)),
            // Mediated, and no listener: fails closed, never allowed.
            (sys(SYS_openat, long(AT_FDCWD), ptr(c"/"), 0), Some(ENOSYS)),
            (sys(SYS_getpid, 0, 0, 0), None),
        ];
        for (n, (got, want)) in (1u8..).zip(expect) {
            if got != want {
                return n;
            }
        }
        0
    }

    /// The looks and a few of what stays mediated, with the listener gone:
    /// a look that runs in the kernel succeeds, a mediated call fails closed
    /// (ENOSYS). `visible` says which the looks are.
    fn look_checks(visible: bool) -> u8 {
        use libc::*;
        let look = if visible { None } else { Some(ENOSYS) };
        let expect = [
            (sys(SYS_access, ptr(c"/"), long(F_OK), 0), look),
            (
                sys(SYS_faccessat, long(AT_FDCWD), ptr(c"/"), long(R_OK)),
                look,
            ),
            (sys(SYS_chdir, ptr(c"/"), 0, 0), look),
            // Opens of every form stay mediated: failed closed.
            (sys(SYS_openat, long(AT_FDCWD), ptr(c"/"), 0), Some(ENOSYS)),
            (
                sys(SYS_openat, long(AT_FDCWD), ptr(c"/"), long(O_PATH)),
                Some(ENOSYS),
            ),
            (sys(SYS_open, ptr(c"/"), long(O_DIRECTORY), 0), Some(ENOSYS)),
            (
                sys(SYS_mkdir, ptr(c"/nonexistent-fdsup"), 0, 0),
                Some(ENOSYS),
            ),
            // An attribute's value is not a look: mediated (a null buffer
            // of size 0 asks only for the size).
            (sys(SYS_listxattr, ptr(c"/"), 0, 0), Some(ENOSYS)),
        ];
        for (n, (got, want)) in (1u8..).zip(expect) {
            if got != want {
                return n;
            }
        }
        0
    }

    fn policy_look_checks() -> u8 {
        look_checks(false)
    }

    fn visible_look_checks() -> u8 {
        look_checks(true)
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
        let status = in_sandboxed_child(false, checks);
        if require_or_skip(status) {
            return;
        }
        assert_eq!(status, 0, "check {status} failed in the sandboxed child");
    }

    #[test]
    fn kernel_runs_the_looks_only_in_visible_mode() {
        for (visible, checks) in [
            (false, policy_look_checks as fn() -> u8),
            (true, visible_look_checks),
        ] {
            let status = in_sandboxed_child(visible, checks);
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

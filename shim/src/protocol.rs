//! The hand-off protocol between the supervisor and the shim, used by both sides.
//!
//! The supervisor starts the shim (a fork of itself calling [`crate::main`], or
//! `/proc/self/exe __shim SOCKFD N PROGRAM... ARGV0 [ARG...]`: the `N` paths
//! to try in turn, see [`crate::main`])
//! with one end of a `socketpair(AF_UNIX, SOCK_SEQPACKET)` as `SOCKFD`. Being a
//! packet socket, every `send` below is one message and arrives whole or not at
//! all, so no framing is needed.
//!
//! 1. supervisor -> shim: optionally the one byte [`ISOLATE_IPC`] (sent
//!    at once where the supervisor holds `CAP_SYS_ADMIN`; the shim makes
//!    the IPC namespace), then optionally the one byte [`ISOLATE_NETWORK`] (sent
//!    as soon as the supervisor knows the policy isolates: before loading
//!    an embedded one, else once it is loaded; the shim makes the network
//!    namespace at once, while the supervisor goes on), then optionally
//!    the one byte [`DROP_MAP_FILES_CAPS`] (the exec default denies), then
//!    the deny program, then the notify program, then the last program,
//!    each one message in the wire form of [`encode_program`]. The shim
//!    installs the first two after `no_new_privs`, while the supervisor
//!    builds the Landlock ruleset from the policy (the two are the longest
//!    steps of start-up, so they overlap), and keeps the last for step 4.
//! 2. shim -> supervisor: [`ShimMessage::Listener`] (the filters are in place),
//!    or [`ShimMessage::SetupFailed`] and exit status [`EXIT_SETUP_FAILED`].
//! 3. supervisor -> shim: the ruleset message ([`encode_ruleset`]), once it
//!    holds the listener (taken with `pidfd_getfd`; the descriptor itself is
//!    never sent) and a worker receives: it is the "go". It says whether
//!    the shim is to restrict itself with Landlock, and if so carries the
//!    ruleset's descriptor (`SCM_RIGHTS`), the only descriptor ever passed,
//!    and it goes this way: the shim's `recvmsg` is not a mediated call, so
//!    it cannot wait for the supervisor although the notify filter is in
//!    place. The shim calls `landlock_restrict_self` and closes it.
//!    (Before, the ruleset came before the listener's number and a separate
//!    "go" byte after it: one exchange more on the start-up's path.)
//! 4. shim: installs the last program (the program's own Landlock calls
//!    refused: see [`crate`]), then `execve` of each program path in turn
//!    until one runs (a path
//!    the sandbox hides or denies is skipped, as a shell in the sandbox
//!    would skip it in its `PATH` search). Success closes the socket (it is
//!    close-on-exec), so the
//!    supervisor reads end-of-file; failure sends [`ShimMessage::ExecFailed`]
//!    (or [`ShimMessage::SetupFailed`] at [`SetupStage::Landlock`],
//!    [`SetupStage::LastFilter`] or [`SetupStage::Signals`]) and exits with [`exec_failure_status`]
//!    ([`EXIT_SETUP_FAILED`] for a set-up failure). End-of-file instead of
//!    the ruleset message: the shim exits with [`EXIT_SETUP_FAILED`] and the
//!    program never runs.
//!
//! Messages from the shim have a fixed size ([`MESSAGE_SIZE`]) and native byte
//! order: both ends are the same binary on the same machine.

use std::fmt;

/// `argv[1]` that makes the `fdsup` binary run [`crate::main`] instead of its
/// command line.
pub const SHIM_ARG: &str = "__shim";

/// Bytes of one `struct sock_filter` on the wire: `code: u16, jt: u8, jf: u8, k: u32`.
pub const INSN_SIZE: usize = 8;

/// The most instructions a classic BPF program may have (`BPF_MAXINSNS`,
/// include/uapi/linux/bpf_common.h).
pub const MAX_INSNS: usize = 4096;

/// The largest program message, in bytes.
pub const MAX_PROGRAM_BYTES: usize = MAX_INSNS * INSN_SIZE;

/// Bytes of every [`ShimMessage`]: tag `u32`, value `i32`, extra `u32`.
pub const MESSAGE_SIZE: usize = 12;

/// Bytes of the ruleset message: one native `u32`, [`RULESET_NONE`] or
/// [`RULESET_ATTACHED`]. Not a multiple of [`INSN_SIZE`], so it can never be
/// taken for a program.
pub const RULESET_MESSAGE_SIZE: usize = 4;
/// No Landlock ruleset: the policy does not limit exec.
pub const RULESET_NONE: u32 = 0;
/// A Landlock ruleset is attached (`SCM_RIGHTS`, exactly one descriptor).
pub const RULESET_ATTACHED: u32 = 0x4c4c_4b31; // "LLK1"

/// The ruleset message.
pub fn encode_ruleset(attached: bool) -> [u8; RULESET_MESSAGE_SIZE] {
    if attached {
        RULESET_ATTACHED
    } else {
        RULESET_NONE
    }
    .to_ne_bytes()
}

/// Parses a ruleset message: `Some(attached)`, `None` if malformed.
pub fn decode_ruleset(bytes: &[u8]) -> Option<bool> {
    let bytes: [u8; RULESET_MESSAGE_SIZE] = bytes.try_into().ok()?;
    match u32::from_ne_bytes(bytes) {
        RULESET_NONE => Some(false),
        RULESET_ATTACHED => Some(true),
        _ => None,
    }
}

/// Exit status of a shim that failed before exec (SPEC.md: fdsup failed).
pub const EXIT_SETUP_FAILED: i32 = 125;
/// Exit status when the program exists but could not be executed.
pub const EXIT_CANNOT_EXECUTE: i32 = 126;
/// Exit status when the program was not found.
pub const EXIT_NOT_FOUND: i32 = 127;

/// The exit status for a failed `execve` with this errno, as a shell would use.
pub fn exec_failure_status(errno: i32) -> i32 {
    if errno == libc::ENOENT {
        EXIT_NOT_FOUND
    } else {
        EXIT_CANNOT_EXECUTE
    }
}

/// Encodes a BPF program in the wire form: [`INSN_SIZE`] bytes per
/// instruction, native layout.
pub fn encode_program(prog: &[libc::sock_filter]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prog.len() * INSN_SIZE);
    for insn in prog {
        out.extend_from_slice(&insn.code.to_ne_bytes());
        out.push(insn.jt);
        out.push(insn.jf);
        out.extend_from_slice(&insn.k.to_ne_bytes());
    }
    out
}

/// Why a program message was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgramError {
    /// No instruction at all: the kernel refuses an empty filter.
    Empty,
    /// The length (bytes) is not a whole number of instructions.
    Ragged(usize),
    /// More than [`MAX_INSNS`] instructions (length in bytes).
    TooLong(usize),
}

impl fmt::Display for ProgramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "empty BPF program"),
            Self::Ragged(n) => write!(
                f,
                "BPF program of {n} bytes is not a multiple of {INSN_SIZE}"
            ),
            Self::TooLong(n) => {
                write!(
                    f,
                    "BPF program of {n} bytes is longer than {MAX_INSNS} instructions"
                )
            }
        }
    }
}

impl std::error::Error for ProgramError {}

/// Decodes the wire form of [`encode_program`], checking its length.
pub fn decode_program(bytes: &[u8]) -> Result<Vec<libc::sock_filter>, ProgramError> {
    if bytes.is_empty() {
        return Err(ProgramError::Empty);
    }
    if !bytes.len().is_multiple_of(INSN_SIZE) {
        return Err(ProgramError::Ragged(bytes.len()));
    }
    if bytes.len() > MAX_PROGRAM_BYTES {
        return Err(ProgramError::TooLong(bytes.len()));
    }
    Ok(bytes
        .chunks_exact(INSN_SIZE)
        .map(|c| libc::sock_filter {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
}

/// A one-byte message the supervisor may send before the deny program:
/// the program runs in a new, empty network namespace (the policy's
/// `isolate`). Programs are multiples of [`INSN_SIZE`] bytes, so a one-byte
/// message cannot be mistaken for one.
pub const ISOLATE_NETWORK: u8 = b'N';

/// A one-byte message the supervisor may send first, before
/// [`ISOLATE_NETWORK`] and the rest: the program runs in a new IPC
/// namespace (`unshare(CLONE_NEWIPC)`), so that it reaches no System V
/// shared memory segment, message queue or semaphore set, nor POSIX
/// message queue, of another program (System V ids are small and
/// guessable, and no policy rule names them). Sent where the supervisor
/// holds `CAP_SYS_ADMIN`, which the shim, its fork, holds too. Without it,
/// the user namespace that [`ISOLATE_NETWORK`] makes brings a new IPC
/// namespace along; fdsup makes no user namespace for this alone (it
/// would change the credentials fdsup's own code sees the program with).
pub const ISOLATE_IPC: u8 = b'I';

/// A one-byte message the supervisor may send before the deny program
/// (after [`ISOLATE_NETWORK`], if that is sent): the program is not to hold
/// `CAP_SYS_ADMIN` nor `CAP_CHECKPOINT_RESTORE`, the capabilities with which
/// the kernel resolves `/proc/<pid>/map_files/*`. Sent where the exec
/// default denies: through those links a program could otherwise exec
/// shared anonymous memory (shmem with no path, which Landlock does not
/// check) by a path the supervisor never saw.
pub const DROP_MAP_FILES_CAPS: u8 = b'C';

/// The step of the shim's set-up that failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SetupStage {
    /// Receiving the deny program.
    ReceiveDeny = 1,
    /// Receiving the notify program.
    ReceiveNotify = 2,
    /// A program message was malformed (errno `EINVAL`).
    Program = 3,
    /// A program path, the arguments or the environment contain a NUL byte.
    Arguments = 4,
    /// Resetting the signal mask or `SIGPIPE` for the program.
    Signals = 5,
    /// `prctl(PR_SET_NO_NEW_PRIVS)`.
    NoNewPrivs = 6,
    /// Installing the deny filter.
    DenyFilter = 7,
    /// Installing the notify filter.
    NotifyFilter = 8,
    /// Receiving the Landlock ruleset message (a malformed one: `EINVAL`).
    ReceiveRuleset = 9,
    /// `landlock_restrict_self`.
    Landlock = 10,
    /// Entering a new, empty network namespace (`isolate`).
    NetworkNamespace = 11,
    /// Receiving the last program.
    ReceiveLast = 12,
    /// Installing the last filter (after `landlock_restrict_self`).
    LastFilter = 13,
    /// Dropping the capabilities of [`DROP_MAP_FILES_CAPS`].
    Capabilities = 14,
    /// Entering a new IPC namespace ([`ISOLATE_IPC`]).
    IpcNamespace = 15,
}

impl SetupStage {
    const ALL: [Self; 15] = [
        Self::ReceiveDeny,
        Self::ReceiveNotify,
        Self::Program,
        Self::Arguments,
        Self::Signals,
        Self::NoNewPrivs,
        Self::DenyFilter,
        Self::NotifyFilter,
        Self::ReceiveRuleset,
        Self::Landlock,
        Self::NetworkNamespace,
        Self::ReceiveLast,
        Self::LastFilter,
        Self::Capabilities,
        Self::IpcNamespace,
    ];

    fn from_u8(v: u8) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as u8 == v)
    }
}

impl fmt::Display for SetupStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::ReceiveDeny => "receiving the deny filter",
            Self::ReceiveNotify => "receiving the notify filter",
            Self::Program => "decoding a filter program",
            Self::Arguments => "preparing the program's arguments and environment",
            Self::Signals => "resetting signal handling",
            Self::NoNewPrivs => "setting no_new_privs",
            Self::DenyFilter => "installing the deny filter",
            Self::NotifyFilter => "installing the notify filter",
            Self::ReceiveRuleset => "receiving the Landlock ruleset",
            Self::Landlock => "restricting exec with Landlock (landlock_restrict_self)",
            Self::ReceiveLast => "receiving the last filter",
            Self::LastFilter => "installing the last filter (the program's own Landlock refused)",
            Self::Capabilities => {
                "dropping CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE (the exec default denies)"
            }
            Self::IpcNamespace => "entering a new IPC namespace (unshare(CLONE_NEWIPC))",
            Self::NetworkNamespace => {
                "entering a new network namespace (isolate; as non-root this needs unprivileged user namespaces)"
            }
        })
    }
}

/// A message from the shim to the supervisor; each is [`MESSAGE_SIZE`] bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShimMessage {
    /// Both filters are installed; `fd` is the listener's number *in the
    /// shim*, to be taken with `pidfd_getfd`. `wait_killable` says whether the
    /// kernel accepted `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV`.
    Listener { fd: i32, wait_killable: bool },
    /// Set-up failed with this errno; the shim exits with [`EXIT_SETUP_FAILED`].
    SetupFailed { errno: i32, stage: SetupStage },
    /// `execve` failed with this errno; the shim exits with
    /// [`exec_failure_status`].
    ExecFailed { errno: i32 },
}

const TAG_LISTENER: u32 = 1;
const TAG_SETUP_FAILED: u32 = 2;
const TAG_EXEC_FAILED: u32 = 3;

impl ShimMessage {
    /// The fixed-size wire form.
    pub fn encode(&self) -> [u8; MESSAGE_SIZE] {
        let (tag, value, extra) = match *self {
            Self::Listener { fd, wait_killable } => (TAG_LISTENER, fd, u32::from(wait_killable)),
            Self::SetupFailed { errno, stage } => (TAG_SETUP_FAILED, errno, u32::from(stage as u8)),
            Self::ExecFailed { errno } => (TAG_EXEC_FAILED, errno, 0),
        };
        let mut out = [0u8; MESSAGE_SIZE];
        out[0..4].copy_from_slice(&tag.to_ne_bytes());
        out[4..8].copy_from_slice(&value.to_ne_bytes());
        out[8..12].copy_from_slice(&extra.to_ne_bytes());
        out
    }

    /// Parses a message; `None` for a wrong size, an unknown tag or a value out
    /// of range (negative fd, errno not positive, unknown stage).
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let bytes: &[u8; MESSAGE_SIZE] = bytes.try_into().ok()?;
        let tag = u32::from_ne_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
        let value = i32::from_ne_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        let extra = u32::from_ne_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
        match tag {
            TAG_LISTENER if value >= 0 => {
                let wait_killable = match extra {
                    0 => false,
                    1 => true,
                    _ => return None,
                };
                Some(Self::Listener {
                    fd: value,
                    wait_killable,
                })
            }
            TAG_SETUP_FAILED if value > 0 => {
                let stage = SetupStage::from_u8(u8::try_from(extra).ok()?)?;
                Some(Self::SetupFailed {
                    errno: value,
                    stage,
                })
            }
            TAG_EXEC_FAILED if value > 0 && extra == 0 => Some(Self::ExecFailed { errno: value }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
        libc::sock_filter { code, jt, jf, k }
    }

    fn same(a: &[libc::sock_filter], b: &[libc::sock_filter]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x.code, x.jt, x.jf, x.k) == (y.code, y.jt, y.jf, y.k))
    }

    #[test]
    fn program_round_trip() {
        let prog = [
            insn(0x20, 0, 0, 4),
            insn(0x15, 1, 0, 0xc000_003e),
            insn(0x06, 0, 0, 0x7fc0_0000),
        ];
        let bytes = encode_program(&prog);
        assert_eq!(bytes.len(), 3 * INSN_SIZE);
        let back = decode_program(&bytes).expect("valid program");
        assert!(same(&prog, &back));
    }

    #[test]
    fn program_layout_is_native_sock_filter() {
        let bytes = encode_program(&[insn(0x1234, 0x56, 0x78, 0x9abc_def0)]);
        let mut want = Vec::new();
        want.extend_from_slice(&0x1234u16.to_ne_bytes());
        want.extend_from_slice(&[0x56, 0x78]);
        want.extend_from_slice(&0x9abc_def0u32.to_ne_bytes());
        assert_eq!(bytes, want);
        assert_eq!(std::mem::size_of::<libc::sock_filter>(), INSN_SIZE);
    }

    #[test]
    fn program_lengths_are_checked() {
        assert_eq!(decode_program(&[]).unwrap_err(), ProgramError::Empty);
        assert_eq!(
            decode_program(&[0; 12]).unwrap_err(),
            ProgramError::Ragged(12)
        );
        assert_eq!(
            decode_program(&vec![0; MAX_PROGRAM_BYTES]).map(|p| p.len()),
            Ok(MAX_INSNS)
        );
        let too_long = MAX_PROGRAM_BYTES + INSN_SIZE;
        assert_eq!(
            decode_program(&vec![0; too_long]).unwrap_err(),
            ProgramError::TooLong(too_long)
        );
    }

    #[test]
    fn messages_round_trip() {
        let all = [
            ShimMessage::Listener {
                fd: 3,
                wait_killable: true,
            },
            ShimMessage::Listener {
                fd: 0,
                wait_killable: false,
            },
            ShimMessage::ExecFailed {
                errno: libc::ENOENT,
            },
        ]
        .into_iter()
        .chain(SetupStage::ALL.map(|stage| ShimMessage::SetupFailed {
            errno: libc::EPERM,
            stage,
        }));
        for m in all {
            let bytes = m.encode();
            assert_eq!(bytes.len(), MESSAGE_SIZE);
            assert_eq!(ShimMessage::decode(&bytes), Some(m));
        }
    }

    #[test]
    fn bad_messages_are_refused() {
        let raw = |tag: u32, value: i32, extra: u32| {
            let mut b = [0u8; MESSAGE_SIZE];
            b[0..4].copy_from_slice(&tag.to_ne_bytes());
            b[4..8].copy_from_slice(&value.to_ne_bytes());
            b[8..12].copy_from_slice(&extra.to_ne_bytes());
            b
        };
        let good = ShimMessage::Listener {
            fd: 5,
            wait_killable: true,
        }
        .encode();
        assert_eq!(ShimMessage::decode(&good[..11]), None);
        assert_eq!(ShimMessage::decode(&[good.as_slice(), &[0]].concat()), None);
        assert_eq!(ShimMessage::decode(&raw(0, 1, 0)), None);
        assert_eq!(ShimMessage::decode(&raw(99, 1, 0)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_LISTENER, -1, 0)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_LISTENER, 4, 2)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_SETUP_FAILED, 0, 1)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_SETUP_FAILED, 1, 0)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_SETUP_FAILED, 1, 16)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_SETUP_FAILED, 1, 0x101)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_EXEC_FAILED, 2, 1)), None);
        assert_eq!(ShimMessage::decode(&raw(TAG_EXEC_FAILED, -2, 0)), None);
    }

    #[test]
    fn ruleset_messages() {
        assert_eq!(decode_ruleset(&encode_ruleset(true)), Some(true));
        assert_eq!(decode_ruleset(&encode_ruleset(false)), Some(false));
        assert_eq!(decode_ruleset(&[0; 3]), None);
        assert_eq!(decode_ruleset(&[0; 8]), None);
        assert_eq!(decode_ruleset(&7u32.to_ne_bytes()), None);
        assert_ne!(RULESET_MESSAGE_SIZE % INSN_SIZE, 0);
    }

    #[test]
    fn exec_failure_statuses() {
        assert_eq!(exec_failure_status(libc::ENOENT), 127);
        assert_eq!(exec_failure_status(libc::EACCES), 126);
        assert_eq!(exec_failure_status(libc::ENOEXEC), 126);
    }
}

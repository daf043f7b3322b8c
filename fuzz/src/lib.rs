//! fdsup-fuzz: differential fuzzing of fdsup against the kernel.
//!
//! A seeded generator ([`gen`]) makes sequences of the system calls fdsup
//! mediates, with hostile arguments ([`model`]); the executor ([`exec`])
//! runs a sequence in a scratch tree and prints a transcript; the driver
//! ([`driver`]) runs the same seed natively and under `fdsup run`, compares
//! the transcripts and the resulting trees ([`tree`]), and reports the first
//! difference with the seed and index that reproduce it (and a smaller set
//! of calls that still shows it). [`race`] adds threads that close and
//! reuse descriptors and rewrite paths while calls are in flight;
//! [`policy`] feeds mutated policy texts to `fdsup check`.
//!
//! Raw system calls live in `sys`, the only module allowed `unsafe`.
#![deny(unsafe_code)]
// The executor works with raw 64-bit syscall registers throughout: the
// truncating and sign-changing casts are the point (the kernel reads an
// `int` from a register the program filled with anything).
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap
)]

pub mod driver;
pub mod exec;
pub mod gen;
pub mod model;
pub mod policy;
pub mod race;
pub mod rng;
pub mod sys;
pub mod tree;

/// What is left out of the comparison, and why. Each class the executor
/// prints as `X(class)` is here; so are the fields it never prints.
pub const EXCLUSIONS: &[(&str, &str)] = &[
    (
        "inode numbers, times (but modification times set explicitly to small values), pids",
        "they differ between any two runs by design",
    ),
    (
        "X(opath-special)",
        "README Limits: an O_PATH open of a symbolic link (O_NOFOLLOW) fails with EOPNOTSUPP, of a FIFO, socket or device with ENXIO (ADDFD refuses O_PATH files)",
    ),
    (
        "X(opath-fd)",
        "README Limits: an O_PATH open is served with an O_RDONLY descriptor, so calls that natively refuse an O_PATH descriptor (fchmod, fchown, fsetxattr, fremovexattr, getdents, read, write, lseek, listen, setsockopt, utimensat/futimesat with a NULL path) behave otherwise under fdsup",
    ),
    (
        "X(unlinked-reopen)",
        "README Limits: an unlinked file (or memfd) reached through /proc/self/fd can be reopened only within the access its descriptor already has (an O_PATH one, served read-only, has read); the kernel checks the file's permissions instead",
    ),
    (
        "X(resolve-cached)",
        "openat2(2): with RESOLVE_CACHED the kernel may answer EAGAIN whenever it cannot finish from its caches; fdsup always does (its own lookups change what is cached), so only argument errors are compared",
    ),
    (
        "X(mknod-special)",
        "SPEC: rw allows mknod of regular files and FIFOs only (character and block devices and sockets are EPERM under fdsup); FIFOs are made but not kept, since opening one blocks and a blocked request under fdsup ends only by SIGKILL (README Limits)",
    ),
    (
        "X(foreign-credentials)",
        "README Limits: SCM_CREDENTIALS that do not name the program itself are EPERM under fdsup, even for a program with CAP_SYS_ADMIN",
    ),
    (
        "the pid of received SCM_CREDENTIALS and SO_PEERCRED",
        "README Limits: a unix socket sent on by fdsup carries fdsup's pid",
    ),
    (
        "X(netlink-send)",
        "harness: sends on netlink sockets are not made at all (random bytes could reconfigure the network namespace)",
    ),
    (
        "O_NONBLOCK is added to every open, MSG_DONTWAIT|MSG_NOSIGNAL to every send",
        "harness: a blocking FIFO open or send would wait forever in both runs",
    ),
    (
        "which error a failing connect, bind or send reports, where it fails natively too",
        "README Limits: with several faults at once (a bad buffer and a closed peer, say) fdsup may report another of them than the kernel, which checks the socket before it copies the data; success against failure, what is sent and the tree are still compared",
    ),
    (
        "X(proc-listing)",
        "SPEC: /proc/<pid> of processes outside the sandbox is hidden, from listings of /proc too",
    ),
    (
        "readlink results that are pids (/proc/self, /proc/thread-self)",
        "pids differ between any two runs",
    ),
    (
        "the link count of /proc itself",
        "it is the number of processes on the machine (fdsup is one more)",
    ),
    (
        "source addresses of received datagrams; statfs free counts",
        "autobound unix names and ephemeral ports are random; free blocks change with other activity",
    ),
];

/// FNV-1a, 64 bits: a stable hash for transcripts and digests.
#[derive(Debug, Clone, Copy)]
pub struct Fnv(u64);

impl Fnv {
    /// The offset basis.
    pub fn new() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
    /// Adds bytes.
    pub fn add(&mut self, b: &[u8]) {
        for &c in b {
            self.0 ^= u64::from(c);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    /// The hash.
    pub fn get(self) -> u64 {
        self.0
    }
}

impl Default for Fnv {
    fn default() -> Self {
        Self::new()
    }
}

/// FNV-1a of `b`.
pub fn fnv(b: &[u8]) -> u64 {
    let mut h = Fnv::new();
    h.add(b);
    h.get()
}

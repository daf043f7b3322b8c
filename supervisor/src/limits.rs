//! Every size the sandboxed program controls, bounded, in one place.
//!
//! The program chooses every pointer, length and count of its requests,
//! and how many requests it makes: nothing it says may make fdsup allocate,
//! read, hold or loop without a bound. Each limit below says what it bounds
//! and what the program gets beyond it (where the kernel has the same
//! limit, the same answer, so that the program cannot tell). README's
//! "Limits of what a program can make fdsup hold" lists them for users.
//!
//! Also bounded, where the kernel's own structure fixes the value:
//! `sys::net::SOCKADDR_MAX` (128, `sizeof(struct sockaddr_storage)`: a
//! longer `connect`/`bind`/`sendto` address is `EINVAL`, a longer
//! `msg_name` is cut to it, as natively) and `sys::net::UIO_MAXIOV` (1024:
//! the iovecs of one message, `EMSGSIZE` beyond; the messages of one
//! `sendmmsg`, more are not read, as the kernel caps `vlen`).

/// Bytes of a path argument, its terminating NUL included: the kernel's
/// `PATH_MAX`. A longer path fails with `ENAMETOOLONG`, as natively; the
/// supervisor never reads more of it.
pub const PATH_BYTES: usize = 4096;

/// Bytes of directory entries one `getdents`/`getdents64` reads at once,
/// whatever count the program asked for (it gets fewer entries per call
/// and calls again, as it must for any directory).
pub const LISTING_BYTES: usize = 1 << 20;

/// Bytes of an extended attribute's name (`XATTR_NAME_MAX`); longer fails
/// with `ERANGE`, as natively.
pub const XATTR_NAME_BYTES: usize = 255;

/// Bytes of an extended attribute's value, or of a list of names
/// (`XATTR_SIZE_MAX`, `XATTR_LIST_MAX`): a larger value to set fails with
/// `E2BIG`, as natively; a larger buffer to read into is used up to this.
pub const XATTR_VALUE_BYTES: usize = 65536;

/// Bytes of `openat2`'s `struct open_how` (a page, as the kernel's
/// `copy_struct_from_user` allows); larger fails with `E2BIG`.
pub const OPEN_HOW_BYTES: usize = 4096;

/// Bytes of a `memfd_create` name (`MFD_NAME_MAX_LEN`: `NAME_MAX` less
/// `"memfd:"`); longer fails with `EINVAL`, as natively.
pub const MEMFD_NAME_BYTES: usize = 255 - 6;

/// Symbolic links followed while resolving one path (the kernel's
/// `MAXSYMLINKS`); one more fails with `ELOOP`, as natively.
pub const SYMLINK_FOLLOWS: u32 = 40;

/// Bytes of one message (or one piece of a stream send) read from the
/// program at once. A datagram larger than this fails with `EMSGSIZE` (the
/// kernel takes less in one datagram by default); a blocking stream send
/// of any size is read and sent piece by piece, so it sends everything, as
/// natively, while fdsup holds one piece.
pub const SEND_BYTES: usize = 4 << 20;

/// Bytes of messages held by sends waiting for room, all requests together
/// (each holds at most [`SEND_BYTES`]). A send that would wait beyond it
/// fails with `ENOBUFS`.
pub const WAITING_SEND_BYTES: usize = 64 << 20;

/// Control-message bytes of one send: the kernel's `optmem_max`, and never
/// more than this whatever that says. Beyond, `ENOBUFS`, as natively.
pub const CONTROL_BYTES: usize = 1 << 20;

/// Descriptors passed by one message (`SCM_MAX_FD`, include/net/scm.h);
/// more fail with `EINVAL`, as natively.
pub const PASSED_FDS: usize = 253;

/// Requests waiting at once on threads of their own (FIFO opens, blocking
/// connects and sends); one more fails at once with `ENFILE` (an open) or
/// `ENOBUFS` (a connect or send).
pub const WAITING_REQUESTS: usize = 1024;

/// Unix sockets the sandbox bound that fdsup remembers as its own
/// (`handlers::net`); the oldest is forgotten first, and is then decided by
/// the network rules like any other socket.
pub const OWN_SOCKETS: usize = 4096;

/// Of those, the most fdsup holds open (`O_PATH`, so that their inode
/// numbers stay theirs): the socket files bound in the program's own network
/// namespace (`isolate`), which fdsup's `sock_diag` cannot see.
pub const OWN_PINNED: usize = 256;

/// Descriptors of `/proc/<tid>` a worker keeps for the tasks it served
/// last; the oldest is closed for a new task. So many tasks cost no more
/// descriptors than this times the workers.
pub const PROC_DIRS_PER_WORKER: usize = 8;

/// Workers (threads that receive and handle requests) by default: one per
/// CPU, at least [`MIN_WORKERS`], at most this. However many tasks the
/// program has, and however many requests wait, fdsup has no more threads
/// than these (and the threads of waiting requests, [`WAITING_REQUESTS`] per session).
pub const DEFAULT_MAX_WORKERS: usize = 16;

/// The fewest workers by default.
pub const MIN_WORKERS: usize = 4;

/// The most workers `FDSUP_WORKERS` can ask for.
pub const MAX_WORKERS: usize = 64;

/// `FDSUP_WORKERS`: `None` when unset or empty, the number when it is one
/// from 1 to [`MAX_WORKERS`], and otherwise the message that refuses it
/// (`fdsup run` exits 125 with it: a typo must not pass for the default).
pub fn workers_from_env() -> Result<Option<usize>, String> {
    let Some(v) = std::env::var_os("FDSUP_WORKERS") else {
        return Ok(None);
    };
    parse_workers(&v.to_string_lossy())
}

fn parse_workers(v: &str) -> Result<Option<usize>, String> {
    if v.is_empty() {
        return Ok(None);
    }
    match v.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(Some(n)),
        _ => Err(format!(
            "FDSUP_WORKERS={v:?}: expected a number of worker threads from 1 to {MAX_WORKERS} \
             (unset it for the default: one per CPU, at least {MIN_WORKERS}, at most {DEFAULT_MAX_WORKERS})"
        )),
    }
}

/// Distinct paths `--learn` records. Beyond, new paths are not recorded
/// (the learned policy then does not cover them), and fdsup says so when
/// it writes the policy: a program that touches millions of names cannot
/// grow fdsup's memory without bound.
pub const LEARNED_PATHS: usize = 1 << 20;

/// Bytes of the paths `--learn` records, all together (a path is up to
/// [`PATH_BYTES`]: the count alone would let fdsup hold 4 GiB); beyond, as
/// for [`LEARNED_PATHS`].
pub const LEARNED_PATH_BYTES: usize = 64 << 20;

/// Distinct addresses `--learn` records connects to; beyond, as for
/// [`LEARNED_PATHS`].
pub const LEARNED_CONNECTS: usize = 1 << 16;

/// Program names kept per learned path or address (for its comment).
pub const LEARNED_USERS: usize = 4;

#[cfg(test)]
mod tests {
    use super::*;

    /// The limits that are the kernel's have the kernel's values.
    #[test]
    fn kernel_limits_match() {
        assert_eq!(PATH_BYTES, usize::try_from(libc::PATH_MAX).unwrap());
        assert_eq!(MEMFD_NAME_BYTES, 249);
        assert_eq!(PASSED_FDS, 253);
        const { assert!(MIN_WORKERS <= DEFAULT_MAX_WORKERS && DEFAULT_MAX_WORKERS <= MAX_WORKERS) };
    }

    #[test]
    fn workers_setting_is_checked() {
        assert_eq!(parse_workers(""), Ok(None));
        assert_eq!(parse_workers("1"), Ok(Some(1)));
        assert_eq!(parse_workers("64"), Ok(Some(64)));
        for bad in ["abc", "0", "65", "-1", "4x", "1.5"] {
            let e = parse_workers(bad).expect_err(bad);
            assert!(e.contains("FDSUP_WORKERS") && e.contains("1 to 64"), "{e}");
        }
    }
}

//! fdsup-shim: the few steps between fork and the program's exec.
//!
//! The `fdsup` binary forks and calls [`main`] in the child with
//! `SOCKFD N PROGRAM... ARGV0 [ARG...]` (or, should it not be single-threaded
//! then, re-executes itself as `/proc/self/exe __shim SOCKFD N PROGRAM...
//! ARGV0 [ARG...]` and hands everything after `__shim` to [`main`]): the `N`
//! `PROGRAM`s are the paths a `PATH` search found, tried in turn inside the
//! sandbox, so that one the policy hides or denies is skipped as a shell in
//! the sandbox would skip it. The shim enters the namespaces it is asked
//! for (a new IPC namespace, a new network namespace), receives the
//! three BPF programs, sets `no_new_privs`, installs the deny filter and then
//! the notify filter (with a listener), tells the supervisor the listener's
//! number, waits for the ruleset message, which is also the "go" (it comes
//! once the supervisor holds the listener and a worker receives), restricts
//! itself with the Landlock ruleset it may carry (when the policy limits
//! exec: `landlock_restrict_self`, then closes it), installs the last
//! filter and `execve`s the program, which thereby becomes the supervisor's
//! direct child. The wire format is in [`protocol`].
//!
//! **The last filter** refuses the program's own Landlock
//! (`landlock_create_ruleset`, `landlock_add_rule`,
//! `landlock_restrict_self` fail with ENOSYS, as on a kernel without
//! Landlock). The supervisor performs the program's opens in its own
//! threads, which do not carry a domain the program would make, and cannot
//! evaluate one: accepted, it would be ignored for every brokered open, and
//! the program (a build tool confining its children, say) would believe
//! itself confined where it is not. These calls cannot go in the deny
//! filter, since the shim makes `landlock_restrict_self` itself after the
//! deny filter is in place, and no filter can tell its call from the
//! program's (same arguments). Nor can the restriction move ahead of the
//! filters: the ruleset comes with the go, built by the supervisor while
//! the shim installs the filters (the two longest steps of start-up
//! overlap), and the go must follow the listener's hand-off. So the filter
//! goes in between `landlock_restrict_self` and `execve`. It is received
//! with the other two, before the notify filter is in place, so that the
//! tail allocates nothing for it, and `seccomp` is not mediated. A filter
//! stacks on those before it; the kernel applies the strictest answer.
//!
//! Two rules shape the code after the notify filter is installed, until exec:
//! the shim makes no mediated system call (it would wait for a supervisor that
//! has no listener yet: the hand-off deadlock known from other tools), and it
//! does not pass the listener with `SCM_RIGHTS` (a trapped `sendmsg` is that
//! same deadlock) — it sends the number and the supervisor takes the
//! descriptor with `pidfd_getfd`. So everything exec needs is built first, and
//! the tail uses only `write`, `recvmsg` (the ruleset message, into a
//! buffer on the stack and a descriptor list), `landlock_restrict_self`,
//! `close`, `seccomp` (the last filter), `rt_sigaction`, `execve` and
//! `_exit`, none of them mediated (see `sys`). There is no policy logic
//! here.
#![deny(unsafe_code)]

pub mod protocol;
mod sys;

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;

use protocol::{SetupStage, ShimMessage};

/// Runs the shim with the arguments that follow `__shim`:
/// `SOCKFD N PROGRAM... ARGV0 [ARG...]`, where the `N` (at least 1)
/// `PROGRAM`s are the paths to try, in order, as a shell's `PATH` search
/// would (see [`sys::Exec::execve`]). Never returns: it either becomes the
/// program or exits with [`protocol::EXIT_SETUP_FAILED`] or
/// [`protocol::exec_failure_status`].
pub fn main(args: Vec<OsString>) -> ! {
    let mut args = args.into_iter();
    let sockfd = args.next();
    let count = args
        .next()
        .and_then(|n| n.to_str().and_then(|n| n.parse::<usize>().ok()))
        .filter(|&n| n >= 1 && n < args.len());
    let (Some(sockfd), Some(count)) = (sockfd, count) else {
        // Not started by fdsup: there is no one to report to but stderr.
        say(format_args!(
            "fdsup: internal error: the shim needs SOCKFD N PROGRAM... ARGV0 [ARG...]"
        ));
        sys::exit(protocol::EXIT_SETUP_FAILED);
    };
    let paths: Vec<OsString> = args.by_ref().take(count).collect();
    let Some(raw) = sockfd
        .to_str()
        .and_then(|s| s.parse::<RawFd>().ok())
        .filter(|fd| *fd >= 0)
    else {
        say(format_args!(
            "fdsup: internal error: the shim's SOCKFD {sockfd:?} is not a descriptor number"
        ));
        sys::exit(protocol::EXIT_SETUP_FAILED);
    };
    let sock = match sys::claim_socket(raw) {
        Ok(sock) => sock,
        Err(e) => {
            say(format_args!(
                "fdsup: internal error: the shim's socket {raw}: {e}"
            ));
            sys::exit(protocol::EXIT_SETUP_FAILED);
        }
    };
    let sock = sock.as_fd();

    let Setup {
        exec,
        listener,
        wait_killable,
        last,
    } = match setup(sock, paths, args) {
        Ok(setup) => setup,
        Err((stage, err)) => fail(sock, stage, &err),
    };

    // From here until exec: no mediated system call (module docs).
    let msg = ShimMessage::Listener {
        fd: sys::number(&listener),
        wait_killable,
    };
    if sys::write_message(sock, &msg.encode()).is_err() {
        sys::exit(protocol::EXIT_SETUP_FAILED);
    }
    // The go, with the ruleset. `recvmsg`, `landlock_restrict_self` and
    // `close` are not mediated, so the notify filter in place changes
    // nothing for them. A supervisor gone (end-of-file) or confused: never
    // run the program without one.
    match receive_ruleset(sock) {
        Ok(Some(ruleset)) => {
            if let Err(err) = sys::landlock_restrict_self(ruleset.as_fd()) {
                fail(sock, SetupStage::Landlock, &err);
            }
            // Closed here: nothing of it reaches the program.
            drop(ruleset);
        }
        Ok(None) => {}
        Err((SetupStage::ReceiveRuleset, e)) if e.raw_os_error() == Some(libc::EPIPE) => {
            sys::exit(protocol::EXIT_SETUP_FAILED)
        }
        Err((stage, err)) => fail(sock, stage, &err),
    }
    // After our own `landlock_restrict_self`, before the program's first
    // instruction: its Landlock calls fail with ENOSYS (module docs).
    if let Err(err) = sys::install_filter(&last) {
        fail(sock, SetupStage::LastFilter, &err);
    }
    if let Err(err) = sys::default_sigpipe() {
        fail(sock, SetupStage::Signals, &err);
    }
    let err = exec.execve();
    let errno = err.raw_os_error().unwrap_or(libc::EIO);
    // Best effort: if the supervisor is gone, the exit status still tells.
    let _ = sys::write_message(sock, &ShimMessage::ExecFailed { errno }.encode());
    sys::exit(protocol::exec_failure_status(errno));
}

/// What [`setup`] leaves for the hand-off.
struct Setup {
    exec: sys::Exec,
    /// Kept open until exec, which closes it (the kernel made it close-on-exec).
    listener: std::os::fd::OwnedFd,
    wait_killable: bool,
    /// The last filter, installed just before exec.
    last: Vec<libc::sock_filter>,
}

/// Receives the programs, prepares exec, installs the deny and notify
/// filters.
fn setup(
    sock: BorrowedFd<'_>,
    paths: Vec<OsString>,
    argv: impl Iterator<Item = OsString>,
) -> Result<Setup, (SetupStage, io::Error)> {
    // What exec needs, while the supervisor loads the policy.
    let nul = |_| {
        (
            SetupStage::Arguments,
            io::Error::from_raw_os_error(libc::EINVAL),
        )
    };
    let paths = paths
        .into_iter()
        .map(|p| CString::new(p.into_vec()))
        .collect::<Result<Vec<_>, _>>()
        .map_err(nul)?;
    let argv = argv
        .map(|a| CString::new(a.into_vec()))
        .collect::<Result<Vec<_>, _>>();
    let envp = std::env::vars_os()
        .map(|(k, v)| {
            let mut kv = k.into_vec();
            kv.push(b'=');
            kv.extend(v.into_vec());
            CString::new(kv)
        })
        .collect::<Result<Vec<_>, _>>();
    let exec = sys::Exec::new(paths, argv.map_err(nul)?, envp.map_err(nul)?);

    // The IPC namespace first, asked for at once where the supervisor may
    // (`CAP_SYS_ADMIN`). The network namespace comes as soon as the
    // supervisor knows it is wanted, ahead of the filters: the kernel
    // takes some 0.3 ms to make it, while the supervisor loads the policy
    // and builds the filters.
    let mut first = receive(sock, SetupStage::ReceiveDeny)?;
    if first == [protocol::ISOLATE_IPC] {
        sys::isolate_ipc().map_err(|e| (SetupStage::IpcNamespace, e))?;
        first = receive(sock, SetupStage::ReceiveDeny)?;
    }
    if first == [protocol::ISOLATE_NETWORK] {
        sys::isolate_network().map_err(|e| (SetupStage::NetworkNamespace, e))?;
        first = receive(sock, SetupStage::ReceiveDeny)?;
    }
    if first == [protocol::DROP_MAP_FILES_CAPS] {
        // Before the notify filter: `capset` may be mediated.
        sys::drop_map_files_caps().map_err(|e| (SetupStage::Capabilities, e))?;
        first = receive(sock, SetupStage::ReceiveDeny)?;
    }
    let deny = decode(&first)?;
    let notify = decode(&receive(sock, SetupStage::ReceiveNotify)?)?;
    let last = decode(&receive(sock, SetupStage::ReceiveLast)?)?;

    sys::empty_signal_mask().map_err(|e| (SetupStage::Signals, e))?;
    sys::set_no_new_privs().map_err(|e| (SetupStage::NoNewPrivs, e))?;
    sys::install_filter(&deny).map_err(|e| (SetupStage::DenyFilter, e))?;
    let (listener, wait_killable) = match sys::install_notify_filter(&notify, true) {
        Ok(fd) => (fd, true),
        // Before Linux 5.19 the kernel does not know WAIT_KILLABLE_RECV.
        Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
            let fd = sys::install_notify_filter(&notify, false)
                .map_err(|e| (SetupStage::NotifyFilter, e))?;
            (fd, false)
        }
        Err(e) => return Err((SetupStage::NotifyFilter, e)),
    };
    Ok(Setup {
        exec,
        listener,
        wait_killable,
        last,
    })
}

/// Receives the ruleset message (the go): the Landlock ruleset to restrict
/// ourselves with, if the policy limits exec. End-of-file is `EPIPE`.
fn receive_ruleset(sock: BorrowedFd<'_>) -> Result<Option<OwnedFd>, (SetupStage, io::Error)> {
    let stage = SetupStage::ReceiveRuleset;
    let bad = || (stage, io::Error::from_raw_os_error(libc::EINVAL));
    // One byte more than the message, so that a longer one shows as such.
    let mut buf = [0u8; protocol::RULESET_MESSAGE_SIZE + 1];
    let (n, mut fds) = sys::recv_with_fds(sock, &mut buf).map_err(|e| (stage, e))?;
    if n == 0 {
        return Err((stage, io::Error::from_raw_os_error(libc::EPIPE)));
    }
    match protocol::decode_ruleset(&buf[..n]) {
        Some(true) if fds.len() == 1 => Ok(fds.pop()),
        Some(false) if fds.is_empty() => Ok(None),
        _ => Err(bad()),
    }
}

/// Receives one message (a program, or one of the one-byte requests:
/// [`protocol::ISOLATE_IPC`], [`protocol::ISOLATE_NETWORK`],
/// [`protocol::DROP_MAP_FILES_CAPS`]).
fn receive(sock: BorrowedFd<'_>, stage: SetupStage) -> Result<Vec<u8>, (SetupStage, io::Error)> {
    // A buffer of the packet's size (capped at one instruction more than
    // allowed, so that an oversized packet shows as such instead of being
    // silently truncated to a valid length): zeroing the largest possible
    // one would cost this forked process a copy of every page it touches.
    let len = sys::next_packet_len(sock).map_err(|e| (stage, e))?;
    let mut buf = vec![0u8; len.min(protocol::MAX_PROGRAM_BYTES + protocol::INSN_SIZE)];
    let n = if buf.is_empty() {
        0
    } else {
        sys::recv(sock, &mut buf).map_err(|e| (stage, e))?
    };
    if n == 0 {
        // The supervisor closed its end before sending the program.
        return Err((stage, io::Error::from_raw_os_error(libc::EPIPE)));
    }
    buf.truncate(n);
    Ok(buf)
}

/// Decodes a program message.
fn decode(bytes: &[u8]) -> Result<Vec<libc::sock_filter>, (SetupStage, io::Error)> {
    protocol::decode_program(bytes).map_err(|_| {
        (
            SetupStage::Program,
            io::Error::from_raw_os_error(libc::EINVAL),
        )
    })
}

/// A line on stderr, whatever stderr is: `eprintln!` would panic on a closed
/// pipe, and the shim must end by its own exit status, never by a panic.
fn say(args: std::fmt::Arguments<'_>) {
    use std::io::Write as _;
    let _ = writeln!(io::stderr().lock(), "{args}");
}

/// Reports a set-up failure (best effort) and exits.
fn fail(sock: BorrowedFd<'_>, stage: SetupStage, err: &io::Error) -> ! {
    let errno = err.raw_os_error().filter(|e| *e > 0).unwrap_or(libc::EIO);
    let _ = sys::write_message(sock, &ShimMessage::SetupFailed { errno, stage }.encode());
    sys::exit(protocol::EXIT_SETUP_FAILED);
}

//! `fdsup-bench floor -- PROGRAM ARGS`: PROGRAM under the cheapest notification supervisor
//! there can be, as the floor for the `workloads` figures.
//!
//! It installs exactly the filters `fdsup run` installs for `@default` (built by fdsup's own
//! `filter::build`, so the same syscalls trap), sets `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP`, and
//! answers every notification from one thread with `CONTINUE` at once: no memory read, no
//! `ID_VALID`, no decision, no work done on the program's behalf. That is not a sandbox
//! (`CONTINUE` after a check is racy, and here nothing is checked); it is what the notification
//! round trips alone cost a program, the part of fdsup's overhead that no supervisor deciding
//! each trapped syscall can avoid. One thread, because every thread blocked in
//! `SECCOMP_IOCTL_NOTIF_RECV` is woken for every notification (measured: a second one adds
//! about 3 µs to each round trip here).
//!
//! The raw calls (fork, the two `seccomp` installs in the child, `pidfd_open`/`pidfd_getfd`)
//! are the only unsafe code of the bench besides the listen backlog in `connect`.

use std::ffi::{CString, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt as _;
use std::process::ExitCode;

use fdsup::filter::{self, FilterOptions};
use fdsup::notify::Listener;

/// Runs `fdsup-bench floor -- PROGRAM ARGS`; the exit status is the program's.
pub fn main(args: Vec<String>) -> ExitCode {
    let args: Vec<OsString> = match args.split_first() {
        Some((first, rest)) if first == "--" => rest.iter().map(OsString::from).collect(),
        _ => args.into_iter().map(OsString::from).collect(),
    };
    match run(&args) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("fdsup-bench floor: {e}");
            ExitCode::from(125)
        }
    }
}

fn run(args: &[OsString]) -> Result<u8, String> {
    let Some(program) = args.first() else {
        return Err("usage: fdsup-bench floor -- PROGRAM [ARGS...]".to_owned());
    };
    // The same programs `fdsup run` builds for `@default` (deny default,
    // no network rules, no exec section).
    let filters = filter::build(&FilterOptions {
        deny_network: true,
        ..FilterOptions::default()
    })
    .map_err(|e| format!("building the filters: {e}"))?;
    let cstr =
        |s: &OsString| CString::new(s.as_bytes()).map_err(|_| format!("{s:?} contains a NUL byte"));
    let path = cstr(program)?;
    let argv: Vec<CString> = args.iter().map(cstr).collect::<Result<_, _>>()?;
    let mut argv_ptrs: Vec<*const libc::c_char> = argv.iter().map(|a| a.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());

    let (report_r, report_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (go_r, go_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    // SAFETY: this process is single-threaded here (the floor subcommand starts
    // no thread before this point), so the child may run any code; it only
    // makes raw syscalls on memory prepared before the fork and then execs or
    // exits.
    #[allow(unsafe_code)]
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", io::Error::last_os_error()));
    }
    if pid == 0 {
        child(
            &filters,
            report_w.as_raw_fd(),
            go_r.as_raw_fd(),
            &path,
            &argv_ptrs,
        );
    }
    drop(report_w);
    drop(go_r);
    let mut num = [0u8; 4];
    let n = read_fd(report_r.as_raw_fd(), &mut num);
    if n != 4 {
        return Err("the child could not install the filters".to_owned());
    }
    let listener_no = i32::from_ne_bytes(num);
    let listener = take_listener(pid, listener_no).map_err(|e| format!("pidfd_getfd: {e}"))?;
    let listener = std::sync::Arc::new(Listener::new(listener));
    listener
        .set_sync_wake_up()
        .map_err(|e| format!("SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP: {e}"))?;
    std::thread::Builder::new()
        .name("floor".to_owned())
        .spawn(move || serve(&listener))
        .map_err(|e| format!("starting the thread: {e}"))?;
    // SAFETY: writes one byte from a live buffer to a descriptor we own.
    #[allow(unsafe_code)]
    let _ = unsafe { libc::write(go_w.as_raw_fd(), b"g".as_ptr().cast(), 1) };
    drop(go_w);
    let mut status = 0;
    loop {
        // SAFETY: waits for our own child; `status` is a live out-parameter.
        #[allow(unsafe_code)]
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        if io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(format!("waitpid: {}", io::Error::last_os_error()));
        }
    }
    Ok(if libc::WIFEXITED(status) {
        u8::try_from(libc::WEXITSTATUS(status)).unwrap_or(1)
    } else {
        u8::try_from(128 + libc::WTERMSIG(status)).unwrap_or(255)
    })
}

/// Answers every notification with CONTINUE until the listener hangs up.
fn serve(listener: &std::sync::Arc<Listener>) {
    let mut n = fdsup::notify::notif_buffer();
    loop {
        match listener.recv(&mut n) {
            Ok(p) => p.continue_unchecked(),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EINTR | libc::ENOENT)) => {}
            Err(_) => return,
        }
    }
}

/// The child: no_new_privs, the deny and notify filters, report the listener's
/// number, wait for "go", the last filter, exec. Never returns.
fn child(
    filters: &filter::Filters,
    report: RawFd,
    go: RawFd,
    path: &CString,
    argv: &[*const libc::c_char],
) -> ! {
    #[allow(unsafe_code)]
    // SAFETY: raw syscalls on memory that outlives them (built before the
    // fork); the child execs or exits and never returns to Rust code that
    // could observe the forked state.
    unsafe {
        let fail = |_: &str| -> ! { libc::_exit(126) };
        // As natively and under fdsup: the program starts with SIGPIPE at
        // its default, not ignored as in this (Rust) process.
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            fail("prctl");
        }
        let install = |prog: &[libc::sock_filter], flags: libc::c_ulong| -> libc::c_long {
            let fprog = libc::sock_fprog {
                len: u16::try_from(prog.len()).unwrap_or(u16::MAX),
                filter: prog.as_ptr().cast_mut(),
            };
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &fprog as *const libc::sock_fprog,
            )
        };
        if install(&filters.deny, 0) != 0 {
            fail("deny filter");
        }
        let listener = install(&filters.notify, libc::SECCOMP_FILTER_FLAG_NEW_LISTENER);
        let Ok(listener) = i32::try_from(listener) else {
            fail("notify filter")
        };
        if listener < 0 {
            fail("notify filter");
        }
        let num = listener.to_ne_bytes();
        if libc::write(report, num.as_ptr().cast(), 4) != 4 {
            fail("report");
        }
        let mut b = 0u8;
        if libc::read(go, (&mut b as *mut u8).cast(), 1) != 1 {
            fail("go");
        }
        if install(&filters.last, 0) != 0 {
            fail("last filter");
        }
        libc::execv(path.as_ptr(), argv.as_ptr());
        libc::_exit(127)
    }
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` is a live two-element out-array.
    #[allow(unsafe_code)]
    let r = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 returned two new descriptors that no one else owns.
    #[allow(unsafe_code)]
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn read_fd(fd: RawFd, buf: &mut [u8]) -> usize {
    // SAFETY: reads into a live buffer of the given length.
    #[allow(unsafe_code)]
    let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
    usize::try_from(r).unwrap_or(0)
}

/// The child's listener, taken with `pidfd_open` + `pidfd_getfd`.
fn take_listener(pid: i32, target: i32) -> io::Result<OwnedFd> {
    // SAFETY: plain syscalls with integer arguments; each returns a new
    // descriptor we then own, or -1.
    #[allow(unsafe_code)]
    unsafe {
        let owned = |r: libc::c_long| -> io::Result<OwnedFd> {
            match RawFd::try_from(r) {
                Ok(fd) if fd >= 0 => Ok(OwnedFd::from_raw_fd(fd)),
                _ if r < 0 => Err(io::Error::last_os_error()),
                _ => Err(io::Error::from_raw_os_error(libc::EBADF)),
            }
        };
        let pidfd = owned(libc::syscall(libc::SYS_pidfd_open, pid, 0))?;
        owned(libc::syscall(
            libc::SYS_pidfd_getfd,
            pidfd.as_raw_fd(),
            target,
            0,
        ))
    }
}

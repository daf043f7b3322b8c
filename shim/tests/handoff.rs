//! End-to-end test of the shim hand-off, with this test binary as both sides.
//!
//! Started with `__shim ...` it *is* the shim (as `fdsup` is when it re-executes
//! itself); otherwise it plays the supervisor: spawns itself as the shim with
//! one end of a socketpair, sends real (hand-assembled) filters, takes the
//! listener with `pidfd_getfd`, answers a trapped syscall of the exec'd program
//! and checks what the protocol promises. Filters only ever land on the
//! spawned processes, never on this one.
//!
//! A kernel without seccomp user notification or `pidfd_getfd` makes a
//! scenario skip with its reason; with `FDSUP_REQUIRE_KERNEL=1` a skip fails.
#![allow(unsafe_code)]

use std::ffi::OsString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fdsup_shim::protocol::{self, SetupStage, ShimMessage};

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> libc::sock_filter {
    libc::sock_filter { code, jt, jf, k }
}

fn nr(n: libc::c_long) -> u32 {
    u32::try_from(n).expect("x86_64 syscall numbers are small")
}

/// `mkdir`/`mkdirat` -> EPERM, everything else allowed.
fn deny_program() -> Vec<u8> {
    let eperm = libc::SECCOMP_RET_ERRNO | nr(libc::EPERM.into());
    protocol::encode_program(&[
        insn(BPF_LD_W_ABS, 0, 0, 0),
        insn(BPF_JEQ_K, 2, 0, nr(libc::SYS_mkdir)),
        insn(BPF_JEQ_K, 1, 0, nr(libc::SYS_mkdirat)),
        insn(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        insn(BPF_RET_K, 0, 0, eperm),
    ])
}

/// `getppid` -> the supervisor, everything else allowed.
fn notify_program() -> Vec<u8> {
    protocol::encode_program(&[
        insn(BPF_LD_W_ABS, 0, 0, 0),
        insn(BPF_JEQ_K, 0, 1, nr(libc::SYS_getppid)),
        insn(BPF_RET_K, 0, 0, libc::SECCOMP_RET_USER_NOTIF),
        insn(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
    ])
}

/// The last program: `landlock_restrict_self` and `rmdir` -> ENOSYS,
/// everything else allowed. The shim installs it after its own
/// `landlock_restrict_self` (`landlock_ruleset_is_installed` fails
/// otherwise) and before exec (the program's `rmdir` fails).
fn last_program() -> Vec<u8> {
    let enosys = libc::SECCOMP_RET_ERRNO | nr(libc::ENOSYS.into());
    protocol::encode_program(&[
        insn(BPF_LD_W_ABS, 0, 0, 0),
        insn(BPF_JEQ_K, 2, 0, nr(libc::SYS_landlock_restrict_self)),
        insn(BPF_JEQ_K, 1, 0, nr(libc::SYS_rmdir)),
        insn(BPF_RET_K, 0, 0, libc::SECCOMP_RET_ALLOW),
        insn(BPF_RET_K, 0, 0, enosys),
    ])
}

/// What the fake supervisor answers for `getppid`.
const FAKE_PPID: i64 = 4242;

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn own(fd: libc::c_long) -> OwnedFd {
    let fd = RawFd::try_from(fd).expect("descriptor numbers fit in an int");
    // SAFETY: `fd` was just returned by the kernel as a new descriptor.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// A socketpair whose first end (ours) is close-on-exec and whose second end
/// (the shim's) is inherited.
fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [-1; 2];
    // SAFETY: `fds` has room for the two descriptors.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET, 0, fds.as_mut_ptr()) };
    assert_eq!(r, 0, "socketpair: {}", io::Error::last_os_error());
    let (ours, theirs) = (own(fds[0].into()), own(fds[1].into()));
    // SAFETY: F_SETFD on a descriptor we own.
    let r = unsafe { libc::fcntl(ours.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    assert_eq!(r, 0, "fcntl: {}", io::Error::last_os_error());
    (ours, theirs)
}

fn send(sock: &OwnedFd, msg: &[u8]) {
    // SAFETY: `msg` is valid for reads of its length.
    let n = unsafe { libc::send(sock.as_raw_fd(), msg.as_ptr().cast(), msg.len(), 0) };
    assert_eq!(
        usize::try_from(n).ok(),
        Some(msg.len()),
        "send: {}",
        io::Error::last_os_error()
    );
}

/// Receives one message; `None` at end-of-file.
fn recv(sock: &OwnedFd) -> Option<Vec<u8>> {
    let mut buf = [0u8; 64];
    // SAFETY: `buf` is valid for writes of its length.
    let n = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    let n = usize::try_from(n).unwrap_or_else(|_| panic!("recv: {}", io::Error::last_os_error()));
    (n > 0).then(|| buf[..n].to_vec())
}

fn recv_message(sock: &OwnedFd) -> Result<ShimMessage, String> {
    let bytes = recv(sock).ok_or("end-of-file instead of a message")?;
    ShimMessage::decode(&bytes).ok_or_else(|| format!("undecodable message {bytes:?}"))
}

fn spawn_shim(program: &str, argv: &[&str], stdout: Stdio) -> (Child, OwnedFd) {
    spawn_shim_paths(&[program], argv, stdout)
}

/// [`spawn_shim`] with several paths to try in turn.
fn spawn_shim_paths(programs: &[&str], argv: &[&str], stdout: Stdio) -> (Child, OwnedFd) {
    let (ours, theirs) = socketpair();
    let me = std::env::current_exe().expect("current_exe");
    let child = Command::new(me)
        .arg(protocol::SHIM_ARG)
        .arg(theirs.as_raw_fd().to_string())
        .arg(programs.len().to_string())
        .args(programs)
        .args(argv)
        .env("LC_ALL", "C")
        .env("FDSUP_SHIM_TEST", "passed-through")
        .stdout(stdout)
        .spawn()
        .expect("spawn the shim");
    drop(theirs);
    (child, ours)
}

/// Takes the descriptor numbered `fd` from process `pid`.
fn take_fd(pid: u32, fd: i32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags only.
    let pidfd = own(cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?);
    // SAFETY: pidfd_getfd takes descriptors and flags only.
    let r = unsafe { libc::syscall(libc::SYS_pidfd_getfd, pidfd.as_raw_fd(), fd, 0) };
    Ok(own(cvt(r)?))
}

/// Answers notifications until the listener hangs up or `stop` is set:
/// `getppid` with [`FAKE_PPID`], anything else with EPERM.
fn serve(listener: OwnedFd, stop: Arc<AtomicBool>, answered: Arc<AtomicUsize>) {
    while !stop.load(Ordering::Relaxed) {
        let mut pfd = libc::pollfd {
            fd: listener.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, 100) };
        if r <= 0 {
            continue;
        }
        if pfd.revents & libc::POLLIN == 0 {
            return; // POLLHUP: every task using the filter is gone
        }
        // SAFETY: all-zero is a valid seccomp_notif, and RECV wants it zeroed.
        let mut req: libc::seccomp_notif = unsafe { std::mem::zeroed() };
        // SAFETY: RECV writes one seccomp_notif into `req`.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_RECV,
                &mut req,
            )
        };
        if r != 0 {
            continue; // ENOENT: the task died between poll and recv
        }
        let mut resp = libc::seccomp_notif_resp {
            id: req.id,
            val: 0,
            error: -libc::EPERM,
            flags: 0,
        };
        if i64::from(req.data.nr) == libc::SYS_getppid {
            resp.val = FAKE_PPID;
            resp.error = 0;
        }
        // SAFETY: SEND reads one seccomp_notif_resp from `resp`.
        let r = unsafe {
            libc::ioctl(
                listener.as_raw_fd(),
                libc::SECCOMP_IOCTL_NOTIF_SEND,
                &mut resp,
            )
        };
        if r == 0 {
            answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}

enum Outcome {
    Pass,
    Skip(String),
}

type Scenario = fn() -> Result<Outcome, String>;

fn expect_status(status: ExitStatus, code: i32) -> Result<(), String> {
    if status.code() == Some(code) {
        Ok(())
    } else {
        Err(format!("shim ended with {status}, want exit status {code}"))
    }
}

/// Skips when the kernel lacks what the shim needs.
fn kernel_skip(msg: &ShimMessage) -> Option<Outcome> {
    match *msg {
        ShimMessage::SetupFailed {
            errno,
            stage: SetupStage::NotifyFilter | SetupStage::DenyFilter,
        } if errno == libc::EINVAL || errno == libc::ENOSYS => Some(Outcome::Skip(format!(
            "kernel refuses seccomp filters with a listener: {msg:?}"
        ))),
        _ => None,
    }
}

fn runs_program_and_serves_it() -> Result<Outcome, String> {
    let script = "echo \"ppid=$PPID env=$FDSUP_SHIM_TEST\"; \
                  mkdir /nonexistent-fdsup-shim-test/x 2>&1; \
                  rmdir /nonexistent-fdsup-shim-test/x 2>&1; exit 7";
    let (mut child, sock) = spawn_shim("/bin/sh", &["sh", "-c", script], Stdio::piped());
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    let ShimMessage::Listener { fd, wait_killable } = msg else {
        return Err(format!("want Listener, got {msg:?}"));
    };
    let listener = match take_fd(child.id(), fd) {
        Ok(l) => l,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(Outcome::Skip(format!("kernel lacks pidfd_getfd: {e}")));
        }
        Err(e) => return Err(format!("pidfd_getfd of listener {fd}: {e}")),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicUsize::new(0));
    let server = {
        let (stop, answered) = (Arc::clone(&stop), Arc::clone(&answered));
        std::thread::spawn(move || serve(listener, stop, answered))
    };
    send_go(&sock, None);
    if let Some(bytes) = recv(&sock) {
        return Err(format!(
            "want end-of-file after a successful exec, got {bytes:?}"
        ));
    }
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("    (wait_killable={wait_killable}, answered={answered:?})");
    if !stdout.contains(&format!("ppid={FAKE_PPID} ")) {
        return Err(format!(
            "getppid was not answered by the supervisor: {stdout:?}"
        ));
    }
    if !stdout.contains("env=passed-through") {
        return Err(format!("environment not passed through: {stdout:?}"));
    }
    if !stdout.contains("Operation not permitted") {
        return Err(format!("deny filter did not refuse mkdir: {stdout:?}"));
    }
    if !stdout.contains("Function not implemented") {
        return Err(format!("last filter did not refuse rmdir: {stdout:?}"));
    }
    if answered.load(Ordering::Relaxed) == 0 {
        return Err("no notification answered".into());
    }
    expect_status(out.status, 7)?;
    Ok(Outcome::Pass)
}

/// Runs the hand-off up to the go for a program that cannot be executed.
fn exec_failure(program: &str, errno: i32, status: i32) -> Result<Outcome, String> {
    exec_failure_paths(&[program], errno, status)
}

/// [`exec_failure`] with several paths, none of which can be executed.
fn exec_failure_paths(programs: &[&str], errno: i32, status: i32) -> Result<Outcome, String> {
    let (mut child, sock) = spawn_shim_paths(programs, &["prog"], Stdio::null());
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    if !matches!(msg, ShimMessage::Listener { .. }) {
        return Err(format!("want Listener, got {msg:?}"));
    }
    send_go(&sock, None);
    let msg = recv_message(&sock)?;
    if msg != (ShimMessage::ExecFailed { errno }) {
        return Err(format!("want ExecFailed {{ errno: {errno} }}, got {msg:?}"));
    }
    expect_status(child.wait().map_err(|e| e.to_string())?, status)?;
    Ok(Outcome::Pass)
}

fn missing_program_is_127() -> Result<Outcome, String> {
    exec_failure("/nonexistent-fdsup-shim-test/prog", libc::ENOENT, 127)
}

fn unexecutable_program_is_126() -> Result<Outcome, String> {
    let path = std::env::temp_dir().join(format!("fdsup-shim-test-{}", std::process::id()));
    std::fs::write(&path, "not a program\n").map_err(|e| e.to_string())?;
    let path_str = path.to_str().ok_or("temp dir is not UTF-8")?.to_owned();
    let result = exec_failure(&path_str, libc::EACCES, 126);
    let _ = std::fs::remove_file(&path);
    result
}

/// A file that exists but cannot be executed (EACCES), removed when dropped.
struct Unexecutable(std::path::PathBuf);

impl Unexecutable {
    fn new(tag: &str) -> Result<Self, String> {
        let path =
            std::env::temp_dir().join(format!("fdsup-shim-test-{tag}-{}", std::process::id()));
        std::fs::write(&path, "not a program\n").map_err(|e| e.to_string())?;
        Ok(Self(path))
    }

    fn path(&self) -> Result<&str, String> {
        self.0
            .to_str()
            .ok_or_else(|| "temp dir is not UTF-8".to_owned())
    }
}

impl Drop for Unexecutable {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Paths that cannot be run (missing: ENOENT, not executable: EACCES) are
/// skipped for the next, as `execvp` goes through `PATH`.
fn the_first_path_that_runs_is_run() -> Result<Outcome, String> {
    let bad = Unexecutable::new("skip")?;
    let (mut child, sock) = spawn_shim_paths(
        &["/nonexistent-fdsup-shim-test/prog", bad.path()?, "/bin/sh"],
        &["sh", "-c", "exit 9"],
        Stdio::null(),
    );
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    if !matches!(msg, ShimMessage::Listener { .. }) {
        return Err(format!("want Listener, got {msg:?}"));
    }
    send_go(&sock, None);
    if let Some(bytes) = recv(&sock) {
        return Err(format!("want end-of-file (exec), got {bytes:?}"));
    }
    expect_status(child.wait().map_err(|e| e.to_string())?, 9)?;
    Ok(Outcome::Pass)
}

/// When no path runs, EACCES from any of them wins over ENOENT (126, the
/// program exists), as `execvp` reports it.
fn eacces_anywhere_is_126() -> Result<Outcome, String> {
    let bad = Unexecutable::new("eacces")?;
    exec_failure_paths(
        &[bad.path()?, "/nonexistent-fdsup-shim-test/prog"],
        libc::EACCES,
        126,
    )
}

fn bad_program_is_refused() -> Result<Outcome, String> {
    let (mut child, sock) = spawn_shim("/bin/true", &["true"], Stdio::null());
    send(&sock, &[0u8; 12]);
    let msg = recv_message(&sock)?;
    let want = ShimMessage::SetupFailed {
        errno: libc::EINVAL,
        stage: SetupStage::Program,
    };
    if msg != want {
        return Err(format!("want {want:?}, got {msg:?}"));
    }
    expect_status(child.wait().map_err(|e| e.to_string())?, 125)?;
    Ok(Outcome::Pass)
}

/// Sends what the supervisor sends before the shim reports: the deny,
/// notify and last programs.
fn send_setup(sock: &OwnedFd) {
    send(sock, &deny_program());
    send(sock, &notify_program());
    send(sock, &last_program());
}

/// Sends the go: the ruleset message, with `ruleset` attached if there is
/// one.
fn send_go(sock: &OwnedFd, ruleset: Option<RawFd>) {
    match ruleset {
        Some(fd) => send_with_fd(sock, &protocol::encode_ruleset(true), fd),
        None => send(sock, &protocol::encode_ruleset(false)),
    }
}

/// Sends the ruleset message with `fd` attached (`SCM_RIGHTS`).
fn send_with_fd(sock: &OwnedFd, msg: &[u8], fd: RawFd) {
    let mut control = [0u64; 4];
    let mut iov = libc::iovec {
        iov_base: msg.as_ptr().cast_mut().cast(),
        iov_len: msg.len(),
    };
    // SAFETY: all-zero is a valid msghdr.
    let mut hdr: libc::msghdr = unsafe { std::mem::zeroed() };
    hdr.msg_iov = &mut iov;
    hdr.msg_iovlen = 1;
    hdr.msg_control = control.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a constant computation.
    hdr.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as usize;
    // SAFETY: `hdr` points to `control`, which has room for one cmsghdr with
    // one int; CMSG_FIRSTHDR and CMSG_DATA stay within it. The kernel only
    // reads `msg` through `iov`.
    let n = unsafe {
        let c = libc::CMSG_FIRSTHDR(&hdr);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as usize;
        libc::CMSG_DATA(c).cast::<libc::c_int>().write_unaligned(fd);
        libc::sendmsg(sock.as_raw_fd(), &hdr, 0)
    };
    assert_eq!(
        usize::try_from(n).ok(),
        Some(msg.len()),
        "sendmsg: {}",
        io::Error::last_os_error()
    );
}

/// A Landlock ruleset that handles exec and grants it nowhere.
fn empty_exec_ruleset() -> io::Result<OwnedFd> {
    let handled: u64 = 1; // LANDLOCK_ACCESS_FS_EXECUTE
                          // SAFETY: `handled` is the first field of landlock_ruleset_attr and its
                          // size is passed; the kernel only reads it.
    let r = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &handled as *const u64,
            8usize,
            0u32,
        )
    };
    cvt(r).map(own)
}

/// With a ruleset that allows no exec, the program cannot be executed: the
/// shim received the descriptor and restricted itself before exec, and
/// before the last filter, which refuses `landlock_restrict_self`.
fn landlock_ruleset_is_installed() -> Result<Outcome, String> {
    let ruleset = match empty_exec_ruleset() {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::Skip(format!("kernel lacks Landlock: {e}"))),
    };
    let (mut child, sock) = spawn_shim("/bin/true", &["true"], Stdio::null());
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    if !matches!(msg, ShimMessage::Listener { .. }) {
        return Err(format!("want Listener, got {msg:?}"));
    }
    send_go(&sock, Some(ruleset.as_raw_fd()));
    let msg = recv_message(&sock)?;
    let want = ShimMessage::ExecFailed {
        errno: libc::EACCES,
    };
    if msg != want {
        return Err(format!("want {want:?}, got {msg:?}"));
    }
    expect_status(child.wait().map_err(|e| e.to_string())?, 126)?;
    Ok(Outcome::Pass)
}

/// A ruleset message that promises a descriptor and brings none is refused.
fn ruleset_without_descriptor_is_refused() -> Result<Outcome, String> {
    let (mut child, sock) = spawn_shim("/bin/true", &["true"], Stdio::null());
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    if !matches!(msg, ShimMessage::Listener { .. }) {
        return Err(format!("want Listener, got {msg:?}"));
    }
    send(&sock, &protocol::encode_ruleset(true));
    let msg = recv_message(&sock)?;
    let want = ShimMessage::SetupFailed {
        errno: libc::EINVAL,
        stage: SetupStage::ReceiveRuleset,
    };
    if msg != want {
        return Err(format!("want {want:?}, got {msg:?}"));
    }
    expect_status(child.wait().map_err(|e| e.to_string())?, 125)?;
    Ok(Outcome::Pass)
}

fn no_go_no_program() -> Result<Outcome, String> {
    // Were the program run, it would exit 0.
    let (mut child, sock) = spawn_shim("/bin/true", &["true"], Stdio::null());
    send_setup(&sock);
    let msg = recv_message(&sock)?;
    if let Some(skip) = kernel_skip(&msg) {
        let _ = child.wait();
        return Ok(skip);
    }
    drop(sock);
    expect_status(child.wait().map_err(|e| e.to_string())?, 125)?;
    Ok(Outcome::Pass)
}

fn main() {
    let args: Vec<OsString> = std::env::args_os().collect();
    if args.get(1).is_some_and(|a| a == protocol::SHIM_ARG) {
        fdsup_shim::main(args[2..].to_vec());
    }

    // A hung hand-off must fail the test, not the CI job's time limit.
    std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(60));
        eprintln!("handoff: timed out");
        std::process::exit(1);
    });

    let require = std::env::var_os("FDSUP_REQUIRE_KERNEL").is_some_and(|v| v == "1");
    let scenarios: [(&str, Scenario); 9] = [
        ("runs_program_and_serves_it", runs_program_and_serves_it),
        ("missing_program_is_127", missing_program_is_127),
        (
            "the_first_path_that_runs_is_run",
            the_first_path_that_runs_is_run,
        ),
        ("eacces_anywhere_is_126", eacces_anywhere_is_126),
        ("unexecutable_program_is_126", unexecutable_program_is_126),
        ("bad_program_is_refused", bad_program_is_refused),
        ("no_go_no_program", no_go_no_program),
        (
            "landlock_ruleset_is_installed",
            landlock_ruleset_is_installed,
        ),
        (
            "ruleset_without_descriptor_is_refused",
            ruleset_without_descriptor_is_refused,
        ),
    ];
    let mut failed = 0;
    for (name, scenario) in scenarios {
        match scenario() {
            Ok(Outcome::Pass) => eprintln!("test {name} ... ok"),
            Ok(Outcome::Skip(why)) if !require => eprintln!("test {name} ... skipped: {why}"),
            Ok(Outcome::Skip(why)) => {
                eprintln!("test {name} ... FAILED (skip with FDSUP_REQUIRE_KERNEL=1): {why}");
                failed += 1;
            }
            Err(why) => {
                eprintln!("test {name} ... FAILED: {why}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        eprintln!("handoff: {failed} failed");
        std::process::exit(1);
    }
}

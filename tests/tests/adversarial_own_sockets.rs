//! Adversarial: a Unix socket the sandbox once bound is its own only while
//! its socket holds the name (`tests/c/adv_own_sockets.c`).
//!
//! Connecting to one of the sandbox's own sockets needs no network rule (a
//! test server and its client). fdsup remembered the names the sandbox
//! bound, and never forgot them: a program could bind the abstract name an
//! outside service would take later (an X server's, say), close it, and
//! then reach that service, which the rules deny. Now a name is own only
//! while the sandbox's socket still holds it (asked of `sock_diag`), and a
//! socket file only while it is the file of the sandbox's socket. Beside
//! it, the positive control: the sandbox's server and client still talk.

#[path = "adversarial_support.rs"]
mod support;

use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fdsup_tests::TempDir;
use support::{prog, Checks};

fn policy(dir: &Path, name: &str) -> std::path::PathBuf {
    fdsup_tests::write_policy(
        dir,
        "own.json",
        &format!(
            r#"{{ "version": 1, "include": ["@allow-all"],
  "network": {{ "default": "deny", "rules": [
    {{ "bind": "unix:@{name}", "comment": "the sandbox may serve here" }} ] }} }}"#
        ),
    )
}

#[test]
fn a_name_the_sandbox_held_does_not_reach_who_holds_it_now() {
    squat("squat", true);
}

#[test]
fn an_accepted_socket_does_not_make_its_listener_s_name_own() {
    squat("accepted", false);
}

/// `mode` of the program; the outside server is a stream listener, or a
/// `SOCK_SEQPACKET` one.
fn squat(mode: &str, stream: bool) {
    let dir = TempDir::new(&format!("adv-own-{mode}"));
    let name = format!("fdsup-own-{mode}-{}", std::process::id());
    let p = policy(dir.path(), &name);
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(prog("adv_own_sockets"))
        .args([mode, &name])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("start fdsup");
    let t0 = Instant::now();
    while !dir.join("squatted").exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the program never squatted"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // The outside service takes the name, and the program is let go.
    let addr = SocketAddr::from_abstract_name(name.as_bytes()).expect("abstract name");
    let outside = Outside::bind(&addr, stream);
    std::fs::write(dir.join("go"), b"").expect("go");
    let out = child.wait_with_output().expect("wait");
    let out = fdsup_tests::Output {
        code: out.status.code().unwrap_or(128),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let mut k = Checks::new(&out);
    k.eq("squat_bind", "OK").eq("done", "1");
    k.eq("squat_connect", "ERR:ECONNREFUSED");
    if !stream {
        k.eq("gone_connect", "ERR:ECONNREFUSED");
        k.eq("accepted_send", "OK");
    }
    k.finish();
    assert!(
        !outside.was_reached(),
        "the outside server got a connection from the sandbox"
    );
}

/// The outside server: a stream or a `SOCK_SEQPACKET` listener.
enum Outside {
    Stream(UnixListener),
    Packet(std::os::fd::OwnedFd),
}

impl Outside {
    fn bind(addr: &SocketAddr, stream: bool) -> Outside {
        if stream {
            return Outside::Stream(
                UnixListener::bind_addr(addr).expect("the outside server binds"),
            );
        }
        // std has no SOCK_SEQPACKET listener.
        use rustix::net::{AddressFamily, SocketAddrUnix, SocketFlags, SocketType};
        let name = addr.as_abstract_name().expect("abstract");
        // Non-blocking: `was_reached` only looks.
        let fd = rustix::net::socket_with(
            AddressFamily::UNIX,
            SocketType::SEQPACKET,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            None,
        )
        .expect("socket");
        let sa = SocketAddrUnix::new_abstract_name(name).expect("abstract name");
        rustix::net::bind(&fd, &sa).expect("the outside server binds");
        rustix::net::listen(&fd, 4).expect("listen");
        Outside::Packet(fd)
    }

    fn was_reached(&self) -> bool {
        match self {
            Outside::Stream(l) => {
                l.set_nonblocking(true).expect("nonblocking");
                l.accept().is_ok()
            }
            Outside::Packet(fd) => rustix::net::accept(fd).is_ok(),
        }
    }
}

#[test]
fn the_sandbox_s_own_server_is_reached() {
    let dir = TempDir::new("adv-own-control");
    let name = format!("fdsup-own-control-{}", std::process::id());
    let p = policy(dir.path(), &name);
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(prog("adv_own_sockets"))
        .args(["own", &name]);
    let out = fdsup_tests::run_cmd(&mut c, Duration::from_secs(30));
    let mut k = Checks::new(&out);
    k.eq("own_bind", "OK").eq("own_listen", "OK");
    k.eq("own_connect", "OK").eq("done", "1");
    k.finish();
}

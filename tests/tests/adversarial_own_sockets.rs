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
    let dir = TempDir::new("adv-own-squat");
    let name = format!("fdsup-own-squat-{}", std::process::id());
    let p = policy(dir.path(), &name);
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], dir.path());
    c.arg(&p)
        .arg("--")
        .arg(prog("adv_own_sockets"))
        .args(["squat", &name])
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
    let outside = UnixListener::bind_addr(&addr).expect("the outside server binds");
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
    k.finish();
    outside.set_nonblocking(true).expect("nonblocking");
    assert!(
        outside.accept().is_err(),
        "the outside server got a connection from the sandbox"
    );
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

//! The demonstrations of `policies/demo/`, run as README.md shows them:
//! every way fdsup hands a program a descriptor it could not have made
//! itself. The policies are used as they are in the repository; the two
//! network demonstrations get their loopback server from the test (on the
//! policy's port 8765, or, if something else holds that port, on another
//! one written into a copy of the policy).

mod network_support;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use network_support::*;

fn demo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../policies/demo")
        .join(name)
}

/// The demonstration's port.
const DEMO_PORT: u16 = 8765;

/// The loopback server of the network demonstrations: its port.
fn server() -> u16 {
    static PORT: OnceLock<u16> = OnceLock::new();
    *PORT.get_or_init(|| {
        tcp_server_on(DEMO_PORT, HTTP_OK, true).unwrap_or_else(|| tcp_server(HTTP_OK, true))
    })
}

/// The demo policy, or a copy of it with the server's port if 8765 was taken.
fn network_demo(name: &str, dir: &Path) -> PathBuf {
    let port = server();
    let p = demo(name);
    if port == DEMO_PORT {
        return p;
    }
    let text = std::fs::read_to_string(&p).expect("read demo policy");
    write_policy(
        dir,
        name,
        &text.replace(&DEMO_PORT.to_string(), &port.to_string()),
    )
}

#[test]
fn every_demo_policy_checks() {
    let dir = TempDir::new("demo-check");
    for name in [
        "content.json",
        "redirect-file.json",
        "connect-redirect.json",
        "broker-setfd.json",
        "readonly-dir.json",
    ] {
        let out = fdsup_run(["check".as_ref(), demo(name).as_os_str()], dir.path());
        assert_eq!(out.code, 0, "{name}: {out:?}");
    }
}

#[test]
fn content_serves_a_virtual_file_from_memory() {
    let dir = TempDir::new("demo-content");
    let p = demo("content.json");
    let out = sandboxed(&p, dir.path(), &["cat", "/run/fdsup/hello"]);
    out.expect_code(0);
    assert_eq!(out.stdout, "hello from the supervisor\n");
    assert!(
        !Path::new("/run/fdsup/hello").exists(),
        "it must not be on disk"
    );
    // Read-only: writing fails.
    let out = sandboxed(&p, dir.path(), &["sh", "-c", "echo x > /run/fdsup/hello"]);
    assert_ne!(out.code, 0, "{out:?}");
}

#[test]
fn redirect_serves_another_file_under_the_name() {
    let dir = TempDir::new("demo-redirect");
    let out = sandboxed(
        &demo("redirect-file.json"),
        dir.path(),
        &["cat", "/etc/hostname"],
    );
    out.expect_code(0);
    let want = std::fs::read_to_string("/etc/os-release").expect("os-release");
    assert_eq!(out.stdout, want);
}

#[test]
fn connect_to_test_net_is_redirected_to_loopback() {
    require("curl");
    let curl = tool("curl").expect("curl");
    let dir = TempDir::new("demo-connect");
    let p = network_demo("connect-redirect.json", dir.path());
    let out = sandboxed(
        &p,
        dir.path(),
        &[curl.as_str(), "-sS", "-m", "10", "http://192.0.2.10/"],
    );
    out.expect_code(0);
    assert_eq!(out.stdout, "hello from lo\n");
    // Any other address stays refused.
    let out = sandboxed(
        &p,
        dir.path(),
        &[curl.as_str(), "-sS", "-m", "10", "http://192.0.2.11/"],
    );
    assert_eq!(out.code, 7, "{out:?}");
}

#[test]
fn a_brokered_socket_replaces_the_programs_own() {
    require("python3");
    let dir = TempDir::new("demo-broker");
    let p = network_demo("broker-setfd.json", dir.path());
    let port = server().to_string();
    // The socket's number stays, the object behind it is fdsup's.
    let script = r#"
import os, socket, sys
s = socket.socket(); fd = s.fileno(); before = os.fstat(fd).st_ino
s.connect(("127.0.0.1", int(sys.argv[1])))
print("fd", fd == s.fileno(), "replaced", os.fstat(fd).st_ino != before)
s.sendall(b"GET / HTTP/1.0\r\n\r\n"); print(s.recv(4096).split(b"\r\n\r\n")[1].decode().strip())
print("ifaces", len(open("/proc/self/net/dev").readlines()) - 2)
"#;
    let out = py(&p, dir.path(), script, &[&port]);
    out.expect_code(0);
    assert!(out.stdout.contains("fd True replaced True"), "{out:?}");
    assert!(out.stdout.contains("hello from lo"), "{out:?}");
    assert!(out.stdout.contains("ifaces 1"), "only lo: {out:?}");
    require("curl");
    let curl = tool("curl").expect("curl");
    let url = format!("http://127.0.0.1:{port}/");
    let out = sandboxed(&p, dir.path(), &[curl.as_str(), "-sS", "-m", "10", &url]);
    out.expect_code(0);
    assert_eq!(out.stdout, "hello from lo\n");
}

/// Every file's path, size and contents, and every directory's path.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Option<Vec<u8>>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir").flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p.clone());
                out.push((p, None));
            } else {
                let data = std::fs::read(&p).expect("read");
                out.push((p, Some(data)));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_read_only_view_of_a_directory() {
    let dir = TempDir::new("demo-ro");
    dir.write("README.md", "read me\n");
    dir.write("sub/data.txt", "data\n");
    let before = snapshot(dir.path());
    let p = demo("readonly-dir.json");
    // Reads work.
    let out = sandboxed(
        &p,
        dir.path(),
        &["sh", "-c", "ls; cat README.md sub/data.txt"],
    );
    out.expect_code(0);
    assert!(
        out.stdout.contains("README.md") && out.stdout.contains("read me"),
        "{out:?}"
    );
    // Every change fails.
    for script in [
        "touch new",
        "echo x >> README.md",
        ": > README.md",
        "rm -f README.md",
        "mkdir d",
        "mv README.md moved",
        "chmod 600 README.md",
        "ln -s README.md l",
        "ln README.md h",
        "rm -rf sub",
        "truncate -s 0 sub/data.txt",
    ] {
        let out = sandboxed(&p, dir.path(), &["sh", "-c", script]);
        assert_ne!(out.code, 0, "{script} succeeded: {out:?}");
    }
    assert_eq!(snapshot(dir.path()), before, "the directory changed");
}

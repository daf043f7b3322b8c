//! Loopback servers and policies shared by the network tests. Every server
//! is started by the test on a port the kernel picks (except where a ready
//! demonstration policy names its port), so tests run in parallel.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, UdpSocket};
use std::os::unix::net::UnixListener;
use std::path::Path;
use std::time::Duration;

pub use fdsup_tests::*;

/// A TCP server on 127.0.0.1 that answers every connection with `reply`
/// (after reading what the client sent first, if `http`), for the rest of
/// the test process. Returns its port.
pub fn tcp_server(reply: &'static [u8], http: bool) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a loopback server");
    serve_tcp(l, reply, http)
}

/// [`tcp_server`] on a given port, if it is free.
pub fn tcp_server_on(port: u16, reply: &'static [u8], http: bool) -> Option<u16> {
    let l = TcpListener::bind(("127.0.0.1", port)).ok()?;
    Some(serve_tcp(l, reply, http))
}

fn serve_tcp(l: TcpListener, reply: &'static [u8], http: bool) -> u16 {
    let port = l.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            std::thread::spawn(move || {
                if http {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                    let mut buf = [0u8; 4096];
                    let mut got = Vec::new();
                    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got.extend_from_slice(&buf[..n]),
                        }
                    }
                }
                let _ = c.write_all(reply);
            });
        }
    });
    port
}

/// An HTTP/1.0 response with body `body`.
pub const HTTP_OK: &[u8] =
    b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nhello from lo\n";

/// A UDP socket on 127.0.0.1 with a short read timeout; returns it and
/// its port.
pub fn udp_server() -> (UdpSocket, u16) {
    let s = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    s.set_read_timeout(Some(Duration::from_millis(300)))
        .expect("timeout");
    let port = s.local_addr().expect("addr").port();
    (s, port)
}

/// Receives one datagram, if any arrives within the timeout.
pub fn udp_recv(s: &UdpSocket) -> Option<Vec<u8>> {
    let mut buf = [0u8; 2048];
    s.recv(&mut buf).ok().map(|n| buf[..n].to_vec())
}

/// A Unix stream server at `path` that sends `reply` to every client.
pub fn unix_server(path: &Path, reply: &'static [u8]) {
    let l = UnixListener::bind(path).expect("bind unix server");
    std::thread::spawn(move || {
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let _ = c.write_all(reply);
        }
    });
}

/// The interpreter inside the sandbox (not a user's shim in `PATH`).
pub const PY: &str = "/usr/bin/python3";

/// Whether `/usr/bin/python3` exists.
pub fn have_python() -> bool {
    Path::new(PY).exists()
}

/// The path of a client program from Debian's packages, if installed.
pub fn tool(name: &str) -> Option<String> {
    ["/usr/bin", "/bin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| Path::new(p).exists())
}

/// Runs `python3 -c SCRIPT ARGS...` under `policy` in `cwd`.
pub fn py(policy: &Path, cwd: &Path, script: &str, args: &[&str]) -> Output {
    let mut cmd: Vec<&str> = vec![PY, "-c", script];
    cmd.extend_from_slice(args);
    sandboxed(policy, cwd, &cmd)
}

/// Runs `python3 -c PY_CONNECT HOST PORT` under `policy` in `cwd`, with
/// `--log LOG`.
pub fn py_connect_logged(policy: &Path, log: &Path, cwd: &Path, host: &str, port: &str) -> Output {
    fdsup_run(
        [
            "run".as_ref(),
            "--log".as_ref(),
            log.as_os_str(),
            "--policy".as_ref(),
            policy.as_os_str(),
            "--".as_ref(),
            PY.as_ref(),
            "-c".as_ref(),
            std::ffi::OsStr::new(PY_CONNECT),
            host.as_ref(),
            port.as_ref(),
        ],
        cwd,
    )
}

/// Runs `python3 -c SCRIPT ARGS...` natively in `cwd` (positive controls).
pub fn py_native(cwd: &Path, script: &str, args: &[&str]) -> Output {
    let mut cmd: Vec<&str> = vec![PY, "-c", script];
    cmd.extend_from_slice(args);
    native(cwd, &cmd)
}

/// A Python client: `connect HOST PORT` prints what the server sent, or
/// `ERR <errno>`.
pub const PY_CONNECT: &str = r#"
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
    print("GOT", s.recv(100).decode().strip())
except OSError as e:
    print("ERR", e.errno)
"#;

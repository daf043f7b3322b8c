//! `fdsup-bench connect`: what one mediated and one brokered `connect` cost.
//!
//! A loopback TCP server in this process accepts every connection and waits for the client to
//! close it. A client — this
//! same executable in the hidden mode `connect-client` — makes N connections to it (socket,
//! connect, close; `--iterations`, default 2,000) and prints `ns_per_op=X n=N`. It runs
//!
//! - natively;
//! - under `fdsup run` with a policy that allows connecting to the server (`mediated`: the
//!   supervisor reads the address, decides, and connects the program's own socket);
//! - the same with `"isolate": true` (`brokered`: the program is in an empty network namespace;
//!   the supervisor makes and connects a socket in its own and installs it over the program's
//!   with `SECCOMP_ADDFD_FLAG_SETFD`),
//!
//! each with a blocking connect (`TcpStream::connect`: under fdsup the connect runs on a thread
//! of its own) and a non-blocking one (`TcpStream::connect_timeout`: `EINPROGRESS`, then poll),
//! in interleaved rounds whose order rotates; the report gives the median ns per connect and the
//! ratios to native.

use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use crate::stats;

const USAGE: &str = "\
usage: cargo run --release -p fdsup-bench -- connect [OPTIONS]

Times loopback TCP connects (socket+connect+close) natively, under fdsup
(mediated) and under fdsup with isolate (brokered with SETFD), blocking and
non-blocking, interleaved; prints the median ns per connect and the ratios.

options:
  --iterations N  connects per run (default 2000)
  --rounds N      interleaved rounds (default 5)
  --fdsup PATH    the fdsup binary (default: fdsup beside this executable)
  -h, --help      this text
";

/// The client mode: `connect-client ADDR N blocking|nonblocking`.
pub fn client(mut args: impl Iterator<Item = String>) -> ExitCode {
    let (Some(addr), Some(n), Some(mode)) = (args.next(), args.next(), args.next()) else {
        eprintln!("connect-client: ADDR N blocking|nonblocking");
        return ExitCode::from(2);
    };
    let (Ok(addr), Ok(n)) = (addr.parse::<SocketAddr>(), n.parse::<u32>()) else {
        eprintln!("connect-client: bad ADDR or N");
        return ExitCode::from(2);
    };
    let blocking = mode == "blocking";
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let t = Instant::now();
        let r = if blocking {
            TcpStream::connect(addr)
        } else {
            TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        };
        match r {
            Ok(s) => {
                slowest = slowest.max(t.elapsed());
                reset_on_close(&s);
            }
            Err(e) => {
                eprintln!("connect-client: connect {addr}: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let ns = start.elapsed().as_nanos() as f64 / f64::from(n.max(1));
    println!("ns_per_op={ns:.0} n={n} slowest_us={}", slowest.as_micros());
    ExitCode::SUCCESS
}

/// `SO_LINGER {on, 0}`: closing sends a reset and leaves no TIME_WAIT entry. Thousands of
/// connects a run would otherwise fill the local port range with TIME_WAIT entries, and a
/// connect that meets one now and then waits a second for a SYN retransmission, whatever runs
/// it.
#[allow(unsafe_code)]
fn reset_on_close(s: &TcpStream) {
    use std::os::fd::AsRawFd as _;
    let l = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let len = libc::socklen_t::try_from(std::mem::size_of::<libc::linger>()).unwrap_or(8);
    // SAFETY: `l` is a valid linger struct of `len` bytes; the descriptor is the stream's own.
    let _ = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            std::ptr::addr_of!(l).cast(),
            len,
        )
    };
}

/// `listen(fd, 4096)`: the standard library listens with a backlog of 128, which a native
/// client outruns (a full backlog drops the SYN, and the client waits a second to resend it).
#[allow(unsafe_code)]
fn deep_backlog(l: &TcpListener) -> std::io::Result<()> {
    use std::os::fd::AsRawFd as _;
    // SAFETY: listen on the listener's own descriptor, integers only.
    if unsafe { libc::listen(l.as_raw_fd(), 4096) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Native,
    Mediated,
    Brokered,
}

impl Variant {
    fn label(self) -> &'static str {
        match self {
            Variant::Native => "native",
            Variant::Mediated => "fdsup (mediated)",
            Variant::Brokered => "fdsup isolate (brokered, SETFD)",
        }
    }
}

struct Opts {
    iterations: u32,
    rounds: usize,
    fdsup: Option<PathBuf>,
}

fn parse(args: impl Iterator<Item = String>) -> Result<Option<Opts>, String> {
    let mut o = Opts {
        iterations: 2000,
        rounds: 5,
        fdsup: None,
    };
    let mut it = args;
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--iterations" => {
                o.iterations = val("--iterations")?
                    .parse()
                    .map_err(|_| "--iterations: a number")?;
            }
            "--rounds" => o.rounds = val("--rounds")?.parse().map_err(|_| "--rounds: a number")?,
            "--fdsup" => o.fdsup = Some(PathBuf::from(val("--fdsup")?)),
            "-h" | "--help" => return Ok(None),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(Some(o))
}

fn policy(dir: &Path, exe_dir: &Path, port: u16, isolate: bool) -> std::io::Result<PathBuf> {
    let p = dir.join(format!("connect-{isolate}.json"));
    std::fs::write(
        &p,
        format!(
            r#"{{ "version": 1, "include": ["@default"],
  "filesystem": {{ "rules": [ {{ "path": "{}", "access": "ro" }} ] }},
  "network": {{ "isolate": {isolate}, "rules": [ {{ "connect": "127.0.0.1:{port}" }} ] }} }}"#,
            exe_dir.display()
        ),
    )?;
    Ok(p)
}

fn run_once(cmd: &mut Command) -> Result<f64, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    stdout
        .split_whitespace()
        .find_map(|w| w.strip_prefix("ns_per_op="))
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("{cmd:?}: no ns_per_op in {stdout:?}"))
}

/// The bench: see the module docs.
pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    crate::cli("fdsup-bench connect", USAGE, parse(args), |opts| {
        let report = bench(opts)?;
        let _ = std::io::stdout().write_all(report.as_bytes());
        Ok::<(), String>(())
    })
}

fn bench(opts: &Opts) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("own executable: {e}"))?;
    let exe_dir = exe.parent().ok_or("no executable directory")?.to_path_buf();
    let fdsup = opts.fdsup.clone().unwrap_or_else(|| exe_dir.join("fdsup"));
    if !fdsup.exists() {
        return Err(format!(
            "{} not found: build it with `cargo build --release --workspace`",
            fdsup.display()
        ));
    }
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
    deep_backlog(&listener).map_err(|e| format!("listen: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // The client closes first, with a reset (`reset_on_close`); the server
    // waits for it.
    std::thread::spawn(move || {
        for mut c in listener.incoming().flatten() {
            let _ = std::io::Read::read(&mut c, &mut [0u8; 1]);
        }
    });
    let tmp = std::env::temp_dir().join(format!("fdsup-bench-connect-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let pol = |iso| policy(&tmp, &exe_dir, addr.port(), iso).map_err(|e| e.to_string());
    let (mediated, brokered) = (pol(false)?, pol(true)?);
    let n = opts.iterations.to_string();
    let a = addr.to_string();
    let command = |v: Variant, mode: &str| {
        let mut c = match v {
            Variant::Native => Command::new(&exe),
            Variant::Mediated | Variant::Brokered => {
                let mut c = Command::new(&fdsup);
                let p = if v == Variant::Mediated {
                    &mediated
                } else {
                    &brokered
                };
                c.arg("run").arg("--policy").arg(p).arg("--").arg(&exe);
                c
            }
        };
        c.args(["connect-client", &a, &n, mode]).current_dir(&tmp);
        c
    };
    let variants = [Variant::Native, Variant::Mediated, Variant::Brokered];
    let modes = ["blocking", "nonblocking"];
    let mut samples = vec![Vec::new(); variants.len() * modes.len()];
    for round in 0..opts.rounds {
        eprintln!("fdsup-bench connect: round {}/{}", round + 1, opts.rounds);
        for k in 0..variants.len() {
            let vi = (k + round) % variants.len();
            for (mi, mode) in modes.iter().enumerate() {
                let ns = run_once(&mut command(variants[vi], mode))?;
                samples[vi * modes.len() + mi].push(ns);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let med = |vi: usize, mi: usize| stats::median(&samples[vi * modes.len() + mi]);
    let mut out = String::new();
    out.push_str(&format!(
        "connect: {} loopback TCP connects (socket+connect+close) per run, median of {} interleaved runs\n\n",
        opts.iterations, opts.rounds
    ));
    out.push_str(&format!(
        "{:<34} {:>14} {:>9} {:>14} {:>9}\n",
        "", "blocking µs", "ratio", "non-block µs", "ratio"
    ));
    for (vi, v) in variants.iter().enumerate() {
        let (b, nb) = (med(vi, 0), med(vi, 1));
        out.push_str(&format!(
            "{:<34} {:>14.1} {:>8.1}x {:>14.1} {:>8.1}x\n",
            v.label(),
            b / 1000.0,
            b / med(0, 0),
            nb / 1000.0,
            nb / med(0, 1)
        ));
    }
    Ok(out)
}

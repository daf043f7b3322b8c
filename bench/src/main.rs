//! `fdsup-bench`: what one brokered open costs under fdsup, against the program run natively and
//! against the minimal C supervisor (the "floor"), plus what fdsup adds to a program's start-up.
//!
//! Run it as `cargo run --release -p fdsup-bench [-- OPTIONS]` (see `--help`). In one run it
//!
//! 1. compiles `ref_unotify.c` (the floor) and `micro_open.c` (N × openat+close, prints
//!    `ns_per_op=X n=N`) from `<workspace>/../shared/bench` with `gcc -O2 -Wall -pthread` into
//!    `bench-c/` beside its own executable (the C files are never copied into the project);
//! 2. finds `fdsup` beside its own executable (`target/release/fdsup`);
//! 3. measures the round trip: `micro_open` natively, under the floor with
//!    `REF_SYNC_WAKEUP=1`, under `fdsup run --policy @default`, and, as references, under the
//!    floor without sync wake-up and under `REF_MODE=continue` (the bare notification round
//!    trip), in interleaved rounds whose order rotates, so that drift of the machine is spread
//!    over all variants alike;
//! 4. measures start-up: the wall time of spawning and waiting for `/bin/true`, natively and as
//!    `fdsup run -- /bin/true`, interleaved;
//! 5. prints a report and a summary block, or with `--json` one JSON object on stdout.
//!
//! Progress goes to stderr, the report to stdout. A child that fails (non-zero exit, unparsable
//! output) stops the bench with its command line and stderr, and a non-zero exit status.
//!
//! `fdsup-bench workloads` times whole programs instead (python imports, two tars, git status,
//! a C build), natively, under the floor and under fdsup in both metadata modes: see the
//! `workloads` module. `fdsup-bench connect` times loopback
//! TCP connects natively, mediated and brokered: see the `connect` module.

#![deny(unsafe_code)]

mod busy;
mod connect;
mod floor;
mod json;
mod stats;
mod workloads;

use std::fmt;
use std::io::Write as _;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, ExitStatus, Stdio};
use std::time::Instant;

use json::Obj;

/// The file every `micro_open` run opens and closes.
const OPEN_PATH: &str = "/etc/passwd";
/// The program whose start-up is timed.
const TRUE_BIN: &str = "/bin/true";
/// Targets the summary is checked against (printed, not enforced).
const TARGET_FDSUP_OVER_FLOOR: f64 = 1.5;
/// Issue 11: `fdsup run -q -- /bin/true` within 1 ms of native.
const TARGET_STARTUP_OVERHEAD_MS: f64 = 1.0;

const USAGE: &str = "\
usage: cargo run --release -p fdsup-bench [-- OPTIONS]
       cargo run --release -p fdsup-bench -- workloads [OPTIONS]   (see workloads --help)
       cargo run --release -p fdsup-bench -- connect [OPTIONS]     (see connect --help)

Measures the per-open round trip (open+close) natively, under the C floor
(ref_unotify) and under fdsup, and the start-up cost of `fdsup run`.

options:
  --rounds N         interleaved round-trip rounds (default 15)
  --iterations N     open+close pairs per micro_open run (default 20000)
  --startup-runs N   start-up runs of each variant (default 200)
  --quick            smoke run: 3 rounds, 2000 iterations, 20 start-up runs
                     (explicit options above still win)
  --json             print the figures as one JSON object on stdout
  --no-fdsup         skip the fdsup rows (native and C floor only)
  --fdsup PATH       the fdsup binary (default: fdsup beside this executable)
  --shared DIR       where ref_unotify.c and micro_open.c are
                     (default: <workspace root>/../shared/bench)
  --busy             keep every CPU busy while timing (a nice-19 spinner on
                     each): the regime where wake-ups are cheap
  -h, --help         this text
";

/// An error with a message meant for the user.
struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error(s)
    }
}

type Result<T> = std::result::Result<T, Error>;

/// Command-line options, resolved (`--quick` applied).
#[derive(Debug)]
struct Options {
    rounds: usize,
    iterations: u64,
    startup_runs: usize,
    quick: bool,
    json: bool,
    no_fdsup: bool,
    busy: bool,
    fdsup: Option<PathBuf>,
    shared: Option<PathBuf>,
}

/// Parses the arguments after the program name; `Ok(None)` means `--help` was asked for.
fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>> {
    fn number<T: std::str::FromStr>(opt: &str, value: &str) -> Result<T> {
        match value.parse::<T>() {
            Ok(n) => Ok(n),
            Err(_) => Err(format!("{opt}: expected a positive whole number, got {value:?}").into()),
        }
    }
    let (mut rounds, mut iterations, mut startup_runs) = (None, None, None);
    let mut o = Options {
        rounds: 15,
        iterations: 20_000,
        startup_runs: 200,
        quick: false,
        json: false,
        no_fdsup: false,
        busy: false,
        fdsup: None,
        shared: None,
    };
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            name.as_str(),
            "--rounds" | "--iterations" | "--startup-runs" | "--fdsup" | "--shared"
        );
        let value = if takes_value {
            match inline.or_else(|| it.next()) {
                Some(v) => v,
                None => return Err(format!("{name} needs a value\n\n{USAGE}").into()),
            }
        } else if inline.is_some() {
            return Err(format!("{name} takes no value\n\n{USAGE}").into());
        } else {
            String::new()
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--rounds" => rounds = Some(number::<usize>(&name, &value)?),
            "--iterations" => iterations = Some(number::<u64>(&name, &value)?),
            "--startup-runs" => startup_runs = Some(number::<usize>(&name, &value)?),
            "--quick" => o.quick = true,
            "--json" => o.json = true,
            "--no-fdsup" => o.no_fdsup = true,
            "--busy" => o.busy = true,
            "--fdsup" => o.fdsup = Some(PathBuf::from(value)),
            "--shared" => o.shared = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {arg:?}\n\n{USAGE}").into()),
        }
    }
    if o.quick {
        (o.rounds, o.iterations, o.startup_runs) = (3, 2_000, 20);
    }
    o.rounds = rounds.unwrap_or(o.rounds);
    o.iterations = iterations.unwrap_or(o.iterations);
    o.startup_runs = startup_runs.unwrap_or(o.startup_runs);
    if o.rounds == 0 || o.iterations == 0 || o.startup_runs == 0 {
        return Err(
            "--rounds, --iterations and --startup-runs must be at least 1"
                .to_owned()
                .into(),
        );
    }
    Ok(Some(o))
}

/// The built tools the bench runs.
struct Tools {
    micro_open: PathBuf,
    ref_unotify: PathBuf,
    fdsup: Option<PathBuf>,
    /// Where the C sources were taken from, for the report.
    shared: PathBuf,
}

/// The directory holding this executable (`target/release` under `cargo run --release`).
fn exe_dir() -> Result<PathBuf> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot locate the bench's own executable: {e}"))?;
    match exe.parent() {
        Some(dir) => Ok(dir.to_path_buf()),
        None => Err(format!("{} has no parent directory", exe.display()).into()),
    }
}

/// Compiles `name.c` from `shared` into `out_dir/name` with `gcc -O2 -Wall -pthread`.
fn compile(shared: &Path, out_dir: &Path, name: &str) -> Result<PathBuf> {
    let src = shared.join(format!("{name}.c"));
    if !src.is_file() {
        return Err(format!("{} not found (pass --shared DIR)", src.display()).into());
    }
    let out = out_dir.join(name);
    let mut cmd = Command::new("gcc");
    cmd.args(["-O2", "-Wall", "-pthread", "-o"])
        .arg(&out)
        .arg(&src);
    let res = cmd.stdin(Stdio::null()).output().map_err(|e| {
        format!("cannot run gcc: {e} (the bench compiles its C helpers; install gcc)")
    })?;
    let stderr = String::from_utf8_lossy(&res.stderr);
    if !res.status.success() {
        return Err(format!(
            "`{}` failed ({})\n--- gcc stderr ---\n{}",
            describe(&cmd),
            status_text(res.status),
            shown(&stderr)
        )
        .into());
    }
    if !stderr.trim().is_empty() {
        eprintln!("gcc warnings for {}:\n{}", src.display(), stderr.trim_end());
    }
    Ok(out)
}

/// Builds the C helpers and finds fdsup.
fn prepare(opts: &Options) -> Result<Tools> {
    let dir = exe_dir()?;
    let shared = match &opts.shared {
        Some(s) => s.clone(),
        None => {
            // CARGO_MANIFEST_DIR is <workspace root>/bench.
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            root.join("..").join("shared").join("bench")
        }
    };
    let shared = shared.canonicalize().map_err(|e| {
        format!(
            "shared bench directory {} not found: {e} (pass --shared DIR)",
            shared.display()
        )
    })?;
    let fdsup = if opts.no_fdsup {
        None
    } else {
        let path = opts.fdsup.clone().unwrap_or_else(|| dir.join("fdsup"));
        if !path.is_file() {
            return Err(format!(
                "fdsup binary not found at {}: build it with cargo build --release -p fdsup \
                 (or pass --fdsup PATH, or --no-fdsup to skip the fdsup rows)",
                path.display()
            )
            .into());
        }
        Some(path)
    };
    let out_dir = dir.join("bench-c");
    std::fs::create_dir_all(&out_dir)
        .map_err(|e| format!("cannot create {}: {e}", out_dir.display()))?;
    eprintln!(
        "compiling {}/{{ref_unotify,micro_open}}.c into {}",
        shared.display(),
        out_dir.display()
    );
    let ref_unotify = compile(&shared, &out_dir, "ref_unotify")?;
    let micro_open = compile(&shared, &out_dir, "micro_open")?;
    Ok(Tools {
        micro_open,
        ref_unotify,
        fdsup,
        shared,
    })
}

/// One way of running `micro_open`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Variant {
    Native,
    Floor,
    Fdsup,
    FloorNoSync,
    BareContinue,
}

impl Variant {
    /// The key in the JSON output.
    fn key(self) -> &'static str {
        match self {
            Variant::Native => "native",
            Variant::Floor => "floor",
            Variant::Fdsup => "fdsup",
            Variant::FloorNoSync => "floor_no_sync_wakeup",
            Variant::BareContinue => "bare_continue",
        }
    }

    /// The row label in the report.
    fn label(self) -> &'static str {
        match self {
            Variant::Native => "native",
            Variant::Floor => "C floor (REF_SYNC_WAKEUP=1)",
            Variant::Fdsup => "fdsup run --policy @default",
            Variant::FloorNoSync => "ref: C floor, no sync wake-up",
            Variant::BareContinue => "ref: bare trip (REF_MODE=continue)",
        }
    }

    /// The command that runs `micro_open` this way.
    fn command(self, tools: &Tools, iterations: u64) -> Result<Command> {
        let mut cmd = match self {
            Variant::Native => Command::new(&tools.micro_open),
            Variant::Floor | Variant::FloorNoSync | Variant::BareContinue => {
                let mut c = Command::new(&tools.ref_unotify);
                c.arg(&tools.micro_open);
                c
            }
            Variant::Fdsup => {
                let Some(fdsup) = &tools.fdsup else {
                    return Err("internal: fdsup row requested with --no-fdsup"
                        .to_owned()
                        .into());
                };
                let mut c = Command::new(fdsup);
                c.args(["run", "--policy", "@default", "--"])
                    .arg(&tools.micro_open);
                c
            }
        };
        cmd.arg(iterations.to_string()).arg(OPEN_PATH);
        cmd.env_remove("REF_SYNC_WAKEUP")
            .env_remove("REF_MODE")
            .env_remove("REF_STATS");
        match self {
            Variant::Floor => {
                cmd.env("REF_SYNC_WAKEUP", "1");
            }
            Variant::BareContinue => {
                cmd.env("REF_MODE", "continue");
            }
            _ => {}
        }
        Ok(cmd)
    }
}

/// A command line as a shell would show it, with the environment it sets in front.
fn describe(cmd: &Command) -> String {
    let mut parts: Vec<String> = cmd
        .get_envs()
        .filter_map(|(k, v)| v.map(|v| format!("{}={}", k.to_string_lossy(), v.to_string_lossy())))
        .collect();
    parts.push(cmd.get_program().to_string_lossy().into_owned());
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

/// A child's stderr for an error message.
fn shown(stderr: &str) -> &str {
    let s = stderr.trim_end();
    if s.is_empty() {
        "(empty)"
    } else {
        s
    }
}

fn status_text(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        (None, None) => format!("{status}"),
    }
}

/// What one `micro_open` run reported.
struct MicroRun {
    ns_per_op: f64,
    stderr: String,
}

/// Reads `ns_per_op=X n=N` from `micro_open`'s output, checking N.
fn parse_micro(stdout: &str, iterations: u64) -> Option<f64> {
    let line = stdout.lines().rev().find(|l| l.contains("ns_per_op="))?;
    let mut ns = None;
    let mut n = None;
    for tok in line.split_whitespace() {
        if let Some(v) = tok.strip_prefix("ns_per_op=") {
            ns = v.parse::<f64>().ok();
        } else if let Some(v) = tok.strip_prefix("n=") {
            n = v.parse::<u64>().ok();
        }
    }
    match (ns, n) {
        (Some(ns), Some(n)) if n == iterations && ns.is_finite() && ns > 0.0 => Some(ns),
        _ => None,
    }
}

fn run_micro(v: Variant, tools: &Tools, iterations: u64) -> Result<MicroRun> {
    let mut cmd = v.command(tools, iterations)?;
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let problem = if !out.status.success() {
        Some(status_text(out.status))
    } else {
        parse_micro(&stdout, iterations).map_or_else(
            || Some(format!("unparsable output {:?}", stdout.trim_end())),
            |_| None,
        )
    };
    if let Some(problem) = problem {
        return Err(format!(
            "{} failed: `{}`: {problem}\n--- stderr ---\n{}",
            v.label(),
            describe(&cmd),
            shown(&stderr)
        )
        .into());
    }
    let ns_per_op = parse_micro(&stdout, iterations).unwrap_or(f64::NAN);
    Ok(MicroRun { ns_per_op, stderr })
}

/// Per-round ns per open+close of each variant, in variant order.
struct RoundTrip {
    rows: Vec<(Variant, Vec<f64>)>,
    /// False when ref_unotify reported that the kernel refused SYNC_WAKE_UP.
    sync_wakeup_ok: bool,
}

impl RoundTrip {
    fn values(&self, v: Variant) -> Option<&[f64]> {
        self.rows
            .iter()
            .find(|(w, _)| *w == v)
            .map(|(_, vals)| vals.as_slice())
    }

    fn median(&self, v: Variant) -> Option<f64> {
        self.values(v).map(stats::median)
    }
}

fn round_trip(opts: &Options, tools: &Tools) -> Result<RoundTrip> {
    let mut variants = vec![Variant::Native, Variant::Floor];
    if tools.fdsup.is_some() {
        variants.push(Variant::Fdsup);
    }
    variants.extend([Variant::FloorNoSync, Variant::BareContinue]);
    let mut rows: Vec<(Variant, Vec<f64>)> = variants
        .iter()
        .map(|&v| (v, Vec::with_capacity(opts.rounds)))
        .collect();
    let mut sync_wakeup_ok = true;

    eprintln!(
        "round trip: {} rounds x {} variants, micro_open {} {OPEN_PATH} (plus one warm-up run each)",
        opts.rounds,
        variants.len(),
        opts.iterations
    );
    for &v in &variants {
        run_micro(v, tools, opts.iterations)?;
    }
    let k = variants.len();
    for round in 0..opts.rounds {
        let mut line = format!("  round {:>2}/{}:", round + 1, opts.rounds);
        for i in 0..k {
            let idx = (round + i) % k;
            let (v, vals) = &mut rows[idx];
            let run = run_micro(*v, tools, opts.iterations)?;
            if *v == Variant::Floor && run.stderr.contains("SYNC_WAKE_UP") {
                sync_wakeup_ok = false;
            }
            vals.push(run.ns_per_op);
            line.push_str(&format!(" {} {:.0}", v.key(), run.ns_per_op));
        }
        eprintln!("{line}");
    }
    Ok(RoundTrip {
        rows,
        sync_wakeup_ok,
    })
}

/// Wall times in ms of spawning and waiting for `/bin/true`, natively and under fdsup.
struct Startup {
    native: Vec<f64>,
    fdsup: Option<Vec<f64>>,
    /// fdsup's own account of where its start-up goes (`FDSUP_TIMES=1`):
    /// each step and its time in µs, one entry per run.
    steps: Vec<Vec<(String, f64)>>,
}

/// Parses the `fdsup: times: STEP +N us TOTAL us` lines `FDSUP_TIMES=1` makes
/// fdsup print: each step with its own time (µs).
fn parse_steps(stderr: &str) -> Vec<(String, f64)> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("fdsup: times: "))
        .filter_map(|l| {
            let (name, rest) = l.split_once(" +")?;
            let us = rest.split_whitespace().next()?.parse::<f64>().ok()?;
            Some((name.trim_end().to_owned(), us))
        })
        .collect()
}

/// The median time of each step over the runs, in the order of the first
/// run (a step a run lacks counts as absent there).
fn step_medians(runs: &[Vec<(String, f64)>]) -> Vec<(String, f64)> {
    let Some(first) = runs.first() else {
        return Vec::new();
    };
    first
        .iter()
        .map(|(name, _)| {
            let vals: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.iter().find(|(n, _)| n == name).map(|(_, v)| *v))
                .collect();
            (name.clone(), stats::median(&vals))
        })
        .collect()
}

/// Runs `fdsup run -- /bin/true` with `FDSUP_TIMES=1` and returns its steps.
fn steps_once(fdsup: &Path) -> Result<Vec<(String, f64)>> {
    let mut cmd = startup_command(Some(fdsup));
    cmd.env("FDSUP_TIMES", "1").stderr(Stdio::piped());
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "start-up run failed: `{}`: {}",
            describe(&cmd),
            status_text(out.status)
        )
        .into());
    }
    Ok(parse_steps(&String::from_utf8_lossy(&out.stderr)))
}

fn startup_command(fdsup: Option<&Path>) -> Command {
    let mut cmd = match fdsup {
        Some(f) => {
            let mut c = Command::new(f);
            c.args(["run", "--", TRUE_BIN]);
            c
        }
        None => Command::new(TRUE_BIN),
    };
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // `cargo run` sets LD_LIBRARY_PATH to the build tree: every dynamically
    // linked program would then probe a dozen paths there first (under
    // fdsup, a dozen refused lookups), which no user's environment has.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd
}

/// Times one spawn+wait; on failure runs the command again with its stderr captured to report.
fn time_once(fdsup: Option<&Path>) -> Result<f64> {
    let mut cmd = startup_command(fdsup);
    let t0 = Instant::now();
    let status = cmd.status();
    let elapsed = t0.elapsed();
    let status = status.map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
    if status.success() {
        return Ok(elapsed.as_secs_f64() * 1e3);
    }
    let again = startup_command(fdsup).stderr(Stdio::piped()).output();
    let stderr = again.map_or_else(
        |e| format!("(could not rerun to capture it: {e})"),
        |o| shown(&String::from_utf8_lossy(&o.stderr)).to_owned(),
    );
    Err(format!(
        "start-up run failed: `{}`: {}\n--- stderr (of a rerun) ---\n{stderr}",
        describe(&cmd),
        status_text(status)
    )
    .into())
}

fn startup(opts: &Options, tools: &Tools) -> Result<Startup> {
    let fdsup = tools.fdsup.as_deref();
    eprintln!(
        "start-up: {} interleaved runs of {TRUE_BIN}{} (plus one warm-up run each)",
        opts.startup_runs,
        if fdsup.is_some() {
            " and fdsup run -- /bin/true"
        } else {
            ""
        }
    );
    time_once(None)?;
    if fdsup.is_some() {
        time_once(fdsup)?;
    }
    let mut native = Vec::with_capacity(opts.startup_runs);
    let mut under = fdsup.map(|_| Vec::with_capacity(opts.startup_runs));
    for i in 0..opts.startup_runs {
        // Alternate which goes first, so neither always follows the other.
        let native_first = i % 2 == 0;
        if native_first {
            native.push(time_once(None)?);
        }
        if let Some(vals) = under.as_mut() {
            vals.push(time_once(fdsup)?);
        }
        if !native_first {
            native.push(time_once(None)?);
        }
    }
    let mut steps = Vec::new();
    if let Some(f) = fdsup {
        for _ in 0..opts.startup_runs.min(STEP_RUNS) {
            steps.push(steps_once(f)?);
        }
    }
    Ok(Startup {
        native,
        fdsup: under,
        steps,
    })
}

/// Runs with `FDSUP_TIMES=1` for the start-up breakdown (at most).
const STEP_RUNS: usize = 50;

/// Where the bench ran.
struct Env {
    cpus: usize,
    kernel: String,
}

fn environment() -> Env {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    Env { cpus, kernel }
}

/// Everything measured, with the ratios derived from it.
struct Results {
    env: Env,
    rt: RoundTrip,
    st: Startup,
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    }
}

impl Results {
    fn fdsup_native(&self) -> Option<f64> {
        ratio(
            self.rt.median(Variant::Fdsup),
            self.rt.median(Variant::Native),
        )
    }
    fn floor_native(&self) -> Option<f64> {
        ratio(
            self.rt.median(Variant::Floor),
            self.rt.median(Variant::Native),
        )
    }
    fn fdsup_floor(&self) -> Option<f64> {
        ratio(
            self.rt.median(Variant::Fdsup),
            self.rt.median(Variant::Floor),
        )
    }
    fn startup_overhead_ms(&self) -> Option<f64> {
        let f = self.st.fdsup.as_deref()?;
        Some(stats::median(f) - stats::median(&self.st.native))
    }
}

fn fmt_opt(v: Option<f64>, decimals: usize, suffix: &str) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.decimals$}{suffix}"),
        _ => "-".to_owned(),
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

const BIMODAL_NOTE: &str =
    "  note: these timings are bimodal. A brokered open costs about 6 us when the
  program and its supervisor happen to share a CPU, and 15-19 us when the
  scheduler puts them on different CPUs (the program must run to install the
  descriptor while the supervisor waits: cross-CPU wake-ups; in a virtual
  machine a wake-up of an idle vCPU can cost tens of us more). Which mode a
  run lands in is largely chance, so one run tells little: compare medians of
  many interleaved rounds, and read the per-round values for the clusters.";

fn human_report(opts: &Options, tools: &Tools, r: &Results) -> String {
    let mut s = String::new();
    let mut line = |l: String| {
        s.push_str(&l);
        s.push('\n');
    };
    line(format!(
        "fdsup-bench: {} CPUs, kernel {}{}",
        r.env.cpus,
        r.env.kernel,
        if opts.quick { " (quick run)" } else { "" }
    ));
    line(format!("  {}", busy::describe(opts.busy)));
    line(format!(
        "  fdsup: {}",
        tools
            .fdsup
            .as_ref()
            .map_or("(skipped: --no-fdsup)".to_owned(), |p| p
                .display()
                .to_string())
    ));
    line(format!("  C sources: {}", tools.shared.display()));
    line(String::new());
    line(format!(
        "Round trip: ns per open+close (micro_open {} {OPEN_PATH}), {} interleaved rounds",
        opts.iterations, opts.rounds
    ));
    line(format!(
        "  {:<36} {:>7} {:>7}   per round",
        "", "median", "min"
    ));
    for (v, vals) in &r.rt.rows {
        let per: Vec<String> = vals.iter().map(|x| format!("{x:.0}")).collect();
        line(format!(
            "  {:<36} {:>7.0} {:>7.0}   {}",
            v.label(),
            stats::median(vals),
            stats::min(vals),
            per.join(" ")
        ));
    }
    if !r.rt.sync_wakeup_ok {
        line(
            "  warning: the kernel refused SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP; the C floor ran \
              without it"
                .to_owned(),
        );
    }
    line(BIMODAL_NOTE.to_owned());
    line(String::new());
    line(format!(
        "Start-up: wall time of spawn+wait, ms, {} interleaved runs each",
        opts.startup_runs
    ));
    line(format!("  {:<36} {:>7} {:>7}", "", "median", "p90"));
    line(format!(
        "  {:<36} {:>7.3} {:>7.3}",
        TRUE_BIN,
        stats::median(&r.st.native),
        stats::p90(&r.st.native)
    ));
    if let Some(f) = &r.st.fdsup {
        line(format!(
            "  {:<36} {:>7.3} {:>7.3}",
            "fdsup run -- /bin/true",
            stats::median(f),
            stats::p90(f)
        ));
    }
    let steps = step_medians(&r.st.steps);
    if !steps.is_empty() {
        line(format!(
            "  where it goes (FDSUP_TIMES=1, median of {} runs; from fdsup's main to the \
             program's exit seen):",
            r.st.steps.len()
        ));
        let total: f64 = steps.iter().map(|(_, v)| v).sum();
        for (name, us) in &steps {
            line(format!("    {name:<34} {us:>7.0} us"));
        }
        line(format!(
            "    {:<34} {total:>7.0} us",
            "(sum of the medians)"
        ));
    }
    line(String::new());
    line("Summary".to_owned());
    let med = |v| fmt_opt(r.rt.median(v), 0, "");
    line(format!(
        "round trip (ns per open+close, median of {}):  native {}  C floor {}  fdsup {}",
        opts.rounds,
        med(Variant::Native),
        med(Variant::Floor),
        med(Variant::Fdsup)
    ));
    line(format!(
        "references (ns): C floor without sync wake-up {}  bare round trip (CONTINUE) {}",
        med(Variant::FloorNoSync),
        med(Variant::BareContinue)
    ));
    let fdsup_floor = r.fdsup_floor();
    let target = fdsup_floor.map_or(String::new(), |x| {
        format!(": {}", met(x <= TARGET_FDSUP_OVER_FLOOR))
    });
    line(format!(
        "ratios: fdsup/native {}  floor/native {}  fdsup/floor {}   \
         (target fdsup/floor <= {TARGET_FDSUP_OVER_FLOOR}x{target})",
        fmt_opt(r.fdsup_native(), 2, "x"),
        fmt_opt(r.floor_native(), 2, "x"),
        fmt_opt(fdsup_floor, 2, "x"),
    ));
    let overhead = r.startup_overhead_ms();
    let target = overhead.map_or(String::new(), |x| {
        format!(": {}", met(x <= TARGET_STARTUP_OVERHEAD_MS))
    });
    line(format!(
        "start-up (ms, median of {}): native {:.2}  fdsup {}  overhead {}   \
         (target <= {TARGET_STARTUP_OVERHEAD_MS} ms{target})",
        opts.startup_runs,
        stats::median(&r.st.native),
        fmt_opt(r.st.fdsup.as_deref().map(stats::median), 2, ""),
        overhead.map_or("-".to_owned(), |x| format!("{x:+.2} ms")),
    ));
    s
}

fn json_report(opts: &Options, tools: &Tools, r: &Results) -> String {
    let env = Obj::new()
        .int("cpus", u64::try_from(r.env.cpus).unwrap_or(0))
        .str("kernel", &r.env.kernel)
        .raw(
            "fdsup",
            tools
                .fdsup
                .as_ref()
                .map_or_else(json::null, |p| json::string(&p.display().to_string())),
        )
        .bool("sync_wakeup_supported", r.rt.sync_wakeup_ok);
    let config = Obj::new()
        .int("rounds", u64::try_from(opts.rounds).unwrap_or(u64::MAX))
        .int("iterations", opts.iterations)
        .int(
            "startup_runs",
            u64::try_from(opts.startup_runs).unwrap_or(u64::MAX),
        )
        .bool("quick", opts.quick);
    let mut rt = Obj::new();
    for v in [
        Variant::Native,
        Variant::Floor,
        Variant::Fdsup,
        Variant::FloorNoSync,
        Variant::BareContinue,
    ] {
        let row = r.rt.values(v).map(|vals| {
            Obj::new()
                .num("median", stats::median(vals), 1)
                .num("min", stats::min(vals), 1)
                .raw("values", json::nums(vals, 1))
        });
        rt = rt.opt_obj(v.key(), row);
    }
    let ratios = Obj::new()
        .opt_num("fdsup_native", r.fdsup_native(), 3)
        .opt_num("floor_native", r.floor_native(), 3)
        .opt_num("fdsup_floor", r.fdsup_floor(), 3)
        .num("target_fdsup_floor", TARGET_FDSUP_OVER_FLOOR, 2);
    let timing = |vals: &[f64]| {
        Obj::new()
            .num("median", stats::median(vals), 4)
            .num("p90", stats::p90(vals), 4)
    };
    let st = Obj::new()
        .obj("native", timing(&r.st.native))
        .opt_obj("fdsup", r.st.fdsup.as_deref().map(timing))
        .opt_num("overhead_ms", r.startup_overhead_ms(), 4)
        .obj(
            "steps_us",
            step_medians(&r.st.steps)
                .iter()
                .fold(Obj::new(), |o, (name, us)| o.num(name, *us, 1)),
        )
        .num("target_overhead_ms", TARGET_STARTUP_OVERHEAD_MS, 2);
    Obj::new()
        .obj("env", env)
        .str("regime", busy::name(opts.busy))
        .obj("config", config)
        .obj("round_trip_ns", rt)
        .obj("ratios", ratios)
        .obj("startup_ms", st)
        .render()
}

fn run(opts: &Options) -> Result<()> {
    let env = environment();
    let tools = prepare(opts)?;
    let spinners = if opts.busy {
        Some(busy::Spinners::start(&std::env::current_exe().map_err(
            |e| format!("cannot locate the bench's own executable: {e}"),
        )?)?)
    } else {
        None
    };
    let rt = round_trip(opts, &tools)?;
    let st = startup(opts, &tools)?;
    drop(spinners);
    let results = Results { env, rt, st };
    let text = if opts.json {
        json_report(opts, &tools, &results) + "\n"
    } else {
        format!("\n{}", human_report(opts, &tools, &results))
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the report: {e}").into())
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|a| a == "workloads") {
        return workloads::main(args.skip(1));
    }
    if args.peek().is_some_and(|a| a == "floor") {
        return floor::main(args.skip(1).collect());
    }
    if args.peek().is_some_and(|a| a == "connect") {
        return connect::main(args.skip(1));
    }
    if args.peek().is_some_and(|a| a == "spin") {
        return busy::spin();
    }
    if args.peek().is_some_and(|a| a == "connect-client") {
        return connect::client(args.skip(1));
    }
    cli("fdsup-bench", USAGE, parse_args(args), run)
}

/// A (sub)command's life: its parsed options (`None`: help was asked for,
/// and `usage` is printed), then `run`. A bad option exits 2, a failed run 1,
/// each with `name` before the message.
fn cli<O, E: fmt::Display, F: fmt::Display>(
    name: &str,
    usage: &str,
    parsed: std::result::Result<Option<O>, E>,
    run: impl FnOnce(&O) -> std::result::Result<(), F>,
) -> ExitCode {
    let opts = match parsed {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{usage}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{name}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn parses_and_summarises_start_up_steps() {
        let err = "fdsup: times: main                         +     0 us        0 us\n\
                   fdsup: times: command line parsed          +   138 us      138 us\n\
                   other line\n";
        let one = parse_steps(err);
        assert_eq!(
            one,
            vec![
                ("main".to_owned(), 0.0),
                ("command line parsed".to_owned(), 138.0)
            ]
        );
        let two = vec![
            ("main".to_owned(), 0.0),
            ("command line parsed".to_owned(), 100.0),
        ];
        let three = vec![("main".to_owned(), 2.0)];
        let m = step_medians(&[one, two, three]);
        assert_eq!(m[0], ("main".to_owned(), 0.0));
        assert_eq!(m[1], ("command line parsed".to_owned(), 119.0));
    }

    #[test]
    fn parses_micro_output() {
        assert_eq!(
            parse_micro("ns_per_op=1020.5 n=20000\n", 20000),
            Some(1020.5)
        );
        assert_eq!(parse_micro("ns_per_op=1020.5 n=2000\n", 20000), None);
        assert_eq!(parse_micro("garbage\n", 20000), None);
        assert_eq!(parse_micro("ns_per_op=nan n=5\n", 5), None);
    }

    #[test]
    fn quick_and_overrides() -> std::result::Result<(), String> {
        let o = parse_args(args("--quick --rounds 4"))
            .map_err(|e| e.0)?
            .ok_or("help")?;
        assert_eq!((o.rounds, o.iterations, o.startup_runs), (4, 2_000, 20));
        let o = parse_args(args("--startup-runs=7 --json"))
            .map_err(|e| e.0)?
            .ok_or("help")?;
        assert_eq!(
            (o.rounds, o.iterations, o.startup_runs, o.json),
            (15, 20_000, 7, true)
        );
        assert!(parse_args(args("--rounds 0")).is_err());
        assert!(parse_args(args("--rounds")).is_err());
        assert!(parse_args(args("--bogus")).is_err());
        assert!(parse_args(args("--json=1")).is_err());
        assert!(matches!(parse_args(args("-h")), Ok(None)));
        Ok(())
    }
}

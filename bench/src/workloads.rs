//! `fdsup-bench workloads`: whole programs, natively and under `fdsup run -- ...`.
//!
//! Three everyday workloads, each timed as the wall time of spawn+wait, natively and under
//! `fdsup run -- PROGRAM ARGS` (the embedded `@default` policy), in interleaved rounds whose
//! order rotates, reported as the median of N runs each with the ratio fdsup/native (target: at
//! most 2x):
//!
//! - `/usr/bin/python3 -c 'import json, email.parser, http.client, decimal'` (Debian's python3:
//!   a pyenv one under the home directory is outside `@default`);
//! - `tar -cf /dev/null /usr/include`;
//! - `git status` in a repository made for the run: 2,000 files committed, a few then modified;
//!
//! and, as a reference that is not held to the target, `/bin/true`: what `fdsup run` costs
//! before the program does anything (short commands such as `git status` pay it in full).
//!
//! Each also runs under `fdsup-bench floor` (the `floor` module): the filters `fdsup run`
//! installs for `@default`, with every notification answered `CONTINUE` at once. That is the
//! cost of the round trips alone, which any supervisor that decides each trapped syscall pays,
//! so it shows how much of fdsup's ratio is its own work and how much no design of this kind
//! can remove.
//!
//! Python and tar run from a scratch directory, git from the repository, so that `${CWD}`
//! covers them. Both sides get the same program (an absolute path), the same arguments,
//! working directory and environment; the environment pins what could make them differ
//! (`LC_ALL=C`, `PYTHONDONTWRITEBYTECODE=1`, no global or system git configuration, which
//! `@default` would hide under fdsup but not natively).
//!
//! The work is checked to be the same: before timing, a variant of each command that shows
//! what it did (the modules python imported and its `sys.path`, tar's file list, git's
//! porcelain status, which must name exactly the modified files) runs on both sides and must
//! print the same; every timed run must exit 0 and print exactly what the native warm-up run
//! printed, on stdout and stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::json::{self, Obj};
use crate::stats;

/// The ratio fdsup/native the report checks each workload against (printed, not enforced).
const TARGET_RATIO: f64 = 2.0;
const PYTHON: &str = "/usr/bin/python3";
const PYTHON_CODE: &str = "import json, email.parser, http.client, decimal";
const TAR_DIR: &str = "/usr/include";
const TRUE_BIN: &str = "/bin/true";

const USAGE: &str = "\
usage: cargo run --release -p fdsup-bench -- workloads [OPTIONS]

Times whole programs natively and under `fdsup run -- ...` (policy @default),
interleaved: python3 imports, tar -cf /dev/null /usr/include, git status in a
fresh repository, and /bin/true for reference. Prints the median of each and
the ratio fdsup/native.

options:
  --runs N       timed runs of each command on each side (default 11)
  --files N      files in the git repository (default 2000)
  --modified N   of which modified after the commit (default 5)
  --quick        smoke run: 3 runs (an explicit --runs still wins)
  --json         print the figures as one JSON object on stdout
  --fdsup PATH   the fdsup binary (default: fdsup beside this executable)
  -h, --help     this text
";

type Result<T> = std::result::Result<T, String>;

struct Options {
    runs: usize,
    files: usize,
    modified: usize,
    quick: bool,
    json: bool,
    fdsup: Option<PathBuf>,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Option<Options>> {
    fn number(opt: &str, value: &str) -> Result<usize> {
        value
            .parse::<usize>()
            .map_err(|_| format!("{opt}: expected a whole number, got {value:?}"))
    }
    let mut o = Options {
        runs: 11,
        files: 2000,
        modified: 5,
        quick: false,
        json: false,
        fdsup: None,
    };
    let mut runs = None;
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (arg.clone(), None),
        };
        let takes_value = matches!(
            name.as_str(),
            "--runs" | "--files" | "--modified" | "--fdsup"
        );
        let value = if takes_value {
            inline
                .or_else(|| it.next())
                .ok_or_else(|| format!("{name} needs a value\n\n{USAGE}"))?
        } else if inline.is_some() {
            return Err(format!("{name} takes no value\n\n{USAGE}"));
        } else {
            String::new()
        };
        match name.as_str() {
            "-h" | "--help" => return Ok(None),
            "--runs" => runs = Some(number(&name, &value)?),
            "--files" => o.files = number(&name, &value)?,
            "--modified" => o.modified = number(&name, &value)?,
            "--quick" => o.quick = true,
            "--json" => o.json = true,
            "--fdsup" => o.fdsup = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown argument {arg:?}\n\n{USAGE}")),
        }
    }
    o.runs = runs.unwrap_or(if o.quick { 3 } else { o.runs });
    if o.runs == 0 || o.files == 0 {
        return Err("--runs and --files must be at least 1".to_owned());
    }
    if o.modified > o.files {
        return Err("--modified cannot exceed --files".to_owned());
    }
    Ok(Some(o))
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One command, run the same way natively and under fdsup.
struct Workload {
    key: &'static str,
    /// Shown for comparison, not held to the target.
    reference: bool,
    label: String,
    program: PathBuf,
    args: Vec<String>,
    /// A variant of the command whose output shows what it did, for the check.
    check_args: Vec<String>,
    /// What the check must print, where it is known beforehand.
    check_expect: Option<String>,
    cwd: PathBuf,
    env: Vec<(&'static str, String)>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Native,
    /// Under `fdsup-bench floor`: the same filters, every notification answered
    /// CONTINUE at once (see the `floor` module).
    Floor,
    Fdsup,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Native => "native",
            Side::Floor => "floor",
            Side::Fdsup => "fdsup",
        }
    }
}

impl Workload {
    fn command(&self, side: Side, tools: &Tools, args: &[String]) -> Command {
        let mut c = match side {
            Side::Native => Command::new(&self.program),
            Side::Floor => {
                let mut c = Command::new(&tools.bench);
                c.args(["floor", "--"]).arg(&self.program);
                c
            }
            Side::Fdsup => {
                let mut c = Command::new(&tools.fdsup);
                c.args(["run", "--"]).arg(&self.program);
                c
            }
        };
        c.args(args)
            .current_dir(&self.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Not cargo's LD_LIBRARY_PATH (the build tree): no user's
        // environment has it, and every program would probe it first.
        c.env_remove("LD_LIBRARY_PATH");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the command (or its check variant) once: wall time in ms and what it printed.
    fn run(&self, side: Side, tools: &Tools, check: bool) -> Result<(f64, Output)> {
        let args = if check { &self.check_args } else { &self.args };
        let mut cmd = self.command(side, tools, args);
        let t0 = Instant::now();
        let out = cmd
            .output()
            .map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        if !out.status.success() {
            return Err(format!(
                "{} ({}) failed: `{}`: {}\n{}",
                self.label,
                side.name(),
                describe(&cmd),
                out.status,
                shown(&out)
            ));
        }
        Ok((ms, out))
    }
}

fn describe(cmd: &Command) -> String {
    let mut parts = vec![cmd.get_program().to_string_lossy().into_owned()];
    parts.extend(cmd.get_args().map(|a| a.to_string_lossy().into_owned()));
    parts.join(" ")
}

fn shown(out: &Output) -> String {
    let cut = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let t: String = s.chars().take(4000).collect();
        if t.len() < s.len() {
            t + "\n(...)"
        } else {
            t
        }
    };
    format!(
        "--- stdout ---\n{}\n--- stderr ---\n{}",
        cut(&out.stdout),
        cut(&out.stderr)
    )
}

/// The first executable `name` in PATH, so that both sides run the same file.
fn in_path(name: &str) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt as _;
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
        .ok_or_else(|| format!("{name} not found in PATH"))
}

/// Runs a setup command natively; its failure stops the bench.
fn setup(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run `{}`: {e}", describe(cmd)))?;
    if !out.status.success() {
        return Err(format!(
            "setup step `{}` failed: {}\n{}",
            describe(cmd),
            out.status,
            shown(&out)
        ));
    }
    Ok(out)
}

/// The environment git runs with on both sides: no global or system configuration.
fn git_env() -> Vec<(&'static str, String)> {
    vec![
        ("LC_ALL", "C".to_owned()),
        ("GIT_CONFIG_GLOBAL", "/dev/null".to_owned()),
        ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
    ]
}

/// Sets a file's modification time, so that git's index holds no racily clean entries
/// (which it would hash again on every run until it rewrote the index).
fn set_mtime(path: &Path, ago: Duration) -> Result<()> {
    let when = SystemTime::now()
        .checked_sub(ago)
        .ok_or("clock before the epoch")?;
    std::fs::File::options()
        .write(true)
        .open(path)
        .and_then(|f| f.set_modified(when))
        .map_err(|e| format!("cannot set the time of {}: {e}", path.display()))
}

/// Makes a repository of `files` committed files in `dir`, then modifies `modified` of them;
/// returns what `git status --porcelain` must print.
fn make_repo(git: &Path, dir: &Path, files: usize, modified: usize) -> Result<String> {
    const PER_DIR: usize = 50;
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let name = |i: usize| format!("d{:03}/f{:03}.txt", i / PER_DIR, i % PER_DIR);
    for i in 0..files {
        let p = dir.join(name(i));
        if i % PER_DIR == 0 {
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
            }
        }
        let body: String = (0..8).fold(String::new(), |mut s, l| {
            let _ = writeln!(
                s,
                "file {i}, line {l}: some text to make it a few hundred bytes"
            );
            s
        });
        std::fs::write(&p, body).map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        set_mtime(&p, Duration::from_secs(3600))?;
    }
    let git_cmd = |args: &[&str]| {
        let mut c = Command::new(git);
        c.args(args).current_dir(dir);
        for (k, v) in git_env() {
            c.env(k, v);
        }
        c
    };
    setup(&mut git_cmd(&["init", "-q"]))?;
    setup(&mut git_cmd(&["add", "-A"]))?;
    setup(&mut git_cmd(&[
        "-c",
        "user.name=fdsup-bench",
        "-c",
        "user.email=fdsup-bench@example.invalid",
        "commit",
        "-q",
        "-m",
        "files",
    ]))?;
    // Spread the modified files over the tree.
    let mut expect: Vec<String> = Vec::new();
    for k in 0..modified {
        let i = k * files / modified.max(1);
        let p = dir.join(name(i));
        let mut f = std::fs::File::options()
            .append(true)
            .open(&p)
            .map_err(|e| format!("cannot open {}: {e}", p.display()))?;
        writeln!(f, "modified after the commit")
            .map_err(|e| format!("cannot write {}: {e}", p.display()))?;
        drop(f);
        set_mtime(&p, Duration::from_secs(1800))?;
        expect.push(format!(" M {}\n", name(i)));
    }
    expect.sort();
    // Let git refresh and write its index once, so every timed run finds the same one.
    setup(&mut git_cmd(&["status"]))?;
    Ok(expect.concat())
}

/// The figures of one workload.
struct Row {
    native: Vec<f64>,
    floor: Vec<f64>,
    fdsup: Vec<f64>,
}

impl Row {
    fn ratio(&self) -> f64 {
        stats::median(&self.fdsup) / stats::median(&self.native)
    }
    fn floor_ratio(&self) -> f64 {
        stats::median(&self.floor) / stats::median(&self.native)
    }
}

/// The two programs the workloads run under.
struct Tools {
    fdsup: PathBuf,
    /// This bench's own executable, for `floor`.
    bench: PathBuf,
}

fn same_output(w: &Workload, what: &str, reference: &Output, out: &Output) -> Result<()> {
    if reference.stdout == out.stdout && reference.stderr == out.stderr {
        return Ok(());
    }
    Err(format!(
        "{} ({what}) printed something else than natively, so it did not do the same work\n\
         native:\n{}\nthis run:\n{}",
        w.label,
        shown(reference),
        shown(out)
    ))
}

fn run(opts: &Options) -> Result<()> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot locate the bench: {e}"))?;
    let bench = exe.clone();
    let fdsup = opts.fdsup.clone().unwrap_or_else(|| {
        exe.parent()
            .map_or_else(|| PathBuf::from("fdsup"), |d| d.join("fdsup"))
    });
    if !fdsup.is_file() {
        return Err(format!(
            "fdsup binary not found at {}: build it with cargo build --release -p fdsup \
             (or pass --fdsup PATH)",
            fdsup.display()
        ));
    }
    if !Path::new(PYTHON).is_file() {
        return Err(format!("{PYTHON} not found (apt-get install python3)"));
    }
    let tar = in_path("tar")?;
    let git = in_path("git")?;

    let base = std::env::temp_dir().join(format!("fdsup-bench-workloads-{}", std::process::id()));
    let scratch = Scratch(base.clone());
    let work = base.join("work");
    let repo = base.join("repo");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    eprintln!(
        "making a git repository of {} files ({} modified) in {}",
        opts.files,
        opts.modified,
        repo.display()
    );
    let tools = Tools {
        fdsup: fdsup.clone(),
        bench,
    };
    let porcelain = make_repo(&git, &repo, opts.files, opts.modified)?;

    let python_check = format!("{PYTHON_CODE}, sys; print(sorted(sys.modules)); print(sys.path)");
    let workloads = [
        Workload {
            key: "python_imports",
            reference: false,
            label: format!("python3 -c '{PYTHON_CODE}'"),
            program: PathBuf::from(PYTHON),
            args: vec!["-c".to_owned(), PYTHON_CODE.to_owned()],
            check_args: vec!["-c".to_owned(), python_check],
            check_expect: None,
            cwd: work.clone(),
            env: vec![
                ("LC_ALL", "C".to_owned()),
                ("PYTHONDONTWRITEBYTECODE", "1".to_owned()),
            ],
        },
        Workload {
            key: "tar",
            reference: false,
            label: format!("tar -cf /dev/null {TAR_DIR}"),
            program: tar,
            args: vec!["-cf".to_owned(), "/dev/null".to_owned(), TAR_DIR.to_owned()],
            check_args: vec![
                "-cvf".to_owned(),
                "/dev/null".to_owned(),
                TAR_DIR.to_owned(),
            ],
            check_expect: None,
            cwd: work.clone(),
            env: vec![("LC_ALL", "C".to_owned())],
        },
        Workload {
            key: "git_status",
            reference: false,
            label: format!(
                "git status ({} files, {} modified)",
                opts.files, opts.modified
            ),
            program: git,
            args: vec!["status".to_owned()],
            check_args: vec!["status".to_owned(), "--porcelain".to_owned()],
            check_expect: Some(porcelain),
            cwd: repo,
            env: git_env(),
        },
        Workload {
            key: "true",
            reference: true,
            label: format!("(reference: start-up) {TRUE_BIN}"),
            program: PathBuf::from(TRUE_BIN),
            args: Vec::new(),
            check_args: Vec::new(),
            check_expect: Some(String::new()),
            cwd: work,
            env: Vec::new(),
        },
    ];

    // The same work on both sides, and a reference output for every timed run.
    let mut references = Vec::new();
    for w in &workloads {
        eprintln!(
            "checking {} natively, under the floor and under fdsup",
            w.label
        );
        let (_, native) = w.run(Side::Native, &tools, true)?;
        let (_, floor) = w.run(Side::Floor, &tools, true)?;
        let (_, under) = w.run(Side::Fdsup, &tools, true)?;
        if let Some(expect) = &w.check_expect {
            if native.stdout != expect.as_bytes() {
                return Err(format!(
                    "{}: `{}` natively does not print what it should\nexpected:\n{expect}\n{}",
                    w.label,
                    w.check_args.join(" "),
                    shown(&native)
                ));
            }
        }
        let check = format!("check: {}", w.check_args.join(" "));
        same_output(w, &check, &native, &floor)?;
        same_output(w, &check, &native, &under)?;
        let (_, reference) = w.run(Side::Native, &tools, false)?;
        let (_, floor) = w.run(Side::Floor, &tools, false)?;
        let (_, under) = w.run(Side::Fdsup, &tools, false)?;
        same_output(w, "warm-up", &reference, &floor)?;
        same_output(w, "warm-up", &reference, &under)?;
        references.push(reference);
    }

    let pairs: Vec<(usize, Side)> = (0..workloads.len())
        .flat_map(|i| [(i, Side::Native), (i, Side::Floor), (i, Side::Fdsup)])
        .collect();
    let mut rows: Vec<Row> = workloads
        .iter()
        .map(|_| Row {
            native: Vec::with_capacity(opts.runs),
            floor: Vec::with_capacity(opts.runs),
            fdsup: Vec::with_capacity(opts.runs),
        })
        .collect();
    eprintln!(
        "timing: {} interleaved rounds of {} commands",
        opts.runs,
        pairs.len()
    );
    for round in 0..opts.runs {
        let mut line = format!("  round {:>2}/{}:", round + 1, opts.runs);
        for k in 0..pairs.len() {
            let (i, side) = pairs[(round + k) % pairs.len()];
            let w = &workloads[i];
            let (ms, out) = w.run(side, &tools, false)?;
            same_output(w, side.name(), &references[i], &out)?;
            match side {
                Side::Native => rows[i].native.push(ms),
                Side::Floor => rows[i].floor.push(ms),
                Side::Fdsup => rows[i].fdsup.push(ms),
            }
            let _ = write!(line, " {}/{} {ms:.1}", w.key, side.name());
        }
        eprintln!("{line}");
    }
    drop(scratch);

    let text = if opts.json {
        json_report(opts, &fdsup, &workloads, &rows) + "\n"
    } else {
        human_report(opts, &fdsup, &workloads, &rows)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the report: {e}"))
}

fn env_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("{cpus} CPUs, kernel {kernel}")
}

fn human_report(opts: &Options, fdsup: &Path, workloads: &[Workload], rows: &[Row]) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "\nfdsup-bench workloads: {}", env_line());
    let _ = writeln!(
        s,
        "  fdsup: {} run -- ... (policy @default)",
        fdsup.display()
    );
    let _ = writeln!(
        s,
        "Wall time of spawn+wait, ms, median of {} interleaved runs each (min in brackets)",
        opts.runs
    );
    let _ = writeln!(
        s,
        "  {:<62} {:>15} {:>15} {:>7} {:>15} {:>7}",
        "", "native", "floor", "ratio", "fdsup", "ratio"
    );
    for (w, r) in workloads.iter().zip(rows) {
        let ratio = r.ratio();
        let _ = writeln!(
            s,
            "  {:<62} {:>7.1} ({:>5.1}) {:>7.1} ({:>5.1}) {:>6.2}x {:>7.1} ({:>5.1}) {:>6.2}x  {}",
            w.label,
            stats::median(&r.native),
            stats::min(&r.native),
            stats::median(&r.floor),
            stats::min(&r.floor),
            r.floor_ratio(),
            stats::median(&r.fdsup),
            stats::min(&r.fdsup),
            ratio,
            if w.reference {
                ""
            } else if ratio <= TARGET_RATIO {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    let _ = writeln!(
        s,
        "target: fdsup/native <= {TARGET_RATIO}x for each (reported, not enforced)"
    );
    let _ = writeln!(
        s,
        "floor: `fdsup-bench floor`, the same seccomp filters with every notification answered \
         CONTINUE at once\n       (no read, no check, no work): what the round trips alone cost"
    );
    s
}

fn json_report(opts: &Options, fdsup: &Path, workloads: &[Workload], rows: &[Row]) -> String {
    let timing = |vals: &[f64]| {
        Obj::new()
            .num("median", stats::median(vals), 3)
            .num("min", stats::min(vals), 3)
            .raw("values", json::nums(vals, 3))
    };
    let mut ws = Obj::new();
    for (w, r) in workloads.iter().zip(rows) {
        ws = ws.obj(
            w.key,
            Obj::new()
                .str("command", &w.label)
                .obj("native_ms", timing(&r.native))
                .obj("floor_ms", timing(&r.floor))
                .num("floor_ratio", r.floor_ratio(), 3)
                .obj("fdsup_ms", timing(&r.fdsup))
                .num("ratio", r.ratio(), 3)
                .bool("reference", w.reference),
        );
    }
    Obj::new()
        .str("env", &env_line())
        .str("fdsup", &fdsup.display().to_string())
        .str("policy", "@default")
        .obj(
            "config",
            Obj::new()
                .int("runs", u64::try_from(opts.runs).unwrap_or(u64::MAX))
                .int("files", u64::try_from(opts.files).unwrap_or(u64::MAX))
                .int("modified", u64::try_from(opts.modified).unwrap_or(u64::MAX)),
        )
        .obj("workloads", ws)
        .num("target_ratio", TARGET_RATIO, 2)
        .render()
}

/// `fdsup-bench workloads ARGS...`.
pub fn main(args: impl IntoIterator<Item = String>) -> ExitCode {
    crate::cli("fdsup-bench workloads", USAGE, parse_args(args), run)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn options() -> std::result::Result<(), String> {
        let o = parse_args(args("--quick"))?.ok_or("help")?;
        assert_eq!((o.runs, o.files, o.modified), (3, 2000, 5));
        let o =
            parse_args(args("--quick --runs 7 --files=10 --modified 2 --json"))?.ok_or("help")?;
        assert_eq!((o.runs, o.files, o.modified, o.json), (7, 10, 2, true));
        assert!(parse_args(args("--runs 0")).is_err());
        assert!(parse_args(args("--files 3 --modified 4")).is_err());
        assert!(parse_args(args("--bogus")).is_err());
        assert!(matches!(parse_args(args("--help")), Ok(None)));
        Ok(())
    }
}

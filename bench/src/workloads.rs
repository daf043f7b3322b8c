//! `fdsup-bench workloads`: whole programs, natively and under `fdsup run -- ...` in both
//! metadata modes.
//!
//! Five everyday workloads, each timed as the wall time of spawn+wait natively, under the floor,
//! under `fdsup run -- PROGRAM ARGS` (the embedded `@default` policy: every look decided, the
//! `policy` mode) and under `fdsup run --metadata visible -- PROGRAM ARGS` (the looks left to
//! the kernel), in interleaved rounds whose order rotates, reported as the median of N runs
//! each with the ratios the targets are about: `policy` against the floor (what fdsup's own work
//! adds to the round trips every decided look pays) and `visible` against native:
//!
//! - `/usr/bin/python3 -c 'import json, email.parser, http.client, decimal'` (Debian's python3:
//!   a pyenv one under the home directory is outside `@default`);
//! - `tar -cf /dev/null /usr/include` (listings and stats: GNU tar reads no contents for
//!   `/dev/null`);
//! - `tar -cf - /usr/include | cat >/dev/null` (`sh -c`: tar reads every file);
//! - `git status` in a repository made for the run: 2,000 files committed, a few then modified;
//! - `make -j2 -s -B` of 40 small generated C files and a `main.c`, linked into one program;
//!
//! and, as a reference that is not held to a target, `/bin/true`: what `fdsup run` costs
//! before the program does anything (short commands such as `git status` pay it in full).
//!
//! The floor is `fdsup-bench floor` (the `floor` module): the filters `fdsup run` installs for
//! `@default` in policy mode, with every notification answered `CONTINUE` at once. That is the
//! cost of the round trips alone, which any supervisor that decides each trapped syscall pays,
//! so it shows how much of the policy mode's ratio is fdsup's own work and how much no design of
//! this kind can remove. Visible mode has no floor of its own: its target is native.
//!
//! After the timing, the supervisor's peak resident set during each tar workload (`VmHWM` of the
//! `fdsup` process, sampled every millisecond until it exits: a high-water mark, so a sample
//! misses at most the growth of the last millisecond) is measured in both modes.
//!
//! Python, tar and make run from scratch directories, git from the repository, so that
//! `${CWD}` covers them. Every side gets the same program (an absolute path), the same
//! arguments, working directory and environment; the environment pins what could make them
//! differ (`LC_ALL=C`, `PYTHONDONTWRITEBYTECODE=1`, no global or system git configuration, which
//! `@default` would hide under fdsup but not natively, no `MAKEFLAGS` from cargo).
//!
//! The work is checked to be the same: before timing, a variant of each command that shows
//! what it did (the modules python imported and its `sys.path`, tar's file list, a checksum of
//! the archive tar writes, git's porcelain status, which must name exactly the modified files,
//! the built program's output) runs on every side and must print the same; every timed run must
//! exit 0 and print exactly what the native warm-up run printed, on stdout and stderr.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use crate::json::{self, Obj};
use crate::stats;

/// The supervisor's peak resident set the report checks the tar workloads against, in KiB
/// (printed, not enforced).
const TARGET_PEAK_RSS_KIB: u64 = 16 * 1024;
/// The C files of the `make` workload, besides `main.c`.
const C_FILES: usize = 40;
const PYTHON: &str = "/usr/bin/python3";
const PYTHON_CODE: &str = "import json, email.parser, http.client, decimal";
const TAR_DIR: &str = "/usr/include";
const TRUE_BIN: &str = "/bin/true";

const USAGE: &str = "\
usage: cargo run --release -p fdsup-bench -- workloads [OPTIONS]

Times whole programs natively, under the floor, and under `fdsup run -- ...`
(policy @default) in both metadata modes (policy; visible), interleaved:
python3 imports, tar -cf /dev/null /usr/include, tar -cf - /usr/include | cat,
git status in a fresh repository, make -j2 of 40 generated C files, and
/bin/true for reference. Prints the median of each, the ratios policy/floor
and visible/native against their targets, and the supervisor's peak RSS
during the tar workloads.

options:
  --runs N       timed runs of each command on each side (default 11)
  --files N      files in the git repository (default 2000)
  --modified N   of which modified after the commit (default 5)
  --quick        smoke run: 3 runs (an explicit --runs still wins)
  --json         print the figures as one JSON object on stdout
  --fdsup PATH   the fdsup binary (default: fdsup beside this executable)
  --before PATH  another fdsup binary (an earlier build), timed in the same
                 interleaved rounds in both modes: a before/after comparison
  --busy         keep every CPU busy while timing (a nice-19 spinner on each):
                 the regime where wake-ups are cheap
  -h, --help     this text
";

type Result<T> = std::result::Result<T, String>;

struct Options {
    runs: usize,
    files: usize,
    modified: usize,
    quick: bool,
    json: bool,
    busy: bool,
    fdsup: Option<PathBuf>,
    before: Option<PathBuf>,
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
        busy: false,
        fdsup: None,
        before: None,
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
            "--runs" | "--files" | "--modified" | "--fdsup" | "--before"
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
            "--busy" => o.busy = true,
            "--fdsup" => o.fdsup = Some(PathBuf::from(value)),
            "--before" => o.before = Some(PathBuf::from(value)),
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

/// The targets of one workload: visible/native and policy/floor (printed, not enforced).
#[derive(Clone, Copy)]
struct Targets {
    visible_native: f64,
    policy_floor: f64,
}

/// One command, run the same way natively and under fdsup.
struct Workload {
    key: &'static str,
    /// `None`: shown for comparison, not held to a target.
    targets: Option<Targets>,
    /// The supervisor's peak RSS is measured while it runs this.
    peak_rss: bool,
    label: String,
    program: PathBuf,
    args: Vec<String>,
    /// A variant of the command whose output shows what it did, for the check.
    check_args: Vec<String>,
    /// What the check must print, where it is known beforehand.
    check_expect: Option<String>,
    cwd: PathBuf,
    env: Vec<(&'static str, String)>,
    /// Taken out of the environment (cargo's `MAKEFLAGS` and the like).
    env_remove: Vec<&'static str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Native,
    /// Under `fdsup-bench floor`: the same filters, every notification answered
    /// CONTINUE at once (see the `floor` module).
    Floor,
    /// `fdsup run --`: `@default`, every look decided.
    Policy,
    /// `fdsup run --metadata visible --`: the looks left to the kernel.
    Visible,
    /// [`Side::Policy`] and [`Side::Visible`] of the `--before` binary.
    PolicyBefore,
    VisibleBefore,
}

impl Side {
    /// The sides timed: the four, and the two of `--before` if given.
    fn all(before: bool) -> Vec<Side> {
        let mut v = vec![Side::Native, Side::Floor, Side::Policy, Side::Visible];
        if before {
            v.extend([Side::PolicyBefore, Side::VisibleBefore]);
        }
        v
    }

    fn name(self) -> &'static str {
        match self {
            Side::Native => "native",
            Side::Floor => "floor",
            Side::Policy => "policy",
            Side::Visible => "visible",
            Side::PolicyBefore => "policy-before",
            Side::VisibleBefore => "visible-before",
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
            Side::Policy | Side::PolicyBefore => {
                let mut c = Command::new(tools.fdsup_for(side));
                c.args(["run", "--"]).arg(&self.program);
                c
            }
            Side::Visible | Side::VisibleBefore => {
                let mut c = Command::new(tools.fdsup_for(side));
                c.args(["run", "--metadata", "visible", "--"])
                    .arg(&self.program);
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
        for k in &self.env_remove {
            c.env_remove(k);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs the command once under fdsup (`side` Policy or Visible) with its output discarded,
    /// sampling the `VmHWM` of the `fdsup` process every millisecond until it exits: the
    /// supervisor's peak resident set, in KiB.
    fn peak_rss(&self, side: Side, tools: &Tools) -> Result<u64> {
        let mut cmd = self.command(side, tools, &self.args);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot run `{}`: {e}", describe(&cmd)))?;
        let status_file = format!("/proc/{}/status", child.id());
        let mut peak = 0;
        let status = loop {
            // Read before the exit check: the last sample is then as late as can be.
            if let Some(kib) = std::fs::read_to_string(&status_file)
                .ok()
                .as_deref()
                .and_then(vm_hwm_kib)
            {
                peak = peak.max(kib);
            }
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) => std::thread::sleep(Duration::from_millis(1)),
                Err(e) => return Err(format!("waiting for `{}`: {e}", describe(&cmd))),
            }
        };
        if !status.success() {
            return Err(format!(
                "{} ({}) failed: `{}`: {status}",
                self.label,
                side.name(),
                describe(&cmd)
            ));
        }
        if peak == 0 {
            return Err(format!(
                "{} ({}): no VmHWM read from {status_file}",
                self.label,
                side.name()
            ));
        }
        Ok(peak)
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

/// The `VmHWM:` of a `/proc/PID/status`, in KiB.
fn vm_hwm_kib(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
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

/// Writes the `make` workload's project into `dir`: `C_FILES` small C files, each including a
/// few system headers and a common one, a `main.c` calling them all, and a Makefile that
/// builds and links them (`check` also runs the result); returns what `check` must print.
fn make_project(dir: &Path) -> Result<String> {
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).map_err(|e| format!("cannot write {}: {e}", p.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let mut common = String::from("#ifndef COMMON_H\n#define COMMON_H\n");
    let mut main = String::from(
        "#include <stdio.h>\n#include \"common.h\"\nint main(void) {\n    long sum = 0;\n",
    );
    let mut objs = String::from("main.o");
    let mut sum: i64 = 0;
    for i in 0..C_FILES {
        let _ = writeln!(common, "int f{i:02}(int x);");
        let _ = writeln!(main, "    sum += f{i:02}({i});");
        let _ = write!(objs, " f{i:02}.o");
        write(
            &format!("f{i:02}.c"),
            &format!(
                "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include \"common.h\"\n\
                 int f{i:02}(int x) {{\n    char b[32];\n    snprintf(b, sizeof b, \"%d\", x * {i} + 1);\n    \
                 return (int)strlen(b) + atoi(b);\n}}\n"
            ),
        )?;
        let i = i64::try_from(i).map_err(|_| "too many files")?;
        let v = i * i + 1;
        sum += i64::try_from(v.to_string().len()).map_err(|_| "too long")? + v;
    }
    common.push_str("#endif\n");
    main.push_str("    printf(\"sum=%ld\\n\", sum);\n    return 0;\n}\n");
    write("common.h", &common)?;
    write("main.c", &main)?;
    write(
        "Makefile",
        &format!(
            "OBJS = {objs}\nprog: $(OBJS)\n\tgcc -o $@ $(OBJS)\n\
             %.o: %.c common.h\n\tgcc -O1 -c -o $@ $<\n\
             check: prog\n\t./prog\n.PHONY: check\n"
        ),
    )?;
    Ok(format!("sum={sum}\n"))
}

/// The figures of one workload.
struct Row {
    native: Vec<f64>,
    floor: Vec<f64>,
    policy: Vec<f64>,
    visible: Vec<f64>,
    policy_before: Vec<f64>,
    visible_before: Vec<f64>,
    /// The supervisor's peak RSS in KiB, policy and visible, where measured.
    peak_rss_kib: Option<(u64, u64)>,
}

impl Row {
    fn side(&self, side: Side) -> &[f64] {
        match side {
            Side::Native => &self.native,
            Side::Floor => &self.floor,
            Side::Policy => &self.policy,
            Side::Visible => &self.visible,
            Side::PolicyBefore => &self.policy_before,
            Side::VisibleBefore => &self.visible_before,
        }
    }

    fn push(&mut self, side: Side, ms: f64) {
        match side {
            Side::Native => self.native.push(ms),
            Side::Floor => self.floor.push(ms),
            Side::Policy => self.policy.push(ms),
            Side::Visible => self.visible.push(ms),
            Side::PolicyBefore => self.policy_before.push(ms),
            Side::VisibleBefore => self.visible_before.push(ms),
        }
    }
    fn median(&self, side: Side) -> f64 {
        stats::median(self.side(side))
    }
    /// `a`'s median over `b`'s.
    fn ratio(&self, a: Side, b: Side) -> f64 {
        self.median(a) / self.median(b)
    }
}

/// The programs the workloads run under.
struct Tools {
    fdsup: PathBuf,
    /// `--before`.
    before: Option<PathBuf>,
    /// This bench's own executable, for `floor`.
    bench: PathBuf,
}

impl Tools {
    /// The fdsup binary of `side`.
    fn fdsup_for(&self, side: Side) -> &Path {
        match (side, &self.before) {
            (Side::PolicyBefore | Side::VisibleBefore, Some(b)) => b,
            _ => &self.fdsup,
        }
    }
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
    if let Some(b) = opts.before.as_ref().filter(|b| !b.is_file()) {
        return Err(format!("--before: no fdsup binary at {}", b.display()));
    }
    if !Path::new(PYTHON).is_file() {
        return Err(format!("{PYTHON} not found (apt-get install python3)"));
    }
    let tar = in_path("tar")?;
    let git = in_path("git")?;
    let make = in_path("make")?;
    in_path("gcc")?;
    let sh = in_path("sh")?;
    let cat = in_path("cat")?;
    let cksum = in_path("cksum")?;

    let load_start = loadavg();
    let base = std::env::temp_dir().join(format!("fdsup-bench-workloads-{}", std::process::id()));
    let scratch = Scratch(base.clone());
    let work = base.join("work");
    let repo = base.join("repo");
    let build = base.join("build");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    eprintln!(
        "making a git repository of {} files ({} modified) in {}",
        opts.files,
        opts.modified,
        repo.display()
    );
    let tools = Tools {
        fdsup: fdsup.clone(),
        before: opts.before.clone(),
        bench,
    };
    let sides = Side::all(opts.before.is_some());
    let porcelain = make_repo(&git, &repo, opts.files, opts.modified)?;
    let built = make_project(&build)?;
    let (tar_s, cat_s, cksum_s) = (
        tar.display().to_string(),
        cat.display().to_string(),
        cksum.display().to_string(),
    );

    let python_check = format!("{PYTHON_CODE}, sys; print(sorted(sys.modules)); print(sys.path)");
    let workloads = [
        Workload {
            key: "python_imports",
            targets: Some(Targets {
                visible_native: 1.05,
                policy_floor: 1.2,
            }),
            peak_rss: false,
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
            env_remove: Vec::new(),
        },
        Workload {
            key: "tar",
            targets: Some(Targets {
                visible_native: 1.3,
                policy_floor: 1.5,
            }),
            peak_rss: true,
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
            env_remove: Vec::new(),
        },
        Workload {
            key: "tar_cat",
            targets: Some(Targets {
                visible_native: 1.4,
                policy_floor: 1.5,
            }),
            peak_rss: true,
            label: format!("tar -cf - {TAR_DIR} | cat >/dev/null"),
            program: sh.clone(),
            args: vec![
                "-c".to_owned(),
                format!("{tar_s} -cf - {TAR_DIR} | {cat_s} >/dev/null"),
            ],
            // The archive's checksum: the same bytes read on every side.
            check_args: vec![
                "-c".to_owned(),
                format!("{tar_s} -cf - {TAR_DIR} | {cksum_s}"),
            ],
            check_expect: None,
            cwd: work.clone(),
            env: vec![("LC_ALL", "C".to_owned())],
            env_remove: Vec::new(),
        },
        Workload {
            key: "git_status",
            targets: Some(Targets {
                visible_native: 1.25,
                policy_floor: 1.5,
            }),
            peak_rss: false,
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
            env_remove: Vec::new(),
        },
        Workload {
            key: "make",
            targets: Some(Targets {
                visible_native: 1.1,
                policy_floor: 1.3,
            }),
            peak_rss: false,
            label: format!("make -j2 -s -B ({C_FILES} C files and main.c)"),
            program: make,
            args: vec!["-j2".to_owned(), "-s".to_owned(), "-B".to_owned()],
            check_args: vec![
                "-j2".to_owned(),
                "-s".to_owned(),
                "-B".to_owned(),
                "check".to_owned(),
            ],
            check_expect: Some(built),
            cwd: build,
            env: vec![("LC_ALL", "C".to_owned())],
            env_remove: vec!["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "CARGO_MAKEFLAGS"],
        },
        Workload {
            key: "true",
            targets: None,
            peak_rss: false,
            label: format!("(reference: start-up) {TRUE_BIN}"),
            program: PathBuf::from(TRUE_BIN),
            args: Vec::new(),
            check_args: Vec::new(),
            check_expect: Some(String::new()),
            cwd: work,
            env: Vec::new(),
            env_remove: Vec::new(),
        },
    ];

    // The same work on both sides, and a reference output for every timed run.
    let mut references = Vec::new();
    for w in &workloads {
        eprintln!(
            "checking {} natively, under the floor and under fdsup (policy, visible)",
            w.label
        );
        let (_, native) = w.run(Side::Native, &tools, true)?;
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
        for side in &sides[1..] {
            let (_, out) = w.run(*side, &tools, true)?;
            same_output(w, &format!("{check}, {}", side.name()), &native, &out)?;
        }
        let (_, reference) = w.run(Side::Native, &tools, false)?;
        for side in &sides[1..] {
            let (_, out) = w.run(*side, &tools, false)?;
            same_output(w, &format!("warm-up, {}", side.name()), &reference, &out)?;
        }
        references.push(reference);
    }

    let pairs: Vec<(usize, Side)> = (0..workloads.len())
        .flat_map(|i| sides.iter().map(move |s| (i, *s)))
        .collect();
    let spinners = if opts.busy {
        Some(crate::busy::Spinners::start(&tools.bench)?)
    } else {
        None
    };
    let mut rows: Vec<Row> = workloads
        .iter()
        .map(|_| Row {
            native: Vec::with_capacity(opts.runs),
            floor: Vec::with_capacity(opts.runs),
            policy: Vec::with_capacity(opts.runs),
            visible: Vec::with_capacity(opts.runs),
            policy_before: Vec::with_capacity(opts.runs),
            visible_before: Vec::with_capacity(opts.runs),
            peak_rss_kib: None,
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
            rows[i].push(side, ms);
            let _ = write!(line, " {}/{} {ms:.1}", w.key, side.name());
        }
        eprintln!("{line}");
    }
    for (w, row) in workloads.iter().zip(&mut rows).filter(|(w, _)| w.peak_rss) {
        eprintln!("measuring fdsup's peak RSS during {}", w.label);
        let policy = w.peak_rss(Side::Policy, &tools)?;
        let visible = w.peak_rss(Side::Visible, &tools)?;
        row.peak_rss_kib = Some((policy, visible));
    }
    drop(spinners);
    drop(scratch);
    let load = (load_start, loadavg());

    let text = if opts.json {
        json_report(opts, &fdsup, &workloads, &rows, &load) + "\n"
    } else {
        human_report(opts, &fdsup, &workloads, &rows, &load)
            + &before_report(opts, &workloads, &rows)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("cannot write the report: {e}"))
}

/// The 1-minute load average (`/proc/loadavg`): how busy the other CPUs were, which decides
/// what a wake-up costs on these machines.
fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_owned))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn env_line() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|_| "unknown".to_owned());
    format!("{cpus} CPUs, kernel {kernel}")
}

/// "met" or "NOT met" for `ratio` against `target`.
fn verdict(ratio: f64, target: f64) -> &'static str {
    if ratio <= target {
        "met"
    } else {
        "NOT met"
    }
}

fn human_report(
    opts: &Options,
    fdsup: &Path,
    workloads: &[Workload],
    rows: &[Row],
    load: &(String, String),
) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\nfdsup-bench workloads: {}, load average {} at the start, {} at the end",
        env_line(),
        load.0,
        load.1
    );
    let _ = writeln!(s, "  {}", crate::busy::describe(opts.busy));
    let _ = writeln!(
        s,
        "  policy:  {} run -- ...                     (@default: every look decided)",
        fdsup.display()
    );
    let _ = writeln!(
        s,
        "  visible: {} run --metadata visible -- ...  (@default, the looks left to the kernel)",
        fdsup.display()
    );
    let _ = writeln!(
        s,
        "Wall time of spawn+wait, ms, median of {} interleaved runs each",
        opts.runs
    );
    let lw = workloads
        .iter()
        .map(|w| w.label.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        s,
        "  {:<lw$} {:>8} {:>8} {:>8} {:>8} | {:>8} {:>8} {:>8} {:>8}",
        "", "native", "floor", "policy", "visible", "floor/n", "policy/n", "policy/f", "visible/n"
    );
    for (w, r) in workloads.iter().zip(rows) {
        let _ = writeln!(
            s,
            "  {:<lw$} {:>8.1} {:>8.1} {:>8.1} {:>8.1} | {:>7.2}x {:>7.2}x {:>7.2}x {:>8.2}x",
            w.label,
            r.median(Side::Native),
            r.median(Side::Floor),
            r.median(Side::Policy),
            r.median(Side::Visible),
            r.ratio(Side::Floor, Side::Native),
            r.ratio(Side::Policy, Side::Native),
            r.ratio(Side::Policy, Side::Floor),
            r.ratio(Side::Visible, Side::Native),
        );
    }
    let _ = writeln!(s, "Targets (reported, not enforced):");
    for (w, r) in workloads.iter().zip(rows) {
        let Some(t) = w.targets else { continue };
        let (pf, vn) = (
            r.ratio(Side::Policy, Side::Floor),
            r.ratio(Side::Visible, Side::Native),
        );
        let _ = writeln!(
            s,
            "  {:<lw$} visible/native {vn:.2}x <= {:.2}x {:<8} policy/floor {pf:.2}x <= {:.2}x {}",
            w.label,
            t.visible_native,
            verdict(vn, t.visible_native),
            t.policy_floor,
            verdict(pf, t.policy_floor),
        );
    }
    for (w, r) in workloads.iter().zip(rows) {
        let Some((policy, visible)) = r.peak_rss_kib else {
            continue;
        };
        let mib = |kib: u64| kib as f64 / 1024.0;
        let _ = writeln!(
            s,
            "Supervisor peak RSS (VmHWM of fdsup) during {}: policy {:.1} MiB, visible {:.1} MiB \
             (target <= {:.0} MiB: {})",
            w.label,
            mib(policy),
            mib(visible),
            mib(TARGET_PEAK_RSS_KIB),
            if policy.max(visible) <= TARGET_PEAK_RSS_KIB {
                "met"
            } else {
                "NOT met"
            }
        );
    }
    let _ = writeln!(
        s,
        "floor: `fdsup-bench floor`, @default's seccomp filters (policy mode) with every \
         notification answered\n       CONTINUE at once (no read, no check, no work): what the \
         round trips alone cost"
    );
    s
}

/// With `--before`: each workload's policy and visible medians of both
/// binaries, and the ratios the targets are about, before and after.
fn before_report(opts: &Options, workloads: &[Workload], rows: &[Row]) -> String {
    let mut s = String::new();
    let Some(before) = &opts.before else {
        return s;
    };
    let _ = writeln!(
        s,
        "Before/after (same rounds): before = {}, ms, median",
        before.display()
    );
    let lw = workloads
        .iter()
        .map(|w| w.label.chars().count())
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        s,
        "  {:<lw$} {:>8} {:>8} {:>8} {:>8} | {:>9} {:>9} {:>10} {:>10}",
        "",
        "policy",
        "(before)",
        "visible",
        "(before)",
        "policy/f",
        "(before)",
        "visible/n",
        "(before)"
    );
    for (w, r) in workloads.iter().zip(rows) {
        let _ = writeln!(
            s,
            "  {:<lw$} {:>8.1} {:>8.1} {:>8.1} {:>8.1} | {:>8.2}x {:>8.2}x {:>9.2}x {:>9.2}x",
            w.label,
            r.median(Side::Policy),
            r.median(Side::PolicyBefore),
            r.median(Side::Visible),
            r.median(Side::VisibleBefore),
            r.ratio(Side::Policy, Side::Floor),
            r.ratio(Side::PolicyBefore, Side::Floor),
            r.ratio(Side::Visible, Side::Native),
            r.ratio(Side::VisibleBefore, Side::Native),
        );
    }
    s
}

fn json_report(
    opts: &Options,
    fdsup: &Path,
    workloads: &[Workload],
    rows: &[Row],
    load: &(String, String),
) -> String {
    let timing = |vals: &[f64]| {
        Obj::new()
            .num("median", stats::median(vals), 3)
            .num("min", stats::min(vals), 3)
            .raw("values", json::nums(vals, 3))
    };
    let mut ws = Obj::new();
    for (w, r) in workloads.iter().zip(rows) {
        let targets = w.targets.map(|t| {
            Obj::new().num("visible_native", t.visible_native, 2).num(
                "policy_floor",
                t.policy_floor,
                2,
            )
        });
        let rss = r
            .peak_rss_kib
            .map(|(policy, visible)| Obj::new().int("policy", policy).int("visible", visible));
        ws = ws.obj(
            w.key,
            Obj::new()
                .str("command", &w.label)
                .obj("native_ms", timing(&r.native))
                .obj("floor_ms", timing(&r.floor))
                .obj("policy_ms", timing(&r.policy))
                .obj("visible_ms", timing(&r.visible))
                .num("floor_native", r.ratio(Side::Floor, Side::Native), 3)
                .num("policy_native", r.ratio(Side::Policy, Side::Native), 3)
                .num("policy_floor", r.ratio(Side::Policy, Side::Floor), 3)
                .num("visible_native", r.ratio(Side::Visible, Side::Native), 3)
                .opt_obj(
                    "before",
                    opts.before.as_ref().map(|_| {
                        Obj::new()
                            .obj("policy_ms", timing(&r.policy_before))
                            .obj("visible_ms", timing(&r.visible_before))
                            .num("policy_floor", r.ratio(Side::PolicyBefore, Side::Floor), 3)
                            .num(
                                "visible_native",
                                r.ratio(Side::VisibleBefore, Side::Native),
                                3,
                            )
                    }),
                )
                .opt_obj("targets", targets)
                .opt_obj("peak_rss_kib", rss),
        );
    }
    Obj::new()
        .str("env", &env_line())
        .str("regime", crate::busy::name(opts.busy))
        .obj(
            "loadavg",
            Obj::new().str("start", &load.0).str("end", &load.1),
        )
        .str("fdsup", &fdsup.display().to_string())
        .raw(
            "before",
            opts.before.as_ref().map_or_else(
                || "null".to_owned(),
                |b| json::string(&b.display().to_string()),
            ),
        )
        .str("policy", "@default")
        .obj(
            "config",
            Obj::new()
                .int("runs", u64::try_from(opts.runs).unwrap_or(u64::MAX))
                .int("files", u64::try_from(opts.files).unwrap_or(u64::MAX))
                .int("modified", u64::try_from(opts.modified).unwrap_or(u64::MAX)),
        )
        .obj("workloads", ws)
        .int("target_peak_rss_kib", TARGET_PEAK_RSS_KIB)
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
    fn vm_hwm() {
        let status = "Name:\tfdsup\nVmPeak:\t  10000 kB\nVmHWM:\t    4321 kB\nVmRSS:\t 100 kB\n";
        assert_eq!(vm_hwm_kib(status), Some(4321));
        assert_eq!(vm_hwm_kib("Name:\tx\n"), None);
    }

    #[test]
    fn the_make_project_builds_and_prints_its_sum() -> std::result::Result<(), String> {
        let dir = std::env::temp_dir().join(format!("fdsup-bench-make-{}", std::process::id()));
        let _scratch = Scratch(dir.clone());
        let want = make_project(&dir)?;
        if in_path("make").is_err() || in_path("gcc").is_err() {
            eprintln!("skipped: make or gcc missing");
            return Ok(());
        }
        let out = setup(
            Command::new("make")
                .args(["-j2", "-s", "-B", "check"])
                .current_dir(&dir)
                .env_remove("MAKEFLAGS"),
        )?;
        assert_eq!(String::from_utf8_lossy(&out.stdout), want);
        Ok(())
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
        assert!(parse_args(args("--busy"))?.ok_or("help")?.busy);
        let o = parse_args(args("--before /x/fdsup"))?.ok_or("help")?;
        assert_eq!(o.before.as_deref(), Some(Path::new("/x/fdsup")));
        assert_eq!(Side::all(false).len(), 4);
        assert_eq!(
            Side::all(true)[4..],
            [Side::PolicyBefore, Side::VisibleBefore]
        );
        Ok(())
    }
}

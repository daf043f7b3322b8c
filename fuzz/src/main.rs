//! `fdsup-fuzz`: differential syscall fuzzing of fdsup against the kernel,
//! and fuzzing of its policy loader. See the crate docs and README
//! ("Fuzzing").
//!
//! ```text
//! fdsup-fuzz [--calls N] [--seed S] [--per-seed K] [--policies allow-all,net,ro,ro-fs]
//!            [--workers W] [--race-every R] [--no-minimise] [--fdsup PATH] [-v]
//! fdsup-fuzz repro --seed S --calls N --policy P [--keep I,J,...] [--fdsup PATH]
//! fdsup-fuzz policy [--iterations N] [--seed S] [--fdsup PATH] [-v]
//! fdsup-fuzz exclusions
//! fdsup-fuzz show --seed S --calls N [--scratch PATH]   (the operations, not run)
//! fdsup-fuzz exec ...        (the executor; started by the driver)
//! ```
#![deny(unsafe_code)]

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use fdsup_fuzz::driver::{self, Options, Policy, Sandbox};
use fdsup_fuzz::exec::{self, Side};

/// `--name value` pairs and bare flags.
struct Args {
    values: HashMap<String, String>,
    flags: Vec<String>,
}

impl Args {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut flags = Vec::new();
        let mut i = 0;
        while i < args.len() {
            let a = &args[i];
            let bare = ["--race", "--no-minimise", "-v", "--verbose"];
            if bare.contains(&a.as_str()) {
                flags.push(a.clone());
                i += 1;
                continue;
            }
            if !a.starts_with("--") {
                return Err(format!("unexpected argument {a:?}"));
            }
            let v = args
                .get(i + 1)
                .ok_or_else(|| format!("{a} needs a value"))?;
            values.insert(a.trim_start_matches("--").to_owned(), v.clone());
            i += 2;
        }
        Ok(Self { values, flags })
    }

    fn num<T: std::str::FromStr>(&self, k: &str, default: T) -> Result<T, String> {
        match self.values.get(k) {
            None => Ok(default),
            Some(v) => v
                .replace('_', "")
                .parse()
                .map_err(|_| format!("--{k}: not a number: {v:?}")),
        }
    }

    fn has(&self, f: &str) -> bool {
        self.flags.iter().any(|x| x == f)
    }

    fn fdsup(&self) -> Result<PathBuf, String> {
        if let Some(p) = self.values.get("fdsup") {
            // Runs start in the scratch tree: the path must not be relative.
            return std::fs::canonicalize(p).map_err(|e| format!("--fdsup {p}: {e}"));
        }
        let me = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let p = me
            .parent()
            .map(|d| d.join("fdsup"))
            .ok_or("no fdsup beside fdsup-fuzz")?;
        if !p.exists() {
            return Err(format!(
                "{} is missing: build it (cargo build --release -p fdsup) or give --fdsup",
                p.display()
            ));
        }
        Ok(p)
    }

    fn keep(&self) -> Result<Option<Vec<usize>>, String> {
        self.values
            .get("keep")
            .map(|k| {
                let mut v = k
                    .split(',')
                    .filter(|s| !s.is_empty())
                    .map(|s| {
                        s.parse::<usize>()
                            .map_err(|_| format!("--keep: bad index {s:?}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                v.sort_unstable();
                Ok(v)
            })
            .transpose()
    }
}

fn main() -> ExitCode {
    let all: Vec<String> = std::env::args().skip(1).collect();
    let (cmd, rest) = match all.first().map(String::as_str) {
        Some(c @ ("exec" | "repro" | "policy" | "exclusions" | "bench" | "show")) => {
            (c.to_owned(), &all[1..])
        }
        _ => ("bench".to_owned(), &all[..]),
    };
    let args = match Args::parse(rest) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("fdsup-fuzz: {e}");
            return ExitCode::from(2);
        }
    };
    let r = match cmd.as_str() {
        "exec" => run_exec(&args),
        "repro" => repro(&args),
        "policy" => policy(&args),
        "show" => {
            // The operations of a seed, without running them.
            let scratch = args
                .values
                .get("scratch")
                .cloned()
                .unwrap_or_else(|| "/scratch".into());
            let seed = args.num("seed", 0);
            let calls = args.num("calls", 2000);
            match (seed, calls) {
                (Ok(s), Ok(n)) => {
                    for (i, op) in fdsup_fuzz::gen::sequence(s, n, scratch.as_bytes())
                        .iter()
                        .enumerate()
                    {
                        println!("{i} {op}");
                    }
                    Ok(0)
                }
                (Err(e), _) | (_, Err(e)) => Err(e),
            }
        }
        "exclusions" => {
            for (what, why) in fdsup_fuzz::EXCLUSIONS {
                println!("{what}\n    {why}");
            }
            Ok(0)
        }
        _ => bench(&args),
    };
    match r {
        Ok(n) => ExitCode::from(n),
        Err(e) => {
            eprintln!("fdsup-fuzz: {e}");
            ExitCode::from(2)
        }
    }
}

fn run_exec(a: &Args) -> Result<u8, String> {
    let cfg = exec::Config {
        seed: a.num("seed", 0)?,
        calls: a.num("calls", 100)?,
        scratch: a
            .values
            .get("scratch")
            .ok_or("--scratch is required")?
            .as_bytes()
            .to_vec(),
        side: match a.values.get("side").map(String::as_str) {
            Some("fdsup") => Side::Fdsup,
            _ => Side::Native,
        },
        keep: a.keep()?,
        tag: a.values.get("tag").cloned().unwrap_or_else(|| "t".into()),
        race: a.has("--race"),
    };
    Ok(u8::try_from(exec::main(&cfg)).unwrap_or(1))
}

fn policies(a: &Args) -> Result<Vec<Policy>, String> {
    a.values
        .get("policies")
        .map_or("allow-all,net,ro", String::as_str)
        .split(',')
        .map(|p| {
            Policy::parse(p)
                .ok_or_else(|| format!("unknown policy {p:?} (allow-all, net, ro, ro-fs)"))
        })
        .collect()
}

fn bench(a: &Args) -> Result<u8, String> {
    let fdsup = a.fdsup()?;
    let opts = Options {
        fdsup,
        calls: a.num("calls", 1_000_000)?,
        seed: a.num("seed", 1)?,
        per_seed: a.num("per-seed", 2000)?,
        policies: policies(a)?,
        workers: a.num("workers", 2)?,
        race_every: a.num("race-every", 8)?,
        minimise: !a.has("--no-minimise"),
        verbose: a.has("-v") || a.has("--verbose"),
    };
    let sandbox = Sandbox::enter(opts.workers).map_err(|e| format!("sandbox: {e}"))?;
    println!(
        "fdsup-fuzz: {} calls under {} from seed {}, {} per seed, {} workers, fdsup {}",
        opts.calls,
        opts.policies
            .iter()
            .map(|p| p.name())
            .collect::<Vec<_>>()
            .join(","),
        opts.seed,
        opts.per_seed,
        opts.workers,
        opts.fdsup.display()
    );
    let n = driver::bench(&opts, &sandbox);
    Ok(u8::from(n > 0))
}

fn repro(a: &Args) -> Result<u8, String> {
    let fdsup = a.fdsup()?;
    let seed = a.num("seed", 0)?;
    let calls = a.num("calls", 2000)?;
    let policy = a
        .values
        .get("policy")
        .map_or(Some(Policy::AllowAll), |p| Policy::parse(p))
        .ok_or("--policy: allow-all, net, ro or ro-fs")?;
    let keep = a.keep()?;
    let sandbox = Sandbox::enter(1).map_err(|e| format!("sandbox: {e}"))?;
    let place = driver::Place {
        scratch: sandbox.scratch[0].clone(),
        cfg: sandbox.cfg.clone(),
        tag: format!("r-{}", std::process::id()),
    };
    let native = driver::run_exec(&fdsup, &place, None, seed, calls, keep.as_deref(), false)
        .map_err(|e| e.to_string())?;
    let (run, f) = driver::check_seed(
        &fdsup,
        &place,
        policy,
        seed,
        calls,
        &native,
        keep.as_deref(),
        false,
    )
    .map_err(|e| e.to_string())?;
    let shown = |l: &String| {
        keep.is_some() || a.has("-v") || !l.chars().next().is_some_and(|c| c.is_ascii_digit())
    };
    println!("--- native");
    for l in native.lines.iter().filter(|l| shown(l)) {
        println!("{l}");
    }
    println!("--- fdsup ({})", policy.name());
    for l in run.lines.iter().filter(|l| shown(l)) {
        println!("{l}");
    }
    if !run.stderr.is_empty() {
        println!("--- fdsup stderr\n{}", run.stderr);
    }
    match f {
        Some(f) => {
            println!("{}", f.report());
            Ok(1)
        }
        None => {
            println!("no difference");
            Ok(0)
        }
    }
}

fn policy(a: &Args) -> Result<u8, String> {
    let fdsup = a.fdsup()?;
    let seed = a.num("seed", 1)?;
    let n = a.num("iterations", 2000)?;
    let dir = std::env::temp_dir().join(format!("fdsup-fuzz-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let start = std::time::Instant::now();
    let out = fdsup_fuzz::policy::fuzz(&fdsup, &dir, seed, n, a.has("-v"));
    let _ = std::fs::remove_dir_all(&dir);
    for (_, s) in out.findings.iter().take(20) {
        println!("{s}");
    }
    println!(
        "policies checked: {} (valid {}, refused with a located error {}), broken answers: {}, time {:.1} s",
        out.runs,
        out.valid,
        out.located,
        out.findings.len(),
        start.elapsed().as_secs_f64()
    );
    Ok(u8::from(!out.findings.is_empty()))
}

//! The `fdsup` command line: parse, call the library, map errors to exit codes.
#![deny(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fdsup::supervise::{self, RunOptions, Verbosity};
use fdsup::{doctor, policy};

/// Run an untrusted program with every open decided by a JSON policy and
/// served by a supervisor (seccomp user notification + descriptor injection).
#[derive(Debug, Parser)]
#[command(name = "fdsup", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run PROGRAM under the policy (the embedded @default without --policy).
    Run {
        /// Policy file, or an embedded policy: @default, @system, @allow-all,
        /// @network-loopback.
        #[arg(long, value_name = "FILE")]
        policy: Option<String>,
        /// Append one JSON line per decision to FILE.
        #[arg(long, value_name = "FILE")]
        log: Option<PathBuf>,
        /// Run with everything allowed (and mediated), then write to FILE a
        /// policy that allows what the program used. FILE must not exist.
        #[arg(long, value_name = "FILE", conflicts_with = "policy")]
        learn: Option<PathBuf>,
        /// Print one line per denied request on stderr.
        #[arg(short, long, conflicts_with = "quiet")]
        verbose: bool,
        /// Print nothing but fatal errors.
        #[arg(short, long)]
        quiet: bool,
        /// The program and its arguments, after `--`.
        #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
        command: Vec<OsString>,
    },
    /// Validate a policy and print its rules as understood (exit 0), or the
    /// located error (exit 1).
    Check {
        /// The policy file (or @name).
        file: String,
    },
    /// Report the kernel features fdsup uses.
    Doctor,
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    if args.nth(1).is_some_and(|a| a == "__shim") {
        fdsup_shim::main(args.collect());
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 125 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Cmd::Run {
            policy,
            log,
            learn,
            verbose,
            quiet,
            command,
        } => {
            let verbosity = if quiet {
                Verbosity::Quiet
            } else if verbose {
                Verbosity::Verbose
            } else {
                Verbosity::Normal
            };
            let opts = RunOptions {
                policy,
                log,
                learn,
                verbosity,
                command,
            };
            match supervise::run(opts) {
                Ok(status) => exit(status),
                Err(e) => {
                    eprintln!("fdsup: {}", chain(&e));
                    exit(e.exit_code())
                }
            }
        }
        Cmd::Check { file } => {
            let vars = match policy::Vars::from_env() {
                Ok(v) => v,
                Err(e) => {
                    eprintln!("fdsup: reading the environment: {e}");
                    return ExitCode::from(1);
                }
            };
            match policy::load(&file, &vars) {
                Ok(p) => {
                    print!("{}", p.describe());
                    if let Err(e) = supervise::check_enforceable(&p, &file) {
                        println!("note: fdsup run would refuse this policy: {e}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("fdsup: {}", chain(&e));
                    ExitCode::from(1)
                }
            }
        }
        Cmd::Doctor => {
            let f = doctor::probe();
            print!("{}", doctor::report(&f));
            if doctor::require(&f).is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}

fn exit(status: i32) -> ExitCode {
    ExitCode::from(u8::try_from(status.clamp(0, 255)).unwrap_or(125))
}

/// An error and its sources, joined with ": ".
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    s
}

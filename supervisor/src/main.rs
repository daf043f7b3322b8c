//! The `fdsup` command line: parse, call the library, map errors to exit codes.
#![deny(unsafe_code)]

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use fdsup::explain::{self, Ask};
use fdsup::supervise::{self, RunOptions, Verbosity};
use fdsup::{diag, doctor, policy};

mod man;

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
        /// Policy file, or an embedded policy: @default, @system, @allow-all
        /// (@network-loopback is a part to include in a policy file).
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
        /// Who answers the looks at paths (stat, access, readlink, statfs,
        /// chdir, listings) for this run, whatever the policy's
        /// filesystem.metadata says: `visible` leaves them to the kernel
        /// (native speed; every path's name and metadata visible), `policy`
        /// decides them by the rules. Opens, changes, exec and the network
        /// are decided by the rules either way.
        #[arg(long, value_name = "MODE")]
        metadata: Option<MetadataArg>,
        /// The program and its arguments, after `--`.
        #[arg(required = true, trailing_var_arg = true, value_name = "PROGRAM")]
        command: Vec<OsString>,
    },
    /// Validate a policy and print its rules as understood, with warnings
    /// about rules that can never win and paths that do not exist (exit 0),
    /// or the located error (exit 1).
    Check {
        /// The policy file (or @name).
        file: String,
    },
    /// Say which rule decides a request, and why: exit 0 if it would be
    /// allowed, 1 if refused (as test(1)), 2 with the located error of a
    /// bad policy or a bad path or address.
    Explain {
        /// The policy file (or @name).
        #[arg(long, value_name = "FILE")]
        policy: String,
        /// The path asked for (relative to the current directory).
        #[arg(required_unless_present = "connect", conflicts_with = "connect")]
        path: Option<String>,
        /// Ask about a change (create, write, delete, ...) instead of a read.
        #[arg(long, group = "ask")]
        write: bool,
        /// Ask about executing PATH.
        #[arg(long, group = "ask")]
        exec: bool,
        /// Ask about a look at PATH (stat, access, readlink, chdir, its
        /// listing) instead of a read.
        #[arg(long, group = "ask")]
        look: bool,
        /// Ask as `fdsup run --metadata MODE` would run the policy.
        #[arg(long, value_name = "MODE")]
        metadata: Option<MetadataArg>,
        /// Ask about a connection to ADDR (IP:PORT, [IPv6]:PORT, unix:/path,
        /// unix:@name).
        #[arg(long, value_name = "ADDR", group = "ask")]
        connect: Option<String>,
    },
    /// Write the manual pages (fdsup(1), one per subcommand, and
    /// fdsup-policy(5), the policy format) under DIR (DIR/man1/...,
    /// DIR/man5/...), or print one on standard output without DIR.
    Man {
        /// The manual's root (e.g. /usr/local/share/man). A DIR named man1
        /// gets the section-1 pages itself, and its sibling man5 the
        /// policy page.
        dir: Option<PathBuf>,
        /// Without DIR, the page to print: fdsup (the default), fdsup-run,
        /// fdsup-check, ..., fdsup-policy.
        #[arg(long, value_name = "NAME", conflicts_with = "dir")]
        page: Option<String>,
    },
    /// Print the completion script for SHELL on standard output.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Report the kernel features fdsup uses.
    Doctor,
    /// Serve OCI runtimes' seccomp listeners (runc and crun
    /// `linux.seccomp.listenerPath`): every container's requests decided
    /// by the policy its profile names (`listenerMetadata` "policy=NAME":
    /// DIR/NAME.json), paths resolved in the container. Runs until SIGTERM.
    #[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
    Agent {
        #[command(subcommand)]
        action: Option<AgentCmd>,
        /// The unix socket runtimes connect to (created mode 0600; a stale
        /// one is replaced).
        #[arg(long, value_name = "PATH", required = true)]
        socket: Option<PathBuf>,
        /// The directory of the agent policies (NAME.json).
        #[arg(long, value_name = "DIR", required = true)]
        policies: Option<PathBuf>,
        /// Write one audit log per container, DIR/ID.jsonl.
        #[arg(long, value_name = "DIR")]
        log: Option<PathBuf>,
    },
}

/// `fdsup agent`'s subcommands.
#[derive(Debug, Subcommand)]
enum AgentCmd {
    /// Print the OCI linux.seccomp object that hands a container to the
    /// agent at PATH under policy NAME (for a bundle's config.json or a
    /// Kubernetes Localhost profile).
    Profile {
        /// The agent policy's name: DIR/NAME.json of the agent's --policies.
        #[arg(long, value_name = "NAME")]
        policy: String,
        /// The agent's socket, as the runtime sees it (absolute).
        #[arg(long, value_name = "PATH")]
        socket: PathBuf,
    },
}

/// `--metadata`'s values (a policy's `filesystem.metadata`).
#[derive(Debug, Clone, Copy, ValueEnum)]
enum MetadataArg {
    /// The rules decide every look.
    Policy,
    /// The kernel answers the looks.
    Visible,
}

impl From<MetadataArg> for policy::Metadata {
    fn from(m: MetadataArg) -> Self {
        match m {
            MetadataArg::Policy => policy::Metadata::Policy,
            MetadataArg::Visible => policy::Metadata::Visible,
        }
    }
}

fn main() -> ExitCode {
    let mut args = std::env::args_os();
    match args.nth(1) {
        Some(a) if a == "__shim" => fdsup_shim::main(args.collect()),
        Some(a) if a == "__binder" => {
            let fd = args.next().unwrap_or_default();
            let code = fdsup::handlers::net::binder_main(&fd);
            return ExitCode::from(u8::try_from(code).unwrap_or(1));
        }
        _ => {}
    }
    fdsup::timeline::start_from_env();
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
            metadata,
            command,
        } => {
            if let Err(why) = fdsup::limits::workers_from_env() {
                fdsup::diag!("fdsup: {why}");
                return exit(125);
            }
            if let Some(why) = policy.as_deref().and_then(policy::include_only) {
                fdsup::diag!("fdsup: --policy {}: {why}", policy.as_deref().unwrap_or(""));
                return exit(125);
            }
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
                metadata: metadata.map(Into::into),
                command,
            };
            fdsup::timeline::mark("command line parsed");
            let done = supervise::run(opts);
            eprint!("{}", fdsup::timeline::report());
            match done {
                Ok(status) => exit(status),
                Err(e) => {
                    fdsup::diag!("fdsup: {}", diag::chain(&e));
                    exit(e.exit_code())
                }
            }
        }
        Cmd::Check { file } => {
            let vars = match policy::Vars::from_env() {
                Ok(v) => v,
                Err(e) => {
                    fdsup::diag!("fdsup: reading the environment: {e}");
                    return ExitCode::from(1);
                }
            };
            match policy::load(&file, &vars) {
                Ok(p) => {
                    diag::out(&p.describe());
                    for w in p.warnings() {
                        diag::out(&format!("{w}\n"));
                    }
                    if let Some(why) = policy::include_only(&file) {
                        diag::out(&format!("note: fdsup run refuses it alone: {why}\n"));
                    }
                    if let Err(e) = supervise::check_enforceable(&p, &file) {
                        diag::out(&format!("note: fdsup run would refuse this policy: {e}\n"));
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    fdsup::diag!("fdsup: {}", diag::chain(&e));
                    ExitCode::from(1)
                }
            }
        }
        Cmd::Explain {
            policy,
            path,
            write,
            exec,
            look,
            metadata,
            connect,
        } => {
            let vars = match policy::Vars::from_env() {
                Ok(v) => v,
                Err(e) => {
                    fdsup::diag!("fdsup: reading the environment: {e}");
                    return ExitCode::from(2);
                }
            };
            let mut p = match policy::load(&policy, &vars) {
                Ok(p) => p,
                Err(e) => {
                    fdsup::diag!("fdsup: {}", diag::chain(&e));
                    return ExitCode::from(2);
                }
            };
            if let Some(m) = metadata {
                p.fs.metadata = m.into();
            }
            let ask = match (connect, write, exec, look) {
                (Some(addr), ..) => Ask::Connect(addr),
                (None, true, ..) => Ask::Write,
                (None, _, true, _) => Ask::Exec,
                (None, _, _, true) => Ask::Look,
                _ => Ask::Read,
            };
            match explain::explain(&p, path.as_deref(), &ask, &vars.cwd) {
                Ok(e) => {
                    diag::out(&e.text);
                    // As test(1): 0 allowed, 1 refused, 2 could not tell.
                    if e.allowed {
                        ExitCode::SUCCESS
                    } else {
                        ExitCode::from(1)
                    }
                }
                Err(e) => {
                    fdsup::diag!("fdsup: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Cmd::Man { dir, page } => match dir {
            Some(dir) => match man::write_all(Cli::command(), &dir) {
                Ok(written) => {
                    diag::out(&format!(
                        "wrote {} pages under {}\n",
                        written.len(),
                        dir.display()
                    ));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    fdsup::diag!(
                        "fdsup: writing the manual pages under {}: {e}",
                        dir.display()
                    );
                    ExitCode::from(1)
                }
            },
            None => {
                let name = page.unwrap_or_else(|| "fdsup".to_owned());
                match man::page(Cli::command(), &name) {
                    Ok(Some(text)) => {
                        diag::out_bytes(&text);
                        ExitCode::SUCCESS
                    }
                    Ok(None) => {
                        fdsup::diag!("fdsup: no manual page {name:?} (fdsup, fdsup-run, fdsup-check, fdsup-explain, fdsup-doctor, fdsup-man, fdsup-completions, fdsup-policy)");
                        ExitCode::from(1)
                    }
                    Err(e) => {
                        fdsup::diag!("fdsup: rendering the manual page: {e}");
                        ExitCode::from(1)
                    }
                }
            }
        },
        Cmd::Completions { shell } => {
            // Into a buffer first: clap_complete panics when its writer
            // fails (`fdsup completions bash | head`).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "fdsup", &mut script);
            diag::out_bytes(&script);
            ExitCode::SUCCESS
        }
        Cmd::Agent {
            action: Some(AgentCmd::Profile { policy, socket }),
            ..
        } => match fdsup::agent::profile_text(&policy, &socket) {
            Ok(text) => {
                diag::out(&text);
                ExitCode::SUCCESS
            }
            Err(e) => {
                fdsup::diag!("fdsup: {e}");
                ExitCode::from(125)
            }
        },
        Cmd::Agent {
            action: None,
            socket: Some(socket),
            policies: Some(policies),
            log,
        } => {
            let opts = fdsup::agent::AgentOptions {
                socket,
                policies,
                log,
            };
            match fdsup::agent::serve(opts) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    fdsup::diag!("fdsup: {}", diag::chain(&e));
                    ExitCode::from(125)
                }
            }
        }
        Cmd::Agent { .. } => {
            fdsup::diag!("fdsup: agent: --socket and --policies are required");
            ExitCode::from(125)
        }
        Cmd::Doctor => {
            let f = doctor::probe();
            diag::out(&doctor::report(&f));
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

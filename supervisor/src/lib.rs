//! fdsup: run an untrusted program under a seccomp user-notification
//! supervisor that decides every mediated request by a JSON policy and serves
//! what it allows itself, injecting descriptors with `SECCOMP_IOCTL_NOTIF_ADDFD`.
//!
//! Module map: [`policy`] (the JSON model and matcher), [`filter`] (BPF),
//! [`notify`] (listener and the `Pending` answer type), [`task`] (the asking
//! task), [`fs`] (resolving and opening), [`handlers`] (one module per
//! syscall family), [`landlock`] (the exec section, as a Landlock
//! ruleset), [`explain`] (`fdsup explain`), [`audit`] (the log), [`files`] (how the files for the user are written), [`learn`] (`--learn`), [`agent`] (`fdsup agent`: containers' listeners from OCI runtimes), [`supervise`] (`fdsup run`: start-up, signals, exit status), [`session`] (one listener and its workers, for `run` and `agent`), [`jobs`] (process groups, the terminal, signals), [`pool`] (which worker receives), [`limits`] (every size the program controls), [`doctor`] (kernel features), [`probe`] (kernel features a run is set up by), [`proc_path`] (which `/proc` paths name a process), [`diag`] (messages on stderr that cannot panic). Raw syscalls live in `sys`.
#![deny(unsafe_code)]

pub mod agent;
pub mod audit;
pub mod creds;
pub mod diag;
pub mod doctor;
pub mod explain;
pub mod files;
pub mod filter;
pub mod fs;
pub mod handlers;
pub mod interrupt;
pub mod jobs;
pub mod landlock;
pub mod learn;
pub mod limits;
pub mod notify;
pub mod own_caps;
pub mod policy;
pub mod pool;
pub mod probe;
pub mod proc_path;
pub mod session;
pub mod supervise;
mod sys;
pub mod syscalls;
pub mod task;
pub mod timeline;

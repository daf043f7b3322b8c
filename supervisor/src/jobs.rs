//! Process groups, the terminal, and signals: every signal reaches the
//! program exactly once.
//!
//! A signal can be sent to fdsup alone (`kill PID`, a service manager), to
//! a process group (the terminal's Ctrl-C and Ctrl-Z, `kill -INT -PGID`, a
//! shell's `kill %1`, the program's own `killpg(0, ...)`), or by the
//! program itself. fdsup must forward the first kind, and must not forward
//! a signal the kernel already delivered to the program through a group
//! they share; the signal's information does not tell `kill(pid)` from
//! `kill(-pgid)`. So fdsup and the program are put in different process
//! groups wherever that is possible without changing what the shell and
//! the terminal see, and fdsup then forwards what reaches it:
//!
//! - [`Mode::Own`]: fdsup leads its process group (a shell made it a job,
//!   or its parent a group of its own). The program gets a group of its
//!   own, and if fdsup's group is the terminal's foreground group, the
//!   terminal is handed to the program's group and taken back at the end,
//!   as a shell does for a job: the terminal's signals reach the program
//!   (and what it started) only, and it reads the terminal as its own.
//!   When the program stops (Ctrl-Z, `SIGTTIN`), fdsup takes the terminal
//!   back and stops itself the same way, so that the shell sees the job
//!   stopped; when continued (`fg`, `bg`), it hands the terminal over
//!   again if it is in the foreground and continues the program's group.
//! - [`Mode::Aside`]: fdsup is not its group's leader and its parent is in
//!   that group (a script, `make`, a test runner, `timeout`): the program
//!   stays in the group with the parent, which is where its signals are
//!   sent, and fdsup moves to a group of its own, out of their way. Job
//!   control is the parent's: the group stops and continues without
//!   fdsup.
//! - [`Mode::Shared`]: otherwise — fdsup leads a group that may hold other
//!   processes of a pipeline (`fdsup run ... | less`: `less` must keep the
//!   terminal), or a job-control shell made fdsup a member of another
//!   process's job (`cat | fdsup run ...`), where the job stops only if
//!   fdsup stops too. The program shares fdsup's group; fdsup forwards
//!   neither what the terminal sent (the kernel delivered it to the
//!   group) nor what a member of the group or of the sandbox sent. What it
//!   cannot tell apart: a signal another process outside sends to the
//!   whole group reaches the program twice (README, Limits).
//!
//! In every mode a signal sent by a process of the sandbox is not
//! forwarded (`kill(getppid(), ...)`, `kill(-1, ...)` must not come back
//! to the program that sent it).

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use crate::sys::signal::SignalSet;
use rustix::process::Pid;

use crate::sys;

/// How fdsup and the program share process groups (module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The program leads a group of its own; fdsup keeps its own.
    Own,
    /// fdsup moves to a group of its own; the program stays.
    Aside,
    /// The program stays in fdsup's group.
    Shared,
}

/// The run's process groups and terminal.
#[derive(Debug)]
pub struct Jobs {
    mode: Mode,
    /// The controlling terminal (`/dev/tty`), if there is one (`Own` and
    /// `Shared` only: `Aside` leaves the terminal to the parent).
    tty: Option<OwnedFd>,
    /// fdsup's group when it started (in `Own`, its own).
    group: i32,
    /// The program's first process (and, in `Own`, its group).
    program: i32,
    /// The terminal is the program's group's now (`Own`).
    handed: bool,
}

impl Jobs {
    /// Chooses the mode, before the shim is started (module docs). Costs
    /// two `getpgid` and, when fdsup leads its group, an open of
    /// `/dev/tty` and three `fstat`s.
    pub fn choose() -> (Mode, Option<OwnedFd>) {
        let me = i32::try_from(std::process::id()).unwrap_or(0);
        let group = sys::getpgrp();
        if group != me {
            let parent = i32::try_from(std::os::unix::process::parent_id()).unwrap_or(0);
            return if sys::getpgid(parent).is_ok_and(|g| g == group) {
                (Mode::Aside, None)
            } else {
                (Mode::Shared, controlling_terminal())
            };
        }
        let tty = controlling_terminal();
        if tty.is_some() && std_is_a_pipe() {
            (Mode::Shared, tty)
        } else {
            (Mode::Own, tty)
        }
    }

    /// Puts the shim (`program`, not yet running the program) where `mode`
    /// says; in `Own`, hands it the terminal if fdsup has it. Called before
    /// the program is let go, so that it starts where it belongs. Should
    /// the group not change (the kernel refuses), the program shares
    /// fdsup's group (`Shared`).
    pub fn start(mode: Mode, tty: Option<OwnedFd>, program: i32) -> Jobs {
        let group = sys::getpgrp();
        let mut jobs = Jobs {
            mode,
            tty,
            group,
            program,
            handed: false,
        };
        let moved = match mode {
            Mode::Own => rustix::process::setpgid(Pid::from_raw(program), Pid::from_raw(program)),
            Mode::Aside => rustix::process::setpgid(None, None),
            Mode::Shared => Ok(()),
        };
        if moved.is_err() {
            jobs.mode = Mode::Shared;
            if mode == Mode::Aside {
                // No terminal was opened for `Aside`: without one, nothing
                // of job control is fdsup's.
                jobs.tty = None;
            }
        }
        jobs.hand_over();
        jobs
    }

    /// If fdsup's group has the terminal, gives it to the program's group.
    fn hand_over(&mut self) {
        let Some(tty) = &self.tty else { return };
        if self.mode != Mode::Own {
            return;
        }
        let fg = rustix::termios::tcgetpgrp(tty.as_fd());
        if fg.is_ok_and(|g| g.as_raw_pid() == self.group)
            && Pid::from_raw(self.program)
                .is_some_and(|p| rustix::termios::tcsetpgrp(tty.as_fd(), p).is_ok())
        {
            self.handed = true;
        }
    }

    /// Takes the terminal back for fdsup's group, if it was handed over.
    fn take_back(&mut self) {
        if !self.handed {
            return;
        }
        self.handed = false;
        if let Some(tty) = &self.tty {
            // SIGTTOU is blocked: a background group may set it.
            if let Some(group) = Pid::from_raw(self.group) {
                let _ = rustix::termios::tcsetpgrp(tty.as_fd(), group);
            }
        }
    }

    /// Whether a signal with this information is forwarded to the program
    /// (module docs): not if the kernel delivered it to the program too
    /// (the terminal's, where they share the terminal's group), nor if a
    /// process of the sandbox, or of a group fdsup shares with the
    /// program, sent it.
    pub fn forwards(&self, code: i32, sender: i32, sup_pid: i32) -> bool {
        if code == libc::SI_KERNEL && (self.mode == Mode::Shared || self.handed) {
            return false;
        }
        if sender > 0 {
            if crate::task::in_sandbox(sender, sup_pid) {
                return false;
            }
            if self.mode == Mode::Shared && sys::getpgid(sender).is_ok_and(|g| g == self.group) {
                return false;
            }
        }
        true
    }

    /// After `SIGCHLD`: if the program stopped, and fdsup answers for a job
    /// on a terminal (`Own`, `Shared`), takes the terminal back, stops
    /// itself as the program was stopped, and once continued hands the
    /// terminal over again (if it is in the foreground) and continues the
    /// program's group.
    pub fn child_changed(&mut self, pidfd: BorrowedFd<'_>) {
        if self.mode == Mode::Aside || self.tty.is_none() {
            return;
        }
        let Ok(Some(sig)) = sys::stopped_pidfd(pidfd) else {
            return;
        };
        self.take_back();
        stop_like(sig);
        // Continued.
        if self.mode == Mode::Own {
            self.hand_over();
            let _ = sys::kill(-self.program, libc::SIGCONT);
        }
    }

    /// At the end of the run: the terminal goes back to fdsup's group.
    pub fn finish(&mut self) {
        self.take_back();
    }
}

impl Drop for Jobs {
    fn drop(&mut self) {
        self.take_back();
    }
}

/// Stops this process as a stop signal `sig` stopped the program: `SIGTSTP`,
/// `SIGTTIN` or `SIGTTOU` (blocked here, taken by the signalfd) are sent
/// to ourselves and unblocked on this thread only, so that their default
/// action stops the whole process (the shell then says "Stopped" as for
/// the program natively); anything else stops with `SIGSTOP`. Returns once
/// continued.
fn stop_like(sig: i32) {
    let me = i32::try_from(std::process::id()).unwrap_or(0);
    if me <= 0 {
        return;
    }
    if !matches!(sig, libc::SIGTSTP | libc::SIGTTIN | libc::SIGTTOU) {
        let _ = sys::kill(me, libc::SIGSTOP);
        return;
    }
    let mut one = SignalSet::empty();
    one.add(sig);
    if sys::kill(me, sig).is_ok() {
        // Delivered (and acted on: the process stops) as it is unblocked.
        let _ = one.thread_unblock();
        let _ = one.thread_block();
    }
}

/// `/dev/tty`, if fdsup has a controlling terminal.
fn controlling_terminal() -> Option<OwnedFd> {
    sys::openat(
        libc::AT_FDCWD,
        c"/dev/tty",
        libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        0,
    )
    .ok()
}

/// Whether standard input, output or error is a pipe or a socket: fdsup
/// may then be one of a pipeline's processes, which share its group.
fn std_is_a_pipe() -> bool {
    let (i, o, e) = (io::stdin(), io::stdout(), io::stderr());
    let piped = [i.as_fd(), o.as_fd(), e.as_fd()].into_iter().any(|fd| {
        sys::fstat_mode(fd).is_ok_and(|m| {
            let t = m & libc::S_IFMT;
            t == libc::S_IFIFO || t == libc::S_IFSOCK
        })
    });
    piped
}

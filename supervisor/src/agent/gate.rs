//! Whose request it is: the container runtime's, or the container's.
//!
//! A runtime installs the container's seccomp filter before its own last
//! steps (runc's init, for instance, then opens its exec FIFO through
//! `/proc/self/fd`, and without `noNewPrivileges` reads `/etc/passwd` and
//! writes `/proc/self/setgroups`) and only then `execve`s the container's
//! program. Those requests are the runtime's, which the node trusts: they
//! are answered `CONTINUE` and run as the kernel would. That is the one
//! place the agent continues a request unchecked, and the runtime — not
//! code from the container image — is what asks there: no container code
//! has run yet. The policy applies from the first `execve` on (the profile
//! traps `execve` and `execveat` so that the agent sees it), including that
//! `execve` itself.
//!
//! Tracking is per task, not per container, because the filter is
//! inherited by every process forked under it: a process the runtime forked
//! before the exec is still runtime code afterwards, until it execs itself.
//! So at the first exec the processes descending from the exec'ing one are
//! taken as the runtime's — each held by a pidfd, so that a number reused
//! later is never mistaken for one of them — and any other process (the
//! container's program and everything it starts) is the container's. A
//! request is matched by the notification's own task (its thread group, read
//! through its number and vouched for by `ID_VALID`), never by the state's
//! pid or the task's `comm`, which a program can set. A runtime process that
//! execs becomes the container's. What cannot be told apart errs on the
//! policy's side: a process the runtime forks after the first exec, or an
//! exec that fails, is policed.
//!
//! Also here, because it is the front door's business and not the
//! handlers': a session whose policy could not be had refuses every request
//! (`EPERM`), and under `"metadata": "visible"` the looks are left to the
//! kernel (the profile traps them whatever the policy, since it is written
//! before the policy is known).

use std::os::fd::{AsFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use crate::handlers::Reply;
use crate::notify::{Listener, Notif};
use crate::session::Gate;
use crate::syscalls::{self, Kind};
use crate::task::Task;

/// The most runtime processes taken at the first exec.
const MAX_RUNTIME_PROCESSES: usize = 256;

/// The gate of one container's session.
#[derive(Debug)]
pub struct ContainerGate {
    /// No policy: every request fails with `EPERM`.
    refuse: bool,
    /// The policy leaves the looks to the kernel.
    native_looks: bool,
    phase: Mutex<Phase>,
    /// The container's program runs and no runtime process is left: every
    /// request is the container's (the common case, decided without the
    /// lock).
    all_container: AtomicBool,
}

#[derive(Debug)]
enum Phase {
    /// No exec yet: every task is the runtime's.
    Runtime,
    /// The first exec was seen; these processes are still the runtime's.
    Container(Vec<RuntimeProcess>),
}

/// A process of the runtime, held so that its number is never reused
/// under us.
#[derive(Debug)]
struct RuntimeProcess {
    pid: i32,
    pidfd: OwnedFd,
}

impl RuntimeProcess {
    fn alive(&self) -> bool {
        crate::sys::pidfd_send_signal(self.pidfd.as_fd(), 0).is_ok()
    }
}

impl ContainerGate {
    /// The gate of a container under a policy; `native_looks`: its
    /// `filesystem.metadata` is `visible`.
    pub fn new(native_looks: bool) -> Self {
        Self {
            refuse: false,
            native_looks,
            phase: Mutex::new(Phase::Runtime),
            all_container: AtomicBool::new(false),
        }
    }

    /// The gate of a container without a policy: everything fails.
    pub fn refusing() -> Self {
        Self {
            refuse: true,
            ..Self::new(false)
        }
    }

    /// A request of the container's: the handlers decide, except a look
    /// the policy leaves to the kernel.
    fn container(&self, kind: Option<Kind>) -> Option<Reply> {
        match kind {
            Some(k) if self.native_looks && syscalls::is_look(k) => Some(Reply::Continue),
            _ => None,
        }
    }
}

impl Gate for ContainerGate {
    fn before(&self, listener: &Listener, n: &Notif) -> Option<Reply> {
        if self.refuse {
            return Some(Reply::Errno(libc::EPERM));
        }
        let kind = syscalls::lookup(n.data.nr).map(|m| m.kind);
        if self.all_container.load(Ordering::Acquire) {
            return self.container(kind);
        }
        let exec = matches!(kind, Some(Kind::Execve | Kind::Execveat));
        let mut phase = self
            .phase
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match &mut *phase {
            Phase::Runtime if !exec => Some(Reply::Continue),
            Phase::Runtime => {
                // The container's program is about to start. What the
                // exec'ing process forked so far stays the runtime's.
                let task = Task::new(n.pid);
                let runtime = match task.tgid() {
                    Ok(tgid) => descendants(tgid),
                    Err(_) => Vec::new(),
                };
                if !listener.id_valid(n.id) {
                    // It died: it never exec'd; nothing changes.
                    return Some(Reply::Gone);
                }
                self.all_container
                    .store(runtime.is_empty(), Ordering::Release);
                *phase = Phase::Container(runtime);
                self.container(kind)
            }
            Phase::Container(runtime) => {
                runtime.retain(RuntimeProcess::alive);
                let tgid = Task::new(n.pid).tgid().ok();
                let at = tgid.and_then(|t| runtime.iter().position(|p| p.pid == t));
                let reply = match at {
                    // Its first exec: the container's from now on.
                    Some(i) if exec => {
                        runtime.swap_remove(i);
                        None
                    }
                    Some(_) if listener.id_valid(n.id) => Some(Reply::Continue),
                    Some(_) => Some(Reply::Gone),
                    None => self.container(kind),
                };
                if runtime.is_empty() {
                    self.all_container.store(true, Ordering::Release);
                }
                reply
            }
        }
    }
}

/// The processes descending from process `tgid` now, each held by a
/// pidfd (checked to be the child seen: its parent is still the one it was
/// listed under).
fn descendants(tgid: i32) -> Vec<RuntimeProcess> {
    let mut out: Vec<RuntimeProcess> = Vec::new();
    let mut frontier = vec![tgid];
    while let Some(parent) = frontier.pop() {
        for child in children(parent) {
            if out.len() >= MAX_RUNTIME_PROCESSES {
                return out;
            }
            if out.iter().any(|p| p.pid == child) {
                continue;
            }
            let Ok(pidfd) = crate::sys::pidfd_open(child, 0) else {
                continue;
            };
            if crate::task::parent_of(child) != Some(parent) {
                continue;
            }
            out.push(RuntimeProcess { pid: child, pidfd });
            frontier.push(child);
        }
    }
    out
}

/// The children of process `pid` (of each of its threads), from
/// `/proc/<pid>/task/<tid>/children`.
fn children(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for t in tasks.flatten() {
        let Ok(text) = std::fs::read_to_string(t.path().join("children")) else {
            continue;
        };
        out.extend(
            text.split_ascii_whitespace()
                .filter_map(|c| c.parse::<i32>().ok()),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_are_held_and_checked() {
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", "sleep 30 & sleep 30; wait"])
            .spawn()
            .expect("sh");
        let me = i32::try_from(std::process::id()).unwrap();
        let sh = i32::try_from(child.id()).unwrap();
        let t0 = std::time::Instant::now();
        let mut found = Vec::new();
        while t0.elapsed() < std::time::Duration::from_secs(5) {
            found = descendants(me);
            if found.len() >= 3 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(found.iter().any(|p| p.pid == sh), "{found:?}");
        assert!(found.len() >= 3, "sh and its two sleeps: {found:?}");
        assert!(found.iter().all(RuntimeProcess::alive));
        child.kill().unwrap();
        child.wait().unwrap();
        let gone = found.iter().find(|p| p.pid == sh).unwrap();
        assert!(!gone.alive(), "a reaped process is not alive");
        for p in found.iter().filter(|p| p.pid != sh) {
            let _ = crate::sys::pidfd_send_signal(p.pidfd.as_fd(), libc::SIGKILL);
        }
    }
}

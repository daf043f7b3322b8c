//! The capabilities fdsup keeps for its own acts on the program (looking
//! into it: `CAP_SYS_PTRACE`, `CAP_DAC_READ_SEARCH`; signalling it:
//! `CAP_KILL`), held by a worker that carries a program's credentials
//! only while it acts.
//!
//! A worker that serves a program which changed its credentials carries
//! the program's ([`crate::creds`]), and the kernel then decides each call
//! as it would the program's: except where fdsup itself must look into the
//! asking task (read and write its memory, take its descriptors with
//! `pidfd_getfd`, read `/proc/<tid>/cwd`, `fd/N`, `fdinfo/N`, `ns/*`).
//! Those are fdsup's own looks, and a task that changed its uid is made
//! non-dumpable, which only `CAP_SYS_PTRACE` gets past. Kept for the whole
//! request, the capability was lent to the program too: a sandboxed
//! process that had dropped to `nobody` read the `cwd`, `exe` and `root`
//! links of a root process's `/proc/<pid>` through fdsup, which the kernel
//! refuses it natively.
//!
//! So a worker that carries a program's capabilities without
//! `CAP_SYS_PTRACE` holds it only inside [`with`] (one `capset` to raise,
//! one to lower: only after a credential change, and only around fdsup's
//! own looks), and while the walk is in the asking process's own
//! `/proc/<pid>` ([`for_program`]): natively a process may look into its
//! own threads whatever its credentials (the kernel's `same_thread_group`
//! check comes before any other), which its worker, another process, can
//! only do with the capability. The same holds for `CAP_DAC_READ_SEARCH`,
//! which the `fd` directory of a non-dumpable task needs (root's, mode
//! 0500): the kernel lets the task's own threads in whatever its mode
//! (`proc_fd_permission`). It is raised for fdsup's looks and while the
//! walk is in, or ends on, the program's own `fd` directory; a walk that
//! ends on what a descriptor there reaches ends with neither raised, so a
//! reopen through `/proc/self/fd/N` is decided on the program's
//! credentials alone, as natively (an `O_PATH` descriptor of a file it may
//! not read stays unreadable).
//!
//! A leaf: the task and walk modules use it, and the credential module
//! tells it what a worker carries ([`carrying`]).

use std::cell::Cell;

use rustix::thread::{set_capabilities, CapabilitySet, CapabilitySets};

/// What fdsup needs to look into any task of its sandbox: past the
/// ptrace checks, and into the `/proc/<tid>/fd` directory of a
/// non-dumpable task, which then belongs to root (mode 0500).
const LOOK: CapabilitySet = CapabilitySet::SYS_PTRACE.union(CapabilitySet::DAC_READ_SEARCH);

/// What fdsup's own acts on a task of its sandbox need: looking into it,
/// and raising the signals the kernel would have raised in it (`SIGPIPE`
/// for a send fdsup made: a worker whose effective uid is fdsup's may not
/// signal a task of another uid without `CAP_KILL`).
const ACTS: CapabilitySet = LOOK.union(CapabilitySet::KILL);

/// Where in `/proc` the walk is, for what the program may look at there
/// whatever its credentials ([`for_program`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proc {
    /// Not in its own process's `/proc/<pid>`.
    Elsewhere,
    /// In it: the kernel's ptrace checks let a task through for its own
    /// thread group (`same_thread_group`, before anything else).
    Own,
    /// Its `fd` directory (or a thread's, or `map_files`), or in it:
    /// searched and listed by a task of the group whatever its mode
    /// (`proc_fd_permission`).
    OwnFds,
}

/// What the calling thread's capabilities are as far as this module goes.
#[derive(Debug, Clone, Copy)]
struct State {
    /// The capabilities written for the program, lacking some of [`ACTS`]
    /// that fdsup holds; `None` where nothing is lowered (fdsup's own, or
    /// the program holds all of it, or fdsup none).
    lowered: Option<CapabilitySets>,
    /// What is raised on top of `lowered` now.
    raised: CapabilitySet,
    /// fdsup's effective set.
    full: CapabilitySet,
}

thread_local! {
    static STATE: Cell<State> = const {
        Cell::new(State {
            lowered: None,
            raised: CapabilitySet::empty(),
            full: CapabilitySet::empty(),
        })
    };
}

/// Notes that the calling thread now holds capabilities `caps` (just
/// written, nothing raised), `full` being fdsup's own.
pub fn carrying(caps: CapabilitySets, full: CapabilitySets) {
    let lowered = (!(full.effective & (ACTS - caps.effective)).is_empty()).then_some(caps);
    STATE.with(|s| {
        s.set(State {
            lowered,
            raised: CapabilitySet::empty(),
            full: full.effective,
        });
    });
}

/// Lowers what [`for_program`] left raised: at the start of each request,
/// so that the last one's walk lends nothing.
pub fn settle() {
    set_raised(CapabilitySet::empty());
}

/// Runs `f`, one of fdsup's own acts on a task of the sandbox, with
/// [`ACTS`] where the thread carries a program's capabilities without
/// them. Where they cannot be raised, `f` runs without (and is then
/// refused as the program would be: never more).
pub fn with<T>(f: impl FnOnce() -> T) -> T {
    let s = STATE.with(Cell::get);
    if s.lowered.is_none() || s.raised.contains(ACTS) {
        return f();
    }
    let before = s.raised;
    set_raised(before | ACTS);
    let out = f();
    set_raised(before);
    out
}

/// Where what the walk opens next (or the object it ends on) is: in the
/// asking process's own `/proc/<pid>`, where the program may look whatever
/// its credentials, what it may look with is raised until the walk leaves
/// it, or the next request ([`settle`]).
pub fn for_program(at: Proc) {
    set_raised(match at {
        Proc::Elsewhere => CapabilitySet::empty(),
        Proc::Own => CapabilitySet::SYS_PTRACE,
        Proc::OwnFds => LOOK,
    });
}

/// Whether a program's capabilities are carried without some of [`ACTS`]:
/// only then does the walk need to know where in `/proc` it is.
pub fn lowered() -> bool {
    STATE.with(|s| s.get().lowered.is_some())
}

/// Raises `want` (of fdsup's, beyond the program's) on top of the lowered
/// set, and lowers the rest.
fn set_raised(want: CapabilitySet) {
    STATE.with(|s| {
        let mut st = s.get();
        let Some(caps) = st.lowered else {
            return;
        };
        let want = want & (st.full - caps.effective);
        if st.raised == want {
            return;
        }
        let sets = CapabilitySets {
            effective: caps.effective | want,
            ..caps
        };
        match set_capabilities(None, sets) {
            Ok(()) => st.raised = want,
            Err(_) if want.is_empty() || !(st.raised - want).is_empty() => {
                // Lowering failed: never left with more than the
                // program's, so no effective capability at all.
                let none = CapabilitySets {
                    effective: CapabilitySet::empty(),
                    ..caps
                };
                if set_capabilities(None, none).is_ok() {
                    st.raised = CapabilitySet::empty();
                    st.lowered = Some(none);
                }
            }
            Err(_) => {}
        }
        s.set(st);
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::thread::capabilities;

    #[test]
    fn raised_only_inside_with_and_for_the_programs_own_proc() {
        let Ok(full) = capabilities(None) else {
            return;
        };
        if !full.effective.contains(CapabilitySet::SYS_PTRACE) {
            eprintln!("skipped: not run with CAP_SYS_PTRACE (run the suite as root)");
            return;
        }
        // A thread of its own: capabilities are per thread.
        std::thread::spawn(move || {
            let has = || {
                capabilities(None)
                    .expect("capget")
                    .effective
                    .contains(CapabilitySet::SYS_PTRACE)
            };
            let caps = CapabilitySets {
                effective: full.effective - ACTS,
                ..full
            };
            set_capabilities(None, caps).expect("capset");
            carrying(caps, full);
            assert!(lowered());
            assert!(!has());
            assert!(with(has));
            assert!(!has());
            for_program(Proc::Own);
            assert!(has());
            // Nested: more is raised inside, and put back after.
            assert!(with(has));
            assert!(has());
            for_program(Proc::Elsewhere);
            assert!(!has());
            for_program(Proc::OwnFds);
            settle();
            assert!(!has());
            // Carrying fdsup's own: nothing is lowered or raised.
            set_capabilities(None, full).expect("capset");
            carrying(full, full);
            assert!(!lowered());
            for_program(Proc::Elsewhere);
            assert!(has());
        })
        .join()
        .expect("thread");
    }
}

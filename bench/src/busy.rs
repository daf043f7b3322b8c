//! The CPU regime of a timing run. With `--busy`, every CPU runs a spinner
//! at the lowest priority (`nice -n 19`, the bench itself in the hidden mode
//! `spin`) while the bench times; without it, the bench starts nothing.
//!
//! Why a run must say which: on these virtual machines a wake-up that lands
//! on an idle vCPU costs tens of µs (the guest halts an idle vCPU at once,
//! `haltpoll.guest_halt_poll_ns=0`, and waking it is a round trip through
//! the hypervisor), while a wake-up of a busy one costs a few. A
//! notification round trip is one or two wake-ups and a descriptor install
//! two more (`SECCOMP_IOCTL_NOTIF_ADDFD` wakes the program with a plain
//! wake-up, not the sync one), so the same build gives two sets of figures.
//! Measured with `tar -cf - /usr/include | cat` in visible mode, 9
//! interleaved runs: 2.67x native with the other CPU idle, 1.29x with
//! nice-19 spinners; with the guest's halt polling turned on instead
//! (200 µs), 2.04x.
//!
//! A nice-19 spinner takes little from the workload (a weight of 15 against
//! 1,024) but keeps its vCPU from halting. `SCHED_IDLE` spinners were
//! measured too and are worse (1.62x on the same row): the scheduler counts
//! a CPU that runs only them as idle and sends woken tasks there.

use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The spinners of a `--busy` run; stopped when dropped.
pub struct Spinners(Vec<Child>);

impl Spinners {
    /// One spinner per CPU: `nice -n 19 BENCH spin`.
    pub fn start(bench: &Path) -> Result<Self, String> {
        let cpus = std::thread::available_parallelism().map_or(1, usize::from);
        let mut spinners = Self(Vec::with_capacity(cpus));
        for _ in 0..cpus {
            let child = Command::new("nice")
                .args(["-n", "19"])
                .arg(bench)
                .arg("spin")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| {
                    format!(
                        "--busy: cannot start `nice -n 19 {} spin`: {e}",
                        bench.display()
                    )
                })?;
            spinners.0.push(child);
        }
        // Let them reach their CPUs before the first timing.
        std::thread::sleep(std::time::Duration::from_millis(50));
        Ok(spinners)
    }
}

impl Drop for Spinners {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

/// The hidden mode `spin`: spins until its parent (the bench) is gone, so
/// that a bench killed midway leaves no spinner behind.
pub fn spin() -> std::process::ExitCode {
    let parent = std::os::unix::process::parent_id();
    loop {
        for _ in 0..100_000 {
            std::thread::yield_now();
        }
        if std::os::unix::process::parent_id() != parent {
            return std::process::ExitCode::SUCCESS;
        }
    }
}

/// The report's line on the regime.
pub fn describe(busy: bool) -> String {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if busy {
        format!(
            "CPU regime: busy (--busy: a nice-19 spinner on each of the {cpus} CPUs while timing)"
        )
    } else {
        "CPU regime: as found (the bench started nothing else; see the load average)".to_owned()
    }
}

/// The regime's name in JSON.
pub const fn name(busy: bool) -> &'static str {
    if busy {
        "busy"
    } else {
        "as-found"
    }
}

//! Kernel feature probe: what `fdsup doctor` prints and what `fdsup run`
//! requires before it starts anything.
//!
//! Every feature is probed by trying it, never guessed from the version
//! number: distribution kernels backport, and containers filter system calls.
//! The seccomp features need a filter with a listener, and a filter can never
//! be removed, so those probes run in a forked child that makes raw system
//! calls only and reports what it found in its exit status. The others
//! (`pidfd_open`, `pidfd_getfd`, `openat2`, Landlock) are harmless and run
//! here. The system calls are `sys`'s wrappers (the forked child is
//! `sys::child::seccomp_listener_probe`).
//!
//! Required (DESIGN.md "Kernel", minimum Linux 5.14): `SECCOMP_ADDFD_FLAG_SEND`
//! (inject a descriptor and answer in one step), `pidfd_getfd` (take the
//! listener from the shim) and `openat2` (resolve paths with `RESOLVE_*`).
//! The rest is used when present.

use std::fmt::Write as _;

/// What the running kernel offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Features {
    /// `SECCOMP_ADDFD_FLAG_SEND` (Linux 5.14).
    pub addfd_send: bool,
    /// `SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV` (Linux 5.19).
    pub wait_killable_recv: bool,
    /// `SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP` (Linux 6.6).
    pub sync_wake_up: bool,
    /// `PIDFD_THREAD`: pidfds of single threads (Linux 6.9).
    pub pidfd_thread: bool,
    /// `pidfd_getfd(2)` (Linux 5.6).
    pub pidfd_getfd: bool,
    /// `openat2(2)` (Linux 5.6).
    pub openat2: bool,
    /// The Landlock ABI version, if Landlock is built in and enabled (Linux 5.13).
    pub landlock_abi: Option<u32>,
    /// `uname -r`.
    pub kernel_release: String,
}

/// A required feature the kernel lacks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("kernel lacks {feature} (needs Linux {since} or later; this is {release})")]
pub struct MissingFeature {
    /// The feature's kernel name.
    pub feature: &'static str,
    /// The first Linux version that has it.
    pub since: &'static str,
    /// The running kernel's release.
    pub release: String,
}

/// One line of the report.
struct Row {
    /// The name in SPEC.md's list.
    name: &'static str,
    /// The name in the kernel's headers, for error messages.
    kernel_name: &'static str,
    since: &'static str,
    required: bool,
    /// What fdsup does with it.
    use_: &'static str,
    found: bool,
}

/// Every feature, required ones first (and the newest of those first, so a
/// kernel that lacks several is told the version that has them all).
fn rows(f: &Features) -> [Row; 7] {
    [
        Row {
            name: "ADDFD SEND",
            kernel_name: "SECCOMP_ADDFD_FLAG_SEND",
            since: "5.14",
            required: true,
            use_: "inject an opened descriptor and answer in one step",
            found: f.addfd_send,
        },
        Row {
            name: "pidfd_getfd",
            kernel_name: "pidfd_getfd",
            since: "5.6",
            required: true,
            use_: "take the listener from the shim",
            found: f.pidfd_getfd,
        },
        Row {
            name: "openat2",
            kernel_name: "openat2",
            since: "5.6",
            required: true,
            use_: "resolve paths without escaping through symlinks",
            found: f.openat2,
        },
        Row {
            name: "WAIT_KILLABLE_RECV",
            kernel_name: "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV",
            since: "5.19",
            required: false,
            use_: "signals do not interrupt a request the supervisor holds",
            found: f.wait_killable_recv,
        },
        Row {
            name: "SYNC_WAKE_UP",
            kernel_name: "SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP",
            since: "6.6",
            required: false,
            use_: "faster round trips (program and worker on one CPU)",
            found: f.sync_wake_up,
        },
        Row {
            name: "PIDFD_THREAD",
            kernel_name: "PIDFD_THREAD",
            since: "6.9",
            required: false,
            use_: "pidfds of single threads",
            found: f.pidfd_thread,
        },
        Row {
            name: "Landlock",
            kernel_name: "Landlock",
            since: "5.13",
            required: false,
            use_: "the kernel enforces exec (needed by policies that limit it, @default too)",
            found: f.landlock_abi.is_some(),
        },
    ]
}

/// Probes the running kernel.
pub fn probe() -> Features {
    let seccomp = probes::seccomp_features();
    Features {
        addfd_send: seccomp.addfd_send,
        wait_killable_recv: seccomp.wait_killable_recv,
        sync_wake_up: seccomp.sync_wake_up,
        pidfd_thread: probes::pidfd_thread(),
        pidfd_getfd: probes::pidfd_getfd(),
        openat2: probes::openat2(),
        landlock_abi: crate::landlock::abi().ok().filter(|abi| *abi > 0),
        kernel_release: probes::kernel_release(),
    }
}

/// What `fdsup run` probes before it starts: everything but the seccomp
/// features, which need a forked child here (half a millisecond of start-up)
/// and are found on the run's own listener instead (`supervise`); they are
/// reported as present and checked there.
pub fn probe_without_seccomp() -> Features {
    Features {
        addfd_send: true,
        wait_killable_recv: true,
        sync_wake_up: true,
        pidfd_thread: probes::pidfd_thread(),
        pidfd_getfd: probes::pidfd_getfd(),
        openat2: probes::openat2(),
        landlock_abi: None,
        kernel_release: probes::kernel_release(),
    }
}

/// The error for a missing `SECCOMP_ADDFD_FLAG_SEND`, found on a listener.
pub fn missing_addfd_send(release: &str) -> MissingFeature {
    MissingFeature {
        feature: "SECCOMP_ADDFD_FLAG_SEND",
        since: "5.14",
        release: release.to_owned(),
    }
}

/// The `fdsup doctor` report: one line per feature, then whether fdsup can run.
pub fn report(f: &Features) -> String {
    let mut out = format!("kernel: Linux {}\n", f.kernel_release);
    for row in rows(f) {
        let state = if row.found { "found" } else { "missing" };
        let name = match (row.name, f.landlock_abi) {
            ("Landlock", Some(abi)) => format!("Landlock ABI {abi}"),
            (name, _) => name.to_owned(),
        };
        let need = if row.required { "required" } else { "optional" };
        let since = format!("Linux {}", row.since);
        let _ = writeln!(
            out,
            "{state:<8} {name:<20} {since:<11} {need:<9} {}",
            row.use_
        );
    }
    match require(f) {
        Ok(()) => out.push_str("fdsup can run on this kernel\n"),
        Err(e) => {
            let _ = writeln!(out, "fdsup cannot run: {e}");
        }
    }
    out
}

/// Checks that every required feature is there; the error names the first
/// missing one.
pub fn require(f: &Features) -> Result<(), MissingFeature> {
    match rows(f).into_iter().find(|r| r.required && !r.found) {
        None => Ok(()),
        Some(r) => Err(MissingFeature {
            feature: r.kernel_name,
            since: r.since,
            release: f.kernel_release.clone(),
        }),
    }
}

/// The probes, on `sys`'s wrappers.
mod probes {
    use std::os::fd::{AsFd, AsRawFd};

    use crate::sys;

    /// The seccomp listener features, found in a forked child (none when
    /// the child got no listener).
    pub(super) fn seccomp_features() -> sys::child::ListenerFeatures {
        sys::child::seccomp_listener_probe().unwrap_or_default()
    }

    /// `pidfd_open(gettid(), PIDFD_THREAD)` succeeds (Linux 6.9).
    pub(super) fn pidfd_thread() -> bool {
        sys::pidfd_open(sys::gettid(), sys::PIDFD_THREAD).is_ok()
    }

    /// `pidfd_getfd` of one of our own descriptors succeeds.
    pub(super) fn pidfd_getfd() -> bool {
        let Ok(pid) = i32::try_from(std::process::id()) else {
            return false;
        };
        let Ok(pidfd) = sys::pidfd_open(pid, 0) else {
            return false;
        };
        sys::pidfd_getfd(pidfd.as_fd(), pidfd.as_raw_fd()).is_ok()
    }

    /// `openat2(AT_FDCWD, "/", {O_PATH | O_CLOEXEC})` succeeds.
    pub(super) fn openat2() -> bool {
        let how = sys::OpenHow {
            flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
            mode: 0,
            resolve: 0,
        };
        sys::openat2(libc::AT_FDCWD, c"/", &how).is_ok()
    }

    /// `uname(2)`'s release, e.g. "6.8.0-45-generic".
    pub(super) fn kernel_release() -> String {
        rustix::system::uname()
            .release()
            .to_string_lossy()
            .into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Features {
        Features {
            addfd_send: true,
            wait_killable_recv: true,
            sync_wake_up: true,
            pidfd_thread: true,
            pidfd_getfd: true,
            openat2: true,
            landlock_abi: Some(7),
            kernel_release: "6.9.0-test".to_owned(),
        }
    }

    /// Values from include/uapi/linux/seccomp.h and landlock.h; the ioctl
    /// numbers come from libc and are pinned here because a wrong direction
    /// bit is a classic mistake.
    #[test]
    fn constants_match_the_kernel_headers() {
        assert_eq!(crate::sys::SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP, 1);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_RECV, 0xc050_2100);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_SEND, 0xc018_2101);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_ID_VALID, 0x4008_2102);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_ADDFD, 0x4018_2103);
        assert_eq!(libc::SECCOMP_IOCTL_NOTIF_SET_FLAGS, 0x4008_2104);
        assert_eq!(libc::SECCOMP_FILTER_FLAG_NEW_LISTENER, 1 << 3);
        assert_eq!(libc::SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, 1 << 5);
        assert_eq!(libc::SECCOMP_ADDFD_FLAG_SEND, 1 << 1);
        assert_eq!(libc::SECCOMP_RET_USER_NOTIF, 0x7fc0_0000);
        assert_eq!(libc::PIDFD_THREAD, 0o200); // O_EXCL on x86_64
    }

    #[test]
    fn require_names_the_missing_feature() {
        assert_eq!(require(&all()), Ok(()));
        let optional_missing = Features {
            wait_killable_recv: false,
            sync_wake_up: false,
            pidfd_thread: false,
            landlock_abi: None,
            ..all()
        };
        assert_eq!(require(&optional_missing), Ok(()));

        let e = require(&Features {
            addfd_send: false,
            ..all()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "kernel lacks SECCOMP_ADDFD_FLAG_SEND (needs Linux 5.14 or later; this is 6.9.0-test)"
        );
        let e = require(&Features {
            pidfd_getfd: false,
            ..all()
        })
        .unwrap_err();
        assert_eq!((e.feature, e.since), ("pidfd_getfd", "5.6"));
        let e = require(&Features {
            openat2: false,
            ..all()
        })
        .unwrap_err();
        assert_eq!((e.feature, e.since), ("openat2", "5.6"));
        // An old kernel lacking everything is told the newest version needed.
        let old = Features {
            addfd_send: false,
            pidfd_getfd: false,
            openat2: false,
            kernel_release: "5.4.0".to_owned(),
            ..optional_missing
        };
        assert_eq!(require(&old).unwrap_err().since, "5.14");
    }

    #[test]
    fn report_has_one_line_per_feature_and_a_verdict() {
        let text = report(&all());
        assert_eq!(text.lines().count(), 1 + 7 + 1, "{text}");
        assert!(text.starts_with("kernel: Linux 6.9.0-test\n"), "{text}");
        for name in [
            "ADDFD SEND",
            "WAIT_KILLABLE_RECV",
            "SYNC_WAKE_UP",
            "PIDFD_THREAD",
        ] {
            assert!(
                text.lines()
                    .any(|l| l.starts_with("found") && l.contains(name)),
                "{text}"
            );
        }
        assert!(text.contains("Landlock ABI 7"), "{text}");
        assert!(
            text.contains("Linux 5.19") && text.contains("Linux 6.6"),
            "{text}"
        );
        assert!(text.ends_with("fdsup can run on this kernel\n"), "{text}");

        let text = report(&Features {
            openat2: false,
            landlock_abi: None,
            ..all()
        });
        assert!(
            text.lines()
                .any(|l| l.starts_with("missing") && l.contains("openat2")),
            "{text}"
        );
        assert!(
            text.lines()
                .any(|l| l.starts_with("missing") && l.contains("Landlock")),
            "{text}"
        );
        assert!(text.ends_with("fdsup cannot run: kernel lacks openat2 (needs Linux 5.6 or later; this is 6.9.0-test)\n"), "{text}");
    }

    /// The real probe on the running kernel. Runs the seccomp part in a
    /// forked child, so the test runner stays unfiltered.
    #[test]
    fn probe_finds_what_this_kernel_has() {
        let filters = || {
            let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
            status
                .lines()
                .find(|l| l.starts_with("Seccomp_filters:"))
                .map(str::to_owned)
        };
        let before = filters();
        let f = probe();
        assert_eq!(
            filters(),
            before,
            "the probe must not filter the test runner"
        );
        eprintln!("{}", report(&f));
        assert!(!f.kernel_release.is_empty() && f.kernel_release != "unknown");
        let require_kernel = std::env::var_os("FDSUP_REQUIRE_KERNEL").is_some_and(|v| v == "1");
        if require_kernel {
            assert_eq!(require(&f), Ok(()));
        }
        // The ordering of kernel versions: nothing newer without the older.
        if f.sync_wake_up {
            assert!(f.addfd_send && f.wait_killable_recv, "{f:?}");
        }
    }
}

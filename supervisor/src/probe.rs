//! Kernel features that decide how a run is set up, probed by trying them
//! (never guessed from the version: distributions backport, containers
//! filter), for the modules that need them without depending on each
//! other: [`crate::landlock`] plans exec with [`memfd_noexec_seal`], and
//! the memfd handler relies on what it found.

use rustix::fs::{memfd_create, MemfdFlags};

/// Whether the kernel makes non-executable memfds (`MFD_NOEXEC_SEAL`,
/// Linux 6.3).
pub fn memfd_noexec_seal() -> bool {
    memfd_create(
        c"fdsup-probe",
        MemfdFlags::CLOEXEC | MemfdFlags::NOEXEC_SEAL,
    )
    .is_ok()
}

#[cfg(test)]
mod tests {
    /// Linux 6.3 and later have it (this test machine runs 6.18; on an older
    /// kernel the probe must say no rather than fail).
    #[test]
    fn memfd_noexec_seal_matches_the_kernel() {
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
        let mut v = release
            .trim()
            .split(['.', '-'])
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        if (major, minor) >= (6, 3) {
            assert!(super::memfd_noexec_seal(), "Linux {release}");
        }
    }
}

//! The one table of mediated system calls.
//!
//! Both the BPF compiler ([`crate::filter`]) and the dispatcher
//! ([`crate::handlers`]) read this table, so a syscall is either trapped *and*
//! handled, or neither; `tests` below and in `filter` check that they agree.
//! Keep it sorted by name. Only syscalls whose arguments need a decision are
//! here: every entry costs a round trip to the supervisor.

/// What the dispatcher does with a mediated syscall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `access(path, mode)`
    Access,
    /// `creat(path, mode)`
    Creat,
    /// `execve(path, argv, envp)`: trapped only when exec is mediated
    /// (`filter::FilterOptions::mediate_exec`).
    Execve,
    /// `execveat(dirfd, path, argv, envp, flags)`: likewise.
    Execveat,
    /// `faccessat(dirfd, path, mode)`
    Faccessat,
    /// `faccessat2(dirfd, path, mode, flags)`
    Faccessat2,
    /// `link(old, new)`
    Link,
    /// `linkat(olddirfd, old, newdirfd, new, flags)`
    Linkat,
    /// `memfd_create(name, flags)`: trapped only when memfds are brokered
    /// (`filter::FilterOptions::broker_memfd`).
    MemfdCreate,
    /// `open(path, flags, mode)`
    Open,
    /// `openat(dirfd, path, flags, mode)`
    Openat,
    /// `openat2(dirfd, path, how, size)`
    Openat2,
    /// `rename(old, new)`
    Rename,
    /// `renameat(olddirfd, old, newdirfd, new)`
    Renameat,
    /// `renameat2(olddirfd, old, newdirfd, new, flags)`
    Renameat2,
}

/// One mediated syscall: its x86_64 number, its name (as in the audit log)
/// and how it is handled.
#[derive(Debug, Clone, Copy)]
pub struct Mediated {
    /// The x86_64 system-call number.
    pub nr: i64,
    /// The name written in the audit log.
    pub name: &'static str,
    /// The handler family.
    pub kind: Kind,
}

/// Every syscall the notify filter traps, sorted by name.
#[rustfmt::skip]
pub const MEDIATED: &[Mediated] = &[
    Mediated { nr: libc::SYS_access, name: "access", kind: Kind::Access },
    Mediated { nr: libc::SYS_creat, name: "creat", kind: Kind::Creat },
    Mediated { nr: libc::SYS_execve, name: "execve", kind: Kind::Execve },
    Mediated { nr: libc::SYS_execveat, name: "execveat", kind: Kind::Execveat },
    Mediated { nr: libc::SYS_faccessat, name: "faccessat", kind: Kind::Faccessat },
    Mediated { nr: libc::SYS_faccessat2, name: "faccessat2", kind: Kind::Faccessat2 },
    Mediated { nr: libc::SYS_link, name: "link", kind: Kind::Link },
    Mediated { nr: libc::SYS_linkat, name: "linkat", kind: Kind::Linkat },
    Mediated { nr: libc::SYS_memfd_create, name: "memfd_create", kind: Kind::MemfdCreate },
    Mediated { nr: libc::SYS_open, name: "open", kind: Kind::Open },
    Mediated { nr: libc::SYS_openat, name: "openat", kind: Kind::Openat },
    Mediated { nr: libc::SYS_openat2, name: "openat2", kind: Kind::Openat2 },
    Mediated { nr: libc::SYS_rename, name: "rename", kind: Kind::Rename },
    Mediated { nr: libc::SYS_renameat, name: "renameat", kind: Kind::Renameat },
    Mediated { nr: libc::SYS_renameat2, name: "renameat2", kind: Kind::Renameat2 },
];

/// The table entry for a syscall number, if it is mediated.
#[inline]
pub fn lookup(nr: i32) -> Option<&'static Mediated> {
    MEDIATED.iter().find(|m| m.nr == i64::from(nr))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_unique() {
        for w in MEDIATED.windows(2) {
            assert!(w[0].name < w[1].name, "{} before {}", w[0].name, w[1].name);
        }
        let mut nrs: Vec<i64> = MEDIATED.iter().map(|m| m.nr).collect();
        nrs.sort_unstable();
        nrs.dedup();
        assert_eq!(nrs.len(), MEDIATED.len());
    }

    /// Every handler family the dispatcher knows has its syscall in the
    /// table (and so in the filter): a handler can never be written and left
    /// unreachable.
    #[test]
    fn every_kind_is_in_the_table() {
        use Kind::*;
        let all = [
            Access, Creat, Faccessat, Faccessat2, Link, Linkat, Open, Openat, Openat2, Rename,
            Renameat, Renameat2,
        ];
        let exec = [Execve, Execveat, MemfdCreate];
        for k in all.into_iter().chain(exec) {
            // A new variant must be added to `all` (the match is exhaustive).
            match k {
                Access | Creat | Faccessat | Faccessat2 | Link | Linkat | Open | Openat
                | Openat2 | Rename | Renameat | Renameat2 => {}
                Execve | Execveat | MemfdCreate => {}
            }
            assert!(
                MEDIATED.iter().any(|m| m.kind == k),
                "{k:?} is not in MEDIATED"
            );
        }
    }

    #[test]
    fn lookup_finds_every_entry() {
        for m in MEDIATED {
            let nr = i32::try_from(m.nr).expect("x86_64 syscall numbers fit in i32");
            assert_eq!(lookup(nr).map(|e| e.kind), Some(m.kind));
        }
        assert!(lookup(i32::try_from(libc::SYS_read).expect("fits")).is_none());
    }
}

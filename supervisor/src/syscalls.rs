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
    /// `bind(fd, addr, len)`
    Bind,
    /// `chdir(path)`
    Chdir,
    /// `chmod(path, mode)`
    Chmod,
    /// `chown(path, uid, gid)`
    Chown,
    /// `connect(fd, addr, len)`
    Connect,
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
    /// `fchdir(fd)`
    Fchdir,
    /// `fchmod(fd, mode)`
    Fchmod,
    /// `fchmodat(dirfd, path, mode)`
    Fchmodat,
    /// `fchmodat2(dirfd, path, mode, flags)`
    Fchmodat2,
    /// `fchown(fd, uid, gid)`
    Fchown,
    /// `fchownat(dirfd, path, uid, gid, flags)`
    Fchownat,
    /// `fremovexattr(fd, name)`
    Fremovexattr,
    /// `fsetxattr(fd, name, value, size, flags)`
    Fsetxattr,
    /// `futimesat(dirfd, path, times)`
    Futimesat,
    /// `getdents(fd, dirp, count)`
    Getdents,
    /// `getdents64(fd, dirp, count)`
    Getdents64,
    /// `getxattr(path, name, value, size)`
    Getxattr,
    /// `inotify_add_watch(fd, path, mask)`
    InotifyAddWatch,
    /// `ioctl(fd, request, arg)`: trapped only for the requests that change
    /// the inode behind the descriptor ([`SETATTR_IOCTLS`]).
    Ioctl,
    /// `lchown(path, uid, gid)`
    Lchown,
    /// `lgetxattr(path, name, value, size)`
    Lgetxattr,
    /// `link(old, new)`
    Link,
    /// `linkat(olddirfd, old, newdirfd, new, flags)`
    Linkat,
    /// `listxattr(path, list, size)`
    Listxattr,
    /// `llistxattr(path, list, size)`
    Llistxattr,
    /// `lremovexattr(path, name)`
    Lremovexattr,
    /// `lsetxattr(path, name, value, size, flags)`
    Lsetxattr,
    /// `lstat(path, buf)`
    Lstat,
    /// `setuid` and the other calls that change credentials (`setgid`,
    /// `setreuid`, `setregid`, `setresuid`, `setresgid`, `setfsuid`,
    /// `setfsgid`, `setgroups`, `capset`, and `prctl` for
    /// `PR_CAPBSET_DROP` and `PR_SET_SECUREBITS`, which lower what the next
    /// exec grants): trapped only where fdsup holds capabilities, noted and
    /// let through ([`crate::creds`]).
    Creds,
    /// `memfd_create(name, flags)`: trapped only when memfds are brokered
    /// (`filter::FilterOptions::broker_memfd`).
    MemfdCreate,
    /// `mkdir(path, mode)`
    Mkdir,
    /// `mkdirat(dirfd, path, mode)`
    Mkdirat,
    /// `mknod(path, mode, dev)`
    Mknod,
    /// `mknodat(dirfd, path, mode, dev)`
    Mknodat,
    /// `newfstatat(dirfd, path, buf, flags)`
    Newfstatat,
    /// `open(path, flags, mode)`
    Open,
    /// `openat(dirfd, path, flags, mode)`
    Openat,
    /// `openat2(dirfd, path, how, size)`
    Openat2,
    /// `readlink(path, buf, size)`
    Readlink,
    /// `readlinkat(dirfd, path, buf, size)`
    Readlinkat,
    /// `removexattr(path, name)`
    Removexattr,
    /// `rename(old, new)`
    Rename,
    /// `renameat(olddirfd, old, newdirfd, new)`
    Renameat,
    /// `renameat2(olddirfd, old, newdirfd, new, flags)`
    Renameat2,
    /// `rmdir(path)`
    Rmdir,
    /// `sendmmsg(fd, msgvec, vlen, flags)`
    Sendmmsg,
    /// `sendmsg(fd, msg, flags)`
    Sendmsg,
    /// `sendto(fd, buf, len, flags, addr, addrlen)`: trapped only with an address
    Sendto,
    /// `setxattr(path, name, value, size, flags)`
    Setxattr,
    /// `stat(path, buf)`
    Stat,
    /// `statfs(path, buf)`
    Statfs,
    /// `statx(dirfd, path, flags, mask, buf)`
    Statx,
    /// `symlink(target, path)`
    Symlink,
    /// `symlinkat(target, dirfd, path)`
    Symlinkat,
    /// `truncate(path, length)`
    Truncate,
    /// `unlink(path)`
    Unlink,
    /// `unlinkat(dirfd, path, flags)`
    Unlinkat,
    /// `utime(path, times)`
    Utime,
    /// `utimensat(dirfd, path, times, flags)`
    Utimensat,
    /// `utimes(path, times)`
    Utimes,
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
    Mediated { nr: libc::SYS_bind, name: "bind", kind: Kind::Bind },
    Mediated { nr: libc::SYS_capset, name: "capset", kind: Kind::Creds },
    Mediated { nr: libc::SYS_chdir, name: "chdir", kind: Kind::Chdir },
    Mediated { nr: libc::SYS_chmod, name: "chmod", kind: Kind::Chmod },
    Mediated { nr: libc::SYS_chown, name: "chown", kind: Kind::Chown },
    Mediated { nr: libc::SYS_connect, name: "connect", kind: Kind::Connect },
    Mediated { nr: libc::SYS_creat, name: "creat", kind: Kind::Creat },
    Mediated { nr: libc::SYS_execve, name: "execve", kind: Kind::Execve },
    Mediated { nr: libc::SYS_execveat, name: "execveat", kind: Kind::Execveat },
    Mediated { nr: libc::SYS_faccessat, name: "faccessat", kind: Kind::Faccessat },
    Mediated { nr: libc::SYS_faccessat2, name: "faccessat2", kind: Kind::Faccessat2 },
    Mediated { nr: libc::SYS_fchdir, name: "fchdir", kind: Kind::Fchdir },
    Mediated { nr: libc::SYS_fchmod, name: "fchmod", kind: Kind::Fchmod },
    Mediated { nr: libc::SYS_fchmodat, name: "fchmodat", kind: Kind::Fchmodat },
    Mediated { nr: libc::SYS_fchmodat2, name: "fchmodat2", kind: Kind::Fchmodat2 },
    Mediated { nr: libc::SYS_fchown, name: "fchown", kind: Kind::Fchown },
    Mediated { nr: libc::SYS_fchownat, name: "fchownat", kind: Kind::Fchownat },
    Mediated { nr: libc::SYS_fremovexattr, name: "fremovexattr", kind: Kind::Fremovexattr },
    Mediated { nr: libc::SYS_fsetxattr, name: "fsetxattr", kind: Kind::Fsetxattr },
    Mediated { nr: libc::SYS_futimesat, name: "futimesat", kind: Kind::Futimesat },
    Mediated { nr: libc::SYS_getdents, name: "getdents", kind: Kind::Getdents },
    Mediated { nr: libc::SYS_getdents64, name: "getdents64", kind: Kind::Getdents64 },
    Mediated { nr: libc::SYS_getxattr, name: "getxattr", kind: Kind::Getxattr },
    Mediated { nr: libc::SYS_inotify_add_watch, name: "inotify_add_watch", kind: Kind::InotifyAddWatch },
    Mediated { nr: libc::SYS_ioctl, name: "ioctl", kind: Kind::Ioctl },
    Mediated { nr: libc::SYS_lchown, name: "lchown", kind: Kind::Lchown },
    Mediated { nr: libc::SYS_lgetxattr, name: "lgetxattr", kind: Kind::Lgetxattr },
    Mediated { nr: libc::SYS_link, name: "link", kind: Kind::Link },
    Mediated { nr: libc::SYS_linkat, name: "linkat", kind: Kind::Linkat },
    Mediated { nr: libc::SYS_listxattr, name: "listxattr", kind: Kind::Listxattr },
    Mediated { nr: libc::SYS_llistxattr, name: "llistxattr", kind: Kind::Llistxattr },
    Mediated { nr: libc::SYS_lremovexattr, name: "lremovexattr", kind: Kind::Lremovexattr },
    Mediated { nr: libc::SYS_lsetxattr, name: "lsetxattr", kind: Kind::Lsetxattr },
    Mediated { nr: libc::SYS_lstat, name: "lstat", kind: Kind::Lstat },
    Mediated { nr: libc::SYS_memfd_create, name: "memfd_create", kind: Kind::MemfdCreate },
    Mediated { nr: libc::SYS_mkdir, name: "mkdir", kind: Kind::Mkdir },
    Mediated { nr: libc::SYS_mkdirat, name: "mkdirat", kind: Kind::Mkdirat },
    Mediated { nr: libc::SYS_mknod, name: "mknod", kind: Kind::Mknod },
    Mediated { nr: libc::SYS_mknodat, name: "mknodat", kind: Kind::Mknodat },
    Mediated { nr: libc::SYS_newfstatat, name: "newfstatat", kind: Kind::Newfstatat },
    Mediated { nr: libc::SYS_open, name: "open", kind: Kind::Open },
    Mediated { nr: libc::SYS_openat, name: "openat", kind: Kind::Openat },
    Mediated { nr: libc::SYS_openat2, name: "openat2", kind: Kind::Openat2 },
    Mediated { nr: libc::SYS_prctl, name: "prctl", kind: Kind::Creds },
    Mediated { nr: libc::SYS_readlink, name: "readlink", kind: Kind::Readlink },
    Mediated { nr: libc::SYS_readlinkat, name: "readlinkat", kind: Kind::Readlinkat },
    Mediated { nr: libc::SYS_removexattr, name: "removexattr", kind: Kind::Removexattr },
    Mediated { nr: libc::SYS_rename, name: "rename", kind: Kind::Rename },
    Mediated { nr: libc::SYS_renameat, name: "renameat", kind: Kind::Renameat },
    Mediated { nr: libc::SYS_renameat2, name: "renameat2", kind: Kind::Renameat2 },
    Mediated { nr: libc::SYS_rmdir, name: "rmdir", kind: Kind::Rmdir },
    Mediated { nr: libc::SYS_sendmmsg, name: "sendmmsg", kind: Kind::Sendmmsg },
    Mediated { nr: libc::SYS_sendmsg, name: "sendmsg", kind: Kind::Sendmsg },
    Mediated { nr: libc::SYS_sendto, name: "sendto", kind: Kind::Sendto },
    Mediated { nr: libc::SYS_setfsgid, name: "setfsgid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setfsuid, name: "setfsuid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setgid, name: "setgid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setgroups, name: "setgroups", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setregid, name: "setregid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setresgid, name: "setresgid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setresuid, name: "setresuid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setreuid, name: "setreuid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setuid, name: "setuid", kind: Kind::Creds },
    Mediated { nr: libc::SYS_setxattr, name: "setxattr", kind: Kind::Setxattr },
    Mediated { nr: libc::SYS_stat, name: "stat", kind: Kind::Stat },
    Mediated { nr: libc::SYS_statfs, name: "statfs", kind: Kind::Statfs },
    Mediated { nr: libc::SYS_statx, name: "statx", kind: Kind::Statx },
    Mediated { nr: libc::SYS_symlink, name: "symlink", kind: Kind::Symlink },
    Mediated { nr: libc::SYS_symlinkat, name: "symlinkat", kind: Kind::Symlinkat },
    Mediated { nr: libc::SYS_truncate, name: "truncate", kind: Kind::Truncate },
    Mediated { nr: libc::SYS_unlink, name: "unlink", kind: Kind::Unlink },
    Mediated { nr: libc::SYS_unlinkat, name: "unlinkat", kind: Kind::Unlinkat },
    Mediated { nr: libc::SYS_utime, name: "utime", kind: Kind::Utime },
    Mediated { nr: libc::SYS_utimensat, name: "utimensat", kind: Kind::Utimensat },
    Mediated { nr: libc::SYS_utimes, name: "utimes", kind: Kind::Utimes },
];

/// The `ioctl` requests that change the inode behind a descriptor, one
/// opened read-only included (the kernel asks for ownership, not for a
/// writable descriptor: `vfs_fileattr_set`, `ext4_ioctl_setversion`):
/// `chattr`'s `FS_IOC_SETFLAGS` and `FS_IOC_FSSETXATTR`, and ext4's
/// generation number (`FS_IOC_SETVERSION` and its older number). Each
/// reads from `arg` the bytes given here (an `int` for the `long` ones).
/// Without them trapped, a program set the append-only or immutable flag
/// (as root) or `noatime` and `nodump` (as the owner), or the generation,
/// of a `ro` file through the descriptor it was allowed to read it by.
pub const SETATTR_IOCTLS: [(u32, usize); 4] = [
    // FS_IOC_SETFLAGS, _IOW('f', 2, long)
    (0x4008_6602, 4),
    // FS_IOC_FSSETXATTR, _IOW('X', 32, struct fsxattr)
    (0x401c_5820, 28),
    // FS_IOC_SETVERSION, _IOW('v', 2, long)
    (0x4008_7602, 4),
    // EXT4_IOC_SETVERSION_OLD, _IOW('f', 4, long)
    (0x4008_6604, 4),
];

/// Whether a mediated syscall is a network request: trapped only when the
/// policy's network section has rules or isolates (a section that is just a
/// `default` is enforced by the deny filter at `socket()`, with no round
/// trip); see [`crate::filter::FilterOptions::mediate_network`].
pub fn is_network(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Bind | Kind::Connect | Kind::Sendmmsg | Kind::Sendmsg | Kind::Sendto
    )
}

/// Whether a mediated syscall is a look at a path (SPEC.md, `metadata`):
/// `stat` and its forms, `access`, `readlink`, `statfs`, `chdir` and the
/// listings. Under `"metadata": "visible"` these are left to the kernel (see
/// [`crate::filter::FilterOptions::native_looks`]); every open, change, exec
/// and network call stays trapped.
///
/// The extended-attribute reads (`getxattr`, `listxattr` and their `l`
/// forms) are not looks here, although `ls -l` makes them: SPEC.md makes
/// visible the metadata it names (type, size, times, owner, mode, link
/// targets), and an attribute's value is data the file's owner writes
/// (`user.*` holds up to 64 KiB of anything), so it stays behind the rules
/// like the file's contents. Nor is `inotify_add_watch`: a watch reports
/// the names of entries made later, a listing that never ends.
pub fn is_look(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Access
            | Kind::Chdir
            | Kind::Faccessat
            | Kind::Faccessat2
            | Kind::Fchdir
            | Kind::Getdents
            | Kind::Getdents64
            | Kind::Lstat
            | Kind::Newfstatat
            | Kind::Readlink
            | Kind::Readlinkat
            | Kind::Stat
            | Kind::Statfs
            | Kind::Statx
    )
}

/// Syscall numbers below this are looked up by index (x86_64's are all
/// below 512).
const INDEXED: usize = 512;
/// No entry in [`BY_NR`].
const NONE: u8 = u8::MAX;

/// [`MEDIATED`]'s index for each syscall number, built at compile time, so
/// that finding a notification's handler is one load, not a scan of the
/// table on every request.
#[allow(clippy::cast_possible_wrap)]
const BY_NR: [u8; INDEXED] = {
    assert!(MEDIATED.len() < NONE as usize);
    let mut t = [NONE; INDEXED];
    let mut i = 0;
    while i < MEDIATED.len() {
        let nr = MEDIATED[i].nr;
        assert!(nr >= 0 && nr < INDEXED as i64);
        // Both casts are in range: checked just above and at the top.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        {
            t[nr as usize] = i as u8;
        }
        i += 1;
    }
    t
};

/// The table entry for a syscall number, if it is mediated.
#[inline]
pub fn lookup(nr: i32) -> Option<&'static Mediated> {
    let i = *BY_NR.get(usize::try_from(nr).ok()?)?;
    MEDIATED.get(usize::from(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_finds_every_entry_and_nothing_else() {
        for m in MEDIATED {
            let nr = i32::try_from(m.nr).unwrap();
            assert_eq!(lookup(nr).map(|f| f.name), Some(m.name));
        }
        let mediated = |nr: i32| MEDIATED.iter().any(|m| m.nr == i64::from(nr));
        for nr in -1..1024 {
            assert_eq!(lookup(nr).is_some(), mediated(nr), "syscall {nr}");
        }
        assert!(lookup(i32::MIN).is_none() && lookup(i32::MAX).is_none());
    }

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
            Access,
            Bind,
            Chdir,
            Chmod,
            Chown,
            Connect,
            Creat,
            Faccessat,
            Faccessat2,
            Fchdir,
            Fchmod,
            Fchmodat,
            Fchmodat2,
            Fchown,
            Fchownat,
            Fremovexattr,
            Fsetxattr,
            Futimesat,
            Getdents,
            Getdents64,
            Getxattr,
            InotifyAddWatch,
            Ioctl,
            Lchown,
            Lgetxattr,
            Link,
            Linkat,
            Listxattr,
            Llistxattr,
            Lremovexattr,
            Lsetxattr,
            Lstat,
            Mkdir,
            Mkdirat,
            Mknod,
            Mknodat,
            Newfstatat,
            Open,
            Openat,
            Openat2,
            Readlink,
            Readlinkat,
            Removexattr,
            Rename,
            Renameat,
            Renameat2,
            Rmdir,
            Sendmmsg,
            Sendmsg,
            Sendto,
            Setxattr,
            Stat,
            Statfs,
            Statx,
            Symlink,
            Symlinkat,
            Truncate,
            Unlink,
            Unlinkat,
            Utime,
            Utimensat,
            Utimes,
        ];
        let exec = [Execve, Execveat, MemfdCreate, Creds];
        for k in all.into_iter().chain(exec) {
            // A new variant must be added to `all` (the match is exhaustive).
            match k {
                Access | Bind | Connect | Sendmmsg | Sendmsg | Sendto | Chdir | Chmod | Chown
                | Creat | Faccessat | Faccessat2 | Fchdir | Fchmod | Fchmodat | Fchmodat2
                | Fchown | Fchownat | Fremovexattr | Fsetxattr | Futimesat | Getdents
                | Getdents64 | Getxattr | InotifyAddWatch | Ioctl | Lchown | Lgetxattr | Link
                | Linkat | Listxattr | Llistxattr | Lremovexattr | Lsetxattr | Lstat | Mkdir
                | Mkdirat | Mknod | Mknodat | Newfstatat | Open | Openat | Openat2 | Readlink
                | Readlinkat | Removexattr | Rename | Renameat | Renameat2 | Rmdir | Setxattr
                | Stat | Statfs | Statx | Symlink | Symlinkat | Truncate | Unlink | Unlinkat
                | Utime | Utimensat | Utimes => {}
                Execve | Execveat | MemfdCreate | Creds => {}
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

//! `memfd_create`: brokered where the exec default is `deny`.
//!
//! A memfd has no path, so SPEC.md lets its exec follow the exec section's
//! `default`; and Landlock does not cover it (memfds live on an internal
//! mount), so a ruleset cannot refuse it. A program that could make an
//! executable memfd could then run anything it can write, through
//! `execveat(fd, "", AT_EMPTY_PATH)` or, racing the exec check,
//! `/proc/self/fd/N`. So where the default is `deny`, the supervisor makes
//! every memfd of the program itself, with the program's name and flags plus
//! `MFD_NOEXEC_SEAL` (Linux 6.3: no execute bits, sealed so that they cannot
//! be added back), and injects it; an explicit `MFD_EXEC` fails with EACCES.
//! This is the kernel's own `vm.memfd_noexec = 2`, for the sandbox only.
//! On a kernel without `MFD_NOEXEC_SEAL`, `memfd_create` fails with ENOSYS
//! (programs fall back as on an old kernel) rather than make an executable
//! memfd.

use std::ffi::CStr;

use super::{Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::limits::MEMFD_NAME_BYTES;
use crate::syscalls::Mediated;
use rustix::fs::{memfd_create, MemfdFlags};
use rustix::io::Errno;

/// Handles one `memfd_create` notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let flags = crate::sys::low_i32(a[1]).cast_unsigned();
    let buf = &mut sc.raw[..=MEMFD_NAME_BYTES];
    let len = match p.read_cstr(a[0], buf) {
        Ok(l) => l,
        // Longer than the kernel takes: EINVAL.
        Err(e) => return e.reply(libc::EINVAL),
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let Ok(name) = CStr::from_bytes_with_nul(&sc.raw[..=len]) else {
        return Reply::Errno(libc::EINVAL);
    };
    sc.lex.clear();
    sc.lex.extend_from_slice(b"memfd:");
    sc.lex.extend_from_slice(name.to_bytes());
    let shown = sc.lex.as_slice();
    let log = |verdict: Verdict, errno: Option<i32>, line: &mut Vec<u8>| {
        Log::new(ctx, m.name, p.tid(), line).write_name(shown, verdict, errno);
    };
    if flags & libc::MFD_EXEC != 0 {
        // An executable memfd, asked for by name: the exec default denies it.
        log(Verdict::Deny, Some(libc::EACCES), &mut sc.line);
        return Reply::Errno(libc::EACCES);
    }
    if !ctx.exec.memfd_noexec_seal {
        return Reply::Errno(libc::ENOSYS);
    }
    let ours = MemfdFlags::from_bits_retain(flags | libc::MFD_NOEXEC_SEAL | libc::MFD_CLOEXEC);
    match memfd_create(name, ours) {
        Ok(fd) => {
            log(Verdict::Allow, None, &mut sc.line);
            Reply::Fd {
                fd,
                cloexec: flags & libc::MFD_CLOEXEC != 0,
            }
        }
        Err(e) => Reply::Errno(e.raw_os_error()),
    }
}

/// A sealable memfd for a `content` rule that can never be executed: made
/// with `MFD_NOEXEC_SEAL` where the kernel has it, else made without execute
/// bits (the best an older kernel allows). A `content` path is never
/// executable (see [`crate::landlock`]), and Landlock does not cover memfds.
pub fn sealable_noexec(name: &CStr) -> std::io::Result<std::os::fd::OwnedFd> {
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    match memfd_create(
        name,
        MemfdFlags::from_bits_retain(flags | libc::MFD_NOEXEC_SEAL),
    ) {
        Ok(fd) => Ok(fd),
        Err(Errno::INVAL) => {
            let fd = crate::sys::memfd_sealable(name)?;
            rustix::fs::fchmod(&fd, rustix::fs::Mode::from_bits_truncate(0o644))?;
            Ok(fd)
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{fl, Run};
    use std::os::fd::AsFd;

    #[test]
    fn memfds_are_never_executable() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let name = p.put_cstr(b"scratch");
        let create =
            |r: &mut Run, p: &mut crate::handlers::testing::Fake, name: u64, flags: u32| {
                r.call(p, libc::SYS_memfd_create, &[name, u64::from(flags)])
            };
        // Asked to be executable: the exec default refuses it, logged.
        let got = create(&mut r, &mut p, name, libc::MFD_EXEC);
        assert!(matches!(got, Reply::Errno(libc::EACCES)), "{got:?}");
        let line = r.last_log();
        assert!(
            line.contains(r#""syscall":"memfd_create","path":"memfd:scratch","decision":"deny""#),
            "{line}"
        );
        // A name longer than the kernel takes; one that cannot be read.
        let long = p.put_cstr(&[b'n'; MEMFD_NAME_BYTES + 1]);
        let got = create(&mut r, &mut p, long, 0);
        assert!(matches!(got, Reply::Errno(libc::EINVAL)), "{got:?}");
        let got = create(&mut r, &mut p, 8, 0);
        assert!(matches!(got, Reply::Errno(libc::EFAULT)), "{got:?}");
        if !r.ctx.exec.memfd_noexec_seal {
            return;
        }
        // Otherwise made sealed against exec, close-on-exec as asked.
        match create(&mut r, &mut p, name, libc::MFD_CLOEXEC) {
            Reply::Fd { fd, cloexec } => {
                assert!(cloexec);
                assert_eq!(fl(fd.as_fd()) & libc::O_ACCMODE, libc::O_RDWR);
                let seals = rustix::fs::fcntl_get_seals(&fd).unwrap().bits();
                let exec = u32::try_from(libc::F_SEAL_EXEC).unwrap();
                assert_ne!(seals & exec, 0, "{seals:#x}");
            }
            other => panic!("{other:?}"),
        }
        assert!(r
            .last_log()
            .contains(r#""path":"memfd:scratch","decision":"allow""#));
        p.die();
        let got = create(&mut r, &mut p, name, 0);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }
}

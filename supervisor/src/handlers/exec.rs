//! `execve`, `execveat`: decided for the audit log and a clear errno; the
//! kernel enforces the decision itself.
//!
//! Exec cannot be emulated: the kernel must run it, and it reads the path
//! (and follows links) again after any check of ours. So this handler is
//! not what keeps a denied program from running: the Landlock ruleset the
//! shim installed is ([`crate::landlock`]). Landlock checks the very file
//! the kernel opens for execution, so a path swapped after our decision (a
//! racing thread rewriting the buffer, a symbolic link replaced) is still
//! refused if the policy refuses it. That is why an allowed exec is
//! answered with `CONTINUE` ([`Reply::Continue`]): it carries out no
//! decision about what was read, the kernel re-decides it.
//!
//! The handler reads the path once, resolves it with the careful walk (the
//! final symbolic link followed unless `AT_SYMLINK_NOFOLLOW`; `execveat`
//! with `AT_EMPTY_PATH` decides on what the descriptor refers to), checks
//! `ID_VALID`, and decides as the ruleset does: the file system must allow
//! reading the file (`hide` answers ENOENT, `deny`, `content` and
//! `redirect` EACCES), then the exec section decides (EACCES). Without a
//! path: a memfd follows the exec `default`; a deleted file is decided on
//! the path it had (Landlock checks the directory it was in); a pipe or a
//! socket cannot be executed (EACCES, as the kernel says).
//!
//! Exec is trapped only when the policy leaves something not executable
//! ([`crate::landlock::needs_ruleset`]); under `@allow-all` it costs no
//! round trip.

use std::os::fd::{AsFd, BorrowedFd};

use super::link::read_arg;
use super::{decide, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::walk::{walk, Asker, Start, Walked};
use crate::fs::Root;
use crate::landlock::{readable, ExecOutcome};
use crate::policy::{ExecAccess, FsAccess, FsAction, Origin};
use crate::sys;
use crate::syscalls::{Kind, Mediated};

/// What `execveat` accepts in `flags` (include/uapi/linux/fcntl.h;
/// `AT_EXECVE_CHECK`: Linux 6.14).
const KNOWN_FLAGS: i32 = libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EXECVE_CHECK;

/// What the file to execute is.
enum Target {
    /// A file with a canonical path (in the walk's buffer).
    Path,
    /// A memfd: no path; it follows the exec default.
    Memfd,
    /// A deleted file, decided on the path it had (in the walk's buffer,
    /// without the kernel's " (deleted)").
    Deleted,
}

/// Handles one exec notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let (dirfd, addr, flags) = match m.kind {
        Kind::Execve => (libc::AT_FDCWD, a[0], 0),
        Kind::Execveat => (sys::low_i32(a[0]), a[1], sys::low_i32(a[4])),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    if flags & !KNOWN_FLAGS != 0 {
        return Reply::Errno(libc::EINVAL);
    }
    let arg = match read_arg(
        ctx,
        p,
        dirfd,
        addr,
        &mut sc.raw,
        flags & libc::AT_EMPTY_PATH != 0,
    ) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    let root = ctx.root(&sc.task_root);
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let mut log = Log::new(ctx, m.name, p.tid(), &mut sc.line);
    let b = &mut sc.walk;

    let (fd, target) = if arg.path.is_empty() {
        if flags & libc::AT_EMPTY_PATH == 0 {
            return Reply::Errno(libc::ENOENT);
        }
        let Start::Dir(fd) = arg.start else {
            return Reply::Errno(libc::EBADF);
        };
        if crate::task::fd_path(fd.as_fd(), &mut b.path).is_err() {
            return Reply::Errno(libc::EBADF);
        }
        if b.path.first() != Some(&b'/') {
            // A pipe, a socket, an anonymous inode: nothing to execute.
            return Reply::Errno(libc::EACCES);
        }
        let target = pathless_kind(&root, fd.as_fd(), &b.path);
        (fd, target)
    } else {
        let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
        let walked = walk(&mut asker, &root, arg.start, &arg.path, 0, follow, b);
        if !p.vouch() {
            return Reply::Gone;
        }
        match walked {
            Ok(Walked::Found { symlink: true, .. }) => return Reply::Errno(libc::ELOOP),
            // A pipe or socket reached through /proc/<pid>/fd.
            Ok(Walked::Found { pathless: true, .. }) => return Reply::Errno(libc::EACCES),
            Ok(Walked::Found {
                fd, unlinked: true, ..
            }) => {
                let target = pathless_kind(&root, fd.as_fd(), &b.path);
                (fd, target)
            }
            Ok(Walked::Found { fd, .. }) => (fd, Target::Path),
            Ok(Walked::Missing { .. } | Walked::Absent) => {
                // Nothing to run: what an open would be told.
                let (action, rule) = decide(ctx, &mut asker, &b.path, &mut sc.matched);
                return match action {
                    FsAction::Access(FsAccess::Hide) => {
                        refuse_fs(&mut log, &b.path, Verdict::Hide, libc::ENOENT, rule)
                    }
                    FsAction::Access(FsAccess::Deny) => {
                        refuse_fs(&mut log, &b.path, Verdict::Deny, libc::EACCES, rule)
                    }
                    _ => {
                        // `--learn`: a PATH search tries execve on names
                        // that do not exist; learnt, so that the rerun does
                        // not see a refusal where natively there is none.
                        log.note_absent(&b.path);
                        Reply::Errno(libc::ENOENT)
                    }
                };
            }
            Err(e) => {
                return Reply::Errno(super::walk_error(
                    ctx,
                    &mut asker,
                    &b.path,
                    &mut sc.matched,
                    e,
                ))
            }
        }
    };
    #[cfg(debug_assertions)]
    super::test_hooks::maybe_panic(&b.path);

    let exec = &ctx.exec;
    let path = b.path.as_slice();
    let outcome = match target {
        Target::Memfd => {
            if sys::fstat_mode(fd.as_fd()).is_ok_and(|m| m & 0o111 == 0) {
                // Made with MFD_NOEXEC_SEAL (ours) or chmod'ed: the kernel
                // refuses it whatever the policy says.
                return Reply::Errno(libc::EACCES);
            }
            match exec.default {
                ExecAccess::Allow => ExecOutcome::Allow(None),
                ExecAccess::Deny => ExecOutcome::Deny(None),
            }
        }
        Target::Path | Target::Deleted => {
            let decided = match target {
                Target::Deleted => path.strip_suffix(b" (deleted)").unwrap_or(path),
                _ => path,
            };
            let (action, rule) = decide(ctx, &mut asker, decided, &mut sc.matched);
            match action {
                FsAction::Access(FsAccess::Hide) => {
                    return refuse_fs(&mut log, path, Verdict::Hide, libc::ENOENT, rule)
                }
                // deny; and content and redirect, whose file is not what
                // the program sees under that name.
                a if !readable(a) => {
                    return refuse_fs(&mut log, path, Verdict::Deny, libc::EACCES, rule)
                }
                _ => exec.decide(decided),
            }
        }
    };
    drop(fd);
    match outcome {
        ExecOutcome::Allow(origin) => {
            record(&mut log, path, Verdict::Allow, None, origin);
            Reply::Continue
        }
        ExecOutcome::Deny(origin) => {
            record(&mut log, path, Verdict::Deny, Some(libc::EACCES), origin);
            Reply::Errno(libc::EACCES)
        }
        ExecOutcome::LeftOut => {
            let origin = Origin::new(crate::landlock::LEFT_OUT_ORIGIN, 0);
            record(
                &mut log,
                path,
                Verdict::Deny,
                Some(libc::EACCES),
                Some(&origin),
            );
            Reply::Errno(libc::EACCES)
        }
    }
}

/// A memfd, or a deleted file. A memfd's name reads `/memfd:NAME (deleted)`;
/// a deleted file of that name in `/` would read the same, but lives on the
/// root's file system, which a memfd never does.
fn pathless_kind(root: &Root<'_>, fd: BorrowedFd<'_>, path: &[u8]) -> Target {
    let deleted = crate::fs::unlinked(fd, path);
    if deleted && path.starts_with(b"/memfd:") {
        let dev = |fd: BorrowedFd<'_>| rustix::fs::fstat(fd).map(|s| s.st_dev);
        let Some(root) = root.fd() else {
            return Target::Memfd;
        };
        match (dev(fd), dev(root)) {
            (Ok(a), Ok(b)) if a == b => {}
            // Unknown: the stricter reading (the default may deny).
            _ => return Target::Memfd,
        }
    }
    if deleted {
        Target::Deleted
    } else {
        Target::Path
    }
}

/// Refuses on a file-system decision (rule `rule` of that section).
fn refuse_fs(log: &mut Log<'_>, path: &[u8], v: Verdict, errno: i32, rule: Option<usize>) -> Reply {
    log.write(path, v, Some(errno), rule);
    Reply::Errno(errno)
}

/// Writes an exec decision, made by the exec rule from `origin` (or the
/// default).
fn record(
    log: &mut Log<'_>,
    path: &[u8],
    verdict: Verdict,
    errno: Option<i32>,
    origin: Option<&Origin>,
) {
    log.write_exec(path, verdict, errno, origin);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, Fake, Run};

    fn run() -> Run {
        let r = Run::fixture_with_sections(
            r#""exec": {"default": "allow", "rules": [{"path": "${D}/rw/denied", "access": "deny"}]}"#,
        );
        std::fs::write(r.dir.join("rw/denied"), "").unwrap();
        std::fs::write(r.dir.join("redirect"), "").unwrap();
        r
    }

    /// `execve(D/rel)`: `None` when let through to the kernel, else the
    /// errno.
    fn execve(r: &mut Run, p: &mut Fake, rel: &str) -> Option<i32> {
        let path = p.put_cstr(&r.path(rel));
        match r.call(p, libc::SYS_execve, &[path, 0, 0]) {
            Reply::Continue => None,
            Reply::Errno(e) => Some(e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn exec_by_access() {
        let mut r = run();
        let mut p = r.program();
        let cases = [
            ("rw/f", None),
            ("ro/f", None),
            ("rw/link", None),
            // The exec section.
            ("rw/denied", Some(libc::EACCES)),
            // The file system's word first: it must be readable as itself.
            ("deny/f", Some(libc::EACCES)),
            ("hide/f", Some(libc::ENOENT)),
            ("other", Some(libc::EACCES)),
            // Served from elsewhere: not what runs under that name (and
            // where no file is there, nothing runs).
            ("redirect", Some(libc::EACCES)),
            ("content", Some(libc::ENOENT)),
            // Nothing there: what an open is told.
            ("rw/missing", Some(libc::ENOENT)),
            ("hide/missing", Some(libc::ENOENT)),
            ("deny/missing", Some(libc::EACCES)),
            ("rw/dangling", Some(libc::ENOENT)),
        ];
        for (rel, want) in cases {
            assert_eq!(execve(&mut r, &mut p, rel), want, "execve {rel}");
        }
        let _ = execve(&mut r, &mut p, "rw/denied");
        let line = r.last_log();
        assert!(
            line.contains(r#""syscall":"execve","path":""#)
                && line.contains(r#"/rw/denied","decision":"deny","errno":"EACCES","rule":""#),
            "{line}"
        );
        // execveat: unknown flags, a final link not followed.
        let cwd = arg(libc::AT_FDCWD);
        let link = p.put_cstr(&r.path("rw/link"));
        let got = r.call(&mut p, libc::SYS_execveat, &[cwd, link, 0, 0, 0x4]);
        assert!(matches!(got, Reply::Errno(libc::EINVAL)), "{got:?}");
        let nofollow = arg(libc::AT_SYMLINK_NOFOLLOW);
        let got = r.call(&mut p, libc::SYS_execveat, &[cwd, link, 0, 0, nofollow]);
        assert!(matches!(got, Reply::Errno(libc::ELOOP)), "{got:?}");
        // execveat of a descriptor: decided on what it is.
        p.open_fd(7, &r.dir.join("rw/denied"));
        let empty = p.put_cstr(b"");
        let fd_flags = arg(libc::AT_EMPTY_PATH);
        let got = r.call(&mut p, libc::SYS_execveat, &[7, empty, 0, 0, fd_flags]);
        assert!(matches!(got, Reply::Errno(libc::EACCES)), "{got:?}");
        p.open_fd(8, &r.dir.join("rw/f"));
        let got = r.call(&mut p, libc::SYS_execveat, &[8, empty, 0, 0, fd_flags]);
        assert!(matches!(got, Reply::Continue), "{got:?}");
        p.die();
        let got = r.call(&mut p, libc::SYS_execveat, &[8, empty, 0, 0, fd_flags]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }
}

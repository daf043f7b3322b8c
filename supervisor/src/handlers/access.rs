//! `access`, `faccessat`, `faccessat2`: answered by the supervisor.
//!
//! A program that asks whether it may open a file must get the answer its
//! open would get: a hidden path does not exist, a denied one is refused,
//! and `W_OK` on an `ro` path is refused. What the policy allows is then
//! checked by the kernel on the very object the walk resolved (with the
//! supervisor's credentials, which are the program's), so a path swapped
//! after the decision changes nothing.

use std::os::fd::{AsFd, AsRawFd};

use super::path::{resolve, Obj};
use super::{decide, Ctx, Log, Program, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::walk::Asker;
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};

/// Handles one access-family notification.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let int = sys::low_i32;
    let (dirfd, addr, mode, flags) = match m.kind {
        Kind::Access => (libc::AT_FDCWD, a[0], int(a[1]), 0),
        Kind::Faccessat => (int(a[0]), a[1], int(a[2]), 0),
        Kind::Faccessat2 => (int(a[0]), a[1], int(a[2]), int(a[3])),
        _ => return Reply::Errno(libc::ENOSYS),
    };
    if mode & !(libc::R_OK | libc::W_OK | libc::X_OK) != 0 {
        return Reply::Errno(libc::EINVAL);
    }
    if flags & !(libc::AT_EACCESS | libc::AT_SYMLINK_NOFOLLOW | libc::AT_EMPTY_PATH) != 0 {
        return Reply::Errno(libc::EINVAL);
    }
    // The kernel answers `access` with the caller's real ids: the
    // program's, taken for the calls below where they may not be fdsup's.
    let flags = match ctx.creds.access_flags(p.tid(), flags) {
        Ok(f) => f,
        Err(e) => return Reply::Errno(e),
    };
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let obj = match resolve(ctx, p, sc, dirfd, addr, follow, empty, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    // A pipe or an unlinked file is checked on the object alone: the answer
    // gives nothing the descriptor does not.
    let (obj, pathless) = match obj {
        Obj::Found { fd, pathless, held } => {
            let unlinked = held && crate::fs::unlinked(fd.as_fd(), &sc.walk.path);
            (Some(fd), pathless || unlinked)
        }
        Obj::Absent => (None, false),
    };
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    let mut log = Log::new(ctx, m.name, p.tid(), &mut sc.line);
    let path: &[u8] = &sc.walk.path;
    if mode & libc::W_OK != 0 {
        log.note_write(path);
    }
    let (action, rule) = if pathless {
        (&super::ALLOW_RW, None)
    } else {
        match &obj {
            Some(f) => super::decide_found(ctx, &mut asker, path, &mut sc.matched, f.as_fd()),
            None => decide(ctx, &mut asker, path, &mut sc.matched),
        }
    };
    let refuse = |log: &mut Log<'_>, v: Verdict, e: i32| {
        log.write(path, v, Some(e), rule);
        Reply::Errno(e)
    };
    match action {
        FsAction::Access(FsAccess::Hide) | FsAction::Private => {
            return refuse(&mut log, Verdict::Hide, libc::ENOENT)
        }
        FsAction::Access(FsAccess::Deny) => return refuse(&mut log, Verdict::Deny, libc::EACCES),
        FsAction::Access(FsAccess::Ro) if mode & libc::W_OK != 0 => {
            return refuse(&mut log, Verdict::Deny, libc::EACCES)
        }
        FsAction::Content { .. } => {
            // A read-only file served from memory.
            if mode & (libc::W_OK | libc::X_OK) != 0 {
                return refuse(&mut log, Verdict::Deny, libc::EACCES);
            }
            log.write(path, Verdict::Content, None, rule);
            return Reply::Value(0);
        }
        FsAction::Redirect { writable, .. } => {
            if mode & libc::W_OK != 0 && !writable {
                return refuse(&mut log, Verdict::Deny, libc::EACCES);
            }
            let Some(target) = rule.and_then(|i| ctx.redirect_target(i)) else {
                return Reply::Errno(libc::EIO);
            };
            log.write(path, Verdict::Redirect, None, rule);
            let root = ctx.root(&sc.task_root);
            if let crate::fs::Root::Own(_) = root {
                return result(sys::faccessat2(
                    libc::AT_FDCWD,
                    target,
                    mode,
                    flags & libc::AT_EACCESS,
                ));
            }
            // In a task's root: the target opened there, then asked about.
            let how = sys::OpenHow {
                flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
                mode: 0,
                resolve: 0,
            };
            return match root.open_target(target, &how) {
                Ok(t) => result(sys::faccessat2(
                    t.as_raw_fd(),
                    c"",
                    mode,
                    libc::AT_EMPTY_PATH | (flags & libc::AT_EACCESS),
                )),
                Err(e) => Reply::Errno(sys::errno_of(&e)),
            };
        }
        FsAction::Access(_) => {}
    }
    let Some(obj) = obj else {
        log.note_absent(path);
        return Reply::Errno(libc::ENOENT);
    };
    // Under a `public` rule, R_OK says what the open would: only what
    // others may read (X_OK is the kernel's, as exec is).
    if ctx.public_rule(rule)
        && mode & libc::R_OK != 0
        && !(sc.searchable.reachable_in(&ctx.root(&sc.task_root), path)
            && sys::fstat_mode(obj.as_fd())
                .is_ok_and(|m| crate::fs::public::others_may(m, true, false)))
    {
        return refuse(&mut log, Verdict::Deny, libc::EACCES);
    }
    log.write(path, Verdict::Allow, None, rule);
    let flags = libc::AT_EMPTY_PATH | (flags & libc::AT_EACCESS);
    result(sys::faccessat2(obj.as_raw_fd(), c"", mode, flags))
}

fn result(r: std::io::Result<()>) -> Reply {
    match r {
        Ok(()) => Reply::Value(0),
        Err(e) => Reply::Errno(sys::errno_of(&e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, Fake, Run};

    /// `faccessat2(AT_FDCWD, D/rel, mode, flags)`: 0 or the errno.
    fn access(r: &mut Run, p: &mut Fake, rel: &str, mode: i32, flags: i32) -> Result<i64, i32> {
        let path = p.put_cstr(&r.path(rel));
        let args = [arg(libc::AT_FDCWD), path, arg(mode), arg(flags)];
        match r.call(p, libc::SYS_faccessat2, &args) {
            Reply::Value(v) => Ok(v),
            Reply::Errno(e) => Err(e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn modes_by_access() {
        use libc::{F_OK, R_OK, W_OK, X_OK};
        let mut r = Run::fixture();
        let mut p = r.program();
        std::fs::set_permissions(
            r.dir.join("rw/f"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        let cases: &[(&str, i32, Result<i64, i32>)] = &[
            ("ro/f", F_OK, Ok(0)),
            ("ro/f", R_OK, Ok(0)),
            ("ro/f", W_OK, Err(libc::EACCES)),
            ("ro/f", R_OK | W_OK, Err(libc::EACCES)),
            // The kernel's word on the object: no execute bit.
            ("ro/f", X_OK, Err(libc::EACCES)),
            ("rw/f", R_OK | W_OK | X_OK, Ok(0)),
            ("rw/missing", F_OK, Err(libc::ENOENT)),
            ("ro/missing", W_OK, Err(libc::EACCES)),
            ("deny/f", F_OK, Err(libc::EACCES)),
            ("deny/missing", F_OK, Err(libc::EACCES)),
            ("hide/f", F_OK, Err(libc::ENOENT)),
            ("hide/f", W_OK, Err(libc::ENOENT)),
            ("hide", R_OK, Err(libc::ENOENT)),
            ("other", R_OK, Err(libc::EACCES)),
            ("content", R_OK, Ok(0)),
            ("content", W_OK, Err(libc::EACCES)),
            ("content", X_OK, Err(libc::EACCES)),
            ("redirect", R_OK, Ok(0)),
            ("redirect", W_OK, Err(libc::EACCES)),
            // Bad mode and flags, before the path.
            ("ro/f", 8, Err(libc::EINVAL)),
            ("hide/f", 8, Err(libc::EINVAL)),
        ];
        for &(rel, mode, want) in cases {
            assert_eq!(
                access(&mut r, &mut p, rel, mode, 0),
                want,
                "access {rel} {mode}"
            );
        }
        assert_eq!(
            access(&mut r, &mut p, "hide/f", F_OK, 0x4),
            Err(libc::EINVAL)
        );
        let nofollow = libc::AT_SYMLINK_NOFOLLOW;
        assert_eq!(access(&mut r, &mut p, "rw/dangling", F_OK, nofollow), Ok(0));
        assert_eq!(
            access(&mut r, &mut p, "rw/dangling", F_OK, 0),
            Err(libc::ENOENT)
        );
        // `access` and `faccessat` take no flags.
        let path = p.put_cstr(&r.path("ro/f"));
        let got = r.call(&mut p, libc::SYS_access, &[path, arg(W_OK)]);
        assert!(matches!(got, Reply::Errno(libc::EACCES)), "{got:?}");
        p.die();
        let got = r.call(&mut p, libc::SYS_access, &[path, arg(R_OK)]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }
}

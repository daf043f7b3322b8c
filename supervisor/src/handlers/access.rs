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
use super::{decide, Ctx, Log, Reply, Scratch};
use crate::audit::Verdict;
use crate::fs::walk::Asker;
use crate::notify::{Listener, Notif};
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::Task;

/// Handles one access-family notification.
pub fn handle(ctx: &Ctx, listener: &Listener, n: &Notif, m: &Mediated, sc: &mut Scratch) -> Reply {
    let mut task = Task::new(n.pid);
    let a = n.data.args;
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
    let follow = flags & libc::AT_SYMLINK_NOFOLLOW == 0;
    let empty = flags & libc::AT_EMPTY_PATH != 0;
    let obj = match resolve(
        ctx, listener, n, &mut task, sc, dirfd, addr, follow, empty, false,
    ) {
        Ok(o) => o,
        Err(r) => return r,
    };
    // A pipe or an unlinked file is checked on the object alone: the answer
    // gives nothing the descriptor does not.
    let (obj, pathless) = match obj {
        Obj::Found { fd, pathless, held } => {
            let unlinked = held && sc.walk.path.ends_with(b" (deleted)");
            (Some(fd), pathless || unlinked)
        }
        Obj::Absent => (None, false),
    };
    let mut asker = Asker::with_policy(&task, ctx.scope, &ctx.policy);
    let mut log = Log::new(ctx, m.name, task.tid(), &mut sc.line);
    let path: &[u8] = &sc.walk.path;
    if mode & libc::W_OK != 0 {
        log.note_write(path);
    }
    let (action, rule) = if pathless {
        (&super::open::ALLOW_RW, None)
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
            return match root.open(target, &how) {
                Ok(t) => result(sys::faccessat2(
                    t.as_raw_fd(),
                    c"",
                    mode,
                    libc::AT_EMPTY_PATH | (flags & libc::AT_EACCESS),
                )),
                Err(e) => Reply::Errno(e.raw_os_error().unwrap_or(libc::EIO)),
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
        Err(e) => Reply::Errno(e.raw_os_error().unwrap_or(libc::EIO)),
    }
}

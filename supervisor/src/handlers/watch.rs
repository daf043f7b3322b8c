//! `inotify_add_watch`: the path is resolved and decided like a look
//! (`ro`), and the watch is added by the supervisor on the program's own
//! inotify instance (fetched with `pidfd_getfd`, the same open file) through
//! the `O_PATH` descriptor of the object, so a swapped path changes nothing.
//! A directory that holds entries the policy hides is not watched (EACCES):
//! its events would carry their names.

use std::os::fd::{AsFd, AsRawFd};

use super::path::{decide_obj, fetch, resolve, Need};
use super::{Ctx, Program, Reply, Scratch};
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::Mediated;
use crate::task::ProcPath;

/// `IN_DONT_FOLLOW`.
const IN_DONT_FOLLOW: u32 = 0x0200_0000;
/// `IN_ISDIR`: an event flag, which selects nothing in a watch's mask.
const IN_ISDIR: u32 = 0x4000_0000;
/// `IN_MASK_CREATE`, `IN_MASK_ADD`.
const IN_MASK_CREATE: u32 = 0x1000_0000;
const IN_MASK_ADD: u32 = 0x2000_0000;
/// `ALL_INOTIFY_BITS` (include/linux/inotify.h): the events and flags a
/// mask may hold; one at least is needed.
const ALL_INOTIFY_BITS: u32 = 0xfff
    | 0x2000
    | 0x4000
    | 0x8000
    | 0x0100_0000
    | IN_DONT_FOLLOW
    | 0x0400_0000
    | IN_MASK_CREATE
    | IN_MASK_ADD
    | IN_ISDIR
    | 0x8000_0000;

/// Handles one `inotify_add_watch`, checking in the kernel's order: the
/// mask has only known bits (one at least), the descriptor is open and an inotify instance,
/// `IN_MASK_ADD` and `IN_MASK_CREATE` are not both given, then the path.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    let mask = sys::low_i32(a[2]).cast_unsigned();
    if mask & ALL_INOTIFY_BITS == 0 || mask & !ALL_INOTIFY_BITS != 0 {
        return Reply::Errno(libc::EINVAL);
    }
    let ino = match fetch(p, sys::low_i32(a[0])) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut kind = Vec::new();
    if crate::task::fd_path(ino.as_fd(), &mut kind).is_err() || kind != b"anon_inode:inotify" {
        return Reply::Errno(libc::EINVAL);
    }
    if mask & IN_MASK_ADD != 0 && mask & IN_MASK_CREATE != 0 {
        return Reply::Errno(libc::EINVAL);
    }
    let follow = mask & IN_DONT_FOLLOW == 0;
    let obj = match resolve(ctx, p, sc, libc::AT_FDCWD, a[1], follow, false, false) {
        Ok(o) => o,
        Err(r) => return r,
    };
    let fd = match decide_obj(
        ctx,
        p.task(),
        sc,
        m.name,
        obj,
        Need::Read,
        Some(libc::EACCES),
        None,
    ) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    let is_dir = sys::fstat_mode(fd.as_fd()).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFDIR);
    if is_dir && hides_below(ctx, &sc.walk.path) {
        return Reply::Errno(libc::EACCES);
    }
    let p = ProcPath::with_prefix("/proc/self/fd/", fd.as_raw_fd(), "");
    // The watch is added through a magic link, which must be followed:
    // IN_DONT_FOLLOW has done its work in the resolution. A mask left with
    // nothing the kernel accepts (IN_DONT_FOLLOW alone) gets IN_ISDIR,
    // which selects no event, as the program's mask did.
    let mut watch_mask = mask & !IN_DONT_FOLLOW;
    if watch_mask & ALL_INOTIFY_BITS == 0 {
        watch_mask |= IN_ISDIR;
    }
    match sys::inotify_add_watch(ino.as_fd(), p.as_cstr(), watch_mask) {
        Ok(wd) => Reply::Value(i64::from(wd)),
        Err(e) => Reply::Errno(sys::errno_of(&e)),
    }
}

/// Whether something directly or further below `dir` is hidden (by a rule,
/// or by a hiding default with something shown below).
fn hides_below(ctx: &Ctx, dir: &[u8]) -> bool {
    let hide = FsAction::Access(FsAccess::Hide);
    // The default decides the children only of a directory no rule covers.
    let by_default = ctx.policy.decide_fs(dir).rule.is_none();
    (by_default && ctx.policy.fs.default_action() == &hide)
        || ctx
            .policy
            .fs
            .rules
            .iter()
            .any(|r| r.action == hide && r.pattern.reaches_below(dir))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{arg, Fake, Run};

    /// A program holding an inotify instance as descriptor 5.
    fn watching(r: &Run) -> Fake {
        let mut p = r.program();
        let fd = rustix::fs::inotify::init(rustix::fs::inotify::CreateFlags::CLOEXEC).unwrap();
        p.give_fd(5, fd, std::path::Path::new("anon_inode:inotify"));
        p
    }

    fn add(r: &mut Run, p: &mut Fake, rel: &str, mask: u32) -> Result<i64, i32> {
        let path = p.put_cstr(&r.path(rel));
        match r.call(p, libc::SYS_inotify_add_watch, &[5, path, u64::from(mask)]) {
            Reply::Value(v) => Ok(v),
            Reply::Errno(e) => Err(e),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn watches_by_access() {
        let mut r = Run::fixture();
        let mut p = watching(&r);
        let modify = 0x2;
        assert!(add(&mut r, &mut p, "rw/f", modify).is_ok_and(|wd| wd > 0));
        assert!(add(&mut r, &mut p, "ro", modify).is_ok_and(|wd| wd > 0));
        assert_eq!(add(&mut r, &mut p, "hide/f", modify), Err(libc::ENOENT));
        assert_eq!(add(&mut r, &mut p, "deny/f", modify), Err(libc::EACCES));
        assert_eq!(add(&mut r, &mut p, "rw/missing", modify), Err(libc::ENOENT));
        // A directory with something hidden below it: its events would
        // name what is hidden.
        assert_eq!(add(&mut r, &mut p, "", modify), Err(libc::EACCES));
        // Served from elsewhere: nothing to watch.
        assert_eq!(add(&mut r, &mut p, "content", modify), Err(libc::EACCES));
        // The mask and the descriptor, before the path.
        assert_eq!(add(&mut r, &mut p, "hide/f", 0), Err(libc::EINVAL));
        assert_eq!(
            add(&mut r, &mut p, "hide/f", 0x0800_0000),
            Err(libc::EINVAL)
        );
        let both = modify | IN_MASK_ADD | IN_MASK_CREATE;
        assert_eq!(add(&mut r, &mut p, "hide/f", both), Err(libc::EINVAL));
        p.open_fd(6, &r.dir.join("rw/f"));
        let path = p.put_cstr(&r.path("rw/f"));
        let got = r.call(&mut p, libc::SYS_inotify_add_watch, &[6, path, 2]);
        assert!(matches!(got, Reply::Errno(libc::EINVAL)), "{got:?}");
        let got = r.call(&mut p, libc::SYS_inotify_add_watch, &[arg(-1), path, 2]);
        assert!(matches!(got, Reply::Errno(libc::EBADF)), "{got:?}");
    }
}

//! Directories: `chdir`, `fchdir` and the listings (`getdents64`,
//! `getdents`).
//!
//! **Listings** are read by the supervisor on the program's own descriptor
//! (fetched with `pidfd_getfd`: the same open file description, so the
//! directory offset moves for the program exactly as if it had read), and
//! every entry the policy hides — by a rule or by the section default — is
//! left out before the rest is written into the program's buffer; so is
//! `/proc/<pid>` of every process outside the sandbox. A listing cannot be
//! let through to the kernel instead, even for directories with nothing
//! hidden: the program could swap the descriptor behind the number between
//! the look and the kernel's read.
//!
//! **chdir** is the one path request that cannot be carried out by the
//! supervisor: the kernel offers no way to set another process's working
//! directory. So the path is resolved and decided like any other (hidden:
//! ENOENT, denied: EACCES, not a directory: ENOTDIR, no search permission:
//! EACCES), and an allowed `chdir` is then run by the kernel
//! (`continue_unchecked`) on the path as the program's memory holds it by
//! then. A thread that swaps the path in that instant can move the working
//! directory into a directory the policy hides or denies, and learn that it
//! exists; nothing more, because every request made from there — opens,
//! stats, listings, changes, `..` included — is mediated and decided on the
//! canonical path of what it reaches, and `getcwd` only returns the path the
//! program itself wrote. This is the documented residue of an interface
//! gap (README, limits). `fchdir` is decided on the descriptor fdsup fetched
//! (an inherited descriptor of a hidden directory is refused), and then
//! run by the kernel, which takes the number again: another thread that
//! swaps the number (`dup2`) in between lands the working directory in a
//! directory the program holds a descriptor of. That gives it nothing the
//! descriptor did not: every request from there is decided on the
//! canonical path of what it reaches, as above
//! (`tests/tests/adversarial_fchdir.rs` races it). A look at the number
//! again just before answering was tried and measured: it made no
//! difference to how often the race lands (the window is the kernel's own
//! wake-up of the program), so it is not made.

use std::os::fd::AsFd;

use super::path::{decide_obj, fetch, resolve, Need, Obj};
use super::{Ctx, Program, Reply, Scratch};
use crate::fs::walk::Asker;
use crate::policy::{FsAccess, FsAction};
use crate::sys;
use crate::syscalls::{Kind, Mediated};
use crate::task::fd_path;

/// Handles one notification of the family.
pub fn handle<P: Program>(
    ctx: &Ctx,
    p: &mut P,
    a: [u64; 6],
    m: &Mediated,
    sc: &mut Scratch,
) -> Reply {
    match m.kind {
        Kind::Chdir | Kind::Fchdir => chdir(ctx, p, a, m, sc),
        Kind::Getdents | Kind::Getdents64 => listing(ctx, p, a, m, sc),
        _ => Reply::Errno(libc::ENOSYS),
    }
}

fn chdir<P: Program>(ctx: &Ctx, p: &mut P, a: [u64; 6], m: &Mediated, sc: &mut Scratch) -> Reply {
    let obj = if m.kind == Kind::Chdir {
        match resolve(ctx, p, sc, libc::AT_FDCWD, a[0], true, false, false) {
            Ok(o) => o,
            Err(r) => return r,
        }
    } else {
        let fd = match fetch(p, sys::low_i32(a[0])) {
            Ok(f) => f,
            Err(r) => return r,
        };
        if !p.vouch() {
            return Reply::Gone;
        }
        if fd_path(fd.as_fd(), &mut sc.walk.path).is_err() {
            return Reply::Errno(libc::EBADF);
        }
        // Decided like a path: an inherited descriptor of a hidden
        // directory is not a way in.
        Obj::Found {
            fd,
            pathless: false,
            held: false,
        }
    };
    let fd = match decide_obj(
        ctx,
        p.task(),
        sc,
        m.name,
        obj,
        Need::Read,
        Some(libc::ENOTDIR),
        None,
    ) {
        Ok(fd) => fd,
        Err(r) => return r,
    };
    match sys::fstat_mode(fd.as_fd()) {
        Ok(mode) if mode & libc::S_IFMT == libc::S_IFDIR => {}
        Ok(_) => return Reply::Errno(libc::ENOTDIR),
        Err(e) => return Reply::Errno(sys::errno_of(&e)),
    }
    if let Err(e) = sys::faccessat2(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        c"",
        libc::X_OK,
        libc::AT_EMPTY_PATH | libc::AT_EACCESS,
    ) {
        return Reply::Errno(e.raw_os_error().unwrap_or(libc::EACCES));
    }
    Reply::Continue
}

/// Where a record's name starts, for each format: `struct linux_dirent64`
/// (`d_ino`, `d_off`, `d_reclen`, `d_type`, `d_name`) and the old `struct
/// linux_dirent` (`d_ino`, `d_off`, `d_reclen`, `d_name`, ..., `d_type`).
const NAME_AT_64: usize = 19;
const NAME_AT_OLD: usize = 18;
const RECLEN_AT: usize = 16;

fn listing<P: Program>(ctx: &Ctx, p: &mut P, a: [u64; 6], m: &Mediated, sc: &mut Scratch) -> Reply {
    let old = m.kind == Kind::Getdents;
    let count = usize::try_from(sys::low_i32(a[2]).cast_unsigned()).unwrap_or(0);
    let fd = match fetch(p, sys::low_i32(a[0])) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !p.vouch() {
        return Reply::Gone;
    }
    match sys::fstat_mode(fd.as_fd()) {
        Ok(mode) if mode & libc::S_IFMT == libc::S_IFDIR => {}
        Ok(_) => return Reply::Errno(libc::ENOTDIR),
        Err(e) => return Reply::Errno(sys::errno_of(&e)),
    }
    let Scratch {
        walk,
        lex,
        matched,
        listing,
        ..
    } = sc;
    if fd_path(fd.as_fd(), &mut walk.path).is_err() {
        return Reply::Errno(libc::EBADF);
    }
    let dir = &walk.path;
    // A directory the program could list but whose path is hidden or denied
    // (an inherited descriptor) lists nothing it could not otherwise see.
    let mut asker = Asker::with_policy(p.task(), ctx.scope, &ctx.policy);
    if dir.first() == Some(&b'/') {
        match super::decide_found(ctx, &mut asker, dir, matched, fd.as_fd()) {
            (FsAction::Access(FsAccess::Hide), _) => return Reply::Errno(libc::ENOENT),
            (FsAction::Access(FsAccess::Deny), _) => return Reply::Errno(libc::EACCES),
            _ => {}
        }
    }
    // The kernel keeps the count in an int: past INT_MAX, no record fits
    // (EINVAL), or 0 at the end. A one-byte read answers the same, and
    // moves nothing.
    let size = if count > i32::MAX as usize {
        1
    } else {
        count.min(crate::limits::LISTING_BYTES)
    };
    // Where the listing was: a write into the program's buffer that fails
    // must not have moved it.
    let start_pos = sys::lseek_cur(fd.as_fd()).ok();
    if listing.len() < size {
        listing.resize(size, 0);
    }
    let buf = &mut listing[..size];
    let is_proc = dir == b"/proc";
    let name_at = if old { NAME_AT_OLD } else { NAME_AT_64 };
    loop {
        let got = match sys::getdents(fd.as_fd(), buf, old) {
            Ok(g) => g,
            Err(e) => return Reply::Errno(sys::errno_of(&e)),
        };
        if got == 0 {
            return Reply::Value(0);
        }
        // The records shown are moved down over those left out, in place.
        let (mut at, mut kept) = (0, 0);
        while at + RECLEN_AT + 2 <= got {
            let reclen = usize::from(u16::from_ne_bytes([
                buf[at + RECLEN_AT],
                buf[at + RECLEN_AT + 1],
            ]));
            if reclen == 0 || at + reclen > got {
                break;
            }
            let name = buf[at..at + reclen].get(name_at..).unwrap_or_default();
            let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
            if shown(ctx, &mut asker, dir, name, is_proc, lex, matched) {
                buf.copy_within(at..at + reclen, kept);
                kept += reclen;
            }
            at += reclen;
        }
        if kept > 0 {
            // As the kernel: the whole records the buffer takes are given,
            // and the listing goes on after the last of them; none, EFAULT.
            let wrote = match p.write_prefix(a[1], &buf[..kept]) {
                Ok(w) => w,
                Err(e) => return e.reply(libc::EFAULT),
            };
            if wrote == kept {
                return Reply::Value(kept as i64);
            }
            let (mut end, mut next) = (0usize, start_pos);
            while end + RECLEN_AT + 2 <= kept {
                let reclen = usize::from(u16::from_ne_bytes([
                    buf[end + RECLEN_AT],
                    buf[end + RECLEN_AT + 1],
                ]));
                if reclen == 0 || end + reclen > wrote {
                    break;
                }
                // `d_off` (at 8 in both formats): where the next record is.
                let mut off = [0u8; 8];
                off.copy_from_slice(&buf[end + 8..end + 16]);
                next = Some(i64::from_ne_bytes(off));
                end += reclen;
            }
            if let Some(pos) = next {
                let _ = sys::lseek_set(fd.as_fd(), pos);
            }
            return if end == 0 {
                Reply::Errno(libc::EFAULT)
            } else {
                Reply::Value(end as i64)
            };
        }
        // Everything read was hidden: read on, so that an empty answer still
        // means the end of the directory.
    }
}

/// Whether entry `name` of directory `dir` is listed.
fn shown(
    ctx: &Ctx,
    asker: &mut Asker<'_>,
    dir: &[u8],
    name: &[u8],
    is_proc: bool,
    tmp: &mut Vec<u8>,
    matched: &mut Vec<u8>,
) -> bool {
    if name == b"." || name == b".." || name.is_empty() {
        return true;
    }
    if is_proc && name.iter().all(u8::is_ascii_digit) {
        let pid = std::str::from_utf8(name)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        return asker.sees_pid(pid);
    }
    tmp.clear();
    tmp.extend_from_slice(dir);
    crate::fs::lexical::push_component(tmp, name);
    match super::decide(ctx, asker, tmp, matched) {
        (FsAction::Access(FsAccess::Hide), None) => {
            // In the skeleton of virtual directories, the name it stands for.
            let p: &[u8] = match ctx.privates.visible(tmp, matched) {
                Some(super::private::Own::Virtual) => matched,
                _ => tmp,
            };
            ctx.policy.shows_below(p) || ctx.policy.shows_through(p)
        }
        (FsAction::Access(FsAccess::Hide), Some(_)) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handlers::testing::{Fake, Run};
    use std::collections::BTreeSet;
    use std::path::Path;

    /// The program holds `path` open as a directory, as descriptor 5.
    fn holding_dir(r: &Run, path: &Path) -> Fake {
        let mut p = r.program();
        let f = std::fs::File::open(path).unwrap();
        p.give_fd(5, f.into(), path);
        p
    }

    /// Lists descriptor 5 with `getdents64` to the end; the names, or the
    /// first errno.
    fn list(r: &mut Run, p: &mut Fake) -> Result<BTreeSet<String>, i32> {
        let buf = p.buffer(4096);
        let mut names = BTreeSet::new();
        loop {
            let n = match r.call(p, libc::SYS_getdents64, &[5, buf, 4096]) {
                Reply::Value(0) => return Ok(names),
                Reply::Value(n) => usize::try_from(n).unwrap(),
                Reply::Errno(e) => return Err(e),
                other => panic!("{other:?}"),
            };
            let bytes = p.peek(buf, n);
            let mut at = 0;
            while at < n {
                let reclen = usize::from(u16::from_ne_bytes([bytes[at + 16], bytes[at + 17]]));
                let name = &bytes[at + NAME_AT_64..at + reclen];
                let end = name.iter().position(|&b| b == 0).unwrap();
                names.insert(String::from_utf8(name[..end].to_vec()).unwrap());
                at += reclen;
            }
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn listings_leave_out_what_is_hidden() {
        let mut r = Run::fixture();
        let mut p = holding_dir(&r, &r.dir.0.clone());
        // A hidden entry is missing; a denied one is there (denied, not
        // secret), as are names served from memory or elsewhere only if
        // they exist.
        let want = set(&[".", "..", "deny", "other", "ro", "rw"]);
        assert_eq!(list(&mut r, &mut p), Ok(want));
        let mut p = holding_dir(&r, &r.dir.join("rw"));
        let want = set(&[".", "..", "dangling", "f", "link", "sub", "target"]);
        assert_eq!(list(&mut r, &mut p), Ok(want));
        // An inherited descriptor of a hidden or denied directory lists
        // nothing.
        let mut p = holding_dir(&r, &r.dir.join("hide"));
        assert_eq!(list(&mut r, &mut p), Err(libc::ENOENT));
        let mut p = holding_dir(&r, &r.dir.join("deny"));
        assert_eq!(list(&mut r, &mut p), Err(libc::EACCES));
        // Not a directory; not held.
        let mut p = holding_dir(&r, &r.dir.join("rw/f"));
        assert_eq!(list(&mut r, &mut p), Err(libc::ENOTDIR));
        let mut p = r.program();
        assert_eq!(list(&mut r, &mut p), Err(libc::EBADF));
    }

    #[test]
    fn a_hiding_default_shows_the_way_to_what_is_shown() {
        let mut r = Run::with_network(
            "hide",
            r#"{"path": "${D}/shown/inner", "access": "ro"},
            {"path": "${D}/rw", "access": "rw"}"#,
            "",
        );
        for d in ["shown/inner", "rw", "secret", "shown/secret"] {
            std::fs::create_dir_all(r.dir.join(d)).unwrap();
        }
        std::fs::write(r.dir.join("loose"), "").unwrap();
        let mut p = holding_dir(&r, &r.dir.0.clone());
        assert_eq!(list(&mut r, &mut p), Ok(set(&[".", "..", "rw", "shown"])));
        let mut p = holding_dir(&r, &r.dir.join("shown"));
        assert_eq!(list(&mut r, &mut p), Ok(set(&[".", "..", "inner"])));
    }

    #[test]
    fn listing_buffers() {
        let mut r = Run::fixture();
        let mut p = holding_dir(&r, &r.dir.join("rw"));
        let small = p.buffer(8);
        // Too small for one record: the kernel's EINVAL; a buffer that is
        // not there: EFAULT, and the listing has not moved.
        let got = r.call(&mut p, libc::SYS_getdents64, &[5, small, 8]);
        assert!(matches!(got, Reply::Errno(libc::EINVAL)), "{got:?}");
        let got = r.call(&mut p, libc::SYS_getdents64, &[5, 8, 4096]);
        assert!(matches!(got, Reply::Errno(libc::EFAULT)), "{got:?}");
        let want = set(&[".", "..", "dangling", "f", "link", "sub", "target"]);
        assert_eq!(list(&mut r, &mut p), Ok(want));
        p.die();
        let buf = p.buffer(4096);
        let got = r.call(&mut p, libc::SYS_getdents64, &[5, buf, 4096]);
        assert!(matches!(got, Reply::Gone), "{got:?}");
    }

    #[test]
    fn chdir_by_access() {
        let mut r = Run::fixture();
        let mut p = r.program();
        let cases = [
            ("rw/sub", None),
            ("ro", None),
            ("hide", Some(libc::ENOENT)),
            ("hide/x", Some(libc::ENOENT)),
            ("deny", Some(libc::EACCES)),
            ("rw/f", Some(libc::ENOTDIR)),
            ("rw/missing", Some(libc::ENOENT)),
            // Served from elsewhere: never a directory to enter.
            ("content", Some(libc::ENOTDIR)),
        ];
        for (rel, want) in cases {
            let path = p.put_cstr(&r.path(rel));
            let got = r.call(&mut p, libc::SYS_chdir, &[path]);
            match want {
                None => assert!(matches!(got, Reply::Continue), "chdir {rel}: {got:?}"),
                Some(e) => assert!(
                    matches!(got, Reply::Errno(g) if g == e),
                    "chdir {rel}: {got:?}"
                ),
            }
        }
        // fchdir: decided on what the descriptor is.
        p.open_fd(6, &r.dir.join("hide"));
        let got = r.call(&mut p, libc::SYS_fchdir, &[6]);
        assert!(matches!(got, Reply::Errno(libc::ENOENT)), "{got:?}");
        p.open_fd(7, &r.dir.join("rw"));
        let got = r.call(&mut p, libc::SYS_fchdir, &[7]);
        assert!(matches!(got, Reply::Continue), "{got:?}");
    }
}

//! Binding a Unix socket to a path under the name the program gave.
//!
//! The kernel records the path a socket was bound with, exactly as passed
//! to `bind`, and hands it back from `getsockname`, from the peer's
//! `getpeername` and `accept`, and as a datagram's source. fdsup decides a
//! bind on the canonical path of the new file and must create it in exactly
//! the directory it decided on, whatever the program renames or swaps
//! meanwhile; binding the program's path as it is would resolve it again
//! (a racing thread could swap a directory on the way for a symbolic link),
//! and binding a path through the decided directory's descriptor
//! (`/proc/self/fd/N/name`) records that path, which names nothing to
//! anyone else.
//!
//! So a helper process, the **binder**, binds in a private mount namespace
//! (a user namespace too when fdsup is not root): for each bind it mounts a
//! fresh tmpfs, builds in it the directories the program's path names,
//! bind-mounts the decided directory where the last of them is, and binds
//! the program's path there — from inside that tree (`chroot` for an
//! absolute path, `chdir` for a relative one). The path then resolves, in
//! the binder's tree, through directories nobody else can touch to exactly
//! the decided directory, the socket file is created in it, and the name
//! recorded is the program's own. The binder first checks that the
//! directory it reaches by the canonical path is the one fdsup decided on
//! (same device and inode).
//!
//! The binder is started on the first bind of a path (a re-execution of
//! this binary in its hidden `__binder` mode: the supervisor has threads by
//! then), talks over a `SOCK_SEQPACKET` pair, and dies with fdsup. Where it
//! cannot work (no user namespaces for an unprivileged fdsup, a path with
//! `.` or `..` components), the bind is made through the directory's
//! descriptor as before, and the recorded name is that path: a documented
//! limit (README). So it is for every bind in a container (`fdsup agent`):
//! the binder's tree is built in fdsup's mount namespace, and a bind mount
//! of a container's directory into it is refused.

use std::ffi::{CStr, CString, OsStr};
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::sync::Mutex;

use rustix::mount::{MountFlags, MountPropagationFlags, UnmountFlags};
use rustix::net::{SendAncillaryBuffer, SendAncillaryMessage, SendFlags};

use super::addr::unix_bytes;
use crate::sys::{self, net as sn, OpenHow};

/// The answer that tells the supervisor to bind the plain way.
const FALLBACK: i32 = -1;

/// The supervisor's end of the binder, or why there is none.
enum State {
    NotStarted,
    Running(OwnedFd, std::process::Child),
    Unavailable,
}

static BINDER: Mutex<State> = Mutex::new(State::NotStarted);

/// Binds `sock` to a socket file `name` in `dir` (canonical path `path`),
/// recording the name `asked` (as the program wrote it), with the
/// program's `umask`. `own_root`: `path` is a path in fdsup's own root
/// (`fdsup run`); otherwise (a container's) the binder, which resolves it
/// in fdsup's mount namespace, is not asked, and the bind is the plain one.
pub(super) fn bind_path(
    sock: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    name: &CStr,
    path: &[u8],
    asked: &[u8],
    umask: u32,
    own_root: bool,
) -> io::Result<()> {
    let parent = path
        .iter()
        .rposition(|&c| c == b'/')
        .map_or(&b"/"[..], |i| if i == 0 { &b"/"[..] } else { &path[..i] });
    // The binder is a process of fdsup's credentials: a program's that
    // differ ([`crate::creds`]) bind here, on the thread that carries them.
    if own_root && simple(asked) && !crate::creds::switched() {
        match ask_binder(sock, dir, parent, asked, umask) {
            Some(0) => return Ok(()),
            Some(e) if e != FALLBACK => return Err(io::Error::from_raw_os_error(e)),
            _ => {}
        }
    }
    bind_through_fd(sock, dir, name)
}

/// Whether the binder can give `asked` its own name: every directory
/// component a plain name (no `.` or `..`), and a final name.
fn simple(asked: &[u8]) -> bool {
    let mut comps = asked.split(|&c| c == b'/').filter(|c| !c.is_empty());
    let ok = comps.all(|c| c != b"." && c != b"..");
    ok && !asked.ends_with(b"/") && !asked.is_empty()
}

/// The plain way: `/proc/self/fd/N/name`, with the program's umask, which
/// the calling thread took ([`crate::fs::umask`]): the kernel's `unix_bind`
/// takes it off the socket's mode even where the directory has a default
/// ACL, which then masks it further, as natively.
fn bind_through_fd(sock: BorrowedFd<'_>, dir: BorrowedFd<'_>, name: &CStr) -> io::Result<()> {
    use std::io::Write as _;
    let mut p = Vec::with_capacity(64);
    let _ = write!(p, "/proc/self/fd/{}/", dir.as_raw_fd());
    p.extend_from_slice(name.to_bytes());
    let bytes = unix_bytes(&p, false).map_err(io::Error::from_raw_os_error)?;
    sn::bind(sock, &bytes)
}

/// Sends one request to the binder (starting it first if need be): its
/// answer, `None` if there is no binder.
fn ask_binder(
    sock: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    parent: &[u8],
    asked: &[u8],
    umask: u32,
) -> Option<i32> {
    let mut state = BINDER.lock().ok()?;
    for _ in 0..2 {
        if matches!(*state, State::NotStarted) {
            *state = start().unwrap_or(State::Unavailable);
        }
        let State::Running(conn, _) = &*state else {
            return None;
        };
        match request(conn.as_fd(), sock, dir, parent, asked, umask) {
            Ok(answer) => return Some(answer),
            // It died: start another once.
            Err(_) => {
                if let State::Running(_, mut child) =
                    std::mem::replace(&mut *state, State::NotStarted)
                {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
    None
}

/// The request: the program's socket and the decided directory as
/// descriptors; the umask, the canonical parent and the asked path as
/// bytes.
fn request(
    conn: BorrowedFd<'_>,
    sock: BorrowedFd<'_>,
    dir: BorrowedFd<'_>,
    parent: &[u8],
    asked: &[u8],
    umask: u32,
) -> io::Result<i32> {
    let mut msg = Vec::with_capacity(8 + parent.len() + asked.len());
    msg.extend_from_slice(&umask.to_ne_bytes());
    msg.extend_from_slice(&u32::try_from(parent.len()).unwrap_or(0).to_ne_bytes());
    msg.extend_from_slice(parent);
    msg.extend_from_slice(asked);
    let fds = [sock, dir];
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    rustix::net::sendmsg(
        conn,
        &[IoSlice::new(&msg)],
        &mut control,
        SendFlags::empty(),
    )?;
    let mut answer = [0u8; 4];
    let n = rustix::io::read(conn, &mut answer)?;
    if n != 4 {
        return Err(io::Error::from_raw_os_error(libc::EPIPE));
    }
    Ok(i32::from_ne_bytes(answer))
}

/// Starts the binder and waits for its word that it is ready.
fn start() -> io::Result<State> {
    let (ours, theirs) = rustix::net::socketpair(
        rustix::net::AddressFamily::UNIX,
        rustix::net::SocketType::SEQPACKET,
        rustix::net::SocketFlags::CLOEXEC,
        None,
    )?;
    // The child's end is inherited (its number is passed as an argument).
    rustix::io::fcntl_setfd(&theirs, rustix::io::FdFlags::empty())?;
    let child = std::process::Command::new("/proc/self/exe")
        .arg("__binder")
        .arg(theirs.as_raw_fd().to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .spawn();
    drop(theirs);
    let child = child?;
    let pid = i32::try_from(child.id()).unwrap_or(0);
    crate::task::set_binder(pid);
    let mut ready = [0u8; 4];
    let n = rustix::io::read(&ours, &mut ready)?;
    if n != 4 || i32::from_ne_bytes(ready) != 0 {
        return Ok(State::Unavailable);
    }
    Ok(State::Running(ours, child))
}

// ---- the binder process ----------------------------------------------------

/// The binder's main (`fdsup __binder FD`): sets up its namespaces, says it
/// is ready (or why not), then serves requests until fdsup closes its end.
pub fn binder_main(fd_arg: &OsStr) -> i32 {
    let Some(fd) = std::str::from_utf8(fd_arg.as_bytes())
        .ok()
        .and_then(|s| s.parse::<RawFd>().ok())
    else {
        return 2;
    };
    let Ok(conn) = sys::net::inherited(fd) else {
        return 2;
    };
    let _ = rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::KILL));
    // Started from a worker, it inherits the umask of the program that
    // worker served last (`crate::fs::umask`): its scaffolding is its own,
    // and each bind takes the asking program's.
    rustix::process::umask(rustix::fs::Mode::empty());
    let setup = setup_namespaces();
    let status: i32 = match &setup {
        Ok(_) => 0,
        Err(e) => sys::errno_of(e),
    };
    if rustix::io::write(&conn, &status.to_ne_bytes()).is_err() {
        return 1;
    }
    let Ok(root) = setup else { return 1 };
    let mut buf = vec![0u8; 8 + 2 * libc::PATH_MAX as usize];
    loop {
        let Ok((n, fds)) = sn::recv_with_fds(conn.as_fd(), &mut buf) else {
            return 1;
        };
        if n == 0 {
            return 0;
        }
        let answer = match (fds.as_slice(), buf.get(..n)) {
            ([sock, dir], Some(req)) => serve(&root, sock.as_fd(), dir.as_fd(), req),
            _ => libc::EINVAL,
        };
        if rustix::io::write(&conn, &answer.to_ne_bytes()).is_err() {
            return 1;
        }
    }
}

/// Candidates for the binder's scratch mount point (it exists on every
/// system, and the mount is the binder's own).
const BASES: [&CStr; 4] = [c"/tmp", c"/mnt", c"/run", c"/dev"];

/// A private mount namespace (and user namespace when not root), slave to
/// the host's so that later mounts are seen; `/` held.
fn setup_namespaces() -> io::Result<OwnedFd> {
    let uid = rustix::process::getuid().as_raw();
    let gid = rustix::process::getgid().as_raw();
    if rustix::process::geteuid().is_root() {
        sys::unshare(libc::CLONE_NEWNS)?;
    } else {
        sys::unshare(libc::CLONE_NEWUSER | libc::CLONE_NEWNS)?;
        std::fs::write("/proc/self/setgroups", "deny")?;
        std::fs::write("/proc/self/uid_map", format!("0 {uid} 1"))?;
        std::fs::write("/proc/self/gid_map", format!("0 {gid} 1"))?;
    }
    rustix::mount::mount_change(
        c"/",
        MountPropagationFlags::REC | MountPropagationFlags::DOWNSTREAM,
    )?;
    sys::openat(
        libc::AT_FDCWD,
        c"/",
        libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        0,
    )
}

/// The scratch mount point for a bind into `parent`: a directory outside
/// `parent` where there is one, so that the decided directory's own mounts
/// (carried along where a mount must be recursive) never include the
/// scratch tmpfs. `(base, outside)`.
fn base_for(parent: &[u8]) -> Option<(&'static CStr, bool)> {
    let is_dir = |b: &CStr| {
        sys::lstat_mode(libc::AT_FDCWD, b).is_ok_and(|m| m & libc::S_IFMT == libc::S_IFDIR)
    };
    let under = |b: &CStr| {
        let b = b.to_bytes();
        parent == b"/"
            || b == parent
            || (b.starts_with(parent) && b.get(parent.len()) == Some(&b'/'))
    };
    BASES
        .into_iter()
        .filter(|b| is_dir(b))
        .find(|b| !under(b))
        .map(|b| (b, true))
        .or_else(|| BASES.into_iter().find(|b| is_dir(b)).map(|b| (b, false)))
}

/// One request: see the module docs. Answers 0, an errno, or [`FALLBACK`].
fn serve(root: &OwnedFd, sock: BorrowedFd<'_>, dir: BorrowedFd<'_>, req: &[u8]) -> i32 {
    let Some((umask, rest)) = req.split_first_chunk::<4>() else {
        return libc::EINVAL;
    };
    let Some((plen, rest)) = rest.split_first_chunk::<4>() else {
        return libc::EINVAL;
    };
    let plen = usize::try_from(u32::from_ne_bytes(*plen)).unwrap_or(usize::MAX);
    let (Some(parent), Some(asked)) = (rest.get(..plen), rest.get(plen..)) else {
        return libc::EINVAL;
    };
    let umask = u32::from_ne_bytes(*umask) & 0o777;
    if !simple(asked) {
        return FALLBACK;
    }
    // The directory the canonical parent reaches here must be the one
    // fdsup decided on.
    let Ok(parent_c) = CString::new(parent) else {
        return FALLBACK;
    };
    let how = OpenHow {
        flags: u64::from((libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC).unsigned_abs()),
        mode: 0,
        resolve: sys::RESOLVE_NO_SYMLINKS,
    };
    let Ok(here) = sys::openat2(root.as_raw_fd(), &parent_c, &how) else {
        return FALLBACK;
    };
    if sn::dev_ino(here.as_fd()).ok() != sn::dev_ino(dir).ok() {
        return FALLBACK;
    }
    let Some((base, outside)) = base_for(parent) else {
        return FALLBACK;
    };
    let mut mounted = 0;
    let r = bind_in_tree(root, base, outside, sock, &here, asked, umask, &mut mounted);
    // Ours only: the directory's mount, then the tmpfs (the mount point may
    // itself be a mount of the host's, which stays).
    for _ in 0..mounted {
        let _ = rustix::mount::unmount(base, UnmountFlags::DETACH);
    }
    match r {
        Ok(()) => 0,
        Err(e) => sys::errno_of(&e),
    }
}

/// Builds the tree for `asked` on a fresh tmpfs at `base`, with `dir`
/// mounted where `asked`'s directory is, and binds there.
#[allow(clippy::too_many_arguments)]
fn bind_in_tree(
    root: &OwnedFd,
    base: &CStr,
    outside: bool,
    sock: BorrowedFd<'_>,
    dir: &OwnedFd,
    asked: &[u8],
    umask: u32,
    mounted: &mut u32,
) -> io::Result<()> {
    rustix::mount::mount(
        c"fdsup-binder",
        base,
        c"tmpfs",
        MountFlags::NOSUID | MountFlags::NODEV | MountFlags::NOEXEC,
        c"mode=0755,size=64k",
    )?;
    *mounted += 1;
    let comps: Vec<&[u8]> = asked
        .split(|&c| c == b'/')
        .filter(|c| !c.is_empty())
        .collect();
    let Some((_, dirs)) = comps.split_last() else {
        return Err(io::Error::from_raw_os_error(libc::ENOENT));
    };
    let mut target = base.to_bytes().to_vec();
    for d in dirs {
        target.push(b'/');
        target.extend_from_slice(d);
        let t =
            CString::new(target.clone()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        match sys::mkdirat(libc::AT_FDCWD, &t, 0o755) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {}
            Err(e) => return Err(e),
        }
    }
    // The directory alone; with its own mounts only where it must be (a
    // user namespace refuses to bind a mount with locked mounts below
    // without them) and the scratch tmpfs is not among them.
    let src = format!("/proc/self/fd/{}", dir.as_raw_fd());
    match rustix::mount::mount_bind(src.as_str(), target.as_slice()) {
        Err(rustix::io::Errno::INVAL) if outside => {
            rustix::mount::mount_bind_recursive(src.as_str(), target.as_slice())
        }
        r => r,
    }?;
    *mounted += 1;
    let bytes = unix_bytes(asked, false).map_err(io::Error::from_raw_os_error)?;
    let old = rustix::process::umask(rustix::fs::Mode::from_bits_truncate(umask));
    let r = if asked.first() == Some(&b'/') {
        rustix::process::chroot(base)
            .map_err(io::Error::from)
            .and_then(|()| {
                let r = sn::bind(sock, &bytes);
                // Back to the real root, through its descriptor.
                rustix::process::fchdir(root)
                    .and_then(|()| rustix::process::chroot(c"."))
                    .map_err(io::Error::from)
                    .and(r)
            })
    } else {
        rustix::process::chdir(base)
            .map_err(io::Error::from)
            .and_then(|()| {
                let r = sn::bind(sock, &bytes);
                let _ = rustix::process::fchdir(root);
                r
            })
    };
    rustix::process::umask(old);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simple_paths_only() {
        assert!(simple(b"/tmp/x.sock"));
        assert!(simple(b"x.sock"));
        assert!(simple(b"a//b/x"));
        assert!(!simple(b"/tmp/../x"));
        assert!(!simple(b"./x"));
        assert!(!simple(b"a/"));
        assert!(!simple(b""));
    }
}

//! The sandbox's own Unix sockets: those a sandboxed process bound (through
//! fdsup, which carries out every `bind`), by the inode of the socket file
//! for a path and by the name for an abstract address.
//!
//! A network section that denies by default keeps the program from
//! reaching what is outside: a Unix socket of the user's agent in `/tmp`,
//! a daemon's socket. But the program's own processes talking to each other
//! over a Unix socket (a test server and its client, Python's
//! `multiprocessing` managers) reach nothing outside, as a pipe between them
//! would not; so a connect or send to a socket the sandbox bound itself is
//! decided by the file system rules alone, like the loopback of an isolated
//! program. The set is bounded ([`MAX_OWN`], oldest forgotten first): a
//! socket forgotten is then decided by the network rules again, which may
//! refuse it (never the other way round).
//!
//! A name or file is own only while the sandbox's socket still holds it.
//! Remembering names for ever let a program bind the abstract name an
//! outside service takes later (an X server's), close it, and then reach
//! that service; and a socket file's inode number is given to another file
//! once the socket is closed and its file removed. So each is kept with
//! its proof ([`Proof`]): the socket's sockfs inode, which `sock_diag`
//! (`NETLINK_SOCK_DIAG`, one question at a time on a socket of fdsup's
//! namespace) is asked about at each use, where the socket lives in fdsup's
//! network namespace; the socket file held open (pinned) where it lives in
//! the program's own (`isolate`), which fdsup's `sock_diag` cannot see.
//! The file of a socket in fdsup's namespace must be the one the socket
//! itself names (`UNIX_DIAG_VFS`'s inode), so that a file put at the name
//! between the bind and fdsup's look is not taken for it; a pinned one is
//! taken from the name and must be a socket file with no other name.
//! An own name costs a question to the kernel per connect or send to it; a
//! socket whose name is another's costs nothing more.

use std::collections::{HashMap, VecDeque};
use std::ffi::CStr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd, RawFd};
use std::sync::Mutex;

use crate::limits::{OWN_PINNED as MAX_PINNED, OWN_SOCKETS as MAX_OWN};
use crate::sys::{self, net as sn};

/// One remembered socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A socket file: (device, inode).
    Inode(u64, u64),
    /// An abstract name (without the leading NUL).
    Name(Vec<u8>),
}

/// How a remembered socket is known to be still the sandbox's.
#[derive(Debug)]
enum Proof {
    /// The sandbox's socket, by its sockfs inode: asked of `sock_diag` at
    /// each use (still open, still holding this name or file).
    Live(u32),
    /// The socket file itself, held open (`O_PATH`) so that its inode
    /// number cannot be given to another file: for a socket in the
    /// program's own network namespace (`isolate`), which fdsup's
    /// `sock_diag` cannot see.
    Pinned {
        /// Held, never read.
        _file: OwnedFd,
    },
}

#[derive(Debug, Default)]
struct Set {
    keys: HashMap<Key, Proof>,
    order: VecDeque<Key>,
    pinned: usize,
}

/// The sandbox's own Unix sockets.
#[derive(Debug, Default)]
pub struct OwnSockets {
    set: Mutex<Set>,
    /// A `sock_diag` socket of fdsup's namespace (made at first use; one
    /// question at a time).
    diag: Mutex<Option<OwnedFd>>,
}

impl OwnSockets {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, k: Key, proof: Proof) {
        let Ok(mut s) = self.set.lock() else { return };
        if s.keys.contains_key(&k) {
            s.order.retain(|o| o != &k);
        }
        let pins = matches!(proof, Proof::Pinned { .. });
        if let Some(Proof::Pinned { .. }) = s.keys.insert(k.clone(), proof) {
            s.pinned -= 1;
        }
        s.order.push_back(k);
        if pins {
            s.pinned += 1;
        }
        // The oldest go first; pinned ones also when too many are held.
        while s.order.len() > MAX_OWN || s.pinned > MAX_PINNED {
            let Some(old) = s.order.pop_front() else {
                break;
            };
            if let Some(Proof::Pinned { .. }) = s.keys.remove(&old) {
                s.pinned -= 1;
            }
        }
    }

    fn forget(&self, k: &Key) {
        let Ok(mut s) = self.set.lock() else { return };
        if let Some(p) = s.keys.remove(k) {
            if matches!(p, Proof::Pinned { .. }) {
                s.pinned -= 1;
            }
            s.order.retain(|o| o != k);
        }
    }

    /// What `sock_diag` says of the socket with sockfs inode `ino` (`None`:
    /// closed, or not to be known).
    fn ask(&self, ino: u32) -> Option<sn::UnixDiag> {
        let mut d = self.diag.lock().ok()?;
        if d.is_none() {
            *d = sn::sock_diag_socket().ok();
        }
        sn::unix_diag(d.as_ref()?.as_fd(), ino).ok().flatten()
    }

    /// Whether `k` is remembered, and its socket still the sandbox's;
    /// `is_it` checks what `sock_diag` says. Forgotten when not.
    fn holds(&self, k: &Key, is_it: impl Fn(&sn::UnixDiag) -> bool) -> bool {
        let live = {
            let Ok(s) = self.set.lock() else { return false };
            match s.keys.get(k) {
                None => return false,
                Some(Proof::Pinned { .. }) => return true,
                Some(Proof::Live(ino)) => *ino,
            }
        };
        if self.ask(live).is_some_and(|d| is_it(&d)) {
            return true;
        }
        self.forget(k);
        false
    }

    /// A sandboxed socket `sock` was bound to the file `name` in `dir`.
    /// In fdsup's namespace the file at the name must be the socket's own
    /// (`sock_diag` gives its inode), so that a file put at the name
    /// meanwhile is not taken for it; in the program's own (`in_ours`
    /// false) the file found there is pinned, if it is a socket with no
    /// other name.
    pub fn bound_file(&self, sock: BorrowedFd<'_>, in_ours: bool, dir: RawFd, name: &CStr) {
        if in_ours {
            let Some(ino) = sn::socket_ino(sock)
                .ok()
                .and_then(|i| u32::try_from(i).ok())
            else {
                return;
            };
            let Some((_, vino)) = self.ask(ino).and_then(|d| d.vfs) else {
                return;
            };
            // The file at the name must be the socket's: the same inode
            // number (in one directory, one file system). Its device is
            // taken from `stat`, which is what a connect compares: a btrfs
            // subvolume's or an overlay's is not the superblock's that
            // `sock_diag` gives.
            if let Ok((dev, fino)) = sys::lstat_id(dir, name) {
                if fino == vino {
                    self.add(Key::Inode(dev, fino), Proof::Live(ino));
                }
            }
            return;
        }
        let Ok(pin) = sys::open_path_nofollow(dir, name) else {
            return;
        };
        if let Ok((dev, ino, mode, nlink)) = sys::fstat_id(pin.as_fd()) {
            if mode & libc::S_IFMT == libc::S_IFSOCK && nlink == 1 {
                self.add(Key::Inode(dev, ino), Proof::Pinned { _file: pin });
            }
        }
    }

    /// Whether the socket file `(dev, ino)` is one the sandbox bound, and
    /// its socket still open.
    pub fn has_inode(&self, dev: u64, ino: u64) -> bool {
        self.holds(&Key::Inode(dev, ino), |d| d.vfs.is_some_and(|v| v.1 == ino))
    }

    /// A sandboxed socket `sock` holds the abstract `name`.
    pub fn add_name(&self, sock: BorrowedFd<'_>, name: &[u8]) {
        let Some(ino) = sn::socket_ino(sock)
            .ok()
            .and_then(|i| u32::try_from(i).ok())
        else {
            return;
        };
        let k = Key::Name(name.to_vec());
        // Recorded with this socket already; with another (a name bound
        // again after its first socket closed), the proof is this one's.
        let known = self
            .set
            .lock()
            .is_ok_and(|s| matches!(s.keys.get(&k), Some(Proof::Live(i)) if *i == ino));
        if !known {
            self.add(k, Proof::Live(ino));
        }
    }

    /// Whether the abstract `name` is held by a sandboxed socket now.
    pub fn has_name(&self, name: &[u8]) -> bool {
        self.holds(&Key::Name(name.to_vec()), |d| {
            d.name.first() == Some(&0) && d.name.get(1..) == Some(name)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::{SocketAddr, UnixListener};

    fn abstract_listener(name: &str) -> UnixListener {
        use std::os::linux::net::SocketAddrExt;
        let addr = SocketAddr::from_abstract_name(name).unwrap();
        UnixListener::bind_addr(&addr).unwrap()
    }

    fn scratch(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("fdsup-own-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn an_abstract_name_is_own_while_the_sandbox_s_socket_holds_it() {
        let own = OwnSockets::new();
        let name = format!("fdsup-own-test-{}", std::process::id());
        let l = abstract_listener(&name);
        own.add_name(l.as_fd(), name.as_bytes());
        assert!(own.has_name(name.as_bytes()));
        assert!(!own.has_name(b"another"));
        // Closed, and the name taken by another socket: not own, and
        // forgotten.
        drop(l);
        let other = abstract_listener(&name);
        assert!(!own.has_name(name.as_bytes()));
        assert!(own.set.lock().unwrap().keys.is_empty());
        drop(other);
        // Bound again by the sandbox while still remembered with the old
        // socket: own again (the proof is replaced).
        let first = abstract_listener(&name);
        own.add_name(first.as_fd(), name.as_bytes());
        drop(first);
        let again = abstract_listener(&name);
        own.add_name(again.as_fd(), name.as_bytes());
        assert!(own.has_name(name.as_bytes()));
    }

    #[test]
    fn a_socket_file_must_be_the_socket_s_own() {
        use std::os::unix::fs::MetadataExt;
        let own = OwnSockets::new();
        let d = scratch("file");
        let dir = std::fs::File::open(&d).unwrap();
        let dirfd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        // Another file put at the name before fdsup looks: not taken.
        let l = UnixListener::bind(d.join("s.sock")).unwrap();
        std::fs::rename(d.join("s.sock"), d.join("moved.sock")).unwrap();
        std::fs::write(d.join("s.sock"), b"x").unwrap();
        own.bound_file(l.as_fd(), true, dirfd, c"s.sock");
        let planted = std::fs::metadata(d.join("s.sock")).unwrap();
        assert!(!own.has_inode(planted.dev(), planted.ino()));
        assert!(own.set.lock().unwrap().keys.is_empty());
        // The socket's own file is; closed, no longer (its inode may be
        // reused).
        let l2 = UnixListener::bind(d.join("t.sock")).unwrap();
        own.bound_file(l2.as_fd(), true, dirfd, c"t.sock");
        let t = std::fs::metadata(d.join("t.sock")).unwrap();
        assert!(own.has_inode(t.dev(), t.ino()));
        drop(l2);
        assert!(!own.has_inode(t.dev(), t.ino()));
        drop(l);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn a_pinned_file_must_be_a_socket_with_one_name() {
        use std::os::unix::fs::MetadataExt;
        let own = OwnSockets::new();
        let d = scratch("pin");
        let dir = std::fs::File::open(&d).unwrap();
        let dirfd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        let l = UnixListener::bind(d.join("a.sock")).unwrap();
        own.bound_file(l.as_fd(), false, dirfd, c"a.sock");
        let a = std::fs::metadata(d.join("a.sock")).unwrap();
        assert!(own.has_inode(a.dev(), a.ino()));
        // Pinned: still own when closed (its number cannot be reused).
        drop(l);
        assert!(own.has_inode(a.dev(), a.ino()));
        // A second name (a hard link to someone else's socket) is refused.
        let l2 = UnixListener::bind(d.join("b.sock")).unwrap();
        std::fs::hard_link(d.join("b.sock"), d.join("c.sock")).unwrap();
        own.bound_file(l2.as_fd(), false, dirfd, c"b.sock");
        let b = std::fs::metadata(d.join("b.sock")).unwrap();
        assert!(!own.has_inode(b.dev(), b.ino()));
        std::fs::write(d.join("f"), b"x").unwrap();
        own.bound_file(l2.as_fd(), false, dirfd, c"f");
        assert_eq!(own.set.lock().unwrap().keys.len(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn remembers_at_most_so_many_and_forgets_the_oldest() {
        let own = OwnSockets::new();
        let d = scratch("bound");
        let dir = std::fs::File::open(&d).unwrap();
        let dirfd = std::os::fd::AsRawFd::as_raw_fd(&dir);
        let mut ls = Vec::new();
        for i in 0..MAX_PINNED + 3 {
            let name = format!("{i}.sock");
            let l = UnixListener::bind(d.join(&name)).unwrap();
            let c = std::ffi::CString::new(name).unwrap();
            own.bound_file(l.as_fd(), false, dirfd, &c);
            ls.push(l);
        }
        let s = own.set.lock().unwrap();
        assert_eq!(s.pinned, MAX_PINNED);
        assert_eq!(s.keys.len(), MAX_PINNED);
        assert_eq!(s.order.len(), MAX_PINNED);
        drop(s);
        drop(ls);
        std::fs::remove_dir_all(&d).unwrap();
    }
}

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

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;

use crate::limits::OWN_SOCKETS as MAX_OWN;

/// One remembered socket.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    /// A socket file: (device, inode).
    Inode(u64, u64),
    /// An abstract name (without the leading NUL).
    Name(Vec<u8>),
}

#[derive(Debug, Default)]
struct Set {
    keys: HashSet<Key>,
    order: VecDeque<Key>,
}

/// The sandbox's own Unix sockets.
#[derive(Debug, Default)]
pub struct OwnSockets {
    set: Mutex<Set>,
}

impl OwnSockets {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, k: Key) {
        let Ok(mut s) = self.set.lock() else { return };
        if s.keys.contains(&k) {
            return;
        }
        if s.order.len() >= MAX_OWN {
            if let Some(old) = s.order.pop_front() {
                s.keys.remove(&old);
            }
        }
        s.keys.insert(k.clone());
        s.order.push_back(k);
    }

    fn has(&self, k: &Key) -> bool {
        self.set.lock().is_ok_and(|s| s.keys.contains(k))
    }

    /// A sandboxed process bound the socket file `(dev, ino)`.
    pub fn add_inode(&self, dev: u64, ino: u64) {
        self.add(Key::Inode(dev, ino));
    }

    /// Whether the socket file `(dev, ino)` is one the sandbox bound.
    pub fn has_inode(&self, dev: u64, ino: u64) -> bool {
        self.has(&Key::Inode(dev, ino))
    }

    /// A sandboxed socket holds the abstract `name`.
    pub fn add_name(&self, name: &[u8]) {
        self.add(Key::Name(name.to_vec()));
    }

    /// Whether the abstract `name` is held by a sandboxed socket.
    pub fn has_name(&self, name: &[u8]) -> bool {
        self.has(&Key::Name(name.to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_and_forgets_the_oldest() {
        let own = OwnSockets::new();
        own.add_inode(1, 2);
        own.add_name(b"x");
        assert!(own.has_inode(1, 2));
        assert!(own.has_name(b"x"));
        assert!(!own.has_inode(2, 1));
        assert!(!own.has_name(b"y"));
        for i in 0..MAX_OWN as u64 {
            own.add_inode(9, i);
        }
        assert!(!own.has_inode(1, 2), "the oldest is forgotten");
        assert!(own.has_inode(9, MAX_OWN as u64 - 1));
        // Adding again does not duplicate.
        own.add_inode(9, 5);
        assert_eq!(own.set.lock().unwrap().order.len(), MAX_OWN);
    }
}

//! The racing phase: descriptors closed and reused, and path memory
//! rewritten, by other threads while calls are in flight.
//!
//! Its outcome is not deterministic, so nothing of it is compared call by
//! call. What is checked (by the driver): the executor finishes within its
//! time limit, does not crash, the supervisor still answers afterwards
//! (`alive-after-race`), nothing outside `race/` changed differently from
//! the native run, and `race/` holds only names the phase uses.
//!
//! Everything the phase touches lives in `race/`: its directories are the
//! only descriptors the racing numbers (100-107) ever hold, and the names it
//! uses (and the rewritten path) have no `/`... except `sub/x`, which stays
//! inside too.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::exec::Config;
use crate::rng::Rng;
use crate::sys::{self, Arena};

/// The names the phase may create in `race/` (and its subdirectories).
pub const NAMES: &[&str] = &["a", "b", "c", "x", "y", "sub"];

/// The descriptor numbers the racers fight over.
const FIRST: i32 = 100;
const COUNT: i32 = 8;

/// Runs the phase (working directory: the scratch tree) and returns to the
/// scratch tree.
pub fn run(cfg: &Config, _arena: &mut Arena) {
    let Ok(mut mine) = Arena::new() else {
        println!("race skipped: no arena");
        return;
    };
    let mut dir = cfg.scratch.clone();
    dir.extend_from_slice(b"/race\0");
    mine.write(0, &dir);
    let chdir = sys::raw(libc::SYS_chdir, [mine.addr(0), 0, 0, 0, 0, 0]);
    if chdir.is_err() {
        println!("race skipped: chdir race: {}", crate::exec::result(chdir));
        return;
    }
    // Directories (and a socket pair) the racing numbers are copies of.
    let mut sources = Vec::new();
    for n in ["a", "b", "sub"] {
        mine.write(0, format!("{n}\0").as_bytes());
        let _ = sys::raw(libc::SYS_mkdir, [mine.addr(0), 0o755, 0, 0, 0, 0]);
        let fd = sys::raw(
            libc::SYS_open,
            [
                mine.addr(0),
                (libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) as u64,
                0,
                0,
                0,
                0,
            ],
        );
        if let Ok(fd) = fd {
            sources.push(i32::try_from(fd).unwrap_or(-1));
        }
    }
    let pair = sys::socketpair(libc::SOCK_DGRAM | libc::SOCK_CLOEXEC).unwrap_or((-1, -1));
    sources.push(pair.0);
    for i in 0..COUNT {
        if let Some(&s) = sources.get(i as usize % sources.len().max(1)) {
            let _ = sys::dup2(s, FIRST + i);
        }
    }

    let done = AtomicBool::new(false);
    let mut shared = match Arena::new() {
        Ok(a) => a,
        Err(_) => return,
    };
    shared.write(0, b"a\0");
    let shared_addr = shared.addr(0);
    let seed = cfg.seed;
    let calls = std::sync::atomic::AtomicU64::new(0);
    std::thread::scope(|s| {
        let caller = s.spawn(|| {
            let Ok(mut a) = Arena::new() else { return };
            let mut r = Rng::new(seed, 10);
            for _ in 0..400 {
                one_call(&mut r, &mut a, shared_addr, pair.1);
                calls.fetch_add(1, Ordering::Relaxed);
            }
        });
        let caller2 = s.spawn(|| {
            let Ok(mut a) = Arena::new() else { return };
            let mut r = Rng::new(seed, 11);
            for _ in 0..400 {
                one_call(&mut r, &mut a, shared_addr, pair.1);
                calls.fetch_add(1, Ordering::Relaxed);
            }
        });
        s.spawn(|| {
            let mut r = Rng::new(seed, 12);
            while !done.load(Ordering::Relaxed) {
                let n = FIRST + r.below(COUNT as u64) as i32;
                match r.below(3) {
                    0 => sys::close(n),
                    _ => {
                        if let Some(&src) = sources.get(r.index(sources.len().max(1))) {
                            let _ = sys::dup2(src, n);
                        }
                    }
                }
            }
        });
        let sh = &mut shared;
        let done_ref = &done;
        s.spawn(move || {
            let mut r = Rng::new(seed, 13);
            let paths: [&[u8]; 4] = [b"a\0", b"sub/x\0", b"x\0", b"b\0"];
            while !done_ref.load(Ordering::Relaxed) {
                let p = r.pick(&paths);
                sh.write(0, p);
            }
        });
        let _ = caller.join();
        let _ = caller2.join();
        done.store(true, Ordering::Relaxed);
    });
    for i in 0..COUNT {
        sys::close(FIRST + i);
    }
    for s in sources {
        sys::close(s);
    }
    sys::close(pair.1);
    let mut back = cfg.scratch.clone();
    back.push(0);
    mine.write(0, &back);
    let r = sys::raw(libc::SYS_chdir, [mine.addr(0), 0, 0, 0, 0, 0]);
    println!(
        "race calls={} chdir-back={}",
        calls.load(Ordering::Relaxed),
        crate::exec::result(r)
    );
}

/// One call on a racing number, with the racing path or a fixed name.
fn one_call(r: &mut Rng, a: &mut Arena, shared: u64, peer: i32) {
    let fd = (FIRST + r.below(COUNT as u64) as i32) as u64;
    let fd2 = (FIRST + r.below(COUNT as u64) as i32) as u64;
    let name = *r.pick(NAMES);
    a.write(0, format!("{name}\0").as_bytes());
    let path = if r.chance(1, 3) { shared } else { a.addr(0) };
    a.write(64, format!("{}\0", r.pick(NAMES)).as_bytes());
    let other = a.addr(64);
    let buf = a.addr(4096);
    let flags = (libc::O_CREAT | libc::O_NONBLOCK | libc::O_CLOEXEC) as u64
        | *r.pick(&[0u64, 1, 2, libc::O_DIRECTORY as u64, libc::O_TRUNC as u64]);
    let op = r.below(12);
    let res = match op {
        0 | 1 => sys::raw(libc::SYS_openat, [fd, path, flags, 0o644, 0, 0]),
        2 => sys::raw(libc::SYS_mkdirat, [fd, path, 0o755, 0, 0, 0]),
        3 => sys::raw(libc::SYS_unlinkat, [fd, path, r.below(2) * 0x200, 0, 0, 0]),
        4 => sys::raw(libc::SYS_getdents64, [fd, buf, 4096, 0, 0, 0]),
        5 => sys::raw(libc::SYS_fchdir, [fd, 0, 0, 0, 0, 0]),
        6 => sys::raw(libc::SYS_newfstatat, [fd, path, buf, 0, 0, 0]),
        7 => sys::raw(libc::SYS_renameat2, [fd, path, fd2, other, r.below(3), 0]),
        8 => sys::raw(libc::SYS_fchmod, [fd, 0o700 | r.below(0o100), 0, 0, 0, 0]),
        9 => sys::raw(libc::SYS_symlinkat, [other, fd, path, 0, 0, 0]),
        10 => {
            // Pass a racing number over the socket pair; receive and close.
            let mut msg = [0u8; 56];
            let mut ctl = Vec::new();
            ctl.extend_from_slice(&20u64.to_ne_bytes());
            ctl.extend_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
            ctl.extend_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
            ctl.extend_from_slice(&(fd2 as u32).to_ne_bytes());
            ctl.extend_from_slice(&[0; 4]);
            a.write(8192, &ctl);
            a.write(8320, b"r");
            let mut iov = a.addr(8320).to_ne_bytes().to_vec();
            iov.extend_from_slice(&1u64.to_ne_bytes());
            a.write(8256, &iov);
            msg[16..24].copy_from_slice(&a.addr(8256).to_ne_bytes());
            msg[24..32].copy_from_slice(&1u64.to_ne_bytes());
            msg[32..40].copy_from_slice(&a.addr(8192).to_ne_bytes());
            msg[40..48].copy_from_slice(&24u64.to_ne_bytes());
            a.write(8400, &msg);
            let r = sys::raw(
                libc::SYS_sendmsg,
                [
                    fd,
                    a.addr(8400),
                    (libc::MSG_DONTWAIT | libc::MSG_NOSIGNAL) as u64,
                    0,
                    0,
                    0,
                ],
            );
            if let Ok(m) = sys::recv(peer) {
                for f in m.fds {
                    sys::close(f);
                }
            }
            r
        }
        _ => sys::raw(libc::SYS_linkat, [fd, path, fd2, other, 0, 0]),
    };
    // A descriptor an open returned is not the racers': close it at once.
    if let (0 | 1, Ok(v)) = (op, res) {
        sys::close(i32::try_from(v).unwrap_or(-1));
    }
}

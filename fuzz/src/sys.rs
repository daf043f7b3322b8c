//! Every raw system call of the fuzzer, and its one piece of raw memory.
//!
//! The only module of the crate allowed `unsafe`. The executor's calls are
//! deliberately hostile, so their pointers are confined: every pointer it
//! passes is either into the [`Arena`] (a private mapping no Rust object
//! lives in, read and written only through copies) or an address that is
//! never mapped; see [`Arena::bad`].
#![allow(unsafe_code)]

use std::ffi::CStr;
use std::io;
use std::os::fd::RawFd;

/// A page.
pub const PAGE: usize = 4096;

/// `syscall(nr, a...)`: the return value, or the errno.
pub fn raw(nr: i64, a: [u64; 6]) -> Result<i64, i32> {
    // SAFETY: the arguments are numbers, descriptors, or pointers that are
    // either into the arena (whose contents the kernel may read and write
    // freely: nothing else refers to them) or never mapped (the kernel
    // answers EFAULT). A syscall cannot touch our other memory through them.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// The calling thread's errno.
pub fn errno() -> i32 {
    io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// The arena: memory the executor's syscalls point into.
///
/// Layout: a main zone, then [`END_ZONES`] zones each followed by a
/// `PROT_NONE` guard page (an argument placed "at the end" of a zone ends
/// exactly at a guard), then one read-only page of `'a'` and a last guard.
///
/// # Invariants
/// `base` is a private anonymous mapping of `total` bytes owned by this
/// value; no Rust reference to it exists outside this type's methods.
#[derive(Debug)]
pub struct Arena {
    base: *mut u8,
    total: usize,
}

// SAFETY: the mapping is owned by the value; moving it to another thread
// moves that ownership.
unsafe impl Send for Arena {}

/// The main zone's size.
pub const MAIN: usize = 512 * 1024;
/// Each end zone's size.
pub const ZONE: usize = 128 * 1024;
/// How many end zones.
pub const END_ZONES: usize = 4;

impl Arena {
    /// Maps a new arena anywhere.
    pub fn new() -> io::Result<Self> {
        Self::new_at(0)
    }

    /// Maps a new arena at `addr` (0: anywhere). The executor's own is at a
    /// fixed address, so that its calls get the same pointers in every run
    /// (a huge length past a pointer faults or not depending on where the
    /// pointer is).
    pub fn new_at(addr: usize) -> io::Result<Self> {
        let total = MAIN + PAGE + END_ZONES * (ZONE + PAGE) + 2 * PAGE;
        let fixed = if addr == 0 {
            0
        } else {
            libc::MAP_FIXED_NOREPLACE
        };
        // SAFETY: a fresh anonymous mapping; MAP_FIXED_NOREPLACE never
        // replaces an existing one.
        let p = unsafe {
            libc::mmap(
                addr as *mut libc::c_void,
                total,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | fixed,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let a = Self {
            base: p.cast(),
            total,
        };
        let protect = |off: usize, len: usize, prot: i32| -> io::Result<()> {
            // SAFETY: within our own mapping.
            let r = unsafe { libc::mprotect(a.base.add(off).cast(), len, prot) };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        };
        protect(MAIN, PAGE, libc::PROT_NONE)?;
        for z in 0..END_ZONES {
            protect(a.zone_end(z), PAGE, libc::PROT_NONE)?;
        }
        let ro = a.ro_offset();
        // SAFETY: the page is ours and writable until the mprotect below.
        unsafe { std::ptr::write_bytes(a.base.add(ro), b'a', PAGE) };
        protect(ro, PAGE, libc::PROT_READ)?;
        protect(ro + PAGE, PAGE, libc::PROT_NONE)?;
        Ok(a)
    }

    /// Offset of end zone `z`'s start.
    pub fn zone_start(&self, z: usize) -> usize {
        MAIN + PAGE + z * (ZONE + PAGE)
    }

    /// Offset of end zone `z`'s end (its guard page).
    pub fn zone_end(&self, z: usize) -> usize {
        self.zone_start(z) + ZONE
    }

    fn ro_offset(&self) -> usize {
        MAIN + PAGE + END_ZONES * (ZONE + PAGE)
    }

    /// The address of offset `off`.
    pub fn addr(&self, off: usize) -> u64 {
        self.base as u64 + off as u64
    }

    /// The address of a bad pointer of kind `b`.
    pub fn bad(&self, b: crate::model::Bad) -> u64 {
        use crate::model::Bad::*;
        match b {
            Null => 0,
            One => 1,
            Low => 0x1000,
            Guard => self.addr(MAIN),
            Kernel => 0xffff_8000_0000_0000,
            NonCanonical => 0xdead_0000_0000_0000,
            Top => u64::MAX - 0xff,
            ReadOnly => self.addr(self.ro_offset()),
        }
    }

    /// Copies `data` to offset `off` (which must be in a writable zone;
    /// anything else is silently cut off).
    pub fn write(&mut self, off: usize, data: &[u8]) {
        if data.len() > self.room(off) {
            return;
        }
        // SAFETY: within a writable zone of our mapping (checked above).
        unsafe { std::ptr::copy_nonoverlapping(data.as_ptr(), self.base.add(off), data.len()) };
    }

    /// How many bytes from offset `off` are writable (to the end of its
    /// zone), 0 if `off` is in no writable zone.
    pub fn room(&self, off: usize) -> usize {
        if off < MAIN {
            return MAIN - off;
        }
        (0..END_ZONES)
            .find(|&z| off >= self.zone_start(z) && off < self.zone_end(z))
            .map_or(0, |z| self.zone_end(z) - off)
    }

    /// Copies `len` bytes from offset `off` (the readable part only).
    pub fn read(&self, off: usize, len: usize) -> Vec<u8> {
        let n = len.min(self.room(off));
        if n == 0 {
            return Vec::new();
        }
        let mut v = vec![0u8; n];
        // SAFETY: within a writable (so readable) zone, checked above.
        unsafe { std::ptr::copy_nonoverlapping(self.base.add(off), v.as_mut_ptr(), n) };
        v
    }

    /// Zeroes the first `main` bytes of the main zone and the first
    /// `zones` end zones.
    pub fn zero(&mut self, main: usize, zones: usize) {
        // SAFETY: within the main zone and the end zones of our mapping.
        unsafe {
            std::ptr::write_bytes(self.base, 0, main.min(MAIN));
            for z in 0..zones.min(END_ZONES) {
                std::ptr::write_bytes(self.base.add(self.zone_start(z)), 0, ZONE);
            }
        }
    }

    /// Zeroes every writable zone.
    pub fn zero_all(&mut self) {
        // SAFETY: the main zone and each end zone are writable parts of our
        // mapping.
        unsafe {
            std::ptr::write_bytes(self.base, 0, MAIN);
            for z in 0..END_ZONES {
                std::ptr::write_bytes(self.base.add(self.zone_start(z)), 0, ZONE);
            }
        }
    }

    /// The offset of an address inside the arena, if it is one.
    pub fn offset_of(&self, addr: u64) -> Option<usize> {
        let b = self.base as u64;
        if addr >= b && addr < b + self.total as u64 {
            usize::try_from(addr - b).ok()
        } else {
            None
        }
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        // SAFETY: our own mapping, unmapped once.
        unsafe { libc::munmap(self.base.cast(), self.total) };
    }
}

fn check(r: libc::c_int) -> io::Result<libc::c_int> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `close(fd)`, result ignored.
pub fn close(fd: RawFd) {
    // SAFETY: closes a number; the executor owns every number it closes.
    unsafe { libc::close(fd) };
}

/// `close_range(first, ~0, 0)`: the executor starts with 0-2 only.
pub fn close_from(first: u32) {
    // SAFETY: no Rust object holds a descriptor at this point of start-up.
    unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, 0) };
}

/// `umask(m)`.
pub fn umask(m: u32) {
    // SAFETY: no memory involved.
    unsafe { libc::umask(m) };
}

/// `write(fd, data)`.
pub fn write(fd: RawFd, data: &[u8]) -> Result<i64, i32> {
    // SAFETY: `data` is a valid slice for its length.
    let r = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r as i64)
    }
}

/// `read(fd, n)`.
pub fn read(fd: RawFd, n: usize) -> Result<Vec<u8>, i32> {
    let mut v = vec![0u8; n];
    // SAFETY: `v` has room for `n` bytes.
    let r = unsafe { libc::read(fd, v.as_mut_ptr().cast(), n) };
    if r < 0 {
        return Err(errno());
    }
    v.truncate(r as usize);
    Ok(v)
}

/// `lseek(fd, 0, SEEK_SET)`.
pub fn rewind(fd: RawFd) -> Result<i64, i32> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::lseek(fd, 0, libc::SEEK_SET) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `dup(fd)`.
pub fn dup(fd: RawFd) -> Result<RawFd, i32> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::dup(fd) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `dup2(fd, to)`.
pub fn dup2(fd: RawFd, to: RawFd) -> Result<RawFd, i32> {
    // SAFETY: no memory involved; `to` is a number the caller owns.
    let r = unsafe { libc::dup2(fd, to) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `socket(domain, ty, proto)`.
pub fn socket(domain: i32, ty: i32, proto: i32) -> Result<RawFd, i32> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::socket(domain, ty, proto) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `socketpair(AF_UNIX, ty)`.
pub fn socketpair(ty: i32) -> Result<(RawFd, RawFd), i32> {
    let mut sv = [0; 2];
    // SAFETY: `sv` has room for two descriptors.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, ty, 0, sv.as_mut_ptr()) };
    if r < 0 {
        Err(errno())
    } else {
        Ok((sv[0], sv[1]))
    }
}

/// `listen(fd, 64)`.
pub fn listen(fd: RawFd) -> Result<i64, i32> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::listen(fd, 64) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(0)
    }
}

/// `setsockopt(fd, SOL_SOCKET, opt, 1)`.
pub fn sockopt_on(fd: RawFd, opt: i32) -> Result<i64, i32> {
    let one: libc::c_int = 1;
    // SAFETY: `one` is a valid int for its size.
    let r = unsafe {
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            opt,
            std::ptr::from_ref(&one).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r < 0 {
        Err(errno())
    } else {
        Ok(0)
    }
}

/// `inotify_init1(IN_NONBLOCK)`.
pub fn inotify() -> Result<RawFd, i32> {
    // SAFETY: no memory involved.
    let r = unsafe { libc::inotify_init1(libc::IN_NONBLOCK) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(r)
    }
}

/// `bind(fd, addr)` with a built address (the executor's own sockets).
pub fn bind_bytes(fd: RawFd, addr: &[u8]) -> Result<(), i32> {
    // SAFETY: `addr` is valid for its length.
    let r = unsafe { libc::bind(fd, addr.as_ptr().cast(), addr.len() as libc::socklen_t) };
    if r < 0 {
        Err(errno())
    } else {
        Ok(())
    }
}

/// The port a socket is bound to (`getsockname`).
pub fn local_port(fd: RawFd) -> Option<u16> {
    let mut ss: libc::sockaddr_storage =
        // SAFETY: all-zero is a valid sockaddr_storage.
        unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    // SAFETY: `ss` has room for `len` bytes.
    let r = unsafe { libc::getsockname(fd, std::ptr::from_mut(&mut ss).cast(), &mut len) };
    if r < 0 {
        return None;
    }
    let bytes: [u8; 4] = {
        let p = std::ptr::from_ref(&ss).cast::<u8>();
        // SAFETY: sockaddr_storage is at least 4 bytes; both families
        // keep the port at offset 2.
        unsafe { [*p, *p.add(1), *p.add(2), *p.add(3)] }
    };
    Some(u16::from_be_bytes([bytes[2], bytes[3]]))
}

/// What `recvmsg(fd, MSG_DONTWAIT)` got: data, descriptors passed, and
/// `(uid, gid)` of credentials passed.
#[derive(Debug)]
pub struct Received {
    /// The bytes.
    pub data: Vec<u8>,
    /// The descriptors received (the caller closes them).
    pub fds: Vec<RawFd>,
    /// Credentials, without the pid.
    pub creds: Vec<(u32, u32)>,
    /// `MSG_CTRUNC` and the like.
    pub flags: i32,
}

/// One non-blocking `recvmsg`.
pub fn recv(fd: RawFd) -> Result<Received, i32> {
    let mut data = vec![0u8; 65536];
    let mut control = vec![0u64; 512];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: all-zero is a valid msghdr.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len() * 8;
    // SAFETY: `msg` points at buffers valid for their lengths.
    let r = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT | libc::MSG_CMSG_CLOEXEC) };
    if r < 0 {
        return Err(errno());
    }
    data.truncate(r as usize);
    let mut out = Received {
        data,
        fds: Vec::new(),
        creds: Vec::new(),
        flags: msg.msg_flags,
    };
    // SAFETY: the CMSG macros walk the control buffer the kernel filled,
    // bounded by msg_controllen.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(&msg);
        while !c.is_null() {
            let h = &*c;
            let data_len = h.cmsg_len.saturating_sub(libc::CMSG_LEN(0) as usize);
            let p = libc::CMSG_DATA(c);
            if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_RIGHTS {
                for i in 0..data_len / 4 {
                    out.fds
                        .push(std::ptr::read_unaligned(p.add(4 * i).cast::<i32>()));
                }
            } else if h.cmsg_level == libc::SOL_SOCKET && h.cmsg_type == libc::SCM_CREDENTIALS {
                let u = std::ptr::read_unaligned(p.cast::<libc::ucred>());
                out.creds.push((u.uid, u.gid));
            }
            c = libc::CMSG_NXTHDR(&msg, c);
        }
    }
    Ok(out)
}

/// `accept4(fd, SOCK_CLOEXEC)` after waiting up to `ms` for a connection.
pub fn accept(fd: RawFd, ms: i32) -> Option<RawFd> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    if r <= 0 || p.revents & libc::POLLIN == 0 {
        return None;
    }
    // SAFETY: null address pointers are allowed.
    let a = unsafe {
        libc::accept4(
            fd,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
        )
    };
    (a >= 0).then_some(a)
}

/// The file type bits of what `fd` is (`fstat`).
pub fn fd_type(fd: RawFd) -> Option<u32> {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` has room for a stat.
    let r = unsafe { libc::fstat(fd, &mut st) };
    (r == 0).then_some(st.st_mode & libc::S_IFMT)
}

/// Whether `fd` is a file with no name left (link count 0: unlinked, a
/// memfd, an O_TMPFILE).
pub fn unlinked(fd: RawFd) -> bool {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` has room for a stat.
    let r = unsafe { libc::fstat(fd, &mut st) };
    r == 0 && st.st_nlink == 0
}

/// Whether `fd` is the root of /proc (`proc_dev` its device).
pub fn is_proc_root(fd: RawFd, proc_dev: u64) -> bool {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `st` has room for a stat.
    let r = unsafe { libc::fstat(fd, &mut st) };
    r == 0 && st.st_dev == proc_dev && st.st_ino == 1
}

/// The access and modification times of the directory `path` (followed:
/// the directory a name is made in).
pub fn times_of(dir: RawFd, path: &CStr) -> Option<[libc::timespec; 2]> {
    // SAFETY: all-zero is a valid stat.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` has room for a stat.
    let r = unsafe { libc::fstatat(dir, path.as_ptr(), &mut st, 0) };
    (r == 0).then_some([
        libc::timespec {
            tv_sec: st.st_atime,
            tv_nsec: st.st_atime_nsec,
        },
        libc::timespec {
            tv_sec: st.st_mtime,
            tv_nsec: st.st_mtime_nsec,
        },
    ])
}

/// Puts back times read by [`times_of`].
pub fn set_times(dir: RawFd, path: &CStr, t: &[libc::timespec; 2]) {
    // SAFETY: `path` is NUL-terminated and `t` two valid timespecs.
    unsafe { libc::utimensat(dir, path.as_ptr(), t.as_ptr(), 0) };
}

/// `getpid`, `getuid`, `getgid`.
pub fn ids() -> (i32, u32, u32) {
    // SAFETY: no memory involved.
    unsafe { (libc::getpid(), libc::getuid(), libc::getgid()) }
}

/// `llistxattr(path)`: the names, or empty where none or unsupported.
pub fn llistxattr(path: &CStr) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: `buf` has room for its length.
    let r = unsafe { libc::llistxattr(path.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    if r <= 0 {
        return Vec::new();
    }
    buf.truncate(r as usize);
    buf.split(|&b| b == 0)
        .filter(|s| !s.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// `lremovexattr(path, name)`, result ignored.
pub fn lremovexattr(path: &CStr, name: &CStr) {
    // SAFETY: both NUL-terminated.
    unsafe { libc::lremovexattr(path.as_ptr(), name.as_ptr()) };
}

/// `lgetxattr(path, name)`.
pub fn lgetxattr(path: &CStr, name: &CStr) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; 65536];
    // SAFETY: `buf` has room for its length.
    let r = unsafe {
        libc::lgetxattr(
            path.as_ptr(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if r < 0 {
        return None;
    }
    buf.truncate(r as usize);
    Some(buf)
}

/// A hash of a regular file's data segments (`SEEK_DATA`/`SEEK_HOLE`, each
/// with its offset), so that a sparse file of terabytes costs its data only.
pub fn data_digest(p: &std::path::Path) -> String {
    use std::io::{Read as _, Seek as _, SeekFrom};
    use std::os::fd::AsRawFd as _;
    let Ok(mut f) = std::fs::File::open(p) else {
        return "unreadable".to_owned();
    };
    let fd = f.as_raw_fd();
    let mut h = crate::Fnv::new();
    let mut at: i64 = 0;
    loop {
        // SAFETY: no memory involved.
        let data = unsafe { libc::lseek(fd, at, libc::SEEK_DATA) };
        if data < 0 {
            break;
        }
        // SAFETY: no memory involved.
        let hole = unsafe { libc::lseek(fd, data, libc::SEEK_HOLE) };
        if hole <= data {
            break;
        }
        // At most 16 MiB of one segment is read; the rest is its length.
        let len = (hole - data).min(16 << 20);
        let mut buf = vec![0u8; usize::try_from(len).unwrap_or(0)];
        if f.seek(SeekFrom::Start(data.unsigned_abs())).is_err() || f.read_exact(&mut buf).is_err()
        {
            return "unreadable".to_owned();
        }
        h.add(&data.to_le_bytes());
        h.add(&(hole - data).to_le_bytes());
        h.add(&buf);
        at = hole;
    }
    format!("{:016x}", h.get())
}

/// Brings the loopback interface up (in a new network namespace it starts
/// down).
pub fn loopback_up() -> io::Result<()> {
    let fd = socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0)
        .map_err(io::Error::from_raw_os_error)?;
    // SAFETY: all-zero is a valid ifreq.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(b"lo") {
        *d = *s as libc::c_char;
    }
    req.ifr_ifru.ifru_flags = (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
    // SAFETY: `req` is a valid ifreq for SIOCSIFFLAGS.
    let r = unsafe { libc::ioctl(fd, libc::SIOCSIFFLAGS, &req) };
    let e = io::Error::last_os_error();
    close(fd);
    if r < 0 {
        return Err(e);
    }
    Ok(())
}

/// `unlinkat(dir, name, AT_REMOVEDIR)`.
pub fn rmdir_at(dir: RawFd, name: &CStr) -> io::Result<()> {
    // SAFETY: `name` is NUL-terminated.
    check(unsafe { libc::unlinkat(dir, name.as_ptr(), libc::AT_REMOVEDIR) }).map(|_| ())
}

/// Whether `fd` is ready for `events` right now (`poll` with no wait).
pub fn ready(fd: RawFd, events: libc::c_short) -> bool {
    let mut p = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: one valid pollfd.
    let r = unsafe { libc::poll(&mut p, 1, 0) };
    r > 0 && p.revents & (events | libc::POLLERR | libc::POLLHUP) != 0
}

/// Whether the file system at `path` is mounted read-only.
pub fn read_only(path: &CStr) -> bool {
    // SAFETY: all-zero is a valid statvfs.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `path` is NUL-terminated and `st` has room.
    let r = unsafe { libc::statvfs(path.as_ptr(), &mut st) };
    r == 0 && st.f_flag & libc::ST_RDONLY != 0
}

/// `unshare(flags)`.
pub fn unshare(flags: i32) -> io::Result<()> {
    // SAFETY: no memory involved; called while single-threaded.
    check(unsafe { libc::unshare(flags) }).map(|_| ())
}

/// `mount(src, target, fstype, flags, data)`.
pub fn mount(
    src: &CStr,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    // SAFETY: NUL-terminated strings or null.
    let r = unsafe {
        libc::mount(
            src.as_ptr(),
            target.as_ptr(),
            fstype.map_or(std::ptr::null(), CStr::as_ptr),
            flags,
            data.map_or(std::ptr::null(), |d| d.as_ptr().cast()),
        )
    };
    check(r).map(|_| ())
}

/// `umount2(target, MNT_DETACH)`, result ignored.
pub fn umount_detach(target: &CStr) {
    // SAFETY: `target` is NUL-terminated.
    unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
}

/// `mount_setattr(AT_FDCWD, path, AT_RECURSIVE, {MOUNT_ATTR_RDONLY})`: the
/// whole tree at `path` read-only.
pub fn rdonly_recursive(path: &CStr) -> io::Result<()> {
    /// `struct mount_attr` (linux/mount.h).
    #[repr(C)]
    struct MountAttr {
        set: u64,
        clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const AT_RECURSIVE: u32 = 0x8000;
    let attr = MountAttr {
        set: MOUNT_ATTR_RDONLY,
        clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `attr` is valid for its size; `path` is NUL-terminated.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            path.as_ptr(),
            AT_RECURSIVE,
            std::ptr::from_ref(&attr),
            std::mem::size_of::<MountAttr>(),
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `prctl(PR_SET_PDEATHSIG, SIGKILL)`: used in a forked child before exec.
pub fn die_with_parent() {
    // SAFETY: no memory involved; async-signal-safe.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
}

/// `signal(SIGPIPE, SIG_IGN)`: a send on a broken connection is an errno.
pub fn ignore_sigpipe() {
    // SAFETY: installs SIG_IGN; no handler code runs.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
}

/// `kill(pid, sig)`.
pub fn kill(pid: i32, sig: i32) {
    // SAFETY: no memory involved.
    unsafe { libc::kill(pid, sig) };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arena_guards_fault_and_zones_hold() {
        let mut a = Arena::new().unwrap();
        a.write(0, b"hello");
        assert_eq!(a.read(0, 5), b"hello");
        let end = a.zone_end(0);
        a.write(end - 3, b"xyz");
        assert_eq!(a.read(end - 3, 3), b"xyz");
        // A read that runs into the guard is cut at the zone's end.
        assert_eq!(a.read(end - 3, 10).len(), 3);
        // The kernel agrees: a path at the guard faults.
        let r = raw(
            libc::SYS_access,
            [a.bad(crate::model::Bad::Guard), 0, 0, 0, 0, 0],
        );
        assert_eq!(r, Err(libc::EFAULT));
        let r = raw(
            libc::SYS_access,
            [a.bad(crate::model::Bad::ReadOnly), 0, 0, 0, 0, 0],
        );
        assert_eq!(r, Err(libc::ENAMETOOLONG));
    }
}

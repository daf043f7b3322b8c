//! The walk over a message's control messages, as the kernel's
//! `__scm_send` and `ip_cmsg_send` make it (`CMSG_FIRSTHDR`, `CMSG_OK`,
//! `CMSG_NXTHDR`), for the two readers that must see exactly what the
//! kernel will see: [`super::send::translate_rights`] (a descriptor number
//! skipped there would name one of fdsup's own) and
//! [`super::ipcontrol::vet`] (a route skipped there would be sent).
//!
//! Every length is the program's: the arithmetic is checked, and the walk
//! ends at the buffer's end whatever they say.

/// `sizeof(struct cmsghdr)` on x86_64.
pub(super) const CMSG_HDR: usize = 16;

/// One control message: its header at `at`, its body up to `end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cmsg {
    pub at: usize,
    pub end: usize,
    pub level: i32,
    pub ty: i32,
}

impl Cmsg {
    /// Where its body starts.
    pub fn body(&self) -> usize {
        self.at + CMSG_HDR
    }
}

/// A header whose length `CMSG_OK` refuses: the kernel refuses the whole
/// message with EINVAL before it sends anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed;

/// The position of the walk. The buffer is passed to each step, so that
/// the caller may change a body (a descriptor number) between steps.
#[derive(Debug, Default)]
pub(super) struct Walk {
    at: usize,
    done: bool,
}

impl Walk {
    /// The next control message of `control`, `None` at the end, or
    /// `Malformed` (after which the walk is over).
    pub fn next(&mut self, control: &[u8]) -> Option<Result<Cmsg, Malformed>> {
        let at = self.at;
        if self.done || at.checked_add(CMSG_HDR).is_none_or(|e| e > control.len()) {
            return None;
        }
        let word = |i: usize| {
            let mut b = [0u8; 4];
            b.copy_from_slice(&control[at + i..at + i + 4]);
            i32::from_ne_bytes(b)
        };
        let mut l = [0u8; 8];
        l.copy_from_slice(&control[at..at + 8]);
        let len = usize::try_from(u64::from_ne_bytes(l)).unwrap_or(usize::MAX);
        // CMSG_OK
        let Some(end) = at
            .checked_add(len)
            .filter(|&e| len >= CMSG_HDR && e <= control.len())
        else {
            self.done = true;
            return Some(Err(Malformed));
        };
        // CMSG_NXTHDR: the next header starts at the aligned end.
        match len
            .checked_add(7)
            .map(|l| l & !7)
            .and_then(|l| at.checked_add(l))
        {
            Some(next) => self.at = next,
            None => self.done = true,
        }
        Some(Ok(Cmsg {
            at,
            end,
            level: word(8),
            ty: word(12),
        }))
    }
}

/// Appends an `SCM_CREDENTIALS` message naming `pid`, `uid` and `gid` to
/// `control`, unless it has one already, or is malformed (the kernel
/// refuses it whole). It goes where the kernel's walk would look next
/// (after the last message, aligned): a tail too short for a header, which
/// the kernel passes over, is replaced. Whether it was appended.
pub(super) fn append_credentials(control: &mut Vec<u8>, pid: u32, uid: u32, gid: u32) -> bool {
    let mut walk = Walk::default();
    while let Some(c) = walk.next(control) {
        match c {
            Ok(c) if c.level == libc::SOL_SOCKET && c.ty == libc::SCM_CREDENTIALS => return false,
            Ok(_) => {}
            Err(Malformed) => return false,
        }
    }
    if walk.done {
        // Lengths past any buffer: nothing more can follow.
        return false;
    }
    control.resize(walk.at, 0);
    let len: u64 = (CMSG_HDR + 12) as u64;
    control.extend(len.to_ne_bytes());
    control.extend(libc::SOL_SOCKET.to_ne_bytes());
    control.extend(libc::SCM_CREDENTIALS.to_ne_bytes());
    control.extend(pid.to_ne_bytes());
    control.extend(uid.to_ne_bytes());
    control.extend(gid.to_ne_bytes());
    control.resize((control.len() + 7) & !7, 0);
    true
}

/// The `SCM_CREDENTIALS` message of `control` the kernel takes (the last)
/// alone, or nothing: what goes with each later piece of a stream send
/// fdsup makes in pieces. Natively every buffer of one send carries the
/// same credentials, and a receiver that passes credentials never joins
/// buffers whose credentials differ; without them, a piece would name the
/// worker's real ids, fdsup's (uid 0 under a root fdsup).
pub(super) fn credentials_only(control: &[u8]) -> Vec<u8> {
    let mut walk = Walk::default();
    let mut last = None;
    while let Some(Ok(c)) = walk.next(control) {
        if c.level == libc::SOL_SOCKET && c.ty == libc::SCM_CREDENTIALS {
            last = Some(c);
        }
    }
    let Some(c) = last else {
        return Vec::new();
    };
    let mut out = control.get(c.at..c.end).unwrap_or_default().to_vec();
    out.resize((out.len() + 7) & !7, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_where_the_kernel_looks_next() {
        let mut c = cmsg(20, 0, 7, &[1, 2, 3, 4]);
        c.truncate(20);
        assert!(append_credentials(&mut c, 5, 6, 7));
        assert_eq!(
            all(&c),
            vec![
                Ok((0, 7, 4)),
                Ok((libc::SOL_SOCKET, libc::SCM_CREDENTIALS, 12))
            ]
        );
        assert_eq!(&c[24 + 16..24 + 28], &[5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 0, 0]);
        // Once only; none to a malformed buffer; a short tail replaced.
        assert!(!append_credentials(&mut c, 5, 6, 7));
        let mut bad = cmsg(64, 0, 7, &[0; 8]);
        assert!(!append_credentials(&mut bad, 5, 6, 7));
        let mut tail = cmsg(16, 1, 1, &[]);
        tail.extend([9u8; 8]);
        assert!(append_credentials(&mut tail, 5, 6, 7));
        assert_eq!(all(&tail).len(), 2);
        let mut empty = Vec::new();
        assert!(append_credentials(&mut empty, 5, 6, 7));
        assert_eq!(empty.len(), 32);
        // Later pieces of a stream send: the credentials alone.
        assert_eq!(credentials_only(&c), c[24..].to_vec());
        assert_eq!(credentials_only(&empty), empty);
        assert!(credentials_only(&cmsg(20, 0, 7, &[1, 2, 3, 4])).is_empty());
    }

    fn cmsg(len: u64, level: i32, ty: i32, body: &[u8]) -> Vec<u8> {
        let mut c = len.to_ne_bytes().to_vec();
        c.extend(level.to_ne_bytes());
        c.extend(ty.to_ne_bytes());
        c.extend(body);
        c.resize((c.len() + 7) & !7, 0);
        c
    }

    fn all(control: &[u8]) -> Vec<Result<(i32, i32, usize), Malformed>> {
        let mut w = Walk::default();
        let mut out = Vec::new();
        while let Some(c) = w.next(control) {
            out.push(c.map(|c| (c.level, c.ty, c.end - c.body())));
        }
        out
    }

    #[test]
    fn walks_as_the_kernel_does() {
        let mut two = cmsg(20, 0, 7, &[1, 2, 3, 4]);
        two.extend(cmsg(17, 41, 57, &[9]));
        assert_eq!(all(&two), vec![Ok((0, 7, 4)), Ok((41, 57, 1))]);
        // A length past the end, one below the header, one that wraps.
        for len in [64, 8, u64::MAX, u64::MAX - 7] {
            assert_eq!(all(&cmsg(len, 0, 7, &[0; 8])), vec![Err(Malformed)]);
        }
        // A tail shorter than a header is not a message.
        let mut tail = cmsg(16, 1, 1, &[]);
        tail.extend([0u8; 8]);
        assert_eq!(all(&tail), vec![Ok((1, 1, 0))]);
        assert_eq!(all(&[]), vec![]);
    }
}

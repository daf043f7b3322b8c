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

#[cfg(test)]
mod tests {
    use super::*;

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

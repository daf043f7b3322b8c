//! Diagnostics on stderr that can never fail the supervisor.
//!
//! `eprintln!` panics when the write fails, and stderr is whatever the user
//! made it: a pipe whose reader is gone (`fdsup run ... 2>&1 | head -1`), a
//! full disk, a closed descriptor. A panic there, in a worker or in the
//! destructor that answers a forgotten notification, would skip an answer
//! and leave the program waiting forever. So every message of the
//! supervisor goes through [`diag!`](crate::diag!): formatted into one
//! buffer, written with as few `write(2)`s as the kernel takes (a line from
//! one thread does not interleave with another's), and every error ignored
//! (`EPIPE` included: the Rust runtime ignores `SIGPIPE`, so a closed pipe
//! is an error here, not a death). Standard output of the subcommands that
//! print (`check`, `explain`, `doctor`) goes through [`out`] the same way.

use std::fmt;
use std::io::{self, Write as _};
use std::os::fd::{AsFd, BorrowedFd};

use crate::sys;

/// An error and its sources, joined with ": " (a source whose text the
/// message already ends with is not repeated): how every command prints
/// the error it stops on.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(src) = cur {
        let t = src.to_string();
        if !s.ends_with(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = src.source();
    }
    s
}

/// Writes `args` and a newline to stderr, ignoring every error.
pub fn line(args: fmt::Arguments<'_>) {
    write_line(io::stderr().as_fd(), args);
}

/// Writes `args` and a newline to `fd` in one buffer, ignoring every error.
fn write_line(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) {
    let mut buf = Vec::with_capacity(128);
    let _ = buf.write_fmt(args);
    buf.push(b'\n');
    let _ = sys::write_all(fd, &buf);
}

/// Writes `text` to stdout, ignoring every error (a reader that went away
/// has what it wanted).
pub fn out(text: &str) {
    out_bytes(text.as_bytes());
}

/// [`out`] for bytes (a generated manual page or completion script).
pub fn out_bytes(bytes: &[u8]) {
    let _ = sys::write_all(io::stdout().as_fd(), bytes);
}

/// `eprintln!` that cannot panic: see the module docs.
#[macro_export]
macro_rules! diag {
    ($($arg:tt)*) => {
        $crate::diag::line(format_args!($($arg)*))
    };
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsFd;

    /// A line written to a pipe whose reader is gone returns: no panic, and
    /// no `SIGPIPE` death (the test harness, like fdsup, ignores it).
    #[test]
    fn a_closed_pipe_is_not_a_panic() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        drop(r);
        super::write_line(w.as_fd(), format_args!("fdsup: nobody reads this ({})", 42));
    }

    /// What is written is the line and its newline, in one piece.
    #[test]
    fn writes_the_line() {
        let (r, w) = rustix::pipe::pipe().unwrap();
        super::write_line(w.as_fd(), format_args!("fdsup: {} {}", "a", 1));
        drop(w);
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(r), &mut s).unwrap();
        assert_eq!(s, "fdsup: a 1\n");
    }
}

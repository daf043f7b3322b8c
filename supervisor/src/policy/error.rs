//! The one error type of policy loading.
//!
//! The contract says a policy error gives the file, line and column, and the
//! field. Every error found while loading (syntax, type, value, include,
//! variable) is therefore a [`PolicyError`] located in the file that holds
//! the offending text; the message starts with the field path
//! (`filesystem.rules[2].access: ...`) wherever there is one.

use std::fmt;
use std::io;

use super::json::Pos;

/// A policy that could not be loaded, and where.
///
/// `Display` is `FILE:LINE:COL: message`. An error that has no position in
/// any file (the top-level file cannot be read, an unknown `@name` given on
/// the command line) has `line` and `col` 0 and displays as `FILE: message`.
/// An I/O failure is kept as the [`source`](std::error::Error::source) and
/// not repeated in the message.
#[derive(Debug)]
pub struct PolicyError {
    /// The file the error is in: a path as given or resolved, or `@name`.
    pub file: String,
    /// 1-based line, or 0 when the error has no position.
    pub line: u32,
    /// 1-based column in characters, or 0 when the error has no position.
    pub col: u32,
    /// What is wrong, starting with the field path where there is one.
    pub message: String,
    io: Option<io::Error>,
}

impl PolicyError {
    pub(crate) fn at(file: &str, pos: Pos, message: impl Into<String>) -> PolicyError {
        PolicyError {
            file: file.to_owned(),
            line: pos.line,
            col: pos.col,
            message: message.into(),
            io: None,
        }
    }

    pub(crate) fn whole_file(file: &str, message: impl Into<String>) -> PolicyError {
        PolicyError {
            file: file.to_owned(),
            line: 0,
            col: 0,
            message: message.into(),
            io: None,
        }
    }

    pub(crate) fn with_io(mut self, err: io::Error) -> PolicyError {
        self.io = Some(err);
        self
    }

    /// The I/O error behind this one, if a file could not be read.
    pub fn io_error(&self) -> Option<&io::Error> {
        self.io.as_ref()
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file, self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file, self.line, self.col, self.message
            )
        }
    }
}

impl std::error::Error for PolicyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.io
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

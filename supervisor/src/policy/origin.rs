//! Where a rule was written, which every rule type carries: apart from the
//! model so that the rule types (`model`, `net`) all depend on it and not
//! on each other.

use std::fmt;
use std::sync::Arc;

/// Where a rule was written: the policy file (a path, or `@name` for an
/// embedded policy) and the line of the rule's `{`. Displays as `file:line`,
/// the form the audit log's `rule` field uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file: a path as given or resolved, or `@name`.
    pub file: Arc<str>,
    /// The 1-based line of the rule's opening `{`.
    pub line: u32,
}

impl Origin {
    /// An origin in `file` at `line`.
    pub fn new(file: impl Into<Arc<str>>, line: u32) -> Origin {
        Origin {
            file: file.into(),
            line,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

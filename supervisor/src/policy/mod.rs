//! The JSON policy: loading, includes, variables, validation, the embedded
//! policies, and the matcher every mediated request is decided by.
//!
//! [`load`] is the only way in. It reads a file (or an embedded `@name`),
//! follows its includes, expands variables, canonicalises rule paths and
//! checks everything, so that a [`Policy`] that exists is one the contract
//! (SPEC.md, "Policy files") accepts. Every refusal is a [`PolicyError`]
//! located at file, line and column, naming the field.
//!
//! The work is split so that each step is small and testable alone:
//!
//! - `json`: a strict JSON reader keeping the position of every value and
//!   key, because each rule carries its origin (file and line, which
//!   `check`, `explain` and the audit log show) and each refusal is located
//!   at its value: serde gives no position of a value (its doc says more);
//! - `parse`: one file's tree to typed rules, with field-path errors;
//! - `loader`: files, embedded policies, includes, cycles, merging;
//! - `vars` and `paths`: variables, normalisation, load-time canonicalisation;
//! - `pattern`: rule paths compiled to components, and the allocation-free
//!   matcher used on the hot path;
//! - `net`: network addresses, typed; `origin`: where a rule was written;
//! - `model`: the merged policy and its decisions;
//! - `embedded`: the built-in policies; `describe`: the text `fdsup check`
//!   prints, and what `fdsup explain` ([`crate::explain`], above the
//!   handlers since it uses them) reads of the policy (a rule's comment);
//! - `file`: the file format as types, for the JSON Schema and for writing
//!   policies (`--learn`).

mod describe;
mod embedded;
mod error;
pub mod file;
mod json;
mod lint;
mod loader;
mod model;
mod net;
mod origin;
mod parse;
mod paths;
mod pattern;
mod vars;

#[cfg(test)]
mod tests;

pub use describe::{comment, metadata_text};
pub use embedded::{
    embedded, include_only, isolates as embedded_isolates, names as embedded_names,
};
pub use error::PolicyError;
pub use lint::Warning;
pub use loader::load;
pub use model::{
    ExecAccess, ExecRule, ExecSection, FsAccess, FsAction, FsDecision, FsRule, FsSection,
    LogSettings, Metadata, NetDecision, NetSection, Policy,
};
pub use net::{
    parse_redirect, IpNet, NetAccess, NetAddr, NetOp, NetRule, NetTarget, Port, RedirectTarget,
};
pub use origin::Origin;
pub use paths::{canonicalize_prefix, normalize};
pub use pattern::Pattern;
pub use vars::Vars;

//! The one place a handler's decision is written down: the audit record
//! (`--log`, `-v`; [`crate::audit`]) and, with `--learn`, what the program
//! used ([`crate::learn`]).
//!
//! Every handler logs through a [`Log`], so that what the log says of a
//! request and what learning makes of it cannot drift apart between the
//! syscall families: a path decision ([`Log::write`], with the open flags
//! for opens), an exec ([`Log::write_exec`]), a network address
//! ([`Log::write_addr`]) and a name that is no path ([`Log::write_name`],
//! a memfd's).

use crate::audit::{Record, Verdict};
use crate::policy::Origin;

use super::Ctx;

/// Audit records of one request.
pub struct Log<'a> {
    /// The run.
    pub ctx: &'a Ctx,
    /// The syscall's name.
    pub syscall: &'static str,
    /// Who asked.
    pub tid: i32,
    /// The open flags, for the open family (written in the record's
    /// `flags`, and what `--learn` makes of an allowed open).
    pub flags: Option<u64>,
    /// The worker's line buffer.
    pub line: &'a mut Vec<u8>,
}

/// What `--learn` records of an allowed decision.
#[derive(Clone, Copy)]
enum Learn {
    /// The path, read or changed ([`crate::learn::used`]).
    Path,
    /// The path, read and executed.
    Exec,
    /// The address reached, unless the request is a `bind` (left to the
    /// default).
    Connect,
    /// Nothing: the subject is no path (a memfd's name).
    Nothing,
}

/// The field the subject is written as.
#[derive(Clone, Copy)]
enum Key {
    Path,
    Addr,
}

impl<'a> Log<'a> {
    /// The log of a request of `syscall` by task `tid`.
    pub fn new(ctx: &'a Ctx, syscall: &'static str, tid: i32, line: &'a mut Vec<u8>) -> Self {
        Self {
            ctx,
            syscall,
            tid,
            flags: None,
            line,
        }
    }

    /// The same for an open with `flags`.
    pub fn with_flags(mut self, flags: u64) -> Self {
        self.flags = Some(flags);
        self
    }

    /// Writes one file-system decision, if wanted; `rule` is the index of
    /// the deciding file-system rule.
    pub fn write(
        &mut self,
        path: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        rule: Option<usize>,
    ) {
        let ctx = self.ctx;
        let origin = rule
            .and_then(|i| ctx.policy.fs.rules.get(i))
            .map(|r| &r.origin);
        self.emit(Key::Path, Learn::Path, path, verdict, errno, origin);
    }

    /// Writes an exec decision, made by the exec rule from `origin` (or the
    /// default).
    pub fn write_exec(
        &mut self,
        path: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        origin: Option<&Origin>,
    ) {
        self.emit(Key::Path, Learn::Exec, path, verdict, errno, origin);
    }

    /// Writes a network decision on `addr` (the field `addr`), made by the
    /// rule from `origin` (or the default).
    pub fn write_addr(
        &mut self,
        addr: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        origin: Option<&Origin>,
    ) {
        self.emit(Key::Addr, Learn::Connect, addr, verdict, errno, origin);
    }

    /// Writes a decision on something named `name` that is no path (a
    /// memfd's `memfd:NAME`): nothing for `--learn`.
    pub fn write_name(&mut self, name: &[u8], verdict: Verdict, errno: Option<i32>) {
        self.emit(Key::Path, Learn::Nothing, name, verdict, errno, None);
    }

    fn emit(
        &mut self,
        key: Key,
        learn: Learn,
        subject: &[u8],
        verdict: Verdict,
        errno: Option<i32>,
        origin: Option<&Origin>,
    ) {
        if let Some(l) = &self.ctx.learn {
            match learn {
                Learn::Path if !verdict.is_refusal() => {
                    l.note(
                        self.tid,
                        subject,
                        crate::learn::used(self.syscall, self.flags),
                    );
                }
                Learn::Exec if verdict == Verdict::Allow => {
                    l.note(self.tid, subject, crate::learn::READ | crate::learn::EXEC);
                }
                // `--learn`: every address the program reached becomes a
                // `connect` rule (a bind is not one: it is left to the
                // default).
                Learn::Connect if !verdict.is_refusal() && self.syscall != "bind" => {
                    l.note_connect(self.tid, &String::from_utf8_lossy(subject));
                }
                _ => {}
            }
        }
        let audit = &self.ctx.audit;
        if !audit.wants(verdict) {
            return;
        }
        let rec = Record {
            pid: self.tid,
            syscall: self.syscall,
            path: subject,
            flags: self.flags,
            verdict,
            errno,
            rule: origin,
        };
        match key {
            Key::Path => audit.record(&rec, self.line),
            Key::Addr => audit.record_addr(&rec, self.line),
        }
    }

    /// With `--learn`, records that the request changes `path` (where the
    /// change is decided without an allowed line of its own: the other end
    /// of a rename or link, `access(W_OK)`).
    pub fn note_write(&self, path: &[u8]) {
        if let Some(l) = &self.ctx.learn {
            l.note(self.tid, path, crate::learn::WRITE);
        }
    }

    /// With `--learn`, records a lookup of `path` that found nothing (and
    /// so wrote no allowed line): under a policy that hides it, the same
    /// lookup is a refusal.
    pub fn note_absent(&self, path: &[u8]) {
        if let Some(l) = &self.ctx.learn {
            l.note(self.tid, path, crate::learn::READ);
        }
    }
}

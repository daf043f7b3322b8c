//! The audit log (`--log FILE`, JSON lines) and `-v` diagnostics.
//!
//! Each decision is formatted into the worker's own buffer and written with a
//! single `write(2)` to a descriptor opened `O_APPEND`: lines from several
//! workers never interleave, nothing is buffered in our process, so the log
//! is complete up to the moment fdsup stops, even by `SIGKILL`.
//!
//! `-v` is for a person reading along, so it says each decision once: a
//! refusal of the same kind (verdict, syscall, errno, rule) in the same
//! directory as one already shown is counted, not printed (a shell's `PATH`
//! search probes the same hidden directories for every command it runs),
//! and the count is printed when the run ends. The log keeps every line.

use std::collections::HashSet;
use std::fs::File;
use std::hash::{Hash, Hasher};
use std::io::{self, Write as _};
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::policy::Origin;
use crate::sys;

/// The outcome written in the `decision` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed as asked.
    Allow,
    /// Refused with `EACCES`.
    Deny,
    /// Refused with `ENOENT`, as if absent.
    Hide,
    /// Served from the redirect target.
    Redirect,
    /// Served from memory.
    Content,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Allow => "allow",
            Verdict::Deny => "deny",
            Verdict::Hide => "hide",
            Verdict::Redirect => "redirect",
            Verdict::Content => "content",
        }
    }

    /// Is this a refusal (for the `denied` log setting and `-v`)?
    pub fn is_refusal(self) -> bool {
        matches!(self, Verdict::Deny | Verdict::Hide)
    }
}

/// One decision.
#[derive(Debug)]
pub struct Record<'a> {
    /// Thread id of the task that asked.
    pub pid: i32,
    /// Syscall name.
    pub syscall: &'a str,
    /// Canonical path (bytes, not necessarily UTF-8).
    pub path: &'a [u8],
    /// Open flags, where the syscall has them.
    pub flags: Option<u64>,
    /// The decision.
    pub verdict: Verdict,
    /// The errno the program got, when refused.
    pub errno: Option<i32>,
    /// The deciding rule, or `None` for the section default.
    pub rule: Option<&'a Origin>,
}

/// Where decisions go.
#[derive(Debug)]
pub struct Audit {
    file: Option<File>,
    log_denied: bool,
    log_allowed: bool,
    verbose: bool,
    /// `-v`: the kinds of refusal already shown (see the module docs).
    shown: Mutex<HashSet<u64>>,
    /// `-v`: refusals not shown, being repeats.
    repeated: AtomicU64,
}

/// Kinds of refusal `-v` remembers; beyond, every refusal is shown (a
/// program that is refused in more places than this gains nothing by
/// making fdsup remember them all).
const SHOWN_KINDS: usize = 4096;

impl Audit {
    /// Opens the log if asked for: appended to, created mode 0600, never
    /// through a symbolic link ([`crate::files::open_log`]).
    pub fn new(
        log: Option<&Path>,
        log_denied: bool,
        log_allowed: bool,
        verbose: bool,
    ) -> Result<Self, crate::files::FileError> {
        let file = match log {
            Some(p) => Some(crate::files::open_log(p)?),
            None => None,
        };
        Ok(Self {
            file,
            log_denied,
            log_allowed,
            verbose,
            shown: Mutex::new(HashSet::new()),
            repeated: AtomicU64::new(0),
        })
    }

    /// `-v`: whether `r` is the first refusal of its kind in its directory
    /// (module docs); a repeat is counted.
    fn first_of_kind(&self, r: &Record<'_>, key: &str) -> bool {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (r.verdict as u8, r.syscall, r.errno, key).hash(&mut h);
        r.rule.map(|o| (&*o.file, o.line)).hash(&mut h);
        // A path's directory; an address whole.
        let place = if key == "path" {
            r.path
                .iter()
                .rposition(|&b| b == b'/')
                .map_or(r.path, |i| &r.path[..i])
        } else {
            r.path
        };
        place.hash(&mut h);
        let kind = h.finish();
        let Ok(mut shown) = self.shown.lock() else {
            return true;
        };
        if shown.contains(&kind) {
            self.repeated.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        if shown.len() < SHOWN_KINDS {
            shown.insert(kind);
        }
        true
    }

    /// At the end of a run: with `-v`, says how many repeated refusals
    /// were not shown.
    pub fn finish(&self) {
        let n = self.repeated.load(Ordering::Relaxed);
        if self.verbose && n > 0 {
            crate::diag!(
                "fdsup: {n} more refusal{} like those shown above (same kind, same directory) not shown; --log FILE records each",
                if n == 1 { "" } else { "s" }
            );
        }
    }

    /// Would a decision with this verdict be written anywhere?
    #[inline]
    pub fn wants(&self, verdict: Verdict) -> bool {
        let refused = verdict.is_refusal();
        (refused && self.verbose)
            || (self.file.is_some()
                && if refused {
                    self.log_denied
                } else {
                    self.log_allowed
                })
    }

    /// Writes the decision where it is wanted; `line` is the worker's buffer.
    pub fn record(&self, r: &Record<'_>, line: &mut Vec<u8>) {
        self.record_as(r, line, "path");
    }

    /// [`Audit::record`] of a network request: `r.path` is the address,
    /// written as the field `addr`.
    pub fn record_addr(&self, r: &Record<'_>, line: &mut Vec<u8>) {
        self.record_as(r, line, "addr");
    }

    fn record_as(&self, r: &Record<'_>, line: &mut Vec<u8>, key: &str) {
        let refused = r.verdict.is_refusal();
        if let Some(f) = &self.file {
            if (refused && self.log_denied) || (!refused && self.log_allowed) {
                line.clear();
                format_json_as(r, line, key);
                if let Err(e) = sys::write_all(f.as_fd(), line) {
                    crate::diag!("fdsup: writing the audit log: {e}");
                }
            }
        }
        if refused && self.verbose && self.first_of_kind(r, key) {
            line.clear();
            let _ = write!(line, "fdsup: {} ", r.verdict.as_str());
            line.extend_from_slice(r.syscall.as_bytes());
            line.push(b' ');
            shown(line, r.path);
            let _ = write!(line, " ({}", r.errno.map(sys::errno_name).unwrap_or(""));
            match r.rule {
                Some(o) => {
                    let _ = writeln!(line, ", rule {o})");
                }
                None => line.extend_from_slice(b", default)\n"),
            }
            let _ = sys::write_all(io::stderr().as_fd(), line);
        }
    }
}

/// Appends `path` for a `-v` line on the user's terminal: a control byte
/// (a newline, an escape) as `\xNN` and a backslash as `\\`, so that the
/// line stays one line prefixed `fdsup:` (SPEC.md) whatever the program
/// names, and writes nothing the terminal would act on.
fn shown(line: &mut Vec<u8>, path: &[u8]) {
    for &b in path {
        match b {
            b'\\' => line.extend_from_slice(b"\\\\"),
            0..=0x1f | 0x7f => {
                let _ = write!(line, "\\x{b:02x}");
            }
            _ => line.push(b),
        }
    }
}

/// The JSON line for one record, with its newline.
pub fn format_json(r: &Record<'_>, out: &mut Vec<u8>) {
    format_json_as(r, out, "path");
}

/// [`format_json`] with the path written under `key` (`addr`).
fn format_json_as(r: &Record<'_>, out: &mut Vec<u8>, key: &str) {
    out.extend_from_slice(b"{\"ts\":\"");
    timestamp(out);
    let _ = write!(out, "\",\"pid\":{},\"syscall\":", r.pid);
    json_str(out, r.syscall.as_bytes());
    let _ = write!(out, ",\"{key}\":");
    json_str(out, r.path);
    if let Some(flags) = r.flags {
        out.extend_from_slice(b",\"flags\":[");
        let mut first = true;
        for name in open_flag_names(flags) {
            if !first {
                out.push(b',');
            }
            first = false;
            json_str(out, name.as_bytes());
        }
        out.push(b']');
    }
    let _ = write!(out, ",\"decision\":\"{}\"", r.verdict.as_str());
    if let Some(e) = r.errno {
        let _ = write!(out, ",\"errno\":\"{}\"", sys::errno_name(e));
    }
    out.extend_from_slice(b",\"rule\":");
    match r.rule {
        Some(o) => {
            let mut tmp = Vec::with_capacity(64);
            let _ = write!(tmp, "{o}");
            json_str(out, &tmp);
        }
        None => out.extend_from_slice(b"\"default\""),
    }
    out.extend_from_slice(b"}\n");
}

/// Appends `s` as a JSON string. Bytes that are not UTF-8 are written as
/// `\u00XX` so the line stays valid JSON.
pub fn json_str(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for chunk in s.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.extend_from_slice(b"\\\""),
                '\\' => out.extend_from_slice(b"\\\\"),
                '\n' => out.extend_from_slice(b"\\n"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\r' => out.extend_from_slice(b"\\r"),
                c if u32::from(c) < 0x20 => {
                    let _ = write!(out, "\\u{:04x}", u32::from(c));
                }
                c => {
                    let mut b = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            let _ = write!(out, "\\u{:04x}", b);
        }
    }
    out.push(b'"');
}

/// The names of the `O_*` flags set in `flags`, access mode first.
pub fn open_flag_names(flags: u64) -> impl Iterator<Item = &'static str> {
    let f = sys::low_i32(flags);
    let mode = match f & libc::O_ACCMODE {
        libc::O_WRONLY => "O_WRONLY",
        libc::O_RDWR => "O_RDWR",
        _ => "O_RDONLY",
    };
    const NAMED: [(i32, &str); 16] = [
        (libc::O_CREAT, "O_CREAT"),
        (libc::O_EXCL, "O_EXCL"),
        (libc::O_NOCTTY, "O_NOCTTY"),
        (libc::O_TRUNC, "O_TRUNC"),
        (libc::O_APPEND, "O_APPEND"),
        (libc::O_NONBLOCK, "O_NONBLOCK"),
        (libc::O_SYNC, "O_SYNC"),
        (libc::O_ASYNC, "O_ASYNC"),
        (libc::O_DIRECT, "O_DIRECT"),
        (libc::O_LARGEFILE, "O_LARGEFILE"),
        (libc::O_DIRECTORY, "O_DIRECTORY"),
        (libc::O_NOFOLLOW, "O_NOFOLLOW"),
        (libc::O_NOATIME, "O_NOATIME"),
        (libc::O_CLOEXEC, "O_CLOEXEC"),
        (libc::O_PATH, "O_PATH"),
        (libc::O_TMPFILE, "O_TMPFILE"),
    ];
    let tmpfile = f & libc::O_TMPFILE == libc::O_TMPFILE;
    std::iter::once(mode).chain(NAMED.into_iter().filter_map(move |(bit, name)| {
        let set = match bit {
            // O_TMPFILE includes O_DIRECTORY; O_SYNC includes O_DSYNC.
            libc::O_TMPFILE | libc::O_SYNC => f & bit == bit,
            libc::O_DIRECTORY => f & bit == bit && !tmpfile,
            _ => f & bit != 0,
        };
        set.then_some(name)
    }))
}

/// Appends the current UTC time as RFC 3339 with microseconds.
fn timestamp(out: &mut Vec<u8>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs();
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    let rem = secs % 86_400;
    let _ = write!(
        out,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        now.subsec_micros()
    );
}

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian
/// calendar (Howard Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verbose_path_stays_one_line_of_plain_bytes() {
        let mut l = Vec::new();
        shown(&mut l, b"/a\nb\x1b[2J\\c\x7f\xc3\xa9");
        assert_eq!(l, b"/a\\x0ab\\x1b[2J\\\\c\\x7f\xc3\xa9");
    }

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn flag_names() {
        let names: Vec<_> =
            open_flag_names((libc::O_WRONLY | libc::O_CREAT | libc::O_CLOEXEC) as u64).collect();
        assert_eq!(names, ["O_WRONLY", "O_CREAT", "O_CLOEXEC"]);
        let names: Vec<_> = open_flag_names((libc::O_TMPFILE | libc::O_RDWR) as u64).collect();
        assert_eq!(names, ["O_RDWR", "O_TMPFILE"]);
    }

    #[test]
    fn json_lines_are_valid_json() {
        let r = Record {
            pid: 42,
            syscall: "openat",
            path: b"/etc/\"sh\xffadow\n",
            flags: Some((libc::O_RDONLY | libc::O_CLOEXEC) as u64),
            verdict: Verdict::Hide,
            errno: Some(libc::ENOENT),
            rule: None,
        };
        let mut out = Vec::new();
        format_json(&r, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).expect("valid JSON");
        assert_eq!(v["path"], "/etc/\"sh\u{ff}adow\n");
        assert_eq!(v["decision"], "hide");
        assert_eq!(v["errno"], "ENOENT");
        assert_eq!(v["rule"], "default");
        assert_eq!(v["flags"], serde_json::json!(["O_RDONLY", "O_CLOEXEC"]));
        assert!(v["ts"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z') && t.len() == 27));
        assert_eq!(out.last(), Some(&b'\n'));
    }
}

//! Fuzzing the policy loader: the ready and embedded policies, mutated
//! (bytes, tokens, JSON values, duplicate keys, includes, nesting), fed to
//! `fdsup check FILE`.
//!
//! Each mutant must end in exit 0 (it happens to be valid) or 1 with an
//! error whose first line names a file, line and column that exist: never
//! a panic, a signal, a hang or an unlocated message.

use std::fmt::Write as _;
use std::io::Read as _;
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::rng::Rng;

/// The texts mutated: every ready policy and every embedded one.
pub const CORPUS: &[(&str, &str)] = &[
    ("build.json", include_str!("../../policies/build.json")),
    ("git.json", include_str!("../../policies/git.json")),
    ("project.json", include_str!("../../policies/project.json")),
    ("python.json", include_str!("../../policies/python.json")),
    ("shell.json", include_str!("../../policies/shell.json")),
    ("strict.json", include_str!("../../policies/strict.json")),
    (
        "broker-setfd.json",
        include_str!("../../policies/demo/broker-setfd.json"),
    ),
    (
        "connect-redirect.json",
        include_str!("../../policies/demo/connect-redirect.json"),
    ),
    (
        "content.json",
        include_str!("../../policies/demo/content.json"),
    ),
    (
        "readonly-dir.json",
        include_str!("../../policies/demo/readonly-dir.json"),
    ),
    (
        "redirect-file.json",
        include_str!("../../policies/demo/redirect-file.json"),
    ),
    (
        "allow-all.json",
        include_str!("../../supervisor/src/policy/embedded/allow-all.json"),
    ),
    (
        "default.json",
        include_str!("../../supervisor/src/policy/embedded/default.json"),
    ),
    (
        "network-loopback.json",
        include_str!("../../supervisor/src/policy/embedded/network-loopback.json"),
    ),
    (
        "system.json",
        include_str!("../../supervisor/src/policy/embedded/system.json"),
    ),
];

/// Tokens spliced into texts.
const TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    "\"",
    ":",
    ",",
    "null",
    "true",
    "false",
    "0",
    "-1",
    "1e999",
    "-0",
    "1.5",
    "123456789012345678901234567890",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"${\"",
    "\"${HOME\"",
    "\"${NOPE}\"",
    "\"**\"",
    "\"@default\"",
    "\"@nope\"",
    "\"include\"",
    "\"version\"",
    "\"rules\"",
    "\"path\"",
    "\"access\"",
    "\"redirect\"",
    "\"content\"",
    "\"connect\"",
    "\"bind\"",
    "\"isolate\"",
    "\"metadata\"",
    "\"comment\"",
    "\"$schema\"",
    "\n",
    "\t",
    "\u{0}",
    "\u{feff}",
    "\\",
    "/*",
    "//",
    "\u{fffd}",
    "\"\\x\"",
    "'",
    "NaN",
    "Infinity",
    "\"\u{1F600}\"",
    "\r\n",
];

/// Strings put in place of values.
const STRINGS: &[&str] = &[
    "",
    "x",
    "relative",
    "/a/../b",
    "/**",
    "/**/**/x",
    "/*",
    "${CWD}/../..",
    "${NOPE}",
    "${HOME",
    "$",
    "${}",
    "${CWD",
    "/x\u{0}y",
    "unix:@",
    "unix:",
    "unix:rel",
    "unix:/**",
    "[::1]:99999",
    "1.2.3.4/33:80",
    "*:*",
    "300.1.1.1:1",
    "[::1:1",
    "1.2.3.4:-1",
    "1.2.3.4:65536",
    ":80",
    "[fe80::1%eth0]:80",
    "0.0.0.0/0:*",
    "rw",
    "ro",
    "deny",
    "hide",
    "allow",
    "RO",
    "visible",
    "policy",
    "@system",
    "@allow-all",
    "@default",
    "@network-loopback",
    "@",
    "/proc/self/fd/0",
    "/../../..",
    "//",
    "/.",
    "/a/./b/",
    "\\",
    "/\u{202e}x",
    "${TMPDIR}/**/*",
    "${UID}",
    "${uid}",
];

/// What the loader fuzzing found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Mutants run.
    pub runs: u64,
    /// Accepted (exit 0).
    pub valid: u64,
    /// Refused with a located error.
    pub located: u64,
    /// Broken answers: the mutant and what was wrong.
    pub findings: Vec<(String, String)>,
}

/// Runs `iterations` mutants from `seed`, writing them in `dir`.
pub fn fuzz(fdsup: &Path, dir: &Path, seed: u64, iterations: u64, verbose: bool) -> Outcome {
    let mut out = Outcome::default();
    for i in 0..iterations {
        let mut r = Rng::new(seed.wrapping_add(i), 7);
        let files = mutant(&mut r, dir);
        for (p, text) in &files {
            if std::fs::write(p, text).is_err() {
                continue;
            }
        }
        let main = &files[0].0;
        let res = check(fdsup, main, dir);
        out.runs += 1;
        match verdict(&res, &files) {
            Ok(true) => out.valid += 1,
            Ok(false) => out.located += 1,
            Err(why) => {
                let mut s = String::new();
                let _ = writeln!(s, "seed {} iteration {i}: {why}", seed.wrapping_add(i));
                for (p, t) in &files {
                    let t = String::from_utf8_lossy(t);
                    let _ = writeln!(s, "--- {}:\n{}", p.display(), cut(&t, 3000));
                }
                let _ = writeln!(
                    s,
                    "--- exit {} stderr:\n{}",
                    res.code,
                    cut(&res.stderr, 3000)
                );
                if verbose {
                    println!("{s}");
                }
                out.findings.push((why, s));
            }
        }
        for (p, _) in &files {
            let _ = std::fs::remove_file(p);
        }
    }
    out
}

fn cut(s: &str, n: usize) -> &str {
    let mut end = s.len().min(n);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Checked {
    code: i32,
    stderr: String,
    hung: bool,
}

fn check(fdsup: &Path, file: &Path, cwd: &Path) -> Checked {
    let mut c = Command::new(fdsup);
    c.arg("check")
        .arg(file)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);
    let Ok(mut child) = c.spawn() else {
        return Checked {
            code: -1,
            stderr: "could not start fdsup".into(),
            hung: false,
        };
    };
    let mut err = child.stderr.take();
    let t = std::thread::spawn(move || {
        let mut s = Vec::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut s);
        }
        s
    });
    let start = Instant::now();
    let mut hung = false;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break Some(st),
            Ok(None) if start.elapsed() > Duration::from_secs(30) => {
                hung = true;
                let _ = child.kill();
                break child.wait().ok();
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(_) => break None,
        }
    };
    let stderr = String::from_utf8_lossy(&t.join().unwrap_or_default()).into_owned();
    let code = status.map_or(-1, |s| {
        s.code().unwrap_or_else(|| 128 + s.signal().unwrap_or(0))
    });
    Checked { code, stderr, hung }
}

/// `Ok(true)`: valid; `Ok(false)`: refused with a located error; `Err`:
/// broken.
fn verdict(c: &Checked, files: &[(PathBuf, Vec<u8>)]) -> Result<bool, String> {
    if c.hung {
        return Err("fdsup check did not finish within 30 s".into());
    }
    if c.stderr.contains("panicked") || c.stderr.contains("RUST_BACKTRACE") {
        return Err("fdsup check panicked".into());
    }
    match c.code {
        0 => return Ok(true),
        1 => {}
        n => return Err(format!("exit status {n} (expected 0 or 1)")),
    }
    let Some(first) = c.stderr.lines().find(|l| l.starts_with("fdsup: ")) else {
        return Err("exit 1 without an fdsup: error line".into());
    };
    let rest = &first["fdsup: ".len()..];
    // FILE:LINE:COL: message
    let mut parts = rest.splitn(4, ':');
    let (Some(file), Some(line), Some(col), Some(_msg)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(format!("error not located at file:line:col: {first}"));
    };
    let (Ok(line), Ok(col)) = (line.parse::<usize>(), col.parse::<usize>()) else {
        return Err(format!("error not located at file:line:col: {first}"));
    };
    let ours = files
        .iter()
        .find(|(p, _)| Path::new(file) == p || p.file_name() == Path::new(file).file_name());
    let text = match ours {
        Some((_, t)) => t.clone(),
        // An included file named in one of ours (a mutated include): its
        // own text.
        None if files
            .iter()
            .any(|(_, t)| t.windows(file.len()).any(|w| w == file.as_bytes())) =>
        {
            std::fs::read(file).unwrap_or_default()
        }
        None => {
            return Err(format!(
                "error names a file that is neither the policy nor one it includes: {first}"
            ))
        }
    };
    let lines = text.split(|&b| b == b'\n').count();
    if line == 0 || col == 0 || line > lines + 1 {
        return Err(format!(
            "error located outside the file ({lines} lines): {first}"
        ));
    }
    Ok(false)
}

/// One mutant: the main file first, then any file it includes.
fn mutant(r: &mut Rng, dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let (_, base) = *r.pick(CORPUS);
    let main = dir.join("main.json");
    let mut text = base.as_bytes().to_vec();
    let mut extra = Vec::new();
    match r.below(12) {
        0..=3 => {
            for _ in 0..1 + r.below(4) {
                text = mutate_bytes(r, &text);
            }
        }
        4..=7 => text = mutate_value(r, &text),
        8 => text = duplicate_key(r, &text),
        9 => {
            // Includes: a mutated included file, a cycle, itself, a
            // directory, a missing file.
            let inc = dir.join("inc.json");
            let (_, other) = *r.pick(CORPUS);
            let target = match r.below(5) {
                0 => {
                    extra.push((inc.clone(), mutate_value(r, other.as_bytes())));
                    "inc.json".to_owned()
                }
                1 => {
                    extra.push((
                        inc.clone(),
                        b"{\n  \"version\": 1,\n  \"include\": [\"main.json\"]\n}\n".to_vec(),
                    ));
                    "inc.json".to_owned()
                }
                2 => "main.json".to_owned(),
                3 => ".".to_owned(),
                _ => "missing.json".to_owned(),
            };
            text = set_include(&text, &target);
        }
        10 => {
            // Huge or deep things spliced in.
            let at = r.index(text.len() + 1);
            let big = match r.below(5) {
                0 => "[".repeat(100_000),
                1 => "{\"a\":".repeat(5000),
                2 => format!("\"{}\"", "x".repeat(1 << 20)),
                3 => "1".repeat(100_000),
                _ => format!("\"/{}\"", "a/".repeat(20_000)),
            };
            text.splice(at..at, big.into_bytes());
        }
        _ => {
            for _ in 0..2 {
                text = mutate_value(r, &text);
            }
            text = mutate_bytes(r, &text);
        }
    }
    let mut files = vec![(main, text)];
    files.extend(extra);
    files
}

fn mutate_bytes(r: &mut Rng, text: &[u8]) -> Vec<u8> {
    let mut b = text.to_vec();
    let at = r.index(b.len() + 1);
    match r.below(6) {
        0 if !b.is_empty() => {
            let i = at.min(b.len() - 1);
            b[i] ^= 1 << r.below(8);
        }
        1 => {
            let n = 1 + r.index(16);
            let end = (at + n).min(b.len());
            b.drain(at..end);
        }
        2 | 3 => {
            let t = r.pick(TOKENS);
            b.splice(at..at, t.bytes());
        }
        4 => {
            let n = 1 + r.index(32);
            let end = (at + n).min(b.len());
            let chunk = b[at..end].to_vec();
            b.splice(at..at, chunk);
        }
        _ => {
            let n = r.index(8);
            let end = (at + n).min(b.len());
            let t = r.pick(TOKENS);
            b.splice(at..end, t.bytes());
        }
    }
    b
}

fn random_value(r: &mut Rng) -> serde_json::Value {
    use serde_json::Value;
    match r.below(10) {
        0 => Value::Null,
        1 => Value::Bool(r.chance(1, 2)),
        2 => serde_json::json!(*r.pick(&[0i64, -1, 1, 2, i64::MAX, i64::MIN])),
        3 => serde_json::json!(*r.pick(&[1.5f64, 1e308, -0.0])),
        4 => Value::Object(serde_json::Map::new()),
        5 => Value::Array(Vec::new()),
        6 => serde_json::json!([r.pick(STRINGS).to_string()]),
        7 => Value::String("x".repeat(*r.pick(&[4095usize, 4096, 70000]))),
        _ => Value::String(r.pick(STRINGS).to_string()),
    }
}

/// Every node of a JSON value, as a path of keys and indices.
fn nodes(v: &serde_json::Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    out.push(here.clone());
    match v {
        serde_json::Value::Object(m) => {
            for (k, c) in m {
                here.push(k.clone());
                nodes(c, here, out);
                here.pop();
            }
        }
        serde_json::Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                here.push(format!("#{i}"));
                nodes(c, here, out);
                here.pop();
            }
        }
        _ => {}
    }
}

fn node_mut<'a>(
    v: &'a mut serde_json::Value,
    path: &[String],
) -> Option<&'a mut serde_json::Value> {
    let mut cur = v;
    for k in path {
        cur = match (k.strip_prefix('#'), cur) {
            (Some(i), serde_json::Value::Array(a)) => a.get_mut(i.parse::<usize>().ok()?)?,
            (_, serde_json::Value::Object(m)) => m.get_mut(k)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn mutate_value(r: &mut Rng, text: &[u8]) -> Vec<u8> {
    let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(text) else {
        return mutate_bytes(r, text);
    };
    let mut all = Vec::new();
    nodes(&v, &mut Vec::new(), &mut all);
    let target = r.pick(&all).clone();
    match r.below(5) {
        0 | 1 => {
            if let Some(n) = node_mut(&mut v, &target) {
                *n = if n.is_string() && r.chance(2, 3) {
                    serde_json::Value::String(r.pick(STRINGS).to_string())
                } else {
                    random_value(r)
                };
            }
        }
        2 => {
            // Remove it from its parent.
            if let Some((last, parent)) = target.split_last() {
                if let Some(p) = node_mut(&mut v, parent) {
                    match (last.strip_prefix('#'), p) {
                        (Some(i), serde_json::Value::Array(a)) => {
                            if let Ok(i) = i.parse::<usize>() {
                                if i < a.len() {
                                    a.remove(i);
                                }
                            }
                        }
                        (_, serde_json::Value::Object(m)) => {
                            m.remove(last);
                        }
                        _ => {}
                    }
                }
            }
        }
        3 => {
            if let Some(serde_json::Value::Object(m)) = node_mut(&mut v, &target) {
                let k = (*r.pick(&[
                    "unknown",
                    "comment",
                    "path",
                    "access",
                    "default",
                    "rules",
                    "include",
                    "version",
                    "redirect",
                    "content",
                    "connect",
                    "bind",
                    "isolate",
                    "metadata",
                    "$schema",
                    "log",
                    "exec",
                    "network",
                    "filesystem",
                    "denied",
                    "allowed",
                ]))
                .to_owned();
                let val = random_value(r);
                m.insert(k, val);
            } else if let Some(serde_json::Value::Array(a)) = node_mut(&mut v, &target) {
                let x = if a.is_empty() {
                    random_value(r)
                } else {
                    a[r.index(a.len())].clone()
                };
                a.push(x);
            }
        }
        _ => {
            // A rule duplicated with one field changed.
            if let Some(serde_json::Value::Array(a)) = node_mut(&mut v, &target) {
                if !a.is_empty() {
                    let mut x = a[r.index(a.len())].clone();
                    if let serde_json::Value::Object(m) = &mut x {
                        if let Some(k) = m.keys().nth(r.index(m.len().max(1))).cloned() {
                            m.insert(k, serde_json::Value::String(r.pick(STRINGS).to_string()));
                        }
                    }
                    a.push(x);
                }
            }
        }
    }
    if r.chance(3, 4) {
        serde_json::to_vec_pretty(&v).unwrap_or_default()
    } else {
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

fn duplicate_key(r: &mut Rng, text: &[u8]) -> Vec<u8> {
    let opens: Vec<usize> = (0..text.len()).filter(|&i| text[i] == b'{').collect();
    if opens.is_empty() {
        return text.to_vec();
    }
    let at = *r.pick(&opens) + 1;
    let key = *r.pick(&[
        "\"version\": 1,",
        "\"comment\": \"a\", \"comment\": \"b\",",
        "\"default\": \"rw\", \"default\": \"ro\",",
        "\"path\": \"/\", \"path\": \"/x\",",
        "\"rules\": [], \"rules\": [],",
    ]);
    let mut s = text.to_vec();
    s.splice(at..at, key.bytes());
    s
}

fn set_include(text: &[u8], target: &str) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(text) {
        Ok(serde_json::Value::Object(mut m)) => {
            m.insert("include".into(), serde_json::json!([target]));
            serde_json::to_vec_pretty(&serde_json::Value::Object(m)).unwrap_or_default()
        }
        _ => text.to_vec(),
    }
}

//! The audit log (`--log FILE`, SPEC.md "Audit log"): one JSON object per
//! line with ts/pid/syscall/path/flags/decision/errno/rule, written as each
//! decision is made, so that it survives the program and fdsup being killed.
//! Also `-v` (denials on stderr) and `-q`.
//!
//! The log is validated by Debian's python3, run natively.

mod functional_common;

use functional_common::*;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

/// Checks every line against SPEC.md and prints one normalised record per
/// line: decision, syscall, path, errno, rule, pid and flags, tab-separated.
/// Exits 1 with the reasons if any line is wrong.
const VALIDATOR: &str = r#"
import datetime, json, re, sys, time
path, start = sys.argv[1], float(sys.argv[2])
data = open(path, encoding="utf-8").read()
errors = []
if data and not data.endswith("\n"):
    errors.append("the log does not end with a newline")
known = {"ts", "pid", "syscall", "path", "addr", "flags", "decision", "errno", "rule"}
for n, line in enumerate(data.splitlines(), 1):
    def bad(msg):
        errors.append("line %d: %s: %s" % (n, msg, line))
    try:
        o = json.loads(line)
    except ValueError as e:
        bad("not JSON (%s)" % e)
        continue
    if not isinstance(o, dict):
        bad("not an object")
        continue
    extra = set(o) - known
    if extra:
        bad("unknown fields %s" % sorted(extra))
    for k in ("ts", "pid", "syscall", "decision", "rule"):
        if k not in o:
            bad("missing %s" % k)
    ts = o.get("ts", "")
    if not isinstance(ts, str) or not re.fullmatch(
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z", ts):
        bad("ts is not RFC 3339 UTC")
    else:
        secs = datetime.datetime.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        if not (start - 2 <= secs <= time.time() + 2):
            bad("ts is outside the run (%s)" % ts)
    pid = o.get("pid")
    if type(pid) is not int or pid <= 0:
        bad("pid is not a positive integer")
    sc = o.get("syscall")
    if not isinstance(sc, str) or not re.fullmatch(r"[a-z_0-9]+", sc):
        bad("syscall is not a syscall name")
    opens = sc in ("open", "openat", "openat2", "creat")
    p = o.get("path")
    if not isinstance(p, str) or not p.startswith("/"):
        bad("path is not an absolute path")
    fl = o.get("flags")
    if not opens:
        pass
    elif not isinstance(fl, list) or not fl or not all(
            isinstance(f, str) and f.startswith("O_") for f in fl):
        bad("flags is not a list of O_ names")
    elif sum(f in ("O_RDONLY", "O_WRONLY", "O_RDWR", "O_PATH") for f in fl) < 1:
        bad("flags has no access mode")
    d = o.get("decision")
    if d not in ("allow", "deny", "hide", "redirect", "content"):
        bad("bad decision")
    e = o.get("errno")
    if d == "deny" and e != "EACCES":
        bad("a deny without errno EACCES")
    if d == "hide" and e != "ENOENT":
        bad("a hide without errno ENOENT")
    if d in ("allow", "redirect", "content") and "errno" in o:
        bad("errno on a request that was not refused")
    r = o.get("rule")
    if not isinstance(r, str) or not (r == "default" or re.fullmatch(r".+:\d+", r)):
        bad("rule is neither 'default' nor ORIGIN:LINE")
    print("\t".join(str(x) for x in (d, o.get("syscall"), p, e or "-", r, pid,
                                      ",".join(fl or []))))
if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
"#;

/// One validated log line.
#[derive(Debug, Clone)]
struct Rec {
    decision: String,
    syscall: String,
    path: String,
    errno: String,
    rule: String,
    pid: u32,
    flags: Vec<String>,
}

fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Validates the log with python3 and returns its records.
#[track_caller]
fn validate(log: &Path, start: f64) -> Vec<Rec> {
    let out = native(
        Path::new("/"),
        &[
            PY,
            "-c",
            VALIDATOR,
            log.to_str().expect("utf-8"),
            &format!("{start}"),
        ],
    );
    assert_eq!(
        out.code,
        0,
        "the audit log does not follow SPEC.md:\n{}\n--- log ---\n{}",
        out.stderr,
        std::fs::read_to_string(log).unwrap_or_default()
    );
    out.stdout
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Rec {
                decision: f[0].into(),
                syscall: f[1].into(),
                path: f[2].into(),
                errno: f[3].into(),
                rule: f[4].into(),
                pid: f[5].parse().unwrap_or(0),
                flags: f[6].split(',').map(String::from).collect(),
            }
        })
        .collect()
}

#[track_caller]
fn find<'a>(recs: &'a [Rec], path: &str, log: &Path) -> &'a Rec {
    recs.iter().find(|r| r.path == path).unwrap_or_else(|| {
        panic!(
            "no log line for {path}\n--- log ---\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        )
    })
}

/// The policy of these tests; its rule lines are pinned below.
fn policy_json(log: &str) -> String {
    format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {{ "path": "${{CWD}}", "access": "rw" }},
      {{ "path": "${{CWD}}/secret", "access": "hide" }},
      {{ "path": "${{CWD}}/denied", "access": "deny" }},
      {{ "path": "${{CWD}}/virtual", "content": "virtual\n" }}
    ]
  }}{log}
}}"#
    )
}
const LINE_CWD: u32 = 7;
const LINE_SECRET: u32 = 8;
const LINE_DENIED: u32 = 9;
const LINE_VIRTUAL: u32 = 10;

struct Fixture {
    cwd: TempDir,
    logs: TempDir,
    policy: PathBuf,
    log: PathBuf,
}

fn fixture(log_section: &str) -> Fixture {
    let cwd = TempDir::new("fn-audit");
    let logs = TempDir::new("fn-audit-logs");
    cwd.write("ok.txt", "ok\n");
    cwd.write("secret", "secret\n");
    cwd.write("denied/file", "denied\n");
    let policy = write_policy(logs.path(), "policy.json", &policy_json(log_section));
    let log = logs.join("audit.jsonl");
    Fixture {
        cwd,
        logs,
        policy,
        log,
    }
}

impl Fixture {
    fn run(&self, extra: &[&str], script: &str) -> Output {
        let mut args = vec![
            "run",
            "--policy",
            self.policy.to_str().expect("utf-8"),
            "--log",
            self.log.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--", "/bin/sh", "-c", script]);
        fdsup_run(args, self.cwd.path())
    }

    fn rule(&self, line: u32) -> String {
        format!("{}:{line}", self.policy.display())
    }
}

/// The origin `fdsup check` gives the rule for `path` (so the log's and
/// check's origins agree).
fn origin_from_check(policy: &Path, cwd: &Path, path: &str) -> String {
    let out = fdsup_run(["check", policy.to_str().expect("utf-8")], cwd);
    assert_eq!(out.code, 0, "{}", show(&out));
    out.stdout
        .lines()
        .filter(|l| l.split_whitespace().any(|w| w == path))
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with('@'))
                .map(String::from)
        })
        .next_back()
        .unwrap_or_else(|| panic!("no rule for {path} in check's output:\n{}", out.stdout))
}

#[test]
fn every_line_is_json_with_the_spec_fields() {
    let f = fixture(
        r#",
  "log": { "denied": true, "allowed": true }"#,
    );
    let start = now_secs();
    let out = f.run(
        &[],
        "echo $$; cat ok.txt; cat < secret; cat /etc/shadow; cat /root/fdsup-nope; \
         cat denied/file; cat virtual; echo x > new.txt; exit 0",
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    let sh_pid: u32 = out
        .stdout
        .lines()
        .next()
        .and_then(|l| l.parse().ok())
        .unwrap_or_else(|| panic!("no pid printed:\n{}", show(&out)));
    assert!(out.stdout.contains("virtual\n"), "{}", show(&out));
    let recs = validate(&f.log, start);
    let cwd = f.cwd.path().display().to_string();

    let ok = find(&recs, &format!("{cwd}/ok.txt"), &f.log);
    assert_eq!(
        (ok.decision.as_str(), ok.errno.as_str(), ok.rule.clone()),
        ("allow", "-", f.rule(LINE_CWD)),
        "{ok:?}"
    );
    assert!(ok.flags.contains(&"O_RDONLY".to_string()), "{ok:?}");
    assert!(
        ["open", "openat", "openat2"].contains(&ok.syscall.as_str()),
        "{ok:?}"
    );

    // Opened by the shell itself (`< secret`): its pid is the shell's.
    let secret = find(&recs, &format!("{cwd}/secret"), &f.log);
    assert_eq!(
        (
            secret.decision.as_str(),
            secret.errno.as_str(),
            secret.rule.clone()
        ),
        ("hide", "ENOENT", f.rule(LINE_SECRET)),
        "{secret:?}"
    );
    assert_eq!(secret.pid, sh_pid, "the shell opened it: {secret:?}");

    let shadow = find(&recs, "/etc/shadow", &f.log);
    let shadow_origin = origin_from_check(&f.policy, f.cwd.path(), "/etc/shadow");
    assert!(shadow_origin.starts_with("@system:"), "{shadow_origin}");
    assert_eq!(
        (
            shadow.decision.as_str(),
            shadow.errno.as_str(),
            shadow.rule.clone()
        ),
        ("hide", "ENOENT", shadow_origin),
        "{shadow:?}"
    );

    let nope = find(&recs, "/root/fdsup-nope", &f.log);
    assert_eq!(
        (
            nope.decision.as_str(),
            nope.errno.as_str(),
            nope.rule.as_str()
        ),
        ("deny", "EACCES", "default"),
        "{nope:?}"
    );
    let denied = find(&recs, &format!("{cwd}/denied/file"), &f.log);
    assert_eq!(
        (
            denied.decision.as_str(),
            denied.errno.as_str(),
            denied.rule.clone()
        ),
        ("deny", "EACCES", f.rule(LINE_DENIED)),
        "{denied:?}"
    );
    let virt = find(&recs, &format!("{cwd}/virtual"), &f.log);
    assert_eq!(
        (
            virt.decision.as_str(),
            virt.errno.as_str(),
            virt.rule.clone()
        ),
        ("content", "-", f.rule(LINE_VIRTUAL)),
        "{virt:?}"
    );
    let new = find(&recs, &format!("{cwd}/new.txt"), &f.log);
    assert_eq!(new.decision, "allow", "{new:?}");
    for fl in ["O_WRONLY", "O_CREAT", "O_TRUNC"] {
        assert!(new.flags.contains(&fl.to_string()), "{fl} in {new:?}");
    }
    // The dynamic loader's opens are mediated and logged too.
    assert!(
        recs.iter()
            .any(|r| r.decision == "allow" && r.path.contains("libc.so")),
        "no allowed open of libc in the log"
    );
}

#[test]
fn by_default_only_denials_are_logged() {
    let f = fixture("");
    let start = now_secs();
    let out = f.run(&[], "cat ok.txt; cat secret; cat denied/file; exit 0");
    assert_eq!(out.code, 0, "{}", show(&out));
    let recs = validate(&f.log, start);
    assert!(
        recs.iter()
            .all(|r| r.decision == "deny" || r.decision == "hide"),
        "allowed requests logged although log.allowed defaults to false:\n{:?}",
        recs
    );
    let cwd = f.cwd.path().display().to_string();
    find(&recs, &format!("{cwd}/secret"), &f.log);
    find(&recs, &format!("{cwd}/denied/file"), &f.log);
}

#[test]
fn denied_false_and_allowed_false_log_nothing() {
    let f = fixture(
        r#",
  "log": { "denied": false }"#,
    );
    let out = f.run(&[], "cat ok.txt; cat secret; cat denied/file; exit 0");
    assert_eq!(out.code, 0, "{}", show(&out));
    let log = std::fs::read_to_string(&f.log).unwrap_or_default();
    assert_eq!(log, "", "nothing should be logged");
}

#[test]
fn log_line_survives_the_program_killing_itself() {
    let f = fixture("");
    let start = now_secs();
    let out = f.run(&[], "cat denied/file 2>/dev/null; kill -KILL $$; sleep 5");
    assert_eq!(out.code, 137, "{}", show(&out));
    let recs = validate(&f.log, start);
    let r = find(
        &recs,
        &format!("{}/denied/file", f.cwd.path().display()),
        &f.log,
    );
    assert_eq!(r.decision, "deny");
}

/// fdsup itself killed with SIGKILL: the lines written before are there,
/// complete.
#[test]
fn log_line_survives_fdsup_being_killed() {
    let f = fixture("");
    let start = now_secs();
    let ready = f.cwd.join("ready");
    let mut child = fdsup_cmd(
        [
            "run",
            "--policy",
            f.policy.to_str().expect("utf-8"),
            "--log",
            f.log.to_str().expect("utf-8"),
            "--",
            "/bin/sh",
            "-c",
            "cat < denied/file 2>/dev/null; echo $$ > ready; exec sleep 30",
        ],
        f.cwd.path(),
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(std::fs::File::create(f.logs.join("stderr")).expect("stderr file"))
    .spawn()
    .expect("spawn fdsup");
    let ok = wait_until(Duration::from_secs(20), || {
        std::fs::read_to_string(&ready).is_ok_and(|s| s.ends_with('\n'))
    });
    let program: Option<u32> = std::fs::read_to_string(&ready)
        .ok()
        .and_then(|s| s.trim().parse().ok());
    // Let the shell become the sleep first, so that what is left to end
    // afterwards is known.
    if let Some(pid) = program {
        wait_until(Duration::from_secs(10), || {
            proc_state(pid).is_some_and(|(c, _)| c == "sleep")
        });
    }
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    // The program outlives a killed fdsup (README "Limits"); end it.
    if let Some(pid) = program {
        if proc_state(pid).is_some_and(|(c, _)| c == "sleep") {
            send_signal(pid, "KILL");
        }
    }
    assert!(
        ok,
        "the program never got ready: {}",
        std::fs::read_to_string(f.logs.join("stderr")).unwrap_or_default()
    );
    let recs = validate(&f.log, start);
    let r = find(
        &recs,
        &format!("{}/denied/file", f.cwd.path().display()),
        &f.log,
    );
    assert_eq!((r.decision.as_str(), r.errno.as_str()), ("deny", "EACCES"));
}

#[test]
fn verbose_prints_denials_on_stderr_and_quiet_does_not() {
    let f = fixture("");
    let cwd = f.cwd.path().display().to_string();
    // A name with a newline and an escape in it stays on its one line.
    let script = "cat ok.txt; cat secret 2>/dev/null; cat denied/file 2>/dev/null; \
                  cat \"denied/a$(printf '\\nfake\\033[2J')/f\" 2>/dev/null; exit 0";
    let out = f.run(&["-v"], script);
    assert!(
        out.stderr.contains("denied/a\\x0afake\\x1b[2J"),
        "-v shows control bytes escaped:\n{}",
        show(&out)
    );
    assert_eq!(out.stdout, "ok\n", "{}", show(&out));
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines.iter().all(|l| l.starts_with("fdsup:")),
        "every diagnostic is prefixed 'fdsup:':\n{}",
        show(&out)
    );
    for p in [format!("{cwd}/secret"), format!("{cwd}/denied/file")] {
        assert_eq!(
            lines.iter().filter(|l| l.contains(p.as_str())).count(),
            1,
            "-v prints one line for the denied {p}:\n{}",
            show(&out)
        );
    }
    assert!(
        !out.stderr.contains(&format!("{cwd}/ok.txt")),
        "-v prints denied requests only:\n{}",
        show(&out)
    );

    for quiet in [&[][..], &["-q"][..]] {
        let out = f.run(quiet, script);
        assert_eq!(out.code, 0, "{}", show(&out));
        assert_eq!(
            out.stderr,
            "",
            "without -v (args {quiet:?}) nothing on stderr:\n{}",
            show(&out)
        );
    }
}

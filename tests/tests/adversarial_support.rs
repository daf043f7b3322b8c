//! Helpers shared by the adversarial and robustness tests (included with
//! `#[path]` by each of them; compiled on its own it has no tests).
//!
//! The adversarial programs print one `name=value` line per attempt; these
//! helpers build the scratch layout they attack, write its policy, run the
//! program and hold each line to its expected value, collecting every
//! mismatch so that one failure shows all that went wrong.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

use fdsup_tests::{run_cmd, Output, TempDir};

/// `fdsup_tests::c_program`, one compilation at a time (the harness names its
/// temporary output after the process, so two test threads compiling the
/// same program at once would write the same file: seen as ETXTBSY and
/// "install compiled binary: NotFound"), copied to [`bin_dir`]: a program
/// runs only where the policy lets it read it (SPEC.md, `exec`), which no
/// policy of these tests does for the build tree.
pub fn prog(name: &str) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let built = fdsup_tests::c_program(name);
    let dir = bin_dir();
    let dst = dir.join(built.file_name().expect("a file name"));
    if !dst.exists() {
        // Copied under a name of our own, then renamed: another test process
        // may be installing the same program.
        let tmp = dir.join(format!(".{name}.{}", std::process::id()));
        std::fs::copy(&built, &tmp).expect("copy the test program");
        std::fs::rename(&tmp, &dst).expect("install the test program");
    }
    dst
}

/// Where [`prog`] puts the test programs: under the temporary directory,
/// which `@default` makes readable (`${TMPDIR}`); other policies of these
/// tests add [`bin_rule`]. Open to every user (the unprivileged tests).
pub fn bin_dir() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join("fdsup-test-bin");
    std::fs::create_dir_all(&dir).expect("create the test program directory");
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755));
    std::fs::canonicalize(&dir).expect("canonical test program directory")
}

/// The rule (a JSON object, with a trailing comma) that makes [`bin_dir`]
/// readable, hence its programs executable.
pub fn bin_rule() -> String {
    format!(
        r#"{{ "path": "{}", "access": "ro", "comment": "the test programs" }},"#,
        bin_dir().display()
    )
}

/// A random token, so that a leaked secret cannot be mistaken for anything else.
pub fn token(tag: &str) -> String {
    let mut b = [0u8; 16];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut b))
        .expect("read /dev/urandom");
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{tag}-{hex}")
}

/// How the policy treats the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretRule {
    /// `hide`: every request fails with ENOENT.
    Hide,
    /// `deny`: every request fails with EACCES.
    Deny,
}

impl SecretRule {
    /// The policy's word.
    pub fn access(self) -> &'static str {
        match self {
            SecretRule::Hide => "hide",
            SecretRule::Deny => "deny",
        }
    }

    /// What a program line shows for a refused open of the secret.
    pub fn refused(self) -> &'static str {
        match self {
            SecretRule::Hide => "ERR:ENOENT",
            SecretRule::Deny => "ERR:EACCES",
        }
    }

    /// The bare errno name.
    pub fn errno(self) -> &'static str {
        match self {
            SecretRule::Hide => "ENOENT",
            SecretRule::Deny => "EACCES",
        }
    }
}

/// Text of the allowed file: what a positive control must read.
pub const ALLOWED_TEXT: &str = "ALLOWED-OK\n";
/// What the program prints for a read of [`ALLOWED_TEXT`].
pub const ALLOWED_READ: &str = "READ:ALLOWED-OK|";
/// Text of the read-only file.
pub const RO_TEXT: &str = "RO-ORIGINAL\n";

/// The scratch tree the path tricks attack:
///
/// ```text
/// DIR/secret                 the secret (hide or deny), a random token
/// DIR/allowed/               rw
///     ok.txt                 ALLOWED_TEXT
///     sub/                   empty
///     sub2/secret            ALLOWED_TEXT (an allowed file named "secret")
///     link_abs -> DIR/secret
///     link_rel -> ../secret
///     link_chain -> link_abs
///     link_ok -> ok.txt
/// DIR/ro/file.txt            ro, RO_TEXT
/// DIR/policy.json            @system + the rules above, default deny
/// ```
pub struct Layout {
    /// The scratch directory (removed on drop).
    pub dir: TempDir,
    /// The secret's token.
    pub token: String,
    /// The policy file.
    pub policy: PathBuf,
}

impl Layout {
    /// Builds the tree and its policy.
    pub fn new(tag: &str, rule: SecretRule) -> Self {
        let dir = TempDir::new(tag);
        let token = token("SECRET");
        dir.write("secret", format!("{token}\n"));
        dir.write("allowed/ok.txt", ALLOWED_TEXT);
        dir.write("allowed/sub2/secret", ALLOWED_TEXT);
        std::fs::create_dir_all(dir.join("allowed/sub")).expect("mkdir sub");
        dir.write("ro/file.txt", RO_TEXT);
        let link = |target: &Path, name: &str| {
            std::os::unix::fs::symlink(target, dir.join("allowed").join(name)).expect("symlink");
        };
        link(&dir.join("secret"), "link_abs");
        link(Path::new("../secret"), "link_rel");
        link(Path::new("link_abs"), "link_chain");
        link(Path::new("ok.txt"), "link_ok");
        let d = dir.path().display();
        let json = format!(
            r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{d}/allowed", "access": "rw" }},
      {{ "path": "{d}/ro", "access": "ro" }},
      {{ "path": "{d}/secret", "access": "{}" }}
    ]
  }}
}}
"#,
            rule.access(),
            bin = bin_rule(),
        );
        let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
        Self { dir, token, policy }
    }

    /// Makes the tree usable by another user (the unprivileged tests): every
    /// directory 0777, every file 0644, so that only the sandbox stands
    /// between that user and the secret.
    pub fn open_to_everyone(&self) {
        let out = run_cmd(
            Command::new("chmod")
                .args(["-R", "a+rwX"])
                .arg(self.dir.path()),
            Duration::from_secs(30),
        );
        out.expect_code(0);
    }
}

/// `name=value` lines of a program's output (later lines win).
pub fn parse(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// Collects mismatches between a program's lines and what they must be.
pub struct Checks<'a> {
    out: &'a Output,
    lines: BTreeMap<String, String>,
    failures: Vec<String>,
}

impl<'a> Checks<'a> {
    /// Starts checking `out`.
    pub fn new(out: &'a Output) -> Self {
        Self {
            out,
            lines: parse(&out.stdout),
            failures: Vec::new(),
        }
    }

    /// The value of line `key`, if printed.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.lines.get(key).map(String::as_str)
    }

    /// Line `key` must be exactly `want`.
    pub fn eq(&mut self, key: &str, want: &str) -> &mut Self {
        match self.lines.get(key) {
            Some(v) if v == want => {}
            Some(v) => self
                .failures
                .push(format!("{key}: expected {want}, got {v}")),
            None => self
                .failures
                .push(format!("{key}: expected {want}, line missing")),
        }
        self
    }

    /// Every key in `keys` must be exactly `want`.
    pub fn all(&mut self, keys: &[&str], want: &str) -> &mut Self {
        for k in keys {
            self.eq(k, want);
        }
        self
    }

    /// Line `key` must start with `prefix`.
    pub fn starts(&mut self, key: &str, prefix: &str) -> &mut Self {
        match self.lines.get(key) {
            Some(v) if v.starts_with(prefix) => {}
            Some(v) => self
                .failures
                .push(format!("{key}: expected {prefix}..., got {v}")),
            None => self
                .failures
                .push(format!("{key}: expected {prefix}..., line missing")),
        }
        self
    }

    /// Line `key`, if printed, must not be a successful read.
    pub fn not_read(&mut self, key: &str) -> &mut Self {
        if let Some(v) = self.lines.get(key) {
            if v.starts_with("READ") || v == "OK" {
                self.failures
                    .push(format!("{key}: must be refused, got {v}"));
            }
        }
        self
    }

    /// Records a failure of a condition checked by the caller.
    pub fn fail(&mut self, what: String) -> &mut Self {
        self.failures.push(what);
        self
    }

    /// Panics with every mismatch and the whole output, if any.
    #[track_caller]
    pub fn finish(&self) {
        assert!(
            self.failures.is_empty(),
            "{} check(s) failed:\n  {}\nexit code {}\nstdout:\n{}\nstderr:\n{}",
            self.failures.len(),
            self.failures.join("\n  "),
            self.out.code,
            self.out.stdout,
            tail(&self.out.stderr, 4000),
        );
    }
}

/// The last `n` bytes of `s` (at a char boundary).
pub fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}

/// The secret's token must appear nowhere in what the run printed.
#[track_caller]
pub fn assert_no_secret(out: &Output, token: &str) {
    assert!(
        !out.stdout.contains(token) && !out.stderr.contains(token),
        "THE SECRET LEAKED: its token {token} is in the output\nstdout:\n{}\nstderr:\n{}",
        out.stdout,
        tail(&out.stderr, 4000)
    );
}

/// Runs `fdsup run --policy POLICY -- PROGRAM ARGS...` in `cwd` with extra
/// environment variables and a time limit.
pub fn sandboxed_env<S: AsRef<OsStr>>(
    policy: &OsStr,
    cwd: &Path,
    envs: &[(&str, &str)],
    command: &[S],
    timeout: Duration,
) -> Output {
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], cwd);
    c.arg(policy).arg("--");
    c.args(command.iter().map(AsRef::as_ref));
    for (k, v) in envs {
        c.env(k, v);
    }
    run_cmd(&mut c, timeout)
}

/// Runs `fdsup run --policy POLICY -- PROGRAM ARGS...` in `cwd` as uid/gid
/// 65534 (with `setpriv`), for the unprivileged tests.
pub fn sandboxed_as_nobody<S: AsRef<OsStr>>(policy: &Path, cwd: &Path, command: &[S]) -> Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(fdsup_tests::fdsup())
        .arg("run")
        .args(fdsup_tests::metadata_flags())
        .arg("--policy")
        .arg(policy)
        .arg("--")
        .args(command.iter().map(AsRef::as_ref))
        .current_dir(cwd);
    run_cmd(&mut c, Duration::from_secs(60))
}

/// A path as a `&str` (the scratch paths are ASCII).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("scratch paths are UTF-8")
}

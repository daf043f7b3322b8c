//! Adversarial: another program's IPC objects and the user's kernel keys,
//! which no path or network rule names (`tests/c/adv_ipc.c`).
//!
//! Outside the sandbox, the test makes a System V shared memory segment,
//! message queue and semaphore set (mode 0666, reached by id: ids are
//! small and guessable, `ipcs` lists them), a POSIX message queue (by
//! name, in the IPC namespace's mqueue file system) and a "user" key in
//! the user's keyring, each holding a secret. Natively the program reads
//! every one of them (the positive control that the attempt means
//! something); in the sandbox it must read none: the program has an IPC
//! namespace of its own (root, or `isolate` as any user), and `keyctl`,
//! `add_key` and `request_key` fail with ENOSYS in every run. Its own
//! IPC (an `IPC_PRIVATE` segment, queue and semaphore, a POSIX queue of
//! its own) keeps working.

#[path = "adversarial_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fdsup_tests::{is_root, run_cmd, skip, TempDir};
use support::{assert_no_secret, bin_rule, prog, s, sandboxed_as_nobody, sandboxed_env, Checks};

/// What `adv_ipc make` made outside, removed (`adv_ipc clean`) on drop.
struct Made {
    ids: BTreeMap<String, String>,
    secret: String,
    /// The key's secret.
    key_secret: String,
    nobody: bool,
}

fn as_user(nobody: bool) -> Command {
    if nobody {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
        c.arg(prog("adv_ipc"));
        c
    } else {
        Command::new(prog("adv_ipc"))
    }
}

impl Made {
    /// Makes the objects outside the sandbox, as root or as nobody.
    fn new(nobody: bool) -> Made {
        let secret = support::token("IPCSECRET");
        let key_secret = support::token("KEYSECRET");
        let out = run_cmd(
            as_user(nobody).arg("make").arg(&secret).arg(&key_secret),
            Duration::from_secs(30),
        );
        assert_eq!(
            out.code, 0,
            "adv_ipc make failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        Made {
            ids: support::parse(&out.stdout),
            secret,
            key_secret,
            nobody,
        }
    }

    fn get(&self, k: &str) -> &str {
        self.ids
            .get(k)
            .unwrap_or_else(|| panic!("adv_ipc make printed no {k}: {:?}", self.ids))
    }

    /// `probe SHM MSG SEM MQ KEY_DESC`.
    fn probe_args(&self) -> Vec<String> {
        ["shm_id", "msg_id", "sem_id", "mq", "key_desc"]
            .iter()
            .map(|k| self.get(k).to_owned())
            .collect()
    }
}

impl Drop for Made {
    fn drop(&mut self) {
        let args: Vec<String> = ["shm_id", "msg_id", "sem_id", "mq", "key"]
            .iter()
            .map(|k| self.ids.get(*k).cloned().unwrap_or_else(|| "-1".into()))
            .collect();
        let _ = run_cmd(
            as_user(self.nobody).arg("clean").args(&args),
            Duration::from_secs(30),
        );
    }
}

/// The reads of another program's objects.
const READS: &[&str] = &["shm_read", "msg_read", "sem_read", "mq_read"];
/// The program's own IPC.
const OWN: &[&str] = &["own_shm", "own_msg", "own_sem", "own_mq"];
/// The key calls, refused with ENOSYS in every run.
const KEYS: &[&str] = &[
    "keyctl_user_keyring",
    "keyctl_search",
    "add_key",
    "request_key",
];

/// Natively the program reads every object and the key: the positive
/// control.
fn native_control(dir: &Path, nobody: bool) {
    let made = Made::new(nobody);
    let mut cmd = as_user(nobody);
    cmd.arg("probe").args(made.probe_args()).current_dir(dir);
    let out = run_cmd(&mut cmd, Duration::from_secs(30));
    let mut c = Checks::new(&out);
    for k in ["shm_read", "msg_read", "mq_read"] {
        c.eq(k, &made.secret);
    }
    c.eq("keyctl_read", &made.key_secret);
    c.eq("sem_read", "4242");
    c.all(OWN, "OK");
    c.all(&["keyctl_search", "add_key"], "OK");
    c.eq("request_key", "ENOKEY");
    c.finish();
}

/// The sandboxed probe: `run` gets the probe's arguments. `ipc_private`:
/// whether the program has an IPC namespace of its own here.
fn sandboxed_probe(
    nobody: bool,
    ipc_private: bool,
    run: impl FnOnce(&[String]) -> fdsup_tests::Output,
) {
    let made = Made::new(nobody);
    let out = run(&made.probe_args());
    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    if ipc_private {
        assert_no_secret(&out, &made.secret);
        c.all(&["shm_stat", "shm_read", "msg_read", "sem_read"], "EINVAL");
        c.eq("mq_read", "ENOENT");
        for k in READS {
            if c.get(k) == Some(made.secret.as_str()) {
                c.fail(format!("{k}: read another program's secret"));
            }
        }
    }
    assert_no_secret(&out, &made.key_secret);
    c.all(KEYS, "ENOSYS");
    c.all(OWN, "OK");
    if !out.stdout.lines().any(|l| l == "done") {
        c.fail("the program did not finish (no \"done\")".to_owned());
    }
    c.finish();
}

fn scratch(nobody: bool) -> TempDir {
    let dir = TempDir::new("adv-ipc");
    if nobody {
        let st = Command::new("chmod")
            .args(["a+rwx"])
            .arg(dir.path())
            .status()
            .expect("chmod");
        assert!(st.success());
    }
    dir
}

/// A policy that denies the network without `isolate` (no namespace of
/// its own for the network, so the IPC one is asked for alone).
fn no_isolate_policy(dir: &Path) -> std::path::PathBuf {
    fdsup_tests::write_policy(
        dir,
        "no-isolate.json",
        &format!(
            r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "rules": [ {} {{ "path": "${{CWD}}", "access": "rw" }} ] }},
  "network": {{ "default": "deny" }} }}"#,
            bin_rule()
        ),
    )
}

fn probe_cmd(args: &[String]) -> Vec<String> {
    let mut cmd = vec![s(&prog("adv_ipc")).to_owned(), "probe".to_owned()];
    cmd.extend_from_slice(args);
    cmd
}

/// Root, `@default` (which isolates the network).
#[test]
fn root_default_reaches_no_host_ipc_nor_keys() {
    if !is_root() {
        skip!("not root: the root run is what this tests");
    }
    let dir = scratch(false);
    native_control(dir.path(), false);
    sandboxed_probe(false, true, |args| {
        sandboxed_env(
            "@default".as_ref(),
            dir.path(),
            &[],
            &probe_cmd(args),
            Duration::from_secs(60),
        )
    });
}

/// Root, a policy that does not isolate: the IPC namespace alone.
#[test]
fn root_without_isolate_reaches_no_host_ipc_nor_keys() {
    if !is_root() {
        skip!("not root: the root run is what this tests");
    }
    let dir = scratch(false);
    let policy = no_isolate_policy(dir.path());
    sandboxed_probe(false, true, |args| {
        sandboxed_env(
            policy.as_os_str(),
            dir.path(),
            &[],
            &probe_cmd(args),
            Duration::from_secs(60),
        )
    });
}

/// nobody, `@default`: the IPC namespace comes with the user namespace that
/// `isolate` makes.
#[test]
fn nobody_isolated_reaches_no_host_ipc_nor_keys() {
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    fdsup_tests::require("setpriv");
    let dir = scratch(true);
    native_control(dir.path(), true);
    sandboxed_probe(true, true, |args| {
        sandboxed_as_nobody(Path::new("@default"), dir.path(), &probe_cmd(args))
    });
}

/// nobody, no `isolate`: fdsup makes no user namespace for the IPC one
/// alone, so the host's IPC stays reachable (README, Limits); the keys are
/// refused all the same, and the program's own IPC works.
#[test]
fn nobody_without_isolate_reaches_no_keys() {
    if !is_root() {
        skip!("not root: cannot run fdsup as uid 65534");
    }
    fdsup_tests::require("setpriv");
    let dir = scratch(true);
    let policy = no_isolate_policy(dir.path());
    sandboxed_probe(true, false, |args| {
        sandboxed_as_nobody(&policy, dir.path(), &probe_cmd(args))
    });
}

//! Adversarial: what fdsup serves from elsewhere (`tests/c/adv_served.c`),
//! each trick beside a positive control:
//!
//! - the private `/dev/shm` with a later rule for a name below it (as the
//!   README invites: decisions are made on the name the program used): the
//!   host's file of that name, reached by a symbolic link to `/dev/shm` or
//!   by `/proc/self/cwd` after a `chdir("/dev/shm")` (the kernel's, which
//!   lands in the host's directory), must stay hidden;
//! - a `content` rule's sealed memfd: no way to write it (seals, a shared
//!   writable mapping, a reopen, a new name for it);
//! - a read-only `redirect`: no way to change its target.

#[path = "adversarial_support.rs"]
mod support;

use std::time::Duration;

use fdsup_tests::{run_cmd, Output, TempDir};
use support::{assert_no_secret, prog, token, Checks};

fn run(policy: &std::path::Path, cwd: &std::path::Path, args: &[&str]) -> Output {
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], cwd);
    c.arg(policy).arg("--").arg(prog("adv_served")).args(args);
    run_cmd(&mut c, Duration::from_secs(120))
}

/// Removes the host's `/dev/shm` file at the end, whatever happens.
struct HostShm(std::path::PathBuf);

impl Drop for HostShm {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_rule_below_the_private_dev_shm_never_reaches_the_hosts() {
    let dir = TempDir::new("adv-served-shm");
    let tok = token("SHM");
    let name = format!("fdsup-adv-served-{}", std::process::id());
    let host = HostShm(std::path::Path::new("/dev/shm").join(&name));
    std::fs::write(&host.0, format!("{tok}\n")).expect("write the host's /dev/shm file");
    dir.write("work/control", "CONTROL\n");
    let work = dir.join("work");
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{w}", "access": "rw" }},
      {{ "path": "/dev/shm/{name}", "access": "rw" }}
    ]
  }}
}}
"#,
        bin = support::bin_rule(),
        w = work.display()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    let out = run(&policy, &work, &["shmhost", &work.to_string_lossy(), &name]);
    assert_no_secret(&out, &tok);
    let mut c = Checks::new(&out);
    c.eq("private_write", "OK")
        .eq("private_read", "READ:PWNED|")
        .eq("symlink", "OK")
        .eq("symlink_work", "OK")
        .eq("link_control", "READ:CONTROL|")
        .eq("chdir", "OK")
        .eq("relative_read", "READ:PWNED|")
        .eq("done", "1");
    for k in ["link_read", "link_write", "cwd_read", "cwd_write"] {
        c.eq(k, "ERR:ENOENT");
    }
    // The working directory itself is the host's /dev/shm: hidden.
    c.eq("cwd_dir", "ERR:ENOENT");
    c.not_read("cwd_dir_read");
    let now = std::fs::read_to_string(&host.0).unwrap_or_default();
    if now != format!("{tok}\n") {
        c.fail(format!("the host's /dev/shm/{name} was changed: {now:?}"));
    }
    c.finish();
}

/// The same policy run as uid 65534 (the host's file is theirs, as it would
/// be for another program of that user).
#[test]
fn a_rule_below_the_private_dev_shm_never_reaches_the_hosts_as_nobody() {
    if !fdsup_tests::is_root() {
        eprintln!("skipped: needs root to become uid 65534");
        assert!(!fdsup_tests::must_not_skip(), "not root");
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("adv-served-shm-nobody");
    let tok = token("SHM");
    let name = format!("fdsup-adv-served-nobody-{}", std::process::id());
    let host = HostShm(std::path::Path::new("/dev/shm").join(&name));
    std::fs::write(&host.0, format!("{tok}\n")).expect("write the host's /dev/shm file");
    std::fs::set_permissions(&host.0, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    dir.write("work/control", "CONTROL\n");
    let work = dir.join("work");
    for p in [dir.path(), work.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    }
    std::fs::set_permissions(work.join("control"), std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{w}", "access": "rw" }},
      {{ "path": "/dev/shm/{name}", "access": "rw" }}
    ]
  }}
}}
"#,
        bin = support::bin_rule(),
        w = work.display()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    let program = prog("adv_served");
    let out = support::sandboxed_as_nobody(
        &policy,
        &work,
        &[
            program.as_os_str(),
            "shmhost".as_ref(),
            work.as_os_str(),
            name.as_ref(),
        ],
    );
    assert_no_secret(&out, &tok);
    let mut c = Checks::new(&out);
    c.eq("private_write", "OK")
        .eq("private_read", "READ:PWNED|")
        .eq("link_control", "READ:CONTROL|")
        .eq("done", "1");
    for k in ["link_read", "link_write", "cwd_read", "cwd_write"] {
        c.eq(k, "ERR:ENOENT");
    }
    let now = std::fs::read_to_string(&host.0).unwrap_or_default();
    if now != format!("{tok}\n") {
        c.fail(format!("the host's /dev/shm/{name} was changed: {now:?}"));
    }
    c.finish();
}

/// A `content` rule's memfd and a read-only `redirect`'s target cannot be
/// written by any route tried; positive control: both read, and the same
/// program writes its own directory.
#[test]
fn content_and_read_only_redirects_stay_read_only() {
    let dir = TempDir::new("adv-served-content");
    dir.write("srv/target", "TARGET\n");
    dir.write("work/plain", "PLAIN\n");
    let work = dir.join("work");
    let srv = dir.join("srv");
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{w}", "access": "rw" }},
      {{ "path": "{s}", "access": "hide" }},
      {{ "path": "/etc/hostname", "redirect": "{s}/target" }},
      {{ "path": "/run/fdsup-adv/hello", "content": "HELLO\n" }}
    ]
  }}
}}
"#,
        bin = support::bin_rule(),
        w = work.display(),
        s = srv.display()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    let w = work.to_string_lossy();
    let out = run(&policy, &work, &["content", "/run/fdsup-adv/hello", &w]);
    let mut c = Checks::new(&out);
    c.eq("read", "READ:HELLO|")
        .eq("mmap_read", "OK")
        .eq("after", "READ:HELLO|")
        .eq("done", "1");
    for k in [
        "add_seals",
        "mmap_write",
        "mprotect_write",
        "reopen_rdwr",
        "reopen_trunc",
        "ftruncate",
        "fallocate",
        "write",
        "linkat",
        "linkat_proc",
        "link_write",
        "open_rdwr",
        "open_trunc",
    ] {
        c.starts(k, "ERR:");
    }
    c.finish();
    let out = run(&policy, &work, &["redirect", "/etc/hostname", &w]);
    let mut c = Checks::new(&out);
    c.eq("read", "READ:TARGET|")
        .eq("after", "READ:TARGET|")
        .eq("done", "1");
    for k in [
        "open_rdwr",
        "open_trunc",
        "open_creat",
        "chmod",
        "fchmod",
        "truncate",
        "unlink",
        "reopen_rdwr",
        "chmod_proc",
        "truncate_proc",
        "linkat",
        "linkat_proc",
        "link_write",
        "rename_proc",
        "ftruncate",
        "futimens",
    ] {
        c.starts(k, "ERR:");
    }
    c.finish();
    assert_eq!(
        std::fs::read_to_string(srv.join("target")).unwrap_or_default(),
        "TARGET\n",
        "the redirect's target was changed"
    );
    let ls: Vec<_> = std::fs::read_dir(&srv)
        .map(|d| d.flatten().map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(ls.len(), 1, "{ls:?}");
    let out = run(&policy, &work, &["shmhost", &w, "x"]);
    Checks::new(&out).eq("private_write", "OK").finish();
}

/// `/dev/tty` is the asking process's controlling terminal, as the kernel's
/// open gives it, never fdsup's: after `setsid()` the program has none
/// (ENXIO, where fdsup's own open handed it the terminal fdsup was started
/// on), and after making a pseudo-terminal of its own its controlling
/// terminal, `/dev/tty` is that one (what it writes there reaches its
/// master, not the outer terminal). Positive control: before `setsid`,
/// `/dev/tty` opens.
#[test]
fn dev_tty_is_the_programs_controlling_terminal() {
    fdsup_tests::require("script");
    let dir = TempDir::new("adv-served-ctty");
    let json = format!(
        r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [ {bin} {{ "path": "/dev/null", "access": "rw" }} ] }} }}
"#,
        bin = support::bin_rule()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    let inner = format!(
        "'{}' run {} --policy '{}' -- '{}' ctty",
        fdsup_tests::fdsup().display(),
        fdsup_tests::metadata_flags().join(" "),
        policy.display(),
        prog("adv_served").display()
    );
    let out = run_cmd(
        std::process::Command::new("script")
            .args(["-qec", &inner, "/dev/null"])
            .stdin(std::process::Stdio::null())
            .current_dir(dir.path()),
        Duration::from_secs(60),
    );
    let fixed = Output {
        code: out.code,
        stdout: out.stdout.replace('\r', ""),
        stderr: out.stderr,
    };
    let mut c = Checks::new(&fixed);
    c.eq("tty_before", "OK")
        .eq("setsid", "OK")
        .eq("tty_no_ctty", "ERR:ENXIO")
        .eq("ptmx", "OK")
        .eq("slave", "OK")
        .eq("sctty", "OK")
        .eq("tty_own", "OK")
        .eq("master", "VIA-DEV-TTY")
        .eq("done", "1");
    if fixed.stdout.matches("VIA-DEV-TTY").count() != 1 {
        c.fail("written to the outer terminal".into());
    }
    c.finish();
}

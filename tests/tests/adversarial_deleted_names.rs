//! Adversarial: names ending with " (deleted)", the kernel's mark for an
//! unlinked object in a descriptor's path (`tests/c/adv_deleted_names.c`).
//! A read-only file so named, reached through `/proc/self/fd/N`, must not
//! be taken for an unlinked one (which has no path and was let through
//! undecided: chmod, truncate, chown of a read-only file); a read-only
//! directory so named must not be decided on the name without the mark
//! (which a rule made writable: files created in a read-only directory).
//! Positive controls: the same in a read-write directory, and a really
//! unlinked file (`O_TMPFILE`).

#[path = "adversarial_support.rs"]
mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use fdsup_tests::TempDir;
use support::{bin_rule, prog, s, sandboxed_env, Checks};

#[test]
fn names_that_end_with_deleted_are_decided_on_their_path() {
    let tmp = TempDir::new("adv-deleted-names");
    let dir = std::fs::canonicalize(tmp.path()).expect("canonical scratch");
    let ro = dir.join("ro");
    let rw = dir.join("rw");
    std::fs::create_dir_all(ro.join("d (deleted)")).expect("mkdir ro");
    std::fs::create_dir_all(rw.join("e (deleted)")).expect("mkdir rw");
    let file = ro.join("f (deleted)");
    std::fs::write(&file, "RO-ORIGINAL\n").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    std::fs::write(rw.join("g (deleted)"), "RW\n").expect("write");
    let d = dir.display();
    let policy = fdsup_tests::write_policy(
        &dir,
        "policy.json",
        &format!(
            r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "rules": [
      {bin}
      {{ "path": "{d}", "access": "ro" }},
      {{ "path": "{d}/rw", "access": "rw" }},
      {{ "path": "{d}/ro/d", "access": "rw", "comment": "absent; only its name without the mark" }}
    ]
  }}
}}
"#,
            bin = bin_rule()
        ),
    );
    let program = prog("adv_deleted_names");
    let out = sandboxed_env(
        policy.as_os_str(),
        &dir,
        &[],
        &[s(&program), s(&dir)],
        Duration::from_secs(60),
    );
    let mut c = Checks::new(&out);
    c.eq("ro_file_open", "OK");
    for k in ["chmod", "truncate", "utimens", "chown", "access_w"] {
        c.eq(&format!("ro_file_{k}"), "ERR:EACCES");
        c.eq(&format!("rw_file_{k}"), "OK");
    }
    c.eq("rw_file_open", "OK");
    c.eq("ro_dir_open", "OK");
    c.eq("rw_dir_open", "OK");
    for k in ["create", "mkdir", "create_magic"] {
        c.eq(&format!("ro_dir_{k}"), "ERR:EACCES");
        c.eq(&format!("rw_dir_{k}"), "OK");
    }
    c.eq("tmpfile_open", "OK");
    c.eq("tmpfile_chmod", "OK");
    c.finish();
    let meta = std::fs::metadata(&file).expect("stat the read-only file");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o644, "mode changed");
    assert_eq!(
        std::fs::read_to_string(&file).expect("read"),
        "RO-ORIGINAL\n",
        "the read-only file was truncated"
    );
    let left: Vec<_> = std::fs::read_dir(ro.join("d (deleted)"))
        .expect("list")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert!(
        left.is_empty(),
        "created in a read-only directory: {left:?}"
    );
}

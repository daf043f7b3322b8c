//! Adversarial: `ro` means unchanged. Every open that could write, truncate
//! or create is tried on a read-only directory, and the same on a read-write
//! one as the positive control (`tests/c/adv_ro.c`); the read-only tree must
//! be byte-for-byte, name-for-name and timestamp-for-timestamp the same
//! afterwards.

#[path = "adversarial_support.rs"]
mod support;

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use fdsup_tests::TempDir;
use support::{prog, s, sandboxed_env, Checks};

/// The ops the program tries in each directory.
const OPS: &[&str] = &[
    "wronly",
    "rdwr",
    "trunc_rdonly",
    "append",
    "creat_existing_wronly",
    "creat_new",
    "creat_excl_new",
    "creat_rdonly_new",
    "tmpfile",
    "creat_call_new",
    "creat_call_existing",
    "openat_dirfd_creat",
    "openat_dirfd_rdwr",
    "openat_dirfd_tmpfile",
    "openat2_creat",
    "openat2_rdwr_trunc",
    "openat2_tmpfile",
    "dotdot_rdwr",
    "cwd_rel_rdwr",
    "cwd_rel_creat",
    "proc_cwd_wronly",
    "proc_cwd_creat",
    "proc_root_rdwr",
];

/// Name -> (mode, size, mtime ns, ctime ns, contents) of everything below `dir`.
fn snapshot(dir: &Path) -> BTreeMap<String, (u32, u64, i64, i64, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let md = std::fs::symlink_metadata(&d).expect("stat");
        let name = d.strip_prefix(dir).expect("below").display().to_string();
        let mtime = md.mtime() * 1_000_000_000 + md.mtime_nsec();
        let ctime = md.ctime() * 1_000_000_000 + md.ctime_nsec();
        let contents = if md.is_file() {
            std::fs::read(&d).expect("read")
        } else {
            Vec::new()
        };
        out.insert(name, (md.mode(), md.size(), mtime, ctime, contents));
        if md.is_dir() {
            for e in std::fs::read_dir(&d).expect("list") {
                stack.push(e.expect("entry").path());
            }
        }
    }
    out
}

#[test]
fn opens_cannot_change_a_read_only_tree() {
    let dir = TempDir::new("adv-ro");
    dir.write("ro/file.txt", "ORIGINAL\n");
    dir.write("ro/other.txt", "OTHER\n");
    dir.write("rw/file.txt", "ORIGINAL\n");
    std::os::unix::fs::symlink("../ro/file.txt", dir.join("rw/link_to_ro")).expect("symlink");
    let d = dir.path().display();
    let policy = fdsup_tests::write_policy(
        dir.path(),
        "policy.json",
        &format!(
            r#"{{ "version": 1, "include": ["@system"],
  "filesystem": {{ "default": "deny", "rules": [
    {bin}
    {{ "path": "{d}/rw", "access": "rw" }},
    {{ "path": "{d}/ro", "access": "ro" }} ] }} }}"#,
            bin = support::bin_rule()
        ),
    );
    let before = snapshot(&dir.join("ro"));
    // Timestamps must be able to differ if anything is touched.
    std::thread::sleep(Duration::from_millis(20));
    let program = prog("adv_ro");
    let out = sandboxed_env(
        policy.as_os_str(),
        dir.path(),
        &[],
        &[s(&program), s(dir.path())],
        Duration::from_secs(60),
    );
    let after = snapshot(&dir.join("ro"));

    let mut c = Checks::new(&out);
    if out.code != 0 {
        c.fail(format!("exit code {} (expected 0)", out.code));
    }
    if !out.stdout.lines().any(|l| l == "done") {
        c.fail("the program did not finish (no \"done\")".to_owned());
    }
    for op in OPS {
        c.eq(&format!("ro.{op}"), "EACCES");
        // Positive control: the very same open works where writing is allowed.
        c.eq(&format!("rw.{op}"), "OK");
    }
    c.eq("ro.rdonly", "OK");
    c.eq("ro.dirfd", "OK");
    c.eq("rw.rdonly", "OK");
    for k in [
        "ro.via_rw_symlink_wronly",
        "ro.via_rw_symlink_trunc",
        "ro.via_rw_dotdot_rdwr",
    ] {
        c.eq(k, "EACCES");
    }
    if before != after {
        let mut diff = Vec::new();
        for (k, v) in &after {
            match before.get(k) {
                None => diff.push(format!("new entry ro/{k}")),
                Some(b) if b != v => diff.push(format!(
                    "changed ro/{k}: {:?} -> {:?}",
                    (b.0, b.1, b.2, b.3, String::from_utf8_lossy(&b.4)),
                    (v.0, v.1, v.2, v.3, String::from_utf8_lossy(&v.4))
                )),
                _ => {}
            }
        }
        for k in before.keys().filter(|k| !after.contains_key(*k)) {
            diff.push(format!("removed ro/{k}"));
        }
        c.fail(format!("the read-only tree changed: {}", diff.join("; ")));
    }
    c.finish();
}

//! Adversarial: tricks a review of the foundation found (`tests/c/adv_holes.c`),
//! each beside a positive control, so that a sandbox refusing everything
//! cannot pass:
//!
//! - renaming a *directory* that holds hidden, denied or read-only entries
//!   carries them out of their rules' reach: refused (EXDEV), while a
//!   directory with no rules below moves;
//! - a hard link to a name the policy denies, in an `rw` directory;
//! - `chdir` into the supervisor's `/proc/<pid>` and relative opens there;
//!   (mode-specific: with `FDSUP_TEST_METADATA=visible` the chdir is the
//!   kernel's and succeeds, and the opens from there are what is held);
//! - reopening `/proc/self/fd/N` for writing while another thread swaps N
//!   between a read-only and a writable file (the held access mode must be
//!   that of the object actually opened);
//! - an unlinked read-only file reopened for writing, or given a new name,
//!   through `/proc/self/fd` (its old path is no ground to decide on);
//! - an inherited write-only descriptor of a hidden file reopened for
//!   reading or as `O_PATH` (which is served as a read-only descriptor).

#[path = "adversarial_support.rs"]
mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use fdsup_tests::{run_cmd, Output, TempDir};
use support::{assert_no_secret, prog, token, Checks};

const RO: &str = "RO-ORIGINAL\n";

/// ```text
/// DIR/secret                    hide (a random token)
/// DIR/ro/file.txt, file2.txt    ro; file2.txt is a hard link of file.txt
/// DIR/work/                     rw, the working directory
///     data/secret/key           hide (the token)
///     data/denied               deny (the token)
///     data/ro/file              ro
///     rotree/inner/file         ro
///     movable/f.txt             (no rules below movable)
///     plain.txt, allowed.txt, w.txt
///     denied_name               deny (does not exist)
/// ```
struct Tree {
    dir: TempDir,
    token: String,
    policy: std::path::PathBuf,
}

fn tree(tag: &str) -> Tree {
    let dir = TempDir::new(tag);
    let token = token("SECRET");
    dir.write("secret", format!("{token}\n"));
    dir.write("ro/file.txt", RO);
    std::fs::hard_link(dir.join("ro/file.txt"), dir.join("ro/file2.txt")).expect("hard link");
    dir.write("work/data/secret/key", format!("{token}\n"));
    dir.write("work/data/denied", format!("{token}\n"));
    dir.write("work/data/ro/file", RO);
    dir.write("work/rotree/inner/file", RO);
    dir.write("work/movable/f.txt", "MOVABLE\n");
    dir.write("work/plain.txt", "PLAIN\n");
    dir.write("work/allowed.txt", "ALLOWED\n");
    dir.write("work/w.txt", "W\n");
    dir.write("hdir/key", format!("{token}\n"));
    let d = dir.path().display();
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@system"],
  "filesystem": {{
    "default": "deny",
    "rules": [
      {bin}
      {{ "path": "{d}/work", "access": "rw" }},
      {{ "path": "{d}/ro", "access": "ro" }},
      {{ "path": "{d}/secret", "access": "hide" }},
      {{ "path": "{d}/work/data/secret", "access": "hide" }},
      {{ "path": "{d}/work/data/denied", "access": "deny" }},
      {{ "path": "{d}/work/data/ro", "access": "ro" }},
      {{ "path": "{d}/work/rotree/inner", "access": "ro" }},
      {{ "path": "{d}/work/denied_name", "access": "deny" }},
      {{ "path": "{d}/hdir", "access": "hide" }}
    ]
  }}
}}
"#,
        bin = support::bin_rule()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    Tree { dir, token, policy }
}

fn run(t: &Tree, mode: &str) -> Output {
    let program = prog("adv_holes");
    let mut c = fdsup_tests::fdsup_cmd(["run", "--policy"], &t.dir.join("work"));
    c.arg(&t.policy)
        .arg("--")
        .arg(&program)
        .arg(mode)
        .arg(t.dir.path());
    let out = run_cmd(&mut c, Duration::from_secs(120));
    assert_no_secret(&out, &t.token);
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| format!("<{e}>"))
}

fn done(c: &mut Checks<'_>, out: &Output, mark: &str) {
    if !out.stdout.lines().any(|l| l == mark) {
        c.fail(format!("the program did not finish (no {mark:?})"));
    }
}

#[test]
fn moving_a_directory_cannot_carry_protected_entries_out_of_their_rules() {
    let t = tree("adv-holes-dirmove");
    let out = run(&t, "dirmove");
    let mut c = Checks::new(&out);
    for k in [
        "rename_data",
        "renameat2_data",
        "exchange_data",
        "rename_rodir",
    ] {
        c.eq(k, "ERR:EXDEV");
    }
    for k in [
        "after_d2_secret",
        "after_d2_denied",
        "after_d2_ro_write",
        "after_rotree2_write",
    ] {
        c.eq(k, "ERR:ENOENT");
    }
    c.eq("rename_movable", "OK");
    c.eq("after_moved", "READ:MOVABLE|");
    c.eq("rename_file", "OK");
    c.eq("after_plain2", "READ:PLAIN|");
    c.eq("link_denied_name", "ERR:EACCES");
    c.eq("link_ok_name", "OK");
    c.eq("after_linked", "READ:PLAIN|");
    done(&mut c, &out, "dirmove_done");
    let w = t.dir.join("work");
    if !w.join("data/secret/key").exists() || w.join("d2").exists() || w.join("d3").exists() {
        c.fail("data/ was moved".to_owned());
    }
    for f in ["data/ro/file", "rotree/inner/file"] {
        if read(&w.join(f)) != RO {
            c.fail(format!("{f} changed: {:?}", read(&w.join(f))));
        }
    }
    if w.join("denied_name").exists() {
        c.fail("denied_name was created".to_owned());
    }
    c.finish();
}

#[test]
fn the_supervisors_proc_directory_is_unreachable_after_chdir() {
    let t = tree("adv-holes-supproc");
    let out = run(&t, "supproc");
    let mut c = Checks::new(&out);
    c.eq("chdir_self", "OK");
    c.eq("self_fd", "READ:ALLOWED|");
    // chdir is refused; were it not, nothing could be opened from there.
    // With visible mode forced, chdir is the kernel's, and that "were it
    // not" is what the rest shows.
    let chdir = if fdsup_tests::visible_forced() {
        "OK"
    } else {
        "ERR:ENOENT"
    };
    c.eq("chdir_sup", chdir);
    c.eq("chdir_sup_fd", chdir);
    if fdsup_tests::visible_forced() {
        // Inside the supervisor's /proc/<pid>: not even "." opens.
        c.eq("sup_dot", "ERR:ENOENT");
    }
    for k in [
        "sup_environ",
        "sup_fd0",
        "sup_fd1",
        "sup_root_secret",
        "sup_cwd_secret",
        "sup_openat_fd",
    ] {
        c.eq(k, "ERR:ENOENT");
    }
    for i in 0..12 {
        if c.get(&format!("supfd_{i}")).is_some() {
            c.fail(format!("opened the supervisor's descriptor {i}"));
        }
    }
    done(&mut c, &out, "supproc_done");
    c.finish();
}

#[test]
fn a_swapped_descriptor_lends_no_access_mode_to_another_file() {
    let t = tree("adv-holes-fdrace");
    let out = run(&t, "fdrace");
    let mut c = Checks::new(&out);
    c.eq("reopen_rw_plain", "OK");
    c.eq("reopen_ro_plain", "READ:RO-ORIGINAL|");
    c.eq("reopen_ro_for_write", "ERR:EACCES");
    c.eq("race_ro_writable", "0");
    c.eq("race_rw_reopened", "some");
    done(&mut c, &out, "fdrace_done");
    if read(&t.dir.join("ro/file.txt")) != RO {
        c.fail("ro/file.txt changed".to_owned());
    }
    c.finish();
}

#[test]
fn an_unlinked_read_only_file_stays_read_only() {
    let t = tree("adv-holes-deleted");
    let out = run(&t, "deleted");
    let mut c = Checks::new(&out);
    c.eq("deleted_reopen_rw", "ERR:EACCES");
    c.eq("deleted_reopen_ro", "READ:RO-ORIGINAL|");
    c.starts("deleted_link_follow", "ERR:");
    c.starts("deleted_link_empty", "ERR:");
    c.eq("memfd_reopen_rw", "READ:MEMFD|");
    c.eq("tmpfile_link_follow", "OK");
    c.eq("tmpfile_named", "READ:TMPFILE|");
    c.eq("tmpfile_link_empty", "OK");
    c.eq("tmpfile_named2", "READ:TMPFILE|");
    done(&mut c, &out, "deleted_done");
    // file2.txt is the same inode: a write through any reopen shows here.
    if read(&t.dir.join("ro/file2.txt")) != RO {
        c.fail(format!(
            "the read-only file changed: {:?}",
            read(&t.dir.join("ro/file2.txt"))
        ));
    }
    for f in ["work/stolen", "work/stolen2"] {
        if t.dir.join(f).exists() {
            c.fail(format!(
                "{f} exists: the read-only inode got a writable name"
            ));
        }
    }
    c.finish();
}

#[test]
fn a_write_only_descriptor_of_a_hidden_file_cannot_be_reopened_for_reading() {
    let t = tree("adv-holes-wronly");
    let program = prog("adv_holes");
    // fd 3: the hidden secret, open for appending, inherited by fdsup and
    // the program as a user's `3>>secret` would be.
    let mut c = Command::new("sh");
    c.current_dir(t.dir.join("work"))
        .arg("-c")
        .arg(r#"exec 3>>"$0"; exec "$@""#)
        .arg(t.dir.join("secret"))
        .arg(fdsup_tests::fdsup())
        .arg("run")
        .args(fdsup_tests::metadata_flags())
        .arg("--policy")
        .arg(&t.policy)
        .arg("--")
        .arg(&program)
        .arg("wronly")
        .arg(t.dir.path());
    let out = run_cmd(&mut c, Duration::from_secs(60));
    assert_no_secret(&out, &t.token);
    let mut ch = Checks::new(&out);
    for k in ["wronly_reopen_ro", "wronly_reopen_path", "wronly_reopen_rw"] {
        ch.eq(k, "ERR:ENOENT");
    }
    ch.eq("wronly_reopen_wr", "OK");
    done(&mut ch, &out, "wronly_done");
    let secret = read(&t.dir.join("secret"));
    if secret != format!("{}\nAPPENDED\n", t.token) {
        ch.fail(format!("the secret file holds {secret:?}"));
    }
    ch.finish();
}

#[test]
fn racing_path_buffers_reveal_nothing_hidden() {
    let t = tree("adv-holes-pathrace");
    let out = run(&t, "pathrace");
    let mut c = Checks::new(&out);
    c.eq("stat_race_ok", "some");
    c.eq("chdir_race_ok", "some");
    // A raced chdir may land in the hidden directory (the kernel runs it on
    // the path as it is then: README, limits); nothing there opens.
    c.eq("chdir_race_open_leaks", "0");
    // stat and chdir are the kernel's in visible mode: a stat of the secret
    // succeeds whenever the buffer names it then, and so does a chdir into
    // the hidden directory; only the opens are held there.
    if !fdsup_tests::visible_forced() {
        // Nothing there is even looked at.
        c.eq("stat_race_leaks", "0");
        c.eq("chdir_race_read_leaks", "0");
    }
    done(&mut c, &out, "pathrace_done");
    c.finish();
    eprintln!(
        "chdir race landed in the hidden directory {} times of 3000",
        c.get("chdir_race_landed").unwrap_or("?")
    );
}

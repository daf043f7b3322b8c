//! Every open flag and form (tests/c/fn_openflags.c), run natively and under
//! fdsup from identical directory layouts: the program's report (one line
//! per case: what it read, wrote and saw through the descriptor, or the
//! errno) and the files it leaves behind must be the same.

mod functional_common;

use functional_common::*;
use std::path::Path;
use std::process::Command;

/// The layout fn_openflags.c expects in its current directory.
fn layout(t: &TempDir) {
    t.write("f.txt", "hello\n");
    t.write("trunc.txt", "abcdef");
    t.write("trunc2.txt", "zzz");
    t.write("trunc3.txt", "keep");
    t.write("app.txt", "abc");
    t.write("excl.txt", "exists");
    t.write("rw.txt", "12345");
    t.write("x.txt", "x\n");
    t.write("sub/inner.txt", "inner\n");
    std::os::unix::fs::symlink("f.txt", t.join("link.txt")).expect("symlink");
    std::os::unix::fs::symlink("sub", t.join("dirlink")).expect("symlink");
    std::os::unix::fs::symlink("newtarget.txt", t.join("dangling")).expect("symlink");
    let st = Command::new("mkfifo")
        .arg(t.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(st.success(), "mkfifo failed");
}

/// Runs fn_openflags natively and under `policy` (`None`: the embedded
/// default), each from a fresh copy of the layout, and compares.
fn compare(policy: Option<&str>, args: &[&str]) {
    let native_dir = TempDir::new("fn-openflags-native");
    let sandbox_dir = TempDir::new("fn-openflags-sandbox");
    layout(&native_dir);
    layout(&sandbox_dir);
    let run = |dir: &Path, sandboxed: bool| {
        let bin = install_c("fn_openflags", dir);
        let mut cmd = vec![bin.display().to_string()];
        cmd.extend(args.iter().map(ToString::to_string));
        if sandboxed {
            run_with(policy, dir, &cmd)
        } else {
            native(dir, &cmd)
        }
    };
    let nat = run(native_dir.path(), false);
    assert_eq!(nat.code, 0, "native run failed:\n{}", show(&nat));
    assert!(
        nat.stdout.contains("final-fds:"),
        "native run incomplete:\n{}",
        show(&nat)
    );
    let mut sbx = run(sandbox_dir.path(), true);
    sbx.stdout = documented_differences(&nat.stdout, &sbx.stdout);
    let what = format!(
        "fn_openflags {args:?} under {}",
        policy.unwrap_or("@default")
    );
    assert_same_output(&what, &nat, &sbx);
    assert_same_tree(&what, native_dir.path(), sandbox_dir.path());
}

/// Where fdsup differs from the kernel by design (README, "Limits"): the
/// kernel's `SECCOMP_IOCTL_NOTIF_ADDFD` refuses `O_PATH` files, so an
/// `O_PATH` open of a file or directory is served with a read-only
/// descriptor (reads through it work), and an `O_PATH|O_NOFOLLOW` open of a
/// symbolic link itself fails with EOPNOTSUPP. Exactly these forms are accepted
/// in place of the native lines; anything else must match.
fn documented_differences(native: &str, sandboxed: &str) -> String {
    let native_line = |key: &str| native.lines().find(|l| l.starts_with(key)).unwrap_or("");
    sandboxed
        .lines()
        .map(|s| {
            let n = native_line(s.split(':').next().unwrap_or(""));
            let opath_as_rdonly = s.starts_with("opath: ok fl=0 fstat=0 ")
                && s.ends_with("read=read-succeeded")
                && n.starts_with("opath: ok fl=0x200000 fstat=0 ");
            let symlink_opath =
                s == "nofollow-opath: EOPNOTSUPP" && n.starts_with("nofollow-opath: ok");
            if opath_as_rdonly || symlink_opath {
                n.to_owned()
            } else {
                s.to_owned()
            }
        })
        .map(|l| l + "\n")
        .collect()
}

#[test]
fn openflags_allow_all_same_as_native() {
    compare(Some("@allow-all"), &[]);
}

#[test]
fn openflags_allow_all_policy_file_same_as_native() {
    let pdir = TempDir::new("fn-openflags-policy");
    let p = write_policy(pdir.path(), "allow.json", ALLOW_ALL);
    compare(Some(p.to_str().expect("utf-8 path")), &[]);
}

#[test]
fn openflags_default_cwd_subset_same_as_native() {
    compare(None, &["cwd-only"]);
}

/// Also the /proc/self and /dev/null cases: @system allows both.
#[test]
fn openflags_default_full_same_as_native() {
    compare(Some("@default"), &[]);
}

/// After the program closes a FIFO's read end, there is no reader: a
/// non-blocking writer open fails with ENXIO every time, as natively. (It
/// would succeed if the supervisor still held its own copy of the read end
/// after answering.)
#[test]
fn fifo_reader_closed_means_no_reader() {
    let dir = TempDir::new("fn-fifo-reopen");
    let st = Command::new("mkfifo")
        .arg(dir.join("fifo"))
        .status()
        .expect("mkfifo");
    assert!(st.success(), "mkfifo failed");
    let bin = install_c("fn_fifo_reopen", dir.path());
    let cmd = [bin.to_str().expect("utf-8"), "200"];
    let nat = native(dir.path(), &cmd);
    assert_eq!(
        nat.stdout,
        "writer opened without a reader: 0 of 200; other errors: 0\n",
        "native:\n{}",
        show(&nat)
    );
    for policy in ["@allow-all", "@default"] {
        let sbx = run_with(Some(policy), dir.path(), &cmd);
        assert_same_output(&format!("fn_fifo_reopen under {policy}"), &nat, &sbx);
    }
}

/// A file the program creates gets the mode the program asked for, masked
/// by the program's umask (not the supervisor's).
#[test]
fn created_files_get_the_programs_umask() {
    let script = "import os\n\
                  for mask in (0o077, 0o027, 0o022, 0o002, 0):\n\
                  \x20   os.umask(mask)\n\
                  \x20   name = 'f%03o' % mask\n\
                  \x20   os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o666))\n\
                  \x20   print(name, oct(os.stat(name).st_mode & 0o777))\n";
    let nat_dir = TempDir::new("fn-umask-native");
    let sbx_dir = TempDir::new("fn-umask-sandbox");
    let nat = native(nat_dir.path(), &[PY, "-c", script]);
    assert_eq!(nat.code, 0, "{}", show(&nat));
    let sbx = run_with(None, sbx_dir.path(), &[PY, "-c", script]);
    assert_same_output("creating files under several umasks", &nat, &sbx);
    assert_same_tree("umask", nat_dir.path(), sbx_dir.path());
}

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

/// In a directory with a default ACL the kernel applies the ACL, not the
/// umask (`posix_acl_create`): fdsup, whose own umask is 0 and which
/// applies the program's by hand, made such files with fewer permissions
/// (0750 where natively 0777, umask 027). Files, directories, FIFOs and
/// `O_TMPFILE` ones, and a plain directory beside as the control.
#[test]
fn a_default_acl_decides_the_mode_instead_of_the_umask() {
    // USER_OBJ, GROUP_OBJ and OTHER, all rwx (the kernel's xattr format).
    let script = "import os\n\
                  acl = bytes([2,0,0,0, 1,0,7,0,255,255,255,255, 4,0,7,0,255,255,255,255, 32,0,7,0,255,255,255,255])\n\
                  os.mkdir('plain'); os.mkdir('dacl')\n\
                  try:\n\
                  \x20   os.setxattr('dacl', 'system.posix_acl_default', acl)\n\
                  except OSError as e:\n\
                  \x20   print('noacl', e.errno)\n\
                  os.umask(0o027)\n\
                  for d in ('plain', 'dacl'):\n\
                  \x20   os.close(os.open(d + '/f', os.O_CREAT | os.O_WRONLY, 0o777))\n\
                  \x20   os.mkdir(d + '/d', 0o777)\n\
                  \x20   os.mkfifo(d + '/p', 0o777)\n\
                  \x20   t = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o777)\n\
                  \x20   print(d, ' '.join(oct(os.stat(d + '/' + n).st_mode & 0o777) for n in 'fdp'), oct(os.fstat(t).st_mode & 0o777))\n\
                  \x20   os.close(t)\n";
    let nat_dir = TempDir::new("fn-acl-native");
    let sbx_dir = TempDir::new("fn-acl-sandbox");
    let nat = native(nat_dir.path(), &[PY, "-c", script]);
    assert_eq!(nat.code, 0, "{}", show(&nat));
    if nat.stdout.contains("noacl") {
        skip!("the temporary directory's file system has no POSIX ACLs");
    }
    assert!(
        nat.stdout.contains("dacl 0o777 0o777 0o777 0o777"),
        "{}",
        show(&nat)
    );
    let sbx = run_with(None, sbx_dir.path(), &[PY, "-c", script]);
    assert_same_output("creating files under a default ACL", &nat, &sbx);
}

/// The directory whose default ACL decides a new file's mode is the one
/// the file is made in, even while another thread swaps the name on the
/// way between a plain directory and a symbolic link to one with an ACL
/// (tests/c/fn_acl_race.c). fdsup read the ACL by the path, then opened
/// it with no symbolic links: a swap between the two made files in the
/// plain directory without the umask (0666 under umask 077; a few in 3000
/// on e8ff381), and told the program whether a directory it may not see
/// has a default ACL. Natively, and now, none; the files made under the
/// ACL (0666) are the positive control.
#[test]
fn the_default_acl_read_is_the_directory_made_in_despite_a_racing_swap() {
    let nat_dir = TempDir::new("fn-aclrace-native");
    let sbx_dir = TempDir::new("fn-aclrace-sandbox");
    let nat_prog = install_c("fn_acl_race", nat_dir.path());
    let sbx_prog = install_c("fn_acl_race", sbx_dir.path());
    let nat = native(nat_dir.path(), &[nat_prog.as_os_str(), "2".as_ref()]);
    assert_eq!(nat.code, 0, "{}", show(&nat));
    if nat.stdout.contains("noacl") {
        skip!("the temporary directory's file system has no POSIX ACLs");
    }
    let want = "plain_files=some acl_files=some acl_all_wide=yes plain_wide=0\n";
    assert_eq!(nat.stdout, want, "{}", show(&nat));
    let sbx = run_with(None, sbx_dir.path(), &[sbx_prog.as_os_str(), "4".as_ref()]);
    assert_eq!(sbx.stdout, want, "{}", show(&sbx));
}

/// Files made while a second thread sets and removes the directory's
/// default ACL (tests/c/fn_acl_toggle.c). fdsup read the ACL before the
/// create and applied the umask by hand: an ACL removed or set in between
/// made a file of neither state, 0666 without the ACL or 0600 with it,
/// which the kernel never makes. Now the worker takes the program's umask
/// and the kernel decides at the create (`fs::umask`). Files of both
/// states are the positive control.
#[test]
fn a_default_acl_set_and_removed_meanwhile_never_mixes_with_the_umask() {
    let nat_dir = TempDir::new("fn-acltoggle-native");
    let sbx_dir = TempDir::new("fn-acltoggle-sandbox");
    let nat_prog = install_c("fn_acl_toggle", nat_dir.path());
    let sbx_prog = install_c("fn_acl_toggle", sbx_dir.path());
    let nat = native(nat_dir.path(), &[nat_prog.as_os_str(), "2".as_ref()]);
    assert_eq!(nat.code, 0, "{}", show(&nat));
    if nat.stdout.contains("noacl") {
        skip!("the temporary directory's file system has no POSIX ACLs");
    }
    let want = "with_acl=some without_acl=some mixed=0\n";
    assert_eq!(nat.stdout, want, "{}", show(&nat));
    let sbx = run_with(None, sbx_dir.path(), &[sbx_prog.as_os_str(), "3".as_ref()]);
    assert_eq!(sbx.stdout, want, "{}", show(&sbx));
}

/// A Unix socket bound in a directory with a default ACL: the kernel's
/// `unix_bind` takes the umask off the socket's mode and the ACL masks it
/// further. fdsup binds with no umask and set the mode to the umask's
/// (0755) over the one the ACL gave, where natively 0750 (umask 022, an
/// ACL granting the group r-x and others nothing), when it binds through
/// the directory's descriptor (a path with `.`; the binder, asked for
/// plain paths, was right).
#[test]
fn a_socket_bound_under_a_default_acl_takes_the_umask_and_the_acl() {
    let script = "import os, socket\n\
                  acl = bytes([2,0,0,0, 1,0,7,0,255,255,255,255, 4,0,5,0,255,255,255,255, 32,0,0,0,255,255,255,255])\n\
                  os.mkdir('plain'); os.mkdir('dacl')\n\
                  try:\n\
                  \x20   os.setxattr('dacl', 'system.posix_acl_default', acl)\n\
                  except OSError as e:\n\
                  \x20   print('noacl', e.errno)\n\
                  os.umask(0o022)\n\
                  for d in ('plain', 'dacl'):\n\
                  \x20   for n in ('s', './t'):\n\
                  \x20       s = socket.socket(socket.AF_UNIX)\n\
                  \x20       s.bind(d + '/' + n)\n\
                  \x20       print(d, n, oct(os.stat(d + '/' + n).st_mode & 0o777))\n\
                  \x20       s.close()\n";
    let nat_dir = TempDir::new("fn-aclsock-native");
    let sbx_dir = TempDir::new("fn-aclsock-sandbox");
    let nat = native(nat_dir.path(), &[PY, "-c", script]);
    assert_eq!(nat.code, 0, "{}", show(&nat));
    if nat.stdout.contains("noacl") {
        skip!("the temporary directory's file system has no POSIX ACLs");
    }
    assert!(nat.stdout.contains("dacl ./t 0o750"), "{}", show(&nat));
    let sbx = run_with(None, sbx_dir.path(), &[PY, "-c", script]);
    assert_same_output("binding sockets under a default ACL", &nat, &sbx);
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

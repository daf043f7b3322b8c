//! `redirect` and `content` rules: a redirected path shows the target's
//! contents under the original name (read-only unless the rule says `rw`);
//! a `content` path is served from memory, even where nothing exists on
//! disk, and cannot be written.

mod functional_common;

use functional_common::*;

const CONTENT: &str = "hello from the supervisor\n";

fn policy(dir: &TempDir, target_dir: &TempDir) -> String {
    let t = target_dir.path().display();
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@default"],
  "filesystem": {{
    "rules": [
      {{ "path": "${{CWD}}/alias.txt", "redirect": "{t}/target.txt" }},
      {{ "path": "${{CWD}}/absent-alias.txt", "redirect": "{t}/target.txt" }},
      {{ "path": "${{CWD}}/rw-alias.txt", "redirect": "{t}/rw-target.txt", "access": "rw" }},
      {{ "path": "/run/fdsup-test/hello", "content": "hello from the supervisor\n" }},
      {{ "path": "${{CWD}}/virtual.txt", "content": "line one\nline two\n" }}
    ]
  }}
}}"#
    );
    write_policy(dir.path(), "policy.json", &json)
        .display()
        .to_string()
}

struct Fixture {
    cwd: TempDir,
    target: TempDir,
    _pdir: TempDir,
    policy: String,
}

fn fixture() -> Fixture {
    let cwd = TempDir::new("fn-redirect");
    let target = TempDir::new("fn-redirect-target");
    let pdir = TempDir::new("fn-redirect-policy");
    cwd.write("alias.txt", "the alias's own contents\n");
    cwd.write("rw-alias.txt", "rw alias's own contents\n");
    target.write("target.txt", "the target's contents\n");
    target.write("rw-target.txt", "rw target\n");
    let policy = policy(&pdir, &target);
    Fixture {
        cwd,
        target,
        _pdir: pdir,
        policy,
    }
}

#[test]
fn redirect_serves_the_target_under_the_original_name() {
    let f = fixture();
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &["/bin/cat", "alias.txt", "absent-alias.txt"],
    );
    assert_eq!(
        out.stdout,
        "the target's contents\nthe target's contents\n",
        "{}",
        show(&out)
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    // Through a symbolic link and "..", the same object is reached.
    std::os::unix::fs::symlink("alias.txt", f.cwd.join("link")).expect("symlink");
    std::fs::create_dir(f.cwd.join("d")).expect("mkdir");
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &["/bin/cat", "link", "d/../alias.txt"],
    );
    assert_eq!(
        out.stdout,
        "the target's contents\nthe target's contents\n",
        "{}",
        show(&out)
    );
}

#[test]
fn redirect_is_read_only_unless_rw() {
    let f = fixture();
    let probe = install_c("fn_probe", f.cwd.path()).display().to_string();
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &[
            probe.as_str(),
            "w",
            "alias.txt",
            "a",
            "alias.txt",
            "t",
            "alias.txt",
            "c",
            "absent-alias.txt",
            "r",
            "alias.txt",
            "rc",
            "alias.txt",
            "rc",
            "absent-alias.txt",
        ],
    );
    // O_RDONLY|O_CREAT opens the existing read-only target (whether the
    // redirected name exists or not), as it opens an existing file under
    // `ro`.
    assert_eq!(
        out.stdout,
        "w alias.txt: EACCES\n\
         a alias.txt: EACCES\n\
         t alias.txt: EACCES\n\
         c absent-alias.txt: EACCES\n\
         r alias.txt: ok read=the target's contents|\n\
         rc alias.txt: ok read=the target's contents|\n\
         rc absent-alias.txt: ok read=the target's contents|\n",
        "{}",
        show(&out)
    );
    assert_eq!(
        std::fs::read_to_string(f.target.join("target.txt")).expect("read"),
        "the target's contents\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.cwd.join("alias.txt")).expect("read"),
        "the alias's own contents\n"
    );
    assert!(!f.cwd.join("absent-alias.txt").exists());

    // "access": "rw" on a redirect: writes go to the target.
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &[
            "/bin/sh",
            "-c",
            "echo appended >> rw-alias.txt && cat rw-alias.txt",
        ],
    );
    assert_eq!(out.stdout, "rw target\nappended\n", "{}", show(&out));
    assert_eq!(
        std::fs::read_to_string(f.target.join("rw-target.txt")).expect("read"),
        "rw target\nappended\n"
    );
    assert_eq!(
        std::fs::read_to_string(f.cwd.join("rw-alias.txt")).expect("read"),
        "rw alias's own contents\n",
        "the redirected path itself must not be written"
    );
}

#[test]
fn content_is_served_where_nothing_exists_on_disk() {
    assert!(
        !std::path::Path::new("/run/fdsup-test").exists(),
        "precondition: /run/fdsup-test must not exist on this machine"
    );
    let f = fixture();
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &["/bin/cat", "/run/fdsup-test/hello"],
    );
    assert_eq!(out.stdout, CONTENT, "{}", show(&out));
    assert_eq!(out.code, 0, "{}", show(&out));

    let py = "import os\n\
              print(repr(open('/run/fdsup-test/hello').read()))\n\
              print(repr(open('virtual.txt').readlines()))\n\
              fd = os.open('/run/fdsup-test/hello', os.O_RDONLY)\n\
              print(os.fstat(fd).st_size, os.read(fd, 5))\n";
    let out = run_with(Some(&f.policy), f.cwd.path(), &[PY, "-c", py]);
    assert_eq!(
        out.stdout,
        "'hello from the supervisor\\n'\n['line one\\n', 'line two\\n']\n26 b'hello'\n",
        "{}",
        show(&out)
    );
    assert!(
        !f.cwd.join("virtual.txt").exists(),
        "content must not be written to disk"
    );
}

#[test]
fn content_cannot_be_written() {
    let f = fixture();
    let probe = install_c("fn_probe", f.cwd.path()).display().to_string();
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &[
            probe.as_str(),
            "w",
            "/run/fdsup-test/hello",
            "rw",
            "/run/fdsup-test/hello",
            "a",
            "/run/fdsup-test/hello",
            "t",
            "/run/fdsup-test/hello",
            "c",
            "/run/fdsup-test/hello",
            "creat",
            "virtual.txt",
            "r",
            "/run/fdsup-test/hello",
        ],
    );
    assert_eq!(
        out.stdout,
        "w /run/fdsup-test/hello: EACCES\n\
         rw /run/fdsup-test/hello: EACCES\n\
         a /run/fdsup-test/hello: EACCES\n\
         t /run/fdsup-test/hello: EACCES\n\
         c /run/fdsup-test/hello: EACCES\n\
         creat virtual.txt: EACCES\n\
         r /run/fdsup-test/hello: ok read=hello from the supervisor|\n",
        "{}",
        show(&out)
    );
    let out = run_with(
        Some(&f.policy),
        f.cwd.path(),
        &["/bin/sh", "-c", "echo x > /run/fdsup-test/hello"],
    );
    assert_ne!(out.code, 0, "{}", show(&out));
    assert!(
        out.stderr.contains("Permission denied"),
        "writing the content path should say 'Permission denied':\n{}",
        show(&out)
    );
    assert!(!std::path::Path::new("/run/fdsup-test").exists());
    assert!(!f.cwd.join("virtual.txt").exists());
}

/// The descriptor served for `content` is sealed: a program that holds it
/// cannot change the text, not by writing, truncating, or writing through a
/// reopened /proc/self/fd/N (whether the reopening is refused or the write
/// through it is).
#[test]
fn content_descriptor_is_sealed() {
    let f = fixture();
    let py = r#"
import os
fd = os.open('/run/fdsup-test/hello', os.O_RDONLY)
def reopen_and_write():
    fd2 = os.open('/proc/self/fd/%d' % fd, os.O_RDWR)
    os.write(fd2, b'XXXXX')
for what, fn in [
    ("reopen-rw-and-write", reopen_and_write),
    ("ftruncate", lambda: os.ftruncate(fd, 0)),
    ("write", lambda: os.write(fd, b'x')),
]:
    try:
        fn()
        print(what, "succeeded")
    except OSError as e:
        print(what, "failed")
print(os.pread(fd, 100, 0))
print(open('/run/fdsup-test/hello', 'rb').read())
"#;
    let out = run_with(Some(&f.policy), f.cwd.path(), &[PY, "-c", py]);
    assert_eq!(
        out.stdout,
        "reopen-rw-and-write failed\nftruncate failed\nwrite failed\n\
         b'hello from the supervisor\\n'\nb'hello from the supervisor\\n'\n",
        "{}",
        show(&out)
    );
}

/// A redirect target the program may replace (here in its working
/// directory, rw) is opened with no symbolic link followed: a program that
/// replaced it by a link to `/etc/shadow` (hidden by `@system`) read that
/// file through the redirected name. A target whose path went through a
/// link when the policy was loaded still serves (resolved then), and the
/// plain target before the swap is the positive control.
#[test]
fn a_redirect_target_replaced_by_a_link_reaches_nothing_hidden() {
    let cwd = TempDir::new("fn-redirect-swap");
    let pdir = TempDir::new("fn-redirect-swap-policy");
    cwd.write("fake", "fakehost\n");
    std::fs::create_dir(cwd.path().join("real")).expect("mkdir");
    cwd.write("real/fake2", "through a link\n");
    std::os::unix::fs::symlink(cwd.path().join("real"), cwd.path().join("linked"))
        .expect("symlink");
    let c = cwd.path().display();
    let json = format!(
        r#"{{
  "version": 1,
  "include": ["@default"],
  "filesystem": {{
    "rules": [
      {{ "path": "/etc/hostname", "redirect": "{c}/fake" }},
      {{ "path": "/etc/issue.net", "redirect": "{c}/linked/fake2" }}
    ]
  }}
}}"#
    );
    let policy = write_policy(pdir.path(), "policy.json", &json);
    let out = run_with(
        Some(policy.to_str().expect("utf-8 path")),
        cwd.path(),
        &[
            "/bin/sh",
            "-c",
            "cat /etc/hostname; cat /etc/issue.net; rm fake; ln -s /etc/shadow fake; \
             cat /etc/hostname 2>/dev/null || echo refused",
        ],
    );
    assert!(
        !out.stdout.contains("root:"),
        "the redirect served /etc/shadow through a link: {}",
        show(&out)
    );
    assert_eq!(
        out.stdout,
        "fakehost\nthrough a link\nrefused\n",
        "{}",
        show(&out)
    );
}

//! Issue 15.1: run as root, `@system` serves nothing of the system's trees
//! that an unprivileged user could not read. The trees `@system` serves
//! (`/etc` whole; `/usr` sampled; `/opt`, `/sys/devices/system/cpu`, its
//! `/proc` and `/dev` files) are walked as root; every file and directory
//! in them is opened for reading natively as `nobody` (uid 65534, no
//! groups) and under `fdsup run` as root, and the two sets are compared:
//! the sandbox opens nothing `nobody` cannot (`/etc/shadow-`,
//! `/etc/gshadow-`, `/etc/ssl/private/*`, 0600 files, 0700 directories),
//! and everything `nobody` can, but for the names `@system` hides outright
//! and what only `nobody` as owner or group may read.

mod functional_common;

use functional_common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};

/// Trees walked whole.
const WHOLE: &[&str] = &["/etc", "/opt", "/sys/devices/system/cpu"];
/// Trees walked whole but opened only in part: every entry that others
/// may not read (or that lies below a directory others may not search),
/// and one in `USR_SAMPLE` of the others, chosen by a hash of the path.
const SAMPLED: &[&str] = &["/usr"];
const USR_SAMPLE: u64 = 24;
/// Single files `@system` serves.
const FILES: &[&str] = &[
    "/usr/bin",
    "/usr/bin/dash",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/filesystems",
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// What `@system` hides by name (its `hide` rules): refused whatever the
/// bits say.
fn hidden_by_name(p: &str) -> bool {
    p == "/etc/shadow"
        || p.starts_with("/etc/shadow/")
        || p == "/etc/gshadow"
        || p.starts_with("/etc/gshadow/")
        || p.starts_with("/etc/sudoers")
        || (p.starts_with("/etc/ssh/")
            && Path::new(p)
                .file_name()
                .is_some_and(|n| n.to_string_lossy().contains("key")))
}

/// FNV-1a: a sample that is the same on every run.
fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

struct Entry {
    /// Owner or group is nobody (65534): nobody may read it through those
    /// bits, which a public rule does not look at.
    nobodys: bool,
}

/// Walks `root` without following symbolic links (they are not objects
/// of their own), keeping what `keep` says; a directory others may not
/// search marks everything below it as worth opening.
fn walk(root: &Path, sampled: bool, out: &mut BTreeMap<String, Entry>) {
    fn go(dir: &Path, sampled: bool, closed: bool, out: &mut BTreeMap<String, Entry>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            let Ok(md) = std::fs::symlink_metadata(&p) else {
                continue;
            };
            let ft = md.file_type();
            if ft.is_symlink() {
                continue;
            }
            let Some(s) = p.to_str().map(str::to_owned) else {
                continue;
            };
            if s.contains('\n') {
                continue;
            }
            let mode = md.permissions().mode();
            let private = mode & 0o004 == 0 || (ft.is_dir() && mode & 0o001 == 0);
            let keep = !sampled || closed || private || fnv(&s).is_multiple_of(USR_SAMPLE);
            if keep && (ft.is_file() || ft.is_dir()) {
                let nobodys = md.uid() == 65534 || md.gid() == 65534;
                out.insert(s, Entry { nobodys });
            }
            if ft.is_dir() {
                go(&p, sampled, closed || mode & 0o001 == 0, out);
            }
        }
    }
    if let Ok(md) = std::fs::metadata(root) {
        out.insert(
            root.to_string_lossy().into_owned(),
            Entry {
                nobodys: md.uid() == 65534 || md.gid() == 65534,
            },
        );
    }
    go(root, sampled, false, out);
}

fn opened(out: &Output) -> BTreeSet<String> {
    out.stdout
        .lines()
        .filter_map(|l| l.strip_prefix("ok "))
        .map(str::to_owned)
        .collect()
}

#[test]
fn system_serves_root_no_more_than_nobody_may_read() {
    require("setpriv");
    if !is_root() {
        skip!("this test compares root's sandbox with nobody: it must run as root");
    }
    let t = TempDir::new("public-system");
    std::fs::set_permissions(t.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let reader = install_c("adv_readable", t.path());
    std::fs::set_permissions(t.join(".bin"), std::fs::Permissions::from_mode(0o755))
        .expect("chmod");

    let mut entries = BTreeMap::new();
    for root in WHOLE {
        walk(Path::new(root), false, &mut entries);
    }
    for root in SAMPLED {
        walk(Path::new(root), true, &mut entries);
    }
    for f in FILES {
        entries.insert((*f).to_owned(), Entry { nobodys: false });
    }
    assert!(
        entries.keys().filter(|p| p.starts_with("/etc/")).count() > 50,
        "walking /etc found almost nothing"
    );
    let list: String = entries.keys().map(|p| format!("{p}\n")).collect();
    let list_file = t.write("paths.txt", &list);
    std::fs::set_permissions(&list_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");

    let feed = |cmd: &mut Command| {
        let f = std::fs::File::open(&list_file).expect("open list");
        cmd.stdin(Stdio::from(f));
        let out = run_cmd_keep_stdin(cmd);
        out.expect_code(0);
        opened(&out)
    };
    let nobody = feed(
        Command::new("setpriv")
            .args([
                "--reuid",
                "65534",
                "--regid",
                "65534",
                "--clear-groups",
                "--",
            ])
            .arg(&reader)
            .current_dir(t.path()),
    );
    let mut sandbox_cmd = fdsup_cmd(["run", "--"], t.path());
    sandbox_cmd.arg(&reader);
    let sandbox = feed(&mut sandbox_cmd);
    // Positive controls: the sandbox reads what everyone may read, and
    // root natively reads the secrets the sandbox must not.
    for p in [
        "/etc/passwd",
        "/etc",
        "/usr",
        "/usr/bin",
        "/usr/bin/dash",
        "/proc/cpuinfo",
        "/dev/null",
    ] {
        assert!(sandbox.contains(p), "the sandbox could not open {p}");
    }
    let native_root = feed(Command::new(&reader).current_dir(t.path()));
    let secrets: Vec<&String> = native_root.difference(&nobody).collect();
    assert!(
        !secrets.is_empty(),
        "nothing here is readable by root and not by nobody: the test shows nothing"
    );

    let leaked: Vec<&String> = sandbox.difference(&nobody).collect();
    assert!(
        leaked.is_empty(),
        "as root, the sandbox opened {} paths that nobody may not read (of {} root alone may read), e.g.:\n{}",
        leaked.len(),
        secrets.len(),
        leaked.iter().take(40).map(|s| format!("  {s}\n")).collect::<String>()
    );
    let missing: Vec<&String> = nobody
        .difference(&sandbox)
        .filter(|p| !hidden_by_name(p) && !entries.get(*p).is_some_and(|e| e.nobodys))
        .collect();
    assert!(
        missing.is_empty(),
        "the sandbox refused {} paths that nobody may read, e.g.:\n{}",
        missing.len(),
        missing
            .iter()
            .take(40)
            .map(|s| format!("  {s}\n"))
            .collect::<String>()
    );
    eprintln!(
        "compared {} paths: nobody may open {}, root natively {}, the sandbox as root {}",
        entries.len(),
        nobody.len(),
        native_root.len(),
        sandbox.len()
    );
}

/// [`run_cmd`] with the standard input the caller set.
fn run_cmd_keep_stdin(cmd: &mut Command) -> Output {
    use std::io::Read as _;
    use std::os::unix::process::ExitStatusExt;
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let t_err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let mut so = Vec::new();
    let _ = out.read_to_end(&mut so);
    let status = child.wait().expect("wait");
    let se = t_err.join().unwrap_or_default();
    Output {
        code: status
            .code()
            .unwrap_or_else(|| 128 + status.signal().unwrap_or(0)),
        stdout: String::from_utf8_lossy(&so).into_owned(),
        stderr: String::from_utf8_lossy(&se).into_owned(),
    }
}

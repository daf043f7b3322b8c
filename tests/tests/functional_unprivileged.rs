//! fdsup needs no root: run as uid/gid 65534 (via setpriv, from a root test
//! runner), under @default, in a world-writable directory. Files it creates
//! belong to the user; what Unix permissions forbid the user stays forbidden
//! (fdsup opens on the program's behalf with the program's credentials, not
//! more).

mod functional_common;

use functional_common::*;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::Command;

const NOBODY: u32 = 65534;

/// `setpriv ... fdsup run --policy @default -- /bin/sh -c SCRIPT` in `cwd`.
fn run_as_nobody(cwd: &TempDir, script: &str) -> Output {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        format!("--reuid={NOBODY}"),
        format!("--regid={NOBODY}"),
        "--clear-groups".to_string(),
    ])
    .arg(fdsup())
    .arg("run")
    .args(metadata_flags())
    .args(["--policy", "@default", "--", "/bin/sh", "-c", script])
    .current_dir(cwd.path())
    .env("HOME", cwd.path())
    .env_remove("TMPDIR");
    run_cmd(&mut cmd, TIMEOUT)
}

fn setup() -> Option<TempDir> {
    require("setpriv");
    if !is_root() {
        return None;
    }
    let cwd = TempDir::new("fn-nobody");
    std::fs::set_permissions(cwd.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod 0777");
    Some(cwd)
}

#[test]
fn works_as_an_unprivileged_user() {
    let Some(cwd) = setup() else {
        skip!("needs root (to become uid {NOBODY})");
    };
    let root_only = cwd.write("root-only.txt", "root's\n");
    std::fs::set_permissions(&root_only, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let script = "id -u; echo made > made.txt && echo wrote-ok; \
                  head -1 /etc/passwd; \
                  cat root-only.txt 2>&1 >/dev/null | grep -c 'Permission denied'; \
                  cat /etc/shadow 2>&1 | grep -c 'No such file'; \
                  echo x >> root-only.txt 2>/dev/null || echo append-refused; \
                  d=$(mktemp -d) && echo t > \"$d/f\" && cat \"$d/f\" && rm -r \"$d\" && echo tmp-ok";
    let out = run_as_nobody(&cwd, script);
    let first_passwd = std::fs::read_to_string("/etc/passwd")
        .expect("read /etc/passwd")
        .lines()
        .next()
        .unwrap_or_default()
        .to_string();
    assert_eq!(
        out.stdout,
        format!("{NOBODY}\nwrote-ok\n{first_passwd}\n1\n1\nappend-refused\nt\ntmp-ok\n"),
        "{}",
        show(&out)
    );
    assert_eq!(out.code, 0, "{}", show(&out));
    let md = std::fs::metadata(cwd.join("made.txt")).expect("made.txt exists");
    assert_eq!(
        (md.uid(), md.gid()),
        (NOBODY, NOBODY),
        "a file the program creates belongs to the program's user"
    );
    assert_eq!(
        std::fs::read_to_string(cwd.join("made.txt")).expect("read"),
        "made\n"
    );
    assert_eq!(
        std::fs::read_to_string(&root_only).expect("read"),
        "root's\n",
        "the root-only file must be unchanged"
    );
}

/// The C open-flag cases that stay in the directory give the same answers
/// as natively for the same user.
#[test]
fn open_flags_as_unprivileged_user_match_native() {
    let Some(cwd) = setup() else {
        skip!("needs root (to become uid {NOBODY})");
    };
    let probe = install_c("fn_probe", cwd.path());
    cwd.write("mine.txt", "mine\n");
    let theirs = cwd.write("theirs.txt", "theirs\n");
    std::fs::set_permissions(&theirs, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let readable = cwd.write("readonly.txt", "readable\n");
    std::fs::set_permissions(&readable, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    // mine.txt belongs to nobody.
    let st = Command::new("chown")
        .arg(format!("{NOBODY}:{NOBODY}"))
        .arg(cwd.join("mine.txt"))
        .status()
        .expect("chown");
    assert!(st.success());
    let args = [
        "r",
        "mine.txt",
        "a",
        "mine.txt",
        "r",
        "theirs.txt",
        "w",
        "theirs.txt",
        "r",
        "readonly.txt",
        "w",
        "readonly.txt",
        "t",
        "readonly.txt",
        "c",
        "new.txt",
        "cx",
        "mine.txt",
    ];
    let as_nobody = |sandboxed: bool| {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            format!("--reuid={NOBODY}"),
            format!("--regid={NOBODY}"),
            "--clear-groups".to_string(),
        ]);
        if sandboxed {
            cmd.arg(fdsup())
                .arg("run")
                .args(metadata_flags())
                .args(["--policy", "@default", "--"]);
        }
        cmd.arg(&probe).args(args).current_dir(cwd.path());
        run_cmd(&mut cmd, TIMEOUT)
    };
    let nat = as_nobody(false);
    assert!(
        nat.stdout.contains("r theirs.txt: EACCES"),
        "native control: {}",
        show(&nat)
    );
    // Undo what the native run changed so the sandboxed run starts the same.
    std::fs::write(cwd.join("mine.txt"), "mine\n").expect("reset");
    std::fs::remove_file(cwd.join("new.txt")).expect("remove new.txt");
    let sbx = as_nobody(true);
    assert_same_output("fn_probe as uid 65534", &nat, &sbx);
    let md = std::fs::metadata(cwd.join("new.txt")).expect("new.txt");
    assert_eq!((md.uid(), md.gid()), (NOBODY, NOBODY));
}

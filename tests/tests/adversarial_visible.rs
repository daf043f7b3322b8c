//! Adversarial, for `"metadata": "visible"` (`tests/c/adv_visible.c`): the
//! looks run in the kernel, so a program sees the names and metadata of
//! hidden and denied paths (SPEC.md, Policy files, `metadata`); that is all
//! it gains. One test per class of trick — symlinks, `..` and a working
//! directory inside a hidden tree, `/proc` magic links, a rename race —
//! shows that a visible-mode program still cannot open, list or change what
//! the policy hides or denies, each beside a positive control reaching an
//! allowed thing the same way. `looks` runs the same program in both modes:
//! the pair (policy, what the kernel answers).
//!
//! Every run names its mode with `--metadata`, so these tests mean the same
//! whatever `FDSUP_TEST_METADATA` forces on the rest of the suite.

#[path = "adversarial_support.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use fdsup_tests::{run_cmd, Output, TempDir};
use support::{assert_no_secret, prog, token, Checks};

const OK: &str = "ALLOWED-OK\n";
const PUBLIC: &str = "PUBLIC\n";

/// The layout `adv_visible.c` describes, and its policy.
struct Tree {
    dir: TempDir,
    token: String,
    policy: PathBuf,
}

fn tree(tag: &str) -> Tree {
    let dir = TempDir::new(tag);
    let token = token("SECRET");
    let secret = format!("{token}\n");
    dir.write("secret", &secret);
    dir.write("denied", &secret);
    dir.write("hdir/key", &secret);
    std::fs::create_dir_all(dir.join("hdir/sub")).expect("mkdir hdir/sub");
    std::os::unix::fs::symlink("key", dir.join("hdir/lnk")).expect("symlink");
    dir.write("ddir/key", &secret);
    dir.write("work/ok.txt", OK);
    dir.write("work/data/pub/key", PUBLIC);
    dir.write("work/data/vault/key", &secret);
    let link = |target: &Path, name: &str| {
        std::os::unix::fs::symlink(target, dir.join("work").join(name)).expect("symlink");
    };
    link(&dir.join("secret"), "link_secret");
    link(&dir.join("hdir"), "link_hdir");
    link(Path::new("../hdir/key"), "link_rel");
    link(Path::new("ok.txt"), "link_ok");
    link(Path::new("data/pub"), "link_pub");
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
      {{ "path": "{d}/secret", "access": "hide" }},
      {{ "path": "{d}/denied", "access": "deny" }},
      {{ "path": "{d}/hdir", "access": "hide" }},
      {{ "path": "{d}/ddir", "access": "deny" }},
      {{ "path": "{d}/work/data/vault", "access": "hide" }}
    ]
  }}
}}
"#,
        bin = support::bin_rule()
    );
    let policy = fdsup_tests::write_policy(dir.path(), "policy.json", &json);
    Tree { dir, token, policy }
}

/// `fdsup run --metadata MODE --policy P -- adv_visible WHAT DIR` in
/// DIR/work, through `sh -c PREFIX` when a descriptor must be inherited.
fn run_in(t: &Tree, metadata: &str, what: &str, shell_prefix: Option<&str>) -> Output {
    run_with(t, &t.policy, Some(metadata), what, shell_prefix)
}

/// [`run_in`] with another policy file, and `--metadata` only if given.
fn run_with(
    t: &Tree,
    policy: &Path,
    metadata: Option<&str>,
    what: &str,
    shell_prefix: Option<&str>,
) -> Output {
    let program = prog("adv_visible");
    let work = t.dir.join("work");
    let mut c = match shell_prefix {
        Some(prefix) => {
            let mut c = Command::new("sh");
            c.arg("-c")
                .arg(format!("{prefix}; exec \"$@\""))
                .arg(t.dir.path())
                .arg(fdsup_tests::fdsup());
            c
        }
        None => Command::new(fdsup_tests::fdsup()),
    };
    // Without `metadata`, the policy's own mode, whatever the rest of the
    // suite forces.
    c.arg("run");
    if let Some(m) = metadata {
        c.args(["--metadata", m]);
    }
    c.arg("--policy")
        .arg(policy)
        .arg("--")
        .arg(&program)
        .arg(what)
        .arg(t.dir.path())
        .current_dir(&work);
    let out = run_cmd(&mut c, Duration::from_secs(120));
    assert_no_secret(&out, &t.token);
    out
}

fn run(t: &Tree, metadata: &str, what: &str) -> Output {
    run_in(t, metadata, what, None)
}

fn done(c: &mut Checks<'_>, out: &Output, mark: &str) {
    if !out.stdout.lines().any(|l| l == mark) {
        c.fail(format!("the program did not finish (no {mark:?})"));
    }
}

/// Nothing in the tree changed, and nothing was made where it must not be.
fn unchanged(c: &mut Checks<'_>, t: &Tree) {
    for f in [
        "secret",
        "denied",
        "hdir/key",
        "ddir/key",
        "work/data/vault/key",
    ] {
        let now = std::fs::read_to_string(t.dir.join(f)).unwrap_or_default();
        if now != format!("{}\n", t.token) {
            c.fail(format!("{f} changed: {now:?}"));
        }
    }
    for f in [
        "work/stolen",
        "hdir/new",
        "ddir/new",
        "work/data/vault/new",
        "work/moved",
    ] {
        if t.dir.join(f).exists() {
            c.fail(format!("{f} exists"));
        }
    }
    for f in ["hdir/sub", "hdir/lnk"] {
        if std::fs::symlink_metadata(t.dir.join(f)).is_err() {
            c.fail(format!("{f} is gone"));
        }
    }
}

/// The pair: the same looks under both modes. In policy mode the rules
/// answer them; in visible mode the kernel does, and the hidden and denied
/// paths' names and metadata show, including a hidden entry's name in an
/// allowed directory's listing. In both, the hidden tree neither opens nor
/// lists, and the allowed file is the positive control. The mode comes from
/// `--metadata`, from the policy file itself, and from `--metadata policy`
/// overriding a policy file that says `visible`.
#[test]
fn looks_are_the_kernels_in_visible_mode_and_the_rules_in_policy_mode() {
    let t = tree("adv-visible-looks");
    let secret_size = format!("OK:{}", t.token.len() + 1);
    // The same policy saying "metadata": "visible" itself.
    let text = std::fs::read_to_string(&t.policy).expect("policy");
    let visible_policy = fdsup_tests::write_policy(
        t.dir.path(),
        "visible.json",
        &text.replace(
            r#""default": "deny","#,
            r#""default": "deny", "metadata": "visible","#,
        ),
    );
    let runs = [
        ("policy", run(&t, "policy", "looks")),
        ("visible", run(&t, "visible", "looks")),
        (
            "visible",
            run_with(&t, &visible_policy, None, "looks", None),
        ),
        (
            "policy",
            run_with(&t, &visible_policy, Some("policy"), "looks", None),
        ),
    ];
    for (mode, out) in &runs {
        let mut c = Checks::new(out);
        let visible = *mode == "visible";
        let look = |c: &mut Checks<'_>, key: &str, kernel: &str, rules: &str| {
            c.eq(key, if visible { kernel } else { rules });
        };
        look(&mut c, "stat_secret", &secret_size, "ERR:ENOENT");
        look(&mut c, "stat_denied", "OK", "ERR:EACCES");
        look(&mut c, "lstat_hdir_lnk", "OK", "ERR:ENOENT");
        look(&mut c, "readlink_hdir_lnk", "OK:key", "ERR:ENOENT");
        look(&mut c, "access_hdir_key", "OK", "ERR:ENOENT");
        look(&mut c, "access_ddir_key", "OK", "ERR:EACCES");
        look(&mut c, "statfs_hdir", "OK", "ERR:ENOENT");
        look(&mut c, "stat_vault_key", "OK", "ERR:ENOENT");
        look(&mut c, "stat_proc_1", "OK", "ERR:ENOENT");
        look(&mut c, "list_data", "LIST:pub,vault", "LIST:pub");
        c.eq("stat_ok", &format!("OK:{}", OK.len()));
        c.eq("list_hdir", "ERR:ENOENT");
        c.eq("list_vault", "ERR:ENOENT");
        c.eq("open_secret", "ERR:ENOENT");
        done(&mut c, out, "looks_done");
        unchanged(&mut c, &t);
        c.finish();
    }
}

/// Symbolic links (the tree's and the program's own) to hidden things
/// open, list and change nothing; the same links to allowed things do.
#[test]
fn symlinks_reach_nothing_hidden_in_visible_mode() {
    let t = tree("adv-visible-symlink");
    let out = run(&t, "visible", "symlink");
    let mut c = Checks::new(&out);
    c.all(
        &[
            "link_secret",
            "link_rel",
            "link_hdir_key",
            "link_hdir_lnk",
            "link_hdir_list",
            "link_hdir_opath",
            "link_secret_opath",
            "mine_key",
            "mine_list",
        ],
        "ERR:ENOENT",
    );
    for op in [
        "unlink",
        "chmod",
        "truncate",
        "rename_out",
        "link_out",
        "creat",
        "mkdir",
        "symlink",
        "open_append",
    ] {
        c.eq(&format!("link_hdir_{op}"), "ERR:ENOENT");
    }
    c.eq("make_symlink", "OK");
    c.eq("link_ok", "READ:ALLOWED-OK|");
    c.eq("link_pub_key", "READ:PUBLIC|");
    c.eq("link_pub_list", "LIST:key");
    c.eq("mine_ok_key", "READ:PUBLIC|");
    c.eq("link_pub_creat", "OK");
    done(&mut c, &out, "symlink_done");
    unchanged(&mut c, &t);
    c.finish();
}

/// `..`, and a working directory the kernel lets the program into (chdir
/// is a look): every open, listing and change from there is decided on the
/// path it reaches, so a hidden or denied directory entered gives nothing
/// but its name; an allowed file reached from it by `..` opens.
#[test]
fn dotdot_and_a_working_directory_inside_a_hidden_tree_reach_nothing() {
    let t = tree("adv-visible-dotdot");
    let out = run(&t, "visible", "dotdot");
    let mut c = Checks::new(&out);
    c.all(
        &[
            "abs_dotdot_key",
            "rel_dotdot_key",
            "rel_dotdot_secret",
            "pub_dotdot_vault_key",
            "pub_dotdot_vault_list",
            "dotdot_hdir_list",
        ],
        "ERR:ENOENT",
    );
    let changes = [
        "unlink",
        "chmod",
        "truncate",
        "rename_out",
        "link_out",
        "creat",
        "mkdir",
        "symlink",
        "open_append",
    ];
    for op in changes {
        c.eq(&format!("dotdot_hdir_{op}"), "ERR:ENOENT");
    }
    for (inside, refused) in [
        ("in_hdir", "ERR:ENOENT"),
        ("in_hdir_sub", "ERR:ENOENT"),
        ("in_ddir", "ERR:EACCES"),
        ("in_vault", "ERR:ENOENT"),
    ] {
        // chdir is a look: the kernel runs it.
        c.eq(&format!("{inside}_chdir"), "OK");
        for what in [
            "key",
            "sub_dotdot_key",
            "dot_list",
            "dot_opath",
            "proc_cwd_key",
            "proc_cwd_list",
            "proc_pid_cwd_key",
        ] {
            let key = format!("{inside}_{what}");
            // hdir/sub/../key: sub of a hidden directory... has no sub.
            if inside != "in_hdir" && what == "sub_dotdot_key" {
                c.starts(&key, "ERR:");
                continue;
            }
            c.eq(&key, refused);
        }
        for op in changes {
            c.eq(&format!("{inside}_{op}"), refused);
        }
    }
    // An allowed file by its absolute path: the positive control from each.
    for inside in ["in_hdir", "in_hdir_sub", "in_ddir", "in_vault"] {
        c.eq(&format!("{inside}_abs_ok"), "READ:ALLOWED-OK|");
    }
    // Out by `..`: the walk never leaves a hidden directory by `..` (in
    // policy mode that would confirm it exists), a denied one it does.
    c.eq("in_hdir_back_ok", "ERR:ENOENT");
    c.eq("in_ddir_back_ok", "READ:ALLOWED-OK|");
    c.eq("rel_dotdot_ok", "READ:ALLOWED-OK|");
    c.eq("in_pub_chdir", "OK");
    c.eq("in_pub_key", "READ:PUBLIC|");
    c.eq("in_pub_dot_list", "LIST:key");
    c.eq("in_pub_proc_cwd_key", "READ:PUBLIC|");
    c.eq("in_pub_creat", "OK");
    done(&mut c, &out, "dotdot_done");
    unchanged(&mut c, &t);
    c.finish();
}

/// `/proc` magic links — the program's own `fd/N`, `cwd` and `root`, the
/// supervisor's and init's entries — open and list nothing hidden, though
/// in this mode `/proc` lists every process and their entries stat; the
/// program's own links to allowed files open.
#[test]
fn proc_magic_links_reach_nothing_hidden_in_visible_mode() {
    let t = tree("adv-visible-proc");
    let out = run(&t, "visible", "proc");
    let mut c = Checks::new(&out);
    c.all(
        &[
            "fd_dotdot_key",
            "fd_dotdot_hdir_list",
            "fd_vault_key",
            "self_root_secret",
            "pid_root_key",
            "self_root_hdir_list",
        ],
        "ERR:ENOENT",
    );
    for who in ["sup", "init"] {
        c.eq(&format!("{who}_stat"), "OK");
        for what in ["environ", "root_secret", "cwd_ok", "fd_list", "fd0"] {
            c.eq(&format!("{who}_{what}"), "ERR:ENOENT");
        }
        // Printed only if the kernel let the chdir through its root link.
        for what in ["chdir_root_secret", "chdir_root_hdir_list"] {
            let key = format!("{who}_{what}");
            if c.get(&key).is_some() {
                c.eq(&key, "ERR:ENOENT");
            }
        }
    }
    c.eq("proc_lists_init", "1");
    c.eq("fd_ok", "READ:ALLOWED-OK|");
    c.eq("self_root_ok", "READ:ALLOWED-OK|");
    c.eq("self_cwd_ok", "READ:ALLOWED-OK|");
    done(&mut c, &out, "proc_done");
    unchanged(&mut c, &t);
    c.finish();
}

/// A thread renames the hidden directories into and out of the working
/// directory (and an allowed one into a hidden place) while another opens,
/// lists and chdirs into where they would be: every such rename is
/// refused, nothing hidden is read or listed, even from a working directory
/// the kernel let the program into. The control: an allowed directory
/// moves to and fro and is read throughout.
#[test]
fn renaming_hidden_directories_in_and_out_reaches_nothing_in_visible_mode() {
    let t = tree("adv-visible-rename");
    let out = run(&t, "visible", "rename");
    let mut c = Checks::new(&out);
    c.eq("race_leaks", "0");
    c.eq("race_hidden_renames", "0");
    c.eq("race_allowed", "some");
    c.eq("race_pub_renames", "some");
    done(&mut c, &out, "rename_done");
    unchanged(&mut c, &t);
    if !t.dir.join("work/data/pub/key").exists() {
        c.fail("work/data/pub did not come back".to_owned());
    }
    c.finish();
}

/// A descriptor of a hidden directory opened by fdsup's caller (`3<dir`)
/// and inherited: in visible mode the kernel lists it and lets the program
/// `fchdir` into it (README, Limits: names are visible in this mode), but
/// nothing in it opens or changes, by the descriptor, `/proc/self/fd/3/NAME`
/// or the working directory. An allowed file is the positive control.
#[test]
fn an_inherited_descriptor_of_a_hidden_directory_lists_but_opens_nothing() {
    let t = tree("adv-visible-inherited");
    // The working directory is DIR/work; "$0" is DIR.
    let out = run_in(&t, "visible", "inherited", Some(r#"exec 3<"$0/hdir""#));
    let mut c = Checks::new(&out);
    c.eq("inherited_list", "LIST:key,lnk,sub");
    c.eq("inherited_fchdir", "OK");
    // Reopened through /proc/self/fd/3 with no more access than fd 3 has,
    // it is the same directory, and lists alike (in policy mode neither
    // lists: the listing is decided).
    c.eq("inherited_reopen_list", "LIST:key,lnk,sub");
    c.all(
        &[
            "inherited_key",
            "inherited_opath_key",
            "inherited_proc_key",
            "inherited_unlinkat",
            "inherited_mkdirat",
            "inherited_fchdir_key",
        ],
        "ERR:ENOENT",
    );
    c.eq("inherited_ok", "READ:ALLOWED-OK|");
    done(&mut c, &out, "inherited_done");
    unchanged(&mut c, &t);
    c.finish();
}

//! The planner over scratch trees: the grants cover exactly the executable
//! files (checked file by file against the decision), exceptions are
//! expanded, globs matched on the names found, `**` bounded; and, in a
//! forked child, the kernel enforces the ruleset built from a plan.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::*;
use crate::policy::{self, Vars};
use crate::sys::child::testing::{run_steps, Outcome, Step};

/// A scratch tree, removed on drop; its path is canonical.
struct Tree(PathBuf);

impl Tree {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "fdsup-landlock-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = std::fs::remove_dir_all(&p);
        for f in [
            "a/x",
            "a/y",
            "a/secret",
            "a/sub/z",
            "b/e",
            "b/f",
            "k/one.key",
            "k/two.txt",
            "k/deep/three.key",
            "k/deep/four.txt",
        ] {
            let f = p.join(f);
            std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
            std::fs::write(&f, "#!/bin/sh\n").expect("write");
        }
        std::os::unix::fs::symlink("a/x", p.join("link")).expect("symlink");
        Self(std::fs::canonicalize(&p).expect("canonical"))
    }

    fn s(&self) -> String {
        self.0.display().to_string()
    }

    fn p(&self, rel: &str) -> Vec<u8> {
        self.0.join(rel).as_os_str().as_bytes().to_vec()
    }

    fn root(&self) -> Vec<u8> {
        self.0.as_os_str().as_bytes().to_vec()
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn load(t: &Tree, json: &str) -> Policy {
    let file = t.0.with_extension("policy.json");
    std::fs::write(&file, json).expect("write policy");
    let vars = Vars {
        cwd: t.s(),
        home: "/nonexistent-home".into(),
        tmpdir: "/tmp".into(),
        uid: 0,
        resolve_links: true,
    };
    let p = policy::load(file.to_str().expect("utf-8"), &vars).expect("policy loads");
    let _ = std::fs::remove_file(&file);
    p
}

fn planned(p: &Policy, limits: Limits) -> (ExecSet, Plan) {
    let mut set = ExecSet::new(p);
    let plan = expand::plan(p, &set, limits);
    set.left_out = plan.left_out.iter().map(|(d, _)| d.clone()).collect();
    (set, plan)
}

/// The grants inside the tree, relative, sorted.
fn inside(t: &Tree, plan: &Plan) -> Vec<String> {
    let root = t.root();
    let mut v: Vec<String> = plan
        .grants
        .iter()
        .filter_map(|g| g.path.strip_prefix(root.as_slice()).map(|r| (r, g.tree)))
        .map(|(r, tree)| {
            format!(
                "{}{}",
                String::from_utf8_lossy(r),
                if tree { "" } else { "!" }
            )
        })
        .collect();
    v.sort();
    v
}

/// Every regular file of the tree is covered by a grant iff it is
/// executable by the policy (files under a left-out directory: never).
fn check_exact(t: &Tree, p: &Policy, set: &ExecSet, plan: &Plan) {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("read_dir").flatten() {
            let ft = e.file_type().expect("type");
            if ft.is_dir() {
                files(&e.path(), out);
            } else if ft.is_file() {
                out.push(e.path());
            }
        }
    }
    let mut all = Vec::new();
    files(&t.0, &mut all);
    assert!(all.len() >= 10);
    for f in all {
        let path = f.as_os_str().as_bytes();
        let want =
            readable(p.decide_fs(path).action) && matches!(set.decide(path), ExecOutcome::Allow(_));
        let got = plan.grants.iter().any(|g| under(path, &g.path));
        assert_eq!(got, want, "{}", f.display());
    }
}

#[test]
fn a_tree_with_an_exception_is_expanded_around_it() {
    let t = Tree::new("hide");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"hide","rules":[
              {{"path":"{0}","access":"rw"}},
              {{"path":"{0}/a/secret","access":"hide"}}]}}}}"#,
            t.s()
        ),
    );
    let (set, plan) = planned(&p, Limits::default());
    assert_eq!(inside(&t, &plan), ["/a/sub", "/a/x", "/a/y", "/b", "/k"]);
    assert!(plan.left_out.is_empty(), "{:?}", plan.left_out);
    // Nothing outside the tree is granted: everything else is hidden.
    assert!(plan.grants.iter().all(|g| under(&g.path, &t.root())));
    check_exact(&t, &p, &set, &plan);
}

#[test]
fn an_exec_rule_denying_one_file_is_expanded_around_it() {
    let t = Tree::new("execdeny");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"hide","rules":[{{"path":"{0}","access":"ro"}}]}},
               "exec":{{"default":"allow","rules":[{{"path":"{0}/b/e","access":"deny"}}]}}}}"#,
            t.s()
        ),
    );
    let (set, plan) = planned(&p, Limits::default());
    assert_eq!(inside(&t, &plan), ["/a", "/b/f", "/k"]);
    check_exact(&t, &p, &set, &plan);
}

#[test]
fn a_glob_exception_is_matched_on_the_names_found() {
    let t = Tree::new("glob");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"deny","rules":[
              {{"path":"{0}","access":"rw"}},
              {{"path":"{0}/k/*.key","access":"deny"}}]}}}}"#,
            t.s()
        ),
    );
    let (set, plan) = planned(&p, Limits::default());
    // `deep` cannot hold a match of k/*.key: one grant for all of it.
    assert_eq!(inside(&t, &plan), ["/a", "/b", "/k/deep", "/k/two.txt"]);
    check_exact(&t, &p, &set, &plan);
}

#[test]
fn exec_default_deny_grants_the_allowed_trees_and_the_elf_interpreter() {
    let t = Tree::new("default-deny");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"ro"}},
               "exec":{{"default":"deny","rules":[{{"path":"{0}/a","access":"allow"}},
                                                  {{"path":"{0}/a/sub","access":"deny"}}]}}}}"#,
            t.s()
        ),
    );
    let (set, plan) = planned(&p, Limits::default());
    assert!(set.mediated && set.broker_memfd);
    assert_eq!(inside(&t, &plan), ["/a/secret", "/a/x", "/a/y"]);
    if let Ok(ld) = std::fs::canonicalize("/lib64/ld-linux-x86-64.so.2") {
        let ld = ld.as_os_str().as_bytes();
        assert!(plan.grants.iter().any(|g| g.path == ld), "{plan:?}");
        assert!(
            matches!(set.decide(ld), ExecOutcome::Allow(Some(o)) if &*o.file == ELF_INTERPRETER_ORIGIN)
        );
    }
    check_exact(&t, &p, &set, &plan);
}

#[test]
fn a_double_star_exception_is_expanded_within_bounds_or_left_out() {
    let t = Tree::new("dstar");
    let json = format!(
        r#"{{"version":1,"filesystem":{{"default":"hide","rules":[
          {{"path":"{0}","access":"rw"}},
          {{"path":"{0}/**/*.key","access":"hide"}}]}}}}"#,
        t.s()
    );
    let p = load(&t, &json);
    let (set, plan) = planned(&p, Limits::default());
    assert_eq!(
        inside(&t, &plan),
        // Files, each alone: a `**` pattern could match below any name.
        [
            "/a/secret!",
            "/a/sub/z!",
            "/a/x!",
            "/a/y!",
            "/b/e!",
            "/b/f!",
            "/k/deep/four.txt!",
            "/k/two.txt!"
        ]
    );
    check_exact(&t, &p, &set, &plan);

    // Past the bounds the tree is left out: less, never more.
    for limits in [
        Limits {
            max_listed: 6,
            ..Limits::default()
        },
        Limits {
            max_grants: 3,
            ..Limits::default()
        },
    ] {
        let (set, plan) = planned(&p, limits);
        assert!(
            plan.left_out
                .iter()
                .any(|(d, _)| under(&t.root(), d) || under(d, &t.root())),
            "{limits:?}: {:?}",
            plan.left_out
        );
        assert!(plan
            .grants
            .iter()
            .all(|g| !under(&g.path, &t.root()) || !set.is_left_out(&g.path)));
        for f in ["a/x", "k/two.txt", "b/e"] {
            let path = t.p(f);
            if set.is_left_out(&path) {
                assert_eq!(set.decide(&path), ExecOutcome::LeftOut);
                assert!(!plan.grants.iter().any(|g| under(&path, &g.path)), "{f}");
            }
        }
    }
    let deep = Limits {
        max_depth: 1,
        ..Limits::default()
    };
    let (_, plan) = planned(&p, deep);
    assert!(plan
        .left_out
        .iter()
        .any(|(_, why)| *why == LeftOut::TooDeep));
}

#[test]
fn symlinks_are_never_granted() {
    let t = Tree::new("links");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"hide","rules":[
              {{"path":"{0}","access":"rw"}},
              {{"path":"{0}/b","access":"deny"}}]}}}}"#,
            t.s()
        ),
    );
    let (_, plan) = planned(&p, Limits::default());
    assert_eq!(inside(&t, &plan), ["/a", "/k"]);
}

#[test]
fn needs_a_ruleset_unless_everything_readable_is_executable() {
    let t = Tree::new("needs");
    let all = load(&t, r#"{"version":1,"include":["@allow-all"]}"#);
    assert!(!needs_ruleset(&all));
    assert!(!ExecSet::new(&all).mediated);
    let default = load(&t, r#"{"version":1,"include":["@default"]}"#);
    assert!(needs_ruleset(&default));
    let set = ExecSet::new(&default);
    assert!(set.mediated && !set.broker_memfd);
    let one = load(
        &t,
        r#"{"version":1,"include":["@allow-all"],"exec":{"rules":[{"path":"/usr/bin/sudo","access":"deny"}]}}"#,
    );
    assert!(needs_ruleset(&one));
}

/// `@default` and `@system` plan in a few milliseconds (printed with
/// `--nocapture`), and grant `/usr` whole.
#[test]
fn the_embedded_policies_plan_quickly() {
    let t = Tree::new("timing");
    for name in ["@default", "@system"] {
        let p = load(&t, &format!(r#"{{"version":1,"include":["{name}"]}}"#));
        let start = std::time::Instant::now();
        let (_, plan) = planned(&p, Limits::default());
        let planned_in = start.elapsed();
        let built = build(&plan);
        let total = start.elapsed();
        eprintln!(
            "{name}: {} grants, {} entries listed, planned in {planned_in:?}, built in {total:?}",
            plan.grants.len(),
            plan.listed
        );
        assert!(
            plan.grants.iter().any(|g| g.path == b"/usr" && g.tree),
            "{plan:?}"
        );
        assert!(
            plan.left_out
                .iter()
                .all(|(_, w)| matches!(w, LeftOut::Unreadable(_))),
            "{:?}",
            plan.left_out
        );
        if abi().is_ok() {
            assert!(built.is_ok(), "{built:?}");
        }
    }
}

/// In a forked child restricted by a built ruleset, the kernel runs an
/// allowed copy of `true` and refuses a denied one with EACCES.
#[test]
fn the_kernel_enforces_the_built_ruleset() {
    if let Err(e) = abi() {
        let require = std::env::var_os("FDSUP_REQUIRE_KERNEL").is_some_and(|v| v == "1");
        assert!(!require, "Landlock: {e}");
        eprintln!("skipped: {e}");
        return;
    }
    let t = Tree::new("kernel");
    std::fs::copy("/bin/true", t.0.join("a/true")).expect("copy");
    std::fs::copy("/bin/true", t.0.join("b/true")).expect("copy");
    let p = load(
        &t,
        &format!(
            r#"{{"version":1,"filesystem":{{"default":"ro"}},
               "exec":{{"default":"deny","rules":[{{"path":"{0}/a","access":"allow"}}]}}}}"#,
            t.s()
        ),
    );
    let (_, plan) = planned(&p, Limits::default());
    let ruleset = build(&plan).expect("ruleset");
    let cstr = |rel: &str| std::ffi::CString::new(t.p(rel)).expect("no NUL");
    let (ok, denied) = (cstr("a/true"), cstr("b/true"));
    let run = |path: &std::ffi::CString| {
        run_steps(&[
            Step::NoNewPrivs,
            Step::LandlockRestrictSelf(std::os::fd::AsFd::as_fd(&ruleset)),
            Step::Exec(path),
        ])
        .expect("fork")
    };
    assert_eq!(run(&ok), Outcome::Exited(0), "the allowed copy runs");
    assert_eq!(
        run(&denied),
        Outcome::Failed {
            step: 2,
            errno: libc::EACCES
        },
        "the denied copy fails with EACCES"
    );
}

/// Without Landlock, a policy that limits exec is refused (125), and the
/// message names the exec section and what is missing.
#[test]
fn a_missing_landlock_is_a_setup_error_naming_the_exec_section() {
    let e = crate::supervise::RunError::Exec {
        origin: "p.json".into(),
        source: LandlockError::Missing(std::io::Error::from_raw_os_error(libc::ENOSYS)),
    };
    assert_eq!(e.exit_code(), 125);
    let mut text = e.to_string();
    let mut cur = std::error::Error::source(&e);
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    assert!(text.starts_with("p.json: "), "{text}");
    assert!(text.contains("\"exec\" section"), "{text}");
    assert!(text.contains("no Landlock (Linux 5.13"), "{text}");
}

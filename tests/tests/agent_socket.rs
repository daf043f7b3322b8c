//! `fdsup agent`'s front door, driven by a stand-in runtime
//! (`tests/c/agent_fake_runtime.c`: a filter with a listener handed over as
//! runc hands it, then the runtime's last steps and an exec) and by raw
//! connections: the runtime's own requests before the exec run as the
//! kernel would, and so do those of a process it forked before the exec
//! until that process execs itself, while the program is policed; a message
//! in pieces is waited for and a connection kept open stalls nothing; the
//! socket is 0600, exists once it accepts, replaces a stale one and refuses
//! to replace anything else; connections without a message, with garbage or
//! from another user are dropped without harm; agent-only policy rules.

mod agent_support;

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::Command;
use std::time::Duration;

use agent_support::Agent;
use fdsup_tests::{c_program, run_cmd, skip, Output, TempDir};

/// A policy of host paths (the stand-in runtime runs on the host): the
/// system readable, `secret` hidden.
fn policy(secret: &std::path::Path) -> String {
    format!(
        r#"{{ "version": 1, "filesystem": {{ "default": "ro", "rules": [ {{ "path": "{}", "access": "hide" }} ] }}, "log": {{ "denied": true, "allowed": false }} }}"#,
        secret.display()
    )
}

fn fake_runtime(agent: &Agent, mode: &str, id: &str, meta: &str, path: &std::path::Path) -> Output {
    let mut c = Command::new(c_program("agent_fake_runtime"));
    c.arg(&agent.socket)
        .args([mode, id, meta])
        .arg(path)
        .arg("/bin/cat")
        .arg(path);
    run_cmd(&mut c, Duration::from_secs(60))
}

fn need_root() -> bool {
    fdsup_tests::is_root()
}

#[test]
fn the_runtime_is_trusted_until_its_exec_and_the_program_is_policed() {
    if !need_root() {
        skip!("the agent runs as root (it reads every container's /proc)");
    }
    let dir = TempDir::new("agent-gate");
    let secret = dir.write("secret", "the secret\n");
    let agent = Agent::start(&[("hide-secret", &policy(&secret))]);
    let out = fake_runtime(&agent, "whole", "gate", "policy=hide-secret", &secret);
    // Before its exec the runtime opens the hidden file as the kernel
    // would; so does its helper, forked before the exec, after it.
    assert!(out.stdout.contains("runtime open: ok"), "{out:?}");
    assert!(out.stdout.contains("helper open: ok"), "{out:?}");
    // The program, and the helper once it execs, are policed.
    assert!(!out.stdout.contains("the secret"), "{out:?}");
    assert_eq!(
        out.stderr.matches("No such file or directory").count(),
        2,
        "both execs of cat are refused the hidden file: {out:?}"
    );
    let log = agent.log("gate");
    assert_eq!(
        log.matches(r#""decision":"hide""#).count(),
        2,
        "the two refusals, and nothing of the runtime's: {log}"
    );
    // Positive control: without the rule, the programs read it.
    let other = dir.write("other", "not secret\n");
    let out = fake_runtime(&agent, "whole", "control", "policy=hide-secret", &other);
    assert_eq!(out.stdout.matches("not secret").count(), 2, "{out:?}");
}

#[test]
fn a_message_in_pieces_is_awaited_and_the_open_connection_stalls_nothing() {
    if !need_root() {
        skip!("the agent runs as root");
    }
    let dir = TempDir::new("agent-split");
    let secret = dir.write("secret", "the secret\n");
    let agent = Agent::start(&[("hide-secret", &policy(&secret))]);
    let t0 = std::time::Instant::now();
    let out = fake_runtime(&agent, "split", "split", "policy=hide-secret", &secret);
    assert!(
        out.stdout.contains("runtime open: ok") && !out.stdout.contains("the secret"),
        "{out:?}"
    );
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "never waits for the end of the connection: {:?}",
        t0.elapsed()
    );
}

#[test]
fn the_socket_is_private_replaces_a_stale_one_and_nothing_else() {
    if !need_root() {
        skip!("the agent runs as root");
    }
    let agent = Agent::start(&[]);
    let mode = std::fs::metadata(&agent.socket)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "created mode 0600");
    // A second agent on a live socket refuses.
    let out = run_cmd(
        Command::new(fdsup_tests::fdsup())
            .arg("agent")
            .arg("--socket")
            .arg(&agent.socket)
            .arg("--policies")
            .arg(&agent.policies),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("another agent is listening"), "{out:?}");
    drop(agent);

    let dir = TempDir::new("agent-stale");
    let path = dir.join("stale.sock");
    drop(UnixListener::bind(&path).unwrap());
    assert!(path.exists(), "a stale socket");
    std::fs::create_dir_all(dir.join("p")).unwrap();
    let mut child = Command::new(fdsup_tests::fdsup())
        .arg("agent")
        .arg("--socket")
        .arg(&path)
        .arg("--policies")
        .arg(dir.join("p"))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    agent_support::wait_until("the agent to listen", Duration::from_secs(20), || {
        UnixStream::connect(&path).is_ok()
    });
    let _ = child.kill();
    let _ = child.wait();

    let file = dir.write("not-a-socket", "keep me\n");
    let out = run_cmd(
        Command::new(fdsup_tests::fdsup())
            .arg("agent")
            .arg("--socket")
            .arg(&file)
            .arg("--policies")
            .arg(dir.join("p")),
        Duration::from_secs(20),
    );
    assert_eq!(out.code, 125, "{out:?}");
    assert!(out.stderr.contains("is not a socket"), "{out:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me\n");
}

#[test]
fn odd_connections_are_dropped_and_the_agent_serves_on() {
    if !need_root() {
        skip!("the agent runs as root");
    }
    let dir = TempDir::new("agent-odd");
    let secret = dir.write("secret", "the secret\n");
    let mut agent = Agent::start(&[("hide-secret", &policy(&secret))]);
    // Closed without a byte (crun, when creation fails): normal.
    drop(UnixStream::connect(&agent.socket).unwrap());
    // Garbage; a state without a descriptor; half a message, then closed.
    let mut s = UnixStream::connect(&agent.socket).unwrap();
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    drop(s);
    let mut s = UnixStream::connect(&agent.socket).unwrap();
    s.write_all(br#"{"ociVersion":"1","fds":["seccompFd"],"pid":1,"metadata":"policy=hide-secret","state":{"id":"nofd"}}"#)
        .unwrap();
    drop(s);
    let mut s = UnixStream::connect(&agent.socket).unwrap();
    s.write_all(br#"{"ociVersion":"1","fds":["#).unwrap();
    drop(s);
    // One that says nothing and stays: read for a while, then given up.
    let _silent = UnixStream::connect(&agent.socket).unwrap();
    // Meanwhile a runtime is served.
    let out = fake_runtime(&agent, "whole", "after-odd", "policy=hide-secret", &secret);
    assert!(
        out.stdout.contains("runtime open: ok") && !out.stdout.contains("the secret"),
        "{out:?}"
    );
    // A descriptor that is not a seccomp listener: refused, and the
    // runtime's own listener, never received, fails closed.
    let out = fake_runtime(&agent, "wrongfd", "wrongfd", "policy=hide-secret", &secret);
    assert!(out.stdout.contains("runtime open: errno 38"), "{out:?}");
    std::thread::sleep(Duration::from_millis(2500));
    let said = agent.stop(libc::SIGTERM);
    assert!(said.contains("is not a seccomp listener"), "{said}");
    assert!(said.contains("not JSON"), "{said}");
    assert!(
        said.contains("names \"seccompFd\" at 0 of 0 descriptors"),
        "{said}"
    );
    assert!(
        said.contains("closed the connection inside its message"),
        "{said}"
    );
    assert!(said.contains("did not end within"), "{said}");
    assert_eq!(
        said.lines().filter(|l| l.contains("fdsup: agent:")).count(),
        7,
        "the start, four bad connections, the wrong descriptor and the stop; nothing for the empty one: {said}"
    );
}

#[test]
fn another_user_cannot_hand_over_a_listener() {
    if !need_root() {
        skip!("the test runs the stand-in runtime as uid 65534");
    }
    let dir = TempDir::new("agent-peer");
    let secret = dir.write("secret", "the secret\n");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o644)).unwrap();
    let mut agent = Agent::start(&[("hide-secret", &policy(&secret))]);
    // An administrator's mistake: the socket open to everyone.
    std::fs::set_permissions(&agent.socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    std::fs::set_permissions(agent.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let prog = c_program("agent_fake_runtime");
    let copy = dir.join("fake");
    std::fs::copy(&prog, &copy).unwrap();
    let out = run_cmd(
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy)
            .arg(&agent.socket)
            .args(["whole", "peer", "policy=hide-secret"])
            .arg(&secret)
            .arg("/bin/cat")
            .arg(&secret),
        Duration::from_secs(60),
    );
    // Its listener was dropped unread: its requests fail closed (ENOSYS).
    assert!(out.stdout.contains("runtime open: errno 38"), "{out:?}");
    assert!(!out.stdout.contains("the secret"), "{out:?}");
    let said = agent.stop(libc::SIGTERM);
    assert!(
        said.contains("peer uid 65534") && said.contains("connection refused"),
        "{said}"
    );
}

#[test]
fn agent_policies_refuse_what_has_no_meaning_in_a_container() {
    if !need_root() {
        skip!("the agent runs as root");
    }
    let dir = TempDir::new("agent-vars");
    let secret = dir.write("secret", "the secret\n");
    let mut agent = Agent::start(&[
        (
            "cwd",
            r#"{ "version": 1, "filesystem": { "rules": [ { "path": "${CWD}", "access": "rw" } ] } }"#,
        ),
        (
            "isolated",
            r#"{ "version": 1, "network": { "isolate": true } }"#,
        ),
        (
            "tmpdir",
            r#"{ "version": 1, "filesystem": { "default": "ro", "rules": [ { "path": "${TMPDIR}/no-such-dir", "access": "rw" } ] } }"#,
        ),
    ]);
    for (name, id) in [("cwd", "v-cwd"), ("isolated", "v-iso")] {
        let out = fake_runtime(&agent, "whole", id, &format!("policy={name}"), &secret);
        assert!(
            out.stdout.contains("runtime open: errno 1"),
            "{name}: every request fails with EPERM: {out:?}"
        );
    }
    // ${TMPDIR} is /tmp in an agent policy.
    let out = fake_runtime(&agent, "whole", "v-tmp", "policy=tmpdir", &secret);
    assert!(out.stdout.contains("the secret"), "{out:?}");
    let said = agent.stop(libc::SIGTERM);
    assert!(
        said.contains("${CWD} is not allowed in an agent policy"),
        "{said}"
    );
    assert!(
        said.contains("\"isolate\" is not available to containers"),
        "{said}"
    );
}

#[path = "lend_tree.rs"]
mod lend_tree;

/// A container's process runs as any user, and may change its credentials
/// between two requests without the agent seeing the call (the profile lets
/// credential calls run): the agent reads them at every request. Found in
/// review: a process that opened a file as root, then dropped to 65534
/// with `setresuid`, was served as root from then on. The same program
/// (`tests/c/adv_lend_files.c`, mode `self`) runs natively and as a
/// container's program, and every line must match; natively, the refusals
/// are spelled out (so that the comparison tests something).
#[test]
fn a_container_process_that_drops_is_served_as_what_it_became() {
    if !need_root() {
        skip!("the agent runs as root (it reads every container's /proc)");
    }
    let lines = |s: &str| -> std::collections::BTreeMap<String, String> {
        s.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    };
    let program = c_program("adv_lend_files");
    let native_dir = TempDir::new("agent-lend-native");
    lend_tree::tree(native_dir.path());
    let mut c = Command::new(&program);
    c.arg("self").arg(native_dir.path());
    let native = lines(&run_cmd(&mut c, Duration::from_secs(30)).stdout);
    for (k, v) in [
        ("before_read_secret", "OK"),
        ("read_secret", "ERR:EACCES"),
        ("write_file", "ERR:EACCES"),
        ("create_in_q", "ERR:EACCES"),
        ("owner", "65534"),
        ("done", "1"),
    ] {
        assert_eq!(
            native.get(k).map(String::as_str),
            Some(v),
            "native {k}: {native:?}"
        );
    }

    let dir = TempDir::new("agent-lend");
    lend_tree::tree(dir.path());
    let agent = Agent::start(&[(
        "rw",
        r#"{ "version": 1, "filesystem": { "default": "rw" } }"#,
    )]);
    let mut c = Command::new(c_program("agent_fake_runtime"));
    c.arg(&agent.socket)
        .args(["whole", "lend", "policy=rw"])
        .arg(dir.path())
        .arg(&program)
        .arg("self")
        .arg(dir.path());
    let out = run_cmd(&mut c, Duration::from_secs(60));
    let served = lines(&out.stdout);
    for (k, v) in &native {
        assert_eq!(served.get(k), Some(v), "{k}: natively {v}\n{out:?}");
    }
    let file = std::fs::read_to_string(dir.join("q/file")).unwrap_or_default();
    assert_eq!(file, "theirs\n", "q/file was changed through the agent");
}

/// A redirect rule's target is a path in the container, which the
/// container (its image, or its program where the target's directory is
/// writable) controls: a symbolic link there must not steer the rule to a
/// file the policy hides (README, "Containers": "a container image must
/// not steer a rule with a symbolic link of its own"). The stand-in
/// runtime runs on the host, so the "container's" paths are the host's.
#[test]
fn a_redirect_target_that_is_a_symlink_reaches_nothing_hidden() {
    if !need_root() {
        skip!("the agent runs as root");
    }
    let dir = TempDir::new("agent-redirect-link");
    let secret = dir.write("secret", "the secret\n");
    let served = dir.write("served", "the original\n");
    let target = dir.join("target");
    let pol = |name: &str| {
        (
            name.to_owned(),
            format!(
                r#"{{ "version": 1, "filesystem": {{ "default": "ro", "rules": [
                     {{ "path": "{}", "access": "hide" }},
                     {{ "path": "{}", "redirect": "{}" }} ] }},
                   "log": {{ "denied": true, "allowed": false }} }}"#,
                secret.display(),
                served.display(),
                target.display()
            ),
        )
    };
    let (name, text) = pol("redirect");
    let agent = Agent::start(&[(name.as_str(), text.as_str())]);
    // Positive control: a plain target is served under the rule's name.
    std::fs::write(&target, "the fake\n").unwrap();
    let out = fake_runtime(&agent, "whole", "plain", "policy=redirect", &served);
    assert!(out.stdout.contains("the fake"), "{out:?}");
    assert!(!out.stdout.contains("the original"), "{out:?}");
    // The target made a link to the hidden file (absolute or relative).
    for link in [secret.to_str().unwrap(), "secret"] {
        std::fs::remove_file(&target).unwrap();
        std::os::unix::fs::symlink(link, &target).unwrap();
        let out = fake_runtime(&agent, "whole", "linked", "policy=redirect", &served);
        assert!(!out.stdout.contains("the secret"), "link {link}: {out:?}");
    }
}

//! `fdsup agent` with real runtimes (runc and crun): a busybox container
//! whose profile is `fdsup agent profile`'s gets the policy's view of its
//! own file system — served content, hidden and read-only paths, a
//! read-write area — through every step of its life (`run`; `create`,
//! `start`, two `exec`s, `kill`, `delete`); an unknown policy refuses
//! everything; an agent killed mid-run leaves the container failing
//! closed; SIGTERM ends the agent cleanly. Positive controls: the image's
//! own files read where the policy allows, natively the same container
//! reads the image's `/etc/resolv.conf` and `/etc/shadow`.

mod agent_support;

use std::io::{BufRead as _, Write as _};
use std::process::Stdio;
use std::time::Duration;

use agent_support::{container_id, runtimes, Agent, Bundle, Runtime, POLICY, SERVED};
use fdsup_tests::skip;

/// What the policy tests run inside the container.
const SCRIPT: &str = r#"
read l < /etc/resolv.conf; echo "resolv:$l"
cat /etc/shadow; echo "shadow rc=$?"
echo changed > /etc/hostname; echo "ro rc=$?"
echo made > /tmp/created; echo "rw rc=$?"
cat /data/readme
unshare -m true; echo "unshare rc=$?"
"#;

fn each_runtime(f: impl Fn(Runtime)) {
    let rts = match runtimes() {
        Ok(r) => r,
        Err(why) => skip!("{why}"),
    };
    for rt in rts {
        eprintln!("--- {}", rt.name());
        f(rt);
    }
}

#[test]
fn the_policy_applies_inside_the_container() {
    each_runtime(|rt| {
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let b = Bundle::new("agent-policy", &["sh", "-c", SCRIPT], Some(&profile));
        let id = container_id("policy");
        let out = b.run(rt, &id);
        let rootfs = b.rootfs();
        assert!(
            out.stdout.contains(&format!("resolv:{SERVED}")),
            "{}: /etc/resolv.conf is the policy's content: {out:?}",
            rt.name()
        );
        assert!(
            out.stdout.contains("shadow rc=1") && !out.stdout.contains("SECRET-HASH"),
            "{}: the hidden file is not read: {out:?}",
            rt.name()
        );
        assert!(
            out.stderr
                .contains("/etc/shadow': No such file or directory"),
            "{}: ENOENT for the hidden file: {out:?}",
            rt.name()
        );
        assert!(
            out.stderr.contains("/etc/hostname: Permission denied")
                && out.stdout.contains("ro rc=1"),
            "{}: EACCES for a write to a ro path: {out:?}",
            rt.name()
        );
        assert_eq!(
            std::fs::read_to_string(rootfs.join("etc/hostname")).unwrap(),
            "fdsup-test\n",
            "{}: the ro file is unchanged",
            rt.name()
        );
        assert!(out.stdout.contains("rw rc=0"), "{}: {out:?}", rt.name());
        assert_eq!(
            std::fs::read_to_string(rootfs.join("tmp/created")).unwrap_or_default(),
            "made\n",
            "{}: the file in the rw area is created, in the container's /tmp",
            rt.name()
        );
        // Positive control: what the policy allows reads.
        assert!(
            out.stdout.contains("the container's data"),
            "{}: {out:?}",
            rt.name()
        );
        // Always enforced: no new namespaces.
        assert!(
            out.stdout.contains("unshare rc=1") && out.stderr.contains("Operation not permitted"),
            "{}: unshare is refused with EPERM: {out:?}",
            rt.name()
        );
        let log = agent.log(&id);
        assert!(
            log.contains(r#""path":"/etc/shadow""#) && log.contains(r#""errno":"ENOENT""#),
            "{}: the refusal is in DIR/ID.jsonl: {log}",
            rt.name()
        );
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(agent.logs.join(format!("{id}.jsonl")))
                .unwrap()
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600, "the log is the owner's only");

        // Natively (no seccomp): the image's own files.
        b.configure(&["sh", "-c", SCRIPT], None);
        let native = b.run(rt, &container_id("native"));
        assert!(
            native.stdout.contains("resolv:nameserver 203.0.113.1")
                && native.stdout.contains("SECRET-HASH"),
            "{}: natively the image's files: {native:?}",
            rt.name()
        );
    });
}

/// What `fdsup run` makes of its own surroundings means the container's
/// own in a container: a `private` rule's path is the container's
/// (`/dev/shm`, a tmpfs of its own: served there, read-write), a `public`
/// rule judges the container's directories and files (not the host's
/// paths of the same names), and `/proc/self` reads as the pid the
/// container's `/proc` knows (1 for its first process, not fdsup's number
/// of it). Positive and negative controls: a file others may read is
/// served under the public rule, one they may not is refused.
#[test]
fn private_public_and_proc_self_are_the_containers() {
    const OWN: &str = r#"{
  "version": 1,
  "filesystem": {
    "default": "ro",
    "rules": [
      { "path": "/tmp", "access": "rw" },
      { "path": "/dev", "access": "rw" },
      { "path": "/dev/shm", "private": true },
      { "path": "/pub", "access": "ro", "public": true }
    ]
  },
  "network": { "default": "allow" }
}
"#;
    const SCRIPT: &str = r#"
echo shared > /dev/shm/sem.x; echo "shm rc=$?"
read l < /dev/shm/sem.x; echo "shm:$l"
read l < /pub/open; echo "open:$l"
cat /pub/closed; echo "closed rc=$?"
echo "thread-self:$(readlink /proc/thread-self)"
exec readlink /proc/self
"#;
    use std::os::unix::fs::PermissionsExt as _;
    each_runtime(|rt| {
        let agent = Agent::start(&[("own", OWN)]);
        let profile = agent.profile("own");
        let b = Bundle::new("agent-own", &["sh", "-c", SCRIPT], Some(&profile));
        let rootfs = b.rootfs();
        let pubdir = rootfs.join("pub");
        std::fs::create_dir_all(&pubdir).unwrap();
        std::fs::write(pubdir.join("open"), "for everyone\n").unwrap();
        std::fs::write(pubdir.join("closed"), "owner only\n").unwrap();
        for (p, mode) in [
            (&rootfs, 0o755),
            (&pubdir, 0o755),
            (&pubdir.join("open"), 0o644),
            (&pubdir.join("closed"), 0o600),
        ] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        let out = b.run(rt, &container_id("own"));
        let name = rt.name();
        assert!(
            out.stdout.contains("shm rc=0") && out.stdout.contains("shm:shared"),
            "{name}: the private rule's path is the container's own, read-write: {out:?}"
        );
        assert!(
            out.stdout.contains("open:for everyone"),
            "{name}: a file others may read is served under the public rule: {out:?}"
        );
        assert!(
            out.stdout.contains("closed rc=1") && !out.stdout.contains("owner only"),
            "{name}: one they may not read is refused: {out:?}"
        );
        let last = out.stdout.lines().last().unwrap_or_default();
        assert_eq!(last, "1", "{name}: /proc/self of pid 1: {out:?}");
        assert!(
            out.stdout
                .lines()
                .any(|l| l.strip_prefix("thread-self:").is_some_and(|t| {
                    t.split_once("/task/")
                        .is_some_and(|(p, t)| p.parse::<u32>().is_ok_and(|p| p < 1000) && p == t)
                })),
            "{name}: /proc/thread-self in the container's numbers: {out:?}"
        );
    });
}

/// A program of another ABI (an `int 0x80` system call, i386's) is killed:
/// the profile's single architecture makes libseccomp kill it.
#[test]
fn other_abis_are_killed() {
    const SRC: &str = r#"
#include <stdio.h>
int main(void) {
    long r;
    printf("x86_64 ok\n"); fflush(stdout);
    __asm__ volatile ("int $0x80" : "=a"(r) : "a"(20L) : "memory"); /* i386 getpid */
    printf("i386 getpid returned %ld\n", r);
    return 0;
}
"#;
    each_runtime(|rt| {
        let prog = fdsup_tests::compile_c("agent_i386", SRC, &["-static"]);
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let b = Bundle::new(
            "agent-abi",
            &["sh", "-c", "/bin/abi; echo \"abi rc=$?\""],
            Some(&profile),
        );
        std::fs::copy(&prog, b.rootfs().join("bin/abi")).unwrap();
        let out = b.run(rt, &container_id("abi"));
        assert!(out.stdout.contains("x86_64 ok"), "{}: {out:?}", rt.name());
        assert!(
            out.stdout.contains("abi rc=159") && !out.stdout.contains("returned"),
            "{}: killed by SIGSYS: {out:?}",
            rt.name()
        );
    });
}

/// `listenerMetadata` naming no policy file: every request of the container
/// fails (EPERM) — the runtime's own start-up included, so the container
/// never runs — and the agent says why.
#[test]
fn an_unknown_policy_refuses_everything() {
    each_runtime(|rt| {
        let mut agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("no-such-policy");
        let b = Bundle::new(
            "agent-unknown",
            &["sh", "-c", "echo container-ran"],
            Some(&profile),
        );
        let id = container_id("unknown");
        let out = b.run(rt, &id);
        assert_ne!(out.code, 0, "{}: {out:?}", rt.name());
        assert!(
            !out.stdout.contains("container-ran"),
            "{}: {out:?}",
            rt.name()
        );
        assert!(
            out.stderr.contains("operation not permitted")
                || out.stderr.contains("Operation not permitted"),
            "{}: the runtime's requests fail with EPERM: {out:?}",
            rt.name()
        );
        // A name that could leave the directory is refused the same way.
        let bad = profile.replace("policy=no-such-policy", "policy=../readonly-root");
        b.configure(&["sh", "-c", "echo container-ran"], Some(&bad));
        let out = b.run(rt, &container_id("badname"));
        assert!(
            out.code != 0 && !out.stdout.contains("container-ran"),
            "{}: {out:?}",
            rt.name()
        );
        let said = agent.stop(libc::SIGTERM);
        assert!(
            said.contains(&format!("container {id}"))
                && said.contains("no-such-policy")
                && said.contains("every request of the container fails with EPERM"),
            "{}: the agent says why: {said}",
            rt.name()
        );
        assert!(
            said.contains("\"../readonly-root\" is not [A-Za-z0-9_.-]+"),
            "{}: {said}",
            rt.name()
        );
        // Positive control: the same container under a policy that exists.
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        b.configure(
            &["sh", "-c", "echo container-ran"],
            Some(&agent.profile("readonly-root")),
        );
        let out = b.run(rt, &container_id("known"));
        assert!(
            out.stdout.contains("container-ran"),
            "{}: {out:?}",
            rt.name()
        );
    });
}

fn state(b: &Bundle, rt: Runtime, id: &str) -> String {
    let out = fdsup_tests::run_cmd(&mut b.runtime(rt, &["state", id]), Duration::from_secs(30));
    out.stdout
}

#[test]
fn create_start_exec_kill_delete() {
    each_runtime(|rt| {
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        let threads_idle = agent_support::threads(agent.pid());
        let profile = agent.profile("readonly-root");
        let b = Bundle::new("agent-life", &["sleep", "600"], Some(&profile));
        let id = container_id("life");
        let created = b
            .runtime(rt, &["create", &id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(created.success(), "{} create", rt.name());
        assert!(state(&b, rt, &id).contains("\"created\""), "{}", rt.name());
        let started = b.runtime(rt, &["start", &id]).status().unwrap();
        assert!(started.success(), "{} start", rt.name());
        assert!(state(&b, rt, &id).contains("\"running\""), "{}", rt.name());

        // Two execs, each a listener of its own, each policed.
        let first = fdsup_tests::run_cmd(
            &mut b.runtime(
                rt,
                &[
                    "exec",
                    &id,
                    "sh",
                    "-c",
                    "read l < /etc/resolv.conf; echo \"resolv:$l\"; cat /etc/shadow; echo \"shadow rc=$?\"",
                ],
            ),
            Duration::from_secs(60),
        );
        assert!(
            first.stdout.contains(&format!("resolv:{SERVED}"))
                && first.stdout.contains("shadow rc=1")
                && !first.stdout.contains("SECRET-HASH"),
            "{}: exec is policed: {first:?}",
            rt.name()
        );
        let second = fdsup_tests::run_cmd(
            &mut b.runtime(
                rt,
                &[
                    "exec",
                    &id,
                    "sh",
                    "-c",
                    "echo two > /tmp/exec2; cat /tmp/exec2; echo x > /data/readme; echo \"ro rc=$?\"",
                ],
            ),
            Duration::from_secs(60),
        );
        assert!(
            second.stdout.contains("two\n") && second.stdout.contains("ro rc=1"),
            "{}: the second exec is policed: {second:?}",
            rt.name()
        );
        assert_eq!(
            std::fs::read_to_string(b.rootfs().join("data/readme")).unwrap(),
            "the container's data\n"
        );

        let killed = b.runtime(rt, &["kill", &id, "KILL"]).status().unwrap();
        assert!(killed.success(), "{} kill", rt.name());
        agent_support::wait_until("the container to stop", Duration::from_secs(20), || {
            state(&b, rt, &id).contains("\"stopped\"")
        });
        let deleted = b.runtime(rt, &["delete", &id]).status().unwrap();
        assert!(deleted.success(), "{} delete", rt.name());
        // Every session of the container ended: the agent is back to its
        // idle threads.
        agent_support::wait_until("the sessions to end", Duration::from_secs(10), || {
            agent_support::threads(agent.pid()) == threads_idle
        });
    });
}

/// Runs a container that reads `/etc/resolv.conf` (a shell builtin
/// redirect: no exec), waits for a line on its stdin, and reads it again.
fn two_reads(b: &Bundle, rt: Runtime, id: &str, between: impl FnOnce()) -> (String, String) {
    let mut child = b
        .runtime(rt, &["run", id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    between();
    writeln!(stdin, "go").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    let _ = child.wait();
    (format!("{first}{rest}"), err)
}

const TWO_READS: &str = r#"read l < /etc/resolv.conf; echo "before:$l"; read go; read l2 < /etc/resolv.conf; echo "after:$l2"; read l3 < /data/readme; echo "data:$l3""#;

/// SPEC: if the agent dies, every mediated request fails; nothing is
/// allowed because the agent was not there to say no.
#[test]
fn a_killed_agent_leaves_the_container_failing_closed() {
    each_runtime(|rt| {
        let mut agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let b = Bundle::new("agent-killed", &["sh", "-c", TWO_READS], Some(&profile));
        let (out, err) = two_reads(&b, rt, &container_id("killed"), || {
            agent.stop(libc::SIGKILL);
        });
        assert!(
            out.contains(&format!("before:{SERVED}")),
            "{}: served while the agent ran: {out} {err}",
            rt.name()
        );
        assert!(
            out.contains("after:\n") && out.contains("data:\n"),
            "{}: nothing read after the agent died: {out} {err}",
            rt.name()
        );
        assert!(
            !out.contains("203.0.113.1") && !out.contains("the container's data"),
            "{}: the image's files were not reached: {out}",
            rt.name()
        );
        assert!(
            err.contains("Function not implemented"),
            "{}: ENOSYS: {err}",
            rt.name()
        );
    });
}

/// SIGTERM: the agent stops accepting (its socket goes), finishes, exits;
/// containers it served then fail closed, and new ones cannot start.
#[test]
fn sigterm_stops_the_agent_cleanly() {
    each_runtime(|rt| {
        let mut agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let b = Bundle::new("agent-term", &["sh", "-c", TWO_READS], Some(&profile));
        let socket = agent.socket.clone();
        let (out, err) = two_reads(&b, rt, &container_id("term"), || {
            let said = agent.stop(libc::SIGTERM);
            assert!(
                agent.child.try_wait().unwrap().is_some_and(|s| s.success()),
                "exit 0: {said}"
            );
            assert!(!socket.exists(), "the socket is removed");
        });
        assert!(
            out.contains(&format!("before:{SERVED}")) && out.contains("after:\n"),
            "{}: {out} {err}",
            rt.name()
        );
        assert!(
            err.contains("Function not implemented"),
            "{}: {err}",
            rt.name()
        );
        // No agent: a new container fails to start.
        b.configure(&["sh", "-c", "echo container-ran"], Some(&profile));
        let out = b.run(rt, &container_id("noagent"));
        assert!(
            out.code != 0 && !out.stdout.contains("container-ran"),
            "{}: {out:?}",
            rt.name()
        );
    });
}

/// The ready agent policies of `policies/agent/`, as shipped: `fixed-dns`
/// (which includes `readonly-root`) serves its resolver configuration,
/// hides `/etc/shadow` and the Kubernetes secrets directory, and lets the
/// container write only its scratch directories.
#[test]
fn the_ready_agent_policies_serve_a_container() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../policies/agent");
    let read = |n: &str| std::fs::read_to_string(dir.join(format!("{n}.json"))).unwrap();
    let (ro, dns) = (read("readonly-root"), read("fixed-dns"));
    const READY: &str = r#"
cat /etc/resolv.conf
cat /etc/shadow; echo "shadow rc=$?"
ls /run/secrets; echo "secrets rc=$?"
echo x > /etc/hostname; echo "etc rc=$?"
echo x > /tmp/t && echo x > /var/tmp/t && echo "scratch ok"
echo x > /dev/null && echo "null ok"
"#;
    each_runtime(|rt| {
        let agent = Agent::start(&[("readonly-root", &ro), ("fixed-dns", &dns)]);
        let b = Bundle::new(
            "agent-ready",
            &["sh", "-c", READY],
            Some(&agent.profile("fixed-dns")),
        );
        std::fs::create_dir_all(b.rootfs().join("run/secrets/kubernetes.io")).unwrap();
        std::fs::create_dir_all(b.rootfs().join("var/tmp")).unwrap();
        let out = b.run(rt, &container_id("ready"));
        assert!(
            out.stdout
                .contains("nameserver 10.96.0.10\nsearch svc.cluster.local cluster.local\n"),
            "{}: {out:?}",
            rt.name()
        );
        for want in [
            "shadow rc=1",
            "secrets rc=1",
            "etc rc=1",
            "scratch ok",
            "null ok",
        ] {
            assert!(out.stdout.contains(want), "{}: {want}: {out:?}", rt.name());
        }
        assert!(
            !out.stdout.contains("SECRET-HASH"),
            "{}: {out:?}",
            rt.name()
        );
    });
}

/// System calls newer than the runtime's libseccomp: a profile names
/// calls, and a runtime skips a name its libseccomp does not know (crun
/// 1.8.1 and runc 1.1.5 with libseccomp 2.5.4 know nothing after 6.6's
/// calls). The trick: call them by number — `fchmodat2` (452, mediated by
/// fdsup), `setxattrat` (463) and `file_setattr` (469), always refused —
/// on a read-only file. None may change it, whichever runtime; the
/// positive control is the same program changing a file in the rw area
/// with `fchmodat` (mediated, and known to every libseccomp). The default
/// that refuses makes the profile allow the rest by name, and a call
/// denied only for some arguments for exactly the others: `TIOCSTI` is
/// still refused (EPERM) and another `ioctl` still reaches the kernel
/// (stdin is no terminal: ENOTTY). The container's own Landlock, which the
/// agent's opens would ignore, fails with ENOSYS (libseccomp 2.5.4 knows
/// its names).
#[test]
fn system_calls_the_runtime_does_not_know_fail_closed() {
    const SRC: &str = r#"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>
struct xattr_args { unsigned long long value; unsigned int size; unsigned int flags; };
struct file_attr { unsigned long long fa_xflags, fa_extsize, fa_nextents, fa_projid, fa_cowextsize; };
int main(void) {
    long r;
    r = syscall(452, AT_FDCWD, "/etc/hostname", 0777, 0);
    printf("fchmodat2 %ld %s\n", r, r ? strerror(errno) : "ok");
    const char v[] = "x";
    struct xattr_args a = { (unsigned long long)(unsigned long)v, 1, 0 };
    r = syscall(463, AT_FDCWD, "/etc/hostname", 0, "user.fdsup", &a, sizeof a);
    printf("setxattrat %ld %s\n", r, r ? strerror(errno) : "ok");
    struct file_attr fa; memset(&fa, 0, sizeof fa);
    fa.fa_xflags = 0x10; /* FS_XFLAG_APPEND */
    r = syscall(469, AT_FDCWD, "/etc/hostname", &fa, sizeof fa, 0);
    printf("file_setattr %ld %s\n", r, r ? strerror(errno) : "ok");
    /* The container's own Landlock: the ABI query (7 here natively) and a
     * restriction (EBADF natively) fail as on a kernel without it. */
    r = syscall(SYS_landlock_create_ruleset, NULL, 0, 1);
    printf("landlock_abi %ld %s\n", r, r < 0 ? strerror(errno) : "ok");
    r = syscall(SYS_landlock_restrict_self, -1, 0);
    printf("landlock_restrict %ld %s\n", r, r ? strerror(errno) : "ok");
    r = ioctl(0, TIOCSTI, "x");
    printf("tiocsti %ld %s\n", r, r ? strerror(errno) : "ok");
    struct termios t;
    r = ioctl(0, TCGETS, &t);
    printf("tcgets %ld %s\n", r, r ? strerror(errno) : "ok");
    /* Source routes: an IPv6 segment-routing header, IP options (the
     * level's high bits are not read by the kernel); other options pass. */
    unsigned char srh[24] = {0, 2, 4, 0, 0, 0, 0, 0, 0x20, 1, 0x0d, 0xb8};
    unsigned char rr[8] = {7, 7, 4, 0, 0, 0, 0, 0};
    int six = socket(AF_INET6, SOCK_DGRAM, 0), four = socket(AF_INET, SOCK_DGRAM, 0), six_val = 6;
    r = setsockopt(six, IPPROTO_IPV6, IPV6_RTHDR, srh, sizeof srh);
    printf("rthdr %ld %s\n", r, r ? strerror(errno) : "ok");
    r = syscall(SYS_setsockopt, six, 0x100000029L, IPV6_RTHDR, srh, sizeof srh);
    printf("rthdr_high %ld %s\n", r, r ? strerror(errno) : "ok");
    r = setsockopt(four, IPPROTO_IP, IP_OPTIONS, rr, sizeof rr);
    printf("ip_options %ld %s\n", r, r ? strerror(errno) : "ok");
    r = setsockopt(six, IPPROTO_IPV6, IPV6_TCLASS, &six_val, sizeof six_val);
    printf("tclass %ld %s\n", r, r ? strerror(errno) : "ok");
    r = setsockopt(four, IPPROTO_IP, IP_TTL, &six_val, sizeof six_val);
    printf("ttl %ld %s\n", r, r ? strerror(errno) : "ok");
    int fd = open("/tmp/mine", O_CREAT | O_WRONLY, 0600);
    r = fd < 0 ? -1 : fchmodat(AT_FDCWD, "/tmp/mine", 0640, 0);
    printf("control %ld %s\n", r, r ? strerror(errno) : "ok");
    struct stat st;
    if (stat("/tmp/mine", &st) == 0) printf("control mode %o\n", st.st_mode & 0777);
    return 0;
}
"#;
    use std::os::unix::fs::PermissionsExt as _;
    each_runtime(|rt| {
        let prog = fdsup_tests::compile_c("agent_newcalls", SRC, &["-static"]);
        let agent = Agent::start(&[("readonly-root", POLICY)]);
        let profile = agent.profile("readonly-root");
        let b = Bundle::new("agent-newcalls", &["/bin/newcalls"], Some(&profile));
        std::fs::copy(&prog, b.rootfs().join("bin/newcalls")).unwrap();
        let target = b.rootfs().join("etc/hostname");
        std::fs::write(&target, "image\n").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = b.run(rt, &container_id("newcalls"));
        let name = rt.name();
        eprintln!("{name}: {}", out.stdout);
        assert!(
            out.stdout.contains("control 0 ok") && out.stdout.contains("control mode 640"),
            "{name}: the positive control changes the rw area: {out:?}"
        );
        let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o644, "{name}: the read-only file's mode: {out:?}");
        assert!(
            out.stdout.contains("tiocsti -1 Operation not permitted"),
            "{name}: TIOCSTI is refused: {out:?}"
        );
        for landlock in ["landlock_abi", "landlock_restrict"] {
            assert!(
                out.stdout
                    .contains(&format!("{landlock} -1 Function not implemented")),
                "{name}: {landlock}: the container's own Landlock is refused: {out:?}"
            );
        }
        for refused in ["rthdr", "rthdr_high", "ip_options"] {
            assert!(
                out.stdout
                    .contains(&format!("{refused} -1 Operation not permitted")),
                "{name}: {refused}: the source route is refused: {out:?}"
            );
        }
        for passed in ["tclass", "ttl"] {
            assert!(
                out.stdout.contains(&format!("{passed} 0 ok")),
                "{name}: {passed}: other socket options pass: {out:?}"
            );
        }
        assert!(
            out.stdout
                .contains("tcgets -1 Inappropriate ioctl for device"),
            "{name}: other ioctls reach the kernel: {out:?}"
        );
        for call in ["fchmodat2", "setxattrat", "file_setattr"] {
            assert!(
                out.stdout
                    .lines()
                    .any(|l| l.starts_with(&format!("{call} -1 "))),
                "{name}: {call} on a read-only file fails: {out:?}"
            );
        }
        let xattr = std::process::Command::new("getfattr")
            .args(["-n", "user.fdsup", "--only-values"])
            .arg(&target)
            .output();
        if let Ok(x) = xattr {
            assert!(
                !x.status.success(),
                "{name}: the read-only file has no new attribute"
            );
        }
    });
}

/// A container's program tries to reach a host file through the agent:
/// an absolute and a relative symbolic link of its image pointing at the
/// host path, `..` past its root (from `/`, from its working directory,
/// from `/proc/self/cwd` and `/proc/self/root`), `/proc/1/root` and a
/// descriptor of its root through `/proc/self/fd/N`. Every path resolves
/// in the container's root: the host file is never read. Positive
/// control: the same tricks aimed at a file of the container's own path
/// (the host file's path, made inside the image) read that file.
#[test]
fn a_container_never_reaches_a_host_file_through_the_agent() {
    const OPEN: &str = r#"{
  "version": 1,
  "filesystem": { "default": "ro", "rules": [ { "path": "/tmp", "access": "rw" } ] },
  "network": { "default": "allow" }
}
"#;
    each_runtime(|rt| {
        let host = fdsup_tests::TempDir::new("agent-escape-host");
        let secret = host.write("secret", "HOST SECRET\n");
        let hp = secret.to_str().unwrap().to_owned();
        let up = "../".repeat(16);
        let script = format!(
            r#"
cat /abslink; echo "abslink rc=$?"
cat /rellink; echo "rellink rc=$?"
cat /{up}{hp}; echo "dotdot rc=$?"
cd /tmp && cat {up}{hp}; echo "cwd rc=$?"
cat /proc/self/cwd/{up}{hp}; echo "proccwd rc=$?"
cat /proc/self/root/{up}{hp}; echo "procroot rc=$?"
cat /proc/1/root/{up}{hp}; echo "pid1root rc=$?"
exec 7< /; cat /proc/self/fd/7/{up}{hp}; echo "fd rc=$?"
"#
        );
        let agent = Agent::start(&[("open", OPEN)]);
        let profile = agent.profile("open");
        let b = Bundle::new("agent-escape", &["sh", "-c", &script], Some(&profile));
        let rootfs = b.rootfs();
        std::os::unix::fs::symlink(&hp, rootfs.join("abslink")).unwrap();
        std::os::unix::fs::symlink(format!("{up}{hp}"), rootfs.join("rellink")).unwrap();
        let name = rt.name();
        // Without the host path inside the image: nothing is read.
        let out = b.run(rt, &container_id("escape"));
        assert!(!out.stdout.contains("HOST SECRET"), "{name}: {out:?}");
        assert_eq!(out.stdout.matches(" rc=1").count(), 8, "{name}: {out:?}");
        // Positive control: the same path made inside the image is the
        // one every trick reaches.
        let inside = rootfs.join(hp.trim_start_matches('/'));
        std::fs::create_dir_all(inside.parent().unwrap()).unwrap();
        std::fs::write(&inside, "CONTAINER FILE\n").unwrap();
        let out = b.run(rt, &container_id("escape-control"));
        assert_eq!(
            out.stdout.matches("CONTAINER FILE").count(),
            8,
            "{name}: {out:?}"
        );
        assert!(!out.stdout.contains("HOST SECRET"), "{name}: {out:?}");
    });
}

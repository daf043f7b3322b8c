//! `fdsup man`: the manual pages, `fdsup(1)`, one page per subcommand
//! (`fdsup-run(1)`, ...) and `fdsup-policy(5)`.
//!
//! The option lists come from the command-line definition (clap_mangen),
//! so they can never disagree with `--help`; the rest — what fdsup does,
//! exit status, signals, environment, files, examples, and the whole
//! policy format — is written here, in roff, as bubblewrap's and
//! firejail's pages are. `tests/tests/functional_policy_tooling.rs` renders
//! them with man(1) and checks their sections.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The page's date and source, as the title line carries them.
const SOURCE: &str = concat!("fdsup ", env!("CARGO_PKG_VERSION"));

/// One page: where it goes (`man1/fdsup.1`) and its roff text.
pub struct Page {
    /// The path below the manual's root.
    pub path: String,
    /// The page.
    pub text: Vec<u8>,
}

/// Every page, for the command-line definition `cmd`.
pub fn pages(cmd: clap::Command) -> std::io::Result<Vec<Page>> {
    let mut cmd = cmd.disable_help_subcommand(true);
    cmd.build();
    let mut out = vec![Page {
        path: "man1/fdsup.1".to_owned(),
        text: main_page(&cmd)?,
    }];
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let man = clap_mangen::Man::new(sub.clone()).source(SOURCE);
        let mut text = Vec::new();
        man.render(&mut text)?;
        write!(
            text,
            ".SH \"SEE ALSO\"\n\\fBfdsup\\fR(1) (exit status, signals, environment, examples), \\fBfdsup\\-policy\\fR(5) (the policy format)\n"
        )?;
        out.push(Page {
            path: format!("man1/{}", man.get_filename()),
            text,
        });
    }
    out.push(Page {
        path: "man5/fdsup-policy.5".to_owned(),
        text: POLICY_PAGE.replace("@SOURCE@", SOURCE).into_bytes(),
    });
    Ok(out)
}

/// Writes every page under `dir`: `dir/man1/...` and `dir/man5/...`; a
/// `dir` named `man1` (as older versions were given) gets the section-1
/// pages itself and its sibling `man5` the others. Returns the files
/// written.
pub fn write_all(cmd: clap::Command, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let root = if dir.file_name().is_some_and(|n| n == "man1") {
        dir.parent().unwrap_or(Path::new(".")).to_path_buf()
    } else {
        dir.to_path_buf()
    };
    let mut written = Vec::new();
    for page in pages(cmd)? {
        let p = root.join(&page.path);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, &page.text)?;
        written.push(p);
    }
    Ok(written)
}

/// The page named `name` (`fdsup`, `fdsup.1`, `fdsup-run`, `fdsup-policy`,
/// `fdsup-policy.5`).
pub fn page(cmd: clap::Command, name: &str) -> std::io::Result<Option<Vec<u8>>> {
    let want = name.trim_end_matches(".1").trim_end_matches(".5");
    Ok(pages(cmd)?.into_iter().find_map(|p| {
        let file = p.path.rsplit('/').next().unwrap_or_default();
        let stem = file.rsplit_once('.').map_or(file, |(s, _)| s);
        (stem == want).then_some(p.text)
    }))
}

/// `fdsup(1)`: clap's title, name, synopsis, subcommands and the options
/// of `run`, around the sections written here.
fn main_page(cmd: &clap::Command) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(cmd.clone()).source(SOURCE);
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    out.extend_from_slice(SYNOPSIS.as_bytes());
    out.extend_from_slice(DESCRIPTION.as_bytes());
    man.render_subcommands_section(&mut out)?;
    if let Some(run) = cmd.get_subcommands().find(|s| s.get_name() == "run") {
        out.extend_from_slice(b".SH \"RUN OPTIONS\"\n");
        let mut opts = Vec::new();
        clap_mangen::Man::new(run.clone()).render_options_section(&mut opts)?;
        // clap titles it OPTIONS; the section above says whose.
        let opts = String::from_utf8_lossy(&opts).replacen(".SH OPTIONS\n", "", 1);
        out.extend_from_slice(opts.as_bytes());
    }
    out.extend_from_slice(REST.as_bytes());
    man.render_version_section(&mut out)?;
    Ok(out)
}

const SYNOPSIS: &str = r#".SH SYNOPSIS
\fBfdsup run\fR [\fB\-\-policy\fR \fIFILE\fR|\fI@name\fR] [\fB\-\-metadata\fR \fIvisible\fR|\fIpolicy\fR] [\fB\-\-log\fR \fIFILE\fR] [\fB\-v\fR|\fB\-q\fR] \fB\-\-\fR \fIPROGRAM\fR [\fIARG\fR...]
.br
\fBfdsup run \-\-learn\fR \fIFILE\fR [\fB\-\-log\fR \fIFILE\fR] \fB\-\-\fR \fIPROGRAM\fR [\fIARG\fR...]
.br
\fBfdsup check\fR \fIFILE\fR|\fI@name\fR
.br
\fBfdsup explain \-\-policy\fR \fIFILE\fR \fIPATH\fR [\fB\-\-write\fR|\fB\-\-exec\fR|\fB\-\-look\fR|\fB\-\-connect\fR \fIADDR\fR]
.br
\fBfdsup doctor\fR
.br
\fBfdsup man\fR [\fIDIR\fR] [\fB\-\-page\fR \fINAME\fR]
.br
\fBfdsup completions\fR \fISHELL\fR
"#;

const DESCRIPTION: &str = r#".SH DESCRIPTION
\fBfdsup\fR runs a program it does not trust with every file it opens,
looks at or changes, and every connection it makes, decided by a JSON
policy (\fBfdsup\-policy\fR(5)).
A supervisor receives the program's path and network system calls through
the seccomp user-notification API (\fBSECCOMP_RET_USER_NOTIF\fR), resolves
each path itself, decides on the canonical path of the object the request
would reach, and carries the request out itself on that very object: an
allowed open is answered with a descriptor fdsup opened and injects into
the program (\fBSECCOMP_IOCTL_NOTIF_ADDFD\fR), so a path that changes under
the program (a racing thread, a swapped symbolic link) cannot make it open
anything the policy refuses. A refused request fails as the policy says:
\fBENOENT\fR for a hidden path, \fBEACCES\fR for a denied one,
\fBECONNREFUSED\fR for a refused connection. Exec is enforced by the kernel
with a Landlock ruleset built from the policy.
.PP
Without \fB\-\-policy\fR the embedded \fB@default\fR applies: the system
read-only (only what any user of the system may read, root or not), the
current directory and \fB$TMPDIR\fR read-write, a private \fI/dev/shm\fR,
the program's own terminals, and no network outside its own loopback.
.PP
\fBfdsup\fR needs no root. It is the direct parent of the program's first
process; when that process exits, whatever it left running in the sandbox
is killed and fdsup exits with its status.
"#;

const REST: &str = r#".SH "EXIT STATUS"
.TP
\fBrun\fR
The program's own exit status; 128+\fIN\fR if it was killed by signal
\fIN\fR; \fB125\fR if fdsup itself failed (a bad policy, a missing kernel
feature, a bad \fBFDSUP_WORKERS\fR, an internal error: the program was not
started, or was killed); \fB126\fR if the program was found but could not
be executed; \fB127\fR if it was not found.
.TP
\fBcheck\fR
0 for a good policy (warnings included), 1 with the located error of a bad
one.
.TP
\fBexplain\fR
As \fBtest\fR(1): 0 if the request would be allowed (served from a
redirect or from memory included), 1 if it would be refused, 2 if fdsup
cannot tell (a bad policy, path or address).
.TP
\fBdoctor\fR
0 if the kernel has every required feature, 1 otherwise.
.SH SIGNALS
SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, and the job-control
stops SIGTSTP, SIGTTIN and SIGTTOU, sent to fdsup are forwarded to the
program. Every signal reaches the program once: fdsup and the program do
not share the process group that group signals go to.
.PP
When fdsup leads its process group (a shell's job), the program gets a
process group of its own, and the terminal, if fdsup has it, is handed to
that group for the run and taken back at the end, as a shell does for a
job: the terminal's Ctrl-C, Ctrl-\e and Ctrl-Z reach the program only, and
it reads the terminal as it would natively. When the program stops
(Ctrl-Z, a read from the terminal in the background), fdsup takes the
terminal back and stops in the same way, so that the shell sees the job
stopped; \fBfg\fR and \fBbg\fR continue both.
.PP
When a script, \fBmake\fR(1), \fBtimeout\fR(1) or a test runner starts
fdsup in its own process group, the program stays in that group and fdsup
moves to a group of its own.
.PP
A signal that a process of the sandbox sends (to fdsup or to a group) is
never forwarded back to the program.
In a pipeline that fdsup leads on a terminal (\fBfdsup run ... | less\fR)
fdsup shares its group with the program and forwards neither the
terminal's signals nor those of the group's processes; a signal that a
process outside sends to that whole group then reaches the program twice.
.SH ENVIRONMENT
.TP
\fBFDSUP_WORKERS\fR
The number of worker threads, 1 to 64 (default: the number of CPUs, at
least 4, at most 16). One receives requests at a time; the others wait
until requests of several tasks or a slow request call for them. Any
other value is refused with exit status 125 before the program starts.
.TP
\fBTMPDIR\fR
The temporary directory: \fB${TMPDIR}\fR in policies (default
\fI/tmp\fR), read-write under \fB@default\fR; where fdsup makes the run's
private \fI/dev/shm\fR and the directories on the way to virtual files
(removed when the run ends).
.TP
\fBHOME\fR
\fB${HOME}\fR in policies.
.TP
\fBPATH\fR
Where \fIPROGRAM\fR is looked up, as a shell inside the sandbox would: an
entry the policy hides or denies is skipped for the next one.
.PP
The environment is otherwise passed to the program unchanged.
.SH FILES
.TP
\fIpolicies/\fR
Ready policies in the source tree (\fIpython.json\fR, \fIbuild.json\fR,
\fIgit.json\fR, \fIshell.json\fR, \fIstrict.json\fR) and
\fIpolicies/schema.json\fR, the JSON Schema of the format, for editors.
.TP
\fB\-\-log\fR \fIFILE\fR, \fB\-\-learn\fR \fIFILE\fR
Created mode 0600 whatever the umask, never through a symbolic link (one
there is refused with exit status 125); a log is appended to, a learned
policy written beside its name and renamed into place, never over an
existing file.
.TP
\fI$TMPDIR/fdsup\-PID\-shm\-*\fR, \fI$TMPDIR/fdsup\-PID\-virtual\-*\fR
The run's private \fI/dev/shm\fR and its skeleton of directories on the way
to virtual files; removed at the end (left behind if fdsup is killed with
SIGKILL).
.SH EXAMPLES
.TP
\fBfdsup run \-\- make\fR
Build in the current directory under \fB@default\fR: the system read-only,
this directory and \fB$TMPDIR\fR read-write, no network.
.TP
\fBfdsup run \-\-metadata visible \-\- make\fR
The same with \fBstat\fR(2), \fBaccess\fR(2), \fBreadlink\fR(2) and
listings left to the kernel (near native speed; names and metadata of every
path visible, contents and changes still decided).
.TP
\fBfdsup run \-v \-\-log audit.jsonl \-\-policy policies/python.json \-\- python3 script.py\fR
Run a script under a ready policy, print each refusal once, and log every
refused request as a JSON line.
.TP
\fBfdsup run \-\-learn my.json \-\- ./tool \-\-flag\fR
Run with everything allowed and mediated, then write \fImy.json\fR, a policy
that allows what the tool used; \fBfdsup run \-\-policy my.json \-\- ./tool
\-\-flag\fR then runs it with nothing else.
.TP
\fBfdsup explain \-\-policy my.json ~/.ssh/id_ed25519 && echo readable\fR
Which rule decides a read of the key, and why; the exit status says
whether it would be allowed.
.TP
\fBfdsup check my.json\fR
The merged rules with their origins (file:line), and warnings for rules
that never win and paths that do not exist.
.TP
\fBfdsup man /usr/local/share/man\fR
Install these pages (\fIman1/fdsup.1\fR, one per subcommand,
\fIman5/fdsup\-policy.5\fR); \fBscripts/install\-docs\fR does it with the
shell completions.
.SH "SEE ALSO"
\fBfdsup\-policy\fR(5), \fBfdsup\-run\fR(1), \fBfdsup\-check\fR(1),
\fBfdsup\-explain\fR(1), \fBfdsup\-doctor\fR(1), \fBseccomp_unotify\fR(2),
\fBlandlock\fR(7), \fBbwrap\fR(1), \fBfirejail\fR(1)
"#;

const POLICY_PAGE: &str = r#".TH fdsup-policy 5 "" "@SOURCE@" "File Formats"
.SH NAME
fdsup\-policy \- the policy files of fdsup(1)
.SH SYNOPSIS
.nf
{
  "version": 1,
  "include": ["@default"],
  "filesystem": {
    "default": "hide",
    "metadata": "policy",
    "rules": [
      { "path": "${CWD}", "access": "rw" },
      { "path": "${HOME}/.ssh", "access": "hide" },
      { "path": "/etc", "access": "ro", "public": true },
      { "path": "/etc/hostname", "redirect": "/srv/fake/hostname" },
      { "path": "/run/fdsup/hello", "content": "hello\en" },
      { "path": "/dev/shm", "private": true }
    ]
  },
  "network": {
    "default": "deny",
    "isolate": true,
    "rules": [
      { "connect": "127.0.0.1:8080" },
      { "connect": "192.0.2.10:80", "redirect": "127.0.0.1:8080" },
      { "bind": "unix:${CWD}/**" }
    ]
  },
  "exec": { "default": "allow",
            "rules": [ { "path": "/usr/bin/sudo", "access": "deny" } ] },
  "log": { "denied": true, "allowed": false }
}
.fi
.SH DESCRIPTION
A policy is one JSON object. Unknown fields, duplicate keys, wrong types
and bad values are errors, never ignored; \fBfdsup check\fR and
\fBfdsup run\fR report them with the file, line and column and the field's
path. Any object may carry a \fB"comment"\fR string, and the top level a
\fB"$schema"\fR string (for editors); both are otherwise ignored.
\fIpolicies/schema.json\fR in the source tree is the JSON Schema of the
format.
.SS "Top level"
.TP
\fBversion\fR (required)
The number 1.
.TP
\fBinclude\fR
Policies merged before this one, in order: \fB@name\fR for an embedded
policy (below), anything else a file path relative to the including file.
Cycles are errors. The rules of included policies come first, so this
file's rules win; its \fBdefault\fR, \fBmetadata\fR, \fBisolate\fR and
\fBlog\fR settings override theirs.
.TP
\fBfilesystem\fR, \fBnetwork\fR, \fBexec\fR, \fBlog\fR
The sections below; each is optional.
.SS Variables
Rule paths and redirect targets may use \fB${CWD}\fR (the directory fdsup
was started in), \fB${HOME}\fR, \fB${TMPDIR}\fR (default \fI/tmp\fR) and
\fB${UID}\fR. An unknown variable is an error. Paths are absolute after
expansion; a relative redirect target is resolved against the policy
file's directory.
.SS Matching
A rule's path matches that path and everything below it. \fB*\fR matches
within one component, \fB**\fR zero or more whole components.
\fBThe last rule that matches wins\fR; where none matches, the section's
\fBdefault\fR applies (as in \fI.gitignore\fR: broad rules first,
exceptions after). Requests are matched on the canonical path of the object
they would reach: \fB..\fR, symbolic links (as the system call would follow
them), \fI/proc/self\fR, \fI/proc/<pid>/root\fR, \fI/proc/<pid>/cwd\fR and
\fI/proc/<pid>/fd/N\fR are resolved first, so that a link can never reach
what its canonical path would not. Rule paths are canonicalised when the
policy is loaded (\fI/lib\fR becomes \fI/usr/lib\fR on merged-/usr
systems). The program's own processes' \fI/proc/<pid>\fR is matched as
\fI/proc/self\fR; other processes' does not exist for it.
.SH "THE FILESYSTEM SECTION"
.TP
\fBdefault\fR
For paths no rule matches: \fBro\fR, \fBrw\fR, \fBdeny\fR or \fBhide\fR
(\fBdeny\fR unless an include sets it). A directory that only the default
hides or denies, with a rule that shows something below it, is visible
read-only: it can be entered and listed, and lists what is not hidden.
.TP
\fBmetadata\fR
Who answers the looks at paths: \fBstat\fR(2) and its forms,
\fBaccess\fR(2), \fBreadlink\fR(2), \fBstatfs\fR(2), \fBchdir\fR(2) and
directory listings. \fBpolicy\fR (the default): the rules decide them, so a
hidden path is absent to them too. \fBvisible\fR: the kernel answers them
at native speed, so the names and metadata (type, size, times, owner,
mode, link target) of every path are visible, hidden and denied ones
included. Every open, change, exec and the network stay decided in both
modes. \fBfdsup run \-\-metadata\fR overrides it for a run.
.TP
\fBrules\fR
An array of rules, each a \fBpath\fR with one of the forms below, and an
optional \fBcomment\fR.
.SS "Rule forms"
.TP
\fB"access": "ro"\fR
Read, list, stat, execute.
.TP
\fB"access": "rw"\fR
Also every change: create, write, truncate, delete, rename, link, mknod of
regular files and FIFOs, chmod, chown, times, extended attributes. A rename
needs \fBrw\fR on both ends; a hard link needs \fBrw\fR on the source and
on the target's directory.
.TP
\fB"access": "deny"\fR
Every request fails with \fBEACCES\fR.
.TP
\fB"access": "hide"\fR
Every request fails with \fBENOENT\fR, as if the path were absent; a hidden
entry is also left out of its directory's listing.
.TP
\fB"access": "ro", "public": true\fR
Only what any user of the system may read, whoever runs fdsup: an open is
served if the object's permission bits for \fIothers\fR allow it (read for
a read, an \fBO_PATH\fR open or a listing) and every directory from
\fI/\fR down to it lets others search it; anything else fails with
\fBEACCES\fR, as for an unprivileged user (\fBaccess\fR(2) with
\fBR_OK\fR answers the same). fdsup opens with the credentials of the user
who runs it, so without \fBpublic\fR an \fBro\fR rule for \fI/etc\fR run
as root serves \fI/etc/shadow\-\fR and \fI/etc/ssl/private/*\fR. Looks and
exec are not affected.
.TP
\fB"redirect": "\fITARGET\fB"\fR [\fB"access": "rw"\fR]
The path is served by opening \fITARGET\fR instead: the program sees the
target's contents under the original name. Read-only unless \fB"access":
"rw"\fR is given.
.TP
\fB"content": "\fITEXT\fB"\fR
The path is served from a sealed in-memory file holding \fITEXT\fR,
read-only. The directories on the way to a \fBcontent\fR or \fBredirect\fR
path that do not exist are listable and show it.
.TP
\fB"private": true\fR
The path, one directory, is served by a directory of the run's own: made
empty (mode 0700, in \fB$TMPDIR\fR) at the first request that needs it,
read-write, and removed with what is in it when the run ends. The host's
directory there is never reached. A path the program writes under it is
rewritten to the private directory before it is resolved, and decided on
the name the program used. \fB@system\fR says it for \fI/dev/shm\fR.
.PP
Exec: a file may be executed where the file system lets the program read it
(\fBro\fR or \fBrw\fR; not \fBhide\fR, \fBdeny\fR, \fBcontent\fR,
\fBredirect\fR or \fBprivate\fR, since the kernel would run the real file)
and the exec section allows it.
.SH "THE NETWORK SECTION"
.TP
\fBdefault\fR
\fBallow\fR or \fBdeny\fR (\fBdeny\fR unless set), for requests no rule
matches. A section that is only a \fBdeny\fR default, without
\fBisolate\fR, also refuses \fBsocket\fR(2) for every family but
\fBAF_UNIX\fR and routing netlink.
.TP
\fBisolate\fR
\fBtrue\fR runs the program in a network namespace of its own with only its
own loopback: its processes serve and connect to each other there, and
nothing outside is reachable but what the rules allow, which fdsup
connects from its own namespace and installs over the program's socket at
the same descriptor number.
.TP
\fBrules\fR
An array of rules, each a \fBconnect\fR or a \fBbind\fR address, an
\fBaccess\fR (\fBallow\fR, the default for a rule, or \fBdeny\fR), an
optional \fBredirect\fR and \fBcomment\fR. A \fBconnect\fR rule decides
\fBconnect\fR(2) and every send with a destination address (\fBsendto\fR,
\fBsendmsg\fR, \fBsendmmsg\fR, TCP Fast Open); a \fBbind\fR rule decides
\fBbind\fR(2). The last matching rule wins.
.SS "Addresses"
\fIIP\fB:\fIPORT\fR, \fB[\fIIPv6\fB]:\fIPORT\fR, \fICIDR\fB:\fIPORT\fR
(\fIPORT\fR may be \fB*\fR), \fBunix:\fI/path\fR (a Unix socket path,
matched on its canonical path as file rules are), \fBunix:@\fIname\fR (an
abstract socket). An IPv4-mapped IPv6 address is matched as the IPv4
address. A \fBredirect\fR sends the connection (or datagram) to another
address of the same family.
.PP
A denied connect fails with \fBECONNREFUSED\fR, a denied send or bind with
\fBEACCES\fR. A Unix socket path is also a path: connecting to it is
decided as an open of it, binding as the creation of a file there.
.SH "THE EXEC SECTION"
.TP
\fBdefault\fR
\fBallow\fR (unless set) or \fBdeny\fR.
.TP
\fBrules\fR
Each a \fBpath\fR and an \fBaccess\fR (\fBallow\fR or \fBdeny\fR), matched
on the canonical path of the executable (for \fBexecveat\fR of a
descriptor, of what it refers to; a memfd has no path and follows the
default). A denied exec fails with \fBEACCES\fR. The system's ELF
interpreter counts as allowed unless a rule denies it by path. A program
that can read a file can still load it by other means (the dynamic loader,
an interpreter): to keep a file from running, deny reading it.
.SH "THE LOG SECTION"
.TP
\fBdenied\fR
Write refused requests to the \fB\-\-log\fR file (default \fBtrue\fR).
.TP
\fBallowed\fR
Write allowed requests too (default \fBfalse\fR).
.PP
Each line is one JSON object: \fBts\fR, \fBpid\fR, \fBsyscall\fR,
\fBpath\fR (canonical) or \fBaddr\fR, \fBflags\fR where the call has them,
\fBdecision\fR (\fBallow\fR, \fBdeny\fR, \fBhide\fR, \fBredirect\fR,
\fBcontent\fR), \fBerrno\fR when refused, and \fBrule\fR (the deciding
rule's \fIfile\fB:\fIline\fR, or \fBdefault\fR).
.SH "EMBEDDED POLICIES"
.TP
\fB@system\fR
Read-only and \fBpublic\fR: \fI/usr\fR, \fI/lib\fR, \fI/lib64\fR,
\fI/bin\fR, \fI/sbin\fR, \fI/opt\fR, \fI/etc\fR (with \fI/etc/shadow\fR,
\fI/etc/gshadow\fR, \fI/etc/sudoers*\fR and \fI/etc/ssh/*key*\fR hidden),
\fI/proc/cpuinfo\fR, \fI/proc/meminfo\fR, \fI/proc/stat\fR,
\fI/proc/filesystems\fR, \fI/proc/uptime\fR, \fI/proc/loadavg\fR,
\fI/proc/version\fR, \fI/proc/sys/kernel\fR, \fI/proc/sys/vm\fR,
\fI/proc/sys/fs\fR, \fI/proc/sys/net/core/somaxconn\fR,
\fI/sys/devices/system/cpu\fR, \fI/sys/devices/system/node\fR,
\fI/sys/kernel/mm/transparent_hugepage\fR; read-only \fI/proc/self\fR;
read-write \fI/dev/null\fR, \fI/dev/zero\fR, \fI/dev/full\fR,
\fI/dev/random\fR, \fI/dev/urandom\fR, \fI/dev/tty\fR, \fI/dev/ptmx\fR and
\fI/dev/pts\fR (the sandbox's own terminals only); \fI/dev/shm\fR
private. Everything else hidden.
.TP
\fB@default\fR
\fB@system\fR, \fB${CWD}\fR and \fB${TMPDIR}\fR read-write, no network
outside the program's own loopback (\fBisolate\fR). Used without
\fB\-\-policy\fR.
.TP
\fB@allow\-all\fR
Everything allowed and mediated, for \fB\-\-log\fR and \fB\-\-learn\fR.
.TP
\fB@network\-loopback\fR
Connect and bind on 127.0.0.0/8 and [::1]; a part to include (after
\fB@default\fR), not a policy to run alone.
.SH "ALWAYS ENFORCED"
Whatever the policy says: other processes' \fI/proc/<pid>\fR is hidden; a
terminal under \fI/dev/pts\fR that is not the sandbox's own (the one fdsup
was started on, or one whose master a sandboxed process holds) is hidden;
\fBptrace\fR, \fBmount\fR, \fBbpf\fR, \fBio_uring_setup\fR, new namespaces
and the other calls listed in \fBfdsup\fR's README fail with \fBEPERM\fR;
the program's own Landlock (\fBlandlock_create_ruleset\fR and the other
two) fails with \fBENOSYS\fR, as on a kernel without it: fdsup's opens
could not honour it;
\fBTIOCSTI\fR and \fBTIOCLINUX\fR fail with \fBEPERM\fR; source routes
(\fBIPV6_RTHDR\fR, and \fBIP_OPTIONS\fR when fdsup holds \fBCAP_NET_RAW\fR,
as socket options or control messages) fail with \fBEPERM\fR; the x32 and i386
system-call ABIs kill the process.
.SH EXAMPLES
A build that may not touch the repository's hooks:
.PP
.nf
{ "version": 1, "include": ["@default"],
  "filesystem": { "rules": [
    { "path": "${CWD}/.git/hooks", "access": "ro" } ] } }
.fi
.PP
A test suite that talks to a local database:
.PP
.nf
{ "version": 1, "include": ["@default", "@network-loopback"] }
.fi
.PP
An unknown binary that may read only the current directory:
.PP
.nf
{ "version": 1, "include": ["@system"],
  "filesystem": { "rules": [ { "path": "${CWD}", "access": "ro" } ] },
  "exec": { "default": "deny",
            "rules": [ { "path": "${CWD}", "access": "allow" } ] } }
.fi
.SH "SEE ALSO"
\fBfdsup\fR(1), \fBfdsup\-check\fR(1), \fBfdsup\-explain\fR(1)
"#;

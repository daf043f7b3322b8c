//! The policy's `exec` section, enforced by the kernel: a Landlock ruleset
//! that grants `LANDLOCK_ACCESS_FS_EXECUTE` on exactly the files SPEC.md
//! lets the program execute.
//!
//! Exec cannot be emulated (DESIGN.md "Exec"): the kernel must run it, and
//! it reads the path itself, after any check of ours. So the decision is
//! made by the kernel, race-free: the supervisor builds a ruleset from the
//! policy, the shim calls `landlock_restrict_self` on it before its seccomp
//! filters, and the `execve` notification ([`crate::handlers::exec`]) only
//! logs and gives a clear errno; a path swapped after it is still checked by
//! Landlock. Only `EXECUTE` is handled: every read and write is emulated by
//! the supervisor, which is not Landlocked.
//!
//! **The executable set** ([`ExecSet`]): a file with a canonical path may be
//! executed iff
//! - the file-system section lets the program read it (`ro` or `rw`; `hide`
//!   and `deny` do not, and neither do `content` and `redirect`: the kernel
//!   would run the real file, not what the program sees under that name), and
//! - the exec section allows it (the last matching rule, else `default`).
//!
//! One addition, which SPEC.md leaves open: the system's ELF interpreters
//! (`/lib64/ld-linux-x86-64.so.2`, musl's) count as allowed by an implicit
//! rule placed before the policy's own exec rules. The kernel opens the
//! interpreter of every dynamically linked program for execution, so under
//! `"default": "deny"` with `/usr/bin` allowed nothing would run otherwise;
//! and running the loader directly (`ld.so PROGRAM`) gives nothing SPEC.md
//! does not already grant ("a program that can read a file can still load
//! it by other means"). A policy can still deny it by an explicit rule.
//!
//! A file without a path: a memfd follows the exec `default` (SPEC.md);
//! Landlock does not cover memfds (they live on an internal mount), so where
//! the default is `deny`, `memfd_create` is brokered
//! ([`crate::handlers::memfd`]) and every memfd the program makes is
//! non-executable (`MFD_NOEXEC_SEAL`). Shared anonymous memory (a
//! `MAP_SHARED|MAP_ANONYMOUS` or `/dev/zero` mapping, SysV shm) is the same
//! kind of file, executable by its `/proc/<pid>/map_files/` link, which the
//! kernel resolves for `CAP_SYS_ADMIN` or `CAP_CHECKPOINT_RESTORE` only; as
//! the exec handler's refusal of such a path does not bind the kernel (a
//! racing thread rewrites the path after it), the shim drops both where the
//! default is `deny` ([`fdsup_shim::protocol::DROP_MAP_FILES_CAPS`]). A
//! deleted file is decided on the path it had, which is what Landlock checks
//! (the rules of the directory it was in).
//!
//! **From the set to rules** ([`expand`]): Landlock grants a right on a file
//! or a directory tree that exists when the rule is added, and cannot say
//! "this tree except that file". So the planner walks the file system from
//! `/`, only where rules make a difference: a path whose whole tree is
//! decided alike is one rule (or none); a directory with an exception below
//! it is listed and each child decided on its own, recursively. Globs in
//! exceptions are matched on the names found. A `**` exception can need the
//! whole tree listed: the walk is bounded (entries listed, rules, depth), and
//! a directory past the bounds is left out: exec is refused below it, and
//! the handler says so in the log. Files created after the start in a
//! directory that had to be listed are not executable (they have no rule).
//!
//! **The system calls**: [`build`] creates the ruleset with the `landlock`
//! crate (by the Landlock maintainers), which checks what the kernel
//! supports, and takes its descriptor out for the shim. Two calls stay
//! outside it: the rules are added with `landlock_add_rule` directly
//! (`crate::sys`), as the crate `fstat`s every path it is given (to drop
//! directory-only rights from a file's, which `EXECUTE` is not), one system
//! call in four of some 140 rules on the start-up's path; and the shim's
//! `landlock_restrict_self` on the descriptor it receives (`fdsup_shim::sys`),
//! since the crate restricts only with a `RulesetCreated` it made in the
//! same process and has no way to adopt a received descriptor.
//!
//! When every readable file is executable and the section allows every exec
//! (`@allow-all`, or a policy without restrictions), no ruleset is built and
//! exec is not trapped at all ([`needs_ruleset`]).

pub mod expand;

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use landlock::{
    AccessFs, CompatLevel, Compatible, LandlockStatus, Ruleset, RulesetAttr, RulesetError,
};

use crate::policy::{ExecAccess, FsAccess, FsAction, Origin, Pattern, Policy};

pub use expand::{Grant, LeftOut, Limits, Plan};

/// The file where the implicit rules for ELF interpreters "come from", as
/// the audit log's `rule` shows it.
pub const ELF_INTERPRETER_ORIGIN: &str = "@elf-interpreter";

/// The "rule" the audit log names for an exec the policy allows but the
/// ruleset had to leave out (see the module docs).
pub const LEFT_OUT_ORIGIN: &str = "@exec-left-out";

/// The x86_64 ELF interpreters named in the `PT_INTERP` of programs: glibc's
/// and musl's. Canonicalised when the set is built; missing ones are skipped.
const ELF_INTERPRETERS: [&str; 2] = ["/lib64/ld-linux-x86-64.so.2", "/lib/ld-musl-x86_64.so.1"];

/// Does the file-system decision let the program read the file?
pub fn readable(action: &FsAction) -> bool {
    matches!(action, FsAction::Access(FsAccess::Ro | FsAccess::Rw))
}

/// Whether the policy leaves something not executable, so that a ruleset
/// (and the exec notification) is needed: false only when every path is
/// readable by every rule and the default, and every exec is allowed.
pub fn needs_ruleset(p: &Policy) -> bool {
    let fs_all = matches!(p.fs.default, FsAccess::Ro | FsAccess::Rw)
        && p.fs.rules.iter().all(|r| readable(&r.action));
    let exec_all = p.exec.default == ExecAccess::Allow
        && p.exec.rules.iter().all(|r| r.access == ExecAccess::Allow);
    !(fs_all && exec_all)
}

/// One exec rule as decisions see it.
#[derive(Debug, Clone)]
pub struct ExecRule {
    /// What it matches.
    pub pattern: Pattern,
    /// Allowed or denied.
    pub access: ExecAccess,
    /// Where it was written (or [`ELF_INTERPRETER_ORIGIN`]).
    pub origin: Origin,
}

/// How an exec of a readable path is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecOutcome<'a> {
    /// Allowed, by this rule (`None`: the default).
    Allow(Option<&'a Origin>),
    /// Denied, by this rule (`None`: the default).
    Deny(Option<&'a Origin>),
    /// The policy allows it, but it lies in a directory the ruleset had to
    /// leave out: the kernel refuses it, and so do we.
    LeftOut,
}

/// The exec side of the policy: the exec rules (the implicit ones for ELF
/// interpreters first), the default, and what the ruleset left out.
#[derive(Debug, Clone)]
pub struct ExecSet {
    /// The rules, in order (the last match wins).
    pub rules: Vec<ExecRule>,
    /// Applies where no rule matches.
    pub default: ExecAccess,
    /// Directories under which the ruleset grants nothing though the policy
    /// may allow (see the module docs).
    pub left_out: Vec<Vec<u8>>,
    /// Exec is mediated: a ruleset is installed and `execve` is trapped.
    pub mediated: bool,
    /// `memfd_create` is brokered (the exec default is `deny`).
    pub broker_memfd: bool,
    /// The kernel makes non-executable memfds (`MFD_NOEXEC_SEAL`); probed
    /// only where `memfd_create` is brokered.
    pub memfd_noexec_seal: bool,
}

impl ExecSet {
    /// The exec set of `p`, before any planning (nothing left out).
    pub fn new(p: &Policy) -> Self {
        let mut rules = Vec::with_capacity(p.exec.rules.len() + ELF_INTERPRETERS.len());
        for path in ELF_INTERPRETERS {
            let Ok(real) = std::fs::canonicalize(path) else {
                continue;
            };
            let Some(real) = real.to_str() else { continue };
            if let Ok(pattern) = Pattern::new(real) {
                rules.push(ExecRule {
                    pattern,
                    access: ExecAccess::Allow,
                    origin: Origin::new(ELF_INTERPRETER_ORIGIN, 0),
                });
            }
        }
        rules.extend(p.exec.rules.iter().map(|r| ExecRule {
            pattern: r.pattern.clone(),
            access: r.access,
            origin: r.origin.clone(),
        }));
        let mediated = needs_ruleset(p);
        let broker_memfd = mediated && p.exec.default == ExecAccess::Deny;
        Self {
            rules,
            default: p.exec.default,
            left_out: Vec::new(),
            mediated,
            broker_memfd,
            memfd_noexec_seal: broker_memfd && crate::probe::memfd_noexec_seal(),
        }
    }

    /// The exec section's word on `path` (absolute, canonical), the file
    /// system having allowed reading it.
    pub fn decide(&self, path: &[u8]) -> ExecOutcome<'_> {
        let (access, origin) = match self.rules.iter().rev().find(|r| r.pattern.matches(path)) {
            Some(r) => (r.access, Some(&r.origin)),
            None => (self.default, None),
        };
        match access {
            ExecAccess::Deny => ExecOutcome::Deny(origin),
            ExecAccess::Allow if self.is_left_out(path) => ExecOutcome::LeftOut,
            ExecAccess::Allow => ExecOutcome::Allow(origin),
        }
    }

    /// Whether `path` is in (or is) a directory the ruleset left out.
    pub fn is_left_out(&self, path: &[u8]) -> bool {
        self.left_out.iter().any(|d| under(path, d))
    }
}

/// Is `path` the directory `dir` or below it (component-wise)?
pub fn under(path: &[u8], dir: &[u8]) -> bool {
    if dir == b"/" {
        return path.first() == Some(&b'/');
    }
    path.strip_prefix(dir)
        .is_some_and(|rest| rest.is_empty() || rest.first() == Some(&b'/'))
}

/// Why no ruleset could be made.
#[derive(Debug, thiserror::Error)]
pub enum LandlockError {
    /// The kernel has no Landlock (or it is disabled).
    #[error("the kernel has no Landlock (Linux 5.13 or later, enabled with lsm=...,landlock)")]
    Missing(#[source] io::Error),
    /// Creating the ruleset or adding a rule failed.
    #[error("{what}")]
    Failed {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: io::Error,
    },
}

/// The Landlock ABI version, or why Landlock cannot be used (`ENOSYS`: not
/// built in; `EOPNOTSUPP`: disabled at boot). For `fdsup doctor` and the
/// tests; `fdsup run` finds the same when it builds its ruleset.
///
/// The `landlock` crate keeps its version query private (its authors want
/// programs to ask for rights, not to branch on the version) and reports
/// the version only in the status `restrict_self` returns. So the query
/// restricts a thread made for it alone, which runs nothing and ends here:
/// a domain that handles `EXECUTE` and grants nothing. Landlock domains and
/// `no_new_privs` belong to the thread, so no other thread is touched.
pub fn abi() -> Result<u32, LandlockError> {
    let failed = |what| {
        move |e: RulesetError| LandlockError::Failed {
            what,
            source: io::Error::other(e),
        }
    };
    let probe = std::thread::Builder::new()
        .name("landlock-abi".into())
        .spawn(|| {
            Ruleset::default()
                .handle_access(AccessFs::Execute)?
                .create()?
                .restrict_self()
        })
        .map_err(|source| LandlockError::Failed {
            what: "starting the Landlock probe thread",
            source,
        })?;
    let status = probe
        .join()
        .map_err(|_| LandlockError::Failed {
            what: "probing Landlock",
            source: io::Error::other("the probe thread panicked"),
        })?
        .map_err(failed("restricting the Landlock probe thread"))?;
    match status.landlock {
        // The kernel's own version where it is newer than the crate knows.
        LandlockStatus::Available {
            effective_abi,
            kernel_abi,
        } => Ok(kernel_abi.map_or(effective_abi as u32, i32::unsigned_abs)),
        LandlockStatus::NotEnabled => Err(LandlockError::Missing(io::Error::from_raw_os_error(
            libc::EOPNOTSUPP,
        ))),
        LandlockStatus::NotImplemented => Err(LandlockError::Missing(
            io::Error::from_raw_os_error(libc::ENOSYS),
        )),
    }
}

/// Everything a run needs for exec: where exec is mediated, plans and builds
/// the ruleset, and records in `exec` what it left out. `warn` prints one
/// line per directory left out for its size or depth (the program cannot
/// execute anything there). `None` when the policy does not limit exec.
pub fn prepare(
    p: &Policy,
    exec: &mut ExecSet,
    warn: bool,
) -> Result<Option<OwnedFd>, LandlockError> {
    if !exec.mediated {
        return Ok(None);
    }
    let plan = expand::plan(p, exec, Limits::default());
    crate::timeline::mark("landlock plan");
    if warn {
        for (dir, why) in &plan.left_out {
            let why = match why {
                LeftOut::TooMany => "its exceptions need too many Landlock rules",
                LeftOut::TooDeep => "it lies too deep for the exceptions above it",
                // Unreadable to us: as to the program, which runs as we do.
                LeftOut::Unreadable(_) => continue,
            };
            crate::diag!(
                "fdsup: exec is refused below {} ({why}; see README \"Limits\")",
                String::from_utf8_lossy(dir)
            );
        }
    }
    exec.left_out = plan.left_out.iter().map(|(d, _)| d.clone()).collect();
    build(&plan).map(Some)
}

/// Sends the last hand-off message ([`fdsup_shim::protocol`]): whether the
/// shim is to restrict itself with a ruleset, with its descriptor attached
/// (`SCM_RIGHTS`). This `sendmsg` is ours, and the shim's `recvmsg` is not
/// a mediated call, so neither can wait for a supervisor although the shim's
/// filters are in place by then.
pub fn send_ruleset(
    sock: std::os::fd::BorrowedFd<'_>,
    ruleset: Option<&OwnedFd>,
) -> io::Result<()> {
    use rustix::net::{sendmsg, SendAncillaryBuffer, SendAncillaryMessage, SendFlags};
    use std::os::fd::AsFd;
    let msg = fdsup_shim::protocol::encode_ruleset(ruleset.is_some());
    let iov = [io::IoSlice::new(&msg)];
    let fds = ruleset.map(|r| [r.as_fd()]);
    let mut space = [std::mem::MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    loop {
        let mut control = SendAncillaryBuffer::new(&mut space);
        if let Some(fds) = &fds {
            if !control.push(SendAncillaryMessage::ScmRights(fds)) {
                return Err(io::Error::from_raw_os_error(libc::EINVAL));
            }
        }
        match sendmsg(sock, &iov, &mut control, SendFlags::NOSIGNAL) {
            Ok(n) if n == msg.len() => return Ok(()),
            Ok(_) => return Err(io::Error::from_raw_os_error(libc::EIO)),
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
}

/// Creates the ruleset for `plan`: `EXECUTE` handled, and granted beneath
/// each of its paths. Each path is opened without following symbolic links
/// (they were decided as the objects they name); one that is gone, has
/// become a symbolic link, or, for a single-file grant, a directory, is
/// skipped: the ruleset then grants less, never more.
///
/// Created with the `landlock` crate as a hard requirement: a kernel
/// without Landlock is an error, never a ruleset that restricts nothing.
/// The crate hands the descriptor over (`Option<OwnedFd>::from`); the rules
/// go in with `landlock_add_rule` directly (see the module docs), and the
/// shim restricts itself with it after the fork ([`send_ruleset`]).
pub fn build(plan: &Plan) -> Result<OwnedFd, LandlockError> {
    let failed = |what| {
        move |e: RulesetError| LandlockError::Failed {
            what,
            source: io::Error::other(e),
        }
    };
    let ruleset = Ruleset::default()
        .set_compatibility(CompatLevel::HardRequirement)
        .handle_access(AccessFs::Execute)
        .map_err(|e| match abi() {
            // Why: not built in, or disabled.
            Err(missing @ LandlockError::Missing(_)) => missing,
            _ => LandlockError::Missing(io::Error::other(e)),
        })?
        .create()
        .map_err(failed("creating the Landlock ruleset"))?;
    let ruleset = Option::<OwnedFd>::from(ruleset).ok_or_else(|| LandlockError::Failed {
        what: "creating the Landlock ruleset",
        source: io::Error::other("the landlock crate returned no descriptor"),
    })?;
    let mut cpath = Vec::with_capacity(libc::PATH_MAX as usize);
    for g in &plan.grants {
        cpath.clear();
        cpath.extend_from_slice(&g.path);
        cpath.push(0);
        let Ok(c) = std::ffi::CStr::from_bytes_with_nul(&cpath) else {
            continue;
        };
        let how = crate::sys::OpenHow {
            flags: u64::from((libc::O_PATH | libc::O_CLOEXEC).unsigned_abs()),
            mode: 0,
            resolve: crate::sys::RESOLVE_NO_SYMLINKS,
        };
        // A symbolic link fails here (ELOOP): never granted.
        let Ok(fd) = crate::sys::openat2(libc::AT_FDCWD, c, &how) else {
            continue;
        };
        // A whole tree may be anything (whatever it holds is granted); a
        // single file must still be one.
        if !g.tree
            && crate::sys::fstat_mode(fd.as_fd())
                .map_or(true, |m| m & libc::S_IFMT != libc::S_IFREG)
        {
            continue;
        }
        crate::sys::landlock_add_path_beneath(ruleset.as_fd(), fd.as_fd(), EXECUTE).map_err(
            |source| LandlockError::Failed {
                what: "adding a Landlock rule",
                source,
            },
        )?;
    }
    Ok(ruleset)
}

/// `LANDLOCK_ACCESS_FS_EXECUTE` (include/uapi/linux/landlock.h), the only
/// right the ruleset handles.
const EXECUTE: u64 = 1;

#[cfg(test)]
mod tests;

//! Deciding an address: the network rules, and for a Unix socket path the
//! file system rules first.
//!
//! A Unix socket path is a path: a `connect` (or a send) to it is decided as
//! an open of that path (hidden: `ENOENT`, denied: `EACCES`, as for any
//! file), and a `bind` as the creation of a file there (`rw` needed), so
//! that neither reveals nor changes anything the file system rules keep
//! from the program, whatever the network section says. The network rules
//! then decide on the canonical path (`unix:/path`) as on any address.
//!
//! What stays inside the sandbox is reachable whatever the rules say, as
//! it is for a program with a private loopback:
//! - under `isolate`, the program's namespace has a loopback of its own:
//!   a connect to a loopback address or an abstract name is tried there
//!   first ([`Route::InsideFirst`]: one of the sandbox's own servers
//!   answers) and, if nothing listens there and the rules allow it,
//!   brokered out; if the rules refuse it, it is carried out only there
//!   ([`Route::Local`]), where the kernel refuses it with the refusal's own
//!   `ECONNREFUSED` unless one of the sandbox's servers listens. A datagram
//!   to a refused loopback address goes in only where one of the sandbox's
//!   sockets is bound ([`super::inside`]), else it is refused. A bind of an
//!   IP address or abstract name that no rule allows or denies is carried
//!   out there too, where it can be reached only from inside (a Unix socket
//!   path is no namespace's: its bind follows the rules);
//! - a connect or send to a Unix socket the sandbox bound itself
//!   ([`super::own`]) is carried out as it is.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::super::path::{decide_obj, resolve_read, Need};
use super::super::{decide, Log, Program, Reply, Scratch};
use super::addr::{
    dest_for, inet_bytes, is_loopback_ip, shown, unix_bytes, unspecified_reached, Addr, Dest, Use,
    SUN_PATH,
};
use super::Req;
use crate::audit::Verdict;
use crate::fs::walk::{Asker, Start};
use crate::policy::{FsAccess, FsAction, NetAccess, NetDecision, NetOp, NetTarget, RedirectTarget};
use crate::sys::{self, net as sn};

/// Where a decided request is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// On the program's socket, as it is.
    Direct,
    /// Under `isolate`, allowed out: a socket made in fdsup's namespace
    /// makes it and replaces the program's (`super::broker`).
    Broker,
    /// Allowed only inside the program's own network namespace (under
    /// `isolate`): on the program's socket, and refused if that socket is
    /// one of fdsup's namespace (brokered before), which would reach out.
    Local,
    /// Allowed, under `isolate`, to a loopback address or an abstract name:
    /// tried inside the program's namespace first (its own server, if one
    /// listens there), brokered out if nothing answers there
    /// (`ECONNREFUSED`).
    InsideFirst,
}

/// A decided destination: the bytes to give the kernel, and what must stay
/// open until it has used them.
pub(super) struct Target {
    /// The address.
    pub bytes: Vec<u8>,
    /// The `O_PATH` descriptor a `/proc/self/fd/N` address names.
    pub hold: Option<OwnedFd>,
    /// Where it is carried out.
    pub route: Route,
    /// For a refused destination carried inside ([`Route::Local`] of a
    /// stream): what to log once the kernel says whether one of the
    /// sandbox's own sockets took it — allowed if one did, the refusal
    /// (with its rule) if `ECONNREFUSED` says none listens.
    pub refused: Option<Inside>,
}

impl Target {
    /// An address the kernel will not use, passed as it is.
    pub fn passed(bytes: Vec<u8>) -> Self {
        Self::direct(bytes)
    }

    fn direct(bytes: Vec<u8>) -> Self {
        Self {
            bytes,
            hold: None,
            route: Route::Direct,
            refused: None,
        }
    }
}

/// The errno of a refused destination: `ECONNREFUSED` for `connect`,
/// `EACCES` for a send (SPEC.md).
fn refusal<P: Program>(req: &Req<'_, P>) -> i32 {
    if req.syscall == "connect" {
        libc::ECONNREFUSED
    } else {
        libc::EACCES
    }
}

/// Decides the destination `a` of a `connect` or send on `sock`, a socket
/// of `domain` and type `ty`, logs the decision, and gives the address to
/// use. A Unix destination refused here (absent, hidden, denied) never
/// reaches the kernel's lookup, so what the kernel does before that lookup
/// is done here: the autobind of a socket that passes credentials.
pub(super) fn decide_dest<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    a: &Addr,
    sock: BorrowedFd<'_>,
    domain: i32,
    ty: i32,
) -> Result<Target, Reply> {
    let use_ = if req.syscall == "connect" {
        Use::Connect
    } else {
        Use::Send
    };
    // The kernel's own checks of the address come first (`dest_for`).
    let dest = dest_for(a, domain, use_)?;
    let reached = unspecified_reached(a, dest, sock, use_);
    let (a, dest) = match &reached {
        Some((r, d)) => (r, *d),
        None => (a, dest),
    };
    let r = decide_dest_of(req, sc, a, dest, domain, ty);
    let looked_up = matches!(dest, Dest::UnixPath(_) | Dest::UnixAbstract);
    if looked_up
        && matches!(r, Err(Reply::Errno(_)))
        && (use_ == Use::Connect || ty == libc::SOCK_DGRAM)
    {
        sn::autobind_if_passing_credentials(sock);
    }
    r
}

/// [`decide_dest`] on `dest`, what `dest_for` made of `a`.
fn decide_dest_of<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    a: &Addr,
    dest: Dest,
    domain: i32,
    ty: i32,
) -> Result<Target, Reply> {
    let isolate = req.ctx.policy.network.isolate;
    let mut text = Vec::new();
    match dest {
        Dest::Nothing => Ok(Target::direct(a.bytes().to_vec())),
        Dest::Other => {
            let d = NetDecision {
                access: req.ctx.policy.network.default,
                rule: None,
            };
            shown(&dest, a, &[], &mut text);
            verdict(req, sc, &text, d, None)?;
            Ok(Target::direct(a.bytes().to_vec()))
        }
        Dest::Inet(sa) => {
            let d = req.ctx.policy.decide_inet(NetOp::Connect, sa);
            shown(&dest, a, &[], &mut text);
            let local = isolate && is_loopback_ip(sa.ip());
            let stream = ty != libc::SOCK_DGRAM;
            if local && stream && d.access == NetAccess::Deny {
                return Ok(inside_or_refused(a, text, d));
            }
            // A datagram has no answer to try with: one of the sandbox's
            // own sockets bound there is looked for.
            let bound =
                local && d.access == NetAccess::Deny && super::inside::inet(req.p.tid(), sa, ty);
            let how = verdict(req, sc, &text, d, bound.then_some(Route::Local))?;
            let out = match (isolate, local && stream) {
                (true, true) => Route::InsideFirst,
                (true, false) => Route::Broker,
                _ => Route::Direct,
            };
            allowed(d, how, a, domain, out, None)
        }
        Dest::UnixAbstract => {
            let name = a.bytes().get(SUN_PATH + 1..).unwrap_or_default();
            let d = req
                .ctx
                .policy
                .decide_net(NetOp::Connect, NetTarget::UnixAbstract(name));
            shown(&dest, a, &[], &mut text);
            if isolate && d.access == NetAccess::Deny {
                return Ok(inside_or_refused(a, text, d));
            }
            let own = !isolate && req.ctx.own.has_name(name);
            let how = verdict(req, sc, &text, d, own.then_some(Route::Direct))?;
            let out = if isolate {
                Route::InsideFirst
            } else {
                Route::Direct
            };
            allowed(d, how, a, domain, out, None)
        }
        Dest::UnixPath(end) => {
            let path = a.bytes().get(SUN_PATH..end).unwrap_or_default();
            if path.len() >= sc.raw.len() {
                return Err(Reply::Errno(libc::ENAMETOOLONG));
            }
            sc.raw[..path.len()].copy_from_slice(path);
            sc.raw[path.len()] = 0;
            let obj = resolve_read(
                req.ctx,
                &mut *req.p,
                sc,
                libc::AT_FDCWD,
                path.len(),
                true,
                false,
            )?;
            // As an open of the path: hidden, denied, absent are refused
            // here, as they would be for a file (logged as such).
            let fd = decide_obj(
                req.ctx,
                req.p.task(),
                sc,
                req.syscall,
                obj,
                Need::Read,
                None,
                None,
            )?;
            let canonical = sc.walk.path.clone();
            let d = req
                .ctx
                .policy
                .decide_net(NetOp::Connect, NetTarget::UnixPath(&canonical));
            shown(&dest, a, &canonical, &mut text);
            let own =
                sn::dev_ino(fd.as_fd()).is_ok_and(|(dev, ino)| req.ctx.own.has_inode(dev, ino));
            let how = verdict(req, sc, &text, d, own.then_some(Route::Direct))?;
            allowed(d, how, a, domain, Route::Direct, Some(fd))
        }
    }
}

/// Logs the decision `d` on `text`, and refuses a denial, unless `inside`
/// says the request reaches one of the sandbox's own sockets (then carried
/// out that way, whatever the rules say: it reaches nothing outside;
/// logged as allowed).
fn verdict<P: Program>(
    req: &Req<'_, P>,
    sc: &mut Scratch,
    text: &[u8],
    d: NetDecision<'_>,
    inside: Option<Route>,
) -> Result<Option<Route>, Reply> {
    let origin = d.rule.map(|r| &r.origin);
    if let Some(route) = inside {
        req.log(sc, text, Verdict::Allow, None, None);
        return Ok(Some(route));
    }
    if d.access == NetAccess::Deny {
        let e = refusal(req);
        req.log(sc, text, Verdict::Deny, Some(e), origin);
        return Err(Reply::Errno(e));
    }
    let redirect = d.rule.is_some_and(|r| r.redirect.is_some());
    let v = if redirect {
        Verdict::Redirect
    } else {
        Verdict::Allow
    };
    req.log(sc, text, v, None, origin);
    Ok(None)
}

/// The target of an allowed (or inside) destination: `how` is the route
/// when only the sandbox's inside allowed it; `found` the socket file of a
/// Unix path.
fn allowed(
    d: NetDecision<'_>,
    how: Option<Route>,
    a: &Addr,
    domain: i32,
    out: Route,
    found: Option<OwnedFd>,
) -> Result<Target, Reply> {
    if let Some(route) = how {
        return match found {
            Some(fd) => proc_fd_target(fd, route),
            None => Ok(Target {
                bytes: a.bytes().to_vec(),
                hold: None,
                route,
                refused: None,
            }),
        };
    }
    // A redirect goes where it says: out, never inside first.
    let out_redirect = if out == Route::InsideFirst {
        Route::Broker
    } else {
        out
    };
    if let Some(r) = d.rule.and_then(|r| r.redirect.as_ref()) {
        let (bytes, route) = match r {
            RedirectTarget::Inet(sa) => (inet_bytes(*sa, domain), out_redirect),
            RedirectTarget::UnixPath(p) if domain == libc::AF_UNIX => {
                (unix_bytes(p.as_bytes(), false), Route::Direct)
            }
            RedirectTarget::UnixAbstract(nm) if domain == libc::AF_UNIX => {
                (unix_bytes(nm.as_bytes(), true), out_redirect)
            }
            _ => (Err(libc::EAFNOSUPPORT), Route::Direct),
        };
        return Ok(Target {
            bytes: bytes.map_err(Reply::Errno)?,
            hold: None,
            route,
            refused: None,
        });
    }
    match found {
        // A path is reached through the descriptor of the decided file, so
        // that a name swapped after the decision reaches nothing else.
        Some(fd) => proc_fd_target(fd, Route::Direct),
        None => Ok(Target {
            bytes: a.bytes().to_vec(),
            hold: None,
            route: out,
            refused: None,
        }),
    }
}

/// A refused stream destination under `isolate` that may be one of the
/// sandbox's own (a loopback address or abstract name): carried inside,
/// where the kernel refuses it (`ECONNREFUSED`, the refusal's own errno)
/// unless one of the sandbox's sockets listens there; logged once that is
/// known.
fn inside_or_refused(a: &Addr, text: Vec<u8>, d: NetDecision<'_>) -> Target {
    Target {
        bytes: a.bytes().to_vec(),
        hold: None,
        route: Route::Local,
        refused: Some((text, d.rule.map(|r| r.origin.clone()))),
    }
}

/// What a destination carried inside ([`inside_or_refused`]) is logged as,
/// once the kernel has said whether one of the sandbox's own sockets took
/// it: the refusal (with `errno`, and the rule that refused it), or
/// allowed.
pub(super) type Inside = (Vec<u8>, Option<crate::policy::Origin>);

/// Logs `inside` as refused (`errno`) or allowed.
pub(super) fn log_inside<P: Program>(
    req: &Req<'_, P>,
    sc: &mut Scratch,
    inside: &Inside,
    refused: bool,
    errno: i32,
) {
    let (text, origin) = inside;
    if refused {
        req.log(sc, text, Verdict::Deny, Some(errno), origin.as_ref());
    } else {
        req.log(sc, text, Verdict::Allow, None, None);
    }
}

/// `/proc/self/fd/N` of the decided socket file, kept open.
fn proc_fd_target(fd: OwnedFd, route: Route) -> Result<Target, Reply> {
    use std::io::Write as _;
    let mut p = Vec::with_capacity(32);
    let _ = write!(p, "/proc/self/fd/{}", fd.as_raw_fd());
    Ok(Target {
        bytes: unix_bytes(&p, false).map_err(Reply::Errno)?,
        hold: Some(fd),
        route,
        refused: None,
    })
}

/// What a decided `bind` binds.
pub(super) enum BindPlan {
    /// These address bytes, on the program's socket.
    Plain(Vec<u8>),
    /// A Unix socket file `name` in `dir` (held), at the canonical `path`;
    /// `asked` is the path as the program wrote it.
    UnixPath {
        dir: OwnedFd,
        name: std::ffi::CString,
        path: Vec<u8>,
        asked: Vec<u8>,
    },
}

/// Decides the address `a` of a `bind`, logs the decision, and says what
/// to bind. `inside`: the socket is in the program's own namespace under
/// `isolate`, where an IP address or abstract name bound is reachable only
/// from inside; a socket brokered before is in fdsup's, where a bind is
/// decided as without `isolate` (found in review: a brokered UDP socket,
/// disconnected with `AF_UNSPEC`, bound a port of fdsup's namespace that
/// no rule allowed and took datagrams from outside).
pub(super) fn decide_bind<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    a: &Addr,
    domain: i32,
    inside: bool,
) -> Result<BindPlan, Reply> {
    let dest = dest_for(a, domain, Use::Bind)?;
    let mut text = Vec::new();
    let plain = || BindPlan::Plain(a.bytes().to_vec());
    match dest {
        Dest::Nothing => Ok(plain()),
        Dest::Other => {
            let d = NetDecision {
                access: req.ctx.policy.network.default,
                rule: None,
            };
            shown(&dest, a, &[], &mut text);
            bind_verdict(req, sc, &text, d, false)?;
            Ok(plain())
        }
        Dest::Inet(sa) => {
            let d = req.ctx.policy.decide_inet(NetOp::Bind, sa);
            shown(&dest, a, &[], &mut text);
            bind_verdict(req, sc, &text, d, inside)?;
            Ok(plain())
        }
        Dest::UnixAbstract => {
            let name = a.bytes().get(SUN_PATH + 1..).unwrap_or_default();
            let d = req
                .ctx
                .policy
                .decide_net(NetOp::Bind, NetTarget::UnixAbstract(name));
            shown(&dest, a, &[], &mut text);
            bind_verdict(req, sc, &text, d, inside)?;
            Ok(plain())
        }
        Dest::UnixPath(end) => {
            let asked = a.bytes().get(SUN_PATH..end).unwrap_or_default().to_vec();
            let (dir, name, path) = unix_bind_fs(req, sc, &asked)?;
            let d = req
                .ctx
                .policy
                .decide_net(NetOp::Bind, NetTarget::UnixPath(&path));
            shown(&dest, a, &path, &mut text);
            bind_verdict(req, sc, &text, d, false)?;
            Ok(BindPlan::UnixPath {
                dir,
                name,
                path,
                asked,
            })
        }
    }
}

/// Logs a bind decision and refuses a denial (`EACCES`), unless it is the
/// default's and the bound socket stays `inside` the program's own
/// namespace (under `isolate`).
fn bind_verdict<P: Program>(
    req: &Req<'_, P>,
    sc: &mut Scratch,
    text: &[u8],
    d: NetDecision<'_>,
    inside: bool,
) -> Result<(), Reply> {
    let origin = d.rule.map(|r| &r.origin);
    if d.access == NetAccess::Deny && !(inside && d.rule.is_none()) {
        req.log(sc, text, Verdict::Deny, Some(libc::EACCES), origin);
        return Err(Reply::Errno(libc::EACCES));
    }
    req.log(sc, text, Verdict::Allow, None, origin);
    Ok(())
}

/// The file system's word on creating the socket file `asked` (as a
/// `mknod` there would be decided): its directory (held), name and
/// canonical path.
fn unix_bind_fs<P: Program>(
    req: &mut Req<'_, P>,
    sc: &mut Scratch,
    asked: &[u8],
) -> Result<(OwnedFd, std::ffi::CString, Vec<u8>), Reply> {
    let start = if asked.first() == Some(&b'/') {
        Start::Root
    } else {
        match req.p.open_cwd() {
            Ok(fd) => Start::Dir(fd),
            Err(_) => {
                return Err(if req.valid() {
                    Reply::Errno(libc::ENOENT)
                } else {
                    Reply::Gone
                })
            }
        }
    };
    if !req.valid() {
        return Err(Reply::Gone);
    }
    let ctx = req.ctx;
    let mut asker = Asker::with_policy(req.p.task(), ctx.scope, &ctx.policy);
    let arg = super::super::link::Arg {
        start,
        path: asked.to_vec(),
    };
    let root = ctx.root(&sc.task_root);
    let end = match super::super::link::resolve_end(&mut asker, &root, arg, &mut sc.walk) {
        Ok(e) => e,
        Err(e) => {
            return Err(Reply::Errno(super::super::walk_error(
                ctx,
                &mut asker,
                &sc.walk.path,
                &mut sc.matched,
                e,
            )))
        }
    };
    if !req.valid() {
        return Err(Reply::Gone);
    }
    let super::super::link::End {
        dir,
        name,
        path,
        last,
        slash,
    } = end;
    // `.`, `..` and `/` name something that is there: the kernel's
    // EEXIST, which bind reports as EADDRINUSE.
    if last != super::super::link::Last::Norm {
        return Err(Reply::Errno(libc::EADDRINUSE));
    }
    let mut log = Log::new(ctx, req.syscall, req.p.tid(), &mut sc.line);
    let (action, rule) = decide(ctx, &mut asker, &path, &mut sc.matched);
    let exists = sys::lstat_mode(dir.as_raw_fd(), &name).is_ok();
    let mut refuse = |v: Verdict, e: i32| {
        log.write(&path, v, Some(e), rule);
        Err(Reply::Errno(e))
    };
    match action {
        FsAction::Access(FsAccess::Hide) => return refuse(Verdict::Hide, libc::ENOENT),
        FsAction::Access(FsAccess::Deny) => return refuse(Verdict::Deny, libc::EACCES),
        FsAction::Access(FsAccess::Rw) => {}
        // What the kernel says first comes first.
        _ if exists => return Err(Reply::Errno(libc::EADDRINUSE)),
        _ => return refuse(Verdict::Deny, libc::EACCES),
    }
    if exists {
        return Err(Reply::Errno(libc::EADDRINUSE));
    }
    // A socket is no directory: a trailing slash finds nothing to create.
    if slash {
        return Err(Reply::Errno(libc::ENOENT));
    }
    log.write(&path, Verdict::Allow, None, rule);
    Ok((dir, name, path))
}

//! Network rule addresses: parsed, validated and typed at load time.
//!
//! A rule address is `IP:PORT`, `[IPv6]:PORT`, `CIDR:PORT` (v4 `a.b.c.d/n`,
//! v6 `[x::/n]`), with `PORT` a number or `*`; or `unix:/path` (a rule path,
//! globs allowed) or `unix:@name` (abstract). A redirect target is one
//! concrete address: no network, no `*`, no glob. Enforcement lives
//! elsewhere; the matching helpers here allocate nothing, like the file
//! system matcher.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::origin::Origin;
use super::pattern::Pattern;

/// `allow` or `deny`, for a network rule or the section default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetAccess {
    /// The request goes ahead (or is redirected).
    Allow,
    /// The request fails (ECONNREFUSED for connect, EACCES otherwise).
    Deny,
}

impl NetAccess {
    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NetAccess::Allow => "allow",
            NetAccess::Deny => "deny",
        }
    }
}

impl fmt::Display for NetAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which requests a network rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetOp {
    /// `connect` and every send with a destination address.
    Connect,
    /// `bind`.
    Bind,
}

impl NetOp {
    /// The policy-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NetOp::Connect => "connect",
            NetOp::Bind => "bind",
        }
    }
}

/// An IPv4 or IPv6 network: an address and a prefix length, host bits zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    addr: IpAddr,
    prefix: u8,
}

impl IpNet {
    /// A network; refuses a prefix longer than the address or host bits set.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<IpNet, String> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(format!("prefix length {prefix} is more than {max}"));
        }
        let net = IpNet { addr, prefix };
        if net.network() != addr {
            return Err(format!(
                "{addr}/{prefix} has host bits set (the network is {}/{prefix})",
                net.network()
            ));
        }
        Ok(net)
    }

    /// The network address.
    pub fn addr(&self) -> IpAddr {
        self.addr
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    fn network(&self) -> IpAddr {
        match self.addr {
            IpAddr::V4(a) => IpAddr::V4(Ipv4Addr::from(u32::from(a) & mask32(self.prefix))),
            IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(u128::from(a) & mask128(self.prefix))),
        }
    }

    /// Whether `ip` is in this network. An IPv4-mapped IPv6 address
    /// (`::ffff:a.b.c.d`) is in the IPv4 networks that hold `a.b.c.d`.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => u32::from(a) & mask32(self.prefix) == u32::from(n),
            (IpAddr::V6(n), IpAddr::V6(a)) => u128::from(a) & mask128(self.prefix) == u128::from(n),
            (IpAddr::V4(_), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
                Some(v4) => self.contains(IpAddr::V4(v4)),
                None => false,
            },
            (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

impl fmt::Display for IpNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = if self.addr.is_ipv4() { 32 } else { 128 };
        if self.prefix == full {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.prefix)
        }
    }
}

/// The port part of a rule address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// `*`: every port.
    Any,
    /// One port.
    Exact(u16),
}

impl Port {
    /// Whether `port` is this one.
    pub fn contains(self, port: u16) -> bool {
        match self {
            Port::Any => true,
            Port::Exact(p) => p == port,
        }
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Port::Any => f.write_str("*"),
            Port::Exact(p) => write!(f, "{p}"),
        }
    }
}

/// What a network rule's `connect` or `bind` address matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetAddr {
    /// IP addresses in `net`, on `port`.
    Inet {
        /// The addresses.
        net: IpNet,
        /// The ports.
        port: Port,
    },
    /// Unix sockets with a path: the pattern matches as a file system rule.
    UnixPath(Pattern),
    /// The abstract Unix socket with this name (without the leading NUL).
    UnixAbstract(String),
}

impl fmt::Display for NetAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NetAddr::Inet { net, port } if net.addr.is_ipv6() => write!(f, "[{net}]:{port}"),
            NetAddr::Inet { net, port } => write!(f, "{net}:{port}"),
            NetAddr::UnixPath(p) => write!(f, "unix:{p}"),
            NetAddr::UnixAbstract(name) => write!(f, "unix:@{name}"),
        }
    }
}

/// Where a redirected connection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectTarget {
    /// An IP address and port.
    Inet(SocketAddr),
    /// A Unix socket path (absolute, normalised).
    UnixPath(String),
    /// An abstract Unix socket name (without the leading NUL).
    UnixAbstract(String),
}

impl fmt::Display for RedirectTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectTarget::Inet(a) => write!(f, "{a}"),
            RedirectTarget::UnixPath(p) => write!(f, "unix:{p}"),
            RedirectTarget::UnixAbstract(name) => write!(f, "unix:@{name}"),
        }
    }
}

/// One network rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetRule {
    /// Which requests it decides.
    pub op: NetOp,
    /// Which addresses.
    pub addr: NetAddr,
    /// Allowed or denied.
    pub access: NetAccess,
    /// Where an allowed `connect` is sent instead.
    pub redirect: Option<RedirectTarget>,
    /// Where the rule was written.
    pub origin: Origin,
}

/// A socket address being asked for, as the matcher sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NetTarget<'a> {
    /// An IPv4 or IPv6 address and port.
    Inet(SocketAddr),
    /// A Unix socket path, canonical, as bytes.
    UnixPath(&'a [u8]),
    /// An abstract Unix socket name, without the leading NUL.
    UnixAbstract(&'a [u8]),
}

impl NetRule {
    /// Whether this rule decides `op` on `target`. Allocates nothing.
    pub fn matches(&self, op: NetOp, target: NetTarget<'_>) -> bool {
        if op != self.op {
            return false;
        }
        match (&self.addr, target) {
            (NetAddr::Inet { net, port }, NetTarget::Inet(sa)) => {
                net.contains(sa.ip()) && port.contains(sa.port())
            }
            (NetAddr::UnixPath(p), NetTarget::UnixPath(path)) => p.matches(path),
            (NetAddr::UnixAbstract(name), NetTarget::UnixAbstract(n)) => name.as_bytes() == n,
            _ => false,
        }
    }
}

const FORMS: &str = "expected IP:PORT, [IPv6]:PORT, CIDR:PORT, unix:/path or unix:@name";

/// Parses a rule address. `unix_path` turns the text after `unix:` into a
/// pattern (expanding variables, as for file system rules).
pub fn parse_addr(
    text: &str,
    unix_path: impl FnOnce(&str) -> Result<Pattern, String>,
) -> Result<NetAddr, String> {
    if let Some(rest) = text.strip_prefix("unix:") {
        if let Some(name) = rest.strip_prefix('@') {
            return Ok(NetAddr::UnixAbstract(abstract_name(name)?));
        }
        if !rest.starts_with('/') && !rest.starts_with("${") {
            return Err(format!(
                "bad address {text:?}: unix: needs an absolute path or @name"
            ));
        }
        return unix_path(rest).map(NetAddr::UnixPath);
    }
    let (host, port, bracketed) = split_host_port(text)?;
    let port = match port {
        "*" => Port::Any,
        p => Port::Exact(parse_port(text, p)?),
    };
    let (ip, prefix) = match host.split_once('/') {
        Some((ip, prefix)) => {
            let prefix = parse_prefix(prefix).ok_or_else(|| {
                format!("bad address {text:?}: {prefix:?} is not a prefix length")
            })?;
            (ip, Some(prefix))
        }
        None => (host, None),
    };
    let ip = parse_ip(text, ip, bracketed)?;
    let full = if ip.is_ipv4() { 32 } else { 128 };
    let net =
        IpNet::new(ip, prefix.unwrap_or(full)).map_err(|e| format!("bad address {text:?}: {e}"))?;
    Ok(NetAddr::Inet { net, port })
}

/// Parses a redirect target: one concrete address.
pub fn parse_redirect(
    text: &str,
    unix_path: impl FnOnce(&str) -> Result<String, String>,
) -> Result<RedirectTarget, String> {
    if let Some(rest) = text.strip_prefix("unix:") {
        if let Some(name) = rest.strip_prefix('@') {
            return Ok(RedirectTarget::UnixAbstract(abstract_name(name)?));
        }
        return unix_path(rest).map(RedirectTarget::UnixPath);
    }
    let (host, port, bracketed) = split_host_port(text)?;
    if port == "*" {
        return Err(format!(
            "bad redirect {text:?}: the port must be a number, not *"
        ));
    }
    let port = parse_port(text, port)?;
    if port == 0 {
        return Err(format!(
            "bad redirect {text:?}: port 0 cannot be connected to"
        ));
    }
    if host.contains('/') {
        return Err(format!(
            "bad redirect {text:?}: a redirect goes to one address, not a network"
        ));
    }
    let ip = parse_ip(text, host, bracketed)?;
    Ok(RedirectTarget::Inet(SocketAddr::new(ip, port)))
}

fn abstract_name(name: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("unix:@ needs a name".to_owned());
    }
    Ok(name.to_owned())
}

/// Splits `HOST:PORT` or `[HOST]:PORT`; the brackets are removed and the
/// third value says whether there were any.
fn split_host_port(text: &str) -> Result<(&str, &str, bool), String> {
    let Some((host, port)) = text.rsplit_once(':') else {
        return Err(format!("bad address {text:?}: {FORMS}"));
    };
    if let Some(inner) = host.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(format!(
                "bad address {text:?}: missing ']' after the IPv6 address"
            ));
        };
        return Ok((inner, port, true));
    }
    if host.contains(':') {
        return Err(format!(
            "bad address {text:?}: an IPv6 address goes in brackets, as [::1]:80"
        ));
    }
    if host.is_empty() {
        return Err(format!("bad address {text:?}: {FORMS}"));
    }
    Ok((host, port, false))
}

/// Parses the IP of `text`; `bracketed` says whether it was in `[...]`.
fn parse_ip(text: &str, ip: &str, bracketed: bool) -> Result<IpAddr, String> {
    if bracketed {
        return ip
            .parse::<Ipv6Addr>()
            .map(IpAddr::V6)
            .map_err(|_| format!("bad address {text:?}: {ip:?} is not an IPv6 address"));
    }
    ip.parse::<Ipv4Addr>()
        .map(IpAddr::V4)
        .map_err(|_| format!("bad address {text:?}: {ip:?} is not an IPv4 address ({FORMS})"))
}

fn parse_port(text: &str, port: &str) -> Result<u16, String> {
    let bad = || format!("bad address {text:?}: port must be 0-65535 or *, got {port:?}");
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    port.parse::<u16>().map_err(|_| bad())
}

fn parse_prefix(prefix: &str) -> Option<u8> {
    if prefix.is_empty() || prefix.len() > 3 || !prefix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    prefix.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> Result<NetAddr, String> {
        parse_addr(text, Pattern::new)
    }

    fn redirect(text: &str) -> Result<RedirectTarget, String> {
        parse_redirect(text, super::super::paths::normalize)
    }

    fn inet(ip: &str, prefix: u8, port: Port) -> NetAddr {
        NetAddr::Inet {
            net: IpNet::new(ip.parse().unwrap(), prefix).unwrap(),
            port,
        }
    }

    #[test]
    fn parses_every_form() {
        assert_eq!(
            addr("127.0.0.1:8080").unwrap(),
            inet("127.0.0.1", 32, Port::Exact(8080))
        );
        assert_eq!(
            addr("10.0.0.0/8:*").unwrap(),
            inet("10.0.0.0", 8, Port::Any)
        );
        assert_eq!(
            addr("0.0.0.0/0:0").unwrap(),
            inet("0.0.0.0", 0, Port::Exact(0))
        );
        assert_eq!(addr("[::1]:*").unwrap(), inet("::1", 128, Port::Any));
        assert_eq!(addr("[fd00::/8]:*").unwrap(), inet("fd00::", 8, Port::Any));
        assert_eq!(
            addr("[::]:65535").unwrap(),
            inet("::", 128, Port::Exact(65535))
        );
        assert_eq!(addr("[::/0]:443").unwrap(), inet("::", 0, Port::Exact(443)));
        assert_eq!(
            addr("unix:/run/app.sock").unwrap(),
            NetAddr::UnixPath(Pattern::new("/run/app.sock").unwrap())
        );
        assert_eq!(
            addr("unix:@dbus").unwrap(),
            NetAddr::UnixAbstract("dbus".into())
        );
    }

    #[test]
    fn displays_as_written() {
        for text in [
            "127.0.0.1:8080",
            "10.0.0.0/8:*",
            "[::1]:*",
            "[fd00::/8]:53",
            "unix:/run/app.sock",
            "unix:@x",
        ] {
            assert_eq!(addr(text).unwrap().to_string(), text);
        }
    }

    #[test]
    fn refuses_bad_addresses() {
        let cases = [
            ("127.0.0.1", "expected IP:PORT"),
            ("127.0.0.1:", "port must be 0-65535 or *"),
            ("127.0.0.1:65536", "port must be 0-65535 or *"),
            ("127.0.0.1:+80", "port must be 0-65535 or *"),
            ("127.0.0.1:http", "port must be 0-65535 or *"),
            ("::1:80", "goes in brackets"),
            ("[::1:80", "missing ']'"),
            ("[127.0.0.1]:80", "is not an IPv6 address"),
            ("[fe80::1%eth0]:80", "is not an IPv6 address"),
            ("localhost:80", "is not an IPv4 address"),
            ("256.0.0.1:80", "is not an IPv4 address"),
            ("10.0.0.0/33:*", "prefix length 33 is more than 32"),
            ("[::/129]:*", "prefix length 129 is more than 128"),
            ("10.0.0.0/x:*", "is not a prefix length"),
            ("10.0.0.0/:*", "is not a prefix length"),
            ("10.0.0.1/8:*", "host bits set (the network is 10.0.0.0/8)"),
            (":80", "expected IP:PORT"),
            ("unix:", "absolute path"),
            ("unix:run/x", "absolute path"),
            ("unix:@", "needs a name"),
        ];
        for (text, want) in cases {
            let e = addr(text).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn parses_redirects() {
        assert_eq!(
            redirect("127.0.0.1:8080").unwrap(),
            RedirectTarget::Inet("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(
            redirect("[::1]:53").unwrap(),
            RedirectTarget::Inet("[::1]:53".parse().unwrap())
        );
        assert_eq!(
            redirect("unix:/run//x.sock").unwrap(),
            RedirectTarget::UnixPath("/run/x.sock".into())
        );
        assert_eq!(
            redirect("unix:@a").unwrap(),
            RedirectTarget::UnixAbstract("a".into())
        );
        assert!(redirect("127.0.0.1:*").unwrap_err().contains("not *"));
        assert!(redirect("127.0.0.1:0").unwrap_err().contains("port 0"));
        assert!(redirect("10.0.0.0/8:80")
            .unwrap_err()
            .contains("not a network"));
        assert!(redirect("unix:x").unwrap_err().contains("absolute"));
    }

    #[test]
    fn matches_networks_and_ports() {
        let rule = |text: &str, op| NetRule {
            op,
            addr: addr(text).unwrap(),
            access: NetAccess::Allow,
            redirect: None,
            origin: Origin::new("t", 1),
        };
        let t = |s: &str| NetTarget::Inet(s.parse().unwrap());
        let lo = rule("127.0.0.0/8:*", NetOp::Connect);
        assert!(lo.matches(NetOp::Connect, t("127.0.0.1:80")));
        assert!(lo.matches(NetOp::Connect, t("127.255.0.9:1")));
        assert!(lo.matches(NetOp::Connect, t("[::ffff:127.0.0.1]:80")));
        assert!(!lo.matches(NetOp::Bind, t("127.0.0.1:80")));
        assert!(!lo.matches(NetOp::Connect, t("128.0.0.1:80")));
        assert!(!lo.matches(NetOp::Connect, t("[::1]:80")));
        let one = rule("[::1]:53", NetOp::Bind);
        assert!(one.matches(NetOp::Bind, t("[::1]:53")));
        assert!(!one.matches(NetOp::Bind, t("[::1]:54")));
        assert!(!one.matches(NetOp::Bind, t("127.0.0.1:53")));
        let all = rule("0.0.0.0/0:*", NetOp::Connect);
        assert!(all.matches(NetOp::Connect, t("8.8.8.8:53")));
        let v6 = rule("[fd00::/8]:*", NetOp::Connect);
        assert!(v6.matches(NetOp::Connect, t("[fdff::1]:1")));
        assert!(!v6.matches(NetOp::Connect, t("[fe00::1]:1")));
        let unix = rule("unix:/run/app", NetOp::Connect);
        assert!(unix.matches(NetOp::Connect, NetTarget::UnixPath(b"/run/app/sock")));
        assert!(!unix.matches(NetOp::Connect, NetTarget::UnixAbstract(b"/run/app")));
        let abs = rule("unix:@x", NetOp::Connect);
        assert!(abs.matches(NetOp::Connect, NetTarget::UnixAbstract(b"x")));
        assert!(!abs.matches(NetOp::Connect, NetTarget::UnixAbstract(b"xy")));
    }
}

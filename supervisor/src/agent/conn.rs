//! One connection from a container runtime: who it is, and what it sends.
//!
//! The runtime (runc, crun) connects to `listenerPath` and sends one
//! message: the container's state as JSON (the OCI "container process
//! state": `ociVersion`, `fds`, `pid`, `metadata`, `state`) and, with
//! `SCM_RIGHTS`, the descriptors `fds` names — the seccomp listener as
//! `"seccompFd"`. Neither runtime closes the connection afterwards, so the
//! message ends where the first complete JSON value does: bytes are read
//! until one decodes (at most [`MAX_MESSAGE`] bytes, for at most
//! [`READ_TIMEOUT`]), never until end-of-file. crun connects and closes
//! without a byte when the container's creation fails: that is
//! [`Received::Nothing`], not an error.
//!
//! Nothing in the state is trusted for security: `state.pid` and `pid` are
//! not used at all (the notifications name their tasks; crun's `exec` sends
//! 0), `ociVersion` is not checked (crun sends "0.2.0"), and `state.id`
//! names the log file only after [`log_name`] has made it a plain file name.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

/// The most bytes of one runtime message (runc's and crun's are well under
/// 8 KiB; annotations can add some).
pub const MAX_MESSAGE: usize = 1 << 20;
/// The longest container id taken (`log_name` of it stays within a file
/// name's 255 bytes).
pub const MAX_ID: usize = 80;
/// At most this many descriptors with one message (the runtimes send one,
/// `seccompFd`): a peer that sends more would fill the agent's table.
pub const MAX_FDS: usize = 8;

/// How long a runtime has to send its message.
pub const READ_TIMEOUT: Duration = Duration::from_secs(2);

/// What the runtime said, as far as the agent uses it.
#[derive(Debug, PartialEq, Eq)]
pub struct State {
    /// `state.id`: the container.
    pub id: String,
    /// `metadata`: the profile's `listenerMetadata`.
    pub metadata: String,
    /// Where `"seccompFd"` is in `fds` (and so among the descriptors).
    pub seccomp_index: usize,
}

/// The outcome of reading a connection.
#[derive(Debug)]
pub enum Received {
    /// The state and the listener.
    Listener(State, OwnedFd),
    /// The runtime closed the connection without a byte (a failed create).
    Nothing,
}

/// Why a connection gave no listener.
#[derive(Debug, thiserror::Error)]
pub enum ConnError {
    /// The peer may not hand listeners to the agent.
    #[error("peer uid {uid} (pid {pid}) is neither root nor the agent's user; connection refused")]
    Peer {
        /// Its uid.
        uid: u32,
        /// Its pid.
        pid: i32,
    },
    /// Reading failed.
    #[error("reading the runtime's message: {0}")]
    Io(#[from] io::Error),
    /// The message did not end in time.
    #[error("the runtime's message did not end within {0:?} ({1} bytes read)")]
    Timeout(Duration, usize),
    /// The message is larger than [`MAX_MESSAGE`].
    #[error("the runtime's message is larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    /// More than [`MAX_FDS`] descriptors came with the message.
    #[error("the runtime's message came with more than {MAX_FDS} descriptors")]
    TooManyFds,
    /// The connection ended inside the message.
    #[error("the runtime closed the connection inside its message ({0} bytes read)")]
    Truncated(usize),
    /// The message is not the state JSON the OCI runtime spec describes.
    #[error("the runtime's message: {0}")]
    Malformed(String),
    /// No descriptor where `fds` says the listener is.
    #[error("the runtime's message names \"seccompFd\" at {index} of {count} descriptors passed")]
    NoListener {
        /// Where `fds` put it.
        index: usize,
        /// How many came.
        count: usize,
    },
}

/// Checks the peer's credentials (`SO_PEERCRED`): root, or the agent's own
/// user. Another user must not be able to hand the agent a listener (and so
/// make it act, with its privileges, for a process of theirs).
pub fn check_peer(stream: &UnixStream, agent_uid: u32) -> Result<(), ConnError> {
    let cred = rustix::net::sockopt::socket_peercred(stream).map_err(io::Error::from)?;
    let uid = cred.uid.as_raw();
    if uid == 0 || uid == agent_uid {
        Ok(())
    } else {
        Err(ConnError::Peer {
            uid,
            pid: cred.pid.as_raw_pid(),
        })
    }
}

/// Reads the message (see the module docs).
pub fn receive(stream: &UnixStream) -> Result<Received, ConnError> {
    let deadline = Instant::now() + READ_TIMEOUT;
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = vec![0u8; 16384];
    let mut fds: Vec<OwnedFd> = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(ConnError::Timeout(READ_TIMEOUT, buf.len()));
        }
        stream.set_read_timeout(Some(left))?;
        let (n, got) = match crate::sys::net::recv_with_fds(stream.as_fd(), &mut chunk) {
            Ok(r) => r,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Err(ConnError::Timeout(READ_TIMEOUT, buf.len()))
            }
            Err(e) => return Err(e.into()),
        };
        fds.extend(got);
        if fds.len() > MAX_FDS {
            return Err(ConnError::TooManyFds);
        }
        if n == 0 {
            return if buf.is_empty() && fds.is_empty() {
                Ok(Received::Nothing)
            } else {
                Err(ConnError::Truncated(buf.len()))
            };
        }
        if buf.len() + n > MAX_MESSAGE {
            return Err(ConnError::TooLarge);
        }
        buf.extend_from_slice(&chunk[..n]);
        match parse(&buf) {
            Ok(Some(state)) => {
                let count = fds.len();
                let index = state.seccomp_index;
                if index >= count {
                    return Err(ConnError::NoListener { index, count });
                }
                // The others (none today) are closed with `fds`.
                let listener = fds.swap_remove(index);
                return Ok(Received::Listener(state, listener));
            }
            Ok(None) => {}
            Err(e) => return Err(ConnError::Malformed(e)),
        }
    }
}

/// The state in `buf`, if it holds one complete JSON value (`None`: not
/// yet). Anything after the value is ignored.
pub fn parse(buf: &[u8]) -> Result<Option<State>, String> {
    let mut values = serde_json::Deserializer::from_slice(buf).into_iter::<serde_json::Value>();
    let value = match values.next() {
        None => return Ok(None),
        Some(Err(e)) if e.is_eof() => return Ok(None),
        Some(Err(e)) => return Err(format!("not JSON: {e}")),
        Some(Ok(v)) => v,
    };
    let field = |name: &str| value.get(name);
    let fds = field("fds")
        .and_then(serde_json::Value::as_array)
        .ok_or("no \"fds\" array")?;
    let seccomp_index = fds
        .iter()
        .position(|f| f.as_str() == Some("seccompFd"))
        .ok_or("\"fds\" does not name \"seccompFd\"")?;
    let id = field("state")
        .and_then(|s| s.get("id"))
        .and_then(serde_json::Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or("no \"state.id\"")?
        .to_owned();
    // runc and crun take ids of a file name's size; a longer one could not
    // name its log file (`log_name` makes up to three bytes of each).
    if id.len() > MAX_ID {
        return Err(format!("\"state.id\" is longer than {MAX_ID} bytes"));
    }
    let metadata = match field("metadata") {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(m) => m.as_str().ok_or("\"metadata\" is not a string")?.to_owned(),
    };
    Ok(Some(State {
        id,
        metadata,
        seccomp_index,
    }))
}

/// Why `listenerMetadata` selects no policy.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// No `policy=`.
    #[error("the seccomp profile's listenerMetadata is {0:?}, not \"policy=NAME\"")]
    Missing(String),
    /// A name that is not `[A-Za-z0-9_.-]+` (or is `.`/`..`).
    #[error("policy name {0:?} is not [A-Za-z0-9_.-]+")]
    BadName(String),
}

/// The policy name `listenerMetadata` selects: `policy=NAME`, NAME of
/// `[A-Za-z0-9_.-]+` (and not `.` or `..`: it names `DIR/NAME.json`).
pub fn policy_name(metadata: &str) -> Result<&str, MetadataError> {
    let Some(name) = metadata.trim().strip_prefix("policy=") else {
        return Err(MetadataError::Missing(metadata.to_owned()));
    };
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'));
    if ok {
        Ok(name)
    } else {
        Err(MetadataError::BadName(name.to_owned()))
    }
}

/// The log file name of container `id` (without `.jsonl`): the id itself
/// when it is `[A-Za-z0-9_.-]+` and does not start with a dot, which every
/// runtime-made id is; otherwise each other byte (and a leading dot) as
/// `%XX`, so that no id can name another directory or a hidden file.
pub fn log_name(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for (i, b) in id.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-') || (b == b'.' && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RUNC: &str = r#"{"ociVersion":"1.0.2-dev","fds":["seccompFd"],"pid":4242,"metadata":"policy=readonly-root","state":{"ociVersion":"1.0.2-dev","id":"c1","status":"creating","pid":4242,"bundle":"/b"}}"#;
    const CRUN_EXEC: &str = "{\n  \"ociVersion\": \"0.2.0\",\n  \"fds\": [\n    \"seccompFd\"\n  ],\n  \"pid\": 0,\n  \"metadata\": \"policy=x\",\n  \"state\": {\n    \"ociVersion\": \"0.2.0\",\n    \"id\": \"c2\",\n    \"status\": \"running\",\n    \"pid\": 0,\n    \"bundle\": \".\"\n  }\n}\n";

    #[test]
    fn parses_what_runc_and_crun_send() {
        let s = parse(RUNC.as_bytes()).unwrap().unwrap();
        assert_eq!(
            s,
            State {
                id: "c1".into(),
                metadata: "policy=readonly-root".into(),
                seccomp_index: 0
            }
        );
        let s = parse(CRUN_EXEC.as_bytes()).unwrap().unwrap();
        assert_eq!((s.id.as_str(), s.metadata.as_str()), ("c2", "policy=x"));
    }

    #[test]
    fn a_value_is_complete_only_when_it_ends() {
        for cut in [0, 1, 10, RUNC.len() - 1] {
            assert_eq!(parse(&RUNC.as_bytes()[..cut]), Ok(None), "cut at {cut}");
        }
        // Whatever follows the value is not waited for.
        let mut more = RUNC.as_bytes().to_vec();
        more.extend_from_slice(b"{\"garbage");
        assert!(parse(&more).unwrap().is_some());
    }

    #[test]
    fn refuses_what_is_not_a_state() {
        assert!(parse(b"[1, 2]").is_err());
        assert!(parse(b"nonsense").is_err());
        assert!(parse(br#"{"fds":[],"state":{"id":"x"}}"#).is_err());
        // An id that could not name its log file.
        let long = format!(
            r#"{{"fds":["seccompFd"],"state":{{"id":"{}"}}}}"#,
            "i".repeat(MAX_ID + 1)
        );
        assert!(parse(long.as_bytes()).is_err());
        assert!(parse(br#"{"fds":["seccompFd"],"state":{}}"#).is_err());
        assert!(parse(br#"{"fds":["seccompFd"],"state":{"id":"x"},"metadata":3}"#).is_err());
        let s = parse(br#"{"fds":["other","seccompFd"],"state":{"id":"x"}}"#)
            .unwrap()
            .unwrap();
        assert_eq!((s.seccomp_index, s.metadata.as_str()), (1, ""));
    }

    #[test]
    fn metadata_names_a_policy_file_and_nothing_else() {
        assert_eq!(policy_name("policy=readonly-root"), Ok("readonly-root"));
        assert_eq!(policy_name(" policy=a.b_c-1 "), Ok("a.b_c-1"));
        for bad in [
            "policy=",
            "policy=..",
            "policy=.",
            "policy=a/b",
            "policy=a b",
        ] {
            assert!(
                matches!(policy_name(bad), Err(MetadataError::BadName(_))),
                "{bad}"
            );
        }
        for missing in ["", "name=x", "x"] {
            assert!(
                matches!(policy_name(missing), Err(MetadataError::Missing(_))),
                "{missing}"
            );
        }
    }

    #[test]
    fn log_names_are_plain_file_names() {
        assert_eq!(log_name("c1"), "c1");
        assert_eq!(log_name("a.b-c_d"), "a.b-c_d");
        assert_eq!(log_name(".."), "%2E.");
        assert_eq!(log_name("../x"), "%2E.%2Fx");
        assert_eq!(log_name("a/b"), "a%2Fb");
        assert_eq!(log_name("é"), "%C3%A9");
    }
}

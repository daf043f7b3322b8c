//! The variables a policy path may use: `${CWD}`, `${HOME}`, `${TMPDIR}`,
//! `${UID}`.
//!
//! They are captured once, when fdsup starts ([`Vars::from_env`]), and passed
//! to [`load`](super::load) explicitly, so that tests and `fdsup check` can
//! load a policy for any environment. An agent policy ([`Vars::agent`])
//! describes a container's file system, not fdsup's: `${CWD}` and `${HOME}`
//! have no meaning there and are errors, `${TMPDIR}` is `/tmp`, and rule
//! paths are matched as written (see [`Vars::resolve_links`]). Expansion is strict: an unknown name
//! or an unterminated `${` is an error, never left as text, and a variable
//! without a value (no `HOME` anywhere) is an error only where it is used,
//! and so is one whose value has a `*` (a rule path has no way to say a `*`
//! is literal, so the value would match more than that path).

use std::io;

/// The values of the policy variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vars {
    /// `${CWD}`: the directory fdsup was started in.
    pub cwd: String,
    /// `${HOME}`: `$HOME`, else the user's home in the password database;
    /// empty if neither exists (then using `${HOME}` is an error).
    pub home: String,
    /// `${TMPDIR}`: `$TMPDIR` if set and not empty, else `/tmp`.
    pub tmpdir: String,
    /// `${UID}`: the real user id of fdsup.
    pub uid: u32,
    /// Rule paths are resolved against fdsup's file system at load time
    /// (`paths::canonicalize_prefix`). False for an agent policy: its paths
    /// are a container's, unknown when it loads, and a container image must
    /// not steer a rule with a symbolic link of its own (`/tmp` -> `/etc`
    /// would turn a `/tmp` rw rule into an `/etc` one); requests are still
    /// decided on canonical paths, so its rules name canonical paths.
    pub resolve_links: bool,
}

impl Vars {
    /// Captures the variables from this process: `getcwd`, `$HOME` (or the
    /// password database), `$TMPDIR` (or `/tmp`) and `getuid`.
    ///
    /// Fails if the current directory cannot be read or is not UTF-8 (a
    /// policy is JSON text, so its paths are UTF-8).
    pub fn from_env() -> io::Result<Vars> {
        let cwd = std::env::current_dir()?
            .into_os_string()
            .into_string()
            .map_err(|_| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    "current directory is not valid UTF-8",
                )
            })?;
        let uid = rustix::process::getuid().as_raw();
        let home = match std::env::var("HOME") {
            Ok(h) if !h.is_empty() => h,
            _ => crate::sys::home_of(uid)
                .and_then(|d| String::from_utf8(d).ok())
                .unwrap_or_default(),
        };
        let tmpdir = match std::env::var("TMPDIR") {
            Ok(t) if !t.is_empty() => t,
            _ => "/tmp".to_owned(),
        };
        Ok(Vars {
            cwd,
            home,
            tmpdir,
            uid,
            resolve_links: true,
        })
    }

    /// The variables of an agent policy (the module docs say why).
    pub fn agent() -> Vars {
        Vars {
            cwd: String::new(),
            home: String::new(),
            tmpdir: "/tmp".to_owned(),
            uid: rustix::process::getuid().as_raw(),
            resolve_links: false,
        }
    }

    /// Replaces every `${NAME}` in `text`. The error message says what is
    /// wrong without a location; the caller locates it at the string.
    pub fn expand(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("unterminated \"${{\" in {text:?}"));
            };
            let name = &after[..end];
            match name {
                "CWD" => out.push_str(self.nonempty("CWD", &self.cwd)?),
                "HOME" => out.push_str(self.nonempty("HOME", &self.home)?),
                "TMPDIR" => out.push_str(self.nonempty("TMPDIR", &self.tmpdir)?),
                "UID" => out.push_str(&self.uid.to_string()),
                _ => {
                    return Err(format!(
                        "unknown variable ${{{name}}} (known: ${{CWD}}, ${{HOME}}, ${{TMPDIR}}, \
                         ${{UID}})"
                    ))
                }
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn nonempty<'v>(&self, name: &str, value: &'v str) -> Result<&'v str, String> {
        if value.is_empty() && !self.resolve_links {
            Err(format!(
                "${{{name}}} is not allowed in an agent policy (its paths are the container's)"
            ))
        } else if value.is_empty() {
            Err(format!("${{{name}}} has no value in this environment"))
        } else if value.contains('*') {
            // No syntax makes a `*` literal in a rule path: the value would
            // be a wildcard (`/home/*` for every home, `**` for every depth).
            Err(format!(
                "${{{name}}} is {value:?}, whose \"*\" a rule path would take as a wildcard; \
                 fdsup refuses to use it"
            ))
        } else {
            Ok(value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vars {
        Vars {
            cwd: "/work/p".into(),
            home: "/home/u".into(),
            tmpdir: "/tmp".into(),
            uid: 1000,
            resolve_links: true,
        }
    }

    #[test]
    fn expands_every_variable() {
        assert_eq!(
            vars().expand("${CWD}:${HOME}:${TMPDIR}:${UID}").as_deref(),
            Ok("/work/p:/home/u:/tmp:1000")
        );
        assert_eq!(
            vars().expand("/run/user/${UID}/x").as_deref(),
            Ok("/run/user/1000/x")
        );
    }

    #[test]
    fn leaves_other_dollars_alone() {
        assert_eq!(vars().expand("/a$b/$/c$").as_deref(), Ok("/a$b/$/c$"));
    }

    #[test]
    fn refuses_unknown_and_unterminated() {
        let e = vars().expand("${USER}/x").unwrap_err();
        assert!(e.starts_with("unknown variable ${USER}"), "{e}");
        let e = vars().expand("/a/${HOME").unwrap_err();
        assert!(e.starts_with("unterminated \"${\""), "{e}");
        let e = vars().expand("${}").unwrap_err();
        assert!(e.starts_with("unknown variable ${}"), "{e}");
    }

    #[test]
    fn refuses_empty_home() {
        let v = Vars {
            home: String::new(),
            ..vars()
        };
        assert_eq!(
            v.expand("${HOME}/x").unwrap_err(),
            "${HOME} has no value in this environment"
        );
        assert_eq!(v.expand("/x").as_deref(), Ok("/x"));
    }

    #[test]
    fn an_agent_policy_has_no_cwd_or_home() {
        let v = Vars::agent();
        for name in ["CWD", "HOME"] {
            let e = v.expand(&format!("${{{name}}}/x")).unwrap_err();
            assert!(e.contains("not allowed in an agent policy"), "{e}");
        }
        assert_eq!(v.expand("${TMPDIR}/x").as_deref(), Ok("/tmp/x"));
        assert!(!v.resolve_links);
    }

    #[test]
    fn from_env_works_here() {
        let v = Vars::from_env().unwrap();
        assert!(v.cwd.starts_with('/'));
        assert!(!v.tmpdir.is_empty());
    }
}

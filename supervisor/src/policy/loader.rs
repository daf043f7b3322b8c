//! Reading policy files and embedded policies, following includes.
//!
//! A policy is a stack of layers: each include (depth first, in order),
//! then the file itself. Files are read once each time they are included
//! (a diamond is allowed and repeats the rules); a file that includes
//! itself, directly or not, is an error naming the chain. Included files are
//! named by joining the including file's directory with the include string,
//! so errors and origins show a path the user can open.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use super::embedded;
use super::error::PolicyError;
use super::json;
use super::model::Policy;
use super::parse::{self, Ctx, Include, Layer};
use super::vars::Vars;

/// A policy file larger than this is refused (a policy is a few kilobytes;
/// this keeps `fdsup check /dev/zero` from eating the memory).
const MAX_POLICY_BYTES: u64 = 4 << 20;

/// A policy and its includes may load at most this many files (embedded
/// ones included) and this many bytes in all: includes that fan out (each
/// file including the next ten times, eight deep) would otherwise load ten
/// million files from a few hundred bytes.
const MAX_FILES: usize = 1000;
const MAX_TOTAL_BYTES: u64 = 4 * MAX_POLICY_BYTES;

/// What is loaded so far: files, bytes.
#[derive(Default)]
struct Budget {
    files: usize,
    bytes: u64,
}

/// A policy's text, ready to parse.
struct Source {
    /// Shown in errors and origins: a path as given or resolved, or `@name`.
    name: Arc<str>,
    /// What makes two includes the same file, for cycle detection.
    identity: String,
    text: String,
    /// Whether this is an embedded policy (which may include only `@names`).
    embedded: bool,
    /// The canonical directory of a file, for relative redirect targets
    /// (`None` for an embedded policy, or a directory that is not UTF-8).
    dir: Option<String>,
}

/// Why a policy file could not be read.
enum ReadError {
    Io(std::io::Error),
    TooLarge,
    /// An include that is not a regular file (a FIFO, a device, a
    /// directory).
    NotRegular,
    /// Not UTF-8 from this position on.
    Utf8(json::Pos),
}

const NOT_REGULAR: &str = "not a regular file";

impl ReadError {
    /// The error, located at `pos` in `file` if given (an include), else in
    /// the unreadable file itself.
    fn into_policy_error(self, name: &str, at: Option<(&str, json::Pos, &str)>) -> PolicyError {
        let (message, io) = match self {
            ReadError::Utf8(pos) => return PolicyError::at(name, pos, "not valid UTF-8"),
            ReadError::Io(e) => ("cannot read".to_owned(), Some(e)),
            ReadError::TooLarge => (format!("larger than {MAX_POLICY_BYTES} bytes"), None),
            ReadError::NotRegular => (NOT_REGULAR.to_owned(), None),
        };
        let err = match at {
            Some((file, pos, field)) => {
                PolicyError::at(file, pos, format!("{field}: {message} {name:?}"))
            }
            None if message == NOT_REGULAR => PolicyError::whole_file(
                name,
                "not a policy file: a directory or a socket (a file, a pipe or a device is read)",
            ),
            None => PolicyError::whole_file(name, format!("{message} policy file")),
        };
        match io {
            Some(io) => err.with_io(io),
            None => err,
        }
    }
}

/// Loads a policy: `source` is a file path or `@name` of an embedded policy.
pub fn load(source: &str, vars: &Vars) -> Result<Policy, PolicyError> {
    let src = if source.starts_with('@') {
        embedded_source(source).ok_or_else(|| {
            PolicyError::whole_file(
                source,
                format!("no embedded policy named {source:?} ({})", known()),
            )
        })?
    } else {
        read_file(source, false).map_err(|e| e.into_policy_error(source, None))?
    };
    let mut chain = Vec::new();
    let mut budget = Budget::default();
    Ok(load_layer(src, vars, &mut chain, &mut budget)?.finish())
}

fn known() -> String {
    let names: Vec<&str> = embedded::names().collect();
    format!("there are {}", names.join(", "))
}

fn embedded_source(name: &str) -> Option<Source> {
    let text = embedded::embedded(name)?;
    Some(Source {
        name: name.into(),
        identity: name.to_owned(),
        text: text.to_owned(),
        embedded: true,
        dir: None,
    })
}

/// Reads a policy file. An `include` must be a regular file; the policy
/// named on the command line may also be a pipe or a device
/// (`--policy <(...)`, `/dev/stdin`), read up to the size limit. Opening
/// never waits: a FIFO nobody writes to reads as empty, where a plain open
/// would wait for a writer for ever.
fn read_file(path: &str, include: bool) -> Result<Source, ReadError> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(ReadError::Io)?;
    let kind = file.metadata().map_err(ReadError::Io)?.file_type();
    if !kind.is_file() {
        if include || !(kind.is_fifo() || kind.is_char_device()) {
            return Err(ReadError::NotRegular);
        }
        // Reads wait for a writer's data again (without one, a FIFO is at
        // its end).
        rustix::fs::fcntl_setfl(&file, rustix::fs::OFlags::empty())
            .map_err(|e| ReadError::Io(e.into()))?;
    }
    let mut bytes = Vec::new();
    file.take(MAX_POLICY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_POLICY_BYTES {
        return Err(ReadError::TooLarge);
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        let valid = e
            .as_bytes()
            .get(..e.utf8_error().valid_up_to())
            .unwrap_or_default();
        // Columns as the JSON reader counts them: a byte-order mark, which
        // it skips, takes none.
        let valid = valid.strip_prefix("\u{feff}".as_bytes()).unwrap_or(valid);
        let before = String::from_utf8_lossy(valid);
        let line = before.matches('\n').count() + 1;
        let col = before
            .rsplit('\n')
            .next()
            .unwrap_or_default()
            .chars()
            .count()
            + 1;
        ReadError::Utf8(json::Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            col: u32::try_from(col).unwrap_or(u32::MAX),
        })
    })?;
    let identity = fs::canonicalize(path)
        .map_or_else(|_| path.to_owned(), |p| p.to_string_lossy().into_owned());
    // The directory as named (not the one a symlinked file lives in), as for
    // includes; canonical, so that a relative target needs no `..`.
    let parent = match Path::new(path).parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = fs::canonicalize(parent)
        .ok()
        .and_then(|d| d.into_os_string().into_string().ok());
    Ok(Source {
        name: path.into(),
        identity,
        text,
        embedded: false,
        dir,
    })
}

/// Parses `src` and its includes into one layer. `chain` holds the
/// identities and names of the files being loaded, outermost first.
fn load_layer(
    src: Source,
    vars: &Vars,
    chain: &mut Vec<(String, Arc<str>)>,
    budget: &mut Budget,
) -> Result<Layer, PolicyError> {
    let tree = json::parse(&src.text).map_err(|e| PolicyError::at(&src.name, e.pos, e.message))?;
    let ctx = Ctx {
        file: Arc::clone(&src.name),
        base_dir: src.dir.clone(),
        vars,
    };
    let (includes, own) = parse::parse_file(&tree, &ctx)?;
    chain.push((src.identity.clone(), Arc::clone(&src.name)));
    let mut layer = Layer::default();
    for include in &includes {
        let child = open_include(&src, include)?;
        budget.files += 1;
        budget.bytes = budget.bytes.saturating_add(child.text.len() as u64);
        if budget.files > MAX_FILES || budget.bytes > MAX_TOTAL_BYTES {
            return Err(PolicyError::at(
                &src.name,
                include.pos,
                format!(
                    "{}: the policy with its includes loads more than {MAX_FILES} files or \
                     {MAX_TOTAL_BYTES} bytes (each include is loaded each time it is named)",
                    include.field
                ),
            ));
        }
        if let Some(start) = chain.iter().position(|(id, _)| *id == child.identity) {
            let mut names: Vec<&str> = chain[start..].iter().map(|(_, n)| &**n).collect();
            names.push(&child.name);
            return Err(PolicyError::at(
                &src.name,
                include.pos,
                format!("{}: include cycle: {}", include.field, names.join(" -> ")),
            ));
        }
        layer.absorb(load_layer(child, vars, chain, budget)?);
    }
    chain.pop();
    layer.absorb(own);
    Ok(layer)
}

/// Finds what `include` (in `parent`) names; errors are located at it.
fn open_include(parent: &Source, include: &Include) -> Result<Source, PolicyError> {
    let at = |message: String| {
        PolicyError::at(
            &parent.name,
            include.pos,
            format!("{}: {message}", include.field),
        )
    };
    if include.name.starts_with('@') {
        return embedded_source(&include.name).ok_or_else(|| {
            at(format!(
                "no embedded policy named {:?} ({})",
                include.name,
                known()
            ))
        });
    }
    if parent.embedded {
        return Err(at("an embedded policy can include only @names".to_owned()));
    }
    let joined = Path::new(&*parent.name)
        .parent()
        .unwrap_or_else(|| Path::new(""))
        .join(&include.name);
    let name = joined.to_string_lossy().into_owned();
    read_file(&name, true)
        .map_err(|e| e.into_policy_error(&name, Some((&parent.name, include.pos, &include.field))))
}

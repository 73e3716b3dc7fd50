//! The one error type of the native core. The bindings map each variant to a Python exception
//! class under a shared base (`tsqa._native.NativeError`); nothing here knows about Python.

use std::fmt;

/// Every failure the core can report. Messages quote the offending values.
#[derive(Debug)]
pub enum Error {
    /// A parameter is out of range or inconsistent (`name`, the value given, why).
    Param { name: &'static str, value: String, reason: String },
    /// Input records or columns cannot be used (ragged lengths, limits …).
    Input(String),
    /// A column has an unsupported type.
    Type(String),
    /// A bug: a panic caught at the boundary instead of reaching Python.
    Internal(String),
    /// A null where a value is required: column name and row.
    Null { column: String, row: usize },
    /// A persisted index is unreadable (bad magic, truncated, checksum).
    Format(String),
    /// A persisted index was built with other parameters than the caller asks for.
    Mismatch { name: &'static str, stored: String, requested: String },
    /// Reading or writing a file failed.
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn param(name: &'static str, value: impl fmt::Display, reason: impl Into<String>) -> Self {
        Error::Param { name, value: value.to_string(), reason: reason.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Param { name, value, reason } => {
                write!(f, "invalid {name}={value}: {reason}")
            }
            Error::Input(msg) | Error::Type(msg) | Error::Format(msg) => f.write_str(msg),
            Error::Internal(msg) => write!(f, "internal error in tsqa's native core (please report): {msg}"),
            Error::Null { column, row } => {
                write!(f, "column '{column}' has a null at row {row}; drop or fill nulls first")
            }
            Error::Mismatch { name, stored, requested } => write!(
                f,
                "index was built with {name}={stored} but {name}={requested} was requested; \
                 rebuild the index or use its parameters"
            ),
            Error::Io { path, source } => write!(f, "cannot access '{path}': {source}"),
        }
    }
}

impl std::error::Error for Error {}

/// Runs `f` on a rayon pool of `threads` workers owned by this call (never the global pool), so
/// concurrent callers with different settings do not interfere.
pub fn with_pool<R: Send>(threads: Option<usize>, f: impl FnOnce() -> R + Send) -> Result<R> {
    let n = match threads {
        Some(0) => return Err(Error::param("threads", 0, "must be at least 1 (or None for all cores)")),
        Some(n) if n > 1024 => return Err(Error::param("threads", n, "must be at most 1024")),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .map_err(|e| Error::Input(format!("cannot start {n} worker threads: {e}")))?;
    Ok(pool.install(f))
}

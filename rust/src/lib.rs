//! tsqa's native core. Every algorithm lives in plain Rust modules (no Python types) so that
//! `cargo test` exercises them directly; the PyO3 bindings live only in `py` behind the
//! `python` feature.

#[cfg(feature = "python")]
mod py;

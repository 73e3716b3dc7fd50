//! tsqa's native core. Every algorithm lives in plain Rust modules (no Python types) so that
//! `cargo test` exercises them directly; the PyO3 bindings live only in `py` behind the
//! `python` feature.
//!
//! Near-dup pipeline: `normalize` → `shingle` → `minhash` → `lsh` (bands, grouping) →
//! `cluster`, orchestrated by `neardup`, persisted by `index`. Also `exact` (xxh3-128 keep-first),
//! `answer` + `vote` (majority voting), `ngram` (contamination index), `render` (the packaged
//! text of a question), `parquet_footer` (a footer cut to its first row groups, for `tsqa plan`).

pub mod answer;
pub mod cluster;
pub mod error;
pub mod exact;
pub mod index;
pub mod lsh;
pub mod minhash;
pub mod neardup;
pub mod ngram;
pub mod normalize;
pub mod parquet_footer;
pub mod parse;
pub mod parse_json;
pub mod parse_pystr;
#[rustfmt::skip]
mod parse_pystr_tables;
mod persist;
pub mod render;
pub mod shingle;
pub mod sketch;
pub mod spill;
pub mod text;
pub mod vote;

#[cfg(feature = "python")]
mod py;

//! `parquet_file_head`: a Parquet file's footer cut down to its first row groups
//! (`crate::parquet_footer`).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::parquet_footer::{footer_head, read_footer};

/// (num_rows, row_groups, kept_groups, kept_rows, trimmed footer) of the file at `path` (its
/// footer read here: one open, two reads); None when it is no regular file, does not end like a
/// plain Parquet file, or its footer does not decode as a plain `FileMetaData` (the caller then
/// reads the file in full).
#[pyfunction]
#[pyo3(signature = (path, min_rows))]
pub fn parquet_file_head(
    py: Python<'_>,
    path: std::path::PathBuf,
    min_rows: i64,
) -> Option<(i64, usize, usize, i64, Bound<'_, PyBytes>)> {
    let head = footer_head(&read_footer(&path)?, min_rows).ok()?;
    Some((head.num_rows, head.row_groups, head.kept_groups, head.kept_rows, PyBytes::new(py, &head.footer)))
}

//! Binding of exact deduplication.

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::exact::{hash_records, keep_first};
use crate::normalize::NormalizeOptions;
use crate::py::arrow::{texts, ArrowTexts};
use crate::py::run::detached;
use crate::text::Texts;

/// Exact duplicates by xxh3-128 of one or more string columns; keeps the first occurrence.
#[pyfunction]
#[pyo3(signature = (columns, *, normalize=true, keep_digits=true, names=None, threads=None))]
pub fn exact_dedup<'py>(
    py: Python<'py>,
    columns: Vec<Bound<'py, PyAny>>,
    normalize: bool,
    keep_digits: bool,
    names: Option<Vec<String>>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyDict>> {
    let cols: Vec<ArrowTexts> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let name = names.as_ref().and_then(|n| n.get(i).cloned()).unwrap_or_else(|| format!("column {i}"));
            texts(c, &name)
        })
        .collect::<PyResult<_>>()?;
    let opts = normalize.then_some(NormalizeOptions { keep_digits });
    let r = detached(py, threads, || {
        let fields: Vec<&dyn Texts> = cols.iter().map(|c| c as &dyn Texts).collect();
        Ok(keep_first(hash_records(&fields, opts)?))
    })?;
    let out = PyDict::new(py);
    out.set_item("hash_hi", PyArray1::from_vec(py, r.hashes.iter().map(|h| (h >> 64) as u64).collect()))?;
    out.set_item("hash_lo", PyArray1::from_vec(py, r.hashes.iter().map(|&h| h as u64).collect()))?;
    out.set_item("is_duplicate", PyArray1::from_vec(py, r.is_duplicate))?;
    out.set_item("first_index", PyArray1::from_vec(py, r.first.into_iter().map(i64::from).collect()))?;
    Ok(out)
}

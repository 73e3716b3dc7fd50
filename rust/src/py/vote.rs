//! Binding of majority voting: list<string> samples, optional options and references.

use std::sync::Arc;

use arrow_array::{BooleanArray, StringArray};
use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::PyDict;
use rayon::prelude::*;

use crate::answer::{compile_pattern, regex_span, Mode};
use crate::error::Error;
use crate::py::arrow::to_pyarrow;
use crate::py::arrow::{lists, texts_nullable};
use crate::py::error::to_py;
use crate::py::run::detached;
use crate::text::Texts;
use crate::vote::{vote_all, Item};

/// Majority vote per item. See `tsqa.curate.vote.majority_vote`.
#[pyfunction]
#[pyo3(signature = (samples, *, mode="final_answer", options=None, references=None, threads=None, pattern=None))]
pub fn majority_vote<'py>(
    py: Python<'py>,
    samples: &Bound<'py, PyAny>,
    mode: &str,
    options: Option<&Bound<'py, PyAny>>,
    references: Option<&Bound<'py, PyAny>>,
    threads: Option<usize>,
    pattern: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let mode = Mode::parse(mode).map_err(to_py)?;
    let pattern = pattern
        .map(|p| compile_pattern(p).map_err(|why| to_py(Error::param("pattern", format!("{p:?}"), why))))
        .transpose()?;
    let samples = lists(samples, "samples", false)?;
    let options = options.map(|o| lists(o, "options", true)).transpose()?;
    let references = references.map(|r| texts_nullable(r, "references")).transpose()?;
    let n = samples.len();
    for (name, len) in
        [("options", options.as_ref().map(|o| o.len())), ("references", references.as_ref().map(|r| r.len()))]
    {
        if let Some(len) = len.filter(|&l| l != n) {
            return Err(to_py(Error::Input(format!("{name} has {len} rows but samples has {n}"))));
        }
    }
    let outcomes = detached(py, threads, || {
        // With a pattern, each sample is replaced by what the pattern cuts out of it ("" = none).
        let spans: Option<Vec<Vec<String>>> = pattern.as_ref().map(|re| {
            (0..n)
                .into_par_iter()
                .map(|i| {
                    samples.row(i).unwrap_or_default().iter().map(|s| regex_span(s, re).unwrap_or_default()).collect()
                })
                .collect()
        });
        let items: Vec<Item<'_>> = (0..n)
            .map(|i| Item {
                samples: match &spans {
                    Some(spans) => spans[i].iter().map(String::as_str).collect(),
                    None => samples.row(i).unwrap_or_default(),
                },
                options: options.as_ref().and_then(|o| o.row(i)),
                reference: references.as_ref().and_then(|r| r.text(i)),
            })
            .collect();
        Ok(vote_all(&items, mode))
    })?;
    let out = PyDict::new(py);
    let winner: StringArray = outcomes.iter().map(|o| o.winner.as_deref()).collect();
    let winner_text: StringArray = outcomes.iter().map(|o| o.winner_text.as_deref()).collect();
    let reference: StringArray = outcomes.iter().map(|o| o.reference.as_deref()).collect();
    let matches: BooleanArray = outcomes.iter().map(|o| o.matches_reference).collect();
    out.set_item("winner", to_pyarrow(py, Arc::new(winner))?)?;
    out.set_item("winner_text", to_pyarrow(py, Arc::new(winner_text))?)?;
    out.set_item("votes", PyArray1::from_vec(py, outcomes.iter().map(|o| i64::from(o.votes)).collect()))?;
    out.set_item("total", PyArray1::from_vec(py, outcomes.iter().map(|o| i64::from(o.total)).collect()))?;
    out.set_item("valid", PyArray1::from_vec(py, outcomes.iter().map(|o| i64::from(o.valid)).collect()))?;
    out.set_item("agreement", PyArray1::from_vec(py, outcomes.iter().map(|o| o.agreement).collect()))?;
    out.set_item("reference", to_pyarrow(py, Arc::new(reference))?)?;
    out.set_item("matches_reference", to_pyarrow(py, Arc::new(matches))?)?;
    Ok(out)
}

/// Why a spec's answer pattern cannot be used (Rust `regex` syntax, bounded size, exactly one
/// capture group), or None when it can.
#[pyfunction]
pub fn check_pattern(pattern: &str) -> Option<String> {
    compile_pattern(pattern).err()
}

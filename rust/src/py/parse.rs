//! Binding of the parse stage's core (`crate::parse`): Arrow columns of the generate stage in,
//! Arrow columns of the parse table and of its rejects out.

use std::sync::Arc;

use arrow_array::builder::{ListBuilder, StringBuilder};
use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, Int32Array, StringArray};
use arrow_schema::DataType;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::minhash::Kernel;
use crate::parse::{parse_all, Bounds, Candidate, Format, Rules};
use crate::py::arrow::{import_chunks, texts, texts_nullable, to_pyarrow};
use crate::py::error::to_py;
use crate::py::run::detached;
use crate::text::Texts;

/// A nullable integer column (int32 or int64) as Options.
fn ints(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<Vec<Option<i64>>> {
    let (chunks, dtype) = import_chunks(obj, column)?;
    let wrong =
        |t: &DataType| to_py(Error::Type(format!("column '{column}' has Arrow type {t}; expected int32 or int64")));
    if !matches!(dtype, DataType::Int32 | DataType::Int64 | DataType::Null) {
        return Err(wrong(&dtype));
    }
    let mut out = Vec::new();
    for c in chunks {
        match c.data_type() {
            DataType::Int32 => out.extend(c.as_primitive::<Int32Type>().iter().map(|v| v.map(i64::from))),
            DataType::Int64 => out.extend(c.as_primitive::<Int64Type>().iter()),
            DataType::Null => out.extend(std::iter::repeat_n(None, c.len())),
            other => return Err(wrong(other)),
        }
    }
    Ok(out)
}

/// Parses a batch of generator responses. See `tsqa.stages.parse.parse_columns`. Returns None
/// when a response needs Python's own JSON decoder (a lone surrogate escape, an integer of
/// thousands of digits, nesting past 100 levels): the caller parses that batch in Python.
#[pyfunction]
#[pyo3(signature = (candidate_id, seed_id, seed_question, n_options, text, finish_reason, error, *, format, with_context, question_chars, answer_chars, long_answer_chars, threads=None))]
#[allow(clippy::too_many_arguments)]
pub fn parse_generations<'py>(
    py: Python<'py>,
    candidate_id: &Bound<'py, PyAny>,
    seed_id: &Bound<'py, PyAny>,
    seed_question: &Bound<'py, PyAny>,
    n_options: &Bound<'py, PyAny>,
    text: &Bound<'py, PyAny>,
    finish_reason: &Bound<'py, PyAny>,
    error: &Bound<'py, PyAny>,
    format: &str,
    with_context: bool,
    question_chars: (usize, usize),
    answer_chars: (usize, usize),
    long_answer_chars: (usize, usize),
    threads: Option<usize>,
) -> PyResult<Option<Bound<'py, PyDict>>> {
    let ids = texts(candidate_id, "candidate_id")?;
    let seeds = texts(seed_id, "seed_id")?;
    let seed_questions = texts(seed_question, "seed_question")?;
    let n_options = ints(n_options, "n_options")?;
    let text = texts_nullable(text, "text")?;
    let finish = texts_nullable(finish_reason, "finish_reason")?;
    let error = texts_nullable(error, "error")?;
    let n = ids.len();
    for (name, len) in [
        ("seed_id", seeds.len()),
        ("seed_question", seed_questions.len()),
        ("n_options", n_options.len()),
        ("text", text.len()),
        ("finish_reason", finish.len()),
        ("error", error.len()),
    ] {
        if len != n {
            return Err(to_py(Error::Input(format!("{name} has {len} rows but candidate_id has {n}"))));
        }
    }
    let rules = Rules {
        format: Format::parse(format),
        with_context,
        bounds: Bounds { question: question_chars, answer: answer_chars, long_answer: long_answer_chars },
    };
    let candidates: Vec<Candidate<'_>> = (0..n)
        .map(|i| Candidate {
            candidate_id: ids.text(i).unwrap_or(""),
            seed_id: seeds.text(i).unwrap_or(""),
            seed_question: seed_questions.text(i).unwrap_or(""),
            n_options: n_options[i],
            text: text.text(i),
            truncated: finish.text(i) == Some("length"),
            error: error.text(i),
        })
        .collect();
    let Some(parsed) = detached(py, threads, || parse_all(&candidates, &rules, Kernel::detect()))? else {
        return Ok(None);
    };
    let qs = &parsed.questions;
    let question_id: StringArray =
        qs.iter().map(|q| Some(format!("{}.{}", candidates[q.candidate].candidate_id, q.position))).collect();
    let q_seed: StringArray = qs.iter().map(|q| Some(candidates[q.candidate].seed_id)).collect();
    let question: StringArray = qs.iter().map(|q| Some(q.question.as_str())).collect();
    let mut options = ListBuilder::new(StringBuilder::new());
    for q in qs {
        match &q.options {
            Some(list) => {
                for o in list {
                    options.values().append_value(o);
                }
                options.append(true);
            }
            None => options.append(false),
        }
    }
    let answer_index: Int32Array = qs.iter().map(|q| q.answer_index).collect();
    let answer_text: StringArray = qs.iter().map(|q| Some(q.answer_text.as_str())).collect();
    let context: StringArray = qs.iter().map(|q| q.context.as_deref()).collect();
    let rs = &parsed.rejects;
    let reject_id: StringArray = rs.iter().map(|r| Some(candidates[r.candidate].candidate_id)).collect();
    let reason: StringArray = rs.iter().map(|r| Some(r.reason)).collect();
    let detail: StringArray = rs.iter().map(|r| Some(r.detail.as_str())).collect();
    let out = PyDict::new(py);
    out.set_item("question_id", to_pyarrow(py, Arc::new(question_id))?)?;
    out.set_item("seed_id", to_pyarrow(py, Arc::new(q_seed))?)?;
    out.set_item("question", to_pyarrow(py, Arc::new(question))?)?;
    out.set_item("options", to_pyarrow(py, Arc::new(options.finish()))?)?;
    out.set_item("answer_index", to_pyarrow(py, Arc::new(answer_index))?)?;
    out.set_item("answer_text", to_pyarrow(py, Arc::new(answer_text))?)?;
    out.set_item("context", to_pyarrow(py, Arc::new(context))?)?;
    out.set_item("reject_id", to_pyarrow(py, Arc::new(reject_id))?)?;
    out.set_item("reject_reason", to_pyarrow(py, Arc::new(reason))?)?;
    out.set_item("reject_detail", to_pyarrow(py, Arc::new(detail))?)?;
    Ok(Some(out))
}

//! Binding of the packaged-text renderer (`render`): five Arrow columns in, one string array out.

use std::sync::Arc;

use arrow_array::StringArray;
use arrow_buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use pyo3::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::py::arrow::{lists_keeping_nulls, texts_nullable, to_pyarrow, ArrowLists, ArrowTexts};
use crate::py::error::to_py;
use crate::py::run::detached;
use crate::render::{render_into, Row};
use crate::text::Texts;

/// Rows rendered per rayon task.
const BLOCK: usize = 2048;

/// Renders rows `range` into one buffer; returns it and each row's end offset within it.
fn render_block(
    columns: &(ArrowTexts, ArrowTexts, ArrowLists, ArrowTexts, ArrowTexts),
    range: std::ops::Range<usize>,
) -> Result<(String, Vec<usize>)> {
    let (context, question, options, enrichment, answer) = columns;
    let mut out = String::with_capacity(range.len() * 256);
    let mut ends = Vec::with_capacity(range.len());
    for i in range {
        let options = options.items(i);
        let row = Row {
            context: context.text(i),
            question: question.text(i),
            options,
            enrichment: enrichment.text(i),
            answer: answer.text(i),
        };
        render_into(&mut out, i, row)?;
        ends.push(out.len());
    }
    Ok((out, ends))
}

/// The packaged text of every row (see `tsqa.stages.packaged_text`), as a pyarrow string array.
#[pyfunction]
#[pyo3(signature = (context, question, options, enrichment, answer_text, *, threads=None))]
pub fn render_packaged_texts<'py>(
    py: Python<'py>,
    context: &Bound<'py, PyAny>,
    question: &Bound<'py, PyAny>,
    options: &Bound<'py, PyAny>,
    enrichment: &Bound<'py, PyAny>,
    answer_text: &Bound<'py, PyAny>,
    threads: Option<usize>,
) -> PyResult<Bound<'py, PyAny>> {
    let columns = (
        texts_nullable(context, "context")?,
        texts_nullable(question, "question")?,
        lists_keeping_nulls(options, "options")?,
        texts_nullable(enrichment, "enrichment")?,
        texts_nullable(answer_text, "answer_text")?,
    );
    let n = columns.1.len();
    let lengths = [columns.0.len(), columns.2.len(), columns.3.len(), columns.4.len()];
    if lengths.iter().any(|&l| l != n) {
        return Err(to_py(Error::Input(format!(
            "columns context, question, options, enrichment, answer_text have different lengths: {:?}",
            [lengths[0], n, lengths[1], lengths[2], lengths[3]]
        ))));
    }
    let array = detached(py, threads, || {
        let blocks: Vec<(String, Vec<usize>)> = (0..n.div_ceil(BLOCK))
            .into_par_iter()
            .map(|b| render_block(&columns, b * BLOCK..n.min((b + 1) * BLOCK)))
            .collect::<Result<_>>()?;
        let total: usize = blocks.iter().map(|(s, _)| s.len()).sum();
        if total > i32::MAX as usize {
            return Err(Error::Input(format!(
                "{total} bytes of packaged text in one batch; pass fewer rows at a time"
            )));
        }
        let mut values = Vec::with_capacity(total);
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0i32);
        for (text, ends) in &blocks {
            let base = values.len();
            values.extend_from_slice(text.as_bytes());
            offsets.extend(ends.iter().map(|&e| (base + e) as i32));
        }
        let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
        // SAFETY: the values are the concatenation of Rust strings (valid UTF-8) and every offset
        // is the end of one of them (a character boundary), ascending from 0 to `values.len()`.
        Ok(unsafe { StringArray::new_unchecked(offsets, Buffer::from_vec(values), None) })
    })?;
    to_pyarrow(py, Arc::new(array))
}

//! Zero-copy views of Arrow columns handed over through the Arrow PyCapsule interface
//! (`__arrow_c_array__` / `__arrow_c_stream__`): pyarrow/polars/arro3 arrays, chunked arrays and
//! table columns. Strings may be `string`, `large_string` or `string_view`; nulls are refused with
//! the row named, because a silent "" would deduplicate all missing records together.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray, StringArray, StringViewArray};
use arrow_schema::DataType;
use pyo3::prelude::*;
use pyo3_arrow::input::AnyArray;

use crate::error::{Error, Result};
use crate::py::error::to_py;
use crate::text::Texts;

enum Chunk {
    Utf8(StringArray),
    Large(LargeStringArray),
    View(StringViewArray),
}

impl Chunk {
    fn len(&self) -> usize {
        match self {
            Chunk::Utf8(a) => a.len(),
            Chunk::Large(a) => a.len(),
            Chunk::View(a) => a.len(),
        }
    }
    fn array(&self) -> &dyn Array {
        match self {
            Chunk::Utf8(a) => a,
            Chunk::Large(a) => a,
            Chunk::View(a) => a,
        }
    }
}

/// A string column as `Texts`, chunks kept as imported.
pub struct ArrowTexts {
    chunks: Vec<Chunk>,
    /// Global row of each chunk's first element.
    starts: Vec<usize>,
    len: usize,
}

impl Texts for ArrowTexts {
    fn len(&self) -> usize {
        self.len
    }
    #[inline]
    fn text(&self, i: usize) -> Option<&str> {
        let c = if self.chunks.len() == 1 { 0 } else { self.starts.partition_point(|&s| s <= i) - 1 };
        let j = i - self.starts[c];
        let chunk = &self.chunks[c];
        if chunk.array().is_null(j) {
            return None;
        }
        Some(match chunk {
            Chunk::Utf8(a) => a.value(j),
            Chunk::Large(a) => a.value(j),
            Chunk::View(a) => a.value(j),
        })
    }
}

/// Imports any Arrow array-like object (the PyCapsule interface) as its chunks.
pub fn import_chunks(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<(Vec<ArrayRef>, DataType)> {
    let any: AnyArray = obj.extract().map_err(|_| {
        to_py(Error::Type(format!(
            "column '{column}' must be an Arrow array, chunked array or table column (got Python type '{}'); \
             pass e.g. pyarrow.array(values) or table['{column}']",
            obj.get_type().name().map(|n| n.to_string()).unwrap_or_default()
        )))
    })?;
    let chunked = any.into_chunked_array()?;
    let dtype = chunked.data_type().clone();
    let (chunks, _) = chunked.into_inner();
    // The C data interface hands over buffers unchecked; text that is not UTF-8 (or offsets past
    // the end) would be undefined behaviour in every `&str` taken from them. pyarrow checks what it
    // reads from Parquet, not arrays built in memory, so check here: linear, once per call.
    for chunk in &chunks {
        chunk
            .to_data()
            .validate_full()
            .map_err(|e| to_py(Error::Type(format!("column '{column}' is not valid Arrow data: {e}"))))?;
    }
    Ok((chunks, dtype))
}

/// Hands an Arrow array to Python as a `pyarrow.Array` (through the PyCapsule interface).
pub fn to_pyarrow(py: Python<'_>, array: ArrayRef) -> PyResult<Bound<'_, PyAny>> {
    let exported = Bound::new(py, pyo3_arrow::PyArray::from_array_ref(array))?;
    py.import("pyarrow")?.getattr("array")?.call1((exported,))
}

/// A non-null string column.
pub fn texts(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<ArrowTexts> {
    let (chunks, dtype) = import_chunks(obj, column)?;
    strings(chunks, &dtype, column).map_err(to_py)
}

/// A string column whose nulls are kept (`text` returns None), e.g. optional references.
pub fn texts_nullable(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<ArrowTexts> {
    let (chunks, dtype) = import_chunks(obj, column)?;
    build(chunks, &dtype, column, true).map_err(to_py)
}

pub fn strings(arrays: Vec<ArrayRef>, dtype: &DataType, column: &str) -> Result<ArrowTexts> {
    build(arrays, dtype, column, false)
}

fn build(arrays: Vec<ArrayRef>, dtype: &DataType, column: &str, allow_nulls: bool) -> Result<ArrowTexts> {
    // The declared type matters even without chunks (an empty int column is still wrong).
    if !matches!(dtype, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) {
        return Err(Error::Type(format!(
            "column '{column}' has Arrow type {dtype}; expected string, large_string or string_view"
        )));
    }
    let mut chunks = Vec::with_capacity(arrays.len());
    for a in arrays {
        chunks.push(match a.data_type() {
            DataType::Utf8 => Chunk::Utf8(a.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Chunk::Large(a.as_string::<i64>().clone()),
            DataType::Utf8View => Chunk::View(a.as_string_view().clone()),
            other => {
                return Err(Error::Type(format!(
                    "column '{column}' has Arrow type {other}; expected string, large_string or string_view"
                )))
            }
        });
    }
    let mut starts = Vec::with_capacity(chunks.len().max(1));
    let mut len = 0;
    for c in &chunks {
        starts.push(len);
        if !allow_nulls && c.array().null_count() > 0 {
            let j = (0..c.len()).find(|&j| c.array().is_null(j)).unwrap_or(0);
            return Err(Error::Null { column: column.to_string(), row: len + j });
        }
        len += c.len();
    }
    if starts.is_empty() {
        starts.push(0);
    }
    Ok(ArrowTexts { chunks, starts, len })
}

/// A `list<string>` (or large_list / list_view) column: per row, the string items.
pub struct ArrowLists {
    /// Per row: a range into `items`, or None for a null row.
    rows: Vec<Option<(usize, usize)>>,
    items: ArrowTexts,
}

impl ArrowLists {
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    pub fn row(&self, i: usize) -> Option<Vec<&str>> {
        let (a, b) = self.rows[i]?;
        Some((a..b).map(|j| self.items.text(j).unwrap_or("")).collect())
    }
    /// Row `i`'s items with their nulls (None for a null row), for a column imported by
    /// `lists_keeping_nulls`.
    pub fn items(&self, i: usize) -> Option<impl ExactSizeIterator<Item = Option<&str>> + '_> {
        let (a, b) = self.rows[i]?;
        Some((a..b).map(|j| self.items.text(j)))
    }
}

/// Imports a list-of-strings column; null items inside a list are refused, null rows allowed
/// only when `allow_null_rows`.
pub fn lists(obj: &Bound<'_, PyAny>, column: &str, allow_null_rows: bool) -> PyResult<ArrowLists> {
    let (chunks, dtype) = import_chunks(obj, column)?;
    lists_from(chunks, &dtype, column, allow_null_rows, false).map_err(to_py)
}

/// A list-of-strings column whose null rows and null items are kept (`ArrowLists::items`); a
/// column of Arrow type null is all null rows.
pub fn lists_keeping_nulls(obj: &Bound<'_, PyAny>, column: &str) -> PyResult<ArrowLists> {
    let (chunks, dtype) = import_chunks(obj, column)?;
    lists_from(chunks, &dtype, column, true, true).map_err(to_py)
}

fn lists_from(
    chunks: Vec<ArrayRef>,
    dtype: &DataType,
    column: &str,
    allow_null_rows: bool,
    allow_null_items: bool,
) -> Result<ArrowLists> {
    let mut rows = Vec::new();
    let mut values: Vec<ArrayRef> = Vec::new();
    let mut base = 0usize;
    let type_err = || {
        Error::Type(format!(
            "column '{column}' has Arrow type {dtype}; expected list<string> (one list of answers per item)"
        ))
    };
    for c in chunks {
        let (offsets, vals): (Vec<usize>, ArrayRef) = match c.data_type() {
            DataType::List(_) => {
                let l = c.as_list::<i32>();
                (l.value_offsets().iter().map(|&o| o as usize).collect(), l.values().clone())
            }
            DataType::LargeList(_) => {
                let l = c.as_list::<i64>();
                (l.value_offsets().iter().map(|&o| o as usize).collect(), l.values().clone())
            }
            DataType::Null if allow_null_rows => {
                (vec![0; c.len() + 1], Arc::new(StringArray::from(Vec::<&str>::new())) as ArrayRef)
            }
            _ => return Err(type_err()),
        };
        // Values may extend beyond the used offsets (sliced arrays); items are addressed by offset.
        for r in 0..c.len() {
            if c.is_null(r) {
                if !allow_null_rows {
                    return Err(Error::Null { column: column.to_string(), row: rows.len() });
                }
                rows.push(None);
            } else {
                rows.push(Some((base + offsets[r], base + offsets[r + 1])));
            }
        }
        base += vals.len();
        values.push(vals);
    }
    let item_type = values.first().map_or(DataType::Utf8, |v| v.data_type().clone());
    let items = build(values, &item_type, column, allow_null_items).map_err(|e| match e {
        Error::Null { row: item, .. } => {
            let row = rows.iter().position(|r| r.is_some_and(|(a, b)| a <= item && item < b)).unwrap_or(0);
            Error::Null { column: format!("{column}' (an answer inside the list) '"), row }
        }
        Error::Type(_) => type_err(),
        other => other,
    })?;
    Ok(ArrowLists { rows, items })
}

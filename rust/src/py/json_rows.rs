//! Rows of an Arrow struct column as JSON text, byte for byte what Python's
//! `json.dumps(row, ensure_ascii=False, default=str)` writes for `Table.to_pylist()`'s dicts
//! (normalise's `raw` column). Types whose Python value is not plain JSON (timestamps, decimals,
//! binary, maps …) are not handled: the caller then serialises in Python.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, StringArray};
use arrow_schema::DataType;
use pyo3::prelude::*;

use crate::parse_pystr::{push_json_float, push_json_str};
use crate::py::arrow::{import_chunks, to_pyarrow};

fn supported(t: &DataType) -> bool {
    match t {
        DataType::Null
        | DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64
        | DataType::Float32
        | DataType::Float64
        | DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View => true,
        DataType::List(f) | DataType::LargeList(f) => supported(f.data_type()),
        DataType::Struct(fields) => fields.iter().all(|f| supported(f.data_type())),
        _ => false,
    }
}

fn push_int(out: &mut String, v: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, "{v}");
}

/// Appends `json.dumps` of row `i` of `a` (a type `supported` accepts).
fn push_value(out: &mut String, a: &dyn Array, i: usize) {
    if a.is_null(i) {
        out.push_str("null");
        return;
    }
    match a.data_type() {
        DataType::Null => out.push_str("null"),
        DataType::Boolean => out.push_str(if a.as_boolean().value(i) { "true" } else { "false" }),
        DataType::Int8 => push_int(out, a.as_primitive::<Int8Type>().value(i)),
        DataType::Int16 => push_int(out, a.as_primitive::<Int16Type>().value(i)),
        DataType::Int32 => push_int(out, a.as_primitive::<Int32Type>().value(i)),
        DataType::Int64 => push_int(out, a.as_primitive::<Int64Type>().value(i)),
        DataType::UInt8 => push_int(out, a.as_primitive::<UInt8Type>().value(i)),
        DataType::UInt16 => push_int(out, a.as_primitive::<UInt16Type>().value(i)),
        DataType::UInt32 => push_int(out, a.as_primitive::<UInt32Type>().value(i)),
        DataType::UInt64 => push_int(out, a.as_primitive::<UInt64Type>().value(i)),
        DataType::Float32 => push_json_float(out, f64::from(a.as_primitive::<Float32Type>().value(i))),
        DataType::Float64 => push_json_float(out, a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => push_json_str(out, a.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => push_json_str(out, a.as_string::<i64>().value(i)),
        DataType::Utf8View => push_json_str(out, a.as_string_view().value(i)),
        DataType::List(_) => push_list(out, a.as_list::<i32>().value(i).as_ref()),
        DataType::LargeList(_) => push_list(out, a.as_list::<i64>().value(i).as_ref()),
        DataType::Struct(_) => push_struct(out, a.as_struct(), i),
        other => unreachable!("type {other} is refused by `supported`"),
    }
}

fn push_list(out: &mut String, items: &dyn Array) {
    out.push('[');
    for j in 0..items.len() {
        if j > 0 {
            out.push_str(", ");
        }
        push_value(out, items, j);
    }
    out.push(']');
}

fn push_struct(out: &mut String, s: &arrow_array::StructArray, i: usize) {
    out.push('{');
    for (k, (name, column)) in s.column_names().iter().zip(s.columns()).enumerate() {
        if k > 0 {
            out.push_str(", ");
        }
        push_json_str(out, name);
        out.push_str(": ");
        push_value(out, column.as_ref(), i);
    }
    out.push('}');
}

/// Each row of a struct column (e.g. `table.to_struct_array()`) as `json.dumps(row,
/// ensure_ascii=False, default=str)` would write its `to_pylist()` dict, as a pyarrow string
/// array; None when a column's type is not plain JSON in Python (timestamps, decimals, binary,
/// maps, dictionaries …).
#[pyfunction]
pub fn rows_as_json<'py>(py: Python<'py>, rows: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
    let (chunks, dtype) = import_chunks(rows, "rows")?;
    let DataType::Struct(fields) = &dtype else { return Ok(None) };
    let mut names: Vec<&str> = fields.iter().map(|f| f.name().as_str()).collect();
    names.sort_unstable();
    names.dedup();
    // A repeated column name is one key of Python's dict: not reproduced here.
    if names.len() != fields.len() || !supported(&dtype) {
        return Ok(None);
    }
    let mut texts: Vec<String> = Vec::new();
    for c in &chunks {
        let s = c.as_struct();
        for i in 0..s.len() {
            let mut out = String::new();
            if s.is_null(i) {
                out.push_str("null");
            } else {
                push_struct(&mut out, s, i);
            }
            texts.push(out);
        }
    }
    let array: StringArray = texts.iter().map(|t| Some(t.as_str())).collect();
    to_pyarrow(py, Arc::new(array)).map(Some)
}

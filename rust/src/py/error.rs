//! Exceptions: one class per `Error` variant under the shared base `tsqa._native.NativeError`,
//! each also a subclass of the builtin a caller would naturally catch (ValueError, TypeError,
//! OSError). Built once at import with `type(...)` because PyO3's `create_exception!` allows a
//! single base only.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyTuple, PyType};

use crate::error::Error;

/// (name, builtin bases besides NativeError, doc)
const CLASSES: [(&str, &str, &str); 6] = [
    ("ParameterError", "ValueError", "A parameter is out of range; the message quotes the value."),
    ("InputError", "ValueError", "Input records or columns cannot be used (lengths, limits)."),
    ("ColumnTypeError", "TypeError", "A column is not of a supported Arrow type."),
    ("NullValueError", "ValueError", "A column has a null where text is required; the message names the row."),
    ("IndexFormatError", "ValueError", "A persisted index is unreadable (bad magic, truncated, checksum)."),
    ("IndexMismatchError", "ValueError", "A persisted index was built with other parameters."),
];
const IO_CLASS: (&str, &str, &str) = ("NativeIOError", "OSError", "Reading or writing an index file failed.");

struct Classes {
    base: Py<PyType>,
    /// In `CLASSES` order, then the IO class.
    sub: Vec<Py<PyType>>,
}

static CLASSES_CELL: PyOnceLock<Classes> = PyOnceLock::new();

fn make(py: Python<'_>, name: &str, bases: Bound<'_, PyTuple>, doc: &str) -> PyResult<Py<PyType>> {
    let ns = PyDict::new(py);
    ns.set_item("__module__", "tsqa._native")?;
    ns.set_item("__doc__", doc)?;
    let ty = py.import("builtins")?.getattr("type")?.call1((name, bases, ns))?;
    Ok(ty.cast_into::<PyType>()?.unbind())
}

fn classes(py: Python<'_>) -> PyResult<&'static Classes> {
    CLASSES_CELL.get_or_try_init(py, || {
        let builtins = py.import("builtins")?;
        let exception = builtins.getattr("Exception")?;
        let base = make(
            py,
            "NativeError",
            PyTuple::new(py, [exception])?,
            "Base class of every error raised by tsqa's native core.",
        )?;
        let mut sub = Vec::new();
        for (name, builtin, doc) in CLASSES.iter().chain([&IO_CLASS]) {
            let bases = PyTuple::new(py, [base.bind(py).clone().into_any(), builtins.getattr(*builtin)?])?;
            sub.push(make(py, name, bases, doc)?);
        }
        Ok(Classes { base, sub })
    })
}

/// Adds the classes to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let c = classes(m.py())?;
    m.add("NativeError", c.base.bind(m.py()))?;
    for ((name, _, _), ty) in CLASSES.iter().chain([&IO_CLASS]).zip(&c.sub) {
        m.add(*name, ty.bind(m.py()))?;
    }
    Ok(())
}

/// The Python exception of a core error.
pub fn to_py(err: Error) -> PyErr {
    Python::attach(|py| {
        let c = match classes(py) {
            Ok(c) => c,
            Err(e) => return e,
        };
        let slot = match &err {
            Error::Param { .. } => 0,
            Error::Input(_) => 1,
            Error::Type(_) => 2,
            Error::Null { .. } => 3,
            Error::Format(_) => 4,
            Error::Mismatch { .. } => 5,
            Error::Io { .. } => 6,
            Error::Internal(_) => return PyErr::from_type(c.base.bind(py).clone(), err.to_string()),
        };
        PyErr::from_type(c.sub[slot].bind(py).clone(), err.to_string())
    })
}

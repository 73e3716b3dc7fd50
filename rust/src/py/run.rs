//! The one place the GIL is released: every binding calls `detached`, which runs the core on a
//! rayon pool owned by the call, turns a panic into `NativeError` instead of letting it reach
//! Python, and maps core errors to exceptions.

use std::panic::{catch_unwind, AssertUnwindSafe};

use pyo3::prelude::*;

use crate::error::{with_pool, Error, Result};
use crate::py::error::to_py;

pub fn detached<T: Send>(py: Python<'_>, threads: Option<usize>, f: impl FnOnce() -> Result<T> + Send) -> PyResult<T> {
    let out = py.detach(|| {
        catch_unwind(AssertUnwindSafe(|| with_pool(threads, f))).unwrap_or_else(|panic| {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into());
            Err(Error::Internal(msg))
        })
    });
    out.and_then(|r| r).map_err(to_py)
}

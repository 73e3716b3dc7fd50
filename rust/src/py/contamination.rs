//! Binding of the n-gram contamination index.

use std::path::PathBuf;
use std::sync::Arc;

use arrow_array::{ListArray, UInt64Array};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field};
use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::ngram::NgramIndex as CoreIndex;
use crate::normalize::NormalizeOptions;
use crate::py::arrow::texts;
use crate::py::arrow::to_pyarrow;
use crate::py::error::to_py;
use crate::py::run::detached;

/// Word n-gram index of evaluation texts.
#[pyclass(module = "tsqa._native", frozen)]
pub struct NgramIndex {
    inner: CoreIndex,
}

#[pymethods]
impl NgramIndex {
    /// Builds the index from eval texts; `ids` (one per text) default to positions.
    #[staticmethod]
    #[pyo3(signature = (texts_obj, ids=None, *, n=13, keep_digits=true, threads=None, column="texts"))]
    fn build<'py>(
        py: Python<'py>,
        texts_obj: &Bound<'py, PyAny>,
        ids: Option<PyReadonlyArray1<'py, u64>>,
        n: usize,
        keep_digits: bool,
        threads: Option<usize>,
        column: &str,
    ) -> PyResult<Self> {
        let t = texts(texts_obj, column)?;
        let ids: Option<Vec<u64>> = ids.map(|a| a.as_array().to_vec());
        let inner =
            detached(py, threads, || CoreIndex::build(&t, ids.as_deref(), n, NormalizeOptions { keep_digits }))?;
        Ok(NgramIndex { inner })
    }

    /// Per record: distinct overlapping n-grams (`count`, uint32) and eval ids hit (`ids`,
    /// a pyarrow list<uint64> array).
    #[pyo3(signature = (texts_obj, *, threads=None, column="texts"))]
    fn query<'py>(
        &self,
        py: Python<'py>,
        texts_obj: &Bound<'py, PyAny>,
        threads: Option<usize>,
        column: &str,
    ) -> PyResult<Bound<'py, PyDict>> {
        let t = texts(texts_obj, column)?;
        let o = detached(py, threads, || Ok(self.inner.query(&t)))?;
        let field = Arc::new(Field::new("item", DataType::UInt64, false));
        let offsets = OffsetBuffer::new(o.offsets.iter().map(|&x| x as i32).collect::<Vec<i32>>().into());
        if o.ids.len() > i32::MAX as usize {
            return Err(to_py(Error::Input("too many overlaps for a list<uint64> array".into())));
        }
        let list = ListArray::try_new(field, offsets, Arc::new(UInt64Array::from(o.ids)), None)
            .map_err(|e| to_py(Error::Internal(e.to_string())))?;
        let out = PyDict::new(py);
        out.set_item("count", PyArray1::from_vec(py, o.counts))?;
        out.set_item("ids", to_pyarrow(py, Arc::new(list))?)?;
        Ok(out)
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        detached(py, Some(1), || self.inner.save(&path))
    }

    /// Loads an index; `n`, when given, must match the stored n-gram size.
    #[staticmethod]
    #[pyo3(signature = (path, *, n=None))]
    fn load(py: Python<'_>, path: PathBuf, n: Option<usize>) -> PyResult<Self> {
        Ok(NgramIndex { inner: detached(py, Some(1), || CoreIndex::load(&path, n))? })
    }

    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }
    #[getter]
    fn num_grams(&self) -> usize {
        self.inner.num_grams()
    }
    fn __len__(&self) -> usize {
        self.inner.num_texts()
    }
    fn __repr__(&self) -> String {
        format!("NgramIndex(n={}, texts={}, grams={})", self.inner.n(), self.inner.num_texts(), self.inner.num_grams())
    }
}

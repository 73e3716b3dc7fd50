//! Bindings of the streamed dedup (`spill::StreamDedup`): typed arrays in and out, one shard per
//! call, the GIL released around the core.

use std::path::PathBuf;

use numpy::{PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;

use crate::neardup::{DedupParams, Verify};
use crate::py::arrow::texts;
use crate::py::error::to_py;
use crate::py::neardup::{kernel, sketch_params};
use crate::py::run::detached;
use crate::spill::StreamDedup as Core;

type Verdicts<'py> = (Bound<'py, PyArray1<u32>>, Bound<'py, PyArray1<u8>>, Bound<'py, PyArray1<i64>>);

/// Exact + near-duplicate dedup of questions streamed shard by shard, against seeds streamed the
/// same way. See `tsqa.curate.stream`.
#[pyclass(module = "tsqa._native")]
pub struct StreamDedup {
    inner: Core,
    threads: Option<usize>,
}

#[pymethods]
impl StreamDedup {
    #[new]
    #[pyo3(signature = (spill_dir, *, threshold=0.8, num_perm=128, ngram=5, shingle="word", keep_digits=true, seed=1, bands=None, rows=None, verify="exact", threads=None, kernel_name="auto"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        spill_dir: PathBuf,
        threshold: f64,
        num_perm: usize,
        ngram: usize,
        shingle: &str,
        keep_digits: bool,
        seed: u64,
        bands: Option<usize>,
        rows: Option<usize>,
        verify: &str,
        threads: Option<usize>,
        kernel_name: &str,
    ) -> PyResult<Self> {
        let sketch = sketch_params(threshold, num_perm, ngram, shingle, keep_digits, seed, bands, rows)?;
        let params = DedupParams {
            sketch,
            threshold,
            verify: Verify::parse(verify).map_err(to_py)?,
            kernel: kernel(kernel_name)?,
        };
        Ok(StreamDedup { inner: Core::new(params, &spill_dir).map_err(to_py)?, threads })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Seeds added so far.
    #[getter]
    fn seeds(&self) -> usize {
        self.inner.seeds()
    }

    /// The next questions belong to another task (question ids are unique per task).
    fn next_task(&mut self) {
        self.inner.next_task();
    }

    /// Adds one shard; rows whose id this task already had are skipped. Returns the positions
    /// (in the shard) of the rows added.
    #[pyo3(signature = (ids, texts_obj, scores))]
    fn add_questions<'py>(
        &mut self,
        py: Python<'py>,
        ids: &Bound<'py, PyAny>,
        texts_obj: &Bound<'py, PyAny>,
        scores: PyReadonlyArray1<'py, f64>,
    ) -> PyResult<Bound<'py, PyArray1<u32>>> {
        let ids = texts(ids, "question_id")?;
        let texts = texts(texts_obj, "texts")?;
        let scores = scores.as_slice()?.to_vec();
        let inner = &mut self.inner;
        let take = detached(py, self.threads, || inner.add_questions(&ids, &texts, &scores))?;
        Ok(PyArray1::from_vec(py, take))
    }

    fn add_seeds(&mut self, py: Python<'_>, texts_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = texts(texts_obj, "seeds")?;
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.add_seeds(&texts))
    }

    /// Groups the spilled keys; returns whether questions / seeds must be fed again.
    fn resolve(&mut self, py: Python<'_>) -> PyResult<(bool, bool)> {
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.resolve())
    }

    fn feed_questions(&mut self, py: Python<'_>, start: usize, texts_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = texts(texts_obj, "texts")?;
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.feed_questions(start, &texts))
    }

    fn feed_seeds(&mut self, py: Python<'_>, start: usize, texts_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = texts(texts_obj, "seeds")?;
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.feed_seeds(start, &texts))
    }

    /// The dropped rows (sorted), their reasons (1 exact, 2 seed, 3 near) and the row, seed or
    /// representative each duplicates.
    fn finish<'py>(&mut self, py: Python<'py>) -> PyResult<Verdicts<'py>> {
        let inner = &mut self.inner;
        let (rows, reasons, other) = detached(py, self.threads, || {
            inner.finish().map(|v| (v.rows.clone(), v.reasons.clone(), v.other.clone()))
        })?;
        Ok((PyArray1::from_vec(py, rows), PyArray1::from_vec(py, reasons), PyArray1::from_vec(py, other)))
    }

    /// Starts writing the MinHash index of the kept rows (not dropped here nor in `also_dropped`).
    fn begin_save<'py>(
        &mut self,
        py: Python<'py>,
        path: PathBuf,
        also_dropped: PyReadonlyArray1<'py, u32>,
    ) -> PyResult<()> {
        let also = also_dropped.as_slice()?.to_vec();
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.begin_save(&path, &also))
    }

    /// Spill each question's signature as it is added, so `save_spilled` needs no texts.
    fn keep_signatures(&mut self) -> PyResult<()> {
        self.inner.keep_signatures().map_err(to_py)
    }

    /// The whole index from the spilled signatures (instead of `save_feed` of every shard).
    fn save_spilled(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.save_spilled())
    }

    fn save_feed(&mut self, py: Python<'_>, start: usize, texts_obj: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = texts(texts_obj, "texts")?;
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.save_feed(start, &texts))
    }

    fn end_save(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        detached(py, self.threads, || inner.end_save())
    }
}

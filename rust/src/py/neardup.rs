//! Bindings of near-duplicate detection: `near_dedup`, `minhash_signatures`, `band_keys`,
//! `choose_bands` and the persistent `MinHashIndex`.

use std::path::PathBuf;

use numpy::{PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::error::Error;
use crate::index::MinHashIndex as CoreIndex;
use crate::lsh;
use crate::minhash::Kernel;
use crate::neardup::{index_matches, near_dedup as core_near_dedup, DedupParams, Verify};
use crate::normalize::NormalizeOptions;
use crate::py::arrow::texts;
use crate::py::error::to_py;
use crate::py::run::detached;
use crate::shingle::ShingleKind;
use crate::sketch::{SketchParams, Sketcher};
use crate::text::Texts;

/// Checks and assembles the sketch parameters shared by every near-dup entry point.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sketch_params(
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    shingle: &str,
    keep_digits: bool,
    seed: u64,
    bands: Option<usize>,
    rows: Option<usize>,
) -> PyResult<SketchParams> {
    let kind = match shingle {
        "word" => ShingleKind::Word(ngram),
        "char" => ShingleKind::Char(ngram),
        other => return Err(to_py(Error::param("shingle", format!("'{other}'"), "expected 'word' or 'char'"))),
    };
    let bands_rows = match (bands, rows) {
        (Some(b), Some(r)) => Some((b, r)),
        (None, None) => None,
        (b, r) => {
            return Err(to_py(Error::param(
                "bands",
                format!("{b:?}/rows={r:?}"),
                "give both bands and rows, or neither",
            )))
        }
    };
    if !(threshold > 0.0 && threshold <= 1.0) {
        return Err(to_py(Error::param("threshold", threshold, "must be in (0, 1]")));
    }
    SketchParams::new(num_perm, seed, threshold, bands_rows, kind, NormalizeOptions { keep_digits }).map_err(to_py)
}

pub(crate) fn kernel(name: &str) -> PyResult<Kernel> {
    Kernel::parse(name).map_err(to_py)
}

/// Near-duplicate clusters of a string column. See `tsqa.curate.neardup.near_dedup`.
#[pyfunction]
#[pyo3(signature = (texts_obj, *, threshold=0.8, num_perm=128, ngram=5, shingle="word", keep_digits=true, seed=1, bands=None, rows=None, verify="exact", scores=None, index=None, threads=None, kernel_name="auto", column="texts"))]
#[allow(clippy::too_many_arguments)]
pub fn near_dedup<'py>(
    py: Python<'py>,
    texts_obj: &Bound<'py, PyAny>,
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    shingle: &str,
    keep_digits: bool,
    seed: u64,
    bands: Option<usize>,
    rows: Option<usize>,
    verify: &str,
    scores: Option<PyReadonlyArray1<'py, f64>>,
    index: Option<PyRef<'py, MinHashIndex>>,
    threads: Option<usize>,
    kernel_name: &str,
    column: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let sketch = sketch_params(threshold, num_perm, ngram, shingle, keep_digits, seed, bands, rows)?;
    let params =
        DedupParams { sketch, threshold, verify: Verify::parse(verify).map_err(to_py)?, kernel: kernel(kernel_name)? };
    let texts = texts(texts_obj, column)?;
    let scores: Option<Vec<f64>> = scores.map(|s| s.as_array().to_vec());
    let idx = index.as_ref().map(|i| &i.inner);
    let r = detached(py, threads, || core_near_dedup(&texts, &params, scores.as_deref(), idx))?;
    let out = PyDict::new(py);
    out.set_item("cluster_id", PyArray1::from_vec(py, r.cluster_id.into_iter().map(i64::from).collect()))?;
    out.set_item("is_duplicate", PyArray1::from_vec(py, r.is_duplicate))?;
    out.set_item("duplicate_of", PyArray1::from_vec(py, r.duplicate_of))?;
    out.set_item("cluster_size", PyArray1::from_vec(py, r.cluster_size.into_iter().map(i64::from).collect()))?;
    out.set_item("index_match", PyArray1::from_vec(py, r.index_match))?;
    let s = r.stats;
    let stats = PyDict::new(py);
    for (k, v) in [
        ("band_keys_s", s.band_keys_s),
        ("index_s", s.index_s),
        ("group_s", s.group_s),
        ("verify_s", s.verify_s),
        ("cluster_s", s.cluster_s),
    ] {
        stats.set_item(k, v)?;
    }
    stats.set_item("candidate_pairs", s.candidate_pairs)?;
    stats.set_item("verified_pairs", s.verified_pairs)?;
    stats.set_item("index_matches", s.index_matches)?;
    stats.set_item("bands", sketch.bands)?;
    stats.set_item("rows", sketch.rows)?;
    stats.set_item("kernel", params.kernel.name())?;
    out.set_item("stats", stats)?;
    Ok(out)
}

/// `n × num_perm` MinHash signatures (uint32); rows of records without shingles are all 2^32-1.
#[pyfunction]
#[pyo3(signature = (texts_obj, *, num_perm=128, ngram=5, shingle="word", keep_digits=true, seed=1, threads=None, kernel_name="auto", column="texts"))]
#[allow(clippy::too_many_arguments)]
pub fn minhash_signatures<'py>(
    py: Python<'py>,
    texts_obj: &Bound<'py, PyAny>,
    num_perm: usize,
    ngram: usize,
    shingle: &str,
    keep_digits: bool,
    seed: u64,
    threads: Option<usize>,
    kernel_name: &str,
    column: &str,
) -> PyResult<Bound<'py, PyArray2<u32>>> {
    let params = sketch_params(1.0, num_perm, ngram, shingle, keep_digits, seed, Some(1), Some(1))?;
    let k = kernel(kernel_name)?;
    let texts = texts(texts_obj, column)?;
    let n = texts.len();
    let sigs = detached(py, threads, || Ok(Sketcher::new(params, k)?.signatures(&texts)))?;
    PyArray1::from_vec(py, sigs).reshape([n, num_perm])
}

/// `bands × n` LSH band keys (uint64, band-major); 0 marks a record without shingles.
#[pyfunction]
#[pyo3(signature = (texts_obj, *, threshold=0.8, num_perm=128, ngram=5, shingle="word", keep_digits=true, seed=1, bands=None, rows=None, threads=None, kernel_name="auto", column="texts"))]
#[allow(clippy::too_many_arguments)]
pub fn band_keys<'py>(
    py: Python<'py>,
    texts_obj: &Bound<'py, PyAny>,
    threshold: f64,
    num_perm: usize,
    ngram: usize,
    shingle: &str,
    keep_digits: bool,
    seed: u64,
    bands: Option<usize>,
    rows: Option<usize>,
    threads: Option<usize>,
    kernel_name: &str,
    column: &str,
) -> PyResult<Bound<'py, PyArray2<u64>>> {
    let params = sketch_params(threshold, num_perm, ngram, shingle, keep_digits, seed, bands, rows)?;
    let k = kernel(kernel_name)?;
    let texts = texts(texts_obj, column)?;
    let n = texts.len();
    let keys = detached(py, threads, || Ok(Sketcher::new(params, k)?.band_keys(&texts).keys))?;
    PyArray1::from_vec(py, keys).reshape([params.bands, n])
}

/// `(bands, rows)` chosen for `num_perm` and `threshold`, and the detection probability at it.
#[pyfunction]
#[pyo3(signature = (threshold, num_perm=128))]
pub fn choose_bands(threshold: f64, num_perm: usize) -> PyResult<(usize, usize, f64)> {
    if !(1..=4096).contains(&num_perm) {
        return Err(to_py(Error::param("num_perm", num_perm, "must be between 1 and 4096")));
    }
    let (b, r) = lsh::choose_bands(num_perm, threshold).map_err(to_py)?;
    Ok((b, r, lsh::detection_probability(threshold, b, r)))
}

/// A persistent index of MinHash band keys and signatures.
#[pyclass(module = "tsqa._native")]
pub struct MinHashIndex {
    inner: CoreIndex,
}

#[pymethods]
impl MinHashIndex {
    #[new]
    #[pyo3(signature = (*, threshold=0.8, num_perm=128, ngram=5, shingle="word", keep_digits=true, seed=1, bands=None, rows=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        threshold: f64,
        num_perm: usize,
        ngram: usize,
        shingle: &str,
        keep_digits: bool,
        seed: u64,
        bands: Option<usize>,
        rows: Option<usize>,
    ) -> PyResult<Self> {
        Ok(MinHashIndex {
            inner: CoreIndex::new(sketch_params(threshold, num_perm, ngram, shingle, keep_digits, seed, bands, rows)?),
        })
    }

    /// Adds the records of `texts` (ids default to positions after the current records) and
    /// returns how many were added; records without shingles are skipped.
    #[pyo3(signature = (texts_obj, ids=None, *, threads=None, kernel_name="auto", column="texts"))]
    fn add<'py>(
        &mut self,
        py: Python<'py>,
        texts_obj: &Bound<'py, PyAny>,
        ids: Option<PyReadonlyArray1<'py, u64>>,
        threads: Option<usize>,
        kernel_name: &str,
        column: &str,
    ) -> PyResult<usize> {
        let k = kernel(kernel_name)?;
        let texts = texts(texts_obj, column)?;
        let ids: Option<Vec<u64>> = ids.map(|a| a.as_array().to_vec());
        let inner = &mut self.inner;
        detached(py, threads, || inner.add(&texts, ids.as_deref(), k))
    }

    /// Per record of `texts`, the lowest id of a verified match in the index, or -1.
    #[pyo3(signature = (texts_obj, *, threshold=0.8, threads=None, kernel_name="auto", column="texts"))]
    fn matches<'py>(
        &self,
        py: Python<'py>,
        texts_obj: &Bound<'py, PyAny>,
        threshold: f64,
        threads: Option<usize>,
        kernel_name: &str,
        column: &str,
    ) -> PyResult<Bound<'py, PyArray1<i64>>> {
        let k = kernel(kernel_name)?;
        let texts = texts(texts_obj, column)?;
        let inner = &self.inner;
        Ok(PyArray1::from_vec(py, detached(py, threads, || index_matches(&texts, inner, threshold, k))?))
    }

    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        detached(py, Some(1), || self.inner.save(&path))
    }

    /// Loads an index; keyword parameters given here must match the stored ones.
    #[staticmethod]
    #[pyo3(signature = (path, *, threshold=None, num_perm=None, ngram=None, shingle=None, keep_digits=None, seed=None, bands=None, rows=None))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        path: PathBuf,
        threshold: Option<f64>,
        num_perm: Option<usize>,
        ngram: Option<usize>,
        shingle: Option<&str>,
        keep_digits: Option<bool>,
        seed: Option<u64>,
        bands: Option<usize>,
        rows: Option<usize>,
    ) -> PyResult<MinHashIndex> {
        let inner = detached(py, Some(1), || CoreIndex::load(&path, None))?;
        let s = *inner.params();
        let any = threshold.is_some()
            || num_perm.is_some()
            || ngram.is_some()
            || shingle.is_some()
            || keep_digits.is_some()
            || seed.is_some()
            || bands.is_some()
            || rows.is_some();
        if any {
            let stored_shingle = match s.shingle {
                ShingleKind::Word(_) => "word",
                ShingleKind::Char(_) => "char",
            };
            let (b, r) = match (bands, rows, threshold) {
                (None, None, None) => (Some(s.bands), Some(s.rows)),
                other => (other.0, other.1),
            };
            let want = sketch_params(
                threshold.unwrap_or(0.8),
                num_perm.unwrap_or(s.num_perm),
                ngram.unwrap_or(s.shingle.n()),
                shingle.unwrap_or(stored_shingle),
                keep_digits.unwrap_or(s.normalize.keep_digits),
                seed.unwrap_or(s.seed),
                b,
                r,
            )?;
            inner.check_params(&want).map_err(to_py)?;
        }
        Ok(MinHashIndex { inner })
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// The parameters the index was built with.
    #[getter]
    fn params<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.params();
        let d = PyDict::new(py);
        d.set_item("num_perm", s.num_perm)?;
        d.set_item("seed", s.seed)?;
        d.set_item("bands", s.bands)?;
        d.set_item("rows", s.rows)?;
        d.set_item(
            "shingle",
            match s.shingle {
                ShingleKind::Word(_) => "word",
                ShingleKind::Char(_) => "char",
            },
        )?;
        d.set_item("ngram", s.shingle.n())?;
        d.set_item("keep_digits", s.normalize.keep_digits)?;
        d.set_item("algorithm_version", crate::minhash::ALGORITHM_VERSION)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        let s = self.inner.params();
        format!(
            "MinHashIndex(records={}, num_perm={}, bands={}, rows={}, shingle='{}', seed={})",
            self.inner.len(),
            s.num_perm,
            s.bands,
            s.rows,
            s.shingle,
            s.seed
        )
    }
}

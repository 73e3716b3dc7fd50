//! PyO3 bindings: the only place Python types appear. One file per area; `run::detached` is the
//! single place the GIL is released, `error` maps core errors to exception classes.

mod arrow;
mod contamination;
mod error;
mod exact;
mod json_rows;
mod neardup;
mod parquet_footer;
mod parse;
mod render;
mod run;
mod spill;
mod vote;

use pyo3::prelude::*;

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("ALGORITHM_VERSION", crate::minhash::ALGORITHM_VERSION)?;
    m.add("DETECTED_KERNEL", crate::minhash::Kernel::detect().name())?;
    error::register(m)?;
    m.add_function(wrap_pyfunction!(neardup::near_dedup, m)?)?;
    m.add_function(wrap_pyfunction!(neardup::minhash_signatures, m)?)?;
    m.add_function(wrap_pyfunction!(neardup::band_keys, m)?)?;
    m.add_function(wrap_pyfunction!(neardup::choose_bands, m)?)?;
    m.add_class::<neardup::MinHashIndex>()?;
    m.add_function(wrap_pyfunction!(exact::exact_dedup, m)?)?;
    m.add_function(wrap_pyfunction!(vote::majority_vote, m)?)?;
    m.add_function(wrap_pyfunction!(vote::check_pattern, m)?)?;
    m.add_function(wrap_pyfunction!(parse::parse_generations, m)?)?;
    m.add_function(wrap_pyfunction!(json_rows::rows_as_json, m)?)?;
    m.add_class::<contamination::NgramIndex>()?;
    m.add_class::<spill::StreamDedup>()?;
    m.add_function(wrap_pyfunction!(render::render_packaged_texts, m)?)?;
    m.add_function(wrap_pyfunction!(parquet_footer::parquet_file_head, m)?)?;
    Ok(())
}

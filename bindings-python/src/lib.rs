//! The native module `dajisaas._dajisaas`: a thin skin over the `dajisaas` crate. Signing,
//! validation, retries and parsing all live in the core; this converts types and maps errors.

mod client;
mod convert;
mod errors;
mod results;

use pyo3::prelude::*;

use crate::errors::run;

/// Clears pyo3-log's cached levels, so that a client sees the logging configuration of the
/// moment it is created.
static LOGGING: std::sync::OnceLock<pyo3_log::ResetHandle> = std::sync::OnceLock::new();

pub(crate) fn refresh_logging_levels() {
    if let Some(handle) = LOGGING.get() {
        handle.reset();
    }
}

/// The signature of `params` (any mapping with str keys) under `secret`: 32 uppercase hex digits.
#[pyfunction]
fn sign(params: &Bound<'_, PyAny>, secret: &str) -> PyResult<String> {
    run(|| Ok(dajisaas::sign(&convert::params(Some(params))?, secret)))
}

/// The string that `sign` hashes, with the secret shown as `***`.
#[pyfunction]
fn signing_string_masked(params: &Bound<'_, PyAny>) -> PyResult<String> {
    run(|| {
        Ok(dajisaas::signing_string_masked(&convert::params(Some(
            params,
        ))?))
    })
}

/// Panics inside the panic boundary, so that tests can show a Rust panic surfaces as
/// `InternalError` and leaves the interpreter running.
#[pyfunction]
fn _panic_for_tests() -> PyResult<()> {
    run(|| -> dajisaas::Result<()> { panic!("deliberate panic for the test suite") })
}

#[pymodule]
fn _dajisaas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // Core log records go to Python's `logging` under the logger "dajisaas". Levels are cached
    // (asking Python on every request would take the GIL from an I/O thread each time) and read
    // again whenever a client is created.
    if let Ok(handle) =
        pyo3_log::Logger::new(m.py(), pyo3_log::Caching::LoggersAndLevels)?.install()
    {
        let _ = LOGGING.set(handle);
    }
    // The tokio runtime of AsyncClient: pyo3-async-runtimes polls every coroutine's future on
    // it, and the core runs an async call in the tokio runtime that polls it, so AsyncClient's
    // requests and connections are driven by this runtime's one worker thread. The blocking
    // Client's calls run on the core's own I/O runtime (two "dajisaas-io" threads, started with
    // the first client and stopped with the last).
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.worker_threads(1).enable_all();
    pyo3_async_runtimes::tokio::init(runtime);
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<client::AsyncClient>()?;
    m.add_class::<results::PayUrl>()?;
    m.add_class::<results::Payment>()?;
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    m.add_function(wrap_pyfunction!(signing_string_masked, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}

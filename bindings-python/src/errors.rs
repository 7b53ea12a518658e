//! Core errors as the Python exceptions of `dajisaas._errors`.

use dajisaas::Error;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

static FROM_NATIVE: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The exception class for the error's code, with its fields set.
pub fn to_py_err(error: Error) -> PyErr {
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let factory = FROM_NATIVE.get_or_try_init(py, || {
                py.import("dajisaas._errors")?
                    .getattr("_from_native")
                    .map(Bound::unbind)
            })?;
            let exception = factory.bind(py).call1((
                error.code().as_str(),
                error.message(),
                error.trace_id(),
                error.api_code(),
                error.http_status(),
                error.attempts(),
            ))?;
            Ok(PyErr::from_value(exception))
        };
        build().unwrap_or_else(|e| PyRuntimeError::new_err(format!("{error} (and: {e})")))
    })
}

/// Runs `f` inside the core's panic boundary (a panic becomes an `internal` error, never a
/// `PanicException`, which is not a `DajisaasError`), with the error raised as its exception.
pub fn run<T>(f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    dajisaas::catch_panic(f).map_err(to_py_err)
}

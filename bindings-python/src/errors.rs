//! Core errors as the Python exceptions of `dajisaas._errors`.
//!
//! An exception is built without running any Python bytecode, so that a signal handler can never
//! fire inside the conversion and replace the library's error with its own: the instance is made
//! by the class's `__new__`, which is C code (`BaseException.__new__`, or `OSError.__new__` for
//! the two errors that are also built-in `ConnectionError`/`TimeoutError`; the class's Python
//! `__init__` is not run), its `args` set to `(message,)` (so that it pickles), and its fields
//! put straight into its `__dict__`, which is what `DajisaasError.__init__` would have done. The
//! classes are looked up once, when the module loads.

use dajisaas::Error;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString};

struct Classes {
    /// `ERRORS_BY_CODE`: code -> class.
    by_code: Py<PyDict>,
    internal: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

/// Imports the exception classes (at module load, where running Python code is expected).
pub fn load(py: Python<'_>) -> PyResult<()> {
    CLASSES.get_or_try_init(py, || -> PyResult<Classes> {
        let module = py.import("dajisaas._errors")?;
        Ok(Classes {
            by_code: module
                .getattr("ERRORS_BY_CODE")?
                .cast_into::<PyDict>()?
                .unbind(),
            internal: module.getattr("InternalError")?.unbind(),
        })
    })?;
    Ok(())
}

fn build(py: Python<'_>, error: &Error) -> PyResult<PyErr> {
    load(py)?;
    let classes = CLASSES.get(py).expect("loaded above");
    let by_code = classes.by_code.bind(py);
    // A dict lookup with a str key runs no Python code.
    let class = match by_code.get_item(error.code().as_str())? {
        Some(class) => class,
        None => classes.internal.bind(py).clone(),
    };
    let message = PyString::new(py, error.message());
    let new = class.getattr(pyo3::intern!(py, "__new__"))?;
    let exception = new.call1((&class, &message))?;
    exception.setattr(pyo3::intern!(py, "args"), (&message,))?;
    let fields = exception.getattr(pyo3::intern!(py, "__dict__"))?;
    let fields = fields.cast::<PyDict>()?;
    fields.set_item(pyo3::intern!(py, "message"), message)?;
    fields.set_item(pyo3::intern!(py, "trace_id"), error.trace_id())?;
    fields.set_item(pyo3::intern!(py, "api_code"), error.api_code())?;
    fields.set_item(pyo3::intern!(py, "http_status"), error.http_status())?;
    fields.set_item(pyo3::intern!(py, "attempts"), error.attempts())?;
    Ok(PyErr::from_value(exception))
}

/// The exception class for the error's code, with its fields set. Only a failure of Python
/// itself (out of memory) can come out instead, and then as that failure, never as a
/// `RuntimeError` wrapping the library's message.
pub fn to_py_err(py: Python<'_>, error: Error) -> PyErr {
    build(py, &error).unwrap_or_else(|failure| failure)
}

/// Runs `f` inside the core's panic boundary (a panic becomes an `internal` error, never a
/// `PanicException`, which is not a `DajisaasError`), with the error raised as its exception.
pub fn run<T>(py: Python<'_>, f: impl FnOnce() -> Result<T, Error>) -> PyResult<T> {
    dajisaas::catch_panic(f).map_err(|e| to_py_err(py, e))
}

//! The native module `dajisaas._dajisaas`: a thin skin over the `dajisaas` crate. Signing,
//! validation, retries and parsing all live in the core; this converts types and maps errors.
//!
//! # Threads: Python is touched only from Python's threads
//!
//! The core runs every call on its own runtime threads ("dajisaas-io"). None of them ever
//! attaches to the interpreter: results, errors and log records are plain Rust data that Python
//! threads pick up.
//!
//! - Blocking `Client` (`blocking`): the call runs as a core task started with
//!   `dajisaas::AsyncClient::start`; the caller's thread waits for its outcome with the GIL
//!   released, waking every 100 ms to run signal handlers, whose exceptions propagate at once
//!   (the core task goes on to its outcome).
//! - `AsyncClient` (`bridge`): the outcome is queued for the event loop that awaits it and the
//!   loop is woken through a socket pair it watches (`loop.add_reader`); the loop's own thread
//!   makes the Python objects and sets the futures, skipping cancelled ones.
//! - Both clients share one native class (`client`): each call is declared once and serves every
//!   face (`face`): no face is the blocking wait above; `face=(bridge, future)` starts the call
//!   and returns a handle, and the bridge's host settles the future: an asyncio loop for
//!   `AsyncClient`, or, for a blocking call in a program whose `threading` gevent or eventlet
//!   patched, the greenlet itself, which waits on the bridge's socket through the hub.
//! - Logging (`logs`): records are queued by a `log::Log` of this module (levels read from
//!   Python's logging on Python threads) and emitted by Python code (`dajisaas/_runtime.py`) on
//!   the thread that finishes a blocking call, on an event loop when it drains, and in the
//!   `atexit` hook.
//! - Python code that may give up the GIL (logging handlers, `loop.create_future`, setting
//!   futures) never runs with a Rust frame under it: the clients' Python halves
//!   (`dajisaas/_clients.py`) and the loop's reader callback do that. A daemon thread that the
//!   interpreter ends at exit (it never gets the GIL back) then never unwinds through Rust.
//! - Exceptions (`errors`) are built without running Python bytecode, so no signal handler can
//!   fire in the middle and replace the library's error.
//! - Exit: an `atexit` hook (`dajisaas/_runtime.py`) first writes the payment outcomes the
//!   journal could not take yet (`_flush_journals`, bounded by the journal deadline), then stops
//!   all delivery to Python (`_stop_delivery`); calls still running are abandoned on the Python
//!   side and end in the core, their outcomes dropped in Rust.

mod blocking;
mod bridge;
mod client;
mod convert;
mod errors;
mod face;
mod logs;
mod options;
mod results;
#[cfg(feature = "testing")]
mod testing;

use pyo3::prelude::*;

use crate::errors::run;

/// The signature of `params` (any mapping with str keys) under `secret`: 32 uppercase hex digits.
#[pyfunction]
fn sign(py: Python<'_>, params: &Bound<'_, PyAny>, secret: &str) -> PyResult<String> {
    run(py, || {
        Ok(dajisaas::sign(&convert::params(Some(params))?, secret))
    })
}

/// The string that `sign` hashes, with the secret shown as `***`.
#[pyfunction]
fn signing_string_masked(py: Python<'_>, params: &Bound<'_, PyAny>) -> PyResult<String> {
    run(py, || {
        Ok(dajisaas::signing_string_masked(&convert::params(Some(
            params,
        ))?))
    })
}

/// Panics inside the panic boundary, so that tests can show a Rust panic surfaces as
/// `InternalError` and leaves the interpreter running.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn _panic_for_tests(py: Python<'_>) -> PyResult<()> {
    run(py, || -> dajisaas::Result<()> {
        panic!("deliberate panic for the test suite")
    })
}

/// Raises the exception of a core error with `code` while the signal `signum` is pending: the
/// signal is raised in C (Python's handler only marks it as tripped) before the exception is
/// built, so that a conversion running Python bytecode would run the handler inside it. Signal
/// 0 raises nothing.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn _error_with_signal_pending_for_tests(py: Python<'_>, code: &str, signum: i32) -> PyResult<()> {
    let code = dajisaas::ErrorCode::from_name(code).ok_or_else(|| {
        pyo3::exceptions::PyValueError::new_err(format!("no error code {code:?}"))
    })?;
    // SAFETY: raise(3) only runs the process's signal handler, Python's C-level one here.
    if signum != 0 && unsafe { libc::raise(signum) } != 0 {
        return Err(pyo3::exceptions::PyOSError::new_err("raise(3) failed"));
    }
    Err(errors::to_py_err(
        py,
        dajisaas::Error::new(code, "raised for the test suite while a signal is pending"),
    ))
}

#[pymodule]
fn _dajisaas(m: &Bound<'_, PyModule>) -> PyResult<()> {
    errors::load(m.py())?;
    logs::install();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<client::Client>()?;
    m.add_class::<results::PayUrl>()?;
    m.add_class::<results::Payment>()?;
    m.add_class::<results::PayManyItem>()?;
    m.add_class::<results::PayManyResult>()?;
    m.add_class::<bridge::CallHandle>()?;
    #[cfg(feature = "testing")]
    m.add_class::<testing::NativeSandbox>()?;
    m.add_function(wrap_pyfunction!(results::_restore_pay_url, m)?)?;
    m.add_function(wrap_pyfunction!(results::_restore_payment, m)?)?;
    m.add_function(wrap_pyfunction!(results::_restore_pay_many_item, m)?)?;
    m.add_function(wrap_pyfunction!(results::_restore_pay_many_result, m)?)?;
    m.add_class::<results::PaymentRecord>()?;
    m.add_class::<results::PaymentResolution>()?;
    m.add_function(wrap_pyfunction!(results::_restore_payment_resolution, m)?)?;
    m.add_function(wrap_pyfunction!(results::_restore_payment_record, m)?)?;
    m.add_function(wrap_pyfunction!(sign, m)?)?;
    m.add_function(wrap_pyfunction!(signing_string_masked, m)?)?;
    #[cfg(feature = "test-hooks")]
    {
        m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
        m.add_function(wrap_pyfunction!(_error_with_signal_pending_for_tests, m)?)?;
    }
    m.add_function(wrap_pyfunction!(blocking::_flush_journals, m)?)?;
    m.add_function(wrap_pyfunction!(blocking::_stop_delivery, m)?)?;
    m.add_function(wrap_pyfunction!(logs::_set_log_levels, m)?)?;
    m.add_function(wrap_pyfunction!(logs::_take_log_records, m)?)?;
    m.add_class::<bridge::LoopBridge>()?;
    Ok(())
}

//! The faces of a call: one generic function that every declared call goes through.
//!
//! - No face: the blocking `Client` in an ordinary program. The call runs on the core's runtime
//!   and this thread waits with the GIL released, waking for signal handlers (`blocking`).
//! - `face=(bridge, future)`: the call is started and a [`CallHandle`] returned; the bridge's
//!   host settles `future` on its own thread (`bridge`). `AsyncClient` passes its event loop's
//!   bridge and an `asyncio.Future`; a blocking call in a program whose threading gevent or
//!   eventlet patched passes a bridge of its own whose socket the hub watches, so that the
//!   greenlet yields while it waits (`dajisaas/_clients.py`).

use std::future::Future;

use pyo3::prelude::*;

use crate::blocking::{self, Reporter};
use crate::bridge::{self, CallHandle, LoopBridge};

/// Where a started call's outcome goes: a bridge and the future it settles.
pub type Face<'py> = (Bound<'py, LoopBridge>, Bound<'py, PyAny>);

/// The item conversion of a call that reports none.
pub fn no_items(py: Python<'_>, (): ()) -> PyResult<Py<PyAny>> {
    Ok(py.None())
}

/// Runs the call that `make` returns (given the [`Reporter`] of its items) in `face`: each item
/// becomes `convert_item(item)` and goes to `on_item`, the outcome becomes `convert(result)`
/// or the error's exception. Blocking, that is the return value; with a face, the future's.
#[allow(clippy::too_many_arguments)]
pub fn call<T, P, F>(
    py: Python<'_>,
    face: Option<Face<'_>>,
    client: &dajisaas::AsyncClient,
    on_item: Option<&Bound<'_, PyAny>>,
    make: impl FnOnce(Reporter<P>) -> F,
    convert_item: fn(Python<'_>, P) -> PyResult<Py<PyAny>>,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Py<PyAny>>
where
    T: Send + 'static,
    P: Send + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    match face {
        Some((bridge, future)) => {
            let handle: CallHandle = bridge::start(
                py,
                &bridge,
                &future,
                on_item,
                client,
                make,
                convert_item,
                convert,
            )?;
            Ok(Py::new(py, handle)?.into_any())
        }
        None => {
            let value = blocking::wait(py, client, make, |py, item| {
                let item = convert_item(py, item)?;
                match on_item {
                    Some(f) => f.call1((item,)).map(drop),
                    None => Ok(()),
                }
            })?;
            convert(py, value)
        }
    }
}

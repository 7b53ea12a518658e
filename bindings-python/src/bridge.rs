//! The asyncio bridge: awaited calls finish on the event loop's own thread.
//!
//! - An `AsyncClient` method, called on the loop's thread, creates an `asyncio.Future` with
//!   `loop.create_future()`, files it under a number in the loop's [`LoopBridge`] and starts the
//!   call on the core's runtime with `dajisaas::AsyncClient::start`.
//! - When the call ends, the core's thread pushes (number, outcome) into the bridge's [`Sink`],
//!   plain Rust data, and writes one byte to a socket pair that the sink owns, if no byte is
//!   already pending. That is all a core thread ever does: it never takes the GIL and never
//!   touches a Python object.
//! - The loop watches the socket's read end (`loop.add_reader`); its callback, [`LoopBridge`]'s
//!   `_drain`, runs on the loop's thread: it reads the bytes, takes every queued outcome, makes
//!   the Python result or exception there and sets the futures, skipping those already done
//!   (cancelled: cancelling only stops the waiting; the core's task goes on to its outcome). It
//!   then emits the queued log records.
//! - The socket pair lives as long as the sink, which every unfinished call holds: its file
//!   descriptors are never closed (and so never reused) while a core thread may still write.
//! - One bridge per event loop (a `WeakKeyDictionary` keyed by the loop), so a client works across
//!   several `asyncio.run()` loops and in several threads, each with its own loop. When a loop is
//!   collected its bridge goes too, and calls still running drop their outcomes in Rust.
//! - From the `atexit` hook on, sinks drop outcomes instead of queueing them, so nothing is
//!   delivered to an interpreter that is shutting down.

use std::collections::HashMap;
use std::future::Future;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::blocking::{exiting, exiting_error};
use crate::errors::to_py_err;

/// A finished call, still Rust data: made into a Python value (or exception) on the loop thread.
type Outcome = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

#[derive(Default)]
struct Queue {
    done: Vec<(u64, Outcome)>,
    /// A wake-up byte was written and not yet drained.
    notified: bool,
}

/// What the core's threads hold: a queue and the socket pair that wakes the loop.
struct Sink {
    queue: Mutex<Queue>,
    reader: UnixStream,
    writer: UnixStream,
    /// The bridge is gone (its loop was collected): outcomes are dropped.
    closed: AtomicBool,
}

impl Sink {
    fn new() -> std::io::Result<Sink> {
        let (reader, writer) = UnixStream::pair()?;
        reader.set_nonblocking(true)?;
        writer.set_nonblocking(true)?;
        Ok(Sink {
            queue: Mutex::new(Queue::default()),
            reader,
            writer,
            closed: AtomicBool::new(false),
        })
    }

    /// On a core thread: queue the outcome and wake the loop. Never touches Python.
    fn push(&self, id: u64, outcome: Outcome) {
        if exiting() || self.closed.load(Ordering::Acquire) {
            return;
        }
        let wake = {
            let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.done.push((id, outcome));
            !std::mem::replace(&mut queue.notified, true)
        };
        if wake {
            // A full socket already holds a wake-up byte, so WouldBlock needs nothing more.
            let _ = (&self.writer).write(&[1]);
        }
    }

    /// On the loop thread: the wake-up bytes read, then every queued outcome.
    fn take(&self) -> Vec<(u64, Outcome)> {
        let mut buffer = [0u8; 64];
        loop {
            match (&self.reader).read(&mut buffer) {
                Ok(0) => break,
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let mut queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        queue.notified = false;
        std::mem::take(&mut queue.done)
    }
}

/// One event loop's side of the bridge: its futures by number, and the sink the core fills.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct LoopBridge {
    sink: Arc<Sink>,
    /// Only touched on the loop's thread, with the GIL held.
    pending: Mutex<HashMap<u64, Py<PyAny>>>,
    next: AtomicU64,
}

impl Drop for LoopBridge {
    fn drop(&mut self) {
        self.sink.closed.store(true, Ordering::Release);
    }
}

#[pymethods]
impl LoopBridge {
    /// The loop's reader callback: settles the futures of the calls that finished.
    fn _drain(&self, py: Python<'_>) -> PyResult<()> {
        let mut first_error = None;
        for (id, outcome) in self.sink.take() {
            let future = self
                .pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
            let Some(future) = future else { continue };
            let future = future.bind(py);
            // Cancelled: the caller stopped waiting; the outcome is dropped.
            match future.call_method0(pyo3::intern!(py, "done")) {
                Ok(done) if done.is_truthy().unwrap_or(true) => continue,
                Ok(_) => {}
                Err(e) => {
                    first_error.get_or_insert(e);
                    continue;
                }
            }
            let settled = match outcome(py) {
                Ok(value) => future.call_method1(pyo3::intern!(py, "set_result"), (value,)),
                Err(error) => {
                    future.call_method1(pyo3::intern!(py, "set_exception"), (error.into_value(py),))
                }
            };
            // Setting a future can run Python code (the loop's call_soon), where a signal
            // handler may raise: the other futures are still set, then that exception goes on.
            if let Err(e) = settled {
                first_error.get_or_insert(e);
            }
        }
        if let Err(e) = crate::logs::flush(py) {
            first_error.get_or_insert(e);
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Calls started on this loop and not yet settled (for tests).
    fn _pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

static BRIDGES: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static GET_RUNNING_LOOP: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// The bridge of `event_loop`, made and registered with the loop on its first call.
fn bridge_for<'py>(
    py: Python<'py>,
    event_loop: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, LoopBridge>> {
    let bridges = BRIDGES
        .get_or_try_init(py, || {
            py.import("weakref")?
                .getattr("WeakKeyDictionary")?
                .call0()
                .map(Bound::unbind)
        })?
        .bind(py);
    if let Ok(found) = bridges
        .call_method1(pyo3::intern!(py, "get"), (event_loop,))?
        .cast_into::<LoopBridge>()
    {
        return Ok(found);
    }
    let sink = Sink::new().map_err(|e| {
        to_py_err(
            py,
            dajisaas::Error::new(
                dajisaas::ErrorCode::Internal,
                format!("the event-loop wake-up socket could not be made: {e}"),
            ),
        )
    })?;
    let fd = sink.reader.as_raw_fd();
    let bridge = Bound::new(
        py,
        LoopBridge {
            sink: Arc::new(sink),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        },
    )?;
    event_loop.call_method1("add_reader", (fd, bridge.getattr("_drain")?))?;
    bridges.set_item(event_loop, &bridge)?;
    Ok(bridge)
}

/// The bridge of the running loop (for tests).
#[pyfunction]
pub fn _loop_bridge<'py>(py: Python<'py>) -> PyResult<Bound<'py, LoopBridge>> {
    bridge_for(py, &running_loop(py)?)
}

fn running_loop<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
    GET_RUNNING_LOOP
        .get_or_try_init(py, || {
            py.import("asyncio")?
                .getattr("get_running_loop")
                .map(Bound::unbind)
        })?
        .bind(py)
        .call0()
}

/// Starts `call` on the core's runtime and returns an `asyncio.Future` of the running loop that
/// the loop itself settles with `convert(result)` or the error's exception.
pub fn start<'py, T: Send + 'static>(
    py: Python<'py>,
    client: &dajisaas::AsyncClient,
    call: impl Future<Output = dajisaas::Result<T>> + Send + 'static,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if exiting() {
        return Err(exiting_error(py));
    }
    let event_loop = running_loop(py)?;
    let bridge = bridge_for(py, &event_loop)?;
    let future = event_loop.call_method0(pyo3::intern!(py, "create_future"))?;
    let bridge = bridge.get();
    let id = bridge.next.fetch_add(1, Ordering::Relaxed);
    bridge
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(id, future.clone().unbind());
    let sink = bridge.sink.clone();
    client.start(call, move |result| {
        let outcome: Outcome = Box::new(move |py| match result {
            Ok(value) => convert(py, value),
            Err(error) => Err(to_py_err(py, error)),
        });
        sink.push(id, outcome);
    });
    Ok(future)
}

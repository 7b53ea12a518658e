//! The asyncio bridge: awaited calls finish on the event loop's own thread.
//!
//! - An `AsyncClient` method (Python, `dajisaas/_clients.py`), called on the loop's thread,
//!   creates an `asyncio.Future` with `loop.create_future()` and hands it, with the loop's
//!   [`LoopBridge`], to the native method, which files it under a number and starts the call on
//!   the core's runtime with `dajisaas::AsyncClient::start`.
//! - When the call ends, the core's thread pushes (number, outcome) into the bridge's [`Sink`],
//!   plain Rust data, and writes one byte to a socket pair that the sink owns, if no byte is
//!   already pending. That is all a core thread ever does: it never takes the GIL and never
//!   touches a Python object.
//! - The loop watches the socket's read end (`loop.add_reader`); its callback (Python,
//!   `dajisaas/_runtime.py`) runs on the loop's thread: [`LoopBridge`]'s `take` reads the bytes
//!   and builds each result or exception without running bytecode, then the callback sets the
//!   futures, skipping those already done (cancelled: cancelling only stops the waiting; the
//!   core's task goes on to its outcome), and emits the queued log records. The Python code runs
//!   with no Rust frame under it: a daemon thread that the interpreter ends at exit never
//!   unwinds through Rust.
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
    #[new]
    fn new(py: Python<'_>) -> PyResult<Self> {
        let sink = Sink::new().map_err(|e| {
            to_py_err(
                py,
                dajisaas::Error::new(
                    dajisaas::ErrorCode::Internal,
                    format!("the event-loop wake-up socket could not be made: {e}"),
                ),
            )
        })?;
        Ok(LoopBridge {
            sink: Arc::new(sink),
            pending: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        })
    }

    /// The socket the loop watches (`loop.add_reader`). It stays open while any call holds the
    /// sink, so its number is never reused under a core thread that may still write.
    fn fileno(&self) -> i32 {
        self.sink.reader.as_raw_fd()
    }

    /// On the loop's thread, from the reader callback: `(future, ok, value)` for every call that
    /// finished, its result or exception built here. Runs no Python bytecode.
    fn take<'py>(&self, py: Python<'py>) -> Vec<(Py<PyAny>, bool, Py<PyAny>)> {
        let finished = self.sink.take();
        let mut settled = Vec::with_capacity(finished.len());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (id, outcome) in finished {
            let Some(future) = pending.remove(&id) else {
                continue;
            };
            match outcome(py) {
                Ok(value) => settled.push((future, true, value)),
                Err(error) => settled.push((future, false, error.into_value(py).into_any())),
            }
        }
        settled
    }

    /// Calls started on this loop and not yet taken (for tests).
    fn _pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Files `future` (made by the running loop, whose bridge is `bridge`) and starts `call` on the
/// core's runtime; the loop settles the future with `convert(result)` or the error's exception.
pub fn start<T: Send + 'static>(
    py: Python<'_>,
    bridge: &Bound<'_, LoopBridge>,
    future: &Bound<'_, PyAny>,
    client: &dajisaas::AsyncClient,
    call: impl Future<Output = dajisaas::Result<T>> + Send + 'static,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<()> {
    if exiting() {
        return Err(exiting_error(py));
    }
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
    Ok(())
}

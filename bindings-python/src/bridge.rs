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

use futures_util::future::{AbortHandle, abortable};

use crate::blocking::{Reporter, exiting, exiting_error, stopped};
use crate::errors::to_py_err;

/// A finished call, still Rust data: made into a Python value (or exception) on the loop thread.
type Outcome = Box<dyn FnOnce(Python<'_>) -> PyResult<Py<PyAny>> + Send>;

/// What a call hands to the loop: an item it reports on the way (`pay_many`'s finished
/// orders), or its outcome, which is last.
enum Handed {
    Item(Outcome),
    Done(Outcome),
}

#[derive(Default)]
struct Queue {
    done: Vec<(u64, Handed)>,
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
    fn push(&self, id: u64, outcome: Handed) {
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
    fn take(&self) -> Vec<(u64, Handed)> {
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

/// A call started on a loop: the future it settles, and the function its items go to.
struct Waiting {
    future: Py<PyAny>,
    on_item: Option<Py<PyAny>>,
}

/// One event loop's side of the bridge: its calls by number, and the sink the core fills.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct LoopBridge {
    sink: Arc<Sink>,
    /// Only touched on the loop's thread, with the GIL held.
    pending: Mutex<HashMap<u64, Waiting>>,
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

    /// On the loop's thread, from the reader callback, in the order the core handed them:
    /// `(future, "result", value)` or `(future, "exception", error)` for every call that
    /// finished, `(on_item, "item", item)` for every item a call reported. Built here; runs no
    /// Python bytecode.
    fn take<'py>(&self, py: Python<'py>) -> Vec<(Py<PyAny>, &'static str, Py<PyAny>)> {
        let handed = self.sink.take();
        let mut taken = Vec::with_capacity(handed.len());
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (id, handed) in handed {
            match handed {
                Handed::Item(item) => {
                    let Some(on_item) = pending.get(&id).and_then(|w| w.on_item.as_ref()) else {
                        continue;
                    };
                    let on_item = on_item.clone_ref(py);
                    match item(py) {
                        Ok(value) => taken.push((on_item, "item", value)),
                        Err(error) => {
                            let future = pending.remove(&id).map(|w| w.future);
                            taken.extend(
                                future.map(|f| (f, "exception", error.into_value(py).into_any())),
                            );
                        }
                    }
                }
                Handed::Done(outcome) => {
                    let Some(Waiting { future, .. }) = pending.remove(&id) else {
                        continue;
                    };
                    match outcome(py) {
                        Ok(value) => taken.push((future, "result", value)),
                        Err(error) => {
                            taken.push((future, "exception", error.into_value(py).into_any()))
                        }
                    }
                }
            }
        }
        taken
    }

    /// Calls started on this loop and not yet taken (for tests).
    fn _pending(&self) -> usize {
        self.pending.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

/// Stops a call started with [`start`]: its future is dropped, so it starts nothing
/// new; what the core owns (a payment under way) still runs to its recorded outcome.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct CallHandle(AbortHandle);

#[pymethods]
impl CallHandle {
    /// Does nothing once the call has finished.
    fn stop(&self) {
        self.0.abort();
    }
}

/// Files `future` (made by the bridge's host) and starts the call that `make` returns (given
/// the [`Reporter`] of its items) on the core's runtime; the host settles the future with
/// `convert(result)` or the error's exception, and the loop calls `on_item(convert_item(item))` for each, before settling the future.
/// An item that cannot be converted fails the call. The handle stops the call.
#[allow(clippy::too_many_arguments)]
pub fn start<T, P, F>(
    py: Python<'_>,
    bridge: &Bound<'_, LoopBridge>,
    future: &Bound<'_, PyAny>,
    on_item: Option<&Bound<'_, PyAny>>,
    client: &dajisaas::AsyncClient,
    make: impl FnOnce(Reporter<P>) -> F,
    convert_item: fn(Python<'_>, P) -> PyResult<Py<PyAny>>,
    convert: fn(Python<'_>, T) -> PyResult<Py<PyAny>>,
) -> PyResult<CallHandle>
where
    T: Send + 'static,
    P: Send + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    if exiting() {
        return Err(exiting_error(py));
    }
    let bridge = bridge.get();
    let id = bridge.next.fetch_add(1, Ordering::Relaxed);
    bridge
        .pending
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            id,
            Waiting {
                future: future.clone().unbind(),
                on_item: on_item.map(|f| f.clone().unbind()),
            },
        );
    let items = bridge.sink.clone();
    let call = make(Reporter::new(move |item: P| {
        let item: Outcome = Box::new(move |py| convert_item(py, item));
        items.push(id, Handed::Item(item));
    }));
    let (call, abort) = abortable(call);
    let sink = bridge.sink.clone();
    client.start(
        async move { call.await.unwrap_or_else(|_| Err(stopped())) },
        move |result| {
            let outcome: Outcome = Box::new(move |py| match result {
                Ok(value) => convert(py, value),
                Err(error) => Err(to_py_err(py, error)),
            });
            sink.push(id, Handed::Done(outcome));
        },
    );
    Ok(CallHandle(abort))
}

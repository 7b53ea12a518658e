//! The blocking client's waits, and what happens at interpreter exit.
//!
//! A blocking call runs on the core's runtime as its own task (`AsyncClient::start`) and hands
//! its outcome to a slot; the calling Python thread waits on that slot with the GIL released,
//! waking every [`TICK`] to run Python's signal handlers (`check_signals`). A handler's exception propagates at once; the call goes on in the core to
//! its outcome (a payment already sent is never abandoned half-way by the library), and that
//! outcome is dropped in Rust. The core's thread only fills the slot: it never touches Python.
//!
//! Exit: the `atexit` hook sets [`EXITING`]. From then on nothing is delivered to Python: the
//! event-loop bridges drop finished calls, the logger queues nothing, and a (daemon) thread still
//! waiting in a blocking call never attaches again (it parks until the process ends), because a
//! thread that attaches to a finalizing interpreter is ended inside the attach. Threads that
//! were already on their way back in when the flag was set are let in first: the hook gives up
//! the GIL until they are through.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use pyo3::prelude::*;

use crate::errors::to_py_err;

/// How often a waiting call wakes to run signal handlers and emit log records.
pub const TICK: Duration = Duration::from_millis(100);

/// Set by the `atexit` hook.
static EXITING: AtomicBool = AtomicBool::new(false);
/// Threads between "not exiting yet" and holding the GIL again.
static REATTACHING: AtomicUsize = AtomicUsize::new(0);

pub fn exiting() -> bool {
    EXITING.load(Ordering::SeqCst)
}

/// The error of a call started after the `atexit` hook ran.
pub fn exiting_error(py: Python<'_>) -> PyErr {
    to_py_err(
        py,
        dajisaas::Error::new(
            dajisaas::ErrorCode::Internal,
            "the interpreter is exiting: no new call is started",
        ),
    )
}

/// Called with the GIL released, just before attaching again: counts the thread as on its way
/// back in, or, once the interpreter is exiting, never returns.
fn before_attach() {
    REATTACHING.fetch_add(1, Ordering::SeqCst);
    if EXITING.load(Ordering::SeqCst) {
        REATTACHING.fetch_sub(1, Ordering::SeqCst);
        loop {
            std::thread::park();
        }
    }
}

/// Called once attached again.
fn after_attach() {
    REATTACHING.fetch_sub(1, Ordering::SeqCst);
}

/// Runs `f` with the GIL released; an exiting interpreter is never attached to again.
pub fn detached<T: Send>(py: Python<'_>, f: impl FnOnce() -> T + Send) -> T {
    let value = py.detach(|| {
        let value = f();
        before_attach();
        value
    });
    after_attach();
    value
}

/// The first part of the `atexit` hook: the payment outcomes this process keeps for any journal
/// are written, for at most the longest journal deadline among them, with the GIL released (the
/// core's policy, `dajisaas::flush_journals_before_exit`); returns the warning about what stays
/// kept (also logged), if anything does.
#[pyfunction]
pub fn _flush_journals(py: Python<'_>) -> Option<String> {
    detached(py, dajisaas::flush_journals_before_exit)
}

/// The native part of the `atexit` hook (`dajisaas._runtime`, registered when the package
/// loads, so it runs before the interpreter finalizes, after every non-daemon thread has been
/// joined): nothing more is delivered to Python.
#[pyfunction]
pub fn _stop_delivery(py: Python<'_>) {
    EXITING.store(true, Ordering::SeqCst);
    crate::logs::stop();
    // Let the threads already on their way back in through, while attaching is still safe.
    let deadline = Instant::now() + Duration::from_secs(2);
    while REATTACHING.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
        py.detach(|| std::thread::sleep(Duration::from_millis(1)));
    }
}

/// What a running call hands over from a core thread: the items it reports as it goes
/// (`pay_many`'s finished orders) and, at the end, its outcome.
struct Slot<T, P> {
    state: Mutex<Handed<T, P>>,
    ready: Condvar,
}

struct Handed<T, P> {
    items: Vec<P>,
    outcome: Option<dajisaas::Result<T>>,
}

impl<T, P> Slot<T, P> {
    fn new() -> Arc<Self> {
        Arc::new(Slot {
            state: Mutex::new(Handed {
                items: Vec::new(),
                outcome: None,
            }),
            ready: Condvar::new(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Handed<T, P>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn report(&self, item: P) {
        self.lock().items.push(item);
        self.ready.notify_one();
    }

    fn put(&self, outcome: dajisaas::Result<T>) {
        self.lock().outcome = Some(outcome);
        self.ready.notify_one();
    }

    /// The items reported so far and the outcome, if either comes within `timeout`. A slot no
    /// core task holds any more (its task was dropped without an outcome) answers with an
    /// `internal` error instead of waiting on.
    fn take(self: &Arc<Self>, timeout: Duration) -> (Vec<P>, Option<dajisaas::Result<T>>) {
        let guard = self.lock();
        let (mut guard, _) = self
            .ready
            .wait_timeout_while(guard, timeout, |h| {
                h.outcome.is_none() && h.items.is_empty()
            })
            .unwrap_or_else(|p| p.into_inner());
        let items = std::mem::take(&mut guard.items);
        let outcome = guard.outcome.take().or_else(|| {
            (items.is_empty() && Arc::strong_count(self) == 1).then(|| {
                Err(dajisaas::Error::new(
                    dajisaas::ErrorCode::Internal,
                    "the call's task ended without an outcome",
                ))
            })
        });
        (items, outcome)
    }
}

/// The outcome of a call stopped by its caller (nobody receives it).
pub fn stopped() -> dajisaas::Error {
    dajisaas::Error::new(dajisaas::ErrorCode::Internal, "the caller stopped waiting")
}

/// Hands a running call's items to the Python thread waiting for it (see [`wait`]).
pub struct Reporter<P>(Arc<dyn Fn(P) + Send + Sync>);

impl<P> Reporter<P> {
    pub fn new(report: impl Fn(P) + Send + Sync + 'static) -> Self {
        Reporter(Arc::new(report))
    }

    pub fn report(&self, item: P) {
        (self.0)(item)
    }
}

/// Runs the call that `make` returns (given the [`Reporter`] of its items) on the core's
/// runtime and waits for its outcome on this (Python) thread, with the GIL released, waking
/// every [`TICK`] for signal handlers; each reported item is handed to `on_item` on this thread, with the GIL held. When
/// the wait ends early (a signal handler's or `on_item`'s exception), the call's future is
/// dropped: what the core owns (a payment under way) still runs to its recorded outcome, and
/// nothing new is started.
pub fn wait<T, P, F>(
    py: Python<'_>,
    client: &dajisaas::AsyncClient,
    make: impl FnOnce(Reporter<P>) -> F,
    mut on_item: impl FnMut(Python<'_>, P) -> PyResult<()>,
) -> PyResult<T>
where
    T: Send + 'static,
    P: Send + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    let slot = Slot::<T, P>::new();
    let reporting = slot.clone();
    let call = make(Reporter::new(move |item| reporting.report(item)));
    let (call, abort) = futures_util::future::abortable(call);
    let filler = slot.clone();
    client.start(
        async move { call.await.unwrap_or_else(|_| Err(stopped())) },
        move |outcome| filler.put(outcome),
    );
    let _stop = StopOnDrop(abort);
    if exiting() {
        // Only code run after the atexit hook gets here (a later atexit hook, a daemon thread):
        // wait holding the GIL, since a thread that lets it go may never get it back.
        loop {
            let (items, outcome) = slot.take(TICK);
            for item in items {
                on_item(py, item)?;
            }
            if let Some(outcome) = outcome {
                return outcome.map_err(|e| to_py_err(py, e));
            }
        }
    }
    loop {
        let (items, outcome) = detached(py, || slot.take(TICK));
        for item in items {
            on_item(py, item)?;
        }
        if let Some(outcome) = outcome {
            return outcome.map_err(|e| to_py_err(py, e));
        }
        py.check_signals()?;
    }
}

/// Drops the call's future when the wait ends, whichever way (a finished call is not affected).
struct StopOnDrop(futures_util::future::AbortHandle);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

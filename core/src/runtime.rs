//! The async runtime that drives the clients' network I/O, shared by every client alive.
//!
//! Blocking calls run as one task on it while the caller waits for the result; async calls run in
//! the caller's tokio runtime when polled inside one, else on this runtime, so that they can be
//! awaited from any executor; `detach` runs a call here and hands its outcome to a callback (for
//! Node). It starts with the first client and stops, joining its threads, when the last one is
//! dropped: a program that frees its clients leaves no thread behind. A process made by `fork()`
//! starts its own runtime on its first call (see `Inner::io`); the parent's is never touched.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, Weak};

use futures_util::FutureExt;

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorCode, Result};
use crate::per_process::PerProcess;

/// A share of the runtime; the runtime stops when the last share is dropped.
pub(crate) struct SharedRuntime {
    runtime: Option<Runtime>,
    /// The process that started it: in a `fork()` child its threads do not exist.
    pid: u32,
}

/// This process's runtime, if a client holds it (a `fork()` child starts with none, and never
/// waits on this lock as a parent thread held it).
static CURRENT: PerProcess<Mutex<Weak<SharedRuntime>>> =
    PerProcess::new(|_| Mutex::new(Weak::new()));

impl SharedRuntime {
    /// The running runtime, or a new one if no client holds it.
    pub fn acquire() -> Result<Arc<SharedRuntime>> {
        let mut current = CURRENT
            .get()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(shared) = current.upgrade() {
            if shared.pid == std::process::id() {
                return Ok(shared);
            }
            // The parent's runtime, inherited through fork(): never used or dropped here.
            std::mem::forget(shared);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dajisaas-io")
            .on_thread_start(crate::signals::block_async_signals)
            .enable_all()
            .build()
            .map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("the I/O runtime did not start: {e}"),
                )
            })?;
        let shared = Arc::new(SharedRuntime {
            runtime: Some(runtime),
            pid: std::process::id(),
        });
        *current = Arc::downgrade(&shared);
        Ok(shared)
    }

    fn runtime(&self) -> &Runtime {
        self.runtime.as_ref().expect("present until dropped")
    }

    /// Runs `future` on the runtime's workers and blocks the calling thread until it is done.
    /// The request and its connection are then driven by the same worker, so the caller is woken
    /// once, with the result, instead of at every step of the exchange.
    pub fn block_on<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return Err(Error::invalid(
                "the blocking Client was called from inside an async runtime; use AsyncClient there",
            ));
        }
        let task = self.runtime().spawn(future);
        match self.runtime().block_on(task) {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorCode::Internal,
                format!("client task failed: {e}"),
            )),
        }
    }

    /// Runs `future` for an async caller. Polled inside a tokio runtime (the caller's own, Node's,
    /// Python's asyncio bridge), it runs right there, saving two thread hops per call; polled by
    /// any other executor, it runs on this runtime and is awaited from there. Either way a panic
    /// becomes an `internal` error.
    pub async fn spawn<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        if tokio::runtime::Handle::try_current().is_ok() {
            return caught(future).await;
        }
        match self.runtime().spawn(future).await {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorCode::Internal,
                format!("client task failed: {e}"),
            )),
        }
    }
}

impl SharedRuntime {
    /// Runs `future` as a task of this runtime and waits for its outcome. Dropping the returned
    /// future only stops waiting: the task runs to its end (payments rely on it).
    pub async fn run_owned<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        match self.runtime().spawn(caught(future)).await {
            Ok(result) => result,
            Err(e) => Err(Error::new(
                ErrorCode::Internal,
                format!("client task failed: {e}"),
            )),
        }
    }

    /// Runs `future` on the runtime and hands its outcome to `done` on a runtime thread; a panic
    /// becomes an `internal` error, so `done` is always called.
    pub fn detach<T: Send + 'static>(
        &self,
        future: impl Future<Output = Result<T>> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) {
        self.runtime().spawn(async move {
            done(caught(future).await);
        });
    }
}

/// The future's outcome, with a panic turned into an `internal` error.
async fn caught<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    AssertUnwindSafe(future)
        .catch_unwind()
        .await
        .unwrap_or_else(|panic| Err(Error::from_panic(&*panic)))
}

impl Drop for SharedRuntime {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            if self.pid != std::process::id() {
                // Inherited through fork(): its threads live only in the parent, so stopping
                // it here would wait for them forever.
                std::mem::forget(runtime);
            } else if tokio::runtime::Handle::try_current().is_ok() {
                // Dropped from inside a runtime (the last client went away in a task):
                // blocking here is not allowed, so the threads finish on their own.
                runtime.shutdown_background();
            } else {
                // Waits for the worker threads to stop.
                drop(runtime);
            }
        }
    }
}

//! The one async runtime that drives every client's network I/O.
//!
//! Blocking calls run their future on the calling thread with this runtime's I/O and timers;
//! async calls are spawned onto it, so that they can be awaited from any executor (Node's,
//! Python's asyncio bridge, or another tokio runtime).

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Runtime;

use crate::error::{Error, ErrorCode, Result};

fn shared() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dajisaas-io")
            .enable_all()
            .build()
            .expect("the dajisaas I/O runtime could not start")
    })
}

/// Runs `future` to completion on the calling thread.
pub(crate) fn block_on<T>(future: impl Future<Output = Result<T>>) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(Error::invalid(
            "the blocking Client was called from inside an async runtime; use AsyncClient there",
        ));
    }
    shared().block_on(future)
}

/// Runs `future` on the shared runtime and waits for it from whatever executor polls this.
pub(crate) async fn spawn<T: Send + 'static>(
    future: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    match shared().spawn(future).await {
        Ok(result) => result,
        Err(e) => Err(Error::new(
            ErrorCode::Internal,
            format!("client task failed: {e}"),
        )),
    }
}

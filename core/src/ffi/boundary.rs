//! The C boundary: panics caught, inputs checked, outputs written only on success, the last
//! failure kept per thread for `daji_error_info_last`, and blocking calls that still work while
//! the calling thread or the process is exiting.
//!
//! # Thread and process exit
//! glibc destroys a thread's Rust thread-locals before its `pthread_key` destructors run, and the
//! main thread's before the `atexit` handlers (and C++ static destructors) run. Any access to a
//! destroyed thread-local through `with` panics, and a panic there aborted the process. So:
//! - the last failure's numbers live in a thread-local without a destructor (a `Cell` of plain
//!   numbers), which is never destroyed; only its strings live in one with a destructor, reached
//!   with `try_with` (after the thread's storage is gone the message is a fixed text);
//! - a blocking call does not use tokio's `Runtime::block_on` (which enters the runtime through
//!   tokio's own thread-locals and panics once they are gone): it hands the call to the I/O
//!   threads with `AsyncClient::start` and waits on a mutex and condition variable, which use no
//!   thread-local storage.

use std::cell::{Cell, RefCell};
use std::ffi::{CStr, CString, c_char};
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use crate::client::AsyncClient;
use crate::error::{Error, ErrorCode, Result, catch_panic};

use super::daji_status;

/// The numbers of the last outcome on this thread: plain values, so that the thread-local needs
/// no destructor and can be read and written while the thread or the process exits.
#[derive(Clone, Copy)]
pub(super) struct LastNumbers {
    pub status: daji_status,
    pub api_code: i64,
    pub http_status: u16,
    pub attempts: u32,
    /// Whether `LAST_TEXT` holds this outcome's message (false when the thread's storage with
    /// destructors was already destroyed).
    pub text_kept: bool,
}

const CLEAR: LastNumbers = LastNumbers {
    status: daji_status::DAJI_OK,
    api_code: 0,
    http_status: 0,
    attempts: 0,
    text_kept: false,
};

/// The strings of the last failure, handed out by `daji_error_info_last`.
pub(super) struct LastText {
    pub message: CString,
    pub trace_id: Option<CString>,
}

thread_local! {
    static LAST_NUMBERS: Cell<LastNumbers> = const { Cell::new(CLEAR) };
    static LAST_TEXT: RefCell<Option<LastText>> = const { RefCell::new(None) };
}

/// The message `daji_error_info_last` shows when the failure's own message could not be kept.
pub(super) const NO_MESSAGE: &CStr = c"(no message: the call failed while this thread or the process was exiting, after the thread's storage was freed; the status, api_code, http_status and attempts are exact)";

/// The last outcome's numbers on this thread.
pub(super) fn last_numbers() -> LastNumbers {
    LAST_NUMBERS.get()
}

/// The last failure's message and traceId pointers, if they are still kept.
pub(super) fn last_text() -> Option<(*const c_char, *const c_char)> {
    LAST_TEXT
        .try_with(|cell| {
            let text = cell.try_borrow().ok()?;
            text.as_ref().map(|t| {
                (
                    t.message.as_ptr(),
                    t.trace_id.as_ref().map_or(std::ptr::null(), |s| s.as_ptr()),
                )
            })
        })
        .ok()
        .flatten()
}

fn set_text(text: Option<LastText>) -> bool {
    LAST_TEXT
        .try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut slot) => {
                *slot = text;
                true
            }
            Err(_) => false,
        })
        .unwrap_or(false)
}

fn c_string_lossy(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

fn remember(error: &Error) -> daji_status {
    let status = daji_status::from(error.code());
    let text_kept = set_text(Some(LastText {
        message: c_string_lossy(error.message()),
        trace_id: error.trace_id().map(c_string_lossy),
    }));
    LAST_NUMBERS.set(LastNumbers {
        status,
        api_code: error.api_code().unwrap_or(0),
        http_status: error.http_status().unwrap_or(0),
        attempts: error.attempts(),
        text_kept,
    });
    status
}

/// Runs the body of an exported function that returns a status: clears the last error, catches
/// panics (the core's `catch_panic`), and turns the outcome into a status, remembering a failure.
pub(super) fn run(body: impl FnOnce() -> Result<()>) -> daji_status {
    LAST_NUMBERS.set(CLEAR);
    set_text(None);
    match catch_panic(body) {
        Ok(()) => daji_status::DAJI_OK,
        Err(error) => remember(&error),
    }
}

/// Runs the body of an exported function that returns no status (the `_free` functions) or a
/// static string: the last error is left as it is, unless the body panics, which is remembered
/// as an `internal` failure; then `fallback` is returned.
pub(super) fn guard<T>(fallback: T, body: impl FnOnce() -> T) -> T {
    match catch_panic(|| Ok(body())) {
        Ok(value) => value,
        Err(error) => {
            remember(&error);
            fallback
        }
    }
}

/// One call's outcome, handed from an I/O thread to the waiting caller.
struct Slot<T> {
    outcome: Mutex<Option<Result<T>>>,
    ready: Condvar,
}

impl<T> Slot<T> {
    fn put(&self, outcome: Result<T>) {
        let mut slot = self.outcome.lock().unwrap_or_else(PoisonError::into_inner);
        *slot = Some(outcome);
        self.ready.notify_all();
    }
}

/// The sending half: delivers exactly one outcome, an `internal` error if it is dropped unsent
/// (the call's task was dropped without finishing), so that the caller is never left waiting.
struct Reply<T>(Option<Arc<Slot<T>>>);

impl<T> Reply<T> {
    fn send(mut self, outcome: Result<T>) {
        if let Some(slot) = self.0.take() {
            slot.put(outcome);
        }
    }
}

impl<T> Drop for Reply<T> {
    fn drop(&mut self) {
        if let Some(slot) = self.0.take() {
            slot.put(Err(Error::new(
                ErrorCode::Internal,
                "the call was dropped by the I/O threads before it finished",
            )));
        }
    }
}

/// Runs `call` on the client's I/O threads and blocks the calling thread until it is done,
/// without touching any thread-local storage of the calling thread (see the module doc).
pub(super) fn block_on<T: Send + 'static>(
    client: &AsyncClient,
    call: impl Future<Output = Result<T>> + Send + 'static,
) -> Result<T> {
    let slot = Arc::new(Slot {
        outcome: Mutex::new(None),
        ready: Condvar::new(),
    });
    let reply = Reply(Some(slot.clone()));
    client.start(call, move |outcome| reply.send(outcome));
    let mut outcome = slot.outcome.lock().unwrap_or_else(PoisonError::into_inner);
    loop {
        if let Some(outcome) = outcome.take() {
            return outcome;
        }
        outcome = slot
            .ready
            .wait(outcome)
            .unwrap_or_else(PoisonError::into_inner);
    }
}

/// A borrowed C string as UTF-8; NULL and invalid UTF-8 are `invalid_argument` naming `what`.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that outlives the returned borrow.
pub(super) unsafe fn text<'a>(ptr: *const c_char, what: &str) -> Result<&'a str> {
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} is NULL")));
    }
    // SAFETY: non-NULL and NUL-terminated per the caller's contract.
    unsafe { CStr::from_ptr(ptr) }
        .to_str()
        .map_err(|e| Error::invalid(format!("{what} is not valid UTF-8 ({e})")))
}

/// Like `text`, but NULL means "not given".
///
/// # Safety
/// As for `text`.
pub(super) unsafe fn optional_text<'a>(ptr: *const c_char, what: &str) -> Result<Option<&'a str>> {
    if ptr.is_null() {
        Ok(None)
    } else {
        unsafe { text(ptr, what) }.map(Some)
    }
}

/// Most order ids one call may pass: far above any real batch, low enough to refuse garbage.
pub(super) const MAX_ORDER_IDS: usize = 100_000;

/// An array of `count` C strings as order ids.
///
/// # Safety
/// `ids` is NULL or points to `count` pointers, each NULL or a NUL-terminated string.
pub(super) unsafe fn order_ids(ids: *const *const c_char, count: usize) -> Result<Vec<String>> {
    if count > MAX_ORDER_IDS {
        return Err(Error::invalid(format!(
            "count is {count}; at most {MAX_ORDER_IDS} order ids per call"
        )));
    }
    if ids.is_null() {
        return if count == 0 {
            Ok(Vec::new())
        } else {
            Err(Error::invalid("order_ids is NULL"))
        };
    }
    // SAFETY: `ids` points to `count` pointers per the caller's contract.
    let pointers = unsafe { std::slice::from_raw_parts(ids, count) };
    pointers
        .iter()
        .enumerate()
        .map(|(i, p)| unsafe { text(*p, &format!("order_ids[{i}]")) }.map(str::to_string))
        .collect()
}

/// Checks that an out-parameter can be written, before any work is done.
pub(super) fn out_param<T>(ptr: *mut T, what: &str) -> Result<()> {
    if ptr.is_null() {
        Err(Error::invalid(format!("{what} is NULL")))
    } else {
        Ok(())
    }
}

/// A string for the caller to free with `daji_string_free`.
pub(super) fn owned(text: String) -> Result<*mut c_char> {
    CString::new(text)
        .map(CString::into_raw)
        .map_err(|_| Error::new(ErrorCode::Decode, "the answer contains a NUL byte"))
}

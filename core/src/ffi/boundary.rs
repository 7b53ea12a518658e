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
use std::collections::VecDeque;
use std::ffi::{CStr, CString, c_char};
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use serde_json::Value;

use crate::client::AsyncClient;
use crate::error::{Error, ErrorCode, Result, catch_panic};

use super::{daji_client, daji_status};

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

/// What the I/O threads hand the waiting caller: items as they come (pay_many's finished
/// orders), then the call's outcome.
struct Post<T, I> {
    mailbox: Mutex<(VecDeque<I>, Option<Result<T>>)>,
    ready: Condvar,
}

impl<T, I> Post<T, I> {
    fn with(&self, f: impl FnOnce(&mut (VecDeque<I>, Option<Result<T>>))) {
        let mut mailbox = self.mailbox.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut mailbox);
        self.ready.notify_all();
    }
}

/// Hands items to the caller waiting in `block_on_each`.
pub(super) struct Items<T, I>(Arc<Post<T, I>>);

impl<T, I> Items<T, I> {
    pub fn push(&self, item: I) {
        self.0.with(|m| m.0.push_back(item));
    }
}

/// The sending half of the outcome: delivers exactly one, an `internal` error if it is dropped
/// unsent (the call's task was dropped without finishing), so the caller is never left waiting.
struct Reply<T, I>(Option<Arc<Post<T, I>>>);

impl<T, I> Reply<T, I> {
    fn send(mut self, outcome: Result<T>) {
        if let Some(post) = self.0.take() {
            post.with(|m| m.1 = Some(outcome));
        }
    }
}

impl<T, I> Drop for Reply<T, I> {
    fn drop(&mut self) {
        if let Some(post) = self.0.take() {
            post.with(|m| {
                m.1 = Some(Err(Error::new(
                    ErrorCode::Internal,
                    "the call was dropped by the I/O threads before it finished",
                )))
            });
        }
    }
}

/// Runs the future `call` makes on the client's I/O threads and blocks the calling thread until
/// it is done, handing each item it pushes to `on_item` on this thread meanwhile (in the order
/// pushed, never two at once; the outcome only after every item). It waits on a mutex and a
/// condition variable, without touching any thread-local storage (see the module doc).
pub(super) fn block_on_each<T, I, F>(
    client: &AsyncClient,
    call: impl FnOnce(Items<T, I>) -> F,
    mut on_item: impl FnMut(I),
) -> Result<T>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    I: Send + 'static,
{
    let post = Arc::new(Post {
        mailbox: Mutex::new((VecDeque::new(), None)),
        ready: Condvar::new(),
    });
    let reply = Reply(Some(post.clone()));
    client.start(call(Items(post.clone())), move |outcome| {
        reply.send(outcome)
    });
    loop {
        let (ready, finished) = {
            let mut mailbox = post.mailbox.lock().unwrap_or_else(PoisonError::into_inner);
            while mailbox.0.is_empty() && mailbox.1.is_none() {
                mailbox = post
                    .ready
                    .wait(mailbox)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            let ready = std::mem::take(&mut mailbox.0);
            let finished = if ready.is_empty() {
                mailbox.1.take()
            } else {
                None
            };
            (ready, finished)
        };
        ready.into_iter().for_each(&mut on_item);
        if let Some(outcome) = finished {
            return outcome;
        }
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

/// The client behind a handle.
///
/// # Safety
/// `client` is NULL or a live handle.
pub(super) unsafe fn client_ref<'a>(client: *const daji_client) -> Result<&'a AsyncClient> {
    // SAFETY: NULL or live per the caller's contract.
    unsafe { client.as_ref() }
        .map(|c| &c.inner)
        .ok_or_else(|| Error::invalid("client is NULL"))
}

/// The library's JSON as the C API spells it: every key in snake_case, as the header spells
/// fields, and each error object with its `status` number beside its `code` name (the fields of
/// `daji_error_info`). The gateway's own `data` is left as the gateway wrote it.
pub(super) fn c_json(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let status = match (map.get("code"), map.get("message")) {
                (Some(Value::String(code)), Some(_)) => ErrorCode::ALL
                    .iter()
                    .find(|c| c.as_str() == code)
                    .map(|c| c.number()),
                _ => None,
            };
            let mut out = serde_json::Map::with_capacity(map.len() + 1);
            if let Some(status) = status {
                out.insert("status".into(), status.into());
            }
            for (key, value) in map {
                let value = if key == "data" { value } else { c_json(value) };
                out.insert(snake_case(&key), value);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(c_json).collect()),
        other => other,
    }
}

fn snake_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for ch in key.chars() {
        if ch.is_ascii_uppercase() {
            out.push('_');
            out.push(ch.to_ascii_lowercase());
        } else {
            out.push(ch);
        }
    }
    out
}

/// The library's JSON as text in the C API's spelling (see `c_json`).
pub(super) fn c_text(value: Value) -> String {
    c_json(value).to_string()
}

/// Where a call's JSON result goes.
pub(super) enum Out {
    /// A required out-parameter, named for the message when it is NULL.
    Required(*mut *mut c_char, &'static str),
    /// One the caller may leave NULL (then the result is not written).
    Optional(*mut *mut c_char),
}

/// The one shape of the client calls: check the out-parameter, the client and the arguments
/// (`args`: nothing is sent if one is bad), run the future `call` makes on the client's I/O
/// threads while the calling thread waits (handing the items it pushes to `on_item` on this
/// thread), then write its result (`json`, usually `c_text`; `None` writes NULL) if the out-parameter
/// is not NULL.
///
/// # Safety
/// `client` is NULL or live; the out-parameter is NULL or writable.
pub(super) unsafe fn client_call_each<A, T, I, F>(
    client: *const daji_client,
    out: Out,
    args: impl FnOnce() -> Result<A>,
    call: impl FnOnce(AsyncClient, A, Items<T, I>) -> F,
    on_item: impl FnMut(I),
    json: impl FnOnce(T) -> Option<String>,
) -> daji_status
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
    I: Send + 'static,
{
    run(|| {
        let out = match out {
            Out::Required(ptr, what) => {
                out_param(ptr, what)?;
                ptr
            }
            Out::Optional(ptr) => ptr,
        };
        let client = unsafe { client_ref(client) }?;
        let args = args()?;
        let c = client.clone();
        let result = block_on_each(client, move |items| call(c, args, items), on_item)?;
        // Always made (pay_url takes its URL from it), written only where asked for.
        let text = json(result);
        if !out.is_null() {
            let text = match text {
                Some(text) => owned(text)?,
                None => std::ptr::null_mut(),
            };
            // SAFETY: non-NULL and writable per the caller's contract.
            unsafe { out.write(text) };
        }
        Ok(())
    })
}

/// `client_call_each` for a call that hands over no items: most of them.
///
/// # Safety
/// As for `client_call_each`.
pub(super) unsafe fn client_call<A, T, F>(
    client: *const daji_client,
    out: Out,
    args: impl FnOnce() -> Result<A>,
    call: impl FnOnce(AsyncClient, A) -> F,
    json: impl FnOnce(T) -> Option<String>,
) -> daji_status
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    unsafe {
        client_call_each(
            client,
            out,
            args,
            |c, a, _: Items<T, ()>| call(c, a),
            |()| {},
            json,
        )
    }
}

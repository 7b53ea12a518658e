//! The C boundary: panics caught, inputs checked, outputs written only on success, and the last
//! failure kept per thread for `daji_last_error`.

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::error::{Error, ErrorCode, Result};

use super::daji_status;

/// The last failure on this thread, with the C strings `daji_last_error` hands out.
pub(super) struct LastError {
    pub error: Error,
    pub message: CString,
    pub trace_id: Option<CString>,
}

thread_local! {
    pub(super) static LAST_ERROR: RefCell<Option<LastError>> = const { RefCell::new(None) };
}

fn c_string_lossy(text: &str) -> CString {
    CString::new(text.replace('\0', "\\0")).unwrap_or_default()
}

fn remember(error: Error) -> daji_status {
    let status = daji_status::from(error.code());
    let last = LastError {
        message: c_string_lossy(error.message()),
        trace_id: error.trace_id().map(c_string_lossy),
        error,
    };
    LAST_ERROR.with(|cell| *cell.borrow_mut() = Some(last));
    status
}

/// Runs the body of an exported function: clears the last error, catches panics, and turns the
/// outcome into a status (remembering the error).
pub(super) fn run(body: impl FnOnce() -> Result<()>) -> daji_status {
    LAST_ERROR.with(|cell| *cell.borrow_mut() = None);
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => daji_status::DAJI_OK,
        Ok(Err(error)) => remember(error),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            remember(Error::new(
                ErrorCode::Internal,
                format!("internal error (a bug): {what}"),
            ))
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

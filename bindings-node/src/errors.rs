//! Core errors as `DajisaasError` objects: real `Error`s (stack, `instanceof Error`) carrying
//! `code`, `traceId`, `apiCode`, `httpStatus` and `attempts`. The class is JavaScript
//! (`errors.js`), which can extend `Error` where a native class cannot.

use std::cell::RefCell;

use napi::bindgen_prelude::{Array, FnArgs, Function, JsObjectValue, Object};
use napi::{Env, Status, Unknown, UnknownRef, sys};

/// `make`'s arguments, spread (a bare tuple would arrive as one array).
type Fields<'env> = FnArgs<(
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<u32>,
    u32,
    Option<Unknown<'env>>,
)>;

/// `make(code, message, traceId, apiCode, httpStatus, attempts, cause)` of errors.js.
pub type Make<'env> = Function<'env, Fields<'env>, Unknown<'env>>;

thread_local! {
    // One per JavaScript thread (the main thread and each worker load the addon separately).
    static MAKE: RefCell<Option<UnknownRef<false>>> = const { RefCell::new(None) };
}

/// Creates the class, exports it as `DajisaasError`, and returns `make`.
pub fn register<'env>(env: &'env Env, exports: &mut Object) -> napi::Result<Unknown<'env>> {
    let pair: Array = env.run_script(include_str!("errors.js"))?;
    let class: Unknown = pair
        .get(0)?
        .ok_or_else(|| napi::Error::from_reason("errors.js gave no class"))?;
    let make: Unknown = pair
        .get(1)?
        .ok_or_else(|| napi::Error::from_reason("errors.js gave no make"))?;
    exports.set_named_property("DajisaasError", class)?;
    let reference = unsafe { make.cast::<UnknownRef<false>>() }?;
    MAKE.with(|cell| *cell.borrow_mut() = Some(reference));
    Ok(make)
}

/// A `DajisaasError` for a core error, ready to be thrown or to reject a promise.
pub fn js_error(env: &Env, error: dajisaas::Error) -> napi::Error {
    build(env, error, None)
}

/// A `DajisaasError` for an error met while reading the caller's arguments on the JavaScript
/// thread. A getter or a Proxy trap that threw left its exception pending: it is cleared here
/// (a pending exception would reach the caller beside the error, and the error's promise would
/// be left unhandled) and becomes the error's `cause`, its text the end of the message.
pub fn boundary_error(env: &Env, error: dajisaas::Error) -> napi::Error {
    match take_exception(env.raw()) {
        Some((cause, text)) => {
            let message = format!("{}: {text}", error.message());
            let error = dajisaas::Error::new(error.code(), message);
            build(
                env,
                error,
                Some(unsafe { Unknown::from_raw_unchecked(env.raw(), cause) }),
            )
        }
        None => build(env, error, None),
    }
}

fn build(env: &Env, error: dajisaas::Error, cause: Option<Unknown>) -> napi::Error {
    let built = MAKE.with(|cell| -> napi::Result<napi::Error> {
        let cell = cell.borrow();
        let reference = cell
            .as_ref()
            .ok_or_else(|| napi::Error::from_reason("DajisaasError is not registered"))?;
        let make = unsafe { reference.get_value(env)?.cast::<Make>() }?;
        let fields: Fields = FnArgs::from((
            error.code().as_str().to_string(),
            error.message().to_string(),
            error.trace_id().map(str::to_string),
            error.api_code(),
            error.http_status().map(u32::from),
            error.attempts(),
            cause,
        ));
        Ok(napi::Error::from(make.call(fields)?))
    });
    built.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, error.to_string()))
}

/// The pending JavaScript exception, cleared, with its text (`String(exception)`, or "an
/// exception" when even that throws); `None` when there is none.
pub fn take_exception(env: sys::napi_env) -> Option<(sys::napi_value, String)> {
    let mut pending = false;
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    if !pending {
        return None;
    }
    let mut exception = std::ptr::null_mut();
    let mut text = std::ptr::null_mut();
    unsafe {
        sys::napi_get_and_clear_last_exception(env, &mut exception);
        if sys::napi_coerce_to_string(env, exception, &mut text) != sys::Status::napi_ok {
            let mut again = std::ptr::null_mut();
            sys::napi_get_and_clear_last_exception(env, &mut again);
            return Some((exception, "an exception".into()));
        }
        let text = Unknown::from_raw_unchecked(env, text)
            .cast::<String>()
            .unwrap_or_else(|_| "an exception".into());
        Some((exception, text))
    }
}

/// Runs `f` and throws its error as a `DajisaasError`; a panic becomes one with code
/// `internal` (the core's panic boundary) instead of reaching JavaScript as a generic error.
pub fn guarded<T>(env: &Env, f: impl FnOnce() -> dajisaas::Result<T>) -> napi::Result<T> {
    dajisaas::catch_panic(f).map_err(|e| boundary_error(env, e))
}

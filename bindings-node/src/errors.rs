//! Core errors as `DajisaasError` objects: real `Error`s (stack, `instanceof Error`) carrying
//! `code`, `traceId`, `apiCode`, `httpStatus` and `attempts`.

use std::cell::RefCell;

use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object};
use napi::{Env, Status, Unknown, UnknownRef};

/// The class every failure is an instance of. Defined in JavaScript so that it can extend
/// `Error`, which a native class cannot.
const ERROR_CLASS: &str = r#"(() => {
  class DajisaasError extends Error {
    constructor(code, message, traceId, apiCode, httpStatus, attempts) {
      super(message);
      this.name = 'DajisaasError';
      this.code = code;
      if (traceId != null) this.traceId = traceId;
      if (apiCode != null) this.apiCode = apiCode;
      if (httpStatus != null) this.httpStatus = httpStatus;
      this.attempts = attempts;
    }
  }
  return DajisaasError;
})()"#;

/// The constructor's arguments, spread (a bare tuple would arrive as one array).
type Fields = FnArgs<(
    String,
    String,
    Option<String>,
    Option<i64>,
    Option<u32>,
    u32,
)>;

thread_local! {
    // One per JavaScript thread (the main thread and each worker load the addon separately).
    static CLASS: RefCell<Option<UnknownRef<false>>> = const { RefCell::new(None) };
}

/// Creates the class and exports it as `DajisaasError`.
pub fn register(env: &Env, exports: &mut Object) -> napi::Result<()> {
    let class: Unknown = env.run_script(ERROR_CLASS)?;
    exports.set_named_property("DajisaasError", class)?;
    let reference = unsafe { class.cast::<UnknownRef<false>>() }?;
    CLASS.with(|cell| *cell.borrow_mut() = Some(reference));
    Ok(())
}

/// A `DajisaasError` for a core error, ready to be thrown or to reject a promise.
pub fn js_error(env: &Env, error: dajisaas::Error) -> napi::Error {
    let built = CLASS.with(|cell| -> napi::Result<napi::Error> {
        let cell = cell.borrow();
        let reference = cell
            .as_ref()
            .ok_or_else(|| napi::Error::from_reason("DajisaasError is not registered"))?;
        let class = unsafe {
            reference
                .get_value(env)?
                .cast::<Function<Fields, Unknown>>()
        }?;
        let fields: Fields = FnArgs::from((
            error.code().as_str().to_string(),
            error.message().to_string(),
            error.trace_id().map(str::to_string),
            error.api_code(),
            error.http_status().map(u32::from),
            error.attempts(),
        ));
        Ok(napi::Error::from(class.new_instance(fields)?))
    });
    built.unwrap_or_else(|_| napi::Error::new(Status::GenericFailure, error.to_string()))
}

/// Runs `f` and throws its error as a `DajisaasError`; a panic becomes one with code
/// `internal` (the core's panic boundary) instead of reaching JavaScript as a generic error.
pub fn guarded<T>(env: &Env, f: impl FnOnce() -> dajisaas::Result<T>) -> napi::Result<T> {
    dajisaas::catch_panic(f).map_err(|e| js_error(env, e))
}

//! The Node addon: a thin skin over the `dajisaas` crate. Signing, validation, retries and
//! parsing all live in the core; this converts types and maps errors.

mod args;
mod client;
mod convert;
mod errors;
#[cfg(feature = "testing")]
mod testing;

use napi::bindgen_prelude::Object;
use napi::{Env, Unknown};
use napi_derive::napi;

use crate::errors::guarded;

/// The gateway signature of `params` under `secret`: 32 uppercase hex digits. `params` is an
/// object, or JSON text for values a JavaScript number cannot hold.
#[napi(catch_unwind, ts_args_type = "params: object | string, secret: string")]
pub fn sign(env: Env, params: Unknown, secret: Unknown) -> napi::Result<String> {
    guarded(&env, || {
        let params = convert::params(Some(&params))?;
        Ok(dajisaas::sign(
            &params,
            &convert::string(&secret, "secret")?,
        ))
    })
}

/// The string that `sign` hashes, with the secret shown as `***`.
#[napi(catch_unwind, ts_args_type = "params: object | string")]
pub fn signing_string_masked(env: Env, params: Unknown) -> napi::Result<String> {
    guarded(&env, || {
        Ok(dajisaas::signing_string_masked(&convert::params(Some(
            &params,
        ))?))
    })
}

/// Panics inside the boundary, so that tests can show a panic surfaces as `internal`.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__panicForTests", skip_typescript)]
pub fn panic_for_tests(env: Env) -> napi::Result<()> {
    guarded(&env, || panic!("deliberate panic for the test suite"))
}

/// Every error code the core has, in number order, so that a test can hold the TypeScript
/// `ErrorCode` union to them.
#[cfg(feature = "test-hooks")]
#[napi(js_name = "__errorCodesForTests", skip_typescript)]
pub fn error_codes_for_tests() -> Vec<&'static str> {
    dajisaas::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect()
}

#[napi(module_exports)]
pub fn init(mut exports: Object, env: Env) -> napi::Result<()> {
    let make = errors::register(&env, &mut exports)?;
    client::register(&env, &mut exports, make)
}

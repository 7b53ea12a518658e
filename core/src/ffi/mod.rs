//! The C ABI (feature `ffi`): `libdajisaas.so` / `libdajisaas.a` and `include/dajisaas.h`.
//!
//! Conventions, after rustls-ffi: `daji_<noun>_<verb>` names, an opaque client handle, a panic
//! boundary and NULL/UTF-8 checks on every export, results written to out-parameters only on
//! success, every returned string freed with `daji_string_free`. The last failure on the calling
//! thread is read with `daji_last_error`.
#![allow(non_camel_case_types)]
// The C callers' contracts are in each function's documentation (it becomes the header).
#![allow(clippy::missing_safety_doc)]

mod boundary;

use std::ffi::{CString, c_char};
use std::ptr;
use std::time::Duration;

use serde_json::{Value, json};

use crate::client::Client;
use crate::config::ClientBuilder;
use crate::error::{Error, ErrorCode};
use crate::model::{PayUrl, Payment};
use crate::order_id::OrderIdFormat;
use crate::sign::{parse_params, sign};
use crate::transport::Method;

use boundary::{LAST_ERROR, optional_text, out_param, owned, run, text};

/// The outcome of every call. The numbers are fixed and never reused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum daji_status {
    /// Success.
    DAJI_OK = 0,
    /// Input or configuration rejected before anything was sent.
    DAJI_INVALID_ARGUMENT = 1,
    /// DNS, connect, TLS or connection-lost failure.
    DAJI_CONNECTION = 2,
    /// No answer within the timeout.
    DAJI_TIMEOUT = 3,
    /// A non-2xx HTTP answer without a usable envelope.
    DAJI_HTTP_STATUS = 4,
    /// The body is not a valid envelope.
    DAJI_DECODE = 5,
    /// The gateway refused the call, or a link request's data.success is false.
    DAJI_API = 6,
    /// The gateway's call-frequency limit.
    DAJI_RATE_LIMITED = 7,
    /// The deduction was not initiated, after every allowed attempt. Nothing was paid.
    DAJI_PAYMENT_DECLINED = 8,
    /// The payment may or may not have happened: check the order before paying it again.
    DAJI_PAYMENT_OUTCOME_UNKNOWN = 9,
    /// A bug: a caught panic or an impossible state.
    DAJI_INTERNAL = 10,
    /// A payment of this order is already under way; nothing was sent.
    DAJI_PAYMENT_IN_PROGRESS = 11,
}

impl From<ErrorCode> for daji_status {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::InvalidArgument => daji_status::DAJI_INVALID_ARGUMENT,
            ErrorCode::Connection => daji_status::DAJI_CONNECTION,
            ErrorCode::Timeout => daji_status::DAJI_TIMEOUT,
            ErrorCode::HttpStatus => daji_status::DAJI_HTTP_STATUS,
            ErrorCode::Decode => daji_status::DAJI_DECODE,
            ErrorCode::Api => daji_status::DAJI_API,
            ErrorCode::RateLimited => daji_status::DAJI_RATE_LIMITED,
            ErrorCode::PaymentDeclined => daji_status::DAJI_PAYMENT_DECLINED,
            ErrorCode::PaymentOutcomeUnknown => daji_status::DAJI_PAYMENT_OUTCOME_UNKNOWN,
            ErrorCode::Internal => daji_status::DAJI_INTERNAL,
            ErrorCode::PaymentInProgress => daji_status::DAJI_PAYMENT_IN_PROGRESS,
        }
    }
}

/// How `orderIdList` is written on the wire.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum daji_order_id_format {
    /// `[1,2]`: what every official client sends (the default).
    DAJI_ORDER_IDS_JSON_ARRAY = 0,
    /// `1,2`: the documented fallback.
    DAJI_ORDER_IDS_COMMA_SEPARATED = 1,
}

/// Settings of a client. Start from `daji_client_options_default()` and set the credentials.
/// The strings are copied by `daji_client_new`; they need not outlive the call.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct daji_client_options {
    /// App key (required, UTF-8).
    pub app_key: *const c_char,
    /// App secret (required, UTF-8). Never logged, never in an error message.
    pub app_secret: *const c_char,
    /// Gateway address; NULL for https://openapi.dajisaas.com. Plain http only for loopback.
    pub base_url: *const c_char,
    /// Total time of one request in milliseconds (default 30000).
    pub timeout_ms: u32,
    /// Time to connect in milliseconds (default 10000).
    pub connect_timeout_ms: u32,
    /// Retries after a retryable failure, 0 to 3 (default 3).
    pub max_retries: u32,
    /// First backoff step in milliseconds (default 200).
    pub backoff_base_ms: u32,
    /// Longest backoff in milliseconds (default 5000).
    pub backoff_cap_ms: u32,
    /// How order ids are sent (default JSON array).
    pub order_id_format: daji_order_id_format,
    /// DEBUGGING ONLY: send the secret instead of a signature. Never in production.
    pub dangerously_send_app_secret_instead_of_sign: bool,
    /// CA certificates (PEM, one or more) to trust besides the system's, for networks whose
    /// proxy inspects TLS; NULL for none. Certificates are always checked.
    pub root_certificates_pem: *const c_char,
}

/// What is known about the last failure on the calling thread.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct daji_error_info {
    /// The failure's status (`DAJI_OK` when the last call succeeded).
    pub status: daji_status,
    /// What went wrong; "" after a success. Never NULL.
    pub message: *const c_char,
    /// The gateway's traceId, or NULL when no answer carried one.
    pub trace_id: *const c_char,
    /// The envelope code when the gateway refused the call, else 0.
    pub api_code: i64,
    /// The HTTP status of the last answer, else 0.
    pub http_status: u16,
    /// Requests made (0 when rejected before sending).
    pub attempts: u32,
}

/// A client of the gateway: opaque, created by `daji_client_new`, freed by `daji_client_free`.
/// One client may be used by many threads at once.
pub struct daji_client {
    inner: Client,
}

/// The library version, e.g. "0.1.0" (a static string: do not free).
#[unsafe(no_mangle)]
pub extern "C" fn daji_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The stable name of a status, e.g. "payment_declined" ("ok" for DAJI_OK, "unknown" for a
/// number that is not a status). A static string: do not free.
#[unsafe(no_mangle)]
pub extern "C" fn daji_status_name(status: i32) -> *const c_char {
    let name: &'static str = match status {
        0 => "ok\0",
        n => ErrorCode::ALL
            .iter()
            .find(|c| c.number() == n)
            .map_or("unknown\0", |c| match c {
                ErrorCode::InvalidArgument => "invalid_argument\0",
                ErrorCode::Connection => "connection\0",
                ErrorCode::Timeout => "timeout\0",
                ErrorCode::HttpStatus => "http_status\0",
                ErrorCode::Decode => "decode\0",
                ErrorCode::Api => "api\0",
                ErrorCode::RateLimited => "rate_limited\0",
                ErrorCode::PaymentDeclined => "payment_declined\0",
                ErrorCode::PaymentOutcomeUnknown => "payment_outcome_unknown\0",
                ErrorCode::Internal => "internal\0",
                ErrorCode::PaymentInProgress => "payment_in_progress\0",
            }),
    };
    name.as_ptr().cast()
}

/// The defaults: no credentials, the production gateway, 30 s timeout, 10 s connect timeout,
/// 3 retries, 200 ms to 5 s backoff, JSON-array order ids.
#[unsafe(no_mangle)]
pub extern "C" fn daji_client_options_default() -> daji_client_options {
    daji_client_options {
        app_key: ptr::null(),
        app_secret: ptr::null(),
        base_url: ptr::null(),
        timeout_ms: 30_000,
        connect_timeout_ms: 10_000,
        max_retries: 3,
        backoff_base_ms: 200,
        backoff_cap_ms: 5_000,
        order_id_format: daji_order_id_format::DAJI_ORDER_IDS_JSON_ARRAY,
        dangerously_send_app_secret_instead_of_sign: false,
        root_certificates_pem: ptr::null(),
    }
}

/// Fills `info` with the last failure on this thread. The strings stay valid until the next
/// `daji_*` call on this thread; do not free them. Returns the last status.
///
/// # Safety
/// `info` is NULL (then only the status is returned) or points to writable memory.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_last_error(info: *mut daji_error_info) -> daji_status {
    LAST_ERROR.with(|cell| {
        let last = cell.borrow();
        let status = last
            .as_ref()
            .map_or(daji_status::DAJI_OK, |l| l.error.code().into());
        if !info.is_null() {
            let filled = match last.as_ref() {
                Some(l) => daji_error_info {
                    status,
                    message: l.message.as_ptr(),
                    trace_id: l.trace_id.as_ref().map_or(ptr::null(), |t| t.as_ptr()),
                    api_code: l.error.api_code().unwrap_or(0),
                    http_status: l.error.http_status().unwrap_or(0),
                    attempts: l.error.attempts(),
                },
                None => daji_error_info {
                    status,
                    message: c"".as_ptr(),
                    trace_id: ptr::null(),
                    api_code: 0,
                    http_status: 0,
                    attempts: 0,
                },
            };
            // SAFETY: non-NULL and writable per the caller's contract.
            unsafe { info.write(filled) };
        }
        status
    })
}

/// Frees a string returned by this library. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_string_free(s: *mut c_char) {
    if !s.is_null() {
        // SAFETY: it came from CString::into_raw in this library, per the caller's contract.
        drop(unsafe { CString::from_raw(s) });
    }
}

/// Signs `params_json` (a JSON object of request parameters) with `secret`. On success
/// `*sign_out` is the 32-digit uppercase hex signature, to free with `daji_string_free`.
///
/// # Safety
/// The strings are NULL or NUL-terminated; `sign_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_sign(
    params_json: *const c_char,
    secret: *const c_char,
    sign_out: *mut *mut c_char,
) -> daji_status {
    run(|| {
        out_param(sign_out, "sign_out")?;
        let params = parse_params(unsafe { text(params_json, "params_json") }?)?;
        let signature = sign(&params, unsafe { text(secret, "secret") }?);
        // SAFETY: checked non-NULL above.
        unsafe { sign_out.write(owned(signature)?) };
        Ok(())
    })
}

/// Creates a client. On success `*client_out` is the new handle, to free with
/// `daji_client_free`. Bad settings give `DAJI_INVALID_ARGUMENT` and leave `*client_out` as it was.
///
/// # Safety
/// `options` is NULL or points to options whose strings are NULL or NUL-terminated;
/// `client_out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_new(
    options: *const daji_client_options,
    client_out: *mut *mut daji_client,
) -> daji_status {
    run(|| {
        out_param(client_out, "client_out")?;
        if options.is_null() {
            return Err(Error::invalid("options is NULL"));
        }
        // SAFETY: non-NULL per the check; readable per the caller's contract.
        let o = unsafe { *options };
        let mut builder =
            ClientBuilder::new(unsafe { text(o.app_key, "options.app_key") }?, unsafe {
                text(o.app_secret, "options.app_secret")
            }?);
        if let Some(url) = unsafe { optional_text(o.base_url, "options.base_url") }? {
            builder = builder.base_url(url);
        }
        let roots =
            unsafe { optional_text(o.root_certificates_pem, "options.root_certificates_pem") }?;
        if let Some(pem) = roots {
            builder = builder.add_root_certificates_pem(pem);
        }
        let ms = |v: u32| Duration::from_millis(u64::from(v));
        let format = match o.order_id_format {
            daji_order_id_format::DAJI_ORDER_IDS_JSON_ARRAY => OrderIdFormat::JsonArray,
            daji_order_id_format::DAJI_ORDER_IDS_COMMA_SEPARATED => OrderIdFormat::CommaSeparated,
        };
        let client = builder
            .timeout(ms(o.timeout_ms))
            .connect_timeout(ms(o.connect_timeout_ms))
            .max_retries(o.max_retries)
            .backoff(ms(o.backoff_base_ms), ms(o.backoff_cap_ms))
            .order_id_format(format)
            .dangerously_send_app_secret_instead_of_sign(
                o.dangerously_send_app_secret_instead_of_sign,
            )
            .build()?;
        let handle = Box::into_raw(Box::new(daji_client { inner: client }));
        // SAFETY: checked non-NULL above.
        unsafe { client_out.write(handle) };
        Ok(())
    })
}

/// Frees a client. NULL is ignored. Calls still running on other threads must have returned.
///
/// # Safety
/// `client` is NULL or a handle from `daji_client_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_free(client: *mut daji_client) {
    if !client.is_null() {
        // SAFETY: it came from Box::into_raw in daji_client_new, per the caller's contract.
        drop(unsafe { Box::from_raw(client) });
    }
}

/// # Safety
/// `client` is NULL or a live handle.
unsafe fn client_ref<'a>(client: *const daji_client) -> crate::Result<&'a Client> {
    // SAFETY: NULL or live per the caller's contract.
    unsafe { client.as_ref() }
        .map(|c| &c.inner)
        .ok_or_else(|| Error::invalid("client is NULL"))
}

fn link_json(link: PayUrl) -> Value {
    json!({"url": link.url, "orderIds": link.order_ids, "traceId": link.trace_id,
           "attempts": link.attempts, "data": link.data})
}

fn payment_json(p: Payment) -> Value {
    json!({"orderId": p.order_id, "payChannel": p.pay_channel, "attempts": p.attempts,
           "traceId": p.trace_id, "data": p.data})
}

/// A cashier link for 1 to 30 distinct orders. On success `*url_out` is the URL and, if
/// `result_json_out` is not NULL, `*result_json_out` is
/// `{"url","orderIds","traceId","attempts","data"}` as JSON; free both with `daji_string_free`.
///
/// # Safety
/// `client` is NULL or live; `order_ids` is NULL or `count` NUL-terminated strings; the
/// out-parameters are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_pay_url(
    client: *const daji_client,
    order_ids: *const *const c_char,
    count: usize,
    url_out: *mut *mut c_char,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    run(|| {
        out_param(url_out, "url_out")?;
        let client = unsafe { client_ref(client) }?;
        let ids = unsafe { boundary::order_ids(order_ids, count) }?;
        let link = client.pay_url(&ids)?;
        let url = owned(link.url.clone())?;
        if !result_json_out.is_null() {
            match owned(link_json(link).to_string()) {
                // SAFETY: checked non-NULL.
                Ok(json) => unsafe { result_json_out.write(json) },
                Err(e) => {
                    unsafe { daji_string_free(url) };
                    return Err(e);
                }
            }
        }
        // SAFETY: checked non-NULL above.
        unsafe { url_out.write(url) };
        Ok(())
    })
}

/// Links for any number of orders: repeats dropped, batches of `batch_size` (1 to 30), in input
/// order. On success `*result_json_out` is a JSON array of `{"url","orderIds","traceId",
/// "attempts","data"}`, to free with `daji_string_free`.
///
/// # Safety
/// As for `daji_pay_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_pay_urls(
    client: *const daji_client,
    order_ids: *const *const c_char,
    count: usize,
    batch_size: usize,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    run(|| {
        out_param(result_json_out, "result_json_out")?;
        let client = unsafe { client_ref(client) }?;
        let ids = unsafe { boundary::order_ids(order_ids, count) }?;
        let links = client.pay_urls(&ids, batch_size)?;
        let json = Value::Array(links.into_iter().map(link_json).collect()).to_string();
        // SAFETY: checked non-NULL above.
        unsafe { result_json_out.write(owned(json)?) };
        Ok(())
    })
}

/// Pays one order without the buyer's password. `DAJI_OK` means paid; then, if
/// `result_json_out` is not NULL, it receives `{"orderId","payChannel","attempts","traceId",
/// "data"}` (free with `daji_string_free`). `DAJI_PAYMENT_OUTCOME_UNKNOWN` means the money may
/// have been taken: check the order before paying again. Retries never pay an order twice.
///
/// # Safety
/// `client` is NULL or live; `order_id` is NULL or NUL-terminated; `result_json_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_prepare_pay(
    client: *const daji_client,
    order_id: *const c_char,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    run(|| {
        let client = unsafe { client_ref(client) }?;
        let id = unsafe { text(order_id, "order_id") }?;
        let payment = client.prepare_pay(id)?;
        if !result_json_out.is_null() {
            // SAFETY: checked non-NULL.
            unsafe { result_json_out.write(owned(payment_json(payment).to_string())?) };
        }
        Ok(())
    })
}

/// Any other endpoint, signed: `method` is "GET" or "POST", `params_json` a JSON object or NULL.
/// On success `*data_json_out` is the envelope's `data` as JSON, to free with `daji_string_free`.
///
/// # Safety
/// `client` is NULL or live; the strings are NULL or NUL-terminated; `data_json_out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_request(
    client: *const daji_client,
    method: *const c_char,
    path: *const c_char,
    params_json: *const c_char,
    data_json_out: *mut *mut c_char,
) -> daji_status {
    run(|| {
        out_param(data_json_out, "data_json_out")?;
        let client = unsafe { client_ref(client) }?;
        let method = Method::parse(unsafe { text(method, "method") }?)?;
        let path = unsafe { text(path, "path") }?;
        let params = match unsafe { optional_text(params_json, "params_json") }? {
            Some(json) => parse_params(json)?,
            None => Default::default(),
        };
        let data = client.request(method, path, params)?;
        // SAFETY: checked non-NULL above.
        unsafe { data_json_out.write(owned(data.to_string())?) };
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::ffi::CStr;

    /// Random bytes as a C string (NULs removed, so that it is one string).
    fn c_string(bytes: Vec<u8>) -> CString {
        CString::new(bytes.into_iter().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap()
    }

    /// One client for every case, whose requests are refused at once (nothing listens on 9).
    fn refused_client() -> *const daji_client {
        static CLIENT: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *CLIENT.get_or_init(|| {
            let mut options = daji_client_options_default();
            options.app_key = c"k".as_ptr();
            options.app_secret = c"s".as_ptr();
            options.base_url = c"http://127.0.0.1:9".as_ptr();
            options.max_retries = 0;
            options.timeout_ms = 200;
            let mut client = ptr::null_mut();
            assert_eq!(
                unsafe { daji_client_new(&options, &mut client) },
                daji_status::DAJI_OK
            );
            client as usize
        }) as *const daji_client
    }

    proptest! {
        #[test]
        fn entry_points_never_crash_on_random_strings(
            a in prop::collection::vec(any::<u8>(), 0..64),
            b in prop::collection::vec(any::<u8>(), 0..64),
            c in prop::collection::vec(any::<u8>(), 0..64),
        ) {
            let (a, b, c) = (c_string(a), c_string(b), c_string(c));
            let client = refused_client();
            let mut out: *mut c_char = ptr::null_mut();
            let mut out2: *mut c_char = ptr::null_mut();
            let statuses = unsafe {
                [
                    daji_sign(a.as_ptr(), b.as_ptr(), &mut out),
                    daji_pay_url(client, [a.as_ptr(), b.as_ptr()].as_ptr(), 2, &mut out2, ptr::null_mut()),
                    daji_pay_urls(client, [c.as_ptr()].as_ptr(), 1, 10, &mut out2),
                    daji_prepare_pay(client, a.as_ptr(), ptr::null_mut()),
                    daji_request(client, a.as_ptr(), b.as_ptr(), c.as_ptr(), &mut out2),
                ]
            };
            for status in statuses {
                // Every outcome is a status; a random id can only fail (or reach the refused port).
                prop_assert!((status as i32) <= 10);
                prop_assert_ne!(status, daji_status::DAJI_INTERNAL);
            }
            let mut options = daji_client_options_default();
            options.app_key = a.as_ptr();
            options.app_secret = b.as_ptr();
            options.base_url = c.as_ptr();
            options.root_certificates_pem = a.as_ptr();
            let mut made = ptr::null_mut();
            let status = unsafe { daji_client_new(&options, &mut made) };
            prop_assert_ne!(status, daji_status::DAJI_INTERNAL);
            unsafe {
                daji_client_free(made);
                daji_string_free(out);
                daji_string_free(out2);
            }
        }
    }

    #[test]
    fn statuses_match_error_code_numbers() {
        for code in ErrorCode::ALL {
            assert_eq!(daji_status::from(code) as i32, code.number());
            let name = unsafe { CStr::from_ptr(daji_status_name(code.number())) };
            assert_eq!(name.to_str().unwrap(), code.as_str());
        }
        let unknown = unsafe { CStr::from_ptr(daji_status_name(99)) };
        assert_eq!(unknown.to_str().unwrap(), "unknown");
    }

    #[test]
    fn failures_are_remembered_and_outputs_untouched() {
        let mut out: *mut c_char = ptr::null_mut();
        let status = unsafe { daji_sign(c"[1]".as_ptr(), c"s".as_ptr(), &mut out) };
        assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
        assert!(out.is_null());
        let mut info = unsafe { std::mem::zeroed::<daji_error_info>() };
        assert_eq!(
            unsafe { daji_last_error(&mut info) },
            daji_status::DAJI_INVALID_ARGUMENT
        );
        let message = unsafe { CStr::from_ptr(info.message) }.to_str().unwrap();
        assert!(message.contains("JSON object"), "{message}");
        let ok = unsafe { daji_sign(c"{}".as_ptr(), c"s".as_ptr(), &mut out) };
        assert_eq!(ok, daji_status::DAJI_OK);
        assert_eq!(
            unsafe { daji_last_error(ptr::null_mut()) },
            daji_status::DAJI_OK
        );
        unsafe { daji_string_free(out) };
    }
}

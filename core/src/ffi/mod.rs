//! The C ABI (feature `ffi`): libdajisaas.so, libdajisaas.a and include/dajisaas.h.
//!
//! Names
//! - A function about one of the API's types is named `daji_<type>_<verb>`: the type's name
//!   without its `daji_` prefix, then what the function does (rustls-ffi's rule):
//!   daji_client_new, daji_client_free, daji_client_pay_url, daji_client_pay_urls,
//!   daji_client_prepare_pay, daji_client_pay_many, daji_client_request,
//!   daji_client_flush_journal,
//!   daji_client_config_json, daji_client_options_init, daji_error_info_last,
//!   daji_status_name, and daji_string_free for the strings the library returns.
//! - The two functions that belong to no type are named for what they do or give: daji_sign
//!   and daji_version.
//!
//! Statuses and errors
//! - Every function that can fail returns a daji_status: DAJI_OK (0) or the failure. The
//!   numbers are fixed and never reused. daji_status_name() gives a status's stable name, the
//!   code name every language shows ("payment_declined").
//! - Every function that returns a daji_status sets the calling thread's last error (clears it
//!   on success); daji_error_info_last() reads it: the message, the gateway's traceId, the
//!   envelope (api) code, the HTTP status and the attempts made. The other functions leave it
//!   as it is.
//! - DAJI_PAYMENT_OUTCOME_UNKNOWN from daji_client_prepare_pay means the money may have been
//!   taken: check the order before paying it again. DAJI_PAYMENT_IN_PROGRESS means a payment of
//!   the order is under way in another process or machine sharing the payment journal: nothing
//!   was sent (another thread of this process paying the same order is waited for instead). The
//!   library never pays an order twice by retrying.
//!
//! Ownership
//! - Out-parameters are written only on success. Every string the library returns through an
//!   out-parameter is the caller's: free it with daji_string_free(). Strings in daji_error_info
//!   and those of daji_version() and daji_status_name() belong to the library: do not free them.
//! - Strings passed in are borrowed for the duration of the call only.
//! - A result that may be absent (daji_client_payment_record for an order the journal has no
//!   record of) is NULL with DAJI_OK.
//!
//! JSON
//! - Results are JSON whose keys are spelled as this header spells fields: snake_case, the names
//!   of daji_error_info and daji_client_options ("order_id", "trace_id", "api_code",
//!   "http_status"). An error object in a result is {"status","code","message","trace_id",
//!   "api_code","http_status","attempts"}: daji_error_info's fields, with "status" the
//!   daji_status number and "code" its daji_status_name(). The gateway's own "data" is passed on
//!   as the gateway wrote it.
//!
//! Options
//! - daji_client_options carries its own size, so that options added later never break a
//!   program compiled against an older header: fill it with
//!   daji_client_options_init(&options, sizeof options), which writes the library's defaults
//!   (read from the library at run time, not compiled into the program) and struct_size, then
//!   set the fields you need. daji_client_new reads only the first struct_size bytes; every
//!   option past them takes the library's default.
//! - Enumerations and flags in it are fixed-width integers (uint32_t, uint8_t), checked: a
//!   value out of range gives DAJI_INVALID_ARGUMENT naming the field.
//!
//! Safety and threads
//! - NULL pointers, invalid UTF-8, out-of-range values and sizes give DAJI_INVALID_ARGUMENT,
//!   never a crash. Every function runs behind a panic boundary: no panic crosses into the
//!   caller (a bug gives DAJI_INTERNAL).
//! - A daji_client may be shared by any number of threads; calls block the calling thread until
//!   the gateway answers (or the timeout passes).
//! - Calls also work while a thread or the process exits: from atexit handlers, C++ static
//!   destructors and pthread_key destructors. There daji_error_info_last() still gives the exact
//!   status, api_code, http_status and attempts, but a fixed message and no trace_id.
//!
//! Signals, fork and callbacks
//! - Every thread the library starts blocks every asynchronous signal (all but SIGSEGV, SIGBUS,
//!   SIGFPE, SIGILL, SIGTRAP, SIGSYS and SIGABRT), so a signal sent to the process goes to one of
//!   the program's own threads, never to the library's: the daemon pattern (block SIGTERM in
//!   main before creating threads, then sigwait for it in one thread) works, and a handler runs
//!   only on the program's threads.
//! - Only daji_version() and daji_status_name() are async-signal-safe. No other function may be
//!   called from a signal handler: they take locks and allocate, so a handler that interrupts a
//!   call on its thread can deadlock. Set a volatile sig_atomic_t flag (or write to a pipe) in the
//!   handler and make the call from a normal thread.
//! - Callbacks (the progress callback of daji_client_pay_many) must return normally: no C++
//!   exception may leave them and no longjmp out of them. Either would unwind through the
//!   library's frames, which is undefined behaviour (a crash at best). C++ callers declare them
//!   noexcept (a stray throw then ends in std::terminate at the callback, not inside the
//!   library) and catch inside what they expect. To stop a run, return non-zero.
//! - fork(): a child may keep using the clients it inherited and make new ones: on its first
//!   call the library notices the new process id and starts its own I/O threads and connections
//!   in the child, leaving the parent's alone. Calls running in the parent at the fork are not
//!   continued in the child. Fork while no daji_* call runs on another thread of the parent (as
//!   POSIX asks of any library that takes locks); exec needs nothing from the library.
#![allow(non_camel_case_types)]
// The C callers' contracts are in each function's documentation (it becomes the header).
#![allow(clippy::missing_safety_doc)]

mod boundary;

use std::cell::RefCell;
use std::ffi::{CStr, CString, c_char, c_int, c_void};
use std::mem::{MaybeUninit, offset_of, size_of};
use std::ptr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::Cancel;
use crate::batch::{PayManyItem, PayManyReport};
use crate::client::AsyncClient;
use crate::config::{MAX_RETRIES_LIMIT, Secret};
use crate::error::{Error, ErrorCode};
use crate::journal::State;
use crate::options::{
    Casing, ClientOptions, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_BATCHES, DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT,
};
use crate::order_id::OrderIdFormat;
use crate::pay_many::DEFAULT_PAY_MANY_CONCURRENCY;
use crate::sign::{parse_params, sign};
use crate::transport::Method;

use boundary::{
    Out, c_text, client_call, client_call_each, guard, optional_text, out_param, owned, run, text,
};

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
    /// A payment of this order is under way in another process or machine sharing the payment
    /// journal; nothing was sent. Wait for its outcome (or check the order) instead of paying
    /// again.
    DAJI_PAYMENT_IN_PROGRESS = 11,
    /// The payment journal could not be opened, read or written in time; the message says
    /// whether anything was sent.
    DAJI_JOURNAL = 12,
    /// The gateway refused the payment because the order's state forbids it (closed,
    /// cancelled, not found); nothing was deducted, and it is never retried.
    DAJI_ORDER_NOT_PAYABLE = 13,
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
            ErrorCode::Journal => daji_status::DAJI_JOURNAL,
            ErrorCode::OrderNotPayable => daji_status::DAJI_ORDER_NOT_PAYABLE,
        }
    }
}

/// The values of `daji_client_options.order_id_format`: how `orderIdList` is written on the
/// wire. The field is a uint32_t; any other value is refused.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum daji_order_id_format {
    /// `[1,2]`: what every official client sends (the default).
    DAJI_ORDER_IDS_JSON_ARRAY = 0,
    /// `1,2`: the documented fallback.
    DAJI_ORDER_IDS_COMMA_SEPARATED = 1,
}

/// Settings of a client. Fill it with `daji_client_options_init(&options, sizeof options)`,
/// then set the credentials and whatever else you need. The strings are copied by
/// `daji_client_new`; they need not outlive the call. New fields are only ever added at the end.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct daji_client_options {
    /// The size of this struct as the program knows it (`sizeof(daji_client_options)` when it
    /// was compiled), set by `daji_client_options_init`. Fields past it take the defaults.
    pub struct_size: u32,
    /// App key (required, UTF-8).
    pub app_key: *const c_char,
    /// App secret (required, UTF-8). Never logged, never in an error message.
    pub app_secret: *const c_char,
    /// Gateway address; NULL for `https://openapi.dajisaas.com`. Plain http only for loopback.
    pub base_url: *const c_char,
    /// Total time of one request in milliseconds, 1 to 600000 (default 30000).
    pub timeout_ms: u32,
    /// Time to connect in milliseconds, 1 to 600000 (default 10000).
    pub connect_timeout_ms: u32,
    /// Retries after a retryable failure, 0 to 3 (default 3).
    pub max_retries: u32,
    /// First backoff step in milliseconds, 0 to 60000 (default 200).
    pub backoff_base_ms: u32,
    /// Longest backoff in milliseconds, 0 to 60000, not below the first step (default 5000).
    pub backoff_cap_ms: u32,
    /// How order ids are sent: `DAJI_ORDER_IDS_JSON_ARRAY` (0, the default) or
    /// `DAJI_ORDER_IDS_COMMA_SEPARATED` (1).
    pub order_id_format: u32,
    /// DEBUGGING ONLY: 1 sends the secret instead of a signature; 0 (the default) signs. Never 1
    /// in production. Any other value is refused.
    pub dangerously_send_app_secret_instead_of_sign: u8,
    /// CA certificates (PEM, one or more) to trust besides the system's, for networks whose
    /// proxy inspects TLS; NULL for none. Certificates are always checked.
    pub root_certificates_pem: *const c_char,
    /// Link batches `daji_client_pay_urls` fetches at once, 1 to 16 (default 4).
    pub max_concurrent_batches: u32,
    /// The payment journal: NULL or "memory" for the process's memory journal (the default),
    /// "sqlite:///abs/path.db" or "postgres://user@host:port/db" to share it between processes.
    pub journal: *const c_char,
    /// Most connections open at once, 1 to 1024 (default 64); calls beyond it wait their turn.
    pub max_connections: u32,
    /// At most this many calls a second, 1 to 10000, spaced evenly and shared by every call of
    /// the client; 0 (the default) for no fixed limit. Either way the client slows down by
    /// itself after the gateway refuses calls for their frequency.
    pub max_calls_per_second: u32,
    /// The deadline of every payment-journal operation in milliseconds, 100 to 60000 (default
    /// 5000); past it the call fails with `DAJI_JOURNAL`, saying whether anything was sent.
    pub journal_timeout_ms: u32,
}

/// Largest `struct_size` accepted: far above any future options struct, low enough to refuse
/// garbage.
const MAX_OPTIONS_SIZE: usize = 4096;

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
    inner: AsyncClient,
}

/// The library version, such as "0.1.0". A static string: do not free. Any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn daji_version() -> *const c_char {
    guard(c"".as_ptr(), || {
        concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
    })
}

/// The names of the statuses, from `ErrorCode::as_str`, built once.
fn status_names() -> &'static [(i32, CString)] {
    static NAMES: OnceLock<Vec<(i32, CString)>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ErrorCode::ALL
            .iter()
            .filter_map(|code| Some((code.number(), CString::new(code.as_str()).ok()?)))
            .collect()
    })
}

/// The stable name of a status, such as "payment_declined": the code name every language shows
/// ("ok" for DAJI_OK, "unknown" for a number that is not a status). A static string: do not
/// free. Any thread, any time.
#[unsafe(no_mangle)]
pub extern "C" fn daji_status_name(status: i32) -> *const c_char {
    guard(c"unknown".as_ptr(), || {
        if status == 0 {
            return c"ok".as_ptr();
        }
        status_names()
            .iter()
            .find(|(number, _)| *number == status)
            .map_or(c"unknown".as_ptr(), |(_, name)| name.as_ptr())
    })
}

fn millis(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// The options with this library's defaults, as `daji_client_options_init` writes them.
fn default_options(struct_size: u32) -> daji_client_options {
    daji_client_options {
        struct_size,
        app_key: ptr::null(),
        app_secret: ptr::null(),
        base_url: ptr::null(),
        timeout_ms: millis(DEFAULT_TIMEOUT),
        connect_timeout_ms: millis(DEFAULT_CONNECT_TIMEOUT),
        max_retries: MAX_RETRIES_LIMIT,
        backoff_base_ms: millis(DEFAULT_BACKOFF_BASE),
        backoff_cap_ms: millis(DEFAULT_BACKOFF_CAP),
        order_id_format: match OrderIdFormat::default() {
            OrderIdFormat::JsonArray => daji_order_id_format::DAJI_ORDER_IDS_JSON_ARRAY as u32,
            OrderIdFormat::CommaSeparated => {
                daji_order_id_format::DAJI_ORDER_IDS_COMMA_SEPARATED as u32
            }
        },
        dangerously_send_app_secret_instead_of_sign: 0,
        root_certificates_pem: ptr::null(),
        max_concurrent_batches: DEFAULT_MAX_CONCURRENT_BATCHES,
        journal: ptr::null(),
        max_connections: DEFAULT_MAX_CONNECTIONS,
        max_calls_per_second: 0,
        journal_timeout_ms: millis(crate::journal::DEFAULT_JOURNAL_TIMEOUT),
    }
}

/// `value` as a struct with its padding zeroed, so that copying its bytes copies no undefined
/// ones.
fn zero_padded(value: daji_client_options) -> MaybeUninit<daji_client_options> {
    let mut out = MaybeUninit::<daji_client_options>::zeroed();
    let p = out.as_mut_ptr();
    // SAFETY: `p` points to `out`, a whole struct; each field is written in place.
    unsafe {
        (&raw mut (*p).struct_size).write(value.struct_size);
        (&raw mut (*p).app_key).write(value.app_key);
        (&raw mut (*p).app_secret).write(value.app_secret);
        (&raw mut (*p).base_url).write(value.base_url);
        (&raw mut (*p).timeout_ms).write(value.timeout_ms);
        (&raw mut (*p).connect_timeout_ms).write(value.connect_timeout_ms);
        (&raw mut (*p).max_retries).write(value.max_retries);
        (&raw mut (*p).backoff_base_ms).write(value.backoff_base_ms);
        (&raw mut (*p).backoff_cap_ms).write(value.backoff_cap_ms);
        (&raw mut (*p).order_id_format).write(value.order_id_format);
        (&raw mut (*p).dangerously_send_app_secret_instead_of_sign)
            .write(value.dangerously_send_app_secret_instead_of_sign);
        (&raw mut (*p).root_certificates_pem).write(value.root_certificates_pem);
        (&raw mut (*p).max_concurrent_batches).write(value.max_concurrent_batches);
        (&raw mut (*p).journal).write(value.journal);
        (&raw mut (*p).max_connections).write(value.max_connections);
        (&raw mut (*p).max_calls_per_second).write(value.max_calls_per_second);
        (&raw mut (*p).journal_timeout_ms).write(value.journal_timeout_ms);
    }
    out
}

fn check_size(size: usize, what: &str) -> crate::Result<()> {
    if size < size_of::<u32>() || size > MAX_OPTIONS_SIZE {
        return Err(Error::invalid(format!(
            "{what} is {size}; it must be the size of the program's daji_client_options \
             (sizeof options), from {} to {MAX_OPTIONS_SIZE}",
            size_of::<u32>()
        )));
    }
    Ok(())
}

/// Fills the first `size` bytes of `*options` with this library's defaults (no credentials, the
/// production gateway, 30 s timeout, 10 s connect timeout, 3 retries, 200 ms to 5 s backoff,
/// JSON-array order ids, 4 concurrent batches, signed requests, no fixed limit of calls a second:
/// the values come from the library at run time) and sets `struct_size` to `size`. Pass
/// `sizeof options`: a program compiled against an older, smaller struct passes its own size and
/// keeps working. Bytes past this
/// library's struct (a program compiled against a newer header) are zeroed. Bytes past `size`
/// are not touched.
///
/// # Safety
/// `options` is NULL or points to `size` writable bytes. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_options_init(
    options: *mut daji_client_options,
    size: usize,
) -> daji_status {
    run(|| {
        out_param(options, "options")?;
        check_size(size, "size")?;
        let defaults = zero_padded(default_options(size as u32));
        let known = size.min(size_of::<daji_client_options>());
        let dst = options.cast::<u8>();
        // SAFETY: `dst` has `size` writable bytes per the caller's contract; `known <= size` and
        // the defaults have `known` readable bytes.
        unsafe {
            ptr::copy_nonoverlapping(defaults.as_ptr().cast::<u8>(), dst, known);
            ptr::write_bytes(dst.add(known), 0, size - known);
        }
        Ok(())
    })
}

/// The options the caller set, read from the first `struct_size` bytes: every field past them
/// is left out (`None`), so that the core's default applies.
///
/// # Safety
/// `options` is non-NULL and points to at least `struct_size` readable bytes (per the
/// caller's contract), whose strings are NULL or NUL-terminated.
unsafe fn read_options(options: *const daji_client_options) -> crate::Result<ClientOptions> {
    // SAFETY: the first field is readable in any struct the caller can have filled.
    let size = unsafe { options.cast::<u32>().read_unaligned() } as usize;
    if size == 0 {
        return Err(Error::invalid(
            "struct_size is 0: fill the options with \
             daji_client_options_init(&options, sizeof options) first",
        ));
    }
    check_size(size, "struct_size")?;
    let ours = size_of::<daji_client_options>();
    let bytes = options.cast::<u8>();
    if size > ours {
        // SAFETY: `size` bytes are readable per the caller's contract.
        let newer = unsafe { std::slice::from_raw_parts(bytes.add(ours), size - ours) };
        if newer.iter().any(|b| *b != 0) {
            return Err(Error::invalid(format!(
                "struct_size is {size}, and fields past this library's {ours} bytes are set: \
                 the program was compiled against a newer dajisaas.h than this library \
                 (version {}) supports",
                env!("CARGO_PKG_VERSION")
            )));
        }
    }
    let mut copy = zero_padded(default_options(0));
    // SAFETY: `min(size, ours)` bytes are readable from the caller and writable in `copy`.
    unsafe {
        ptr::copy_nonoverlapping(bytes, copy.as_mut_ptr().cast::<u8>(), size.min(ours));
    }
    // SAFETY: every field is an integer or a raw pointer, for which any bytes are valid.
    let o = unsafe { copy.assume_init() };
    macro_rules! given {
        ($field:ident) => {{
            let end = offset_of!(daji_client_options, $field) + size_of_val(&o.$field);
            if end <= size { Some(o.$field) } else { None }
        }};
    }
    let string = |p: Option<*const c_char>, what: &str| -> crate::Result<Option<String>> {
        match p {
            Some(p) => Ok(unsafe { optional_text(p, what) }?.map(str::to_string)),
            None => Ok(None),
        }
    };
    let ms = |v: Option<u32>| v.map(|v| Duration::from_millis(u64::from(v)));
    let order_id_format = match given!(order_id_format) {
        None => None,
        Some(0) => Some(OrderIdFormat::JsonArray),
        Some(1) => Some(OrderIdFormat::CommaSeparated),
        Some(other) => {
            return Err(Error::invalid(format!(
                "order_id_format is {other}; it must be DAJI_ORDER_IDS_JSON_ARRAY (0) or \
                 DAJI_ORDER_IDS_COMMA_SEPARATED (1)"
            )));
        }
    };
    let send_secret = match given!(dangerously_send_app_secret_instead_of_sign) {
        None => None,
        Some(0) => Some(false),
        Some(1) => Some(true),
        Some(other) => {
            return Err(Error::invalid(format!(
                "dangerously_send_app_secret_instead_of_sign is {other}; it must be 0 or 1"
            )));
        }
    };
    let roots = match given!(root_certificates_pem) {
        // SAFETY: NUL-terminated per the caller's contract.
        Some(p) if !p.is_null() => vec![unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()],
        _ => Vec::new(),
    };
    Ok(ClientOptions {
        app_key: string(given!(app_key), "app_key")?,
        app_secret: string(given!(app_secret), "app_secret")?.map(Secret::from),
        base_url: string(given!(base_url), "base_url")?,
        timeout: ms(given!(timeout_ms)),
        connect_timeout: ms(given!(connect_timeout_ms)),
        max_retries: given!(max_retries),
        backoff_base: ms(given!(backoff_base_ms)),
        backoff_cap: ms(given!(backoff_cap_ms)),
        order_id_format,
        max_concurrent_batches: given!(max_concurrent_batches),
        root_certificates_pem: roots,
        dangerously_send_app_secret_instead_of_sign: send_secret,
        journal: string(given!(journal), "journal")?,
        journal_timeout: ms(given!(journal_timeout_ms)),
        max_connections: given!(max_connections),
        max_calls_per_second: given!(max_calls_per_second).filter(|n| *n != 0),
        casing: Casing::Snake,
    })
}

/// Creates a client from options filled by `daji_client_options_init`. Only the first
/// `options->struct_size` bytes are read; the options past them take the library's defaults.
/// On success `*client_out` is the new handle, to free with `daji_client_free`. Bad settings give
/// `DAJI_INVALID_ARGUMENT` naming the field and leave `*client_out` as it was.
///
/// # Safety
/// `options` is NULL or points to `options->struct_size` readable bytes, whose strings are NULL
/// or NUL-terminated; `client_out` is NULL or writable. Any thread.
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
        let client = build(unsafe { read_options(options) }?)?;
        let handle = Box::into_raw(Box::new(daji_client {
            inner: client.to_async(),
        }));
        LIVE_CLIENTS.fetch_add(1, Ordering::SeqCst);
        // SAFETY: checked non-NULL above.
        unsafe { client_out.write(handle) };
        Ok(())
    })
}

/// Clients made by `daji_client_new` and not yet freed. While one is alive, so is the I/O
/// runtime they share.
static LIVE_CLIENTS: AtomicUsize = AtomicUsize::new(0);

/// Builds the client. While this thread exits, after its thread-locals were destroyed, tokio
/// cannot start the I/O runtime from it (it enters the runtime through its own thread-local,
/// and panics). If no client is alive, the new one must start the runtime, so it is then built
/// on a short-lived helper thread; otherwise it joins the running runtime from here.
fn build(options: ClientOptions) -> crate::Result<crate::Client> {
    let exiting = matches!(
        tokio::runtime::Handle::try_current(),
        Err(e) if e.is_thread_local_destroyed()
    );
    if !exiting || LIVE_CLIENTS.load(Ordering::SeqCst) > 0 {
        return options.build();
    }
    std::thread::Builder::new()
        .name("dajisaas-new".into())
        .spawn(move || {
            crate::signals::block_async_signals();
            options.build()
        })
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("no thread to start the client on: {e}"),
            )
        })?
        .join()
        .unwrap_or_else(|panic| Err(Error::from_panic(&*panic)))
}

/// Frees a client. NULL is ignored. Every call using it, on any thread, must have returned. The
/// library's I/O threads stop when the last client is freed.
///
/// First, if this process keeps payment outcomes that the client's journal could not take (see
/// `daji_client_flush_journal`), they are written, blocking for at most the client's
/// `journal_timeout_ms`; what is still kept after that is lost when the process exits. Call
/// `daji_client_flush_journal` before to learn how many stay kept.
///
/// # Safety
/// `client` is NULL or a handle from `daji_client_new` not yet freed.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_free(client: *mut daji_client) {
    guard((), || {
        if !client.is_null() {
            // SAFETY: it came from Box::into_raw in daji_client_new, per the caller's contract.
            let handle = unsafe { Box::from_raw(client) };
            // Nothing kept, nothing started (a fork child's inherited client starts no runtime).
            if crate::pending::keeps(handle.inner.config().journal().url()) {
                // What stays kept is in the core's warning; a free has no status to give.
                let _ = flush_journal(&handle.inner, None);
            }
            LIVE_CLIENTS.fetch_sub(1, Ordering::SeqCst);
            drop(handle);
        }
    })
}

/// `AsyncClient::flush_journal` with the calling thread blocked (see `boundary`).
fn flush_journal(client: &AsyncClient, timeout: Option<Duration>) -> crate::Result<usize> {
    let c = client.clone();
    boundary::block_on_each(
        client,
        move |_: boundary::Items<usize, ()>| async move { c.flush_journal(timeout).await },
        |()| {},
    )
}

/// Writes the payment outcomes this process keeps because the client's journal could not take
/// them when their payments ended (a restart, a cut connection, a lock held too long), blocking
/// for at most `timeout_ms` milliseconds (100 to 60000; 0 for the client's `journal_timeout_ms`).
/// They are tried again in the background while the process runs, but a process that exits
/// loses them, and those orders turn `unknown` once their claims expire: call this (or
/// `daji_client_free`, which does it too) before exiting. On success, if `kept_out` is not
/// NULL, `*kept_out` is how many are still kept (0 when all were written).
///
/// # Safety
/// `client` is NULL or live; `kept_out` is NULL or writable. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_flush_journal(
    client: *const daji_client,
    timeout_ms: u32,
    kept_out: *mut usize,
) -> daji_status {
    run(|| {
        let client = unsafe { boundary::client_ref(client) }?;
        let timeout = (timeout_ms != 0).then(|| Duration::from_millis(timeout_ms.into()));
        let kept = flush_journal(client, timeout)?;
        if !kept_out.is_null() {
            // SAFETY: non-NULL and writable per the caller's contract.
            unsafe { kept_out.write(kept) };
        }
        Ok(())
    })
}

/// Fills `*info` with the last outcome of a status-returning call on this thread and returns
/// its status. The strings stay valid until the next `daji_*` call on this thread that returns a
/// status, or until the thread exits; do not free them. After the thread's storage was freed
/// (calls from atexit handlers, static destructors, pthread_key destructors) the status,
/// api_code, http_status and attempts are still exact, but the message is a fixed text and
/// trace_id is NULL.
///
/// # Safety
/// `info` is NULL (then only the status is returned) or points to a writable daji_error_info.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_error_info_last(info: *mut daji_error_info) -> daji_status {
    guard(daji_status::DAJI_INTERNAL, || {
        let last = boundary::last_numbers();
        if !info.is_null() {
            let (message, trace_id) = if last.status == daji_status::DAJI_OK {
                (c"".as_ptr(), ptr::null())
            } else if last.text_kept {
                boundary::last_text().unwrap_or((boundary::NO_MESSAGE.as_ptr(), ptr::null()))
            } else {
                (boundary::NO_MESSAGE.as_ptr(), ptr::null())
            };
            let filled = daji_error_info {
                status: last.status,
                message,
                trace_id,
                api_code: last.api_code,
                http_status: last.http_status,
                attempts: last.attempts,
            };
            // SAFETY: non-NULL and writable per the caller's contract.
            unsafe { info.write(filled) };
        }
        last.status
    })
}

/// Frees a string returned by this library through an out-parameter. NULL is ignored.
///
/// # Safety
/// `s` is NULL or a string from this library not yet freed. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            // SAFETY: it came from CString::into_raw in this library, per the caller's contract.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}

/// Signs `params_json` (a JSON object of request parameters) with `secret`. On success
/// `*sign_out` is the 32-digit uppercase hex signature, to free with `daji_string_free`.
///
/// # Safety
/// The strings are NULL or NUL-terminated; `sign_out` is NULL or writable. Any thread.
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

/// The client's effective settings as a JSON object, with the defaults applied and without the
/// secret. On success `*json_out` is
/// `{"app_key","base_url","timeout_ms","connect_timeout_ms","max_retries",
/// "backoff_base_ms","backoff_cap_ms","order_id_format","max_concurrent_batches",
/// "root_certificates_pem" (how many certificates were added),
/// "dangerously_send_app_secret_instead_of_sign","journal","max_calls_per_second" (null when no
/// fixed limit is set),"journal_timeout_ms",...}`, to free with `daji_string_free`.
///
/// # Safety
/// `client` is NULL or live; `json_out` is NULL or writable. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_config_json(
    client: *const daji_client,
    json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Required(json_out, "json_out"),
            || Ok(()),
            |c, ()| async move { Ok(c.config().to_json(Casing::Snake)) },
            |json| Some(c_text(json)),
        )
    }
}

/// A cashier link for 1 to 30 distinct orders. On success `*url_out` is the URL and, if
/// `result_json_out` is not NULL, `*result_json_out` is
/// `{"url","order_ids","trace_id","attempts","data"}` as JSON; free both with `daji_string_free`.
/// Blocks until the gateway answers; retried on connection failures, timeouts, 5xx and rate
/// limits.
///
/// # Safety
/// `client` is NULL or live; `order_ids` is NULL or `count` NUL-terminated strings; the
/// out-parameters are NULL or writable. Any thread, several at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_pay_url(
    client: *const daji_client,
    order_ids: *const *const c_char,
    count: usize,
    url_out: *mut *mut c_char,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    // The link's JSON goes to `result_json_out` (when given); its URL, checked first, to `url_out`.
    let mut url = ptr::null_mut();
    let status = unsafe {
        client_call(
            client,
            Out::Optional(result_json_out),
            || {
                out_param(url_out, "url_out")?;
                boundary::order_ids(order_ids, count)
            },
            |c, ids| async move { c.pay_url(ids).await },
            |link| {
                url = CString::new(link.url.clone()).map_or(ptr::null_mut(), CString::into_raw);
                Some(c_text(link.to_json()))
            },
        )
    };
    if status == daji_status::DAJI_OK {
        // SAFETY: checked non-NULL before the call; the URL came from a valid Rust string.
        unsafe { url_out.write(url) };
    } else if !url.is_null() {
        // SAFETY: made by CString::into_raw just above and not handed out.
        drop(unsafe { CString::from_raw(url) });
    }
    status
}

/// Links for any number of orders: repeats dropped, batches of `batch_size` (1 to 30) fetched
/// `max_concurrent_batches` at a time, in input order. On success `*result_json_out` is a JSON
/// array of `{"url","order_ids","trace_id","attempts","data"}`, to free with `daji_string_free`.
///
/// # Safety
/// As for `daji_client_pay_url`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_pay_urls(
    client: *const daji_client,
    order_ids: *const *const c_char,
    count: usize,
    batch_size: usize,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Required(result_json_out, "result_json_out"),
            || boundary::order_ids(order_ids, count),
            |c, ids| async move { c.pay_urls(ids, batch_size).await },
            |links| Some(c_text(links.iter().map(|l| l.to_json()).collect())),
        )
    }
}

/// Pays one order without the buyer's password, consulting the client's payment journal first.
/// `DAJI_OK` means paid; then, if `result_json_out` is not NULL, it receives `{"order_id",
/// "pay_channel","attempts","trace_id","replayed","already_paid","data"}` (free with
/// `daji_string_free`);
/// `already_paid` is true when the gateway answered that the order was already paid (reported
/// paid, never retried); `replayed` is true when no request was sent (the journal had it paid, or another thread of
/// this process was paying it and this call waited for that payment's outcome).
/// `DAJI_PAYMENT_OUTCOME_UNKNOWN` means the money may have been taken: check the order, then
/// record what happened with `daji_client_resolve_payment`. `DAJI_PAYMENT_IN_PROGRESS` means
/// another process or machine sharing the journal is paying it: nothing was sent. Retries never
/// pay an order twice.
///
/// # Safety
/// `client` is NULL or live; `order_id` is NULL or NUL-terminated; `result_json_out` is NULL or
/// writable. Any thread, several at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_prepare_pay(
    client: *const daji_client,
    order_id: *const c_char,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Optional(result_json_out),
            || Ok(text(order_id, "order_id")?.to_string()),
            |c, id| async move { c.prepare_pay(id).await },
            |payment| Some(c_text(payment.to_json())),
        )
    }
}

/// The progress callback of `daji_client_pay_many`: called once per finished order with that
/// order's result as JSON, `{"order_id","outcome","payment"}` or `{"order_id","outcome","error"}`
/// (the shapes of `daji_client_prepare_pay`'s result and of an error object: daji_error_info's
/// fields), and the `user_data` given to `daji_client_pay_many`. `result_json` is valid only
/// during the call: copy what you keep; do not free it. Return 0 to go on, non-zero to stop the
/// run. It must return normally: no C++ exception may leave it (declare it `noexcept`) and no
/// `longjmp` out of it.
pub type daji_pay_many_progress_fn =
    Option<unsafe extern "C" fn(result_json: *const c_char, user_data: *mut c_void) -> c_int>;

/// Pays many orders, at most `concurrency` at a time (1 to 64; 0 for the default, 4), each as
/// `daji_client_prepare_pay` pays one (the journal included).
///
/// Every id is checked first: if any is bad, nothing is sent and the status is
/// `DAJI_INVALID_ARGUMENT`, whose message names each bad id's position (`orderIds[3]`). Repeats
/// are dropped (the first kept). One order's failure never stops the others: `DAJI_OK` means
/// the run happened, and `*result_json_out` then holds one result per order reported, in input
/// order, and the count of each outcome: `{"results":[{"order_id","outcome","payment"|"error"},
/// ...],"summary":{"paid":n,"declined":n,"unknown":n,"in_progress":n,"not_payable":n,
/// "failed":n}}` (free it with `daji_string_free`). An `outcome` is "paid", "declined" (nothing
/// was paid), "unknown" (the money may have been taken: check the order before paying it
/// again), "in_progress" (another process or machine is paying it), "not_payable" (the order's
/// state forbids payment: nothing deducted, never retried) or "failed" (nothing was paid: see
/// its error).
///
/// `progress` (NULL for none) is called once per order as it finishes, in the order they
/// finish, on the thread that called `daji_client_pay_many`, never two at once and never after
/// it returns; the payments go on on the library's I/O threads meanwhile. It may call other
/// `daji_*` functions, but not free `client`. When it returns non-zero, the run stops: it is not
/// called again, no further order starts, payments whose request was not written yet are
/// dropped (nothing sent), those whose request may have been written run to their recorded
/// outcome, and the call returns `DAJI_OK` with the results of every order that finished. An
/// order missing from the results was not started.
///
/// # Safety
/// `client` is NULL or live; `order_ids` is NULL or `count` NUL-terminated strings;
/// `result_json_out` is NULL or writable; `progress`, if not NULL, is a function that can be
/// called with `user_data`. Any thread, several at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_pay_many(
    client: *const daji_client,
    order_ids: *const *const c_char,
    count: usize,
    concurrency: u32,
    progress: daji_pay_many_progress_fn,
    user_data: *mut c_void,
    result_json_out: *mut *mut c_char,
) -> daji_status {
    // The orders reported, with their positions; the callback's wish to stop (the run also
    // raises `stop` itself when it ends, so whether the callback asked is kept apart).
    let reported = RefCell::new(Vec::new());
    let stop = Cancel::new();
    let until = stop.clone();
    let mut stopped = false;
    unsafe {
        client_call_each(
            client,
            Out::Required(result_json_out, "result_json_out"),
            || {
                let ids = boundary::order_ids(order_ids, count)?;
                let concurrency = match concurrency {
                    0 => DEFAULT_PAY_MANY_CONCURRENCY,
                    n => n as usize,
                };
                Ok((ids, concurrency))
            },
            |c, (ids, concurrency), items| async move {
                c.pay_many_each_until(ids, concurrency, until, move |i, item| {
                    items.push((i, item))
                })
                .await
            },
            |(position, item): (usize, PayManyItem)| {
                if let (Some(callback), false) = (progress, stopped) {
                    if let Ok(json) = CString::new(c_text(item.to_json())) {
                        // SAFETY: a callable function per the caller's contract; `json` lives
                        // until it returns.
                        if callback(json.as_ptr(), user_data) != 0 {
                            stopped = true;
                            stop.cancel();
                        }
                    }
                }
                reported.borrow_mut().push((position, item));
            },
            |_summary| {
                let mut items = reported.take();
                items.sort_by_key(|(position, _)| *position);
                let report = PayManyReport::new(items.into_iter().map(|(_, item)| item).collect());
                Some(c_text(report.to_json()))
            },
        )
    }
}

/// The journal's record of one order as JSON. On success `*record_json_out` is
/// `{"gateway","app_key","order_id","claim_id","state","attempts","trace_ids","pay_channel",
/// "error_code","message","data","owner":{"host","pid","client_id"},"lease_until","created_at",
/// "updated_at","history":[{"at","by":{"host","pid","user"},"from","to","note"},...]}` (`gateway`
/// the origin of base_url, `history` the resolutions recorded, `from` null when the journal had
/// no record), or NULL when the journal has no record of the order; free it with
/// `daji_string_free`.
///
/// # Safety
/// `client` is NULL or live; `order_id` is NULL or NUL-terminated; `record_json_out` is NULL or
/// writable. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_payment_record(
    client: *const daji_client,
    order_id: *const c_char,
    record_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Required(record_json_out, "record_json_out"),
            || Ok(text(order_id, "order_id")?.to_string()),
            |c, id| async move { c.payment_record(id).await },
            |record| record.map(|r| c_text(r.to_json())),
        )
    }
}

/// The journal's records as a JSON array: all of them (`state` NULL), or those in `state`
/// ("in_flight", "paid", "declined", "unknown", "not_paid"). Free `*records_json_out` with
/// `daji_string_free`.
///
/// # Safety
/// As for `daji_client_payment_record`; `state` is NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_payment_records(
    client: *const daji_client,
    state: *const c_char,
    records_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Required(records_json_out, "records_json_out"),
            || optional_text(state, "state")?.map(State::parse).transpose(),
            |c, state| async move { c.payment_records(state).await },
            |records| Some(c_text(records.iter().map(|r| r.to_json()).collect())),
        )
    }
}

/// Records what a person found for an order: `paid` 1 records it `paid`, 0 `not_paid` (then it
/// can be paid again). Allowed: an `unknown` outcome either way, a correction of `paid` to
/// `not_paid` or back, `declined` to `paid`, and `paid` for an order the journal has no record
/// of; anything else is `DAJI_INVALID_ARGUMENT` naming the state. `note` (NULL for none; at most
/// 4096 bytes) says how it was checked; it goes into the record's `history` with who recorded
/// it. On success, if `record_json_out` is not NULL, it receives the record as JSON (free with
/// `daji_string_free`).
///
/// # Safety
/// `client` is NULL or live; the strings are NULL or NUL-terminated; `record_json_out` is NULL
/// or writable. Any thread.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_resolve_payment(
    client: *const daji_client,
    order_id: *const c_char,
    paid: u8,
    note: *const c_char,
    record_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Optional(record_json_out),
            || {
                let id = text(order_id, "order_id")?.to_string();
                let paid = match paid {
                    0 => false,
                    1 => true,
                    other => {
                        return Err(Error::invalid(format!(
                            "paid is {other}; it must be 0 or 1"
                        )));
                    }
                };
                let note = optional_text(note, "note")?.unwrap_or_default().to_string();
                Ok((id, paid, note))
            },
            |c, (id, paid, note)| async move { c.resolve_payment(id, paid, note).await },
            |record| Some(c_text(record.to_json())),
        )
    }
}

/// Any other endpoint, signed: `method` is "GET" or "POST", `params_json` a JSON object or NULL.
/// On success `*data_json_out` is the envelope's `data` as JSON, as the gateway wrote it, to free
/// with `daji_string_free`. GETs are retried like links; POSTs only when nothing was sent or the
/// call was rate limited.
///
/// # Safety
/// `client` is NULL or live; the strings are NULL or NUL-terminated; `data_json_out` is NULL or
/// writable. Any thread, several at once.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn daji_client_request(
    client: *const daji_client,
    method: *const c_char,
    path: *const c_char,
    params_json: *const c_char,
    data_json_out: *mut *mut c_char,
) -> daji_status {
    unsafe {
        client_call(
            client,
            Out::Required(data_json_out, "data_json_out"),
            || {
                let method = Method::parse(text(method, "method")?)?;
                let path = text(path, "path")?.to_string();
                let params = match optional_text(params_json, "params_json")? {
                    Some(json) => parse_params(json)?,
                    None => Default::default(),
                };
                Ok((method, path, params))
            },
            |c, (method, path, params)| async move { c.request(method, path, params).await },
            |data| Some(data.to_string()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::Value;

    /// Random bytes as a C string (NULs removed, so that it is one string).
    fn c_string(bytes: Vec<u8>) -> CString {
        CString::new(bytes.into_iter().filter(|b| *b != 0).collect::<Vec<u8>>()).unwrap()
    }

    fn initialised() -> daji_client_options {
        let mut options = MaybeUninit::<daji_client_options>::uninit();
        let status =
            unsafe { daji_client_options_init(options.as_mut_ptr(), size_of_val(&options)) };
        assert_eq!(status, daji_status::DAJI_OK);
        unsafe { options.assume_init() }
    }

    fn last_message() -> String {
        let mut info = unsafe { std::mem::zeroed::<daji_error_info>() };
        unsafe { daji_error_info_last(&mut info) };
        unsafe { CStr::from_ptr(info.message) }
            .to_str()
            .unwrap()
            .to_string()
    }

    fn config_json(client: *const daji_client) -> Value {
        let mut json = ptr::null_mut();
        assert_eq!(
            unsafe { daji_client_config_json(client, &mut json) },
            daji_status::DAJI_OK
        );
        let text = unsafe { CStr::from_ptr(json) }
            .to_str()
            .unwrap()
            .to_string();
        unsafe { daji_string_free(json) };
        serde_json::from_str(&text).unwrap()
    }

    /// One client for every case, whose requests are refused at once (nothing listens on 9).
    fn refused_client() -> *const daji_client {
        static CLIENT: OnceLock<usize> = OnceLock::new();
        *CLIENT.get_or_init(|| {
            let mut options = initialised();
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
                    daji_client_pay_url(client, [a.as_ptr(), b.as_ptr()].as_ptr(), 2, &mut out2, ptr::null_mut()),
                    daji_client_pay_urls(client, [c.as_ptr()].as_ptr(), 1, 10, &mut out2),
                    daji_client_prepare_pay(client, a.as_ptr(), ptr::null_mut()),
                    daji_client_pay_many(client, [a.as_ptr(), b.as_ptr()].as_ptr(), 2, 2, None, ptr::null_mut(), &mut out2),
                    daji_client_request(client, a.as_ptr(), b.as_ptr(), c.as_ptr(), &mut out2),
                ]
            };
            for status in statuses {
                // Every outcome is a status; a random id can only fail (or reach the refused port).
                prop_assert!((status as i32) <= 13);
                prop_assert_ne!(status, daji_status::DAJI_INTERNAL);
            }
            let mut options = initialised();
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

        #[test]
        fn any_flag_or_format_value_is_checked(flag in any::<u8>(), format in any::<u32>()) {
            let mut options = initialised();
            options.app_key = c"k".as_ptr();
            options.app_secret = c"s".as_ptr();
            options.dangerously_send_app_secret_instead_of_sign = flag;
            options.order_id_format = format;
            let mut made = ptr::null_mut();
            let status = unsafe { daji_client_new(&options, &mut made) };
            if flag <= 1 && format <= 1 {
                prop_assert_eq!(status, daji_status::DAJI_OK);
                let json = config_json(made);
                prop_assert_eq!(&json["dangerously_send_app_secret_instead_of_sign"], &Value::from(flag == 1));
                let name = if format == 0 { "json_array" } else { "comma_separated" };
                prop_assert_eq!(&json["order_id_format"], &Value::from(name));
            } else {
                prop_assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
                prop_assert!(made.is_null());
                let message = last_message();
                let field = if format > 1 { "order_id_format" } else { "dangerously_send_app_secret_instead_of_sign" };
                prop_assert!(message.starts_with(field), "{}", message);
            }
            unsafe { daji_client_free(made) };
        }
    }

    #[test]
    fn pay_many_checks_every_id_and_reports_each_order() {
        unsafe extern "C" fn count(json: *const c_char, user_data: *mut c_void) -> c_int {
            let json = unsafe { CStr::from_ptr(json) }.to_str().unwrap();
            assert!(json.starts_with("{\"order_id\":"), "{json}");
            unsafe { *user_data.cast::<usize>() += 1 };
            0
        }
        let client = refused_client();
        let mut out = ptr::null_mut();
        let ids = [c"1".as_ptr(), c"12a".as_ptr(), c"x".as_ptr()];
        let status = unsafe {
            daji_client_pay_many(
                client,
                ids.as_ptr(),
                3,
                0,
                Some(count),
                ptr::null_mut(),
                &mut out,
            )
        };
        assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
        assert!(out.is_null());
        assert!(last_message().contains("orderIds[1]") && last_message().contains("orderIds[2]"));
        let status = unsafe {
            daji_client_pay_many(client, ids.as_ptr(), 1, 65, None, ptr::null_mut(), &mut out)
        };
        assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
        // Nothing listens: every order fails (not sent), each reported once, in input order.
        let mut calls = 0usize;
        let ids = [c"1".as_ptr(), c"2".as_ptr(), c"1".as_ptr()];
        let status = unsafe {
            daji_client_pay_many(
                client,
                ids.as_ptr(),
                3,
                2,
                Some(count),
                (&raw mut calls).cast(),
                &mut out,
            )
        };
        assert_eq!(status, daji_status::DAJI_OK, "{}", last_message());
        assert_eq!(calls, 2);
        let report: Value =
            serde_json::from_str(unsafe { CStr::from_ptr(out) }.to_str().unwrap()).unwrap();
        unsafe { daji_string_free(out) };
        assert_eq!(report["results"][0]["order_id"], "1");
        assert_eq!(report["results"][1]["order_id"], "2");
        assert_eq!(report["results"][1]["error"]["code"], "connection");
        assert_eq!(report["results"][1]["error"]["status"], 2);
        assert!(report["results"][1]["error"]["trace_id"].is_null());
        assert_eq!(report["summary"]["failed"], 2);
        assert_eq!(report["summary"]["paid"], 0);
    }

    #[test]
    fn statuses_match_error_code_numbers_and_names() {
        for code in ErrorCode::ALL {
            assert_eq!(daji_status::from(code) as i32, code.number());
            let name = unsafe { CStr::from_ptr(daji_status_name(code.number())) };
            assert_eq!(name.to_str().unwrap(), code.as_str());
        }
        for (number, name) in [(0, "ok"), (99, "unknown"), (-1, "unknown")] {
            let got = unsafe { CStr::from_ptr(daji_status_name(number)) };
            assert_eq!(got.to_str().unwrap(), name);
        }
    }

    #[test]
    fn failures_are_remembered_and_outputs_untouched() {
        let mut out: *mut c_char = ptr::null_mut();
        let status = unsafe { daji_sign(c"[1]".as_ptr(), c"s".as_ptr(), &mut out) };
        assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
        assert!(out.is_null());
        let mut info = unsafe { std::mem::zeroed::<daji_error_info>() };
        assert_eq!(
            unsafe { daji_error_info_last(&mut info) },
            daji_status::DAJI_INVALID_ARGUMENT
        );
        assert!(last_message().contains("JSON object"));
        // The _free functions leave the last error alone.
        unsafe { daji_string_free(ptr::null_mut()) };
        unsafe { daji_client_free(ptr::null_mut()) };
        assert_eq!(
            unsafe { daji_error_info_last(ptr::null_mut()) },
            daji_status::DAJI_INVALID_ARGUMENT
        );
        let ok = unsafe { daji_sign(c"{}".as_ptr(), c"s".as_ptr(), &mut out) };
        assert_eq!(ok, daji_status::DAJI_OK);
        assert_eq!(
            unsafe { daji_error_info_last(ptr::null_mut()) },
            daji_status::DAJI_OK
        );
        assert_eq!(last_message(), "");
        unsafe { daji_string_free(out) };
    }

    #[test]
    fn init_writes_the_core_defaults_and_only_size_bytes() {
        let o = initialised();
        assert_eq!(o.struct_size as usize, size_of::<daji_client_options>());
        assert_eq!(o.timeout_ms, 30_000);
        assert_eq!(o.max_concurrent_batches, DEFAULT_MAX_CONCURRENT_BATCHES);
        assert!(o.app_key.is_null() && o.root_certificates_pem.is_null());

        let old = offset_of!(daji_client_options, max_concurrent_batches);
        let mut bytes = [0xABu8; size_of::<daji_client_options>()];
        let status = unsafe { daji_client_options_init(bytes.as_mut_ptr().cast(), old) };
        assert_eq!(status, daji_status::DAJI_OK);
        assert!(bytes[old..].iter().all(|b| *b == 0xAB), "bytes past size");

        let mut larger = [0xABu8; size_of::<daji_client_options>() + 16];
        unsafe { daji_client_options_init(larger.as_mut_ptr().cast(), larger.len()) };
        assert!(
            larger[size_of::<daji_client_options>()..]
                .iter()
                .all(|b| *b == 0)
        );

        for size in [0, 3, MAX_OPTIONS_SIZE + 1] {
            let status = unsafe { daji_client_options_init(bytes.as_mut_ptr().cast(), size) };
            assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT, "{size}");
        }
        let status = unsafe { daji_client_options_init(ptr::null_mut(), 80) };
        assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT);
    }

    #[test]
    fn a_smaller_struct_takes_the_defaults_past_its_size() {
        let mut options = initialised();
        options.app_key = c"k".as_ptr();
        options.app_secret = c"s".as_ptr();
        let mut full = ptr::null_mut();
        assert_eq!(
            unsafe { daji_client_new(&options, &mut full) },
            daji_status::DAJI_OK
        );
        // A program compiled before max_concurrent_batches: whatever lies past its struct is
        // not read.
        options.struct_size = offset_of!(daji_client_options, max_concurrent_batches) as u32;
        options.max_concurrent_batches = 999;
        let mut old = ptr::null_mut();
        assert_eq!(
            unsafe { daji_client_new(&options, &mut old) },
            daji_status::DAJI_OK,
            "{}",
            last_message()
        );
        assert_eq!(config_json(old), config_json(full));
        assert_eq!(
            config_json(old)["max_concurrent_batches"],
            DEFAULT_MAX_CONCURRENT_BATCHES
        );
        // Too small for the credentials: they are left out, and required.
        options.struct_size = offset_of!(daji_client_options, app_secret) as u32;
        let mut made = ptr::null_mut();
        assert_eq!(
            unsafe { daji_client_new(&options, &mut made) },
            daji_status::DAJI_INVALID_ARGUMENT
        );
        assert_eq!(last_message(), "app_secret is required");
        unsafe {
            daji_client_free(old);
            daji_client_free(full);
        }
    }

    #[test]
    fn struct_size_is_checked() {
        #[repr(C)]
        struct Newer {
            options: daji_client_options,
            future_option: u64,
        }
        let mut newer = MaybeUninit::<Newer>::uninit();
        let status =
            unsafe { daji_client_options_init(newer.as_mut_ptr().cast(), size_of::<Newer>()) };
        assert_eq!(status, daji_status::DAJI_OK);
        let mut newer = unsafe { newer.assume_init() };
        assert_eq!(newer.future_option, 0);
        newer.options.app_key = c"k".as_ptr();
        newer.options.app_secret = c"s".as_ptr();
        let mut made = ptr::null_mut();
        let new = |o: &Newer, made: &mut *mut daji_client| unsafe {
            daji_client_new((o as *const Newer).cast(), made)
        };
        assert_eq!(new(&newer, &mut made), daji_status::DAJI_OK);
        unsafe { daji_client_free(made) };
        newer.future_option = 1;
        assert_eq!(new(&newer, &mut made), daji_status::DAJI_INVALID_ARGUMENT);
        assert!(
            last_message().contains("newer dajisaas.h"),
            "{}",
            last_message()
        );

        let mut options = initialised();
        options.app_key = c"k".as_ptr();
        options.app_secret = c"s".as_ptr();
        for size in [0, 2, 5000] {
            options.struct_size = size;
            let mut made = ptr::null_mut();
            let status = unsafe { daji_client_new(&options, &mut made) };
            assert_eq!(status, daji_status::DAJI_INVALID_ARGUMENT, "{size}");
            assert!(
                last_message().starts_with("struct_size is"),
                "{}",
                last_message()
            );
        }
    }
}

//! The one error model shared by Rust, Python, Node and C.

use std::any::Any;
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};

/// Every failure has exactly one of these codes. The numbers are the C status values
/// (`DAJI_OK` is 0) and are never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    /// Input or configuration rejected before anything was sent.
    InvalidArgument = 1,
    /// DNS, connect, TLS or connection-lost failure.
    Connection = 2,
    /// No answer within the timeout.
    Timeout = 3,
    /// Non-2xx HTTP answer without a usable envelope.
    HttpStatus = 4,
    /// The body is not a valid envelope.
    Decode = 5,
    /// The gateway refused the call (`code != 200`), or `data.success == false` on a link request.
    Api = 6,
    /// The gateway's call-frequency limit.
    RateLimited = 7,
    /// The deduction was not initiated, after every allowed attempt.
    PaymentDeclined = 8,
    /// The payment may or may not have happened: check the order before paying again.
    PaymentOutcomeUnknown = 9,
    /// A bug: a caught panic or an impossible state.
    Internal = 10,
    /// A payment of this order is already under way; nothing was sent. Wait for its outcome.
    PaymentInProgress = 11,
    /// The payment journal could not be opened, read or written in time; the message says
    /// whether anything was sent.
    Journal = 12,
    /// The gateway refused the payment because the order's state forbids it (closed, cancelled,
    /// not found); nothing was deducted, and it is never retried.
    OrderNotPayable = 13,
}

impl ErrorCode {
    /// Every code, in numeric order.
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::InvalidArgument,
        ErrorCode::Connection,
        ErrorCode::Timeout,
        ErrorCode::HttpStatus,
        ErrorCode::Decode,
        ErrorCode::Api,
        ErrorCode::RateLimited,
        ErrorCode::PaymentDeclined,
        ErrorCode::PaymentOutcomeUnknown,
        ErrorCode::Internal,
        ErrorCode::PaymentInProgress,
        ErrorCode::Journal,
        ErrorCode::OrderNotPayable,
    ];

    /// The stable snake_case name every language shows (`"payment_declined"`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::Connection => "connection",
            ErrorCode::Timeout => "timeout",
            ErrorCode::HttpStatus => "http_status",
            ErrorCode::Decode => "decode",
            ErrorCode::Api => "api",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::PaymentDeclined => "payment_declined",
            ErrorCode::PaymentOutcomeUnknown => "payment_outcome_unknown",
            ErrorCode::Internal => "internal",
            ErrorCode::PaymentInProgress => "payment_in_progress",
            ErrorCode::Journal => "journal",
            ErrorCode::OrderNotPayable => "order_not_payable",
        }
    }

    /// The code with this name (`"payment_declined"`), if there is one.
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.as_str() == name)
    }

    /// The code with this number (the C status value), if there is one.
    pub fn from_number(number: i32) -> Option<ErrorCode> {
        ErrorCode::ALL.into_iter().find(|c| c.number() == number)
    }

    /// The fixed number of this code (the C status value).
    pub fn number(self) -> i32 {
        self as i32
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failure, with everything known about it: the gateway's `traceId` and envelope code, the
/// HTTP status, and how many attempts were made. Never contains the app secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    message: String,
    trace_id: Option<String>,
    api_code: Option<i64>,
    http_status: Option<u16>,
    attempts: u32,
    /// The caller gave the call up before anything was sent (never shown to a caller: nobody
    /// waits for such a result, and a `pay_many` run leaves such orders out).
    given_up: bool,
}

impl Error {
    /// A new error with a code and a message; the other fields start empty and zero.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Error {
            code,
            message: message.into(),
            trace_id: None,
            api_code: None,
            http_status: None,
            attempts: 0,
            given_up: false,
        }
    }

    /// The result of a payment dropped because its caller gave up before its request was
    /// written.
    pub(crate) fn given_up(order_id: &str) -> Self {
        Error {
            given_up: true,
            ..Error::new(
                ErrorCode::Internal,
                format!(
                    "order {order_id}: the call was given up before its request was written; \
                     nothing was sent"
                ),
            )
        }
    }

    /// See [`Error::given_up`].
    pub(crate) fn is_given_up(&self) -> bool {
        self.given_up
    }

    /// An `invalid_argument` error: input rejected before anything was sent.
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::new(ErrorCode::InvalidArgument, message)
    }

    /// The `internal` error for a caught panic, with the panic's message.
    pub fn from_panic(payload: &(dyn Any + Send)) -> Self {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        Error::new(
            ErrorCode::Internal,
            format!("internal error (a bug): {what}"),
        )
    }

    /// The error as the JSON object every language's JSON output uses:
    /// `{"code","message","traceId","apiCode","httpStatus","attempts"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "code": self.code.as_str(),
            "message": self.message,
            "traceId": self.trace_id,
            "apiCode": self.api_code,
            "httpStatus": self.http_status,
            "attempts": self.attempts,
        })
    }

    pub(crate) fn with_trace_id(mut self, trace_id: Option<String>) -> Self {
        self.trace_id = trace_id;
        self
    }

    pub(crate) fn with_api_code(mut self, api_code: Option<i64>) -> Self {
        self.api_code = api_code;
        self
    }

    pub(crate) fn with_http_status(mut self, status: Option<u16>) -> Self {
        self.http_status = status;
        self
    }

    pub(crate) fn with_attempts(mut self, attempts: u32) -> Self {
        self.attempts = attempts;
        self
    }

    pub(crate) fn with_context(mut self, context: &str) -> Self {
        self.message = format!("{context}: {}", self.message);
        self
    }

    pub(crate) fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    pub(crate) fn into_code(mut self, code: ErrorCode) -> Self {
        self.code = code;
        self
    }

    /// The stable error code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// A human-readable message naming the problem.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The gateway's `traceId`, when a response was received: what its support asks for.
    pub fn trace_id(&self) -> Option<&str> {
        self.trace_id.as_deref()
    }

    /// The envelope `code` when the gateway answered with one other than 200.
    pub fn api_code(&self) -> Option<i64> {
        self.api_code
    }

    /// The HTTP status of the last response, when one was received.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// How many requests were sent or tried (0 when rejected before sending).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.code, self.message)?;
        if let Some(trace_id) = &self.trace_id {
            write!(f, " (traceId {trace_id})")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// The result type of this crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Runs `f`, turning a panic into an `internal` error: the panic boundary of every binding.
pub fn catch_panic<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|panic| Err(Error::from_panic(&*panic)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_fixed_numbers_and_unique_names() {
        let numbers: Vec<i32> = ErrorCode::ALL.iter().map(|c| c.number()).collect();
        assert_eq!(numbers, (1..=13).collect::<Vec<_>>());
        let mut names: Vec<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 13);
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
            assert_eq!(ErrorCode::from_number(code.number()), Some(code));
        }
        assert_eq!(ErrorCode::from_number(0), None);
    }

    #[test]
    fn panics_become_internal_errors() {
        let e = catch_panic(|| -> Result<()> { panic!("boom {}", 1) }).unwrap_err();
        assert_eq!(e.code(), ErrorCode::Internal);
        assert!(e.message().contains("boom 1"), "{}", e.message());
        let json = Error::new(ErrorCode::Api, "x").to_json();
        assert_eq!(json["code"], "api");
        assert!(json["traceId"].is_null());
    }

    #[test]
    fn display_shows_code_message_and_trace_id() {
        let e = Error::new(ErrorCode::Api, "bad sign").with_trace_id(Some("abc".into()));
        assert_eq!(e.to_string(), "[api] bad sign (traceId abc)");
    }
}

//! What a failed exchange ended as.

use crate::error::Error;

/// Why an exchange failed, as far as its effect on the gateway goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Connecting (DNS, TCP, TLS) failed: the request was never written.
    NotSent,
    /// The gateway refused the call for its call-frequency limit.
    RateLimited,
    /// The request was sent but no complete answer came within the timeout.
    Timeout,
    /// The connection broke after the request was (or may have been) written.
    Lost,
    /// HTTP 5xx.
    ServerError,
    /// A 2xx answer whose body is not an envelope, or is too large.
    Decode,
    /// A non-2xx, non-5xx answer without a usable envelope.
    HttpStatus,
    /// An envelope with `code != 200`.
    Api,
}

#[derive(Debug)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub error: Error,
}

impl Failure {
    pub(crate) fn new(kind: FailureKind, error: Error) -> Self {
        Failure { kind, error }
    }
}

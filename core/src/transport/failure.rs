//! What a failed exchange ended as, and the one rule that says whether it may have had an
//! effect on the gateway.
//!
//! Every caller that decides about retries asks [`Failure::effect`] and
//! [`Failure::is_transient`]; none of them matches on [`FailureKind`] to answer those questions
//! itself. The rule follows API.md's outcome table.

use crate::envelope::is_server_error_code;
use crate::error::Error;

/// Why an exchange failed, as far as its effect on the gateway goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Connecting (DNS, TCP, TLS) failed or ran out of time: the request was never written.
    NotSent,
    /// The HTTP layer refused to build the request: nothing was sent, and sending it again
    /// would be refused the same way.
    NotBuilt,
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
    /// Held back before the request was written (a payment's fence said no): nothing was sent,
    /// and the call ends.
    Held,
}

/// Whether a failed exchange may have changed something at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    /// The gateway surely did not act on the request: it never got it, or refused it.
    None,
    /// The gateway may have acted on the request (for a payment: the money may be taken).
    Possible,
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

    /// May this failure have had an effect on the gateway?
    ///
    /// - Nothing was sent (not built, or not connected), or the gateway refused the call for its call-frequency limit, or
    ///   answered with a 4xx (or 3xx) that is no envelope: no effect.
    /// - A timeout or a lost connection after sending, HTTP 5xx, an unreadable body: possible.
    /// - An envelope refusal (`code != 200`): possible when its code is a 5xx (an upstream error
    ///   the gateway reports may have happened after the deduction), none otherwise.
    pub fn effect(&self) -> Effect {
        match self.kind {
            FailureKind::NotSent
            | FailureKind::NotBuilt
            | FailureKind::RateLimited
            | FailureKind::HttpStatus
            | FailureKind::Held => Effect::None,
            FailureKind::Timeout
            | FailureKind::Lost
            | FailureKind::ServerError
            | FailureKind::Decode => Effect::Possible,
            FailureKind::Api => {
                if self.error.api_code().is_some_and(is_server_error_code) {
                    Effect::Possible
                } else {
                    Effect::None
                }
            }
        }
    }

    /// Could the same request succeed if sent again (a transient failure)? An envelope
    /// refusal, an unreadable body or a 4xx would come back the same.
    pub fn is_transient(&self) -> bool {
        match self.kind {
            FailureKind::NotSent
            | FailureKind::RateLimited
            | FailureKind::Timeout
            | FailureKind::Lost
            | FailureKind::ServerError => true,
            FailureKind::NotBuilt
            | FailureKind::Decode
            | FailureKind::HttpStatus
            | FailureKind::Api
            | FailureKind::Held => false,
        }
    }

    /// Was the request held back before it was written?
    pub fn is_held(&self) -> bool {
        self.kind == FailureKind::Held
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn failure(kind: FailureKind, api_code: Option<i64>) -> Failure {
        Failure::new(
            kind,
            Error::new(ErrorCode::Api, "x").with_api_code(api_code),
        )
    }

    #[test]
    fn effect_follows_the_outcome_table() {
        use FailureKind::*;
        for kind in [NotSent, NotBuilt, RateLimited, HttpStatus] {
            assert_eq!(failure(kind, None).effect(), Effect::None, "{kind:?}");
        }
        for kind in [Timeout, Lost, ServerError, Decode] {
            assert_eq!(failure(kind, None).effect(), Effect::Possible, "{kind:?}");
        }
        assert_eq!(failure(Api, Some(401)).effect(), Effect::None);
        assert_eq!(failure(Api, Some(400)).effect(), Effect::None);
        assert_eq!(failure(Api, None).effect(), Effect::None);
        assert_eq!(failure(Api, Some(500)).effect(), Effect::Possible);
        assert_eq!(failure(Api, Some(503)).effect(), Effect::Possible);
        assert_eq!(failure(Api, Some(599)).effect(), Effect::Possible);
        assert_eq!(failure(Api, Some(600)).effect(), Effect::None);
    }

    #[test]
    fn transient_failures_are_the_ones_worth_repeating() {
        use FailureKind::*;
        for kind in [NotSent, RateLimited, Timeout, Lost, ServerError] {
            assert!(failure(kind, None).is_transient(), "{kind:?}");
        }
        for kind in [NotBuilt, Decode, HttpStatus, Api] {
            assert!(!failure(kind, Some(500)).is_transient(), "{kind:?}");
        }
    }
}

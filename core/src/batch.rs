//! Decisions about several payments at once, made here so that every language and the CLI
//! agree: what each payment's outcome was, and which outcome of a batch is the most serious.

use crate::error::{Error, ErrorCode, Result};
use crate::model::Payment;

/// What became of one order's payment, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentOutcome {
    /// Deducted and confirmed.
    Paid,
    /// The gateway did not initiate the deduction, after every allowed attempt.
    Declined,
    /// The money may have been taken: check the order before paying again.
    Unknown,
    /// A payment of the order was already under way; nothing was sent.
    InProgress,
    /// Any other failure (bad input, connection, refusal): nothing was paid.
    Failed,
}

impl PaymentOutcome {
    /// Every outcome, from the most serious to the least.
    pub const BY_SERIOUSNESS: [PaymentOutcome; 5] = [
        PaymentOutcome::Unknown,
        PaymentOutcome::InProgress,
        PaymentOutcome::Declined,
        PaymentOutcome::Failed,
        PaymentOutcome::Paid,
    ];

    /// The outcome of one `prepare_pay` result.
    pub fn of(result: &Result<Payment>) -> PaymentOutcome {
        match result {
            Ok(_) => PaymentOutcome::Paid,
            Err(e) => match e.code() {
                ErrorCode::PaymentOutcomeUnknown => PaymentOutcome::Unknown,
                ErrorCode::PaymentInProgress => PaymentOutcome::InProgress,
                ErrorCode::PaymentDeclined => PaymentOutcome::Declined,
                _ => PaymentOutcome::Failed,
            },
        }
    }

    /// The word every language shows: `paid`, `declined`, `unknown`, `in_progress`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Paid => "paid",
            PaymentOutcome::Declined => "declined",
            PaymentOutcome::Unknown => "unknown",
            PaymentOutcome::InProgress => "in_progress",
            PaymentOutcome::Failed => "failed",
        }
    }

    /// 0 for the most serious (`unknown`: a person must check the order), then `in_progress`
    /// (its outcome is not known to this run), `declined`, other failures, and `paid` last.
    pub fn seriousness_rank(self) -> usize {
        Self::BY_SERIOUSNESS
            .iter()
            .position(|o| *o == self)
            .unwrap_or(Self::BY_SERIOUSNESS.len())
    }
}

/// The error of the most serious failure among `results` (the first of its rank), or `None`
/// when every order was paid: what a batch run reports, and what its exit status follows.
pub fn most_serious_failure<'a>(
    results: impl IntoIterator<Item = &'a Result<Payment>>,
) -> Option<&'a Error> {
    results
        .into_iter()
        .filter_map(|r| r.as_ref().err().map(|e| (PaymentOutcome::of(r), e)))
        .min_by_key(|(outcome, _)| outcome.seriousness_rank())
        .map(|(_, e)| e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(code: ErrorCode, message: &str) -> Result<Payment> {
        Err(Error::new(code, message))
    }

    #[test]
    fn unknown_outranks_declined_outranks_other_failures() {
        let paid = Ok(Payment {
            order_id: "1".into(),
            pay_channel: None,
            attempts: 1,
            trace_id: None,
            data: serde_json::Value::Null,
            replayed: false,
        });
        let results = vec![
            paid.clone(),
            failed(ErrorCode::Connection, "first failure"),
            failed(ErrorCode::PaymentDeclined, "declined a"),
            failed(ErrorCode::PaymentDeclined, "declined b"),
        ];
        assert_eq!(
            most_serious_failure(&results).unwrap().message(),
            "declined a"
        );
        let mut with_unknown = results.clone();
        with_unknown.push(failed(ErrorCode::PaymentOutcomeUnknown, "unknown"));
        assert_eq!(
            most_serious_failure(&with_unknown).unwrap().message(),
            "unknown"
        );
        assert!(most_serious_failure(std::slice::from_ref(&paid)).is_none());
        assert_eq!(PaymentOutcome::of(&paid).as_str(), "paid");
        assert_eq!(
            PaymentOutcome::of(&failed(ErrorCode::Api, "x")),
            PaymentOutcome::Failed
        );
    }
}

//! Decisions about several payments at once, made here so that every language and the CLI
//! agree: what each payment's outcome was, and which outcome of a batch is the most serious.

use serde_json::{Map, Value, json};

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
    /// The gateway said the order's state forbids payment (closed, cancelled, not found);
    /// nothing was deducted.
    NotPayable,
    /// Any other failure (bad input, connection, refusal): nothing was paid.
    Failed,
}

impl PaymentOutcome {
    /// Every outcome, in the order summaries list them.
    pub const ALL: [PaymentOutcome; 6] = [
        PaymentOutcome::Paid,
        PaymentOutcome::Declined,
        PaymentOutcome::Unknown,
        PaymentOutcome::InProgress,
        PaymentOutcome::NotPayable,
        PaymentOutcome::Failed,
    ];

    /// Every outcome, from the most serious to the least.
    pub const BY_SERIOUSNESS: [PaymentOutcome; 6] = [
        PaymentOutcome::Unknown,
        PaymentOutcome::InProgress,
        PaymentOutcome::Declined,
        PaymentOutcome::NotPayable,
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
                ErrorCode::OrderNotPayable => PaymentOutcome::NotPayable,
                _ => PaymentOutcome::Failed,
            },
        }
    }

    /// The word every language shows: `paid`, `declined`, `unknown`, `in_progress`,
    /// `not_payable`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentOutcome::Paid => "paid",
            PaymentOutcome::Declined => "declined",
            PaymentOutcome::Unknown => "unknown",
            PaymentOutcome::InProgress => "in_progress",
            PaymentOutcome::NotPayable => "not_payable",
            PaymentOutcome::Failed => "failed",
        }
    }

    /// 0 for the most serious (`unknown`: a person must check the order), then `in_progress`
    /// (its outcome is not known to this run), `declined`, `not_payable`, other failures, and
    /// `paid` last.
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

/// One order of a [`pay_many`](crate::Client::pay_many) run: its id, its outcome, and the
/// payment or the error.
#[derive(Debug, Clone, PartialEq)]
pub struct PayManyItem {
    /// The order.
    pub order_id: String,
    /// What became of its payment, in one word.
    pub outcome: PaymentOutcome,
    /// The payment, or why there is none.
    pub result: Result<Payment>,
}

impl PayManyItem {
    /// The item of one order's `prepare_pay` result.
    pub fn new(order_id: String, result: Result<Payment>) -> Self {
        PayManyItem {
            order_id,
            outcome: PaymentOutcome::of(&result),
            result,
        }
    }

    /// The payment, when the order was paid.
    pub fn payment(&self) -> Option<&Payment> {
        self.result.as_ref().ok()
    }

    /// The error, when it was not.
    pub fn error(&self) -> Option<&Error> {
        self.result.as_ref().err()
    }

    /// `{"orderId","outcome","payment"}` or `{"orderId","outcome","error"}`, in the library's
    /// JSON shapes (`Payment::to_json`, `Error::to_json`).
    pub fn to_json(&self) -> Value {
        let (key, value) = match &self.result {
            Ok(p) => ("payment", p.to_json()),
            Err(e) => ("error", e.to_json()),
        };
        json!({"orderId": self.order_id, "outcome": self.outcome.as_str(), key: value})
    }
}

/// How many orders of a run ended with each outcome; every outcome is counted, zeros included.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PayManySummary {
    counts: [usize; PaymentOutcome::ALL.len()],
}

impl PayManySummary {
    /// The counts of `items`.
    pub fn of<'a>(items: impl IntoIterator<Item = &'a PayManyItem>) -> Self {
        let mut summary = PayManySummary::default();
        for item in items {
            summary.add(item.outcome);
        }
        summary
    }

    fn index(outcome: PaymentOutcome) -> usize {
        PaymentOutcome::ALL
            .iter()
            .position(|o| *o == outcome)
            .unwrap_or(0)
    }

    /// Counts one more order with `outcome`.
    pub fn add(&mut self, outcome: PaymentOutcome) {
        self.counts[Self::index(outcome)] += 1;
    }

    /// How many orders ended with `outcome`.
    pub fn count(&self, outcome: PaymentOutcome) -> usize {
        self.counts[Self::index(outcome)]
    }

    /// How many orders in all.
    pub fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// Each outcome with its count, in [`PaymentOutcome::ALL`]'s order.
    pub fn iter(&self) -> impl Iterator<Item = (PaymentOutcome, usize)> + '_ {
        PaymentOutcome::ALL.into_iter().map(|o| (o, self.count(o)))
    }

    /// `{"paid":n,"declined":n,"unknown":n,"in_progress":n,"not_payable":n,"failed":n}`.
    pub fn to_json(&self) -> Value {
        let map: Map<String, Value> = self
            .iter()
            .map(|(o, n)| (o.as_str().to_string(), Value::from(n)))
            .collect();
        Value::Object(map)
    }
}

/// What a [`pay_many`](crate::Client::pay_many) run returns: one item per order, in input order
/// (repeats dropped), and the count of each outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct PayManyReport {
    /// One item per distinct order, in the order given.
    pub results: Vec<PayManyItem>,
    /// The count of each outcome.
    pub summary: PayManySummary,
}

impl PayManyReport {
    /// The report of these items.
    pub fn new(results: Vec<PayManyItem>) -> Self {
        PayManyReport {
            summary: PayManySummary::of(&results),
            results,
        }
    }

    /// The error of the most serious failure (see [`most_serious_failure`]), or `None` when
    /// every order was paid: what a batch run's exit status follows.
    pub fn most_serious_failure(&self) -> Option<&Error> {
        most_serious_failure(self.results.iter().map(|item| &item.result))
    }

    /// `{"results":[{"orderId","outcome","payment"|"error"}, ...],"summary":{...}}`.
    pub fn to_json(&self) -> Value {
        json!({
            "results": self.results.iter().map(PayManyItem::to_json).collect::<Vec<_>>(),
            "summary": self.summary.to_json(),
        })
    }
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
            already_paid: false,
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

    #[test]
    fn a_report_counts_every_outcome_and_has_one_json_shape() {
        let paid = Payment {
            order_id: "1".into(),
            pay_channel: Some("alipay".into()),
            attempts: 1,
            trace_id: Some("t".into()),
            data: serde_json::Value::Null,
            replayed: false,
            already_paid: false,
        };
        let report = PayManyReport::new(vec![
            PayManyItem::new("1".into(), Ok(paid)),
            PayManyItem::new("2".into(), failed(ErrorCode::PaymentDeclined, "no")),
            PayManyItem::new("3".into(), failed(ErrorCode::RateLimited, "slow down")),
        ]);
        assert_eq!(report.summary.count(PaymentOutcome::Failed), 1);
        assert_eq!(report.summary.total(), 3);
        assert_eq!(report.most_serious_failure().unwrap().message(), "no");
        let json = report.to_json();
        assert_eq!(
            json["summary"],
            json!({"paid": 1, "declined": 1, "unknown": 0, "in_progress": 0, "not_payable": 0, "failed": 1})
        );
        assert_eq!(json["results"][0]["orderId"], "1");
        assert_eq!(json["results"][0]["outcome"], "paid");
        assert_eq!(json["results"][0]["payment"]["payChannel"], "alipay");
        assert!(json["results"][0].get("error").is_none());
        assert_eq!(json["results"][2]["error"]["code"], "rate_limited");
        assert!(json["results"][2].get("payment").is_none());
        let keys: Vec<&String> = json["summary"].as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "paid",
                "declined",
                "unknown",
                "in_progress",
                "not_payable",
                "failed"
            ]
        );
    }
}

//! What the endpoints return.

use serde_json::{Value, json};

/// A cashier link for one or more orders.
#[derive(Debug, Clone, PartialEq)]
pub struct PayUrl {
    /// The cashier URL, verbatim: 1688's for one order, Alipay's for several.
    pub url: String,
    /// The orders the link pays, in the order requested.
    pub order_ids: Vec<String>,
    /// The gateway's `traceId` of the answering call.
    pub trace_id: Option<String>,
    /// Requests made to get it (1 unless retried).
    pub attempts: u32,
    /// The whole `data` object, unknown fields included.
    pub data: Value,
}

/// A completed password-free payment.
#[derive(Debug, Clone, PartialEq)]
pub struct Payment {
    /// The order that was paid.
    pub order_id: String,
    /// Where the money came from (`"alipay"`, ChengE credit...), when the gateway says.
    pub pay_channel: Option<String>,
    /// Requests made (1 unless earlier attempts were declined, rate limited or not sent).
    pub attempts: u32,
    /// The gateway's `traceId` of the successful call.
    pub trace_id: Option<String>,
    /// The whole `data` object, unknown fields included.
    pub data: Value,
    /// True when this call sent no request: the payment journal already recorded the order as
    /// paid, or this call waited for a payment of the order already under way in this process.
    pub replayed: bool,
    /// True when the gateway answered that the order was already paid (API.md's "already paid"
    /// row): it counts as paid and was not retried; `data` holds that answer.
    pub already_paid: bool,
}

impl PayUrl {
    /// The link as the JSON object every language's JSON output uses:
    /// `{"url","orderIds","traceId","attempts","data"}`.
    pub fn to_json(&self) -> Value {
        with_data(
            json!({"url": self.url, "orderIds": self.order_ids, "traceId": self.trace_id,
                   "attempts": self.attempts}),
            &self.data,
        )
    }
}

impl Payment {
    /// The payment as the JSON object every language's JSON output uses:
    /// `{"orderId","payChannel","attempts","traceId","replayed","alreadyPaid","data"}`.
    pub fn to_json(&self) -> Value {
        with_data(
            json!({"orderId": self.order_id, "payChannel": self.pay_channel,
                   "attempts": self.attempts, "traceId": self.trace_id,
                   "replayed": self.replayed, "alreadyPaid": self.already_paid}),
            &self.data,
        )
    }
}

/// Adds `data` as it is: `json!` would write it out and read it again, which rewrites numbers'
/// text (`1E+2` becomes `1e+2`); a clone keeps the gateway's digits exactly.
fn with_data(mut object: Value, data: &Value) -> Value {
    if let Value::Object(map) = &mut object {
        map.insert("data".into(), data.clone());
    }
    object
}

//! `POST /alibaba/trade/pay/protocolPay/preparePay`: password-free payment.
//!
//! This moves money, so every outcome is classified by whether the deduction could have
//! happened (see API.md): only outcomes where it surely did not are retried.

use std::collections::HashSet;
use std::sync::Mutex;

use serde_json::Value;

use crate::client::Inner;
use crate::envelope::{field, lenient_bool, lenient_string};
use crate::error::{Error, ErrorCode, Result};
use crate::model::Payment;
use crate::order_id::validate_order_id;
use crate::retry::{Step, with_retries};
use crate::sign::Params;
use crate::transport::{Effect, Failure, Method, Reply, SignedRequest, send};

/// The path of the password-free payment endpoint.
pub const PREPARE_PAY_PATH: &str = "/alibaba/trade/pay/protocolPay/preparePay";

impl Inner {
    pub(crate) async fn prepare_pay(&self, order_id: &str) -> Result<Payment> {
        validate_order_id(order_id, "orderId")?;
        let mut params = Params::new();
        params.insert("orderId".into(), Value::String(order_id.to_string()));
        let request = SignedRequest::new(&self.config, Method::Post, PREPARE_PAY_PATH, params)?;
        let _guard = PaymentGuard::acquire(&self.paying, order_id)?;
        let request = &request;
        let ((pay_channel, trace_id, data), attempts) =
            with_retries(&self.config, |n| async move {
                match send(&self.http(), &self.config, request, n).await {
                    Ok(reply) => payment_step(reply, order_id),
                    Err(failure) => failure_step(failure, order_id),
                }
            })
            .await?;
        Ok(Payment {
            order_id: order_id.to_string(),
            pay_channel,
            attempts,
            trace_id,
            data,
        })
    }
}

type Paid = (Option<String>, Option<String>, Value);

fn payment_step(reply: Reply, order_id: &str) -> Step<Paid> {
    let Reply { envelope } = reply;
    let data = envelope.data;
    let trace_id = envelope.trace_id;
    match lenient_bool(field(&data, "success")) {
        Some(false) => {
            let why = lenient_string(field(&data, "message"))
                .or_else(|| lenient_string(field(&data, "code")))
                .unwrap_or_else(|| "(no reason given)".to_string());
            Step::Retry(
                Error::new(
                    ErrorCode::PaymentDeclined,
                    format!("order {order_id}: the deduction was not initiated: {why}"),
                )
                .with_trace_id(trace_id),
            )
        }
        Some(true) => {
            let result = field(&data, "result");
            let paid = ["paySuccess", "isPaySuccess"]
                .iter()
                .any(|name| lenient_bool(field(result, name)) == Some(true));
            if paid {
                let channel = lenient_string(field(result, "payChannel"));
                Step::Done((channel, trace_id, data))
            } else {
                Step::Fail(
                    outcome_unknown(order_id, "the gateway accepted the payment but did not confirm it (paySuccess is not true)")
                        .with_trace_id(trace_id),
                )
            }
        }
        None => Step::Fail(
            outcome_unknown(order_id, "the answer has no readable data.success")
                .with_trace_id(trace_id),
        ),
    }
}

/// A failed exchange: a payment that may have taken effect ends at once as "outcome unknown";
/// one that surely did not is retried like any other write when that can help.
fn failure_step(failure: Failure, order_id: &str) -> Step<Paid> {
    match failure.effect() {
        Effect::Possible => {
            let message = unknown_message(order_id, failure.error.message());
            Step::Fail(
                failure
                    .error
                    .into_code(ErrorCode::PaymentOutcomeUnknown)
                    .with_message(message),
            )
        }
        Effect::None => Step::for_write(failure),
    }
}

fn outcome_unknown(order_id: &str, cause: &str) -> Error {
    Error::new(
        ErrorCode::PaymentOutcomeUnknown,
        unknown_message(order_id, cause),
    )
}

fn unknown_message(order_id: &str, cause: &str) -> String {
    format!(
        "payment outcome unknown for order {order_id}: {cause}. The money may have been taken: \
         check the order's payment status before paying it again"
    )
}

/// Marks an order as being paid on this client until dropped, so that two concurrent
/// `prepare_pay` calls for it never both reach the gateway.
struct PaymentGuard<'a> {
    paying: &'a Mutex<HashSet<String>>,
    order_id: String,
}

impl<'a> PaymentGuard<'a> {
    fn acquire(paying: &'a Mutex<HashSet<String>>, order_id: &str) -> Result<Self> {
        let mut set = paying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !set.insert(order_id.to_string()) {
            return Err(Error::new(
                ErrorCode::PaymentInProgress,
                format!(
                    "a payment for order {order_id} is already under way on this client; \
                     nothing was sent: wait for its outcome instead of paying again"
                ),
            ));
        }
        Ok(PaymentGuard {
            paying,
            order_id: order_id.to_string(),
        })
    }
}

impl Drop for PaymentGuard<'_> {
    fn drop(&mut self) {
        let mut set = self
            .paying
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        set.remove(&self.order_id);
    }
}

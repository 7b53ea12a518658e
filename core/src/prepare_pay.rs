//! `POST /alibaba/trade/pay/protocolPay/preparePay`: password-free payment.
//!
//! This moves money, so every outcome is classified by whether the deduction could have
//! happened (see API.md): only outcomes where it surely did not are retried.

use std::future::Future;

use serde_json::Value;

use crate::client::Inner;
use crate::envelope::{field, lenient_bool, lenient_string};
use crate::error::{Error, ErrorCode, Result};
use crate::gateway_words::{Refusal, classify_refusal};
use crate::model::Payment;
use crate::order_id::validate_order_id;
use crate::retry::{Step, with_retries};
use crate::sign::Params;
use crate::transport::{Effect, Failure, Method, Reply, SignedRequest, send_gated};

/// The path of the password-free payment endpoint.
pub const PREPARE_PAY_PATH: &str = "/alibaba/trade/pay/protocolPay/preparePay";

/// The signed request of one payment: every input problem surfaces here, before the journal is
/// consulted or anything is sent.
pub(crate) fn payment_request(inner: &Inner, order_id: &str) -> Result<SignedRequest> {
    validate_order_id(order_id, "orderId")?;
    let mut params = Params::new();
    params.insert("orderId".into(), Value::String(order_id.to_string()));
    SignedRequest::new(&inner.config, Method::Post, PREPARE_PAY_PATH, params)
}

impl Inner {
    /// Sends the payment with the retries the outcome table allows. The journal and the
    /// in-process coordination around it are in `pay_once`.
    ///
    /// `gate` runs before each attempt's request is written (after the pace and the
    /// connection slot): its error holds the request back and ends the payment.
    pub(crate) async fn send_payment<G>(
        &self,
        request: &SignedRequest,
        order_id: &str,
        gate: impl Fn() -> G,
    ) -> Result<Payment>
    where
        G: Future<Output = Result<()>>,
    {
        let gate = &gate;
        let (
            Paid {
                pay_channel,
                trace_id,
                data,
                already_paid,
            },
            attempts,
        ) = with_retries(&self.config, |n| async move {
            match send_gated(&self.http(), &self.config, request, n, gate()).await {
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
            replayed: false,
            already_paid,
        })
    }
}

/// What a payment that ended paid brings back.
struct Paid {
    pay_channel: Option<String>,
    trace_id: Option<String>,
    data: Value,
    already_paid: bool,
}

fn payment_step(reply: Reply, order_id: &str) -> Step<Paid> {
    let Reply { envelope } = reply;
    let data = envelope.data;
    let trace_id = envelope.trace_id;
    let channel = |data: &Value| lenient_string(field(field(data, "result"), "payChannel"));
    match lenient_bool(field(&data, "success")) {
        Some(false) => {
            let code = lenient_string(field(&data, "code"));
            let message = lenient_string(field(&data, "message"));
            let why = match (&code, &message) {
                (Some(c), Some(m)) => format!("{c}: {m}"),
                (Some(one), None) | (None, Some(one)) => one.clone(),
                (None, None) => "(no reason given)".to_string(),
            };
            match classify_refusal(code.as_deref(), message.as_deref()) {
                // The gateway's word that the order is paid: the payment is done, never retried.
                Refusal::AlreadyPaid => Step::Done(Paid {
                    pay_channel: channel(&data),
                    trace_id,
                    data,
                    already_paid: true,
                }),
                Refusal::NotPayable => Step::Fail(
                    Error::new(
                        ErrorCode::OrderNotPayable,
                        format!(
                            "order {order_id} cannot be paid: the gateway says its state forbids \
                             payment ({why}); nothing was deducted"
                        ),
                    )
                    .with_trace_id(trace_id),
                ),
                Refusal::Declined => Step::Retry(
                    Error::new(
                        ErrorCode::PaymentDeclined,
                        format!("order {order_id}: the deduction was not initiated: {why}"),
                    )
                    .with_trace_id(trace_id),
                ),
            }
        }
        Some(true) => {
            let result = field(&data, "result");
            let paid = ["paySuccess", "isPaySuccess"]
                .iter()
                .any(|name| lenient_bool(field(result, name)) == Some(true));
            if paid {
                Step::Done(Paid {
                    pay_channel: channel(&data),
                    trace_id,
                    data,
                    already_paid: false,
                })
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
    if failure.is_held() {
        return Step::Stop(failure.error);
    }
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

//! How results and errors are shown: readable lines, or JSON with `--json`.

use std::process::ExitCode;

use dajisaas::{Error, PayUrl, Payment, PaymentOutcome};
use serde_json::{Value, json};

/// The process exit status for a failure: 10 + the error's fixed number.
pub fn exit_code(error: &Error) -> ExitCode {
    ExitCode::from(10 + error.code().number() as u8)
}

/// Reports a failure on stderr (or stdout as JSON) and returns its exit status.
pub fn fail(error: &Error, as_json: bool) -> ExitCode {
    if as_json {
        println!("{}", json!({ "error": error.to_json() }));
    } else {
        eprintln!("error[{}]: {}", error.code(), error.message());
        let mut details = Vec::new();
        if let Some(t) = error.trace_id() {
            details.push(format!("traceId {t}"));
        }
        if let Some(c) = error.api_code() {
            details.push(format!("api code {c}"));
        }
        if let Some(s) = error.http_status() {
            details.push(format!("HTTP {s}"));
        }
        if error.attempts() > 0 {
            details.push(format!("{} attempt(s)", error.attempts()));
        }
        if !details.is_empty() {
            eprintln!("  ({})", details.join(", "));
        }
    }
    exit_code(error)
}

pub fn link_text(link: &PayUrl) -> String {
    format!(
        "{}\n  orders {} (traceId {}, {} attempt(s))",
        link.url,
        link.order_ids.join(","),
        link.trace_id.as_deref().unwrap_or("-"),
        link.attempts
    )
}

/// One order of `daji pay --json`: its outcome word and the payment or the error, in the
/// library's JSON shapes.
pub fn payment_json(result: &Result<Payment, Error>, order_id: &str) -> Value {
    let outcome = PaymentOutcome::of(result).as_str();
    match result {
        Ok(p) => json!({ "orderId": order_id, "outcome": outcome, "payment": p.to_json() }),
        Err(e) => json!({ "orderId": order_id, "outcome": outcome, "error": e.to_json() }),
    }
}

pub fn payment_text(result: &Result<Payment, Error>, order_id: &str) -> String {
    match result {
        Ok(p) => format!(
            "paid     {} via {} ({} attempt(s), traceId {})",
            p.order_id,
            p.pay_channel.as_deref().unwrap_or("?"),
            p.attempts,
            p.trace_id.as_deref().unwrap_or("-")
        ),
        Err(e) => format!(
            "NOT PAID {order_id}: [{}] after {} attempt(s): {}",
            e.code(),
            e.attempts(),
            e.message()
        ),
    }
}

//! How results and errors are shown: readable lines, or JSON with `--json`.

use std::process::ExitCode;

use dajisaas::{Error, PayManyReport, PayManySummary, PayUrl, Payment};
use serde_json::json;

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

/// The end of `daji pay`: how many orders ended with each outcome.
pub fn summary_table(summary: &PayManySummary) -> String {
    let mut table = String::from("\noutcome      orders\n");
    for (outcome, count) in summary.iter() {
        table.push_str(&format!("{:<12} {count:>6}\n", outcome.as_str()));
    }
    table.push_str(&format!("{:<12} {:>6}\n", "total", summary.total()));
    table
}

/// `--report PATH`: one row per order, as CSV (`.csv`) or the run's JSON.
pub fn write_report(path: &std::path::Path, report: &PayManyReport) -> dajisaas::Result<()> {
    let csv = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let text = if csv {
        let mut text =
            String::from("order_id,outcome,code,message,trace_id,attempts,pay_channel\n");
        for item in &report.results {
            let (code, message, trace_id, attempts, channel) = match &item.result {
                Ok(p) => (
                    String::new(),
                    String::new(),
                    p.trace_id.clone().unwrap_or_default(),
                    p.attempts,
                    p.pay_channel.clone().unwrap_or_default(),
                ),
                Err(e) => (
                    e.code().as_str().to_string(),
                    e.message().to_string(),
                    e.trace_id().unwrap_or_default().to_string(),
                    e.attempts(),
                    String::new(),
                ),
            };
            let row = [
                item.order_id.clone(),
                item.outcome.as_str().to_string(),
                code,
                message,
                trace_id,
                attempts.to_string(),
                channel,
            ];
            let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
            text.push_str(&row.join(","));
            text.push('\n');
        }
        text
    } else {
        format!("{:#}\n", report.to_json())
    };
    std::fs::write(path, text)
        .map_err(|e| Error::invalid(format!("--report {}: {e}", path.display())))
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

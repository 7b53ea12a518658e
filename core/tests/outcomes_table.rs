//! The sandbox's behaviour table (tests/vectors/outcomes.json), which every language runs: each
//! row's call against one in-process sandbox and one client, both with the file's settings, then
//! the error code, attempts, HTTP status, envelope code, traceId, message and the sandbox's
//! counters. The rows run concurrently; the deduction counts show that no order is paid twice.

mod common;

use std::collections::BTreeSet;
use std::thread;
use std::time::Duration;

use common::assert_no_double_deduction;
use dajisaas::Client;
use dajisaas_sandbox::{Behaviour, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};
use serde_json::Value;

fn table() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/outcomes.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn rows(doc: &Value) -> &[Value] {
    let rows = doc["rows"].as_array().unwrap();
    assert!(rows.len() >= 32, "only {} rows", rows.len());
    rows
}

fn text(row: &Value, key: &str) -> String {
    row[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {row}"))
        .to_string()
}

fn number(value: &Value, key: &str) -> u64 {
    value[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

fn millis(value: &Value, key: &str) -> Duration {
    Duration::from_millis(number(value, key))
}

/// What one call ended as, in the table's terms.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<String>,
    attempts: u64,
    http_status: Option<u64>,
    api_code: Option<i64>,
    trace_id: bool,
    calls: u64,
    deductions: u64,
    already_paid: bool,
}

fn expected(row: &Value) -> Outcome {
    Outcome {
        code: row["code"].as_str().map(str::to_string),
        attempts: number(row, "attempts"),
        http_status: row["http_status"].as_u64(),
        api_code: row["api_code"].as_i64(),
        trace_id: row["trace_id"].as_bool().unwrap(),
        calls: number(row, "calls"),
        deductions: number(row, "deductions"),
        already_paid: row["already_paid"].as_bool().unwrap_or(false),
    }
}

/// Makes the row's call; returns what the library reported and the error's message, if any.
fn call(client: &Client, row: &Value) -> (Outcome, Option<String>) {
    let id = text(row, "order_id");
    let result = match text(row, "endpoint").as_str() {
        "prepare_pay" => client
            .prepare_pay(&id)
            .map(|p| (p.attempts, p.trace_id.is_some(), p.already_paid)),
        "pay_url" => client
            .pay_url(&[id.as_str()])
            .map(|l| (l.attempts, l.trace_id.is_some(), false)),
        other => panic!("unknown endpoint {other:?}"),
    };
    let outcome = match &result {
        Ok((attempts, trace_id, already_paid)) => Outcome {
            code: None,
            attempts: u64::from(*attempts),
            http_status: None,
            api_code: None,
            trace_id: *trace_id,
            calls: 0,
            deductions: 0,
            already_paid: *already_paid,
        },
        Err(e) => Outcome {
            code: Some(e.code().as_str().to_string()),
            attempts: u64::from(e.attempts()),
            http_status: e.http_status().map(u64::from),
            api_code: e.api_code(),
            trace_id: e.trace_id().is_some(),
            calls: 0,
            deductions: 0,
            already_paid: false,
        },
    };
    (outcome, result.err().map(|e| e.message().to_string()))
}

#[test]
fn every_row_against_the_sandbox() {
    let doc = table();
    let settings = &doc["sandbox"];
    let sandbox = Sandbox::start(SandboxConfig {
        slow: millis(settings, "slow_ms"),
        hang: millis(settings, "hang_ms"),
        latency: millis(settings, "latency_ms"),
        ..SandboxConfig::default()
    })
    .unwrap();
    let options = &doc["client"];
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .timeout(millis(options, "timeout_ms"))
        .connect_timeout(millis(options, "connect_timeout_ms"))
        .max_retries(u32::try_from(number(options, "max_retries")).unwrap())
        .backoff(
            millis(options, "backoff_base_ms"),
            millis(options, "backoff_cap_ms"),
        )
        .build()
        .unwrap();

    // Concurrently: the rows that wait out a timeout on every attempt take several seconds each.
    let calls: Vec<_> = rows(&doc)
        .iter()
        .map(|row| {
            let (client, row) = (client.clone(), row.clone());
            thread::spawn(move || call(&client, &row))
        })
        .collect();
    let results: Vec<_> = calls.into_iter().map(|h| h.join().unwrap()).collect();
    let stats = sandbox.stats();
    let mut failures = Vec::new();
    for (row, (mut got, message)) in rows(&doc).iter().zip(results) {
        let id = text(row, "order_id");
        let per_endpoint = match text(row, "endpoint").as_str() {
            "prepare_pay" => &stats.pay_calls,
            _ => &stats.link_calls,
        };
        got.calls = per_endpoint.get(&id).copied().unwrap_or(0).into();
        got.deductions = stats.deductions.get(&id).copied().unwrap_or(0).into();
        let want = expected(row);
        let what = format!(
            "{id} {} ({})",
            text(row, "endpoint"),
            text(row, "sandbox_does")
        );
        if got != want {
            failures.push(format!("{what}:\n  got  {got:?}\n  want {want:?}"));
        }
        let message = message.unwrap_or_default();
        for part in row["message_contains"].as_array().unwrap() {
            let part = part.as_str().unwrap();
            if !message.contains(part) {
                failures.push(format!("{what}: message {message:?} lacks {part:?}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} row(s) differ from outcomes.json:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_no_double_deduction(&sandbox);
}

/// `DeductThen5xx` → `deduct_then_5xx`: an underscore before each capital and each run of digits.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    let mut previous: Option<char> = None;
    for c in name.chars() {
        let starts_word = c.is_ascii_uppercase()
            || (c.is_ascii_digit() && previous.is_some_and(|p| !p.is_ascii_digit()));
        if starts_word && previous.is_some() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        previous = Some(c);
    }
    out
}

#[test]
fn the_table_names_each_pattern_of_the_sandbox_once_per_endpoint() {
    assert_eq!(snake_case("DeductThen5xx"), "deduct_then_5xx");
    assert_eq!(snake_case("Unavailable503Once"), "unavailable_503_once");
    let doc = table();
    let rows = rows(&doc);
    let mut seen = BTreeSet::new();
    for row in rows {
        let id = text(row, "order_id");
        let behaviour = Behaviour::of(&id);
        assert_eq!(
            text(row, "behaviour"),
            snake_case(&format!("{behaviour:?}")),
            "{id}"
        );
        let prefix = row["prefix"].as_str();
        match behaviour {
            Behaviour::Normal => assert_eq!(prefix, None, "{id}"),
            _ => assert_eq!(prefix, Some(&id[..4]), "{id}"),
        }
        let endpoint = text(row, "endpoint");
        assert!(
            ["prepare_pay", "pay_url"].contains(&endpoint.as_str()),
            "{endpoint}"
        );
        assert!(
            seen.insert((prefix.map(str::to_string), endpoint)),
            "{id}: two rows for one pattern and endpoint"
        );
        assert_eq!(
            rows.iter()
                .filter(|r| r["order_id"] == row["order_id"])
                .count(),
            1,
            "{id}: order ids are unique, so rows can share a sandbox"
        );
    }
    // Every pattern the sandbox knows (900D…, 901D…) has a row for each endpoint, and no other.
    let mut patterns: Vec<Option<String>> = vec![None];
    for prefix in (0..10).flat_map(|d| [format!("900{d}"), format!("901{d}")]) {
        if Behaviour::of(&format!("{prefix}000000000000001")) != Behaviour::Normal {
            patterns.push(Some(prefix));
        }
    }
    let expected: BTreeSet<_> = patterns
        .into_iter()
        .flat_map(|p| [(p.clone(), "pay_url".into()), (p, "prepare_pay".into())])
        .collect();
    assert_eq!(seen, expected);
}

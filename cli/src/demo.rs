//! `daji demo`: the library's story in one run, against an embedded sandbox.

use std::process::ExitCode;
use std::time::Duration;

use dajisaas::Client;
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};
use serde_json::Value;

use crate::output::{Verdict, link_text, payment_line};

/// The sandbox's behaviour table, which every test also reads: the demo pays the orders marked
/// `demo`, says what the sandbox does to each, and uses the table's sandbox and client settings.
const OUTCOMES: &str = include_str!("../../tests/vectors/outcomes.json");

/// What the demo takes from the table.
struct Table {
    sandbox: SandboxConfig,
    timeout: Duration,
    connect_timeout: Duration,
    max_retries: u32,
    backoff: (Duration, Duration),
    /// Order id, its pattern's label and what the sandbox does, in the table's order.
    payments: Vec<(String, String, String)>,
}

impl Table {
    fn parse(text: &str) -> Result<Table, String> {
        let doc: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let ms = |section: &str, key: &str| {
            doc[section][key]
                .as_u64()
                .map(Duration::from_millis)
                .ok_or_else(|| format!("{section}.{key} is not a number of milliseconds"))
        };
        let max_retries = doc["client"]["max_retries"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("client.max_retries is not a number")?;
        let rows = doc["rows"].as_array().ok_or("rows is not a list")?;
        let payments = rows
            .iter()
            .filter(|row| row["endpoint"] == "prepare_pay" && row["demo"] == true)
            .map(|row| {
                let field = |key: &str| {
                    row[key]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| format!("a row's {key} is not text: {row}"))
                };
                let label = match row["prefix"].as_str() {
                    Some(prefix) => format!("{prefix}\u{2026}"),
                    None => "a normal order".to_string(),
                };
                Ok((field("order_id")?, label, field("sandbox_does")?))
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Table {
            sandbox: SandboxConfig {
                slow: ms("sandbox", "slow_ms")?,
                hang: ms("sandbox", "hang_ms")?,
                latency: ms("sandbox", "latency_ms")?,
                ..SandboxConfig::default()
            },
            timeout: ms("client", "timeout_ms")?,
            connect_timeout: ms("client", "connect_timeout_ms")?,
            max_retries,
            backoff: (
                ms("client", "backoff_base_ms")?,
                ms("client", "backoff_cap_ms")?,
            ),
            payments,
        })
    }
}

pub fn run() -> Result<(), ExitCode> {
    let table = Table::parse(OUTCOMES).map_err(|e| {
        say_err!("error: the embedded behaviour table (outcomes.json) is unusable: {e}");
        ExitCode::from(12)
    })?;
    let sandbox = Sandbox::start(table.sandbox.clone()).map_err(|e| {
        say_err!("error: the embedded sandbox could not start: {e}");
        ExitCode::from(12)
    })?;
    say!("Embedded sandbox gateway on {}\n", sandbox.url());
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .timeout(table.timeout)
        .connect_timeout(table.connect_timeout)
        .max_retries(table.max_retries)
        .backoff(table.backoff.0, table.backoff.1)
        .build()
        .map_err(|e| crate::output::fail(&e, false))?;

    say!("1. A cashier link for one order (1688's cashier):");
    show(
        client
            .pay_url(&["2257455039610311973"])
            .map(|l| link_text(&l)),
    );
    say!("\n2. One link for three orders (Alipay's cashier):");
    show(
        client
            .pay_url(&[
                "2257455039610311973",
                "2257455039610311974",
                "2257455039610311975",
            ])
            .map(|l| link_text(&l)),
    );
    say!("\n3. 25 orders (one repeated) in batches of 10, fetched concurrently, in order:");
    let many: Vec<String> = (0..25u64)
        .map(|n| (2_257_455_039_610_312_000 + n % 24).to_string())
        .collect();
    match client.pay_urls(&many, 10) {
        Ok(links) => {
            for link in links {
                say!("   {} orders -> {}", link.order_ids.len(), link.url);
            }
        }
        Err(e) => say!("   failed: {e}"),
    }

    say!("\n4. Password-free payments (the order id chooses what the sandbox does):");
    for (id, label, what) in &table.payments {
        say!("   {label}: {what}");
        let result = client.prepare_pay(id);
        let verdict = Verdict::of_result(dajisaas::PaymentOutcome::of(&result), &result);
        say!("      {}", payment_line(id, verdict, &result));
    }

    say!("\n5. What the sandbox's ledger says:");
    let stats = sandbox.stats();
    for (id, _, _) in &table.payments {
        let calls = stats.pay_calls.get(id).copied().unwrap_or(0);
        let deducted = stats.deductions.get(id).copied().unwrap_or(0);
        say!("   order {id}: {calls} payment call(s), deducted {deducted} time(s)");
    }
    let twice = stats.deductions.values().filter(|n| **n > 1).count();
    say!(
        "   {} requests seen, {} carried the secret, {} order(s) deducted twice.",
        stats.requests,
        stats.requests_with_secret,
        twice
    );
    say!(
        "\nThe declined order is safe to retry later; the unknown-outcome one was charged: \
         check an order like it before paying again."
    );
    Ok(())
}

fn show(result: dajisaas::Result<String>) {
    match result {
        Ok(text) => say!("   {}", text.replace('\n', "\n   ")),
        Err(e) => say!("   failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_gives_the_demo_its_payments() {
        let table = Table::parse(OUTCOMES).unwrap();
        assert!(table.payments.len() >= 4, "{}", table.payments.len());
        assert!(table.timeout < table.sandbox.hang);
    }
}

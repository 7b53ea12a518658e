//! `daji demo`: the library's story in one run, against an embedded sandbox.

use std::process::ExitCode;
use std::time::Duration;

use dajisaas::Client;
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

use crate::output::{link_text, payment_text};

/// Orders paid in the demo, with what the sandbox does to each.
const PAYMENTS: [(&str, &str); 5] = [
    ("2257164624870311973", "a normal order"),
    ("9001000000000000001", "declined twice, then paid"),
    ("9000000000000000001", "declined every time"),
    (
        "9002000000000000001",
        "deducted, then the answer never comes",
    ),
    ("9005000000000000001", "the gateway's rate limit every time"),
];

pub fn run() -> Result<(), ExitCode> {
    let config = SandboxConfig {
        hang: Duration::from_secs(5),
        ..SandboxConfig::default()
    };
    let sandbox = Sandbox::start(config).map_err(|e| {
        eprintln!("error: the embedded sandbox could not start: {e}");
        ExitCode::from(12)
    })?;
    println!("Embedded sandbox gateway on {}\n", sandbox.url());
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .timeout(Duration::from_secs(2))
        .backoff(Duration::from_millis(50), Duration::from_millis(400))
        .build()
        .map_err(|e| crate::output::fail(&e, false))?;

    println!("1. A cashier link for one order (1688's cashier):");
    show(
        client
            .pay_url(&["2257455039610311973"])
            .map(|l| link_text(&l)),
    );
    println!("\n2. One link for three orders (Alipay's cashier):");
    show(
        client
            .pay_url(&[
                "2257455039610311973",
                "2257455039610311974",
                "2257455039610311975",
            ])
            .map(|l| link_text(&l)),
    );
    println!("\n3. 25 orders (one repeated) in batches of 10, fetched concurrently, in order:");
    let many: Vec<String> = (0..25u64)
        .map(|n| (2_257_455_039_610_312_000 + n % 24).to_string())
        .collect();
    match client.pay_urls(&many, 10) {
        Ok(links) => {
            for link in links {
                println!("   {} orders -> {}", link.order_ids.len(), link.url);
            }
        }
        Err(e) => println!("   failed: {e}"),
    }

    println!("\n4. Password-free payments:");
    for (id, what) in PAYMENTS {
        println!("   {what}:");
        println!("   {}", payment_text(&client.prepare_pay(id), id));
    }

    println!("\n5. What the sandbox's ledger says:");
    let stats = sandbox.stats();
    for (id, _) in PAYMENTS {
        let calls = stats.pay_calls.get(id).copied().unwrap_or(0);
        let deducted = stats.deductions.get(id).copied().unwrap_or(0);
        println!("   order {id}: {calls} payment call(s), deducted {deducted} time(s)");
    }
    let twice = stats.deductions.values().filter(|n| **n > 1).count();
    println!(
        "   {} requests seen, {} carried the secret, {} order(s) deducted twice.",
        stats.requests, stats.requests_with_secret, twice
    );
    println!(
        "\nThe declined order is safe to retry later; the unknown-outcome one was charged: \
         check an order like it before paying again."
    );
    Ok(())
}

fn show(result: dajisaas::Result<String>) {
    match result {
        Ok(text) => println!("   {}", text.replace('\n', "\n   ")),
        Err(e) => println!("   failed: {e}"),
    }
}

//! Helpers shared by the integration tests: a sandbox and a client pointed at it.
#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use dajisaas::{Client, ClientBuilder};
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

/// Client timeout in these tests; the sandbox's slow and hang delays are well above it.
pub const TIMEOUT: Duration = Duration::from_millis(700);

pub fn sandbox() -> Sandbox {
    sandbox_with(|c| c)
}

pub fn sandbox_with(f: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Sandbox {
    let config = SandboxConfig {
        slow: Duration::from_millis(1500),
        hang: Duration::from_secs(3),
        ..SandboxConfig::default()
    };
    Sandbox::start(f(config)).expect("sandbox starts")
}

pub fn builder(sandbox: &Sandbox) -> ClientBuilder {
    Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .timeout(TIMEOUT)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn client(sandbox: &Sandbox) -> Client {
    builder(sandbox).build().expect("client builds")
}

/// Fails if any order was paid twice. The sandbox declines a payment of an order already paid
/// (so no order is ever deducted twice) and counts such calls: any of them means a second
/// payment was sent.
pub fn assert_no_double_deduction(sandbox: &Sandbox) {
    let stats = sandbox.stats();
    let twice: Vec<_> = stats.deductions.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "orders deducted more than once: {twice:?}"
    );
    let again = &stats.pay_calls_after_paid_by_order;
    let first: Vec<_> = again.iter().take(5).collect();
    assert_eq!(
        stats.pay_calls_after_paid,
        0,
        "payment calls for orders already paid, in {} order(s), first: {first:?}",
        again.len()
    );
}

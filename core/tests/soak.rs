//! Soak under seeded chaos: 16 threads pay 2,000 orders (well over 500 orders and 2,000 calls)
//! through a sandbox that drops, truncates, trickles, declines, rate-limits and fails at random.
//!
//! Every order is paid the way the documentation tells callers to: pay again only after an
//! outcome that surely took no money (declined, rate limited, not sent), never after paid or
//! outcome unknown. Like the real platform, the sandbox never deducts an order twice: it declines
//! a payment of an order already paid and counts every such call (`pay_calls_after_paid`), so a
//! retry of the library's own after a possible deduction shows there. Set DAJI_SOAK_ORDERS and
//! DAJI_CHAOS_SEED for longer or other runs.

mod common;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dajisaas::{Client, ErrorCode};
use dajisaas_sandbox::{Chaos, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

const THREADS: usize = 16;
const TIMEOUT: Duration = Duration::from_millis(400);
/// Payment calls one order may get before the soak gives up on it (all "surely not paid").
const MAX_CALLS_PER_ORDER: u32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Paid,
    Unknown,
    NotPaid(ErrorCode),
    /// A code a payment must never end with; reported after the ledger checks.
    Unexpected(ErrorCode),
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn chaos_soak_never_pays_an_order_twice() {
    let orders = env_number("DAJI_SOAK_ORDERS", 2_000) as usize;
    let seed = env_number("DAJI_CHAOS_SEED", 20_261_122);
    let sandbox = Sandbox::start(SandboxConfig {
        chaos: Some(Chaos { seed }),
        ..SandboxConfig::default()
    })
    .unwrap();
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .timeout(TIMEOUT)
        .backoff(Duration::from_millis(1), Duration::from_millis(10))
        .build()
        .unwrap();
    let ids: Vec<String> = (0..orders)
        .map(|n| (3_100_000_000_000_000_000u64 + n as u64).to_string())
        .collect();
    let next = AtomicUsize::new(0);
    let outcomes: Mutex<BTreeMap<String, (Outcome, u32)>> = Mutex::default();
    let codes: Mutex<BTreeMap<&'static str, u64>> = Mutex::default();
    let slowest = Mutex::new(Duration::ZERO);
    let calls = AtomicUsize::new(0);

    thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                while let Some(id) = ids.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let mut tries = 0;
                    let outcome = loop {
                        tries += 1;
                        calls.fetch_add(1, Ordering::Relaxed);
                        let started = Instant::now();
                        let result = client.prepare_pay(id);
                        let took = started.elapsed();
                        let mut s = slowest.lock().unwrap();
                        *s = (*s).max(took);
                        drop(s);
                        let outcome = match result {
                            Ok(payment) => {
                                assert_eq!(&payment.order_id, id);
                                Outcome::Paid
                            }
                            Err(e) => {
                                *codes.lock().unwrap().entry(e.code().as_str()).or_insert(0) += 1;
                                match e.code() {
                                    ErrorCode::PaymentOutcomeUnknown => Outcome::Unknown,
                                    code
                                    @ (ErrorCode::PaymentDeclined | ErrorCode::RateLimited) => {
                                        Outcome::NotPaid(code)
                                    }
                                    other => Outcome::Unexpected(other),
                                }
                            }
                        };
                        if !matches!(outcome, Outcome::NotPaid(_)) || tries == MAX_CALLS_PER_ORDER {
                            break outcome;
                        }
                    };
                    outcomes
                        .lock()
                        .unwrap()
                        .insert(id.clone(), (outcome, tries));
                }
            });
        }
    });

    let stats = sandbox.stats();
    let outcomes = outcomes.into_inner().unwrap();
    assert_eq!(outcomes.len(), orders);
    let again = &stats.pay_calls_after_paid_by_order;
    let first: Vec<_> = again.iter().take(5).collect();
    assert_eq!(
        stats.pay_calls_after_paid,
        0,
        "payment calls for orders already paid, in {} order(s), first: {first:?}",
        again.len()
    );
    for (id, (outcome, _)) in &outcomes {
        let deducted = stats.deductions.get(id).copied().unwrap_or(0);
        match outcome {
            Outcome::Paid => assert_eq!(deducted, 1, "{id} was reported paid"),
            Outcome::NotPaid(code) => assert_eq!(deducted, 0, "{id} was reported {code}"),
            Outcome::Unknown | Outcome::Unexpected(_) => assert!(deducted <= 1),
        }
    }
    let unexpected: Vec<_> = outcomes
        .iter()
        .filter(|(_, (o, _))| matches!(o, Outcome::Unexpected(_)))
        .collect();
    assert!(
        unexpected.is_empty(),
        "payments ended with codes outside the outcome table: {unexpected:?}"
    );
    // No call hangs: its attempts' timeouts plus backoff (a few ms here, but at least a second
    // before each of the 3 retries that follow a call-frequency refusal) take 4.6 s at most; the
    // bound is three times that, for a busy machine.
    let bound = (TIMEOUT * 4 + Duration::from_secs(3)) * 3;
    let slowest = slowest.into_inner().unwrap();
    assert!(slowest < bound, "slowest call took {slowest:?}");

    let count = |f: fn(&Outcome) -> bool| outcomes.values().filter(|(o, _)| f(o)).count();
    let calls = calls.into_inner();
    println!(
        "soak: seed {seed}, {orders} orders, {calls} payment calls, {} requests; paid {}, unknown {}, \
         not paid {}; error codes {:?}; faults injected {:?}; payment calls after paid 0; slowest call {:?}",
        stats.requests,
        count(|o| *o == Outcome::Paid),
        count(|o| *o == Outcome::Unknown),
        count(|o| matches!(o, Outcome::NotPaid(_))),
        codes.into_inner().unwrap(),
        stats.faults,
        slowest,
    );
    assert!(calls >= 2_000 || orders < 2_000, "{calls} calls");
    assert!(
        stats.faults.len() >= 8,
        "every kind of fault should occur: {:?}",
        stats.faults
    );
}

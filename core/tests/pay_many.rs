//! `pay_many` against the sandbox: checks before sending, outcomes in input order, repeats paid
//! once, progress once per order, the concurrency bound; and the client's pace
//! (`max_calls_per_second` and the adaptive limit) against a sandbox that enforces `--qps`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{assert_no_double_deduction, builder, client, sandbox, sandbox_with};
use dajisaas::{DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, ErrorCode, PayManyItem, PaymentOutcome};

const NORMAL: &str = "2257164624870311973";
const NORMAL_2: &str = "2257164624870311974";
const DECLINE: &str = "9000000000000000001";
const UNKNOWN_5XX: &str = "9003000000000000001";

#[test]
fn one_bad_id_and_nothing_is_sent_the_error_names_its_position() {
    let sb = sandbox();
    let c = client(&sb);
    let e = c
        .pay_many(&[NORMAL, DECLINE, UNKNOWN_5XX, "12a", NORMAL_2, "0"], 4)
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(
        e.message().contains("orderIds[3] \"12a\"") && e.message().contains("orderIds[5] \"0\""),
        "{}",
        e.message()
    );
    for concurrency in [0, 65] {
        let e = c.pay_many(&[NORMAL], concurrency).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.message().contains("1 to 64"), "{}", e.message());
    }
    assert!(c.pay_many::<&str>(&[], 4).is_err());
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn each_order_gets_its_outcome_in_input_order_repeats_paid_once_progress_once_each() {
    let sb = sandbox();
    let c = client(&sb);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let report = c
        .pay_many_with_progress(
            &[NORMAL, DECLINE, UNKNOWN_5XX, NORMAL, NORMAL_2],
            3,
            move |item: &PayManyItem| log.lock().unwrap().push(item.order_id.clone()),
        )
        .unwrap();
    let ids: Vec<&str> = report.results.iter().map(|i| i.order_id.as_str()).collect();
    assert_eq!(ids, [NORMAL, DECLINE, UNKNOWN_5XX, NORMAL_2]);
    let outcomes: Vec<PaymentOutcome> = report.results.iter().map(|i| i.outcome).collect();
    use PaymentOutcome::*;
    assert_eq!(outcomes, [Paid, Declined, Unknown, Paid]);
    assert_eq!(report.results[0].payment().unwrap().order_id, NORMAL);
    assert_eq!(report.results[1].error().unwrap().attempts(), 4);
    assert_eq!(
        report.results[2].error().unwrap().code(),
        ErrorCode::PaymentOutcomeUnknown
    );
    assert_eq!(report.summary.count(Paid), 2);
    assert_eq!(report.summary.count(Declined), 1);
    assert_eq!(report.summary.count(Unknown), 1);
    assert_eq!(report.summary.total(), 4);
    assert_eq!(
        report.most_serious_failure().unwrap().code(),
        ErrorCode::PaymentOutcomeUnknown
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    let mut expected = vec![NORMAL, DECLINE, UNKNOWN_5XX, NORMAL_2];
    expected.sort();
    assert_eq!(seen, expected, "progress once per order");
    let stats = sb.stats();
    assert_eq!(
        stats.pay_calls.get(NORMAL),
        Some(&1),
        "a repeated id is paid once"
    );
    assert_eq!(stats.deductions.get(NORMAL_2), Some(&1));
    assert_no_double_deduction(&sb);

    // The journal: a second run sends nothing for the paid orders.
    let again = c.pay_many(&[NORMAL, NORMAL_2], 2).unwrap();
    assert!(again.results.iter().all(|i| i.payment().unwrap().replayed));
    assert_eq!(sb.stats().pay_calls.get(NORMAL), Some(&1));
    let json = report.to_json();
    assert_eq!(json["results"][1]["outcome"], "declined");
    assert_eq!(json["summary"]["unknown"], 1);
}

#[test]
fn at_most_concurrency_payments_are_in_flight() {
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig {
        slow: Duration::from_millis(300),
        ..c
    });
    let c = client(&sb);
    let ids: Vec<String> = (0..9).map(|n| format!("900700000000000{n:04}")).collect();
    let started = Instant::now();
    let report = c.pay_many(&ids, 3).unwrap();
    assert_eq!(report.summary.count(PaymentOutcome::Paid), 9);
    assert_eq!(sb.stats().peak_in_flight, 3);
    // Three waves of 300 ms, not one.
    assert!(started.elapsed() >= Duration::from_millis(850));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_client_pays_many_too() {
    let sb = sandbox();
    let c = builder(&sb).build_async().unwrap();
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    let report = c
        .pay_many_with_progress(
            vec![NORMAL.to_string(), DECLINE.to_string()],
            2,
            move |_: &PayManyItem| {
                counter.fetch_add(1, Ordering::SeqCst);
            },
        )
        .await
        .unwrap();
    assert_eq!(report.results[0].outcome, PaymentOutcome::Paid);
    assert_eq!(report.results[1].outcome, PaymentOutcome::Declined);
    assert_eq!(count.load(Ordering::SeqCst), 2);
    let plain = c.pay_many(vec![NORMAL.to_string()], 1).await.unwrap();
    assert!(plain.results[0].payment().unwrap().replayed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pay_many_each_hands_over_each_order_with_its_position_and_counts_the_outcomes() {
    let sb = sandbox();
    let c = builder(&sb).build_async().unwrap();
    let items = Arc::new(Mutex::new(Vec::new()));
    let kept = items.clone();
    let ids = [NORMAL, DECLINE, NORMAL, NORMAL_2]
        .map(String::from)
        .to_vec();
    let summary = c
        .pay_many_each(ids, 2, move |index, item: PayManyItem| {
            kept.lock()
                .unwrap()
                .push((index, item.order_id, item.outcome));
        })
        .await
        .unwrap();
    let mut items = items.lock().unwrap().clone();
    items.sort_by_key(|(index, _, _)| *index);
    use PaymentOutcome::*;
    assert_eq!(
        items,
        [
            (0, NORMAL.to_string(), Paid),
            (1, DECLINE.to_string(), Declined),
            (2, NORMAL_2.to_string(), Paid),
        ]
    );
    assert_eq!(
        (
            summary.count(Paid),
            summary.count(Declined),
            summary.total()
        ),
        (2, 1, 3)
    );
    let e = c
        .pay_many_each(vec!["12a".into()], 2, |_, _| panic!("nothing is paid"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
}

#[test]
fn the_pace_is_shared_by_every_call_and_clone_and_its_wait_is_no_timeout() {
    let sb = sandbox();
    // 10 calls a second, a 150 ms timeout: eight calls at once take 700 ms in all, and none
    // times out while it waits for its slot.
    let c = builder(&sb)
        .max_calls_per_second(10)
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    assert_eq!(c.config().max_calls_per_second(), Some(10));
    let started = Instant::now();
    thread::scope(|s| {
        for n in 0..4 {
            let link = c.clone();
            s.spawn(move || link.pay_url(&[format!("22571646248703{n:05}")]).unwrap());
            let payer = c.clone();
            s.spawn(move || payer.prepare_pay(&format!("22571646248704{n:05}")).unwrap());
        }
    });
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(680), "{took:?}");
    assert_eq!(sb.stats().requests, 8);
}

fn order_ids(base: u64, n: usize) -> Vec<String> {
    (0..n as u64).map(|i| (base + i).to_string()).collect()
}

/// The gateway's limit is 50 calls a second; the client is told so: 600 orders take 12 s and
/// none is refused.
#[test]
fn with_max_calls_per_second_at_the_gateway_limit_no_call_is_refused() {
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig { qps: Some(50), ..c });
    let c = builder(&sb)
        .max_calls_per_second(50)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let ids = order_ids(2_257_000_000_000_000_000, 600);
    let started = Instant::now();
    let report = c.pay_many(&ids, 16).unwrap();
    let took = started.elapsed();
    let stats = sb.stats();
    println!(
        "600 orders, max_calls_per_second 50, gateway qps 50: {took:?} (bound 12 s: {:.2}x), \
         summary {:?}, gateway refusals {}",
        took.as_secs_f64() / 12.0,
        report.summary.to_json(),
        stats.rate_limited
    );
    assert_eq!(report.summary.count(PaymentOutcome::Paid), 600);
    assert_eq!(stats.rate_limited, 0);
    assert!(stats.deductions.values().all(|n| *n == 1));
    assert_eq!(stats.pay_calls.len(), 600);
    assert!(took >= Duration::from_secs_f64(11.9), "{took:?}");
}

/// No limit configured: the client finds the gateway's by itself. The refusals of the first
/// moments (the client starts far above 50 a second) and of later probes are absorbed by the
/// retries: no order ends rate limited.
#[test]
fn without_a_configured_limit_the_client_converges_on_the_gateways() {
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig { qps: Some(50), ..c });
    let c = builder(&sb)
        .backoff(DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let ids = order_ids(2_258_000_000_000_000_000, 600);
    let started = Instant::now();
    let report = c.pay_many(&ids, 16).unwrap();
    let took = started.elapsed();
    let stats = sb.stats();
    println!(
        "600 orders, adaptive only, concurrency 16, gateway qps 50: {took:?} (bound 12 s: \
         {:.2}x), summary {:?}, gateway refusals absorbed by retries {}, pace now {:?}",
        took.as_secs_f64() / 12.0,
        report.summary.to_json(),
        stats.rate_limited,
        c.config().current_calls_per_second()
    );
    assert_eq!(report.summary.count(PaymentOutcome::Failed), 0);
    assert_eq!(report.summary.count(PaymentOutcome::Paid), 600);
    assert!(stats.deductions.values().all(|n| *n == 1));
}

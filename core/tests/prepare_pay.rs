//! Password-free payments against the sandbox, beyond the behaviour table that
//! `outcomes_table.rs` runs from tests/vectors/outcomes.json: the result's fields, other retry
//! limits, failures no sandbox pattern makes (nothing listening, a stub that hangs up), a
//! deliberate second payment, and two concurrent payments of one order.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::{builder, client, sandbox};
use dajisaas::{Client, ErrorCode};

const NORMAL: &str = "2257164624870311973";
const DECLINE: &str = "9000000000000000001";
const DECLINE_TWICE: &str = "9001000000000000001";
const SLOW: &str = "9007000000000000001";
const UNAVAILABLE_ONCE: &str = "9009000000000000001";

fn deductions(sb: &dajisaas_sandbox::Sandbox, id: &str) -> u32 {
    sb.stats().deductions.get(id).copied().unwrap_or(0)
}

fn pay_calls(sb: &dajisaas_sandbox::Sandbox, id: &str) -> u32 {
    sb.stats().pay_calls.get(id).copied().unwrap_or(0)
}

#[test]
fn a_payment_carries_its_order_channel_and_trace_id() {
    let sb = sandbox();
    let p = client(&sb).prepare_pay(NORMAL).unwrap();
    assert_eq!(p.order_id, NORMAL);
    assert_eq!(p.attempts, 1);
    assert_eq!(p.pay_channel.as_deref(), Some("alipay"));
    assert_eq!(p.trace_id.as_ref().map(String::len), Some(12));
    assert_eq!(deductions(&sb, NORMAL), 1);
}

#[test]
fn max_retries_bounds_the_attempts() {
    let sb = sandbox();
    let c = builder(&sb).max_retries(1).build().unwrap();
    assert_eq!(c.prepare_pay(DECLINE).unwrap_err().attempts(), 2);
    let c = builder(&sb).max_retries(0).build().unwrap();
    assert_eq!(c.prepare_pay(DECLINE_TWICE).unwrap_err().attempts(), 1);
    assert_eq!(pay_calls(&sb, DECLINE) + pay_calls(&sb, DECLINE_TWICE), 3);
}

#[test]
fn not_sent_is_retried_and_reported_as_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder("k", "s")
        .journal(format!("memory:refused-{port}"))
        .base_url(format!("http://127.0.0.1:{port}"))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection);
    assert_eq!(e.attempts(), 4);
    assert!(e.message().contains("could not connect"), "{}", e.message());
}

#[test]
fn after_an_unknown_outcome_the_order_is_paid_again_only_once_resolved() {
    // HTTP 503 is an unknown outcome (outcomes.json). The journal refuses to pay again until the
    // caller has checked the order, found it unpaid, and said so: then a new payment goes out.
    let sb = sandbox();
    let c = client(&sb);
    let e = c.prepare_pay(UNAVAILABLE_ONCE).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown);
    assert_eq!(deductions(&sb, UNAVAILABLE_ONCE), 0);
    let refused = client(&sb).prepare_pay(UNAVAILABLE_ONCE).unwrap_err();
    assert_eq!(
        (refused.code(), refused.attempts()),
        (ErrorCode::PaymentOutcomeUnknown, 0)
    );
    assert_eq!(pay_calls(&sb, UNAVAILABLE_ONCE), 1);
    c.resolve_payment(UNAVAILABLE_ONCE, false, "no deduction in Alipay's records")
        .unwrap();
    assert_eq!(c.prepare_pay(UNAVAILABLE_ONCE).unwrap().attempts, 1);
    assert_eq!(deductions(&sb, UNAVAILABLE_ONCE), 1);
}

#[test]
fn connection_lost_after_sending_is_outcome_unknown() {
    // A stub that reads the request and hangs up without answering.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stub = thread::spawn(move || {
        let (mut conn, _) = listener.accept().unwrap();
        let mut buf = [0u8; 4096];
        let n = conn.read(&mut buf).unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("POST "));
    });
    let c = Client::builder("k", "s")
        .journal(format!("memory:hang-up-{port}"))
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    stub.join().unwrap();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{e}");
    assert_eq!(e.attempts(), 1);
}

#[test]
fn a_second_payment_of_an_order_under_way_waits_for_its_outcome() {
    let sb = sandbox();
    let slow_client = builder(&sb)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let first = {
        let slow_client = slow_client.clone();
        thread::spawn(move || slow_client.prepare_pay(SLOW))
    };
    while pay_calls(&sb, SLOW) == 0 {
        thread::sleep(Duration::from_millis(5));
    }
    // Another client of the same process and journal: it sends nothing and returns the first
    // payment's outcome.
    let second = builder(&sb).build().unwrap().prepare_pay(SLOW).unwrap();
    let first = first.join().unwrap().unwrap();
    assert_eq!((first.replayed, second.replayed), (false, true));
    assert_eq!(second.trace_id, first.trace_id);
    assert_eq!((pay_calls(&sb, SLOW), deductions(&sb, SLOW)), (1, 1));
}

#[test]
fn envelope_5xx_with_a_frequency_message_is_outcome_unknown_not_rate_limited() {
    // API.md: a message about call frequency counts only when the code is not a 5xx.
    let stub = common::Stub::start(
        200,
        r#"{"code":500,"message":"调用频率超限","traceId":"t500"}"#,
    );
    let c = Client::builder("k", "s")
        .journal(format!("memory:{}", stub.url))
        .base_url(&stub.url)
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{e}");
    assert_eq!(e.attempts(), 1);
    assert_eq!(e.api_code(), Some(500));
    assert_eq!(e.trace_id(), Some("t500"));
    assert_eq!(stub.requests(), 1);
}

#[test]
fn a_retry_after_a_frequency_refusal_waits_for_the_gateways_next_second() {
    // The gateway counts calls per second: whatever the backoff (1 to 5 ms here), the next
    // attempt after a refusal for call frequency comes at least a second later.
    const RATE_LIMITED_ONCE: &str = "9006000000000000001";
    let sb = sandbox();
    let c = client(&sb);
    let started = std::time::Instant::now();
    let p = c.prepare_pay(RATE_LIMITED_ONCE).unwrap();
    assert_eq!(p.attempts, 2);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    // A decline is retried after the backoff alone: with the second's wait its two retries would
    // take 2 s or more; three local calls take milliseconds, so the bound is generous.
    let started = std::time::Instant::now();
    assert_eq!(c.prepare_pay(DECLINE_TWICE).unwrap().attempts, 3);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

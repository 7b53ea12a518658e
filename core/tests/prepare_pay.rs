//! Every row of API.md's outcome table for password-free payments, against the sandbox.
//! The sandbox's deduction counts show that no scenario pays an order twice.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::{assert_no_double_deduction, builder, client, sandbox};
use dajisaas::{Client, ErrorCode};

const NORMAL: &str = "2257164624870311973";
const DECLINE: &str = "9000000000000000001";
const DECLINE_TWICE: &str = "9001000000000000001";
const DEDUCT_THEN_HANG: &str = "9002000000000000001";
const DEDUCT_THEN_500: &str = "9003000000000000001";
const DEDUCT_THEN_MALFORMED: &str = "9004000000000000001";
const RATE_LIMITED: &str = "9005000000000000001";
const RATE_LIMITED_ONCE: &str = "9006000000000000001";
const SLOW: &str = "9007000000000000001";
const NOT_CONFIRMED: &str = "9008000000000000001";
const UNAVAILABLE_ONCE: &str = "9009000000000000001";

fn deductions(sb: &dajisaas_sandbox::Sandbox, id: &str) -> u32 {
    sb.stats().deductions.get(id).copied().unwrap_or(0)
}

fn pay_calls(sb: &dajisaas_sandbox::Sandbox, id: &str) -> u32 {
    sb.stats().pay_calls.get(id).copied().unwrap_or(0)
}

#[test]
fn paid_on_first_attempt() {
    let sb = sandbox();
    let p = client(&sb).prepare_pay(NORMAL).unwrap();
    assert_eq!(p.order_id, NORMAL);
    assert_eq!(p.attempts, 1);
    assert_eq!(p.pay_channel.as_deref(), Some("alipay"));
    assert_eq!(p.trace_id.as_ref().map(String::len), Some(12));
    assert_eq!(deductions(&sb, NORMAL), 1);
}

#[test]
fn declined_twice_then_paid_on_the_third_attempt() {
    let sb = sandbox();
    let p = client(&sb).prepare_pay(DECLINE_TWICE).unwrap();
    assert_eq!(p.attempts, 3);
    assert_eq!(
        (
            pay_calls(&sb, DECLINE_TWICE),
            deductions(&sb, DECLINE_TWICE)
        ),
        (3, 1)
    );
}

#[test]
fn declined_every_time_gives_up_after_three_retries() {
    let sb = sandbox();
    let e = client(&sb).prepare_pay(DECLINE).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentDeclined);
    assert_eq!(e.attempts(), 4);
    assert!(e.message().contains("not initiated"), "{}", e.message());
    assert!(e.trace_id().is_some());
    assert_eq!((pay_calls(&sb, DECLINE), deductions(&sb, DECLINE)), (4, 0));
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
fn rate_limited_once_is_retried_and_paid() {
    let sb = sandbox();
    let p = client(&sb).prepare_pay(RATE_LIMITED_ONCE).unwrap();
    assert_eq!(p.attempts, 2);
    assert_eq!(deductions(&sb, RATE_LIMITED_ONCE), 1);
}

#[test]
fn rate_limited_every_time_ends_as_rate_limited() {
    let sb = sandbox();
    let e = client(&sb).prepare_pay(RATE_LIMITED).unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert_eq!(e.attempts(), 4);
    assert_eq!(e.api_code(), Some(429));
    assert_eq!(deductions(&sb, RATE_LIMITED), 0);
}

#[test]
fn not_sent_is_retried_and_reported_as_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = Client::builder("k", "s")
        .base_url(format!("http://127.0.0.1:{port}"))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection);
    assert_eq!(e.attempts(), 4);
    assert!(e.message().contains("could not connect"), "{}", e.message());
}

fn assert_unknown(sb: &dajisaas_sandbox::Sandbox, id: &str, deducted: u32) -> dajisaas::Error {
    let e = client(sb).prepare_pay(id).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{id}: {e}");
    assert_eq!(e.attempts(), 1, "{id}: an unknown outcome is never retried");
    assert!(e.message().contains("check the order"), "{}", e.message());
    assert_eq!(pay_calls(sb, id), 1);
    assert_eq!(deductions(sb, id), deducted);
    e
}

#[test]
fn timeout_after_the_deduction_is_outcome_unknown() {
    let sb = sandbox();
    let e = assert_unknown(&sb, DEDUCT_THEN_HANG, 1);
    assert!(
        e.message().contains("no complete answer"),
        "{}",
        e.message()
    );
}

#[test]
fn http_500_after_the_deduction_is_outcome_unknown() {
    let sb = sandbox();
    let e = assert_unknown(&sb, DEDUCT_THEN_500, 1);
    assert_eq!(e.http_status(), Some(500));
}

#[test]
fn http_503_is_outcome_unknown_even_without_a_deduction() {
    let sb = sandbox();
    assert_unknown(&sb, UNAVAILABLE_ONCE, 0);
    // The caller checked the order, found it unpaid, and pays it again deliberately.
    assert_eq!(
        client(&sb).prepare_pay(UNAVAILABLE_ONCE).unwrap().attempts,
        1
    );
    assert_eq!(deductions(&sb, UNAVAILABLE_ONCE), 1);
}

#[test]
fn unparseable_body_is_outcome_unknown() {
    let sb = sandbox();
    let e = assert_unknown(&sb, DEDUCT_THEN_MALFORMED, 1);
    assert!(e.message().contains("not JSON"), "{}", e.message());
}

#[test]
fn success_without_pay_success_is_outcome_unknown() {
    let sb = sandbox();
    let e = assert_unknown(&sb, NOT_CONFIRMED, 1);
    assert!(e.message().contains("paySuccess"), "{}", e.message());
    assert!(e.trace_id().is_some());
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
        .base_url(format!("http://127.0.0.1:{port}"))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    stub.join().unwrap();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{e}");
    assert_eq!(e.attempts(), 1);
}

#[test]
fn concurrent_payments_of_one_order_never_both_reach_the_gateway() {
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
    let second = slow_client.prepare_pay(SLOW).unwrap_err();
    assert_eq!(second.code(), ErrorCode::InvalidArgument);
    assert!(
        second.message().contains("already under way"),
        "{}",
        second.message()
    );
    assert_eq!(first.join().unwrap().unwrap().attempts, 1);
    assert_eq!((pay_calls(&sb, SLOW), deductions(&sb, SLOW)), (1, 1));
}

#[test]
fn no_scenario_deducts_an_order_twice() {
    let sb = sandbox();
    let c = client(&sb);
    let ids = [
        NORMAL,
        DECLINE,
        DECLINE_TWICE,
        DEDUCT_THEN_HANG,
        DEDUCT_THEN_500,
        DEDUCT_THEN_MALFORMED,
        RATE_LIMITED,
        RATE_LIMITED_ONCE,
        NOT_CONFIRMED,
        UNAVAILABLE_ONCE,
    ];
    let handles: Vec<_> = ids
        .iter()
        .map(|id| {
            let c = c.clone();
            let id = id.to_string();
            thread::spawn(move || c.prepare_pay(&id).map(|p| p.order_id))
        })
        .collect();
    let paid: Vec<String> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().ok())
        .collect();
    assert_eq!(paid.len(), 3, "{paid:?}");
    for id in &paid {
        assert_eq!(deductions(&sb, id), 1);
    }
    assert_no_double_deduction(&sb);
}

#[test]
fn envelope_5xx_with_a_frequency_message_is_outcome_unknown_not_rate_limited() {
    // API.md: a message about call frequency counts only when the code is not a 5xx.
    let stub = common::Stub::start(
        200,
        r#"{"code":500,"message":"调用频率超限","traceId":"t500"}"#,
    );
    let c = Client::builder("k", "s")
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

//! Faults at the body level: dropped connections, truncated, oversized and trickled bodies.
//! Payments end as outcome unknown (never retried); links retry or fail with the right code.

mod common;

use std::time::{Duration, Instant};

use common::{TIMEOUT, assert_no_double_deduction, builder, client, sandbox};
use dajisaas::{ErrorCode, MAX_BODY_BYTES};

const DROP: &str = "9010000000000000001";
const TRUNCATED: &str = "9011000000000000001";
const OVERSIZED: &str = "9012000000000000001";
const TRICKLE: &str = "9013000000000000001";
const DROP_BEFORE: &str = "9014000000000000001";

fn unknown_after_one_attempt(id: &str, deducted: u32) -> dajisaas::Error {
    let sb = sandbox();
    let e = client(&sb).prepare_pay(id).unwrap_err();
    assert_eq!(
        (e.code(), e.attempts()),
        (ErrorCode::PaymentOutcomeUnknown, 1),
        "{id}: {e}"
    );
    assert_eq!(
        sb.stats().deductions.get(id).copied().unwrap_or(0),
        deducted,
        "{id}"
    );
    assert_no_double_deduction(&sb);
    e
}

#[test]
fn connection_dropped_mid_body_after_deducting() {
    let e = unknown_after_one_attempt(DROP, 1);
    assert!(e.message().contains("connection lost"), "{}", e.message());
}

#[test]
fn connection_dropped_before_processing() {
    unknown_after_one_attempt(DROP_BEFORE, 0);
}

#[test]
fn truncated_body() {
    let e = unknown_after_one_attempt(TRUNCATED, 1);
    assert!(e.message().contains("not JSON"), "{}", e.message());
}

#[test]
fn oversized_body_is_cut_off_at_the_cap() {
    let e = unknown_after_one_attempt(OVERSIZED, 1);
    assert!(
        e.message()
            .contains(&format!("exceeds {MAX_BODY_BYTES} bytes")),
        "{}",
        e.message()
    );
    let sb = sandbox();
    let link = client(&sb).pay_url(&[OVERSIZED]).unwrap_err();
    assert_eq!((link.code(), link.attempts()), (ErrorCode::Decode, 1));
}

#[test]
fn trickled_body_ends_at_the_total_timeout() {
    let started = Instant::now();
    let e = unknown_after_one_attempt(TRICKLE, 1);
    assert!(
        e.message().contains("no complete answer"),
        "{}",
        e.message()
    );
    // The body would take about 10 s; the client stops at its 0.7 s timeout, not much later.
    assert!(
        started.elapsed() < TIMEOUT * 4,
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn links_retry_dropped_connections_and_stop_at_decode_errors() {
    let sb = sandbox();
    let c = builder(&sb)
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let dropped = c.pay_url(&[DROP]).unwrap_err();
    assert_eq!(
        (dropped.code(), dropped.attempts()),
        (ErrorCode::Connection, 4)
    );
    let truncated = c.pay_url(&[TRUNCATED]).unwrap_err();
    assert_eq!(
        (truncated.code(), truncated.attempts()),
        (ErrorCode::Decode, 1)
    );
    let trickled = builder(&sb)
        .timeout(Duration::from_millis(300))
        .max_retries(1)
        .build()
        .unwrap();
    let slow = trickled.pay_url(&[TRICKLE]).unwrap_err();
    assert_eq!((slow.code(), slow.attempts()), (ErrorCode::Timeout, 2));
    assert!(sb.stats().deductions.is_empty(), "links never deduct");
}

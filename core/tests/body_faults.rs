//! Faults at the body level beyond the behaviour table (`outcomes_table.rs` runs the dropped,
//! truncated, oversized and trickled bodies of tests/vectors/outcomes.json): a trickled body is
//! cut off at the client's total timeout, not after it has all arrived.

mod common;

use std::time::Instant;

use common::{TIMEOUT, assert_no_double_deduction, client, sandbox};
use dajisaas::ErrorCode;

const TRICKLE: &str = "9013000000000000001";

#[test]
fn trickled_body_ends_at_the_total_timeout() {
    let sb = sandbox();
    let started = Instant::now();
    let e = client(&sb).prepare_pay(TRICKLE).unwrap_err();
    assert_eq!(
        (e.code(), e.attempts()),
        (ErrorCode::PaymentOutcomeUnknown, 1),
        "{e}"
    );
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
    assert_no_double_deduction(&sb);
}

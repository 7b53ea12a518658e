//! The sandbox as a gateway: requests run to completion when the client goes away, an order is
//! never deducted twice, and the rate limit refuses calls past its budget.
//!
//! Most calls here are raw HTTP/1.1 over a TcpStream, signed by hand, so that what reaches the
//! sandbox is exactly what the test says (no retries, no client-side bookkeeping).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use dajisaas::{Client, ErrorCode, PAY_URL_PATH, PREPARE_PAY_PATH, Params};
use dajisaas_sandbox::{Chaos, DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig, Stats};
use serde_json::{Value, json};

const NORMAL: &str = "2257164624870311973";
const DEDUCT_THEN_HANG: &str = "9002000000000000001";
const DEDUCT_THEN_500: &str = "9003000000000000001";
const RATE_LIMITED: &str = "9005000000000000001";
const SLOW: &str = "9007000000000000001";
const UNAVAILABLE_ONCE: &str = "9009000000000000001";
const TRICKLE: &str = "9013000000000000001";

fn sandbox_with(f: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Sandbox {
    Sandbox::start(f(SandboxConfig {
        slow: Duration::from_millis(1000),
        hang: Duration::from_secs(5),
        ..SandboxConfig::default()
    }))
    .expect("sandbox starts")
}

/// What a raw call got back: `None` when no complete head arrived before `wait`.
struct Answer {
    status: u16,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

/// One signed request on a fresh connection; reads until the server closes or `wait` passes.
fn call(
    sb: &Sandbox,
    method: &str,
    path: &str,
    mut params: Params,
    wait: Duration,
) -> Option<Answer> {
    params.insert("appKey".into(), DEFAULT_APP_KEY.into());
    let sign = dajisaas::sign(&params, DEFAULT_APP_SECRET);
    params.insert("sign".into(), sign.into());
    let (target, body) = if method == "GET" {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().map(|(k, v)| (k, v.as_str().unwrap())))
            .finish();
        (format!("{path}?{query}"), String::new())
    } else {
        (path.to_string(), Value::Object(params).to_string())
    };
    let mut conn = TcpStream::connect(sb.addr()).unwrap();
    conn.set_read_timeout(Some(wait)).unwrap();
    write!(
        conn,
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        sb.addr(),
        body.len()
    )
    .unwrap();
    let mut raw = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some(Answer {
        status,
        body: body.to_string(),
    })
}

fn pay(sb: &Sandbox, order_id: &str) -> Option<Answer> {
    let params = json!({ "orderId": order_id });
    let Value::Object(params) = params else {
        unreachable!()
    };
    call(sb, "POST", PREPARE_PAY_PATH, params, Duration::from_secs(3))
}

fn echo(sb: &Sandbox) -> Answer {
    let params = json!({ "memo": "hi" });
    let Value::Object(params) = params else {
        unreachable!()
    };
    call(sb, "GET", "/alibaba/echo", params, Duration::from_secs(3)).expect("an answer")
}

fn deductions(stats: &Stats, id: &str) -> u32 {
    stats.deductions.get(id).copied().unwrap_or(0)
}

/// Polls the stats until `done` holds, for at most 5 s.
fn wait_for(sb: &Sandbox, done: impl Fn(&Stats) -> bool) -> Stats {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let stats = sb.stats();
        if done(&stats) || Instant::now() > deadline {
            return stats;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_request_the_client_abandons_still_deducts() {
    let sb = sandbox_with(|c| c);
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sb.url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = client.prepare_pay(SLOW).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{e}");
    // The client gave up and closed its connection before the slow order was acted on...
    assert_eq!(
        deductions(&sb.stats(), SLOW),
        0,
        "the slow delay has not passed"
    );
    // ...and the gateway finishes the payment all the same.
    let stats = wait_for(&sb, |s| deductions(s, SLOW) == 1);
    assert_eq!(deductions(&stats, SLOW), 1, "{stats:?}");
    assert_eq!(stats.pay_calls.get(SLOW), Some(&1));
}

#[test]
fn a_connection_closed_right_after_the_request_still_deducts() {
    let sb = sandbox_with(|c| c);
    let mut conn = TcpStream::connect(sb.addr()).unwrap();
    let mut params = Params::new();
    params.insert("appKey".into(), DEFAULT_APP_KEY.into());
    params.insert("orderId".into(), SLOW.into());
    let sign = dajisaas::sign(&params, DEFAULT_APP_SECRET);
    params.insert("sign".into(), sign.into());
    let body = Value::Object(params).to_string();
    write!(
        conn,
        "POST {PREPARE_PAY_PATH} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    // Wait until the sandbox has started on it, then hang up.
    wait_for(&sb, |s| s.pay_calls.contains_key(SLOW));
    drop(conn);
    let stats = wait_for(&sb, |s| deductions(s, SLOW) == 1 && s.in_flight == 0);
    assert_eq!(deductions(&stats, SLOW), 1, "{stats:?}");
    assert_eq!(stats.in_flight, 0);
}

#[test]
fn an_order_already_paid_is_declined_and_not_deducted_again() {
    let sb = sandbox_with(|c| c);
    let first = pay(&sb, NORMAL).unwrap().json();
    assert_eq!(first["data"]["success"], true, "{first}");
    for _ in 0..2 {
        let again = pay(&sb, NORMAL).unwrap();
        assert_eq!(again.status, 200);
        let again = again.json();
        assert_eq!(again["code"], 200, "{again}");
        assert_eq!(again["data"]["success"], false, "{again}");
        assert_eq!(again["data"]["code"], "ORDER_ALREADY_PAID");
        assert!(
            again["data"]["message"]
                .as_str()
                .unwrap()
                .contains("order already paid"),
            "{again}"
        );
    }
    let stats = sb.stats();
    assert_eq!(deductions(&stats, NORMAL), 1);
    assert_eq!(stats.pay_calls.get(NORMAL), Some(&3));
    assert_eq!(stats.pay_calls_after_paid, 2);
    assert_eq!(stats.pay_calls_after_paid_by_order.get(NORMAL), Some(&2));
    // Served as JSON in camelCase like the other counters.
    let served = serde_json::to_value(&stats).unwrap();
    assert_eq!(served["payCallsAfterPaid"], 2);
    assert_eq!(served["payCallsAfterPaidByOrder"][NORMAL], 2);
    assert_eq!(served["rateLimited"], 0);
}

#[test]
fn the_library_reports_a_second_payment_as_already_paid_after_one_request() {
    let sb = sandbox_with(|c| c);
    pay(&sb, NORMAL).unwrap();
    // Another journal (a new process): the gateway's "already paid" is the truth, never retried.
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sb.url())
        .journal("memory:second-process")
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap();
    let payment = client.prepare_pay(NORMAL).unwrap();
    assert!(payment.already_paid);
    assert_eq!(payment.attempts, 1);
    let stats = sb.stats();
    assert_eq!(deductions(&stats, NORMAL), 1);
    assert_eq!(
        stats.pay_calls_after_paid_by_order.get(NORMAL).copied(),
        Some(1)
    );
    let record = client.payment_record(NORMAL).unwrap().unwrap();
    assert_eq!(record.state, dajisaas::State::Paid);
}

#[test]
fn faulty_behaviours_that_deduct_go_through_the_same_check() {
    let sb = sandbox_with(|c| c);
    // 9003: deducted, then HTTP 500; the second call is declined with a proper answer.
    assert_eq!(pay(&sb, DEDUCT_THEN_500).unwrap().status, 500);
    let again = pay(&sb, DEDUCT_THEN_500).unwrap().json();
    assert_eq!(again["data"]["code"], "ORDER_ALREADY_PAID", "{again}");
    // 9013: deducted, then a trickle; abandoned after 200 ms, paid all the same.
    let params = json!({ "orderId": TRICKLE });
    let Value::Object(params) = params else {
        unreachable!()
    };
    call(
        &sb,
        "POST",
        PREPARE_PAY_PATH,
        params,
        Duration::from_millis(200),
    );
    assert_eq!(deductions(&sb.stats(), TRICKLE), 1);
    assert_eq!(
        pay(&sb, TRICKLE).unwrap().json()["data"]["code"],
        "ORDER_ALREADY_PAID"
    );
    // 9002: deducted at once, the answer held; a second call is declined without the hold.
    let held = thread::scope(|s| {
        let held = s.spawn(|| {
            let params = json!({ "orderId": DEDUCT_THEN_HANG });
            let Value::Object(params) = params else {
                unreachable!()
            };
            call(
                &sb,
                "POST",
                PREPARE_PAY_PATH,
                params,
                Duration::from_millis(300),
            )
        });
        let stats = wait_for(&sb, |s| deductions(s, DEDUCT_THEN_HANG) == 1);
        assert_eq!(
            deductions(&stats, DEDUCT_THEN_HANG),
            1,
            "deducted before the hold"
        );
        let started = Instant::now();
        let again = pay(&sb, DEDUCT_THEN_HANG).unwrap().json();
        assert_eq!(again["data"]["code"], "ORDER_ALREADY_PAID", "{again}");
        assert!(started.elapsed() < Duration::from_secs(2));
        held.join().unwrap()
    });
    assert!(held.is_none(), "the first answer is still held");
    // 9009: a 503 (nothing deducted) does not make the order paid.
    assert_eq!(pay(&sb, UNAVAILABLE_ONCE).unwrap().status, 503);
    assert_eq!(
        pay(&sb, UNAVAILABLE_ONCE).unwrap().json()["data"]["success"],
        true
    );
    let stats = sb.stats();
    assert!(stats.deductions.values().all(|n| *n == 1), "{stats:?}");
    assert_eq!(stats.pay_calls_after_paid, 3);
}

#[test]
fn concurrent_payments_of_a_slow_order_deduct_once() {
    let sb = sandbox_with(|c| c);
    let answers: Vec<Value> = thread::scope(|s| {
        let calls: Vec<_> = (0..4).map(|_| s.spawn(|| pay(&sb, SLOW))).collect();
        calls
            .into_iter()
            .map(|h| h.join().unwrap().unwrap().json())
            .collect()
    });
    let paid = answers
        .iter()
        .filter(|a| a["data"]["success"] == true)
        .count();
    assert_eq!(paid, 1, "{answers:?}");
    let stats = sb.stats();
    assert_eq!(deductions(&stats, SLOW), 1);
    assert_eq!(stats.pay_calls_after_paid, 3);
}

#[test]
fn chaos_never_deducts_twice_and_counts_every_call_after_paid() {
    let sb = sandbox_with(|c| SandboxConfig {
        chaos: Some(Chaos { seed: 7 }),
        ..c
    });
    let mut expected_after_paid = 0;
    for n in 0..40u64 {
        let id = (3_200_000_000_000_000_000u64 + n).to_string();
        for _ in 0..4 {
            // Whatever an abandoned call started has finished (a trickle's body aside).
            let stats = wait_for(&sb, |s| s.in_flight == 0);
            let paid_before = deductions(&stats, &id) == 1;
            let params = json!({ "orderId": id });
            let Value::Object(params) = params else {
                unreachable!()
            };
            // Short enough to give up on a trickle; the deduction comes before its first byte.
            call(
                &sb,
                "POST",
                PREPARE_PAY_PATH,
                params,
                Duration::from_millis(300),
            );
            expected_after_paid += u64::from(paid_before);
        }
    }
    let stats = wait_for(&sb, |s| s.in_flight == 0);
    assert!(stats.deductions.values().all(|n| *n == 1), "{stats:?}");
    assert!(
        expected_after_paid > 0,
        "some orders were paid and called again"
    );
    assert_eq!(stats.pay_calls_after_paid, expected_after_paid);
    assert_eq!(
        stats
            .pay_calls_after_paid_by_order
            .values()
            .map(|n| u64::from(*n))
            .sum::<u64>(),
        expected_after_paid
    );
}

#[test]
fn rate_limit_refuses_a_burst_past_its_budget() {
    let sb = sandbox_with(|c| SandboxConfig { qps: Some(20), ..c });
    let started = Instant::now();
    let answers: Vec<Value> = (0..60).map(|_| echo(&sb).json()).collect();
    let elapsed = started.elapsed().as_secs_f64();
    let refused: Vec<&Value> = answers.iter().filter(|a| a["code"] == 429).collect();
    assert!(!refused.is_empty(), "60 rapid calls with qps 20");
    let admitted = answers.len() - refused.len();
    assert!(
        admitted as f64 <= 20.0 + elapsed * 20.0 + 1.0,
        "{admitted} admitted in {elapsed:.3}s"
    );
    assert_eq!(sb.stats().rate_limited, refused.len() as u64);
    // The gateway's call-frequency refusal, as the 9005 behaviour answers it.
    let unlimited = sandbox_with(|c| c);
    let pattern = pay(&unlimited, RATE_LIMITED).unwrap().json();
    let limited = refused[0];
    assert_eq!(limited["code"], pattern["code"]);
    assert_eq!(limited["message"], pattern["message"]);
    assert!(
        limited["message"]
            .as_str()
            .unwrap()
            .contains("call frequency"),
        "{limited}"
    );
    assert_eq!(limited["data"], Value::Null);
    assert_eq!(
        unlimited.stats().rate_limited,
        0,
        "patterns are not counted"
    );
}

#[test]
fn rate_limit_lets_spaced_calls_through() {
    let sb = sandbox_with(|c| SandboxConfig { qps: Some(20), ..c });
    for _ in 0..25 {
        let answer = echo(&sb).json();
        assert_eq!(answer["code"], 200, "{answer}");
        thread::sleep(Duration::from_millis(70));
    }
    assert_eq!(sb.stats().rate_limited, 0);
}

#[test]
fn rate_limit_spares_the_sandbox_endpoints_and_skips_refused_calls_in_order_counts() {
    let sb = sandbox_with(|c| SandboxConfig { qps: Some(1), ..c });
    assert_eq!(echo(&sb).json()["code"], 200);
    let refused = pay(&sb, NORMAL).unwrap().json();
    assert_eq!(refused["code"], 429, "{refused}");
    for _ in 0..10 {
        let stats = call(
            &sb,
            "GET",
            "/_sandbox/stats",
            Params::new(),
            Duration::from_secs(3),
        )
        .expect("an answer");
        assert_eq!(stats.status, 200);
        assert_eq!(stats.json()["rateLimited"], 1);
    }
    let stats = sb.stats();
    assert!(
        stats.pay_calls.is_empty(),
        "refused before the order is read"
    );
    assert!(stats.deductions.is_empty());
    // Links are limited the same way.
    let params = json!({ "orderIdList": format!("[{NORMAL}]") });
    let Value::Object(params) = params else {
        unreachable!()
    };
    let link = call(&sb, "GET", PAY_URL_PATH, params, Duration::from_secs(3)).unwrap();
    assert_eq!(link.json()["code"], 429);
    // A reset refills the bucket.
    sb.reset();
    assert_eq!(echo(&sb).json()["code"], 200);
}

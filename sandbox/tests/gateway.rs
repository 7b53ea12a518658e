//! The sandbox as a gateway: requests run to completion when the client goes away.

use std::io::Write;
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use dajisaas::{Client, ErrorCode, PREPARE_PAY_PATH, Params};
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig, Stats};
use serde_json::Value;

const SLOW: &str = "9007000000000000001";

fn sandbox_with(f: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Sandbox {
    Sandbox::start(f(SandboxConfig {
        slow: Duration::from_millis(1000),
        hang: Duration::from_secs(5),
        ..SandboxConfig::default()
    }))
    .expect("sandbox starts")
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

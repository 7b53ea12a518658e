//! Failures before the request was written are "not sent": a connect that runs out of time,
//! whichever timeout ends it, and a request that cannot be built. Not-sent failures are retried
//! (payments too) and never reported as an unknown payment outcome.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use common::{builder, client, sandbox};
use dajisaas::{Client, ClientBuilder, ErrorCode, MAX_URL_BYTES, Method, Params};
use serde_json::json;

const NORMAL: &str = "2257164624870311973";

/// A listener that never accepts, with its accept queue full: Linux drops a further SYN, so a
/// connect to it stalls (nothing is ever written) until the client gives up.
struct FullListener {
    addr: SocketAddr,
    _listener: TcpListener,
    _queued: Vec<TcpStream>,
}

fn full_listener() -> FullListener {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .unwrap();
    let listener = rt.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        socket.listen(1).unwrap().into_std().unwrap()
    });
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..16 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(300)) {
            Ok(stream) => queued.push(stream),
            // The queue is full: this connect stalled.
            Err(_) => {
                return FullListener {
                    addr,
                    _listener: listener,
                    _queued: queued,
                };
            }
        }
    }
    panic!("the accept queue of a backlog-1 listener never filled");
}

fn stalled_client(full: &FullListener) -> ClientBuilder {
    Client::builder("k", "s")
        .journal(format!("memory:{}", full.addr))
        .base_url(format!("http://{}", full.addr))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
}

fn assert_not_sent_timeout(e: &dajisaas::Error, attempts: u32) {
    assert_eq!(e.code(), ErrorCode::Timeout, "{e}");
    assert_eq!(e.attempts(), attempts, "{e}");
    assert!(e.message().contains("could not connect"), "{e}");
    assert_eq!(e.http_status(), None);
}

#[test]
fn a_payment_whose_connect_stalls_past_the_total_timeout_is_not_sent_and_retried() {
    // timeout (400 ms) below the default connect timeout (10 s): the total timeout ends the
    // connect phase, and the payment is still known not to have been sent.
    let full = full_listener();
    let c = stalled_client(&full)
        .timeout(Duration::from_millis(400))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    assert_not_sent_timeout(&e, 4);
    assert!(e.message().contains("request timeout"), "{e}");
}

#[test]
fn equal_or_shorter_connect_timeouts_are_not_sent_too() {
    let full = full_listener();
    for connect in [400, 150] {
        let c = stalled_client(&full)
            .timeout(Duration::from_millis(400))
            .connect_timeout(Duration::from_millis(connect))
            .max_retries(1)
            .build()
            .unwrap();
        assert_not_sent_timeout(&c.prepare_pay(NORMAL).unwrap_err(), 2);
    }
}

#[test]
fn other_calls_whose_connect_stalls_are_not_sent() {
    let full = full_listener();
    let c = stalled_client(&full)
        .timeout(Duration::from_millis(300))
        .max_retries(1)
        .build()
        .unwrap();
    assert_not_sent_timeout(
        &c.request(Method::Post, "/x", Params::new()).unwrap_err(),
        2,
    );
    assert_not_sent_timeout(&c.pay_url(&[NORMAL]).unwrap_err(), 2);
}

fn params(v: serde_json::Value) -> Params {
    v.as_object().unwrap().clone()
}

#[test]
fn a_url_over_max_url_bytes_is_invalid_argument_and_nothing_is_sent() {
    let sb = sandbox();
    let c = client(&sb);
    // appKey, then the parameter, then a 32-character sign: only `q` has a variable length.
    let fixed = format!(
        "{}/x?appKey={}&q=&sign=",
        sb.url(),
        dajisaas_sandbox::DEFAULT_APP_KEY
    )
    .len()
        + 32;
    let longest = "a".repeat(MAX_URL_BYTES - fixed);

    let e = c
        .request(
            Method::Get,
            "/x",
            params(json!({ "q": format!("{longest}a") })),
        )
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(e.attempts(), 0);
    assert!(e.message().contains("MAX_URL_BYTES"), "{e}");
    assert!(e.message().contains(&MAX_URL_BYTES.to_string()), "{e}");
    assert_eq!(sb.stats().requests, 0);

    // A URL of exactly MAX_URL_BYTES is sent (the sandbox does not know the path).
    let e = c
        .request(Method::Get, "/x", params(json!({ "q": longest })))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::HttpStatus, "{e}");
    let sent = sb.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sb.url().len() + sent[0].uri.len(), MAX_URL_BYTES);
}

#[test]
fn a_payment_to_a_too_long_base_url_is_invalid_argument_and_nothing_is_sent() {
    let sb = sandbox();
    let c = builder(&sb)
        .base_url(format!("{}/{}", sb.url(), "p".repeat(70_000)))
        .build()
        .unwrap();
    let e = c.prepare_pay(NORMAL).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(e.attempts(), 0);
    assert!(e.message().contains("MAX_URL_BYTES"), "{e}");
    assert_eq!(sb.stats().requests, 0);
}

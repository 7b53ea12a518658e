//! Failures before the request was written are "not sent": a request that cannot be built is
//! refused before anything is sent.

mod common;

use common::{builder, client, sandbox};
use dajisaas::{ErrorCode, MAX_URL_BYTES, Method, Params};
use serde_json::json;

const NORMAL: &str = "2257164624870311973";

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

//! Redaction that never garbles: in signed mode the gateway's messages are shown as they are (the
//! secret never left the process); in the debug mode that sends the secret, whole occurrences of
//! it are masked, and that mode takes secrets of at least 8 characters.

mod common;

use std::time::Duration;

use common::Stub;
use dajisaas::{Client, ErrorCode};

fn client(stub: &Stub, secret: &str, debug: bool) -> dajisaas::Result<Client> {
    Client::builder("k", secret)
        .journal(format!("memory:{}", stub.url))
        .base_url(&stub.url)
        .timeout(Duration::from_secs(5))
        .max_retries(0)
        .dangerously_send_app_secret_instead_of_sign(debug)
        .build()
}

#[test]
fn signed_mode_shows_the_gateways_message_as_it_is() {
    let stub = Stub::start(
        200,
        r#"{"code":401,"message":"gateway refused the call: bad sign, see docs","traceId":"t"}"#,
    );
    let e = client(&stub, "s", false)
        .unwrap()
        .pay_url(&["1"])
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Api);
    assert_eq!(
        e.message(),
        "gateway refused the call (code 401): gateway refused the call: bad sign, see docs"
    );
}

#[test]
fn debug_mode_masks_whole_occurrences_of_the_secret_only() {
    let stub = Stub::start(
        200,
        r#"{"code":401,"message":"appSecret debugpass is wrong (debugpassword, xdebugpass); got \"debugpass\"","traceId":"t"}"#,
    );
    let e = client(&stub, "debugpass", true)
        .unwrap()
        .pay_url(&["1"])
        .unwrap_err();
    assert_eq!(
        e.message(),
        "gateway refused the call (code 401): appSecret *** is wrong (debugpassword, xdebugpass); \
         got \"***\""
    );
}

#[test]
fn debug_mode_refuses_secrets_shorter_than_8_characters_at_build_time() {
    let stub = Stub::start(200, r#"{"code":200,"data":{}}"#);
    let e = client(&stub, "short7c", true).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.message().contains("at least 8 characters"), "{e}");
    assert!(!e.message().contains("short7c"), "{e}");
    assert_eq!(stub.requests(), 0);
    client(&stub, "eight-ch", true).unwrap();
}

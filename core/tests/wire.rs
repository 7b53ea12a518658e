//! What the gateway sends, read leniently and losslessly: exact bodies from a stub server on
//! 127.0.0.1 (lone surrogates, `1e400`, 22-digit integers, broken bodies that still carry a
//! `traceId`, declines and refusals answered with HTTP 200).

mod common;

use std::time::Duration;

use common::Stub;
use dajisaas::{Client, ErrorCode, Method, Params};
use serde_json::Value;

fn client(stub: &Stub) -> Client {
    // A journal per stub: the tests pay the same order id from one process.
    Client::builder("k", "stub-secret-1")
        .journal(format!("memory:{}", stub.url))
        .base_url(&stub.url)
        .timeout(Duration::from_secs(5))
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
        .build()
        .unwrap()
}

const ORDER: &str = "2257164624870311973";

#[test]
fn a_paid_answer_with_a_lone_surrogate_in_its_message_is_paid() {
    let stub = Stub::start(
        200,
        r#"{"code":200,"message":"ok \ud83d","data":{"success":true,"message":"\udc00 x \ud83d\ude00","result":{"paySuccess":true,"payChannel":"alipay"}},"traceId":"tr-surrogate"}"#,
    );
    let payment = client(&stub).prepare_pay(ORDER).unwrap();
    assert_eq!(payment.trace_id.as_deref(), Some("tr-surrogate"));
    assert_eq!(payment.pay_channel.as_deref(), Some("alipay"));
    assert_eq!(payment.data["message"], "\u{FFFD} x 😀");
    assert_eq!(stub.requests(), 1);
}

#[test]
fn numbers_of_any_size_keep_their_text() {
    let stub = Stub::start(
        200,
        r#"{"code":200,"data":{"payUrl":"https://cashier.example/x","success":true,"huge":1e400,"tiny":-1e-400,"id":12345678901234567890123,"neg":-98765432109876543210,"price":0.1000000000000000000001,"list":[1E+2,2257455039610311973]},"traceId":"tr-num"}"#,
    );
    let c = client(&stub);
    let link = c.pay_url(&["2257455039610311973"]).unwrap();
    assert_eq!(link.trace_id.as_deref(), Some("tr-num"));
    let text = |v: &Value| v.to_string();
    assert_eq!(text(&link.data["huge"]), "1e400");
    assert_eq!(text(&link.data["tiny"]), "-1e-400");
    assert_eq!(text(&link.data["id"]), "12345678901234567890123");
    assert_eq!(text(&link.data["neg"]), "-98765432109876543210");
    assert_eq!(text(&link.data["price"]), "0.1000000000000000000001");
    assert_eq!(text(&link.data["list"]), "[1E+2,2257455039610311973]");
    assert_eq!(link.data["list"][1].as_u64(), Some(2257455039610311973));
    // The JSON every language's JSON output uses (C, daji --json) keeps the digits.
    let shown = link.to_json().to_string();
    assert!(shown.contains(r#""id":12345678901234567890123"#), "{shown}");
    // The generic call returns the same `data`.
    let data = c.request(Method::Get, "/any", Params::new()).unwrap();
    assert_eq!(text(&data["huge"]), "1e400");
}

#[test]
fn a_decline_answered_with_http_200_reports_http_200() {
    let stub = Stub::start(
        200,
        r#"{"code":200,"message":"ok","data":{"success":false,"code":"NO_MONEY","message":"余额不足"},"traceId":"tr-declined"}"#,
    );
    let e = client(&stub).prepare_pay(ORDER).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentDeclined, "{e}");
    assert_eq!(e.http_status(), Some(200));
    assert_eq!(e.trace_id(), Some("tr-declined"));
    assert_eq!(e.attempts(), 4);
    assert!(e.message().contains("余额不足"), "{e}");
    assert_eq!(e.to_json()["httpStatus"], 200);
}

#[test]
fn a_link_refused_in_data_or_unconfirmed_payment_reports_the_http_status() {
    let refused = Stub::start(
        200,
        r#"{"code":200,"data":{"success":false,"errorCode":"E1","erroMsg":"no"},"traceId":"tr-refused"}"#,
    );
    let e = client(&refused)
        .pay_url(&["2257455039610311973"])
        .unwrap_err();
    assert_eq!(
        (e.code(), e.http_status(), e.trace_id()),
        (ErrorCode::Api, Some(200), Some("tr-refused"))
    );
    let unconfirmed = Stub::start(
        200,
        r#"{"code":200,"data":{"success":true,"result":{"paySuccess":false}},"traceId":"tr-u"}"#,
    );
    let e = client(&unconfirmed).prepare_pay(ORDER).unwrap_err();
    assert_eq!(
        (e.code(), e.http_status(), e.attempts()),
        (ErrorCode::PaymentOutcomeUnknown, Some(200), 1)
    );
    // An error made before anything was answered has no HTTP status.
    let nobody = Client::builder("k", "stub-secret-1")
        .journal("memory:nobody")
        .base_url("http://127.0.0.1:9")
        .max_retries(0)
        .build()
        .unwrap();
    let e = nobody.prepare_pay(ORDER).unwrap_err();
    assert_eq!((e.code(), e.http_status()), (ErrorCode::Connection, None));
}

#[test]
fn a_broken_body_still_gives_its_trace_id_and_code() {
    // `data` is broken (an unquoted word), the traceId comes after it.
    let stub = Stub::start(
        200,
        r#"{"code":200,"message":"ok","data":{"success":true,"result":oops},"traceId":"tr-broken"}"#,
    );
    let e = client(&stub).prepare_pay(ORDER).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown, "{e}");
    assert_eq!(e.trace_id(), Some("tr-broken"));
    assert_eq!(e.http_status(), Some(200));
    assert_eq!(e.attempts(), 1);
    // A 5xx whose body is cut short: its traceId and envelope code are kept.
    let cut = Stub::start(
        502,
        r#"{"traceId":"tr-cut","code":"503","message":"upstream","data":{"x":"#,
    );
    let e = client(&cut).pay_url(&["2257455039610311973"]).unwrap_err();
    assert_eq!(
        (e.code(), e.http_status(), e.api_code(), e.trace_id()),
        (ErrorCode::HttpStatus, Some(502), Some(503), Some("tr-cut"))
    );
}

#[test]
fn numbers_are_sent_as_they_are_signed_and_the_gateway_accepts_the_signature() {
    let sb = common::sandbox();
    let c = common::client(&sb);
    let text =
        r#"{"x":12345678901234567890123,"f":1.0,"g":[1e-7,0.00001,1e21,-0.0],"h":{"n":2.50}}"#;
    let params = dajisaas::parse_params(text).unwrap();
    assert_eq!(
        dajisaas::canonical_string(&params),
        r#"f=1&g=[1e-7,0.00001,1e+21,0]&h={"n":2.5}&x=12345678901234567890123"#
    );
    // The sandbox checks the signature against what it received: a mismatch would be `api`.
    c.request(Method::Post, "/alibaba/order/preview", params.clone())
        .unwrap();
    c.request(Method::Get, "/alibaba/product/search", params)
        .unwrap();
    let sent = sb.requests();
    assert!(
        sent[0].body.contains(
            r#""x":12345678901234567890123,"f":1,"g":[1e-7,0.00001,1e+21,0],"h":{"n":2.5}"#
        ),
        "{}",
        sent[0].body
    );
    assert!(
        sent[1]
            .uri
            .contains("x=12345678901234567890123&f=1&g=%5B1e-7%2C0.00001%2C1e%2B21%2C0%5D"),
        "{}",
        sent[1].uri
    );
    // A float beyond a double's range cannot be signed: refused before sending.
    let e = dajisaas::parse_params(r#"{"x":1e400}"#).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(sb.requests().len(), 2);
}

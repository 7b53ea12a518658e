//! The generic signed call, the async client, and the secret staying out of everything.

mod common;

use std::time::Duration;

use common::{builder, client, sandbox};
use dajisaas::{Client, ErrorCode, Method};
use dajisaas_sandbox::DEFAULT_APP_SECRET;
use serde_json::json;

#[test]
fn get_request_is_signed_in_the_query() {
    let sb = sandbox();
    let params = json!({"keyword": "女装 & 连衣裙", "page": 2, "filters": ["a", 1], "none": null});
    let data = client(&sb)
        .request(
            Method::Get,
            "/alibaba/product/keywordQuery",
            params.as_object().unwrap().clone(),
        )
        .unwrap();
    assert_eq!(data["method"], "GET");
    assert_eq!(data["params"]["keyword"], "女装 & 连衣裙");
    assert_eq!(data["params"]["page"], "2");
    assert_eq!(data["params"]["filters"], "[\"a\",1]");
    assert!(
        data["params"].get("none").is_none(),
        "top-level nulls are not sent in a query"
    );
}

#[test]
fn post_request_is_signed_in_the_body() {
    let sb = sandbox();
    let params = json!({"cargo": [{"offerId": 1, "qty": 2}], "flag": true, "memo": "a=b&c"});
    let data = client(&sb)
        .request(
            Method::Post,
            "/alibaba/order/preview",
            params.as_object().unwrap().clone(),
        )
        .unwrap();
    assert_eq!(data["params"]["cargo"], json!([{"offerId": 1, "qty": 2}]));
    assert_eq!(data["params"]["flag"], true);
    let body = &sb.requests()[0].body;
    assert!(
        body.starts_with(r#"{"appKey":"sandbox-app-key","cargo":[{"offerId":1,"qty":2}]"#),
        "{body}"
    );
}

#[test]
fn wrong_secret_is_an_api_error_with_trace_id() {
    let sb = sandbox();
    let c = Client::builder(dajisaas_sandbox::DEFAULT_APP_KEY, "not-the-secret")
        .base_url(sb.url())
        .build()
        .unwrap();
    let e = c.pay_url(&["1"]).unwrap_err();
    assert_eq!(
        (e.code(), e.api_code(), e.attempts()),
        (ErrorCode::Api, Some(401), 1)
    );
    assert!(e.message().contains("签名错误"), "{}", e.message());
    assert!(e.trace_id().is_some());
}

#[test]
fn unknown_path_is_an_http_status_error() {
    let sb = sandbox();
    let e = client(&sb)
        .request(Method::Get, "/nowhere", Default::default())
        .unwrap_err();
    assert_eq!(
        (e.code(), e.http_status()),
        (ErrorCode::HttpStatus, Some(404))
    );
}

#[test]
fn post_requests_are_not_retried_after_sending() {
    let sb = sandbox();
    // A POST to an unknown endpoint answering 5xx must not be repeated: it might create an order.
    let e = client(&sb)
        .request(Method::Post, "/alibaba/alipay/url/get", Default::default())
        .unwrap_err();
    assert_eq!((e.code(), e.attempts()), (ErrorCode::HttpStatus, 1));
}

#[test]
fn the_secret_is_never_sent_in_signed_mode() {
    let sb = sandbox();
    let c = client(&sb);
    c.pay_url(&["1", "2"]).unwrap();
    c.prepare_pay("3").unwrap();
    c.request(Method::Post, "/alibaba/x", Default::default())
        .unwrap();
    let stats = sb.stats();
    assert_eq!((stats.requests, stats.requests_with_secret), (3, 0));
    for r in sb.requests() {
        assert!(!r.uri.contains(DEFAULT_APP_SECRET) && !r.body.contains(DEFAULT_APP_SECRET));
        assert!(
            r.uri.contains("sign=") || r.body.contains("\"sign\":"),
            "{r:?}"
        );
    }
}

#[test]
fn debug_mode_sends_the_secret_instead_of_sign() {
    let sb = sandbox();
    let c = builder(&sb)
        .dangerously_send_app_secret_instead_of_sign(true)
        .build()
        .unwrap();
    c.pay_url(&["1"]).unwrap();
    c.prepare_pay("2").unwrap();
    assert_eq!(
        sb.stats().requests_with_secret,
        2,
        "the sandbox's secret check can see leaks"
    );
}

#[test]
fn the_secret_is_absent_from_debug_output_and_errors() {
    let sb = sandbox();
    let c = client(&sb);
    let mut shown = vec![
        format!("{c:?}"),
        format!("{:?}", c.to_async()),
        format!("{:?}", c.config()),
    ];
    for id in ["9000000000000000001", "9004000000000000001", "x"] {
        let e = c.prepare_pay(id).unwrap_err();
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    let bad = Client::builder("k", DEFAULT_APP_SECRET)
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    shown.push(bad.pay_url(&["1"]).unwrap_err().to_string());
    for text in shown {
        assert!(
            !text.contains(DEFAULT_APP_SECRET),
            "secret leaked in {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_client_works_inside_a_runtime_and_overlaps_calls() {
    let sb = common::sandbox_with(|c| c.with_latency(Duration::from_millis(100)));
    let c = builder(&sb).build_async().unwrap();
    let calls = (0..16).map(|n| c.pay_url(vec![(n + 1).to_string()]));
    let links = futures_util::future::join_all(calls).await;
    assert!(links.iter().all(Result::is_ok));
    assert!(
        sb.stats().peak_in_flight >= 8,
        "peak {}",
        sb.stats().peak_in_flight
    );
    let payment = c.prepare_pay("2257164624870311973".into()).await.unwrap();
    assert_eq!(payment.attempts, 1);
}

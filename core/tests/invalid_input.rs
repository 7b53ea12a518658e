//! Every bad input is an `invalid_argument` naming the problem, and nothing reaches the gateway.

mod common;

use std::time::Duration;

use common::{builder, client, sandbox};
use dajisaas::{Client, ErrorCode, Method, Params};
use serde_json::json;

fn assert_invalid<T: std::fmt::Debug>(result: dajisaas::Result<T>, needle: &str) {
    let e = result.expect_err("should be rejected");
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(e.attempts(), 0);
    assert!(
        e.message().contains(needle),
        "{:?} should mention {needle:?}",
        e.message()
    );
}

#[test]
fn bad_order_ids_are_rejected_before_sending() {
    let sb = sandbox();
    let c = client(&sb);
    let thirty_one: Vec<String> = (1..=31).map(|n| n.to_string()).collect();
    assert_invalid(c.pay_url::<&str>(&[]), "empty");
    assert_invalid(c.pay_url(&thirty_one), "31 ids");
    assert_invalid(
        c.pay_url(&[" 2257455039610311973"]),
        "orderIds[0] \" 2257455039610311973\" has surrounding whitespace",
    );
    assert_invalid(c.pay_url(&["1", "2257455039610311973\n"]), "orderIds[1]");
    assert_invalid(c.pay_url(&["12a"]), "only the digits");
    assert_invalid(c.pay_url(&["-1"]), "only the digits");
    assert_invalid(c.pay_url(&["1.5"]), "only the digits");
    assert_invalid(c.pay_url(&[""]), "is empty");
    assert_invalid(c.pay_url(&["22574550396103119730"]), "20 digits");
    assert_invalid(c.pay_url(&["9223372036854775808"]), "larger than");
    assert_invalid(c.pay_url(&["0123"]), "start with 0");
    assert_invalid(c.pay_url(&["1\u{0}2"]), "only the digits");
    assert_invalid(c.pay_url(&["５"]), "only the digits"); // a full-width digit
    assert_invalid(
        c.pay_url(&["5", "6", "5"]),
        "orderIds[2] \"5\" is a duplicate",
    );
    assert_invalid(c.pay_urls::<&str>(&[], 10), "empty");
    assert_invalid(c.pay_urls(&["1"], 0), "batch_size is 0");
    assert_invalid(c.pay_urls(&["1"], 31), "batch_size is 31");
    assert_invalid(c.pay_urls(&["1", "x"], 10), "orderIds[1]");
    assert_invalid(c.prepare_pay(""), "orderId \"\" is empty");
    assert_invalid(c.prepare_pay("abc"), "only the digits");
    assert_invalid(c.prepare_pay("1 "), "whitespace");
    assert_invalid(c.prepare_pay(&"9".repeat(100_000)), "100000 digits");
    assert_eq!(sb.stats().requests, 0, "nothing may be sent for bad input");
}

#[test]
fn bad_generic_requests_are_rejected_before_sending() {
    let sb = sandbox();
    let c = client(&sb);
    let empty = Params::new;
    assert_invalid(Method::parse("DELETE"), "GET or POST");
    assert_invalid(
        c.request(Method::Get, "alibaba/x", empty()),
        "absolute path",
    );
    assert_invalid(
        c.request(Method::Get, "/alibaba/x?y=1", empty()),
        "without query",
    );
    assert_invalid(
        c.request(Method::Get, "/alibaba/../x", empty()),
        ". or .. segment",
    );
    assert_invalid(
        c.request(Method::Get, "//evil.example/x", empty()),
        "absolute path",
    );
    for reserved in ["appKey", "sign", "appSecret"] {
        let params = json!({ reserved: "x" }).as_object().unwrap().clone();
        assert_invalid(
            c.request(Method::Post, "/alibaba/x", params),
            "set by the client",
        );
    }
    assert_invalid(dajisaas::parse_params("[1,2]"), "must be a JSON object");
    assert_invalid(dajisaas::parse_params("{\"a\":"), "not valid JSON");
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn bad_configuration_is_rejected() {
    let sb = sandbox();
    assert_invalid(Client::builder("", "s").build(), "app_key is empty");
    assert_invalid(Client::builder(" \t", "s").build(), "app_key is empty");
    assert_invalid(Client::builder("k ", "s").build(), "whitespace");
    assert_invalid(Client::builder("k", "").build(), "app_secret is empty");
    assert_invalid(
        builder(&sb).max_retries(4).build(),
        "max_retries must be a whole number from 0 to 3, not 4",
    );
    assert_invalid(
        builder(&sb)
            .backoff(Duration::from_secs(1), Duration::from_secs(5000))
            .build(),
        "backoff_cap_ms must be a whole number from 0 to 60000 (milliseconds), not 5000000",
    );
    assert_invalid(
        builder(&sb).timeout(Duration::from_secs(3600)).build(),
        "timeout_ms must be a whole number from 1 to 600000",
    );
    assert_invalid(
        builder(&sb).base_url("http://10.0.0.1").build(),
        "plain http",
    );
    assert_invalid(
        builder(&sb).base_url("https://user:pw@example.com").build(),
        "credentials",
    );
    assert_invalid(
        builder(&sb).base_url("https://example.com#frag").build(),
        "fragment",
    );
    assert_invalid(
        builder(&sb).base_url("https://example.com?x=1").build(),
        "query",
    );
    assert_invalid(
        builder(&sb).max_concurrent_batches(0).build(),
        "max_concurrent_batches must be a whole number from 1 to 16, not 0",
    );
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn blocking_client_refuses_to_run_inside_an_async_runtime() {
    let sb = sandbox();
    let c = client(&sb);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let result = rt.block_on(async { c.pay_url(&["1"]) });
    assert_invalid(result, "use AsyncClient");
    assert_eq!(sb.stats().requests, 0);
}

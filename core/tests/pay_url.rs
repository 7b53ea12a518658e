//! Payment links against the sandbox: single, batch, many batches, the comma-separated format,
//! and a slow link under a short timeout. What each sandbox pattern makes of a link (retries,
//! error codes) is in the behaviour table that `outcomes_table.rs` runs.

mod common;

use std::time::Duration;

use common::{builder, client, sandbox, sandbox_with};
use dajisaas::{ErrorCode, OrderIdFormat};

#[test]
fn one_order_gets_a_1688_cashier_link() {
    let sb = sandbox();
    let link = client(&sb).pay_url(&["2257455039610311973"]).unwrap();
    assert_eq!(
        link.url,
        "https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973"
    );
    assert_eq!(link.order_ids, ["2257455039610311973"]);
    assert_eq!(link.attempts, 1);
    assert!(link.trace_id.is_some());
    assert_eq!(link.data["success"], true);
    let sent = &sb.requests()[0].uri;
    assert!(
        sent.contains("orderIdList=%5B2257455039610311973%5D"),
        "{sent}"
    );
}

#[test]
fn several_orders_get_one_alipay_link_as_a_json_array() {
    let sb = sandbox();
    let ids = ["2257455039610311973", "2257455039610311974"];
    let link = client(&sb).pay_url(&ids).unwrap();
    assert!(
        link.url.starts_with("https://cashier.alipay.com/"),
        "{}",
        link.url
    );
    assert!(
        link.url
            .ends_with("2257455039610311973,2257455039610311974")
    );
    let sent = &sb.requests()[0].uri;
    assert!(
        sent.contains("%5B2257455039610311973%2C2257455039610311974%5D"),
        "{sent}"
    );
}

#[test]
fn comma_separated_fallback_is_sent_as_such() {
    let sb = sandbox();
    let c = builder(&sb)
        .order_id_format(OrderIdFormat::CommaSeparated)
        .build()
        .unwrap();
    c.pay_url(&["11", "12"]).unwrap();
    assert!(
        sb.requests()[0].uri.contains("orderIdList=11%2C12&"),
        "{}",
        sb.requests()[0].uri
    );
}

#[test]
fn pay_urls_splits_95_ids_into_10_ordered_links() {
    let sb = sandbox_with(|c| c.with_latency(Duration::from_millis(30)));
    let mut ids: Vec<String> = (0..95)
        .map(|n| (3_000_000_000_000_000_000u64 - n * 7).to_string())
        .collect();
    ids.insert(50, ids[3].clone()); // a repeat is dropped, the first occurrence kept
    let links = client(&sb).pay_urls(&ids, 10).unwrap();
    assert_eq!(links.len(), 10);
    let returned: Vec<String> = links.iter().flat_map(|l| l.order_ids.clone()).collect();
    let mut expected = ids.clone();
    expected.remove(50);
    assert_eq!(returned, expected);
    assert!(links[..9].iter().all(|l| l.order_ids.len() == 10));
    assert_eq!(links[9].order_ids.len(), 5);
    for link in &links {
        assert!(
            link.url.ends_with(&link.order_ids.join(",")),
            "{}",
            link.url
        );
    }
    let peak = sb.stats().peak_in_flight;
    assert!((2..=4).contains(&peak), "bounded concurrency, peak {peak}");
}

#[test]
fn pay_urls_error_names_the_failed_batch() {
    let sb = sandbox();
    let mut ids: Vec<String> = (1..=25).map(|n| n.to_string()).collect();
    ids[22] = "9000000000000000001".into(); // declined: in batch 3 of 3
    let e = client(&sb).pay_urls(&ids, 10).unwrap_err();
    assert_eq!(e.code(), ErrorCode::Api);
    assert!(
        e.message()
            .starts_with("batch 3 of 3 (starting at order 21)"),
        "{}",
        e.message()
    );
    assert!(
        e.message().contains("ORDER_STATUS_ERROR"),
        "{}",
        e.message()
    );
}

#[test]
fn slow_links_time_out_after_retries() {
    let sb = sandbox();
    let c = builder(&sb).max_retries(1).build().unwrap();
    let e = c.pay_url(&["9007000000000000001"]).unwrap_err();
    assert_eq!((e.code(), e.attempts()), (ErrorCode::Timeout, 2));
    assert_eq!(sb.stats().link_calls["9007000000000000001"], 2);
}

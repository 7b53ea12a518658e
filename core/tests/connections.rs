//! Bounded sockets: a client never has more than `max_connections` requests in flight (the
//! sandbox counts its peak); calls beyond the cap wait their turn, and the wait is not part of
//! their timeout.

mod common;

use std::time::{Duration, Instant};

use common::{builder, sandbox_with};
use dajisaas::{Casing, Method, Params};

/// `n` calls at once from one client (each `pay_url` of its own order), on `threads` threads.
fn concurrent_links(client: &dajisaas::Client, n: usize) -> Vec<dajisaas::Result<u32>> {
    std::thread::scope(|scope| {
        let calls: Vec<_> = (0..n)
            .map(|i| {
                let client = client.clone();
                scope.spawn(move || {
                    client
                        .pay_url(&[(1_000_000 + i).to_string()])
                        .map(|l| l.attempts)
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().unwrap()).collect()
    })
}

#[test]
fn many_concurrent_calls_never_exceed_the_cap() {
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig {
        latency: Duration::from_millis(20),
        ..c
    });
    let client = builder(&sb)
        .max_connections(8)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert_eq!(client.config().to_json(Casing::Snake)["max_connections"], 8);
    let results = concurrent_links(&client, 200);
    assert!(results.iter().all(|r| matches!(r, Ok(1))), "{results:?}");
    let stats = sb.stats();
    assert_eq!(stats.requests, 200);
    assert!(stats.peak_in_flight <= 8, "peak {}", stats.peak_in_flight);
    assert!(stats.peak_in_flight >= 2, "peak {}", stats.peak_in_flight);
}

#[test]
fn waiting_for_a_connection_is_not_part_of_the_timeout() {
    // 12 calls of 150 ms through 2 connections take about 900 ms, three times the 300 ms timeout.
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig {
        latency: Duration::from_millis(150),
        ..c
    });
    let client = builder(&sb)
        .max_connections(2)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = Instant::now();
    let results = concurrent_links(&client, 12);
    assert!(results.iter().all(|r| matches!(r, Ok(1))), "{results:?}");
    assert!(started.elapsed() >= Duration::from_millis(800));
    let stats = sb.stats();
    assert_eq!((stats.requests, stats.peak_in_flight), (12, 2));
}

#[test]
fn the_cap_is_per_client_and_async_calls_share_it() {
    let sb = sandbox_with(|c| dajisaas_sandbox::SandboxConfig {
        latency: Duration::from_millis(50),
        ..c
    });
    let one = builder(&sb).max_connections(3).build().unwrap();
    let other = builder(&sb).max_connections(3).build().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (a, b) = (one.to_async(), other.to_async());
        let calls = (0..10).flat_map(|_| {
            [
                a.request(Method::Get, "/alibaba/product/search".into(), Params::new()),
                b.request(Method::Get, "/alibaba/product/search".into(), Params::new()),
            ]
        });
        for result in futures_util::future::join_all(calls).await {
            result.unwrap();
        }
    });
    let stats = sb.stats();
    assert_eq!(stats.requests, 20);
    assert!(stats.peak_in_flight <= 6, "peak {}", stats.peak_in_flight);
    assert!(stats.peak_in_flight >= 4, "peak {}", stats.peak_in_flight);
}

#[test]
fn max_connections_defaults_to_64_and_takes_1_to_1024() {
    let sb = sandbox_with(|c| c);
    let shown = |b: dajisaas::ClientBuilder| {
        b.build()
            .map(|c| c.config().to_json(Casing::Snake)["max_connections"].clone())
    };
    assert_eq!(shown(builder(&sb)).unwrap(), 64);
    assert_eq!(shown(builder(&sb).max_connections(1)).unwrap(), 1);
    assert_eq!(shown(builder(&sb).max_connections(1024)).unwrap(), 1024);
    for bad in [0, 1025] {
        let e = shown(builder(&sb).max_connections(bad)).unwrap_err();
        assert_eq!(
            e.message(),
            format!("max_connections must be a whole number from 1 to 1024, not {bad}")
        );
    }
}

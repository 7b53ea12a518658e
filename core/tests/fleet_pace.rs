//! The fleet's pace (issue 24): clients that share a SQLite journal share one pace, so that
//! together they keep to the gateway's per-app limit; clients with memory journals pace only
//! themselves. Two clients, each on its own connection to the store as two processes would be,
//! against the sandbox limiting the app to 10 calls a second.

mod common;

use std::time::Duration;

use dajisaas::{Client, PaymentOutcome};
use dajisaas_sandbox::{Sandbox, SandboxConfig};

use common::{assert_no_double_deduction, builder, sandbox_with};

const LIMIT: u32 = 10;
const ORDERS: usize = 20;
const NORMAL: &str = "2257164624870312001";

/// Two clients of `journal(i)` pay 20 orders each at once with `max_calls_per_second` 10;
/// returns the sandbox's refusals for call frequency.
fn two_clients_pay(sb: &Sandbox, journal: impl Fn(usize) -> String) -> u64 {
    let clients: Vec<Client> = (0..2)
        .map(|i| {
            builder(sb)
                .journal(journal(i))
                .max_calls_per_second(LIMIT)
                // A refusal is retried late enough to be admitted: only refusals count here.
                .backoff(Duration::from_millis(500), Duration::from_millis(2000))
                .build()
                .unwrap()
        })
        .collect();
    std::thread::scope(|s| {
        for (i, client) in clients.iter().enumerate() {
            s.spawn(move || {
                let ids: Vec<String> = (0..ORDERS)
                    .map(|n| format!("22571646248{i}{n:07}"))
                    .collect();
                let report = client.pay_many(&ids, 4).unwrap();
                assert_eq!(
                    report.summary.count(PaymentOutcome::Paid),
                    ORDERS,
                    "{report:?}"
                );
            });
        }
    });
    assert_no_double_deduction(sb);
    sb.stats().rate_limited
}

#[test]
fn clients_sharing_a_sqlite_journal_keep_to_the_limit_together() {
    let dir = std::env::temp_dir().join(format!("dajisaas-fleet-pace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("payments.db").display());
    let sb = sandbox_with(|c| SandboxConfig {
        qps: Some(LIMIT),
        ..c
    });
    let shared = two_clients_pay(&sb, |_| url.clone());
    // Each pacing only itself, the two send twice the limit (the contrast: the same test
    // with the per-process pace).
    let alone = sandbox_with(|c| SandboxConfig {
        qps: Some(LIMIT),
        ..c
    });
    let own = two_clients_pay(&alone, |i| format!("memory:alone-{i}"));
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "refused for their frequency: {shared} with the shared pace, {own} with a pace per client"
    );
    assert!(shared <= 1, "{shared} calls refused with the shared pace");
    assert!(
        own >= 5,
        "{own} calls refused with a pace per client: the contrast failed"
    );
}

/// A store that cannot answer (its file locked by another process) leaves each call to the
/// client's own pace after the journal's deadline: calls go on, never faster than the
/// configured limit, none waits much past the deadline; once the store answers again, calls
/// take their slots from it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_keep_their_own_pace_while_the_store_cannot_answer() {
    let dir = std::env::temp_dir().join(format!("dajisaas-fleet-stuck-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("payments.db").display());
    let sb = sandbox_with(|c| SandboxConfig {
        qps: Some(LIMIT),
        ..c
    });
    let deadline = Duration::from_millis(300);
    let client = builder(&sb)
        .journal(url.clone())
        .journal_timeout(deadline)
        .max_calls_per_second(LIMIT)
        .max_retries(0)
        .build_async()
        .unwrap();
    let store = dajisaas::open_journal(&url).unwrap();
    let scope = client.config().journal_scope();
    let pace = store
        .pace()
        .expect("a SQLite journal keeps the fleet's pace");
    client.pay_url(vec![NORMAL.into()]).await.unwrap();
    assert!(
        pace.read_pace(&scope).await.unwrap().is_some(),
        "the call took a slot"
    );
    let locker = rusqlite::Connection::open(dir.join("payments.db")).unwrap();
    locker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move {
                let mut slowest = Duration::ZERO;
                for _ in 0..6 {
                    let started = std::time::Instant::now();
                    client.pay_url(vec![NORMAL.into()]).await.unwrap();
                    slowest = slowest.max(started.elapsed());
                }
                slowest
            })
        })
        .collect();
    let mut slowest = Duration::ZERO;
    for task in tasks {
        slowest = slowest.max(task.await.unwrap());
    }
    locker.execute_batch("ROLLBACK").unwrap();
    // Never faster than the limit: the gateway refused none of the 24 calls.
    assert_eq!(sb.stats().rate_limited, 0);
    // A call waits for the store at most its deadline, then for its own slot (four callers at
    // ten a second: about 400 ms): a hang bound, generous for a loaded machine.
    assert!(slowest < Duration::from_secs(7), "{slowest:?}");
    // The store answers again: the next call is counted in it.
    let before = pace.read_pace(&scope).await.unwrap().unwrap();
    client.pay_url(vec![NORMAL.into()]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.pay_url(vec![NORMAL.into()]).await.unwrap();
    let after = pace.read_pace(&scope).await.unwrap().unwrap();
    let count = |r: &dajisaas::PaceRow| r.window.started + r.previous.started;
    assert!(count(&after) > 0 && after != before, "{before:?} {after:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

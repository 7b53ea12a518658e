//! The gateway's word on an order ends its payment truthfully (issue 19), journals are scoped
//! to their gateway and app, and a payment whose claim is lost or whose caller gave up before
//! anything was written sends nothing (issue 20). Against the sandbox on 127.0.0.1 and real
//! SQLite files.

mod common;

use std::time::Duration;

use dajisaas::{Client, ErrorCode, PaymentOutcome, State};
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

use common::{builder, sandbox, sandbox_with};

const NORMAL: &str = "2257164624870312001";
const CLOSED: &str = "9015000000000000101";
const NOT_FOUND: &str = "9016000000000000101";
const PAID_ELSEWHERE: &str = "9017000000000000101";
const DECLINED: &str = "9000000000000000101";

fn temp_db(name: &str) -> (std::path::PathBuf, String) {
    let dir = std::env::temp_dir().join(format!(
        "dajisaas-word-{name}-{}-{}",
        std::process::id(),
        fastrand::u32(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("payments.db").display());
    (dir, url)
}

#[test]
fn an_order_paid_before_is_reported_paid_after_one_request_and_journaled_paid() {
    let sb = sandbox();
    // The first process pays it.
    builder(&sb).build().unwrap().prepare_pay(NORMAL).unwrap();
    // A second process, with a journal of its own (a cron job's next run).
    let second = builder(&sb)
        .journal("memory:the-next-night")
        .build()
        .unwrap();
    let payment = second.prepare_pay(NORMAL).unwrap();
    assert!(payment.already_paid, "{payment:?}");
    assert!(!payment.replayed);
    assert_eq!(payment.attempts, 1);
    let stats = sb.stats();
    assert_eq!(stats.deductions.get(NORMAL), Some(&1));
    assert_eq!(stats.pay_calls_after_paid_by_order.get(NORMAL), Some(&1));
    let record = second.payment_record(NORMAL).unwrap().unwrap();
    assert_eq!(record.state, State::Paid);
    assert!(record.message.unwrap().contains("already paid"));
    // Asked again, the journal answers: no request, still already paid.
    let again = second.prepare_pay(NORMAL).unwrap();
    assert!(again.replayed && again.already_paid, "{again:?}");
    assert_eq!(sb.stats().pay_calls.get(NORMAL), Some(&2));
}

#[test]
fn a_message_alone_that_says_already_paid_is_recognised() {
    let sb = sandbox();
    let client = builder(&sb).build().unwrap();
    let payment = client.prepare_pay(PAID_ELSEWHERE).unwrap();
    assert!(payment.already_paid);
    assert_eq!(payment.attempts, 1);
    assert_eq!(sb.stats().pay_calls.get(PAID_ELSEWHERE), Some(&1));
    let report = client.pay_many(&[PAID_ELSEWHERE], 1).unwrap();
    assert_eq!(report.results[0].outcome, PaymentOutcome::Paid);
    assert!(report.results[0].payment().unwrap().already_paid);
}

#[test]
fn an_order_whose_state_forbids_payment_is_not_payable_after_one_request_and_released() {
    let sb = sandbox();
    let client = builder(&sb).build().unwrap();
    for id in [CLOSED, NOT_FOUND] {
        let e = client.prepare_pay(id).unwrap_err();
        assert_eq!(e.code(), ErrorCode::OrderNotPayable, "{e}");
        assert!(!e.message().contains("  "), "one space between words: {e}");
        assert_eq!(e.attempts(), 1);
        assert!(e.trace_id().is_some());
        assert_eq!(sb.stats().pay_calls.get(id), Some(&1));
        // The claim was released: no record, nothing blocks a later payment.
        assert_eq!(client.payment_record(id).unwrap(), None);
    }
    let report = client.pay_many(&[CLOSED], 1).unwrap();
    assert_eq!(report.results[0].outcome, PaymentOutcome::NotPayable);
}

#[test]
fn a_plain_decline_is_still_retried() {
    let sb = sandbox();
    let client = builder(&sb).build().unwrap();
    let e = client.prepare_pay(DECLINED).unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentDeclined);
    assert_eq!(e.attempts(), 4);
    assert_eq!(sb.stats().pay_calls.get(DECLINED), Some(&4));
}

#[test]
fn a_rehearsal_never_answers_for_another_gateway_or_app() {
    let rehearsal = sandbox();
    let real = Sandbox::start(SandboxConfig {
        app_key: "the-real-app".into(),
        app_secret: "the-real-secret-0123".into(),
        ..SandboxConfig::default()
    })
    .unwrap();
    let (dir, journal) = temp_db("scope");
    let ids = [
        "2257164624870312101",
        "2257164624870312102",
        "2257164624870312103",
    ];
    let first = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(rehearsal.url())
        .journal(&journal)
        .build()
        .unwrap();
    for id in ids {
        first.prepare_pay(id).unwrap();
    }
    let second = Client::builder("the-real-app", "the-real-secret-0123")
        .base_url(real.url())
        .journal(&journal)
        .build()
        .unwrap();
    for id in ids {
        let payment = second.prepare_pay(id).unwrap();
        assert!(!payment.replayed, "{payment:?}");
    }
    let stats = real.stats();
    for id in ids {
        assert_eq!(
            stats.pay_calls.get(id),
            Some(&1),
            "{id} reached the second gateway"
        );
        assert_eq!(stats.deductions.get(id), Some(&1));
    }
    // Each scope lists its own three.
    assert_eq!(first.payment_records(None).unwrap().len(), 3);
    let records = second.payment_records(None).unwrap();
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r.scope.app_key == "the-real-app"));
    assert!(records[0].scope.gateway.starts_with("http://127.0.0.1:"));
    drop((first, second));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn reconciliation_keeps_a_history_and_allows_corrections() {
    let sb = sandbox();
    let client = builder(&sb).build().unwrap();
    // Paid by the buyer through a link: the journal never saw it.
    let id = "2257164624870312201";
    let record = client
        .resolve_payment(id, true, "paid by the buyer through the cashier link")
        .unwrap();
    assert_eq!(record.state, State::Paid);
    assert_eq!(record.history.len(), 1);
    assert_eq!(record.history[0].from, None);
    // And nothing is sent for it.
    let replay = client.prepare_pay(id).unwrap();
    assert!(replay.replayed);
    assert_eq!(sb.stats().pay_calls.get(id), None);
    // A correction, then another: both kept, in order.
    client
        .resolve_payment(id, false, "the link payment was refunded")
        .unwrap();
    let record = client
        .resolve_payment(id, true, "paid again by link")
        .unwrap();
    let moves: Vec<_> = record
        .history
        .iter()
        .map(|h| (h.from, h.to, h.note.as_str()))
        .collect();
    assert_eq!(
        moves,
        [
            (
                None,
                State::Paid,
                "paid by the buyer through the cashier link"
            ),
            (
                Some(State::Paid),
                State::NotPaid,
                "the link payment was refunded"
            ),
            (Some(State::NotPaid), State::Paid, "paid again by link"),
        ]
    );
    assert_eq!(record.history[0].by.pid, std::process::id());
    // Notes: 4 KiB at most, no NUL; refused before anything is written.
    for bad in ["x".repeat(4097), "a\0b".to_string()] {
        let e = client.resolve_payment(id, false, &bad).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    }
    assert_eq!(client.payment_record(id).unwrap().unwrap().history.len(), 3);
    client
        .resolve_payment(id, false, &"x".repeat(4096))
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_given_up_before_it_was_written_is_never_sent() {
    // One connection: the first (slow) payment holds it; the others wait for it (far longer
    // than the five 100 ms waits below take, on a loaded machine too).
    let sb = sandbox_with(|c| SandboxConfig {
        slow: Duration::from_millis(2500),
        ..c
    });
    let client = builder(&sb)
        .max_connections(1)
        .timeout(Duration::from_secs(5))
        .build_async()
        .unwrap();
    let slow = "9007000000000000301";
    let waiting: Vec<String> = (0..5).map(|i| format!("225716462487031230{i}")).collect();
    let first = tokio::spawn({
        let client = client.clone();
        async move { client.prepare_pay(slow.to_string()).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Started, then given up while they wait for the connection slot.
    for id in &waiting {
        let call = client.prepare_pay(id.clone());
        let given_up = tokio::time::timeout(Duration::from_millis(100), call).await;
        assert!(given_up.is_err(), "{id} finished while the slot was taken");
    }
    first.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let stats = sb.stats();
    for id in &waiting {
        assert_eq!(
            stats.pay_calls.get(id),
            None,
            "{id} was sent after its caller gave up"
        );
        // Its claim was released: nothing blocks paying it later.
        assert_eq!(client.payment_record(id.clone()).await.unwrap(), None);
    }
    // Paid later, normally.
    let later = client.prepare_pay(waiting[0].clone()).await.unwrap();
    assert!(!later.replayed);
}

#[test]
fn a_payment_whose_lease_could_not_be_renewed_sends_nothing_more() {
    // The pace lets one payment out a second; the journal's file is locked by another
    // connection for longer than a lease, so every renewal fails: the orders still waiting for
    // their slot must never be sent, even after the lock is gone.
    let sb = sandbox();
    let (dir, journal) = temp_db("renewal");
    let client = Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sb.url())
        .journal(&journal)
        .timeout(Duration::from_millis(200))
        .connect_timeout(Duration::from_millis(200))
        .journal_timeout(Duration::from_millis(200))
        .max_calls_per_second(1)
        .build()
        .unwrap();
    let ids: Vec<String> = (0..8).map(|i| format!("225716462487031240{i}")).collect();
    let path = dir.join("payments.db");
    let locker = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        let mut conn = rusqlite::Connection::open(path).unwrap();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
            .unwrap();
        // Longer than the lease (0.2 + 0.2 + 0.2 + 5 s).
        std::thread::sleep(Duration::from_secs(7));
        tx.commit().unwrap();
    });
    let report = client.pay_many(&ids, 8).unwrap();
    locker.join().unwrap();
    let stats = sb.stats();
    let sent: Vec<_> = ids
        .iter()
        .filter(|id| stats.pay_calls.contains_key(*id))
        .collect();
    assert!(sent.len() < ids.len(), "every order was sent: {sent:?}");
    for item in &report.results {
        let was_sent = stats.pay_calls.contains_key(&item.order_id);
        match &item.result {
            Ok(payment) => assert!(was_sent && !payment.already_paid, "{item:?}"),
            Err(e) => {
                assert!(!was_sent, "{item:?}");
                assert_eq!(e.code(), ErrorCode::Journal, "{e}");
                assert!(
                    e.message().contains("nothing was sent")
                        || e.message().contains("no further request"),
                    "{e}"
                );
            }
        }
    }
    common::assert_no_double_deduction(&sb);
    drop(client);
    std::fs::remove_dir_all(dir).unwrap();
}

/// A SQLite file whose write lock another process holds (a `BEGIN IMMEDIATE` left open, a
/// process paused in a write): payments fail with `journal` at their deadline, nothing is sent,
/// and the claims are known not to have landed, so nothing is left for the process to write
/// later. (Jobs the callers gave up on used to queue for the process's connection one busy
/// timeout each, so the lookups after them timed out too and `daji pay` waited minutes.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_another_process_holds_locked_fails_payments_at_the_deadline_leaving_nothing() {
    let sb = sandbox();
    let (dir, url) = temp_db("locked");
    let client = builder(&sb)
        .journal(url)
        .journal_timeout(Duration::from_millis(500))
        .build_async()
        .unwrap();
    client.prepare_pay(NORMAL.to_string()).await.unwrap();
    let other = rusqlite::Connection::open(dir.join("payments.db")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let ids: Vec<String> = (0..8).map(|i| format!("225716462487031250{i}")).collect();
    let started = std::time::Instant::now();
    let calls: Vec<_> = ids
        .iter()
        .map(|id| {
            let (client, id) = (client.clone(), id.clone());
            tokio::spawn(async move { client.prepare_pay(id).await })
        })
        .collect();
    for call in calls {
        let e = call.await.unwrap().unwrap_err();
        assert_eq!(e.code(), ErrorCode::Journal, "{e}");
        assert!(e.message().contains("nothing was sent"), "{e}");
    }
    let took = started.elapsed();
    assert_eq!(
        client
            .flush_journal(Some(Duration::from_millis(100)))
            .await
            .unwrap(),
        0
    );
    other.execute_batch("ROLLBACK").unwrap();
    for id in &ids {
        assert_eq!(sb.stats().pay_calls.get(id), None, "{id} was sent");
        assert_eq!(client.payment_record(id.clone()).await.unwrap(), None);
    }
    // Eight calls with a 500 ms deadline answer about then: a hang bound, generous for a
    // loaded machine (the assertion that tells the fix is the count kept, above).
    assert!(took < Duration::from_secs(10), "{took:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

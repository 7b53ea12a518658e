//! The payment journal's stores against real databases: every row of JOURNAL.md's state table,
//! atomic claims under concurrency, leases, releases and resolutions, run with the same test
//! bodies against the memory store, a SQLite file and a PostgreSQL database.
//!
//! PostgreSQL: the tests use `DAJISAAS_TEST_POSTGRES_URL` (and `DAJISAAS_TEST_POSTGRES_CA` for
//! TLS) when set; otherwise they start a throwaway cluster with `scripts/postgres.sh start
//! --until-exit <this pid>`, which installs PostgreSQL if needed and removes the cluster when
//! this test process ends. If that fails, the PostgreSQL tests fail: they are never skipped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use dajisaas::{
    ClaimOutcome, ErrorCode, JournalStore, MemoryJournal, Outcome, Owner, PaymentRecord, State,
    open_journal,
};
use serde_json::json;

const LONG: Duration = Duration::from_secs(300);

#[derive(Clone, Copy, Debug)]
enum Kind {
    Memory,
    Sqlite,
    Postgres,
}

// ----- fixtures -----

/// A store of one kind, empty, and what to clean up after it.
struct Fixture {
    store: Arc<dyn JournalStore>,
    url: String,
    _files: Option<TempFiles>,
    pg_db: Option<String>,
}

impl Fixture {
    async fn new(kind: Kind) -> Fixture {
        match kind {
            Kind::Memory => Fixture {
                store: Arc::new(MemoryJournal::new()),
                url: "memory".into(),
                _files: None,
                pg_db: None,
            },
            Kind::Sqlite => {
                let files = TempFiles::new();
                let url = format!("sqlite://{}", files.db.display());
                Fixture {
                    store: open_journal(&url).expect("open sqlite journal"),
                    url,
                    _files: Some(files),
                    pg_db: None,
                }
            }
            Kind::Postgres => {
                let (url, db) = fresh_pg_database().await;
                let store = open_journal(&url).expect("open postgres journal");
                store.check().await.expect("postgres journal reachable");
                Fixture {
                    store,
                    url,
                    _files: None,
                    pg_db: Some(db),
                }
            }
        }
    }

    /// Another instance on the same database (another connection, as another process has).
    fn reopen(&self) -> Arc<dyn JournalStore> {
        if self.url == "memory" {
            return self.store.clone();
        }
        open_journal(&self.url).expect("reopen journal")
    }

    async fn finish(self) {
        if let Some(db) = &self.pg_db {
            drop(self.store);
            drop_pg_database(db).await;
        }
    }
}

struct TempFiles {
    dir: PathBuf,
    db: PathBuf,
}

impl TempFiles {
    fn new() -> TempFiles {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "dajisaas-journal-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("payments.db");
        TempFiles { dir, db }
    }
}

impl Drop for TempFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

struct PgEnv {
    url: String,
    ca: Option<String>,
}

/// The test PostgreSQL server: the environment's, or a cluster started for this process.
fn pg_env() -> &'static PgEnv {
    static ENV: OnceLock<Result<PgEnv, String>> = OnceLock::new();
    let env = ENV.get_or_init(|| {
        if let Ok(url) = std::env::var("DAJISAAS_TEST_POSTGRES_URL") {
            return Ok(PgEnv {
                url,
                ca: std::env::var("DAJISAAS_TEST_POSTGRES_CA").ok(),
            });
        }
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/postgres.sh");
        let output = Command::new("bash")
            .arg(script)
            .args(["start", "--until-exit", &std::process::id().to_string()])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("could not run {script}: {e}"))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if !output.status.success() {
            return Err(format!(
                "{script} start failed ({}): {stdout}",
                output.status
            ));
        }
        let var = |name: &str| {
            stdout.lines().find_map(|line| {
                line.strip_prefix(&format!("export {name}="))
                    .map(str::to_string)
            })
        };
        let url = var("DAJISAAS_TEST_POSTGRES_URL")
            .ok_or_else(|| format!("{script} start printed no URL: {stdout}"))?;
        Ok(PgEnv {
            url,
            ca: var("DAJISAAS_TEST_POSTGRES_CA"),
        })
    });
    match env {
        Ok(env) => env,
        Err(why) => panic!(
            "the PostgreSQL journal tests need a server: {why}. Start one with \
             `eval \"$(scripts/postgres.sh start)\"` (sets DAJISAAS_TEST_POSTGRES_URL), or point \
             DAJISAAS_TEST_POSTGRES_URL at a database where the tests may create databases"
        ),
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    format!("{server}/{db}{query}")
}

async fn admin_client() -> tokio_postgres::Client {
    let url = &pg_env().url;
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot reach the test PostgreSQL server DAJISAAS_TEST_POSTGRES_URL={url}: {e}. \
                 Unset it to let the tests start a cluster, or start one with \
                 `eval \"$(scripts/postgres.sh start)\"`"
            )
        });
    tokio::spawn(connection);
    client
}

/// A new, empty database for one test.
async fn fresh_pg_database() -> (String, String) {
    let db = format!("dajisaas_t_{}_{:08x}", std::process::id(), fastrand_u32());
    admin_client()
        .await
        .batch_execute(&format!("CREATE DATABASE {db}"))
        .await
        .expect("create a test database");
    (with_database(&pg_env().url, &db), db)
}

async fn drop_pg_database(db: &str) {
    let _ = admin_client()
        .await
        .batch_execute(&format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"))
        .await;
}

fn fastrand_u32() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    static N: AtomicUsize = AtomicUsize::new(0);
    nanos ^ (N.fetch_add(1, Ordering::SeqCst) as u32).wrapping_mul(2_654_435_761)
}

fn owner(name: &str) -> Owner {
    Owner {
        host: format!("host-{name}"),
        pid: 1000 + name.len() as u32,
        client_id: format!("client-{name}"),
    }
}

fn paid(trace: &str) -> Outcome {
    Outcome::Paid {
        attempts: 1,
        trace_ids: vec![trace.to_string()],
        pay_channel: Some("alipay".into()),
        data: Some(json!({"success": true, "result": {"paySuccess": true}})),
    }
}

fn declined(trace: &str) -> Outcome {
    Outcome::Declined {
        attempts: 4,
        trace_ids: vec![trace.to_string()],
        error_code: "payment_declined".into(),
        message: "the deduction was not initiated".into(),
    }
}

fn unknown(trace: &str) -> Outcome {
    Outcome::Unknown {
        attempts: 1,
        trace_ids: vec![trace.to_string()],
        error_code: "payment_outcome_unknown".into(),
        message: "read timeout after sending".into(),
    }
}

async fn claim(store: &dyn JournalStore, id: &str, who: &Owner, lease: Duration) -> ClaimOutcome {
    store.claim(id, who, lease).await.expect("claim")
}

fn claimed(outcome: ClaimOutcome) -> PaymentRecord {
    match outcome {
        ClaimOutcome::Claimed(r) => r,
        other => panic!("expected Claimed, got {other:?}"),
    }
}

/// Runs one async test body against each store.
macro_rules! for_each_store {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn memory() {
                super::$body(super::Kind::Memory).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$body(super::Kind::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$body(super::Kind::Postgres).await
            }
        }
    )*};
}

for_each_store!(
    state_table,
    release_restores_the_settled_state,
    renew_keeps_the_claim_alive,
    expired_lease_becomes_unknown,
    resolve_rules,
    list_get_and_json,
    concurrent_claims_on_one_instance,
    concurrent_claims_on_separate_instances,
    bad_arguments,
);

// ----- the test bodies -----

/// Every row of JOURNAL.md's "States and what prepare_pay does" table.
async fn state_table(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b, c) = (owner("a"), owner("bb"), owner("ccc"));
    let id = "2257455039610311973";

    // none → claim (in_flight, owner, lease_until).
    let before = SystemTime::now() - Duration::from_secs(5);
    let r = claimed(claim(s, id, &a, LONG).await);
    assert_eq!(r.state, State::InFlight);
    assert_eq!(r.owner, a);
    assert_eq!(r.attempts, 0);
    assert!(r.created_at >= before && r.created_at == r.updated_at);
    let until = r.lease_until.expect("a lease");
    assert!(until > SystemTime::now() + LONG - Duration::from_secs(60));
    assert_eq!(s.get(id).await.unwrap(), Some(r.clone()));

    // in_flight, this owner → wait for the in-process payment (no refusal, no change).
    match claim(s, id, &a, LONG).await {
        ClaimOutcome::InProgressHere(r2) => assert_eq!(r2, r),
        other => panic!("expected InProgressHere, got {other:?}"),
    }
    // in_flight, another owner, lease alive → payment_in_progress.
    let outcome = claim(s, id, &b, LONG).await;
    assert!(
        matches!(outcome, ClaimOutcome::InProgress(_)),
        "{outcome:?}"
    );
    let e = outcome.refusal().expect("a refusal");
    assert_eq!(e.code(), ErrorCode::PaymentInProgress);
    assert!(e.message().contains(id), "{e}");
    // Only the owner records the outcome.
    let e = s.record_outcome(id, &b, paid("t-x")).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.message().contains("in_flight"), "{e}");

    // declined → claim again (a new payment).
    let r = s.record_outcome(id, &a, declined("t1")).await.unwrap();
    assert_eq!(r.state, State::Declined);
    assert_eq!(r.attempts, 4);
    assert_eq!(r.error_code.as_deref(), Some("payment_declined"));
    assert_eq!(r.lease_until, None);
    assert_eq!(r.trace_ids, vec!["t1"]);
    let r = claimed(claim(s, id, &b, LONG).await);
    assert_eq!((r.state, &r.owner), (State::InFlight, &b));

    // paid → replay the recorded payment (no request).
    let r = s.record_outcome(id, &b, paid("t2")).await.unwrap();
    assert_eq!(r.state, State::Paid);
    assert_eq!(r.attempts, 1);
    assert_eq!(r.trace_ids, vec!["t1", "t2"]);
    assert_eq!(r.last_trace_id(), Some("t2"));
    assert_eq!(r.pay_channel.as_deref(), Some("alipay"));
    assert_eq!(r.error_code, None);
    assert_eq!(r.data.as_ref().unwrap()["result"]["paySuccess"], true);
    for who in [&a, &b, &c] {
        let outcome = claim(s, id, who, LONG).await;
        assert_eq!(outcome, ClaimOutcome::Paid(r.clone()));
        assert!(outcome.refusal().is_none());
    }
    // A settled record takes no outcome.
    let e = s.record_outcome(id, &b, paid("t3")).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);

    // unknown → payment_outcome_unknown naming resolve.
    let id2 = "2257455039610311974";
    claimed(claim(s, id2, &a, LONG).await);
    let r = s.record_outcome(id2, &a, unknown("t9")).await.unwrap();
    assert_eq!(r.state, State::Unknown);
    for who in [&a, &b] {
        let outcome = claim(s, id2, who, LONG).await;
        assert_eq!(outcome, ClaimOutcome::Unknown(r.clone()));
        let e = outcome.refusal().unwrap();
        assert_eq!(e.code(), ErrorCode::PaymentOutcomeUnknown);
        assert!(e.message().contains("resolve_payment"), "{e}");
        assert_eq!(e.trace_id(), Some("t9"));
    }

    // not_paid → claim again.
    let r = s
        .resolve(id2, false, "no deduction in Alipay", "ops")
        .await
        .unwrap();
    assert_eq!(r.state, State::NotPaid);
    let r = claimed(claim(s, id2, &c, LONG).await);
    assert_eq!((r.state, &r.owner), (State::InFlight, &c));
    assert_eq!(r.resolved_by.as_deref(), Some("ops"));

    // in_flight, lease expired → becomes unknown (expired_lease_becomes_unknown has more).
    let id3 = "2257455039610311975";
    claimed(claim(s, id3, &a, Duration::from_millis(40)).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    match claim(s, id3, &b, LONG).await {
        ClaimOutcome::Unknown(r) => assert_eq!(r.state, State::Unknown),
        other => panic!("expected Unknown, got {other:?}"),
    }
    f.finish().await;
}

/// Failures that surely sent nothing give the claim up and leave the last settled state.
async fn release_restores_the_settled_state(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (owner("a"), owner("bb"));

    // A claim that created the record: releasing removes it.
    let id = "1001";
    claimed(claim(s, id, &a, LONG).await);
    let e = s.release(id, &b).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.release(id, &a).await.unwrap(), None);
    assert_eq!(s.get(id).await.unwrap(), None);
    let e = s.release(id, &a).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    claimed(claim(s, id, &b, LONG).await);

    // A claim of a declined order: releasing restores the declined record exactly.
    let id = "1002";
    claimed(claim(s, id, &a, LONG).await);
    let settled = s.record_outcome(id, &a, declined("t1")).await.unwrap();
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(s.release(id, &b).await.unwrap(), Some(settled.clone()));
    assert_eq!(s.get(id).await.unwrap(), Some(settled.clone()));
    let e = s.release(id, &b).await.unwrap_err();
    assert!(e.message().contains("declined"), "{e}");

    // The same for not_paid.
    let id = "1003";
    claimed(claim(s, id, &a, LONG).await);
    s.record_outcome(id, &a, unknown("t1")).await.unwrap();
    let settled = s.resolve(id, false, "", "ops").await.unwrap();
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(s.release(id, &b).await.unwrap(), Some(settled.clone()));
    assert_eq!(claim(s, id, &a, LONG).await.record().state, State::InFlight);
    f.finish().await;
}

async fn renew_keeps_the_claim_alive(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (owner("a"), owner("bb"));
    let id = "2001";
    let first = claimed(claim(s, id, &a, Duration::from_millis(100)).await);
    let renewed = s.renew(id, &a, LONG).await.unwrap();
    assert!(renewed.lease_until > first.lease_until);
    let e = s.renew(id, &b, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::InProgress(_)
    ));
    // An owner whose lease ran out may renew while nobody has noticed.
    let id = "2002";
    claimed(claim(s, id, &a, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    s.renew(id, &a, LONG).await.unwrap();
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::InProgress(_)
    ));
    // Renewing a settled or missing order is refused.
    s.record_outcome(id, &a, paid("t")).await.unwrap();
    assert_eq!(
        s.renew(id, &a, LONG).await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(
        s.renew("2003", &a, LONG).await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    f.finish().await;
}

async fn expired_lease_becomes_unknown(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (owner("a"), owner("bb"));
    let id = "3001";
    claimed(claim(s, id, &a, Duration::from_millis(40)).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Reads do not change it: still in_flight, with the lease in the past.
    let r = s.get(id).await.unwrap().unwrap();
    assert_eq!(r.state, State::InFlight);
    assert!(r.lease_expired_at(SystemTime::now()));
    // The next claim, by anyone (even the owner), turns it unknown.
    let r = match claim(s, id, &b, LONG).await {
        ClaimOutcome::Unknown(r) => r,
        other => panic!("expected Unknown, got {other:?}"),
    };
    assert_eq!(r.state, State::Unknown);
    assert_eq!(r.owner, a);
    assert_eq!(r.lease_until, None);
    assert_eq!(r.error_code.as_deref(), Some("payment_outcome_unknown"));
    assert!(r.message.as_deref().unwrap().contains("expired"), "{r:?}");
    assert_eq!(s.get(id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        claim(s, id, &a, LONG).await,
        ClaimOutcome::Unknown(r.clone())
    );
    assert_eq!(s.list(Some(State::Unknown)).await.unwrap(), vec![r]);
    // The owner cannot renew a claim that others saw expire...
    assert_eq!(
        s.renew(id, &a, LONG).await.unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    // ...but its real outcome replaces the guess; nobody else's does.
    assert!(s.record_outcome(id, &b, paid("t")).await.is_err());
    let r = s.record_outcome(id, &a, paid("t-late")).await.unwrap();
    assert_eq!(r.state, State::Paid);
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Paid(_)
    ));

    // Likewise an owner that finds it sent nothing may still release.
    let id = "3002";
    claimed(claim(s, id, &a, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    assert_eq!(s.release(id, &a).await.unwrap(), None);
    claimed(claim(s, id, &b, LONG).await);

    // Once resolved, the late owner has no say any more.
    let id = "3003";
    claimed(claim(s, id, &a, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    s.resolve(id, true, "seen in 1688", "ops").await.unwrap();
    assert_eq!(
        s.record_outcome(id, &a, declined("t"))
            .await
            .unwrap_err()
            .code(),
        ErrorCode::InvalidArgument
    );
    f.finish().await;
}

async fn resolve_rules(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (owner("a"), owner("bb"));
    let refused = |e: dajisaas::Error, state: &str| {
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(e.message().contains(state), "{state}: {e}");
    };
    refused(
        s.resolve("4000", true, "", "ops").await.unwrap_err(),
        "no payment record",
    );

    let id = "4001";
    claimed(claim(s, id, &a, LONG).await);
    refused(
        s.resolve(id, true, "", "ops").await.unwrap_err(),
        "in_flight",
    );
    s.record_outcome(id, &a, declined("t")).await.unwrap();
    refused(
        s.resolve(id, true, "", "ops").await.unwrap_err(),
        "declined",
    );
    claimed(claim(s, id, &a, LONG).await);
    s.record_outcome(id, &a, paid("t")).await.unwrap();
    refused(s.resolve(id, false, "", "ops").await.unwrap_err(), "paid");

    // unknown → paid, with who and why.
    let id = "4002";
    claimed(claim(s, id, &a, LONG).await);
    s.record_outcome(id, &a, unknown("t")).await.unwrap();
    let e = s.resolve(id, true, "x", " ").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let r = s
        .resolve(id, true, "Alipay record 2025-01-31", "alice")
        .await
        .unwrap();
    assert_eq!(r.state, State::Paid);
    assert_eq!(r.resolved_by.as_deref(), Some("alice"));
    assert_eq!(r.note.as_deref(), Some("Alipay record 2025-01-31"));
    assert_eq!(claim(s, id, &b, LONG).await, ClaimOutcome::Paid(r.clone()));
    refused(s.resolve(id, false, "", "ops").await.unwrap_err(), "paid");

    // unknown → not_paid → paid again.
    let id = "4003";
    claimed(claim(s, id, &a, LONG).await);
    s.record_outcome(id, &a, unknown("t")).await.unwrap();
    assert_eq!(
        s.resolve(id, false, "", "ops").await.unwrap().state,
        State::NotPaid
    );
    refused(
        s.resolve(id, false, "", "ops").await.unwrap_err(),
        "not_paid",
    );
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(
        s.record_outcome(id, &b, paid("t2")).await.unwrap().state,
        State::Paid
    );

    // in_flight with an expired lease can be resolved directly.
    let id = "4004";
    claimed(claim(s, id, &a, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let r = s
        .resolve(id, false, "owner crashed before sending", "ops")
        .await
        .unwrap();
    assert_eq!((r.state, r.lease_until), (State::NotPaid, None));
    f.finish().await;
}

async fn list_get_and_json(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let a = owner("a");
    assert_eq!(s.list(None).await.unwrap(), vec![]);
    assert_eq!(s.get("5000").await.unwrap(), None);
    for (id, outcome) in [
        ("5001", Some(paid("t1"))),
        ("5002", Some(declined("t2"))),
        ("5003", Some(unknown("t3"))),
        ("5004", None),
    ] {
        claimed(claim(s, id, &a, LONG).await);
        if let Some(outcome) = outcome {
            s.record_outcome(id, &a, outcome).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let all = s.list(None).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.order_id.as_str()).collect();
    assert_eq!(ids, ["5001", "5002", "5003", "5004"]);
    for (state, id) in [
        (State::Paid, "5001"),
        (State::Declined, "5002"),
        (State::Unknown, "5003"),
        (State::InFlight, "5004"),
    ] {
        let records = s.list(Some(state)).await.unwrap();
        assert_eq!(records.len(), 1, "{state}");
        assert_eq!(records[0].order_id, id);
        assert_eq!(records[0].state, state);
    }
    assert_eq!(s.list(Some(State::NotPaid)).await.unwrap(), vec![]);

    // The JSON every binding shows, and back.
    let r = s.get("5001").await.unwrap().unwrap();
    let j = r.to_json();
    assert_eq!(j["orderId"], "5001");
    assert_eq!(j["state"], "paid");
    assert_eq!(j["traceIds"], json!(["t1"]));
    assert_eq!(j["payChannel"], "alipay");
    assert_eq!(
        j["owner"],
        json!({"host": "host-a", "pid": 1001, "clientId": "client-a"})
    );
    assert!(j["leaseUntil"].is_null());
    let created = j["createdAt"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert_eq!(PaymentRecord::from_json(&j).unwrap(), r);
    let in_flight = s.get("5004").await.unwrap().unwrap();
    assert_eq!(
        PaymentRecord::from_json(&in_flight.to_json()).unwrap(),
        in_flight
    );
    f.finish().await;
}

/// 16 claims of one order at once, on one store instance: exactly one wins, for a new order and
/// for a declined one (whose row exists).
async fn concurrent_claims_on_one_instance(kind: Kind) {
    let f = Fixture::new(kind).await;
    let stores: Vec<_> = (0..16).map(|_| f.store.clone()).collect();
    race_for_orders(&f, stores).await;
    f.finish().await;
}

/// The same through 16 store instances, each with its own connection, as separate processes
/// have.
async fn concurrent_claims_on_separate_instances(kind: Kind) {
    let f = Fixture::new(kind).await;
    let stores: Vec<_> = (0..16).map(|_| f.reopen()).collect();
    for store in &stores {
        store.check().await.unwrap();
    }
    race_for_orders(&f, stores).await;
    f.finish().await;
}

async fn race_for_orders(f: &Fixture, stores: Vec<Arc<dyn JournalStore>>) {
    // A new order.
    let winner = race(&stores, "6001").await;
    assert_eq!(f.store.get("6001").await.unwrap(), Some(winner));
    // A declined order: the row exists and must be locked before it is read.
    let a = owner("a");
    claimed(claim(&*f.store, "6002", &a, LONG).await);
    f.store
        .record_outcome("6002", &a, declined("t"))
        .await
        .unwrap();
    let winner = race(&stores, "6002").await;
    assert_eq!(f.store.get("6002").await.unwrap(), Some(winner));
    // An expired claim: every racer learns it is unknown, and it stays unknown.
    claimed(claim(&*f.store, "6003", &a, Duration::from_millis(20)).await);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let outcomes = claims_at_once(&stores, "6003").await;
    let unknown = f.store.get("6003").await.unwrap().unwrap();
    assert_eq!(unknown.state, State::Unknown);
    for outcome in outcomes {
        assert_eq!(outcome, ClaimOutcome::Unknown(unknown.clone()));
    }
}

async fn claims_at_once(stores: &[Arc<dyn JournalStore>], id: &'static str) -> Vec<ClaimOutcome> {
    let barrier = Arc::new(tokio::sync::Barrier::new(stores.len()));
    let tasks: Vec<_> = stores
        .iter()
        .cloned()
        .enumerate()
        .map(|(i, store)| {
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let who = owner(&format!("racer{i:02}"));
                barrier.wait().await;
                store.claim(id, &who, LONG).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    outcomes
}

/// Claims the order from every store at once: exactly one claim wins, the others see it.
async fn race(stores: &[Arc<dyn JournalStore>], id: &'static str) -> PaymentRecord {
    let mut winners = Vec::new();
    let mut others = Vec::new();
    for outcome in claims_at_once(stores, id).await {
        match outcome {
            ClaimOutcome::Claimed(r) => winners.push(r),
            ClaimOutcome::InProgress(r) => others.push(r),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(others.len(), stores.len() - 1);
    for r in &others {
        assert_eq!(r, &winners[0]);
    }
    winners.pop().unwrap()
}

async fn bad_arguments(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let a = owner("a");
    for id in ["", "12a", "99999999999999999999", " 1"] {
        assert_eq!(
            s.claim(id, &a, LONG).await.unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{id:?}"
        );
        assert_eq!(
            s.get(id).await.unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    let e = s.claim("7001", &a, Duration::ZERO).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(s.get("7001").await.unwrap(), None);
    f.finish().await;
}

// ----- one store at a time -----

#[tokio::test]
async fn memory_is_one_store_per_process() {
    let one = open_journal("memory").unwrap();
    let two = open_journal("").unwrap();
    let three = open_journal(dajisaas::DEFAULT_JOURNAL).unwrap();
    assert_eq!(one.url(), "memory");
    let a = owner("a");
    claimed(claim(&*one, "8001", &a, LONG).await);
    assert_eq!(two.get("8001").await.unwrap().unwrap().owner, a);
    assert!(matches!(
        claim(&*three, "8001", &owner("bb"), LONG).await,
        ClaimOutcome::InProgress(_)
    ));
    one.release("8001", &a).await.unwrap();
}

#[test]
fn bad_urls_are_invalid_arguments() {
    for url in [
        "mysql://x@y/z",
        "redis://localhost",
        "memory:",
        "/tmp/payments.db",
        "payments.db",
        "sqlite://payments.db",
        "sqlite:payments.db",
        "sqlite:///",
        "sqlite:///tmp/x.db?cache=shared",
        "postgres://u@h/db?sslmode=prefer",
        "postgres://u@h/db?sslmode=nonsense",
        "postgres://u@h/db?bogus_option=1",
        "postgresql://u@h:notaport/db",
    ] {
        let e = open_journal(url).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{url}: {e}");
    }
    // Messages never show a password.
    let e = open_journal("postgres://me:hunter2@h/db?sslmode=prefer").unwrap_err();
    assert!(!e.message().contains("hunter2"), "{e}");
    let e = open_journal("mysql://me:hunter2@h/db").unwrap_err();
    assert!(!e.message().contains("hunter2"), "{e}");
}

#[test]
fn state_names() {
    for state in State::ALL {
        assert_eq!(State::parse(state.as_str()).unwrap(), state);
    }
    assert_eq!(
        State::parse("settled").unwrap_err().code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(State::InFlight.as_str(), "in_flight");
    assert_eq!(State::NotPaid.to_string(), "not_paid");
}

#[test]
fn outcomes_from_errors() {
    use dajisaas::Error;
    let declined = Error::new(ErrorCode::PaymentDeclined, "no");
    assert!(matches!(
        Outcome::from_error(&declined),
        Some(Outcome::Declined { .. })
    ));
    for code in [
        ErrorCode::PaymentOutcomeUnknown,
        ErrorCode::Decode,
        ErrorCode::Internal,
    ] {
        let e = Error::new(code, "?");
        assert!(
            matches!(Outcome::from_error(&e), Some(Outcome::Unknown { .. })),
            "{code}"
        );
    }
    for code in [
        ErrorCode::InvalidArgument,
        ErrorCode::Connection,
        ErrorCode::Timeout,
        ErrorCode::RateLimited,
        ErrorCode::Api,
        ErrorCode::HttpStatus,
        ErrorCode::PaymentInProgress,
    ] {
        assert_eq!(Outcome::from_error(&Error::new(code, "?")), None, "{code}");
    }
}

#[test]
fn sqlite_file_that_cannot_be_opened_is_a_connection_error() {
    let e = open_journal("sqlite:///nonexistent-dir-dajisaas/x/payments.db").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
}

#[tokio::test]
async fn sqlite_newer_schema_is_refused() {
    let files = TempFiles::new();
    let url = format!("sqlite://{}", files.db.display());
    drop(open_journal(&url).unwrap());
    let conn = rusqlite::Connection::open(&files.db).unwrap();
    conn.execute("UPDATE dajisaas_journal_schema SET version = 2", [])
        .unwrap();
    drop(conn);
    let e = open_journal(&url).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.message().contains("schema version is 2"), "{e}");
}

#[tokio::test]
async fn sqlite_survives_reopening() {
    let files = TempFiles::new();
    let url = format!("sqlite://{}", files.db.display());
    let a = owner("a");
    {
        let s = open_journal(&url).unwrap();
        claimed(claim(&*s, "9001", &a, LONG).await);
        s.record_outcome("9001", &a, paid("t1")).await.unwrap();
    }
    let s = open_journal(&url).unwrap();
    assert!(matches!(
        claim(&*s, "9001", &owner("bb"), LONG).await,
        ClaimOutcome::Paid(_)
    ));
    // WAL mode, as JOURNAL.md asks.
    let conn = rusqlite::Connection::open(&files.db).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// Child side of [`sqlite_separate_processes_agree`]: claims one order as this process and
/// prints the outcome.
#[tokio::test]
#[ignore = "a helper: sqlite_separate_processes_agree runs it in child processes"]
async fn sqlite_child_process_claims() {
    let url = std::env::var("DAJISAAS_JOURNAL_CHILD_URL").expect("run by the parent test");
    let store = open_journal(&url).unwrap();
    let outcome = store
        .claim("9100", &Owner::this_process(), LONG)
        .await
        .unwrap();
    let word = match outcome {
        ClaimOutcome::Claimed(_) => "claimed",
        ClaimOutcome::InProgress(_) => "in_progress",
        _ => "other",
    };
    println!("CHILD-OUTCOME {word} {}", std::process::id());
}

/// Four processes claim one order in one SQLite file at once: exactly one wins, and this
/// process then sees the winner's claim.
#[tokio::test]
async fn sqlite_separate_processes_agree() {
    let files = TempFiles::new();
    let url = format!("sqlite://{}", files.db.display());
    drop(open_journal(&url).unwrap());
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "--ignored",
                    "--exact",
                    "sqlite_child_process_claims",
                    "--nocapture",
                ])
                .env("DAJISAAS_JOURNAL_CHILD_URL", &url)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut outcomes = Vec::new();
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.strip_prefix("CHILD-OUTCOME "))
            .unwrap_or_else(|| panic!("no outcome from the child: {stdout}"))
            .to_string();
        outcomes.push(line);
    }
    let winners: Vec<&String> = outcomes
        .iter()
        .filter(|o| o.starts_with("claimed "))
        .collect();
    assert_eq!(winners.len(), 1, "{outcomes:?}");
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| o.starts_with("in_progress "))
            .count(),
        3,
        "{outcomes:?}"
    );
    let winner_pid: u32 = winners[0].split(' ').nth(1).unwrap().parse().unwrap();
    let store = open_journal(&url).unwrap();
    match claim(&*store, "9100", &Owner::this_process(), LONG).await {
        ClaimOutcome::InProgress(r) => assert_eq!(r.owner.pid, winner_pid),
        other => panic!("expected the child's claim, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_unreachable_is_a_connection_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let store = open_journal(&format!(
        "postgres://postgres@127.0.0.1:{port}/x?connect_timeout=5"
    ))
    .unwrap();
    let e = store.check().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
    let e = store.claim("1", &owner("a"), LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
    let e = store.list(None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
}

#[tokio::test]
async fn postgres_newer_schema_is_refused() {
    let (url, db) = fresh_pg_database().await;
    open_journal(&url).unwrap().check().await.unwrap();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute("UPDATE dajisaas_journal_schema SET version = 7")
        .await
        .unwrap();
    let store = open_journal(&url).unwrap();
    let e = store.check().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.message().contains("schema version is 7"), "{e}");
    let e = store.get("1").await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    drop(client);
    drop_pg_database(&db).await;
}

/// `sslmode=require` is verified TLS: it works with the cluster's CA, and fails against the
/// system's roots, which do not know that CA.
#[tokio::test]
async fn postgres_tls_is_verified() {
    let ca = pg_env().ca.clone().unwrap_or_else(|| {
        panic!(
            "DAJISAAS_TEST_POSTGRES_URL is set but DAJISAAS_TEST_POSTGRES_CA is not: the TLS test \
             needs the server's CA (scripts/postgres.sh start prints both)"
        )
    });
    let (url, db) = fresh_pg_database().await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let tls_url = format!("{url}{sep}sslmode=verify-full&sslrootcert={ca}");
    let store = open_journal(&tls_url).unwrap();
    store.check().await.unwrap();
    let a = owner("a");
    claimed(claim(&*store, "9200", &a, LONG).await);
    store.record_outcome("9200", &a, paid("t")).await.unwrap();
    // The server saw TLS.
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ssl: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) \
             WHERE ssl AND application_name = 'dajisaas-journal'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl >= 1);
    drop(client);

    let untrusted = open_journal(&format!("{url}{sep}sslmode=require")).unwrap();
    let e = untrusted.check().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
    let e = open_journal(&format!(
        "{url}{sep}sslmode=require&sslrootcert=/nonexistent/ca.pem"
    ))
    .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    drop(store);
    drop_pg_database(&db).await;
}

// ----- prepare_pay through each store, against the sandbox -----

mod through_prepare_pay {
    use super::*;
    use dajisaas::{AsyncClient, Client};
    use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

    const NORMAL: &str = "2257164624870311973";
    const DECLINE: &str = "9000000000000000001";
    const DEDUCT_THEN_500: &str = "9003000000000000001";
    const UNAVAILABLE_ONCE: &str = "9009000000000000001";
    const SLOW: &str = "9007000000000000001";
    const HANG: &str = "9002000000000000001";
    const FOREIGN: &str = "2257164624870311974";
    const EXPIRED: &str = "2257164624870311975";

    fn sandbox() -> Sandbox {
        Sandbox::start(SandboxConfig {
            slow: Duration::from_millis(300),
            hang: Duration::from_secs(2),
            ..SandboxConfig::default()
        })
        .expect("sandbox starts")
    }

    /// The client's journal URL for a fixture: a memory journal of its own for `Memory`.
    fn journal_url(f: &Fixture, sb: &Sandbox) -> String {
        if f.url == "memory" {
            format!("memory:{}", sb.url())
        } else {
            f.url.clone()
        }
    }

    fn client(f: &Fixture, sb: &Sandbox) -> AsyncClient {
        Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
            .base_url(sb.url())
            .journal(journal_url(f, sb))
            .timeout(Duration::from_millis(1000))
            .backoff(Duration::from_millis(1), Duration::from_millis(5))
            .build_async()
            .expect("client builds")
    }

    fn calls(sb: &Sandbox, id: &str) -> u32 {
        sb.stats().pay_calls.get(id).copied().unwrap_or(0)
    }

    /// Every row of JOURNAL.md's table as `prepare_pay` meets it; the sandbox's call counts
    /// show which rows sent nothing.
    pub(super) async fn rows(kind: Kind) {
        let f = Fixture::new(kind).await;
        let sb = sandbox();
        let c = client(&f, &sb);
        let store = open_journal(&journal_url(&f, &sb)).unwrap();
        let pay = |id: &'static str| c.prepare_pay(id.to_string());

        // none → claim, send, record paid; paid → the recorded payment, no request.
        let first = pay(NORMAL).await.unwrap();
        assert!(!first.replayed);
        let again = pay(NORMAL).await.unwrap();
        assert!(again.replayed, "{again:?}");
        assert_eq!(again.trace_id, first.trace_id);
        assert_eq!(calls(&sb, NORMAL), 1);
        let record = c.payment_record(NORMAL.into()).await.unwrap().unwrap();
        assert_eq!(record.state, State::Paid);

        // declined → a new payment is sent.
        assert_eq!(
            pay(DECLINE).await.unwrap_err().code(),
            ErrorCode::PaymentDeclined
        );
        assert_eq!(
            c.payment_record(DECLINE.into())
                .await
                .unwrap()
                .unwrap()
                .state,
            State::Declined
        );
        pay(DECLINE).await.unwrap_err();
        assert_eq!(calls(&sb, DECLINE), 8);

        // unknown → refused at once, naming resolve_payment, until resolved.
        assert_eq!(
            pay(DEDUCT_THEN_500).await.unwrap_err().code(),
            ErrorCode::PaymentOutcomeUnknown
        );
        let refused = pay(DEDUCT_THEN_500).await.unwrap_err();
        assert_eq!(refused.code(), ErrorCode::PaymentOutcomeUnknown);
        assert_eq!(refused.attempts(), 0);
        assert!(refused.message().contains("resolve_payment"), "{refused}");
        assert_eq!(calls(&sb, DEDUCT_THEN_500), 1);
        let resolved = c
            .resolve_payment(
                DEDUCT_THEN_500.into(),
                true,
                "seen in 1688's order details".into(),
            )
            .await
            .unwrap();
        assert_eq!(resolved.state, State::Paid);
        assert!(pay(DEDUCT_THEN_500).await.unwrap().replayed);
        assert_eq!(calls(&sb, DEDUCT_THEN_500), 1);

        // not_paid → sent again (9009: a 503 without deduction, then paid).
        pay(UNAVAILABLE_ONCE).await.unwrap_err();
        c.resolve_payment(UNAVAILABLE_ONCE.into(), false, "no Alipay record".into())
            .await
            .unwrap();
        assert!(!pay(UNAVAILABLE_ONCE).await.unwrap().replayed);
        assert_eq!(calls(&sb, UNAVAILABLE_ONCE), 2);

        // in_flight by another owner with a live lease → payment_in_progress, no request.
        let stranger = Owner {
            host: "elsewhere".into(),
            pid: 1,
            client_id: "another".into(),
        };
        claimed(store.claim(FOREIGN, &stranger, LONG).await.unwrap());
        let busy = pay(FOREIGN).await.unwrap_err();
        assert_eq!(busy.code(), ErrorCode::PaymentInProgress, "{busy}");
        // in_flight whose lease expired → unknown, no request.
        claimed(
            store
                .claim(EXPIRED, &stranger, Duration::from_millis(1))
                .await
                .unwrap(),
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
        let expired = pay(EXPIRED).await.unwrap_err();
        assert_eq!(
            expired.code(),
            ErrorCode::PaymentOutcomeUnknown,
            "{expired}"
        );
        assert_eq!(calls(&sb, FOREIGN) + calls(&sb, EXPIRED), 0);

        // in_flight in this process → wait for that payment and return its outcome.
        let (a, b) = tokio::join!(pay(SLOW), async {
            while calls(&sb, SLOW) == 0 {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            pay(SLOW).await
        });
        let (a, b) = (a.unwrap(), b.unwrap());
        assert_eq!((a.replayed, b.replayed), (false, true));
        assert_eq!(a.trace_id, b.trace_id);
        assert_eq!(calls(&sb, SLOW), 1);

        let unknown = c.payment_records(Some(State::Unknown)).await.unwrap();
        assert_eq!(
            unknown
                .iter()
                .map(|r| r.order_id.as_str())
                .collect::<Vec<_>>(),
            [EXPIRED]
        );
        assert_eq!(sb.stats().pay_calls_after_paid, 0);
        f.finish().await;
    }

    /// A cancelled await only stops waiting: the payment runs on, and a second call at once
    /// gets its outcome instead of paying again.
    pub(super) async fn cancellation(kind: Kind) {
        let f = Fixture::new(kind).await;
        let sb = sandbox();
        let c = client(&f, &sb);
        let cancelled =
            tokio::time::timeout(Duration::from_millis(300), c.prepare_pay(HANG.into())).await;
        assert!(cancelled.is_err(), "the await timed out");
        let second = c.prepare_pay(HANG.into()).await.unwrap_err();
        assert_eq!(second.code(), ErrorCode::PaymentOutcomeUnknown, "{second}");
        let stats = sb.stats();
        assert_eq!(stats.deductions.get(HANG), Some(&1));
        assert_eq!(stats.pay_calls.get(HANG), Some(&1));
        assert_eq!(stats.pay_calls_after_paid, 0);
        // And a third call, later, is refused by the journal without a request.
        assert_eq!(c.prepare_pay(HANG.into()).await.unwrap_err().attempts(), 0);
        assert_eq!(sb.stats().pay_calls.get(HANG), Some(&1));
        f.finish().await;
    }
}

async fn prepare_pay_rows(kind: Kind) {
    through_prepare_pay::rows(kind).await
}

async fn prepare_pay_cancellation(kind: Kind) {
    through_prepare_pay::cancellation(kind).await
}

for_each_store!(prepare_pay_rows, prepare_pay_cancellation);

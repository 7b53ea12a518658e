//! The payment journal's stores against real databases: every row of JOURNAL.md's state table,
//! atomic claims under concurrency, leases, fences, releases, scopes, resolutions with their
//! history and corrections, and the version-1 migration, run with the same test bodies against
//! the memory store, a SQLite file and a PostgreSQL database (the SQLite file's failures are in
//! `journal_errors.rs`).
//!
//! PostgreSQL: the tests use `DAJISAAS_TEST_POSTGRES_URL` (and `DAJISAAS_TEST_POSTGRES_CA` for
//! TLS) when set; otherwise they start a throwaway cluster with `scripts/postgres.sh start
//! --until-exit <this pid>`, which installs PostgreSQL if needed and removes the cluster when
//! this test process ends. If that fails, the PostgreSQL tests fail: they are never skipped.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::{Duration, SystemTime};

use dajisaas::{
    ClaimOutcome, ErrorCode, Holder, JOURNAL_SCHEMA_VERSION, JournalStore, Lowering, MemoryJournal,
    Outcome, Owner, PaceRow, PaymentRecord, Resolver, Scope, SlotAsk, State, open_journal,
};
use serde_json::json;

const LONG: Duration = Duration::from_secs(300);

/// The scope of every test that is not about scopes.
static SC: LazyLock<Scope> =
    LazyLock::new(|| Scope::new("https://openapi.dajisaas.com/", "app-test"));

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

/// A claim of the owner `name` (a fresh claim id each call).
fn holder(name: &str) -> Holder {
    Holder::new(owner(name))
}

/// The same owner's claim under another claim id.
fn other_claim(h: &Holder) -> Holder {
    Holder::new(h.owner.clone())
}

/// The resolver of the tests' resolutions.
fn ops() -> Resolver {
    Resolver {
        host: "ops-host".into(),
        pid: 4242,
        user: Some("ops".into()),
    }
}

fn paid(trace: &str) -> Outcome {
    Outcome::Paid {
        attempts: 1,
        trace_ids: vec![trace.to_string()],
        pay_channel: Some("alipay".into()),
        data: Some(json!({"success": true, "result": {"paySuccess": true}})),
        already_paid: false,
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

async fn claim(store: &dyn JournalStore, id: &str, who: &Holder, lease: Duration) -> ClaimOutcome {
    store.claim(&SC, id, who, lease).await.expect("claim")
}

/// A claim of `who` whose lease has run out (nobody has noticed yet: still `in_flight`).
async fn expired_claim(store: &dyn JournalStore, id: &str, who: &Holder) {
    claimed(claim(store, id, who, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
}

/// The order claimed by `who` and its payment recorded as `outcome`.
async fn settle(
    store: &dyn JournalStore,
    id: &str,
    who: &Holder,
    outcome: Outcome,
) -> PaymentRecord {
    claimed(claim(store, id, who, LONG).await);
    store
        .record_outcome(&SC, id, who, outcome)
        .await
        .expect("record the outcome")
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
    pace_slots_counts_and_rates,
);

// ----- the test bodies -----

/// A reservation asking for a pace: what the test does not vary.
fn ask(configured: Option<f64>, epoch: i64) -> SlotAsk {
    SlotAsk {
        configured,
        epoch,
        raise: 0.0,
        cap: 10_000.0,
        answered: 0,
        refused: 0,
    }
}

async fn reserve(store: &dyn JournalStore, scope: &Scope, ask: &SlotAsk) -> PaceRow {
    let pace = store.pace().expect("a shared pace");
    pace.reserve_slot(scope, ask).await.expect("reserved")
}

/// The fleet's pace (issue 24): slots `1 / rate` apart by the store's clock across instances
/// (processes), counts carried by reservations, a decrease only in the epoch it was decided
/// in, raises only in their epoch and under their cap, one row per scope.
async fn pace_slots_counts_and_rates(kind: Kind) {
    let f = Fixture::new(kind).await;
    let Some(pace) = f.store.pace() else {
        assert!(matches!(kind, Kind::Memory), "{kind:?} keeps a shared pace");
        return f.finish().await;
    };
    assert_eq!(
        pace.read_pace(&SC).await.unwrap(),
        None,
        "no row before a call"
    );
    let other = f.reopen();
    // No rate: no wait, but every call is counted.
    assert_eq!(
        reserve(&*f.store, &SC, &ask(None, 0)).await.wait,
        Duration::ZERO
    );
    // One a second, alternating between two instances: each slot a second after the previous
    // one, less the store's time that passed between the reservations (under half a second,
    // on a loaded machine too).
    let mut waits = Vec::new();
    for i in 0..6 {
        let store = if i % 2 == 0 { &f.store } else { &other };
        waits.push(reserve(&**store, &SC, &ask(Some(1.0), 0)).await.wait);
    }
    assert_eq!(waits[0], Duration::ZERO, "{waits:?}");
    for pair in waits.windows(2) {
        let gap = pair[1].saturating_sub(pair[0]);
        assert!(
            gap > Duration::from_millis(500) && gap <= Duration::from_millis(1001),
            "{waits:?}"
        );
    }
    // Another scope has its own row.
    let elsewhere = Scope::new("http://127.0.0.1:1", "app-test");
    assert_eq!(
        reserve(&*other, &elsewhere, &ask(Some(1.0), 0)).await.wait,
        Duration::ZERO
    );
    // Answers and refusals ride on the next reservation.
    let told = SlotAsk {
        answered: 5,
        refused: 2,
        ..ask(None, 0)
    };
    let row = reserve(&*f.store, &SC, &told).await;
    let counted = row.window.started + row.previous.started;
    assert_eq!(counted, 8, "{row:?}");
    assert_eq!(row.window.answered + row.previous.answered, 5, "{row:?}");
    assert_eq!(row.window.refused + row.previous.refused, 2, "{row:?}");
    assert_eq!((row.adaptive, row.epoch), (None, 0));

    // A decrease in epoch 0; a second one decided in epoch 0 finds it done.
    let lowering = Lowering {
        epoch: 0,
        rate: 1.0,
        estimate: 9.0,
        step: 0.5,
    };
    assert!(pace.lower_pace(&SC, &lowering).await.unwrap());
    assert!(
        !other
            .pace()
            .unwrap()
            .lower_pace(&SC, &lowering)
            .await
            .unwrap()
    );
    let row = pace.read_pace(&SC).await.unwrap().expect("row");
    assert_eq!(
        (row.adaptive, row.estimate, row.step, row.epoch),
        (Some(1.0), Some(9.0), 0.5, 1)
    );
    assert!(
        row.since_lowered.unwrap() < Duration::from_secs(5),
        "{row:?}"
    );
    // The counts start again at a decrease.
    assert_eq!((row.window, row.previous), Default::default(), "{row:?}");
    // The rate now spaces calls with no configured limit: a second apart.
    let a = reserve(&*other, &SC, &ask(None, 1)).await.wait;
    let b = reserve(&*other, &SC, &ask(None, 1)).await.wait;
    let gap = b.saturating_sub(a);
    assert!(
        gap > Duration::from_millis(500) && gap <= Duration::from_millis(1001),
        "{a:?} {b:?}"
    );
    // Answers told from before the decrease are not counted; those of its epoch are.
    let late = SlotAsk {
        answered: 4,
        refused: 4,
        ..ask(None, 0)
    };
    let row = reserve(&*other, &SC, &late).await;
    assert_eq!(row.window.started + row.previous.started, 3, "{row:?}");
    assert_eq!(row.window.answered + row.previous.answered, 0, "{row:?}");
    assert_eq!(row.window.refused + row.previous.refused, 0, "{row:?}");
    let told = SlotAsk {
        answered: 2,
        refused: 1,
        ..ask(None, 1)
    };
    let row = reserve(&*other, &SC, &told).await;
    assert_eq!(row.window.answered + row.previous.answered, 2, "{row:?}");
    assert_eq!(row.window.refused + row.previous.refused, 1, "{row:?}");
    // A raise in the current epoch counts, under its cap; one from before the decrease not.
    let mut raise = ask(None, 1);
    raise.raise = 1.5;
    assert_eq!(reserve(&*f.store, &SC, &raise).await.adaptive, Some(2.5));
    raise.cap = 3.0;
    assert_eq!(reserve(&*f.store, &SC, &raise).await.adaptive, Some(3.0));
    let mut stale = ask(None, 0);
    stale.raise = 100.0;
    assert_eq!(reserve(&*f.store, &SC, &stale).await.adaptive, Some(3.0));
    // A raise past the ceiling ends the adaptive limit.
    let mut past = ask(None, 1);
    past.raise = 20_000.0;
    past.cap = 1e9;
    assert_eq!(reserve(&*f.store, &SC, &past).await.adaptive, None);
    f.finish().await;
}

/// Every row of JOURNAL.md's "States and what prepare_pay does" table.
async fn state_table(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b, c) = (holder("a"), holder("bb"), holder("ccc"));
    let id = "2257455039610311973";

    // none → claim (in_flight, owner, lease_until).
    let before = SystemTime::now() - Duration::from_secs(5);
    let r = claimed(claim(s, id, &a, LONG).await);
    assert_eq!(r.state, State::InFlight);
    assert_eq!(r.owner, a.owner);
    assert_eq!(r.claim_id.as_deref(), Some(a.claim_id.as_str()));
    assert_eq!(r.scope, *SC);
    assert!(r.history.is_empty());
    assert_eq!(r.attempts, 0);
    assert!(r.created_at >= before && r.created_at == r.updated_at);
    let until = r.lease_until.expect("a lease");
    assert!(until > SystemTime::now() + LONG - Duration::from_secs(60));
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(r.clone()));

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
    let e = s
        .record_outcome(&SC, id, &b, paid("t-x"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.message().contains("in_flight"), "{e}");

    // declined → claim again (a new payment).
    let r = s.record_outcome(&SC, id, &a, declined("t1")).await.unwrap();
    assert_eq!(r.state, State::Declined);
    assert_eq!(r.attempts, 4);
    assert_eq!(r.error_code.as_deref(), Some("payment_declined"));
    assert_eq!(r.lease_until, None);
    assert_eq!(r.trace_ids, vec!["t1"]);
    let r = claimed(claim(s, id, &b, LONG).await);
    assert_eq!((r.state, &r.owner), (State::InFlight, &b.owner));

    // paid → replay the recorded payment (no request).
    let r = s.record_outcome(&SC, id, &b, paid("t2")).await.unwrap();
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
    let e = s.record_outcome(&SC, id, &b, paid("t3")).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);

    // unknown → payment_outcome_unknown naming resolve.
    let id2 = "2257455039610311974";
    claimed(claim(s, id2, &a, LONG).await);
    let r = s.record_outcome(&SC, id2, &a, unknown("t9")).await.unwrap();
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
        .resolve(&SC, id2, false, "no deduction in Alipay", &ops())
        .await
        .unwrap();
    assert_eq!(r.state, State::NotPaid);
    let r = claimed(claim(s, id2, &c, LONG).await);
    assert_eq!((r.state, &r.owner), (State::InFlight, &c.owner));
    assert_eq!(r.history.len(), 1);
    assert_eq!(r.history[0].by, ops());
    assert_eq!(r.history[0].note, "no deduction in Alipay");

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
    let (a, b) = (holder("a"), holder("bb"));

    // A claim that created the record: releasing removes it.
    let id = "1001";
    claimed(claim(s, id, &a, LONG).await);
    let e = s.release(&SC, id, &b).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.release(&SC, id, &a).await.unwrap(), None);
    assert_eq!(s.get(&SC, id).await.unwrap(), None);
    let e = s.release(&SC, id, &a).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    claimed(claim(s, id, &b, LONG).await);

    // A claim of a declined order: releasing restores the declined record exactly.
    let id = "1002";
    let settled = settle(s, id, &a, declined("t1")).await;
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(s.release(&SC, id, &b).await.unwrap(), Some(settled.clone()));
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(settled.clone()));
    let e = s.release(&SC, id, &b).await.unwrap_err();
    assert!(e.message().contains("declined"), "{e}");

    // The same for not_paid.
    let id = "1003";
    settle(s, id, &a, unknown("t1")).await;
    let settled = s.resolve(&SC, id, false, "", &ops()).await.unwrap();
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(s.release(&SC, id, &b).await.unwrap(), Some(settled.clone()));
    assert_eq!(claim(s, id, &a, LONG).await.record().state, State::InFlight);
    f.finish().await;
}

/// The fence before each request also renews the lease: only for the claim's holder, only
/// while at least the margin (a quarter of the asked lease, at most 2 s) is left.
async fn renew_keeps_the_claim_alive(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (holder("a"), holder("bb"));
    let id = "2001";
    let first = claimed(claim(s, id, &a, Duration::from_millis(3000)).await);
    let renewed = s.fence(&SC, id, &a, LONG).await.unwrap();
    assert!(renewed.lease_until > first.lease_until);
    assert_eq!(renewed.claim_id, first.claim_id);
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(renewed.clone()));
    // Another owner's fence: the order is held by a live claim.
    let e = s.fence(&SC, id, &b, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::PaymentInProgress, "{e}");
    // Past the claim's first lease, the renewed one still holds.
    tokio::time::sleep(Duration::from_millis(3200)).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::InProgress(_)
    ));
    // An owner whose lease ran out can no longer fence, even while nobody has noticed: its
    // request must not go out. The record stays as it was, and the next claim finds it unknown.
    let id = "2002";
    let before = claimed(claim(s, id, &a, Duration::from_millis(30)).await);
    tokio::time::sleep(Duration::from_millis(80)).await;
    let e = s.fence(&SC, id, &a, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(e.message().contains("nothing was sent"), "{e}");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(before));
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    // Fencing a settled or missing order is refused.
    let id = "2003";
    settle(s, id, &a, paid("t")).await;
    assert_eq!(
        s.fence(&SC, id, &a, LONG).await.unwrap_err().code(),
        ErrorCode::Journal
    );
    assert_eq!(
        s.fence(&SC, "2004", &a, LONG).await.unwrap_err().code(),
        ErrorCode::Journal
    );
    f.finish().await;
}

async fn expired_lease_becomes_unknown(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (holder("a"), holder("bb"));
    let id = "3001";
    claimed(claim(s, id, &a, Duration::from_millis(40)).await);
    tokio::time::sleep(Duration::from_millis(120)).await;
    // Reads do not change it: still in_flight, with the lease in the past.
    let r = s.get(&SC, id).await.unwrap().unwrap();
    assert_eq!(r.state, State::InFlight);
    assert!(r.lease_expired_at(SystemTime::now()));
    // The next claim, by anyone (even the owner), turns it unknown.
    let r = match claim(s, id, &b, LONG).await {
        ClaimOutcome::Unknown(r) => r,
        other => panic!("expected Unknown, got {other:?}"),
    };
    assert_eq!(r.state, State::Unknown);
    assert_eq!(r.owner, a.owner);
    assert_eq!(r.claim_id.as_deref(), Some(a.claim_id.as_str()));
    assert_eq!(r.lease_until, None);
    assert_eq!(r.error_code.as_deref(), Some("payment_outcome_unknown"));
    assert!(r.message.as_deref().unwrap().contains("expired"), "{r:?}");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(r.clone()));
    assert_eq!(
        claim(s, id, &a, LONG).await,
        ClaimOutcome::Unknown(r.clone())
    );
    assert_eq!(s.list(&SC, Some(State::Unknown)).await.unwrap(), vec![r]);
    // The owner cannot fence a claim that others saw expire...
    assert_eq!(
        s.fence(&SC, id, &a, LONG).await.unwrap_err().code(),
        ErrorCode::Journal
    );
    // ...but its real outcome replaces the guess; nobody else's does.
    assert!(s.record_outcome(&SC, id, &b, paid("t")).await.is_err());
    let r = s.record_outcome(&SC, id, &a, paid("t-late")).await.unwrap();
    assert_eq!(r.state, State::Paid);
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Paid(_)
    ));

    // Likewise an owner that finds it sent nothing may still release.
    let id = "3002";
    expired_claim(s, id, &a).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    assert_eq!(s.release(&SC, id, &a).await.unwrap(), None);
    claimed(claim(s, id, &b, LONG).await);

    // Once resolved, the late owner has no say any more.
    let id = "3003";
    expired_claim(s, id, &a).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    s.resolve(&SC, id, true, "seen in 1688", &ops())
        .await
        .unwrap();
    assert_eq!(
        s.record_outcome(&SC, id, &a, declined("t"))
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
    let (a, b) = (holder("a"), holder("bb"));
    let refused = |e: dajisaas::Error, state: &str| {
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(e.message().contains(state), "{state}: {e}");
    };
    // An order the journal never saw can only be recorded paid (history_and_corrections).
    refused(
        s.resolve(&SC, "4000", false, "", &ops()).await.unwrap_err(),
        "no payment record",
    );

    let id = "4001";
    claimed(claim(s, id, &a, LONG).await);
    refused(
        s.resolve(&SC, id, true, "", &ops()).await.unwrap_err(),
        "in_flight",
    );
    s.record_outcome(&SC, id, &a, declined("t")).await.unwrap();
    // declined → not_paid says nothing new: refused, naming the state.
    refused(
        s.resolve(&SC, id, false, "", &ops()).await.unwrap_err(),
        "declined",
    );
    settle(s, id, &a, paid("t")).await;
    refused(
        s.resolve(&SC, id, true, "", &ops()).await.unwrap_err(),
        "paid already",
    );

    // unknown → paid, with who and why.
    let id = "4002";
    settle(s, id, &a, unknown("t")).await;
    let nobody = Resolver {
        host: " ".into(),
        pid: 1,
        user: None,
    };
    let e = s.resolve(&SC, id, true, "x", &nobody).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let alice = Resolver {
        host: "desk-7".into(),
        pid: 77,
        user: Some("alice".into()),
    };
    let r = s
        .resolve(&SC, id, true, "Alipay record 2025-01-31", &alice)
        .await
        .unwrap();
    assert_eq!(r.state, State::Paid);
    assert_eq!(r.history.len(), 1);
    assert_eq!(r.history[0].by, alice);
    assert_eq!(r.history[0].note, "Alipay record 2025-01-31");
    assert_eq!(
        (r.history[0].from, r.history[0].to),
        (Some(State::Unknown), State::Paid)
    );
    assert_eq!(claim(s, id, &b, LONG).await, ClaimOutcome::Paid(r.clone()));
    refused(
        s.resolve(&SC, id, true, "", &ops()).await.unwrap_err(),
        "paid already",
    );

    // unknown → not_paid → paid again.
    let id = "4003";
    settle(s, id, &a, unknown("t")).await;
    assert_eq!(
        s.resolve(&SC, id, false, "", &ops()).await.unwrap().state,
        State::NotPaid
    );
    refused(
        s.resolve(&SC, id, false, "", &ops()).await.unwrap_err(),
        "not_paid",
    );
    claimed(claim(s, id, &b, LONG).await);
    assert_eq!(
        s.record_outcome(&SC, id, &b, paid("t2"))
            .await
            .unwrap()
            .state,
        State::Paid
    );

    // in_flight with an expired lease can be resolved directly.
    let id = "4004";
    expired_claim(s, id, &a).await;
    let r = s
        .resolve(&SC, id, false, "owner crashed before sending", &ops())
        .await
        .unwrap();
    assert_eq!((r.state, r.lease_until), (State::NotPaid, None));
    f.finish().await;
}

async fn list_get_and_json(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let a = holder("a");
    assert_eq!(s.list(&SC, None).await.unwrap(), vec![]);
    assert_eq!(s.get(&SC, "5000").await.unwrap(), None);
    for (id, outcome) in [
        ("5001", Some(paid("t1"))),
        ("5002", Some(declined("t2"))),
        ("5003", Some(unknown("t3"))),
        ("5004", None),
    ] {
        claimed(claim(s, id, &a, LONG).await);
        if let Some(outcome) = outcome {
            s.record_outcome(&SC, id, &a, outcome).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let all = s.list(&SC, None).await.unwrap();
    let ids: Vec<&str> = all.iter().map(|r| r.order_id.as_str()).collect();
    assert_eq!(ids, ["5001", "5002", "5003", "5004"]);
    for (state, id) in [
        (State::Paid, "5001"),
        (State::Declined, "5002"),
        (State::Unknown, "5003"),
        (State::InFlight, "5004"),
    ] {
        let records = s.list(&SC, Some(state)).await.unwrap();
        assert_eq!(records.len(), 1, "{state}");
        assert_eq!(records[0].order_id, id);
        assert_eq!(records[0].state, state);
    }
    assert_eq!(s.list(&SC, Some(State::NotPaid)).await.unwrap(), vec![]);

    // The JSON every binding shows, and back.
    let r = s.get(&SC, "5001").await.unwrap().unwrap();
    let j = r.to_json();
    assert_eq!(j["orderId"], "5001");
    assert_eq!(j["gateway"], "https://openapi.dajisaas.com:443");
    assert_eq!(j["appKey"], "app-test");
    assert_eq!(j["claimId"], json!(a.claim_id));
    assert_eq!(j["history"], json!([]));
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
    let in_flight = s.get(&SC, "5004").await.unwrap().unwrap();
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
    assert_eq!(f.store.get(&SC, "6001").await.unwrap(), Some(winner));
    // A declined order: the row exists and must be locked before it is read.
    let a = holder("a");
    claimed(claim(&*f.store, "6002", &a, LONG).await);
    f.store
        .record_outcome(&SC, "6002", &a, declined("t"))
        .await
        .unwrap();
    let winner = race(&stores, "6002").await;
    assert_eq!(f.store.get(&SC, "6002").await.unwrap(), Some(winner));
    // An expired claim: every racer learns it is unknown, and it stays unknown.
    claimed(claim(&*f.store, "6003", &a, Duration::from_millis(20)).await);
    tokio::time::sleep(Duration::from_millis(60)).await;
    let outcomes = claims_at_once(&stores, "6003").await;
    let unknown = f.store.get(&SC, "6003").await.unwrap().unwrap();
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
                let who = holder(&format!("racer{i:02}"));
                barrier.wait().await;
                store.claim(&SC, id, &who, LONG).await.unwrap()
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
    let a = holder("a");
    for id in ["", "12a", "99999999999999999999", " 1"] {
        assert_eq!(
            s.claim(&SC, id, &a, LONG).await.unwrap_err().code(),
            ErrorCode::InvalidArgument,
            "{id:?}"
        );
        assert_eq!(
            s.get(&SC, id).await.unwrap_err().code(),
            ErrorCode::InvalidArgument
        );
    }
    let e = s.claim(&SC, "7001", &a, Duration::ZERO).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert_eq!(s.get(&SC, "7001").await.unwrap(), None);
    claimed(claim(s, "7001", &a, LONG).await);
    let e = s.fence(&SC, "7001", &a, Duration::ZERO).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    for id in ["", "7x", " 7001"] {
        let e = s.resolve(&SC, id, true, "", &ops()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{id:?}");
        let e = s.fence(&SC, id, &a, LONG).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{id:?}");
    }
    f.finish().await;
}

// ----- one store at a time -----

#[tokio::test]
async fn memory_is_one_store_per_process() {
    let one = open_journal("memory").unwrap();
    let two = open_journal("").unwrap();
    let three = open_journal(dajisaas::DEFAULT_JOURNAL).unwrap();
    assert_eq!(one.url(), "memory");
    let a = holder("a");
    claimed(claim(&*one, "8001", &a, LONG).await);
    assert_eq!(two.get(&SC, "8001").await.unwrap().unwrap().owner, a.owner);
    assert!(matches!(
        claim(&*three, "8001", &holder("bb"), LONG).await,
        ClaimOutcome::InProgress(_)
    ));
    one.release(&SC, "8001", &a).await.unwrap();
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
        ErrorCode::OrderNotPayable,
        ErrorCode::Journal,
    ] {
        assert_eq!(Outcome::from_error(&Error::new(code, "?")), None, "{code}");
    }
}

#[test]
fn sqlite_file_that_cannot_be_opened_is_a_journal_error() {
    let e = open_journal("sqlite:///nonexistent-dir-dajisaas/x/payments.db").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(
        e.message()
            .contains("/nonexistent-dir-dajisaas/x/payments.db"),
        "{e}"
    );
}

#[tokio::test]
async fn sqlite_newer_schema_is_refused() {
    let files = TempFiles::new();
    let url = format!("sqlite://{}", files.db.display());
    drop(open_journal(&url).unwrap());
    let conn = rusqlite::Connection::open(&files.db).unwrap();
    conn.execute("UPDATE dajisaas_journal_schema SET version = 9", [])
        .unwrap();
    drop(conn);
    let e = open_journal(&url).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert!(e.message().contains("schema version is 9"), "{e}");
}

#[tokio::test]
async fn sqlite_survives_reopening() {
    let files = TempFiles::new();
    let url = format!("sqlite://{}", files.db.display());
    let a = holder("a");
    {
        let s = open_journal(&url).unwrap();
        claimed(claim(&*s, "9001", &a, LONG).await);
        s.record_outcome(&SC, "9001", &a, paid("t1")).await.unwrap();
    }
    let s = open_journal(&url).unwrap();
    assert!(matches!(
        claim(&*s, "9001", &holder("bb"), LONG).await,
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
        .claim(&SC, "9100", &Holder::new(Owner::this_process()), LONG)
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
    match claim(&*store, "9100", &Holder::new(Owner::this_process()), LONG).await {
        ClaimOutcome::InProgress(r) => assert_eq!(r.owner.pid, winner_pid),
        other => panic!("expected the child's claim, got {other:?}"),
    }
}

#[tokio::test]
async fn postgres_unreachable_is_a_journal_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let store = open_journal(&format!(
        "postgres://postgres@127.0.0.1:{port}/x?connect_timeout=5"
    ))
    .unwrap();
    let e = store.check().await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(e.message().contains(&format!("127.0.0.1:{port}")), "{e}");
    let e = store.claim(&SC, "1", &holder("a"), LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    let e = store.list(&SC, None).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
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
    let e = store.get(&SC, "1").await.unwrap_err();
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
    let a = holder("a");
    claimed(claim(&*store, "9200", &a, LONG).await);
    store
        .record_outcome(&SC, "9200", &a, paid("t"))
        .await
        .unwrap();
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
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
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
        let stranger = Holder::new(Owner {
            host: "elsewhere".into(),
            pid: 1,
            client_id: "another".into(),
        });
        // The client's scope: its gateway and app key.
        let scope = Scope::new(&sb.url(), DEFAULT_APP_KEY);
        claimed(store.claim(&scope, FOREIGN, &stranger, LONG).await.unwrap());
        let busy = pay(FOREIGN).await.unwrap_err();
        assert_eq!(busy.code(), ErrorCode::PaymentInProgress, "{busy}");
        // in_flight whose lease expired → unknown, no request.
        claimed(
            store
                .claim(&scope, EXPIRED, &stranger, Duration::from_millis(1))
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

// ----- scopes, fencing, history (issues 19 and 20) -----

for_each_store!(
    scopes_are_separate,
    fencing,
    history_and_corrections,
    notes_are_bounded,
);

/// A record belongs to one (gateway, app key): another scope neither sees nor is blocked by it.
async fn scopes_are_separate(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (holder("a"), holder("bb"));
    let sandbox = Scope::new("http://127.0.0.1:8080/", "app-test");
    let other_app = Scope::new("https://openapi.dajisaas.com:443", "app-other");
    assert_eq!(other_app.gateway, SC.gateway);
    let id = "1900";
    // Rehearsed (and paid) against the sandbox...
    claimed(s.claim(&sandbox, id, &a, LONG).await.unwrap());
    let rehearsed = s
        .record_outcome(&sandbox, id, &a, paid("t-sandbox"))
        .await
        .unwrap();
    assert_eq!(rehearsed.scope, sandbox);
    assert_eq!(rehearsed.scope.gateway, "http://127.0.0.1:8080");
    // ...answers nothing for the real gateway, nor for another app on the same gateway.
    for scope in [&*SC, &other_app] {
        assert_eq!(s.get(scope, id).await.unwrap(), None, "{scope}");
        assert_eq!(s.list(scope, None).await.unwrap(), vec![], "{scope}");
        let e = s.resolve(scope, id, false, "", &ops()).await.unwrap_err();
        assert!(e.message().contains("no payment record"), "{e}");
    }
    // The same order id is claimed afresh in each of them, by different claims at once.
    let real = claimed(s.claim(&SC, id, &b, LONG).await.unwrap());
    assert_eq!(
        (real.scope.clone(), real.state),
        (SC.clone(), State::InFlight)
    );
    let c = holder("ccc");
    let other = claimed(s.claim(&other_app, id, &c, LONG).await.unwrap());
    assert_eq!(other.scope, other_app);
    // Each scope's steps touch its own row only.
    s.record_outcome(&SC, id, &b, declined("t-real"))
        .await
        .unwrap();
    let e = s
        .record_outcome(&other_app, id, &b, paid("t"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.release(&other_app, id, &c).await.unwrap(), None);
    assert_eq!(s.get(&other_app, id).await.unwrap(), None);
    assert_eq!(s.get(&sandbox, id).await.unwrap(), Some(rehearsed.clone()));
    assert_eq!(
        s.get(&SC, id).await.unwrap().unwrap().state,
        State::Declined
    );
    assert_eq!(
        s.list(&sandbox, None).await.unwrap(),
        vec![rehearsed.clone()]
    );
    assert_eq!(
        s.list(&sandbox, Some(State::Declined)).await.unwrap(),
        vec![]
    );
    assert_eq!(
        s.claim(&sandbox, id, &b, LONG).await.unwrap(),
        ClaimOutcome::Paid(rehearsed)
    );
    f.finish().await;
}

/// The fence before a request is written: the holder's claim, in flight, with lease to spare.
async fn fencing(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let (a, b) = (holder("a"), holder("bb"));

    // The holder's fence succeeds and extends the lease, by the store's clock.
    let id = "2101";
    let first = claimed(claim(s, id, &a, Duration::from_secs(20)).await);
    let fenced = s.fence(&SC, id, &a, LONG).await.unwrap();
    assert_eq!(fenced.state, State::InFlight);
    assert_eq!(fenced.claim_id, first.claim_id);
    assert!(fenced.lease_until.unwrap() > first.lease_until.unwrap() + Duration::from_secs(200));
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(fenced.clone()));
    // Another live claim holds it: payment_in_progress for another owner, and for this owner
    // under another claim id (the order is held by the claim that is not this call's).
    for who in [&b, &other_claim(&a)] {
        let e = s.fence(&SC, id, who, LONG).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::PaymentInProgress, "{e}");
        assert!(e.message().contains("nothing was sent"), "{e}");
    }
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(fenced));

    // Less than the margin left: refused, even for the holder (here a quarter of 1 s).
    let id = "2102";
    claimed(claim(s, id, &a, Duration::from_millis(1000)).await);
    tokio::time::sleep(Duration::from_millis(850)).await;
    let e = s
        .fence(&SC, id, &a, Duration::from_millis(1000))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(e.message().contains("margin"), "{e}");

    // The lease expired and another claim turned the order unknown.
    let id = "2103";
    expired_claim(s, id, &a).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    let e = s.fence(&SC, id, &a, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(e.message().contains("unknown"), "{e}");
    assert_eq!(s.get(&SC, id).await.unwrap().unwrap().state, State::Unknown);

    // After a resolution: the claim id changed, the late holder can neither fence nor record.
    let id = "2104";
    expired_claim(s, id, &a).await;
    let resolved = s
        .resolve(&SC, id, false, "no Alipay record", &ops())
        .await
        .unwrap();
    assert_ne!(resolved.claim_id.as_deref(), Some(a.claim_id.as_str()));
    assert!(resolved.claim_id.is_some());
    let e = s.fence(&SC, id, &a, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    let e = s
        .record_outcome(&SC, id, &a, paid("t-late"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    let e = s.release(&SC, id, &a).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(resolved.clone()));
    // A new claim after the resolution: the late holder's old claim id is still refused.
    let c = other_claim(&a);
    let fresh = claimed(claim(s, id, &c, LONG).await);
    let e = s
        .record_outcome(&SC, id, &a, paid("t-late"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(fresh));
    s.fence(&SC, id, &c, LONG).await.unwrap();

    // An unknown outcome resolved while its holder was paused: the holder's late word is
    // refused and the resolution stands.
    let id = "2105";
    expired_claim(s, id, &a).await;
    assert!(matches!(
        claim(s, id, &b, LONG).await,
        ClaimOutcome::Unknown(_)
    ));
    let resolved = s
        .resolve(&SC, id, true, "seen in 1688", &ops())
        .await
        .unwrap();
    let e = s
        .record_outcome(&SC, id, &a, declined("t-late"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(resolved));

    // With a wrong claim id on a settled order, and on an order with no record: journal.
    let id = "2106";
    settle(s, id, &a, declined("t")).await;
    for who in [&a, &other_claim(&a), &b] {
        let e = s.fence(&SC, id, who, LONG).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Journal, "{e}");
        assert!(e.message().contains("declined"), "{e}");
    }
    let e = s.fence(&SC, "2107", &a, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert_eq!(s.get(&SC, "2107").await.unwrap(), None);
    // A wrong claim id cannot record or release a live claim either.
    let id = "2108";
    claimed(claim(s, id, &a, LONG).await);
    let wrong = other_claim(&a);
    assert!(s.record_outcome(&SC, id, &wrong, paid("t")).await.is_err());
    assert!(s.release(&SC, id, &wrong).await.is_err());
    assert_eq!(
        s.get(&SC, id).await.unwrap().unwrap().state,
        State::InFlight
    );
    f.finish().await;
}

/// Resolutions are appended to the history, with who, from, to and the note; corrections.
async fn history_and_corrections(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let a = holder("a");
    let bob = Resolver {
        host: "desk-9".into(),
        pid: 99,
        user: None,
    };
    let check_last =
        |r: &PaymentRecord, n: usize, from: Option<State>, to: State, note: &str, by: &Resolver| {
            assert_eq!(r.history.len(), n, "{r:?}");
            let last = r.history.last().unwrap();
            assert_eq!((last.from, last.to), (from, to), "{r:?}");
            assert_eq!(last.note, note);
            assert_eq!(&last.by, by);
            assert_eq!(r.state, to);
            assert!(last.at <= r.updated_at);
            assert!(last.at + Duration::from_secs(60) > SystemTime::now());
        };

    // unknown → not_paid → paid → not_paid: one entry each, oldest first.
    let id = "2201";
    settle(s, id, &a, unknown("t1")).await;
    let r = s
        .resolve(&SC, id, false, "no deduction", &ops())
        .await
        .unwrap();
    check_last(
        &r,
        1,
        Some(State::Unknown),
        State::NotPaid,
        "no deduction",
        &ops(),
    );
    let r = s
        .resolve(&SC, id, true, "Alipay record found late", &bob)
        .await
        .unwrap();
    check_last(
        &r,
        2,
        Some(State::NotPaid),
        State::Paid,
        "Alipay record found late",
        &bob,
    );
    let r = s
        .resolve(&SC, id, false, "refunded by 1688", &ops())
        .await
        .unwrap();
    check_last(
        &r,
        3,
        Some(State::Paid),
        State::NotPaid,
        "refunded by 1688",
        &ops(),
    );
    assert_eq!(r.history[0].note, "no deduction");
    assert_eq!(r.history[1].by, bob);
    assert!(r.history[0].at <= r.history[1].at && r.history[1].at <= r.history[2].at);
    assert_eq!(r.trace_ids, vec!["t1"], "a resolution keeps what was seen");
    assert_eq!(s.get(&SC, id).await.unwrap(), Some(r.clone()));
    // The history in the JSON every binding shows, and back.
    let j = r.to_json();
    assert_eq!(j["history"][0]["from"], "unknown");
    assert_eq!(j["history"][0]["to"], "not_paid");
    assert_eq!(
        j["history"][1]["by"],
        json!({"host": "desk-9", "pid": 99, "user": null})
    );
    assert_eq!(j["history"][2]["note"], "refunded by 1688");
    assert_eq!(PaymentRecord::from_json(&j).unwrap(), r);
    // not_paid can be paid again; the history stays with the order.
    let r = claimed(claim(s, id, &a, LONG).await);
    assert_eq!(r.history.len(), 3);
    let r = s.record_outcome(&SC, id, &a, paid("t2")).await.unwrap();
    assert_eq!(r.history.len(), 3);

    // declined → paid (the deduction was found after all); then paid → not_paid.
    let id = "2202";
    settle(s, id, &a, declined("t1")).await;
    let r = s
        .resolve(&SC, id, true, "deducted after all", &ops())
        .await
        .unwrap();
    check_last(
        &r,
        1,
        Some(State::Declined),
        State::Paid,
        "deducted after all",
        &ops(),
    );
    assert_eq!(claim(s, id, &a, LONG).await, ClaimOutcome::Paid(r.clone()));

    // paid for an order the journal never saw (paid through a pay_url link).
    let id = "2203";
    let r = s
        .resolve(&SC, id, true, "paid by the buyer", &bob)
        .await
        .unwrap();
    check_last(&r, 1, None, State::Paid, "paid by the buyer", &bob);
    assert_eq!(r.scope, *SC);
    assert_eq!(r.attempts, 0);
    assert!(r.trace_ids.is_empty());
    assert!(
        r.message
            .as_deref()
            .unwrap()
            .contains("outside the library"),
        "{r:?}"
    );
    assert_eq!(r.to_json()["history"][0]["from"], json!(null));
    assert_eq!(claim(s, id, &a, LONG).await, ClaimOutcome::Paid(r.clone()));
    assert_eq!(s.list(&SC, Some(State::Paid)).await.unwrap().len(), 3);

    // Refused transitions name the state and write nothing.
    let refused = |e: dajisaas::Error, words: &str| {
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
        assert!(e.message().contains(words), "{words}: {e}");
    };
    let before = s.get(&SC, "2203").await.unwrap();
    refused(
        s.resolve(&SC, "2203", true, "again", &ops())
            .await
            .unwrap_err(),
        "paid already",
    );
    assert_eq!(s.get(&SC, "2203").await.unwrap(), before);
    refused(
        s.resolve(&SC, "2204", false, "?", &ops())
            .await
            .unwrap_err(),
        "no payment record",
    );
    assert_eq!(s.get(&SC, "2204").await.unwrap(), None);
    let id = "2205";
    claimed(claim(s, id, &a, LONG).await);
    refused(
        s.resolve(&SC, id, true, "?", &ops()).await.unwrap_err(),
        "in_flight",
    );
    refused(
        s.resolve(&SC, id, false, "?", &ops()).await.unwrap_err(),
        "in_flight",
    );
    s.record_outcome(&SC, id, &a, declined("t")).await.unwrap();
    let before = s.get(&SC, id).await.unwrap();
    refused(
        s.resolve(&SC, id, false, "?", &ops()).await.unwrap_err(),
        "declined",
    );
    assert_eq!(s.get(&SC, id).await.unwrap(), before);
    f.finish().await;
}

/// A note is at most 4096 bytes of UTF-8 without NUL: anything else is refused before the store
/// is touched, the record unchanged.
async fn notes_are_bounded(kind: Kind) {
    let f = Fixture::new(kind).await;
    let s = &*f.store;
    let a = holder("a");
    assert_eq!(dajisaas::MAX_NOTE_BYTES, 4096);
    let id = "2301";
    let unknown_record = settle(s, id, &a, unknown("t")).await;
    let too_long = "x".repeat(4097);
    let two_byte_too_long = "é".repeat(2049); // 4098 bytes, 2049 characters
    for note in [
        too_long.as_str(),
        two_byte_too_long.as_str(),
        "checked\0by ops",
        "\0",
    ] {
        for paid in [true, false] {
            let e = s.resolve(&SC, id, paid, note, &ops()).await.unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
            assert!(
                e.message().contains("4096") || e.message().contains("NUL"),
                "{e}"
            );
        }
        assert_eq!(
            s.get(&SC, id).await.unwrap().as_ref(),
            Some(&unknown_record)
        );
    }
    // Nor is a bad note written for an order without a record.
    assert!(
        s.resolve(&SC, "2302", true, &too_long, &ops())
            .await
            .is_err()
    );
    assert!(s.resolve(&SC, "2302", true, "a\0b", &ops()).await.is_err());
    assert_eq!(s.get(&SC, "2302").await.unwrap(), None);

    // 4096 bytes exactly (2048 two-byte characters) is taken, and read back whole.
    let longest = "é".repeat(2048);
    assert_eq!(longest.len(), 4096);
    let r = s.resolve(&SC, id, false, &longest, &ops()).await.unwrap();
    assert_eq!(r.history.len(), 1);
    assert_eq!(r.history[0].note, longest);
    let ascii = "n".repeat(4096);
    let r = s.resolve(&SC, id, true, &ascii, &ops()).await.unwrap();
    assert_eq!(r.history[1].note, ascii);
    let read = s.get(&SC, id).await.unwrap().unwrap();
    assert_eq!(read.history[0].note, longest);
    assert_eq!(read.history[1].note, ascii);
    f.finish().await;
}

// ----- schema version 1 → 2 -----

/// The rows every version-1 store of the migration test holds: a paid order, one resolved
/// `not_paid` and one resolved `paid` (version 1 kept one resolution: `resolved_by`, `note`).
const V1_ROWS: &str = "INSERT INTO dajisaas_payments (order_id, state, attempts, trace_ids,
        pay_channel, error_code, message, data, owner_host, owner_pid, owner_client_id,
        lease_until, created_at, updated_at, resolved_by, note, claim_open, prev) VALUES
    ('3901', 'paid', 1, '[\"t-old\"]', 'alipay', NULL, NULL, '{\"success\":true}', 'old-host', 7,
        'old-client', NULL, {T0}, {T1}, NULL, NULL, {FALSE}, NULL),
    ('3902', 'not_paid', 1, '[\"t-lost\"]', NULL, 'payment_outcome_unknown', 'read timeout',
        NULL, 'old-host', 7, 'old-client', NULL, {T0}, {T2}, 'ops-desk', 'no deduction', {FALSE},
        NULL),
    ('3903', 'paid', 2, '[]', NULL, NULL, NULL, NULL, 'old-host', 8, 'old-client-2', NULL,
        {T0}, {T2}, 'alice', 'seen in 1688', {FALSE}, NULL);
    INSERT INTO dajisaas_journal_schema (version) VALUES (1);";

const V1_T0: i64 = 1_700_000_000_000;
const V1_T1: i64 = 1_700_000_001_000;
const V1_T2: i64 = 1_700_000_002_123;

/// A version-1 SQLite journal, as that library created it.
fn sqlite_v1(path: &std::path::Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(
        "CREATE TABLE dajisaas_journal_schema (version INTEGER NOT NULL);
        CREATE TABLE dajisaas_payments (
            order_id TEXT PRIMARY KEY NOT NULL,
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            trace_ids TEXT NOT NULL,
            pay_channel TEXT,
            error_code TEXT,
            message TEXT,
            data TEXT,
            owner_host TEXT NOT NULL,
            owner_pid INTEGER NOT NULL,
            owner_client_id TEXT NOT NULL,
            lease_until INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            resolved_by TEXT,
            note TEXT,
            claim_open INTEGER NOT NULL,
            prev TEXT
        );
        CREATE INDEX dajisaas_payments_state ON dajisaas_payments (state, created_at);",
    )
    .unwrap();
    conn.execute_batch(
        &V1_ROWS
            .replace("{T0}", &V1_T0.to_string())
            .replace("{T1}", &V1_T1.to_string())
            .replace("{T2}", &V1_T2.to_string())
            .replace("{FALSE}", "0"),
    )
    .unwrap();
}

/// A version-1 PostgreSQL journal, as that library created it.
async fn postgres_v1(url: &str) {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let ts = |ms: i64| format!("to_timestamp({ms} / 1000.0)");
    client
        .batch_execute(
            "CREATE TABLE dajisaas_journal_schema (version INTEGER NOT NULL);
            CREATE TABLE dajisaas_payments (
                order_id TEXT PRIMARY KEY,
                state TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                trace_ids TEXT NOT NULL,
                pay_channel TEXT,
                error_code TEXT,
                message TEXT,
                data TEXT,
                owner_host TEXT NOT NULL,
                owner_pid BIGINT NOT NULL,
                owner_client_id TEXT NOT NULL,
                lease_until TIMESTAMPTZ,
                created_at TIMESTAMPTZ NOT NULL,
                updated_at TIMESTAMPTZ NOT NULL,
                resolved_by TEXT,
                note TEXT,
                claim_open BOOLEAN NOT NULL,
                prev TEXT
            );
            CREATE INDEX dajisaas_payments_state ON dajisaas_payments (state, created_at);",
        )
        .await
        .unwrap();
    client
        .batch_execute(
            &V1_ROWS
                .replace("{T0}", &ts(V1_T0))
                .replace("{T1}", &ts(V1_T1))
                .replace("{T2}", &ts(V1_T2))
                .replace("{FALSE}", "false"),
        )
        .await
        .unwrap();
}

async fn schema_version_of(kind: Kind, url: &str, path: Option<&std::path::Path>) -> i64 {
    match kind {
        Kind::Sqlite => rusqlite::Connection::open(path.unwrap())
            .unwrap()
            .query_row(
                "SELECT MAX(version) FROM dajisaas_journal_schema",
                [],
                |r| r.get(0),
            )
            .unwrap(),
        _ => {
            let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(connection);
            let v: i32 = client
                .query_one("SELECT MAX(version) FROM dajisaas_journal_schema", &[])
                .await
                .unwrap()
                .get(0);
            i64::from(v)
        }
    }
}

/// A version-1 store is migrated: nothing is lost, its rows answer for every scope (a paid
/// order is replayed whatever the client's gateway) until a client changes them, which moves
/// them into its scope, and each one's resolution is the first entry of its history.
async fn v1_store_migrates(kind: Kind) {
    let files = TempFiles::new();
    let (url, pg_db) = match kind {
        Kind::Sqlite => {
            sqlite_v1(&files.db);
            (format!("sqlite://{}", files.db.display()), None)
        }
        Kind::Postgres => {
            let (url, db) = fresh_pg_database().await;
            postgres_v1(&url).await;
            (url, Some(db))
        }
        Kind::Memory => unreachable!("a memory journal has no version 1"),
    };
    let s = open_journal(&url).unwrap();
    s.check().await.unwrap();
    assert_eq!(
        schema_version_of(kind, &url, Some(&files.db)).await,
        JOURNAL_SCHEMA_VERSION
    );
    let other = Scope::new("http://127.0.0.1:9999", "another-app");
    let (a, b) = (holder("a"), holder("bb"));

    // Every value kept, under the legacy scope, in every scope.
    for scope in [&*SC, &other] {
        let r = s.get(scope, "3901").await.unwrap().expect("3901 kept");
        assert!(r.scope.is_legacy(), "{r:?}");
        assert_eq!(r.state, State::Paid);
        assert_eq!(r.attempts, 1);
        assert_eq!(r.trace_ids, vec!["t-old"]);
        assert_eq!(r.pay_channel.as_deref(), Some("alipay"));
        assert_eq!(r.data, Some(json!({"success": true})));
        assert_eq!(
            r.owner,
            Owner {
                host: "old-host".into(),
                pid: 7,
                client_id: "old-client".into()
            }
        );
        assert_eq!(r.claim_id, None);
        assert_eq!(
            r.created_at,
            SystemTime::UNIX_EPOCH + Duration::from_millis(V1_T0 as u64)
        );
        assert_eq!(
            r.updated_at,
            SystemTime::UNIX_EPOCH + Duration::from_millis(V1_T1 as u64)
        );
        assert!(r.history.is_empty());
        let ids: Vec<String> = s
            .list(scope, None)
            .await
            .unwrap()
            .into_iter()
            .map(|r| r.order_id)
            .collect();
        assert_eq!(ids, ["3901", "3902", "3903"]);
        // A paid order answers claims in any scope, as that scope's: replayed, not paid again.
        let mut answered = r.clone();
        answered.scope = scope.clone();
        assert_eq!(
            s.claim(scope, "3901", &a, LONG).await.unwrap(),
            ClaimOutcome::Paid(answered)
        );
    }
    // The resolutions became the first entries of the histories.
    let resolved_at = SystemTime::UNIX_EPOCH + Duration::from_millis(V1_T2 as u64);
    for (id, to, host, note) in [
        ("3902", State::NotPaid, "ops-desk", "no deduction"),
        ("3903", State::Paid, "alice", "seen in 1688"),
    ] {
        let r = s.get(&other, id).await.unwrap().unwrap();
        assert_eq!(r.history.len(), 1, "{r:?}");
        let h = &r.history[0];
        assert_eq!((h.to, r.state), (to, to));
        assert_eq!(h.from, Some(State::Unknown));
        assert_eq!((h.by.host.as_str(), h.note.as_str()), (host, note));
        assert_eq!(h.at, resolved_at);
        assert_eq!(r.updated_at, resolved_at);
    }
    let r = s.get(&SC, "3902").await.unwrap().unwrap();
    assert_eq!(r.error_code.as_deref(), Some("payment_outcome_unknown"));
    assert_eq!(r.message.as_deref(), Some("read timeout"));

    // Changed by a client, a row becomes that client's scope's: the others no longer see it.
    // (What the steps return is checked by migrated_row_replies_carry_the_new_scope.)
    claimed(s.claim(&SC, "3902", &a, LONG).await.unwrap());
    let r = s.get(&SC, "3902").await.unwrap().unwrap();
    assert_eq!((r.scope.clone(), r.history.len()), (SC.clone(), 1));
    assert_eq!(
        (r.state, r.trace_ids.clone()),
        (State::InFlight, vec!["t-lost".to_string()])
    );
    assert_eq!(s.get(&other, "3902").await.unwrap(), None);
    claimed(s.claim(&other, "3902", &b, LONG).await.unwrap());
    // Released, the claim restores the record as it was, in the claimant's scope.
    let restored = s.release(&SC, "3902", &a).await.unwrap().unwrap();
    assert_eq!(restored.state, State::NotPaid);
    assert_eq!(
        s.get(&SC, "3902").await.unwrap().unwrap().state,
        State::NotPaid
    );
    assert_eq!(
        s.get(&other, "3902").await.unwrap().unwrap().state,
        State::InFlight
    );
    s.resolve(&SC, "3901", false, "refunded", &ops())
        .await
        .unwrap();
    let r = s.get(&SC, "3901").await.unwrap().unwrap();
    assert_eq!(r.scope, *SC);
    assert_eq!(r.state, State::NotPaid);
    assert_eq!(r.trace_ids, vec!["t-old"]);
    assert_eq!(r.history.len(), 1);
    assert_eq!(r.history[0].from, Some(State::Paid));
    assert_eq!(s.get(&other, "3901").await.unwrap(), None);
    // 3903 is still everyone's.
    for scope in [&*SC, &other] {
        assert!(
            s.get(scope, "3903")
                .await
                .unwrap()
                .unwrap()
                .scope
                .is_legacy()
        );
    }
    // Reopened: version 2, nothing migrated twice.
    drop(s);
    let s = open_journal(&url).unwrap();
    assert_eq!(s.list(&SC, None).await.unwrap().len(), 3);
    assert_eq!(
        s.list(&other, None).await.unwrap().len(),
        2,
        "3902 (its own) and 3903"
    );
    assert_eq!(
        schema_version_of(kind, &url, Some(&files.db)).await,
        JOURNAL_SCHEMA_VERSION
    );
    drop(s);
    if let Some(db) = pg_db {
        drop_pg_database(&db).await;
    }
}

mod v1_store_migrates {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::v1_store_migrates(super::Kind::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::v1_store_migrates(super::Kind::Postgres).await
    }
}

// ----- PostgreSQL failures: the input's, and the journal's -----

/// A value the database refuses (SQLSTATE class 22) is `invalid_argument`, and the step wrote
/// nothing. Order ids, notes and leases are checked before the store is touched; the gateway's
/// words recorded with an outcome are made storable (a NUL becomes U+FFFD: an outcome must never
/// fail to be recorded for it); what still reaches PostgreSQL unchecked is the app key of a
/// scope, which PostgreSQL's text refuses with a NUL (22021).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_refused_value_is_invalid_argument() {
    let f = Fixture::new(Kind::Postgres).await;
    let s = &*f.store;
    let a = holder("a");
    let id = "2401";
    let r = claimed(claim(s, id, &a, LONG).await);
    let with_nul = Outcome::Declined {
        attempts: 1,
        trace_ids: vec!["t".into()],
        error_code: "payment_declined".into(),
        message: "refused\0by the bank".into(),
    };
    let recorded = s.record_outcome(&SC, id, &a, with_nul).await.unwrap();
    assert_eq!(
        recorded.message.as_deref(),
        Some("refused\0by the bank"),
        "the step answers what it was given"
    );
    let stored = s.get(&SC, id).await.unwrap().unwrap();
    assert_eq!(
        stored.message.as_deref(),
        Some("refused\u{FFFD}by the bank")
    );
    assert_ne!(stored, r);

    let bad_scope = Scope::new("https://openapi.dajisaas.com", "app\0key");
    let e = s.claim(&bad_scope, id, &a, LONG).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    let e = s.get(&bad_scope, id).await.unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    assert_eq!(
        s.get(&SC, id).await.unwrap().unwrap().state,
        State::Declined
    );
    f.finish().await;
}

/// The server's `host:port` in a PostgreSQL URL.
fn pg_server(url: &str) -> String {
    let rest = url.split_once('@').map_or(url, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap().to_string()
}

/// `url` with its server replaced by a proxy's port on 127.0.0.1.
fn through(url: &str, port: u16) -> String {
    url.replacen(&pg_server(url), &format!("127.0.0.1:{port}"), 1)
}

/// A TCP proxy in front of the test server whose connections the test cuts.
struct Proxy {
    port: u16,
    accept: tokio::task::AbortHandle,
    links: Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(target: String) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let links = Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = links.clone();
        let accept = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                let target = target.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                kept.lock().unwrap().push(link.abort_handle());
            }
        })
        .abort_handle();
        Proxy {
            port,
            accept,
            links,
        }
    }

    /// Closes every connection and stops listening.
    async fn cut(&self) {
        self.accept.abort();
        for link in self.links.lock().unwrap().drain(..) {
            link.abort();
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A connection lost in the middle of a step, and a server that cannot be reached any more,
/// are `journal` errors naming the journal; the step changed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_lost_connection_is_a_journal_error() {
    let (url, db) = fresh_pg_database().await;
    let proxy = Proxy::start(pg_server(&url)).await;
    let proxied_url = through(&url, proxy.port);
    let s = open_journal(&proxied_url).unwrap();
    let a = holder("a");
    let id = "2402";
    claimed(claim(&*s, id, &a, LONG).await);
    let declined_record = s.record_outcome(&SC, id, &a, declined("t")).await.unwrap();

    // Another session holds the order's row: the next claim waits on its lock...
    let (admin, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    admin
        .batch_execute(&format!(
            "BEGIN; SELECT * FROM dajisaas_payments WHERE order_id = '{id}' FOR UPDATE"
        ))
        .await
        .unwrap();
    let waiting = {
        let s = s.clone();
        tokio::spawn(async move {
            let b = holder("bb");
            s.claim(&SC, "2402", &b, LONG).await
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "the claim waits for the row lock");
    // ...and loses its connection meanwhile.
    proxy.cut().await;
    let e = tokio::time::timeout(Duration::from_secs(30), waiting)
        .await
        .expect("the claim ends")
        .unwrap()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    assert!(e.message().contains("connection lost"), "{e}");
    assert!(e.message().contains(&format!(":{}", proxy.port)), "{e}");
    // The server is unreachable now: every step is a journal error.
    for e in [
        s.check().await.unwrap_err(),
        s.get(&SC, id).await.unwrap_err(),
        s.claim(&SC, id, &a, LONG).await.unwrap_err(),
    ] {
        assert_eq!(e.code(), ErrorCode::Journal, "{e}");
    }
    admin.batch_execute("ROLLBACK").await.unwrap();
    // Nothing changed.
    let direct = open_journal(&url).unwrap();
    assert_eq!(direct.get(&SC, id).await.unwrap(), Some(declined_record));
    drop((s, direct, admin));
    drop_pg_database(&db).await;
}

/// The record a step returns is the record as the step wrote it: a row from before scopes that a
/// client changes is now that client's, and the step's answer says so (as `get` does).
async fn migrated_row_replies_carry_the_new_scope(kind: Kind) {
    let files = TempFiles::new();
    let (url, pg_db) = match kind {
        Kind::Sqlite => {
            sqlite_v1(&files.db);
            (format!("sqlite://{}", files.db.display()), None)
        }
        _ => {
            let (url, db) = fresh_pg_database().await;
            postgres_v1(&url).await;
            (url, Some(db))
        }
    };
    let s = open_journal(&url).unwrap();
    let a = holder("a");
    let r = claimed(s.claim(&SC, "3902", &a, LONG).await.unwrap());
    assert_eq!(Some(&r), s.get(&SC, "3902").await.unwrap().as_ref());
    assert_eq!(r.scope, *SC);
    let r = s
        .resolve(&SC, "3901", false, "refunded", &ops())
        .await
        .unwrap();
    assert_eq!(Some(&r), s.get(&SC, "3901").await.unwrap().as_ref());
    drop(s);
    if let Some(db) = pg_db {
        drop_pg_database(&db).await;
    }
}

mod migrated_row_replies_carry_the_new_scope {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::migrated_row_replies_carry_the_new_scope(super::Kind::Sqlite).await
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::migrated_row_replies_carry_the_new_scope(super::Kind::Postgres).await
    }
}

/// A TCP proxy in front of the test server that counts its clients' round trips: the times a
/// client sends after an answer reached it. The server's bytes are passed on only once the
/// client has been silent for [`RoundTrips::QUIET`], so requests sent together without waiting
/// (pipelined) count once, and every request that needed an answer counts anew.
struct RoundTrips {
    port: u16,
    count: Arc<AtomicUsize>,
    accept: tokio::task::AbortHandle,
}

impl RoundTrips {
    const QUIET: Duration = Duration::from_millis(200);

    async fn start(target: String) -> RoundTrips {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let count = Arc::new(AtomicUsize::new(0));
        let counted = count.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = tokio::net::TcpStream::connect(&target).await.unwrap();
                tokio::spawn(Self::relay(client, server, counted.clone()));
            }
        })
        .abort_handle();
        RoundTrips {
            port,
            count,
            accept,
        }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    async fn relay(
        client: tokio::net::TcpStream,
        server: tokio::net::TcpStream,
        count: Arc<AtomicUsize>,
    ) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut from_client, mut to_client) = client.into_split();
        let (mut from_server, mut to_server) = server.into_split();
        // When the client last sent, and whether an answer reached it since.
        let last = Arc::new(std::sync::Mutex::new((std::time::Instant::now(), true)));
        let up = {
            let last = last.clone();
            async move {
                let mut buf = vec![0; 1 << 16];
                while let Ok(n @ 1..) = from_client.read(&mut buf).await {
                    {
                        let mut last = last.lock().unwrap();
                        if last.1 {
                            count.fetch_add(1, Ordering::SeqCst);
                        }
                        *last = (std::time::Instant::now(), false);
                    }
                    if to_server.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        };
        let down = async move {
            let mut buf = vec![0; 1 << 16];
            while let Ok(n @ 1..) = from_server.read(&mut buf).await {
                loop {
                    let silent = last.lock().unwrap().0.elapsed();
                    if silent >= Self::QUIET {
                        break;
                    }
                    tokio::time::sleep(Self::QUIET - silent).await;
                }
                // Marked before the client can see the answer, and so answer it.
                last.lock().unwrap().1 = true;
                if to_client.write_all(&buf[..n]).await.is_err() {
                    break;
                }
            }
        };
        tokio::join!(up, down);
    }
}

impl Drop for RoundTrips {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// A payment's steps on PostgreSQL are one round trip each (claim, fence, outcome), and so is a
/// claim that changes nothing (a paid order); a claim that changes a record (after a decline) is
/// two. Releases and resolutions take the locking two (`BEGIN` with the locking read and the
/// clock, then the write with `COMMIT`), and so does an outcome after its one-trip statement
/// found the row changed since; a read is one. All on statements prepared when the connection
/// opened.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_round_trips_per_step() {
    let (url, db) = fresh_pg_database().await;
    let trips = RoundTrips::start(pg_server(&url)).await;
    let s = open_journal(&through(&url, trips.port)).unwrap();
    // The connection, the schema check and the statements' preparation, once.
    s.check().await.unwrap();
    let (a, b) = (holder("a"), holder("bb"));
    let mut counted = Vec::new();
    macro_rules! count {
        ($name:literal, $step:expr) => {{
            let before = trips.count();
            let value = $step.await.unwrap();
            counted.push(($name, trips.count() - before));
            value
        }};
    }
    count!("claim", s.claim(&SC, "4001", &a, LONG));
    count!("fence", s.fence(&SC, "4001", &a, LONG));
    count!("record", s.record_outcome(&SC, "4001", &a, paid("t")));
    count!("claim of a paid order", s.claim(&SC, "4001", &b, LONG));
    count!("claim", s.claim(&SC, "4002", &a, LONG));
    count!("release", s.release(&SC, "4002", &a));
    count!("claim of a released order", s.claim(&SC, "4002", &a, LONG));
    // Another process (a store of its own) renews the claim: this one's view of the row is old.
    let other = open_journal(&through(&url, trips.port)).unwrap();
    other.fence(&SC, "4002", &a, LONG).await.unwrap();
    count!(
        "record over a row changed since",
        s.record_outcome(&SC, "4002", &a, declined("t"))
    );
    count!("claim of a declined order", s.claim(&SC, "4002", &b, LONG));
    count!(
        "resolve",
        s.resolve(&SC, "4003", true, "seen in the ledger", &ops())
    );
    count!("get", s.get(&SC, "4001"));
    count!("list", s.list(&SC, None));
    assert_eq!(
        counted,
        [
            ("claim", 1),
            ("fence", 1),
            ("record", 1),
            ("claim of a paid order", 1),
            ("claim", 1),
            ("release", 2),
            ("claim of a released order", 1),
            ("record over a row changed since", 3),
            ("claim of a declined order", 2),
            ("resolve", 2),
            ("get", 1),
            ("list", 1),
        ]
    );
    let declined_then_claimed = s.get(&SC, "4002").await.unwrap().unwrap();
    assert_eq!(declined_then_claimed.state, State::InFlight);
    assert_eq!(declined_then_claimed.claim_id, Some(b.claim_id.clone()));
    assert_eq!(
        s.get(&SC, "4001").await.unwrap().unwrap().state,
        State::Paid
    );
    drop(s);
    drop_pg_database(&db).await;
}

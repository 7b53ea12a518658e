//! The PostgreSQL journal: one database shared by every process on every machine.
//!
//! The reference mutation is one transaction that locks the order's row (`SELECT … FOR UPDATE`)
//! before reading it; an order without a row is inserted with `INSERT … ON CONFLICT DO NOTHING`,
//! and a claim that loses that race starts over and finds the winner's row. Times come from the
//! database's clock, so the machines of a fleet agree on when a lease ends.
//!
//! That transaction is two round trips: `BEGIN` and the locking read (with the clock) sent
//! together, then the write and `COMMIT` sent together. A payment's own steps (claim, fence,
//! outcome) are first tried as one statement each, one round trip (`one_trip`), which does what
//! the locking transaction would do or nothing. Each connection prepares the journal's statements
//! once, when it opens (one round trip), so that the server neither parses nor plans them again
//! at every step.
//!
//! TLS: `sslmode=require` (or `verify-full`/`verify-ca`, which mean the same here) connects
//! through rustls and always verifies the server's certificate and host name, against the
//! system's roots or the PEM file `sslrootcert=/abs/path.pem` names. `disable` or no `sslmode`
//! is plain TCP. `prefer` and `allow` are refused: they fall back to plain text silently.
//!
//! Connections (up to [`POOL_SIZE`] per journal) each run on a small thread of their own, so
//! that they outlive the runtime of whichever caller opened them.

use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use futures_util::future::{join, try_join, try_join_all};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Config, NoTls, Row, Statement};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::pace::{self, Dialect, Lowering, PaceRow, PaceStore, SlotAsk};
use super::row::row_params;
use super::{
    Backend, COLUMN_COUNT, Change, JOURNAL_SCHEMA_VERSION, JournalFuture, Op, PaymentRecord, Reply,
    RowValues, Scope, State, Stored, bounded, newer_schema, percent_decode, redact, scoped_first,
};
use crate::error::{Error, ErrorCode, Result};
use crate::per_process::PerProcess;
use one_trip::SeenRows;

/// Most connections one journal keeps.
pub(crate) const POOL_SIZE: usize = 4;

/// Serialises creating and migrating the schema across processes ("dajijnl1").
const SCHEMA_LOCK: i64 = 0x6461_6a69_6a6e_6c31;

/// The columns as they are read (a `SELECT` list or a `RETURNING` one), times as milliseconds
/// since the epoch.
macro_rules! read_columns {
    () => {
        "gateway, app_key, order_id, claim_id, state, attempts, trace_ids, \
         pay_channel, error_code, message, data, owner_host, owner_pid, owner_client_id, \
         (extract(epoch FROM lease_until) * 1000)::bigint AS lease_until_ms, \
         (extract(epoch FROM created_at) * 1000)::bigint AS created_at_ms, \
         (extract(epoch FROM updated_at) * 1000)::bigint AS updated_at_ms, \
         history, claim_open, prev"
    };
}

const SELECT: &str = concat!("SELECT ", read_columns!(), " FROM dajisaas_payments");

/// The order's rows in a scope and from before scopes (`$1` order, `$2` gateway, `$3` app key).
const ORDER_ROWS: &str = "WHERE order_id = $1 \
     AND ((gateway = $2 AND app_key = $3) OR (gateway = '' AND app_key = ''))";

/// Three text parameters: a row's keys, or a scope and a state.
const TEXT3: [Type; 3] = [Type::TEXT, Type::TEXT, Type::TEXT];

/// The order's rows.
static ORDER: LazyLock<String> = LazyLock::new(|| format!("{SELECT} {ORDER_ROWS}"));

/// A scope's rows and those from before scopes (`$1` gateway, `$2` app key), all or those in
/// the state `$3`.
static LIST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "{SELECT} WHERE ((gateway = $1 AND app_key = $2) OR (gateway = '' AND app_key = '')) \
         AND ($3::text IS NULL OR state = $3) ORDER BY created_at, order_id COLLATE \"C\""
    )
});

/// The database's clock, to the millisecond (the rows keep milliseconds).
macro_rules! now {
    () => {
        "date_trunc('milliseconds', clock_timestamp())"
    };
}

/// The order's rows, locked, then the database's clock, read once every lock is held (the
/// count drains the locking scan first): each row with the clock in its last column, or, when
/// the order has no row, one row of NULLs and the clock.
static LOCK_ROWS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH locked AS MATERIALIZED ({SELECT} {ORDER_ROWS} FOR UPDATE), \
         clock AS MATERIALIZED (SELECT (extract(epoch FROM {now}) * 1000)::bigint \
             AS now_ms FROM (SELECT count(*) FROM locked) AS every_lock_held) \
         SELECT locked.*, clock.now_ms FROM clock LEFT JOIN locked ON true",
        now = now!()
    )
});

/// `$n` (milliseconds since the epoch) as a timestamp.
macro_rules! ts {
    ($n:literal) => {
        concat!(
            "('epoch'::timestamptz + $",
            $n,
            "::bigint * interval '1 millisecond')"
        )
    };
}

const INSERT: &str = concat!(
    "INSERT INTO dajisaas_payments (gateway, app_key, order_id, claim_id, state, attempts, ",
    "trace_ids, pay_channel, error_code, message, data, owner_host, owner_pid, owner_client_id, ",
    "lease_until, created_at, updated_at, history, claim_open, prev) VALUES ",
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, ",
    ts!(15),
    ", ",
    ts!(16),
    ", ",
    ts!(17),
    ", $18, $19, $20) ON CONFLICT (gateway, app_key, order_id) DO NOTHING RETURNING 1"
);

/// The row `$1`-`$3` set to `$4`-`$20`, `updated_at` to the expression given.
macro_rules! update_row {
    ($updated_at:expr) => {
        concat!(
            "UPDATE dajisaas_payments SET claim_id = $4, state = $5, attempts = $6, ",
            "trace_ids = $7, pay_channel = $8, error_code = $9, message = $10, data = $11, ",
            "owner_host = $12, owner_pid = $13, owner_client_id = $14, lease_until = ",
            ts!(15),
            ", created_at = ",
            ts!(16),
            ", updated_at = ",
            $updated_at,
            ", history = $18, claim_open = $19, prev = $20 ",
            "WHERE gateway = $1 AND app_key = $2 AND order_id = $3"
        )
    };
}

const UPDATE: &str = concat!(update_row!(ts!(17)), " RETURNING 1");

// After the macros above, which its statements use.
mod one_trip;

const DELETE: &str = "DELETE FROM dajisaas_payments \
     WHERE gateway = $1 AND app_key = $2 AND order_id = $3 RETURNING 1";

/// A row from before scopes moved into the caller's scope, in one statement: the legacy row goes
/// only if the scope's row went in (a claim that inserted it first leaves both as they were).
static MOVE_LEGACY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH moved AS ({INSERT}) DELETE FROM dajisaas_payments \
         WHERE gateway = '' AND app_key = '' AND order_id = $3 AND EXISTS (SELECT FROM moved) \
         RETURNING 1"
    )
});

/// The types of the parameters of [`INSERT`], [`UPDATE`] and [`MOVE_LEGACY`]: the columns'.
const ROW_TYPES: [Type; COLUMN_COUNT] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT4,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
    Type::INT8,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
];

const CREATE_TABLE: &str = "CREATE TABLE dajisaas_payments (
        gateway TEXT NOT NULL,
        app_key TEXT NOT NULL,
        order_id TEXT NOT NULL,
        claim_id TEXT,
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
        history TEXT NOT NULL,
        claim_open BOOLEAN NOT NULL,
        prev TEXT,
        PRIMARY KEY (gateway, app_key, order_id)
    );
    CREATE INDEX dajisaas_payments_state ON dajisaas_payments (gateway, app_key, state, created_at);";

/// Version 1 had no scopes and one resolution per order: its rows take the legacy scope, and
/// their resolution becomes the first entry of the history (see `sqlite.rs`).
const MIGRATE_FROM_V1: &str = "DROP INDEX IF EXISTS dajisaas_payments_state;
    ALTER TABLE dajisaas_payments RENAME TO dajisaas_payments_v1;";

const COPY_FROM_V1: &str = "INSERT INTO dajisaas_payments
    SELECT '', '', order_id, NULL, state, attempts, trace_ids, pay_channel, error_code, message,
           data, owner_host, owner_pid, owner_client_id, lease_until, created_at, updated_at,
           CASE WHEN resolved_by IS NULL THEN '[]' ELSE json_build_array(json_build_object(
               'at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'),
               'by', json_build_object('host', resolved_by, 'pid', 0, 'user', NULL),
               'from', 'unknown', 'to', state, 'note', COALESCE(note, '')))::text END,
           claim_open, prev
    FROM dajisaas_payments_v1;
    DROP TABLE dajisaas_payments_v1;";

pub(crate) struct PostgresJournal {
    url: String,
    config: Config,
    tls: Option<MakeRustlsConnect>,
    timeout: Duration,
    /// This process's connections: a fork child never uses the parent's, whose threads it
    /// does not have.
    pool: PerProcess<Pool>,
}

struct Pool {
    idle: Mutex<Vec<Session>>,
    permits: Semaphore,
    schema: OnceCell<()>,
    seen: Arc<SeenRows>,
}

fn new_pool(_parent: Option<&Pool>) -> Pool {
    Pool {
        idle: Mutex::new(Vec::new()),
        permits: Semaphore::new(POOL_SIZE),
        schema: OnceCell::new(),
        seen: Arc::default(),
    }
}

impl fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresJournal")
            .field("url", &self.url)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

type Prepared = (String, Option<Option<String>>);

/// Takes `sslmode` and `sslrootcert` out of the URL's query (tokio-postgres knows neither
/// `verify-full` nor `sslrootcert`) and puts back the mode it should run.
fn prepare_url(url: &str, shown: &str) -> Result<Prepared> {
    let bad = |why: String| Error::invalid(format!("journal {shown}: {why}"));
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept: Vec<&str> = Vec::new();
    let mut mode: Option<String> = None;
    let mut root: Option<String> = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let decoded = || percent_decode(value).ok_or_else(|| bad(format!("bad escape in {key}")));
        match key {
            "sslmode" => mode = Some(decoded()?),
            "sslrootcert" => root = Some(decoded()?),
            _ => kept.push(pair),
        }
    }
    let tls = match mode.as_deref() {
        None | Some("disable") => false,
        Some("require" | "verify-ca" | "verify-full") => true,
        Some(other @ ("prefer" | "allow")) => {
            return Err(bad(format!(
                "sslmode={other} would fall back to an unencrypted connection without saying \
                 so: use sslmode=require (verified TLS) or sslmode=disable"
            )));
        }
        Some(other) => {
            return Err(bad(format!(
                "unknown sslmode {other:?}: use require, verify-full or disable"
            )));
        }
    };
    if root.is_some() && !tls {
        return Err(bad("sslrootcert needs sslmode=require".to_string()));
    }
    if let Some(path) = &root {
        if !path.starts_with('/') {
            return Err(bad(format!(
                "sslrootcert {path:?} must be an absolute path"
            )));
        }
    }
    kept.push(if tls {
        "sslmode=require"
    } else {
        "sslmode=disable"
    });
    Ok((format!("{base}?{}", kept.join("&")), tls.then_some(root)))
}

fn tls_connector(root: Option<&str>, shown: &str) -> Result<MakeRustlsConnect> {
    let bad = |why: String| Error::invalid(format!("journal {shown}: {why}"));
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(format!("TLS setup: {e}")))?;
    let config = match root {
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            let certs = CertificateDer::pem_file_iter(path)
                .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
            for cert in certs {
                let cert = cert.map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| bad(format!("sslrootcert {path}: {e}")))?;
            }
            if roots.is_empty() {
                return Err(bad(format!("sslrootcert {path}: no certificate in it")));
            }
            builder.with_root_certificates(roots).with_no_client_auth()
        }
        None => {
            use rustls_platform_verifier::BuilderVerifierExt;
            builder
                .with_platform_verifier()
                .map_err(|e| bad(format!("TLS setup: {e}")))?
                .with_no_client_auth()
        }
    };
    Ok(MakeRustlsConnect::new(config))
}

/// A PostgreSQL failure, by its SQLSTATE class: 22 (a value the database refused) is the
/// input's; a statement or lock timeout (57014, 55P03) and a lost connection (08, or no
/// SQLSTATE at all: a socket error) are the journal's, saying so; any other server error is
/// the journal's too.
fn pg_error(url: &str, e: tokio_postgres::Error) -> Error {
    let Some(db) = e.as_db_error() else {
        let mut text = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text = format!("{text}: {s_text}");
            }
            source = s.source();
        }
        return Error::new(
            ErrorCode::Journal,
            format!("journal {url}: connection lost or refused: {text}"),
        );
    };
    let sqlstate = db.code().code();
    let (code, why) = match sqlstate {
        s if s.starts_with("22") => (ErrorCode::InvalidArgument, "the database refused a value"),
        "57014" | "55P03" => (ErrorCode::Journal, "timed out (journal_timeout_ms)"),
        s if s.starts_with("08") => (ErrorCode::Journal, "connection lost"),
        _ => (ErrorCode::Journal, "the database refused the statement"),
    };
    Error::new(
        code,
        format!(
            "journal {url}: {why}: {} (SQLSTATE {sqlstate})",
            db.message()
        ),
    )
}

/// A row's values as the parameters of [`INSERT`], [`UPDATE`] and [`MOVE_LEGACY`].
struct RowParams {
    values: RowValues,
    attempts: i32,
}

impl RowParams {
    fn new(stored: &Stored) -> RowParams {
        let values = RowValues::from_stored(stored);
        let attempts = i32::try_from(values.attempts).unwrap_or(i32::MAX);
        RowParams { values, attempts }
    }

    fn params(&self) -> [&(dyn ToSql + Sync); COLUMN_COUNT] {
        row_params!(self.values, &self.attempts)
    }
}

/// A serialization failure or a deadlock: the transaction is worth running again.
fn is_retryable(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|db| matches!(db.code().code(), "40001" | "40P01"))
}

/// The write (its rows counted) and `COMMIT`, sent together.
async fn write_and_commit(
    client: &Client,
    statement: &Statement,
    params: &[&(dyn ToSql + Sync)],
) -> (
    std::result::Result<usize, tokio_postgres::Error>,
    std::result::Result<(), tokio_postgres::Error>,
) {
    let write = async { client.query(statement, params).await.map(|r| r.len()) };
    join(write, client.batch_execute("COMMIT")).await
}

/// The clock and the order's stored rows from the answer of [`LOCK_ROWS`].
fn locked_rows(url: &str, rows: &[Row]) -> Result<(i64, Vec<Stored>)> {
    let err = |e| pg_error(url, e);
    let Some(first) = rows.first() else {
        return Err(Error::new(
            ErrorCode::Journal,
            format!("journal {url}: the database returned no clock"),
        ));
    };
    let now: i64 = first.try_get(COLUMN_COUNT).map_err(err)?;
    let mut found = Vec::with_capacity(rows.len());
    for row in rows {
        // The order has no row: the clock's row carries NULLs only.
        if row.try_get::<_, Option<&str>>(0).map_err(err)?.is_some() {
            found.push(read_row(row).map_err(err)?.into_stored()?);
        }
    }
    Ok((now, found))
}

fn read_row(row: &Row) -> std::result::Result<RowValues, tokio_postgres::Error> {
    Ok(RowValues {
        gateway: row.try_get(0)?,
        app_key: row.try_get(1)?,
        order_id: row.try_get(2)?,
        claim_id: row.try_get(3)?,
        state: row.try_get(4)?,
        attempts: i64::from(row.try_get::<_, i32>(5)?),
        trace_ids: row.try_get(6)?,
        pay_channel: row.try_get(7)?,
        error_code: row.try_get(8)?,
        message: row.try_get(9)?,
        data: row.try_get(10)?,
        owner_host: row.try_get(11)?,
        owner_pid: row.try_get(12)?,
        owner_client_id: row.try_get(13)?,
        lease_until: row.try_get(14)?,
        created_at: row.try_get(15)?,
        updated_at: row.try_get(16)?,
        history: row.try_get(17)?,
        claim_open: row.try_get(18)?,
        prev: row.try_get(19)?,
    })
}

fn read_rows(url: &str, rows: &[Row]) -> Result<Vec<Stored>> {
    rows.iter()
        .map(|row| read_row(row).map_err(|e| pg_error(url, e))?.into_stored())
        .collect()
}

/// The journal's statements, prepared on one connection.
struct Statements {
    lock_rows: Statement,
    insert: Statement,
    update: Statement,
    move_legacy: Statement,
    delete: Statement,
    order: Statement,
    list: Statement,
    one_trip: one_trip::Statements,
}

impl Statements {
    /// Prepares them all at once: one round trip (the schema must be there).
    async fn prepare(client: &Client, url: &str) -> Result<Statements> {
        let sql: [(&str, &[Type]); 7] = [
            (&LOCK_ROWS, &TEXT3),
            (INSERT, &ROW_TYPES),
            (UPDATE, &ROW_TYPES),
            (&MOVE_LEGACY, &ROW_TYPES),
            (DELETE, &TEXT3),
            (&ORDER, &TEXT3),
            (&LIST, &TEXT3),
        ];
        let locking = async {
            try_join_all(sql.map(|(sql, types)| client.prepare_typed(sql, types)))
                .await
                .map_err(|e| pg_error(url, e))
        };
        let (prepared, one_trip) =
            try_join(locking, one_trip::Statements::prepare(client, url)).await?;
        let [lock_rows, insert, update, move_legacy, delete, order, list] =
            <[Statement; 7]>::try_from(prepared)
                .map_err(|_| Error::new(ErrorCode::Internal, "journal: statements went missing"))?;
        Ok(Statements {
            lock_rows,
            insert,
            update,
            move_legacy,
            delete,
            order,
            list,
            one_trip,
        })
    }
}

/// A connection and the statements prepared on it.
struct Session {
    client: Client,
    statements: Statements,
}

/// A pooled connection; back in the pool only through [`Conn::keep`], after a step that
/// finished. One dropped midway (a timeout, a failure) is closed, never reused.
struct Conn<'a> {
    pool: &'a Pool,
    session: Option<Session>,
    _permit: SemaphorePermit<'a>,
}

impl Conn<'_> {
    fn session(&mut self) -> &mut Session {
        self.session.as_mut().expect("present until kept")
    }

    fn keep(mut self) {
        if let Some(session) = self.session.take() {
            if !session.client.is_closed() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(session);
            }
        }
    }
}

impl PostgresJournal {
    pub(crate) fn open(url: &str, timeout: Duration) -> Result<PostgresJournal> {
        let shown = redact(url);
        let (prepared, tls) = prepare_url(url, &shown)?;
        let mut config = Config::from_str(&prepared)
            .map_err(|e| Error::invalid(format!("journal {shown}: {e}")))?;
        // TCP alone; the whole connect (TCP, TLS, startup) is bounded by `timeout` in `conn`.
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(timeout);
        }
        if config.get_application_name().is_none() {
            config.application_name("dajisaas-journal");
        }
        // A dead peer (a silent partition) is found within about 25 s, not 2 hours.
        config
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(10))
            .keepalives_interval(Duration::from_secs(5))
            .keepalives_retries(3);
        // Every session: statements, lock waits and a transaction left idle (its process
        // paused) end within the deadline, and a commit is durable whatever the server's
        // default (`synchronous_commit=off` could lose an acknowledged claim).
        let ms = timeout.as_millis();
        let session = format!(
            "-c statement_timeout={ms} -c lock_timeout={ms} \
             -c idle_in_transaction_session_timeout={ms} -c synchronous_commit=on"
        );
        let options = match config.get_options() {
            Some(theirs) if !theirs.trim().is_empty() => format!("{theirs} {session}"),
            _ => session,
        };
        config.options(options);
        let tls = match tls {
            Some(root) => Some(tls_connector(root.as_deref(), &shown)?),
            None => None,
        };
        Ok(PostgresJournal {
            url: shown,
            config,
            tls,
            timeout,
            pool: PerProcess::new(new_pool),
        })
    }

    async fn connect(&self) -> Result<Client> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let url = self.url.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel::<Result<Client>>();
        let spawned = std::thread::Builder::new()
            .name("dajisaas-journal-pg".into())
            .spawn(move || {
                // A library thread: the host's signals go to its own threads.
                crate::signals::block_async_signals();
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = sender.send(Err(Error::new(
                            ErrorCode::Internal,
                            format!("journal {url}: no runtime for the connection: {e}"),
                        )));
                        return;
                    }
                };
                runtime.block_on(async move {
                    // The connection runs until its client is dropped (or the caller gave up
                    // before it was ready: then the client is dropped at once).
                    macro_rules! drive {
                        ($connecting:expr) => {
                            match $connecting.await {
                                Ok((client, connection)) => {
                                    if sender.send(Ok(client)).is_ok() {
                                        let _ = connection.await;
                                    }
                                }
                                Err(e) => {
                                    let _ = sender.send(Err(pg_error(&url, e)));
                                }
                            }
                        };
                    }
                    match tls {
                        Some(tls) => drive!(config.connect(tls)),
                        None => drive!(config.connect(NoTls)),
                    }
                });
            });
        if let Err(e) = spawned {
            return Err(Error::new(
                ErrorCode::Internal,
                format!("journal {}: no thread for the connection: {e}", self.url),
            ));
        }
        receiver.await.map_err(|_| {
            Error::new(
                ErrorCode::Journal,
                format!("journal {}: the connection thread ended", self.url),
            )
        })?
    }

    /// A connection of this process's pool, with the schema checked once and the statements
    /// prepared.
    async fn conn(&self) -> Result<Conn<'_>> {
        let pool = self.pool.get();
        let permit = pool
            .permits
            .acquire()
            .await
            .map_err(|_| Error::new(ErrorCode::Internal, "journal: the pool is closed"))?;
        let idle = loop {
            let next = pool
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            match next {
                Some(session) if session.client.is_closed() => continue,
                other => break other,
            }
        };
        let session = match idle {
            Some(session) => session,
            None => {
                let mut client = self.connect().await?;
                pool.schema
                    .get_or_try_init(|| ensure_schema(&mut client, &self.url))
                    .await?;
                let statements = Statements::prepare(&client, &self.url).await?;
                Session { client, statements }
            }
        };
        Ok(Conn {
            pool,
            session: Some(session),
            _permit: permit,
        })
    }

    /// One step in two round trips, the reference the one-trip steps follow: `BEGIN` and
    /// [`LOCK_ROWS`] go out together, then the write and `COMMIT` together. A write that fails
    /// aborts the transaction, which turns that `COMMIT` into a rollback; one that changes no row
    /// (a claim inserted the row first) changed nothing, and the step starts over.
    async fn mutate_on(
        session: &Session,
        url: &str,
        seen: &SeenRows,
        scope: &Scope,
        order_id: &str,
        op: &Op,
    ) -> Result<Reply> {
        let Session { client, statements } = session;
        let err = |e| pg_error(url, e);
        let keys: [&(dyn ToSql + Sync); 3] = [&order_id, &scope.gateway, &scope.app_key];
        for _ in 0..8 {
            let (begun, locked) = join(
                client.batch_execute("BEGIN"),
                client.query(&statements.lock_rows, &keys),
            )
            .await;
            begun.map_err(err)?;
            let rows = match locked {
                Ok(rows) => rows,
                Err(e) if is_retryable(&e) => {
                    client.batch_execute("ROLLBACK").await.map_err(err)?;
                    continue;
                }
                Err(e) => return Err(err(e)),
            };
            let (now, existing) = locked_rows(url, &rows)?;
            let existing = scoped_first(existing);
            let found_in = existing.as_ref().map(|s| s.record.scope.clone());
            let (reply, change) = op.apply(scope, order_id, now, existing)?;
            let (written, committed) = match &change {
                Change::Keep => (Ok(1), client.batch_execute("COMMIT").await),
                Change::Put(stored) => {
                    let row = RowParams::new(stored);
                    let statement = match found_in.as_ref() {
                        Some(from) if from == scope => &statements.update,
                        // A row from before scopes is moved into this scope.
                        Some(from) if from.is_legacy() => &statements.move_legacy,
                        _ => &statements.insert,
                    };
                    write_and_commit(client, statement, &row.params()).await
                }
                Change::Delete => match found_in.as_ref() {
                    Some(from) => {
                        let key: [&(dyn ToSql + Sync); 3] =
                            [&from.gateway, &from.app_key, &order_id];
                        write_and_commit(client, &statements.delete, &key).await
                    }
                    None => (Ok(1), client.batch_execute("COMMIT").await),
                },
            };
            match written {
                Err(e) if !is_retryable(&e) => return Err(err(e)),
                _ => {}
            }
            match committed {
                Ok(()) => {}
                Err(e) if is_retryable(&e) => continue,
                Err(e) => return Err(err(e)),
            }
            match written {
                Ok(n) if n > 0 => {
                    match &change {
                        Change::Keep => {}
                        Change::Put(stored) => seen.note(op, stored),
                        Change::Delete => seen.forget(scope, order_id),
                    }
                    return Ok(reply);
                }
                // Another claim inserted the row first: start over and find it. Or a
                // serialization failure or deadlock, rolled back by the COMMIT: run it again.
                _ => continue,
            }
        }
        Err(Error::new(
            ErrorCode::Journal,
            format!("journal {url}: order {order_id}: the row kept changing under the step"),
        ))
    }

    /// `step` on a pooled connection within the deadline; the connection goes back to the pool
    /// only when the step finished in time.
    fn with_session<'a, T: Send + 'a>(
        &'a self,
        step: impl for<'c> FnOnce(&'c mut Session, &'c str) -> JournalFuture<'c, T> + Send + 'a,
    ) -> JournalFuture<'a, T> {
        Box::pin(bounded(self.timeout, &self.url, async move {
            let mut conn = self.conn().await?;
            let value = step(conn.session(), &self.url).await?;
            conn.keep();
            Ok(value)
        }))
    }

    /// [`Self::with_session`] for a step that needs only the connection.
    fn with_conn<'a, T: Send + 'a>(
        &'a self,
        step: impl for<'c> FnOnce(&'c mut Client, &'c str) -> JournalFuture<'c, T> + Send + 'a,
    ) -> JournalFuture<'a, T> {
        self.with_session(move |session, url| step(&mut session.client, url))
    }
}

async fn schema_version(client: &Client, url: &str) -> Result<Option<i32>> {
    let err = |e| pg_error(url, e);
    let exists: bool = client
        .query_one(
            "SELECT to_regclass('dajisaas_journal_schema') IS NOT NULL",
            &[],
        )
        .await
        .map_err(err)?
        .get(0);
    if !exists {
        return Ok(None);
    }
    Ok(client
        .query_one("SELECT MAX(version) FROM dajisaas_journal_schema", &[])
        .await
        .map_err(err)?
        .get(0))
}

/// Reads the schema version and returns when it is current: no DDL and no lock, so a session
/// stuck in a transaction elsewhere never holds up the others' first call. Otherwise creates
/// the schema, or migrates version 1, under an advisory lock.
async fn ensure_schema(client: &mut Client, url: &str) -> Result<()> {
    let current = i32::try_from(JOURNAL_SCHEMA_VERSION).expect("small");
    match schema_version(client, url).await? {
        Some(v) if v == current => return Ok(()),
        Some(v) if v > current => return Err(newer_schema(url, i64::from(v))),
        _ => {}
    }
    let err = |e| pg_error(url, e);
    let tx = client.transaction().await.map_err(err)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])
        .await
        .map_err(err)?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS dajisaas_journal_schema (version INTEGER NOT NULL)",
    )
    .await
    .map_err(err)?;
    let version: Option<i32> = tx
        .query_one("SELECT MAX(version) FROM dajisaas_journal_schema", &[])
        .await
        .map_err(err)?
        .get(0);
    match version {
        Some(v) if v == current => return Ok(()),
        Some(v) if v > current => return Err(newer_schema(url, i64::from(v))),
        Some(1) => {
            tx.batch_execute(MIGRATE_FROM_V1).await.map_err(err)?;
            tx.batch_execute(CREATE_TABLE).await.map_err(err)?;
            tx.batch_execute(COPY_FROM_V1).await.map_err(err)?;
            tx.batch_execute(pace::CREATE_TABLE).await.map_err(err)?;
        }
        // Version 2 had no shared pace.
        Some(2) => tx.batch_execute(pace::CREATE_TABLE).await.map_err(err)?,
        _ => {
            tx.batch_execute(CREATE_TABLE).await.map_err(err)?;
            tx.batch_execute(pace::CREATE_TABLE).await.map_err(err)?;
        }
    }
    tx.execute("DELETE FROM dajisaas_journal_schema", &[])
        .await
        .map_err(err)?;
    tx.execute(
        "INSERT INTO dajisaas_journal_schema (version) VALUES ($1)",
        &[&current],
    )
    .await
    .map_err(err)?;
    tx.commit().await.map_err(err)
}

/// The pace's statements: reserve, lower, read. Sent with their parameters' types, each is one
/// round trip (no separate prepare).
static PACE: LazyLock<[String; 3]> = LazyLock::new(|| pace::statements(Dialect::Postgres));

fn read_pace_row(row: &Row) -> std::result::Result<PaceRow, tokio_postgres::Error> {
    pace::pace_row!(row, try_get)
}

impl PaceStore for PostgresJournal {
    fn reserve_slot<'a>(
        &'a self,
        scope: &'a Scope,
        ask: &'a SlotAsk,
    ) -> JournalFuture<'a, PaceRow> {
        let (scope, ask) = (scope.clone(), ask.clone());
        self.with_conn(move |client, url| {
            Box::pin(async move {
                let err = |e| pg_error(url, e);
                let params: [(&(dyn ToSql + Sync), Type); 8] = [
                    (&scope.gateway, Type::TEXT),
                    (&scope.app_key, Type::TEXT),
                    (&ask.configured, Type::FLOAT8),
                    (&ask.epoch, Type::INT8),
                    (&ask.raise, Type::FLOAT8),
                    (&ask.cap, Type::FLOAT8),
                    (&ask.answered, Type::INT8),
                    (&ask.refused, Type::INT8),
                ];
                // The scope's row is made at its first reservation.
                for _ in 0..2 {
                    match client.query_typed_opt(&PACE[0], &params).await {
                        Ok(Some(row)) => return read_pace_row(&row).map_err(err),
                        Ok(None) => {
                            client
                                .query_typed(pace::INSERT, &params[..2])
                                .await
                                .map_err(err)?;
                        }
                        Err(e) => return Err(err(e)),
                    }
                }
                Err(Error::new(
                    ErrorCode::Journal,
                    format!("journal {url}: the pace's row vanished"),
                ))
            })
        })
    }

    fn lower_pace<'a>(
        &'a self,
        scope: &'a Scope,
        lowering: &'a Lowering,
    ) -> JournalFuture<'a, bool> {
        let (scope, lowering) = (scope.clone(), *lowering);
        self.with_conn(move |client, url| {
            Box::pin(async move {
                let params: [(&(dyn ToSql + Sync), Type); 6] = [
                    (&scope.gateway, Type::TEXT),
                    (&scope.app_key, Type::TEXT),
                    (&lowering.epoch, Type::INT8),
                    (&lowering.rate, Type::FLOAT8),
                    (&lowering.estimate, Type::FLOAT8),
                    (&lowering.step, Type::FLOAT8),
                ];
                let lowered = client
                    .query_typed_opt(&PACE[1], &params)
                    .await
                    .map_err(|e| pg_error(url, e))?;
                Ok(lowered.is_some())
            })
        })
    }

    fn read_pace<'a>(&'a self, scope: &'a Scope) -> JournalFuture<'a, Option<PaceRow>> {
        let scope = scope.clone();
        self.with_conn(move |client, url| {
            Box::pin(async move {
                let err = |e| pg_error(url, e);
                let params: [(&(dyn ToSql + Sync), Type); 2] =
                    [(&scope.gateway, Type::TEXT), (&scope.app_key, Type::TEXT)];
                match client.query_typed_opt(&PACE[2], &params).await {
                    Ok(Some(row)) => Ok(Some(read_pace_row(&row).map_err(err)?)),
                    Ok(None) => Ok(None),
                    Err(e) => Err(err(e)),
                }
            })
        })
    }
}

impl Backend for PostgresJournal {
    fn url(&self) -> &str {
        &self.url
    }

    fn pace(&self) -> Option<&dyn PaceStore> {
        Some(self)
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        self.with_conn(|_, _| Box::pin(async { Ok(()) }))
    }

    fn mutate(&self, scope: Scope, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        let seen = self.pool.get().seen.clone();
        self.with_session(move |session, url| {
            Box::pin(async move {
                match one_trip::step(session, url, &seen, &scope, &order_id, &op).await? {
                    Some(reply) => Ok(reply),
                    None => Self::mutate_on(session, url, &seen, &scope, &order_id, &op).await,
                }
            })
        })
    }

    fn get(&self, scope: Scope, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        self.with_session(move |session, url| {
            Box::pin(async move {
                let keys: [&(dyn ToSql + Sync); 3] = [&order_id, &scope.gateway, &scope.app_key];
                let rows = session
                    .client
                    .query(&session.statements.order, &keys)
                    .await
                    .map_err(|e| pg_error(url, e))?;
                Ok(scoped_first(read_rows(url, &rows)?).map(|s| s.record))
            })
        })
    }

    fn list(&self, scope: Scope, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        self.with_session(move |session, url| {
            Box::pin(async move {
                let state = state.map(State::as_str);
                let params: [&(dyn ToSql + Sync); 3] = [&scope.gateway, &scope.app_key, &state];
                let rows = session
                    .client
                    .query(&session.statements.list, &params)
                    .await
                    .map_err(|e| pg_error(url, e))?;
                Ok(read_rows(url, &rows)?
                    .into_iter()
                    .map(|s| s.record)
                    .collect())
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssl_modes() {
        let ok = |url: &str| prepare_url(url, url).unwrap();
        assert_eq!(
            ok("postgres://u@h/db"),
            ("postgres://u@h/db?sslmode=disable".to_string(), None)
        );
        assert_eq!(
            ok("postgres://u@h/db?sslmode=require&connect_timeout=3"),
            (
                "postgres://u@h/db?connect_timeout=3&sslmode=require".to_string(),
                Some(None)
            )
        );
        assert_eq!(
            ok("postgresql://u@h/db?sslmode=verify-full&sslrootcert=%2Fetc%2Fca.pem").1,
            Some(Some("/etc/ca.pem".to_string()))
        );
        for bad in [
            "postgres://u@h/db?sslmode=prefer",
            "postgres://u@h/db?sslmode=allow",
            "postgres://u@h/db?sslmode=bogus",
            "postgres://u@h/db?sslrootcert=/ca.pem",
            "postgres://u@h/db?sslmode=require&sslrootcert=ca.pem",
        ] {
            let e = prepare_url(bad, bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
        }
    }
}

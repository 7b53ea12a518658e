//! The PostgreSQL journal: one database shared by every process on every machine.
//!
//! Every mutation is one transaction that locks the order's row (`SELECT … FOR UPDATE`) before
//! reading it; an order without a row is inserted with `INSERT … ON CONFLICT DO NOTHING`, and a
//! claim that loses that race starts over and finds the winner's row. Times come from the
//! database's clock, so the machines of a fleet agree on when a lease ends.
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
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio::sync::{OnceCell, Semaphore, SemaphorePermit};
use tokio_postgres::{Client, Config, NoTls, Row};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{
    Backend, Change, JOURNAL_SCHEMA_VERSION, JournalFuture, Op, PaymentRecord, Reply, RowValues,
    State, Stored, newer_schema, percent_decode, redact,
};
use crate::error::{Error, ErrorCode, Result};

/// Most connections one journal keeps.
pub(crate) const POOL_SIZE: usize = 4;

/// How long connecting may take when the URL does not say (`connect_timeout=` seconds).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Serialises schema creation between processes (`pg_advisory_xact_lock`).
const SCHEMA_LOCK: i64 = 0x6461_6a69_6a6e_6c31; // "dajijnl1"

/// The columns in [`super::COLUMNS`] order, times as Unix milliseconds.
const SELECT: &str = "SELECT order_id, state, attempts, trace_ids, pay_channel, error_code, \
     message, data, owner_host, owner_pid, owner_client_id, \
     (extract(epoch FROM lease_until) * 1000)::bigint, \
     (extract(epoch FROM created_at) * 1000)::bigint, \
     (extract(epoch FROM updated_at) * 1000)::bigint, \
     resolved_by, note, claim_open, prev FROM dajisaas_payments";

const NOW: &str = "SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint";

/// Unix milliseconds to `timestamptz`, exactly.
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
    "INSERT INTO dajisaas_payments (order_id, state, attempts, trace_ids, pay_channel, ",
    "error_code, message, data, owner_host, owner_pid, owner_client_id, lease_until, ",
    "created_at, updated_at, resolved_by, note, claim_open, prev) VALUES ",
    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, ",
    ts!(12),
    ", ",
    ts!(13),
    ", ",
    ts!(14),
    ", $15, $16, $17, $18) ON CONFLICT (order_id) DO NOTHING"
);

const UPDATE: &str = concat!(
    "UPDATE dajisaas_payments SET state = $2, attempts = $3, trace_ids = $4, ",
    "pay_channel = $5, error_code = $6, message = $7, data = $8, owner_host = $9, ",
    "owner_pid = $10, owner_client_id = $11, lease_until = ",
    ts!(12),
    ", created_at = ",
    ts!(13),
    ", updated_at = ",
    ts!(14),
    ", resolved_by = $15, note = $16, claim_open = $17, prev = $18 WHERE order_id = $1"
);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS dajisaas_payments (
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
    CREATE INDEX IF NOT EXISTS dajisaas_payments_state ON dajisaas_payments (state, created_at);";

pub(crate) struct PostgresJournal {
    url: String,
    config: Config,
    tls: Option<MakeRustlsConnect>,
    idle: Mutex<Vec<Client>>,
    permits: Semaphore,
    schema: OnceCell<()>,
}

impl fmt::Debug for PostgresJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresJournal")
            .field("url", &self.url)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// The URL as tokio-postgres takes it, and the TLS roots asked for (`Some(None)`: the system's).
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

fn pg_error(url: &str, e: tokio_postgres::Error) -> Error {
    let detail = match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let s_text = s.to_string();
                if !text.contains(&s_text) {
                    text = format!("{text}: {s_text}");
                }
                source = s.source();
            }
            text
        }
    };
    Error::new(ErrorCode::Connection, format!("journal {url}: {detail}"))
}

fn read_row(row: &Row) -> std::result::Result<RowValues, tokio_postgres::Error> {
    Ok(RowValues {
        order_id: row.try_get(0)?,
        state: row.try_get(1)?,
        attempts: i64::from(row.try_get::<_, i32>(2)?),
        trace_ids: row.try_get(3)?,
        pay_channel: row.try_get(4)?,
        error_code: row.try_get(5)?,
        message: row.try_get(6)?,
        data: row.try_get(7)?,
        owner_host: row.try_get(8)?,
        owner_pid: row.try_get(9)?,
        owner_client_id: row.try_get(10)?,
        lease_until: row.try_get(11)?,
        created_at: row.try_get(12)?,
        updated_at: row.try_get(13)?,
        resolved_by: row.try_get(14)?,
        note: row.try_get(15)?,
        claim_open: row.try_get(16)?,
        prev: row.try_get(17)?,
    })
}

/// A pooled connection: back to the pool with [`Conn::keep`], closed when dropped otherwise
/// (after an error or a cancelled call, whose transaction the server then rolls back).
struct Conn<'a> {
    journal: &'a PostgresJournal,
    client: Option<Client>,
    _permit: SemaphorePermit<'a>,
}

impl Conn<'_> {
    fn client(&mut self) -> &mut Client {
        self.client.as_mut().expect("present until kept")
    }

    fn keep(mut self) {
        if let Some(client) = self.client.take() {
            if !client.is_closed() {
                self.journal
                    .idle
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .push(client);
            }
        }
    }
}

impl PostgresJournal {
    pub(crate) fn open(url: &str) -> Result<PostgresJournal> {
        let shown = redact(url);
        let (prepared, tls) = prepare_url(url, &shown)?;
        let mut config = Config::from_str(&prepared)
            .map_err(|e| Error::invalid(format!("journal {shown}: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("dajisaas-journal");
        }
        let tls = match tls {
            Some(root) => Some(tls_connector(root.as_deref(), &shown)?),
            None => None,
        };
        Ok(PostgresJournal {
            url: shown,
            config,
            tls,
            idle: Mutex::new(Vec::new()),
            permits: Semaphore::new(POOL_SIZE),
            schema: OnceCell::new(),
        })
    }

    /// Connects on a thread of its own, which drives the connection until it closes.
    async fn connect(&self) -> Result<Client> {
        let config = self.config.clone();
        let tls = self.tls.clone();
        let url = self.url.clone();
        let (sender, receiver) = tokio::sync::oneshot::channel::<Result<Client>>();
        let spawned = std::thread::Builder::new()
            .name("dajisaas-journal-pg".into())
            .spawn(move || {
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
                ErrorCode::Connection,
                format!("journal {}: the connection thread ended", self.url),
            )
        })?
    }

    /// A connection from the pool (or a new one), with the schema checked once per journal.
    async fn conn(&self) -> Result<Conn<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::new(ErrorCode::Internal, "journal: the pool is closed"))?;
        let idle = loop {
            let next = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            match next {
                Some(client) if client.is_closed() => continue,
                other => break other,
            }
        };
        let client = match idle {
            Some(client) => client,
            None => self.connect().await?,
        };
        let mut conn = Conn {
            journal: self,
            client: Some(client),
            _permit: permit,
        };
        self.schema
            .get_or_try_init(|| ensure_schema(conn.client(), &self.url))
            .await?;
        Ok(conn)
    }

    async fn mutate_on(client: &mut Client, url: &str, order_id: &str, op: &Op) -> Result<Reply> {
        let err = |e| pg_error(url, e);
        // Two claims of a new order both find no row; one INSERT wins, the other inserts
        // nothing and starts over, finding the winner's row.
        for _ in 0..8 {
            let tx = client.transaction().await.map_err(err)?;
            let now: i64 = tx.query_one(NOW, &[]).await.map_err(err)?.get(0);
            let existing = tx
                .query_opt(
                    &format!("{SELECT} WHERE order_id = $1 FOR UPDATE"),
                    &[&order_id],
                )
                .await
                .map_err(err)?
                .map(|row| read_row(&row).map_err(err)?.into_stored())
                .transpose()?;
            let absent = existing.is_none();
            // On an error the transaction is dropped: rolled back.
            let (reply, change) = op.apply(order_id, now, existing)?;
            match change {
                Change::Keep => {}
                Change::Put(stored) => {
                    let v = RowValues::from_stored(&stored);
                    let attempts = i32::try_from(v.attempts).unwrap_or(i32::MAX);
                    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 18] = [
                        &v.order_id,
                        &v.state,
                        &attempts,
                        &v.trace_ids,
                        &v.pay_channel,
                        &v.error_code,
                        &v.message,
                        &v.data,
                        &v.owner_host,
                        &v.owner_pid,
                        &v.owner_client_id,
                        &v.lease_until,
                        &v.created_at,
                        &v.updated_at,
                        &v.resolved_by,
                        &v.note,
                        &v.claim_open,
                        &v.prev,
                    ];
                    let sql = if absent { INSERT } else { UPDATE };
                    let written = tx.execute(sql, &params).await.map_err(err)?;
                    if written == 0 {
                        tx.rollback().await.map_err(err)?;
                        continue;
                    }
                }
                Change::Delete => {
                    tx.execute(
                        "DELETE FROM dajisaas_payments WHERE order_id = $1",
                        &[&order_id],
                    )
                    .await
                    .map_err(err)?;
                }
            }
            tx.commit().await.map_err(err)?;
            return Ok(reply);
        }
        Err(Error::new(
            ErrorCode::Internal,
            format!("journal {url}: order {order_id}: the row kept changing under the claim"),
        ))
    }
}

async fn ensure_schema(client: &mut Client, url: &str) -> Result<()> {
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
    if let Some(version) = version {
        if i64::from(version) > JOURNAL_SCHEMA_VERSION {
            return Err(newer_schema(url, i64::from(version)));
        }
    }
    tx.batch_execute(SCHEMA).await.map_err(err)?;
    if version.is_none() {
        let v = JOURNAL_SCHEMA_VERSION as i32;
        tx.execute(
            "INSERT INTO dajisaas_journal_schema (version) VALUES ($1)",
            &[&v],
        )
        .await
        .map_err(err)?;
    }
    tx.commit().await.map_err(err)
}

impl Backend for PostgresJournal {
    fn url(&self) -> &str {
        &self.url
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        Box::pin(async move {
            self.conn().await?.keep();
            Ok(())
        })
    }

    fn mutate(&self, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let reply = Self::mutate_on(conn.client(), &self.url, &order_id, &op).await?;
            conn.keep();
            Ok(reply)
        })
    }

    fn get(&self, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let err = |e| pg_error(&self.url, e);
            let row = conn
                .client()
                .query_opt(&format!("{SELECT} WHERE order_id = $1"), &[&order_id])
                .await
                .map_err(err)?;
            let record = row
                .map(|row| read_row(&row).map_err(err)?.into_stored())
                .transpose()?
                .map(|s: Stored| s.record);
            conn.keep();
            Ok(record)
        })
    }

    fn list(&self, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        Box::pin(async move {
            let mut conn = self.conn().await?;
            let err = |e| pg_error(&self.url, e);
            let state = state.map(State::as_str);
            let rows = conn
                .client()
                .query(
                    &format!(
                        "{SELECT} WHERE $1::text IS NULL OR state = $1 \
                         ORDER BY created_at, order_id COLLATE \"C\""
                    ),
                    &[&state],
                )
                .await
                .map_err(err)?;
            let records = rows
                .iter()
                .map(|row| Ok(read_row(row).map_err(err)?.into_stored()?.record))
                .collect::<Result<Vec<_>>>()?;
            conn.keep();
            Ok(records)
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

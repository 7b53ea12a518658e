//! The SQLite journal: one file shared by the processes of one machine.
//!
//! WAL mode (readers never block the writer), every mutation one `BEGIN IMMEDIATE` transaction
//! (the write lock is taken before the row is read, so two claims never both see it free), and a
//! busy timeout so that a process waits its turn instead of failing. SQLite's calls block: they
//! run on tokio's blocking threads.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    Backend, COLUMNS, Change, JOURNAL_SCHEMA_VERSION, JournalFuture, Op, PaymentRecord, Reply,
    RowValues, State, Stored, newer_schema, now_millis, percent_decode,
};
use crate::error::{Error, ErrorCode, Result};

/// How long a process waits for another one's write transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct SqliteJournal {
    url: String,
    conn: Arc<Mutex<Connection>>,
}

impl fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteJournal")
            .field("url", &self.url)
            .finish()
    }
}

/// The absolute path a `sqlite:///abs/path.db` URL names.
fn parse_url(url: &str) -> Result<PathBuf> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "journal {url:?}: {why}; expected sqlite:///absolute/path/payments.db"
        ))
    };
    let rest = url
        .get(..9)
        .filter(|p| p.eq_ignore_ascii_case("sqlite://"))
        .map(|_| &url[9..])
        .ok_or_else(|| bad("not a sqlite:// URL"))?;
    if rest.contains(['?', '#']) {
        return Err(bad("a SQLite journal URL takes no query or fragment"));
    }
    if !rest.starts_with('/') {
        return Err(bad(
            "the path must be absolute (three slashes: sqlite:// then /path), so that every \
             process finds the same file whatever its working directory",
        ));
    }
    let path = percent_decode(rest).ok_or_else(|| bad("bad percent-encoding in the path"))?;
    if path.ends_with('/') || path.split('/').any(|part| part == "..") {
        return Err(bad("the path must name a file, without '..'"));
    }
    Ok(PathBuf::from(path))
}

fn sqlite_error(url: &str, e: rusqlite::Error) -> Error {
    let code = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            ErrorCode::Timeout
        }
        _ => ErrorCode::Connection,
    };
    Error::new(code, format!("journal {url}: {e}"))
}

impl SqliteJournal {
    pub(crate) fn open(url: &str) -> Result<SqliteJournal> {
        let path = parse_url(url)?;
        let url = url.to_string();
        let conn = open_connection(&path).map_err(|e| sqlite_error(&url, e))?;
        let mut conn = conn;
        ensure_schema(&mut conn, &url)?;
        Ok(SqliteJournal {
            url,
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` with the connection on a blocking thread (inline outside a tokio runtime).
    fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &str) -> Result<T> + Send + 'static,
    ) -> JournalFuture<'_, T> {
        let conn = self.conn.clone();
        let url = self.url.clone();
        let job = move || {
            let mut conn = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn, &url)
        };
        // Started when first polled, like the other stores; once started, it runs to its end.
        Box::pin(async move {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
                    Error::new(
                        ErrorCode::Internal,
                        format!("journal: a SQLite task failed: {e}"),
                    )
                })?,
                Err(_) => job(),
            }
        })
    }
}

fn open_connection(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        log::warn!(
            "journal {}: SQLite refused WAL mode (journal_mode is {mode})",
            path.display()
        );
    }
    // A payment's record must survive a power cut once the call returned.
    conn.execute_batch("PRAGMA synchronous=FULL")?;
    Ok(conn)
}

fn ensure_schema(conn: &mut Connection, url: &str) -> Result<()> {
    let err = |e| sqlite_error(url, e);
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS dajisaas_journal_schema (version INTEGER NOT NULL)",
    )
    .map_err(err)?;
    let version: Option<i64> = tx
        .query_row(
            "SELECT MAX(version) FROM dajisaas_journal_schema",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    if let Some(version) = version {
        if version > JOURNAL_SCHEMA_VERSION {
            return Err(newer_schema(url, version));
        }
    }
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS dajisaas_payments (
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
        CREATE INDEX IF NOT EXISTS dajisaas_payments_state
            ON dajisaas_payments (state, created_at);",
    )
    .map_err(err)?;
    if version.is_none() {
        tx.execute(
            "INSERT INTO dajisaas_journal_schema (version) VALUES (?1)",
            [JOURNAL_SCHEMA_VERSION],
        )
        .map_err(err)?;
    }
    tx.commit().map_err(err)
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowValues> {
    Ok(RowValues {
        order_id: row.get(0)?,
        state: row.get(1)?,
        attempts: row.get(2)?,
        trace_ids: row.get(3)?,
        pay_channel: row.get(4)?,
        error_code: row.get(5)?,
        message: row.get(6)?,
        data: row.get(7)?,
        owner_host: row.get(8)?,
        owner_pid: row.get(9)?,
        owner_client_id: row.get(10)?,
        lease_until: row.get(11)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
        resolved_by: row.get(14)?,
        note: row.get(15)?,
        claim_open: row.get(16)?,
        prev: row.get(17)?,
    })
}

fn put(tx: &rusqlite::Transaction<'_>, stored: &Stored) -> rusqlite::Result<()> {
    let v = RowValues::from_stored(stored);
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO dajisaas_payments ({COLUMNS}) VALUES \
             (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
        ),
        params![
            v.order_id,
            v.state,
            v.attempts,
            v.trace_ids,
            v.pay_channel,
            v.error_code,
            v.message,
            v.data,
            v.owner_host,
            v.owner_pid,
            v.owner_client_id,
            v.lease_until,
            v.created_at,
            v.updated_at,
            v.resolved_by,
            v.note,
            v.claim_open,
            v.prev,
        ],
    )?;
    Ok(())
}

impl Backend for SqliteJournal {
    fn url(&self) -> &str {
        &self.url
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        self.with_conn(ensure_schema)
    }

    fn mutate(&self, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            // The write lock is taken here, before the row is read.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let existing = tx
                .query_row(
                    &format!("SELECT {COLUMNS} FROM dajisaas_payments WHERE order_id = ?1"),
                    [&order_id],
                    read_row,
                )
                .optional()
                .map_err(err)?
                .map(RowValues::into_stored)
                .transpose()?;
            // On an error the transaction is dropped: rolled back.
            let (reply, change) = op.apply(&order_id, now_millis(), existing)?;
            match change {
                Change::Keep => {}
                Change::Put(stored) => put(&tx, &stored).map_err(err)?,
                Change::Delete => {
                    tx.execute(
                        "DELETE FROM dajisaas_payments WHERE order_id = ?1",
                        [&order_id],
                    )
                    .map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            Ok(reply)
        })
    }

    fn get(&self, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        self.with_conn(move |conn, url| {
            conn.query_row(
                &format!("SELECT {COLUMNS} FROM dajisaas_payments WHERE order_id = ?1"),
                [&order_id],
                read_row,
            )
            .optional()
            .map_err(|e| sqlite_error(url, e))?
            .map(|v| v.into_stored().map(|s| s.record))
            .transpose()
        })
    }

    fn list(&self, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            let mut statement = conn
                .prepare(&format!(
                    "SELECT {COLUMNS} FROM dajisaas_payments \
                     WHERE ?1 IS NULL OR state = ?1 ORDER BY created_at, order_id"
                ))
                .map_err(err)?;
            let rows = statement
                .query_map([state.map(State::as_str)], read_row)
                .map_err(err)?;
            let mut records = Vec::new();
            for row in rows {
                records.push(row.map_err(err)?.into_stored()?.record);
            }
            Ok(records)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_absolute_files() {
        assert_eq!(
            parse_url("sqlite:///var/lib/x/payments.db").unwrap(),
            PathBuf::from("/var/lib/x/payments.db")
        );
        assert_eq!(
            parse_url("SQLITE:///tmp/a%20b.db").unwrap(),
            PathBuf::from("/tmp/a b.db")
        );
        for bad in [
            "sqlite://payments.db",
            "sqlite:payments.db",
            "sqlite://",
            "sqlite:///",
            "sqlite:///tmp/x.db?mode=ro",
            "sqlite:///tmp/../x.db",
            "sqlite://host/tmp/x.db",
            "sqlite:///tmp/%zz.db",
        ] {
            let e = parse_url(bad).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{bad}");
        }
    }
}

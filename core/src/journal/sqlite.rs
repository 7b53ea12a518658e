//! The SQLite journal: one file shared by the processes of one machine.
//!
//! WAL mode (readers never block the writer), every mutation one `BEGIN IMMEDIATE` transaction
//! (the write lock is taken before the row is read, so two claims never both see it free), and a
//! busy timeout so that a process waits its turn instead of failing. SQLite's calls block: they
//! run on tokio's blocking threads.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params_from_iter};

use super::pace::{self, Dialect, Lowering, PaceRow, PaceStore, SlotAsk};
use super::row::row_params;
use super::{
    Backend, COLUMN_COUNT, COLUMNS, Change, JOURNAL_SCHEMA_VERSION, JournalFuture, Op,
    PaymentRecord, Reply, RowValues, Scope, State, Stored, bounded, newer_schema, no_answer,
    now_millis, percent_decode, scoped_first,
};
use crate::error::{Error, ErrorCode, Result};
use crate::per_process::PerProcess;

pub(crate) struct SqliteJournal {
    url: String,
    timeout: Duration,
    file: Arc<File>,
}

/// The file, and this process's connection to it (a fork child opens its own: SQLite forbids
/// using the parent's).
struct File {
    url: String,
    path: PathBuf,
    timeout: Duration,
    conn: PerProcess<Mutex<Option<Connection>>>,
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

/// Every SQLite failure is the journal's (code 12): it could not be opened, read or written;
/// a lock held past the deadline says so.
fn sqlite_error(url: &str, e: rusqlite::Error) -> Error {
    let why = match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
            "timed out waiting for another connection's write lock"
        }
        Some(rusqlite::ErrorCode::DiskFull) => "the disk is full",
        Some(rusqlite::ErrorCode::ReadOnly | rusqlite::ErrorCode::PermissionDenied) => {
            "it cannot be written (permissions or a read-only file system)"
        }
        Some(rusqlite::ErrorCode::CannotOpen) => "it cannot be opened",
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
            "the file is not a readable SQLite database (corrupt, or another kind of file)"
        }
        _ => "it failed",
    };
    Error::new(ErrorCode::Journal, format!("journal {url}: {why}: {e}"))
}

impl SqliteJournal {
    pub(crate) fn open(url: &str, timeout: Duration) -> Result<SqliteJournal> {
        let path = parse_url(url)?;
        let mut conn = open_connection(&path, timeout).map_err(|e| sqlite_error(url, e))?;
        // One file reached through two paths (a link) is one journal, under one name.
        let canonical = std::fs::canonicalize(&path).unwrap_or(path);
        let url = format!("sqlite://{}", canonical.display());
        ensure_schema(&mut conn, &url)?;
        let file = File {
            url: url.clone(),
            path: canonical,
            timeout,
            conn: PerProcess::new(|_| Mutex::new(None)),
        };
        *file.slot() = Some(conn);
        Ok(SqliteJournal {
            url,
            timeout,
            file: Arc::new(file),
        })
    }

    /// Runs `f` with this process's connection on a blocking thread (inline outside a tokio
    /// runtime), within the journal's deadline. The job keeps to the same deadline after its
    /// caller stopped waiting: it waits for another connection's lock only until then, and does
    /// not start at all if the deadline passed while it queued for this process's connection
    /// (otherwise, with the file locked by another process, jobs given up on would hold the
    /// connection one busy timeout each, one after another).
    fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection, &str) -> Result<T> + Send + 'static,
    ) -> JournalFuture<'_, T> {
        let file = self.file.clone();
        let deadline = std::time::Instant::now() + self.timeout;
        let job = move || file.run(deadline, f);
        Box::pin(bounded(self.timeout, &self.url, async move {
            match tokio::runtime::Handle::try_current() {
                Ok(handle) => handle.spawn_blocking(job).await.map_err(|e| {
                    Error::new(
                        ErrorCode::Internal,
                        format!("journal: a SQLite task failed: {e}"),
                    )
                })?,
                Err(_) => job(),
            }
        }))
    }
}

impl File {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Connection>> {
        self.conn
            .get()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn run<T>(
        &self,
        deadline: std::time::Instant,
        f: impl FnOnce(&mut Connection, &str) -> Result<T>,
    ) -> Result<T> {
        let mut slot = self.slot();
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(no_answer(&self.url, self.timeout));
        }
        if slot.is_none() {
            let conn = open_connection(&self.path, self.timeout)
                .map_err(|e| sqlite_error(&self.url, e))?;
            *slot = Some(conn);
        }
        let conn = slot.as_mut().expect("opened above");
        conn.busy_timeout(left)
            .map_err(|e| sqlite_error(&self.url, e))?;
        f(conn, &self.url)
    }
}

fn open_connection(path: &Path, timeout: Duration) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(timeout)?;
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
        owner_pid INTEGER NOT NULL,
        owner_client_id TEXT NOT NULL,
        lease_until INTEGER,
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        history TEXT NOT NULL,
        claim_open INTEGER NOT NULL,
        prev TEXT,
        PRIMARY KEY (gateway, app_key, order_id)
    );
    CREATE INDEX dajisaas_payments_state ON dajisaas_payments (gateway, app_key, state, created_at);";

fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    let exists: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'dajisaas_journal_schema')",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(None);
    }
    conn.query_row(
        "SELECT MAX(version) FROM dajisaas_journal_schema",
        [],
        |r| r.get(0),
    )
}

/// Reads the schema version and returns when it is current (no write, no lock); otherwise
/// creates the schema, or migrates version 1, in one write transaction.
fn ensure_schema(conn: &mut Connection, url: &str) -> Result<()> {
    let err = |e| sqlite_error(url, e);
    match schema_version(conn).map_err(err)? {
        Some(JOURNAL_SCHEMA_VERSION) => return Ok(()),
        Some(version) if version > JOURNAL_SCHEMA_VERSION => {
            return Err(newer_schema(url, version));
        }
        _ => {}
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(err)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS dajisaas_journal_schema (version INTEGER NOT NULL)",
    )
    .map_err(err)?;
    // Again, under the write lock: another process may have done it meanwhile.
    match schema_version(&tx).map_err(err)? {
        Some(JOURNAL_SCHEMA_VERSION) => return Ok(()),
        Some(version) if version > JOURNAL_SCHEMA_VERSION => {
            return Err(newer_schema(url, version));
        }
        Some(1) => {
            migrate_from_v1(&tx).map_err(err)?;
            tx.execute_batch(pace::CREATE_TABLE).map_err(err)?;
        }
        // Version 2 had no shared pace.
        Some(2) => tx.execute_batch(pace::CREATE_TABLE).map_err(err)?,
        _ => {
            tx.execute_batch(CREATE_TABLE).map_err(err)?;
            tx.execute_batch(pace::CREATE_TABLE).map_err(err)?;
        }
    }
    tx.execute("DELETE FROM dajisaas_journal_schema", [])
        .map_err(err)?;
    tx.execute(
        "INSERT INTO dajisaas_journal_schema (version) VALUES (?1)",
        [JOURNAL_SCHEMA_VERSION],
    )
    .map_err(err)?;
    tx.commit().map_err(err)
}

/// Version 1 had no scopes, and one resolution per order: its rows keep every value, take the
/// legacy scope (they answer for every scope until a client changes them), and their
/// resolution becomes the first entry of the history.
fn migrate_from_v1(tx: &rusqlite::Transaction<'_>) -> rusqlite::Result<()> {
    tx.execute_batch(
        "DROP INDEX IF EXISTS dajisaas_payments_state;
         ALTER TABLE dajisaas_payments RENAME TO dajisaas_payments_v1;",
    )?;
    tx.execute_batch(CREATE_TABLE)?;
    tx.execute_batch(&format!(
        "INSERT INTO dajisaas_payments ({COLUMNS})
         SELECT '', '', order_id, NULL, state, attempts, trace_ids, pay_channel, error_code,
                message, data, owner_host, owner_pid, owner_client_id, lease_until, created_at,
                updated_at,
                CASE WHEN resolved_by IS NULL THEN '[]' ELSE json_array(json_object(
                    'at', strftime('%Y-%m-%dT%H:%M:%fZ', updated_at / 1000.0, 'unixepoch'),
                    'by', json_object('host', resolved_by, 'pid', 0, 'user', NULL),
                    'from', 'unknown', 'to', state, 'note', COALESCE(note, ''))) END,
                claim_open, prev
         FROM dajisaas_payments_v1;
         DROP TABLE dajisaas_payments_v1;"
    ))
}

fn read_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RowValues> {
    Ok(RowValues {
        gateway: row.get(0)?,
        app_key: row.get(1)?,
        order_id: row.get(2)?,
        claim_id: row.get(3)?,
        state: row.get(4)?,
        attempts: row.get(5)?,
        trace_ids: row.get(6)?,
        pay_channel: row.get(7)?,
        error_code: row.get(8)?,
        message: row.get(9)?,
        data: row.get(10)?,
        owner_host: row.get(11)?,
        owner_pid: row.get(12)?,
        owner_client_id: row.get(13)?,
        lease_until: row.get(14)?,
        created_at: row.get(15)?,
        updated_at: row.get(16)?,
        history: row.get(17)?,
        claim_open: row.get(18)?,
        prev: row.get(19)?,
    })
}

fn put(tx: &rusqlite::Transaction<'_>, stored: &Stored) -> rusqlite::Result<()> {
    let v = RowValues::from_stored(stored);
    let placeholders: Vec<String> = (1..=COLUMN_COUNT).map(|n| format!("?{n}")).collect();
    let values: [&dyn rusqlite::ToSql; COLUMN_COUNT] = row_params!(v, &v.attempts);
    tx.execute(
        &format!(
            "INSERT OR REPLACE INTO dajisaas_payments ({COLUMNS}) VALUES ({})",
            placeholders.join(", ")
        ),
        params_from_iter(values),
    )?;
    Ok(())
}

/// The order's rows in `scope` and from before scopes.
const SELECT_ORDER: &str = "FROM dajisaas_payments WHERE order_id = ?1 \
     AND ((gateway = ?2 AND app_key = ?3) OR (gateway = '' AND app_key = ''))";

fn order_rows(
    conn: &Connection,
    url: &str,
    scope: &Scope,
    order_id: &str,
) -> Result<Option<Stored>> {
    let err = |e| sqlite_error(url, e);
    let mut statement = conn
        .prepare_cached(&format!("SELECT {COLUMNS} {SELECT_ORDER}"))
        .map_err(err)?;
    let rows = statement
        .query_map((order_id, &scope.gateway, &scope.app_key), read_row)
        .map_err(err)?;
    let mut found = Vec::new();
    for row in rows {
        found.push(row.map_err(err)?.into_stored()?);
    }
    Ok(scoped_first(found))
}

impl Backend for SqliteJournal {
    fn url(&self) -> &str {
        &self.url
    }

    fn pace(&self) -> Option<&dyn PaceStore> {
        Some(self)
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        self.with_conn(ensure_schema)
    }

    fn mutate(&self, scope: Scope, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            // The write lock is taken here, before the row is read.
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(err)?;
            let existing = order_rows(&tx, url, &scope, &order_id)?;
            let legacy = existing
                .as_ref()
                .is_some_and(|s| s.record.scope.is_legacy());
            // On an error the transaction is dropped: rolled back.
            let (reply, change) = op.apply(&scope, &order_id, now_millis(), existing)?;
            let delete = |gateway: &str, app_key: &str| {
                tx.execute(
                    "DELETE FROM dajisaas_payments \
                     WHERE order_id = ?1 AND gateway = ?2 AND app_key = ?3",
                    (&order_id, gateway, app_key),
                )
            };
            match change {
                Change::Keep => {}
                Change::Put(stored) => {
                    put(&tx, &stored).map_err(err)?;
                    if legacy {
                        // Changed by this scope: the row from before scopes is now its own.
                        delete("", "").map_err(err)?;
                    }
                }
                Change::Delete => {
                    delete(&scope.gateway, &scope.app_key).map_err(err)?;
                    delete("", "").map_err(err)?;
                }
            }
            tx.commit().map_err(err)?;
            Ok(reply)
        })
    }

    fn get(&self, scope: Scope, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        self.with_conn(move |conn, url| {
            Ok(order_rows(conn, url, &scope, &order_id)?.map(|s| s.record))
        })
    }

    fn list(&self, scope: Scope, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            let mut statement = conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM dajisaas_payments \
                     WHERE ((gateway = ?1 AND app_key = ?2) OR (gateway = '' AND app_key = '')) \
                     AND (?3 IS NULL OR state = ?3) ORDER BY created_at, order_id"
                ))
                .map_err(err)?;
            let rows = statement
                .query_map(
                    (&scope.gateway, &scope.app_key, state.map(State::as_str)),
                    read_row,
                )
                .map_err(err)?;
            let mut records = Vec::new();
            for row in rows {
                records.push(row.map_err(err)?.into_stored()?.record);
            }
            Ok(records)
        })
    }
}

/// The pace's statements: reserve, lower, read.
static PACE: LazyLock<[String; 3]> = LazyLock::new(|| pace::statements(Dialect::Sqlite));

fn read_pace_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<PaceRow> {
    pace::pace_row!(row, get)
}

impl PaceStore for SqliteJournal {
    fn reserve_slot<'a>(
        &'a self,
        scope: &'a Scope,
        ask: &'a SlotAsk,
    ) -> JournalFuture<'a, PaceRow> {
        let (scope, ask) = (scope.clone(), ask.clone());
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            let params = (
                &scope.gateway,
                &scope.app_key,
                ask.configured,
                ask.epoch,
                ask.raise,
                ask.cap,
                ask.answered,
                ask.refused,
            );
            // The scope's row is made at its first reservation.
            for _ in 0..2 {
                let mut statement = conn.prepare_cached(&PACE[0]).map_err(err)?;
                match statement.query_row(params, read_pace_row) {
                    Ok(row) => return Ok(row),
                    Err(rusqlite::Error::QueryReturnedNoRows) => {
                        conn.execute(pace::INSERT, (&scope.gateway, &scope.app_key))
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
    }

    fn lower_pace<'a>(
        &'a self,
        scope: &'a Scope,
        lowering: &'a Lowering,
    ) -> JournalFuture<'a, bool> {
        let (scope, l) = (scope.clone(), *lowering);
        self.with_conn(move |conn, url| {
            let params = (
                &scope.gateway,
                &scope.app_key,
                l.epoch,
                l.rate,
                l.estimate,
                l.step,
            );
            conn.prepare_cached(&PACE[1])
                .and_then(|mut statement| statement.exists(params))
                .map_err(|e| sqlite_error(url, e))
        })
    }

    fn read_pace<'a>(&'a self, scope: &'a Scope) -> JournalFuture<'a, Option<PaceRow>> {
        let scope = scope.clone();
        self.with_conn(move |conn, url| {
            let err = |e| sqlite_error(url, e);
            let mut statement = conn.prepare_cached(&PACE[2]).map_err(err)?;
            let mut rows = statement
                .query_map((&scope.gateway, &scope.app_key), read_pace_row)
                .map_err(err)?;
            rows.next().transpose().map_err(err)
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

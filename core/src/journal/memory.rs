//! The memory journal: one map per process, shared by every client of the process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::{
    Backend, Change, JournalFuture, Op, PaymentRecord, Reply, Scope, State, Stored, now_millis,
};
use crate::per_process::PerProcess;

type Rows = BTreeMap<(Scope, String), Row>;

/// A journal kept in this process's memory. [`open_journal`](super::open_journal)`("memory")`
/// returns the process's one shared instance ([`MemoryJournal::shared`]); [`MemoryJournal::new`]
/// makes a separate one (tests).
///
/// After `fork()`, the child's journal starts from a copy of the parent's records (when no
/// parent thread was changing them at that moment; otherwise empty) and then goes its own way:
/// processes that must share their payments (prefork servers) want a SQLite journal.
pub struct MemoryJournal {
    url: String,
    rows: PerProcess<RwLock<Rows>>,
}

impl std::fmt::Debug for MemoryJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryJournal")
            .field("url", &self.url)
            .finish()
    }
}

/// A fork child's rows: a copy of the parent's, unless a parent thread was changing them (a
/// reader in the parent leaves them whole, and readable).
fn child_rows(parent: Option<&RwLock<Rows>>) -> RwLock<Rows> {
    let copied = parent.and_then(|rows| rows.try_read().ok().map(|rows| rows.clone()));
    RwLock::new(copied.unwrap_or_default())
}

/// A record kept as JSON text, as the other stores keep it: the process-wide journal lives until
/// exit, and text (unlike parsed JSON objects, whose hash tables are pointed into) leaves nothing
/// that leak checkers such as valgrind report as possibly lost at exit.
#[derive(Debug, Clone)]
struct Row {
    record: String,
    claim_open: bool,
    prev: Option<String>,
}

impl Row {
    fn from_stored(stored: &Stored) -> Row {
        Row {
            record: stored.record.to_json().to_string(),
            claim_open: stored.claim_open,
            prev: stored.prev_json(),
        }
    }

    fn to_stored(&self) -> crate::Result<Stored> {
        let record = Stored::parse_prev(Some(&self.record))?.expect("parsed from Some");
        Ok(Stored {
            record: *record,
            claim_open: self.claim_open,
            prev: Stored::parse_prev(self.prev.as_deref())?,
        })
    }
}

impl Default for MemoryJournal {
    fn default() -> Self {
        MemoryJournal {
            url: "memory".into(),
            rows: PerProcess::new(child_rows),
        }
    }
}

impl MemoryJournal {
    /// A new, empty journal of its own (not the process-wide one).
    pub fn new() -> MemoryJournal {
        MemoryJournal::default()
    }

    /// The process's one memory journal, shared by every client that uses `memory`.
    pub fn shared() -> Arc<MemoryJournal> {
        static SHARED: OnceLock<Arc<MemoryJournal>> = OnceLock::new();
        SHARED
            .get_or_init(|| Arc::new(MemoryJournal::new()))
            .clone()
    }

    /// The process's memory journal named `name` (`memory:NAME`): every client that names it
    /// shares it, apart from the default one. Test suites give each test its own.
    pub fn named(name: &str) -> Arc<MemoryJournal> {
        static NAMED: OnceLock<Mutex<BTreeMap<String, Arc<MemoryJournal>>>> = OnceLock::new();
        let mut named = NAMED
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        named
            .entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(MemoryJournal {
                    url: format!("memory:{name}"),
                    rows: PerProcess::new(child_rows),
                })
            })
            .clone()
    }

    fn rows(&self) -> RwLockReadGuard<'_, Rows> {
        self.rows
            .get()
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn rows_mut(&self) -> RwLockWriteGuard<'_, Rows> {
        self.rows
            .get()
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Backend for MemoryJournal {
    fn url(&self) -> &str {
        &self.url
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }

    fn mutate(&self, scope: Scope, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        // Nothing happens until the future is polled, as with the other stores.
        Box::pin(async move {
            let mut rows = self.rows_mut();
            let key = (scope, order_id);
            let existing = rows.get(&key).map(Row::to_stored).transpose()?;
            let (reply, change) = op.apply(&key.0, &key.1, now_millis(), existing)?;
            match change {
                Change::Keep => {}
                Change::Put(stored) => {
                    rows.insert(key, Row::from_stored(&stored));
                }
                Change::Delete => {
                    rows.remove(&key);
                }
            }
            Ok(reply)
        })
    }

    fn get(&self, scope: Scope, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        Box::pin(async move {
            self.rows()
                .get(&(scope, order_id))
                .map(|row| row.to_stored().map(|s| s.record))
                .transpose()
        })
    }

    fn list(&self, scope: Scope, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        Box::pin(async move {
            let mut records = Vec::new();
            for ((row_scope, _), row) in self.rows().iter() {
                if *row_scope != scope {
                    continue;
                }
                let record = row.to_stored()?.record;
                if state.is_none_or(|wanted| record.state == wanted) {
                    records.push(record);
                }
            }
            super::sort_records(&mut records);
            Ok(records)
        })
    }
}

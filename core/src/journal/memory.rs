//! The memory journal: one map per process, shared by every client of the process.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};

use super::{Backend, Change, JournalFuture, Op, PaymentRecord, Reply, State, Stored, now_millis};

/// A journal kept in this process's memory. [`open_journal`](super::open_journal)`("memory")`
/// returns the process's one shared instance ([`MemoryJournal::shared`]); [`MemoryJournal::new`]
/// makes a separate one (tests).
#[derive(Debug)]
pub struct MemoryJournal {
    url: String,
    rows: Mutex<BTreeMap<String, Row>>,
}

/// A record kept as JSON text, as the other stores keep it: the process-wide journal lives until
/// exit, and text (unlike parsed JSON objects, whose hash tables are pointed into) leaves nothing
/// that leak checkers such as valgrind report as possibly lost at exit.
#[derive(Debug)]
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
            rows: Mutex::default(),
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
                    rows: Mutex::default(),
                })
            })
            .clone()
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Row>> {
        self.rows
            .lock()
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

    fn mutate(&self, order_id: String, op: Op) -> JournalFuture<'_, Reply> {
        // Nothing happens until the future is polled, as with the other stores.
        Box::pin(async move {
            let mut rows = self.rows();
            let existing = rows.get(&order_id).map(Row::to_stored).transpose()?;
            let (reply, change) = op.apply(&order_id, now_millis(), existing)?;
            match change {
                Change::Keep => {}
                Change::Put(stored) => {
                    rows.insert(order_id, Row::from_stored(&stored));
                }
                Change::Delete => {
                    rows.remove(&order_id);
                }
            }
            Ok(reply)
        })
    }

    fn get(&self, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>> {
        Box::pin(async move {
            self.rows()
                .get(&order_id)
                .map(|row| row.to_stored().map(|s| s.record))
                .transpose()
        })
    }

    fn list(&self, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>> {
        Box::pin(async move {
            let mut records = Vec::new();
            for row in self.rows().values() {
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

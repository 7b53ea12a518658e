//! The core's log records, queued on whatever thread logs them and emitted to Python's `logging`
//! only by Python code on Python threads (`dajisaas/_runtime.py`): the caller of a blocking call
//! when it returns, an event loop when it drains finished calls, and the `atexit` hook. No thread
//! of the core ever attaches to the interpreter to log, and no logging handler runs with a Rust
//! frame under it.
//!
//! Levels are read from Python's logging on Python threads (when the package loads and when a
//! client is created) and kept in atomics, so a disabled record costs nothing and is never
//! queued. The queue is bounded: past [`CAPACITY`] records, new ones are counted and dropped, and
//! the count is reported as one warning at the next flush.
//!
//! A record's key-values (`order_id`, `attempt`, `trace_id`, ... : `core/src/payment_log.rs`)
//! travel as plain Python values (str, int, bool) and become attributes of the `LogRecord`.
//! Other crates' records (reqwest, rustls, tokio-postgres) pass at WARNING and above only: below
//! it they describe those crates' internals in Rust's `Debug` text (reqwest's `starting new
//! connection 'Some("127.0.0.1")'`), which no Python handler can make plain; the core's own DEBUG
//! record of each request says what was sent, in plain values.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use log::kv::{self, Key, Value, VisitSource, VisitValue};
use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

/// Records kept waiting for a Python thread; more are dropped and counted.
pub const CAPACITY: usize = 10_000;

/// One record, all Rust data.
struct Queued {
    level: Level,
    logger: String,
    message: String,
    file: String,
    line: u32,
    /// Seconds since the epoch, when the record was made (not when it is emitted).
    created: f64,
    fields: Vec<(String, Field)>,
}

/// A key-value's value as Python gets it.
#[derive(IntoPyObject)]
pub enum Field {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// The record's key-values as plain values; a null one (`order_id` outside a payment) is left
/// out, and any other kind of value becomes its `Display` text.
fn fields(record: &Record<'_>) -> Vec<(String, Field)> {
    struct Plain(Option<Field>);
    impl<'v> VisitValue<'v> for Plain {
        fn visit_any(&mut self, value: Value<'_>) -> Result<(), kv::Error> {
            self.0 = Some(Field::Str(value.to_string()));
            Ok(())
        }
        fn visit_null(&mut self) -> Result<(), kv::Error> {
            self.0 = None;
            Ok(())
        }
        fn visit_u64(&mut self, n: u64) -> Result<(), kv::Error> {
            self.0 = Some(i64::try_from(n).map_or_else(|_| Field::Str(n.to_string()), Field::Int));
            Ok(())
        }
        fn visit_i64(&mut self, n: i64) -> Result<(), kv::Error> {
            self.0 = Some(Field::Int(n));
            Ok(())
        }
        fn visit_bool(&mut self, b: bool) -> Result<(), kv::Error> {
            self.0 = Some(Field::Bool(b));
            Ok(())
        }
        fn visit_str(&mut self, s: &str) -> Result<(), kv::Error> {
            self.0 = Some(Field::Str(s.to_string()));
            Ok(())
        }
    }
    struct Collect(Vec<(String, Field)>);
    impl<'kvs> VisitSource<'kvs> for Collect {
        fn visit_pair(&mut self, key: Key<'kvs>, value: Value<'kvs>) -> Result<(), kv::Error> {
            let mut plain = Plain(None);
            value.visit(&mut plain)?;
            if let Some(field) = plain.0 {
                self.0.push((key.as_str().to_string(), field));
            }
            Ok(())
        }
    }
    let mut collect = Collect(Vec::new());
    // A source that fails part-way keeps the pairs visited before.
    let _ = record.key_values().visit(&mut collect);
    collect.0
}

struct Queue {
    records: VecDeque<Queued>,
    dropped: usize,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    records: VecDeque::new(),
    dropped: 0,
});
/// Whether anything (a record or a drop count) waits, so that an empty flush takes no lock.
static WAITING: AtomicBool = AtomicBool::new(false);
/// The most verbose level enabled for the logger "dajisaas" and for any other logger (the
/// root's effective level), as `LevelFilter as usize`.
static OURS: AtomicUsize = AtomicUsize::new(LevelFilter::Off as usize);
static OTHERS: AtomicUsize = AtomicUsize::new(LevelFilter::Off as usize);
/// Set by the `atexit` hook: nothing more is queued.
static STOPPED: AtomicBool = AtomicBool::new(false);

struct QueueLogger;

static LOGGER: QueueLogger = QueueLogger;

fn filter_from(value: usize) -> LevelFilter {
    match value {
        0 => LevelFilter::Off,
        1 => LevelFilter::Error,
        2 => LevelFilter::Warn,
        3 => LevelFilter::Info,
        4 => LevelFilter::Debug,
        _ => LevelFilter::Trace,
    }
}

/// `dajisaas::transport` is logged by the Python logger `dajisaas.transport`.
fn logger_name(target: &str) -> String {
    target.replace("::", ".")
}

fn ours(target: &str) -> bool {
    target == "dajisaas" || target.starts_with("dajisaas::")
}

impl Log for QueueLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        let limit = if ours(metadata.target()) {
            &OURS
        } else {
            &OTHERS
        };
        !STOPPED.load(Ordering::Relaxed)
            && metadata.level() <= filter_from(limit.load(Ordering::Relaxed))
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let created = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0);
        let queued = Queued {
            level: record.level(),
            logger: logger_name(record.target()),
            message: record.args().to_string(),
            file: record.file().unwrap_or("<rust>").to_string(),
            line: record.line().unwrap_or(0),
            created,
            fields: fields(record),
        };
        let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
        if queue.records.len() >= CAPACITY {
            queue.dropped += 1;
        } else {
            queue.records.push_back(queued);
        }
        WAITING.store(true, Ordering::Release);
    }

    fn flush(&self) {}
}

/// Installs the queueing logger (once; if another `log` logger is already installed in this
/// process, the core's records go there instead). Levels come from `_set_log_levels`.
pub fn install() {
    let _ = log::set_logger(&LOGGER);
}

/// Python's logging level number as the most verbose `log` level it lets through.
fn filter_for_python_level(level: i64) -> LevelFilter {
    match level {
        l if l <= 5 => LevelFilter::Trace,
        l if l <= 10 => LevelFilter::Debug,
        l if l <= 20 => LevelFilter::Info,
        l if l <= 30 => LevelFilter::Warn,
        l if l <= 40 => LevelFilter::Error,
        _ => LevelFilter::Off,
    }
}

/// The effective levels of the logger "dajisaas" and of the root logger, read by Python code on
/// a Python thread (`dajisaas._runtime.refresh_levels`).
#[pyfunction]
pub fn _set_log_levels(ours: i64, others: i64) {
    let ours = filter_for_python_level(ours);
    // Other crates' records below WARNING are Rust-formatted internals (see the module's docs).
    let others = filter_for_python_level(others).min(LevelFilter::Warn);
    OURS.store(ours as usize, Ordering::Relaxed);
    OTHERS.store(others as usize, Ordering::Relaxed);
    log::set_max_level(ours.max(others));
}

fn python_level(level: Level) -> i32 {
    match level {
        Level::Error => 40,
        Level::Warn => 30,
        Level::Info => 20,
        Level::Debug => 10,
        Level::Trace => 5,
    }
}

/// One record as Python emits it: (logger, level, file, line, message, created, key-values).
type PyRecord = (String, i32, String, u32, String, f64, Vec<(String, Field)>);

/// The queued records and the number dropped since the last take, or `None` when nothing
/// waits; Python code emits them (`dajisaas._runtime.emit_logs`) on the calling thread.
#[pyfunction]
pub fn _take_log_records() -> Option<(usize, Vec<PyRecord>)> {
    if !WAITING.load(Ordering::Acquire) {
        return None;
    }
    let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    WAITING.store(false, Ordering::Release);
    let dropped = std::mem::take(&mut queue.dropped);
    let records = queue
        .records
        .drain(..)
        .map(|r| {
            (
                r.logger,
                python_level(r.level),
                r.file,
                r.line,
                r.message,
                r.created,
                r.fields,
            )
        })
        .collect();
    Some((dropped, records))
}

/// The `atexit` hook's part: nothing more is queued.
pub fn stop() {
    STOPPED.store(true, Ordering::SeqCst);
}

//! The core's log records, queued on whatever thread logs them and emitted to Python's `logging`
//! only by Python threads: the caller of a blocking call when it returns (and every tick while it
//! waits), an event loop when it drains finished calls, and the `atexit` hook. No thread of the
//! core ever attaches to the interpreter to log.
//!
//! Levels are read from Python's logging on Python threads (when the module loads and when a
//! client is created) and kept in atomics, so a disabled record costs nothing and is never
//! queued. The queue is bounded: past [`CAPACITY`] records, new ones are counted and dropped, and
//! the count is reported as one warning at the next flush.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

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
/// process, the core's records go there instead) and reads the levels.
pub fn install(py: Python<'_>) -> PyResult<()> {
    let _ = log::set_logger(&LOGGER);
    refresh_levels(py)
}

static GET_LOGGER: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

fn get_logger<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    GET_LOGGER
        .get_or_try_init(py, || {
            py.import("logging")?
                .getattr("getLogger")
                .map(Bound::unbind)
        })?
        .bind(py)
        .call1((name,))
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

fn effective_filter(py: Python<'_>, name: &str) -> PyResult<LevelFilter> {
    let level: i64 = get_logger(py, name)?
        .call_method0("getEffectiveLevel")?
        .extract()?;
    // NOTSET (0) as an effective level means "everything".
    Ok(filter_for_python_level(level))
}

/// Reads the effective levels of the logger "dajisaas" and of the root logger. Called on a
/// Python thread only.
pub fn refresh_levels(py: Python<'_>) -> PyResult<()> {
    let ours = effective_filter(py, "dajisaas")?;
    let others = effective_filter(py, "")?;
    OURS.store(ours as usize, Ordering::Relaxed);
    OTHERS.store(others as usize, Ordering::Relaxed);
    log::set_max_level(ours.max(others));
    Ok(())
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

fn emit(py: Python<'_>, record: Queued) -> PyResult<()> {
    let level = python_level(record.level);
    let logger = get_logger(py, &record.logger)?;
    if !logger.call_method1("isEnabledFor", (level,))?.is_truthy()? {
        return Ok(());
    }
    let made = logger.call_method1(
        "makeRecord",
        (
            &record.logger,
            level,
            &record.file,
            record.line,
            &record.message,
            (),
            py.None(),
        ),
    )?;
    // The time the core logged it, not the time a Python thread got to emit it.
    let created = record.created;
    made.setattr("created", created)?;
    made.setattr("msecs", (created.fract() * 1000.0).floor())?;
    logger.call_method1("handle", (made,))?;
    Ok(())
}

/// Emits the queued records through Python's logging, on the calling (Python) thread. An
/// exception from a handler stops the flush and is returned; the records not yet emitted stay
/// queued for the next flush.
pub fn flush(py: Python<'_>) -> PyResult<()> {
    if !WAITING.load(Ordering::Acquire) {
        return Ok(());
    }
    loop {
        let (next, dropped) = {
            let mut queue = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
            let dropped = std::mem::take(&mut queue.dropped);
            let next = queue.records.pop_front();
            if next.is_none() {
                WAITING.store(false, Ordering::Release);
            }
            (next, dropped)
        };
        if dropped > 0 {
            get_logger(py, "dajisaas")?.call_method1(
                "warning",
                (format!(
                    "{dropped} log record(s) of the core were dropped: more than {CAPACITY} waited for a Python thread"
                ),),
            )?;
        }
        match next {
            Some(record) => emit(py, record)?,
            None => return Ok(()),
        }
    }
}

/// The `atexit` hook's part: nothing more is queued; what waits is emitted now, while the
/// interpreter still runs.
pub fn stop(py: Python<'_>) -> PyResult<()> {
    STOPPED.store(true, Ordering::SeqCst);
    flush(py)
}

//! How results and errors are shown: readable lines, or JSON with `--json`/`--jsonl`; the label
//! of each order's outcome; the exit status; `--report` files. Nothing here panics on a closed
//! stdout or stderr (`daji pay | head`): a closed stdout is remembered and output stops quietly.

use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use dajisaas::{Error, ErrorCode, PayManyItem, PayUrl, Payment, PaymentOutcome};
use serde_json::{Map, Value, json};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Writes `text` and a line break to stdout. False once stdout is closed (a reader such as
/// `head` went away): nothing is written after that, and nothing panics.
pub fn out(text: &str) -> bool {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return false;
    }
    let mut stdout = std::io::stdout().lock();
    let written = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    if written.is_err() {
        STDOUT_CLOSED.store(true, Ordering::Relaxed);
        return false;
    }
    true
}

/// True once a write to stdout failed.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Writes `text` and a line break to stderr; a closed stderr is ignored (never a panic).
pub fn err(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(text.as_bytes())
        .and_then(|()| stderr.write_all(b"\n"));
}

/// Exit status 2: the command line was rejected (clap's own status for usage errors).
pub const USAGE: u8 = 2;
/// Exit status of `daji journal show` when the journal has no record of the order.
pub const NO_RECORD: u8 = 1;

/// The process exit status for a failure: 10 + the error's fixed number.
pub fn exit_code(error: &Error) -> ExitCode {
    ExitCode::from(exit_number(error))
}

fn exit_number(error: &Error) -> u8 {
    10 + error.code().number() as u8
}

/// Reports a failure on stderr (or stdout as JSON) and returns its exit status.
pub fn fail(error: &Error, as_json: bool) -> ExitCode {
    report_error(error, as_json);
    exit_code(error)
}

/// [`fail`] for what the command line asked before anything was sent: an `invalid_argument`
/// there (a malformed or out-of-range value, an unreadable file, an unwritable `--report`) is
/// a usage error, status 2, like clap's own; other failures keep 10 + their number.
pub fn usage(error: &Error, as_json: bool) -> ExitCode {
    report_error(error, as_json);
    if error.code() == ErrorCode::InvalidArgument {
        ExitCode::from(USAGE)
    } else {
        exit_code(error)
    }
}

fn report_error(error: &Error, as_json: bool) {
    if as_json {
        out(&json!({ "error": error.to_json() }).to_string());
        return;
    }
    err(&format!("error[{}]: {}", error.code(), error.message()));
    let mut details = Vec::new();
    if let Some(t) = error.trace_id() {
        details.push(format!("traceId {t}"));
    }
    if let Some(c) = error.api_code() {
        details.push(format!("api code {c}"));
    }
    if let Some(s) = error.http_status() {
        details.push(format!("HTTP {s}"));
    }
    if error.attempts() > 0 {
        details.push(format!("{} attempt(s)", error.attempts()));
    }
    if !details.is_empty() {
        err(&format!("  ({})", details.join(", ")));
    }
}

pub fn link_text(link: &PayUrl) -> String {
    format!(
        "{}\n  orders {} (traceId {}, {} attempt(s))",
        link.url,
        link.order_ids.join(","),
        link.trace_id.as_deref().unwrap_or("-"),
        link.attempts
    )
}

/// What `daji` says became of one order: the core's outcome, with payments made now told apart
/// from replays and from orders the gateway said were already paid, and the orders an
/// interrupted run never started. Declared from the most serious to the least: the exit status
/// follows the most serious verdict of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Unknown,
    InProgress,
    NotStarted,
    Declined,
    NotPayable,
    Journal,
    Failed,
    Paid,
    AlreadyPaid,
    Replayed,
}

/// Each verdict's word (the summary's row, `--report`'s and `--json`'s `outcome` for orders
/// not started) and its label (every line, the demo, the CSV and the JSON).
const VERDICTS: [(Verdict, &str, &str); 10] = [
    (
        Verdict::Unknown,
        "unknown",
        "UNKNOWN (may have been charged: check the order, then daji journal resolve ID --paid|--not-paid)",
    ),
    (
        Verdict::InProgress,
        "in_progress",
        "IN PROGRESS (another process is paying it)",
    ),
    (Verdict::NotStarted, "not_started", "NOT STARTED"),
    (Verdict::Declined, "declined", "DECLINED (not charged)"),
    (Verdict::NotPayable, "not_payable", "NOT PAYABLE"),
    (
        Verdict::Journal,
        "journal",
        "FAILED (journal unavailable: the message says what was sent)",
    ),
    (Verdict::Failed, "failed", "FAILED (not charged)"),
    (Verdict::Paid, "paid", "PAID"),
    (
        Verdict::AlreadyPaid,
        "already_paid",
        "PAID (already paid at the gateway)",
    ),
    (
        Verdict::Replayed,
        "replayed",
        "PAID (from the journal; no request sent)",
    ),
];

impl Verdict {
    /// The verdict on one finished order.
    pub fn of(item: &PayManyItem) -> Verdict {
        Verdict::of_result(item.outcome, &item.result)
    }

    pub fn of_result(outcome: PaymentOutcome, result: &Result<Payment, Error>) -> Verdict {
        match (outcome, result) {
            (_, Ok(p)) if p.replayed => Verdict::Replayed,
            (_, Ok(p)) if already_paid(p) => Verdict::AlreadyPaid,
            (PaymentOutcome::Paid, _) => Verdict::Paid,
            (PaymentOutcome::Unknown, _) => Verdict::Unknown,
            (PaymentOutcome::InProgress, _) => Verdict::InProgress,
            (PaymentOutcome::Declined, _) => Verdict::Declined,
            (PaymentOutcome::NotPayable, _) => Verdict::NotPayable,
            (_, Err(e)) if e.code() == ErrorCode::Journal => Verdict::Journal,
            (PaymentOutcome::Failed, _) => Verdict::Failed,
        }
    }

    fn row(self) -> (Verdict, &'static str, &'static str) {
        VERDICTS[self as usize]
    }

    pub fn word(self) -> &'static str {
        self.row().1
    }

    pub fn label(self) -> &'static str {
        self.row().2
    }

    pub fn is_paid(self) -> bool {
        self >= Verdict::Paid
    }
}

/// True when the gateway answered that the order was already paid.
fn already_paid(payment: &Payment) -> bool {
    payment.already_paid
}

/// One finished order as a line: its label, its id, and what is known.
pub fn payment_line(order_id: &str, verdict: Verdict, result: &Result<Payment, Error>) -> String {
    let label = verdict.label();
    match result {
        Ok(p) => format!(
            "{label} {}{} ({} attempt(s), traceId {})",
            p.order_id,
            p.pay_channel
                .as_deref()
                .map(|c| format!(" via {c}"))
                .unwrap_or_default(),
            p.attempts,
            p.trace_id.as_deref().unwrap_or("-")
        ),
        Err(e) => format!(
            "{label} {order_id}: [{}] after {} attempt(s): {}",
            e.code(),
            e.attempts(),
            e.message()
        ),
    }
}

/// One order of a run, finished or never started.
pub struct Row {
    pub order_id: String,
    pub verdict: Verdict,
    /// `None` for an order that was not started.
    pub item: Option<PayManyItem>,
}

impl Row {
    pub fn finished(item: PayManyItem) -> Row {
        Row {
            order_id: item.order_id.clone(),
            verdict: Verdict::of(&item),
            item: Some(item),
        }
    }

    pub fn not_started(order_id: String) -> Row {
        Row {
            order_id,
            verdict: Verdict::NotStarted,
            item: None,
        }
    }

    pub fn line(&self) -> String {
        match &self.item {
            Some(item) => payment_line(&self.order_id, self.verdict, &item.result),
            None => format!("{} {}", self.verdict.label(), self.order_id),
        }
    }

    /// The core's JSON of the order (`{"orderId","outcome","payment"|"error"}`) with its
    /// `label`; `{"orderId","outcome":"not_started","label"}` for an order not started.
    pub fn to_json(&self) -> Value {
        let mut value = match &self.item {
            Some(item) => item.to_json(),
            None => json!({"orderId": self.order_id, "outcome": self.verdict.word()}),
        };
        if let Value::Object(map) = &mut value {
            map.insert("label".into(), self.verdict.label().into());
        }
        value
    }

    fn error(&self) -> Option<&Error> {
        self.item.as_ref().and_then(PayManyItem::error)
    }
}

/// How many orders got each verdict.
#[derive(Default)]
pub struct Tally {
    counts: [usize; VERDICTS.len()],
}

impl Tally {
    pub fn add(&mut self, verdict: Verdict) {
        self.counts[verdict as usize] += 1;
    }

    fn total(&self) -> usize {
        self.counts.iter().sum()
    }

    /// The rows in the order summaries list them: payments made now first.
    fn rows(&self) -> impl Iterator<Item = (&'static str, usize)> + '_ {
        const ORDER: [Verdict; VERDICTS.len()] = [
            Verdict::Paid,
            Verdict::AlreadyPaid,
            Verdict::Replayed,
            Verdict::Declined,
            Verdict::NotPayable,
            Verdict::Unknown,
            Verdict::InProgress,
            Verdict::Journal,
            Verdict::Failed,
            Verdict::NotStarted,
        ];
        ORDER
            .into_iter()
            .map(|v| (v.word(), self.counts[v as usize]))
    }

    /// The end of `daji pay`: how many orders ended with each verdict.
    pub fn table(&self) -> String {
        let mut table = String::from("\noutcome        orders\n");
        for (word, count) in self.rows() {
            table.push_str(&format!("{word:<14} {count:>6}\n"));
        }
        table.push_str(&format!("{:<14} {:>6}", "total", self.total()));
        table
    }

    /// `{"paid":n,"already_paid":n,"replayed":n,...,"not_started":n,"total":n}`.
    pub fn to_json(&self) -> Value {
        let mut map: Map<String, Value> = self
            .rows()
            .map(|(word, n)| (word.to_string(), Value::from(n)))
            .collect();
        map.insert("total".into(), self.total().into());
        Value::Object(map)
    }
}

/// The exit status of a run: that of its most serious verdict. Unknown, in progress, declined,
/// not payable and failed orders give 10 + their error's number; orders not started give
/// `interrupted` (128 + the signal's number); a run whose orders were all paid gives 0.
pub fn run_status(rows: &[Row], interrupted: u8) -> ExitCode {
    let worst = rows.iter().min_by_key(|r| r.verdict);
    match worst {
        None => ExitCode::SUCCESS,
        Some(r) if r.verdict.is_paid() => ExitCode::SUCCESS,
        Some(r) if r.verdict == Verdict::NotStarted => ExitCode::from(interrupted),
        Some(r) => r.error().map(exit_code).unwrap_or(ExitCode::FAILURE),
    }
}

/// `--report PATH`: created before anything is sent, written at the end.
pub struct Report {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Report {
    /// Creates (or empties) the file now, so that a path that cannot be written is found before
    /// any payment.
    pub fn create(path: &std::path::Path) -> dajisaas::Result<Report> {
        let file = std::fs::File::create(path)
            .map_err(|e| Error::invalid(format!("--report {}: {e}", path.display())))?;
        Ok(Report {
            path: path.to_path_buf(),
            file,
        })
    }

    /// One row per order, as CSV (`.csv`) or `{"results":[...],"summary":{...}}`.
    pub fn write(mut self, rows: &[Row], tally: &Tally, interrupted_by: Option<&str>) -> bool {
        let csv = self
            .path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let text = if csv {
            csv_text(rows)
        } else {
            let results: Vec<Value> = rows.iter().map(Row::to_json).collect();
            format!(
                "{:#}\n",
                json!({"results": results, "summary": tally.to_json(),
                       "interruptedBy": interrupted_by})
            )
        };
        match self
            .file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_all())
        {
            Ok(()) => true,
            Err(e) => {
                err(&format!(
                    "error: the report {} could not be written: {e}",
                    self.path.display()
                ));
                false
            }
        }
    }
}

fn csv_text(rows: &[Row]) -> String {
    let mut text = String::from(
        "order_id,outcome,label,replayed,already_paid,code,message,trace_id,attempts,pay_channel\n",
    );
    for row in rows {
        let (code, message, trace_id, attempts, channel) =
            match row.item.as_ref().map(|i| &i.result) {
                Some(Ok(p)) => (
                    String::new(),
                    String::new(),
                    p.trace_id.clone().unwrap_or_default(),
                    p.attempts.to_string(),
                    p.pay_channel.clone().unwrap_or_default(),
                ),
                Some(Err(e)) => (
                    e.code().as_str().to_string(),
                    e.message().to_string(),
                    e.trace_id().unwrap_or_default().to_string(),
                    e.attempts().to_string(),
                    String::new(),
                ),
                None => Default::default(),
            };
        let outcome = match &row.item {
            Some(item) => item.outcome.as_str(),
            None => row.verdict.word(),
        };
        let fields = [
            row.order_id.as_str(),
            outcome,
            row.verdict.label(),
            bool_text(row.verdict == Verdict::Replayed),
            bool_text(row.verdict == Verdict::AlreadyPaid),
            &code,
            &message,
            &trace_id,
            &attempts,
            &channel,
        ];
        let fields: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        text.push_str(&fields.join(","));
        text.push('\n');
    }
    text
}

fn bool_text(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_label_table_is_in_the_verdicts_order() {
        for (i, (verdict, _, _)) in VERDICTS.iter().enumerate() {
            assert_eq!(*verdict as usize, i);
        }
        assert!(
            !VERDICTS
                .iter()
                .any(|(_, _, label)| label.contains("NOT PAID"))
        );
    }
}

//! `daji pay`: many orders, each line as it finishes, a summary, a report, and interrupts that
//! finish what was sent.
//!
//! The first SIGINT, SIGTERM or SIGHUP (or a closed stdout) starts nothing new: the payments
//! under way run to their recorded outcomes, then the orders never started are listed as
//! `not_started` in the output, the summary and the report, and the exit status is that of the
//! most serious outcome (an interrupted run's orders not started: 128 + the signal's number). A
//! second SIGINT exits at once, naming the payments still under way.

use std::io::IsTerminal;
use std::pin::pin;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use dajisaas::{AsyncClient, Cancel, Owner, PayManyItem, State};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::Value;
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::PayArgs;
use crate::commands::read_ids;
use crate::output::{Report, Row, Tally, err, fail, out, run_status, stdout_closed, usage};

/// Why a run stopped starting payments, and the status its orders not started give.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Stop {
    /// The report's `interruptedBy`.
    name: &'static str,
    /// What the messages say.
    what: &'static str,
    status: u8,
}

impl Stop {
    /// A signal: its orders not started exit 128 + its number, as a shell reports a process it
    /// ended.
    const fn signal(name: &'static str, number: u8) -> Stop {
        Stop {
            name,
            what: name,
            status: 128 + number,
        }
    }
}

const SIGINT: Stop = Stop::signal("SIGINT", 2);
const SIGTERM: Stop = Stop::signal("SIGTERM", 15);
const SIGHUP: Stop = Stop::signal("SIGHUP", 1);
/// As a process ended by SIGPIPE (13).
const CLOSED_STDOUT: Stop = Stop {
    name: "stdout_closed",
    what: "stdout was closed",
    status: 128 + 13,
};

struct Signals {
    int: Signal,
    term: Signal,
    hup: Signal,
}

impl Signals {
    /// From now on these signals no longer end the process: `next` reports them.
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            int: signal(SignalKind::interrupt())?,
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
        })
    }

    async fn next(&mut self) -> Stop {
        tokio::select! {
            _ = self.int.recv() => SIGINT,
            _ = self.term.recv() => SIGTERM,
            _ = self.hup.recv() => SIGHUP,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Text,
    Json,
    Jsonl,
}

pub fn pay(args: &PayArgs) -> Result<(), ExitCode> {
    let mode = match (args.jsonl, args.connection.json) {
        (true, _) => Mode::Jsonl,
        (false, true) => Mode::Json,
        (false, false) => Mode::Text,
    };
    let as_json = mode != Mode::Text;
    // Every id is checked before any order is paid (and before the journal is opened); an
    // order listed twice is paid once.
    let given = read_ids(&args.ids).map_err(|e| usage(&e, as_json))?;
    let ids = dajisaas::validate_and_dedup_order_ids(&given).map_err(|e| usage(&e, as_json))?;
    drop(given);
    let mut connection = args.connection.clone();
    if connection.journal.is_none() {
        connection.journal = Some(crate::journal::default_url().map_err(|e| usage(&e, as_json))?);
    }
    let client = connection.client().map_err(|e| usage(&e, as_json))?;
    // The report's file exists before anything is sent.
    let report = args
        .report
        .as_deref()
        .map(Report::create)
        .transpose()
        .map_err(|e| usage(&e, as_json))?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            fail(
                &internal(format!("could not start a runtime: {e}")),
                as_json,
            )
        })?;
    let status = runtime.block_on(run(
        client.to_async(),
        ids,
        usize::from(args.concurrency),
        mode,
        report,
    ));
    if status == ExitCode::SUCCESS {
        Ok(())
    } else {
        Err(status)
    }
}

/// How long `daji pay` waits, before exiting, for outcomes the journal could not take at once.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(15);

async fn run(
    client: AsyncClient,
    ids: Vec<String>,
    concurrency: usize,
    mode: Mode,
    report: Option<Report>,
) -> ExitCode {
    let mut signals = match Signals::install() {
        Ok(signals) => signals,
        Err(e) => {
            let e = internal(format!("could not watch for signals: {e}"));
            return fail(&e, mode != Mode::Text);
        }
    };
    let bar = progress_bar(ids.len());
    let (sender, mut finished) = tokio::sync::mpsc::unbounded_channel::<(usize, PayManyItem)>();
    let cancel = Cancel::new();
    let mut rows: Vec<Option<Row>> = (0..ids.len()).map(|_| None).collect();
    let mut tally = Tally::default();
    let mut stop: Option<Stop> = None;
    let mut outcome = None;
    {
        let mut payments = pin!(client.pay_many_each_until(
            ids.clone(),
            concurrency,
            cancel.clone(),
            move |index, item| {
                let _ = sender.send((index, item));
            },
        ));
        while outcome.is_none() {
            tokio::select! {
                Some((index, item)) = finished.recv() => {
                    if !show(&bar, mode, index, item, &mut rows, &mut tally) && stop.is_none() {
                        stop = Some(CLOSED_STDOUT);
                        cancel.cancel();
                        stopping(&client, &bar, CLOSED_STDOUT).await;
                    }
                }
                signal = signals.next() => match stop {
                    None => {
                        stop = Some(signal);
                        cancel.cancel();
                        stopping(&client, &bar, signal).await;
                    }
                    Some(_) if signal == SIGINT => exit_now(&client, &bar).await,
                    Some(first) => bar.suspend(|| err(&format!(
                        "daji: {} again: still waiting for the payments under way (stopped by {}); \
                         SIGINT exits at once", signal.what, first.what))),
                },
                result = &mut payments => outcome = Some(result),
            }
        }
    }
    while let Ok((index, item)) = finished.try_recv() {
        show(&bar, mode, index, item, &mut rows, &mut tally);
    }
    // Outcomes the journal could not take yet are written before the process ends.
    match client.flush_journal(Some(FLUSH_AT_EXIT)).await {
        Ok(0) => {}
        Ok(kept) => bar.suspend(|| {
            err(&format!(
                "daji: {kept} payment outcome(s) could not be written to the journal within {} s; \
                 those orders will show as unknown once their claims expire: check them, then \
                 daji journal resolve",
                FLUSH_AT_EXIT.as_secs()
            ))
        }),
        Err(e) => bar.suspend(|| {
            err(&format!(
                "daji: the payment outcomes kept for the journal could not be written: {e}"
            ))
        }),
    }
    bar.finish_and_clear();
    if let Some(Err(e)) = outcome {
        return fail(&e, mode != Mode::Text);
    }
    let mut not_started = 0;
    let rows: Vec<Row> = ids
        .into_iter()
        .zip(rows)
        .map(|(id, row)| {
            row.unwrap_or_else(|| {
                not_started += 1;
                let row = Row::not_started(id);
                tally.add(row.verdict);
                emit(mode, &row);
                row
            })
        })
        .collect();
    match mode {
        Mode::Json => {
            let all: Vec<Value> = rows.iter().map(Row::to_json).collect();
            out(&Value::Array(all).to_string());
        }
        Mode::Text if !stdout_closed() => {
            out(&tally.table());
        }
        // Stream readers get only the orders on stdout.
        _ => err(&tally.table()),
    }
    let stopped_by = stop.map(|s| s.name);
    if let Some(report) = report {
        report.write(&rows, &tally, stopped_by);
    }
    if let Some(stop) = stop {
        err(&format!(
            "daji: stopped ({}): {not_started} order(s) not started (listed as not_started). \
             Running the same command again pays them; the orders paid are replayed from the \
             journal without a request.",
            stop.what
        ));
    }
    run_status(&rows, stop.map_or(20, |s| s.status))
}

/// Shows one finished order (text or JSON Lines) and keeps its row; false when stdout is closed.
fn show(
    bar: &ProgressBar,
    mode: Mode,
    index: usize,
    item: PayManyItem,
    rows: &mut [Option<Row>],
    tally: &mut Tally,
) -> bool {
    let row = Row::finished(item);
    tally.add(row.verdict);
    let open = bar.suspend(|| emit(mode, &row));
    bar.inc(1);
    rows[index] = Some(row);
    open
}

fn emit(mode: Mode, row: &Row) -> bool {
    match mode {
        Mode::Text => out(&row.line()),
        Mode::Jsonl => out(&row.to_json().to_string()),
        Mode::Json => !stdout_closed(),
    }
}

/// A bar on stderr whenever stderr is a terminal (stdout may be a pipe or a file).
fn progress_bar(len: usize) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(len as u64), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} orders, {per_sec}, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// The payments of this process that the journal shows under way (`in_flight`, claimed by this
/// process), with their claims' end; `None` when the journal did not answer within a second.
async fn under_way(client: &AsyncClient) -> Option<Vec<(String, Option<SystemTime>)>> {
    let me = Owner::this_process();
    let records = tokio::time::timeout(
        Duration::from_secs(1),
        client.payment_records(Some(State::InFlight)),
    )
    .await
    .ok()?
    .ok()?;
    Some(
        records
            .into_iter()
            .filter(|r| r.owner == me)
            .map(|r| (r.order_id, r.lease_until))
            .collect(),
    )
}

async fn stopping(client: &AsyncClient, bar: &ProgressBar, stop: Stop) {
    let count = match under_way(client).await {
        Some(ids) => ids.len().to_string(),
        None => "the".to_string(),
    };
    bar.suspend(|| {
        err(&format!(
            "daji: {}: starting no new payment; waiting for {count} payment(s) under way to reach \
             their recorded outcomes (a second SIGINT exits at once)",
            stop.what
        ))
    });
}

/// The second SIGINT: name what may have been sent, say what a re-run does, exit.
async fn exit_now(client: &AsyncClient, bar: &ProgressBar) -> ! {
    let listed = under_way(client).await;
    bar.finish_and_clear();
    match listed {
        Some(ids) if ids.is_empty() => {
            err("daji: SIGINT again: exiting; no payment was under way.")
        }
        Some(ids) => {
            let now = SystemTime::now();
            let longest = ids
                .iter()
                .filter_map(|(_, until)| until.and_then(|u| u.duration_since(now).ok()))
                .max()
                .unwrap_or_default();
            let names: Vec<&str> = ids.iter().map(|(id, _)| id.as_str()).collect();
            err(&format!(
                "daji: SIGINT again: exiting now. {} payment(s) under way may have been sent: {}\n\
                 A re-run reports each IN PROGRESS until its claim ends (within {} s), then \
                 UNKNOWN: check the order, then daji journal resolve ID --paid|--not-paid.",
                ids.len(),
                names.join(" "),
                longest.as_secs() + 1
            ));
        }
        None => err(
            "daji: SIGINT again: exiting now. The journal did not answer in time: \
             `daji journal list --state in_flight` shows the payments that were under way.",
        ),
    }
    std::process::exit(i32::from(SIGINT.status))
}

/// Runs `call` (one that moves no money, such as `pay-url --batch-size`) until it ends or a
/// SIGINT, SIGTERM or SIGHUP comes; then says `what` became of it and exits 128 + the signal's
/// number.
pub fn until_interrupted<T>(
    call: impl std::future::Future<Output = dajisaas::Result<T>>,
    what: &str,
) -> dajisaas::Result<T> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| internal(format!("could not start a runtime: {e}")))?;
    runtime.block_on(async {
        let mut signals = Signals::install()
            .map_err(|e| internal(format!("could not watch for signals: {e}")))?;
        tokio::select! {
            result = call => result,
            stop = signals.next() => {
                err(&format!("daji: {}: {what}", stop.what));
                std::process::exit(i32::from(stop.status))
            }
        }
    })
}

fn internal(message: String) -> dajisaas::Error {
    dajisaas::Error::new(dajisaas::ErrorCode::Internal, message)
}

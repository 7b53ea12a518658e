//! `daji-bench --pace-cost`: what the fleet's pace (issue 24) costs against the per-process pace,
//! in one run against one sandbox. A SQLite or PostgreSQL journal keeps the pace in its store and
//! every call reserves its slot there (one statement); a memory journal keeps the process's own
//! pace (a mutex). Four parts:
//!
//! - the call: `pay_url` one after the other with `max_calls_per_second` 10,000 (never binding at
//!   that rate), with a memory, SQLite and PostgreSQL journal, the stores alternating by round:
//!   median and p99 per call, and what the store adds to them;
//! - the reservation alone: `PaceStore::reserve_slot` one after the other, no rate;
//! - calls a second: TASKS threads calling `pay_url` through one client per journal, no rate;
//! - reservations a second: TASKS tasks, each with a journal of its own (its own connection, as
//!   TASKS processes would have), reserving slots of one scope with no rate.
//!
//! The per-process pace cannot be reached alone from outside the core, so the baseline of every
//! row is the memory journal's client: the store's figures say what share of a loopback call a
//! reservation is, and how many calls a second a store can pace against what one process sends.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use dajisaas::{
    Casing, Client, JournalStore, MAX_CALLS_PER_SECOND_LIMIT, Scope, SlotAsk, open_journal,
};
use serde_json::json;

use crate::{ORDER_ID, median, micros, p99};

/// The arguments of `--pace-cost`.
pub struct PaceCost<'a> {
    url: &'a str,
    key: &'a str,
    secret: &'a str,
    /// Calls (and reservations) per store and round, one after the other.
    calls: u64,
    rounds: u64,
    /// How long each store is driven by `tasks` at once.
    seconds: f64,
    tasks: u64,
    sqlite: &'a str,
    pg: Option<&'a str>,
}

impl<'a> PaceCost<'a> {
    /// `URL KEY SECRET CALLS ROUNDS SECONDS TASKS SQLITE_FILE [PG_URL]`.
    pub fn parse(args: &'a [String]) -> PaceCost<'a> {
        assert!(
            (8..=9).contains(&args.len()),
            "--pace-cost URL KEY SECRET CALLS ROUNDS SECONDS TASKS SQLITE_FILE [PG_URL]"
        );
        PaceCost {
            url: &args[0],
            key: &args[1],
            secret: &args[2],
            calls: number(&args[3], "CALLS"),
            rounds: number(&args[4], "ROUNDS"),
            seconds: number(&args[5], "SECONDS"),
            tasks: number(&args[6], "TASKS"),
            sqlite: &args[7],
            pg: args.get(8).map(String::as_str),
        }
    }
}

fn number<T: std::str::FromStr>(arg: &str, name: &str) -> T {
    arg.parse()
        .unwrap_or_else(|_| panic!("{name} is a number, not {arg:?}"))
}

/// A journal of the figures: its name in them, its label and URL.
struct Journal {
    name: &'static str,
    label: &'static str,
    url: String,
}

const BASELINE: &str = "per-process pace (memory journal)";

pub fn pace_cost(args: &PaceCost<'_>) {
    assert!(
        args.calls > 0 && args.rounds > 0 && args.tasks > 0 && args.seconds > 0.0,
        "CALLS, ROUNDS, TASKS and SECONDS above 0"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", args.sqlite));
    }
    let mut journals = vec![
        Journal {
            name: "memory",
            label: BASELINE,
            url: "memory:pace-cost".into(),
        },
        Journal {
            name: "sqlite",
            label: "SQLite journal",
            url: format!("sqlite://{}", args.sqlite),
        },
    ];
    if let Some(pg) = args.pg {
        journals.push(Journal {
            name: "postgres",
            label: "PostgreSQL journal",
            url: pg.to_string(),
        });
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let call = call_latency(args, &journals);
    for journal in &journals[1..] {
        reserve_latency(args, journal, &runtime, call);
    }
    let per_s = calls_per_second(args, &journals);
    for journal in &journals[1..] {
        reservations_per_second(args, journal, &runtime, per_s);
    }
}

fn client(args: &PaceCost<'_>, journal: &Journal, limit: Option<u32>) -> Client {
    let mut builder = Client::builder(args.key, args.secret)
        .base_url(args.url)
        .journal(journal.url.as_str());
    if let Some(limit) = limit {
        builder = builder.max_calls_per_second(limit);
    }
    let client = builder.build().expect("client");
    // The pace measured is the one meant: the store's for SQLite and PostgreSQL.
    let pace = client.config().to_json(Casing::Snake)["pace"].clone();
    let expected = if journal.name == "memory" {
        "process"
    } else {
        "journal"
    };
    assert_eq!(pace, expected, "{}", journal.label);
    client
}

fn pay_url(client: &Client) {
    let link = client.pay_url(&[ORDER_ID]).expect("pay_url");
    assert!(link.url.contains(ORDER_ID));
}

/// The call's figures; returns the memory journal's median.
fn call_latency(args: &PaceCost<'_>, journals: &[Journal]) -> f64 {
    let clients: Vec<Client> = journals
        .iter()
        .map(|j| client(args, j, Some(MAX_CALLS_PER_SECOND_LIMIT)))
        .collect();
    for client in &clients {
        for _ in 0..args.calls.clamp(5, 200) {
            pay_url(client);
        }
    }
    let mut samples = vec![Vec::new(); clients.len()];
    for round in 0..args.rounds {
        for k in 0..clients.len() {
            let s = (k + round as usize) % clients.len();
            for _ in 0..args.calls {
                let started = Instant::now();
                pay_url(&clients[s]);
                samples[s].push(micros(started.elapsed()));
            }
        }
    }
    let n = args.calls * args.rounds;
    let (base, base_p99) = (median(samples[0].clone()), p99(&samples[0]));
    for (journal, samples) in journals.iter().zip(samples) {
        let (value, tail) = (median(samples.clone()), p99(&samples));
        let mut unit = format!(
            "µs per pay_url ({}, max_calls_per_second {MAX_CALLS_PER_SECOND_LIMIT}; median of \
             {n} calls in {} rounds, p99 {tail:.0} µs",
            journal.label, args.rounds
        );
        let mut row = json!({"figure": format!("rust_pace_call_{}_us", journal.name),
                             "value": value, "p99": tail, "calls": n});
        if journal.name != "memory" {
            let (added, added_p99) = (value - base, tail - base_p99);
            unit += &format!("; {added:+.0} µs median, {added_p99:+.0} µs p99 over the {BASELINE}");
            row["baseline"] = json!(BASELINE);
            row["baseline_value"] = json!(base);
            row["ratio"] = json!(value / base);
            row["added_us"] = json!(added);
            row["added_p99_us"] = json!(added_p99);
        }
        row["unit"] = json!(unit + ")");
        println!("{row}");
    }
    base
}

/// A scope of this run's own, so that no other client's row (or rate) is in the way.
fn scope(args: &PaceCost<'_>) -> Scope {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    Scope::new(args.url, &format!("pace-cost-{run}"))
}

/// No rate: the slot is now, whatever the calls before.
fn no_rate() -> SlotAsk {
    SlotAsk {
        configured: None,
        epoch: 0,
        raise: 0.0,
        cap: 0.0,
        answered: 0,
        refused: 0,
    }
}

/// One reservation; returns the wait it asked for. With no rate the slot is the store's "now",
/// but PostgreSQL's is the statement's start: one that waited for the row behind another gets
/// that one's later slot, a wait as long as it queued.
async fn reserve(journal: &dyn JournalStore, scope: &Scope) -> Duration {
    let store = journal.pace().expect("this journal keeps the fleet's pace");
    let row = store
        .reserve_slot(scope, &no_rate())
        .await
        .expect("reserve");
    row.wait
}

fn reserve_latency(
    args: &PaceCost<'_>,
    journal: &Journal,
    runtime: &tokio::runtime::Runtime,
    call: f64,
) {
    let store = open_journal(&journal.url).expect("journal");
    let scope = scope(args);
    let n = args.calls * args.rounds;
    let samples = runtime.block_on(async {
        for _ in 0..args.calls.clamp(5, 200) {
            reserve(&*store, &scope).await;
        }
        let mut samples = Vec::new();
        for _ in 0..n {
            let started = Instant::now();
            reserve(&*store, &scope).await;
            samples.push(micros(started.elapsed()));
        }
        samples
    });
    let (value, tail) = (median(samples.clone()), p99(&samples));
    println!(
        "{}",
        json!({"figure": format!("rust_pace_reserve_{}_us", journal.name), "value": value,
               "p99": tail, "reservations": n,
               "unit": format!("µs per PaceStore::reserve_slot ({}, no rate; median of {n} one \
                                after the other, p99 {tail:.0} µs)", journal.label),
               "baseline": format!("one pay_url with the {BASELINE}, median"),
               "baseline_value": call, "ratio": value / call})
    );
}

/// `tasks` at once, each running `work` until `seconds` are over: how many a second they did.
fn per_second(args: &PaceCost<'_>, work: impl Fn(&AtomicU64) + Sync) -> f64 {
    let done = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..args.tasks {
            s.spawn(|| work(&done));
        }
    });
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// The calls-a-second figures; returns the memory journal's.
fn calls_per_second(args: &PaceCost<'_>, journals: &[Journal]) -> f64 {
    let deadline = Duration::from_secs_f64(args.seconds);
    let mut base = None;
    for journal in journals {
        let client = client(args, journal, None);
        pay_url(&client);
        let started = Instant::now();
        let value = per_second(args, |done| {
            while started.elapsed() < deadline {
                pay_url(&client);
                done.fetch_add(1, Ordering::Relaxed);
            }
        });
        let mut row = json!({"figure": format!("rust_pace_calls_per_s_{}", journal.name),
                             "value": value, "threads": args.tasks, "seconds": args.seconds,
                             "unit": format!("pay_url calls/s ({}, no rate; {} threads on one \
                                              client for {:.1} s)", journal.label, args.tasks,
                                             args.seconds)});
        match base {
            None => base = Some(value),
            Some(base) => {
                row["baseline"] = json!(BASELINE);
                row["baseline_value"] = json!(base);
                row["ratio"] = json!(value / base);
            }
        }
        println!("{row}");
    }
    base.expect("the memory journal comes first")
}

fn reservations_per_second(
    args: &PaceCost<'_>,
    journal: &Journal,
    runtime: &tokio::runtime::Runtime,
    calls_per_s: f64,
) {
    let scope = Arc::new(scope(args));
    let done = Arc::new(AtomicU64::new(0));
    // Reservations handed a wait (see `reserve`), and the longest.
    let waited = Arc::new(AtomicU64::new(0));
    let longest = Arc::new(AtomicU64::new(0));
    let deadline = Duration::from_secs_f64(args.seconds);
    let value = runtime.block_on(async {
        let mut stores = Vec::new();
        for _ in 0..args.tasks {
            let store = open_journal(&journal.url).expect("journal");
            reserve(&*store, &scope).await;
            stores.push(store);
        }
        let started = Instant::now();
        let tasks: Vec<_> = stores
            .into_iter()
            .map(|store| {
                let (scope, done) = (scope.clone(), done.clone());
                let (waited, longest) = (waited.clone(), longest.clone());
                tokio::spawn(async move {
                    while started.elapsed() < deadline {
                        let wait = reserve(&*store, &scope).await;
                        done.fetch_add(1, Ordering::Relaxed);
                        if !wait.is_zero() {
                            waited.fetch_add(1, Ordering::Relaxed);
                            longest.fetch_max(wait.as_micros() as u64, Ordering::Relaxed);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            task.await.expect("task");
        }
        done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
    });
    let [done, waited, longest] = [done, waited, longest].map(|n| n.load(Ordering::Relaxed));
    println!(
        "{}",
        json!({"figure": format!("rust_pace_reservations_per_s_{}", journal.name),
               "value": value, "tasks": args.tasks, "seconds": args.seconds,
               "reservations": done, "waited": waited, "longest_wait_us": longest,
               "unit": format!("reservations/s one {} paces ({} tasks, each with a journal \
                                (connection) of its own, no rate, {:.1} s; {waited} of {done} \
                                handed a wait, the longest {longest} µs)",
                               journal.label, args.tasks, args.seconds),
               "baseline": format!("pay_url calls/s with the {BASELINE}, {} threads", args.tasks),
               "baseline_value": calls_per_s, "ratio": value / calls_per_s})
    );
}

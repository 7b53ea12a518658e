//! `daji-bench URL KEY SECRET CALLS ROUNDS`: per-call cost of one signed `pay_url` through the
//! core's blocking client, and of a raw reqwest blocking GET of the same signed URL, measured
//! alternately in the same process. Prints one JSON line per figure (medians of the rounds).
//! `daji-bench --signed-url URL KEY SECRET` prints that signed URL (for wrk).
//! `daji-bench --pay-many URL KEY SECRET ORDERS QPS` runs `pay_many` of ORDERS fresh orders,
//! 16 in flight, against a sandbox started with `--qps QPS`: once with `max_calls_per_second`
//! set to QPS, once with no limit (the adaptive one only, on a fresh sandbox counter), and prints
//! the wall times against the bound ORDERS / QPS, the outcomes, and the client process's CPU time
//! (getrusage) per gateway call.
//! `daji-bench --journal-cost URL KEY SECRET N ROUNDS SQLITE_FILE [PG_URL]`: the payment journal's
//! cost per payment. `prepare_pay` of fresh orders with the memory, SQLite (SQLITE_FILE, made
//! anew) and PostgreSQL (PG_URL; left out, that store is skipped) journals, against the same
//! signed POST sent with `Client::request`, which consults no journal (a client cannot turn its
//! journal off). ROUNDS rounds of N payments per store, the stores alternating (and the first
//! one rotating) within each round; prints the median wall time and the client process's CPU
//! time (getrusage, the journal's own threads included) per payment.
//! `daji-bench --pace-cost URL KEY SECRET CALLS ROUNDS SECONDS TASKS SQLITE_FILE [PG_URL]`: the
//! fleet's pace in the SQLite (SQLITE_FILE, made anew) and PostgreSQL (PG_URL; left out, skipped)
//! journals against the per-process pace of a memory journal: the latency it adds to a call and
//! the calls a second one store can pace (see `pace_cost.rs`).
//! `daji-bench --clients N` creates HTTPS clients for bench/clients.py, which counts the files
//! they open: it prints `start`, `first` and `later` (each time waiting for a line on stdin), then
//! the creation times as JSON.

use std::time::{Duration, Instant};

use dajisaas::{Client, Method, PREPARE_PAY_PATH, Params, PaymentOutcome, sign};
use serde_json::{Value, json};

mod pace_cost;

const ORDER_ID: &str = "2257455039610311973";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, n] = &args[..]
        && flag == "--clients"
    {
        create_clients(n.parse().expect("N is a number"));
        return;
    }
    if let [_, flag, url, key, secret] = &args[..]
        && flag == "--signed-url"
    {
        println!("{}", signed_url(url, key, secret));
        return;
    }
    if let [_, flag, url, key, secret, orders, qps] = &args[..]
        && flag == "--pay-many"
    {
        let orders: u64 = orders.parse().expect("ORDERS is a number");
        let qps: u32 = qps.parse().expect("QPS is a number");
        pay_many(url, key, secret, orders, qps);
        return;
    }
    if let [_, flag, url, key, secret, n, rounds, sqlite, pg @ ..] = &args[..]
        && flag == "--journal-cost"
        && pg.len() <= 1
    {
        let n: u64 = n.parse().expect("N is a number");
        let rounds: u64 = rounds.parse().expect("ROUNDS is a number");
        journal_cost(url, key, secret, n, rounds, sqlite, pg.first());
        return;
    }
    if let [_, flag, rest @ ..] = &args[..]
        && flag == "--pace-cost"
    {
        pace_cost::pace_cost(&pace_cost::PaceCost::parse(rest));
        return;
    }
    let [_, url, key, secret, calls, rounds] = &args[..] else {
        eprintln!("usage: daji-bench URL KEY SECRET CALLS ROUNDS");
        std::process::exit(2);
    };
    let calls: u32 = calls.parse().expect("CALLS is a number");
    let rounds: usize = rounds.parse().expect("ROUNDS is a number");

    let client = Client::builder(key.as_str(), secret.as_str())
        .base_url(url.as_str())
        .build()
        .expect("client");
    let raw = reqwest::blocking::Client::new();
    let signed_url = signed_url(url, key, secret);

    let core_call = || {
        let link = client.pay_url(&[ORDER_ID]).expect("pay_url");
        assert!(link.url.contains(ORDER_ID));
    };
    let raw_call = || {
        let body = raw
            .get(&signed_url)
            .send()
            .and_then(|r| r.text())
            .expect("raw GET");
        assert!(body.contains(ORDER_ID));
    };
    // Warm up both (connections, caches), then alternate rounds so drift hits both alike.
    for _ in 0..calls.min(200) {
        core_call();
        raw_call();
    }
    let (mut core, mut baseline) = (Vec::new(), Vec::new());
    let (mut core_cpu, mut baseline_cpu) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let cpu = cpu_time();
        core.push(per_call(calls, core_call));
        core_cpu.push(micros(cpu_time() - cpu) / f64::from(calls));
        let cpu = cpu_time();
        baseline.push(per_call(calls, raw_call));
        baseline_cpu.push(micros(cpu_time() - cpu) / f64::from(calls));
    }
    // This process's CPU time per call (every thread, the sandbox's not included): what a busy
    // server pays per call, whatever the sandbox costs the shared cores.
    let (core_cpu, baseline_cpu) = (median(core_cpu), median(baseline_cpu));
    println!(
        "{}",
        json!({"figure": "rust_core_pay_url_cpu_us", "value": core_cpu,
               "unit": "µs CPU/call (client process)", "baseline": "raw reqwest blocking GET",
               "baseline_value": baseline_cpu, "ratio": core_cpu / baseline_cpu})
    );
    let core_us = median(core);
    let raw_us = median(baseline);
    emit(
        "rust_core_pay_url_us",
        core_us,
        "raw reqwest blocking GET",
        raw_us,
    );
}

/// CPU time (user + system) this process has used so far.
fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage fills the struct it is given.
    let usage = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr());
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// The sandbox's counters.
fn sandbox_stats(url: &str) -> Value {
    reqwest::blocking::get(format!("{url}/_sandbox/stats"))
        .and_then(|r| r.json())
        .expect("sandbox stats")
}

fn pay_many(url: &str, key: &str, secret: &str, orders: u64, qps: u32) {
    let bound = orders as f64 / f64::from(qps);
    for (figure, limit, first) in [
        (
            "rust_pay_many_limit_s",
            Some(qps),
            2_300_000_000_000_000_000u64,
        ),
        ("rust_pay_many_adaptive_s", None, 2_310_000_000_000_000_000),
    ] {
        reqwest::blocking::Client::new()
            .post(format!("{url}/_sandbox/reset"))
            .send()
            .expect("sandbox reset");
        let mut builder = Client::builder(key, secret)
            .base_url(url)
            .journal(format!("memory:{figure}"));
        if let Some(limit) = limit {
            builder = builder.max_calls_per_second(limit);
        }
        let client = builder.build().expect("client");
        let ids: Vec<String> = (0..orders).map(|n| (first + n).to_string()).collect();
        let cpu = cpu_time();
        let started = Instant::now();
        let report = client.pay_many(&ids, 16).expect("pay_many");
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_time() - cpu;
        let stats = sandbox_stats(url);
        let calls = stats["requests"].as_u64().unwrap_or(0).max(1);
        let refused = stats["rateLimited"].as_u64().unwrap_or(0);
        let failed = report.summary.count(PaymentOutcome::Failed);
        let paid = report.summary.count(PaymentOutcome::Paid);
        let how = match limit {
            Some(n) => format!("max_calls_per_second {n}"),
            None => "adaptive only".to_string(),
        };
        println!(
            "{}",
            json!({"figure": figure, "value": wall,
                   "unit": format!("s for {orders} orders ({how}, 16 in flight, gateway --qps {qps}): \
                                    {paid} paid, {failed} failed, {refused} refusals retried"),
                   "baseline": format!("the bound {orders} / {qps}"), "baseline_value": bound,
                   "ratio": wall / bound})
        );
        let cpu_us = micros(cpu) / calls as f64;
        println!(
            "{}",
            json!({"figure": format!("{figure}_cpu_us_per_call"), "value": cpu_us,
                   "unit": format!("µs CPU (client process) per call, {calls} calls; wall {:.0} µs per call",
                                   wall * 1e6 / calls as f64)})
        );
    }
}

/// One store of the journal-cost figures: the figure's name, the client's journal, and whether
/// payments go through `prepare_pay` (false: the same POST through `request`, no journal).
struct Store {
    figure: &'static str,
    label: &'static str,
    client: Client,
    journal: bool,
}

impl Store {
    /// Pays `order_id` once, checking that it was sent once and paid.
    fn pay(&self, order_id: &str) {
        if self.journal {
            let payment = self.client.prepare_pay(order_id).expect("prepare_pay");
            assert_eq!(
                (payment.attempts, payment.replayed),
                (1, false),
                "{order_id}"
            );
        } else {
            let mut params = Params::new();
            params.insert("orderId".into(), Value::String(order_id.into()));
            let data = self
                .client
                .request(Method::Post, PREPARE_PAY_PATH, params)
                .expect("request");
            assert_eq!(data["success"], Value::Bool(true), "{order_id}: {data}");
        }
    }
}

fn journal_cost(
    url: &str,
    key: &str,
    secret: &str,
    n: u64,
    rounds: u64,
    sqlite: &str,
    pg: Option<&String>,
) {
    assert!(
        n < 1_000_000 && rounds < 99,
        "N below 1,000,000 and ROUNDS below 99"
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{sqlite}{suffix}"));
    }
    let client = |journal: &str| {
        Client::builder(key, secret)
            .base_url(url)
            .journal(journal)
            .build()
            .expect("client")
    };
    let mut stores = vec![
        Store {
            figure: "rust_prepare_pay_no_journal_us",
            label: "no journal (the same POST through request)",
            client: client("memory:journal-cost-unused"),
            journal: false,
        },
        Store {
            figure: "rust_prepare_pay_journal_memory_us",
            label: "memory journal",
            client: client("memory:journal-cost"),
            journal: true,
        },
        Store {
            figure: "rust_prepare_pay_journal_sqlite_us",
            label: "SQLite journal",
            client: client(&format!("sqlite://{sqlite}")),
            journal: true,
        },
    ];
    if let Some(pg) = pg {
        stores.push(Store {
            figure: "rust_prepare_pay_journal_postgres_us",
            label: "PostgreSQL journal",
            client: client(pg),
            journal: true,
        });
    }
    // Fresh order ids in every run (a PostgreSQL journal may outlive one), every store and round:
    // 24, then the run's second (mod 100,000), the store, the round, the payment.
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        % 100_000;
    let order = |store: usize, round: u64, i: u64| {
        (2_400_000_000_000_000_000u64
            + run * 10_000_000_000
            + store as u64 * 1_000_000_000
            + round * 1_000_000
            + i)
            .to_string()
    };
    // Warm up each store (connections, the SQLite file and the PostgreSQL schema): round 99.
    for (s, store) in stores.iter().enumerate() {
        for i in 0..n.clamp(5, 50) {
            store.pay(&order(s, 99, i));
        }
    }
    let mut wall = vec![Vec::new(); stores.len()];
    let mut cpu = vec![Vec::new(); stores.len()];
    for round in 0..rounds {
        for k in 0..stores.len() {
            let s = (k + round as usize) % stores.len();
            let cpu_before = cpu_time();
            let started = Instant::now();
            for i in 0..n {
                stores[s].pay(&order(s, round, i));
            }
            wall[s].push(micros(started.elapsed()) / n as f64);
            cpu[s].push(micros(cpu_time() - cpu_before) / n as f64);
        }
    }
    let stats = sandbox_stats(url);
    let twice = stats["deductions"]
        .as_object()
        .map_or(0, |d| d.values().filter(|v| v.as_u64() > Some(1)).count());
    assert_eq!(twice, 0, "orders deducted twice: {}", stats["deductions"]);
    let wall: Vec<f64> = wall.into_iter().map(median).collect();
    let cpu: Vec<f64> = cpu.into_iter().map(median).collect();
    let (none_wall, none_cpu) = (wall[0], cpu[0]);
    for (s, store) in stores.iter().enumerate() {
        let mut unit = format!(
            "µs/payment ({label}; median of {rounds} rounds of {n}; client CPU {cpu:.0} µs/payment",
            label = store.label,
            cpu = cpu[s]
        );
        if s > 0 {
            unit += &format!(
                "; {:+.0} µs wall, {:+.0} µs CPU over no journal",
                wall[s] - none_wall,
                cpu[s] - none_cpu
            );
        }
        unit += ")";
        let mut row = json!({"figure": store.figure, "value": wall[s], "unit": unit,
                             "cpu_us": cpu[s], "payments": n * rounds});
        if s > 0 {
            row["baseline"] = json!("no journal (the same POST through request)");
            row["baseline_value"] = json!(none_wall);
            row["ratio"] = json!(wall[s] / none_wall);
            row["added_us"] = json!(wall[s] - none_wall);
            row["added_cpu_us"] = json!(cpu[s] - none_cpu);
        }
        println!("{row}");
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{sqlite}-window{suffix}"));
    }
    for (store, journal) in [("SQLite", format!("sqlite://{sqlite}-window"))]
        .into_iter()
        .chain(pg.map(|pg| ("PostgreSQL", pg.clone())))
    {
        fence_window(url, key, secret, n * rounds, store, &journal, run);
    }
}

/// The window no client-side journal can close: from the fence's confirmation (the core's
/// `dajisaas::fence` TRACE record) to the request's first byte (seen by a TCP proxy of this
/// process between the client and the sandbox), over `n` payments one after the other.
fn fence_window(url: &str, key: &str, secret: &str, n: u64, store: &str, journal: &str, run: u64) {
    let window = Window::install();
    let proxy = FirstBytes::start(url);
    let client = Client::builder(key, secret)
        .base_url(format!("http://{}", proxy.addr))
        .journal(journal)
        .build()
        .expect("client");
    for i in 0..n {
        let id = (2_500_000_000_000_000_000u64 + run * 10_000_000_000 + i).to_string();
        client.prepare_pay(&id).expect("prepare_pay");
    }
    let fenced = std::mem::take(&mut *window.fenced.lock().expect("fences"));
    let sent = std::mem::take(&mut *proxy.requests.lock().expect("requests"));
    assert_eq!(fenced.len(), sent.len(), "one fence per request");
    let gaps: Vec<f64> = fenced
        .iter()
        .zip(&sent)
        .map(|(f, s)| micros(s.saturating_duration_since(*f)))
        .collect();
    let p99 = p99(&gaps);
    let figure = format!("rust_fence_to_first_byte_{}_us", store.to_ascii_lowercase());
    println!(
        "{}",
        json!({"figure": figure, "value": median(gaps), "p99": p99,
               "unit": format!("µs from the fence's confirmation to the request's first byte \
                                ({store} journal, median of {n} payments; p99 {p99:.0} µs)"),
               "payments": n})
    );
}

/// The times of the core's fence confirmations, as its TRACE records arrive.
struct Window {
    fenced: std::sync::Mutex<Vec<Instant>>,
}

impl Window {
    fn install() -> &'static Window {
        static WINDOW: std::sync::OnceLock<Window> = std::sync::OnceLock::new();
        let window = WINDOW.get_or_init(|| Window {
            fenced: std::sync::Mutex::new(Vec::new()),
        });
        if log::set_logger(window).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
        window
    }
}

impl log::Log for Window {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target() == "dajisaas::fence"
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let at = Instant::now();
            self.fenced.lock().expect("fences").push(at);
        }
    }

    fn flush(&self) {}
}

/// A TCP proxy in front of the sandbox that notes when each request's first byte arrives: the
/// first bytes from the client after the connection opened or after the sandbox answered.
struct FirstBytes {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl FirstBytes {
    fn start(sandbox_url: &str) -> FirstBytes {
        use std::io::{Read, Write};
        use std::net::{TcpListener, TcpStream};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};

        let upstream = sandbox_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_string();
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests: Arc<Mutex<Vec<Instant>>> = Arc::default();
        let noted = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                // True once the sandbox answered: the client's next bytes start a request.
                let answered = Arc::new(AtomicBool::new(true));
                let (mut client_back, mut server_back) = (
                    client.try_clone().expect("clone"),
                    server.try_clone().expect("clone"),
                );
                let answered_back = answered.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n @ 1..) = server_back.read(&mut buf) {
                        answered_back.store(true, Ordering::SeqCst);
                        if client_back.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = client_back.shutdown(std::net::Shutdown::Both);
                });
                let noted = noted.clone();
                std::thread::spawn(move || {
                    let mut buf = [0u8; 65536];
                    while let Ok(n @ 1..) = client.read(&mut buf) {
                        if answered.swap(false, Ordering::SeqCst) {
                            noted.lock().expect("requests").push(Instant::now());
                        }
                        if server.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = server.shutdown(std::net::Shutdown::Both);
                });
            }
        });
        FirstBytes { addr, requests }
    }
}

/// One HTTPS client, then `n` more, in step with bench/clients.py (see the module docs).
fn create_clients(n: u32) {
    let step = |name: &str| {
        println!("{name}");
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).expect("stdin");
    };
    let new = || {
        Client::builder("bench-key", "bench-secret")
            .base_url("https://openapi.dajisaas.com")
            .build()
            .expect("client")
    };
    step("start");
    let started = Instant::now();
    let first = new();
    let first_us = micros(started.elapsed());
    step("first");
    let started = Instant::now();
    let later: Vec<Client> = (0..n).map(|_| new()).collect();
    let later_us = micros(started.elapsed()) / f64::from(n);
    step("later");
    drop((first, later));
    println!("{}", json!({"first_us": first_us, "later_us": later_us}));
}

/// The URL the core sends, built independently: sorted params, MD5 signature.
fn signed_url(base: &str, key: &str, secret: &str) -> String {
    let mut params = Params::new();
    params.insert("appKey".into(), Value::String(key.into()));
    params.insert("orderIdList".into(), Value::String(format!("[{ORDER_ID}]")));
    let signature = sign(&params, secret);
    format!(
        "{base}/alibaba/alipay/url/get?appKey={key}&orderIdList=%5B{ORDER_ID}%5D&sign={signature}"
    )
}

fn per_call(calls: u32, mut call: impl FnMut()) -> f64 {
    let started = Instant::now();
    for _ in 0..calls {
        call();
    }
    micros(started.elapsed()) / f64::from(calls)
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// The 99th percentile.
fn p99(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)]
}

fn emit(figure: &str, value: f64, baseline_name: &str, baseline: f64) {
    println!(
        "{}",
        json!({"figure": figure, "value": value, "unit": "µs/call", "baseline": baseline_name,
               "baseline_value": baseline, "ratio": value / baseline})
    );
}

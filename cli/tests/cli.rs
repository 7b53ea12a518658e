//! The `daji` binary against a sandbox: output, JSON, exit statuses, secrets.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};
use serde_json::Value;

const DAJI: &str = env!("CARGO_BIN_EXE_daji");

fn sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig::default()).unwrap()
}

/// A data directory of its own for each call (so `daji pay`'s default SQLite journal starts
/// empty), unless a test shares one between calls.
fn fresh_data_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static N: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "daji-cli-data-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `daji` with credentials for `sandbox` in the environment.
fn daji(sandbox: &Sandbox, args: &[&str]) -> Output {
    daji_with_data(sandbox, args, &fresh_data_dir())
}

fn daji_with_data(sandbox: &Sandbox, args: &[&str], data: &std::path::Path) -> Output {
    Command::new(DAJI)
        .args(args)
        .env("DAJISAAS_APP_KEY", DEFAULT_APP_KEY)
        .env("DAJISAAS_APP_SECRET", DEFAULT_APP_SECRET)
        .env("DAJISAAS_BASE_URL", sandbox.url())
        .env("XDG_DATA_HOME", data)
        .env_remove("DAJISAAS_JOURNAL")
        .output()
        .unwrap()
}

/// A `daji sandbox` process on a free port; its first line is its address. Killed when dropped.
struct SandboxProcess {
    child: Child,
    url: String,
    // Kept open so that the sandbox never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
}

impl SandboxProcess {
    fn start(extra: &[&str]) -> Self {
        let mut child = Command::new(DAJI)
            .args(["sandbox", "--port", "0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        reader.read_line(&mut first).unwrap();
        let url = first
            .trim()
            .strip_prefix("dajisaas sandbox listening on ")
            .unwrap()
            .to_string();
        SandboxProcess {
            child,
            url,
            _stdout: reader,
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn pay_url_prints_links_as_text_and_json() {
    let sb = sandbox();
    let o = daji(&sb, &["pay-url", "2257455039610311973"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o)
            .starts_with("https://trade.1688.com/order/cashier.htm?orderId=2257455039610311973")
    );
    let o = daji(
        &sb,
        &["pay-url", "--json", "--batch-size", "2", "1", "2", "3"],
    );
    let links: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(links.as_array().unwrap().len(), 2);
    assert_eq!(links[1]["orderIds"], serde_json::json!(["3"]));
    // The same JSON shape as the C ABI: the raw data is kept.
    assert!(links[1]["data"]["payUrl"].is_string(), "{links}");
}

#[test]
fn pay_pays_a_repeated_order_once() {
    let sb = sandbox();
    let id = "2257164624870311999";
    let o = daji(
        &sb,
        &["pay", "--json", "--journal-timeout-ms", "2000", id, id],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let reports: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 1);
    assert_eq!(reports[0]["outcome"], "paid");
    assert_eq!(reports[0]["payment"]["orderId"], id);
    assert_eq!(sb.stats().pay_calls.get(id), Some(&1));
}

#[test]
fn pay_reports_each_order_and_exits_with_the_failure_code() {
    let sb = sandbox();
    let o = daji(&sb, &["pay", "2257164624870311973", "9000000000000000001"]);
    assert_eq!(o.status.code(), Some(18), "payment_declined is 10 + 8");
    let out = stdout(&o);
    assert!(out.contains("PAID 2257164624870311973 via alipay"), "{out}");
    assert!(
        out.contains(
            "DECLINED (not charged) 9000000000000000001: [payment_declined] after 4 attempt(s)"
        ),
        "{out}"
    );
    assert_eq!(sb.stats().deductions.get("2257164624870311973"), Some(&1));
}

#[test]
fn an_unknown_outcome_outranks_other_failures() {
    let sb = sandbox();
    let o = daji(
        &sb,
        &[
            "pay",
            "--json",
            "--timeout-ms",
            "500",
            "9000000000000000001",
            "9003000000000000001",
        ],
    );
    assert_eq!(o.status.code(), Some(19));
    let reports: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(reports[0]["outcome"], "declined");
    assert_eq!(reports[1]["outcome"], "unknown");
    assert_eq!(reports[1]["error"]["code"], "payment_outcome_unknown");
    assert_eq!(reports[1]["error"]["httpStatus"], 500);
}

#[test]
fn malformed_and_out_of_range_input_are_usage_errors_and_send_nothing() {
    let sb = sandbox();
    for args in [
        &["pay", "12a"][..],
        &["pay-url", " 1"],
        &["request", "DELETE", "/alibaba/x"],
        &["request", "GET", "/alibaba/x", "novalue"],
        &["pay", "1", "--max-retries", "9"],
        &["pay", "1", "--timeout-ms", "0"],
        &["pay", "1", "--backoff-cap-ms", "5000000"],
        &["pay", "1", "--order-id-format", "csv"],
        &["pay", "1", "--max-concurrent-batches", "0"],
        &["pay", "1", "x2"],
        &["pay", "1", "--journal-timeout-ms", "50"],
    ] {
        let o = daji(&sb, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error[invalid_argument]"),
            "{}",
            stderr(&o)
        );
    }
    // Malformed values (clap's own check) exit 2 as well.
    for args in [
        &["pay", "1", "--timeout-ms", "abc"][..],
        &["pay", "1", "--concurrency", "x"],
        &["pay-url", "1", "--batch-size", "-3"],
    ] {
        let o = daji(&sb, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    // Option errors name the flag as typed, with its range.
    let o = daji(&sb, &["pay", "1", "--max-retries", "9"]);
    assert!(
        stderr(&o).contains("--max-retries must be a whole number from 0 to 3, not 9"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn request_prints_data() {
    let sb = sandbox();
    let o = daji(
        &sb,
        &[
            "request",
            "--json",
            "POST",
            "/alibaba/order/preview",
            "memo=hi",
            "--params-json",
            r#"{"qty":2}"#,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let data: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(data["params"]["qty"], 2);
    assert_eq!(data["params"]["memo"], "hi");
}

#[test]
fn sign_shows_the_masked_string_and_the_signature() {
    let o = Command::new(DAJI)
        .args(["sign", "--app-secret", "S", "orderIdList=[1,2]", "appKey=K"])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(
        stdout(&o),
        "signed string: appKey=K&orderIdList=[1,2]&secret=***\nsign:          5929626A5613B8EC0C20DB72C3277CCF\n"
    );
}

#[test]
fn the_secret_never_appears_in_output_even_verbose() {
    let sb = sandbox();
    let mut seen = String::new();
    for args in [
        &["pay", "-v", "2257164624870311973", "9004000000000000001"][..],
        &["pay-url", "-v", "--json", "9003000000000000001"],
        &["request", "-v", "GET", "/alibaba/x"],
        &["pay", "--help"],
    ] {
        let o = daji(&sb, args);
        seen.push_str(&stdout(&o));
        seen.push_str(&stderr(&o));
    }
    assert!(
        seen.contains("traceId="),
        "verbose logs each request: {seen}"
    );
    assert!(!seen.contains(DEFAULT_APP_SECRET), "{seen}");
}

#[test]
fn sandbox_command_prints_its_address_first_and_serves() {
    let sandbox = SandboxProcess::start(&["--app-key", "k1", "--app-secret", "s1"]);
    let url = sandbox.url.clone();
    let o = Command::new(DAJI)
        .args([
            "pay",
            "--app-key",
            "k1",
            "--app-secret",
            "s1",
            "--base-url",
            &url,
            "1",
        ])
        .output()
        .unwrap();
    drop(sandbox);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn demo_runs_and_never_deducts_twice() {
    let o = Command::new(DAJI).arg("demo").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains(
            "UNKNOWN (may have been charged: check the order, then daji journal resolve ID \
             --paid|--not-paid) 9002000000000000001: [payment_outcome_unknown]"
        ) && out.contains("DECLINED (not charged) 9000000000000000001: [payment_declined]"),
        "{out}"
    );
    assert!(!out.contains("NOT PAID"), "{out}");
    assert!(
        out.contains("0 carried the secret, 0 order(s) deducted twice"),
        "{out}"
    );
}

#[test]
fn tls_sandbox_needs_the_ca_and_works_with_it() {
    let dir = std::env::temp_dir().join(format!("daji-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    let sandbox = SandboxProcess::start(&["--tls", "--ca-out", ca.to_str().unwrap()]);
    let url = sandbox.url.clone();
    assert!(url.starts_with("https://"), "{url}");
    let pay = |extra: &[&str]| {
        Command::new(DAJI)
            .args([
                "pay-url",
                "--max-retries",
                "0",
                "--base-url",
                &url,
                "--app-key",
            ])
            .args([DEFAULT_APP_KEY, "--app-secret", DEFAULT_APP_SECRET, "1"])
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = pay(&[]);
    let trusted = pay(&["--root-certificates-pem", ca.to_str().unwrap()]);
    drop(sandbox);
    assert_eq!(refused.status.code(), Some(12), "connection is 10 + 2");
    assert!(
        stderr(&refused).contains("certificate"),
        "{}",
        stderr(&refused)
    );
    assert!(trusted.status.success(), "{}", stderr(&trusted));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rerun_of_daji_pay_never_pays_again_and_the_journal_reconciles() {
    let sb = sandbox();
    let data = fresh_data_dir();
    let paid = "2257164624870311990";
    let unknown = "9003000000000000090";
    let first = daji_with_data(&sb, &["pay", "--json", paid, unknown], &data);
    assert_eq!(first.status.code(), Some(19), "{}", stderr(&first));
    // The re-run (a crashed night job started again) sends nothing for either order.
    let again = daji_with_data(&sb, &["pay", "--json", paid, unknown], &data);
    let reports: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(reports[0]["payment"]["replayed"], true, "{reports}");
    assert_eq!(reports[1]["error"]["attempts"], 0, "{reports}");
    assert_eq!(sb.stats().pay_calls.get(paid), Some(&1));
    assert_eq!(sb.stats().pay_calls.get(unknown), Some(&1));

    let listed = daji_with_data(
        &sb,
        &["journal", "list", "--state", "unknown", "--json"],
        &data,
    );
    let records: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    assert_eq!(records.as_array().unwrap().len(), 1, "{records}");
    assert_eq!(records[0]["orderId"], unknown);
    let resolved = daji_with_data(
        &sb,
        &[
            "journal",
            "resolve",
            unknown,
            "--paid",
            "--note",
            "seen in 1688",
            "--json",
        ],
        &data,
    );
    assert!(resolved.status.success(), "{}", stderr(&resolved));
    let shown = daji_with_data(&sb, &["journal", "show", unknown, "--json"], &data);
    let record: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(record["state"], "paid", "{record}");
    let history = record["history"].as_array().unwrap();
    let last = history.last().unwrap();
    assert_eq!(
        (&last["from"], &last["to"], &last["note"]),
        (
            &Value::from("unknown"),
            &Value::from("paid"),
            &Value::from("seen in 1688")
        ),
        "{record}"
    );
    // No record: nothing on stdout, a documented status.
    let missing = daji_with_data(
        &sb,
        &["journal", "show", "2257164624870311000", "--json"],
        &data,
    );
    assert_eq!(missing.status.code(), Some(1), "{}", stderr(&missing));
    assert_eq!(stdout(&missing), "");
    assert!(stderr(&missing).contains("no record of order 2257164624870311000"));
    // Exactly one of --paid and --not-paid, said so.
    for flags in [&[][..], &["--paid", "--not-paid"]] {
        let mut args = vec!["journal", "resolve", unknown];
        args.extend_from_slice(flags);
        let o = daji_with_data(&sb, &args, &data);
        assert_eq!(o.status.code(), Some(2), "{flags:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("exactly one of --paid"),
            "{flags:?}: {}",
            stderr(&o)
        );
    }
    // A resolution the journal refuses (not paid, for an order it never saw) says why: a
    // refusal of the library (11), not a usage error.
    let never_seen = "2257164624870311998";
    let refused = daji_with_data(
        &sb,
        &["journal", "resolve", never_seen, "--not-paid"],
        &data,
    );
    assert_eq!(refused.status.code(), Some(11), "{}", stderr(&refused));
    assert!(
        stderr(&refused).starts_with("error[invalid_argument]"),
        "{}",
        stderr(&refused)
    );
    // A resolution that changes nothing is refused, naming the order's state.
    let refused = daji_with_data(&sb, &["journal", "resolve", paid, "--paid"], &data);
    assert_eq!(refused.status.code(), Some(11), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("paid"), "{}", stderr(&refused));
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn a_batch_from_a_file_with_concurrency_a_summary_and_reports() {
    let sb = Sandbox::start(SandboxConfig {
        slow: std::time::Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .unwrap();
    let dir = fresh_data_dir();
    let list = dir.join("orders.txt");
    std::fs::write(
        &list,
        "# tonight's orders\n2257164624870312001\n\n9000000000000000201\n  2257164624870312001  \n\
         9003000000000000201\n",
    )
    .unwrap();
    let csv = dir.join("report.csv");
    let json = dir.join("report.json");
    let o = daji(
        &sb,
        &[
            "pay",
            "--from-file",
            list.to_str().unwrap(),
            "--concurrency",
            "2",
            "--report",
            csv.to_str().unwrap(),
            "2257164624870312002",
        ],
    );
    // The core's verdict: the unknown outcome is the most serious.
    assert_eq!(o.status.code(), Some(19), "{}", stderr(&o));
    let out = stdout(&o);
    for line in [
        "PAID 2257164624870312001 via alipay",
        "DECLINED (not charged) 9000000000000000201: [payment_declined]",
        "UNKNOWN (may have been charged: check the order, then daji journal resolve ID \
         --paid|--not-paid) 9003000000000000201: [payment_outcome_unknown]",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    assert!(!out.contains("NOT PAID"), "{out}");
    for (outcome, n) in [
        ("paid", 2),
        ("replayed", 0),
        ("declined", 1),
        ("unknown", 1),
        ("in_progress", 0),
        ("failed", 0),
        ("not_started", 0),
    ] {
        let row = format!("\n{outcome:<14} {n:>6}\n");
        assert!(out.contains(&row), "{row:?} in\n{out}");
    }
    assert!(
        out.ends_with(&format!("\n{:<14} {:>6}\n", "total", 4)),
        "{out}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(
        rows[0],
        "order_id,outcome,label,replayed,already_paid,code,message,trace_id,attempts,pay_channel"
    );
    // Arguments first, then the file; the repeat in the file is dropped.
    assert!(
        rows[1].starts_with("2257164624870312002,paid,PAID,false,false,,,"),
        "{}",
        rows[1]
    );
    assert!(rows[1].ends_with(",1,alipay"), "{}", rows[1]);
    assert!(rows[3].starts_with(
        "9000000000000000201,declined,DECLINED (not charged),false,false,payment_declined,"
    ));
    assert_eq!(rows.len(), 5);
    assert_eq!(sb.stats().pay_calls.get("2257164624870312001"), Some(&1));

    // --json keeps the per-order shape; --report .json writes the run's JSON.
    let slow: Vec<String> = (0..4).map(|n| format!("90070000000000002{n:02}")).collect();
    let mut args = vec!["pay", "--json", "--concurrency", "4", "--report"];
    args.push(json.to_str().unwrap());
    args.extend(slow.iter().map(String::as_str));
    sb.reset();
    let o = daji(&sb, &args);
    assert!(o.status.success(), "{}", stderr(&o));
    // Four slow orders, four in flight at once.
    assert_eq!(sb.stats().peak_in_flight, 4);
    let reports: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(reports.as_array().unwrap().len(), 4);
    assert_eq!(reports[3]["orderId"], slow[3].as_str());
    assert_eq!(reports[3]["outcome"], "paid");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(written["summary"]["paid"], 4);
    assert_eq!(
        written["results"][0]["payment"]["orderId"],
        slow[0].as_str()
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn batch_flags_are_checked_and_stdin_and_pay_url_read_files() {
    let sb = sandbox();
    for (args, needle) in [
        (&["pay", "1", "--concurrency", "0"][..], "1..=64"),
        (&["pay", "1", "--concurrency", "65"], "1..=64"),
        (
            &["pay", "1", "--max-calls-per-second", "0"],
            "--max-calls-per-second must be a whole number from 1 to 10000, not 0",
        ),
        (
            &["pay", "--from-file", "/nonexistent/ids"],
            "--from-file /nonexistent/ids",
        ),
        (&["pay", "1", "12a", "x"], "orderIds[2]"),
    ] {
        let o = daji(&sb, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains(needle), "{args:?}: {}", stderr(&o));
    }
    assert_eq!(sb.stats().requests, 0);
    // `-` reads standard input.
    let mut child = Command::new(DAJI)
        .args([
            "pay",
            "--json",
            "--from-file",
            "-",
            "--max-calls-per-second",
            "100",
        ])
        .env("DAJISAAS_APP_KEY", DEFAULT_APP_KEY)
        .env("DAJISAAS_APP_SECRET", DEFAULT_APP_SECRET)
        .env("DAJISAAS_BASE_URL", sb.url())
        .env("XDG_DATA_HOME", fresh_data_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"2257164624870312101\n2257164624870312102\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let reports: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(reports[1]["orderId"], "2257164624870312102");
    // pay-url --from-file, with batches.
    let dir = fresh_data_dir();
    let list = dir.join("links.txt");
    std::fs::write(&list, "1\n2\n# skipped\n3\n").unwrap();
    let o = daji(
        &sb,
        &[
            "pay-url",
            "--json",
            "--batch-size",
            "2",
            "--from-file",
            list.to_str().unwrap(),
        ],
    );
    let links: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(links[1]["orderIds"], serde_json::json!(["3"]));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `GET path` on a sandbox process (plain HTTP/1.0 over a TcpStream): its JSON body.
fn sandbox_get(url: &str, path: &str) -> Value {
    use std::io::{Read, Write};
    let addr = url.strip_prefix("http://").unwrap();
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let body = response.split_once("\r\n\r\n").unwrap().1;
    serde_json::from_str(body).unwrap()
}

/// The orders of every payment request the sandbox received (counted on arrival, before its
/// latency), with how many requests each.
fn pay_requests(url: &str) -> std::collections::BTreeMap<String, u64> {
    let mut sent = std::collections::BTreeMap::new();
    for request in sandbox_get(url, "/_sandbox/requests").as_array().unwrap() {
        let body = request["body"].as_str().unwrap_or_default();
        if let Ok(body) = serde_json::from_str::<Value>(body) {
            let id = match &body["orderId"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            *sent.entry(id).or_default() += 1;
        }
    }
    sent
}

/// `daji ARGS` against a sandbox process, with its own data directory, not waited for.
fn spawn_daji(url: &str, args: &[&str], data: &std::path::Path) -> Child {
    Command::new(DAJI)
        .args(args)
        .env("DAJISAAS_APP_KEY", DEFAULT_APP_KEY)
        .env("DAJISAAS_APP_SECRET", DEFAULT_APP_SECRET)
        .env("DAJISAAS_BASE_URL", url)
        .env("XDG_DATA_HOME", data)
        .env_remove("DAJISAAS_JOURNAL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn send_signal(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args(["-s", signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// Waits for `child` at most `bound` (a hang bound, not a speed assertion); its output.
fn wait_within(mut child: Child, bound: std::time::Duration) -> Output {
    let deadline = std::time::Instant::now() + bound;
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("daji did not exit within {bound:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `daji journal pace` shows the pace `daji pay`'s processes share through the default SQLite
/// journal; a memory journal keeps none, which is said as a usage error.
#[test]
fn daji_journal_pace_shows_the_shared_pace() {
    let sb = sandbox();
    let data = fresh_data_dir();
    let before = daji_with_data(&sb, &["journal", "pace", "--json"], &data);
    assert!(before.status.success(), "{}", stderr(&before));
    assert_eq!(stdout(&before).trim(), "null");
    let ids = ["2257164624870311801", "2257164624870311802"];
    let paid = daji_with_data(
        &sb,
        &["pay", "--max-calls-per-second", "5", ids[0], ids[1]],
        &data,
    );
    assert!(paid.status.success(), "{}", stderr(&paid));
    let shown = daji_with_data(&sb, &["journal", "pace", "--json"], &data);
    let pace: Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(pace["last_second"]["started"], 2, "{pace}");
    assert_eq!(pace["adaptive_calls_per_second"], Value::Null, "{pace}");
    let text = daji_with_data(&sb, &["journal", "pace"], &data);
    assert!(
        stdout(&text).contains("adaptive rate: none"),
        "{}",
        stdout(&text)
    );
    let memory = daji_with_data(&sb, &["journal", "--journal", "memory", "pace"], &data);
    assert_eq!(memory.status.code(), Some(2), "{}", stderr(&memory));
    assert!(
        stderr(&memory).contains("keeps no shared pace"),
        "{}",
        stderr(&memory)
    );
}

/// The journal's records in `state`, through `daji journal list`.
fn journal_records(url: &str, data: &std::path::Path, state: &str) -> Vec<Value> {
    let o = wait_within(
        spawn_daji(url, &["journal", "list", "--state", state, "--json"], data),
        std::time::Duration::from_secs(30),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let records: Value = serde_json::from_str(&stdout(&o)).unwrap();
    records.as_array().unwrap().clone()
}

/// Issue 23's headline: 60 orders, 8 at a time, against a gateway answering in 1.5 s; a signal
/// after a second stops the run cleanly, and a re-run pays the rest, none twice. With
/// `connections` below 8, payments started but still waiting for a connection when the signal
/// comes are dropped unsent.
fn an_interrupt_finishes_what_was_sent(
    signal: &str,
    first_id: u64,
    status: i32,
    connections: usize,
) {
    let sandbox = SandboxProcess::start(&["--latency-ms", "1500"]);
    let data = fresh_data_dir();
    let report = data.join("report.json");
    let ids: Vec<String> = (0..60).map(|n| (first_id + n).to_string()).collect();
    let connections_flag = connections.to_string();
    let mut args = vec!["pay", "--concurrency", "8", "--timeout-ms", "5000"];
    args.extend(["--max-connections", &connections_flag]);
    args.extend(["--report", report.to_str().unwrap()]);
    args.extend(ids.iter().map(String::as_str));
    let started = std::time::Instant::now();
    let child = spawn_daji(&sandbox.url, &args, &data);
    // A second, and the first payments sent (they answer after 1.5 s).
    let bound = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while started.elapsed() < std::time::Duration::from_secs(1)
        || sandbox_get(&sandbox.url, "/_sandbox/stats")["inFlight"] != connections
    {
        assert!(
            std::time::Instant::now() < bound,
            "the payments never in flight"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let at_signal = pay_requests(&sandbox.url);
    send_signal(&child, signal);
    // The payments' own bound: one attempt of 5 s each (those under way), with a wide margin.
    let o = wait_within(child, std::time::Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(status), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("starting no new payment; waiting for"),
        "{}",
        stderr(&o)
    );
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    // Nothing was sent after the signal, not even later by a payment left behind.
    assert_eq!(pay_requests(&sandbox.url), at_signal);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let sent = pay_requests(&sandbox.url);
    assert_eq!(sent, at_signal);
    assert_eq!(sent.len(), connections, "{sent:?}");
    // The report lists every order, in order: those sent paid, the others not started.
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let results = written["results"].as_array().unwrap();
    assert_eq!(results.len(), 60);
    for (row, id) in results.iter().zip(&ids) {
        assert_eq!(row["orderId"], id.as_str());
        let expected = if sent.contains_key(id) {
            ("paid", "PAID")
        } else {
            ("not_started", "NOT STARTED")
        };
        assert_eq!(
            (row["outcome"].as_str(), row["label"].as_str()),
            (Some(expected.0), Some(expected.1)),
            "{row}"
        );
    }
    assert_eq!(written["summary"]["paid"], sent.len());
    assert_eq!(written["summary"]["not_started"], 60 - sent.len());
    assert_eq!(written["interruptedBy"], format!("SIG{signal}"));
    assert!(journal_records(&sandbox.url, &data, "in_flight").is_empty());
    assert_eq!(
        journal_records(&sandbox.url, &data, "paid").len(),
        sent.len()
    );

    // The re-run pays the orders not started and replays the others, sending nothing for them.
    let mut again = vec!["pay", "--jsonl", "--concurrency", "64"];
    again.extend(ids.iter().map(String::as_str));
    let o = wait_within(
        spawn_daji(&sandbox.url, &again, &data),
        std::time::Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 60);
    let replayed = lines
        .iter()
        .filter(|l| l["label"] == "PAID (from the journal; no request sent)")
        .count();
    assert_eq!(replayed, sent.len());
    let stats = sandbox_get(&sandbox.url, "/_sandbox/stats");
    assert_eq!(stats["payCallsAfterPaid"], 0, "{stats}");
    for id in &ids {
        assert_eq!(stats["deductions"][id], 1, "{id}: {stats}");
        assert_eq!(stats["payCalls"][id], 1, "{id}: {stats}");
    }
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn sigint_stops_starting_payments_and_finishes_those_sent() {
    an_interrupt_finishes_what_was_sent("INT", 2_257_164_624_870_700_000, 130, 8);
}

#[test]
fn sigterm_stops_starting_payments_and_finishes_those_sent() {
    // 8 payments started, 4 sent (4 connections): the 4 waiting for one are dropped unsent.
    an_interrupt_finishes_what_was_sent("TERM", 2_257_164_624_870_800_000, 143, 4);
}

#[test]
fn a_second_sigint_exits_at_once_naming_the_payments_under_way() {
    let sandbox = SandboxProcess::start(&["--latency-ms", "3000"]);
    let data = fresh_data_dir();
    let ids: Vec<String> = (0..6)
        .map(|n| (2_257_164_624_870_900_000u64 + n).to_string())
        .collect();
    let mut args = vec!["pay", "--concurrency", "3"];
    args.extend(ids.iter().map(String::as_str));
    let child = spawn_daji(&sandbox.url, &args, &data);
    let bound = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sandbox_get(&sandbox.url, "/_sandbox/stats")["inFlight"] != 3 {
        assert!(
            std::time::Instant::now() < bound,
            "3 payments never in flight"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    send_signal(&child, "INT");
    std::thread::sleep(std::time::Duration::from_millis(200));
    send_signal(&child, "INT");
    // Well before the gateway answers (3 s).
    let o = wait_within(child, std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(130), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("3 payment(s) under way may have been sent"),
        "{err}"
    );
    for id in &ids[..3] {
        assert!(err.contains(id.as_str()), "{id}: {err}");
    }
    assert!(
        err.contains("daji journal resolve ID --paid|--not-paid"),
        "{err}"
    );
    // What it said: the journal still has them in flight, and a re-run sends nothing for them.
    let in_flight = journal_records(&sandbox.url, &data, "in_flight");
    assert_eq!(in_flight.len(), 3);
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn a_closed_stdout_ends_a_run_quietly_with_every_payment_recorded() {
    // `daji pay … | head -1`: the reader takes one line and goes away.
    let sandbox = SandboxProcess::start(&["--latency-ms", "200"]);
    let data = fresh_data_dir();
    let report = data.join("report.csv");
    let ids: Vec<String> = (0..40)
        .map(|n| (2_257_164_624_871_000_000u64 + n).to_string())
        .collect();
    let mut args = vec![
        "pay",
        "--concurrency",
        "4",
        "--report",
        report.to_str().unwrap(),
    ];
    args.extend(ids.iter().map(String::as_str));
    let mut child = spawn_daji(&sandbox.url, &args, &data);
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("PAID 22571646248710000"), "{first}");
    let o = wait_within(child, std::time::Duration::from_secs(60));
    assert_eq!(o.status.code(), Some(141), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    assert!(stderr(&o).contains("stdout was closed"), "{}", stderr(&o));
    assert!(journal_records(&sandbox.url, &data, "in_flight").is_empty());
    let sent = pay_requests(&sandbox.url);
    assert_eq!(
        journal_records(&sandbox.url, &data, "paid").len(),
        sent.len()
    );
    let rows = std::fs::read_to_string(&report).unwrap();
    assert_eq!(rows.lines().count(), 41);
    let paid = rows.lines().filter(|r| r.contains(",paid,PAID,")).count();
    let not_started = rows
        .lines()
        .filter(|r| r.contains(",not_started,NOT STARTED,"))
        .count();
    assert_eq!((paid, not_started), (sent.len(), 40 - sent.len()));
    assert!(not_started > 0, "the run stopped early: {rows}");

    // `daji journal list | head -1`, with the pipe closed before the first line.
    let mut child = spawn_daji(&sandbox.url, &["journal", "list"], &data);
    drop(child.stdout.take());
    let o = wait_within(child, std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "");
    // And through a shell's pipe.
    let o = Command::new("sh")
        .args(["-c", &format!("'{DAJI}' journal list | head -1")])
        .env("XDG_DATA_HOME", &data)
        .env("DAJISAAS_APP_KEY", DEFAULT_APP_KEY)
        .env("DAJISAAS_BASE_URL", &sandbox.url)
        .env_remove("DAJISAAS_JOURNAL")
        .output()
        .unwrap();
    assert_eq!(stdout(&o).lines().count(), 1, "{}", stdout(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn a_report_in_a_missing_directory_fails_before_any_request() {
    let sb = sandbox();
    let o = daji(
        &sb,
        &[
            "pay",
            "--report",
            "/nonexistent-dir/report.csv",
            "2257164624870311973",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("--report /nonexistent-dir/report.csv"),
        "{}",
        stderr(&o)
    );
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn completions_generate_for_each_shell_and_the_man_page_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let o = Command::new(DAJI)
            .args(["completions", shell])
            .output()
            .unwrap();
        assert!(o.status.success(), "{shell}: {}", stderr(&o));
        let script = stdout(&o);
        assert!(
            script.contains("daji") && script.contains("pay-url"),
            "{shell}: {script}"
        );
        assert!(script.contains("jsonl"), "{shell}: {script}");
    }
    let o = Command::new(DAJI)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = Command::new(DAJI).arg("man").output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains(".TH daji 1"), "{}", stdout(&o));
    assert!(stdout(&o).contains("journal"), "{}", stdout(&o));
    let dir = fresh_data_dir();
    let o = Command::new(DAJI)
        .args(["man", "--out-dir", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pay = std::fs::read_to_string(dir.join("daji-pay.1")).unwrap();
    assert!(pay.contains("concurrency"), "{pay}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn jsonl_streams_one_labelled_object_per_order() {
    let sb = sandbox();
    let o = daji(
        &sb,
        &[
            "pay",
            "--jsonl",
            "--timeout-ms",
            "500",
            "2257164624870311001",
            "9003000000000000301",
        ],
    );
    assert_eq!(o.status.code(), Some(19), "{}", stderr(&o));
    let lines: Vec<Value> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2, "{}", stdout(&o));
    let unknown = lines
        .iter()
        .find(|l| l["orderId"] == "9003000000000000301")
        .unwrap();
    assert_eq!(unknown["outcome"], "unknown");
    assert!(
        unknown["label"]
            .as_str()
            .unwrap()
            .starts_with("UNKNOWN (may have been charged")
    );
    // The summary goes to stderr: stdout holds only the orders.
    assert!(stderr(&o).contains("not_started"), "{}", stderr(&o));
}

#[test]
fn an_interrupt_of_pay_url_batches_says_so_and_exits_with_the_signal_status() {
    let sandbox = SandboxProcess::start(&["--latency-ms", "3000"]);
    let data = fresh_data_dir();
    let child = spawn_daji(
        &sandbox.url,
        &["pay-url", "--batch-size", "2", "1", "2", "3"],
        &data,
    );
    let bound = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sandbox_get(&sandbox.url, "/_sandbox/stats")["inFlight"] == 0 {
        assert!(std::time::Instant::now() < bound, "no link request came");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    send_signal(&child, "HUP");
    let o = wait_within(child, std::time::Duration::from_secs(30));
    assert_eq!(o.status.code(), Some(129), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("SIGHUP: no link printed"),
        "{}",
        stderr(&o)
    );
    assert_eq!(stdout(&o), "");
    std::fs::remove_dir_all(&data).unwrap();
}

#[test]
fn an_order_the_gateway_says_is_already_paid_is_labelled_and_counted_apart() {
    // Two processes with journals of their own (memory): the second one's payment reaches the
    // gateway, which answers that the order is already paid.
    let sb = sandbox();
    let dir = fresh_data_dir();
    let csv = dir.join("report.csv");
    let id = "2257164624870311995";
    let first = daji(&sb, &["pay", "--journal", "memory", id]);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = daji(
        &sb,
        &[
            "pay",
            "--journal",
            "memory",
            "--report",
            csv.to_str().unwrap(),
            id,
        ],
    );
    assert!(again.status.success(), "{}", stderr(&again));
    let out = stdout(&again);
    assert!(
        out.contains(&format!("PAID (already paid at the gateway) {id}")),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n{:<14} {:>6}\n", "already_paid", 1)),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n{:<14} {:>6}\n", "paid", 0)),
        "{out}"
    );
    let rows = std::fs::read_to_string(&csv).unwrap();
    assert!(
        rows.contains(&format!(
            "{id},paid,PAID (already paid at the gateway),false,true,"
        )),
        "{rows}"
    );
    assert_eq!(sb.stats().deductions.get(id), Some(&1));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn orders_whose_state_forbids_payment_are_not_payable_and_exit_23() {
    let sb = sandbox();
    let o = daji(
        &sb,
        &[
            "pay",
            "2257164624870311994",
            "9015000000000000401",
            "9016000000000000401",
        ],
    );
    assert_eq!(o.status.code(), Some(23), "order_not_payable is 10 + 13");
    let out = stdout(&o);
    for id in ["9015000000000000401", "9016000000000000401"] {
        assert!(
            out.contains(&format!(
                "NOT PAYABLE {id}: [order_not_payable] after 1 attempt(s)"
            )),
            "{out}"
        );
    }
    assert!(
        out.contains(&format!("\n{:<14} {:>6}\n", "not_payable", 2)),
        "{out}"
    );
    assert_eq!(sb.stats().deductions.get("9015000000000000401"), None);
}

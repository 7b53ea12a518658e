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
    let o = daji(&sb, &["pay", "--json", id, id]);
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
    assert!(
        out.contains("paid     2257164624870311973 via alipay"),
        "{out}"
    );
    assert!(
        out.contains("NOT PAID 9000000000000000001: [payment_declined] after 4 attempt(s)"),
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
fn bad_input_exits_11_and_sends_nothing() {
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
    ] {
        let o = daji(&sb, args);
        assert_eq!(o.status.code(), Some(11), "{args:?}: {}", stderr(&o));
        assert!(
            stderr(&o).starts_with("error[invalid_argument]"),
            "{}",
            stderr(&o)
        );
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
        out.contains("[payment_outcome_unknown]") && out.contains("[payment_declined]"),
        "{out}"
    );
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
    assert_eq!(record[0]["state"], "paid", "{record}");
    assert_eq!(record[0]["history"][0]["note"], "seen in 1688");
    assert_eq!(record[0]["history"][0]["from"], "unknown");
    assert_eq!(record[0]["history"][0]["to"], "paid");
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
        "paid     2257164624870312001 via alipay",
        "NOT PAID 9000000000000000201: [payment_declined]",
        "NOT PAID 9003000000000000201: [payment_outcome_unknown]",
    ] {
        assert!(out.contains(line), "{line:?} in\n{out}");
    }
    for (outcome, n) in [
        ("paid", 2),
        ("declined", 1),
        ("unknown", 1),
        ("in_progress", 0),
        ("failed", 0),
        ("total", 4),
    ] {
        let row = format!("\n{outcome:<12} {n:>6}\n");
        assert!(out.contains(&row), "{row:?} in\n{out}");
    }
    let rows = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(
        rows[0],
        "order_id,outcome,code,message,trace_id,attempts,pay_channel"
    );
    // Arguments first, then the file; the repeat in the file is dropped.
    assert!(
        rows[1].starts_with("2257164624870312002,paid,,,"),
        "{}",
        rows[1]
    );
    assert!(rows[1].ends_with(",1,alipay"), "{}", rows[1]);
    assert!(rows[3].starts_with("9000000000000000201,declined,payment_declined,"));
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
        (&["pay", "1", "--concurrency", "0"][..], "concurrency is 0"),
        (&["pay", "1", "--concurrency", "65"], "1 to 64"),
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
        assert_eq!(o.status.code(), Some(11), "{args:?}: {}", stderr(&o));
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

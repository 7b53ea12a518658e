//! The client subcommands and `daji sandbox`.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use dajisaas::{Error, Method, Params, PayManyItem, PayUrl};
use dajisaas_sandbox::{Chaos, Sandbox, SandboxConfig};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::output::{fail, link_text, payment_text, summary_table, write_report};
use crate::{OrderIds, PayArgs, PayUrlArgs, RequestArgs, SandboxArgs, SignArgs};

type Outcome = Result<(), ExitCode>;

/// `key=value` arguments and an optional JSON object, merged (key=value last).
fn collect_params(pairs: &[String], json_text: Option<&str>) -> dajisaas::Result<Params> {
    let mut params = match json_text {
        Some(text) => dajisaas::parse_params(text)?,
        None => Params::new(),
    };
    for pair in pairs {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| Error::invalid(format!("parameter {pair:?} is not key=value")))?;
        params.insert(key.to_string(), Value::String(value.to_string()));
    }
    Ok(params)
}

pub fn sign(args: &SignArgs) -> Outcome {
    let params = collect_params(&args.params, args.params_json.as_deref())
        .map_err(|e| fail(&e, args.json))?;
    let signature = dajisaas::sign(&params, &args.app_secret);
    let signed = dajisaas::signing_string_masked(&params);
    if args.json {
        println!("{}", json!({ "signedString": signed, "sign": signature }));
    } else {
        println!("signed string: {signed}");
        println!("sign:          {signature}");
    }
    Ok(())
}

/// The ids of the arguments, then those of `--from-file` (one a line, `-` for standard input;
/// blank lines and `#` comments skipped), as given: the core checks them.
fn read_ids(ids: &OrderIds) -> dajisaas::Result<Vec<String>> {
    let mut all = ids.order_ids.clone();
    let Some(path) = &ids.from_file else {
        return Ok(all);
    };
    let unreadable =
        |e: std::io::Error| Error::invalid(format!("--from-file {}: {e}", path.display()));
    let reader: Box<dyn BufRead> = if path.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(path).map_err(unreadable)?,
        ))
    };
    for line in reader.lines() {
        let line = line.map_err(unreadable)?;
        let id = line.trim();
        if !id.is_empty() && !id.starts_with('#') {
            all.push(id.to_string());
        }
    }
    if all.is_empty() {
        return Err(Error::invalid(format!(
            "--from-file {} holds no order id",
            path.display()
        )));
    }
    Ok(all)
}

pub fn pay_url(args: &PayUrlArgs) -> Outcome {
    let as_json = args.connection.json;
    let ids = read_ids(&args.ids).map_err(|e| fail(&e, as_json))?;
    let client = args.connection.client().map_err(|e| fail(&e, as_json))?;
    let links = match args.batch_size {
        Some(size) => client.pay_urls(&ids, size),
        None => client.pay_url(&ids).map(|link| vec![link]),
    }
    .map_err(|e| fail(&e, as_json))?;
    if as_json {
        let all: Vec<Value> = links.iter().map(PayUrl::to_json).collect();
        println!("{}", Value::Array(all));
    } else {
        for link in &links {
            println!("{}", link_text(link));
        }
    }
    Ok(())
}

pub fn pay(args: &PayArgs) -> Outcome {
    let as_json = args.connection.json;
    // Every id is checked before any order is paid (and before the journal is opened); an
    // order listed twice is paid once.
    let given = read_ids(&args.ids).map_err(|e| fail(&e, as_json))?;
    let ids = dajisaas::validate_and_dedup_order_ids(&given).map_err(|e| fail(&e, as_json))?;
    drop(given);
    let mut connection = args.connection.clone();
    if connection.journal.is_none() {
        connection.journal = Some(crate::journal::default_url().map_err(|e| fail(&e, as_json))?);
    }
    let client = connection.client().map_err(|e| fail(&e, as_json))?;
    // A bar on a terminal only; each order's line as it finishes (text mode).
    let bar = if std::io::stdout().is_terminal() {
        ProgressBar::with_draw_target(Some(ids.len() as u64), ProgressDrawTarget::stderr())
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} orders, {per_sec}, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let shown = bar.clone();
    let report = client
        .pay_many_with_progress(&ids, args.concurrency, move |item: &PayManyItem| {
            if !as_json {
                let line = payment_text(&item.result, &item.order_id);
                shown.suspend(|| println!("{line}"));
            }
            shown.inc(1);
        })
        .map_err(|e| fail(&e, as_json))?;
    bar.finish_and_clear();
    if as_json {
        let reports: Vec<Value> = report.results.iter().map(PayManyItem::to_json).collect();
        println!("{}", Value::Array(reports));
    } else {
        print!("{}", summary_table(&report.summary));
    }
    if let Some(path) = &args.report {
        write_report(path, &report).map_err(|e| fail(&e, as_json))?;
    }
    // The exit status is the core's verdict on the run: its most serious failure.
    match report.most_serious_failure() {
        None => Ok(()),
        Some(e) => Err(crate::output::exit_code(e)),
    }
}

pub fn request(args: &RequestArgs) -> Outcome {
    let as_json = args.connection.json;
    let prepared = Method::parse(&args.method).and_then(|method| {
        collect_params(&args.params, args.params_json.as_deref()).map(|params| (method, params))
    });
    let (method, params) = prepared.map_err(|e| fail(&e, as_json))?;
    let client = args.connection.client().map_err(|e| fail(&e, as_json))?;
    let data = client
        .request(method, &args.path, params)
        .map_err(|e| fail(&e, as_json))?;
    if as_json {
        println!("{data}");
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&data).unwrap_or_else(|_| data.to_string())
        );
    }
    Ok(())
}

pub fn sandbox(args: &SandboxArgs) -> Outcome {
    let config = SandboxConfig {
        port: args.port,
        app_key: args.app_key.clone(),
        app_secret: args.app_secret.clone(),
        latency: Duration::from_millis(args.latency_ms),
        slow: Duration::from_millis(args.slow_ms),
        hang: Duration::from_millis(args.hang_ms),
        chaos: args.chaos_seed.map(|seed| Chaos { seed }),
        tls: args.tls,
        qps: args.qps,
    };
    let sandbox = Sandbox::start(config).map_err(|e| {
        eprintln!(
            "error: the sandbox could not listen on 127.0.0.1:{}: {e}",
            args.port
        );
        ExitCode::from(12)
    })?;
    if let (Some(path), Some(pem)) = (&args.ca_out, sandbox.ca_pem()) {
        std::fs::write(path, pem).map_err(|e| {
            eprintln!("error: --ca-out {}: {e}", path.display());
            ExitCode::from(11)
        })?;
    }
    // The first line is the address: scripts and test fixtures read it.
    println!("dajisaas sandbox listening on {}", sandbox.url());
    let limit = match args.qps {
        Some(n) => format!("rate limit {n} calls/s per app key"),
        None => "no rate limit".to_string(),
    };
    println!(
        "app key {:?}; {limit}; stats at {}/_sandbox/stats; Ctrl-C stops",
        args.app_key,
        sandbox.url()
    );
    let _ = std::io::stdout().flush();
    loop {
        std::thread::park();
    }
}

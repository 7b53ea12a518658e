//! The client subcommands and `daji sandbox`.

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use dajisaas::{Error, Method, Params, PayUrl};
use dajisaas_sandbox::{Chaos, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::output::{fail, link_text, payment_json, payment_text};
use crate::{PayArgs, PayUrlArgs, RequestArgs, SandboxArgs, SignArgs};

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

pub fn pay_url(args: &PayUrlArgs) -> Outcome {
    let as_json = args.connection.json;
    let client = args.connection.client().map_err(|e| fail(&e, as_json))?;
    let links = match args.batch_size {
        Some(size) => client.pay_urls(&args.order_ids, size),
        None => client.pay_url(&args.order_ids).map(|link| vec![link]),
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
    // Every id is checked before any order is paid; an order listed twice is paid once.
    let ids =
        dajisaas::validate_and_dedup_order_ids(&args.order_ids).map_err(|e| fail(&e, as_json))?;
    let mut connection = args.connection.clone();
    if connection.journal.is_none() {
        connection.journal = Some(crate::journal::default_url().map_err(|e| fail(&e, as_json))?);
    }
    let client = connection.client().map_err(|e| fail(&e, as_json))?;
    let mut results = Vec::with_capacity(ids.len());
    for id in &ids {
        let result = client.prepare_pay(id);
        if !as_json {
            println!("{}", payment_text(&result, id));
        }
        results.push(result);
    }
    if as_json {
        let reports: Vec<Value> = ids
            .iter()
            .zip(&results)
            .map(|(id, result)| payment_json(result, id))
            .collect();
        println!("{}", Value::Array(reports));
    }
    match dajisaas::most_serious_failure(&results) {
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

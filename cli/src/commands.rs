//! The client subcommands and `daji sandbox`.

use std::io::BufRead;
use std::process::ExitCode;
use std::time::Duration;

use dajisaas::{Error, Method, Params, PayUrl};
use dajisaas_sandbox::{Chaos, Sandbox, SandboxConfig};
use serde_json::{Value, json};

use crate::output::{err, fail, link_text, out, usage};
use crate::{OrderIds, PayUrlArgs, RequestArgs, SandboxArgs, SignArgs};

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
        .map_err(|e| usage(&e, args.json))?;
    let signature = dajisaas::sign(&params, &args.app_secret);
    let signed = dajisaas::signing_string_masked(&params);
    if args.json {
        out(&json!({ "signedString": signed, "sign": signature }).to_string());
    } else {
        out(&format!("signed string: {signed}"));
        out(&format!("sign:          {signature}"));
    }
    Ok(())
}

/// The ids of the arguments, then those of `--from-file` (one a line, `-` for standard input;
/// blank lines and `#` comments skipped), as given: the core checks them.
pub fn read_ids(ids: &OrderIds) -> dajisaas::Result<Vec<String>> {
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
    let ids = read_ids(&args.ids).map_err(|e| usage(&e, as_json))?;
    let client = args.connection.client().map_err(|e| usage(&e, as_json))?;
    // An `invalid_argument` here is the command line's (the ids or the batch size): nothing was
    // sent. A link moves no money: an interrupt abandons the batches not yet received.
    let links = match args.batch_size {
        Some(size) => crate::pay::until_interrupted(
            client.to_async().pay_urls(ids, size),
            "no link printed; fetching a link moves no money, so none is waited for",
        ),
        None => client.pay_url(&ids).map(|link| vec![link]),
    }
    .map_err(|e| usage(&e, as_json))?;
    if as_json {
        let all: Vec<Value> = links.iter().map(PayUrl::to_json).collect();
        out(&Value::Array(all).to_string());
    } else {
        for link in &links {
            if !out(&link_text(link)) {
                break;
            }
        }
    }
    Ok(())
}

pub fn request(args: &RequestArgs) -> Outcome {
    let as_json = args.connection.json;
    let prepared = Method::parse(&args.method).and_then(|method| {
        collect_params(&args.params, args.params_json.as_deref()).map(|params| (method, params))
    });
    let (method, params) = prepared.map_err(|e| usage(&e, as_json))?;
    let client = args.connection.client().map_err(|e| usage(&e, as_json))?;
    let data = client
        .request(method, &args.path, params)
        .map_err(|e| fail(&e, as_json))?;
    if as_json {
        out(&data.to_string());
    } else {
        out(&serde_json::to_string_pretty(&data).unwrap_or_else(|_| data.to_string()));
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
        err(&format!(
            "error: the sandbox could not listen on 127.0.0.1:{}: {e}",
            args.port
        ));
        ExitCode::from(12)
    })?;
    if let (Some(path), Some(pem)) = (&args.ca_out, sandbox.ca_pem()) {
        std::fs::write(path, pem).map_err(|e| {
            err(&format!("error: --ca-out {}: {e}", path.display()));
            ExitCode::from(crate::output::USAGE)
        })?;
    }
    // The first line is the address: scripts and test fixtures read it.
    out(&format!("dajisaas sandbox listening on {}", sandbox.url()));
    let limit = match args.qps {
        Some(n) => format!("rate limit {n} calls/s per app key"),
        None => "no rate limit".to_string(),
    };
    out(&format!(
        "app key {:?}; {limit}; stats at {}/_sandbox/stats; Ctrl-C stops",
        args.app_key,
        sandbox.url()
    ));
    loop {
        std::thread::park();
    }
}

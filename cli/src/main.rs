//! `daji`: the Dajisaas payment client and sandbox gateway on the command line.

/// `println!` that never panics: a closed stdout (`| head`) ends the output quietly.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = $crate::output::out(&format!($($arg)*));
    }};
}

/// `eprintln!` that never panics.
macro_rules! say_err {
    ($($arg:tt)*) => {
        $crate::output::err(&format!($($arg)*))
    };
}

mod commands;
mod demo;
mod journal;
mod output;
mod pay;

use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};
use dajisaas::{Casing, Client, ClientOptions, OptionName};
use serde_json::{Map, Value};

/// Pay 1688 orders through the Dajisaas gateway, or run a local sandbox gateway.
///
/// Exit status: 0 success; 1 `journal show` found no record of the order; 2 usage error (a
/// malformed or out-of-range flag or argument, an unreadable --from-file, an unwritable
/// --report, a journal URL that cannot be used: nothing was sent); 10 + the error's number on a
/// failure (11 invalid_argument, 12 connection, 13 timeout, 14 http_status, 15 decode, 16 api,
/// 17 rate_limited, 18 payment_declined, 19 payment_outcome_unknown, 20 internal,
/// 21 payment_in_progress, 22 journal, 23 order_not_payable); 129, 130, 143 (128 + the signal's
/// number) when a SIGHUP, SIGINT or SIGTERM stopped `daji pay` with orders not started (130 also
/// after a second SIGINT), 141 when a closed stdout did.
///
/// `daji pay` exits with the status of the most serious outcome among its orders, in this
/// order: unknown (19), in_progress (21), not started (129/130/141/143), declined (18), not
/// payable (23), other failures (10 + their number), paid (0).
///
/// The default journal of `daji pay` and `daji journal` is the SQLite file
/// $XDG_DATA_HOME/dajisaas/payments.db (else ~/.local/share/dajisaas/payments.db).
#[derive(Parser)]
#[command(name = "daji", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Sign parameters and show the string that was hashed (secret masked).
    Sign(SignArgs),
    /// Get cashier links for orders (GET /alibaba/alipay/url/get).
    PayUrl(PayUrlArgs),
    /// Pay orders without the buyer's password (POST .../protocolPay/preparePay).
    ///
    /// One line per order as it finishes, labelled with what became of it, then a summary. The
    /// first Ctrl-C, SIGTERM or SIGHUP (or a closed stdout) starts no new payment: those under
    /// way run to their recorded outcomes, then the summary and the report list the rest as
    /// not_started, and running the same command again pays them (the paid ones are replayed
    /// from the journal, no request sent). A second Ctrl-C exits at once, naming the payments
    /// still under way.
    Pay(PayArgs),
    /// Call any other gateway endpoint, signed; prints the envelope's data.
    Request(RequestArgs),
    /// Read the payment journal, or record what you found for an order whose outcome is unknown.
    Journal(JournalArgs),
    /// Run the sandbox gateway on 127.0.0.1 until interrupted.
    Sandbox(SandboxArgs),
    /// Start an embedded sandbox and walk through links and payments, good and bad.
    Demo,
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print daji's man page (roff), or write one page per command into a directory.
    Man {
        /// Write daji.1 and daji-COMMAND.1 pages into this directory.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<std::path::PathBuf>,
    },
}

/// Where and as whom to call the gateway. Each client option has a flag of the same name; a
/// flag left out takes the library's default.
#[derive(Args, Clone)]
struct Connection {
    /// App key.
    #[arg(long, env = "DAJISAAS_APP_KEY")]
    app_key: String,
    /// App secret (never printed).
    #[arg(long, env = "DAJISAAS_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// Gateway address (default: the production gateway, openapi.dajisaas.com over https);
    /// plain http only for loopback hosts such as the sandbox.
    #[arg(long, env = "DAJISAAS_BASE_URL")]
    base_url: Option<String>,
    /// Total time of one request, in milliseconds (default 30000).
    #[arg(long, value_name = "MS")]
    timeout_ms: Option<u64>,
    /// Time to connect, in milliseconds (default 10000).
    #[arg(long, value_name = "MS")]
    connect_timeout_ms: Option<u64>,
    /// Retries after a retryable failure, 0 to 3 (default 3).
    #[arg(long, value_name = "N")]
    max_retries: Option<u64>,
    /// First backoff step, in milliseconds (default 200).
    #[arg(long, value_name = "MS")]
    backoff_base_ms: Option<u64>,
    /// Longest backoff step, in milliseconds (default 5000).
    #[arg(long, value_name = "MS")]
    backoff_cap_ms: Option<u64>,
    /// How orderIdList is sent: json_array (default) or comma_separated.
    #[arg(long, value_name = "FORMAT")]
    order_id_format: Option<String>,
    /// Link batches fetched at once by pay-url --batch-size, 1 to 16 (default 4).
    #[arg(long, value_name = "N")]
    max_concurrent_batches: Option<u64>,
    /// Requests in flight at most; more wait their turn, 1 to 1024 (default 64).
    #[arg(long, value_name = "N")]
    max_connections: Option<u64>,
    /// Also trust the CA certificates in this PEM file (behind a TLS-inspecting proxy).
    #[arg(long, value_name = "FILE")]
    root_certificates_pem: Option<std::path::PathBuf>,
    /// DEBUGGING ONLY: send the app secret instead of a signature. Never in production.
    #[arg(long)]
    dangerously_send_app_secret_instead_of_sign: bool,
    /// The payment journal: memory, sqlite:///abs/path.db or postgres://… (`daji pay`'s default
    /// is a SQLite file in your data directory, so that a re-run never pays again).
    #[arg(long, env = "DAJISAAS_JOURNAL", value_name = "URL")]
    journal: Option<String>,
    /// The deadline of every journal operation, in milliseconds, 100 to 60000 (default 5000).
    #[arg(long, value_name = "MS")]
    journal_timeout_ms: Option<u64>,
    /// At most N calls a second, 1 to 10000, spaced evenly (default: no fixed limit; the client
    /// still slows down by itself after the gateway refuses calls for their frequency).
    #[arg(long, value_name = "N")]
    max_calls_per_second: Option<u64>,
    /// Log each request (method, path, status, traceId, elapsed, attempt) to stderr.
    #[arg(short, long)]
    verbose: bool,
    /// Print results and errors as JSON.
    #[arg(long)]
    json: bool,
}

impl Connection {
    /// The flags as the library's client options: the same names, checks and defaults as in
    /// every other language.
    fn client(&self) -> dajisaas::Result<Client> {
        if self.verbose {
            env_logger::Builder::new()
                .filter_module("dajisaas", log::LevelFilter::Debug)
                .init();
        }
        let pem = match &self.root_certificates_pem {
            Some(path) => Some(std::fs::read_to_string(path).map_err(|e| {
                dajisaas::Error::invalid(format!("--root-certificates-pem {}: {e}", path.display()))
            })?),
            None => None,
        };
        let flags: [(OptionName, Option<Value>); 16] = [
            (OptionName::AppKey, Some(self.app_key.as_str().into())),
            (OptionName::AppSecret, Some(self.app_secret.as_str().into())),
            (
                OptionName::BaseUrl,
                self.base_url.as_deref().map(Value::from),
            ),
            (OptionName::TimeoutMs, self.timeout_ms.map(Value::from)),
            (
                OptionName::ConnectTimeoutMs,
                self.connect_timeout_ms.map(Value::from),
            ),
            (OptionName::MaxRetries, self.max_retries.map(Value::from)),
            (
                OptionName::BackoffBaseMs,
                self.backoff_base_ms.map(Value::from),
            ),
            (
                OptionName::BackoffCapMs,
                self.backoff_cap_ms.map(Value::from),
            ),
            (
                OptionName::OrderIdFormat,
                self.order_id_format.as_deref().map(Value::from),
            ),
            (
                OptionName::MaxConcurrentBatches,
                self.max_concurrent_batches.map(Value::from),
            ),
            (
                OptionName::MaxConnections,
                self.max_connections.map(Value::from),
            ),
            (OptionName::RootCertificatesPem, pem.map(Value::from)),
            (
                OptionName::DangerouslySendAppSecretInsteadOfSign,
                Some(self.dangerously_send_app_secret_instead_of_sign.into()),
            ),
            (
                OptionName::Journal,
                self.journal.as_deref().map(Value::from),
            ),
            (
                OptionName::JournalTimeoutMs,
                self.journal_timeout_ms.map(Value::from),
            ),
            (
                OptionName::MaxCallsPerSecond,
                self.max_calls_per_second.map(Value::from),
            ),
        ];
        let map: Map<String, Value> = flags
            .into_iter()
            .filter_map(|(name, value)| Some((name.spelled(Casing::Flag), value?)))
            .collect();
        ClientOptions::from_map(&map, Casing::Flag)?.build()
    }
}

#[derive(Args)]
struct SignArgs {
    /// Parameters as key=value (values are strings).
    params: Vec<String>,
    /// Parameters as a JSON object, for numbers, booleans, arrays and objects.
    #[arg(long, value_name = "JSON")]
    params_json: Option<String>,
    /// The secret to sign with.
    #[arg(long, env = "DAJISAAS_APP_SECRET", hide_env_values = true)]
    app_secret: String,
    /// Print as JSON.
    #[arg(long)]
    json: bool,
}

/// Where the order ids come from: the arguments, then a file.
#[derive(Args, Clone)]
struct OrderIds {
    /// 1688 order ids.
    #[arg(required_unless_present = "from_file")]
    order_ids: Vec<String>,
    /// Also read order ids from this file, one a line (`-` for standard input); blank lines and
    /// lines starting with `#` are skipped.
    #[arg(long, value_name = "PATH")]
    from_file: Option<std::path::PathBuf>,
}

#[derive(Args)]
struct PayUrlArgs {
    #[command(flatten)]
    ids: OrderIds,
    /// Split into links of this many orders (any number of ids); without it, one link for 1 to 30.
    #[arg(long)]
    batch_size: Option<usize>,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Args)]
struct PayArgs {
    /// 1688 order ids (repeats are paid once); with --from-file, those of the file too.
    #[command(flatten)]
    ids: OrderIds,
    /// Payments in flight at once, 1 to 64.
    #[arg(
        long,
        value_name = "N",
        default_value_t = dajisaas::DEFAULT_PAY_MANY_CONCURRENCY as u16,
        value_parser = clap::value_parser!(u16).range(1..=dajisaas::MAX_PAY_MANY_CONCURRENCY as i64)
    )]
    concurrency: u16,
    /// Also write one row per order (id, outcome, label, replayed, already_paid, code,
    /// message, traceId, attempts, pay channel; orders an interrupt left unstarted as
    /// not_started) to this file: CSV if it ends in .csv, else the run's JSON
    /// (`{"results":[...],"summary":{...},"interruptedBy":...}`). The file is created before
    /// anything is sent.
    #[arg(long, value_name = "PATH.csv|PATH.json")]
    report: Option<std::path::PathBuf>,
    /// Print one JSON object per order as it finishes (JSON Lines, for jq), the orders not
    /// started last; the summary goes to stderr.
    #[arg(long, conflicts_with = "json")]
    jsonl: bool,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Args)]
struct JournalArgs {
    #[command(subcommand)]
    command: JournalCommand,
    /// The payment journal (default: the SQLite file `daji pay` uses).
    #[arg(long, env = "DAJISAAS_JOURNAL", value_name = "URL", global = true)]
    journal: Option<String>,
    /// The app whose records are shown and resolved (a journal keeps each gateway's and app's
    /// orders apart).
    #[arg(long, env = "DAJISAAS_APP_KEY", global = true)]
    app_key: Option<String>,
    /// The gateway whose records are shown and resolved (default: the production gateway).
    #[arg(long, env = "DAJISAAS_BASE_URL", global = true)]
    base_url: Option<String>,
    /// Print as JSON.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum JournalCommand {
    /// One order's record.
    Show {
        /// The 1688 order id.
        order_id: String,
    },
    /// Every record, or those in one state (in_flight, paid, declined, unknown, not_paid).
    List {
        /// Only records in this state.
        #[arg(long)]
        state: Option<String>,
    },
    /// Record what you found for an order whose payment's outcome is unknown.
    Resolve {
        /// The 1688 order id.
        order_id: String,
        /// The order was paid (the journal then replays it instead of paying again). Exactly
        /// one of --paid and --not-paid.
        #[arg(long)]
        paid: bool,
        /// The order was not paid (it can then be paid again).
        #[arg(long)]
        not_paid: bool,
        /// How you checked (kept in the record).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The pace the app's calls share through this journal (SQLite, PostgreSQL): the adaptive
    /// rate learned from the gateway's refusals, the next free slot, the calls of the last second.
    Pace,
}

#[derive(Args)]
struct RequestArgs {
    /// GET or POST.
    method: String,
    /// Endpoint path, e.g. /alibaba/order/detail.
    path: String,
    /// Parameters as key=value (values are strings).
    params: Vec<String>,
    /// Parameters as a JSON object, for numbers, booleans, arrays and objects.
    #[arg(long, value_name = "JSON")]
    params_json: Option<String>,
    #[command(flatten)]
    connection: Connection,
}

#[derive(Args)]
struct SandboxArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8787)]
    port: u16,
    /// The app key the sandbox accepts.
    #[arg(long, default_value = dajisaas_sandbox::DEFAULT_APP_KEY)]
    app_key: String,
    /// The app secret the sandbox checks signatures with.
    #[arg(long, default_value = dajisaas_sandbox::DEFAULT_APP_SECRET)]
    app_secret: String,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Delay of slow (9007...) orders, in milliseconds.
    #[arg(long, default_value_t = 3000)]
    slow_ms: u64,
    /// How long deduct-then-hang (9002...) orders hold their answer, in milliseconds.
    #[arg(long, default_value_t = 30000)]
    hang_ms: u64,
    /// Chaos mode: seeded random faults for orders without a pattern of their own.
    #[arg(long, value_name = "SEED")]
    chaos_seed: Option<u64>,
    /// Serve HTTPS with a certificate from a throwaway CA, written to --ca-out.
    #[arg(long, requires = "ca_out")]
    tls: bool,
    /// Where --tls writes the CA certificate (PEM) that clients must trust.
    #[arg(long, value_name = "FILE")]
    ca_out: Option<std::path::PathBuf>,
    /// Rate limit per app key: bursts of up to N calls, refilled at N a second; calls past it
    /// get the gateway's call-frequency refusal (code 429). Default: no limit.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    qps: Option<u32>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sign(args) => commands::sign(&args),
        Command::PayUrl(args) => commands::pay_url(&args),
        Command::Pay(args) => pay::pay(&args),
        Command::Request(args) => commands::request(&args),
        Command::Journal(args) => journal::run(&args),
        Command::Sandbox(args) => commands::sandbox(&args),
        Command::Demo => demo::run(),
        Command::Completions { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "daji", &mut buffer);
            say!("{}", String::from_utf8_lossy(&buffer).trim_end());
            Ok(())
        }
        Command::Man { out_dir } => man(out_dir.as_deref()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(status) => status,
    }
}

/// The man page, from the same definitions as `--help`.
fn man(out_dir: Option<&std::path::Path>) -> Result<(), ExitCode> {
    let written = match out_dir {
        Some(dir) => clap_mangen::generate_to(Cli::command(), dir),
        None => {
            let mut buffer = Vec::new();
            let rendered = clap_mangen::Man::new(Cli::command()).render(&mut buffer);
            say!("{}", String::from_utf8_lossy(&buffer).trim_end());
            rendered
        }
    };
    written.map_err(|e| {
        say_err!("error: the man page could not be written: {e}");
        ExitCode::from(output::USAGE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}

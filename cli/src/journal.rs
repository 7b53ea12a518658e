//! `daji journal`: the payment journal, read and reconciled from the command line, and the
//! default journal of `daji pay`.

use std::process::ExitCode;

use dajisaas::{Error, JournalStore, PaymentRecord, Resolver, Scope, State, open_journal};
use serde_json::Value;

use crate::output::fail;
use crate::{JournalArgs, JournalCommand};

/// `daji pay`'s journal when none is given: `payments.db` in the user's data directory
/// (`$XDG_DATA_HOME/dajisaas`, else `~/.local/share/dajisaas`), created if missing.
pub fn default_url() -> dajisaas::Result<String> {
    let data = std::env::var_os("XDG_DATA_HOME")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::Path::new(&h).join(".local/share")))
        .ok_or_else(|| {
            Error::invalid("neither XDG_DATA_HOME nor HOME is set: pass --journal URL")
        })?;
    let dir = data.join("dajisaas");
    std::fs::create_dir_all(&dir).map_err(|e| {
        Error::invalid(format!(
            "cannot create the journal directory {}: {e}",
            dir.display()
        ))
    })?;
    let dir = std::fs::canonicalize(&dir)
        .map_err(|e| Error::invalid(format!("{}: {e}", dir.display())))?;
    Ok(format!("sqlite://{}", dir.join("payments.db").display()))
}

pub fn run(args: &JournalArgs) -> Result<(), ExitCode> {
    let as_json = args.json;
    let outcome = (|| -> dajisaas::Result<()> {
        let url = match &args.journal {
            Some(url) => url.clone(),
            None => default_url()?,
        };
        let store = open_journal(&url)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::invalid(format!("could not start a runtime: {e}")))?;
        runtime.block_on(command(&*store, &scope()?, &args.command, as_json))
    })();
    outcome.map_err(|e| fail(&e, as_json))
}

/// The records a `daji journal` command sees: those of the gateway and app the environment
/// names (`DAJISAAS_BASE_URL`, default the real gateway; `DAJISAAS_APP_KEY`), as a client of
/// them would.
fn scope() -> dajisaas::Result<Scope> {
    let base_url = std::env::var(dajisaas::ENV_BASE_URL)
        .unwrap_or_else(|_| dajisaas::DEFAULT_BASE_URL.to_string());
    let app_key = std::env::var(dajisaas::ENV_APP_KEY).map_err(|_| {
        Error::invalid(format!(
            "a journal's records belong to one gateway and app: set {} (and {} for a gateway \
             other than the real one)",
            dajisaas::ENV_APP_KEY,
            dajisaas::ENV_BASE_URL
        ))
    })?;
    Ok(Scope::new(&base_url, &app_key))
}

async fn command(
    store: &dyn JournalStore,
    scope: &Scope,
    command: &JournalCommand,
    as_json: bool,
) -> dajisaas::Result<()> {
    match command {
        JournalCommand::Show { order_id } => {
            dajisaas::validate_order_id(order_id, "order id")?;
            match store.get(scope, order_id).await? {
                Some(record) => show(&[record], as_json),
                None if as_json => println!("null"),
                None => println!("no record of order {order_id} in {}", store.url()),
            }
        }
        JournalCommand::List { state } => {
            let state = state.as_deref().map(State::parse).transpose()?;
            show(&store.list(scope, state).await?, as_json);
        }
        JournalCommand::Resolve {
            order_id,
            paid,
            note,
            ..
        } => {
            dajisaas::validate_order_id(order_id, "order id")?;
            let by = Resolver::this_process();
            let record = store.resolve(scope, order_id, *paid, note, &by).await?;
            show(&[record], as_json);
        }
    }
    Ok(())
}

fn show(records: &[PaymentRecord], as_json: bool) {
    if as_json {
        let all: Vec<Value> = records.iter().map(PaymentRecord::to_json).collect();
        println!("{}", Value::Array(all));
        return;
    }
    for r in records {
        println!(
            "{}  {:<9} {} attempt(s), traceId {}{}",
            r.order_id,
            r.state.as_str(),
            r.attempts,
            r.last_trace_id().unwrap_or("-"),
            r.message
                .as_deref()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        );
    }
}

//! `daji journal`: the payment journal, read and reconciled from the command line, and the
//! default journal of `daji pay`.

use std::process::ExitCode;

use dajisaas::{Error, JournalStore, PaymentRecord, State, open_journal};
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
        runtime.block_on(command(&*store, &args.command, as_json))
    })();
    outcome.map_err(|e| fail(&e, as_json))
}

async fn command(
    store: &dyn JournalStore,
    command: &JournalCommand,
    as_json: bool,
) -> dajisaas::Result<()> {
    match command {
        JournalCommand::Show { order_id } => {
            dajisaas::validate_order_id(order_id, "order id")?;
            match store.get(order_id).await? {
                Some(record) => show(&[record], as_json),
                None if as_json => println!("null"),
                None => println!("no record of order {order_id} in {}", store.url()),
            }
        }
        JournalCommand::List { state } => {
            let state = state.as_deref().map(State::parse).transpose()?;
            show(&store.list(state).await?, as_json);
        }
        JournalCommand::Resolve {
            order_id,
            paid,
            note,
            ..
        } => {
            dajisaas::validate_order_id(order_id, "order id")?;
            let by = format!("daji journal resolve ({})", dajisaas::Owner::this_process());
            let record = store.resolve(order_id, *paid, note, &by).await?;
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

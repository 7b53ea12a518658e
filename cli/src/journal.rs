//! `daji journal`: the payment journal, read and reconciled from the command line, and the
//! default journal of `daji pay`.

use std::process::ExitCode;

use dajisaas::{Error, JournalStore, PaceRow, PaymentRecord, Resolver, Scope, State, open_journal};
use serde_json::Value;

use crate::output::{NO_RECORD, err, fail, out, usage};
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
    // What the command line names is checked before the journal is opened: a usage error.
    let checked = match &args.command {
        JournalCommand::Show { order_id } | JournalCommand::Resolve { order_id, .. } => {
            dajisaas::validate_order_id(order_id, "order id")
        }
        JournalCommand::List { state } => state.as_deref().map(State::parse).transpose().map(drop),
        JournalCommand::Pace => Ok(()),
    };
    checked.map_err(|e| usage(&e, as_json))?;
    // The records of the gateway and app a client of them would see.
    let app_key = args.app_key.as_deref().ok_or_else(|| {
        usage(
            &Error::invalid(
                "a journal's records belong to one gateway and app: pass --app-key (or set \
                 DAJISAAS_APP_KEY), and --base-url (DAJISAAS_BASE_URL) for a gateway other than \
                 the production one",
            ),
            as_json,
        )
    })?;
    if let JournalCommand::Resolve { paid, not_paid, .. } = &args.command {
        if paid == not_paid {
            use clap::CommandFactory;
            let mut daji = crate::Cli::command();
            daji.build();
            let mut resolve = daji
                .find_subcommand_mut("journal")
                .and_then(|journal| journal.find_subcommand_mut("resolve"))
                .cloned()
                .unwrap_or_default();
            resolve
                .error(
                    clap::error::ErrorKind::MissingRequiredArgument,
                    "journal resolve needs exactly one of --paid (the order was charged: the \
                     journal then replays it) or --not-paid (it was not: it can be paid again)",
                )
                .exit();
        }
    }
    // A journal URL that cannot be used is the command line's too.
    let store = match &args.journal {
        Some(url) => Ok(url.clone()),
        None => default_url(),
    }
    .and_then(|url| open_journal(&url))
    .and_then(|store| match (&args.command, store.pace()) {
        (JournalCommand::Pace, None) => Err(Error::invalid(format!(
            "journal {} keeps no shared pace: with a memory journal each process paces itself \
             (a SQLite or PostgreSQL journal shares one pace between processes)",
            store.url()
        ))),
        _ => Ok(store),
    })
    .map_err(|e| usage(&e, as_json))?;
    let scope = Scope::new(
        args.base_url
            .as_deref()
            .unwrap_or(dajisaas::DEFAULT_BASE_URL),
        app_key,
    );
    let outcome = (|| -> dajisaas::Result<bool> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::invalid(format!("could not start a runtime: {e}")))?;
        runtime.block_on(command(&*store, &scope, &args.command, as_json))
    })();
    match outcome {
        Ok(true) => Ok(()),
        Ok(false) => Err(ExitCode::from(NO_RECORD)),
        Err(e) => Err(fail(&e, as_json)),
    }
}

/// Runs the command; false when `show` found no record.
async fn command(
    store: &dyn JournalStore,
    scope: &Scope,
    command: &JournalCommand,
    as_json: bool,
) -> dajisaas::Result<bool> {
    match command {
        JournalCommand::Show { order_id } => match store.get(scope, order_id).await? {
            Some(record) => show_one(&record, as_json),
            None => {
                err(&format!("no record of order {order_id} in {}", store.url()));
                return Ok(false);
            }
        },
        JournalCommand::List { state } => {
            let state = state.as_deref().map(State::parse).transpose()?;
            let records = store.list(scope, state).await?;
            if as_json {
                let all: Vec<Value> = records.iter().map(PaymentRecord::to_json).collect();
                out(&Value::Array(all).to_string());
            } else {
                // A closed stdout (`| head`) ends the listing quietly.
                let _ = records.iter().all(|r| out(&line(r)));
            }
        }
        JournalCommand::Resolve {
            order_id,
            paid,
            note,
            ..
        } => {
            let by = Resolver::this_process();
            let record = store.resolve(scope, order_id, *paid, note, &by).await?;
            show_one(&record, as_json);
        }
        JournalCommand::Pace => show_pace(store, scope, as_json).await?,
    }
    Ok(true)
}

async fn show_pace(store: &dyn JournalStore, scope: &Scope, as_json: bool) -> dajisaas::Result<()> {
    let pace = store
        .pace()
        .ok_or_else(|| Error::invalid("this journal keeps no shared pace"))?;
    let row = pace.read_pace(scope).await?;
    if as_json {
        out(&row
            .as_ref()
            .map_or(Value::Null, PaceRow::to_json)
            .to_string());
        return Ok(());
    }
    let Some(row) = row else {
        out(&format!(
            "no call of app {} to {} has been paced through {} yet",
            scope.app_key,
            scope.gateway,
            store.url()
        ));
        return Ok(());
    };
    let last = row.last_second(std::time::Duration::ZERO);
    let adaptive = match (row.adaptive, row.estimate) {
        (Some(rate), Some(limit)) => {
            format!("{rate:.1} calls/s (the gateway's limit estimated at {limit:.0} calls/s)")
        }
        (Some(rate), None) => format!("{rate:.1} calls/s"),
        (None, _) => "none (each client's max_calls_per_second applies)".into(),
    };
    out(&format!("adaptive rate: {adaptive}"));
    out(&format!("next free slot: in {} ms", row.wait.as_millis()));
    out(&format!(
        "last second: {} calls started, {} answered, {} refused for their frequency",
        last.started, last.answered, last.refused
    ));
    Ok(())
}

/// One record: its JSON object, or its line.
fn show_one(record: &PaymentRecord, as_json: bool) {
    if as_json {
        out(&record.to_json().to_string());
    } else {
        out(&line(record));
    }
}

fn line(r: &PaymentRecord) -> String {
    format!(
        "{}  {:<9} {} attempt(s), traceId {}{}",
        r.order_id,
        r.state.as_str(),
        r.attempts,
        r.last_trace_id().unwrap_or("-"),
        r.message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default()
    )
}

//! The payment journal (JOURNAL.md): what the library knows about each order's payment, kept so
//! that an order is never paid twice, across cancelled calls, clients, processes and machines.
//!
//! One trait, [`JournalStore`], and three stores chosen by URL with [`open_journal`]:
//!
//! | URL | store | shared by |
//! | --- | --- | --- |
//! | `memory` (or empty) | one map per process | every client of the process |
//! | `sqlite:///abs/path/payments.db` | SQLite (WAL, `BEGIN IMMEDIATE` claims) | the processes of one machine |
//! | `postgres://user@host:port/db?sslmode=require` | PostgreSQL (row locks, `ON CONFLICT`) | every machine |
//!
//! Every store runs the same state machine (this module's `Op::apply`) inside one atomic step
//! (a mutex, a SQLite write transaction, a PostgreSQL transaction holding the row's lock), so
//! the three behave identically.

mod history;
mod machine;
mod memory;
mod pace;
mod postgres;
#[cfg(test)]
mod protocol_model;
mod row;
mod scope;
mod sqlite;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::error::{Error, ErrorCode, Result};
use crate::model::Payment;
use crate::order_id::validate_order_id;
use crate::per_process::PerProcess;

pub(crate) use machine::{Change, Op, Reply, Stored};
pub(crate) use row::{COLUMN_COUNT, COLUMNS, RowValues};

pub use history::{MAX_NOTE_BYTES, Resolution, Resolver};
pub use memory::MemoryJournal;
pub use pace::{Counts, Lowering, PaceRow, PaceStore, SlotAsk};
pub use scope::Scope;

use history::history_from_value;
pub(crate) use history::validate_note;

/// The schema version this library writes. A store carrying a newer one is refused
/// (`invalid_argument`), never downgraded; an older one is migrated (version 1 had no scopes:
/// its records keep [`Scope::legacy`]).
pub const JOURNAL_SCHEMA_VERSION: i64 = 3;

/// The deadline of one journal operation when none is configured (`journal_timeout_ms`).
pub const DEFAULT_JOURNAL_TIMEOUT: Duration = Duration::from_secs(5);

/// The journal used when none is configured.
pub const DEFAULT_JOURNAL: &str = "memory";

/// A boxed future returned by the [`JournalStore`] methods (keeps the trait object-safe).
pub type JournalFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'a>>;

/// The state of an order's payment in the journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// A payment of the order is under way (claimed by `owner` until `lease_until`).
    InFlight,
    /// Deducted, confirmed (by the gateway or by a resolution).
    Paid,
    /// The gateway did not initiate the deduction; paying again is a new payment.
    Declined,
    /// The money may have been taken: the order must be checked and resolved before paying again.
    Unknown,
    /// An unknown outcome was resolved as not paid; paying again is allowed.
    NotPaid,
}

impl State {
    /// Every state.
    pub const ALL: [State; 5] = [
        State::InFlight,
        State::Paid,
        State::Declined,
        State::Unknown,
        State::NotPaid,
    ];

    /// The state's stable name: `in_flight`, `paid`, `declined`, `unknown`, `not_paid`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::InFlight => "in_flight",
            State::Paid => "paid",
            State::Declined => "declined",
            State::Unknown => "unknown",
            State::NotPaid => "not_paid",
        }
    }

    /// The state with this name; anything else is an `invalid_argument` listing the names.
    pub fn parse(name: &str) -> Result<State> {
        State::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown payment state {name:?}: expected one of in_flight, paid, declined, \
                     unknown, not_paid"
                ))
            })
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who claimed an order: the machine, the process, and a random id.
///
/// [`Owner::this_process`] is the owner every client of a process uses: the id is drawn once per
/// process (again after a `fork()`), so a restarted process that gets the same pid on the same
/// host is still another owner.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Owner {
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// A random id drawn once per process.
    pub client_id: String,
}

impl Owner {
    /// The owner of this process's payments (cached; drawn anew when the pid changes).
    pub fn this_process() -> Owner {
        static CURRENT: PerProcess<Owner> = PerProcess::new(|_| {
            let pid = std::process::id();
            Owner {
                host: host_name(),
                pid,
                client_id: random_id(pid),
            }
        });
        CURRENT.get().clone()
    }

    /// The owner as JSON: `{"host","pid","clientId"}`.
    pub fn to_json(&self) -> Value {
        json!({"host": self.host, "pid": self.pid, "clientId": self.client_id})
    }

    fn from_json(value: &Value) -> Option<Owner> {
        Some(Owner {
            host: value.get("host")?.as_str()?.to_string(),
            pid: u32::try_from(value.get("pid")?.as_u64()?).ok()?,
            client_id: value.get("clientId")?.as_str()?.to_string(),
        })
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} pid {} ({})", self.host, self.pid, self.client_id)
    }
}

/// One claim of an order: its owner and the claim's own id, drawn fresh for every claim. Every
/// step after the claim (fence, outcome, release) must name the same id: once a resolution or
/// a newer claim replaced it, the late holder can neither send nor record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    /// The process that claimed.
    pub owner: Owner,
    /// This claim's id.
    pub claim_id: String,
}

impl Holder {
    /// A new claim of `owner`, with a fresh id.
    pub fn new(owner: Owner) -> Holder {
        Holder {
            claim_id: random_id(owner.pid),
            owner,
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        .or_else(|| std::env::var("COMPUTERNAME").ok().filter(|s| !s.is_empty()))
        .unwrap_or_else(|| "unknown-host".to_string())
}

fn random_id(pid: u32) -> String {
    // fastrand's state is copied into a forked child: mix in the pid and the clock so that a
    // parent and its child never draw the same id.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut rng = fastrand::Rng::with_seed(fastrand::u64(..) ^ nanos ^ (u64::from(pid) << 32));
    format!("{:016x}", rng.u64(..))
}

/// What the journal knows about one order's payment. Times are UTC.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PaymentRecord {
    /// The gateway and app the record belongs to.
    pub scope: Scope,
    /// The 1688 order id.
    pub order_id: String,
    /// The id of the current or last claim (see [`Holder`]); a resolution draws a new one.
    pub claim_id: Option<String>,
    /// Where the order's payment stands.
    pub state: State,
    /// Requests sent in the last payment.
    pub attempts: u32,
    /// Every gateway `traceId` seen for this order's payments, oldest first.
    pub trace_ids: Vec<String>,
    /// Where the money came from, when the gateway said (paid orders).
    pub pay_channel: Option<String>,
    /// The code of the last failure (`payment_declined`, `payment_outcome_unknown`, ...).
    pub error_code: Option<String>,
    /// The message of the last failure.
    pub message: Option<String>,
    /// The gateway's `data` object of the successful payment (what a replay returns).
    pub data: Option<Value>,
    /// Who made (or is making) the order's last payment.
    pub owner: Owner,
    /// Until when the owner's claim holds (only while `in_flight`).
    pub lease_until: Option<SystemTime>,
    /// When the order entered the journal.
    pub created_at: SystemTime,
    /// When the record last changed.
    pub updated_at: SystemTime,
    /// Every resolution of the order, oldest first.
    pub history: Vec<Resolution>,
}

impl PaymentRecord {
    /// True for an `in_flight` record whose lease ran out at `now`: its owner is presumed dead.
    pub fn lease_expired_at(&self, now: SystemTime) -> bool {
        self.state == State::InFlight && self.lease_until.is_none_or(|until| until <= now)
    }

    /// The gateway `traceId` of the last payment request recorded (the paying one, for `paid`).
    pub fn last_trace_id(&self) -> Option<&str> {
        self.trace_ids.last().map(String::as_str)
    }

    /// The record as the JSON object every language shows: `{"gateway","appKey","orderId",
    /// "claimId","state","attempts","traceIds","payChannel","errorCode","message","data",
    /// "owner":{"host","pid","clientId"},"leaseUntil","createdAt","updatedAt","history":[...]}`,
    /// times as RFC 3339 UTC strings with milliseconds (`2025-01-31T08:00:00.000Z`), history
    /// entries as [`Resolution::to_json`] writes them.
    pub fn to_json(&self) -> Value {
        json!({
            "gateway": self.scope.gateway,
            "appKey": self.scope.app_key,
            "orderId": self.order_id,
            "claimId": self.claim_id,
            "state": self.state.as_str(),
            "attempts": self.attempts,
            "traceIds": self.trace_ids,
            "payChannel": self.pay_channel,
            "errorCode": self.error_code,
            "message": self.message,
            "data": self.data,
            "owner": self.owner.to_json(),
            "leaseUntil": self.lease_until.map(format_time),
            "createdAt": format_time(self.created_at),
            "updatedAt": format_time(self.updated_at),
            "history": self.history.iter().map(Resolution::to_json).collect::<Vec<_>>(),
        })
    }

    /// A record read back from [`PaymentRecord::to_json`].
    pub fn from_json(value: &Value) -> Result<PaymentRecord> {
        let bad = |what: &str| Error::invalid(format!("not a payment record: {what}"));
        let text = |name: &str| -> Result<Option<String>> {
            match value.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(bad(name)),
            }
        };
        let time = |name: &str| -> Result<Option<SystemTime>> {
            text(name)?
                .map(|s| parse_time(&s).ok_or_else(|| bad(name)))
                .transpose()
        };
        let trace_ids = match value.get("traceIds") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad("traceIds"))
                })
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(bad("traceIds")),
        };
        Ok(PaymentRecord {
            scope: Scope {
                gateway: text("gateway")?.unwrap_or_default(),
                app_key: text("appKey")?.unwrap_or_default(),
            },
            order_id: text("orderId")?.ok_or_else(|| bad("orderId"))?,
            claim_id: text("claimId")?,
            state: State::parse(&text("state")?.ok_or_else(|| bad("state"))?)?,
            attempts: value
                .get("attempts")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .ok_or_else(|| bad("attempts"))?,
            trace_ids,
            pay_channel: text("payChannel")?,
            error_code: text("errorCode")?,
            message: text("message")?,
            data: value.get("data").filter(|v| !v.is_null()).cloned(),
            owner: value
                .get("owner")
                .and_then(Owner::from_json)
                .ok_or_else(|| bad("owner"))?,
            lease_until: time("leaseUntil")?,
            created_at: time("createdAt")?.ok_or_else(|| bad("createdAt"))?,
            updated_at: time("updatedAt")?.ok_or_else(|| bad("updatedAt"))?,
            history: match value.get("history") {
                None | Some(Value::Null) => Vec::new(),
                Some(h) => history_from_value(h).ok_or_else(|| bad("history"))?,
            },
        })
    }
}

/// What a claim found, and what the caller of `prepare_pay` does next.
#[derive(Debug, Clone, PartialEq)]
pub enum ClaimOutcome {
    /// The caller now owns the order's payment (`in_flight`): send, then
    /// [`JournalStore::record_outcome`] or [`JournalStore::release`].
    Claimed(PaymentRecord),
    /// A payment of the order is under way by this same owner (this process): wait for its
    /// outcome in the process; send nothing.
    InProgressHere(PaymentRecord),
    /// A payment of the order is under way by another owner whose lease is alive: fail with
    /// `payment_in_progress`; send nothing.
    InProgress(PaymentRecord),
    /// The order is paid: return the recorded payment (`replayed`); send nothing.
    Paid(PaymentRecord),
    /// The money may have been taken (`unknown`, or an `in_flight` claim whose lease expired,
    /// which this claim has just turned `unknown`): fail with `payment_outcome_unknown`.
    Unknown(PaymentRecord),
}

impl ClaimOutcome {
    /// The record as the claim left it.
    pub fn record(&self) -> &PaymentRecord {
        match self {
            ClaimOutcome::Claimed(r)
            | ClaimOutcome::InProgressHere(r)
            | ClaimOutcome::InProgress(r)
            | ClaimOutcome::Paid(r)
            | ClaimOutcome::Unknown(r) => r,
        }
    }

    /// The error `prepare_pay` fails with for this outcome: `payment_in_progress` for
    /// [`ClaimOutcome::InProgress`], `payment_outcome_unknown` (naming `resolve_payment`) for
    /// [`ClaimOutcome::Unknown`]; `None` for the others.
    pub fn refusal(&self) -> Option<Error> {
        match self {
            ClaimOutcome::InProgress(r) => Some(Error::new(
                ErrorCode::PaymentInProgress,
                format!(
                    "a payment of order {} is under way by {} (claimed until {}); nothing was \
                     sent: wait for its outcome",
                    r.order_id,
                    r.owner,
                    r.lease_until.map(format_time).unwrap_or_default()
                ),
            )),
            ClaimOutcome::Unknown(r) => {
                let last = r
                    .message
                    .as_deref()
                    .map(|m| format!(" (last: {m})"))
                    .unwrap_or_default();
                Some(Error::new(
                    ErrorCode::PaymentOutcomeUnknown,
                    format!(
                        "the outcome of order {}'s last payment is unknown{last}; nothing was \
                         sent. The money may have been taken: check the order, then record what \
                         happened (resolve_payment, or daji journal resolve {} --paid|--not-paid)",
                        r.order_id, r.order_id
                    ),
                ))
            }
            _ => None,
        }
        .map(|e| e.with_trace_id(self.record().trace_ids.last().cloned()))
    }
}

/// How a payment ended, as recorded by its holder.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Deducted, confirmed, or the gateway answered that the order was already paid.
    Paid {
        /// Requests sent.
        attempts: u32,
        /// The gateway `traceId`s seen, the paying one last.
        trace_ids: Vec<String>,
        /// Where the money came from.
        pay_channel: Option<String>,
        /// The gateway's `data` object, for replays.
        data: Option<Value>,
        /// The gateway's word was "already paid" (recorded in the record's `message`).
        already_paid: bool,
    },
    /// The deduction was not initiated, after every allowed attempt.
    Declined {
        /// Requests sent.
        attempts: u32,
        /// The gateway `traceId`s seen.
        trace_ids: Vec<String>,
        /// The failure's code (normally `payment_declined`).
        error_code: String,
        /// The failure's message.
        message: String,
    },
    /// The money may have been taken.
    Unknown {
        /// Requests sent.
        attempts: u32,
        /// The gateway `traceId`s seen.
        trace_ids: Vec<String>,
        /// The failure's code (normally `payment_outcome_unknown`).
        error_code: String,
        /// The failure's message.
        message: String,
    },
}

impl Outcome {
    /// The outcome of a completed payment.
    pub fn from_payment(payment: &Payment) -> Outcome {
        Outcome::Paid {
            attempts: payment.attempts,
            trace_ids: payment.trace_id.iter().cloned().collect(),
            pay_channel: payment.pay_channel.clone(),
            data: Some(payment.data.clone()),
            already_paid: payment.already_paid,
        }
    }

    /// The outcome of a failed payment, or `None` for a failure that surely deducted nothing
    /// and leaves the order as it was (`invalid_argument`, `connection` or `timeout` before
    /// sending, `rate_limited`, `api` refusals, `http_status`, `payment_in_progress`,
    /// `order_not_payable`, `journal`): release the claim then. `payment_declined` is
    /// [`Outcome::Declined`]; anything else (`payment_outcome_unknown`, and, to be safe,
    /// `decode` and `internal`) is [`Outcome::Unknown`].
    pub fn from_error(error: &Error) -> Option<Outcome> {
        let trace_ids: Vec<String> = error.trace_id().map(str::to_string).into_iter().collect();
        let attempts = error.attempts();
        let error_code = error.code().as_str().to_string();
        let message = error.message().to_string();
        // prepare_pay reports every failure that may have had an effect as
        // payment_outcome_unknown, so a `timeout` or `connection` it returns is one that sent
        // nothing (a connect that failed or ran out of time); a `journal` error is a fence that
        // held the request back (an earlier attempt's decline is reported as the decline).
        // A call given up before its request was written sent nothing either.
        if error.is_given_up() {
            return None;
        }
        match error.code() {
            ErrorCode::InvalidArgument
            | ErrorCode::Connection
            | ErrorCode::Timeout
            | ErrorCode::RateLimited
            | ErrorCode::Api
            | ErrorCode::HttpStatus
            | ErrorCode::PaymentInProgress
            | ErrorCode::OrderNotPayable
            | ErrorCode::Journal => None,
            ErrorCode::PaymentDeclined => Some(Outcome::Declined {
                attempts,
                trace_ids,
                error_code,
                message,
            }),
            _ => Some(Outcome::Unknown {
                attempts,
                trace_ids,
                error_code,
                message,
            }),
        }
    }

    fn state(&self) -> State {
        match self {
            Outcome::Paid { .. } => State::Paid,
            Outcome::Declined { .. } => State::Declined,
            Outcome::Unknown { .. } => State::Unknown,
        }
    }
}

/// A payment journal: the per-order records `prepare_pay` consults and updates, each within one
/// [`Scope`]. Every method is one atomic step of the store. Obtain one with [`open_journal`].
///
/// The futures do nothing until polled. Drive a claim and what follows it to the end (in a
/// task the core owns, not in the caller's future): a step dropped midway may still have
/// happened, and a claim nobody follows up expires into `unknown`.
pub trait JournalStore: Send + Sync + fmt::Debug {
    /// The store's URL without any password (`memory`, `sqlite:///…`, `postgres://user@host/db`).
    fn url(&self) -> &str;

    /// Connects and creates or checks the schema now, rather than at the first call.
    fn check(&self) -> JournalFuture<'_, ()>;

    /// Claims the order's payment for `holder` for `lease`, following JOURNAL.md's table: no
    /// record, `declined` or `not_paid` → [`ClaimOutcome::Claimed`] under `holder.claim_id`;
    /// see [`ClaimOutcome`] for the rest.
    fn claim<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        lease: Duration,
    ) -> JournalFuture<'a, ClaimOutcome>;

    /// The fence before a request is written, and the lease's renewal: confirms that the row
    /// still holds `holder`'s claim, `in_flight`, with at least a safety margin (a quarter of
    /// `lease`, at most 2 s) of its lease left by the store's clock, and extends the lease to
    /// `lease` from now. Refused otherwise: `payment_in_progress` when another claim holds the
    /// order, `journal` when the claim was lost (expired, resolved, recorded).
    fn fence<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        lease: Duration,
    ) -> JournalFuture<'a, PaymentRecord>;

    /// Records how the holder's payment ended. Only under the same claim id, while it is
    /// `in_flight`, or after its lease expired and turned it `unknown` (nobody has resolved it
    /// yet): the holder's word then replaces the guess. Otherwise `invalid_argument`, and the
    /// newer record stays.
    fn record_outcome<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        outcome: Outcome,
    ) -> JournalFuture<'a, PaymentRecord>;

    /// Gives up the holder's claim after a failure that surely sent nothing: the order's record
    /// is restored to what it was before the claim (removed if the claim created it). Returns
    /// the restored record. Same rule as [`JournalStore::record_outcome`].
    fn release<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
    ) -> JournalFuture<'a, Option<PaymentRecord>>;

    /// The order's record in `scope`, if it has one.
    fn get<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
    ) -> JournalFuture<'a, Option<PaymentRecord>>;

    /// Every record of `scope`, or those in one state, oldest first (records from before
    /// scopes, [`Scope::legacy`], are listed in every scope).
    fn list<'a>(
        &'a self,
        scope: &'a Scope,
        state: Option<State>,
    ) -> JournalFuture<'a, Vec<PaymentRecord>>;

    /// Records what a person or program found after checking the order, appending it to the
    /// record's history: `paid` true sets `paid`, false `not_paid`. Allowed from `unknown`, an
    /// `in_flight` claim whose lease expired, as a correction (`paid` ↔ `not_paid`, `declined`
    /// → `paid`), and `paid` for an order the journal never saw (paid outside the library).
    /// Anything else is an `invalid_argument` naming the state; so is a note over
    /// [`MAX_NOTE_BYTES`] or with NUL, before the store is touched.
    fn resolve<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        paid: bool,
        note: &'a str,
        by: &'a Resolver,
    ) -> JournalFuture<'a, PaymentRecord>;

    /// The fleet's pace kept in this store, shared by every client of every process that uses
    /// it (SQLite, PostgreSQL); `None` for a store that keeps none (memory: a process paces
    /// itself).
    fn pace(&self) -> Option<&dyn PaceStore> {
        None
    }
}

/// Opens the journal a URL names: `memory` (or an empty string) is this process's one memory
/// journal, shared by every client; `sqlite:///abs/path.db` a SQLite file (created with its
/// schema if missing); `postgres://…` or `postgresql://…` a PostgreSQL database (connected at
/// the first call, or by [`JournalStore::check`]).
///
/// PostgreSQL TLS: `sslmode=require` (or `verify-full`/`verify-ca`: the same here) is rustls
/// verifying the certificate chain and host name against the system's roots, or against the PEM
/// file `sslrootcert=/abs/ca.pem`; `sslmode=disable` or no `sslmode` is plain TCP; `prefer` and
/// `allow` are refused, since they fall back to plain text silently. A journal keeps up to 4
/// connections, each driven by a thread of its own; times (leases) come from the database's
/// clock.
///
/// Every operation of a SQLite or PostgreSQL journal is bounded by [`DEFAULT_JOURNAL_TIMEOUT`]
/// (see [`open_journal_with_timeout`]).
///
/// Errors: `invalid_argument` for a URL of another scheme, a relative or empty SQLite path, a
/// malformed PostgreSQL URL, an unreadable `sslrootcert` or a newer schema; `journal` when a
/// SQLite file cannot be opened or read (PostgreSQL: at the first call or
/// [`JournalStore::check`]).
pub fn open_journal(url: &str) -> Result<Arc<dyn JournalStore>> {
    open_journal_with_timeout(url, DEFAULT_JOURNAL_TIMEOUT)
}

/// [`open_journal`] with the deadline of every operation: a SQLite busy wait, a PostgreSQL
/// connect (TCP, TLS and startup together), statement and commit. What does not answer in time
/// is a `journal` error, and its connection is never used again.
pub fn open_journal_with_timeout(url: &str, timeout: Duration) -> Result<Arc<dyn JournalStore>> {
    let trimmed = url.trim();
    if trimmed.is_empty() || trimmed == DEFAULT_JOURNAL {
        return Ok(MemoryJournal::shared());
    }
    if let Some(name) = trimmed.strip_prefix("memory:") {
        if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::invalid(format!(
                "journal {trimmed:?}: a memory journal's name must be non-empty, without spaces"
            )));
        }
        return Ok(MemoryJournal::named(name));
    }
    let scheme = trimmed.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
    match scheme.as_deref() {
        Some("sqlite") => Ok(Arc::new(sqlite::SqliteJournal::open(trimmed, timeout)?)),
        Some("postgres" | "postgresql") => {
            Ok(Arc::new(postgres::PostgresJournal::open(trimmed, timeout)?))
        }
        _ => Err(Error::invalid(format!(
            "journal {:?}: expected \"memory\", \"memory:NAME\", \"sqlite:///absolute/path.db\" \
             or \"postgres://user@host:port/database\"",
            redact(trimmed)
        ))),
    }
}

/// A URL with any password replaced by `***`, for messages.
fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            let tail = redact_query(tail);
            return format!("{scheme}://{masked}@{host}{tail}");
        }
        return format!("{scheme}://{authority}{}", redact_query(tail));
    }
    url.to_string()
}

fn redact_query(tail: &str) -> String {
    match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_string(),
    }
}

// ----- times -----

pub(crate) fn now_millis() -> i64 {
    to_millis(SystemTime::now())
}

pub(crate) fn to_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
    }
}

pub(crate) fn from_millis(ms: i64) -> SystemTime {
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

/// `2025-01-31T08:00:00.000Z`.
pub(crate) fn format_time(t: SystemTime) -> String {
    let ms = to_millis(t);
    let (days, in_day) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, m, d) = civil_from_days(days);
    let (h, min, s, milli) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{milli:03}Z")
}

/// Parses what [`format_time`] writes (`Z` only; fraction optional, up to milliseconds kept).
pub(crate) fn parse_time(s: &str) -> Option<SystemTime> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut date_parts = date.split('-');
    let y: i64 = date_parts.next()?.parse().ok()?;
    let m: i64 = date_parts.next()?.parse().ok()?;
    let d: i64 = date_parts.next()?.parse().ok()?;
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut time_parts = hms.split(':');
    let h: i64 = time_parts.next()?.parse().ok()?;
    let min: i64 = time_parts.next()?.parse().ok()?;
    let sec: i64 = time_parts.next()?.parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || min > 59 || sec > 60 {
        return None;
    }
    if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let milli: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
    let days = days_from_civil(y, m, d);
    Some(from_millis(
        ((days * 24 + h) * 60 + min) * 60_000 + sec * 1000 + milli,
    ))
}

// Howard Hinnant's civil calendar algorithms.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

// ----- what every store shares -----

/// A store's atomic primitive: run `op` on the order's row (the scope's own, or else one from
/// before scopes) under the store's lock, writing what it changes under `scope`; plus reads.
pub(crate) trait Backend: Send + Sync + fmt::Debug + 'static {
    fn url(&self) -> &str;
    fn check(&self) -> JournalFuture<'_, ()>;
    fn mutate(&self, scope: Scope, order_id: String, op: Op) -> JournalFuture<'_, Reply>;
    fn get(&self, scope: Scope, order_id: String) -> JournalFuture<'_, Option<PaymentRecord>>;
    fn list(&self, scope: Scope, state: Option<State>) -> JournalFuture<'_, Vec<PaymentRecord>>;
    fn pace(&self) -> Option<&dyn PaceStore> {
        None
    }
}

fn run<'a, B: Backend>(
    backend: &'a B,
    scope: &Scope,
    order_id: &str,
    op: Op,
) -> JournalFuture<'a, Reply> {
    if let Err(e) = op.validate(order_id) {
        return Box::pin(std::future::ready(Err(e)));
    }
    backend.mutate(scope.clone(), order_id.to_string(), op)
}

impl<B: Backend> JournalStore for B {
    fn url(&self) -> &str {
        Backend::url(self)
    }

    fn check(&self) -> JournalFuture<'_, ()> {
        Backend::check(self)
    }

    fn claim<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        lease: Duration,
    ) -> JournalFuture<'a, ClaimOutcome> {
        let op = Op::Claim {
            holder: holder.clone(),
            lease,
        };
        let reply = run(self, scope, order_id, op);
        Box::pin(async move { reply.await?.into_claim() })
    }

    fn fence<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        lease: Duration,
    ) -> JournalFuture<'a, PaymentRecord> {
        let op = Op::Fence {
            holder: holder.clone(),
            lease,
        };
        let reply = run(self, scope, order_id, op);
        Box::pin(async move { expect_record(reply.await?.into_record()?) })
    }

    fn record_outcome<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
        outcome: Outcome,
    ) -> JournalFuture<'a, PaymentRecord> {
        let op = Op::Record {
            holder: holder.clone(),
            outcome,
        };
        let reply = run(self, scope, order_id, op);
        Box::pin(async move { expect_record(reply.await?.into_record()?) })
    }

    fn release<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        holder: &'a Holder,
    ) -> JournalFuture<'a, Option<PaymentRecord>> {
        let op = Op::Release {
            holder: holder.clone(),
        };
        let reply = run(self, scope, order_id, op);
        Box::pin(async move { reply.await?.into_record() })
    }

    fn get<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
    ) -> JournalFuture<'a, Option<PaymentRecord>> {
        if let Err(e) = validate_order_id(order_id, "orderId") {
            return Box::pin(std::future::ready(Err(e)));
        }
        Backend::get(self, scope.clone(), order_id.to_string())
    }

    fn list<'a>(
        &'a self,
        scope: &'a Scope,
        state: Option<State>,
    ) -> JournalFuture<'a, Vec<PaymentRecord>> {
        Backend::list(self, scope.clone(), state)
    }

    fn resolve<'a>(
        &'a self,
        scope: &'a Scope,
        order_id: &'a str,
        paid: bool,
        note: &'a str,
        by: &'a Resolver,
    ) -> JournalFuture<'a, PaymentRecord> {
        let op = Op::Resolve {
            paid,
            note: note.to_string(),
            by: by.clone(),
        };
        let reply = run(self, scope, order_id, op);
        Box::pin(async move { expect_record(reply.await?.into_record()?) })
    }

    fn pace(&self) -> Option<&dyn PaceStore> {
        Backend::pace(self)
    }
}

fn expect_record(record: Option<PaymentRecord>) -> Result<PaymentRecord> {
    record.ok_or_else(|| Error::new(ErrorCode::Internal, "journal: the step returned no record"))
}

/// `step` within the journal's deadline: what does not answer in time is a `journal` error.
/// (Outside a tokio runtime a step runs inline, bounded by the store's own timeouts.)
pub(crate) async fn bounded<T>(
    deadline: Duration,
    url: &str,
    step: impl Future<Output = Result<T>>,
) -> Result<T> {
    if tokio::runtime::Handle::try_current().is_err() {
        return step.await;
    }
    match tokio::time::timeout(deadline, step).await {
        Ok(result) => result,
        Err(_) => Err(no_answer(url, deadline)),
    }
}

/// The error of a journal step that did not answer within `deadline`.
pub(crate) fn no_answer(url: &str, deadline: Duration) -> Error {
    Error::new(
        ErrorCode::Journal,
        format!(
            "journal {url}: no answer within {} ms (journal_timeout_ms)",
            deadline.as_millis()
        ),
    )
}

/// Of the rows found for an order (its scope's, and one from before scopes), the one that
/// answers: the scope's own first.
pub(crate) fn scoped_first(mut rows: Vec<Stored>) -> Option<Stored> {
    rows.sort_by_key(|stored| stored.record.scope.is_legacy());
    rows.into_iter().next()
}

/// Decodes `%XX` escapes; `None` for a bad escape or bytes that are not UTF-8.
pub(crate) fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The order of [`JournalStore::list`]: oldest first, then by order id.
pub(crate) fn sort_records(records: &mut [PaymentRecord]) {
    records.sort_by(|a, b| (a.created_at, &a.order_id).cmp(&(b.created_at, &b.order_id)));
}

/// The error for a store whose schema is newer than this library's.
pub(crate) fn newer_schema(url: &str, version: i64) -> Error {
    Error::invalid(format!(
        "journal {url}: its schema version is {version}, newer than this library's \
         {JOURNAL_SCHEMA_VERSION}: upgrade the library (the journal is never downgraded)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_round_trip_as_rfc3339_utc() {
        for ms in [
            0,
            1,
            999,
            1_700_000_000_123,
            4_102_444_800_000,
            951_782_400_000,
        ] {
            let t = from_millis(ms);
            let text = format_time(t);
            assert_eq!(parse_time(&text), Some(t), "{text}");
        }
        assert_eq!(format_time(from_millis(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_time(from_millis(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            parse_time("2000-02-29T00:00:00Z"),
            Some(from_millis(951_782_400_000))
        );
        assert_eq!(parse_time("2000-13-01T00:00:00Z"), None);
        assert_eq!(parse_time("2000-01-01 00:00:00"), None);
    }

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact("postgres://me:secret@db:5432/x?sslmode=require"),
            "postgres://me:***@db:5432/x?sslmode=require"
        );
        assert_eq!(
            redact("postgres://db/x?password=secret&a=b"),
            "postgres://db/x?password=***&a=b"
        );
        assert_eq!(redact("sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
    }

    #[test]
    fn owner_is_stable_per_process() {
        let a = Owner::this_process();
        let b = Owner::this_process();
        assert_eq!(a, b);
        assert_eq!(a.pid, std::process::id());
        assert_eq!(a.client_id.len(), 16);
    }
}

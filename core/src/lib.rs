//! # dajisaas
//!
//! A client for the Dajisaas gateway in front of 1688.com: signs requests the gateway's way,
//! fetches batch payment links and makes password-free payments with retries that can never pay
//! an order twice, and reaches every other endpoint through one generic signed call.
//!
//! ```no_run
//! let client = dajisaas::Client::from_env()?;
//! let link = client.pay_url(&["2257455039610311973"])?;
//! println!("{} (traceId {:?})", link.url, link.trace_id);
//! match client.prepare_pay("2257455039610311973") {
//!     Ok(payment) => println!("paid via {:?} in {} attempt(s)", payment.pay_channel, payment.attempts),
//!     Err(e) if e.code() == dajisaas::ErrorCode::PaymentOutcomeUnknown => {
//!         eprintln!("check the order before paying again: {e}")
//!     }
//!     Err(e) => eprintln!("not paid: {e}"),
//! }
//! # Ok::<(), dajisaas::Error>(())
//! ```
//!
//! The Python, Node and C libraries are thin skins over this crate and share its error model
//! ([`ErrorCode`]).
#![warn(missing_docs)]

mod batch;
mod cancel;
mod client;
mod config;
mod envelope;
mod error;
#[cfg(feature = "ffi")]
pub mod ffi;
mod fleet_pace;
mod gateway_words;
mod journal;
mod limiter;
mod model;
mod options;
mod order_id;
mod pay_many;
mod pay_once;
mod pay_url;
mod payment_log;
mod pending;
mod per_process;
mod prepare_pay;
#[cfg(test)]
mod properties;
mod request;
mod retry;
mod runtime;
mod sign;
mod signals;
mod transport;

pub use batch::{PayManyItem, PayManyReport, PayManySummary, PaymentOutcome, most_serious_failure};
pub use cancel::Cancel;
pub use client::{AsyncClient, Client, Started};
pub use config::{
    ClientBuilder, Config, DEFAULT_BASE_URL, ENV_APP_KEY, ENV_APP_SECRET, ENV_BASE_URL,
    MAX_RETRIES_LIMIT, Secret,
};
pub use error::{Error, ErrorCode, Result, catch_panic};
pub use journal::{
    ClaimOutcome, Counts, DEFAULT_JOURNAL, DEFAULT_JOURNAL_TIMEOUT, Holder, JOURNAL_SCHEMA_VERSION,
    JournalFuture, JournalStore, Lowering, MAX_NOTE_BYTES, MemoryJournal, Outcome, Owner, PaceRow,
    PaceStore, PaymentRecord, Resolution, Resolver, Scope, SlotAsk, State, open_journal,
    open_journal_with_timeout,
};
pub use limiter::MAX_CALLS_PER_SECOND_LIMIT;
pub use model::{PayUrl, Payment};
pub use options::{
    Casing, ClientOptions, DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP, DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_MAX_CONCURRENT_BATCHES, DEFAULT_MAX_CONNECTIONS, DEFAULT_TIMEOUT, OptionName,
};
pub use order_id::{
    MAX_IDS_PER_LINK, OrderIdFormat, validate_and_dedup_order_ids, validate_order_id,
};
pub use pay_many::{DEFAULT_PAY_MANY_CONCURRENCY, MAX_PAY_MANY_CONCURRENCY};
pub use pay_url::{DEFAULT_BATCH_SIZE, PAY_URL_PATH};
pub use pending::{FLUSH_TIMEOUT_MS, flush_journals_before_exit};
pub use prepare_pay::PREPARE_PAY_PATH;
pub use sign::{Params, SIGN_PARAM, canonical_string, parse_params, sign, signing_string_masked};
pub use transport::{MAX_BODY_BYTES, MAX_URL_BYTES, Method};

//! How each argument of a `Client` call converts: one type per kind of argument, read from the
//! JavaScript value by the rules of convert.rs (which leave what values mean to the core). A
//! call's declaration (client.rs, `calls!`) names these types; a bad value is an
//! `invalid_argument` naming the argument, and nothing is sent.

use std::time::Duration;

use dajisaas::{Error, Method, Params, State};
use napi::{Unknown, ValueType};

use crate::convert;

/// One argument of a call, as JavaScript passed it (`undefined` when left out).
pub trait Arg: Sized {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self>;
}

/// Arguments that are one value converted by one function of convert.rs.
macro_rules! single {
    ($($(#[doc = $doc:literal])* $name:ident($inner:ty) = $convert:expr;)*) => {$(
        $(#[doc = $doc])*
        pub struct $name(pub $inner);

        impl Arg for $name {
            fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
                let convert: fn(&Unknown<'_>) -> dajisaas::Result<$inner> = $convert;
                convert(value).map($name)
            }
        }
    )*};
}

single! {
    /// Order ids: an array of strings, BigInt or safe integers.
    OrderIds(Vec<String>) = convert::order_ids;
    /// One order id: a string, a BigInt or a safe integer.
    OrderId(String) = |v| convert::order_id(v, "orderId");
    /// `'GET'` or `'POST'`.
    HttpMethod(Method) = |v| Method::parse(&convert::string(v, "method")?);
    /// A gateway path (the core refuses one that could leave its endpoint).
    Path(String) = |v| convert::string(v, "path");
    /// Request parameters: an object, JSON text, or nothing.
    RequestParams(Params) = |v| convert::params(Some(v));
}

/// `resolvePayment`'s `{ paid, note? }`.
pub struct Resolution {
    pub paid: bool,
    pub note: String,
}

impl Arg for Resolution {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        Ok(Resolution {
            paid: convert::bool_field(value, "paid")?,
            note: convert::optional_string_field(Some(value), "note")?.unwrap_or_default(),
        })
    }
}

/// The options of a call that has none of its own: `{ signal }` (client.js's), or nothing.
pub struct CallOptions;

impl Arg for CallOptions {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        convert::options(value, "{ signal }", &[])?;
        Ok(CallOptions)
    }
}

/// `payUrls`'s `{ batchSize, signal }`.
pub struct PayUrlsOptions {
    pub batch_size: usize,
}

impl Arg for PayUrlsOptions {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        // The core has no default batch size; 10 is the gateway's advice.
        let mut batch_size = dajisaas::DEFAULT_BATCH_SIZE;
        for (_, item) in convert::options(value, "{ batchSize: 10 }", &["batchSize"])? {
            // The core checks the range as well, but names it batch_size.
            let range = 1..=dajisaas::MAX_IDS_PER_LINK as u64;
            if let Some(n) = convert::whole_number(&item, "batchSize", range)? {
                batch_size = n as usize;
            }
        }
        Ok(PayUrlsOptions { batch_size })
    }
}

/// `payMany`'s `{ concurrency, onProgress, signal }` (`onProgress` and `signal` are client.js's).
pub struct PayManyOptions {
    pub concurrency: usize,
}

impl Arg for PayManyOptions {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        let mut concurrency = dajisaas::DEFAULT_PAY_MANY_CONCURRENCY;
        let example = "{ concurrency: 4, onProgress: (item) => {} }";
        for (key, item) in convert::options(value, example, &["concurrency", "onProgress"])? {
            if key == "onProgress" {
                if item.get_type().ok() != Some(ValueType::Function) {
                    return Err(Error::invalid("onProgress must be a function"));
                }
                continue;
            }
            let range = 1..=dajisaas::MAX_PAY_MANY_CONCURRENCY as u64;
            if let Some(n) = convert::whole_number(&item, "concurrency", range)? {
                concurrency = n as usize;
            }
        }
        Ok(PayManyOptions { concurrency })
    }
}

/// `paymentRecords`'s `{ state, signal }`.
pub struct RecordsOptions {
    pub state: Option<State>,
}

impl Arg for RecordsOptions {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        let mut state = None;
        for (_, item) in convert::options(value, "{ state: 'unknown' }", &["state"])? {
            state = Some(State::parse(&convert::string(&item, "state")?)?);
        }
        Ok(RecordsOptions { state })
    }
}

/// `flushJournal`'s `{ timeoutMs, signal }`.
pub struct FlushJournalOptions {
    /// `None`: the client's `journalTimeoutMs`.
    pub timeout: Option<Duration>,
}

impl Arg for FlushJournalOptions {
    fn arg(value: &Unknown<'_>) -> dajisaas::Result<Self> {
        let mut timeout = None;
        for (_, item) in convert::options(value, "{ timeoutMs: 5000 }", &["timeoutMs"])? {
            let range = dajisaas::FLUSH_TIMEOUT_MS;
            timeout = convert::whole_number(&item, "timeoutMs", range)?.map(Duration::from_millis);
        }
        Ok(FlushJournalOptions { timeout })
    }
}

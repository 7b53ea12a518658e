//! Client options: every setting a client takes, each optional, with the defaults and the checks
//! written once. Every language builds the same [`ClientOptions`]: Rust through
//! [`ClientBuilder`](crate::ClientBuilder), Python keyword arguments and Node option objects
//! through [`ClientOptions::from_map`], the C options struct field by field, the CLI from its flags.
//! An option left out takes the default below, so a changed default reaches every language.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::{Config, DEFAULT_BASE_URL, MAX_RETRIES_LIMIT, Secret};
use crate::error::{Error, ErrorCode, Result};
use crate::order_id::OrderIdFormat;
use crate::transport::ConnectionLimit;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// Default total time of one request.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default first backoff step.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);
/// Default longest backoff step.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(5);
/// Default number of link batches `pay_urls` fetches at once.
pub const DEFAULT_MAX_CONCURRENT_BATCHES: u32 = 4;
/// Default cap on a client's requests in flight, and so on its open connections.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 64;

/// Shortest app secret the debug mode that sends it (`dangerously_send_app_secret_instead_of_sign`)
/// accepts: in that mode the gateway's messages are masked for the secret, and a short one could
/// be an ordinary word.
pub(crate) const MIN_DEBUG_SECRET_CHARS: usize = 8;

/// Allowed timeouts, in milliseconds: up to 10 minutes.
const TIMEOUT_MS: RangeInclusive<u64> = 1..=600_000;
/// Allowed backoff steps, in milliseconds: up to 60 s, so that a seconds/milliseconds mix-up
/// cannot make a client sleep for hours.
const BACKOFF_MS: RangeInclusive<u64> = 0..=60_000;
const RETRIES: RangeInclusive<u64> = 0..=MAX_RETRIES_LIMIT as u64;
const CONCURRENT_BATCHES: RangeInclusive<u64> = 1..=16;
const CONNECTIONS: RangeInclusive<u64> = 1..=1024;
/// Allowed journal deadlines, in milliseconds: 100 ms to 60 s.
pub(crate) const JOURNAL_TIMEOUT_MS: RangeInclusive<u64> = 100..=60_000;
const CALLS_PER_SECOND: RangeInclusive<u64> = 1..=crate::limiter::MAX_CALLS_PER_SECOND_LIMIT as u64;

/// How option names are spelled in the language that passed them, so that errors name the
/// option as the caller wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Casing {
    /// `max_retries`: Rust, Python, C.
    #[default]
    Snake,
    /// `maxRetries`: Node.
    Camel,
    /// `--max-retries`: the command line.
    Flag,
}

/// Every option, by its canonical (snake_case) name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionName {
    /// The app key (required).
    AppKey,
    /// The app secret (required; never shown).
    AppSecret,
    /// The gateway address.
    BaseUrl,
    /// Total time of one request, milliseconds.
    TimeoutMs,
    /// Time to connect, milliseconds.
    ConnectTimeoutMs,
    /// Retries after a retryable failure.
    MaxRetries,
    /// First backoff step, milliseconds.
    BackoffBaseMs,
    /// Longest backoff step, milliseconds.
    BackoffCapMs,
    /// How `orderIdList` is written.
    OrderIdFormat,
    /// Link batches fetched at once by `pay_urls`.
    MaxConcurrentBatches,
    /// Requests (and so connections) one client has in flight at most.
    MaxConnections,
    /// Extra CA certificates (PEM).
    RootCertificatesPem,
    /// The gateway's debug mode that sends the secret.
    DangerouslySendAppSecretInsteadOfSign,
    /// Where the payment journal lives (`memory`, `sqlite:///…`, `postgres://…`).
    Journal,
    /// The deadline of one journal operation, milliseconds.
    JournalTimeoutMs,
    /// At most this many calls a second (unset: no fixed limit).
    MaxCallsPerSecond,
}

impl OptionName {
    /// Every option, in documentation order.
    pub const ALL: [OptionName; 16] = [
        OptionName::AppKey,
        OptionName::AppSecret,
        OptionName::BaseUrl,
        OptionName::TimeoutMs,
        OptionName::ConnectTimeoutMs,
        OptionName::MaxRetries,
        OptionName::BackoffBaseMs,
        OptionName::BackoffCapMs,
        OptionName::OrderIdFormat,
        OptionName::MaxConcurrentBatches,
        OptionName::MaxConnections,
        OptionName::RootCertificatesPem,
        OptionName::DangerouslySendAppSecretInsteadOfSign,
        OptionName::Journal,
        OptionName::JournalTimeoutMs,
        OptionName::MaxCallsPerSecond,
    ];

    /// The canonical snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OptionName::AppKey => "app_key",
            OptionName::AppSecret => "app_secret",
            OptionName::BaseUrl => "base_url",
            OptionName::TimeoutMs => "timeout_ms",
            OptionName::ConnectTimeoutMs => "connect_timeout_ms",
            OptionName::MaxRetries => "max_retries",
            OptionName::BackoffBaseMs => "backoff_base_ms",
            OptionName::BackoffCapMs => "backoff_cap_ms",
            OptionName::OrderIdFormat => "order_id_format",
            OptionName::MaxConcurrentBatches => "max_concurrent_batches",
            OptionName::MaxConnections => "max_connections",
            OptionName::RootCertificatesPem => "root_certificates_pem",
            OptionName::DangerouslySendAppSecretInsteadOfSign => {
                "dangerously_send_app_secret_instead_of_sign"
            }
            OptionName::Journal => "journal",
            OptionName::JournalTimeoutMs => "journal_timeout_ms",
            OptionName::MaxCallsPerSecond => "max_calls_per_second",
        }
    }

    /// The option a caller's name stands for; an unknown name is an `invalid_argument` listing
    /// the options.
    fn lookup(key: &str, casing: Casing) -> Result<OptionName> {
        OptionName::ALL
            .into_iter()
            .find(|n| n.spelled(casing) == key)
            .ok_or_else(|| {
                let known: Vec<String> =
                    OptionName::ALL.iter().map(|n| n.spelled(casing)).collect();
                Error::invalid(format!(
                    "unknown option {key:?}; the options are {}",
                    known.join(", ")
                ))
            })
    }

    /// The allowed whole numbers of a numeric option (empty for the others).
    fn range(self) -> RangeInclusive<u64> {
        match self {
            OptionName::TimeoutMs | OptionName::ConnectTimeoutMs => TIMEOUT_MS,
            OptionName::BackoffBaseMs | OptionName::BackoffCapMs => BACKOFF_MS,
            OptionName::MaxRetries => RETRIES,
            OptionName::MaxConcurrentBatches => CONCURRENT_BATCHES,
            OptionName::MaxConnections => CONNECTIONS,
            OptionName::MaxCallsPerSecond => CALLS_PER_SECOND,
            OptionName::JournalTimeoutMs => JOURNAL_TIMEOUT_MS,
            _ => RangeInclusive::new(1, 0),
        }
    }

    /// The error for a value this option cannot take, shown as `shown` (never the secret's).
    fn wrong_value(self, casing: Casing, shown: &str) -> Error {
        let name = self.spelled(casing);
        match self {
            OptionName::DangerouslySendAppSecretInsteadOfSign => {
                Error::invalid(format!("{name} must be true or false, not {shown}"))
            }
            OptionName::AppSecret => Error::invalid(format!("{name} must be a string")),
            _ if self.range().is_empty() => {
                Error::invalid(format!("{name} must be a string, not {shown}"))
            }
            _ => out_of_range(self, casing, &self.range(), shown),
        }
    }

    /// The name as a language spells it: `max_retries`, `maxRetries` or `--max-retries`.
    pub fn spelled(self, casing: Casing) -> String {
        let snake = self.as_str();
        match casing {
            Casing::Snake => snake.to_string(),
            Casing::Flag => format!("--{}", snake.replace('_', "-")),
            Casing::Camel => {
                let mut parts = snake.split('_');
                let mut name = parts.next().unwrap_or_default().to_string();
                for part in parts {
                    let mut chars = part.chars();
                    if let Some(first) = chars.next() {
                        name.push(first.to_ascii_uppercase());
                        name.push_str(chars.as_str());
                    }
                }
                name
            }
        }
    }
}

/// Every client setting, each optional: what is left out takes the core's default. Build a
/// client with [`ClientOptions::build`] or [`ClientOptions::build_async`].
#[derive(Clone, Default)]
pub struct ClientOptions {
    /// The app key (required).
    pub app_key: Option<String>,
    /// The app secret (required). Its `Debug` never shows it.
    pub app_secret: Option<Secret>,
    /// Gateway address (default `https://openapi.dajisaas.com`; plain http only for loopback).
    pub base_url: Option<String>,
    /// Total time of one request, connect to last body byte (default 30 s; 1 ms to 10 min).
    pub timeout: Option<Duration>,
    /// Time to establish a connection (default 10 s; 1 ms to 10 min).
    pub connect_timeout: Option<Duration>,
    /// Retries after a retryable failure (default 3; 0 to 3).
    pub max_retries: Option<u32>,
    /// First backoff step (default 200 ms; at most 60 s).
    pub backoff_base: Option<Duration>,
    /// Longest backoff step (default 5 s; at most 60 s, not below the base).
    pub backoff_cap: Option<Duration>,
    /// How `orderIdList` is written (default a JSON array).
    pub order_id_format: Option<OrderIdFormat>,
    /// Link batches `pay_urls` fetches at once (default 4; 1 to 16).
    pub max_concurrent_batches: Option<u32>,
    /// Requests one client has in flight at most; more wait their turn (default 64; 1 to 1024).
    pub max_connections: Option<u32>,
    /// CA certificates (PEM) to trust besides the system's, for TLS-inspecting proxies.
    pub root_certificates_pem: Vec<Vec<u8>>,
    /// DEBUGGING ONLY: send `appSecret` instead of a signature (default false).
    pub dangerously_send_app_secret_instead_of_sign: Option<bool>,
    /// The payment journal's URL (default `memory`: shared by every client of the process);
    /// `sqlite:///abs/path.db` or `postgres://…` to share it between processes (JOURNAL.md).
    pub journal: Option<String>,
    /// The deadline of every journal operation (default 5 s; 100 ms to 60 s): a SQLite busy
    /// wait, a PostgreSQL connect, statement or commit. Past it the call ends with a `journal`
    /// error that says whether anything was sent.
    pub journal_timeout: Option<Duration>,
    /// At most this many calls a second, spaced evenly, shared by every call of the client
    /// (default: no fixed limit; 1 to 10000). The client also slows down by itself after the
    /// gateway refuses calls for their frequency.
    pub max_calls_per_second: Option<u32>,
    /// How the caller spells option names, for error messages.
    pub casing: Casing,
}

impl fmt::Debug for ClientOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientOptions")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl ClientOptions {
    /// Options from a map of option names (spelled as `casing` says) to JSON values, as Python
    /// keyword arguments and Node option objects arrive. A null value means "left out". Unknown
    /// names, wrong types and out-of-range numbers are `invalid_argument` errors naming the
    /// option as the caller spelled it.
    pub fn from_map(map: &Map<String, Value>, casing: Casing) -> Result<ClientOptions> {
        let mut options = ClientOptions {
            casing,
            ..ClientOptions::default()
        };
        for (key, value) in map {
            let name = OptionName::lookup(key, casing)?;
            if !value.is_null() {
                options.set(name, value)?;
            }
        }
        Ok(options)
    }

    /// The error `from_map` gives for option `key` set to a value it cannot take, for a value
    /// that a binding cannot even express as JSON (NaN, a function): `shown` is how to show it.
    pub fn invalid_value(key: &str, casing: Casing, shown: &str) -> Error {
        match OptionName::lookup(key, casing) {
            Ok(name) => name.wrong_value(casing, shown),
            Err(unknown) => unknown,
        }
    }

    fn set(&mut self, name: OptionName, value: &Value) -> Result<()> {
        let wrong = || name.wrong_value(self.casing, &shown(value));
        let text = || value.as_str().map(str::to_string).ok_or_else(wrong);
        let int = || {
            value
                .as_u64()
                .filter(|n| name.range().contains(n))
                .ok_or_else(wrong)
        };
        let ms = || int().map(Duration::from_millis);
        match name {
            OptionName::AppKey => self.app_key = Some(text()?),
            OptionName::AppSecret => self.app_secret = Some(Secret::from(text()?)),
            OptionName::BaseUrl => self.base_url = Some(text()?),
            OptionName::TimeoutMs => self.timeout = Some(ms()?),
            OptionName::ConnectTimeoutMs => self.connect_timeout = Some(ms()?),
            OptionName::BackoffBaseMs => self.backoff_base = Some(ms()?),
            OptionName::BackoffCapMs => self.backoff_cap = Some(ms()?),
            OptionName::MaxRetries => self.max_retries = Some(int()? as u32),
            OptionName::MaxConcurrentBatches => self.max_concurrent_batches = Some(int()? as u32),
            OptionName::MaxConnections => self.max_connections = Some(int()? as u32),
            OptionName::OrderIdFormat => {
                self.order_id_format = Some(OrderIdFormat::parse(&text()?).map_err(|e| {
                    Error::invalid(format!("{}: {}", name.spelled(self.casing), e.message()))
                })?)
            }
            OptionName::RootCertificatesPem => self.root_certificates_pem = vec![text()?.into()],
            OptionName::DangerouslySendAppSecretInsteadOfSign => {
                self.dangerously_send_app_secret_instead_of_sign =
                    Some(value.as_bool().ok_or_else(wrong)?)
            }
            OptionName::Journal => self.journal = Some(text()?),
            OptionName::JournalTimeoutMs => self.journal_timeout = Some(ms()?),
            OptionName::MaxCallsPerSecond => self.max_calls_per_second = Some(int()? as u32),
        }
        Ok(())
    }

    /// The options with the defaults applied, checked: every problem is an `invalid_argument`
    /// naming the option.
    pub(crate) fn into_config(self) -> Result<Config> {
        let casing = self.casing;
        let name = |n: OptionName| n.spelled(casing);
        let app_key = self
            .app_key
            .ok_or_else(|| Error::invalid(format!("{} is required", name(OptionName::AppKey))))?;
        if app_key.trim().is_empty() {
            return Err(Error::invalid(format!(
                "{} is empty",
                name(OptionName::AppKey)
            )));
        }
        if app_key.trim() != app_key || app_key.chars().any(char::is_control) {
            return Err(Error::invalid(format!(
                "{} has surrounding whitespace or control characters",
                name(OptionName::AppKey)
            )));
        }
        let app_secret = self.app_secret.ok_or_else(|| {
            Error::invalid(format!("{} is required", name(OptionName::AppSecret)))
        })?;
        if app_secret.expose().trim().is_empty() {
            return Err(Error::invalid(format!(
                "{} is empty",
                name(OptionName::AppSecret)
            )));
        }
        // As app_key: a secret read with its line's newline would only fail later, as a
        // signature the gateway refuses. The message never shows the secret.
        let secret = app_secret.expose();
        if secret.trim() != secret || secret.chars().any(char::is_control) {
            return Err(Error::invalid(format!(
                "{} has surrounding whitespace or control characters",
                name(OptionName::AppSecret)
            )));
        }
        let send_app_secret = self
            .dangerously_send_app_secret_instead_of_sign
            .unwrap_or(false);
        let length = app_secret.expose().chars().count();
        if send_app_secret && length < MIN_DEBUG_SECRET_CHARS {
            // Messages from the gateway are masked for whole occurrences of the secret in this
            // mode (classify.rs); a shorter secret would be too likely to be an ordinary word.
            return Err(Error::invalid(format!(
                "{} is too short for {}: that mode takes secrets of at least \
                 {MIN_DEBUG_SECRET_CHARS} characters (this one has {length})",
                name(OptionName::AppSecret),
                name(OptionName::DangerouslySendAppSecretInsteadOfSign)
            )));
        }
        let duration = |value: Option<Duration>, default, option| {
            let value = value.unwrap_or(default);
            check_range(option, casing, value.as_millis().try_into().ok())?;
            Ok(value)
        };
        let timeout = duration(self.timeout, DEFAULT_TIMEOUT, OptionName::TimeoutMs)?;
        let connect_timeout = duration(
            self.connect_timeout,
            DEFAULT_CONNECT_TIMEOUT,
            OptionName::ConnectTimeoutMs,
        )?;
        let backoff_base = duration(
            self.backoff_base,
            DEFAULT_BACKOFF_BASE,
            OptionName::BackoffBaseMs,
        )?;
        let backoff_cap = duration(
            self.backoff_cap,
            DEFAULT_BACKOFF_CAP,
            OptionName::BackoffCapMs,
        )?;
        if backoff_base > backoff_cap {
            return Err(Error::invalid(format!(
                "{} ({} ms) must not exceed {} ({} ms)",
                name(OptionName::BackoffBaseMs),
                backoff_base.as_millis(),
                name(OptionName::BackoffCapMs),
                backoff_cap.as_millis()
            )));
        }
        let max_retries = self.max_retries.unwrap_or(MAX_RETRIES_LIMIT);
        check_range(OptionName::MaxRetries, casing, Some(max_retries.into()))?;
        let max_concurrent_batches = self
            .max_concurrent_batches
            .unwrap_or(DEFAULT_MAX_CONCURRENT_BATCHES);
        check_range(
            OptionName::MaxConcurrentBatches,
            casing,
            Some(max_concurrent_batches.into()),
        )?;
        let max_connections = self.max_connections.unwrap_or(DEFAULT_MAX_CONNECTIONS);
        check_range(
            OptionName::MaxConnections,
            casing,
            Some(max_connections.into()),
        )?;
        if let Some(n) = self.max_calls_per_second {
            check_range(OptionName::MaxCallsPerSecond, casing, Some(n.into()))?;
        }
        let mut extra_roots = Vec::new();
        for pem in &self.root_certificates_pem {
            let option = name(OptionName::RootCertificatesPem);
            let certs = CertificateDer::pem_slice_iter(pem)
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| {
                    Error::invalid(format!(
                        "the root certificates in {option} are not valid PEM: {e}"
                    ))
                })?;
            if certs.is_empty() {
                return Err(Error::invalid(format!(
                    "the root certificates in {option} hold no PEM certificate"
                )));
            }
            // Each must be usable as a trust anchor: checked now, not at the first handshake.
            let mut anchors = rustls::RootCertStore::empty();
            for (i, der) in certs.iter().enumerate() {
                anchors.add(der.clone()).map_err(|e| {
                    Error::invalid(format!(
                        "certificate {} of {option} is not a usable CA certificate: {e}",
                        i + 1
                    ))
                })?;
            }
            extra_roots.extend(certs);
        }
        let base_url = self
            .base_url
            .unwrap_or_else(|| DEFAULT_BASE_URL.to_string());
        let journal_timeout = duration(
            self.journal_timeout,
            crate::journal::DEFAULT_JOURNAL_TIMEOUT,
            OptionName::JournalTimeoutMs,
        )?;
        let journal = crate::journal::open_journal_with_timeout(
            self.journal
                .as_deref()
                .unwrap_or(crate::journal::DEFAULT_JOURNAL),
            journal_timeout,
        )
        .map_err(|e| match e.code() {
            ErrorCode::InvalidArgument => {
                Error::invalid(format!("{}: {}", name(OptionName::Journal), e.message()))
            }
            _ => e,
        })?;
        let base_url = crate::config::parse_base_url(&base_url)?;
        let fleet = crate::fleet_pace::FleetPace::new(
            journal.clone(),
            crate::journal::Scope::new(base_url.as_str(), &app_key),
            journal_timeout,
        );
        Ok(Config {
            journal,
            journal_timeout,
            base_url,
            app_key,
            app_secret,
            timeout,
            connect_timeout,
            max_retries,
            backoff_base,
            backoff_cap,
            order_id_format: self.order_id_format.unwrap_or_default(),
            send_app_secret,
            max_concurrent_batches: max_concurrent_batches as usize,
            max_connections: ConnectionLimit::new(max_connections as usize),
            extra_roots,
            max_calls_per_second: self.max_calls_per_second,
            limiter: std::sync::Arc::new(crate::limiter::CallLimiter::new(
                self.max_calls_per_second,
                fleet,
            )),
        })
    }

    /// Checks the options and builds a blocking client.
    pub fn build(self) -> Result<crate::Client> {
        crate::Client::from_config(self.into_config()?)
    }

    /// Checks the options and builds an async client.
    pub fn build_async(self) -> Result<crate::AsyncClient> {
        crate::AsyncClient::from_config(self.into_config()?)
    }
}

impl Config {
    /// Every setting of this client but the secret, named as `casing` spells them, with the
    /// defaults applied: what bindings show as the client's configuration.
    pub fn to_json(&self, casing: Casing) -> Value {
        let ms = |d: Duration| Value::from(d.as_millis() as u64);
        let mut map = Map::new();
        for name in OptionName::ALL {
            let value = match name {
                OptionName::AppSecret => continue,
                OptionName::AppKey => Value::from(self.app_key.as_str()),
                OptionName::BaseUrl => Value::from(self.base_url.as_str()),
                OptionName::TimeoutMs => ms(self.timeout),
                OptionName::ConnectTimeoutMs => ms(self.connect_timeout),
                OptionName::MaxRetries => Value::from(self.max_retries),
                OptionName::BackoffBaseMs => ms(self.backoff_base),
                OptionName::BackoffCapMs => ms(self.backoff_cap),
                OptionName::OrderIdFormat => Value::from(self.order_id_format.as_str()),
                OptionName::MaxConcurrentBatches => Value::from(self.max_concurrent_batches),
                OptionName::MaxConnections => Value::from(self.max_connections.permits()),
                OptionName::RootCertificatesPem => Value::from(self.extra_roots.len()),
                OptionName::DangerouslySendAppSecretInsteadOfSign => {
                    Value::from(self.send_app_secret)
                }
                OptionName::Journal => Value::from(self.journal.url()),
                OptionName::JournalTimeoutMs => ms(self.journal_timeout),
                OptionName::MaxCallsPerSecond => Value::from(self.max_calls_per_second),
            };
            map.insert(name.spelled(casing), value);
        }
        // Whose pace `max_calls_per_second` and the adaptive limit are: the fleet's, kept in
        // the journal's store (SQLite, PostgreSQL), or this process's (memory journal).
        let pace = if self.limiter.shared() {
            "journal"
        } else {
            "process"
        };
        map.insert("pace".into(), Value::from(pace));
        Value::Object(map)
    }
}

fn shown(value: &Value) -> String {
    match value {
        Value::String(s) => format!("the string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a mapping".into(),
        other => other.to_string(),
    }
}

fn out_of_range(
    name: OptionName,
    casing: Casing,
    range: &RangeInclusive<u64>,
    shown: &str,
) -> Error {
    let unit = if name.as_str().ends_with("_ms") {
        " (milliseconds)"
    } else {
        ""
    };
    Error::invalid(format!(
        "{} must be a whole number from {} to {}{unit}, not {shown}",
        name.spelled(casing),
        range.start(),
        range.end()
    ))
}

fn check_range(name: OptionName, casing: Casing, value: Option<u64>) -> Result<()> {
    match value {
        Some(v) if name.range().contains(&v) => Ok(()),
        Some(v) => Err(name.wrong_value(casing, &v.to_string())),
        None => Err(name.wrong_value(casing, "a larger number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn from(value: Value, casing: Casing) -> Result<Config> {
        ClientOptions::from_map(value.as_object().unwrap(), casing)?.into_config()
    }

    #[test]
    fn names_in_every_casing() {
        let n = OptionName::DangerouslySendAppSecretInsteadOfSign;
        assert_eq!(
            n.spelled(Casing::Camel),
            "dangerouslySendAppSecretInsteadOfSign"
        );
        assert_eq!(OptionName::TimeoutMs.spelled(Casing::Flag), "--timeout-ms");
    }

    #[test]
    fn left_out_options_take_the_defaults() {
        let c = from(json!({"appKey": "k", "appSecret": "s"}), Casing::Camel).unwrap();
        assert_eq!(c.timeout, DEFAULT_TIMEOUT);
        assert_eq!(c.connect_timeout, DEFAULT_CONNECT_TIMEOUT);
        assert_eq!(c.max_retries, MAX_RETRIES_LIMIT);
        assert_eq!(
            (c.backoff_base, c.backoff_cap),
            (DEFAULT_BACKOFF_BASE, DEFAULT_BACKOFF_CAP)
        );
        assert_eq!(c.max_concurrent_batches, 4);
        assert_eq!(c.max_connections.permits(), 64);
        assert_eq!(c.base_url(), "https://openapi.dajisaas.com/");
        let shown = c.to_json(Casing::Camel);
        assert_eq!(shown["timeoutMs"], 30_000);
        assert_eq!(shown["maxCallsPerSecond"], Value::Null);
        assert!(shown.get("appSecret").is_none());
        let c = from(
            json!({"appKey": "k", "appSecret": "s", "maxCallsPerSecond": 50}),
            Casing::Camel,
        )
        .unwrap();
        assert_eq!(c.max_calls_per_second(), Some(50));
        assert_eq!(c.current_calls_per_second(), Some(50.0));
    }

    #[test]
    fn wrong_types_and_ranges_name_the_option_as_spelled() {
        let msg = |v: Value, casing| from(v, casing).unwrap_err().message().to_string();
        let base = |extra: Value| {
            let mut m = json!({"app_key": "k", "app_secret": "s"});
            m.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            m
        };
        assert_eq!(
            msg(base(json!({"max_retries": true})), Casing::Snake),
            "max_retries must be a whole number from 0 to 3, not true"
        );
        assert!(
            msg(base(json!({"max_retries": 4294967296u64})), Casing::Snake)
                .contains("not 4294967296")
        );
        assert!(msg(base(json!({"max_retries": 1.9})), Casing::Snake).contains("not 1.9"));
        assert!(msg(base(json!({"timeout_ms": -1})), Casing::Snake).contains("timeout_ms"));
        assert!(msg(base(json!({"backoff_cap_ms": 5_000_000})), Casing::Snake).contains("60000"));
        assert!(
            msg(base(json!({"timeout": 3})), Casing::Snake).contains("unknown option \"timeout\"")
        );
        assert!(
            msg(
                json!({"appKey": "k", "appSecret": "s", "maxRetries": "3"}),
                Casing::Camel
            )
            .starts_with("maxRetries must be")
        );
        assert!(
            msg(base(json!({"order_id_format": "csv"})), Casing::Snake).contains("order_id_format")
        );
        assert_eq!(
            msg(base(json!({"max_calls_per_second": 0})), Casing::Snake),
            "max_calls_per_second must be a whole number from 1 to 10000, not 0"
        );
        assert_eq!(
            msg(
                json!({"appKey": "k", "appSecret": "s", "maxCallsPerSecond": 10001}),
                Casing::Camel
            ),
            "maxCallsPerSecond must be a whole number from 1 to 10000, not 10001"
        );
        assert!(
            msg(
                base(json!({"dangerously_send_app_secret_instead_of_sign": 2})),
                Casing::Snake
            )
            .contains("true or false")
        );
        assert_eq!(
            msg(json!({"app_key": "k"}), Casing::Snake),
            "app_secret is required"
        );
    }

    #[test]
    fn the_debug_mode_takes_secrets_of_at_least_8_characters() {
        let build = |secret: &str, debug: bool| {
            from(
                json!({"appKey": "k", "appSecret": secret,
                       "dangerouslySendAppSecretInsteadOfSign": debug}),
                Casing::Camel,
            )
        };
        let e = build("s", true).unwrap_err();
        assert_eq!(
            e.message(),
            "appSecret is too short for dangerouslySendAppSecretInsteadOfSign: that mode takes \
             secrets of at least 8 characters (this one has 1)"
        );
        assert!(!e.message().contains("\"s\""));
        assert!(build("密钥密钥密钥密", true).is_err());
        assert!(build("密钥密钥密钥密钥", true).is_ok());
        assert!(build("12345678", true).is_ok());
        // Signed mode: the secret never leaves the process; any length.
        assert!(build("s", false).is_ok());
    }

    #[test]
    fn null_means_left_out() {
        let c = from(
            json!({"app_key": "k", "app_secret": "s", "max_retries": null}),
            Casing::Snake,
        )
        .unwrap();
        assert_eq!(c.max_retries, MAX_RETRIES_LIMIT);
    }
}

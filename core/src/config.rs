//! Client configuration: what a client needs to know, validated once when it is built.

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::Url;

use crate::error::{Error, Result};
use crate::options::ClientOptions;
use crate::order_id::OrderIdFormat;
use crate::transport::ConnectionLimit;

/// The production gateway.
pub const DEFAULT_BASE_URL: &str = "https://openapi.dajisaas.com";
/// Most retries the library allows: the gateway's docs say to retry a failed deduction at most
/// three times.
pub const MAX_RETRIES_LIMIT: u32 = 3;
/// Environment variable holding the app key.
pub const ENV_APP_KEY: &str = "DAJISAAS_APP_KEY";
/// Environment variable holding the app secret.
pub const ENV_APP_SECRET: &str = "DAJISAAS_APP_SECRET";
/// Environment variable holding the base URL (optional).
pub const ENV_BASE_URL: &str = "DAJISAAS_BASE_URL";

/// The app secret. Its `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Secret(secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

/// Everything a client needs, validated. Built by [`ClientBuilder`].
#[derive(Clone)]
pub struct Config {
    pub(crate) app_key: String,
    pub(crate) app_secret: Secret,
    pub(crate) base_url: Url,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) max_retries: u32,
    pub(crate) backoff_base: Duration,
    pub(crate) backoff_cap: Duration,
    pub(crate) order_id_format: OrderIdFormat,
    pub(crate) send_app_secret: bool,
    pub(crate) max_concurrent_batches: usize,
    /// Shared by every clone: the cap is per client.
    pub(crate) max_connections: ConnectionLimit,
    /// Extra CA certificates (DER), trusted besides the system's.
    pub(crate) extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub(crate) journal: std::sync::Arc<dyn crate::journal::JournalStore>,
    /// The deadline of one journal operation.
    pub(crate) journal_timeout: Duration,
    /// The configured calls-per-second limit, if any.
    pub(crate) max_calls_per_second: Option<u32>,
    /// The client's pace (that limit and the adaptive one), shared by every call of the client.
    pub(crate) limiter: std::sync::Arc<crate::limiter::CallLimiter>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("app_key", &self.app_key)
            .field("app_secret", &self.app_secret)
            .field("base_url", &self.base_url.as_str())
            .field("timeout", &self.timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("order_id_format", &self.order_id_format)
            .field("send_app_secret", &self.send_app_secret)
            .field("max_concurrent_batches", &self.max_concurrent_batches)
            .field("max_connections", &self.max_connections.permits())
            .field("extra_roots", &self.extra_roots.len())
            .field("journal", &self.journal.url())
            .field("max_calls_per_second", &self.max_calls_per_second)
            .finish()
    }
}

impl Config {
    /// The app key.
    pub fn app_key(&self) -> &str {
        &self.app_key
    }

    /// The gateway address requests go to.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// Total time allowed for one request, from connect to the last byte of the body.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The deadline of one journal operation.
    pub fn journal_timeout(&self) -> Duration {
        self.journal_timeout
    }

    /// The journal scope of this client: its gateway's origin and its app key.
    pub fn journal_scope(&self) -> crate::journal::Scope {
        crate::journal::Scope::new(self.base_url.as_str(), &self.app_key)
    }

    /// The payment journal this client consults before every payment.
    pub fn journal(&self) -> &dyn crate::journal::JournalStore {
        &*self.journal
    }

    /// How many times a failed call may be retried (0 to 3).
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The configured limit of calls a second (`None`: no fixed limit; the adaptive one still
    /// applies after the gateway refuses calls for their frequency).
    pub fn max_calls_per_second(&self) -> Option<u32> {
        self.max_calls_per_second
    }

    /// The rate this client paces its calls at now, in calls a second: the configured limit, or
    /// lower after the gateway refused calls for their frequency; `None` while it does not pace.
    pub fn current_calls_per_second(&self) -> Option<f64> {
        self.limiter.rate()
    }

    /// The URL of an endpoint path such as `/alibaba/alipay/url/get`.
    pub(crate) fn endpoint(&self, path: &str) -> Result<Url> {
        validate_path(path)?;
        let mut url = self.base_url.clone();
        let joined = format!("{}{}", url.path().trim_end_matches('/'), path);
        url.set_path(&joined);
        Ok(url)
    }
}

/// Builds a [`Client`](crate::Client) or [`AsyncClient`](crate::AsyncClient): typed setters
/// over [`ClientOptions`], whose defaults and checks apply.
///
/// ```
/// let client = dajisaas::Client::builder("my-app-key", "my-app-secret")
///     .base_url("http://127.0.0.1:8080")
///     .timeout(std::time::Duration::from_secs(10))
///     .build()?;
/// # Ok::<(), dajisaas::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    options: ClientOptions,
}

impl ClientBuilder {
    /// A builder with the given credentials and every other setting at its default.
    pub fn new(app_key: impl Into<String>, app_secret: impl Into<String>) -> Self {
        ClientBuilder {
            options: ClientOptions {
                app_key: Some(app_key.into()),
                app_secret: Some(Secret(app_secret.into())),
                ..ClientOptions::default()
            },
        }
    }

    /// A builder that starts from `options` (for example read from a map by a binding).
    pub fn from_options(options: ClientOptions) -> Self {
        ClientBuilder { options }
    }

    /// A builder from `DAJISAAS_APP_KEY`, `DAJISAAS_APP_SECRET` and, if set, `DAJISAAS_BASE_URL`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| -> Result<String> {
            std::env::var(name).map_err(|e| {
                Error::invalid(format!("environment variable {name} is not usable: {e}"))
            })
        };
        let mut builder = ClientBuilder::new(var(ENV_APP_KEY)?, var(ENV_APP_SECRET)?);
        if let Ok(base_url) = std::env::var(ENV_BASE_URL) {
            builder = builder.base_url(base_url);
        }
        Ok(builder)
    }

    /// The gateway address (default `https://openapi.dajisaas.com`). Plain `http://` is
    /// accepted only for loopback hosts, such as the sandbox.
    pub fn base_url(mut self, base_url: impl Into<String>) -> Self {
        self.options.base_url = Some(base_url.into());
        self
    }

    /// Total time for one request, connect to last body byte (default 30 s, at most 10 min).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.options.timeout = Some(timeout);
        self
    }

    /// Time to establish a connection (default 10 s, at most 10 min).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.options.connect_timeout = Some(timeout);
        self
    }

    /// Retries after a retryable failure, 0 to 3 (default 3).
    pub fn max_retries(mut self, retries: u32) -> Self {
        self.options.max_retries = Some(retries);
        self
    }

    /// Exponential backoff between attempts: the n-th retry waits a random time up to
    /// `min(cap, base * 2^(n-1))` (default 200 ms and 5 s; each at most 60 s). Tests set these
    /// low.
    pub fn backoff(mut self, base: Duration, cap: Duration) -> Self {
        self.options.backoff_base = Some(base);
        self.options.backoff_cap = Some(cap);
        self
    }

    /// How `orderIdList` is written (default: a compact JSON array).
    pub fn order_id_format(mut self, format: OrderIdFormat) -> Self {
        self.options.order_id_format = Some(format);
        self
    }

    /// How many link batches `pay_urls` fetches at once (default 4, 1 to 16).
    pub fn max_concurrent_batches(mut self, n: u32) -> Self {
        self.options.max_concurrent_batches = Some(n);
        self
    }

    /// Requests this client has in flight at most (default 64, 1 to 1024): more wait their turn,
    /// and the wait does not count against the timeout. Every request holds one connection, so
    /// this also bounds the open sockets; idle connections close after 30 s.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.options.max_connections = Some(n);
        self
    }

    /// Also trust the CA certificates in `pem` (one or more PEM blocks), besides the system's:
    /// for networks whose proxy inspects TLS with its own CA. Certificates are always checked;
    /// there is no way to turn that off.
    pub fn add_root_certificates_pem(mut self, pem: impl AsRef<[u8]>) -> Self {
        self.options
            .root_certificates_pem
            .push(pem.as_ref().to_vec());
        self
    }

    /// DEBUGGING ONLY: send `appSecret` in every request instead of a `sign`, as the gateway
    /// allows for debugging. The secret then travels in URLs and bodies, where proxies and logs
    /// can see it. Never enable this in production.
    pub fn dangerously_send_app_secret_instead_of_sign(mut self, enabled: bool) -> Self {
        self.options.dangerously_send_app_secret_instead_of_sign = Some(enabled);
        self
    }

    /// The payment journal (default `memory`, shared by every client of the process;
    /// `memory:NAME` for a separate in-process one, `sqlite:///abs/path.db` or `postgres://…`
    /// to share it between processes): see JOURNAL.md.
    pub fn journal(mut self, url: impl Into<String>) -> Self {
        self.options.journal = Some(url.into());
        self
    }

    /// The deadline of every journal operation (default 5 s; 100 ms to 60 s): a SQLite busy
    /// wait, a PostgreSQL connect, statement or commit. Past it the call ends with a `journal`
    /// error that says whether anything was sent.
    pub fn journal_timeout(mut self, timeout: Duration) -> Self {
        self.options.journal_timeout = Some(timeout);
        self
    }

    /// At most `n` calls a second (1 to 10000), spaced evenly, shared by every call of the
    /// client and its clones; waiting for a slot counts against no timeout. Without it the
    /// client still slows down by itself after the gateway refuses calls for their frequency.
    pub fn max_calls_per_second(mut self, n: u32) -> Self {
        self.options.max_calls_per_second = Some(n);
        self
    }

    /// The options set so far.
    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Validates the settings and builds a blocking client.
    pub fn build(self) -> Result<crate::Client> {
        self.options.build()
    }

    /// Validates the settings and builds an async client.
    pub fn build_async(self) -> Result<crate::AsyncClient> {
        self.options.build_async()
    }

    #[cfg(test)]
    pub(crate) fn into_config(self) -> Result<Config> {
        self.options.into_config()
    }
}

pub(crate) fn parse_base_url(text: &str) -> Result<Url> {
    let url = Url::parse(text)
        .map_err(|e| Error::invalid(format!("base_url {text:?} is not a valid URL: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::invalid("base_url must not contain credentials"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(
            "base_url must not contain a query or a fragment",
        ));
    }
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => return Err(Error::invalid(format!("base_url {text:?} has no host"))),
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(Error::invalid(format!(
            "base_url {text:?} uses plain http to a non-loopback host; use https"
        ))),
        other => Err(Error::invalid(format!(
            "base_url scheme {other:?} is not supported; use https"
        ))),
    }
}

fn validate_path(path: &str) -> Result<()> {
    let bad = !path.starts_with('/')
        || path.starts_with("//")
        || path.contains(['?', '#', '\\'])
        || path.split('/').any(|seg| seg == "..")
        || path.chars().any(|c| c.is_control() || c.is_whitespace());
    if bad {
        return Err(Error::invalid(format!(
            "path {path:?} must be an absolute path like /alibaba/alipay/url/get, without query, fragment, '..' or spaces"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(f: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Result<Config> {
        f(ClientBuilder::new("key", "topsecret")).into_config()
    }

    #[test]
    fn defaults() {
        let c = build(|b| b).unwrap();
        assert_eq!(c.base_url(), "https://openapi.dajisaas.com/");
        assert_eq!(c.timeout(), Duration::from_secs(30));
        assert_eq!(c.connect_timeout, Duration::from_secs(10));
        assert_eq!(c.max_retries(), 3);
    }

    #[test]
    fn rejects_bad_configuration() {
        let msg =
            |f: fn(ClientBuilder) -> ClientBuilder| build(f).unwrap_err().message().to_string();
        assert!(msg(|_| ClientBuilder::new("", "s")).contains("app_key is empty"));
        assert!(msg(|_| ClientBuilder::new(" k", "s")).contains("whitespace"));
        assert!(msg(|_| ClientBuilder::new("k", "  ")).contains("app_secret is empty"));
        for secret in ["q7Zk9\n", " q7Zk9", "q7Zk9\t", "q7\u{7f}Zk9"] {
            let e = build(|_| ClientBuilder::new("k", secret)).unwrap_err();
            let shown = e.message().to_string();
            assert!(!shown.contains("q7"), "{shown}");
            assert!(
                shown.contains("app_secret has surrounding whitespace"),
                "{shown}"
            );
        }
        assert!(msg(|b| b.max_retries(4)).contains("from 0 to 3"));
        assert!(msg(|b| b.timeout(Duration::ZERO)).contains("timeout_ms must be"));
        assert!(msg(|b| b.backoff(Duration::ZERO, Duration::from_secs(5000))).contains("60000"));
        assert!(msg(|b| b.base_url("http://example.com")).contains("plain http"));
        assert!(msg(|b| b.base_url("https://u:p@example.com")).contains("credentials"));
        assert!(msg(|b| b.base_url("https://example.com/#x")).contains("fragment"));
        assert!(msg(|b| b.base_url("ftp://example.com")).contains("not supported"));
        assert!(msg(|b| b.base_url("not a url")).contains("not a valid URL"));
    }

    #[test]
    fn loopback_http_is_allowed() {
        for url in [
            "http://127.0.0.1:1",
            "http://localhost:2",
            "http://[::1]:3",
            "http://127.9.9.9",
        ] {
            build(|b| b.base_url(url)).unwrap();
        }
    }

    #[test]
    fn endpoint_keeps_base_path_prefix() {
        let c = build(|b| b.base_url("https://proxy.example/dajisaas/")).unwrap();
        assert_eq!(
            c.endpoint("/alibaba/alipay/url/get").unwrap().as_str(),
            "https://proxy.example/dajisaas/alibaba/alipay/url/get"
        );
        for bad in ["x", "//evil.example/x", "/a?b=1", "/a/../b", "/a b"] {
            assert!(c.endpoint(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_secret() {
        let b = ClientBuilder::new("key", "topsecret");
        assert!(!format!("{b:?}").contains("topsecret"));
        let c = b.into_config().unwrap();
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("topsecret") && shown.contains("***"),
            "{shown}"
        );
    }
}

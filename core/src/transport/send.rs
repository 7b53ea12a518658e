//! Sending a signed request once over HTTP: the client, the exchange, the capped body read and
//! the debug log line.

use std::cell::Cell;
use std::error::Error as _;
use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::header::{CONTENT_TYPE, HeaderValue};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::payment_log::payment_log;
use crate::per_process::PerProcess;

use super::classify::{Reply, classify};
use super::deadline::{ConnectPhaseLayer, Elapsed, within};
use super::failure::{Failure, FailureKind};
use super::request::SignedRequest;
use super::tls;

/// Largest response body read; a larger one is a `decode` error, not a memory spike.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How long a pooled connection may stay idle before it is closed.
pub(crate) const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// A client's cap on requests in flight (`max_connections`): each exchange holds a permit from
/// the moment it may connect until its body is read, so a client never has more requests, and so
/// connections, in use than the cap; calls beyond it wait their turn, first come first served,
/// and the wait is not part of their timeout. Clones of a configuration share it. A process made
/// by `fork()` gets its own permits: the parent's tasks holding some do not exist there.
#[derive(Clone)]
pub(crate) struct ConnectionLimit {
    permits: usize,
    semaphore: Arc<PerProcess<Arc<Semaphore>>>,
}

impl ConnectionLimit {
    pub fn new(permits: usize) -> Self {
        ConnectionLimit {
            permits,
            semaphore: Arc::new(PerProcess::empty()),
        }
    }

    /// The cap.
    pub fn permits(&self) -> usize {
        self.permits
    }

    /// Waits for a permit. `None` only if the semaphore was closed, which never happens.
    async fn acquire(&self) -> Option<OwnedSemaphorePermit> {
        let semaphore = self
            .semaphore
            .get_with(|_| Arc::new(Semaphore::new(self.permits)))
            .clone();
        semaphore.acquire_owned().await.ok()
    }
}

tokio::task_local! {
    /// The HTTP status of the last answer an attempt received (see [`with_answer_status`]).
    static ANSWER_STATUS: Cell<Option<u16>>;
}

/// Runs one attempt and reports, with its output, the HTTP status of the last answer [`send`]
/// received while it ran (`None` when nothing was answered): so that an error the caller makes
/// of an answer (a declined payment, a link refused in `data`) carries its HTTP status too.
pub(crate) async fn with_answer_status<F: Future>(attempt: F) -> (F::Output, Option<u16>) {
    let mut scoped = pin!(ANSWER_STATUS.scope(Cell::new(None), attempt));
    let output = scoped.as_mut().await;
    let status = scoped.as_mut().take_value().and_then(Cell::into_inner);
    (output, status)
}

/// Builds the HTTP client: rustls with certificate checks, no redirects (a signed payment must
/// not be forwarded anywhere silently), proxies from the environment. The total timeout is not
/// reqwest's but [`within`]'s, and every connect is bounded by [`ConnectPhaseLayer`]: see
/// `deadline.rs` for why a connect that runs out of time is then always "not sent".
pub(crate) fn http_client(config: &Config) -> crate::Result<reqwest::Client> {
    // Certificates: the system's roots, read once per process, and the client's extra roots.
    tls::configure(reqwest::Client::builder(), config)?
        .connect_timeout(config.connect_timeout)
        .connector_layer(ConnectPhaseLayer {
            connect_timeout: config.connect_timeout,
        })
        .user_agent(concat!("dajisaas-rust/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        // Never more idle connections than the cap on those in use.
        .pool_max_idle_per_host(config.max_connections.permits())
        .build()
        .map_err(|e| {
            Error::new(
                ErrorCode::Internal,
                format!("could not build the HTTP client: {}", describe(&e)),
            )
        })
}

/// Sends the request once; `attempt` (1-based) is for the log line.
pub(crate) async fn send(
    http: &reqwest::Client,
    config: &Config,
    request: &SignedRequest,
    attempt: u32,
) -> Result<Reply, Failure> {
    send_gated(http, config, request, attempt, std::future::ready(Ok(()))).await
}

/// [`send`], with `gate` awaited once the connection slot is held, right before the request
/// is written: its error holds the request back ([`FailureKind::Held`]).
pub(crate) async fn send_gated(
    http: &reqwest::Client,
    config: &Config,
    request: &SignedRequest,
    attempt: u32,
    gate: impl Future<Output = Result<(), Error>>,
) -> Result<Reply, Failure> {
    // Waiting for a connection of the client's own is not part of the request's time: the
    // deadline starts in `exchange`, once the permit is held.
    let _permit = config.max_connections.acquire().await;
    if let Err(error) = gate.await {
        return Err(Failure::new(FailureKind::Held, error));
    }
    let started = Instant::now();
    let result = exchange(http, config, request).await;
    let (http_status, status, error_code, trace_id) = match &result {
        Ok(reply) => (
            Some(200),
            "200".to_string(),
            None,
            reply.envelope.trace_id.as_deref(),
        ),
        Err(f) => (
            f.error.http_status(),
            f.error
                .http_status()
                .map_or_else(|| format!("{:?}", f.kind), |s| s.to_string()),
            Some(f.error.code().as_str()),
            f.error.trace_id(),
        ),
    };
    let elapsed_ms = started.elapsed().as_millis() as u64;
    payment_log!(
        debug,
        method = request.method.as_str(),
        path = request.path.as_str(),
        http_status = http_status,
        error_code = error_code,
        trace_id = trace_id,
        elapsed_ms = elapsed_ms,
        attempt = attempt;
        "{} {} status={status} traceId={} elapsed_ms={elapsed_ms} attempt={attempt}",
        request.method.as_str(),
        request.path,
        trace_id.unwrap_or("-"),
    );
    result
}

async fn exchange(
    http: &reqwest::Client,
    config: &Config,
    request: &SignedRequest,
) -> Result<Reply, Failure> {
    let builder = match &request.body {
        Some(body) => http
            .post(request.url.clone())
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(body.clone()),
        None => http.get(request.url.clone()),
    };
    let deadline = tokio::time::Instant::now() + config.timeout;
    let mut response = match within(deadline, builder.send()).await {
        Ok(Ok(response)) => response,
        Ok(Err(e)) => return Err(send_failure(&e, config)),
        Err(Elapsed) => return Err(no_answer(config, "after sending the request")),
    };
    let status = response.status().as_u16();
    // Outside `with_answer_status` (no attempt scope) there is nothing to tell.
    let _ = ANSWER_STATUS.try_with(|answered| answered.set(Some(status)));
    let body = match within(deadline, read_capped(&mut response, config)).await {
        Ok(read) => read,
        Err(Elapsed) => Err(no_answer(config, "while reading the response")),
    }
    .map_err(|f| {
        let error = f.error.with_http_status(Some(status));
        Failure::new(f.kind, error)
    })?;
    classify(status, &body, config)
}

async fn read_capped(
    response: &mut reqwest::Response,
    config: &Config,
) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(None) => return Ok(body),
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY_BYTES {
                    return Err(Failure::new(
                        FailureKind::Decode,
                        Error::new(
                            ErrorCode::Decode,
                            format!("response body exceeds {MAX_BODY_BYTES} bytes"),
                        ),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Err(e) => return Err(after_send_failure(&e, config, "while reading the response")),
        }
    }
}

/// A failure of `send()`: either nothing was written (the request could not be built, or the
/// connect phase failed) or the answer never came.
fn send_failure(e: &reqwest::Error, config: &Config) -> Failure {
    if e.is_builder() {
        return Failure::new(
            FailureKind::NotBuilt,
            Error::invalid(format!(
                "the request could not be built, so nothing was sent: {}",
                describe(e)
            )),
        );
    }
    if e.is_connect() {
        let code = if e.is_timeout() {
            ErrorCode::Timeout
        } else {
            ErrorCode::Connection
        };
        let host = config.base_url.host_str().unwrap_or("?");
        let cause = describe(e);
        let hint = if cause.to_ascii_lowercase().contains("certificate") {
            "; the server's TLS certificate is not trusted (behind a TLS-inspecting proxy, add \
             its CA with add_root_certificates_pem)"
        } else {
            ""
        };
        return Failure::new(
            FailureKind::NotSent,
            Error::new(code, format!("could not connect to {host}: {cause}{hint}")),
        );
    }
    after_send_failure(e, config, "after sending the request")
}

fn after_send_failure(e: &reqwest::Error, config: &Config, when: &str) -> Failure {
    if e.is_timeout() {
        no_answer(config, when)
    } else {
        Failure::new(
            FailureKind::Lost,
            Error::new(
                ErrorCode::Connection,
                format!("connection lost {when}: {}", describe(e)),
            ),
        )
    }
}

fn no_answer(config: &Config, when: &str) -> Failure {
    Failure::new(
        FailureKind::Timeout,
        Error::new(
            ErrorCode::Timeout,
            format!("no complete answer within {:?} {when}", config.timeout),
        ),
    )
}

/// The error and its causes, without the URL (which holds the secret in debug mode).
fn describe(e: &reqwest::Error) -> String {
    let mut text = String::new();
    let mut cause: Option<&dyn std::error::Error> = e.source();
    while let Some(c) = cause {
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&c.to_string());
        cause = c.source();
    }
    if text.is_empty() {
        "unknown error".to_string()
    } else {
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientBuilder;
    use crate::transport::Effect;

    #[test]
    fn a_request_the_http_layer_cannot_build_is_invalid_argument_and_final() {
        let config = ClientBuilder::new("k", "s").into_config().unwrap();
        let e = reqwest::Client::new()
            .get("http://127.0.0.1:9/")
            .header("bad header", "v")
            .build()
            .unwrap_err();
        assert!(e.is_builder());
        let f = send_failure(&e, &config);
        assert_eq!(f.kind, FailureKind::NotBuilt);
        assert_eq!(f.error.code(), ErrorCode::InvalidArgument);
        assert!(
            f.error.message().contains("nothing was sent"),
            "{}",
            f.error
        );
        assert_eq!(f.effect(), Effect::None);
        assert!(!f.is_transient());
    }
}

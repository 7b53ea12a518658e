//! One signed HTTP exchange with the gateway, and what it ended as.
//!
//! A request is built and signed once (every input problem surfaces here, before anything is
//! sent) and may then be sent several times by the retry loop. Each send ends as a [`Reply`]
//! (envelope code 200) or a [`Failure`] whose [`FailureKind`] tells the endpoints whether the
//! request could have had an effect.

use std::error::Error as _;
use std::time::{Duration, Instant};

use reqwest::Url;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde_json::Value;

use crate::config::Config;
use crate::envelope::{CODE_OK, Envelope};
use crate::error::{Error, ErrorCode};
use crate::sign::{Params, SIGN_PARAM, render_value, sign};

/// Largest response body read; a larger one is a `decode` error, not a memory spike.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// The HTTP methods the gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters as the top-level fields of a JSON body.
    Post,
}

impl Method {
    /// `"GET"` or `"POST"`, any case; anything else is an `invalid_argument`.
    pub fn parse(text: &str) -> crate::Result<Method> {
        match text.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            _ => Err(Error::invalid(format!(
                "method {text:?} is not supported; the gateway takes GET or POST"
            ))),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Names the client fills in itself; callers may not pass them.
const RESERVED: [&str; 3] = ["appKey", "appSecret", SIGN_PARAM];

/// A request that has been validated and signed and can be sent (again).
pub(crate) struct SignedRequest {
    method: Method,
    path: String,
    url: Url,
    body: Option<Vec<u8>>,
}

impl SignedRequest {
    pub fn new(config: &Config, method: Method, path: &str, params: Params) -> crate::Result<Self> {
        let mut url = config.endpoint(path)?;
        let mut all = Params::new();
        all.insert("appKey".into(), Value::String(config.app_key.clone()));
        for (key, value) in params {
            if RESERVED.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "parameter {key:?} is set by the client; do not pass it"
                )));
            }
            all.insert(key, value);
        }
        let secret = config.app_secret.expose();
        if config.send_app_secret {
            all.insert("appSecret".into(), Value::String(secret.to_string()));
        } else {
            let signature = sign(&all, secret);
            all.insert(SIGN_PARAM.into(), Value::String(signature));
        }
        let body = match method {
            Method::Get => {
                let mut query = url.query_pairs_mut();
                for (key, value) in &all {
                    if let Some(text) = render_value(value) {
                        query.append_pair(key, &text);
                    }
                }
                drop(query);
                None
            }
            Method::Post => Some(serde_json::to_vec(&all).map_err(|e| {
                Error::new(
                    ErrorCode::Internal,
                    format!("could not encode the body: {e}"),
                )
            })?),
        };
        Ok(SignedRequest {
            method,
            path: path.to_string(),
            url,
            body,
        })
    }

    #[cfg(test)]
    pub fn url(&self) -> &Url {
        &self.url
    }
}

/// A response whose envelope says `code == 200`.
#[derive(Debug)]
pub(crate) struct Reply {
    pub envelope: Envelope,
}

/// Why an exchange failed, as far as its effect on the gateway goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// Connecting (DNS, TCP, TLS) failed: the request was never written.
    NotSent,
    /// The gateway refused the call for its call-frequency limit.
    RateLimited,
    /// The request was sent but no complete answer came within the timeout.
    Timeout,
    /// The connection broke after the request was (or may have been) written.
    Lost,
    /// HTTP 5xx.
    ServerError,
    /// A 2xx answer whose body is not an envelope, or is too large.
    Decode,
    /// A non-2xx, non-5xx answer without a usable envelope.
    HttpStatus,
    /// An envelope with `code != 200`.
    Api,
}

#[derive(Debug)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub error: Error,
}

impl Failure {
    fn new(kind: FailureKind, error: Error) -> Self {
        Failure { kind, error }
    }
}

/// Builds the HTTP client: rustls with certificate checks, no redirects (a signed payment must
/// not be forwarded anywhere silently), proxies from the environment.
pub(crate) fn http_client(config: &Config) -> crate::Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder();
    if !config.extra_roots.is_empty() {
        builder = builder.tls_certs_merge(config.extra_roots.iter().cloned());
    }
    builder
        .timeout(config.timeout)
        .connect_timeout(config.connect_timeout)
        .user_agent(concat!("dajisaas-rust/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(Duration::from_secs(30))
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
    let started = Instant::now();
    let result = exchange(http, config, request).await;
    let (status, trace_id) = match &result {
        Ok(reply) => ("200".to_string(), reply.envelope.trace_id.clone()),
        Err(f) => (
            f.error
                .http_status()
                .map_or_else(|| format!("{:?}", f.kind), |s| s.to_string()),
            f.error.trace_id().map(str::to_string),
        ),
    };
    log::debug!(
        target: "dajisaas",
        "{} {} status={} traceId={} elapsed_ms={} attempt={}",
        request.method.as_str(),
        request.path,
        status,
        trace_id.as_deref().unwrap_or("-"),
        started.elapsed().as_millis(),
        attempt
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
    let mut response = builder.send().await.map_err(|e| send_failure(&e, config))?;
    let status = response.status().as_u16();
    let body = read_capped(&mut response, config).await.map_err(|f| {
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

fn classify(status: u16, body: &[u8], config: &Config) -> Result<Reply, Failure> {
    let parsed = Envelope::parse(body);
    let secret = config.app_secret.expose();
    let (trace_id, api_code) = match &parsed {
        Ok(env) => (env.trace_id.clone(), Some(env.code)),
        Err(_) => (None, None),
    };
    let fail = |kind, code, message: String| {
        Err(Failure::new(
            kind,
            Error::new(code, redact(&message, secret))
                .with_http_status(Some(status))
                .with_trace_id(trace_id.clone())
                .with_api_code(api_code.filter(|c| *c != CODE_OK)),
        ))
    };
    if status >= 500 {
        return fail(
            FailureKind::ServerError,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        );
    }
    if status == 429 {
        return fail(
            FailureKind::RateLimited,
            ErrorCode::RateLimited,
            "gateway answered HTTP 429 (too many requests)".into(),
        );
    }
    let success = (200..300).contains(&status);
    match parsed {
        Err(why) if success => fail(
            FailureKind::Decode,
            ErrorCode::Decode,
            format!("gateway answered HTTP {status} but the {why}"),
        ),
        Err(_) => fail(
            FailureKind::HttpStatus,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        ),
        Ok(env) if env.is_rate_limited() => fail(
            FailureKind::RateLimited,
            ErrorCode::RateLimited,
            format!("gateway call-frequency limit: {}", env.message_or_default()),
        ),
        Ok(env) if env.code != CODE_OK => fail(
            FailureKind::Api,
            ErrorCode::Api,
            format!(
                "gateway refused the call (code {}): {}",
                env.code,
                env.message_or_default()
            ),
        ),
        Ok(_) if !success => fail(
            FailureKind::HttpStatus,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        ),
        Ok(envelope) => Ok(Reply { envelope }),
    }
}

/// Classifies an answer with a throwaway configuration (property tests only).
#[cfg(test)]
pub(crate) fn classify_for_tests(status: u16, body: &[u8]) -> Result<Reply, Failure> {
    let config = crate::config::ClientBuilder::new("k", "s")
        .into_config()
        .expect("valid");
    classify(status, body, &config)
}

/// A failure of `send()`: either nothing was written (connect phase) or the answer never came.
fn send_failure(e: &reqwest::Error, config: &Config) -> Failure {
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
        Failure::new(
            FailureKind::Timeout,
            Error::new(
                ErrorCode::Timeout,
                format!("no complete answer within {:?} {when}", config.timeout),
            ),
        )
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

/// Replaces the secret wherever a message might echo it.
pub(crate) fn redact(message: &str, secret: &str) -> String {
    if secret.is_empty() || !message.contains(secret) {
        message.to_string()
    } else {
        message.replace(secret, "***")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientBuilder;
    use serde_json::json;

    fn config(debug: bool) -> Config {
        ClientBuilder::new("K", "S3CRET")
            .base_url("http://127.0.0.1:9")
            .dangerously_send_app_secret_instead_of_sign(debug)
            .into_config()
            .unwrap()
    }

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn get_puts_signed_params_in_query_without_secret() {
        let req = SignedRequest::new(
            &config(false),
            Method::Get,
            "/x",
            params(json!({"orderIdList": "[1,2]"})),
        )
        .unwrap();
        let url = req.url().as_str();
        assert!(
            url.starts_with("http://127.0.0.1:9/x?appKey=K&orderIdList=%5B1%2C2%5D&sign="),
            "{url}"
        );
        assert!(!url.contains("S3CRET"));
    }

    #[test]
    fn debug_mode_sends_secret_and_no_sign() {
        let req = SignedRequest::new(&config(true), Method::Get, "/x", Params::new()).unwrap();
        assert!(req.url().as_str().ends_with("appKey=K&appSecret=S3CRET"));
    }

    #[test]
    fn reserved_names_are_rejected() {
        for name in RESERVED {
            let p = params(json!({ name: "x" }));
            let e = SignedRequest::new(&config(false), Method::Post, "/x", p)
                .err()
                .unwrap();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
        }
    }

    #[test]
    fn classification() {
        let c = config(false);
        let kind = |status, body: &str| classify(status, body.as_bytes(), &c).err().map(|f| f.kind);
        assert_eq!(kind(200, r#"{"code":200,"data":{}}"#), None);
        assert_eq!(kind(502, r#"{"code":200}"#), Some(FailureKind::ServerError));
        assert_eq!(kind(429, ""), Some(FailureKind::RateLimited));
        assert_eq!(
            kind(200, r#"{"code":429,"message":"x"}"#),
            Some(FailureKind::RateLimited)
        );
        assert_eq!(
            kind(200, r#"{"code":401,"message":"签名错误"}"#),
            Some(FailureKind::Api)
        );
        assert_eq!(kind(200, "not json"), Some(FailureKind::Decode));
        assert_eq!(kind(404, "not found"), Some(FailureKind::HttpStatus));
        assert_eq!(
            kind(400, r#"{"code":400,"message":"bad"}"#),
            Some(FailureKind::Api)
        );
    }

    #[test]
    fn api_messages_are_redacted() {
        let f = classify(
            200,
            br#"{"code":401,"message":"bad secret S3CRET","traceId":"t1"}"#,
            &config(false),
        )
        .unwrap_err();
        assert!(!f.error.message().contains("S3CRET"));
        assert_eq!(f.error.trace_id(), Some("t1"));
        assert_eq!(f.error.api_code(), Some(401));
    }
}

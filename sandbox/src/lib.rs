//! # dajisaas-sandbox
//!
//! A stand-in for the Dajisaas gateway on 127.0.0.1, for tests, benchmarks and demos: it checks
//! signatures like the gateway, answers in its envelope with a fresh `traceId`, keeps per-order
//! deduction counts, and misbehaves on purpose for the order ids listed in [`Behaviour`].
//!
//! ```
//! let sandbox = dajisaas_sandbox::Sandbox::start(dajisaas_sandbox::SandboxConfig::default())?;
//! println!("gateway at {}", sandbox.url());
//! assert_eq!(sandbox.stats().requests, 0);
//! # Ok::<(), std::io::Error>(())
//! ```
//!
//! Like the real platform it never deducts an order twice: a payment call for an order already
//! paid is declined ("order already paid") and counted in [`Stats::pay_calls_after_paid`]. A
//! request it has started is finished even when the client goes away (a timeout, a cancelled
//! call): its deduction happens all the same, as it would at the gateway.
//!
//! Besides the gateway's endpoints it serves `GET /_sandbox/stats` (counts, as JSON),
//! `GET /_sandbox/requests` (the requests it received) and `POST /_sandbox/reset`.
#![warn(missing_docs)]

mod behaviour;
mod body;
mod gateway;
mod state;
mod tls;

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State as AxumState;
use axum::routing::{get, post};
use tokio::sync::oneshot;

pub use behaviour::{Behaviour, Chaos};
pub use state::{RecordedRequest, Stats};

use state::State;

/// App key the sandbox accepts unless told otherwise.
pub const DEFAULT_APP_KEY: &str = "sandbox-app-key";
/// App secret the sandbox accepts unless told otherwise.
pub const DEFAULT_APP_SECRET: &str = "sandbox-app-secret";

/// How the sandbox behaves.
#[derive(Clone)]
pub struct SandboxConfig {
    /// Port on 127.0.0.1; 0 lets the system choose.
    pub port: u16,
    /// The only app key accepted.
    pub app_key: String,
    /// The secret signatures are checked against.
    pub app_secret: String,
    /// Added to every gateway answer.
    pub latency: Duration,
    /// How long `9007…` (slow) orders wait before answering.
    pub slow: Duration,
    /// How long `9002…` (deduct then hang) orders hold their answer back.
    pub hang: Duration,
    /// Seeded random faults for orders without a pattern of their own (off by default).
    pub chaos: Option<Chaos>,
    /// Serve HTTPS with a certificate from a throwaway CA (see [`Sandbox::ca_pem`]).
    pub tls: bool,
    /// The gateway's rate limit: each app key may make bursts of up to this many calls, refilled
    /// at this many calls a second; calls past it get the call-frequency refusal (envelope code
    /// 429) and count in [`Stats::rate_limited`]. `/_sandbox/` endpoints are exempt. `None`
    /// (the default): no limit; `Some(0)` refuses every call.
    pub qps: Option<u32>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            app_key: DEFAULT_APP_KEY.into(),
            app_secret: DEFAULT_APP_SECRET.into(),
            latency: Duration::ZERO,
            slow: Duration::from_secs(3),
            hang: Duration::from_secs(30),
            chaos: None,
            tls: false,
            qps: None,
        }
    }
}

impl SandboxConfig {
    /// The same configuration with `latency` added to every answer.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }
}

impl fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("port", &self.port)
            .field("app_key", &self.app_key)
            .field("app_secret", &"***")
            .field("latency", &self.latency)
            .field("slow", &self.slow)
            .field("hang", &self.hang)
            .field("chaos", &self.chaos)
            .field("tls", &self.tls)
            .field("qps", &self.qps)
            .finish()
    }
}

/// A running sandbox. It stops when dropped.
pub struct Sandbox {
    addr: SocketAddr,
    ca_pem: Option<String>,
    state: Arc<State>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Sandbox {
    /// Binds 127.0.0.1 and serves on a background thread with its own runtime.
    pub fn start(config: SandboxConfig) -> std::io::Result<Sandbox> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("dajisaas-sandbox")
            .enable_all()
            .build()?;
        // Bound here, not in the runtime, so that start() also works inside an async context.
        let listener = std::net::TcpListener::bind(("127.0.0.1", config.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let tls = if config.tls {
            Some(tls::generate()?)
        } else {
            None
        };
        let ca_pem = tls.as_ref().map(|t| t.ca_pem.clone());
        let state = Arc::new(State::new(config));
        let app = router(state.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("dajisaas-sandbox".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let tcp = tokio::net::TcpListener::from_std(listener)
                        .expect("a bound std listener converts");
                    match tls {
                        Some(t) => {
                            let listener = tls::TlsListener {
                                tcp,
                                acceptor: t.acceptor,
                            };
                            tokio::select! {
                                _ = axum::serve(listener, app) => {}
                                _ = stopped => {}
                            }
                        }
                        None => {
                            tokio::select! {
                                _ = axum::serve(tcp, app) => {}
                                _ = stopped => {}
                            }
                        }
                    }
                });
                // Requests still being handled (slow, hang) are dropped, not awaited.
                runtime.shutdown_background();
            })?;
        Ok(Sandbox {
            addr,
            ca_pem,
            state,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Where it listens, e.g. `http://127.0.0.1:41234` (`https://` in TLS mode).
    pub fn url(&self) -> String {
        let scheme = if self.ca_pem.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{}", self.addr)
    }

    /// In TLS mode, the PEM certificate of the CA that signed the sandbox's certificate.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The socket address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its counters now.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// The most recent requests it received (up to 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests()
    }

    /// Forgets every order, count and request, and refills the rate limit.
    pub fn reset(&self) {
        self.state.reset()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn router(state: Arc<State>) -> Router {
    Router::new()
        .route("/_sandbox/stats", get(stats))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/reset", post(reset))
        .fallback(gateway::handle)
        .with_state(state)
}

async fn stats(AxumState(state): AxumState<Arc<State>>) -> Json<Stats> {
    Json(state.stats())
}

async fn requests(AxumState(state): AxumState<Arc<State>>) -> Json<Vec<RecordedRequest>> {
    Json(state.requests())
}

async fn reset(AxumState(state): AxumState<Arc<State>>) -> &'static str {
    state.reset();
    "reset"
}

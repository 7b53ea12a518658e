//! `require('dajisaas/testing')`: the sandbox gateway (`daji sandbox`) served from this process,
//! on its own threads, for users' test suites (see testing.js).

use std::sync::Mutex;
use std::time::Duration;

use dajisaas_sandbox::{Chaos, Sandbox, SandboxConfig};
use napi_derive::napi;

/// `startSandbox`'s options; each left out takes `daji sandbox`'s default.
#[napi(object)]
pub struct SandboxOptions {
    pub app_key: Option<String>,
    pub app_secret: Option<String>,
    /// 0 (the default): a free port.
    pub port: Option<u32>,
    pub latency_ms: Option<u32>,
    /// How long `9007…` orders take (default 3000).
    pub slow_ms: Option<u32>,
    /// How long `9002…` orders hold their answer back (default 30000).
    pub hang_ms: Option<u32>,
    /// The gateway's call-frequency limit per app key.
    pub qps: Option<u32>,
    /// Seeded random faults for orders without a pattern of their own.
    pub chaos_seed: Option<u32>,
}

/// A running sandbox gateway on 127.0.0.1; testing.js wraps it.
#[napi]
pub struct NativeSandbox {
    running: Mutex<Option<Sandbox>>,
    url: String,
    app_key: String,
}

impl NativeSandbox {
    fn with<T>(&self, f: impl FnOnce(&Sandbox) -> T) -> napi::Result<T> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .as_ref()
            .map(f)
            .ok_or_else(|| napi::Error::from_reason("this sandbox is closed"))
    }
}

#[napi]
impl NativeSandbox {
    #[napi(constructor)]
    pub fn new(options: Option<SandboxOptions>) -> napi::Result<Self> {
        let defaults = SandboxConfig::default();
        let o = options.unwrap_or(SandboxOptions {
            app_key: None,
            app_secret: None,
            port: None,
            latency_ms: None,
            slow_ms: None,
            hang_ms: None,
            qps: None,
            chaos_seed: None,
        });
        let millis = |ms: Option<u32>, default: Duration| {
            ms.map_or(default, |ms| Duration::from_millis(u64::from(ms)))
        };
        let port = u16::try_from(o.port.unwrap_or(0))
            .map_err(|_| napi::Error::from_reason("port must be 0 to 65535"))?;
        let config = SandboxConfig {
            port,
            app_key: o.app_key.unwrap_or(defaults.app_key),
            app_secret: o.app_secret.unwrap_or(defaults.app_secret),
            latency: millis(o.latency_ms, defaults.latency),
            slow: millis(o.slow_ms, defaults.slow),
            hang: millis(o.hang_ms, defaults.hang),
            chaos: o.chaos_seed.map(|seed| Chaos {
                seed: u64::from(seed),
            }),
            tls: false,
            qps: o.qps,
        };
        let app_key = config.app_key.clone();
        let sandbox = Sandbox::start(config)
            .map_err(|e| napi::Error::from_reason(format!("the sandbox could not start: {e}")))?;
        Ok(NativeSandbox {
            url: sandbox.url(),
            app_key,
            running: Mutex::new(Some(sandbox)),
        })
    }

    #[napi(getter)]
    pub fn url(&self) -> String {
        self.url.clone()
    }

    #[napi(getter)]
    pub fn app_key(&self) -> String {
        self.app_key.clone()
    }

    /// The counters (`GET /_sandbox/stats`).
    #[napi]
    pub fn stats(&self) -> napi::Result<serde_json::Value> {
        let stats = self.with(|s| serde_json::to_value(s.stats()))?;
        stats.map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// The requests received (`GET /_sandbox/requests`), oldest first.
    #[napi]
    pub fn requests(&self) -> napi::Result<serde_json::Value> {
        let requests = self.with(|s| serde_json::to_value(s.requests()))?;
        requests.map_err(|e| napi::Error::from_reason(e.to_string()))
    }

    /// Forgets every payment, link and counter.
    #[napi]
    pub fn reset(&self) -> napi::Result<()> {
        self.with(|s| s.reset())
    }

    /// Stops serving; closing twice is fine.
    #[napi]
    pub fn close(&self) {
        drop(
            self.running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .take(),
        );
    }
}

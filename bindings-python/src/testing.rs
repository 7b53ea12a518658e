//! `dajisaas.testing.Sandbox`: the sandbox gateway (`daji sandbox`) served from this process, on
//! its own threads, for users' test suites.

use std::time::Duration;

use dajisaas_sandbox::{Chaos, SandboxConfig};
use pyo3::prelude::*;

use crate::convert::to_python;

/// A running sandbox gateway on 127.0.0.1; it stops when closed or collected.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct NativeSandbox {
    running: std::sync::Mutex<Option<dajisaas_sandbox::Sandbox>>,
    #[pyo3(get)]
    url: String,
}

impl NativeSandbox {
    fn with<T>(&self, f: impl FnOnce(&dajisaas_sandbox::Sandbox) -> T) -> PyResult<T> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running
            .as_ref()
            .map(f)
            .ok_or_else(|| pyo3::exceptions::PyRuntimeError::new_err("this sandbox is closed"))
    }
}

#[pymethods]
impl NativeSandbox {
    #[new]
    #[pyo3(signature = (app_key, app_secret, port, latency_ms, slow_ms, hang_ms, qps, chaos_seed))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        app_key: String,
        app_secret: String,
        port: u16,
        latency_ms: u64,
        slow_ms: u64,
        hang_ms: u64,
        qps: Option<u32>,
        chaos_seed: Option<u64>,
    ) -> PyResult<Self> {
        let config = SandboxConfig {
            port,
            app_key,
            app_secret,
            latency: Duration::from_millis(latency_ms),
            slow: Duration::from_millis(slow_ms),
            hang: Duration::from_millis(hang_ms),
            chaos: chaos_seed.map(|seed| Chaos { seed }),
            tls: false,
            qps,
        };
        let sandbox = py
            .detach(|| dajisaas_sandbox::Sandbox::start(config))
            .map_err(|e| {
                pyo3::exceptions::PyOSError::new_err(format!("the sandbox could not start: {e}"))
            })?;
        Ok(NativeSandbox {
            url: sandbox.url(),
            running: std::sync::Mutex::new(Some(sandbox)),
        })
    }

    /// The sandbox's counters (`GET /_sandbox/stats`) as a dict.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let stats = self.with(|s| serde_json::to_value(s.stats()))?;
        to_python(py, &stats.unwrap_or_default())
    }

    /// The requests it received (`GET /_sandbox/requests`), oldest first.
    fn requests<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let requests = self.with(|s| serde_json::to_value(s.requests()))?;
        to_python(py, &requests.unwrap_or_default())
    }

    /// Forgets every payment, link and counter.
    fn reset(&self) -> PyResult<()> {
        self.with(|s| s.reset())
    }

    /// Stops serving; closing twice is fine.
    fn close(&self, py: Python<'_>) {
        let running = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        py.detach(|| drop(running));
    }
}

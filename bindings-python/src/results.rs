//! Immutable result objects with readable `repr`s.

use pyo3::prelude::*;
use serde_json::Value;

use crate::convert::to_python;

/// A cashier link for one or more orders.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct PayUrl {
    #[pyo3(get)]
    url: String,
    #[pyo3(get)]
    order_ids: Vec<String>,
    #[pyo3(get)]
    trace_id: Option<String>,
    #[pyo3(get)]
    attempts: u32,
    raw: Value,
}

#[pymethods]
impl PayUrl {
    /// The whole `data` object of the answer, unknown fields included.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.raw)
    }

    fn __repr__(&self) -> String {
        format!(
            "PayUrl(url={:?}, order_ids={:?}, trace_id={:?}, attempts={})",
            self.url, self.order_ids, self.trace_id, self.attempts
        )
    }
}

impl From<dajisaas::PayUrl> for PayUrl {
    fn from(p: dajisaas::PayUrl) -> Self {
        PayUrl {
            url: p.url,
            order_ids: p.order_ids,
            trace_id: p.trace_id,
            attempts: p.attempts,
            raw: p.data,
        }
    }
}

/// A completed password-free payment.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct Payment {
    #[pyo3(get)]
    order_id: String,
    #[pyo3(get)]
    pay_channel: Option<String>,
    #[pyo3(get)]
    attempts: u32,
    #[pyo3(get)]
    trace_id: Option<String>,
    /// True when no request was sent: the journal had the order paid, or this call waited for a
    /// payment of it already under way in this process.
    #[pyo3(get)]
    replayed: bool,
    raw: Value,
}

#[pymethods]
impl Payment {
    /// The whole `data` object of the answer, unknown fields included.
    #[getter]
    fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_python(py, &self.raw)
    }

    fn __repr__(&self) -> String {
        format!(
            "Payment(order_id={:?}, pay_channel={:?}, attempts={}, trace_id={:?}, replayed={})",
            self.order_id, self.pay_channel, self.attempts, self.trace_id, self.replayed
        )
    }
}

impl From<dajisaas::Payment> for Payment {
    fn from(p: dajisaas::Payment) -> Self {
        Payment {
            order_id: p.order_id,
            pay_channel: p.pay_channel,
            attempts: p.attempts,
            trace_id: p.trace_id,
            replayed: p.replayed,
            raw: p.data,
        }
    }
}

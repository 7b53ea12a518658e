//! Immutable result objects with readable `repr`s.

use pyo3::BoundObject;
use pyo3::prelude::*;
use pyo3::types::PyList;
use serde_json::Value;

use crate::convert::to_python;
use crate::errors::to_py_err;

/// Python's `repr` of a Rust value (`'text'`, `None`, `['a', 'b']`).
fn repr<'py, T>(py: Python<'py>, value: T) -> PyResult<String>
where
    T: IntoPyObject<'py>,
{
    let object = value.into_pyobject(py).map_err(Into::into)?;
    Ok(object.into_any().into_bound().repr()?.to_string())
}

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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PayUrl(url={}, order_ids={}, trace_id={}, attempts={})",
            repr(py, &self.url)?,
            repr(py, &self.order_ids)?,
            repr(py, &self.trace_id)?,
            self.attempts
        ))
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

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Payment(order_id={}, pay_channel={}, attempts={}, trace_id={}, replayed={})",
            repr(py, &self.order_id)?,
            repr(py, &self.pay_channel)?,
            self.attempts,
            repr(py, &self.trace_id)?,
            if self.replayed { "True" } else { "False" }
        ))
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

/// One order of a `pay_many` run: its id, its outcome in one word (`paid`, `declined`,
/// `unknown`, `in_progress`, `failed`), and the `Payment` or the error (an exception object).
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct PayManyItem {
    #[pyo3(get)]
    order_id: String,
    #[pyo3(get)]
    outcome: &'static str,
    #[pyo3(get)]
    payment: Option<Py<Payment>>,
    #[pyo3(get)]
    error: Option<Py<PyAny>>,
}

#[pymethods]
impl PayManyItem {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let detail = match (&self.payment, &self.error) {
            (Some(payment), _) => format!("payment={}", payment.bind(py).repr()?),
            (_, Some(error)) => format!("error={}", error.bind(py).repr()?),
            _ => String::new(),
        };
        Ok(format!(
            "PayManyItem(order_id={}, outcome={}, {detail})",
            repr(py, &self.order_id)?,
            repr(py, self.outcome)?
        ))
    }
}

impl PayManyItem {
    /// Built on a Python thread: the error becomes the exception of its code.
    pub fn new(py: Python<'_>, item: dajisaas::PayManyItem) -> PyResult<Self> {
        let outcome = item.outcome.as_str();
        let (payment, error) = match item.result {
            Ok(payment) => (Some(Py::new(py, Payment::from(payment))?), None),
            Err(error) => (None, Some(to_py_err(py, error).into_value(py).into_any())),
        };
        Ok(PayManyItem {
            order_id: item.order_id,
            outcome,
            payment,
            error,
        })
    }
}

/// What `pay_many` returns: `results`, one `PayManyItem` per order in input order (repeats
/// dropped), and `summary`, a dict from each outcome word to its count (zeros included).
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct PayManyResult {
    #[pyo3(get)]
    results: Py<PyList>,
    #[pyo3(get)]
    summary: Py<PyAny>,
}

#[pymethods]
impl PayManyResult {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PayManyResult(summary={}, results=[{} items])",
            self.summary.bind(py).repr()?,
            self.results.bind(py).len()
        ))
    }
}

impl PayManyResult {
    pub fn new(py: Python<'_>, report: dajisaas::PayManyReport) -> PyResult<Self> {
        let items = report
            .results
            .into_iter()
            .map(|item| Py::new(py, PayManyItem::new(py, item)?))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PayManyResult {
            results: PyList::new(py, items)?.unbind(),
            summary: to_python(py, &report.summary.to_json())?.unbind(),
        })
    }
}

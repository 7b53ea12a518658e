//! Immutable result objects: readable `repr`s in Python values, `to_dict()`, equality by value,
//! pickling (`__reduce__` to a `_restore_*` function of this module, the answer's `data` kept as
//! its exact JSON text), copying (they are immutable: a copy is the object itself) and weak
//! references, so that they can be stored, cached and sent between processes.

use pyo3::BoundObject;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
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

/// `(restore, (fields…))` for `__reduce__`: `restore` is this module's function of that name.
fn reduce<'py>(
    py: Python<'py>,
    restore: &str,
    fields: impl IntoPyObject<'py, Target = PyTuple>,
) -> PyResult<Bound<'py, PyTuple>> {
    let module = py.import("dajisaas._dajisaas")?;
    let fields = fields.into_pyobject(py).map_err(Into::into)?;
    PyTuple::new(
        py,
        [module.getattr(restore)?, fields.into_any().into_bound()],
    )
}

/// The answer's `data` back from its JSON text.
fn parse_data(text: &str) -> PyResult<Value> {
    serde_json::from_str(text)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("data is not JSON: {e}")))
}

/// A result class whose fields are plain values plus the answer's `data`, kept as its compact
/// JSON text (read when asked for: a run of many payments holds a short string per order
/// instead of a tree of maps). The macro writes the class, its `data`, `to_dict`, `__reduce__`
/// (to the `_restore_*` function it also writes), `__copy__`, `__deepcopy__` and `__repr__`.
macro_rules! answer_class {
    ($(#[doc = $doc:literal])* $class:ident($restore:ident) {
        $($(#[doc = $fdoc:literal])* $field:ident: $type:ty,)*
    }) => {
        $(#[doc = $doc])*
        #[pyclass(frozen, weakref, eq, module = "dajisaas._dajisaas")]
        #[derive(PartialEq)]
        pub struct $class {
            $($(#[doc = $fdoc])* #[pyo3(get)] $field: $type,)*
            raw: String,
        }

        #[pymethods]
        impl $class {
            /// The whole `data` object of the answer, unknown fields included.
            #[getter]
            fn data<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                to_python(py, &parse_data(&self.raw)?)
            }

            /// The fields as a dict, `data` included.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let dict = PyDict::new(py);
                $(dict.set_item(stringify!($field), &self.$field)?;)*
                dict.set_item("data", self.data(py)?)?;
                Ok(dict)
            }

            fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
                let fields = ($(self.$field.clone(),)* self.raw.clone());
                reduce(py, stringify!($restore), fields)
            }

            fn __copy__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
                slf
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let shown: Vec<String> = vec![$(format!("{}={}", stringify!($field), repr(py, &self.$field)?)),*];
                Ok(format!("{}({})", stringify!($class), shown.join(", ")))
            }
        }

        /// The class from its pickled fields.
        #[pyfunction]
        pub fn $restore($($field: $type,)* data: &str) -> PyResult<$class> {
            Ok($class { $($field,)* raw: parse_data(data)?.to_string() })
        }
    };
}

answer_class! {
    /// A cashier link for one or more orders.
    PayUrl(_restore_pay_url) {
        url: String,
        order_ids: Vec<String>,
        trace_id: Option<String>,
        attempts: u32,
    }
}

impl From<dajisaas::PayUrl> for PayUrl {
    fn from(p: dajisaas::PayUrl) -> Self {
        PayUrl {
            url: p.url,
            order_ids: p.order_ids,
            trace_id: p.trace_id,
            attempts: p.attempts,
            raw: p.data.to_string(),
        }
    }
}

answer_class! {
    /// A completed password-free payment.
    Payment(_restore_payment) {
        order_id: String,
        pay_channel: Option<String>,
        attempts: u32,
        trace_id: Option<String>,
        /// True when no request was sent: the journal had the order paid, or this call waited
        /// for a payment of it already under way in this process.
        replayed: bool,
        /// True when the gateway answered that the order was already paid: it counts as paid
        /// and was not retried.
        already_paid: bool,
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
            already_paid: p.already_paid,
            raw: p.data.to_string(),
        }
    }
}

/// One order of a `pay_many` run: its id, its outcome in one word (`paid`, `declined`,
/// `unknown`, `in_progress`, `failed`), and the `Payment` or the error (an exception object).
#[pyclass(frozen, weakref, module = "dajisaas._dajisaas")]
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
    /// The fields as a dict: `payment` as its dict, `error` as `code`, `message`, `trace_id`,
    /// `api_code`, `http_status` and `attempts`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        dict.set_item("order_id", &self.order_id)?;
        dict.set_item("outcome", self.outcome)?;
        let payment = match &self.payment {
            Some(p) => Some(p.get().to_dict(py)?),
            None => None,
        };
        dict.set_item("payment", payment)?;
        dict.set_item("error", self.error_dict(py)?)?;
        Ok(dict)
    }

    /// Equal when every field is: the errors compared by their fields (exceptions themselves
    /// compare by identity).
    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<PayManyItem>() else {
            return Ok(false);
        };
        self.to_dict(py)?.eq(other.get().to_dict(py)?)
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let fields = (
            self.order_id.clone(),
            self.outcome,
            self.payment.as_ref().map(|p| p.clone_ref(py)),
            self.error.as_ref().map(|e| e.clone_ref(py)),
        );
        reduce(py, "_restore_pay_many_item", fields)
    }

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
    fn error_dict<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(error) = &self.error else {
            return Ok(None);
        };
        let (error, dict) = (error.bind(py), PyDict::new(py));
        for field in [
            "code",
            "message",
            "trace_id",
            "api_code",
            "http_status",
            "attempts",
        ] {
            dict.set_item(field, error.getattr(field)?)?;
        }
        Ok(Some(dict))
    }

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

/// A `PayManyItem` from its pickled fields.
#[pyfunction]
pub fn _restore_pay_many_item(
    order_id: String,
    outcome: String,
    payment: Option<Py<Payment>>,
    error: Option<Py<PyAny>>,
) -> PyResult<PayManyItem> {
    let outcome = dajisaas::PaymentOutcome::ALL
        .iter()
        .map(|o| o.as_str())
        .find(|word| *word == outcome)
        .ok_or_else(|| {
            pyo3::exceptions::PyValueError::new_err(format!("no pay_many outcome {outcome:?}"))
        })?;
    Ok(PayManyItem {
        order_id,
        outcome,
        payment,
        error,
    })
}

/// What `pay_many` returns: `results`, one `PayManyItem` per order in input order (repeats
/// dropped), and `summary`, a dict from each outcome word to its count (zeros included).
#[pyclass(frozen, weakref, module = "dajisaas._dajisaas")]
pub struct PayManyResult {
    #[pyo3(get)]
    results: Py<PyList>,
    #[pyo3(get)]
    summary: Py<PyAny>,
}

#[pymethods]
impl PayManyResult {
    /// `{"results": [item dicts], "summary": {...}}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let results = PyList::empty(py);
        for item in self.results.bind(py).iter() {
            results.append(item.cast::<PayManyItem>()?.get().to_dict(py)?)?;
        }
        let dict = PyDict::new(py);
        dict.set_item("results", results)?;
        dict.set_item("summary", self.summary.bind(py).call_method0("copy")?)?;
        Ok(dict)
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<bool> {
        let Ok(other) = other.cast::<PayManyResult>() else {
            return Ok(false);
        };
        let other = other.get();
        Ok(self.summary.bind(py).eq(other.summary.bind(py))?
            && self.results.bind(py).eq(other.results.bind(py))?)
    }

    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let fields = (self.results.clone_ref(py), self.summary.clone_ref(py));
        reduce(py, "_restore_pay_many_result", fields)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "PayManyResult(summary={}, results=[{} items])",
            self.summary.bind(py).repr()?,
            self.results.bind(py).len()
        ))
    }
}

impl PayManyResult {
    /// From the items, in input order, and the summary dict.
    pub fn from_parts(results: Py<PyList>, summary: Py<PyAny>) -> Self {
        PayManyResult { results, summary }
    }
}

/// A `PayManyResult` from its pickled fields.
#[pyfunction]
pub fn _restore_pay_many_result(results: Py<PyList>, summary: Py<PyAny>) -> PayManyResult {
    PayManyResult::from_parts(results, summary)
}

/// A result class kept as the core's JSON (`to_json`): each getter reads its field, `to_dict`
/// has them all, `__repr__` the first `shown`, and pickling carries the JSON text. Fields are
/// `python_name: "jsonKey"`, or `python_name: "jsonKey" => Class` for a list of objects of a
/// class of this kind.
macro_rules! json_class {
    ($(#[doc = $doc:literal])* $class:ident($restore:ident, shown = $shown:literal) {
        $($(#[doc = $fdoc:literal])* $field:ident: $key:literal $(=> $inner:ident)?,)*
    }) => {
        $(#[doc = $doc])*
        #[pyclass(frozen, weakref, eq, module = "dajisaas._dajisaas")]
        #[derive(PartialEq)]
        pub struct $class {
            json: Value,
        }

        impl $class {
            const FIELDS: &[&str] = &[$(stringify!($field)),*];

            fn field<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Bound<'py, PyAny>> {
                to_python(py, self.json.get(key).unwrap_or(&Value::Null))
            }
        }

        #[pymethods]
        impl $class {
            $(
                $(#[doc = $fdoc])*
                #[getter]
                #[allow(clippy::wrong_self_convention)] // `from_state` is a field, not a conversion
                fn $field<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                    json_class!(@get self, py, $key $(, $inner)?)
                }
            )*

            /// The fields as a dict.
            fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
                let dict = PyDict::new(py);
                $(dict.set_item(stringify!($field), json_class!(@dict self, py, $key $(, $inner)?))?;)*
                Ok(dict)
            }

            fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
                reduce(py, stringify!($restore), (self.json.to_string(),))
            }

            fn __copy__(slf: Py<Self>) -> Py<Self> {
                slf
            }

            fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
                slf
            }

            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                let shown = Self::FIELDS[..$shown]
                    .iter()
                    .map(|name| Ok(format!("{name}={}", slf.getattr(*name)?.repr()?)))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(format!("{}({}, ...)", stringify!($class), shown.join(", ")))
            }
        }

        /// The class from its pickled JSON text.
        #[pyfunction]
        pub fn $restore(json: &str) -> PyResult<$class> {
            Ok($class { json: parse_data(json)? })
        }
    };
    (@get $self:ident, $py:ident, $key:literal) => { $self.field($py, $key) };
    (@get $self:ident, $py:ident, $key:literal, $inner:ident) => {{
        let items = $self.json.get($key).and_then(Value::as_array).cloned().unwrap_or_default();
        let objects = items
            .into_iter()
            .map(|json| Py::new($py, $inner { json }))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(PyList::new($py, objects)?.into_any())
    }};
    (@dict $self:ident, $py:ident, $key:literal) => { $self.field($py, $key)? };
    (@dict $self:ident, $py:ident, $key:literal, $inner:ident) => {{
        let list = PyList::empty($py);
        for json in $self.json.get($key).and_then(Value::as_array).cloned().unwrap_or_default() {
            list.append($inner { json }.to_dict($py)?)?;
        }
        list
    }};
}

json_class! {
    /// One resolution of an order's payment in the journal: when (`at`, by the store's clock),
    /// who (`by`: `host`, `pid`, `user`), from which state (`from_state`, None when the journal
    /// had no record) to which (`to_state`), and why (`note`).
    PaymentResolution(_restore_payment_resolution, shown = 4) {
        at: "at",
        by: "by",
        from_state: "from",
        to_state: "to",
        note: "note",
    }
}

json_class! {
    /// What the payment journal knows about one order's payment; times are UTC RFC 3339 strings.
    PaymentRecord(_restore_payment_record, shown = 6) {
        order_id: "orderId",
        /// `in_flight`, `paid`, `declined`, `unknown` or `not_paid`.
        state: "state",
        attempts: "attempts",
        trace_ids: "traceIds",
        pay_channel: "payChannel",
        error_code: "errorCode",
        message: "message",
        data: "data",
        /// `{"host", "pid", "client_id"}`.
        owner: "owner",
        lease_until: "leaseUntil",
        created_at: "createdAt",
        updated_at: "updatedAt",
        /// The gateway's origin, `scheme://host:port`: records are kept per gateway and app key.
        gateway: "gateway",
        app_key: "appKey",
        /// The id of the current or last claim.
        claim_id: "claimId",
        /// Every resolution, oldest first, as `PaymentResolution`s.
        history: "history" => PaymentResolution,
    }
}

impl PaymentRecord {
    pub fn new(record: &dajisaas::PaymentRecord) -> Self {
        let mut json = record.to_json();
        if let Some(owner) = json.get_mut("owner").and_then(Value::as_object_mut)
            && let Some(id) = owner.remove("clientId")
        {
            owner.insert("client_id".into(), id);
        }
        PaymentRecord { json }
    }
}

//! The native client: one class behind both Python clients, each call declared once.
//!
//! Every call is one entry of [`calls!`]: its Python signature, how its arguments convert, the
//! core call it makes and how its result converts. The entry yields one native method that
//! serves every face (see [`crate::face`]): called with no `face` it waits on this thread (the
//! blocking `Client`); called with `face=(bridge, future)` it starts the call and returns a
//! [`CallHandle`], and the bridge's host (an asyncio loop for `AsyncClient`, the gevent or
//! eventlet hub for a blocking call in a monkey-patched program) settles the future.

use dajisaas::{Casing, Config, Method};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

use crate::convert;
use crate::errors::run;
use crate::face::{self, Face};
use crate::options;
use crate::results::{PayManyItem, PayUrl, Payment, PaymentRecord};

/// The client's effective options (defaults applied, secret left out), as Python spells them.
fn config_map(config: &Config) -> serde_json::Map<String, Value> {
    match config.to_json(Casing::Snake) {
        Value::Object(map) => options::shown(map),
        _ => serde_json::Map::new(),
    }
}

/// A list of result objects.
fn list_of<T, C>(py: Python<'_>, items: Vec<T>, convert: impl Fn(T) -> C) -> PyResult<Py<PyAny>>
where
    C: pyo3::PyClass + Into<pyo3::PyClassInitializer<C>>,
{
    let objects = items
        .into_iter()
        .map(|item| Py::new(py, convert(item)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(PyList::new(py, objects)?.into_any().unbind())
}

/// One result object.
fn object<C>(py: Python<'_>, value: C) -> PyResult<Py<PyAny>>
where
    C: pyo3::PyClass + Into<pyo3::PyClassInitializer<C>>,
{
    Ok(Py::new(py, value)?.into_any())
}

fn pay_url(py: Python<'_>, link: dajisaas::PayUrl) -> PyResult<Py<PyAny>> {
    object(py, PayUrl::from(link))
}

fn pay_urls(py: Python<'_>, links: Vec<dajisaas::PayUrl>) -> PyResult<Py<PyAny>> {
    list_of(py, links, PayUrl::from)
}

fn payment(py: Python<'_>, payment: dajisaas::Payment) -> PyResult<Py<PyAny>> {
    object(py, Payment::from(payment))
}

fn record(py: Python<'_>, record: dajisaas::PaymentRecord) -> PyResult<Py<PyAny>> {
    object(py, PaymentRecord::new(&record))
}

fn record_or_none(py: Python<'_>, found: Option<dajisaas::PaymentRecord>) -> PyResult<Py<PyAny>> {
    found.map_or_else(|| Ok(py.None()), |r| record(py, r))
}

fn records(py: Python<'_>, records: Vec<dajisaas::PaymentRecord>) -> PyResult<Py<PyAny>> {
    list_of(py, records, |r| PaymentRecord::new(&r))
}

fn count(py: Python<'_>, n: usize) -> PyResult<Py<PyAny>> {
    Ok(n.into_pyobject(py)?.into_any().unbind())
}

fn json(py: Python<'_>, data: Value) -> PyResult<Py<PyAny>> {
    Ok(convert::to_python(py, &data)?.unbind())
}

fn summary(py: Python<'_>, summary: dajisaas::PayManySummary) -> PyResult<Py<PyAny>> {
    json(py, summary.to_json())
}

/// One finished order of `pay_many`, as `(position, PayManyItem)`: the Python side keeps them.
fn pay_many_pair(
    py: Python<'_>,
    (index, item): (usize, dajisaas::PayManyItem),
) -> PyResult<Py<PyAny>> {
    let item = Py::new(py, PayManyItem::new(py, item)?)?;
    Ok((index, item).into_pyobject(py)?.into_any().unbind())
}

/// `pay_many`'s concurrency: a whole number from 1 to the core's maximum, or None (the default).
fn concurrency(value: Option<&Bound<'_, PyAny>>) -> dajisaas::Result<usize> {
    let max = dajisaas::MAX_PAY_MANY_CONCURRENCY;
    let Some(value) = value.filter(|c| !c.is_none()) else {
        return Ok(dajisaas::DEFAULT_PAY_MANY_CONCURRENCY);
    };
    match convert::option(value, "concurrency")? {
        Value::Number(n) => n.as_u64().filter(|n| (1..=max as u64).contains(n)),
        _ => None,
    }
    .map(|n| n as usize)
    .ok_or_else(|| {
        dajisaas::Error::invalid(format!(
            "concurrency must be a whole number from 1 to {max} (default {})",
            dajisaas::DEFAULT_PAY_MANY_CONCURRENCY
        ))
    })
}

/// Raises its flag when dropped.
struct CancelOnDrop(dajisaas::Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// The native client behind `dajisaas.Client` and `dajisaas.AsyncClient` (`_clients.py`).
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct Client {
    /// The async face of the core client: every call is started with `start` and waited for by
    /// its face, never with the core's own blocking wait, which cannot be interrupted.
    inner: dajisaas::AsyncClient,
}

/// Declares the calls: each entry is the Python signature, the arguments, the conversions run
/// before anything starts (`let name = conversion;`, inside the core's panic boundary), then
/// `=> core call => result conversion`. `pay_many`, which reports items as it goes, is the one
/// call written out below.
macro_rules! calls {
    ($(
        $(#[doc = $doc:literal])*
        ($($signature:tt)*) fn $name:ident($($arg:ident: $type:ty),*)
            { $(let $value:ident = $conversion:expr;)* }
            => |$client:ident| $call:expr => $convert:expr;
    )*) => {
        #[pymethods]
        impl Client {
            #[new]
            #[pyo3(signature = (app_key, app_secret, **options))]
            fn new(
                py: Python<'_>,
                app_key: &Bound<'_, PyAny>,
                app_secret: &Bound<'_, PyAny>,
                options: Option<&Bound<'_, PyDict>>,
            ) -> PyResult<Self> {
                let inner = run(py, || options::build(app_key, app_secret, options))?;
                Ok(Client { inner })
            }

            #[staticmethod]
            fn from_env(py: Python<'_>) -> PyResult<Self> {
                Ok(Client { inner: run(py, dajisaas::AsyncClient::from_env)? })
            }

            /// The effective options: every option with the defaults applied, the secret left
            /// out, durations in seconds.
            #[getter]
            fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
                convert::to_python(py, &Value::Object(config_map(self.inner.config())))
            }

            /// `pay_many`: `on_item((position, PayManyItem))` once per finished order (on this
            /// thread, or on the face's host); returns (or settles the future with) the summary
            /// dict. An exception of `on_item` stops the run: nothing new starts.
            #[pyo3(signature = (order_ids, concurrency=None, *, on_item, face=None))]
            fn pay_many(
                &self,
                py: Python<'_>,
                order_ids: &Bound<'_, PyAny>,
                concurrency: Option<&Bound<'_, PyAny>>,
                on_item: &Bound<'_, PyAny>,
                face: Option<Face<'_>>,
            ) -> PyResult<Py<PyAny>> {
                let (ids, concurrency) = run(py, || {
                    Ok((convert::order_ids(order_ids)?, self::concurrency(concurrency)?))
                })?;
                let client = self.inner.clone();
                // Stopping the call (an interrupted wait, a cancelled task) drops its future and
                // with it this guard: the run starts nothing more, drops the payments not yet
                // written, and lets those that may have been run to their recorded outcome.
                let cancel = dajisaas::Cancel::new();
                let guard = CancelOnDrop(cancel.clone());
                face::call(py, face, &self.inner, Some(on_item), |reporter| async move {
                    let _guard = guard;
                    client
                        .pay_many_each_until(ids, concurrency, cancel, move |index, item| {
                            reporter.report((index, item))
                        })
                        .await
                }, pay_many_pair, summary)
            }

            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let mut fields = Vec::new();
                for (name, value) in config_map(self.inner.config()) {
                    fields.push(format!("{name}={}", convert::to_python(py, &value)?.repr()?));
                }
                Ok(format!("Client({})", fields.join(", ")))
            }

            $(
                $(#[doc = $doc])*
                #[pyo3(signature = ($($signature)*))]
                fn $name(
                    &self,
                    py: Python<'_>,
                    $($arg: $type,)*
                    face: Option<Face<'_>>,
                ) -> PyResult<Py<PyAny>> {
                    $(let $value = run(py, || $conversion)?;)*
                    let $client = self.inner.clone();
                    face::call(py, face, &self.inner, None, |_| async move { $call.await },
                        face::no_items, $convert)
                }
            )*
        }
    };
}

calls! {
    /// One cashier link for 1 to 30 distinct orders.
    (order_ids, *, face=None) fn pay_url(order_ids: &Bound<'_, PyAny>)
        { let ids = convert::order_ids(order_ids); }
        => |client| client.pay_url(ids) => pay_url;

    /// Links for any number of orders, in batches, in input order; repeats dropped.
    (order_ids, batch_size=10, *, face=None) fn pay_urls(order_ids: &Bound<'_, PyAny>, batch_size: usize)
        { let ids = convert::order_ids(order_ids); }
        => |client| client.pay_urls(ids, batch_size) => pay_urls;

    /// Pays one order without the buyer's password; never sent twice by retries.
    (order_id, *, face=None) fn prepare_pay(order_id: &Bound<'_, PyAny>)
        { let id = convert::order_id(order_id, "orderId"); }
        => |client| client.prepare_pay(id) => payment;

    /// The journal's record of an order, or None.
    (order_id, *, face=None) fn payment_record(order_id: &Bound<'_, PyAny>)
        { let id = convert::order_id(order_id, "orderId"); }
        => |client| client.payment_record(id) => record_or_none;

    /// The journal's records: all, or those in `state`.
    (state=None, *, face=None) fn payment_records(state: Option<&str>)
        { let state = state.map(dajisaas::State::parse).transpose(); }
        => |client| client.payment_records(state) => records;

    /// Records what a person found for an order's payment.
    (order_id, *, paid, note="", face=None) fn resolve_payment(order_id: &Bound<'_, PyAny>, paid: bool, note: &str)
        { let id = convert::order_id(order_id, "orderId"); let note = Ok(note.to_string()); }
        => |client| client.resolve_payment(id, paid, note) => record;

    /// Writes the outcomes this process keeps for the journal; how many are still kept.
    (timeout=None, *, face=None) fn flush_journal(timeout: Option<&Bound<'_, PyAny>>)
        { let timeout = options::flush_timeout(timeout); }
        => |client| client.flush_journal(timeout) => count;

    /// Any other gateway endpoint, signed; the envelope's `data`.
    (method, path, params=None, *, face=None) fn request(method: &str, path: &str, params: Option<&Bound<'_, PyAny>>)
        { let method = Method::parse(method); let params = convert::params(params); let path = Ok(path.to_string()); }
        => |client| client.request(method, path, params) => json;
}

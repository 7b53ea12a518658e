//! `Client` and `AsyncClient`: the core clients with Python argument conversion.

use dajisaas::{Casing, ClientOptions, Config, Method};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use serde_json::{Map, Value};

use crate::blocking;
use crate::bridge::{self, CallHandle, LoopBridge};
use crate::convert;
use crate::errors::run;
use crate::results::{PayManyItem, PayManyResult, PayUrl, Payment, PaymentRecord};

/// The options of either client: the credentials and the keyword arguments as one JSON map, read
/// by the core, which knows every option's type, range and default. Nothing is defaulted here.
fn options(
    app_key: &Bound<'_, PyAny>,
    app_secret: &Bound<'_, PyAny>,
    keywords: Option<&Bound<'_, PyDict>>,
) -> dajisaas::Result<ClientOptions> {
    let mut given = Vec::new();
    for (name, value) in keywords.into_iter().flat_map(|k| k.iter()) {
        // Keyword names are always str.
        let name = name.extract::<String>().map_err(|e| {
            dajisaas::Error::invalid(format!("an option name could not be read: {e}"))
        })?;
        given.push((name, value));
    }
    // Names first, so that an unknown keyword is reported as one whatever its value.
    let names: Map<String, Value> = given
        .iter()
        .map(|(n, _)| (n.clone(), Value::Null))
        .collect();
    ClientOptions::from_map(&names, Casing::Snake)?;
    let mut map = Map::new();
    map.insert("app_key".into(), convert::option(app_key, "app_key")?);
    map.insert(
        "app_secret".into(),
        convert::option(app_secret, "app_secret")?,
    );
    for (name, value) in given {
        let value = convert::option(&value, &name)?;
        map.insert(name, value);
    }
    ClientOptions::from_map(&map, Casing::Snake)
}

fn method(py: Python<'_>, text: &str) -> PyResult<Method> {
    run(py, || Method::parse(text))
}

/// The client's effective options (defaults applied, secret left out) as a dict.
fn config_dict<'py>(py: Python<'py>, config: &Config) -> PyResult<Bound<'py, PyAny>> {
    convert::to_python(py, &config.to_json(Casing::Snake))
}

/// `Name(app_key='…', base_url='…', timeout_ms=30000, …)` from the effective options.
fn describe(py: Python<'_>, class: &str, config: &Config) -> PyResult<String> {
    let Value::Object(map) = config.to_json(Casing::Snake) else {
        return Ok(format!("{class}(…)"));
    };
    let mut fields = Vec::with_capacity(map.len());
    for (name, value) in &map {
        let shown = convert::to_python(py, value)?.repr()?;
        fields.push(format!("{name}={shown}"));
    }
    Ok(format!("{class}({})", fields.join(", ")))
}

fn pay_url_object(py: Python<'_>, link: dajisaas::PayUrl) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PayUrl::from(link))?.into_any())
}

fn pay_url_list(py: Python<'_>, links: Vec<dajisaas::PayUrl>) -> PyResult<Py<PyAny>> {
    let links = links
        .into_iter()
        .map(|link| Py::new(py, PayUrl::from(link)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(pyo3::types::PyList::new(py, links)?.into_any().unbind())
}

fn payment_object(py: Python<'_>, payment: dajisaas::Payment) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, Payment::from(payment))?.into_any())
}

fn pay_many_item(py: Python<'_>, item: dajisaas::PayManyItem) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PayManyItem::new(py, item)?)?.into_any())
}

/// One finished order of an awaited `pay_many`, as `(position, PayManyItem)`: the Python
/// `AsyncClient` keeps it (the core does not).
fn pay_many_pair(
    py: Python<'_>,
    (index, item): (usize, dajisaas::PayManyItem),
) -> PyResult<Py<PyAny>> {
    let item = pay_many_item(py, item)?;
    Ok((index, item).into_pyobject(py)?.into_any().unbind())
}

fn summary_dict(py: Python<'_>, summary: dajisaas::PayManySummary) -> PyResult<Py<PyAny>> {
    Ok(convert::to_python(py, &summary.to_json())?.unbind())
}

/// `pay_many`'s order ids and concurrency, checked (with `on_progress`) before anything starts.
fn pay_many_args(
    py: Python<'_>,
    order_ids: &Bound<'_, PyAny>,
    concurrency: Option<&Bound<'_, PyAny>>,
    on_progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Vec<String>, usize)> {
    run(py, || {
        if on_progress.is_some_and(|f| !f.is_none() && !f.is_callable()) {
            return Err(dajisaas::Error::invalid(
                "on_progress must be callable, such as a function of one PayManyItem",
            ));
        }
        let max = dajisaas::MAX_PAY_MANY_CONCURRENCY;
        let Some(concurrency) = concurrency.filter(|c| !c.is_none()) else {
            let ids = convert::order_ids(order_ids)?;
            return Ok((ids, dajisaas::DEFAULT_PAY_MANY_CONCURRENCY));
        };
        let concurrency = match convert::option(concurrency, "concurrency")? {
            Value::Number(n) => n.as_u64().filter(|n| (1..=max as u64).contains(n)),
            _ => None,
        }
        .ok_or_else(|| {
            dajisaas::Error::invalid(format!(
                "concurrency must be a whole number from 1 to {max} (default {})",
                dajisaas::DEFAULT_PAY_MANY_CONCURRENCY
            ))
        })?;
        Ok((convert::order_ids(order_ids)?, concurrency as usize))
    })
}

fn record_object(py: Python<'_>, record: dajisaas::PaymentRecord) -> PyResult<Py<PyAny>> {
    Ok(Py::new(py, PaymentRecord::new(&record))?.into_any())
}

fn record_or_none(py: Python<'_>, record: Option<dajisaas::PaymentRecord>) -> PyResult<Py<PyAny>> {
    match record {
        Some(record) => record_object(py, record),
        None => Ok(py.None()),
    }
}

fn record_list(py: Python<'_>, records: Vec<dajisaas::PaymentRecord>) -> PyResult<Py<PyAny>> {
    let records = records
        .iter()
        .map(|record| Py::new(py, PaymentRecord::new(record)))
        .collect::<PyResult<Vec<_>>>()?;
    Ok(pyo3::types::PyList::new(py, records)?.into_any().unbind())
}

fn json_object(py: Python<'_>, data: Value) -> PyResult<Py<PyAny>> {
    Ok(convert::to_python(py, &data)?.unbind())
}

/// The native half of the blocking client (the Python `Client` wraps it and emits the log
/// records when a call returns). Each call runs on the core's runtime while the calling thread
/// waits with the GIL released, waking every 100 ms for signal handlers.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct Client {
    /// The async face of the core client: blocking calls are started with `start` and waited
    /// for here (see `blocking`), never with the core's own blocking wait, which cannot be
    /// interrupted.
    inner: dajisaas::AsyncClient,
}

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
        let inner = run(py, || self::options(app_key, app_secret, options)?.build())?;
        Ok(Client {
            inner: inner.to_async(),
        })
    }

    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        Ok(Client {
            inner: run(py, dajisaas::Client::from_env)?.to_async(),
        })
    }

    /// The effective options: every option with the defaults applied, the secret left out.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        config_dict(py, self.inner.config())
    }

    fn pay_url(&self, py: Python<'_>, order_ids: &Bound<'_, PyAny>) -> PyResult<PayUrl> {
        let ids = run(py, || convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        blocking::call(py, &self.inner, async move { client.pay_url(ids).await }).map(PayUrl::from)
    }

    #[pyo3(signature = (order_ids, batch_size=10))]
    fn pay_urls(
        &self,
        py: Python<'_>,
        order_ids: &Bound<'_, PyAny>,
        batch_size: usize,
    ) -> PyResult<Vec<PayUrl>> {
        let ids = run(py, || convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        let links = blocking::call(py, &self.inner, async move {
            client.pay_urls(ids, batch_size).await
        })?;
        Ok(links.into_iter().map(PayUrl::from).collect())
    }

    fn prepare_pay(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<Payment> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let client = self.inner.clone();
        blocking::call(py, &self.inner, async move { client.prepare_pay(id).await })
            .map(Payment::from)
    }

    /// Pays every order, at most `concurrency` at a time; `on_progress(item)` is called on this
    /// thread once per order as it finishes. Its exception (or a signal handler's) stops the
    /// run: nothing new starts, payments under way run to their recorded outcome.
    #[pyo3(signature = (order_ids, concurrency=None, on_progress=None))]
    fn pay_many(
        &self,
        py: Python<'_>,
        order_ids: &Bound<'_, PyAny>,
        concurrency: Option<&Bound<'_, PyAny>>,
        on_progress: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PayManyResult> {
        let (ids, concurrency) = pay_many_args(py, order_ids, concurrency, on_progress)?;
        let client = self.inner.clone();
        // Each finished order becomes its Python object here, as it comes: the core keeps none,
        // so that a run of many orders holds each result once.
        let mut results: Vec<Option<Py<PyAny>>> = Vec::new();
        let summary = blocking::call_reporting(
            py,
            &self.inner,
            |reporter| async move {
                client
                    .pay_many_each(ids, concurrency, move |index, item| {
                        reporter.report((index, item))
                    })
                    .await
            },
            |py, (index, item)| {
                let item = pay_many_item(py, item)?;
                if results.len() <= index {
                    results.resize_with(index + 1, || None);
                }
                results[index] = Some(item.clone_ref(py));
                match on_progress {
                    Some(f) => f.call1((item,)).map(drop),
                    None => Ok(()),
                }
            },
        )?;
        let results = results
            .into_iter()
            .map(|item| item.unwrap_or_else(|| py.None()));
        Ok(PayManyResult::from_parts(
            pyo3::types::PyList::new(py, results)?.unbind(),
            summary_dict(py, summary)?,
        ))
    }

    /// The journal's record of an order, or None.
    fn payment_record(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
    ) -> PyResult<Option<PaymentRecord>> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let client = self.inner.clone();
        let record = blocking::call(
            py,
            &self.inner,
            async move { client.payment_record(id).await },
        )?;
        Ok(record.as_ref().map(PaymentRecord::new))
    }

    /// The journal's records: all, or those in `state`.
    #[pyo3(signature = (state=None))]
    fn payment_records(&self, py: Python<'_>, state: Option<&str>) -> PyResult<Vec<PaymentRecord>> {
        let state = run(py, || state.map(dajisaas::State::parse).transpose())?;
        let client = self.inner.clone();
        let records = blocking::call(py, &self.inner, async move {
            client.payment_records(state).await
        })?;
        Ok(records.iter().map(PaymentRecord::new).collect())
    }

    /// Records what a person found for an order whose outcome is unknown.
    #[pyo3(signature = (order_id, *, paid, note=""))]
    fn resolve_payment(
        &self,
        py: Python<'_>,
        order_id: &Bound<'_, PyAny>,
        paid: bool,
        note: &str,
    ) -> PyResult<PaymentRecord> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let (client, note) = (self.inner.clone(), note.to_string());
        let record = blocking::call(py, &self.inner, async move {
            client.resolve_payment(id, paid, note).await
        })?;
        Ok(PaymentRecord::new(&record))
    }

    #[pyo3(signature = (method, path, params=None))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = self::method(py, method)?;
        let params = run(py, || convert::params(params))?;
        let client = self.inner.clone();
        let path = path.to_string();
        let data = blocking::call(py, &self.inner, async move {
            client.request(method, path, params).await
        })?;
        convert::to_python(py, &data)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        describe(py, "Client", self.inner.config())
    }
}

/// The native half of the asyncio client (the Python `AsyncClient` wraps it): each call settles
/// a future of the running loop, on that loop's own thread (see `bridge`).
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct AsyncClient {
    inner: dajisaas::AsyncClient,
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (app_key, app_secret, **options))]
    fn new(
        py: Python<'_>,
        app_key: &Bound<'_, PyAny>,
        app_secret: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let inner = run(py, || {
            self::options(app_key, app_secret, options)?.build_async()
        })?;
        Ok(AsyncClient { inner })
    }

    #[staticmethod]
    fn from_env(py: Python<'_>) -> PyResult<Self> {
        Ok(AsyncClient {
            inner: run(py, dajisaas::AsyncClient::from_env)?,
        })
    }

    /// The effective options: every option with the defaults applied, the secret left out.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        config_dict(py, self.inner.config())
    }

    /// Starts the call; `future` (made by the running loop, whose bridge is `bridge`) is
    /// settled by that loop. The Python `AsyncClient` makes both.
    fn pay_url(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_ids: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let ids = run(py, || convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.pay_url(ids).await },
            pay_url_object,
        )
    }

    #[pyo3(signature = (bridge, future, order_ids, batch_size=10))]
    fn pay_urls(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_ids: &Bound<'_, PyAny>,
        batch_size: usize,
    ) -> PyResult<()> {
        let ids = run(py, || convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.pay_urls(ids, batch_size).await },
            pay_url_list,
        )
    }

    fn prepare_pay(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_id: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let client = self.inner.clone();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.prepare_pay(id).await },
            payment_object,
        )
    }

    /// Starts `pay_many` (`on_progress` is only checked here): the loop calls
    /// `on_item((position, item))` once per finished order, then settles `future` with the
    /// summary dict. The Python `AsyncClient` keeps the items. The handle stops the run.
    #[pyo3(signature = (bridge, future, order_ids, concurrency, on_progress, on_item))]
    #[allow(clippy::too_many_arguments)]
    fn pay_many(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_ids: &Bound<'_, PyAny>,
        concurrency: Option<&Bound<'_, PyAny>>,
        on_progress: Option<&Bound<'_, PyAny>>,
        on_item: &Bound<'_, PyAny>,
    ) -> PyResult<CallHandle> {
        let (ids, concurrency) = pay_many_args(py, order_ids, concurrency, on_progress)?;
        let client = self.inner.clone();
        bridge::start_reporting(
            py,
            bridge,
            future,
            Some(on_item),
            &self.inner,
            |reporter| async move {
                client
                    .pay_many_each(ids, concurrency, move |index, item| {
                        reporter.report((index, item))
                    })
                    .await
            },
            pay_many_pair,
            summary_dict,
        )
    }

    fn payment_record(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_id: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let client = self.inner.clone();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.payment_record(id).await },
            record_or_none,
        )
    }

    #[pyo3(signature = (bridge, future, state=None))]
    fn payment_records(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        state: Option<&str>,
    ) -> PyResult<()> {
        let state = run(py, || state.map(dajisaas::State::parse).transpose())?;
        let client = self.inner.clone();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.payment_records(state).await },
            record_list,
        )
    }

    #[pyo3(signature = (bridge, future, order_id, *, paid, note=""))]
    #[allow(clippy::too_many_arguments)]
    fn resolve_payment(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        order_id: &Bound<'_, PyAny>,
        paid: bool,
        note: &str,
    ) -> PyResult<()> {
        let id = run(py, || convert::order_id(order_id, "orderId"))?;
        let (client, note) = (self.inner.clone(), note.to_string());
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.resolve_payment(id, paid, note).await },
            record_object,
        )
    }

    #[pyo3(signature = (bridge, future, method, path, params=None))]
    fn request(
        &self,
        py: Python<'_>,
        bridge: &Bound<'_, LoopBridge>,
        future: &Bound<'_, PyAny>,
        method: &str,
        path: &str,
        params: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let method = self::method(py, method)?;
        let params = run(py, || convert::params(params))?;
        let client = self.inner.clone();
        let path = path.to_string();
        bridge::start(
            py,
            bridge,
            future,
            &self.inner,
            async move { client.request(method, path, params).await },
            json_object,
        )
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        describe(py, "AsyncClient", self.inner.config())
    }
}

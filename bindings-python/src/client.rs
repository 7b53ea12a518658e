//! `Client` and `AsyncClient`: the core clients with Python argument conversion.

use dajisaas::{Casing, ClientOptions, Config, Method};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_async_runtimes::tokio::future_into_py;
use serde_json::{Map, Value};

use crate::convert::{self, Json};
use crate::errors::{run, to_py_err};
use crate::results::{PayUrl, Payment};

/// The options of either client: the credentials and the keyword arguments as one JSON map, read
/// by the core, which knows every option's type, range and default. Nothing is defaulted here.
fn options(
    app_key: &Bound<'_, PyAny>,
    app_secret: &Bound<'_, PyAny>,
    keywords: Option<&Bound<'_, PyDict>>,
) -> dajisaas::Result<ClientOptions> {
    crate::refresh_logging_levels();
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

fn method(text: &str) -> PyResult<Method> {
    run(|| Method::parse(text))
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

/// A blocking client, safe to share between threads; the GIL is released during every call.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct Client {
    inner: dajisaas::Client,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (app_key, app_secret, **options))]
    fn new(
        app_key: &Bound<'_, PyAny>,
        app_secret: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let inner = run(|| self::options(app_key, app_secret, options)?.build())?;
        Ok(Client { inner })
    }

    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        crate::refresh_logging_levels();
        Ok(Client {
            inner: run(dajisaas::Client::from_env)?,
        })
    }

    /// The effective options: every option with the defaults applied, the secret left out.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        config_dict(py, self.inner.config())
    }

    fn pay_url(&self, py: Python<'_>, order_ids: &Bound<'_, PyAny>) -> PyResult<PayUrl> {
        let ids = run(|| convert::order_ids(order_ids))?;
        let client = &self.inner;
        py.detach(|| run(|| client.pay_url(&ids))).map(PayUrl::from)
    }

    #[pyo3(signature = (order_ids, batch_size=10))]
    fn pay_urls(
        &self,
        py: Python<'_>,
        order_ids: &Bound<'_, PyAny>,
        batch_size: usize,
    ) -> PyResult<Vec<PayUrl>> {
        let ids = run(|| convert::order_ids(order_ids))?;
        let client = &self.inner;
        let links = py.detach(|| run(|| client.pay_urls(&ids, batch_size)))?;
        Ok(links.into_iter().map(PayUrl::from).collect())
    }

    fn prepare_pay(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<Payment> {
        let id = run(|| convert::order_id(order_id, "orderId"))?;
        let client = &self.inner;
        py.detach(|| run(|| client.prepare_pay(&id)))
            .map(Payment::from)
    }

    #[pyo3(signature = (method, path, params=None))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = self::method(method)?;
        let params = run(|| convert::params(params))?;
        let client = &self.inner;
        let data = py.detach(|| run(|| client.request(method, path, params)))?;
        convert::to_python(py, &data)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        describe(py, "Client", self.inner.config())
    }
}

/// The asyncio client: the same calls as `Client`, as coroutines.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct AsyncClient {
    inner: dajisaas::AsyncClient,
}

#[pymethods]
impl AsyncClient {
    #[new]
    #[pyo3(signature = (app_key, app_secret, **options))]
    fn new(
        app_key: &Bound<'_, PyAny>,
        app_secret: &Bound<'_, PyAny>,
        options: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let inner = run(|| self::options(app_key, app_secret, options)?.build_async())?;
        Ok(AsyncClient { inner })
    }

    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        crate::refresh_logging_levels();
        Ok(AsyncClient {
            inner: run(dajisaas::AsyncClient::from_env)?,
        })
    }

    /// The effective options: every option with the defaults applied, the secret left out.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        config_dict(py, self.inner.config())
    }

    fn pay_url<'py>(
        &self,
        py: Python<'py>,
        order_ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = run(|| convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        future_into_py(py, async move {
            client
                .pay_url(ids)
                .await
                .map(PayUrl::from)
                .map_err(to_py_err)
        })
    }

    #[pyo3(signature = (order_ids, batch_size=10))]
    fn pay_urls<'py>(
        &self,
        py: Python<'py>,
        order_ids: &Bound<'py, PyAny>,
        batch_size: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = run(|| convert::order_ids(order_ids))?;
        let client = self.inner.clone();
        future_into_py(py, async move {
            let links = client.pay_urls(ids, batch_size).await.map_err(to_py_err)?;
            Ok(links.into_iter().map(PayUrl::from).collect::<Vec<_>>())
        })
    }

    fn prepare_pay<'py>(
        &self,
        py: Python<'py>,
        order_id: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = run(|| convert::order_id(order_id, "orderId"))?;
        let client = self.inner.clone();
        future_into_py(py, async move {
            client
                .prepare_pay(id)
                .await
                .map(Payment::from)
                .map_err(to_py_err)
        })
    }

    #[pyo3(signature = (method, path, params=None))]
    fn request<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        path: &str,
        params: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let method = self::method(method)?;
        let params = run(|| convert::params(params))?;
        let client = self.inner.clone();
        let path = path.to_string();
        future_into_py(py, async move {
            client
                .request(method, path, params)
                .await
                .map(Json)
                .map_err(to_py_err)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        describe(py, "AsyncClient", self.inner.config())
    }
}

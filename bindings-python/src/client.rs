//! `Client` and `AsyncClient`: the core clients with Python argument conversion.

use std::time::Duration;

use dajisaas::{ClientBuilder, Error, ErrorCode, Method, OrderIdFormat};
use pyo3::prelude::*;
use pyo3_async_runtimes::tokio::future_into_py;

use crate::convert::{self, Json};
use crate::errors::{run, to_py_err};
use crate::results::{PayUrl, Payment};

fn invalid(message: String) -> PyErr {
    to_py_err(Error::new(ErrorCode::InvalidArgument, message))
}

fn seconds(value: f64, name: &str) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        invalid(format!(
            "{name} must be a positive number of seconds, not {value}"
        ))
    })
}

/// The builder for either client from the keyword arguments both take.
#[allow(clippy::too_many_arguments)]
fn builder(
    app_key: &str,
    app_secret: &str,
    base_url: Option<&str>,
    timeout: f64,
    connect_timeout: f64,
    max_retries: i64,
    backoff: (f64, f64),
    order_id_format: &str,
    send_secret: bool,
    root_certificates_pem: Option<&str>,
) -> PyResult<ClientBuilder> {
    let format = match order_id_format {
        "json_array" => OrderIdFormat::JsonArray,
        "comma_separated" => OrderIdFormat::CommaSeparated,
        other => {
            return Err(invalid(format!(
                "order_id_format must be 'json_array' or 'comma_separated', not {other:?}"
            )));
        }
    };
    crate::refresh_logging_levels();
    let retries = u32::try_from(max_retries)
        .map_err(|_| invalid(format!("max_retries must be 0 to 3, not {max_retries}")))?;
    let mut b = ClientBuilder::new(app_key, app_secret)
        .timeout(seconds(timeout, "timeout")?)
        .connect_timeout(seconds(connect_timeout, "connect_timeout")?)
        .max_retries(retries)
        .backoff(
            seconds(backoff.0, "backoff[0]")?,
            seconds(backoff.1, "backoff[1]")?,
        )
        .order_id_format(format)
        .dangerously_send_app_secret_instead_of_sign(send_secret);
    if let Some(url) = base_url {
        b = b.base_url(url);
    }
    if let Some(pem) = root_certificates_pem {
        b = b.add_root_certificates_pem(pem);
    }
    Ok(b)
}

fn method(text: &str) -> PyResult<Method> {
    Method::parse(text).map_err(to_py_err)
}

fn describe(config: &dajisaas::Config) -> String {
    format!(
        "app_key={:?}, base_url={:?}",
        config.app_key(),
        config.base_url()
    )
}

/// A blocking client, safe to share between threads; the GIL is released during every call.
#[pyclass(frozen, module = "dajisaas._dajisaas")]
pub struct Client {
    inner: dajisaas::Client,
}

#[pymethods]
impl Client {
    #[new]
    #[pyo3(signature = (app_key, app_secret, *, base_url=None, timeout=30.0, connect_timeout=10.0,
        max_retries=3, backoff=(0.2, 5.0), order_id_format="json_array",
        dangerously_send_app_secret_instead_of_sign=false, root_certificates_pem=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        app_key: &str,
        app_secret: &str,
        base_url: Option<&str>,
        timeout: f64,
        connect_timeout: f64,
        max_retries: i64,
        backoff: (f64, f64),
        order_id_format: &str,
        dangerously_send_app_secret_instead_of_sign: bool,
        root_certificates_pem: Option<&str>,
    ) -> PyResult<Self> {
        let b = builder(
            app_key,
            app_secret,
            base_url,
            timeout,
            connect_timeout,
            max_retries,
            backoff,
            order_id_format,
            dangerously_send_app_secret_instead_of_sign,
            root_certificates_pem,
        )?;
        Ok(Client {
            inner: run(|| b.build())?,
        })
    }

    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        crate::refresh_logging_levels();
        Ok(Client {
            inner: run(dajisaas::Client::from_env)?,
        })
    }

    fn pay_url(&self, py: Python<'_>, order_ids: &Bound<'_, PyAny>) -> PyResult<PayUrl> {
        let ids = convert::order_ids(order_ids).map_err(to_py_err)?;
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
        let ids = convert::order_ids(order_ids).map_err(to_py_err)?;
        let client = &self.inner;
        let links = py.detach(|| run(|| client.pay_urls(&ids, batch_size)))?;
        Ok(links.into_iter().map(PayUrl::from).collect())
    }

    fn prepare_pay(&self, py: Python<'_>, order_id: &Bound<'_, PyAny>) -> PyResult<Payment> {
        let id = convert::order_id(order_id, "orderId").map_err(to_py_err)?;
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
        let params = convert::params(params).map_err(to_py_err)?;
        let client = &self.inner;
        let data = py.detach(|| run(|| client.request(method, path, params)))?;
        convert::to_python(py, &data)
    }

    fn __repr__(&self) -> String {
        format!("Client({})", describe(self.inner.config()))
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
    #[pyo3(signature = (app_key, app_secret, *, base_url=None, timeout=30.0, connect_timeout=10.0,
        max_retries=3, backoff=(0.2, 5.0), order_id_format="json_array",
        dangerously_send_app_secret_instead_of_sign=false, root_certificates_pem=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        app_key: &str,
        app_secret: &str,
        base_url: Option<&str>,
        timeout: f64,
        connect_timeout: f64,
        max_retries: i64,
        backoff: (f64, f64),
        order_id_format: &str,
        dangerously_send_app_secret_instead_of_sign: bool,
        root_certificates_pem: Option<&str>,
    ) -> PyResult<Self> {
        let b = builder(
            app_key,
            app_secret,
            base_url,
            timeout,
            connect_timeout,
            max_retries,
            backoff,
            order_id_format,
            dangerously_send_app_secret_instead_of_sign,
            root_certificates_pem,
        )?;
        Ok(AsyncClient {
            inner: run(|| b.build_async())?,
        })
    }

    #[staticmethod]
    fn from_env() -> PyResult<Self> {
        crate::refresh_logging_levels();
        Ok(AsyncClient {
            inner: run(dajisaas::AsyncClient::from_env)?,
        })
    }

    fn pay_url<'py>(
        &self,
        py: Python<'py>,
        order_ids: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let ids = convert::order_ids(order_ids).map_err(to_py_err)?;
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
        let ids = convert::order_ids(order_ids).map_err(to_py_err)?;
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
        let id = convert::order_id(order_id, "orderId").map_err(to_py_err)?;
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
        let params = convert::params(params).map_err(to_py_err)?;
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

    fn __repr__(&self) -> String {
        format!("AsyncClient({})", describe(self.inner.config()))
    }
}

//! `Client`: the core's async client, with Promises that never block the event loop.
//!
//! Calls start on the core's I/O threads straight from the JavaScript thread and settle their
//! promise (a napi deferred) when done. Neither libuv's thread pool nor napi-rs's runtime is used.

use std::future::Future;
use std::time::Duration;

use dajisaas::{ClientBuilder, Error, ErrorCode, Method, OrderIdFormat as CoreFormat, Params};
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Unknown, ValueType};
use napi_derive::napi;
use serde_json::Value;

use crate::convert;
use crate::errors::{guarded, js_error};

/// How `orderIdList` is written on the wire.
#[napi(string_enum = "snake_case")]
pub enum OrderIdFormat {
    /// `[1,2]`: what every official client sends (the default).
    JsonArray,
    /// `1,2`: the documented fallback.
    CommaSeparated,
}

/// Options of `new Client(...)`. Only `appKey` and `appSecret` are required.
#[napi(object)]
pub struct ClientOptions {
    pub app_key: String,
    pub app_secret: String,
    /// Default `https://openapi.dajisaas.com`; plain http only for loopback hosts.
    pub base_url: Option<String>,
    /// Total time of one request in milliseconds (default 30000).
    pub timeout_ms: Option<f64>,
    /// Time to connect in milliseconds (default 10000).
    pub connect_timeout_ms: Option<f64>,
    /// Retries after a retryable failure, 0 to 3 (default 3).
    pub max_retries: Option<u32>,
    /// First backoff step in milliseconds (default 200).
    pub backoff_base_ms: Option<f64>,
    /// Longest backoff in milliseconds (default 5000).
    pub backoff_cap_ms: Option<f64>,
    pub order_id_format: Option<OrderIdFormat>,
    /// DEBUGGING ONLY: send the secret instead of a signature. Never in production.
    pub dangerously_send_app_secret_instead_of_sign: Option<bool>,
    /// CA certificates (PEM) to trust besides the system's, for TLS-inspecting proxies.
    pub root_certificates_pem: Option<String>,
}

/// A cashier link for one or more orders.
#[napi(object)]
pub struct PayUrl {
    /// 1688's cashier for one order, Alipay's for several, verbatim.
    pub url: String,
    pub order_ids: Vec<String>,
    pub trace_id: Option<String>,
    pub attempts: u32,
    /// The whole `data` object of the answer; integers beyond 2^53 arrive as BigInt.
    pub data: Value,
}

/// A completed password-free payment.
#[napi(object)]
pub struct Payment {
    pub order_id: String,
    pub pay_channel: Option<String>,
    pub attempts: u32,
    pub trace_id: Option<String>,
    /// The whole `data` object of the answer; integers beyond 2^53 arrive as BigInt.
    pub data: Value,
}

/// Options of `payUrls`.
#[napi(object)]
pub struct PayUrlsOptions {
    /// Ids per link, 1 to 30 (default 10, as the gateway advises).
    pub batch_size: Option<u32>,
}

impl From<dajisaas::PayUrl> for PayUrl {
    fn from(p: dajisaas::PayUrl) -> Self {
        PayUrl {
            url: p.url,
            order_ids: p.order_ids,
            trace_id: p.trace_id,
            attempts: p.attempts,
            data: p.data,
        }
    }
}

impl From<dajisaas::Payment> for Payment {
    fn from(p: dajisaas::Payment) -> Self {
        Payment {
            order_id: p.order_id,
            pay_channel: p.pay_channel,
            attempts: p.attempts,
            trace_id: p.trace_id,
            data: p.data,
        }
    }
}

fn invalid(message: String) -> Error {
    Error::new(ErrorCode::InvalidArgument, message)
}

fn millis(value: Option<f64>, name: &str) -> Result<Option<Duration>, Error> {
    value
        .map(|ms| {
            Duration::try_from_secs_f64(ms / 1000.0).map_err(|_| {
                invalid(format!(
                    "{name} must be a positive number of milliseconds, not {ms}"
                ))
            })
        })
        .transpose()
}

fn builder(options: ClientOptions) -> Result<ClientBuilder, Error> {
    let mut b = ClientBuilder::new(options.app_key, options.app_secret);
    if let Some(url) = options.base_url {
        b = b.base_url(url);
    }
    if let Some(t) = millis(options.timeout_ms, "timeoutMs")? {
        b = b.timeout(t);
    }
    if let Some(t) = millis(options.connect_timeout_ms, "connectTimeoutMs")? {
        b = b.connect_timeout(t);
    }
    if let Some(n) = options.max_retries {
        b = b.max_retries(n);
    }
    let base =
        millis(options.backoff_base_ms, "backoffBaseMs")?.unwrap_or(Duration::from_millis(200));
    let cap = millis(options.backoff_cap_ms, "backoffCapMs")?.unwrap_or(Duration::from_secs(5));
    if let Some(format) = options.order_id_format {
        b = b.order_id_format(match format {
            OrderIdFormat::JsonArray => CoreFormat::JsonArray,
            OrderIdFormat::CommaSeparated => CoreFormat::CommaSeparated,
        });
    }
    if let Some(pem) = &options.root_certificates_pem {
        b = b.add_root_certificates_pem(pem);
    }
    let debug = options
        .dangerously_send_app_secret_instead_of_sign
        .unwrap_or(false);
    Ok(b.backoff(base, cap)
        .dangerously_send_app_secret_instead_of_sign(debug))
}

/// Reads the options object; a missing or mistyped field is an `invalid_argument`.
fn read_options(options: &Unknown<'_>) -> Result<ClientOptions, Error> {
    if options.get_type().ok() != Some(ValueType::Object) {
        return Err(invalid(
            "options must be an object with appKey and appSecret".into(),
        ));
    }
    unsafe { options.cast::<ClientOptions>() }
        .map_err(|e| invalid(format!("options: {}", e.reason)))
}

/// A promise for a core call: the call starts on the core's I/O threads straight away (no
/// napi-rs runtime in between, and never libuv's pool) and the promise settles on the
/// JavaScript thread when it is done.
fn promise<'env, T, V, F>(
    env: &'env Env,
    client: &dajisaas::AsyncClient,
    call: F,
    to_js: fn(T) -> V,
) -> napi::Result<Object<'env>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    client.start(call, move |outcome| {
        deferred.resolve(move |env: Env| outcome.map(to_js).map_err(|e| js_error(&env, e)));
    });
    Ok(promise)
}

/// A client of the Dajisaas gateway. Safe to share: every call is independent, many can be in
/// flight at once, and none blocks the event loop.
#[napi]
pub struct Client {
    inner: dajisaas::AsyncClient,
}

#[napi]
impl Client {
    #[napi(constructor, catch_unwind, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        let inner = guarded(&env, || {
            read_options(&options).and_then(builder)?.build_async()
        })?;
        Ok(Client { inner })
    }

    /// A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL.
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env) -> napi::Result<Self> {
        Ok(Client {
            inner: guarded(&env, dajisaas::AsyncClient::from_env)?,
        })
    }

    /// One cashier link for 1 to 30 distinct orders (strings, BigInt or safe integers).
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: Array<string | bigint | number>",
        ts_return_type = "Promise<PayUrl>"
    )]
    pub fn pay_url<'env>(&self, env: &'env Env, order_ids: Unknown) -> napi::Result<Object<'env>> {
        let ids = convert::order_ids(&order_ids);
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            async move { client.pay_url(ids?).await },
            PayUrl::from,
        )
    }

    /// Links for any number of orders, in batches (default 10), in input order; repeats dropped.
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: Array<string | bigint | number>, options?: PayUrlsOptions",
        ts_return_type = "Promise<Array<PayUrl>>"
    )]
    pub fn pay_urls<'env>(
        &self,
        env: &'env Env,
        order_ids: Unknown,
        options: Option<PayUrlsOptions>,
    ) -> napi::Result<Object<'env>> {
        let ids = convert::order_ids(&order_ids);
        let batch_size = options.and_then(|o| o.batch_size).unwrap_or(10) as usize;
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            async move { client.pay_urls(ids?, batch_size).await },
            |links| links.into_iter().map(PayUrl::from).collect::<Vec<_>>(),
        )
    }

    /// Pays one order without the buyer's password; retries can never pay it twice.
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number",
        ts_return_type = "Promise<Payment>"
    )]
    pub fn prepare_pay<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
    ) -> napi::Result<Object<'env>> {
        let id = convert::order_id(&order_id, "orderId");
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            async move { client.prepare_pay(id?).await },
            Payment::from,
        )
    }

    /// Any other gateway endpoint, signed. `params` is an object, or JSON text for values a
    /// JavaScript number cannot hold. Resolves to the envelope's `data`.
    #[napi(
        catch_unwind,
        ts_args_type = "method: 'GET' | 'POST', path: string, params?: Record<string, unknown> | string",
        ts_return_type = "Promise<any>"
    )]
    pub fn request<'env>(
        &self,
        env: &'env Env,
        method: String,
        path: String,
        params: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let prepared: dajisaas::Result<(Method, Params)> =
            Method::parse(&method).and_then(|m| Ok((m, convert::params(params.as_ref())?)));
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            async move {
                let (method, params) = prepared?;
                client.request(method, path, params).await
            },
            |data| data,
        )
    }

    /// `Client(appKey="...", baseUrl="...")`: never the secret.
    #[napi(js_name = "toString")]
    pub fn to_string_js(&self) -> String {
        let config = self.inner.config();
        format!(
            "Client(appKey={:?}, baseUrl={:?})",
            config.app_key(),
            config.base_url()
        )
    }
}

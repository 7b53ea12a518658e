//! `Client`: the core's async client, with Promises that never block the event loop.
//!
//! Calls start on the core's I/O threads straight from the JavaScript thread and settle their
//! promise (a napi deferred) when done. Neither libuv's thread pool nor napi-rs's runtime is used.

use std::future::Future;

use dajisaas::{Casing, Method, PaymentRecord, State};
use napi::bindgen_prelude::{Object, ToNapiValue};
use napi::{Env, Unknown};
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

// `ClientOptions`, `ClientConfig` and `PayUrlsOptions` exist for their TypeScript interfaces
// only (hence `allow(dead_code)`): `new Client` hands the options object to the core
// (convert::client_options, then `dajisaas::ClientOptions::from_map`), which holds every default
// and every check; the `config` getter returns the core's `Config::to_json`; `payUrls` reads its
// options with convert::pay_urls_batch_size. Defaults in the comments are the core's; a test
// compares the interfaces' names with what `client.config` shows.

/// Options of `new Client(...)`. Only `appKey` and `appSecret` are required; an option left out
/// (or `undefined`, or `null`) takes the core's default. Durations are whole milliseconds.
#[napi(object)]
#[allow(dead_code)]
pub struct ClientOptions {
    pub app_key: String,
    pub app_secret: String,
    /// Default `https://openapi.dajisaas.com`; plain http only for loopback hosts.
    pub base_url: Option<String>,
    /// Total time of one request, 1 to 600000 ms (default 30000).
    pub timeout_ms: Option<u32>,
    /// Time to connect, 1 to 600000 ms (default 10000).
    pub connect_timeout_ms: Option<u32>,
    /// Retries after a retryable failure, 0 to 3 (default 3).
    pub max_retries: Option<u32>,
    /// First backoff step, 0 to 60000 ms (default 200).
    pub backoff_base_ms: Option<u32>,
    /// Longest backoff step, 0 to 60000 ms and not below backoffBaseMs (default 5000).
    pub backoff_cap_ms: Option<u32>,
    /// How `orderIdList` is written (default `'json_array'`).
    pub order_id_format: Option<OrderIdFormat>,
    /// Link batches `payUrls` fetches at once, 1 to 16 (default 4).
    pub max_concurrent_batches: Option<u32>,
    /// Requests (and so connections) in flight at most, 1 to 1024 (default 64); more wait their
    /// turn, and the wait is not part of their timeout.
    pub max_connections: Option<u32>,
    /// CA certificates (PEM) to trust besides the system's, for TLS-inspecting proxies.
    pub root_certificates_pem: Option<String>,
    /// DEBUGGING ONLY: send the secret instead of a signature. Never in production.
    pub dangerously_send_app_secret_instead_of_sign: Option<bool>,
    /// The payment journal: `'memory'` (default, shared by the process), `'memory:NAME'`,
    /// `'sqlite:///abs/path.db'` or `'postgres://…'` to share it between processes.
    pub journal: Option<String>,
}

/// What `client.config` shows: every option in effect, defaults applied, never the secret.
#[napi(object)]
#[allow(dead_code)]
pub struct ClientConfig {
    pub app_key: String,
    /// Normalised, with a trailing `/`.
    pub base_url: String,
    pub timeout_ms: u32,
    pub connect_timeout_ms: u32,
    pub max_retries: u32,
    pub backoff_base_ms: u32,
    pub backoff_cap_ms: u32,
    pub order_id_format: OrderIdFormat,
    pub max_concurrent_batches: u32,
    pub max_connections: u32,
    /// How many extra CA certificates are trusted (the PEM text itself is not shown).
    pub root_certificates_pem: u32,
    pub dangerously_send_app_secret_instead_of_sign: bool,
    /// The payment journal's URL, without any password.
    pub journal: String,
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
    #[napi(ts_type = "any")]
    pub data: convert::Json,
}

/// A completed password-free payment.
#[napi(object)]
pub struct Payment {
    pub order_id: String,
    pub pay_channel: Option<String>,
    pub attempts: u32,
    pub trace_id: Option<String>,
    /// True when no request was sent: the journal had the order paid, or this call waited for a
    /// payment of it already under way in this process.
    pub replayed: bool,
    /// The whole `data` object of the answer; integers beyond 2^53 arrive as BigInt.
    #[napi(ts_type = "any")]
    pub data: convert::Json,
}

/// Options of `payUrls`.
#[napi(object)]
#[allow(dead_code)]
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
            data: convert::Json(p.data),
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
            replayed: p.replayed,
            data: convert::Json(p.data),
        }
    }
}

/// A promise for a core call. `prepare` converts the arguments and returns the call; the call
/// starts on the core's I/O threads straight away (no napi-rs runtime in between, and never
/// libuv's pool) and the promise settles on the JavaScript thread when it is done. A bad
/// argument, or a panic while converting, rejects the promise: nothing is thrown.
fn promise<'env, T, V, F>(
    env: &'env Env,
    client: &dajisaas::AsyncClient,
    prepare: impl FnOnce() -> dajisaas::Result<F>,
    to_js: fn(T) -> V,
) -> napi::Result<Object<'env>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred()?;
    let settle = move |outcome: dajisaas::Result<T>| {
        deferred.resolve(move |env: Env| outcome.map(to_js).map_err(|e| js_error(&env, e)));
    };
    match dajisaas::catch_panic(prepare) {
        Ok(call) => client.start(call, settle),
        Err(e) => settle(Err(e)),
    }
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
    /// Throws a `DajisaasError` (`invalid_argument`) naming the option when one is unknown, of
    /// the wrong type or out of range.
    #[napi(constructor, catch_unwind, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        let inner = guarded(&env, || convert::client_options(&options)?.build_async())?;
        Ok(Client { inner })
    }

    /// A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL.
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env) -> napi::Result<Self> {
        Ok(Client {
            inner: guarded(&env, dajisaas::AsyncClient::from_env)?,
        })
    }

    /// Every option in effect, with the defaults applied; never the secret.
    #[napi(getter, catch_unwind, ts_return_type = "ClientConfig")]
    pub fn config(&self) -> Value {
        self.inner.config().to_json(Casing::Camel)
    }

    /// One cashier link for 1 to 30 distinct orders (strings, BigInt or safe integers).
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: Array<string | bigint | number>",
        ts_return_type = "Promise<PayUrl>"
    )]
    pub fn pay_url<'env>(&self, env: &'env Env, order_ids: Unknown) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let ids = convert::order_ids(&order_ids)?;
                Ok(async move { client.pay_url(ids).await })
            },
            PayUrl::from,
        )
    }

    /// Links for any number of orders, in batches (default 10), in input order; repeats dropped.
    /// At most `maxConcurrentBatches` links are fetched at once.
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: Array<string | bigint | number>, options?: PayUrlsOptions",
        ts_return_type = "Promise<Array<PayUrl>>"
    )]
    pub fn pay_urls<'env>(
        &self,
        env: &'env Env,
        order_ids: Unknown,
        options: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let ids = convert::order_ids(&order_ids)?;
                // The core has no default batch size; 10 is the gateway's advice.
                let batch_size = convert::pay_urls_batch_size(options.as_ref())?
                    .unwrap_or(dajisaas::DEFAULT_BATCH_SIZE);
                Ok(async move { client.pay_urls(ids, batch_size).await })
            },
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
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let id = convert::order_id(&order_id, "orderId")?;
                Ok(async move { client.prepare_pay(id).await })
            },
            Payment::from,
        )
    }

    /// The payment journal's record of an order, or `null` when it has none.
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number",
        ts_return_type = "Promise<PaymentRecord | null>"
    )]
    pub fn payment_record<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let id = convert::order_id(&order_id, "orderId")?;
                Ok(async move { client.payment_record(id).await })
            },
            |record| record.map_or(Value::Null, |r| r.to_json()),
        )
    }

    /// The payment journal's records: all, or those in `state`.
    #[napi(
        catch_unwind,
        ts_args_type = "options?: { state?: PaymentState }",
        ts_return_type = "Promise<Array<PaymentRecord>>"
    )]
    pub fn payment_records<'env>(
        &self,
        env: &'env Env,
        options: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let state = convert::optional_string_field(options.as_ref(), "state")?
                    .map(|s| State::parse(&s))
                    .transpose()?;
                Ok(async move { client.payment_records(state).await })
            },
            |records| Value::Array(records.iter().map(PaymentRecord::to_json).collect()),
        )
    }

    /// Records what a person found for an order whose payment's outcome is unknown: `paid`
    /// true sets `paid`, false `not_paid` (it can then be paid again).
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number, resolution: { paid: boolean, note?: string }",
        ts_return_type = "Promise<PaymentRecord>"
    )]
    pub fn resolve_payment<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
        resolution: Unknown,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let id = convert::order_id(&order_id, "orderId")?;
                let paid = convert::bool_field(&resolution, "paid")?;
                let note =
                    convert::optional_string_field(Some(&resolution), "note")?.unwrap_or_default();
                Ok(async move { client.resolve_payment(id, paid, note).await })
            },
            |record| record.to_json(),
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
        method: Unknown,
        path: Unknown,
        params: Option<Unknown>,
    ) -> napi::Result<Object<'env>> {
        let client = self.inner.clone();
        promise(
            env,
            &self.inner,
            || {
                let method = Method::parse(&convert::string(&method, "method")?)?;
                let path = convert::string(&path, "path")?;
                let params = convert::params(params.as_ref())?;
                Ok(async move { client.request(method, path, params).await })
            },
            convert::Json,
        )
    }

    /// `Client(appKey="...", baseUrl="...", timeoutMs=30000, ...)`: every option in effect, as
    /// `config` shows them; never the secret.
    #[napi(js_name = "toString", catch_unwind)]
    pub fn to_string_js(&self) -> String {
        let shown = match self.inner.config().to_json(Casing::Camel) {
            Value::Object(options) => options
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        format!("Client({shown})")
    }
}

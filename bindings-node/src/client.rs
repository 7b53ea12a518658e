//! `Client`: the core's async client, with Promises that never block the event loop.
//!
//! Calls start on the core's I/O threads straight from the JavaScript thread and settle their
//! promise (a napi deferred) when done. Neither libuv's thread pool nor napi-rs's runtime is used.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use dajisaas::{Casing, Method, PayManyItem, PayManySummary, PaymentRecord, State};
use futures_util::future::{Aborted, abortable};
use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunctionCallMode};
use napi::{Env, JsValue, Status, Unknown, ValueType};
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

// `ClientOptions` and `ClientConfig` exist for their TypeScript interfaces only (hence
// `allow(dead_code)`): `new Client` hands the options object to the core
// (convert::client_options, then `dajisaas::ClientOptions::from_map`), which holds every default
// and every check; the `config` getter returns the core's `Config::to_json`. (The options of the
// calls are typed in dts-header.d.ts.) Defaults in the comments are the core's; a test
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
    /// At most this many calls a second, 1 to 10000, spaced evenly and shared by every call of
    /// the client (default: no fixed limit). Either way the client slows down by itself after
    /// the gateway refuses calls for their frequency.
    pub max_calls_per_second: Option<u32>,
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
    /// `null` when no fixed limit is set.
    pub max_calls_per_second: Option<u32>,
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

/// One finished order of a `payMany` run, as the arguments of client.js's `hooks.item`, which
/// builds `{ orderId, outcome, payment }` or `{ orderId, outcome, error }` from them (object
/// literals, sharing the order id and the repeated words, are lighter than objects built here):
/// index, orderId, outcome, the `DajisaasError` or null, then the payment's payChannel,
/// attempts, traceId, replayed and data.
type ItemArgs = FnArgs<(
    u32,
    String,
    String,
    Option<napi::Error>,
    Option<String>,
    u32,
    Option<String>,
    bool,
    Option<convert::Json>,
)>;

fn item_args(env: &Env, index: usize, item: PayManyItem) -> ItemArgs {
    let outcome = item.outcome.as_str().to_string();
    FnArgs::from(match item.result {
        Ok(p) => (
            index as u32,
            item.order_id,
            outcome,
            None,
            p.pay_channel,
            p.attempts,
            p.trace_id,
            p.replayed,
            Some(convert::Json(p.data)),
        ),
        Err(e) => (
            index as u32,
            item.order_id,
            outcome,
            Some(js_error(env, e)),
            None,
            0,
            None,
            false,
            None,
        ),
    })
}

/// `payMany`'s options, checked here (the core checks the concurrency's range again);
/// `onProgress` and `signal` are the JavaScript side's (client.js).
fn pay_many_concurrency(options: Option<&Unknown<'_>>) -> dajisaas::Result<Option<usize>> {
    let problem = |e: napi::Error| dajisaas::Error::invalid(format!("options: {e}"));
    let Some(options) = options else {
        return Ok(None);
    };
    match options.get_type().map_err(problem)? {
        ValueType::Undefined | ValueType::Null => return Ok(None),
        ValueType::Object if !options.is_array().unwrap_or(false) => {}
        _ => {
            return Err(dajisaas::Error::invalid(
                "options must be an object such as { concurrency: 4, onProgress: (item) => {} }",
            ));
        }
    }
    let object = unsafe { options.cast::<Object>() }.map_err(problem)?;
    let mut concurrency = None;
    for key in Object::keys(&object).map_err(problem)? {
        let Some(value) = object.get::<Unknown>(&key).map_err(problem)? else {
            continue;
        };
        let kind = value.get_type().map_err(problem)?;
        if matches!(kind, ValueType::Undefined | ValueType::Null) {
            continue;
        }
        match key.as_str() {
            "concurrency" => {
                let n = if kind == ValueType::Number {
                    unsafe { value.cast::<f64>() }.map_err(problem)?
                } else {
                    f64::NAN
                };
                let max = dajisaas::MAX_PAY_MANY_CONCURRENCY;
                if n.fract() != 0.0 || !(1.0..=max as f64).contains(&n) {
                    return Err(dajisaas::Error::invalid(format!(
                        "concurrency must be a whole number from 1 to {max}"
                    )));
                }
                concurrency = Some(n as usize);
            }
            "onProgress" if kind == ValueType::Function => {}
            "onProgress" => {
                return Err(dajisaas::Error::invalid("onProgress must be a function"));
            }
            "signal" => {}
            other => {
                return Err(dajisaas::Error::invalid(format!(
                    "unknown option {other:?}; the options are concurrency, onProgress, signal"
                )));
            }
        }
    }
    Ok(concurrency)
}

/// `payMany`'s settling, held back until every result queued before it has reached the
/// JavaScript thread: the results and the promise travel through different queues, and a
/// caller that awaits the promise must have every order's result (and `onProgress` call).
#[derive(Default)]
struct Delivery {
    sent: usize,
    delivered: usize,
    pending: Option<Box<dyn FnOnce() + Send>>,
}

impl Delivery {
    /// Counts one result as delivered; returns the settling if it was waiting for this one.
    fn delivered(this: &Mutex<Delivery>) -> Option<Box<dyn FnOnce() + Send>> {
        let mut d = this.lock().unwrap_or_else(PoisonError::into_inner);
        d.delivered += 1;
        if d.delivered >= d.sent {
            d.pending.take()
        } else {
            None
        }
    }
}

/// What rejects the native promise of an aborted call. Nobody sees it: client.js has already
/// rejected the caller's promise with an AbortError.
fn aborted_error() -> dajisaas::Error {
    dajisaas::Error::invalid("the call was aborted")
}

/// The `hooks` object client.js passes after a call's options, if any.
fn hooks_object<'env>(hooks: Option<&Unknown<'env>>) -> dajisaas::Result<Option<Object<'env>>> {
    let Some(hooks) = hooks else { return Ok(None) };
    let problem = |e: napi::Error| dajisaas::Error::invalid(format!("hooks: {e}"));
    match hooks.get_type().map_err(problem)? {
        ValueType::Object => Ok(Some(unsafe { hooks.cast::<Object>() }.map_err(problem)?)),
        _ => Ok(None),
    }
}

/// `call`, made abortable: with `hooks` (client.js passes them after a call's options), sets
/// `hooks.abort()`, which drops the call's future. The call then stops waiting (a payment goes
/// on: the core owns it) and ends with [`aborted_error`].
fn abortable_by<T, F>(
    env: &Env,
    hooks: Option<&Unknown<'_>>,
    call: F,
) -> dajisaas::Result<impl Future<Output = dajisaas::Result<T>> + Send + 'static + use<T, F>>
where
    T: Send + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    let (call, handle) = abortable(call);
    if let Some(mut hooks) = hooks_object(hooks)? {
        let problem = |e: napi::Error| dajisaas::Error::invalid(format!("hooks: {e}"));
        let abort = env
            .create_function_from_closure::<(), (), _>("abort", move |_| {
                handle.abort();
                Ok(())
            })
            .map_err(problem)?;
        hooks.set_named_property("abort", abort).map_err(problem)?;
    }
    Ok(async move { call.await.unwrap_or_else(|Aborted| Err(aborted_error())) })
}

/// A promise for a core call. `prepare` checks the client and converts the arguments, and
/// returns the client and the call; the call starts on the client's I/O threads straight away
/// (no napi-rs runtime in between, and never libuv's pool) and the promise settles on the
/// JavaScript thread when it is done. A closed client, a bad argument, or a panic while
/// converting rejects the promise: nothing is thrown.
fn promise<'env, T, V, F>(
    env: &'env Env,
    hooks: Option<Unknown<'env>>,
    prepare: impl FnOnce() -> dajisaas::Result<(dajisaas::AsyncClient, F)>,
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
    let prepared = dajisaas::catch_panic(|| {
        let (client, call) = prepare()?;
        Ok((client.clone(), abortable_by(env, hooks.as_ref(), call)?))
    });
    match prepared {
        Ok((client, call)) => {
            client.start(call, settle);
        }
        Err(e) => settle(Err(e)),
    }
    Ok(promise)
}

/// A client of the Dajisaas gateway. Safe to share: every call is independent, many can be in
/// flight at once, and none blocks the event loop. Every call takes `{ signal }`, an
/// `AbortSignal`, in its last options argument: aborting rejects the call at once with an
/// `AbortError` and stops waiting (a payment already sent still runs to its recorded outcome).
#[napi]
pub struct Client {
    /// `None` once closed.
    inner: Option<dajisaas::AsyncClient>,
    config: dajisaas::Config,
}

impl Client {
    fn of(inner: dajisaas::AsyncClient) -> Self {
        Client {
            config: inner.config().clone(),
            inner: Some(inner),
        }
    }

    /// The core client, or the error a closed client's calls reject with.
    fn client(&self) -> dajisaas::Result<&dajisaas::AsyncClient> {
        self.inner
            .as_ref()
            .ok_or_else(|| dajisaas::Error::invalid("the client is closed: create a new Client"))
    }
}

#[napi]
impl Client {
    /// Throws a `DajisaasError` (`invalid_argument`) naming the option when one is unknown, of
    /// the wrong type or out of range.
    #[napi(constructor, catch_unwind, ts_args_type = "options: ClientOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        let inner = guarded(&env, || convert::client_options(&options)?.build_async())?;
        Ok(Client::of(inner))
    }

    /// A client from DAJISAAS_APP_KEY, DAJISAAS_APP_SECRET and DAJISAAS_BASE_URL.
    #[napi(factory, catch_unwind)]
    pub fn from_env(env: Env) -> napi::Result<Self> {
        Ok(Client::of(guarded(&env, dajisaas::AsyncClient::from_env)?))
    }

    /// Every option in effect, with the defaults applied; never the secret.
    #[napi(getter, catch_unwind, ts_return_type = "ClientConfig")]
    pub fn config(&self) -> Value {
        self.config.to_json(Casing::Camel)
    }

    /// Lets the client go: later calls reject with `invalid_argument` (the client is closed),
    /// calls already made run to their end, and the connections and I/O threads are released
    /// once no client needs them. Closing again does nothing.
    #[napi(catch_unwind)]
    pub fn close(&mut self) {
        self.inner = None;
    }

    /// True once `close()` was called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
    }

    /// One cashier link for 1 to 30 distinct orders (strings, BigInt or safe integers).
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: ReadonlyArray<string | bigint | number>, options?: CallOptions",
        ts_return_type = "Promise<PayUrl>"
    )]
    pub fn pay_url<'env>(
        &self,
        env: &'env Env,
        order_ids: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let ids = convert::order_ids(&order_ids)?;
                convert::call_options(options.as_ref())?;
                Ok((client.clone(), async move { client.pay_url(ids).await }))
            },
            PayUrl::from,
        )
    }

    /// Links for any number of orders, in batches (default 10), in input order; repeats dropped.
    /// At most `maxConcurrentBatches` links are fetched at once.
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: ReadonlyArray<string | bigint | number>, options?: PayUrlsOptions",
        ts_return_type = "Promise<Array<PayUrl>>"
    )]
    pub fn pay_urls<'env>(
        &self,
        env: &'env Env,
        order_ids: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let ids = convert::order_ids(&order_ids)?;
                // The core has no default batch size; 10 is the gateway's advice.
                let batch_size = convert::pay_urls_batch_size(options.as_ref())?
                    .unwrap_or(dajisaas::DEFAULT_BATCH_SIZE);
                Ok((client.clone(), async move {
                    client.pay_urls(ids, batch_size).await
                }))
            },
            |links| links.into_iter().map(PayUrl::from).collect::<Vec<_>>(),
        )
    }

    /// Pays one order without the buyer's password; retries can never pay it twice.
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number, options?: CallOptions",
        ts_return_type = "Promise<Payment>"
    )]
    pub fn prepare_pay<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let id = convert::order_id(&order_id, "orderId")?;
                convert::call_options(options.as_ref())?;
                Ok((client.clone(), async move { client.prepare_pay(id).await }))
            },
            Payment::from,
        )
    }

    /// Pays many orders (strings, BigInt or safe integers), at most `concurrency` (1 to 64,
    /// default 4) at a time, each as `preparePay` pays one. Every id is checked first: if any
    /// is bad, nothing is sent and the promise rejects (`invalid_argument`, naming each bad
    /// id's position). Repeats are dropped. One order's failure never stops the others: the
    /// promise resolves to `{ results, summary }`, one `{ orderId, outcome, payment | error }`
    /// per order in input order. `onProgress(item)` is called on the JavaScript thread once per
    /// order as it finishes, every call before the promise resolves. Aborting stops further
    /// orders from starting; those in flight run to their recorded outcome.
    #[napi(
        catch_unwind,
        ts_args_type = "orderIds: ReadonlyArray<string | bigint | number>, options?: PayManyOptions",
        ts_return_type = "Promise<PayManyResult>"
    )]
    pub fn pay_many<'env>(
        &self,
        env: &'env Env,
        order_ids: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        // Each finished order goes to the JavaScript thread at once (hooks.item, client.js,
        // which gathers the results), so that no copy of it waits here for the end of the run;
        // the promise resolves to the summary once every one has arrived.
        let (deferred, promise) = env.create_deferred()?;
        let settle = move |outcome: dajisaas::Result<PayManySummary>| {
            deferred.resolve(move |env: Env| {
                outcome
                    .map(|summary| summary.to_json())
                    .map_err(|e| js_error(&env, e))
            });
        };
        let prepared = dajisaas::catch_panic(|| {
            let client = self.client()?.clone();
            let ids = convert::order_ids(&order_ids)?;
            let concurrency = pay_many_concurrency(options.as_ref())?
                .unwrap_or(dajisaas::DEFAULT_PAY_MANY_CONCURRENCY);
            let item = hooks_object(hooks.as_ref())?
                .and_then(|h| h.get::<Unknown>("item").ok().flatten())
                .filter(|f| f.get_type().ok() == Some(ValueType::Function))
                .ok_or_else(|| {
                    dajisaas::Error::new(
                        dajisaas::ErrorCode::Internal,
                        "payMany was called without its JavaScript side (client.js)",
                    )
                })?;
            let tsfn = unsafe { item.cast::<ItemFn>() }
                .and_then(|f| {
                    f.build_threadsafe_function::<(usize, PayManyItem)>()
                        .callee_handled::<false>()
                        .build_callback(|ctx: ThreadsafeCallContext<(usize, PayManyItem)>| {
                            let (index, item) = ctx.value;
                            Ok(item_args(&ctx.env, index, item))
                        })
                })
                .map_err(|e| dajisaas::Error::invalid(format!("payMany: {e}")))?;
            let delivery = Arc::new(Mutex::new(Delivery::default()));
            let counter = delivery.clone();
            let deliver = move |index: usize, item: PayManyItem| {
                counter.lock().unwrap_or_else(PoisonError::into_inner).sent += 1;
                let after = counter.clone();
                let status = tsfn.call_with_return_value(
                    (index, item),
                    ThreadsafeFunctionCallMode::NonBlocking,
                    move |_returned: napi::Result<Unknown<'static>>, _env: Env| {
                        if let Some(settle) = Delivery::delivered(&after) {
                            settle();
                        }
                        Ok(())
                    },
                );
                if status != Status::Ok {
                    // Not queued (the JavaScript environment is going away): never delivered.
                    if let Some(settle) = Delivery::delivered(&counter) {
                        settle();
                    }
                }
            };
            let runner = client.clone();
            let call = abortable_by(env, hooks.as_ref(), async move {
                runner.pay_many_each(ids, concurrency, deliver).await
            })?;
            Ok((client, delivery, call))
        });
        let (client, delivery, call) = match prepared {
            Ok(prepared) => prepared,
            Err(e) => {
                settle(Err(e));
                return Ok(promise);
            }
        };
        client.start(call, move |outcome| {
            let mut d = delivery.lock().unwrap_or_else(PoisonError::into_inner);
            if d.delivered >= d.sent {
                drop(d);
                settle(outcome);
            } else {
                d.pending = Some(Box::new(move || settle(outcome)));
            }
        });
        Ok(promise)
    }

    /// The payment journal's record of an order, or `null` when it has none.
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number, options?: CallOptions",
        ts_return_type = "Promise<PaymentRecord | null>"
    )]
    pub fn payment_record<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let id = convert::order_id(&order_id, "orderId")?;
                convert::call_options(options.as_ref())?;
                Ok((
                    client.clone(),
                    async move { client.payment_record(id).await },
                ))
            },
            |record| record.map_or(Value::Null, |r| r.to_json()),
        )
    }

    /// The payment journal's records: all, or those in `state`.
    #[napi(
        catch_unwind,
        ts_args_type = "options?: PaymentRecordsOptions",
        ts_return_type = "Promise<Array<PaymentRecord>>"
    )]
    pub fn payment_records<'env>(
        &self,
        env: &'env Env,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let state = convert::optional_string_field(options.as_ref(), "state")?
                    .map(|s| State::parse(&s))
                    .transpose()?;
                Ok((client.clone(), async move {
                    client.payment_records(state).await
                }))
            },
            |records| Value::Array(records.iter().map(PaymentRecord::to_json).collect()),
        )
    }

    /// Records what a person found for an order whose payment's outcome is unknown: `paid`
    /// true sets `paid`, false `not_paid` (it can then be paid again).
    #[napi(
        catch_unwind,
        ts_args_type = "orderId: string | bigint | number, resolution: { paid: boolean, note?: string }, options?: CallOptions",
        ts_return_type = "Promise<PaymentRecord>"
    )]
    pub fn resolve_payment<'env>(
        &self,
        env: &'env Env,
        order_id: Unknown,
        resolution: Unknown,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let id = convert::order_id(&order_id, "orderId")?;
                let paid = convert::bool_field(&resolution, "paid")?;
                let note =
                    convert::optional_string_field(Some(&resolution), "note")?.unwrap_or_default();
                convert::call_options(options.as_ref())?;
                Ok((client.clone(), async move {
                    client.resolve_payment(id, paid, note).await
                }))
            },
            |record| record.to_json(),
        )
    }

    /// Any other gateway endpoint, signed. `params` is an object, or JSON text for values a
    /// JavaScript number cannot hold. Resolves to the envelope's `data`.
    #[napi(
        catch_unwind,
        ts_args_type = "method: 'GET' | 'POST', path: string, params?: object | string | null, options?: CallOptions",
        ts_return_type = "Promise<any>"
    )]
    pub fn request<'env>(
        &self,
        env: &'env Env,
        method: Unknown,
        path: Unknown,
        params: Option<Unknown>,
        options: Option<Unknown>,
        hooks: Option<Unknown<'env>>,
    ) -> napi::Result<Object<'env>> {
        promise(
            env,
            hooks,
            || {
                let client = self.client()?.clone();
                let method = Method::parse(&convert::string(&method, "method")?)?;
                let path = convert::string(&path, "path")?;
                let params = convert::params(params.as_ref())?;
                convert::call_options(options.as_ref())?;
                Ok((client.clone(), async move {
                    client.request(method, path, params).await
                }))
            },
            convert::Json,
        )
    }

    /// `Client(appKey="...", baseUrl="...", timeoutMs=30000, ...)`: every option in effect, as
    /// `config` shows them; never the secret.
    #[napi(js_name = "toString", catch_unwind)]
    pub fn to_string_js(&self) -> String {
        let shown = match self.config.to_json(Casing::Camel) {
            Value::Object(options) => options
                .iter()
                .map(|(name, value)| format!("{name}={value}"))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        let closed = if self.inner.is_none() { ", closed" } else { "" };
        format!("Client({shown}{closed})")
    }
}

/// `hooks.item(...)` of client.js.
type ItemFn<'env> = Function<'env, ItemArgs, Unknown<'static>>;

/// Wraps the native class in its JavaScript side (client.js) and exports that as `Client`.
pub fn register(env: &Env, exports: &mut Object, make: Unknown) -> napi::Result<()> {
    let native: Unknown = exports.get_named_property("Client")?;
    let side: Function<FnArgs<(Unknown, Unknown)>, Unknown> =
        env.run_script(include_str!("client.js"))?;
    let client = side.call(FnArgs::from((native, make)))?;
    exports.set_named_property("Client", client)
}

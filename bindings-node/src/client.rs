//! `Client`: the core's async client, with Promises that never block the event loop.
//!
//! Calls start on the core's I/O threads straight from the JavaScript thread and settle their
//! promise (a napi deferred) when done. Neither libuv's thread pool nor napi-rs's runtime is used.

use std::future::{Future, poll_fn};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Poll, Waker};

use dajisaas::{Casing, PayManyItem, PayManySummary, PaymentRecord};
use napi::bindgen_prelude::{FnArgs, Function, JsObjectValue, Object, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeCallContext, ThreadsafeFunctionCallMode};
use napi::{Env, JsDeferred, JsValue, Status, Unknown, ValueType};
use napi_derive::napi;
use serde_json::Value;

use crate::args::{
    Arg, CallOptions, FlushJournalOptions, HttpMethod, OrderId, OrderIds, Path, PayManyOptions,
    PayUrlsOptions, RecordsOptions, RequestParams, Resolution,
};
use crate::convert;
use crate::errors::{boundary_error, guarded, js_error};

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
    /// The deadline of every payment journal operation, 100 to 60000 ms (default 5000): past
    /// it the call fails with `journal`.
    pub journal_timeout_ms: Option<u32>,
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
    pub journal_timeout_ms: u32,
    /// `null` when no fixed limit is set (always present: the type is not optional).
    #[napi(ts_type = "number | null")]
    pub max_calls_per_second: Value,
    /// Whose pace `maxCallsPerSecond` and the adaptive limit are: `"journal"`, shared by every
    /// process using the SQLite or PostgreSQL journal; `"process"`, this process's (memory
    /// journal).
    #[napi(ts_type = "'journal' | 'process'")]
    pub pace: String,
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
    /// True when the gateway answered that the order was already paid: it counts as paid and
    /// was not retried; `data` holds that answer.
    pub already_paid: bool,
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
            already_paid: p.already_paid,
            data: convert::Json(p.data),
        }
    }
}

/// One finished order of a `payMany` run, as the arguments of client.js's `hooks.item`, which
/// builds `{ orderId, outcome, payment }` or `{ orderId, outcome, error }` from them (object
/// literals, sharing the order id and the repeated words, are lighter than objects built here):
/// index, orderId, outcome, the `DajisaasError` or null, then the payment's payChannel,
/// attempts, traceId, replayed, alreadyPaid and data.
type ItemArgs = FnArgs<(
    u32,
    String,
    String,
    Option<napi::Error>,
    Option<String>,
    u32,
    Option<String>,
    bool,
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
            p.already_paid,
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
            false,
            None,
        ),
    })
}

/// How many of a `payMany` run's results were handed to the JavaScript thread, and how many
/// arrived there: the results and the promise travel through different queues, and a caller
/// that awaits the promise must have every order's result (and `onProgress` call) first.
#[derive(Default)]
struct Delivery {
    sent: usize,
    delivered: usize,
    waiting: Option<Waker>,
}

impl Delivery {
    fn lock(this: &Mutex<Delivery>) -> std::sync::MutexGuard<'_, Delivery> {
        this.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts one result as arrived (or as never to arrive).
    fn arrived(this: &Mutex<Delivery>) {
        let mut d = Delivery::lock(this);
        d.delivered += 1;
        if d.delivered >= d.sent
            && let Some(waker) = d.waiting.take()
        {
            waker.wake();
        }
    }

    /// Until every result sent so far has arrived.
    async fn all_arrived(this: Arc<Mutex<Delivery>>) {
        poll_fn(|cx| {
            let mut d = Delivery::lock(&this);
            if d.delivered >= d.sent {
                Poll::Ready(())
            } else {
                d.waiting = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// payMany's results on their way to the JavaScript thread: `hooks.item` of client.js as a
/// threadsafe function, called once per finished order (client.js gathers the results), so
/// that no copy of them waits here for the end of the run.
struct Items {
    tsfn: Arc<ItemTsfn>,
    delivery: Arc<Mutex<Delivery>>,
}

type ItemTsfn = napi::threadsafe_function::ThreadsafeFunction<
    (usize, PayManyItem),
    Unknown<'static>,
    ItemArgs,
    Status,
    false,
>;

impl Arg for Items {
    fn arg(hooks: &Unknown<'_>) -> dajisaas::Result<Self> {
        let item = hooks_object(hooks)?
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
        Ok(Items {
            tsfn: Arc::new(tsfn),
            delivery: Arc::default(),
        })
    }
}

impl Items {
    /// The `on_item` of `pay_many_each`: hands one finished order to the JavaScript thread.
    fn sender(&self) -> impl FnMut(usize, PayManyItem) + Send + 'static {
        let (tsfn, delivery) = (self.tsfn.clone(), self.delivery.clone());
        move |index, item| {
            Delivery::lock(&delivery).sent += 1;
            let after = delivery.clone();
            let status = tsfn.call_with_return_value(
                (index, item),
                ThreadsafeFunctionCallMode::NonBlocking,
                move |_returned: napi::Result<Unknown<'static>>, _env: Env| {
                    Delivery::arrived(&after);
                    Ok(())
                },
            );
            if status != Status::Ok {
                // Not queued (the JavaScript environment is going away): never arrives.
                Delivery::arrived(&delivery);
            }
        }
    }

    /// Pays `ids` as `pay_many_each` does; returns once every order's result has arrived.
    async fn pay(
        self,
        client: &dajisaas::AsyncClient,
        ids: Vec<String>,
        concurrency: usize,
    ) -> dajisaas::Result<PayManySummary> {
        let summary = client.pay_many_each(ids, concurrency, self.sender()).await;
        Delivery::all_arrived(self.delivery).await;
        summary
    }
}

/// What rejects the native promise of an aborted call. Nobody sees it: client.js has already
/// rejected the caller's promise with an AbortError.
fn aborted_error() -> dajisaas::Error {
    dajisaas::Error::invalid("the call was aborted")
}

/// The `hooks` object client.js passes after a call's options, if any.
fn hooks_object<'env>(hooks: &Unknown<'env>) -> dajisaas::Result<Option<Object<'env>>> {
    let problem = |e: napi::Error| dajisaas::Error::invalid(format!("hooks: {e}"));
    match hooks.get_type().map_err(problem)? {
        ValueType::Object => Ok(Some(unsafe { hooks.cast::<Object>() }.map_err(problem)?)),
        _ => Ok(None),
    }
}

/// Sets `hooks.abort()` (client.js passes `hooks` after a call's options), which gives the call
/// up ([`dajisaas::Started::cancel`]): its future is dropped, so a payment whose request was not
/// written yet is dropped with it (claim released, nothing sent), and one that may have been
/// written runs to its recorded outcome; the promise then rejects with [`aborted_error`], which
/// nobody sees (client.js has already rejected the caller's promise).
fn abort_hook(env: &Env, hooks: &Unknown<'_>, started: dajisaas::Started) -> dajisaas::Result<()> {
    let Some(mut hooks) = hooks_object(hooks)? else {
        return Ok(());
    };
    let problem = |e: napi::Error| dajisaas::Error::invalid(format!("hooks: {e}"));
    let abort = env
        .create_function_from_closure::<(), (), _>("abort", move |_| {
            started.cancel();
            Ok(())
        })
        .map_err(problem)?;
    hooks.set_named_property("abort", abort).map_err(problem)
}

/// How a promise's value is made on the JavaScript thread.
type Resolver<V> = Box<dyn FnOnce(Env) -> napi::Result<V> + Send>;

/// A call's promise, settled once. Dropped unsettled (a call whose future was dropped before
/// it ended), it rejects: no promise is left pending, and its threadsafe function, which would
/// keep the process alive, is released.
struct Settle<V: ToNapiValue + 'static>(Option<JsDeferred<V, Resolver<V>>>);

impl<V: ToNapiValue + 'static> Settle<V> {
    fn with(mut self, resolver: Resolver<V>) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(resolver);
        }
    }
}

impl<V: ToNapiValue + 'static> Drop for Settle<V> {
    fn drop(&mut self) {
        if let Some(deferred) = self.0.take() {
            deferred.resolve(Box::new(|env| Err(js_error(&env, aborted_error()))));
        }
    }
}

/// A promise for a core call. `prepare` checks the client and converts the arguments, and
/// returns the client and the call; the call starts on the client's I/O threads straight away
/// (no napi-rs runtime in between, and never libuv's pool) and the promise settles on the
/// JavaScript thread when it is done. A closed client, a bad argument, a throwing getter or a
/// panic while converting rejects the promise, with no JavaScript exception left pending:
/// nothing is thrown.
fn promise<'env, T, V, F>(
    env: &'env Env,
    hooks: Option<&Unknown<'env>>,
    prepare: impl FnOnce() -> dajisaas::Result<(dajisaas::AsyncClient, F)>,
    to_js: fn(T) -> V,
) -> napi::Result<Object<'env>>
where
    T: Send + 'static,
    V: ToNapiValue + 'static,
    F: Future<Output = dajisaas::Result<T>> + Send + 'static,
{
    let (deferred, promise) = env.create_deferred::<V, Resolver<V>>()?;
    let settle = Settle(Some(deferred));
    let prepared = dajisaas::catch_panic(prepare);
    match prepared {
        Ok((client, call)) => {
            let started = client.start(call, move |outcome| {
                settle.with(Box::new(move |env| {
                    outcome.map(to_js).map_err(|e| js_error(&env, e))
                }))
            });
            // `hooks` is client.js's own object: setting `abort` on it fails only while the
            // environment shuts down, and the call then runs to its end unabortable. Nothing is
            // left pending either way.
            if let Some(hooks) = hooks
                && abort_hook(env, hooks, started).is_err()
            {
                crate::errors::take_exception(env.raw());
            }
        }
        Err(e) => {
            let error = boundary_error(env, e);
            settle.with(Box::new(move |_| Err(error)));
        }
    }
    Ok(promise)
}

/// The promise methods of `Client`, one declaration each: the method's name, its arguments and
/// the type each converts to (args.rs), its TypeScript signature, the core call it makes and
/// how the result converts. Each method also takes `hooks` last (client.js's: `abort`, and
/// `item` for payMany), which a declaration may convert as well (after a `;`).
/// `this: Client` in the signatures: a method taken off its client (`const f = c.preparePay`,
/// `ids.map(c.preparePay)`) is not callable; call it on the client
/// (`ids.map((id) => c.preparePay(id))`).
macro_rules! calls {
    ($(
        $(#[doc = $doc:literal])*
        $name:ident($($arg:ident: $ty:ty),* $(; $from_hooks:ident: $hooks_ty:ty)?)
        [$ts_args:literal -> $ts_return:literal]
        |$client:ident| $call:expr => $to_js:expr;
    )*) => {
        #[napi]
        impl Client {
            $(
                $(#[doc = $doc])*
                #[napi(catch_unwind, ts_args_type = $ts_args, ts_return_type = $ts_return)]
                pub fn $name<'env>(
                    &self,
                    env: &'env Env,
                    $($arg: Unknown,)*
                    hooks: Unknown<'env>,
                ) -> napi::Result<Object<'env>> {
                    promise(
                        env,
                        Some(&hooks),
                        || {
                            let $client = self.client()?.clone();
                            $(
                                #[allow(unused_variables)]
                                let $arg = <$ty as Arg>::arg(&$arg)?;
                            )*
                            $(let $from_hooks = <$hooks_ty as Arg>::arg(&hooks)?;)?
                            Ok(($client.clone(), async move { $call.await }))
                        },
                        $to_js,
                    )
                }
            )*
        }
    };
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
    /// once no client needs them. First it writes the payment outcomes this process keeps for
    /// the client's journal, as `flushJournal()` does (for at most `journalTimeoutMs`): the
    /// promise resolves to how many are still kept (0 when all were written), and keeps the
    /// process alive until then. Closing again resolves to 0 at once.
    #[napi(catch_unwind, ts_return_type = "Promise<number>")]
    pub fn close<'env>(&mut self, env: &'env Env) -> napi::Result<Object<'env>> {
        let Some(client) = self.inner.take() else {
            let (deferred, promise) = env.create_deferred::<u32, Resolver<u32>>()?;
            Settle(Some(deferred)).with(Box::new(|_| Ok(0)));
            return Ok(promise);
        };
        promise(
            env,
            None,
            || {
                Ok((
                    client.clone(),
                    async move { client.flush_journal(None).await },
                ))
            },
            |kept: usize| kept as u32,
        )
    }

    /// True once `close()` was called.
    #[napi(getter, catch_unwind)]
    pub fn closed(&self) -> bool {
        self.inner.is_none()
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

calls! {
    /// One cashier link for 1 to 30 distinct orders (strings, BigInt or safe integers).
    pay_url(order_ids: OrderIds, options: CallOptions)
        ["this: Client, orderIds: ReadonlyArray<string | bigint | number>, options?: CallOptions" -> "Promise<PayUrl>"]
        |client| client.pay_url(order_ids.0) => PayUrl::from;

    /// Links for any number of orders, in batches (default 10), in input order; repeats
    /// dropped. At most `maxConcurrentBatches` links are fetched at once.
    pay_urls(order_ids: OrderIds, options: PayUrlsOptions)
        ["this: Client, orderIds: ReadonlyArray<string | bigint | number>, options?: PayUrlsOptions" -> "Promise<Array<PayUrl>>"]
        |client| client.pay_urls(order_ids.0, options.batch_size)
        => |links| links.into_iter().map(PayUrl::from).collect::<Vec<_>>();

    /// Pays one order without the buyer's password; retries can never pay it twice.
    prepare_pay(order_id: OrderId, options: CallOptions)
        ["this: Client, orderId: string | bigint | number, options?: CallOptions" -> "Promise<Payment>"]
        |client| client.prepare_pay(order_id.0) => Payment::from;

    /// Pays many orders (strings, BigInt or safe integers), at most `concurrency` (1 to 64,
    /// default 4) at a time, each as `preparePay` pays one. Every id is checked first: if any
    /// is bad, nothing is sent and the promise rejects (`invalid_argument`, naming each bad
    /// id's position). Repeats are dropped. One order's failure never stops the others: the
    /// promise resolves to `{ results, summary }`, one `{ orderId, outcome, payment | error }`
    /// per order in input order. `onProgress(item)` is called on the JavaScript thread once per
    /// order as it finishes, every call before the promise resolves. Aborting stops further
    /// orders from starting; those in flight run to their recorded outcome.
    pay_many(order_ids: OrderIds, options: PayManyOptions; items: Items)
        ["this: Client, orderIds: ReadonlyArray<string | bigint | number>, options?: PayManyOptions" -> "Promise<PayManyResult>"]
        |client| items.pay(&client, order_ids.0, options.concurrency)
        => |summary: PayManySummary| summary.to_json();

    /// The payment journal's record of an order, or `null` when it has none.
    payment_record(order_id: OrderId, options: CallOptions)
        ["this: Client, orderId: string | bigint | number, options?: CallOptions" -> "Promise<PaymentRecord | null>"]
        |client| client.payment_record(order_id.0)
        => |record| record.map_or(Value::Null, |r| r.to_json());

    /// The payment journal's records: all, or those in `state`.
    payment_records(options: RecordsOptions)
        ["this: Client, options?: PaymentRecordsOptions" -> "Promise<Array<PaymentRecord>>"]
        |client| client.payment_records(options.state)
        => |records| Value::Array(records.iter().map(PaymentRecord::to_json).collect());

    /// Records what a person found for an order whose payment's outcome is unknown: `paid`
    /// true sets `paid`, false `not_paid` (it can then be paid again).
    resolve_payment(order_id: OrderId, resolution: Resolution, options: CallOptions)
        ["this: Client, orderId: string | bigint | number, resolution: { paid: boolean, note?: string }, options?: CallOptions" -> "Promise<PaymentRecord>"]
        |client| client.resolve_payment(order_id.0, resolution.paid, resolution.note)
        => |record| record.to_json();

    /// Writes the payment outcomes this process keeps because the journal could not take them
    /// when their payments ended (a restart, a cut connection, a lock held too long), waiting
    /// at most `timeoutMs` (100 to 60000; default `journalTimeoutMs`). Resolves to how many are
    /// still kept: they are tried again while the process runs, but a process that exits loses
    /// them, and those orders turn `unknown` once their claims expire. `close()` and the
    /// process's exit (`beforeExit`, `exit`) do this too.
    flush_journal(options: FlushJournalOptions)
        ["this: Client, options?: FlushJournalOptions" -> "Promise<number>"]
        |client| client.flush_journal(options.timeout) => |kept: usize| kept as u32;

    /// Any other gateway endpoint, signed. `params` is an object, or JSON text for values a
    /// JavaScript number cannot hold. Resolves to the envelope's `data`. A path that, decoded,
    /// has a `.` or `..` segment, an encoded `/` or `\`, a NUL, or no leading `/` is refused.
    request(method: HttpMethod, path: Path, params: RequestParams, options: CallOptions)
        ["this: Client, method: 'GET' | 'POST', path: string, params?: object | string | null, options?: CallOptions" -> "Promise<any>"]
        |client| client.request(method.0, path.0, params.0) => convert::Json;
}

/// `hooks.item(...)` of client.js.
type ItemFn<'env> = Function<'env, ItemArgs, Unknown<'static>>;

/// Wraps the native class in its JavaScript side (client.js) and exports that as `Client`.
/// client.js also gets the exit hooks' native part: `flushAtExit()` writes the payment outcomes
/// the process keeps (the core's policy) and returns the warning about what stays kept, or null.
pub fn register(env: &Env, exports: &mut Object, make: Unknown) -> napi::Result<()> {
    let native: Unknown = exports.get_named_property("Client")?;
    let flush_at_exit =
        env.create_function_from_closure::<(), Option<String>, _>("flushAtExit", |_| {
            dajisaas::catch_panic(|| Ok(dajisaas::flush_journals_before_exit()))
                .map_err(|e| napi::Error::from_reason(e.message().to_string()))
        })?;
    let side: Function<FnArgs<(Unknown, Unknown, Unknown)>, Unknown> =
        env.run_script(include_str!("client.js"))?;
    let client = side.call(FnArgs::from((native, make, flush_at_exit.to_unknown())))?;
    exports.set_named_property("Client", client)
}

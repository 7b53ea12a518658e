//! The clients: [`Client`] (blocking) and [`AsyncClient`], two faces of one shared core.

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::batch::{PayManyItem, PayManyReport, PayManySummary};
use crate::cancel::Cancel;
use crate::config::{ClientBuilder, Config};
use crate::error::Result;
use crate::journal::{PaymentRecord, State};
use crate::model::{PayUrl, Payment};
use crate::pay_many::Progress;
use crate::per_process::PerProcess;
use crate::runtime::SharedRuntime;
use crate::sign::Params;
use crate::transport::{Method, http_client};

/// State shared by every clone of a client.
pub(crate) struct Inner {
    pub config: Config,
    /// This process's I/O: a `fork()` child makes its own on its first call, without touching
    /// the parent's (whose threads it does not have) or any lock a parent thread held.
    io: PerProcess<Result<Arc<Io>>>,
}

/// What a client uses for I/O in one process: after a `fork()` the child gets its own, since
/// the parent's runtime threads do not exist there and its pooled sockets are the parent's.
struct Io {
    http: reqwest::Client,
    /// Declared last so that the HTTP client's connections close before the runtime stops.
    runtime: Arc<SharedRuntime>,
}

impl Io {
    fn new(config: &Config) -> Result<Arc<Io>> {
        Ok(Arc::new(Io {
            http: http_client(config)?,
            runtime: SharedRuntime::acquire()?,
        }))
    }
}

impl Inner {
    fn new(config: Config) -> Result<Self> {
        let inner = Inner {
            io: PerProcess::empty(),
            config,
        };
        inner.io()?;
        Ok(inner)
    }

    /// This process's I/O: in a child process made by `fork()` (the pid changed), a fresh
    /// runtime and HTTP client. The parent's are left untouched, never dropped, in the child.
    fn io(&self) -> Result<Arc<Io>> {
        self.io.get_with(|_| Io::new(&self.config)).clone()
    }

    /// The runtime that runs this process's calls.
    pub(crate) fn runtime(&self) -> Result<Arc<SharedRuntime>> {
        Ok(self.io()?.runtime.clone())
    }

    /// See [`Client::flush_journal`].
    async fn flush_journal(&self, timeout: Option<Duration>) -> Result<usize> {
        let timeout = crate::pending::flush_timeout(timeout, self.config.journal_timeout)?;
        let left = crate::pending::flush_kept(Some(self.config.journal.url()), timeout).await;
        Ok(left.len())
    }

    /// The HTTP client of this process (the one `runtime()` chose at the start of the call).
    pub fn http(&self) -> reqwest::Client {
        self.io()
            .expect("made by runtime() at the start of the call")
            .http
            .clone()
    }
}

/// The blocking client. Cheap to clone and safe to share between threads; every clone shares
/// one connection pool.
///
/// Do not call it from inside an async runtime (it refuses with `invalid_argument`); use
/// [`AsyncClient`] there.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// The async client: the same calls as [`Client`], as futures that can be awaited from any
/// executor. Cheap to clone and safe to share.
#[derive(Clone)]
pub struct AsyncClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl fmt::Debug for AsyncClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClient")
            .field("config", &self.inner.config)
            .finish()
    }
}

impl Client {
    pub(crate) fn from_config(config: Config) -> Result<Client> {
        Ok(Client {
            inner: Arc::new(Inner::new(config)?),
        })
    }

    /// A builder with the given credentials; see [`ClientBuilder`] for the other settings.
    pub fn builder(app_key: impl Into<String>, app_secret: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(app_key, app_secret)
    }

    /// A client configured from `DAJISAAS_APP_KEY`, `DAJISAAS_APP_SECRET` and `DAJISAAS_BASE_URL`.
    pub fn from_env() -> Result<Client> {
        ClientBuilder::from_env()?.build()
    }

    /// The validated configuration (its `Debug` hides the secret).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The async face of this client, sharing its connections and in-flight payments.
    pub fn to_async(&self) -> AsyncClient {
        AsyncClient {
            inner: self.inner.clone(),
        }
    }

    /// A cashier link for 1 to 30 orders (`GET /alibaba/alipay/url/get`). Ids are decimal
    /// strings of 1 to 19 digits, distinct. Retried on connect failures, timeouts, 5xx and
    /// rate limits: a link request is a read.
    pub fn pay_url<S: AsRef<str>>(&self, order_ids: &[S]) -> Result<PayUrl> {
        let inner = self.inner.clone();
        let ids = owned(order_ids);
        self.inner
            .runtime()?
            .block_on(async move { inner.pay_url(&ids).await })
    }

    /// Links for any number of orders: duplicates dropped (first occurrence kept), split into
    /// batches of `batch_size` (1 to 30, the gateway advises 10), fetched concurrently with a
    /// bounded number in flight. Links come back in input order; an error names the batch.
    pub fn pay_urls<S: AsRef<str>>(
        &self,
        order_ids: &[S],
        batch_size: usize,
    ) -> Result<Vec<PayUrl>> {
        let inner = self.inner.clone();
        let ids = owned(order_ids);
        self.inner
            .runtime()?
            .block_on(async move { inner.pay_urls(&ids, batch_size).await })
    }

    /// Pays one order without the buyer's password
    /// (`POST /alibaba/trade/pay/protocolPay/preparePay`).
    ///
    /// Retried only when the deduction surely did not happen (not sent, rate limited,
    /// declined), at most `max_retries` times. Any answer that leaves the payment in doubt
    /// (timeout or lost connection after sending, HTTP 5xx, an unreadable body, `success` without
    /// `paySuccess`) ends at once as `payment_outcome_unknown`: check the order before paying
    /// again. A second call for an order whose payment is under way on this client is refused.
    pub fn prepare_pay(&self, order_id: &str) -> Result<Payment> {
        let inner = self.inner.clone();
        let id = order_id.to_string();
        self.inner
            .runtime()?
            .block_on(inner.prepare_pay(id, Cancel::new()))
    }

    /// Pays many orders, at most `concurrency` (1 to 64; the bindings' default is 4) at a time,
    /// each exactly as [`prepare_pay`](Client::prepare_pay) does (the journal included).
    ///
    /// Every id is checked first: if any is bad, nothing is sent and the `invalid_argument`
    /// error names each bad id's position. Repeats are dropped (the first kept). One order's
    /// failure never stops the others: the report has one [`PayManyItem`] per order, in input
    /// order, with its [`PaymentOutcome`](crate::PaymentOutcome) and its payment or error, and
    /// the count of each outcome; [`PayManyReport::most_serious_failure`] says what to act on
    /// first. The ids are streamed: memory stays flat however many orders there are.
    pub fn pay_many<S: AsRef<str>>(
        &self,
        order_ids: &[S],
        concurrency: usize,
    ) -> Result<PayManyReport> {
        self.run_pay_many(owned(order_ids), concurrency, None)
    }

    /// [`pay_many`](Client::pay_many), calling `on_progress` once per order as it finishes (in
    /// the order they finish), on one of the client's I/O threads. Keep it short: the next
    /// results wait for it. A panic in it is logged and the run goes on.
    pub fn pay_many_with_progress<S, F>(
        &self,
        order_ids: &[S],
        concurrency: usize,
        on_progress: F,
    ) -> Result<PayManyReport>
    where
        S: AsRef<str>,
        F: Fn(&PayManyItem) + Send + Sync + 'static,
    {
        self.run_pay_many(owned(order_ids), concurrency, Some(Arc::new(on_progress)))
    }

    fn run_pay_many(
        &self,
        ids: Vec<String>,
        concurrency: usize,
        progress: Option<Progress>,
    ) -> Result<PayManyReport> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .block_on(inner.pay_many(ids, concurrency, progress))
    }

    /// The payment journal's record of an order (`None` if it has none).
    pub fn payment_record(&self, order_id: &str) -> Result<Option<PaymentRecord>> {
        let inner = self.inner.clone();
        let id = order_id.to_string();
        self.inner
            .runtime()?
            .block_on(async move { inner.payment_record(&id).await })
    }

    /// The payment journal's records: all of them, or those in `state`.
    pub fn payment_records(&self, state: Option<State>) -> Result<Vec<PaymentRecord>> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .block_on(async move { inner.payment_records(state).await })
    }

    /// Records what a person found after checking an order (JOURNAL.md "Reconciliation"):
    /// `paid` true sets `paid`, false `not_paid` (then it can be paid again), appended to the
    /// record's history with `note` (at most 4 KiB of UTF-8, no NUL). Allowed for an `unknown`
    /// outcome, a claim whose owner died, as a correction (`paid` ↔ `not_paid`, `declined` →
    /// `paid`), and `paid` for an order the journal never saw (paid outside the library).
    /// Anything else is an `invalid_argument` naming the state.
    pub fn resolve_payment(&self, order_id: &str, paid: bool, note: &str) -> Result<PaymentRecord> {
        let inner = self.inner.clone();
        let (id, note) = (order_id.to_string(), note.to_string());
        self.inner
            .runtime()?
            .block_on(async move { inner.resolve_payment(&id, paid, &note).await })
    }

    /// Writes the payment outcomes of this client's journal that this process keeps because the
    /// journal could not take them when their payments ended (a restart, a cut connection, a
    /// lock held too long), waiting at most `timeout` (100 ms to 60 s; `None`: the client's
    /// `journal_timeout`). Returns how many are still kept, and logs a warning naming their
    /// orders if any: they are tried again in the background while the process runs, but a
    /// process that exits loses them, and their claims expire into `unknown`. Closing a client
    /// in the other languages calls this with `None`; call it before a Rust program exits (or
    /// [`flush_journals_before_exit`](crate::flush_journals_before_exit)).
    pub fn flush_journal(&self, timeout: Option<Duration>) -> Result<usize> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .block_on(async move { inner.flush_journal(timeout).await })
    }

    /// Any other gateway endpoint, signed the same way: GET sends `params` as the query, POST
    /// as the JSON body. Returns the envelope's `data`. GETs are retried like links; other
    /// methods only when nothing was sent or the call was rate limited.
    pub fn request(&self, method: Method, path: &str, params: Params) -> Result<Value> {
        let inner = self.inner.clone();
        let path = path.to_string();
        self.inner
            .runtime()?
            .block_on(async move { inner.request(method, &path, params).await })
    }
}

/// The ids as owned strings, so that the call can run on the runtime's workers.
fn owned<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    ids.iter().map(|id| id.as_ref().to_string()).collect()
}

impl AsyncClient {
    pub(crate) fn from_config(config: Config) -> Result<AsyncClient> {
        Ok(AsyncClient {
            inner: Arc::new(Inner::new(config)?),
        })
    }

    /// A client configured from the environment, like [`Client::from_env`].
    pub fn from_env() -> Result<AsyncClient> {
        ClientBuilder::from_env()?.build_async()
    }

    /// The validated configuration (its `Debug` hides the secret).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Runs `call` (one of this client's futures) on the client's I/O threads and hands its
    /// outcome to `done` there, with nothing to poll: for hosts whose own event loop is told of
    /// the result, such as Node's. A panic reaches `done` as an `internal` error.
    /// [`Started::cancel`] gives the call up: `call` is dropped (a payment whose request was
    /// not written yet is dropped with it, its claim released) and `done` is dropped uncalled.
    pub fn start<T: Send + 'static>(
        &self,
        call: impl Future<Output = Result<T>> + Send + 'static,
        done: impl FnOnce(Result<T>) + Send + 'static,
    ) -> Started {
        let stop = Cancel::new();
        let started = Started(stop.clone());
        let runtime = match self.inner.runtime() {
            Ok(runtime) => runtime,
            Err(e) => {
                done(Err(e));
                return started;
            }
        };
        let guarded = async move {
            tokio::select! {
                biased;
                () = stop.cancelled() => Ok(None),
                result = call => result.map(Some),
            }
        };
        runtime.detach(guarded, move |result| match result {
            Ok(None) => {}
            Ok(Some(value)) => done(Ok(value)),
            Err(e) => done(Err(e)),
        });
        started
    }

    /// See [`Client::pay_url`].
    pub async fn pay_url(&self, order_ids: Vec<String>) -> Result<PayUrl> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.pay_url(&order_ids).await })
            .await
    }

    /// See [`Client::pay_urls`].
    pub async fn pay_urls(&self, order_ids: Vec<String>, batch_size: usize) -> Result<Vec<PayUrl>> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.pay_urls(&order_ids, batch_size).await })
            .await
    }

    /// See [`Client::prepare_pay`]. The payment runs as a task of the client's own runtime:
    /// dropping or cancelling this future (a timeout, `select!`) only stops waiting, and the
    /// payment still runs to its recorded outcome.
    ///
    /// Dropped before the payment's request was written (still waiting for the journal, the
    /// pace or a connection slot), the payment is dropped too: its claim released, nothing
    /// sent.
    pub async fn prepare_pay(&self, order_id: String) -> Result<Payment> {
        let inner = self.inner.clone();
        let cancel = Cancel::new();
        let _give_up_on_drop = cancel.on_drop();
        self.inner
            .runtime()?
            .run_owned(inner.prepare_pay(order_id, cancel.clone()))
            .await
    }

    /// See [`Client::pay_many`]. Cancelling this future never cuts a payment short: payments
    /// in flight run to their recorded outcome. (Polled inside a tokio runtime, dropping it also
    /// stops further orders from starting; elsewhere the run goes on to its end.)
    pub async fn pay_many(
        &self,
        order_ids: Vec<String>,
        concurrency: usize,
    ) -> Result<PayManyReport> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(inner.pay_many(order_ids, concurrency, None))
            .await
    }

    /// See [`Client::pay_many_with_progress`]: `on_progress` runs once per finished order, on
    /// the thread that polls this future (or a client I/O thread).
    pub async fn pay_many_with_progress<F>(
        &self,
        order_ids: Vec<String>,
        concurrency: usize,
        on_progress: F,
    ) -> Result<PayManyReport>
    where
        F: Fn(&PayManyItem) + Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        let progress: Progress = Arc::new(on_progress);
        self.inner
            .runtime()?
            .spawn(inner.pay_many(order_ids, concurrency, Some(progress)))
            .await
    }

    /// [`pay_many`](AsyncClient::pay_many) for hosts that keep the results their own way: each
    /// finished order goes to `on_item`, with its position among the distinct orders, in the
    /// order they finish (on the thread that polls this future, or a client I/O thread), and is
    /// not kept here, so that a run of many orders holds each result once. Resolves to the count
    /// of each outcome; a bad id or concurrency is an error before anything is sent, as in
    /// `pay_many`, and dropping the future likewise stops further orders from starting.
    pub async fn pay_many_each<F>(
        &self,
        order_ids: Vec<String>,
        concurrency: usize,
        on_item: F,
    ) -> Result<PayManySummary>
    where
        F: FnMut(usize, PayManyItem) + Send + 'static,
    {
        self.pay_many_each_until(order_ids, concurrency, Cancel::new(), on_item)
            .await
    }

    /// [`pay_many_each`](AsyncClient::pay_many_each) that `cancel` can stop: once it is
    /// raised, nothing new starts, payments whose request was not written yet are dropped (their
    /// claims released, no item: not started), and those that may have been written run to their
    /// recorded outcome and are handed to `on_item`; then it resolves to the count of what was
    /// handed over.
    pub async fn pay_many_each_until<F>(
        &self,
        order_ids: Vec<String>,
        concurrency: usize,
        cancel: Cancel,
        on_item: F,
    ) -> Result<PayManySummary>
    where
        F: FnMut(usize, PayManyItem) + Send + 'static,
    {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(inner.pay_many_each(order_ids, concurrency, cancel, on_item))
            .await
    }

    /// See [`Client::payment_record`].
    pub async fn payment_record(&self, order_id: String) -> Result<Option<PaymentRecord>> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.payment_record(&order_id).await })
            .await
    }

    /// See [`Client::payment_records`].
    pub async fn payment_records(&self, state: Option<State>) -> Result<Vec<PaymentRecord>> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.payment_records(state).await })
            .await
    }

    /// See [`Client::resolve_payment`].
    pub async fn resolve_payment(
        &self,
        order_id: String,
        paid: bool,
        note: String,
    ) -> Result<PaymentRecord> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.resolve_payment(&order_id, paid, &note).await })
            .await
    }

    /// See [`Client::flush_journal`].
    pub async fn flush_journal(&self, timeout: Option<Duration>) -> Result<usize> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.flush_journal(timeout).await })
            .await
    }

    /// See [`Client::request`].
    pub async fn request(&self, method: Method, path: String, params: Params) -> Result<Value> {
        let inner = self.inner.clone();
        self.inner
            .runtime()?
            .spawn(async move { inner.request(method, &path, params).await })
            .await
    }
}

/// A call started with [`AsyncClient::start`].
#[derive(Debug, Clone)]
pub struct Started(Cancel);

impl Started {
    /// Gives the call up: see [`AsyncClient::start`].
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

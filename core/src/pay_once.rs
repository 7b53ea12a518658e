//! One payment of an order at a time, across calls, clients, processes and restarts.
//!
//! `prepare_pay` runs as a task the core owns (the clients spawn it). Before sending, the order
//! is claimed in the client's journal under a fresh claim id (JOURNAL.md's table), and before
//! every attempt's request is written the claim is fenced: the journal confirms, in one atomic
//! step, that it still holds this claim with time left on its lease. No confirmation, no
//! request. A caller that gives up before the first request is written drops the payment (its
//! claim released, nothing sent); after that, giving up only stops waiting, and the payment
//! runs to an outcome that the journal records (or that this process keeps retrying to record,
//! see `pending`). Within one process, a second `prepare_pay` of an order whose payment is under
//! way here waits for that payment and returns its outcome, sending nothing.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::batch::PaymentOutcome;
use crate::cancel::Cancel;
use crate::client::Inner;
use crate::error::{Error, ErrorCode, Result};
use crate::journal::{
    ClaimOutcome, Holder, Outcome, Owner, PaymentRecord, Resolver, Scope, State, bounded,
};
use crate::model::Payment;
use crate::payment_log::{self, payment_log};
use crate::pending::{self, Pending};
use crate::per_process::PerProcess;
use crate::prepare_pay::payment_request;
use crate::transport::SignedRequest;

/// What waiting callers receive: `None` until the payment's outcome is known.
type Settled = Option<Result<Payment>>;

/// A payment's key in this process: the journal, the scope, the order.
pub(crate) type PaymentKey = (String, Scope, String);

/// The payments under way in this process (a `fork()` child starts with none: the parent's do
/// not run there). A B-tree rather than a hash map: it lives until exit, and leak checkers see
/// its nodes as reachable.
static IN_PROCESS: PerProcess<Mutex<BTreeMap<PaymentKey, watch::Receiver<Settled>>>> =
    PerProcess::new(|_| Mutex::new(BTreeMap::new()));

fn in_process() -> std::sync::MutexGuard<'static, BTreeMap<PaymentKey, watch::Receiver<Settled>>> {
    IN_PROCESS
        .get()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What is left of a claim's lease when the fence confirms it, at the least; and what a lease
/// adds to the longest an attempt can take.
const LEASE_MARGIN: Duration = Duration::from_secs(5);

/// This call's part in the order's payment.
enum Role {
    /// Nobody in this process is paying the order: this call does, and publishes the outcome.
    Payer(PayerSlot),
    /// A payment of the order is under way here: wait for its outcome.
    Waiter(watch::Receiver<Settled>),
}

/// The payer's registration; dropping it (also on a panic) removes it, so that later calls do
/// not wait for a payment that is over.
struct PayerSlot {
    key: PaymentKey,
    sender: watch::Sender<Settled>,
}

impl Drop for PayerSlot {
    fn drop(&mut self) {
        let mut payments = in_process();
        let ours = payments
            .get(&self.key)
            .is_some_and(|rx| rx.same_channel(&self.sender.subscribe()));
        if ours {
            payments.remove(&self.key);
        }
    }
}

fn join(key: PaymentKey) -> Role {
    let mut payments = in_process();
    if let Some(receiver) = payments.get(&key) {
        return Role::Waiter(receiver.clone());
    }
    let (sender, receiver) = watch::channel(None);
    payments.insert(key.clone(), receiver);
    Role::Payer(PayerSlot { key, sender })
}

/// The state of one payment's claim while it runs, shared by its sends and its renewals.
struct Claim<'a> {
    inner: &'a Inner,
    scope: &'a Scope,
    order_id: &'a str,
    holder: Holder,
    lease: Duration,
    cancel: &'a Cancel,
    /// A request may have been written: from now on, giving up only stops waiting.
    written: AtomicBool,
    /// A renewal failed: no further attempt may be sent.
    renewal_failed: AtomicBool,
}

impl Claim<'_> {
    /// The fence before an attempt's request is written (after the pace and the connection
    /// slot): the caller still wants it, no renewal failed, and the journal confirms the claim
    /// within its deadline. Then, and only then, the request may go out.
    async fn gate(&self) -> Result<()> {
        if self.cancel.is_cancelled() && !self.written.load(Ordering::SeqCst) {
            return Err(Error::given_up(self.order_id));
        }
        if self.renewal_failed.load(Ordering::SeqCst) {
            return Err(Error::new(
                ErrorCode::Journal,
                format!(
                    "order {}: the journal lease of this payment could not be renewed; no \
                     further request was sent",
                    self.order_id
                ),
            ));
        }
        self.fence().await.map_err(|e| {
            if e.message().contains("nothing was sent") {
                e
            } else {
                let message = format!("{}; nothing was sent", e.message());
                e.with_message(message)
            }
        })?;
        self.written.store(true, Ordering::SeqCst);
        // The start of the window no journal can close (benchmarks time it to the first byte).
        payment_log!(target: "dajisaas::fence", trace; "order {}: claim confirmed; the request goes out", self.order_id);
        Ok(())
    }

    async fn fence(&self) -> Result<PaymentRecord> {
        let journal = &self.inner.config.journal;
        bounded(
            self.inner.config.journal_timeout,
            journal.url(),
            journal.fence(self.scope, self.order_id, &self.holder, self.lease),
        )
        .await
        .map_err(|e| match e.code() {
            ErrorCode::PaymentInProgress | ErrorCode::Journal => e,
            _ => Error::new(
                ErrorCode::Journal,
                format!("the claim could not be confirmed: {e}; nothing was sent"),
            ),
        })
    }

    /// Resolves once the caller gave up while nothing was written; never after.
    async fn given_up(&self) {
        self.cancel.cancelled().await;
        if self.written.load(Ordering::SeqCst) {
            std::future::pending::<()>().await;
        }
    }
}

impl Inner {
    /// Pays `order_id` at most once: consults the in-process payments and the journal, sends
    /// only when JOURNAL.md's table says so, and records the outcome. Run it as a task the core
    /// owns (never inside a future the caller may drop); `cancel` is the caller giving up.
    pub(crate) async fn prepare_pay(
        self: Arc<Self>,
        order_id: String,
        cancel: Cancel,
    ) -> Result<Payment> {
        payment_log::for_order(&order_id, self.pay_order(&order_id, &cancel)).await
    }

    /// [`prepare_pay`](Self::prepare_pay) within the order's log context.
    async fn pay_order(&self, order_id: &str, cancel: &Cancel) -> Result<Payment> {
        let request = payment_request(self, order_id)?;
        let scope = self.config.journal_scope();
        let key = (
            self.config.journal.url().to_string(),
            scope.clone(),
            order_id.to_string(),
        );
        let slot = loop {
            match join(key.clone()) {
                Role::Waiter(receiver) => match wait_for(receiver, order_id).await {
                    // That caller gave its payment up before sending: this one pays.
                    Err(e) if e.is_given_up() => continue,
                    waited => return waited,
                },
                Role::Payer(slot) => break slot,
            }
        };
        let result = match pending::answer(&key).await {
            Some(answer) => answer,
            None => self.pay_claimed(&request, &scope, order_id, cancel).await,
        };
        log_outcome(order_id, &result);
        slot.sender.send_replace(Some(result.clone()));
        result
    }

    async fn pay_claimed(
        &self,
        request: &SignedRequest,
        scope: &Scope,
        order_id: &str,
        cancel: &Cancel,
    ) -> Result<Payment> {
        if cancel.is_cancelled() {
            return Err(Error::given_up(order_id));
        }
        let journal = &self.config.journal;
        let holder = Holder::new(Owner::this_process());
        let lease = self.payment_lease();
        let claimed = bounded(
            self.config.journal_timeout,
            journal.url(),
            journal.claim(scope, order_id, &holder, lease),
        )
        .await;
        match claimed {
            Ok(ClaimOutcome::Claimed(_)) => {
                payment_log!(debug, lease_s = lease.as_secs(); "order {order_id}: claimed in the journal {} for {} s", journal.url(), lease.as_secs());
            }
            Ok(ClaimOutcome::Paid(record)) => return Ok(replay(&record)),
            Ok(ClaimOutcome::InProgressHere(record)) => {
                // This process's claim, but no payment of it runs here: a claim left by a
                // payment whose outcome could not be recorded yet, or by a bug. Never pay over
                // it.
                return Err(Error::new(
                    ErrorCode::PaymentInProgress,
                    format!(
                        "order {order_id} is claimed by this process (state {}) but no payment \
                         of it runs here; nothing was sent. Its claim expires at the end of its \
                         lease ({}), and the order then needs a resolution",
                        record.state,
                        record
                            .lease_until
                            .map(crate::journal::format_time)
                            .unwrap_or_default()
                    ),
                ));
            }
            Ok(refused) => {
                return Err(refused.refusal().unwrap_or_else(|| {
                    Error::new(ErrorCode::Internal, "a journal refusal without an error")
                }));
            }
            Err(e) => return Err(self.claim_failed(scope, order_id, &holder, e).await),
        }
        let claim = Claim {
            inner: self,
            scope,
            order_id,
            holder,
            lease,
            cancel,
            written: AtomicBool::new(false),
            renewal_failed: AtomicBool::new(false),
        };
        let result = {
            let send = self.send_payment(request, order_id, || claim.gate());
            tokio::pin!(send);
            let renew_every = lease / 3;
            loop {
                tokio::select! {
                    result = &mut send => break result,
                    () = claim.given_up() => break Err(Error::given_up(order_id)),
                    () = tokio::time::sleep(renew_every) => {
                        if let Err(e) = claim.fence().await {
                            claim.renewal_failed.store(true, Ordering::SeqCst);
                            payment_log!(warn; "order {order_id}: the payment's journal lease could not be renewed, so no further attempt will be sent: {e}");
                        }
                    }
                }
            }
        };
        let outcome = match &result {
            Ok(payment) => Some(Outcome::from_payment(payment)),
            Err(error) => Outcome::from_error(error),
        };
        self.settle(scope, order_id, &claim.holder, outcome, &result)
            .await;
        result
    }

    /// A claim that failed in the journal: if it reached the store after all (its reply was
    /// lost, or came after the deadline), the claim id finds it, and it is released, since
    /// nothing was sent. The error says so.
    async fn claim_failed(
        &self,
        scope: &Scope,
        order_id: &str,
        holder: &Holder,
        error: Error,
    ) -> Error {
        if error.code() != ErrorCode::Journal {
            return error;
        }
        let journal = &self.config.journal;
        let found = bounded(
            self.config.journal_timeout,
            journal.url(),
            journal.get(scope, order_id),
        )
        .await;
        let landed = match &found {
            Ok(Some(record)) => record.claim_id.as_deref() == Some(holder.claim_id.as_str()),
            Ok(None) => false,
            // Unknown: released later if it did land.
            Err(_) => true,
        };
        if landed {
            self.settle(scope, order_id, holder, None, &Err(error.clone()))
                .await;
        }
        Error::new(
            ErrorCode::Journal,
            format!("order {order_id}: {}; nothing was sent", error.message()),
        )
    }

    /// Records the outcome under the claim (or releases the claim: `None`). An outcome the
    /// journal cannot take now is kept by this process and written again in the background
    /// until it lands; meanwhile it answers this process's own calls for the order.
    async fn settle(
        &self,
        scope: &Scope,
        order_id: &str,
        holder: &Holder,
        outcome: Option<Outcome>,
        result: &Result<Payment>,
    ) {
        let write = Pending {
            journal: self.config.journal.clone(),
            timeout: self.config.journal_timeout,
            scope: scope.clone(),
            order_id: order_id.to_string(),
            holder: holder.clone(),
            outcome,
            result: result.clone(),
        };
        if let Err(e) = write.write().await {
            if e.code() == ErrorCode::InvalidArgument {
                // The claim is no longer ours (resolved, or taken after its lease): the newer
                // record stands.
                payment_log!(warn; "order {order_id}: the payment's outcome was not recorded, since its claim was replaced: {e}");
            } else {
                payment_log!(warn; "order {order_id}: the payment's outcome could not be recorded in the journal {} yet; it is kept and written again in the background: {e}", self.config.journal.url());
                match self.runtime() {
                    Ok(runtime) => pending::keep(write, &runtime),
                    Err(e) => {
                        payment_log!(error; "order {order_id}: the outcome cannot be kept for later ({e}); the claim will expire into unknown")
                    }
                }
            }
        }
    }

    /// How long a claim holds: the longest one attempt can take (connect, answer, its fence)
    /// plus a margin; renewed by every fence and every third of it while the payment runs, so
    /// only a dead owner's claim expires. A crashed worker's orders stay blocked this long.
    pub(crate) fn payment_lease(&self) -> Duration {
        let c = &self.config;
        c.timeout + c.connect_timeout + c.journal_timeout + LEASE_MARGIN
    }

    /// The journal's record of one order, if it has one.
    pub(crate) async fn payment_record(&self, order_id: &str) -> Result<Option<PaymentRecord>> {
        crate::order_id::validate_order_id(order_id, "orderId")?;
        let scope = self.config.journal_scope();
        let journal = &self.config.journal;
        bounded(
            self.config.journal_timeout,
            journal.url(),
            journal.get(&scope, order_id),
        )
        .await
    }

    /// The journal's records, all or those in one state.
    pub(crate) async fn payment_records(&self, state: Option<State>) -> Result<Vec<PaymentRecord>> {
        let scope = self.config.journal_scope();
        let journal = &self.config.journal;
        bounded(
            self.config.journal_timeout,
            journal.url(),
            journal.list(&scope, state),
        )
        .await
    }

    /// Records what a person found for an order (JOURNAL.md "Reconciliation").
    pub(crate) async fn resolve_payment(
        &self,
        order_id: &str,
        paid: bool,
        note: &str,
    ) -> Result<PaymentRecord> {
        crate::order_id::validate_order_id(order_id, "orderId")?;
        crate::journal::validate_note(note)?;
        let scope = self.config.journal_scope();
        let journal = &self.config.journal;
        let by = Resolver::this_process();
        bounded(
            self.config.journal_timeout,
            journal.url(),
            journal.resolve(&scope, order_id, paid, note, &by),
        )
        .await
    }
}

/// The payment's outcome, one DEBUG record: the word `pay_many` reports, the attempts made and
/// the last trace id; for a failure, its error code and message.
fn log_outcome(order_id: &str, result: &Result<Payment>) {
    let outcome = PaymentOutcome::of(result).as_str();
    match result {
        Ok(payment) => payment_log!(
            debug,
            outcome = outcome,
            attempts = payment.attempts,
            trace_id = payment.trace_id.as_deref(),
            replayed = payment.replayed;
            "order {order_id}: {outcome} after {} attempt(s){}",
            payment.attempts,
            if payment.replayed { ", as recorded before" } else { "" }
        ),
        Err(error) => payment_log!(
            debug,
            outcome = outcome,
            attempts = error.attempts(),
            trace_id = error.trace_id(),
            error_code = error.code().as_str();
            "order {order_id}: {outcome} after {} attempt(s): {error}",
            error.attempts()
        ),
    }
}

/// The outcome of the payment this call waited for, marked as sending nothing itself.
async fn wait_for(mut receiver: watch::Receiver<Settled>, order_id: &str) -> Result<Payment> {
    match receiver.wait_for(Option::is_some).await {
        Ok(settled) => match settled.clone().expect("waited for Some") {
            Ok(payment) => Ok(Payment {
                replayed: true,
                ..payment
            }),
            Err(error) => Err(error),
        },
        Err(_) => Err(Error::new(
            ErrorCode::Internal,
            format!(
                "the payment of order {order_id} under way in this process ended without an outcome (a bug)"
            ),
        )),
    }
}

/// A payment the journal recorded as paid, returned without a request. It was an "already
/// paid" answer when the gateway's recorded `data` says `success` false.
pub(crate) fn replay(record: &PaymentRecord) -> Payment {
    let refused = record.data.as_ref().is_some_and(|data| {
        crate::envelope::lenient_bool(crate::envelope::field(data, "success")) == Some(false)
    });
    Payment {
        order_id: record.order_id.clone(),
        pay_channel: record.pay_channel.clone(),
        attempts: record.attempts,
        trace_id: record.last_trace_id().map(str::to_string),
        data: record.data.clone().unwrap_or_default(),
        replayed: true,
        already_paid: refused,
    }
}

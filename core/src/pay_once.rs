//! One payment of an order at a time, across calls, clients, processes and restarts.
//!
//! `prepare_pay` runs as a task the core owns (the clients spawn it), so a cancelled await only
//! stops waiting: once the request may have been written, the payment runs to an outcome that
//! the journal records. Before sending, the order is claimed in the client's journal
//! (JOURNAL.md's table). Within one process, a second `prepare_pay` of an order whose payment is
//! under way here (through the same journal) waits for that payment and returns its outcome,
//! sending nothing.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

use crate::client::Inner;
use crate::error::{Error, ErrorCode, Result};
use crate::journal::{ClaimOutcome, Outcome, Owner, PaymentRecord, State};
use crate::model::Payment;
use crate::prepare_pay::payment_request;

/// What waiting callers receive: `None` until the payment's outcome is known.
type Settled = Option<Result<Payment>>;

/// The payments under way in this process, by journal and order id (reset in a `fork()`
/// child, where the parent's payments do not run). A B-tree rather than a hash map: it lives
/// until exit, and leak checkers see its nodes as reachable.
struct InProcess {
    pid: u32,
    payments: BTreeMap<(String, String), watch::Receiver<Settled>>,
}

static IN_PROCESS: Mutex<Option<InProcess>> = Mutex::new(None);

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
    key: (String, String),
    sender: watch::Sender<Settled>,
}

impl Drop for PayerSlot {
    fn drop(&mut self) {
        let mut guard = IN_PROCESS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(in_process) = guard.as_mut() {
            let ours = in_process
                .payments
                .get(&self.key)
                .is_some_and(|rx| rx.same_channel(&self.sender.subscribe()));
            if ours {
                in_process.payments.remove(&self.key);
            }
        }
    }
}

fn join(journal: &str, order_id: &str) -> Role {
    let key = (journal.to_string(), order_id.to_string());
    let pid = std::process::id();
    let mut guard = IN_PROCESS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if guard.as_ref().is_none_or(|p| p.pid != pid) {
        *guard = Some(InProcess {
            pid,
            payments: BTreeMap::new(),
        });
    }
    let payments = &mut guard.as_mut().expect("set above").payments;
    if let Some(receiver) = payments.get(&key) {
        return Role::Waiter(receiver.clone());
    }
    let (sender, receiver) = watch::channel(None);
    payments.insert(key.clone(), receiver);
    Role::Payer(PayerSlot { key, sender })
}

impl Inner {
    /// Pays `order_id` at most once: consults the in-process payments and the journal, sends
    /// only when JOURNAL.md's table says so, and records the outcome. Run it as a task the core
    /// owns (never inside a future the caller may drop).
    pub(crate) async fn prepare_pay(self: Arc<Self>, order_id: String) -> Result<Payment> {
        let request = payment_request(&self, &order_id)?;
        let slot = match join(self.config.journal.url(), &order_id) {
            Role::Waiter(receiver) => return wait_for(receiver, &order_id).await,
            Role::Payer(slot) => slot,
        };
        let result = self.pay_claimed(&request, &order_id).await;
        slot.sender.send_replace(Some(result.clone()));
        result
    }

    async fn pay_claimed(
        &self,
        request: &crate::transport::SignedRequest,
        order_id: &str,
    ) -> Result<Payment> {
        let journal = &self.config.journal;
        let owner = Owner::this_process();
        let lease = self.payment_lease();
        match journal.claim(order_id, &owner, lease).await? {
            ClaimOutcome::Claimed(_) => {}
            ClaimOutcome::Paid(record) => return Ok(replay(&record)),
            ClaimOutcome::InProgressHere(record) => {
                // This process's claim, but no payment of the order runs here: a claim left by
                // a payment whose task ended without recording (a bug). Never pay over it.
                return Err(Error::new(
                    ErrorCode::PaymentInProgress,
                    format!(
                        "order {order_id} is claimed by this process (state {}) but no payment \
                         of it runs here; nothing was sent. Its claim expires at the end of its \
                         lease and the order then needs resolve_payment",
                        record.state
                    ),
                ));
            }
            refused => {
                return Err(refused.refusal().unwrap_or_else(|| {
                    Error::new(ErrorCode::Internal, "a journal refusal without an error")
                }));
            }
        }
        let result = {
            let send = self.send_payment(request, order_id);
            tokio::pin!(send);
            let renew_every = lease / 3;
            loop {
                tokio::select! {
                    result = &mut send => break result,
                    () = tokio::time::sleep(renew_every) => {
                        if let Err(e) = journal.renew(order_id, &owner, lease).await {
                            log::warn!(target: "dajisaas", "order {order_id}: the payment's journal lease could not be renewed: {e}");
                        }
                    }
                }
            }
        };
        let recorded = match &result {
            Ok(payment) => journal
                .record_outcome(order_id, &owner, Outcome::from_payment(payment))
                .await
                .map(drop),
            Err(error) => match Outcome::from_error(error) {
                Some(outcome) => journal
                    .record_outcome(order_id, &owner, outcome)
                    .await
                    .map(drop),
                None => journal.release(order_id, &owner).await.map(drop),
            },
        };
        if let Err(e) = recorded {
            // The payment's outcome stands; the claim stays `in_flight` and turns `unknown` when
            // its lease runs out, so the order is never paid again without a person's check.
            log::warn!(target: "dajisaas", "order {order_id}: the payment's outcome could not be recorded in the journal {}: {e}", journal.url());
        }
        result
    }

    /// How long a claim holds: longer than every attempt's timeout plus the backoff between
    /// them, so that only a dead owner's claim expires; renewed while the payment runs.
    fn payment_lease(&self) -> Duration {
        let c = &self.config;
        let attempts = c.max_retries + 1;
        c.timeout.saturating_mul(attempts)
            + c.backoff_cap.saturating_mul(c.max_retries)
            + Duration::from_secs(30)
    }

    /// The journal's record of one order, if it has one.
    pub(crate) async fn payment_record(&self, order_id: &str) -> Result<Option<PaymentRecord>> {
        crate::order_id::validate_order_id(order_id, "orderId")?;
        self.config.journal.get(order_id).await
    }

    /// The journal's records, all or those in one state.
    pub(crate) async fn payment_records(&self, state: Option<State>) -> Result<Vec<PaymentRecord>> {
        self.config.journal.list(state).await
    }

    /// Records what a person found for an order whose payment's outcome is unknown.
    pub(crate) async fn resolve_payment(
        &self,
        order_id: &str,
        paid: bool,
        note: &str,
    ) -> Result<PaymentRecord> {
        crate::order_id::validate_order_id(order_id, "orderId")?;
        let by = Owner::this_process().to_string();
        self.config.journal.resolve(order_id, paid, note, &by).await
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

/// A payment the journal recorded as paid, returned without a request.
fn replay(record: &PaymentRecord) -> Payment {
    Payment {
        order_id: record.order_id.clone(),
        pay_channel: record.pay_channel.clone(),
        attempts: record.attempts,
        trace_id: record.last_trace_id().map(str::to_string),
        data: record.data.clone().unwrap_or_default(),
        replayed: true,
    }
}

//! Outcomes the journal could not take when their payment ended (the database restarting, a
//! connection cut, a full disk, a lock held too long). The payment's result stands; the write
//! is kept by this process and tried again in the background until it lands, so that a
//! confirmed payment ends `paid` in the journal rather than `unknown`. Meanwhile the kept
//! outcome answers this process's own calls for the order.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::{Error, ErrorCode, Result};
use crate::journal::{Holder, JournalStore, Outcome, Scope, bounded};
use crate::model::Payment;
use crate::pay_once::PaymentKey;
use crate::payment_log::payment_log;
use crate::per_process::PerProcess;
use crate::runtime::SharedRuntime;

/// Most outcomes one process keeps; past it, the oldest claims are left to expire into
/// `unknown` (logged), so that memory stays bounded whatever the outage.
const MAX_PENDING: usize = 10_000;
/// How long the background writes go on before they give up (logged): long past every lease.
const GIVE_UP_AFTER: Duration = Duration::from_secs(15 * 60);
const FIRST_RETRY: Duration = Duration::from_millis(100);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// One write that must reach the journal: an outcome under its claim, or the claim's release.
#[derive(Clone)]
pub(crate) struct Pending {
    pub journal: Arc<dyn JournalStore>,
    pub timeout: Duration,
    pub scope: Scope,
    pub order_id: String,
    pub holder: Holder,
    /// `None`: release the claim (nothing was sent).
    pub outcome: Option<Outcome>,
    /// What the payment returned.
    pub result: Result<Payment>,
}

impl Pending {
    fn key(&self) -> PaymentKey {
        (
            self.journal.url().to_string(),
            self.scope.clone(),
            self.order_id.clone(),
        )
    }

    /// One try, within the journal's deadline.
    pub async fn write(&self) -> Result<()> {
        let journal = &*self.journal;
        let step = async {
            match &self.outcome {
                Some(outcome) => journal
                    .record_outcome(&self.scope, &self.order_id, &self.holder, outcome.clone())
                    .await
                    .map(drop),
                None => journal
                    .release(&self.scope, &self.order_id, &self.holder)
                    .await
                    .map(drop),
            }
        };
        bounded(self.timeout, journal.url(), step).await
    }

    /// What this process answers for the order while the write is pending.
    fn answer(&self) -> Result<Payment> {
        let not_yet = |what: &str| {
            Err(Error::new(
                ErrorCode::Journal,
                format!(
                    "order {}: {what}, and the journal {} could not record it yet (this process \
                     keeps trying); nothing was sent",
                    self.order_id,
                    self.journal.url()
                ),
            ))
        };
        match (&self.outcome, &self.result) {
            (Some(Outcome::Paid { .. }), Ok(payment)) => Ok(Payment {
                replayed: true,
                ..payment.clone()
            }),
            (Some(Outcome::Unknown { .. }), Err(error)) => Err(error.clone()),
            (Some(_), _) => not_yet("the last payment ended declined"),
            (None, _) => not_yet("the last payment sent nothing and gave up its claim"),
        }
    }
}

static PENDING: PerProcess<Mutex<BTreeMap<PaymentKey, Pending>>> =
    PerProcess::new(|_| Mutex::new(BTreeMap::new()));

fn pending() -> std::sync::MutexGuard<'static, BTreeMap<PaymentKey, Pending>> {
    PENDING
        .get()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps `write` and tries it again in the background, with backoff, until it lands (or the
/// journal says the claim is no longer this one's: the newer record stands).
pub(crate) fn keep(write: Pending, runtime: &Arc<SharedRuntime>) {
    let key = write.key();
    {
        let mut kept = pending();
        if kept.len() >= MAX_PENDING && !kept.contains_key(&key) {
            payment_log!(error, order = write.order_id.as_str(); "order {}: too many outcomes wait for the journal; this one is not kept, and its claim will expire into unknown", write.order_id);
            return;
        }
        kept.insert(key.clone(), write);
    }
    // The task holds the runtime: a client dropped meanwhile does not stop it.
    let held = runtime.clone();
    runtime.detach(
        async move {
            let _runtime = held;
            let mut delay = FIRST_RETRY;
            let started = tokio::time::Instant::now();
            while started.elapsed() < GIVE_UP_AFTER {
                tokio::time::sleep(delay).await;
                if flush(&key).await {
                    return Ok(());
                }
                delay = (delay * 2).min(LONGEST_RETRY);
            }
            if let Some(given_up) = pending().remove(&key) {
                payment_log!(error, order = given_up.order_id.as_str(); "order {}: the journal did not take the payment's outcome within {} s; its claim will expire into unknown", given_up.order_id, GIVE_UP_AFTER.as_secs());
            }
            Ok(())
        },
        |_: Result<()>| {},
    );
}

/// Tries the kept write of `key` once; true when nothing is left to write.
async fn flush(key: &PaymentKey) -> bool {
    let Some(write) = pending().get(key).cloned() else {
        return true;
    };
    match write.write().await {
        Ok(()) => {
            pending().remove(key);
            payment_log!(info, order = write.order_id.as_str(); "order {}: the payment's outcome is now recorded in the journal", write.order_id);
            true
        }
        Err(e) if e.code() == ErrorCode::InvalidArgument => {
            pending().remove(key);
            payment_log!(warn, order = write.order_id.as_str(); "order {}: the kept outcome was not recorded, since its claim was replaced: {e}", write.order_id);
            true
        }
        Err(_) => false,
    }
}

/// Waits until the kept writes of the journal `url` have landed, trying each again every 100 ms,
/// for at most `timeout`; returns how many are still kept (what a process about to exit loses:
/// their claims expire into `unknown`).
pub(crate) async fn flush_journal(url: &str, timeout: Duration) -> usize {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let keys: Vec<PaymentKey> = pending().keys().filter(|k| k.0 == url).cloned().collect();
        let mut left = 0;
        for key in &keys {
            if !flush(key).await {
                left += 1;
            }
        }
        if left == 0 || tokio::time::Instant::now() >= deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// For a call of `key` in this process: `None` when no write is kept (or the kept one lands
/// now); otherwise what the kept outcome says.
pub(crate) async fn answer(key: &PaymentKey) -> Option<Result<Payment>> {
    let kept = pending().get(key).cloned()?;
    if flush(key).await {
        return None;
    }
    Some(kept.answer())
}

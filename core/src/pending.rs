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

/// A kept write, and whether a try of it is under way (the background task's, a flush's or a
/// call's): it never runs twice at once, since the second run would find the outcome recorded
/// and take the claim for replaced.
struct Kept {
    write: Pending,
    writing: bool,
    /// A flush before exit already waited for it (and warned): the next one does not wait again.
    waited_at_exit: bool,
}

static PENDING: PerProcess<Mutex<BTreeMap<PaymentKey, Kept>>> =
    PerProcess::new(|_| Mutex::new(BTreeMap::new()));

fn pending() -> std::sync::MutexGuard<'static, BTreeMap<PaymentKey, Kept>> {
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
        kept.insert(
            key.clone(),
            Kept {
                write,
                writing: false,
                waited_at_exit: false,
            },
        );
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
                payment_log!(error, order = given_up.write.order_id.as_str(); "order {}: the journal did not take the payment's outcome within {} s; its claim will expire into unknown", given_up.write.order_id, GIVE_UP_AFTER.as_secs());
            }
            Ok(())
        },
        |_: Result<()>| {},
    );
}

/// Whether this process keeps a write for the journal `url`: what `daji_client_free` checks
/// before starting anything.
#[cfg(feature = "ffi")]
pub(crate) fn keeps(url: &str) -> bool {
    pending().keys().any(|k| k.0 == url)
}

/// Marks a try of a kept write as over when dropped, whether it ended or was given up.
struct Writing<'a>(&'a PaymentKey);

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if let Some(kept) = pending().get_mut(self.0) {
            kept.writing = false;
        }
    }
}

/// Tries the kept write of `key` once; true when nothing is left to write. False at once while
/// another try of it is under way.
async fn flush(key: &PaymentKey) -> bool {
    let write = {
        let mut kept = pending();
        match kept.get_mut(key) {
            None => return true,
            Some(kept) if kept.writing => return false,
            Some(kept) => {
                kept.writing = true;
                kept.write.clone()
            }
        }
    };
    let _writing = Writing(key);
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

/// The timeouts, in milliseconds, that `flush_journal` takes: those `journal_timeout_ms` takes.
pub const FLUSH_TIMEOUT_MS: std::ops::RangeInclusive<u64> = crate::options::JOURNAL_TIMEOUT_MS;

/// A flush's timeout: `given`, checked, or else `journal_timeout`.
pub(crate) fn flush_timeout(
    given: Option<Duration>,
    journal_timeout: Duration,
) -> Result<Duration> {
    match given {
        None => Ok(journal_timeout),
        Some(t) if FLUSH_TIMEOUT_MS.contains(&u64::try_from(t.as_millis()).unwrap_or(u64::MAX)) => {
            Ok(t)
        }
        Some(t) => Err(Error::invalid(format!(
            "the flush's timeout is {} ms; it must be from {} to {} ms",
            t.as_millis(),
            FLUSH_TIMEOUT_MS.start(),
            FLUSH_TIMEOUT_MS.end()
        ))),
    }
}

/// Waits until the kept writes of the journal `url` (of every journal: `None`) have landed,
/// trying each again every 100 ms, for at most `timeout`; returns those still kept, and warns
/// of them: a process that exits loses them, and their claims expire into `unknown`.
pub(crate) async fn flush_kept(url: Option<&str>, timeout: Duration) -> Vec<PaymentKey> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let keys: Vec<PaymentKey> = pending()
            .keys()
            .filter(|k| url.is_none_or(|url| k.0 == url))
            .cloned()
            .collect();
        let mut left = Vec::new();
        for key in keys {
            // Cut at the deadline: a try under way is given up (its claim stays in flight).
            if !matches!(
                tokio::time::timeout_at(deadline, flush(&key)).await,
                Ok(true)
            ) {
                left.push(key);
            }
        }
        let now = tokio::time::Instant::now();
        if left.is_empty() || now >= deadline {
            if !left.is_empty() {
                log::warn!(target: "dajisaas", "{}", unflushed(&left, timeout));
            }
            return left;
        }
        tokio::time::sleep((deadline - now).min(Duration::from_millis(100))).await;
    }
}

/// The warning about the writes `left` after a flush of `timeout`.
fn unflushed(left: &[PaymentKey], timeout: Duration) -> String {
    const SHOWN: usize = 10;
    let orders: Vec<&str> = left.iter().take(SHOWN).map(|k| k.2.as_str()).collect();
    let more = match left.len().saturating_sub(SHOWN) {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let journals: std::collections::BTreeSet<&str> = left.iter().map(|k| k.0.as_str()).collect();
    format!(
        "{} payment outcome(s) could not be written to the journal ({}) within {} ms: order(s) \
         {}{more}. They are written again in the background while this process runs; once it \
         exits they are lost, and those claims expire into unknown: check the orders, then \
         resolve them",
        left.len(),
        journals.into_iter().collect::<Vec<_>>().join(", "),
        timeout.as_millis(),
        orders.join(", ")
    )
}

/// What a process does before it exits (the bindings' exit hooks): writes every outcome it
/// keeps, of any journal, for at most the longest journal deadline among them. Returns `None`
/// when nothing is left, else the warning naming what stays kept (logged as well). Waits once
/// per kept outcome: a second call finds those already waited for and returns `None` at once,
/// so that hooks run one after the other (Node's `beforeExit`, then `exit`) wait only once.
/// Blocks the calling thread, from any thread, inside a runtime or not; starts nothing when
/// nothing is kept.
pub fn flush_journals_before_exit() -> Option<String> {
    let (keys, timeout) = {
        let kept = pending();
        let waiting: Vec<(&PaymentKey, &Kept)> =
            kept.iter().filter(|(_, k)| !k.waited_at_exit).collect();
        let timeout = waiting.iter().map(|(_, k)| k.write.timeout).max()?;
        let keys: Vec<PaymentKey> = waiting.into_iter().map(|(key, _)| key.clone()).collect();
        (keys, timeout)
    };
    let left = flush_blocking(timeout);
    let mut kept = pending();
    for key in &keys {
        if let Some(k) = kept.get_mut(key) {
            k.waited_at_exit = true;
        }
    }
    left
}

/// `flush_kept` of every journal, with the calling thread blocked; the warning if any is left.
fn flush_blocking(timeout: Duration) -> Option<String> {
    // While a write is kept its background task holds the runtime: this is that one.
    let runtime = match SharedRuntime::acquire() {
        Ok(runtime) => runtime,
        Err(e) => {
            let left: Vec<PaymentKey> = pending().keys().cloned().collect();
            let warning = format!("{} ({e})", unflushed(&left, Duration::ZERO));
            log::warn!(target: "dajisaas", "{warning}");
            return Some(warning);
        }
    };
    let (sender, receiver) = std::sync::mpsc::channel();
    runtime.detach(
        async move { Ok(flush_kept(None, timeout).await) },
        move |left| {
            let _ = sender.send(left);
        },
    );
    let left = match receiver.recv() {
        Ok(Ok(left)) => left,
        // The task failed: what is kept now is what is left.
        _ => pending().keys().cloned().collect(),
    };
    (!left.is_empty()).then(|| unflushed(&left, timeout))
}

/// For a call of `key` in this process: `None` when no write is kept (or the kept one lands
/// now); otherwise what the kept outcome says.
pub(crate) async fn answer(key: &PaymentKey) -> Option<Result<Payment>> {
    let kept = pending().get(key).map(|k| k.write.clone())?;
    if flush(key).await {
        return None;
    }
    Some(kept.answer())
}

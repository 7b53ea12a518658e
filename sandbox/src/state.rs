//! What the sandbox remembers: deductions and calls per order, requests seen, load, and the
//! per-app call budget of the rate limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::SandboxConfig;
use crate::behaviour::Behaviour;

/// Requests kept for inspection; older ones are dropped (counts stay exact).
const REQUEST_LOG_LIMIT: usize = 10_000;

/// One request as the sandbox received it.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// Path and query, as sent.
    pub uri: String,
    /// The body as text (lossy UTF-8).
    pub body: String,
}

/// A snapshot of the sandbox's counters, also served as JSON at `GET /_sandbox/stats`.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Deductions per order. Like the real platform, the sandbox never deducts an order that is
    /// already paid, so this is 0 or 1; second payment attempts show in `pay_calls_after_paid`.
    pub deductions: BTreeMap<String, u32>,
    /// Payment calls per order that passed the signature check and the rate limit.
    pub pay_calls: BTreeMap<String, u32>,
    /// Payment calls that came for an order already deducted, whatever they were answered (those
    /// that reach the order check are declined with "order already paid" and deduct nothing).
    /// Above 0, a client tried to pay an order a second time.
    pub pay_calls_after_paid: u64,
    /// `pay_calls_after_paid` per order.
    pub pay_calls_after_paid_by_order: BTreeMap<String, u32>,
    /// Link calls per order that passed the signature check and the rate limit.
    pub link_calls: BTreeMap<String, u32>,
    /// Calls refused by the rate limit (`SandboxConfig::qps`), with the gateway's
    /// call-frequency refusal. Refusals of the `9005`/`9006` patterns and of chaos mode are not
    /// counted here.
    pub rate_limited: u64,
    /// Every gateway request received, valid or not (`/_sandbox/` excluded).
    pub requests: u64,
    /// Requests whose URI or body contained the app secret.
    pub requests_with_secret: u64,
    /// Requests being handled now.
    pub in_flight: usize,
    /// The most requests ever handled at once.
    pub peak_in_flight: usize,
    /// Faults chaos mode injected, by kind.
    pub faults: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Ledger {
    stats: Stats,
    log: VecDeque<RecordedRequest>,
    /// The rate limit's bucket per app key.
    buckets: HashMap<String, Bucket>,
}

/// What the order check found when a payment call acted on its order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OrderCheck {
    /// Not paid before this call (and deducted now if the call was to deduct).
    Unpaid,
    /// Already deducted by an earlier call: nothing is deducted again.
    AlreadyPaid,
}

/// A token bucket: holds up to `rate` calls and refills at `rate` calls a second.
struct Bucket {
    tokens: f64,
    last: Instant,
}

pub(crate) struct State {
    pub config: SandboxConfig,
    ledger: Mutex<Ledger>,
    in_flight: AtomicUsize,
    peak: AtomicUsize,
}

/// Counts a request as in flight until dropped.
pub(crate) struct InFlight<'a>(&'a State);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

impl State {
    pub fn new(config: SandboxConfig) -> Self {
        State {
            config,
            ledger: Mutex::default(),
            in_flight: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        self.ledger
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn enter(&self) -> InFlight<'_> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        InFlight(self)
    }

    pub fn record(&self, request: RecordedRequest) {
        let leaked = request.uri.contains(&self.config.app_secret)
            || request.body.contains(&self.config.app_secret);
        let mut ledger = self.ledger();
        ledger.stats.requests += 1;
        ledger.stats.requests_with_secret += u64::from(leaked);
        if ledger.log.len() == REQUEST_LOG_LIMIT {
            ledger.log.pop_front();
        }
        ledger.log.push_back(request);
    }

    /// Counts a payment call and returns how many this order has had, this one included.
    pub fn count_pay_call(&self, order_id: &str) -> u32 {
        bump(&mut self.ledger().stats.pay_calls, order_id)
    }

    /// Counts a link call for each id; returns the count of `deciding` (or 1).
    pub fn count_link_call(&self, ids: &[String], deciding: Option<&str>) -> u32 {
        let mut ledger = self.ledger();
        let mut count = 1;
        for id in ids {
            let n = bump(&mut ledger.stats.link_calls, id);
            if Some(id.as_str()) == deciding {
                count = n;
            }
        }
        count
    }

    /// The behaviour of a call: an order id's own pattern, else (in chaos mode) a seeded draw,
    /// whose extra latency is waited out here.
    pub async fn behaviour(&self, pattern: Behaviour, order_id: &str, call: u32) -> Behaviour {
        let Some(chaos) = self.config.chaos.filter(|_| pattern == Behaviour::Normal) else {
            return pattern;
        };
        let (drawn, latency) = chaos.draw(order_id, call);
        if drawn != Behaviour::Normal {
            *self
                .ledger()
                .stats
                .faults
                .entry(format!("{drawn:?}"))
                .or_insert(0) += 1;
        }
        crate::gateway::pause(latency).await;
        drawn
    }

    /// The platform's order state check for a payment call, atomic with the deduction: an order
    /// already deducted is never deducted again (the call is counted in `pay_calls_after_paid`);
    /// otherwise the order is deducted if `deduct` says so.
    pub fn check_order(&self, order_id: &str, deduct: bool) -> OrderCheck {
        let mut ledger = self.ledger();
        let stats = &mut ledger.stats;
        if stats.deductions.get(order_id).is_some_and(|n| *n > 0) {
            stats.pay_calls_after_paid += 1;
            bump(&mut stats.pay_calls_after_paid_by_order, order_id);
            return OrderCheck::AlreadyPaid;
        }
        if deduct {
            bump(&mut stats.deductions, order_id);
        }
        OrderCheck::Unpaid
    }

    /// Takes a call from `app_key`'s bucket when a rate limit is configured; false (and counted)
    /// when the bucket is empty.
    pub fn admit(&self, app_key: &str) -> bool {
        let Some(qps) = self.config.qps else {
            return true;
        };
        let rate = f64::from(qps);
        let now = Instant::now();
        let mut ledger = self.ledger();
        let bucket = ledger.buckets.entry(app_key.to_string()).or_insert(Bucket {
            tokens: rate,
            last: now,
        });
        let refill = now.duration_since(bucket.last).as_secs_f64() * rate;
        bucket.tokens = (bucket.tokens + refill).min(rate);
        bucket.last = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return true;
        }
        ledger.stats.rate_limited += 1;
        false
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.ledger().stats.clone();
        stats.in_flight = self.in_flight.load(Ordering::SeqCst);
        stats.peak_in_flight = self.peak.load(Ordering::SeqCst);
        stats
    }

    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.ledger().log.iter().cloned().collect()
    }

    pub fn reset(&self) {
        *self.ledger() = Ledger::default();
        self.peak
            .store(self.in_flight.load(Ordering::SeqCst), Ordering::SeqCst);
    }
}

fn bump(map: &mut BTreeMap<String, u32>, key: &str) -> u32 {
    let n = map.entry(key.to_string()).or_insert(0);
    *n += 1;
    *n
}

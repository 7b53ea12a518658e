//! The client's own pace: how many calls a second it lets out, shared by every call of a client
//! (links, payments, `request`) and by its clones.
//!
//! Two limits, the lower of which applies:
//! - the configured one (`max_calls_per_second`), fixed;
//! - an adaptive one. After the gateway refuses calls for their frequency, the client lowers its
//!   rate (multiplicative decrease: half the rate it was sending at, taken from the calls of the
//!   last second when no rate was set) and notes the rate the gateway admitted then, its
//!   estimate of the gateway's limit. While calls are answered it raises the rate again
//!   (additive increase: what separates it from just below that estimate over two seconds, a
//!   tenth of the lowered rate per second at least) up to just below that estimate, where it
//!   holds for a while before probing above it, slowly. A batch with no configured limit so
//!   converges on the gateway's real limit instead of retrying into it.
//!
//! A lone refusal does not lower the rate: only a run of them does, sixteen or more that make up
//! a quarter of the calls answered in the last second, or, once a run has been seen (the
//! gateway's limit is estimated), three or more that make up a tenth. The second rule holds
//! well below the estimate too: an estimate can be high (a gateway's bucket starts full, and a
//! fleet's counts come in late), and a rate between the real limit and it would be refused for
//! as long as it lasted. Every decrease estimates the limit again, from the calls counted since
//! the previous one (at least half a second of them): refusals of calls let out before a decrease
//! say nothing of the rate after it, and do not count. The gateway's refusals come in runs when a
//! client exceeds its limit; sporadic ones (a refusal that has nothing to do with this client's
//! pace) are left to the retries, so that they cannot slow a client down to a crawl.
//!
//! Calls are spaced evenly (no burst): a call waits for its slot `1 / rate` after the previous
//! one, before its request's deadline starts (the wait counts against no timeout). Slots are
//! handed out in order, so each waiting call is woken once. When the rate is lowered, calls
//! still waiting take new slots at the new rate.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::fleet_pace::FleetPace;
use crate::per_process::PerProcess;

/// The highest `max_calls_per_second` a client takes.
pub const MAX_CALLS_PER_SECOND_LIMIT: u32 = 10_000;

/// The adaptive rate never goes below one call a second.
const MIN_RATE: f64 = 1.0;
/// The adaptive rate is dropped (no adaptive limit) once it climbs back to this.
const MAX_RATE: f64 = MAX_CALLS_PER_SECOND_LIMIT as f64;
/// The recent-calls window: ten buckets of 100 ms.
const BUCKETS: usize = 10;
const BUCKET: Duration = Duration::from_millis(100);
/// The window the counts cover.
pub(crate) const WINDOW: Duration = Duration::from_secs(1);
/// Refusals lower the rate when at least this many came in the last second and they are at
/// least a quarter of the calls answered in it...
const MIN_REFUSALS: u32 = 16;
const DENSE_SHARE: f64 = 0.25;
/// ... or, once the gateway's limit is estimated, when at least three came and they are a
/// tenth of the answers.
const KNOWN_REFUSALS: u32 = 3;
const KNOWN_SHARE: f64 = 0.10;
/// After a decrease, the calls of this long at least are counted before the next one.
const AFTER_DECREASE: Duration = Duration::from_millis(500);
/// The adaptive rate rises to this share of the gateway's estimated limit quickly...
const NEAR_LIMIT: f64 = 0.95;
/// ... holds there this long after a decrease, then probes above it at a quarter of the pace.
pub(crate) const HOLD: Duration = Duration::from_secs(10);

/// How a call ended, as far as the pace goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// The gateway refused the call for its frequency.
    Refused,
    /// The gateway answered (whatever it said).
    Answered,
    /// No answer (not sent, timed out, connection lost): says nothing about the pace.
    None,
}

/// A call's place in the pace, handed back with its [`Answer`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Permit {
    /// A slot of the process's own pace, taken in this epoch of it.
    Own { epoch: u64 },
    /// A slot of the fleet's pace, taken in this epoch of it.
    Fleet { epoch: i64 },
}

/// The pace of one client.
pub(crate) struct CallLimiter {
    configured: Option<f64>,
    /// Per process: a `fork()` child paces itself from a copy (never waiting on a lock a parent
    /// thread held).
    pace: PerProcess<Mutex<Pace>>,
    /// The fleet's pace, kept in the journal's store, when it keeps one; the own pace is then
    /// the fallback while the store does not answer.
    fleet: Option<FleetPace>,
}

impl CallLimiter {
    /// A limiter with a configured limit (calls a second) or none, sharing the fleet's pace
    /// when given one.
    pub fn new(max_calls_per_second: Option<u32>, fleet: Option<FleetPace>) -> Self {
        CallLimiter {
            configured: max_calls_per_second.map(f64::from),
            pace: PerProcess::new(|parent| {
                let copied = parent.and_then(|pace| pace.try_lock().ok().map(|p| p.clone()));
                Mutex::new(copied.unwrap_or_else(|| Pace::new(Instant::now())))
            }),
            fleet,
        }
    }

    /// Whether calls take their slots from the fleet's pace in the journal's store.
    pub fn shared(&self) -> bool {
        self.fleet.is_some()
    }

    fn pace(&self) -> std::sync::MutexGuard<'_, Pace> {
        self.pace
            .get()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The rate calls are paced at now, if any: the configured limit or the adaptive one,
    /// whichever is lower.
    pub fn rate(&self) -> Option<f64> {
        match &self.fleet {
            Some(fleet) => fleet.rate(self.configured),
            None => self.pace().rate(self.configured),
        }
    }

    /// Waits for this call's slot: in the fleet's pace when there is one and its store
    /// answers, else in the process's own.
    pub async fn acquire(&self) -> Permit {
        if let Some(fleet) = &self.fleet {
            if let Some(epoch) = fleet.acquire(self.configured).await {
                return Permit::Fleet { epoch };
            }
        }
        self.acquire_own().await
    }

    async fn acquire_own(&self) -> Permit {
        loop {
            let (at, epoch) = {
                let now = Instant::now();
                let mut pace = self.pace();
                match pace.reserve(self.configured, now) {
                    Some(at) if at > now => (at, pace.epoch),
                    // No rate, or the slot is now: no timer, which would fire at the runtime's
                    // next millisecond tick (about 1.3 ms more per call, measured).
                    _ => return pace.start(now),
                }
            };
            tokio::time::sleep_until(at).await;
            let mut pace = self.pace();
            // A lowered rate since the slot was taken: take a new one at the new rate.
            if pace.epoch == epoch {
                return pace.start(Instant::now());
            }
        }
    }

    /// Tells the pace how a call that held `permit` ended.
    pub async fn finished(&self, permit: Permit, answer: Answer) {
        let epoch = match (permit, &self.fleet) {
            (Permit::Fleet { epoch }, Some(fleet)) => {
                return fleet.finished(self.configured, epoch, answer).await;
            }
            (Permit::Own { epoch }, _) => epoch,
            (Permit::Fleet { .. }, None) => return,
        };
        let now = Instant::now();
        let mut pace = self.pace();
        match answer {
            Answer::Refused => pace.refused(self.configured, epoch, now),
            Answer::Answered => pace.answered(self.configured, epoch, now),
            Answer::None => {}
        }
    }
}

/// Calls started, answered and refused per 100 ms, for the last second.
#[derive(Debug, Default, Clone, Copy)]
struct Bucket {
    index: u64,
    started: u32,
    answered: u32,
    refused: u32,
}

#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(crate) struct Totals {
    pub started: u32,
    pub answered: u32,
    pub refused: u32,
}

/// The pace's state; every method takes the time, so that tests can drive it.
#[derive(Debug, Clone)]
struct Pace {
    origin: Instant,
    recent: [Bucket; BUCKETS],
    /// The adaptive limit, when one applies.
    adaptive: Option<f64>,
    /// Calls a second the adaptive limit gains per second of answered, paced calls.
    step: f64,
    /// The gateway's limit as estimated at the last decrease (calls it admitted in the second
    /// before).
    limit_estimate: Option<f64>,
    /// When the rate was last lowered.
    lowered_at: Option<Instant>,
    /// The earliest start of the next call while a rate applies.
    next: Option<Instant>,
    /// When a call last had to wait for its slot: the rate is only raised while it binds.
    waited_at: Option<Instant>,
    /// Bumped at every decrease: refusals of calls let out before it are not counted again, and
    /// waiting calls take new slots.
    epoch: u64,
}

impl Pace {
    fn new(origin: Instant) -> Self {
        Pace {
            origin,
            recent: [Bucket::default(); BUCKETS],
            adaptive: None,
            step: 0.0,
            limit_estimate: None,
            lowered_at: None,
            next: None,
            waited_at: None,
            epoch: 0,
        }
    }

    fn rate(&self, configured: Option<f64>) -> Option<f64> {
        effective_rate(configured, self.adaptive)
    }

    /// The slot of a call arriving at `now`: `None` to go at once (no rate applies), else the
    /// time to start at (taken: the next call's slot is after it).
    fn reserve(&mut self, configured: Option<f64>, now: Instant) -> Option<Instant> {
        let Some(rate) = self.rate(configured) else {
            self.next = None;
            return None;
        };
        let at = self.next.map_or(now, |next| next.max(now));
        self.next = Some(at + interval(rate));
        if at > now {
            self.waited_at = Some(now);
        }
        Some(at)
    }

    /// A call starts now.
    fn start(&mut self, now: Instant) -> Permit {
        self.bucket(now).started += 1;
        Permit::Own { epoch: self.epoch }
    }

    fn refused(&mut self, configured: Option<f64>, epoch: u64, now: Instant) {
        if epoch != self.epoch {
            // Let out before the last decrease: already accounted for.
            return;
        }
        let bucket = self.bucket(now);
        bucket.answered += 1;
        bucket.refused += 1;
        let since_lowered = self.lowered_at.map(|at| now.saturating_duration_since(at));
        let Some(lowered) = lowering(
            self.rate(configured),
            self.limit_estimate,
            self.totals(now),
            since_lowered,
        ) else {
            return;
        };
        self.adaptive = Some(lowered.rate);
        self.limit_estimate = Some(lowered.estimate);
        self.step = lowered.step;
        self.lowered_at = Some(now);
        self.epoch += 1;
        self.next = Some(now + interval(lowered.rate));
        // The next decision counts the calls of the new rate only.
        self.recent = [Bucket::default(); BUCKETS];
    }

    fn answered(&mut self, configured: Option<f64>, epoch: u64, now: Instant) {
        if epoch == self.epoch {
            self.bucket(now).answered += 1;
        }
        let Some(rate) = self.adaptive else {
            return;
        };
        if !binds(self.waited_at, now) {
            return;
        }
        let holding = self
            .lowered_at
            .is_some_and(|at| now.saturating_duration_since(at) < HOLD);
        let raised = raised(rate, self.step, self.limit_estimate, holding);
        if raised >= configured.unwrap_or(MAX_RATE).min(MAX_RATE) {
            self.adaptive = None;
        } else {
            self.adaptive = Some(raised);
        }
    }

    /// The bucket of `now`, emptied if it held an older 100 ms.
    fn bucket(&mut self, now: Instant) -> &mut Bucket {
        let index =
            (now.saturating_duration_since(self.origin).as_millis() / BUCKET.as_millis()) as u64;
        let bucket = &mut self.recent[(index % BUCKETS as u64) as usize];
        if bucket.index != index {
            *bucket = Bucket {
                index,
                ..Bucket::default()
            };
        }
        bucket
    }

    /// The counts of the last second.
    fn totals(&self, now: Instant) -> Totals {
        let index =
            (now.saturating_duration_since(self.origin).as_millis() / BUCKET.as_millis()) as u64;
        self.recent
            .iter()
            .filter(|b| b.index + (BUCKETS as u64) > index && b.index <= index)
            .fold(Totals::default(), |t, b| Totals {
                started: t.started + b.started,
                answered: t.answered + b.answered,
                refused: t.refused + b.refused,
            })
    }
}

/// The rate calls are spaced at: the lower of the configured and the adaptive one, if any.
pub(crate) fn effective_rate(configured: Option<f64>, adaptive: Option<f64>) -> Option<f64> {
    match (configured, adaptive) {
        (Some(c), Some(a)) => Some(c.min(a)),
        (c, a) => c.or(a),
    }
}

/// A decrease of the adaptive rate, decided from the calls of the last second.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Decrease {
    pub rate: f64,
    /// The gateway's limit as estimated: the calls a second it admitted since the last decrease
    /// (in the last second at most).
    pub estimate: f64,
    /// Calls a second the rate regains per second while it binds.
    pub step: f64,
}

/// The decrease that the refusals in `totals` call for, at the pace `rate` (if any) and with the
/// gateway's limit estimated at `estimate` (if it was): half the rate calls went out at, when
/// refusals came in a run (see the module's comment); `None` for sporadic ones, and within
/// [`AFTER_DECREASE`] of the last decrease. `totals` are the calls of the last second, or of the
/// time since the last decrease (`since_lowered`) when that is shorter.
pub(crate) fn lowering(
    rate: Option<f64>,
    estimate: Option<f64>,
    totals: Totals,
    since_lowered: Option<Duration>,
) -> Option<Decrease> {
    if since_lowered.is_some_and(|since| since < AFTER_DECREASE) {
        return None;
    }
    // The counts as rates: calls a second over the time they cover.
    let span = since_lowered
        .map_or(WINDOW, |since| since.min(WINDOW))
        .as_secs_f64();
    let sent = f64::from(totals.started.max(1)) / span;
    let current = rate.map_or(sent, |r| r.min(sent));
    let dense = totals.refused >= MIN_REFUSALS
        && f64::from(totals.refused) >= DENSE_SHARE * f64::from(totals.answered);
    let known_limit = estimate.is_some()
        && totals.refused >= KNOWN_REFUSALS
        && f64::from(totals.refused) >= KNOWN_SHARE * f64::from(totals.answered);
    if !dense && !known_limit {
        return None;
    }
    let lowered = (current / 2.0).max(MIN_RATE);
    let admitted = f64::from(totals.answered.saturating_sub(totals.refused)) / span;
    log::debug!(target: "dajisaas", "calls refused for their frequency: pacing at {lowered:.1} calls/s (the gateway admitted {admitted:.1} a second)");
    let estimate = admitted.max(MIN_RATE);
    Some(Decrease {
        rate: lowered,
        estimate,
        step: ((NEAR_LIMIT * estimate - lowered) / 2.0)
            .max(lowered / 10.0)
            .max(0.5),
    })
}

/// The adaptive rate after one more call answered while it binds: `step` calls a second more
/// per second, quickly up to just below the estimated limit, where it holds (`holding`: a
/// while after a decrease) before probing above it at a quarter of the pace.
pub(crate) fn raised(rate: f64, step: f64, estimate: Option<f64>, holding: bool) -> f64 {
    // `step` calls a second more per second at this rate: step / rate per answered call.
    let raised = rate + step / rate;
    match estimate {
        Some(limit) if raised > limit * NEAR_LIMIT => {
            if holding {
                rate.max(limit * NEAR_LIMIT)
            } else {
                rate + step / rate / 4.0
            }
        }
        _ => raised,
    }
}

/// The most the adaptive rate may rise to: while `holding` (within the hold after a decrease),
/// just below the estimated limit, or `rate` if above it already; otherwise the ceiling.
pub(crate) fn raise_cap(rate: f64, estimate: Option<f64>, holding: bool) -> f64 {
    match estimate {
        Some(limit) if holding => rate.max(limit * NEAR_LIMIT),
        _ => MAX_RATE,
    }
}

/// Whether a rate binds: a call waited for its slot within the last second.
pub(crate) fn binds(waited_at: Option<Instant>, now: Instant) -> bool {
    waited_at.is_some_and(|at| now.saturating_duration_since(at) < WINDOW)
}

fn interval(rate: f64) -> Duration {
    Duration::from_secs_f64(1.0 / rate.max(MIN_RATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    fn epoch(permit: Permit) -> u64 {
        match permit {
            Permit::Own { epoch } => epoch,
            Permit::Fleet { .. } => panic!("an own pace hands out its own permits"),
        }
    }

    /// Lets out `n` calls at `now`, answered as `answer`; returns the permits' slots.
    fn calls(
        pace: &mut Pace,
        configured: Option<f64>,
        now: Instant,
        n: usize,
        answer: Answer,
    ) -> Vec<Instant> {
        let mut slots = Vec::new();
        for _ in 0..n {
            let at = pace.reserve(configured, now).unwrap_or(now);
            let permit = pace.start(at);
            slots.push(at);
            match answer {
                Answer::Refused => pace.refused(configured, epoch(permit), at),
                Answer::Answered => pace.answered(configured, epoch(permit), at),
                Answer::None => {}
            }
        }
        slots
    }

    #[test]
    fn a_configured_rate_spaces_calls_evenly_without_a_burst() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        let slots = calls(&mut pace, Some(50.0), t0, 5, Answer::Answered);
        let gaps: Vec<Duration> = slots.windows(2).map(|w| w[1] - w[0]).collect();
        assert_eq!(slots[0], t0);
        assert!(gaps.iter().all(|g| *g == 20 * MS), "{gaps:?}");
        // After a pause the next call goes at once, and is not owed a burst.
        let later = t0 + Duration::from_secs(5);
        let slots = calls(&mut pace, Some(50.0), later, 2, Answer::Answered);
        assert_eq!(slots, [later, later + 20 * MS]);
    }

    #[test]
    fn no_rate_no_wait_and_sporadic_refusals_change_nothing() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        assert_eq!(pace.reserve(None, t0), None);
        // Fewer than sixteen refusals, or under a quarter of the answers: no change.
        calls(&mut pace, None, t0, 15, Answer::Refused);
        assert_eq!(pace.rate(None), None);
        calls(&mut pace, None, t0, 60, Answer::Answered);
        calls(&mut pace, None, t0, 4, Answer::Refused);
        assert_eq!(pace.rate(None), None, "19 of 79 answers refused");
        // A second later the old counts are gone.
        let later = t0 + Duration::from_secs(2);
        calls(&mut pace, None, later, 15, Answer::Refused);
        assert_eq!(pace.rate(None), None);
        calls(&mut pace, None, later, 1, Answer::Refused);
        assert_eq!(
            pace.rate(None),
            Some(8.0),
            "16 calls in the last second, halved"
        );
    }

    #[test]
    fn a_run_of_refusals_halves_the_observed_rate_and_estimates_the_limit() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        // 50 admitted, then refusals: the 17th makes a quarter of the answers.
        calls(&mut pace, None, t0, 50, Answer::Answered);
        calls(&mut pace, None, t0 + 10 * MS, 16, Answer::Refused);
        assert_eq!(pace.rate(None), None);
        calls(&mut pace, None, t0 + 11 * MS, 1, Answer::Refused);
        assert_eq!(
            pace.rate(None),
            Some(33.5),
            "67 calls in the last second, halved"
        );
        assert_eq!(pace.limit_estimate, Some(50.0));
        // Refusals of calls let out before the decrease do not lower it again.
        for _ in 0..20 {
            pace.refused(None, 0, t0 + 12 * MS);
        }
        assert_eq!(pace.rate(None), Some(33.5));
    }

    #[test]
    fn the_configured_rate_is_halved_and_waiting_calls_take_the_new_pace() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        let slots = calls(&mut pace, Some(100.0), t0, 16, Answer::Refused);
        assert_eq!(slots[1] - slots[0], 10 * MS);
        // The sixteenth refusal in a row: half of the 100 calls a second, or of the 16 sent in
        // the last second, the lower.
        assert_eq!(pace.rate(Some(100.0)), Some(8.0));
        let a = pace
            .reserve(Some(100.0), t0 + Duration::from_secs(10))
            .unwrap();
        let b = pace
            .reserve(Some(100.0), t0 + Duration::from_secs(10))
            .unwrap();
        assert_eq!(b - a, Duration::from_millis(125));
    }

    #[test]
    fn answered_calls_raise_the_rate_to_near_the_limit_hold_then_probe() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        pace.adaptive = Some(20.0);
        pace.step = 4.0;
        pace.limit_estimate = Some(40.0);
        pace.lowered_at = Some(t0);
        // Paced calls for five seconds: +4 calls/s per second, up to 38 (95% of 40), not past.
        let mut now = t0;
        while now < t0 + Duration::from_secs(5) {
            let at = pace.reserve(None, now).unwrap();
            let permit = pace.start(at);
            let _ = permit;
            pace.answered(None, pace.epoch, at);
            now = at;
        }
        let held = pace.adaptive.unwrap();
        assert!((37.9..=38.0).contains(&held), "{held}");
        // After the hold it probes above, slowly.
        let mut now = t0 + HOLD + Duration::from_secs(1);
        pace.next = None;
        let until = now + Duration::from_secs(2);
        while now < until {
            let at = pace.reserve(None, now).unwrap();
            pace.start(at);
            pace.answered(None, pace.epoch, at);
            now = at;
        }
        let probed = pace.adaptive.unwrap();
        assert!(
            probed > 38.0 && probed < 38.0 + 2.0 * 4.0 / 4.0 + 0.5,
            "{probed}"
        );
    }

    #[test]
    fn the_rate_only_rises_while_it_binds_and_vanishes_at_the_ceiling() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        pace.adaptive = Some(10.0);
        pace.step = 1.0;
        // Calls that never wait (slower than the rate) do not raise it.
        for s in 0..20 {
            let at = t0 + Duration::from_secs(s);
            pace.reserve(None, at);
            pace.answered(None, pace.epoch, at);
        }
        assert_eq!(pace.adaptive, Some(10.0));
        // Binding, it rises; at the configured limit the adaptive one goes away.
        pace.step = 1000.0;
        let now = t0 + Duration::from_secs(30);
        pace.reserve(Some(12.0), now);
        pace.reserve(Some(12.0), now);
        pace.answered(Some(12.0), pace.epoch, now);
        assert_eq!(pace.adaptive, None);
        assert_eq!(pace.rate(Some(12.0)), Some(12.0));
    }

    /// `n` calls start at `now` and end as `answer` at once, with no slot taken.
    fn end_at(pace: &mut Pace, now: Instant, n: usize, answer: Answer) {
        for _ in 0..n {
            let permit = pace.start(now);
            match answer {
                Answer::Refused => pace.refused(None, epoch(permit), now),
                Answer::Answered => pace.answered(None, epoch(permit), now),
                Answer::None => {}
            }
        }
    }

    #[test]
    fn a_decrease_counts_only_the_calls_since_the_last_one() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        calls(&mut pace, None, t0, 50, Answer::Answered);
        end_at(&mut pace, t0 + 10 * MS, 17, Answer::Refused);
        assert_eq!(pace.rate(None), Some(33.5));
        let lowered = t0 + 10 * MS;
        // Refusals of calls let out before it, and within half a second of it: no decrease.
        for _ in 0..20 {
            pace.refused(None, 0, lowered + 100 * MS);
        }
        end_at(&mut pace, lowered + 100 * MS, 6, Answer::Answered);
        end_at(&mut pace, lowered + 100 * MS, 3, Answer::Refused);
        assert_eq!(pace.rate(None), Some(33.5), "3 of 9 refused within 500 ms");
        // 600 ms after it: 4 of the 10 calls since refused, 16.7 sent a second, 10 admitted.
        end_at(&mut pace, lowered + 600 * MS, 1, Answer::Refused);
        let rate = pace.rate(None).unwrap();
        assert!((rate - 50.0 / 6.0).abs() < 1e-9, "{rate}");
        let estimate = pace.limit_estimate.unwrap();
        assert!((estimate - 10.0).abs() < 1e-9, "{estimate}");
        // It regains a tenth of itself a second at least (just below the estimate is nearer).
        assert!((pace.step - 50.0 / 60.0).abs() < 1e-9, "{}", pace.step);
    }

    #[test]
    fn with_a_known_limit_a_tenth_refused_is_enough() {
        let t0 = Instant::now();
        let mut pace = Pace::new(t0);
        pace.adaptive = Some(48.0);
        pace.limit_estimate = Some(50.0);
        calls(&mut pace, None, t0, 45, Answer::Answered);
        end_at(
            &mut pace,
            t0 + Duration::from_millis(930),
            4,
            Answer::Refused,
        );
        assert_eq!(pace.adaptive, Some(48.0), "4 of 49 answers refused");
        end_at(
            &mut pace,
            t0 + Duration::from_millis(930),
            1,
            Answer::Refused,
        );
        assert_eq!(
            pace.adaptive,
            Some(24.0),
            "5 of 50 answers refused, at 48 of 50"
        );
        assert_eq!(pace.limit_estimate, Some(45.0));
        // Well below that estimate (it was high), a tenth again: the rate is halved again and the
        // limit estimated at what the gateway admitted. Two refusals are still sporadic.
        let later = t0 + Duration::from_secs(5);
        calls(&mut pace, None, later, 20, Answer::Answered);
        let before = pace.adaptive;
        end_at(
            &mut pace,
            later + Duration::from_millis(900),
            2,
            Answer::Refused,
        );
        assert_eq!(pace.adaptive, before, "2 of 22 answers refused");
        end_at(
            &mut pace,
            later + Duration::from_millis(900),
            1,
            Answer::Refused,
        );
        assert_eq!(
            pace.adaptive,
            Some(11.5),
            "3 of 23 answers refused, 23 sent at about 24 a second: half of 23"
        );
        assert_eq!(pace.limit_estimate, Some(20.0));
    }

    #[test]
    fn a_call_whose_slot_is_now_sets_no_timer() {
        // A timer fires at the runtime's next millisecond tick, not at once: a call that does not
        // wait must not set one (a runtime without timers panics at any).
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let limiter = CallLimiter::new(Some(MAX_CALLS_PER_SECOND_LIMIT), None);
        runtime.block_on(async {
            let permit = limiter.acquire().await;
            limiter.finished(permit, Answer::Answered).await;
        });
    }

    #[tokio::test]
    async fn waiting_calls_take_slots_in_turn() {
        let limiter = std::sync::Arc::new(CallLimiter::new(Some(100), None));
        let started = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let limiter = limiter.clone();
            tasks.push(tokio::spawn(async move {
                let permit = limiter.acquire().await;
                limiter.finished(permit, Answer::Answered).await;
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        // Ten calls at 100 a second: the last starts 90 ms after the first.
        let took = started.elapsed();
        assert!(took >= 85 * MS && took < Duration::from_secs(2), "{took:?}");
    }
}

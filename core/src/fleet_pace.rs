//! The fleet's pace: with a SQLite or PostgreSQL journal, every client of every process that
//! uses it takes its call slots from one row of the store per (gateway, app key)
//! ([`crate::journal::PaceStore`]), so that a fleet sharing an app key keeps to the gateway's
//! per-app limit together: the configured `max_calls_per_second` is the fleet's, and a run of
//! refusals seen anywhere lowers the rate for all.
//!
//! The decisions are the process pace's own ([`crate::limiter`]), made on the fleet's counts:
//! those the last reservation returned tell whether a refusal may call for a decrease, and the
//! counts read from the store then decide it (a process whose calls all waited for their slots
//! has seen none for a while). A reservation has the journal's deadline: when the store
//! does not answer in time, the call (and those of the next second, without asking) goes at
//! the process's own pace instead, which is never faster than the configured limit.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::time::Instant;

use crate::journal::{Counts, JournalStore, Lowering, PaceRow, PaceStore, Scope, SlotAsk, bounded};
use crate::limiter::{self, Answer, HOLD, Totals};
use crate::per_process::PerProcess;

/// After a reservation failed, calls skip the store for this long.
const SKIP_AFTER_FAILURE: Duration = Duration::from_secs(1);

pub(crate) struct FleetPace {
    journal: Arc<dyn JournalStore>,
    scope: Scope,
    deadline: Duration,
    /// Per process: a `fork()` child starts from a copy.
    view: PerProcess<Mutex<View>>,
}

/// What this process knows of the shared pace, and what it has to tell the store.
#[derive(Debug, Clone, Default)]
struct View {
    /// The row the last reservation returned, and when.
    row: Option<(PaceRow, Instant)>,
    epoch: i64,
    /// The shared adaptive rate, with this process's raises since the row was read.
    adaptive: Option<f64>,
    lowered_at: Option<Instant>,
    /// Not yet sent: calls answered (refused ones too) and refused, and the raise they earned.
    answered: i64,
    refused: i64,
    raise: f64,
    /// When a call last waited for its slot.
    waited_at: Option<Instant>,
    /// A decrease this process is sending, for the epoch it was decided in.
    lowering: Option<i64>,
    skip_until: Option<Instant>,
}

impl FleetPace {
    /// The fleet pace of `scope` in `journal`, if the journal keeps one.
    pub fn new(
        journal: Arc<dyn JournalStore>,
        scope: Scope,
        deadline: Duration,
    ) -> Option<FleetPace> {
        journal.pace()?;
        Some(FleetPace {
            journal,
            scope,
            deadline,
            view: PerProcess::new(|parent| {
                let copied = parent.and_then(|view| view.try_lock().ok().map(|v| v.clone()));
                Mutex::new(copied.unwrap_or_default())
            }),
        })
    }

    fn view(&self) -> MutexGuard<'_, View> {
        self.view
            .get()
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The shared rate that applies now with `configured`, as last seen.
    pub fn rate(&self, configured: Option<f64>) -> Option<f64> {
        limiter::effective_rate(configured, self.view().adaptive)
    }

    /// Waits for this call's slot in the fleet's pace; returns the epoch it was taken in, or
    /// `None` when the store did not answer (the call then takes the process's own pace).
    pub async fn acquire(&self, configured: Option<f64>) -> Option<i64> {
        let store = self.journal.pace()?;
        loop {
            let ask = {
                let mut view = self.view();
                if view.skip_until.is_some_and(|until| Instant::now() < until) {
                    return None;
                }
                view.ask(configured)
            };
            let reserved = bounded(
                self.deadline,
                self.journal.url(),
                store.reserve_slot(&self.scope, &ask),
            )
            .await;
            let row = match reserved {
                Ok(row) => row,
                Err(e) => {
                    self.view().skip_until = Some(Instant::now() + SKIP_AFTER_FAILURE);
                    log::warn!(target: "dajisaas", "the fleet's pace could not be reserved, calls of the next second take this process's own pace: {e}");
                    return None;
                }
            };
            let (epoch, wait) = (row.epoch, row.wait);
            self.view().seen(row);
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
            // Lowered while this call waited: it takes a new slot at the new rate.
            if self.view().epoch == epoch {
                return Some(epoch);
            }
        }
    }

    /// Tells the fleet's pace how a call let out in `epoch` ended.
    pub async fn finished(&self, configured: Option<f64>, epoch: i64, answer: Answer) {
        let Some(store) = self.journal.pace() else {
            return;
        };
        {
            let now = Instant::now();
            let mut view = self.view();
            // Calls let out before the last decrease say nothing of the rate after it.
            if epoch != view.epoch {
                return;
            }
            match answer {
                Answer::None => return,
                Answer::Answered => {
                    view.answered += 1;
                    view.raise(now);
                    return;
                }
                Answer::Refused => {
                    view.answered += 1;
                    view.refused += 1;
                }
            }
            // One decision at a time in a process, and only when the counts last seen may call
            // for one.
            if view.lowering == Some(view.epoch) || view.lowering(configured, now).is_none() {
                return;
            }
            view.lowering = Some(view.epoch);
        }
        let Some(lowering) = self.decide(store, configured).await else {
            self.view().lowering = None;
            return;
        };
        let lowered = bounded(
            self.deadline,
            self.journal.url(),
            store.lower_pace(&self.scope, &lowering),
        )
        .await;
        let mut view = self.view();
        view.lowering = None;
        match lowered {
            Ok(true) => view.lowered(&lowering, Instant::now()),
            // Another process lowered it first: the next reservation brings its rate.
            Ok(false) => {}
            Err(e) => {
                log::warn!(target: "dajisaas", "the fleet's pace could not be lowered after refusals: {e}")
            }
        }
    }

    /// The decrease the fleet's counts, read from the store now, call for.
    async fn decide(&self, store: &dyn PaceStore, configured: Option<f64>) -> Option<Lowering> {
        let read = bounded(
            self.deadline,
            self.journal.url(),
            store.read_pace(&self.scope),
        )
        .await;
        let mut view = self.view();
        match read {
            Ok(Some(row)) => {
                view.seen(row);
                view.lowering(configured, Instant::now())
            }
            Ok(None) => None,
            Err(e) => {
                log::warn!(target: "dajisaas", "the fleet's pace could not be read after refusals: {e}");
                None
            }
        }
    }
}

impl View {
    /// The next reservation's request, taking what is to be told.
    fn ask(&mut self, configured: Option<f64>) -> SlotAsk {
        let now = Instant::now();
        let (rate, estimate) = (self.adaptive.unwrap_or(0.0), self.estimate());
        SlotAsk {
            configured,
            epoch: self.epoch,
            raise: std::mem::take(&mut self.raise),
            cap: limiter::raise_cap(rate, estimate, self.holding(now)),
            answered: std::mem::take(&mut self.answered),
            refused: std::mem::take(&mut self.refused),
        }
    }

    fn seen(&mut self, row: PaceRow) {
        let now = Instant::now();
        if !row.wait.is_zero() {
            self.waited_at = Some(now);
        }
        if row.epoch != self.epoch {
            // Lowered meanwhile: what this process counted was of calls let out before.
            self.forget_counts();
        }
        self.epoch = row.epoch;
        self.adaptive = row.adaptive;
        self.lowered_at = row.since_lowered.and_then(|ago| now.checked_sub(ago));
        self.row = Some((row, now));
    }

    fn estimate(&self) -> Option<f64> {
        self.row.as_ref().and_then(|(row, _)| row.estimate)
    }

    fn holding(&self, now: Instant) -> bool {
        self.lowered_at
            .is_some_and(|at| now.saturating_duration_since(at) < HOLD)
    }

    /// One more call answered: while the adaptive rate binds, it rises (told at the next
    /// reservation).
    fn raise(&mut self, now: Instant) {
        let (Some(rate), Some((row, _))) = (self.adaptive, &self.row) else {
            return;
        };
        if !limiter::binds(self.waited_at, now) {
            return;
        }
        let raised = limiter::raised(rate, row.step, row.estimate, self.holding(now));
        self.raise += raised - rate;
        self.adaptive = Some(raised);
    }

    /// The decrease the fleet's refusals since the last decrease (in the last second at most)
    /// call for, by the counts last seen and this process's since.
    fn lowering(&self, configured: Option<f64>, now: Instant) -> Option<Lowering> {
        let (row, read_at) = self.row.as_ref()?;
        let fleet = row.last_second(now.saturating_duration_since(*read_at));
        let count = |n: i64| u32::try_from(n.max(0)).unwrap_or(u32::MAX);
        let totals = Totals {
            started: count(fleet.started),
            answered: count(fleet.answered + self.answered),
            refused: count(fleet.refused + self.refused),
        };
        let rate = limiter::effective_rate(configured, self.adaptive);
        let since_lowered = self.lowered_at.map(|at| now.saturating_duration_since(at));
        let decrease = limiter::lowering(rate, row.estimate, totals, since_lowered)?;
        Some(Lowering {
            epoch: self.epoch,
            rate: decrease.rate,
            estimate: decrease.estimate,
            step: decrease.step,
        })
    }

    fn lowered(&mut self, lowering: &Lowering, now: Instant) {
        self.epoch = lowering.epoch + 1;
        self.adaptive = Some(lowering.rate);
        self.lowered_at = Some(now);
        self.forget_counts();
        if let Some((row, read_at)) = &mut self.row {
            // As the decrease left the store's row: the counts start again.
            row.estimate = Some(lowering.estimate);
            row.step = lowering.step;
            row.epoch = self.epoch;
            row.window_age = Duration::ZERO;
            row.window = Counts::default();
            row.previous = Counts::default();
            *read_at = now;
        }
    }

    /// Drops what this process counted and has not told yet.
    fn forget_counts(&mut self) {
        self.answered = 0;
        self.refused = 0;
        self.raise = 0.0;
    }
}

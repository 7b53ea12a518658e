//! The fleet's pace, kept in the journal's store (SQLite, PostgreSQL): one row per scope (gateway,
//! app key) that every client of every process using the store reserves its call slots from, so
//! that a fleet sharing one app key keeps to the gateway's per-app limit together.
//!
//! A reservation is one statement (GCRA: the row's next free time, by the store's clock, moves
//! on by `1 / rate`), which also carries what the caller learned since its last one (calls
//! answered and refused, and the adaptive rate's raise) and returns the row: the caller waits
//! locally until its slot. A decrease after a run of refusals is a second statement, only on
//! the call that decides it, and only if nobody lowered the rate meanwhile (the row's epoch).
//!
//! The statements are written once, in the SQL both stores speak, with the few words they
//! spell differently filled in by [`Dialect`].

use std::time::Duration;

use super::{JournalFuture, Scope};
use crate::limiter::MAX_CALLS_PER_SECOND_LIMIT;

/// A store that keeps the fleet's pace.
pub trait PaceStore: Send + Sync {
    /// Reserves the next call slot of `scope` and reports what `ask` carries.
    fn reserve_slot<'a>(&'a self, scope: &'a Scope, ask: &'a SlotAsk)
    -> JournalFuture<'a, PaceRow>;

    /// Lowers the adaptive rate of `scope` (true), unless it was lowered since `lowering.epoch`
    /// (false).
    fn lower_pace<'a>(
        &'a self,
        scope: &'a Scope,
        lowering: &'a Lowering,
    ) -> JournalFuture<'a, bool>;

    /// The pace of `scope` as it stands, without reserving (none before its first call).
    fn read_pace<'a>(&'a self, scope: &'a Scope) -> JournalFuture<'a, Option<PaceRow>>;
}

/// What a reservation sends.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotAsk {
    /// The caller's configured limit, if any (the lower of it and the shared adaptive rate
    /// spaces this call).
    pub configured: Option<f64>,
    /// The epoch the caller's raise was computed in: ignored if the rate was lowered since.
    pub epoch: i64,
    /// How much to raise the adaptive rate by (answered calls while it bound)...
    pub raise: f64,
    /// ... but not above this.
    pub cap: f64,
    /// Calls of the caller answered (refused ones too) since its last reservation...
    pub answered: i64,
    /// ... and of those, the ones refused for their frequency.
    pub refused: i64,
}

/// A decrease of the adaptive rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lowering {
    /// The epoch the decision was made in.
    pub epoch: i64,
    /// The new adaptive rate, calls a second.
    pub rate: f64,
    /// The gateway's limit as estimated: the calls it admitted in the last second.
    pub estimate: f64,
    /// Calls a second the rate regains per second while it binds.
    pub step: f64,
}

/// The pace's row as a reservation (or a read) left it.
#[derive(Debug, Clone, PartialEq)]
pub struct PaceRow {
    /// How long the caller waits for its slot (a read: until the next free slot).
    pub wait: Duration,
    /// The shared adaptive rate, calls a second, when one applies.
    pub adaptive: Option<f64>,
    /// The gateway's limit as estimated at the last decrease.
    pub estimate: Option<f64>,
    /// Calls a second the adaptive rate regains per second while it binds.
    pub step: f64,
    /// How long ago the rate was last lowered.
    pub since_lowered: Option<Duration>,
    /// Bumped at every decrease.
    pub epoch: i64,
    /// The fleet's calls: started (reservations), answered, refused; this window's and the
    /// previous one's (one second each), and this window's age.
    pub window_age: Duration,
    /// This window's counts.
    pub window: Counts,
    /// The previous window's counts.
    pub previous: Counts,
}

/// Calls counted in one window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Counts {
    /// Calls let out (reservations).
    pub started: i64,
    /// Calls answered, refused ones too.
    pub answered: i64,
    /// Calls refused for their frequency.
    pub refused: i64,
}

impl PaceRow {
    /// The row as JSON: rates in calls a second, times in milliseconds, the last second's
    /// counts.
    pub fn to_json(&self) -> serde_json::Value {
        let last = self.last_second(Duration::ZERO);
        serde_json::json!({
            "adaptive_calls_per_second": self.adaptive,
            "estimated_limit": self.estimate,
            "next_slot_in_ms": self.wait.as_millis() as u64,
            "lowered_ms_ago": self.since_lowered.map(|d| d.as_millis() as u64),
            "epoch": self.epoch,
            "last_second": {
                "started": last.started,
                "answered": last.answered,
                "refused": last.refused,
            },
        })
    }

    /// The fleet's counts of the last second, `elapsed` after the row was read: this window's,
    /// and the part of the previous one that is less than a second old.
    pub fn last_second(&self, elapsed: Duration) -> Counts {
        let age = (self.window_age + elapsed).as_secs_f64();
        let (window, previous) = if age < 1.0 {
            (1.0, 1.0 - age)
        } else {
            ((2.0 - age).max(0.0), 0.0)
        };
        let mix = |w: i64, p: i64| (w as f64 * window + p as f64 * previous).round() as i64;
        Counts {
            started: mix(self.window.started, self.previous.started),
            answered: mix(self.window.answered, self.previous.answered),
            refused: mix(self.window.refused, self.previous.refused),
        }
    }
}

/// How a store spells what the statements need.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// `template` in this dialect: `{now}` (the store's clock, seconds since the epoch),
    /// `GREATEST(`/`LEAST(`, and `$n` parameters.
    pub(crate) fn render(self, template: &str) -> String {
        match self {
            Dialect::Sqlite => template
                .replace("{now}", "((julianday('now') - 2440587.5) * 86400.0)")
                .replace("GREATEST(", "max(")
                .replace("LEAST(", "min(")
                .replace('$', "?"),
            // The time the statement runs, after any wait for the row's lock (a statement's
            // start would hand a waiter the slot of the reservation it waited behind).
            Dialect::Postgres => template.replace(
                "{now}",
                "CAST(extract(epoch FROM clock_timestamp()) AS DOUBLE PRECISION)",
            ),
        }
    }
}

pub(crate) const CREATE_TABLE: &str = "CREATE TABLE dajisaas_pace (
        gateway TEXT NOT NULL,
        app_key TEXT NOT NULL,
        next_at DOUBLE PRECISION NOT NULL,
        slot_at DOUBLE PRECISION NOT NULL,
        adaptive DOUBLE PRECISION,
        estimate DOUBLE PRECISION,
        step DOUBLE PRECISION NOT NULL,
        lowered_at DOUBLE PRECISION,
        epoch BIGINT NOT NULL,
        win_at DOUBLE PRECISION NOT NULL,
        win_started BIGINT NOT NULL,
        win_answered BIGINT NOT NULL,
        win_refused BIGINT NOT NULL,
        prev_started BIGINT NOT NULL,
        prev_answered BIGINT NOT NULL,
        prev_refused BIGINT NOT NULL,
        PRIMARY KEY (gateway, app_key)
    )";

/// A scope's row, created at its first reservation (`$1` gateway, `$2` app key).
pub(crate) const INSERT: &str = "INSERT INTO dajisaas_pace VALUES \
     ($1, $2, 0, 0, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0) ON CONFLICT DO NOTHING";

/// `$3` configured, `$4` epoch, `$5` raise, `$6` cap, `$7` answered, `$8` refused: the counts
/// (as the raise) only if no decrease came since the caller's epoch, as they are of calls let out
/// before it. Every right-hand side reads the row as it was.
fn reserve() -> String {
    let rate = "COALESCE(LEAST(adaptive, CAST($3 AS DOUBLE PRECISION)), adaptive, \
                CAST($3 AS DOUBLE PRECISION))";
    let raised = "LEAST(adaptive + CAST($5 AS DOUBLE PRECISION), CAST($6 AS DOUBLE PRECISION))";
    // The counts of the window that ends when it is a second old, and of the one before.
    let mut windows = String::new();
    for (name, added) in [
        ("started", "1"),
        (
            "answered",
            "CASE WHEN epoch = CAST($4 AS BIGINT) THEN CAST($7 AS BIGINT) ELSE 0 END",
        ),
        (
            "refused",
            "CASE WHEN epoch = CAST($4 AS BIGINT) THEN CAST($8 AS BIGINT) ELSE 0 END",
        ),
    ] {
        windows += &format!(
            "prev_{name} = CASE WHEN {{now}} - win_at >= 2 THEN 0 \
             WHEN {{now}} - win_at >= 1 THEN win_{name} ELSE prev_{name} END, \
             win_{name} = CASE WHEN {{now}} - win_at >= 1 THEN 0 ELSE win_{name} END + {added}, "
        );
    }
    format!(
        "UPDATE dajisaas_pace SET \
         slot_at = GREATEST(next_at, {{now}}), \
         next_at = GREATEST(next_at, {{now}}) + \
             CASE WHEN {rate} IS NULL THEN 0 ELSE 1.0 / GREATEST({rate}, 1.0) END, \
         adaptive = CASE WHEN adaptive IS NULL OR epoch <> CAST($4 AS BIGINT) THEN adaptive \
             WHEN {raised} >= {MAX_CALLS_PER_SECOND_LIMIT}.0 THEN NULL ELSE {raised} END, \
         {windows} \
         win_at = CASE WHEN {{now}} - win_at >= 1 THEN {{now}} ELSE win_at END \
         WHERE gateway = $1 AND app_key = $2 RETURNING {}",
        returned("slot_at")
    )
}

/// `$3` epoch, `$4` rate, `$5` estimate, `$6` step. The counts start again: the next decision
/// is made on the calls of the new rate.
const LOWER: &str = "UPDATE dajisaas_pace SET \
     adaptive = CAST($4 AS DOUBLE PRECISION), \
     estimate = CAST($5 AS DOUBLE PRECISION), \
     step = CAST($6 AS DOUBLE PRECISION), \
     lowered_at = {now}, \
     epoch = epoch + 1, \
     win_at = {now}, win_started = 0, win_answered = 0, win_refused = 0, \
     prev_started = 0, prev_answered = 0, prev_refused = 0, \
     next_at = GREATEST(next_at, {now} + 1.0 / CAST($4 AS DOUBLE PRECISION)) \
     WHERE gateway = $1 AND app_key = $2 AND epoch = CAST($3 AS BIGINT) RETURNING epoch";

/// The columns a reservation or a read returns, in [`PaceRow`]'s order, waiting until `slot`.
fn returned(slot: &str) -> String {
    format!(
        "{slot} - {{now}}, adaptive, estimate, step, {{now}} - lowered_at, epoch, \
         {{now}} - win_at, win_started, win_answered, win_refused, \
         prev_started, prev_answered, prev_refused"
    )
}

/// The statements in `dialect`: reserve, lower, read.
pub(crate) fn statements(dialect: Dialect) -> [String; 3] {
    let read = format!(
        "SELECT {} FROM dajisaas_pace WHERE gateway = $1 AND app_key = $2",
        returned("GREATEST(next_at, {now})")
    );
    [reserve(), LOWER.to_string(), read].map(|s| dialect.render(&s))
}

/// A duration from a store's seconds, never negative.
pub(crate) fn seconds(s: f64) -> Duration {
    Duration::try_from_secs_f64(s.max(0.0)).unwrap_or(Duration::ZERO)
}

/// A [`PaceRow`] from the thirteen columns of a returned `$row`, each read with `$row.$get(i)?`
/// (`get` for SQLite, `try_get` for PostgreSQL).
macro_rules! pace_row {
    ($row:expr, $get:ident) => {{
        let mut counts = [0; 6];
        for (i, count) in counts.iter_mut().enumerate() {
            *count = $row.$get(7 + i)?;
        }
        Ok($crate::journal::pace::row(
            $row.$get(0)?,
            $row.$get(1)?,
            $row.$get(2)?,
            $row.$get(3)?,
            $row.$get(4)?,
            $row.$get(5)?,
            $row.$get(6)?,
            counts,
        ))
    }};
}
pub(crate) use pace_row;

/// A [`PaceRow`] from the returned values.
#[allow(clippy::too_many_arguments)]
pub(crate) fn row(
    wait: f64,
    adaptive: Option<f64>,
    estimate: Option<f64>,
    step: f64,
    since_lowered: Option<f64>,
    epoch: i64,
    window_age: f64,
    counts: [i64; 6],
) -> PaceRow {
    PaceRow {
        wait: seconds(wait),
        adaptive,
        estimate,
        step,
        since_lowered: since_lowered.map(seconds),
        epoch,
        window_age: seconds(window_age),
        window: Counts {
            started: counts[0],
            answered: counts[1],
            refused: counts[2],
        },
        previous: Counts {
            started: counts[3],
            answered: counts[4],
            refused: counts[5],
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_have_no_placeholder_left() {
        for dialect in [Dialect::Sqlite, Dialect::Postgres] {
            for statement in statements(dialect) {
                assert!(!statement.contains('{'), "{statement}");
                match dialect {
                    Dialect::Sqlite => assert!(!statement.contains('$'), "{statement}"),
                    Dialect::Postgres => assert!(!statement.contains("julianday")),
                }
            }
        }
    }

    #[test]
    fn the_last_second_mixes_the_previous_window_by_its_age() {
        let mut row = row(0.0, None, None, 0.0, None, 0, 0.25, [10, 8, 2, 40, 30, 10]);
        assert_eq!(
            row.last_second(Duration::ZERO),
            Counts {
                started: 40,
                answered: 31,
                refused: 10
            }
        );
        row.window_age = Duration::from_millis(1500);
        assert_eq!(row.last_second(Duration::ZERO).started, 5);
        assert_eq!(row.last_second(Duration::from_secs(1)).started, 0);
    }
}

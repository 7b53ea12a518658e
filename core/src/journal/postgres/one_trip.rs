//! A payment's three steps (claim, fence, outcome) in one round trip each: one statement that
//! is a transaction of its own, where the locking step (`mutate_on`: two round trips) is not
//! needed. The claim's and the outcome's decisions are still [`Op::apply`]'s: their statements
//! only check that the row is what it was decided on, and stamp the store's time. The fence's
//! statement is the machine's successful fence written as SQL (claim id, owner, `in_flight`,
//! the margin of `fence_margin_ms`); any other case goes to the machine.
//!
//! - A claim of an order without a row inserts the row [`Op::apply`] makes of none, its times
//!   from the database's clock. Where the order has a row, the same statement reads it and the
//!   clock: a claim that changes nothing there (the order is paid, in flight, unknown) is
//!   answered from them; one that changes it (a payment again after a decline) is a swap, a
//!   second round trip.
//! - A fence is one conditional `UPDATE`: the claim id and owner, `in_flight`, at least the
//!   margin of lease left by the database's clock; it extends the lease.
//! - An outcome is a swap on the row this process last saw under its claim.
//!
//! A swap writes what [`Op::apply`] decided on a row as it was read, only if the store's row is
//! still exactly that one (every column compared). Each statement does what the locking step
//! would do at an instant of the call, or nothing; when it does nothing (a row from before
//! scopes, a row changed since it was read, a row another transaction has locked), the locking
//! step runs. So the answers are the reference's, and the journal's shared tests hold all three
//! stores to them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};
use std::time::{Duration, SystemTime};

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

use super::super::machine::{fence_margin_ms, holds, lease_millis};
use super::super::{COLUMNS, ClaimOutcome, Holder, now_millis};
use super::{
    COLUMN_COUNT, Change, Op, ROW_TYPES, Reply, RowParams, Scope, Session, Stored, is_retryable,
    pg_error, read_row, scoped_first,
};
use crate::error::{Error, ErrorCode, Result};

/// The claim of an order without a row ([`ROW_TYPES`]: the row `Op::apply` made of none, whose
/// lease is `$15 - $17` ms long), inserted unless the order has a row in the scope or from before
/// scopes; otherwise the order's rows. Either way each row carries whether this statement
/// inserted it, then the clock; with no row at all, one row of NULLs carries the clock.
static CLAIM: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH clock AS MATERIALIZED (SELECT {now} AS now), \
         inserted AS (INSERT INTO dajisaas_payments ({COLUMNS}) \
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
                 now + ($15 - $17) * interval '1 millisecond', now, now, $18, $19, $20 \
             FROM clock \
             WHERE NOT EXISTS (SELECT FROM dajisaas_payments \
                 WHERE gateway = '' AND app_key = '' AND order_id = $3) \
             ON CONFLICT (gateway, app_key, order_id) DO NOTHING \
             RETURNING {read}), \
         found AS (SELECT inserted.*, true AS new_row FROM inserted \
             UNION ALL \
             SELECT {read}, false FROM dajisaas_payments \
             WHERE order_id = $3 AND ((gateway = $1 AND app_key = $2) OR (gateway = '' AND app_key = '')) \
                 AND NOT EXISTS (SELECT FROM inserted)) \
         SELECT found.*, (extract(epoch FROM clock.now) * 1000)::bigint AS now_ms \
         FROM clock LEFT JOIN found ON true",
        now = now!(),
        read = read_columns!(),
    )
});

/// The row `$1`-`$3`, if no other transaction holds its lock: a one-trip statement never waits
/// for one. A statement that waited could commit long after its client gave up (a lost
/// connection does not stop it); the locking transaction, which waits instead, cannot.
macro_rules! unless_locked {
    () => {
        " AND ctid = (SELECT ctid FROM dajisaas_payments \
         WHERE gateway = $1 AND app_key = $2 AND order_id = $3 FOR UPDATE SKIP LOCKED)"
    };
}

/// The fence: the claim (`$4` id, `$5`-`$7` owner) of the order (`$1`-`$3`) extended to `$8` ms
/// from now, if it is `in_flight` with at least `$9` ms of lease left by the clock read as the
/// row is checked. The clock is read where it is used (a sub-select would be read once, before
/// any wait), so the new lease and `updated_at` may be a millisecond apart.
const FENCE: &str = concat!(
    "UPDATE dajisaas_payments SET lease_until = ",
    now!(),
    " + $8 * interval '1 millisecond', updated_at = ",
    now!(),
    " WHERE gateway = $1 AND app_key = $2 AND order_id = $3 AND claim_id = $4 ",
    "AND owner_host = $5 AND owner_pid = $6 AND owner_client_id = $7 ",
    "AND state = 'in_flight' AND claim_open AND lease_until >= ",
    now!(),
    " + $9 * interval '1 millisecond'",
    unless_locked!(),
    " RETURNING ",
    read_columns!()
);

const FENCE_TYPES: [Type; 9] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
    Type::INT8,
    Type::INT8,
];

/// A swap: the row set to `$4`-`$20` (its `updated_at` the clock's), if its columns are still
/// `$21`-`$37`, the row as it was read.
const SWAP: &str = concat!(
    update_row!(now!()),
    " AND (claim_id, state, attempts, trace_ids, pay_channel, error_code, message, data, ",
    "owner_host, owner_pid, owner_client_id, lease_until, created_at, updated_at, history, ",
    "claim_open, prev) IS NOT DISTINCT FROM ($21, $22, $23, $24, $25, $26, $27, $28, $29, $30, ",
    "$31, ",
    ts!(32),
    ", ",
    ts!(33),
    ", ",
    ts!(34),
    ", $35, $36, $37)",
    unless_locked!(),
    " RETURNING ",
    read_columns!()
);

/// A row's columns, then the same row's but its keys.
const SWAP_COUNT: usize = 2 * COLUMN_COUNT - 3;

static SWAP_TYPES: LazyLock<[Type; SWAP_COUNT]> = LazyLock::new(|| {
    std::array::from_fn(|i| ROW_TYPES[if i < COLUMN_COUNT { i } else { i - 17 }].clone())
});

/// The one-trip statements, prepared on one connection.
pub(super) struct Statements {
    claim: Statement,
    fence: Statement,
    swap: Statement,
}

impl Statements {
    pub async fn prepare(client: &Client, url: &str) -> Result<Statements> {
        let (claim, fence, swap) = futures_util::future::try_join3(
            client.prepare_typed(&CLAIM, &ROW_TYPES),
            client.prepare_typed(FENCE, &FENCE_TYPES),
            client.prepare_typed(SWAP, &SWAP_TYPES[..]),
        )
        .await
        .map_err(|e| pg_error(url, e))?;
        Ok(Statements { claim, fence, swap })
    }
}

/// The rows of this process's open claims as it last read or wrote them, by scope and order:
/// what an outcome's swap expects. A hint: a row missing or stale costs the locking step.
#[derive(Default)]
pub(super) struct SeenRows(Mutex<HashMap<(Scope, String), Stored>>);

/// More open claims than this at once in one process, and each new one displaces another.
const MOST_SEEN: usize = 4096;

impl SeenRows {
    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), Stored>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The row as `op` left it: kept while it is the open claim of `op`'s holder (a claim that
    /// turned another owner's into `unknown` keeps nothing), unless a newer row of the same
    /// claim is kept already (a renewal's answer handled after a later step's).
    pub fn note(&self, op: &Op, stored: &Stored) {
        let r = &stored.record;
        let key = (r.scope.clone(), r.order_id.clone());
        let mut rows = self.rows();
        let held = op
            .holder()
            .is_some_and(|h| stored.claim_open && holds(r, h));
        if !held {
            rows.remove(&key);
            return;
        }
        if let Some(kept) = rows.get(&key) {
            if kept.record.claim_id == r.claim_id && kept.record.updated_at > r.updated_at {
                return;
            }
        } else if rows.len() >= MOST_SEEN {
            if let Some(any) = rows.keys().next().cloned() {
                rows.remove(&any);
            }
        }
        rows.insert(key, stored.clone());
    }

    pub fn forget(&self, scope: &Scope, order_id: &str) {
        self.rows().remove(&(scope.clone(), order_id.to_string()));
    }

    fn get(&self, scope: &Scope, order_id: &str) -> Option<Stored> {
        self.rows()
            .get(&(scope.clone(), order_id.to_string()))
            .cloned()
    }
}

/// The step in one round trip (two for a claim that changes a row), or `None` when the locking
/// step has to run it.
pub(super) async fn step(
    session: &Session,
    url: &str,
    seen: &SeenRows,
    scope: &Scope,
    order_id: &str,
    op: &Op,
) -> Result<Option<Reply>> {
    let trip = Trip {
        client: &session.client,
        url,
        statements: &session.statements.one_trip,
        seen,
    };
    match op {
        Op::Claim { .. } => trip.claim(scope, order_id, op).await,
        Op::Fence { holder, lease } => trip.fence(scope, order_id, op, holder, *lease).await,
        Op::Record { holder, .. } => {
            let Some(expected) = seen
                .get(scope, order_id)
                .filter(|s| holds(&s.record, holder))
            else {
                return Ok(None);
            };
            // The store's clock stamps the outcome: the time given here is not written, and an
            // outcome takes nothing else from the time (a test below holds `Op::apply` to that).
            match op.apply(scope, order_id, now_millis(), Some(expected.clone())) {
                Ok((reply, Change::Put(new))) => trip.swap(op, &expected, &new, reply).await,
                _ => Ok(None),
            }
        }
        Op::Release { .. } | Op::Resolve { .. } => Ok(None),
    }
}

/// Statements on one connection.
struct Trip<'a> {
    client: &'a Client,
    url: &'a str,
    statements: &'a Statements,
    seen: &'a SeenRows,
}

impl Trip<'_> {
    /// Rows, or `None` for a serialization failure or deadlock (the locking step runs it).
    async fn query(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Vec<Row>>> {
        match self.client.query(statement, params).await {
            Ok(rows) => Ok(Some(rows)),
            Err(e) if is_retryable(&e) => Ok(None),
            Err(e) => Err(pg_error(self.url, e)),
        }
    }

    /// The row an `UPDATE … RETURNING` wrote, if it wrote one.
    async fn written(
        &self,
        statement: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Stored>> {
        let Some(rows) = self.query(statement, params).await? else {
            return Ok(None);
        };
        rows.first()
            .map(|row| {
                read_row(row)
                    .map_err(|e| pg_error(self.url, e))?
                    .into_stored()
            })
            .transpose()
    }

    async fn claim(&self, scope: &Scope, order_id: &str, op: &Op) -> Result<Option<Reply>> {
        // The row a claim makes of none; the statement stamps its times with the store's clock,
        // the lease `lease_until - updated_at` long (a test below holds `Op::apply` to that).
        let (_, Change::Put(new)) = op.apply(scope, order_id, now_millis(), None)? else {
            return Ok(None);
        };
        let new = RowParams::new(&new);
        let Some(rows) = self.query(&self.statements.claim, &new.params()).await? else {
            return Ok(None);
        };
        let err = |e| pg_error(self.url, e);
        let mut now = None;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            now = Some(row.try_get::<_, i64>(COLUMN_COUNT + 1).map_err(err)?);
            // The clock's row of NULLs, when the order has no row that this statement could see.
            let Some(new_row) = row.try_get::<_, Option<bool>>(COLUMN_COUNT).map_err(err)? else {
                continue;
            };
            let stored = read_row(row).map_err(err)?.into_stored()?;
            if new_row {
                self.seen.note(op, &stored);
                return Ok(Some(Reply::Claim(ClaimOutcome::Claimed(stored.record))));
            }
            found.push(stored);
        }
        let now = now.ok_or_else(|| {
            Error::new(
                ErrorCode::Journal,
                format!("journal {}: the database returned no clock", self.url),
            )
        })?;
        // The order has rows: an answer that changes none stands as read, one that changes the
        // row is swapped in (a lease it starts counts from the clock read with the row).
        let Some(row) = scoped_first(found) else {
            return Ok(None);
        };
        match op.apply(scope, order_id, now, Some(row.clone()))? {
            (reply, Change::Keep) => Ok(Some(reply)),
            (reply, Change::Put(new)) => self.swap(op, &row, &new, reply).await,
            (_, Change::Delete) => Ok(None),
        }
    }

    async fn fence(
        &self,
        scope: &Scope,
        order_id: &str,
        op: &Op,
        holder: &Holder,
        lease: Duration,
    ) -> Result<Option<Reply>> {
        let lease_ms = lease_millis(lease)?;
        let pid = i64::from(holder.owner.pid);
        let margin_ms = fence_margin_ms(lease_ms);
        let params: [&(dyn ToSql + Sync); 9] = [
            &scope.gateway,
            &scope.app_key,
            &order_id,
            &holder.claim_id,
            &holder.owner.host,
            &pid,
            &holder.owner.client_id,
            &lease_ms,
            &margin_ms,
        ];
        let Some(stored) = self.written(&self.statements.fence, &params).await? else {
            return Ok(None);
        };
        self.seen.note(op, &stored);
        Ok(Some(Reply::Record(Some(stored.record))))
    }

    /// `new`, what `reply` answers, written over `expected` if the store's row is still exactly
    /// it (a row from before scopes takes the locking step, which moves it). The reply is
    /// stamped with the time of the write.
    async fn swap(
        &self,
        op: &Op,
        expected: &Stored,
        new: &Stored,
        reply: Reply,
    ) -> Result<Option<Reply>> {
        let (scope, order_id) = (&new.record.scope, &new.record.order_id);
        if expected.record.scope != *scope {
            return Ok(None);
        }
        let (new, old) = (RowParams::new(new), RowParams::new(expected));
        let params: Vec<&(dyn ToSql + Sync)> = new
            .params()
            .into_iter()
            .chain(old.params().into_iter().skip(3))
            .collect();
        let Some(stored) = self.written(&self.statements.swap, &params).await? else {
            self.seen.forget(scope, order_id);
            return Ok(None);
        };
        self.seen.note(op, &stored);
        Ok(Some(stamped(reply, stored.record.updated_at)))
    }
}

/// `reply`'s record with the store's time of the write (its other columns as decided: the
/// gateway's words as given, where the store keeps a NUL as U+FFFD).
fn stamped(mut reply: Reply, updated_at: SystemTime) -> Reply {
    match &mut reply {
        Reply::Record(Some(record))
        | Reply::Claim(
            ClaimOutcome::Claimed(record)
            | ClaimOutcome::InProgressHere(record)
            | ClaimOutcome::InProgress(record)
            | ClaimOutcome::Paid(record)
            | ClaimOutcome::Unknown(record),
        ) => record.updated_at = updated_at,
        Reply::Record(None) => {}
    }
    reply
}

#[cfg(test)]
mod tests {
    use super::super::super::{Outcome, Owner, from_millis};
    use super::*;

    /// The statements stamp the times themselves. That is right only while a claim of nothing
    /// takes its three times from one `now` (the lease `lease_until - updated_at` long), and an
    /// outcome takes nothing from the time but `updated_at`, even past the lease.
    #[test]
    fn apply_takes_from_the_time_only_what_the_statements_stamp() {
        let scope = Scope::new("https://gateway.example", "key");
        let holder = Holder::new(Owner {
            host: "h".into(),
            pid: 7,
            client_id: "c".into(),
        });
        let claim = Op::Claim {
            holder: holder.clone(),
            lease: Duration::from_secs(60),
        };
        let Ok((_, Change::Put(claimed))) = claim.apply(&scope, "1", 1_000, None) else {
            panic!("a claim of nothing writes a row");
        };
        let r = &claimed.record;
        assert_eq!(
            (r.created_at, r.updated_at),
            (from_millis(1_000), from_millis(1_000))
        );
        assert_eq!(r.lease_until, Some(from_millis(61_000)));

        let record = Op::Record {
            holder,
            outcome: Outcome::Declined {
                attempts: 1,
                trace_ids: vec!["t".into()],
                error_code: "payment_declined".into(),
                message: "no".into(),
            },
        };
        let at = |now| match record.apply(&scope, "1", now, Some((*claimed).clone())) {
            Ok((Reply::Record(Some(answer)), Change::Put(row))) => (answer, row),
            other => panic!("the outcome is written: {other:?}"),
        };
        let (mut early, mut early_row) = at(2_000);
        let (late, late_row) = at(90_000);
        assert_eq!(early.updated_at, from_millis(2_000));
        early.updated_at = late.updated_at;
        early_row.record.updated_at = late_row.record.updated_at;
        assert_eq!((early, early_row), (late, late_row));
    }
}

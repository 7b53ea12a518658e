//! A payment's three steps (claim, fence, outcome) in one round trip each: one statement that
//! is a transaction of its own, where the locking step (`mutate_on`: two round trips) is not
//! needed.
//!
//! - A claim of an order without a row inserts the row [`Op::apply`] makes of none, its times
//!   from the database's clock. Where the order has a row, the same statement reads it and the
//!   clock: a claim that changes nothing there (the order is paid, in flight, unknown) is
//!   answered from them.
//! - A fence is one conditional `UPDATE`: the claim id and owner, `in_flight`, at least the
//!   margin of lease left by the database's clock; it extends the lease.
//! - An outcome is [`Op::apply`] on the row this process last saw under its claim, written only
//!   if the row is still exactly that one (compare and swap on every column).
//!
//! Each statement does only what the locking step would do at the same instant, or nothing;
//! when it does nothing (a row to change under a claim, a row that changed since it was seen),
//! the locking step runs. So the answers are the reference's, and the journal's shared tests hold
//! all three stores to them.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, Row, Statement};

use super::super::machine::{fence_margin_ms, lease_millis};
use super::super::{COLUMNS, ClaimOutcome, Holder, now_millis};
use super::{
    COLUMN_COUNT, Change, Op, ROW_TYPES, Reply, RowParams, Scope, Session, Stored, is_retryable,
    pg_error, read_row, scoped_first,
};
use crate::error::{Error, ErrorCode, Result};

/// The database's clock, to the millisecond (the rows keep milliseconds).
macro_rules! now {
    () => {
        "date_trunc('milliseconds', clock_timestamp())"
    };
}

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

/// The fence: the claim (`$4` id, `$5`-`$7` owner) of the order (`$1`-`$3`) extended to `$8` ms
/// from now, if it is `in_flight` with at least `$9` ms of lease left. The clock is read as the
/// row is checked (again after waiting for its lock), so that a wait is never counted as lease.
const FENCE: &str = concat!(
    "UPDATE dajisaas_payments SET lease_until = ",
    now!(),
    " + $8 * interval '1 millisecond', updated_at = ",
    now!(),
    " WHERE gateway = $1 AND app_key = $2 AND order_id = $3 AND claim_id = $4 ",
    "AND owner_host = $5 AND owner_pid = $6 AND owner_client_id = $7 ",
    "AND state = 'in_flight' AND claim_open AND lease_until >= ",
    now!(),
    " + $9 * interval '1 millisecond' RETURNING ",
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

/// The outcome: the row set to `$4`-`$20` (its `updated_at` the clock's), if its columns are
/// still `$21`-`$37`, the row as it was seen.
const RECORD: &str = concat!(
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
    ", $35, $36, $37) RETURNING ",
    read_columns!()
);

/// A row's columns, then the same row's but its keys.
const SWAP_COUNT: usize = 2 * COLUMN_COUNT - 3;

static RECORD_TYPES: LazyLock<[Type; SWAP_COUNT]> = LazyLock::new(|| {
    std::array::from_fn(|i| ROW_TYPES[if i < COLUMN_COUNT { i } else { i - 17 }].clone())
});

/// The one-trip statements, prepared on one connection.
pub(super) struct Statements {
    claim: Statement,
    fence: Statement,
    record: Statement,
}

impl Statements {
    pub async fn prepare(client: &Client, url: &str) -> Result<Statements> {
        let (claim, fence, record) = futures_util::future::try_join3(
            client.prepare_typed(&CLAIM, &ROW_TYPES),
            client.prepare_typed(FENCE, &FENCE_TYPES),
            client.prepare_typed(RECORD, &RECORD_TYPES[..]),
        )
        .await
        .map_err(|e| pg_error(url, e))?;
        Ok(Statements {
            claim,
            fence,
            record,
        })
    }
}

/// The rows this process last read or wrote of its open claims, by scope and order: what an
/// outcome's compare and swap expects. A hint: a row missing or stale costs the locking step.
#[derive(Default)]
pub(super) struct SeenRows(Mutex<HashMap<(Scope, String), Stored>>);

/// More open claims than this at once in one process, and the hint starts over.
const MOST_SEEN: usize = 4096;

impl SeenRows {
    fn rows(&self) -> std::sync::MutexGuard<'_, HashMap<(Scope, String), Stored>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The row as the store has it now: kept while its claim is open.
    pub fn remember(&self, stored: &Stored) {
        let key = (stored.record.scope.clone(), stored.record.order_id.clone());
        let mut rows = self.rows();
        if !stored.claim_open {
            rows.remove(&key);
            return;
        }
        if rows.len() >= MOST_SEEN && !rows.contains_key(&key) {
            rows.clear();
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

/// The step in one round trip, or `None` when the locking step has to run it.
pub(super) async fn step(
    session: &Session,
    url: &str,
    seen: &SeenRows,
    scope: &Scope,
    order_id: &str,
    op: &Op,
) -> Result<Option<Reply>> {
    let statements = &session.statements.one_trip;
    let trip = Trip {
        client: &session.client,
        url,
    };
    let stored = match op {
        Op::Claim { .. } => {
            return trip
                .claim(&statements.claim, seen, scope, order_id, op)
                .await;
        }
        Op::Fence { holder, lease } => {
            let lease_ms = lease_millis(*lease)?;
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
            trip.written(&statements.fence, &params).await?
        }
        Op::Record { holder, .. } => {
            let Some(expected) = seen.get(scope, order_id).filter(|s| held_by(s, holder)) else {
                return Ok(None);
            };
            // Decided on the row as seen: written only if the store still has exactly it.
            let Ok((Reply::Record(Some(mut answer)), Change::Put(new))) =
                op.apply(scope, order_id, now_millis(), Some(expected.clone()))
            else {
                return Ok(None);
            };
            let (new, old) = (RowParams::new(&new), RowParams::new(&expected));
            let params: Vec<&(dyn ToSql + Sync)> = new
                .params()
                .into_iter()
                .chain(old.params().into_iter().skip(3))
                .collect();
            let Some(stored) = trip.written(&statements.record, &params).await? else {
                seen.forget(scope, order_id);
                return Ok(None);
            };
            seen.remember(&stored);
            // The answer is the record as decided (with the gateway's words as given), stamped
            // with the store's time.
            answer.updated_at = stored.record.updated_at;
            return Ok(Some(Reply::Record(Some(answer))));
        }
        Op::Release { .. } | Op::Resolve { .. } => None,
    };
    Ok(stored.map(|stored| {
        seen.remember(&stored);
        Reply::Record(Some(stored.record))
    }))
}

fn held_by(stored: &Stored, holder: &Holder) -> bool {
    stored.record.claim_id.as_deref() == Some(holder.claim_id.as_str())
}

/// A statement on one connection.
struct Trip<'a> {
    client: &'a Client,
    url: &'a str,
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

    async fn claim(
        &self,
        statement: &Statement,
        seen: &SeenRows,
        scope: &Scope,
        order_id: &str,
        op: &Op,
    ) -> Result<Option<Reply>> {
        // The row a claim makes of none; the statement stamps its times with the store's clock.
        let (_, Change::Put(new)) = op.apply(scope, order_id, now_millis(), None)? else {
            return Ok(None);
        };
        let new = RowParams::new(&new);
        let Some(rows) = self.query(statement, &new.params()).await? else {
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
                seen.remember(&stored);
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
        // The order has rows: an answer that changes none of them stands as read; one that
        // changes a row takes the locking step.
        let (reply, change) = op.apply(scope, order_id, now, scoped_first(found))?;
        Ok(matches!(change, Change::Keep).then_some(reply))
    }
}

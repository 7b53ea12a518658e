//! The state machine every store runs: one [`Op`] on one order's row, given the store's time,
//! inside the store's atomic step (a mutex, a SQLite write transaction, a PostgreSQL
//! transaction holding the row's lock), so that the three stores behave identically.

use std::time::Duration;

use serde_json::Value;

use super::history::validate_note;
use super::{
    ClaimOutcome, Holder, Outcome, PaymentRecord, Resolution, Resolver, Scope, State, format_time,
    from_millis,
};
use crate::error::{Error, ErrorCode, Result};
use crate::order_id::validate_order_id;

/// The most a fence asks to be left of a lease (a quarter of the lease when that is less):
/// time for the request to start before anyone may take the claim for dead.
const FENCE_MARGIN: Duration = Duration::from_secs(2);

/// A record as stored: the public record plus what undoing the current claim needs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Stored {
    pub record: PaymentRecord,
    /// The holder of `record`'s claim may still record an outcome or release: the record is
    /// its `in_flight` claim, or the `unknown` its expired lease turned into, unresolved.
    pub claim_open: bool,
    /// The record as it was before the open claim (`None`: the claim created it).
    pub prev: Option<Box<PaymentRecord>>,
}

impl Stored {
    /// `prev` as stored: the JSON of the record, or NULL.
    pub fn prev_json(&self) -> Option<String> {
        self.prev.as_ref().map(|p| p.to_json().to_string())
    }

    pub fn parse_prev(text: Option<&str>) -> Result<Option<Box<PaymentRecord>>> {
        text.map(|t| {
            let value: Value = serde_json::from_str(t).map_err(|e| {
                Error::new(
                    ErrorCode::Journal,
                    format!("journal: unreadable saved record: {e}"),
                )
            })?;
            PaymentRecord::from_json(&value).map(Box::new)
        })
        .transpose()
    }
}

/// What a step does to the stored row.
#[derive(Debug)]
pub(crate) enum Change {
    Keep,
    Put(Box<Stored>),
    Delete,
}

/// One atomic operation on an order's row.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Claim {
        holder: Holder,
        lease: Duration,
    },
    Fence {
        holder: Holder,
        lease: Duration,
    },
    Record {
        holder: Holder,
        outcome: Outcome,
    },
    Release {
        holder: Holder,
    },
    Resolve {
        paid: bool,
        note: String,
        by: Resolver,
    },
}

/// What an operation answers.
#[derive(Debug)]
pub(crate) enum Reply {
    Claim(ClaimOutcome),
    Record(Option<PaymentRecord>),
}

impl Reply {
    pub fn into_claim(self) -> Result<ClaimOutcome> {
        match self {
            Reply::Claim(c) => Ok(c),
            Reply::Record(_) => Err(Error::new(ErrorCode::Internal, "journal: wrong reply")),
        }
    }

    pub fn into_record(self) -> Result<Option<PaymentRecord>> {
        match self {
            Reply::Record(r) => Ok(r),
            Reply::Claim(_) => Err(Error::new(ErrorCode::Internal, "journal: wrong reply")),
        }
    }
}

pub(crate) fn lease_millis(lease: Duration) -> Result<i64> {
    let ms = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
    if ms <= 0 {
        return Err(Error::invalid("a journal lease must be at least 1 ms"));
    }
    Ok(ms)
}

fn merge_trace_ids(into: &mut Vec<String>, new: &[String]) {
    for id in new {
        if !into.contains(id) {
            into.push(id.clone());
        }
    }
}

impl Op {
    /// Whose claim the operation acts for (a resolution acts for no claim).
    pub fn holder(&self) -> Option<&Holder> {
        match self {
            Op::Claim { holder, .. }
            | Op::Fence { holder, .. }
            | Op::Record { holder, .. }
            | Op::Release { holder } => Some(holder),
            Op::Resolve { .. } => None,
        }
    }

    /// Validates the arguments before any store is touched.
    pub fn validate(&self, order_id: &str) -> Result<()> {
        validate_order_id(order_id, "orderId")?;
        match self {
            Op::Claim { lease, .. } | Op::Fence { lease, .. } => lease_millis(*lease).map(|_| ()),
            Op::Resolve { by, .. } if by.host.trim().is_empty() => Err(Error::invalid(
                "resolve: say who resolved the payment (the resolver's host is empty)",
            )),
            Op::Resolve { note, .. } => validate_note(note),
            _ => Ok(()),
        }
    }

    /// The step, given the scope, the store's time and the order's row (the scope's own, or one
    /// from before scopes): the answer and the change to make. A row that is written takes
    /// `scope`.
    pub fn apply(
        &self,
        scope: &Scope,
        order_id: &str,
        now_ms: i64,
        existing: Option<Stored>,
    ) -> Result<(Reply, Change)> {
        let now = from_millis(now_ms);
        // A row that is written takes the caller's scope (one from before scopes moves into it),
        // and so does the record the step answers with.
        let adopt = |stored: Stored| Change::Put(Box::new(stored));
        let existing = existing.map(|mut stored| {
            stored.record.scope = scope.clone();
            stored
        });
        match self {
            Op::Claim { holder, lease } => {
                let until = from_millis(now_ms.saturating_add(lease_millis(*lease)?));
                let claimed = |prev: Option<PaymentRecord>| {
                    let mut record = prev.clone().unwrap_or_else(|| PaymentRecord {
                        scope: scope.clone(),
                        order_id: order_id.to_string(),
                        claim_id: None,
                        state: State::InFlight,
                        attempts: 0,
                        trace_ids: Vec::new(),
                        pay_channel: None,
                        error_code: None,
                        message: None,
                        data: None,
                        owner: holder.owner.clone(),
                        lease_until: None,
                        created_at: now,
                        updated_at: now,
                        history: Vec::new(),
                    });
                    record.state = State::InFlight;
                    record.claim_id = Some(holder.claim_id.clone());
                    record.owner = holder.owner.clone();
                    record.lease_until = Some(until);
                    record.updated_at = now;
                    let stored = Stored {
                        record: record.clone(),
                        claim_open: true,
                        prev: prev.map(Box::new),
                    };
                    (Reply::Claim(ClaimOutcome::Claimed(record)), adopt(stored))
                };
                let Some(stored) = existing else {
                    return Ok(claimed(None));
                };
                let record = stored.record.clone();
                Ok(match record.state {
                    State::Declined | State::NotPaid => claimed(Some(record)),
                    State::Paid => (Reply::Claim(ClaimOutcome::Paid(record)), Change::Keep),
                    State::Unknown => (Reply::Claim(ClaimOutcome::Unknown(record)), Change::Keep),
                    State::InFlight if record.lease_expired_at(now) => {
                        // The claim id stays: its holder may still record what happened.
                        let mut expired = stored;
                        let r = &mut expired.record;
                        r.state = State::Unknown;
                        r.error_code = Some(ErrorCode::PaymentOutcomeUnknown.as_str().into());
                        r.message = Some(format!(
                            "the claim of {} expired at {} before it recorded an outcome: the \
                             request may have gone out",
                            r.owner,
                            r.lease_until.map(format_time).unwrap_or_default()
                        ));
                        r.lease_until = None;
                        r.updated_at = now;
                        let record = r.clone();
                        (Reply::Claim(ClaimOutcome::Unknown(record)), adopt(expired))
                    }
                    State::InFlight if record.owner == holder.owner => (
                        Reply::Claim(ClaimOutcome::InProgressHere(record)),
                        Change::Keep,
                    ),
                    State::InFlight => {
                        (Reply::Claim(ClaimOutcome::InProgress(record)), Change::Keep)
                    }
                })
            }
            Op::Fence { holder, lease } => {
                let lease_ms = lease_millis(*lease)?;
                let mut stored = fenced(order_id, existing, holder, now_ms, lease_ms)?;
                stored.record.lease_until = Some(from_millis(now_ms.saturating_add(lease_ms)));
                stored.record.updated_at = now;
                let record = stored.record.clone();
                Ok((Reply::Record(Some(record)), adopt(stored)))
            }
            Op::Record { holder, outcome } => {
                let mut stored = held_claim(order_id, existing, holder)?;
                let r = &mut stored.record;
                r.state = outcome.state();
                r.lease_until = None;
                r.updated_at = now;
                match outcome {
                    Outcome::Paid {
                        attempts,
                        trace_ids,
                        pay_channel,
                        data,
                        already_paid,
                    } => {
                        r.attempts = *attempts;
                        merge_trace_ids(&mut r.trace_ids, trace_ids);
                        r.pay_channel = pay_channel.clone();
                        r.data = data.clone();
                        r.error_code = None;
                        r.message = already_paid.then(|| {
                            "the gateway answered that the order was already paid (its answer \
                             is in data)"
                                .to_string()
                        });
                    }
                    Outcome::Declined {
                        attempts,
                        trace_ids,
                        error_code,
                        message,
                    }
                    | Outcome::Unknown {
                        attempts,
                        trace_ids,
                        error_code,
                        message,
                    } => {
                        r.attempts = *attempts;
                        merge_trace_ids(&mut r.trace_ids, trace_ids);
                        r.error_code = Some(error_code.clone());
                        r.message = Some(message.clone());
                    }
                }
                let record = r.clone();
                stored.claim_open = false;
                stored.prev = None;
                Ok((Reply::Record(Some(record)), adopt(stored)))
            }
            Op::Release { holder } => {
                let stored = held_claim(order_id, existing, holder)?;
                Ok(match stored.prev {
                    None => (Reply::Record(None), Change::Delete),
                    Some(prev) => {
                        let record = *prev;
                        let restored = Stored {
                            record: record.clone(),
                            claim_open: false,
                            prev: None,
                        };
                        (Reply::Record(Some(record)), adopt(restored))
                    }
                })
            }
            Op::Resolve { paid, note, by } => {
                let to = if *paid { State::Paid } else { State::NotPaid };
                let from = existing.as_ref().map(|stored| stored.record.state);
                let mut stored = match existing {
                    Some(stored) => {
                        check_resolvable(order_id, &stored.record, to, now)?;
                        stored
                    }
                    None if *paid => Stored {
                        record: PaymentRecord {
                            scope: scope.clone(),
                            order_id: order_id.to_string(),
                            claim_id: None,
                            state: State::Paid,
                            attempts: 0,
                            trace_ids: Vec::new(),
                            pay_channel: None,
                            error_code: None,
                            message: Some("paid outside the library".to_string()),
                            data: None,
                            owner: super::Owner {
                                host: by.host.clone(),
                                pid: by.pid,
                                client_id: "resolution".to_string(),
                            },
                            lease_until: None,
                            created_at: now,
                            updated_at: now,
                            history: Vec::new(),
                        },
                        claim_open: false,
                        prev: None,
                    },
                    None => {
                        return Err(Error::invalid(format!(
                            "order {order_id} has no payment record: an order the journal never \
                             saw can only be recorded as paid (paid outside the library)"
                        )));
                    }
                };
                let r = &mut stored.record;
                r.history.push(Resolution {
                    at: now,
                    by: by.clone(),
                    from,
                    to,
                    note: note.clone(),
                });
                r.state = to;
                r.lease_until = None;
                // A new id: a claim this resolution ended can no longer send or record.
                r.claim_id = Some(format!("resolved-{now_ms}-{}-{}", by.host, by.pid));
                r.updated_at = now;
                let record = r.clone();
                stored.claim_open = false;
                stored.prev = None;
                Ok((Reply::Record(Some(record)), adopt(stored)))
            }
        }
    }
}

/// Which resolutions a record allows: an unknown outcome (or a dead claim) either way, and the
/// corrections `paid` ↔ `not_paid`, `declined` → `paid`.
fn check_resolvable(
    order_id: &str,
    r: &PaymentRecord,
    to: State,
    now: std::time::SystemTime,
) -> Result<()> {
    let allowed = match r.state {
        State::Unknown => true,
        State::InFlight => r.lease_expired_at(now),
        State::Paid => to == State::NotPaid,
        State::NotPaid | State::Declined => to == State::Paid,
    };
    if allowed {
        return Ok(());
    }
    let why = match r.state {
        State::InFlight => format!(
            "in_flight (a payment by {} is under way until {}): wait for its outcome",
            r.owner,
            r.lease_until.map(format_time).unwrap_or_default()
        ),
        State::Declined => {
            "declined (nothing was deducted): it can only be corrected to paid".to_string()
        }
        state => format!("{state} already"),
    };
    Err(Error::invalid(format!("order {order_id} is {why}")))
}

/// The row, if `holder`'s claim is still open on it: `in_flight`, or the `unknown` its expired
/// lease turned into, under the same claim id.
fn held_claim(order_id: &str, existing: Option<Stored>, holder: &Holder) -> Result<Stored> {
    let Some(stored) = existing else {
        return Err(Error::invalid(format!(
            "order {order_id} has no payment record: there is no claim of {} to update",
            holder.owner
        )));
    };
    let r = &stored.record;
    let state_ok = matches!(r.state, State::InFlight | State::Unknown);
    if stored.claim_open && state_ok && holds(r, holder) {
        return Ok(stored);
    }
    let holder_now = if r.state == State::InFlight {
        format!(" claimed by {}", r.owner)
    } else {
        String::new()
    };
    Err(Error::invalid(format!(
        "order {order_id} is {}{holder_now}: {} holds no claim on it (claim {})",
        r.state, holder.owner, holder.claim_id
    )))
}

/// The record is `holder`'s claim: its owner and claim id.
pub(crate) fn holds(r: &PaymentRecord, holder: &Holder) -> bool {
    r.owner == holder.owner && r.claim_id.as_deref() == Some(holder.claim_id.as_str())
}

/// How much of its lease a fence asks to be left: [`FENCE_MARGIN`], or a quarter of the lease
/// when that is less.
pub(crate) fn fence_margin_ms(lease_ms: i64) -> i64 {
    i64::try_from(FENCE_MARGIN.as_millis())
        .unwrap_or(i64::MAX)
        .min(lease_ms / 4)
}

/// The row, if `holder`'s claim is `in_flight` with at least the margin of its lease left;
/// otherwise why the request must not be sent.
fn fenced(
    order_id: &str,
    existing: Option<Stored>,
    holder: &Holder,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Stored> {
    let lost = |why: String| {
        Err(Error::new(
            ErrorCode::Journal,
            format!(
                "order {order_id}: the journal no longer holds this payment's claim ({why}); \
                 nothing was sent"
            ),
        ))
    };
    let Some(stored) = existing else {
        return lost("the order has no record".into());
    };
    let r = &stored.record;
    let now = from_millis(now_ms);
    if r.state == State::InFlight && stored.claim_open && holds(r, holder) {
        let margin_ms = fence_margin_ms(lease_ms);
        let left = r.lease_until.map_or(i64::MIN, |until| {
            super::to_millis(until).saturating_sub(now_ms)
        });
        if left >= margin_ms {
            return Ok(stored);
        }
        return lost(format!(
            "its lease has {left} ms left, under the {margin_ms} ms margin"
        ));
    }
    if r.state == State::InFlight && !r.lease_expired_at(now) {
        return Err(Error::new(
            ErrorCode::PaymentInProgress,
            format!(
                "a payment of order {order_id} is under way by {} (claimed until {}); nothing was \
                 sent by this call",
                r.owner,
                r.lease_until.map(format_time).unwrap_or_default()
            ),
        ));
    }
    lost(format!("the order is {} now", r.state))
}

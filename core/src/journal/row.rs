//! A record as the SQL stores keep it: one row per (gateway, app key, order id).

use serde_json::Value;

use super::history::{history_from_value, history_to_text};
use super::{Owner, PaymentRecord, Scope, State, Stored, from_millis, to_millis};
use crate::error::{Error, ErrorCode, Result};

/// Columns shared by the SQL stores (the public record, then `claim_open` and `prev`).
pub(crate) const COLUMNS: &str = "gateway, app_key, order_id, claim_id, state, attempts, \
     trace_ids, pay_channel, error_code, message, data, owner_host, owner_pid, owner_client_id, \
     lease_until, created_at, updated_at, history, claim_open, prev";

/// How many columns [`COLUMNS`] names.
pub(crate) const COLUMN_COUNT: usize = 20;

/// References to a [`RowValues`]' fields in [`COLUMNS`] order, `attempts` given apart (each
/// driver binds it as its own integer type): the statement parameters of a whole row, as an
/// array of the driver's `ToSql` references that the caller's binding names.
macro_rules! row_params {
    ($v:expr, $attempts:expr) => {
        [
            &$v.gateway,
            &$v.app_key,
            &$v.order_id,
            &$v.claim_id,
            &$v.state,
            $attempts,
            &$v.trace_ids,
            &$v.pay_channel,
            &$v.error_code,
            &$v.message,
            &$v.data,
            &$v.owner_host,
            &$v.owner_pid,
            &$v.owner_client_id,
            &$v.lease_until,
            &$v.created_at,
            &$v.updated_at,
            &$v.history,
            &$v.claim_open,
            &$v.prev,
        ]
    };
}
pub(crate) use row_params;

/// Text a SQL column can hold: a gateway's words may carry a NUL, which PostgreSQL refuses
/// (an outcome must never fail to be recorded for it).
fn storable(text: &str) -> String {
    text.replace('\0', "\u{FFFD}")
}

/// The values of a SQL row in [`COLUMNS`] order, decoded from the stores' column types.
pub(crate) struct RowValues {
    pub gateway: String,
    pub app_key: String,
    pub order_id: String,
    pub claim_id: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub trace_ids: String,
    pub pay_channel: Option<String>,
    pub error_code: Option<String>,
    pub message: Option<String>,
    pub data: Option<String>,
    pub owner_host: String,
    pub owner_pid: i64,
    pub owner_client_id: String,
    pub lease_until: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub history: String,
    pub claim_open: bool,
    pub prev: Option<String>,
}

impl RowValues {
    pub fn into_stored(self) -> Result<Stored> {
        let corrupt = |what: &str| {
            Error::new(
                ErrorCode::Journal,
                format!("journal: order {}: unreadable {what}", self.order_id),
            )
        };
        let trace_ids: Vec<String> =
            serde_json::from_str(&self.trace_ids).map_err(|_| corrupt("trace_ids"))?;
        let data = match &self.data {
            Some(text) => Some(serde_json::from_str(text).map_err(|_| corrupt("data"))?),
            None => None,
        };
        let history = serde_json::from_str::<Value>(&self.history)
            .ok()
            .and_then(|v| history_from_value(&v))
            .ok_or_else(|| corrupt("history"))?;
        let record = PaymentRecord {
            scope: Scope {
                gateway: self.gateway.clone(),
                app_key: self.app_key.clone(),
            },
            claim_id: self.claim_id.clone(),
            state: State::parse(&self.state).map_err(|_| corrupt("state"))?,
            attempts: u32::try_from(self.attempts).map_err(|_| corrupt("attempts"))?,
            trace_ids,
            pay_channel: self.pay_channel.clone(),
            error_code: self.error_code.clone(),
            message: self.message.clone(),
            data,
            owner: Owner {
                host: self.owner_host.clone(),
                pid: u32::try_from(self.owner_pid).map_err(|_| corrupt("owner_pid"))?,
                client_id: self.owner_client_id.clone(),
            },
            lease_until: self.lease_until.map(from_millis),
            created_at: from_millis(self.created_at),
            updated_at: from_millis(self.updated_at),
            history,
            order_id: self.order_id.clone(),
        };
        Ok(Stored {
            record,
            claim_open: self.claim_open,
            prev: Stored::parse_prev(self.prev.as_deref())?,
        })
    }

    pub fn from_stored(stored: &Stored) -> RowValues {
        let r = &stored.record;
        RowValues {
            gateway: r.scope.gateway.clone(),
            app_key: r.scope.app_key.clone(),
            order_id: r.order_id.clone(),
            claim_id: r.claim_id.clone(),
            state: r.state.as_str().to_string(),
            attempts: i64::from(r.attempts),
            trace_ids: Value::from(r.trace_ids.clone()).to_string(),
            pay_channel: r.pay_channel.as_deref().map(storable),
            error_code: r.error_code.as_deref().map(storable),
            message: r.message.as_deref().map(storable),
            data: r.data.as_ref().map(Value::to_string),
            owner_host: r.owner.host.clone(),
            owner_pid: i64::from(r.owner.pid),
            owner_client_id: r.owner.client_id.clone(),
            lease_until: r.lease_until.map(to_millis),
            created_at: to_millis(r.created_at),
            updated_at: to_millis(r.updated_at),
            history: history_to_text(&r.history),
            claim_open: stored.claim_open,
            prev: stored.prev_json(),
        }
    }
}

//! Reconciliation's history: every resolution of an order, appended, never overwritten
//! (JOURNAL.md "Reconciliation").

use std::time::SystemTime;

use serde_json::{Value, json};

use super::{Owner, State, format_time, parse_time};
use crate::error::{Error, Result};

/// The longest note a resolution takes, in bytes of UTF-8.
pub const MAX_NOTE_BYTES: usize = 4096;

/// Who resolved an order: the machine, the process and, where known, the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolver {
    /// The host name.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The user name (`$USER`, `$LOGNAME` or `$USERNAME`), when the environment says.
    pub user: Option<String>,
}

impl Resolver {
    /// This process, as the resolver.
    pub fn this_process() -> Resolver {
        let owner = Owner::this_process();
        let user = ["USER", "LOGNAME", "USERNAME"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|u| !u.trim().is_empty()));
        Resolver {
            host: owner.host,
            pid: owner.pid,
            user,
        }
    }

    fn to_json(&self) -> Value {
        json!({"host": self.host, "pid": self.pid, "user": self.user})
    }

    fn from_json(value: &Value) -> Option<Resolver> {
        Some(Resolver {
            host: value.get("host")?.as_str()?.to_string(),
            pid: u32::try_from(value.get("pid")?.as_u64()?).ok()?,
            user: value
                .get("user")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    }
}

/// One resolution: who, when (by the store's clock), from which state to which, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolution {
    /// When it was recorded, by the store's clock.
    pub at: SystemTime,
    /// Who recorded it.
    pub by: Resolver,
    /// The state before (`None`: the journal had no record of the order).
    pub from: Option<State>,
    /// The state it set: `paid` or `not_paid`.
    pub to: State,
    /// What the person found (at most [`MAX_NOTE_BYTES`]).
    pub note: String,
}

impl Resolution {
    /// `{"at","by":{"host","pid","user"},"from","to","note"}`.
    pub fn to_json(&self) -> Value {
        json!({
            "at": format_time(self.at),
            "by": self.by.to_json(),
            "from": self.from.map(State::as_str),
            "to": self.to.as_str(),
            "note": self.note,
        })
    }

    pub(crate) fn from_json(value: &Value) -> Option<Resolution> {
        let from = match value.get("from") {
            None | Some(Value::Null) => None,
            Some(v) => Some(State::parse(v.as_str()?).ok()?),
        };
        Some(Resolution {
            at: parse_time(value.get("at")?.as_str()?)?,
            by: Resolver::from_json(value.get("by")?)?,
            from,
            to: State::parse(value.get("to")?.as_str()?).ok()?,
            note: value.get("note")?.as_str()?.to_string(),
        })
    }
}

/// The history as stored: a JSON array.
pub(crate) fn history_to_text(history: &[Resolution]) -> String {
    Value::from(history.iter().map(Resolution::to_json).collect::<Vec<_>>()).to_string()
}

/// The history read back; `None` when the text is not one.
pub(crate) fn history_from_value(value: &Value) -> Option<Vec<Resolution>> {
    value
        .as_array()?
        .iter()
        .map(Resolution::from_json)
        .collect()
}

/// A note must be at most [`MAX_NOTE_BYTES`] of UTF-8 without NUL: checked before any store
/// is touched.
pub(crate) fn validate_note(note: &str) -> Result<()> {
    if note.len() > MAX_NOTE_BYTES {
        return Err(Error::invalid(format!(
            "the note is {} bytes; a resolution's note is at most {MAX_NOTE_BYTES} bytes of UTF-8",
            note.len()
        )));
    }
    if note.contains('\0') {
        return Err(Error::invalid(
            "the note contains a NUL character, which a journal cannot store",
        ));
    }
    Ok(())
}

//! 1688 order ids: validation and the `orderIdList` wire formats.
//!
//! An order id is a decimal string of 1 to 19 digits that fits the upstream Java `Long`. It is
//! kept as text from end to end: 19-digit ids are beyond the exact range of a double.

use std::collections::HashSet;

use crate::error::{Error, Result};

/// Most ids the gateway takes in one payment-link request.
pub const MAX_IDS_PER_LINK: usize = 30;

/// The largest order id upstream 1688 can hold (`Long.MAX_VALUE`).
const MAX_ORDER_ID: u64 = i64::MAX as u64;

/// How `orderIdList` is written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OrderIdFormat {
    /// `[2257455039610311973,2257455039610311974]`: what every official client sends.
    #[default]
    JsonArray,
    /// `2257455039610311973,2257455039610311974`: the documented fallback.
    CommaSeparated,
}

impl OrderIdFormat {
    /// The option value naming this format: `"json_array"` or `"comma_separated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderIdFormat::JsonArray => "json_array",
            OrderIdFormat::CommaSeparated => "comma_separated",
        }
    }

    /// The format named `"json_array"` or `"comma_separated"`.
    pub fn parse(name: &str) -> Result<OrderIdFormat> {
        [OrderIdFormat::JsonArray, OrderIdFormat::CommaSeparated]
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                crate::Error::invalid(format!(
                    "the order id format must be \"json_array\" or \"comma_separated\", not {name:?}"
                ))
            })
    }

    pub(crate) fn render(self, ids: &[String]) -> String {
        let joined = ids.join(",");
        match self {
            OrderIdFormat::JsonArray => format!("[{joined}]"),
            OrderIdFormat::CommaSeparated => joined,
        }
    }
}

/// Checks one order id; `what` names it in the error (e.g. `orderIds[3]`).
pub fn validate_order_id(id: &str, what: &str) -> Result<()> {
    let problem = if id.is_empty() {
        Some("is empty".to_string())
    } else if id.trim() != id {
        Some("has surrounding whitespace".to_string())
    } else if !id.bytes().all(|b| b.is_ascii_digit()) {
        Some("must contain only the digits 0-9".to_string())
    } else if id.len() > 19 {
        Some(format!(
            "has {} digits; 1688 order ids have at most 19",
            id.len()
        ))
    } else if id.starts_with('0') {
        Some("must not start with 0".to_string())
    } else if id.parse::<u64>().map_or(true, |n| n > MAX_ORDER_ID) {
        Some(format!(
            "is larger than the largest 1688 order id ({MAX_ORDER_ID})"
        ))
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(problem) => Err(Error::invalid(format!(
            "{what} {} {problem}",
            quote_for_message(id)
        ))),
    }
}

/// Checks the ids of one payment-link request: 1 to 30 valid, distinct ids.
pub(crate) fn validate_link_ids<S: AsRef<str>>(ids: &[S]) -> Result<Vec<String>> {
    if ids.is_empty() {
        return Err(Error::invalid("orderIds is empty: give 1 to 30 order ids"));
    }
    if ids.len() > MAX_IDS_PER_LINK {
        return Err(Error::invalid(format!(
            "orderIds has {} ids; one payment link takes at most {MAX_IDS_PER_LINK} (use pay_urls for more)",
            ids.len()
        )));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    for (i, id) in ids.iter().enumerate() {
        let id = id.as_ref();
        validate_order_id(id, &format!("orderIds[{i}]"))?;
        if !seen.insert(id) {
            return Err(Error::invalid(format!(
                "orderIds[{i}] {id:?} is a duplicate; each order id may appear once"
            )));
        }
        out.push(id.to_string());
    }
    Ok(out)
}

/// Validates any number of ids and drops repeats, keeping first occurrences in order: the ids
/// of a batch (`pay_urls`, a batch of payments). Every bad id is named by its position in one
/// `invalid_argument` error, so that nothing is sent while any id is bad.
pub fn validate_and_dedup_order_ids<S: AsRef<str>>(ids: &[S]) -> Result<Vec<String>> {
    /// Bad ids named in one message; the rest are counted.
    const NAMED: usize = 10;
    if ids.is_empty() {
        return Err(Error::invalid(
            "orderIds is empty: give at least one order id",
        ));
    }
    let mut seen = HashSet::with_capacity(ids.len());
    let mut out = Vec::with_capacity(ids.len());
    let mut problems = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let id = id.as_ref();
        match validate_order_id(id, &format!("orderIds[{i}]")) {
            Err(e) => problems.push(e.message().to_string()),
            Ok(()) if seen.insert(id) => out.push(id.to_string()),
            Ok(()) => {}
        }
    }
    match problems.len() {
        0 => Ok(out),
        1 => Err(Error::invalid(problems.remove(0))),
        n => {
            let more = n.saturating_sub(NAMED);
            let mut message = format!("{n} order ids are not valid: ");
            message.push_str(&problems[..n.min(NAMED)].join("; "));
            if more > 0 {
                message.push_str(&format!("; and {more} more"));
            }
            Err(Error::invalid(message))
        }
    }
}

/// Shows a bad value in an error without flooding it: long inputs are cut.
fn quote_for_message(value: &str) -> String {
    const LIMIT: usize = 40;
    if value.chars().count() <= LIMIT {
        format!("{value:?}")
    } else {
        let head: String = value.chars().take(LIMIT).collect();
        format!("{head:?}... ({} bytes)", value.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(id: &str) -> String {
        validate_order_id(id, "orderId")
            .unwrap_err()
            .message()
            .to_string()
    }

    #[test]
    fn accepts_real_ids() {
        validate_order_id("2257455039610311973", "orderId").unwrap();
        validate_order_id("9223372036854775807", "orderId").unwrap();
        validate_order_id("1", "orderId").unwrap();
    }

    #[test]
    fn rejects_each_bad_shape_with_its_reason() {
        assert!(err("").contains("is empty"));
        assert!(err(" 123").contains("whitespace"));
        assert!(err("12a").contains("only the digits"));
        assert!(err("-1").contains("only the digits"));
        assert!(err("12345678901234567890").contains("20 digits"));
        assert!(err("0123").contains("start with 0"));
        assert!(err("9223372036854775808").contains("larger than"));
        assert!(err(&"7".repeat(5000)).contains("(5000 bytes)"));
    }

    #[test]
    fn link_ids_limits_and_duplicates() {
        assert!(validate_link_ids::<&str>(&[]).is_err());
        let many: Vec<String> = (1..=31).map(|n| n.to_string()).collect();
        assert!(
            validate_link_ids(&many)
                .unwrap_err()
                .message()
                .contains("31 ids")
        );
        let e = validate_link_ids(&["1", "2", "1"]).unwrap_err();
        assert!(e.message().contains("orderIds[2]"), "{}", e.message());
    }

    #[test]
    fn dedup_keeps_first_occurrence_order() {
        assert_eq!(
            validate_and_dedup_order_ids(&["3", "1", "3", "2", "1"]).unwrap(),
            ["3", "1", "2"]
        );
    }

    #[test]
    fn formats() {
        let ids = vec!["1".to_string(), "22".to_string()];
        assert_eq!(OrderIdFormat::JsonArray.render(&ids), "[1,22]");
        assert_eq!(OrderIdFormat::CommaSeparated.render(&ids), "1,22");
    }
}

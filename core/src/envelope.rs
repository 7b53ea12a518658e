//! The gateway's response envelope, parsed leniently.
//!
//! `{"code":200,"message":"操作成功","data":{...},"timestamp":...,"traceId":"..."}`. Numbers and
//! booleans sometimes arrive as strings, fields may be missing or extra: nothing here panics,
//! and unknown fields stay available in `data`.

use serde_json::Value;

/// The envelope `code` of a successful call.
pub(crate) const CODE_OK: i64 = 200;
/// The envelope `code` the sandbox (and HTTP) use for the call-frequency limit.
pub(crate) const CODE_RATE_LIMITED: i64 = 429;

#[derive(Debug)]
pub(crate) struct Envelope {
    pub code: i64,
    pub message: Option<String>,
    pub data: Value,
    pub trace_id: Option<String>,
}

impl Envelope {
    /// A body that is a JSON object with a numeric `code` is an envelope; anything else is not.
    pub fn parse(body: &[u8]) -> Result<Envelope, String> {
        let value: Value =
            serde_json::from_slice(body).map_err(|e| format!("body is not JSON: {e}"))?;
        let Value::Object(mut map) = value else {
            return Err("body is not a JSON object".to_string());
        };
        let code = map
            .get("code")
            .and_then(lenient_i64)
            .ok_or("body has no numeric \"code\" field")?;
        Ok(Envelope {
            code,
            message: map.get("message").and_then(lenient_string),
            trace_id: map.get("traceId").and_then(lenient_string),
            data: map.remove("data").unwrap_or(Value::Null),
        })
    }

    /// Whether the gateway says the app exceeded its call frequency: by its code, or by a
    /// message about call frequency only when the code is not a 5xx (API.md: a 5xx on a payment
    /// is always "unknown", whatever its message says).
    pub fn is_rate_limited(&self) -> bool {
        self.code == CODE_RATE_LIMITED
            || (!is_server_error_code(self.code)
                && self.message.as_deref().is_some_and(mentions_rate_limit))
    }

    pub fn message_or_default(&self) -> &str {
        self.message.as_deref().unwrap_or("(no message)")
    }
}

/// Whether an envelope `code` is a 5xx: an upstream or server error reported by the gateway.
pub(crate) fn is_server_error_code(code: i64) -> bool {
    (500..600).contains(&code)
}

fn mentions_rate_limit(message: &str) -> bool {
    let lower = message.to_ascii_lowercase();
    [
        "频率",
        "限流",
        "frequency",
        "rate limit",
        "too many requests",
    ]
    .iter()
    .any(|needle| lower.contains(needle))
}

/// `true`, `"true"`, `1` and `"1"` are true; their opposites false; anything else unknown.
pub(crate) fn lenient_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_i64().and_then(|n| match n {
            1 => Some(true),
            0 => Some(false),
            _ => None,
        }),
        _ => None,
    }
}

pub(crate) fn lenient_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Strings as they are, numbers as text, anything else (null included) as absent.
pub(crate) fn lenient_string(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A field of `data` by name, `Null` when `data` is not an object or lacks it.
pub(crate) fn field<'a>(data: &'a Value, name: &str) -> &'a Value {
    data.get(name).unwrap_or(&Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_documented_example() {
        let body = br#"{"code":200,"message":"ok","data":{"payUrl":"u","success":true},"timestamp":1,"traceId":"bb03"}"#;
        let e = Envelope::parse(body).unwrap();
        assert_eq!(e.code, 200);
        assert_eq!(e.trace_id.as_deref(), Some("bb03"));
        assert_eq!(e.data["payUrl"], "u");
    }

    #[test]
    fn tolerates_strings_for_numbers_and_booleans() {
        let e = Envelope::parse(br#"{"code":"200","data":{"success":"true"}}"#).unwrap();
        assert_eq!(e.code, 200);
        assert_eq!(lenient_bool(field(&e.data, "success")), Some(true));
        assert_eq!(lenient_bool(&json!("FALSE")), Some(false));
        assert_eq!(lenient_bool(&json!("maybe")), None);
        assert_eq!(lenient_bool(&json!(null)), None);
    }

    #[test]
    fn rejects_non_envelopes() {
        assert!(Envelope::parse(b"<html>").is_err());
        assert!(Envelope::parse(b"[1]").is_err());
        assert!(Envelope::parse(br#"{"message":"x"}"#).is_err());
        assert!(Envelope::parse(br#"{"code":{}}"#).is_err());
    }

    #[test]
    fn recognises_rate_limits() {
        let by_code = Envelope::parse(br#"{"code":429}"#).unwrap();
        assert!(by_code.is_rate_limited());
        let by_text =
            Envelope::parse("{\"code\":400,\"message\":\"调用频率超限\"}".as_bytes()).unwrap();
        assert!(by_text.is_rate_limited());
        let other = Envelope::parse(br#"{"code":401,"message":"sign error"}"#).unwrap();
        assert!(!other.is_rate_limited());
    }

    #[test]
    fn a_5xx_code_with_a_frequency_message_is_not_a_rate_limit() {
        for code in [500, 502, 503, 599] {
            for message in ["调用频率超限", "App call frequency exceeded", "rate limit"] {
                let body = serde_json::json!({"code": code, "message": message}).to_string();
                let env = Envelope::parse(body.as_bytes()).unwrap();
                assert!(!env.is_rate_limited(), "{body}");
            }
        }
        let not_5xx = Envelope::parse(br#"{"code":600,"message":"rate limit"}"#).unwrap();
        assert!(not_5xx.is_rate_limited());
    }
}

//! The gateway's signature: uppercase hex MD5 of `k1=v1&k2=v2...&secret=<appSecret>`.
//!
//! Parameters are the query (GET) or the top-level fields of the JSON body (POST). `sign` and
//! top-level nulls are dropped, keys are sorted by byte order, values are written raw (not
//! percent-encoded): strings as they are, arrays and objects as compact JSON in the order given,
//! booleans as `true`/`false`, numbers in decimal.

use std::borrow::Cow;

use md5::{Digest, Md5};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Request parameters: top-level names to JSON values, in insertion order.
pub type Params = Map<String, Value>;

/// The parameter that carries the signature; never part of what is signed.
pub const SIGN_PARAM: &str = "sign";

/// How a value is written in the canonical string and, for GET, in the query.
/// `None` for null: the parameter is left out. Strings are borrowed, not copied.
pub(crate) fn render_value(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        // Compact JSON: exactly the bytes serde_json puts on the wire.
        other => Some(Cow::Owned(other.to_string())),
    }
}

/// The canonical string without the secret: sorted `key=value` pairs joined with `&`.
pub fn canonical_string(params: &Params) -> String {
    let mut pairs: Vec<(&str, Cow<'_, str>)> = params
        .iter()
        .filter(|(key, _)| key.as_str() != SIGN_PARAM)
        .filter_map(|(key, value)| render_value(value).map(|v| (key.as_str(), v)))
        .collect();
    pairs.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let len = pairs.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
    let mut out = String::with_capacity(len);
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(key);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// The string that is hashed, with the secret replaced by `***`: what to compare when the
/// gateway answers "签名错误" (bad signature).
pub fn signing_string_masked(params: &Params) -> String {
    with_secret(canonical_string(params), "***")
}

/// The signature of `params` under `secret`: 32 uppercase hex digits.
pub fn sign(params: &Params, secret: &str) -> String {
    let signed = with_secret(canonical_string(params), secret);
    upper_hex(&Md5::digest(signed.as_bytes()))
}

/// Parses JSON text into parameters; anything but a JSON object is an `invalid_argument`.
pub fn parse_params(json: &str) -> Result<Params> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(Error::invalid(format!(
            "params must be a JSON object, got {}",
            json_kind(&other)
        ))),
        Err(e) => Err(Error::invalid(format!("params are not valid JSON: {e}"))),
    }
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn with_secret(mut canonical: String, secret: &str) -> String {
    canonical.push_str("&secret=");
    canonical.push_str(secret);
    canonical
}

fn upper_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn api_md_example() {
        let p = params(json!({"orderIdList": "[1,2]", "appKey": "K"}));
        assert_eq!(canonical_string(&p), "appKey=K&orderIdList=[1,2]");
        // hashlib.md5(b"appKey=K&orderIdList=[1,2]&secret=S").hexdigest().upper()
        assert_eq!(sign(&p, "S"), "5929626A5613B8EC0C20DB72C3277CCF");
    }

    #[test]
    fn drops_sign_and_nulls_keeps_empty_strings() {
        let p = params(json!({"b": null, "sign": "X", "a": "", "c": [null]}));
        assert_eq!(canonical_string(&p), "a=&c=[null]");
    }

    #[test]
    fn masked_string_hides_secret() {
        let p = params(json!({"appKey": "K"}));
        assert_eq!(signing_string_masked(&p), "appKey=K&secret=***");
    }

    #[test]
    fn parse_params_rejects_non_objects() {
        assert!(
            parse_params("[1]")
                .unwrap_err()
                .message()
                .contains("an array")
        );
        assert!(parse_params("{").is_err());
        assert_eq!(parse_params(r#"{"a":1}"#).unwrap().len(), 1);
    }
}

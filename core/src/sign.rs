//! The gateway's signature: uppercase hex MD5 of `k1=v1&k2=v2...&secret=<appSecret>`.
//!
//! Parameters are the query (GET) or the top-level fields of the JSON body (POST). `sign` and
//! top-level nulls are dropped, keys are sorted by byte order, values are written raw (not
//! percent-encoded): strings as they are, arrays and objects as compact JSON in the order given,
//! booleans as `true`/`false`, numbers by the rule below.
//!
//! # Numbers: one rendering, for signing and for sending, in every language
//!
//! A number is written the same way in the canonical string, in the query and in the body (top
//! level or nested), whichever language passed it:
//!
//! - an **integer** (a JSON number without fraction or exponent, a Python `int`, a JavaScript
//!   `BigInt` or safe integer, a Rust integer) is written in decimal with all its digits, of any
//!   size; `-0` is `0`;
//! - a **float** (a number with a fraction or an exponent, a Python `float`, a JavaScript number
//!   that is not whole) is written as JavaScript's `Number.prototype.toString` writes the nearest
//!   double: the shortest digits that read back as the same double; a whole value below 10^21 as
//!   an integer (`1.0` is `1`, `-0.0` is `0`, `1e20` is `100000000000000000000`), so that Node,
//!   which cannot tell `1.0` from `1`, agrees; plain decimals for 10^-6 <= |x| < 10^21
//!   (`0.000001`, `0.5`, `123.25`); below and above that, one digit, a fraction if needed, `e`, a
//!   sign and the exponent (`1e-7`, `1.5e-10`, `1e+21`, `1.2345678901234568e+22`).
//!
//! A float beyond the range of a double (`1e400`), NaN or an infinity cannot be signed: it is an
//! `invalid_argument` before anything is sent. README.md states the same rule; the shared vectors
//! (tests/vectors/sign.json, written by an independent Python generator) hold examples.

use std::borrow::Cow;
use std::io;

use md5::{Digest, Md5};
use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, Serializer};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Request parameters: top-level names to JSON values, in insertion order.
pub type Params = Map<String, Value>;

/// The parameter that carries the signature; never part of what is signed.
pub const SIGN_PARAM: &str = "sign";

/// How a number is written by the rule in the module docs, from its JSON text; `None` for a
/// float beyond the range of a double, which cannot be signed.
pub(crate) fn canonical_number(text: &str) -> Option<Cow<'_, str>> {
    if !text.contains(['.', 'e', 'E']) {
        return Some(Cow::Borrowed(if text == "-0" { "0" } else { text }));
    }
    let float: f64 = text.parse().ok().filter(|f: &f64| f.is_finite())?;
    Some(Cow::Owned(float_to_string(float)))
}

/// A finite double as JavaScript's `Number.prototype.toString` writes it (ECMA-262,
/// Number::toString with radix 10).
fn float_to_string(x: f64) -> String {
    if x == 0.0 {
        return "0".to_string();
    }
    // The shortest digits that read back as `x`, the closest of them, ties to even (as
    // ECMA-262 asks), in whatever layout zmij chooses (`0.00001`, `1.5e+21`, `123.25`).
    let mut buffer = zmij::Buffer::new();
    let shortest = buffer.format_finite(x.abs());
    let (mantissa, exponent) = match shortest.split_once(['e', 'E']) {
        Some((mantissa, exponent)) => (mantissa, exponent.parse::<i32>().unwrap_or(0)),
        None => (shortest, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all = format!("{whole}{fraction}");
    let significant = all.trim_start_matches('0');
    let digits = significant.trim_end_matches('0');
    // x = digits * 10^point = 0.d1d2...dk * 10^n
    let point = exponent - fraction.len() as i32 + (significant.len() - digits.len()) as i32;
    let k = digits.len() as i32;
    let n = k + point;
    let mut out = String::with_capacity(k.unsigned_abs() as usize + 24);
    if x < 0.0 {
        out.push('-');
    }
    if k <= n && n <= 21 {
        out.push_str(digits);
        out.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        out.push_str(&digits[..n as usize]);
        out.push('.');
        out.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-n) as usize));
        out.push_str(digits);
    } else {
        out.push_str(&digits[..1]);
        if k > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if n > 0 { '+' } else { '-' });
        out.push_str(&(n - 1).unsigned_abs().to_string());
    }
    out
}

/// Compact JSON, as serde_json writes it, with numbers by the rule; remembers the first number
/// it could not write by the rule (and wrote as given).
struct CanonicalNumbers<'a> {
    unsignable: &'a mut Option<String>,
}

impl Formatter for CanonicalNumbers<'_> {
    fn write_number_str<W: ?Sized + io::Write>(&mut self, w: &mut W, text: &str) -> io::Result<()> {
        match canonical_number(text) {
            Some(shown) => w.write_all(shown.as_bytes()),
            None => {
                self.unsignable.get_or_insert_with(|| text.to_string());
                CompactFormatter.write_number_str(w, text)
            }
        }
    }
}

/// `value` as compact JSON with numbers by the rule, and the first number that cannot be signed.
fn json_text(value: &Value) -> (String, Option<String>) {
    let mut bytes = Vec::new();
    let mut unsignable = None;
    let formatter = CanonicalNumbers {
        unsignable: &mut unsignable,
    };
    // Writing a Value to memory cannot fail: its keys are strings.
    let _ = value.serialize(&mut Serializer::with_formatter(&mut bytes, formatter));
    (String::from_utf8(bytes).unwrap_or_default(), unsignable)
}

/// The JSON body of a POST: the parameters as compact JSON, numbers by the rule, so that the
/// bytes sent are the ones signed.
pub(crate) fn body_json(params: &Params) -> Vec<u8> {
    let (text, _) = json_text(&Value::Object(params.clone()));
    text.into_bytes()
}

/// An `invalid_argument` naming the first parameter holding a number that cannot be signed
/// (`1e400`: beyond the range of a double).
pub(crate) fn check_numbers(params: &Params) -> Result<()> {
    for (key, value) in params {
        if let (_, Some(number)) = json_text(value) {
            return Err(unsignable(key, &number));
        }
    }
    Ok(())
}

fn unsignable(key: &str, number: &str) -> Error {
    Error::invalid(format!(
        "parameter {key:?} holds the number {number}, beyond the range of a double: it cannot \
         be signed (pass it as a string)"
    ))
}

/// How a value is written in the canonical string and, for GET, in the query.
/// `None` for null: the parameter is left out. Strings are borrowed, not copied.
pub(crate) fn render_value(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        // A number that cannot be signed is written as given; sending refuses it first.
        Value::Number(n) => Some(canonical_number(n.as_str()).unwrap_or(Cow::Borrowed(n.as_str()))),
        // Compact JSON: exactly the bytes put on the wire.
        other => Some(Cow::Owned(json_text(other).0)),
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

/// Parses JSON text into parameters; anything but a JSON object is an `invalid_argument`, and so
/// is a number that cannot be signed (`1e400`). Integers keep all their digits.
pub fn parse_params(json: &str) -> Result<Params> {
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(map)) => {
            check_numbers(&map)?;
            Ok(map)
        }
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
    fn floats_are_written_as_javascript_writes_them() {
        // What `String(x)` gives in JavaScript, for the double each text reads as.
        let cases = [
            ("1.0", "1"),
            ("-0.0", "0"),
            ("-0", "0"),
            ("0.0", "0"),
            ("1e0", "1"),
            ("0.1", "0.1"),
            ("0.30000000000000004", "0.30000000000000004"),
            ("1.5", "1.5"),
            ("-2.75", "-2.75"),
            ("123.456", "123.456"),
            ("0.000001", "0.000001"),
            ("1e-05", "0.00001"),
            ("1.5e-6", "0.0000015"),
            ("1e-7", "1e-7"),
            ("1.5e-10", "1.5e-10"),
            ("5e-324", "5e-324"),
            ("1e20", "100000000000000000000"),
            ("123456789012345680000.0", "123456789012345680000"),
            ("1e21", "1e+21"),
            ("1.5e300", "1.5e+300"),
            ("-1.7976931348623157e308", "-1.7976931348623157e+308"),
            ("12345678901234567890123.0", "1.2345678901234568e+22"),
            ("9007199254740993.0", "9007199254740992"),
            ("0.1000000000000000000001", "0.1"),
            ("1E2", "100"),
            // Halfway between two shortest candidates: the even one, as JavaScript picks.
            ("1379387335265123.25", "1379387335265123.2"),
            ("-1379387335265123.25", "-1379387335265123.2"),
            ("1379387335265123.75", "1379387335265123.8"),
        ];
        for (text, expected) in cases {
            assert_eq!(canonical_number(text).as_deref(), Some(expected), "{text}");
        }
        // Integers keep every digit.
        for text in [
            "0",
            "-5",
            "12345678901234567890123",
            "-98765432109876543210987654321",
        ] {
            assert_eq!(canonical_number(text).as_deref(), Some(text));
        }
        for text in ["1e400", "-1e400", "1.8e308"] {
            assert_eq!(canonical_number(text), None, "{text}");
        }
    }

    #[test]
    fn numbers_are_written_by_the_rule_at_every_depth() {
        let p = parse_params(
            r#"{"a":1.0,"b":[1.0,1e-7,{"c":-0.0,"d":12345678901234567890123}],"e":1e21}"#,
        )
        .unwrap();
        assert_eq!(
            canonical_string(&p),
            r#"a=1&b=[1,1e-7,{"c":0,"d":12345678901234567890123}]&e=1e+21"#
        );
        let e = parse_params(r#"{"ok":1,"x":{"y":[1e400]}}"#).unwrap_err();
        assert!(e.message().contains("\"x\" holds the number 1e+400"), "{e}");
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

//! The gateway's response envelope, parsed leniently and losslessly.
//!
//! `{"code":200,"message":"操作成功","data":{...},"timestamp":...,"traceId":"..."}`. Numbers and
//! booleans sometimes arrive as strings, fields may be missing or extra: nothing here panics,
//! and unknown fields stay available in `data`.
//!
//! The body is read by [`parse_json`], which accepts what the gateway's JSON and Python's `json`
//! accept, not only what `serde_json` does:
//!
//! - a lone surrogate escape (`"\ud83d"`) becomes U+FFFD instead of failing the whole answer
//!   (a paired `"\ud83d\ude00"` is the character it encodes); bytes that are not UTF-8 inside a
//!   string become U+FFFD too;
//! - numbers keep their exact text (serde_json's `arbitrary_precision`): a 22-digit integer stays
//!   those 22 digits, `1e400` stays `1e400` instead of being an error. Only JSON's number grammar
//!   is read: `NaN` and `Infinity` (which Python's `json` also takes) make a body unreadable, so
//!   that every number kept is one any JSON reader, serde_json's included, can read again;
//! - a UTF-8 byte order mark before the JSON is skipped; control characters inside strings are
//!   kept.
//!
//! When the body is not a readable envelope, [`NotEnvelope`] still carries the top-level
//! `traceId` and `code` if they can be found in it (a truncated body, a broken `data`).

use serde_json::{Map, Number, Value};

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

/// A body that is not a usable envelope: why, and the top-level `code` and `traceId` when they
/// could be found anyway.
#[derive(Debug)]
pub(crate) struct NotEnvelope {
    pub why: String,
    pub code: Option<i64>,
    pub trace_id: Option<String>,
}

impl Envelope {
    /// A body that is a JSON object with a numeric `code` is an envelope; anything else is not.
    pub fn parse(body: &[u8]) -> Result<Envelope, NotEnvelope> {
        let value = match parse_json(body) {
            Ok(value) => value,
            Err(e) => {
                let found = scan_top_level(body);
                return Err(NotEnvelope {
                    why: format!("body is not JSON: {e}"),
                    code: found.code,
                    trace_id: found.trace_id,
                });
            }
        };
        let Value::Object(mut map) = value else {
            return Err(NotEnvelope {
                why: "body is not a JSON object".to_string(),
                code: None,
                trace_id: None,
            });
        };
        let trace_id = map.get("traceId").and_then(lenient_string);
        let Some(code) = map.get("code").and_then(lenient_i64) else {
            return Err(NotEnvelope {
                why: "body has no numeric \"code\" field".to_string(),
                code: None,
                trace_id,
            });
        };
        Ok(Envelope {
            code,
            message: map.get("message").and_then(lenient_string),
            trace_id,
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

/// Deepest nesting [`parse_json`] reads (serde_json's limit too): deeper is an error, never a
/// stack overflow.
const MAX_DEPTH: usize = 128;

const BYTE_ORDER_MARK: &[u8] = b"\xEF\xBB\xBF";

/// Parses JSON text leniently and losslessly (see the module docs); the error says what is
/// wrong and at which byte.
pub(crate) fn parse_json(text: &[u8]) -> Result<Value, String> {
    let mut p = Parser::new(text);
    let value = p.value(0)?;
    p.skip_whitespace();
    if p.pos < text.len() {
        return Err(p.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

/// A number with exactly this text. Only ever given a token [`Parser::number`] checked against
/// JSON's number grammar, so serde_json reads its text again (`to_value`, `json!`).
fn number_from_text(text: &str) -> Number {
    Number::from_string_unchecked(text.to_string())
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the first value: after a byte order mark and whitespace.
    fn new(text: &'a [u8]) -> Self {
        let pos = if text.starts_with(BYTE_ORDER_MARK) {
            BYTE_ORDER_MARK.len()
        } else {
            0
        };
        let mut p = Parser { text, pos };
        p.skip_whitespace();
        p
    }

    fn error(&self, what: &str) -> String {
        format!("{what} at byte {}", self.pos)
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn eat(&mut self, literal: &[u8]) -> bool {
        let found = self
            .text
            .get(self.pos..)
            .is_some_and(|rest| rest.starts_with(literal));
        if found {
            self.pos += literal.len();
        }
        found
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth >= MAX_DEPTH {
            return Err(self.error(&format!("nested more than {MAX_DEPTH} levels deep")));
        }
        match self.peek() {
            None => Err(self.error("unexpected end of the body")),
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => self.string().map(Value::String),
            Some(b'-' | b'0'..=b'9') => self.number().map(Value::Number),
            _ if self.eat(b"true") => Ok(Value::Bool(true)),
            _ if self.eat(b"false") => Ok(Value::Bool(false)),
            _ if self.eat(b"null") => Ok(Value::Null),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut map = Map::new();
        self.skip_whitespace();
        if self.eat(b"}") {
            return Ok(Value::Object(map));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key = self.string()?;
            self.skip_whitespace();
            if !self.eat(b":") {
                return Err(self.error("expected ':' after a key"));
            }
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            // A repeated key keeps its first place and its last value, as Python's json does.
            map.insert(key, value);
            self.skip_whitespace();
            if self.eat(b"}") {
                return Ok(Value::Object(map));
            }
            if !self.eat(b",") {
                return Err(self.error("expected ',' or '}' in an object"));
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.eat(b"]") {
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            if self.eat(b"]") {
                return Ok(Value::Array(items));
            }
            if !self.eat(b",") {
                return Err(self.error("expected ',' or ']' in an array"));
            }
        }
    }

    /// A string starting at its opening quote.
    fn string(&mut self) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            let start = self.pos;
            while self.peek().is_some_and(|b| b != b'"' && b != b'\\') {
                self.pos += 1;
            }
            // Runs end at ASCII bytes, so they never split a UTF-8 sequence.
            push_lossy(&mut out, &self.text[start..self.pos]);
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(_) => {
                    self.pos += 1;
                    let escaped = self.peek();
                    self.pos += 1;
                    match escaped {
                        Some(b'"') => out.push('"'),
                        Some(b'\\') => out.push('\\'),
                        Some(b'/') => out.push('/'),
                        Some(b'b') => out.push('\u{8}'),
                        Some(b'f') => out.push('\u{c}'),
                        Some(b'n') => out.push('\n'),
                        Some(b'r') => out.push('\r'),
                        Some(b't') => out.push('\t'),
                        Some(b'u') => out.push(self.unicode_escape()?),
                        _ => {
                            self.pos -= 1;
                            return Err(self.error("invalid escape in a string"));
                        }
                    }
                }
            }
        }
    }

    /// The character of a `\uXXXX` escape (after the `\u`): a surrogate pair is the character
    /// it encodes, a lone surrogate U+FFFD.
    fn unicode_escape(&mut self) -> Result<char, String> {
        let first = self
            .hex4()
            .ok_or_else(|| self.error("invalid \\u escape"))?;
        let code = match first {
            0xD800..=0xDBFF => {
                let before = self.pos;
                if self.eat(b"\\u")
                    && let Some(low @ 0xDC00..=0xDFFF) = self.hex4()
                {
                    0x10000 + ((u32::from(first) - 0xD800) << 10) + (u32::from(low) - 0xDC00)
                } else {
                    // Not a low surrogate: whatever follows is read on its own.
                    self.pos = before;
                    0xFFFD
                }
            }
            other => u32::from(other),
        };
        // Lone low surrogates are not characters either.
        Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn hex4(&mut self) -> Option<u16> {
        let digits = self.text.get(self.pos..self.pos + 4)?;
        if !digits.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let value = u16::from_str_radix(std::str::from_utf8(digits).ok()?, 16).ok()?;
        self.pos += 4;
        Some(value)
    }

    /// A number token, kept as its text (JSON's grammar).
    fn number(&mut self) -> Result<Number, String> {
        let start = self.pos;
        self.eat(b"-");
        if !self.eat(b"0") && !self.digits() {
            return Err(self.error("invalid number"));
        }
        if self.eat(b".") && !self.digits() {
            return Err(self.error("invalid number: no digit after '.'"));
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !self.digits() {
                return Err(self.error("invalid number: no digit in the exponent"));
            }
        }
        // Only ASCII digits, signs, '.' and 'e' were consumed.
        let text = String::from_utf8_lossy(&self.text[start..self.pos]);
        Ok(number_from_text(&text))
    }

    /// Consumes ASCII digits; whether there was one.
    fn digits(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Moves past a string (at its opening quote) whatever its escapes; `false` if it never
    /// ends.
    fn skip_string(&mut self) -> bool {
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return true,
                b'\\' => self.pos += 1,
                _ => {}
            }
        }
        false
    }
}

fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => out.push_str(&String::from_utf8_lossy(bytes)),
    }
}

/// What [`scan_top_level`] found.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct TopLevel {
    pub code: Option<i64>,
    pub trace_id: Option<String>,
}

/// The top-level `code` and `traceId` of a body that does not parse (cut short, or broken
/// somewhere inside): walks it tracking only strings and brackets, so that it gets past anything
/// broken in `data`, and reads the two members wherever they stand at the top level. A member
/// repeated keeps its last value, as in a body that parses.
pub(crate) fn scan_top_level(body: &[u8]) -> TopLevel {
    let mut found = TopLevel::default();
    let mut p = Parser::new(body);
    if !p.eat(b"{") {
        return found;
    }
    let mut depth = 1usize;
    while let Some(b) = p.peek() {
        match b {
            b'"' => {
                let start = p.pos;
                let key = match p.string() {
                    Ok(text) => text,
                    Err(_) => {
                        p.pos = start;
                        if p.skip_string() {
                            continue;
                        }
                        break;
                    }
                };
                p.skip_whitespace();
                if depth != 1 || !p.eat(b":") {
                    continue;
                }
                p.skip_whitespace();
                let value = match p.peek() {
                    Some(b'"') => {
                        let start = p.pos;
                        p.string().map(Value::String).map_err(|_| p.pos = start)
                    }
                    Some(b'-' | b'0'..=b'9') => p.number().map(Value::Number).map_err(|_| ()),
                    _ => Err(()),
                };
                let Ok(value) = value else { continue };
                match key.as_str() {
                    "code" => found.code = lenient_i64(&value).or(found.code),
                    "traceId" => found.trace_id = lenient_string(&value).or(found.trace_id),
                    _ => {}
                }
            }
            b'{' | b'[' => {
                depth += 1;
                p.pos += 1;
            }
            b'}' | b']' => {
                depth -= 1;
                p.pos += 1;
                if depth == 0 {
                    break;
                }
            }
            _ => p.pos += 1,
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Value {
        parse_json(text.as_bytes()).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn lone_surrogates_become_the_replacement_character() {
        assert_eq!(parsed(r#""\ud83d""#), json!("\u{FFFD}"));
        assert_eq!(parsed(r#""a\udc00b""#), json!("a\u{FFFD}b"));
        assert_eq!(parsed(r#""\ud83d\ude00""#), json!("😀"));
        // A high surrogate followed by an escape that is not a low surrogate: both read.
        assert_eq!(parsed(r#""\ud83d\n""#), json!("\u{FFFD}\n"));
        assert_eq!(parsed(r#""\ud83d\ud83d\ude00""#), json!("\u{FFFD}😀"));
        assert_eq!(parsed(r#""\ud83d""#), json!("\u{FFFD}"));
        assert!(parse_json(br#""\ud83d\u12""#).is_err());
        assert!(parse_json(br#""\x""#).is_err());
        // Bytes that are not UTF-8, inside a string.
        assert_eq!(parse_json(b"\"a\xffb\"").unwrap(), json!("a\u{FFFD}b"));
    }

    #[test]
    fn numbers_keep_their_exact_text() {
        for text in [
            "0",
            "-0",
            "12345678901234567890123",
            "-98765432109876543210987654321",
            "1e400",
            "1E+2",
            "-1.5e-7",
            "0.10000000000000000000001",
            "1.0",
        ] {
            let Value::Number(n) = parsed(text) else {
                panic!("{text}")
            };
            assert_eq!(n.as_str(), text);
            assert_eq!(Value::Number(n).to_string(), text);
        }
        let big = parsed(r#"{"n":12345678901234567890123,"m":2257455039610311973}"#);
        assert_eq!(big["m"].as_u64(), Some(2257455039610311973));
        assert_eq!(big["n"].as_u64(), None);
        for bad in [
            "01",
            "1.",
            ".5",
            "1e",
            "+1",
            "-",
            "--1",
            "0x10",
            "1.e5",
            "NaN",
            "Infinity",
            "-Infinity",
        ] {
            assert!(parse_json(bad.as_bytes()).is_err(), "{bad}");
        }
        // Every number kept reads again through serde_json (as `json!` and `to_value` do).
        let value = parsed(r#"[12345678901234567890123,1e400,-0,1E+2]"#);
        let again = serde_json::to_value(&value).unwrap();
        assert_eq!(again[0].to_string(), "12345678901234567890123");
        assert_eq!(again[1].to_string(), "1e+400");
    }

    #[test]
    fn agrees_with_serde_json_on_standard_json() {
        let text = r#" {"a":[1,-2,3.5,true,false,null,{"b":"c\"\\\/\b\f\n\r\t\u00e9"}],"d":{},"e":[],"a":"last"} "#;
        assert_eq!(parsed(text), serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(parsed("\u{feff}[1]"), json!([1]));
        assert_eq!(parsed("\"tab\there\""), json!("tab\there"));
        for bad in [
            "",
            "{",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\" 1}",
            "[1 2]",
            "tru",
            "{1:2}",
            "[1]x",
        ] {
            assert!(parse_json(bad.as_bytes()).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(
            parse_json(deep.as_bytes())
                .unwrap_err()
                .contains("levels deep")
        );
        let ok = "[".repeat(128) + &"]".repeat(128);
        assert!(parse_json(ok.as_bytes()).is_ok());
    }

    #[test]
    fn trace_id_and_code_are_found_in_bodies_that_do_not_parse() {
        let cases: [(&str, Option<i64>, Option<&str>); 7] = [
            (
                r#"{"code":200,"data":{"x":oops},"traceId":"t1"}"#,
                Some(200),
                Some("t1"),
            ),
            (
                r#"{"code":"401","message":"m","data":{"code":5,"traceId":"inner"#,
                Some(401),
                None,
            ),
            (
                r#"{"traceId":"t2","data":[1,2,{"a":"\x"}],"code":500}"#,
                Some(500),
                Some("t2"),
            ),
            (
                r#"{"data":{"traceId":"inner"},"traceId":"t3" "code":200"#,
                Some(200),
                Some("t3"),
            ),
            ("<html>", None, None),
            (r#"["code",200]"#, None, None),
            (r#"{"code":200,"traceId":12,"#, Some(200), Some("12")),
        ];
        for (body, code, trace_id) in cases {
            let e = Envelope::parse(body.as_bytes()).unwrap_err();
            assert_eq!((e.code, e.trace_id.as_deref()), (code, trace_id), "{body}");
        }
        let e = Envelope::parse(br#"{"traceId":"t4","code":{}}"#).unwrap_err();
        assert_eq!((e.code, e.trace_id.as_deref()), (None, Some("t4")));
    }

    fn any_json() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                prop::collection::vec((any::<String>(), inner), 0..5)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// On standard JSON the lenient parser reads what serde_json reads (numbers compared
        /// through serde_json, which writes exponents its own way).
        #[test]
        fn reads_standard_json_as_serde_json_does(value in any_json(), pretty in proptest::bool::ANY) {
            let text = if pretty {
                serde_json::to_string_pretty(&value).unwrap()
            } else {
                serde_json::to_string(&value).unwrap()
            };
            let lenient = serde_json::to_value(parse_json(text.as_bytes()).unwrap()).unwrap();
            proptest::prop_assert_eq!(lenient, serde_json::from_str::<Value>(&text).unwrap());
        }

        /// A string whose characters are all written as \u escapes (surrogate pairs beyond the
        /// BMP) reads back as the same string.
        #[test]
        fn reads_escaped_strings(text in proptest::prelude::any::<String>()) {
            let escaped: String = text
                .encode_utf16()
                .map(|unit| format!("\\u{unit:04x}"))
                .collect();
            let parsed = parse_json(format!("\"{escaped}\"").as_bytes()).unwrap();
            proptest::prop_assert_eq!(parsed, Value::String(text));
        }

        #[test]
        fn finding_members_never_panics(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..256)) {
            let _ = scan_top_level(&body);
            let mut framed = b"{\"code\":".to_vec();
            framed.extend_from_slice(&body);
            let _ = scan_top_level(&framed);
        }
    }

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

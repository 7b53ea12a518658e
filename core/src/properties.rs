//! Property tests: the signer against an independent model, and parsers that must never panic.
//!
//! `cargo test -p dajisaas --lib properties` runs 256 cases each; the count comes from
//! PROPTEST_CASES (CI uses 2,000; RELIABILITY.md's figures used 100,000 with --release).

use proptest::prelude::*;
use serde_json::{Map, Value};

use crate::config::ClientBuilder;
use crate::envelope::Envelope;
use crate::order_id::validate_order_id;
use crate::sign::{Params, canonical_string, sign};
use crate::transport::classify_for_tests;

/// A value in the model: what a caller can put in a parameter.
#[derive(Debug, Clone)]
enum Model {
    Null,
    Bool(bool),
    Int(i64),
    Text(String),
    List(Vec<Model>),
    Object(Vec<(String, Model)>),
}

fn model() -> impl Strategy<Value = Model> {
    let leaf = prop_oneof![
        Just(Model::Null),
        any::<bool>().prop_map(Model::Bool),
        any::<i64>().prop_map(Model::Int),
        any::<String>().prop_map(Model::Text),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Model::List),
            prop::collection::vec((any::<String>(), inner), 0..4).prop_map(|fields| {
                // JSON objects have distinct keys; keep the first of any repeat, in order.
                let mut seen = std::collections::HashSet::new();
                Model::Object(
                    fields
                        .into_iter()
                        .filter(|(k, _)| seen.insert(k.clone()))
                        .collect(),
                )
            }),
        ]
    })
}

fn to_value(m: &Model) -> Value {
    match m {
        Model::Null => Value::Null,
        Model::Bool(b) => Value::Bool(*b),
        Model::Int(n) => Value::from(*n),
        Model::Text(s) => Value::String(s.clone()),
        Model::List(items) => Value::Array(items.iter().map(to_value).collect()),
        Model::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (k.clone(), to_value(v)))
                .collect::<Map<_, _>>(),
        ),
    }
}

/// Compact JSON written by hand, the way the rule describes it: keys in the order given.
fn json_text(m: &Model, out: &mut String) {
    match m {
        Model::Null => out.push_str("null"),
        Model::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Model::Int(n) => out.push_str(&n.to_string()),
        Model::Text(s) => json_string(s, out),
        Model::List(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_text(item, out);
            }
            out.push(']');
        }
        Model::Object(fields) => {
            out.push('{');
            for (i, (k, v)) in fields.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_string(k, out);
                out.push(':');
                json_text(v, out);
            }
            out.push('}');
        }
    }
}

fn json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The canonical string, by the model: top-level nulls and `sign` dropped, byte-order sort.
fn model_canonical(fields: &[(String, Model)]) -> String {
    let mut pairs: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, v)| k != "sign" && !matches!(v, Model::Null))
        .map(|(k, v)| {
            let text = match v {
                Model::Text(s) => s.clone(),
                other => {
                    let mut t = String::new();
                    json_text(other, &mut t);
                    t
                }
            };
            (k.clone(), text)
        })
        .collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

fn params_strategy() -> impl Strategy<Value = Vec<(String, Model)>> {
    prop::collection::vec((any::<String>(), model()), 0..8).prop_map(|fields| {
        let mut seen = std::collections::HashSet::new();
        fields
            .into_iter()
            .filter(|(k, _)| seen.insert(k.clone()))
            .collect()
    })
}

proptest! {
    #[test]
    fn signer_matches_the_model(fields in params_strategy(), secret in any::<String>()) {
        let params: Params = fields.iter().map(|(k, v)| (k.clone(), to_value(v))).collect();
        let expected = model_canonical(&fields);
        prop_assert_eq!(canonical_string(&params), expected.clone());
        let digest = md5::Md5::digest(format!("{expected}&secret={secret}").as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02X}")).collect();
        prop_assert_eq!(sign(&params, &secret), hex);
    }

    #[test]
    fn envelope_parsing_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = Envelope::parse(&body);
    }

    #[test]
    fn envelope_parsing_never_panics_on_json(value in model()) {
        let text = to_value(&value).to_string();
        let _ = Envelope::parse(text.as_bytes());
        let wrapped = format!("{{\"code\":200,\"data\":{text},\"traceId\":{text}}}");
        let _ = Envelope::parse(wrapped.as_bytes());
    }

    #[test]
    fn classification_never_panics(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..128)) {
        let _ = classify_for_tests(status, &body);
    }

    #[test]
    fn order_ids_are_accepted_exactly_when_they_are_1688_ids(id in any::<String>()) {
        let is_id = !id.is_empty()
            && id.len() <= 19
            && id.bytes().all(|b| b.is_ascii_digit())
            && !id.starts_with('0')
            && id.parse::<u64>().is_ok_and(|n| n <= i64::MAX as u64);
        prop_assert_eq!(validate_order_id(&id, "id").is_ok(), is_id);
    }

    #[test]
    fn digit_strings_are_classified_by_value(n in any::<u64>()) {
        prop_assert_eq!(validate_order_id(&n.to_string(), "id").is_ok(), n >= 1 && n <= i64::MAX as u64);
    }

    #[test]
    fn configuration_never_panics(key in any::<String>(), secret in any::<String>(), url in any::<String>()) {
        let _ = ClientBuilder::new(key, secret).base_url(url).into_config();
    }
}

use md5::Digest as _;

//! What a refused payment (`data.success == false`) says about the order: already paid, not
//! payable, or a plain decline (API.md's retry table). The words are data,
//! `tests/vectors/gateway_words.json`, embedded at build time, so that learning the real
//! gateway's wording is one entry there, and every language's tests read the same file.

use std::sync::OnceLock;

use serde_json::Value;

/// What a refusal means for the order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The order is paid already: report it paid, never retry.
    AlreadyPaid,
    /// The order's state forbids payment (closed, cancelled, not found): never retry.
    NotPayable,
    /// The deduction was not initiated for another reason: a decline, retried.
    Declined,
}

struct Words {
    paid_codes: Vec<String>,
    paid_phrases: Vec<String>,
    unpayable_codes: Vec<String>,
    unpayable_prefixes: Vec<String>,
    unpayable_phrases: Vec<String>,
}

fn words() -> &'static Words {
    static WORDS: OnceLock<Words> = OnceLock::new();
    WORDS.get_or_init(|| {
        let table: Value = serde_json::from_str(include_str!("gateway_words.json"))
            .expect("gateway_words.json is valid JSON (checked by the tests)");
        let list = |group: &str, key: &str| -> Vec<String> {
            table[group][key]
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_ascii_lowercase)
                        .collect()
                })
                .unwrap_or_default()
        };
        Words {
            paid_codes: list("already_paid", "codes"),
            paid_phrases: list("already_paid", "message_contains"),
            unpayable_codes: list("not_payable", "codes"),
            unpayable_prefixes: list("not_payable", "code_prefixes"),
            unpayable_phrases: list("not_payable", "message_contains"),
        }
    })
}

/// What a refusal with this `code` and `message` (either may be absent) means.
pub(crate) fn classify_refusal(code: Option<&str>, message: Option<&str>) -> Refusal {
    let w = words();
    let code = code.map(str::to_ascii_lowercase).unwrap_or_default();
    let message = message.map(str::to_ascii_lowercase).unwrap_or_default();
    let said = |phrases: &[String]| phrases.iter().any(|p| message.contains(p.as_str()));
    let is_code = |codes: &[String]| !code.is_empty() && codes.contains(&code);
    if is_code(&w.paid_codes) || said(&w.paid_phrases) {
        Refusal::AlreadyPaid
    } else if is_code(&w.unpayable_codes)
        || w.unpayable_prefixes
            .iter()
            .any(|p| code.starts_with(p.as_str()))
        || said(&w.unpayable_phrases)
    {
        Refusal::NotPayable
    } else {
        Refusal::Declined
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_case_of_the_shared_table_is_classified_as_it_says() {
        let table: Value = serde_json::from_str(include_str!("gateway_words.json")).unwrap();
        let cases = table["cases"].as_array().unwrap();
        assert!(cases.len() >= 10);
        for case in cases {
            let means = match case["means"].as_str().unwrap() {
                "already_paid" => Refusal::AlreadyPaid,
                "not_payable" => Refusal::NotPayable,
                "declined" => Refusal::Declined,
                other => panic!("unknown meaning {other}"),
            };
            let got = classify_refusal(case["code"].as_str(), case["message"].as_str());
            assert_eq!(got, means, "{case}");
        }
    }
}

//! What an answer means: an HTTP status and a body become a [`Reply`] or a [`Failure`].

use crate::config::Config;
use crate::envelope::{CODE_OK, Envelope};
use crate::error::{Error, ErrorCode};

use super::failure::{Failure, FailureKind};

/// A response whose envelope says `code == 200`.
#[derive(Debug)]
pub(crate) struct Reply {
    pub envelope: Envelope,
}

pub(super) fn classify(status: u16, body: &[u8], config: &Config) -> Result<Reply, Failure> {
    let parsed = Envelope::parse(body);
    // Only the debug mode puts the secret on the wire, so only there can an answer echo it.
    let secret = config.send_app_secret.then(|| config.app_secret.expose());
    // Taken whenever they can be found, even from a body that is not a usable envelope.
    let (trace_id, api_code) = match &parsed {
        Ok(env) => (env.trace_id.clone(), Some(env.code)),
        Err(not) => (not.trace_id.clone(), not.code),
    };
    let fail = |kind, code, message: String| {
        Err(Failure::new(
            kind,
            Error::new(code, redact(message, secret))
                .with_http_status(Some(status))
                .with_trace_id(trace_id.clone())
                .with_api_code(api_code.filter(|c| *c != CODE_OK)),
        ))
    };
    if status >= 500 {
        return fail(
            FailureKind::ServerError,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        );
    }
    if status == 429 {
        return fail(
            FailureKind::RateLimited,
            ErrorCode::RateLimited,
            "gateway answered HTTP 429 (too many requests)".into(),
        );
    }
    let success = (200..300).contains(&status);
    match parsed {
        Err(not) if success => fail(
            FailureKind::Decode,
            ErrorCode::Decode,
            format!("gateway answered HTTP {status} but the {}", not.why),
        ),
        Err(_) => fail(
            FailureKind::HttpStatus,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        ),
        Ok(env) if env.is_rate_limited() => fail(
            FailureKind::RateLimited,
            ErrorCode::RateLimited,
            format!("gateway call-frequency limit: {}", env.message_or_default()),
        ),
        Ok(env) if env.code != CODE_OK => fail(
            FailureKind::Api,
            ErrorCode::Api,
            format!(
                "gateway refused the call (code {}): {}",
                env.code,
                env.message_or_default()
            ),
        ),
        Ok(_) if !success => fail(
            FailureKind::HttpStatus,
            ErrorCode::HttpStatus,
            format!("gateway answered HTTP {status}"),
        ),
        Ok(envelope) => Ok(Reply { envelope }),
    }
}

/// Classifies an answer with a throwaway configuration (property tests only).
#[cfg(test)]
pub(crate) fn classify_for_tests(status: u16, body: &[u8]) -> Result<Reply, Failure> {
    let config = crate::config::ClientBuilder::new("k", "s")
        .into_config()
        .expect("valid");
    classify(status, body, &config)
}

/// In the debug mode that sends the secret, replaces each whole occurrence of it in a message
/// from the gateway with `***`. "Whole": not inside a longer word, so that a secret that is
/// also part of ordinary words never garbles them (the mode requires secrets of at least 8
/// characters, see `options.rs`). A character is part of a word when it is alphanumeric or `_`;
/// an occurrence counts as whole when the characters on both sides of it are not, or when the
/// secret itself starts (ends) with a character that is not.
fn redact(message: String, secret: Option<&str>) -> String {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return message;
    };
    if !message.contains(secret) {
        return message;
    }
    let word = |c: char| c.is_alphanumeric() || c == '_';
    let starts_word = secret.chars().next().is_some_and(word);
    let ends_word = secret.chars().next_back().is_some_and(word);
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    while let Some(at) = rest.find(secret) {
        let before = rest[..at].chars().next_back().or_else(|| {
            // At the start of `rest`: the character before it in what was already written.
            out.chars().next_back()
        });
        let after = rest[at + secret.len()..].chars().next();
        let inside_a_word =
            (starts_word && before.is_some_and(word)) || (ends_word && after.is_some_and(word));
        out.push_str(&rest[..at]);
        if !inside_a_word {
            out.push_str("***");
            rest = &rest[at + secret.len()..];
        } else {
            // Not whole: keep its first character and look again just after it.
            let first = secret.chars().next().map_or(1, char::len_utf8);
            out.push_str(&rest[at..at + first]);
            rest = &rest[at + first..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientBuilder;
    use crate::transport::failure::Effect;

    fn config() -> Config {
        ClientBuilder::new("K", "S3CRET")
            .base_url("http://127.0.0.1:9")
            .into_config()
            .unwrap()
    }

    #[test]
    fn classification() {
        let c = config();
        let kind = |status, body: &str| classify(status, body.as_bytes(), &c).err().map(|f| f.kind);
        assert_eq!(kind(200, r#"{"code":200,"data":{}}"#), None);
        assert_eq!(kind(502, r#"{"code":200}"#), Some(FailureKind::ServerError));
        assert_eq!(kind(429, ""), Some(FailureKind::RateLimited));
        assert_eq!(
            kind(200, r#"{"code":429,"message":"x"}"#),
            Some(FailureKind::RateLimited)
        );
        assert_eq!(
            kind(200, r#"{"code":401,"message":"签名错误"}"#),
            Some(FailureKind::Api)
        );
        assert_eq!(kind(200, "not json"), Some(FailureKind::Decode));
        assert_eq!(kind(404, "not found"), Some(FailureKind::HttpStatus));
        assert_eq!(
            kind(400, r#"{"code":400,"message":"bad"}"#),
            Some(FailureKind::Api)
        );
    }

    #[test]
    fn a_5xx_envelope_code_is_never_a_rate_limit() {
        let c = config();
        let f = classify(
            200,
            "{\"code\":500,\"message\":\"调用频率超限\"}".as_bytes(),
            &c,
        )
        .unwrap_err();
        assert_eq!(f.kind, FailureKind::Api);
        assert_eq!(f.error.code(), ErrorCode::Api);
        assert_eq!(f.error.api_code(), Some(500));
        assert_eq!(f.effect(), Effect::Possible);
        let f = classify(
            200,
            "{\"code\":400,\"message\":\"调用频率超限\"}".as_bytes(),
            &c,
        )
        .unwrap_err();
        assert_eq!(f.kind, FailureKind::RateLimited);
        assert_eq!(f.effect(), Effect::None);
    }

    #[test]
    fn signed_mode_never_masks_what_the_gateway_says() {
        // The secret never left the process: the gateway cannot echo it, so nothing is masked,
        // and a secret that happens to be part of ordinary words never garbles them.
        let c = ClientBuilder::new("K", "s")
            .base_url("http://127.0.0.1:9")
            .into_config()
            .unwrap();
        let f = classify(
            200,
            br#"{"code":401,"message":"gateway refused the call: bad sign","traceId":"t1"}"#,
            &c,
        )
        .unwrap_err();
        assert!(
            f.error
                .message()
                .ends_with("gateway refused the call: bad sign"),
            "{}",
            f.error
        );
        assert_eq!(f.error.trace_id(), Some("t1"));
        assert_eq!(f.error.api_code(), Some(401));
    }

    #[test]
    fn debug_mode_masks_whole_occurrences_only() {
        let debug = |secret: &str| {
            ClientBuilder::new("K", secret)
                .base_url("http://127.0.0.1:9")
                .dangerously_send_app_secret_instead_of_sign(true)
                .into_config()
                .unwrap()
        };
        let message = |c: &Config, text: &str| {
            let body = serde_json::json!({"code": 401, "message": text}).to_string();
            let f = classify(200, body.as_bytes(), c).unwrap_err();
            let shown = f.error.message().to_string();
            shown
                .strip_prefix("gateway refused the call (code 401): ")
                .unwrap_or(&shown)
                .to_string()
        };
        let c = debug("S3CRETS3");
        let cases = [
            ("bad appSecret S3CRETS3", "bad appSecret ***"),
            ("appSecret=S3CRETS3&x", "appSecret=***&x"),
            ("\"S3CRETS3\" twice: S3CRETS3.", "\"***\" twice: ***."),
            ("S3CRETS3", "***"),
            (
                "xS3CRETS3 S3CRETS3y S3CRETS3_ 中S3CRETS3",
                "xS3CRETS3 S3CRETS3y S3CRETS3_ 中S3CRETS3",
            ),
            ("S3CRETS3S3CRETS3", "S3CRETS3S3CRETS3"),
            ("nothing here", "nothing here"),
        ];
        for (text, shown) in cases {
            assert_eq!(message(&c, text), shown, "{text}");
        }
        // A secret that starts or ends with punctuation is masked even next to a letter there.
        let c = debug("-pass.word-");
        assert_eq!(
            message(&c, "key=-pass.word-x and y-pass.word-"),
            "key=***x and y***"
        );
        // Overlapping occurrences: each whole one masked.
        let c = debug("abababab");
        assert_eq!(message(&c, "abababab ababababab"), "*** ababababab");
    }
}

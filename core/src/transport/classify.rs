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
    let secret = config.app_secret.expose();
    // Taken whenever they can be found, even from a body that is not a usable envelope.
    let (trace_id, api_code) = match &parsed {
        Ok(env) => (env.trace_id.clone(), Some(env.code)),
        Err(not) => (not.trace_id.clone(), not.code),
    };
    let fail = |kind, code, message: String| {
        Err(Failure::new(
            kind,
            Error::new(code, redact(&message, secret))
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

/// Replaces the secret wherever a message might echo it.
fn redact(message: &str, secret: &str) -> String {
    if secret.is_empty() || !message.contains(secret) {
        message.to_string()
    } else {
        message.replace(secret, "***")
    }
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
    fn api_messages_are_redacted() {
        let f = classify(
            200,
            br#"{"code":401,"message":"bad secret S3CRET","traceId":"t1"}"#,
            &config(),
        )
        .unwrap_err();
        assert!(!f.error.message().contains("S3CRET"));
        assert_eq!(f.error.trace_id(), Some("t1"));
        assert_eq!(f.error.api_code(), Some(401));
    }
}

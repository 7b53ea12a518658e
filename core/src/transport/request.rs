//! Building a request: validation, signing, and the URL and body that go on the wire.

use reqwest::Url;
use serde_json::Value;

use crate::config::Config;
use crate::error::Error;
use crate::sign::{Params, SIGN_PARAM, body_json, check_numbers, render_value, sign};

/// The HTTP methods the gateway uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Parameters in the query string.
    Get,
    /// Parameters as the top-level fields of a JSON body.
    Post,
}

impl Method {
    /// `"GET"` or `"POST"`, any case; anything else is an `invalid_argument`.
    pub fn parse(text: &str) -> crate::Result<Method> {
        match text.to_ascii_uppercase().as_str() {
            "GET" => Ok(Method::Get),
            "POST" => Ok(Method::Post),
            _ => Err(Error::invalid(format!(
                "method {text:?} is not supported; the gateway takes GET or POST"
            ))),
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }
}

/// Longest request URL (scheme to query, in bytes) the client sends; a longer one is an
/// `invalid_argument` before anything is sent. GET parameters travel in the URL, so this bounds
/// them. The HTTP stack cannot send a URL of 64 KiB (`http::Uri` stops at 65,534 bytes) and
/// common servers refuse far less (nginx and Apache 8 KiB by default, IIS 16 KiB); 16 KiB keeps
/// every request the gateway could accept and refuses, up front, the ones it could not.
pub const MAX_URL_BYTES: usize = 16 * 1024;

/// Names the client fills in itself; callers may not pass them.
pub(super) const RESERVED: [&str; 3] = ["appKey", "appSecret", SIGN_PARAM];

/// A request that has been validated and signed and can be sent (again).
pub(crate) struct SignedRequest {
    pub(super) method: Method,
    pub(super) path: String,
    pub(super) url: Url,
    pub(super) body: Option<Vec<u8>>,
}

impl SignedRequest {
    pub fn new(config: &Config, method: Method, path: &str, params: Params) -> crate::Result<Self> {
        let mut url = config.endpoint(path)?;
        let mut all = Params::new();
        all.insert("appKey".into(), Value::String(config.app_key.clone()));
        for (key, value) in params {
            if RESERVED.contains(&key.as_str()) {
                return Err(Error::invalid(format!(
                    "parameter {key:?} is set by the client; do not pass it"
                )));
            }
            all.insert(key, value);
        }
        check_numbers(&all)?;
        let secret = config.app_secret.expose();
        if config.send_app_secret {
            all.insert("appSecret".into(), Value::String(secret.to_string()));
        } else {
            let signature = sign(&all, secret);
            all.insert(SIGN_PARAM.into(), Value::String(signature));
        }
        let body = match method {
            Method::Get => {
                let mut query = url.query_pairs_mut();
                for (key, value) in &all {
                    if let Some(text) = render_value(value) {
                        query.append_pair(key, &text);
                    }
                }
                drop(query);
                None
            }
            // The numbers written as they were signed (sign.rs).
            Method::Post => Some(body_json(&all)),
        };
        // The URL is not quoted: in debug mode it holds the secret.
        let length = url.as_str().len();
        if length > MAX_URL_BYTES {
            return Err(Error::invalid(format!(
                "the request URL would be {length} bytes, over the limit of {MAX_URL_BYTES} \
                 (MAX_URL_BYTES); shorten the base URL, the path or the GET parameters"
            )));
        }
        Ok(SignedRequest {
            method,
            path: path.to_string(),
            url,
            body,
        })
    }

    #[cfg(test)]
    pub fn url(&self) -> &Url {
        &self.url
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientBuilder;
    use crate::error::ErrorCode;
    use serde_json::json;

    fn config(debug: bool) -> Config {
        ClientBuilder::new("K", "S3CRET78")
            .base_url("http://127.0.0.1:9")
            .dangerously_send_app_secret_instead_of_sign(debug)
            .into_config()
            .unwrap()
    }

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn get_puts_signed_params_in_query_without_secret() {
        let req = SignedRequest::new(
            &config(false),
            Method::Get,
            "/x",
            params(json!({"orderIdList": "[1,2]"})),
        )
        .unwrap();
        let url = req.url().as_str();
        assert!(
            url.starts_with("http://127.0.0.1:9/x?appKey=K&orderIdList=%5B1%2C2%5D&sign="),
            "{url}"
        );
        assert!(!url.contains("S3CRET78"));
    }

    #[test]
    fn debug_mode_sends_secret_and_no_sign() {
        let req = SignedRequest::new(&config(true), Method::Get, "/x", Params::new()).unwrap();
        assert!(req.url().as_str().ends_with("appKey=K&appSecret=S3CRET78"));
    }

    #[test]
    fn numbers_are_sent_as_they_are_signed() {
        let p = params(json!({"f": 1.0, "n": [0.00001, 1e21], "big": 12345678901234567890123u128}));
        let post = SignedRequest::new(&config(false), Method::Post, "/x", p.clone()).unwrap();
        let body = String::from_utf8(post.body.unwrap()).unwrap();
        assert!(
            body.starts_with(
                r#"{"appKey":"K","f":1,"n":[0.00001,1e+21],"big":12345678901234567890123,"sign":""#
            ),
            "{body}"
        );
        let get = SignedRequest::new(&config(false), Method::Get, "/x", p).unwrap();
        assert!(
            get.url()
                .as_str()
                .contains("&f=1&n=%5B0.00001%2C1e%2B21%5D&big=12345678901234567890123&"),
            "{}",
            get.url()
        );
        let too_big = crate::sign::parse_params(r#"{"x":1}"#).map(|mut p| {
            p.insert("x".into(), serde_json::from_str("[1e400]").unwrap());
            p
        });
        let e = SignedRequest::new(&config(false), Method::Post, "/x", too_big.unwrap())
            .err()
            .unwrap();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.message().contains("\"x\" holds the number 1e+400"), "{e}");
    }

    #[test]
    fn reserved_names_are_rejected() {
        for name in RESERVED {
            let p = params(json!({ name: "x" }));
            let e = SignedRequest::new(&config(false), Method::Post, "/x", p)
                .err()
                .unwrap();
            assert_eq!(e.code(), ErrorCode::InvalidArgument);
        }
    }
}

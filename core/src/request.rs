//! Any other gateway endpoint through one generic signed call.

use serde_json::Value;

use crate::client::Inner;
use crate::error::{Error, Result};
use crate::retry::{Step, with_retries};
use crate::sign::Params;
use crate::transport::{Method, SignedRequest, send};

impl Inner {
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        params: Params,
    ) -> Result<Value> {
        check_path(path)?;
        let request = SignedRequest::new(&self.config, method, path, params)?;
        let request = &request;
        let (data, _attempts) = with_retries(&self.config, |n| async move {
            match send(&self.http(), &self.config, request, n).await {
                Ok(reply) => Step::Done(reply.envelope.data),
                // Only GETs are known to be reads; a POST may create or cancel an order.
                Err(failure) if method == Method::Get => Step::for_read(failure),
                Err(failure) => Step::for_write(failure),
            }
        })
        .await?;
        Ok(data)
    }
}

/// Refuses a caller's path that could leave the endpoint it names once decoded: one that does
/// not start with `/`, or whose segments, percent-decoded, are `.` or `..` (a URL parser
/// resolves `%2e%2e` as `..`), hold an encoded `/` or `\`, or a NUL. Every language and the
/// CLI call through here, so they all refuse the same paths; nothing is sent.
fn check_path(path: &str) -> Result<()> {
    let problem = if !path.starts_with('/') {
        Some("does not start with /")
    } else {
        path.split('/').find_map(|segment| {
            let decoded = percent_decode(segment);
            if decoded == b"." || decoded == b".." {
                Some("has a . or .. segment (encoded or not)")
            } else if decoded.contains(&b'/') || decoded.contains(&b'\\') {
                Some("has an encoded / or \\")
            } else if decoded.contains(&0) {
                Some("has a NUL")
            } else {
                None
            }
        })
    };
    match problem {
        Some(why) => Err(Error::invalid(format!(
            "path {path:?} {why}: give an absolute path like /alibaba/alipay/url/get"
        ))),
        None => Ok(()),
    }
}

/// `%XX` escapes decoded to their bytes; anything else, a malformed escape included, as it is.
fn percent_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if bytes[i] == b'%'
            && let (Some(high), Some(low)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            out.push((high * 16 + low) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn paths_that_could_leave_their_endpoint_are_refused() {
        for bad in [
            "x",
            "",
            "%2falibaba",
            "/a/%2e%2e/_sandbox/reset",
            "/a/%2E%2e",
            "/a/.%2e/b",
            "/a/%2e/b",
            "/a/./b",
            "/a/../b",
            "/a%2fb",
            "/a%2Fb",
            "/a%5cb",
            "/a%00b",
        ] {
            assert!(check_path(bad).is_err(), "{bad:?} passed");
        }
        for good in [
            "/alibaba/alipay/url/get",
            "/a/..b/c",
            "/a/%2e%2e%2e",
            "/a/%41",
            "/a/%zz",
        ] {
            assert!(check_path(good).is_ok(), "{good:?} refused");
        }
    }
}

//! Whose records a client sees: one gateway (the origin of `base_url`) and one app key
//! (JOURNAL.md "Scope"), so that a rehearsal against the sandbox never answers for the real
//! gateway and two apps sharing a database never see each other's orders.

use std::fmt;

use url::Url;

/// The gateway and app a journal record belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Scope {
    /// The gateway's origin: `scheme://host:port`, the port always written
    /// (`https://openapi.dajisaas.com:443`).
    pub gateway: String,
    /// The app key.
    pub app_key: String,
}

impl Scope {
    /// The scope of a client of `base_url` with `app_key`.
    pub fn new(base_url: &str, app_key: &str) -> Scope {
        Scope {
            gateway: origin(base_url),
            app_key: app_key.to_string(),
        }
    }

    /// Records written before journals had scopes (schema 1) carry this one: they answer for
    /// every scope until a client changes them, which moves them into its own.
    pub fn legacy() -> Scope {
        Scope {
            gateway: String::new(),
            app_key: String::new(),
        }
    }

    /// True for [`Scope::legacy`].
    pub fn is_legacy(&self) -> bool {
        self.gateway.is_empty() && self.app_key.is_empty()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_legacy() {
            f.write_str("(recorded before journals had scopes)")
        } else {
            write!(f, "{} app {}", self.gateway, self.app_key)
        }
    }
}

/// `scheme://host:port` of a URL, lower-cased, the default port written out; the text itself
/// when it is not a URL (a config always holds a parsed one).
fn origin(base_url: &str) -> String {
    match Url::parse(base_url) {
        Ok(url) => {
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            match url.port_or_known_default() {
                Some(port) => format!("{}://{host}:{port}", url.scheme()),
                None => format!("{}://{host}", url.scheme()),
            }
        }
        Err(_) => base_url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_is_the_origin_with_its_port() {
        let s = Scope::new("https://OpenAPI.dajisaas.com/", "k");
        assert_eq!(s.gateway, "https://openapi.dajisaas.com:443");
        assert_eq!(
            Scope::new("http://127.0.0.1:8080/base/", "k").gateway,
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            Scope::new("http://localhost", "k").gateway,
            "http://localhost:80"
        );
        assert!(!s.is_legacy());
        assert!(Scope::legacy().is_legacy());
    }
}

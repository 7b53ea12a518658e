//! TLS: certificates are always checked. A sandbox with a certificate from an unknown CA is
//! refused with a connection error that says why, and accepted once its CA is added.

use std::time::Duration;

use dajisaas::{Client, ErrorCode};
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

fn https_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        tls: true,
        ..SandboxConfig::default()
    })
    .unwrap()
}

fn builder(sandbox: &Sandbox) -> dajisaas::ClientBuilder {
    Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .base_url(sandbox.url())
        .backoff(Duration::from_millis(1), Duration::from_millis(2))
}

#[test]
fn an_untrusted_certificate_is_refused_and_nothing_reaches_the_gateway() {
    let sb = https_sandbox();
    assert!(sb.url().starts_with("https://127.0.0.1:"));
    let e = builder(&sb).build().unwrap().prepare_pay("1").unwrap_err();
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
    assert!(e.message().contains("certificate"), "{}", e.message());
    assert!(
        e.message().contains("add_root_certificates_pem"),
        "{}",
        e.message()
    );
    assert_eq!(
        e.attempts(),
        4,
        "a refused handshake is 'not sent', so it is retried"
    );
    assert_eq!(sb.stats().requests, 0);
}

#[test]
fn the_sandbox_ca_added_as_a_root_is_trusted() {
    let sb = https_sandbox();
    let ca = sb.ca_pem().unwrap();
    let client = builder(&sb).add_root_certificates_pem(ca).build().unwrap();
    assert_eq!(
        client.pay_url(&["2257455039610311973"]).unwrap().attempts,
        1
    );
    assert_eq!(
        client.prepare_pay("2257164624870311973").unwrap().attempts,
        1
    );
    assert_eq!(sb.stats().requests_with_secret, 0);
}

#[test]
fn bad_root_certificates_are_invalid_arguments() {
    let e = Client::builder("k", "s")
        .add_root_certificates_pem("not a certificate")
        .build()
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.message().contains("root certificates"), "{}", e.message());
}

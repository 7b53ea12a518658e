//! Helpers shared by the integration tests: a sandbox and a client pointed at it.
#![allow(dead_code)] // each test file uses its own subset

use std::time::Duration;

use dajisaas::{Client, ClientBuilder};
use dajisaas_sandbox::{DEFAULT_APP_KEY, DEFAULT_APP_SECRET, Sandbox, SandboxConfig};

/// Client timeout in these tests; the sandbox's slow and hang delays are well above it.
pub const TIMEOUT: Duration = Duration::from_millis(700);

pub fn sandbox() -> Sandbox {
    sandbox_with(|c| c)
}

pub fn sandbox_with(f: impl FnOnce(SandboxConfig) -> SandboxConfig) -> Sandbox {
    let config = SandboxConfig {
        slow: Duration::from_millis(1500),
        hang: Duration::from_secs(3),
        ..SandboxConfig::default()
    };
    Sandbox::start(f(config)).expect("sandbox starts")
}

/// A client of `sandbox` whose memory journal is the sandbox's own (shared by the clients of
/// this sandbox, not by other tests' that pay the same ids).
pub fn builder(sandbox: &Sandbox) -> ClientBuilder {
    Client::builder(DEFAULT_APP_KEY, DEFAULT_APP_SECRET)
        .journal(format!("memory:{}", sandbox.url()))
        .base_url(sandbox.url())
        .timeout(TIMEOUT)
        .backoff(Duration::from_millis(1), Duration::from_millis(5))
}

pub fn client(sandbox: &Sandbox) -> Client {
    builder(sandbox).build().expect("client builds")
}

/// Fails if any order was paid twice. The sandbox declines a payment of an order already paid
/// (so no order is ever deducted twice) and counts such calls: any of them means a second
/// payment was sent.
pub fn assert_no_double_deduction(sandbox: &Sandbox) {
    let stats = sandbox.stats();
    let twice: Vec<_> = stats.deductions.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "orders deducted more than once: {twice:?}"
    );
    let again = &stats.pay_calls_after_paid_by_order;
    let first: Vec<_> = again.iter().take(5).collect();
    assert_eq!(
        stats.pay_calls_after_paid,
        0,
        "payment calls for orders already paid, in {} order(s), first: {first:?}",
        again.len()
    );
}

/// A tiny HTTP server on 127.0.0.1 that answers every request with one canned response
/// (`Connection: close`) and counts the requests it read. Its thread lives as long as the test
/// process.
pub struct Stub {
    pub url: String,
    requests: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Stub {
    pub fn start(status: u16, body: &str) -> Stub {
        use std::io::{BufRead, BufReader, Read, Write};
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};

        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let response = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut length = 0usize;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':') {
                        if name.eq_ignore_ascii_case("content-length") {
                            length = value.trim().parse().unwrap_or(0);
                        }
                    }
                    line.clear();
                }
                let mut body = vec![0; length];
                if reader.read_exact(&mut body).is_ok() {
                    counter.fetch_add(1, Ordering::SeqCst);
                    let _ = conn.write_all(response.as_bytes());
                }
            }
        });
        Stub { url, requests }
    }

    pub fn requests(&self) -> usize {
        self.requests.load(std::sync::atomic::Ordering::SeqCst)
    }
}

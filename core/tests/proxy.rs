//! Proxies from the environment (HTTPS_PROXY) are used, as reqwest provides. A local listener
//! plays the proxy and records the CONNECT it receives; nothing leaves the machine.

use std::io::Read;
use std::net::TcpListener;
use std::thread;

use dajisaas::{Client, ErrorCode};

#[test]
fn https_proxy_from_the_environment_is_used() {
    let proxy = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = proxy.local_addr().unwrap().port();
    let seen = thread::spawn(move || {
        let (mut conn, _) = proxy.accept().unwrap();
        let mut buf = [0u8; 1024];
        let n = conn.read(&mut buf).unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
        // Dropping the connection refuses the tunnel.
    });
    // SAFETY: this test binary has this single test, so no other thread reads the environment.
    unsafe { std::env::set_var("HTTPS_PROXY", format!("http://127.0.0.1:{port}")) };
    let client = Client::builder("k", "s").max_retries(0).build().unwrap();
    let e = client.pay_url(&["1"]).unwrap_err();
    let request = seen.join().unwrap();
    assert!(
        request.starts_with("CONNECT openapi.dajisaas.com:443 "),
        "the proxy saw {request:?}"
    );
    assert_eq!(e.code(), ErrorCode::Connection, "{e}");
}

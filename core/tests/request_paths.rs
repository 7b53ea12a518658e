//! `request()` refuses a path that could leave the endpoint it names once decoded (`%2e%2e`,
//! `%2f`, ...): `invalid_argument`, nothing sent.

mod common;

use common::{Stub, builder, client, sandbox};
use dajisaas::{ErrorCode, Method};

const ESCAPING: [&str; 6] = [
    "/alibaba/%2e%2e/%2e%2e/_sandbox/reset",
    "/alibaba/%2E%2e/_sandbox/reset",
    "/alibaba/.%2e/.%2e/_sandbox/reset",
    "/_sandbox%2freset",
    "/alibaba%5c..%5c_sandbox/reset",
    "/alibaba/%00/x",
];

#[test]
fn an_encoded_dot_dot_or_slash_never_reaches_the_sandbox() {
    let sb = sandbox();
    let c = client(&sb);
    // An order the sandbox has deducted: a reset reaching it would forget it.
    c.prepare_pay("2257164624870311973").unwrap();
    let before = sb.stats();
    assert_eq!(before.deductions.get("2257164624870311973"), Some(&1));
    for path in ESCAPING {
        for method in [Method::Get, Method::Post] {
            let e = c.request(method, path, Default::default()).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InvalidArgument, "{path}: {e}");
            assert_eq!(e.attempts(), 0, "{path}");
        }
    }
    let after = sb.stats();
    assert_eq!(after.requests, before.requests, "a refused path was sent");
    assert_eq!(after.deductions.get("2257164624870311973"), Some(&1));
}

#[test]
fn a_refused_path_opens_no_connection() {
    let stub = Stub::start(200, r#"{"code":200,"data":{}}"#);
    let c = builder(&sandbox()).base_url(&stub.url).build().unwrap();
    for path in ESCAPING.iter().chain(&["alibaba/x", "/a/./b", "/a/../b"]) {
        let e = c
            .request(Method::Post, path, Default::default())
            .unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{path}: {e}");
    }
    // The stub answers any request: a path that is fine reaches it, so it counts.
    c.request(Method::Post, "/alibaba/x", Default::default())
        .unwrap();
    assert_eq!(stub.requests(), 1);
}

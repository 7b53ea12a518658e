//! The shared signing vectors (tests/vectors/sign.json), which every language runs.

use serde_json::Value;

#[test]
fn shared_vectors_match_byte_for_byte() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/vectors/sign.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let vectors = doc["vectors"].as_array().unwrap();
    assert!(vectors.len() >= 25, "only {} vectors", vectors.len());
    for v in vectors {
        let name = v["name"].as_str().unwrap();
        let params = v["params"].as_object().unwrap();
        let secret = v["secret"].as_str().unwrap();
        let expected_string = v["signed_string"].as_str().unwrap();
        let canonical = dajisaas::canonical_string(params);
        assert_eq!(
            format!("{canonical}&secret={secret}"),
            expected_string,
            "vector {name:?}"
        );
        assert_eq!(
            dajisaas::sign(params, secret),
            v["sign"].as_str().unwrap(),
            "vector {name:?}"
        );
        assert_eq!(
            dajisaas::signing_string_masked(params),
            format!("{canonical}&secret=***")
        );
    }
}

//! Answers that misbehave at the body level: dropped, truncated, oversized, trickled.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::stream;

/// A well-formed JSON answer.
pub fn json(text: String) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// Starts the answer, sends the first half of `text`, then breaks the connection.
pub fn dropped(text: String) -> Response {
    let half = Bytes::from(text.into_bytes()).slice(..);
    let first = half.slice(..half.len() / 2);
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(first),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "sandbox drops the connection",
        )),
    ];
    streamed(Body::from_stream(stream::iter(chunks)))
}

/// A complete HTTP answer whose JSON body is cut in half.
pub fn truncated(text: String) -> Response {
    let mut cut = text.len() / 2;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    json(text[..cut].to_string())
}

/// 5 MiB, over the client's 4 MiB cap.
pub fn oversized() -> Response {
    let mut text = String::from("{\"code\":200,\"data\":{\"padding\":\"");
    text.push_str(&"x".repeat(5 * 1024 * 1024));
    text.push_str("\"}}");
    json(text)
}

/// The body one byte every 50 ms: a client should give up at its total timeout.
pub fn trickle(text: String) -> Response {
    let bytes = Bytes::from(text.into_bytes());
    let chunks = stream::unfold(0usize, move |i| {
        let bytes = bytes.clone();
        async move {
            if i >= bytes.len() {
                return None;
            }
            crate::gateway::pause(Duration::from_millis(50)).await;
            Some((Ok::<_, std::io::Error>(bytes.slice(i..i + 1)), i + 1))
        }
    });
    streamed(Body::from_stream(chunks))
}

fn streamed(body: Body) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

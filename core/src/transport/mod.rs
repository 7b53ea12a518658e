//! One signed HTTP exchange with the gateway, and what it ended as.
//!
//! A request is built and signed once (every input problem surfaces here, before anything is
//! sent) and may then be sent several times by the retry loop. Each send ends as a [`Reply`]
//! (envelope code 200) or a [`Failure`], whose [`Failure::effect`] tells the endpoints whether
//! the request could have had an effect.
//!
//! - `request`: validating and signing a request, its URL and body;
//! - `send`: the HTTP client, sending once, reading the capped body, the log line;
//! - `deadline`: the connect phase and the total timeout, and why they never blur;
//! - `classify`: an HTTP status and a body become a [`Reply`] or a [`Failure`];
//! - `failure`: the kinds of failure and the one rule "may it have had an effect?".

mod classify;
mod deadline;
mod failure;
mod request;
mod send;
mod tls;

pub(crate) use classify::Reply;
#[cfg(test)]
pub(crate) use classify::classify_for_tests;
pub(crate) use failure::{Effect, Failure};
pub(crate) use request::SignedRequest;
pub use request::{MAX_URL_BYTES, Method};
pub use send::MAX_BODY_BYTES;
pub(crate) use send::{ConnectionLimit, http_client, send, send_gated, with_answer_status};

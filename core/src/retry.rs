//! Bounded retries with exponential backoff and jitter, each attempt paced by the client's
//! call limiter.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::config::Config;
use crate::error::{Error, ErrorCode, Result};
use crate::limiter::{Answer, WINDOW};
use crate::payment_log::payment_log;
use crate::transport::{Effect, Failure, with_answer_status};

/// What one attempt ended as, from the retry loop's point of view.
pub(crate) enum Step<T> {
    Done(T),
    /// Safe to try again; this error is reported if no attempt is left.
    Retry(Error),
    /// Final: trying again could do harm or could not help.
    Fail(Error),
    /// This attempt was held back before its request was written (a payment's fence, or its
    /// caller gave up): the call ends. When an earlier attempt failed, that failure is the
    /// call's result (it is what happened at the gateway), saying why no attempt followed.
    Stop(Error),
}

impl<T> Step<T> {
    /// A failed read (a link, a GET): anything transient is retried, whatever its effect.
    pub fn for_read(failure: Failure) -> Self {
        if failure.is_transient() {
            Step::Retry(failure.error)
        } else {
            Step::Fail(failure.error)
        }
    }

    /// A failed call that may change something: retried only when it is transient and the
    /// gateway surely did not act on it ([`Effect::None`]: never sent, or refused for the
    /// call-frequency limit).
    pub fn for_write(failure: Failure) -> Self {
        if failure.is_transient() && failure.effect() == Effect::None {
            Step::Retry(failure.error)
        } else {
            Step::Fail(failure.error)
        }
    }
}

impl<T> Step<T> {
    /// What the attempt tells the client's pace.
    fn answer(&self) -> Answer {
        match self {
            Step::Done(_) => Answer::Answered,
            Step::Stop(_) => Answer::None,
            Step::Retry(e) | Step::Fail(e) => match e.code() {
                ErrorCode::RateLimited => Answer::Refused,
                ErrorCode::Connection | ErrorCode::Timeout | ErrorCode::InvalidArgument => {
                    Answer::None
                }
                _ => Answer::Answered,
            },
        }
    }
}

/// Runs `attempt(1)`, `attempt(2)`, ... until one is done or fails for good, at most
/// `1 + max_retries` times, sleeping between them. Returns the value and the attempts made;
/// errors carry the attempts too.
///
/// Each attempt first waits for its slot in the client's pace (`max_calls_per_second` and the
/// adaptive limit), before the attempt's own deadline starts: that wait counts against no
/// timeout. The backoff between attempts comes on top.
pub(crate) async fn with_retries<T, F, Fut>(config: &Config, mut attempt: F) -> Result<(T, u32)>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Step<T>>,
{
    let mut n = 1;
    let mut last_failure: Option<Error> = None;
    loop {
        let permit = config.limiter.acquire().await;
        let (step, answered) = with_answer_status(attempt(n)).await;
        config.limiter.finished(permit, step.answer()).await;
        // An error made of an answer (declined, refused in `data`) carries its HTTP status.
        let with_status = |error: Error| match error.http_status() {
            Some(_) => error,
            None => error.with_http_status(answered),
        };
        match step {
            Step::Done(value) => return Ok((value, n)),
            Step::Fail(error) => return Err(with_status(error).with_attempts(n)),
            Step::Stop(held) => {
                return Err(match last_failure {
                    Some(earlier) => {
                        let message = format!(
                            "{}; no further attempt: {}",
                            earlier.message(),
                            held.message()
                        );
                        earlier.with_message(message).with_attempts(n - 1)
                    }
                    None => held.with_attempts(0),
                });
            }
            Step::Retry(error) if n > config.max_retries => {
                return Err(with_status(error).with_attempts(n));
            }
            Step::Retry(error) => {
                let mut delay = backoff_delay(config.backoff_base, config.backoff_cap, n);
                if error.code() == ErrorCode::RateLimited {
                    // The gateway counts calls per second: a call refused for its frequency and
                    // tried again within that second meets the same count, and while the pace
                    // is still finding the limit, it was refused again (four times in a row, an
                    // order lost). So the next attempt waits for the gateway's next second.
                    delay = delay.max(WINDOW);
                }
                let delay_ms = delay.as_millis() as u64;
                payment_log!(
                    debug,
                    attempt = n,
                    delay_ms = delay_ms,
                    error_code = error.code().as_str();
                    "retrying in {delay_ms} ms after attempt {n}: {error}"
                );
                last_failure = Some(with_status(error));
                tokio::time::sleep(delay).await;
                n += 1;
            }
        }
    }
}

/// "Equal jitter": half of `min(cap, base * 2^(retry-1))` plus a random part of the other half,
/// so that delays grow but clients that failed together do not retry together.
pub(crate) fn backoff_delay(base: Duration, cap: Duration, retry: u32) -> Duration {
    let exp = base.saturating_mul(1u32 << (retry - 1).min(16)).min(cap);
    let half = exp / 2;
    let jitter_nanos = jitter_rng().u64(0..=half.as_nanos().min(u128::from(u64::MAX)) as u64);
    half + Duration::from_nanos(jitter_nanos)
}

/// A generator seeded from the clock and a counter. fastrand's global generator would ask for
/// `std::thread::current()`, which leaves a handle behind on threads the caller created (C).
fn jitter_rng() -> fastrand::Rng {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let clock = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let draw = DRAWS.fetch_add(1, Ordering::Relaxed);
    fastrand::Rng::with_seed(clock ^ draw.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_and_stay_under_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(350);
        for _ in 0..200 {
            let d1 = backoff_delay(base, cap, 1);
            assert!(d1 >= Duration::from_millis(50) && d1 <= Duration::from_millis(100));
            let d2 = backoff_delay(base, cap, 2);
            assert!(d2 >= Duration::from_millis(100) && d2 <= Duration::from_millis(200));
            let d5 = backoff_delay(base, cap, 5);
            assert!(d5 >= Duration::from_millis(175) && d5 <= cap);
        }
    }

    #[test]
    fn jitter_varies() {
        let base = Duration::from_millis(100);
        let delays: std::collections::HashSet<_> =
            (0..50).map(|_| backoff_delay(base, base, 1)).collect();
        assert!(delays.len() > 10);
    }
}

//! The time bounds of one exchange: the connect phase, and the total.
//!
//! A failure counts as "not sent" only when nothing of the request can have been written; the
//! only such failure reqwest reports is a connector error (`is_connect()`: DNS, TCP, TLS or a
//! proxy tunnel failed, or the pool could not hand out a connection), which hyper-util raises
//! before the request is given to any connection. Everything else may have been written.
//!
//! reqwest's own total timeout cannot be used for that: it runs from the start of the request,
//! so when it is shorter than the connect timeout (3 s with the default 10 s) it ends a stalled
//! connect as a plain timeout, indistinguishable from no answer after sending. So:
//!
//! 1. The total is ours ([`within`]), not reqwest's: a deadline `D = start + timeout` around the
//!    whole exchange (answer head and body), set for the connector as a task-local.
//! 2. The connect phase is its own bounded step ([`ConnectPhaseLayer`], a connector layer): a
//!    connect started for this exchange ends by `Dc = min(connect start + connect_timeout, D)`,
//!    and fails with a connect error as soon as it is polled at or after `Dc`.
//! 3. [`within`] reads the clock once, then polls the exchange, and reports the deadline only if
//!    that reading was at or after `D` and the exchange is still pending.
//!
//! Why that is right: while this request waits for its own connect, every poll of the exchange
//! polls that connect (hyper-util races the pool checkout against it in the request's task). So
//! the poll in which [`within`] sees `now >= D` first polls the connect, which sees a clock at
//! least as late, so `>= D >= Dc`, and fails: the exchange ends as a connect error, "not sent",
//! never as a timeout "after sending". When the deadline is reported, the request was no longer
//! waiting for a connect: it got a connection (fresh or pooled) and may have been written. A
//! total timeout shorter than the connect timeout therefore only shortens the connect phase.
//! Should an error ever take another path, it is reported as "after sending": the safe side.

use std::future::{Future, poll_fn};
use std::io;
use std::pin::{Pin, pin};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tower_layer::Layer;
use tower_service::Service;

tokio::task_local! {
    /// The deadline of the exchange being polled on this task.
    static EXCHANGE_DEADLINE: Instant;
}

/// The total deadline [`within`] reported, with the exchange still pending.
#[derive(Debug)]
pub(super) struct Elapsed;

/// Runs `exchange` until `deadline`; connects it starts end by then too (see the module docs).
pub(super) async fn within<F: Future>(
    deadline: Instant,
    exchange: F,
) -> Result<F::Output, Elapsed> {
    let mut exchange = pin!(EXCHANGE_DEADLINE.scope(deadline, exchange));
    let mut timer = pin!(sleep_until(deadline));
    poll_fn(|cx| {
        // Read before polling: a connect still pending at this reading fails in this poll.
        let now = Instant::now();
        if let Poll::Ready(output) = exchange.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        if now >= deadline {
            return Poll::Ready(Err(Elapsed));
        }
        if timer.as_mut().poll(cx).is_ready() {
            // The timer fired after the reading: poll again with a fresh one.
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    })
    .await
}

/// Bounds every connect by the connect timeout and by the deadline of the exchange that
/// started it, whichever comes first.
#[derive(Clone)]
pub(super) struct ConnectPhaseLayer {
    pub connect_timeout: Duration,
}

impl<S> Layer<S> for ConnectPhaseLayer {
    type Service = ConnectPhase<S>;

    fn layer(&self, inner: S) -> ConnectPhase<S> {
        ConnectPhase {
            inner,
            connect_timeout: self.connect_timeout,
        }
    }
}

#[derive(Clone)]
pub(super) struct ConnectPhase<S> {
    inner: S,
    connect_timeout: Duration,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, R> Service<R> for ConnectPhase<S>
where
    S: Service<R>,
    S::Future: Send + 'static,
    S::Response: 'static,
    S::Error: From<io::Error> + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, destination: R) -> Self::Future {
        let own = Instant::now() + self.connect_timeout;
        // Set while an exchange is polled; a connect started elsewhere has only its own bound.
        let exchange = EXCHANGE_DEADLINE.try_with(|d| *d).ok();
        let (deadline, why) = match exchange {
            Some(d) if d < own => (d, "no connection before the request timeout"),
            _ => (own, "no connection within the connect timeout"),
        };
        let connect = self.inner.call(destination);
        Box::pin(async move {
            let mut connect = pin!(connect);
            let mut timer = pin!(sleep_until(deadline));
            let timed_out = || io::Error::new(io::ErrorKind::TimedOut, why).into();
            poll_fn(|cx| {
                if Instant::now() >= deadline {
                    return Poll::Ready(Err(timed_out()));
                }
                if let Poll::Ready(result) = connect.as_mut().poll(cx) {
                    return Poll::Ready(result);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Err(timed_out()));
                }
                Poll::Pending
            })
            .await
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::pending;

    /// A connector that never connects, standing in for a SYN that is never answered.
    #[derive(Clone)]
    struct Stalled;

    impl Service<()> for Stalled {
        type Response = ();
        type Error = io::Error;
        type Future = BoxFuture<io::Result<()>>;

        fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn call(&mut self, _: ()) -> Self::Future {
            Box::pin(pending())
        }
    }

    fn connector(connect_timeout: Duration) -> ConnectPhase<Stalled> {
        ConnectPhaseLayer { connect_timeout }.layer(Stalled)
    }

    #[tokio::test]
    async fn a_stalled_connect_ends_as_a_connect_error_even_at_the_total_deadline() {
        // The total (100 ms) is shorter than the connect timeout (10 s), the case that used to
        // end as "no answer after sending".
        let deadline = Instant::now() + Duration::from_millis(100);
        let mut c = connector(Duration::from_secs(10));
        let result = within(deadline, async move { c.call(()).await }).await;
        let error = result
            .expect("the connect fails inside the exchange")
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("request timeout"), "{error}");
    }

    #[tokio::test]
    async fn the_connect_timeout_applies_when_it_is_the_shorter() {
        let started = Instant::now();
        let mut c = connector(Duration::from_millis(50));
        let deadline = started + Duration::from_secs(5);
        let error = within(deadline, async move { c.call(()).await })
            .await
            .unwrap()
            .unwrap_err();
        assert!(error.to_string().contains("connect timeout"), "{error}");
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn the_deadline_is_reported_when_no_connect_is_pending() {
        let deadline = Instant::now() + Duration::from_millis(50);
        assert!(within(deadline, pending::<()>()).await.is_err());
    }

    #[tokio::test]
    async fn a_connect_outside_an_exchange_has_its_own_bound() {
        let started = Instant::now();
        let error = connector(Duration::from_millis(50))
            .call(())
            .await
            .unwrap_err();
        assert!(error.to_string().contains("connect timeout"), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(50));
    }
}

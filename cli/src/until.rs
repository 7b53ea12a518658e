//! Stand-ins for the core's `dajisaas::Cancel` and `AsyncClient::pay_many_each_until` until they
//! land on main, over today's `AsyncClient::prepare_pay`: after `cancel()` no payment starts,
//! and those started run to their recorded outcome and are reported. (The core's version also
//! drops the started payments whose request was not yet written.) Switching is one change in
//! `pay.rs`: `use dajisaas::Cancel` and `client.pay_many_each_until(...)`; then this file goes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use dajisaas::{AsyncClient, Error, ErrorCode, PayManyItem, PayManySummary};

/// Tells a run to start nothing more.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// `AsyncClient::pay_many_each_until`'s contract: each finished order goes to `on_item` with its
/// position; after `cancel()` nothing new starts; orders with no item were not started.
pub async fn pay_many_each_until<F>(
    client: &AsyncClient,
    order_ids: Vec<String>,
    concurrency: usize,
    cancel: Cancel,
    mut on_item: F,
) -> dajisaas::Result<PayManySummary>
where
    F: FnMut(usize, PayManyItem) + Send + 'static,
{
    let mut running = tokio::task::JoinSet::new();
    let mut next = order_ids.into_iter().enumerate();
    let mut summary = PayManySummary::default();
    loop {
        while running.len() < concurrency && !cancel.is_cancelled() {
            let Some((index, id)) = next.next() else {
                break;
            };
            let client = client.clone();
            running.spawn(async move {
                let result = client.prepare_pay(id.clone()).await;
                (index, PayManyItem::new(id, result))
            });
        }
        match running.join_next().await {
            None => return Ok(summary),
            Some(Ok((index, item))) => {
                summary.add(item.outcome);
                on_item(index, item);
            }
            Some(Err(e)) => {
                return Err(Error::new(
                    ErrorCode::Internal,
                    format!("a payment task failed: {e}"),
                ));
            }
        }
    }
}

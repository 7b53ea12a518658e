//! `pay_many`: many orders paid through the one payment path (`Inner::prepare_pay`, journal
//! included), a bounded number at a time.
//!
//! Every id is checked first: one bad id and nothing is sent (the error names each bad id's
//! position). Repeats are dropped (the first kept). Then at most `concurrency` payments are in
//! flight: the ids are streamed, so that 10,000 orders never mean 10,000 futures at once. Each
//! payment is a task the core owns, like `prepare_pay`'s: dropping the run's future (or raising
//! its `Cancel`) stops new payments from starting and drops those whose request was not written
//! yet; those that may have been written still run to their recorded outcome. One order's
//! failure, even a panic, never stops the others. The results come back in input order.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use futures_util::{StreamExt, stream};

use crate::batch::{PayManyItem, PayManyReport, PayManySummary};
use crate::cancel::Cancel;
use crate::client::Inner;
use crate::error::{Error, Result};
use crate::order_id::validate_and_dedup_order_ids;
use crate::payment_log::payment_log;

/// Payments in flight at once when the caller does not say.
pub const DEFAULT_PAY_MANY_CONCURRENCY: usize = 4;
/// Most payments in flight at once.
pub const MAX_PAY_MANY_CONCURRENCY: usize = 64;

/// Called once per finished order, in the order they finish.
pub(crate) type Progress = Arc<dyn Fn(&PayManyItem) + Send + Sync>;

fn check_concurrency(concurrency: usize) -> Result<()> {
    if (1..=MAX_PAY_MANY_CONCURRENCY).contains(&concurrency) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "concurrency is {concurrency}; it must be 1 to {MAX_PAY_MANY_CONCURRENCY} \
             (default {DEFAULT_PAY_MANY_CONCURRENCY})"
        )))
    }
}

impl Inner {
    pub(crate) async fn pay_many(
        self: Arc<Self>,
        order_ids: Vec<String>,
        concurrency: usize,
        progress: Option<Progress>,
    ) -> Result<PayManyReport> {
        let mut slots: Vec<Option<PayManyItem>> = Vec::new();
        let summary = self
            .pay_many_each(order_ids, concurrency, Cancel::new(), |index, item| {
                if slots.len() <= index {
                    slots.resize_with(index + 1, || None);
                }
                if let Some(progress) = &progress {
                    if catch_unwind(AssertUnwindSafe(|| progress(&item))).is_err() {
                        payment_log!(warn, order = item.order_id.as_str(); "the pay_many progress callback panicked on order {}; the run goes on", item.order_id);
                    }
                }
                slots[index] = Some(item);
            })
            .await?;
        let results: Vec<PayManyItem> = slots.into_iter().flatten().collect();
        debug_assert_eq!(results.len(), summary.total());
        Ok(PayManyReport::new(results))
    }

    /// The run itself: hands each finished order to `on_item` with its position among the
    /// distinct orders, in the order they finish, and keeps nothing but the count of each outcome.
    /// Once `cancel` is raised (or this future is dropped), nothing new starts, payments whose
    /// request was not written yet are dropped (no item: not started), and those that may have
    /// been written run to their recorded outcome and are reported.
    pub(crate) async fn pay_many_each(
        self: Arc<Self>,
        order_ids: Vec<String>,
        concurrency: usize,
        cancel: Cancel,
        mut on_item: impl FnMut(usize, PayManyItem),
    ) -> Result<PayManySummary> {
        check_concurrency(concurrency)?;
        let ids = validate_and_dedup_order_ids(&order_ids)?;
        drop(order_ids);
        let runtime = self.runtime()?;
        // Dropping the run gives it up, as a raised flag does.
        let _give_up_on_drop = cancel.on_drop();
        let not_cancelled = {
            let cancel = cancel.clone();
            move |_: &(usize, String)| std::future::ready(!cancel.is_cancelled())
        };
        let payments = stream::iter(ids.into_iter().enumerate())
            .take_while(not_cancelled)
            .map(|(index, id)| {
                let inner = self.clone();
                let runtime = runtime.clone();
                let cancel = cancel.clone();
                async move {
                    let result = runtime
                        .run_owned(inner.prepare_pay(id.clone(), cancel))
                        .await;
                    (index, PayManyItem::new(id, result))
                }
            })
            .buffer_unordered(concurrency);
        let mut payments = std::pin::pin!(payments);
        let mut summary = PayManySummary::default();
        while let Some((index, item)) = payments.next().await {
            if item.error().is_some_and(Error::is_given_up) {
                continue;
            }
            summary.add(item.outcome);
            on_item(index, item);
        }
        Ok(summary)
    }
}

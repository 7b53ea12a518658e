//! `GET /alibaba/alipay/url/get`: cashier links for batches of orders.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde_json::Value;

use crate::client::Inner;
use crate::envelope::{field, lenient_bool, lenient_string};
use crate::error::{Error, ErrorCode, Result};
use crate::model::PayUrl;
use crate::order_id::{MAX_IDS_PER_LINK, validate_and_dedup_order_ids, validate_link_ids};
use crate::retry::{Step, with_retries};
use crate::sign::Params;
use crate::transport::{Method, Reply, SignedRequest, send};

/// The batch size the gateway advises for `pay_urls`: more ids per link risk timeouts.
pub const DEFAULT_BATCH_SIZE: usize = 10;

/// The path of the payment-link endpoint.
pub const PAY_URL_PATH: &str = "/alibaba/alipay/url/get";

impl Inner {
    pub(crate) async fn pay_url<S: AsRef<str>>(&self, order_ids: &[S]) -> Result<PayUrl> {
        self.fetch_link(validate_link_ids(order_ids)?).await
    }

    pub(crate) async fn pay_urls<S: AsRef<str>>(
        &self,
        order_ids: &[S],
        batch_size: usize,
    ) -> Result<Vec<PayUrl>> {
        if !(1..=MAX_IDS_PER_LINK).contains(&batch_size) {
            return Err(Error::invalid(format!(
                "batch_size is {batch_size}; it must be 1 to {MAX_IDS_PER_LINK}"
            )));
        }
        let ids = validate_and_dedup_order_ids(order_ids)?;
        let batches: Vec<Vec<String>> = ids.chunks(batch_size).map(<[String]>::to_vec).collect();
        let total = batches.len();
        let fetches = batches
            .into_iter()
            .enumerate()
            .map(|(i, batch)| async move {
                let first = batch[0].clone();
                self.fetch_link(batch).await.map_err(|e| {
                    e.with_context(&format!(
                        "batch {} of {total} (starting at order {first})",
                        i + 1
                    ))
                })
            });
        stream::iter(fetches)
            .buffered(self.config.max_concurrent_batches)
            .try_collect()
            .await
    }

    /// Fetches one link for ids that are already validated.
    async fn fetch_link(&self, ids: Vec<String>) -> Result<PayUrl> {
        let mut params = Params::new();
        let list = self.config.order_id_format.render(&ids);
        params.insert("orderIdList".into(), Value::String(list));
        let request = SignedRequest::new(&self.config, Method::Get, PAY_URL_PATH, params)?;
        let request = &request;
        let ((url, trace_id, data), attempts) = with_retries(&self.config, |n| async move {
            match send(&self.http(), &self.config, request, n).await {
                Ok(reply) => link_step(reply),
                Err(failure) => Step::for_read(failure),
            }
        })
        .await?;
        Ok(PayUrl {
            url,
            order_ids: ids,
            trace_id,
            attempts,
            data,
        })
    }
}

fn link_step(reply: Reply) -> Step<(String, Option<String>, Value)> {
    let Reply { envelope } = reply;
    let data = envelope.data;
    let trace_id = envelope.trace_id;
    if lenient_bool(field(&data, "success")) == Some(false) {
        let why = lenient_string(field(&data, "erroMsg"))
            .or_else(|| lenient_string(field(&data, "errorMsg")))
            .unwrap_or_else(|| "(no message)".to_string());
        let code = lenient_string(field(&data, "errorCode")).unwrap_or_else(|| "-".to_string());
        return Step::Fail(
            Error::new(
                ErrorCode::Api,
                format!("the gateway could not make a link (errorCode {code}): {why}"),
            )
            .with_trace_id(trace_id),
        );
    }
    match field(&data, "payUrl") {
        Value::String(url) if !url.is_empty() => Step::Done((url.clone(), trace_id, data)),
        _ => Step::Fail(
            Error::new(ErrorCode::Decode, "the answer has no payUrl").with_trace_id(trace_id),
        ),
    }
}

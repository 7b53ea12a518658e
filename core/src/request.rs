//! Any other gateway endpoint through one generic signed call.

use serde_json::Value;

use crate::client::Inner;
use crate::error::Result;
use crate::retry::{Step, with_retries};
use crate::sign::Params;
use crate::transport::{Method, SignedRequest, send};

impl Inner {
    pub(crate) async fn request(
        &self,
        method: Method,
        path: &str,
        params: Params,
    ) -> Result<Value> {
        let request = SignedRequest::new(&self.config, method, path, params)?;
        let request = &request;
        let (data, _attempts) = with_retries(&self.config, |n| async move {
            match send(&self.http(), &self.config, request, n).await {
                Ok(reply) => Step::Done(reply.envelope.data),
                // Only GETs are known to be reads; a POST may create or cancel an order.
                Err(failure) if method == Method::Get => Step::for_read(failure),
                Err(failure) => Step::for_write(failure),
            }
        })
        .await?;
        Ok(data)
    }
}

//! Every request body is read whole, within a deadline and a size limit, before any handler
//! runs: a client that stops sending holds its connection for the deadline at most, and one
//! that sends too much is answered at the limit, whatever route it named.

use std::time::Duration;

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::header;
use http_body_util::BodyExt;

use super::error::ApiError;

/// The request with its body read into memory, or why it could not be.
pub async fn buffer(request: Request, limit_bytes: usize, deadline: Duration) -> Result<Request, ApiError> {
    if request.body().is_end_stream() {
        return Ok(request);
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit_bytes as u64) {
        return Err(ApiError::BodyTooLarge { limit_bytes });
    }
    let (parts, body) = request.into_parts();
    let bytes = read(body, limit_bytes, deadline).await?;
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// At most `limit_bytes` of `body`, all of it within `deadline`.
pub async fn read(body: Body, limit_bytes: usize, deadline: Duration) -> Result<Bytes, ApiError> {
    let limited = http_body_util::Limited::new(body, limit_bytes);
    let collected = tokio::time::timeout(deadline, limited.collect())
        .await
        .map_err(|_| ApiError::RequestTimeout {
            seconds: deadline.as_secs(),
        })?;
    match collected {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => {
            Err(ApiError::BodyTooLarge { limit_bytes })
        }
        Err(_) => Err(ApiError::MalformedRequest {
            message: "The request body could not be read.".into(),
        }),
    }
}

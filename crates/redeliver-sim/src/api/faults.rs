//! How injected faults answer: GitHub-like error bodies, and the 200 with a cut-off body.

use super::error::{ApiError, REST_DOCS, json_response};
use crate::fault::Fault;
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

const SECONDARY_DOCS: &str =
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// GitHub's description of a 422 on the redelivery endpoints (the `validation_failed` response
/// of its OpenAPI description), the only text it publishes for a refused redelivery.
pub(crate) const REDELIVERY_REFUSED: &str = "Validation failed, or the endpoint has been spammed.";

/// The answer of a fault that replaces normal handling (`docs`: the endpoint's page); `None` for
/// the faults that change how the normal answer is given.
pub(crate) fn answer(fault: &Fault, request_id: &str, docs: &str) -> Option<Response> {
    let secondary = || {
        format!(
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \
             If you reach out to GitHub Support for help, please include the request ID {request_id}."
        )
    };
    let response = match fault {
        Fault::Status(code) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let message = status.canonical_reason().unwrap_or("Server Error");
            json_response(status, &json!({ "message": message, "documentation_url": REST_DOCS }))
        }
        Fault::SecondaryRateLimit { retry_after } => {
            ApiError::new(StatusCode::FORBIDDEN, &secondary(), SECONDARY_DOCS).retry_after(*retry_after).into_response()
        }
        Fault::TooManyRequests { retry_after } => {
            ApiError::new(StatusCode::TOO_MANY_REQUESTS, &secondary(), SECONDARY_DOCS)
                .retry_after(*retry_after)
                .into_response()
        }
        Fault::Unauthorized => ApiError::unauthorized("Bad credentials").into_response(),
        Fault::RedeliveryRefused => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, REDELIVERY_REFUSED, docs).into_response()
        }
        Fault::Slow(_) | Fault::MalformedJson | Fault::EmptyPageWithNext | Fault::RepeatItems { .. } => return None,
    };
    Some(response)
}

/// An empty page (`[]`) whose `Link: rel="next"` asks for the same items again under a cursor
/// of its own (a `page_token` the listing ignores), as a cursor-paged API does when a page comes
/// back empty: a new URL, so it reads as progress, not as a `Link` that loops.
pub(crate) fn empty_page(root: &str, path: &str, query: &str) -> Response {
    let mut response = json_response(StatusCode::OK, &json!([]));
    let token = format!("page_token={}", fastrand::u64(..));
    let url = if query.is_empty() { format!("{root}{path}?{token}") } else { format!("{root}{path}?{query}&{token}") };
    if let Ok(link) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\"")) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The normal answer turned into a 200 whose JSON body stops halfway.
pub(crate) async fn truncate(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let cut = if bytes.len() >= 2 {
        bytes.slice(..bytes.len() / 2)
    } else {
        // Even an empty answer must come back as invalid JSON.
        axum::body::Bytes::from_static(b"{\"")
    };
    parts.status = StatusCode::OK;
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    Response::from_parts(parts, Body::from(cut))
}

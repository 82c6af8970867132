//! GitHub-shaped error answers: `{"message", "documentation_url", "status"}` with the right code.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// GitHub's generic documentation link, used where no endpoint page applies.
pub(crate) const REST_DOCS: &str = "https://docs.github.com/rest";

/// An error answer.
#[derive(Clone, Debug)]
pub(crate) struct ApiError {
    pub status: StatusCode,
    pub message: String,
    pub documentation_url: String,
    /// The `errors` array of a validation failure.
    pub errors: Option<Value>,
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, message: &str, documentation_url: &str) -> ApiError {
        ApiError {
            status,
            message: message.to_string(),
            documentation_url: documentation_url.to_string(),
            errors: None,
            retry_after: None,
        }
    }

    pub(crate) fn unauthorized(message: &str) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, message, REST_DOCS)
    }

    pub(crate) fn not_found(documentation_url: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "Not Found", documentation_url)
    }

    /// 422 "Validation Failed" with one custom error, as GitHub words refused operations.
    pub(crate) fn validation(resource: &str, message: &str, documentation_url: &str) -> ApiError {
        let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed", documentation_url);
        error.errors = Some(json!([{ "resource": resource, "code": "custom", "message": message }]));
        error
    }

    pub(crate) fn retry_after(mut self, seconds: Option<u64>) -> ApiError {
        self.retry_after = seconds;
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "message": self.message,
            "documentation_url": self.documentation_url,
            "status": self.status.as_u16().to_string(),
        });
        if let Some(errors) = self.errors {
            body["errors"] = errors;
        }
        let mut response = json_response(self.status, &body);
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// A JSON answer with GitHub's content type.
pub(crate) fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    response
}

//! What each endpoint costs against GitHub's secondary limits, and the refusal GitHub answers
//! when one is exceeded (the model itself is in `crate::secondary`).

use super::error::ApiError;
use super::routes::{Op, Route};
use crate::secondary::{Cost, retry_after_secs};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::time::Duration;

const SECONDARY_DOCS: &str =
    "https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits";

/// A `GET` costs 1 point, a state-changing request 5; every state-changing request but minting an
/// installation token creates content.
pub(crate) fn cost(route: &Route) -> Cost {
    let (endpoint, points, content) = match route {
        Route::Deliveries(_, Op::List) => ("GET deliveries", 1, false),
        Route::Deliveries(_, Op::Get(_)) => ("GET delivery", 1, false),
        Route::Deliveries(_, Op::Config) => ("GET hook config", 1, false),
        Route::Deliveries(_, Op::Redeliver(_)) => ("POST attempts", 5, true),
        Route::GetVariable { .. } => ("GET variable", 1, false),
        Route::CreateVariable { .. } => ("POST variables", 5, true),
        Route::UpdateVariable { .. } => ("PATCH variable", 5, true),
        Route::DeleteVariable { .. } => ("DELETE variable", 5, true),
        Route::RepoInstallation { .. } | Route::OrgInstallation { .. } => ("GET installation", 1, false),
        Route::CreateInstallationToken { .. } => ("POST access_tokens", 5, false),
        Route::OrgRepos { .. } => ("GET org repos", 1, false),
        Route::Hooks { .. } => ("GET hooks", 1, false),
        Route::InstallationRepos => ("GET installation repositories", 1, false),
        Route::Organizations => ("GET organizations", 1, false),
    };
    Cost { endpoint, points, content }
}

/// GitHub's 403 for a secondary limit, with `Retry-After`.
pub(crate) fn refusal(wait: Duration, request_id: &str) -> Response {
    let message = format!(
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. \
         If you reach out to GitHub Support for help, please include the request ID {request_id}."
    );
    ApiError::new(StatusCode::FORBIDDEN, &message, SECONDARY_DOCS)
        .retry_after(Some(retry_after_secs(wait)))
        .into_response()
}

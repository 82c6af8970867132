//! `X-GitHub-Api-Version`: a request may name a REST API version; GitHub answers one it does
//! not support with 400, and says which version it used in `x-github-api-version-selected`.
//!
//! See <https://docs.github.com/rest/about-the-rest-api/api-versions>: "If you specify an API
//! version that is no longer supported, you will receive a `400` error."

use super::error::ApiError;
use axum::http::StatusCode;

/// The versions served, newest first; the oldest is the default when none is asked for.
pub(crate) const SUPPORTED: [&str; 2] = ["2026-03-10", "2022-11-28"];
/// The version used when a request names none.
pub(crate) const DEFAULT: &str = "2022-11-28";
const VERSIONS_DOCS: &str = "https://docs.github.com/rest/about-the-rest-api/api-versions";

/// The version a request gets, or GitHub's 400 for one it does not support.
pub(crate) fn select(requested: Option<&str>) -> Result<&'static str, ApiError> {
    let Some(requested) = requested.map(str::trim) else {
        return Ok(DEFAULT);
    };
    SUPPORTED.iter().find(|v| **v == requested).copied().ok_or_else(|| {
        // The wording GitHub answers (seen for "v3" in 2023), with today's two versions.
        let message = format!(
            "The version you specified in the \"X-GitHub-Api-Version\" request header, \"{requested}\", is not a \
             supported version. The following versions are currently supported: \"{}\" (most recent), \"{}\".",
            SUPPORTED[0], SUPPORTED[1]
        );
        ApiError::new(StatusCode::BAD_REQUEST, &message, VERSIONS_DOCS)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_versions_are_selected_and_others_refused() {
        assert_eq!(select(None).unwrap(), "2022-11-28");
        assert_eq!(select(Some("2026-03-10")).unwrap(), "2026-03-10");
        let refused = select(Some("v3")).unwrap_err();
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.message.contains("\"v3\", is not a supported version"), "{}", refused.message);
    }
}

//! Query parameters of the deliveries lists, and the `Link` header that leads to the next page.
//!
//! GitHub pages deliveries with an opaque `cursor` ("the starting delivery from which the page of
//! deliveries is fetched") and says to follow the `link` header rather than build URLs.

use super::error::ApiError;
use crate::world::{DeliveryRecord, StatusFilter};
use axum::http::StatusCode;
use url::form_urlencoded;

const DEFAULT_PER_PAGE: usize = 30;

/// The parsed list query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ListQuery {
    pub per_page: usize,
    /// The id of the first delivery of the requested page.
    pub cursor: Option<u64>,
    pub status: Option<StatusFilter>,
    /// The older `redelivery=true|false` filter some GHES versions have.
    pub redelivery: Option<bool>,
}

impl ListQuery {
    pub(crate) fn parse(query: &str, per_page_max: usize, docs: &str) -> Result<ListQuery, ApiError> {
        let mut parsed =
            ListQuery { per_page: DEFAULT_PER_PAGE.min(per_page_max), cursor: None, status: None, redelivery: None };
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                // Like GitHub: nonsense falls back to the default, too much is clamped.
                "per_page" => {
                    if let Ok(n @ 1..) = value.parse::<usize>() {
                        parsed.per_page = n.min(per_page_max);
                    }
                }
                "cursor" => parsed.cursor = Some(cursor_id(&value).ok_or_else(|| bad_cursor(docs))?),
                "status" => {
                    parsed.status = Some(match value.as_ref() {
                        "success" => StatusFilter::Success,
                        "failure" => StatusFilter::Failure,
                        _ => return Err(invalid("status", &value, docs)),
                    })
                }
                "redelivery" => {
                    parsed.redelivery = Some(match value.as_ref() {
                        "true" => true,
                        "false" => false,
                        _ => return Err(invalid("redelivery", &value, docs)),
                    })
                }
                _ => {}
            }
        }
        Ok(parsed)
    }

    pub(crate) fn admits(&self, record: &DeliveryRecord) -> bool {
        self.status.is_none_or(|s| s.admits(record.status_code))
            && self.redelivery.is_none_or(|r| r == record.redelivery)
    }
}

/// The cursor that starts a page at delivery `id`.
pub(crate) fn cursor_for(id: u64) -> String {
    format!("v1_{id}")
}

fn cursor_id(cursor: &str) -> Option<u64> {
    cursor.strip_prefix("v1_")?.parse().ok()
}

pub(crate) fn bad_cursor(docs: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "Invalid cursor", docs)
}

fn invalid(field: &str, value: &str, docs: &str) -> ApiError {
    let mut error = ApiError::validation("HookDelivery", &format!("{value:?} is not a valid {field}"), docs);
    error.errors = Some(serde_json::json!([{ "resource": "HookDelivery", "field": field, "code": "invalid" }]));
    error
}

/// `<{url}>; rel="next"`: the same request (same base, prefix, path and parameters) with the
/// cursor moved to `next_cursor`.
pub(crate) fn next_link(root: &str, path: &str, query: &str, next_cursor: &str) -> String {
    let mut serializer = form_urlencoded::Serializer::new(String::new());
    for (key, value) in form_urlencoded::parse(query.as_bytes()) {
        if key != "cursor" {
            serializer.append_pair(&key, &value);
        }
    }
    serializer.append_pair("cursor", next_cursor);
    format!("<{root}{path}?{}>; rel=\"next\"", serializer.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_page_defaults_and_clamps() {
        let docs = "d";
        assert_eq!(ListQuery::parse("", 100, docs).unwrap().per_page, 30);
        assert_eq!(ListQuery::parse("per_page=500", 100, docs).unwrap().per_page, 100);
        assert_eq!(ListQuery::parse("per_page=0", 100, docs).unwrap().per_page, 30);
        assert_eq!(ListQuery::parse("per_page=x", 100, docs).unwrap().per_page, 30);
        assert!(ListQuery::parse("status=nope", 100, docs).is_err());
        assert!(ListQuery::parse("cursor=garbage", 100, docs).is_err());
    }

    #[test]
    fn next_link_keeps_other_parameters_and_replaces_the_cursor() {
        let link = next_link(
            "http://127.0.0.1:9/api/v3",
            "/app/hook/deliveries",
            "per_page=2&status=failure&cursor=v1_1",
            "v1_5",
        );
        assert_eq!(
            link,
            "<http://127.0.0.1:9/api/v3/app/hook/deliveries?per_page=2&status=failure&cursor=v1_5>; rel=\"next\""
        );
    }
}

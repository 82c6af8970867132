//! Conditional requests: a `GET` answered 200 carries an `ETag`; the same request with
//! `If-None-Match` naming it is answered `304 Not Modified` with no body, and costs no primary
//! rate limit ("Making a conditional request does not count against your primary rate limit if a
//! 304 response is returned and the request was made while correctly authorized with an
//! Authorization header", <https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api>).

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

/// A weak validator over the body and the `Link` header, as GitHub's list answers have:
/// `W/"<hex>"`.
fn etag(body: &[u8], link: Option<&HeaderValue>) -> String {
    let mut hash = Sha256::new();
    hash.update(body);
    if let Some(link) = link {
        hash.update(b"\n");
        hash.update(link.as_bytes());
    }
    format!("W/\"{}\"", hex::encode(&hash.finalize()[..16]))
}

/// Whether `If-None-Match` names `etag` (weak comparison, lists and `*` allowed).
fn matches(if_none_match: &str, etag: &str) -> bool {
    let bare = |t: &str| t.trim().trim_start_matches("W/").to_string();
    if_none_match.split(',').any(|t| t.trim() == "*" || bare(t) == bare(etag))
}

/// Adds the `ETag` (and GitHub's caching headers) to a 200 answer to a `GET`; answers 304 instead
/// when the client already has it. Returns the answer and whether it is a 304.
pub(crate) async fn apply(response: Response, if_none_match: Option<&str>) -> (Response, bool) {
    let (mut parts, body) = response.into_parts();
    let bytes: Bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
    let tag = etag(&bytes, parts.headers.get(header::LINK));
    let headers: &mut HeaderMap = &mut parts.headers;
    if let Ok(value) = HeaderValue::from_str(&tag) {
        headers.insert(header::ETAG, value);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=60, s-maxage=60"));
    headers.insert(header::VARY, HeaderValue::from_static("Accept, Authorization, Cookie, X-GitHub-OTP"));
    if if_none_match.is_some_and(|inm| matches(inm, &tag)) {
        parts.status = StatusCode::NOT_MODIFIED;
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.remove(header::CONTENT_TYPE);
        return (Response::from_parts(parts, Body::empty()), true);
    }
    (Response::from_parts(parts, Body::from(bytes)), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_compares_weakly_and_accepts_lists_and_star() {
        let tag = etag(b"[]", None);
        assert!(tag.starts_with("W/\"") && tag.ends_with('"'));
        assert!(matches(&tag, &tag));
        assert!(matches(tag.trim_start_matches("W/"), &tag));
        assert!(matches(&format!("\"other\", {tag}"), &tag));
        assert!(matches("*", &tag));
        assert!(!matches("\"other\"", &tag));
        assert_ne!(etag(b"[]", None), etag(b"[1]", None));
        let link = HeaderValue::from_static("<x>; rel=\"next\"");
        assert_ne!(etag(b"[]", None), etag(b"[]", Some(&link)), "a page whose next page changed is new");
    }
}

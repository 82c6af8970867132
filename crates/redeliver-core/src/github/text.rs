//! The sentences the client puts into an [`super::ApiError`] from what GitHub sent: its error
//! `message`, a short excerpt of a body that is not JSON, what kind of body came, and what failed
//! when no answer came. They quote hosts, paths, statuses and GitHub's own words, never a request
//! header, a token or a body that may hold one.

use reqwest::header::HeaderMap;
use std::time::Duration;
use url::Url;

/// A header's value as text, `None` when absent or not visible ASCII.
pub(crate) fn header_text<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// GitHub's error `message`, with any validation `errors[]` details; for a non-JSON body, a
/// short excerpt of it. Empty for a 2xx.
pub(crate) fn error_message(status: u16, body: &[u8]) -> String {
    if (200..300).contains(&status) {
        return String::new();
    }
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body)
        && let Some(message) = json.get("message").and_then(|m| m.as_str())
    {
        let details: Vec<String> = json
            .get("errors")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .filter_map(|e| match e {
                serde_json::Value::String(s) => Some(s.clone()),
                other => other.get("message").or_else(|| other.get("code")).and_then(|m| m.as_str()).map(str::to_owned),
            })
            .collect();
        return if details.is_empty() { message.to_owned() } else { format!("{message} ({})", details.join("; ")) };
    }
    match one_line(body, 200) {
        Some(text) => text,
        None => format!("HTTP {status} without a message"),
    }
}

/// A body as one line of at most `max` characters (then `…`), `None` when it is blank.
fn one_line(body: &[u8], max: usize) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    (!text.is_empty()).then(|| crate::text::excerpt(&text, max))
}

/// A quoted excerpt of a body that should have been JSON, with its content type: for a list
/// page, which holds no secrets, so that a proxy's error page can be recognised.
pub(crate) fn describe_body(headers: &HeaderMap, body: &[u8]) -> String {
    let content_type = content_type(headers);
    match one_line(body, 80) {
        Some(text) => format!("{text:?} ({content_type})"),
        None => format!("an empty body ({content_type})"),
    }
}

/// The content type and size of a body, never its text (it may hold a token).
pub(crate) fn describe_body_kind(headers: &HeaderMap, body: &[u8]) -> String {
    format!("{} bytes of {}", body.len(), content_type(headers))
}

fn content_type(headers: &HeaderMap) -> String {
    header_text(headers, "content-type").unwrap_or("no content type").to_owned()
}

/// Names what failed, with the host and path but never headers or credentials.
pub(crate) fn transport_detail(e: &reqwest::Error, url: &Url, timeout: Duration) -> String {
    let host = url.host_str().unwrap_or("");
    let place = match url.port() {
        Some(port) => format!("{host}:{port}{}", url.path()),
        None => format!("{host}{}", url.path()),
    };
    if e.is_timeout() {
        return format!("no answer from {place} within {} s", timeout.as_secs_f64());
    }
    // The innermost cause is the useful part ("Connection refused (os error 111)").
    let mut cause: &dyn std::error::Error = e;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let what = if e.is_connect() { "could not connect to" } else { "the connection failed while talking to" };
    format!("{what} {place}: {cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_from_bodies() {
        assert_eq!(error_message(404, br#"{"message":"Not Found","documentation_url":"x"}"#), "Not Found");
        assert_eq!(
            error_message(422, br#"{"message":"Validation Failed","errors":[{"resource":"Hook","code":"custom","message":"too old"}]}"#),
            "Validation Failed (too old)"
        );
        assert_eq!(
            error_message(502, b"<html>\n<body>Bad   gateway</body></html>"),
            "<html> <body>Bad gateway</body></html>"
        );
        assert_eq!(error_message(503, b""), "HTTP 503 without a message");
        assert_eq!(error_message(500, "x".repeat(500).as_bytes()).chars().count(), 201);
        assert_eq!(error_message(200, b"{\"message\":\"fine\"}"), "");
    }

    #[test]
    fn bodies_are_described_in_one_short_line() {
        let mut headers = HeaderMap::new();
        assert_eq!(describe_body(&headers, b"  \n "), "an empty body (no content type)");
        headers.insert("content-type", "text/html".parse().unwrap());
        assert_eq!(describe_body(&headers, b"<p>\n  proxy   error</p>"), "\"<p> proxy error</p>\" (text/html)");
        let long = describe_body(&headers, "é".repeat(100).as_bytes());
        assert!(long.starts_with(&format!("\"{}…\"", "é".repeat(80))), "{long}");
        assert_eq!(describe_body_kind(&headers, b"{\"token\":\"ghs_secret\"}"), "22 bytes of text/html");
    }
}

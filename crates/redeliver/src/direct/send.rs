//! One archived event POSTed straight to a receiver, as GitHub would: the payload serialized
//! once (JSON, or `payload=<urlencoded JSON>` for a `form` hook), GitHub's headers from the
//! archived request (the same `X-GitHub-Delivery` GUID, which receivers deduplicate on), and the
//! signatures computed with the hook's secret over the exact bytes sent. Each post is written to
//! the ledger before it is sent (`replayed` in `history`) and completed after; a 2xx resolves the
//! event, so GitHub's side redelivers it no more.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use redeliver_core::secret::Secret;
use redeliver_core::state::{ArchivedRecord, Ledger, RedeliveryState, StateError};
use std::time::{Duration, Instant};

/// GitHub's timeout for a webhook: 10 s on github.com, 30 s on Enterprise Server.
const TIMEOUT: Duration = Duration::from_secs(10);
const GHES_TIMEOUT: Duration = Duration::from_secs(30);

/// The request headers of the archived record that are sent again as they were.
const KEPT_HEADERS: [&str; 6] = [
    "X-GitHub-Delivery",
    "X-GitHub-Event",
    "X-GitHub-Hook-ID",
    "X-GitHub-Hook-Installation-Target-ID",
    "X-GitHub-Hook-Installation-Target-Type",
    "User-Agent",
];

/// What the receiver did with one post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 2xx: the event is delivered.
    Delivered,
    /// Another status.
    Refused,
    /// No answer (connection refused, timeout).
    Unreachable,
}

impl Answer {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Delivered => "delivered",
            Self::Refused => "refused",
            Self::Unreachable => "unreachable",
        }
    }
}

/// One post's result.
#[derive(Debug, Clone)]
pub struct Posted {
    pub answer: Answer,
    pub status: Option<u16>,
    pub duration_ms: u64,
    /// Why there was no answer (never the URL: it may carry a password).
    pub detail: Option<String>,
}

/// The HTTP client replays go out with: no redirects (GitHub follows none).
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()
}

/// Whether this record's hook posts as a form.
pub fn is_form(record: &ArchivedRecord) -> bool {
    record.content_type.as_deref() == Some("form")
}

/// The `Content-Type` a replay of this record carries.
pub fn content_type(record: &ArchivedRecord) -> &'static str {
    if is_form(record) { "application/x-www-form-urlencoded" } else { "application/json" }
}

/// Writes the post down (under the caller's lock), sends it to `url` and records the answer:
/// `replayed` in the ledger's history with the status and time; a 2xx resolves the event.
pub async fn deliver(
    http: &reqwest::Client,
    ledger: &Ledger,
    record: &ArchivedRecord,
    url: &str,
    secret: Option<&Secret>,
    now: DateTime<Utc>,
) -> Result<Posted, StateError> {
    let body = body(&record.payload, is_form(record));
    let headers = headers(record, &body, content_type(record), secret);
    let row = ledger.begin_replay(&record.target, &record.guid, &record.event, record.delivery_id, now)?;
    let timeout = if record.target.contains("api.github.com") { TIMEOUT } else { GHES_TIMEOUT };
    let started = Instant::now();
    let mut request = http.post(url).timeout(timeout).body(body);
    for (name, value) in &headers {
        request = request.header(name.as_str(), value.as_str());
    }
    let answer = request.send().await;
    let ms = started.elapsed().as_millis() as u64;
    Ok(match answer {
        Ok(response) => {
            let status = response.status().as_u16();
            ledger.complete(row, RedeliveryState::Replayed, Some(&format!("HTTP {status} in {ms} ms")))?;
            if response.status().is_success() {
                let first_seen = record.delivered_at.unwrap_or(now);
                ledger.resolve_delivered(&record.target, &record.guid, &record.event, first_seen, now)?;
                Posted { answer: Answer::Delivered, status: Some(status), duration_ms: ms, detail: None }
            } else {
                Posted { answer: Answer::Refused, status: Some(status), duration_ms: ms, detail: None }
            }
        }
        Err(e) => {
            let detail = format!("no answer in {ms} ms: {}", describe(&e));
            ledger.complete(row, RedeliveryState::Replayed, Some(&detail))?;
            Posted { answer: Answer::Unreachable, status: None, duration_ms: ms, detail: Some(detail) }
        }
    })
}

/// The error without its URL (reqwest prints the URL, which may carry a password or a token).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else if e.is_builder() {
        "not a URL that can be posted to".into()
    } else {
        "the request failed".into()
    }
}

/// A receiver's URL as it may be printed, kept in JSON or shown on the status page: a password
/// in it becomes `***` (the user name stays, to tell two apart); text that is no URL is not
/// shown at all.
pub fn shown_url(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "(not a URL)".into(),
    }
}

/// The payload serialized once: the JSON itself, or a form's `payload=<urlencoded JSON>`.
pub fn body(payload: &serde_json::Value, form: bool) -> Vec<u8> {
    let json = serde_json::to_vec(payload).unwrap_or_default();
    if form {
        let mut out = b"payload=".to_vec();
        out.extend(url::form_urlencoded::byte_serialize(&json).flat_map(str::bytes));
        out
    } else {
        json
    }
}

/// GitHub's headers for this body: those archived, the content type, and the signatures.
fn headers(r: &ArchivedRecord, body: &[u8], content_type: &str, secret: Option<&Secret>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
            Some((name.to_string(), value?))
        })
        .collect();
    if !out.iter().any(|(k, _)| k == "X-GitHub-Delivery") {
        out.push(("X-GitHub-Delivery".into(), r.guid.clone()));
    }
    if !out.iter().any(|(k, _)| k == "X-GitHub-Event") {
        out.push(("X-GitHub-Event".into(), r.event.clone()));
    }
    out.push(("Content-Type".into(), content_type.into()));
    if let Some(secret) = secret {
        let (sha256, sha1) = sign(secret, body);
        out.push(("X-Hub-Signature-256".into(), format!("sha256={sha256}")));
        out.push(("X-Hub-Signature".into(), format!("sha1={sha1}")));
    }
    out
}

/// HMAC-SHA256 (`X-Hub-Signature-256`) and HMAC-SHA1 (the legacy `X-Hub-Signature`) of `body`,
/// hex; HMAC takes a key of any length, so neither can fail.
fn sign(secret: &Secret, body: &[u8]) -> (String, String) {
    let key = secret.expose().as_bytes();
    let sha256 = Hmac::<sha2::Sha256>::new_from_slice(key).map(|mut m| {
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    });
    let sha1 = Hmac::<sha1::Sha1>::new_from_slice(key).map(|mut m| {
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    });
    (sha256.unwrap_or_default(), sha1.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's own example (docs: "Validating webhook deliveries"), and the SHA-1 of the same.
    #[test]
    fn signatures_match_githubs_example() {
        let (sha256, sha1) = sign(&Secret::new("It's a Secret to Everybody"), b"Hello, World!");
        assert_eq!(sha256, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        assert_eq!(sha1, "01dc10d0c83e72ed246219cdd91669667fe2ca59");
    }

    #[test]
    fn a_form_body_is_the_urlencoded_json_under_payload() {
        let payload = serde_json::json!({ "a": "b c&d" });
        assert_eq!(body(&payload, false), br#"{"a":"b c&d"}"#);
        assert_eq!(body(&payload, true), b"payload=%7B%22a%22%3A%22b+c%26d%22%7D");
    }

    #[test]
    fn a_password_in_a_receivers_url_is_never_shown() {
        assert_eq!(shown_url("http://ops:hunter2@127.0.0.1:3000/hook"), "http://ops:***@127.0.0.1:3000/hook");
        assert_eq!(shown_url("http://127.0.0.1:3000/hook"), "http://127.0.0.1:3000/hook");
        assert_eq!(shown_url("hunter2"), "(not a URL)");
    }
}

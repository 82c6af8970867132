//! Hookshot: POSTs one delivery to a receiver the way GitHub does, and words the outcome.
//!
//! Headers follow <https://docs.github.com/webhooks/webhook-events-and-payloads#delivery-headers>.
//! Only loopback receivers are contacted: the simulator never sends traffic off the machine.

use crate::signature;
use crate::world::{FAILED_TO_CONNECT, TIMED_OUT};
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// GitHub's prefix is documented; the suffix is a build id, here a fixed fake one.
pub(crate) const USER_AGENT: &str = "GitHub-Hookshot/5im0001";

/// Keep at most this much of a receiver's answer for the single-delivery endpoint.
const MAX_RESPONSE_BODY: usize = 16 * 1024;

/// One delivery to send.
pub(crate) struct Outbound {
    pub url: String,
    pub hook_id: u64,
    pub guid: String,
    pub event: String,
    /// `X-GitHub-Hook-Installation-Target-Type` and `-ID`.
    pub target: (&'static str, i64),
    pub secret: Option<String>,
    pub body: Vec<u8>,
    /// `Some(host)` when an Enterprise Server sends it: adds `X-GitHub-Enterprise-Version`
    /// and `-Host`.
    pub enterprise_host: Option<String>,
}

/// What happened when it was sent.
pub(crate) struct Outcome {
    pub started: DateTime<Utc>,
    pub duration: f64,
    pub status_code: i64,
    pub status: String,
    pub request_headers: Vec<(String, String)>,
    pub response_headers: Vec<(String, String)>,
    pub response_body: Option<String>,
}

impl Outbound {
    /// The headers GitHub sends, in the order its delivery log shows them.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        let mut headers = vec![
            ("Accept".to_string(), "*/*".to_string()),
            ("X-GitHub-Delivery".to_string(), self.guid.clone()),
            ("X-GitHub-Event".to_string(), self.event.clone()),
            ("X-GitHub-Hook-ID".to_string(), self.hook_id.to_string()),
            ("X-GitHub-Hook-Installation-Target-Type".to_string(), self.target.0.to_string()),
            ("X-GitHub-Hook-Installation-Target-ID".to_string(), self.target.1.to_string()),
            ("User-Agent".to_string(), USER_AGENT.to_string()),
            ("Content-Type".to_string(), "application/json".to_string()),
        ];
        if let Some(host) = &self.enterprise_host {
            headers.push(("X-GitHub-Enterprise-Version".to_string(), crate::flavor::GHES_VERSION.to_string()));
            headers.push(("X-GitHub-Enterprise-Host".to_string(), host.clone()));
        }
        if let Some(secret) = &self.secret {
            headers.push(("X-Hub-Signature-256".to_string(), signature::sign(secret, &self.body)));
        }
        headers
    }
}

/// Sends `out` and classifies the result; never fails, since every failure is an outcome.
/// `clock` puts `started` on GitHub's clock.
pub(crate) async fn send(
    client: &reqwest::Client,
    out: &Outbound,
    timeout: Duration,
    clock: crate::world::Clock,
) -> Outcome {
    let started = clock.now();
    let clock = Instant::now();
    let request_headers = out.headers();
    let mut outcome = Outcome {
        started,
        duration: 0.0,
        status_code: 0,
        status: String::new(),
        request_headers: request_headers.clone(),
        response_headers: Vec::new(),
        response_body: None,
    };
    if !is_loopback(&out.url) {
        outcome.status = "failed to connect to host".to_string();
        return outcome;
    }
    let mut request = client.post(&out.url).timeout(timeout).body(out.body.clone());
    for (name, value) in &request_headers {
        request = request.header(name, value);
    }
    // The timeout covers the whole exchange, body included, as GitHub's does.
    let result = tokio::time::timeout(timeout, async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect::<Vec<_>>();
        let body = response.bytes().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    })
    .await;
    outcome.duration = (clock.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
    match result {
        Ok(Ok((status, headers, body))) => {
            let kept = &body[..body.len().min(MAX_RESPONSE_BODY)];
            outcome.status_code = i64::from(status);
            outcome.status = crate::world::status_text(outcome.status_code);
            outcome.response_headers = headers;
            outcome.response_body = Some(String::from_utf8_lossy(kept).into_owned());
        }
        Ok(Err(e)) if !e.is_timeout() => outcome.status = FAILED_TO_CONNECT.to_string(),
        Ok(Err(_)) | Err(_) => outcome.status = TIMED_OUT.to_string(),
    }
    outcome
}

/// Whether `url` points at this machine (127.0.0.0/8, `[::1]` or `localhost`).
fn is_loopback(url: &str) -> bool {
    match url::Url::parse(url).ok().and_then(|u| u.host().map(|h| h.to_owned())) {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_receivers_are_contacted() {
        assert!(is_loopback("http://127.0.0.1:8080/webhook"));
        assert!(is_loopback("http://127.9.9.9/"));
        assert!(is_loopback("http://localhost:1/x"));
        assert!(is_loopback("http://[::1]:9/"));
        assert!(!is_loopback("http://10.0.0.1/"));
        assert!(!is_loopback("https://example.com/hook"));
        assert!(!is_loopback("not a url"));
    }
}

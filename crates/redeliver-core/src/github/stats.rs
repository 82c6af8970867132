//! What a [`super::GitHubClient`] did, for the run summary and the `--json` report: requests
//! counted by method, endpoint and answer, the last primary rate limit GitHub reported, the time
//! spent waiting out rate limits, retries and skipped list items. The client only adds to it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::time::Duration;

/// How many requests of one kind got one answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestCount {
    /// `GET`, `POST`, `PATCH`.
    pub method: &'static str,
    /// `list_deliveries`, `redeliver` or `variable`.
    pub endpoint: &'static str,
    /// The HTTP status, `None` when no answer came (network error, timeout).
    pub status: Option<u16>,
    pub count: u64,
}

/// The primary rate limit as last reported by GitHub.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RateLimitSnapshot {
    pub remaining: Option<u64>,
    pub limit: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
    pub resource: Option<String>,
}

/// What the client did, for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RequestStats {
    /// Sent requests by method, endpoint and answer, in first-seen order.
    pub requests: Vec<RequestCount>,
    /// The last `x-ratelimit-*` headers seen.
    pub rate_limit: Option<RateLimitSnapshot>,
    /// Total time spent waiting out rate limits.
    #[serde(serialize_with = "as_secs")]
    pub rate_limit_waited: Duration,
    /// Requests re-sent after a 5xx or a network error.
    pub retries: u64,
    /// List items that were not deliveries (no id, guid or time) and were skipped.
    pub skipped_items: u64,
}

fn as_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl RequestStats {
    /// Requests sent with `method` to `endpoint`, whatever the answer.
    pub fn count(&self, method: &str, endpoint: &str) -> u64 {
        self.requests.iter().filter(|c| c.method == method && c.endpoint == endpoint).map(|c| c.count).sum()
    }

    /// Requests sent with `method` to `endpoint` that got `status`.
    pub fn count_status(&self, method: &str, endpoint: &str, status: u16) -> u64 {
        self.requests
            .iter()
            .filter(|c| c.method == method && c.endpoint == endpoint && c.status == Some(status))
            .map(|c| c.count)
            .sum()
    }

    /// Every request sent.
    pub fn total(&self) -> u64 {
        self.requests.iter().map(|c| c.count).sum()
    }

    /// Counts one sent request and its answer (`None`: no answer came).
    pub(crate) fn record(&mut self, method: &'static str, endpoint: &'static str, status: Option<u16>) {
        match self.requests.iter_mut().find(|c| c.method == method && c.endpoint == endpoint && c.status == status) {
            Some(c) => c.count += 1,
            None => self.requests.push(RequestCount { method, endpoint, status, count: 1 }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_count_by_method_endpoint_and_status() {
        let mut s = RequestStats::default();
        s.record("GET", "list_deliveries", Some(200));
        s.record("GET", "list_deliveries", Some(200));
        s.record("GET", "list_deliveries", Some(502));
        s.record("POST", "redeliver", None);
        assert_eq!(s.count("GET", "list_deliveries"), 3);
        assert_eq!(s.count_status("GET", "list_deliveries", 200), 2);
        assert_eq!(s.count("POST", "redeliver"), 1);
        assert_eq!(s.total(), 4);
        assert_eq!(s.requests.len(), 3);
    }
}

//! What a [`super::GitHubClient`] did, for the run summary and the `--json` report: requests
//! counted by method, endpoint and answer, the last primary rate limit GitHub reported, the time
//! spent waiting out rate limits, retries and skipped list items, and how far GitHub's clock is
//! from ours (learnt from the `Date` header of every answer). The client only adds to it.

use chrono::{DateTime, TimeDelta, Utc};
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
    /// Conditional listings answered `304 Not Modified` (free of primary rate limit).
    pub not_modified: u64,
    /// GitHub's clock minus ours, in whole seconds, from the `Date` header of the latest answer
    /// that had one; `None` before the first. `delivered_at` is on GitHub's clock, so windows
    /// and stored times are computed on it too ([`RequestStats::github_time`]).
    #[serde(serialize_with = "as_opt_secs")]
    pub clock_skew: Option<TimeDelta>,
}

fn as_opt_secs<S: serde::Serializer>(d: &Option<TimeDelta>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.num_seconds()),
        None => s.serialize_none(),
    }
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

    /// `local` (a time on this machine's clock) on GitHub's clock, as far as the answers so far
    /// tell; unchanged before the first answer with a `Date`.
    pub fn github_time(&self, local: DateTime<Utc>) -> DateTime<Utc> {
        self.clock_skew.and_then(|skew| local.checked_add_signed(skew)).unwrap_or(local)
    }

    /// Learns GitHub's clock from an answer's `Date` header, for a request sent at `sent` and
    /// answered at `received` on our clock. GitHub wrote `Date` in between, truncated to the
    /// second, so the offset lies between `Date - received` and `Date + 1 s - sent`. The offset
    /// kept so far (0 at first: clocks are assumed to agree until an answer says otherwise)
    /// stays while it lies in that range; otherwise the middle of the range, in whole seconds,
    /// replaces it. So clocks that agree read as 0, not as a value that jitters with the
    /// fraction of the second, and a clock that jumps is followed at the next answer. A missing
    /// or unreadable `Date` (or one a server filled with nonsense) changes nothing.
    pub(crate) fn learn_date(&mut self, date: Option<&str>, sent: DateTime<Utc>, received: DateTime<Utc>) {
        let Some(server) = date.and_then(|d| DateTime::parse_from_rfc2822(d.trim()).ok()) else { return };
        let server = server.to_utc();
        let low = server.signed_duration_since(received);
        let high = server.signed_duration_since(sent) + TimeDelta::seconds(1);
        let kept = self.clock_skew.unwrap_or_default();
        if low <= kept && kept <= high {
            self.clock_skew = Some(kept);
            return;
        }
        let middle_ms = (low.num_milliseconds() / 2).saturating_add(high.num_milliseconds() / 2);
        self.clock_skew = Some(TimeDelta::seconds((middle_ms as f64 / 1000.0).round() as i64));
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

    #[test]
    fn the_date_header_gives_githubs_clock_in_whole_seconds() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().to_utc();
        let ms = TimeDelta::milliseconds;
        let mut s = RequestStats::default();
        let local = at("2026-01-01T12:10:00.300Z");
        assert_eq!(s.github_time(local), local, "nothing learnt yet");
        s.learn_date(Some("Thu, 01 Jan 2026 12:00:00 GMT"), local - ms(20), local);
        assert_eq!(s.clock_skew, Some(TimeDelta::minutes(-10)));
        assert_eq!(s.github_time(local), at("2026-01-01T12:00:00.300Z"));
        // Another answer that agrees within its second keeps the offset.
        let later = at("2026-01-01T12:10:05.990Z");
        s.learn_date(Some("Thu, 01 Jan 2026 12:00:05 GMT"), later - ms(30), later);
        assert_eq!(s.clock_skew, Some(TimeDelta::minutes(-10)));
        // The clock was set right: followed at the next answer.
        s.learn_date(Some("Thu, 01 Jan 2026 12:10:05 GMT"), later - ms(30), later);
        assert_eq!(s.clock_skew, Some(TimeDelta::zero()));

        // Clocks that agree read as 0 whatever the fraction of the second and the latency,
        // from the first answer on.
        for received in ["2026-01-01T12:00:00.010Z", "2026-01-01T12:00:00.999Z", "2026-01-01T12:00:01.400Z"] {
            let mut fresh = RequestStats::default();
            fresh.learn_date(Some("Thu, 01 Jan 2026 12:00:00 GMT"), at("2026-01-01T12:00:00.000Z"), at(received));
            assert_eq!(fresh.clock_skew, Some(TimeDelta::zero()), "{received}");
        }
        s.learn_date(Some("yesterday"), local, local);
        s.learn_date(None, local, local);
        assert_eq!(s.clock_skew, Some(TimeDelta::zero()), "an unreadable Date changes nothing");
        s.learn_date(Some("Fri, 31 Dec 9999 23:59:59 GMT"), local, local);
        assert!(s.github_time(DateTime::<Utc>::MAX_UTC) <= DateTime::<Utc>::MAX_UTC, "no overflow");
    }
    #[test]
    fn a_github_clock_running_600_times_faster_is_followed_answer_by_answer() {
        // The simulator's compressed time (issue 11): GitHub's clock gains 599 s on ours every
        // second. The kept offset is ruled out as soon as the drift leaves an answer's range, so
        // after every answer GitHub's time is read within the range's width: one second of
        // `Date` truncation plus the latency as GitHub's fast clock counts it.
        let scale = 600;
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
        let github_at = |local: DateTime<Utc>| start + (local - start) * scale;
        let latency = TimeDelta::milliseconds(3);
        let mut s = RequestStats::default();
        for k in 0..2_000 {
            let sent = start + TimeDelta::milliseconds(7 * k);
            let received = sent + latency;
            // GitHub writes `Date` halfway, truncated to the second.
            let written = github_at(sent + latency / 2);
            let date = (written - TimeDelta::nanoseconds(i64::from(written.timestamp_subsec_nanos()))).to_rfc2822();
            s.learn_date(Some(&date), sent, received);
            let error = (github_at(received) - s.github_time(received)).abs();
            assert!(error <= TimeDelta::seconds(1) + latency * (scale + 1), "answer {k}: off by {error}");
        }
        assert!(s.clock_skew.unwrap() > TimeDelta::seconds(8_000), "{:?}", s.clock_skew);
    }
}

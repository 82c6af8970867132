//! How long to wait before re-sending a request GitHub rate-limited, as a pure function of the
//! answer and `now`. GitHub's guidance
//! (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit>):
//! honour `retry-after`; else, when `x-ratelimit-remaining` is `0`, wait until `x-ratelimit-reset`;
//! otherwise wait at least a minute, growing exponentially while the secondary limit persists.
//!
//! The values are numbers a server chose, so the arithmetic is checked: a reset at the end of
//! representable time is a wait that long, which [`super::next_step`] refuses as too long.

use super::text::header_text;
use chrono::{DateTime, TimeDelta, Utc};
use std::time::Duration;

/// The facts of one answer that bear on rate limiting: the headers, raw or parsed, and GitHub's
/// `message` from the body (the only place a secondary limit announces itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RateHeaders {
    /// `retry-after`, as sent: delay-seconds or an HTTP-date.
    pub retry_after: Option<String>,
    /// `x-ratelimit-remaining`.
    pub remaining: Option<u64>,
    /// `x-ratelimit-limit`.
    pub limit: Option<u64>,
    /// `x-ratelimit-reset`, UTC epoch seconds.
    pub reset: Option<i64>,
    /// `x-ratelimit-resource`, e.g. `core`.
    pub resource: Option<String>,
    /// GitHub's error `message`, empty when there was none.
    pub message: String,
}

impl RateHeaders {
    /// Reads the headers of an answer; unparsable numbers count as absent.
    pub fn from_headers(headers: &reqwest::header::HeaderMap, message: &str) -> Self {
        let text = |name: &str| header_text(headers, name).map(|v| v.trim().to_owned());
        RateHeaders {
            retry_after: text("retry-after"),
            remaining: text("x-ratelimit-remaining").and_then(|v| v.parse().ok()),
            limit: text("x-ratelimit-limit").and_then(|v| v.parse().ok()),
            reset: text("x-ratelimit-reset").and_then(|v| v.parse().ok()),
            resource: text("x-ratelimit-resource"),
            message: message.to_owned(),
        }
    }

    /// `x-ratelimit-reset` as a time.
    pub fn reset_at(&self) -> Option<DateTime<Utc>> {
        self.reset.and_then(|secs| DateTime::from_timestamp(secs, 0))
    }
}

/// The first wait for a secondary limit without `retry-after`: "wait for at least one minute".
pub const SECONDARY_MIN_WAIT: Duration = Duration::from_secs(60);

/// How long to wait before re-sending, or `None` when the answer is not a rate limit.
///
/// `attempt` counts the rate-limited answers already waited out for this request (0 on the first),
/// and doubles the wait when GitHub gives no time of its own.
pub fn rate_limit_wait(status: u16, headers: &RateHeaders, attempt: u32, now: DateTime<Utc>) -> Option<Duration> {
    if status != 403 && status != 429 {
        return None;
    }
    if let Some(wait) = headers.retry_after.as_deref().and_then(|v| parse_retry_after(v, now)) {
        return Some(wait);
    }
    let escalating = SECONDARY_MIN_WAIT.saturating_mul(1u32 << attempt.min(16));
    if headers.remaining == Some(0) {
        // One second past the reset, so that GitHub's window has surely turned over. A reset that
        // is already (well) past means our clock and GitHub's disagree: fall back to the
        // escalating wait rather than hammering.
        if let Some(reset) = headers.reset_at() {
            // A reset at the end of representable time is waited (refused) as it is.
            let until = reset.checked_add_signed(TimeDelta::seconds(1)).unwrap_or(reset);
            if until > now {
                return (until - now).to_std().ok();
            }
        }
        return Some(escalating);
    }
    if status == 429 || is_secondary_message(&headers.message) {
        return Some(escalating);
    }
    None
}

/// Whether GitHub's message announces a rate limit ("You have exceeded a secondary rate limit",
/// "API rate limit exceeded for ...", and the older "abuse detection mechanism").
fn is_secondary_message(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("rate limit") || m.contains("abuse detection")
}

/// `retry-after` is either delay-seconds or an HTTP-date (RFC 9110 §10.2.3).
fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.to_utc();
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().to_utc()
    }

    fn secondary() -> RateHeaders {
        RateHeaders {
            message: "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.".into(),
            remaining: Some(4000),
            ..RateHeaders::default()
        }
    }

    #[test]
    fn retry_after_seconds_wins() {
        let h = RateHeaders { retry_after: Some("7".into()), ..secondary() };
        assert_eq!(rate_limit_wait(403, &h, 0, now()), Some(Duration::from_secs(7)));
        assert_eq!(rate_limit_wait(429, &h, 3, now()), Some(Duration::from_secs(7)), "no doubling");
    }

    #[test]
    fn retry_after_http_date() {
        let h = RateHeaders { retry_after: Some("Wed, 21 Oct 2015 07:30:30 GMT".into()), ..secondary() };
        assert_eq!(rate_limit_wait(429, &h, 0, now()), Some(Duration::from_secs(150)));
        let past = RateHeaders { retry_after: Some("Wed, 21 Oct 2015 07:00:00 GMT".into()), ..secondary() };
        assert_eq!(rate_limit_wait(429, &past, 0, now()), Some(Duration::ZERO));
    }

    #[test]
    fn exhausted_primary_waits_until_reset_plus_one_second() {
        let reset = now().timestamp() + 300;
        let h = RateHeaders {
            remaining: Some(0),
            limit: Some(5000),
            reset: Some(reset),
            message: "API rate limit exceeded for user ID 1.".into(),
            ..RateHeaders::default()
        };
        assert_eq!(rate_limit_wait(403, &h, 0, now()), Some(Duration::from_secs(301)));
        assert_eq!(rate_limit_wait(429, &h, 2, now()), Some(Duration::from_secs(301)));
    }

    #[test]
    fn header_values_at_the_end_of_time_are_long_waits_not_overflows() {
        let forever = RateHeaders { retry_after: Some("99999999999999".into()), ..secondary() };
        assert_eq!(rate_limit_wait(429, &forever, 0, now()), Some(Duration::from_secs(99_999_999_999_999)));
        let last = DateTime::<Utc>::from_timestamp(8_210_266_876_799, 0).unwrap();
        let h = RateHeaders { remaining: Some(0), reset: Some(last.timestamp()), ..RateHeaders::default() };
        assert_eq!(rate_limit_wait(403, &h, 0, now()), (last - now()).to_std().ok());
        let beyond = RateHeaders { reset: Some(last.timestamp() + 1), ..h };
        assert_eq!(beyond.reset_at(), None);
        assert_eq!(rate_limit_wait(403, &beyond, 0, now()), Some(SECONDARY_MIN_WAIT), "no time: escalating");
    }

    #[test]
    fn a_stale_reset_falls_back_to_the_escalating_wait() {
        let h = RateHeaders { remaining: Some(0), reset: Some(now().timestamp() - 3600), ..RateHeaders::default() };
        assert_eq!(rate_limit_wait(403, &h, 0, now()), Some(Duration::from_secs(60)));
        assert_eq!(rate_limit_wait(403, &h, 1, now()), Some(Duration::from_secs(120)));
    }

    #[test]
    fn secondary_limit_waits_a_minute_doubling() {
        let h = secondary();
        assert_eq!(rate_limit_wait(403, &h, 0, now()), Some(Duration::from_secs(60)));
        assert_eq!(rate_limit_wait(403, &h, 1, now()), Some(Duration::from_secs(120)));
        assert_eq!(rate_limit_wait(429, &h, 3, now()), Some(Duration::from_secs(480)));
        assert!(rate_limit_wait(403, &h, u32::MAX, now()).is_some(), "no overflow");
    }

    #[test]
    fn bare_429_is_a_limit() {
        assert_eq!(rate_limit_wait(429, &RateHeaders::default(), 0, now()), Some(Duration::from_secs(60)));
    }

    #[test]
    fn not_a_rate_limit() {
        let forbidden = RateHeaders {
            message: "Resource not accessible by personal access token".into(),
            remaining: Some(4999),
            ..RateHeaders::default()
        };
        assert_eq!(rate_limit_wait(403, &forbidden, 0, now()), None);
        assert_eq!(rate_limit_wait(200, &RateHeaders { remaining: Some(0), ..RateHeaders::default() }, 0, now()), None);
        assert_eq!(
            rate_limit_wait(502, &RateHeaders { retry_after: Some("5".into()), ..RateHeaders::default() }, 0, now()),
            None
        );
        let garbage = RateHeaders { retry_after: Some("soon".into()), ..forbidden };
        assert_eq!(rate_limit_wait(403, &garbage, 0, now()), None);
    }

    #[test]
    fn reads_headers() {
        let mut map = reqwest::header::HeaderMap::new();
        map.insert("x-ratelimit-remaining", "0".parse().unwrap());
        map.insert("x-ratelimit-limit", "5000".parse().unwrap());
        map.insert("x-ratelimit-reset", "1445412480".parse().unwrap());
        map.insert("x-ratelimit-resource", "core".parse().unwrap());
        map.insert("retry-after", " 30 ".parse().unwrap());
        let h = RateHeaders::from_headers(&map, "m");
        assert_eq!(h.remaining, Some(0));
        assert_eq!(h.limit, Some(5000));
        assert_eq!(h.reset_at(), Some(now()));
        assert_eq!(h.resource.as_deref(), Some("core"));
        assert_eq!(h.retry_after.as_deref(), Some("30"));
        assert_eq!(h.message, "m");
    }
}

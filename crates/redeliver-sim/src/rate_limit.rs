//! The primary rate limit of the `core` resource: a budget per window that every answered
//! request spends, refilled when the window resets.
//!
//! See <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>.

use chrono::{DateTime, Duration, Utc};

/// GitHub's budget for a personal access token.
const DEFAULT_LIMIT: u64 = 5_000;

#[derive(Clone, Debug)]
pub(crate) struct RateLimit {
    limit: u64,
    remaining: u64,
    reset_at: DateTime<Utc>,
}

/// What the `x-ratelimit-*` headers say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RateSnapshot {
    pub limit: u64,
    pub remaining: u64,
    pub used: u64,
    /// UTC epoch seconds, rounded up so a client that waits until then finds the budget refilled.
    pub reset: i64,
}

impl RateLimit {
    pub(crate) fn new(now: DateTime<Utc>) -> RateLimit {
        RateLimit { limit: DEFAULT_LIMIT, remaining: DEFAULT_LIMIT, reset_at: now + Duration::hours(1) }
    }

    pub(crate) fn set(&mut self, limit: u64, remaining: u64, reset_at: DateTime<Utc>) {
        self.limit = limit;
        self.remaining = remaining.min(limit);
        self.reset_at = reset_at;
    }

    /// Spends one request; `false` when the budget is exhausted for this window.
    pub(crate) fn take(&mut self, now: DateTime<Utc>) -> bool {
        self.refill_if_reset(now);
        if self.remaining == 0 {
            return false;
        }
        self.remaining -= 1;
        true
    }

    pub(crate) fn snapshot(&mut self, now: DateTime<Utc>) -> RateSnapshot {
        self.refill_if_reset(now);
        let reset = self.reset_at.timestamp() + i64::from(self.reset_at.timestamp_subsec_nanos() > 0);
        RateSnapshot { limit: self.limit, remaining: self.remaining, used: self.limit - self.remaining, reset }
    }

    fn refill_if_reset(&mut self, now: DateTime<Utc>) {
        if now >= self.reset_at {
            self.remaining = self.limit;
            self.reset_at = now + Duration::hours(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_refuses_until_the_window_resets() {
        let now = Utc::now();
        let mut rate = RateLimit::new(now);
        rate.set(3, 1, now + Duration::seconds(10));
        assert!(rate.take(now));
        assert!(!rate.take(now));
        assert_eq!(rate.snapshot(now).remaining, 0);
        assert_eq!(rate.snapshot(now).used, 3);
        let later = now + Duration::seconds(11);
        assert!(rate.take(later));
        assert_eq!(rate.snapshot(later).remaining, 2);
    }
}

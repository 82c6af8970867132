//! Primary rate limits of the `core` resource: one budget per credential (per user, per
//! installation, per App), each spent by the requests made with it and refilled when its window
//! resets; requests without an accepted credential share the unauthenticated budget.
//!
//! "The primary rate limit for unauthenticated requests is 60 requests per hour", "all requests
//! made by a user with a personal access token ... 5,000 requests per hour", installation tokens
//! "a minimum rate limit of 5,000 requests per hour" (see
//! <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api>). GitHub
//! documents no number for App JWT requests; the simulator gives an App 5,000 as well.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// GitHub's hourly budget for a user, an installation (its minimum) and, here, an App.
const AUTHENTICATED_LIMIT: u64 = 5_000;
/// GitHub's hourly budget for unauthenticated requests.
const UNAUTHENTICATED_LIMIT: u64 = 60;

/// Whose budget a request spends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum BudgetKey {
    /// A personal access token's user.
    User(u64),
    /// An installation, shared by all its tokens.
    Installation(i64),
    /// A GitHub App, by its JWTs.
    App(u64),
    /// No accepted credential (all loopback clients share one address).
    Anonymous,
}

impl BudgetKey {
    fn default_limit(self) -> u64 {
        match self {
            BudgetKey::Anonymous => UNAUTHENTICATED_LIMIT,
            _ => AUTHENTICATED_LIMIT,
        }
    }
}

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
    pub(crate) fn new(limit: u64, now: DateTime<Utc>) -> RateLimit {
        RateLimit { limit, remaining: limit, reset_at: now + Duration::hours(1) }
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

    /// Gives back one request (a `304 Not Modified` costs nothing).
    pub(crate) fn refund(&mut self) {
        self.remaining = (self.remaining + 1).min(self.limit);
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

/// Every credential's budget, created on first use.
#[derive(Debug, Default)]
pub(crate) struct Budgets {
    budgets: HashMap<BudgetKey, RateLimit>,
    /// Set by `World::set_rate_limit`: the state every budget (existing or new) starts from.
    template: Option<(u64, u64, DateTime<Utc>)>,
}

impl Budgets {
    pub(crate) fn of(&mut self, key: BudgetKey, now: DateTime<Utc>) -> &mut RateLimit {
        let template = self.template;
        self.budgets.entry(key).or_insert_with(|| {
            let mut budget = RateLimit::new(key.default_limit(), now);
            if let Some((limit, remaining, reset_at)) = template {
                budget.set(limit, remaining, reset_at);
            }
            budget
        })
    }

    /// Gives every credential, present and future, its own budget in this state.
    pub(crate) fn set_all(&mut self, limit: u64, remaining: u64, reset_at: DateTime<Utc>) {
        self.template = Some((limit, remaining, reset_at));
        for budget in self.budgets.values_mut() {
            budget.set(limit, remaining, reset_at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_exhausted_budget_refuses_until_the_window_resets() {
        let now = Utc::now();
        let mut rate = RateLimit::new(5_000, now);
        rate.set(3, 1, now + Duration::seconds(10));
        assert!(rate.take(now));
        assert!(!rate.take(now));
        assert_eq!(rate.snapshot(now).remaining, 0);
        assert_eq!(rate.snapshot(now).used, 3);
        let later = now + Duration::seconds(11);
        assert!(rate.take(later));
        assert_eq!(rate.snapshot(later).remaining, 2);
        rate.refund();
        assert_eq!(rate.snapshot(later).remaining, 3);
        rate.refund();
        assert_eq!(rate.snapshot(later).remaining, 3, "never above the limit");
    }

    #[test]
    fn each_credential_spends_its_own_budget() {
        let now = Utc::now();
        let mut budgets = Budgets::default();
        assert!(budgets.of(BudgetKey::App(1), now).take(now));
        assert!(budgets.of(BudgetKey::App(1), now).take(now));
        assert_eq!(budgets.of(BudgetKey::App(1), now).snapshot(now).used, 2);
        assert_eq!(budgets.of(BudgetKey::User(1), now).snapshot(now).used, 0);
        assert_eq!(budgets.of(BudgetKey::Anonymous, now).snapshot(now).limit, 60);
        budgets.set_all(10, 0, now + Duration::seconds(5));
        assert!(!budgets.of(BudgetKey::App(1), now).take(now));
        assert_eq!(budgets.of(BudgetKey::Installation(7), now).snapshot(now).remaining, 0, "new budgets too");
    }
}

//! The world's knobs that shape every answer: per-credential rate limits (primary and
//! secondary), which GitHub it plays (github.com or GHES) and how far its clock is skewed.

use super::{Credential, World};
use crate::flavor::Flavor;
use crate::rate_limit::{BudgetKey, RateSnapshot};
use crate::secondary::{Cost, SecondaryLimiter, SecondaryLimits};
use chrono::{DateTime, Utc};
use std::time::Duration;

impl World {
    /// Gives every credential (each user, installation and App, present and future) its own
    /// primary budget of `limit` with `remaining` left; the window resets after `reset_in`,
    /// refilling `limit` requests for another hour.
    pub fn set_rate_limit(&self, limit: u64, remaining: u64, reset_in: Duration) {
        let mut state = self.lock();
        let reset_at = state.now() + chrono::Duration::from_std(reset_in).unwrap_or(chrono::Duration::hours(1));
        state.budgets.set_all(limit, remaining, reset_at);
    }

    /// Sets one credential's primary budget, leaving the others alone.
    pub fn set_rate_limit_of(&self, credential: Credential<'_>, limit: u64, remaining: u64, reset_in: Duration) {
        let mut state = self.lock();
        let now = state.now();
        let reset_at = now + chrono::Duration::from_std(reset_in).unwrap_or(chrono::Duration::hours(1));
        if let Some(key) = state.budget_key(credential) {
            state.budgets.of(key, now).set(limit, remaining, reset_at);
        }
    }

    /// How many requests `credential` has spent in its current window (`x-ratelimit-used`);
    /// `None` for a token the world does not know.
    pub fn rate_limit_used(&self, credential: Credential<'_>) -> Option<u64> {
        let mut state = self.lock();
        let now = state.now();
        let key = state.budget_key(credential)?;
        Some(state.budgets.of(key, now).snapshot(now).used)
    }

    pub(crate) fn take_rate(&self, key: BudgetKey) -> bool {
        let mut state = self.lock();
        let now = state.now();
        state.budgets.of(key, now).take(now)
    }

    pub(crate) fn refund_rate(&self, key: BudgetKey) {
        let mut state = self.lock();
        let now = state.now();
        state.budgets.of(key, now).refund();
    }

    pub(crate) fn rate_snapshot(&self, key: BudgetKey) -> RateSnapshot {
        let mut state = self.lock();
        let now = state.now();
        state.budgets.of(key, now).snapshot(now)
    }

    /// Turns on GitHub's secondary rate limits (off by default), counted per credential:
    /// requests over a limit are answered 403 "You have exceeded a secondary rate limit" with
    /// `Retry-After`. Replaces any earlier limits and their counts.
    pub fn set_secondary_limits(&self, limits: SecondaryLimits) {
        let mut state = self.lock();
        state.secondary = Some(limits);
        state.limiters.clear();
    }

    /// Turns the secondary rate limits off again.
    pub fn clear_secondary_limits(&self) {
        let mut state = self.lock();
        state.secondary = None;
        state.limiters.clear();
    }

    /// How many requests the secondary limits refused since they were set, all credentials.
    pub fn secondary_refusals(&self) -> u64 {
        self.lock().limiters.values().map(|l| l.refused).sum()
    }

    pub(crate) fn admit_secondary(&self, key: BudgetKey, cost: Cost, in_flight: usize) -> Result<(), Duration> {
        let mut state = self.lock();
        let Some(limits) = state.secondary.clone() else {
            return Ok(());
        };
        let limiter = state.limiters.entry(key).or_insert_with(|| SecondaryLimiter::new(limits));
        limiter.admit(cost, in_flight, std::time::Instant::now())
    }

    /// Plays github.com or GitHub Enterprise Server at every base URL. Without it, the root is
    /// github.com and `/api/v3` is GHES.
    pub fn set_flavor(&self, flavor: Flavor) {
        self.lock().flavor = Some(flavor);
    }

    /// The flavor a request at the root (`ghes_path == false`) or under `/api/v3` sees.
    pub fn flavor_for(&self, ghes_path: bool) -> Flavor {
        self.lock().flavor_for(ghes_path)
    }

    /// The retention a request at the root (`ghes_path == false`) or under `/api/v3` sees.
    pub fn retention_for(&self, ghes_path: bool) -> chrono::Duration {
        let state = self.lock();
        state.retention(state.flavor_for(ghes_path))
    }

    /// The receiver timeout of redeliveries asked for at the root or under `/api/v3`.
    pub fn receiver_timeout_for(&self, ghes_path: bool) -> Duration {
        let state = self.lock();
        state.receiver_timeout(state.flavor_for(ghes_path))
    }

    /// Moves GitHub's clock `skew` ahead of this machine's (negative: behind): `delivered_at`
    /// of new attempts, the `Date` header, JWT time checks, retention and rate-limit resets all
    /// follow it.
    pub fn set_clock_skew(&self, skew: chrono::Duration) {
        self.lock().clock.skew = skew;
    }

    /// Makes GitHub's clock run `factor` times faster than this machine's from now on (1: real
    /// time again; below 1 is taken as 1), continuing from the time it shows, so tests can play
    /// days in seconds. Everything that follows the skew follows the scale too: the `Date`
    /// header, `delivered_at` of new attempts, JWT time checks, retention and rate-limit
    /// resets. Durations of attempts and the secondary limits stay in real time.
    pub fn set_time_scale(&self, factor: u32) {
        self.lock().clock.set_scale(factor);
    }

    /// GitHub's clock, as the simulator keeps it.
    pub fn now(&self) -> DateTime<Utc> {
        self.lock().now()
    }

    /// How far back redelivery is allowed and deliveries are listed, whatever the flavor
    /// (default: 3 days on github.com, 7 on GHES).
    pub fn set_retention(&self, retention: chrono::Duration) {
        self.lock().retention = Some(retention);
    }
}

//! The simulated world: apps, hooks, delivery history, credentials, variables and knobs, behind
//! one cheap-to-clone handle that tests and the HTTP layer share.

mod credentials;
mod history;
mod hooks;
mod redelivery;
mod variables;

use crate::fault::{self, Fault, FaultRule};
use crate::rate_limit::{RateLimit, RateSnapshot};
use crate::recording::RecordedRequest;
use crate::secondary::{Cost, SecondaryLimiter, SecondaryLimits};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

pub use history::{DeliveryRecord, NewAttempt};

pub(crate) use credentials::{Installation, TokenGrant};
pub(crate) use history::{StatusFilter, StoredAttempt, status_text};
pub(crate) use hooks::{App, Hook, HookTarget};
pub(crate) use variables::Variable;

/// Identifies a webhook (an app's hook, a repository hook or an organization hook).
pub type HookId = u64;

/// github.com keeps deliveries for 3 days (GHES: 7).
const DEFAULT_RETENTION_DAYS: i64 = 3;
/// GitHub's documented maximum for `per_page`.
const DEFAULT_PER_PAGE_MAX: usize = 100;
/// github.com gives a receiver 10 seconds to answer (GHES: 30).
const DEFAULT_RECEIVER_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to the simulated world; clones share the same state.
#[derive(Clone)]
pub struct World {
    shared: Arc<Shared>,
}

struct Shared {
    state: Mutex<State>,
    /// How many redeliveries are still being attempted; `settle` waits for zero.
    in_flight: watch::Sender<usize>,
    /// The client that POSTs webhooks to receivers, like GitHub's Hookshot.
    hookshot: reqwest::Client,
}

/// Everything the world holds. Locked briefly, never across an `.await`.
pub(crate) struct State {
    pub apps: Vec<App>,
    pub hooks: BTreeMap<HookId, Hook>,
    /// Every delivery attempt, keyed by its id.
    pub attempts: BTreeMap<u64, StoredAttempt>,
    /// Each hook's attempt ids in time order, for newest-first pages.
    pub timeline: HashMap<HookId, BTreeSet<(DateTime<Utc>, u64)>>,
    /// Each event's attempt ids, in the order they were stored.
    pub by_guid: HashMap<String, Vec<u64>>,
    pub tokens: HashMap<String, TokenGrant>,
    pub installations: BTreeMap<i64, Installation>,
    pub variables: BTreeMap<(String, String, String), Variable>,
    pub requests: Vec<RecordedRequest>,
    pub faults: Vec<FaultRule>,
    pub rate: RateLimit,
    /// GitHub's secondary limits, when turned on.
    pub secondary: Option<SecondaryLimiter>,
    pub retention: chrono::Duration,
    pub per_page_max: usize,
    pub receiver_timeout: Duration,
    /// Outcomes (status codes) forced on the next redeliveries of a GUID.
    pub scripted: HashMap<String, VecDeque<i64>>,
    /// Repository and organization ids, keyed by lowercase name.
    pub repo_ids: HashMap<String, i64>,
    pub org_ids: HashMap<String, i64>,
    pub next_hook_id: HookId,
    pub next_account_id: i64,
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty world with GitHub's defaults: 3-day retention, `per_page` up to 100, a 10 s
    /// receiver timeout and a 5,000-request hourly budget.
    ///
    /// # Panics
    /// If the HTTP client for webhook POSTs cannot be built (no TLS backend), which would be a
    /// broken build rather than a runtime condition.
    pub fn new() -> World {
        let now = Utc::now();
        let state = State {
            apps: Vec::new(),
            hooks: BTreeMap::new(),
            attempts: BTreeMap::new(),
            timeline: HashMap::new(),
            by_guid: HashMap::new(),
            tokens: HashMap::new(),
            installations: BTreeMap::new(),
            variables: BTreeMap::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            rate: RateLimit::new(now),
            secondary: None,
            retention: chrono::Duration::days(DEFAULT_RETENTION_DAYS),
            per_page_max: DEFAULT_PER_PAGE_MAX,
            receiver_timeout: DEFAULT_RECEIVER_TIMEOUT,
            scripted: HashMap::new(),
            repo_ids: HashMap::new(),
            org_ids: HashMap::new(),
            next_hook_id: 480_000_001,
            next_account_id: 70_000_001,
        };
        let hookshot = reqwest::Client::builder()
            // Never route webhook POSTs through a proxy from the environment, and open a fresh
            // connection each time as GitHub does, so a receiver going down is seen at once.
            .no_proxy()
            .pool_max_idle_per_host(0)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("building the webhook HTTP client");
        World { shared: Arc::new(Shared { state: Mutex::new(state), in_flight: watch::Sender::new(0), hookshot }) }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not make every later assertion fail with a poison error.
        self.shared.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every API request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    pub(crate) fn record_request(&self, request: RecordedRequest) {
        self.lock().requests.push(request);
    }

    /// Adds a fault rule; rules are tried in the order they were added.
    pub fn inject(&self, rule: FaultRule) {
        self.lock().faults.push(rule);
    }

    /// Drops every pending fault rule.
    pub fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub(crate) fn take_fault(&self, method: &str, path: &str) -> Option<Fault> {
        fault::take(&mut self.lock().faults, method, path)
    }

    /// Sets the primary rate limit of the `core` resource; the window resets after `reset_in`,
    /// refilling `limit` requests for another hour.
    pub fn set_rate_limit(&self, limit: u64, remaining: u64, reset_in: Duration) {
        let now = Utc::now();
        let reset_in = chrono::Duration::from_std(reset_in).unwrap_or(chrono::Duration::hours(1));
        self.lock().rate.set(limit, remaining, now + reset_in);
    }

    pub(crate) fn take_rate(&self, now: DateTime<Utc>) -> bool {
        self.lock().rate.take(now)
    }

    pub(crate) fn rate_snapshot(&self, now: DateTime<Utc>) -> RateSnapshot {
        self.lock().rate.snapshot(now)
    }

    /// Turns on GitHub's secondary rate limits (off by default): requests over a limit are
    /// answered 403 "You have exceeded a secondary rate limit" with `Retry-After`. Replaces any
    /// earlier limits and their counts.
    pub fn set_secondary_limits(&self, limits: SecondaryLimits) {
        self.lock().secondary = Some(SecondaryLimiter::new(limits));
    }

    /// Turns the secondary rate limits off again.
    pub fn clear_secondary_limits(&self) {
        self.lock().secondary = None;
    }

    /// How many requests the secondary limits refused since they were set.
    pub fn secondary_refusals(&self) -> u64 {
        self.lock().secondary.as_ref().map_or(0, |l| l.refused)
    }

    pub(crate) fn admit_secondary(&self, cost: Cost, in_flight: usize) -> Result<(), Duration> {
        match &mut self.lock().secondary {
            Some(limiter) => limiter.admit(cost, in_flight, std::time::Instant::now()),
            None => Ok(()),
        }
    }

    /// How far back redelivery is allowed and deliveries are listed (default 3 days).
    pub fn set_retention(&self, retention: chrono::Duration) {
        self.lock().retention = retention;
    }

    /// The largest `per_page` honoured; larger requests are clamped (default 100).
    pub fn set_per_page_max(&self, n: usize) {
        self.lock().per_page_max = n.max(1);
    }

    /// How long a receiver may take before the attempt is recorded as "timed out" (default 10 s).
    pub fn set_receiver_timeout(&self, timeout: Duration) {
        self.lock().receiver_timeout = timeout;
    }
}

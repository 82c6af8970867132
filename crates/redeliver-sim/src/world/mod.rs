//! The simulated world: apps, hooks, delivery history, credentials, variables and knobs, behind
//! one cheap-to-clone handle that tests and the HTTP layer share.

mod clock;
mod credentials;
mod history;
mod hooks;
mod limits;
mod redelivery;
mod repos;
mod variables;

use crate::fault::{self, Fault, FaultRule};
use crate::flavor::Flavor;
use crate::rate_limit::{BudgetKey, Budgets};
use crate::recording::RecordedRequest;
use crate::secondary::{SecondaryLimiter, SecondaryLimits};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::watch;

pub use history::{DeliveryRecord, NewAttempt};

pub(crate) use clock::Clock;

pub use credentials::Credential;
pub(crate) use credentials::{Holder, Installation, TokenGrant};
pub(crate) use history::{FAILED_TO_CONNECT, StatusFilter, StoredAttempt, TIMED_OUT, status_text};
pub(crate) use hooks::{App, Hook, HookTarget};
pub(crate) use repos::Repo;
pub(crate) use variables::Variable;

/// Identifies a webhook (an app's hook, a repository hook or an organization hook).
pub type HookId = u64;

/// GitHub's documented maximum for `per_page`.
const DEFAULT_PER_PAGE_MAX: usize = 100;

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
    /// The primary budget of each credential.
    pub budgets: Budgets,
    /// GitHub's secondary limits, when turned on, and each credential's count against them.
    pub secondary: Option<SecondaryLimits>,
    pub limiters: HashMap<BudgetKey, SecondaryLimiter>,
    /// `None`: github.com at the root, GHES under `/api/v3`; `Some`: this one everywhere.
    pub flavor: Option<Flavor>,
    /// Overrides of the flavor's retention and receiver timeout.
    pub retention: Option<chrono::Duration>,
    pub receiver_timeout: Option<Duration>,
    /// GitHub's clock: this machine's, skewed and possibly compressed.
    pub clock: Clock,
    pub per_page_max: usize,
    /// Outcomes (status codes) forced on the next redeliveries of a GUID.
    pub scripted: HashMap<String, VecDeque<i64>>,
    /// Repository and organization ids, keyed by lowercase name.
    pub repo_ids: HashMap<String, i64>,
    pub org_ids: HashMap<String, i64>,
    /// The repositories the listings show, keyed by lowercase `owner/name`.
    pub repos: BTreeMap<String, Repo>,
    pub next_hook_id: HookId,
    pub next_account_id: i64,
    pub next_user_id: u64,
    /// The simulator's `host:port`, for `X-GitHub-Enterprise-Host`.
    pub host: String,
}

impl State {
    /// GitHub's clock: this machine's, moved by the configured skew and time scale.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// The flavor a request sees: the world's, or by its base URL (`/api/v3` is GHES).
    pub(crate) fn flavor_for(&self, ghes_path: bool) -> Flavor {
        self.flavor.unwrap_or(if ghes_path { Flavor::Ghes } else { Flavor::GitHubCom })
    }

    /// How far back deliveries are kept for `flavor`.
    pub(crate) fn retention(&self, flavor: Flavor) -> chrono::Duration {
        self.retention.unwrap_or(flavor.retention())
    }

    /// How long a receiver may take, for `flavor`.
    pub(crate) fn receiver_timeout(&self, flavor: Flavor) -> Duration {
        self.receiver_timeout.unwrap_or(flavor.receiver_timeout())
    }
}

impl Default for World {
    fn default() -> Self {
        World::new()
    }
}

impl World {
    /// An empty world with GitHub's defaults: github.com at the root and GHES under `/api/v3`
    /// (retention and receiver timeout of each, see [`Flavor`]), `per_page` up to 100, and a
    /// 5,000-request hourly budget per credential.
    ///
    /// # Panics
    /// If the HTTP client for webhook POSTs cannot be built (no TLS backend), which would be a
    /// broken build rather than a runtime condition.
    pub fn new() -> World {
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
            budgets: Budgets::default(),
            secondary: None,
            limiters: HashMap::new(),
            flavor: None,
            retention: None,
            receiver_timeout: None,
            clock: Clock::default(),
            per_page_max: DEFAULT_PER_PAGE_MAX,
            scripted: HashMap::new(),
            repo_ids: HashMap::new(),
            org_ids: HashMap::new(),
            repos: BTreeMap::new(),
            next_hook_id: 480_000_001,
            next_account_id: 70_000_001,
            next_user_id: 583_231,
            host: "localhost".to_string(),
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

    /// The largest `per_page` honoured; larger requests are clamped (default 100).
    pub fn set_per_page_max(&self, n: usize) {
        self.lock().per_page_max = n.max(1);
    }

    /// How long a receiver may take before the attempt is recorded as "timed out", whatever
    /// the flavor (default: 10 s on github.com, 30 s on GHES).
    pub fn set_receiver_timeout(&self, timeout: Duration) {
        self.lock().receiver_timeout = Some(timeout);
    }
}

//! What the daemon knows about each target, shared between the polling loop (writer) and the
//! HTTP server (reader): `/healthz`, `/metrics` and the status page are rendered from this.

use crate::report::{OutageEnd, ReceiverReport};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};

/// How many recent redeliveries and given-up events each target keeps for the page.
pub const RECENT: usize = 50;
/// How many pending events of each target the page and `/status.json` show at once.
pub const PER_PAGE: usize = 100;

/// Shared handle; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct SharedStatus(Arc<RwLock<Status>>);

impl SharedStatus {
    pub fn new(status: Status) -> Self {
        Self(Arc::new(RwLock::new(status)))
    }

    /// A copy of the current status, for rendering.
    pub fn snapshot(&self) -> Status {
        self.0.read().map(|s| s.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        let mut guard = self.0.write().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Status {
    pub started_at: Option<DateTime<Utc>>,
    /// The poll interval; `/healthz` fails when a target has not completed a poll for several of them.
    pub interval_seconds: u64,
    pub version: String,
    pub targets: Vec<TargetStatus>,
    /// Given-up notifications dropped because the queue to the notifier was full.
    pub notifications_dropped: u64,
    /// Which page of pending events this is (from 1; 0 before [`page_of`]), of how many per page.
    pub page: usize,
    pub per_page: usize,
    /// Discovered hooks and their schedule (issue 14), when a target discovers them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet: Option<super::fleet_status::FleetStatus>,
}

/// `status` with each target's pending events cut to page `page` (from 1) of [`PER_PAGE`], and
/// their number before the cut in `pending_total`: 20,000 pending events must not make a
/// 7 MB page.
pub fn page_of(mut status: Status, page: usize) -> Status {
    let page = page.max(1);
    let start = (page - 1).saturating_mul(PER_PAGE);
    for t in &mut status.targets {
        t.pending_total = t.pending.len();
        t.pending = std::mem::take(&mut t.pending).into_iter().skip(start).take(PER_PAGE).collect();
    }
    status.page = page;
    status.per_page = PER_PAGE;
    status
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetStatus {
    /// The target's name from the config file (or `app` for a single target from flags).
    pub name: String,
    /// e.g. "app hook of App 123", "repository hook octo/repo#42".
    pub description: String,
    pub api_url: String,
    pub polls: u64,
    pub last_poll_started_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    /// The last poll's error, cleared by a successful poll.
    pub last_error: Option<String>,
    /// Counters since the daemon started.
    pub deliveries_read: u64,
    pub failed_events_seen: u64,
    /// Redeliveries by GitHub's answer: `accepted`, `refused`, `ambiguous`.
    pub redeliveries: BTreeMap<String, u64>,
    pub given_up_total: u64,
    /// API requests by (endpoint, status) as `"list_deliveries 200"` → count.
    pub api_requests: BTreeMap<String, u64>,
    pub rate_limit_remaining: Option<u64>,
    pub rate_limit_limit: Option<u64>,
    pub rate_limit_reset: Option<DateTime<Utc>>,
    /// GitHub's clock minus this machine's, in seconds, as of the last poll (issue 8, case 4).
    pub clock_skew_seconds: Option<i64>,
    /// A discovered hook's longest interval (issue 14): `/healthz` allows three of them
    /// instead of three poll intervals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_interval_seconds: Option<u64>,
    /// Events still owed a redelivery, as of the last poll (one page of them in a [`page_of`]).
    pub pending: Vec<PendingEvent>,
    /// How many events are owed in all (set by [`page_of`]).
    pub pending_total: usize,
    pub recent_redeliveries: VecDeque<RecentRedelivery>,
    pub given_up: VecDeque<GivenUpEvent>,
    // Outage-aware recovery (issue 11).
    /// The hook's receiver as of the last poll; `None` with outage awareness off.
    pub receiver: Option<ReceiverReport>,
    /// Outages seen start since the daemon started.
    pub outages_total: u64,
    /// The length of the outages seen end, together.
    pub outage_seconds_total: u64,
    /// Canaries sent since the daemon started.
    pub canaries_total: u64,
    /// The last [`RECENT`] outages that ended, newest first: the page's timeline.
    pub outages: VecDeque<OutageEnd>,
    // --- Direct delivery (issue 12): posts straight to the receiver, `replayed` in history ---
    /// Posts since the daemon started, by the receiver's answer: `delivered`, `refused`, `unreachable`.
    pub replays: BTreeMap<String, u64>,
    /// Events owed a direct delivery as of the last poll, still to be delivered.
    pub replays_owed: u64,
    /// Posts written down and never completed (a killed process): not sent again by themselves.
    pub replays_uncertain: u64,
    pub last_replay_at: Option<DateTime<Utc>>,
    /// The last post the receiver refused or did not answer.
    pub last_replay_failure: Option<RecentReplay>,
    pub recent_replays: VecDeque<RecentReplay>,
}

/// One post straight to the receiver.
#[derive(Debug, Clone, Serialize)]
pub struct RecentReplay {
    pub at: DateTime<Utc>,
    pub guid: String,
    pub event: String,
    /// Why it was owed: `horizon`, `outage` or `pull`.
    pub reason: String,
    /// `delivered`, `refused` or `unreachable`.
    pub answer: String,
    pub status: Option<u16>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingEvent {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub attempts: u32,
    pub last_status_code: i64,
    pub first_attempt_at: DateTime<Utc>,
    /// `None` when due now.
    pub next_due_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RecentRedelivery {
    pub at: DateTime<Utc>,
    pub guid: String,
    pub event: String,
    pub delivery_id: u64,
    /// `accepted`, `refused` or `ambiguous`.
    pub answer: String,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GivenUpEvent {
    pub at: DateTime<Utc>,
    pub guid: String,
    pub event: String,
    pub attempts: u32,
    /// `cap` or `horizon`.
    pub reason: String,
}

impl TargetStatus {
    pub fn push_redelivery(&mut self, r: RecentRedelivery) {
        *self.redeliveries.entry(r.answer.clone()).or_default() += 1;
        self.recent_redeliveries.push_front(r);
        self.recent_redeliveries.truncate(RECENT);
    }

    /// Folds a pass's `receiver` object in (issue 11).
    pub fn push_receiver(&mut self, r: &ReceiverReport) {
        self.outages_total += u64::from(r.outage_started.is_some());
        self.canaries_total += u64::from(r.canaries_sent);
        for end in &r.outages_ended {
            self.outage_seconds_total += end.seconds.max(0) as u64;
            self.outages.push_front(end.clone());
        }
        self.outages.truncate(RECENT);
        self.receiver = Some(r.clone());
    }

    pub fn push_replay(&mut self, r: RecentReplay) {
        *self.replays.entry(r.answer.clone()).or_default() += 1;
        self.last_replay_at = Some(r.at);
        if r.answer != "delivered" {
            self.last_replay_failure = Some(r.clone());
        }
        self.recent_replays.push_front(r);
        self.recent_replays.truncate(RECENT);
    }

    pub fn push_given_up(&mut self, g: GivenUpEvent) {
        self.given_up_total += 1;
        self.given_up.push_front(g);
        self.given_up.truncate(RECENT);
    }
}

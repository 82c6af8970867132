//! The `--json` documents as the README documents them (`redeliver.run/v1`, `redeliver.runs/v1`,
//! `history --json`), typed, so tests read fields instead of indexing untyped JSON.
//!
//! `deny_unknown_fields` everywhere: a field added, renamed or dropped by the binary fails every
//! test that parses a report, until these mirrors (and the README) are updated with it. The enums
//! hold every documented value, so an outcome spelled differently fails to parse too.

// Every field mirrors the schema so that parsing checks it, whether or not a test reads it.
#![allow(dead_code)]

use chrono::{DateTime, Utc};
use serde::Deserialize;

/// `redeliver run --json` for one target (schema `redeliver.run/v1`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunReport {
    pub schema: String,
    pub name: String,
    pub target: String,
    pub api_url: String,
    pub api_url_source: String,
    pub dry_run: bool,
    pub window: Window,
    pub counts: Counts,
    pub events: Vec<Event>,
    pub state: State,
    pub requests: Requests,
    pub process: Option<Process>,
    pub exit_code: u8,
    /// The hook's receiver (issue 11); `null` with `--no-outage-awareness`.
    pub receiver: Option<Receiver>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    pub state: ReceiverState,
    pub since: Option<DateTime<Utc>>,
    pub events_waiting: u64,
    pub canaries: u32,
    pub canaries_sent: u32,
    pub outage_started: Option<DateTime<Utc>>,
    pub outages_ended: Vec<OutageEnd>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverState {
    Up,
    Down,
    Draining,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageEnd {
    pub since: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub seconds: i64,
    pub recovered: u64,
    pub given_up: u64,
}

impl RunReport {
    /// The event with this GUID; panics with the report's events when there is none.
    #[track_caller]
    pub fn event(&self, guid: &str) -> &Event {
        self.events.iter().find(|e| e.guid == guid).unwrap_or_else(|| panic!("no event {guid} in {:#?}", self.events))
    }

    pub fn guids(&self) -> Vec<String> {
        self.events.iter().map(|e| e.guid.clone()).collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    pub source: WindowSource,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowSource {
    Stored,
    Lookback,
    Since,
    Horizon,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub pages: u64,
    pub deliveries_read: u64,
    pub deliveries_in_window: u64,
    pub succeeded_events: u64,
    pub failed_events: u64,
    pub redelivered: u64,
    pub would_redeliver: u64,
    pub waiting: u64,
    pub deferred: u64,
    pub given_up: u64,
    pub refused: u64,
    pub ambiguous: u64,
    pub filtered: u64,
    pub held: u64,
    pub probed: u64,
    pub archived: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Event {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub attempts: u32,
    pub last_status_code: i64,
    pub last_status: String,
    pub first_attempt_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
    pub outcome: Outcome,
    pub delivery_id: Option<u64>,
    pub due_at: Option<DateTime<Utc>>,
    pub reason: Option<Reason>,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Redelivered,
    WouldRedeliver,
    Refused,
    Ambiguous,
    Waiting,
    Deferred,
    GivenUp,
    AlreadyGivenUp,
    Filtered,
    Held,
    Probed,
}

/// Why an event was given up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Cap,
    Horizon,
    Outage,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    pub store: String,
    pub previous: Option<DateTime<Utc>>,
    pub written: Option<DateTime<Utc>>,
    /// Events the Actions variable's carried ledger holds; `null` with SQLite alone.
    pub carried: Option<u64>,
    /// Carried entries left out to fit GitHub's limit on a variable.
    pub dropped: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requests {
    pub total: u64,
    pub rate_limit_remaining: Option<u64>,
    pub rate_limit_limit: Option<u64>,
    pub rate_limit_reset: Option<DateTime<Utc>>,
    pub clock_skew_seconds: Option<i64>,
}

/// The process's own cost (Linux only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Process {
    pub peak_rss_kb: u64,
    pub cpu_user_ms: u64,
    pub cpu_system_ms: u64,
}

/// `redeliver run --config … --json` (schema `redeliver.runs/v1`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunsReport {
    pub schema: String,
    pub reports: Vec<RunReport>,
    pub errors: Vec<TargetError>,
    pub exit_code: u8,
}

impl RunsReport {
    /// The report of the target with this name; panics with the names there are when none.
    #[track_caller]
    pub fn report(&self, name: &str) -> &RunReport {
        self.reports.iter().find(|r| r.name == name).unwrap_or_else(|| {
            panic!("no report {name:?} among {:?}", self.reports.iter().map(|r| &r.name).collect::<Vec<_>>())
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetError {
    pub target: String,
    pub error: String,
    pub hint: Option<String>,
}

/// One line of `redeliver history --json`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryRecord {
    pub target: String,
    pub guid: String,
    pub delivery_id: u64,
    pub event: String,
    pub at: DateTime<Utc>,
    pub answer: Answer,
    pub detail: Option<String>,
}

/// GitHub's answer to a redelivery request, as the ledger records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    Accepted,
    Refused,
    Ambiguous,
    /// The process stopped before the answer.
    Sending,
    /// Taken back: GitHub never acted on it (not sent, rate limited, unauthorized).
    NotSent,
    /// Posted straight to the receiver by `redeliver replay`.
    Replayed,
}

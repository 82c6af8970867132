//! The `--json` output of `redeliver run`: this module is its schema.
//!
//! One target (flags, no config file) prints one [`Report`] (`"schema": "redeliver.run/v1"`); a
//! config file prints one [`Runs`] (`"schema": "redeliver.runs/v1"`) holding a report per target
//! that ran and a [`TargetError`] per target that failed. Field names and their order are part of
//! the contract: scripts parse them, so a field is only ever added, never renamed or moved. Times
//! are RFC 3339 in UTC; a value that is not known is `null`, never left out.
//!
//! ```json
//! {
//!   "schema": "redeliver.run/v1",
//!   "name": "app",
//!   "target": "app hook of App 123",
//!   "api_url": "https://api.github.com/",
//!   "api_url_source": "default",
//!   "dry_run": false,
//!   "window": { "start": "…", "until": null, "source": "stored" },
//!   "counts": { "pages": 1, "deliveries_read": 30, "…": 0 },
//!   "events": [ { "guid": "…", "outcome": "redelivered", "…": null } ],
//!   "state": { "store": "SQLite …", "previous": "…", "written": "…", "carried": null, "dropped": null },
//!   "requests": { "total": 3, "rate_limit_remaining": 4990, "…": null },
//!   "process": { "peak_rss_kb": 9000, "cpu_user_ms": 20, "cpu_system_ms": 10 },
//!   "exit_code": 0,
//!   "receiver": { "state": "up", "since": null, "events_waiting": 0, "…": 0 }
//! }
//! ```
//!
//! `receiver` (issue 11) is documented in [`receiver`].

mod receiver;

pub use receiver::{OutageEnd, ReceiverReport, human_duration};

use crate::exit::Exit;
use chrono::{DateTime, Utc};
use redeliver_core::plan::GiveUpReason;
use redeliver_core::state::RedeliveryState;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// `schema` of a single target's report.
pub const RUN_SCHEMA: &str = "redeliver.run/v1";
/// `schema` of the reports of a config file's targets.
pub const RUNS_SCHEMA: &str = "redeliver.runs/v1";

/// What a pass did for one target; printed as the human summary or as `--json`.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always [`RUN_SCHEMA`].
    pub schema: &'static str,
    /// The target's name (from the config file; `app`, `repo` or `org` from flags).
    pub name: String,
    /// What the target is, in words: `app hook of App 123`, `repository hook octo/repo#42`.
    #[serde(rename = "target")]
    pub description: String,
    pub api_url: String,
    /// Which input chose the API URL: `--api-url`, `HOSTNAME`, `GITHUB_API_URL` or `default`.
    pub api_url_source: &'static str,
    /// `true` for `--dry-run`: nothing was sent and nothing written.
    pub dry_run: bool,
    pub window: WindowReport,
    pub counts: Counts,
    /// Every failed event in the window, and what the pass did about it.
    pub events: Vec<EventReport>,
    pub state: StateReport,
    pub requests: RequestReport,
    /// This process's own cost (Linux; `null` elsewhere), for benchmarks and capacity planning.
    pub process: Option<crate::usage::Usage>,
    /// The status this target alone would exit with: 0, or 1 when something needs a person.
    pub exit_code: u8,
    /// The hook's receiver (issue 11); `null` with `--no-outage-awareness`.
    pub receiver: Option<ReceiverReport>,
    /// What `watch`'s direct delivery did (docs/archive.md); not part of `--json` (`run` does
    /// no direct delivery): the status page and `/metrics` show it.
    #[serde(skip)]
    pub direct: Option<crate::direct::owed::DirectReport>,
}

/// The stretch of the delivery log the pass read.
#[derive(Debug, Serialize)]
pub struct WindowReport {
    pub start: DateTime<Utc>,
    /// `--until`, or `null` for "up to now".
    pub until: Option<DateTime<Utc>>,
    /// `stored`, `lookback`, `since`, or `horizon` when the start was moved up to what GitHub can still redeliver.
    pub source: &'static str,
}

/// What the pass read, and how many failed events ended in each [`Outcome`] (`already_given_up`
/// is not counted).
#[derive(Debug, Default, PartialEq, Eq, Serialize)]
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
    /// Owed, but held while the receiver is down (issue 11).
    pub held: u64,
    /// Redelivered as the canary of a receiver that is down (issue 11).
    pub probed: u64,
    /// Failed events whose delivery record this pass archived (one GET each, once per event).
    pub archived: u64,
}

impl Counts {
    /// Counts one event's outcome: the only place an outcome becomes a count.
    pub fn add(&mut self, outcome: Outcome) {
        let slot = match outcome {
            Outcome::Redelivered => &mut self.redelivered,
            Outcome::WouldRedeliver => &mut self.would_redeliver,
            Outcome::Waiting => &mut self.waiting,
            Outcome::Deferred => &mut self.deferred,
            Outcome::GivenUp => &mut self.given_up,
            Outcome::Refused => &mut self.refused,
            Outcome::Ambiguous => &mut self.ambiguous,
            Outcome::Filtered => &mut self.filtered,
            Outcome::Held => &mut self.held,
            Outcome::Probed => &mut self.probed,
            Outcome::AlreadyGivenUp => return,
        };
        *slot += 1;
    }

    /// A person should look: GitHub refused a redelivery, or an event was given up.
    pub fn need_attention(&self) -> bool {
        self.refused > 0 || self.given_up > 0
    }
}

/// What a pass did about one failed event (`outcome` in the JSON).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Asked for a redelivery and GitHub accepted.
    Redelivered,
    /// `--dry-run`: a redelivery is due and would have been asked for.
    WouldRedeliver,
    /// GitHub refused the redelivery (or the request failed); `detail` says why.
    Refused,
    /// GitHub's answer was unclear (5xx, no answer); the next pass sees from the log.
    Ambiguous,
    /// The next rung of the ladder is not due yet (`due_at`).
    Waiting,
    /// Due, but not sent in this pass (the per-pass cap, shutdown, or an earlier failure).
    Deferred,
    /// Given up in this pass: the attempt cap or the horizon (`reason`).
    GivenUp,
    /// Given up by an earlier pass.
    AlreadyGivenUp,
    /// Left alone by `--event`/`--exclude-event` filters; still owed (remembered as pending, and
    /// the stored time holds for it), so a run with another filter, or none, sends it.
    Filtered,
    /// The receiver is down: still owed, its ladder paused until the receiver is up again.
    Held,
    /// The receiver is down: redelivered as its canary, not charged a rung.
    Probed,
}

impl Outcome {
    /// The JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Redelivered => "redelivered",
            Outcome::WouldRedeliver => "would_redeliver",
            Outcome::Refused => "refused",
            Outcome::Ambiguous => "ambiguous",
            Outcome::Waiting => "waiting",
            Outcome::Deferred => "deferred",
            Outcome::GivenUp => "given_up",
            Outcome::AlreadyGivenUp => "already_given_up",
            Outcome::Filtered => "filtered",
            Outcome::Held => "held",
            Outcome::Probed => "probed",
        }
    }

    /// Whether the event is still owed something after this pass (the daemon's "pending" list).
    /// A filtered event is: a run with another filter, or none, sends it.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Outcome::Waiting
                | Outcome::Deferred
                | Outcome::Redelivered
                | Outcome::Ambiguous
                | Outcome::WouldRedeliver
                | Outcome::Filtered
                | Outcome::Held
                | Outcome::Probed
        )
    }

    /// Whether the human summary lists the event on a line of its own.
    pub fn is_listed(self) -> bool {
        !matches!(self, Outcome::Waiting | Outcome::Filtered | Outcome::AlreadyGivenUp | Outcome::Held)
    }

    /// GitHub's answer, for an outcome that sent a redelivery request.
    pub fn answer(self) -> Option<RedeliveryState> {
        match self {
            Outcome::Redelivered => Some(RedeliveryState::Accepted),
            Outcome::Refused => Some(RedeliveryState::Refused),
            Outcome::Ambiguous => Some(RedeliveryState::Ambiguous),
            _ => None,
        }
    }
}

/// The JSON name, padded as `{:<16}` asks.
impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

/// One failed event and what the pass did about it.
#[derive(Debug, Serialize)]
pub struct EventReport {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    /// Attempts GitHub lists for the event, redeliveries included.
    pub attempts: u32,
    /// The newest attempt's HTTP status; 0 when the receiver gave no answer.
    pub last_status_code: i64,
    pub last_status: String,
    pub first_attempt_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
    pub outcome: Outcome,
    /// The delivery a redelivery was (or would be) asked for.
    pub delivery_id: Option<u64>,
    /// When the next rung is due (`waiting`, `deferred`).
    pub due_at: Option<DateTime<Utc>>,
    /// `cap` or `horizon` for `given_up`.
    pub reason: Option<GiveUpReason>,
    /// GitHub's refusal, why an answer is ambiguous, or why a redelivery was deferred.
    pub detail: Option<String>,
}

impl EventReport {
    /// `event` or `event.action`, as filters and people name it.
    pub fn kind(&self) -> String {
        redeliver_core::model::event_kind(&self.event, self.action.as_deref())
    }
}

/// Where the pass keeps its memory.
#[derive(Debug, Serialize)]
pub struct StateReport {
    /// `SQLite PATH` or the Actions variable, in words.
    pub store: String,
    /// The time the previous run saved, if any.
    pub previous: Option<DateTime<Utc>>,
    /// The time saved for the next run; `null` when nothing was written (dry run, `--since`,
    /// `--until`).
    pub written: Option<DateTime<Utc>>,
    /// With the Actions variable: events the carried ledger (`NAME_LEDGER`) holds for the next
    /// run (after a dry run, as read); `null` with the SQLite ledger alone.
    pub carried: Option<u64>,
    /// With the Actions variable: carried entries left out to fit GitHub's 48 KB limit on a
    /// variable (oldest resolved, then given-up events first); `null` with the SQLite ledger alone.
    pub dropped: Option<u64>,
}

/// The GitHub API requests the pass made.
#[derive(Debug, Serialize)]
pub struct RequestReport {
    /// Requests this pass made.
    pub total: u64,
    pub rate_limit_remaining: Option<u64>,
    pub rate_limit_limit: Option<u64>,
    pub rate_limit_reset: Option<DateTime<Utc>>,
    /// GitHub's clock minus this machine's, in seconds, from the `Date` of GitHub's answers
    /// (`null` when none had one). Windows and stored times are on GitHub's clock.
    pub clock_skew_seconds: Option<i64>,
    /// Requests of the target's client since it was made, by `endpoint status` (for the daemon's
    /// metrics; not in the JSON).
    #[serde(skip)]
    pub by_endpoint: BTreeMap<String, u64>,
}

/// `--json` with a config file: every target's report, and the targets that failed.
#[derive(Debug, Serialize)]
pub struct Runs<'a> {
    /// Always [`RUNS_SCHEMA`].
    pub schema: &'static str,
    pub reports: &'a [Report],
    pub errors: &'a [TargetError],
    /// The status the command exits with: the worst of the targets'.
    pub exit_code: u8,
}

/// A target whose pass failed (config file runs only: a single target's failure is the command's).
#[derive(Debug, Serialize)]
pub struct TargetError {
    /// The target's name.
    #[serde(rename = "target")]
    pub name: String,
    /// The error and its causes, on one line.
    pub error: String,
    pub hint: Option<String>,
    #[serde(skip)]
    pub exit: Exit,
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const ALL: [Outcome; 9] = [
        Outcome::Redelivered,
        Outcome::WouldRedeliver,
        Outcome::Refused,
        Outcome::Ambiguous,
        Outcome::Waiting,
        Outcome::Deferred,
        Outcome::GivenUp,
        Outcome::AlreadyGivenUp,
        Outcome::Filtered,
    ];

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000 + secs, 0).unwrap()
    }

    pub(crate) fn sample() -> Report {
        Report {
            schema: RUN_SCHEMA,
            name: "app".into(),
            description: "app hook of App 1".into(),
            api_url: "https://api.github.com/".into(),
            api_url_source: "default",
            dry_run: false,
            window: WindowReport { start: at(0), until: None, source: "stored" },
            counts: Counts { pages: 1, deliveries_read: 3, given_up: 1, ..Counts::default() },
            events: vec![EventReport {
                guid: "g-1".into(),
                event: "push".into(),
                action: None,
                attempts: 8,
                last_status_code: 503,
                last_status: "Service Unavailable".into(),
                first_attempt_at: at(-60),
                last_attempt_at: at(-30),
                outcome: Outcome::GivenUp,
                delivery_id: None,
                due_at: None,
                reason: Some(GiveUpReason::Cap),
                detail: None,
            }],
            state: StateReport {
                store: "SQLite state.db".into(),
                previous: Some(at(-3600)),
                written: Some(at(0)),
                carried: None,
                dropped: None,
            },
            requests: RequestReport {
                total: 2,
                rate_limit_remaining: Some(4998),
                rate_limit_limit: Some(5000),
                rate_limit_reset: None,
                clock_skew_seconds: Some(0),
                by_endpoint: BTreeMap::from([("list_deliveries 200".to_string(), 1)]),
            },
            process: None,
            exit_code: 1,
            receiver: Some(ReceiverReport {
                state: "up",
                since: None,
                events_waiting: 0,
                canaries: 0,
                canaries_sent: 0,
                outage_started: None,
                outages_ended: Vec::new(),
            }),
            direct: None,
        }
    }

    /// The whole `redeliver.run/v1` object, field by field and in order: the contract scripts
    /// parse. A change here is a change of the schema.
    #[test]
    fn a_report_keeps_its_schema() {
        let expected = r#"{
  "schema": "redeliver.run/v1",
  "name": "app",
  "target": "app hook of App 1",
  "api_url": "https://api.github.com/",
  "api_url_source": "default",
  "dry_run": false,
  "window": {
    "start": "2025-10-09T08:53:20Z",
    "until": null,
    "source": "stored"
  },
  "counts": {
    "pages": 1,
    "deliveries_read": 3,
    "deliveries_in_window": 0,
    "succeeded_events": 0,
    "failed_events": 0,
    "redelivered": 0,
    "would_redeliver": 0,
    "waiting": 0,
    "deferred": 0,
    "given_up": 1,
    "refused": 0,
    "ambiguous": 0,
    "filtered": 0,
    "held": 0,
    "probed": 0,
    "archived": 0
  },
  "events": [
    {
      "guid": "g-1",
      "event": "push",
      "action": null,
      "attempts": 8,
      "last_status_code": 503,
      "last_status": "Service Unavailable",
      "first_attempt_at": "2025-10-09T08:52:20Z",
      "last_attempt_at": "2025-10-09T08:52:50Z",
      "outcome": "given_up",
      "delivery_id": null,
      "due_at": null,
      "reason": "cap",
      "detail": null
    }
  ],
  "state": {
    "store": "SQLite state.db",
    "previous": "2025-10-09T07:53:20Z",
    "written": "2025-10-09T08:53:20Z",
    "carried": null,
    "dropped": null
  },
  "requests": {
    "total": 2,
    "rate_limit_remaining": 4998,
    "rate_limit_limit": 5000,
    "rate_limit_reset": null,
    "clock_skew_seconds": 0
  },
  "process": null,
  "exit_code": 1,
  "receiver": {
    "state": "up",
    "since": null,
    "events_waiting": 0,
    "canaries": 0,
    "canaries_sent": 0,
    "outage_started": null,
    "outages_ended": []
  }
}"#;
        assert_eq!(serde_json::to_string_pretty(&sample()).unwrap(), expected);
    }

    #[test]
    fn runs_keep_their_schema() {
        let reports = [sample()];
        let errors =
            [TargetError { name: "lab".into(), error: "GitHub said 401".into(), hint: None, exit: Exit::GitHub }];
        let runs = Runs { schema: RUNS_SCHEMA, reports: &reports, errors: &errors, exit_code: 3 };
        let json = serde_json::to_string(&runs).unwrap();
        let report = serde_json::to_string(&reports[0]).unwrap();
        assert_eq!(
            json,
            format!(
                r#"{{"schema":"redeliver.runs/v1","reports":[{report}],"errors":[{{"target":"lab","error":"GitHub said 401","hint":null}}],"exit_code":3}}"#
            )
        );
    }

    #[test]
    fn outcomes_keep_their_json_names() {
        let names: Vec<String> =
            ALL.iter().map(|o| serde_json::to_value(o).unwrap().as_str().unwrap().into()).collect();
        assert_eq!(
            names,
            [
                "redelivered",
                "would_redeliver",
                "refused",
                "ambiguous",
                "waiting",
                "deferred",
                "given_up",
                "already_given_up",
                "filtered"
            ]
        );
        for o in ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(format!("{o}"), o.as_str());
        }
        assert_eq!(format!("{:<12}|", Outcome::Refused), "refused     |");
    }

    #[test]
    fn each_outcome_counts_in_its_own_field() {
        let mut counts = Counts::default();
        for (i, o) in ALL.iter().enumerate() {
            for _ in 0..=i {
                counts.add(*o);
            }
        }
        let json = serde_json::to_value(&counts).unwrap();
        for (i, o) in ALL.iter().enumerate() {
            match json.get(o.as_str()) {
                Some(n) => assert_eq!(n, (i + 1) as u64, "{o}"),
                None => assert_eq!(*o, Outcome::AlreadyGivenUp, "only already_given_up has no count"),
            }
        }
        assert!(counts.need_attention());
        assert!(!Counts { waiting: 3, redelivered: 2, ..Counts::default() }.need_attention());
    }

    #[test]
    fn a_filtered_event_is_still_owed_and_a_given_up_one_is_not() {
        assert!(Outcome::Filtered.is_pending());
        assert!(!Outcome::GivenUp.is_pending() && !Outcome::AlreadyGivenUp.is_pending());
    }

    #[test]
    fn answers_are_the_ledger_names() {
        let answers: Vec<_> = ALL.iter().filter_map(|o| o.answer()).map(RedeliveryState::as_str).collect();
        assert_eq!(answers, ["accepted", "refused", "ambiguous"]);
    }
}

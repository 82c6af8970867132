//! One pass, the I/O shell around the planner: read the stored time, list deliveries back to
//! it, plan, send the redeliveries that are due (recording each before it is sent), save state.

use crate::config::RunSettings;
use crate::exit::{Exit, Failure};
use chrono::{DateTime, Utc};
use redeliver_core::github::{ActionsVariable, ApiError, ClientConfig, Credentials, GitHubClient, HookTarget};
use redeliver_core::plan::{Decision, GiveUpReason, Scan, Verdict, Window, merge_pending, plan};
use redeliver_core::state::{Answer, Ledger, StateLock};
use serde::Serialize;
use std::collections::HashMap;

/// What a pass did; printed as the human summary or as `--json` (schema `redeliver.run/v1`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    pub target: String,
    pub api_url: String,
    /// Which input chose the API URL: `--api-url`, `HOSTNAME`, `GITHUB_API_URL` or `default`.
    pub api_url_source: &'static str,
    pub dry_run: bool,
    pub window: WindowReport,
    pub counts: Counts,
    pub events: Vec<EventReport>,
    pub state: StateReport,
    pub requests: RequestReport,
    pub exit_code: u8,
}

#[derive(Debug, Serialize)]
pub struct WindowReport {
    pub start: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
    /// `stored`, `lookback`, `since`, or `horizon` when the start was moved up to what GitHub can still redeliver.
    pub source: &'static str,
}

#[derive(Debug, Default, Serialize)]
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
}

/// One failed event and what the pass did about it.
#[derive(Debug, Serialize)]
pub struct EventReport {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub attempts: u32,
    pub last_status_code: i64,
    pub last_status: String,
    pub first_attempt_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
    /// `redelivered`, `would_redeliver`, `refused`, `ambiguous`, `waiting`, `deferred`,
    /// `given_up`, `already_given_up` or `filtered`.
    pub outcome: &'static str,
    pub delivery_id: Option<u64>,
    pub due_at: Option<DateTime<Utc>>,
    pub reason: Option<GiveUpReason>,
    pub detail: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct StateReport {
    pub store: String,
    pub previous: Option<DateTime<Utc>>,
    /// The time saved for the next run; `null` when nothing was written (dry run, `--since`).
    pub written: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize)]
pub struct RequestReport {
    pub total: u64,
    pub rate_limit_remaining: Option<u64>,
}

fn github_failure(e: ApiError) -> Failure {
    let hint = e.hint();
    Failure::new(Exit::GitHub, e).with_hint(hint)
}

fn state_failure(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(Exit::State, e)
}

fn client(s: &RunSettings, credentials: Credentials) -> Result<GitHubClient, Failure> {
    let mut config = ClientConfig::new(s.api_url.clone());
    config.user_agent = format!("redeliver/{}", env!("CARGO_PKG_VERSION"));
    config.pace = s.pace;
    config.max_rate_limit_wait = s.max_wait;
    config.retry_base = s.retry_base;
    GitHubClient::new(config, credentials).map_err(github_failure)
}

pub async fn run(s: RunSettings) -> Result<Report, Failure> {
    let started = Utc::now();
    let target = HookTarget::App;
    let key = s.target_key();

    // Phase 1, reading only: a failure here (auth, network, bad answer) leaves no trace.
    let reader = Ledger::open_read_only(&s.state_path).map_err(state_failure)?;
    let mut variable = match &s.variable {
        Some(v) => {
            let c = client(&s, Credentials::Token(v.token.clone()))?;
            Some(ActionsVariable::new(c, v.owner.clone(), v.repo.clone(), v.name.clone()))
        }
        None => None,
    };
    let previous = match (&mut variable, &reader) {
        (Some(var), _) => var.read().await.map_err(github_failure)?,
        (None, Some(l)) => l.watermark(&key).map_err(state_failure)?,
        (None, None) => None,
    };
    let (mut start, mut source) = match (s.since, previous) {
        (Some(since), _) => (since, "since"),
        (None, Some(stored)) => (stored, "stored"),
        (None, None) => (started - s.lookback, "lookback"),
    };
    // GitHub cannot redeliver past the horizon, so listing further back costs requests for
    // nothing; a day beyond it is still read, so events that just crossed it are reported.
    let floor = started - s.policy.horizon - chrono::Duration::days(1);
    if start < floor {
        start = floor;
        source = "horizon";
    }
    let window = Window { start, until: s.until };

    let mut app = client(&s, Credentials::App { app_id: s.app_id.clone(), key: s.key.clone() })?;
    let mut scan = Scan::new(window);
    let mut counts = Counts::default();
    let mut next = None;
    loop {
        let page = app.list_deliveries(&target, next.as_ref()).await.map_err(github_failure)?;
        counts.pages += 1;
        page.deliveries.iter().for_each(|d| scan.observe(d));
        tracing::debug!(page = counts.pages, read = scan.deliveries_read, "listed a page");
        match page.next {
            Some(url) if !scan.reached_start && !page.deliveries.is_empty() => next = Some(url),
            _ => break,
        }
    }

    // Phase 2, acting: one process at a time. The ledger is read again under the lock, so a
    // pass that overlapped this one and already redelivered an event is seen here.
    let (_lock, ledger) = if s.dry_run {
        (None, reader)
    } else {
        drop(reader);
        let lock = StateLock::acquire(&s.state_path).map_err(|e| {
            Failure::new(Exit::State, e)
                .with_hint(Some("wait for the other pass to finish, or give each schedule its own --state".into()))
        })?;
        (Some(lock), Some(Ledger::open(&s.state_path).map_err(state_failure)?))
    };
    let now = Utc::now();
    let pending = match &ledger {
        Some(l) => l.pending(&key).map_err(state_failure)?,
        None => Vec::new(),
    };
    let merged = merge_pending(&scan, pending);
    let memory = match &ledger {
        Some(l) => l.memory(&key, merged.failed.iter().map(|h| h.guid.as_str())).map_err(state_failure)?,
        None => HashMap::new(),
    };
    let plan = plan(&merged.failed, &memory, &s.policy, &s.filter, s.max_redeliveries, now);

    let mut events = Vec::with_capacity(plan.verdicts.len());
    let mut stop: Option<String> = None;
    for v in &plan.verdicts {
        let mut report = EventReport::from_verdict(v);
        match v.decision {
            Decision::Redeliver { delivery_id } if s.dry_run => {
                report.outcome = "would_redeliver";
                report.delivery_id = Some(delivery_id);
            }
            Decision::Redeliver { delivery_id } if stop.is_some() => {
                report.outcome = "deferred";
                report.delivery_id = Some(delivery_id);
                report.detail = stop.clone();
            }
            Decision::Redeliver { delivery_id } => {
                report.delivery_id = Some(delivery_id);
                let ledger = ledger.as_ref().expect("a writable ledger outside dry runs");
                let at = Utc::now();
                let row = ledger
                    .begin_redelivery(&key, &v.history.guid, &v.history.event, delivery_id, v.first_attempt_at, at)
                    .map_err(state_failure)?;
                let (answer, outcome, detail) = match app.redeliver(&target, delivery_id).await {
                    Ok(()) => (Answer::Accepted, "redelivered", None),
                    Err(ApiError::Ambiguous { detail }) => (Answer::Ambiguous, "ambiguous", Some(detail)),
                    Err(e @ (ApiError::Refused { .. } | ApiError::NotFound { .. })) => {
                        (Answer::Refused, "refused", Some(e.to_string()))
                    }
                    Err(e) => {
                        // Auth, rate limit past --max-wait, network: the rest would fail alike.
                        stop = Some(format!("not sent: the pass stopped after: {e}"));
                        (Answer::Refused, "refused", Some(e.to_string()))
                    }
                };
                ledger.complete(row, answer, detail.as_deref()).map_err(state_failure)?;
                tracing::info!(guid = %v.history.guid, delivery_id, outcome, "redelivery");
                report.outcome = outcome;
                report.detail = detail;
            }
            Decision::GiveUp { reason } => {
                if let Some(l) = ledger.as_ref().filter(|_| !s.dry_run) {
                    l.give_up(&key, &v.history.guid, &v.history.event, reason, v.first_attempt_at, now)
                        .map_err(state_failure)?;
                }
                tracing::warn!(guid = %v.history.guid, ?reason, "given up");
            }
            _ => {}
        }
        counts.add(report.outcome);
        events.push(report);
    }
    counts.deliveries_read = scan.deliveries_read;
    counts.deliveries_in_window = scan.deliveries_in_window;
    counts.succeeded_events = scan.succeeded_guids();
    counts.failed_events = plan.verdicts.len() as u64;

    let store = match &variable {
        Some(v) => v.describe(),
        None => format!("SQLite {}", s.state_path.display()),
    };
    // The ledger now owes every pending event its next rung, and knows which ones recovered.
    if let Some(l) = ledger.as_ref().filter(|_| !s.dry_run) {
        for v in plan.verdicts.iter().filter(|v| v.decision.is_pending()) {
            l.remember_pending(&key, &v.history, v.first_attempt_at).map_err(state_failure)?;
        }
        for guid in &merged.resolved {
            l.resolve(&key, guid, now).map_err(state_failure)?;
        }
    }
    let written = if s.dry_run || s.since.is_some() {
        None
    } else {
        // With the SQLite ledger, pending events are remembered there, so the next pass lists
        // only what is new. The Actions variable holds a time only (and a runner's ledger dies
        // with the job), so there the time stays early enough to list every pending event again.
        let mark = if variable.is_some() { plan.next_watermark(started, s.overlap) } else { started - s.overlap };
        match (&mut variable, &ledger) {
            (Some(var), _) => var.write(mark).await.map_err(|e| Failure::new(Exit::State, e))?,
            (None, Some(l)) => l.set_watermark(&key, mark, Utc::now()).map_err(state_failure)?,
            (None, None) => {}
        }
        Some(mark)
    };
    let stats = app.stats();
    let attention = counts.refused > 0 || counts.given_up > 0 || stop.is_some();
    Ok(Report {
        schema: "redeliver.run/v1",
        target: format!("{target} of App {}", s.app_id),
        api_url: s.api_url.to_string(),
        api_url_source: s.api_url_source,
        dry_run: s.dry_run,
        window: WindowReport { start, until: s.until, source },
        counts,
        events,
        state: StateReport { store, previous, written },
        requests: RequestReport {
            total: stats.total(),
            rate_limit_remaining: stats.rate_limit.as_ref().and_then(|r| r.remaining),
        },
        exit_code: if attention { Exit::Attention as u8 } else { Exit::Success as u8 },
    })
}

impl EventReport {
    fn from_verdict(v: &Verdict) -> Self {
        let (outcome, due_at, reason) = match v.decision {
            Decision::Redeliver { .. } => ("redelivered", None, None),
            Decision::Deferred { due_at } => ("deferred", Some(due_at), None),
            Decision::Waiting { due_at } => ("waiting", Some(due_at), None),
            Decision::GiveUp { reason } => ("given_up", None, Some(reason)),
            Decision::AlreadyGivenUp => ("already_given_up", None, None),
            Decision::Filtered => ("filtered", None, None),
        };
        Self {
            guid: v.history.guid.clone(),
            event: v.history.event.clone(),
            action: v.history.action.clone(),
            attempts: v.attempts,
            last_status_code: v.history.last_status_code,
            last_status: v.history.last_status.clone(),
            first_attempt_at: v.first_attempt_at,
            last_attempt_at: v.last_attempt_at,
            outcome,
            delivery_id: None,
            due_at,
            reason,
            detail: None,
        }
    }
}

impl Counts {
    fn add(&mut self, outcome: &str) {
        let slot = match outcome {
            "redelivered" => &mut self.redelivered,
            "would_redeliver" => &mut self.would_redeliver,
            "waiting" => &mut self.waiting,
            "deferred" => &mut self.deferred,
            "given_up" => &mut self.given_up,
            "refused" => &mut self.refused,
            "ambiguous" => &mut self.ambiguous,
            "filtered" => &mut self.filtered,
            _ => return,
        };
        *slot += 1;
    }
}

//! One pass, the I/O shell around the planner: read the stored time, list deliveries back to
//! it, plan, send the redeliveries that are due (recording each before it is sent), save state.

use crate::config::{Auth, RunOptions, Target};
use crate::exit::{Exit, Failure};
use chrono::{DateTime, Utc};
use redeliver_core::github::{ActionsVariable, ApiError, ClientConfig, Credentials, GitHubClient, ListedPage, Pace};
use redeliver_core::plan::{Decision, GiveUpReason, Scan, Verdict, Window, plan};
use redeliver_core::state::{Answer, Ledger, StateLock};
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// What a pass did; printed as the human summary or as `--json` (schema `redeliver.run/v1`).
#[derive(Debug, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// The target's name (from the config file; `app`, `repo` or `org` from flags).
    pub name: String,
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
    /// This process's own cost (Linux; `null` elsewhere), for benchmarks and capacity planning.
    pub process: Option<crate::usage::Usage>,
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
    /// Requests this pass made.
    pub total: u64,
    pub rate_limit_remaining: Option<u64>,
    pub rate_limit_limit: Option<u64>,
    pub rate_limit_reset: Option<DateTime<Utc>>,
    /// Requests of the target's client since it was made, by `endpoint status` (for the daemon's metrics).
    #[serde(skip)]
    pub by_endpoint: std::collections::BTreeMap<String, u64>,
}

fn github_failure(e: ApiError) -> Failure {
    let hint = e.hint();
    Failure::new(Exit::GitHub, e).with_hint(hint)
}

fn state_failure(e: impl Into<anyhow::Error>) -> Failure {
    Failure::new(Exit::State, e)
}

/// A hook's client, with what it takes to renew an installation token.
struct HookClient {
    client: GitHubClient,
    /// For an installation token: the App client that mints it, and when it was minted.
    minter: Option<(GitHubClient, Instant)>,
}

/// GitHub's installation tokens live one hour; renew well before.
const TOKEN_RENEW_AFTER: std::time::Duration = std::time::Duration::from_secs(50 * 60);

pub fn client(t: &Target, credentials: Credentials) -> Result<GitHubClient, Failure> {
    let mut config = ClientConfig::new(t.api_url.clone());
    config.user_agent = format!("redeliver/{}", env!("CARGO_PKG_VERSION"));
    config.pace = t.pace;
    config.max_rate_limit_wait = t.max_wait;
    config.retry_base = t.retry_base;
    GitHubClient::new(config, credentials).map_err(github_failure)
}

/// What lives across passes: the state file (and, for the daemon, its lock held for life),
/// one client per target (JWTs and installation tokens are reused and renewed), the time of the
/// last redelivery request per host (targets on one host are paced together), and the shutdown flag.
pub struct Session {
    state_path: PathBuf,
    held: Option<StateLock>,
    clients: HashMap<String, HookClient>,
    last_post: HashMap<String, Instant>,
    pub cancel: Arc<AtomicBool>,
}

impl Session {
    pub fn new(state_path: PathBuf) -> Self {
        Self { state_path, held: None, clients: HashMap::new(), last_post: HashMap::new(), cancel: Arc::default() }
    }

    /// Takes the state's lock for the whole session (the daemon), instead of once per pass.
    pub fn hold_lock(&mut self) -> Result<(), Failure> {
        self.held = Some(acquire(&self.state_path)?);
        Ok(())
    }

    pub fn state_path(&self) -> &std::path::Path {
        &self.state_path
    }

    /// The target's client, made on first use; an installation token is minted when missing or old.
    async fn take_client(&mut self, t: &Target) -> Result<HookClient, Failure> {
        let mut hc = match self.clients.remove(&t.key()) {
            Some(hc) => hc,
            None => match &t.auth {
                Auth::App { app_id, key } => HookClient {
                    client: client(t, Credentials::App { app_id: app_id.clone(), key: key.clone() })?,
                    minter: None,
                },
                Auth::Token(token) => {
                    HookClient { client: client(t, Credentials::Token(token.clone()))?, minter: None }
                }
                Auth::Installation { app_id, key } => {
                    let mut app = client(t, Credentials::App { app_id: app_id.clone(), key: key.clone() })?;
                    let token = app.installation_token(&t.hook).await.map_err(github_failure)?;
                    HookClient { client: client(t, Credentials::Token(token))?, minter: Some((app, Instant::now())) }
                }
            },
        };
        if hc.minter.as_ref().is_some_and(|(_, at)| at.elapsed() > TOKEN_RENEW_AFTER) {
            renew(&mut hc, t).await?;
        }
        Ok(hc)
    }

    /// One pass over one target.
    pub async fn pass(&mut self, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        let mut hc = self.take_client(t).await?;
        let result = self.pass_with(&mut hc, t, o).await;
        self.clients.insert(t.key(), hc);
        result
    }

    /// Waits until this host's last redelivery request is `pace` old.
    async fn pace_host(&mut self, t: &Target) {
        let host = t.api_url.host_str().unwrap_or_default().to_string()
            + &t.api_url.port().map(|p| format!(":{p}")).unwrap_or_default();
        if let Some(last) = self.last_post.get(&host) {
            let gap = match t.pace {
                Pace::Fixed(gap) => gap,
                // Adaptive pacing lives in the client; across targets keep at least its floor.
                Pace::Auto { min, .. } => min,
            };
            let wait = gap.saturating_sub(last.elapsed());
            if !wait.is_zero() {
                tokio::time::sleep(wait).await;
            }
        }
        self.last_post.insert(host, Instant::now());
    }
}

fn acquire(state: &std::path::Path) -> Result<StateLock, Failure> {
    StateLock::acquire(state).map_err(|e| {
        Failure::new(Exit::State, e)
            .with_hint(Some("wait for the other process to finish, or give each schedule its own --state".into()))
    })
}

async fn renew(hc: &mut HookClient, t: &Target) -> Result<(), Failure> {
    if let Some((app, at)) = hc.minter.as_mut() {
        let token = app.installation_token(&t.hook).await.map_err(github_failure)?;
        hc.client = client(t, Credentials::Token(token))?;
        *at = Instant::now();
        tracing::info!(target = %t.name, "renewed the installation token");
    }
    Ok(())
}

/// One page, fed attempt by attempt into the scan without copying; an installation token that
/// GitHub no longer accepts is renewed once.
async fn page(
    hc: &mut HookClient,
    t: &Target,
    next: Option<&url::Url>,
    scan: &mut Scan,
) -> Result<ListedPage, Failure> {
    match hc.client.list_deliveries_each(&t.hook, next, |d| scan.observe_ref(&d)).await {
        Err(ApiError::Unauthorized { .. }) if hc.minter.is_some() => {
            renew(hc, t).await?;
            hc.client.list_deliveries_each(&t.hook, next, |d| scan.observe_ref(&d)).await.map_err(github_failure)
        }
        other => other.map_err(github_failure),
    }
}

impl Session {
    async fn pass_with(&mut self, hc: &mut HookClient, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        let started = Utc::now();
        let requests_before = hc.client.stats().total();
        let target = &t.hook;
        let key = t.key();

        // Phase 1, reading only: a failure here (auth, network, bad answer) leaves no trace.
        let reader = Ledger::open_read_only(&self.state_path).map_err(state_failure)?;
        let mut variable = match &t.variable {
            Some(v) => {
                let c = client(t, Credentials::Token(v.token.clone()))?;
                Some(ActionsVariable::new(c, v.owner.clone(), v.repo.clone(), v.name.clone()))
            }
            None => None,
        };
        let previous = match (&mut variable, &reader) {
            (Some(var), _) => var.read().await.map_err(github_failure)?,
            (None, Some(l)) => l.watermark(&key).map_err(state_failure)?,
            (None, None) => None,
        };
        let (mut start, mut source) = match (o.since, previous) {
            (Some(since), _) => (since, "since"),
            (None, Some(stored)) => (stored, "stored"),
            (None, None) => (started - t.lookback, "lookback"),
        };
        // GitHub cannot redeliver past the horizon, so listing further back costs requests for
        // nothing; a day beyond it is still read, so events that just crossed it are reported.
        let floor = started - t.policy.horizon - chrono::Duration::days(1);
        if start < floor {
            start = floor;
            source = "horizon";
        }
        let window = Window { start, until: o.until };

        let mut scan = Scan::new(window);
        if let Some(l) = &reader {
            scan.remember(l.pending(&key).map_err(state_failure)?);
        }
        let mut counts = Counts::default();
        let mut next = None;
        loop {
            let page = page(hc, t, next.as_ref(), &mut scan).await?;
            counts.pages += 1;
            tracing::debug!(page = counts.pages, read = scan.deliveries_read, "listed a page");
            match page.next {
                Some(url) if !scan.reached_start && page.deliveries > 0 => next = Some(url),
                _ => break,
            }
        }

        // Phase 2, acting: one process at a time. The ledger is read again under the lock, so a
        // pass that overlapped this one and already redelivered an event is seen here.
        let (_lock, ledger) = if o.dry_run {
            (None, reader)
        } else {
            drop(reader);
            let lock = if self.held.is_some() { None } else { Some(acquire(&self.state_path)?) };
            (lock, Some(Ledger::open(&self.state_path).map_err(state_failure)?))
        };
        let now = Utc::now();
        let memory = match &ledger {
            Some(l) => l.memory(&key, scan.failed().map(|h| h.guid.as_str())).map_err(state_failure)?,
            None => HashMap::new(),
        };
        let plan = plan(scan.failed(), &memory, &t.policy, &t.filter, o.max_redeliveries, now);

        let mut events = Vec::with_capacity(plan.verdicts.len());
        let mut stop: Option<String> = None;
        for v in &plan.verdicts {
            let mut report = EventReport::from_verdict(v);
            match v.decision {
                Decision::Redeliver { delivery_id } if o.dry_run => {
                    report.outcome = "would_redeliver";
                    report.delivery_id = Some(delivery_id);
                }
                Decision::Redeliver { delivery_id } if stop.is_some() || self.cancel.load(Ordering::SeqCst) => {
                    stop.get_or_insert_with(|| "not sent: shutting down; the next pass sends it".to_string());
                    report.outcome = "deferred";
                    report.delivery_id = Some(delivery_id);
                    report.detail = stop.clone();
                }
                Decision::Redeliver { delivery_id } => {
                    report.delivery_id = Some(delivery_id);
                    let ledger = ledger.as_ref().expect("a writable ledger outside dry runs");
                    // Paced before it is written down, so a crash while waiting costs no rung.
                    self.pace_host(t).await;
                    let at = Utc::now();
                    let row = ledger
                        .begin_redelivery(&key, &v.history.guid, &v.history.event, delivery_id, v.first_attempt_at, at)
                        .map_err(state_failure)?;
                    let (answer, outcome, detail) = match hc.client.redeliver(target, delivery_id).await {
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
                    if let Some(l) = ledger.as_ref().filter(|_| !o.dry_run) {
                        l.give_up(&key, &v.history.guid, &v.history.event, reason, v.first_attempt_at, now)
                            .map_err(state_failure)?;
                    }
                    tracing::info!(guid = %v.history.guid, ?reason, "given up");
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
            None => format!("SQLite {}", self.state_path.display()),
        };
        // The ledger now owes every pending event its next rung, and knows which ones recovered.
        if let Some(l) = ledger.as_ref().filter(|_| !o.dry_run) {
            for v in plan.verdicts.iter().filter(|v| v.decision.is_pending()) {
                l.remember_pending(&key, &v.history, v.first_attempt_at).map_err(state_failure)?;
            }
            for guid in scan.resolved() {
                l.resolve(&key, guid, now).map_err(state_failure)?;
            }
        }
        let written = if o.dry_run || o.since.is_some() {
            None
        } else {
            // With the SQLite ledger, pending events are remembered there, so the next pass lists
            // only what is new. The Actions variable holds a time only (and a runner's ledger dies
            // with the job), so there the time stays early enough to list every pending event again.
            let mark = if variable.is_some() { plan.next_watermark(started, t.overlap) } else { started - t.overlap };
            match (&mut variable, &ledger) {
                (Some(var), _) => var.write(mark).await.map_err(|e| Failure::new(Exit::State, e))?,
                (None, Some(l)) => l.set_watermark(&key, mark, Utc::now()).map_err(state_failure)?,
                (None, None) => {}
            }
            Some(mark)
        };
        let stats = hc.client.stats();
        let attention = counts.refused > 0 || counts.given_up > 0 || stop.is_some();
        Ok(Report {
            schema: "redeliver.run/v1",
            name: t.name.clone(),
            target: t.describe(),
            api_url: t.api_url.to_string(),
            api_url_source: t.api_url_source,
            dry_run: o.dry_run,
            window: WindowReport { start, until: o.until, source },
            counts,
            events,
            state: StateReport { store, previous, written },
            process: crate::usage::Usage::of_this_process(),
            requests: RequestReport {
                total: stats.total() - requests_before,
                rate_limit_remaining: stats.rate_limit.as_ref().and_then(|r| r.remaining),
                rate_limit_limit: stats.rate_limit.as_ref().and_then(|r| r.limit),
                rate_limit_reset: stats.rate_limit.as_ref().and_then(|r| r.reset),
                by_endpoint: stats
                    .requests
                    .iter()
                    .map(|c| {
                        (format!("{} {}", c.endpoint, c.status.map_or("error".to_string(), |s| s.to_string())), c.count)
                    })
                    .fold(Default::default(), |mut m: std::collections::BTreeMap<String, u64>, (k, n)| {
                        *m.entry(k).or_default() += n;
                        m
                    }),
            },
            exit_code: if attention { Exit::Attention as u8 } else { Exit::Success as u8 },
        })
    }
}

impl EventReport {
    /// `event` or `event.action`, as filters and people name it.
    pub fn kind(&self) -> String {
        match &self.action {
            Some(a) => format!("{}.{a}", self.event),
            None => self.event.clone(),
        }
    }

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

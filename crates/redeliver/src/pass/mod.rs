//! One pass, the I/O shell around the planner, in four steps: read the stored time and list the
//! deliveries back to it ([`read`]), plan, act on what is due ([`act`]: each redelivery recorded
//! before it is sent), and save state ([`save`]). What it did comes back as a [`Report`].

mod act;
mod client;
mod read;
mod save;

pub use client::{HookClient, SignIn, client, sign_in};

use crate::config::{RunOptions, Target};
use crate::exit::{Exit, Failure};
use crate::report::{RUN_SCHEMA, Report, RequestReport, StateReport, WindowReport};
use chrono::Utc;
use redeliver_core::github::{Pace, RequestStats};
use redeliver_core::plan::plan;
use redeliver_core::state::{Ledger, StateLock};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What lives across passes: the state file (and, for the daemon, its lock held for life),
/// one client per target (JWTs and installation tokens are reused and renewed), the time of the
/// last redelivery request per host (targets on one host are paced together), and the shutdown flag.
pub struct Session {
    state_path: PathBuf,
    held: Option<StateLock>,
    /// By ledger key.
    clients: HashMap<String, HookClient>,
    last_post: HashMap<String, Instant>,
    /// Shutdown: cancelled by a signal; every client wait and the pacing end with it.
    pub cancel: tokio_util::sync::CancellationToken,
}

impl Session {
    pub fn new(state_path: PathBuf) -> Self {
        Self { state_path, held: None, clients: HashMap::new(), last_post: HashMap::new(), cancel: Default::default() }
    }

    /// Takes the state's lock for the whole session (the daemon), instead of once per pass.
    pub fn hold_lock(&mut self) -> Result<(), Failure> {
        self.held = Some(StateLock::acquire(&self.state_path)?);
        Ok(())
    }

    pub fn state_path(&self) -> &Path {
        &self.state_path
    }

    /// One pass over one target.
    pub async fn pass(&mut self, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        let mut hc = match self.clients.remove(&t.key()) {
            Some(hc) => hc,
            None => HookClient::connect(t, &self.cancel).await?,
        };
        hc.refresh(t).await?;
        let result = self.pass_with(&mut hc, t, o).await;
        self.clients.insert(t.key(), hc);
        result
    }

    async fn pass_with(&mut self, hc: &mut HookClient, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        let started = Utc::now();
        let requests_before = hc.client.stats().total();

        // Reading only: a failure here (auth, network, bad answer) leaves no trace.
        let mut read = read::read(&self.state_path, t, o, started).await?;
        let (scan, pages) = read::list(hc, t, &read).await?;

        let (_lock, ledger) = self.open_for_acting(read.reader.take(), o.dry_run)?;
        let now = Utc::now();
        let memory = match &ledger {
            Some(l) => l.memory(&t.key(), scan.failed().map(|h| h.guid.as_str()))?,
            None => HashMap::new(),
        };
        let plan = plan(scan.failed(), &memory, &t.policy, &t.filter, o.max_redeliveries, now);
        let mut acted = self.act(hc, t, o, &plan, ledger.as_ref(), now).await?;
        acted.counts.pages = pages;
        acted.counts.deliveries_read = scan.deliveries_read;
        acted.counts.deliveries_in_window = scan.deliveries_in_window;
        acted.counts.succeeded_events = scan.succeeded_guids();
        acted.counts.failed_events = plan.verdicts.len() as u64;

        let store = match &read.variable {
            Some(v) => v.describe(),
            None => format!("SQLite {}", self.state_path.display()),
        };
        save::remember(t, o, &plan, &scan, ledger.as_ref(), now)?;
        let written = save::watermark(t, o, &plan, ledger.as_ref(), read.variable.as_mut(), started).await?;
        let attention = acted.counts.need_attention() || acted.stop.is_some();
        Ok(Report {
            schema: RUN_SCHEMA,
            name: t.name.clone(),
            description: t.describe(),
            api_url: t.api_url.to_string(),
            api_url_source: t.api_url_source,
            dry_run: o.dry_run,
            window: WindowReport { start: read.window.start, until: o.until, source: read.source },
            counts: acted.counts,
            events: acted.events,
            state: StateReport { store, previous: read.previous, written },
            process: crate::usage::Usage::of_this_process(),
            requests: requests(hc.client.stats(), requests_before),
            exit_code: if attention { Exit::Attention as u8 } else { Exit::Success as u8 },
        })
    }

    /// Acting is one process at a time: the lock (unless the session holds it), and the ledger
    /// read again under it, so that a pass that overlapped this one and already redelivered an
    /// event is seen. A dry run keeps the read-only ledger and takes no lock.
    fn open_for_acting(
        &self,
        reader: Option<Ledger>,
        dry_run: bool,
    ) -> Result<(Option<StateLock>, Option<Ledger>), Failure> {
        if dry_run {
            return Ok((None, reader));
        }
        drop(reader);
        let lock = if self.held.is_some() { None } else { Some(StateLock::acquire(&self.state_path)?) };
        Ok((lock, Some(Ledger::open(&self.state_path)?)))
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
                // A shutdown ends the wait; the client then sends nothing (`ApiError::Cancelled`).
                tokio::select! {
                    () = self.cancel.cancelled() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        self.last_post.insert(host, Instant::now());
    }
}

/// The requests this pass made (`before` is the client's count when it began), and the
/// client's counts since it was made, for the daemon's metrics.
fn requests(stats: &RequestStats, before: u64) -> RequestReport {
    let mut by_endpoint = BTreeMap::<String, u64>::new();
    for c in &stats.requests {
        let status = c.status.map_or("error".to_string(), |s| s.to_string());
        *by_endpoint.entry(format!("{} {status}", c.endpoint)).or_default() += c.count;
    }
    RequestReport {
        total: stats.total() - before,
        rate_limit_remaining: stats.rate_limit.as_ref().and_then(|r| r.remaining),
        rate_limit_limit: stats.rate_limit.as_ref().and_then(|r| r.limit),
        rate_limit_reset: stats.rate_limit.as_ref().and_then(|r| r.reset),
        by_endpoint,
    }
}

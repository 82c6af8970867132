//! One pass, the I/O shell around the planner, in four steps: read the stored time and list the
//! deliveries back to it ([`read`]), plan, act on what is due ([`act`]: each redelivery recorded
//! before it is sent), and save state ([`save`]). What it did comes back as a [`Report`].

mod act;
mod archive;
mod carry;
mod client;
mod lease;
mod outage;
mod read;
mod save;

pub use client::{HookClient, SignIn, Tokens, client, sign_in};

use crate::config::{RunOptions, Target};
use crate::direct::owed::{self, DirectReport};
use crate::direct::send;
use crate::exit::{Exit, Failure};
use crate::report::{RUN_SCHEMA, Report, RequestReport, StateReport, WindowReport};
use chrono::Utc;
use redeliver_core::github::{Pace, RequestStats};
use redeliver_core::plan::{EventFilter, plan};
use redeliver_core::state::{Ledger, StateLocation, StateLock};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

/// What lives across passes: the state (a file and, for the daemon, its lock held for life; or
/// a PostgreSQL database and this process's leases on it),
/// one client per target (JWTs and installation tokens are reused and renewed), the time of the
/// last redelivery request per host (targets on one host are paced together), and the shutdown flag.
pub struct Session {
    state: StateLocation,
    held: Option<StateLock>,
    /// PostgreSQL state: this process's name in the fleet and the leases it holds.
    leases: lease::Leases,
    /// By ledger key.
    clients: HashMap<String, HookClient>,
    /// Installation tokens, one per App and account, shared by the clients (issue 14).
    pub tokens: client::Tokens,
    /// By host: when the last redelivery request went there, and the gap its target keeps.
    last_post: HashMap<String, (Instant, Duration)>,
    /// Shutdown: cancelled by a signal; every client wait and the pacing end with it.
    pub cancel: tokio_util::sync::CancellationToken,
    /// Whether passes deliver straight to receivers where a target asks (`watch` only;
    /// docs/archive.md), and the HTTP client they post with.
    pub direct: bool,
    http: Option<reqwest::Client>,
}

impl Session {
    pub fn new(state: StateLocation) -> Self {
        Self {
            state,
            held: None,
            leases: lease::Leases::default(),
            clients: HashMap::new(),
            tokens: client::Tokens::default(),
            last_post: HashMap::new(),
            cancel: Default::default(),
            direct: false,
            http: None,
        }
    }

    /// Takes the state's lock for the whole session (the daemon), instead of once per pass. A
    /// PostgreSQL state has no file to lock: the daemon shares it through leases instead
    /// ([`Session::claim`]).
    pub fn hold_lock(&mut self) -> Result<(), Failure> {
        if let Some(path) = self.state.file() {
            self.held = Some(StateLock::acquire(path)?);
        }
        Ok(())
    }

    pub fn state(&self) -> &StateLocation {
        &self.state
    }

    /// One pass over one target.
    pub async fn pass(&mut self, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        let mut hc = match self.clients.remove(&t.key()) {
            Some(hc) => hc,
            None => {
                let mut hc = HookClient::connect_sharing(t, &self.cancel, &self.tokens).await?;
                // Not for an explicit window (`--since`/`--until`): it may reach further back
                // than the state ever listed, which a 304 would leave unread; nor under an
                // event filter, whose pass may have left other events unrecorded.
                if o.since.is_none() && o.until.is_none() && t.filter == EventFilter::default() {
                    hc.resume(self.kept_etag(t, o)?);
                }
                hc
            }
        };
        hc.refresh(t).await?;
        let result = self.pass_with(&mut hc, t, o).await;
        self.clients.insert(t.key(), hc);
        // A lease taken for this pass alone (`run`) goes back now, whatever the pass did.
        self.release_pass_lease();
        result
    }

    async fn pass_with(&mut self, hc: &mut HookClient, t: &Target, o: &RunOptions) -> Result<Report, Failure> {
        // Every time a pass computes is on GitHub's clock, which `delivered_at` is on: the
        // client learns it from the `Date` of every answer (issue 8, case 4). A first pass knows
        // nothing yet and starts its window on this machine's clock; once the listing has
        // taught GitHub's, a window that should have started earlier (GitHub's clock behind
        // this machine's) is listed again from there, so the first pass misses nothing either.
        let started_here = Utc::now();
        let requests_before = hc.client.stats().total();
        let knew_the_clock = hc.client.stats().clock_skew.is_some();

        // Reading only: a failure here (auth, network, bad answer) leaves no trace.
        let mut read = read::read(&self.state, t, o, hc.client.stats().github_time(started_here)).await?;
        let (mut scan, mut pages) = read::list(hc, t, &read).await?;
        let started = hc.client.stats().github_time(started_here);
        if !knew_the_clock {
            let (start, source) = read::choose_start(t, o, read.previous, started);
            if start < read.window.start {
                read.window.start = start;
                read.source = source;
                let (again, more) = read::list(hc, t, &read).await?;
                scan = again;
                pages += more;
            }
        }

        let (_lock, ledger) = self.open_for_acting(read.reader.take(), o.dry_run, &t.key())?;
        // The Actions variable's carried ledger: merged into the runner's ledger (in memory only
        // for a dry run), so a fresh runner knows the ladder, the cap and give-ups.
        if let (Some(c), Some(l)) = (&read.carried, ledger.as_ref().filter(|_| !o.dry_run)) {
            c.import(&t.key(), l)?;
        }
        let now = hc.client.stats().github_time(Utc::now());
        // The receiver's health before the ledger is read: an outage refunds rungs (issue 11).
        let step = outage::observe(t, o, &scan, ledger.as_ref(), read.carried.as_ref())?;
        let mut memory = match &ledger {
            Some(l) => l.memory(&t.key(), scan.failed().map(|h| h.guid.as_str()))?,
            None => HashMap::new(),
        };
        if let Some(c) = read.carried.as_ref().filter(|_| o.dry_run) {
            c.overlay(&mut memory, scan.failed().map(|h| h.guid.as_str()));
        }
        // Direct delivery (issue 12): in pull mode every failed event is the direct step's, and
        // the planner leaves it alone (GitHub is never asked to redeliver it).
        let direct = self.direct && t.direct.is_on() && !o.dry_run && read.variable.is_none();
        let mut direct_report = DirectReport::default();
        let ours = match (&ledger, direct && t.direct.deliver_to.is_some()) {
            (Some(l), true) => owed::owe_listed(l, t, scan.failed(), &memory, now, &mut direct_report)?,
            _ => HashSet::new(),
        };
        let failed = scan.failed().filter(|h| !ours.contains(&h.guid));
        let plan = plan(failed, &memory, &t.policy, &t.filter, o.max_redeliveries, now);
        let plan = outage::plan(t, step.as_ref(), plan, now);
        let mut acted = self.act(hc, t, o, &plan, ledger.as_ref(), now).await?;
        acted.counts.pages = pages;
        acted.counts.deliveries_read = scan.deliveries_read;
        acted.counts.deliveries_in_window = scan.deliveries_in_window;
        acted.counts.succeeded_events = scan.succeeded_guids();
        acted.counts.failed_events = plan.verdicts.len() as u64;
        // The archive lives in the SQLite state only: a runner's ledger dies with its job.
        if read.variable.is_none() {
            acted.counts.archived = archive::archive(hc, t, o, &plan, ledger.as_ref(), now).await?;
        }
        if let (true, Some(l)) = (direct, &ledger) {
            if t.direct.replay_past_horizon {
                owed::owe_given_up(l, t, &plan, now, &mut direct_report)?;
            }
            let http = match &self.http {
                Some(http) => http.clone(),
                None => self.http.insert(send::http_client().map_err(|e| Failure::internal(e.into()))?).clone(),
            };
            owed::deliver_due(&http, hc, l, t, o, &self.cancel, now, &mut direct_report).await?;
        }

        let store = match &read.variable {
            Some(v) => v.describe(),
            None => self.state.describe(),
        };
        save::remember(t, o, &plan, &scan, ledger.as_ref(), now)?;
        let receiver = outage::finish(t, o, step, &plan, acted.canaries, ledger.as_ref(), now)?;
        save::prune(t, o, ledger.as_ref(), now)?;
        let carried = save::carry(t, o, read.carried.as_mut(), ledger.as_ref()).await?;
        let written = save::watermark(t, o, &plan, ledger.as_ref(), read.variable.as_mut(), started).await?;
        if o.dry_run {
            hc.unsaved()
        } else {
            // Kept in the state only now that the pass saved (issue 14: restarts resume from it).
            // Only an unfiltered pass's: a filtered one stands for its events alone.
            if let (None, Some(l), true) = (&read.variable, &ledger, t.filter == EventFilter::default())
                && self.held.is_some()
            {
                l.set_listing_etag(&self.etag_key(t, o), hc.fresh_etag(), Utc::now())?;
            }
            hc.saved()
        }
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
            state: StateReport {
                store,
                previous: read.previous,
                written,
                carried: carried.map(|c| c.events),
                dropped: carried.map(|c| c.dropped),
            },
            process: crate::usage::Usage::of_this_process(),
            requests: requests(hc.client.stats(), requests_before),
            exit_code: if attention { Exit::Attention as u8 } else { Exit::Success as u8 },
            receiver,
            direct: direct.then_some(direct_report),
        })
    }

    /// The listing `ETag` the state kept for `t`: only in `watch` (the session that holds the
    /// state's lock for life, whose passes wrote it), never with the Actions variable (whose
    /// passes list pending events again each time).
    fn kept_etag(&self, t: &Target, o: &RunOptions) -> Result<Option<String>, Failure> {
        if t.variable.is_some() || self.held.is_none() {
            return Ok(None);
        }
        match Ledger::open_read_only(&self.state)? {
            Some(l) => Ok(l.listing_etag(&self.etag_key(t, o))?),
            None => Ok(None),
        }
    }

    /// Where `t`'s `ETag` is kept: its ledger key and a fingerprint of what its passes do with
    /// a listing (policy, direct delivery, dry run), so a restart with another config lists in
    /// full once instead of trusting a 304 that stood for other passes.
    fn etag_key(&self, t: &Target, o: &RunOptions) -> String {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        format!("{:?} {:?} {:?} {:?} {}", t.policy, t.direct, t.lookback, t.overlap, self.direct).hash(&mut h);
        o.dry_run.hash(&mut h);
        format!("{} {:016x}", t.key(), h.finish())
    }

    /// Acting is one process at a time: the lock (unless the session holds it), and the ledger
    /// read again under it, so that a pass that overlapped this one and already redelivered an
    /// event is seen. A dry run keeps the read-only ledger and takes no lock. On PostgreSQL the
    /// target's lease stands for the lock ([`Session::lease_for_pass`]) and fences the ledger's
    /// writes before each POST.
    fn open_for_acting(
        &mut self,
        reader: Option<Ledger>,
        dry_run: bool,
        key: &str,
    ) -> Result<(Option<StateLock>, Option<Ledger>), Failure> {
        if dry_run {
            return Ok((None, reader));
        }
        drop(reader);
        let Some(path) = self.state.file() else {
            let ledger = Ledger::open(&self.state)?;
            self.lease_for_pass(&ledger, key)?;
            return Ok((None, Some(ledger)));
        };
        let lock = if self.held.is_some() { None } else { Some(StateLock::acquire(path)?) };
        Ok((lock, Some(Ledger::open(path)?)))
    }

    /// Waits until a redelivery request may go to `t`'s host, then until `hc`'s own pacer lets
    /// it go: after this, the caller writes the request down and sends it with no wait in
    /// between (issue 8, case 9), then calls [`Session::posted`].
    ///
    /// Two requests to one host (a host's targets share its secondary limits, and often a
    /// credential or a receiver) are spaced by the larger of the two targets' gaps: the one
    /// that sent last and the one about to send (issue 8, case 10; docs/config.md).
    /// Returns `false` when a shutdown ended the wait: nothing is to be written or sent.
    pub(super) async fn pace(&mut self, hc: &HookClient, t: &Target) -> bool {
        if let Some(&(last, theirs)) = self.last_post.get(&host_of(t)) {
            let wait = host_wait(own_gap(hc, t), last, theirs, Instant::now());
            if !wait.is_zero() {
                tokio::select! {
                    () = self.cancel.cancelled() => return false,
                    () = tokio::time::sleep(wait) => {}
                }
            }
        }
        // The client's own pacer last: the host's wait only shrinks while it sleeps.
        hc.client.pace_ready().await.is_ok()
    }

    /// Notes that a redelivery request to `t`'s host was answered (or failed) now: the next one
    /// there is measured from here, as the client's own pacer measures from its answers, so
    /// the gap holds between the requests' arrivals however long this one took.
    pub(super) fn posted(&mut self, hc: &HookClient, t: &Target) {
        self.last_post.insert(host_of(t), (Instant::now(), own_gap(hc, t)));
    }
}

/// The gap `t` keeps between its own redelivery requests.
fn own_gap(hc: &HookClient, t: &Target) -> Duration {
    let pace = match t.pace {
        Pace::Fixed(gap) => gap,
        // Adaptive pacing moves in the client; its current gap is this target's pace now.
        Pace::Auto { .. } => hc.client.pace_gap(),
    };
    // `--drain-rate` (issue 11): what the receiver can take, whatever GitHub would allow.
    t.outage.drain_rate.map_or(pace, |rate| pace.max(rate.gap()))
}

/// `host[:port]` of a target's API: the unit of per-host pacing.
fn host_of(t: &Target) -> String {
    t.api_url.host_str().unwrap_or_default().to_string()
        + &t.api_url.port().map(|p| format!(":{p}")).unwrap_or_default()
}

/// How long a request with gap `own` waits at `now` after the host's last one, sent at `last`
/// by a target with gap `theirs`: the larger gap applies.
fn host_wait(own: Duration, last: Instant, theirs: Duration, now: Instant) -> Duration {
    (last + own.max(theirs)).saturating_duration_since(now)
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
        clock_skew_seconds: stats.clock_skew.map(|s| s.num_seconds()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_larger_of_two_targets_gaps_spaces_their_requests_to_one_host() {
        let t0 = Instant::now();
        let (slow, fast) = (Duration::from_secs(2), Duration::from_millis(200));
        assert_eq!(host_wait(fast, t0, slow, t0), slow, "the fast one waits for the slow one's gap");
        assert_eq!(host_wait(slow, t0, fast, t0), slow, "and the slow one keeps its own");
        assert_eq!(host_wait(fast, t0, fast, t0 + Duration::from_millis(50)), Duration::from_millis(150));
        assert_eq!(host_wait(fast, t0, slow, t0 + Duration::from_secs(3)), Duration::ZERO);
    }
}

//! `watch`'s discovered hooks (issue 14): each `kind = "org-repo-hooks"` target lists its
//! organization's repositories and their hooks every `refresh`, and the hooks it keeps are
//! polled on the budget-aware schedule of [`redeliver_core::schedule`] instead of every
//! interval. They live after the configured targets in `Daemon::targets` (and in the status),
//! rebuilt on each refresh; a hook that disappears keeps its rows in the state, which prunes
//! them past the horizon as for any target. On a PostgreSQL state the replicas share the hooks
//! and the listings through leases (`fleet_lease.rs`).

use super::poll::{Daemon, Polled};
use super::status::TargetStatus;
use crate::config::{Auth, Discovery, FleetSettings, Target};
use crate::exit::Failure;
use crate::pass::HookClient;
use chrono::{DateTime, Utc};
use redeliver_core::discover::{ListedHook, ListedRepo};
use redeliver_core::github::HookTarget;
use redeliver_core::github::listings::HookListing;
use redeliver_core::schedule::{self, Budget, HookView, Settings};
use redeliver_core::state::postgres::discovery::Listing;
use std::collections::HashMap;
use std::time::Duration;

/// The longest the loop sleeps before looking again (a refresh or a shutdown is never late by more).
const MAX_NAP: Duration = Duration::from_secs(30);
/// A refresh that failed is tried again this soon (or at its own period, if shorter).
const RETRY_REFRESH: Duration = Duration::from_secs(300);
/// Limit assumed for a credential before its first answer told the real one (GitHub's
/// installation-token floor).
const ASSUMED_LIMIT: f64 = 5000.0;

/// The discovered hooks and what the scheduler needs to know of them.
pub struct Fleet {
    /// How many of `Daemon::targets` are the configured ones; the discovered follow.
    pub fixed: usize,
    pub sources: Vec<Source>,
    /// One per discovered target, in the same order as `Daemon::targets[fixed..]`.
    pub members: Vec<Member>,
    pub settings: FleetSettings,
    pub min_interval: Duration,
    /// Per source, its credential (an index into [`Fleet::budgets`]): sources that sign in
    /// with the same token, or the same App on the same account, share one rate limit and so
    /// one budget (issue 14).
    pub credential: Vec<usize>,
    /// PostgreSQL state: the lease keys this replica holds, members' and sources' (`None` on
    /// a file state, where one `watch` holds everything). See `fleet_lease.rs`.
    pub mine: Option<std::collections::BTreeSet<String>>,
    /// Live replicas sharing the credentials' rate limits (1 on a file state).
    pub replicas: usize,
    /// PostgreSQL state: when the leases are claimed (renewed) next, between two rounds of
    /// the configured targets, so a discovered hook's lease never lapses between its polls.
    pub next_claim: DateTime<Utc>,
}

/// Which rate limit a source spends: its API and token (hashed: the key never holds the
/// secret), or its App and account for installation tokens.
fn credential_key(d: &Discovery) -> String {
    use std::hash::{Hash, Hasher};
    let t = &d.template;
    match &t.auth {
        Auth::Token(token) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            token.expose().hash(&mut h);
            format!("{} token {:x}", t.api_url, h.finish())
        }
        Auth::Installation { app_id, .. } => format!("{} installation {app_id} {}", t.api_url, d.org.to_lowercase()),
        Auth::App { app_id, .. } => format!("{} app {app_id}", t.api_url),
    }
}

/// One `org-repo-hooks` target: its organization and credential (one budget per source).
pub struct Source {
    pub discovery: Discovery,
    /// Its lease key on a PostgreSQL state: the replica that holds it lists the organization.
    pub key: String,
    /// The generation of the shared listing its members come from (PostgreSQL state).
    pub generation: Option<i64>,
    /// The replica that made that listing.
    pub lister: Option<String>,
    pub next_refresh: DateTime<Utc>,
    pub last_refresh: Option<DateTime<Utc>>,
    pub refresh_error: Option<String>,
    /// Points the last refresh spent (rate-limited requests), to reserve its share.
    pub refresh_points: u64,
    /// The credential's last `x-ratelimit-*`: remaining, limit, reset.
    pub remaining: Option<u64>,
    pub limit: Option<u64>,
    pub reset: Option<DateTime<Utc>>,
    /// When its redelivery requests of the last hour were sent: reserved in the budget, since
    /// the plan prices polls only.
    pub posts: std::collections::VecDeque<DateTime<Utc>>,
    /// Repositories listed and kept at the last refresh.
    pub repos_listed: usize,
    pub repos_kept: usize,
    /// Each kept repository's hooks and their listing's `ETag`: a refresh asks again with
    /// `If-None-Match`, and an unchanged listing is a free 304 (by `owner/name`).
    hooks_seen: HashMap<String, (Option<String>, Vec<ListedHook>)>,
}

/// A discovered hook's activity, for the scheduler and the status.
#[derive(Debug, Clone)]
pub struct Member {
    pub source: usize,
    pub key: String,
    pub last_poll: Option<DateTime<Utc>>,
    pub next_poll: Option<DateTime<Utc>>,
    pub interval: Duration,
    pub last_traffic: Option<DateTime<Utc>>,
    pub failing: bool,
    pub owed_due: Option<DateTime<Utc>>,
    pub observed: schedule::Observed,
    pub conditional: bool,
    pub requests: u64,
    pub not_modified: u64,
    /// The client's cumulative 304 count at the last poll (it counts since it was made).
    seen_304: u64,
}

impl Member {
    fn new(source: usize, key: String) -> Member {
        Member {
            source,
            key,
            last_poll: None,
            next_poll: None,
            interval: Duration::ZERO,
            last_traffic: None,
            failing: false,
            owed_due: None,
            observed: schedule::Observed::default(),
            conditional: false,
            requests: 0,
            not_modified: 0,
            seen_304: 0,
        }
    }

    fn view(&self, credential: &[usize]) -> HookView {
        HookView {
            credential: credential[self.source],
            last_poll: self.last_poll,
            last_traffic: self.last_traffic,
            failing: self.failing,
            owed_due: self.owed_due,
            change_rate: self.observed.change_rate(),
            conditional: self.conditional,
        }
    }
}

impl Fleet {
    pub fn new(fixed: usize, discovery: Vec<Discovery>, settings: FleetSettings, min_interval: Duration) -> Fleet {
        let now = Utc::now();
        let mut keys: Vec<String> = Vec::new();
        let credential = discovery
            .iter()
            .map(|d| {
                let key = credential_key(d);
                keys.iter().position(|k| *k == key).unwrap_or_else(|| {
                    keys.push(key);
                    keys.len() - 1
                })
            })
            .collect();
        let sources = discovery
            .into_iter()
            .map(|discovery| Source {
                key: super::fleet_lease::source_key(&discovery),
                generation: None,
                lister: None,
                discovery,
                next_refresh: now,
                last_refresh: None,
                refresh_error: None,
                refresh_points: 0,
                remaining: None,
                limit: None,
                reset: None,
                repos_listed: 0,
                repos_kept: 0,
                hooks_seen: HashMap::new(),
                posts: Default::default(),
            })
            .collect();
        Fleet {
            fixed,
            sources,
            members: Vec::new(),
            settings,
            min_interval,
            credential,
            mine: None,
            replicas: 1,
            next_claim: now,
        }
    }

    fn credentials(&self) -> usize {
        self.credential.iter().max().map_or(0, |c| c + 1)
    }

    /// Each credential's budget: its share of the limit, less the refreshes' points an hour
    /// and the last hour's redeliveries of every source that spends it. With several replicas
    /// (PostgreSQL state) this replica's part: the limit and the refreshes (one lister for
    /// the fleet) divided by the live replicas, less its own redeliveries.
    pub fn budgets(&self) -> Vec<Budget> {
        let n = self.replicas.max(1) as f64;
        (0..self.credentials())
            .map(|c| {
                let mine = || self.sources.iter().enumerate().filter(move |(s, _)| self.credential[*s] == c);
                Budget {
                    limit_per_hour: mine().find_map(|(_, s)| s.limit).map_or(ASSUMED_LIMIT, |l| l as f64) / n,
                    share: self.settings.budget_share,
                    reserved_per_hour: mine()
                        .map(|(_, s)| {
                            s.refresh_points as f64 * 3600.0 / s.discovery.refresh.as_secs_f64().max(1.0) / n
                                + s.posts.len() as f64
                        })
                        .sum(),
                }
            })
            .collect()
    }

    /// Source `s` learned its credential's rate: every source on that credential knows it.
    fn share_rate(&mut self, s: usize) {
        let (remaining, limit, reset) = (self.sources[s].remaining, self.sources[s].limit, self.sources[s].reset);
        for o in 0..self.sources.len() {
            if self.credential[o] == self.credential[s] {
                (self.sources[o].remaining, self.sources[o].limit, self.sources[o].reset) = (remaining, limit, reset);
            }
        }
    }

    fn schedule_settings(&self) -> Settings {
        let horizon = self
            .sources
            .iter()
            .map(|s| s.discovery.template.policy.horizon.to_std().unwrap_or_default())
            .min()
            .unwrap_or(Duration::from_secs(3 * 24 * 3600));
        Settings::new(self.min_interval, self.settings.max_interval, horizon)
    }

    /// Per credential, the points its discretionary polls leave for the polls that must go
    /// (hooks at their maximum interval) and for redeliveries at the last hour's pace, until
    /// its window resets. With several replicas: this replica's reserve, for its own hooks on
    /// its part of the share, times the live replicas, since the gate reads the credential's
    /// `x-ratelimit-remaining`, which every replica spends (docs/ha.md).
    pub fn holds(&self, now: DateTime<Utc>) -> Vec<f64> {
        let settings = self.schedule_settings();
        let n = self.replicas.max(1) as f64;
        let views: Vec<HookView> = self.mine().map(|m| self.members[m].view(&self.credential)).collect();
        (0..self.credentials())
            .map(|c| {
                let mine = || self.sources.iter().enumerate().filter(move |(s, _)| self.credential[*s] == c);
                let Some((_, s)) = mine().next() else { return 0.0 };
                let limit = s.limit.map_or(ASSUMED_LIMIT, |l| l as f64);
                let share = limit * self.settings.budget_share / n;
                let until = s.reset.and_then(|r| (r - now).to_std().ok()).unwrap_or(Duration::from_secs(3600));
                let posts: usize = mine().map(|(_, s)| s.posts.len()).sum();
                let posts = posts as f64 * until.min(Duration::from_secs(3600)).as_secs_f64() / 3600.0;
                (schedule::reserve(&views, c, &settings, now, s.reset, share) + posts) * n
            })
            .collect()
    }

    /// Whether member `m` must be polled now, gate or not (its maximum interval is reached).
    pub fn must_poll(&self, m: usize, now: DateTime<Utc>) -> bool {
        schedule::must_poll(self.members[m].last_poll, &self.schedule_settings(), now)
    }

    /// The schedule now of the members this replica holds, written into their `next_poll`
    /// and `interval`: each one's index and when it is due. The others' are another
    /// replica's to plan (PostgreSQL state): nothing is scheduled for them here.
    pub fn plan(&mut self, now: DateTime<Utc>) -> Vec<(usize, DateTime<Utc>)> {
        let hour_ago = now - chrono::Duration::hours(1);
        for s in &mut self.sources {
            while s.posts.front().is_some_and(|at| *at < hour_ago) {
                s.posts.pop_front();
            }
        }
        let settings = self.schedule_settings();
        let mine: Vec<usize> = self.mine().collect();
        let views: Vec<HookView> = mine.iter().map(|&m| self.members[m].view(&self.credential)).collect();
        let plan = schedule::schedule(&views, &self.budgets(), &settings, now);
        for m in &mut self.members {
            (m.next_poll, m.interval) = (None, Duration::ZERO);
        }
        for (k, &m) in mine.iter().enumerate() {
            self.members[m].next_poll = Some(plan.next[k]);
            self.members[m].interval = plan.intervals[k];
        }
        mine.into_iter().zip(plan.next).collect()
    }
}

impl Daemon {
    /// The loop when hooks are discovered: configured targets every interval, each source's
    /// refresh when due, and each discovered hook when the schedule says, within the gate. On
    /// a PostgreSQL state, only the sources and hooks whose leases this replica holds, with
    /// the leases claimed often enough that none lapses between polls (`fleet_lease.rs`).
    pub(super) async fn run_fleet(&mut self) {
        let cancel = self.cancel();
        let mut next_fixed = Utc::now();
        while !cancel.is_cancelled() {
            let now = Utc::now();
            if now >= next_fixed {
                self.poll_once().await;
                let wait = self.interval.mul_f64(0.9 + 0.2 * fastrand::f64());
                next_fixed = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
            } else if self.fleet.as_ref().is_some_and(|f| f.mine.is_some() && f.next_claim <= now)
                && let Some(owned) = self.claim()
            {
                self.show_replicas(&owned);
            }
            let due: Vec<usize> =
                self.fleet_sources().filter(|&s| self.may_list(s) && self.source(s).next_refresh <= now).collect();
            for s in due {
                self.refresh(s).await;
            }
            let mut wake = next_fixed;
            for s in self.fleet_sources().filter(|&s| self.may_list(s)) {
                wake = wake.min(self.source(s).next_refresh);
            }
            let Some(fleet) = self.fleet.as_mut() else { return };
            if fleet.mine.is_some() {
                wake = wake.min(fleet.next_claim);
            }
            let mut plan = fleet.plan(Utc::now());
            let holds = fleet.holds(Utc::now());
            publish(self);
            plan.sort_by_key(|&(_, next)| next);
            for (m, next) in plan {
                if cancel.is_cancelled() {
                    return;
                }
                let now = Utc::now();
                if next > now {
                    wake = wake.min(next);
                    break;
                }
                let Some(fleet) = self.fleet.as_ref() else { return };
                // PostgreSQL state: a long sweep stops for the claim, so that no lease lapses
                // while the hooks after it wait their turn; the plan is made again after it.
                if fleet.mine.is_some() && fleet.next_claim <= now {
                    wake = now;
                    break;
                }
                let source = &fleet.sources[fleet.members[m].source];
                let c = fleet.credential[fleet.members[m].source];
                // A hook at its maximum interval only stops at the share itself; the others
                // leave the reserve to it (schedule/reserve.rs).
                let forced = fleet.must_poll(m, now);
                let hold = if forced { 0.0 } else { holds[c] };
                if let Some(until) =
                    schedule::gate(source.remaining, source.limit, source.reset, fleet.settings.budget_share, hold, now)
                {
                    // Held back: look again when it becomes forced, if that is before the reset.
                    let forced_at = fleet.members[m].last_poll.map(|p| {
                        let s = fleet.schedule_settings();
                        p + chrono::Duration::from_std(s.max_interval.saturating_sub(s.min_interval))
                            .unwrap_or(chrono::Duration::MAX)
                    });
                    wake = wake.min(forced_at.filter(|f| *f > now).map_or(until, |f| f.min(until)));
                    continue;
                }
                if !self.poll_member(m).await {
                    // The members moved: plan again before polling more.
                    wake = Utc::now();
                    break;
                }
            }
            publish(self);
            let nap = (wake - Utc::now()).to_std().unwrap_or_default().clamp(Duration::from_millis(20), MAX_NAP);
            tokio::select! {
                () = cancel.cancelled() => return,
                () = tokio::time::sleep(nap) => {}
            }
        }
    }

    fn fleet_sources(&self) -> std::ops::Range<usize> {
        0..self.fleet.as_ref().map_or(0, |f| f.sources.len())
    }

    fn source(&self, s: usize) -> &Source {
        &self.fleet.as_ref().expect("a fleet, since it has sources").sources[s]
    }

    /// Polls discovered hook `m` and folds what it found into its activity; `false` when the
    /// hook is gone (and dropped), which moves the members after it.
    async fn poll_member(&mut self, m: usize) -> bool {
        let Some(fixed) = self.fleet.as_ref().map(|f| f.fixed) else { return false };
        let i = fixed + m;
        let polled = self.poll_target(i).await;
        let now = Utc::now();
        let Some(fleet) = self.fleet.as_mut() else { return false };
        let member = &mut fleet.members[m];
        let previous = member.last_poll.replace(now);
        match polled {
            Polled::Done(report) => {
                let r = &report.requests;
                let total_304 = r.by_endpoint.get("list_deliveries 304").copied().unwrap_or(0);
                let fresh_304 = total_304.saturating_sub(member.seen_304);
                member.seen_304 = total_304;
                member.not_modified += fresh_304;
                member.requests += r.total;
                member.conditional |= fresh_304 > 0;
                let changed = fresh_304 == 0 && report.counts.deliveries_in_window > 0;
                if changed {
                    member.last_traffic = Some(now);
                }
                if let Some(p) = previous {
                    let hours = ((now - p).num_milliseconds() as f64 / 3.6e6).max(1e-4);
                    member.observed = member.observed.after(changed, hours);
                }
                let pending = report.events.iter().filter(|e| e.outcome.is_pending());
                member.owed_due = pending.clone().filter_map(|e| e.due_at).min();
                member.failing = pending.count() > 0;
                let source = &mut fleet.sources[member.source];
                let c = &report.counts;
                for _ in 0..(c.redelivered + c.refused + c.ambiguous) {
                    source.posts.push_back(now);
                }
                source.remaining = r.rate_limit_remaining.or(source.remaining);
                source.limit = r.rate_limit_limit.or(source.limit);
                source.reset = r.rate_limit_reset.or(source.reset);
                let s = member.source;
                fleet.share_rate(s);
            }
            Polled::Gone => {
                let key = member.key.clone();
                self.drop_members(|k| k == key);
                return false;
            }
            Polled::Failed | Polled::Cancelled => {}
        }
        true
    }

    /// Lists source `s`'s organization and replaces its hooks with what it finds; on failure
    /// keeps them and tries again soon.
    async fn refresh(&mut self, s: usize) {
        let Some(fleet) = self.fleet.as_mut() else { return };
        let source = &mut fleet.sources[s];
        let now = Utc::now();
        let found =
            discover(&source.discovery, &mut source.hooks_seen, &self.session.cancel, &self.session.tokens).await;
        let d = &source.discovery;
        match found {
            Ok(found) => {
                tracing::info!(target = %d.name, hooks = found.hooks.len(), repos = found.repos_kept, "discovered");
                source.refresh_points = found.points;
                source.repos_listed = found.repos_listed;
                source.repos_kept = found.repos_kept;
                source.refresh_error = None;
                source.last_refresh = Some(now);
                source.next_refresh = now + chrono::Duration::from_std(d.refresh).unwrap_or(chrono::Duration::MAX);
                if let Some((remaining, limit, reset)) = found.rate {
                    (source.remaining, source.limit, source.reset) = (remaining, limit, reset);
                }
                let listing = Listing {
                    hooks: found.hooks,
                    repos_listed: found.repos_listed as u64,
                    repos_kept: found.repos_kept as u64,
                    points: found.points,
                };
                let targets = hook_targets(d, listing.hooks.iter().cloned());
                self.replace_members(s, targets);
                if let Some(fleet) = self.fleet.as_mut() {
                    fleet.share_rate(s);
                }
                // PostgreSQL state: the other replicas read this listing instead of making theirs.
                self.share_listing(s, &listing);
            }
            // Stopped while listing: nothing to report, and nothing to retry.
            Err(_) if self.session.cancel.is_cancelled() => {}
            Err(failure) => {
                let error = failure.one_line();
                tracing::error!(target = %d.name, "discovery failed: {error}");
                source.refresh_error = Some(error);
                let retry = RETRY_REFRESH.min(d.refresh);
                source.next_refresh = now + chrono::Duration::from_std(retry).unwrap_or(chrono::Duration::MAX);
            }
        }
    }

    /// Makes `targets` the discovered hooks of source `s`: new ones join (with fresh status),
    /// known ones keep their activity and status, missing ones leave.
    pub(super) fn replace_members(&mut self, s: usize, targets: Vec<Target>) {
        let Some(fleet) = self.fleet.as_mut() else { return };
        let fixed = fleet.fixed;
        let max_interval = fleet.settings.max_interval.as_secs();
        let mut keep_target: HashMap<String, Target> = HashMap::new();
        let mut keep_member: HashMap<String, Member> = HashMap::new();
        let old_targets: Vec<Target> = self.targets.drain(fixed..).collect();
        for (t, m) in old_targets.into_iter().zip(fleet.members.drain(..)) {
            if m.source != s {
                keep_member.insert(m.key.clone(), m);
                keep_target.insert(t.key(), t);
            } else {
                keep_member.insert(m.key.clone(), m);
            }
        }
        for t in targets {
            keep_target.insert(t.key(), t);
        }
        // Members of `s` that were not found again are dropped.
        let mut keys: Vec<String> = keep_target.keys().cloned().collect();
        keys.sort();
        let mut statuses: HashMap<String, TargetStatus> = HashMap::new();
        self.status.update(|st| {
            for ts in st.targets.drain(fixed..) {
                statuses.insert(ts.name.clone(), ts);
            }
        });
        let mut new_status = Vec::new();
        for key in keys {
            let Some(t) = keep_target.remove(&key) else { continue };
            let member = keep_member.remove(&key).unwrap_or_else(|| Member::new(s, key.clone()));
            new_status.push(statuses.remove(&t.name).unwrap_or_else(|| TargetStatus {
                name: t.name.clone(),
                description: t.describe(),
                api_url: super::poll::shown_url(&t.api_url),
                max_interval_seconds: Some(max_interval),
                ..TargetStatus::default()
            }));
            fleet.members.push(member);
            self.targets.push(t);
        }
        self.status.update(|st| st.targets.extend(new_status));
    }

    /// Drops the discovered hooks whose key `gone` says.
    fn drop_members(&mut self, gone: impl Fn(&str) -> bool) {
        let Some(fleet) = self.fleet.as_mut() else { return };
        let fixed = fleet.fixed;
        let mut k = 0;
        while k < fleet.members.len() {
            if gone(&fleet.members[k].key) {
                fleet.members.remove(k);
                self.targets.remove(fixed + k);
                self.status.update(|st| {
                    st.targets.remove(fixed + k);
                });
            } else {
                k += 1;
            }
        }
    }
}

/// The targets of a source's discovered hooks, named after it.
pub(super) fn hook_targets(d: &Discovery, hooks: impl IntoIterator<Item = HookTarget>) -> Vec<Target> {
    hooks
        .into_iter()
        .map(|hook| {
            let name = format!("{}/{}", d.name, short(&hook));
            d.template.for_hook(name, hook)
        })
        .collect()
}

/// The part of a discovered target's name after its source: `repo#id`, or `#id` for an
/// organization hook.
fn short(hook: &HookTarget) -> String {
    match hook {
        HookTarget::Repo { repo, hook_id, .. } => format!("{repo}#{hook_id}"),
        HookTarget::Org { hook_id, .. } => format!("#{hook_id}"),
        HookTarget::App => "app".to_string(),
    }
}

/// A credential's `x-ratelimit-remaining`, `-limit` and `-reset`.
type Rate = (Option<u64>, Option<u64>, Option<DateTime<Utc>>);

/// What one refresh found.
struct Found {
    hooks: Vec<HookTarget>,
    repos_listed: usize,
    repos_kept: usize,
    points: u64,
    rate: Option<Rate>,
}

/// Lists the organization's repositories (or the installation's), each kept repository's
/// hooks and, when asked, the organization's own, and keeps the hooks the selector wants. A
/// repository deleted between the two listings is skipped.
async fn discover(
    d: &Discovery,
    seen: &mut HashMap<String, (Option<String>, Vec<ListedHook>)>,
    cancel: &tokio_util::sync::CancellationToken,
    tokens: &crate::pass::Tokens,
) -> Result<Found, Failure> {
    let t = &d.template;
    let installation = matches!(t.auth, Auth::Installation { .. });
    // The installation token the organization's hooks share (one per App and account).
    let mut hc = HookClient::connect_sharing(t, cancel, tokens).await?;
    let c = &mut hc.client;
    // `org = "*"` (a GHES site administrator's token): every organization of the server.
    let orgs: Vec<String> = if d.every_org() { c.organizations().await? } else { vec![d.org.clone()] };
    let repos: Vec<ListedRepo> = if installation {
        c.installation_repos().await?.into_iter().filter(|r| r.owner.eq_ignore_ascii_case(&d.org)).collect()
    } else {
        let mut repos = Vec::new();
        for org in &orgs {
            match c.org_repos(org).await {
                Ok(found) => repos.extend(found),
                // Deleted since the organizations were listed: no error, no repositories.
                Err(redeliver_core::github::ApiError::NotFound { .. }) if d.every_org() => {}
                Err(e) => return Err(e.into()),
            }
        }
        repos
    };
    let listed = repos.len();
    let kept: Vec<&ListedRepo> = repos.iter().filter(|r| d.selector.wants_repo(r)).collect();
    let mut hooks = Vec::new();
    let mut still = HashMap::new();
    for r in &kept {
        let key = format!("{}/{}", r.owner, r.name).to_lowercase();
        let known = seen.remove(&key);
        let etag = known.as_ref().and_then(|(etag, _)| etag.as_deref());
        let found = match c.hooks_if(&r.owner, Some(&r.name), etag).await? {
            HookListing::Unchanged => known.unwrap_or_default(),
            HookListing::Listed { hooks, etag } => (etag, hooks),
            // Deleted since the repositories were listed: no error, no hooks.
            HookListing::Gone => continue,
        };
        hooks.extend(found.1.iter().filter(|h| d.selector.wants_hook(h)).map(|h| HookTarget::Repo {
            owner: r.owner.clone(),
            repo: r.name.clone(),
            hook_id: h.id,
        }));
        still.insert(key, found);
    }
    // Repositories no longer kept are forgotten.
    *seen = still;
    for org in orgs.iter().filter(|_| d.org_hooks) {
        if let Some(found) = c.hooks(org, None).await? {
            hooks.extend(
                found
                    .into_iter()
                    .filter(|h| d.selector.wants_hook(h))
                    .map(|h| HookTarget::Org { org: org.clone(), hook_id: h.id }),
            );
        }
    }
    let stats = c.stats();
    let points = stats.total().saturating_sub(stats.not_modified);
    let rate = stats.rate_limit.as_ref().map(|r| (r.remaining, r.limit, r.reset));
    Ok(Found { hooks, repos_listed: listed, repos_kept: kept.len(), points, rate })
}

/// Puts each discovered hook's schedule into the status, and each source's summary.
fn publish(daemon: &Daemon) {
    let Some(fleet) = daemon.fleet.as_ref() else { return };
    let rows: Vec<super::fleet_status::HookRow> = fleet
        .members
        .iter()
        .enumerate()
        .map(|(k, m)| super::fleet_status::HookRow {
            elsewhere: !fleet.is_mine(k),
            source: m.source,
            key: m.key.clone(),
            last_poll: m.last_poll,
            next_poll: m.next_poll,
            interval_seconds: m.interval.as_secs(),
            requests: m.requests,
            not_modified: m.not_modified,
            failing: m.failing,
        })
        .collect();
    let orgs: Vec<super::fleet_status::OrgRow> = fleet
        .sources
        .iter()
        .enumerate()
        .map(|(s, src)| {
            let mine = rows.iter().filter(|r| r.source == s);
            super::fleet_status::OrgRow {
                name: src.discovery.name.clone(),
                org: src.discovery.org.clone(),
                hooks: mine.clone().count(),
                // What another replica polls is its to know.
                failing: mine.clone().filter(|r| r.failing && !r.elsewhere).count(),
                held_here: fleet.mine.as_ref().map(|_| mine.clone().filter(|r| !r.elsewhere).count()),
                lister: src.lister.clone(),
                repos_listed: src.repos_listed,
                repos_kept: src.repos_kept,
                last_refresh: src.last_refresh,
                next_refresh: Some(src.next_refresh),
                refresh_error: src.refresh_error.clone(),
                rate_remaining: src.remaining,
                rate_limit: src.limit,
                budget_share: fleet.settings.budget_share,
                worst_latency_seconds: mine.clone().map(|r| r.interval_seconds).max().unwrap_or(0),
                requests: mine.clone().map(|r| r.requests).sum(),
                not_modified: mine.map(|r| r.not_modified).sum(),
            }
        })
        .collect();
    daemon.status.update(|st| st.fleet = Some(super::fleet_status::FleetStatus { orgs, hooks: rows }));
}

#[cfg(test)]
#[path = "fleet_tests.rs"]
mod tests;

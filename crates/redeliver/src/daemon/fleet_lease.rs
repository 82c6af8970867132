//! Discovered hooks on a PostgreSQL state shared by several `watch` replicas (issues 13 and 14;
//! docs/ha.md, "Discovered hooks"). Three things, each through what configured targets already
//! use:
//!
//! - **Each hook has one poller**: a discovered hook's lease is keyed by its target key, like a
//!   configured target's, and claimed in the same round; a replica plans and polls only the
//!   hooks it holds ([`Fleet::mine`]). The round comes every interval and, between two, as
//!   often as a third of the lease, so no lease lapses between two polls of its hook.
//! - **Each organization has one lister**: a source has a lease of its own ([`source_key`]);
//!   its holder lists the organization when its refresh is due and writes what it kept to the
//!   database, the others adopt that listing at their next round. The refresh is due
//!   `refresh` after the last listing on the database's clock, whoever made it, so a
//!   take-over does not list again early.
//! - **One rate limit, split**: every replica counts the live replicas at its claim and plans
//!   its hooks on that part of each credential's budget (`Fleet::budgets`, `Fleet::holds`).

use super::fleet::{Fleet, hook_targets};
use super::poll::Daemon;
use crate::config::Discovery;
use chrono::Utc;
use redeliver_core::state::postgres::discovery::Listing;
use std::collections::BTreeSet;
use std::time::Duration;

/// A source's lease key: its name, host and what it selects. Replicas that run one config
/// agree on it; a replica on another selection (a config being rolled out) lists on its own
/// rather than adopt hooks it would not have kept.
pub(super) fn source_key(d: &Discovery) -> String {
    let host = d.template.api_url.as_str().trim_end_matches('/');
    let selection = format!("{} {:?} {}", d.org.to_lowercase(), d.selector, d.org_hooks);
    format!("discovery:{}@{host}#{:016x}", d.name, fnv1a(selection.as_bytes()))
}

/// FNV-1a: stable across builds (std's hasher may change between Rust releases, and replicas
/// of two builds must agree on the key).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

impl Fleet {
    /// The members this replica plans and polls: all of them on a file state.
    pub(super) fn mine(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.members.len()).filter(|&m| self.is_mine(m))
    }

    pub(super) fn is_mine(&self, m: usize) -> bool {
        self.mine.as_ref().is_none_or(|keys| keys.contains(&self.members[m].key))
    }

    /// The lease keys of the sources, claimed beside the targets'.
    pub(super) fn source_keys(&self) -> Vec<String> {
        self.sources.iter().map(|s| s.key.clone()).collect()
    }
}

impl Daemon {
    /// Whether this replica lists source `s`: always on a file state; on PostgreSQL while it
    /// holds the source's lease.
    pub(super) fn may_list(&self, s: usize) -> bool {
        self.fleet.as_ref().is_some_and(|f| f.mine.as_ref().is_none_or(|keys| keys.contains(&f.sources[s].key)))
    }

    /// The time between two claims while hooks are discovered: the interval, or a third of
    /// the lease when that is shorter (a hook may be polled any time between two rounds).
    fn claim_period(&self) -> Duration {
        let lease = self.session.lease_ttl().unwrap_or(self.interval);
        self.interval.min(lease / 3).max(Duration::from_millis(100))
    }

    /// Before a claim: when the next one is due (a failed claim is retried after the backoff).
    pub(super) fn schedule_claim(&mut self, failed: bool) {
        let wait = if failed { self.db_backoff.min(self.claim_period()) } else { self.claim_period() };
        if let Some(fleet) = self.fleet.as_mut() {
            fleet.next_claim = Utc::now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX);
        }
    }

    /// After a claim on a PostgreSQL state: adopts the listings other replicas wrote. `true`
    /// when the members changed, so their leases are to be claimed again at once.
    pub(super) fn adopt_listings(&mut self) -> bool {
        let Some(fleet) = self.fleet.as_ref() else { return false };
        let shared = match self.session.discoveries(&fleet.source_keys()) {
            Ok(shared) => shared,
            Err(failure) => {
                tracing::warn!("cannot read the organizations' listings: {:#}", failure.error);
                return false;
            }
        };
        let now = Utc::now();
        let mut changed = false;
        for listed in shared {
            let Some(fleet) = self.fleet.as_mut() else { return changed };
            let Some(s) = fleet.sources.iter().position(|src| src.key == listed.source) else { continue };
            let source = &mut fleet.sources[s];
            // Known already (this replica's own, or adopted): its lister keeps its own time
            // for the next try, a failed listing's retry included.
            if source.generation == Some(listed.generation) {
                continue;
            }
            tracing::info!(target = %source.discovery.name, hooks = listed.listing.hooks.len(), "adopted the organization's listing");
            let age = Duration::from_secs_f64(listed.age_seconds.clamp(0.0, 1e9));
            let listed_at = now - chrono::Duration::from_std(age).unwrap_or_default();
            // Due `refresh` after the last listing, whoever made it: a replica that takes the
            // source over lists it then, not at once.
            let refresh = source.discovery.refresh.saturating_sub(age);
            source.next_refresh = now + chrono::Duration::from_std(refresh).unwrap_or(chrono::Duration::MAX);
            source.lister = Some(listed.lister);
            source.generation = Some(listed.generation);
            source.last_refresh = Some(listed_at);
            source.refresh_error = None;
            source.refresh_points = listed.listing.points;
            source.repos_listed = usize::try_from(listed.listing.repos_listed).unwrap_or(usize::MAX);
            source.repos_kept = usize::try_from(listed.listing.repos_kept).unwrap_or(usize::MAX);
            let targets = hook_targets(&source.discovery, listed.listing.hooks);
            self.replace_members(s, targets);
            changed = true;
        }
        changed
    }

    /// Notes the leases this replica holds and the live replicas, after a claim.
    pub(super) fn hold(&mut self, owned: &BTreeSet<String>) {
        let live = self.session.live_replicas();
        if let Some(fleet) = self.fleet.as_mut() {
            fleet.mine = Some(owned.clone());
            fleet.replicas = live;
        }
    }

    /// After this replica listed source `s`: writes the listing for the others (PostgreSQL
    /// state), and claims the new hooks' leases at once.
    pub(super) fn share_listing(&mut self, s: usize, listing: &Listing) {
        let Some(fleet) = self.fleet.as_ref() else { return };
        if fleet.mine.is_none() {
            return;
        }
        let key = fleet.sources[s].key.clone();
        let written = self.session.publish_discovery(&key, listing);
        let me = self.session.replica().map(str::to_string);
        let Some(fleet) = self.fleet.as_mut() else { return };
        match written {
            Ok(Some(generation)) => {
                (fleet.sources[s].generation, fleet.sources[s].lister) = (Some(generation), me);
            }
            Ok(None) => tracing::warn!(
                target = %fleet.sources[s].discovery.name,
                "this replica no longer holds the organization's listing; the holder's stands"
            ),
            Err(failure) => tracing::warn!("cannot share the organization's listing: {:#}", failure.error),
        }
        fleet.next_claim = Utc::now();
    }
}

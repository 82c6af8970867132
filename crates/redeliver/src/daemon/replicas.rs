//! The daemon as one of several replicas on a PostgreSQL state (issue 13): the claim that opens
//! each round, the fleet as the status page and `/metrics` show it, and the database's health
//! (`/healthz` answers 503 naming it while it cannot be reached; the replica retries with a
//! backoff that doubles from a second up to the interval).

use super::fleet::Fleet;
use super::poll::Daemon;
use super::status::{LeaseStatus, Replicas, SharedStatus};
use crate::exit::Failure;
use redeliver_core::state::StateError;
use redeliver_core::state::postgres::lease::FleetLease;
use std::collections::BTreeSet;
use std::time::Duration;

/// The first wait after the database went away.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The next wait: doubled, from [`FIRST_BACKOFF`], never past `interval`.
pub fn backoff(previous: Duration, interval: Duration) -> Duration {
    if previous.is_zero() { FIRST_BACKOFF.min(interval) } else { (previous * 2).min(interval) }
}

/// Whether a pass or a claim failed because the database could not be reached.
pub fn database_unreachable(failure: &Failure) -> bool {
    matches!(failure.error.downcast_ref::<StateError>(), Some(StateError::Postgres(e)) if e.is_unreachable())
}

/// Notes that the database cannot be reached, for `/healthz` and the page.
pub fn database_down(status: &SharedStatus, error: &str) {
    status.update(|s| {
        if let Some(f) = &mut s.replicas {
            f.database_error = Some(error.to_string());
        }
    });
}

impl Daemon {
    /// Claims this round's leases; `None` (poll nothing) when the database cannot be reached.
    /// With discovered hooks, the sources' leases too, and the listings the other replicas
    /// wrote are adopted first (their hooks' leases claimed in the same round).
    pub(super) fn claim(&mut self) -> Option<BTreeSet<String>> {
        if let (Some(fleet), Some(_)) = (self.fleet.as_mut(), self.session.replica()) {
            // A replica holds no discovered hook, nor any listing, before its first claim.
            fleet.mine.get_or_insert_with(BTreeSet::new);
        }
        let owned = self.claim_keys()?;
        if self.fleet.is_none() || self.session.replica().is_none() {
            return Some(owned);
        }
        let owned = if self.adopt_listings() { self.claim_keys()? } else { owned };
        self.hold(&owned);
        Some(owned)
    }

    fn claim_keys(&mut self) -> Option<BTreeSet<String>> {
        let mut keys: Vec<String> = self.targets.iter().map(|t| t.key()).collect();
        if let Some(replica) = self.session.replica() {
            // Each organization's listing has a lease too (`fleet_lease.rs`).
            keys.extend(self.fleet.as_ref().map(Fleet::source_keys).unwrap_or_default());
            let (replica, database) = (replica.to_string(), self.session.state().shown());
            self.status.update(|s| {
                s.replicas.get_or_insert_with(|| Replicas { replica, database, ..Replicas::default() });
            });
        }
        let claimed = match self.session.claim(&keys) {
            Ok(owned) => {
                self.db_backoff = Duration::ZERO;
                self.status.update(|s| {
                    if let Some(f) = &mut s.replicas {
                        f.database_error = None;
                    }
                });
                Some(owned)
            }
            Err(failure) => {
                let error = format!("{:#}", failure.error);
                tracing::error!("cannot claim this replica's leases: {error}");
                self.db_backoff = backoff(self.db_backoff, self.interval);
                database_down(&self.status, &error);
                None
            }
        };
        self.schedule_claim(claimed.is_none());
        claimed
    }

    /// Reads every target's lease for the status page and `/metrics` (nothing on a file state).
    pub(super) fn show_replicas(&self, owned: &BTreeSet<String>) {
        if self.session.replica().is_none() {
            return;
        }
        // The targets, then each organization's listing (discovered hooks), by name.
        let mut named: Vec<(String, String)> = self.targets.iter().map(|t| (t.name.clone(), t.key())).collect();
        if let Some(fleet) = &self.fleet {
            named.extend(fleet.sources.iter().map(|s| (format!("{} (listing)", s.discovery.name), s.key.clone())));
        }
        let keys: Vec<String> = named.iter().map(|(_, key)| key.clone()).collect();
        let leases = match self.session.fleet(&keys) {
            Ok(leases) => leases,
            Err(failure) => {
                tracing::warn!("cannot read the fleet's leases: {:#}", failure.error);
                return;
            }
        };
        // By key: an organization's thousand hooks are a thousand rows.
        let leases: std::collections::HashMap<&str, &FleetLease> =
            leases.iter().map(|l| (l.target.as_str(), l)).collect();
        let rows: Vec<LeaseStatus> = named
            .into_iter()
            .map(|(name, key)| {
                let lease = leases.get(key.as_str());
                LeaseStatus {
                    target: name,
                    owner: lease.and_then(|l| l.owner.clone()),
                    mine: owned.contains(&key),
                    epoch: lease.map_or(0, |l| l.epoch),
                    age_seconds: lease.map_or(0.0, |l| l.age_seconds),
                    expires_in_seconds: lease.map_or(0.0, |l| l.expires_in_seconds),
                    failovers: lease.map_or(0, |l| l.failovers),
                }
            })
            .collect();
        self.status.update(|s| {
            if let Some(f) = &mut s.replicas {
                f.leases = rows;
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::daemon::health::tests::{at, one};
    use crate::daemon::health::{Health, assess, check};
    use crate::daemon::{metrics, page};

    /// One target, `app`, held by `owner` (this replica when `mine`), never polled here.
    fn fleet_of(owner: &str, mine: bool, error: Option<&str>) -> crate::daemon::status::Status {
        let mut status = one(None, None);
        status.replicas = Some(Replicas {
            replica: "pod-a:7:beef".into(),
            database: "postgres://redeliver@db:5432/redeliver".into(),
            database_error: error.map(str::to_string),
            leases: vec![LeaseStatus {
                target: "app".into(),
                owner: Some(owner.into()),
                mine,
                epoch: 4,
                age_seconds: 12.0,
                expires_in_seconds: 18.0,
                failovers: 2,
            }],
        });
        status
    }

    #[test]
    fn a_target_another_replica_holds_is_not_this_one_s_to_fail() {
        let later = at(1000);
        let elsewhere = fleet_of("pod-b:9:cafe", false, None);
        assert_eq!(assess(&elsewhere, &elsewhere.targets[0], later), Health::Elsewhere);
        assert!(check(&elsewhere, later).is_ok(), "polled by pod-b, not stale here");
        let mine = fleet_of("pod-a:7:beef", true, None);
        assert_eq!(assess(&mine, &mine.targets[0], later), Health::Stale, "its own target still goes stale");
    }

    #[test]
    fn an_unreachable_database_fails_healthz_naming_it() {
        let down = fleet_of("pod-a:7:beef", true, Some("cannot connect: connection refused"));
        let report = check(&down, at(10)).unwrap_err();
        assert!(
            report.starts_with("database: the PostgreSQL state postgres://redeliver@db:5432/redeliver"),
            "{report}"
        );
        assert!(report.contains("connection refused"), "{report}");
    }

    #[test]
    fn the_page_and_metrics_show_the_fleet() {
        let status = fleet_of("<pod-b>", false, None);
        let html = page::render(&status, at(10));
        assert!(html.contains("<h2>Replicas</h2>") && html.contains("&lt;pod-b&gt;"), "escaped owner: {html}");
        assert!(html.contains("pod-a:7:beef") && !html.contains("<pod-b>"));
        let text = metrics::exposition(&status, at(10));
        for series in [
            "redeliver_database_up{replica=\"pod-a:7:beef\"} 1",
            "redeliver_lease_owned{target=\"app\",owner=\"<pod-b>\"} 0",
            "redeliver_lease_epoch{target=\"app\"} 4",
            "redeliver_lease_failovers_total{target=\"app\"} 2",
        ] {
            assert!(text.contains(series), "{series} in:\n{text}");
        }
    }

    #[test]
    fn the_backoff_doubles_from_a_second_up_to_the_interval() {
        let interval = Duration::from_secs(10);
        let mut waits = Vec::new();
        let mut wait = Duration::ZERO;
        for _ in 0..6 {
            wait = backoff(wait, interval);
            waits.push(wait.as_secs());
        }
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff(Duration::ZERO, Duration::from_millis(300)), Duration::from_millis(300));
    }
}

//! A session's leases on a PostgreSQL state (issue 13): `watch` replicas claim their share of
//! the targets each round and act only on those; `run` takes one target's lease for its pass
//! (in place of the file lock). Either way the ledger's write before each POST is fenced on the
//! lease's epoch. A file state has none of this: its lock serves.

use super::Session;
use crate::exit::Failure;
use redeliver_core::github::ResendCheck;
use redeliver_core::state::postgres::discovery;
use redeliver_core::state::postgres::lease::{FleetLease, Lease};
use redeliver_core::state::{Ledger, StateError};
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

/// What the session holds on a PostgreSQL state.
#[derive(Debug, Default)]
pub(super) struct Leases {
    /// This process's name in the fleet (`host:pid:tag`), once it joined.
    owner: Option<String>,
    ttl: Duration,
    /// A replica in the fleet (`watch`): leases come from [`Session::claim`].
    fleet: bool,
    /// Target → epoch, as the last claim left them.
    held: HashMap<String, i64>,
    /// `run`: the lease taken for the pass under way.
    pass: Option<Lease>,
    /// Live replicas the last claim counted (itself included).
    live: usize,
}

/// A name unique to this process: the machine, the process id and a random tag (a restarted
/// container may reuse a pid).
fn replica_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let host = host.trim();
    let host = if host.is_empty() { "host" } else { host };
    format!("{host}:{}:{:04x}", std::process::id(), fastrand::u16(..))
}

impl Session {
    /// Uses leases of `ttl` on a PostgreSQL state; `fleet` for a `watch` replica (which claims
    /// its share), else one lease per pass (`run`). Nothing for a file state.
    pub fn use_leases(&mut self, ttl: Duration, fleet: bool) {
        self.leases = Leases { owner: Some(replica_name()), ttl, fleet, ..Leases::default() };
    }

    /// This process's name in the fleet, on a PostgreSQL state.
    pub fn replica(&self) -> Option<&str> {
        self.leases.owner.as_deref().filter(|_| self.state.file().is_none())
    }

    /// A replica's round: renews its leases among `keys`, hands back what is past its share and
    /// takes free or expired ones up to it. Returns the keys it may act on (every key on a
    /// file state). An error here is the database's: the caller reports it and retries.
    pub fn claim(&mut self, keys: &[String]) -> Result<BTreeSet<String>, Failure> {
        let Some(owner) = self.replica().map(str::to_string) else {
            return Ok(keys.iter().cloned().collect());
        };
        let ledger = Ledger::open(&self.state)?;
        let Some(pg) = ledger.postgres() else { return Ok(keys.iter().cloned().collect()) };
        let claim = pg.claim(&owner, keys, self.leases.ttl).map_err(StateError::from)?;
        self.leases.held = claim.held.iter().map(|l| (l.target.clone(), l.epoch)).collect();
        self.leases.live = claim.live;
        Ok(claim.held.into_iter().map(|l| l.target).collect())
    }

    /// How many replicas share the targets, as the last claim counted them (1 on a file state,
    /// or before any claim): what the daemon divides a shared rate budget by.
    pub fn live_replicas(&self) -> usize {
        if self.replica().is_none() { 1 } else { self.leases.live.max(1) }
    }

    /// How long a lease lasts unless renewed, for a replica on a PostgreSQL state.
    pub fn lease_ttl(&self) -> Option<Duration> {
        self.replica().map(|_| self.leases.ttl)
    }

    /// The organization listings the replicas wrote for `sources` (empty on a file state).
    pub fn discoveries(&self, sources: &[String]) -> Result<Vec<discovery::Shared>, Failure> {
        if self.replica().is_none() {
            return Ok(Vec::new());
        }
        let ledger = Ledger::open(&self.state)?;
        Ok(match ledger.postgres() {
            Some(pg) => pg.discoveries(sources).map_err(StateError::from)?,
            None => Vec::new(),
        })
    }

    /// Writes `source`'s listing for the other replicas, if this one still holds the source's
    /// lease: its generation, or `None` when the lease is another's now (nothing written).
    pub fn publish_discovery(&self, source: &str, listing: &discovery::Listing) -> Result<Option<i64>, Failure> {
        let Some(owner) = self.replica() else { return Ok(None) };
        let ledger = Ledger::open(&self.state)?;
        Ok(match ledger.postgres() {
            Some(pg) => pg.publish_discovery(owner, source, listing).map_err(StateError::from)?,
            None => None,
        })
    }

    /// Every lease among `keys`, for the status page and metrics (empty on a file state).
    pub fn fleet(&self, keys: &[String]) -> Result<Vec<FleetLease>, Failure> {
        if self.replica().is_none() {
            return Ok(Vec::new());
        }
        let ledger = Ledger::open(&self.state)?;
        Ok(match ledger.postgres() {
            Some(pg) => pg.fleet(keys).map_err(StateError::from)?,
            None => Vec::new(),
        })
    }

    /// SIGTERM: hands every lease back at once, so the other replicas take the targets at their
    /// next claim rather than after the leases expire. Best effort: if the database is gone the
    /// leases expire on their own.
    pub fn release_all(&mut self) {
        let Some(owner) = self.replica().map(str::to_string) else { return };
        let released = Ledger::open(&self.state).map_err(Failure::from).and_then(|l| match l.postgres() {
            Some(pg) => Ok(pg.release_all(&owner).map_err(StateError::from)?),
            None => Ok(0),
        });
        match released {
            Ok(n) => tracing::info!(leases = n, "released this replica's leases"),
            Err(e) => tracing::warn!("could not release the leases; they expire on their own: {:#}", e.error),
        }
        self.leases.held.clear();
    }

    /// Before a pass acts on a PostgreSQL state: the target's lease, renewed (a replica's) or
    /// taken for the pass (`run`), and the ledger's writes fenced on its epoch.
    pub(super) fn lease_for_pass(&mut self, ledger: &Ledger, key: &str) -> Result<(), Failure> {
        let Some(pg) = ledger.postgres() else { return Ok(()) };
        if self.leases.owner.is_none() {
            // A session nobody set up for leases (`demo`, tests) still acts under one.
            self.use_leases(crate::config::DEFAULT_LEASE, false);
        }
        let owner = self.leases.owner.clone().unwrap_or_default();
        let ttl = self.leases.ttl;
        let lease = if self.leases.fleet {
            let Some(&epoch) = self.leases.held.get(key) else {
                return Err(lost(key));
            };
            let lease = Lease { target: key.to_string(), epoch };
            if !pg.renew(&owner, &lease, ttl).map_err(StateError::from)? {
                self.leases.held.remove(key);
                return Err(lost(key));
            }
            lease
        } else {
            match pg.acquire(&owner, key, ttl).map_err(StateError::from)? {
                Ok(lease) => {
                    self.leases.pass = Some(lease.clone());
                    lease
                }
                Err(holder) => {
                    return Err(Failure::state(anyhow::anyhow!(
                        "{holder} holds the lease of {key} on the PostgreSQL state; two at once could redeliver an event twice"
                    ))
                    .with_hint(Some("a `watch` replica acts on this target; let it, or stop it first".into())));
                }
            }
        };
        pg.fence(key, &owner, lease.epoch, ttl);
        Ok(())
    }

    /// On a PostgreSQL state, the client's [`ResendCheck`] for a request written down under
    /// `key`'s lease: whether that lease (owner and epoch) is still held, unexpired, on the
    /// database's clock; it is renewed if so. A new connection each time: it is asked only after
    /// a rate-limit wait. `None` on a file state, whose lock does not run out.
    pub(super) fn resend_check(&self, key: &str) -> Option<ResendCheck> {
        if self.state.file().is_some() {
            return None;
        }
        let owner = self.leases.owner.clone()?;
        let lease = if self.leases.fleet {
            Lease { target: key.to_string(), epoch: *self.leases.held.get(key)? }
        } else {
            self.leases.pass.clone().filter(|l| l.target == key)?
        };
        let (state, ttl) = (self.state.clone(), self.leases.ttl);
        Some(std::sync::Arc::new(move || {
            let held = Ledger::open(&state).map_err(|e| e.to_string()).and_then(|l| match l.postgres() {
                Some(pg) => pg.renew(&owner, &lease, ttl).map_err(|e| e.to_string()),
                None => Ok(true),
            });
            held.unwrap_or_else(|e| {
                tracing::warn!("cannot check the lease before sending again; not sending: {e}");
                false
            })
        }))
    }

    /// Hands back the lease `run` took for its pass, if it took one.
    pub(super) fn release_pass_lease(&mut self) {
        let (Some(lease), Some(owner)) = (self.leases.pass.take(), self.leases.owner.clone()) else { return };
        let released = Ledger::open(&self.state).map_err(Failure::from).and_then(|l| match l.postgres() {
            Some(pg) => Ok(pg.release(&owner, &lease).map_err(StateError::from)?),
            None => Ok(()),
        });
        if let Err(e) = released {
            tracing::warn!("could not release the lease of {}; it expires on its own: {:#}", lease.target, e.error);
        }
    }
}

fn lost(key: &str) -> Failure {
    Failure::state(anyhow::anyhow!(
        "this replica no longer holds the lease of {key}; another one acts on it now, so this one sends nothing for it"
    ))
}

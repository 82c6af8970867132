//! Leases: one owner per target at a time, so several `watch` replicas (and a cron `run`) share
//! the targets without two acting on one.
//!
//! A lease row holds the owner, an expiry and an **epoch** that grows by one at every change of
//! hands. Expiry and renewal are computed by the database (`now()`), never by a replica's clock,
//! so a replica whose clock is wrong cannot extend a lease. A replica's writes that precede a
//! POST are fenced on the epoch it took ([`PgLedger::fence`]): once another has taken the
//! target, they fail, and nothing is sent.
//!
//! Spreading: each replica registers itself (a `replicas` row that expires like a lease) and
//! holds at most its fair share, `ceil(targets / live replicas)`; past it, it hands the rest
//! back, so a new replica takes its share at the next claims, and a stopping one releases all of
//! its leases at once ([`PgLedger::release_all`]).

use super::{At, PgError, PgLedger};
use std::time::Duration;

/// A lease this process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub target: String,
    pub epoch: i64,
}

/// What a replica's claim came to: the leases it holds, and how many replicas are live (itself
/// included), which the daemon divides a shared rate budget by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    pub held: Vec<Lease>,
    pub live: usize,
}

/// One target's lease as every replica's status page shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FleetLease {
    pub target: String,
    /// `None` when nobody holds it (released, or never taken).
    pub owner: Option<String>,
    pub epoch: i64,
    /// Seconds since the current owner took it.
    pub age_seconds: f64,
    /// Seconds until it expires (negative once expired), on the database's clock.
    pub expires_in_seconds: f64,
    /// How many times it was taken over from an owner whose lease had expired.
    pub failovers: i64,
}

/// A duration as the milliseconds the statements multiply by `interval '1 millisecond'`.
fn interval(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX).max(1)
}

impl PgLedger {
    /// Renews this replica's registration and its leases among `targets`, hands back what is
    /// past its fair share, and takes free or expired ones up to it. Returns the leases held and
    /// the live replicas counted.
    pub fn claim(&self, owner: &str, targets: &[String], ttl: Duration) -> Result<Claim, PgError> {
        let ttl = interval(ttl);
        let targets = targets.to_vec();
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            tx.execute(
                "INSERT INTO replicas (owner, seen_at, expires_at) VALUES ($1, now(), now() + $2::bigint * interval '1 millisecond')
                 ON CONFLICT (owner) DO UPDATE SET seen_at = now(), expires_at = excluded.expires_at",
                &[&owner, &ttl],
            )
            .at(s)?;
            tx.execute("DELETE FROM replicas WHERE expires_at < now() - interval '1 hour'", &[]).at(s)?;
            tx.execute(
                "INSERT INTO leases (target, owner, epoch, expires_at) SELECT t, NULL, 0, now() FROM unnest($1::text[]) t
                 ON CONFLICT (target) DO NOTHING",
                &[&targets],
            )
            .at(s)?;
            let live: i64 =
                tx.query_one("SELECT count(*) FROM replicas WHERE expires_at > now()", &[]).at(s)?.get(0);
            let share = (targets.len() as i64 + live.max(1) - 1) / live.max(1);
            // Renew what is still ours (the epoch stays: nobody else took it, or owner would differ).
            let mut held: Vec<Lease> = tx
                .query(
                    "UPDATE leases SET expires_at = now() + $3::bigint * interval '1 millisecond' WHERE owner = $1 AND target = ANY($2)
                     RETURNING target, epoch",
                    &[&owner, &targets, &ttl],
                )
                .at(s)?
                .iter()
                .map(|r| Lease { target: r.get(0), epoch: r.get(1) })
                .collect();
            held.sort_by(|a, b| a.target.cmp(&b.target));
            if held.len() as i64 > share {
                let extra: Vec<String> = held.split_off(share as usize).into_iter().map(|l| l.target).collect();
                tx.execute(
                    "UPDATE leases SET owner = NULL, expires_at = now() WHERE owner = $1 AND target = ANY($2)",
                    &[&owner, &extra],
                )
                .at(s)?;
            } else if (held.len() as i64) < share {
                let want = share - held.len() as i64;
                let taken = tx
                    .query(
                        "UPDATE leases l SET owner = $1, epoch = l.epoch + 1, expires_at = now() + $3::bigint * interval '1 millisecond',
                             acquired_at = now(),
                             failovers = l.failovers + CASE WHEN l.owner IS NOT NULL AND l.owner <> $1 THEN 1 ELSE 0 END
                         WHERE l.target IN (SELECT target FROM leases WHERE target = ANY($2)
                                              AND (owner IS NULL OR expires_at <= now())
                                            ORDER BY target LIMIT $4 FOR UPDATE SKIP LOCKED)
                         RETURNING l.target, l.epoch",
                        &[&owner, &targets, &ttl, &want],
                    )
                    .at(s)?;
                held.extend(taken.iter().map(|r| Lease { target: r.get(0), epoch: r.get(1) }));
            }
            tx.commit().at(s)?;
            held.sort_by(|a, b| a.target.cmp(&b.target));
            Ok(Claim { held, live: usize::try_from(live.max(1)).unwrap_or(1) })
        })
    }

    /// Takes one target's lease for a single pass (`run`), whoever else is registered; `None`
    /// when another owner holds it unexpired (that owner is in the error the caller builds).
    pub fn acquire(&self, owner: &str, target: &str, ttl: Duration) -> Result<Result<Lease, String>, PgError> {
        let ttl = interval(ttl);
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            tx.execute(
                "INSERT INTO leases (target, owner, epoch, expires_at) VALUES ($1, NULL, 0, now())
                 ON CONFLICT (target) DO NOTHING",
                &[&target],
            )
            .at(s)?;
            let row = tx
                .query_one("SELECT owner, expires_at > now() FROM leases WHERE target = $1 FOR UPDATE", &[&target])
                .at(s)?;
            let (holder, live): (Option<String>, bool) = (row.get(0), row.get(1));
            if let Some(holder) = holder.filter(|h| live && h != owner) {
                return Ok(Err(holder));
            }
            let epoch: i64 = tx
                .query_one(
                    "UPDATE leases SET owner = $1, epoch = epoch + 1, expires_at = now() + $3::bigint * interval '1 millisecond', acquired_at = now()
                     WHERE target = $2 RETURNING epoch",
                    &[&owner, &target, &ttl],
                )
                .at(s)?
                .get(0);
            tx.commit().at(s)?;
            Ok(Ok(Lease { target: target.to_string(), epoch }))
        })
    }

    /// Extends one lease if it is still this owner's at this epoch; `false` if it was lost.
    pub fn renew(&self, owner: &str, lease: &Lease, ttl: Duration) -> Result<bool, PgError> {
        let ttl = interval(ttl);
        self.run(|c, s| {
            let n = c
                .execute(
                    "UPDATE leases SET expires_at = now() + $4::bigint * interval '1 millisecond'
                     WHERE target = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
                    &[&lease.target, &owner, &lease.epoch, &ttl],
                )
                .at(s)?;
            Ok(n == 1)
        })
    }

    /// Hands back one lease (after `run`'s pass), if still held.
    pub fn release(&self, owner: &str, lease: &Lease) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "UPDATE leases SET owner = NULL, expires_at = now() WHERE target = $1 AND owner = $2 AND epoch = $3",
                &[&lease.target, &owner, &lease.epoch],
            )
            .at(s)
            .map(drop)
        })
    }

    /// Hands back every lease of `owner` and unregisters it (SIGTERM): the others take its
    /// targets at their next claim instead of waiting for the leases to expire.
    pub fn release_all(&self, owner: &str) -> Result<u64, PgError> {
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            let n =
                tx.execute("UPDATE leases SET owner = NULL, expires_at = now() WHERE owner = $1", &[&owner]).at(s)?;
            tx.execute("DELETE FROM replicas WHERE owner = $1", &[&owner]).at(s)?;
            tx.commit().at(s)?;
            Ok(n)
        })
    }

    /// Every lease among `targets` (all of them when empty), for the status page and metrics.
    pub fn fleet(&self, targets: &[String]) -> Result<Vec<FleetLease>, PgError> {
        let targets = targets.to_vec();
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT target, owner, epoch,
                            extract(epoch FROM now() - acquired_at)::float8,
                            extract(epoch FROM expires_at - now())::float8, failovers
                     FROM leases WHERE cardinality($1::text[]) = 0 OR target = ANY($1) ORDER BY target",
                    &[&targets],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| FleetLease {
                    target: r.get(0),
                    owner: r.get(1),
                    epoch: r.get(2),
                    age_seconds: r.get(3),
                    expires_in_seconds: r.get(4),
                    failovers: r.get(5),
                })
                .collect())
        })
    }
}

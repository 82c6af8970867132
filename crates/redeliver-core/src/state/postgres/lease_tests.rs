//! Leases and fencing against the test server: replicas spread the targets, a lost lease
//! refuses the write before a POST, a stopping replica hands over at once. Expiry is forced by
//! moving `expires_at` into the past on the database, never by sleeping.

use super::lease::Lease;
use super::{PgError, PgLedger, testing};
use crate::plan::GiveUpReason;
use chrono::{DateTime, Utc};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(30);

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn targets(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("repo:o/r#{i}@http://127.0.0.1")).collect()
}

fn names(leases: &[Lease]) -> Vec<String> {
    leases.iter().map(|l| l.target.clone()).collect()
}

/// Every lease of `owner` expires now, as if it had stopped renewing.
fn expire(db: &PgLedger, owner: &str) {
    db.run(|c, s| {
        use super::At as _;
        c.execute("UPDATE leases SET expires_at = now() - interval '1 second' WHERE owner = $1", &[&owner]).at(s)?;
        c.execute("UPDATE replicas SET expires_at = now() - interval '1 second' WHERE owner = $1", &[&owner]).at(s)
    })
    .unwrap();
}

#[test]
fn replicas_spread_the_targets_and_a_new_one_takes_its_share() {
    let at = testing::fresh();
    let (a, b, c) = (PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap());
    let all = targets(7);
    assert_eq!(a.claim("a", &all, TTL).unwrap().held.len(), 7, "alone, a replica takes every target");
    assert!(b.claim("b", &all, TTL).unwrap().held.is_empty(), "nothing is free yet");
    assert_eq!(a.claim("a", &all, TTL).unwrap().held.len(), 4, "two live replicas: ceil(7 / 2)");
    assert_eq!(b.claim("b", &all, TTL).unwrap().held.len(), 3, "the new one takes what was handed back");
    assert_eq!(c.claim("c", &all, TTL).unwrap().live, 3, "every live replica is counted, for the budget's split");
    let (ha, hb) = (a.claim("a", &all, TTL).unwrap().held, b.claim("b", &all, TTL).unwrap().held);
    let hc = c.claim("c", &all, TTL).unwrap().held;
    assert_eq!((ha.len(), hb.len(), hc.len()), (3, 3, 1), "ceil(7 / 3) at most each, every target held");
    let mut held: Vec<String> = [names(&ha), names(&hb), names(&hc)].concat();
    held.sort();
    assert_eq!(held, all, "each target exactly once");
    let fleet = a.fleet(&[]).unwrap();
    assert_eq!(fleet.len(), 7);
    assert!(fleet.iter().all(|l| l.owner.is_some() && l.expires_in_seconds > 0.0 && l.failovers == 0));
}

#[test]
fn a_replica_that_lost_its_lease_writes_nothing_before_a_post() {
    let at = testing::fresh();
    let (a, b) = (PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap());
    let one = targets(1);
    let lease = a.claim("a", &one, TTL).unwrap().held.remove(0);
    a.fence(&lease.target, "a", lease.epoch, TTL);
    let first = t("2026-01-01T00:00:00Z");
    a.begin_redelivery(&lease.target, "g1", "push", 1, first, t("2026-01-01T00:01:00Z")).unwrap();
    // a is frozen past its lease; b takes the target over (a failover, a new epoch).
    expire(&a, "a");
    let taken = b.claim("b", &one, TTL).unwrap().held.remove(0);
    assert_eq!(taken.epoch, lease.epoch + 1);
    assert_eq!(b.fleet(&one).unwrap()[0].failovers, 1);
    // a wakes up: its write is refused, so it sends nothing, and the ledger holds no trace of it.
    let err = a.begin_redelivery(&lease.target, "g2", "push", 2, first, t("2026-01-01T00:02:00Z")).unwrap_err();
    assert!(matches!(err, PgError::Fenced { epoch, .. } if epoch == lease.epoch), "{err}");
    // A canary is a POST too: fenced the same way.
    let err = a.begin_probe(&lease.target, "g3", "push", 3, first, t("2026-01-01T00:03:00Z")).unwrap_err();
    assert!(matches!(err, PgError::Fenced { epoch, .. } if epoch == lease.epoch), "{err}");
    // Nor a give-up: the new owner may have given the event up and notified it already, and a
    // second one would be reported (and notified) twice.
    let later = t("2026-01-01T00:04:00Z");
    let err = a.give_up(&lease.target, "g1", "push", GiveUpReason::Cap, first, later).unwrap_err();
    assert!(matches!(err, PgError::Fenced { epoch, .. } if epoch == lease.epoch), "{err}");
    assert!(!b.memory(&lease.target, ["g1"]).unwrap()["g1"].given_up, "the refused give-up left no trace");
    assert!(!a.renew("a", &lease, TTL).unwrap(), "nor can it renew what it lost");
    assert!(b.memory(&lease.target, ["g2", "g3"]).unwrap().is_empty());
    assert_eq!(b.history(None, None, 10).unwrap().len(), 1, "only the write made under the lease");
    // Its next claim does not get the target back while b holds it.
    assert!(a.claim("a", &one, TTL).unwrap().held.is_empty());
}

#[test]
fn a_stopping_replica_hands_over_at_once_and_run_waits_for_a_live_lease() {
    let at = testing::fresh();
    let (a, b) = (PgLedger::open(&at).unwrap(), PgLedger::open(&at).unwrap());
    let all = targets(4);
    a.claim("a", &all, TTL).unwrap();
    b.claim("b", &all, TTL).unwrap();
    // `run` on a target a replica holds is refused, naming the holder.
    let held_by_a = a.claim("a", &all, TTL).unwrap().held.remove(0);
    assert_eq!(b.acquire("run", &held_by_a.target, TTL).unwrap(), Err("a".to_string()));
    assert_eq!(a.release_all("a").unwrap(), 2);
    assert_eq!(b.claim("b", &all, TTL).unwrap().held.len(), 4, "a's targets are free at once, not after expiry");
    // Released, not taken over: no failover counted.
    assert!(b.fleet(&all).unwrap().iter().all(|l| l.failovers == 0));
    b.release_all("b").unwrap();
    let lease = a.acquire("run", &all[0], TTL).unwrap().unwrap();
    assert_eq!(a.acquire("run", &all[0], TTL).unwrap().map(|l| l.epoch), Ok(lease.epoch + 1), "its own again");
}

//! The receiver's health in the ledger (schema 4): per target, whether its receiver is down
//! and since when, the canary schedule and an open drain (table `receivers`); and which
//! redelivery requests are not charged to an event's ladder: canaries (`kind = 'canary'`) and
//! ladder redeliveries that failed in an outage seen later (`kind = 'refunded'`), counted per
//! event in `events.uncharged` so the planner subtracts them from GitHub's count.

use super::ledger::{Ledger, RedeliveryRecord, RedeliveryState, StateError};
use crate::health::{Drain, Health, HookHealth, Receiver};
use chrono::{DateTime, Duration, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// What a redelivery request was to its event's ladder (`redeliveries.kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedeliveryKind {
    /// A rung of the event's ladder (every request before schema 4).
    Ladder,
    /// A canary of a receiver that was down: charged to no rung.
    Canary,
    /// A rung sent into an outage seen later: taken back off the ladder.
    Refunded,
}

impl RedeliveryKind {
    pub(super) fn parse(s: &str) -> Self {
        match s {
            "canary" => Self::Canary,
            "refunded" => Self::Refunded,
            _ => Self::Ladder,
        }
    }
}

/// The schema version that adds the receiver's health.
pub(super) const SCHEMA: i64 = 4;

/// The step to schema 4. Like the archive's, it applies after any other step numbered below it
/// in whatever order they were written: the table is created `IF NOT EXISTS` and each column is
/// added only when missing.
pub(super) fn migrate(c: &rusqlite::Connection) -> rusqlite::Result<()> {
    let tx = c.unchecked_transaction()?;
    tx.execute_batch(TABLE)?;
    for (table, column, ddl) in [
        ("redeliveries", "kind", "ALTER TABLE redeliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'ladder'"),
        ("events", "uncharged", "ALTER TABLE events ADD COLUMN uncharged INTEGER NOT NULL DEFAULT 0"),
    ] {
        let has: bool = tx.query_row(
            "SELECT count(*) > 0 FROM pragma_table_info(?1) WHERE name = ?2",
            params![table, column],
            |r| r.get(0),
        )?;
        if !has {
            tx.execute_batch(ddl)?;
        }
    }
    tx.pragma_update(None, "user_version", SCHEMA)?;
    tx.commit()
}

const TABLE: &str = "CREATE TABLE IF NOT EXISTS receivers (
         target TEXT PRIMARY KEY,
         down_since_ms INTEGER,
         last_probe_ms INTEGER,
         probe_interval_ms INTEGER NOT NULL,
         probes INTEGER NOT NULL,
         drain_since_ms INTEGER,
         drain_ended_ms INTEGER,
         updated_ms INTEGER NOT NULL);";

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

impl Ledger {
    /// What the ledger knows of `key`'s receiver (`None`: nothing on record).
    pub fn receiver(&self, key: &str) -> Result<Option<Receiver>, StateError> {
        if self.version() < SCHEMA {
            return Ok(None);
        }
        self.sql(|c| {
            c.prepare_cached(
                "SELECT down_since_ms, last_probe_ms, probe_interval_ms, probes, drain_since_ms, drain_ended_ms
                 FROM receivers WHERE target = ?1",
            )?
            .query_row([key], |r| {
                let health = match time(r.get(0)?) {
                    Some(since) => Health::Down { since },
                    None => Health::Up,
                };
                let drain = match (time(r.get(4)?), time(r.get(5)?)) {
                    (Some(since), Some(ended)) => Some(Drain { since, ended }),
                    _ => None,
                };
                Ok(Receiver {
                    health: HookHealth {
                        health,
                        last_probe: time(r.get(1)?),
                        probe_interval: Duration::milliseconds(r.get(2)?),
                        probes: r.get(3)?,
                    },
                    drain,
                })
            })
            .optional()
        })
    }

    /// Stores `key`'s receiver.
    pub fn set_receiver(&self, key: &str, r: &Receiver, now: DateTime<Utc>) -> Result<(), StateError> {
        let since = match r.health.health {
            Health::Down { since } => Some(since.timestamp_millis()),
            Health::Up => None,
        };
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO receivers (target, down_since_ms, last_probe_ms, probe_interval_ms, probes,
                                        drain_since_ms, drain_ended_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (target) DO UPDATE SET down_since_ms = excluded.down_since_ms,
                     last_probe_ms = excluded.last_probe_ms, probe_interval_ms = excluded.probe_interval_ms,
                     probes = excluded.probes, drain_since_ms = excluded.drain_since_ms,
                     drain_ended_ms = excluded.drain_ended_ms, updated_ms = excluded.updated_ms",
            )?
            .execute(params![
                key,
                since,
                r.health.last_probe.map(|t| t.timestamp_millis()),
                r.health.probe_interval.num_milliseconds(),
                r.health.probes,
                r.drain.map(|d| d.since.timestamp_millis()),
                r.drain.map(|d| d.ended.timestamp_millis()),
                now.timestamp_millis()
            ])
        })?;
        Ok(())
    }

    /// Writes a canary down before it is sent, as [`Ledger::begin_redelivery`] does a rung,
    /// but charged to no rung: the event's `uncharged` count takes its attempt instead of
    /// `sent`. Complete it with [`Ledger::complete`]; a canary GitHub never carried out is
    /// taken back with [`Ledger::withdraw_probe`].
    pub fn begin_probe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            tx.prepare_cached(
                "INSERT INTO events (target, guid, event, first_seen_ms, uncharged, last_sent_ms) VALUES (?1, ?2, ?3, ?4, 1, ?5)
                 ON CONFLICT (target, guid) DO UPDATE SET uncharged = uncharged + 1,
                     first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
                     last_sent_ms = max(coalesce(last_sent_ms, 0), excluded.last_sent_ms)",
            )?
            .execute(params![key, guid, event, first_seen.timestamp_millis(), at.timestamp_millis()])?;
            tx.prepare_cached(
                "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer, kind)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'sending', 'canary')",
            )?
            .execute(params![key, guid, delivery_id as i64, event, at.timestamp_millis()])?;
            let row = tx.last_insert_rowid();
            tx.commit()?;
            Ok(row)
        })
    }

    /// Takes back a canary that left no attempt in GitHub's record (not sent, refused, or
    /// rate limited): its row stays in the audit history with `answer` and `detail`, and the
    /// event's `uncharged` count goes back down.
    pub fn withdraw_probe(&self, row: i64, answer: &str, detail: Option<&str>) -> Result<(), StateError> {
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            let key: Option<(String, String)> = tx
                .query_row(
                    "SELECT target, guid FROM redeliveries WHERE id = ?1 AND answer = 'sending' AND kind = 'canary'",
                    [row],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((target, guid)) = key {
                tx.execute(
                    "UPDATE redeliveries SET answer = ?2, detail = ?3 WHERE id = ?1",
                    params![row, answer, detail],
                )?;
                // The canary's request time stays the event's last request (its rung is
                // counted from it) unless it was never sent at all.
                tx.execute(
                    "UPDATE events SET uncharged = max(uncharged - 1, 0),
                         last_sent_ms = (SELECT max(at_ms) FROM redeliveries
                                         WHERE target = ?1 AND guid = ?2 AND answer != 'not_sent')
                     WHERE target = ?1 AND guid = ?2",
                    params![target, guid],
                )?;
            }
            tx.commit()
        })
    }

    /// An outage of `key`'s receiver was seen to have started at `since`: the ladder
    /// redeliveries sent since then (GitHub carried them out, or may have) failed for the
    /// receiver, not for their events, so each is taken off its event's rungs. Idempotent.
    /// Returns how many were refunded.
    pub fn refund_outage(&self, key: &str, since: DateTime<Utc>) -> Result<usize, StateError> {
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            let guids: Vec<(i64, String)> = {
                let mut stmt = tx.prepare_cached(
                    "SELECT id, guid FROM redeliveries WHERE target = ?1 AND at_ms >= ?2 AND kind = 'ladder'
                     AND answer IN ('accepted', 'ambiguous')",
                )?;
                let rows = stmt.query_map(params![key, since.timestamp_millis()], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (id, guid) in &guids {
                tx.execute("UPDATE redeliveries SET kind = 'refunded' WHERE id = ?1", [id])?;
                tx.execute(
                    "UPDATE events SET sent = max(sent - 1, 0), uncharged = uncharged + 1
                     WHERE target = ?1 AND guid = ?2 AND given_up_ms IS NULL",
                    params![key, guid],
                )?;
            }
            tx.commit()?;
            Ok(guids.len())
        })
    }

    /// Every redelivery request made for `key`, oldest first, with its kind: which of the
    /// attempts GitHub records for an event are charged to its ladder, for a reader that checks
    /// the ladder from outside (the checker, `crates/redeliver-bench`). Reads only.
    pub fn redelivery_kinds(&self, key: &str) -> Result<Vec<(RedeliveryRecord, RedeliveryKind)>, StateError> {
        let kind = if self.version() >= SCHEMA { "kind" } else { "'ladder'" };
        self.sql(|c| {
            let mut stmt = c.prepare(&format!(
                "SELECT target, guid, delivery_id, event, at_ms, answer, detail, {kind} FROM redeliveries
                 WHERE target = ?1 ORDER BY at_ms, id"
            ))?;
            let rows = stmt.query_map([key], |r| {
                let record = RedeliveryRecord {
                    key: r.get(0)?,
                    guid: r.get(1)?,
                    delivery_id: r.get::<_, i64>(2)? as u64,
                    event: r.get(3)?,
                    at: DateTime::from_timestamp_millis(r.get(4)?).unwrap_or_default(),
                    answer: RedeliveryState::parse(&r.get::<_, String>(5)?),
                    detail: r.get(6)?,
                };
                Ok((record, RedeliveryKind::parse(&r.get::<_, String>(7)?)))
            })?;
            rows.collect()
        })
    }

    /// Events of `key` that a listing showed succeed since `before` (the outage's end: nothing
    /// succeeds during one), and events given up since `since`, among those first seen by `before` (GitHub lists times to the second: an event that
    /// failed in the second the outage ended belongs to it): what its drain recovered and lost.
    pub fn outage_tally(
        &self,
        key: &str,
        since: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<(u64, u64), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "SELECT coalesce(sum(resolved_ms >= ?3), 0), coalesce(sum(given_up_ms >= ?2), 0)
                 FROM events WHERE target = ?1 AND first_seen_ms <= ?3",
            )?
            .query_row(params![key, since.timestamp_millis(), before.timestamp_millis()], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::HealthPolicy;
    use crate::plan::GiveUpReason;
    use crate::state::RedeliveryState;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
    }

    fn ledger() -> (tempfile::TempDir, Ledger) {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("s.db")).unwrap();
        (dir, l)
    }

    #[test]
    fn the_receiver_round_trips() {
        let (_d, l) = ledger();
        assert_eq!(l.receiver("k").unwrap(), None);
        let p = HealthPolicy::default();
        let mut r = Receiver::up(&p);
        r.health.health = Health::Down { since: at(5) };
        r.health = r.health.probed(at(6), &p);
        r.drain = Some(Drain { since: at(1), ended: at(2) });
        l.set_receiver("k", &r, at(7)).unwrap();
        assert_eq!(l.receiver("k").unwrap(), Some(r));
        assert_eq!(l.receiver("other").unwrap(), None);
    }

    #[test]
    fn a_canary_is_charged_to_no_rung_and_a_refund_takes_a_rung_back() {
        let (_d, l) = ledger();
        let row = l.begin_probe("k", "g", "push", 1, at(0), at(10)).unwrap();
        l.complete(row, RedeliveryState::Accepted, None).unwrap();
        let m = &l.memory("k", ["g"]).unwrap()["g"];
        assert_eq!((m.sent, m.uncharged), (0, 1));
        let refused = l.begin_probe("k", "g", "push", 1, at(0), at(11)).unwrap();
        l.withdraw_probe(refused, "refused", Some("422")).unwrap();
        assert_eq!(l.memory("k", ["g"]).unwrap()["g"].uncharged, 1, "a refused canary left no attempt");

        let before = l.begin_redelivery("k", "h", "push", 2, at(0), at(20)).unwrap();
        l.complete(before, RedeliveryState::Accepted, None).unwrap();
        let during = l.begin_redelivery("k", "h", "push", 3, at(0), at(40)).unwrap();
        l.complete(during, RedeliveryState::Ambiguous, Some("502")).unwrap();
        assert_eq!(l.refund_outage("k", at(30)).unwrap(), 1);
        assert_eq!(l.refund_outage("k", at(30)).unwrap(), 0, "once");
        let m = &l.memory("k", ["h"]).unwrap()["h"];
        assert_eq!((m.sent, m.uncharged), (1, 1), "the rung sent before the outage still counts");
    }

    #[test]
    fn the_tally_counts_what_resolved_and_what_was_given_up_since_the_outage() {
        let (_d, l) = ledger();
        l.begin_probe("k", "a", "push", 1, at(0), at(10)).unwrap();
        l.resolve("k", "a", at(95)).unwrap();
        l.begin_probe("k", "early", "push", 1, at(0), at(10)).unwrap();
        l.resolve("k", "early", at(30)).unwrap(); // resolved during the outage: not its drain's
        l.give_up("k", "b", "push", GiveUpReason::Outage, at(1), at(60)).unwrap();
        l.give_up("k", "c", "push", GiveUpReason::Cap, at(1), at(5)).unwrap();
        l.give_up("k", "late", "push", GiveUpReason::Cap, at(100), at(110)).unwrap();
        assert_eq!(l.outage_tally("k", at(20), at(90)).unwrap(), (1, 1));
    }
}

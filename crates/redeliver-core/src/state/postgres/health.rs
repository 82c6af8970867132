//! The receiver's health (issue 11) on PostgreSQL, one for one with `state/health.rs` (which
//! documents the `receivers` table, the `kind` of a redelivery and `events.uncharged`); the
//! difference is the fence on a canary's write, since a canary is a POST too.

use super::ledger::check_fence;
use super::{At, PgError, PgLedger};
use crate::health::{Drain, Health, HookHealth, Receiver};
use crate::state::{RedeliveryKind, RedeliveryRecord, RedeliveryState};
use chrono::{DateTime, Duration, Utc};

fn time(ms: Option<i64>) -> Option<DateTime<Utc>> {
    ms.and_then(DateTime::from_timestamp_millis)
}

impl PgLedger {
    pub fn receiver(&self, key: &str) -> Result<Option<Receiver>, PgError> {
        self.run(|c, s| {
            let row = c
                .query_opt(
                    "SELECT down_since_ms, last_probe_ms, probe_interval_ms, probes, drain_since_ms, drain_ended_ms
                     FROM receivers WHERE target = $1",
                    &[&key],
                )
                .at(s)?;
            Ok(row.map(|r| {
                let health = match time(r.get(0)) {
                    Some(since) => Health::Down { since },
                    None => Health::Up,
                };
                let drain = match (time(r.get(4)), time(r.get(5))) {
                    (Some(since), Some(ended)) => Some(Drain { since, ended }),
                    _ => None,
                };
                Receiver {
                    health: HookHealth {
                        health,
                        last_probe: time(r.get(1)),
                        probe_interval: Duration::milliseconds(r.get(2)),
                        probes: u32::try_from(r.get::<_, i64>(3).max(0)).unwrap_or(u32::MAX),
                    },
                    drain,
                }
            }))
        })
    }

    pub fn set_receiver(&self, key: &str, r: &Receiver, now: DateTime<Utc>) -> Result<(), PgError> {
        let since = match r.health.health {
            Health::Down { since } => Some(since.timestamp_millis()),
            Health::Up => None,
        };
        self.run(|c, s| {
            c.execute(
                "INSERT INTO receivers (target, down_since_ms, last_probe_ms, probe_interval_ms, probes,
                                        drain_since_ms, drain_ended_ms, updated_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (target) DO UPDATE SET down_since_ms = excluded.down_since_ms,
                     last_probe_ms = excluded.last_probe_ms, probe_interval_ms = excluded.probe_interval_ms,
                     probes = excluded.probes, drain_since_ms = excluded.drain_since_ms,
                     drain_ended_ms = excluded.drain_ended_ms, updated_ms = excluded.updated_ms",
                &[
                    &key,
                    &since,
                    &r.health.last_probe.map(|t| t.timestamp_millis()),
                    &r.health.probe_interval.num_milliseconds(),
                    &i64::from(r.health.probes),
                    &r.drain.map(|d| d.since.timestamp_millis()),
                    &r.drain.map(|d| d.ended.timestamp_millis()),
                    &now.timestamp_millis(),
                ],
            )
            .at(s)
            .map(drop)
        })
    }

    /// Writes a canary down before it is sent, fenced on the target's lease as
    /// [`PgLedger::begin_redelivery`] is: a replica that lost the lease sends no canary either.
    pub fn begin_probe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<i64, PgError> {
        let fence = self.fence_of(key);
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            check_fence(&mut tx, s, key, fence.as_ref())?;
            tx.execute(
                "INSERT INTO events (target, guid, event, first_seen_ms, uncharged, last_sent_ms)
                 VALUES ($1, $2, $3, $4, 1, $5)
                 ON CONFLICT (target, guid) DO UPDATE SET uncharged = events.uncharged + 1,
                     first_seen_ms = LEAST(events.first_seen_ms, excluded.first_seen_ms),
                     last_sent_ms = GREATEST(COALESCE(events.last_sent_ms, 0), excluded.last_sent_ms)",
                &[&key, &guid, &event, &first_seen.timestamp_millis(), &at.timestamp_millis()],
            )
            .at(s)?;
            let row: i64 = tx
                .query_one(
                    "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer, kind)
                     VALUES ($1, $2, $3, $4, $5, 'sending', 'canary') RETURNING id",
                    &[&key, &guid, &(delivery_id as i64), &event, &at.timestamp_millis()],
                )
                .at(s)?
                .get(0);
            tx.commit().at(s)?;
            Ok(row)
        })
    }

    pub fn withdraw_probe(&self, row: i64, answer: &str, detail: Option<&str>) -> Result<(), PgError> {
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            let found = tx
                .query_opt(
                    "UPDATE redeliveries SET answer = $2, detail = $3
                     WHERE id = $1 AND answer = 'sending' AND kind = 'canary' RETURNING target, guid",
                    &[&row, &answer, &detail],
                )
                .at(s)?;
            if let Some(r) = found {
                let (target, guid): (String, String) = (r.get(0), r.get(1));
                // As in SQLite: the canary's request time stays the event's last request
                // unless it was never sent at all.
                tx.execute(
                    "UPDATE events SET uncharged = GREATEST(uncharged - 1, 0),
                         last_sent_ms = (SELECT max(at_ms) FROM redeliveries
                                         WHERE target = $1 AND guid = $2 AND answer != 'not_sent')
                     WHERE target = $1 AND guid = $2",
                    &[&target, &guid],
                )
                .at(s)?;
            }
            tx.commit().at(s)
        })
    }

    pub fn refund_outage(&self, key: &str, since: DateTime<Utc>) -> Result<usize, PgError> {
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            let rows = tx
                .query(
                    "UPDATE redeliveries SET kind = 'refunded'
                     WHERE target = $1 AND at_ms >= $2 AND kind = 'ladder' AND answer IN ('accepted', 'ambiguous')
                     RETURNING guid",
                    &[&key, &since.timestamp_millis()],
                )
                .at(s)?;
            for r in &rows {
                let guid: String = r.get(0);
                tx.execute(
                    "UPDATE events SET sent = GREATEST(sent - 1, 0), uncharged = uncharged + 1
                     WHERE target = $1 AND guid = $2 AND given_up_ms IS NULL",
                    &[&key, &guid],
                )
                .at(s)?;
            }
            tx.commit().at(s)?;
            Ok(rows.len())
        })
    }

    /// Every redelivery request made for `key`, oldest first, with its kind (as SQLite's).
    pub fn redelivery_kinds(&self, key: &str) -> Result<Vec<(RedeliveryRecord, RedeliveryKind)>, PgError> {
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT target, guid, delivery_id, event, at_ms, answer, detail, kind FROM redeliveries
                     WHERE target = $1 ORDER BY at_ms, id",
                    &[&key],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let record = RedeliveryRecord {
                        key: r.get(0),
                        guid: r.get(1),
                        delivery_id: r.get::<_, i64>(2) as u64,
                        event: r.get(3),
                        at: DateTime::from_timestamp_millis(r.get(4)).unwrap_or_default(),
                        answer: RedeliveryState::parse(r.get(5)),
                        detail: r.get(6),
                    };
                    (record, RedeliveryKind::parse(r.get(7)))
                })
                .collect())
        })
    }

    pub fn outage_tally(&self, key: &str, since: DateTime<Utc>, before: DateTime<Utc>) -> Result<(u64, u64), PgError> {
        self.run(|c, s| {
            let r = c
                .query_one(
                    "SELECT count(*) FILTER (WHERE resolved_ms >= $3), count(*) FILTER (WHERE given_up_ms >= $2)
                     FROM events WHERE target = $1 AND first_seen_ms <= $3",
                    &[&key, &since.timestamp_millis(), &before.timestamp_millis()],
                )
                .at(s)?;
            Ok((r.get::<_, i64>(0).max(0) as u64, r.get::<_, i64>(1).max(0) as u64))
        })
    }
}

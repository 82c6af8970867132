//! The ledger's statements on PostgreSQL, one for one with the SQLite ledger's
//! (`state/ledger.rs`, which documents what each keeps and why); the differences are the
//! dialect's (`GREATEST`/`LEAST`, `$n`, `RETURNING id`) and the fence on the write that precedes
//! a POST.

use super::{At, PgError, PgLedger};
use crate::plan::{GiveUpReason, GuidHistory, Memory};
use crate::state::carry::{Carried, CarriedEvent, CarriedState};
use crate::state::{RedeliveryRecord, RedeliveryState};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// The fence, inside the transaction of a write that precedes a POST: the lease `(owner, epoch)`
/// must still be current and unexpired on the database's clock; it is renewed for its TTL and
/// its row stays locked until commit. Nothing to check without a lease (tests, tools).
pub(super) fn check_fence(
    tx: &mut postgres::Transaction<'_>,
    s: &str,
    key: &str,
    fence: Option<&(String, i64, i64)>,
) -> Result<(), PgError> {
    let Some((owner, epoch, ttl)) = fence else { return Ok(()) };
    let held = tx
        .execute(
            "UPDATE leases SET expires_at = GREATEST(expires_at, now() + $4::bigint * interval '1 millisecond')
             WHERE target = $1 AND owner = $2 AND epoch = $3 AND expires_at > now()",
            &[&key, owner, epoch, ttl],
        )
        .at(s)?;
    if held == 0 {
        return Err(PgError::Fenced { at: s.to_string(), target: key.to_string(), epoch: *epoch });
    }
    Ok(())
}

fn ms(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(v).unwrap_or_default()
}

/// A stored count as the planner's `u32` (a negative one, never written, reads as 0).
fn count(v: i64) -> u32 {
    u32::try_from(v.max(0)).unwrap_or(u32::MAX)
}

impl PgLedger {
    pub fn watermark(&self, key: &str) -> Result<Option<DateTime<Utc>>, PgError> {
        self.run(|c, s| {
            let row = c.query_opt("SELECT at_ms FROM watermarks WHERE target = $1", &[&key]).at(s)?;
            Ok(row.and_then(|r| DateTime::from_timestamp_millis(r.get(0))))
        })
    }

    pub fn set_watermark(&self, key: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "INSERT INTO watermarks (target, at_ms, updated_ms) VALUES ($1, $2, $3)
                 ON CONFLICT (target) DO UPDATE SET at_ms = excluded.at_ms, updated_ms = excluded.updated_ms",
                &[&key, &at.timestamp_millis(), &now.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn memory<'a>(
        &self,
        key: &str,
        guids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Memory>, PgError> {
        let guids: Vec<String> = guids.into_iter().map(str::to_string).collect();
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT guid, sent, last_sent_ms, first_seen_ms, given_up_ms, resolved_ms, uncharged FROM events
                     WHERE target = $1 AND guid = ANY($2)",
                    &[&key, &guids],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| {
                    let memory = Memory {
                        sent: count(r.get(1)),
                        last_sent_at: r.get::<_, Option<i64>>(2).and_then(DateTime::from_timestamp_millis),
                        first_seen_at: DateTime::from_timestamp_millis(r.get(3)),
                        given_up: r.get::<_, Option<i64>>(4).is_some(),
                        resolved: r.get::<_, Option<i64>>(5).is_some(),
                        uncharged: count(r.get(6)),
                    };
                    (r.get(0), memory)
                })
                .collect())
        })
    }

    /// Writes a redelivery down before it is sent. With a lease held on `key` ([`PgLedger::fence`])
    /// it commits only while that lease's epoch is current and unexpired on the database's
    /// clock, checked (and the lease renewed, so a long drain keeps it) in the same transaction,
    /// the lease row locked until commit, so a takeover waits for it and then sees it: a replica
    /// that lost its lease writes nothing, so it sends nothing.
    pub fn begin_redelivery(
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
                "INSERT INTO events (target, guid, event, first_seen_ms, sent, last_sent_ms) VALUES ($1, $2, $3, $4, 1, $5)
                 ON CONFLICT (target, guid) DO UPDATE SET sent = events.sent + 1, last_sent_ms = excluded.last_sent_ms,
                     first_seen_ms = LEAST(events.first_seen_ms, excluded.first_seen_ms)",
                &[&key, &guid, &event, &first_seen.timestamp_millis(), &at.timestamp_millis()],
            )
            .at(s)?;
            let row: i64 = tx
                .query_one(
                    "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer)
                     VALUES ($1, $2, $3, $4, $5, 'sending') RETURNING id",
                    &[&key, &guid, &(delivery_id as i64), &event, &at.timestamp_millis()],
                )
                .at(s)?
                .get(0);
            tx.commit().at(s)?;
            Ok(row)
        })
    }

    pub fn complete(&self, row: i64, answer: RedeliveryState, detail: Option<&str>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "UPDATE redeliveries SET answer = $2, detail = $3 WHERE id = $1",
                &[&row, &answer.as_str(), &detail],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn withdraw(&self, row: i64, detail: Option<&str>) -> Result<(), PgError> {
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            let found = tx
                .query_opt(
                    "UPDATE redeliveries SET answer = 'not_sent', detail = $2 WHERE id = $1 AND answer = 'sending'
                     RETURNING target, guid",
                    &[&row, &detail],
                )
                .at(s)?;
            if let Some(r) = found {
                let (target, guid): (String, String) = (r.get(0), r.get(1));
                tx.execute(
                    "UPDATE events SET sent = GREATEST(sent - 1, 0),
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

    pub fn remember_resolved(&self, target: &str, h: &GuidHistory, at: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "INSERT INTO events (target, guid, event, action, first_seen_ms, pending, resolved_ms)
                 VALUES ($1, $2, $3, $4, $5, 0, $6)
                 ON CONFLICT (target, guid) DO UPDATE SET pending = 0,
                     first_seen_ms = LEAST(events.first_seen_ms, excluded.first_seen_ms),
                     resolved_ms = coalesce(events.resolved_ms, excluded.resolved_ms)",
                &[&target, &h.guid, &h.event, &h.action, &h.oldest_at.timestamp_millis(), &at.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn prune(
        &self,
        target: &str,
        now: DateTime<Utc>,
        horizon: chrono::Duration,
        keep_history: chrono::Duration,
    ) -> Result<(usize, usize), PgError> {
        // The SQLite ledger's bounds: first attempt + horizon twice + a day; the history's keep.
        let events_before = now
            .checked_sub_signed(horizon)
            .and_then(|t| t.checked_sub_signed(horizon))
            .and_then(|t| t.checked_sub_signed(chrono::Duration::days(1)))
            .map_or(i64::MIN, |t| t.timestamp_millis());
        let history_before = now.checked_sub_signed(keep_history).map_or(i64::MIN, |t| t.timestamp_millis());
        self.run(|c, s| {
            let events = c
                .execute("DELETE FROM events WHERE target = $1 AND first_seen_ms < $2", &[&target, &events_before])
                .at(s)?;
            let rows = c
                .execute(
                    "DELETE FROM redeliveries WHERE target = $1 AND at_ms < $2 AND answer != 'sending'",
                    &[&target, &history_before],
                )
                .at(s)?;
            Ok((events as usize, rows as usize))
        })
    }

    pub fn import_carried(&self, target: &str, carried: &Carried) -> Result<(), PgError> {
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            let stmt = tx
                .prepare(
                    "INSERT INTO events (target, guid, event, first_seen_ms, sent, last_sent_ms, given_up_ms,
                                         given_up_reason, resolved_ms, pending, uncharged)
                     VALUES ($1, $2, '', $3, $4, $5, $6, $7, $8, 0, $9)
                     ON CONFLICT (target, guid) DO UPDATE SET
                         sent = GREATEST(events.sent, excluded.sent),
                         uncharged = GREATEST(events.uncharged, excluded.uncharged),
                         last_sent_ms = GREATEST(coalesce(events.last_sent_ms, 0), coalesce(excluded.last_sent_ms, 0)),
                         first_seen_ms = LEAST(events.first_seen_ms, excluded.first_seen_ms),
                         given_up_ms = coalesce(events.given_up_ms, excluded.given_up_ms),
                         given_up_reason = coalesce(events.given_up_reason, excluded.given_up_reason),
                         resolved_ms = coalesce(events.resolved_ms, excluded.resolved_ms),
                         pending = CASE WHEN events.pending = 1 AND excluded.given_up_ms IS NULL
                                             AND excluded.resolved_ms IS NULL THEN 1 ELSE 0 END",
                )
                .at(s)?;
            for (guid, e) in &carried.events {
                let first = e.first_seen_at.timestamp_millis();
                let (given_up, reason, resolved) = match e.state {
                    CarriedState::Pending => (None, None, None),
                    CarriedState::GivenUp => (Some(first), Some("carried"), None),
                    CarriedState::Resolved => (None, None, Some(first)),
                };
                let last = e.last_sent_at.map(|t| t.timestamp_millis());
                let uncharged = i64::from(e.uncharged);
                tx.execute(
                    &stmt,
                    &[&target, guid, &first, &i64::from(e.sent), &last, &given_up, &reason, &resolved, &uncharged],
                )
                .at(s)?;
            }
            tx.commit().at(s)
        })?;
        // The receiver's health: the runner's ledger is fresh, so what was carried is all it knows.
        match (&carried.receiver, self.receiver(target)?) {
            (Some(r), None) => self.set_receiver(target, r, Utc::now()),
            _ => Ok(()),
        }
    }

    pub fn export_carried(&self, target: &str) -> Result<Carried, PgError> {
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT guid, sent, last_sent_ms, first_seen_ms, given_up_ms, resolved_ms, uncharged FROM events
                     WHERE target = $1 AND (sent > 0 OR uncharged > 0 OR given_up_ms IS NOT NULL
                         OR resolved_ms IS NOT NULL OR pending = 1)",
                    &[&target],
                )
                .at(s)?;
            let events = rows
                .iter()
                .map(|r| {
                    let state = match (r.get::<_, Option<i64>>(4), r.get::<_, Option<i64>>(5)) {
                        (Some(_), _) => CarriedState::GivenUp,
                        (None, Some(_)) => CarriedState::Resolved,
                        (None, None) => CarriedState::Pending,
                    };
                    let event = CarriedEvent {
                        sent: count(r.get(1)),
                        last_sent_at: r.get::<_, Option<i64>>(2).filter(|v| *v > 0).map(ms),
                        first_seen_at: ms(r.get(3)),
                        state,
                        uncharged: count(r.get(6)),
                    };
                    (r.get::<_, String>(0), event)
                })
                .collect();
            Ok(Carried { events, receiver: None })
        })
        .and_then(|carried| Ok(Carried { receiver: self.receiver(target)?, ..carried }))
    }

    pub fn give_up(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        reason: GiveUpReason,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), PgError> {
        let reason = match reason {
            GiveUpReason::Cap => "cap",
            GiveUpReason::Horizon => "horizon",
            GiveUpReason::Outage => "outage",
        };
        // Fenced like the write before a POST: a give-up is reported and notified, so a replica
        // that lost the target (frozen past its lease, then resumed) must not write one that the
        // new owner may have written and notified already (issue 13, found by the checker's model).
        let fence = self.fence_of(key);
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            check_fence(&mut tx, s, key, fence.as_ref())?;
            tx.execute(
                "INSERT INTO events (target, guid, event, first_seen_ms, given_up_ms, given_up_reason) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (target, guid) DO UPDATE SET given_up_ms = excluded.given_up_ms,
                     given_up_reason = excluded.given_up_reason, pending = 0",
                &[&key, &guid, &event, &first_seen.timestamp_millis(), &at.timestamp_millis(), &reason],
            )
            .at(s)?;
            tx.commit().at(s)
        })
    }

    pub fn remember_pending(&self, key: &str, h: &GuidHistory, first_seen: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "INSERT INTO events (target, guid, event, action, first_seen_ms, attempts_seen, newest_id, newest_ms,
                                     last_status_code, last_status, pending)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1)
                 ON CONFLICT (target, guid) DO UPDATE SET event = excluded.event, action = excluded.action,
                     first_seen_ms = LEAST(events.first_seen_ms, excluded.first_seen_ms),
                     attempts_seen = GREATEST(coalesce(events.attempts_seen, 0), excluded.attempts_seen),
                     newest_id = excluded.newest_id, newest_ms = excluded.newest_ms,
                     last_status_code = excluded.last_status_code, last_status = excluded.last_status,
                     pending = CASE WHEN events.given_up_ms IS NULL AND events.resolved_ms IS NULL THEN 1 ELSE 0 END",
                &[
                    &key,
                    &h.guid,
                    &h.event,
                    &h.action,
                    &first_seen.min(h.oldest_at).timestamp_millis(),
                    &i64::from(h.attempts),
                    &(h.newest_id as i64),
                    &h.newest_at.timestamp_millis(),
                    &h.last_status_code,
                    &h.last_status,
                ],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn resolve(&self, key: &str, guid: &str, at: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "UPDATE events SET pending = 0, resolved_ms = $3 WHERE target = $1 AND guid = $2",
                &[&key, &guid, &at.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn pending(&self, key: &str) -> Result<Vec<GuidHistory>, PgError> {
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT guid, event, action, attempts_seen, newest_id, newest_ms, first_seen_ms, last_status_code, last_status
                     FROM events WHERE target = $1 AND pending = 1 AND newest_id IS NOT NULL ORDER BY first_seen_ms, guid",
                    &[&key],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| GuidHistory {
                    guid: r.get(0),
                    event: r.get(1),
                    action: r.get(2),
                    attempts: r.get::<_, Option<i64>>(3).and_then(|a| u32::try_from(a).ok()).unwrap_or(1),
                    succeeded: false,
                    newest_id: r.get::<_, i64>(4) as u64,
                    newest_at: ms(r.get(5)),
                    oldest_at: ms(r.get(6)),
                    last_status_code: r.get::<_, Option<i64>>(7).unwrap_or_default(),
                    last_status: r.get::<_, Option<String>>(8).unwrap_or_default(),
                    original_seen: true,
                })
                .collect())
        })
    }

    pub fn history(
        &self,
        key: Option<&str>,
        guid: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RedeliveryRecord>, PgError> {
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT target, guid, delivery_id, event, at_ms, answer, detail FROM redeliveries
                     WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR guid = $2)
                     ORDER BY at_ms DESC, id DESC LIMIT $3",
                    &[&key, &guid, &i64::try_from(limit).unwrap_or(i64::MAX)],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| RedeliveryRecord {
                    key: r.get(0),
                    guid: r.get(1),
                    delivery_id: r.get::<_, i64>(2) as u64,
                    event: r.get(3),
                    at: ms(r.get(4)),
                    answer: RedeliveryState::parse(r.get(5)),
                    detail: r.get(6),
                })
                .collect())
        })
    }
}

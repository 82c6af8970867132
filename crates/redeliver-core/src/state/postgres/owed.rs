//! Events owed a direct delivery (issue 12) on PostgreSQL, one for one with `state/owed.rs`
//! (which documents the states and why).

use super::{At, PgError, PgLedger};
use crate::state::{Owed, OwedCounts};
use chrono::{DateTime, Utc};

impl PgLedger {
    pub fn owe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, PgError> {
        let ms = now.timestamp_millis();
        self.run(|c, s| {
            let n = c
                .execute(
                    "INSERT INTO owed (target, guid, event, delivery_id, reason, owed_ms, next_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (target, guid) DO NOTHING",
                    &[&key, &guid, &event, &(delivery_id as i64), &reason, &ms],
                )
                .at(s)?;
            Ok(n > 0)
        })
    }

    pub fn resolve_delivered(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "INSERT INTO events (target, guid, event, first_seen_ms, pending, resolved_ms) VALUES ($1, $2, $3, $4, 0, $5)
                 ON CONFLICT (target, guid) DO UPDATE SET pending = 0,
                     resolved_ms = coalesce(events.resolved_ms, excluded.resolved_ms)",
                &[&key, &guid, &event, &first_seen.timestamp_millis(), &at.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn given_up_reason(&self, key: &str, guid: &str) -> Result<Option<String>, PgError> {
        self.run(|c, s| {
            let row = c
                .query_opt(
                    "SELECT given_up_reason FROM events WHERE target = $1 AND guid = $2 AND given_up_ms IS NOT NULL",
                    &[&key, &guid],
                )
                .at(s)?;
            Ok(row.and_then(|r| r.get::<_, Option<String>>(0)))
        })
    }

    pub fn is_owed(&self, key: &str, guid: &str) -> Result<bool, PgError> {
        self.run(|c, s| {
            Ok(c.query_opt("SELECT 1 FROM owed WHERE target = $1 AND guid = $2", &[&key, &guid]).at(s)?.is_some())
        })
    }

    pub fn owed_due(&self, key: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<Owed>, PgError> {
        self.run(|c, s| {
            let rows = c
                .query(
                    "SELECT guid, event, delivery_id, reason, owed_ms, tries FROM owed
                     WHERE target = $1 AND state = 'owed' AND next_ms <= $2 ORDER BY owed_ms, guid LIMIT $3",
                    &[&key, &now.timestamp_millis(), &i64::try_from(limit).unwrap_or(i64::MAX)],
                )
                .at(s)?;
            Ok(rows
                .iter()
                .map(|r| Owed {
                    guid: r.get(0),
                    event: r.get(1),
                    delivery_id: r.get::<_, i64>(2).max(0) as u64,
                    reason: r.get(3),
                    owed_at: DateTime::from_timestamp_millis(r.get(4)).unwrap_or_default(),
                    tries: u32::try_from(r.get::<_, i64>(5)).unwrap_or(u32::MAX),
                })
                .collect())
        })
    }

    /// Written before a direct post: fenced on the target's lease, as a redelivery's row is.
    pub fn owed_sending(&self, key: &str, guid: &str) -> Result<(), PgError> {
        let fence = self.fence_of(key);
        self.run(|c, s| {
            let mut tx = c.transaction().at(s)?;
            super::ledger::check_fence(&mut tx, s, key, fence.as_ref())?;
            tx.execute(
                "UPDATE owed SET state = 'sending', tries = tries + 1 WHERE target = $1 AND guid = $2 AND state = 'owed'",
                &[&key, &guid],
            )
            .at(s)?;
            tx.commit().at(s)
        })
    }

    pub fn owed_delivered(&self, key: &str, guid: &str, now: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "UPDATE owed SET state = 'delivered', done_ms = $3, last_error = NULL WHERE target = $1 AND guid = $2",
                &[&key, &guid, &now.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn owed_retry(&self, key: &str, guid: &str, next: DateTime<Utc>, error: &str) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "UPDATE owed SET state = 'owed', next_ms = $3, last_error = $4 WHERE target = $1 AND guid = $2",
                &[&key, &guid, &next.timestamp_millis(), &error],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn owed_counts(&self, key: &str) -> Result<OwedCounts, PgError> {
        self.run(|c, s| {
            let r = c
                .query_one(
                    "SELECT count(*) FILTER (WHERE state = 'owed'), count(*) FILTER (WHERE state = 'sending'),
                            count(*) FILTER (WHERE state = 'delivered') FROM owed WHERE target = $1",
                    &[&key],
                )
                .at(s)?;
            let n = |i| u64::try_from(r.get::<_, i64>(i)).unwrap_or(0);
            Ok(OwedCounts { owed: n(0), sending: n(1), delivered: n(2) })
        })
    }

    pub fn prune_owed(&self, key: &str, before: DateTime<Utc>) -> Result<usize, PgError> {
        self.run(|c, s| {
            let n = c
                .execute(
                    "DELETE FROM owed WHERE target = $1 AND state = 'delivered' AND done_ms < $2",
                    &[&key, &before.timestamp_millis()],
                )
                .at(s)?;
            Ok(n as usize)
        })
    }

    pub fn has_hook_config(&self, key: &str) -> Result<bool, PgError> {
        self.run(|c, s| Ok(c.query_opt("SELECT 1 FROM hook_configs WHERE target = $1", &[&key]).at(s)?.is_some()))
    }
}

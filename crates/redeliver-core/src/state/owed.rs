//! Events owed a direct delivery (issue 12): posted by `watch` straight to the receiver from
//! the archive, not through GitHub. An event becomes owed when it reaches GitHub's horizon still
//! failed on a target with `replay_past_horizon` (reason `horizon` or `outage`), or, in pull
//! mode (`deliver_to`), as soon as it is listed (reason `pull`). Each row goes `owed` →
//! `sending` (written before the post) → `delivered`, or back to `owed` with a later `next` try
//! when the receiver refused or did not answer. A row left `sending` by a killed process is not
//! sent again (the write-before-send rule of redeliveries): it is shown as uncertain.
//!
//! This table is not pruned with the ledger's events (outliving GitHub's horizon is its point);
//! delivered rows go once they are older than the ledger keeps events.

use super::ledger::{Ledger, StateError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// The schema version that adds the table of owed events (4 is the outage work's).
pub(super) const SCHEMA: i64 = 5;

pub(super) const MIGRATION: &str = "BEGIN;
     CREATE TABLE IF NOT EXISTS owed (
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         event TEXT NOT NULL,
         delivery_id INTEGER NOT NULL,
         reason TEXT NOT NULL,
         owed_ms INTEGER NOT NULL,
         tries INTEGER NOT NULL DEFAULT 0,
         next_ms INTEGER NOT NULL,
         state TEXT NOT NULL DEFAULT 'owed',
         done_ms INTEGER,
         last_error TEXT,
         PRIMARY KEY (target, guid));
     CREATE INDEX IF NOT EXISTS owed_due ON owed (target, state, next_ms);
     PRAGMA user_version = 5;
     COMMIT;";

/// One event owed a direct delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owed {
    pub guid: String,
    pub event: String,
    /// An attempt of the event, to fetch its record with when it is not archived.
    pub delivery_id: u64,
    /// `horizon`, `outage` or `pull`.
    pub reason: String,
    pub owed_at: DateTime<Utc>,
    /// Posts tried so far.
    pub tries: u32,
}

/// How many events of a target are owed, being sent (uncertain after a kill), and delivered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OwedCounts {
    pub owed: u64,
    pub sending: u64,
    pub delivered: u64,
}

impl Ledger {
    /// Makes the event owed a direct delivery, due at once; an event already owed (or already
    /// delivered this way) is left as it is. Returns whether it is newly owed.
    pub fn owe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        let ms = now.timestamp_millis();
        let n = self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO owed (target, guid, event, delivery_id, reason, owed_ms, next_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) ON CONFLICT (target, guid) DO NOTHING",
            )?
            .execute(params![key, guid, event, delivery_id as i64, reason, ms])
        })?;
        Ok(n > 0)
    }

    /// Marks an event delivered straight to its receiver (a replay answered 2xx), whether or not
    /// the ledger knew it: no pass asks GitHub to redeliver it, and `replay` skips it.
    pub fn resolve_delivered(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO events (target, guid, event, first_seen_ms, pending, resolved_ms) VALUES (?1, ?2, ?3, ?4, 0, ?5)
                 ON CONFLICT (target, guid) DO UPDATE SET pending = 0, resolved_ms = coalesce(resolved_ms, excluded.resolved_ms)",
            )?
            .execute(params![key, guid, event, first_seen.timestamp_millis(), at.timestamp_millis()])
        })?;
        Ok(())
    }

    /// Why the event was given up (`cap`, `horizon`, `outage`, `carried`), if it was.
    pub fn given_up_reason(&self, key: &str, guid: &str) -> Result<Option<String>, StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "SELECT given_up_reason FROM events WHERE target = ?1 AND guid = ?2 AND given_up_ms IS NOT NULL",
            )?
            .query_row(params![key, guid], |r| r.get::<_, Option<String>>(0))
            .optional()
            .map(Option::flatten)
        })
    }

    /// Whether the event has a row here, in any state.
    pub fn is_owed(&self, key: &str, guid: &str) -> Result<bool, StateError> {
        if self.version() < SCHEMA {
            return Ok(false);
        }
        self.sql(|c| {
            c.prepare_cached("SELECT 1 FROM owed WHERE target = ?1 AND guid = ?2")?
                .query_row(params![key, guid], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    /// The owed events of `key` whose next try is due at `now`, oldest first, at most `limit`.
    pub fn owed_due(&self, key: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<Owed>, StateError> {
        self.sql(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT guid, event, delivery_id, reason, owed_ms, tries FROM owed
                 WHERE target = ?1 AND state = 'owed' AND next_ms <= ?2 ORDER BY owed_ms, guid LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![key, now.timestamp_millis(), limit as i64], |r| {
                Ok(Owed {
                    guid: r.get(0)?,
                    event: r.get(1)?,
                    delivery_id: r.get::<_, i64>(2)?.max(0) as u64,
                    reason: r.get(3)?,
                    owed_at: DateTime::from_timestamp_millis(r.get(4)?).unwrap_or_default(),
                    tries: r.get(5)?,
                })
            })?;
            rows.collect()
        })
    }

    /// Writes the post down before it is sent: from now on it is not sent again by itself.
    pub fn owed_sending(&self, key: &str, guid: &str) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "UPDATE owed SET state = 'sending', tries = tries + 1 WHERE target = ?1 AND guid = ?2 AND state = 'owed'",
            )?
            .execute(params![key, guid])
        })?;
        Ok(())
    }

    /// The receiver accepted it: delivered.
    pub fn owed_delivered(&self, key: &str, guid: &str, now: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "UPDATE owed SET state = 'delivered', done_ms = ?3, last_error = NULL WHERE target = ?1 AND guid = ?2",
            )?
            .execute(params![key, guid, now.timestamp_millis()])
        })?;
        Ok(())
    }

    /// The receiver refused it or did not answer: owed again from `next`; or, when it is not
    /// sent at all (nothing left to send it from), owed again without a try counted.
    pub fn owed_retry(&self, key: &str, guid: &str, next: DateTime<Utc>, error: &str) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "UPDATE owed SET state = 'owed', next_ms = ?3, last_error = ?4 WHERE target = ?1 AND guid = ?2",
            )?
            .execute(params![key, guid, next.timestamp_millis(), error])
        })?;
        Ok(())
    }

    /// How many of `key`'s events are owed, being sent, delivered.
    pub fn owed_counts(&self, key: &str) -> Result<OwedCounts, StateError> {
        if self.version() < SCHEMA {
            return Ok(OwedCounts::default());
        }
        self.sql(|c| {
            c.query_row(
                "SELECT COALESCE(SUM(state = 'owed'), 0), COALESCE(SUM(state = 'sending'), 0),
                        COALESCE(SUM(state = 'delivered'), 0) FROM owed WHERE target = ?1",
                [key],
                |r| {
                    // SQLite counts are i64; a count is never negative.
                    let count = |i: usize| r.get::<_, i64>(i).map(|n| n.unsigned_abs());
                    Ok(OwedCounts { owed: count(0)?, sending: count(1)?, delivered: count(2)? })
                },
            )
        })
    }

    /// Forgets `key`'s delivered rows done before `before` (owed ones stay until delivered).
    pub fn prune_owed(&self, key: &str, before: DateTime<Utc>) -> Result<usize, StateError> {
        self.sql(|c| {
            c.prepare_cached("DELETE FROM owed WHERE target = ?1 AND state = 'delivered' AND done_ms < ?2")?
                .execute(params![key, before.timestamp_millis()])
        })
    }

    /// One archived record, if kept (with its target's hook configuration).
    pub fn archived_one(&self, key: &str, guid: &str) -> Result<Option<super::ArchivedRecord>, StateError> {
        Ok(self.archived_where(Some((key, guid)), None)?.pop())
    }

    /// Whether a hook configuration is known for `key`.
    pub fn has_hook_config(&self, key: &str) -> Result<bool, StateError> {
        self.sql(|c| {
            c.prepare_cached("SELECT 1 FROM hook_configs WHERE target = ?1")?
                .query_row([key], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_767_225_600_000).unwrap() + chrono::Duration::minutes(minutes)
    }

    #[test]
    fn an_owed_event_is_due_sent_once_retried_later_and_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("s.db")).unwrap();
        assert!(l.owe("app", "g1", "push", 7, "horizon", at(0)).unwrap());
        assert!(!l.owe("app", "g1", "push", 7, "pull", at(1)).unwrap(), "owed once");
        assert!(l.is_owed("app", "g1").unwrap());
        let due = l.owed_due("app", at(0), 10).unwrap();
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].reason.as_str(), due[0].tries), ("horizon", 0));
        l.owed_sending("app", "g1").unwrap();
        assert!(l.owed_due("app", at(100), 10).unwrap().is_empty(), "never sent twice at once");
        assert_eq!(l.owed_counts("app").unwrap(), OwedCounts { owed: 0, sending: 1, delivered: 0 });
        l.owed_retry("app", "g1", at(5), "HTTP 503").unwrap();
        assert!(l.owed_due("app", at(4), 10).unwrap().is_empty(), "backing off");
        assert_eq!(l.owed_due("app", at(5), 10).unwrap()[0].tries, 1);
        l.owed_sending("app", "g1").unwrap();
        l.owed_delivered("app", "g1", at(6)).unwrap();
        assert_eq!(l.owed_counts("app").unwrap(), OwedCounts { owed: 0, sending: 0, delivered: 1 });
        assert!(!l.owe("app", "g1", "push", 7, "pull", at(7)).unwrap(), "a delivered event is not owed again");
        assert_eq!(l.prune_owed("app", at(6)).unwrap(), 0);
        assert_eq!(l.prune_owed("app", at(7)).unwrap(), 1);
    }
}

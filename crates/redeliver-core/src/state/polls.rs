//! Each target's conditional-listing `ETag` (issue 14), kept across restarts: the `ETag` of the
//! first page of the last pass that saved, so a `watch` started again asks with
//! `If-None-Match` at once and an unchanged hook costs a free 304 instead of a full listing
//! (at 10,000 hooks a restart re-listed everything, hours of budget). It is written only after
//! the pass saved what it listed, so it never stands for something the state has not seen;
//! a crash between the two leaves an older `ETag`, which only costs a full listing.

use super::ledger::{Ledger, StateError};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

/// The schema version that adds the table (4 is the outage work's, 5 the owed events').
pub(super) const SCHEMA: i64 = 6;

pub(super) const MIGRATION: &str = "BEGIN;
     CREATE TABLE IF NOT EXISTS listing_etags (
         target TEXT PRIMARY KEY,
         etag TEXT NOT NULL,
         updated_ms INTEGER NOT NULL);
     PRAGMA user_version = 6;
     COMMIT;";

impl Ledger {
    /// The `ETag` the last saved pass of `key` listed, if any (none in a file older than the table).
    pub fn listing_etag(&self, key: &str) -> Result<Option<String>, StateError> {
        if self.version() < SCHEMA {
            return Ok(None);
        }
        self.sql(|c| {
            c.prepare_cached("SELECT etag FROM listing_etags WHERE target = ?1")?
                .query_row([key], |r| r.get(0))
                .optional()
        })
    }

    /// Keeps `etag` for `key` (call only once the pass has saved); `None` forgets it (the
    /// server sent none, so the next pass lists in full).
    pub fn set_listing_etag(&self, key: &str, etag: Option<&str>, now: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| match etag {
            Some(etag) => c
                .prepare_cached(
                    "INSERT INTO listing_etags (target, etag, updated_ms) VALUES (?1, ?2, ?3)
                     ON CONFLICT (target) DO UPDATE SET etag = excluded.etag, updated_ms = excluded.updated_ms",
                )?
                .execute(params![key, etag, now.timestamp_millis()]),
            None => c.prepare_cached("DELETE FROM listing_etags WHERE target = ?1")?.execute([key]),
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_etag_is_kept_replaced_and_forgotten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.db");
        let now = DateTime::from_timestamp(1_760_000_000, 0).unwrap();
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.listing_etag("repo:a/b#1@h").unwrap(), None);
        l.set_listing_etag("repo:a/b#1@h", Some("W/\"1\""), now).unwrap();
        l.set_listing_etag("repo:a/b#1@h", Some("W/\"2\""), now).unwrap();
        drop(l);
        let again = Ledger::open_read_only(&path).unwrap().unwrap();
        assert_eq!(again.listing_etag("repo:a/b#1@h").unwrap().as_deref(), Some("W/\"2\""));
        drop(again);
        let l = Ledger::open(&path).unwrap();
        l.set_listing_etag("repo:a/b#1@h", None, now).unwrap();
        assert_eq!(l.listing_etag("repo:a/b#1@h").unwrap(), None);
    }
}

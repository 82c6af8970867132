//! The archive in the ledger: for each failed event, the delivery record GitHub held for it
//! (request headers, payload, hook URL), fetched once while GitHub still had it, so that the
//! event can be exported or replayed after GitHub's horizon; and each target's hook
//! configuration (URL, content type), so a replay posts where and how GitHub would.
//!
//! Payloads are stored deflate-compressed and bounded: one larger than the per-payload cap is
//! not kept, and past the total cap the oldest records go first, resolved events before
//! pending ones (a pending event is the one a replay may still need).

use super::ledger::{Ledger, StateError};
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// The schema version that adds the archive. Its tables are created `IF NOT EXISTS`, so the
/// step applies after any other migration numbered below it, whatever order they were written in.
pub(super) const SCHEMA: i64 = 3;

pub(super) const MIGRATION: &str = "BEGIN;
     CREATE TABLE IF NOT EXISTS archive (
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         event TEXT NOT NULL,
         action TEXT,
         delivery_id INTEGER NOT NULL,
         hook_url TEXT,
         headers TEXT NOT NULL,
         payload BLOB NOT NULL,
         archived_ms INTEGER NOT NULL,
         delivered_ms INTEGER,
         PRIMARY KEY (target, guid));
     CREATE TABLE IF NOT EXISTS hook_configs (
         target TEXT PRIMARY KEY,
         url TEXT,
         content_type TEXT,
         insecure_ssl TEXT,
         read_ms INTEGER NOT NULL);
     PRAGMA user_version = 3;
     COMMIT;";

/// How much the archive may hold, in compressed bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArchiveLimits {
    /// A payload larger than this (uncompressed) is not archived.
    pub max_payload: u64,
    /// The archive's payloads together (compressed) stay under this.
    pub max_total: u64,
}

impl Default for ArchiveLimits {
    /// 1 MiB per payload, 256 MiB in all.
    fn default() -> Self {
        Self { max_payload: 1 << 20, max_total: 256 << 20 }
    }
}

/// One archived event, as `redeliver export` prints it (one NDJSON line).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ArchivedRecord {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    pub delivery_id: u64,
    /// The ledger key of the target.
    pub target: String,
    /// The URL GitHub posted to (the delivery record's `url`, else the hook configuration's).
    pub hook_url: Option<String>,
    /// The hook's `content_type` (`json` or `form`), when its configuration was read.
    pub content_type: Option<String>,
    /// The request headers GitHub sent, as its delivery record lists them.
    pub headers: BTreeMap<String, String>,
    pub payload: serde_json::Value,
    pub archived_at: DateTime<Utc>,
    /// When the event first failed (its first attempt GitHub listed), for `replay --since/--until`.
    #[serde(default)]
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A hook's configuration as GitHub reports it (the secret is masked there and never kept).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HookConfigRecord {
    pub url: Option<String>,
    pub content_type: Option<String>,
    pub insecure_ssl: Option<String>,
}

/// What [`Ledger::archive`] did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Archived {
    Stored,
    /// Larger than [`ArchiveLimits::max_payload`]: not kept.
    TooLarge,
}

pub(super) fn compress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut e = DeflateEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    e.write_all(bytes)?;
    e.finish()
}

pub(super) fn decompress(bytes: &[u8], limit: u64) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    // Bounded: a damaged or hostile blob cannot expand without end.
    DeflateDecoder::new(bytes).take(limit).read_to_end(&mut out)?;
    Ok(out)
}

impl Ledger {
    /// Whether this event's delivery record is already archived (so it is never fetched again).
    pub fn is_archived(&self, key: &str, guid: &str) -> Result<bool, StateError> {
        if self.version() < SCHEMA {
            return Ok(false);
        }
        self.sql(|c| {
            c.prepare_cached("SELECT 1 FROM archive WHERE target = ?1 AND guid = ?2")?
                .query_row(params![key, guid], |_| Ok(()))
                .optional()
                .map(|r| r.is_some())
        })
    }

    /// Keeps one event's delivery record, then prunes the archive back under its total cap.
    pub fn archive(
        &self,
        key: &str,
        record: &ArchivedRecord,
        limits: ArchiveLimits,
        now: DateTime<Utc>,
    ) -> Result<Archived, StateError> {
        let payload = serde_json::to_vec(&record.payload).unwrap_or_default();
        if payload.len() as u64 > limits.max_payload {
            return Ok(Archived::TooLarge);
        }
        let blob =
            compress(&payload).map_err(|source| StateError::Compress { path: self.path().to_path_buf(), source })?;
        let headers = serde_json::to_string(&record.headers).unwrap_or_else(|_| "{}".into());
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO archive (target, guid, event, action, delivery_id, hook_url, headers, payload, archived_ms, delivered_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT (target, guid) DO NOTHING",
            )?
            .execute(params![
                key,
                record.guid,
                record.event,
                record.action,
                record.delivery_id as i64,
                record.hook_url,
                headers,
                blob,
                now.timestamp_millis(),
                record.delivered_at.map(|t| t.timestamp_millis())
            ])
        })?;
        self.prune_archive(limits.max_total)?;
        Ok(Archived::Stored)
    }

    /// Deletes archived records, oldest resolved events first, then oldest pending ones, until
    /// the payloads together take at most `max_total` bytes. Returns how many went.
    pub fn prune_archive(&self, max_total: u64) -> Result<u64, StateError> {
        let total: i64 =
            self.sql(|c| c.query_row("SELECT COALESCE(SUM(length(payload)), 0) FROM archive", [], |r| r.get(0)))?;
        let mut excess = total.saturating_sub(i64::try_from(max_total).unwrap_or(i64::MAX));
        if excess <= 0 {
            return Ok(0);
        }
        let victims: Vec<(String, String, i64)> = self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT a.target, a.guid, length(a.payload) FROM archive a
                 LEFT JOIN events e ON e.target = a.target AND e.guid = a.guid
                 ORDER BY (e.resolved_ms IS NULL), a.archived_ms, a.rowid",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect()
        })?;
        let mut gone = 0;
        for (target, guid, len) in victims {
            if excess <= 0 {
                break;
            }
            self.sql(|c| c.execute("DELETE FROM archive WHERE target = ?1 AND guid = ?2", params![target, guid]))?;
            excess -= len;
            gone += 1;
        }
        Ok(gone)
    }

    /// The archive's payloads together, compressed, in bytes.
    pub fn archive_size(&self) -> Result<u64, StateError> {
        if self.version() < SCHEMA {
            return Ok(0);
        }
        let total: i64 =
            self.sql(|c| c.query_row("SELECT COALESCE(SUM(length(payload)), 0) FROM archive", [], |r| r.get(0)))?;
        Ok(total.max(0) as u64)
    }

    /// Writes a replay (`redeliver replay`) down before it is posted to the receiver, as
    /// redeliveries are; completed with [`Ledger::complete`] as `replayed`. Unlike a redelivery
    /// it costs no rung: GitHub never saw it.
    pub fn begin_replay(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer)
                 VALUES (?1, ?2, ?3, ?4, ?5, 'sending')",
            )?
            .execute(params![key, guid, delivery_id as i64, event, at.timestamp_millis()])?;
            Ok(c.last_insert_rowid())
        })
    }

    /// Remembers a target's hook configuration, replacing what was known.
    pub fn set_hook_config(&self, key: &str, config: &HookConfigRecord, now: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO hook_configs (target, url, content_type, insecure_ssl, read_ms) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (target) DO UPDATE SET url = excluded.url, content_type = excluded.content_type,
                     insecure_ssl = excluded.insecure_ssl, read_ms = excluded.read_ms",
            )?
            .execute(params![key, config.url, config.content_type, config.insecure_ssl, now.timestamp_millis()])
        })?;
        Ok(())
    }

    /// Every archived record, oldest first, with its target's hook configuration; `None` as the
    /// limit reads payloads up to the default per-payload cap.
    pub fn archived(&self, max_payload: Option<u64>) -> Result<Vec<ArchivedRecord>, StateError> {
        self.archived_where(None, max_payload)
    }

    /// [`Ledger::archived`], or only the record of `(target, guid)`.
    pub(super) fn archived_where(
        &self,
        only: Option<(&str, &str)>,
        max_payload: Option<u64>,
    ) -> Result<Vec<ArchivedRecord>, StateError> {
        if self.version() < SCHEMA {
            return Ok(Vec::new());
        }
        let limit = max_payload.unwrap_or(ArchiveLimits::default().max_payload).max(1);
        type Row = (
            String,
            String,
            String,
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
            String,
            Vec<u8>,
            i64,
            Option<i64>,
        );
        let rows: Vec<Row> = self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT a.target, a.guid, a.event, a.action, a.delivery_id, COALESCE(a.hook_url, h.url),
                        h.content_type, a.headers, a.payload, a.archived_ms, a.delivered_ms
                 FROM archive a LEFT JOIN hook_configs h ON h.target = a.target
                 WHERE (?1 IS NULL OR (a.target = ?1 AND a.guid = ?2))
                 ORDER BY a.archived_ms, a.rowid",
            )?;
            let (target, guid) = only.unzip();
            let rows = stmt.query_map(params![target, guid], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                    r.get(9)?,
                    r.get(10)?,
                ))
            })?;
            rows.collect()
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for (target, guid, event, action, id, hook_url, content_type, headers, blob, ms, delivered) in rows {
            // A record that no longer reads back (damaged, or past the cap) is skipped, not fatal.
            let Some(payload) = decompress(&blob, limit.saturating_add(1))
                .ok()
                .filter(|p| p.len() as u64 <= limit)
                .and_then(|p| serde_json::from_slice(&p).ok())
            else {
                tracing::warn!(%target, %guid, "skipping an archived record that does not read back");
                continue;
            };
            out.push(ArchivedRecord {
                guid,
                event,
                action,
                delivery_id: id.max(0) as u64,
                target,
                hook_url,
                content_type,
                headers: serde_json::from_str(&headers).unwrap_or_default(),
                payload,
                archived_at: DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                delivered_at: delivered.and_then(DateTime::from_timestamp_millis),
            });
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::GuidHistory;

    fn at(minutes: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(1_767_225_600_000).unwrap() + chrono::Duration::minutes(minutes)
    }

    /// A record whose payload holds `len` bytes of text that deflate cannot shrink much.
    fn record(guid: &str, len: usize, rng: &mut fastrand::Rng) -> ArchivedRecord {
        let noise: String = (0..len).map(|_| rng.alphanumeric()).collect();
        ArchivedRecord {
            guid: guid.into(),
            event: "push".into(),
            action: None,
            delivery_id: 7,
            target: "app".into(),
            hook_url: Some("http://127.0.0.1:1/hook".into()),
            content_type: None,
            headers: BTreeMap::from([("X-GitHub-Delivery".to_string(), guid.to_string())]),
            payload: serde_json::json!({ "ref": "refs/heads/main", "noise": noise }),
            archived_at: at(0),
            delivered_at: Some(at(0)),
        }
    }

    fn history(guid: &str) -> GuidHistory {
        GuidHistory {
            guid: guid.into(),
            event: "push".into(),
            action: None,
            attempts: 1,
            succeeded: true,
            newest_id: 7,
            newest_at: at(0),
            oldest_at: at(0),
            last_status_code: 200,
            last_status: "OK".into(),
            original_seen: true,
        }
    }

    #[test]
    fn a_record_round_trips_with_its_hook_configuration() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("s.db")).unwrap();
        let mut rng = fastrand::Rng::with_seed(1);
        let kept = record("g1", 300, &mut rng);
        assert!(!l.is_archived("app", "g1").unwrap());
        assert_eq!(l.archive("app", &kept, ArchiveLimits::default(), at(1)).unwrap(), Archived::Stored);
        assert!(l.is_archived("app", "g1").unwrap());
        assert!(!l.is_archived("other", "g1").unwrap(), "per target");
        let config = HookConfigRecord {
            url: Some("https://hooks.example/in".into()),
            content_type: Some("form".into()),
            insecure_ssl: Some("0".into()),
        };
        l.set_hook_config("app", &config, at(1)).unwrap();
        let back = l.archived(None).unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].payload, kept.payload, "byte for byte the same JSON");
        assert_eq!(back[0].headers, kept.headers);
        assert_eq!(back[0].hook_url, kept.hook_url, "the delivery's own URL wins over the configuration's");
        assert_eq!(back[0].content_type.as_deref(), Some("form"));
        assert_eq!(back[0].archived_at, at(1));
        assert_eq!(back[0].delivered_at, Some(at(0)));
    }

    #[test]
    fn a_payload_over_the_cap_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("s.db")).unwrap();
        let mut rng = fastrand::Rng::with_seed(2);
        let limits = ArchiveLimits { max_payload: 1000, max_total: 1 << 20 };
        assert_eq!(l.archive("app", &record("big", 2000, &mut rng), limits, at(0)).unwrap(), Archived::TooLarge);
        assert!(!l.is_archived("app", "big").unwrap());
        assert_eq!(l.archive_size().unwrap(), 0);
    }

    /// A flood of failures: the archive never passes its total cap, the newest records stay, and
    /// resolved events go before pending ones of any age.
    #[test]
    fn the_archive_stays_within_its_total_cap_under_a_flood_oldest_resolved_first() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::open(&dir.path().join("s.db")).unwrap();
        let mut rng = fastrand::Rng::with_seed(3);
        let limits = ArchiveLimits { max_payload: 4096, max_total: 16 * 1024 };
        // An old pending event, then resolved ones.
        l.archive("app", &record("pending", 1000, &mut rng), limits, at(0)).unwrap();
        for i in 0..300 {
            let guid = format!("g{i}");
            l.archive("app", &record(&guid, 1000, &mut rng), limits, at(i + 1)).unwrap();
            l.remember_resolved("app", &history(&guid), at(i + 1)).unwrap();
            assert!(l.archive_size().unwrap() <= limits.max_total, "over the cap after {i}");
        }
        assert!(l.is_archived("app", "pending").unwrap(), "a pending event outlives resolved ones");
        assert!(l.is_archived("app", "g299").unwrap(), "the newest stays");
        assert!(!l.is_archived("app", "g0").unwrap(), "the oldest resolved went first");
        let kept = l.archived(None).unwrap().len();
        assert!((5..300).contains(&kept), "{kept} records kept");
    }

    /// A file of the schema before the archive (2) is migrated with its data; the archive
    /// tables appear and the file's other state is kept.
    #[test]
    fn a_file_of_the_previous_schema_is_migrated_with_its_data() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let l = Ledger::open(&path).unwrap();
            l.set_watermark("app", at(0), at(0)).unwrap();
            l.sql(|c| c.execute_batch("DROP TABLE archive; DROP TABLE hook_configs; PRAGMA user_version = 2;"))
                .unwrap();
        }
        let old = Ledger::open_read_only(&path).unwrap().expect("state");
        assert!(old.archived(None).unwrap().is_empty(), "an older file reads as an empty archive");
        assert!(!old.is_archived("app", "g").unwrap());
        drop(old);
        let l = Ledger::open(&path).unwrap();
        assert_eq!(l.watermark("app").unwrap(), Some(at(0)), "data kept");
        let mut rng = fastrand::Rng::with_seed(4);
        l.archive("app", &record("g", 10, &mut rng), ArchiveLimits::default(), at(1)).unwrap();
        assert!(l.is_archived("app", "g").unwrap());
    }
}

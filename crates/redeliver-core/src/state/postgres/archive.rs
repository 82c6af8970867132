//! The archive's statements on PostgreSQL, one for one with `state/archive.rs` (which documents
//! the caps and the pruning order); payloads are the same deflate blobs, in a `BYTEA`.

use super::{At, PgError, PgLedger};
use crate::state::archive::{ArchiveLimits, Archived, ArchivedRecord, HookConfigRecord, compress, decompress};
use chrono::{DateTime, Utc};

impl PgLedger {
    pub fn is_archived(&self, key: &str, guid: &str) -> Result<bool, PgError> {
        self.run(|c, s| {
            Ok(c.query_opt("SELECT 1 FROM archive WHERE target = $1 AND guid = $2", &[&key, &guid]).at(s)?.is_some())
        })
    }

    pub fn archive(
        &self,
        key: &str,
        record: &ArchivedRecord,
        limits: ArchiveLimits,
        now: DateTime<Utc>,
    ) -> Result<Archived, PgError> {
        let payload = serde_json::to_vec(&record.payload).unwrap_or_default();
        if payload.len() as u64 > limits.max_payload {
            return Ok(Archived::TooLarge);
        }
        let blob = compress(&payload).map_err(|e| PgError::Sql {
            at: self.shown().to_string(),
            detail: format!("cannot compress an archived payload: {e}"),
            closed: false,
        })?;
        let headers = serde_json::to_string(&record.headers).unwrap_or_else(|_| "{}".into());
        self.run(|c, s| {
            c.execute(
                "INSERT INTO archive (target, guid, event, action, delivery_id, hook_url, headers, payload, archived_ms, delivered_ms)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (target, guid) DO NOTHING",
                &[
                    &key,
                    &record.guid,
                    &record.event,
                    &record.action,
                    &(record.delivery_id as i64),
                    &record.hook_url,
                    &headers,
                    &blob,
                    &now.timestamp_millis(),
                    &record.delivered_at.map(|t| t.timestamp_millis()),
                ],
            )
            .at(s)
        })?;
        self.prune_archive(limits.max_total)?;
        Ok(Archived::Stored)
    }

    pub fn prune_archive(&self, max_total: u64) -> Result<u64, PgError> {
        self.run(|c, s| {
            let total: i64 =
                c.query_one("SELECT COALESCE(SUM(octet_length(payload)), 0)::BIGINT FROM archive", &[]).at(s)?.get(0);
            let mut excess = total.saturating_sub(i64::try_from(max_total).unwrap_or(i64::MAX));
            if excess <= 0 {
                return Ok(0);
            }
            let victims = c
                .query(
                    "SELECT a.target, a.guid, octet_length(a.payload)::BIGINT FROM archive a
                     LEFT JOIN events e ON e.target = a.target AND e.guid = a.guid
                     ORDER BY (e.resolved_ms IS NULL), a.archived_ms, a.seq",
                    &[],
                )
                .at(s)?;
            let mut gone = 0;
            for r in victims {
                if excess <= 0 {
                    break;
                }
                let (target, guid, len): (String, String, i64) = (r.get(0), r.get(1), r.get(2));
                c.execute("DELETE FROM archive WHERE target = $1 AND guid = $2", &[&target, &guid]).at(s)?;
                excess -= len;
                gone += 1;
            }
            Ok(gone)
        })
    }

    pub fn archive_size(&self) -> Result<u64, PgError> {
        self.run(|c, s| {
            let total: i64 =
                c.query_one("SELECT COALESCE(SUM(octet_length(payload)), 0)::BIGINT FROM archive", &[]).at(s)?.get(0);
            Ok(total.max(0) as u64)
        })
    }

    pub fn begin_replay(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        at: DateTime<Utc>,
    ) -> Result<i64, PgError> {
        self.run(|c, s| {
            Ok(c.query_one(
                "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer)
                 VALUES ($1, $2, $3, $4, $5, 'sending') RETURNING id",
                &[&key, &guid, &(delivery_id as i64), &event, &at.timestamp_millis()],
            )
            .at(s)?
            .get(0))
        })
    }

    pub fn set_hook_config(&self, key: &str, config: &HookConfigRecord, now: DateTime<Utc>) -> Result<(), PgError> {
        self.run(|c, s| {
            c.execute(
                "INSERT INTO hook_configs (target, url, content_type, insecure_ssl, read_ms) VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (target) DO UPDATE SET url = excluded.url, content_type = excluded.content_type,
                     insecure_ssl = excluded.insecure_ssl, read_ms = excluded.read_ms",
                &[&key, &config.url, &config.content_type, &config.insecure_ssl, &now.timestamp_millis()],
            )
            .at(s)
            .map(drop)
        })
    }

    pub fn archived(&self, max_payload: Option<u64>) -> Result<Vec<ArchivedRecord>, PgError> {
        self.archived_where(None, max_payload)
    }

    /// One archived record, if kept (with its target's hook configuration).
    pub fn archived_one(&self, key: &str, guid: &str) -> Result<Option<ArchivedRecord>, PgError> {
        Ok(self.archived_where(Some((key, guid)), None)?.pop())
    }

    /// [`PgLedger::archived`], or only the record of `(target, guid)`.
    fn archived_where(
        &self,
        only: Option<(&str, &str)>,
        max_payload: Option<u64>,
    ) -> Result<Vec<ArchivedRecord>, PgError> {
        let limit = max_payload.unwrap_or(ArchiveLimits::default().max_payload).max(1);
        let (target, guid) = (only.map(|o| o.0), only.map(|o| o.1));
        let rows = self.run(|c, s| {
            c.query(
                "SELECT a.target, a.guid, a.event, a.action, a.delivery_id, COALESCE(a.hook_url, h.url),
                        h.content_type, a.headers, a.payload, a.archived_ms, a.delivered_ms
                 FROM archive a LEFT JOIN hook_configs h ON h.target = a.target
                 WHERE ($1::text IS NULL OR a.target = $1) AND ($2::text IS NULL OR a.guid = $2)
                 ORDER BY a.archived_ms, a.seq",
                &[&target, &guid],
            )
            .at(s)
        })?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (target, guid): (String, String) = (r.get(0), r.get(1));
            // A record that no longer reads back (damaged, or past the cap) is skipped, not fatal.
            let Some(payload) = decompress(r.get(8), limit.saturating_add(1))
                .ok()
                .filter(|p| p.len() as u64 <= limit)
                .and_then(|p| serde_json::from_slice(&p).ok())
            else {
                tracing::warn!(%target, %guid, "skipping an archived record that does not read back");
                continue;
            };
            out.push(ArchivedRecord {
                guid,
                event: r.get(2),
                action: r.get(3),
                delivery_id: r.get::<_, i64>(4).max(0) as u64,
                target,
                hook_url: r.get(5),
                content_type: r.get(6),
                headers: serde_json::from_str(r.get(7)).unwrap_or_default(),
                payload,
                archived_at: DateTime::from_timestamp_millis(r.get(9)).unwrap_or_default(),
                delivered_at: r.get::<_, Option<i64>>(10).and_then(DateTime::from_timestamp_millis),
            });
        }
        Ok(out)
    }
}

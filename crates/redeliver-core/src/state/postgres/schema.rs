//! The PostgreSQL ledger's schema and its versioned migrations, applied on open in one
//! transaction under an advisory lock, so replicas starting together migrate once.
//!
//! The tables and columns are the SQLite ledger's (same names, times as epoch milliseconds), so
//! one set of semantics reads both; the version lives in `redeliver_schema`, counted on its own
//! (PostgreSQL schema 1 holds what SQLite schema 3 holds).

use super::{PgError, sql};

/// The schema this build writes.
pub const VERSION: i64 = 5;

/// An arbitrary constant: the advisory lock that serialises migrations across replicas.
const MIGRATION_LOCK: i64 = 0x7265_6465_6c76;

/// Each step takes the schema from its index to its index + 1.
const STEPS: [&str; 5] = [
    // 1: the ledger (SQLite schemas 1 to 3: watermarks, events, redeliveries, archive).
    "CREATE TABLE watermarks (
         target TEXT PRIMARY KEY,
         at_ms BIGINT NOT NULL,
         updated_ms BIGINT NOT NULL);
     CREATE TABLE events (
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         event TEXT NOT NULL,
         first_seen_ms BIGINT NOT NULL,
         sent BIGINT NOT NULL DEFAULT 0,
         last_sent_ms BIGINT,
         given_up_ms BIGINT,
         given_up_reason TEXT,
         action TEXT,
         attempts_seen BIGINT,
         newest_id BIGINT,
         newest_ms BIGINT,
         last_status_code BIGINT,
         last_status TEXT,
         pending BIGINT NOT NULL DEFAULT 0,
         resolved_ms BIGINT,
         PRIMARY KEY (target, guid));
     CREATE INDEX events_pending ON events (target, pending);
     CREATE TABLE redeliveries (
         id BIGSERIAL PRIMARY KEY,
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         delivery_id BIGINT NOT NULL,
         event TEXT NOT NULL,
         at_ms BIGINT NOT NULL,
         answer TEXT NOT NULL,
         detail TEXT);
     CREATE INDEX redeliveries_by_guid ON redeliveries (target, guid);
     CREATE TABLE archive (
         seq BIGSERIAL,
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         event TEXT NOT NULL,
         action TEXT,
         delivery_id BIGINT NOT NULL,
         hook_url TEXT,
         headers TEXT NOT NULL,
         payload BYTEA NOT NULL,
         archived_ms BIGINT NOT NULL,
         delivered_ms BIGINT,
         PRIMARY KEY (target, guid));
     CREATE TABLE hook_configs (
         target TEXT PRIMARY KEY,
         url TEXT,
         content_type TEXT,
         insecure_ssl TEXT,
         read_ms BIGINT NOT NULL);",
    // 2: leases (one owner per target, fenced by its epoch) and the replicas that share them.
    "CREATE TABLE leases (
         target TEXT PRIMARY KEY,
         owner TEXT,
         epoch BIGINT NOT NULL DEFAULT 0,
         expires_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         acquired_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         failovers BIGINT NOT NULL DEFAULT 0);
     CREATE TABLE replicas (
         owner TEXT PRIMARY KEY,
         seen_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         expires_at TIMESTAMPTZ NOT NULL);",
    // 3: events owed a direct delivery (SQLite schema 5, issue 12).
    "CREATE TABLE owed (
         target TEXT NOT NULL,
         guid TEXT NOT NULL,
         event TEXT NOT NULL,
         delivery_id BIGINT NOT NULL,
         reason TEXT NOT NULL,
         owed_ms BIGINT NOT NULL,
         tries BIGINT NOT NULL DEFAULT 0,
         next_ms BIGINT NOT NULL,
         state TEXT NOT NULL DEFAULT 'owed',
         done_ms BIGINT,
         last_error TEXT,
         PRIMARY KEY (target, guid));
     CREATE INDEX owed_due ON owed (target, state, next_ms);",
    // 4: the receiver's health (SQLite schema 4, issue 11): each target's receiver, and which
    // redeliveries are charged to no rung (canaries, refunded rungs), counted per event.
    "CREATE TABLE receivers (
         target TEXT PRIMARY KEY,
         down_since_ms BIGINT,
         last_probe_ms BIGINT,
         probe_interval_ms BIGINT NOT NULL,
         probes BIGINT NOT NULL,
         drain_since_ms BIGINT,
         drain_ended_ms BIGINT,
         updated_ms BIGINT NOT NULL);
     ALTER TABLE redeliveries ADD COLUMN kind TEXT NOT NULL DEFAULT 'ladder';
     ALTER TABLE events ADD COLUMN uncharged BIGINT NOT NULL DEFAULT 0;",
    // 5: an organization's discovered hooks (issue 14), listed by the replica that holds the
    // source's lease and read by the others instead of listing it again.
    "CREATE TABLE discoveries (
         source TEXT PRIMARY KEY,
         hooks TEXT NOT NULL,
         repos_listed BIGINT NOT NULL,
         repos_kept BIGINT NOT NULL,
         points BIGINT NOT NULL,
         lister TEXT NOT NULL,
         generation BIGINT NOT NULL DEFAULT 1,
         listed_at TIMESTAMPTZ NOT NULL DEFAULT now());",
];

/// The version the database holds (0 when it holds no ledger).
pub fn version(c: &mut postgres::Client, shown: &str) -> Result<i64, PgError> {
    let exists: bool =
        c.query_one("SELECT to_regclass('redeliver_schema') IS NOT NULL", &[]).map_err(|e| sql(shown, &e))?.get(0);
    if !exists {
        return Ok(0);
    }
    let row = c.query_one("SELECT coalesce(max(version), 0) FROM redeliver_schema", &[]).map_err(|e| sql(shown, &e))?;
    Ok(row.get(0))
}

/// Applies the steps this database lacks.
pub fn migrate(c: &mut postgres::Client, shown: &str) -> Result<(), PgError> {
    if version(c, shown)? == VERSION {
        return Ok(());
    }
    let mut tx = c.transaction().map_err(|e| sql(shown, &e))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).map_err(|e| sql(shown, &e))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS redeliver_schema (version BIGINT PRIMARY KEY)")
        .map_err(|e| sql(shown, &e))?;
    let found: i64 =
        tx.query_one("SELECT coalesce(max(version), 0) FROM redeliver_schema", &[]).map_err(|e| sql(shown, &e))?.get(0);
    if found > VERSION {
        return Err(PgError::TooNew { at: shown.to_string(), found, known: VERSION });
    }
    for (i, step) in STEPS.iter().enumerate().skip(found.max(0) as usize) {
        tx.batch_execute(step).map_err(|e| sql(shown, &e))?;
        tx.execute("INSERT INTO redeliver_schema (version) VALUES ($1)", &[&(i as i64 + 1)])
            .map_err(|e| sql(shown, &e))?;
    }
    tx.commit().map_err(|e| sql(shown, &e))
}

//! The SQLite ledger: per target (under its ledger key, the `target` column), the watermark (how
//! far back the next run lists), what each event is owed (redeliveries sent, last one, given up),
//! and every redelivery request made.
//!
//! WAL mode, schema versioned with `PRAGMA user_version`. A redelivery is written down *before*
//! its POST and completed after it, so a process killed in between never sends it twice.

use super::carry::{CARRIED_RUNG, Carried, CarriedEvent, CarriedState};
use super::path_problem::{PathProblem, diagnose};
use crate::plan::{GiveUpReason, GuidHistory, Memory};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot open the state file {path}: {source}")]
    Open { path: PathBuf, source: rusqlite::Error },
    #[error("cannot create the state file {path}: {source}")]
    Create { path: PathBuf, source: std::io::Error },
    #[error("cannot create the folder for the state file {path}: {source}")]
    Folder { path: PathBuf, source: std::io::Error },
    #[error("the state file {path} was written by a newer redeliver (schema {found}, this one knows {known})")]
    TooNew { path: PathBuf, found: i64, known: i64 },
    #[error("state file {path}: {source}")]
    Sql { path: PathBuf, source: rusqlite::Error },
    #[error("state file {path}: cannot compress an archived payload: {source}")]
    Compress { path: PathBuf, source: std::io::Error },
    /// The path is unusable (a folder where the file should be, no permission …).
    #[error("cannot use the state file {path}: {}", problem.what)]
    Path { path: PathBuf, problem: PathProblem },
    // PostgreSQL state (issue 13).
    #[error(transparent)]
    Postgres(#[from] super::postgres::PgError),
}

impl StateError {
    /// What to do about it, when something useful can be said.
    pub fn hint(&self) -> Option<String> {
        match self {
            StateError::Path { problem, .. } => Some(problem.fix.clone()),
            StateError::TooNew { .. } => {
                Some("run the newer redeliver that wrote it, or point --state at another file".into())
            }
            // PostgreSQL state (issue 13).
            StateError::Postgres(super::postgres::PgError::TooNew { .. }) => {
                Some("run the newer redeliver that migrated it, or point --state at another database".into())
            }
            _ => None,
        }
    }

    /// `error`, or what is wrong with the path when that explains it.
    fn about_path(path: &Path, kind: Option<std::io::ErrorKind>, error: impl FnOnce() -> StateError) -> StateError {
        match diagnose(path, kind) {
            Some(problem) => StateError::Path { path: path.to_path_buf(), problem },
            None => error(),
        }
    }
}

/// Where a redelivery request recorded in the ledger stands: `sending` until GitHub's answer
/// is written down, then what GitHub answered. Stored (and shown by `history --json`) as
/// `sending`, `accepted`, `refused` or `ambiguous`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RedeliveryState {
    /// Written before the POST; left as is only if the process died before the answer.
    Sending,
    Accepted,
    Refused,
    /// 5xx or no answer: GitHub may or may not have acted; the next run sees from its record.
    Ambiguous,
    /// The request never reached GitHub, or GitHub said it did not act on it (rate limited,
    /// authentication refused, connection refused): it does not count against the cap.
    NotSent,
    /// Posted straight to the receiver by `redeliver replay`, not through GitHub; the detail
    /// holds the receiver's status code and the time it took.
    Replayed,
}

impl RedeliveryState {
    /// The name stored in the ledger and shown by `history`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sending => "sending",
            Self::Accepted => "accepted",
            Self::Refused => "refused",
            Self::Ambiguous => "ambiguous",
            Self::NotSent => "not_sent",
            Self::Replayed => "replayed",
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "accepted" => Self::Accepted,
            "refused" => Self::Refused,
            "ambiguous" => Self::Ambiguous,
            "not_sent" => Self::NotSent,
            "replayed" => Self::Replayed,
            _ => Self::Sending,
        }
    }
}

/// One redelivery request, as `redeliver history` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RedeliveryRecord {
    /// The ledger key of the target the request was for (`app:ID@host`, `repo:OWNER/REPO#ID@host`,
    /// `org:ORG#ID@host`); `target` in `history --json`.
    #[serde(rename = "target")]
    pub key: String,
    pub guid: String,
    pub delivery_id: u64,
    pub event: String,
    pub at: DateTime<Utc>,
    pub answer: RedeliveryState,
    /// GitHub's message for a refusal or the reason an answer is ambiguous.
    pub detail: Option<String>,
}

/// The newest schema: each target's listing `ETag` (schema 6, [`super::polls`]), after what
/// direct delivery owes (schema 5, [`super::owed`]) and the receiver's health (schema 4,
/// [`super::health`]).
const SCHEMA: i64 = super::polls::SCHEMA;

/// The SQLite backend of the [`Ledger`](super::Ledger) front. Inside the SQLite modules it keeps
/// the name `Ledger` (the alias below), so their statements read as they did before the front.
pub struct SqliteLedger {
    conn: Connection,
    path: PathBuf,
    /// The schema this file has: [`SCHEMA`] once opened for writing (migrated); an older one
    /// when opened read-only, where queries fall back to what that schema holds.
    version: i64,
}

pub(super) type Ledger = SqliteLedger;

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger").field("path", &self.path).finish()
    }
}

impl Ledger {
    /// Opens (creating and migrating) the state file for writing.
    pub fn open(path: &Path) -> Result<Self, StateError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            super::create_private_dir(dir).map_err(|source| {
                StateError::about_path(path, Some(source.kind()), || StateError::Folder {
                    path: path.to_path_buf(),
                    source,
                })
            })?;
        }
        // Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
        super::private_file_options().open(path).map_err(|source| {
            StateError::about_path(path, Some(source.kind()), || StateError::Create {
                path: path.to_path_buf(),
                source,
            })
        })?;
        let conn = Connection::open(path).map_err(|source| {
            StateError::about_path(path, None, || StateError::Open { path: path.to_path_buf(), source })
        })?;
        let mut ledger = Self { conn, path: path.to_path_buf(), version: 0 };
        ledger.sql(|c| {
            c.busy_timeout(std::time::Duration::from_secs(10))?;
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")
        })?;
        ledger.migrate()?;
        ledger.version = SCHEMA;
        Ok(ledger)
    }

    /// Opens an existing state file read-only (`--dry-run`, `history`, and the reading phase of
    /// a pass); `None` if there is none. A file of an older schema is read as it is (its stored
    /// time and what it knows of events), and migrated, data kept, by the next [`Ledger::open`].
    pub fn open_read_only(path: &Path) -> Result<Option<Self>, StateError> {
        if !path.exists() {
            return Ok(None);
        }
        let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(|source| {
            StateError::about_path(path, None, || StateError::Open { path: path.to_path_buf(), source })
        })?;
        let mut ledger = Self { conn, path: path.to_path_buf(), version: 0 };
        let version: i64 = ledger.sql(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))?;
        if version > SCHEMA {
            return Err(StateError::TooNew { path: path.to_path_buf(), found: version, known: SCHEMA });
        }
        // Version 0 is a file with no tables yet (created by an interrupted first open): no state.
        ledger.version = version;
        Ok((version >= 1).then_some(ledger))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The schema this file has (see [`Ledger::open_read_only`]).
    pub(super) fn version(&self) -> i64 {
        self.version
    }

    pub(super) fn sql<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T, StateError> {
        f(&self.conn).map_err(|source| StateError::Sql { path: self.path.clone(), source })
    }

    fn migrate(&self) -> Result<(), StateError> {
        let version: i64 = self.sql(|c| c.pragma_query_value(None, "user_version", |r| r.get(0)))?;
        if version > SCHEMA {
            return Err(StateError::TooNew { path: self.path.clone(), found: version, known: SCHEMA });
        }
        if version < 1 {
            self.sql(|c| {
                c.execute_batch(
                    "BEGIN;
                     CREATE TABLE watermarks (
                         target TEXT PRIMARY KEY,
                         at_ms INTEGER NOT NULL,
                         updated_ms INTEGER NOT NULL);
                     CREATE TABLE events (
                         target TEXT NOT NULL,
                         guid TEXT NOT NULL,
                         event TEXT NOT NULL,
                         first_seen_ms INTEGER NOT NULL,
                         sent INTEGER NOT NULL DEFAULT 0,
                         last_sent_ms INTEGER,
                         given_up_ms INTEGER,
                         given_up_reason TEXT,
                         PRIMARY KEY (target, guid));
                     CREATE TABLE redeliveries (
                         id INTEGER PRIMARY KEY AUTOINCREMENT,
                         target TEXT NOT NULL,
                         guid TEXT NOT NULL,
                         delivery_id INTEGER NOT NULL,
                         event TEXT NOT NULL,
                         at_ms INTEGER NOT NULL,
                         answer TEXT NOT NULL,
                         detail TEXT);
                     CREATE INDEX redeliveries_by_guid ON redeliveries (target, guid);
                     PRAGMA user_version = 1;
                     COMMIT;",
                )
            })?;
        }
        if version < 2 {
            // Pending events keep their history, so a pass lists only what is new.
            self.sql(|c| {
                c.execute_batch(
                    "BEGIN;
                     ALTER TABLE events ADD COLUMN action TEXT;
                     ALTER TABLE events ADD COLUMN attempts_seen INTEGER;
                     ALTER TABLE events ADD COLUMN newest_id INTEGER;
                     ALTER TABLE events ADD COLUMN newest_ms INTEGER;
                     ALTER TABLE events ADD COLUMN last_status_code INTEGER;
                     ALTER TABLE events ADD COLUMN last_status TEXT;
                     ALTER TABLE events ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
                     ALTER TABLE events ADD COLUMN resolved_ms INTEGER;
                     CREATE INDEX events_pending ON events (target, pending);
                     PRAGMA user_version = 2;
                     COMMIT;",
                )
            })?;
        }
        if version < super::archive::SCHEMA {
            self.sql(|c| c.execute_batch(super::archive::MIGRATION))?;
        }
        if version < super::health::SCHEMA {
            self.sql(super::health::migrate)?;
        }
        if version < super::owed::SCHEMA {
            self.sql(|c| c.execute_batch(super::owed::MIGRATION))?;
        }
        if version < super::polls::SCHEMA {
            self.sql(|c| c.execute_batch(super::polls::MIGRATION))?;
        }
        Ok(())
    }

    pub fn watermark(&self, key: &str) -> Result<Option<DateTime<Utc>>, StateError> {
        let ms: Option<i64> = self
            .sql(|c| c.query_row("SELECT at_ms FROM watermarks WHERE target = ?1", [key], |r| r.get(0)).optional())?;
        Ok(ms.and_then(DateTime::from_timestamp_millis))
    }

    pub fn set_watermark(&self, key: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO watermarks (target, at_ms, updated_ms) VALUES (?1, ?2, ?3)
                 ON CONFLICT (target) DO UPDATE SET at_ms = excluded.at_ms, updated_ms = excluded.updated_ms",
            )?
            .execute(params![key, at.timestamp_millis(), now.timestamp_millis()])
        })?;
        Ok(())
    }

    /// What the ledger knows of these events.
    pub fn memory<'a>(
        &self,
        key: &str,
        guids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Memory>, StateError> {
        self.sql(|c| {
            let mut stmt = c.prepare_cached(
                if self.version >= super::health::SCHEMA {
                    "SELECT sent, last_sent_ms, first_seen_ms, given_up_ms, resolved_ms, uncharged FROM events WHERE target = ?1 AND guid = ?2"
                } else if self.version >= 2 {
                    "SELECT sent, last_sent_ms, first_seen_ms, given_up_ms, resolved_ms, 0 FROM events WHERE target = ?1 AND guid = ?2"
                } else {
                    "SELECT sent, last_sent_ms, first_seen_ms, given_up_ms, NULL, 0 FROM events WHERE target = ?1 AND guid = ?2"
                },
            )?;
            let mut out = HashMap::new();
            for guid in guids {
                let row = stmt
                    .query_row(params![key, guid], |r| {
                        Ok(Memory {
                            sent: r.get(0)?,
                            last_sent_at: r.get::<_, Option<i64>>(1)?.and_then(DateTime::from_timestamp_millis),
                            first_seen_at: DateTime::from_timestamp_millis(r.get(2)?),
                            given_up: r.get::<_, Option<i64>>(3)?.is_some(),
                            resolved: r.get::<_, Option<i64>>(4)?.is_some(),
                            uncharged: r.get(5)?,
                        })
                    })
                    .optional()?;
                if let Some(m) = row {
                    out.insert(guid.to_string(), m);
                }
            }
            Ok(out)
        })
    }

    /// Writes a redelivery down before it is sent: it counts as sent from now on. Returns the
    /// row to complete with [`Ledger::complete`].
    pub fn begin_redelivery(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        let at_ms = at.timestamp_millis();
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            tx.prepare_cached("INSERT INTO events (target, guid, event, first_seen_ms, sent, last_sent_ms) VALUES (?1, ?2, ?3, ?4, 1, ?5)
                 ON CONFLICT (target, guid) DO UPDATE SET sent = sent + 1, last_sent_ms = excluded.last_sent_ms,
                     first_seen_ms = min(first_seen_ms, excluded.first_seen_ms)")?.execute(params![key, guid, event, first_seen.timestamp_millis(), at_ms])?;
            tx.prepare_cached("INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer) VALUES (?1, ?2, ?3, ?4, ?5, 'sending')")?.execute(params![key, guid, delivery_id as i64, event, at_ms])?;
            let row = tx.last_insert_rowid();
            tx.commit()?;
            Ok(row)
        })
    }

    /// Records GitHub's answer to a redelivery begun with [`Ledger::begin_redelivery`].
    pub fn complete(&self, row: i64, answer: RedeliveryState, detail: Option<&str>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached("UPDATE redeliveries SET answer = ?2, detail = ?3 WHERE id = ?1")?.execute(params![
                row,
                answer.as_str(),
                detail
            ])
        })?;
        Ok(())
    }

    /// Takes back a redelivery begun with [`Ledger::begin_redelivery`] that GitHub never acted
    /// on (the request was not sent, or was refused before GitHub looked at it: rate limited,
    /// unauthorized, connection refused): it stays in the audit history as `not_sent` and no
    /// longer counts as sent, so it costs the event no rung of its ladder.
    pub fn withdraw(&self, row: i64, detail: Option<&str>) -> Result<(), StateError> {
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            let key: Option<(String, String)> = tx
                .query_row("SELECT target, guid FROM redeliveries WHERE id = ?1 AND answer = 'sending'", [row], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .optional()?;
            if let Some((target, guid)) = key {
                tx.execute(
                    "UPDATE redeliveries SET answer = 'not_sent', detail = ?2 WHERE id = ?1",
                    params![row, detail],
                )?;
                tx.execute(
                    "UPDATE events SET sent = max(sent - 1, 0),
                         last_sent_ms = (SELECT max(at_ms) FROM redeliveries
                                         WHERE target = ?1 AND guid = ?2 AND answer != 'not_sent')
                     WHERE target = ?1 AND guid = ?2",
                    params![target, guid],
                )?;
            }
            tx.commit()
        })
    }

    /// Remembers that a listing showed the event succeeded, until the horizon: a later failed
    /// attempt of it (a manual redelivery) never makes it owed again.
    pub fn remember_resolved(&self, target: &str, h: &GuidHistory, at: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO events (target, guid, event, action, first_seen_ms, pending, resolved_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, 0, ?6)
                 ON CONFLICT (target, guid) DO UPDATE SET pending = 0,
                     first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
                     resolved_ms = coalesce(resolved_ms, excluded.resolved_ms)",
            )?
            .execute(params![
                target,
                h.guid,
                h.event,
                h.action,
                h.oldest_at.timestamp_millis(),
                at.timestamp_millis()
            ])
        })?;
        Ok(())
    }

    /// Forgets what can no longer matter for `target`, so the file stays bounded however long it
    /// runs: events whose every attempt is older than any window a pass reads (first attempt +
    /// horizon for the last redelivery GitHub accepts, + horizon + a day for the window's floor),
    /// so no listing brings them back and GitHub could not redeliver them anyway; and audit rows
    /// of redeliveries older than `keep_history` (`redeliver history` reads them). Events still
    /// marked pending go too past that bound: only an event no pass may act on (one every run
    /// filters out) stays pending past its horizon, and nothing can be done for it any more.
    /// Returns the rows deleted (events, redeliveries).
    pub fn prune(
        &self,
        target: &str,
        now: DateTime<Utc>,
        horizon: chrono::Duration,
        keep_history: chrono::Duration,
    ) -> Result<(usize, usize), StateError> {
        // The last redelivery of an event is sent before first + horizon, and a pass reads back
        // to horizon + a day: past both, no attempt of it is ever read again.
        let events_before = now
            .checked_sub_signed(horizon)
            .and_then(|t| t.checked_sub_signed(horizon))
            .and_then(|t| t.checked_sub_signed(chrono::Duration::days(1)))
            .map_or(i64::MIN, |t| t.timestamp_millis());
        let history_before = now.checked_sub_signed(keep_history).map_or(i64::MIN, |t| t.timestamp_millis());
        self.sql(|c| {
            let events = c
                .prepare_cached("DELETE FROM events WHERE target = ?1 AND first_seen_ms < ?2")?
                .execute(params![target, events_before])?;
            let rows = c
                .prepare_cached("DELETE FROM redeliveries WHERE target = ?1 AND at_ms < ?2 AND answer != 'sending'")?
                .execute(params![target, history_before])?;
            Ok((events, rows))
        })
    }

    /// Merges a ledger carried between runs (the Actions-variable store) into this one: what
    /// either knows wins (more sends, the later send, the earlier first attempt, given up or
    /// resolved once either says so).
    pub fn import_carried(&self, target: &str, carried: &Carried) -> Result<(), StateError> {
        self.sql(|c| {
            let tx = c.unchecked_transaction()?;
            {
                let mut stmt = tx.prepare_cached(
                    "INSERT INTO events (target, guid, event, first_seen_ms, sent, last_sent_ms, given_up_ms,
                                         given_up_reason, resolved_ms, pending, uncharged)
                     VALUES (?1, ?2, '', ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)
                     ON CONFLICT (target, guid) DO UPDATE SET
                         sent = max(sent, excluded.sent),
                         uncharged = max(uncharged, excluded.uncharged),
                         last_sent_ms = max(coalesce(last_sent_ms, 0), coalesce(excluded.last_sent_ms, 0)),
                         first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
                         given_up_ms = coalesce(given_up_ms, excluded.given_up_ms),
                         given_up_reason = coalesce(given_up_reason, excluded.given_up_reason),
                         resolved_ms = coalesce(resolved_ms, excluded.resolved_ms),
                         pending = pending AND excluded.given_up_ms IS NULL AND excluded.resolved_ms IS NULL",
                )?;
                for (guid, e) in &carried.events {
                    let first = e.first_seen_at.timestamp_millis();
                    let (given_up, reason, resolved) = match e.state {
                        CarriedState::Pending => (None, None, None),
                        CarriedState::GivenUp => (Some(first), Some("carried"), None),
                        CarriedState::Resolved => (None, None, Some(first)),
                    };
                    let last = e.last_sent_at.map(|t| t.timestamp_millis());
                    stmt.execute(params![target, guid, first, e.sent, last, given_up, reason, resolved, e.uncharged])?;
                }
            }
            // The rungs an outage may still refund come back as rows, so `refund_outage` finds
            // them as it finds this ledger's own. Only those this ledger does not hold already
            // (a persistent ledger that also carries: matched to the second, as carried).
            for (guid, e) in &carried.events {
                for (at, n) in e.rungs_per_second() {
                    let held: i64 = tx
                        .prepare_cached(
                            "SELECT count(*) FROM redeliveries WHERE target = ?1 AND guid = ?2 AND at_ms / 1000 = ?3
                             AND kind IN ('ladder', 'refunded') AND answer IN ('accepted', 'ambiguous')",
                        )?
                        .query_row(params![target, guid, at], |r| r.get(0))?;
                    for _ in held..n {
                        tx.prepare_cached(
                            "INSERT INTO redeliveries (target, guid, delivery_id, event, at_ms, answer, detail, kind)
                             VALUES (?1, ?2, 0, '', ?3, 'accepted', ?4, 'ladder')",
                        )?
                        .execute(params![target, guid, at * 1000, CARRIED_RUNG])?;
                    }
                }
            }
            tx.commit()
        })?;
        // The receiver's health: the runner's ledger is fresh, so what was carried is all it knows.
        match (&carried.receiver, self.receiver(target)?) {
            (Some(r), None) => self.set_receiver(target, r, chrono::Utc::now()),
            _ => Ok(()),
        }
    }

    /// What this ledger knows of `target`'s events, to carry to the next run.
    pub fn export_carried(&self, target: &str) -> Result<Carried, StateError> {
        self.sql(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT guid, sent, last_sent_ms, first_seen_ms, given_up_ms, resolved_ms, uncharged FROM events
                 WHERE target = ?1 AND (sent > 0 OR uncharged > 0 OR given_up_ms IS NOT NULL OR resolved_ms IS NOT NULL
                     OR pending = 1)",
            )?;
            let rows = stmt.query_map([target], |r| {
                let state = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?) {
                    (Some(_), _) => CarriedState::GivenUp,
                    (None, Some(_)) => CarriedState::Resolved,
                    (None, None) => CarriedState::Pending,
                };
                let ms = |v: i64| DateTime::from_timestamp_millis(v).unwrap_or_default();
                Ok((
                    r.get::<_, String>(0)?,
                    CarriedEvent {
                        sent: r.get(1)?,
                        last_sent_at: r.get::<_, Option<i64>>(2)?.filter(|v| *v > 0).map(ms),
                        first_seen_at: ms(r.get(3)?),
                        state,
                        uncharged: r.get(6)?,
                        rungs: Vec::new(),
                    },
                ))
            })?;
            let mut events: BTreeMap<String, CarriedEvent> = rows.collect::<Result<_, _>>()?;
            let mut stmt = c.prepare_cached(
                "SELECT guid, at_ms FROM redeliveries WHERE target = ?1 AND kind = 'ladder'
                 AND answer IN ('accepted', 'ambiguous') ORDER BY at_ms, id",
            )?;
            let rungs = stmt.query_map([target], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for rung in rungs {
                let (guid, at) = rung?;
                if let (Some(e), Some(at)) = (events.get_mut(&guid), DateTime::from_timestamp(at.div_euclid(1000), 0)) {
                    e.rungs.push(at);
                }
            }
            Ok(Carried { events, receiver: None })
        })
        .and_then(|carried| Ok(Carried { receiver: self.receiver(target)?, ..carried }))
    }

    /// Marks an event given up, so it is reported once and never retried.
    pub fn give_up(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        reason: GiveUpReason,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        let reason = match reason {
            GiveUpReason::Cap => "cap",
            GiveUpReason::Horizon => "horizon",
            GiveUpReason::Outage => "outage",
        };
        self.sql(|c| {
            c.prepare_cached("INSERT INTO events (target, guid, event, first_seen_ms, given_up_ms, given_up_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (target, guid) DO UPDATE SET given_up_ms = excluded.given_up_ms, given_up_reason = excluded.given_up_reason, pending = 0")?.execute(params![key, guid, event, first_seen.timestamp_millis(), at.timestamp_millis(), reason])
        })?;
        Ok(())
    }

    /// Remembers a failed event as still owed a redelivery, with what is known of its attempts.
    pub fn remember_pending(&self, key: &str, h: &GuidHistory, first_seen: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached(
                "INSERT INTO events (target, guid, event, action, first_seen_ms, attempts_seen, newest_id, newest_ms,
                                     last_status_code, last_status, pending)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 1)
                 ON CONFLICT (target, guid) DO UPDATE SET event = excluded.event, action = excluded.action,
                     first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),
                     attempts_seen = max(coalesce(attempts_seen, 0), excluded.attempts_seen),
                     newest_id = excluded.newest_id, newest_ms = excluded.newest_ms,
                     last_status_code = excluded.last_status_code, last_status = excluded.last_status,
                     pending = (given_up_ms IS NULL AND resolved_ms IS NULL)",
            )?
            .execute(params![
                key,
                h.guid,
                h.event,
                h.action,
                first_seen.min(h.oldest_at).timestamp_millis(),
                h.attempts,
                h.newest_id as i64,
                h.newest_at.timestamp_millis(),
                h.last_status_code,
                h.last_status
            ])
        })?;
        Ok(())
    }

    /// Marks a pending event as delivered: a redelivery got through.
    pub fn resolve(&self, key: &str, guid: &str, at: DateTime<Utc>) -> Result<(), StateError> {
        self.sql(|c| {
            c.prepare_cached("UPDATE events SET pending = 0, resolved_ms = ?3 WHERE target = ?1 AND guid = ?2")?
                .execute(params![key, guid, at.timestamp_millis()])
        })?;
        Ok(())
    }

    /// The events under `key` still owed a redelivery, as the listing last showed them.
    pub fn pending(&self, key: &str) -> Result<Vec<GuidHistory>, StateError> {
        if self.version < 2 {
            // Schema 1 kept no listing history: the stored time alone keeps those events in view.
            return Ok(Vec::new());
        }
        self.sql(|c| {
            let mut stmt = c.prepare_cached(
                "SELECT guid, event, action, attempts_seen, newest_id, newest_ms, first_seen_ms, last_status_code, last_status
                 FROM events WHERE target = ?1 AND pending = 1 AND newest_id IS NOT NULL ORDER BY first_seen_ms",
            )?;
            let rows = stmt.query_map([key], |r| {
                let ms = |i| r.get::<_, i64>(i).map(|v| DateTime::from_timestamp_millis(v).unwrap_or_default());
                Ok(GuidHistory {
                    guid: r.get(0)?,
                    event: r.get(1)?,
                    action: r.get(2)?,
                    attempts: r.get::<_, Option<u32>>(3)?.unwrap_or(1),
                    succeeded: false,
                    newest_id: r.get::<_, i64>(4)? as u64,
                    newest_at: ms(5)?,
                    oldest_at: ms(6)?,
                    last_status_code: r.get::<_, Option<i64>>(7)?.unwrap_or_default(),
                    last_status: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
                    original_seen: true,
                })
            })?;
            rows.collect()
        })
    }

    /// Redelivery requests, newest first, optionally for one ledger key or one event.
    pub fn history(
        &self,
        key: Option<&str>,
        guid: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RedeliveryRecord>, StateError> {
        self.sql(|c| {
            let mut stmt = c.prepare(
                "SELECT target, guid, delivery_id, event, at_ms, answer, detail FROM redeliveries
                 WHERE (?1 IS NULL OR target = ?1) AND (?2 IS NULL OR guid = ?2)
                 ORDER BY at_ms DESC, id DESC LIMIT ?3",
            )?;
            let rows = stmt.query_map(params![key, guid, limit as i64], |r| {
                Ok(RedeliveryRecord {
                    key: r.get(0)?,
                    guid: r.get(1)?,
                    delivery_id: r.get::<_, i64>(2)? as u64,
                    event: r.get(3)?,
                    at: DateTime::from_timestamp_millis(r.get(4)?).unwrap_or_default(),
                    answer: RedeliveryState::parse(&r.get::<_, String>(5)?),
                    detail: r.get(6)?,
                })
            })?;
            rows.collect()
        })
    }
}

#[cfg(test)]
#[path = "ledger_tests.rs"]
mod tests;

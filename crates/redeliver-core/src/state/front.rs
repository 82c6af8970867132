//! The ledger as its callers see it: one API over two backends, the SQLite file (the default)
//! and a PostgreSQL database that several replicas share (issue 13). Every method means the
//! same on both; the statements live in `ledger.rs`/`archive.rs` (SQLite) and `postgres/`.

use super::archive::{ArchiveLimits, Archived, ArchivedRecord, HookConfigRecord};
use super::carry::Carried;
use super::health::RedeliveryKind;
use super::ledger::{RedeliveryRecord, RedeliveryState, SqliteLedger, StateError};
use super::owed::{Owed, OwedCounts};
use super::postgres::tls::PgTlsEnv;
use super::postgres::{PgLedger, PgLocation};
use crate::health::Receiver;
use crate::plan::{GiveUpReason, GuidHistory, Memory};
use crate::secret::Secret;
use chrono::{DateTime, Utc};
use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Where the state lives: `--state PATH` (SQLite) or `--state postgres://…`.
#[derive(Debug, Clone)]
pub enum StateLocation {
    File(PathBuf),
    Postgres(PgLocation),
}

impl StateLocation {
    /// `state` is a path, or a `postgres://` URL whose password (when it carries none) is
    /// `password`.
    pub fn parse(state: &Path, password: Option<&Secret>) -> Result<Self, StateError> {
        Self::parse_with(state, password, &PgTlsEnv::default())
    }

    /// [`StateLocation::parse`], a URL's TLS parameters over libpq's variables in `tls`
    /// (`PGSSLMODE`, `PGSSLROOTCERT`).
    pub fn parse_with(state: &Path, password: Option<&Secret>, tls: &PgTlsEnv) -> Result<Self, StateError> {
        match state.to_str().filter(|s| PgLocation::is_url(s)) {
            Some(url) => Ok(Self::Postgres(PgLocation::parse_with(url, password, tls)?)),
            None => Ok(Self::File(state.to_path_buf())),
        }
    }

    /// What `--json`, logs and the status page call it (never a password).
    pub fn describe(&self) -> String {
        match self {
            Self::File(path) => format!("SQLite {}", path.display()),
            Self::Postgres(at) => format!("PostgreSQL {}", at.shown()),
        }
    }

    /// The file's path, or the database's URL without its password.
    pub fn shown(&self) -> String {
        match self {
            Self::File(path) => path.display().to_string(),
            Self::Postgres(at) => at.shown().to_string(),
        }
    }

    /// The SQLite file, when the state is one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Self::File(path) => Some(path),
            Self::Postgres(_) => None,
        }
    }
}

/// What [`Ledger::open`] accepts: a path (or a URL written as one, with no password apart), or
/// a parsed [`StateLocation`].
pub trait Locate {
    fn locate(&self) -> Result<Cow<'_, StateLocation>, StateError>;
}

impl Locate for Path {
    fn locate(&self) -> Result<Cow<'_, StateLocation>, StateError> {
        StateLocation::parse(self, None).map(Cow::Owned)
    }
}

impl Locate for PathBuf {
    fn locate(&self) -> Result<Cow<'_, StateLocation>, StateError> {
        self.as_path().locate()
    }
}

impl Locate for StateLocation {
    fn locate(&self) -> Result<Cow<'_, StateLocation>, StateError> {
        Ok(Cow::Borrowed(self))
    }
}

enum Backend {
    Sqlite(SqliteLedger),
    /// Boxed: a connection is large next to the SQLite handle.
    Postgres(Box<PgLedger>),
}

/// The ledger (see the SQLite ledger's documentation for what each method keeps and why).
pub struct Ledger(Backend);

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Backend::Sqlite(l) => l.fmt(f),
            Backend::Postgres(l) => l.fmt(f),
        }
    }
}

/// Calls the same method on either backend; PostgreSQL's errors become [`StateError`]s.
macro_rules! both {
    ($self:ident, $l:ident => $call:expr) => {
        match &$self.0 {
            Backend::Sqlite($l) => $call,
            Backend::Postgres($l) => $call.map_err(StateError::from),
        }
    };
}

impl Ledger {
    /// Opens (creating and migrating) the state for writing.
    pub fn open(at: &(impl Locate + ?Sized)) -> Result<Self, StateError> {
        Ok(Self(match at.locate()?.as_ref() {
            StateLocation::File(path) => Backend::Sqlite(SqliteLedger::open(path)?),
            StateLocation::Postgres(at) => Backend::Postgres(Box::new(PgLedger::open(at)?)),
        }))
    }

    /// Opens existing state read-only; `None` if there is none yet.
    pub fn open_read_only(at: &(impl Locate + ?Sized)) -> Result<Option<Self>, StateError> {
        Ok(match at.locate()?.as_ref() {
            StateLocation::File(path) => SqliteLedger::open_read_only(path)?.map(|l| Self(Backend::Sqlite(l))),
            StateLocation::Postgres(at) => PgLedger::open_read_only(at)?.map(|l| Self(Backend::Postgres(Box::new(l)))),
        })
    }

    /// The PostgreSQL backend, for what only it has (leases, the fleet).
    pub fn postgres(&self) -> Option<&PgLedger> {
        match &self.0 {
            Backend::Postgres(l) => Some(l),
            Backend::Sqlite(_) => None,
        }
    }

    pub fn watermark(&self, key: &str) -> Result<Option<DateTime<Utc>>, StateError> {
        both!(self, l => l.watermark(key))
    }

    pub fn set_watermark(&self, key: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.set_watermark(key, at, now))
    }

    pub fn memory<'a>(
        &self,
        key: &str,
        guids: impl IntoIterator<Item = &'a str>,
    ) -> Result<HashMap<String, Memory>, StateError> {
        both!(self, l => l.memory(key, guids))
    }

    /// Writes a redelivery down before it is sent (fenced on the target's lease on PostgreSQL).
    pub fn begin_redelivery(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        both!(self, l => l.begin_redelivery(key, guid, event, delivery_id, first_seen, at))
    }

    pub fn complete(&self, row: i64, answer: RedeliveryState, detail: Option<&str>) -> Result<(), StateError> {
        both!(self, l => l.complete(row, answer, detail))
    }

    pub fn withdraw(&self, row: i64, detail: Option<&str>) -> Result<(), StateError> {
        both!(self, l => l.withdraw(row, detail))
    }

    pub fn remember_resolved(&self, target: &str, h: &GuidHistory, at: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.remember_resolved(target, h, at))
    }

    pub fn prune(
        &self,
        target: &str,
        now: DateTime<Utc>,
        horizon: chrono::Duration,
        keep_history: chrono::Duration,
    ) -> Result<(usize, usize), StateError> {
        both!(self, l => l.prune(target, now, horizon, keep_history))
    }

    pub fn import_carried(&self, target: &str, carried: &Carried) -> Result<(), StateError> {
        both!(self, l => l.import_carried(target, carried))
    }

    pub fn export_carried(&self, target: &str) -> Result<Carried, StateError> {
        both!(self, l => l.export_carried(target))
    }

    pub fn give_up(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        reason: GiveUpReason,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        both!(self, l => l.give_up(key, guid, event, reason, first_seen, at))
    }

    pub fn remember_pending(&self, key: &str, h: &GuidHistory, first_seen: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.remember_pending(key, h, first_seen))
    }

    pub fn resolve(&self, key: &str, guid: &str, at: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.resolve(key, guid, at))
    }

    pub fn pending(&self, key: &str) -> Result<Vec<GuidHistory>, StateError> {
        both!(self, l => l.pending(key))
    }

    pub fn history(
        &self,
        key: Option<&str>,
        guid: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RedeliveryRecord>, StateError> {
        both!(self, l => l.history(key, guid, limit))
    }

    pub fn is_archived(&self, key: &str, guid: &str) -> Result<bool, StateError> {
        both!(self, l => l.is_archived(key, guid))
    }

    pub fn archive(
        &self,
        key: &str,
        record: &ArchivedRecord,
        limits: ArchiveLimits,
        now: DateTime<Utc>,
    ) -> Result<Archived, StateError> {
        both!(self, l => l.archive(key, record, limits, now))
    }

    pub fn prune_archive(&self, max_total: u64) -> Result<u64, StateError> {
        both!(self, l => l.prune_archive(max_total))
    }

    pub fn archive_size(&self) -> Result<u64, StateError> {
        both!(self, l => l.archive_size())
    }

    pub fn begin_replay(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        both!(self, l => l.begin_replay(key, guid, event, delivery_id, at))
    }

    pub fn set_hook_config(&self, key: &str, config: &HookConfigRecord, now: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.set_hook_config(key, config, now))
    }

    pub fn archived(&self, max_payload: Option<u64>) -> Result<Vec<ArchivedRecord>, StateError> {
        both!(self, l => l.archived(max_payload))
    }

    // Events owed a direct delivery (issue 12: state/owed.rs).

    pub fn owe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StateError> {
        both!(self, l => l.owe(key, guid, event, delivery_id, reason, now))
    }

    pub fn resolve_delivered(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<(), StateError> {
        both!(self, l => l.resolve_delivered(key, guid, event, first_seen, at))
    }

    pub fn given_up_reason(&self, key: &str, guid: &str) -> Result<Option<String>, StateError> {
        both!(self, l => l.given_up_reason(key, guid))
    }

    pub fn is_owed(&self, key: &str, guid: &str) -> Result<bool, StateError> {
        both!(self, l => l.is_owed(key, guid))
    }

    pub fn owed_due(&self, key: &str, now: DateTime<Utc>, limit: usize) -> Result<Vec<Owed>, StateError> {
        both!(self, l => l.owed_due(key, now, limit))
    }

    pub fn owed_sending(&self, key: &str, guid: &str) -> Result<(), StateError> {
        both!(self, l => l.owed_sending(key, guid))
    }

    pub fn owed_delivered(&self, key: &str, guid: &str, now: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.owed_delivered(key, guid, now))
    }

    pub fn owed_retry(&self, key: &str, guid: &str, next: DateTime<Utc>, error: &str) -> Result<(), StateError> {
        both!(self, l => l.owed_retry(key, guid, next, error))
    }

    pub fn owed_counts(&self, key: &str) -> Result<OwedCounts, StateError> {
        both!(self, l => l.owed_counts(key))
    }

    pub fn prune_owed(&self, key: &str, before: DateTime<Utc>) -> Result<usize, StateError> {
        both!(self, l => l.prune_owed(key, before))
    }

    pub fn archived_one(&self, key: &str, guid: &str) -> Result<Option<ArchivedRecord>, StateError> {
        both!(self, l => l.archived_one(key, guid))
    }

    pub fn has_hook_config(&self, key: &str) -> Result<bool, StateError> {
        both!(self, l => l.has_hook_config(key))
    }

    // The receiver's health (issue 11: state/health.rs).

    pub fn receiver(&self, key: &str) -> Result<Option<Receiver>, StateError> {
        both!(self, l => l.receiver(key))
    }

    pub fn set_receiver(&self, key: &str, r: &Receiver, now: DateTime<Utc>) -> Result<(), StateError> {
        both!(self, l => l.set_receiver(key, r, now))
    }

    /// Writes a canary down before it is sent (fenced on the target's lease on PostgreSQL, as
    /// [`Ledger::begin_redelivery`]: a canary is a POST too).
    pub fn begin_probe(
        &self,
        key: &str,
        guid: &str,
        event: &str,
        delivery_id: u64,
        first_seen: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Result<i64, StateError> {
        both!(self, l => l.begin_probe(key, guid, event, delivery_id, first_seen, at))
    }

    pub fn withdraw_probe(&self, row: i64, answer: &str, detail: Option<&str>) -> Result<(), StateError> {
        both!(self, l => l.withdraw_probe(row, answer, detail))
    }

    pub fn refund_outage(&self, key: &str, since: DateTime<Utc>) -> Result<usize, StateError> {
        both!(self, l => l.refund_outage(key, since))
    }

    /// Every redelivery request made for `key`, oldest first, with its kind (ladder, canary,
    /// refunded): read by the checker to tell which attempts are charged to an event's ladder.
    pub fn redelivery_kinds(&self, key: &str) -> Result<Vec<(RedeliveryRecord, RedeliveryKind)>, StateError> {
        both!(self, l => l.redelivery_kinds(key))
    }

    pub fn outage_tally(
        &self,
        key: &str,
        since: DateTime<Utc>,
        before: DateTime<Utc>,
    ) -> Result<(u64, u64), StateError> {
        both!(self, l => l.outage_tally(key, since, before))
    }

    /// The listing `ETag` kept for `key` (issue 14). Kept in the SQLite file only, for the
    /// `watch` that holds its lock: on PostgreSQL a target changes hands between replicas, and
    /// each replica learns the `ETag` again from one full listing (docs/ha.md).
    pub fn listing_etag(&self, key: &str) -> Result<Option<String>, StateError> {
        match &self.0 {
            Backend::Sqlite(l) => l.listing_etag(key),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// Keeps `etag` for `key` in the SQLite file (see [`Ledger::listing_etag`]); on PostgreSQL
    /// nothing is kept.
    pub fn set_listing_etag(&self, key: &str, etag: Option<&str>, now: DateTime<Utc>) -> Result<(), StateError> {
        match &self.0 {
            Backend::Sqlite(l) => l.set_listing_etag(key, etag, now),
            Backend::Postgres(_) => Ok(()),
        }
    }
}

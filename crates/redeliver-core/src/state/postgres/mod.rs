//! The PostgreSQL backend of the ledger (issue 13): the same tables and the same semantics as
//! the SQLite file, on a database several `watch` replicas share, with the leases that give each
//! target one owner at a time ([`lease`]) and the fenced write that precedes every POST.
//!
//! The client is the synchronous `postgres` crate, so the ledger keeps one blocking API over both
//! backends (docs/design.md, "PostgreSQL state"). It runs its own small runtime, which must not
//! be entered from a tokio worker: every call goes through [`blocking`], which steps off the
//! runtime (`block_in_place` on a multi-threaded one, a scoped thread on a current-thread one).

mod archive;
pub mod discovery;
mod health;
pub mod lease;
mod ledger;
mod location;
mod owed;
mod schema;
#[doc(hidden)]
pub mod testing;
pub mod tls;

#[cfg(test)]
mod discovery_tests;
#[cfg(test)]
mod lease_tests;

pub use location::PgLocation;

use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum PgError {
    #[error("cannot connect to the PostgreSQL state {at}: {detail}")]
    Connect { at: String, detail: String },
    #[error("PostgreSQL state {at}: {detail}")]
    Sql {
        at: String,
        detail: String,
        /// The connection is gone (the server stopped, the network cut): reconnect.
        closed: bool,
    },
    #[error("the PostgreSQL state {at} was written by a newer redeliver (schema {found}, this one knows {known})")]
    TooNew { at: String, found: i64, known: i64 },
    #[error("the PostgreSQL state URL {shown} is not valid: {reason}")]
    Url { shown: String, reason: String },
    /// A TLS setting that cannot be honoured (docs/ha.md, "TLS to PostgreSQL").
    #[error("PostgreSQL state {at}: {reason}")]
    Tls { at: String, reason: String },
    #[error(
        "PostgreSQL state {at}: this replica no longer holds the lease of {target} (epoch {epoch}); \
         another one acts on it now, so this one sends nothing for it"
    )]
    Fenced { at: String, target: String, epoch: i64 },
}

impl PgError {
    /// Whether the database could not be reached (rather than refusing a statement): the
    /// daemon's health names the database and it reconnects.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Connect { .. } | Self::Sql { closed: true, .. })
    }
}

/// Words for a driver error: the server's own message when it sent one (the driver's `Display`
/// says only "db error"), else the driver's text and its cause. Never the URL or the password.
pub(crate) fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{}: {} ({})", db.severity(), db.message(), db.code().code());
    }
    match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    }
}

/// Runs `f`, which blocks on the driver's own runtime, without blocking a tokio worker and
/// without entering a runtime from inside one.
pub(crate) fn blocking<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        Ok(_) => std::thread::scope(|s| match s.spawn(f).join() {
            Ok(v) => v,
            Err(panic) => std::panic::resume_unwind(panic),
        }),
        Err(_) => f(),
    }
}

/// One connection to the state database, with the leases this process holds (their epochs
/// fence its writes).
pub struct PgLedger {
    client: Mutex<Option<postgres::Client>>,
    at: PgLocation,
    /// Target → the epoch of the lease this process holds on it: [`PgLedger::begin_redelivery`]
    /// for that target commits only while that epoch is current.
    fences: Mutex<std::collections::HashMap<String, (String, i64, i64)>>,
}

impl std::fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgLedger").field("at", &self.at.shown()).finish()
    }
}

impl Drop for PgLedger {
    fn drop(&mut self) {
        // The driver's close blocks on its runtime: off the tokio worker, as every call.
        if let Some(client) = self.client.get_mut().ok().and_then(Option::take) {
            blocking(move || drop(client));
        }
    }
}

impl PgLedger {
    /// Connects and applies the migrations this database lacks.
    pub fn open(at: &PgLocation) -> Result<Self, PgError> {
        let ledger = Self::connect(at)?;
        ledger.run(schema::migrate)?;
        Ok(ledger)
    }

    /// Connects read-only: `None` when the database holds no ledger yet (or one of an older
    /// schema, which the next writable open migrates).
    pub fn open_read_only(at: &PgLocation) -> Result<Option<Self>, PgError> {
        let ledger = Self::connect(at)?;
        let version = ledger.run(schema::version)?;
        if version > schema::VERSION {
            return Err(PgError::TooNew { at: at.shown().to_string(), found: version, known: schema::VERSION });
        }
        if version < schema::VERSION {
            return Ok(None);
        }
        ledger.run(|c, shown| {
            c.batch_execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY").map_err(|e| sql(shown, &e))
        })?;
        Ok(Some(ledger))
    }

    fn connect(at: &PgLocation) -> Result<Self, PgError> {
        let client = blocking(|| at.connect())?;
        Ok(Self { client: Mutex::new(Some(client)), at: at.clone(), fences: Mutex::default() })
    }

    /// Where this ledger lives, without its password.
    pub fn shown(&self) -> &str {
        self.at.shown()
    }

    /// Runs `f` with the connection, off the runtime. A connection that died stays dead: the
    /// caller reopens (the daemon does on its next pass).
    pub(crate) fn run<T: Send>(
        &self,
        f: impl FnOnce(&mut postgres::Client, &str) -> Result<T, PgError> + Send,
    ) -> Result<T, PgError> {
        let shown = self.at.shown();
        let mut guard = self.client.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(client) = guard.as_mut() else {
            return Err(PgError::Sql {
                at: shown.to_string(),
                detail: "the connection is closed".into(),
                closed: true,
            });
        };
        blocking(|| f(client, shown))
    }

    /// Fences this connection's writes for `target` on the lease `(owner, epoch)`; each fenced
    /// write renews it for `ttl`.
    pub fn fence(&self, target: &str, owner: &str, epoch: i64, ttl: std::time::Duration) {
        let mut fences = self.fences.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        fences.insert(
            target.to_string(),
            (owner.to_string(), epoch, i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX).max(1)),
        );
    }

    pub(super) fn fence_of(&self, target: &str) -> Option<(String, i64, i64)> {
        self.fences.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(target).cloned()
    }
}

/// A statement's error, with where it happened.
pub(crate) fn sql(shown: &str, e: &postgres::Error) -> PgError {
    PgError::Sql { at: shown.to_string(), detail: describe(e), closed: e.is_closed() || is_io(e) }
}

/// Whether the error is the socket's (refused, reset, timed out) rather than the server's word.
fn is_io(e: &postgres::Error) -> bool {
    let mut cause = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.is::<std::io::Error>() {
            return true;
        }
        cause = c.source();
    }
    false
}

/// `.at(shown)`: a driver result with where it happened.
pub(crate) trait At<T> {
    fn at(self, shown: &str) -> Result<T, PgError>;
}

impl<T> At<T> for Result<T, postgres::Error> {
    fn at(self, shown: &str) -> Result<T, PgError> {
        self.map_err(|e| sql(shown, &e))
    }
}

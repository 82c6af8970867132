//! Where a PostgreSQL state lives: the `postgres://` URL parsed, its password (from the URL, or
//! given apart: `PGPASSWORD`, a password file) kept inside the driver's config, and the URL as
//! it may be shown (no password, ever) for errors, logs, `--json` and the status page; and how
//! its connections use TLS ([`super::tls`]: libpq's `sslmode` and `sslrootcert`).

use super::tls::{PgTlsEnv, SslMode, TlsOptions};
use super::{PgError, describe};
use crate::secret::Secret;
use std::time::Duration;

/// A parsed `postgres://` (or `postgresql://`) state URL.
#[derive(Clone)]
pub struct PgLocation {
    /// Boxed: the driver's config is large next to a path, and a location is moved about.
    config: Box<postgres::Config>,
    shown: String,
    tls: TlsOptions,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// How long a connection attempt may take before the database counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl PgLocation {
    /// Whether `state` names a PostgreSQL database rather than a SQLite file.
    pub fn is_url(state: &str) -> bool {
        state.starts_with("postgres://") || state.starts_with("postgresql://")
    }

    /// Parses the URL; `password` applies when the URL carries none. TLS as the URL alone says
    /// (see [`PgLocation::parse_with`]).
    pub fn parse(url: &str, password: Option<&Secret>) -> Result<Self, PgError> {
        Self::parse_with(url, password, &PgTlsEnv::default())
    }

    /// Parses the URL, its TLS parameters over `env`'s (libpq's precedence). A mode redeliver
    /// cannot honour, client certificates, or an `sslrootcert` that cannot be read or holds no
    /// certificate are errors here, before any connection.
    pub fn parse_with(url: &str, password: Option<&Secret>, env: &PgTlsEnv) -> Result<Self, PgError> {
        let (url, url_tls) = super::tls::take_params(url);
        let mut config: postgres::Config = url
            .parse()
            .map_err(|e: postgres::Error| PgError::Url { shown: "postgres://…".into(), reason: describe(&e) })?;
        if config.get_password().is_none()
            && let Some(p) = password
        {
            config.password(p.expose());
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("redeliver");
        }
        let shown = shown(&config);
        if config.get_hosts().is_empty() {
            return Err(PgError::Url { shown, reason: "it names no host".into() });
        }
        let tls = TlsOptions::resolve(url_tls, env).map_err(|reason| PgError::Tls { at: shown.clone(), reason })?;
        if let super::tls::Roots::File(path) = &tls.roots {
            super::tls::read_roots(path).map_err(|reason| PgError::Tls { at: shown.clone(), reason })?;
        }
        config.ssl_mode(match tls.mode {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => postgres::config::SslMode::Require,
        });
        Ok(Self { config: Box::new(config), shown, tls })
    }

    /// The URL without its password: `postgres://USER@HOST:PORT/DATABASE`.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The same database with `search_path` set to `schema` (tests give each case its own).
    pub fn with_schema(&self, schema: &str) -> Self {
        let mut config = self.config.clone();
        config.options(&format!("-c search_path={schema}"));
        Self { config, shown: format!("{} (schema {schema})", self.shown), tls: self.tls.clone() }
    }

    /// Opens a connection: TLS through rustls as its `sslmode` and `sslrootcert` say (the root file read
    /// again, so a rotated CA is picked up on reconnect); a refused certificate is explained.
    pub(super) fn connect(&self) -> Result<postgres::Client, PgError> {
        let at = || self.shown.clone();
        let connector = super::tls::connector(&self.tls).map_err(|detail| PgError::Connect { at: at(), detail })?;
        let connected = match connector {
            None => self.config.connect(postgres::NoTls),
            Some(tls) => self.config.connect(tls),
        };
        connected.map_err(|e| {
            let detail = super::tls::explain(&e, &self.tls, &host(&self.config)).unwrap_or_else(|| describe(&e));
            PgError::Connect { at: at(), detail }
        })
    }
}

fn host(c: &postgres::Config) -> String {
    use postgres::config::Host;
    match c.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => String::new(),
    }
}

fn shown(c: &postgres::Config) -> String {
    let host = host(c);
    let port = c.get_ports().first().map(|p| format!(":{p}")).unwrap_or_default();
    let user = c.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    let db = c.get_dbname().unwrap_or_default();
    format!("postgres://{user}{host}{port}/{db}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_never_shows() {
        let at = PgLocation::parse("postgres://app:hunter2@db.internal:5433/redeliver", None).unwrap();
        assert_eq!(at.shown(), "postgres://app@db.internal:5433/redeliver");
        assert!(!format!("{at:?}").contains("hunter2"));
        let apart = PgLocation::parse("postgresql://app@db/x", Some(&Secret::new("s3cret"))).unwrap();
        assert!(!format!("{apart:?} {}", apart.shown()).contains("s3cret"));
        assert_eq!(apart.config.get_password(), Some(&b"s3cret"[..]), "a password given apart applies");
        let err = PgLocation::parse("postgres://app:hunter2@db:notaport/x", None).unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(PgLocation::is_url("postgres://x") && !PgLocation::is_url("/var/lib/state.db"));
    }
}

//! The PostgreSQL server the tests use: `REDELIVER_TEST_POSTGRES`, by default the private
//! cluster `.ci/install-test-deps` starts on 127.0.0.1:54329. Tests fail, never skip, when it
//! cannot be reached: a backend that is not tested is not shipped.
//!
//! The server also accepts TLS, its certificate (for 127.0.0.1 and localhost) signed by the
//! CA `.ci/postgres-test-server` generates: [`ca`] is that CA's file.

use super::{PgError, PgLocation};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

/// The test server's URL when `REDELIVER_TEST_POSTGRES` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:54329/postgres";

/// The test server's URL.
pub fn url() -> String {
    std::env::var("REDELIVER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_string())
}

/// The test server's CA certificate: `REDELIVER_TEST_POSTGRES_CA`, else where the script puts
/// it for its default port. Panics, saying how to get it, when it cannot be read.
pub fn ca() -> PathBuf {
    let path = std::env::var_os("REDELIVER_TEST_POSTGRES_CA").map(PathBuf::from).unwrap_or_else(|| {
        let tmp = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/tmp"), PathBuf::from);
        tmp.join("redeliver-test-postgres-54329/ca.crt")
    });
    if let Err(e) = std::fs::metadata(&path) {
        panic!(
            "the PostgreSQL test server's CA {} cannot be read ({e}): run `.ci/postgres-test-server` \
             (it adds TLS to a cluster made before TLS was tested, with a reload), or point \
             REDELIVER_TEST_POSTGRES_CA at the CA of the server REDELIVER_TEST_POSTGRES names",
            path.display()
        );
    }
    path
}

/// The test server's URL naming it as `host` while connecting to its address (libpq's
/// `hostaddr`): a certificate's host name check sees `host`, the packets still go to 127.0.0.1.
pub fn url_as_host(host: &str) -> String {
    let url = url();
    let mut parsed = url::Url::parse(&url).unwrap_or_else(|e| panic!("REDELIVER_TEST_POSTGRES: {e}"));
    let addr = parsed.host_str().unwrap_or("127.0.0.1").to_string();
    parsed.set_host(Some(host)).unwrap_or_else(|e| panic!("{host}: {e}"));
    let sep = if parsed.query().is_some() { '&' } else { '?' };
    format!("{parsed}{sep}hostaddr={addr}")
}

/// Whether the session `at` opens is encrypted, as the server sees it (`pg_stat_ssl`).
pub fn session_encrypted(at: &PgLocation) -> Result<bool, PgError> {
    super::blocking(|| {
        let mut c = at.connect()?;
        let row = c
            .query_one("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &[])
            .map_err(|e| super::sql(at.shown(), &e))?;
        Ok(row.get::<_, bool>(0))
    })
}

/// A schema of its own on the test server, so tests running at once never see each other's
/// rows. Panics, saying how to start the server, when it cannot be reached.
pub fn fresh() -> PgLocation {
    let (url, schema) = fresh_schema();
    let at = PgLocation::parse(&url, None).unwrap_or_else(|e| panic!("REDELIVER_TEST_POSTGRES: {e}"));
    at.with_schema(&schema)
}

/// [`fresh`] as a URL for `--state` (the schema in its `options`).
pub fn fresh_url() -> String {
    let (url, schema) = fresh_schema();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// The test server's URL and a new, empty schema on it.
fn fresh_schema() -> (String, String) {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let url = url();
    let at = PgLocation::parse(&url, None).unwrap_or_else(|e| panic!("REDELIVER_TEST_POSTGRES: {e}"));
    let schema = format!("t{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), fastrand::u32(..));
    let created = super::blocking(|| {
        let mut c = at.connect()?;
        c.batch_execute(&format!("CREATE SCHEMA {schema}")).map_err(|e| super::sql(at.shown(), &e))
    });
    if let Err(e) = created {
        panic!(
            "the PostgreSQL test server is unreachable: {e}\n\
             start it with `.ci/install-test-deps` (a private cluster on 127.0.0.1:54329), \
             or point REDELIVER_TEST_POSTGRES at one"
        );
    }
    (url, schema)
}

// --- Databases of their own (the model-based checker, issue 13) ---

/// A new, empty database on the test server, named `{prefix}_{pid}_{n}_{random}`: its URL (the
/// test server's with that database) and its name, for [`drop_database`]. An error, rather
/// than a panic, when the server cannot be reached: the checker's binary reports it.
pub fn create_database(prefix: &str) -> Result<(String, String), super::PgError> {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let url = url();
    let at = PgLocation::parse(&url, None)?;
    let name =
        format!("{prefix}_{}_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed), fastrand::u32(..));
    super::blocking(|| {
        let mut c = at.connect()?;
        c.batch_execute(&format!("CREATE DATABASE {name}")).map_err(|e| super::sql(at.shown(), &e))
    })?;
    Ok((with_database(&url, &name), name))
}

/// Drops a database [`create_database`] made, and the connections still open on it (a replica
/// killed or frozen a moment ago).
pub fn drop_database(name: &str) -> Result<(), super::PgError> {
    let at = PgLocation::parse(&url(), None)?;
    super::blocking(|| {
        let mut c = at.connect()?;
        c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).map_err(|e| super::sql(at.shown(), &e))
    })
}

/// `url` with its database (the path) replaced by `name`, its query kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let authority_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_end..].find('/').map_or(base.len(), |i| authority_end + i);
    let mut out = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_database_replaces_the_url_s_path_and_keeps_its_query() {
        let with = super::with_database;
        assert_eq!(
            with("postgres://postgres@127.0.0.1:54329/postgres", "c1"),
            "postgres://postgres@127.0.0.1:54329/c1"
        );
        assert_eq!(with("postgres://u@h/db?sslmode=disable", "c2"), "postgres://u@h/c2?sslmode=disable");
        assert_eq!(with("postgresql://u@h:5432", "c3"), "postgresql://u@h:5432/c3");
    }
}

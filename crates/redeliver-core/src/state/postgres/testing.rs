//! The PostgreSQL server the tests use: `REDELIVER_TEST_POSTGRES`, by default the private
//! cluster `.ci/install-test-deps` starts on 127.0.0.1:54329. Tests fail, never skip, when it
//! cannot be reached: a backend that is not tested is not shipped.

use super::PgLocation;
use std::sync::atomic::{AtomicU64, Ordering};

/// The test server's URL when `REDELIVER_TEST_POSTGRES` is not set.
pub const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:54329/postgres";

/// The test server's URL.
pub fn url() -> String {
    std::env::var("REDELIVER_TEST_POSTGRES").unwrap_or_else(|_| DEFAULT_URL.to_string())
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

//! TLS to the PostgreSQL state with libpq's meaning (docs/ha.md, "TLS to PostgreSQL"): the URL's
//! `sslmode` and `sslrootcert` (over `PGSSLMODE` and `PGSSLROOTCERT`), which the driver does not
//! know (it has no `verify-ca`/`verify-full` and refuses `sslrootcert`), so they are taken out of
//! the URL here ([`options`]), turned into a rustls verifier ([`verify`]), and a refused
//! certificate is explained with its fix ([`explain`]).

mod explain;
mod options;
mod verify;

#[cfg(test)]
mod tests;

pub(crate) use explain::explain;
pub(crate) use options::take_params;
pub use options::{PgTlsEnv, Roots, SslMode, TlsOptions};
pub(crate) use verify::{connector, read_roots};

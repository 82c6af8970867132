//! libpq's TLS parameters, resolved with libpq's precedence (the URL over the environment) and
//! meaning (<https://www.postgresql.org/docs/current/libpq-ssl.html#LIBPQ-SSL-PROTECTION>):
//!
//! | `sslmode`     | encrypted | chain checked                   | host name checked |
//! |---------------|-----------|---------------------------------|-------------------|
//! | `disable`     | no        | —                               | —                 |
//! | `prefer` (default) | if the server offers it | only when a root certificate is given | no |
//! | `require`     | yes       | only when a root certificate is given | no          |
//! | `verify-ca`   | yes       | yes                             | no                |
//! | `verify-full` | yes       | yes                             | yes               |
//!
//! The roots are `sslrootcert` (a PEM file), else `~/.postgresql/root.crt` when it exists (as
//! libpq), else, for the verifying modes, the platform's trusted roots (libpq's
//! `sslrootcert=system`, which also makes `verify-full` the default and weaker modes an error).
//! Refused, never downgraded: `allow` (it tries clear text first) and client certificates
//! (`sslcert`, `sslkey`, `sslpassword`): redeliver authenticates with a password.

use std::path::PathBuf;

/// libpq's TLS variables as the environment sets them; a URL's own parameters win.
#[derive(Debug, Clone, Default)]
pub struct PgTlsEnv {
    /// `PGSSLMODE`.
    pub sslmode: Option<String>,
    /// `PGSSLROOTCERT`.
    pub sslrootcert: Option<String>,
    /// `PGSSLCERT` and `PGSSLKEY`: refused when set, as their URL twins are.
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
    /// libpq's default root certificate, `~/.postgresql/root.crt`: used when it exists and no
    /// `sslrootcert` is given.
    pub default_root_cert: Option<PathBuf>,
}

/// The modes redeliver honours (libpq's, `allow` aside).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Disable => "disable",
            Self::Prefer => "prefer",
            Self::Require => "require",
            Self::VerifyCa => "verify-ca",
            Self::VerifyFull => "verify-full",
        }
    }
}

/// Where trust in the server's certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// None given: `prefer` and `require` encrypt without checking; the verifying modes use the
    /// platform's roots.
    None,
    /// A PEM file of CA certificates (`sslrootcert=/path/ca.pem`).
    File(PathBuf),
    /// `sslrootcert=system`: the platform's trusted roots.
    System,
}

/// What a connection does about TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: SslMode,
    pub roots: Roots,
}

/// The TLS parameters a URL carried, taken out of it.
#[derive(Debug, Default)]
pub(crate) struct UrlTls {
    sslmode: Option<String>,
    sslrootcert: Option<String>,
    /// The first client-certificate parameter seen (`sslcert`, `sslkey`, `sslpassword`).
    client: Option<&'static str>,
}

/// Splits `url` into the URL the driver parses (the TLS parameters removed, every other one
/// kept as written) and those parameters, percent-decoded.
pub(crate) fn take_params(url: &str) -> (String, UrlTls) {
    let Some((base, query)) = url.split_once('?') else { return (url.to_string(), UrlTls::default()) };
    let mut tls = UrlTls::default();
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(key).as_str() {
            "sslmode" => tls.sslmode = Some(decode(value)),
            "sslrootcert" => tls.sslrootcert = Some(decode(value)),
            "sslcert" => tls.client = tls.client.or(Some("sslcert")),
            "sslkey" => tls.client = tls.client.or(Some("sslkey")),
            "sslpassword" => tls.client = tls.client.or(Some("sslpassword")),
            _ => kept.push(pair),
        }
    }
    let url = if kept.is_empty() { base.to_string() } else { format!("{base}?{}", kept.join("&")) };
    (url, tls)
}

/// Percent-decoding as the driver does it (`+` stays a `+`).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'?'));
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl TlsOptions {
    /// The URL's parameters over the environment's, with libpq's defaults; a mode or parameter
    /// redeliver cannot honour is an error that says what to use instead.
    pub(crate) fn resolve(url: UrlTls, env: &PgTlsEnv) -> Result<Self, String> {
        let client = url.client.map(|p| p.to_string()).or_else(|| {
            let set = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
            (set(&env.sslcert) || set(&env.sslkey)).then(|| "PGSSLCERT/PGSSLKEY".to_string())
        });
        if let Some(param) = client {
            return Err(format!(
                "{param}: client certificates are not supported; redeliver authenticates to PostgreSQL with \
                 a password (in the URL, PGPASSWORD or REDELIVER_STATE_PASSWORD_FILE), over TLS set by \
                 sslmode and sslrootcert"
            ));
        }
        let (mode_from, mode) = match (url.sslmode, env.sslmode.as_deref()) {
            (Some(m), _) => ("sslmode", Some(m)),
            (None, Some(m)) => ("PGSSLMODE", Some(m.to_string())),
            (None, None) => ("sslmode", None),
        };
        let mode = mode.map(|m| parse_mode(mode_from, m.trim())).transpose()?;
        let rootcert = url.sslrootcert.or_else(|| env.sslrootcert.clone()).filter(|r| !r.trim().is_empty());
        let roots = match rootcert.as_deref() {
            Some("system") => Roots::System,
            Some(path) => Roots::File(PathBuf::from(path)),
            None => env.default_root_cert.clone().filter(|p| p.is_file()).map_or(Roots::None, Roots::File),
        };
        let mode = mode.unwrap_or(if roots == Roots::System { SslMode::VerifyFull } else { SslMode::Prefer });
        if roots == Roots::System && mode != SslMode::VerifyFull && mode != SslMode::Disable {
            return Err(format!(
                "sslmode={} is too weak for sslrootcert=system (libpq refuses it too): use sslmode=verify-full",
                mode.as_str()
            ));
        }
        Ok(Self { mode, roots })
    }
}

fn parse_mode(from: &str, mode: &str) -> Result<SslMode, String> {
    Ok(match mode {
        "disable" => SslMode::Disable,
        "prefer" => SslMode::Prefer,
        "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        "allow" => {
            return Err(format!(
                "{from}=allow is not supported (it tries an unencrypted connection first): use \
                 {from}=verify-full with sslrootcert=/path/to/ca.pem (recommended), require to encrypt \
                 without checking the certificate, or disable for clear text"
            ));
        }
        other => {
            return Err(format!(
                "{from}={other} is not a mode redeliver knows: use disable, prefer, require, verify-ca or \
                 verify-full (recommended)"
            ));
        }
    })
}

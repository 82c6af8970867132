//! A refused TLS connection in words: why (unknown issuer, name mismatch, expired, no TLS on the
//! server) and the fix, naming the `sslmode`/`sslrootcert` to change. The URL itself is the
//! caller's to show (without its password); nothing here holds it.

use super::{Roots, SslMode, TlsOptions};
use rustls::CertificateError;
use std::error::Error;

/// The explanation of `e` when TLS refused the connection, `None` for any other failure.
pub(crate) fn explain(e: &postgres::Error, tls: &TlsOptions, host: &str) -> Option<String> {
    if let Some(rustls::Error::InvalidCertificate(c)) = rustls_error(e) {
        return Some(certificate(c, tls, host));
    }
    // The driver's words for an `N` to its TLS request, in the error's cause.
    let mut cause: Option<&(dyn Error + 'static)> = Some(e);
    let mut no_tls = false;
    for _ in 0..16 {
        let Some(c) = cause else { break };
        no_tls |= c.to_string().contains("server does not support TLS");
        cause = c.source();
    }
    no_tls.then(|| {
        format!(
            "the server does not accept TLS, which sslmode={} requires; enable TLS on the server \
             (ssl = on), or, on a trusted network only, connect in clear text with sslmode=disable",
            tls.mode.as_str()
        )
    })
}

/// The rustls error in `e`'s causes (tokio-rustls hands it over inside an `io::Error`, whose
/// `source` skips it, so its payload is looked into).
fn rustls_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut cause = Some(e);
    for _ in 0..16 {
        let c = cause?;
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(inner) = c.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref)
            && let Some(r) = inner.downcast_ref::<rustls::Error>()
        {
            return Some(r);
        }
        cause = c.source();
    }
    None
}

pub(super) fn certificate(c: &CertificateError, tls: &TlsOptions, host: &str) -> String {
    let trusted = match &tls.roots {
        Roots::File(path) => format!("the CA in sslrootcert {}", path.display()),
        Roots::None => "this machine's trusted roots (no sslrootcert given)".to_string(),
        Roots::System => "this machine's trusted roots (sslrootcert=system)".to_string(),
    };
    let mode = tls.mode.as_str();
    match c {
        CertificateError::UnknownIssuer => match &tls.roots {
            Roots::File(path) => format!(
                "the server's certificate is not signed by {trusted} (unknown issuer); check that {} is \
                 the CA of this server (the bundle your provider publishes: Amazon RDS, Cloud SQL, Azure, \
                 or your company's CA)",
                path.display()
            ),
            Roots::None | Roots::System => format!(
                "the server's certificate is not signed by {trusted} (unknown issuer); give the CA that \
                 signs it with sslrootcert=/path/to/ca.pem (or PGSSLROOTCERT): managed databases (Amazon \
                 RDS, Cloud SQL, Azure) publish theirs"
            ),
        },
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            let names = match c {
                CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => {
                    format!(" (it names {})", presented.iter().map(|n| bare(n)).collect::<Vec<_>>().join(", "))
                }
                _ => String::new(),
            };
            format!(
                "the server's certificate is not valid for the host {host}{names} (name mismatch, checked by \
                 sslmode={mode}); connect by a name the certificate lists, or check the chain only with \
                 sslmode=verify-ca"
            )
        }
        CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
            "the server's certificate has expired; the database's operator must renew it (check this \
             machine's clock too)"
                .to_string()
        }
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet; check this machine's clock".to_string()
        }
        other => format!(
            "the server's certificate was refused ({other:?}, checked against {trusted} by sslmode={mode}); \
             check sslrootcert and sslmode{}",
            if tls.mode >= SslMode::VerifyCa { "" } else { " (verify-full is recommended)" }
        ),
    }
}

/// A presented name as a person writes it: rustls shows them as `DnsName("db")`, `IpAddress(10.0.0.1)`.
fn bare(name: &str) -> &str {
    let inner = |prefix: &str, suffix: &str| name.strip_prefix(prefix).and_then(|n| n.strip_suffix(suffix));
    inner("DnsName(\"", "\")").or_else(|| inner("IpAddress(", ")")).unwrap_or(name)
}

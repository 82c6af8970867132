//! The TLS parameters' precedence, defaults and refusals, and the words for a refused
//! certificate, without a server (tests/core/postgres_tls.rs connects to one).

use super::options::UrlTls;
use super::{PgTlsEnv, Roots, SslMode, TlsOptions, take_params};
use std::path::PathBuf;

fn resolve(url: &str, env: &PgTlsEnv) -> Result<(String, TlsOptions), String> {
    let (rest, tls) = take_params(url);
    TlsOptions::resolve(tls, env).map(|o| (rest, o))
}

fn env(sslmode: Option<&str>, sslrootcert: Option<&str>) -> PgTlsEnv {
    PgTlsEnv {
        sslmode: sslmode.map(str::to_string),
        sslrootcert: sslrootcert.map(str::to_string),
        ..PgTlsEnv::default()
    }
}

#[test]
fn the_tls_parameters_leave_the_url_and_the_others_stay_as_written() {
    let (rest, tls) = take_params(
        "postgres://u:p%3Fw@db:5432/x?options=-c%20search_path%3Ds&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20dir%2Fca.pem&application_name=a",
    );
    assert_eq!(rest, "postgres://u:p%3Fw@db:5432/x?options=-c%20search_path%3Ds&application_name=a");
    let o = TlsOptions::resolve(tls, &PgTlsEnv::default()).unwrap();
    assert_eq!(o, TlsOptions { mode: SslMode::VerifyFull, roots: Roots::File(PathBuf::from("/etc/ca dir/ca.pem")) });
    assert_eq!(take_params("postgres://db/x?sslmode=disable").0, "postgres://db/x");
    assert_eq!(take_params("postgres://db/x").0, "postgres://db/x");
}

#[test]
fn the_url_wins_over_the_environment_and_prefer_is_the_default() {
    let none = PgTlsEnv::default();
    assert_eq!(resolve("postgres://db/x", &none).unwrap().1, TlsOptions { mode: SslMode::Prefer, roots: Roots::None });
    let from_env = env(Some("verify-ca"), Some("/env/ca.pem"));
    let o = resolve("postgres://db/x", &from_env).unwrap().1;
    assert_eq!(o, TlsOptions { mode: SslMode::VerifyCa, roots: Roots::File("/env/ca.pem".into()) });
    let o = resolve("postgres://db/x?sslmode=require&sslrootcert=/url/ca.pem", &from_env).unwrap().1;
    assert_eq!(o, TlsOptions { mode: SslMode::Require, roots: Roots::File("/url/ca.pem".into()) });
    // libpq's `sslrootcert=system`: the platform's roots, verify-full by default, weaker refused.
    let o = resolve("postgres://db/x?sslrootcert=system", &none).unwrap().1;
    assert_eq!(o, TlsOptions { mode: SslMode::VerifyFull, roots: Roots::System });
    let err = resolve("postgres://db/x?sslrootcert=system&sslmode=require", &none).unwrap_err();
    assert!(err.contains("sslmode=require") && err.contains("verify-full"), "{err}");
}

#[test]
fn libpqs_default_root_certificate_applies_when_it_exists_and_none_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root.crt");
    let mut e = PgTlsEnv { default_root_cert: Some(root.clone()), ..PgTlsEnv::default() };
    assert_eq!(resolve("postgres://db/x?sslmode=require", &e).unwrap().1.roots, Roots::None, "absent: not used");
    std::fs::write(&root, "x").unwrap();
    assert_eq!(resolve("postgres://db/x?sslmode=require", &e).unwrap().1.roots, Roots::File(root.clone()));
    e.sslrootcert = Some("/named.pem".into());
    assert_eq!(resolve("postgres://db/x", &e).unwrap().1.roots, Roots::File("/named.pem".into()));
}

#[test]
fn modes_that_cannot_be_honoured_are_refused_naming_the_alternative() {
    let err = resolve("postgres://db/x?sslmode=allow", &PgTlsEnv::default()).unwrap_err();
    assert!(err.starts_with("sslmode=allow is not supported") && err.contains("verify-full"), "{err}");
    let err = resolve("postgres://db/x", &env(Some("allow"), None)).unwrap_err();
    assert!(err.starts_with("PGSSLMODE=allow"), "the variable is named: {err}");
    let err = resolve("postgres://db/x?sslmode=verify_full", &PgTlsEnv::default()).unwrap_err();
    assert!(err.contains("verify_full") && err.contains("verify-full"), "{err}");
}

#[test]
fn client_certificates_are_refused_from_the_url_and_the_environment() {
    for param in ["sslcert=/c.pem", "sslkey=/k.pem", "sslpassword=secret-key-pass"] {
        let err = resolve(&format!("postgres://db/x?{param}"), &PgTlsEnv::default()).unwrap_err();
        assert!(err.contains("client certificates are not supported"), "{err}");
        assert!(!err.contains("secret-key-pass"), "{err}");
    }
    let e = PgTlsEnv { sslkey: Some("/k.pem".into()), ..PgTlsEnv::default() };
    let err = resolve("postgres://db/x", &e).unwrap_err();
    assert!(err.starts_with("PGSSLCERT/PGSSLKEY"), "{err}");
    assert!(TlsOptions::resolve(UrlTls::default(), &PgTlsEnv::default()).is_ok());
}

#[test]
fn a_refused_certificate_says_why_and_what_to_change() {
    use rustls::CertificateError as C;
    let file = TlsOptions { mode: SslMode::VerifyFull, roots: Roots::File("/etc/ca.pem".into()) };
    let native = TlsOptions { mode: SslMode::VerifyFull, roots: Roots::None };
    let says = |c: C, o: &TlsOptions| super::explain::certificate(&c, o, "db.internal");
    let m = says(C::UnknownIssuer, &native);
    assert!(m.contains("unknown issuer") && m.contains("sslrootcert=/path/to/ca.pem"), "{m}");
    let m = says(C::UnknownIssuer, &file);
    assert!(m.contains("unknown issuer") && m.contains("/etc/ca.pem"), "{m}");
    let m = says(C::NotValidForName, &file);
    assert!(m.contains("name mismatch") && m.contains("db.internal") && m.contains("sslmode=verify-ca"), "{m}");
    let presented = vec!["DnsName(\"localhost\")".to_string(), "IpAddress(127.0.0.1)".to_string()];
    let expected = rustls::pki_types::ServerName::try_from("db.internal").unwrap();
    let m = says(C::NotValidForNameContext { expected, presented }, &file);
    assert!(m.contains("(it names localhost, 127.0.0.1)"), "{m}");
    let m = says(C::Expired, &file);
    assert!(m.contains("expired") && m.contains("renew"), "{m}");
    let m = says(C::NotValidYet, &file);
    assert!(m.contains("clock"), "{m}");
}

#[test]
fn an_unreadable_or_malformed_root_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let err = super::read_roots(&missing).unwrap_err();
    assert!(err.contains(&missing.display().to_string()) && err.contains("cannot be read"), "{err}");
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let err = super::read_roots(&junk).unwrap_err();
    assert!(err.contains(&junk.display().to_string()) && err.contains("no certificate"), "{err}");
}

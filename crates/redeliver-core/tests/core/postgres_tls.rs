//! TLS to the PostgreSQL state against the test server, which offers TLS with a certificate for
//! 127.0.0.1 and localhost signed by its own CA (`testing::ca`), as a managed database's is
//! signed by its provider's: each `sslmode` does what libpq's does, and each refusal says why
//! and what to change, naming the URL without its password.

use chrono::{TimeZone, Utc};
use redeliver_core::state::postgres::{PgError, PgLocation, testing};
use redeliver_core::state::{Ledger, StateLocation};
use std::path::Path;

fn with(url: &str, params: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{params}")
}

fn connect_error(url: &str) -> String {
    let at = PgLocation::parse(url, None).unwrap();
    match testing::session_encrypted(&at) {
        Err(e @ PgError::Connect { .. }) => e.to_string(),
        other => panic!("{url}: expected a refused connection, got {other:?}"),
    }
}

#[test]
fn verify_full_with_the_servers_ca_keeps_a_ledger_over_an_encrypted_session() {
    let ca = testing::ca();
    let url = with(&testing::fresh_url(), &format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    let state = StateLocation::parse(Path::new(&url), None).unwrap();
    let ledger = Ledger::open(&state).unwrap();
    let at = Utc.with_ymd_and_hms(2026, 11, 29, 4, 0, 0).unwrap();
    ledger.set_watermark("octo/r", at, at).unwrap();
    assert_eq!(ledger.watermark("octo/r").unwrap(), Some(at));
    let StateLocation::Postgres(pg) = &state else { panic!("{state:?} is not PostgreSQL") };
    assert!(testing::session_encrypted(pg).unwrap(), "verify-full encrypts");
    // By name too: the certificate lists localhost.
    let by_name =
        with(&testing::url_as_host("localhost"), &format!("sslmode=verify-full&sslrootcert={}", ca.display()));
    assert!(testing::session_encrypted(&PgLocation::parse(&by_name, None).unwrap()).unwrap());
}

#[test]
fn verify_full_without_the_ca_is_refused_as_an_unknown_issuer_naming_the_url_and_the_fix() {
    let url = with(&testing::url(), "sslmode=verify-full").replacen("postgres@", "postgres:hunter2-never-shown@", 1);
    let err = connect_error(&url);
    assert!(err.contains("postgres://postgres@127.0.0.1:"), "the URL, without its password: {err}");
    assert!(err.contains("unknown issuer") && err.contains("sslrootcert=/path/to/ca.pem"), "{err}");
    assert!(!err.contains("hunter2-never-shown"), "{err}");
}

#[test]
fn verify_full_refuses_a_host_the_certificate_does_not_name_and_verify_ca_accepts_it() {
    let ca = testing::ca();
    let elsewhere = testing::url_as_host("db.example.internal");
    let err = connect_error(&with(&elsewhere, &format!("sslmode=verify-full&sslrootcert={}", ca.display())));
    assert!(err.contains("postgres://postgres@db.example.internal:"), "{err}");
    assert!(err.contains("name mismatch") && err.contains("db.example.internal"), "{err}");
    assert!(err.contains("it names localhost, 127.0.0.1") && err.contains("sslmode=verify-ca"), "{err}");
    // verify-ca checks the chain only, as libpq's does.
    let chain_only =
        PgLocation::parse(&with(&elsewhere, &format!("sslmode=verify-ca&sslrootcert={}", ca.display())), None);
    assert!(testing::session_encrypted(&chain_only.unwrap()).unwrap());
}

#[test]
fn require_and_the_default_prefer_encrypt_without_a_ca_and_disable_stays_in_clear() {
    for (params, encrypted) in [("sslmode=require", true), ("", true), ("sslmode=disable", false)] {
        let at = PgLocation::parse(&with(&testing::url(), params), None).unwrap();
        assert_eq!(testing::session_encrypted(&at).unwrap(), encrypted, "{params:?}");
    }
    // The environment's mode applies under the URL's.
    let env = redeliver_core::state::postgres::tls::PgTlsEnv { sslmode: Some("disable".into()), ..Default::default() };
    let at = PgLocation::parse_with(&testing::url(), None, &env).unwrap();
    assert!(!testing::session_encrypted(&at).unwrap(), "PGSSLMODE=disable");
    let at = PgLocation::parse_with(&with(&testing::url(), "sslmode=require"), None, &env).unwrap();
    assert!(testing::session_encrypted(&at).unwrap(), "the URL's sslmode wins");
}

#[test]
fn require_given_a_root_certificate_checks_the_chain_as_libpq_does() {
    let dir = tempfile::tempdir().unwrap();
    let other_ca = dir.path().join("other-ca.pem");
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    std::fs::write(&other_ca, made.cert.pem()).unwrap();
    let err = connect_error(&with(&testing::url(), &format!("sslmode=require&sslrootcert={}", other_ca.display())));
    assert!(err.contains("unknown issuer") && err.contains(&other_ca.display().to_string()), "{err}");
    let ok = with(&testing::url(), &format!("sslmode=require&sslrootcert={}", testing::ca().display()));
    assert!(testing::session_encrypted(&PgLocation::parse(&ok, None).unwrap()).unwrap());
}

#[test]
fn a_missing_root_certificate_file_is_refused_before_connecting_naming_its_path() {
    let missing = std::env::temp_dir().join(format!("redeliver-no-such-ca-{}.pem", std::process::id()));
    let url = with(&testing::url(), &format!("sslmode=verify-full&sslrootcert={}", missing.display()));
    let err = PgLocation::parse(&url, None).unwrap_err();
    assert!(matches!(err, PgError::Tls { .. }), "{err:?}");
    let err = err.to_string();
    assert!(err.contains(&missing.display().to_string()) && err.contains("cannot be read"), "{err}");
    assert!(err.contains("postgres://postgres@127.0.0.1:"), "{err}");
}

/// A PostgreSQL endpoint on 127.0.0.1 that answers the TLS request (`S`) and presents a
/// certificate that expired in 2021, signed by itself; the root file to trust it is returned.
/// One connection, a bounded read: the thread ends with the refused handshake.
fn expired_endpoint(dir: &Path) -> (u16, std::path::PathBuf) {
    use std::io::{Read, Write};
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(2021, 1, 1);
    let cert = params.self_signed(&key).unwrap();
    let root = dir.join("expired-ca.pem");
    std::fs::write(&root, cert.pem()).unwrap();
    let key = rustls::pki_types::PrivatePkcs8KeyDer::from(key.serialize_der());
    let config =
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key.into())
            .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else { return };
        let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut ssl_request = [0u8; 8];
        if tcp.read_exact(&mut ssl_request).is_err() || tcp.write_all(b"S").is_err() {
            return;
        }
        let mut tls = rustls::ServerConnection::new(std::sync::Arc::new(config)).unwrap();
        let _ = tls.complete_io(&mut tcp);
    });
    (port, root)
}

#[test]
fn an_expired_server_certificate_is_refused_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let (port, root) = expired_endpoint(dir.path());
    let url =
        format!("postgres://redeliver@127.0.0.1:{port}/redeliver?sslmode=verify-full&sslrootcert={}", root.display());
    let err = connect_error(&url);
    assert!(err.contains(&format!("postgres://redeliver@127.0.0.1:{port}/redeliver")), "{err}");
    assert!(err.contains("has expired") && err.contains("renew"), "{err}");
}

/// A PostgreSQL endpoint on 127.0.0.1 without TLS: it answers the TLS request `N` (as a server
/// with `ssl = off` does) and reports whether the client then went on in clear text (a startup
/// message, protocol 3.0) before closing. One connection, bounded reads.
fn no_tls_endpoint() -> (u16, std::sync::mpsc::Receiver<bool>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut tcp, _)) = listener.accept() else { return };
        let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(10)));
        let mut ssl_request = [0u8; 8];
        if tcp.read_exact(&mut ssl_request).is_err() || tcp.write_all(b"N").is_err() {
            return;
        }
        let mut startup = [0u8; 8];
        let in_clear = tcp.read_exact(&mut startup).is_ok() && startup[4..8] == [0, 3, 0, 0];
        let _ = tx.send(in_clear);
    });
    (port, rx)
}

#[test]
fn a_server_without_tls_fails_require_saying_so_and_prefer_goes_on_in_clear() {
    let (port, _) = no_tls_endpoint();
    let err = connect_error(&format!("postgres://redeliver@127.0.0.1:{port}/redeliver?sslmode=require"));
    assert!(err.contains("does not accept TLS, which sslmode=require requires"), "{err}");
    let (port, in_clear) = no_tls_endpoint();
    let _ = testing::session_encrypted(
        &PgLocation::parse(&format!("postgres://redeliver@127.0.0.1:{port}/redeliver"), None).unwrap(),
    );
    assert_eq!(
        in_clear.recv_timeout(std::time::Duration::from_secs(10)),
        Ok(true),
        "prefer, the default, went on in clear"
    );
}

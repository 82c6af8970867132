//! The rustls client for a [`TlsOptions`]: the certificate check each mode asks for, with ring
//! as reqwest uses, set per connector rather than process-wide.
//!
//! `verify-full` is rustls' own web-PKI verifier (chain, then host name). `verify-ca` checks the
//! chain with the same function and skips only the name. `prefer`/`require` without a root
//! certificate encrypt without checking the certificate (libpq's meaning), yet still check the
//! handshake's signatures, so the session is bound to the key the server presented.

use super::{Roots, SslMode, TlsOptions};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::Arc;

/// The connector for `tls` (`None` for `sslmode=disable`); errors name the root file.
pub(crate) fn connector(tls: &TlsOptions) -> Result<Option<tokio_postgres_rustls::MakeRustlsConnect>, String> {
    if tls.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier: Arc<dyn ServerCertVerifier> = match (&tls.roots, tls.mode) {
        (Roots::None, SslMode::Prefer | SslMode::Require) => {
            Arc::new(Lenient { roots: None, provider: provider.clone() })
        }
        (roots, SslMode::VerifyFull) => {
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(root_store(roots)?), provider.clone())
                .build()
                .map_err(|e| format!("cannot set up TLS: {e}"))?
        }
        (roots, _) => Arc::new(Lenient { roots: Some(Arc::new(root_store(roots)?)), provider: provider.clone() }),
    };
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("cannot set up TLS: {e}"))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(Some(tokio_postgres_rustls::MakeRustlsConnect::new(config)))
}

/// The trust anchors: the `sslrootcert` file, else the platform's.
fn root_store(roots: &Roots) -> Result<RootCertStore, String> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            for cert in read_roots(path)? {
                store
                    .add(cert)
                    .map_err(|e| format!("sslrootcert {}: a certificate in it is not usable: {e}", path.display()))?;
            }
        }
        Roots::None | Roots::System => {
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            if store.is_empty() {
                return Err("this machine has no trusted root certificates to check the server's with: \
                     give its CA with sslrootcert=/path/to/ca.pem"
                    .into());
            }
        }
    }
    Ok(store)
}

/// The CA certificates of a PEM file; errors name the file and what is wrong with it.
pub(crate) fn read_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {shown} cannot be read: {e}"))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("sslrootcert {shown} is not a valid PEM file: {e}"))?;
    if certs.is_empty() {
        return Err(format!("sslrootcert {shown} holds no certificate (no -----BEGIN CERTIFICATE----- block)"));
    }
    Ok(certs)
}

/// Every mode but `verify-full`: `verify-ca`, and `prefer`/`require` given a root certificate,
/// check the chain up to a root, whatever the name (`roots`); `prefer`/`require` without one
/// take the certificate as presented (`None`). Both still check the handshake's signatures.
#[derive(Debug)]
struct Lenient {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Lenient {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

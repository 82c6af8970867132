//! GitHub Enterprise Server behind a private CA: a TLS server on 127.0.0.1 with a certificate
//! made for this test is refused as unknown, and trusted once its certificate is given as a
//! [`CaBundle`] (`--ca-cert`).

use redeliver_core::github::{ApiError, CaBundle, ClientConfig, Credentials, GitHubClient, HookTarget};
use redeliver_core::secret::Secret;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::rustls::{self, pki_types::PrivatePkcs8KeyDer};
use url::Url;

/// Serves an empty delivery page over TLS with a fresh self-signed certificate; returns the
/// base URL and the certificate's PEM. The server stops with the test's runtime.
async fn private_ca_server() -> (Url, String) {
    let made = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![made.cert.der().clone()], key.into())
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake here.
                let Ok(mut tls) = acceptor.accept(stream).await else { return };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 64 * 1024 {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (Url::parse(&format!("https://127.0.0.1:{port}")).unwrap(), made.cert.pem())
}

fn client(base: &Url, ca: Option<CaBundle>) -> GitHubClient {
    let mut config = ClientConfig::new(base.clone());
    config.max_retries = 0;
    config.ca = ca;
    GitHubClient::new(config, Credentials::Token(Secret::new("ghp_tls_test"))).unwrap()
}

#[tokio::test]
async fn a_private_ca_is_refused_until_its_certificate_is_trusted() {
    let (base, pem) = private_ca_server().await;
    let target = HookTarget::Org { org: "octo".into(), hook_id: 1 };

    let err = client(&base, None).list_deliveries(&target, None).await.unwrap_err();
    let ApiError::Transport { detail } = &err else { panic!("{err:?}") };
    assert!(detail.to_lowercase().contains("certificate"), "{detail}");

    let ca = CaBundle::from_pem(pem.into_bytes()).unwrap();
    let page = client(&base, Some(ca)).list_deliveries(&target, None).await.unwrap();
    assert!(page.deliveries.is_empty() && page.next.is_none());
}

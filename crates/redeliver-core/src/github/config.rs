//! How a [`super::GitHubClient`] talks to GitHub: where (the API base URL, checked before any
//! request), as whom (`User-Agent`), how fast (pacing) and how patiently (retries, timeout, the
//! longest rate-limit wait).

use super::error::ApiError;
use super::pace::Pace;
use super::paging::PageLimits;
use super::step::{MAX_RATE_LIMIT_WAITS, RETRY_CAP, RetryPolicy};
use std::time::Duration;
use url::Url;

/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";

/// How a [`super::GitHubClient`] talks to GitHub. Start from [`ClientConfig::new`] and change fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// `https://api.github.com`, `https://HOST/api/v3` for GitHub Enterprise Server, or a test
    /// server. Endpoint paths are appended to it, keeping its path prefix.
    pub base_url: Url,
    /// Sent as `User-Agent`, which GitHub requires.
    pub user_agent: String,
    /// How state-changing requests (POST, PATCH) are spaced: a fixed minimum gap, or a gap that
    /// adapts to GitHub's secondary rate limits ([`Pace::Auto`]). Reads are not paced.
    pub pace: Pace,
    /// Retries for a read (and for a repeatable write) after a 5xx, a timeout or a network error.
    pub max_retries: u32,
    /// Base of the exponential backoff between those retries (capped at [`RETRY_CAP`]).
    pub retry_base: Duration,
    /// Per-request timeout, connection to last byte.
    pub timeout: Duration,
    /// The longest rate-limit wait the client accepts; a longer one fails with
    /// [`ApiError::RateLimited`] at once rather than hang a scheduled job.
    pub max_rate_limit_wait: Duration,
    /// The largest answer body read, in bytes ([`MAX_BODY`]); a larger one fails the request
    /// while it streams, before it costs more memory.
    pub max_body: usize,
    /// How far one listing may go: pages and time ([`PageLimits`]).
    pub paging: PageLimits,
    /// Certificates trusted besides the system's store (which `SSL_CERT_FILE` and `SSL_CERT_DIR`
    /// replace, as OpenSSL does) and the bundled web roots: a private CA of GitHub Enterprise
    /// Server (`--ca-cert`).
    pub ca: Option<CaBundle>,
}

/// PEM certificates read and checked by [`CaBundle::load`], to add to the trust store.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    pem: Vec<u8>,
    count: usize,
}

impl CaBundle {
    /// Reads `path` and checks that it holds at least one certificate that TLS can trust. The
    /// error names the file and never quotes it.
    pub fn load(path: &std::path::Path) -> Result<CaBundle, String> {
        let shown = path.display();
        let pem = std::fs::read(path).map_err(|e| format!("cannot read the CA certificate file {shown}: {e}"))?;
        Self::from_pem(pem).map_err(|why| format!("the CA certificate file {shown} {why}"))
    }

    /// Checks PEM text as [`CaBundle::load`] does.
    pub fn from_pem(pem: Vec<u8>) -> Result<CaBundle, String> {
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|_| "is not PEM: expected '-----BEGIN CERTIFICATE-----' blocks".to_owned())?;
        if certs.is_empty() {
            return Err("holds no certificate: expected '-----BEGIN CERTIFICATE-----' blocks".to_owned());
        }
        let count = certs.len();
        // Building a client parses every certificate the way the TLS stack will.
        let mut builder = reqwest::Client::builder().tls_built_in_root_certs(false);
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
        builder.build().map_err(|_| "holds a certificate that TLS cannot use (damaged or not X.509?)".to_owned())?;
        Ok(CaBundle { pem, count })
    }

    /// The certificates, for a client builder.
    pub(super) fn certificates(&self) -> Vec<reqwest::Certificate> {
        reqwest::Certificate::from_pem_bundle(&self.pem).unwrap_or_default()
    }
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CaBundle({} certificates)", self.count)
    }
}

/// The largest answer body the client reads: a page of 100 deliveries is well under 1 MiB.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

impl ClientConfig {
    /// Defaults: pace 1 s, 4 retries from 1 s, 30 s timeout, rate-limit waits up to 15 minutes,
    /// bodies up to 8 MiB, listings of [`PageLimits::default`].
    pub fn new(base_url: Url) -> Self {
        ClientConfig {
            base_url,
            user_agent: concat!("redeliver/", env!("CARGO_PKG_VERSION")).to_owned(),
            pace: Pace::DEFAULT,
            max_retries: 4,
            retry_base: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
            max_body: MAX_BODY,
            paging: PageLimits::default(),
            ca: None,
        }
    }

    /// The limits [`super::next_step`] applies for a client with these settings; `app`: the
    /// client signs JWTs, so a clock GitHub disagrees with can be corrected.
    pub fn retry_policy(&self, app: bool) -> RetryPolicy {
        RetryPolicy {
            max_retries: self.max_retries,
            retry_base: self.retry_base,
            retry_cap: RETRY_CAP,
            max_rate_limit_wait: self.max_rate_limit_wait,
            max_rate_limit_waits: MAX_RATE_LIMIT_WAITS,
            fix_clock_skew: app,
        }
    }
}

/// Whether `url` stays on this machine, so that a token sent there over `http://` crosses no
/// network.
pub(super) fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            name == "localhost" || name.ends_with(".localhost")
        }
        None => false,
    }
}

/// A usable API base: http(s), a host, no credentials, query or fragment, and not the web host.
pub(super) fn check_base_url(url: &Url) -> Result<(), ApiError> {
    let bad = |why: &str| {
        Err(ApiError::Config {
            detail: format!("the API base URL {}://{}{} {why}", url.scheme(), url.host_str().unwrap_or(""), url.path()),
        })
    };
    if url.scheme() != "https" && url.scheme() != "http" {
        return bad("must start with https:// (or http://)");
    }
    if url.host_str().is_none_or(str::is_empty) || url.cannot_be_a_base() {
        return bad("has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ApiError::Config {
            detail: "the API base URL must not contain a user name or password; pass credentials \
                     as APP_ID/PRIVATE_KEY or TOKEN"
                .into(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a query or fragment");
    }
    if matches!(url.host_str(), Some("github.com" | "www.github.com")) {
        return bad("is GitHub's website; the REST API is https://api.github.com");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let c = ClientConfig::new(Url::parse("https://api.github.com").unwrap());
        assert_eq!(c.pace, Pace::Fixed(Duration::from_secs(1)));
        assert_eq!(c.max_retries, 4);
        assert_eq!(c.retry_base, Duration::from_secs(1));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_rate_limit_wait, Duration::from_secs(900));
        assert!(c.user_agent.starts_with("redeliver/"));
        let policy = c.retry_policy(true);
        assert_eq!((policy.max_retries, policy.retry_cap, policy.max_rate_limit_waits), (4, RETRY_CAP, 8));
        assert!(policy.fix_clock_skew && !c.retry_policy(false).fix_clock_skew);
        assert_eq!((c.max_body, c.paging, c.ca), (8 << 20, PageLimits::default(), None));
    }

    #[test]
    fn loopback_hosts() {
        for url in
            ["http://127.0.0.1:8080", "http://127.9.9.9", "http://[::1]:1", "http://localhost", "http://a.localhost."]
        {
            assert!(is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
        for url in ["http://10.0.0.1", "http://ghe.example", "http://localhost.example", "http://[::2]"] {
            assert!(!is_loopback(&Url::parse(url).unwrap()), "{url}");
        }
    }

    #[test]
    fn ca_bundles_are_checked_and_errors_name_the_file_without_quoting_it() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        let cases: [(&str, &[u8], &str); 3] = [
            ("text.pem", b"token = \"ghp_secret\"\n", "holds no certificate"),
            ("damaged.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "cannot use"),
            ("key.pem", include_bytes!("../../../redeliver-sim/keys/test-app-key.pem"), "holds no certificate"),
        ];
        for (name, content, why) in cases {
            let path = dir.join(name);
            std::fs::write(&path, content).unwrap();
            let err = CaBundle::load(&path).unwrap_err();
            assert!(err.contains(name) && err.contains(why), "{err}");
            assert!(!err.contains("ghp_secret") && !err.contains("MIIE"), "{err}");
        }
        let missing = CaBundle::load(&dir.join("missing.pem")).unwrap_err();
        assert!(
            missing.contains("cannot read the CA certificate file") && missing.contains("missing.pem"),
            "{missing}"
        );
    }
}

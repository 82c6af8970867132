//! The HTTP client: one per credential, strictly serial (`&mut self`), pacing its state-changing
//! requests and waiting out rate limits the way GitHub asks
//! (<https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api>):
//! "make requests serially instead of concurrently", "wait at least one second between each"
//! mutating request, and honour `retry-after` / `x-ratelimit-reset`.
//!
//! This file holds the endpoints (list a page, redeliver, mint an installation token) and what
//! they check before sending; `client/call.rs` holds the request loop, and the decisions come from
//! [`super::step`], [`super::ratelimit`], [`super::retry`] and [`super::auth`].

mod call;

use super::auth::Credentials;
use super::config::{API_VERSION, ClientConfig, check_base_url, is_loopback};
use super::error::ApiError;
use super::link::next_link;
use super::pace::Pacer;
use super::paging::PageGuard;
use super::stats::RequestStats;
use super::step::RequestKind;
use super::target::{HookTarget, escape_segment};
use super::text::{describe_body, describe_body_kind};
use crate::model::{Delivery, DeliveryRef, parse_page};
use crate::secret::Secret;
use call::CachedJwt;
pub(crate) use call::{Answer, Call};
use chrono::TimeDelta;
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::time::Duration;
use url::Url;

/// One page of a delivery list.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryPage {
    /// As GitHub listed them: newest first.
    pub deliveries: Vec<Delivery>,
    /// The `Link: rel="next"` URL, `None` on the last page.
    pub next: Option<Url>,
}

/// One page of a delivery list read with [`GitHubClient::list_deliveries_each`].
#[derive(Debug, Clone, PartialEq)]
pub struct ListedPage {
    /// Deliveries handed over (items that were not deliveries are counted in the stats instead).
    pub deliveries: usize,
    /// Items of the page that were not deliveries and were skipped (a missing or mistyped field,
    /// bytes that are not UTF-8). A page whose items were all skipped tells nothing of what it
    /// listed: the caller decides whether the pass can go on.
    pub skipped: usize,
    /// The `Link: rel="next"` URL, `None` on the last page.
    pub next: Option<Url>,
    /// The page's `ETag`, when the server sent one: asked with `If-None-Match` next time, a
    /// first page that did not change is a 304 that costs no primary rate limit.
    pub etag: Option<String>,
    /// The server answered `304 Not Modified` to `If-None-Match`: nothing was listed, and
    /// nothing changed since the page that carried the `ETag`.
    pub not_modified: bool,
}

/// A client for one credential. Requests are strictly serial; state-changing ones are paced.
#[derive(Debug)]
pub struct GitHubClient {
    http: reqwest::Client,
    config: ClientConfig,
    credentials: Credentials,
    jwt: Option<CachedJwt>,
    /// GitHub's clock minus ours, learnt from a 401 that blamed the JWT's times.
    clock_skew: TimeDelta,
    pacer: Pacer,
    pub(crate) stats: RequestStats,
    /// Shutdown: every wait ends at once with [`ApiError::Cancelled`], and a read in flight is
    /// abandoned (a write in flight finishes, bounded by the timeout).
    cancel: Option<tokio_util::sync::CancellationToken>,
    /// The listing in progress: pages read and its deadline ([`super::paging`]).
    listing: Option<PageGuard>,
    /// Asked before a state-changing request is sent again after a rate-limit wait (issue 13).
    resend_check: Option<Guard>,
}

/// A [`ResendCheck`] in the client (shown only as being there).
struct Guard(ResendCheck);

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResendCheck")
    }
}

/// Whether this process may still send the request it wrote down before a rate-limit wait: on a
/// PostgreSQL state, whether it still holds the lease the redelivery's row was fenced on. The
/// wait may outlast the lease (a long `Retry-After`, the process frozen meanwhile), and the new
/// owner has counted the row as sent.
pub type ResendCheck = std::sync::Arc<dyn Fn() -> bool + Send + Sync>;

impl GitHubClient {
    /// Checks the base URL and builds the HTTP client. Makes no request.
    pub fn new(config: ClientConfig, credentials: Credentials) -> Result<Self, ApiError> {
        check_base_url(&config.base_url)?;
        if let Credentials::App { app_id, .. } = &credentials
            && app_id.trim().is_empty()
        {
            return Err(ApiError::Config {
                detail: "APP_ID is empty: set it to the GitHub App's id or client id".into(),
            });
        }
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/vnd.github+json"));
        headers.insert("x-github-api-version", HeaderValue::from_static(API_VERSION));
        warn_of_cleartext(&config.base_url);
        let mut builder = reqwest::Client::builder();
        for cert in config.ca.iter().flat_map(|ca| ca.certificates()) {
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
            // Never follow a redirect: it would re-send a POST as a GET, or the credentials to
            // another origin. A 3xx is refused in `step::next_step`.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| ApiError::Config { detail: format!("could not set up HTTPS: {e}") })?;
        Ok(GitHubClient {
            http,
            pacer: Pacer::new(config.pace),
            config,
            credentials,
            jwt: None,
            clock_skew: TimeDelta::zero(),
            stats: RequestStats::default(),
            cancel: None,
            resend_check: None,
            listing: None,
        })
    }

    /// One page of deliveries: `None` asks for the first page (`per_page=100`), `Some(next)` fetches
    /// the `Link rel="next"` URL exactly as GitHub gave it. An empty page is normal.
    pub async fn list_deliveries(&mut self, target: &HookTarget, next: Option<&Url>) -> Result<DeliveryPage, ApiError> {
        let mut deliveries = Vec::with_capacity(100);
        let listed = self.list_deliveries_each(target, next, |d| deliveries.push(d.into_owned())).await?;
        Ok(DeliveryPage { deliveries, next: listed.next })
    }

    /// Like [`GitHubClient::list_deliveries`], without copying: each delivery of the page is
    /// handed to `each` as it is parsed, borrowing its text from the response body, so reading a
    /// page allocates nothing per record. Returns how many were listed and the next page's URL.
    pub async fn list_deliveries_each<F>(
        &mut self,
        target: &HookTarget,
        next: Option<&Url>,
        each: F,
    ) -> Result<ListedPage, ApiError>
    where
        F: for<'b> FnMut(DeliveryRef<'b>),
    {
        self.list_deliveries_if(target, next, None, each).await
    }

    /// Like [`GitHubClient::list_deliveries_each`], asking with `If-None-Match: if_none_match`
    /// (the `ETag` of an earlier answer to the same request): a page that did not change comes
    /// back as [`ListedPage::not_modified`] with nothing listed, and GitHub does not count it
    /// against the primary rate limit
    /// (<https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate>).
    /// Only the first page is worth asking this way: every new attempt of the hook appears on it.
    pub async fn list_deliveries_if<F>(
        &mut self,
        target: &HookTarget,
        next: Option<&Url>,
        if_none_match: Option<&str>,
        mut each: F,
    ) -> Result<ListedPage, ApiError>
    where
        F: for<'b> FnMut(DeliveryRef<'b>),
    {
        self.check_target(target)?;
        let now = tokio::time::Instant::now();
        let url = match next {
            Some(url) => {
                self.check_same_origin(url)?;
                url.clone()
            }
            None => self.endpoint(&target.deliveries_path(), Some("per_page=100")),
        };
        // The first page starts a listing; every page must pass its guard (no page twice, a page
        // cap, a deadline) before it is requested.
        let guard = match (next, self.listing.as_mut()) {
            (Some(_), Some(guard)) => guard,
            _ => self.listing.insert(PageGuard::start(self.config.paging, now)),
        };
        guard.follow(&url, now)?;
        let (ends_at, late) = (guard.ends_at(), guard.deadline_passed());
        let requested = url.clone();
        let call = Call {
            method: Method::GET,
            url,
            endpoint: "list_deliveries",
            body: None,
            kind: RequestKind::Read,
            if_none_match: if_none_match.map(str::to_owned),
        };
        // Rate-limit waits and retries count against the deadline too.
        let answer = tokio::time::timeout_at(ends_at, self.call(&call)).await.map_err(|_| late)??;
        let etag = answer.headers.get(header::ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        if answer.status == 304 && call.if_none_match.is_some() {
            self.stats.not_modified += 1;
            if let Some(guard) = self.listing.as_mut() {
                guard.read(&requested);
            }
            // A server may leave the `ETag` off a 304; the one asked with still holds.
            let etag = etag.or(call.if_none_match.clone());
            return Ok(ListedPage { deliveries: 0, skipped: 0, next: None, etag, not_modified: true });
        }
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        let mut deliveries = 0;
        let items = parse_page(&answer.body, |d| {
            deliveries += 1;
            each(d);
        })
        .map_err(|e| ApiError::Malformed {
            detail: format!(
                "listing deliveries of the {target} returned {}, not a JSON array of deliveries ({e})",
                describe_body(&answer.headers, &answer.body)
            ),
            request_id: answer.request_id.clone(),
        })?;
        if items.skipped > 0 {
            // One odd record must not hide every other event on the page.
            self.stats.skipped_items += items.skipped as u64;
            tracing::warn!(
                target_hook = %target, index = items.first_skipped, skipped = items.skipped,
                request_id = answer.request_id.as_deref().unwrap_or(""),
                "skipping listed items that are not deliveries (missing or mistyped id, guid or delivered_at, or not UTF-8)"
            );
        }
        let links = answer.headers.get_all(header::LINK).iter().filter_map(|v| v.to_str().ok());
        let next = next_link(links, &answer.url)
            .map_err(|detail| ApiError::Malformed { detail, request_id: answer.request_id.clone() })?;
        if let Some(next) = &next
            && !same_origin(next, &self.config.base_url)
        {
            return Err(ApiError::Malformed {
                detail: format!(
                    "the next page is on {}, not on the API base URL {}; the credentials are \
                     not sent there. Set the base URL to the address GitHub links to",
                    next.origin().ascii_serialization(),
                    self.config.base_url.origin().ascii_serialization()
                ),
                request_id: answer.request_id.clone(),
            });
        }
        if let Some(guard) = self.listing.as_mut() {
            guard.read(&requested);
        }
        Ok(ListedPage { deliveries, skipped: items.skipped, next, etag, not_modified: false })
    }

    /// Asks GitHub to redeliver one delivery (`POST …/deliveries/{id}/attempts`, answered 202).
    /// Rate-limited answers are waited out and the request re-sent (GitHub did not process it);
    /// a 5xx, a timeout or a dropped connection is [`ApiError::Ambiguous`] and never re-sent.
    pub async fn redeliver(&mut self, target: &HookTarget, delivery_id: u64) -> Result<(), ApiError> {
        self.check_target(target)?;
        let url = self.endpoint(&target.attempts_path(delivery_id), None);
        let call = Call {
            method: Method::POST,
            url,
            endpoint: "redeliver",
            body: None,
            kind: RequestKind::NonRepeatable,
            if_none_match: None,
        };
        let answer = self.call(&call).await?;
        if answer.is_success() { Ok(()) } else { Err(self.error_for(&answer, false)) }
    }

    /// For a GitHub App: a one-hour installation token for the account that owns `target` (a
    /// repository or organization hook), to build a token client with. Finds the installation
    /// (`GET /repos/{owner}/{repo}/installation` or `GET /orgs/{org}/installation`) and mints the
    /// token (`POST /app/installations/{id}/access_tokens`), both with the App's JWT:
    /// <https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app>.
    pub async fn installation_token(&mut self, target: &HookTarget) -> Result<Secret, ApiError> {
        if !self.is_app() {
            return Err(ApiError::Config {
                detail: "an installation token can only be made with the GitHub App's credentials \
                         (APP_ID and PRIVATE_KEY)"
                    .into(),
            });
        }
        let path = match target {
            HookTarget::App => {
                return Err(ApiError::Config {
                    detail: "the app hook is read with the App's JWT; it needs no installation token".into(),
                });
            }
            HookTarget::Repo { owner, repo, .. } => {
                format!("/repos/{}/{}/installation", escape_segment(owner), escape_segment(repo))
            }
            HookTarget::Org { org, .. } => format!("/orgs/{}/installation", escape_segment(org)),
        };
        let url = self.endpoint(&path, None);
        let call = Call {
            method: Method::GET,
            url,
            endpoint: "installation",
            body: None,
            kind: RequestKind::Read,
            if_none_match: None,
        };
        let answer = self.call(&call).await?;
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        let id = json_field(&answer, "id", |v| v.as_u64(), "finding the App's installation")?;
        let url = self.endpoint(&format!("/app/installations/{id}/access_tokens"), None);
        // Minting a second token is harmless, so a failed attempt may be repeated.
        let call = Call {
            method: Method::POST,
            url,
            endpoint: "installation",
            body: None,
            kind: RequestKind::RepeatableWrite,
            if_none_match: None,
        };
        let answer = self.call(&call).await?;
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        let token = json_field(&answer, "token", |v| v.as_str().map(Secret::new), "minting an installation token")?;
        Ok(token)
    }

    /// Replaces a token client's token (a renewed installation token), keeping its counts,
    /// pacing and the listing in progress. An App client keeps its key.
    pub fn set_token(&mut self, token: Secret) {
        if let Credentials::Token(current) = &mut self.credentials {
            *current = token;
        }
    }

    /// Counts of what was sent and answered, rate-limit headers and waits.
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// The current gap between state-changing requests (it moves under [`super::Pace::Auto`]).
    pub fn pace_gap(&self) -> Duration {
        self.pacer.gap()
    }

    /// Sets (or clears) the [`ResendCheck`] for the requests that follow.
    pub fn set_resend_check(&mut self, check: Option<ResendCheck>) {
        self.resend_check = check.map(Guard);
    }

    /// Makes every wait of this client (pacing, rate limits, retry backoff) and every read in
    /// flight end when `cancel` is cancelled.
    pub fn set_cancel(&mut self, cancel: tokio_util::sync::CancellationToken) {
        self.cancel = Some(cancel);
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Whether this client authenticates as a GitHub App (JWT) rather than with a token.
    pub fn is_app(&self) -> bool {
        matches!(self.credentials, Credentials::App { .. })
    }

    /// `base_url` + `path` (which starts with `/`), with `query`.
    pub(crate) fn endpoint(&self, path: &str, query: Option<&str>) -> Url {
        let mut url = self.config.base_url.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{path}"));
        url.set_query(query);
        url.set_fragment(None);
        url
    }

    /// Maps a final non-2xx answer to an error. `read` decides whether a 404 is `NotFound` (a GET)
    /// or `Refused` (a request GitHub declined).
    pub(crate) fn error_for(&self, answer: &Answer, read: bool) -> ApiError {
        let message = answer.message.clone();
        let request_id = answer.request_id.clone();
        match answer.status {
            401 => ApiError::Unauthorized { message, request_id },
            403 => ApiError::Forbidden { message, request_id },
            404 if read => ApiError::NotFound { message, request_id },
            429 => ApiError::RateLimited { until: None, message },
            status @ 500.. => ApiError::Server { status, message, request_id },
            status => ApiError::Refused { status, message, request_id },
        }
    }

    fn check_target(&self, target: &HookTarget) -> Result<(), ApiError> {
        match (&self.credentials, target.needs_app_jwt()) {
            (Credentials::App { .. }, true) | (Credentials::Token(_), false) => Ok(()),
            (Credentials::Token(_), true) => Err(ApiError::Config {
                detail: "the app hook can only be read as the GitHub App itself (a JWT): set APP_ID \
                         and PRIVATE_KEY instead of a token"
                    .into(),
            }),
            (Credentials::App { .. }, false) => Err(ApiError::Config {
                detail: format!(
                    "the {target} must be read with a token, not with the GitHub App's JWT: set TOKEN \
                     to a personal access token with access to the hook"
                ),
            }),
        }
    }

    fn check_same_origin(&self, url: &Url) -> Result<(), ApiError> {
        if same_origin(url, &self.config.base_url) {
            Ok(())
        } else {
            Err(ApiError::Config {
                detail: format!(
                    "refusing to send the credentials to {}, which is not the API base URL {}",
                    url.origin().ascii_serialization(),
                    self.config.base_url.origin().ascii_serialization()
                ),
            })
        }
    }
}

/// Warns, once per process, that credentials go in cleartext to a host across the network.
fn warn_of_cleartext(base: &Url) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if base.scheme() == "http" && !is_loopback(base) && !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        tracing::warn!(
            host = base.host_str().unwrap_or(""),
            "the API URL is http://, so the token or JWT crosses the network unencrypted; use \
             https:// (for a private CA: --ca-cert FILE, or SSL_CERT_FILE)"
        );
    }
}

/// One field of a JSON object answer, or `Malformed` naming what was being done.
fn json_field<T>(
    answer: &Answer,
    field: &str,
    read: impl Fn(&serde_json::Value) -> Option<T>,
    doing: &str,
) -> Result<T, ApiError> {
    serde_json::from_slice::<serde_json::Value>(&answer.body)
        .ok()
        .and_then(|json| json.get(field).and_then(&read))
        .ok_or_else(|| ApiError::Malformed {
            detail: format!("{doing} returned no `{field}` ({})", describe_body_kind(&answer.headers, &answer.body)),
            request_id: answer.request_id.clone(),
        })
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.origin() == b.origin()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> GitHubClient {
        GitHubClient::new(ClientConfig::new(Url::parse(base).unwrap()), Credentials::Token(Secret::new("t"))).unwrap()
    }

    #[test]
    fn endpoints_keep_the_base_path_prefix() {
        let ghes = client("https://ghe.example/api/v3");
        assert_eq!(
            ghes.endpoint("/app/hook/deliveries", Some("per_page=100")).as_str(),
            "https://ghe.example/api/v3/app/hook/deliveries?per_page=100"
        );
        let slash = client("https://ghe.example/api/v3/");
        assert_eq!(slash.endpoint("/x", None).as_str(), "https://ghe.example/api/v3/x");
        let dotcom = client("https://api.github.com");
        let target = HookTarget::Repo { owner: "o".into(), repo: "r".into(), hook_id: 1 };
        assert_eq!(
            dotcom.endpoint(&target.attempts_path(5), None).as_str(),
            "https://api.github.com/repos/o/r/hooks/1/deliveries/5/attempts"
        );
    }

    #[test]
    fn bad_base_urls_are_config_errors() {
        for base in [
            "ftp://api.github.com",
            "https://user:pass@api.github.com",
            "https://api.github.com/?x=1",
            "https://github.com",
        ] {
            let result =
                GitHubClient::new(ClientConfig::new(Url::parse(base).unwrap()), Credentials::Token(Secret::new("t")));
            let err = result.unwrap_err();
            assert!(matches!(err, ApiError::Config { .. }), "{base}: {err:?}");
            assert!(!err.to_string().contains("pass@"), "{err}");
        }
    }

    #[tokio::test]
    async fn token_cannot_read_the_app_hook_and_jwt_cannot_read_repo_hooks() {
        let mut c = client("http://127.0.0.1:9");
        let err = c.list_deliveries(&HookTarget::App, None).await.unwrap_err();
        assert!(matches!(err, ApiError::Config { .. }), "{err:?}");
        assert_eq!(c.stats().total(), 0, "nothing was sent");
        let key =
            super::super::auth::AppKey::from_pem(include_str!("../../../redeliver-sim/keys/test-app-key.pem")).unwrap();
        let mut app = GitHubClient::new(
            ClientConfig::new(Url::parse("http://127.0.0.1:9").unwrap()),
            Credentials::App { app_id: "1".into(), key },
        )
        .unwrap();
        let target = HookTarget::Org { org: "o".into(), hook_id: 1 };
        assert!(matches!(app.redeliver(&target, 1).await, Err(ApiError::Config { .. })));
    }

    #[tokio::test]
    async fn next_urls_on_another_host_are_refused() {
        let mut c = client("http://127.0.0.1:9");
        let target = HookTarget::Org { org: "o".into(), hook_id: 1 };
        let evil = Url::parse("https://evil.example/orgs/o/hooks/1/deliveries?cursor=x").unwrap();
        let err = c.list_deliveries(&target, Some(&evil)).await.unwrap_err();
        assert!(matches!(err, ApiError::Config { .. }), "{err:?}");
        assert_eq!(c.stats().total(), 0);
    }
}

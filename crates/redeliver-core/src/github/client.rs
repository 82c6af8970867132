//! The HTTP client: one per credential, strictly serial (`&mut self`), pacing its state-changing
//! requests and waiting out rate limits the way GitHub asks
//! (<https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api>):
//! "make requests serially instead of concurrently", "wait at least one second between each"
//! mutating request, and honour `retry-after` / `x-ratelimit-reset`.
//!
//! The decisions (how long, whether to retry) come from [`super::ratelimit`], [`super::retry`]
//! and [`super::auth`]; this file sends, sleeps and keeps count.

use super::auth::{Credentials, clock_skew, jwt_claims, jwt_needs_renewal};
use super::error::ApiError;
use super::link::next_link;
use super::pace::{Pace, PaceSignal, Pacer};
use super::ratelimit::{RateHeaders, rate_limit_wait};
use super::retry::{backoff, is_retryable_status};
use super::stats::{RateLimitSnapshot, RequestStats};
pub use super::step::{MAX_RATE_LIMIT_WAITS, RETRY_CAP};
use super::target::{HookTarget, escape_segment};
use super::text::{describe_body, describe_body_kind, error_message, header_text, transport_detail};
use crate::model::{Delivery, DeliveryRef, parse_page};
use crate::secret::Secret;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::time::Duration;
use tokio::time::Instant;
use url::Url;

/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";

/// How a [`GitHubClient`] talks to GitHub. Start from [`ClientConfig::new`] and change fields.
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
}

impl ClientConfig {
    /// Defaults: pace 1 s, 4 retries from 1 s, 30 s timeout, rate-limit waits up to 15 minutes.
    pub fn new(base_url: Url) -> Self {
        ClientConfig {
            base_url,
            user_agent: concat!("redeliver/", env!("CARGO_PKG_VERSION")).to_owned(),
            pace: Pace::DEFAULT,
            max_retries: 4,
            retry_base: Duration::from_secs(1),
            timeout: Duration::from_secs(30),
            max_rate_limit_wait: Duration::from_secs(15 * 60),
        }
    }
}

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
    /// The `Link: rel="next"` URL, `None` on the last page.
    pub next: Option<Url>,
}

/// A signed JWT and when it stops working.
#[derive(Debug)]
struct CachedJwt {
    token: Secret,
    expires_at: DateTime<Utc>,
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
    stats: RequestStats,
}

/// One request as the retry loop sees it.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub endpoint: &'static str,
    pub body: Option<serde_json::Value>,
    /// Whether sending it twice is harmless, so that a 5xx or a timeout may be retried. A
    /// redelivery is not: GitHub may have queued it before failing to answer.
    pub repeatable: bool,
}

/// GitHub's final answer to a [`Call`] (success, or an error the caller maps).
pub(crate) struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: Url,
    pub request_id: Option<String>,
    pub message: String,
}

impl Answer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

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
        let http = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .default_headers(headers)
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
        mut each: F,
    ) -> Result<ListedPage, ApiError>
    where
        F: for<'b> FnMut(DeliveryRef<'b>),
    {
        self.check_target(target)?;
        let url = match next {
            Some(url) => {
                self.check_same_origin(url)?;
                url.clone()
            }
            None => self.endpoint(&target.deliveries_path(), Some("per_page=100")),
        };
        let call = Call { method: Method::GET, url, endpoint: "list_deliveries", body: None, repeatable: true };
        let answer = self.call(&call).await?;
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
                "skipping listed items that are not deliveries (missing or mistyped id, guid or delivered_at)"
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
        Ok(ListedPage { deliveries, next })
    }

    /// Asks GitHub to redeliver one delivery (`POST …/deliveries/{id}/attempts`, answered 202).
    /// Rate-limited answers are waited out and the request re-sent (GitHub did not process it);
    /// a 5xx, a timeout or a dropped connection is [`ApiError::Ambiguous`] and never re-sent.
    pub async fn redeliver(&mut self, target: &HookTarget, delivery_id: u64) -> Result<(), ApiError> {
        self.check_target(target)?;
        let url = self.endpoint(&target.attempts_path(delivery_id), None);
        let call = Call { method: Method::POST, url, endpoint: "redeliver", body: None, repeatable: false };
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
        let call = Call { method: Method::GET, url, endpoint: "installation", body: None, repeatable: true };
        let answer = self.call(&call).await?;
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        let id = json_field(&answer, "id", |v| v.as_u64(), "finding the App's installation")?;
        let url = self.endpoint(&format!("/app/installations/{id}/access_tokens"), None);
        // Minting a second token is harmless, so a failed attempt may be repeated.
        let call = Call { method: Method::POST, url, endpoint: "installation", body: None, repeatable: true };
        let answer = self.call(&call).await?;
        if !answer.is_success() {
            return Err(self.error_for(&answer, true));
        }
        let token = json_field(&answer, "token", |v| v.as_str().map(Secret::new), "minting an installation token")?;
        Ok(token)
    }

    /// Counts of what was sent and answered, rate-limit headers and waits.
    pub fn stats(&self) -> &RequestStats {
        &self.stats
    }

    /// The current gap between state-changing requests (it moves under [`Pace::Auto`]).
    pub fn pace_gap(&self) -> Duration {
        self.pacer.gap()
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

    /// The `Authorization` value: the token, or a JWT renewed when close to expiry.
    fn authorization(&mut self) -> Result<Secret, ApiError> {
        match &self.credentials {
            Credentials::Token(token) => Ok(token.clone()),
            Credentials::App { app_id, key } => {
                let now = Utc::now() + self.clock_skew;
                if let Some(jwt) = &self.jwt
                    && !jwt_needs_renewal(jwt.expires_at, now)
                {
                    return Ok(jwt.token.clone());
                }
                let claims = jwt_claims(app_id, now);
                let token = key.sign(&claims).map_err(|e| ApiError::Config {
                    detail: format!("could not sign a JWT with PRIVATE_KEY ({:?})", e.kind()),
                })?;
                tracing::debug!(exp = claims.exp, "signed a new App JWT");
                self.jwt = Some(CachedJwt { token: token.clone(), expires_at: claims.expires_at() });
                Ok(token)
            }
        }
    }

    /// Sends `call` until GitHub gives a final answer: waits out rate limits, retries repeatable
    /// requests on 5xx and network errors, re-signs the JWT once when GitHub blames our clock.
    /// Returns the answer (2xx or an error status for the caller to map) or a terminal error.
    pub(crate) async fn call(&mut self, call: &Call) -> Result<Answer, ApiError> {
        let mutating = call.method != Method::GET && call.method != Method::HEAD;
        let method = method_name(&call.method);
        let mut failures = 0u32;
        let mut rate_limited = 0u32;
        let mut skew_retried = false;
        loop {
            if mutating && let Some(at) = self.pacer.next_at() {
                tokio::time::sleep_until(at).await;
            }
            let auth = self.authorization()?;
            let mut request = self.http.request(call.method.clone(), call.url.clone()).bearer_auth(auth.expose());
            if let Some(body) = &call.body {
                request = request.json(body);
            }
            let started = Instant::now();
            let result = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let headers = response.headers().clone();
                    let url = response.url().clone();
                    response.bytes().await.map(|body| (status, headers, url, Vec::from(body)))
                }
                Err(e) => Err(e),
            };
            let (status, headers, url, body) = match result {
                Ok(answer) => answer,
                Err(e) => {
                    if mutating {
                        self.pacer.record(PaceSignal::Neutral, Instant::now());
                    }
                    self.stats.record(method, call.endpoint, None);
                    let detail = transport_detail(&e, &call.url, self.config.timeout);
                    tracing::debug!(method, path = call.url.path(), error = %detail, "no answer from GitHub");
                    // A refused connection never carried the request; anything later might have.
                    if !call.repeatable && !e.is_connect() {
                        return Err(ApiError::Ambiguous {
                            detail: format!(
                                "{detail}. The request was not re-sent, because GitHub may have acted on it"
                            ),
                        });
                    }
                    if failures < self.config.max_retries {
                        self.pause_before_retry(failures).await;
                        failures += 1;
                        continue;
                    }
                    return Err(ApiError::Transport { detail });
                }
            };

            self.stats.record(method, call.endpoint, Some(status));
            let request_id = header_text(&headers, "x-github-request-id");
            let message = error_message(status, &body);
            let rate = RateHeaders::from_headers(&headers, &message);
            if rate.remaining.is_some() || rate.limit.is_some() {
                self.stats.rate_limit = Some(RateLimitSnapshot {
                    remaining: rate.remaining,
                    limit: rate.limit,
                    reset: rate.reset_at(),
                    resource: rate.resource.clone(),
                });
            }
            tracing::debug!(
                method,
                path = url.path(),
                query = url.query().unwrap_or(""),
                status,
                request_id = request_id.as_deref().unwrap_or(""),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "GitHub answered"
            );
            let answer = Answer { status, headers, body, url, request_id, message };
            let limited = rate_limit_wait(status, &rate, rate_limited, Utc::now());
            if mutating {
                let signal = if limited.is_some() || (status >= 400 && rate.retry_after.is_some()) {
                    PaceSignal::Limited
                } else if status >= 500 {
                    PaceSignal::Neutral
                } else {
                    PaceSignal::Accepted
                };
                self.pacer.record(signal, Instant::now());
            }
            if answer.is_success() {
                return Ok(answer);
            }

            if status == 401 && !skew_retried && self.is_app() {
                let date = header_text(&answer.headers, "date");
                if let Some(skew) = clock_skew(&answer.message, date.as_deref(), Utc::now()) {
                    tracing::info!(
                        skew_seconds = skew.num_seconds(),
                        "GitHub's clock differs from ours; signing a new JWT on its time"
                    );
                    self.clock_skew = skew;
                    self.jwt = None;
                    skew_retried = true;
                    continue;
                }
            }

            if let Some(wait) = limited {
                let until = Utc::now() + TimeDelta::from_std(wait).unwrap_or(TimeDelta::MAX);
                if wait > self.config.max_rate_limit_wait || rate_limited >= MAX_RATE_LIMIT_WAITS {
                    return Err(ApiError::RateLimited { until: Some(until), message: answer.message });
                }
                tracing::info!(
                    method,
                    path = call.url.path(),
                    wait_seconds = wait.as_secs_f64(),
                    request_id = answer.request_id.as_deref().unwrap_or(""),
                    "rate limited by GitHub; waiting before sending again"
                );
                tokio::time::sleep(wait).await;
                self.stats.rate_limit_waited += wait;
                rate_limited += 1;
                continue;
            }

            if is_retryable_status(status) {
                if !call.repeatable {
                    return Err(ApiError::Ambiguous {
                        detail: format!(
                            "{method} {} was answered {status} ({}){}. The request was not re-sent, \
                             because GitHub may have acted on it",
                            call.url.path(),
                            answer.message,
                            answer
                                .request_id
                                .as_deref()
                                .map(|id| format!(", GitHub request id {id}"))
                                .unwrap_or_default()
                        ),
                    });
                }
                if failures < self.config.max_retries {
                    self.pause_before_retry(failures).await;
                    failures += 1;
                    continue;
                }
            }
            return Ok(answer);
        }
    }

    async fn pause_before_retry(&mut self, failures: u32) {
        self.stats.retries += 1;
        let wait = backoff(failures, self.config.retry_base, RETRY_CAP, fastrand::f64());
        tokio::time::sleep(wait).await;
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

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PATCH => "PATCH",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        _ => "OTHER",
    }
}

/// A usable API base: http(s), a host, no credentials, query or fragment, and not the web host.
fn check_base_url(url: &Url) -> Result<(), ApiError> {
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

    #[test]
    fn defaults() {
        let c = ClientConfig::new(Url::parse("https://api.github.com").unwrap());
        assert_eq!(c.pace, Pace::Fixed(Duration::from_secs(1)));
        assert_eq!(c.max_retries, 4);
        assert_eq!(c.retry_base, Duration::from_secs(1));
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert_eq!(c.max_rate_limit_wait, Duration::from_secs(900));
        assert!(c.user_agent.starts_with("redeliver/"));
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

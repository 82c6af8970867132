//! The request loop: send, classify what came back, ask [`next_step`] what to do, and do it
//! (sleep, re-sign the JWT, send again, or give up). Every decision is in [`crate::github::step`];
//! this file sends, sleeps, keeps count and logs.

use super::GitHubClient;
use crate::github::auth::{Credentials, jwt_claims, jwt_needs_renewal};
use crate::github::error::ApiError;
use crate::github::ratelimit::RateHeaders;
use crate::github::stats::RateLimitSnapshot;
use crate::github::step::{Attempts, Failure, Reply, RequestKind, Step, next_step};
use crate::github::text::{error_message, header_text, transport_detail};
use crate::secret::Secret;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::Method;
use reqwest::header::HeaderMap;
use tokio::time::Instant;
use url::Url;

/// One request as the loop sees it.
pub(crate) struct Call {
    pub method: Method,
    pub url: Url,
    pub endpoint: &'static str,
    pub body: Option<serde_json::Value>,
    /// Whether sending it twice is harmless, and whether it is paced. A redelivery is
    /// [`RequestKind::NonRepeatable`]: GitHub may have queued it before failing to answer.
    pub kind: RequestKind,
    /// `If-None-Match`: the `ETag` of an earlier answer; a 304 then means "unchanged".
    pub if_none_match: Option<String>,
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

/// A signed JWT and when it stops working.
#[derive(Debug)]
pub(super) struct CachedJwt {
    token: Secret,
    expires_at: DateTime<Utc>,
}

impl GitHubClient {
    /// Sends `call` until GitHub gives a final answer: waits out rate limits, retries repeatable
    /// requests on 5xx and network errors, re-signs the JWT once when GitHub blames our clock.
    /// Returns the answer (2xx or an error status for the caller to map) or a terminal error.
    pub(crate) async fn call(&mut self, call: &Call) -> Result<Answer, ApiError> {
        let policy = self.config.retry_policy(self.is_app());
        let mut tried = Attempts::default();
        let started = Instant::now();
        loop {
            if call.kind.is_write()
                && let Some(at) = self.pacer.next_at()
            {
                self.sleep_or_cancel(at.saturating_duration_since(Instant::now())).await?;
            }
            let sent = self.send(call).await?;
            let reply = match &sent {
                Ok(answer) => Reply::Http { status: answer.status, headers: &answer.headers, message: &answer.message },
                Err(none) => none.reply,
            };
            let now = Utc::now();
            if call.kind.is_write() {
                self.pacer.record(reply.pace_signal(now), Instant::now());
            }
            match next_step(call.kind, &reply, tried, &policy, now, fastrand::f64()) {
                // `Done` follows only an answer; after none, the error would be the transport's.
                Step::Done => {
                    return sent.map_err(|none| ApiError::Transport { detail: tries(&none.detail, tried, started) });
                }
                Step::Fail(failure) => return Err(give_up(failure, sent, call, tried, started)),
                Step::FixClockSkew(skew) => {
                    tracing::info!(
                        skew_seconds = skew.num_seconds(),
                        "GitHub's clock differs from ours; signing a new JWT on its time"
                    );
                    self.clock_skew = skew;
                    self.jwt = None;
                    tried.clock_fixed = true;
                }
                Step::WaitRateLimit(wait) => {
                    tracing::info!(
                        method = method_name(&call.method),
                        path = call.url.path(),
                        wait_seconds = wait.as_secs_f64(),
                        request_id = sent.as_ref().ok().and_then(|a| a.request_id.as_deref()).unwrap_or(""),
                        "rate limited by GitHub; waiting before sending again"
                    );
                    self.sleep_or_cancel(wait).await?;
                    self.stats.rate_limit_waited = self.stats.rate_limit_waited.saturating_add(wait);
                    tried.rate_limit_waits += 1;
                    // Written down under a lease that may have run out meanwhile: GitHub never
                    // acted on the request, and the target's new owner sends it, not this one.
                    if call.kind.is_write()
                        && let Some(check) = &self.resend_check
                        && !(check.0)()
                    {
                        return Err(ApiError::RateLimited {
                            until: None,
                            message: "rate limited, and by the end of the wait this process no longer held the lease \
                                      it wrote the request down under; not sent (the target's new owner sends it)"
                                .into(),
                        });
                    }
                }
                Step::Retry(wait) => {
                    // Shown at `-v`: a retry is otherwise seconds of silence.
                    let reason = match &sent {
                        Ok(answer) => format!("answered {} ({})", answer.status, answer.message),
                        Err(none) => none.detail.clone(),
                    };
                    tracing::info!(
                        method = method_name(&call.method),
                        path = call.url.path(),
                        "{reason}; trying again in {} (retry {} of {})",
                        // Whole seconds once it is that long: "1s460ms" says more than anyone reads.
                        crate::policy::format_duration(if wait.as_secs() >= 1 {
                            std::time::Duration::from_secs(wait.as_secs_f64().round() as u64)
                        } else {
                            wait
                        }),
                        tried.retries + 1,
                        policy.max_retries
                    );
                    self.stats.retries += 1;
                    self.sleep_or_cancel(wait).await?;
                    tried.retries += 1;
                }
            }
        }
    }

    /// Waits until pacing lets the next state-changing request go, or ends early with
    /// [`ApiError::Cancelled`] on shutdown: a caller that writes down a request before sending
    /// it waits here first, so that neither a kill nor a shutdown comes between its note and
    /// the send (a redelivery is recorded as `sending` only once nothing stands in between).
    pub async fn pace_ready(&self) -> Result<(), ApiError> {
        self.sleep_or_cancel(self.pacer.wait(Instant::now())).await
    }

    /// Sleeps `wait`, or ends early with [`ApiError::Cancelled`] on shutdown (no wait, no end).
    async fn sleep_or_cancel(&self, wait: std::time::Duration) -> Result<(), ApiError> {
        if wait.is_zero() {
            return Ok(());
        }
        match &self.cancel {
            None => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Some(cancel) => tokio::select! {
                () = cancel.cancelled() => Err(ApiError::Cancelled),
                () = tokio::time::sleep(wait) => Ok(()),
            },
        }
    }

    /// [`Self::attempt`], except that on shutdown a read is not sent, or abandoned in flight
    /// (sending it again later is harmless). A write that got this far goes, and its answer is
    /// awaited (within the timeout): its caller has written it down as being sent.
    async fn send(&mut self, call: &Call) -> Result<Result<Answer, NoAnswer>, ApiError> {
        let Some(cancel) = self.cancel.clone().filter(|_| !call.kind.is_write()) else {
            return self.attempt(call).await;
        };
        if cancel.is_cancelled() {
            return Err(ApiError::Cancelled);
        }
        tokio::select! {
            () = cancel.cancelled() => Err(ApiError::Cancelled),
            sent = self.attempt(call) => sent,
        }
    }

    /// One attempt: signs, sends, reads the whole body, and counts and logs what came back.
    async fn attempt(&mut self, call: &Call) -> Result<Result<Answer, NoAnswer>, ApiError> {
        let method = method_name(&call.method);
        let auth = self.authorization()?;
        let mut request = self.http.request(call.method.clone(), call.url.clone()).bearer_auth(auth.expose());
        if let Some(body) = &call.body {
            request = request.json(body);
        }
        if let Some(tag) = &call.if_none_match {
            request = request.header(reqwest::header::IF_NONE_MATCH, tag);
        }
        let started = Instant::now();
        let sent_at = Utc::now(); // for GitHub's clock (`Date`), below
        let result = match request.send().await {
            Ok(response) => {
                let status = response.status().as_u16();
                let headers = response.headers().clone();
                let url = response.url().clone();
                match read_capped(response, self.config.max_body).await {
                    Ok(body) => Ok((status, headers, url, body)),
                    Err(BodyError::Read(e)) => Err(e),
                    Err(BodyError::TooLarge) => {
                        self.stats.record(method, call.endpoint, Some(status));
                        return Err(too_large(call, self.config.max_body));
                    }
                }
            }
            Err(e) => Err(e),
        };
        let (status, headers, url, body) = match result {
            Ok(parts) => parts,
            Err(e) => {
                self.stats.record(method, call.endpoint, None);
                let detail = transport_detail(&e, &call.url, self.config.timeout);
                tracing::debug!(method, path = call.url.path(), error = %detail, "no answer from GitHub");
                // A refused connection never carried the request; anything later might have.
                let reply = if e.is_connect() { Reply::NotConnected } else { Reply::Lost };
                return Ok(Err(NoAnswer { reply, detail }));
            }
        };
        self.stats.record(method, call.endpoint, Some(status));
        // GitHub's clock, from every answer (issue 8, case 4): windows are computed on it.
        self.stats.learn_date(header_text(&headers, "date"), sent_at, Utc::now());
        let request_id = header_text(&headers, "x-github-request-id").map(str::to_owned);
        let message = error_message(status, &body);
        let rate = RateHeaders::from_headers(&headers, &message);
        if rate.remaining.is_some() || rate.limit.is_some() {
            self.stats.rate_limit = Some(RateLimitSnapshot {
                remaining: rate.remaining,
                limit: rate.limit,
                reset: rate.reset_at(),
                resource: rate.resource,
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
        Ok(Ok(Answer { status, headers, body, url, request_id, message }))
    }

    /// The `Authorization` value: the token, or a JWT renewed when close to expiry.
    fn authorization(&mut self) -> Result<Secret, ApiError> {
        match &self.credentials {
            Credentials::Token(token) => Ok(token.clone()),
            Credentials::App { app_id, key } => {
                // GitHub's time; the skew came from a server's `Date`, so it may reach past the
                // end of representable time.
                let now =
                    Utc::now().checked_add_signed(self.clock_skew).unwrap_or(if self.clock_skew > TimeDelta::zero() {
                        DateTime::<Utc>::MAX_UTC
                    } else {
                        DateTime::<Utc>::MIN_UTC
                    });
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
}

/// An attempt without an answer: whether it may have reached GitHub, and what failed, in words.
struct NoAnswer {
    reply: Reply<'static>,
    detail: String,
}

/// Words a [`Failure`] for the user: what happened to `call`, with GitHub's message and request
/// id when it answered.
fn give_up(
    failure: Failure,
    sent: Result<Answer, NoAnswer>,
    call: &Call,
    tried: Attempts,
    started: Instant,
) -> ApiError {
    let (location, request_id) = match &sent {
        Ok(answer) => (redirect_target(answer), answer.request_id.clone()),
        Err(_) => (None, None),
    };
    let (what, message) = match sent {
        Ok(answer) => {
            let id = answer.request_id.as_deref().map(|id| format!(", GitHub request id {id}")).unwrap_or_default();
            let what = format!(
                "{} {} was answered {} ({}){id}",
                method_name(&call.method),
                call.url.path(),
                answer.status,
                answer.message
            );
            (what, answer.message)
        }
        Err(none) => (none.detail.clone(), none.detail),
    };
    match failure {
        Failure::Ambiguous => ApiError::Ambiguous {
            detail: format!("{what}. The request was not re-sent, because GitHub may have acted on it"),
        },
        Failure::Unreachable => ApiError::Transport { detail: tries(&what, tried, started) },
        Failure::RateLimited { until } => ApiError::RateLimited { until, message },
        Failure::Redirected { status } => ApiError::Redirected {
            what: format!("{} {}", method_name(&call.method), call.url.path()),
            status,
            location,
            request_id,
        },
    }
}

/// `detail` with how many times the request was sent and for how long, for a request that never
/// got an answer: "… (4 attempts in 7 s)".
fn tries(detail: &str, tried: Attempts, started: Instant) -> String {
    let attempts = tried.retries + 1;
    let plural = if attempts == 1 { "" } else { "s" };
    format!("{detail} ({attempts} attempt{plural} in {} s)", started.elapsed().as_secs())
}

/// Where a redirect pointed, resolved against the answered URL: origin and path only, since a
/// login page's query may carry a return address or a token.
fn redirect_target(answer: &Answer) -> Option<String> {
    let location = header_text(&answer.headers, "location")?;
    let target = answer.url.join(location).ok()?;
    Some(format!("{}{}", target.origin().ascii_serialization(), target.path()))
}

/// Why a body was not read whole.
enum BodyError {
    /// The connection failed while it streamed.
    Read(reqwest::Error),
    /// It grew past the cap; reading stopped there.
    TooLarge,
}

/// Reads a body chunk by chunk and stops as soon as it passes `cap` bytes, so a server that
/// streams without end costs at most `cap` of memory. A `Content-Length` over the cap is
/// refused before any of it is read.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > cap as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = Vec::with_capacity(response.content_length().map_or(8 * 1024, |n| n as usize));
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len().saturating_add(chunk.len()) > cap {
            return Err(BodyError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A body past the cap: a read fails cleanly; a redelivery, whose status came before its body,
/// may have been made and is never recorded as accepted.
fn too_large(call: &Call, cap: usize) -> ApiError {
    let detail = format!(
        "the answer from {}{} is larger than {} MiB; reading stopped there",
        call.url.host_str().unwrap_or(""),
        call.url.path(),
        cap / (1024 * 1024)
    );
    if call.kind.is_repeatable() {
        ApiError::Malformed { detail, request_id: None }
    } else {
        ApiError::Ambiguous { detail }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::{AppKey, ClientConfig, HookTarget};
    use redeliver_sim::{Fault, FaultRule, Sim, keys};

    #[tokio::test]
    async fn a_retry_after_beyond_the_end_of_time_fails_at_once_without_panicking() {
        let sim = Sim::start().await.unwrap();
        sim.world().add_token("t");
        let forever = Fault::TooManyRequests { retry_after: Some(99_999_999_999_999) };
        sim.world().inject(FaultRule::new("/orgs", forever));
        let config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
        let mut client = GitHubClient::new(config, Credentials::Token(Secret::new("t"))).unwrap();

        let target = HookTarget::Org { org: "o".into(), hook_id: 1 };
        let err = client.list_deliveries(&target, None).await.unwrap_err();

        assert!(matches!(err, ApiError::RateLimited { until: None, .. }), "{err:?}");
        assert_eq!(client.stats().total(), 1, "not re-sent");
        assert_eq!(client.stats().rate_limit_waited, std::time::Duration::ZERO);
    }

    #[tokio::test]
    async fn a_cancelled_client_stops_waiting_at_once_and_sends_nothing_more() {
        let sim = Sim::start().await.unwrap();
        sim.world().add_token("t");
        // Two minutes of Retry-After: far longer than this test may take.
        sim.world().inject(FaultRule::new("/orgs", Fault::TooManyRequests { retry_after: Some(120) }));
        let config = ClientConfig::new(Url::parse(&sim.base_url()).unwrap());
        let mut client = GitHubClient::new(config, Credentials::Token(Secret::new("t"))).unwrap();
        let cancel = tokio_util::sync::CancellationToken::new();
        client.set_cancel(cancel.clone());
        let target = HookTarget::Org { org: "o".into(), hook_id: 1 };
        let stop = cancel.clone();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            stop.cancel();
        });
        let bounded = tokio::time::timeout(std::time::Duration::from_secs(60), client.list_deliveries(&target, None));
        let err = bounded.await.expect("the wait ended on cancellation").unwrap_err();
        stopper.await.unwrap();
        assert!(matches!(err, ApiError::Cancelled), "{err:?}");
        assert_eq!(client.stats().total(), 1, "nothing sent after the 429");
        let again = client.list_deliveries(&target, None).await.unwrap_err();
        assert!(matches!(again, ApiError::Cancelled), "{again:?}");
        assert_eq!(client.stats().total(), 1, "nothing new starts once cancelled");
    }

    #[test]
    fn a_clock_skew_to_the_ends_of_time_still_signs() {
        let key = AppKey::from_pem(keys::TEST_APP_KEY_PKCS1).unwrap();
        let config = ClientConfig::new(Url::parse("http://127.0.0.1:9").unwrap());
        let mut app = GitHubClient::new(config, Credentials::App { app_id: "1".into(), key }).unwrap();
        for skew in [TimeDelta::MAX, TimeDelta::MIN] {
            app.clock_skew = skew;
            app.jwt = None;
            assert!(app.authorization().is_ok(), "{skew}");
        }
    }
}

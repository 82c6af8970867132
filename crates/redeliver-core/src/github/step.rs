//! What the client does after one attempt at a request, as a pure function of the request's
//! kind, what came back, what was tried already, the retry policy and `now` (the shape of cargo's
//! `RetryResult`): [`next_step`] decides, the async client only sleeps, re-signs and sends.
//!
//! The rules, in order; the first that applies wins:
//!
//! 1. **A 2xx is [`Step::Done`]; a redirect is [`Failure::Redirected`]** (any 3xx but 304,
//!    which answers a conditional request). The client follows no redirect: a `Location` on an API call comes from an SSO
//!    proxy's login page or a base URL that is not the REST API root, and following it re-sends a
//!    POST as a GET (recorded as a success) or carries the credentials to another origin. For a
//!    redelivery this is not ambiguous: whoever redirected did not carry it out.
//! 2. **No answer.** A connection that could not be made never carried the request, so any
//!    request is retried. A request that was sent and then lost (timeout, reset, cut-off body)
//!    may have been acted on: a [`RequestKind::NonRepeatable`] one (a redelivery) fails as
//!    [`Failure::Ambiguous`] and is never re-sent; a repeatable one is retried. Retries back off
//!    exponentially with jitter ([`super::retry::backoff`]); after `max_retries` the request
//!    fails as [`Failure::Unreachable`].
//! 3. **A 401 that blames the JWT's times** (`'exp'`/`'iat'` in GitHub's message) for an App,
//!    with a `Date` header: re-sign on GitHub's clock and send again, once
//!    ([`Step::FixClockSkew`]). GitHub asks that `iat` be set "60 seconds in the past" and the
//!    clock kept right
//!    (<https://docs.github.com/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-json-web-token-jwt-for-a-github-app>);
//!    when the clock is not, its own `Date` is the best time to sign with.
//! 4. **A rate limit** (403/429 as [`super::ratelimit`] reads it, which follows
//!    <https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit>):
//!    GitHub did not process the request, so any kind is sent again after the wait
//!    ([`Step::WaitRateLimit`]). A wait longer than `max_rate_limit_wait`, or a request that was
//!    rate limited `max_rate_limit_waits` times already ("throw an error after a specific number
//!    of retries"), fails as [`Failure::RateLimited`] at once instead of hanging a scheduled job.
//! 5. **A 5xx worth retrying** (not 501 or 505): a non-repeatable request fails as
//!    [`Failure::Ambiguous`]; a repeatable one is retried as in rule 2, and after `max_retries`
//!    the last answer is [`Step::Done`] for the caller to report as a server error.
//! 6. **Anything else is [`Step::Done`]**: the caller maps the status (a 404 on a read is "not
//!    found", on a redelivery "refused").
//!
//! Header values are numbers a server chose: a `Retry-After` of a billion years or an
//! `X-RateLimit-Reset` at the end of representable time is a wait too long to make, never an
//! overflow.

use super::auth::clock_skew;
use super::pace::PaceSignal;
use super::ratelimit::{RateHeaders, rate_limit_wait};
use super::retry::{backoff, is_retryable_status};
use super::text::header_text;
use chrono::{DateTime, TimeDelta, Utc};
use reqwest::header::HeaderMap;
use std::time::Duration;

/// Longest single backoff between retries of a read.
pub const RETRY_CAP: Duration = Duration::from_secs(30);
/// How many rate-limited answers one request may wait out before the client gives up
/// (GitHub: "throw an error after a specific number of retries").
pub const MAX_RATE_LIMIT_WAITS: u32 = 8;

/// What sending a request twice would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// A GET: harmless to repeat, and never paced.
    Read,
    /// A state-changing request that is harmless to repeat (minting an installation token,
    /// setting a variable): retried like a read, paced like a write.
    RepeatableWrite,
    /// A state-changing request GitHub may carry out before failing to answer (a redelivery):
    /// never re-sent once it may have reached GitHub.
    NonRepeatable,
}

impl RequestKind {
    /// Whether a lost or 5xx attempt may be sent again.
    pub fn is_repeatable(self) -> bool {
        self != RequestKind::NonRepeatable
    }

    /// Whether the request changes state, so that it is paced
    /// (<https://docs.github.com/rest/using-the-rest-api/best-practices-for-using-the-rest-api#pause-between-mutative-requests>).
    pub fn is_write(self) -> bool {
        self != RequestKind::Read
    }
}

/// What came back from one attempt.
#[derive(Debug, Clone, Copy)]
pub enum Reply<'a> {
    /// GitHub answered with `status`; `message` is GitHub's error message, empty for a 2xx.
    Http { status: u16, headers: &'a HeaderMap, message: &'a str },
    /// No connection could be made: the request never left this machine.
    NotConnected,
    /// The request was sent (at least in part) and no complete answer came: a timeout, a reset,
    /// a cut-off body.
    Lost,
}

impl Reply<'_> {
    /// What this reply says about the pace of state-changing requests: a rate limit or any
    /// error answer with `Retry-After` slows it, no answer or a 5xx says nothing, and every
    /// other answer means GitHub took the request.
    pub fn pace_signal(&self, now: DateTime<Utc>) -> PaceSignal {
        let Reply::Http { status, headers, message } = *self else { return PaceSignal::Neutral };
        let rate = RateHeaders::from_headers(headers, message);
        if status >= 400 && (rate.retry_after.is_some() || rate_limit_wait(status, &rate, 0, now).is_some()) {
            PaceSignal::Limited
        } else if status >= 500 {
            PaceSignal::Neutral
        } else {
            PaceSignal::Accepted
        }
    }
}

/// What was already done for this request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attempts {
    /// Re-sends after a 5xx or no answer.
    pub retries: u32,
    /// Rate-limited answers waited out.
    pub rate_limit_waits: u32,
    /// Whether the JWT was already re-signed on GitHub's clock.
    pub clock_fixed: bool,
}

/// The limits [`next_step`] applies; the client builds it from its
/// [`super::ClientConfig`] and credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Re-sends allowed after a 5xx or no answer.
    pub max_retries: u32,
    /// The first backoff; it doubles with each retry.
    pub retry_base: Duration,
    /// The longest single backoff ([`RETRY_CAP`]).
    pub retry_cap: Duration,
    /// The longest rate-limit wait worth making.
    pub max_rate_limit_wait: Duration,
    /// Rate-limited answers one request may wait out ([`MAX_RATE_LIMIT_WAITS`]).
    pub max_rate_limit_waits: u32,
    /// Whether a 401 that blames the JWT's times may be fixed by re-signing: only an App signs.
    pub fix_clock_skew: bool,
}

/// What to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The answer is final: a 2xx, or an error status for the caller to map.
    Done,
    /// Send again after this backoff.
    Retry(Duration),
    /// Rate limited: send again after this wait.
    WaitRateLimit(Duration),
    /// Re-sign the JWT on GitHub's clock, which is this far ahead of ours (behind when
    /// negative), and send again at once.
    FixClockSkew(TimeDelta),
    /// Give up.
    Fail(Failure),
}

/// Why a request is given up; the client words it as an [`super::ApiError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// It may have reached GitHub and must not be sent twice ([`super::ApiError::Ambiguous`]).
    Ambiguous,
    /// No answer after every retry ([`super::ApiError::Transport`]).
    Unreachable,
    /// A rate limit too long to wait out, or met too often ([`super::ApiError::RateLimited`]):
    /// `until` is when it clears, `None` when that is beyond representable time.
    RateLimited { until: Option<DateTime<Utc>> },
    /// A 3xx: the request was sent elsewhere and not carried out ([`super::ApiError::Redirected`]).
    Redirected { status: u16 },
}

/// Decides what follows `reply` (see the module documentation for the rules). `jitter` in
/// `0..=1` spreads the backoff of a retry; the caller draws it.
pub fn next_step(
    kind: RequestKind,
    reply: &Reply<'_>,
    tried: Attempts,
    policy: &RetryPolicy,
    now: DateTime<Utc>,
    jitter: f64,
) -> Step {
    let retry_or = |failure: Step| {
        if tried.retries < policy.max_retries {
            Step::Retry(backoff(tried.retries, policy.retry_base, policy.retry_cap, jitter))
        } else {
            failure
        }
    };
    let (status, headers, message) = match *reply {
        Reply::NotConnected => return retry_or(Step::Fail(Failure::Unreachable)),
        Reply::Lost if !kind.is_repeatable() => return Step::Fail(Failure::Ambiguous),
        Reply::Lost => return retry_or(Step::Fail(Failure::Unreachable)),
        Reply::Http { status, headers, message } => (status, headers, message),
    };
    if (200..300).contains(&status) {
        return Step::Done;
    }
    if (300..400).contains(&status) && status != 304 {
        return Step::Fail(Failure::Redirected { status });
    }
    if status == 401
        && policy.fix_clock_skew
        && !tried.clock_fixed
        && let Some(skew) = clock_skew(message, header_text(headers, "date"), now)
    {
        return Step::FixClockSkew(skew);
    }
    let rate = RateHeaders::from_headers(headers, message);
    if let Some(wait) = rate_limit_wait(status, &rate, tried.rate_limit_waits, now) {
        if wait > policy.max_rate_limit_wait || tried.rate_limit_waits >= policy.max_rate_limit_waits {
            let until = TimeDelta::from_std(wait).ok().and_then(|wait| now.checked_add_signed(wait));
            return Step::Fail(Failure::RateLimited { until });
        }
        return Step::WaitRateLimit(wait);
    }
    if is_retryable_status(status) {
        if !kind.is_repeatable() {
            return Step::Fail(Failure::Ambiguous);
        }
        return retry_or(Step::Done);
    }
    Step::Done
}

#[cfg(test)]
#[path = "step_tests.rs"]
mod tests;

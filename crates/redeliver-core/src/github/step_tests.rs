//! Table tests of [`next_step`] on a fixed clock: one row per rule of the module documentation,
//! its edges, and header values no server should send.

use super::*;
use chrono::DateTime;

use RequestKind::{NonRepeatable as Post, Read, RepeatableWrite as Write};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z").unwrap().to_utc()
}

fn at(seconds_from_now: i64) -> Option<DateTime<Utc>> {
    Some(now() + TimeDelta::seconds(seconds_from_now))
}

/// Two retries from 1 s; with jitter 1.0 a backoff is exactly `1 s * 2^retries`.
const POLICY: RetryPolicy = RetryPolicy {
    max_retries: 2,
    retry_base: Duration::from_secs(1),
    retry_cap: RETRY_CAP,
    max_rate_limit_wait: Duration::from_secs(15 * 60),
    max_rate_limit_waits: MAX_RATE_LIMIT_WAITS,
    fix_clock_skew: true,
};
const JITTER: f64 = 1.0;

const SECONDARY: &str = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
const PRIMARY: &str = "API rate limit exceeded for user ID 1.";
const TOO_FAR: &str = "'Expiration time' claim ('exp') is too far in the future";
/// Five minutes before [`now`].
const GITHUB_DATE: &str = "Wed, 21 Oct 2015 07:23:00 GMT";

/// A reply as a table cell: `Http(status, headers, message)`.
#[derive(Clone, Copy)]
enum R {
    Http(u16, &'static [(&'static str, &'static str)], &'static str),
    NotConnected,
    Lost,
}
use R::{Http, Lost, NotConnected};

fn tried(retries: u32, rate_limit_waits: u32) -> Attempts {
    Attempts { retries, rate_limit_waits, clock_fixed: false }
}

fn decide(kind: RequestKind, reply: R, tried: Attempts, policy: &RetryPolicy) -> Step {
    with_reply(reply, |reply| next_step(kind, reply, tried, policy, now(), JITTER))
}

/// Calls `f` with the [`Reply`] a cell stands for.
fn with_reply<T>(cell: R, f: impl FnOnce(&Reply<'_>) -> T) -> T {
    let mut headers = HeaderMap::new();
    let reply = match cell {
        Http(status, pairs, message) => {
            for (name, value) in pairs {
                headers.insert(*name, value.parse().unwrap());
            }
            Reply::Http { status, headers: &headers, message }
        }
        NotConnected => Reply::NotConnected,
        Lost => Reply::Lost,
    };
    f(&reply)
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// `(what the row shows, kind, reply, attempts so far, expected step)`.
type Row = (&'static str, RequestKind, R, Attempts, Step);

fn rows() -> Vec<Row> {
    let fresh = Attempts::default();
    let rate_limited = |until| Step::Fail(Failure::RateLimited { until });
    let redirected = |status| Step::Fail(Failure::Redirected { status });
    vec![
        // 1. Success.
        ("a 200 is final", Read, Http(200, &[], ""), fresh, Step::Done),
        ("a 202 redelivery is final", Post, Http(202, &[], ""), fresh, Step::Done),
        ("a 2xx after retries is final", Write, Http(204, &[], ""), tried(2, 3), Step::Done),
        // 1. Redirects are never followed.
        ("a 302 on a read is refused", Read, Http(302, &[("location", "/login")], ""), fresh, redirected(302)),
        ("a 301 on a read is refused", Read, Http(301, &[("location", "https://x.test/")], ""), fresh, redirected(301)),
        ("a 302 redelivery was not made", Post, Http(302, &[("location", "/login")], ""), fresh, redirected(302)),
        ("a 307 redelivery was not made", Post, Http(307, &[("location", "/x")], ""), fresh, redirected(307)),
        ("a 308 on a write is refused", Write, Http(308, &[], ""), tried(1, 1), redirected(308)),
        ("a 300 is a redirect too", Read, Http(300, &[], ""), fresh, redirected(300)),
        (
            "a redirect with Retry-After is no rate limit",
            Read,
            Http(303, &[("retry-after", "5")], ""),
            fresh,
            redirected(303),
        ),
        // 2. No answer.
        ("a refused connection is retried", Read, NotConnected, fresh, Step::Retry(secs(1))),
        ("the backoff doubles", Read, NotConnected, tried(1, 0), Step::Retry(secs(2))),
        ("out of retries, unreachable", Read, NotConnected, tried(2, 0), Step::Fail(Failure::Unreachable)),
        ("a POST that never left is retried", Post, NotConnected, fresh, Step::Retry(secs(1))),
        ("a POST that never left, out of retries", Post, NotConnected, tried(2, 0), Step::Fail(Failure::Unreachable)),
        ("a lost read is retried", Read, Lost, fresh, Step::Retry(secs(1))),
        ("a lost repeatable write is retried", Write, Lost, tried(1, 0), Step::Retry(secs(2))),
        ("a lost read, out of retries", Read, Lost, tried(2, 0), Step::Fail(Failure::Unreachable)),
        ("a lost redelivery may have been made", Post, Lost, fresh, Step::Fail(Failure::Ambiguous)),
        // 3. Clock skew.
        (
            "a 401 blaming the JWT's times is re-signed on GitHub's clock",
            Read,
            Http(401, &[("date", GITHUB_DATE)], TOO_FAR),
            fresh,
            Step::FixClockSkew(TimeDelta::seconds(-300)),
        ),
        (
            "only once",
            Read,
            Http(401, &[("date", GITHUB_DATE)], TOO_FAR),
            Attempts { clock_fixed: true, ..fresh },
            Step::Done,
        ),
        ("not without a Date", Read, Http(401, &[], TOO_FAR), fresh, Step::Done),
        ("not for other 401s", Read, Http(401, &[("date", GITHUB_DATE)], "Bad credentials"), fresh, Step::Done),
        // 4. Rate limits.
        (
            "Retry-After is waited",
            Post,
            Http(403, &[("retry-after", "7")], SECONDARY),
            fresh,
            Step::WaitRateLimit(secs(7)),
        ),
        ("a bare 429 waits a minute", Read, Http(429, &[], ""), fresh, Step::WaitRateLimit(secs(60))),
        ("doubling while it persists", Post, Http(429, &[], ""), tried(0, 2), Step::WaitRateLimit(secs(240))),
        (
            "an exhausted primary limit waits until the reset and a second",
            Read,
            Http(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1445412780")], PRIMARY),
            fresh,
            Step::WaitRateLimit(secs(301)),
        ),
        (
            "a wait of exactly the maximum is made",
            Read,
            Http(429, &[("retry-after", "900")], ""),
            fresh,
            Step::WaitRateLimit(secs(900)),
        ),
        ("a longer wait is refused", Read, Http(429, &[("retry-after", "901")], ""), fresh, rate_limited(at(901))),
        (
            "a distant reset is refused with its time",
            Read,
            Http(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "1445416080")], PRIMARY),
            fresh,
            rate_limited(at(3601)),
        ),
        ("too many waits", Post, Http(429, &[("retry-after", "1")], ""), tried(0, 8), rate_limited(at(1))),
        ("rate limits do not use up retries", Read, Http(429, &[], ""), tried(2, 0), Step::WaitRateLimit(secs(60))),
        (
            "a Retry-After beyond the end of time is too long, not an overflow",
            Post,
            Http(429, &[("retry-after", "99999999999999")], SECONDARY),
            fresh,
            rate_limited(None),
        ),
        (
            "a reset at the end of time is too long, not an overflow",
            Read,
            Http(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "8210266876799")], PRIMARY),
            fresh,
            rate_limited(DateTime::from_timestamp(8_210_266_876_799, 0)),
        ),
        (
            "a reset past the end of time is no time: the escalating wait",
            Read,
            Http(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", "8210266876800")], PRIMARY),
            fresh,
            Step::WaitRateLimit(secs(60)),
        ),
        // 5. Server errors.
        ("a 502 on a read is retried", Read, Http(502, &[], "Bad Gateway"), fresh, Step::Retry(secs(1))),
        ("a 503 on a repeatable write is retried", Write, Http(503, &[], ""), tried(1, 0), Step::Retry(secs(2))),
        ("out of retries the 5xx is final", Read, Http(502, &[], ""), tried(2, 0), Step::Done),
        ("a 5xx redelivery may have been made", Post, Http(502, &[], ""), fresh, Step::Fail(Failure::Ambiguous)),
        (
            "Retry-After on a 5xx is no rate limit",
            Read,
            Http(503, &[("retry-after", "5")], ""),
            fresh,
            Step::Retry(secs(1)),
        ),
        ("a 501 will not change", Read, Http(501, &[], ""), fresh, Step::Done),
        ("a 505 redelivery was not made", Post, Http(505, &[], ""), fresh, Step::Done),
        // 6. Everything else is the caller's to map.
        ("a 404 is final", Read, Http(404, &[], "Not Found"), fresh, Step::Done),
        ("a refused redelivery is final", Post, Http(422, &[], "Validation Failed"), fresh, Step::Done),
        ("a 403 that is no rate limit is final", Read, Http(403, &[], "Resource not accessible"), fresh, Step::Done),
        (
            "an unreadable Retry-After alone is no limit",
            Read,
            Http(403, &[("retry-after", "soon")], ""),
            fresh,
            Step::Done,
        ),
        ("a 304 is final", Read, Http(304, &[], ""), fresh, Step::Done),
    ]
}

#[test]
fn every_rule_on_a_fixed_clock() {
    for (what, kind, reply, tried, expected) in rows() {
        assert_eq!(decide(kind, reply, tried, &POLICY), expected, "{what}");
    }
}

#[test]
fn a_repeatable_write_is_retried_exactly_like_a_read() {
    for (what, kind, reply, tried, _) in rows() {
        if kind == Read {
            assert_eq!(decide(Write, reply, tried, &POLICY), decide(Read, reply, tried, &POLICY), "{what}");
        }
    }
}

#[test]
fn a_token_client_has_no_clock_to_fix() {
    let token = RetryPolicy { fix_clock_skew: false, ..POLICY };
    let reply = Http(401, &[("date", GITHUB_DATE)], TOO_FAR);
    assert_eq!(decide(Read, reply, Attempts::default(), &token), Step::Done);
}

#[test]
fn a_server_date_at_the_end_of_time_is_not_an_overflow() {
    let reply = Http(401, &[("date", "31 Dec 262142 23:59:59 GMT")], TOO_FAR);
    let far = DateTime::from_timestamp(8_210_266_876_799, 0).unwrap();
    assert_eq!(decide(Read, reply, Attempts::default(), &POLICY), Step::FixClockSkew(far - now()));
}

#[test]
fn the_backoff_is_jittered_between_half_and_all_of_it() {
    let tried = Attempts { retries: 1, ..Attempts::default() };
    let step = |jitter| next_step(Read, &Reply::Lost, tried, &POLICY, now(), jitter);
    assert_eq!(step(0.0), Step::Retry(secs(1)));
    assert_eq!(step(0.5), Step::Retry(Duration::from_millis(1500)));
    assert_eq!(step(1.0), Step::Retry(secs(2)));
}

#[test]
fn zero_retries_fail_at_once() {
    let none = RetryPolicy { max_retries: 0, ..POLICY };
    assert_eq!(decide(Read, NotConnected, Attempts::default(), &none), Step::Fail(Failure::Unreachable));
    assert_eq!(decide(Read, Http(502, &[], ""), Attempts::default(), &none), Step::Done);
}

#[test]
fn pace_signals() {
    let rows: &[(&str, R, PaceSignal)] = &[
        ("a redelivery made", Http(202, &[], ""), PaceSignal::Accepted),
        ("a redelivery refused", Http(422, &[], "Validation Failed"), PaceSignal::Accepted),
        ("a secondary limit", Http(403, &[], SECONDARY), PaceSignal::Limited),
        ("a bare 429", Http(429, &[], ""), PaceSignal::Limited),
        ("any error with Retry-After", Http(403, &[("retry-after", "soon")], ""), PaceSignal::Limited),
        ("a 5xx with Retry-After", Http(503, &[("retry-after", "5")], ""), PaceSignal::Limited),
        ("a 5xx", Http(502, &[], ""), PaceSignal::Neutral),
        ("no connection", NotConnected, PaceSignal::Neutral),
        ("no answer", Lost, PaceSignal::Neutral),
    ];
    for (what, cell, expected) in rows {
        assert_eq!(with_reply(*cell, |reply| reply.pace_signal(now())), *expected, "{what}");
    }
}

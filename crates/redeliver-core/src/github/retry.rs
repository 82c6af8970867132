//! How long to back off before retrying a read after a server error or a network failure: a pure
//! function of the attempt number and an injected jitter, so tests need no randomness and no clock.
//! The client draws the jitter and sleeps.

use std::time::Duration;

/// Exponential backoff with "equal jitter": the delay for `attempt` (0 = first retry) is
/// `base * 2^attempt` capped at `cap`; half of it is always waited and the other half is scaled
/// by `jitter` (in `0..=1`, clamped), so concurrent clients spread out without ever retrying at once.
pub fn backoff(attempt: u32, base: Duration, cap: Duration, jitter: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(31)).min(cap);
    let jitter = if jitter.is_nan() { 0.0 } else { jitter.clamp(0.0, 1.0) };
    let half = exp / 2;
    let spread = exp - half;
    // `try_from` because f64 rounding can step past `Duration::MAX` for absurd bases.
    half + Duration::try_from_secs_f64(spread.as_secs_f64() * jitter).unwrap_or(spread).min(spread)
}

/// Whether a status is worth retrying for a request that is safe to repeat.
pub fn is_retryable_status(status: u16) -> bool {
    // 501 Not Implemented and 505 HTTP Version Not Supported will not change on a retry.
    (500..600).contains(&status) && status != 501 && status != 505
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(30);

    #[test]
    fn grows_exponentially_within_jitter_bounds() {
        for attempt in 0..6 {
            let full = S * 2u32.pow(attempt);
            let full = full.min(CAP);
            assert_eq!(backoff(attempt, S, CAP, 0.0), full / 2);
            assert_eq!(backoff(attempt, S, CAP, 1.0), full);
            let mid = backoff(attempt, S, CAP, 0.5);
            assert!(mid >= full / 2 && mid <= full);
        }
    }

    #[test]
    fn never_exceeds_the_cap_and_never_overflows() {
        for attempt in [5, 10, 31, 32, 1000, u32::MAX] {
            let d = backoff(attempt, S, CAP, 1.0);
            assert!(d <= CAP, "{attempt}: {d:?}");
            assert!(backoff(attempt, S, CAP, 0.0) >= CAP / 2);
        }
        assert_eq!(backoff(u32::MAX, Duration::MAX, Duration::MAX, 1.0), Duration::MAX);
    }

    #[test]
    fn out_of_range_jitter_is_clamped() {
        assert_eq!(backoff(1, S, CAP, -3.0), S);
        assert_eq!(backoff(1, S, CAP, 7.0), 2 * S);
        assert_eq!(backoff(1, S, CAP, f64::NAN), S);
    }

    #[test]
    fn zero_base_is_zero() {
        assert_eq!(backoff(3, Duration::ZERO, CAP, 1.0), Duration::ZERO);
    }

    #[test]
    fn retryable_statuses() {
        for s in [500, 502, 503, 504, 520] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 422, 429, 501, 505] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}

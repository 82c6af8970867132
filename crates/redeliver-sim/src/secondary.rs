//! GitHub's secondary rate limits, as documented
//! (<https://docs.github.com/rest/using-the-rest-api/rate-limits-for-the-rest-api#about-secondary-rate-limits>):
//! at most 100 concurrent requests; at most 900 points per minute per REST endpoint (a `GET` costs
//! 1 point, a `POST`, `PATCH`, `PUT` or `DELETE` 5); at most 80 content-generating requests per
//! minute and 500 per hour. Off unless [`crate::World::set_secondary_limits`] turns them on.
//!
//! GitHub does not say how its windows slide, nor which requests generate content; this model
//! keeps a log of the last window's requests (a sliding window) and counts every accepted
//! state-changing request except minting an installation token as content. A refused request
//! costs nothing. The refusal is GitHub's 403 with a `Retry-After` saying when the request would
//! fit again.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

/// The limits to enforce. [`SecondaryLimits::github`] has GitHub's numbers; a benchmark can
/// shorten `minute` and `hour` to compress time (the counts stay those of a real minute or hour).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecondaryLimits {
    /// Requests being answered at once (GitHub: 100).
    pub concurrent: usize,
    /// Points per endpoint per `minute` (GitHub: 900); `GET` costs 1, state-changing methods 5.
    pub points_per_minute: u32,
    /// Content-generating requests per `minute` (GitHub: 80).
    pub content_per_minute: u32,
    /// Content-generating requests per `hour` (GitHub: 500).
    pub content_per_hour: u32,
    /// How long the simulator's minute lasts (60 s unless compressed).
    pub minute: Duration,
    /// How long the simulator's hour lasts (3600 s unless compressed).
    pub hour: Duration,
}

impl SecondaryLimits {
    /// GitHub's documented limits, in real time.
    pub fn github() -> SecondaryLimits {
        SecondaryLimits {
            concurrent: 100,
            points_per_minute: 900,
            content_per_minute: 80,
            content_per_hour: 500,
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
        }
    }

    /// The same counts with time running `factor` times faster: a minute lasts `60 s / factor`.
    /// `Retry-After` is still whole seconds (rounded up), as HTTP has it.
    pub fn compressed(self, factor: u32) -> SecondaryLimits {
        let factor = factor.max(1);
        SecondaryLimits { minute: self.minute / factor, hour: self.hour / factor, ..self }
    }

    /// Without the content-creation limits (if redeliveries do not count as content: GitHub does
    /// not say), leaving the per-endpoint points and the concurrency limit.
    pub fn without_content_limits(self) -> SecondaryLimits {
        SecondaryLimits { content_per_minute: u32::MAX, content_per_hour: u32::MAX, ..self }
    }
}

impl Default for SecondaryLimits {
    fn default() -> Self {
        SecondaryLimits::github()
    }
}

/// What a request costs, as the limiter sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Cost {
    /// The endpoint the points are counted against, e.g. `GET deliveries`.
    pub endpoint: &'static str,
    pub points: u32,
    pub content: bool,
}

/// The state of the secondary limits: a log of recent requests per window.
#[derive(Debug)]
pub(crate) struct SecondaryLimiter {
    pub limits: SecondaryLimits,
    points: HashMap<&'static str, VecDeque<(Instant, u32)>>,
    content: VecDeque<Instant>,
    /// Requests refused so far, for benchmarks.
    pub refused: u64,
}

impl SecondaryLimiter {
    pub(crate) fn new(limits: SecondaryLimits) -> SecondaryLimiter {
        SecondaryLimiter { limits, points: HashMap::new(), content: VecDeque::new(), refused: 0 }
    }

    /// Admits a request at `now` (spending its cost), or says how long until it would fit.
    pub(crate) fn admit(&mut self, cost: Cost, in_flight: usize, now: Instant) -> Result<(), Duration> {
        let limits = &self.limits;
        if in_flight > limits.concurrent {
            self.refused += 1;
            return Err(Duration::from_secs(1));
        }
        let log = self.points.entry(cost.endpoint).or_default();
        expire(log, |(at, _)| *at, now, limits.minute);
        let spent: u32 = log.iter().map(|(_, p)| p).sum();
        let mut wait = Duration::ZERO;
        if spent + cost.points > limits.points_per_minute {
            // Until enough of the oldest points have left the window.
            let mut freed = 0;
            for (at, p) in log.iter() {
                freed += p;
                if spent - freed + cost.points <= limits.points_per_minute {
                    wait = wait.max((*at + limits.minute).saturating_duration_since(now));
                    break;
                }
            }
        }
        if cost.content {
            expire(&mut self.content, |at| *at, now, limits.hour);
            let per_hour = self.content.len();
            let per_minute = self.content.iter().filter(|at| now.duration_since(**at) < limits.minute).count();
            if per_minute as u64 >= u64::from(limits.content_per_minute) {
                let oldest_in_minute = self.content[per_hour - per_minute];
                wait = wait.max((oldest_in_minute + limits.minute).saturating_duration_since(now));
            }
            if per_hour as u64 >= u64::from(limits.content_per_hour) {
                wait = wait.max((self.content[0] + limits.hour).saturating_duration_since(now));
            }
        }
        if !wait.is_zero() {
            self.refused += 1;
            return Err(wait);
        }
        log.push_back((now, cost.points));
        if cost.content {
            self.content.push_back(now);
        }
        Ok(())
    }
}

/// Drops the entries of a time-ordered log that are `window` old or older at `now`.
fn expire<T>(log: &mut VecDeque<T>, at: impl Fn(&T) -> Instant, now: Instant, window: Duration) {
    while log.front().is_some_and(|e| now.duration_since(at(e)) >= window) {
        log.pop_front();
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1.
pub(crate) fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GET: Cost = Cost { endpoint: "GET deliveries", points: 1, content: false };
    const POST: Cost = Cost { endpoint: "POST redeliver", points: 5, content: true };

    #[test]
    fn points_per_endpoint_per_minute() {
        let t0 = Instant::now();
        let mut l = SecondaryLimiter::new(SecondaryLimits::github().without_content_limits());
        for i in 0..180 {
            assert_eq!(l.admit(POST, 1, t0 + Duration::from_millis(i)), Ok(()), "{i}");
        }
        let wait = l.admit(POST, 1, t0 + Duration::from_secs(1)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(59), "until the first POST leaves the minute");
        assert_eq!(l.admit(GET, 1, t0 + Duration::from_secs(1)), Ok(()), "another endpoint has its own points");
        assert_eq!(l.admit(POST, 1, t0 + Duration::from_secs(60)), Ok(()));
        assert_eq!(l.refused, 1);
    }

    #[test]
    fn content_per_minute_and_per_hour() {
        let t0 = Instant::now();
        let mut l = SecondaryLimiter::new(SecondaryLimits::github());
        let mut t = t0;
        for _ in 0..80 {
            assert_eq!(l.admit(POST, 1, t), Ok(()));
            t += Duration::from_millis(100);
        }
        assert_eq!(l.admit(POST, 1, t).unwrap_err(), Duration::from_secs(52));
        // 80 a minute, 500 an hour: the 501st waits for the hour.
        let mut admitted = 80;
        let mut t = t0 + Duration::from_secs(60);
        while admitted < 500 {
            if l.admit(POST, 1, t).is_ok() {
                admitted += 1;
            }
            t += Duration::from_millis(800);
        }
        let wait = l.admit(POST, 1, t + Duration::from_secs(60)).unwrap_err();
        assert!(wait > Duration::from_secs(60) && wait < Duration::from_secs(3600), "{wait:?}");
    }

    #[test]
    fn concurrency_and_compression() {
        let t0 = Instant::now();
        let mut l = SecondaryLimiter::new(SecondaryLimits::github().compressed(60));
        assert_eq!(l.limits.minute, Duration::from_secs(1));
        assert!(l.admit(GET, 101, t0).is_err());
        assert_eq!(l.admit(GET, 100, t0), Ok(()));
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }
}

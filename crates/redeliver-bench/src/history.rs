//! Generated delivery histories, and the fewest requests a pass over them can make.

use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use redeliver_sim::{HookId, NewAttempt, World};

/// What the client is asked to read back to: `--lookback 25h`.
pub const LOOKBACK: Duration = Duration::hours(25);

/// Status codes of the failed attempts, in turn: server errors, a client error, and no HTTP
/// answer at all (connection refused, timeout), which GitHub records as 0.
const FAILURES: [(i64, Option<&str>); 6] = [
    (500, None),
    (502, None),
    (503, None),
    (404, None),
    (0, Some("failed to connect to host")),
    (0, Some("timed out")),
];

/// What was generated, and the minimum cost of a pass over it.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Deliveries in the last 24 h (inside the window).
    pub in_window: usize,
    /// Older deliveries (25 h to 71 h old) that the pass must not read past the first page of.
    pub tail: usize,
    /// Events in the window whose (only) attempt failed.
    pub failed: usize,
    /// Of those, the ones due for a redelivery (first rung, 1 minute, passed).
    pub due: usize,
    /// One page of 100 per started hundred, down to the first page holding an attempt older
    /// than the window start, computed from the listing order.
    pub min_list_requests: u64,
    pub build_seconds: f64,
}

/// Adds `size` events spread over the last 24 h (each one attempt; `failure_rate` percent of
/// them failed), plus a tail of `size / 10` older successes, to `hook`.
pub fn build(world: &World, hook: HookId, size: usize, failure_rate: f64, seed: u64, now: DateTime<Utc>) -> Generated {
    let started = std::time::Instant::now();
    let mut rng = fastrand::Rng::with_seed(seed ^ (size as u64) ^ failure_rate.to_bits());
    // Newest two minutes left empty, so every failure is past its first rung whenever the pass runs.
    let span_ms = (Duration::hours(24) - Duration::minutes(2)).num_milliseconds();
    let mut failed = 0;
    for i in 0..size {
        let offset = Duration::milliseconds(span_ms * i as i64 / size.max(1) as i64 + rng.i64(0..1000));
        let at = now - Duration::minutes(2) - offset;
        let attempt = if rng.f64() * 100.0 < failure_rate {
            let (code, status) = FAILURES[failed % FAILURES.len()];
            failed += 1;
            let attempt = NewAttempt::new("push", code, at);
            match status {
                Some(s) => attempt.status(s),
                None => attempt,
            }
        } else {
            NewAttempt::new("push", 200, at)
        };
        world.record_attempt(hook, attempt);
    }
    let tail = size / 10;
    let tail_span_ms = Duration::hours(46).num_milliseconds();
    for i in 0..tail {
        let at = now - LOOKBACK - Duration::minutes(1) - Duration::milliseconds(tail_span_ms * i as i64 / tail as i64);
        world.record_attempt(hook, NewAttempt::new("push", 200, at).action("completed"));
    }
    let min_list_requests = min_list_requests(world, hook, now - LOOKBACK);
    Generated {
        in_window: size,
        tail,
        failed,
        due: failed,
        min_list_requests,
        build_seconds: started.elapsed().as_secs_f64(),
    }
}

/// The fewest list requests that show every attempt at or after `start`: pages of 100 in the
/// listing's order (newest first), down to and including the first page that holds an attempt
/// older than `start` (at GitHub's one-second precision); all pages if there is none.
pub fn min_list_requests(world: &World, hook: HookId, start: DateTime<Utc>) -> u64 {
    let start = start.trunc_subsecs(0);
    let listed = world.deliveries(hook);
    let horizon = Utc::now() - Duration::days(3);
    let listed: Vec<_> = listed.into_iter().filter(|d| d.delivered_at >= horizon).collect();
    match listed.iter().position(|d| d.delivered_at.trunc_subsecs(0) < start) {
        Some(i) => (i / 100 + 1) as u64,
        None => listed.len().div_ceil(100).max(1) as u64,
    }
}

//! `redeliver-fleet`: the budget-aware schedule of an organization's hooks, measured in
//! simulated time (issue 14). The real scheduler ([`redeliver_core::schedule`]) plans; a model
//! of GitHub stands in for the network: each hook's events arrive as a Poisson process (a few
//! busy hooks, most idle), a tenth of them fail, a poll costs one point unless it is a 304
//! (conditional requests on) that found nothing new, a redelivery costs one point and adds an
//! attempt, and each credential's window refills every hour. The daemon's gate (stop at the
//! tool's share, discretionary polls earlier, leaving the reserve to hooks at their maximum
//! interval) is applied as `watch` applies it. Results: docs/benchmarks.md.
//!
//! `cargo run --release -p redeliver-bench --bin redeliver-fleet [-- HOOKS...]`

#![allow(clippy::print_stdout)]

use chrono::{DateTime, Utc};
use redeliver_core::schedule::{self, Budget, HookView, Observed, Settings};
use std::time::Duration;

/// The token: 5,000 points an hour, of which the tool may use half.
const LIMIT: f64 = 5000.0;
const SHARE: f64 = 0.5;
/// `watch --interval` and the default maximum interval.
const MIN_INTERVAL: u64 = 60;
const MAX_INTERVAL: u64 = 15 * 60;
/// The default ladder's first rung: a failure is redelivered a minute after GitHub's attempt.
const FIRST_RUNG: f64 = 60.0;
/// A tenth of the events fail.
const FAILURE_SHARE: f64 = 0.1;
/// The first hours are the start-up sweep (every hook listed once in full); measured after.
const WARM_UP_HOURS: f64 = 6.0;
const MEASURED_HOURS: f64 = 24.0;
/// How often the schedule is computed again, and the clock's step.
const REPLAN: f64 = 60.0;
const TICK: f64 = 5.0;
/// Discovery lists the organization again every hour: its repository pages (100 a page) and
/// the hooks of repositories that changed (none here). Without conditional requests every
/// repository's hooks cost a point, so the organization is listed once a day instead.
const REFRESH: f64 = 3600.0;
const REFRESH_UNCONDITIONAL: f64 = 24.0 * 3600.0;

struct Hook {
    /// Event times, seconds from the start, ascending; `failed[i]` for each.
    events: Vec<f64>,
    failed: Vec<bool>,
    cursor: usize,
    last_poll: Option<f64>,
    last_traffic: Option<f64>,
    observed: Observed,
    /// Failures seen and not yet redelivered (their times).
    owed: Vec<f64>,
    /// A redelivery made an attempt since the last poll.
    attempt_since_poll: bool,
    next: f64,
    interval: f64,
    /// Had an event in the last day (for the latency goal).
    class: Class,
}

#[derive(Clone, Copy, PartialEq)]
enum Class {
    Busy,
    Active,
    Idle,
}

fn exp_sample(rng: &mut fastrand::Rng, rate_per_hour: f64) -> f64 {
    -(1.0 - rng.f64()).ln() / rate_per_hour * 3600.0
}

fn hooks(n: usize, end: f64, rng: &mut fastrand::Rng) -> Vec<Hook> {
    (0..n)
        .map(|i| {
            // 1 % busy (20 events an hour), 9 % active (one every two hours), 90 % idle (one every four days).
            let (class, rate) = match i % 100 {
                0 => (Class::Busy, 20.0),
                1..=9 => (Class::Active, 0.5),
                _ => (Class::Idle, 1.0 / 96.0),
            };
            let mut events = Vec::new();
            let mut t = exp_sample(rng, rate);
            while t < end {
                events.push(t);
                t += exp_sample(rng, rate);
            }
            let failed = events.iter().map(|_| rng.f64() < FAILURE_SHARE).collect();
            Hook {
                events,
                failed,
                cursor: 0,
                last_poll: None,
                last_traffic: None,
                observed: Observed::default(),
                owed: Vec::new(),
                attempt_since_poll: false,
                next: 0.0,
                interval: MIN_INTERVAL as f64,
                class,
            }
        })
        .collect()
}

/// What one run measured (after the warm-up).
struct Outcome {
    points_per_hour: f64,
    share_304: f64,
    latencies: Vec<f64>,
    latencies_idle: Vec<f64>,
    worst_gap: f64,
    over_max: usize,
    sweep_hours: f64,
}

fn view(h: &Hook, base: DateTime<Utc>, conditional: bool) -> HookView {
    HookView {
        credential: 0,
        last_poll: h.last_poll.map(|p| at(base, p)),
        last_traffic: h.last_traffic.map(|p| at(base, p)),
        failing: !h.owed.is_empty(),
        owed_due: h.owed.iter().copied().reduce(f64::min).map(|f| at(base, f + FIRST_RUNG)),
        change_rate: h.observed.change_rate(),
        conditional,
    }
}

fn at(base: DateTime<Utc>, secs: f64) -> DateTime<Utc> {
    base + chrono::Duration::milliseconds((secs * 1000.0) as i64)
}

fn run(n: usize, conditional: bool, seed: u64) -> Outcome {
    let mut rng = fastrand::Rng::with_seed(seed);
    let end = (WARM_UP_HOURS + MEASURED_HOURS) * 3600.0;
    let mut hooks = hooks(n, end, &mut rng);
    let base = DateTime::from_timestamp(1_760_000_000, 0).unwrap_or_default();
    let settings = Settings::new(
        Duration::from_secs(MIN_INTERVAL),
        Duration::from_secs(MAX_INTERVAL),
        Duration::from_secs(3 * 24 * 3600),
    );
    let refresh_cost = (n as f64 / 100.0).ceil() + if conditional { 0.0 } else { n as f64 };
    let refresh = if conditional { REFRESH } else { REFRESH_UNCONDITIONAL };
    let refresh_per_hour = refresh_cost * 3600.0 / refresh;
    // Redelivery requests of the last hour, reserved as the daemon reserves them.
    let mut posts: std::collections::VecDeque<f64> = std::collections::VecDeque::new();
    let (mut spent_window, mut window) = (0.0, 0u64);
    let (mut points, mut listings, mut not_modified) = (0.0, 0u64, 0u64);
    let (mut latencies, mut latencies_idle) = (Vec::new(), Vec::new());
    let (mut worst_gap, mut over_max) = (0.0f64, 0usize);
    let mut sweep_done: Option<f64> = None;
    let (mut t, mut next_plan, mut next_refresh) = (0.0, 0.0, 0.0);
    let measuring = |t: f64| t >= WARM_UP_HOURS * 3600.0;
    while t < end {
        let w = (t / 3600.0) as u64;
        if w != window {
            (window, spent_window) = (w, 0.0);
        }
        if t >= next_refresh {
            spent_window += refresh_cost;
            if measuring(t) {
                points += refresh_cost;
            }
            next_refresh += refresh;
        }
        if t >= next_plan {
            let views: Vec<HookView> = hooks.iter().map(|h| view(h, base, conditional)).collect();
            while posts.front().is_some_and(|p| *p < t - 3600.0) {
                posts.pop_front();
            }
            let reserved_per_hour = refresh_per_hour + posts.len() as f64;
            let budget = Budget { limit_per_hour: LIMIT, share: SHARE, reserved_per_hour };
            let plan = schedule::schedule(&views, &[budget], &settings, at(base, t));
            for (h, (next, interval)) in hooks.iter_mut().zip(plan.next.iter().zip(&plan.intervals)) {
                h.next = (*next - base).num_milliseconds() as f64 / 1000.0;
                h.interval = interval.as_secs_f64();
            }
            next_plan += REPLAN;
        }
        // The gate as `watch` applies it: a hook at its maximum interval stops only at the
        // share; the others leave the reserve (forced polls and redeliveries until the reset).
        let hold = if hooks.iter().any(|h| h.next <= t) {
            let now = at(base, t);
            let reset = at(base, (window + 1) as f64 * 3600.0);
            let views: Vec<HookView> = hooks.iter().map(|h| view(h, base, conditional)).collect();
            let until_reset = ((window + 1) as f64 * 3600.0 - t) / 3600.0;
            schedule::reserve(&views, 0, &settings, now, Some(reset), LIMIT * SHARE) + posts.len() as f64 * until_reset
        } else {
            0.0
        };
        for h in hooks.iter_mut().filter(|h| h.next <= t) {
            let forced = schedule::must_poll(h.last_poll.map(|p| at(base, p)), &settings, at(base, t));
            let remaining = (LIMIT - spent_window).max(0.0) as u64;
            let held = if forced { 0.0 } else { hold };
            if schedule::gate(Some(remaining), Some(LIMIT as u64), None, SHARE, held, at(base, t)).is_some() {
                continue;
            }
            let mut cost = 0.0;
            let before = h.cursor;
            while h.cursor < h.events.len() && h.events[h.cursor] <= t {
                if h.failed[h.cursor] {
                    h.owed.push(h.events[h.cursor]);
                }
                h.cursor += 1;
            }
            let new_events = h.cursor > before;
            let changed = new_events || h.attempt_since_poll;
            let free = conditional && h.last_poll.is_some() && !changed;
            listings += u64::from(measuring(t));
            if free {
                not_modified += u64::from(measuring(t));
            } else {
                cost += 1.0;
            }
            h.attempt_since_poll = false;
            let mut still = Vec::new();
            for f in h.owed.drain(..) {
                if f + FIRST_RUNG <= t {
                    cost += 1.0;
                    posts.push_back(t);
                    h.attempt_since_poll = true;
                    if measuring(f) {
                        latencies.push(t - f);
                        if h.class == Class::Idle {
                            latencies_idle.push(t - f);
                        }
                    }
                } else {
                    still.push(f);
                }
            }
            h.owed = still;
            if let Some(p) = h.last_poll
                && measuring(p)
            {
                let gap = t - p;
                worst_gap = worst_gap.max(gap);
                over_max += usize::from(gap > (MAX_INTERVAL as f64) + TICK);
            }
            if let Some(p) = h.last_poll {
                // As the daemon does: a redelivery's own attempt is a change too.
                h.observed = h.observed.after(changed, ((t - p) / 3600.0).max(1e-4));
            }
            if new_events {
                h.last_traffic = Some(t);
            }
            h.last_poll = Some(t);
            h.next = t + h.interval;
            if let Some(f) = h.owed.iter().copied().reduce(f64::min) {
                h.next = h.next.min(f + FIRST_RUNG);
            }
            spent_window += cost;
            if measuring(t) {
                points += cost;
            }
        }
        if sweep_done.is_none() && hooks.iter().all(|h| h.last_poll.is_some()) {
            sweep_done = Some(t);
        }
        t += TICK;
    }
    Outcome {
        points_per_hour: points / MEASURED_HOURS,
        share_304: not_modified as f64 / (listings.max(1) as f64),
        latencies,
        latencies_idle,
        worst_gap,
        over_max,
        sweep_hours: sweep_done.unwrap_or(end) / 3600.0,
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[i]
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000, 10_000] } else { sizes };
    println!(
        "| hooks | conditional requests | points/h (budget 2,500) | 304 share of listings | failure→redelivery p50 / p95 | p95, idle hooks | longest gap (max 15m) | gaps over max | first sweep |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for conditional in [true, false] {
            let mut o = run(n, conditional, 14);
            let (p50, p95) = (percentile(&mut o.latencies, 0.5), percentile(&mut o.latencies, 0.95));
            let p95_idle = percentile(&mut o.latencies_idle, 0.95);
            println!(
                "| {n} | {} | {:.0} | {:.0} % | {:.1} / {:.1} min | {:.1} min | {:.1} min | {} | {:.1} h |",
                if conditional { "yes" } else { "no" },
                o.points_per_hour,
                o.share_304 * 100.0,
                p50 / 60.0,
                p95 / 60.0,
                p95_idle / 60.0,
                o.worst_gap / 60.0,
                o.over_max,
                o.sweep_hours,
            );
        }
    }
}

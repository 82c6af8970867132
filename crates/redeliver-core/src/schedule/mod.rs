//! PURE. When to poll each hook, within each credential's rate budget: a function of the hooks'
//! recent activity, the budgets and `now`, like the planner; the daemon only sleeps until the
//! next time it gives and polls.
//!
//! The rules, in order:
//!
//! 1. **What a poll costs.** A listing asked with `If-None-Match` that GitHub answers 304 costs
//!    no primary rate limit; only a page that changed does (1 point). A hook whose attempts
//!    change at rate `λ` per hour, polled every `T`, costs `(1 − e^(−λT)) / T` points an hour:
//!    never more than `λ`, whatever `T`. A hook whose server sends no `ETag`, or that was never
//!    polled, costs one point a poll.
//! 2. **What each hook wants.** A hook with a failure seen on its last poll, or events the state
//!    owes a redelivery, wants `min_interval`; a hook with traffic `a` ago wants `a / 12`
//!    (traffic an hour ago: every 5 minutes; three hours ago: every 15); all within
//!    `[min_interval, max_interval]`.
//! 3. **The budget.** Each credential may spend `share` of its `x-ratelimit-limit` an hour
//!    (default half, so other tools on the token are not starved), less what discovery
//!    refreshes reserve. While the hooks' costs exceed it, the quiet hooks' intervals are
//!    stretched by one factor (never past `max_interval`), and only when that is not enough
//!    the failing hooks' too. A budget too small for every hook at `max_interval` is reported
//!    ([`Schedule::over_budget`]): the maximum interval is a promise, the budget a target.
//! 4. **When.** A hook is due `interval` after its last poll (never-polled hooks at once), and
//!    no later than the time its owed redelivery's rung comes due.
//!
//! [`gate`] is the hard stop beside the plan: it says whether a credential's last
//! `x-ratelimit-remaining` leaves room for this tool's share. It holds back [`reserve`] points
//! from discretionary polls for the polls that must go ([`must_poll`]: a hook at its maximum
//! interval), which stop only at the share itself: the maximum interval is kept even in an
//! hour whose activity beat the estimates.

mod gate;
mod reserve;

pub use gate::gate;
pub use reserve::{EXPECTED_FACTOR, must_poll, reserve};

use chrono::{DateTime, Utc};
use std::time::Duration;

/// What the scheduler knows of one hook.
#[derive(Debug, Clone, PartialEq)]
pub struct HookView {
    /// Index of its credential in the budgets.
    pub credential: usize,
    pub last_poll: Option<DateTime<Utc>>,
    /// The last time a poll found new attempts.
    pub last_traffic: Option<DateTime<Utc>>,
    /// A failure was seen on the last poll, or the state owes it a redelivery.
    pub failing: bool,
    /// When the earliest redelivery the state owes it comes due.
    pub owed_due: Option<DateTime<Utc>>,
    /// New attempts per hour, estimated from recent polls (`λ`).
    pub change_rate: f64,
    /// Its server answers conditional requests (a 304 was seen, or an `ETag` was sent).
    pub conditional: bool,
}

/// One credential's rate budget.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Budget {
    /// `x-ratelimit-limit`: points an hour.
    pub limit_per_hour: f64,
    /// The share this tool may use, in `(0, 1]`.
    pub share: f64,
    /// Points an hour set aside for discovery refreshes on this credential.
    pub reserved_per_hour: f64,
}

/// The part of a budget the plan leaves unplanned: the change-rate estimates' error comes out of
/// it before the gate has to stop polls (the fleet benchmark, docs/benchmarks.md, hit the gate
/// every hour with a tenth, and rarely with a quarter).
pub const MARGIN: f64 = 0.25;

impl Budget {
    /// Points an hour the polls may plan to spend.
    pub fn for_polls(&self) -> f64 {
        ((self.limit_per_hour * self.share - self.reserved_per_hour) * (1.0 - MARGIN)).max(0.0)
    }
}

/// What a hook's polls have shown, to estimate its change rate: the share of polls that found
/// something new and the mean gap between polls, both moving averages.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observed {
    pub changed_share: f64,
    pub mean_gap_hours: f64,
}

/// How fast the averages follow the latest poll.
const OBSERVED_WEIGHT: f64 = 0.3;

impl Observed {
    /// After a poll `gap_hours` after the previous one that found something new (`changed`) or not.
    pub fn after(self, changed: bool, gap_hours: f64) -> Observed {
        let w = OBSERVED_WEIGHT;
        let gap = if self.mean_gap_hours > 0.0 { w * gap_hours + (1.0 - w) * self.mean_gap_hours } else { gap_hours };
        Observed {
            changed_share: w * f64::from(u8::from(changed)) + (1.0 - w) * self.changed_share,
            mean_gap_hours: gap,
        }
    }

    /// The change rate `λ` (an hour) that makes a poll every `mean_gap_hours` find something
    /// new with probability `changed_share`: `−ln(1 − p) / T`. Counting changed polls an hour
    /// instead would underestimate a busy hook (a poll that finds five new attempts is one change).
    pub fn change_rate(self) -> f64 {
        if self.mean_gap_hours <= 0.0 {
            return 0.0;
        }
        -(1.0 - self.changed_share.clamp(0.0, 0.99)).ln() / self.mean_gap_hours
    }
}

/// The scheduler's knobs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// The shortest interval (`watch --interval`).
    pub min_interval: Duration,
    /// The longest a hook may go unpolled; kept well inside the horizon by [`Settings::new`].
    pub max_interval: Duration,
}

/// The default maximum interval: a failure on an idle hook waits at most this long to be seen.
pub const DEFAULT_MAX_INTERVAL: Duration = Duration::from_secs(15 * 60);

/// How an interval follows the age of the last traffic (rule 2).
const TRAFFIC_DIVISOR: u32 = 12;

impl Settings {
    /// Settings with `max_interval` no shorter than `min_interval` and no longer than a tenth
    /// of the horizon (a failure is then seen with nine tenths of the horizon left to retry).
    pub fn new(min_interval: Duration, max_interval: Duration, horizon: Duration) -> Settings {
        let max = max_interval.min(horizon / 10).max(min_interval);
        Settings { min_interval, max_interval: max }
    }
}

/// The schedule: per hook (in input order) its interval and next poll, and per credential the
/// points an hour it plans to spend.
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub intervals: Vec<Duration>,
    pub next: Vec<DateTime<Utc>>,
    pub planned_per_hour: Vec<f64>,
    /// Per credential: even at `max_interval` the hooks cost more than the budget.
    pub over_budget: Vec<bool>,
}

/// Expected points an hour of polling a hook every `interval` (rule 1).
pub fn cost_per_hour(hook: &HookView, interval: Duration) -> f64 {
    let hours = interval.as_secs_f64().max(1.0) / 3600.0;
    let per_poll = if hook.conditional && hook.last_poll.is_some() {
        1.0 - (-hook.change_rate.max(0.0) * hours).exp()
    } else {
        1.0
    };
    per_poll / hours
}

/// The interval a hook wants before the budget has its say (rule 2).
pub fn wanted(hook: &HookView, s: &Settings, now: DateTime<Utc>) -> Duration {
    if hook.failing {
        return s.min_interval;
    }
    let quiet = match hook.last_traffic {
        Some(at) => (now - at).to_std().unwrap_or_default() / TRAFFIC_DIVISOR,
        None => s.max_interval,
    };
    quiet.clamp(s.min_interval, s.max_interval)
}

/// The schedule at `now` (rules 3 and 4).
pub fn schedule(hooks: &[HookView], budgets: &[Budget], s: &Settings, now: DateTime<Utc>) -> Schedule {
    let mut intervals: Vec<Duration> = hooks.iter().map(|h| wanted(h, s, now)).collect();
    let mut planned = vec![0.0; budgets.len()];
    let mut over = vec![false; budgets.len()];
    for (c, budget) in budgets.iter().enumerate() {
        let mine: Vec<usize> = (0..hooks.len()).filter(|&i| hooks[i].credential == c).collect();
        let allowed = budget.for_polls();
        let quiet: Vec<usize> = mine.iter().copied().filter(|&i| !hooks[i].failing).collect();
        let failing: Vec<usize> = mine.iter().copied().filter(|&i| hooks[i].failing).collect();
        for group in [&quiet, &failing] {
            if total(hooks, &intervals, &mine) <= allowed {
                break;
            }
            stretch(hooks, &mut intervals, &mine, group, allowed, s.max_interval);
        }
        planned[c] = total(hooks, &intervals, &mine);
        over[c] = planned[c] > allowed;
    }
    let next = hooks
        .iter()
        .zip(&intervals)
        .map(|(h, &interval)| {
            let due = match h.last_poll {
                Some(at) => at + chrono::Duration::from_std(interval).unwrap_or(chrono::Duration::MAX),
                None => now,
            };
            let due = h.owed_due.map_or(due, |owed| due.min(owed));
            due.max(now)
        })
        .collect();
    Schedule { intervals, next, planned_per_hour: planned, over_budget: over }
}

fn total(hooks: &[HookView], intervals: &[Duration], mine: &[usize]) -> f64 {
    mine.iter().map(|&i| cost_per_hour(&hooks[i], intervals[i])).sum()
}

/// Multiplies the intervals of `group` by the smallest factor (each capped at `max`) that
/// brings the credential's total within `allowed`, found by bisection: the cost falls as an
/// interval grows, so the total is monotone in the factor.
fn stretch(
    hooks: &[HookView],
    intervals: &mut [Duration],
    mine: &[usize],
    group: &[usize],
    allowed: f64,
    max: Duration,
) {
    let base: Vec<Duration> = group.iter().map(|&i| intervals[i]).collect();
    let apply = |intervals: &mut [Duration], factor: f64| {
        for (k, &i) in group.iter().enumerate() {
            intervals[i] = base[k].mul_f64(factor).min(max).max(base[k]);
        }
    };
    let upper = base.iter().map(|b| max.as_secs_f64() / b.as_secs_f64().max(1e-3)).fold(1.0, f64::max);
    apply(intervals, upper);
    if total(hooks, intervals, mine) > allowed {
        return; // even at the maximum interval: over budget, reported by the caller.
    }
    let (mut lo, mut hi) = (1.0, upper);
    for _ in 0..50 {
        let mid = (lo + hi) / 2.0;
        apply(intervals, mid);
        if total(hooks, intervals, mine) <= allowed { hi = mid } else { lo = mid }
    }
    apply(intervals, hi);
}

#[cfg(test)]
mod loop_tests;
#[cfg(test)]
mod tests;

//! PURE. The points the gate holds back for the polls that must go: a hook that reached its
//! maximum interval is polled even when the discretionary polls have spent down to the
//! reserve, so the maximum interval holds while the budget is kept.
//!
//! Why a reserve and not a bigger margin: the plan prices polls from estimated change rates,
//! and when an hour's activity beats the estimates the gate stops polls until the window
//! resets; without a reserve that stop fell on idle hooks too, which then waited past their
//! maximum (the fleet benchmark at 10,000 hooks, docs/benchmarks.md). A 304 costs nothing, so
//! the polls that must go cost little, and the reserve keeps them apart from the rest:
//!
//! - **Worst case**, when it fits the tool's share: every such poll until the reset finds
//!   something new (one point each). A hook is due by force at most once every
//!   `max_interval − min_interval` (see [`must_poll`]), so until the reset it forces at most
//!   `1 + ⌊until_reset / (max − min)⌋` polls. Holding that many points makes the promise hold
//!   whatever the activity: after the last discretionary poll, the forced ones never outnumber
//!   the points held.
//! - **Expected**, otherwise (10,000 hooks cannot all change every 15 minutes on 2,500
//!   points): [`EXPECTED_FACTOR`] times what the forced polls are expected to cost at the
//!   hooks' change rates. A target, measured in the benchmark, not a proof.

use super::{HookView, Settings, cost_per_hour};
use chrono::{DateTime, Utc};

/// How much the expected cost of the forced polls is padded when the worst case does not fit.
pub const EXPECTED_FACTOR: f64 = 2.0;

/// A hook polled before must be polled now, gate or not: its maximum interval is (within
/// `min_interval`, the loop's granularity) reached. Hooks never polled are not forced: the
/// start-up sweep lists each in full, one point apiece, and is paced by the gate.
pub fn must_poll(last_poll: Option<DateTime<Utc>>, s: &Settings, now: DateTime<Utc>) -> bool {
    let Some(at) = last_poll else { return false };
    let force_after = s.max_interval.saturating_sub(s.min_interval);
    (now - at).to_std().is_ok_and(|gap| gap >= force_after)
}

/// Points to hold back from discretionary polls on `credential`, from `now` until its window
/// resets (`reset`; an hour when unknown), given `share_points`, the points of the window the
/// tool may spend at all (its share of the limit).
pub fn reserve(
    hooks: &[HookView],
    credential: usize,
    s: &Settings,
    now: DateTime<Utc>,
    reset: Option<DateTime<Utc>>,
    share_points: f64,
) -> f64 {
    let hour = std::time::Duration::from_secs(3600);
    let until_reset = reset.and_then(|r| (r - now).to_std().ok()).filter(|d| !d.is_zero()).unwrap_or(hour).min(hour);
    let spacing = s.max_interval.saturating_sub(s.min_interval).max(std::time::Duration::from_secs(1));
    let forced_each = |until: std::time::Duration| 1.0 + (until.as_secs_f64() / spacing.as_secs_f64()).floor();
    let mine = || hooks.iter().filter(|h| h.credential == credential && h.last_poll.is_some());
    // Judged on a whole window, so the choice does not flip as the reset nears.
    let worst_window = mine().count() as f64 * forced_each(hour);
    if worst_window <= share_points {
        return mine().count() as f64 * forced_each(until_reset);
    }
    let hours = until_reset.as_secs_f64() / 3600.0;
    EXPECTED_FACTOR * mine().map(|h| cost_per_hour(h, s.max_interval)).sum::<f64>() * hours
}

//! The scheduler, the reserve and the gate run together as `watch` runs them, against
//! adversarial activity (any hook may change at any moment, all at once included): the
//! budget is never exceeded, and when the worst case fits the tool's share no hook polled
//! once waits past its maximum interval. Listings only: one point for a first page that
//! changed (or a hook's first listing), none for a 304.

use super::*;
use proptest::prelude::*;

const TICK: i64 = 30;
const HOURS: i64 = 3;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000 / 3600 * 3600, 0).unwrap()
}

struct Sim {
    hook: HookView,
    /// Seconds from the start at which the hook's listing changes.
    changes: Vec<i64>,
    next: DateTime<Utc>,
}

/// Runs the loop; returns (the most any window spent, the longest gap between polls).
fn run(activity: Vec<Vec<i64>>, limit: f64, share: f64, s: &Settings) -> (f64, chrono::Duration) {
    let mut sims: Vec<Sim> = activity
        .into_iter()
        .map(|changes| Sim {
            hook: HookView {
                credential: 0,
                last_poll: None,
                last_traffic: None,
                failing: false,
                owed_due: None,
                change_rate: 0.0,
                conditional: true,
            },
            changes,
            next: start(),
        })
        .collect();
    let budget = Budget { limit_per_hour: limit, share, reserved_per_hour: 0.0 };
    let (mut spent, mut most, mut window) = (0.0f64, 0.0f64, 0i64);
    let mut longest = chrono::Duration::zero();
    for step in 0..HOURS * 3600 / TICK {
        let t = step * TICK;
        let now = start() + chrono::Duration::seconds(t);
        if t / 3600 != window {
            (window, spent) = (t / 3600, 0.0);
        }
        let reset = start() + chrono::Duration::seconds((window + 1) * 3600);
        let views: Vec<HookView> = sims.iter().map(|x| x.hook.clone()).collect();
        let plan = schedule(&views, &[budget], s, now);
        let hold = reserve(&views, 0, s, now, Some(reset), limit * share);
        for (x, next) in sims.iter_mut().zip(plan.next) {
            x.next = next;
        }
        let mut order: Vec<usize> = (0..sims.len()).filter(|&i| sims[i].next <= now).collect();
        order.sort_by_key(|&i| sims[i].next);
        for i in order {
            let x = &mut sims[i];
            let remaining = (limit - spent).max(0.0) as u64;
            let forced = must_poll(x.hook.last_poll, s, now);
            let held = if forced { 0.0 } else { hold };
            if gate(Some(remaining), Some(limit as u64), Some(reset), share, held, now).is_some() {
                continue;
            }
            let since = x.hook.last_poll.map(|p| (p - start()).num_seconds());
            let changed = x.changes.iter().any(|&c| c <= t && since.is_none_or(|p| c > p));
            if changed || since.is_none() {
                spent += 1.0;
            }
            if let Some(p) = x.hook.last_poll {
                longest = longest.max(now - p);
                let gap = ((now - p).num_seconds() as f64 / 3600.0).max(1e-4);
                x.hook.change_rate = if changed { 1.0 / gap } else { x.hook.change_rate * 0.7 };
            }
            if changed {
                x.hook.last_traffic = Some(now);
            }
            x.hook.last_poll = Some(now);
            most = most.max(spent);
        }
    }
    (most, longest)
}

fn activity() -> impl Strategy<Value = Vec<Vec<i64>>> {
    // Each hook changes at random moments, or every minute (the adversary's favourite).
    let hook = prop_oneof![
        proptest::collection::vec(0..HOURS * 3600, 0..40),
        (0..HOURS * 60).prop_map(|from| (from..HOURS * 60).map(|m| m * 60).collect()),
        Just(Vec::new()),
    ];
    proptest::collection::vec(hook, 1..25)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_maximum_interval_and_the_budget_both_hold_whatever_the_activity(
        changes in activity(),
        limit in 60.0f64..2000.0,
        share in 0.2f64..1.0,
        max in 5u64..30,
    ) {
        let s = Settings::new(Duration::from_secs(60), Duration::from_secs(60 * max), Duration::from_secs(3 * 24 * 3600));
        let hooks = changes.len() as f64;
        let forced_each = 1.0 + (3600.0 / (s.max_interval - s.min_interval).as_secs_f64()).floor();
        let (most, longest) = run(changes, limit, share, &s);
        // The hard stop: never more than the share in any window.
        prop_assert!(most <= (limit * share).floor() + 1e-9, "spent {} of {}", most, limit * share);
        // The promise, when the worst case (every forced poll changed) fits the share.
        if hooks * forced_each <= limit * share {
            let max = chrono::Duration::from_std(s.max_interval).unwrap() + chrono::Duration::seconds(TICK);
            prop_assert!(longest <= max, "waited {} (max {})", longest, max);
        }
    }
}

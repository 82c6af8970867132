//! The scheduler's promises as properties: the plan never exceeds a budget that can hold every
//! hook at its maximum interval, no hook waits past its maximum interval, and a failure makes a
//! hook's poll come sooner, never later; plus the rules' worked examples.

use super::*;
use proptest::prelude::*;

fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_760_000_000, 0).unwrap()
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

fn settings() -> Settings {
    Settings::new(minutes(1), minutes(15), Duration::from_secs(3 * 24 * 3600))
}

fn quiet(credential: usize) -> HookView {
    HookView {
        credential,
        last_poll: Some(now() - chrono::Duration::minutes(1)),
        last_traffic: None,
        failing: false,
        owed_due: None,
        change_rate: 0.0,
        conditional: true,
    }
}

fn budget(limit: f64) -> Budget {
    Budget { limit_per_hour: limit, share: 0.5, reserved_per_hour: 0.0 }
}

#[test]
fn busy_and_failing_hooks_are_polled_more_often_than_idle_ones() {
    let s = settings();
    let idle = quiet(0);
    let busy = HookView { last_traffic: Some(now() - chrono::Duration::minutes(30)), change_rate: 4.0, ..quiet(0) };
    let failing = HookView { failing: true, ..busy.clone() };
    let plan = schedule(&[idle, busy, failing], &[budget(5000.0)], &s, now());
    assert_eq!(plan.intervals, [minutes(15), Duration::from_secs(150), minutes(1)]);
    assert!(!plan.over_budget[0]);
}

#[test]
fn the_maximum_interval_stays_well_inside_the_horizon() {
    let s = Settings::new(minutes(1), Duration::from_secs(24 * 3600), Duration::from_secs(24 * 3600));
    assert_eq!(s.max_interval, Duration::from_secs(24 * 360), "a tenth of a one-day horizon");
    assert_eq!(Settings::new(minutes(5), minutes(1), minutes(600)).max_interval, minutes(5));
}

#[test]
fn a_304_is_free_so_ten_thousand_idle_hooks_fit_in_a_small_budget() {
    let hooks = vec![quiet(0); 10_000];
    let plan = schedule(&hooks, &[budget(5000.0)], &settings(), now());
    assert!(plan.planned_per_hour[0] < 1.0, "{}", plan.planned_per_hour[0]);
    let without_etags: Vec<HookView> = hooks.iter().map(|h| HookView { conditional: false, ..h.clone() }).collect();
    let plan = schedule(&without_etags, &[budget(5000.0)], &settings(), now());
    assert!(plan.over_budget[0], "40,000 unconditional polls an hour cannot fit 2,500 points");
    assert!(plan.intervals.iter().all(|i| *i == minutes(15)));
}

#[test]
fn owed_redeliveries_bring_the_next_poll_forward_and_never_polled_hooks_go_first() {
    let owed = HookView { owed_due: Some(now() + chrono::Duration::minutes(3)), ..quiet(0) };
    let new = HookView { last_poll: None, ..quiet(0) };
    let plan = schedule(&[owed, new], &[budget(5000.0)], &settings(), now());
    assert_eq!(plan.next[0], now() + chrono::Duration::minutes(3));
    assert_eq!(plan.next[1], now());
}

#[test]
fn discovery_takes_its_share_before_the_polls() {
    let b = Budget { limit_per_hour: 5000.0, share: 0.5, reserved_per_hour: 500.0 };
    assert!((b.for_polls() - 2000.0 * (1.0 - MARGIN)).abs() < 1e-9);
}

#[test]
fn a_busy_hooks_change_rate_is_estimated_from_the_share_of_polls_that_changed() {
    // Attempts at 20 an hour, polled every 15 minutes: almost every poll finds something new.
    let mut o = Observed::default();
    for _ in 0..30 {
        o = o.after(true, 0.25);
    }
    assert!(o.change_rate() > 15.0, "{}", o.change_rate());
    // An idle hook's estimate decays towards zero.
    for _ in 0..30 {
        o = o.after(false, 0.25);
    }
    assert!(o.change_rate() < 0.01, "{}", o.change_rate());
}

fn hook_strategy(credentials: usize) -> impl Strategy<Value = HookView> {
    (
        0..credentials,
        proptest::option::of(0u32..40 * 60),
        proptest::option::of(0u32..48 * 3600),
        any::<bool>(),
        proptest::option::of(0u32..3600),
        0.0f64..120.0,
        any::<bool>(),
    )
        .prop_map(|(credential, polled, traffic, failing, owed, rate, conditional)| HookView {
            credential,
            last_poll: polled.map(|s| now() - chrono::Duration::seconds(s.into())),
            last_traffic: traffic.map(|s| now() - chrono::Duration::seconds(s.into())),
            failing,
            owed_due: owed.map(|s| now() + chrono::Duration::seconds(s.into())),
            change_rate: rate,
            conditional,
        })
}

fn case() -> impl Strategy<Value = (Vec<HookView>, Vec<Budget>, Settings)> {
    (1usize..4).prop_flat_map(|credentials| {
        (
            proptest::collection::vec(hook_strategy(credentials), 0..120),
            proptest::collection::vec(
                (100.0f64..15_000.0, 0.05f64..1.0, 0.0f64..200.0).prop_map(|(limit, share, reserved)| Budget {
                    limit_per_hour: limit,
                    share,
                    reserved_per_hour: reserved,
                }),
                credentials,
            ),
            (1u64..10, 5u64..120).prop_map(|(min, max)| Settings::new(minutes(min), minutes(max), minutes(60 * 72))),
        )
    })
}

proptest! {
    #[test]
    fn the_budget_is_never_exceeded_unless_every_hook_is_at_its_maximum((hooks, budgets, s) in case()) {
        let plan = schedule(&hooks, &budgets, &s, now());
        for (c, b) in budgets.iter().enumerate() {
            if plan.over_budget[c] {
                for (i, h) in hooks.iter().enumerate().filter(|(_, h)| h.credential == c) {
                    prop_assert_eq!(plan.intervals[i], s.max_interval, "hook {} ({:?})", i, h);
                }
            } else {
                prop_assert!(plan.planned_per_hour[c] <= b.for_polls() + 1e-6);
            }
        }
    }

    #[test]
    fn no_hook_waits_past_its_maximum_interval((hooks, budgets, s) in case()) {
        let plan = schedule(&hooks, &budgets, &s, now());
        let max = chrono::Duration::from_std(s.max_interval).unwrap();
        for (i, h) in hooks.iter().enumerate() {
            prop_assert!(plan.intervals[i] >= s.min_interval && plan.intervals[i] <= s.max_interval);
            let latest = h.last_poll.map_or(now(), |at| (at + max).max(now()));
            prop_assert!(plan.next[i] <= latest, "hook {}: next {} after {}", i, plan.next[i], latest);
            prop_assert!(plan.next[i] >= now());
        }
    }

    #[test]
    fn a_failure_makes_a_hook_polled_sooner((hooks, budgets, s) in case(), pick in any::<proptest::sample::Index>()) {
        prop_assume!(!hooks.is_empty());
        let i = pick.index(hooks.len());
        let mut calm = hooks.clone();
        calm[i].failing = false;
        let mut failing = hooks;
        failing[i].failing = true;
        let before = schedule(&calm, &budgets, &s, now());
        let after = schedule(&failing, &budgets, &s, now());
        // Bisection stops within a hair of the exact factor.
        let slack = Duration::from_secs(1) + before.intervals[i] / 100;
        prop_assert!(after.intervals[i] <= before.intervals[i] + slack, "{:?} > {:?}", after.intervals[i], before.intervals[i]);
        prop_assert!(after.next[i] <= before.next[i] + chrono::Duration::from_std(slack).unwrap());
    }
}

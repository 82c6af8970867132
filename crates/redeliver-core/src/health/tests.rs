//! The health model against hand-picked cases and, for random listings, against a plain
//! restatement of the rule over every attempt.

use super::*;
use proptest::prelude::*;

fn at(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
}

/// A listing: (second, status_code, event number), ids in listing order.
fn observed(attempts: &[(i64, i64, u8)]) -> Observed {
    let mut o = Observed::default();
    for (i, &(s, code, event)) in attempts.iter().enumerate() {
        o.observe(i as u64 + 1, at(s), code, &format!("g{event}"), (200..300).contains(&code));
    }
    o
}

fn policy() -> HealthPolicy {
    HealthPolicy::default()
}

#[test]
fn outage_signs_are_no_answer_and_gateway_answers() {
    for code in [0, 502, 503, 504, 520, 521, 522, 523, 524] {
        assert!(is_outage_sign(code), "{code}");
    }
    for code in [200, 400, 404, 410, 429, 500, 501, 505, 519, 525, 599] {
        assert!(!is_outage_sign(code), "{code}");
    }
}

#[test]
fn three_events_failing_with_no_answer_is_an_outage_since_the_first() {
    let o = observed(&[(10, 200, 1), (20, 0, 2), (30, 502, 3), (40, 0, 4)]);
    assert_eq!(assess(&o, &policy()), Health::Down { since: at(20) });
}

#[test]
fn two_events_are_not_enough_by_default_and_one_is_with_a_threshold_of_one() {
    let o = observed(&[(20, 0, 2), (30, 0, 2), (40, 0, 3)]);
    assert_eq!(assess(&o, &policy()), Health::Up, "two distinct events");
    let one = HealthPolicy { min_events: 1, ..policy() };
    assert_eq!(assess(&o, &one), Health::Down { since: at(20) });
}

#[test]
fn an_answer_from_the_receiver_or_a_newer_success_breaks_the_run() {
    let answered = observed(&[(20, 0, 1), (30, 500, 2), (40, 0, 3), (50, 0, 4)]);
    assert_eq!(assess(&answered, &policy()), Health::Up, "a 500 is the receiver talking");
    let recovered = observed(&[(20, 0, 1), (30, 0, 2), (40, 0, 3), (50, 200, 4)]);
    assert_eq!(assess(&recovered, &policy()), Health::Up);
    let again = observed(&[(20, 0, 1), (30, 500, 2), (40, 0, 3), (50, 504, 4), (60, 0, 5)]);
    assert_eq!(assess(&again, &policy()), Health::Down { since: at(40) }, "the run after the answer");
}

#[test]
fn down_lasts_until_something_newer_than_its_start_succeeds() {
    let p = policy();
    let down = HookHealth::up(&p).update(&observed(&[(20, 0, 1), (30, 0, 2), (40, 0, 3)]), &p);
    assert_eq!(down.health, Health::Down { since: at(20) });
    // The next pass lists only one new failure: still down, same start.
    let still = down.update(&observed(&[(100, 0, 4)]), &p);
    assert_eq!(still.health, Health::Down { since: at(20) });
    // A success older than the start says nothing.
    let old_success = still.update(&observed(&[(5, 200, 9)]), &p);
    assert!(old_success.is_down());
    let up = old_success.update(&observed(&[(120, 200, 4)]), &p);
    assert_eq!(up, HookHealth::up(&p));
}

#[test]
fn a_new_outage_after_a_success_starts_a_fresh_probe_schedule() {
    let p = policy();
    let down = HookHealth::up(&p).update(&observed(&[(20, 0, 1), (30, 0, 2), (40, 0, 3)]), &p);
    let probed = down.probed(at(50), &p).probed(at(200), &p);
    assert_eq!(probed.probes, 2);
    let next = probed.update(&observed(&[(300, 200, 1), (400, 0, 4), (410, 0, 5), (420, 0, 6)]), &p);
    assert_eq!(next.health, Health::Down { since: at(400) });
    assert_eq!((next.last_probe, next.probes, next.probe_interval), (None, 0, p.probe_interval));
}

#[test]
fn canaries_are_due_at_once_then_at_doubling_intervals_up_to_fifteen_minutes() {
    let p = policy();
    let mut h = HookHealth::up(&p);
    assert!(!h.probe_due(at(0)), "never while up");
    assert_eq!(h.next_probe(), None);
    h = h.update(&observed(&[(0, 0, 1), (1, 0, 2), (2, 0, 3)]), &p);
    let mut t = 2;
    let mut sent = Vec::new();
    for _ in 0..10 {
        assert_eq!(h.next_probe().unwrap() <= at(t), h.probe_due(at(t)));
        while !h.probe_due(at(t)) {
            t += 1;
        }
        sent.push(t);
        h = h.probed(at(t), &p);
    }
    let gaps: Vec<i64> = sent.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [60, 120, 240, 480, 900, 900, 900, 900, 900]);
    assert_eq!(h.probes, 10);
}

#[test]
fn the_kept_failures_are_bounded_and_the_newest() {
    let mut o = Observed::default();
    for i in 0..1_000u64 {
        o.observe(i, at(i as i64), 0, &format!("g{i}"), false);
        o.observe(i, at(i as i64), 0, &format!("g{i}"), false); // repeated across pages
    }
    let kept = o.failures_newest_first();
    assert_eq!(kept.len(), RECENT_FAILURES);
    assert_eq!(kept[0].id, 999);
    assert_eq!(kept.last().unwrap().id, 1_000 - RECENT_FAILURES as u64);
}

#[test]
fn thresholds_are_normalized() {
    let p = HealthPolicy { min_events: 0, probe_interval: Duration::minutes(20), ..policy() }.normalized();
    assert_eq!((p.min_events, p.max_probe_interval), (1, Duration::minutes(20)));
    assert_eq!(HealthPolicy { min_events: 10_000, ..policy() }.normalized().min_events, RECENT_FAILURES);
}

/// The rule restated over every attempt, with no bound and no early exit.
fn reference(attempts: &[(i64, i64, u8)], min_events: usize) -> Health {
    let mut sorted: Vec<(i64, usize, i64, u8)> =
        attempts.iter().enumerate().map(|(i, &(s, c, e))| (s, i + 1, c, e)).collect();
    sorted.sort();
    let success = sorted.iter().filter(|a| (200..300).contains(&a.2)).map(|a| a.0).max();
    let after: Vec<_> =
        sorted.iter().filter(|a| !(200..300).contains(&a.2) && success.is_none_or(|s| a.0 > s)).collect();
    let run: Vec<_> = after.iter().rev().take_while(|a| is_outage_sign(a.2)).collect();
    let events: HashSet<u8> = run.iter().map(|a| a.3).collect();
    match run.last() {
        Some(first) if events.len() >= min_events => Health::Down { since: at(first.0) },
        _ => Health::Up,
    }
}

fn arb_attempt() -> impl Strategy<Value = (i64, i64, u8)> {
    (0i64..40, prop::sample::select(vec![0i64, 200, 204, 404, 500, 502, 503, 522, 525]), 0u8..6)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn assess_follows_the_rule(attempts in prop::collection::vec(arb_attempt(), 0..30), min_events in 1usize..5) {
        let p = HealthPolicy { min_events, ..policy() };
        prop_assert_eq!(assess(&observed(&attempts), &p), reference(&attempts, min_events));
    }

    #[test]
    fn the_order_pages_arrive_in_does_not_matter(attempts in prop::collection::vec(arb_attempt(), 0..30), seed in any::<u64>()) {
        let a = observed(&attempts);
        let mut order: Vec<usize> = (0..attempts.len()).collect();
        let mut x = seed | 1;
        for i in (1..order.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let mut b = Observed::default();
        for &i in &order {
            let (s, code, event) = attempts[i];
            b.observe(i as u64 + 1, at(s), code, &format!("g{event}"), (200..300).contains(&code));
        }
        prop_assert_eq!(assess(&a, &policy()), assess(&b, &policy()));
    }

    #[test]
    fn an_outage_only_ends_with_a_newer_success(
        first in prop::collection::vec(arb_attempt(), 0..20),
        second in prop::collection::vec(arb_attempt(), 0..20),
    ) {
        let p = policy();
        let before = HookHealth::up(&p).update(&observed(&first), &p);
        let later: Vec<_> = second.iter().map(|&(s, c, e)| (s + 40, c, e)).collect();
        let o = observed(&later);
        let after = before.update(&o, &p);
        match before.health {
            Health::Down { since } if o.newest_success.is_none_or(|s| s <= since) => {
                prop_assert_eq!(after.health, before.health, "still the same outage");
                prop_assert_eq!(after.probes, before.probes);
            }
            _ => prop_assert_eq!(after.health, assess(&o, &p), "judged afresh"),
        }
    }
}

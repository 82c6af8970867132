//! The outage step against hand-picked cases and random plans.

use super::*;
use crate::health::{HealthPolicy, Observed};
use crate::plan::{GuidHistory, Memory, plan};
use crate::policy::Policy;
use chrono::Duration;
use proptest::prelude::*;
use std::collections::HashMap;

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn history(n: usize, event: &str, first: i64, newest: i64) -> GuidHistory {
    GuidHistory {
        guid: format!("g{n}"),
        event: event.to_string(),
        action: None,
        attempts: 1,
        succeeded: false,
        newest_id: n as u64 + 100,
        newest_at: at(newest),
        oldest_at: at(first),
        last_status_code: 0,
        last_status: "failed to connect to host".to_string(),
        original_seen: true,
    }
}

fn down_since(minutes: i64) -> HookHealth {
    let p = HealthPolicy::default();
    let mut o = Observed::default();
    for i in 0..3 {
        o.observe(i, at(minutes + i as i64), 0, &format!("x{i}"), false);
    }
    HookHealth::up(&p).update(&o, &p)
}

fn planned(histories: &[GuidHistory], now: i64) -> Plan {
    plan(histories, &HashMap::<String, Memory>::new(), &Policy::github_com(), &EventFilter::default(), None, at(now))
}

#[test]
fn while_down_the_oldest_owed_event_is_the_canary_and_the_rest_are_held() {
    let hs = [history(1, "push", -30, -30), history(2, "push", -50, -50), history(3, "issues", -10, -10)];
    let health = down_since(-60);
    let p = outage_aware(planned(&hs, 0), &health, &EventFilter::default(), at(0));
    assert_eq!(p.verdicts[0].decision, Decision::Probe { delivery_id: 102 });
    assert_eq!(p.verdicts[0].history.guid, "g2");
    assert!(p.verdicts[1..].iter().all(|v| v.decision == Decision::Held), "{:#?}", p.verdicts);
    assert_eq!(p.next_watermark(at(0), Duration::minutes(5)), at(-50), "held events keep the stored time");
    // Within the probe interval after a canary: nothing is sent at all.
    let probed = health.probed(at(0), &HealthPolicy::default());
    let p = outage_aware(planned(&hs, 0), &probed, &EventFilter::default(), at(0) + Duration::seconds(59));
    assert!(p.verdicts.iter().all(|v| v.decision == Decision::Held));
}

#[test]
fn an_event_waiting_for_its_rung_is_not_the_canary_even_when_oldest() {
    // g2 is the oldest, but a request for it went out a minute ago (refused, say): its rung is
    // not up, so the canary is the oldest event that is due (found by the checker, seed 329).
    let hs = [history(1, "push", -30, -30), history(2, "push", -50, -50)];
    let asked = Memory { sent: 1, last_sent_at: Some(at(-1)), ..Memory::default() };
    let memory = HashMap::from([("g2".to_string(), asked)]);
    let made = plan(&hs, &memory, &Policy::github_com(), &EventFilter::default(), None, at(0));
    assert!(made.verdicts.iter().any(|v| v.history.guid == "g2" && matches!(v.decision, Decision::Waiting { .. })));
    let p = outage_aware(made, &down_since(-60), &EventFilter::default(), at(0));
    assert_eq!(p.verdicts[0].history.guid, "g1");
    assert_eq!(p.verdicts[0].decision, Decision::Probe { delivery_id: 101 });
    let waiting = p.verdicts.iter().find(|v| v.history.guid == "g2").unwrap();
    assert_eq!(waiting.decision, Decision::Held);
}

#[test]
fn the_horizon_reached_while_down_is_an_outage_give_up() {
    let hs = [history(1, "push", -3 * 24 * 60 - 1, -100), history(2, "push", -20, -20)];
    let up = HookHealth::up(&HealthPolicy::default());
    let p = outage_aware(planned(&hs, 0), &up, &EventFilter::default(), at(0));
    assert!(p.verdicts.iter().any(|v| v.decision == Decision::GiveUp { reason: GiveUpReason::Horizon }));
    let p = outage_aware(planned(&hs, 0), &down_since(-4000), &EventFilter::default(), at(0));
    let old = p.verdicts.iter().find(|v| v.history.guid == "g1").unwrap();
    assert_eq!(old.decision, Decision::GiveUp { reason: GiveUpReason::Outage });
    assert!(!old.decision.is_pending());
    let young = p.verdicts.iter().find(|v| v.history.guid == "g2").unwrap();
    assert_eq!(young.decision, Decision::Probe { delivery_id: 102 }, "the oldest still owed is the canary");
}

#[test]
fn up_again_the_priority_events_drain_first_then_oldest_first() {
    let hs = [history(1, "push", -30, -30), history(2, "push", -50, -50), history(3, "issues", -10, -10)];
    let up = HookHealth::up(&HealthPolicy::default());
    let priority = EventFilter { include: vec!["issues".into()], exclude: vec![] };
    let p = outage_aware(planned(&hs, 0), &up, &priority, at(0));
    let order: Vec<&str> = p.verdicts.iter().map(|v| v.history.guid.as_str()).collect();
    assert_eq!(order, ["g3", "g2", "g1"]);
    assert!(p.verdicts.iter().all(|v| matches!(v.decision, Decision::Redeliver { .. })));
    let plain = outage_aware(planned(&hs, 0), &up, &EventFilter::default(), at(0));
    assert_eq!(plain, planned(&hs, 0), "no priority, no outage: the plan as made");
}

fn arb_histories() -> impl Strategy<Value = Vec<GuidHistory>> {
    prop::collection::vec((0i64..6000, 0i64..600, prop::sample::select(vec!["push", "issues", "pull_request"])), 0..12)
        .prop_map(|hs| {
            hs.iter().enumerate().map(|(n, &(age, since, e))| history(n, e, -age, -age + since.min(age))).collect()
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn while_down_nothing_is_redelivered_but_one_canary_and_nothing_owed_is_forgotten(
        hs in arb_histories(),
        down_at in -6000i64..0,
        probed_ago in prop::option::of(0i64..30),
    ) {
        let p = HealthPolicy::default();
        let mut health = down_since(down_at);
        if let Some(ago) = probed_ago {
            health = health.probed(at(-ago), &p);
        }
        let before = planned(&hs, 0);
        let after = outage_aware(before.clone(), &health, &EventFilter::default(), at(0));
        prop_assert_eq!(after.verdicts.len(), before.verdicts.len());
        prop_assert_eq!(after.count(|d| matches!(d, Decision::Redeliver { .. } | Decision::Deferred { .. } | Decision::Waiting { .. })), 0);
        let probes = after.count(|d| matches!(d, Decision::Probe { .. }));
        prop_assert!(probes <= 1);
        // A canary exactly when one is due and some event is due (not waiting for its rung).
        let due = before.count(|d| matches!(d, Decision::Redeliver { .. } | Decision::Deferred { .. }));
        prop_assert_eq!(probes == 1, health.probe_due(at(0)) && due > 0);
        for b in &before.verdicts {
            let a = after.verdicts.iter().find(|a| a.history.guid == b.history.guid).unwrap();
            prop_assert_eq!(a.decision.is_pending(), b.decision.is_pending(), "{:?} -> {:?}", b.decision, a.decision);
            prop_assert_eq!(a.attempts, b.attempts, "nothing is charged");
        }
        prop_assert_eq!(after.next_watermark(at(0), Duration::minutes(5)), before.next_watermark(at(0), Duration::minutes(5)));
    }

    #[test]
    fn while_up_only_the_order_changes(hs in arb_histories()) {
        let up = HookHealth::up(&HealthPolicy::default());
        let priority = EventFilter { include: vec!["push".into()], exclude: vec![] };
        let before = planned(&hs, 0);
        let after = outage_aware(before.clone(), &up, &priority, at(0));
        let mut a = after.verdicts.clone();
        let mut b = before.verdicts.clone();
        a.sort_by(|x, y| x.history.guid.cmp(&y.history.guid));
        b.sort_by(|x, y| x.history.guid.cmp(&y.history.guid));
        prop_assert_eq!(a, b);
        let firsts: Vec<bool> = after
            .verdicts
            .iter()
            .map(|v| matches!(v.decision, Decision::Redeliver { .. }) && v.history.event == "push")
            .collect();
        prop_assert!(firsts.windows(2).all(|w| w[0] || !w[1]), "priority redeliveries come first");
    }
}

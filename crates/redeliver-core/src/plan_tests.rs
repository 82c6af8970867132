//! Scenario and property tests for the planner over generated histories.

use super::*;
use proptest::prelude::*;

fn t0() -> DateTime<Utc> {
    "2026-11-20T12:00:00Z".parse().unwrap()
}

fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

fn attempt(id: u64, guid: &str, minutes: i64, code: i64, redelivery: bool) -> Delivery {
    Delivery {
        id,
        guid: guid.into(),
        delivered_at: at(minutes),
        redelivery,
        status: if code == 200 { "OK".into() } else { format!("Invalid HTTP Response: {code}") },
        status_code: code,
        event: "pull_request".into(),
        action: Some("opened".into()),
        installation_id: Some(1),
        repository_id: Some(2),
        throttled_at: None,
    }
}

/// Feeds attempts newest first, as GitHub lists them.
fn scan(window_start: i64, mut attempts: Vec<Delivery>) -> Scan {
    attempts.sort_by_key(|d| std::cmp::Reverse((d.delivered_at, d.id)));
    let mut s = Scan::new(Window { start: at(window_start), until: None });
    attempts.iter().for_each(|d| s.observe(d));
    s
}

fn decide_at(s: &Scan, memory: &HashMap<String, Memory>, now: i64) -> Plan {
    plan(s.failed(), memory, &Policy::github_com(), &EventFilter::default(), None, at(now))
}

fn only(p: &Plan) -> &Verdict {
    assert_eq!(p.verdicts.len(), 1, "{:#?}", p.verdicts);
    &p.verdicts[0]
}

#[test]
fn an_event_with_any_success_is_never_a_candidate() {
    let s =
        scan(-60, vec![attempt(1, "a", 0, 500, false), attempt(2, "a", 5, 202, true), attempt(3, "a", 9, 503, true)]);
    assert_eq!(s.failed().count(), 0);
    assert_eq!(s.succeeded_guids(), 1);
}

#[test]
fn a_success_listed_before_the_failure_it_resolves_is_remembered() {
    // Newest first: the successful redelivery comes before the failed original.
    let s = scan(-60, vec![attempt(1, "a", 0, 0, false), attempt(2, "a", 3, 200, true)]);
    assert_eq!(s.failed().count(), 0);
    assert_eq!(s.tracked(), 1);
}

#[test]
fn a_plain_success_costs_no_memory() {
    let s = scan(-60, (1..=50).map(|i| attempt(i, &format!("g{i}"), i as i64 % 30, 200, false)).collect());
    assert_eq!(s.tracked(), 0);
    assert_eq!(s.succeeded_guids(), 50);
    assert_eq!(s.deliveries_in_window, 50);
}

#[test]
fn several_failed_attempts_give_one_redelivery_of_the_newest() {
    let s =
        scan(-60, vec![attempt(10, "a", 0, 500, false), attempt(11, "a", 2, 502, true), attempt(12, "a", 8, 0, true)]);
    let p = decide_at(&s, &HashMap::new(), 60);
    let v = only(&p);
    assert_eq!(v.decision, Decision::Redeliver { delivery_id: 12 });
    assert_eq!(v.attempts, 3);
    assert_eq!(v.history.last_status_code, 0);
}

#[test]
fn a_fresh_failure_waits_for_the_first_rung() {
    let s = scan(-60, vec![attempt(1, "a", 0, 500, false)]);
    let p = decide_at(&s, &HashMap::new(), 0);
    assert_eq!(only(&p).decision, Decision::Waiting { due_at: at(1) });
    let p = decide_at(&s, &HashMap::new(), 1);
    assert_eq!(only(&p).decision, Decision::Redeliver { delivery_id: 1 });
}

#[test]
fn a_redelivery_not_yet_listed_is_counted_from_the_ledger() {
    // We sent one at minute 1; GitHub does not list it yet. The next run must not send again.
    let s = scan(-60, vec![attempt(1, "a", 0, 500, false)]);
    let memory = HashMap::from([(
        "a".to_string(),
        Memory {
            sent: 1,
            last_sent_at: Some(at(1)),
            first_seen_at: Some(at(0)),
            given_up: false,
            resolved: false,
            uncharged: 0,
        },
    )]);
    let p = decide_at(&s, &memory, 2);
    let v = only(&p);
    assert_eq!(v.attempts, 2);
    assert_eq!(v.decision, Decision::Waiting { due_at: at(6) });
}

#[test]
fn attempts_charged_to_no_rung_do_not_count_against_the_cap() {
    // Eight attempts listed, six of them canaries sent while the receiver was down (issue 11):
    // the event has had its original and one rung, not eight.
    let attempts = (0..8).map(|i| attempt(i + 1, "a", i as i64, 0, i > 0)).collect();
    let s = scan(-60, attempts);
    let memory = HashMap::from([("a".to_string(), Memory { sent: 1, uncharged: 6, ..Memory::default() })]);
    let p = decide_at(&s, &memory, 600);
    let v = only(&p);
    assert_eq!(v.attempts, 2);
    assert_eq!(v.decision, Decision::Redeliver { delivery_id: 8 });
    let charged = decide_at(&s, &HashMap::new(), 600);
    assert_eq!(only(&charged).decision, Decision::GiveUp { reason: GiveUpReason::Cap }, "without the ledger's word");
}

#[test]
fn the_cap_counts_githubs_record_of_earlier_redeliveries() {
    let attempts = (0..8).map(|i| attempt(i + 1, "a", i as i64, 500, i > 0)).collect();
    let s = scan(-60, attempts);
    let p = decide_at(&s, &HashMap::new(), 600);
    assert_eq!(only(&p).decision, Decision::GiveUp { reason: GiveUpReason::Cap });
}

#[test]
fn an_event_past_the_horizon_is_given_up_and_then_not_reported_again() {
    let s = scan(-5000, vec![attempt(1, "a", -4321, 500, false)]);
    let p = decide_at(&s, &HashMap::new(), 0);
    assert_eq!(only(&p).decision, Decision::GiveUp { reason: GiveUpReason::Horizon });
    let memory = HashMap::from([("a".to_string(), Memory { given_up: true, ..Memory::default() })]);
    assert_eq!(only(&decide_at(&s, &memory, 0)).decision, Decision::AlreadyGivenUp);
}

#[test]
fn a_rung_past_the_horizon_is_pulled_in_for_a_last_chance() {
    // First attempt 3 days minus 1 hour ago; last attempt 5 minutes ago; next rung 10 h.
    let first = -(3 * 24 * 60) + 60;
    let mut attempts = vec![attempt(1, "a", first, 500, false)];
    attempts.extend((0..5).map(|i| attempt(2 + i, "a", -5 - i as i64, 500, true)));
    let s = scan(first - 1, attempts);
    let p = decide_at(&s, &HashMap::new(), 0);
    assert_eq!(only(&p).decision, Decision::Waiting { due_at: at(first) + Duration::days(3) - LAST_CHANCE });
    // After the last-chance attempt, no further pull-in: it waits past the horizon and is given up there.
    let late = first + 3 * 24 * 60 - 5;
    let s2 = scan(first - 1, vec![attempt(1, "a", first, 500, false), attempt(9, "a", late, 500, true)]);
    assert!(matches!(only(&decide_at(&s2, &HashMap::new(), late + 1)).decision, Decision::Waiting { .. }));
    assert_eq!(
        only(&decide_at(&s2, &HashMap::new(), first + 3 * 24 * 60)).decision,
        Decision::GiveUp { reason: GiveUpReason::Horizon }
    );
}

#[test]
fn filters_match_event_or_event_dot_action() {
    let f = EventFilter {
        include: vec!["pull_request".into(), "issues.opened".into()],
        exclude: vec!["pull_request.closed".into()],
    };
    assert!(f.allows("pull_request", Some("opened")));
    assert!(!f.allows("pull_request", Some("closed")));
    assert!(f.allows("issues", Some("opened")));
    assert!(!f.allows("issues", Some("closed")));
    assert!(!f.allows("push", None));
    assert!(EventFilter::default().allows("push", None));
    let s = scan(-60, vec![attempt(1, "a", 0, 500, false)]);
    let p = plan(
        s.failed(),
        &HashMap::new(),
        &Policy::github_com(),
        &EventFilter { include: vec!["push".into()], exclude: vec![] },
        None,
        at(30),
    );
    assert_eq!(only(&p).decision, Decision::Filtered);
}

#[test]
fn max_redeliveries_keeps_the_oldest_and_defers_the_rest() {
    let s = scan(-600, (0..5).map(|i| attempt(i + 1, &format!("g{i}"), -(i as i64) * 10, 500, false)).collect());
    let p = plan(s.failed(), &HashMap::new(), &Policy::github_com(), &EventFilter::default(), Some(2), at(60));
    let redeliver: Vec<_> = p
        .verdicts
        .iter()
        .filter(|v| matches!(v.decision, Decision::Redeliver { .. }))
        .map(|v| v.history.guid.as_str())
        .collect();
    assert_eq!(redeliver, ["g4", "g3"]);
    assert_eq!(p.count(|d| matches!(d, Decision::Deferred { .. })), 3);
}

#[test]
fn the_watermark_keeps_pending_events_in_view() {
    let s = scan(
        -600,
        vec![
            attempt(1, "old", -300, 500, false),
            attempt(2, "fine", -400, 200, false),
            attempt(3, "new", -1, 500, false),
        ],
    );
    let p = decide_at(&s, &HashMap::new(), 0);
    assert_eq!(p.next_watermark(at(0), Duration::minutes(5)), at(-300));
    // Nothing pending: the run start minus the overlap.
    let quiet = scan(-600, vec![attempt(2, "fine", -400, 200, false)]);
    assert_eq!(decide_at(&quiet, &HashMap::new(), 0).next_watermark(at(0), Duration::minutes(5)), at(-5));
}

#[test]
fn the_window_start_is_inclusive_and_older_attempts_stop_the_listing() {
    let s = scan(0, vec![attempt(1, "edge", 0, 500, false), attempt(2, "older", -1, 500, false)]);
    assert!(s.reached_start);
    let guids: Vec<_> = s.failed().map(|h| h.guid.as_str()).collect();
    assert_eq!(guids, ["edge"]);
}

#[test]
fn an_incident_window_ignores_later_events_but_sees_their_later_successes() {
    let mut s = Scan::new(Window { start: at(-100), until: Some(at(-50)) });
    for d in [
        attempt(5, "in-window-fixed", -10, 200, true),
        attempt(4, "after", -20, 500, false),
        attempt(3, "in-window", -60, 500, false),
        attempt(2, "in-window-fixed", -70, 500, false),
    ] {
        s.observe(&d);
    }
    let guids: Vec<_> = s.failed().map(|h| h.guid.as_str()).collect();
    assert_eq!(guids, ["in-window"]);
}

// ---- properties over generated histories ----

/// One generated event: when it first fired and the outcomes of its attempts (minutes apart).
fn arb_event() -> impl Strategy<Value = (i64, Vec<(i64, i64)>)> {
    (
        -5000i64..0,
        prop::collection::vec(
            (0i64..400, prop::sample::select(vec![0i64, 200, 202, 204, 301, 404, 500, 502, 503])),
            1..6,
        ),
    )
}

fn build(events: &[(i64, Vec<(i64, i64)>)]) -> Vec<Delivery> {
    let mut out = Vec::new();
    let mut id = 1u64 << 33;
    for (n, (start, tries)) in events.iter().enumerate() {
        let mut t = *start;
        for (i, (gap, code)) in tries.iter().enumerate() {
            t += gap;
            id += 1;
            out.push(attempt(id, &format!("guid-{n}"), t, *code, i > 0));
        }
    }
    out
}

#[test]
fn the_scan_collects_what_the_health_model_needs() {
    use crate::health::{Health, HealthPolicy, assess};
    let s = scan(
        -60,
        vec![
            attempt(1, "a", 0, 200, false),
            attempt(2, "b", 1, 0, false),
            attempt(3, "c", 2, 502, false),
            attempt(4, "b", 3, 503, true),
            attempt(5, "d", 4, 0, false),
            attempt(5, "d", 4, 0, false),
        ],
    );
    assert_eq!(s.health().newest_success, Some(at(0)));
    assert_eq!(s.health().failures_newest_first().len(), 4, "a repeated item counts once");
    assert_eq!(assess(s.health(), &HealthPolicy::default()), Health::Down { since: at(1) });
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn planner_invariants(events in prop::collection::vec(arb_event(), 0..40), window_start in -6000i64..0, now in 0i64..600, limit in prop::option::of(0usize..5)) {
        let all = build(&events);
        let s = scan(window_start, all.clone());
        let p = plan(s.failed(), &HashMap::new(), &Policy::github_com(), &EventFilter::default(), limit, at(now));
        let in_window: Vec<&Delivery> = all.iter().filter(|d| d.delivered_at >= at(window_start)).collect();
        let mut seen = std::collections::HashSet::new();
        for v in &p.verdicts {
            prop_assert!(seen.insert(v.history.guid.clone()), "one verdict per event");
            let attempts: Vec<_> = in_window.iter().filter(|d| d.guid == v.history.guid).collect();
            // Every attempt read is evidence: one older than the window counts too.
            prop_assert!(all.iter().filter(|d| d.guid == v.history.guid).all(|d| !d.succeeded()), "never plan for an event that succeeded");
            prop_assert_eq!(v.history.attempts as usize, attempts.len());
            let newest = attempts.iter().max_by_key(|d| (d.delivered_at, d.id)).unwrap();
            if let Decision::Redeliver { delivery_id } = v.decision {
                prop_assert_eq!(delivery_id, newest.id);
                prop_assert!(v.attempts < Policy::github_com().max_attempts);
                prop_assert!(at(now) < v.first_attempt_at + Duration::days(3));
            }
        }
        // Every event in the window without a success anywhere it was read gets exactly one verdict.
        let failed: std::collections::HashSet<_> = in_window.iter().map(|d| d.guid.clone())
            .filter(|g| all.iter().filter(|d| &d.guid == g).all(|d| !d.succeeded())).collect();
        prop_assert_eq!(&failed, &seen);
        // Memory follows failures: tracked events are failed ones or resolved redeliveries.
        let with_failure_or_redelivery = in_window.iter().filter(|d| !d.succeeded() || d.redelivery).map(|d| d.guid.clone()).collect::<std::collections::HashSet<_>>();
        prop_assert!(s.tracked() <= with_failure_or_redelivery.len());
        if let Some(limit) = limit {
            let redeliveries = p.count(|d| matches!(d, Decision::Redeliver { .. }));
            prop_assert!(redeliveries <= limit);
        }
        let mark = p.next_watermark(at(now), Duration::minutes(5));
        prop_assert!(mark <= at(now) - Duration::minutes(5));
        for v in p.verdicts.iter().filter(|v| v.decision.is_pending()) {
            prop_assert!(mark <= v.history.oldest_at, "a pending event stays in the next window");
        }
    }

    /// Many runs against a receiver that never recovers: each event is retried on its ladder,
    /// never more than the cap, never past the horizon, and the watermark never loses it.
    #[test]
    fn repeated_runs_respect_ladder_cap_and_horizon(starts in prop::collection::vec(-200i64..0, 1..8), step in 1i64..240, lose_writes in any::<bool>()) {
        let policy = Policy::github_com();
        let mut log: Vec<Delivery> = starts.iter().enumerate().map(|(i, m)| attempt(i as u64 + 1, &format!("e{i}"), *m, 503, false)).collect();
        let mut memory: HashMap<String, Memory> = HashMap::new();
        let mut watermark = at(-24 * 60);
        let mut next_id = 1000;
        let mut now = 0;
        while now < 5 * 24 * 60 {
            let s = scan((watermark - t0()).num_minutes(), log.clone());
            let p = plan(s.failed(), &memory, &policy, &EventFilter::default(), None, at(now));
            for v in &p.verdicts {
                let m = memory.entry(v.history.guid.clone()).or_default();
                m.first_seen_at = Some(m.first_seen_at.map_or(v.first_attempt_at, |f| f.min(v.first_attempt_at)));
                match v.decision {
                    Decision::Redeliver { .. } => {
                        m.sent += 1;
                        m.last_sent_at = Some(at(now));
                        // Half the time GitHub has not listed the new attempt by the next run.
                        if !lose_writes || m.sent.is_multiple_of(2) {
                            next_id += 1;
                            log.push(attempt(next_id, &v.history.guid, now, 503, true));
                        }
                    }
                    Decision::GiveUp { .. } => m.given_up = true,
                    _ => {}
                }
            }
            watermark = p.next_watermark(at(now), Duration::minutes(5));
            now += step;
        }
        for (i, first) in starts.iter().enumerate() {
            let m = &memory[&format!("e{i}")];
            prop_assert!(m.given_up, "every failing event ends given up");
            prop_assert!(m.sent < policy.max_attempts);
            prop_assert!(m.last_sent_at.is_none_or(|l| l < at(*first) + policy.horizon));
        }
    }
}

#[test]
fn pending_events_from_the_ledger_carry_over_and_only_new_attempts_count() {
    // The ledger remembers three events; this pass lists only the last few minutes, which
    // overlap the newest remembered attempt of one of them.
    let remembered = |guid: &str, attempts: u32, oldest: i64, newest: i64, id: u64| GuidHistory {
        guid: guid.into(),
        event: "push".into(),
        action: None,
        attempts,
        succeeded: false,
        newest_id: id,
        newest_at: at(newest),
        oldest_at: at(oldest),
        last_status_code: 503,
        last_status: "Invalid HTTP Response: 503".into(),
        original_seen: true,
    };
    let mut s = Scan::new(Window { start: at(-5), until: None });
    s.remember([
        remembered("recovered", 2, -300, -200, 10),
        remembered("still-failing", 3, -400, -4, 11),
        remembered("quiet", 2, -500, -30, 12),
    ]);
    let mut listed = [
        attempt(90, "recovered", -2, 200, true),
        attempt(11, "still-failing", -4, 503, true), // already counted: listed again in the overlap
        attempt(91, "still-failing", -1, 0, true),
        attempt(92, "new", -3, 500, false),
    ];
    listed.sort_by_key(|d| std::cmp::Reverse((d.delivered_at, d.id)));
    listed.iter().for_each(|d| s.observe(d));
    assert_eq!(s.succeeded().map(|h| h.guid.as_str()).collect::<Vec<_>>(), ["recovered"]);
    let by_guid: HashMap<_, _> = s.failed().map(|h| (h.guid.as_str(), h)).collect();
    assert_eq!(by_guid.len(), 3);
    let still = by_guid["still-failing"];
    assert_eq!((still.attempts, still.oldest_at, still.newest_id, still.last_status_code), (4, at(-400), 91, 0));
    assert_eq!(by_guid["quiet"].newest_id, 12);
    assert_eq!(by_guid["new"].attempts, 1);
    // The remembered histories plan like any other: the quiet one is due (5 min after its 2nd attempt).
    let p = plan(s.failed(), &HashMap::new(), &Policy::github_com(), &EventFilter::default(), None, at(0));
    let quiet = p.verdicts.iter().find(|v| v.history.guid == "quiet").unwrap();
    assert_eq!(quiet.decision, Decision::Redeliver { delivery_id: 12 });
}

#[test]
fn an_attempt_in_the_same_second_as_the_start_is_in_the_window() {
    // GitHub lists times to the second; the stored start has milliseconds.
    let mut s = Scan::new(Window { start: at(0) + Duration::milliseconds(700), until: None });
    s.observe(&attempt(1, "same-second", 0, 500, false));
    assert!(!s.reached_start);
    assert_eq!(s.failed().count(), 1);
}

#[test]
fn the_same_attempt_listed_twice_counts_once() {
    // GitHub's list can repeat an item across pages; one failed attempt listed 8 times is one
    // attempt, not a cap's worth.
    let mut s = Scan::new(Window { start: at(-60), until: None });
    for _ in 0..8 {
        s.observe(&attempt(7, "a", 0, 503, false));
    }
    let p = decide_at(&s, &HashMap::new(), 60);
    let v = only(&p);
    assert_eq!(v.attempts, 1);
    assert_eq!(v.decision, Decision::Redeliver { delivery_id: 7 });
    assert_eq!(s.deliveries_read, 8);
    assert_eq!(s.deliveries_in_window, 1);
}

#[test]
fn a_success_older_than_the_window_on_a_page_read_still_wins() {
    // The original succeeded (outside the window); a manual redelivery failed later (inside).
    let s = scan(-10, vec![attempt(1, "a", -30, 200, false), attempt(2, "a", -5, 503, true)]);
    assert!(s.reached_start);
    assert_eq!(s.failed().count(), 0, "any success GitHub lists wins");
    assert_eq!(s.succeeded().map(|h| h.guid.as_str()).collect::<Vec<_>>(), ["a"]);
}

#[test]
fn an_event_seen_only_through_redeliveries_asks_for_its_original() {
    let s = scan(-10, vec![attempt(2, "a", -5, 503, true), attempt(3, "b", -4, 503, false)]);
    assert_eq!(s.without_original().map(|h| h.guid.as_str()).collect::<Vec<_>>(), ["a"]);
    // Once the original is read (even past the window start), it is no longer asked for.
    let s = scan(-10, vec![attempt(1, "a", -30, 500, false), attempt(2, "a", -5, 503, true)]);
    assert_eq!(s.without_original().count(), 0);
    assert_eq!(only(&decide_at(&s, &HashMap::new(), 60)).attempts, 1, "only attempts in the window count");
}

#[test]
fn an_event_the_ledger_saw_succeed_is_not_owed_again() {
    let s = scan(-10, vec![attempt(2, "a", -5, 503, true)]);
    let memory = HashMap::from([("a".to_string(), Memory { resolved: true, sent: 1, ..Memory::default() })]);
    assert!(decide_at(&s, &memory, 60).verdicts.is_empty());
}

#[test]
fn a_filtered_event_stays_pending_and_in_view() {
    let s = scan(-60, vec![attempt(1, "a", -50, 503, false), attempt(2, "b", -40, 503, false)]);
    let b = s.clone();
    let filter = EventFilter { include: vec!["push".into()], exclude: vec![] };
    let p = plan(b.failed(), &HashMap::new(), &Policy::github_com(), &filter, None, at(0));
    assert!(p.verdicts.iter().all(|v| v.decision == Decision::Filtered));
    assert!(p.verdicts.iter().all(|v| v.decision.is_pending()), "another run still owes them a redelivery");
    assert_eq!(p.next_watermark(at(0), Duration::minutes(5)), at(-50), "the stored time does not pass them");
    // A given-up event stays given up whatever the filter.
    let memory = HashMap::from([("a".to_string(), Memory { given_up: true, ..Memory::default() })]);
    let p = plan(b.failed(), &memory, &Policy::github_com(), &filter, None, at(0));
    let a = p.verdicts.iter().find(|v| v.history.guid == "a").unwrap();
    assert_eq!(a.decision, Decision::AlreadyGivenUp);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn the_scan_sees_health_as_the_model_does_whatever_the_window(events in prop::collection::vec(arb_event(), 0..20), window_start in -6000i64..400) {
        use crate::health::{HealthPolicy, Observed, assess};
        let all = build(&events);
        let s = scan(window_start, all.clone());
        let mut direct = Observed::default();
        for d in &all {
            direct.observe(d.id, d.delivered_at, d.status_code, &d.guid, d.succeeded());
        }
        prop_assert_eq!(assess(s.health(), &HealthPolicy::default()), assess(&direct, &HealthPolicy::default()));
    }
}

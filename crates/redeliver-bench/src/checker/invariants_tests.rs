//! The judge on its own: GitHub's record and the tool's reports written by hand, each rule shown
//! to fire on the record that breaks it and to stay quiet on the one that keeps it.

use super::*;
use crate::checker::history::{Outage, Setup, Store};
use crate::checker::runner::{Observed, PassRecord, Snapshot};
use redeliver_core::state::{RedeliveryRecord, RedeliveryState};
use redeliver_sim::{AuthKind, NewAttempt, World, keys};
use serde_json::json;
use std::collections::HashSet;

fn history(max_attempts: u32) -> History {
    let setup = Setup {
        store: Store::Sqlite,
        max_attempts,
        ladder: vec![2],
        overlap: 2,
        per_page: 100,
        skew_s: 0,
        pace_ms: 0,
        lease_s: 0,
        outage: None,
    };
    History { seed: 7, setup, steps: Vec::new() }
}

fn world() -> (World, u64) {
    let world = World::new();
    let hook = world.add_app(1, "Iv23judge", keys::TEST_APP_PUBLIC_KEY, "http://127.0.0.1:9/", None);
    (world, hook)
}

fn given_up(guids: &[&str]) -> PassRecord {
    let events: Vec<_> = guids.iter().map(|g| json!({"guid": g, "outcome": "given_up", "reason": "cap"})).collect();
    PassRecord {
        label: "step 0: run".into(),
        exit_code: 1,
        report: Some(json!({ "events": events })),
        stderr: String::new(),
    }
}

fn broken(violations: &[Violation], guid: &str) -> Vec<Invariant> {
    violations.iter().filter(|v| v.guid.as_deref() == Some(guid)).map(|v| v.invariant).collect()
}

#[test]
fn a_failed_event_never_settled_is_lost_and_one_given_up_once_at_an_earned_cap_is_not() {
    let (world, hook) = world();
    let now = Utc::now();
    let lost = world.record_attempt(hook, NewAttempt::new("push", 503, now)).guid;
    let settled = world.record_attempt(hook, NewAttempt::new("push", 503, now)).guid;
    world.record_attempt(hook, NewAttempt::new("push", 0, now).guid(&settled).redelivery(true));
    let ok = world.record_attempt(hook, NewAttempt::new("push", 503, now)).guid;
    world.record_attempt(hook, NewAttempt::new("push", 200, now).guid(&ok).redelivery(true));
    let observed = Observed {
        passes: vec![given_up(&[&settled])],
        events: vec![lost.clone(), settled.clone(), ok.clone()],
        ..Observed::default()
    };
    let violations = check(&history(2), &Played { world, hook, observed });
    assert_eq!(broken(&violations, &lost), [Invariant::Lost]);
    assert_eq!(broken(&violations, &settled), []);
    assert_eq!(broken(&violations, &ok), []);
}

#[test]
fn attempts_past_the_cap_a_second_report_and_an_unearned_cap_are_each_caught() {
    let (world, hook) = world();
    let now = Utc::now();
    let over = world.record_attempt(hook, NewAttempt::new("issues", 503, now)).guid;
    for _ in 0..3 {
        world.record_attempt(hook, NewAttempt::new("issues", 503, now).guid(&over).redelivery(true));
    }
    let unearned = world.record_attempt(hook, NewAttempt::new("issues", 503, now)).guid;
    let observed = Observed {
        passes: vec![given_up(&[&over, &unearned]), given_up(&[&over])],
        events: vec![over.clone(), unearned.clone()],
        ..Observed::default()
    };
    let violations = check(&history(3), &Played { world, hook, observed });
    assert_eq!(broken(&violations, &over), [Invariant::ReportedTwice, Invariant::OverCap]);
    assert_eq!(broken(&violations, &unearned), [Invariant::CapNotEarned]);
}

#[test]
fn the_stored_time_may_pass_an_owed_event_only_if_the_ledger_holds_it() {
    let (world, hook) = world();
    let stored = "2026-11-28T10:00:00.400Z".parse::<DateTime<Utc>>().unwrap();
    let snapshot = |failed: Vec<(String, DateTime<Utc>)>, pending: &[&str], reported: &[&str]| Snapshot {
        after: "step 3 (run --event push)".into(),
        stored: Some(stored),
        pending: pending.iter().map(|g| g.to_string()).collect(),
        ledger_given_up: HashSet::new(),
        reported_given_up: reported.iter().map(|g| g.to_string()).collect(),
        failed,
    };
    let behind = stored - TimeDelta::seconds(5);
    // The same second as the stored time is still in view: GitHub lists times to the second.
    let same_second = stored - TimeDelta::milliseconds(300);
    let failed = vec![
        ("dropped".to_string(), behind),
        ("remembered".to_string(), behind),
        ("given-up".to_string(), behind),
        ("in-view".to_string(), same_second),
    ];
    let observed = Observed {
        snapshots: vec![snapshot(failed, &["remembered"], &["given-up"])],
        passes: vec![given_up(&["given-up", "dropped", "remembered", "in-view"])],
        ..Observed::default()
    };
    let violations = check(&history(1), &Played { world, hook, observed });
    let passed: Vec<&str> = violations
        .iter()
        .filter(|v| v.invariant == Invariant::StoredTimePassed)
        .filter_map(|v| v.guid.as_deref())
        .collect();
    assert_eq!(passed, ["dropped"]);
}

/// PostgreSQL store: a cap reached with a row counted whose fate the deciding replica could not
/// know (left `sending`, or withdrawn by a replica that lost its lease during a rate-limit wait)
/// is not unearned; without such a row the same record is.
#[test]
fn a_cap_counted_with_a_row_of_unknown_fate_is_earned() {
    let (world, hook) = world();
    let now = Utc::now();
    let guid = world.record_attempt(hook, NewAttempt::new("push", 503, now)).guid;
    world.record_attempt(hook, NewAttempt::new("push", 0, now).guid(&guid).redelivery(true));
    let observed = |unknown: usize| Observed {
        passes: vec![given_up(&[&guid])],
        events: vec![guid.clone()],
        unknown_fate: [(guid.clone(), unknown)].into_iter().collect(),
        ..Observed::default()
    };
    let unearned = check(&history(3), &Played { world: world.clone(), hook, observed: observed(0) });
    assert_eq!(broken(&unearned, &guid), [Invariant::CapNotEarned]);
    let earned = check(&history(3), &Played { world, hook, observed: observed(1) });
    assert!(broken(&earned, &guid).is_empty(), "{earned:?}");
}

/// A history played outage-aware: probe interval 3 s, doubling up to 6 s.
fn aware(max_attempts: u32, ladder: &[u32]) -> History {
    let mut h = history(max_attempts);
    h.setup.ladder = ladder.to_vec();
    h.setup.outage = Some(Outage { down_after: 1, probe_s: 3, max_probe_s: 6, drain_rate: 0 });
    h
}

/// GitHub's record and the tool's ledger, written by hand: events, and redelivery requests with
/// the attempt each left and the row the ledger wrote down for it.
struct Hand {
    world: World,
    hook: u64,
    requests: Vec<RecordedRequest>,
    ledger: Vec<(RedeliveryRecord, RedeliveryKind)>,
    zero: DateTime<Utc>,
}

impl Hand {
    fn new() -> Self {
        let (world, hook) = world();
        let zero = "2026-11-28T10:00:00Z".parse().unwrap();
        Hand { world, hook, requests: Vec::new(), ledger: Vec::new(), zero }
    }

    fn at(&self, ms: i64) -> DateTime<Utc> {
        self.zero + TimeDelta::milliseconds(ms)
    }

    /// A failed event first attempted at `ms`: its GUID and the attempt's id.
    fn event(&self, ms: i64) -> (String, u64) {
        let r = self.world.record_attempt(self.hook, NewAttempt::new("push", 503, self.at(ms)));
        (r.guid, r.id)
    }

    /// A redelivery of attempt `id` requested at `ms` and written down as `kind`; GitHub answers
    /// `status`, and a 202 leaves an attempt that got `code` from the receiver (its id returned).
    fn post(&mut self, guid: &str, id: u64, ms: i64, kind: RedeliveryKind, status: u16, code: i64) -> u64 {
        let at = self.at(ms);
        self.requests.push(RecordedRequest {
            method: "POST".into(),
            path: format!("/app/hook/deliveries/{id}/attempts"),
            query: String::new(),
            status,
            auth: AuthKind::Jwt,
            at,
            ghes: false,
            request_id: String::new(),
            fault: None,
        });
        let answer = match status {
            200..=299 => RedeliveryState::Accepted,
            500.. => RedeliveryState::Ambiguous,
            _ => RedeliveryState::Refused,
        };
        let row = RedeliveryRecord {
            key: "app".into(),
            guid: guid.into(),
            delivery_id: id,
            event: "push".into(),
            at,
            answer,
            detail: None,
        };
        self.ledger.push((row, kind));
        if !(200..300).contains(&status) {
            return id;
        }
        let attempt = NewAttempt::new("push", code, at + TimeDelta::milliseconds(5)).guid(guid).redelivery(true);
        self.world.record_attempt(self.hook, attempt).id
    }

    /// A row the ledger wrote down at `ms` for a request a SIGKILL stopped before it was sent.
    fn killed_before_sending(&mut self, guid: &str, id: u64, ms: i64, kind: RedeliveryKind) {
        let row = RedeliveryRecord {
            key: "app".into(),
            guid: guid.into(),
            delivery_id: id,
            event: "push".into(),
            at: self.at(ms),
            answer: RedeliveryState::Sending,
            detail: None,
        };
        self.ledger.push((row, kind));
    }

    /// Judges `observed` (its ledger rows added) at `end_ms`.
    fn judge(&self, history: &History, mut observed: Observed, end_ms: i64) -> Vec<Violation> {
        observed.ledger_requests = self.ledger.clone();
        let record = Record {
            attempts: self.world.deliveries(self.hook),
            requests: self.requests.clone(),
            end: self.at(end_ms),
        };
        judge(history, &observed, &record)
    }
}

#[test]
fn the_cap_counts_only_attempts_charged_to_the_ladder() {
    use RedeliveryKind::{Canary, Ladder, Refunded};
    let mut hand = Hand::new();
    // Each event 100 s apart, so their canaries are not one outage's.
    let ladder_canary_ladder = |hand: &mut Hand, base: i64, canary: RedeliveryKind| {
        let (guid, id) = hand.event(base);
        let id = hand.post(&guid, id, base + 2_000, Ladder, 202, 503);
        let id = hand.post(&guid, id, base + 4_000, canary, 202, 0);
        hand.post(&guid, id, base + 6_000, Ladder, 202, 503);
        guid
    };
    // Four attempts, one of them a canary's: three charged, the cap of three kept and earned.
    let kept = ladder_canary_ladder(&mut hand, 0, Canary);
    // The same four attempts, each a rung: one past the cap.
    let over = ladder_canary_ladder(&mut hand, 100_000, Ladder);
    // A rung refunded by an outage is charged to no rung either.
    let refunded = ladder_canary_ladder(&mut hand, 200_000, Refunded);
    // Given up at the cap of three with one rung and one canary: two charged attempts.
    let (unearned, id) = hand.event(300_000);
    let id = hand.post(&unearned, id, 302_000, Canary, 202, 0);
    hand.post(&unearned, id, 304_000, Ladder, 202, 503);
    // A canary GitHub refused left no attempt and earns no rung: two charged, one refused canary.
    let (refused, id) = hand.event(400_000);
    let id = hand.post(&refused, id, 402_000, Canary, 422, 0);
    hand.post(&refused, id, 404_000, Ladder, 202, 503);
    let all = [&kept, &over, &refunded, &unearned, &refused];
    let observed = Observed {
        passes: vec![given_up(&all.map(String::as_str))],
        events: all.iter().map(|g| g.to_string()).collect(),
        ..Observed::default()
    };
    let violations = hand.judge(&aware(3, &[1]), observed, 500_000);
    assert_eq!(broken(&violations, &kept), []);
    assert_eq!(broken(&violations, &over), [Invariant::OverCap]);
    assert_eq!(broken(&violations, &refunded), []);
    assert_eq!(broken(&violations, &unearned), [Invariant::CapNotEarned]);
    assert_eq!(broken(&violations, &refused), [Invariant::CapNotEarned]);
}

#[test]
fn a_canary_keeps_its_events_rung_and_starts_the_next_one() {
    use RedeliveryKind::{Canary, Ladder};
    let mut hand = Hand::new();
    // A canary is charged no rung: the rung after it is the first one again (1 s).
    let (after_canary, id) = hand.event(0);
    let id = hand.post(&after_canary, id, 10_000, Canary, 202, 0);
    hand.post(&after_canary, id, 11_500, Ladder, 202, 503);
    // A canary must wait for the rung its event is on: 4 s after a first redelivery.
    let (early, id) = hand.event(100_000);
    let id = hand.post(&early, id, 110_000, Ladder, 202, 503);
    hand.post(&early, id, 111_500, Canary, 202, 0);
    // A refused canary starts the rung too: the same attempt is asked for 1.5 s later, inside it.
    let (after_refused, id) = hand.event(200_000);
    let id = hand.post(&after_refused, id, 210_000, Ladder, 202, 503);
    hand.post(&after_refused, id, 215_000, Canary, 422, 0);
    hand.post(&after_refused, id, 216_500, Ladder, 202, 503);
    let all = [&after_canary, &early, &after_refused];
    let observed = Observed { events: all.iter().map(|g| g.to_string()).collect(), ..Observed::default() };
    let violations = hand.judge(&aware(5, &[1, 4]), observed, 300_000);
    let rung = |guid: &str| broken(&violations, guid).contains(&Invariant::TwoPostsInOneRung);
    assert!(!rung(&after_canary), "{violations:?}");
    assert!(rung(&early), "{violations:?}");
    assert!(rung(&after_refused), "{violations:?}");
}

#[test]
fn canaries_of_one_outage_keep_the_probe_interval_as_it_doubles() {
    use RedeliveryKind::Canary;
    let canaries = |times: &[i64], success_at: Option<i64>, kill_at: Option<i64>| {
        let mut hand = Hand::new();
        let mut guids = Vec::new();
        for &ms in times {
            let (guid, id) = hand.event(0);
            hand.post(&guid, id, ms, Canary, 202, 0);
            guids.push(guid);
        }
        if let Some(ms) = success_at {
            let ok = hand.world.record_attempt(hand.hook, NewAttempt::new("issues", 200, hand.at(ms)));
            guids.push(ok.guid);
        }
        let observed = Observed {
            passes: vec![given_up(&guids.iter().map(String::as_str).collect::<Vec<_>>())],
            events: guids.clone(),
            watch_kills: kill_at.map(|ms| hand.at(ms)).into_iter().collect(),
            ..Observed::default()
        };
        let violations = hand.judge(&aware(5, &[1]), observed, 60_000);
        let too_soon: Vec<usize> = violations
            .iter()
            .filter(|v| v.invariant == Invariant::CanaryTooSoon)
            .filter_map(|v| guids.iter().position(|g| v.guid.as_deref() == Some(g.as_str())))
            .collect();
        too_soon
    };
    // 3 s after the first, then 6 s (the doubled 6 s is also the longest), then 6 s again.
    assert_eq!(canaries(&[10_000, 13_000, 19_000, 25_000], None, None), Vec::<usize>::new());
    // One second after the first: inside its 3 s interval.
    assert_eq!(canaries(&[10_000, 11_000], None, None), [1]);
    // The third 3 s after the second: the interval had doubled to 6 s.
    assert_eq!(canaries(&[10_000, 13_000, 16_000], None, None), [2]);
    // A success in between ends the outage: the next one starts with a canary at once.
    assert_eq!(canaries(&[10_000, 11_000], Some(10_500), None), Vec::<usize>::new());
    // A daemon killed in between may not have stored its schedule.
    assert_eq!(canaries(&[10_000, 11_000], None, Some(10_700)), Vec::<usize>::new());
}

#[test]
fn an_outage_give_up_is_legitimate_only_at_the_horizon() {
    let hand = Hand::new();
    let end = 3 * 3_600_000;
    let (early, _) = hand.event(end - 300_000);
    let (horizon_early, _) = hand.event(end - 60_000);
    let (due, _) = hand.event(end - 2 * 3_600_000);
    let report = |guid: &str, reason: &str| json!({"guid": guid, "outcome": "given_up", "reason": reason});
    let pass = PassRecord {
        label: "step 0: run".into(),
        exit_code: 1,
        report: Some(
            json!({ "events": [report(&early, "outage"), report(&horizon_early, "horizon"), report(&due, "outage")] }),
        ),
        stderr: String::new(),
    };
    let observed = Observed {
        passes: vec![pass],
        events: vec![early.clone(), horizon_early.clone(), due.clone()],
        ..Observed::default()
    };
    let violations = hand.judge(&aware(5, &[1]), observed, end);
    assert_eq!(broken(&violations, &early), [Invariant::GivenUpBeforeHorizon]);
    assert_eq!(broken(&violations, &horizon_early), [Invariant::GivenUpBeforeHorizon]);
    assert_eq!(broken(&violations, &due), []);
}

#[test]
fn a_row_a_kill_left_unsent_takes_no_request_from_the_next_one() {
    use RedeliveryKind::{Canary, Ladder};
    let mut hand = Hand::new();
    // A canary written down, the daemon killed before it was sent; the next pass sends a rung of
    // the same attempt 1.2 s later. That request is the rung's: two charged attempts, the cap of
    // two earned. Taken for the canary's, it would leave one.
    let (guid, id) = hand.event(0);
    hand.killed_before_sending(&guid, id, 10_000, Canary);
    hand.post(&guid, id, 11_200, Ladder, 202, 503);
    let observed = Observed {
        passes: vec![given_up(&[&guid])],
        events: vec![guid.clone()],
        watch_killed: true,
        ..Observed::default()
    };
    let violations = hand.judge(&aware(2, &[1]), observed, 60_000);
    assert_eq!(broken(&violations, &guid), [], "{violations:?}");
}

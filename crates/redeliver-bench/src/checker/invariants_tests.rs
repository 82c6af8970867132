//! The judge on its own: GitHub's record and the tool's reports written by hand, each rule shown
//! to fire on the record that breaks it and to stay quiet on the one that keeps it.

use super::*;
use crate::checker::history::{Setup, Store};
use crate::checker::runner::{Observed, PassRecord, Snapshot};
use redeliver_sim::{NewAttempt, World, keys};
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

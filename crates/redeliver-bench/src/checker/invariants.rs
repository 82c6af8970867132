//! The promise, as checks over GitHub's record (every attempt and every API request the
//! simulator recorded), the tool's own reports, and the stored time seen after every step.
//!
//! | invariant | what it says |
//! |---|---|
//! | `lost` | an event that failed and never succeeded was neither redelivered to success nor reported given up |
//! | `reported_twice` | an event was reported given up more than once |
//! | `after_success` | a redelivery was asked for after GitHub listed a success of the event |
//! | `over_cap` | GitHub recorded more attempts of an event charged to its ladder than `--max-attempts` |
//! | `two_posts_in_one_rung` | two redelivery requests GitHub acted on (canaries too) came closer than the ladder's rung |
//! | `cap_not_earned` | an event was given up at the cap without that many charged attempts reaching GitHub |
//! | `stored_time_passed` | the stored time moved past an event still owed a redelivery that the ledger does not remember |
//! | `canary_too_soon` | two canaries of one outage came closer than the probe interval (doubling up to the longest) |
//! | `given_up_before_horizon` | an event was given up for the horizon (`horizon` or `outage`) before it reached it |
//! | `crashed` | a pass exited with a status the tool does not document, or without its `--json` report |
//!
//! With outage awareness (the tool's default), an attempt a canary or a refunded rung left is
//! charged to no rung and not to the cap: see [`canary`] for how the judge tells them.

use super::history::History;
use super::runner::{Observed, Played, given_up_counts};
use chrono::{DateTime, Duration as TimeDelta, SubsecRound as _, Utc};
use redeliver_core::state::RedeliveryKind;
use redeliver_sim::{DeliveryRecord, RecordedRequest};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// The rules a history can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Invariant {
    Lost,
    ReportedTwice,
    AfterSuccess,
    OverCap,
    TwoPostsInOneRung,
    CapNotEarned,
    StoredTimePassed,
    CanaryTooSoon,
    GivenUpBeforeHorizon,
    Crashed,
}

impl Invariant {
    pub fn name(self) -> &'static str {
        match self {
            Invariant::Lost => "lost",
            Invariant::ReportedTwice => "reported_twice",
            Invariant::AfterSuccess => "after_success",
            Invariant::OverCap => "over_cap",
            Invariant::TwoPostsInOneRung => "two_posts_in_one_rung",
            Invariant::CapNotEarned => "cap_not_earned",
            Invariant::StoredTimePassed => "stored_time_passed",
            Invariant::CanaryTooSoon => "canary_too_soon",
            Invariant::GivenUpBeforeHorizon => "given_up_before_horizon",
            Invariant::Crashed => "crashed",
        }
    }
}

/// One broken rule, about one event (or one pass).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub invariant: Invariant,
    pub guid: Option<String>,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.guid {
            Some(g) => write!(f, "{}: event {g}: {}", self.invariant.name(), self.detail),
            None => write!(f, "{}: {}", self.invariant.name(), self.detail),
        }
    }
}

/// The statuses of a redelivery request GitHub may have acted on, or refused on its merits:
/// not a rate limit (403, 429) or bad credentials (401), which GitHub answers without acting.
fn acted_on(status: u16) -> bool {
    !matches!(status, 401 | 403 | 429)
}

/// A POST GitHub refused on its merits (422) or answered ambiguously (5xx): no attempt is
/// recorded, but counting it against the cap is the tool's documented choice.
fn refused_or_ambiguous(status: u16) -> bool {
    (400..600).contains(&status) && acted_on(status)
}

/// One redelivery request GitHub received for an event.
struct Post {
    at: DateTime<Utc>,
    status: u16,
    delivery_id: u64,
    /// What the tool's ledger wrote it down as (`None`: no row matched it; a rung).
    kind: Option<RedeliveryKind>,
}

/// Every rule, over one played history.
pub fn check(history: &History, played: &Played) -> Vec<Violation> {
    let world = &played.world;
    let record = Record { attempts: world.deliveries(played.hook), requests: world.requests(), end: world.now() };
    judge(history, &played.observed, &record)
}

/// GitHub's record of one history: what the judge reads from the simulator's world.
pub struct Record {
    /// Every attempt of the hook.
    pub attempts: Vec<DeliveryRecord>,
    /// Every API request GitHub received.
    pub requests: Vec<RecordedRequest>,
    /// GitHub's time when the history was judged (after it ended).
    pub end: DateTime<Utc>,
}

/// Every rule, over what the tool did (`observed`) and GitHub's record.
pub fn judge(history: &History, observed: &Observed, record: &Record) -> Vec<Violation> {
    let setup = &history.setup;
    let mut out = Vec::new();
    let push = |out: &mut Vec<Violation>, invariant, guid: &str, detail: String| {
        out.push(Violation { invariant, guid: Some(guid.to_string()), detail })
    };

    for p in &observed.passes {
        let documented = matches!(p.exit_code, 0 | 1 | 3 | 4);
        let reported = p.report.is_some() || !matches!(p.exit_code, 0 | 1);
        if !documented || !reported {
            let tail: String = p.stderr.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
            out.push(Violation {
                invariant: Invariant::Crashed,
                guid: None,
                detail: format!("{} exited {} (report: {}): {tail}", p.label, p.exit_code, p.report.is_some()),
            });
        }
    }

    // GitHub's record: attempts by event, and redelivery requests by event.
    let records = &record.attempts;
    let mut by_guid: HashMap<&str, Vec<&DeliveryRecord>> = HashMap::new();
    let mut guid_of: HashMap<u64, &str> = HashMap::new();
    for r in records {
        by_guid.entry(r.guid.as_str()).or_default().push(r);
        guid_of.insert(r.id, r.guid.as_str());
    }
    let mut posts: HashMap<&str, Vec<Post>> = HashMap::new();
    for r in &record.requests {
        let id = r.path.strip_prefix("/app/hook/deliveries/").and_then(|rest| rest.strip_suffix("/attempts"));
        if r.method != "POST" {
            continue;
        }
        let Some(delivery_id) = id.and_then(|id| id.parse::<u64>().ok()) else { continue };
        if let Some(guid) = guid_of.get(&delivery_id) {
            posts.entry(guid).or_default().push(Post { at: r.at, status: r.status, delivery_id, kind: None });
        }
    }
    // Canaries and refunded rungs, from the ledger (a request waited out a `Retry-After` after
    // it was written down).
    let late = TimeDelta::milliseconds(1500) + TimeDelta::seconds(observed.longest_retry_after as i64);
    let mut rows: HashMap<&str, Vec<_>> = HashMap::new();
    for row in &observed.ledger_requests {
        rows.entry(row.0.guid.as_str()).or_default().push(row);
    }
    for (guid, list) in posts.iter_mut() {
        list.sort_by_key(|p| p.at);
        canary::label(list, rows.get(guid).map(Vec::as_slice).unwrap_or_default(), late);
    }

    let mut reports = given_up_counts(&observed.passes);
    for (guid, n) in &observed.notified {
        *reports.entry(guid.clone()).or_default() += n;
    }
    let cap_reports = cap_give_ups(observed);
    let last = observed.snapshots.last();
    let slack = TimeDelta::seconds(3 + 2 * observed.longest_retry_after as i64);

    for guid in &observed.events {
        let attempts = by_guid.get(guid.as_str()).cloned().unwrap_or_default();
        let event_posts = posts.get(guid.as_str()).map(Vec::as_slice).unwrap_or_default();
        let reported = reports.get(guid).copied().unwrap_or(0);
        let success = attempts
            .iter()
            .filter(|a| (200..300).contains(&a.status_code))
            .map(|a| a.delivered_at + TimeDelta::milliseconds((a.duration * 1000.0) as i64))
            .min();

        if success.is_none() && reported == 0 {
            let given_up_unreported =
                observed.watch_killed && last.is_some_and(|s| s.ledger_given_up.contains(guid.as_str()));
            if !given_up_unreported {
                let detail = format!(
                    "failed {} time(s) and never succeeded, yet was never reported given up ({} redelivery request(s); drained: {})",
                    attempts.len(),
                    event_posts.len(),
                    observed.drained
                );
                push(&mut out, Invariant::Lost, guid, detail);
            }
        }
        if reported > 1 {
            push(&mut out, Invariant::ReportedTwice, guid, format!("reported given up {reported} times"));
        }
        if let Some(success) = success
            && let Some(p) = event_posts.iter().find(|p| p.at > success + slack)
        {
            let detail = format!(
                "redelivery requested at {} although GitHub listed a success at {}",
                p.at.format("%H:%M:%S%.3f"),
                success.format("%H:%M:%S%.3f")
            );
            push(&mut out, Invariant::AfterSuccess, guid, detail);
        }
        let charged = canary::charged(&attempts, event_posts, None);
        if charged > setup.max_attempts as usize {
            let detail = format!(
                "{charged} attempts charged to its ladder ({} recorded, less those canaries and refunded rungs left), cap {}",
                attempts.len(),
                setup.max_attempts
            );
            push(&mut out, Invariant::OverCap, guid, detail);
        }
        let acted: Vec<&Post> = event_posts.iter().filter(|p| acted_on(p.status)).collect();
        for pair in acted.windows(2) {
            // The planner's count when it sent the second: the charged attempts before the
            // first, and the first itself if it was a rung (a canary is charged to none; a rung
            // refunded later may have been refunded by then, so it is not counted either).
            let before = canary::charged(&attempts, event_posts, Some(pair[0].at)).max(1) as u32;
            let own = u32::from(pair[0].kind.is_none() || pair[0].kind == Some(RedeliveryKind::Ladder));
            let rung = TimeDelta::seconds(i64::from(setup.wait_after(before + own)));
            // GitHub lists times to the second, so a rung may start up to a second early.
            let tolerance = TimeDelta::milliseconds(1200);
            let gap = pair[1].at - pair[0].at;
            if gap + tolerance < rung {
                let detail = format!(
                    "redelivery requests at {} ({}{}) and {} ({}{}): {} ms apart, rung {} s",
                    pair[0].at.format("%H:%M:%S%.3f"),
                    pair[0].status,
                    kind_note(pair[0]),
                    pair[1].at.format("%H:%M:%S%.3f"),
                    pair[1].status,
                    kind_note(pair[1]),
                    gap.num_milliseconds(),
                    rung.num_seconds()
                );
                push(&mut out, Invariant::TwoPostsInOneRung, guid, detail);
                break;
            }
        }
        if cap_reports.contains_key(guid.as_str()) {
            let refused =
                event_posts.iter().filter(|p| canary::charged_request(p) && refused_or_ambiguous(p.status)).count();
            // A row another replica counted without knowing its fate (PostgreSQL store) counts too.
            let unknown = observed.unknown_fate.get(guid.as_str()).copied().unwrap_or(0);
            let earned = charged + refused + unknown;
            if earned < setup.max_attempts as usize {
                let detail = format!(
                    "given up at the cap of {} with {charged} charged attempt(s) ({} recorded) and {refused} refused \
                     or ambiguous rung(s); the rest never reached GitHub",
                    setup.max_attempts,
                    attempts.len()
                );
                push(&mut out, Invariant::CapNotEarned, guid, detail);
            }
        }
    }

    canary::canary_too_soon(setup, observed, &posts, records, &record.requests, &mut out);
    let mut first_attempt: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for r in records {
        let first = first_attempt.entry(r.guid.as_str()).or_insert(r.delivered_at);
        *first = (*first).min(r.delivered_at);
    }
    canary::given_up_before_horizon(observed, &first_attempt, record.end, &mut out);

    // The stored time, at every step: it may pass an event still owed a redelivery only if the
    // ledger remembers that event.
    let mut flagged: BTreeMap<String, ()> = BTreeMap::new();
    for s in &observed.snapshots {
        let Some(stored) = s.stored else { continue };
        let start = stored.trunc_subsecs(0);
        for (guid, oldest) in &s.failed {
            let settled = s.reported_given_up.contains(guid) || s.ledger_given_up.contains(guid);
            if settled || s.pending.contains(guid) || *oldest >= start || flagged.contains_key(guid) {
                continue;
            }
            flagged.insert(guid.clone(), ());
            let detail = format!(
                "after {}: stored time {} is past its oldest attempt {} and the ledger does not hold it",
                s.after,
                stored.format("%H:%M:%S%.3f"),
                oldest.format("%H:%M:%S%.3f")
            );
            push(&mut out, Invariant::StoredTimePassed, guid, detail);
        }
    }
    out.sort_by(|a, b| (a.invariant, &a.guid).cmp(&(b.invariant, &b.guid)));
    out
}

/// `(canary)` or `(refunded)` after a request's status, for details.
fn kind_note(p: &Post) -> &'static str {
    match p.kind {
        Some(RedeliveryKind::Canary) => ", canary",
        Some(RedeliveryKind::Refunded) => ", refunded",
        _ => "",
    }
}

/// Events reported given up at the cap, from reports and notifications.
fn cap_give_ups(observed: &Observed) -> HashMap<String, ()> {
    let mut out: HashMap<String, ()> = observed.notified_cap.iter().map(|g| (g.clone(), ())).collect();
    for p in &observed.passes {
        let events = p.report.as_ref().and_then(|r| r.get("events")).and_then(Value::as_array);
        for e in events.into_iter().flatten() {
            let cap = e.get("outcome").and_then(Value::as_str) == Some("given_up")
                && e.get("reason").and_then(Value::as_str) == Some("cap");
            if let (true, Some(guid)) = (cap, e.get("guid").and_then(Value::as_str)) {
                out.insert(guid.to_string(), ());
            }
        }
    }
    out
}

#[path = "canary.rs"]
mod canary;

#[cfg(test)]
#[path = "invariants_tests.rs"]
mod tests;

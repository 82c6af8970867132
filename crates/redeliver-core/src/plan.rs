//! The planner, pure: from the attempts GitHub lists, what the ledger remembers, the policy and
//! `now`, decide per event (GUID) whether to redeliver it, wait for its next rung, or give it up,
//! and which time the next run must list back to. No I/O and no clock: everything is an input.
//!
//! The rules, in words, are in `docs/design.md`.

mod outage;

pub use outage::outage_aware;

use crate::model::{Delivery, DeliveryRef};
use crate::policy::Policy;
use chrono::{DateTime, Duration, SubsecRound as _, Utc};
use serde::Serialize;
use std::collections::HashMap;

/// The part of the delivery log a run reads: attempts at or after `start`, and for an explicit
/// incident window, only events whose first attempt is at or before `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: DateTime<Utc>,
    pub until: Option<DateTime<Utc>>,
}

/// What the listing has shown of one event so far.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GuidHistory {
    pub guid: String,
    pub event: String,
    pub action: Option<String>,
    /// Attempts GitHub lists for this event inside the window.
    pub attempts: u32,
    pub succeeded: bool,
    /// The newest attempt: the one a redelivery is asked for, as the docs script does.
    pub newest_id: u64,
    pub newest_at: DateTime<Utc>,
    pub oldest_at: DateTime<Utc>,
    pub last_status_code: i64,
    pub last_status: String,
    /// Whether the event's original attempt (not a redelivery) has been listed, or the ledger
    /// knew the event already. An event seen only through redeliveries may have an older,
    /// successful original just past the window: the pass reads further back before acting.
    #[serde(skip)]
    pub original_seen: bool,
}

/// Folds pages of deliveries (newest first) into per-event histories.
///
/// It keeps state only for events that can still matter: ones with a failed attempt, and
/// successful redeliveries that resolve an older failure listed later. An event whose original
/// attempt succeeded and has no newer attempts costs nothing but a counter, so memory follows
/// the failures, not the traffic.
#[derive(Debug, Clone)]
pub struct Scan {
    window: Window,
    histories: HashMap<String, GuidHistory>,
    /// Events that succeeded on their only listed attempt (not kept individually).
    quiet_successes: u64,
    pub deliveries_read: u64,
    pub deliveries_in_window: u64,
    /// Whether an attempt older than the window start has been seen: no further page is needed.
    pub reached_start: bool,
    /// Events the ledger remembers as pending, with the newest attempt already counted.
    remembered: HashMap<String, (DateTime<Utc>, u64)>,
    /// Delivery ids already counted for tracked events: GitHub's list can show one attempt
    /// twice (an item repeated across pages while new deliveries shift them), and an attempt
    /// counts once against the cap. Bounded by the attempts of tracked (failed) events.
    counted: std::collections::HashSet<u64>,
    /// What the listing says of the receiver's health (bounded), for [`crate::health`].
    health: crate::health::Observed,
}

impl Scan {
    /// GitHub lists `delivered_at` to the second, so the start is rounded down to its second:
    /// an attempt in the same second as the start is inside the window, never lost between two.
    pub fn new(window: Window) -> Self {
        let start = window.start.trunc_subsecs(0);
        Self {
            window: Window { start, ..window },
            histories: HashMap::new(),
            quiet_successes: 0,
            deliveries_read: 0,
            deliveries_in_window: 0,
            reached_start: false,
            remembered: HashMap::new(),
            counted: std::collections::HashSet::new(),
            health: crate::health::Observed::default(),
        }
    }

    /// Starts from the events the ledger still owes a redelivery (call before observing), so a
    /// pass needs to list only what is new: a remembered event keeps its attempts, first and
    /// newest attempt, and the listing adds only attempts newer than those already counted.
    pub fn remember(&mut self, pending: impl IntoIterator<Item = GuidHistory>) {
        for mut h in pending {
            h.original_seen = true;
            self.remembered.insert(h.guid.clone(), (h.newest_at, h.newest_id));
            self.histories.insert(h.guid.clone(), h);
        }
    }

    /// The newest success and the most recent failed attempts listed, for the health model.
    pub fn health(&self) -> &crate::health::Observed {
        &self.health
    }

    pub fn window(&self) -> Window {
        self.window
    }

    /// Takes one listed attempt into account.
    pub fn observe(&mut self, d: &Delivery) {
        self.observe_ref(&d.borrowed());
    }

    /// Takes one listed attempt into account, as parsed from a page without copying
    /// ([`crate::model::parse_page`]). Allocates only when it starts tracking an event.
    pub fn observe_ref(&mut self, d: &DeliveryRef<'_>) {
        self.deliveries_read += 1;
        let ok = d.succeeded();
        self.health.observe(d.id, d.delivered_at, d.status_code, &d.guid, ok);
        if d.delivered_at < self.window.start {
            self.reached_start = true;
            // Older than the window, but read: a success here still resolves a failure newer
            // than it (an original that succeeded, then a failed manual redelivery). Any success
            // GitHub lists wins.
            if let Some(h) = self.histories.get_mut(&*d.guid) {
                h.succeeded |= ok;
                h.original_seen |= !d.redelivery;
            }
            return;
        }
        match self.histories.get_mut(&*d.guid) {
            Some(h) => {
                h.succeeded |= ok;
                h.original_seen |= !d.redelivery;
                if !self.counted.insert(d.id) {
                    return; // the same attempt listed again
                }
                self.deliveries_in_window += 1;
                let counted = self.remembered.get(&*d.guid).is_some_and(|&(at, id)| (d.delivered_at, d.id) <= (at, id));
                if !counted {
                    h.attempts += 1;
                }
                if d.delivered_at > h.newest_at || (d.delivered_at == h.newest_at && d.id > h.newest_id) {
                    h.newest_at = d.delivered_at;
                    h.newest_id = d.id;
                    h.last_status_code = d.status_code;
                    if h.last_status != d.status {
                        h.last_status.clear();
                        h.last_status.push_str(&d.status);
                    }
                }
                h.oldest_at = h.oldest_at.min(d.delivered_at);
            }
            // An original that succeeded and has no newer attempt: nothing older can exist.
            None if ok && !d.redelivery => {
                self.deliveries_in_window += 1;
                self.quiet_successes += 1;
            }
            None => {
                self.deliveries_in_window += 1;
                self.counted.insert(d.id);
                let guid = String::from(&*d.guid);
                self.histories.insert(
                    guid.clone(),
                    GuidHistory {
                        guid,
                        event: String::from(&*d.event),
                        action: d.action.as_deref().map(String::from),
                        attempts: 1,
                        succeeded: ok,
                        newest_id: d.id,
                        newest_at: d.delivered_at,
                        oldest_at: d.delivered_at,
                        last_status_code: d.status_code,
                        last_status: String::from(&*d.status),
                        original_seen: !d.redelivery,
                    },
                );
            }
        }
    }

    /// Events tracked individually (failed ones and resolved redeliveries).
    pub fn tracked(&self) -> usize {
        self.histories.len()
    }

    /// Events in scope that had at least one success.
    pub fn succeeded_guids(&self) -> u64 {
        self.quiet_successes + self.histories.values().filter(|h| h.succeeded).count() as u64
    }

    /// Failed events seen only through redeliveries, whose original attempt is older than
    /// anything read so far: the pass reads further back (bounded by the horizon) before it
    /// redelivers them, unless the ledger already knows them.
    pub fn without_original(&self) -> impl Iterator<Item = &GuidHistory> {
        self.failed().filter(|h| !h.original_seen)
    }

    /// Every tracked event this listing shows succeeded: the ledger remembers them as resolved
    /// until the horizon, so a later failed (manual) redelivery never outweighs the success.
    pub fn succeeded(&self) -> impl Iterator<Item = &GuidHistory> {
        self.histories.values().filter(|h| h.succeeded)
    }

    /// Events in scope with no successful attempt: the candidates for redelivery.
    pub fn failed(&self) -> impl Iterator<Item = &GuidHistory> {
        let until = self.window.until;
        self.histories.values().filter(move |h| !h.succeeded && until.is_none_or(|u| h.oldest_at <= u))
    }
}

/// What the ledger remembers of one event from earlier runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// Redelivery requests this tool sent for the event (accepted, refused or unanswered).
    pub sent: u32,
    pub last_sent_at: Option<DateTime<Utc>>,
    /// The earliest attempt any run saw, in case the listing no longer reaches it.
    pub first_seen_at: Option<DateTime<Utc>>,
    /// Set once the event was given up, so it is reported once and never retried.
    pub given_up: bool,
    /// Set once a listing showed the event succeeded (kept until the horizon): a later failed
    /// attempt, such as a manual redelivery, does not make it owed again.
    pub resolved: bool,
    /// Attempts GitHub lists for the event that are not charged to its ladder: canaries sent
    /// while the receiver was down, and redeliveries that failed in an outage (refunded once the
    /// outage was seen). Subtracted from GitHub's count before the cap is applied.
    pub uncharged: u32,
}

/// Which events a run may act on: `event` or `event.action` patterns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventFilter {
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl EventFilter {
    pub fn allows(&self, event: &str, action: Option<&str>) -> bool {
        let hit = |pattern: &String| match pattern.split_once('.') {
            Some((e, a)) => e == event && action == Some(a),
            None => pattern == event,
        };
        (self.include.is_empty() || self.include.iter().any(hit)) && !self.exclude.iter().any(hit)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GiveUpReason {
    /// `max_attempts` reached.
    Cap,
    /// The first attempt is older than the horizon: GitHub can no longer redeliver it.
    Horizon,
    /// The horizon was reached while the receiver was down (see [`crate::health`]).
    Outage,
}

impl GiveUpReason {
    /// The name used in JSON, metrics and notifications: `cap` or `horizon`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cap => "cap",
            Self::Horizon => "horizon",
            Self::Outage => "outage",
        }
    }

    /// The reason in words, for summaries and annotations.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Cap => "attempt cap reached",
            Self::Horizon => "past GitHub's redelivery window",
            Self::Outage => "past GitHub's redelivery window while the receiver was down",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Due now: ask GitHub to redeliver `delivery_id` (the event's newest attempt).
    Redeliver { delivery_id: u64 },
    /// Due, but the run's `--max-redeliveries` was reached; next run.
    Deferred { due_at: DateTime<Utc> },
    /// Its next rung is not reached yet.
    Waiting { due_at: DateTime<Utc> },
    /// Given up in this run.
    GiveUp { reason: GiveUpReason },
    /// Given up by an earlier run; not reported again.
    AlreadyGivenUp,
    /// Excluded by the run's event filter. Still owed a redelivery: another run (without the
    /// filter, or with another one) sends it, so it stays pending and in view.
    Filtered,
    /// The receiver is down: this event is the canary, redelivered as a probe of the receiver,
    /// not charged a rung (see [`outage_aware`]).
    Probe { delivery_id: u64 },
    /// The receiver is down: the ladder is paused; still owed, sent once it is up.
    Held,
}

impl Decision {
    /// Still owed a redelivery: the ledger remembers it and the watermark keeps it in view.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Self::Redeliver { .. }
                | Self::Deferred { .. }
                | Self::Waiting { .. }
                | Self::Filtered
                | Self::Probe { .. }
                | Self::Held
        )
    }
}

/// The planner's verdict on one failed event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    #[serde(flatten)]
    pub history: GuidHistory,
    /// Attempts counted against the cap: GitHub's record or ours, whichever knows more.
    pub attempts: u32,
    pub first_attempt_at: DateTime<Utc>,
    pub last_attempt_at: DateTime<Utc>,
    #[serde(flatten)]
    pub decision: Decision,
}

/// What to do in this run.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Every failed event in scope, redeliveries first, oldest first (closest to the horizon).
    pub verdicts: Vec<Verdict>,
}

/// How close to its horizon an event gets one last try, whatever its rung says.
const LAST_CHANCE: Duration = Duration::minutes(10);

/// Decides, per failed event, what to do at `now`.
pub fn plan<'a>(
    failed: impl IntoIterator<Item = &'a GuidHistory>,
    memory: &HashMap<String, Memory>,
    policy: &Policy,
    filter: &EventFilter,
    max_redeliveries: Option<usize>,
    now: DateTime<Utc>,
) -> Plan {
    let none = Memory::default();
    let mut verdicts: Vec<Verdict> = failed
        .into_iter()
        .filter(|h| !memory.get(&h.guid).is_some_and(|m| m.resolved))
        .map(|h| {
            let m = memory.get(&h.guid).unwrap_or(&none);
            let attempts = h.attempts.saturating_sub(m.uncharged).max(1 + m.sent);
            let first = m.first_seen_at.map_or(h.oldest_at, |f| f.min(h.oldest_at));
            let last = m.last_sent_at.map_or(h.newest_at, |s| s.max(h.newest_at));
            let decision = decide(h, m, attempts, first, last, policy, filter, now);
            Verdict { history: h.clone(), attempts, first_attempt_at: first, last_attempt_at: last, decision }
        })
        .collect();
    // Redeliveries first, then by age, oldest first; the GUID breaks ties so plans are stable.
    verdicts.sort_by(|a, b| {
        let rank = |v: &Verdict| !matches!(v.decision, Decision::Redeliver { .. });
        (rank(a), a.first_attempt_at, &a.history.guid).cmp(&(rank(b), b.first_attempt_at, &b.history.guid))
    });
    if let Some(limit) = max_redeliveries {
        for v in verdicts.iter_mut().filter(|v| matches!(v.decision, Decision::Redeliver { .. })).skip(limit) {
            v.decision = Decision::Deferred { due_at: now };
        }
    }
    Plan { verdicts }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    h: &GuidHistory,
    m: &Memory,
    attempts: u32,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    policy: &Policy,
    filter: &EventFilter,
    now: DateTime<Utc>,
) -> Decision {
    if m.given_up {
        return Decision::AlreadyGivenUp;
    }
    if !filter.allows(&h.event, h.action.as_deref()) {
        return Decision::Filtered;
    }
    let deadline = first + policy.horizon;
    if now >= deadline {
        return Decision::GiveUp { reason: GiveUpReason::Horizon };
    }
    if attempts >= policy.max_attempts {
        return Decision::GiveUp { reason: GiveUpReason::Cap };
    }
    let mut due = last + policy.wait_after(attempts);
    // A rung that lands past the horizon would lose the event: try once more just before it.
    let last_chance = deadline - LAST_CHANCE;
    if last < last_chance && due > last_chance {
        due = last_chance;
    }
    if due <= now { Decision::Redeliver { delivery_id: h.newest_id } } else { Decision::Waiting { due_at: due } }
}

impl Plan {
    /// The time the next run must list back to: no later than `run_start - overlap` (attempts
    /// that GitHub records late), and no later than the first attempt of any event still pending,
    /// so the next run sees all of its attempts and honours its ladder and cap.
    pub fn next_watermark(&self, run_start: DateTime<Utc>, overlap: Duration) -> DateTime<Utc> {
        self.verdicts
            .iter()
            .filter(|v| v.decision.is_pending())
            .map(|v| v.history.oldest_at)
            .fold(run_start - overlap, DateTime::min)
    }

    pub fn count(&self, pick: impl Fn(&Decision) -> bool) -> usize {
        self.verdicts.iter().filter(|v| pick(&v.decision)).count()
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;

//! What outage awareness (issue 11) adds to the judge. The tool's ledger says which redelivery
//! requests were canaries and which rungs an outage refunded (`Ledger::redelivery_kinds`); they
//! are matched here to the requests GitHub received, so that the cap and the rungs count only
//! the attempts charged to an event, as the planner charges them: GitHub's attempts less those
//! a canary or a refunded rung left. And two rules of its own:
//!
//! - `canary_too_soon`: while the tool holds a receiver down it sends one canary per probe
//!   interval, the interval doubling after each canary of the outage up to the longest;
//! - `given_up_before_horizon`: an event is given up for the horizon (reason `horizon`, or
//!   `outage` when the receiver was down then) only once its first attempt is that old.

use super::{Invariant, Post, Violation, acted_on};
use crate::checker::history::{Setup, Store};
use crate::checker::runner::{HORIZON_SECS, Observed};
use chrono::{DateTime, Duration as TimeDelta, Utc};
use redeliver_core::state::{RedeliveryKind, RedeliveryRecord, RedeliveryState};
use redeliver_sim::{DeliveryRecord, RecordedRequest};
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};

/// How much earlier than the ledger's time GitHub may log a request: the tool writes a request
/// down on its estimate of GitHub's clock (learned from `Date` headers, to the second) and
/// posts it at once.
const EARLY: TimeDelta = TimeDelta::milliseconds(1500);

/// Labels each of one event's requests (`posts`, oldest first) with the kind the ledger wrote
/// it down as. Per delivery id, the ledger's rows and GitHub's requests come in the same order
/// (one process acts on a state at a time); a row whose request never left (its process was
/// killed first) is skipped by time. `late` is how much later than its row a request may come
/// (a rate limit waited out in between). A request with no row stays unlabelled: a rung.
pub(super) fn label(posts: &mut [Post], rows: &[&(RedeliveryRecord, RedeliveryKind)], late: TimeDelta) {
    let ids: BTreeSet<u64> = rows.iter().map(|(r, _)| r.delivery_id).collect();
    for id in ids {
        // Rows of requests that may have reached GitHub: not `not_sent`, not a replay.
        let rows: Vec<_> = rows
            .iter()
            .filter(|(r, _)| r.delivery_id == id)
            .filter(|(r, _)| !matches!(r.answer, RedeliveryState::NotSent | RedeliveryState::Replayed))
            .collect();
        let mut sent: Vec<&mut Post> = posts.iter_mut().filter(|p| p.delivery_id == id && acted_on(p.status)).collect();
        let mut j = 0;
        for (i, (row, kind)) in rows.iter().enumerate() {
            while sent.get(j).is_some_and(|p| p.at < row.at - EARLY) {
                j += 1;
            }
            let Some(post) = sent.get_mut(j) else { break };
            if post.at > row.at + late {
                continue;
            }
            // A row left `sending` by a kill may have no request: one nearer the next row is its.
            let nearer_next = rows.get(i + 1).is_some_and(|(next, _)| {
                (post.at - next.at).abs() < (post.at - row.at).abs() && row.answer == RedeliveryState::Sending
            });
            if nearer_next {
                continue;
            }
            post.kind = Some(*kind);
            j += 1;
        }
    }
}

/// Whether GitHub's answer to `p` left an attempt in its record that is charged to no rung: a
/// canary or a refunded rung that GitHub accepted.
pub(super) fn uncharged_attempt(p: &Post) -> bool {
    matches!(p.kind, Some(RedeliveryKind::Canary | RedeliveryKind::Refunded)) && (200..300).contains(&p.status)
}

/// Whether `p` counts as a rung of its event's ladder (sent, refused or ambiguous): not a
/// canary, not a rung refunded by an outage.
pub(super) fn charged_request(p: &Post) -> bool {
    !matches!(p.kind, Some(RedeliveryKind::Canary | RedeliveryKind::Refunded))
}

/// The attempts GitHub recorded for one event before `before` (all of them for `None`) that are
/// charged to its ladder: the planner's count, GitHub's attempts less the uncharged ones.
pub(super) fn charged(attempts: &[&DeliveryRecord], posts: &[Post], before: Option<DateTime<Utc>>) -> usize {
    let until = |at: DateTime<Utc>| before.is_none_or(|b| at < b);
    let recorded = attempts.iter().filter(|a| until(a.delivered_at)).count();
    let uncharged = posts.iter().filter(|p| uncharged_attempt(p) && until(p.at)).count();
    recorded.saturating_sub(uncharged)
}

/// `canary_too_soon`: two canaries of one outage (both sent, as the tool counts them: GitHub
/// accepted them or answered ambiguously) closer than the probe interval the first one set.
/// Two canaries are not judged as one outage's when a success may have been listed first in
/// between (a listing that shows a success ends the outage, and the next one starts with a
/// fresh schedule: with `--down-after 1`, in the same listing), or when the daemon was
/// SIGKILLed in between (the schedule is stored after the canary).
pub(super) fn canary_too_soon(
    setup: &Setup,
    observed: &Observed,
    posts: &HashMap<&str, Vec<Post>>,
    records: &[DeliveryRecord],
    requests: &[RecordedRequest],
    out: &mut Vec<Violation>,
) {
    let Some(outage) = setup.outage else { return };
    let mut canaries: Vec<(&str, &Post)> = posts
        .iter()
        .flat_map(|(guid, list)| list.iter().map(move |p| (*guid, p)))
        .filter(|(_, p)| p.kind == Some(RedeliveryKind::Canary))
        .filter(|(_, p)| (200..300).contains(&p.status) || p.status >= 500)
        .collect();
    canaries.sort_by_key(|(_, p)| p.at);
    // When each success appeared in GitHub's record: the checker records some attempts in the
    // past; GitHub records a redelivery as it makes it.
    let successes: Vec<DateTime<Utc>> = records
        .iter()
        .filter(|r| (200..300).contains(&r.status_code))
        .map(|r| match r.redelivery {
            true => r.delivered_at,
            false => observed.recorded_at.get(&r.guid).copied().unwrap_or(r.delivered_at),
        })
        .collect();
    // The schedule runs from the pass's planning time, on the tool's estimate of GitHub's clock
    // (exact here: GitHub's clock is off by whole seconds, and the estimate is the whole number
    // of seconds its `Date` allows): a canary may leave after its pass's pace, a drain-rate gap
    // or a `Retry-After` waited out, and the Actions variable carries the last canary's time to
    // the second.
    let mut tolerance = TimeDelta::milliseconds(200 + i64::from(setup.pace_ms))
        + TimeDelta::seconds(observed.longest_retry_after as i64);
    if outage.drain_rate > 0 {
        tolerance += TimeDelta::milliseconds(1000 / i64::from(outage.drain_rate));
    }
    if setup.store == Store::Variable {
        tolerance += TimeDelta::seconds(1);
    }
    // A canary's pass listed a moment before it posted (longer when a list page was retried
    // after a 5xx, a second and then two, or a `Retry-After` was waited out).
    let listed_before = |at: DateTime<Utc>| {
        let retried = requests
            .iter()
            .any(|r| r.method == "GET" && r.status >= 500 && r.at <= at && r.at > at - TimeDelta::seconds(5));
        TimeDelta::milliseconds(1500 + i64::from(setup.pace_ms))
            + TimeDelta::seconds(observed.longest_retry_after as i64 + if retried { 3 } else { 0 })
    };
    let mut nth = 1;
    for pair in canaries.windows(2) {
        let ((_, a), (guid, b)) = (pair[0], pair[1]);
        let since = a.at - listed_before(a.at);
        let ended = successes.iter().any(|s| *s > since && *s < b.at);
        let killed = observed.watch_kills.iter().any(|k| *k > a.at && *k <= b.at);
        if ended || killed {
            nth = 1;
            continue;
        }
        let wait = TimeDelta::seconds(i64::from(outage.wait_after_canary(nth)));
        let gap = b.at - a.at;
        if gap + tolerance < wait {
            out.push(Violation {
                invariant: Invariant::CanaryTooSoon,
                guid: Some(guid.to_string()),
                detail: format!(
                    "canary {} of an outage at {} came {} ms after the one at {}; the probe interval then was {} s",
                    nth + 1,
                    b.at.format("%H:%M:%S%.3f"),
                    gap.num_milliseconds(),
                    a.at.format("%H:%M:%S%.3f"),
                    wait.num_seconds()
                ),
            });
        }
        nth += 1;
    }
}

/// `given_up_before_horizon`: an event reported given up for the horizon (`horizon`, or
/// `outage`: the horizon reached while the receiver was down) whose first attempt GitHub
/// recorded less than `--horizon` before the end of the history.
pub(super) fn given_up_before_horizon(
    observed: &Observed,
    first_attempt: &HashMap<&str, DateTime<Utc>>,
    end: DateTime<Utc>,
    out: &mut Vec<Violation>,
) {
    let mut reported: BTreeSet<(String, String)> =
        observed.notified_horizon.iter().map(|g| (g.clone(), "horizon or outage (notified)".to_string())).collect();
    for p in &observed.passes {
        let events = p.report.as_ref().and_then(|r| r.get("events")).and_then(Value::as_array);
        for e in events.into_iter().flatten() {
            let reason = e.get("reason").and_then(Value::as_str).unwrap_or_default();
            if e.get("outcome").and_then(Value::as_str) == Some("given_up")
                && matches!(reason, "horizon" | "outage")
                && let Some(guid) = e.get("guid").and_then(Value::as_str)
            {
                reported.insert((guid.to_string(), reason.to_string()));
            }
        }
    }
    let horizon = TimeDelta::seconds(HORIZON_SECS);
    let mut flagged = BTreeSet::new();
    for (guid, reason) in reported {
        let Some(first) = first_attempt.get(guid.as_str()) else { continue };
        if *first + horizon > end && flagged.insert(guid.clone()) {
            out.push(Violation {
                invariant: Invariant::GivenUpBeforeHorizon,
                detail: format!(
                    "given up ({reason}) although its first attempt, at {}, is {} s old at the end of the history; \
                     the horizon is {} s",
                    first.format("%H:%M:%S%.3f"),
                    (end - *first).num_seconds(),
                    horizon.num_seconds()
                ),
                guid: Some(guid),
            });
        }
    }
}

//! `watch`'s direct delivery, one step of a pass (docs/archive.md): events owed a delivery
//! straight to the receiver are posted from the archive (or, not archived yet, from their
//! delivery record, fetched with one GET and archived), under the pass's lock, each written
//! down before it is sent. Two ways an event becomes owed:
//!
//! - `replay_past_horizon`: it reached GitHub's horizon still failed (given up with reason
//!   `horizon` or `outage`): GitHub can no longer redeliver it, so it is replayed instead, once
//!   the receiver answers again;
//! - pull mode (`deliver_to`): every failed event (the hook's GitHub-facing URL may fail, by
//!   design), as soon as a pass lists it; GitHub is never asked to redeliver it.
//!
//! While the receiver refuses or does not answer, an owed event is tried again on later polls
//! with a growing wait ([`backoff`]), and the rest of the pass's posts wait too (one receiver).

use super::send::{self, Answer};
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::ApiError;
use redeliver_core::plan::{Decision, GiveUpReason, GuidHistory, Memory, Plan};
use redeliver_core::state::{ArchivedRecord, HookConfigRecord, Ledger, Owed, OwedCounts};
use std::collections::{HashMap, HashSet};

/// Owed events posted by one pass at most: a backlog drains over several polls, and a pass
/// stays short.
const PER_PASS: usize = 500;
/// How many recent posts a report carries for the status page.
pub const RECENT: usize = 20;

/// What the direct step of one pass did (`watch`: the status page and `/metrics`).
#[derive(Debug, Clone, Default)]
pub struct DirectReport {
    /// Posts the receiver accepted (2xx): those events are delivered.
    pub delivered: u64,
    /// Posts refused (another status) or not answered.
    pub failed: u64,
    /// Events newly owed in this pass.
    pub newly_owed: u64,
    /// The target's owed events after the pass.
    pub counts: OwedCounts,
    /// This pass's posts, newest last (at most [`RECENT`]).
    pub posts: Vec<DirectPost>,
}

/// One post to the receiver.
#[derive(Debug, Clone)]
pub struct DirectPost {
    pub guid: String,
    pub event: String,
    /// Why it was owed: `horizon`, `outage` or `pull`.
    pub reason: String,
    /// `delivered`, `refused` or `unreachable`.
    pub answer: &'static str,
    pub status: Option<u16>,
    pub detail: Option<String>,
}

/// The wait before an owed event's next try after `tries` failed ones: the next poll after the
/// first, then 15 s doubling up to 30 min (on GitHub's clock, as the pass's `now` is).
pub fn backoff(tries: u32) -> chrono::Duration {
    if tries <= 1 {
        return chrono::Duration::zero();
    }
    let doublings = (tries - 2).min(7);
    (chrono::Duration::seconds(15) * 2i32.pow(doublings)).min(chrono::Duration::minutes(30))
}

/// Pull mode: every failed event listed becomes owed (once). Returns the GUIDs of the failed
/// events the direct step answers for, which the planner leaves alone.
pub fn owe_listed<'a>(
    ledger: &Ledger,
    t: &Target,
    failed: impl IntoIterator<Item = &'a GuidHistory>,
    memory: &HashMap<String, Memory>,
    now: DateTime<Utc>,
    report: &mut DirectReport,
) -> Result<HashSet<String>, Failure> {
    let key = t.key();
    let mut ours = HashSet::new();
    for h in failed {
        // Delivered already (by GitHub or a replay): nothing is owed.
        if memory.get(&h.guid).is_some_and(|m| m.resolved) {
            continue;
        }
        if ledger.owe(&key, &h.guid, &h.event, h.newest_id, "pull", now)? {
            report.newly_owed += 1;
        }
        ours.insert(h.guid.clone());
    }
    Ok(ours)
}

/// `replay_past_horizon`: the events this pass gave up at GitHub's horizon become owed; so do
/// those an earlier pass gave up there without making them owed (it was killed in between, or
/// ran before the setting was on).
pub fn owe_given_up(
    ledger: &Ledger,
    t: &Target,
    plan: &Plan,
    now: DateTime<Utc>,
    report: &mut DirectReport,
) -> Result<(), Failure> {
    let key = t.key();
    for v in &plan.verdicts {
        let reason = match v.decision {
            Decision::GiveUp { reason: reason @ (GiveUpReason::Horizon | GiveUpReason::Outage) } => {
                Some(reason.as_str().to_string())
            }
            Decision::AlreadyGivenUp if !ledger.is_owed(&key, &v.history.guid)? => ledger
                .given_up_reason(&key, &v.history.guid)?
                .filter(|r| r == GiveUpReason::Horizon.as_str() || r == GiveUpReason::Outage.as_str()),
            _ => None,
        };
        if let Some(reason) = reason
            && ledger.owe(&key, &v.history.guid, &v.history.event, v.history.newest_id, &reason, now)?
        {
            report.newly_owed += 1;
        }
    }
    Ok(())
}

/// Posts the owed events that are due, oldest first, until one fails (the receiver is down:
/// the rest wait for a later poll) or the pass's share is sent.
#[allow(clippy::too_many_arguments)] // the pass's pieces, each used; a struct would only carry them
pub async fn deliver_due(
    http: &reqwest::Client,
    hc: &mut crate::pass::HookClient,
    ledger: &Ledger,
    t: &Target,
    o: &RunOptions,
    cancel: &tokio_util::sync::CancellationToken,
    now: DateTime<Utc>,
    report: &mut DirectReport,
) -> Result<(), Failure> {
    let key = t.key();
    for owed in ledger.owed_due(&key, now, PER_PASS)? {
        if cancel.is_cancelled() {
            break;
        }
        let record = match ledger.archived_one(&key, &owed.guid)? {
            Some(record) => record,
            None => match fetch(hc, ledger, t, o, &owed, now).await {
                Ok(record) => record,
                Err(ApiError::NotFound { .. }) => {
                    // Neither archived nor held by GitHub any more: nothing to send it from.
                    let why = "not archived, and GitHub no longer holds its record";
                    ledger.owed_retry(&key, &owed.guid, now + chrono::Duration::days(1), why)?;
                    tracing::warn!(target = %t.name, guid = %owed.guid, "cannot deliver directly: {why}");
                    continue;
                }
                Err(e) => {
                    // What failed this read (credentials, rate limit, network) would fail the rest.
                    tracing::warn!(target = %t.name, guid = %owed.guid, "direct delivery waits for GitHub: {e}");
                    break;
                }
            },
        };
        let Some(url) = t.direct.deliver_to.clone().or_else(|| record.hook_url.clone()) else {
            ledger.owed_retry(&key, &owed.guid, now + backoff(owed.tries + 1), "no URL to post to")?;
            continue;
        };
        ledger.owed_sending(&key, &owed.guid)?;
        let posted = send::deliver(http, ledger, &record, &url, t.direct.secret.as_ref(), now).await?;
        tracing::info!(target = %t.name, guid = %owed.guid, answer = posted.answer.as_str(), "direct delivery");
        let post = DirectPost {
            guid: owed.guid.clone(),
            event: owed.event.clone(),
            reason: owed.reason.clone(),
            answer: posted.answer.as_str(),
            status: posted.status,
            detail: posted.detail.clone(),
        };
        report.posts.push(post);
        if report.posts.len() > RECENT {
            report.posts.remove(0);
        }
        if posted.answer == Answer::Delivered {
            ledger.owed_delivered(&key, &owed.guid, now)?;
            report.delivered += 1;
        } else {
            let why = posted.detail.unwrap_or_else(|| format!("HTTP {}", posted.status.unwrap_or_default()));
            ledger.owed_retry(&key, &owed.guid, now + backoff(owed.tries + 1), &why)?;
            report.failed += 1;
            break;
        }
    }
    // Delivered rows are kept as long as the ledger keeps events (a listing may show them again).
    let keep = t.policy.horizon * 2 + chrono::Duration::days(2);
    ledger.prune_owed(&key, now - keep)?;
    report.counts = ledger.owed_counts(&key)?;
    Ok(())
}

/// An owed event not archived yet: its delivery record (one GET), archived within the caps,
/// and the hook's configuration once (for its content type).
async fn fetch(
    hc: &mut crate::pass::HookClient,
    ledger: &Ledger,
    t: &Target,
    o: &RunOptions,
    owed: &Owed,
    now: DateTime<Utc>,
) -> Result<ArchivedRecord, ApiError> {
    let (guid, delivery_id) = (owed.guid.as_str(), owed.delivery_id);
    let key = t.key();
    let state = |e: redeliver_core::state::StateError| ApiError::Config { detail: e.to_string() };
    if !ledger.has_hook_config(&key).map_err(state)? {
        match hc.client.hook_config(&t.hook).await {
            Ok(c) => ledger
                .set_hook_config(
                    &key,
                    &HookConfigRecord { url: c.url, content_type: c.content_type, insecure_ssl: c.insecure_ssl },
                    now,
                )
                .map_err(state)?,
            Err(e) => tracing::warn!(target = %t.name, "could not read the hook's configuration: {e}"),
        }
    }
    let fetched = hc.client.delivery_record(&t.hook, delivery_id).await?;
    let record = ArchivedRecord {
        guid: guid.to_string(),
        event: owed.event.clone(),
        action: fetched.payload.get("action").and_then(|a| a.as_str()).map(str::to_string),
        delivery_id,
        target: key.clone(),
        hook_url: fetched.url,
        content_type: None,
        headers: fetched.headers,
        payload: fetched.payload,
        archived_at: now,
        delivered_at: None,
    };
    if o.archive() {
        ledger.archive(&key, &record, o.archive_limits, now).map_err(state)?;
    }
    // Read back with the hook's configuration; a payload over the cap is sent as fetched.
    Ok(ledger.archived_one(&key, guid).map_err(state)?.unwrap_or(record))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_try_comes_at_the_next_poll_then_waits_longer_up_to_half_an_hour() {
        let waits: Vec<i64> = (1..=12).map(|n| backoff(n).num_seconds()).collect();
        assert_eq!(waits, [0, 15, 30, 60, 120, 240, 480, 960, 1800, 1800, 1800, 1800]);
        assert_eq!(backoff(u32::MAX).num_seconds(), 1800, "no overflow");
    }
}

//! The outage step of a pass (issue 11), around the planner: before it, the receiver's health
//! from what was stored and what the listing shows (and the rungs an outage refunds); after
//! acting, the canary schedule, the drain of an outage that ended, and what the report says.
//! Decisions are [`redeliver_core::health`]'s and [`redeliver_core::plan::outage_aware`]'s;
//! this is only their shell. Off with `--no-outage-awareness`.

use super::carry::CarriedLedger;
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use crate::report::{OutageEnd, ReceiverReport};
use chrono::{DateTime, Utc};
use redeliver_core::health::{Drain, Health, Receiver};
use redeliver_core::plan::{Decision, Plan, Scan};
use redeliver_core::state::Ledger;

/// The receiver during a pass.
pub struct Step {
    pub receiver: Receiver,
    /// An outage this listing saw start.
    started: Option<DateTime<Utc>>,
    /// Outages whose end this pass tells.
    ended: Vec<Drain>,
}

/// Before planning: the receiver after this listing. While it is down, ladder redeliveries
/// sent since the outage started failed for the receiver, not for their events: they are
/// refunded (charged to no rung) before the ledger is read for planning.
pub fn observe(
    t: &Target,
    o: &RunOptions,
    scan: &Scan,
    ledger: Option<&Ledger>,
    carried: Option<&CarriedLedger>,
) -> Result<Option<Step>, Failure> {
    if !t.outage.enabled {
        return Ok(None);
    }
    let key = t.key();
    let stored = match ledger {
        Some(l) => l.receiver(&key)?,
        None => None,
    };
    let before =
        stored.or_else(|| carried.and_then(CarriedLedger::receiver)).unwrap_or_else(|| Receiver::up(&t.outage.health));
    let (receiver, change) = before.observe(scan.health(), &t.outage.health);
    if let (Health::Down { since }, Some(l)) = (receiver.health.health, ledger.filter(|_| !o.dry_run)) {
        let refunded = l.refund_outage(&key, since)?;
        if refunded > 0 {
            tracing::info!(target = %t.name, refunded, "redeliveries sent into the outage charged to no rung");
        }
    }
    if let Some(since) = change.started {
        tracing::warn!(target = %t.name, %since, "the receiver is down");
    }
    let mut ended: Vec<Drain> = change.cut_short.into_iter().collect();
    if change.started.is_some() {
        // Ended and the next one started in one listing: told now, as it stands.
        ended.extend(change.ended);
    }
    Ok(Some(Step { receiver, started: change.started, ended }))
}

/// The outage-aware plan, when the step is on.
pub fn plan(t: &Target, step: Option<&Step>, plan: Plan, now: DateTime<Utc>) -> Plan {
    match step {
        Some(s) => redeliver_core::plan::outage_aware(plan, &s.receiver.health, &t.outage.priority, now),
        None => plan,
    }
}

/// After acting and saving: the canary schedule moves on, a drain that is over is told, the
/// receiver is stored (not for a dry run), and the report's `receiver` object is made.
pub fn finish(
    t: &Target,
    o: &RunOptions,
    step: Option<Step>,
    plan: &Plan,
    canaries_sent: u32,
    ledger: Option<&Ledger>,
    now: DateTime<Utc>,
) -> Result<Option<ReceiverReport>, Failure> {
    let Some(mut step) = step else { return Ok(None) };
    let key = t.key();
    if canaries_sent > 0 {
        step.receiver.health = step.receiver.health.probed(now, &t.outage.health);
    }
    let owed = || plan.verdicts.iter().filter(|v| v.decision.is_pending());
    if let Some(d) = step.receiver.drain_over(owed().map(|v| v.first_attempt_at).min(), now) {
        step.ended.push(d);
        step.receiver.drain = None;
    }
    let mut outages_ended = Vec::with_capacity(step.ended.len());
    for d in &step.ended {
        let (recovered, given_up) = match ledger {
            Some(l) => l.outage_tally(&key, d.since, d.ended)?,
            None => (0, 0),
        };
        tracing::info!(target = %t.name, since = %d.since, ended = %d.ended, recovered, given_up, "outage over");
        outages_ended.push(OutageEnd {
            since: d.since,
            ended: d.ended,
            seconds: (d.ended - d.since).num_seconds(),
            recovered,
            given_up,
        });
    }
    if let Some(l) = ledger.filter(|_| !o.dry_run) {
        l.set_receiver(&key, &step.receiver, now)?;
    }
    let r = &step.receiver;
    let (state, since, events_waiting, canaries) = match (r.health.health, r.drain) {
        (Health::Down { since }, _) => {
            let waiting = plan.count(|d| matches!(d, Decision::Held | Decision::Probe { .. }));
            ("down", Some(since), waiting as u64, r.health.probes)
        }
        (Health::Up, Some(d)) => {
            ("draining", Some(d.since), owed().filter(|v| v.first_attempt_at <= d.ended).count() as u64, 0)
        }
        (Health::Up, None) => ("up", None, 0, 0),
    };
    Ok(Some(ReceiverReport {
        state,
        since,
        events_waiting,
        canaries,
        canaries_sent,
        outage_started: step.started,
        outages_ended,
    }))
}

//! The acting step of a pass: for each verdict of the plan, send the redelivery that is due
//! (written down before it is sent, completed after), record what was given up, and say what
//! happened to every failed event.

use super::Session;
use super::client::HookClient;
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use crate::report::{Counts, EventReport, Outcome};
use chrono::{DateTime, Utc};
use redeliver_core::github::ApiError;
use redeliver_core::plan::{Decision, Plan, Verdict};
use redeliver_core::state::{Ledger, RedeliveryState};

/// What the acting step did.
pub struct Acted {
    pub events: Vec<EventReport>,
    pub counts: Counts,
    /// Why the pass stopped sending (shutdown, or a failure the rest would share).
    pub stop: Option<String>,
}

impl Session {
    /// Acts on every verdict; `ledger` is writable unless this is a dry run.
    pub(super) async fn act(
        &mut self,
        hc: &mut HookClient,
        t: &Target,
        o: &RunOptions,
        plan: &Plan,
        ledger: Option<&Ledger>,
        now: DateTime<Utc>,
    ) -> Result<Acted, Failure> {
        let key = t.key();
        let mut acted =
            Acted { events: Vec::with_capacity(plan.verdicts.len()), counts: Counts::default(), stop: None };
        for v in &plan.verdicts {
            let mut report = event_report(v);
            match v.decision {
                Decision::Redeliver { delivery_id } if o.dry_run => {
                    report.outcome = Outcome::WouldRedeliver;
                    report.delivery_id = Some(delivery_id);
                }
                Decision::Redeliver { delivery_id } if acted.stop.is_some() || self.cancel.is_cancelled() => {
                    acted.stop.get_or_insert_with(|| "not sent: shutting down; the next pass sends it".to_string());
                    report.outcome = Outcome::Deferred;
                    report.delivery_id = Some(delivery_id);
                    report.detail = acted.stop.clone();
                }
                Decision::Redeliver { delivery_id } => {
                    report.delivery_id = Some(delivery_id);
                    let ledger = ledger.expect("a writable ledger outside dry runs");
                    // Paced before it is written down, so a crash while waiting costs no rung; a
                    // shutdown while waiting leaves it for the next pass, unwritten.
                    self.pace_host(t).await;
                    if hc.client.pace_ready().await.is_err() || self.cancel.is_cancelled() {
                        defer(&mut acted, report);
                        continue;
                    }
                    let at = Utc::now();
                    let row = ledger.begin_redelivery(
                        &key,
                        &v.history.guid,
                        &v.history.event,
                        delivery_id,
                        v.first_attempt_at,
                        at,
                    )?;
                    let sent = hc.client.redeliver(&t.hook, delivery_id).await;
                    if let Err(ApiError::Cancelled) = sent {
                        // Shutdown came during a rate-limit wait after GitHub refused it: not
                        // carried out, so it costs no rung.
                        ledger.withdraw(row, Some(SHUTTING_DOWN))?;
                        defer(&mut acted, report);
                        continue;
                    }
                    let (answer, outcome, detail) = match sent {
                        Ok(()) => (RedeliveryState::Accepted, Outcome::Redelivered, None),
                        Err(ApiError::Ambiguous { detail }) => {
                            (RedeliveryState::Ambiguous, Outcome::Ambiguous, Some(detail))
                        }
                        Err(e @ (ApiError::Refused { .. } | ApiError::NotFound { .. })) => {
                            (RedeliveryState::Refused, Outcome::Refused, Some(e.to_string()))
                        }
                        Err(e) => {
                            // Auth, rate limit past --max-wait, network: the rest would fail alike.
                            acted.stop = Some(format!("not sent: the pass stopped after: {e}"));
                            (RedeliveryState::Refused, Outcome::Refused, Some(e.to_string()))
                        }
                    };
                    ledger.complete(row, answer, detail.as_deref())?;
                    tracing::info!(guid = %v.history.guid, delivery_id, outcome = outcome.as_str(), "redelivery");
                    report.outcome = outcome;
                    report.detail = detail;
                }
                Decision::GiveUp { reason } => {
                    if let Some(l) = ledger.filter(|_| !o.dry_run) {
                        l.give_up(&key, &v.history.guid, &v.history.event, reason, v.first_attempt_at, now)?;
                    }
                    tracing::info!(guid = %v.history.guid, ?reason, "given up");
                }
                _ => {}
            }
            acted.counts.add(report.outcome);
            acted.events.push(report);
        }
        Ok(acted)
    }
}

/// Why a redelivery was left for the next pass by a shutdown.
const SHUTTING_DOWN: &str = "not sent: shutting down; the next pass sends it";

/// A redelivery not sent because of a shutdown: deferred to the next pass.
fn defer(acted: &mut Acted, mut report: EventReport) {
    acted.stop.get_or_insert_with(|| SHUTTING_DOWN.to_string());
    report.outcome = Outcome::Deferred;
    report.detail = acted.stop.clone();
    acted.counts.add(report.outcome);
    acted.events.push(report);
}

/// What the plan alone says about an event, before anything is sent.
fn event_report(v: &Verdict) -> EventReport {
    let (outcome, due_at, reason) = match v.decision {
        Decision::Redeliver { .. } => (Outcome::Redelivered, None, None),
        Decision::Deferred { due_at } => (Outcome::Deferred, Some(due_at), None),
        Decision::Waiting { due_at } => (Outcome::Waiting, Some(due_at), None),
        Decision::GiveUp { reason } => (Outcome::GivenUp, None, Some(reason)),
        Decision::AlreadyGivenUp => (Outcome::AlreadyGivenUp, None, None),
        Decision::Filtered => (Outcome::Filtered, None, None),
    };
    EventReport {
        guid: v.history.guid.clone(),
        event: v.history.event.clone(),
        action: v.history.action.clone(),
        attempts: v.attempts,
        last_status_code: v.history.last_status_code,
        last_status: v.history.last_status.clone(),
        first_attempt_at: v.first_attempt_at,
        last_attempt_at: v.last_attempt_at,
        outcome,
        delivery_id: None,
        due_at,
        reason,
        detail: None,
    }
}

//! The acting step of a pass: for each verdict of the plan, send the redelivery that is due
//! (paced, then written down, then sent with no wait in between; completed after, or withdrawn
//! when GitHub never acted on it), record what was given up, and say what happened to every
//! failed event. A canary (the receiver is down) is sent the same way but written down as one,
//! charged to no rung of its event.

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
    /// Canaries GitHub accepted (or may have carried out).
    pub canaries: u32,
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
        let mut acted = Acted {
            events: Vec::with_capacity(plan.verdicts.len()),
            counts: Counts::default(),
            stop: None,
            canaries: 0,
        };
        for v in &plan.verdicts {
            let mut report = event_report(v);
            match v.decision {
                Decision::Redeliver { delivery_id } if o.dry_run => {
                    report.outcome = Outcome::WouldRedeliver;
                    report.delivery_id = Some(delivery_id);
                }
                Decision::Probe { delivery_id } if o.dry_run => {
                    report.delivery_id = Some(delivery_id);
                    report.detail = Some("would be sent as the receiver's canary".to_string());
                }
                Decision::Redeliver { delivery_id } | Decision::Probe { delivery_id }
                    if acted.stop.is_some() || self.cancel.is_cancelled() =>
                {
                    acted.stop.get_or_insert_with(|| SHUTTING_DOWN.to_string());
                    report.outcome = Outcome::Deferred;
                    report.delivery_id = Some(delivery_id);
                    report.detail = acted.stop.clone();
                }
                Decision::Redeliver { delivery_id } | Decision::Probe { delivery_id } => {
                    let canary = matches!(v.decision, Decision::Probe { .. });
                    report.delivery_id = Some(delivery_id);
                    let ledger = ledger.expect("a writable ledger outside dry runs");
                    // Paced (host and client) before it is written down, and sent right after:
                    // a kill while waiting leaves no `sending` row for a request never sent, and
                    // a shutdown while waiting leaves it, unwritten, for the next pass.
                    if !self.pace(hc, t).await || self.cancel.is_cancelled() {
                        defer(&mut acted, report);
                        continue;
                    }
                    let at = hc.client.stats().github_time(Utc::now());
                    let (guid, event, first) = (&v.history.guid, &v.history.event, v.first_attempt_at);
                    let row = if canary {
                        ledger.begin_probe(&key, guid, event, delivery_id, first, at)?
                    } else {
                        ledger.begin_redelivery(&key, guid, event, delivery_id, first, at)?
                    };
                    // A canary GitHub did not carry out left no attempt: it is taken back whole.
                    let withdraw = |answer: &str, detail: Option<&str>| match canary {
                        true => ledger.withdraw_probe(row, answer, detail),
                        false => ledger.withdraw(row, detail),
                    };
                    // PostgreSQL state: sent again after a rate-limit wait only under the same lease.
                    hc.client.set_resend_check(self.resend_check(&key));
                    let sent = hc.client.redeliver(&t.hook, delivery_id).await;
                    hc.client.set_resend_check(None);
                    self.posted(hc, t);
                    if let Err(ApiError::Cancelled) = sent {
                        // Shutdown came during a rate-limit wait after GitHub refused it: not
                        // carried out, so it costs no rung.
                        withdraw("not_sent", Some(SHUTTING_DOWN))?;
                        defer(&mut acted, report);
                        continue;
                    }
                    let (outcome, detail) = match sent {
                        Ok(()) if canary => {
                            ledger.complete(row, RedeliveryState::Accepted, None)?;
                            acted.canaries += 1;
                            (Outcome::Probed, None)
                        }
                        Ok(()) => {
                            ledger.complete(row, RedeliveryState::Accepted, None)?;
                            (Outcome::Redelivered, None)
                        }
                        Err(ApiError::Ambiguous { detail }) => {
                            ledger.complete(row, RedeliveryState::Ambiguous, Some(&detail))?;
                            acted.canaries += u32::from(canary);
                            (Outcome::Ambiguous, Some(detail))
                        }
                        Err(e @ (ApiError::Refused { .. } | ApiError::NotFound { .. })) => {
                            let detail = e.to_string();
                            match canary {
                                true => withdraw("refused", Some(&detail))?,
                                false => ledger.complete(row, RedeliveryState::Refused, Some(&detail))?,
                            }
                            (Outcome::Refused, Some(detail))
                        }
                        Err(e) if never_acted_on(&e) => {
                            // GitHub never acted on it: no attempt, no rung of the cap. The rest
                            // of the pass would fail alike, so it stops; the next pass sends it.
                            let detail = format!("not sent ({e}); it costs no rung and the next pass sends it");
                            withdraw("not_sent", Some(&detail))?;
                            acted.stop = Some(format!("not sent: the pass stopped after: {e}"));
                            let outcome = if matches!(e, ApiError::RateLimited { .. }) {
                                Outcome::Deferred
                            } else {
                                Outcome::Refused
                            };
                            (outcome, Some(detail))
                        }
                        Err(e) => {
                            // Anything else came back from GitHub after it may have looked at it.
                            let detail = e.to_string();
                            acted.stop = Some(format!("not sent: the pass stopped after: {e}"));
                            match canary {
                                true => withdraw("refused", Some(&detail))?,
                                false => ledger.complete(row, RedeliveryState::Refused, Some(&detail))?,
                            }
                            (Outcome::Refused, Some(detail))
                        }
                    };
                    tracing::info!(guid = %v.history.guid, delivery_id, canary, outcome = outcome.as_str(), "redelivery");
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

/// Whether a failed redelivery request is one GitHub never acted on, so that it is withdrawn
/// from the ledger instead of counted: rate limited past `--max-wait` (GitHub processes no
/// rate-limited request), refused at authentication (401, or a 403 that is not a refusal of the
/// redelivery itself), or never sent at all (no connection could be made: the client retries
/// those, and reports a request that was sent and lost as [`ApiError::Ambiguous`] instead; or a
/// check before sending failed).
fn never_acted_on(e: &ApiError) -> bool {
    matches!(
        e,
        ApiError::RateLimited { .. }
            | ApiError::Unauthorized { .. }
            | ApiError::Forbidden { .. }
            | ApiError::Transport { .. }
            | ApiError::Config { .. }
    )
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
        Decision::Probe { .. } => (Outcome::Probed, None, None),
        Decision::Held => (Outcome::Held, None, None),
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

#[cfg(test)]
mod tests {
    use super::*;
    use redeliver_core::github::{ClientConfig, Credentials, GitHubClient, HookTarget, Pace};
    use redeliver_core::secret::Secret;
    use redeliver_sim::raw::{RawReply, RawServer};
    use std::time::Duration;

    fn client(base: &str) -> GitHubClient {
        let mut config = ClientConfig::new(url::Url::parse(base).unwrap());
        config.pace = Pace::Fixed(Duration::ZERO);
        config.retry_base = Duration::from_millis(1);
        config.timeout = Duration::from_millis(300);
        GitHubClient::new(config, Credentials::Token(Secret::new("t"))).unwrap()
    }

    /// The client tells a request that never left (no connection) from one sent and never
    /// answered: only the first is withdrawn; the second may have been carried out.
    #[tokio::test]
    async fn a_refused_connection_is_withdrawn_and_a_lost_answer_is_not() {
        let target = HookTarget::Repo { owner: "o".into(), repo: "r".into(), hook_id: 1 };
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = client(&format!("http://127.0.0.1:{closed}")).redeliver(&target, 7).await.unwrap_err();
        assert!(matches!(refused, ApiError::Transport { .. }), "{refused:?}");
        assert!(never_acted_on(&refused));

        let hang = RawServer::start(|_, _| RawReply::Hang).await.unwrap();
        let lost = client(&hang.url()).redeliver(&target, 7).await.unwrap_err();
        assert!(matches!(lost, ApiError::Ambiguous { .. }), "{lost:?}");
        assert!(!never_acted_on(&lost));
        assert_eq!(hang.requests().len(), 1, "sent once, never again");
    }
}

//! The polling side of the daemon: every target each interval (with jitter), holding the
//! state's lock for its whole life, queueing a notification when an event is given up, and on
//! SIGINT/SIGTERM (the session's cancellation token) finishing the request in flight, saving
//! state and returning: every wait, here and in the client, ends with the token.

use super::status::{GivenUpEvent, PendingEvent, RecentRedelivery, RecentReplay, SharedStatus, Status, TargetStatus};
use crate::config::{NotifySettings, RunOptions, Target};
use crate::exit::Failure;
use crate::pass::Session;
use crate::report::{Outcome, Report};
use crate::{notify, output};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The polling loop and what it shares with the HTTP side (`status`).
pub struct Daemon {
    pub session: Session,
    pub targets: Vec<Target>,
    pub options: RunOptions,
    pub notify: Option<notify::Queue>,
    pub status: SharedStatus,
    pub interval: Duration,
    /// Print a summary for every pass that did something.
    pub verbose_passes: bool,
    /// Failed events seen, to count each once.
    seen: Seen,
    /// Discovered hooks and their budget-aware schedule (issue 14), when any target is
    /// `kind = "org-repo-hooks"`.
    pub fleet: Option<super::fleet::Fleet>,
}

/// What one poll of a target came to.
pub(super) enum Polled {
    Done(Box<Report>),
    Failed,
    /// A discovered hook that GitHub no longer has (404).
    Gone,
    Cancelled,
}

/// Failed events already counted, by GUID, with their first attempt: kept only while a pass
/// may still report them, so a week-long `watch` holds the failures in view, not every GUID
/// since it started.
#[derive(Debug, Default)]
struct Seen(HashMap<String, DateTime<Utc>>);

impl Seen {
    /// Whether the event is new (and now counted).
    fn insert(&mut self, guid: &str, first_attempt_at: DateTime<Utc>) -> bool {
        if self.0.contains_key(guid) {
            return false;
        }
        self.0.insert(guid.to_string(), first_attempt_at);
        true
    }

    /// Forgets events whose first attempt is before `before`.
    fn forget_before(&mut self, before: DateTime<Utc>) {
        self.0.retain(|_, first| *first >= before);
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

/// The oldest first attempt a pass over these targets may still report: the ledger keeps an
/// event until twice its horizon and a day have passed (`Ledger::prune`); a day more of margin
/// keeps an event the ledger forgets in the same pass from being counted twice.
fn seen_floor(horizon: chrono::Duration, now: DateTime<Utc>) -> DateTime<Utc> {
    now.checked_sub_signed(horizon * 2 + chrono::Duration::days(2)).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

impl Daemon {
    pub fn new(
        session: Session,
        targets: Vec<Target>,
        options: RunOptions,
        notify: NotifySettings,
        interval: Duration,
    ) -> Self {
        let status = SharedStatus::new(Status {
            started_at: Some(Utc::now()),
            interval_seconds: interval.as_secs().max(1),
            version: env!("CARGO_PKG_VERSION").to_string(),
            targets: targets
                .iter()
                .map(|t| TargetStatus {
                    name: t.name.clone(),
                    description: t.describe(),
                    api_url: shown_url(&t.api_url),
                    ..TargetStatus::default()
                })
                .collect(),
            notifications_dropped: 0,
            page: 0,
            per_page: 0,
            fleet: None,
        });
        let wanted = notify.url.is_some() || notify.command.is_some();
        let notify = wanted.then(|| notify::Queue::start(notify, notify::QUEUE_CAPACITY, status.clone()));
        Self {
            session,
            targets,
            options,
            notify,
            status,
            interval,
            verbose_passes: true,
            seen: Default::default(),
            fleet: None,
        }
    }

    /// The shutdown token: cancelled by a signal (or by a test).
    pub fn cancel(&self) -> CancellationToken {
        self.session.cancel.clone()
    }

    /// One pass over every configured target, in order; a failing target does not stop the
    /// others. Discovered hooks (after them in `targets`) keep their own schedule (`fleet`).
    pub async fn poll_once(&mut self) {
        let fixed = self.fleet.as_ref().map_or(self.targets.len(), |f| f.fixed);
        for i in 0..fixed {
            if matches!(self.poll_target(i).await, Polled::Cancelled) {
                return;
            }
        }
        let horizon = self.targets.iter().map(|t| t.policy.horizon).max().unwrap_or_default();
        self.seen.forget_before(seen_floor(horizon, Utc::now()));
        tracing::trace!(seen = self.seen.len(), "failed events remembered for counting");
    }

    /// One pass over `targets[i]`, folded into its status.
    pub(super) async fn poll_target(&mut self, i: usize) -> Polled {
        let t = &self.targets[i];
        if self.session.cancel.is_cancelled() {
            return Polled::Cancelled;
        }
        self.status.update(|s| s.targets[i].last_poll_started_at = Some(Utc::now()));
        match self.session.pass(t, &self.options).await {
            Ok(report) => {
                let new = report.events.iter().filter(|e| self.seen.insert(&e.guid, e.first_attempt_at)).count() as u64;
                self.status.update(|s| {
                    s.targets[i].failed_events_seen += new;
                    record(&mut s.targets[i], &report);
                });
                let c = &report.counts;
                // A dry run's plan is all it has to show: printed every pass.
                let acted = c.redelivered + c.given_up + c.refused + c.ambiguous > 0;
                if self.verbose_passes && (acted || self.options.dry_run) {
                    // A daemon keeps working when no one reads its summaries.
                    if output::data(&output::summary(&report)).is_err() {
                        tracing::debug!("stdout is closed; pass summaries are no longer printed");
                    }
                }
                if !self.options.dry_run
                    && let Some(queue) = &self.notify
                {
                    queue.push(notify::notes(std::slice::from_ref(&report)));
                }
                Polled::Done(Box::new(report))
            }
            // Stopped while waiting or reading: not the target's fault, and nothing to save.
            Err(_) if self.session.cancel.is_cancelled() => Polled::Cancelled,
            Err(failure) => {
                let error = failure.one_line();
                let gone = matches!(
                    failure.error.downcast_ref::<redeliver_core::github::ApiError>(),
                    Some(redeliver_core::github::ApiError::NotFound { .. })
                );
                // A discovered hook deleted since the last refresh is no error: it is dropped.
                if gone && i >= self.fleet.as_ref().map_or(usize::MAX, |f| f.fixed) {
                    tracing::info!(target = %t.name, "the hook is gone; dropped until the next discovery finds it");
                    return Polled::Gone;
                }
                tracing::error!(target = %t.name, "poll failed: {error}");
                self.status.update(|s| {
                    let ts = &mut s.targets[i];
                    ts.polls += 1;
                    ts.last_error = Some(error);
                });
                Polled::Failed
            }
        }
    }

    /// Polls until the session's token is cancelled (by a signal), `interval` ± 10 % apart, then
    /// gives queued notifications a short grace to go out.
    pub async fn run(&mut self) {
        let cancel = self.cancel();
        if self.fleet.is_some() {
            self.run_fleet().await;
        }
        while !cancel.is_cancelled() {
            self.poll_once().await;
            // ±10 % so that many daemons do not poll in lockstep.
            let wait = self.interval.mul_f64(0.9 + 0.2 * fastrand::f64());
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(wait) => {}
            }
        }
        if let Some(queue) = self.notify.take() {
            queue.close(NOTIFY_GRACE).await;
        }
    }
}

/// The API URL as the status page may show it: never a user name, password or query (a token
/// someone put there), even though the config refuses a URL with them.
pub(super) fn shown_url(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// How long queued notifications may still take at shutdown: exiting promptly matters more.
const NOTIFY_GRACE: Duration = Duration::from_secs(3);

/// Folds one pass's report into the target's status.
fn record(ts: &mut TargetStatus, r: &Report) {
    let now = Utc::now();
    ts.polls += 1;
    ts.last_success_at = Some(now);
    ts.last_error = None;
    ts.deliveries_read += r.counts.deliveries_read;
    ts.api_requests = r.requests.by_endpoint.clone();
    ts.rate_limit_remaining = r.requests.rate_limit_remaining;
    ts.rate_limit_limit = r.requests.rate_limit_limit;
    ts.rate_limit_reset = r.requests.rate_limit_reset;
    ts.clock_skew_seconds = r.requests.clock_skew_seconds;
    if let Some(receiver) = &r.receiver {
        ts.push_receiver(receiver);
    }
    ts.pending = r
        .events
        .iter()
        .filter(|e| e.outcome.is_pending())
        .map(|e| PendingEvent {
            guid: e.guid.clone(),
            event: e.event.clone(),
            action: e.action.clone(),
            attempts: e.attempts,
            last_status_code: e.last_status_code,
            first_attempt_at: e.first_attempt_at,
            next_due_at: e.due_at,
        })
        .collect();
    if let Some(direct) = &r.direct {
        ts.replays_owed = direct.counts.owed;
        ts.replays_uncertain = direct.counts.sending;
        for p in &direct.posts {
            ts.push_replay(RecentReplay {
                // This machine's time, as every other time on the page.
                at: now,
                guid: p.guid.clone(),
                event: p.event.clone(),
                reason: p.reason.clone(),
                answer: p.answer.into(),
                status: p.status,
                detail: p.detail.clone(),
            });
        }
    }
    for e in &r.events {
        if e.outcome == Outcome::GivenUp {
            ts.push_given_up(GivenUpEvent {
                at: now,
                guid: e.guid.clone(),
                event: e.event.clone(),
                attempts: e.attempts,
                reason: e.reason.map_or("cap", redeliver_core::plan::GiveUpReason::as_str).into(),
            });
        }
        let Some(answer) = e.outcome.answer() else { continue };
        ts.push_redelivery(RecentRedelivery {
            at: now,
            guid: e.guid.clone(),
            event: e.event.clone(),
            delivery_id: e.delivery_id.unwrap_or_default(),
            answer: answer.as_str().into(),
            detail: e.detail.clone(),
        });
    }
}

/// Cancels `cancel` on SIGINT or SIGTERM.
pub fn on_shutdown_signal(cancel: CancellationToken) -> Result<(), Failure> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| Failure::internal(anyhow::anyhow!("cannot listen for SIGTERM: {e}")))?;
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        output::note("redeliver: shutting down after the request in flight");
        cancel.cancel();
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(hours: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000, 0).unwrap() + chrono::Duration::hours(hours)
    }

    /// A week of hourly passes with a one-day horizon, each reporting a thousand new failed
    /// events: the set holds only those a pass may still report (four days' worth), and an
    /// event listed again is not counted again.
    #[test]
    fn seen_events_are_counted_once_and_forgotten_past_the_horizon() {
        let horizon = chrono::Duration::days(1);
        let mut seen = Seen::default();
        let mut peak = 0;
        for hour in 0..24 * 7 {
            for i in 0..1000 {
                assert!(seen.insert(&format!("{hour}-{i}"), at(hour)));
            }
            assert!(!seen.insert(&format!("{hour}-0"), at(hour)), "counted once");
            seen.forget_before(seen_floor(horizon, at(hour)));
            peak = peak.max(seen.len());
        }
        assert_eq!(peak, 1000 * (24 * 4 + 1), "flat once the first events are four days old");
        assert_eq!(seen.len(), peak);
        seen.forget_before(seen_floor(horizon, at(24 * 7 + 24 * 4)));
        assert_eq!(seen.len(), 0, "four quiet days later, nothing is left");
    }

    #[test]
    fn the_status_page_never_shows_credentials_in_an_api_url() {
        let url = url::Url::parse("https://x-access-token:ghp_SECRET@ghe.corp/api/v3?token=ghp_SECRET#f").unwrap();
        assert_eq!(shown_url(&url), "https://ghe.corp/api/v3");
    }
}

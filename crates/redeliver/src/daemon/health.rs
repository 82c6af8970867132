//! `/healthz`: whether each target has polled successfully recently. Pure functions of the
//! status and `now`; the status page and `redeliver_up` use the same rule.

use super::status::{Status, TargetStatus};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use redeliver_core::text::one_line;
use std::fmt::{self, Write as _};

/// How one target is doing: the `/healthz` rule plus the outcome of its last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// No poll has succeeded yet, none failed, and the daemon has not had [`allowance`] yet.
    Starting,
    /// A poll succeeded within the allowance, and the last poll succeeded.
    Healthy,
    /// The last poll failed, but the target is still within the allowance.
    Failing,
    /// No successful poll within the allowance: `/healthz` answers 503.
    Stale,
    /// PostgreSQL state: another replica holds the target's lease and polls it.
    Elsewhere,
}

impl Health {
    /// What `/healthz` and `redeliver_up` say: only a stale target is down.
    pub fn is_up(self) -> bool {
        self != Health::Stale
    }

    pub fn label(self) -> &'static str {
        match self {
            Health::Starting => "starting",
            Health::Healthy => "healthy",
            Health::Failing => "failing",
            Health::Stale => "stale",
            Health::Elsewhere => "elsewhere",
        }
    }
}

/// How long a target may go without a successful poll: three intervals, so that one slow or
/// failed poll (a GitHub hiccup, a rate-limit wait) does not wake anyone up.
pub fn allowance(status: &Status) -> Duration {
    // A zero interval would make every target stale between two polls; treat it as one second.
    let secs = status.interval_seconds.max(1).saturating_mul(3);
    i64::try_from(secs).ok().and_then(Duration::try_seconds).unwrap_or(Duration::MAX)
}

/// `target`'s allowance: a discovered hook's schedule may leave it unpolled for up to its
/// maximum interval, so it gets three of those.
fn target_allowance(status: &Status, target: &TargetStatus) -> Duration {
    match target.max_interval_seconds {
        Some(max) => allowance(&Status { interval_seconds: max, ..Status::default() }),
        None => allowance(status),
    }
}

/// The health of `target` at `now`.
pub fn assess(status: &Status, target: &TargetStatus, now: DateTime<Utc>) -> Health {
    if elsewhere(status, target) {
        return Health::Elsewhere;
    }
    let allowance = target_allowance(status, target);
    let fresh = target.last_success_at.is_some_and(|t| now.signed_duration_since(t) <= allowance);
    // Until the daemon has run for one allowance, no target has had the chance to be late. An
    // unset start means the polling loop has not begun at all.
    let starting = status.started_at.is_none_or(|s| now.signed_duration_since(s) < allowance);
    match (fresh, starting, target.last_error.is_some()) {
        (false, false, _) => Health::Stale,
        (_, _, true) => Health::Failing,
        (true, _, false) => Health::Healthy,
        (false, true, false) => Health::Starting,
    }
}

/// The `/healthz` decision: `Ok` when no target is stale, else one line per stale target saying
/// when it last succeeded and its last error.
pub fn check(status: &Status, now: DateTime<Utc>) -> Result<(), String> {
    let mut report = String::new();
    // PostgreSQL state (issue 13): without its database a replica can neither poll nor send.
    if let Some(f) = &status.replicas
        && let Some(error) = &f.database_error
    {
        let _ =
            writeln!(report, "database: the PostgreSQL state {} cannot be reached: {}", f.database, one_line(error));
    }
    for target in status.targets.iter().filter(|t| !assess(status, t, now).is_up()) {
        let _ = writeln!(report, "{}", StaleLine { target, now, allowance: target_allowance(status, target) });
    }
    if report.is_empty() { Ok(()) } else { Err(report) }
}

/// Whether another replica holds `target`'s lease (PostgreSQL state): its health is that
/// replica's to report, once this one has seen the fleet.
fn elsewhere(status: &Status, target: &TargetStatus) -> bool {
    status.replicas.as_ref().is_some_and(|f| f.leases.iter().any(|l| l.target == target.name && !l.mine))
}

struct StaleLine<'a> {
    target: &'a TargetStatus,
    now: DateTime<Utc>,
    allowance: Duration,
}

impl fmt::Display for StaleLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.target;
        write!(f, "stale: target {:?}: no successful poll within {}s; ", t.name, self.allowance.num_seconds())?;
        match t.last_success_at {
            Some(at) => {
                let ago = self.now.signed_duration_since(at).num_seconds();
                write!(f, "last success {} ({ago}s ago)", at.to_rfc3339_opts(SecondsFormat::Secs, true))?;
            }
            None => f.write_str("never succeeded")?,
        }
        // The error text comes from the network; keep it on this target's line.
        let error = t.last_error.as_deref().map_or_else(|| "none".to_owned(), one_line);
        write!(f, "; last error: {error}")
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::daemon::page::tests::sample;

    pub(in crate::daemon) fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_760_000_000 + secs, 0).unwrap()
    }

    /// Started at 0, polling every 60 s: the allowance is 180 s.
    pub(in crate::daemon) fn one(last_success: Option<i64>, error: Option<&str>) -> Status {
        let target = TargetStatus {
            name: "app".into(),
            last_success_at: last_success.map(at),
            last_error: error.map(Into::into),
            ..TargetStatus::default()
        };
        Status { started_at: Some(at(0)), interval_seconds: 60, targets: vec![target], ..Status::default() }
    }

    fn health(status: &Status, now: i64) -> Health {
        assess(status, &status.targets[0], at(now))
    }

    #[test]
    fn a_target_is_stale_after_three_intervals_without_a_successful_poll() {
        let s = one(Some(1_000), None);
        assert_eq!(health(&s, 1_100), Health::Healthy);
        assert_eq!(health(&s, 1_180), Health::Healthy, "exactly three intervals is still on time");
        assert_eq!(health(&s, 1_181), Health::Stale);
        assert_eq!(health(&one(Some(1_000), Some("502")), 1_100), Health::Failing);
        assert_eq!(health(&one(Some(1_000), Some("502")), 1_200), Health::Stale);
    }

    #[test]
    fn a_new_daemon_gets_three_intervals_for_its_first_poll() {
        assert_eq!(health(&one(None, None), 179), Health::Starting);
        assert_eq!(health(&one(None, Some("401 Bad credentials")), 179), Health::Failing);
        assert_eq!(health(&one(None, None), 180), Health::Stale);
        let not_started = Status { started_at: None, ..one(None, None) };
        assert_eq!(health(&not_started, 10_000), Health::Starting);
        let zero = Status { interval_seconds: 0, ..one(Some(0), None) };
        assert_eq!(allowance(&zero), Duration::seconds(3));
        let huge = Status { interval_seconds: u64::MAX, ..one(Some(0), None) };
        assert_eq!(health(&huge, 1_000_000), Health::Healthy);
    }

    #[test]
    fn healthz_names_each_stale_target_on_its_own_line() {
        let now = Utc::now();
        let report = check(&sample(now), now).unwrap_err();
        let lines: Vec<&str> = report.lines().collect();
        assert_eq!(lines.len(), 1, "{report}");
        assert!(lines[0].starts_with("stale: target \"ghes-lab\": no successful poll within 180s; last success "));
        assert!(lines[0].contains("(1500s ago); last error: 502 Bad Gateway: <html>"), "{report}");

        let mut s = one(None, Some("line one\nline two"));
        s.targets.push(TargetStatus { name: "fine".into(), last_success_at: Some(at(995)), ..TargetStatus::default() });
        assert_eq!(
            check(&s, at(1_000)).unwrap_err(),
            "stale: target \"app\": no successful poll within 180s; never succeeded; last error: line one line two\n"
        );
        s.targets.remove(0);
        assert_eq!(check(&s, at(1_000)), Ok(()));
        assert_eq!(check(&Status::default(), at(0)), Ok(()));
    }
}

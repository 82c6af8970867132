//! The receiver's health, pure: from the attempts GitHub lists for one hook, decide whether the
//! receiver is down (an outage, not a property of any one event) and when to send the next
//! canary. No I/O and no clock: `now` and what the listing showed are inputs.
//!
//! The rules, in words (also in `docs/design.md`, "Outages"):
//! - An attempt is a **sign of an outage** when no HTTP answer came (`status_code` 0: failed to
//!   connect, timed out) or the answer came from a gateway in front of the receiver (502, 503,
//!   504, 520 to 524). Any other failure (a 500, a 404) is an answer from the receiver itself.
//! - **Down** when, after the newest success listed, the newest failures form an unbroken run of
//!   outage signs covering at least [`HealthPolicy::min_events`] distinct events (default 3).
//!   The outage started (`since`) at the oldest attempt of that run.
//! - **Up again** as soon as any attempt newer than `since` succeeded. Down stays down while
//!   nothing newer succeeded, even when a later listing shows too few failures to say so itself
//!   (a pass lists only what is new).
//! - While down, one canary is due at once, then one per probe interval, which starts at
//!   [`HealthPolicy::probe_interval`] (default 1 min) and doubles after each canary up to
//!   [`HealthPolicy::max_probe_interval`] (default 15 min).

mod observed;
mod receiver;

pub use observed::{FailedAttempt, Observed, RECENT_FAILURES};
pub use receiver::{Change, DRAIN_NOTICE_LIMIT, Drain, Receiver};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use std::collections::HashSet;

/// The thresholds of the health model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Distinct events whose newest attempts must all be outage signs (1 to [`RECENT_FAILURES`]).
    pub min_events: usize,
    /// The wait after the first canary of an outage.
    pub probe_interval: Duration,
    /// The longest wait between two canaries.
    pub max_probe_interval: Duration,
}

pub const DEFAULT_MIN_EVENTS: usize = 3;

impl Default for HealthPolicy {
    fn default() -> Self {
        HealthPolicy {
            min_events: DEFAULT_MIN_EVENTS,
            probe_interval: Duration::minutes(1),
            max_probe_interval: Duration::minutes(15),
        }
    }
}

impl HealthPolicy {
    /// The policy with `min_events` kept in 1..=[`RECENT_FAILURES`] (more could never be seen)
    /// and the longest interval no shorter than the first.
    pub fn normalized(self) -> Self {
        HealthPolicy {
            min_events: self.min_events.clamp(1, RECENT_FAILURES),
            max_probe_interval: self.max_probe_interval.max(self.probe_interval),
            ..self
        }
    }
}

/// Whether an attempt with this `status_code` says the receiver is unreachable, rather than
/// that it answered and refused the event.
pub fn is_outage_sign(status_code: i64) -> bool {
    matches!(status_code, 0 | 502 | 503 | 504 | 520..=524)
}

/// What the listing alone says about the receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Health {
    Up,
    Down { since: DateTime<Utc> },
}

/// Judges `observed` on its own (see the module doc for the rule).
pub fn assess(observed: &Observed, policy: &HealthPolicy) -> Health {
    let policy = policy.normalized();
    let mut events = HashSet::new();
    let mut since = None;
    for f in observed.failures_newest_first() {
        if observed.newest_success.is_some_and(|s| s >= f.at) || !is_outage_sign(f.status_code) {
            break;
        }
        events.insert(f.guid.as_str());
        since = Some(f.at);
    }
    match since {
        Some(since) if events.len() >= policy.min_events => Health::Down { since },
        _ => Health::Up,
    }
}

/// The health of one hook as the ledger keeps it between runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HookHealth {
    pub health: Health,
    /// When the last canary of this outage was sent.
    pub last_probe: Option<DateTime<Utc>>,
    /// The wait before the next canary.
    pub probe_interval: Duration,
    /// Canaries sent in this outage.
    pub probes: u32,
}

impl HookHealth {
    /// A receiver with no outage on record.
    pub fn up(policy: &HealthPolicy) -> Self {
        HookHealth { health: Health::Up, last_probe: None, probe_interval: policy.probe_interval, probes: 0 }
    }

    /// The health after a listing showed `observed`: an outage lasts until something newer than
    /// its start succeeded; a new outage starts with a fresh probe schedule.
    pub fn update(self, observed: &Observed, policy: &HealthPolicy) -> Self {
        if let Health::Down { since } = self.health
            && observed.newest_success.is_none_or(|s| s <= since)
        {
            let since = match assess(observed, policy) {
                Health::Down { since: seen } => since.min(seen),
                Health::Up => since,
            };
            return HookHealth { health: Health::Down { since }, ..self };
        }
        HookHealth { health: assess(observed, policy), ..HookHealth::up(policy) }
    }

    pub fn is_down(&self) -> bool {
        matches!(self.health, Health::Down { .. })
    }

    /// Whether a canary may be sent at `now`: while down, at once for the first, then once the
    /// probe interval has passed since the last.
    pub fn probe_due(&self, now: DateTime<Utc>) -> bool {
        self.is_down() && self.last_probe.is_none_or(|last| now >= last + self.probe_interval)
    }

    /// The health after a canary was sent at `now`: the interval doubles from the second
    /// canary on, up to the policy's longest.
    pub fn probed(self, now: DateTime<Utc>, policy: &HealthPolicy) -> Self {
        let policy = policy.normalized();
        let probe_interval = match self.last_probe {
            Some(_) => (self.probe_interval * 2).min(policy.max_probe_interval),
            None => self.probe_interval,
        };
        HookHealth { last_probe: Some(now), probe_interval, probes: self.probes.saturating_add(1), ..self }
    }

    /// When the next canary is due, while down.
    pub fn next_probe(&self) -> Option<DateTime<Utc>> {
        match (self.health, self.last_probe) {
            (Health::Up, _) => None,
            (Health::Down { since }, None) => Some(since),
            (Health::Down { .. }, Some(last)) => Some(last + self.probe_interval),
        }
    }
}

#[cfg(test)]
mod tests;

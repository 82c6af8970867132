//! A hook's receiver between passes, pure: its [`HookHealth`] and, once an outage ended, the
//! drain of that outage's backlog, so that an outage is told once when it starts and once when
//! its backlog has drained (not once per event), by `run` and `watch` alike.

use super::{Health, HealthPolicy, HookHealth, Observed};
use chrono::{DateTime, Duration, Utc};

/// How long after an outage ended its end is told at the latest, even if some event of its
/// backlog is still owed (one whose own ladder runs long, a poison event): the notification
/// says what was recovered and given up by then.
pub const DRAIN_NOTICE_LIMIT: Duration = Duration::hours(1);

/// An outage that ended and whose backlog is draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drain {
    /// When the outage started.
    pub since: DateTime<Utc>,
    /// The first success after it: when it ended.
    pub ended: DateTime<Utc>,
}

/// What the ledger keeps of a hook's receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Receiver {
    pub health: HookHealth,
    pub drain: Option<Drain>,
}

/// What a listing changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Change {
    /// The outage that ended (and now drains): it was down, and something newer succeeded.
    pub ended: Option<Drain>,
    /// A drain left unfinished when a new outage started: told now, as it stands.
    pub cut_short: Option<Drain>,
    /// An outage started, at this time.
    pub started: Option<DateTime<Utc>>,
}

impl Receiver {
    /// A receiver with nothing on record.
    pub fn up(policy: &HealthPolicy) -> Self {
        Receiver { health: HookHealth::up(policy), drain: None }
    }

    /// The receiver after a listing showed `observed`, and what changed. A listing can end one
    /// outage and show the next one starting after its success.
    pub fn observe(self, observed: &Observed, policy: &HealthPolicy) -> (Self, Change) {
        let before = self.health.health;
        let health = self.health.update(observed, policy);
        let mut change = Change::default();
        let mut drain = self.drain;
        if let (Health::Down { since }, Some(ended)) = (before, observed.newest_success)
            && ended > since
        {
            change.ended = Some(Drain { since, ended });
        }
        if let Health::Down { since } = health.health
            && (before == Health::Up || change.ended.is_some())
        {
            change.started = Some(since);
        }
        if change.ended.is_some() || change.started.is_some() {
            // A drain still open when the next outage starts, or when another ends, is told now.
            change.cut_short = drain.take();
        }
        if change.started.is_none() {
            drain = drain.or(change.ended);
        }
        (Receiver { health, drain }, change)
    }

    /// Whether the drain is over at `now`: no event from the outage (first attempt at or before
    /// its end) is still owed
    /// (`oldest_owed` is the first attempt of the oldest owed event), or the notice limit passed.
    pub fn drain_over(&self, oldest_owed: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Drain> {
        let d = self.drain?;
        (oldest_owed.is_none_or(|o| o > d.ended) || now >= d.ended + DRAIN_NOTICE_LIMIT).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap()
    }

    fn observed(attempts: &[(i64, i64, u8)]) -> Observed {
        let mut o = Observed::default();
        for (i, &(s, code, event)) in attempts.iter().enumerate() {
            o.observe(i as u64 + 1, at(s), code, &format!("g{event}"), (200..300).contains(&code));
        }
        o
    }

    #[test]
    fn an_outage_starts_once_ends_once_and_drains() {
        let p = HealthPolicy::default();
        let (r, c) = Receiver::up(&p).observe(&observed(&[(10, 0, 1), (20, 0, 2), (30, 0, 3)]), &p);
        assert_eq!(c, Change { started: Some(at(10)), ..Change::default() });
        let (r, c) = r.observe(&observed(&[(40, 0, 4)]), &p);
        assert_eq!(c, Change::default(), "still down: nothing to tell");
        assert!(r.health.is_down());
        let (r, c) = r.observe(&observed(&[(50, 200, 4)]), &p);
        let drain = Drain { since: at(10), ended: at(50) };
        assert_eq!(c, Change { ended: Some(drain), ..Change::default() });
        assert_eq!(r.drain, Some(drain));
        assert_eq!(r.drain_over(Some(at(20)), at(60)), None, "an event of the backlog is still owed");
        assert_eq!(r.drain_over(Some(at(55)), at(60)), Some(drain), "only newer events are owed");
        assert_eq!(r.drain_over(Some(at(20)), at(50) + DRAIN_NOTICE_LIMIT), Some(drain));
    }

    #[test]
    fn a_new_outage_cuts_an_open_drain_short_and_one_listing_can_end_and_start() {
        let p = HealthPolicy::default();
        let (r, _) = Receiver::up(&p).observe(&observed(&[(10, 0, 1), (20, 0, 2), (30, 0, 3)]), &p);
        let (r, c) = r.observe(&observed(&[(40, 200, 1), (50, 0, 4), (60, 0, 5), (70, 0, 6)]), &p);
        assert_eq!(c.ended, Some(Drain { since: at(10), ended: at(40) }));
        assert_eq!(c.started, Some(at(50)));
        assert_eq!(r.drain, None, "the ended outage was told with the new one's start");
        let (r, _) = r.observe(&observed(&[(80, 200, 4)]), &p);
        let (_, c) = r.observe(&observed(&[(90, 0, 7), (91, 0, 8), (92, 0, 9)]), &p);
        assert_eq!(c.cut_short, Some(Drain { since: at(50), ended: at(80) }));
        assert_eq!(c.started, Some(at(90)));
    }
}

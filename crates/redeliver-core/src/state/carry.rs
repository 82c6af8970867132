//! What the ledger knows, carried between GitHub Actions runs in a second Actions variable.
//!
//! On a hosted runner the SQLite ledger dies with the job, and the docs script's variable holds
//! one time. GitHub's delivery record still shows every redelivery GitHub *accepted* (each is a
//! new attempt), but not one it refused (a 422 leaves no trace), nor that an event was given up
//! or seen succeed. Without those, a refused redelivery is re-sent on every run and an event given
//! up at the cap comes back once its original falls out of view. So next to the docs script's
//! variable (`NAME`, untouched, same format) the tool keeps `NAME_LEDGER`: a compact JSON map
//! from GUID to `[sent, last_sent, first_seen, state]` (times in seconds since the epoch; state
//! 0 pending, 1 given up, 2 resolved). It costs one GET and one PATCH per run, against listing
//! back to the horizon on every run (dozens of pages for a busy App) for the other design.
//!
//! For outage-aware recovery (issue 11) the value also carries, when there is something to say,
//! `u`: GUID to the attempts not charged to the event's ladder (canaries, refunded rungs), and
//! `r`: the receiver's health, `[down_since, last_canary, canary_interval_ms, canaries,
//! drain_since, drain_ended]` (times in seconds, 0 for none), so a fresh runner knows an outage
//! is on, when its next canary is due, and which attempts its events are not charged. Both are
//! optional: a value written before them reads as "nothing known", and one written with them is
//! still read by an older redeliver (which ignores them).
//!
//! An outage recognised in a later run refunds the rungs sent since it began (issue 11): a
//! persistent ledger finds them among its `redeliveries` rows, a fresh runner has none of an
//! earlier run's. So the value also carries `l`: GUID to the times (seconds) of the event's
//! ladder rungs GitHub accepted or answered ambiguously and no outage has refunded yet, for
//! pending events only (an outage changes nothing for an event given up or resolved). The
//! runner's ledger takes them back as rows, and refunds them as it would its own. Optional
//! like `u` and `r`; an older redeliver ignores it (and refunds, as before, only its own rows).
//!
//! GitHub limits a variable to 48 KB. When the map would not fit, entries are dropped in this
//! order, oldest first within each: resolved events (a success GitHub still lists wins anyway),
//! then given-up events, then pending ones (GitHub's record still counts their accepted
//! redeliveries, and the stored time keeps them in view). The pass reports how many were dropped.
//! See <https://docs.github.com/actions/learn-github-actions/variables#limits-for-configuration-variables>.

use crate::health::{Drain, Health, HookHealth, Receiver};
use crate::plan::Memory;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// GitHub's limit on one configuration variable's value.
pub const VARIABLE_LIMIT: usize = 48 * 1024;

/// The suffix of the variable that carries the ledger, next to the docs script's one.
pub const LEDGER_SUFFIX: &str = "_LEDGER";

/// The `detail` of a rung a runner's ledger took back from the carried value (its answer is
/// written `accepted`, for accepted or ambiguous: both are refunded alike).
pub const CARRIED_RUNG: &str = "carried from an earlier run";

/// What one event's entry says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CarriedState {
    Pending,
    GivenUp,
    Resolved,
}

/// One event's memory, as carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarriedEvent {
    /// Redelivery requests sent (accepted, refused or unanswered).
    pub sent: u32,
    pub last_sent_at: Option<DateTime<Utc>>,
    pub first_seen_at: DateTime<Utc>,
    pub state: CarriedState,
    /// Attempts not charged to the ladder (canaries, refunded rungs).
    pub uncharged: u32,
    /// When the event's ladder rungs that an outage could still refund were sent (GitHub
    /// accepted them or answered ambiguously; none refunded yet), oldest first, to the second.
    pub rungs: Vec<DateTime<Utc>>,
}

impl CarriedEvent {
    /// The carried rungs as (second, how many were sent in it), oldest first: how a ledger
    /// matches them to rows it already holds.
    pub fn rungs_per_second(&self) -> Vec<(i64, i64)> {
        let mut out: Vec<(i64, i64)> = Vec::new();
        for at in &self.rungs {
            match out.last_mut() {
                Some((s, n)) if *s == at.timestamp() => *n += 1,
                _ => out.push((at.timestamp(), 1)),
            }
        }
        out
    }

    /// Folds this entry into what a ledger remembers of the event, by the rules of
    /// [`crate::state::Ledger::import_carried`] (what either knows wins): for a dry run, which
    /// writes no ledger but must plan as the real run would.
    pub fn merge_into(&self, m: &mut Memory) {
        m.sent = m.sent.max(self.sent);
        m.last_sent_at = m.last_sent_at.max(self.last_sent_at);
        m.first_seen_at = Some(m.first_seen_at.map_or(self.first_seen_at, |f| f.min(self.first_seen_at)));
        m.given_up |= self.state == CarriedState::GivenUp;
        m.resolved |= self.state == CarriedState::Resolved;
        m.uncharged = m.uncharged.max(self.uncharged);
    }
}

/// The carried ledger of one target: GUID to memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Carried {
    pub events: BTreeMap<String, CarriedEvent>,
    /// The receiver's health, when the ledger has it.
    pub receiver: Option<Receiver>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    v: u32,
    e: BTreeMap<String, (u32, i64, i64, u8)>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    u: BTreeMap<String, u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    r: Option<[i64; 6]>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    l: BTreeMap<String, Vec<i64>>,
}

/// The receiver as the wire carries it (see the module doc).
fn receiver_to_wire(r: &Receiver) -> [i64; 6] {
    let secs = |t: Option<DateTime<Utc>>| t.map_or(0, |t| t.timestamp());
    let since = match r.health.health {
        Health::Down { since } => Some(since),
        Health::Up => None,
    };
    [
        secs(since),
        secs(r.health.last_probe),
        r.health.probe_interval.num_milliseconds(),
        i64::from(r.health.probes),
        secs(r.drain.map(|d| d.since)),
        secs(r.drain.map(|d| d.ended)),
    ]
}

fn receiver_from_wire(w: [i64; 6]) -> Result<Receiver, CarryError> {
    let time = |s: i64| -> Result<Option<DateTime<Utc>>, CarryError> {
        if s == 0 {
            return Ok(None);
        }
        DateTime::from_timestamp(s, 0).map(Some).ok_or_else(|| CarryError(format!("time {s} is out of range")))
    };
    let health = match time(w[0])? {
        Some(since) => Health::Down { since },
        None => Health::Up,
    };
    let drain = match (time(w[4])?, time(w[5])?) {
        (Some(since), Some(ended)) => Some(Drain { since, ended }),
        _ => None,
    };
    Ok(Receiver {
        health: HookHealth {
            health,
            last_probe: time(w[1])?,
            probe_interval: chrono::Duration::milliseconds(w[2].clamp(0, i64::from(u32::MAX))),
            probes: u32::try_from(w[3]).unwrap_or(0),
        },
        drain,
    })
}

/// Why a carried value cannot be read.
#[derive(Debug, thiserror::Error)]
#[error(
    "the Actions variable that carries the ledger is not in redeliver's format ({0}); delete it to start afresh \
     (GitHub's record still shows every accepted redelivery)"
)]
pub struct CarryError(String);

impl Carried {
    /// Reads a carried value; an empty value is an empty ledger.
    pub fn parse(value: &str) -> Result<Self, CarryError> {
        if value.trim().is_empty() {
            return Ok(Self::default());
        }
        let wire: Wire = serde_json::from_str(value).map_err(|e| CarryError(e.to_string()))?;
        if wire.v != 1 {
            return Err(CarryError(format!("version {} is newer than this redeliver knows (1)", wire.v)));
        }
        let time =
            |s: i64| DateTime::from_timestamp(s, 0).ok_or_else(|| CarryError(format!("time {s} is out of range")));
        let mut events = BTreeMap::new();
        for (guid, (sent, last, first, state)) in wire.e {
            let state = match state {
                0 => CarriedState::Pending,
                1 => CarriedState::GivenUp,
                2 => CarriedState::Resolved,
                other => return Err(CarryError(format!("unknown state {other} for {guid}"))),
            };
            let last_sent_at = if last == 0 { None } else { Some(time(last)?) };
            let uncharged = wire.u.get(&guid).copied().unwrap_or(0);
            let mut rungs = wire.l.get(&guid).map_or(Ok(Vec::new()), |l| l.iter().map(|s| time(*s)).collect())?;
            rungs.sort();
            events.insert(
                guid,
                CarriedEvent { sent, last_sent_at, first_seen_at: time(first)?, state, uncharged, rungs },
            );
        }
        let receiver = wire.r.map(receiver_from_wire).transpose()?;
        Ok(Self { events, receiver })
    }

    /// Writes the value, within `limit` bytes: entries that do not fit are dropped (resolved
    /// ones first, then given-up ones, then pending ones; oldest first within each). Returns the
    /// value and how many entries were dropped.
    pub fn encode(&self, limit: usize) -> (String, usize) {
        let mut order: Vec<(&String, &CarriedEvent)> = self.events.iter().collect();
        // Keep-first order: pending, then given up, then resolved; newest first within each.
        // The rank is also the wire's state number.
        let rank = |e: &CarriedEvent| -> u8 {
            match e.state {
                CarriedState::Pending => 0,
                CarriedState::GivenUp => 1,
                CarriedState::Resolved => 2,
            }
        };
        order.sort_by(|a, b| (rank(a.1), b.1.first_seen_at, a.0).cmp(&(rank(b.1), a.1.first_seen_at, b.0)));
        let wire_of = |keep: &[(&String, &CarriedEvent)]| Wire {
            v: 1,
            e: keep
                .iter()
                .map(|(g, e)| {
                    let last = e.last_sent_at.map_or(0, |t| t.timestamp());
                    ((*g).clone(), (e.sent, last, e.first_seen_at.timestamp(), rank(e)))
                })
                .collect(),
            u: keep.iter().filter(|(_, e)| e.uncharged > 0).map(|(g, e)| ((*g).clone(), e.uncharged)).collect(),
            r: self.receiver.as_ref().map(receiver_to_wire),
            l: keep
                .iter()
                .filter(|(_, e)| e.state == CarriedState::Pending && !e.rungs.is_empty())
                .map(|(g, e)| ((*g).clone(), e.rungs.iter().map(DateTime::timestamp).collect()))
                .collect(),
        };
        // Entries are small and similar in size: estimate, then trim until it fits.
        let mut keep = order.len();
        loop {
            let text = serde_json::to_string(&wire_of(&order[..keep])).unwrap_or_default();
            if text.len() <= limit || keep == 0 {
                return (text, order.len() - keep);
            }
            let over = text.len() - limit;
            let per = text.len() / keep.max(1);
            keep = keep.saturating_sub(over.div_ceil(per.max(1)).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn event(sent: u32, first: &str, state: CarriedState) -> CarriedEvent {
        CarriedEvent {
            sent,
            last_sent_at: (sent > 0).then(|| t("2026-01-02T00:00:00Z")),
            first_seen_at: t(first),
            state,
            uncharged: 0,
            rungs: Vec::new(),
        }
    }

    #[test]
    fn round_trips() {
        let mut c = Carried::default();
        c.events.insert("a".into(), event(3, "2026-01-01T00:00:00Z", CarriedState::Pending));
        c.events.insert("b".into(), event(0, "2026-01-01T00:00:01Z", CarriedState::GivenUp));
        c.events.insert("c".into(), event(1, "2026-01-01T00:00:02Z", CarriedState::Resolved));
        let (text, dropped) = c.encode(VARIABLE_LIMIT);
        assert_eq!(dropped, 0);
        assert_eq!(Carried::parse(&text).unwrap(), c);
        assert!(!text.contains("\"u\"") && !text.contains("\"r\""), "nothing to say, nothing written: {text}");
        // With an outage on: the receiver and the uncharged attempts round-trip too.
        c.events.get_mut("a").unwrap().uncharged = 2;
        let policy = crate::health::HealthPolicy::default();
        let mut r = Receiver::up(&policy);
        r.health.health = Health::Down { since: t("2026-01-01T01:00:00Z") };
        r.health = r.health.probed(t("2026-01-01T01:00:00Z"), &policy);
        r.drain = Some(Drain { since: t("2025-12-31T00:00:00Z"), ended: t("2025-12-31T02:00:00Z") });
        c.receiver = Some(r);
        assert_eq!(Carried::parse(&c.encode(VARIABLE_LIMIT).0).unwrap(), c);
        assert_eq!(Carried::parse("").unwrap(), Carried::default());
    }

    #[test]
    fn the_rungs_an_outage_may_refund_round_trip_for_pending_events_and_an_older_reader_ignores_them() {
        let mut c = Carried::default();
        let mut a = event(2, "2026-01-01T00:00:00Z", CarriedState::Pending);
        a.rungs = vec![t("2026-01-01T00:01:00Z"), t("2026-01-01T00:02:00Z")];
        c.events.insert("a".into(), a);
        let mut b = event(2, "2026-01-01T00:00:00Z", CarriedState::GivenUp);
        b.rungs = vec![t("2026-01-01T00:01:00Z")];
        c.events.insert("b".into(), b);
        let (text, _) = c.encode(VARIABLE_LIMIT);
        assert!(text.contains("\"l\":{\"a\":[1767225660,1767225720]}"), "only the pending event's: {text}");
        let back = Carried::parse(&text).unwrap();
        assert_eq!(back.events["a"], c.events["a"]);
        assert!(back.events["b"].rungs.is_empty());
        // The wire as a redeliver before `l` reads it: every other field as written.
        #[derive(Deserialize)]
        struct Older {
            v: u32,
            e: BTreeMap<String, (u32, i64, i64, u8)>,
        }
        let older: Older = serde_json::from_str(&text).unwrap();
        assert_eq!((older.v, older.e.len(), older.e["a"].0), (1, 2, 2));
        // And a value written before `l` reads as no rungs to refund.
        let before = Carried::parse("{\"v\":1,\"e\":{\"a\":[2,1767225720,1767225600,0]}}").unwrap();
        assert!(before.events["a"].rungs.is_empty());
    }

    #[test]
    fn an_entry_merges_into_memory_and_what_either_knows_wins() {
        let mut m = Memory::default();
        event(2, "2026-01-01T00:00:00Z", CarriedState::GivenUp).merge_into(&mut m);
        assert_eq!(
            m,
            Memory {
                sent: 2,
                last_sent_at: Some(t("2026-01-02T00:00:00Z")),
                first_seen_at: Some(t("2026-01-01T00:00:00Z")),
                given_up: true,
                resolved: false,
                uncharged: 0,
            }
        );
        let mut known = Memory {
            sent: 3,
            last_sent_at: Some(t("2026-01-03T00:00:00Z")),
            first_seen_at: Some(t("2026-01-02T00:00:00Z")),
            ..Memory::default()
        };
        event(1, "2025-12-31T00:00:00Z", CarriedState::Resolved).merge_into(&mut known);
        assert_eq!((known.sent, known.last_sent_at), (3, Some(t("2026-01-03T00:00:00Z"))), "never lowered");
        assert_eq!(known.first_seen_at, Some(t("2025-12-31T00:00:00Z")), "the earlier first attempt");
        assert!(known.resolved && !known.given_up);
    }

    #[test]
    fn a_foreign_value_is_a_clear_error() {
        for bad in [
            "1767225600000",
            "{\"v\":2,\"e\":{}}",
            "{\"v\":1,\"e\":{\"a\":[1,0,0,9]}}",
            "{\"v\":1,\"e\":{\"a\":[1,0,99999999999999999,0]}}",
        ] {
            let err = Carried::parse(bad).unwrap_err().to_string();
            assert!(err.contains("delete it to start afresh"), "{bad}: {err}");
        }
    }

    #[test]
    fn what_does_not_fit_is_dropped_resolved_first_then_given_up_then_oldest() {
        let mut c = Carried::default();
        for i in 0..2000 {
            let state = match i % 3 {
                0 => CarriedState::Pending,
                1 => CarriedState::GivenUp,
                _ => CarriedState::Resolved,
            };
            let first = t("2026-01-01T00:00:00Z") + chrono::Duration::seconds(i);
            c.events.insert(
                format!("{i:08}-0000-0000-0000-000000000000"),
                CarriedEvent {
                    sent: 2,
                    last_sent_at: Some(first),
                    first_seen_at: first,
                    state,
                    uncharged: 0,
                    rungs: Vec::new(),
                },
            );
        }
        let (text, dropped) = c.encode(VARIABLE_LIMIT);
        assert!(text.len() <= VARIABLE_LIMIT, "{}", text.len());
        assert!(dropped > 0);
        let kept = Carried::parse(&text).unwrap();
        assert_eq!(kept.events.len() + dropped, 2000);
        let count = |s| kept.events.values().filter(|e| e.state == s).count();
        assert_eq!(count(CarriedState::Pending), 667, "every pending event is kept");
        assert_eq!(count(CarriedState::Resolved), 0, "resolved ones go first");
        // Within given-up events, the newest are kept.
        let oldest_kept =
            kept.events.values().filter(|e| e.state == CarriedState::GivenUp).map(|e| e.first_seen_at).min();
        let newest_given_up =
            c.events.values().filter(|e| e.state == CarriedState::GivenUp).map(|e| e.first_seen_at).max();
        assert!(oldest_kept.is_some_and(|o| o <= newest_given_up.unwrap()));
        assert!(!kept.events.contains_key("00000001-0000-0000-0000-000000000000"), "the oldest given-up one went");
        // A limit too small for anything keeps nothing, and says so.
        let (text, dropped) = c.encode(10);
        assert_eq!((Carried::parse(&text).unwrap().events.len(), dropped), (0, 2000));
    }
}

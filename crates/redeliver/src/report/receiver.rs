//! The `receiver` object of a target's report (issue 11): the hook's receiver as this pass
//! left it, and the outages it saw start or end (each told once, by the pass that saw it).
//!
//! ```json
//! "receiver": {
//!   "state": "down",
//!   "since": "2026-11-27T18:02:11Z",
//!   "events_waiting": 412,
//!   "canaries": 37,
//!   "canaries_sent": 1,
//!   "outage_started": null,
//!   "outages_ended": [ { "since": "…", "ended": "…", "seconds": 216000, "recovered": 1480, "given_up": 0 } ]
//! }
//! ```

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The receiver of one target after a pass; `null` in the report with `--no-outage-awareness`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReceiverReport {
    /// `up`, `down`, or `draining` (back up, its outage's backlog still owed).
    pub state: &'static str,
    /// When the outage started (down or draining); `null` when up.
    pub since: Option<DateTime<Utc>>,
    /// Events owed and waiting for the receiver (down: held and the canary; draining: the
    /// backlog still owed); 0 when up.
    pub events_waiting: u64,
    /// Canaries sent in this outage so far; 0 when up.
    pub canaries: u32,
    /// Canaries this pass sent.
    pub canaries_sent: u32,
    /// The start of an outage this pass saw begin; `null` otherwise.
    pub outage_started: Option<DateTime<Utc>>,
    /// Outages whose end this pass tells: their backlog drained (or an hour passed since the
    /// receiver came back, or a new outage began first).
    pub outages_ended: Vec<OutageEnd>,
}

/// An outage that is over, told once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutageEnd {
    pub since: DateTime<Utc>,
    /// The first success after it.
    pub ended: DateTime<Utc>,
    /// `ended - since`.
    pub seconds: i64,
    /// Events first seen before the end that GitHub's record shows delivered since the start.
    pub recovered: u64,
    /// Events first seen before the end that were given up since the start.
    pub given_up: u64,
}

impl ReceiverReport {
    /// The one line the human summary gives the receiver.
    pub fn line(&self) -> String {
        let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%SZ").to_string();
        let mut line = match (self.state, self.since) {
            ("down", Some(since)) => format!(
                "receiver down since {}: {} events waiting, {} canaries sent",
                at(since),
                self.events_waiting,
                self.canaries
            ),
            ("draining", Some(since)) => format!(
                "receiver back up after an outage since {}: {} events of its backlog still owed",
                at(since),
                self.events_waiting
            ),
            _ => "receiver up".to_string(),
        };
        for end in &self.outages_ended {
            line.push_str(&format!(
                "; outage over ({} to {}, {}): {} recovered, {} given up",
                at(end.since),
                at(end.ended),
                human_duration(end.seconds),
                end.recovered,
                end.given_up
            ));
        }
        line
    }
}

/// `2d 4h`, `3h 12m`, `5m`: an outage's length in words.
pub fn human_duration(seconds: i64) -> String {
    let (d, h, m) = (seconds / 86_400, seconds % 86_400 / 3600, seconds % 3600 / 60);
    match (d, h) {
        (0, 0) => format!("{}m", m.max(0)),
        (0, _) => format!("{h}h {m}m"),
        _ => format!("{d}d {h}h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_names_the_state() {
        let t = |s: i64| DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap();
        let mut r = ReceiverReport {
            state: "down",
            since: Some(t(0)),
            events_waiting: 12,
            canaries: 3,
            canaries_sent: 1,
            outage_started: None,
            outages_ended: Vec::new(),
        };
        assert_eq!(r.line(), "receiver down since 2026-01-01 00:00:00Z: 12 events waiting, 3 canaries sent");
        r.state = "up";
        r.outages_ended.push(OutageEnd { since: t(0), ended: t(216_000), seconds: 216_000, recovered: 9, given_up: 1 });
        assert_eq!(
            r.line(),
            "receiver up; outage over (2026-01-01 00:00:00Z to 2026-01-03 12:00:00Z, 2d 12h): 9 recovered, 1 given up"
        );
        assert_eq!(human_duration(3 * 3600 + 120), "3h 2m");
        assert_eq!(human_duration(59), "0m");
    }
}

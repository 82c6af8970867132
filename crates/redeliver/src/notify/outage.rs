//! Outage notifications (issue 11): one when a hook's receiver goes down (hook, since when,
//! events waiting) and one when that outage is over (how long, events recovered, given up),
//! not one per event. `watch` sends them to `--notify-url`/`--notify-command` with the given-up
//! ones; `run` under GitHub Actions writes them as annotations.

use super::Note;
use crate::output::clean;
use crate::report::{Report, human_duration};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;

/// What an outage notification carries; `text` makes it a valid Slack incoming-webhook message.
#[derive(Debug, Serialize)]
pub struct OutageNote<'a> {
    pub text: String,
    /// `outage_started` or `outage_ended`.
    pub notification: &'static str,
    #[serde(rename = "target")]
    pub name: &'a str,
    pub since: DateTime<Utc>,
    /// Started: events waiting for the receiver when the outage was seen.
    pub events_waiting: Option<u64>,
    /// Ended: the first success after the outage, its length, and what became of its events.
    pub ended: Option<DateTime<Utc>>,
    pub seconds: Option<i64>,
    pub recovered: Option<u64>,
    pub given_up: Option<u64>,
}

fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The outage notifications of `reports`, starts before ends within a report.
pub fn messages(reports: &[Report]) -> Vec<OutageNote<'_>> {
    let mut out = Vec::new();
    for r in reports {
        let Some(receiver) = &r.receiver else { continue };
        for end in &receiver.outages_ended {
            out.push(OutageNote {
                text: format!(
                    "redeliver: the receiver of {} is back: an outage of {} (since {}) is over; {} events recovered, {} given up",
                    r.name,
                    human_duration(end.seconds),
                    time(end.since),
                    end.recovered,
                    end.given_up
                ),
                notification: "outage_ended",
                name: &r.name,
                since: end.since,
                events_waiting: None,
                ended: Some(end.ended),
                seconds: Some(end.seconds),
                recovered: Some(end.recovered),
                given_up: Some(end.given_up),
            });
        }
        if let Some(since) = receiver.outage_started {
            out.push(OutageNote {
                text: format!(
                    "redeliver: the receiver of {} is down since {}; {} events waiting (held, nothing lost, one canary per probe interval)",
                    r.name,
                    time(since),
                    receiver.events_waiting
                ),
                notification: "outage_started",
                name: &r.name,
                since,
                events_waiting: Some(receiver.events_waiting),
                ended: None,
                seconds: None,
                recovered: None,
                given_up: None,
            });
        }
    }
    out
}

impl From<&OutageNote<'_>> for Note {
    fn from(m: &OutageNote<'_>) -> Note {
        Note {
            guid: m.notification.to_owned(),
            body: serde_json::to_vec(m).unwrap_or_default(),
            env: vec![
                ("REDELIVER_TARGET", m.name.to_owned()),
                ("REDELIVER_NOTIFICATION", m.notification.to_owned()),
                ("REDELIVER_SINCE", time(m.since)),
                ("REDELIVER_TEXT", m.text.clone()),
            ],
        }
    }
}

/// Workflow commands for `run` under GitHub Actions: a warning when an outage starts, a notice
/// when it is over.
pub fn annotations(reports: &[Report]) -> Vec<String> {
    messages(reports)
        .iter()
        .map(|m| match m.notification {
            "outage_started" => format!("::warning title=Webhook receiver down::{}", clean::workflow_data(&m.text)),
            _ => format!("::notice title=Webhook receiver back::{}", clean::workflow_data(&m.text)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{OutageEnd, ReceiverReport};

    fn report(receiver: ReceiverReport) -> Report {
        Report { receiver: Some(receiver), ..crate::report::tests::sample() }
    }

    #[test]
    fn one_note_per_outage_start_and_end_not_per_event() {
        let t = |s: i64| DateTime::from_timestamp(1_767_225_600 + s, 0).unwrap();
        let started = ReceiverReport {
            state: "down",
            since: Some(t(0)),
            events_waiting: 40,
            canaries: 1,
            canaries_sent: 1,
            outage_started: Some(t(0)),
            outages_ended: Vec::new(),
        };
        let still_down = ReceiverReport { outage_started: None, ..started.clone() };
        let end = OutageEnd { since: t(0), ended: t(7200), seconds: 7200, recovered: 40, given_up: 0 };
        let over = ReceiverReport { state: "up", since: None, outages_ended: vec![end], ..still_down.clone() };
        let reports = [report(started), report(still_down), report(over)];
        let notes = messages(&reports);
        let kinds: Vec<_> = notes.iter().map(|n| n.notification).collect();
        assert_eq!(kinds, ["outage_started", "outage_ended"]);
        assert!(notes[0].text.contains("down since 2026-01-01T00:00:00Z; 40 events waiting"), "{}", notes[0].text);
        assert!(notes[1].text.contains("an outage of 2h 0m"), "{}", notes[1].text);
        assert!(notes[1].text.contains("40 events recovered, 0 given up"));
        let note = Note::from(&notes[1]);
        assert!(note.env.contains(&("REDELIVER_NOTIFICATION", "outage_ended".to_string())));
        let annotations = annotations(&reports);
        assert_eq!(annotations.len(), 2);
        assert!(annotations[0].starts_with("::warning title=Webhook receiver down::"));
        assert!(annotations[1].starts_with("::notice title=Webhook receiver back::"));
    }
}

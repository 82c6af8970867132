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

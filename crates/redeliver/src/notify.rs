//! Telling people: GitHub Actions job summaries and annotations, and a notification (JSON to a
//! URL, Slack-compatible, or a command) for every event given up, and for each outage of a
//! receiver when it starts and when it is over ([`outage`]).

use crate::config::{ActionsEnv, NotifySettings};
use crate::exit::Failure;
use crate::output;
use crate::output::clean::{self, markdown_cell as cell};
use crate::report::{EventReport, Outcome, Report, TargetError};
use redeliver_core::plan::GiveUpReason;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;
use std::time::Duration;

pub mod command;
pub mod outage;
mod queue;

pub use queue::{CAPACITY as QUEUE_CAPACITY, Queue};

/// Under GitHub Actions: a Markdown summary appended to `$GITHUB_STEP_SUMMARY`, and a
/// `::warning::` per given-up event and an `::error::` per refusal or failed target. They go to
/// stdout (where the runner reads them) unless stdout carries `--json`, then to stderr.
pub fn github_actions(env: &ActionsEnv, json: bool, reports: &[Report], errors: &[TargetError]) -> Result<(), Failure> {
    let printed = annotations(reports, errors).iter().try_for_each(|line| output::line_beside_json(json, line));
    if let Some(path) = &env.step_summary {
        let text = job_summary(reports, errors);
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| f.write_all(text.as_bytes()));
        if let Err(e) = written {
            tracing::warn!("cannot write the job summary to {}: {e}", path.display());
        }
    }
    printed
}

/// Workflow commands; the message escaped as the runner expects ([`clean::workflow_data`]), so
/// that a server's words cannot start a command of their own.
pub fn annotations(reports: &[Report], errors: &[TargetError]) -> Vec<String> {
    let esc = clean::workflow_data;
    let mut out = Vec::new();
    for r in reports {
        for e in &r.events {
            match e.outcome {
                Outcome::GivenUp => out.push(format!(
                    "::warning title=Webhook event given up::{}",
                    esc(&format!(
                        "{}: {} {} ({}) was given up after {} attempts; last answer {}",
                        r.name,
                        e.kind(),
                        e.guid,
                        reason(e),
                        e.attempts,
                        e.last_status_code
                    ))
                )),
                Outcome::Refused => out.push(format!(
                    "::error title=Redelivery refused::{}",
                    esc(&format!(
                        "{}: GitHub refused to redeliver {} {}: {}",
                        r.name,
                        e.kind(),
                        e.guid,
                        e.detail.as_deref().unwrap_or("no reason given")
                    ))
                )),
                _ => {}
            }
        }
    }
    out.extend(outage::annotations(reports));
    for e in errors {
        out.push(format!("::error title=redeliver target failed::{}", esc(&format!("{}: {}", e.name, e.error))));
    }
    out
}

fn reason(e: &EventReport) -> &'static str {
    e.reason.map_or("given up", GiveUpReason::explain)
}

pub fn job_summary(reports: &[Report], errors: &[TargetError]) -> String {
    let mut md = String::from(
        "## redeliver\n\n| target | deliveries read | failed events | redelivered | waiting | given up | refused |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for r in reports {
        let c = &r.counts;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(&r.name),
            c.deliveries_read,
            c.failed_events,
            c.redelivered + c.would_redeliver,
            c.waiting,
            c.given_up,
            c.refused
        );
    }
    let acted: Vec<_> = reports
        .iter()
        .flat_map(|r| r.events.iter().map(move |e| (r, e)))
        .filter(|(_, e)| matches!(e.outcome, Outcome::GivenUp | Outcome::Refused))
        .collect();
    if !acted.is_empty() {
        md.push_str(
            "\n### Needs attention\n\n| target | event | GUID | attempts | outcome |\n|---|---|---|---:|---|\n",
        );
        for (r, e) in acted {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} |",
                cell(&r.name),
                cell(&e.kind()),
                code(&e.guid),
                e.attempts,
                e.outcome.as_str().replace('_', " ")
            );
        }
    }
    for e in errors {
        let _ = writeln!(md, "\n**{}** failed: {}", cell(&e.name), cell(&e.error));
    }
    md
}

/// A GUID as code when it is one (letters, digits, dashes), else as an escaped cell: a backtick
/// cannot be escaped inside a code span.
fn code(guid: &str) -> String {
    if !guid.is_empty() && guid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        format!("`{guid}`")
    } else {
        cell(guid)
    }
}

/// What a notification carries; `text` makes it a valid Slack incoming-webhook message.
#[derive(Debug, Serialize)]
pub struct GivenUp<'a> {
    pub text: String,
    /// The target's name.
    #[serde(rename = "target")]
    pub name: &'a str,
    pub guid: &'a str,
    pub event: &'a str,
    pub action: Option<&'a str>,
    pub attempts: u32,
    pub reason: &'static str,
    pub last_status_code: i64,
    pub first_attempt_at: chrono::DateTime<chrono::Utc>,
}

pub fn given_up_messages(reports: &[Report]) -> Vec<GivenUp<'_>> {
    reports
        .iter()
        .flat_map(|r| r.events.iter().filter(|e| e.outcome == Outcome::GivenUp).map(move |e| (r, e)))
        .map(|(r, e)| GivenUp {
            text: format!(
                "redeliver gave up on {} event {} for {} after {} attempts ({}); last answer {}",
                e.kind(),
                e.guid,
                r.name,
                e.attempts,
                reason(e),
                e.last_status_code
            ),
            name: &r.name,
            guid: &e.guid,
            event: &e.event,
            action: e.action.as_deref(),
            attempts: e.attempts,
            reason: e.reason.map_or("cap", GiveUpReason::as_str),
            last_status_code: e.last_status_code,
            first_attempt_at: e.first_attempt_at,
        })
        .collect()
}

/// One notification, owned, so that it can wait in [`Queue`]: the JSON body (also the command's
/// stdin) and the command's `REDELIVER_*` variables.
#[derive(Debug, Clone)]
pub struct Note {
    pub guid: String,
    pub body: Vec<u8>,
    pub env: Vec<(&'static str, String)>,
}

impl From<&GivenUp<'_>> for Note {
    fn from(m: &GivenUp<'_>) -> Note {
        Note {
            guid: m.guid.to_owned(),
            body: serde_json::to_vec(m).unwrap_or_default(),
            env: vec![
                ("REDELIVER_TARGET", m.name.to_owned()),
                ("REDELIVER_GUID", m.guid.to_owned()),
                ("REDELIVER_EVENT", m.event.to_owned()),
                ("REDELIVER_REASON", m.reason.to_owned()),
                ("REDELIVER_ATTEMPTS", m.attempts.to_string()),
                ("REDELIVER_TEXT", m.text.clone()),
            ],
        }
    }
}

/// One [`Note`] per given-up event in `reports`, and one per outage started or ended.
pub fn notes(reports: &[Report]) -> Vec<Note> {
    let mut notes: Vec<Note> = outage::messages(reports).iter().map(Note::from).collect();
    notes.extend(given_up_messages(reports).iter().map(Note::from));
    notes
}

/// How long the command may run (stdin written, exit awaited), and the URL may take.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
const URL_TIMEOUT: Duration = Duration::from_secs(10);

fn http_client() -> reqwest::Client {
    reqwest::Client::builder().timeout(URL_TIMEOUT).build().unwrap_or_default()
}

/// Sends one notification per given-up event to the configured URL and/or command, one after
/// the other (`run`; `watch` queues them instead). Failures are logged, never fatal: the event
/// is already recorded and reported.
pub async fn given_up(settings: &NotifySettings, reports: &[Report]) {
    let notes = notes(reports);
    if notes.is_empty() {
        return;
    }
    let client = http_client();
    for note in &notes {
        send(settings, &client, note).await;
    }
}

/// Sends `note` to the URL and runs the command, as configured.
async fn send(settings: &NotifySettings, client: &reqwest::Client, note: &Note) {
    if let Some(url) = &settings.url {
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(note.body.clone())
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map(|_| ());
        if let Err(e) = sent {
            tracing::warn!(guid = %note.guid, "could not send the given-up notification: {}", e.without_url());
        }
    }
    if let Some(command) = &settings.command {
        match command::run(command, &note.env, &note.body, COMMAND_TIMEOUT).await {
            Ok(status) if status.success() => {}
            Ok(status) => tracing::warn!(guid = %note.guid, "the notify command exited with {status}"),
            Err(trouble) => tracing::warn!(guid = %note.guid, "the notify command failed: {trouble}"),
        }
    }
}

//! Telling people: GitHub Actions job summaries and annotations, and a notification (JSON to a
//! URL, Slack-compatible, or a command) for every event given up.

use crate::config::{ActionsEnv, NotifySettings};
use crate::exit::Failure;
use crate::output;
use crate::report::{EventReport, Outcome, Report, TargetError};
use redeliver_core::plan::GiveUpReason;
use serde::Serialize;
use std::fmt::Write as _;
use std::io::Write as _;

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

/// Workflow commands; `%`, CR and LF escaped as the runner expects.
pub fn annotations(reports: &[Report], errors: &[TargetError]) -> Vec<String> {
    let esc = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
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
            r.name,
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
                "| {} | {} | `{}` | {} | {} |",
                r.name,
                e.kind(),
                e.guid,
                e.attempts,
                e.outcome.as_str().replace('_', " ")
            );
        }
    }
    for e in errors {
        let _ = writeln!(md, "\n**{}** failed: {}", e.name, e.error);
    }
    md
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

/// Sends one notification per given-up event to the configured URL and/or command. Failures
/// are logged, never fatal: the event is already recorded and reported.
pub async fn given_up(settings: &NotifySettings, reports: &[Report]) {
    let messages = given_up_messages(reports);
    if messages.is_empty() {
        return;
    }
    if let Some(url) = &settings.url {
        let client = reqwest::Client::builder().timeout(std::time::Duration::from_secs(10)).build().unwrap_or_default();
        for m in &messages {
            let sent = client.post(url).json(m).send().await.and_then(|r| r.error_for_status()).map(|_| ());
            if let Err(e) = sent {
                tracing::warn!(guid = m.guid, "could not send the given-up notification: {}", e.without_url());
            }
        }
    }
    if let Some(command) = &settings.command {
        for m in &messages {
            let body = serde_json::to_vec(m).unwrap_or_default();
            let child = tokio::process::Command::new("sh")
                .arg("-c")
                .arg(command)
                .env("REDELIVER_TARGET", m.name)
                .env("REDELIVER_GUID", m.guid)
                .env("REDELIVER_EVENT", m.event)
                .env("REDELIVER_REASON", m.reason)
                .env("REDELIVER_ATTEMPTS", m.attempts.to_string())
                .env("REDELIVER_TEXT", &m.text)
                .stdin(std::process::Stdio::piped())
                .kill_on_drop(true)
                .spawn();
            let result = async {
                let mut child = child?;
                if let Some(mut stdin) = child.stdin.take() {
                    use tokio::io::AsyncWriteExt as _;
                    stdin.write_all(&body).await?;
                }
                tokio::time::timeout(std::time::Duration::from_secs(30), child.wait())
                    .await
                    .map_err(std::io::Error::other)?
            }
            .await;
            match result {
                Ok(status) if status.success() => {}
                Ok(status) => tracing::warn!(guid = m.guid, "the notify command exited with {status}"),
                Err(e) => tracing::warn!(guid = m.guid, "could not run the notify command: {e}"),
            }
        }
    }
}

//! `redeliver replay`: POST archived events (docs/archive.md) straight to a receiver, as GitHub
//! would: the payload serialized once (JSON, or `payload=<urlencoded JSON>` for a `form` hook),
//! GitHub's headers from the archived request (the same `X-GitHub-Delivery` GUID, which
//! receivers deduplicate on), and the signatures computed with the hook's secret over the exact
//! bytes sent. Each replay is written down before it is posted, under the state's lock, and a
//! 2xx resolves the event, so GitHub's side redelivers it no more.

use crate::cli::{ReplayArgs, ReplayState};
use crate::config::Env;
use crate::direct::send;
use crate::exit::{Exit, Failure};
use crate::output;
use chrono::{DateTime, Utc};
use redeliver_core::secret::Secret;
use redeliver_core::state::{ArchivedRecord, Ledger, StateLock};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What happened to one event (`--json`: an array of these).
#[derive(Debug, Serialize)]
struct Replayed {
    guid: String,
    event: String,
    target: String,
    url: String,
    content_type: &'static str,
    /// `would_send` (dry run), `delivered` (2xx), `refused` (another status), `unreachable`.
    outcome: &'static str,
    status: Option<u16>,
    duration_ms: Option<u64>,
    detail: Option<String>,
}

pub async fn run(args: ReplayArgs) -> Result<Exit, Failure> {
    let path = Env::from_process().state_location(args.state.as_deref())?;
    if let Some(to) = &args.to {
        // The URL is not quoted: it may carry a password.
        url::Url::parse(to).map_err(|e| Failure::config(format!("--to is not a URL ({e})")))?;
    }
    let secret = read_secret(&args)?;
    if secret.is_none() {
        output::note("warning: no --secret-env or --secret-file: the replays carry no signature headers");
    }
    let reader = Ledger::open_read_only(&path)?;
    let records: Vec<ArchivedRecord> = match (&args.from, &reader) {
        (Some(file), _) => read_ndjson(file)?,
        (None, Some(ledger)) => ledger.archived(Some(u64::MAX))?,
        (None, None) => Vec::new(),
    };
    let now = Utc::now();
    let (since, until) = (args.since.map(|w| w.at(now)), args.until.map(|w| w.at(now)));
    let mut chosen: Vec<&ArchivedRecord> = Vec::with_capacity(records.len());
    for r in records.iter().filter(|r| wanted(r, &args) && in_window(r, since, until)) {
        // What the ledger knows of the event: delivered since (resolved), given up.
        let memory = match &reader {
            Some(l) => l.memory(&r.target, [r.guid.as_str()])?.remove(&r.guid),
            None => None,
        };
        let (resolved, given_up) = memory.map_or((false, false), |m| (m.resolved, m.given_up));
        let keep = match args.state_filter {
            ReplayState::Failed => !resolved,
            ReplayState::GivenUp => given_up && !resolved,
            ReplayState::All => true,
        };
        if keep {
            chosen.push(r);
        }
    }
    drop(reader);
    // Write-before-send, under the lock, as redeliveries: never two replays of one event at once.
    // (A PostgreSQL state has no file to lock; its replays are written down all the same.)
    let (_lock, ledger) = match path.file() {
        _ if args.dry_run => (None, None),
        Some(file) => (Some(StateLock::acquire(file)?), Some(Ledger::open(file)?)),
        None => (None, Some(Ledger::open(&path)?)),
    };
    let http = send::http_client().map_err(|e| Failure::internal(anyhow::anyhow!("cannot set up HTTP: {e}")))?;
    let gap = args.rate.filter(|r| *r > 0.0 && r.is_finite()).map(|r| Duration::from_secs_f64((1.0 / r).min(3600.0)));
    let mut results = Vec::with_capacity(chosen.len());
    let mut last: Option<Instant> = None;
    for record in chosen {
        let Some(url) = args.to.clone().or_else(|| record.hook_url.clone()) else {
            results.push(result(record, "", "refused", None, None, Some("no URL: give --to".into())));
            continue;
        };
        if args.dry_run {
            results.push(result(record, &url, "would_send", None, None, None));
            continue;
        }
        if let (Some(gap), Some(at)) = (gap, last) {
            tokio::time::sleep_until((at + gap).into()).await;
        }
        last = Some(Instant::now());
        let ledger = ledger.as_ref().ok_or_else(|| Failure::internal(anyhow::anyhow!("no writable ledger")))?;
        let posted = send::deliver(&http, ledger, record, &url, secret.as_ref(), Utc::now()).await?;
        results.push(result(
            record,
            &url,
            posted.answer.as_str(),
            posted.status,
            Some(posted.duration_ms),
            posted.detail,
        ));
    }
    let failed = results.iter().any(|r| r.outcome == "refused" || r.outcome == "unreachable");
    if args.json {
        output::json(&results)?;
    } else {
        let mut text = String::new();
        for r in &results {
            let status = r.status.map(|s| format!(" {s}")).unwrap_or_default();
            let detail = r.detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            text.push_str(&format!("{} {} {} -> {}{status}{detail}\n", r.outcome, r.guid, r.event, r.url));
        }
        text.push_str(&format!("{} event(s)\n", results.len()));
        output::data(&text)?;
    }
    Ok(if failed { Exit::Attention } else { Exit::Success })
}

fn result(
    r: &ArchivedRecord,
    url: &str,
    outcome: &'static str,
    status: Option<u16>,
    duration_ms: Option<u64>,
    detail: Option<String>,
) -> Replayed {
    Replayed {
        guid: r.guid.clone(),
        event: r.event.clone(),
        target: r.target.clone(),
        // Printed, and in `--json`: never with a password it carries.
        url: if url.is_empty() { String::new() } else { send::shown_url(url) },
        content_type: send::content_type(r),
        outcome,
        status,
        duration_ms,
        detail,
    }
}

/// Whether the event first failed inside `--since`/`--until` (an event of unknown time only
/// when neither is given).
fn in_window(r: &ArchivedRecord, since: Option<DateTime<Utc>>, until: Option<DateTime<Utc>>) -> bool {
    match r.delivered_at {
        Some(at) => since.is_none_or(|s| at >= s) && until.is_none_or(|u| at <= u),
        None => since.is_none() && until.is_none(),
    }
}

/// Whether `--event` and the GUIDs select this record.
fn wanted(r: &ArchivedRecord, args: &ReplayArgs) -> bool {
    let guid = args.guids.is_empty() || args.guids.iter().any(|g| g == &r.guid);
    let event = args.event.is_empty()
        || args.event.iter().any(|e| match e.split_once('.') {
            Some((event, action)) => event == r.event && r.action.as_deref() == Some(action),
            None => e == &r.event,
        });
    guid && event
}

fn read_secret(args: &ReplayArgs) -> Result<Option<Secret>, Failure> {
    if let Some(name) = &args.secret_env {
        let value = std::env::var(name)
            .map_err(|_| Failure::config(format!("--secret-env {name}: the variable is not set")))?;
        return Ok(Some(Secret::new(value)));
    }
    if let Some(file) = &args.secret_file {
        let text = std::fs::read_to_string(file)
            .map_err(|e| Failure::config(format!("--secret-file {}: {e}", file.display())))?;
        return Ok(Some(Secret::new(text.lines().next().unwrap_or_default().to_string())));
    }
    Ok(None)
}

/// `redeliver export`'s NDJSON, one record a line (blank lines skipped).
fn read_ndjson(file: &std::path::Path) -> Result<Vec<ArchivedRecord>, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| Failure::config(format!("--from {}: {e}", file.display())))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).map_err(|e| {
                Failure::config(format!("--from {} line {}: not an exported record: {e}", file.display(), i + 1))
            })
        })
        .collect()
}

//! `redeliver replay`: POST archived events (docs/archive.md) straight to a receiver, as GitHub
//! would: the payload serialized once (JSON, or `payload=<urlencoded JSON>` for a `form` hook),
//! GitHub's headers from the archived request (the same `X-GitHub-Delivery` GUID, which
//! receivers deduplicate on), and the signatures computed with the hook's secret over the exact
//! bytes sent. Each replay is written down before it is posted, under the state's lock, and a
//! 2xx resolves the event, so GitHub's side redelivers it no more.

use crate::cli::{ReplayArgs, ReplayState};
use crate::config::Env;
use crate::exit::{Exit, Failure};
use crate::output;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use redeliver_core::secret::Secret;
use redeliver_core::state::{ArchivedRecord, Ledger, RedeliveryState, StateLock};
use serde::Serialize;
use std::time::{Duration, Instant};

/// GitHub's timeout for a webhook: 10 s on github.com, 30 s on Enterprise Server.
const TIMEOUT: Duration = Duration::from_secs(10);
const GHES_TIMEOUT: Duration = Duration::from_secs(30);

/// The request headers of the archived record that are sent again as they were.
const KEPT_HEADERS: [&str; 6] = [
    "X-GitHub-Delivery",
    "X-GitHub-Event",
    "X-GitHub-Hook-ID",
    "X-GitHub-Hook-Installation-Target-ID",
    "X-GitHub-Hook-Installation-Target-Type",
    "User-Agent",
];

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
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Failure::internal(anyhow::anyhow!("cannot set up HTTP: {e}")))?;
    let gap = args.rate.filter(|r| *r > 0.0 && r.is_finite()).map(|r| Duration::from_secs_f64((1.0 / r).min(3600.0)));
    let mut results = Vec::with_capacity(chosen.len());
    let mut last: Option<Instant> = None;
    for record in chosen {
        let Some(url) = args.to.clone().or_else(|| record.hook_url.clone()) else {
            results.push(result(record, "", "json", "refused", None, None, Some("no URL: give --to".into())));
            continue;
        };
        let form = record.content_type.as_deref() == Some("form");
        let body = body(&record.payload, form);
        let content_type = if form { "application/x-www-form-urlencoded" } else { "application/json" };
        let headers = headers(record, &body, content_type, secret.as_ref());
        if args.dry_run {
            results.push(result(record, &url, content_type, "would_send", None, None, None));
            continue;
        }
        if let (Some(gap), Some(at)) = (gap, last) {
            tokio::time::sleep_until((at + gap).into()).await;
        }
        last = Some(Instant::now());
        let ledger = ledger.as_ref().ok_or_else(|| Failure::internal(anyhow::anyhow!("no writable ledger")))?;
        let row = ledger.begin_replay(&record.target, &record.guid, &record.event, record.delivery_id, Utc::now())?;
        let timeout = if record.target.contains("api.github.com") { TIMEOUT } else { GHES_TIMEOUT };
        let started = Instant::now();
        let mut request = http.post(&url).timeout(timeout).body(body);
        for (name, value) in &headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let answer = request.send().await;
        let ms = started.elapsed().as_millis() as u64;
        let replayed = match answer {
            Ok(response) => {
                let status = response.status().as_u16();
                ledger.complete(row, RedeliveryState::Replayed, Some(&format!("HTTP {status} in {ms} ms")))?;
                if response.status().is_success() {
                    ledger.resolve(&record.target, &record.guid, Utc::now())?;
                    result(record, &url, content_type, "delivered", Some(status), Some(ms), None)
                } else {
                    result(record, &url, content_type, "refused", Some(status), Some(ms), None)
                }
            }
            Err(e) => {
                let detail = format!("no answer in {ms} ms: {}", describe(&e));
                ledger.complete(row, RedeliveryState::Replayed, Some(&detail))?;
                result(record, &url, content_type, "unreachable", None, Some(ms), Some(detail))
            }
        };
        results.push(replayed);
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
    content_type: &'static str,
    outcome: &'static str,
    status: Option<u16>,
    duration_ms: Option<u64>,
    detail: Option<String>,
) -> Replayed {
    Replayed {
        guid: r.guid.clone(),
        event: r.event.clone(),
        target: r.target.clone(),
        url: url.to_string(),
        content_type,
        outcome,
        status,
        duration_ms,
        detail,
    }
}

/// The error without its URL's query or credentials (reqwest prints the URL).
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        "the request failed".into()
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

/// The payload serialized once: the JSON itself, or a form's `payload=<urlencoded JSON>`.
fn body(payload: &serde_json::Value, form: bool) -> Vec<u8> {
    let json = serde_json::to_vec(payload).unwrap_or_default();
    if form {
        let mut out = b"payload=".to_vec();
        out.extend(url::form_urlencoded::byte_serialize(&json).flat_map(str::bytes));
        out
    } else {
        json
    }
}

/// GitHub's headers for this body: those archived, the content type, and the signatures.
fn headers(r: &ArchivedRecord, body: &[u8], content_type: &str, secret: Option<&Secret>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = KEPT_HEADERS
        .iter()
        .filter_map(|name| {
            let value = r.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
            Some((name.to_string(), value?))
        })
        .collect();
    if !out.iter().any(|(k, _)| k == "X-GitHub-Delivery") {
        out.push(("X-GitHub-Delivery".into(), r.guid.clone()));
    }
    if !out.iter().any(|(k, _)| k == "X-GitHub-Event") {
        out.push(("X-GitHub-Event".into(), r.event.clone()));
    }
    out.push(("Content-Type".into(), content_type.into()));
    if let Some(secret) = secret {
        let (sha256, sha1) = sign(secret, body);
        out.push(("X-Hub-Signature-256".into(), format!("sha256={sha256}")));
        out.push(("X-Hub-Signature".into(), format!("sha1={sha1}")));
    }
    out
}

/// HMAC-SHA256 (`X-Hub-Signature-256`) and HMAC-SHA1 (the legacy `X-Hub-Signature`) of `body`,
/// hex; HMAC takes a key of any length, so neither can fail.
fn sign(secret: &Secret, body: &[u8]) -> (String, String) {
    let key = secret.expose().as_bytes();
    let sha256 = Hmac::<sha2::Sha256>::new_from_slice(key).map(|mut m| {
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    });
    let sha1 = Hmac::<sha1::Sha1>::new_from_slice(key).map(|mut m| {
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    });
    (sha256.unwrap_or_default(), sha1.unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;

    /// GitHub's own example (docs: "Validating webhook deliveries"), and the SHA-1 of the same.
    #[test]
    fn signatures_match_githubs_example() {
        let (sha256, sha1) = sign(&Secret::new("It's a Secret to Everybody"), b"Hello, World!");
        assert_eq!(sha256, "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        assert_eq!(sha1, "01dc10d0c83e72ed246219cdd91669667fe2ca59");
    }

    #[test]
    fn a_form_body_is_the_urlencoded_json_under_payload() {
        let payload = serde_json::json!({ "a": "b c&d" });
        assert_eq!(body(&payload, false), br#"{"a":"b c&d"}"#);
        assert_eq!(body(&payload, true), b"payload=%7B%22a%22%3A%22b+c%26d%22%7D");
    }
}

//! `redeliver export`: the archive (docs/archive.md) as NDJSON on stdout, one event a line,
//! oldest first: `guid`, `event`, `action`, `delivery_id`, `target`, `hook_url`, `content_type`,
//! `headers` (the request headers GitHub sent), `payload` (JSON), `archived_at` and
//! `delivered_at`.
//!
//! With `--all`, every event GitHub lists for the target(s) in a window (`--since`, default
//! what GitHub still holds; `--until`, default now), failed or not, in the same format: one
//! line per event (its oldest attempt listed), each fetched with one GET of its delivery record,
//! paced as the target's redeliveries are (`--pace`). It reads GitHub only and writes no state.

use crate::cli::ExportArgs;
use crate::config::{Env, Target, resolve_run};
use crate::exit::{Exit, Failure};
use crate::output;
use crate::pass::HookClient;
use chrono::{DateTime, Utc};
use redeliver_core::github::{ApiError, Pace};
use redeliver_core::model::Delivery;
use redeliver_core::state::{ArchivedRecord, Ledger};
use std::collections::HashMap;
use std::time::Instant;

pub async fn run(args: ExportArgs) -> Result<Exit, Failure> {
    if args.all {
        return export_all(&args).await;
    }
    let path = Env::from_process().state_location(args.state.as_deref())?;
    let records = match Ledger::open_read_only(&path)? {
        // Any payload kept was within the cap it was archived under; read back whatever is there.
        Some(ledger) => ledger.archived(Some(u64::MAX))?,
        None => {
            output::note(&format!("no state file at {} yet: nothing is archived", path.shown()));
            Vec::new()
        }
    };
    output::ndjson(&records)?;
    Ok(Exit::Success)
}

async fn export_all(args: &ExportArgs) -> Result<Exit, Failure> {
    let now = Utc::now();
    let settings = resolve_run(&args.run_args(), &Env::from_process(), now)?;
    let cancel = tokio_util::sync::CancellationToken::new();
    let mut exported = 0;
    for t in &settings.targets {
        let mut hc = HookClient::connect(t, &cancel).await?;
        let now = hc.client.stats().github_time(Utc::now());
        let since = settings.options.since.unwrap_or(now - t.policy.horizon);
        let until = settings.options.until.unwrap_or(now);
        let events = list_window(&mut hc, t, since, until).await?;
        let config = hc.client.hook_config(&t.hook).await.ok();
        let gap = match t.pace {
            Pace::Fixed(gap) => gap,
            Pace::Auto { .. } => hc.client.pace_gap(),
        };
        let mut last: Option<Instant> = None;
        for d in events {
            if let Some(at) = last {
                tokio::time::sleep_until((at + gap).into()).await;
            }
            last = Some(Instant::now());
            let record = match hc.client.delivery_record(&t.hook, d.id).await {
                Ok(r) => r,
                Err(ApiError::NotFound { .. }) => {
                    output::note(&format!("{}: delivery {} is gone from GitHub; skipped", t.name, d.id));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let line = ArchivedRecord {
                guid: d.guid,
                event: d.event,
                action: d.action,
                delivery_id: d.id,
                target: t.key(),
                hook_url: record.url.or_else(|| config.as_ref().and_then(|c| c.url.clone())),
                content_type: config.as_ref().and_then(|c| c.content_type.clone()),
                headers: record.headers,
                payload: record.payload,
                archived_at: Utc::now(),
                delivered_at: Some(d.delivered_at),
            };
            // One line as soon as it is read: memory stays flat however long the window.
            output::ndjson(std::slice::from_ref(&line))?;
            exported += 1;
        }
    }
    output::note(&format!("exported {exported} event(s)"));
    Ok(Exit::Success)
}

/// Every event with an attempt listed in `since..=until`, as its oldest attempt there, oldest
/// first. The listing (newest first) stops at the first page reaching past `since`.
async fn list_window(
    hc: &mut HookClient,
    t: &Target,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Delivery>, Failure> {
    let mut oldest: HashMap<String, Delivery> = HashMap::new();
    let mut next = None;
    loop {
        let page = hc.client.list_deliveries(&t.hook, next.as_ref()).await?;
        let reached = page.deliveries.iter().any(|d| d.delivered_at < since);
        for d in page.deliveries.into_iter().filter(|d| d.delivered_at >= since && d.delivered_at <= until) {
            match oldest.get(&d.guid) {
                Some(seen) if (seen.delivered_at, seen.id) <= (d.delivered_at, d.id) => {}
                _ => {
                    oldest.insert(d.guid.clone(), d);
                }
            }
        }
        match page.next {
            Some(url) if !reached => next = Some(url),
            _ => break,
        }
    }
    let mut events: Vec<Delivery> = oldest.into_values().collect();
    events.sort_by_key(|d| (d.delivered_at, d.id));
    Ok(events)
}

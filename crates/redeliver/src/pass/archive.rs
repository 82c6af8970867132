//! The archiving step of a pass (after acting, before saving): each failed event not archived
//! yet has its delivery record fetched, once, while GitHub still holds it, and kept in the
//! ledger within the archive's caps; the hook's configuration is read once in a pass that
//! archives. Archiving never fails a pass: a record that cannot be read now is tried again by
//! the next pass (until GitHub forgets it).

use super::client::HookClient;
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::ApiError;
use redeliver_core::plan::Plan;
use redeliver_core::state::{Archived, ArchivedRecord, HookConfigRecord, Ledger};

/// Archives the failed events of `plan` that are not archived yet; returns how many were.
/// Nothing is done for a dry run or without a writable ledger.
pub async fn archive(
    hc: &mut HookClient,
    t: &Target,
    o: &RunOptions,
    plan: &Plan,
    ledger: Option<&Ledger>,
    now: DateTime<Utc>,
) -> Result<u64, Failure> {
    let Some(ledger) = ledger.filter(|_| !o.dry_run && o.archive()) else { return Ok(0) };
    let key = t.key();
    let mut archived = 0;
    let mut config_read = false;
    for v in &plan.verdicts {
        let h = &v.history;
        if ledger.is_archived(&key, &h.guid)? {
            continue;
        }
        if !config_read {
            // Once per pass that archives: where and how GitHub posts, for a replay.
            config_read = true;
            match hc.client.hook_config(&t.hook).await {
                Ok(c) => ledger.set_hook_config(
                    &key,
                    &HookConfigRecord { url: c.url, content_type: c.content_type, insecure_ssl: c.insecure_ssl },
                    now,
                )?,
                Err(e) => tracing::warn!(target = %t.name, "could not read the hook's configuration: {e}"),
            }
        }
        let record = match hc.client.delivery_record(&t.hook, h.newest_id).await {
            Ok(r) => r,
            // Past GitHub's retention, or gone: nothing left to archive.
            Err(ApiError::NotFound { .. }) => continue,
            Err(e) => {
                // What failed this one (rate limit, credentials, network) would fail the rest.
                tracing::warn!(target = %t.name, guid = %h.guid, "archiving stopped for this pass: {e}");
                break;
            }
        };
        let record = ArchivedRecord {
            guid: h.guid.clone(),
            event: h.event.clone(),
            action: h.action.clone(),
            delivery_id: h.newest_id,
            target: key.clone(),
            hook_url: record.url,
            content_type: None,
            headers: record.headers,
            payload: record.payload,
            archived_at: now,
            delivered_at: Some(v.first_attempt_at),
        };
        match ledger.archive(&key, &record, o.archive_limits, now)? {
            Archived::Stored => archived += 1,
            Archived::TooLarge => tracing::warn!(
                target = %t.name, guid = %h.guid,
                "not archived: the payload is larger than archive_max_payload ({} bytes)", o.archive_limits.max_payload
            ),
        }
    }
    Ok(archived)
}

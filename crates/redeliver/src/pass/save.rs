//! The saving step of a pass: the ledger learns which events are still owed a rung and which
//! recovered, and the watermark (in the ledger or the Actions variable) moves on.

use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::ActionsVariable;
use redeliver_core::plan::{Plan, Scan};
use redeliver_core::state::Ledger;

/// The ledger learns which events are still owed their next rung and which recovered (nothing
/// is written for a dry run).
pub fn remember(
    t: &Target,
    o: &RunOptions,
    plan: &Plan,
    scan: &Scan,
    ledger: Option<&Ledger>,
    now: DateTime<Utc>,
) -> Result<(), Failure> {
    let key = t.key();
    if let Some(l) = ledger.filter(|_| !o.dry_run) {
        for v in plan.verdicts.iter().filter(|v| v.decision.is_pending()) {
            l.remember_pending(&key, &v.history, v.first_attempt_at)?;
        }
        for guid in scan.resolved() {
            l.resolve(&key, guid, now)?;
        }
    }
    Ok(())
}

/// Moves the watermark on; returns the time written for the next run (`None` for a dry run or
/// `--since`, which write nothing).
pub async fn watermark(
    t: &Target,
    o: &RunOptions,
    plan: &Plan,
    ledger: Option<&Ledger>,
    variable: Option<&mut ActionsVariable>,
    started: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Failure> {
    if o.dry_run || o.since.is_some() {
        return Ok(None);
    }
    // With the SQLite ledger, pending events are remembered there, so the next pass lists only
    // what is new. The Actions variable holds a time only (and a runner's ledger dies with the
    // job), so there the time stays early enough to list every pending event again.
    let mark = if variable.is_some() { plan.next_watermark(started, t.overlap) } else { started - t.overlap };
    match (variable, ledger) {
        (Some(var), _) => var.write(mark).await.map_err(Failure::state)?,
        (None, Some(l)) => l.set_watermark(&t.key(), mark, Utc::now())?,
        (None, None) => {}
    }
    Ok(Some(mark))
}

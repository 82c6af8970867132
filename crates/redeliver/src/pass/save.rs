//! The saving step of a pass: the ledger learns which events are still owed a rung and which
//! succeeded, forgets what can no longer matter, the carried ledger goes back to its Actions
//! variable, and the watermark (in the ledger or the Actions variable) moves on. A dry run
//! writes none of it.

use super::carry::{CarriedLedger, CarriedWrite};
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::ActionsVariable;
use redeliver_core::plan::{Plan, Scan};
use redeliver_core::state::Ledger;

/// The ledger learns which events are still owed their next rung (filtered ones included: a
/// run with another filter, or none, sends them) and which succeeded: every event a page read
/// shows with a success is remembered as resolved, so a later failed attempt of it (a manual
/// redelivery) never makes it owed again.
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
        for h in scan.succeeded() {
            l.remember_resolved(&key, h, now)?;
        }
    }
    Ok(())
}

/// Forgets this target's events that no pass can see or act on any more (past twice the
/// horizon and a day) and audit rows older than `--keep-history`, so a long `watch` keeps a
/// bounded state file.
pub fn prune(t: &Target, o: &RunOptions, ledger: Option<&Ledger>, now: DateTime<Utc>) -> Result<(), Failure> {
    if let Some(l) = ledger.filter(|_| !o.dry_run) {
        let (events, rows) = l.prune(&t.key(), now, t.policy.horizon, o.keep_history())?;
        if events + rows > 0 {
            tracing::debug!(target = %t.name, events, rows, "pruned the ledger");
        }
    }
    Ok(())
}

/// Writes the carried ledger back to its Actions variable (before the stored time, so a failure
/// between the two leaves the earlier time, which lists more, never less). Returns what the
/// variable carries for the next run: after a dry run, what it carried when read (nothing is
/// written); `None` without the Actions variable.
pub async fn carry(
    t: &Target,
    o: &RunOptions,
    carried: Option<&mut CarriedLedger>,
    ledger: Option<&Ledger>,
) -> Result<Option<CarriedWrite>, Failure> {
    let Some(carried) = carried else { return Ok(None) };
    match ledger.filter(|_| !o.dry_run) {
        Some(l) => Ok(Some(carried.write(&t.key(), l).await?)),
        None => Ok(Some(CarriedWrite { events: carried.read_events(), dropped: 0 })),
    }
}

/// Moves the watermark on; returns the time written for the next run (`None` for a dry run,
/// `--since` or `--until`, which leave it as it was: an incident window says nothing about
/// what lies outside it).
pub async fn watermark(
    t: &Target,
    o: &RunOptions,
    plan: &Plan,
    ledger: Option<&Ledger>,
    variable: Option<&mut ActionsVariable>,
    started: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, Failure> {
    if o.dry_run || o.since.is_some() || o.until.is_some() {
        return Ok(None);
    }
    // With the SQLite ledger, pending events are remembered there, so the next pass lists only
    // what is new. With the Actions variable the runner's ledger dies with the job, and the
    // carried ledger keeps what each event is owed but not its attempts, so there the time
    // stays early enough to list every pending event again.
    let mark = if variable.is_some() { plan.next_watermark(started, t.overlap) } else { started - t.overlap };
    match (variable, ledger) {
        (Some(var), _) => var.write(mark).await.map_err(Failure::state)?,
        (None, Some(l)) => l.set_watermark(&t.key(), mark, Utc::now())?,
        (None, None) => {}
    }
    Ok(Some(mark))
}

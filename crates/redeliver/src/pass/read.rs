//! The reading steps of a pass, which leave no trace when they fail (auth, network, a bad
//! answer): find where the last run stopped, choose the window, and list the deliveries in it.

use super::carry::CarriedLedger;
use super::client::{HookClient, client};
use crate::config::{RunOptions, Target};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::{ActionsVariable, Credentials};
use redeliver_core::plan::{Scan, Window};
use redeliver_core::state::{Ledger, StateLocation};

/// What the reading step found.
pub struct Read {
    /// The ledger, opened read-only (`None` when there is no state file yet).
    pub reader: Option<Ledger>,
    /// The Actions variable that holds the watermark instead of the ledger, when configured.
    pub variable: Option<ActionsVariable>,
    /// With the Actions variable, the ledger the previous runs carried in `NAME_LEDGER`.
    pub carried: Option<CarriedLedger>,
    /// The time the previous run saved.
    pub previous: Option<DateTime<Utc>>,
    pub window: Window,
    /// Why the window starts where it does: `stored`, `lookback`, `since` or `horizon`.
    pub source: &'static str,
}

/// Opens the ledger read-only, reads the stored time (and, with the Actions variable, the
/// carried ledger) and chooses the window.
pub async fn read(state: &StateLocation, t: &Target, o: &RunOptions, started: DateTime<Utc>) -> Result<Read, Failure> {
    let key = t.key();
    let reader = Ledger::open_read_only(state)?;
    let mut variable = match &t.variable {
        Some(v) => {
            let c = client(t, Credentials::Token(v.token.clone()))?;
            Some(ActionsVariable::new(c, v.owner.clone(), v.repo.clone(), v.name.clone()))
        }
        None => None,
    };
    let previous = match (&mut variable, &reader) {
        (Some(var), _) => var.read().await?,
        (None, Some(l)) => l.watermark(&key)?,
        (None, None) => None,
    };
    let carried = match &t.variable {
        Some(v) => Some(CarriedLedger::read(t, v).await?),
        None => None,
    };
    let (start, source) = choose_start(t, o, previous, started);
    Ok(Read { reader, variable, carried, previous, window: Window { start, until: o.until }, source })
}

/// Where the window starts at `started` (on GitHub's clock), and why: `--since`, else the
/// stored time, else the look-back; never before the horizon's floor.
pub fn choose_start(
    t: &Target,
    o: &RunOptions,
    previous: Option<DateTime<Utc>>,
    started: DateTime<Utc>,
) -> (DateTime<Utc>, &'static str) {
    let (start, source) = match (o.since, previous) {
        (Some(since), _) => (since, "since"),
        (None, Some(stored)) => (stored, "stored"),
        (None, None) => (started - t.lookback, "lookback"),
    };
    // GitHub cannot redeliver past the horizon, so listing further back costs requests for
    // nothing; a day beyond it is still read, so events that just crossed it are reported.
    let floor = started - t.policy.horizon - chrono::Duration::days(1);
    if start < floor { (floor, "horizon") } else { (start, source) }
}

/// Lists the deliveries back to the window's start, folded into per-event histories; returns
/// the scan and the number of pages read.
///
/// The listing ends only where GitHub's does (no `Link: rel="next"`) or where it has read
/// enough: an empty page that links to a next one is read past (issue 8, case 5), and it
/// continues past the window's start while a failed event the ledger does not know is seen
/// only through redeliveries, whose original (perhaps a success) is older still (case 6):
/// until every such original is read, or the listing reaches the horizon, where GitHub keeps
/// nothing it could redeliver. The client bounds a `next` link that loops.
pub async fn list(hc: &mut HookClient, t: &Target, read: &Read) -> Result<(Scan, u64), Failure> {
    let mut scan = Scan::new(read.window);
    if let Some(l) = &read.reader {
        scan.remember(l.pending(&t.key())?);
    }
    // The same floor as the window's: a day past the horizon, on GitHub's clock.
    let floor = hc.client.stats().github_time(Utc::now()) - t.policy.horizon - chrono::Duration::days(1);
    let mut pages = 0;
    let mut next = None;
    loop {
        let page = hc.page(t, next.as_ref(), &mut scan).await?;
        pages += 1;
        tracing::debug!(page = pages, read = scan.deliveries_read, "listed a page");
        if page.not_modified {
            // Nothing was attempted since the last saved pass: what the state owes is planned
            // from the ledger alone.
            tracing::debug!(target = %t.name, "the first page is unchanged (304)");
            break;
        }
        let Some(url) = page.next else { break };
        let reached_floor = page.oldest.is_some_and(|at| at < floor);
        let wants_more = !scan.reached_start || scan.without_original().next().is_some();
        if !wants_more || reached_floor {
            break;
        }
        next = Some(url);
    }
    Ok((scan, pages))
}

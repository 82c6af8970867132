//! `redeliver export`: the archive (docs/archive.md) as NDJSON on stdout, one event a line,
//! oldest first: `guid`, `event`, `action`, `delivery_id`, `target`, `hook_url`, `content_type`,
//! `headers` (the request headers GitHub sent), `payload` (JSON) and `archived_at`.

use crate::cli::ExportArgs;
use crate::config::Env;
use crate::exit::{Exit, Failure};
use crate::output;
use redeliver_core::state::Ledger;

pub fn run(args: ExportArgs) -> Result<Exit, Failure> {
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

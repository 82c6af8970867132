//! `redeliver history`: the redeliveries recorded in the state file, newest first.

use crate::cli::HistoryArgs;
use crate::config::Env;
use crate::exit::{Exit, Failure};
use crate::output;
use redeliver_core::state::Ledger;

pub fn run(args: HistoryArgs) -> Result<Exit, Failure> {
    let path = Env::from_process().state_location(args.state.as_deref())?;
    let records = match Ledger::open_read_only(&path)? {
        Some(ledger) => ledger.history(None, args.guid.as_deref(), args.limit)?,
        None => {
            output::note(&format!("no state file at {} yet: nothing has been redelivered with it", path.shown()));
            Vec::new()
        }
    };
    if args.json {
        output::json(&records)?;
    } else {
        output::data(&output::history(&records))?;
    }
    Ok(Exit::Success)
}

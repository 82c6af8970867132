//! `redeliver-bench`: measures the real `redeliver` binary against the simulator, and drains a
//! backlog under GitHub's secondary limits. Wiring only; see `docs/benchmarks.md`.

// Printing its measurements is what this program is for.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod child;
mod drain;
mod history;
mod listing;
mod outage;
mod table;

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = args::Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(args))
}

async fn run(args: args::Args) -> anyhow::Result<()> {
    let plan = args.plan()?;
    table::machine();
    if !plan.sizes.is_empty() && (plan.list || plan.post) {
        let exe = child::redeliver_exe()?;
        listing::run(&exe, &plan).await?;
    }
    if plan.drain {
        drain::run(&plan).await?;
    }
    if plan.outage {
        outage::run(&child::redeliver_exe()?).await?;
    }
    Ok(())
}

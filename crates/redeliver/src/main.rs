//! `redeliver`: finds failed GitHub webhook deliveries and asks GitHub to redeliver them.

mod cli;
mod commands;
mod config;
mod daemon;
mod direct;
mod exit;
mod notify;
mod output;
mod pass;
mod report;
mod usage;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    output::init_tracing(cli.verbose);
    let status = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt.block_on(commands::dispatch(cli)),
        Err(e) => Err(exit::Failure::internal(anyhow::Error::new(e).context("cannot start the async runtime"))),
    };
    output::finish(status)
}

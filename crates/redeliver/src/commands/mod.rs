//! One file per subcommand; `dispatch` routes the parsed command line to it.

mod check;
mod completions;
mod demo;
mod export;
mod healthcheck;
mod history;
mod replay;
pub mod run;
mod sim;
mod watch;

use crate::cli::{Cli, Command};
use crate::exit::{Exit, Failure};

pub async fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Run(args) => run::run(*args).await,
        Command::Watch(args) => watch::run(*args).await,
        Command::Check(args) => check::run(*args).await,
        Command::History(args) => history::run(args),
        Command::Export(args) => export::run(*args).await,
        Command::Replay(args) => replay::run(args).await,
        Command::Sim(args) => sim::run(args).await,
        Command::Demo(args) => demo::run(args).await,
        Command::Completions(args) => completions::completions(args),
        Command::Man(args) => completions::man(args),
        Command::Healthcheck(args) => healthcheck::run(args).await,
    }
}

//! `redeliver run`: one pass, printed as a summary or JSON.

use crate::cli::RunArgs;
use crate::config::{Env, resolve_run};
use crate::exit::{Exit, Failure};
use crate::{output, pass};

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
    let settings = resolve_run(&args, &Env::from_process(), chrono::Utc::now())?;
    let json = settings.json;
    let report = pass::run(settings).await?;
    if json {
        output::print_json(&report);
    } else {
        print!("{}", output::summary(&report));
    }
    Ok(if report.exit_code == Exit::Attention as u8 { Exit::Attention } else { Exit::Success })
}

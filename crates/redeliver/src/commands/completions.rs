//! `redeliver completions SHELL` and `redeliver man`: what a shell and `man` need, generated from
//! the same clap definition as the parser, so that they never drift from the flags.

use crate::cli::{Cli, CompletionsArgs, ManArgs};
use crate::exit::{Exit, Failure};
use crate::output;
use clap::CommandFactory;

pub fn completions(args: CompletionsArgs) -> Result<Exit, Failure> {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "redeliver", &mut script);
    output::data(&String::from_utf8_lossy(&script))?;
    Ok(Exit::Success)
}

pub fn man(args: ManArgs) -> Result<Exit, Failure> {
    let cmd = Cli::command();
    match args.dir {
        Some(dir) => {
            let cannot = |e: std::io::Error| {
                Failure::config(format!("cannot write the manual pages into {}: {e}", dir.display()))
            };
            std::fs::create_dir_all(&dir).map_err(cannot)?;
            clap_mangen::generate_to(cmd, &dir).map_err(cannot)?;
            output::note(&format!(
                "redeliver: wrote redeliver.1 and a page per command into {} (man -l {}/redeliver.1)",
                dir.display(),
                dir.display()
            ));
        }
        None => {
            let mut page = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut page)
                .map_err(|e| Failure::internal(anyhow::Error::new(e).context("cannot render the manual page")))?;
            output::data(&String::from_utf8_lossy(&page))?;
        }
    }
    Ok(Exit::Success)
}

//! `redeliver run`: one pass over each target, printed as a summary or JSON.

use crate::cli::RunArgs;
use crate::config::{Env, resolve_run};
use crate::exit::{Exit, Failure};
use crate::pass::{Report, Session};
use crate::{notify, output};
use serde::Serialize;

/// `--json` with a config file: every target's report, and the targets that failed.
#[derive(Serialize)]
struct Many<'a> {
    schema: &'static str,
    reports: &'a [Report],
    errors: &'a [TargetError],
    exit_code: u8,
}

#[derive(Serialize)]
pub struct TargetError {
    pub target: String,
    pub error: String,
    pub hint: Option<String>,
    #[serde(skip)]
    pub exit: Exit,
}

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
    let env = Env::from_process();
    let settings = resolve_run(&args, &env, chrono::Utc::now())?;
    let mut session = Session::new(settings.state_path.clone());
    let single = args.config.is_none();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for target in &settings.targets {
        match session.pass(target, &settings.options).await {
            Ok(report) => reports.push(report),
            // One target alone: its error is the command's error, as before.
            Err(failure) if single => return Err(failure),
            Err(failure) => {
                let error = format!("{:#}", failure.error);
                eprintln!("error: target \"{}\": {error}", target.name);
                if let Some(hint) = &failure.hint {
                    eprintln!("hint: {hint}");
                }
                errors.push(TargetError { target: target.name.clone(), error, hint: failure.hint, exit: failure.exit });
            }
        }
    }
    let exit = errors
        .iter()
        .map(|e| e.exit)
        .chain(
            reports.iter().map(|r| if r.exit_code == Exit::Attention as u8 { Exit::Attention } else { Exit::Success }),
        )
        .max_by_key(|e| *e as u8)
        .unwrap_or(Exit::Success);
    match (settings.options.json, single) {
        (true, true) => output::print_json(&reports[0]),
        (true, false) => output::print_json(&Many {
            schema: "redeliver.runs/v1",
            reports: &reports,
            errors: &errors,
            exit_code: exit as u8,
        }),
        (false, _) => reports.iter().for_each(|r| print!("{}", output::summary(r))),
    }
    if let Some(actions) = &settings.actions {
        notify::github_actions(actions, settings.options.json, &reports, &errors);
    }
    if !settings.options.dry_run {
        notify::given_up(&settings.notify, &reports).await;
    }
    Ok(exit)
}

//! `redeliver run`: one pass over each target, printed as a summary or JSON.

use crate::cli::RunArgs;
use crate::config::{Env, resolve_run};
use crate::exit::{Exit, Failure};
use crate::pass::Session;
use crate::report::{RUNS_SCHEMA, Runs, TargetError};
use crate::{notify, output};

pub async fn run(args: RunArgs) -> Result<Exit, Failure> {
    let env = Env::from_process();
    let settings = resolve_run(&args, &env, chrono::Utc::now())?;
    let mut session = Session::new(settings.state.clone());
    session.use_leases(settings.lease, false);
    let single = args.target.config.is_none();
    let mut reports = Vec::new();
    let mut errors = Vec::new();
    for target in &settings.targets {
        match session.pass(target, &settings.options).await {
            Ok(report) => reports.push(report),
            // One target alone: its error is the command's error, as before.
            Err(failure) if single => return Err(failure),
            Err(failure) => {
                output::target_failure(&target.name, &failure);
                errors.push(TargetError {
                    name: target.name.clone(),
                    error: failure.one_line(),
                    exit: failure.code(),
                    hint: failure.hint,
                });
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
    let printed = match (settings.options.json, single) {
        (true, true) => output::json(&reports[0]),
        (true, false) => {
            output::json(&Runs { schema: RUNS_SCHEMA, reports: &reports, errors: &errors, exit_code: exit as u8 })
        }
        (false, _) => reports.iter().try_for_each(|r| output::data(&output::summary(r))),
    };
    // Told even when the reader of stdout has gone: the events were given up all the same.
    let annotated = match &settings.actions {
        Some(actions) => notify::github_actions(actions, settings.options.json, &reports, &errors),
        None => Ok(()),
    };
    if !settings.options.dry_run {
        notify::given_up(&settings.notify, &reports).await;
    }
    printed.and(annotated)?;
    Ok(exit)
}

//! `redeliver check`: for every target, read one page of deliveries (and the Actions variable,
//! when one is configured) and say, in words a person can act on, what works and what does not.
//! Nothing is redelivered and nothing is written. With `--json`, the same as a
//! `redeliver.check/v1` document: per target `ok`, the `lines` above, `error` and `hint`, and
//! `clock_skew_seconds` (GitHub's clock minus this machine's, from GitHub's `Date` header).

use crate::cli::CheckArgs;
use crate::config::{Env, Target, resolve_run};
use crate::exit::{Exit, Failure};
use crate::output;
use crate::output::clean::field;
use crate::pass::{self, SignIn};
use redeliver_core::github::{ActionsVariable, ApiError, Credentials, GitHubClient, HookTarget};
use serde::Serialize;

/// The `--json` schema of `check`.
pub const CHECK_SCHEMA: &str = "redeliver.check/v1";

/// `check --json`: one entry per target.
#[derive(Debug, Serialize)]
struct CheckReport {
    schema: &'static str,
    targets: Vec<TargetCheck>,
    exit_code: u8,
}

/// What `check` found for one target.
#[derive(Debug, Serialize)]
struct TargetCheck {
    name: String,
    description: String,
    ok: bool,
    /// What works, in words (as the human output prints them).
    lines: Vec<String>,
    error: Option<String>,
    hint: Option<String>,
    /// GitHub's clock minus this machine's, in seconds; `null` when GitHub never answered.
    clock_skew_seconds: Option<i64>,
}

pub async fn run(args: CheckArgs) -> Result<Exit, Failure> {
    let settings = resolve_run(&args.run_args(), &Env::from_process(), chrono::Utc::now())?;
    let mut worst = Exit::Success;
    let mut checks = Vec::new();
    for t in &settings.targets {
        let mut skew = None;
        let result = check(t, &mut skew).await;
        let mut c = TargetCheck {
            name: t.name.clone(),
            description: t.describe(),
            ok: result.is_ok(),
            lines: Vec::new(),
            error: None,
            hint: None,
            clock_skew_seconds: skew,
        };
        match result {
            Ok(lines) => c.lines = lines,
            Err((e, hint)) => {
                worst = Exit::GitHub;
                c.error = Some(e);
                c.hint = hint;
            }
        }
        if !args.json {
            output::data(&human(&c))?;
        }
        checks.push(c);
    }
    if args.json {
        output::json(&CheckReport { schema: CHECK_SCHEMA, targets: checks, exit_code: worst as u8 })?;
    }
    Ok(worst)
}

fn human(c: &TargetCheck) -> String {
    let mut text = String::new();
    match &c.error {
        None => {
            text += &format!("ok     {}: {}\n", c.name, c.description);
            // GitHub's words may hold control characters: kept to their line.
            c.lines.iter().for_each(|l| text += &format!("       {}\n", field(l)));
        }
        Some(e) => {
            text += &format!("FAILED {}: {}\n       {}\n", c.name, c.description, field(e));
            if let Some(hint) = &c.hint {
                text += &format!("       hint: {hint}\n");
            }
        }
    }
    text
}

/// GitHub's clock against this machine's, in words.
fn skew_line(skew: i64) -> String {
    let hint = if skew.abs() >= 60 {
        ": windows and stored times follow GitHub's clock, but set this machine's clock right (NTP)"
    } else {
        ""
    };
    match skew {
        // `Date` counts whole seconds and is read a moment after it was written.
        -1..=1 => "clock: GitHub's clock agrees with this machine's (within a second)".to_owned(),
        s if s > 0 => format!("clock: GitHub's clock is {s} s ahead of this machine's{hint}"),
        s => format!("clock: GitHub's clock is {} s behind this machine's{hint}", -s),
    }
}

fn client(t: &Target, credentials: Credentials) -> Result<GitHubClient, (String, Option<String>)> {
    pass::client(t, credentials).map_err(|f| (f.error.to_string(), f.hint))
}

/// GitHub's answer, plus what to do about it for this kind of hook.
fn explain(hook: &HookTarget) -> impl Fn(ApiError) -> (String, Option<String>) + '_ {
    move |e| {
        let hint = match (&e, hook) {
            (ApiError::Forbidden { .. } | ApiError::NotFound { .. }, HookTarget::Repo { owner, repo, hook_id }) => {
                Some(format!(
                    "the token must reach {owner}/{repo} and its hook {hook_id}: fine-grained tokens need \"Webhooks\" read and write on that repository; classic tokens need admin:repo_hook (and repo for private repositories)"
                ))
            }
            (ApiError::Forbidden { .. } | ApiError::NotFound { .. }, HookTarget::Org { org, hook_id }) => {
                Some(format!(
                    "the token's owner must be an owner of {org}, and the token needs \"Webhooks\" read and write for the organization (fine-grained) or admin:org_hook (classic); check that hook {hook_id} exists"
                ))
            }
            _ => e.hint(),
        };
        (e.to_string(), hint)
    }
}

async fn check(t: &Target, skew: &mut Option<i64>) -> Result<Vec<String>, (String, Option<String>)> {
    let mut lines = Vec::new();
    let credentials = match pass::sign_in(&t.auth) {
        SignIn::Direct(credentials) => credentials,
        SignIn::Installation(app) => {
            let mut app = client(t, app)?;
            let token = app.installation_token(&t.hook).await.map_err(|e| {
                let (msg, hint) = explain(&t.hook)(e);
                (
                    format!("cannot mint an installation token: {msg}"),
                    hint.or(Some("install the App on the hook's account, with \"Webhooks\" read and write".into())),
                )
            })?;
            lines.push("minted an installation token from the App's key".into());
            Credentials::Token(token)
        }
    };
    let mut c = client(t, credentials)?;
    let page = c.list_deliveries(&t.hook, None).await;
    *skew = c.stats().clock_skew.map(|s| s.num_seconds());
    let page = page.map_err(explain(&t.hook))?;
    lines.push(format!("can list deliveries: {} on the first page at {}", page.deliveries.len(), t.api_url));
    if let Some(s) = *skew {
        lines.push(skew_line(s));
    }
    if let Some(r) = &c.stats().rate_limit
        && let (Some(remaining), Some(limit)) = (r.remaining, r.limit)
    {
        lines.push(format!("rate limit: {remaining} of {limit} requests left"));
    }
    if let Some(v) = &t.variable {
        let vc = client(t, Credentials::Token(v.token.clone()))?;
        let mut var = ActionsVariable::new(vc, v.owner.clone(), v.repo.clone(), v.name.clone());
        match var.read().await {
            Ok(Some(at)) => lines.push(format!(
                "{}: last run {}",
                var.describe(),
                at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            )),
            Ok(None) => lines.push(format!(
                "{}: not there yet; the first run creates it (the token needs \"Variables\" write)",
                var.describe()
            )),
            Err(e) => return Err((format!("{}: {e}", var.describe()), e.hint())),
        }
    }
    lines.push("redelivery permission is not tested without redelivering: it needs the same write access".into());
    Ok(lines)
}

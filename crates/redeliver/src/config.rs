//! The one place that reads the environment, and the resolver that turns flags + environment +
//! defaults into one validated `RunSettings` (flags win over environment, environment over
//! defaults). Every problem is reported here, before any request.

use crate::cli::RunArgs;
use crate::exit::Failure;
use chrono::{DateTime, Duration, Utc};
use redeliver_core::github::{AppKey, HookTarget, Pace, VariableName};
use redeliver_core::plan::EventFilter;
use redeliver_core::policy::{Policy, parse_duration, parse_ladder, to_chrono};
use redeliver_core::secret::Secret;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use url::Url;

/// Environment variable names, the docs script's first.
pub mod names {
    pub const APP_ID: &str = "APP_ID";
    pub const PRIVATE_KEY: &str = "PRIVATE_KEY";
    pub const PRIVATE_KEY_PATH: &str = "PRIVATE_KEY_PATH";
    pub const TOKEN: &str = "TOKEN";
    pub const LAST_REDELIVERY_VARIABLE_NAME: &str = "LAST_REDELIVERY_VARIABLE_NAME";
    pub const HOSTNAME: &str = "HOSTNAME";
    pub const WORKFLOW_REPO: &str = "WORKFLOW_REPO";
    pub const WORKFLOW_REPO_NAME: &str = "WORKFLOW_REPO_NAME";
    pub const WORKFLOW_REPO_OWNER: &str = "WORKFLOW_REPO_OWNER";
    pub const GITHUB_REPOSITORY: &str = "GITHUB_REPOSITORY";
    pub const GITHUB_API_URL: &str = "GITHUB_API_URL";
    pub const REDELIVER_STATE: &str = "REDELIVER_STATE";
    pub const XDG_STATE_HOME: &str = "XDG_STATE_HOME";
    pub const HOME: &str = "HOME";
    pub const REPO_OWNER: &str = "REPO_OWNER";
    pub const REPO_NAME: &str = "REPO_NAME";
    pub const ORGANIZATION_NAME: &str = "ORGANIZATION_NAME";
    pub const HOOK_ID: &str = "HOOK_ID";
    pub const GITHUB_TOKEN: &str = "GITHUB_TOKEN";
    pub const GITHUB_ACTIONS: &str = "GITHUB_ACTIONS";
    pub const GITHUB_STEP_SUMMARY: &str = "GITHUB_STEP_SUMMARY";
}

/// A snapshot of the environment (tests build their own).
#[derive(Debug, Clone, Default)]
pub struct Env {
    vars: HashMap<String, String>,
    /// The machine's own host name, to tell a container's `HOSTNAME` from a GHES host.
    machine_hostname: Option<String>,
}

impl Env {
    pub fn from_process() -> Self {
        let machine_hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .or_else(|_| std::fs::read_to_string("/etc/hostname"))
            .ok()
            .map(|h| h.trim().to_string());
        Self { vars: std::env::vars().collect(), machine_hostname }
    }

    /// An environment made of these pairs only (the demo, tests).
    pub fn with(pairs: &[(&str, &str)], machine_hostname: Option<&str>) -> Self {
        Self {
            vars: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            machine_hostname: machine_hostname.map(str::to_string),
        }
    }

    /// A set, non-blank variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(|v| v.as_str()).filter(|v| !v.trim().is_empty())
    }

    pub fn state_path(&self, flag: Option<&Path>) -> PathBuf {
        flag.map(Path::to_path_buf).or_else(|| self.get(names::REDELIVER_STATE).map(PathBuf::from)).unwrap_or_else(
            || {
                redeliver_core::state::default_state_path(
                    self.get(names::XDG_STATE_HOME).map(Path::new),
                    self.get(names::HOME).map(Path::new),
                )
            },
        )
    }
}

/// Where the watermark lives besides the ledger.
#[derive(Debug)]
pub struct VariableSettings {
    pub name: VariableName,
    pub owner: String,
    pub repo: String,
    pub token: Secret,
}

/// How a target authenticates.
#[derive(Debug, Clone)]
pub enum Auth {
    /// The App's JWT: the app hook.
    App { app_id: String, key: AppKey },
    /// A personal access token (or any token): repository and organization hooks.
    Token(Secret),
    /// An installation token minted (and renewed) from the App's key, for the hook's owner.
    Installation { app_id: String, key: AppKey },
}

/// The knobs a target's passes run with; `defaults < file defaults < file target < flags`.
#[derive(Debug, Clone, Default)]
pub struct Knobs {
    pub lookback: Option<String>,
    pub overlap: Option<String>,
    pub ladder: Option<String>,
    pub max_attempts: Option<u32>,
    pub horizon: Option<String>,
    pub pace: Option<String>,
    pub max_wait: Option<String>,
    pub events: Vec<String>,
    pub exclude_events: Vec<String>,
}

impl Knobs {
    /// `self`, with every knob `over` sets replacing it.
    pub fn overlaid(&self, over: &Knobs) -> Knobs {
        Knobs {
            lookback: over.lookback.clone().or(self.lookback.clone()),
            overlap: over.overlap.clone().or(self.overlap.clone()),
            ladder: over.ladder.clone().or(self.ladder.clone()),
            max_attempts: over.max_attempts.or(self.max_attempts),
            horizon: over.horizon.clone().or(self.horizon.clone()),
            pace: over.pace.clone().or(self.pace.clone()),
            max_wait: over.max_wait.clone().or(self.max_wait.clone()),
            events: if over.events.is_empty() { self.events.clone() } else { over.events.clone() },
            exclude_events: if over.exclude_events.is_empty() {
                self.exclude_events.clone()
            } else {
                over.exclude_events.clone()
            },
        }
    }

    fn from_args(args: &RunArgs) -> Knobs {
        Knobs {
            lookback: args.lookback.clone(),
            overlap: args.overlap.clone(),
            ladder: args.ladder.clone(),
            max_attempts: args.max_attempts,
            horizon: args.horizon.clone(),
            pace: args.pace.clone(),
            max_wait: args.max_wait.clone(),
            events: args.event.clone(),
            exclude_events: args.exclude_event.clone(),
        }
    }
}

/// One hook to watch, validated.
#[derive(Debug)]
pub struct Target {
    /// Its name in the config file, or `app`, `repo` or `org` for the one from flags.
    pub name: String,
    pub hook: HookTarget,
    pub api_url: Url,
    /// Which input chose the API URL, for the summary and for debugging.
    pub api_url_source: &'static str,
    pub auth: Auth,
    pub policy: Policy,
    pub lookback: Duration,
    pub overlap: Duration,
    /// Gap between redelivery requests: fixed, or `auto` (adapts to GitHub's answers).
    pub pace: Pace,
    pub max_wait: std::time::Duration,
    pub retry_base: std::time::Duration,
    pub filter: EventFilter,
    pub variable: Option<VariableSettings>,
}

impl Target {
    /// The ledger's key for this target: one state file can serve several hooks and hosts.
    pub fn key(&self) -> String {
        let host = self.api_url.as_str().trim_end_matches('/');
        match (&self.hook, &self.auth) {
            (HookTarget::App, Auth::App { app_id, .. }) => format!("app:{app_id}@{host}"),
            (HookTarget::Repo { owner, repo, hook_id }, _) => format!("repo:{owner}/{repo}#{hook_id}@{host}"),
            (HookTarget::Org { org, hook_id }, _) => format!("org:{org}#{hook_id}@{host}"),
            (hook, _) => format!("{hook}@{host}"),
        }
    }

    pub fn describe(&self) -> String {
        match (&self.hook, &self.auth) {
            (HookTarget::App, Auth::App { app_id, .. }) => format!("app hook of App {app_id}"),
            (hook, _) => hook.to_string(),
        }
    }

    pub fn build(
        name: String,
        hook: HookTarget,
        api: (Url, &'static str),
        auth: Auth,
        knobs: &Knobs,
    ) -> Result<Target, Failure> {
        let (api_url, api_url_source) = api;
        let ghes = api_url.path().trim_end_matches('/').ends_with("/api/v3");
        let mut policy = if ghes { Policy::ghes() } else { Policy::github_com() };
        if let Some(ladder) = &knobs.ladder {
            policy.ladder = parse_ladder(ladder).map_err(|e| Failure::config(format!("ladder: {e}")))?;
        }
        if let Some(max) = knobs.max_attempts {
            if max == 0 {
                return Err(Failure::config("max attempts must be at least 1 (GitHub's own attempt counts as one)"));
            }
            policy.max_attempts = max;
        }
        if let Some(h) = &knobs.horizon {
            policy.horizon = duration("horizon", h)?;
        }
        Ok(Target {
            name,
            hook,
            api_url,
            api_url_source,
            auth,
            policy,
            lookback: duration("lookback", knobs.lookback.as_deref().unwrap_or("24h"))?,
            overlap: duration("overlap", knobs.overlap.as_deref().unwrap_or("5m"))?,
            pace: knobs.pace.as_deref().unwrap_or("1s").parse().map_err(|e| Failure::config(format!("pace: {e}")))?,
            max_wait: std_duration("max wait", knobs.max_wait.as_deref().unwrap_or("15m"))?,
            retry_base: std::time::Duration::from_secs(1),
            filter: EventFilter { include: patterns(&knobs.events)?, exclude: patterns(&knobs.exclude_events)? },
            variable: None,
        })
    }
}

/// What narrows or changes one run of passes, the same for every target.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub max_redeliveries: Option<usize>,
    pub dry_run: bool,
    pub json: bool,
}

/// Everything `run` needs, validated.
#[derive(Debug)]
pub struct RunSettings {
    pub targets: Vec<Target>,
    pub state_path: PathBuf,
    pub options: RunOptions,
    /// `$GITHUB_STEP_SUMMARY` when running under GitHub Actions.
    pub actions: Option<ActionsEnv>,
    /// Daemon and notification settings from the config file (flags may override).
    pub file: crate::config_file::FileSettings,
}

/// Running inside a GitHub Actions job (`GITHUB_ACTIONS=true`).
#[derive(Debug, Clone)]
pub struct ActionsEnv {
    pub step_summary: Option<PathBuf>,
}

pub fn resolve_run(args: &RunArgs, env: &Env, now: DateTime<Utc>) -> Result<RunSettings, Failure> {
    let since = args.since.as_deref().map(|s| instant("--since", s, now)).transpose()?;
    let until = args.until.as_deref().map(|s| instant("--until", s, now)).transpose()?;
    if let (Some(s), Some(u)) = (since, until)
        && u < s
    {
        return Err(Failure::config(format!("--until ({u}) is before --since ({s})")));
    }
    let flags = Knobs::from_args(args);
    let (targets, file) = match &args.config {
        Some(path) => {
            let file = crate::config_file::load(path)?;
            let targets = file.targets(env, &flags)?;
            (targets, file.settings)
        }
        None => (vec![flag_target(args, env, &flags)?], crate::config_file::FileSettings::default()),
    };
    let state_path = match (&args.state, &file.state) {
        (Some(flag), _) => flag.clone(),
        (None, Some(from_file)) if env.get(names::REDELIVER_STATE).is_none() => from_file.clone(),
        _ => env.state_path(None),
    };
    let actions = (env.get(names::GITHUB_ACTIONS) == Some("true"))
        .then(|| ActionsEnv { step_summary: env.get(names::GITHUB_STEP_SUMMARY).map(PathBuf::from) });
    Ok(RunSettings {
        targets,
        state_path,
        options: RunOptions {
            since,
            until,
            max_redeliveries: args.max_redeliveries,
            dry_run: args.dry_run,
            json: args.json,
        },
        actions,
        file,
    })
}

/// The one target the flags and environment describe: the App hook (the docs script's
/// `APP_ID`/`PRIVATE_KEY`), or a repository or organization hook (the repository and
/// organization docs scripts' `REPO_OWNER`/`REPO_NAME`/`HOOK_ID` or `ORGANIZATION_NAME`/`HOOK_ID`, with `TOKEN`).
fn flag_target(args: &RunArgs, env: &Env, knobs: &Knobs) -> Result<Target, Failure> {
    let api = api_url(args.api_url.as_deref(), env)?;
    let hook_id = || -> Result<u64, Failure> {
        let text = args.hook_id.map(|h| h.to_string()).or(env.get(names::HOOK_ID).map(str::to_string));
        let text = text.ok_or_else(|| Failure::config("a repository or organization hook needs its id: --hook-id or HOOK_ID (the number in the hook's settings URL)"))?;
        text.trim().parse().map_err(|_| Failure::config(format!("HOOK_ID '{text}' is not a number")))
    };
    let repo = args.repo.clone().or_else(|| match (env.get(names::REPO_OWNER), env.get(names::REPO_NAME)) {
        (Some(o), Some(r)) => Some(format!("{}/{}", o.trim(), r.trim())),
        _ => None,
    });
    let org = args.org.clone().or(env.get(names::ORGANIZATION_NAME).map(|o| o.trim().to_string()));
    let (name, hook, auth) = match (repo, org) {
        (Some(_), Some(_)) => {
            return Err(Failure::config("give either a repository (--repo) or an organization (--org), not both"));
        }
        (Some(full), None) => {
            let (owner, repo) = split_repo(&full, "--repo")?;
            ("repo", HookTarget::Repo { owner, repo, hook_id: hook_id()? }, token_auth(env)?)
        }
        (None, Some(org)) => ("org", HookTarget::Org { org, hook_id: hook_id()? }, token_auth(env)?),
        (None, None) => {
            let app_id = app_id(args.app_id.as_deref().or(env.get(names::APP_ID)))?;
            let key = private_key(args.private_key_file.as_deref(), env)?;
            ("app", HookTarget::App, Auth::App { app_id, key })
        }
    };
    let mut target = Target::build(name.to_string(), hook, api, auth, knobs)?;
    target.variable = variable(args, env)?;
    Ok(target)
}

/// A repository or organization hook's token: `TOKEN` (the docs scripts), else `GITHUB_TOKEN`.
fn token_auth(env: &Env) -> Result<Auth, Failure> {
    env.get(names::TOKEN)
        .or(env.get(names::GITHUB_TOKEN))
        .map(|t| Auth::Token(Secret::new(t.trim())))
        .ok_or_else(|| Failure::config("a repository or organization hook is read with a token: set TOKEN (or GITHUB_TOKEN) to a token that can read and redeliver the hook's deliveries (fine-grained: \"Webhooks\" read and write; classic: admin:repo_hook or admin:org_hook)"))
}

/// `--api-url` wins; then the docs script's `HOSTNAME`; then Actions' `GITHUB_API_URL`; then github.com.
///
/// Shells and container runtimes export `HOSTNAME` as the machine's own name, so it is taken
/// as a GitHub host only when it is not the machine's name and looks like one: it has a scheme,
/// a dot (`ghe.example.com`, `10.0.0.5`) or a port. Anything else is ignored, with a debug log.
pub fn api_url(flag: Option<&str>, env: &Env) -> Result<(Url, &'static str), Failure> {
    if let Some(flag) = flag {
        return Ok((parse_api_url(flag, "--api-url")?, "--api-url"));
    }
    if let Some(host) = env.get(names::HOSTNAME).map(str::trim) {
        let is_machine = env.machine_hostname.as_deref() == Some(host);
        let looks_like_host = host.contains("://") || host.contains('.') || host.contains(':');
        if !is_machine && looks_like_host {
            return Ok((hostname_url(host)?, "HOSTNAME"));
        }
        tracing::debug!(hostname = host, "ignoring HOSTNAME: it names this machine or container, not a GitHub host");
    }
    if let Some(url) = env.get(names::GITHUB_API_URL) {
        return Ok((parse_api_url(url, names::GITHUB_API_URL)?, "GITHUB_API_URL"));
    }
    Ok((Url::parse("https://api.github.com").expect("static URL"), "default"))
}

/// The docs script's rule: a bare host means `https://HOST/api/v3`; `github.com` means the public API.
fn hostname_url(host: &str) -> Result<Url, Failure> {
    let (scheme, rest) = host.split_once("://").unwrap_or(("https", host));
    let rest = rest.trim_end_matches('/');
    if rest.eq_ignore_ascii_case("github.com") || rest.eq_ignore_ascii_case("api.github.com") {
        return Ok(Url::parse("https://api.github.com").expect("static URL"));
    }
    let with_path = if rest.contains('/') { rest.to_string() } else { format!("{rest}/api/v3") };
    parse_api_url(&format!("{scheme}://{with_path}"), names::HOSTNAME)
}

pub fn parse_api_url(text: &str, source: &str) -> Result<Url, Failure> {
    let bad = |why: &str| {
        Failure::config(format!(
            "{source} '{text}' is not a usable API URL ({why}): write e.g. https://api.github.com or https://ghe.example.com/api/v3"
        ))
    };
    let url = Url::parse(text.trim()).map_err(|e| bad(&e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("the scheme must be https or http"));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("it has no host"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("it must not have a query or fragment"));
    }
    // Keep the path prefix (GHES's /api/v3) without a trailing slash; paths are appended to it.
    let mut url = url;
    let path = url.path().trim_end_matches('/').to_string();
    url.set_path(&path);
    Ok(url)
}

pub fn app_id(value: Option<&str>) -> Result<String, Failure> {
    let Some(id) = value.map(str::trim) else {
        return Err(Failure::config(
            "no App id: set APP_ID or --app-id to the App ID (or client ID) shown on the GitHub App's settings page",
        ));
    };
    let numeric = id.parse::<u64>().is_ok_and(|n| n > 0);
    let client_id = id.starts_with("Iv") && id.len() > 3 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '.');
    if numeric || client_id {
        Ok(id.to_string())
    } else {
        Err(Failure::config(format!(
            "APP_ID '{id}' is neither a numeric App ID nor a client ID (Iv1.… or Iv23…): copy the App ID from the GitHub App's settings page"
        )))
    }
}

fn private_key(file: Option<&Path>, env: &Env) -> Result<AppKey, Failure> {
    let from_file = file.map(Path::to_path_buf).or_else(|| env.get(names::PRIVATE_KEY_PATH).map(PathBuf::from));
    match (from_file, env.get(names::PRIVATE_KEY)) {
        (Some(path), _) => key_from_file(&path, "--private-key-file (or PRIVATE_KEY_PATH)"),
        (None, Some(text)) => key_from_text(text, "PRIVATE_KEY"),
        (None, None) => Err(Failure::config(
            "no private key: set PRIVATE_KEY to the PEM text, or --private-key-file / PRIVATE_KEY_PATH to the .pem file, of a key generated on the App's settings page",
        )),
    }
}

pub fn key_from_file(path: &Path, setting: &str) -> Result<AppKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Failure::config(format!(
            "cannot read the private key file {}: {e}; point {setting} at the .pem file downloaded from the App's settings page",
            path.display()
        ))
    })?;
    key_from_text(&text, &format!("the private key file {}", path.display()))
}

pub fn key_from_text(text: &str, source: &str) -> Result<AppKey, Failure> {
    AppKey::from_pem(text).map_err(|e| Failure::config(format!("{source}: {e}")))
}

fn variable(args: &RunArgs, env: &Env) -> Result<Option<VariableSettings>, Failure> {
    let Some(name) = args.variable.as_deref().or(env.get(names::LAST_REDELIVERY_VARIABLE_NAME)) else {
        return Ok(None);
    };
    let name: VariableName =
        name.trim().parse().map_err(|e| Failure::config(format!("LAST_REDELIVERY_VARIABLE_NAME: {e}")))?;
    let (owner, repo) = match args.variable_repo.as_deref() {
        Some(full) => split_repo(full, "--variable-repo")?,
        None => match (
            env.get(names::WORKFLOW_REPO_OWNER),
            env.get(names::WORKFLOW_REPO).or(env.get(names::WORKFLOW_REPO_NAME)),
            env.get(names::GITHUB_REPOSITORY),
        ) {
            (Some(owner), Some(repo), _) => (owner.trim().to_string(), repo.trim().to_string()),
            (_, _, Some(full)) => split_repo(full, names::GITHUB_REPOSITORY)?,
            _ => {
                return Err(Failure::config(
                    "the Actions variable needs its repository: set WORKFLOW_REPO_OWNER and WORKFLOW_REPO (as the docs workflow does), GITHUB_REPOSITORY=owner/repo, or --variable-repo owner/repo",
                ));
            }
        },
    };
    let token = env.get(names::TOKEN).ok_or_else(|| {
        Failure::config(
            "LAST_REDELIVERY_VARIABLE_NAME is set but TOKEN is not: the variable is read and written with a token that can write repository variables (fine-grained: \"Variables\" read and write; classic: repo scope)",
        )
    })?;
    Ok(Some(VariableSettings { name, owner, repo, token: Secret::new(token.trim()) }))
}

pub fn split_repo(full: &str, source: &str) -> Result<(String, String), Failure> {
    match full.trim().split_once('/') {
        Some((o, r)) if !o.is_empty() && !r.is_empty() && !r.contains('/') => Ok((o.to_string(), r.to_string())),
        _ => Err(Failure::config(format!("{source} '{full}' is not OWNER/REPO"))),
    }
}

pub fn patterns(values: &[String]) -> Result<Vec<String>, Failure> {
    values
        .iter()
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(|v| {
            let ok = v.split('.').count() <= 2
                && v.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            if ok {
                Ok(v.to_string())
            } else {
                Err(Failure::config(format!(
                    "event filter '{v}' is not `event` or `event.action` (e.g. pull_request or pull_request.opened)"
                )))
            }
        })
        .collect()
}

fn duration(flag: &str, text: &str) -> Result<Duration, Failure> {
    std_duration(flag, text).map(to_chrono)
}

/// A duration in the one grammar of [`parse_duration`] (`250ms`, `90s`, `1h30m` ...).
pub fn std_duration(flag: &str, text: &str) -> Result<std::time::Duration, Failure> {
    parse_duration(text).map_err(|e| Failure::config(format!("{flag}: '{text}' is {e}")))
}

/// An RFC 3339 time, or an age such as `6h` meaning that long before `now`.
fn instant(flag: &str, text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, Failure> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    parse_duration(text).map(|age| now - to_chrono(age)).map_err(|_| {
        Failure::config(format!("{flag} '{text}' is neither an RFC 3339 time (2026-11-28T09:00:00Z) nor an age (6h)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_of(pairs: &[(&str, &str)], flag: Option<&str>) -> String {
        api_url(flag, &Env::with(pairs, Some("runner-7f3a")))
            .map(|(u, _)| u.to_string())
            .unwrap_or_else(|f| format!("ERR {}", f.error))
    }

    #[test]
    fn api_url_precedence_and_the_hostname_trap() {
        assert_eq!(url_of(&[], None), "https://api.github.com/");
        assert_eq!(url_of(&[("GITHUB_API_URL", "https://ghe.corp/api/v3")], None), "https://ghe.corp/api/v3");
        assert_eq!(
            url_of(&[("HOSTNAME", "ghe.corp"), ("GITHUB_API_URL", "https://x.y/api/v3")], None),
            "https://ghe.corp/api/v3"
        );
        assert_eq!(url_of(&[("HOSTNAME", "github.com")], None), "https://api.github.com/");
        assert_eq!(url_of(&[("HOSTNAME", "http://127.0.0.1:8080")], None), "http://127.0.0.1:8080/api/v3");
        assert_eq!(url_of(&[("HOSTNAME", "ghe.corp")], Some("http://127.0.0.1:1/")), "http://127.0.0.1:1/");
        // Container names and the machine's own name are not GitHub hosts.
        assert_eq!(url_of(&[("HOSTNAME", "3f2a9c0d1e4b")], None), "https://api.github.com/");
        assert_eq!(url_of(&[("HOSTNAME", "runner-7f3a")], None), "https://api.github.com/");
        assert_eq!(
            url_of(&[("HOSTNAME", "YOUR_HOSTNAME"), ("GITHUB_API_URL", "https://api.github.com")], None),
            "https://api.github.com/"
        );
        assert!(url_of(&[], Some("ftp://x")).starts_with("ERR --api-url 'ftp://x' is not a usable API URL"));
        assert!(url_of(&[], Some("not a url")).contains("is not a usable API URL"));
    }

    #[test]
    fn app_ids_are_numeric_or_client_ids() {
        assert_eq!(app_id(Some(" 12345 ")).unwrap(), "12345");
        assert_eq!(app_id(Some("Iv23liAbC")).unwrap(), "Iv23liAbC");
        assert!(app_id(Some("my-app")).unwrap_err().error.to_string().contains("neither a numeric App ID"));
        assert!(app_id(None).unwrap_err().error.to_string().contains("no App id"));
        assert!(app_id(Some("0")).is_err());
    }

    #[test]
    fn the_variable_needs_a_valid_name_a_repository_and_a_token() {
        let args = RunArgs::default();
        let ok = Env::with(
            &[
                ("LAST_REDELIVERY_VARIABLE_NAME", "LAST_RUN"),
                ("WORKFLOW_REPO_OWNER", "o"),
                ("WORKFLOW_REPO", "r"),
                ("TOKEN", "t"),
            ],
            None,
        );
        let v = variable(&args, &ok).unwrap().unwrap();
        assert_eq!((v.owner.as_str(), v.repo.as_str()), ("o", "r"));
        let actions = Env::with(
            &[("LAST_REDELIVERY_VARIABLE_NAME", "LAST_RUN"), ("GITHUB_REPOSITORY", "org/tools"), ("TOKEN", "t")],
            None,
        );
        assert_eq!(variable(&args, &actions).unwrap().unwrap().repo, "tools");
        let err = |pairs: &[(&str, &str)]| variable(&args, &Env::with(pairs, None)).unwrap_err().error.to_string();
        assert!(
            err(&[("LAST_REDELIVERY_VARIABLE_NAME", "GITHUB_X"), ("GITHUB_REPOSITORY", "o/r"), ("TOKEN", "t")])
                .contains("GITHUB_")
        );
        assert!(err(&[("LAST_REDELIVERY_VARIABLE_NAME", "OK"), ("TOKEN", "t")]).contains("needs its repository"));
        assert!(err(&[("LAST_REDELIVERY_VARIABLE_NAME", "OK"), ("GITHUB_REPOSITORY", "o/r")]).contains("TOKEN is not"));
        assert!(variable(&args, &Env::default()).unwrap().is_none());
    }

    #[test]
    fn times_and_filters() {
        let now: DateTime<Utc> = "2026-11-28T12:00:00Z".parse().unwrap();
        assert_eq!(instant("--since", "6h", now).unwrap(), now - Duration::hours(6));
        assert_eq!(
            instant("--since", "2026-11-28T09:00:00+01:00", now).unwrap(),
            "2026-11-28T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert!(instant("--since", "yesterday", now).is_err());
        assert_eq!(patterns(&["push".into(), "pull_request.opened".into()]).unwrap().len(), 2);
        assert!(patterns(&["a.b.c".into()]).is_err());
    }
}

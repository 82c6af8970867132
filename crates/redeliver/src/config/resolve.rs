//! The resolver: flags, environment, config file and defaults become one validated settings
//! value per command ([`RunSettings`] for `run`, `check` and the demo, [`WatchSettings`] for
//! `watch`), with one fixed precedence, `flags > environment > config file > defaults`:
//!
//! | setting | flag | environment | config file | default |
//! |---|---|---|---|---|
//! | state file | `--state` | `REDELIVER_STATE` | `state` | XDG state dir |
//! | PostgreSQL state's password | — | `PGPASSWORD`, `REDELIVER_STATE_PASSWORD_FILE` | `state_password_file` | none |
//! | PostgreSQL state's TLS (under the URL's `sslmode`, `sslrootcert`) | — | `PGSSLMODE`, `PGSSLROOTCERT` | — | `prefer`, no root file |
//! | lease (PostgreSQL state) | `--lease` | — | `lease` | `30s` (`watch`: or twice the interval, if longer) |
//! | audit history kept | `--keep-history` | — | `keep_history` | `30d` |
//! | archive of failed events | `--no-archive`, `--archive-max-payload`, `--archive-max-total` | — | `archive`, `archive_max_payload`, `archive_max_total` | on, 1 MiB, 256 MiB |
//! | policy knobs (`--ladder` …) | yes | — | the target's table, then `[defaults]` | [`Policy`] |
//! | interval, listen, notify | `watch`'s flags | — | top-level keys | `1m`, `127.0.0.1:9187`, none |
//! | one target's hook, host, credentials | yes | the docs scripts' variables | a `[[target]]` | the App hook, github.com |
//!
//! A config file's target is a whole identity: flags and environment do not patch its hook, host
//! or credentials (its `api_url` wins over `HOSTNAME`); with `--config`, flags still set the knobs,
//! the state and the run's options. Every problem is reported here, before any request.

use super::env::{Env, names};
use super::file::{self, ConfigFile, FileTarget, Kind};
use super::values::{api_url, app_id, key_from_file, key_from_text, parse_api_url, patterns, split_repo};
use super::{
    ActionsEnv, Auth, DirectSettings, Discovery, FleetSettings, Knobs, Listen, NotifySettings, RunOptions, RunSettings,
    Target, VariableSettings, WatchSettings,
};
use crate::cli::{RunArgs, WatchArgs};
use crate::exit::Failure;
use chrono::{DateTime, Utc};
use redeliver_core::github::{AppKey, CaBundle, HookTarget, Pace, PageLimits, VariableName};
use redeliver_core::plan::EventFilter;
use redeliver_core::policy::{Policy, to_chrono};
use redeliver_core::secret::Secret;
use redeliver_core::state::ArchiveLimits;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// How far the first run looks back when nothing is stored.
pub const DEFAULT_LOOKBACK: Duration = Duration::from_secs(24 * 3_600);
/// How far before the previous run's start the next one looks again.
pub const DEFAULT_OVERLAP: Duration = Duration::from_secs(5 * 60);
/// Longest rate-limit wait before a pass stops.
pub const DEFAULT_MAX_WAIT: Duration = Duration::from_secs(15 * 60);
/// `watch`'s time between polls.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);
/// The share of each credential's rate limit `watch` spends on discovered hooks.
pub const DEFAULT_BUDGET_SHARE: f64 = 0.5;
/// How often an organization's repositories and hooks are listed again.
pub const DEFAULT_REFRESH: Duration = Duration::from_secs(3600);
/// Where `watch` serves its status page.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9187";

/// `run`'s and `check`'s settings (the config file, if any, read from `--config`).
pub fn resolve_run(args: &RunArgs, env: &Env, now: DateTime<Utc>) -> Result<RunSettings, Failure> {
    let file = args.target.config.as_deref().map(file::load).transpose()?;
    let settings = run_settings(args, env, file.as_ref(), now)?;
    if let Some(d) = settings.discovery.first() {
        return Err(Failure::config(format!(
            "target \"{}\" is kind = \"org-repo-hooks\": its hooks are discovered and polled by `redeliver watch`",
            d.name
        )));
    }
    Ok(settings)
}

/// `watch`'s settings: `run`'s, plus the interval, the listen address and notifications.
pub fn resolve_watch(args: &WatchArgs, env: &Env, now: DateTime<Utc>) -> Result<WatchSettings, Failure> {
    let file = args.target.config.as_deref().map(file::load).transpose()?;
    watch_settings(args, env, file.as_ref(), now)
}

pub(super) fn run_settings(
    args: &RunArgs,
    env: &Env,
    file: Option<&ConfigFile>,
    now: DateTime<Utc>,
) -> Result<RunSettings, Failure> {
    let since = args.since.map(|w| w.at(now));
    let until = args.until.map(|w| w.at(now));
    if let (Some(s), Some(u)) = (since, until)
        && u < s
    {
        let second = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Err(Failure::config(format!("--until ({}) is before --since ({})", second(u), second(s))));
    }
    let flags = flag_knobs(args);
    let (mut targets, mut discovery) = match file {
        Some(file) => file_targets(file, env, &flags)?,
        None => (vec![flag_target(args, env, &flags)?], Vec::new()),
    };
    let (ca, paging) = transport(args, file)?;
    for t in targets.iter_mut().chain(discovery.iter_mut().map(|d| &mut d.template)) {
        t.ca = ca.clone();
        t.paging = paging;
    }
    let state_path = match (&args.state.state, env.get(names::REDELIVER_STATE), file.and_then(|f| f.state.as_ref())) {
        (Some(flag), _, _) => flag.clone(),
        (None, Some(var), _) => PathBuf::from(var),
        (None, None, Some(from_file)) => from_file.clone(),
        (None, None, None) => env.state_path(None),
    };
    // PostgreSQL state (issue 13).
    let password = env.state_password(file.and_then(|f| f.state_password_file.as_deref()))?;
    let state = redeliver_core::state::StateLocation::parse_with(&state_path, password.as_ref(), &env.pg_tls())?;
    let lease = lease::explicit(args, file).unwrap_or(DEFAULT_LEASE);
    lease::check(lease, &state)?;
    let actions = (env.get(names::GITHUB_ACTIONS) == Some("true"))
        .then(|| ActionsEnv { step_summary: env.get(names::GITHUB_STEP_SUMMARY).map(PathBuf::from) });
    let notify = NotifySettings {
        url: file.and_then(|f| f.notify_url.clone()),
        command: file.and_then(|f| f.notify_command.clone()),
    };
    Ok(RunSettings {
        targets,
        discovery,
        state,
        lease,
        options: RunOptions {
            since,
            until,
            max_redeliveries: args.policy.max_redeliveries,
            keep_history: args.state.keep_history.or(file.and_then(|f| f.keep_history)).map(to_chrono),
            dry_run: args.dry_run,
            json: args.json,
            archive: if args.state.no_archive { Some(false) } else { file.and_then(|f| f.archive) },
            archive_limits: archive_limits(args, file),
        },
        actions,
        notify,
    })
}

/// How long a lease lasts unless renewed: a replica that stops renewing (killed, frozen, cut
/// off) hands its targets over after at most this much (plus one interval).
pub const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(30);

// --- Lease (issue 13): `--lease`, its precedence and its bounds ---
mod lease {
    use super::{ConfigFile, DEFAULT_LEASE, Failure, RunArgs};
    use redeliver_core::state::StateLocation;
    use std::time::Duration;

    /// The shortest lease: each fenced write renews it, and one that lapses between two writes of
    /// the same pass refuses the second although nobody else took the target.
    const MIN_LEASE: Duration = Duration::from_secs(1);

    /// The lease the user asked for: the flag, else the config file's `lease`.
    pub fn explicit(args: &RunArgs, file: Option<&ConfigFile>) -> Option<Duration> {
        args.state.lease.or(file.and_then(|f| f.lease))
    }

    /// A lease means something on a PostgreSQL state only; there it must be at least a second.
    pub fn check(lease: Duration, state: &StateLocation) -> Result<(), Failure> {
        if matches!(state, StateLocation::Postgres(_)) && lease < MIN_LEASE {
            return Err(Failure::config(format!(
                "the lease ({}) must be at least {}: every write before a POST renews it, and a shorter \
                 one lapses between two of them (`--lease` or `lease` in the config file)",
                shown(lease),
                shown(MIN_LEASE)
            )));
        }
        Ok(())
    }

    /// `watch`'s lease: a replica renews its leases once a round (`interval` ±10 %, plus the
    /// polls), so one shorter than two intervals lapses between rounds and the targets change
    /// hands every round. The default grows to two intervals; a lease asked for that is shorter
    /// is refused on a PostgreSQL state.
    pub fn for_watch(
        explicit: Option<Duration>,
        interval: Duration,
        state: &StateLocation,
    ) -> Result<Duration, Failure> {
        let floor = interval.saturating_mul(2);
        let Some(lease) = explicit else { return Ok(DEFAULT_LEASE.max(floor)) };
        if matches!(state, StateLocation::Postgres(_)) && lease < floor {
            return Err(Failure::config(format!(
                "the lease ({}) must be at least twice the interval ({}): a replica renews its leases once \
                 a round, so a shorter one lapses between rounds and the targets change hands every round \
                 (`--lease` or `lease` in the config file)",
                shown(lease),
                shown(interval)
            )));
        }
        Ok(lease)
    }

    /// A duration as the flags write it (`1500ms`, `30s`).
    fn shown(d: Duration) -> String {
        if d.subsec_millis() == 0 { format!("{}s", d.as_secs()) } else { format!("{}ms", d.as_millis()) }
    }
}
// --- end of lease ---

/// The archive's caps: the flags', else the config file's, else the defaults.
fn archive_limits(args: &RunArgs, file: Option<&ConfigFile>) -> ArchiveLimits {
    let d = ArchiveLimits::default();
    ArchiveLimits {
        max_payload: args
            .state
            .archive_max_payload
            .or(file.and_then(|f| f.archive_max_payload))
            .unwrap_or(d.max_payload),
        max_total: args.state.archive_max_total.or(file.and_then(|f| f.archive_max_total)).unwrap_or(d.max_total),
    }
}

pub(super) fn watch_settings(
    args: &WatchArgs,
    env: &Env,
    file: Option<&ConfigFile>,
    now: DateTime<Utc>,
) -> Result<WatchSettings, Failure> {
    let mut run = run_settings(&args.run_args(), env, file, now)?;
    let interval = args.interval.or(file.and_then(|f| f.interval)).unwrap_or(DEFAULT_INTERVAL);
    if interval.is_zero() {
        return Err(Failure::config("the interval must be more than zero (`interval` in the config file)"));
    }
    let listen = match args.listen.as_deref().or(file.and_then(|f| f.listen.as_deref())).unwrap_or(DEFAULT_LISTEN) {
        "off" => Listen::Off,
        address => Listen::At(address.to_string()),
    };
    run.notify = NotifySettings {
        url: args.notify_url.clone().or(run.notify.url),
        command: args.notify_command.clone().or(run.notify.command),
    };
    let allow_hosts = if args.allow_hosts.is_empty() {
        file.and_then(|f| f.allow_hosts.clone()).unwrap_or_default()
    } else {
        args.allow_hosts.clone()
    };
    let fleet = FleetSettings {
        budget_share: file.and_then(|f| f.budget_share).unwrap_or(DEFAULT_BUDGET_SHARE),
        max_interval: file
            .and_then(|f| f.max_interval)
            .unwrap_or(redeliver_core::schedule::DEFAULT_MAX_INTERVAL)
            .max(interval),
    };
    run.lease = lease::for_watch(lease::explicit(&args.run_args(), file), interval, &run.state)?;
    Ok(WatchSettings { run, interval, listen, allow_hosts, fleet })
}

/// What every target's connection shares: extra CA certificates (read and checked here, so a bad
/// file is a configuration error naming it) and the bounds of a listing.
fn transport(args: &RunArgs, file: Option<&ConfigFile>) -> Result<(Option<CaBundle>, PageLimits), Failure> {
    let ca = match (&args.target.ca_cert, file.and_then(|f| f.ca_cert.as_ref())) {
        (Some(path), _) => Some(CaBundle::load(path).map_err(|e| Failure::config(format!("--ca-cert: {e}")))?),
        (None, Some(path)) => Some(CaBundle::load(path).map_err(|e| Failure::config(format!("ca_cert: {e}")))?),
        (None, None) => None,
    };
    let defaults = PageLimits::default();
    let deadline = args.policy.list_deadline.or(file.and_then(|f| f.list_deadline)).unwrap_or(defaults.deadline);
    if deadline.is_zero() {
        return Err(Failure::config("the list deadline must be more than zero (`list_deadline` in the config file)"));
    }
    let max_pages = args.policy.max_pages.or(file.and_then(|f| f.max_pages)).unwrap_or(defaults.max_pages);
    Ok((ca, PageLimits { max_pages, deadline }))
}

fn flag_knobs(args: &RunArgs) -> Knobs {
    Knobs {
        lookback: args.policy.lookback,
        overlap: args.policy.overlap,
        ladder: args.policy.ladder.clone(),
        max_attempts: args.policy.max_attempts,
        horizon: args.policy.horizon,
        pace: args.policy.pace,
        max_wait: args.policy.max_wait,
        events: args.policy.event.clone(),
        exclude_events: args.policy.exclude_event.clone(),
        // Outage-aware recovery (issue 11).
        outage_awareness: args.outage.no_outage_awareness.then_some(false),
        probe_interval: args.outage.probe_interval,
        max_probe_interval: args.outage.max_probe_interval,
        down_after: args.outage.down_after,
        priority: args.outage.priority.clone(),
        drain_rate: args.outage.drain_rate,
    }
}

/// A target from its identity and its stacked knobs; whatever no layer set takes its default.
fn target(
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
        policy.ladder = ladder.0.clone();
    }
    if let Some(max) = knobs.max_attempts {
        if max == 0 {
            return Err(Failure::config("max attempts must be at least 1 (GitHub's own attempt counts as one)"));
        }
        policy.max_attempts = max;
    }
    if let Some(horizon) = knobs.horizon {
        policy.horizon = to_chrono(horizon);
    }
    Ok(Target {
        name,
        hook,
        api_url,
        api_url_source,
        auth,
        policy,
        lookback: to_chrono(knobs.lookback.unwrap_or(DEFAULT_LOOKBACK)),
        overlap: to_chrono(knobs.overlap.unwrap_or(DEFAULT_OVERLAP)),
        pace: knobs.pace.unwrap_or(Pace::DEFAULT),
        max_wait: knobs.max_wait.unwrap_or(DEFAULT_MAX_WAIT),
        retry_base: Duration::from_secs(1),
        filter: EventFilter { include: patterns(&knobs.events)?, exclude: patterns(&knobs.exclude_events)? },
        variable: None,
        ca: None,
        paging: PageLimits::default(),
        outage: super::outage::settings(knobs)?,
        direct: Default::default(),
    })
}

/// The one target the flags and environment describe: the App hook (the docs script's
/// `APP_ID`/`PRIVATE_KEY`), or a repository or organization hook (the repository and
/// organization docs scripts' `REPO_OWNER`/`REPO_NAME`/`HOOK_ID` or `ORGANIZATION_NAME`/`HOOK_ID`, with `TOKEN`).
fn flag_target(args: &RunArgs, env: &Env, knobs: &Knobs) -> Result<Target, Failure> {
    let api = api_url(args.target.api_url.as_deref(), env)?;
    let hook_id = || -> Result<u64, Failure> {
        let text = args.target.hook_id.map(|h| h.to_string()).or(env.get(names::HOOK_ID).map(str::to_string));
        let text = text.ok_or_else(|| Failure::config("a repository or organization hook needs its id: --hook-id or HOOK_ID (the number in the hook's settings URL)"))?;
        text.trim().parse().map_err(|_| Failure::config(format!("HOOK_ID '{text}' is not a number")))
    };
    let repo = args.target.repo.clone().or_else(|| match (env.get(names::REPO_OWNER), env.get(names::REPO_NAME)) {
        (Some(o), Some(r)) => Some(format!("{}/{}", o.trim(), r.trim())),
        _ => None,
    });
    let org = args.target.org.clone().or(env.get(names::ORGANIZATION_NAME).map(|o| o.trim().to_string()));
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
            let app_id = match (args.target.app_id.as_deref(), env.get(names::APP_ID)) {
                (Some(flag), _) => app_id(Some(flag), "--app-id")?,
                (None, Some(var)) => app_id(Some(var), names::APP_ID)?,
                (None, None) => app_id(None, "APP_ID or --app-id")?,
            };
            let key = private_key(args.target.private_key_file.as_deref(), env)?;
            ("app", HookTarget::App, Auth::App { app_id, key })
        }
    };
    let mut target = target(name.to_string(), hook, api, auth, knobs)?;
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

fn private_key(file: Option<&Path>, env: &Env) -> Result<AppKey, Failure> {
    // Each error names the setting the key came from, not the one it might have.
    let from_file = file
        .map(|f| (f.to_path_buf(), "--private-key-file"))
        .or_else(|| env.get(names::PRIVATE_KEY_PATH).map(|p| (PathBuf::from(p), names::PRIVATE_KEY_PATH)));
    match (from_file, env.get(names::PRIVATE_KEY)) {
        (Some((path, setting)), _) => key_from_file(&path, setting),
        (None, Some(text)) => key_from_text(text, names::PRIVATE_KEY),
        (None, None) => Err(Failure::config(
            "no private key: set PRIVATE_KEY to the PEM text, or --private-key-file / PRIVATE_KEY_PATH to the .pem file, of a key generated on the App's settings page",
        )),
    }
}

fn variable(args: &RunArgs, env: &Env) -> Result<Option<VariableSettings>, Failure> {
    let Some(name) = args.variable.variable.as_deref().or(env.get(names::LAST_REDELIVERY_VARIABLE_NAME)) else {
        return Ok(None);
    };
    let name: VariableName =
        name.trim().parse().map_err(|e| Failure::config(format!("LAST_REDELIVERY_VARIABLE_NAME: {e}")))?;
    let (owner, repo) = match args.variable.variable_repo.as_deref() {
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

/// `token_env` and `private_key_env` name a variable; a token or a key written there by mistake
/// must not be echoed back in "… is not set".
fn refuse_a_secret(var: &str, key: &str, path: &Path, place: &str) -> Result<(), Failure> {
    const SECRET_SHAPES: [&str; 7] = ["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_", "-----BEGIN"];
    let name = !var.is_empty() && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if name && !SECRET_SHAPES.iter().any(|p| var.starts_with(p)) {
        return Ok(());
    }
    Err(fail(
        path,
        format!("{place}: {key} must name an environment variable (such as INFRA_TOKEN), not hold the secret itself"),
    ))
}

fn fail(path: &Path, what: impl std::fmt::Display) -> Failure {
    Failure::config(format!("{}: {what}", path.display()))
}

/// Every target of a config file: credentials read, knobs stacked, duplicates refused; the
/// discovery targets apart.
fn file_targets(file: &ConfigFile, env: &Env, flags: &Knobs) -> Result<(Vec<Target>, Vec<Discovery>), Failure> {
    let mut names = HashSet::new();
    let mut hooks = HashSet::new();
    let mut out = Vec::new();
    let mut discovery = Vec::new();
    for t in &file.target {
        let place = format!("target \"{}\"", t.name);
        if !names.insert(t.name.clone()) {
            return Err(fail(&file.path, format!("{place} appears twice: target names must be unique")));
        }
        let knobs = file.defaults.knobs().overlaid(&t.knobs()).overlaid(flags);
        let target = file_target(t, &file.path, &place, env, &knobs)?;
        if t.kind == Kind::OrgRepoHooks {
            let d = discovery_of(t, target);
            if d.every_org() && matches!(d.template.auth, Auth::Installation { .. }) {
                return Err(fail(
                    &file.path,
                    format!(
                        "{place} has org = \"*\" (every organization) and an App's key: an installation \
                         covers one account; use a site administrator's token (token_env)"
                    ),
                ));
            }
            discovery.push(d);
            continue;
        }
        if !hooks.insert(target.key()) {
            return Err(fail(
                &file.path,
                format!("{place} is the same hook as an earlier target ({})", target.describe()),
            ));
        }
        out.push(target);
    }
    Ok((out, discovery))
}

/// A `kind = "org-repo-hooks"` table as a [`Discovery`] (issue 14).
fn discovery_of(t: &FileTarget, template: Target) -> Discovery {
    let org = match &template.hook {
        HookTarget::Org { org, .. } => org.clone(),
        _ => String::new(),
    };
    Discovery {
        name: t.name.clone(),
        org,
        selector: redeliver_core::discover::Selector {
            repos: t.repos.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            archived: t.archived.unwrap_or(false),
            hook_url: t.hook_url.clone(),
            hook_events: t.hook_events.clone(),
        },
        org_hooks: t.org_hooks.unwrap_or(false),
        refresh: t.refresh.unwrap_or(DEFAULT_REFRESH),
        template,
    }
}

fn file_target(t: &FileTarget, path: &Path, place: &str, env: &Env, knobs: &Knobs) -> Result<Target, Failure> {
    let in_place = |f: Failure| fail(path, format!("{place}: {}", f.error));
    let api = match &t.api_url {
        Some(url) => (parse_api_url(url, &format!("{place}: api_url"))?, "config file"),
        None => api_url(None, env)?,
    };
    let kind = t.kind.as_str();
    let hook_id = || {
        t.hook_id.ok_or_else(|| {
            fail(path, format!("{place}: a {kind} target needs hook_id (the number in the hook's settings URL)"))
        })
    };
    let hook = match t.kind {
        Kind::App => HookTarget::App,
        Kind::Repo => {
            let full = t
                .repo
                .as_deref()
                .ok_or_else(|| fail(path, format!("{place}: a repo target needs repo = \"OWNER/REPO\"")))?;
            let (owner, repo) = split_repo(full, &format!("{place}: repo"))?;
            HookTarget::Repo { owner, repo, hook_id: hook_id()? }
        }
        Kind::Org => {
            let org = t.org.clone().ok_or_else(|| fail(path, format!("{place}: an org target needs org = \"ORG\"")))?;
            HookTarget::Org { org, hook_id: hook_id()? }
        }
        // The organization stands in for the hooks found in it (hook 0 is never polled).
        Kind::OrgRepoHooks => {
            let org = t
                .org
                .clone()
                .ok_or_else(|| fail(path, format!("{place}: an org-repo-hooks target needs org = \"ORG\"")))?;
            HookTarget::Org { org, hook_id: 0 }
        }
    };
    let auth = file_auth(t, &hook, path, place, env)?;
    let mut target = target(t.name.clone(), hook, api, auth, knobs).map_err(in_place)?;
    target.direct = direct(t, path, place, env)?;
    Ok(target)
}

/// A target's direct delivery: `deliver_to` must be an http(s) URL (never quoted: it may carry
/// a password), and the secret comes from `secret_env` or `secret_file`, never the file itself.
fn direct(t: &FileTarget, path: &Path, place: &str, env: &Env) -> Result<DirectSettings, Failure> {
    if let Some(to) = &t.deliver_to {
        let url = Url::parse(to).map_err(|e| fail(path, format!("{place}: deliver_to is not a URL ({e})")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(fail(path, format!("{place}: deliver_to must be an http:// or https:// URL")));
        }
    }
    let secret = match (&t.secret_env, &t.secret_file) {
        (Some(_), Some(_)) => return Err(fail(path, format!("{place}: give secret_env or secret_file, not both"))),
        (Some(var), None) => {
            refuse_a_secret(var, "secret_env", path, place)?;
            Some(Secret::new(env.get(var).ok_or_else(|| {
                fail(path, format!("{place}: secret_env names {var}, which is not set in the environment"))
            })?))
        }
        (None, Some(file)) => {
            let text = std::fs::read_to_string(file)
                .map_err(|e| fail(path, format!("{place}: cannot read secret_file {}: {e}", file.display())))?;
            Some(Secret::new(text.lines().next().unwrap_or_default()))
        }
        (None, None) => None,
    };
    Ok(DirectSettings {
        replay_past_horizon: t.replay_past_horizon.unwrap_or(false),
        deliver_to: t.deliver_to.clone(),
        secret,
    })
}

fn file_auth(t: &FileTarget, hook: &HookTarget, path: &Path, place: &str, env: &Env) -> Result<Auth, Failure> {
    let in_place = |f: Failure| fail(path, format!("{place}: {}", f.error));
    let key = match (&t.private_key_file, &t.private_key_env, &t.private_key) {
        (Some(file), _, _) => Some(key_from_file(file, "private_key_file").map_err(in_place)?),
        (None, Some(var), _) => {
            refuse_a_secret(var, "private_key_env", path, place)?;
            let text = env.get(var).ok_or_else(|| {
                fail(path, format!("{place}: private_key_env names {var}, which is not set in the environment"))
            })?;
            Some(key_from_text(text, &format!("{place}: the environment variable {var} (private_key_env)"))?)
        }
        (None, None, Some(text)) => Some(key_from_text(text.expose(), &format!("{place}: private_key"))?),
        (None, None, None) => None,
    };
    let token = match (&t.token_env, &t.token_file, &t.token) {
        (Some(var), _, _) => Some(refuse_a_secret(var, "token_env", path, place).and_then(|()| {
            env.get(var).map(|t| Secret::new(t.trim())).ok_or_else(|| {
                fail(path, format!("{place}: token_env names {var}, which is not set in the environment"))
            })
        })?),
        (None, Some(file), _) => Some(Secret::new(
            std::fs::read_to_string(file)
                .map_err(|e| fail(path, format!("{place}: cannot read token_file {}: {e}", file.display())))?
                .trim(),
        )),
        (None, None, Some(text)) => Some(Secret::new(text.expose().trim())),
        (None, None, None) => None,
    };
    let app = || app_id(t.app_id.as_deref(), "app_id").map_err(in_place);
    match (hook, key, token) {
        (HookTarget::App, Some(key), _) => Ok(Auth::App { app_id: app()?, key }),
        (HookTarget::App, None, _) => Err(fail(
            path,
            format!(
                "{place}: missing credential: an app target needs app_id and private_key_file (or private_key_env)"
            ),
        )),
        (_, _, Some(token)) => Ok(Auth::Token(token)),
        (_, Some(key), None) => Ok(Auth::Installation { app_id: app()?, key }),
        (_, None, None) => Err(fail(
            path,
            format!(
                "{place}: missing credential: give token_env or token_file (a token that can read and redeliver the hook), or app_id with private_key_file to use an installation token"
            ),
        )),
    }
}

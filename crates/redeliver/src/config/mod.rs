//! Configuration's single home: the settings every command runs with, validated before any
//! request. Where they come from is fixed (`flags > environment > config file > defaults`) and
//! decided in one place, [`resolve`]; the environment is read only through [`env`], the config
//! file only through [`file`].
//!
//! Not every setting has all four sources: the retry policy has no environment variable, the
//! watch settings (interval, listen, notifications) neither, and a config file's target is a
//! whole identity (hook, host, credentials), so flags and environment never patch one field of it.

mod env;
mod file;
mod file_error;
#[cfg(test)]
mod file_props;
#[cfg(test)]
mod file_tests;
mod outage;
mod resolve;
#[cfg(test)]
mod resolve_tests;
mod size;
mod values;

pub use env::Env;
#[allow(unused_imports)] // for commands that read one variable or parse one value
pub use env::names;
pub use outage::{DrainRate, OutageSettings};
pub use resolve::{DEFAULT_LEASE, resolve_run, resolve_watch};
pub use size::parse_size;
pub use values::When;

use chrono::{DateTime, Duration, Utc};
use redeliver_core::github::{AppKey, CaBundle, HookTarget, Pace, PageLimits, VariableName};
use redeliver_core::plan::EventFilter;
use redeliver_core::policy::{Ladder, Policy};
use redeliver_core::secret::Secret;
use redeliver_core::state::ArchiveLimits;
use std::path::PathBuf;
use url::Url;

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

/// The knobs a target's passes run with, already parsed; each layer (`[defaults]`, the target's
/// table, the flags) sets some of them, and [`Knobs::overlaid`] stacks the layers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Knobs {
    pub lookback: Option<std::time::Duration>,
    pub overlap: Option<std::time::Duration>,
    pub ladder: Option<Ladder>,
    pub max_attempts: Option<u32>,
    pub horizon: Option<std::time::Duration>,
    pub pace: Option<Pace>,
    pub max_wait: Option<std::time::Duration>,
    pub events: Vec<String>,
    pub exclude_events: Vec<String>,
    // Outage-aware recovery (issue 11).
    pub outage_awareness: Option<bool>,
    pub probe_interval: Option<std::time::Duration>,
    pub max_probe_interval: Option<std::time::Duration>,
    pub down_after: Option<u32>,
    pub priority: Vec<String>,
    pub drain_rate: Option<DrainRate>,
}

impl Knobs {
    /// `self`, with every knob `over` sets replacing it.
    pub fn overlaid(&self, over: &Knobs) -> Knobs {
        let list = |over: &Vec<String>, under: &Vec<String>| if over.is_empty() { under } else { over }.clone();
        Knobs {
            lookback: over.lookback.or(self.lookback),
            overlap: over.overlap.or(self.overlap),
            ladder: over.ladder.clone().or(self.ladder.clone()),
            max_attempts: over.max_attempts.or(self.max_attempts),
            horizon: over.horizon.or(self.horizon),
            pace: over.pace.or(self.pace),
            max_wait: over.max_wait.or(self.max_wait),
            events: list(&over.events, &self.events),
            exclude_events: list(&over.exclude_events, &self.exclude_events),
            // Outage-aware recovery (issue 11).
            outage_awareness: over.outage_awareness.or(self.outage_awareness),
            probe_interval: over.probe_interval.or(self.probe_interval),
            max_probe_interval: over.max_probe_interval.or(self.max_probe_interval),
            down_after: over.down_after.or(self.down_after),
            priority: list(&over.priority, &self.priority),
            drain_rate: over.drain_rate.or(self.drain_rate),
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
    /// CA certificates trusted besides the system's (`--ca-cert`, `ca_cert`).
    pub ca: Option<CaBundle>,
    /// How far one listing may go (`--max-pages`, `--list-deadline`).
    pub paging: PageLimits,
    /// What the target does while its receiver is down (issue 11).
    pub outage: OutageSettings,
    /// `watch`'s direct delivery to the receiver (issue 12): off unless the config file asks.
    pub direct: DirectSettings,
}

/// A target's direct delivery (docs/archive.md): `replay_past_horizon`, `deliver_to` and the
/// secret that signs them (`secret_env`, `secret_file`).
#[derive(Debug, Clone, Default)]
pub struct DirectSettings {
    /// Replay an event still failed at GitHub's horizon from the archive, once the receiver answers.
    pub replay_past_horizon: bool,
    /// Pull mode: deliver each event here, from its delivery record, within a poll of its arrival.
    pub deliver_to: Option<String>,
    pub secret: Option<Secret>,
}

impl DirectSettings {
    /// Whether `watch` delivers anything of this target itself.
    pub fn is_on(&self) -> bool {
        self.replay_past_horizon || self.deliver_to.is_some()
    }
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
}

// --- Organization discovery (issue 14) ---

/// A `kind = "org-repo-hooks"` target: the hooks it stands for are found by listing the
/// organization, again every `refresh`; each becomes a [`Target`] made from `template`.
#[derive(Debug)]
pub struct Discovery {
    pub name: String,
    pub org: String,
    pub selector: redeliver_core::discover::Selector,
    /// The organization's own hooks are candidates too.
    pub org_hooks: bool,
    pub refresh: std::time::Duration,
    /// Host, credentials and knobs of every discovered hook (its `hook` is the organization's
    /// placeholder `hook_id = 0`, never polled).
    pub template: Target,
}

impl Discovery {
    /// `org = "*"`: every organization of the server (`GET /organizations`; GHES site admins).
    pub fn every_org(&self) -> bool {
        self.org == "*"
    }
}

/// How `watch` spends each credential's rate limit on discovered hooks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FleetSettings {
    /// The share of `x-ratelimit-limit` this tool may use.
    pub budget_share: f64,
    /// The longest a discovered hook goes unpolled.
    pub max_interval: std::time::Duration,
}

impl Target {
    /// A discovered hook's target: `self`'s host, credentials and knobs, for `hook`.
    pub fn for_hook(&self, name: String, hook: HookTarget) -> Target {
        Target {
            name,
            hook,
            api_url: self.api_url.clone(),
            api_url_source: self.api_url_source,
            auth: self.auth.clone(),
            policy: self.policy.clone(),
            lookback: self.lookback,
            overlap: self.overlap,
            pace: self.pace,
            max_wait: self.max_wait,
            retry_base: self.retry_base,
            filter: self.filter.clone(),
            variable: None,
            ca: self.ca.clone(),
            paging: self.paging,
            // Direct delivery posts to one receiver with one secret; each discovered hook has
            // its own, so it stays off for them.
            direct: DirectSettings::default(),
            // Each discovered hook has its own receiver, judged on its own (issue 11).
            outage: self.outage.clone(),
        }
    }
}

// --- end of organization discovery ---

/// What narrows or changes one run of passes, the same for every target.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub max_redeliveries: Option<usize>,
    /// How long the ledger keeps audit rows of redeliveries; `None` for [`DEFAULT_KEEP_HISTORY`].
    pub keep_history: Option<Duration>,
    pub dry_run: bool,
    pub json: bool,
    /// Archive failed events' delivery records (`--no-archive`, `archive = false`); the
    /// SQLite store only. `None` is the default, on.
    pub archive: Option<bool>,
    pub archive_limits: ArchiveLimits,
}

/// How long the ledger keeps audit rows of redeliveries by default.
pub const DEFAULT_KEEP_HISTORY: Duration = Duration::days(30);

impl RunOptions {
    /// How long the ledger keeps audit rows of redeliveries.
    pub fn keep_history(&self) -> Duration {
        self.keep_history.unwrap_or(DEFAULT_KEEP_HISTORY)
    }

    /// Whether passes archive failed events' delivery records (on unless turned off).
    pub fn archive(&self) -> bool {
        self.archive.unwrap_or(true)
    }
}

/// Where to tell a person that an event was given up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NotifySettings {
    /// POST a JSON message (Slack-compatible `text`) here.
    pub url: Option<String>,
    /// Run this shell command (details in `REDELIVER_*` variables and JSON on stdin).
    pub command: Option<String>,
}

/// Everything `run` and `check` need (and `watch`, inside [`WatchSettings`]), validated.
#[derive(Debug)]
pub struct RunSettings {
    pub targets: Vec<Target>,
    /// `kind = "org-repo-hooks"` targets (issue 14): `watch` discovers their hooks.
    pub discovery: Vec<Discovery>,
    // PostgreSQL state (issue 13).
    /// Where the state lives: a file, or the database a `postgres://` URL names (its password
    /// resolved; never shown).
    pub state: redeliver_core::state::StateLocation,
    /// How long a lease on a target lasts unless renewed (PostgreSQL state).
    pub lease: std::time::Duration,
    pub options: RunOptions,
    /// `$GITHUB_STEP_SUMMARY` when running under GitHub Actions.
    pub actions: Option<ActionsEnv>,
    /// Notifications for events given up: the config file's, overridden by `watch`'s flags.
    pub notify: NotifySettings,
}

/// Where `watch` serves its status page, metrics and health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    Off,
    /// An address for `TcpListener::bind`, such as `127.0.0.1:9187` or `localhost:0`.
    At(String),
}

/// Everything `watch` needs, validated.
#[derive(Debug)]
pub struct WatchSettings {
    pub run: RunSettings,
    /// Time between polls (more than zero).
    pub interval: std::time::Duration,
    pub listen: Listen,
    /// Names the status page answers to besides its address and localhost (`--allow-host`).
    pub allow_hosts: Vec<String>,
    /// The budget-aware schedule of discovered hooks (issue 14).
    pub fleet: FleetSettings,
}

/// Running inside a GitHub Actions job (`GITHUB_ACTIONS=true`).
#[derive(Debug, Clone)]
pub struct ActionsEnv {
    pub step_summary: Option<PathBuf>,
}

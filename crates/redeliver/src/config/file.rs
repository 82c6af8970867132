//! The TOML config file as one serde model: any number of targets (App, repository and
//! organization hooks, on any number of hosts), each with its own credentials and policy, plus
//! `watch`'s settings. Unknown keys are refused (`deny_unknown_fields`); every value is parsed
//! here, in the same grammar as the flags, so a mistake is reported before any request, with
//! its line, column and key (see [`super::file_error`]), never with its value.
//!
//! The format is documented in `docs/config.md`.

use super::DrainRate;
use super::Knobs;
use super::file_error;
use crate::exit::Failure;
use redeliver_core::github::Pace;
use redeliver_core::policy::{Ladder, parse_duration, parse_ladder};
use redeliver_core::secret::Secret;
use serde::de::{self, Deserialize, Deserializer};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A parsed config file; its targets are resolved (credentials read, keys parsed) by
/// [`super::resolve`], which needs the environment.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Where it was read from, for messages.
    #[serde(skip)]
    pub path: PathBuf,
    pub state: Option<PathBuf>,
    /// How long the state keeps its audit rows of redeliveries (`redeliver history`).
    #[serde(default, deserialize_with = "duration")]
    pub keep_history: Option<Duration>,
    /// Whether failed events' delivery records are archived in the state (default true).
    pub archive: Option<bool>,
    /// The largest payload archived, in bytes or with a unit (`"512KiB"`; default 1 MiB).
    #[serde(default, deserialize_with = "size")]
    pub archive_max_payload: Option<u64>,
    /// The archive's total size, compressed, in bytes or with a unit (`"1GiB"`; default 256 MiB).
    #[serde(default, deserialize_with = "size")]
    pub archive_max_total: Option<u64>,
    #[serde(default, deserialize_with = "duration")]
    pub interval: Option<Duration>,
    pub listen: Option<String>,
    /// Host names the status page answers to besides its address and localhost.
    pub allow_hosts: Option<Vec<String>>,
    pub notify_url: Option<String>,
    pub notify_command: Option<String>,
    /// CA certificates to trust besides the system's (`--ca-cert`).
    pub ca_cert: Option<PathBuf>,
    #[serde(default, deserialize_with = "max_pages")]
    pub max_pages: Option<u32>,
    #[serde(default, deserialize_with = "duration")]
    pub list_deadline: Option<Duration>,
    #[serde(default)]
    pub defaults: FileKnobs,
    #[serde(default)]
    pub target: Vec<FileTarget>,
    // --- Organization discovery and the budget-aware schedule (issue 14) ---
    /// The share of each credential's hourly rate limit `watch` may spend (default 0.5).
    #[serde(default, deserialize_with = "share")]
    pub budget_share: Option<f64>,
    /// The longest a discovered hook may go unpolled (default 15m).
    #[serde(default, deserialize_with = "duration")]
    pub max_interval: Option<Duration>,
}

/// The `[defaults]` table: the knobs every target starts from.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileKnobs {
    #[serde(default, deserialize_with = "duration")]
    lookback: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    overlap: Option<Duration>,
    #[serde(default, deserialize_with = "ladder")]
    ladder: Option<Ladder>,
    #[serde(default, deserialize_with = "max_attempts")]
    max_attempts: Option<u32>,
    #[serde(default, deserialize_with = "duration")]
    horizon: Option<Duration>,
    #[serde(default, deserialize_with = "pace")]
    pace: Option<Pace>,
    #[serde(default, deserialize_with = "duration")]
    max_wait: Option<Duration>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    exclude_events: Vec<String>,
    // Outage-aware recovery (issue 11).
    outage_awareness: Option<bool>,
    #[serde(default, deserialize_with = "duration")]
    probe_interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    max_probe_interval: Option<Duration>,
    #[serde(default, deserialize_with = "down_after")]
    down_after: Option<u32>,
    #[serde(default)]
    priority: Vec<String>,
    #[serde(default, deserialize_with = "drain_rate")]
    drain_rate: Option<DrainRate>,
}

impl FileKnobs {
    pub fn knobs(&self) -> Knobs {
        Knobs {
            lookback: self.lookback,
            overlap: self.overlap,
            ladder: self.ladder.clone(),
            max_attempts: self.max_attempts,
            horizon: self.horizon,
            pace: self.pace,
            max_wait: self.max_wait,
            events: self.events.clone(),
            exclude_events: self.exclude_events.clone(),
            outage_awareness: self.outage_awareness,
            probe_interval: self.probe_interval,
            max_probe_interval: self.max_probe_interval,
            down_after: self.down_after,
            priority: self.priority.clone(),
            drain_rate: self.drain_rate,
        }
    }
}

/// What kind of hook a `[[target]]` is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Kind {
    #[default]
    App,
    Repo,
    Org,
    /// Every matching hook of an organization's repositories (and its own), discovered.
    OrgRepoHooks,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::App => "app",
            Kind::Repo => "repo",
            Kind::Org => "org",
            Kind::OrgRepoHooks => "org-repo-hooks",
        }
    }
}

/// One `[[target]]` table: its identity and credentials, then the same knobs as `[defaults]`
/// (serde's `flatten` cannot be combined with `deny_unknown_fields`, so they are listed again;
/// a test checks that the two lists agree).
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTarget {
    pub name: String,
    #[serde(default, deserialize_with = "kind")]
    pub kind: Kind,
    pub api_url: Option<String>,
    #[serde(default, deserialize_with = "app_id")]
    pub app_id: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub private_key_env: Option<String>,
    #[serde(default, deserialize_with = "secret")]
    pub private_key: Option<Secret>,
    #[serde(default, deserialize_with = "secret")]
    pub token: Option<Secret>,
    pub token_env: Option<String>,
    pub token_file: Option<PathBuf>,
    pub repo: Option<String>,
    pub org: Option<String>,
    #[serde(default, deserialize_with = "hook_id")]
    pub hook_id: Option<u64>,
    // --- kind = "org-repo-hooks" (issue 14) ---
    /// Repository name patterns (`*`, `?`, `!` excludes); default every repository.
    #[serde(default)]
    pub repos: Vec<String>,
    /// A pattern the hook's receiver URL must match.
    pub hook_url: Option<String>,
    /// Keep hooks subscribed to one of these events (default any).
    #[serde(default)]
    pub hook_events: Vec<String>,
    /// Include archived repositories (default false).
    pub archived: Option<bool>,
    /// Include the organization's own hooks (default false).
    pub org_hooks: Option<bool>,
    /// How often the repositories and hooks are listed again (default 1h).
    #[serde(default, deserialize_with = "duration")]
    pub refresh: Option<Duration>,
    // --- end of org-repo-hooks ---
    #[serde(default, deserialize_with = "duration")]
    lookback: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    overlap: Option<Duration>,
    #[serde(default, deserialize_with = "ladder")]
    ladder: Option<Ladder>,
    #[serde(default, deserialize_with = "max_attempts")]
    max_attempts: Option<u32>,
    #[serde(default, deserialize_with = "duration")]
    horizon: Option<Duration>,
    #[serde(default, deserialize_with = "pace")]
    pace: Option<Pace>,
    #[serde(default, deserialize_with = "duration")]
    max_wait: Option<Duration>,
    #[serde(default)]
    events: Vec<String>,
    #[serde(default)]
    exclude_events: Vec<String>,
    // Outage-aware recovery (issue 11).
    outage_awareness: Option<bool>,
    #[serde(default, deserialize_with = "duration")]
    probe_interval: Option<Duration>,
    #[serde(default, deserialize_with = "duration")]
    max_probe_interval: Option<Duration>,
    #[serde(default, deserialize_with = "down_after")]
    down_after: Option<u32>,
    #[serde(default)]
    priority: Vec<String>,
    #[serde(default, deserialize_with = "drain_rate")]
    drain_rate: Option<DrainRate>,
    // --- Direct delivery (issue 12; docs/archive.md) ---
    /// `watch` replays an event still failed at GitHub's horizon straight from the archive.
    pub replay_past_horizon: Option<bool>,
    /// Pull mode: `watch` delivers each event to this URL itself (GitHub's may fail).
    pub deliver_to: Option<String>,
    /// The hook's secret, to sign direct deliveries: the name of an environment variable...
    pub secret_env: Option<String>,
    /// ... or a file holding it (its first line).
    pub secret_file: Option<PathBuf>,
    // --- end of direct delivery ---
}

impl FileTarget {
    /// The knobs this target's own table sets.
    pub fn knobs(&self) -> Knobs {
        Knobs {
            lookback: self.lookback,
            overlap: self.overlap,
            ladder: self.ladder.clone(),
            max_attempts: self.max_attempts,
            horizon: self.horizon,
            pace: self.pace,
            max_wait: self.max_wait,
            events: self.events.clone(),
            exclude_events: self.exclude_events.clone(),
            outage_awareness: self.outage_awareness,
            probe_interval: self.probe_interval,
            max_probe_interval: self.max_probe_interval,
            down_after: self.down_after,
            priority: self.priority.clone(),
            drain_rate: self.drain_rate,
        }
    }
}

pub fn load(path: &Path) -> Result<ConfigFile, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::config(format!("cannot read the config file {}: {e}", path.display())))?;
    parse(&text, path)
}

pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, Failure> {
    let document = toml::Deserializer::parse(text).map_err(|e| file_error::syntax(path, text, &e))?;
    let mut file: ConfigFile =
        serde_path_to_error::deserialize(document).map_err(|e| file_error::semantic(path, text, &e))?;
    if file.target.is_empty() {
        return Err(Failure::config(format!(
            "{}: no targets: add at least one [[target]] table (see docs/config.md)",
            path.display()
        )));
    }
    file.path = path.to_path_buf();
    Ok(file)
}

/// A duration in the flags' grammar. The error names no value (it may sit next to a secret).
fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    Option::<String>::deserialize(d)?.map(|text| parse_duration(&text).map_err(de::Error::custom)).transpose()
}

/// A size: a number of bytes, or a string with a unit (`"512KiB"`, `"1GiB"`).
fn size<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Size {
        Bytes(i64),
        Text(String),
    }
    match Option::<Size>::deserialize(d)? {
        Some(Size::Bytes(n)) => u64::try_from(n).map(Some).map_err(|_| de::Error::custom("must not be negative")),
        Some(Size::Text(text)) => super::size::parse_size(&text).map(Some).map_err(de::Error::custom),
        None => Ok(None),
    }
}

fn ladder<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Ladder>, D::Error> {
    Option::<String>::deserialize(d)?.map(|text| parse_ladder(&text).map(Ladder).map_err(de::Error::custom)).transpose()
}

fn pace<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Pace>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|text| {
            text.parse().map_err(|_| de::Error::custom("not a pace: write auto, or a duration such as 250ms, 1s or 2m"))
        })
        .transpose()
}

/// Read as a string first, so that a wrong type gets the usual "must be a string" message.
fn kind<'de, D: Deserializer<'de>>(d: D) -> Result<Kind, D::Error> {
    match String::deserialize(d)?.as_str() {
        "app" => Ok(Kind::App),
        "repo" => Ok(Kind::Repo),
        "org" => Ok(Kind::Org),
        "org-repo-hooks" => Ok(Kind::OrgRepoHooks),
        _ => Err(de::Error::custom("is not one of app, repo, org, org-repo-hooks")),
    }
}

/// A share of a rate limit: more than 0, at most 1.
fn share<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    match Option::<f64>::deserialize(d)? {
        Some(x) if x > 0.0 && x <= 1.0 => Ok(Some(x)),
        Some(_) => Err(de::Error::custom("must be a number more than 0 and at most 1 (0.5 is half)")),
        None => Ok(None),
    }
}

fn max_attempts<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        Some(n @ 1..=1000) => Ok(Some(n as u32)),
        Some(_) => Err(de::Error::custom("must be a number from 1 to 1000")),
        None => Ok(None),
    }
}

/// `down_after = 3`: distinct events failing for the receiver before it counts as down.
fn down_after<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        Some(n @ 1..=64) => Ok(Some(n as u32)),
        Some(_) => Err(de::Error::custom("must be a number from 1 to 64")),
        None => Ok(None),
    }
}

/// `drain_rate = "5/s"` or `drain_rate = 5`.
fn drain_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DrainRate>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Rate {
        Number(f64),
        Text(String),
    }
    Option::<Rate>::deserialize(d)?
        .map(|rate| match rate {
            Rate::Number(n) => n.to_string().parse(),
            Rate::Text(text) => text.parse(),
        })
        .transpose()
        .map_err(de::Error::custom)
}

fn max_pages<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        Some(n @ 1..=4_294_967_295) => Ok(Some(n as u32)),
        Some(_) => Err(de::Error::custom("must be a number from 1 to 4294967295")),
        None => Ok(None),
    }
}

fn hook_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<i64>::deserialize(d)? {
        Some(n) if n > 0 => Ok(Some(n as u64)),
        Some(_) => Err(de::Error::custom("must be a positive number (the number in the hook's settings URL)")),
        None => Ok(None),
    }
}

fn secret<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Secret>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(Secret::new))
}

/// `app_id = "123456"`, `app_id = 123456` or a client id `app_id = "Iv23…"`; checked by
/// [`super::values::app_id`] when the target is resolved.
fn app_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct AppId;
    impl de::Visitor<'_> for AppId {
        type Value = String;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a number or a string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<String, E> {
            Ok(v.to_string())
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<String, E> {
            Ok(v.to_string())
        }
    }
    d.deserialize_any(AppId).map(Some)
}

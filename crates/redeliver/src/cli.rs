//! Command-line flags (clap derive). Environment variables are read in `config/env.rs` only;
//! each flag's help names its environment twin. Every duration flag is parsed here, by the one
//! duration grammar, so a bad value is a usage error (exit 2) before anything else happens.

use crate::config::When;
use clap::{Args, Parser, Subcommand};
use redeliver_core::github::Pace;
use redeliver_core::policy::{DurationError, Ladder, parse_duration};
use std::path::PathBuf;
use std::time::Duration;

/// clap's parser for duration flags: `250ms`, `90s`, `5m`, `2h`, `3d`, `1h30m`.
fn duration(text: &str) -> Result<Duration, DurationError> {
    parse_duration(text)
}

/// A size in bytes, or with a unit (`--archive-max-payload 512KiB`).
fn size(text: &str) -> Result<u64, String> {
    crate::config::parse_size(text)
}

/// `replay --rate`: requests a second, as `N` or `N/s` (also `N/m`, `N/h`); more than zero.
fn rate(text: &str) -> Result<f64, String> {
    let (number, per) = match text.trim().split_once('/') {
        Some((n, unit)) => (n.trim(), unit.trim()),
        None => (text.trim(), "s"),
    };
    let seconds = match per {
        "s" | "sec" | "second" => 1.0,
        "m" | "min" | "minute" => 60.0,
        "h" | "hour" => 3600.0,
        _ => return Err(format!("not a rate unit: {per:?} (write N/s, N/m or N/h)")),
    };
    match number.parse::<f64>() {
        Ok(n) if n > 0.0 && n.is_finite() => Ok(n / seconds),
        _ => Err("not a rate: write a number more than zero, e.g. 10 or 10/s or 30/m".into()),
    }
}

/// A duration that must be more than zero (`--interval`).
fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text) {
        Ok(d) if d.is_zero() => Err("must be more than zero".into()),
        other => other.map_err(|e| e.to_string()),
    }
}

const EXIT_CODES: &str = "Exit status:
  0  success: every failed event was redelivered or is waiting for its next rung
  1  attention: a redelivery was refused, or an event was given up (cap or horizon)
  2  usage or configuration error (nothing was requested)
  3  could not read from GitHub: auth, permissions, network, malformed answer (nothing written)
  4  the state could not be read, written or locked
  70 internal error: redeliver itself or the machine failed (e.g. the demo's simulator did not start)
A reader that closes the output early (`redeliver demo | head`) ends the command with status 0.";

/// Makes sure no GitHub webhook is lost: finds failed deliveries and asks GitHub to redeliver
/// them, on a retry ladder with a cap, without ever redelivering an event that succeeded.
#[derive(Debug, Parser)]
#[command(name = "redeliver", version, after_help = EXIT_CODES)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// One pass over the webhook deliveries of the App hook (or a repository or organization hook,
    /// or every target of --config): redeliver what failed and is due.
    #[command(after_help = EXIT_CODES)]
    Run(Box<RunArgs>),
    /// Keep watching: a pass over every target each interval, with metrics and a status page.
    #[command(after_help = EXIT_CODES)]
    Watch(Box<WatchArgs>),
    /// Verify each target's credentials and permissions against the API, and say what is wrong.
    #[command(after_help = EXIT_CODES)]
    Check(Box<CheckArgs>),
    /// Show the redeliveries recorded in the state file.
    History(HistoryArgs),
    /// Print the archived records of failed events (docs/archive.md) as NDJSON, one event a line.
    Export(Box<ExportArgs>),
    /// POST archived events straight to a receiver, as GitHub would (docs/archive.md).
    Replay(ReplayArgs),
    /// Run the GitHub simulator on 127.0.0.1 with a demo App, for trying the tool by hand.
    Sim(SimArgs),
    /// Watch failed webhooks being recovered, against the built-in simulator (no GitHub needed).
    Demo(DemoArgs),
    /// Print a shell completion script: `source <(redeliver completions bash)`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout, or write one page per command into a directory.
    Man(ManArgs),
    // -- shipping (issue 15): the container's HEALTHCHECK, which has no shell or curl.
    /// Probe a running `watch`'s /healthz: exit 0 when it answers 2xx, 1 otherwise (for a
    /// container HEALTHCHECK).
    Healthcheck(HealthcheckArgs),
}

// The flags of `run`, `watch` and `check` come in groups, each flattened into the commands that
// use it, so that every command's --help lists only what it takes and refuses the rest:
//
// | group          | run | watch | check |
// |----------------|-----|-------|-------|
// | TargetArgs     |  x  |   x   |   x   |
// | VariableArgs   |  x  |   x   |   x   |
// | StateArgs      |  x  |   x   |       |
// | PolicyArgs     |  x  |   x   |       |
// | OutageArgs     |  x  |   x   |       |
// | own flags      | --since --until --dry-run --json | --dry-run --interval --listen … | --json |
//
// The resolver (config/resolve.rs) takes a `RunArgs`; `watch` and `check` hand it theirs with
// [`WatchArgs::run_args`] and [`CheckArgs::run_args`].

/// Which hook, on which host, with which credentials: the one target of the flags, or the
/// targets of `--config`, each a whole identity (so the one-target flags conflict with it).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Target and credentials")]
pub struct TargetArgs {
    /// A TOML file listing any number of targets (App, repository and organization hooks, on
    /// several hosts), each with its own credentials and policy. See docs/config.md.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A repository hook instead of the App's: OWNER/REPO, with --hook-id and TOKEN.
    /// [env: REPO_OWNER + REPO_NAME]
    #[arg(long, value_name = "OWNER/REPO", conflicts_with_all = ["config", "org"])]
    pub repo: Option<String>,
    /// An organization hook instead of the App's: ORG, with --hook-id and TOKEN. [env: ORGANIZATION_NAME]
    #[arg(long, conflicts_with = "config")]
    pub org: Option<String>,
    /// The repository or organization hook's id. [env: HOOK_ID]
    #[arg(long, conflicts_with = "config")]
    pub hook_id: Option<u64>,
    /// The GitHub App's id (numeric) or client id. [env: APP_ID]
    #[arg(long, conflicts_with = "config")]
    pub app_id: Option<String>,
    /// File holding the App's private key (PEM). The key text itself can come in
    /// PRIVATE_KEY instead. [env: PRIVATE_KEY_PATH]
    #[arg(long, value_name = "FILE", conflicts_with = "config")]
    pub private_key_file: Option<PathBuf>,
    /// REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3. Wins over
    /// HOSTNAME and GITHUB_API_URL.
    #[arg(long, value_name = "URL", conflicts_with = "config")]
    pub api_url: Option<String>,
    /// PEM file of CA certificates to trust besides the system's store (which SSL_CERT_FILE
    /// replaces): a private CA of GitHub Enterprise Server.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// The docs script's Actions variable, which holds the last-run time (`run`, `watch`) and which
/// `check` reads to prove the token can.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Actions variable")]
pub struct VariableArgs {
    /// Keep the last-run time in this repository Actions variable, in the docs script's format
    /// (needs TOKEN). [env: LAST_REDELIVERY_VARIABLE_NAME]
    #[arg(long, value_name = "NAME", conflicts_with = "config")]
    pub variable: Option<String>,
    /// Repository holding the variable, OWNER/REPO. [env: WORKFLOW_REPO_OWNER + WORKFLOW_REPO, or GITHUB_REPOSITORY]
    #[arg(long, value_name = "OWNER/REPO", conflicts_with = "config")]
    pub variable_repo: Option<String>,
}

/// The local state file: what `run` and `watch` write.
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "State")]
pub struct StateArgs {
    /// SQLite state file, or a postgres://USER@HOST/DB URL (docs/ha.md). [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
    #[arg(long, value_name = "FILE")]
    pub state: Option<PathBuf>,
    /// How long the state file keeps the audit rows `redeliver history` shows; what the decisions
    /// need is kept until the horizon whatever this says. [default: 30d, or `keep_history` in
    /// the config file]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub keep_history: Option<Duration>,
    /// Do not archive the delivery records of failed events in the state file (they are kept
    /// by default, for `export` and `replay`; see docs/archive.md). [or `archive = false` in the
    /// config file]
    #[arg(long)]
    pub no_archive: bool,
    // --- Archive caps (issue 12) ---
    /// The largest payload archived, in bytes or with a unit (512KiB, 1MiB, 2GB).
    /// [default: 1MiB, or `archive_max_payload` in the config file]
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub archive_max_payload: Option<u64>,
    /// The archive's payloads together, compressed, past which the oldest go (resolved events
    /// first). [default: 256MiB, or `archive_max_total` in the config file]
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub archive_max_total: Option<u64>,
    // --- end of archive caps ---
    // --- Lease on a PostgreSQL state (issue 13) ---
    /// How long a target's lease lasts unless renewed, on a PostgreSQL state: a replica that
    /// dies or freezes hands its targets over after this (plus one interval). At least 1s, and
    /// for `watch` at least twice --interval (it renews once a round). [default: 30s, or twice
    /// the interval if longer, or `lease` in the config file]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub lease: Option<Duration>,
    // --- end of lease ---
}

/// How a pass reads the deliveries and decides what to redeliver: the retry policy, filters and
/// bounds (`run` and `watch`; the config file's `[defaults]` and targets set the same knobs).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Policy")]
pub struct PolicyArgs {
    /// How far back the first run looks when nothing is stored. [default: 24h]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub lookback: Option<Duration>,
    /// How far before the previous run's start the next run looks again, for attempts GitHub
    /// records late. [default: 5m]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub overlap: Option<Duration>,
    /// Waits between attempts of one event, comma-separated (`0s` for no wait). [default: 1m,5m,30m,2h,5h,10h,10h]
    #[arg(long, value_name = "WAITS")]
    pub ladder: Option<Ladder>,
    /// Attempts per event, GitHub's original included, before it is given up. [default: 8]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_attempts: Option<u32>,
    /// Age past which an event is given up. [default: 3d; 7d for GHES (an API URL ending in /api/v3)]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub horizon: Option<Duration>,
    /// Minimum time between redelivery requests (e.g. 1s, 250ms), or `auto`: faster while GitHub
    /// accepts, backing off on a secondary rate limit. [default: 1s]
    #[arg(long)]
    pub pace: Option<Pace>,
    /// Longest wait accepted for a GitHub rate limit before the pass stops. [default: 15m]
    #[arg(long, value_parser = duration, value_name = "DURATION")]
    pub max_wait: Option<Duration>,
    /// Only events of this kind: `event` or `event.action`; repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub event: Vec<String>,
    /// Never events of this kind: `event` or `event.action`; repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub exclude_event: Vec<String>,
    /// Redeliver at most N events in a pass, oldest first; the rest wait for the next pass.
    #[arg(long, value_name = "N")]
    pub max_redeliveries: Option<usize>,
    /// Pages one pass may list before it stops (a `Link` header that never ends). [default: 20000]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_pages: Option<u32>,
    /// Longest time one pass may spend listing, rate-limit waits included. [default: 30m]
    #[arg(long, value_parser = positive_duration, value_name = "DURATION")]
    pub list_deadline: Option<Duration>,
}

// Outage-aware recovery (issue 11); docs/design.md, "Outages".
/// What a pass does while a hook's receiver is down (`run` and `watch`; the config file's
/// `[defaults]` and targets set the same knobs).
#[derive(Debug, Args, Clone, Default)]
#[command(next_help_heading = "Outages")]
pub struct OutageArgs {
    /// While the hook's receiver is down, send one canary redelivery per this interval, doubling
    /// up to --max-probe-interval while the outage lasts. [default: 1m, or `probe_interval`]
    #[arg(long, value_parser = positive_duration)]
    pub probe_interval: Option<Duration>,
    /// The longest wait between two canaries of one outage. [default: 15m, or `max_probe_interval`]
    #[arg(long, value_parser = positive_duration)]
    pub max_probe_interval: Option<Duration>,
    /// Distinct events whose newest attempts all got no answer, a timeout or a gateway error
    /// (502, 503, 504, 520-524) before the receiver counts as down. [default: 3, or `down_after`]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub down_after: Option<u32>,
    /// When a backlog drains, these events go first: `event` or `event.action`; repeat or
    /// comma-separate. [default: none, or `priority`]
    #[arg(long, value_delimiter = ',')]
    pub priority: Vec<String>,
    /// At most this many redelivery requests a second to the target, such as 5/s (a receiver
    /// back from an outage takes its backlog at this rate). [default: no limit beyond --pace]
    #[arg(long, value_name = "N/s")]
    pub drain_rate: Option<crate::config::DrainRate>,
    /// Treat every failure as the event's own, as before outage awareness: no canaries, the
    /// ladder runs on while the receiver is down. [or `outage_awareness = false`]
    #[arg(long)]
    pub no_outage_awareness: bool,
}

/// `redeliver run`'s flags; also what the resolver takes from every command that passes.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub variable: VariableArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Incident recovery: look back to this time (RFC 3339, or an age such as 6h) instead of the
    /// stored one. The stored time is left unchanged.
    #[arg(long, help_heading = "Run", value_name = "TIME")]
    pub since: Option<When>,
    /// Incident recovery: only events that first fired at or before this time (RFC 3339 or an age).
    #[arg(long, help_heading = "Run", value_name = "TIME")]
    pub until: Option<When>,
    /// Read everything and print what would be done; send no redelivery and write no state.
    #[arg(long, help_heading = "Run")]
    pub dry_run: bool,
    /// Print the result as JSON on stdout (schema in the README).
    #[arg(long, help_heading = "Run")]
    pub json: bool,

    #[command(flatten)]
    pub outage: OutageArgs,
}

#[derive(Debug, Args, Clone, Default)]
pub struct WatchArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub variable: VariableArgs,
    #[command(flatten)]
    pub state: StateArgs,
    #[command(flatten)]
    pub policy: PolicyArgs,
    #[command(flatten)]
    pub outage: OutageArgs,
    /// Read everything and print each pass's plan; send no redelivery and write no state.
    #[arg(long, help_heading = "Watch")]
    pub dry_run: bool,
    /// Time between polls (±10 % jitter). [default: 1m, or `interval` in the config file]
    #[arg(long, value_parser = positive_duration, help_heading = "Watch", value_name = "DURATION")]
    pub interval: Option<Duration>,
    /// Where to serve /healthz, /metrics and the status page; `off` to serve nothing.
    /// [default: 127.0.0.1:9187, or `listen` in the config file]
    #[arg(long, help_heading = "Watch", value_name = "ADDRESS")]
    pub listen: Option<String>,
    /// A host name (or name:port) the status page also answers to, besides its listen address
    /// and localhost (a reverse proxy's name, or the machine's name with --listen 0.0.0.0:PORT);
    /// repeatable. Other `Host` headers get 421. [default: `allow_hosts` in the config file]
    #[arg(long = "allow-host", value_name = "NAME", help_heading = "Watch")]
    pub allow_hosts: Vec<String>,
    /// POST a JSON message (Slack-compatible `text`) here for every event given up, and when a
    /// receiver's outage starts and when it is over.
    #[arg(long, help_heading = "Watch", value_name = "URL")]
    pub notify_url: Option<String>,
    /// Run this shell command for every event given up, and when a receiver's outage starts and
    /// when it is over (details in REDELIVER_* variables and JSON on stdin).
    #[arg(long, help_heading = "Watch", value_name = "COMMAND")]
    pub notify_command: Option<String>,
}

impl WatchArgs {
    /// The flags every pass of the daemon runs with, as the resolver takes them.
    pub fn run_args(&self) -> RunArgs {
        RunArgs {
            target: self.target.clone(),
            variable: self.variable.clone(),
            state: self.state.clone(),
            policy: self.policy.clone(),
            outage: self.outage.clone(),
            dry_run: self.dry_run,
            ..RunArgs::default()
        }
    }
}

#[derive(Debug, Args, Clone, Default)]
pub struct CheckArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub variable: VariableArgs,
    /// Print the result as JSON on stdout (schema `redeliver.check/v1`, in the README).
    #[arg(long, help_heading = "Check")]
    pub json: bool,
}

impl CheckArgs {
    /// The targets to check, as the resolver takes them (no state, policy or window).
    pub fn run_args(&self) -> RunArgs {
        RunArgs { target: self.target.clone(), variable: self.variable.clone(), json: self.json, ..RunArgs::default() }
    }
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// SQLite state file, or a postgres://USER@HOST/DB URL (docs/ha.md). [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Only this event (GUID).
    #[arg(long)]
    pub guid: Option<String>,
    /// At most this many entries, newest first.
    #[arg(long, default_value_t = 50)]
    pub limit: usize,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// SQLite state file, or a postgres://USER@HOST/DB URL (docs/ha.md). [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
    #[arg(long)]
    pub state: Option<PathBuf>,
    // --- export --all (issue 12) ---
    /// Every event GitHub lists in the window (--since, default what GitHub still holds;
    /// --until, default now), not only the archive: one GET of its delivery record each, paced
    /// as redeliveries are (--pace). Needs the target's flags or --config; writes no state.
    #[arg(long, help_heading = "Export --all")]
    pub all: bool,
    #[command(flatten)]
    pub target: TargetArgs,
    /// With --all: events with an attempt at or after this time (RFC 3339, or an age such as 6h).
    #[arg(long, requires = "all", help_heading = "Export --all", value_name = "TIME")]
    pub since: Option<When>,
    /// With --all: events with an attempt at or before this time (RFC 3339, or an age).
    #[arg(long, requires = "all", help_heading = "Export --all", value_name = "TIME")]
    pub until: Option<When>,
    /// With --all: time between two reads of a delivery record, as --pace of `run`. [default: 1s]
    #[arg(long, requires = "all", help_heading = "Export --all")]
    pub pace: Option<Pace>,
    // --- end of export --all ---
}

impl ExportArgs {
    /// The flags `export --all` resolves its targets with, as `run` would.
    pub fn run_args(&self) -> RunArgs {
        RunArgs {
            target: self.target.clone(),
            state: StateArgs { state: self.state.clone(), ..StateArgs::default() },
            policy: PolicyArgs { pace: self.pace, ..PolicyArgs::default() },
            since: self.since,
            until: self.until,
            ..RunArgs::default()
        }
    }
}

/// `replay --state-filter`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReplayState {
    Failed,
    GivenUp,
    All,
}

#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// Only these events (GUIDs); every archived event when none is given.
    pub guids: Vec<String>,
    /// SQLite state file, or a postgres://USER@HOST/DB URL (docs/ha.md). [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Read the events from this file (`redeliver export`'s NDJSON) instead of the archive.
    #[arg(long)]
    pub from: Option<PathBuf>,
    /// Post here instead of the hook's URL.
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Sign with the secret in this environment variable.
    #[arg(long, value_name = "NAME", conflicts_with = "secret_file")]
    pub secret_env: Option<String>,
    /// Sign with the secret in this file (its first line).
    #[arg(long, value_name = "PATH")]
    pub secret_file: Option<PathBuf>,
    /// Only these events (`push`) or event actions (`issues.opened`); repeatable.
    #[arg(long)]
    pub event: Vec<String>,
    /// Only events that first failed at or after this time (RFC 3339, or an age such as 6h).
    #[arg(long)]
    pub since: Option<When>,
    /// Only events that first failed at or before this time (RFC 3339, or an age).
    #[arg(long)]
    pub until: Option<When>,
    /// Which archived events: `failed` (not delivered since, given up or not), `given-up`, or `all`.
    #[arg(long, value_enum, default_value_t = ReplayState::Failed)]
    pub state_filter: ReplayState,
    /// At most this many requests a second: `N` or `N/s` (also `N/m`, `N/h`).
    #[arg(long, value_name = "N/s", value_parser = rate)]
    pub rate: Option<f64>,
    /// Print what would be sent; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Failed events to seed each hook's history with.
    #[arg(long, default_value_t = 20)]
    pub failed: usize,
    /// Play GitHub Enterprise Server everywhere (7-day retention, 30 s receiver timeout). Without
    /// it, the root plays github.com and /api/v3 plays GHES.
    #[arg(long)]
    pub ghes: bool,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Events to generate.
    #[arg(long, default_value_t = 60)]
    pub events: usize,
    /// Keep serving the status page after the demo, until Ctrl-C.
    #[arg(long)]
    pub serve: bool,
}

/// `redeliver completions SHELL`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `redeliver man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write redeliver.1 and a page per command (redeliver-run.1, …) into this directory instead
    /// of printing redeliver.1.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

// -- shipping (issue 15): `redeliver healthcheck`.
#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// The /healthz URL of the `watch` to probe.
    #[arg(default_value = "http://127.0.0.1:9187/healthz")]
    pub url: String,
    /// How long to wait for the answer.
    #[arg(long, value_parser = positive_duration, default_value = "5s")]
    pub timeout: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::error::ErrorKind;

    fn run(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from([&["redeliver", "run"], args].concat())?;
        match cli.command {
            Command::Run(args) => Ok(*args),
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn every_duration_flag_takes_the_one_grammar() {
        for flag in ["--lookback", "--overlap", "--horizon", "--max-wait", "--ladder", "--pace"] {
            for value in ["500ms", "90s", "1h30m", "45", "3d"] {
                assert!(run(&[flag, value]).is_ok(), "{flag} {value}");
            }
        }
        let args = run(&["--lookback", "500ms", "--max-wait", "500ms", "--ladder", "0s,1s500ms"]).unwrap();
        assert_eq!(args.policy.lookback, Some(Duration::from_millis(500)), "--lookback 500ms was refused once");
        assert_eq!(args.policy.max_wait, Some(Duration::from_millis(500)));
        assert_eq!(args.policy.ladder.unwrap().0, [chrono::Duration::zero(), chrono::Duration::milliseconds(1500)]);
        assert_eq!(run(&["--pace", "auto"]).unwrap().policy.pace, Some(Pace::AUTO));
    }

    #[test]
    fn a_bad_value_is_a_usage_error_with_exit_status_2() {
        for (flag, value, says) in [
            ("--lookback", "5x", "not a duration"),
            ("--horizon", "100000000000d", "too long"),
            ("--max-wait", "1.5s", "not a duration"),
            ("--ladder", "", "an empty ladder"),
            ("--ladder", "1m,,5m", "rung 2"),
            ("--pace", "fast", "not a pace"),
            ("--since", "yesterday", "neither an RFC 3339 time"),
        ] {
            let err = run(&[flag, value]).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::ValueValidation, "{flag} {value:?}");
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains(says), "{flag} {value:?}: {err}");
        }
        let zero = Cli::try_parse_from(["redeliver", "watch", "--interval", "0s"]).unwrap_err();
        assert!(zero.to_string().contains("must be more than zero"), "{zero}");
        assert!(Cli::try_parse_from(["redeliver", "watch", "--interval", "300ms"]).is_ok());
    }

    #[test]
    fn a_rate_is_n_or_n_per_unit_and_sizes_take_units() {
        let rate_of = |text: &str| match Cli::try_parse_from(["redeliver", "replay", "--rate", text]) {
            Ok(Cli { command: Command::Replay(a), .. }) => a.rate,
            Ok(other) => panic!("parsed as {other:?}"),
            Err(e) => panic!("{text}: {e}"),
        };
        assert_eq!(rate_of("5"), Some(5.0));
        assert_eq!(rate_of("5/s"), Some(5.0));
        assert_eq!(rate_of("0.5/s"), Some(0.5));
        assert_eq!(rate_of("30/m"), Some(0.5));
        for bad in ["0", "-1", "fast", "5/d", "inf", "NaN/s"] {
            let err = Cli::try_parse_from(["redeliver", "replay", "--rate", bad]).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{bad}");
        }
        let args = run(&["--archive-max-payload", "512KiB", "--archive-max-total", "1GiB"]).unwrap();
        assert_eq!((args.state.archive_max_payload, args.state.archive_max_total), (Some(512 << 10), Some(1 << 30)));
        assert_eq!(run(&["--archive-max-total", "12 parsecs"]).unwrap_err().exit_code(), 2);
    }
}

//! Command-line flags (clap derive). Environment variables are read in `config.rs` only; each
//! flag's help names its environment twin.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXIT_CODES: &str = "Exit status:
  0  success: every failed event was redelivered or is waiting for its next rung
  1  attention: a redelivery was refused, or an event was given up (cap or horizon)
  2  usage or configuration error (nothing was requested)
  3  could not read from GitHub: auth, permissions, network, malformed answer (nothing written)
  4  the state could not be read, written or locked";

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
    Check(Box<RunArgs>),
    /// Show the redeliveries recorded in the state file.
    History(HistoryArgs),
    /// Run the GitHub simulator on 127.0.0.1 with a demo App, for trying the tool by hand.
    Sim(SimArgs),
    /// Watch failed webhooks being recovered, against the built-in simulator (no GitHub needed).
    Demo(DemoArgs),
}

#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
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
    #[arg(long)]
    pub hook_id: Option<u64>,
    /// The GitHub App's id (numeric) or client id. [env: APP_ID]
    #[arg(long)]
    pub app_id: Option<String>,
    /// File holding the App's private key (PEM). The key text itself can come in
    /// PRIVATE_KEY instead. [env: PRIVATE_KEY_PATH]
    #[arg(long)]
    pub private_key_file: Option<PathBuf>,
    /// REST API root, e.g. https://api.github.com or https://ghe.example.com/api/v3. Wins over
    /// HOSTNAME and GITHUB_API_URL.
    #[arg(long)]
    pub api_url: Option<String>,
    /// SQLite state file. [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// Keep the last-run time in this repository Actions variable, in the docs script's format
    /// (needs TOKEN). [env: LAST_REDELIVERY_VARIABLE_NAME]
    #[arg(long)]
    pub variable: Option<String>,
    /// Repository holding the variable, OWNER/REPO. [env: WORKFLOW_REPO_OWNER + WORKFLOW_REPO, or GITHUB_REPOSITORY]
    #[arg(long, value_name = "OWNER/REPO")]
    pub variable_repo: Option<String>,
    /// How far back the first run looks when nothing is stored. [default: 24h]
    #[arg(long)]
    pub lookback: Option<String>,
    /// How far before the previous run's start the next run looks again, for attempts GitHub
    /// records late. [default: 5m]
    #[arg(long)]
    pub overlap: Option<String>,
    /// Waits between attempts of one event, comma-separated. [default: 1m,5m,30m,2h,5h,10h,10h]
    #[arg(long)]
    pub ladder: Option<String>,
    /// Attempts per event, GitHub's original included, before it is given up. [default: 8]
    #[arg(long)]
    pub max_attempts: Option<u32>,
    /// Age past which an event is given up. [default: 3d; 7d for GHES (an API URL ending in /api/v3)]
    #[arg(long)]
    pub horizon: Option<String>,
    /// Minimum time between redelivery requests (e.g. 1s, 250ms), or `auto`: faster while GitHub
    /// accepts, backing off on a secondary rate limit. [default: 1s]
    #[arg(long)]
    pub pace: Option<String>,
    /// Longest wait accepted for a GitHub rate limit before the pass stops. [default: 15m]
    #[arg(long)]
    pub max_wait: Option<String>,
    /// Only events of this kind: `event` or `event.action`; repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub event: Vec<String>,
    /// Never events of this kind: `event` or `event.action`; repeat or comma-separate.
    #[arg(long, value_delimiter = ',')]
    pub exclude_event: Vec<String>,
    /// Incident recovery: look back to this time (RFC 3339, or an age such as 6h) instead of the
    /// stored one. The stored time is left unchanged.
    #[arg(long)]
    pub since: Option<String>,
    /// Incident recovery: only events that first fired at or before this time (RFC 3339 or an age).
    #[arg(long)]
    pub until: Option<String>,
    /// Redeliver at most N events in this pass, oldest first; the rest wait for the next pass.
    #[arg(long, value_name = "N")]
    pub max_redeliveries: Option<usize>,
    /// Read everything and print what would be done; send no redelivery and write no state.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the result as JSON on stdout (schema in the README).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub run: RunArgs,
    /// Time between polls (±10 % jitter). [default: 1m, or `interval` in the config file]
    #[arg(long)]
    pub interval: Option<String>,
    /// Where to serve /healthz, /metrics and the status page; `off` to serve nothing.
    /// [default: 127.0.0.1:9187, or `listen` in the config file]
    #[arg(long)]
    pub listen: Option<String>,
    /// POST a JSON message (Slack-compatible `text`) here for every event given up.
    #[arg(long)]
    pub notify_url: Option<String>,
    /// Run this shell command for every event given up (details in REDELIVER_* variables and JSON on stdin).
    #[arg(long)]
    pub notify_command: Option<String>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// SQLite state file. [env: REDELIVER_STATE] [default: $XDG_STATE_HOME/redeliver/state.db]
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

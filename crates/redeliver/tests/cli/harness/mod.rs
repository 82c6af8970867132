//! Test harness: a simulator with one App and a live receiver, and the real `redeliver` binary
//! run against it with a clean environment, a private state file and no pacing.

mod daemon;
mod invocation;
pub mod report;
pub mod snapshot;
mod wait;

pub use daemon::Daemon;
pub use invocation::Invocation;
pub use wait::{poll_until, wait_until};

use redeliver_sim::{DeliveryRecord, HookId, NewAttempt, Receiver, Sim, World, keys};
use report::{HistoryRecord, RunReport, RunsReport};
use std::path::PathBuf;

pub const APP_ID: u64 = 31337;
const SECRET: &str = "test-hook-secret";

/// Lines of the test key that must never be printed, and the start of any JWT.
pub const KEY_MARKERS: [&str; 2] = ["MIIE", "eyJ"];

pub struct App {
    pub sim: Sim,
    pub receiver: Receiver,
    pub hook: HookId,
    pub dir: tempfile::TempDir,
}

/// What a finished `redeliver` process left: its exit status and everything it printed.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl App {
    pub async fn start() -> App {
        let sim = Sim::start().await.expect("simulator starts");
        let receiver = Receiver::start(Some(SECRET)).await.expect("receiver starts");
        let hook = sim.world().add_app(APP_ID, "Iv1.testapp", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), Some(SECRET));
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("key.pem"), keys::TEST_APP_KEY_PKCS1).expect("key written");
        App { sim, receiver, hook, dir }
    }

    pub fn world(&self) -> World {
        self.sim.world()
    }

    pub fn record(&self, attempt: NewAttempt) -> DeliveryRecord {
        self.world().record_attempt(self.hook, attempt)
    }

    pub fn state_path(&self) -> PathBuf {
        self.dir.path().join("state.db")
    }

    pub fn key_path(&self) -> PathBuf {
        self.dir.path().join("key.pem")
    }

    /// Requests with this method whose path contains `needle`, in order.
    pub fn requests_matching(&self, method: &str, needle: &str) -> Vec<String> {
        self.world()
            .requests()
            .into_iter()
            .filter(|r| r.method == method && r.path.contains(needle))
            .map(|r| r.path)
            .collect()
    }

    pub fn count_requests(&self, method: &str, needle: &str) -> usize {
        self.requests_matching(method, needle).len()
    }

    /// Pages of the App hook's delivery list read (not the single-delivery reads of the archive).
    pub fn count_list_pages(&self) -> usize {
        self.requests_matching("GET", "/app/hook/deliveries").iter().filter(|p| p.ends_with("/deliveries")).count()
    }

    /// `redeliver run` against this App: `--pace 0s`, the simulator's API URL, the key file and
    /// `APP_ID`; add flags, environment and `--json` to it, then `.await` it or `.spawn()` it.
    pub fn run(&self) -> Invocation<'_> {
        Invocation::run(self)
    }

    /// `redeliver ARGS` exactly as given (plus the clean environment every invocation has).
    pub fn command<I, S>(&self, args: I) -> Invocation<'_>
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Invocation::bare(self).args(args)
    }

    /// `redeliver watch` with the App's flags (API URL, id and key file).
    pub fn watch(&self) -> Invocation<'_> {
        self.command(["watch"]).args(self.app_flags())
    }

    /// The App's flags, for a command that takes no defaults: API URL, id and key file.
    pub fn app_flags(&self) -> Vec<String> {
        vec![
            "--api-url".into(),
            self.sim.base_url(),
            "--app-id".into(),
            APP_ID.to_string(),
            "--private-key-file".into(),
            self.key_path().display().to_string(),
        ]
    }
}

impl Output {
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "exit status\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
    }

    /// stdout as a `redeliver.run/v1` report.
    #[track_caller]
    pub fn report(&self) -> RunReport {
        let report: RunReport = self.parse();
        assert_eq!(report.schema, "redeliver.run/v1");
        report
    }

    /// stdout as a `redeliver.runs/v1` document (`run --config … --json`).
    #[track_caller]
    pub fn runs(&self) -> RunsReport {
        let runs: RunsReport = self.parse();
        assert_eq!(runs.schema, "redeliver.runs/v1");
        runs
    }

    /// stdout as `history --json`.
    #[track_caller]
    pub fn history(&self) -> Vec<HistoryRecord> {
        self.parse()
    }

    #[track_caller]
    fn parse<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a {} ({e}):\n{}\n--- stderr\n{}",
                std::any::type_name::<T>(),
                self.stdout,
                self.stderr
            )
        })
    }

    pub fn stdout_human_or_json_mentions(&self, needle: &str) -> bool {
        self.stdout.contains(needle)
    }

    /// No key text, no JWT, in anything the process printed.
    #[track_caller]
    pub fn assert_no_secrets(&self) {
        let key_body: Vec<&str> = keys::TEST_APP_KEY_PKCS1.lines().filter(|l| !l.starts_with("-----")).collect();
        for text in [&self.stdout, &self.stderr] {
            for marker in KEY_MARKERS {
                assert!(!text.contains(marker), "output contains {marker:?}:\n{text}");
            }
            for line in &key_body {
                assert!(!text.contains(&line[..line.len().min(24)]), "output contains key material:\n{text}");
            }
        }
    }
}

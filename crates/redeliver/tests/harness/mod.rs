//! Test harness: a simulator with one App and a live receiver, and the real `redeliver` binary
//! run against it with a clean environment, a private state file and no pacing.

#![allow(dead_code)]

use redeliver_sim::{DeliveryRecord, HookId, NewAttempt, Receiver, Sim, World, keys};
use std::path::PathBuf;
use std::process::Stdio;

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

    fn base_command(&self, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_redeliver"));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("REDELIVER_STATE", self.state_path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Starts `redeliver ARGS` (e.g. `watch`) in the background; its stderr is read with [`Daemon::wait_for`].
    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let mut cmd = self.base_command(args, env);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("redeliver starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        tokio::spawn(async move {
            use tokio::io::AsyncBufReadExt as _;
            let mut lines = tokio::io::BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Daemon { child, lines: rx, seen: Vec::new() }
    }

    /// The App's `run` flags, for spawning: API URL, id and key file.
    pub fn app_flags(&self) -> Vec<String> {
        vec![
            "--api-url".into(),
            self.sim.base_url(),
            "--app-id".into(),
            APP_ID.to_string(),
            "--private-key-file".into(),
            self.dir.path().join("key.pem").display().to_string(),
        ]
    }

    /// `redeliver ARGS` with a clean environment (HOME in the temp dir) plus `env`.
    pub async fn command_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.base_command(args, env);
        let out = tokio::time::timeout(std::time::Duration::from_secs(60), cmd.output())
            .await
            .expect("redeliver finished within 60 s")
            .expect("redeliver ran");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub async fn command(&self, args: &[&str]) -> Output {
        self.command_env(args, &[]).await
    }

    fn run_args<'a>(&'a self, key_file: &'a str, api: Option<&'a str>, extra: &[&'a str], json: bool) -> Vec<&'a str> {
        let mut args = vec!["run", "--pace", "0s"];
        if let Some(api) = api {
            args.extend(["--api-url", api]);
        }
        if !key_file.is_empty() {
            args.extend(["--private-key-file", key_file]);
        }
        if json && !extra.contains(&"--json") {
            args.push("--json");
        }
        args.extend_from_slice(extra);
        args
    }

    /// `redeliver run --json` with the App's id and key file.
    pub async fn run(&self, extra: &[&str]) -> Output {
        let key = self.dir.path().join("key.pem").display().to_string();
        let api = self.sim.base_url();
        let args = self.run_args(&key, Some(&api), extra, true);
        self.command_env(&args, &[("APP_ID", &APP_ID.to_string())]).await
    }

    /// Human output unless `extra` asks for JSON; `--private-key-file` in `extra` replaces the key.
    pub async fn run_with(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let key = if extra.contains(&"--private-key-file") {
            String::new()
        } else {
            self.dir.path().join("key.pem").display().to_string()
        };
        let api = self.sim.base_url();
        let json = env.iter().any(|(k, _)| *k == "LAST_REDELIVERY_VARIABLE_NAME") || extra.contains(&"--json");
        let args = self.run_args(&key, Some(&api), extra, json);
        let mut env = env.to_vec();
        let id = APP_ID.to_string();
        env.push(("APP_ID", &id));
        self.command_env(&args, &env).await
    }

    /// `run --json` with the key (and anything else) from the environment instead of a file.
    pub async fn run_with_env(&self, env: &[(&str, &str)]) -> Output {
        self.run_with_env_and_args(env, &["--json"]).await
    }

    pub async fn run_with_env_and_args(&self, env: &[(&str, &str)], extra: &[&str]) -> Output {
        let api = self.sim.base_url();
        let args = self.run_args("", Some(&api), extra, false);
        let mut env = env.to_vec();
        let id = APP_ID.to_string();
        env.push(("APP_ID", &id));
        self.command_env(&args, &env).await
    }

    /// `run --json` with the API URL from the environment (HOSTNAME, GITHUB_API_URL).
    pub async fn run_without_api_url(&self, extra: &[&str], env: &[(&str, &str)]) -> Output {
        let key = self.dir.path().join("key.pem").display().to_string();
        let args = self.run_args(&key, None, extra, true);
        let mut env = env.to_vec();
        let id = APP_ID.to_string();
        env.push(("APP_ID", &id));
        self.command_env(&args, &env).await
    }
}

/// A background `redeliver` process.
pub struct Daemon {
    pub child: tokio::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    pub seen: Vec<String>,
}

impl Daemon {
    /// Waits (at most `secs`) for a stderr line containing `needle`, and returns it.
    pub async fn wait_for(&mut self, needle: &str, secs: u64) -> String {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(secs);
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match tokio::time::timeout_at(deadline, self.lines.recv()).await {
                Ok(Some(line)) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                _ => panic!("no stderr line with {needle:?} within {secs} s; saw:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// The status page's base URL, from the daemon's start-up line.
    pub async fn status_url(&mut self) -> String {
        let line = self.wait_for("status page at ", 30).await;
        line.split("status page at ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string()
    }

    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().expect("still running").to_string();
        let ok = std::process::Command::new("kill").args([&format!("-{signal}"), &pid]).status().unwrap().success();
        assert!(ok, "kill -{signal} {pid}");
    }

    /// Waits (at most `secs`) for the process to exit; its exit code.
    pub async fn exit_code(&mut self, secs: u64) -> i32 {
        let status = tokio::time::timeout(std::time::Duration::from_secs(secs), self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("exited within {secs} s"))
            .unwrap();
        status.code().unwrap_or(-1)
    }
}

impl Output {
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "exit status\n--- stdout\n{}\n--- stderr\n{}", self.stdout, self.stderr);
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n--- stderr\n{}", self.stdout, self.stderr))
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

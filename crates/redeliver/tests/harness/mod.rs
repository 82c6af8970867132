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

    /// `redeliver ARGS` with a clean environment (HOME in the temp dir) plus `env`.
    pub async fn command_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_redeliver"));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("REDELIVER_STATE", self.state_path())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .kill_on_drop(true);
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

//! One way to run the `redeliver` binary in a test: a builder that starts from `run`'s defaults
//! (or from nothing) and takes flags, environment and `--json`, then runs to the end (`.await`)
//! or in the background (`.spawn()`).
//!
//! Every invocation gets a clean environment: `HOME` in the App's temp dir, `REDELIVER_STATE`
//! there, and `PATH`; nothing else from the test's own environment leaks in.

use super::{APP_ID, App, Daemon, Output};
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

/// A finished process is expected well within this; a hung one fails the test instead of CI.
const TIMEOUT: Duration = Duration::from_secs(60);

#[must_use = "an invocation does nothing until it is awaited or spawned"]
pub struct Invocation<'a> {
    app: &'a App,
    /// `Some` for `run` with the App's defaults; `None` for exactly the given arguments.
    defaults: Option<RunDefaults>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    json: bool,
    /// `ulimit -n` for the process (soft and hard), when set.
    file_limit: Option<u64>,
}

/// What `App::run` adds before the test's own flags.
struct RunDefaults {
    pace: String,
    api_url: bool,
    key_file: Option<String>,
}

impl<'a> Invocation<'a> {
    pub(super) fn run(app: &'a App) -> Self {
        let defaults =
            RunDefaults { pace: "0s".into(), api_url: true, key_file: Some(app.key_path().display().to_string()) };
        Invocation { app, defaults: Some(defaults), args: Vec::new(), env: Vec::new(), json: false, file_limit: None }
    }

    pub(super) fn bare(app: &'a App) -> Self {
        Invocation { app, defaults: None, args: Vec::new(), env: Vec::new(), json: false, file_limit: None }
    }

    /// Runs the process under `ulimit -n LIMIT` (through `sh`), as a host with a small open-file
    /// limit would.
    pub fn file_limit(mut self, limit: u64) -> Self {
        self.file_limit = Some(limit);
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Self {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    pub fn env(mut self, name: &str, value: impl Into<String>) -> Self {
        self.env.push((name.to_string(), value.into()));
        self
    }

    pub fn envs<'e>(mut self, vars: impl IntoIterator<Item = &'e (&'e str, &'e str)>) -> Self {
        self.env.extend(vars.into_iter().map(|(k, v)| (k.to_string(), v.to_string())));
        self
    }

    /// Adds `--json` (once).
    pub fn json(mut self) -> Self {
        self.json = true;
        self
    }

    /// `run`: another `--pace` than `0s`.
    pub fn pace(mut self, pace: &str) -> Self {
        self.defaults_mut("pace").pace = pace.to_string();
        self
    }

    /// `run`: this `--private-key-file` instead of the App's.
    pub fn private_key_file(mut self, path: &str) -> Self {
        self.defaults_mut("private_key_file").key_file = Some(path.to_string());
        self
    }

    /// `run`: the key from the environment (`PRIVATE_KEY`) instead of a file.
    pub fn private_key_env(mut self, key: &str) -> Self {
        self.defaults_mut("private_key_env").key_file = None;
        self.env("PRIVATE_KEY", key)
    }

    /// `run`: no `--api-url`, so the environment (`HOSTNAME`, `GITHUB_API_URL`) or a flag given
    /// with `.args` decides.
    pub fn without_api_url(mut self) -> Self {
        self.defaults_mut("without_api_url").api_url = false;
        self
    }

    fn defaults_mut(&mut self, what: &str) -> &mut RunDefaults {
        self.defaults.as_mut().unwrap_or_else(|| panic!("{what} is for `App::run`; give the flag with `.args`"))
    }

    /// The full argument list and environment, defaults first.
    fn command(&self) -> tokio::process::Command {
        let mut args: Vec<String> = Vec::new();
        let mut env = Vec::new();
        if let Some(d) = &self.defaults {
            args.extend(["run".into(), "--pace".into(), d.pace.clone()]);
            if d.api_url {
                args.extend(["--api-url".into(), self.app.sim.base_url()]);
            }
            if let Some(key) = &d.key_file {
                args.extend(["--private-key-file".into(), key.clone()]);
            }
            env.push(("APP_ID".to_string(), APP_ID.to_string()));
        }
        if self.json && !self.args.iter().any(|a| a == "--json") {
            args.push("--json".into());
        }
        args.extend(self.args.iter().cloned());
        env.extend(self.env.iter().cloned());

        let bin = env!("CARGO_BIN_EXE_redeliver");
        let mut cmd = match self.file_limit {
            None => tokio::process::Command::new(bin),
            Some(limit) => {
                let mut sh = tokio::process::Command::new("sh");
                sh.args(["-c", &format!("ulimit -n {limit} && exec \"$0\" \"$@\""), bin]);
                sh
            }
        };
        cmd.env_clear()
            .env("HOME", self.app.dir.path())
            .env("REDELIVER_STATE", self.app.state_path())
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .args(args)
            .envs(env)
            .stdin(Stdio::null())
            .kill_on_drop(true);
        cmd
    }

    /// Starts the process in the background; its stderr is read with [`Daemon::wait_for`].
    pub fn spawn(self) -> Daemon {
        let mut cmd = self.command();
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        Daemon::new(cmd.spawn().expect("redeliver starts"))
    }

    async fn output(self) -> Output {
        let out = tokio::time::timeout(TIMEOUT, self.command().output())
            .await
            .unwrap_or_else(|_| panic!("redeliver finished within {TIMEOUT:?}"))
            .expect("redeliver ran");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

impl<'a> IntoFuture for Invocation<'a> {
    type Output = Output;
    type IntoFuture = Pin<Box<dyn Future<Output = Output> + Send + 'a>>;

    /// Runs the process to its end (at most a minute) and collects what it printed.
    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.output())
    }
}

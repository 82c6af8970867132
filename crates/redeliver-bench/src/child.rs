//! The real `redeliver` binary, run as a child process against the simulator.

use anyhow::{Context, bail};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `redeliver` binary built next to this one.
pub fn redeliver_exe() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?.with_file_name(format!("redeliver{}", std::env::consts::EXE_SUFFIX));
    if !exe.is_file() {
        bail!(
            "{} not found: build it next to the benchmark first, with\n  \
             cargo build --release -p redeliver -p redeliver-bench",
            exe.display()
        );
    }
    Ok(exe)
}

/// One `redeliver run --json` as the benchmark sees it.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub wall: Duration,
    pub exit_code: i32,
    /// The `redeliver.run/v1` report.
    pub report: Value,
}

impl ClientRun {
    /// A number from the report, e.g. `counts.pages`; 0 when absent.
    pub fn number(&self, path: &str) -> u64 {
        path.split('.').try_fold(&self.report, |v, key| v.get(key)).and_then(Value::as_u64).unwrap_or(0)
    }
}

/// Runs one pass: `--dry-run` reads only; otherwise it redelivers what is due, unpaced.
pub async fn run(exe: &Path, api_url: &str, dir: &Path, dry_run: bool) -> anyhow::Result<ClientRun> {
    let key = dir.join("key.pem");
    if !key.exists() {
        std::fs::write(&key, redeliver_sim::keys::TEST_APP_KEY_PKCS1)?;
    }
    let mut command = tokio::process::Command::new(exe);
    command
        .args(["run", "--json", "--api-url", api_url, "--app-id", &crate::listing::APP_ID.to_string()])
        .arg("--private-key-file")
        .arg(&key)
        .arg("--state")
        .arg(dir.join("state.db"))
        .args(["--pace", "0s", "--lookback", "25h"])
        // A clean environment: no APP_ID, TOKEN or config file of the person running it.
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .kill_on_drop(true);
    if dry_run {
        command.arg("--dry-run");
    }
    let started = Instant::now();
    let output = command.output().await.with_context(|| format!("running {}", exe.display()))?;
    let wall = started.elapsed();
    let exit_code = output.status.code().unwrap_or(-1);
    let report: Value = serde_json::from_slice(&output.stdout).with_context(|| {
        format!(
            "redeliver exited {exit_code} without a JSON report; stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    })?;
    if exit_code > 1 {
        bail!("redeliver exited {exit_code}: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(ClientRun { wall, exit_code, report })
}

//! The outage benchmark (issue 11): the real `redeliver` binary, one `run` every 30 minutes of
//! GitHub time, against a receiver that is down for 6, 30 and 60 hours while 4 events an hour
//! fail, then comes back; with outage awareness and without (`--no-outage-awareness`, the
//! ladder as before). It counts what was recovered, what was given up, and the redelivery
//! POSTs spent. GitHub's clock is moved between passes, so it measures decisions, not time.

use anyhow::{Context, bail};
use chrono::Duration;
use redeliver_sim::{Receiver, ReceiverMode, Sim, keys};
use serde_json::Value;
use std::path::Path;

const APP_ID: u64 = 4444;
const EVENTS_PER_HOUR: usize = 4;

/// One outage played to its end.
struct Row {
    hours: i64,
    aware: bool,
    events: usize,
    recovered: usize,
    given_up: u64,
    posts_during: usize,
    posts_total: usize,
}

pub async fn run(exe: &Path) -> anyhow::Result<()> {
    println!("## Outages: a receiver down for hours, one pass every 30 min, {EVENTS_PER_HOUR} failed events an hour\n");
    println!(
        "| outage | outage awareness | events | recovered within 1 h of its end | given up | POSTs during the outage | POSTs in all |"
    );
    println!("|---:|---|---:|---:|---:|---:|---:|");
    for hours in [6, 30, 60] {
        for aware in [true, false] {
            let r = one(exe, hours, aware).await?;
            println!(
                "| {} h | {} | {} | {} | {} | {} | {} |",
                r.hours,
                if r.aware { "on" } else { "off" },
                r.events,
                r.recovered,
                r.given_up,
                r.posts_during,
                r.posts_total
            );
        }
    }
    println!();
    Ok(())
}

async fn one(exe: &Path, hours: i64, aware: bool) -> anyhow::Result<Row> {
    let sim = Sim::start().await?;
    let receiver = Receiver::start(None).await?;
    let world = sim.world();
    let hook = world.add_app(APP_ID, "Iv1.outagebench", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), None);
    let dir = tempfile::tempdir()?;
    let mut skew = Duration::zero();
    let mut guids = Vec::new();
    let mut given_up = 0;
    receiver.set_mode(ReceiverMode::Down);
    let flags: &[&str] = if aware { &[] } else { &["--no-outage-awareness"] };
    for half_hour in 0..hours * 2 {
        if half_hour % 2 == 0 {
            for _ in 0..EVENTS_PER_HOUR {
                guids.push(world.deliver(hook, "push", None, serde_json::json!({})).await.guid);
            }
        }
        given_up += pass(exe, &sim.base_url(), dir.path(), flags).await?;
        world.settle().await;
        skew += Duration::minutes(30);
        world.set_clock_skew(skew);
    }
    let posts_during = world.requests().iter().filter(|r| r.method == "POST").count();
    receiver.set_mode(ReceiverMode::Up);
    world.deliver(hook, "push", None, serde_json::json!({})).await;
    for _ in 0..12 {
        given_up += pass(exe, &sim.base_url(), dir.path(), flags).await?;
        world.settle().await;
        if guids.iter().all(|g| receiver.successes_for(g) > 0) {
            break;
        }
        skew += Duration::minutes(5);
        world.set_clock_skew(skew);
    }
    let recovered = guids.iter().filter(|g| receiver.successes_for(g) > 0).count();
    let posts_total = world.requests().iter().filter(|r| r.method == "POST").count();
    Ok(Row { hours, aware, events: guids.len(), recovered, given_up, posts_during, posts_total })
}

/// One `redeliver run --json`; returns the events it gave up.
async fn pass(exe: &Path, api_url: &str, dir: &Path, flags: &[&str]) -> anyhow::Result<u64> {
    let key = dir.join("key.pem");
    if !key.exists() {
        std::fs::write(&key, keys::TEST_APP_KEY_PKCS1)?;
    }
    let output = tokio::process::Command::new(exe)
        .args(["run", "--json", "--api-url", api_url, "--app-id", &APP_ID.to_string()])
        .arg("--private-key-file")
        .arg(&key)
        .arg("--state")
        .arg(dir.join("state.db"))
        .args(["--pace", "0s"])
        .args(flags)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running {}", exe.display()))?;
    let code = output.status.code().unwrap_or(-1);
    if code > 1 {
        bail!("redeliver exited {code}: {}", String::from_utf8_lossy(&output.stderr));
    }
    let report: Value = serde_json::from_slice(&output.stdout).context("a JSON report")?;
    Ok(report.pointer("/counts/given_up").and_then(Value::as_u64).unwrap_or(0))
}

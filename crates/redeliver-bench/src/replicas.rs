//! The fleet benchmark (PostgreSQL state, issue 13): redeliveries per minute with one, two and
//! three `watch` replicas sharing the targets, and the failover time after a SIGKILL, measured
//! with the real binary against the simulator and the test PostgreSQL server
//! (`REDELIVER_TEST_POSTGRES`, default the one `.ci/install-test-deps` starts).

use anyhow::{Context, bail};
use chrono::Utc;
use redeliver_core::state::postgres::testing;
use redeliver_sim::{NewAttempt, Receiver, Sim};
use std::path::Path;
use std::time::{Duration, Instant};

const TOKEN: &str = "ghp_bench_fleet";
const TARGETS: usize = 9;
/// Each replica paces its redeliveries to one host by this much (the default pace is 1 s).
const PACE: &str = "200ms";
const LEASE: &str = "5s";
const INTERVAL: &str = "1s";

/// A world with [`TARGETS`] repository hooks, `per_target` failed events each, a config file
/// naming them, and a fresh schema on the test server.
struct World {
    sim: Sim,
    _receiver: Receiver,
    guids: Vec<String>,
    config: String,
    state: String,
}

async fn world(dir: &Path, per_target: usize) -> anyhow::Result<World> {
    let sim = Sim::start().await?;
    let receiver = Receiver::start(None).await?;
    let w = sim.world();
    w.add_token(TOKEN);
    let mut toml = format!("lease = \"{LEASE}\"\n[defaults]\npace = \"{PACE}\"\n");
    let mut guids = Vec::new();
    let past = Utc::now() - chrono::Duration::minutes(30);
    for i in 0..TARGETS {
        let hook = w.add_repo_hook("bench", &format!("r{i}"), &receiver.url(), None);
        for e in 0..per_target {
            let at = past - chrono::Duration::seconds(e as i64);
            // 500, the receiver's own refusal: a run of 502s is an outage (issue 11), held for
            // canaries, and this benchmark measures the replicas' drain.
            guids.push(w.record_attempt(hook, NewAttempt::new("push", 500, at)).guid);
        }
        toml.push_str(&format!(
            "\n[[target]]\nname = \"r{i}\"\nkind = \"repo\"\nrepo = \"bench/r{i}\"\nhook_id = {hook}\napi_url = \"{}\"\ntoken_env = \"BENCH_TOKEN\"\n",
            sim.base_url()
        ));
    }
    let path = dir.join(format!("fleet-{}.toml", fastrand::u32(..)));
    std::fs::write(&path, toml)?;
    Ok(World { sim, _receiver: receiver, guids, config: path.display().to_string(), state: testing::fresh_url() })
}

impl World {
    fn replica(&self, exe: &Path, dir: &Path) -> anyhow::Result<tokio::process::Child> {
        tokio::process::Command::new(exe)
            .args(["watch", "--config", &self.config, "--state", &self.state, "--interval", INTERVAL])
            .args(["--listen", "off"])
            .env_clear()
            .env("HOME", dir)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("BENCH_TOKEN", TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))
    }

    fn redelivered(&self) -> usize {
        let w = self.sim.world();
        self.guids.iter().filter(|g| w.attempts_for(g).iter().any(|a| a.redelivery)).count()
    }

    fn twice(&self) -> usize {
        let w = self.sim.world();
        self.guids.iter().filter(|g| w.attempts_for(g).iter().filter(|a| a.redelivery).count() > 1).count()
    }
}

/// Waits until `done`, at most `within`; how long it took.
async fn until(within: Duration, what: &str, mut done: impl FnMut() -> bool) -> anyhow::Result<Duration> {
    let start = Instant::now();
    while !done() {
        if start.elapsed() > within {
            bail!("not within {within:?}: {what}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(start.elapsed())
}

async fn stop(children: &mut [tokio::process::Child]) {
    for c in children.iter() {
        if let Some(pid) = c.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
    }
    for c in children.iter_mut() {
        let _ = tokio::time::timeout(Duration::from_secs(40), c.wait()).await;
    }
}

pub async fn run(exe: &Path, per_target: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    println!("\n### A fleet on PostgreSQL\n");
    println!("| replicas | events | redelivered twice | drain time s | redeliveries/min |");
    println!("|---:|---:|---:|---:|---:|");
    for replicas in 1..=3 {
        let w = world(dir.path(), per_target).await?;
        let mut children = (0..replicas).map(|_| w.replica(exe, dir.path())).collect::<anyhow::Result<Vec<_>>>()?;
        let took =
            until(Duration::from_secs(900), "every event redelivered", || w.redelivered() == w.guids.len()).await?;
        stop(&mut children).await;
        w.sim.world().settle().await;
        let per_min = w.guids.len() as f64 / took.as_secs_f64() * 60.0;
        println!("| {replicas} | {} | {} | {:.1} | {per_min:.0} |", w.guids.len(), w.twice(), took.as_secs_f64());
    }

    // Failover: two replicas share the targets; one is killed; how long until the other holds
    // every target again (lease 5 s, interval 1 s).
    let w = world(dir.path(), 1).await?;
    let mut children = (0..2).map(|_| w.replica(exe, dir.path())).collect::<anyhow::Result<Vec<_>>>()?;
    let at = redeliver_core::state::StateLocation::parse(Path::new(&w.state), None)?;
    let ledger = || redeliver_core::state::Ledger::open(&at);
    let owners = || -> Vec<Option<String>> {
        ledger()
            .ok()
            .and_then(|l| l.postgres().and_then(|pg| pg.fleet(&[]).ok()))
            .map(|f| f.into_iter().map(|l| l.owner).collect())
            .unwrap_or_default()
    };
    let distinct = |o: &[Option<String>]| o.iter().flatten().collect::<std::collections::BTreeSet<_>>().len();
    until(Duration::from_secs(60), "the targets spread over both replicas", || {
        let o = owners();
        o.len() == TARGETS && o.iter().all(Option::is_some) && distinct(&o) == 2
    })
    .await?;
    let killed = children.remove(0);
    if let Some(pid) = killed.id() {
        let _ = std::process::Command::new("kill").args(["-KILL", &pid.to_string()]).status();
    }
    let failover = until(Duration::from_secs(120), "the survivor holds every target", || {
        let o = owners();
        o.len() == TARGETS && o.iter().all(Option::is_some) && distinct(&o) == 1
    })
    .await?;
    stop(&mut children).await;
    println!(
        "\nFailover after SIGKILL of one of two replicas ({TARGETS} targets, lease {LEASE}, interval {INTERVAL}): \
         {:.1} s until the survivor held every target.",
        failover.as_secs_f64()
    );
    Ok(())
}

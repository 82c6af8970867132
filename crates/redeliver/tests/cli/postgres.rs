//! The PostgreSQL state (issue 13) as operators run it: `run` and several `watch` replicas on
//! one database (the test server `.ci/install-test-deps` starts), many targets, real signals
//! (SIGTERM, SIGKILL, SIGSTOP/SIGCONT). Each failed event is redelivered exactly once, whoever
//! holds its target, and a replica that lost its lease sends nothing.

use crate::harness::{App, Daemon, poll_until, wait_until};
use chrono::{Duration, Utc};
use redeliver_core::state::postgres::testing;
use redeliver_sim::NewAttempt;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

const TOKEN: &str = "ghp_fleet_token";

/// An App whose simulator also has `n` repository hooks, each with `events` failed events, and
/// a config file naming them as targets.
struct Fleet {
    app: App,
    config: String,
    guids: Vec<String>,
    state: String,
}

fn fleet(app: App, n: usize, events: usize, pace: &str, lease: &str) -> Fleet {
    let w = app.world();
    w.add_token(TOKEN);
    let mut toml = format!("lease = \"{lease}\"\n[defaults]\npace = \"{pace}\"\nladder = \"5s\"\n");
    let mut guids = Vec::new();
    let past = Utc::now() - Duration::minutes(20);
    for i in 0..n {
        let hook = w.add_repo_hook("octo", &format!("r{i}"), &app.receiver.url(), None);
        // 500: the receiver's own refusals. A run of 502s would be an outage (issue 11), held
        // for canaries rather than drained, and these tests are about the drain's owners.
        for e in 0..events {
            guids.push(w.record_attempt(hook, NewAttempt::new("push", 500, past - Duration::seconds(e as i64))).guid);
        }
        toml.push_str(&format!(
            "\n[[target]]\nname = \"r{i}\"\nkind = \"repo\"\nrepo = \"octo/r{i}\"\nhook_id = {hook}\napi_url = \"{}\"\ntoken_env = \"FLEET_TOKEN\"\n",
            app.sim.base_url()
        ));
    }
    let path = app.dir.path().join("fleet.toml");
    std::fs::write(&path, toml).unwrap();
    Fleet { config: path.display().to_string(), app, guids, state: testing::fresh_url() }
}

impl Fleet {
    fn replica(&self) -> Daemon {
        self.app
            .command(["watch", "--config", &self.config, "--state", &self.state])
            .args(["--interval", "300ms", "--listen", "127.0.0.1:0"])
            .env("FLEET_TOKEN", TOKEN)
            .env("PGPASSWORD", "pg-password-never-shown")
            .spawn()
    }

    /// Redeliveries GitHub received per event.
    fn redeliveries(&self) -> BTreeMap<String, usize> {
        let w = self.app.world();
        self.guids.iter().map(|g| (g.clone(), w.attempts_for(g).iter().filter(|a| a.redelivery).count())).collect()
    }

    fn all_redelivered(&self) -> bool {
        self.redeliveries().values().all(|n| *n >= 1)
    }

    fn assert_exactly_once(&self, replicas: &[&Daemon]) {
        let twice: Vec<_> = self.redeliveries().into_iter().filter(|(_, n)| *n != 1).collect();
        assert!(
            twice.is_empty(),
            "not exactly once: {twice:?}\n{}",
            replicas.iter().map(|d| d.seen.join("\n")).collect::<Vec<_>>().join("\n---\n")
        );
    }
}

/// The owner of each target as a replica's `/status.json` shows the fleet.
pub(crate) async fn owners(url: &str) -> BTreeMap<String, Option<String>> {
    let Ok(r) = reqwest::get(format!("{url}/status.json")).await else { return BTreeMap::new() };
    let status: serde_json::Value = r.json().await.unwrap_or_default();
    let leases = status["replicas"]["leases"].as_array().cloned().unwrap_or_default();
    leases
        .iter()
        .map(|l| (l["target"].as_str().unwrap_or_default().to_string(), l["owner"].as_str().map(str::to_string)))
        .collect()
}

/// The name of the replica serving `url` (it waits for the first claim).
pub(crate) async fn replica_name(url: &str) -> Option<String> {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{url}/status.json")).await {
            let status: serde_json::Value = r.json().await.unwrap_or_default();
            if let Some(name) = status["replicas"]["replica"].as_str() {
                return Some(name.to_string());
            }
        }
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    panic!("{url} never named itself in /status.json");
}

/// Waits (bounded) until `done` holds of the owners `url` shows.
pub(crate) async fn wait_for_owners(
    url: &str,
    within: u64,
    what: &str,
    done: impl Fn(&BTreeMap<String, Option<String>>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(within);
    loop {
        let seen = owners(url).await;
        if done(&seen) {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not within {within} s: {what}; owners: {seen:#?}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
}

pub(crate) async fn stop(d: &mut Daemon) {
    d.signal("TERM");
    assert_eq!(d.exit_code(30).await, 0, "clean exit on SIGTERM:\n{}", d.seen.join("\n"));
}

async fn replicas_share_the_targets(n: usize) {
    let f = fleet(App::start().await, 9, 3, "0s", "3s");
    let mut replicas: Vec<Daemon> = (0..n).map(|_| f.replica()).collect();
    let mut urls = Vec::new();
    for d in &mut replicas {
        urls.push(d.status_url().await);
    }
    wait_until(StdDuration::from_secs(60), "every failed event redelivered", || f.all_redelivered()).await;
    // Spread: every replica holds targets, none more than its share.
    let share = 9_usize.div_ceil(n);
    wait_for_owners(&urls[0], 30, "the targets spread over every replica", |o| {
        let mut per: BTreeMap<&str, usize> = BTreeMap::new();
        for owner in o.values().flatten() {
            *per.entry(owner).or_default() += 1;
        }
        o.len() == 9 && o.values().all(Option::is_some) && per.len() == n && per.values().all(|c| *c <= share)
    })
    .await;
    // A few more rounds on every replica: still nothing sent twice.
    let metrics = reqwest::get(format!("{}/metrics", urls[0])).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("redeliver_lease_owned{") && metrics.contains("redeliver_database_up{"), "{metrics}");
    for d in &mut replicas {
        stop(d).await;
    }
    f.app.world().settle().await;
    f.assert_exactly_once(&replicas.iter().collect::<Vec<_>>());
    for d in &replicas {
        assert!(!d.seen.join("\n").contains("pg-password-never-shown"), "the password is never echoed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_the_targets_and_redeliver_each_event_once() {
    replicas_share_the_targets(2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_share_the_targets_and_redeliver_each_event_once() {
    replicas_share_the_targets(3).await;
}

/// SIGKILL in the middle of a drain (paced, so it takes a while): the survivor takes the dead
/// replica's targets once their leases expire, and finishes; nothing twice, nothing missed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_s_targets_are_taken_over_and_nothing_is_sent_twice() {
    let f = fleet(App::start().await, 4, 5, "150ms", "2s");
    let mut a = f.replica();
    let url_a = a.status_url().await;
    // a alone holds every target; b joins once a is sending.
    wait_for_owners(&url_a, 30, "a holds every target", |o| o.len() == 4 && o.values().all(Option::is_some)).await;
    let mut b = f.replica();
    let url_b = b.status_url().await;
    let sent = || f.redeliveries().values().filter(|n| **n > 0).count();
    wait_until(StdDuration::from_secs(30), "a few redeliveries", || sent() >= 3).await;
    assert!(sent() < f.guids.len(), "killed mid-drain, not after it");
    a.signal("KILL");
    let _ = a.exit_code(10).await;
    // Within the lease (2 s) and an interval, with room for a loaded machine.
    let b_name = replica_name(&url_b).await;
    wait_for_owners(&url_b, 15, "b holds every target", |o| o.len() == 4 && o.values().all(|w| *w == b_name)).await;
    wait_until(StdDuration::from_secs(60), "every failed event redelivered", || f.all_redelivered()).await;
    stop(&mut b).await;
    f.app.world().settle().await;
    f.assert_exactly_once(&[&a, &b]);
}

/// SIGSTOP past the lease, then SIGCONT: the frozen replica's targets went to the other; when
/// it wakes, its fenced write is refused and it sends nothing for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_replica_resumed_after_its_lease_is_fenced_and_sends_nothing() {
    let f = fleet(App::start().await, 2, 8, "400ms", "2s");
    let mut a = f.replica();
    let url_a = a.status_url().await;
    wait_for_owners(&url_a, 30, "a holds every target", |o| o.len() == 2 && o.values().all(Option::is_some)).await;
    let sent = || f.redeliveries().values().filter(|n| **n > 0).count();
    wait_until(StdDuration::from_secs(30), "a is draining", || sent() >= 2).await;
    a.signal("STOP");
    let frozen_at = f.redeliveries();
    let mut b = f.replica();
    let url_b = b.status_url().await;
    let b_name = replica_name(&url_b).await;
    wait_until(StdDuration::from_secs(60), "b redelivers the rest", || f.all_redelivered()).await;
    wait_for_owners(&url_b, 15, "b holds every target", |o| o.len() == 2 && o.values().all(|w| *w == b_name)).await;
    a.signal("CONT");
    a.wait_for("no longer holds the lease", 30).await;
    // Woken, a got nothing through: only b's redeliveries were added after the freeze.
    stop(&mut a).await;
    stop(&mut b).await;
    f.app.world().settle().await;
    f.assert_exactly_once(&[&a, &b]);
    assert!(frozen_at.values().any(|n| *n == 0), "a was frozen with events still owed");
}

/// `run` on a PostgreSQL state: the same pass and report as on a file, the store named without
/// its password, `history` reading it back, and `run` refused while a replica holds the lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_and_history_on_postgres_and_run_waits_for_a_replica_s_lease() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(5))).guid;
    let state = testing::fresh_url();
    let with_password = state.replace("postgres@", "postgres:url-password-never-shown@");
    let out = app.run().json().args(["--state", &with_password]).await;
    out.assert_code(0);
    let report = out.report();
    assert_eq!(report.counts.redelivered, 1);
    assert!(out.stdout.contains("\"PostgreSQL postgres://postgres@127.0.0.1:"), "{}", out.stdout);
    assert!(!format!("{}{}", out.stdout, out.stderr).contains("url-password-never-shown"));
    let history = app.command(["history", "--json", "--state", &state]).await;
    history.assert_code(0);
    assert_eq!(history.history().iter().filter(|r| r.guid == guid).count(), 1);
    // A replica holds the App's target: `run` refuses (exit 4), naming it.
    let mut watch = app.watch().args(["--state", &state, "--interval", "300ms", "--listen", "127.0.0.1:0"]).spawn();
    let url = watch.status_url().await;
    wait_for_owners(&url, 30, "the replica holds the target", |o| o.values().all(Option::is_some) && !o.is_empty())
        .await;
    let refused = app.run().args(["--state", &state]).await;
    refused.assert_code(4);
    assert!(refused.stderr.contains("holds the lease"), "{}", refused.stderr);
    stop(&mut watch).await;
    app.run().args(["--state", &state]).await.assert_code(0);
}

/// A PostgreSQL server of this test's own (the shared one cannot be stopped under the others),
/// started by the same script as the shared one, on a free loopback port.
struct PrivateServer {
    port: u16,
    dir: std::path::PathBuf,
}

impl PrivateServer {
    fn start() -> PrivateServer {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::path::PathBuf::from(format!("/tmp/redeliver-test-postgres-{port}-{}", std::process::id()));
        let server = PrivateServer { port, dir };
        server.up();
        server
    }

    fn script(&self, args: &[&str]) {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../.ci/postgres-test-server");
        let ok = std::process::Command::new("bash")
            .arg(script)
            .args(args)
            .env("REDELIVER_TEST_POSTGRES_PORT", self.port.to_string())
            .env("REDELIVER_TEST_POSTGRES_DIR", &self.dir)
            .status()
            .unwrap()
            .success();
        assert!(ok, "postgres-test-server {args:?} on port {}", self.port);
    }

    fn up(&self) {
        self.script(&[]);
    }

    /// Stops it the hard way, as a crash or a failover of a managed database would.
    fn down(&self) {
        self.script(&["stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        self.down();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// PostgreSQL stopped in the middle of a drain and started again: while it is away the replica
/// sends nothing (no POST without its row), `/healthz` answers 503 naming the database; once it
/// is back the replica reconnects on its own and finishes, each event exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_and_restarted_mid_drain_loses_nothing_and_sends_nothing_while_away() {
    let server = PrivateServer::start();
    let mut f = fleet(App::start().await, 2, 6, "300ms", "3s");
    f.state = server.url();
    let mut a = f.replica();
    let url = a.status_url().await;
    let sent = || f.redeliveries().values().filter(|n| **n > 0).count();
    wait_until(StdDuration::from_secs(30), "a is draining", || sent() >= 2).await;
    server.down();
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    let health = loop {
        let r = reqwest::get(format!("{url}/healthz")).await.unwrap();
        if r.status() == 503 {
            break r.text().await.unwrap();
        }
        assert!(tokio::time::Instant::now() < deadline, "no 503 while the database is away");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    };
    assert!(health.contains("database") && health.contains("127.0.0.1"), "{health}");
    f.app.world().settle().await;
    let while_away = f.redeliveries();
    // Several failed attempts to reach it (the backoff), and nothing sent meanwhile.
    a.wait_for_count("cannot claim this replica's leases", 3, 30).await;
    assert_eq!(f.redeliveries(), while_away, "no POST without its row while the database is away");
    server.up();
    wait_until(StdDuration::from_secs(60), "every failed event redelivered after the restart", || f.all_redelivered())
        .await;
    // Healthy again once a poll succeeds on every target.
    let deadline = tokio::time::Instant::now() + StdDuration::from_secs(30);
    loop {
        let r = reqwest::get(format!("{url}/healthz")).await.unwrap();
        if r.status() == 200 {
            break;
        }
        let body = r.text().await.unwrap();
        assert!(tokio::time::Instant::now() < deadline, "still unhealthy after the restart: {body}");
        tokio::time::sleep(StdDuration::from_millis(100)).await;
    }
    stop(&mut a).await;
    f.app.world().settle().await;
    f.assert_exactly_once(&[&a]);
}

// --- `--lease` (issue 13) ---

/// `--lease` on `watch` sets the lease the replica takes (its expiry, as the fleet shows it, is
/// never further than the lease), and `run` and `watch` refuse a lease that could not hold: under
/// a second, or for a replica under two of its rounds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lease_flag_sets_the_replica_s_lease_and_a_lease_too_short_is_refused() {
    let app = App::start().await;
    let state = testing::fresh_url();
    let too_short = app.watch().args(["--state", &state, "--interval", "1s", "--lease", "1500ms"]).await;
    too_short.assert_code(2);
    assert!(too_short.stderr.contains("at least twice the interval (1s)"), "{}", too_short.stderr);
    let run_short = app.run().args(["--state", &state, "--lease", "200ms"]).await;
    run_short.assert_code(2);
    assert!(run_short.stderr.contains("the lease (200ms) must be at least 1s"), "{}", run_short.stderr);
    let mut watch = app
        .watch()
        .args(["--state", &state, "--interval", "300ms", "--lease", "2s", "--listen", "127.0.0.1:0"])
        .spawn();
    let url = watch.status_url().await;
    wait_for_owners(&url, 30, "the replica holds the target", |o| o.values().all(Option::is_some) && !o.is_empty())
        .await;
    let status: serde_json::Value = reqwest::get(format!("{url}/status.json")).await.unwrap().json().await.unwrap();
    let lease = &status["replicas"]["leases"][0];
    let expires_in = lease["expires_in_seconds"].as_f64().unwrap_or(f64::MAX);
    assert!(expires_in > 0.0 && expires_in <= 2.0, "a 2 s lease: {lease}");
    stop(&mut watch).await;
    // `run --lease` takes its pass's lease for that long, and passes.
    app.run().args(["--state", &state, "--lease", "5s"]).await.assert_code(0);
}

// --- A rate-limit wait that outlasts the lease (issue 13, found by the checker: seed 7025) ---

/// A replica rate-limited on a POST waits out `Retry-After` with the redelivery written down;
/// if the wait outlasts its lease, the target's new owner counts that row and sends the event
/// itself. The waiting replica must not send it again when its wait ends: GitHub gets it once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_lease_ran_out_during_a_rate_limit_wait_does_not_send_again() {
    let f = fleet(App::start().await, 1, 1, "0s", "2s");
    let w = f.app.world();
    let limit = redeliver_sim::Fault::SecondaryRateLimit { retry_after: Some(6) };
    w.inject(redeliver_sim::FaultRule::new("/repos/octo/r0/hooks/", limit).method("POST").times(1));
    let posts = || w.requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/attempts")).count();
    let mut a = f.replica();
    a.status_url().await;
    wait_until(StdDuration::from_secs(30), "a's redelivery rate limited", || posts() >= 1).await;
    // b takes the target once a's 2 s lease runs out, and redelivers: a is still waiting 6 s.
    let mut b = f.replica();
    let url_b = b.status_url().await;
    let b_name = replica_name(&url_b).await;
    wait_until(StdDuration::from_secs(30), "b redelivers the event", || f.all_redelivered()).await;
    wait_for_owners(&url_b, 15, "b holds the target", |o| o.values().all(|w| *w == b_name)).await;
    // a's wait ends: its row is withdrawn (GitHub never acted on the rate-limited request) and
    // nothing is sent.
    let withdrawn = || {
        let ledger = redeliver_core::state::Ledger::open_read_only(std::path::Path::new(&f.state));
        let history = ledger.ok().flatten().and_then(|l| l.history(None, None, 50).ok()).unwrap_or_default();
        history.iter().any(|r| r.detail.as_deref().is_some_and(|d| d.contains("no longer held the lease")))
    };
    let withdrawn_seen = poll_until(StdDuration::from_secs(30), withdrawn).await;
    stop(&mut a).await;
    stop(&mut b).await;
    f.app.world().settle().await;
    f.assert_exactly_once(&[&a, &b]);
    assert!(withdrawn_seen, "a's row was not withdrawn after its wait");
}

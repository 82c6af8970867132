//! An organization's discovered hooks watched by several replicas on one PostgreSQL state
//! (issues 13 and 14): the hooks are spread over the replicas through their leases, the
//! organization is listed by one replica at a time and the others adopt its listing, each
//! failed event is redelivered exactly once, and a killed replica's hooks (and its listing) are
//! taken over by the survivor. Without a word of fencing in the logs: no replica ever polls a
//! hook it does not hold.

use crate::harness::{App, Daemon, wait_until};
use crate::postgres::{owners, replica_name, stop, wait_for_owners};
use chrono::{Duration, Utc};
use redeliver_core::state::postgres::{PgLedger, PgLocation, testing};
use redeliver_sim::NewAttempt;
use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

const TOKEN: &str = "ghp_orgReplicasToken0000000000000000000";
const LISTING: &str = "acme-ci (listing)";

/// An organization whose `hooks` repositories each have one hook with `events` failed events,
/// a config watching it with leases of `lease`, and a fresh PostgreSQL state.
struct Org {
    app: App,
    config: String,
    guids: Vec<String>,
    hooks: usize,
    state: String,
}

fn organization(app: App, hooks: usize, events: usize, pace: &str, lease: &str) -> Org {
    let w = app.world();
    w.add_token(TOKEN);
    // Plenty: the budget's split is the unit tests' (daemon/fleet_tests.rs).
    w.set_rate_limit(1_000_000, 1_000_000, StdDuration::from_secs(3600));
    let past = Utc::now() - Duration::minutes(20);
    let mut guids = Vec::new();
    for i in 0..hooks {
        let name = format!("svc-{i:02}");
        w.add_repo("acme", &name);
        let hook = w.add_repo_hook("acme", &name, &format!("{}/ci/", app.receiver.url()), None);
        // 500: the receiver's own refusals, not an outage (issue 11), so they drain at once.
        for e in 0..events {
            let at = past - Duration::seconds(e as i64);
            guids.push(w.record_attempt(hook, NewAttempt::new("push", 500, at)).guid);
        }
    }
    let text = format!(
        r#"lease = "{lease}"
interval = "500ms"
max_interval = "4s"

[[target]]
name = "acme-ci"
kind = "org-repo-hooks"
org = "acme"
api_url = "{}"
token_env = "ORG_TOKEN"
refresh = "2s"
pace = "{pace}"
ladder = "5s"
"#,
        app.sim.base_url()
    );
    let path = app.dir.path().join("org.toml");
    std::fs::write(&path, text).unwrap();
    Org { config: path.display().to_string(), app, guids, hooks, state: testing::fresh_url() }
}

impl Org {
    fn replica(&self) -> Daemon {
        self.app
            .command(["watch", "--config", &self.config, "--state", &self.state, "--listen", "127.0.0.1:0"])
            .env("ORG_TOKEN", TOKEN)
            .spawn()
    }

    fn redeliveries(&self) -> BTreeMap<String, usize> {
        let w = self.app.world();
        self.guids.iter().map(|g| (g.clone(), w.attempts_for(g).iter().filter(|a| a.redelivery).count())).collect()
    }

    fn sent(&self) -> usize {
        self.redeliveries().values().filter(|n| **n > 0).count()
    }

    fn assert_exactly_once(&self, replicas: &[&Daemon]) {
        let wrong: Vec<_> = self.redeliveries().into_iter().filter(|(_, n)| *n != 1).collect();
        assert!(wrong.is_empty(), "not exactly once: {wrong:?}\n{}", logs(replicas));
    }

    /// Requests that listed the organization's repositories.
    fn listings(&self) -> usize {
        self.app.world().requests().iter().filter(|r| r.path == "/orgs/acme/repos").count()
    }

    /// The listing the replicas share: its generation (one per listing written) and lister.
    fn shared(&self) -> Option<(i64, String)> {
        let at = PgLocation::parse(&self.state, None).unwrap();
        let db = PgLedger::open(&at).unwrap();
        db.discoveries(&[]).unwrap().into_iter().next().map(|d| (d.generation, d.lister))
    }

    /// Every hook and the listing held, per owner.
    fn per_owner(&self, o: &BTreeMap<String, Option<String>>) -> Option<BTreeMap<String, usize>> {
        if o.len() != self.hooks + 1 || o.values().any(Option::is_none) {
            return None;
        }
        let mut per = BTreeMap::new();
        for owner in o.values().flatten() {
            *per.entry(owner.clone()).or_default() += 1;
        }
        Some(per)
    }
}

fn logs(replicas: &[&Daemon]) -> String {
    replicas.iter().map(|d| d.seen.join("\n")).collect::<Vec<_>>().join("\n---\n")
}

/// Reads the rest of a stopped replica's stderr and checks it holds no error and no fencing:
/// in normal operation a replica polls only what it holds. (What the stop itself cut short
/// may be said, as on any `watch`.)
async fn assert_quiet(d: &mut Daemon) {
    d.wait_for("redeliver: stopped", 10).await;
    let stderr = d.seen.join("\n");
    let noisy: Vec<&String> = d
        .seen
        .iter()
        .filter(|l| ["no longer holds", "poll failed", "ERROR", "WARN"].iter().any(|n| l.contains(n)))
        .filter(|l| !l.contains("stopped by shutdown"))
        .collect();
    assert!(noisy.is_empty(), "errors in a replica's log: {noisy:#?}\n{stderr}");
}

/// Two replicas, one organization of 16 hooks: the hooks spread over both (the listing's lease
/// counted among the keys), every failed event redelivered exactly once, one listing per
/// refresh for the pair, a SIGTERM's hooks handed over at once, and nothing fenced in either log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_share_an_organization_s_hooks_and_list_it_once_per_refresh() {
    let org = organization(App::start().await, 16, 2, "0s", "20s");
    let (mut a, mut b) = (org.replica(), org.replica());
    let (url_a, url_b) = (a.status_url().await, b.status_url().await);
    let b_name = replica_name(&url_b).await.expect("b is named");
    wait_until(StdDuration::from_secs(60), "every failed event redelivered", || org.sent() == org.guids.len()).await;
    // Spread: both replicas hold keys, neither more than its share of the 17.
    let share = (org.hooks + 1).div_ceil(2);
    wait_for_owners(&url_a, 30, "the hooks spread over both replicas", |o| {
        org.per_owner(o).is_some_and(|per| per.len() == 2 && per.values().all(|n| *n <= share))
    })
    .await;
    let seen_by_b = owners(&url_b).await;
    let lister = seen_by_b.get(LISTING).cloned().flatten().expect("someone holds the listing");
    // A few refreshes, each listed by the listing's holder alone.
    wait_until(StdDuration::from_secs(60), "three listings written", || org.shared().is_some_and(|(g, _)| g >= 3))
        .await;
    for url in [&url_a, &url_b] {
        let status: serde_json::Value = reqwest::get(format!("{url}/status.json")).await.unwrap().json().await.unwrap();
        let row = &status["fleet"]["orgs"][0];
        assert_eq!(row["hooks"], 16, "both replicas know every hook: {row}");
        assert!(row["held_here"].as_u64().is_some_and(|n| n > 0 && n < 16), "each polls its part: {row}");
        assert!(row["lister"].is_string(), "the listing's maker is shown: {row}");
    }
    // Every listing of the organization so far was written for both (one may be under way):
    // the other replica never listed it, however many refreshes went by. (Counted first, so a
    // listing written in between only makes the bound looser.)
    let listings = org.listings();
    let (generation, last_lister) = org.shared().expect("the listing is in the database");
    assert!(
        listings as i64 <= generation + 1,
        "{listings} listings of the organization for {generation} written:\n{}",
        logs(&[&a, &b])
    );
    assert_eq!(last_lister, lister, "the listing's lease holder is its lister");
    // SIGTERM hands a's hooks and perhaps the listing over at once, well before the leases
    // (20 s) would expire.
    stop(&mut a).await;
    wait_for_owners(&url_b, 10, "b holds every hook and the listing", |o| {
        org.per_owner(o).is_some_and(|per| per.len() == 1 && per.contains_key(&b_name))
    })
    .await;
    stop(&mut b).await;
    org.app.world().settle().await;
    org.assert_exactly_once(&[&a, &b]);
    assert_quiet(&mut a).await;
    assert_quiet(&mut b).await;
}

/// SIGKILL of one replica while the hooks drain: the survivor takes its hooks and the listing
/// within the lease and a claim, lists the organization from then on, and finishes the drain;
/// nothing is sent twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_replica_s_hooks_and_listing_are_taken_over_and_nothing_is_sent_twice() {
    let org = organization(App::start().await, 10, 4, "150ms", "2s");
    let mut a = org.replica();
    let url_a = a.status_url().await;
    let a_name = replica_name(&url_a).await;
    wait_for_owners(&url_a, 30, "a holds every hook and the listing", |o| {
        org.per_owner(o).is_some_and(|per| per.len() == 1 && per.contains_key(a_name.as_deref().unwrap_or_default()))
    })
    .await;
    let mut b = org.replica();
    let url_b = b.status_url().await;
    let b_name = replica_name(&url_b).await.expect("b is named");
    wait_for_owners(&url_b, 30, "the hooks spread over both", |o| org.per_owner(o).is_some_and(|per| per.len() == 2))
        .await;
    wait_until(StdDuration::from_secs(30), "a few redeliveries", || org.sent() >= 3).await;
    assert!(org.sent() < org.guids.len(), "killed mid-drain, not after it");
    a.signal("KILL");
    let _ = a.exit_code(10).await;
    // Within the lease (2 s) and a claim, with room for a loaded machine.
    wait_for_owners(&url_b, 15, "b holds every hook and the listing", |o| {
        org.per_owner(o).is_some_and(|per| per.len() == 1 && per.contains_key(&b_name))
    })
    .await;
    wait_until(StdDuration::from_secs(60), "b lists the organization now", || {
        org.shared().is_some_and(|(_, lister)| lister == b_name)
    })
    .await;
    wait_until(StdDuration::from_secs(60), "every failed event redelivered", || org.sent() == org.guids.len()).await;
    stop(&mut b).await;
    org.app.world().settle().await;
    org.assert_exactly_once(&[&a, &b]);
    assert_quiet(&mut b).await;
}

//! `watch`'s direct delivery (issue 12, docs/archive.md): events still failed at GitHub's
//! horizon replayed from the archive once the receiver answers (`replay_past_horizon`), and
//! pull mode (`deliver_to`): every event delivered by `watch` itself to a receiver GitHub
//! cannot reach, within a poll of its arrival, exactly once, across a SIGKILL.

use crate::harness::report::Answer;
use crate::harness::{APP_ID, App, wait_until};
use redeliver_sim::{Receiver, ReceiverMode};
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// The hook's secret in the harness; the receivers check signatures with it.
const HOOK_SECRET: &str = "test-hook-secret";

/// A config file with the App's target and `extra` keys in it.
fn config(app: &App, extra: &str) -> PathBuf {
    let path = app.dir.path().join("direct.toml");
    let text = format!(
        "[[target]]\nname = \"app\"\napi_url = \"{}\"\napp_id = \"{APP_ID}\"\nprivate_key_file = \"{}\"\nsecret_env = \"HOOK_SECRET\"\n{extra}\n",
        app.sim.base_url(),
        app.key_path().display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

fn watch_args(config: &std::path::Path) -> Vec<String> {
    ["watch", "--config", config.to_str().unwrap(), "--interval", "300ms", "--pace", "0s", "--listen", "127.0.0.1:0"]
        .map(String::from)
        .to_vec()
}

/// Successful posts per GUID at `receiver`.
fn successes(receiver: &Receiver) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in receiver.received().into_iter().filter(|r| r.status == 200) {
        *out.entry(r.guid).or_default() += 1;
    }
    out
}

/// `n` events fired at the hook (GitHub posts each to its URL once).
async fn fire(app: &App, n: usize, guids: &mut Vec<String>, ids: &mut Vec<u64>) {
    for i in 0..n {
        let d = app.world().deliver(app.hook, "push", None, serde_json::json!({ "n": guids.len(), "i": i })).await;
        ids.push(d.id);
        guids.push(d.guid);
    }
}

/// GETs of one delivery's record (not of a longer id that starts with the same digits).
pub fn gets(app: &App, id: u64) -> usize {
    let path = format!("/deliveries/{id}");
    app.requests_matching("GET", &path).iter().filter(|p| p.ends_with(&path)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pull_mode_delivers_every_event_within_a_poll_exactly_once_across_a_kill() {
    let app = App::start().await;
    // The hook's GitHub-facing URL always fails; the private receiver is only reachable from here.
    app.receiver.set_mode(ReceiverMode::Status(502));
    let private = Receiver::start(Some(HOOK_SECRET)).await.unwrap();
    private.refuse_bad_signatures();
    let config = config(&app, &format!("deliver_to = \"{}\"", private.url()));
    let (mut guids, mut ids) = (Vec::new(), Vec::new());
    fire(&app, 4, &mut guids, &mut ids).await;

    let mut daemon = app.command(watch_args(&config)).env("HOOK_SECRET", HOOK_SECRET).spawn();
    let url = daemon.status_url().await;
    let all_in = |guids: &[String]| {
        let got = successes(&private);
        guids.iter().all(|g| got.contains_key(g))
    };
    wait_until(Duration::from_secs(30), "the first events delivered", || all_in(&guids)).await;
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("redeliver_replays_total{target=\"app\",answer=\"delivered\"} 4"), "{metrics}");

    // Killed while idle (every event so far delivered), events arrive while it is down, and
    // it starts again.
    daemon.signal("KILL");
    daemon.exit_code(10).await;
    fire(&app, 3, &mut guids, &mut ids).await;
    let mut daemon = app.command(watch_args(&config)).env("HOOK_SECRET", HOOK_SECRET).spawn();
    daemon.status_url().await;
    wait_until(Duration::from_secs(30), "the events of the outage delivered", || all_in(&guids)).await;

    // Each new event arrives within one poll of its arrival: the poll under way when it fired
    // may have listed before it, the next one lists it and delivers it.
    for _ in 0..3 {
        let before = app.count_list_pages();
        fire(&app, 1, &mut guids, &mut ids).await;
        wait_until(Duration::from_secs(30), "a new event delivered", || all_in(&guids)).await;
        let polls = app.count_list_pages() - before;
        assert!(polls <= 2, "delivered after {polls} polls");
    }
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "{}", daemon.seen.join("\n"));

    let got = successes(&private);
    for g in &guids {
        assert_eq!(got.get(g), Some(&1), "{g}: exactly once");
    }
    assert_eq!(private.received().len(), guids.len(), "no other post");
    assert!(private.received().iter().all(|r| r.signature_valid == Some(true)), "signed with the hook's secret");
    assert_eq!(app.count_requests("POST", "/attempts"), 0, "GitHub is never asked to redeliver");
    for id in &ids {
        assert_eq!(gets(&app, *id), 1, "one GET per event");
    }
    let history = app.command(["history", "--json", "--limit", "1000"]).await.history();
    assert_eq!(history.iter().filter(|h| h.answer == Answer::Replayed).count(), guids.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_past_the_horizon_is_replayed_once_the_receiver_answers_again() {
    let app = App::start().await;
    let world = app.world();
    app.receiver.set_mode(ReceiverMode::Status(503));
    let mut guids = Vec::new();
    for i in 0..3 {
        guids.push(world.deliver(app.hook, "issues", Some("opened"), serde_json::json!({ "n": i })).await.guid);
    }
    // A horizon of seconds plays GitHub's three days; no rung of GitHub's comes before it.
    let config = config(&app, "replay_past_horizon = true\nhorizon = \"2s\"\nladder = \"1d\"");
    let mut daemon = app.command(watch_args(&config)).env("HOOK_SECRET", HOOK_SECRET).spawn();
    let url = daemon.status_url().await;
    // Still down when the horizon passes: a replay is tried and refused.
    // Besides the originals, the receiver also sees the canaries GitHub redelivers while it is
    // down (issue 11): a 503 beyond those is a replay.
    let replay_refused = || {
        let canaries = app.count_requests("POST", "/attempts");
        app.receiver.received().iter().filter(|r| r.status == 503).count() > guids.len() + canaries
    };
    wait_until(Duration::from_secs(30), "a replay refused while the receiver is down", replay_refused).await;
    app.receiver.set_mode(ReceiverMode::Up);
    let all_in = || {
        let got = successes(&app.receiver);
        guids.iter().all(|g| got.contains_key(g))
    };
    wait_until(Duration::from_secs(30), "every event replayed once the receiver answers", all_in).await;
    // A few more polls: nothing is sent twice.
    let polls = app.count_list_pages();
    wait_until(Duration::from_secs(30), "three more polls", || app.count_list_pages() >= polls + 3).await;
    let page = reqwest::get(format!("{url}/")).await.unwrap().text().await.unwrap();
    assert!(page.contains("Direct deliveries"), "{page}");
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("redeliver_replays_total{target=\"app\",answer=\"delivered\"} 3"), "{metrics}");
    assert!(metrics.contains("redeliver_replays_owed{target=\"app\"} 0"), "{metrics}");
    assert!(metrics.contains("redeliver_last_replay_failure_timestamp_seconds{target=\"app\"}"), "{metrics}");
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "{}", daemon.seen.join("\n"));

    let got = successes(&app.receiver);
    for g in &guids {
        assert_eq!(got.get(g), Some(&1), "{g}: exactly once");
    }
    assert!(app.receiver.received().iter().all(|r| r.signature_valid == Some(true)));
    // Three 503s are an outage (issue 11): one canary at once, within the horizon; none after it.
    assert!(app.count_requests("POST", "/attempts") <= 1, "past the horizon GitHub is not asked");
    let history = app.command(["history", "--json", "--limit", "1000"]).await.history();
    let replayed = history.iter().filter(|h| h.answer == Answer::Replayed).count();
    assert!(replayed > guids.len(), "the refused try and the delivered one are both in history: {history:?}");
    // Delivered: `replay` (failed events by default) finds nothing left to send.
    let dry = app.command(["replay", "--dry-run"]).await;
    dry.assert_code(0);
    assert!(!dry.stdout.contains("would_send"), "{}", dry.stdout);
}

/// A ten-day receiver outage on a github.com-style hook, GitHub's clock running 50,000 times
/// faster: every event reaches the receiver exactly once, by GitHub's redelivery while GitHub
/// still holds it (three days), by a replay from the archive after. Token auth: a JWT made on
/// this machine's clock would be expired on GitHub's.
///
/// The default policy: outage awareness holds the ladder while the receiver is down (one canary
/// per probe interval, charged to no rung), so no event reaches its cap; the events that reach
/// GitHub's horizon are given up for `outage`, owed a replay, and replayed once it answers.
///
/// `overlap = "2d"`: a pass dates its start by GitHub's clock as learned from the listing's
/// answers, late by the time the listing took; at 50,000× a listing that takes a second on a
/// loaded machine is 14 hours of GitHub's time, which the default overlap (5 minutes) does not
/// cover, and the next window would start after events fired during the listing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ten_day_outage_loses_nothing_and_delivers_nothing_twice() {
    let app = App::start().await;
    let world = app.world();
    world.add_token("ghp_outage_token");
    let receiver = Receiver::start(Some(HOOK_SECRET)).await.unwrap();
    receiver.refuse_bad_signatures();
    let hook = world.add_repo_hook("octo", "shop", &receiver.url(), Some(HOOK_SECRET));
    let config = app.dir.path().join("outage.toml");
    std::fs::write(
        &config,
        format!(
            "[[target]]\nname = \"shop\"\nkind = \"repo\"\nrepo = \"octo/shop\"\nhook_id = {hook}\napi_url = \"{}\"\n\
             token_env = \"SHOP_TOKEN\"\nsecret_env = \"HOOK_SECRET\"\nreplay_past_horizon = true\n\
             overlap = \"2d\"\n",
            app.sim.base_url()
        ),
    )
    .unwrap();

    receiver.set_mode(ReceiverMode::Down);
    world.set_time_scale(50_000);
    let start = world.now();
    let mut daemon =
        app.command(watch_args(&config)).env("HOOK_SECRET", HOOK_SECRET).env("SHOP_TOKEN", "ghp_outage_token").spawn();
    daemon.status_url().await;
    // An event every 20 hours of GitHub's time, for nine days, while the receiver is down.
    let mut guids = Vec::new();
    for k in 0..12 {
        let at = start + chrono::Duration::hours(20 * k);
        wait_until(Duration::from_secs(30), "GitHub's clock to move on", || world.now() >= at).await;
        guids.push(world.deliver(hook, "push", None, serde_json::json!({ "k": k })).await.guid);
    }
    let back = start + chrono::Duration::days(10);
    wait_until(Duration::from_secs(30), "ten days of GitHub's time", || world.now() >= back).await;
    receiver.set_mode(ReceiverMode::Up);
    let all_in = || {
        let got = successes(&receiver);
        guids.iter().all(|g| got.contains_key(g))
    };
    if !crate::harness::poll_until(Duration::from_secs(60), all_in).await {
        daemon.signal("TERM");
        let _ = daemon.exit_code(20).await;
        let got = successes(&receiver);
        let missing: Vec<_> = guids.iter().enumerate().filter(|(_, g)| !got.contains_key(*g)).collect();
        let mut detail = Vec::new();
        for (k, g) in &missing {
            let history = app.command(["history", "--json", "--guid", g.as_str()]).await.stdout;
            detail.push(format!("#{k} {g}: {:#?}\nhistory: {history}", world.attempts_for(g)));
        }
        panic!("never arrived:\n{}\nstderr:\n{}", detail.join("\n"), daemon.seen.join("\n"));
    }
    // A day more of GitHub's time: nothing arrives twice.
    let later = world.now() + chrono::Duration::days(1);
    wait_until(Duration::from_secs(30), "a day more", || world.now() >= later).await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "{}", daemon.seen.join("\n"));
    world.settle().await;

    let got = successes(&receiver);
    for g in &guids {
        assert_eq!(got.get(g), Some(&1), "{g}: exactly once");
    }
    assert!(receiver.received().iter().all(|r| r.signature_valid == Some(true)), "GitHub's and ours, all signed");
    // Both ways were needed: the oldest events only a replay could bring, the newest GitHub did.
    let by_github = |g: &String| world.attempts_for(g).iter().any(|a| a.redelivery && a.status_code == 200);
    assert!(!by_github(&guids[0]), "nine days old at the end of the outage: past GitHub's horizon");
    assert!(by_github(&guids[11]), "a day old: GitHub redelivered it");
    let history = app.command(["history", "--json", "--limit", "100000"]).await.history();
    let replayed_ok: Vec<_> = history
        .iter()
        .filter(|h| h.answer == Answer::Replayed && h.detail.as_deref().is_some_and(|d| d.starts_with("HTTP 200")))
        .map(|h| h.guid.clone())
        .collect();
    assert!(replayed_ok.contains(&guids[0]), "{history:?}");
    for g in &guids {
        assert!(by_github(g) != replayed_ok.contains(g), "{g}: delivered one way, not both");
    }
}

/// An event given up at the horizon by a pass that did not note it owed (killed in between,
/// so its window is listed again; played here by a `run`, which never delivers directly, with
/// `--since`, which leaves the stored time as it was) is still replayed by the next `watch`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_given_up_at_the_horizon_before_watch_is_replayed_by_it() {
    let app = App::start().await;
    let old = chrono::Utc::now() - chrono::Duration::minutes(10);
    let failed = app.record(redeliver_sim::NewAttempt::new("push", 503, old));
    let config = config(&app, "replay_past_horizon = true\nhorizon = \"5m\"\nladder = \"1d\"");
    let run = app
        .command(["run", "--config", config.to_str().unwrap(), "--since", "1h"])
        .env("HOOK_SECRET", HOOK_SECRET)
        .await;
    run.assert_code(1);
    assert!(run.stdout.contains("given up"), "{}", run.stdout);
    assert!(app.receiver.received().is_empty(), "run posts nothing itself");

    let mut daemon = app.command(watch_args(&config)).env("HOOK_SECRET", HOOK_SECRET).spawn();
    daemon.status_url().await;
    let arrived = || successes(&app.receiver).contains_key(&failed.guid);
    wait_until(Duration::from_secs(30), "the event replayed by watch", arrived).await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "{}", daemon.seen.join("\n"));
    assert_eq!(successes(&app.receiver).get(&failed.guid), Some(&1));
    assert_eq!(Some(&app.receiver.received()[0].payload), app.world().payload(&failed.guid).as_ref());
}

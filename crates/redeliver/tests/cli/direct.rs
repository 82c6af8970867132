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
    let replay_refused = || app.receiver.received().iter().filter(|r| r.status == 503).count() > guids.len();
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
    assert_eq!(app.count_requests("POST", "/attempts"), 0, "past the horizon GitHub is not asked");
    let history = app.command(["history", "--json", "--limit", "1000"]).await.history();
    let replayed = history.iter().filter(|h| h.answer == Answer::Replayed).count();
    assert!(replayed > guids.len(), "the refused try and the delivered one are both in history: {history:?}");
    // Delivered: `replay` (failed events by default) finds nothing left to send.
    let dry = app.command(["replay", "--dry-run"]).await;
    dry.assert_code(0);
    assert!(!dry.stdout.contains("would_send"), "{}", dry.stdout);
}

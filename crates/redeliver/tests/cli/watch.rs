//! `redeliver watch` as an operator runs it: the real binary against the simulator, with real
//! signals, a real status page and real metrics.

use crate::harness::report::Answer;
use crate::harness::{App, poll_until, wait_until};
use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, ReceiverMode};
use std::collections::HashMap;
use std::time::Duration as StdDuration;

/// `secs` seconds, for [`wait_until`].
fn secs(secs: u64) -> StdDuration {
    StdDuration::from_secs(secs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chaos_every_event_arrives_none_after_success_none_past_the_cap_and_the_ledger_agrees() {
    let app = App::start().await;
    let world = app.world();
    // The receiver was down when 40 events fired.
    app.receiver.set_mode(ReceiverMode::Down);
    let mut guids = Vec::new();
    for i in 0..40 {
        let event = ["pull_request", "workflow_job", "push", "issues"][i % 4];
        guids.push(world.deliver(app.hook, event, Some("opened"), serde_json::json!({"n": i})).await.guid);
    }
    let cap = 30;
    let cap_text = cap.to_string();
    let flags = [
        "--interval",
        "300ms",
        "--ladder",
        "1s",
        "--max-attempts",
        &cap_text,
        "--pace",
        "0s",
        "--listen",
        "127.0.0.1:0",
        // The ladder's own behaviour into an outage, on purpose: outage awareness would hold
        // these events instead (tests/cli/outage.rs plays that).
        "--no-outage-awareness",
    ];
    let mut daemon = app.watch().args(flags).spawn();
    let url = daemon.status_url().await;
    // Still down for a stretch: a few polls, and every event redelivered into the outage at
    // least once (its first rung is 1 s). Then flaky: 30 % of deliveries fail.
    let polls = || world.requests().iter().filter(|r| r.method == "GET" && r.path == "/app/hook/deliveries").count();
    let into_the_outage = || polls() >= 3 && guids.iter().all(|g| world.attempts_for(g).iter().any(|a| a.redelivery));
    wait_until(secs(30), "three polls and a redelivery of every event while the receiver is down", into_the_outage)
        .await;
    app.receiver.set_mode(ReceiverMode::FailRate { percent: 30 });
    let all_arrived = || guids.iter().all(|g| app.receiver.successes_for(g) > 0);
    // Not `wait_until`: when events are missing, the daemon is stopped first so that its whole
    // stderr is in the failure message.
    if !poll_until(secs(90), all_arrived).await {
        let missing = guids.iter().find(|g| app.receiver.successes_for(g) == 0).unwrap();
        daemon.signal("TERM");
        let _ = daemon.exit_code(20).await;
        panic!("{missing} never arrived: {:#?}\nstderr:\n{}", world.attempts_for(missing), daemon.seen.join("\n"));
    }

    // The daemon serves metrics an operator can scrape.
    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap().text().await.unwrap();
    let series = parse_metrics(&metrics);
    assert!(
        series.get("redeliver_redeliveries_total{target=\"app\",answer=\"accepted\"}").copied().unwrap_or(0.0) >= 40.0,
        "{metrics}"
    );
    assert!(series.get("redeliver_polls_total{target=\"app\"}").copied().unwrap_or(0.0) >= 2.0, "{metrics}");
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "clean exit on SIGTERM:\n{}", daemon.seen.join("\n"));
    world.settle().await;

    let history = app.command(["history", "--json", "--limit", "100000"]).await;
    history.assert_code(0);
    let mut ledger: HashMap<String, usize> = HashMap::new();
    for r in history.history() {
        assert_ne!(r.answer, Answer::Sending, "every request's answer was recorded");
        if r.answer == Answer::Accepted {
            *ledger.entry(r.guid).or_default() += 1;
        }
    }
    for g in &guids {
        let mut attempts = world.attempts_for(g);
        attempts.reverse(); // oldest first
        let first_success = attempts.iter().position(|a| (200..300).contains(&a.status_code)).expect("a success");
        assert_eq!(first_success, attempts.len() - 1, "{g}: redelivered after it had succeeded: {attempts:#?}");
        assert!(attempts.len() <= cap, "{g}: {} attempts, cap {cap}", attempts.len());
        let redeliveries = attempts.iter().filter(|a| a.redelivery).count();
        assert_eq!(ledger.get(g).copied().unwrap_or(0), redeliveries, "{g}: the ledger agrees with GitHub's record");
    }
}

/// `name{labels} value` lines of the Prometheus text format.
fn parse_metrics(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap_or_else(|| panic!("bad metric line {l:?}"));
            (series.to_string(), value.parse().unwrap_or_else(|_| panic!("bad value in {l:?}")))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_batch_the_next_start_sends_none_twice_and_misses_none() {
    let app = App::start().await;
    let guids: Vec<_> = (0..20)
        // 500: the receiver answers and refuses (a 503 from many events would be an outage).
        .map(|i| app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(30 + i))).guid)
        .collect();
    let mut first = app.command(["run", "--pace", "250ms"]).args(app.app_flags()).spawn();
    wait_until(secs(30), "some redeliveries sent", || app.count_requests("POST", "/attempts") >= 5).await;
    first.signal("KILL");
    first.exit_code(10).await;
    app.world().settle().await;
    let sent_before = app.count_requests("POST", "/attempts");
    assert!(sent_before < 20, "killed in the middle of the batch ({sent_before} sent)");
    // The next start, once a rung (1 s here) has passed for the one that may have been in flight.
    let newest = guids.iter().flat_map(|g| app.world().attempts_for(g)).map(|a| a.delivered_at).max().unwrap();
    let rung_passed = || Utc::now() >= newest + Duration::milliseconds(1200);
    wait_until(secs(10), "a rung (and a margin) past the newest attempt", rung_passed).await;
    let out = app.run().json().args(["--ladder", "1s"]).await;
    out.assert_code(0);
    app.world().settle().await;
    for g in &guids {
        let redeliveries = app.world().attempts_for(g).iter().filter(|a| a.redelivery).count();
        assert_eq!(redeliveries, 1, "{g}: exactly one redelivery across the crash");
        assert_eq!(app.receiver.successes_for(g), 1, "{g}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_state_the_second_refuses_and_nothing_is_sent_twice() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10))).guid;
    let flags = ["--interval", "1h", "--listen", "off", "--pace", "0s"];
    let mut daemon = app.watch().args(flags).spawn();
    daemon.wait_for("watching 1 target", 30).await;
    wait_until(secs(30), "the first poll redelivered", || app.count_requests("POST", "/attempts") == 1).await;

    let run = app.run().json().args(["--ladder", "0s"]).await;
    run.assert_code(4);
    assert!(run.stderr.contains("another redeliver process"), "{}", run.stderr);
    let mut second = app.watch().args(flags).spawn();
    assert_eq!(second.exit_code(30).await, 4);
    assert!(second.seen.is_empty() || second.seen.iter().any(|l| l.contains("another redeliver process")));

    daemon.signal("INT");
    assert_eq!(daemon.exit_code(20).await, 0);
    app.world().settle().await;
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
    assert_eq!(app.receiver.successes_for(&guid), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_given_up_event_is_notified_and_summarised_for_github_actions() {
    let app = App::start().await;
    let sink = redeliver_sim::Receiver::start(None).await.unwrap();
    let poison = app.record(NewAttempt::new("installation", 400, Utc::now() - Duration::hours(2))).guid;
    for i in 1..3 {
        app.record(
            NewAttempt::new("installation", 400, Utc::now() - Duration::hours(2) + Duration::minutes(i))
                .guid(&poison)
                .redelivery(true),
        );
    }
    // watch: the notification goes to a URL (Slack-compatible `text`).
    let sink_url = sink.url();
    let flags = ["--interval", "1h", "--listen", "off", "--max-attempts", "3", "--notify-url", &sink_url];
    let mut daemon = app.watch().args(flags).spawn();
    wait_until(secs(30), "the notification", || !sink.received().is_empty()).await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
    let note = &sink.received()[0].payload;
    assert!(note["text"].as_str().unwrap().contains(&poison), "{note}");
    assert_eq!(note["reason"], "cap");
    assert_eq!(note["attempts"], 3);

    // run under GitHub Actions: a job summary and an annotation (the event is reported once per
    // state, so this uses a fresh state file).
    let summary = app.dir.path().join("summary.md");
    let fresh = app.dir.path().join("fresh.db");
    let out = app
        .run()
        .args(["--max-attempts", "3", "--state", fresh.to_str().unwrap()])
        .envs(&[("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.to_str().unwrap())])
        .await;
    out.assert_code(1);
    assert!(
        out.stdout.lines().any(|l| l.starts_with("::warning title=Webhook event given up::") && l.contains(&poison)),
        "{}",
        out.stdout
    );
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.contains("## redeliver") && md.contains(&poison) && md.contains("given up"), "{md}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_during_a_batch_finishes_the_request_in_flight_and_saves_state() {
    let app = App::start().await;
    let guids: Vec<_> = (0..10)
        // 500: the receiver answers and refuses (a 503 from many events would be an outage).
        .map(|i| app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(30 + i))).guid)
        .collect();
    let mut daemon = app.watch().args(["--interval", "1h", "--listen", "off", "--pace", "400ms"]).spawn();
    wait_until(secs(30), "the batch started", || app.count_requests("POST", "/attempts") >= 2).await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);
    daemon.wait_for("stopped; state saved", 5).await;
    let sent = app.count_requests("POST", "/attempts");
    assert!(sent < 10, "stopped early ({sent} sent)");
    // Every request sent was recorded with its answer; the rest are sent by the next pass.
    let history = app.command(["history", "--json"]).await.history();
    assert_eq!(history.len(), sent);
    assert!(history.iter().all(|r| r.answer == Answer::Accepted));
    app.world().settle().await;
    let out = app.run().json().await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered as usize, 10 - sent);
    app.world().settle().await;
    assert!(guids.iter().all(|g| app.receiver.successes_for(g) == 1));
}

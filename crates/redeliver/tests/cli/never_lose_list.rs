//! Issue 8's listing, acting, pacing and clock cases, end to end: the real binary against the
//! simulator with the fault that once made it lose or repeat a redelivery.

use crate::harness::App;
use crate::harness::report::{Answer, Outcome};
use chrono::{Duration, Utc};
use redeliver_sim::raw::{RawReply, RawServer};
use redeliver_sim::{Fault, FaultRule, NewAttempt};

const DELIVERIES: &str = "/app/hook/deliveries";

/// Case 4: GitHub's clock 10 minutes behind this machine's, more than the 5-minute overlap.
/// The stored time is on GitHub's clock, so an event that fails right after a pass is listed
/// by the next one and redelivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clock_ahead_of_githubs_still_sees_an_event_failing_right_after_a_pass() {
    let app = App::start().await;
    app.world().set_clock_skew(-Duration::minutes(10));
    let first = app.run().json().args(["--ladder", "0s"]).await;
    first.assert_code(0);
    let first = first.report();
    let skew = first.requests.clock_skew_seconds.expect("GitHub's Date was read");
    assert!((-601..=-599).contains(&skew), "skew {skew}");
    let written = first.state.written.expect("a stored time");
    // On GitHub's clock, to the second `Date` tells it (not ten minutes ahead of it).
    let latest = app.world().now() - Duration::minutes(5) + Duration::seconds(1);
    assert!(written <= latest, "stored on GitHub's clock: {written}, not after {latest}");

    let late = app.record(NewAttempt::new("push", 500, app.world().now())).guid;
    let second = app.run().json().args(["--ladder", "0s"]).await;
    second.assert_code(0);
    let second = second.report();
    assert_eq!(second.event(&late).outcome, Outcome::Redelivered, "{second:#?}");
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
}

/// Case 4, as a person sees it: `check` says how far GitHub's clock is, in words and in JSON.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_shows_githubs_clock_skew() {
    let app = App::start().await;
    app.world().set_clock_skew(Duration::minutes(3));
    let mut args = vec!["check".to_string()];
    args.extend(app.app_flags());
    let human = app.command(args.clone()).await;
    human.assert_code(0);
    assert!(
        human.stdout.contains("clock: GitHub's clock is 180 s ahead of this machine's")
            || human.stdout.contains("clock: GitHub's clock is 179 s ahead")
            || human.stdout.contains("clock: GitHub's clock is 181 s ahead"),
        "{}",
        human.stdout
    );
    let json = app.command(args).arg("--json").await;
    json.assert_code(0);
    let j: serde_json::Value = serde_json::from_str(&json.stdout).expect("check --json is JSON");
    assert_eq!(j["schema"], "redeliver.check/v1");
    assert_eq!(j["targets"][0]["ok"], true);
    let skew = j["targets"][0]["clock_skew_seconds"].as_i64().expect("a skew");
    assert!((179..=181).contains(&skew), "{j}");
}

/// Case 5: empty pages that link to a next one are read past; the failure behind them is found.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_pages_with_a_next_link_do_not_end_the_listing() {
    let app = App::start().await;
    let failed = app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(20))).guid;
    app.world().inject(FaultRule::new(DELIVERIES, Fault::EmptyPageWithNext).method("GET").times(3));
    let out = app.run().json().args(["--ladder", "0s"]).await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.pages, 4, "three empty pages, then the real one");
    assert_eq!(j.event(&failed).outcome, Outcome::Redelivered);
}

/// Case 5: a page whose items are none of them deliveries fails the pass (exit 3) and writes
/// nothing, instead of being skipped while the stored time moves past it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_items_that_are_not_deliveries_fails_the_pass_and_writes_nothing() {
    let app = App::start().await;
    let raw =
        RawServer::start(|_, _| RawReply::json(&[], r#"[{"id":"x"},{"guid":7},{"delivered_at":null}]"#)).await.unwrap();
    let out = app
        .command(["run", "--repo", "octo/infra", "--hook-id", "1", "--api-url", &raw.url(), "--json"])
        .env("TOKEN", "ghp_raw")
        .await;
    out.assert_code(3);
    assert!(out.stderr.contains("none was a delivery"), "{}", out.stderr);
    assert!(out.stdout.is_empty(), "no report for a failed pass: {}", out.stdout);
    assert!(!app.state_path().exists(), "nothing written");
    assert_eq!(raw.requests().len(), 1, "only the list was asked for");
}

/// Case 6: an event whose original succeeded long ago (before the stored time, several pages
/// back) later got a failed manual redelivery inside the window. The listing reads back to the
/// original, which wins: nothing is redelivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_success_pages_back_wins_over_a_later_failed_redelivery() {
    let app = App::start().await;
    let now = Utc::now();
    let fixed = app.record(NewAttempt::new("issues", 200, now - Duration::hours(3))).guid;
    for i in 0..150 {
        app.record(NewAttempt::new("push", 200, now - Duration::minutes(10 + i)));
    }
    app.run().json().await.assert_code(0);

    app.record(NewAttempt::new("issues", 500, Utc::now()).guid(&fixed).redelivery(true));
    let out = app.run().json().args(["--ladder", "0s"]).await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(app.count_requests("POST", "/attempts"), 0, "{j:#?}");
    assert!(j.events.iter().all(|e| e.guid != fixed), "{j:#?}");
    assert!(j.counts.pages >= 2, "read back to the original: {} pages", j.counts.pages);
}

/// Case 7: one failed attempt listed on many pages (each `next` page starts 99 items back)
/// counts once: it is redelivered, not given up at the cap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failed_attempt_listed_many_times_counts_once() {
    let app = App::start().await;
    let now = Utc::now();
    for i in 0..20 {
        app.record(NewAttempt::new("push", 200, now - Duration::minutes(200 - i)));
    }
    let failed = app.record(NewAttempt::new("push", 500, now - Duration::minutes(150))).guid;
    for i in 0..99 {
        app.record(NewAttempt::new("push", 200, now - Duration::minutes(100 - i)));
    }
    app.world().inject(FaultRule::new(DELIVERIES, Fault::RepeatItems { overlap: 99 }).method("GET").times(50));
    let out = app.run().json().args(["--ladder", "0s", "--max-attempts", "8"]).await;
    out.assert_code(0);
    let j = out.report();
    assert!(j.counts.pages > 8, "the failed attempt was listed on more pages than the cap: {}", j.counts.pages);
    let e = j.event(&failed);
    assert_eq!(e.attempts, 1);
    assert_eq!(e.outcome, Outcome::Redelivered);
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
}

/// Case 8: a redelivery GitHub never acted on (refused at authentication, or rate limited past
/// `--max-wait`) is withdrawn: it costs no rung, so the next pass sends it at once although the
/// second rung is an hour.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_post_github_never_acted_on_costs_no_rung() {
    for (fault, outcome) in [
        (Fault::Unauthorized, Outcome::Refused),
        (Fault::SecondaryRateLimit { retry_after: Some(3600) }, Outcome::Deferred),
    ] {
        let app = App::start().await;
        let failed = app.record(NewAttempt::new("push", 502, Utc::now() - Duration::minutes(20))).guid;
        app.world().inject(FaultRule::new(DELIVERIES, fault.clone()).method("POST").times(1));
        let flags = ["--ladder", "0s,1h", "--max-wait", "1s"];
        let first = app.run().json().args(flags).await;
        first.assert_code(1);
        let first = first.report();
        let e = first.event(&failed);
        assert_eq!(e.outcome, outcome, "{fault:?}");
        assert!(e.detail.as_deref().unwrap_or("").contains("not sent"), "{fault:?}: {e:?}");
        let history = app.command(["history", "--json"]).await.history();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].answer, Answer::NotSent, "{fault:?}");

        let second = app.run().json().args(flags).await;
        second.assert_code(0);
        assert_eq!(second.report().event(&failed).outcome, Outcome::Redelivered, "{fault:?}: no rung was spent");
        assert_eq!(app.count_requests("POST", "/attempts"), 2, "{fault:?}");
    }
}

/// Case 9: pace first, write down, then send: the `sending` row of each redelivery is written
/// right before its POST, not before the client's pause. `auto` starts at a one-second gap,
/// which only the client's own pacer knows (the host's floor is 100 ms).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sending_row_is_written_after_the_pause_right_before_the_post() {
    let app = App::start().await;
    for i in 0..3 {
        app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(20 + i)));
    }
    app.run().pace("auto").json().args(["--ladder", "0s"]).await.assert_code(0);
    let posts: Vec<_> =
        app.world().requests().into_iter().filter(|r| r.method == "POST" && r.path.ends_with("/attempts")).collect();
    let rows = app.command(["history", "--json"]).await.history();
    assert_eq!((posts.len(), rows.len()), (3, 3));
    for pair in posts.windows(2) {
        assert!(pair[1].at - pair[0].at >= Duration::milliseconds(900), "paced: {:?}", pair[1].at - pair[0].at);
    }
    for post in &posts {
        let row = rows.iter().find(|r| post.path.contains(&format!("/{}/", r.delivery_id))).expect("a row per POST");
        let gap = post.at - row.at;
        assert!(
            gap >= Duration::milliseconds(-50) && gap < Duration::milliseconds(500),
            "row at {}, POST at {}: the row must come right before the POST, not a pause earlier",
            row.at,
            post.at
        );
    }
}

/// Case 10: two targets on one host with one token, paces 2 s and 200 ms: the fast one's POST
/// waits for the slow one's gap, measured on the simulator's recorded times.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_targets_on_one_host_are_spaced_by_the_larger_pace() {
    let app = App::start().await;
    let w = app.world();
    w.add_token("ghp_shared");
    let receiver = &app.receiver;
    let slow = w.add_repo_hook("octo", "slow", &receiver.url(), None);
    let fast = w.add_repo_hook("octo", "fast", &receiver.url(), None);
    let past = Utc::now() - Duration::minutes(20);
    w.record_attempt(slow, NewAttempt::new("push", 500, past));
    w.record_attempt(fast, NewAttempt::new("push", 500, past));
    let config = app.dir.path().join("redeliver.toml");
    let target = |name: &str, hook: u64, pace: &str| {
        format!(
            "[[target]]\nname = \"{name}\"\nkind = \"repo\"\nrepo = \"octo/{name}\"\nhook_id = {hook}\napi_url = \"{}\"\ntoken_env = \"SHARED_TOKEN\"\npace = \"{pace}\"\nladder = \"0s\"\n\n",
            app.sim.base_url()
        )
    };
    std::fs::write(&config, target("slow", slow, "2s") + &target("fast", fast, "200ms")).unwrap();
    let out =
        app.command(["run", "--config", config.to_str().unwrap(), "--json"]).env("SHARED_TOKEN", "ghp_shared").await;
    out.assert_code(0);
    let posts: Vec<_> = w
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/attempts"))
        .map(|r| (r.path, r.at))
        .collect();
    assert_eq!(posts.len(), 2, "{posts:?}");
    assert!(posts[0].0.contains("/slow/"), "the slow target goes first: {posts:?}");
    let gap = posts[1].1 - posts[0].1;
    assert!(gap >= Duration::milliseconds(1990), "the larger pace (2 s) applies, not 200 ms: {gap:?}");
}

//! `redeliver run` as a user runs it: the real binary against the simulator, one scenario a test.

use crate::harness::App;
use crate::harness::report::{Answer, Outcome, Reason, WindowSource};
use chrono::{Duration, Utc};
use redeliver_sim::{Fault, FaultRule, NewAttempt, ReceiverMode, keys};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_deliveries_at_all_is_a_success_and_saves_the_time() {
    let app = App::start().await;
    let out = app.run().json().await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.deliveries_read, 0);
    assert_eq!(j.counts.pages, 1);
    assert!(j.state.written.is_some(), "{j:?}");
    assert!(app.state_path().exists());
    // The next run starts from the saved time.
    let again = app.run().json().await.report();
    assert_eq!(again.window.source, WindowSource::Stored);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_window_over_several_pages_finds_every_failure_and_reads_no_page_too_many() {
    let app = App::start().await;
    let now = Utc::now();
    // 250 attempts in the last 24 hours, 10 of them failed; 150 older ones beyond the look-back.
    let mut failed = vec![];
    for i in 0..250 {
        let code = if i % 25 == 3 { 502 } else { 200 };
        let r = app.record(NewAttempt::new("push", code, now - Duration::minutes(10 + 5 * i)));
        if code != 200 {
            failed.push(r.guid);
        }
    }
    for i in 0..150 {
        app.record(NewAttempt::new("push", 500, now - Duration::hours(30) - Duration::minutes(i)));
    }
    let out = app.run().json().await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.redelivered, 10, "{j:?}");
    let mut redelivered = j.guids();
    redelivered.sort();
    failed.sort();
    assert_eq!(redelivered, failed);
    // 250 in the window: pages 1-3 hold them, page 3 also reaches older ones, so 3 pages, not 4.
    assert_eq!(app.count_list_pages(), 3);
    assert_eq!(j.counts.pages, 3);
    assert_eq!(app.count_requests("POST", "/attempts"), 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stored_time_stops_the_listing_on_the_first_page() {
    let app = App::start().await;
    let now = Utc::now();
    for i in 0..300 {
        app.record(NewAttempt::new("push", 200, now - Duration::minutes(10 + 3 * i)));
    }
    app.run().json().await.assert_code(0);
    assert_eq!(app.count_list_pages(), 3);
    app.world().clear_requests();
    for _ in 0..5 {
        app.record(NewAttempt::new("push", 500, Utc::now()));
    }
    let j = app.run().json().await.report();
    assert_eq!(app.count_list_pages(), 1, "{j:?}");
    assert_eq!(j.counts.failed_events, 5);
    assert_eq!(j.counts.waiting, 5, "failures seconds old wait for the first rung");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_with_a_success_is_never_redelivered_and_several_failures_give_one_redelivery() {
    let app = App::start().await;
    let now = Utc::now();
    let fixed = app.record(NewAttempt::new("issues", 500, now - Duration::minutes(50)).action("opened")).guid;
    app.record(
        NewAttempt::new("issues", 202, now - Duration::minutes(40)).guid(&fixed).status("Accepted").redelivery(true),
    );
    // Three failed attempts; the third rung (30 min) after the newest has passed.
    let broken = app.record(NewAttempt::new("pull_request", 500, now - Duration::minutes(120))).guid;
    app.record(NewAttempt::new("pull_request", 0, now - Duration::minutes(100)).guid(&broken).redelivery(true));
    let newest =
        app.record(NewAttempt::new("pull_request", 503, now - Duration::minutes(90)).guid(&broken).redelivery(true));
    let out = app.run().json().await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.succeeded_events, 1);
    let events = &j.events;
    assert_eq!(events.len(), 1, "{j:?}");
    assert_eq!(events[0].guid, broken);
    assert_eq!(events[0].attempts, 3);
    assert_eq!(events[0].delivery_id, Some(newest.id));
    let posts = app.requests_matching("POST", "/attempts");
    assert_eq!(posts, vec![format!("/app/hook/deliveries/{}/attempts", newest.id)]);
    app.world().settle().await;
    assert_eq!(app.receiver.successes_for(&broken), 1);
    assert_eq!(app.receiver.successes_for(&fixed), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_older_than_the_first_runs_look_back_is_left_alone() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::hours(30)));
    let j = app.run().json().await.report();
    assert_eq!(j.counts.failed_events, 0);
    assert_eq!(app.count_requests("POST", "/attempts"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_502_on_a_page_is_retried() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    app.world().inject(FaultRule::new("/app/hook/deliveries", Fault::Status(502)).method("GET").times(1));
    let out = app.run().json().await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 1);
    assert_eq!(app.count_list_pages(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_secondary_rate_limit_is_waited_out_without_losing_or_doubling_a_redelivery() {
    let app = App::start().await;
    let guids: Vec<_> =
        (0..4).map(|i| app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10 + i))).guid).collect();
    app.world().inject(
        FaultRule::new("/app/hook/deliveries/", Fault::SecondaryRateLimit { retry_after: Some(1) })
            .method("POST")
            .times(1),
    );
    let out = app.run().json().await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 4);
    assert_eq!(app.count_requests("POST", "/attempts"), 5, "4 redeliveries and the one the limit refused");
    app.world().settle().await;
    for g in &guids {
        let redeliveries = app.world().attempts_for(g).iter().filter(|a| a.redelivery).count();
        assert_eq!(redeliveries, 1, "{g}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_redelivery_does_not_stop_the_others() {
    let app = App::start().await;
    let ids: Vec<_> =
        (0..3).map(|i| app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10 + i))).id).collect();
    app.world().inject(
        FaultRule::new(&format!("/app/hook/deliveries/{}/attempts", ids[1]), Fault::Status(422))
            .method("POST")
            .times(10),
    );
    let out = app.run().json().await;
    out.assert_code(1);
    let j = out.report();
    assert_eq!(j.counts.redelivered, 2, "{j:?}");
    assert_eq!(j.counts.refused, 1);
    assert!(j.state.written.is_some());
    assert!(out.stdout_human_or_json_mentions(&ids[1].to_string()));
    // The refusal is in the ledger, so `history` shows it.
    let h = app.command(["history", "--json"]).await;
    h.assert_code(0);
    let answers: Vec<_> = h.history().iter().map(|r| r.answer).collect();
    assert_eq!(answers.iter().filter(|a| **a == Answer::Refused).count(), 1);
    assert_eq!(answers.iter().filter(|a| **a == Answer::Accepted).count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_key_exits_with_a_clear_error_before_any_request() {
    let app = App::start().await;
    let out = app.run().private_key_file("/nonexistent/key.pem").await;
    out.assert_code(2);
    assert!(out.stderr.contains("cannot read the private key file /nonexistent/key.pem"), "{}", out.stderr);
    assert!(app.world().requests().is_empty());
    assert!(!app.state_path().exists());
    let garbage = app.run().private_key_env("not a key at all").json().await;
    garbage.assert_code(2);
    assert!(garbage.stderr.contains("PRIVATE_KEY"), "{}", garbage.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_exits_with_githubs_message_and_writes_nothing() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    let out = app.run().private_key_env(keys::OTHER_KEY).json().await;
    out.assert_code(3);
    assert!(out.stderr.contains("401") || out.stderr.to_lowercase().contains("json web token"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert!(!app.state_path().exists(), "nothing written");
    assert_eq!(app.count_requests("POST", "/attempts"), 0);
    out.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_sends_nothing_and_writes_nothing() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    let out = app.run().json().args(["--dry-run"]).await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.would_redeliver, 1);
    assert!(j.state.written.is_none());
    assert_eq!(app.count_requests("POST", ""), 0);
    assert!(!app.state_path().exists());
    let human = app.run().arg("--dry-run").await;
    assert!(human.stdout.contains("would_redeliver"), "{}", human.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_scripts_variable_is_read_created_and_updated_in_its_format() {
    let app = App::start().await;
    app.world().add_token("ghp_workflowtoken");
    let env = [
        ("LAST_REDELIVERY_VARIABLE_NAME", "LAST_REDELIVERY"),
        ("TOKEN", "ghp_workflowtoken"),
        ("WORKFLOW_REPO_OWNER", "octo"),
        ("WORKFLOW_REPO", "ops"),
    ];
    let out = app.run().envs(&env).json().await;
    out.assert_code(0);
    let created = app.world().variable("octo", "ops", "LAST_REDELIVERY").expect("created");
    assert!(created.len() >= 13 && created.chars().all(|c| c.is_ascii_digit()), "{created}");
    assert_eq!(app.count_requests("POST", "/repos/octo/ops/actions/variables"), 1);
    // A value written by the docs script two hours ago: failures before it are not listed again.
    let two_hours_ago = (Utc::now() - Duration::hours(2)).timestamp_millis().to_string();
    app.world().set_variable("octo", "ops", "LAST_REDELIVERY", &two_hours_ago);
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::hours(3)));
    let recent = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(30))).guid;
    let out = app.run().envs(&env).json().await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.window.source, WindowSource::Stored);
    assert_eq!(j.counts.redelivered, 1, "{j:?}");
    assert_eq!(j.events[0].guid, recent);
    let updated: i64 = app.world().variable("octo", "ops", "LAST_REDELIVERY").unwrap().parse().unwrap();
    assert!(updated > two_hours_ago.parse::<i64>().unwrap());
    assert_eq!(app.count_requests("PATCH", "/repos/octo/ops/actions/variables/LAST_REDELIVERY"), 1);
    out.assert_no_secrets();
    assert!(!out.stdout.contains("ghp_workflowtoken") && !out.stderr.contains("ghp_workflowtoken"));
    let bad = app
        .run()
        .envs(&[("LAST_REDELIVERY_VARIABLE_NAME", "GITHUB_LAST"), ("TOKEN", "t"), ("GITHUB_REPOSITORY", "o/r")])
        .json()
        .await;
    bad.assert_code(2);
    assert!(bad.stderr.contains("GITHUB_"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pkcs8_and_backslash_n_escaped_keys_work() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    let pkcs8 = app.run().private_key_env(keys::TEST_APP_KEY_PKCS8).json().await;
    pkcs8.assert_code(0);
    let escaped = keys::TEST_APP_KEY_PKCS1.trim().replace('\n', "\\n");
    let out = app.run().private_key_env(&escaped).json().await;
    out.assert_code(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn base_urls_with_and_without_api_v3_work() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    let ghes = app.run().without_api_url().json().args(["--api-url", &app.sim.ghes_base_url(), "--dry-run"]).await;
    ghes.assert_code(0);
    assert_eq!(ghes.report().counts.would_redeliver, 1);
    // The docs script's HOSTNAME: a host means http(s)://HOST/api/v3.
    let host = app.sim.base_url();
    let via_hostname = app.run().without_api_url().json().arg("--dry-run").env("HOSTNAME", &host).await;
    via_hostname.assert_code(0);
    assert!(via_hostname.report().api_url.ends_with("/api/v3"));
    assert!(app.world().requests().iter().all(|r| r.status < 400), "every request answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_seconds_apart_leave_a_just_failed_event_alone() {
    let app = App::start().await;
    app.receiver.set_mode(ReceiverMode::Down);
    let guid = app.record(NewAttempt::new("workflow_job", 0, Utc::now() - Duration::minutes(10)).action("queued")).guid;
    app.run().json().await.assert_code(0);
    app.world().settle().await;
    assert_eq!(app.world().attempts_for(&guid).len(), 2);
    let j = app.run().json().await.report();
    assert_eq!(j.counts.waiting, 1, "{j:?}");
    assert_eq!(j.events[0].attempts, 2);
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_past_the_cap_or_the_horizon_are_given_up_and_reported_once() {
    let app = App::start().await;
    let now = Utc::now();
    let capped = app.record(NewAttempt::new("push", 500, now - Duration::hours(20))).guid;
    for i in 1..8 {
        app.record(NewAttempt::new("push", 500, now - Duration::hours(20 - 2 * i)).guid(&capped).redelivery(true));
    }
    let old = app.record(NewAttempt::new("issues", 500, now - Duration::hours(25))).guid;
    let out = app.run().json().args(["--lookback", "2d", "--horizon", "1d"]).await;
    out.assert_code(1);
    let j = out.report();
    assert_eq!(j.counts.given_up, 2, "{j:?}");
    let reason = |g: &str| j.event(g).reason;
    assert_eq!(reason(&capped), Some(Reason::Cap));
    assert_eq!(reason(&old), Some(Reason::Horizon));
    assert_eq!(app.count_requests("POST", "/attempts"), 0);
    let human = app.run().args(["--horizon", "1d", "--since", "2d"]).await;
    assert!(!human.stdout.contains("given_up "), "reported once: {}", human.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_and_max_redeliveries_narrow_a_run() {
    let app = App::start().await;
    let now = Utc::now();
    for (i, (event, action)) in
        [("push", None), ("pull_request", Some("opened")), ("pull_request", Some("closed")), ("issues", Some("opened"))]
            .iter()
            .enumerate()
    {
        let mut a = NewAttempt::new(event, 500, now - Duration::minutes(60 - i as i64));
        if let Some(action) = action {
            a = a.action(action);
        }
        app.record(a);
    }
    let j = app
        .run()
        .json()
        .args(["--dry-run", "--event", "pull_request,issues", "--exclude-event", "pull_request.closed"])
        .await
        .report();
    assert_eq!(j.counts.would_redeliver, 2, "{j:?}");
    assert_eq!(j.counts.filtered, 2);
    let j = app.run().json().args(["--max-redeliveries", "1"]).await.report();
    assert_eq!(j.counts.redelivered, 1);
    assert_eq!(j.counts.deferred, 3);
    assert_eq!(j.events[0].event, "push", "oldest first");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_key_never_appears_in_any_output() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    for args in [vec!["-vv"], vec!["-vv", "--json"], vec!["--dry-run", "-vv"]] {
        let out = app.run().private_key_env(keys::TEST_APP_KEY_PKCS1).env("RUST_LOG", "trace").args(args).await;
        out.assert_no_secrets();
    }
    let broken = app.run().private_key_env(&keys::TEST_APP_KEY_PKCS1[..400]).json().await;
    broken.assert_code(2);
    broken.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_pass_on_the_same_state_refuses_while_the_first_holds_it() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    // Another process holds the state: the same OS lock the binary takes.
    let held = redeliver_core::state::StateLock::acquire(&app.state_path()).unwrap();
    let out = app.run().json().await;
    out.assert_code(4);
    assert!(out.stderr.contains("another redeliver process"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:"), "{}", out.stderr);
    assert_eq!(app.count_requests("POST", "/attempts"), 0, "nothing sent without the lock");
    drop(held);
    let out = app.run().json().await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_answer_is_a_clear_error_and_writes_nothing() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    app.world().inject(FaultRule::new("/app/hook/deliveries", Fault::MalformedJson).method("GET").times(10));
    let out = app.run().json().await;
    out.assert_code(3);
    assert!(out.stderr.starts_with("error: "), "{}", out.stderr);
    assert!(out.stderr.to_lowercase().contains("deliveries"), "names the endpoint: {}", out.stderr);
    assert!(!app.state_path().exists());
    assert!(out.stdout.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ambiguous_redelivery_is_not_sent_twice_and_the_next_pass_sees_githubs_record() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10))).guid;
    // GitHub answers 502: the client cannot know whether the redelivery happened.
    app.world().inject(FaultRule::new("/app/hook/deliveries/", Fault::Status(502)).method("POST").times(1));
    let out = app.run().json().await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.counts.ambiguous, 1, "{j:?}");
    assert_eq!(app.count_requests("POST", "/attempts"), 1, "never re-sent in the same pass");
    let again = app.run().json().await.report();
    assert_eq!(again.counts.waiting, 1, "the next pass waits its rung: {again:?}");
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
    let _ = guid;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exhausted_primary_rate_limit_is_waited_out_until_its_reset() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    app.world().set_rate_limit(5000, 0, std::time::Duration::from_secs(2));
    let out = app.run().json().await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 1);
    let limited = app.world().requests().iter().filter(|r| r.status == 403).count();
    assert_eq!(limited, 1, "one refused request, then a wait for the reset, not a hammering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_longer_than_max_wait_stops_the_pass_cleanly() {
    let app = App::start().await;
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    app.world().set_rate_limit(5000, 0, std::time::Duration::from_secs(3600));
    let out = app.run().json().args(["--max-wait", "1s"]).await;
    out.assert_code(3);
    assert!(out.stderr.to_lowercase().contains("rate limit"), "{}", out.stderr);
    assert!(!app.state_path().exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn since_and_until_recover_an_incident_window_without_moving_the_stored_time() {
    let app = App::start().await;
    let now = Utc::now();
    app.run().json().await.assert_code(0);
    let stored = app.run().json().args(["--dry-run"]).await.report().state.previous;
    let inside = app.record(NewAttempt::new("push", 500, now - Duration::hours(5))).guid;
    app.record(NewAttempt::new("push", 500, now - Duration::hours(9)));
    app.record(NewAttempt::new("push", 500, now - Duration::hours(1)));
    let out = app.run().json().args(["--since", "6h", "--until", "4h"]).await;
    out.assert_code(0);
    let j = out.report();
    assert_eq!(j.window.source, WindowSource::Since);
    assert_eq!(j.counts.redelivered, 1, "{j:?}");
    assert_eq!(j.events[0].guid, inside);
    assert!(j.state.written.is_none());
    assert_eq!(app.run().json().args(["--dry-run"]).await.report().state.previous, stored);
    let bad = app.run().json().args(["--since", "1h", "--until", "2h"]).await;
    bad.assert_code(2);
    assert!(bad.stderr.contains("--until"), "{}", bad.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_shows_what_was_sent() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("issues", 500, Utc::now() - Duration::minutes(10)).action("opened")).guid;
    app.run().json().await.assert_code(0);
    let out = app.command(["history"]).await;
    out.assert_code(0);
    assert!(out.stdout.contains(&guid) && out.stdout.contains("accepted"), "{}", out.stdout);
    let one = app.command(["history", "--guid", "no-such-guid"]).await;
    assert!(one.stdout.contains("no redeliveries recorded"), "{}", one.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_ledger_a_pass_lists_only_what_is_new_while_an_old_event_is_pending() {
    let app = App::start().await;
    let now = Utc::now();
    app.receiver.set_mode(ReceiverMode::Down);
    let old = app.record(NewAttempt::new("workflow_job", 0, now - Duration::hours(3)).action("queued")).guid;
    for i in 0..300 {
        app.record(NewAttempt::new("push", 200, now - Duration::hours(3) + Duration::seconds(30 * (i + 1))));
    }
    let first = app.run().json().args(["--overlap", "0s", "--ladder", "0s"]).await;
    first.assert_code(0);
    assert_eq!(first.report().counts.redelivered, 1);
    app.world().settle().await;
    app.receiver.set_mode(ReceiverMode::Up);
    for _ in 0..150 {
        app.record(NewAttempt::new("push", 200, Utc::now()));
    }
    app.world().clear_requests();
    let second = app.run().json().args(["--overlap", "0s", "--ladder", "0s"]).await.report();
    // 150 new deliveries and our failed redelivery: 2 pages, not the 5 back to the old event.
    assert_eq!(second.counts.pages, 2, "{second:?}");
    assert_eq!(second.counts.redelivered, 1);
    assert_eq!(second.events[0].guid, old);
    assert_eq!(second.events[0].attempts, 2, "the remembered attempt and the new one");
    app.world().settle().await;
    assert_eq!(app.receiver.successes_for(&old), 1);
    let third = app.run().json().args(["--overlap", "0s", "--ladder", "0s"]).await.report();
    assert_eq!(third.counts.failed_events, 0, "resolved by the successful redelivery: {third:?}");
    assert_eq!(app.count_requests("POST", "/attempts"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_event_is_given_up_at_exactly_the_cap_across_overlapping_passes() {
    let app = App::start().await;
    let guid = app.record(NewAttempt::new("installation", 400, Utc::now() - Duration::minutes(10))).guid;
    app.world().script_redelivery_outcome(&guid, 400, 100);
    let mut outcomes = Vec::new();
    for _ in 0..4 {
        // The default 5-minute overlap lists earlier attempts again: they must not be counted twice.
        let j = app.run().json().args(["--ladder", "0s", "--max-attempts", "3"]).await.report();
        outcomes.push(j.events.first().map(|e| e.outcome));
        app.world().settle().await;
    }
    let expected = [Outcome::Redelivered, Outcome::Redelivered, Outcome::GivenUp, Outcome::AlreadyGivenUp];
    assert_eq!(outcomes, expected.map(Some));
    assert_eq!(app.world().attempts_for(&guid).len(), 3, "the original and two redeliveries");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pace_auto_backs_off_on_a_secondary_limit_and_redelivers_everything_once() {
    let app = App::start().await;
    let guids: Vec<_> =
        (0..6).map(|i| app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10 + i))).guid).collect();
    app.world().inject(
        FaultRule::new("/app/hook/deliveries/", Fault::SecondaryRateLimit { retry_after: Some(1) })
            .method("POST")
            .times(1),
    );
    let out = app.command(["run", "--json", "--pace", "auto"]).args(app.app_flags()).await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 6);
    app.world().settle().await;
    for g in &guids {
        assert_eq!(app.world().attempts_for(g).iter().filter(|a| a.redelivery).count(), 1, "{g}");
    }
    let bad = app.run().json().pace("fast").await;
    bad.assert_code(2);
    assert!(bad.stderr.contains("pace"), "{}", bad.stderr);
}

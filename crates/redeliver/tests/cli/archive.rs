//! The archive (issue 12): a failed event's delivery record is fetched once, while GitHub holds
//! it, and kept in the SQLite state with the hook's configuration; `--no-archive` turns it off,
//! and the Actions-variable store has none.

use crate::harness::{APP_ID, App};
use chrono::{Duration, Utc};
use redeliver_core::state::Ledger;
use redeliver_sim::NewAttempt;

const VARIABLE_ENV: [(&str, &str); 4] = [
    ("LAST_REDELIVERY_VARIABLE_NAME", "LAST_REDELIVERY"),
    ("TOKEN", "ghp_workflowtoken"),
    ("WORKFLOW_REPO_OWNER", "octo"),
    ("WORKFLOW_REPO", "ops"),
];

fn key(app: &App) -> String {
    format!("app:{APP_ID}@{}", app.sim.base_url())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failed_event_is_archived_once_with_its_payload_headers_and_hook_config() {
    let app = App::start().await;
    let at = Utc::now() - Duration::minutes(30);
    let push = app.record(NewAttempt::new("push", 500, at));
    let issue = app.record(NewAttempt::new("issues", 502, at + Duration::minutes(1)).action("opened"));
    app.record(NewAttempt::new("ping", 200, at + Duration::minutes(2)));

    let out = app.run().json().await;
    out.assert_code(0);
    let first = out.report();
    assert_eq!(first.counts.archived, 2, "{first:?}");
    assert_eq!(app.count_requests("GET", &format!("/deliveries/{}", push.id)), 1);
    assert_eq!(app.count_requests("GET", &format!("/deliveries/{}", issue.id)), 1);
    assert_eq!(app.count_requests("GET", "/app/hook/config"), 1, "the configuration once per pass");

    let ledger = Ledger::open_read_only(&app.state_path()).unwrap().expect("a state file");
    let records = ledger.archived(None).unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    for delivery in [&push, &issue] {
        let record = records.iter().find(|r| r.guid == delivery.guid).expect("archived");
        assert_eq!(record.guid, delivery.guid);
        assert_eq!(record.delivery_id, delivery.id);
        assert_eq!(record.target, key(&app));
        assert_eq!(
            Some(&record.payload),
            app.world().payload(&delivery.guid).as_ref(),
            "the payload as GitHub held it"
        );
        assert_eq!(record.headers.get("X-GitHub-Delivery"), Some(&delivery.guid), "{:?}", record.headers);
        assert_eq!(record.headers.get("X-GitHub-Event").map(String::as_str), Some(record.event.as_str()));
        assert_eq!(record.hook_url.as_deref(), Some(app.receiver.url().as_str()));
        assert_eq!(record.content_type.as_deref(), Some("json"));
    }
    assert_eq!(records.iter().find(|r| r.guid == issue.guid).and_then(|r| r.action.as_deref()), Some("opened"));
    drop(ledger);

    // The next pass sees the same failed events (and the redeliveries it made): nothing new.
    let again = app.run().json().args(["--overlap", "2h"]).await;
    again.assert_code(0);
    assert_eq!(again.report().counts.archived, 0);
    assert_eq!(app.count_requests("GET", &format!("/deliveries/{}", push.id)), 1, "never fetched twice");
    assert_eq!(app.count_requests("GET", "/app/hook/config"), 1, "no pass that archives, no read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_archive_fetches_nothing_and_keeps_nothing() {
    let app = App::start().await;
    let failed = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(5)));
    let out = app.run().json().arg("--no-archive").await;
    out.assert_code(0);
    assert_eq!(out.report().counts.archived, 0);
    assert_eq!(app.count_requests("GET", &format!("/deliveries/{}", failed.id)), 0);
    assert_eq!(app.count_requests("GET", "/config"), 0);
    let ledger = Ledger::open_read_only(&app.state_path()).unwrap().expect("a state file");
    assert!(ledger.archived(None).unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_actions_variable_store_has_no_archive_and_says_so() {
    let app = App::start().await;
    app.world().add_token("ghp_workflowtoken");
    let failed = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(5)));
    let out = app.run().envs(&VARIABLE_ENV).await;
    out.assert_code(0);
    assert_eq!(
        out.stdout.matches("no archive with the Actions variable store").count(),
        1,
        "said once: {}",
        out.stdout
    );
    assert_eq!(app.count_requests("GET", &format!("/deliveries/{}", failed.id)), 0);
}

/// `export` prints one NDJSON object per archived event, with everything a replay needs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_prints_each_archived_event_as_one_json_line() {
    let app = App::start().await;
    let at = Utc::now() - Duration::minutes(20);
    let failed = [
        app.record(NewAttempt::new("push", 500, at)),
        app.record(NewAttempt::new("issues", 503, at + Duration::minutes(1)).action("closed")),
    ];
    app.run().json().await.assert_code(0);

    let out = app.command(["export"]).await;
    out.assert_code(0);
    let lines: Vec<serde_json::Value> =
        out.stdout.lines().map(|l| serde_json::from_str(l).expect("each line is one JSON object")).collect();
    assert_eq!(lines.len(), 2, "{}", out.stdout);
    for delivery in &failed {
        let line = lines.iter().find(|l| l["guid"] == delivery.guid.as_str()).expect("exported");
        assert_eq!(line["delivery_id"], delivery.id);
        assert_eq!(line["event"], delivery.event.as_str());
        assert_eq!(line["target"], key(&app).as_str());
        assert_eq!(line["hook_url"], app.receiver.url().as_str());
        assert_eq!(line["content_type"], "json");
        assert_eq!(line["headers"]["X-GitHub-Delivery"], delivery.guid.as_str());
        assert_eq!(Some(&line["payload"]), app.world().payload(&delivery.guid).as_ref());
        assert!(line["archived_at"].as_str().is_some_and(|t| t.parse::<chrono::DateTime<Utc>>().is_ok()), "{line}");
    }

    // No state file yet: nothing to print, and a note on stderr.
    let empty = App::start().await;
    let none = empty.command(["export"]).await;
    none.assert_code(0);
    assert_eq!(none.stdout, "");
    assert!(none.stderr.contains("nothing is archived"), "{}", none.stderr);
}

/// The hook's secret in the harness (the receiver checks `X-Hub-Signature-256` with it).
const HOOK_SECRET: &str = "test-hook-secret";

/// Two failed events archived, none redelivered yet (the ladder's first rung is a day away).
async fn archived_failures(app: &App) -> [redeliver_sim::DeliveryRecord; 2] {
    let at = Utc::now() - Duration::minutes(20);
    let failed = [
        app.record(NewAttempt::new("push", 500, at)),
        app.record(NewAttempt::new("issues", 503, at + Duration::minutes(1)).action("opened")),
    ];
    let out = app.run().json().args(["--ladder", "1d"]).await;
    out.assert_code(0);
    assert_eq!(out.report().counts.archived, 2);
    assert!(app.receiver.received().is_empty(), "nothing sent by the pass");
    failed
}

/// How many events `replay --dry-run ARGS` would send.
async fn would_send(app: &App, args: &[&str]) -> usize {
    let out = app.command(["replay", "--dry-run"]).args(args.iter().copied()).await;
    out.assert_code(0);
    out.stdout.matches("would_send").count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_posts_each_event_as_github_would_signed_over_the_raw_body() {
    let app = App::start().await;
    let failed = archived_failures(&app).await;

    let dry = app.command(["replay", "--dry-run", "--secret-env", "HOOK_SECRET"]).env("HOOK_SECRET", HOOK_SECRET).await;
    dry.assert_code(0);
    assert_eq!(dry.stdout.matches("would_send").count(), 2, "{}", dry.stdout);
    assert!(app.receiver.received().is_empty(), "a dry run sends nothing");

    let out = app.command(["replay", "--json", "--secret-env", "HOOK_SECRET"]).env("HOOK_SECRET", HOOK_SECRET).await;
    out.assert_code(0);
    let results: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(results.iter().all(|r| r["outcome"] == "delivered" && r["status"] == 200), "{results:?}");
    let received = app.receiver.received();
    assert_eq!(received.len(), 2, "{received:?}");
    for delivery in &failed {
        let got = received.iter().find(|r| r.guid == delivery.guid).expect("the same GUID");
        assert_eq!(got.signature_valid, Some(true), "HMAC-SHA256 over the raw body with the hook's secret");
        assert_eq!(got.event, delivery.event);
        assert_eq!(got.hook_id, Some(app.hook));
        assert!(got.target_type.is_some() && got.target_id.is_some(), "{got:?}");
        assert!(got.user_agent.starts_with("GitHub-Hookshot/"), "{}", got.user_agent);
        assert_eq!(got.content_type, "application/json");
        assert_eq!(Some(&got.payload), app.world().payload(&delivery.guid).as_ref());
    }
    let history = app.command(["history", "--json"]).await.history();
    assert_eq!(history.iter().filter(|h| h.answer == crate::harness::report::Answer::Replayed).count(), 2);
    assert!(history.iter().all(|h| h.detail.as_deref().is_some_and(|d| d.starts_with("HTTP 200 in "))), "{history:?}");

    // Delivered: `failed` (the default) no longer selects them; `all` does, within the window.
    assert_eq!(would_send(&app, &[]).await, 0);
    assert_eq!(would_send(&app, &["--state-filter", "all"]).await, 2);
    assert_eq!(would_send(&app, &["--state-filter", "all", "--since", "1h"]).await, 2);
    assert_eq!(would_send(&app, &["--state-filter", "all", "--until", "1h"]).await, 0, "they failed 20 minutes ago");
    assert_eq!(would_send(&app, &["--state-filter", "all", "--event", "issues.opened"]).await, 1);
    assert_eq!(would_send(&app, &["--state-filter", "given-up"]).await, 0);

    // Delivered: GitHub's side redelivers them no more, even with every rung due.
    let after = app.run().json().args(["--ladder", "0s"]).await;
    after.assert_code(0);
    assert_eq!(after.report().counts.redelivered, 0, "{:?}", after.report());
    assert_eq!(app.count_requests("POST", "/attempts"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_or_none_is_refused_by_a_checking_receiver_and_reported() {
    let app = App::start().await;
    archived_failures(&app).await;
    app.receiver.refuse_bad_signatures();
    let out = app.command(["replay", "--json", "--secret-env", "WRONG"]).env("WRONG", "not-the-secret").await;
    out.assert_code(1);
    let results: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["outcome"] == "refused" && r["status"] == 401), "reported: {results:?}");
    let received = app.receiver.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.signature_valid == Some(false) && r.status == 401), "{received:?}");
    assert!(!out.stdout.contains("not-the-secret") && !out.stderr.contains("not-the-secret"), "never printed");
    app.receiver.clear();
    // Refused, so still failed: the default filter sends them again, here unsigned.
    let unsigned = app.command(["replay"]).await;
    unsigned.assert_code(1);
    assert!(unsigned.stderr.contains("no signature headers"), "{}", unsigned.stderr);
    let received = app.receiver.received();
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.signature_valid == Some(false) && r.status == 401), "{received:?}");
}

/// `export` then `replay --from` sends the same payloads; a `form` hook gets
/// `payload=<urlencoded JSON>`, signed over those bytes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_then_replay_from_round_trips_for_json_and_form_hooks() {
    let app = App::start().await;
    let failed = archived_failures(&app).await;
    let export = app.command(["export"]).await;
    export.assert_code(0);
    let file = app.dir.path().join("export.ndjson");
    std::fs::write(&file, &export.stdout).unwrap();
    let from = file.display().to_string();
    let out = app
        .command(["replay", "--from", &from, "--secret-env", "HOOK_SECRET", "--rate", "50"])
        .env("HOOK_SECRET", HOOK_SECRET)
        .await;
    out.assert_code(0);
    for delivery in &failed {
        let got = app.receiver.received().into_iter().find(|r| r.guid == delivery.guid).expect("replayed");
        assert_eq!(Some(&got.payload), app.world().payload(&delivery.guid).as_ref(), "the same payload");
        assert_eq!(got.signature_valid, Some(true));
    }

    app.receiver.clear();
    let form: String = export
        .stdout
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["content_type"] = "form".into();
            format!("{v}\n")
        })
        .collect();
    std::fs::write(&file, form).unwrap();
    let push = failed[0].guid.as_str();
    let out = app
        .command(["replay", push, "--from", &from, "--state-filter", "all", "--secret-env", "HOOK_SECRET"])
        .env("HOOK_SECRET", HOOK_SECRET)
        .await;
    out.assert_code(0);
    let received = app.receiver.received();
    assert_eq!(received.len(), 1, "only the GUID asked for");
    assert_eq!(received[0].guid, push);
    assert_eq!(received[0].content_type, "application/x-www-form-urlencoded");
    assert_eq!(received[0].signature_valid, Some(true), "signed over the form body");
}

/// A `--to` URL with a user name and password reaches the receiver, and the password is never
/// printed: not in the text, not in `--json`, not in `history`, not in an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_in_to_is_never_printed() {
    let app = App::start().await;
    archived_failures(&app).await;
    let to = app.receiver.url().replace("http://", "http://ops:hunter2@");
    let out = app
        .command(["replay", "--json", "--rate", "20/s", "--to", &to, "--secret-env", "HOOK_SECRET"])
        .env("HOOK_SECRET", HOOK_SECRET)
        .await;
    out.assert_code(0);
    assert_eq!(app.receiver.received().len(), 2);
    let results: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert!(results.iter().all(|r| r["url"].as_str().is_some_and(|u| u.contains("ops:***@"))), "{results:?}");

    // Unreachable, in text: the error names no URL at all.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let down = format!("http://ops:hunter2@127.0.0.1:{closed}/hook");
    let failed = app.command(["replay", "--state-filter", "all", "--to", &down]).await;
    failed.assert_code(1);
    assert_eq!(failed.stdout.matches("unreachable").count(), 2, "{}", failed.stdout);
    let bad = app.command(["replay", "--to", "http://ops:hunter2@[::1"]).await;
    bad.assert_code(2);
    let history = app.command(["history", "--json"]).await;
    for text in [&out.stdout, &out.stderr, &failed.stdout, &failed.stderr, &bad.stdout, &bad.stderr, &history.stdout] {
        assert!(!text.contains("hunter2"), "the password was printed: {text}");
    }
}

/// `export --all` lists every event of a window (failed or not) and reads each one's record
/// with one GET; `replay --from` sends each back to the verifying receiver byte for byte as
/// GitHub sent it, signed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_all_then_replay_from_sends_githubs_bytes_again() {
    let app = App::start().await;
    let world = app.world();
    app.receiver.refuse_bad_signatures();
    let mut delivered = Vec::new();
    for i in 0..5 {
        let payload = serde_json::json!({ "n": i, "text": "é \"quoted\" <b>&", "list": [1, 2.5, null] });
        delivered.push(world.deliver(app.hook, "issues", Some("opened"), payload).await);
    }
    // One failed event too: `--all` is every event, not only the failed ones.
    app.receiver.set_mode(redeliver_sim::ReceiverMode::Status(500));
    delivered.push(world.deliver(app.hook, "push", None, serde_json::json!({ "ref": "refs/heads/main" })).await);
    app.receiver.set_mode(redeliver_sim::ReceiverMode::Up);
    let original: Vec<_> = app.receiver.received();
    assert_eq!(original.len(), 6);

    let export = app.command(["export", "--all", "--since", "1h", "--pace", "5ms"]).args(app.app_flags()).await;
    export.assert_code(0);
    assert_eq!(export.stdout.lines().count(), 6, "{}\n{}", export.stdout, export.stderr);
    for d in &delivered {
        assert_eq!(crate::direct::gets(&app, d.id), 1, "one GET per event");
    }
    assert!(!app.state_path().exists(), "export --all writes no state");
    let file = app.dir.path().join("all.ndjson");
    std::fs::write(&file, &export.stdout).unwrap();

    app.receiver.clear();
    let out = app
        .command(["replay", "--from", &file.display().to_string(), "--secret-env", "HOOK_SECRET", "--rate", "100/s"])
        .env("HOOK_SECRET", HOOK_SECRET)
        .await;
    out.assert_code(0);
    let replayed = app.receiver.received();
    assert_eq!(replayed.len(), 6, "{replayed:?}");
    for first in &original {
        let again = replayed.iter().find(|r| r.guid == first.guid).expect("replayed");
        assert_eq!(again.body, first.body, "{}: the same bytes as GitHub sent", first.guid);
        assert_eq!(again.signature_valid, Some(true));
        assert_eq!(again.status, 200);
        assert_eq!((&again.event, &again.hook_id), (&first.event, &first.hook_id));
    }
}

/// A flood of failures under small caps from the flags: the archive never passes its total
/// cap (which records go first is the ledger's test), and a payload over the per-payload cap
/// is not kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_failures_keeps_the_archive_within_the_caps_given_on_the_command_line() {
    let app = App::start().await;
    let world = app.world();
    app.receiver.set_mode(redeliver_sim::ReceiverMode::Status(500));
    // Text deflate cannot shrink much (a fixed pseudo-random sequence), about 1.5 KB compressed each.
    let mut seed: u64 = 12345;
    let mut noise = |len: usize| -> String {
        (0..len)
            .map(|_| {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                char::from(b'a' + (seed >> 59) as u8 % 26)
            })
            .collect()
    };
    let big = world.deliver(app.hook, "push", None, serde_json::json!({ "noise": noise(10_000) })).await;
    let mut flood = Vec::new();
    for i in 0..120 {
        flood.push(world.deliver(app.hook, "push", None, serde_json::json!({ "i": i, "noise": noise(2_000) })).await);
    }
    let out = app
        .run()
        .json()
        .args(["--ladder", "1d", "--archive-max-payload", "4KiB", "--archive-max-total", "16KiB"])
        .await;
    out.assert_code(0);
    assert_eq!(out.report().counts.archived, 120, "each one stored in turn; the big one never");
    let ledger = Ledger::open_read_only(&app.state_path()).unwrap().expect("a state file");
    let size = ledger.archive_size().unwrap();
    assert!(size <= 16 * 1024, "{size} bytes archived, over the cap");
    let kept = ledger.archived(None).unwrap();
    assert!((5..120).contains(&kept.len()), "{} records kept", kept.len());
    assert!(!kept.iter().any(|r| r.guid == big.guid), "over the per-payload cap: not kept");
    for r in &kept {
        assert!(flood.iter().any(|d| d.guid == r.guid), "{}", r.guid);
        assert_eq!(Some(&r.payload), world.payload(&r.guid).as_ref(), "what is kept reads back whole");
    }
}

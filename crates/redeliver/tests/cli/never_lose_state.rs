//! Never lose, never double, on the state's side (issue 8): what the stored time, the ledger and
//! the Actions variable keep between passes. In the variable store every run gets a fresh
//! `--state`, as a hosted runner does, so only the variables carry anything.

use crate::harness::report::{Outcome, RunReport, WindowSource};
use crate::harness::{APP_ID, App, Output};
use chrono::{Duration, Utc};
use redeliver_core::plan::GiveUpReason;
use redeliver_core::state::{Ledger, RedeliveryState};
use redeliver_sim::{Fault, FaultRule, NewAttempt};

const VARIABLE: &str = "LAST_REDELIVERY";
const LEDGER_VARIABLE: &str = "LAST_REDELIVERY_LEDGER";

/// The docs script's environment for the Actions-variable store.
const VARIABLE_ENV: [(&str, &str); 4] = [
    ("LAST_REDELIVERY_VARIABLE_NAME", VARIABLE),
    ("TOKEN", "ghp_workflowtoken"),
    ("WORKFLOW_REPO_OWNER", "octo"),
    ("WORKFLOW_REPO", "ops"),
];

/// Where a pass keeps its memory.
#[derive(Debug, Clone, Copy)]
enum Store {
    Sqlite,
    /// The Actions variable, with the runner's ledger lost after every run.
    Variable,
}

/// Runs `redeliver run --json ARGS` on `store`; the `n`th run of a test gets its own fresh
/// `--state` in the variable store.
async fn pass(app: &App, store: Store, n: usize, args: &[&str]) -> Output {
    let run = app.run().json().args(args.iter().copied());
    match store {
        Store::Sqlite => run.await,
        Store::Variable => {
            let fresh = app.dir.path().join(format!("runner-{n}.db"));
            run.envs(&VARIABLE_ENV).args(["--state".to_string(), fresh.display().to_string()]).await
        }
    }
}

fn stored_variable(app: &App) -> Option<String> {
    app.world().variable("octo", "ops", VARIABLE)
}

/// The ledger key of the harness's App target.
fn key(app: &App) -> String {
    format!("app:{APP_ID}@{}", app.sim.base_url())
}

#[track_caller]
fn ok(out: &Output) -> RunReport {
    out.assert_code(0);
    out.report()
}

/// Issue 8, case 1: an `--until` run leaves the stored time as it was, so a failure newer than
/// `--until` (not planned, so not remembered) is redelivered by the next ordinary run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn until_alone_leaves_the_stored_time_in_both_stores() {
    for store in [Store::Sqlite, Store::Variable] {
        let app = App::start().await;
        app.world().add_token("ghp_workflowtoken");
        let first = ok(&pass(&app, store, 0, &[]).await);
        let stored = first.state.written.expect("the first run stores a time");
        let variable = stored_variable(&app);
        let newer = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(1))).guid;
        let incident = ok(&pass(&app, store, 1, &["--until", "10m", "--overlap", "0s", "--ladder", "0s"]).await);
        assert_eq!(incident.counts.failed_events, 0, "{store:?}: newer than --until: {incident:?}");
        assert_eq!(incident.state.written, None, "{store:?}");
        assert_eq!(stored_variable(&app), variable, "{store:?}: the variable is left as it was");
        let dry = ok(&pass(&app, store, 2, &["--dry-run"]).await);
        assert_eq!(dry.state.previous.map(|p| p.timestamp_millis()), Some(stored.timestamp_millis()), "{store:?}");
        let next = ok(&pass(&app, store, 3, &["--overlap", "0s", "--ladder", "0s"]).await);
        assert_eq!(next.window.source, WindowSource::Stored, "{store:?}");
        assert_eq!(next.event(&newer).outcome, Outcome::Redelivered, "{store:?}: {next:?}");
    }
}

/// Issue 8, case 2: after `run --event push`, a failed `issues` event is still owed, and the
/// next unfiltered run redelivers it, though the filtered run's stored time came after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_another_filter_left_is_redelivered_by_a_later_run_in_both_stores() {
    for store in [Store::Sqlite, Store::Variable] {
        let app = App::start().await;
        app.world().add_token("ghp_workflowtoken");
        ok(&pass(&app, store, 0, &[]).await);
        let issue =
            app.record(NewAttempt::new("issues", 500, Utc::now() - Duration::seconds(30)).action("opened")).guid;
        let filtered = ok(&pass(&app, store, 1, &["--event", "push", "--overlap", "0s", "--ladder", "0s"]).await);
        assert_eq!(filtered.event(&issue).outcome, Outcome::Filtered, "{store:?}");
        let written = filtered.state.written.expect("a filtered run stores a time");
        if matches!(store, Store::Variable) {
            assert!(written <= filtered.event(&issue).first_attempt_at, "{store:?}: the time holds for it");
        }
        let next = ok(&pass(&app, store, 2, &["--overlap", "0s", "--ladder", "0s"]).await);
        assert_eq!(next.event(&issue).outcome, Outcome::Redelivered, "{store:?}: {next:?}");
        assert_eq!(app.count_requests("POST", "/attempts"), 1, "{store:?}");
    }
}

/// Issue 8, case 3a: with the Actions variable, an event given up at the cap stays given up
/// once its original attempt falls out of view (only its failed redeliveries are listed), and
/// is reported once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variable_store_keeps_a_give_up_after_the_original_falls_out_of_view() {
    let app = App::start().await;
    app.world().add_token("ghp_workflowtoken");
    let guid = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10))).guid;
    app.world().script_redelivery_outcome(&guid, 503, 100);
    let flags = ["--ladder", "0s", "--max-attempts", "3"];
    let mut outcomes = Vec::new();
    for n in 0..5 {
        let out = pass(&app, Store::Variable, n, &flags).await;
        let report = out.report();
        if n == 2 {
            out.assert_code(1);
            assert!(report.state.carried >= Some(1), "the give-up is carried: {:?}", report.state);
            assert_eq!(report.state.dropped, Some(0));
            // From here on the stored time passes the original: only redeliveries are listed.
            assert!(report.state.written.unwrap() > report.event(&guid).first_attempt_at);
        }
        outcomes.push(report.events.iter().find(|e| e.guid == guid).map(|e| e.outcome));
        app.world().settle().await;
    }
    let given_up = outcomes.iter().filter(|o| **o == Some(Outcome::GivenUp)).count();
    assert_eq!(given_up, 1, "reported once: {outcomes:?}");
    assert_eq!(&outcomes[..3], [Some(Outcome::Redelivered), Some(Outcome::Redelivered), Some(Outcome::GivenUp)]);
    assert!(outcomes[3..].iter().all(|o| *o == Some(Outcome::AlreadyGivenUp)), "{outcomes:?}");
    assert_eq!(app.count_requests("POST", "/attempts"), 2, "never past the cap");
    assert_eq!(app.world().attempts_for(&guid).len(), 3);
    // A dry run plans with the carried ledger too, and writes neither variable.
    let writes = app.count_requests("PATCH", "/actions/variables") + app.count_requests("POST", "/actions/variables");
    let dry = ok(&pass(&app, Store::Variable, 9, &["--ladder", "0s", "--max-attempts", "3", "--dry-run"]).await);
    assert_eq!(dry.event(&guid).outcome, Outcome::AlreadyGivenUp, "{dry:?}");
    let after = app.count_requests("PATCH", "/actions/variables") + app.count_requests("POST", "/actions/variables");
    assert_eq!(after, writes, "a dry run writes nothing");
}

/// Issue 8, case 3b: with the Actions variable, a redelivery GitHub refused (422, no trace in
/// its record) waits for its next rung instead of being sent again on every run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_variable_store_sends_a_refused_redelivery_again_only_on_its_ladder() {
    let app = App::start().await;
    app.world().add_token("ghp_workflowtoken");
    let guid = app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10))).guid;
    app.world().inject(FaultRule::new("/app/hook/deliveries/", Fault::RedeliveryRefused).method("POST").times(100));
    let flags = ["--ladder", "1m,1h"];
    let first = pass(&app, Store::Variable, 0, &flags).await;
    first.assert_code(1);
    let refused_at = Utc::now();
    assert_eq!(first.report().event(&guid).outcome, Outcome::Refused);
    for n in 1..4 {
        let j = ok(&pass(&app, Store::Variable, n, &flags).await);
        let e = j.event(&guid);
        assert_eq!(e.outcome, Outcome::Waiting, "run {n}: {j:?}");
        assert_eq!(e.attempts, 2, "the refused request counts as an attempt");
        assert!(e.due_at.unwrap() > refused_at + Duration::minutes(55), "the next rung: {:?}", e.due_at);
    }
    assert_eq!(app.count_requests("POST", "/attempts"), 1, "sent once, not on every run");
    let carried = app.world().variable("octo", "ops", LEDGER_VARIABLE).expect("the ledger variable exists");
    assert!(carried.contains(&guid), "{carried}");
    assert_eq!(app.count_requests("POST", "/repos/octo/ops/actions/variables"), 2, "each variable created once");
    let fresh = app.dir.path().join("runner-human.db").display().to_string();
    let human = app.run().envs(&VARIABLE_ENV).args(["--ladder", "1m,1h", "--state", &fresh]).await;
    human.assert_code(0);
    assert!(human.stdout.contains("1 event(s) carried for the next run"), "{}", human.stdout);
}

/// A `NAME_LEDGER` variable that redeliver did not write is a state error that names it and
/// says how to fix it; nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_variable_not_in_redelivers_format_is_a_clear_error() {
    let app = App::start().await;
    app.world().add_token("ghp_workflowtoken");
    app.record(NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10)));
    app.world().set_variable("octo", "ops", LEDGER_VARIABLE, "someone else's value");
    let out = pass(&app, Store::Variable, 0, &["--ladder", "0s"]).await;
    out.assert_code(4);
    assert!(out.stderr.contains(LEDGER_VARIABLE) && out.stderr.contains("octo/ops"), "{}", out.stderr);
    assert!(out.stderr.contains("hint:") && out.stderr.contains("delete"), "{}", out.stderr);
    assert_eq!(app.count_requests("POST", "/attempts"), 0);
    assert_eq!(app.world().variable("octo", "ops", LEDGER_VARIABLE).as_deref(), Some("someone else's value"));
    out.assert_no_secrets();
}

/// Issue 8, case 6 (the pass's side): an event a page shows succeeded is remembered as resolved.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_seen_succeed_is_remembered_as_resolved() {
    let app = App::start().await;
    let now = Utc::now();
    let fixed = app.record(NewAttempt::new("push", 500, now - Duration::minutes(30))).guid;
    app.record(NewAttempt::new("push", 200, now - Duration::minutes(20)).guid(&fixed).redelivery(true));
    ok(&app.run().json().await);
    let ledger = Ledger::open_read_only(&app.state_path()).unwrap().expect("a state file");
    assert!(ledger.memory(&key(&app), [fixed.as_str()]).unwrap()[&fixed].resolved);
    // A dry run remembers nothing.
    let other = App::start().await;
    let guid = other.record(NewAttempt::new("push", 500, now - Duration::minutes(30))).guid;
    other.record(NewAttempt::new("push", 200, now - Duration::minutes(20)).guid(&guid).redelivery(true));
    ok(&other.run().json().arg("--dry-run").await);
    assert!(!other.state_path().exists());
}

/// Issue 8, case 11: a pass prunes what can no longer matter (events past twice the horizon
/// and a day, audit rows past `--keep-history`) and keeps the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pass_prunes_the_ledger_and_keeps_the_history_as_long_as_asked() {
    let app = App::start().await;
    let now = Utc::now();
    let k = key(&app);
    {
        let l = Ledger::open(&app.state_path()).unwrap();
        l.set_watermark(&k, now - Duration::hours(1), now).unwrap();
        let old = now - Duration::days(10);
        l.give_up(&k, "ancient", "push", GiveUpReason::Cap, old, old + Duration::hours(20)).unwrap();
        let row = l.begin_redelivery(&k, "ancient", "push", 1, old, old + Duration::hours(1)).unwrap();
        l.complete(row, RedeliveryState::Accepted, None).unwrap();
        let recent = now - Duration::days(2);
        l.give_up(&k, "recent", "push", GiveUpReason::Horizon, recent, recent + Duration::hours(1)).unwrap();
        let row = l.begin_redelivery(&k, "recent", "push", 2, recent, recent).unwrap();
        l.complete(row, RedeliveryState::Refused, Some("422")).unwrap();
    }
    ok(&app.run().json().arg("--dry-run").await);
    let count = || Ledger::open_read_only(&app.state_path()).unwrap().unwrap().history(None, None, 10).unwrap().len();
    assert_eq!(count(), 2, "a dry run prunes nothing");
    ok(&app.run().json().await);
    let l = Ledger::open_read_only(&app.state_path()).unwrap().unwrap();
    let m = l.memory(&k, ["ancient", "recent"]).unwrap();
    assert!(!m.contains_key("ancient") && m["recent"].given_up, "{m:?}");
    let history: Vec<String> = l.history(None, None, 10).unwrap().into_iter().map(|r| r.guid).collect();
    assert_eq!(history, ["recent", "ancient"], "30 days of audit history by default, past the event's own row");
    drop(l);
    ok(&app.run().json().args(["--keep-history", "5d"]).await);
    assert_eq!(count(), 1, "--keep-history 5d");
    ok(&app.run().json().args(["--keep-history", "1d"]).await);
    assert_eq!(count(), 0, "--keep-history 1d");
}

/// Issue 8, case 12: a state file of the first schema keeps its stored time, read (dry run) and
/// migrated (a real run).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schema_1_state_file_keeps_its_stored_time() {
    let app = App::start().await;
    let stored = (Utc::now() - Duration::hours(1)).timestamp_millis();
    {
        let c = rusqlite::Connection::open(app.state_path()).unwrap();
        c.execute_batch(
            "CREATE TABLE watermarks (target TEXT PRIMARY KEY, at_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);
             CREATE TABLE events (target TEXT NOT NULL, guid TEXT NOT NULL, event TEXT NOT NULL,
                 first_seen_ms INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0, last_sent_ms INTEGER,
                 given_up_ms INTEGER, given_up_reason TEXT, PRIMARY KEY (target, guid));
             CREATE TABLE redeliveries (id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
                 guid TEXT NOT NULL, delivery_id INTEGER NOT NULL, event TEXT NOT NULL, at_ms INTEGER NOT NULL,
                 answer TEXT NOT NULL, detail TEXT);
             PRAGMA user_version = 1;",
        )
        .unwrap();
        c.execute("INSERT INTO watermarks VALUES (?1, ?2, ?2)", rusqlite::params![key(&app), stored]).unwrap();
    }
    for args in [&["--dry-run"][..], &[][..]] {
        let j = ok(&app.run().json().args(args.iter().copied()).await);
        assert_eq!(j.window.source, WindowSource::Stored, "{args:?}: {j:?}");
        assert!((j.window.start.timestamp_millis() - stored).abs() < 1000, "{args:?}: {:?}", j.window);
    }
}

/// Outage awareness on the Actions-variable store: a rung sent in one run just after the
/// receiver went down (before the outage was recognised) is refunded in a later run once it is,
/// as a persistent ledger refunds it: the carried ledger keeps the times of its rungs, so a
/// fresh runner puts the event at the same place on its ladder and does not give it up early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rung_sent_into_an_outage_in_an_earlier_run_is_refunded_like_on_sqlite() {
    let mut outcomes = Vec::new();
    let mut carried_after_refund = None;
    for store in [Store::Sqlite, Store::Variable] {
        let app = App::start().await;
        app.world().add_token("ghp_workflowtoken");
        app.receiver.set_mode(redeliver_sim::ReceiverMode::Down);
        let now = app.world().now();
        // Two events whose receiver went down: too few to call it an outage yet (3 events).
        let a = app.record(NewAttempt::new("push", 503, now - Duration::minutes(10))).guid;
        let b = app.record(NewAttempt::new("issues", 503, now - Duration::minutes(9))).guid;
        let flags = ["--ladder", "0s", "--max-attempts", "2"];
        let mut seen = Vec::new();
        let mut skew = Duration::zero();
        for n in 0..6 {
            if n == 1 {
                // A third event fails: now the listing shows an outage that began before the rungs.
                app.record(NewAttempt::new("pull_request", 503, app.world().now()));
            }
            if n == 3 {
                app.receiver.set_mode(redeliver_sim::ReceiverMode::Up);
            }
            let out = pass(&app, store, n, &flags).await;
            assert!(out.code == 0 || out.code == 1, "{store:?} run {n}: {}\n{}", out.stdout, out.stderr);
            let report = out.report();
            seen.push([a.as_str(), b.as_str()].map(|g| report.events.iter().find(|e| e.guid == g).map(|e| e.outcome)));
            if n == 1 && matches!(store, Store::Variable) {
                carried_after_refund = app.world().variable("octo", "ops", LEDGER_VARIABLE);
            }
            app.world().settle().await;
            skew += Duration::minutes(2);
            app.world().set_clock_skew(skew);
        }
        for g in [&a, &b] {
            assert!(app.receiver.successes_for(g) > 0, "{store:?}: {g} recovered: {seen:?}");
        }
        assert!(
            seen.iter().flatten().all(|o| !matches!(o, Some(Outcome::GivenUp | Outcome::AlreadyGivenUp))),
            "{store:?}: nothing given up at the cap: {seen:?}"
        );
        // Run 1 sent one rung of each into the outage; run 2 saw it and held both.
        assert_eq!(seen[0], [Some(Outcome::Redelivered); 2], "{store:?}");
        outcomes.push(seen);
    }
    assert_eq!(outcomes[0], outcomes[1], "the variable store decides as the persistent ledger does");
    // The refund itself is carried: both rungs charged to no rung after run 2.
    let carried = redeliver_core::state::carry::Carried::parse(&carried_after_refund.unwrap()).unwrap();
    let charged: Vec<(u32, u32)> =
        carried.events.values().filter(|e| e.uncharged > 0).map(|e| (e.sent, e.uncharged)).collect();
    assert!(charged.len() >= 2 && charged.iter().all(|&(sent, _)| sent == 0), "{carried:?}");
}

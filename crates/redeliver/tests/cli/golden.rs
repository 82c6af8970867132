//! Whole outputs compared to committed snapshots (`tests/cli/snapshots`), so that a change to the
//! `--json` schema or to what a person reads shows up as a diff to accept or refuse, not as a
//! field nobody thought to assert on.
//!
//! One fixed scenario touches every outcome a report can hold: redelivered, refused, ambiguous,
//! waiting, filtered, given up at the cap and at the horizon, and events that succeeded. What
//! changes between runs (times, ports, the temp dir, delivery ids, CPU and memory) is normalized
//! by `harness::snapshot`; GUIDs are fixed, and both they and delivery ids are shown by name.
//!
//! An intended change: `INSTA_UPDATE=always cargo test -p redeliver --test cli golden` rewrites the
//! snapshots (or `cargo insta review`); read the diff and commit it with the change.

use crate::harness::{App, snapshot};
use chrono::{Duration, Utc};
use redeliver_sim::{Fault, FaultRule, NewAttempt, keys};

/// Flags that make the scenario's two old events give-ups and keep `workflow_job` out.
const FLAGS: [&str; 6] = ["--lookback", "2d", "--horizon", "1d", "--exclude-event", "workflow_job"];

/// Records the scenario in `app`'s world and injects its faults; `(value, label)` pairs for
/// [`App::normalize`]: each event's GUID (as its name) and the ids of its attempts.
fn scenario(app: &App) -> Vec<(String, String)> {
    let now = Utc::now();
    let mut labels = Vec::new();
    // Every attempt of the event `label` (GUIDs numbered in the order events first appear).
    let mut attempt = |label: &str, attempt: NewAttempt| {
        let known = labels.iter().find(|(_, l)| l == label).map(|(guid, _): &(String, String)| guid.clone());
        let guid = known.unwrap_or_else(|| {
            let guid = format!("00000000-0000-4000-8000-{:012}", labels.len() + 1);
            labels.push((guid.clone(), label.to_string()));
            guid
        });
        let record = app.record(attempt.guid(&guid));
        labels.push((record.id.to_string(), format!("id of {label}")));
        record.id
    };
    // A capped event: an original and seven redeliveries, every one failed.
    attempt("cap", NewAttempt::new("push", 500, now - Duration::hours(20)));
    for i in 1..8 {
        attempt("cap", NewAttempt::new("push", 500, now - Duration::hours(20 - 2 * i)).redelivery(true));
    }
    attempt("horizon", NewAttempt::new("issues", 500, now - Duration::hours(25)).action("opened"));
    attempt("fixed", NewAttempt::new("issues", 500, now - Duration::minutes(50)).action("opened"));
    attempt("fixed", NewAttempt::new("issues", 202, now - Duration::minutes(45)).status("Accepted").redelivery(true));
    attempt("redelivered", NewAttempt::new("push", 502, now - Duration::minutes(40)));
    let refused =
        attempt("refused", NewAttempt::new("pull_request", 500, now - Duration::minutes(35)).action("opened"));
    let ambiguous =
        attempt("ambiguous", NewAttempt::new("pull_request", 0, now - Duration::minutes(30)).action("closed"));
    attempt("filtered", NewAttempt::new("workflow_job", 503, now - Duration::minutes(25)).action("queued"));
    attempt("ok", NewAttempt::new("push", 200, now - Duration::minutes(20)));
    attempt("waiting", NewAttempt::new("push", 503, now - Duration::seconds(5)));
    let post = |id: u64, fault| FaultRule::new(&format!("/app/hook/deliveries/{id}/attempts"), fault).method("POST");
    app.world().inject(post(refused, Fault::Status(422)).times(10));
    app.world().inject(post(ambiguous, Fault::Status(502)).times(1));
    labels
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_json_report_and_the_history_are_unchanged() {
    let app = App::start().await;
    let labels = scenario(&app);
    let out = app.run().json().args(FLAGS).await;
    out.assert_code(1);
    // Parsing checks the documented schema field by field; the snapshot checks the whole text.
    let report = out.report();
    assert_eq!(report.events.len(), 7, "every failed event: {report:#?}");
    snapshot::settings().bind(|| insta::assert_snapshot!("run_json", app.normalize(&out.stdout, &labels)));

    app.world().settle().await;
    let history = app.command(["history", "--json"]).await;
    history.assert_code(0);
    assert_eq!(history.history().len(), 3, "redelivered, refused and ambiguous: {}", history.stdout);
    snapshot::settings().bind(|| insta::assert_snapshot!("history_json", app.normalize(&history.stdout, &labels)));
    let human = app.command(["history"]).await;
    human.assert_code(0);
    snapshot::settings().bind(|| insta::assert_snapshot!("history_human", app.normalize(&human.stdout, &labels)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_human_summary_is_unchanged() {
    let app = App::start().await;
    let labels = scenario(&app);
    // The dry run first: it writes nothing, so the real run after it sees the same world.
    let dry = app.run().args(FLAGS).arg("--dry-run").await;
    dry.assert_code(1);
    snapshot::settings().bind(|| insta::assert_snapshot!("run_human_dry_run", app.normalize(&dry.stdout, &labels)));
    let out = app.run().args(FLAGS).await;
    out.assert_code(1);
    snapshot::settings().bind(|| insta::assert_snapshot!("run_human", app.normalize(&out.stdout, &labels)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_reads_the_same() {
    let app = App::start().await;
    let labels = scenario(&app);
    let out = app.run().private_key_env(keys::OTHER_KEY).await;
    out.assert_code(3);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    snapshot::settings().bind(|| insta::assert_snapshot!("error_401", app.normalize(&out.stderr, &labels)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_document_of_a_config_file_is_unchanged() {
    let app = App::start().await;
    let labels = scenario(&app);
    app.world().add_repo_hook("octo", "infra", &app.receiver.url(), None);
    let config = app.dir.path().join("redeliver.toml");
    let text = format!(
        r#"
[defaults]
pace = "0s"

[[target]]
name = "ci-app"
api_url = "{api}"
app_id = "{id}"
private_key_file = "{key}"

[[target]]
name = "infra"
kind = "repo"
repo = "octo/infra"
hook_id = 1
api_url = "{api}"
token_env = "INFRA_TOKEN"
"#,
        api = app.sim.base_url(),
        id = crate::harness::APP_ID,
        key = app.key_path().display(),
    );
    std::fs::write(&config, text).unwrap();
    let flags = ["run", "--json", "--config", config.to_str().unwrap()];
    let out = app.command(flags).args(FLAGS).env("INFRA_TOKEN", "ghp_not_a_token").await;
    out.assert_code(3);
    let runs = out.runs();
    assert_eq!((runs.reports.len(), runs.errors.len()), (1, 1), "{}", out.stdout);
    snapshot::settings().bind(|| insta::assert_snapshot!("runs_json", app.normalize(&out.stdout, &labels)));
}

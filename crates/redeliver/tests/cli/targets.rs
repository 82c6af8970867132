//! Many targets from one config file: App, repository and organization hooks on two hosts,
//! tokens and installation tokens, per-host pacing, `check`, and config mistakes.

use crate::harness::{self, App, snapshot};
use chrono::{Duration, Utc};
use redeliver_sim::{Fault, FaultRule, NewAttempt, Receiver, Sim, keys};

const ORG_APP: u64 = 777;

struct TwoHosts {
    app: App,
    ghes: Sim,
    receiver: Receiver,
    config: std::path::PathBuf,
    repo_hook: u64,
    org_hook: u64,
}

/// github.com-like host: the App hook. GHES-like host: a repository hook read with a token and
/// an organization hook read with an installation token of another App.
async fn two_hosts(pace: &str) -> TwoHosts {
    let app = App::start().await;
    let ghes = Sim::start().await.unwrap();
    let receiver = Receiver::start(None).await.unwrap();
    let w = ghes.world();
    let repo_hook = w.add_repo_hook("octo", "infra", &receiver.url(), None);
    let org_hook = w.add_org_hook("octo-org", &receiver.url(), None);
    w.add_token("ghp_repo_token");
    w.add_app(ORG_APP, "Iv1.orgapp", keys::TEST_APP_PUBLIC_KEY, &receiver.url(), None);
    w.add_installation(ORG_APP, "octo-org");
    let key = app.dir.path().join("key.pem");
    let config = app.dir.path().join("redeliver.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[defaults]
pace = "{pace}"

[[target]]
name = "ci-app"
api_url = "{a}"
app_id = "{id}"
private_key_file = "{key}"

[[target]]
name = "infra"
kind = "repo"
repo = "octo/infra"
hook_id = {repo_hook}
api_url = "{b}"
token_env = "INFRA_TOKEN"

[[target]]
name = "org"
kind = "org"
org = "octo-org"
hook_id = {org_hook}
api_url = "{b}"
app_id = "{ORG_APP}"
private_key_file = "{key}"
"#,
            a = app.sim.base_url(),
            b = ghes.ghes_base_url(),
            id = harness::APP_ID,
            key = key.display(),
        ),
    )
    .unwrap();
    TwoHosts { app, ghes, receiver, config, repo_hook, org_hook }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_config_file_many_targets_on_two_hosts() {
    let h = two_hosts("300ms").await;
    let past = Utc::now() - Duration::minutes(20);
    let app_guid = h.app.record(NewAttempt::new("push", 502, past)).guid;
    let w = h.ghes.world();
    let repo_guids: Vec<_> = (0..2)
        .map(|i| w.record_attempt(h.repo_hook, NewAttempt::new("push", 500, past - Duration::minutes(i))).guid)
        .collect();
    let org_guids: Vec<_> = (0..2)
        .map(|i| w.record_attempt(h.org_hook, NewAttempt::new("repository", 0, past - Duration::minutes(i))).guid)
        .collect();
    // The installation token is refused once: the client mints a new one and goes on.
    w.inject(FaultRule::new("/orgs/octo-org/hooks", Fault::Unauthorized).method("GET").times(1));

    let config = h.config.to_str().unwrap();
    let out = h.app.command(["run", "--config", config, "--json"]).env("INFRA_TOKEN", "ghp_repo_token").await;
    out.assert_code(0);
    // `runs()` checks the schema is `redeliver.runs/v1`.
    let j = out.runs();
    assert_eq!(j.report("ci-app").counts.redelivered, 1);
    assert_eq!(j.report("infra").counts.redelivered, 2);
    assert_eq!(j.report("org").counts.redelivered, 2);
    assert!(j.report("infra").api_url.ends_with("/api/v3"));
    h.app.world().settle().await;
    w.settle().await;
    assert_eq!(h.app.receiver.successes_for(&app_guid), 1);
    for g in repo_guids.iter().chain(&org_guids) {
        assert_eq!(h.receiver.successes_for(g), 1, "{g}");
    }
    let minted = w.requests().iter().filter(|r| r.path.ends_with("/access_tokens")).count();
    assert_eq!(minted, 2, "minted once, renewed once after the 401");
    // Requests to one host are paced together, across its targets.
    let posts: Vec<_> = w
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/attempts"))
        .map(|r| r.at)
        .collect();
    assert_eq!(posts.len(), 4);
    for pair in posts.windows(2) {
        assert!(pair[1] - pair[0] >= Duration::milliseconds(290), "POSTs {:?} apart", pair[1] - pair[0]);
    }
    // Secrets stay out of the output.
    assert!(!out.stdout.contains("ghp_repo_token") && !out.stderr.contains("ghp_repo_token"));
    out.assert_no_secrets();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_says_what_works_and_what_does_not() {
    let h = two_hosts("0s").await;
    let config = h.config.to_str().unwrap();
    let ok = h.app.command(["check", "--config", config]).env("INFRA_TOKEN", "ghp_repo_token").await;
    ok.assert_code(0);
    assert!(
        ok.stdout.contains("ok     ci-app") && ok.stdout.contains("ok     infra") && ok.stdout.contains("ok     org"),
        "{}",
        ok.stdout
    );
    assert!(ok.stdout.contains("minted an installation token"), "{}", ok.stdout);
    let bad = h.app.command(["check", "--config", config]).env("INFRA_TOKEN", "ghp_wrong").await;
    bad.assert_code(3);
    assert!(bad.stdout.contains("FAILED infra") && bad.stdout.contains("Bad credentials"), "{}", bad.stdout);
    assert!(bad.stdout.contains("ok     org"), "the other targets are still checked: {}", bad.stdout);
    assert_eq!(
        h.ghes.world().requests().iter().filter(|r| r.method == "POST" && r.path.ends_with("/attempts")).count(),
        0
    );
    // The whole report, as a person reads it.
    let both = format!("--- all good\n{}--- a wrong token\n{}", ok.stdout, bad.stdout);
    snapshot::settings().bind(|| insta::assert_snapshot!("check_human", h.app.normalize(&both, &[])));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_mistakes_are_named_before_any_request() {
    let h = two_hosts("0s").await;
    let text = std::fs::read_to_string(&h.config).unwrap();
    let cases = [
        (text.replace("hook_id = ", "hookid = "), "target \"infra\": unknown key `hookid`"),
        (text.replace("token_env = \"INFRA_TOKEN\"\n", ""), "target \"infra\": missing credential"),
        (text.replace("key.pem", "missing.pem"), "missing.pem"),
        (text.replace("name = \"org\"", "name = \"infra\""), "target \"infra\" appears twice"),
    ];
    let mut messages = String::new();
    for (i, (config, expected)) in cases.iter().enumerate() {
        let path = h.app.dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, config).unwrap();
        let out = h.app.command(["run", "--config", path.to_str().unwrap()]).env("INFRA_TOKEN", "ghp_repo_token").await;
        out.assert_code(2);
        assert!(out.stderr.contains(expected), "case {i}: expected {expected:?} in:\n{}", out.stderr);
        messages.push_str(&format!("--- case {i}\n{}", out.stderr));
    }
    // Each message whole, as a person reads it (cause and hint included).
    snapshot::settings().bind(|| insta::assert_snapshot!("config_mistakes", h.app.normalize(&messages, &[])));
    assert!(h.app.world().requests().is_empty() && h.ghes.world().requests().is_empty(), "no request was made");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_repository_and_organization_scripts_variables_work_too() {
    let h = two_hosts("0s").await;
    let w = h.ghes.world();
    let guid = w.record_attempt(h.repo_hook, NewAttempt::new("push", 500, Utc::now() - Duration::minutes(10))).guid;
    let hook = h.repo_hook.to_string();
    let env = [("REPO_OWNER", "octo"), ("REPO_NAME", "infra"), ("HOOK_ID", hook.as_str()), ("TOKEN", "ghp_repo_token")];
    let out = h.app.command(["run", "--api-url", &h.ghes.ghes_base_url(), "--pace", "0s", "--json"]).envs(&env).await;
    out.assert_code(0);
    assert_eq!(out.report().counts.redelivered, 1);
    assert_eq!(out.report().name, "repo");
    w.settle().await;
    assert_eq!(h.receiver.successes_for(&guid), 1);
}

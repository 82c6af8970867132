//! An organization's hooks discovered through an App installation (issue 14): the
//! repositories come from the installation (`GET /installation/repositories`, not the
//! organization's listing), and every discovered hook signs in with one shared installation
//! token instead of minting its own.

use crate::harness::{APP_ID, App, poll_until};
use chrono::Utc;
use redeliver_sim::NewAttempt;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_installations_hooks_share_one_token_and_every_failure_is_redelivered_once() {
    let app = App::start().await;
    let world = app.world();
    world.set_rate_limit(1_000_000, 1_000_000, Duration::from_secs(3600));
    world.add_installation(APP_ID, "acme");
    let ci = format!("{}/jenkins/x/", app.receiver.url());
    let when = Utc::now() - chrono::Duration::minutes(2);
    let mut failed = Vec::new();
    for i in 0..30 {
        let name = format!("svc-{i:02}");
        world.add_repo("acme", &name);
        if i % 3 == 0 {
            let hook = world.add_repo_hook("acme", &name, &ci, None);
            failed.push(world.record_attempt(hook, NewAttempt::new("push", 502, when)).guid);
        }
    }
    assert_eq!(failed.len(), 10);
    let path = app.dir.path().join("app-fleet.toml");
    let text = format!(
        "interval = \"1s\"\nmax_interval = \"4s\"\n[[target]]\nname = \"acme-ci\"\nkind = \"org-repo-hooks\"\n\
         org = \"acme\"\napi_url = \"{}\"\napp_id = {APP_ID}\nprivate_key_file = \"{}\"\nrepos = [\"*\"]\n\
         hook_url = \"*/jenkins/*\"\nrefresh = \"3s\"\npace = \"0s\"\nladder = \"1s\"\n",
        app.sim.base_url(),
        app.key_path().display()
    );
    std::fs::write(&path, text).unwrap();
    let mut daemon = app.command(["watch", "--config", path.to_str().unwrap(), "--listen", "off"]).spawn();
    let all_once = || failed.iter().all(|g| app.receiver.successes_for(g) == 1);
    let done = poll_until(Duration::from_secs(60), all_once).await;
    // Let a few refreshes and polls more go by, each of which could have minted a token.
    let _ = poll_until(Duration::from_secs(4), || false).await;
    daemon.signal("TERM");
    let code = daemon.exit_code(20).await;
    assert!(done, "every failure redelivered once:\n{}", daemon.seen.join("\n"));
    assert_eq!(code, 0, "clean exit:\n{}", daemon.seen.join("\n"));

    let requests = app.world().requests();
    let mints = requests.iter().filter(|r| r.method == "POST" && r.path.ends_with("/access_tokens")).count();
    assert_eq!(mints, 1, "one installation token for the refreshes and the 10 hooks");
    let refreshes = requests.iter().filter(|r| r.path == "/installation/repositories").count();
    assert!(refreshes >= 2, "the repositories come from the installation, at every refresh: {refreshes}");
    assert!(!requests.iter().any(|r| r.path == "/orgs/acme/repos"), "not from the organization's listing");
    for g in &failed {
        assert_eq!(app.world().attempts_for(g).iter().filter(|a| a.redelivery).count(), 1, "{g}");
    }
}

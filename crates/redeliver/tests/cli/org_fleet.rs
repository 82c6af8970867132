//! An organization's hooks discovered and watched (issue 14): 300 repositories, 120 with a
//! matching hook, failures spread across them; `watch` redelivers each failure once, picks up
//! a hook added while it runs at the next refresh, and drops a deleted one without an error.

use crate::harness::{App, poll_until, wait_until};
use chrono::Utc;
use redeliver_sim::{HookId, NewAttempt};
use std::time::Duration;

const TOKEN: &str = "ghp_orgFleetToken000000000000000000000";

/// The 300 repositories: every 5th and the one after it has a CI hook (120), every 10th also a
/// chat hook the config does not want, and the last three have a CI hook too but are excluded
/// by name (`archived-*`). Returns the 120 wanted hooks.
fn organization(app: &App) -> Vec<(String, HookId)> {
    let world = app.world();
    let ci = format!("{}/jenkins/github-webhook/", app.receiver.url());
    let chat = format!("{}/chat", app.receiver.url());
    let mut hooks = Vec::new();
    for i in 0..300 {
        let name = if i >= 297 { format!("archived-{i}") } else { format!("svc-{i:03}") };
        world.add_repo("acme", &name);
        if i >= 297 {
            world.add_repo_hook("acme", &name, &ci, None);
        } else if i % 5 < 2 {
            hooks.push((name.clone(), world.add_repo_hook("acme", &name, &ci, None)));
        }
        if i % 10 == 0 {
            world.add_repo_hook("acme", &name, &chat, None);
        }
    }
    hooks
}

fn config(app: &App) -> std::path::PathBuf {
    let path = app.dir.path().join("fleet.toml");
    let text = format!(
        r#"interval = "1s"
max_interval = "4s"

[[target]]
name = "acme-ci"
kind = "org-repo-hooks"
org = "acme"
api_url = "{}"
token_env = "ORG_TOKEN"
repos = ["*", "!archived-*"]
hook_url = "*/jenkins/*"
hook_events = ["push"]
refresh = "4s"
pace = "0s"
ladder = "1s"
"#,
        app.sim.base_url()
    );
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organizations_matching_hooks_are_discovered_and_every_failure_is_redelivered_once() {
    let app = App::start().await;
    let world = app.world();
    world.add_token(TOKEN);
    // Plenty for the test's pace; the schedule's budget is exercised by its property tests.
    world.set_rate_limit(1_000_000, 1_000_000, Duration::from_secs(3600));
    let hooks = organization(&app);
    assert_eq!(hooks.len(), 120);
    // Failures spread across them: one on every third hook, two on every seventh.
    let now = Utc::now() - chrono::Duration::minutes(2);
    let mut failed = Vec::new();
    for (k, (_, hook)) in hooks.iter().enumerate() {
        let n = usize::from(k % 3 == 0) + usize::from(k % 7 == 0);
        for _ in 0..n {
            failed.push(world.record_attempt(*hook, NewAttempt::new("push", 502, now)).guid);
        }
        world.record_attempt(*hook, NewAttempt::new("push", 200, now));
    }
    assert!(failed.len() > 50);

    let config = config(&app);
    let mut daemon = app
        .command(["watch", "--config", config.to_str().unwrap(), "--listen", "127.0.0.1:0"])
        .env("ORG_TOKEN", TOKEN)
        .spawn();
    let url = daemon.status_url().await;

    let all_once = || failed.iter().all(|g| app.receiver.successes_for(g) == 1);
    if !poll_until(Duration::from_secs(90), all_once).await {
        daemon.signal("TERM");
        let _ = daemon.exit_code(20).await;
        let missing: Vec<&String> = failed.iter().filter(|g| app.receiver.successes_for(g) != 1).collect();
        panic!("not redelivered exactly once: {missing:?}\nstderr:\n{}", daemon.seen.join("\n"));
    }

    // A hook added while watch runs is found at the next refresh, and its failure redelivered.
    let added = world.add_repo_hook("acme", "svc-new", &format!("{}/jenkins/x/", app.receiver.url()), None);
    let late = world.record_attempt(added, NewAttempt::new("push", 500, Utc::now())).guid;
    wait_until(Duration::from_secs(30), "the added hook's failure redelivered", || {
        app.receiver.successes_for(&late) == 1
    })
    .await;

    // A deleted repository's hook is dropped at the next refresh, without an error.
    let (gone_repo, gone_hook) = hooks[3].clone();
    world.delete_repo("acme", &gone_repo);
    let gone_path = format!("/repos/acme/{gone_repo}/hooks/{gone_hook}/deliveries");
    let metrics_url = format!("{url}/metrics");
    let mut metrics = String::new();
    let mut dropped = false;
    for _ in 0..60 {
        let Ok(answer) = reqwest::get(&metrics_url).await else {
            let _ = daemon.exit_code(20).await;
            let _ = poll_until(Duration::from_secs(2), || false).await;
            panic!("the daemon stopped answering:\n{}", daemon.seen.join("\n"));
        };
        metrics = answer.text().await.unwrap();
        if metrics.contains("redeliver_discovered_hooks{source=\"acme-ci\"} 120") && !metrics.contains(&gone_path) {
            dropped = !metrics.contains(&format!("acme/{gone_repo}#{gone_hook}"));
            if dropped {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(dropped, "the deleted hook is gone from the metrics:\n{metrics}");
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(page.contains("acme-ci (org acme): 120 hooks in"), "one summary line for the organization");
    assert_eq!(reqwest::get(format!("{url}/healthz")).await.unwrap().status(), 200);

    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0, "clean exit:\n{}", daemon.seen.join("\n"));
    world.settle().await;
    daemon.wait_for("redeliver: stopped", 10).await;
    let stderr = daemon.seen.join("\n");
    assert!(!stderr.contains("poll failed") && !stderr.contains("ERROR"), "no errors:\n{stderr}");

    // Every failure once, and nothing more; only the wanted hooks were listed; unchanged
    // listings were asked conditionally and answered 304.
    for g in &failed {
        let redeliveries = world.attempts_for(g).iter().filter(|a| a.redelivery).count();
        assert_eq!(redeliveries, 1, "{g}");
    }
    let requests = world.requests();
    assert!(!requests.iter().any(|r| r.path.contains("/hooks/") && r.path.contains("archived-")));
    let not_modified = requests.iter().filter(|r| r.status == 304).count();
    assert!(not_modified > 50, "unchanged first pages come back 304: {not_modified}");
    let free_refreshes = requests.iter().filter(|r| r.path.ends_with("/hooks") && r.status == 304).count();
    assert!(free_refreshes >= 200, "a refresh asks each repository's hooks conditionally: {free_refreshes}");
    let chat_listed = requests.iter().any(|r| {
        r.path.ends_with("/deliveries")
            && !hooks.iter().any(|(_, h)| r.path.contains(&format!("/hooks/{h}/")))
            && !r.path.contains(&format!("/hooks/{added}/"))
    });
    assert!(!chat_listed, "hooks the config does not want are never polled");
}

/// A 304 ends the listing with nothing new, and the redelivery the state owes is still sent
/// when its rung comes due: here the first redelivery fails, every later poll is a free 304,
/// and the second redelivery goes out on time from the ledger alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_listing_is_a_free_304_and_owed_redeliveries_still_go_out() {
    let app = App::start().await;
    let world = app.world();
    world.add_token(TOKEN);
    let hook = world.add_repo_hook("acme", "site", &app.receiver.url(), None);
    let guid = world.record_attempt(hook, NewAttempt::new("push", 502, Utc::now())).guid;
    app.receiver.set_mode(redeliver_sim::ReceiverMode::Status(500));
    let path = app.dir.path().join("repo.toml");
    let text = format!(
        "interval = \"200ms\"\n[[target]]\nname = \"site\"\nkind = \"repo\"\nrepo = \"acme/site\"\nhook_id = {hook}\n\
         api_url = \"{}\"\ntoken_env = \"ORG_TOKEN\"\npace = \"0s\"\nladder = \"1s,4s\"\n",
        app.sim.base_url()
    );
    std::fs::write(&path, text).unwrap();
    let mut daemon =
        app.command(["watch", "--config", path.to_str().unwrap(), "--listen", "off"]).env("ORG_TOKEN", TOKEN).spawn();
    let redeliveries = || world.attempts_for(&guid).iter().filter(|a| a.redelivery).count();
    wait_until(Duration::from_secs(30), "the first redelivery (refused by the receiver)", || redeliveries() == 1).await;
    app.receiver.set_mode(redeliver_sim::ReceiverMode::Up);
    wait_until(Duration::from_secs(30), "the second redelivery, owed by the ledger", || {
        app.receiver.successes_for(&guid) == 1
    })
    .await;
    daemon.signal("TERM");
    assert_eq!(daemon.exit_code(20).await, 0);

    let list = format!("/repos/acme/site/hooks/{hook}/deliveries");
    let requests = world.requests();
    let posts: Vec<usize> = requests.iter().enumerate().filter(|(_, r)| r.method == "POST").map(|(i, _)| i).collect();
    assert_eq!(posts.len(), 2, "two redeliveries, no more");
    let between = &requests[posts[0]..posts[1]];
    let free = between.iter().filter(|r| r.path == list && r.status == 304).count();
    assert!(free >= 3, "the polls between the two redeliveries were 304s: {free}");
    let last_listing = between.iter().rev().find(|r| r.path == list).unwrap();
    assert_eq!(last_listing.status, 304, "the second redelivery was planned on a 304, from the ledger");
}

/// `run` is one pass over configured hooks; an organization's hooks are discovered and paced
/// by `watch` alone, so `run` refuses the kind as a configuration error (exit 2) that names the
/// target and the command to use, before any request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_an_org_repo_hooks_target_with_exit_2() {
    let app = App::start().await;
    app.world().add_token(TOKEN);
    let config = config(&app);
    let out = app.command(["run", "--config", config.to_str().unwrap()]).env("ORG_TOKEN", TOKEN).await;
    out.assert_code(2);
    assert!(
        out.stderr.contains("target \"acme-ci\" is kind = \"org-repo-hooks\"")
            && out.stderr.contains("`redeliver watch`"),
        "a clear message:\n{}",
        out.stderr
    );
    assert!(app.world().requests().is_empty(), "nothing was asked of GitHub");
}

/// The listing `ETag`s live in the state (schema 6), so a restarted `watch` asks each hook's
/// first page conditionally at once: the first listings after the restart are free 304s, not
/// the full listings that cost a fleet hours of budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_watch_asks_conditionally_at_once() {
    let app = App::start().await;
    let world = app.world();
    world.add_token(TOKEN);
    let ci = format!("{}/jenkins/x/", app.receiver.url());
    let mut paths = Vec::new();
    for i in 0..5 {
        let name = format!("svc-{i}");
        world.add_repo("acme", &name);
        let hook = world.add_repo_hook("acme", &name, &ci, None);
        world.record_attempt(hook, NewAttempt::new("push", 200, Utc::now() - chrono::Duration::minutes(1)));
        paths.push(format!("/repos/acme/{name}/hooks/{hook}/deliveries"));
    }
    let config = config(&app);
    let listings = |from: usize| -> Vec<(String, u16)> {
        let requests = world.requests();
        requests[from..].iter().filter(|r| paths.contains(&r.path)).map(|r| (r.path.clone(), r.status)).collect()
    };
    let watch = || {
        app.command(["watch", "--config", config.to_str().unwrap(), "--listen", "off"]).env("ORG_TOKEN", TOKEN).spawn()
    };
    // First run: every hook listed in full once, then again (conditionally) at least once.
    let mut first = watch();
    let all_twice = || paths.iter().all(|p| listings(0).iter().filter(|(q, _)| q == p).count() >= 2);
    assert!(poll_until(Duration::from_secs(30), all_twice).await, "{}", first.seen.join("\n"));
    first.signal("TERM");
    assert_eq!(first.exit_code(20).await, 0, "{}", first.seen.join("\n"));

    let restart = world.requests().len();
    let mut second = watch();
    let each_once = || paths.iter().all(|p| listings(restart).iter().any(|(q, _)| q == p));
    assert!(poll_until(Duration::from_secs(30), each_once).await, "{}", second.seen.join("\n"));
    second.signal("TERM");
    assert_eq!(second.exit_code(20).await, 0, "{}", second.seen.join("\n"));
    for p in &paths {
        let status = listings(restart).into_iter().find(|(q, _)| q == p).map(|(_, s)| s);
        assert_eq!(status, Some(304), "{p}: the first listing after the restart is a 304");
    }
}

/// `org = "*"` (a GHES site administrator's token): every organization of the server is
/// listed (`GET /organizations`) and each one's matching hooks watched; with an App's key
/// instead, whose installation covers one account, the config is refused (exit 2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_organization_is_covered_with_org_star() {
    let app = App::start().await;
    let world = app.world();
    world.add_token(TOKEN);
    world.set_rate_limit(1_000_000, 1_000_000, Duration::from_secs(3600));
    let ci = format!("{}/jenkins/x/", app.receiver.url());
    let when = Utc::now() - chrono::Duration::minutes(2);
    let mut failed = Vec::new();
    for org in ["acme", "globex", "initech"] {
        for i in 0..3 {
            let name = format!("svc-{i}");
            world.add_repo(org, &name);
            let hook = world.add_repo_hook(org, &name, &ci, None);
            failed.push(world.record_attempt(hook, NewAttempt::new("push", 502, when)).guid);
        }
    }
    let text = std::fs::read_to_string(config(&app)).unwrap().replace("org = \"acme\"", "org = \"*\"");
    let path = app.dir.path().join("every-org.toml");
    std::fs::write(&path, &text).unwrap();
    let mut daemon =
        app.command(["watch", "--config", path.to_str().unwrap(), "--listen", "off"]).env("ORG_TOKEN", TOKEN).spawn();
    let all_once = || failed.iter().all(|g| app.receiver.successes_for(g) == 1);
    let done = poll_until(Duration::from_secs(60), all_once).await;
    daemon.signal("TERM");
    let code = daemon.exit_code(20).await;
    assert!(done, "every organization's failures redelivered:\n{}", daemon.seen.join("\n"));
    assert_eq!(code, 0, "{}", daemon.seen.join("\n"));
    let requests = world.requests();
    assert!(requests.iter().any(|r| r.path == "/organizations" && r.status == 200));
    for org in ["acme", "globex", "initech"] {
        assert!(requests.iter().any(|r| r.path == format!("/orgs/{org}/repos")), "{org} listed");
    }

    let with_app = text.replace(
        "token_env = \"ORG_TOKEN\"",
        &format!("app_id = {}\nprivate_key_file = \"{}\"", crate::harness::APP_ID, app.key_path().display()),
    );
    let app_path = app.dir.path().join("every-org-app.toml");
    std::fs::write(&app_path, with_app).unwrap();
    let out = app.command(["watch", "--config", app_path.to_str().unwrap(), "--listen", "off"]).await;
    out.assert_code(2);
    assert!(out.stderr.contains("org = \"*\"") && out.stderr.contains("site administrator"), "{}", out.stderr);
}

//! github.com or GitHub Enterprise Server: the root plays github.com (3-day retention, 10 s
//! receiver timeout), `/api/v3` plays GHES (7 days, 30 s, `X-GitHub-Enterprise-*` headers),
//! unless the world is told to play one of them everywhere.

use crate::support::AppWorld;
use chrono::{Duration, Utc};
use redeliver_sim::{Flavor, NewAttempt};
use serde_json::Value;

/// The ids listed at `base` (the root or the GHES base URL).
async fn listed(app: &AppWorld, base: &str) -> Vec<u64> {
    let list: Vec<Value> = app.get_url(&format!("{base}/app/hook/deliveries")).await.json().await.unwrap();
    list.iter().map(|d| d["id"].as_u64().unwrap()).collect()
}

#[tokio::test]
async fn ghes_under_api_v3_keeps_seven_days_and_github_com_three() {
    let app = AppWorld::start().await;
    let five_days = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now() - Duration::days(5)));
    let eight_days = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now() - Duration::days(8)));
    let (root, ghes) = (app.sim.base_url(), app.sim.ghes_base_url());

    assert_eq!(listed(&app, &ghes).await, [five_days.id], "GHES keeps 7 days");
    assert!(listed(&app, &root).await.is_empty(), "github.com keeps 3 days");
    assert_eq!(app.get_url(&format!("{ghes}/app/hook/deliveries/{}", five_days.id)).await.status(), 200);
    assert_eq!(app.get_url(&format!("{root}/app/hook/deliveries/{}", five_days.id)).await.status(), 404);
    let redeliver = |base: &str| format!("{base}/app/hook/deliveries/{}/attempts", five_days.id);
    let refused = app.http.post(redeliver(&root)).bearer_auth(&app.jwt).send().await.unwrap();
    assert_eq!(refused.status(), 422, "too old for github.com");
    let accepted = app.http.post(redeliver(&ghes)).bearer_auth(&app.jwt).send().await.unwrap();
    assert_eq!(accepted.status(), 202, "within GHES's 7 days");
    let too_old = format!("{ghes}/app/hook/deliveries/{}/attempts", eight_days.id);
    assert_eq!(app.http.post(too_old).bearer_auth(&app.jwt).send().await.unwrap().status(), 422);
    app.world.settle().await;

    assert_eq!(app.world.retention_for(false), Duration::days(3));
    assert_eq!(app.world.retention_for(true), Duration::days(7));
    assert_eq!(app.world.receiver_timeout_for(false), std::time::Duration::from_secs(10));
    assert_eq!(app.world.receiver_timeout_for(true), std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn a_world_told_its_flavor_plays_it_at_every_base_url() {
    let app = AppWorld::start().await;
    let five_days = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now() - Duration::days(5)));
    app.world.set_flavor(Flavor::GitHubCom);
    assert!(listed(&app, &app.sim.ghes_base_url()).await.is_empty(), "github.com, even under /api/v3");
    assert_eq!(app.world.receiver_timeout_for(true), std::time::Duration::from_secs(10));
    app.world.set_flavor(Flavor::Ghes);
    assert_eq!(listed(&app, &app.sim.base_url()).await, [five_days.id], "GHES, even at the root");
    assert_eq!(app.world.receiver_timeout_for(false), std::time::Duration::from_secs(30));
}

#[tokio::test]
async fn ghes_webhooks_carry_the_enterprise_headers() {
    let app = AppWorld::start().await;
    let first = app.world.record_attempt(app.hook, NewAttempt::new("push", 502, Utc::now() - Duration::hours(1)));
    let root = app.http.post(app.url(&format!("/app/hook/deliveries/{}/attempts", first.id)));
    assert_eq!(root.bearer_auth(&app.jwt).send().await.unwrap().status(), 202);
    app.world.settle().await;
    let ghes = format!("{}/app/hook/deliveries/{}/attempts", app.sim.ghes_base_url(), first.id);
    assert_eq!(app.http.post(ghes).bearer_auth(&app.jwt).send().await.unwrap().status(), 202);
    app.world.settle().await;

    let attempts = app.world.attempts_for(&first.guid);
    assert_eq!(attempts.len(), 3);
    let headers = |id: u64| {
        let app = &app;
        async move {
            let detail: Value = app.get(&format!("/app/hook/deliveries/{id}")).await.json().await.unwrap();
            detail["request"]["headers"].clone()
        }
    };
    let from_ghes = headers(attempts[0].id).await;
    assert_eq!(from_ghes["X-GitHub-Enterprise-Host"], app.sim.addr().to_string());
    assert!(from_ghes["X-GitHub-Enterprise-Version"].as_str().unwrap().starts_with("3."));
    let from_dotcom = headers(attempts[1].id).await;
    assert_eq!(from_dotcom["X-GitHub-Enterprise-Host"], Value::Null);
}

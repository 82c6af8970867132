//! Installation tokens: found and minted with the app's JWT, accepted on their account only.

use crate::support::{APP_ID, AppWorld};
use chrono::Utc;
use redeliver_sim::NewAttempt;
use serde_json::Value;

#[tokio::test]
async fn a_minted_installation_token_reaches_its_own_organization_only() {
    let app = AppWorld::start().await;
    let installation = app.world.add_installation(APP_ID, "acme");
    let own = app.world.add_org_hook("acme", &app.receiver.url(), None);
    let other = app.world.add_org_hook("globex", &app.receiver.url(), None);
    app.world.record_attempt(own, NewAttempt::new("member", 500, Utc::now()));

    let found: Value = app.get("/orgs/acme/installation").await.json().await.unwrap();
    assert_eq!(found["id"], installation);
    assert_eq!(app.get("/orgs/globex/installation").await.status(), 404);
    let found: Value = app.get("/repos/acme/site/installation").await.json().await.unwrap();
    assert_eq!(found["id"], installation);

    let minted = app.post(&format!("/app/installations/{installation}/access_tokens")).await;
    assert_eq!(minted.status(), 201);
    let minted: Value = minted.json().await.unwrap();
    let token = minted["token"].as_str().unwrap().to_string();
    assert!(token.starts_with("ghs_"));
    assert!(minted["expires_at"].as_str().unwrap().ends_with('Z'));

    let list = |org: &str, hook: u64| {
        app.http
            .get(app.url(&format!("/orgs/{org}/hooks/{hook}/deliveries")))
            .header("authorization", format!("token {token}"))
            .send()
    };
    let mine = list("acme", own).await.unwrap();
    assert_eq!(mine.status(), 200);
    assert_eq!(mine.json::<Vec<Value>>().await.unwrap().len(), 1);
    assert_eq!(list("globex", other).await.unwrap().status(), 403);
    assert_eq!(app.post("/app/installations/1/access_tokens").await.status(), 404);
}

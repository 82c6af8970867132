//! Primary rate limits per credential: an App's JWT requests, a user's token and an
//! installation's tokens each spend their own budget, with GitHub's `x-ratelimit-*` headers.

use crate::support::{APP_ID, AppWorld, TOKEN, header};
use redeliver_sim::Credential;
use serde_json::Value;
use std::time::Duration;

fn used(response: &reqwest::Response) -> u64 {
    header(response, "x-ratelimit-used").unwrap().parse().unwrap()
}

#[tokio::test]
async fn jwt_user_token_and_installation_tokens_spend_separate_budgets() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let installation = app.world.add_installation(APP_ID, "acme");
    let hook = app.world.add_org_hook("acme", &app.receiver.url(), None);
    for _ in 0..3 {
        assert_eq!(app.get("/app/hook/deliveries").await.status(), 200);
    }
    let minted: Value =
        app.post(&format!("/app/installations/{installation}/access_tokens")).await.json().await.unwrap();
    let ghs = minted["token"].as_str().unwrap().to_string();
    let list = app.url(&format!("/orgs/acme/hooks/{hook}/deliveries"));
    let by_user = app.http.get(&list).bearer_auth(TOKEN).send().await.unwrap();
    let by_installation = app.http.get(&list).bearer_auth(&ghs).send().await.unwrap();
    let by_app = app.get("/app/hook/deliveries").await;

    assert_eq!(used(&by_user), 1, "the JWT's requests are not the user's");
    assert_eq!(used(&by_installation), 1);
    assert_eq!(used(&by_app), 5, "four lists and one token minted with the JWT");
    for response in [&by_user, &by_installation, &by_app] {
        assert_eq!(header(response, "x-ratelimit-limit").as_deref(), Some("5000"));
        assert_eq!(header(response, "x-ratelimit-resource").as_deref(), Some("core"));
        let remaining: u64 = header(response, "x-ratelimit-remaining").unwrap().parse().unwrap();
        assert_eq!(remaining + used(response), 5000);
        assert!(
            header(response, "x-ratelimit-reset").unwrap().parse::<i64>().unwrap() > chrono::Utc::now().timestamp()
        );
    }
    // A second token of the same installation shares its budget.
    let again: Value =
        app.post(&format!("/app/installations/{installation}/access_tokens")).await.json().await.unwrap();
    let second = app.http.get(&list).bearer_auth(again["token"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(used(&second), 2);
    assert_eq!(app.world.rate_limit_used(Credential::Installation(installation)), Some(2));
    assert_eq!(app.world.rate_limit_used(Credential::Token(TOKEN)), Some(1));
    assert_eq!(app.world.rate_limit_used(Credential::App(APP_ID)), Some(6));
    assert_eq!(app.world.rate_limit_used(Credential::Token("ghp_unknown")), None);
}

#[tokio::test]
async fn one_exhausted_credential_leaves_the_others_working() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let hook = app.world.add_repo_hook("octo", "site", &app.receiver.url(), None);
    app.world.set_rate_limit_of(Credential::App(APP_ID), 5000, 0, Duration::from_secs(3600));
    let refused = app.get("/app/hook/deliveries").await;
    assert_eq!(refused.status(), 403);
    assert_eq!(header(&refused, "x-ratelimit-remaining").as_deref(), Some("0"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["message"], format!("API rate limit exceeded for app ID {APP_ID}."));

    let list = app.url(&format!("/repos/octo/site/hooks/{hook}/deliveries"));
    let by_user = app.http.get(&list).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(by_user.status(), 200, "the user's budget is its own");
    assert_eq!(header(&by_user, "x-ratelimit-remaining").as_deref(), Some("4999"));
}

#[tokio::test]
async fn unauthenticated_requests_show_the_budget_of_60() {
    let app = AppWorld::start().await;
    let response = app.http.get(app.url("/app/hook/deliveries")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(header(&response, "x-ratelimit-limit").as_deref(), Some("60"));
    assert_eq!(used(&response), 1);
}

//! Conditional requests and API versions: lists send an `ETag`; `If-None-Match` with it is a 304
//! without a body that costs no primary rate limit; an unsupported `X-GitHub-Api-Version` is a 400.

use crate::support::{AppWorld, TOKEN, header};
use chrono::Utc;
use redeliver_sim::NewAttempt;
use serde_json::Value;

#[tokio::test]
async fn a_list_etag_answers_304_for_free_until_the_list_changes() {
    let app = AppWorld::start().await;
    app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now()));
    let first = app.get("/app/hook/deliveries").await;
    assert_eq!(first.status(), 200);
    let etag = header(&first, "etag").expect("lists send an ETag");
    assert!(etag.starts_with("W/\""), "{etag}");
    let remaining = |r: &reqwest::Response| header(r, "x-ratelimit-remaining").unwrap();
    assert_eq!(remaining(&first), "4999");

    let conditional =
        || app.http.get(app.url("/app/hook/deliveries")).bearer_auth(&app.jwt).header("if-none-match", &etag);
    let unchanged = conditional().send().await.unwrap();
    assert_eq!(unchanged.status(), 304);
    assert_eq!(header(&unchanged, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(remaining(&unchanged), "4999", "a 304 costs no primary rate limit");
    assert!(unchanged.bytes().await.unwrap().is_empty());

    app.world.record_attempt(app.hook, NewAttempt::new("push", 502, Utc::now()));
    let changed = conditional().send().await.unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(header(&changed, "etag").as_deref(), Some(etag.as_str()));
    assert_eq!(remaining(&changed), "4998");
    assert_eq!(changed.json::<Vec<Value>>().await.unwrap().len(), 2);
}

#[tokio::test]
async fn single_deliveries_and_variables_send_etags_too() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    app.world.set_variable("octo", "ops", "LAST_RUN", "1");
    let record = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now()));
    let detail = app.get(&format!("/app/hook/deliveries/{}", record.id)).await;
    assert!(header(&detail, "etag").is_some());
    let url = app.url("/repos/octo/ops/actions/variables/LAST_RUN");
    let variable = app.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    let etag = header(&variable, "etag").unwrap();
    let again = app.http.get(&url).bearer_auth(TOKEN).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
}

#[tokio::test]
async fn an_unsupported_api_version_is_refused_with_400() {
    let app = AppWorld::start().await;
    let list = |version: &'static str| {
        app.http
            .get(app.url("/app/hook/deliveries"))
            .bearer_auth(&app.jwt)
            .header("x-github-api-version", version)
            .send()
    };
    for version in ["2022-11-28", "2026-03-10"] {
        let ok = list(version).await.unwrap();
        assert_eq!(ok.status(), 200, "{version}");
        assert_eq!(header(&ok, "x-github-api-version-selected").as_deref(), Some(version));
    }
    let refused = list("2021-01-01").await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("\"2021-01-01\", is not a supported version"), "{message}");
    assert!(message.contains("\"2022-11-28\""), "{message}");
    assert_eq!(body["documentation_url"], "https://docs.github.com/rest/about-the-rest-api/api-versions");
    let unnamed = app.get("/app/hook/deliveries").await;
    assert_eq!(header(&unnamed, "x-github-api-version-selected").as_deref(), Some("2022-11-28"));
}

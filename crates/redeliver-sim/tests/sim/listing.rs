//! Listing deliveries: newest first, cursor pages joined by `Link` headers, filters, retention.

use crate::support::{AppWorld, TOKEN, header, http, next_link};
use chrono::{Duration, Utc};
use redeliver_sim::NewAttempt;
use serde_json::Value;
use std::collections::BTreeSet;

/// Seven attempts a minute apart, oldest first; returns their ids newest first.
fn seven_attempts(app: &AppWorld) -> Vec<u64> {
    let start = Utc::now() - Duration::hours(1);
    let mut ids: Vec<u64> = (0..7)
        .map(|i| {
            let code = if i % 2 == 0 { 503 } else { 200 };
            let attempt = NewAttempt::new("issues", code, start + Duration::minutes(i)).action("opened");
            app.world.record_attempt(app.hook, attempt).id
        })
        .collect();
    ids.reverse();
    ids
}

#[tokio::test]
async fn pages_follow_link_next_until_the_last_page_which_has_none() {
    let app = AppWorld::start().await;
    let expected = seven_attempts(&app);

    let mut seen = Vec::new();
    let mut url = app.url("/app/hook/deliveries?per_page=3");
    let mut pages = 0;
    loop {
        pages += 1;
        assert!(pages <= 5, "pagination does not end");
        let response = app.get_url(&url).await;
        assert_eq!(response.status(), 200);
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        seen.extend(page.iter().map(|d| d["id"].as_u64().unwrap()));
        match next {
            Some(next) => {
                assert!(next.starts_with(&app.sim.base_url()), "absolute next URL: {next}");
                assert!(next.contains("per_page=3"), "keeps per_page: {next}");
                assert_eq!(page.len(), 3);
                url = next;
            }
            None => {
                assert_eq!(page.len(), 1, "the last page holds the remainder");
                break;
            }
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, expected, "newest first, each delivery exactly once");
    assert!(seen.iter().all(|id| *id > 1 << 33), "ids are large 64-bit values");
}

#[tokio::test]
async fn an_empty_history_is_an_empty_array_without_link() {
    let app = AppWorld::start().await;
    let response = app.get("/app/hook/deliveries").await;
    assert_eq!(response.status(), 200);
    assert_eq!(next_link(&response), None);
    assert_eq!(response.text().await.unwrap(), "[]");
}

#[tokio::test]
async fn items_have_exactly_githubs_simple_delivery_fields() {
    let app = AppWorld::start().await;
    let at = Utc::now() - Duration::minutes(5);
    let record =
        app.world.record_attempt(app.hook, NewAttempt::new("issues", 0, at).action("opened").installation_id(77));
    let list: Vec<Value> = app.get("/app/hook/deliveries").await.json().await.unwrap();
    let item = &list[0];
    let keys: BTreeSet<&str> = item.as_object().unwrap().keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = [
        "id",
        "guid",
        "delivered_at",
        "redelivery",
        "duration",
        "status",
        "status_code",
        "event",
        "action",
        "installation_id",
        "repository_id",
        "throttled_at",
    ]
    .into();
    assert_eq!(keys, expected);
    assert_eq!(item["id"], record.id);
    assert_eq!(item["guid"], record.guid.as_str());
    assert_eq!(item["status"], "failed to connect to network");
    assert_eq!(item["status_code"], 0);
    assert_eq!(item["installation_id"], 77);
    assert_eq!(item["repository_id"], Value::Null);
    assert_eq!(item["throttled_at"], Value::Null);
    let delivered_at = item["delivered_at"].as_str().unwrap();
    assert!(delivered_at.ends_with('Z') && !delivered_at.contains('.'), "{delivered_at}");
}

#[tokio::test]
async fn status_and_redelivery_filters_classify_by_status_code() {
    let app = AppWorld::start().await;
    let at = Utc::now() - Duration::minutes(30);
    for (i, code) in [200, 302, 404, 500, 0].into_iter().enumerate() {
        let attempt = NewAttempt::new("push", code, at + Duration::minutes(i as i64));
        app.world.record_attempt(app.hook, attempt.redelivery(code == 500));
    }
    let codes = |list: Vec<Value>| -> Vec<i64> { list.iter().map(|d| d["status_code"].as_i64().unwrap()).collect() };
    let failure = app.get("/app/hook/deliveries?status=failure").await.json().await.unwrap();
    assert_eq!(codes(failure), [500, 404], "status code 0 is neither success nor failure");
    let success = app.get("/app/hook/deliveries?status=success").await.json().await.unwrap();
    assert_eq!(codes(success), [302, 200]);
    let redelivered = app.get("/app/hook/deliveries?redelivery=true").await.json().await.unwrap();
    assert_eq!(codes(redelivered), [500]);
    assert_eq!(app.get("/app/hook/deliveries?status=broken").await.status(), 422);
}

#[tokio::test]
async fn filters_and_pages_combine_and_the_next_link_keeps_the_filter() {
    let app = AppWorld::start().await;
    seven_attempts(&app); // four 503s, three 200s
    let first = app.get("/app/hook/deliveries?status=failure&per_page=3").await;
    let next = next_link(&first).expect("a second page");
    assert!(next.contains("status=failure"), "{next}");
    let first: Vec<Value> = first.json().await.unwrap();
    let second: Vec<Value> = app.get_url(&next).await.json().await.unwrap();
    assert_eq!(first.len() + second.len(), 4);
    assert!(first.iter().chain(&second).all(|d| d["status_code"] == 503));
}

#[tokio::test]
async fn per_page_above_the_maximum_is_clamped() {
    let app = AppWorld::start().await;
    seven_attempts(&app);
    app.world.set_per_page_max(5);
    let response = app.get("/app/hook/deliveries?per_page=100").await;
    assert!(next_link(&response).is_some());
    let page: Vec<Value> = response.json().await.unwrap();
    assert_eq!(page.len(), 5);
}

#[tokio::test]
async fn the_ghes_prefix_serves_the_same_api_and_stays_in_next_links() {
    let app = AppWorld::start().await;
    seven_attempts(&app);
    let url = format!("{}/app/hook/deliveries?per_page=4", app.sim.ghes_base_url());
    let response = app.get_url(&url).await;
    assert_eq!(response.status(), 200);
    let next = next_link(&response).unwrap();
    assert!(next.starts_with(&format!("{}/app/hook/deliveries?", app.sim.ghes_base_url())), "{next}");
    let rest: Vec<Value> = app.get_url(&next).await.json().await.unwrap();
    assert_eq!(rest.len(), 3);
    let recorded = app.world.requests();
    assert!(recorded.iter().all(|r| r.ghes && r.path == "/app/hook/deliveries"));
}

#[tokio::test]
async fn deliveries_past_retention_are_no_longer_listed() {
    let app = AppWorld::start().await;
    let old = app.world.record_attempt(app.hook, NewAttempt::new("issues", 500, Utc::now() - Duration::days(4)));
    let recent = app.world.record_attempt(app.hook, NewAttempt::new("issues", 500, Utc::now() - Duration::days(2)));
    let list: Vec<Value> = app.get("/app/hook/deliveries").await.json().await.unwrap();
    let ids: Vec<u64> = list.iter().map(|d| d["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, [recent.id]);
    assert_eq!(app.get(&format!("/app/hook/deliveries/{}", old.id)).await.status(), 404);
    assert_eq!(app.world.deliveries(app.hook).len(), 2, "the world still holds both");
}

#[tokio::test]
async fn repository_and_organization_hooks_list_with_a_token_for_their_own_path_only() {
    let app = AppWorld::start().await;
    let world = &app.world;
    world.add_token(TOKEN);
    let repo_hook = world.add_repo_hook("octo", "site", &app.receiver.url(), None);
    let org_hook = world.add_org_hook("acme", &app.receiver.url(), None);
    world.record_attempt(repo_hook, NewAttempt::new("push", 502, Utc::now()));
    world.record_attempt(org_hook, NewAttempt::new("member", 200, Utc::now()));
    let http = http();
    let get = |path: String, auth: &'static str| {
        let http = http.clone();
        let url = app.url(&path);
        async move { http.get(url).header("authorization", auth).send().await.unwrap() }
    };
    let bearer = "Bearer ghp_simTestToken0000000000000000000000";
    let token = "token ghp_simTestToken0000000000000000000000";

    let repo: Vec<Value> =
        get(format!("/repos/octo/site/hooks/{repo_hook}/deliveries"), bearer).await.json().await.unwrap();
    assert_eq!(repo.len(), 1);
    assert_eq!(repo[0]["repository_id"], world.repository_id("octo", "site"));
    let org: Vec<Value> = get(format!("/orgs/acme/hooks/{org_hook}/deliveries"), token).await.json().await.unwrap();
    assert_eq!(org[0]["event"], "member");

    let wrong_repo = get(format!("/repos/octo/other/hooks/{repo_hook}/deliveries"), bearer).await;
    assert_eq!(wrong_repo.status(), 404);
    let org_hook_as_repo = get(format!("/repos/octo/site/hooks/{org_hook}/deliveries"), bearer).await;
    assert_eq!(org_hook_as_repo.status(), 404);
    let body: Value = org_hook_as_repo.json().await.unwrap();
    assert_eq!(body["message"], "Not Found");
    assert!(body["documentation_url"].as_str().unwrap().starts_with("https://docs.github.com/"));

    let unknown = get(format!("/orgs/acme/hooks/{org_hook}/deliveries"), "Bearer nope").await;
    assert_eq!(unknown.status(), 401);
    assert!(header(&unknown, "x-github-request-id").is_some());
    let body: Value = unknown.json().await.unwrap();
    assert_eq!(body["message"], "Bad credentials");
}

#[tokio::test]
async fn a_long_history_pages_completely_with_100_per_page() {
    let app = AppWorld::start().await;
    let start = Utc::now() - Duration::hours(60);
    for i in 0..1_050 {
        // Several attempts share a second, so the order also rests on ids.
        let at = start + Duration::milliseconds(i * 150);
        app.world.record_attempt(app.hook, NewAttempt::new("push", 500, at));
    }
    let mut url = app.url("/app/hook/deliveries?per_page=100");
    let mut ids = Vec::new();
    for _ in 0..20 {
        let response = app.get_url(&url).await;
        let next = next_link(&response);
        let page: Vec<Value> = response.json().await.unwrap();
        ids.extend(page.iter().map(|d| d["id"].as_u64().unwrap()));
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    let expected: Vec<u64> = app.world.deliveries(app.hook).iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 1_050);
    assert_eq!(ids, expected);
}

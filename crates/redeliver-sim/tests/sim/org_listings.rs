//! Discovery's listings: an organization's repositories and each one's hooks, paged by number
//! with `Link`, changing while a client reads them; an installation's repositories; every
//! organization for a site admin; and a deleted hook's deliveries answering 404.

use crate::support::{APP_ID, AppWorld, TOKEN, header, next_link};
use serde_json::Value;

/// Every item of a numbered listing, following `Link: rel="next"` (at most 50 pages).
async fn all(app: &AppWorld, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut url = Some(app.url(path));
    for _ in 0..50 {
        let Some(at) = url.take() else { break };
        let response = app.http.get(&at).bearer_auth(token).send().await.unwrap();
        assert_eq!(response.status(), 200, "{at}");
        url = next_link(&response);
        let body: Value = response.json().await.unwrap();
        let page = body.get("repositories").cloned().unwrap_or(body);
        items.extend(page.as_array().unwrap().iter().cloned());
    }
    assert!(url.is_none(), "the listing ended");
    items
}

#[tokio::test]
async fn an_organizations_repositories_and_hooks_are_listed_in_pages_and_follow_changes() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    for i in 0..45 {
        app.world.add_repo("acme", &format!("svc-{i:02}"));
    }
    app.world.add_repo("globex", "other");
    let ci = app.world.add_repo_hook("acme", "svc-07", "http://127.0.0.1:9/jenkins", None);
    app.world.set_hook_events(ci, &["push", "pull_request"]);
    app.world.set_repo_archived("acme", "svc-44", true);

    let first = app.http.get(app.url("/orgs/acme/repos?per_page=20")).bearer_auth(TOKEN).send().await.unwrap();
    let link = header(&first, "link").unwrap();
    assert!(link.contains("page=2>; rel=\"next\"") && link.contains("page=3>; rel=\"last\""), "{link}");
    let repos = all(&app, "/orgs/acme/repos?per_page=20", TOKEN).await;
    assert_eq!(repos.len(), 45, "another organization's repositories are not listed");
    assert_eq!(repos[7]["full_name"], "acme/svc-07");
    assert_eq!(repos[44]["archived"], true);

    let hooks = all(&app, "/repos/acme/svc-07/hooks", TOKEN).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"], ci);
    assert_eq!(hooks[0]["config"]["url"], "http://127.0.0.1:9/jenkins");
    assert_eq!(hooks[0]["events"], serde_json::json!(["push", "pull_request"]));
    assert!(hooks[0]["config"].get("secret").is_none());
    assert!(all(&app, "/repos/acme/svc-08/hooks", TOKEN).await.is_empty());

    // A repository deleted: gone from the listing, its hooks 404 (their deliveries too).
    app.world.delete_repo("acme", "svc-07");
    assert_eq!(all(&app, "/orgs/acme/repos?per_page=100", TOKEN).await.len(), 44);
    let gone = app.http.get(app.url("/repos/acme/svc-07/hooks")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    let path = format!("/repos/acme/svc-07/hooks/{ci}/deliveries");
    let gone = app.http.get(app.url(&path)).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    assert_eq!(app.http.get(app.url("/orgs/nobody/repos")).bearer_auth(TOKEN).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn org_hooks_installation_repositories_and_every_organization() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let org_hook = app.world.add_org_hook("acme", "http://127.0.0.1:9/chat", None);
    let hook = app.world.add_repo_hook("acme", "site", "http://127.0.0.1:9/ci", None);
    app.world.add_repo("acme", "docs");
    app.world.add_repo("globex", "www");
    let hooks = all(&app, "/orgs/acme/hooks", TOKEN).await;
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0]["id"], org_hook);
    assert_eq!(hooks[0]["type"], "Organization");

    let installation = app.world.add_installation(APP_ID, "acme");
    let minted: Value =
        app.post(&format!("/app/installations/{installation}/access_tokens")).await.json().await.unwrap();
    let token = minted["token"].as_str().unwrap().to_string();
    let repos = all(&app, "/installation/repositories", &token).await;
    let names: Vec<&str> = repos.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["site", "docs"]);
    let theirs = app.http.get(app.url("/orgs/globex/repos")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(theirs.status(), 403, "an installation token reaches its own account only");
    let as_user = app.http.get(app.url("/installation/repositories")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(as_user.status(), 403);

    let orgs = all(&app, "/organizations?per_page=1", TOKEN).await;
    let logins: Vec<&str> = orgs.iter().map(|o| o["login"].as_str().unwrap()).collect();
    assert_eq!(logins, ["acme", "globex"]);

    // An unchanged hooks listing is a free 304, as discovery's refreshes ask it.
    let url = app.url("/repos/acme/site/hooks");
    let listed = app.http.get(&url).bearer_auth(TOKEN).send().await.unwrap();
    let etag = header(&listed, "etag").unwrap();
    let again = app.http.get(&url).bearer_auth(TOKEN).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    app.world.delete_hook(hook);
    assert!(all(&app, "/repos/acme/site/hooks", TOKEN).await.is_empty());
}

#[tokio::test]
async fn a_hooks_deliveries_listing_is_free_when_unchanged_and_its_budget_counts_the_rest() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let hook = app.world.add_repo_hook("acme", "site", "http://127.0.0.1:9/ci", None);
    let path = app.url(&format!("/repos/acme/site/hooks/{hook}/deliveries?per_page=100"));
    let first = app.http.get(&path).bearer_auth(TOKEN).send().await.unwrap();
    let etag = header(&first, "etag").unwrap();
    let used = |r: &reqwest::Response| header(r, "x-ratelimit-used").unwrap();
    assert_eq!(used(&first), "1");
    for _ in 0..3 {
        let again = app.http.get(&path).bearer_auth(TOKEN).header("if-none-match", &etag).send().await.unwrap();
        assert_eq!(again.status(), 304);
        assert_eq!(used(&again), "1", "a 304 spends nothing");
    }
}

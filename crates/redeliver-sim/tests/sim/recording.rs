//! Every request is recorded (method, path, query, status, auth kind), never its credential.

use crate::support::{AppWorld, TOKEN};

#[tokio::test]
async fn requests_are_recorded_in_order_without_credentials() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let hook = app.world.add_repo_hook("octo", "site", &app.receiver.url(), None);
    app.get("/app/hook/deliveries?per_page=5").await;
    app.http
        .get(app.url(&format!("/repos/octo/site/hooks/{hook}/deliveries")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    app.http.get(app.url("/app/hook/deliveries")).send().await.unwrap();
    app.http.get(app.url("/app/hook/deliveries")).bearer_auth("ghp_wrong").send().await.unwrap();

    let recorded = app.world.requests();
    let summary: Vec<_> = recorded
        .iter()
        .map(|r| (r.method.as_str(), r.path.as_str(), r.query.as_str(), r.status, r.auth.as_str()))
        .collect();
    let repo_path = format!("/repos/octo/site/hooks/{hook}/deliveries");
    assert_eq!(
        summary,
        [
            ("GET", "/app/hook/deliveries", "per_page=5", 200, "jwt"),
            ("GET", repo_path.as_str(), "", 200, "token"),
            ("GET", "/app/hook/deliveries", "", 401, "none"),
            ("GET", "/app/hook/deliveries", "", 401, "invalid"),
        ]
    );
    assert_eq!(recorded[0].auth, "jwt");
    let everything = format!("{recorded:?}");
    assert!(!everything.contains(TOKEN) && !everything.contains("ghp_wrong"));
    assert!(!everything.contains(&app.jwt));
    assert!(recorded.windows(2).all(|w| w[0].at <= w[1].at));

    app.world.clear_requests();
    assert!(app.world.requests().is_empty());
}

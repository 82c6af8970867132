//! Conformance: every kind of answer the simulator serves validates against the schema GitHub
//! publishes for it (vendored in `tests/conformance/schemas`, with their source and licence).
//! Each test names the behaviour it shows; the `not_modelled_*` tests name what GitHub documents
//! and the simulator does not do, and pin what it does instead.

use crate::support::{APP_ID, AppWorld, TOKEN, http, next_link};
use chrono::{Duration, Utc};
use redeliver_sim::seed;
use redeliver_sim::{Fault, FaultRule, NewAttempt, ReceiverMode};
use serde_json::{Value, json};

macro_rules! schema {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/conformance/schemas/", $name, ".json"))
    };
}

/// Validates `instance` against the vendored schema `text`, with `format` asserted.
fn assert_conforms(schema_text: &str, instance: &Value, what: &str) {
    let schema: Value = serde_json::from_str(schema_text).expect("a vendored schema is JSON");
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("a valid schema");
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not conform: {errors:?}\n{instance:#}");
}

/// Every list item of `url` (following `next`), fetched with `auth`.
async fn list_all(url: String, auth: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut next = Some(url);
    for _ in 0..30 {
        let Some(url) = next.take() else { break };
        let response = http().get(url).header("authorization", auth).send().await.unwrap();
        assert_eq!(response.status(), 200);
        next = next_link(&response);
        items.extend(response.json::<Vec<Value>>().await.unwrap());
    }
    items
}

async fn json_of(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    response.json().await.unwrap()
}

/// An App world with a seeded-like realistic history plus real redeliveries on each hook kind.
async fn busy_world() -> (AppWorld, u64, u64) {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let installation_id = app.world.add_installation(APP_ID, "acme");
    let repo_hook = app.world.add_repo_hook("acme", "site", &app.receiver.url(), None);
    let org_hook = app.world.add_org_hook("acme", &app.receiver.url(), None);
    let now = Utc::now();
    use redeliver_sim::history_gen::{HistoryPlan, HookKind, generate};
    let repository_id = app.world.repository_id("acme", "site");
    let kinds = [
        (app.hook, HookKind::App { installation_id }),
        (repo_hook, HookKind::Repo { repository_id }),
        (org_hook, HookKind::Org),
    ];
    for (seed, (hook, kind)) in kinds.into_iter().enumerate() {
        let plan = HistoryPlan {
            kind,
            events: 60,
            failed: 10,
            span: Duration::hours(3),
            now,
            outage: None,
            seed: seed as u64,
        };
        generate(&app.world, hook, &plan);
    }
    // Real POSTs: one answered, one refused by the receiver.
    app.world.deliver(app.hook, "issues", Some("opened"), json!({ "action": "opened" })).await;
    app.receiver.set_mode(ReceiverMode::Status(500));
    app.world.deliver(repo_hook, "push", None, json!({ "ref": "refs/heads/main" })).await;
    app.receiver.set_mode(ReceiverMode::Up);
    (app, repo_hook, org_hook)
}

#[tokio::test]
async fn modelled_list_items_of_app_repository_and_organization_hooks_are_hook_delivery_items() {
    let (app, repo_hook, org_hook) = busy_world().await;
    let jwt = format!("Bearer {}", app.jwt);
    let token = format!("token {TOKEN}");
    let lists = [
        (app.url("/app/hook/deliveries?per_page=100"), &jwt),
        (app.url(&format!("/repos/acme/site/hooks/{repo_hook}/deliveries?per_page=100")), &token),
        (app.url(&format!("/orgs/acme/hooks/{org_hook}/deliveries?per_page=100")), &token),
        (format!("{}/app/hook/deliveries?status=failure", app.sim.ghes_base_url()), &jwt),
    ];
    let mut seen = 0;
    for (url, auth) in lists {
        for item in list_all(url, auth).await {
            assert_conforms(schema!("hook-delivery-item"), &item, "a list item");
            seen += 1;
        }
    }
    assert!(seen > 150, "{seen}");
}

#[tokio::test]
async fn modelled_single_deliveries_recorded_and_really_sent_are_hook_deliveries() {
    let (app, _, _) = busy_world().await;
    for record in app.world.deliveries(app.hook).iter().take(40) {
        let detail = json_of(app.get(&format!("/app/hook/deliveries/{}", record.id)).await, 200).await;
        assert_conforms(schema!("hook-delivery"), &detail, "a delivery");
    }
}

#[tokio::test]
async fn modelled_a_redelivery_is_202_accepted_with_an_object() {
    let (app, _, _) = busy_world().await;
    let id = app.world.deliveries(app.hook)[0].id;
    let accepted = json_of(app.post(&format!("/app/hook/deliveries/{id}/attempts")).await, 202).await;
    assert_conforms(schema!("accepted"), &accepted, "the 202 answer");
    app.world.settle().await;
}

#[tokio::test]
async fn modelled_errors_are_basic_errors_and_422s_are_validation_errors() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let old = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now() - Duration::days(4)));
    let recent = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, Utc::now()));
    let basic = [
        (app.http.get(app.url("/app/hook/deliveries")).send().await.unwrap(), 401),
        (app.get("/app/hook/deliveries/1").await, 404),
        (app.get("/app/hook/deliveries?cursor=nonsense").await, 400),
        (
            app.http
                .get(app.url("/app/hook/deliveries"))
                .bearer_auth(&app.jwt)
                .header("x-github-api-version", "v3")
                .send()
                .await
                .unwrap(),
            400,
        ),
        (
            app.http
                .post(app.url("/repos/o/r/actions/variables"))
                .bearer_auth(TOKEN)
                .body(r#"{"name":"A","value":"1"}"#)
                .send()
                .await
                .unwrap(),
            201,
        ),
        (
            app.http
                .post(app.url("/repos/o/r/actions/variables"))
                .bearer_auth(TOKEN)
                .body(r#"{"name":"A","value":"1"}"#)
                .send()
                .await
                .unwrap(),
            409,
        ),
    ];
    for (response, status) in basic {
        let body = json_of(response, status).await;
        let schema = if status == 201 { schema!("empty-object") } else { schema!("basic-error") };
        assert_conforms(schema, &body, &format!("a {status} answer"));
    }
    // Rate limits, primary and secondary.
    app.world.inject(FaultRule::new("/app", Fault::SecondaryRateLimit { retry_after: Some(1) }));
    assert_conforms(
        schema!("basic-error"),
        &json_of(app.get("/app/hook/deliveries").await, 403).await,
        "a secondary limit",
    );
    app.world.set_rate_limit(10, 0, std::time::Duration::from_secs(3600));
    assert_conforms(
        schema!("basic-error"),
        &json_of(app.get("/app/hook/deliveries").await, 403).await,
        "a primary limit",
    );
    app.world.set_rate_limit(5000, 5000, std::time::Duration::from_secs(3600));
    // 422s: a delivery past retention, a refused redelivery, a bad filter, a bad variable name.
    let too_old = json_of(app.post(&format!("/app/hook/deliveries/{}/attempts", old.id)).await, 422).await;
    app.world.inject(FaultRule::new("/app/hook", Fault::RedeliveryRefused).method("POST"));
    let refused = json_of(app.post(&format!("/app/hook/deliveries/{}/attempts", recent.id)).await, 422).await;
    let filter = json_of(app.get("/app/hook/deliveries?status=nope").await, 422).await;
    let name = app
        .http
        .post(app.url("/repos/o/r/actions/variables"))
        .bearer_auth(TOKEN)
        .body(r#"{"name":"GITHUB_X","value":"1"}"#);
    let name = json_of(name.send().await.unwrap(), 422).await;
    for body in [too_old, refused, filter, name] {
        assert_conforms(schema!("validation-error"), &body, "a 422 answer");
    }
}

#[tokio::test]
async fn modelled_variables_are_actions_variables() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    app.world.set_variable("octo", "ops", "LAST_RUN", "1700000000000");
    let url = app.url("/repos/octo/ops/actions/variables/LAST_RUN");
    let variable = json_of(app.http.get(url).bearer_auth(TOKEN).send().await.unwrap(), 200).await;
    assert_conforms(schema!("actions-variable"), &variable, "a variable");
}

#[tokio::test]
async fn modelled_installations_and_installation_tokens() {
    let app = AppWorld::start().await;
    let installation = app.world.add_installation(APP_ID, "acme");
    for path in ["/orgs/acme/installation", "/repos/acme/site/installation"] {
        let found = json_of(app.get(path).await, 200).await;
        assert_conforms(schema!("installation"), &found, path);
    }
    let token = json_of(app.post(&format!("/app/installations/{installation}/access_tokens")).await, 201).await;
    assert_conforms(schema!("installation-token"), &token, "an installation token");
}

#[tokio::test]
async fn modelled_the_seeded_world_of_redeliver_sim_conforms() {
    let app = AppWorld::start().await;
    let s = seed::seed(&app.world, &app.receiver.url(), 5, Utc::now(), 11);
    let token = format!("token {}", s.user_token);
    let url = app.url(&format!("/orgs/{}/hooks/{}/deliveries", s.org, s.org_hook));
    for item in list_all(url, &token).await {
        assert_conforms(schema!("hook-delivery-item"), &item, "a seeded org-hook item");
    }
}

/// `GET /app/hook/config` answers GitHub's `webhook-config` shape: `url`, `content_type`
/// (`json`: the simulator's hooks all post JSON), `insecure_ssl` as the string `"0"`, and the
/// secret masked. That schema is not vendored here, so the fields are checked one by one.
#[tokio::test]
async fn modelled_hook_configuration_endpoint() {
    let app = AppWorld::start().await;
    let config = json_of(app.get("/app/hook/config").await, 200).await;
    assert_eq!(config["url"], app.receiver.url().as_str(), "{config}");
    assert_eq!(config["content_type"], "json");
    assert_eq!(config["insecure_ssl"], "0");
    assert_eq!(config["secret"], "********", "the hook has a secret, shown masked");
    assert_eq!(app.post("/app/hook/config").await.status(), 404, "only GET is served");
}

/// GitHub's description lists deliveries newest first only by convention (its own example is
/// oldest first) and documents no `Link` header for these endpoints; the simulator always sends
/// `Link` with an absolute URL and lists newest first, as GitHub's scripts rely on.
#[tokio::test]
async fn not_modelled_lists_in_any_order_but_newest_first() {
    let app = AppWorld::start().await;
    let at = Utc::now() - Duration::hours(1);
    let old = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, at));
    let new = app.world.record_attempt(app.hook, NewAttempt::new("push", 500, at + Duration::minutes(1)));
    let list = json_of(app.get("/app/hook/deliveries").await, 200).await;
    assert_eq!(list[0]["id"], new.id);
    assert_eq!(list[1]["id"], old.id);
}

/// GHES turns rate limits off by default ("Rate limits are disabled by default for GitHub
/// Enterprise Server"); the simulator keeps its budgets in GHES mode too, so that clients meet
/// the headers they must handle on any GHES whose administrator enabled them.
#[tokio::test]
async fn not_modelled_ghes_without_rate_limits() {
    let app = AppWorld::start().await;
    let url = format!("{}/app/hook/deliveries", app.sim.ghes_base_url());
    let response = app.get_url(&url).await;
    assert_eq!(response.headers()["x-ratelimit-limit"], "5000");
}

/// The check has teeth: answers GitHub would not send fail it.
#[test]
fn the_schemas_refuse_answers_github_would_not_send() {
    let schema: Value = serde_json::from_str(schema!("hook-delivery-item")).unwrap();
    let validator = jsonschema::options().should_validate_formats(true).build(&schema).unwrap();
    let good = json!({
        "id": 1, "guid": "g", "delivered_at": "2021-05-12T20:33:44Z", "redelivery": false, "duration": 0.1,
        "status": "OK", "status_code": 200, "event": "push", "action": null, "installation_id": null,
        "repository_id": null, "throttled_at": null
    });
    assert!(validator.is_valid(&good));
    let mut no_guid = good.clone();
    no_guid.as_object_mut().unwrap().remove("guid");
    let mut bad_time = good.clone();
    bad_time["delivered_at"] = json!("yesterday");
    let mut string_id = good.clone();
    string_id["id"] = json!("1");
    for bad in [no_guid, bad_time, string_id] {
        assert!(!validator.is_valid(&bad), "{bad}");
    }
}

//! Actions variables, the way GitHub's script keeps its "last run": 404, then 201, then 204.

use crate::support::{TOKEN, http};
use redeliver_sim::Sim;
use serde_json::{Value, json};

#[tokio::test]
async fn a_variable_is_missing_then_created_then_updated() {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    world.add_token(TOKEN);
    let http = http();
    let url = |path: &str| format!("{}/repos/octo/ops{path}", sim.base_url());
    let auth = format!("Bearer {TOKEN}");

    let missing = http.get(url("/actions/variables/LAST_RUN")).header("authorization", &auth).send().await.unwrap();
    assert_eq!(missing.status(), 404);

    let created = http
        .post(url("/actions/variables"))
        .header("authorization", &auth)
        .json(&json!({ "name": "last_run", "value": "1700000000000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    assert_eq!(created.json::<Value>().await.unwrap(), json!({}));

    let again = http
        .post(url("/actions/variables"))
        .header("authorization", &auth)
        .json(&json!({ "name": "LAST_RUN", "value": "x" }))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);

    let found: Value = http
        .get(url("/actions/variables/Last_Run"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(found["name"], "LAST_RUN", "names are upper-cased");
    assert_eq!(found["value"], "1700000000000");
    assert!(found["created_at"].as_str().unwrap().ends_with('Z'));

    let updated = http
        .patch(url("/actions/variables/LAST_RUN"))
        .header("authorization", &auth)
        .json(&json!({ "name": "LAST_RUN", "value": "1700000360000" }))
        .send()
        .await
        .unwrap();
    assert_eq!(updated.status(), 204);
    assert_eq!(world.variable("octo", "ops", "last_run").as_deref(), Some("1700000360000"));

    let absent = http
        .patch(url("/actions/variables/OTHER"))
        .header("authorization", &auth)
        .json(&json!({ "value": "1" }))
        .send()
        .await
        .unwrap();
    assert_eq!(absent.status(), 404);
}

#[tokio::test]
async fn variables_need_a_valid_token_body_and_name() {
    let sim = Sim::start().await.unwrap();
    let world = sim.world();
    world.add_token(TOKEN);
    world.set_variable("octo", "ops", "SEEDED", "v");
    let http = http();
    let url = format!("{}/repos/octo/ops/actions/variables", sim.base_url());

    let anonymous = http.get(format!("{url}/SEEDED")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let seeded = http.get(format!("{url}/SEEDED")).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(seeded.status(), 200);

    let post = |body: &'static str| http.post(&url).bearer_auth(TOKEN).body(body).send();
    assert_eq!(post("{not json").await.unwrap().status(), 400);
    assert_eq!(post(r#"{"name":"ONLY_NAME"}"#).await.unwrap().status(), 422);
    assert_eq!(post(r#"{"name":"GITHUB_X","value":"1"}"#).await.unwrap().status(), 422);
    assert_eq!(post(r#"{"name":"1ABC","value":"1"}"#).await.unwrap().status(), 422);
    assert_eq!(world.variable("octo", "ops", "ONLY_NAME"), None);
}

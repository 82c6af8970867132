//! Redelivery: 202 at once, then a new attempt with the same GUID, POSTed to the hook's receiver
//! with GitHub's headers and signature; refusals for unknown and expired deliveries.

use crate::support::{APP_ID, AppWorld, SECRET, TOKEN, http};
use chrono::{Duration, Utc};
use redeliver_sim::{NewAttempt, ReceiverMode, signature};
use serde_json::{Value, json};

#[tokio::test]
async fn a_redelivery_reposts_the_event_with_githubs_headers_and_records_a_new_attempt() {
    let app = AppWorld::start().await;
    app.receiver.set_mode(ReceiverMode::Status(500));
    let payload = json!({ "action": "opened", "installation": { "id": 11 }, "repository": { "id": 22 } });
    let first = app.world.deliver(app.hook, "issues", Some("opened"), payload.clone()).await;
    assert_eq!((first.status_code, first.status.as_str()), (500, "Invalid HTTP Response: 500"));
    assert_eq!((first.installation_id, first.repository_id), (Some(11), Some(22)));
    assert!(!first.redelivery);

    app.receiver.set_mode(ReceiverMode::Up);
    let response = app.post(&format!("/app/hook/deliveries/{}/attempts", first.id)).await;
    assert_eq!(response.status(), 202);
    assert_eq!(response.json::<Value>().await.unwrap(), json!({}));
    app.world.settle().await;

    let attempts = app.world.attempts_for(&first.guid);
    assert_eq!(attempts.len(), 2);
    let again = &attempts[0];
    assert!(again.redelivery);
    assert_eq!((again.status_code, again.status.as_str()), (200, "OK"));
    assert!(again.id > first.id && again.delivered_at >= first.delivered_at);
    assert_eq!((again.event.as_str(), again.action.as_deref()), ("issues", Some("opened")));

    let received = app.receiver.received();
    assert_eq!(received.len(), 2);
    for event in &received {
        assert_eq!(event.guid, first.guid);
        assert_eq!(event.event, "issues");
        assert_eq!(event.hook_id, Some(app.hook));
        assert_eq!(event.signature_valid, Some(true));
        assert!(event.user_agent.starts_with("GitHub-Hookshot/"));
        assert_eq!(event.content_type, "application/json");
        assert_eq!(event.target_type.as_deref(), Some("integration"));
        assert_eq!(event.target_id, Some(APP_ID.to_string()));
        assert_eq!(event.payload, payload);
    }
    assert_eq!(received.iter().map(|e| e.status).collect::<Vec<_>>(), [500, 200]);
    assert_eq!(app.receiver.successes_for(&first.guid), 1);

    // The list shows the redelivery first; the single view shows what was sent.
    let list: Vec<Value> = app.get("/app/hook/deliveries").await.json().await.unwrap();
    assert_eq!(list[0]["id"], again.id);
    assert_eq!(list[0]["redelivery"], true);
    let detail: Value = app.get(&format!("/app/hook/deliveries/{}", again.id)).await.json().await.unwrap();
    assert_eq!(detail["request"]["payload"], payload);
    assert_eq!(detail["request"]["headers"]["X-GitHub-Delivery"], first.guid.as_str());
    let body = serde_json::to_vec(&payload).unwrap();
    assert_eq!(detail["request"]["headers"]["X-Hub-Signature-256"], signature::sign(SECRET, &body));
    assert_eq!(detail["response"]["payload"], "ok");
}

#[tokio::test]
async fn a_receiver_that_is_down_gives_status_code_zero() {
    let app = AppWorld::start().await;
    app.receiver.set_mode(ReceiverMode::Down);
    let first = app.world.deliver(app.hook, "push", None, json!({})).await;
    assert_eq!((first.status_code, first.status.as_str()), (0, "failed to connect to network"));
    assert!(app.receiver.received().is_empty());

    let response = app.post(&format!("/app/hook/deliveries/{}/attempts", first.id)).await;
    assert_eq!(response.status(), 202);
    app.world.settle().await;
    let attempts = app.world.attempts_for(&first.guid);
    assert_eq!(attempts.len(), 2);
    assert_eq!(attempts[0].status_code, 0);
    assert!(attempts[0].redelivery);
}

#[tokio::test]
async fn a_receiver_slower_than_the_timeout_is_recorded_as_timed_out() {
    let app = AppWorld::start().await;
    app.world.set_receiver_timeout(std::time::Duration::from_millis(150));
    app.receiver.set_mode(ReceiverMode::Slow(std::time::Duration::from_millis(600)));
    let attempt = app.world.deliver(app.hook, "push", None, json!({})).await;
    assert_eq!((attempt.status_code, attempt.status.as_str()), (0, "timed out"));
    assert!(attempt.duration < 0.6);
}

#[tokio::test]
async fn unknown_or_foreign_deliveries_are_not_found() {
    let app = AppWorld::start().await;
    let repo_hook = app.world.add_repo_hook("octo", "site", &app.receiver.url(), None);
    let foreign = app.world.record_attempt(repo_hook, NewAttempt::new("push", 500, Utc::now()));

    for id in [1, foreign.id] {
        let response = app.post(&format!("/app/hook/deliveries/{id}/attempts")).await;
        assert_eq!(response.status(), 404);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"], "Not Found");
        assert_eq!(
            body["documentation_url"],
            "https://docs.github.com/rest/apps/webhooks#redeliver-a-delivery-for-an-app-webhook"
        );
    }
    assert_eq!(app.post("/app/hook/deliveries/not-a-number/attempts").await.status(), 404);
    app.world.settle().await;
    assert_eq!(app.world.attempts_for(&foreign.guid).len(), 1);
}

#[tokio::test]
async fn deliveries_past_retention_cannot_be_redelivered() {
    let app = AppWorld::start().await;
    let old = app.world.record_attempt(
        app.hook,
        NewAttempt::new("issues", 503, Utc::now() - Duration::days(3) - Duration::minutes(1)),
    );
    let response = app.post(&format!("/app/hook/deliveries/{}/attempts", old.id)).await;
    assert_eq!(response.status(), 422);
    let body: Value = response.json().await.unwrap();
    assert!(body["message"].is_string() && body["documentation_url"].is_string());

    // A shorter retention makes younger deliveries too old as well.
    let recent = app.world.record_attempt(app.hook, NewAttempt::new("issues", 503, Utc::now() - Duration::hours(2)));
    app.world.set_retention(Duration::hours(1));
    let response = app.post(&format!("/app/hook/deliveries/{}/attempts", recent.id)).await;
    assert_eq!(response.status(), 422);
    app.world.settle().await;
    assert_eq!(app.world.deliveries(app.hook).len(), 2, "nothing was attempted");
    assert!(app.receiver.received().is_empty());
}

#[tokio::test]
async fn scripted_outcomes_replace_the_post_for_the_next_redeliveries_only() {
    let app = AppWorld::start().await;
    let first = app
        .world
        .record_attempt(app.hook, NewAttempt::new("issues", 502, Utc::now() - Duration::hours(1)).action("closed"));
    app.world.script_redelivery_outcome(&first.guid, 503, 1);
    let path = format!("/app/hook/deliveries/{}/attempts", first.id);
    assert_eq!(app.post(&path).await.status(), 202);
    app.world.settle().await;
    assert_eq!(app.world.attempts_for(&first.guid)[0].status, "Invalid HTTP Response: 503");
    assert!(app.receiver.received().is_empty(), "a scripted outcome posts nothing");

    assert_eq!(app.post(&path).await.status(), 202);
    app.world.settle().await;
    let attempts = app.world.attempts_for(&first.guid);
    assert_eq!(attempts.len(), 3);
    assert_eq!(attempts[0].status, "OK");
    let received = app.receiver.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].payload["action"], "closed", "recorded histories carry a small payload");
}

#[tokio::test]
async fn repository_hooks_redeliver_through_the_ghes_prefix_with_a_token() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let hook = app.world.add_repo_hook("Octo", "Site", &app.receiver.url(), None);
    let first = app.world.deliver(hook, "push", None, json!({ "ref": "refs/heads/main" })).await;
    let url = format!("{}/repos/octo/site/hooks/{hook}/deliveries/{}/attempts", app.sim.ghes_base_url(), first.id);
    let response = http().post(url).header("authorization", format!("token {TOKEN}")).send().await.unwrap();
    assert_eq!(response.status(), 202);
    app.world.settle().await;
    let received = app.receiver.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].target_type.as_deref(), Some("repository"));
    assert_eq!(received[1].target_id, Some(app.world.repository_id("octo", "site").to_string()));
    assert_eq!(received[1].signature_valid, Some(false), "this hook has no secret to sign with");
}

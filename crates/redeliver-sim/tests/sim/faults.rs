//! Injected faults and the primary rate limit, as a client meets them.

use crate::support::{AppWorld, header};
use redeliver_sim::{Fault, FaultRule};
use serde_json::Value;
use std::time::Duration;

#[tokio::test]
async fn an_injected_502_answers_once_then_the_api_is_back() {
    let app = AppWorld::start().await;
    app.world.inject(FaultRule::new("/app/hook/deliveries", Fault::Status(502)));
    let failed = app.get("/app/hook/deliveries").await;
    assert_eq!(failed.status(), 502);
    assert!(header(&failed, "x-github-request-id").is_some());
    let body: Value = failed.json().await.unwrap();
    assert!(body["message"].is_string());
    assert_eq!(app.get("/app/hook/deliveries").await.status(), 200);
    let recorded = app.world.requests();
    assert_eq!(recorded[0].status, 502);
    assert_eq!(recorded[0].fault.as_deref(), Some("Status(502)"));
    assert_eq!(recorded[1].fault, None);
}

#[tokio::test]
async fn secondary_rate_limits_come_as_403_or_429_with_retry_after() {
    let app = AppWorld::start().await;
    app.world.inject(
        FaultRule::new("/app/hook/deliveries", Fault::SecondaryRateLimit { retry_after: Some(30) }).method("POST"),
    );
    app.world.inject(FaultRule::new("/app/hook", Fault::TooManyRequests { retry_after: None }).method("GET"));

    let limited = app.post("/app/hook/deliveries/1/attempts").await;
    assert_eq!(limited.status(), 403);
    assert_eq!(header(&limited, "retry-after").as_deref(), Some("30"));
    assert_ne!(header(&limited, "x-ratelimit-remaining").as_deref(), Some("0"));
    let body: Value = limited.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("You have exceeded a secondary rate limit"));

    let too_many = app.get("/app/hook/deliveries").await;
    assert_eq!(too_many.status(), 429);
    assert_eq!(header(&too_many, "retry-after"), None);
    assert_eq!(app.post("/app/hook/deliveries/1/attempts").await.status(), 404, "used up");
}

#[tokio::test]
async fn malformed_json_is_a_200_whose_body_does_not_parse() {
    let app = AppWorld::start().await;
    app.world.inject(FaultRule::new("/app/hook/deliveries", Fault::MalformedJson).times(1));
    let response = app.get("/app/hook/deliveries").await;
    assert_eq!(response.status(), 200);
    assert!(response.json::<Value>().await.is_err());
}

#[tokio::test]
async fn slow_and_unauthorized_faults() {
    let app = AppWorld::start().await;
    app.world.inject(FaultRule::new("/app", Fault::Slow(Duration::from_millis(120))));
    app.world.inject(FaultRule::new("/app", Fault::Unauthorized));
    let started = std::time::Instant::now();
    assert_eq!(app.get("/app/hook/deliveries").await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(120));
    let refused = app.get("/app/hook/deliveries").await;
    assert_eq!(refused.status(), 401);
    assert_eq!(refused.json::<Value>().await.unwrap()["message"], "Bad credentials");
}

#[tokio::test]
async fn the_primary_rate_limit_runs_out_and_refills_at_reset() {
    let app = AppWorld::start().await;
    app.world.set_rate_limit(10, 2, Duration::from_millis(300));
    let first = app.get("/app/hook/deliveries").await;
    assert_eq!(first.status(), 200);
    assert_eq!(header(&first, "x-ratelimit-limit").as_deref(), Some("10"));
    assert_eq!(header(&first, "x-ratelimit-remaining").as_deref(), Some("1"));
    assert_eq!(header(&first, "x-ratelimit-used").as_deref(), Some("9"));
    assert_eq!(header(&first, "x-ratelimit-resource").as_deref(), Some("core"));
    let reset: i64 = header(&first, "x-ratelimit-reset").unwrap().parse().unwrap();
    assert!(reset >= chrono::Utc::now().timestamp());

    assert_eq!(app.get("/app/hook/deliveries").await.status(), 200);
    let exhausted = app.get("/app/hook/deliveries").await;
    assert_eq!(exhausted.status(), 403);
    assert_eq!(header(&exhausted, "x-ratelimit-remaining").as_deref(), Some("0"));
    let body: Value = exhausted.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().starts_with("API rate limit exceeded for "));

    tokio::time::sleep(Duration::from_millis(350)).await;
    let refilled = app.get("/app/hook/deliveries").await;
    assert_eq!(refilled.status(), 200);
    assert_eq!(header(&refilled, "x-ratelimit-remaining").as_deref(), Some("9"));
}

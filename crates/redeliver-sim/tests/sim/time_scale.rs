//! Compressed time: GitHub's clock running many times faster than this machine's, so outages
//! of days play in seconds (issue 11). The bounds are computed from the real time measured
//! around each step, so they hold however slow the machine is.

use crate::support::{APP_ID, AppWorld, TOKEN, header, sign};
use chrono::{DateTime, Duration, Utc};
use redeliver_sim::NewAttempt;
use serde_json::{Value, json};

const SCALE: u32 = 3_600;

fn date_header(response: &reqwest::Response) -> DateTime<Utc> {
    let date = header(response, "date").expect("a Date header");
    DateTime::parse_from_rfc2822(&date).unwrap().with_timezone(&Utc)
}

/// GitHub's clock moved by at least `SCALE` × the real time measured between two readings.
fn at_least_scaled(github_elapsed: Duration, real_elapsed: Duration, slack: Duration) -> bool {
    github_elapsed + slack >= real_elapsed * SCALE as i32
}

#[tokio::test]
async fn a_compressed_clock_dates_answers_and_new_deliveries_in_its_own_fast_time() {
    let app = AppWorld::start().await;
    app.world.add_token(TOKEN);
    let github_start = app.world.now();
    let real_start = Utc::now();
    app.world.set_time_scale(SCALE);
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let response =
        app.http.get(app.url("/repos/octo/site/actions/variables/X")).bearer_auth(TOKEN).send().await.unwrap();
    let real_between = Utc::now() - real_start;
    let dated = date_header(&response);
    // 50 ms at 3600× is three minutes; `Date` is truncated to the second.
    assert!(dated - github_start >= Duration::minutes(3) - Duration::seconds(1), "{github_start} {dated}");
    assert!(dated - github_start <= real_between * SCALE as i32 + Duration::seconds(1), "{github_start} {dated}");

    let before = Utc::now();
    let delivered = app.world.deliver(app.hook, "push", None, json!({})).await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let later = app.world.deliver(app.hook, "push", None, json!({})).await;
    let real_between = Utc::now() - before;
    let apart = later.delivered_at - delivered.delivered_at;
    assert!(at_least_scaled(apart, Duration::milliseconds(20), Duration::zero()), "{apart}");
    assert!(apart <= real_between * SCALE as i32, "{apart} {real_between}");
}

#[tokio::test]
async fn a_compressed_clock_expires_a_jwt_made_on_this_machines_clock() {
    let app = AppWorld::start().await;
    assert_eq!(app.get("/app/hook/deliveries").await.status(), 200, "real time: the JWT is valid");
    app.world.set_time_scale(SCALE);
    // Ten minutes of GitHub time (a JWT's longest life) pass in well under a second.
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(app.get("/app/hook/deliveries").await.status(), 401, "GitHub's clock is past the JWT's exp");
}

#[tokio::test]
async fn back_to_real_time_the_clock_keeps_the_time_it_reached() {
    let app = AppWorld::start().await;
    app.world.set_time_scale(SCALE);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    app.world.set_time_scale(1);
    let ahead = app.world.now() - Utc::now();
    assert!(ahead >= Duration::minutes(6) - Duration::seconds(1), "{ahead}");
    let first = app.world.now();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let moved = app.world.now() - first;
    assert!(moved < Duration::seconds(60), "real time again: {moved}");
}

#[tokio::test]
async fn retention_follows_the_compressed_clock() {
    let app = AppWorld::start().await;
    app.world.set_retention(Duration::hours(1));
    let kept = app.world.record_attempt(app.hook, NewAttempt::new("push", 0, app.world.now()));
    let listed = |body: Value| body.as_array().unwrap().iter().any(|d| d["id"] == kept.id);
    assert!(listed(app.get("/app/hook/deliveries").await.json().await.unwrap()), "listed in real time");
    // 200 ms at 36,000x is two hours of GitHub's time, past the one-hour retention.
    app.world.set_time_scale(36_000);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    app.world.set_time_scale(1);
    // A JWT on GitHub's clock, which is now hours ahead of this machine's.
    let now = app.world.now().timestamp();
    let jwt = sign(
        redeliver_sim::keys::TEST_APP_KEY_PKCS1,
        &json!({ "iat": now - 60, "exp": now + 540, "iss": APP_ID.to_string() }),
    );
    let response = app.http.get(app.url("/app/hook/deliveries")).bearer_auth(jwt).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(!listed(response.json().await.unwrap()), "past retention on GitHub's clock");
}
